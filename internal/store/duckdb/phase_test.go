package duckdb

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

func TestPhases(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := getenv("CKPT"); v != "" {
		db.wconn.ExecContext(ctx, "SET checkpoint_threshold='"+v+"'")
	}
	now := time.Now()
	g := benchGen(t, 3, 8192*10, now.Add(-time.Hour), now)
	buf := make([]genai.Span, 0, 8192)
	for i := 0; ; i++ {
		buf = g.Next(buf)
		if len(buf) == 0 {
			break
		}
		t0 := time.Now()
		if err := db.Write(ctx, &store.Batch{Spans: buf}); err != nil {
			t.Fatal(err)
		}
		t.Logf("batch %d: %v", i, time.Since(t0))
	}
}

func getenv(k string) string { return os.Getenv(k) }
