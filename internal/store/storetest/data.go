package storetest

import (
	"fmt"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/genai"
)

// Base is the start of the generated data: every span starts at or after it.
var Base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type modelSpec struct {
	provider, model string
	op              string
	price           float64 // USD per token; 0 means unknown cost
}

var models = []modelSpec{
	{"openai", "gpt-4o", "chat", 0.00001},
	{"openai", "gpt-4o-mini", "chat", 0.000001},
	{"anthropic", "claude-3-5-sonnet", "chat", 0.000015},
	{"mistral", "mistral-large-x", "chat", 0}, // not in the price table
	{"openai", "text-embedding-3-small", "embeddings", 0.0000001},
}

func traceID(project string, i int) genai.TraceID {
	var t genai.TraceID
	copy(t[:], fmt.Sprintf("tr%014d", i)) // the same ids in every project
	t[0] = 0xf0 | byte(i%16)              // high bit set: ids compare as unsigned
	return t
}

func spanID(i, j int) genai.SpanID {
	var s genai.SpanID
	copy(s[:], fmt.Sprintf("%04d%04d", i%10000, j))
	s[0] = byte(0x80 + j*7 + i%5) // vary the order of span ids against start times
	return s
}

// dataset is what a test writes: batches in order, and the reference of
// the resulting store content.
type dataset struct {
	batches [][]genai.Span
	records [][]genai.MessageRecord // written after batches[i] when i < len
	ref     *ref
}

func text(role, s string) genai.Message {
	return genai.Message{Role: role, Parts: []genai.Part{{Type: "text", Content: s}}}
}

// longSystem is longer than store.PreviewLen runes and multi-byte.
var longSystem = strings.Repeat("Ünïcødé système prompt — ", 20)

// genTrace builds trace i of project p: a generate_completion root (a
// non-GenAI server span carrying session and user for most traces) with
// one or two GenAI calls under it, sometimes a tool span, and returns the
// spans plus message records that carry some of the calls' content.
func genTrace(p string, i int) ([]genai.Span, []genai.MessageRecord) {
	tid := traceID(p, i)
	start := Base.Add(time.Duration(i)*97*time.Second + time.Duration(i%7)*time.Millisecond)
	service := []string{"chat-api", "batch-worker", "support-bot"}[i%3]
	root := genai.Span{
		Project: p, TraceID: tid, SpanID: spanID(i, 0), Name: "generate_completion", Kind: "server",
		Service: service, Source: genai.SourceOTLP, StartUnixNano: start.UnixNano(),
		DurationNano: int64(3000+i*37) * int64(time.Millisecond), Status: genai.StatusUnset,
		Attributes: map[string]any{"http.route": "/chat", "retry": int64(i % 3)},
	}
	if i%5 != 4 { // every fifth trace has no session at all
		root.SessionID = fmt.Sprintf("sess-%d", i%6)
		root.UserID = fmt.Sprintf("user-%d", i%4)
	}
	var spans []genai.Span
	var recs []genai.MessageRecord
	calls := 1 + i%2
	if i%4 == 3 {
		calls = 3
	}
	for j := 1; j <= calls; j++ {
		sp, rs := genCall(p, &root, start, i, j)
		recs = append(recs, rs...)
		spans = append(spans, sp)
	}
	if i%3 == 0 { // a non-GenAI child: a database call
		spans = append(spans, genai.Span{
			Project: p, TraceID: tid, SpanID: spanID(i, 9), ParentSpanID: root.SpanID, Name: "SELECT users",
			Kind: "client", Service: service, Source: genai.SourceOTLP,
			StartUnixNano: start.Add(5 * time.Millisecond).UnixNano(), DurationNano: int64(2 * time.Millisecond),
			Status: genai.StatusOK, Attributes: map[string]any{"db.system": "postgresql"},
		})
	}
	if i%10 == 7 { // an agent tool call (not a call), under the first call
		st := genai.StatusOK
		if i%20 == 17 {
			st = genai.StatusError
		}
		spans = append(spans, genai.Span{
			Project: p, TraceID: tid, SpanID: spanID(i, 8), ParentSpanID: spanID(i, 1), Name: "execute_tool lookup",
			Kind: "internal", Service: service, Source: genai.SourceOTLP,
			StartUnixNano: start.Add(60 * time.Millisecond).UnixNano(), DurationNano: int64(30+i) * int64(time.Millisecond),
			Status: st, Operation: "execute_tool", ToolName: "lookup",
			// A model named on a tool span prices nothing: it is no call.
			Provider: "openai", RequestModel: "gpt-4o",
		})
	}
	if i%6 == 1 { // an agent run with a tool of its own
		spans = append(spans, genai.Span{
			Project: p, TraceID: tid, SpanID: spanID(i, 10), ParentSpanID: root.SpanID, Name: "invoke_agent planner",
			Kind: "internal", Service: service, Source: genai.SourceOTLP,
			StartUnixNano: start.Add(2 * time.Millisecond).UnixNano(), DurationNano: int64(900+i) * int64(time.Millisecond),
			Status: genai.StatusOK, Operation: "invoke_agent", AgentName: []string{"planner", "writer"}[i%12/6],
		}, genai.Span{
			Project: p, TraceID: tid, SpanID: spanID(i, 11), ParentSpanID: spanID(i, 10), Name: "execute_tool search",
			Kind: "internal", Service: service, Source: genai.SourceOTLP,
			StartUnixNano: start.Add(4 * time.Millisecond).UnixNano(), DurationNano: int64(100+2*i) * int64(time.Millisecond),
			Status: genai.StatusOK, Operation: "execute_tool", ToolName: "search",
		})
	}
	return append([]genai.Span{root}, spans...), recs
}

