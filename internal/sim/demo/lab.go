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
)

// The lab's system message and question.
const (
	TravelGuide = "You are an AI assistant that acts as a travel guide."
	Camping     = "What are some recommended supplies for a camping trip in the mountains?"
	ShortRule   = "Answer in one sentence and a list."
)

// Step is one call of the lab.
type Step struct {
	Name     string
	Messages []Message
	Stream   bool
}

// LabSteps are the lab's prompts: the start prompt, the short prompt
// (the rule in the user message), the system prompt (the rule in the
// system message), the error prompt (more tokens than the model's context
// window) and one streamed call.
func LabSteps() []Step {
	huge := strings.Repeat("Tell me everything about the mountains, the trails, the weather and the gear. ", 12000)
	return []Step{
		{Name: "start prompt", Messages: []Message{{"system", TravelGuide}, {"user", Camping}}},
		{Name: "short prompt", Messages: []Message{{"system", TravelGuide}, {"user", Camping + " " + ShortRule}}},
		{Name: "system prompt", Messages: []Message{{"system", TravelGuide + " " + ShortRule}, {"user", Camping}}},
		{Name: "error prompt", Messages: []Message{{"system", TravelGuide}, {"user", huge}}},
		{Name: "streaming prompt", Messages: []Message{{"system", TravelGuide}, {"user", Camping}}, Stream: true},
	}
}

// LabOptions configure Lab.
type LabOptions struct {
	// Server is genscope's HTTP address: the gateway and OTLP/HTTP.
	Server string
	// Deployment the calls go to; default gpt-4o.
	Deployment string
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

// Lab runs the lab's traffic through the gateway. Each call runs under
// a generate_completion span (with session.id and user.id) that the demo
// exports to genscope with the OpenTelemetry SDK, and passes its trace
// context to the gateway, so each trace holds the app's span and the
// gateway's call beneath it. It prints a table and returns the session id.
func Lab(ctx context.Context, o LabOptions) (string, []LabResult, error) {
	if o.Deployment == "" {
		o.Deployment = "gpt-4o"
	}
	u, err := url.Parse(o.Server)
	if err != nil || u.Host == "" {
		return "", nil, fmt.Errorf("server %q is not a URL", o.Server)
	}
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
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	defer func() { _ = tp.Shutdown(context.WithoutCancel(ctx)) }()
	tracer := tp.Tracer("genscope/demo")
	prop := propagation.TraceContext{}

	var sid [6]byte
	_, _ = rand.Read(sid[:])
	session := "lab-" + hex.EncodeToString(sid[:])
	client := NewClient(o.Server)
	client.Key = o.GatewayKey
	var out []LabResult
	for _, st := range LabSteps() {
		sctx, span := tracer.Start(ctx, "generate_completion")
		span.SetAttributes(attribute.String("session.id", session), attribute.String("user.id", "lab-user"), attribute.String("lab.prompt", st.Name))
		h := http.Header{}
		prop.Inject(sctx, propagation.HeaderCarrier(h))
		h.Set("x-session-id", session)
		h.Set("x-user-id", "lab-user")
		r, err := client.Chat(sctx, Request{Deployment: o.Deployment, Messages: st.Messages, Stream: st.Stream, Header: h})
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			span.End()
			return session, out, fmt.Errorf("%s: %w", st.Name, err)
		}
		if r.Status >= 400 {
			span.SetStatus(codes.Error, r.Error)
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
