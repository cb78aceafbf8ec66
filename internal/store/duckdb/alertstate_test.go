package duckdb

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestStateDocs checks the document and event tables alert state lives
// in: upsert, delete, order, durability across a reopen, and concurrent
// writers.
func TestStateDocs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "genscope.duckdb")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 5 {
				if err := db.PutDoc(ctx, "k", fmt.Sprintf("id-%d", i), []byte(fmt.Sprintf(`{"v":%d}`, j))); err != nil {
					t.Error(err)
				}
				if err := db.AppendEvent(ctx, "ev", fmt.Sprintf("r%d", i%2), time.Unix(int64(i*10+j), 0), []byte(fmt.Sprintf(`%d`, i*10+j))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := db.DeleteDoc(ctx, "k", "id-3"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got []string
	if err := db.ListDocs(ctx, "k", func(id string, doc []byte) error { got = append(got, id+"="+string(doc)); return nil }); err != nil {
		t.Fatal(err)
	}
	want := `[id-0={"v":4} id-1={"v":4} id-2={"v":4} id-4={"v":4} id-5={"v":4} id-6={"v":4} id-7={"v":4}]`
	if fmt.Sprint(got) != want {
		t.Errorf("docs %v, want %s", got, want)
	}
	got = nil
	if err := db.ListEvents(ctx, "ev", "r1", 3, func(doc []byte) error { got = append(got, string(doc)); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[74 73 72]" {
		t.Errorf("events %v", got)
	}
}
