package duckdb

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// TestDedupBeyondRecent writes more spans than the recent set holds, then
// retries every batch, out of order, before and after reopening: retries
// of spans that fell out of the set are found in the table.
func TestDedupBeyondRecent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dedup.duckdb")
	opts := Options{recentGeneration: 4}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	var batches [][]genai.Span
	for b := range 10 {
		var spans []genai.Span
		for i := range 5 {
			sp := genai.Span{Project: "p", Name: "chat", Operation: "chat", Status: genai.StatusOK,
				StartUnixNano: int64(1e12 + b*1e9 + i*1e6)}
			sp.TraceID[0], sp.TraceID[15], sp.SpanID[7] = byte(b), 1, byte(i+1)
			spans = append(spans, sp)
		}
		batches = append(batches, spans)
	}
	writeAll := func(db *DB, reverse bool) {
		t.Helper()
		for i := range batches {
			if reverse {
				i = len(batches) - 1 - i
			}
			if err := db.Write(ctx, &store.Batch{Spans: batches[i]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(db *DB, what string) {
		t.Helper()
		o, err := db.Overview(ctx, store.Filter{Project: "p"})
		if err != nil {
			t.Fatal(err)
		}
		if o.Calls != 50 {
			t.Errorf("%s: %d calls, want 50", what, o.Calls)
		}
	}
	writeAll(db, false)
	writeAll(db, true)
	check(db, "retries")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	writeAll(db, true)
	check(db, "retries after reopening")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	writeAll(db, false)
	check(db, "retries after reopening with the default set")
}

// A double attribute may be NaN or infinite in OTLP; JSON has neither.
func TestNonFiniteAttributes(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "nan.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sp := genai.Span{Project: "p", TraceID: genai.TraceID{1}, SpanID: genai.SpanID{2}, Name: "chat", Operation: "chat",
		StartUnixNano: time.Now().UnixNano(), Status: genai.StatusOK,
		Attributes:         map[string]any{"x": math.NaN(), "nested": []any{math.Inf(1)}},
		ResourceAttributes: map[string]any{"service.name": "svc", "y": math.Inf(-1)}}
	if err := db.Write(context.Background(), &store.Batch{Spans: []genai.Span{sp}}); err != nil {
		t.Fatal(err)
	}
	tr, err := db.Trace(context.Background(), "p", sp.TraceID)
	if err != nil {
		t.Fatal(err)
	}
	got := tr.Roots[0].Span
	if got.Attributes["x"] != "NaN" || got.ResourceAttributes["y"] != "-Inf" {
		t.Fatalf("attributes %v resource %v", got.Attributes, got.ResourceAttributes)
	}
}
