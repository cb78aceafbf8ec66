package duckdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/genscope/genscope/internal/store/storetest"
)

// TestStateDocs runs the state contract (the document and event tables
// alert state and auth live in) on DuckDB files.
func TestStateDocs(t *testing.T) {
	dir := t.TempDir()
	storetest.RunState(t, func(t *testing.T, name string) storetest.StateStore {
		db, err := Open(context.Background(), filepath.Join(dir, name+".duckdb"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
