package otlpconv

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/genscope/genscope/internal/fixture"
	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// readFixture is an OTLP fixture exactly as captured: the goldens hold
// its own times, and nothing here compares them with the clock.
func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	return fixture.Captured(tb, "otlp/"+name)
}

func decodeTraces(tb testing.TB, name string) ptrace.Traces {
	tb.Helper()
	b := readFixture(tb, name)
	req := ptraceotlp.NewExportRequest()
	var err error
	if strings.HasSuffix(name, ".pb") {
		err = req.UnmarshalProto(b)
	} else {
		err = req.UnmarshalJSON(b)
	}
	if err != nil {
		tb.Fatalf("decode %s: %v", name, err)
	}
	return req.Traces()
}

func decodeLogs(tb testing.TB, name string) plog.Logs {
	tb.Helper()
	b := readFixture(tb, name)
	req := plogotlp.NewExportRequest()
	var err error
	if strings.HasSuffix(name, ".pb") {
		err = req.UnmarshalProto(b)
	} else {
		err = req.UnmarshalJSON(b)
	}
	if err != nil {
		tb.Fatalf("decode %s: %v", name, err)
	}
	return req.Logs()
}

// longContent is the length from which the goldens hold a digest of a
// content string instead of the string.
const longContent = 2000

func digest(s string) string {
	if len(s) < longContent {
		return s
	}
	return fmt.Sprintf("[digest: %d bytes, sha256 %x]", len(s), sha256.Sum256([]byte(s)))
}

func digestParts(ps []genai.Part) []genai.Part {
	out := make([]genai.Part, len(ps))
	for i, p := range ps {
		p.Content = digest(p.Content)
		out[i] = p
	}
	return out
}

func digestMessages(ms []genai.Message) []genai.Message {
	if ms == nil {
		return nil
	}
	out := make([]genai.Message, len(ms))
	for i, m := range ms {
		m.Parts = digestParts(m.Parts)
		out[i] = m
	}
	return out
}

type goldenSpan struct {
	TraceID      string `json:"trace_id"`
	SpanID       string `json:"span_id"`
	ParentSpanID string `json:"parent_span_id,omitempty"`
	genai.Span
}

type goldenRecord struct {
	TraceID      string            `json:"trace_id"`
	SpanID       string            `json:"span_id"`
	TimeUnixNano int64             `json:"time_unix_nano"`
	Seq          int               `json:"seq"`
	Kind         genai.MessageKind `json:"kind"`
	Message      genai.Message     `json:"message"`
	Truncated    bool              `json:"truncated,omitempty"`
}

func checkGolden(t *testing.T, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff\ngot:\n%s", path, got)
	}
}

func goldenSpans(spans []genai.Span) []goldenSpan {
	out := make([]goldenSpan, len(spans))
	for i, s := range spans {
		if s.SystemInstructions != nil {
			s.SystemInstructions = digestParts(s.SystemInstructions)
		}
		s.InputMessages = digestMessages(s.InputMessages)
		s.OutputMessages = digestMessages(s.OutputMessages)
		parent := ""
		if !s.ParentSpanID.IsZero() {
			parent = s.ParentSpanID.String()
		}
		out[i] = goldenSpan{s.TraceID.String(), s.SpanID.String(), parent, s}
	}
	return out
}

// calls sums the GenAI calls of spans.
type calls struct {
	n, errors, in, out int64
	errorTypes         []string
}

func sumCalls(spans []genai.Span) calls {
	var c calls
	for i := range spans {
		s := &spans[i]
		if !s.IsGenAI() {
			continue
		}
		c.n++
		c.in += s.Usage.InputTokens
		c.out += s.Usage.OutputTokens
		if s.Status == genai.StatusError {
			c.errors++
			c.errorTypes = append(c.errorTypes, s.ErrorType)
		}
	}
	return c
}

