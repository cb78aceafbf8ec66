package traffic

import (
	"encoding/binary"
	"encoding/hex"
	"iter"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/genscope/genscope/internal/genai"
)

// meanSpansPerTrace estimates the spans of a trace over the mix of trace
// shapes; it only sets the pace of trace arrivals, which corrects itself as
// generation proceeds.
const meanSpansPerTrace = 2.8

// sessionTraceGap is the typical time between two traces of one session.
const sessionTraceGap = 45 * time.Second

// Generator yields the spans a Config describes, in start-time order. Memory
// is bounded by the spans of the traces in flight at one time (the span
// rate times a trace's duration), not by Config.Spans. A Generator is not
// safe for concurrent use.
type Generator struct {
	cfg Config
	rng *rand.Rand

	chat, embed picker
	users       *rand.Zipf
	sessions    []session
	resources   []map[string]any

	pending    spanHeap
	free       []*genai.Span
	trace      []*genai.Span
	seq        uint64
	planned    int   // spans generated so far (emitted or pending)
	cursor     int64 // start of the next trace, unix ns
	end        int64
	maxPending int
	svc        int // service of the trace being generated
}

// session is a user's conversation: several traces over time.
type session struct {
	id      string
	user    int
	left    int // traces still to come
	turn    int
	service int
	model   int // catalog index of the session's usual chat model
}

// picker draws catalog indexes by weight.
type picker struct {
	idx []int
	cum []float64
}

func newPicker(n int, embedding bool) picker {
	var p picker
	total := 0.0
	for i, m := range catalog[:n] {
		if m.Embedding == embedding {
			total += m.weight
			p.idx = append(p.idx, i)
			p.cum = append(p.cum, total)
		}
	}
	return p
}

