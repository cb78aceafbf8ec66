package duckdb

import (
	"context"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/jsondepth"
	"github.com/genscope/genscope/internal/store"
)

// TestTraceDeepStoredRow: a row stored before the depth bound existed may
// hold an attribute, event attribute or resource attribute nested 30,000
// levels deep (the decoder refuses it: the trace answered 500). Read
// back, the trace answers with the too-deep part replaced by
// genai.TooDeep — the writers' marker — and everything else intact.
func TestTraceDeepStoredRow(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	sp := retentionSpan("p", 1, time.Now().Add(-time.Minute))
	sp.Attributes = map[string]any{"app.kept": "yes"}
	sp.ResourceAttributes = map[string]any{"service.name": "svc"}
	if err := db.Write(ctx, &store.Batch{Spans: []genai.Span{sp}}); err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat(`{"k":`, 30000) + `1` + strings.Repeat(`}`, 30000)
	var detail map[string]any
	var raw string
	if err := db.sqlDB().QueryRowContext(ctx, `SELECT detail FROM spans`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &detail); err != nil {
		t.Fatal(err)
	}
	// The row as a writer without the bound stored it.
	old := strings.TrimSuffix(raw, "}") + `,"attributes":{"app.kept":"yes","app.deep":` + deep +
		`},"events":[{"name":"e","attributes":{"payload":[` + deep + `]}}]}`
	old = strings.Replace(old, `"attributes":{"app.kept":"yes"},`, ``, 1)
	if _, err := db.sqlDB().ExecContext(ctx, `UPDATE spans SET detail = ?`, old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sqlDB().ExecContext(ctx, `UPDATE resources SET attrs = ?`,
		`{"service.name":"svc","host.deep":`+deep+`}`); err != nil {
		t.Fatal(err)
	}

	tr, err := db.Trace(ctx, "p", sp.TraceID)
	if err != nil {
		t.Fatalf("trace with a deep stored row: %v", err)
	}
	if len(tr.Roots) != 1 {
		t.Fatalf("%d roots", len(tr.Roots))
	}
	got := tr.Roots[0].Span
	if got.Attributes["app.kept"] != "yes" || got.RequestModel != "gpt-4o" || len(got.InputMessages) != 1 {
		t.Errorf("the rest of the span lost: %+v", got)
	}
	if !strings.Contains(mustJSON(t, got.Attributes["app.deep"]), genai.TooDeep) {
		t.Errorf("app.deep = %.200s, want the marker %q in place of the deep part", mustJSON(t, got.Attributes["app.deep"]), genai.TooDeep)
	}
	if len(got.Events) != 1 || !strings.Contains(mustJSON(t, got.Events[0].Attributes), genai.TooDeep) {
		t.Errorf("events = %.200s, want the marker", mustJSON(t, got.Events))
	}
	if !strings.Contains(mustJSON(t, got.ResourceAttributes["host.deep"]), genai.TooDeep) {
		t.Errorf("resource attributes = %.200s, want the marker", mustJSON(t, got.ResourceAttributes))
	}
	// The answer encodes (the API writes it) within the bound.
	if err := jsondepth.Check(mustJSON(t, tr), genai.MaxValueDepth+16); err != nil {
		t.Errorf("answer: %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