func TestTracesFixtures(t *testing.T) {
	tests := []struct {
		fixture           string
		spans             int
		calls, in, out    int64
		errors            int64
		errorType         string
		content           bool // input, system and output on the spans
		provider, service string
	}{
		{"lab-otel-openai.traces.json", 10, 5, 199, 299, 1, "BadRequestError", false, "openai", "lab-prompts-otel"},
		{"lab-traceloop.traces.json", 9, 4, 153, 207, 0, "", true, "openai", "lab-prompts-traceloop"},
		{"lab-openinference.traces.json", 9, 4, 153, 207, 0, "", true, "openai", "lab-prompts-openinference"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			spans, rejected, msg := Traces(decodeTraces(t, tt.fixture), "p1")
			if rejected != 0 || msg != "" {
				t.Fatalf("rejected %d: %s", rejected, msg)
			}
			if len(spans) != tt.spans {
				t.Errorf("got %d spans, want %d", len(spans), tt.spans)
			}
			c := sumCalls(spans)
			if c.n != tt.calls || c.in != tt.in || c.out != tt.out || c.errors != tt.errors {
				t.Errorf("calls %d, tokens %d+%d, errors %d; want %d, %d+%d, %d",
					c.n, c.in, c.out, c.errors, tt.calls, tt.in, tt.out, tt.errors)
			}
			if tt.errors > 0 && (len(c.errorTypes) == 0 || c.errorTypes[0] != tt.errorType) {
				t.Errorf("error types %q, want %q", c.errorTypes, tt.errorType)
			}
			for i := range spans {
				s := &spans[i]
				if s.Project != "p1" || s.Source != genai.SourceOTLP || s.Service != tt.service {
					t.Errorf("span %s: project %q source %q service %q", s.Name, s.Project, s.Source, s.Service)
				}
				if s.Name == "generate_completion" {
					if s.IsGenAI() || s.SessionID == "" {
						t.Errorf("parent span: operation %q session %q", s.Operation, s.SessionID)
					}
					continue
				}
				if !s.IsGenAI() || s.Operation != "chat" || s.Provider != tt.provider || s.Model() == "" {
					t.Errorf("call %s: operation %q provider %q model %q", s.Name, s.Operation, s.Provider, s.Model())
				}
				if tt.content {
					// The system message is stored once, as the system
					// instructions: the input is the user's message.
					if len(s.SystemInstructions) == 0 || len(s.InputMessages) != 1 || len(s.OutputMessages) != 1 {
						t.Errorf("call %s: %d system parts, %d input, %d output messages",
							s.Name, len(s.SystemInstructions), len(s.InputMessages), len(s.OutputMessages))
					}
					if !strings.HasPrefix(s.SystemInstructions[0].Content, "You are an AI assistant") {
						t.Errorf("system instructions %q", s.SystemInstructions[0].Content)
					}
					for _, m := range s.InputMessages {
						if genai.IsSystemRole(m.Role) {
							t.Errorf("call %s: a %s message in the input", s.Name, m.Role)
						}
					}
					if in := store.InputPreviewText(s.InputMessages); in == "" || strings.HasPrefix(in, "You are an AI assistant") {
						t.Errorf("call %s: input preview %.60q", s.Name, in)
					}
				}
			}
			checkGolden(t, strings.TrimSuffix(tt.fixture, ".json"), goldenSpans(spans))
		})
	}
}

// The .pb fixtures are a second capture of the same traffic: the same
// records but for the ids, times, response ids and session ids.
func maskCapture(spans []genai.Span) []genai.Span {
	out := slices.Clone(spans)
	for i := range out {
		s := &out[i]
		s.TraceID, s.SpanID, s.ParentSpanID = genai.TraceID{}, genai.SpanID{}, genai.SpanID{}
		s.StartUnixNano, s.DurationNano = 0, 0
		s.ResponseID, s.SessionID = "", ""
		for j := range s.Events {
			s.Events[j].TimeUnixNano = 0
		}
	}
	return out
}

