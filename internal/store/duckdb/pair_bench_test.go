package duckdb

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store/storetest"
)

// BenchmarkOneCallRule prints what the one-call rule (pair.go) costs on
// DuckDB: storetest.BenchOneCallRule over a store with the rule and one
// without it (noPairing).
//
//	go test -run '^$' -bench OneCallRule -benchtime 20x ./internal/store/duckdb/
func BenchmarkOneCallRule(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	with, err := Open(ctx, filepath.Join(dir, "with.duckdb"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer with.Close()
	without, err := Open(ctx, filepath.Join(dir, "without.duckdb"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer without.Close()
	without.noPairing = true
	now := time.Now()
	storetest.BenchOneCallRule(b, with, without, benchGen(b, 5, 1<<18, now.Add(-6*time.Hour), now), benchProject, now, 20)
}
