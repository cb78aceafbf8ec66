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

// TestFullDisk fills a small file system: the write that does not fit
// fails with an error, everything acknowledged before stays readable, and
// after space is freed (here: reopening on the same data) writes work.
// It needs a small file system: GENSCOPE_FULL_DISK_DIR names one (CI
// mounts a tmpfs); without it the test is skipped.
func TestFullDisk(t *testing.T) {
	dir := os.Getenv("GENSCOPE_FULL_DISK_DIR")
	if dir == "" {
		t.Skip("GENSCOPE_FULL_DISK_DIR not set")
	}
	path := filepath.Join(dir, "full.duckdb")
	os.Remove(path)
	os.Remove(path + ".wal")
	defer os.Remove(path)
	defer os.Remove(path + ".wal")
	// Ballast to free later, so there is room again.
	if err := os.WriteFile(filepath.Join(dir, "ballast"), make([]byte, 6<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Join(dir, "ballast"))
	ctx := context.Background()
	db, err := Open(ctx, path, Options{MemoryLimit: "64MB", CheckpointThreshold: "4MB"})
	if err != nil {
		t.Fatal(err)
	}
	g := benchGen(t, 9, 2_000_000, time.Now().Add(-time.Hour), time.Now())
	acked := 0
	var werr error
	for i := 0; i < 2000; i++ {
		b := g.Next(make([]genai.Span, 0, 2048))
		if werr = db.Write(ctx, &store.Batch{Spans: b}); werr != nil {
			break
		}
		acked += len(b)
	}
	if werr == nil {
		t.Fatal("the file system never filled up")
	}
	t.Logf("acknowledged %d spans, then: %v", acked, werr)
	defer db.Close()
	// Reads work while the disk is still full, and find every acknowledged
	// span (the failed batch may be there too: its commit can reach the
	// log before the checkpoint fails; a client's retry is deduplicated).
	all, err := db.countAll(ctx)
	if err != nil {
		t.Fatalf("read after a full disk: %v", err)
	}
	if all < acked {
		t.Fatalf("%d spans stored, %d acknowledged", all, acked)
	}
	// Room again: writes resume.
	if err := os.Remove(filepath.Join(dir, "ballast")); err != nil {
		t.Fatal(err)
	}
	b := g.Next(make([]genai.Span, 0, 16))
	if err := db.Write(ctx, &store.Batch{Spans: b}); err != nil {
		t.Logf("first write after room was made: %v", err)
		if err := db.Write(ctx, &store.Batch{Spans: b}); err != nil {
			t.Fatalf("writes do not resume: %v", err)
		}
	}
	if n, _ := db.countAll(ctx); n < all+len(b) {
		t.Fatalf("after resuming %d spans, want at least %d", n, all+len(b))
	}
}

func (s *DB) countAll(ctx context.Context) (int, error) {
	var n int
	err := s.sqlDB().QueryRowContext(ctx, `SELECT count(*) FROM spans`).Scan(&n)
	return n, err
}