// genCall builds GenAI call j of trace i under root: its model, timing,
// usage, cost, error and streaming vary with i and j, and its content
// (genContent).
func genCall(p string, root *genai.Span, start time.Time, i, j int) (genai.Span, []genai.MessageRecord) {
	tid, service := root.TraceID, root.Service
	m := models[(i+j)%len(models)]
	cs := start.Add(time.Duration(j*40+i%11) * time.Millisecond)
	dur := int64(200+((i*131+j*53)%2900)) * int64(time.Millisecond)
	in, out := int64(100+i*13+j), int64(20+(i*7+j*3)%400)
	sp := genai.Span{
		Project: p, TraceID: tid, SpanID: spanID(i, j), ParentSpanID: root.SpanID,
		Name: m.op + " " + m.model, Kind: "client", Service: service, ScopeName: "opentelemetry.instrumentation.openai",
		Source: genai.SourceOTLP, StartUnixNano: cs.UnixNano(), DurationNano: dur,
		Status: genai.StatusOK, Operation: m.op, Provider: m.provider, RequestModel: m.model,
		ResponseModel: m.model + "-2024-08-06", ResponseID: fmt.Sprintf("chatcmpl-%d-%d", i, j),
		FinishReasons: []string{"stop"},
		Usage:         genai.Usage{InputTokens: in, OutputTokens: out, CachedInputTokens: in / 4, ReasoningTokens: out / 5},
		Attributes: map[string]any{"gen_ai.openai.api_base": "https://example.test", "n": int64(j),
			// For attribute filters: a float whose shortest form is long, a
			// boolean, a list, a map, a key with JSON pointer characters.
			"score": float64(i%5) * 0.35, "cached": i%2 == 0, "tags": []string{fmt.Sprintf("t%d", i%3)},
			"meta": map[string]any{"tier": []string{"gold", "silver"}[i%2]}, "region": []string{"EU-West", "us-east", "Ünïcødé-Zone"}[i%3]},
		ResourceAttributes: map[string]any{
			"service.name": service, "service.version": "1.2.3",
		},
		Events: []genai.Event{{TimeUnixNano: cs.UnixNano() + 1000, Name: "checkpoint", Attributes: map[string]any{"k": "v"}}},
	}
	temp, mt := 0.2, int64(512)
	sp.Params = genai.Params{Temperature: &temp, MaxTokens: &mt}
	if m.op == "embeddings" {
		sp.Usage.OutputTokens, sp.Usage.ReasoningTokens = 0, 0
		sp.FinishReasons = nil
	}
	if m.price > 0 {
		sp.CostUSD = float64(in+out) * m.price
		sp.CostKnown = true
	}
	if i%6 == 5 && j == 1 { // the response model only
		sp.RequestModel = ""
	}
	if i%7 == 2 {
		sp.Status = genai.StatusError
		sp.StatusMessage = "rate limited"
		sp.ErrorType = "429"
		sp.HTTPStatus = 429
		sp.Usage.OutputTokens, sp.Usage.ReasoningTokens = 0, 0
		if sp.CostKnown {
			sp.CostUSD = float64(in) * m.price
		}
	}
	if (i+j)%3 == 0 && m.op == "chat" {
		stream := true
		sp.Params.Stream = &stream
		sp.TTFTNano = int64(50+(i*17+j*29)%700) * int64(time.Millisecond)
	}
	if i%4 == 0 {
		sp.Attributes["path/to~x"] = "slash"
	}
	if j == 2 && i%2 == 0 { // a call that sets its own session and user
		sp.SessionID = fmt.Sprintf("own-sess-%d", i%3)
		sp.UserID = "user-own"
	}
	return sp, genContent(&sp, m.op, cs, i, j)
}