func (p *picker) pick(r *rand.Rand) int {
	x := r.Float64() * p.cum[len(p.cum)-1]
	lo, hi := 0, len(p.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if p.cum[mid] <= x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return p.idx[lo]
}

// New returns a generator for cfg, or every problem with cfg.
func New(cfg Config) (*Generator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	seed := uint64(cfg.Seed)
	g := &Generator{
		cfg:    cfg,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		chat:   newPicker(cfg.Models, false),
		embed:  newPicker(cfg.Models, true),
		cursor: cfg.Start.UnixNano(),
		end:    cfg.End.UnixNano(),
	}
	if len(g.chat.idx) == 0 {
		// Only embedding models: every call is an embedding call.
		g.chat = g.embed
	}
	g.users = rand.NewZipf(g.rng, 1.1, 1, uint64(cfg.Users-1))
	gap := float64(g.end-g.cursor) * meanSpansPerTrace / float64(cfg.Spans)
	k := int(float64(sessionTraceGap) / math.Max(gap, 1))
	g.sessions = make([]session, min(max(k, 1), 10000))
	for i := range cfg.Services {
		s := services[i]
		g.resources = append(g.resources, map[string]any{
			"service.name":                s.name,
			"service.version":             s.version,
			"deployment.environment.name": "production",
			"host.name":                   s.host,
			"telemetry.sdk.name":          "opentelemetry",
			"telemetry.sdk.language":      s.language,
			"telemetry.sdk.version":       s.sdkVersion,
		})
	}
	g.advance()
	return g, nil
}

// Next fills dst (from length 0 up to its capacity, or 1024 spans when its
// capacity is 0) with the next spans and returns it; it returns an empty
// slice when every span has been generated. Each span owns its maps and
// slices: the caller may keep or change them.
func (g *Generator) Next(dst []genai.Span) []genai.Span {
	n := cap(dst)
	if n == 0 {
		n = 1024
	}
	dst = dst[:0]
	for len(dst) < n {
		done := g.planned >= g.cfg.Spans
		if len(g.pending) > 0 && (done || g.pending[0].start <= g.cursor) {
			s := g.pending.pop()
			dst = append(dst, *s)
			*s = genai.Span{}
			g.free = append(g.free, s)
			continue
		}
		if done {
			break
		}
		g.genTrace()
		g.advance()
	}
	return dst
}

// All yields every remaining span.
func (g *Generator) All() iter.Seq[genai.Span] {
	return func(yield func(genai.Span) bool) {
		buf := make([]genai.Span, 0, 256)
		for {
			buf = g.Next(buf)
			if len(buf) == 0 {
				return
			}
			for _, s := range buf {
				if !yield(s) {
					return
				}
			}
		}
	}
}

// advance moves the cursor to the next trace's start: exponential gaps whose
// mean spreads the remaining spans over the remaining time.
func (g *Generator) advance() {
	remaining := g.cfg.Spans - g.planned
	if remaining <= 0 {
		return
	}
	gap := float64(g.end-g.cursor) * meanSpansPerTrace / float64(remaining)
	g.cursor += int64(gap * g.rng.ExpFloat64())
	if g.cursor >= g.end {
		g.cursor = g.end - 1
	}
}

// newSpan returns an empty span for the current trace.
func (g *Generator) newSpan() *genai.Span {
	var s *genai.Span
	if n := len(g.free); n > 0 {
		s = g.free[n-1]
		g.free = g.free[:n-1]
	} else {
		s = new(genai.Span)
	}
	g.trace = append(g.trace, s)
	return s
}

// pickSession returns a session of the pool, starting a new one in place of
// one that has ended.
func (g *Generator) pickSession() *session {
	s := &g.sessions[g.rng.IntN(len(g.sessions))]
	if s.left <= 0 {
		user := g.rng.IntN(g.cfg.Users)
		if g.rng.IntN(2) == 0 {
			user = int(g.users.Uint64())
		}
		*s = session{
			id:      g.uuid(),
			user:    user,
			left:    1 + min(int(g.rng.ExpFloat64()*3.5), 20),
			service: g.rng.IntN(g.cfg.Services),
			model:   g.chat.pick(g.rng),
		}
	}
	s.left--
	s.turn++
	return s
}

type shape int

const (
	shapePlain shape = iota // generate_completion with 1-3 chat calls
	shapeRAG                // a workflow: embeddings, then 1-2 chat calls
	shapeAgent              // invoke_agent: chat, tool, chat
)

func (g *Generator) shapeOf(service int) shape {
	switch services[service].name {
	case "rag-search":
		if len(g.embed.idx) > 0 {
			return shapeRAG
		}
	case "agent-runner":
		return shapeAgent
	case "support-bot":
		if g.rng.Float64() < 0.4 {
			return shapeAgent
		}
	}
	return shapePlain
}

// genTrace generates the trace starting at the cursor and queues its spans.
func (g *Generator) genTrace() {
	sess := g.pickSession()
	svc := sess.service
	g.svc = svc
	var traceID genai.TraceID
	g.fill(traceID[:])

	root := g.newSpan()
	g.common(root, traceID, genai.SpanID{}, svc, g.cursor)
	root.ScopeName = services[svc].name
	root.SessionID = sess.id
	root.UserID = userID(sess.user)
	root.Attributes = map[string]any{
		"session.id": root.SessionID,
		"user.id":    root.UserID,
		"app.turn":   int64(sess.turn),
	}

	b := &traceBuild{g: g, sess: sess, t: root.StartUnixNano + g.dur(2*time.Millisecond, 0.5)}
	b.children(root, svc)
	g.finishRoot(root, b.t, b.failed)
	g.queueTrace()
}

// traceBuild is a trace being generated under its root: the time the
// next child starts at and the child that failed, if one did.
type traceBuild struct {
	g      *Generator
	sess   *session
	t      int64
	failed *genai.Span
}

// model is the catalog index of the next call's model: mostly the
// session's.
func (b *traceBuild) model() int {
	if b.g.rng.Float64() < 0.75 {
		return b.sess.model
	}
	return b.g.chat.pick(b.g.rng)
}

// call moves the clock past a child span and reports whether the trace
// goes on (it stops at the first failed call).
func (b *traceBuild) call(s *genai.Span) bool {
	b.t = s.StartUnixNano + s.DurationNano + b.g.dur(8*time.Millisecond, 0.7)
	if s.Status == genai.StatusError {
		b.failed = s
		return false
	}
	return true
}

// children generates the root's child spans in the shape of its service:
// plain completions, a RAG pipeline or an agent with a tool call.
func (b *traceBuild) children(root *genai.Span, svc int) {
	g, sess := b.g, b.sess
	model, call := b.model, b.call
	system, question := g.system(), g.question()
	switch g.shapeOf(svc) {
	case shapePlain:
		root.Name = "generate_completion"
		n := 1
		if x := g.rng.Float64(); x < 0.1 {
			n = 3
		} else if x < 0.3 {
			n = 2
		}
		for i := range n {
			c := g.chatCall(root, b.t, model(), system, question, sess.turn+i, nil)
			if !call(c) {
				break
			}
		}
	case shapeRAG:
		root.Name = "rag_pipeline"
		root.Attributes["traceloop.span.kind"] = "workflow"
		root.Attributes["traceloop.workflow.name"] = "answer_question"
		if call(g.embeddings(root, b.t)) {
			n := 1
			if g.rng.Float64() < 0.2 {
				n = 2
			}
			for i := range n {
				if !call(g.chatCall(root, b.t, model(), system, question, sess.turn+i, nil)) {
					break
				}
			}
		}
	case shapeAgent:
		agent := agents[g.rng.IntN(len(agents))]
		idx := model()
		m := catalog[idx]
		root.Name = "invoke_agent " + agent
		root.Operation = "invoke_agent"
		root.Provider = m.Provider
		root.RequestModel = m.Name
		root.Attributes["gen_ai.agent.name"] = agent
		root.Attributes["gen_ai.agent.id"] = "asst_" + agent
		if g.rng.Float64() < 0.3 {
			call(g.chatCall(root, b.t, idx, system, question, sess.turn, nil))
			break
		}
		tl := tools[g.rng.IntN(len(tools))]
		tc := &toolCall{tool: tl, id: "call_" + g.alnum(24), arg: nouns[g.rng.IntN(len(nouns))]}
		if !call(g.chatCall(root, b.t, idx, system, question, sess.turn, tc)) {
			break
		}
		tc.result = g.sentence(6 + g.rng.IntN(6))
		call(g.toolSpan(root, b.t, tc))
		tc.done = true
		call(g.chatCall(root, b.t, idx, system, question, sess.turn, tc))
	}

}

// finishRoot ends the root at t, failed as its failed child did.
func (g *Generator) finishRoot(root *genai.Span, t int64, failed *genai.Span) {
	root.DurationNano = t - root.StartUnixNano
	if failed != nil {
		root.Status = genai.StatusError
		root.StatusMessage = failed.StatusMessage
		if root.Operation != "" {
			root.ErrorType = failed.ErrorType
		}
		typ := failed.ErrorType
		if typ == "BadRequestError" {
			typ = "context_length_exceeded"
		}
		root.Events = []genai.Event{exception(t-1000, typ, failed.StatusMessage)}
	}
}

// queueTrace queues the trace's spans by start time (the last trace may
// be cut to make the count exact).
func (g *Generator) queueTrace() {
	if keep := g.cfg.Spans - g.planned; len(g.trace) > keep {
		for _, s := range g.trace[keep:] {
			*s = genai.Span{}
			g.free = append(g.free, s)
		}
		g.trace = g.trace[:keep]
	}
	for _, s := range g.trace {
		g.seq++
		g.pending.push(entry{start: s.StartUnixNano, seq: g.seq, span: s})
	}
	g.planned += len(g.trace)
	g.trace = g.trace[:0]
	g.maxPending = max(g.maxPending, len(g.pending))
}

// common sets the fields every span of a trace shares.
func (g *Generator) common(s *genai.Span, trace genai.TraceID, parent genai.SpanID, svc int, start int64) {
	s.Project = g.cfg.Project
	s.TraceID = trace
	g.fill(s.SpanID[:])
	s.ParentSpanID = parent
	s.Kind = "internal"
	s.Service = services[svc].name
	s.Source = genai.SourceOTLP
	s.StartUnixNano = start
	s.Status = genai.StatusUnset
	res := make(map[string]any, len(g.resources[svc]))
	for k, v := range g.resources[svc] {
		res[k] = v
	}
	s.ResourceAttributes = res
}

func (g *Generator) child(root *genai.Span, start int64) *genai.Span {
	s := g.newSpan()
	g.common(s, root.TraceID, root.SpanID, g.svc, start)
	return s
}

// toolCall is the tool call an agent's first chat requests and its second
// chat reads the result of.
type toolCall struct {
	tool   tool
	id     string
	arg    string
	result string
	done   bool
}

func (tc *toolCall) arguments() map[string]any { return map[string]any{tc.tool.argKey: tc.arg} }

func (g *Generator) chatCall(root *genai.Span, start int64, idx int, system, question string, turn int, tc *toolCall) *genai.Span {
	m := catalog[idx]
	s := g.child(root, start)
	s.Kind = "client"
	s.ScopeName = instrumentation(m.Provider)
	s.Operation = "chat"
	s.Name = "chat " + m.Name
	s.Provider = m.Provider
	s.RequestModel = m.Name
	s.Attributes = map[string]any{
		"server.address":     endpoint(m.Provider, s.Service),
		"server.port":        int64(443),
		"gen_ai.output.type": "text",
	}
	g.providerExtras(s, m)

	stream := g.chatParams(s, m)
	if !g.cfg.OmitContent {
		g.chatInput(s, system, question, turn, tc)
	}

	in := int64(g.lognormal(700, 1.1))
	if tc != nil && tc.done {
		in += 150
	}
	in = min(max(in, 12), m.context-4096)

	if fail, kind := g.failure(); fail {
		g.fail(s, m, kind, in, start)
		return s
	}

	out := int64(g.lognormal(180, 0.9)) + 1
	finish, msgFinish := "stop", "stop"
	if tc != nil && !tc.done {
		out = 15 + int64(g.rng.IntN(30))
		finish, msgFinish = "tool_calls", "tool_call"
	} else if s.Params.MaxTokens != nil && out >= *s.Params.MaxTokens {
		out = *s.Params.MaxTokens
		finish, msgFinish = "length", "length"
	} else if g.rng.Float64() < 0.005 {
		finish, msgFinish = "content_filter", "content_filter"
	}
	s.FinishReasons = []string{nativeFinish(m.Provider, finish)}
	s.ResponseModel = m.Response
	s.ResponseID = g.responseID(m.Provider)
	s.HTTPStatus = 200
	s.Usage.InputTokens = in
	s.Usage.OutputTokens = out
	if m.Provider != "gcp.gemini" && in >= 1024 && g.rng.Float64() < 0.35 {
		s.Usage.CachedInputTokens = int64(g.rng.Float64()*0.9*float64(in)) / 128 * 128
	}
	if m.Reasoning {
		s.Usage.ReasoningTokens = int64(float64(out) * (0.3 + 0.5*g.rng.Float64()))
	}

	// Latency: time to first token grows with the input (and the hidden
	// reasoning), then output streams at the model's speed.
	tps := m.tps * g.lognormal(1, 0.25)
	ttft := g.lognormal(350e6, 0.5) + float64(in)*0.04e6 + float64(s.Usage.ReasoningTokens)/tps*1e9
	s.DurationNano = int64(ttft + float64(out-s.Usage.ReasoningTokens)/tps*1e9)
	if stream {
		s.TTFTNano = int64(ttft)
	}

	if !g.cfg.OmitContent {
		msg := genai.Message{Role: "assistant", FinishReason: msgFinish}
		if tc != nil && !tc.done {
			msg.Parts = []genai.Part{{Type: "tool_call", ID: tc.id, Name: tc.tool.name, Arguments: tc.arguments()}}
		} else {
			msg.Parts = []genai.Part{{Type: "text", Content: g.answer()}}
		}
		s.OutputMessages = []genai.Message{msg}
	}
	g.price(s)
	return s
}

// chatParams draws a call's request parameters, reporting whether it
// streams.
func (g *Generator) chatParams(s *genai.Span, m Model) bool {
	if !m.Reasoning && g.rng.Float64() < 0.7 {
		s.Params.Temperature = ptr([]float64{0, 0.2, 0.3, 0.5, 0.7, 0.7, 1}[g.rng.IntN(7)])
	}
	if g.rng.Float64() < 0.25 {
		s.Params.TopP = ptr([]float64{0.9, 0.95, 1}[g.rng.IntN(3)])
	}
	if g.rng.Float64() < 0.6 {
		s.Params.MaxTokens = ptr([]int64{256, 512, 1024, 2048, 4096}[g.rng.IntN(5)])
	}
	stream := g.rng.Float64() < 0.3
	if stream {
		s.Params.Stream = ptr(true)
	}
	return stream
}

// chatInput writes a call's system instructions and input messages: the
// question, sometimes an earlier turn, and a finished tool call's result.
func (g *Generator) chatInput(s *genai.Span, system, question string, turn int, tc *toolCall) {
	s.SystemInstructions = []genai.Part{{Type: "text", Content: system}}
	if turn > 1 && g.rng.Float64() < 0.3 {
		s.InputMessages = append(s.InputMessages,
			textMessage("user", g.question()),
			textMessage("assistant", g.sentence(8+g.rng.IntN(8))))
	}
	s.InputMessages = append(s.InputMessages, textMessage("user", question))
	if tc != nil && tc.done {
		s.InputMessages = append(s.InputMessages,
			genai.Message{Role: "assistant", Parts: []genai.Part{{Type: "tool_call", ID: tc.id, Name: tc.tool.name, Arguments: tc.arguments()}}},
			genai.Message{Role: "tool", Parts: []genai.Part{{Type: "tool_call_response", ID: tc.id, Response: tc.result}}})
	}
}

// nativeFinish is the finish reason as the provider spells it.
func nativeFinish(provider, reason string) string {
	switch provider {
	case "anthropic":
		switch reason {
		case "stop":
			return "end_turn"
		case "length":
			return "max_tokens"
		case "tool_calls":
			return "tool_use"
		case "content_filter":
			return "refusal"
		}
	case "gcp.gemini":
		switch reason {
		case "stop", "tool_calls":
			return "STOP"
		case "length":
			return "MAX_TOKENS"
		case "content_filter":
			return "SAFETY"
		}
	}
	return reason
}

func (g *Generator) providerExtras(s *genai.Span, m Model) {
	switch m.Provider {
	case "openai":
		s.Attributes["gen_ai.openai.response.system_fingerprint"] = "fp_" + g.hex(5)
		s.Attributes["gen_ai.openai.response.service_tier"] = "default"
		if g.rng.Float64() < 0.3 {
			s.Attributes["gen_ai.request.frequency_penalty"] = 0.0
			s.Attributes["gen_ai.request.presence_penalty"] = 0.0
		}
	case "azure.ai.openai":
		s.Attributes["az.namespace"] = "Microsoft.CognitiveServices"
		s.Attributes["gen_ai.openai.response.system_fingerprint"] = "fp_" + g.hex(5)
	case "anthropic", "gcp.gemini":
		s.Attributes["gen_ai.request.top_k"] = int64(40)
	case "mistral_ai":
		s.Attributes["gen_ai.request.seed"] = int64(g.rng.IntN(1 << 20))
	}
}

// failure draws whether a model call fails, and how.
func (g *Generator) failure() (bool, errorKind) {
	if g.rng.Float64() >= g.cfg.ErrorRate {
		return false, errorKind{}
	}
	x := g.rng.Float64() * 100
	for _, k := range errorKinds {
		if x < k.weight {
			return true, k
		}
		x -= k.weight
	}
	return true, errorKinds[len(errorKinds)-1]
}

func (g *Generator) fail(s *genai.Span, m Model, k errorKind, in int64, start int64) {
	s.Status = genai.StatusError
	s.ErrorType = k.typ
	s.HTTPStatus = k.http
	switch k.typ {
	case "RateLimitError":
		s.DurationNano = g.dur(90*time.Millisecond, 0.6)
		switch m.Provider {
		case "anthropic":
			s.StatusMessage = "429 This request would exceed the rate limit for your organization of 80,000 input tokens per minute."
		case "gcp.gemini":
			s.StatusMessage = "429 Resource has been exhausted (e.g. check quota)."
		default:
			limit := []int{30000, 200000, 450000}[g.rng.IntN(3)]
			s.StatusMessage = "429 Rate limit reached for " + m.Name + " on tokens per min (TPM): Limit " +
				strconv.Itoa(limit) + ", Used " + strconv.Itoa(limit-int(in)/2) + ", Requested " + strconv.FormatInt(in, 10) +
				". Please try again in " + strconv.FormatFloat(0.5+3*g.rng.Float64(), 'f', 3, 64) + "s."
		}
	case "BadRequestError":
		s.DurationNano = g.dur(180*time.Millisecond, 0.5)
		asked := m.context + 1 + int64(g.lognormal(4000, 1.5))
		s.StatusMessage = "400 This model's maximum context length is " + strconv.FormatInt(m.context, 10) +
			" tokens. However, your messages resulted in " + strconv.FormatInt(asked, 10) +
			" tokens. Please reduce the length of the messages."
		s.Attributes["error.code"] = "context_length_exceeded"
	case "Timeout":
		s.DurationNano = int64([]time.Duration{30 * time.Second, 60 * time.Second}[g.rng.IntN(2)]) + g.dur(5*time.Millisecond, 1)
		s.StatusMessage = "Request timed out."
	default:
		s.DurationNano = g.dur(1500*time.Millisecond, 0.8)
		s.StatusMessage = "500 The server had an error while processing your request. Sorry about that!"
	}
	s.Events = []genai.Event{exception(start+s.DurationNano, k.typ, s.StatusMessage)}
	g.price(s)
}

func exception(t int64, typ, msg string) genai.Event {
	return genai.Event{TimeUnixNano: t, Name: "exception", Attributes: map[string]any{
		"exception.type":    typ,
		"exception.message": msg,
	}}
}

func (g *Generator) embeddings(root *genai.Span, start int64) *genai.Span {
	m := catalog[g.embed.pick(g.rng)]
	s := g.child(root, start)
	s.Kind = "client"
	s.ScopeName = instrumentation(m.Provider)
	s.Operation = "embeddings"
	s.Name = "embeddings " + m.Name
	s.Provider = m.Provider
	s.RequestModel = m.Name
	dims := int64(1536)
	switch m.Response {
	case "text-embedding-3-large":
		dims = 3072
	case "text-embedding-004":
		dims = 768
	case "mistral-embed":
		dims = 1024
	}
	s.Attributes = map[string]any{
		"server.address":                    endpoint(m.Provider, s.Service),
		"server.port":                       int64(443),
		"gen_ai.request.encoding_formats":   []string{"float"},
		"gen_ai.embeddings.dimension.count": dims,
	}
	in := min(max(int64(g.lognormal(60, 0.8)), 3), m.context)
	if fail, kind := g.failure(); fail {
		g.fail(s, m, kind, in, start)
		return s
	}
	s.ResponseModel = m.Response
	s.HTTPStatus = 200
	s.Usage.InputTokens = in
	s.DurationNano = g.dur(90*time.Millisecond, 0.5) + in*20_000
	g.price(s)
	return s
}

func (g *Generator) toolSpan(root *genai.Span, start int64, tc *toolCall) *genai.Span {
	s := g.child(root, start)
	s.ScopeName = root.ScopeName
	s.Operation = "execute_tool"
	s.Name = "execute_tool " + tc.tool.name
	s.DurationNano = g.dur(80*time.Millisecond, 0.9)
	s.Attributes = map[string]any{
		"gen_ai.tool.name":        tc.tool.name,
		"gen_ai.tool.call.id":     tc.id,
		"gen_ai.tool.type":        "function",
		"gen_ai.tool.description": tc.tool.description,
	}
	if !g.cfg.OmitContent {
		s.Attributes["gen_ai.tool.call.arguments"] = `{"` + tc.tool.argKey + `":"` + tc.arg + `"}`
		s.Attributes["gen_ai.tool.call.result"] = strconv.Quote(tc.result)
	}
	return s
}

func (g *Generator) price(s *genai.Span) {
	if g.cfg.Cost != nil {
		s.CostUSD, s.CostKnown = g.cfg.Cost(s)
	}
}

// lognormal draws from a log-normal distribution with the given median.
func (g *Generator) lognormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*g.rng.NormFloat64())
}

