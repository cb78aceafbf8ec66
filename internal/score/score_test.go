package score_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/score"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/duckdb"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// open returns a real DuckDB store holding one call per (project,
// response id) given, started a minute ago.
func open(t *testing.T, calls map[string][]string) (*duckdb.DB, map[string]genai.Span) {
	t.Helper()
	ctx := context.Background()
	db, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "genscope.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	start := time.Now().Add(-time.Minute)
	spans := map[string]genai.Span{}
	var b store.Batch
	n := 0
	for project, ids := range calls {
		for _, resp := range ids {
			n++
			var tid genai.TraceID
			copy(tid[:], fmt.Sprintf("score-trace-%04d", n))
			var sid genai.SpanID
			copy(sid[:], fmt.Sprintf("sspan%03d", n))
			s := genai.Span{Project: project, TraceID: tid, SpanID: sid, Name: "chat gpt-4o", Service: "svc", StartUnixNano: start.UnixNano(),
				DurationNano: int64(time.Second), Status: genai.StatusOK, Operation: "chat", Provider: "openai", RequestModel: "gpt-4o", ResponseID: resp}
			spans[resp] = s
			b.Spans = append(b.Spans, s)
		}
	}
	if err := db.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	return db, spans
}

func scoresOf(t *testing.T, st store.ScoreStore, project string) []store.Score {
	t.Helper()
	got, err := st.Scores(context.Background(), store.ScoreQuery{Project: project})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestWriter: evaluation events become scores on their call, by span or by
// response id; a retried event replaces rather than adds; a project that
// keeps metadata only loses the explanation; an unknown response id is
// retried and then counted unmatched; a full queue drops and counts.
func TestWriter(t *testing.T) {
	db, spans := open(t, map[string][]string{"default": {"chatcmpl-1", "chatcmpl-2"}, "private": {"chatcmpl-3"}})
	reg := prometheus.NewRegistry()
	w, err := score.NewWriter(db, score.Options{RetryAfter: 50 * time.Millisecond, MetadataOnly: func(p string) bool { return p == "private" }}, quiet, reg)
	if err != nil {
		t.Fatal(err)
	}
	w.Start()
	defer w.Stop()
	v := 0.25
	byID := genai.Evaluation{Project: "default", ResponseID: "chatcmpl-2", Name: "relevance", Value: &v, Explanation: "off topic", TimeUnixNano: time.Now().UnixNano()}
	bySpan := genai.Evaluation{Project: "default", TraceID: spans["chatcmpl-1"].TraceID, SpanID: spans["chatcmpl-1"].SpanID, Name: "groundedness", Label: "pass", TimeUnixNano: time.Now().UnixNano(),
		SpanStartUnixNano: spans["chatcmpl-1"].StartUnixNano} // a span event: it knows its span's start
	private := genai.Evaluation{Project: "private", ResponseID: "chatcmpl-3", Name: "relevance", Label: "fail", Explanation: "the user's secret question", TimeUnixNano: time.Now().UnixNano()}
	unknown := genai.Evaluation{Project: "default", ResponseID: "chatcmpl-missing", Name: "relevance", Label: "fail"}
	w.Add([]genai.Evaluation{byID, bySpan, byID, private, unknown}) // byID twice: an OTLP retry
	stored := func() float64 { return counter(t, reg, "stored") }
	unmatched := func() float64 { return counter(t, reg, "unmatched") }
	for deadline := time.Now().Add(10 * time.Second); stored() < 4 || unmatched() < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stored %v, unmatched %v", stored(), unmatched())
		}
	}
	got := scoresOf(t, db, "default")
	if len(got) != 2 {
		t.Fatalf("default project: %d scores, want 2 (a retried event replaces): %+v", len(got), got)
	}
	for _, sc := range got {
		want := spans["chatcmpl-1"]
		if sc.Name == "relevance" {
			want = spans["chatcmpl-2"]
			if sc.Comment != "off topic" || sc.Value == nil || *sc.Value != 0.25 {
				t.Errorf("relevance score: %+v", sc)
			}
		}
		if sc.TraceID != want.TraceID.String() || sc.SpanID != want.SpanID.String() || sc.Source != store.SourceOTel {
			t.Errorf("score %s on %s/%s from %q, want %s/%s from otel", sc.Name, sc.TraceID, sc.SpanID, sc.Source, want.TraceID, want.SpanID)
		}
		if !sc.TargetTime.Equal(time.Unix(0, want.StartUnixNano).UTC()) {
			t.Errorf("score %s kept with %v, want its call's start %v", sc.Name, sc.TargetTime, time.Unix(0, want.StartUnixNano).UTC())
		}
	}
	if p := scoresOf(t, db, "private"); len(p) != 1 || p[0].Comment != "" || p[0].Label != "fail" {
		t.Errorf("metadata-only project's score: %+v (the explanation must be dropped)", p)
	}

	// A full queue drops without blocking the caller, and counts.
	fullReg := prometheus.NewRegistry()
	full, err := score.NewWriter(db, score.Options{QueueSize: 2}, quiet, fullReg) // not started: nothing drains it
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { full.Add([]genai.Evaluation{bySpan, bySpan, bySpan, bySpan, bySpan}); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Add blocked on a full queue")
	}
	if n := counter(t, fullReg, "full"); n != 3 {
		t.Errorf("dropped %v, want 3", n)
	}
}

