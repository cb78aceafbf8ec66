package duckdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/storetest"
)

func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "genscope.duckdb"), Options{MemoryLimit: "256MB", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

func TestScores(t *testing.T) {
	storetest.RunScores(t, func(t *testing.T) store.Store { return openTest(t) })
}