func (g *Generator) dur(median time.Duration, sigma float64) int64 {
	return max(int64(g.lognormal(float64(median), sigma)), 1000)
}

func (g *Generator) fill(b []byte) {
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], g.rng.Uint64())
		copy(b[i:], w[:])
	}
}

func (g *Generator) uuid() string {
	var b [16]byte
	g.fill(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[:8], b[:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func (g *Generator) hex(n int) string {
	b := make([]byte, n)
	g.fill(b)
	return hex.EncodeToString(b)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (g *Generator) alnum(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[g.rng.IntN(len(alnum))]
	}
	return string(b)
}

func (g *Generator) responseID(provider string) string {
	switch provider {
	case "anthropic":
		return "msg_01" + g.alnum(22)
	case "gcp.gemini":
		return g.alnum(22)
	case "mistral_ai":
		return g.hex(16)
	default:
		return "chatcmpl-" + g.alnum(29)
	}
}

// userID names user i (0-based) of the configured users.
func userID(i int) string {
	s := strconv.Itoa(i + 1)
	if len(s) < 5 {
		s = "00000"[len(s):] + s
	}
	return "user-" + s
}

func ptr[T any](v T) *T { return &v }

func textMessage(role, text string) genai.Message {
	return genai.Message{Role: role, Parts: []genai.Part{{Type: "text", Content: text}}}
}

// entry is a span waiting for its turn in start-time order.
type entry struct {
	start int64
	seq   uint64
	span  *genai.Span
}

// spanHeap is a min-heap of entries by start time, then generation order.
type spanHeap []entry

func (h spanHeap) less(i, j int) bool {
	return h[i].start < h[j].start || h[i].start == h[j].start && h[i].seq < h[j].seq
}

func (h *spanHeap) push(e entry) {
	*h = append(*h, e)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !a.less(i, p) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *spanHeap) pop() *genai.Span {
	a := *h
	top := a[0].span
	n := len(a) - 1
	a[0] = a[n]
	a[n] = entry{}
	a = a[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && a.less(l, m) {
			m = l
		}
		if r < n && a.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}
