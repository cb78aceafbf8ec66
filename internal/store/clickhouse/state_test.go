package clickhouse

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store/storetest"
)

var _ storetest.StateStore = (*DB)(nil)

// TestState runs the state contract on one server, with the same tests
// as DuckDB's.
func TestState(t *testing.T) {
	addr := serverAddr(t)
	var mu sync.Mutex
	dbs := map[string]string{}
	storetest.RunState(t, func(t *testing.T, name string) storetest.StateStore {
		mu.Lock()
		db, ok := dbs[t.Name()+"/"+name]
		if !ok {
			db = testDatabase(t, addr)
			dbs[t.Name()+"/"+name] = db
		}
		mu.Unlock()
		return openTest(t, addr, db)
	})
}

// TestStateCluster runs the state contract through the Distributed tables
// of the two-shard cluster.
func TestStateCluster(t *testing.T) {
	name, nodes := clusterNodes(t)
	var mu sync.Mutex
	dbs := map[string]string{}
	storetest.RunState(t, func(t *testing.T, n string) storetest.StateStore {
		mu.Lock()
		db, ok := dbs[t.Name()+"/"+n]
		if !ok {
			db = testDatabase(t, nodes[0][0], nodes[1][0])
			dbs[t.Name()+"/"+n] = db
		}
		mu.Unlock()
		s, err := Open(context.Background(), Options{Addrs: []string{nodes[0][0]}, HTTPAddr: nodes[0][1], Database: db,
			Cluster: name, ReadTimeout: 30 * time.Second})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}

// TestStateTwoNodes checks what the consistency model promises between
// nodes: a write through one node that returned is seen by the next read
// through another, on one server and through the cluster's two servers
// (each node on its own); the later version wins whichever node wrote
// it; state is spread over both shards.
func TestStateTwoNodes(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, a, b *DB) {
		for i := range 20 {
			id := fmt.Sprintf("doc-%02d", i)
			w, r := a, b
			if i%2 == 1 {
				w, r = b, a
			}
			if err := w.PutDoc(ctx, "k", id, []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
			found := false
			if err := r.ListDocs(ctx, "k", func(got string, doc []byte) error {
				found = found || got == id && string(doc) == fmt.Sprint(i)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !found {
				t.Fatalf("%s written through one node is not seen through the other", id)
			}
		}
		// Alternate writers of one document: the last write wins.
		for i := range 6 {
			w := a
			if i%2 == 1 {
				w = b
			}
			if err := w.PutDoc(ctx, "one", "x", []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.DeleteDoc(ctx, "k", "doc-03"); err != nil {
			t.Fatal(err)
		}
		if err := a.AppendEvent(ctx, "ev", "r", time.Unix(1, 0), []byte("from-a")); err != nil {
			t.Fatal(err)
		}
		if err := b.AppendEvent(ctx, "ev", "r", time.Unix(2, 0), []byte("from-b")); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*DB{a, b} {
			n, last := 0, ""
			_ = s.ListDocs(ctx, "k", func(id string, _ []byte) error {
				n++
				if id == "doc-03" {
					t.Errorf("a deleted document is listed")
				}
				return nil
			})
			_ = s.ListDocs(ctx, "one", func(_ string, doc []byte) error { last = string(doc); return nil })
			if n != 19 || last != "5" {
				t.Errorf("a node lists %d documents and x=%s; want 19 and 5", n, last)
			}
			var evs []string
			_ = s.ListEvents(ctx, "ev", "", 10, func(doc []byte) error { evs = append(evs, string(doc)); return nil })
			if fmt.Sprint(evs) != "[from-b from-a]" {
				t.Errorf("events %v", evs)
			}
		}
	}
	t.Run("server", func(t *testing.T) {
		addr := serverAddr(t)
		db := testDatabase(t, addr)
		a := openTest(t, addr, db)
		defer a.Close()
		b := openTest(t, addr, db)
		defer b.Close()
		check(t, a, b)
	})
	t.Run("cluster", func(t *testing.T) {
		name, nodes := clusterNodes(t)
		db := testDatabase(t, nodes[0][0], nodes[1][0])
		var stores []*DB
		for _, n := range nodes[:2] {
			s, err := Open(ctx, Options{Addrs: []string{n[0]}, HTTPAddr: n[1], Database: db, Cluster: name, ReadTimeout: 30 * time.Second})
			if err != nil {
				t.Fatalf("open node %s: %v", n[0], err)
			}
			defer s.Close()
			stores = append(stores, s)
		}
		check(t, stores[0], stores[1])
		for _, s := range stores {
			var n uint64
			if err := s.conn.QueryRow(ctx, "SELECT count() FROM `"+db+"`.state_docs").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Errorf("a shard holds no state")
			}
		}
	})
}