func TestTracesProtoEqualsJSON(t *testing.T) {
	js, _, _ := Traces(decodeTraces(t, "lab-otel-openai.traces.json"), "p")
	pb, _, _ := Traces(decodeTraces(t, "lab-otel-openai.traces.pb"), "p")
	if !reflect.DeepEqual(maskCapture(js), maskCapture(pb)) {
		t.Errorf("the .pb and .json fixtures give different spans")
	}

	// The same payload as JSON and as protobuf gives identical spans.
	for _, name := range []string{"lab-otel-openai.traces.json", "lab-traceloop.traces.json", "lab-openinference.traces.json"} {
		td := decodeTraces(t, name)
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(b); err != nil {
			t.Fatal(err)
		}
		fromJSON, _, _ := Traces(td, "p")
		fromProto, _, _ := Traces(req.Traces(), "p")
		if !reflect.DeepEqual(fromJSON, fromProto) {
			t.Errorf("%s: JSON and protobuf encodings give different spans", name)
		}
	}
}

func TestLogsFixture(t *testing.T) {
	recs, ignored, rejected, msg := Logs(decodeLogs(t, "lab-otel-openai.logs.json"), "p1")
	if ignored != 0 || rejected != 0 || msg != "" {
		t.Fatalf("ignored %d rejected %d: %s", ignored, rejected, msg)
	}
	var sys, in, out int
	long := 0
	for i, r := range recs {
		if r.Seq != i || r.Project != "p1" || r.TraceID.IsZero() || r.SpanID.IsZero() || r.TimeUnixNano == 0 {
			t.Errorf("record %d: seq %d project %q trace %s span %s time %d", i, r.Seq, r.Project, r.TraceID, r.SpanID, r.TimeUnixNano)
		}
		if len(r.Message.Parts) != 1 || r.Message.Parts[0].Type != "text" {
			t.Errorf("record %d: parts %+v", i, r.Message.Parts)
			continue
		}
		switch r.Kind {
		case genai.KindSystem:
			sys++
		case genai.KindInput:
			in++
			if r.Message.Role != "user" {
				t.Errorf("record %d: input role %q", i, r.Message.Role)
			}
		case genai.KindOutput:
			out++
			if r.Message.Role != "assistant" || r.Message.FinishReason != "stop" {
				t.Errorf("record %d: output role %q finish %q", i, r.Message.Role, r.Message.FinishReason)
			}
		}
		if len(r.Message.Parts[0].Content) > 190_000 {
			long++
		}
	}
	// Five calls, each with a system and a user message; the streamed and
	// failed calls log no choice.
	if sys != 5 || in != 5 || out != 3 || long != 1 {
		t.Errorf("%d system, %d input, %d output, %d long records; want 5, 5, 3, 1", sys, in, out, long)
	}

	pb, _, _, _ := Logs(decodeLogs(t, "lab-otel-openai.logs.pb"), "p1")
	if len(pb) != len(recs) {
		t.Fatalf("the .pb fixture gives %d records, the .json %d", len(pb), len(recs))
	}
	for i := range pb {
		a, b := recs[i], pb[i]
		a.TraceID, a.SpanID, a.TimeUnixNano = b.TraceID, b.SpanID, b.TimeUnixNano
		if !reflect.DeepEqual(a, b) {
			t.Errorf("record %d: the .pb and .json fixtures differ", i)
		}
	}
	ld := decodeLogs(t, "lab-otel-openai.logs.json")
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		t.Fatal(err)
	}
	if fromProto, _, _, _ := Logs(req.Logs(), "p1"); !reflect.DeepEqual(recs, fromProto) {
		t.Errorf("JSON and protobuf encodings give different records")
	}

	g := make([]goldenRecord, len(recs))
	for i, r := range recs {
		m := r.Message
		m.Parts = digestParts(m.Parts)
		g[i] = goldenRecord{r.TraceID.String(), r.SpanID.String(), r.TimeUnixNano, r.Seq, r.Kind, m, r.Truncated}
	}
	checkGolden(t, "lab-otel-openai.logs", g)
}