// genContent gives call j of trace i its content: on the span, as
// message records (log events, some timed before the span and out of
// (time, seq) order), or both; it returns the records.
func genContent(sp *genai.Span, op string, cs time.Time, i, j int) []genai.MessageRecord {
	var recs []genai.MessageRecord
	p, tid := sp.Project, sp.TraceID
	question := fmt.Sprintf("Question %d.%d: what is the capital of country %d?", i, j, i*j)
	answer := fmt.Sprintf("Answer %d.%d: the Capital is City-%d.", i, j, i+j)
	system := fmt.Sprintf("You are assistant number %d.", i%4)
	if i%9 == 1 {
		system = longSystem
	}
	switch {
	case op == "embeddings":
		sp.InputMessages = []genai.Message{text("user", "embed me "+question)}
	case i%4 == 1 && j == 1:
		// Content arrives as message records (log events), some
		// with a time before the span, in an order differing from
		// (time, seq).
		t0 := cs.UnixNano()
		recs = append(recs,
			genai.MessageRecord{Project: p, TraceID: tid, SpanID: sp.SpanID, TimeUnixNano: t0 + 10, Seq: 0, Kind: genai.KindOutput,
				Message: genai.Message{Role: "assistant", Parts: []genai.Part{{Type: "text", Content: answer}}, FinishReason: "stop"}},
			genai.MessageRecord{Project: p, TraceID: tid, SpanID: sp.SpanID, TimeUnixNano: t0, Seq: 1, Kind: genai.KindInput,
				Message: text("user", question)},
			genai.MessageRecord{Project: p, TraceID: tid, SpanID: sp.SpanID, TimeUnixNano: t0, Seq: 0, Kind: genai.KindSystem,
				Message: genai.Message{Role: "system", Parts: []genai.Part{{Type: "text", Content: system}}}},
			genai.MessageRecord{Project: p, TraceID: tid, SpanID: sp.SpanID, TimeUnixNano: t0 + 5, Seq: 2, Kind: genai.KindInput,
				Message: text("user", "Follow-up about Zanzibar"), Truncated: true},
		)
	case i%4 == 2 && j == 1:
		// Output on the span, input via records.
		sp.OutputMessages = []genai.Message{text("assistant", answer)}
		recs = append(recs, genai.MessageRecord{Project: p, TraceID: tid, SpanID: sp.SpanID,
			TimeUnixNano: cs.UnixNano() + 1, Kind: genai.KindInput, Message: text("user", question+" via record")})
	case i%4 == 3 && j == 1 && op != "embeddings":
		// A conversation whose input repeats the system message
		// (as spans written before sources stopped repeating it
		// do) and carries history: the input preview is the
		// user's last message.
		sp.SystemInstructions = []genai.Part{{Type: "text", Content: system}}
		sp.InputMessages = []genai.Message{text("system", system), text("user", "Earlier question"),
			text("assistant", "Earlier answer"), text("user", question)}
		sp.OutputMessages = []genai.Message{text("assistant", answer)}
	default:
		sp.SystemInstructions = []genai.Part{{Type: "text", Content: system}}
		sp.InputMessages = []genai.Message{text("user", question), {Role: "tool", Parts: []genai.Part{{Type: "tool_call_response", ID: "c1", Response: map[string]any{"temp": 21.5}}}}}
		sp.OutputMessages = []genai.Message{{Role: "assistant", Parts: []genai.Part{
			{Type: "text", Content: answer}, {Type: "tool_call", ID: "c2", Name: "lookup", Arguments: map[string]any{"q": "x"}}}, FinishReason: "stop"}}
	}
	return recs
}

// genDataset builds traces [0, n) of project p and splits them into
// batches so that, in turn: children are written before their root (in an
// earlier Write), roots before children, everything in one batch; message
// records before and after their spans; and some batches twice (retries).
func genDataset(p string, n int) *dataset {
	d := &dataset{ref: newRef()}
	var early, late []genai.Span
	var recsEarly, recsLate []genai.MessageRecord
	flush := func() {
		if len(early)+len(recsEarly) > 0 {
			d.batches = append(d.batches, early)
			d.records = append(d.records, recsEarly)
		}
		if len(late)+len(recsLate) > 0 {
			d.batches = append(d.batches, late)
			d.records = append(d.records, recsLate)
		}
		early, late, recsEarly, recsLate = nil, nil, nil, nil
	}
	for i := range n {
		spans, recs := genTrace(p, i)
		switch i % 3 {
		case 0: // children first, the root (with the session) later
			early = append(early, spans[1:]...)
			late = append(late, spans[0])
		case 1: // the root first
			early = append(early, spans[0])
			late = append(late, spans[1:]...)
		default:
			early = append(early, spans...)
		}
		if i%2 == 0 {
			recsEarly = append(recsEarly, recs...) // records with or before their span
		} else {
			recsLate = append(recsLate, recs...)
		}
		if i%5 == 4 {
			flush()
		}
	}
	flush()
	d.rebuild()
	return d
}

// rebuild recomputes the reference after the batches changed.
func (d *dataset) rebuild() {
	d.ref = newRef()
	for i := range d.batches {
		d.ref.add(d.batches[i], d.records[i])
	}
}
