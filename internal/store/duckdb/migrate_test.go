package duckdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// TestMigrateOldVersion opens a database left at schema version 1 (spans
// only, with a row in it) and checks Open migrates it to the latest
// version, keeping the data.
func TestMigrateOldVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.duckdb")
	old, err := open(ctx, path, Options{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.sqlDB().ExecContext(ctx, `INSERT INTO spans VALUES ('p', 1, 2, 3, 0, 1000, 5000000, 0, 'chat gpt-4o',
		'svc', 'ok', '', TRUE, 'chat', 'openai', 'gpt-4o', 'gpt-4o', '', 10, 5, 0, 0, 0.5, 'sess', 'user', 0, '', '', '', '',
		'{"project":"p","name":"chat gpt-4o"}'),
		-- a tool call stored as a call before migration 0008
		('p', 1, 2, 4, 3, 2000, 7000000, 0, 'execute_tool lookup',
		'svc', 'error', '', TRUE, 'execute_tool', '', '', '', '', 0, 0, 0, 0, NULL, '', '', 0, '', '', '', '',
		'{"project":"p","name":"execute_tool lookup"}')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := old.sqlDB().QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = 'message_records'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("version 1 has message_records: %d, %v", n, err)
	}
	if err := old.sqlDB().Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.sqlDB().QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if version != len(ms) || len(ms) < 2 {
		t.Fatalf("schema version %d, want %d", version, len(ms))
	}
	o, err := db.Overview(ctx, store.Filter{Project: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Calls != 1 || o.InputTokens != 10 || o.CostUSD != 0.5 || o.CostUnknownCalls != 0 || o.Errors != 0 {
		t.Errorf("old data after migration: %+v", o)
	}
	st, err := db.Steps(ctx, store.StepsQuery{Filter: store.Filter{Project: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if st.ToolCalls.Count != 1 || st.ToolCalls.Errors != 1 || len(st.Tools) != 1 || st.Tools[0].Name != "lookup" {
		t.Errorf("old tool call after migration: %+v", st)
	}
	// The new table works.
	rec := genai.MessageRecord{Project: "p", TimeUnixNano: 1000, Kind: genai.KindInput, Message: genai.Message{Role: "user",
		Parts: []genai.Part{{Type: "text", Content: "hello"}}}}
	rec.TraceID[15], rec.TraceID[7], rec.SpanID[7] = 2, 1, 3
	if err := db.Write(ctx, &store.Batch{Messages: []genai.MessageRecord{rec}}); err != nil {
		t.Fatal(err)
	}
	p, err := db.Spans(ctx, store.SpansQuery{Filter: store.Filter{Project: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spans) != 1 || p.Spans[0].Input != "hello" {
		t.Errorf("spans after migration: %+v", p.Spans)
	}
	// Reopening is a no-op.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
}
