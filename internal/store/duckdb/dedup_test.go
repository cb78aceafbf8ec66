package duckdb

import (
	"context"
	"path/filepath"
	"testing"

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