func TestTracesRejectsInvalidIDs(t *testing.T) {
	td := ptrace.NewTraces()
	sps := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	good := sps.AppendEmpty()
	good.SetTraceID(pcommon.TraceID{1})
	good.SetSpanID(pcommon.SpanID{1})
	for range 2 {
		sp := sps.AppendEmpty()
		sp.SetSpanID(pcommon.SpanID{2})
	}
	spans, rejected, msg := Traces(td, "p")
	if len(spans) != 1 || rejected != 2 || msg != "2 spans rejected: invalid trace id" {
		t.Errorf("got %d spans, %d rejected, %q", len(spans), rejected, msg)
	}
	noSpan := sps.AppendEmpty()
	noSpan.SetTraceID(pcommon.TraceID{3})
	_, rejected, msg = Traces(td, "p")
	if rejected != 3 || msg != "3 spans rejected: invalid trace id (2), invalid span id (1)" {
		t.Errorf("got %d rejected, %q", rejected, msg)
	}
	if spans[0].Service != genai.DefaultService || spans[0].Kind != "unspecified" || spans[0].Status != genai.StatusUnset {
		t.Errorf("bare span: %+v", spans[0])
	}
}

func TestLogs(t *testing.T) {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()

	plain := lrs.AppendEmpty() // not a GenAI event: ignored
	plain.Body().SetStr("hello")

	details := lrs.AppendEmpty() // the eventName field, several messages
	details.SetEventName(genai.EventInferenceDetails)
	details.SetTraceID(pcommon.TraceID{1})
	details.SetSpanID(pcommon.SpanID{1})
	details.SetTimestamp(5)
	details.Attributes().PutStr("gen_ai.system_instructions", `[{"type":"text","content":"be brief"}]`)
	details.Attributes().PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`)
	details.Attributes().PutStr("gen_ai.output.messages", `[{"role":"assistant","finish_reason":"stop","parts":[{"type":"text","content":"hello"}]}]`)

	orphan := lrs.AppendEmpty() // GenAI event without ids: rejected
	orphan.Attributes().PutStr("event.name", genai.EventUserMessage)

	user := lrs.AppendEmpty() // JSON string body, observed time only
	user.Attributes().PutStr("event.name", genai.EventUserMessage)
	user.SetTraceID(pcommon.TraceID{1})
	user.SetSpanID(pcommon.SpanID{1})
	user.SetObservedTimestamp(7)
	user.Body().SetStr(`{"content":"again"}`)

	recs, ignored, rejected, msg := Logs(ld, "p")
	if ignored != 1 || rejected != 1 || msg != "1 log record rejected: invalid trace id" {
		t.Errorf("ignored %d rejected %d %q", ignored, rejected, msg)
	}
	want := []struct {
		kind    genai.MessageKind
		role    string
		content string
		seq     int
		time    int64
	}{
		{genai.KindSystem, "system", "be brief", 0, 5},
		{genai.KindInput, "user", "hi", 1, 5},
		{genai.KindOutput, "assistant", "hello", 2, 5},
		{genai.KindInput, "user", "again", 3, 7},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records: %+v", len(recs), recs)
	}
	for i, w := range want {
		r := recs[i]
		if r.Kind != w.kind || r.Message.Role != w.role || r.Message.Parts[0].Content != w.content || r.Seq != w.seq || r.TimeUnixNano != w.time {
			t.Errorf("record %d: %+v, want %+v", i, r, w)
		}
	}
}

func TestValue(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("s", "x")
	m.PutInt("i", -3)
	m.PutDouble("d", 1.5)
	m.PutBool("b", true)
	m.PutEmptyBytes("y").FromRaw([]byte{1, 2})
	sl := m.PutEmptySlice("l")
	sl.AppendEmpty().SetStr("a")
	sl.AppendEmpty().SetInt(1)
	kv := m.PutEmptyMap("m")
	kv.PutStr("k", "v")
	m.PutEmpty("e")
	got := attrMap(m)
	want := map[string]any{
		"s": "x", "i": int64(-3), "d": 1.5, "b": true, "y": []byte{1, 2},
		"l": []any{"a", int64(1)}, "m": map[string]any{"k": "v"}, "e": nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	if attrMap(pcommon.NewMap()) != nil {
		t.Errorf("empty map should convert to nil")
	}
}