// counter reads genscope_scores_otel_total{result} from reg.
func counter(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "genscope_scores_otel_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestWriterScoreLimits: over-long names, labels and explanations are cut
// at a rune boundary, never stored whole or split inside a character.
func TestWriterScoreLimits(t *testing.T) {
	db, spans := open(t, map[string][]string{"default": {"chatcmpl-1"}})
	w, err := score.NewWriter(db, score.Options{}, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", store.MaxScoreComment) // 2 bytes each
	sc, err := w.Score(context.Background(), genai.Evaluation{Project: "default", TraceID: spans["chatcmpl-1"].TraceID, SpanID: spans["chatcmpl-1"].SpanID,
		Name: strings.Repeat("n", 1000), Label: strings.Repeat("é", 1000), Explanation: long})
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Name) > store.MaxScoreName || len(sc.Label) > store.MaxScoreLabel || len(sc.Comment) > store.MaxScoreComment {
		t.Errorf("limits not kept: name %d, label %d, comment %d bytes", len(sc.Name), len(sc.Label), len(sc.Comment))
	}
	if !strings.HasSuffix(sc.Label, "é") || !strings.HasSuffix(sc.Comment, "é") {
		t.Error("a value was cut inside a character")
	}
	if err := sc.Validate(); err != nil {
		t.Errorf("the cut score is invalid: %v", err)
	}
	if _, err := w.Score(context.Background(), genai.Evaluation{Project: "default", ResponseID: "nope", Name: "x", Label: "y"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown response id: %v, want ErrNotFound", err)
	}
}

// TestFeedback drives POST /v1/feedback over HTTP: thumbs by response id
// or by trace and span, every malformed request refused with a clear 4xx
// that stores nothing, the ingest key required when configured, and a
// metadata-only project's comment dropped.
func TestFeedback(t *testing.T) {
	db, spans := open(t, map[string][]string{"default": {"chatcmpl-1"}, "private": {"chatcmpl-2"}})
	fb, err := score.NewFeedback(db, score.FeedbackOptions{
		ProjectFor: func(r *http.Request) (string, error) {
			switch r.Header.Get("Authorization") {
			case "Bearer gsk_default":
				return "default", nil
			case "Bearer gsk_private":
				return "private", nil
			}
			return "", errors.New("no key")
		},
		MetadataOnly: func(p string) bool { return p == "private" },
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	fb.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(key, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/feedback", strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	call := spans["chatcmpl-1"]
	for _, c := range []struct {
		name, key, body string
		code            int
		msg             string
	}{
		{"no key", "", `{"response_id":"chatcmpl-1","thumbs":"up"}`, 401, "ingest key"},
		{"wrong key", "gsk_wrong", `{"response_id":"chatcmpl-1","thumbs":"up"}`, 401, "ingest key"},
		{"malformed", "gsk_default", `{"response_id":`, 400, "body"},
		{"unknown field", "gsk_default", `{"response_id":"chatcmpl-1","thumbs":"up","stars":5}`, 400, "stars"},
		{"bad thumbs", "gsk_default", `{"response_id":"chatcmpl-1","thumbs":"sideways"}`, 400, "thumbs"},
		{"no score", "gsk_default", `{"response_id":"chatcmpl-1"}`, 400, "required"},
		{"no target", "gsk_default", `{"thumbs":"up"}`, 400, "required"},
		{"both targets", "gsk_default", `{"response_id":"chatcmpl-1","trace_id":"` + call.TraceID.String() + `","thumbs":"up"}`, 400, "not both"},
		{"span without trace", "gsk_default", `{"response_id":"chatcmpl-1","span_id":"` + call.SpanID.String() + `","thumbs":"up"}`, 400, "trace_id"},
		{"bad trace id", "gsk_default", `{"trace_id":"xyz","thumbs":"up"}`, 400, "32 hex"},
		{"unknown response", "gsk_default", `{"response_id":"chatcmpl-404","thumbs":"up"}`, 404, "retry later"},
		{"other project's call", "gsk_private", `{"response_id":"chatcmpl-1","thumbs":"up"}`, 404, "retry later"},
		{"unknown span", "gsk_default", `{"trace_id":"` + call.TraceID.String() + `","span_id":"00000000000000ff","thumbs":"up"}`, 404, "span"},
		{"oversized", "gsk_default", `{"response_id":"chatcmpl-1","thumbs":"up","comment":"` + strings.Repeat("x", 100<<10) + `"}`, 413, "larger than"},
	} {
		code, body := post(c.key, c.body)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("%s: %d %s, want %d mentioning %q", c.name, code, body, c.code, c.msg)
		}
	}
	if got := scoresOf(t, db, "default"); len(got) != 0 {
		t.Fatalf("refused requests stored %d scores", len(got))
	}

	code, body := post("gsk_default", `{"response_id":"chatcmpl-1","thumbs":"down","comment":"wrong city","user":"alice@example.com"}`)
	if code != 201 {
		t.Fatalf("feedback: %d %s", code, body)
	}
	var created struct {
		ID      string `json:"id"`
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.TraceID != call.TraceID.String() || created.SpanID != call.SpanID.String() {
		t.Fatalf("answer %s (%v)", body, err)
	}
	code, body = post("gsk_default", `{"trace_id":"`+strings.ToUpper(call.TraceID.String())+`","name":"helpful","value":0.5}`)
	if code != 201 {
		t.Fatalf("feedback by trace: %d %s", code, body)
	}
	got := scoresOf(t, db, "default")
	if len(got) != 2 {
		t.Fatalf("%d scores stored, want 2", len(got))
	}
	for _, sc := range got {
		switch sc.Name {
		case score.FeedbackName:
			if sc.Label != "down" || sc.Value == nil || *sc.Value != 0 || sc.Comment != "wrong city" || sc.Author != "alice@example.com" || sc.Source != store.SourceFeedback || sc.SpanID != call.SpanID.String() {
				t.Errorf("thumbs down: %+v", sc)
			}
		case "helpful":
			if sc.Value == nil || *sc.Value != 0.5 || sc.SpanID != "" || sc.TraceID != call.TraceID.String() {
				t.Errorf("trace score: %+v", sc)
			}
		default:
			t.Errorf("unexpected score %+v", sc)
		}
	}
	if code, body := post("gsk_private", `{"response_id":"chatcmpl-2","thumbs":"up","comment":"my private words"}`); code != 201 {
		t.Fatalf("private feedback: %d %s", code, body)
	}
	if p := scoresOf(t, db, "private"); len(p) != 1 || p[0].Comment != "" || p[0].Label != "up" {
		t.Errorf("metadata-only project's feedback: %+v (the comment must be dropped)", p)
	}
}
