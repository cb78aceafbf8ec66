package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// doJSON sends a request with a JSON body and decodes the answer into
// out (when not nil), returning the status.
func doJSON(t *testing.T, a *App, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+a.HTTPAddr()+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type scoreRow struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Value   *float64 `json:"value"`
	Label   string   `json:"label"`
	Comment string   `json:"comment"`
	Source  string   `json:"source"`
	TraceID string   `json:"trace_id"`
	SpanID  string   `json:"span_id"`
}

// TestScoresEndToEnd: scores come in as an OTLP span event, an OTLP log
// record naming the response id, app feedback by response id and the
// API; they are listed by trace, summarized per name, shown on the spans
// table's rows, changed and deleted.
func TestScoresEndToEnd(t *testing.T) {
	a := startApp(t, t.TempDir())
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	td := readTraces(t, "lab-otel-openai.traces.json", base)
	sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	traceID, spanID := sp.TraceID().String(), sp.SpanID().String()
	respID, _ := sp.Attributes().Get("gen_ai.response.id")
	ev := sp.Events().AppendEmpty()
	ev.SetName("gen_ai.evaluation.result")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Minute)))
	ev.Attributes().PutStr("gen_ai.evaluation.name", "relevance")
	ev.Attributes().PutDouble("gen_ai.evaluation.score.value", 0.75)
	ev.Attributes().PutStr("gen_ai.evaluation.score.label", "relevant")
	ev.Attributes().PutStr("gen_ai.evaluation.explanation", "on topic")
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	postHTTP(t, a, "/v1/traces", body, "application/json")

	// Feedback by response id, once the call is stored.
	var fb struct {
		ID      string `json:"id"`
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
	}
	fbBody := `{"response_id":"` + respID.Str() + `","thumbs":"down","comment":"wrong answer","user":"end-user-7"}`
	deadline := time.Now().Add(10 * time.Second)
	for {
		code := doJSON(t, a, "POST", "/v1/feedback", fbBody, &fb)
		if code == http.StatusCreated {
			break
		}
		if code != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("feedback: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if fb.TraceID != traceID || fb.SpanID != spanID {
		t.Errorf("feedback landed on %s/%s, want %s/%s", fb.TraceID, fb.SpanID, traceID, spanID)
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"response_id":"no-such-response","thumbs":"up"}`, http.StatusNotFound},
		{`{"response_id":"x","thumbs":"sideways"}`, http.StatusBadRequest},
		{`{"thumbs":"up"}`, http.StatusBadRequest},
		{`{"response_id":"x"}`, http.StatusBadRequest},
		{`{"response_id":"x","thumbs":"up","extra":1}`, http.StatusBadRequest},
		{`{"trace_id":"` + traceID + `","span_id":"00000000000000ff","thumbs":"up"}`, http.StatusNotFound},
	} {
		if code := doJSON(t, a, "POST", "/v1/feedback", c.body, nil); code != c.want {
			t.Errorf("feedback %s: %d, want %d", c.body, code, c.want)
		}
	}

	// An evaluation log record naming only the response.
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("gen_ai.evaluation.result")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(2 * time.Minute)))
	lr.Attributes().PutStr("gen_ai.evaluation.name", "groundedness")
	lr.Attributes().PutInt("gen_ai.evaluation.score.value", 4)
	lr.Attributes().PutStr("gen_ai.response.id", respID.Str())
	body, _ = plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	postHTTP(t, a, "/v1/logs", body, "application/json")

	// A human's score through the API, on the trace.
	var created struct{ ID string }
	if code := doJSON(t, a, "POST", "/api/v1/scores", `{"trace_id":"`+traceID+`","name":"helpfulness","value":0.5,"comment":"ok","source":"human"}`, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	for _, c := range []struct{ body string }{
		{`{"trace_id":"` + traceID + `","name":"x"}`},                           // no value or label
		{`{"trace_id":"zz","name":"x","value":1}`},                              // bad id
		{`{"name":"x","value":1}`},                                              // no target
		{`{"trace_id":"` + traceID + `","name":"x","value":1,"source":"otel"}`}, // reserved source
		{`{"trace_id":"` + traceID + `","name":"x","value":"high"}`},            // not a number
	} {
		if code := doJSON(t, a, "POST", "/api/v1/scores", c.body, nil); code != http.StatusBadRequest {
			t.Errorf("create %s: %d, want 400", c.body, code)
		}
	}
	if code := doJSON(t, a, "POST", "/api/v1/scores", `{"trace_id":"0123456789abcdef0123456789abcdef","name":"x","value":1}`, nil); code != http.StatusNotFound {
		t.Errorf("score of an unknown trace: %d, want 404", code)
	}

	var list struct{ Scores []scoreRow }
	want := map[string]string{"relevance": "otel", "user-feedback": "feedback", "groundedness": "otel", "helpfulness": "human"}
	deadline = time.Now().Add(15 * time.Second)
	for {
		getJSON(t, a, "/api/v1/scores?trace_id="+traceID, &list)
		if len(list.Scores) == len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := map[string]scoreRow{}
	for _, s := range list.Scores {
		got[s.Name] = s
		if want[s.Name] != s.Source {
			t.Errorf("score %s from %q, want %q", s.Name, s.Source, want[s.Name])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("scores of the trace: %+v, want %v", list.Scores, want)
	}
	if r := got["relevance"]; r.Value == nil || *r.Value != 0.75 || r.Label != "relevant" || r.Comment != "on topic" || r.SpanID != spanID {
		t.Errorf("span event score: %+v", r)
	}
	if r := got["groundedness"]; r.Value == nil || *r.Value != 4 || r.SpanID != spanID {
		t.Errorf("log record score: %+v", r)
	}
	if r := got["user-feedback"]; r.Value == nil || *r.Value != 0 || r.Label != "down" || r.Comment != "wrong answer" {
		t.Errorf("feedback score: %+v", r)
	}

	// The spans table shows the span's scores.
	var page struct {
		Spans []struct {
			SpanID string         `json:"span_id"`
			Scores map[string]any `json:"scores"`
		}
	}
	getJSON(t, a, "/api/v1/spans?from="+base.Add(-time.Hour).Format(time.RFC3339), &page)
	found := false
	for _, s := range page.Spans {
		if s.SpanID == spanID {
			found = true
			if s.Scores["relevance"] != 0.75 || s.Scores["groundedness"] != 4.0 || s.Scores["user-feedback"] != 0.0 {
				t.Errorf("span row scores: %v", s.Scores)
			}
		}
	}
	if !found {
		t.Fatal("the scored span is not in the spans table")
	}

	// Summary per name.
	var sum struct {
		Scores []struct {
			Name   string
			Count  int64
			Avg    float64
			Labels map[string]int64
		}
	}
	getJSON(t, a, "/api/v1/scores/summary?from="+base.Add(-time.Hour).Format(time.RFC3339), &sum)
	if len(sum.Scores) != 4 {
		t.Errorf("summary: %+v", sum.Scores)
	}

	// Change and delete.
	var changed scoreRow
	if code := doJSON(t, a, "PATCH", "/api/v1/scores/"+created.ID, `{"value":null,"label":"good"}`, &changed); code != http.StatusOK ||
		changed.Value != nil || changed.Label != "good" {
		t.Errorf("patch: %d %+v", code, changed)
	}
	if code := doJSON(t, a, "PATCH", "/api/v1/scores/"+created.ID, `{"trace_id":"x"}`, nil); code != http.StatusBadRequest {
		t.Errorf("patch of the target: %d, want 400", code)
	}
	if code := doJSON(t, a, "DELETE", "/api/v1/scores/"+created.ID, "", nil); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if code := doJSON(t, a, "GET", "/api/v1/scores/"+created.ID, "", nil); code != http.StatusNotFound {
		t.Errorf("get after delete: %d, want 404", code)
	}
}
