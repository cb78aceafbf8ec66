package appinsights

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/genscope/genscope/internal/fixture"
	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/ingest/otlpconv"
	"github.com/genscope/genscope/internal/tenancy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// readFixture is an Application Insights fixture exactly as captured:
// the goldens hold its own times, and nothing here compares them with the
// clock.
func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	return fixture.Captured(tb, "appinsights/"+name)
}

func convertBody(tb testing.TB, body []byte) converted {
	tb.Helper()
	items, err := splitItems(body)
	if err != nil {
		tb.Fatalf("split: %v", err)
	}
	return convert(items, nil)
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

type golden struct {
	Response response       `json:"response"`
	Ignored  int            `json:"ignored"`
	Spans    []goldenSpan   `json:"spans"`
	Messages []goldenRecord `json:"messages"`
}

func toGolden(c converted) golden {
	g := golden{Response: c.resp, Ignored: c.ignored, Spans: []goldenSpan{}, Messages: []goldenRecord{}}
	for _, s := range c.batch.Spans {
		parent := ""
		if !s.ParentSpanID.IsZero() {
			parent = s.ParentSpanID.String()
		}
		for i := range s.Events {
			if st, ok := s.Events[i].Attributes["exception.stacktrace"].(string); ok {
				s.Events[i].Attributes["exception.stacktrace"] = digest(st)
			}
		}
		g.Spans = append(g.Spans, goldenSpan{s.TraceID.String(), s.SpanID.String(), parent, s})
	}
	for _, r := range c.batch.Messages {
		m := r.Message
		parts := make([]genai.Part, len(m.Parts))
		for i, p := range m.Parts {
			p.Content = digest(p.Content)
			parts[i] = p
		}
		m.Parts = parts
		g.Messages = append(g.Messages, goldenRecord{r.TraceID.String(), r.SpanID.String(), r.TimeUnixNano, r.Seq, r.Kind, m, r.Truncated})
	}
	return g
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

func TestFixturesGolden(t *testing.T) {
	for _, name := range []string{"lab-azure-exporter.traces.json", "lab-azure-exporter.logs.json", "lab-azure-exporter.metrics.json"} {
		t.Run(name, func(t *testing.T) {
			c := convertBody(t, readFixture(t, name))
			if len(c.resp.Errors) != 0 || c.resp.ItemsAccepted != c.resp.ItemsReceived {
				t.Errorf("response %+v: want every item accepted", c.resp)
			}
			checkGolden(t, strings.TrimSuffix(name, ".json"), toGolden(c))
		})
	}
}

// TestFixturesMatchOTLP checks that the Application Insights capture gives
// the same calls as the OTLP capture of the same lab traffic. The two
// captures are different runs (their ids differ), so calls correspond by
// the lab.prompt attribute of their parent span.
func TestFixturesMatchOTLP(t *testing.T) {
	traces := convertBody(t, readFixture(t, "lab-azure-exporter.traces.json"))
	logs := convertBody(t, readFixture(t, "lab-azure-exporter.logs.json"))

	type call struct {
		span   genai.Span
		parent genai.Span
	}
	byPrompt := func(spans []genai.Span) map[string]call {
		ids := map[genai.SpanID]genai.Span{}
		for _, s := range spans {
			ids[s.SpanID] = s
		}
		out := map[string]call{}
		for _, s := range spans {
			if !s.IsGenAI() {
				continue
			}
			p, ok := ids[s.ParentSpanID]
			if !ok || p.TraceID != s.TraceID {
				t.Errorf("call %s: no parent %s in its trace", s.SpanID, s.ParentSpanID)
				continue
			}
			prompt, _ := p.Attributes["lab.prompt"].(string)
			out[prompt] = call{s, p}
		}
		return out
	}
	ai := byPrompt(traces.batch.Spans)

	var (
		n, errs  int
		in, outT int64
	)
	for _, c := range ai {
		n++
		in += c.span.Usage.InputTokens
		outT += c.span.Usage.OutputTokens
		if c.span.Status == genai.StatusError {
			errs++
		}
	}
	if n != 5 || in != 199 || outT != 299 || errs != 1 {
		t.Errorf("got %d calls, %d input and %d output tokens, %d errors; want 5, 199, 299, 1", n, in, outT, errs)
	}

	// Content: system, input and output for every non-streaming call that
	// answered; the error call's input was cut by the exporter.
	type kinds struct{ sys, in, out, truncated int }
	content := map[genai.SpanID]*kinds{}
	for _, r := range logs.batch.Messages {
		k := content[r.SpanID]
		if k == nil {
			k = &kinds{}
			content[r.SpanID] = k
		}
		switch r.Kind {
		case genai.KindSystem:
			k.sys++
		case genai.KindInput:
			k.in++
		case genai.KindOutput:
			k.out++
		}
		if r.Truncated {
			k.truncated++
		}
	}
	for prompt, c := range ai {
		k := content[c.span.SpanID]
		if k == nil {
			t.Errorf("%s: no content", prompt)
			continue
		}
		want := kinds{1, 1, 1, 0}
		switch prompt {
		case "stream":
			want.out = 0
		case "error":
			want.out, want.truncated = 0, 1
		}
		if *k != want {
			t.Errorf("%s: content %+v, want %+v", prompt, *k, want)
		}
	}

	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON(readOTLP(t, "lab-otel-openai.traces.json")); err != nil {
		t.Fatal(err)
	}
	spans, rejected, _ := otlpconv.Traces(req.Traces(), tenancy.DefaultProject)
	if rejected != 0 {
		t.Fatalf("otlp fixture: %d spans rejected", rejected)
	}
	otlp := byPrompt(spans)
	if len(otlp) != len(ai) {
		t.Fatalf("otlp gives %d calls, appinsights %d", len(otlp), len(ai))
	}
	for prompt, a := range ai {
		o, ok := otlp[prompt]
		if !ok {
			t.Errorf("%s: no such call in the otlp fixture", prompt)
			continue
		}
		if a.span.Usage != o.span.Usage || a.span.Model() != o.span.Model() || a.span.ResponseModel != o.span.ResponseModel ||
			a.span.Status != o.span.Status || a.span.Operation != o.span.Operation || a.span.Provider != o.span.Provider ||
			!reflect.DeepEqual(a.span.FinishReasons, o.span.FinishReasons) || a.span.Kind != o.span.Kind {
			t.Errorf("%s: appinsights %+v\notlp %+v", prompt, a.span, o.span)
		}
		if a.span.ParentSpanID != a.parent.SpanID || a.parent.ParentSpanID != (genai.SpanID{}) || o.parent.ParentSpanID != (genai.SpanID{}) {
			t.Errorf("%s: parents differ", prompt)
		}
		if a.parent.Status != o.parent.Status || a.parent.SessionID == "" {
			t.Errorf("%s: parent %+v, otlp %+v", prompt, a.parent, o.parent)
		}
	}
}

func readOTLP(tb testing.TB, name string) []byte {
	tb.Helper()
	return fixture.Captured(tb, "otlp/"+name)
}

func TestDuration(t *testing.T) {
	f := func(in string, want time.Duration, ok bool) {
		t.Helper()
		got, gotOK := parseDuration(in)
		if got != want || gotOK != ok {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, %v", in, got, gotOK, want, ok)
		}
	}
	f("00:00:01.5", 1500*time.Millisecond, true)
	f("1.02:03:04.5000000", 26*time.Hour+3*time.Minute+4*time.Second+500*time.Millisecond, true)
	f("00:00:00.0516015", 51601500*time.Nanosecond, true)
	f("00:00:00.034087", 34087*time.Microsecond, true)
	f("00:01:02", time.Minute+2*time.Second, true)
	f("", 0, true)
	f("1:2", 0, false)
	f("00:60:00", 0, false)
	f("-00:00:01", 0, false)
	f("00:00:01.", 0, false)
	f("00:00:01.1234567890", 0, false)
	f("x.00:00:01", 0, false)
}

func TestAttrValue(t *testing.T) {
	f := func(in, want any) {
		t.Helper()
		if got := attrValue(in); !reflect.DeepEqual(got, want) {
			t.Errorf("attrValue(%#v) = %#v, want %#v", in, got, want)
		}
	}
	f("46", int64(46))
	f("-3", int64(-3))
	f("0.7", 0.7)
	f("007", "007")
	f("1e5", "1e5")
	f("NaN", "NaN")
	f("true", true)
	f(`["stop"]`, []any{"stop"})
	f(`["stop", 2]`, []any{"stop", int64(2)})
	f(`('stop',)`, []any{"stop"})
	f(`('stop', "length")`, []any{"stop", "length"})
	f(`(1, 2.5, True)`, []any{int64(1), 2.5, true})
	f(`['a']`, []any{"a"})
	f(`[{"role":"user"}]`, `[{"role":"user"}]`)
	f(`(unclosed`, `(unclosed`)
	f(`('a' 'b')`, `('a' 'b')`)
	f("f729e4a9-f00b-4a39-a873-ec4893ce3695", "f729e4a9-f00b-4a39-a873-ec4893ce3695")
	f(float64(3), int64(3))
}

func TestSplitItems(t *testing.T) {
	f := func(body string, n int, ok bool) {
		t.Helper()
		items, err := splitItems([]byte(body))
		if len(items) != n || (err == nil) != ok {
			t.Errorf("splitItems(%q) = %d items, %v; want %d, ok %v", body, len(items), err, n, ok)
		}
	}
	f(`[{"a":1},{"b":2}]`, 2, true)
	f("{\"a\":1}\n{\"b\":2}\n", 2, true)
	f("{\n \"a\": 1\n}", 1, true)
	f("{\"a\":1}\n{bad\n", 2, true)
	f(`{"a":`, 0, false)
	f(`[{"a":1}`, 0, false)
	f("", 0, false)
	f("hello", 0, false)
	f("\xef\xbb\xbf[]", 0, true)
}

func TestTruncated(t *testing.T) {
	cut := `{"content":"` + strings.Repeat("é", 8192-len(`{"content":"`))
	if !truncated(cut) {
		t.Error("content cut at 8192 characters not seen as truncated")
	}
	if truncated(cut[:len(cut)-2]) {
		t.Error("invalid JSON of another length seen as truncated")
	}
	if truncated(`{"content":"hi"}`) || truncated("plain text") {
		t.Error("whole content seen as truncated")
	}
}
