package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// The lab's system message and question, and the rule its short and
// system prompts add (as its scripts word them).
const (
	TravelGuide = "You are an AI assistant that acts as a travel guide."
	Camping     = "What are some recommended supplies for a camping trip in the mountains?"
	ShortRule   = "(1 sentence with bullet points)"
	SystemRule  = "Respond with 1 sentence."
)

// backpacking is the text the lab's error prompt repeats until it is far
// larger than gpt-4o's 128,000-token context window.
const backpacking = "Backpacking means travelling light and cheaply with everything you need carried on your back. " +
	"Some people do it in cities, moving between hostels and train stations; others do it in the wilderness, " +
	"walking for days between campsites with a tent, a stove and a water filter.\n\n" +
	"People have always carried their belongings on their backs, from early hunters and traders to pilgrims and soldiers. " +
	"Frame packs made of wood and leather are found in very old archaeological sites, and travel writers described " +
	"budget journeys on foot centuries before the word backpacker existed.\n\n" +
	"Modern backpacking grew in the second half of the twentieth century, when cheap flights, rail passes and guidebooks " +
	"made long, unplanned trips possible for young travellers. Today it is an ordinary form of tourism with its own " +
	"hostels, apps and online communities.\n\n" +
	"A good trip depends on preparation: a pack that fits, layered clothing, reliable shelter, enough food and water, " +
	"navigation tools and basic first aid. Just as important are the habits of leaving no trace, checking the weather, " +
	"and telling someone where you are going and when you expect to be back."

// ErrorPrompt is the lab's error prompt, its text repeated past gpt-4o's
// context window. The lab's scripts send 176 repetitions (200,112
// characters), which its stand-in upstream refused; by gpt-4o's tokenizer
// that is about 38,000 tokens, which a real gpt-4o (and the simulated
// one) accepts, so the demo sends 700 (about 152,000 tokens) to fail as
// the lab's call does.
func ErrorPrompt() string { return strings.Repeat(backpacking, 700) }

// LabErrorRepeats is how many times the lab's own scripts repeat the
// error prompt's text.
const LabErrorRepeats = 176

// Step is one call of the lab.
type Step struct {
	Name     string
	Label    string // the lab's name of the prompt (its lab.prompt attribute)
	Messages []Message
	Stream   bool
}

// LabSteps are the lab's prompts as its scripts send them: the start
// prompt, the short prompt (the rule in the user message), the system
// prompt (the rule in the system message), the error prompt (more
// tokens than the model's context window) and the start prompt streamed.
func LabSteps() []Step {
	return []Step{
		{Name: "start prompt", Label: "start", Messages: []Message{{"system", TravelGuide}, {"user", Camping}}},
		{Name: "short prompt", Label: "short", Messages: []Message{{"system", TravelGuide}, {"user", Camping + " " + ShortRule}}},
		{Name: "system prompt", Label: "system", Messages: []Message{{"system", TravelGuide + " " + SystemRule}, {"user", Camping}}},
		{Name: "error prompt", Label: "error", Messages: []Message{{"system", TravelGuide}, {"user", ErrorPrompt()}}},
		{Name: "streaming prompt", Label: "stream", Messages: []Message{{"system", TravelGuide}, {"user", Camping}}, Stream: true},
	}
}

// What the demo records of its own, besides the gateway's record of each
// call (LabOptions.Spans).
const (
	// SpansApp: a generate_completion span around each call (with
	// session.id, user.id and lab.prompt), whose trace context the call
	// carries, as the lab's scripts make.
	SpansApp = "app"
	// SpansOpenAI: also the chat span the OpenTelemetry OpenAI
	// instrumentation of the lab's scripts records around the call (kind
	// CLIENT, gen_ai.* attributes, usage from the answer), with the
	// gateway's span beneath it: the same call recorded by the app and by
	// the gateway, which genscope counts once.
	SpansOpenAI = "openai"
	// SpansNone: no spans of the demo's own; the gateway's alone.
	SpansNone = "none"
)

// LabOptions configure Lab.
type LabOptions struct {
	// Server is genscope's HTTP address: the gateway and OTLP/HTTP.
	Server string
	// Deployment the calls go to; default gpt-4o.
	Deployment string
	// Spans is what the demo records of its own: SpansApp (default),
	// SpansOpenAI or SpansNone.
	Spans string
	// Out receives the results table.
	Out io.Writer
	// GatewayKey and IngestKey are the project's keys when auth is on.
	GatewayKey, IngestKey string
}

// LabResult is one step's outcome.
type LabResult struct {
	Step   Step
	Result Result
}

// Lab runs the lab's traffic through the gateway. With SpansApp (the
// default) each call runs under a generate_completion span (with
// session.id and user.id) that the demo exports to genscope with the
// OpenTelemetry SDK, and passes its trace context to the gateway, so each
// trace holds the app's span and the gateway's call beneath it; SpansOpenAI
// adds the OpenAI instrumentation's chat span between them. It prints a
// table and returns the session id.
func Lab(ctx context.Context, o LabOptions) (string, []LabResult, error) {
	if o.Deployment == "" {
		o.Deployment = "gpt-4o"
	}
	switch o.Spans {
	case "":
		o.Spans = SpansApp
	case SpansApp, SpansOpenAI, SpansNone:
	default:
		return "", nil, fmt.Errorf("spans %q: want %s, %s or %s", o.Spans, SpansApp, SpansOpenAI, SpansNone)
	}
	u, err := url.Parse(o.Server)
	if err != nil || u.Host == "" {
		return "", nil, fmt.Errorf("server %q is not a URL", o.Server)
	}
	tp := sdktrace.NewTracerProvider() // records nothing: SpansNone
	if o.Spans != SpansNone {
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithTimeout(10 * time.Second)}
		if u.Scheme == "http" {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		if o.IngestKey != "" {
			opts = append(opts, otlptracehttp.WithHeaders(map[string]string{"x-genscope-key": o.IngestKey}))
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return "", nil, fmt.Errorf("otlp exporter: %w", err)
		}
		res := resource.NewSchemaless(semconv.ServiceName("genscope-demo"), attribute.String("service.version", "lab"))
		tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	}
	defer func() { _ = tp.Shutdown(context.WithoutCancel(ctx)) }()
	tracer := tp.Tracer("lab-prompts")
	instr := tp.Tracer("@opentelemetry/instrumentation-openai")
	prop := propagation.TraceContext{}

	var sid [6]byte
	_, _ = rand.Read(sid[:])
	session := "lab-" + hex.EncodeToString(sid[:])
	client := NewClient(o.Server)
	client.Key = o.GatewayKey
	var out []LabResult
	for _, st := range LabSteps() {
		sctx, span := tracer.Start(ctx, "generate_completion")
		span.SetAttributes(attribute.String("session.id", session), attribute.String("user.id", "lab-user"), attribute.String("lab.prompt", st.Label))
		cctx, chat := sctx, trace.Span(nil)
		if o.Spans == SpansOpenAI {
			cctx, chat = instr.Start(sctx, "chat "+o.Deployment, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
				attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.system", "openai"),
				attribute.String("gen_ai.request.model", o.Deployment),
				attribute.String("server.address", u.Hostname()), attribute.String("server.port", u.Port())))
		}
		h := http.Header{}
		if o.Spans != SpansNone {
			prop.Inject(cctx, propagation.HeaderCarrier(h))
		}
		h.Set("x-session-id", session)
		h.Set("x-user-id", "lab-user")
		r, err := client.Chat(cctx, Request{Deployment: o.Deployment, Messages: st.Messages, Stream: st.Stream, Header: h})
		if chat != nil {
			endChatSpan(chat, r, err)
		}
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			span.End()
			return session, out, fmt.Errorf("%s: %w", st.Name, err)
		}
		if r.Status >= 400 {
			span.SetStatus(codes.Error, fmt.Sprintf("%d %s", r.Status, r.Error))
		}
		span.End()
		out = append(out, LabResult{Step: st, Result: r})
	}
	if err := tp.ForceFlush(ctx); err != nil {
		return session, out, fmt.Errorf("export the demo's spans: %w", err)
	}
	if o.Out != nil {
		PrintLab(o.Out, out)
	}
	return session, out, nil
}

// endChatSpan ends the instrumentation's chat span with what it records
// of the answer: the response's id, model, finish reason and usage, or
// the error (error.type as the Node.js instrumentation names it).
func endChatSpan(chat trace.Span, r Result, err error) {
	switch {
	case err != nil:
		chat.RecordError(err)
		chat.SetStatus(codes.Error, err.Error())
		chat.SetAttributes(attribute.String("error.type", "APIConnectionError"))
	case r.Status >= 400:
		chat.SetStatus(codes.Error, fmt.Sprintf("%d %s", r.Status, r.Error))
		chat.SetAttributes(attribute.String("error.type", errorClass(r.Status)))
	default:
		attrs := []attribute.KeyValue{attribute.Int64("gen_ai.usage.input_tokens", r.InputTokens),
			attribute.Int64("gen_ai.usage.output_tokens", r.OutputTokens)}
		if r.ResponseID != "" {
			attrs = append(attrs, attribute.String("gen_ai.response.id", r.ResponseID))
		}
		if r.ResponseModel != "" {
			attrs = append(attrs, attribute.String("gen_ai.response.model", r.ResponseModel))
		}
		if r.FinishReason != "" {
			attrs = append(attrs, attribute.StringSlice("gen_ai.response.finish_reasons", []string{r.FinishReason}))
		}
		chat.SetAttributes(attrs...)
	}
	chat.End()
}

// errorClass is the OpenAI Node.js SDK's error class for an HTTP status.
func errorClass(status int) string {
	switch status {
	case 400:
		return "BadRequestError"
	case 401:
		return "AuthenticationError"
	case 403:
		return "PermissionDeniedError"
	case 404:
		return "NotFoundError"
	case 409:
		return "ConflictError"
	case 422:
		return "UnprocessableEntityError"
	case 429:
		return "RateLimitError"
	}
	if status >= 500 {
		return "InternalServerError"
	}
	return "APIError"
}

// PrintLab writes the results as a table.
func PrintLab(w io.Writer, rs []LabResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "prompt\tstatus\tduration\tTTFT\tinput tokens\toutput tokens\t")
	for _, r := range rs {
		status := fmt.Sprint(r.Result.Status)
		if r.Result.Error != "" {
			status += " " + errorCode(r.Result.Error)
		}
		ttft := "-"
		if r.Result.TTFT > 0 {
			ttft = r.Result.TTFT.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t\n", r.Step.Name, status, r.Result.Duration.Round(time.Millisecond), ttft, r.Result.InputTokens, r.Result.OutputTokens)
	}
	_ = tw.Flush()
}

func errorCode(msg string) string {
	if strings.Contains(msg, "maximum context length") {
		return "context_length_exceeded"
	}
	if len(msg) > 40 {
		return msg[:40] + "…"
	}
	return msg
}
