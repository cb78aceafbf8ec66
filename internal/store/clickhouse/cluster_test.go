package clickhouse

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/storetest"
)

// clusterNodes reads GENSCOPE_CLICKHOUSE_CLUSTER, NAME@native=http,...
// (scripts/clickhouse.sh start prints it).
func clusterNodes(t *testing.T) (string, [][2]string) {
	t.Helper()
	v := os.Getenv("GENSCOPE_CLICKHOUSE_CLUSTER")
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GENSCOPE_CLICKHOUSE_CLUSTER is not set in CI: start the servers with scripts/clickhouse.sh start")
		}
		t.Skip("no ClickHouse cluster: GENSCOPE_CLICKHOUSE_CLUSTER is not set (scripts/clickhouse.sh start prints it)")
	}
	name, list, ok := strings.Cut(v, "@")
	if !ok {
		t.Fatalf("GENSCOPE_CLICKHOUSE_CLUSTER=%q: want NAME@native=http,native=http", v)
	}
	var nodes [][2]string
	for n := range strings.SplitSeq(list, ",") {
		native, http, _ := strings.Cut(n, "=")
		nodes = append(nodes, [2]string{native, http})
	}
	if len(nodes) < 2 {
		t.Fatalf("GENSCOPE_CLICKHOUSE_CLUSTER=%q: want two nodes", v)
	}
	return name, nodes
}

// TestCluster writes through two stores (two genscope nodes, each talking
// to its own server of a two-shard cluster) and checks that the spans land
// on both shards and that either node answers with the totals of all.
func TestCluster(t *testing.T) {
	name, nodes := clusterNodes(t)
	db := testDatabase(t, nodes[0][0], nodes[1][0])
	ctx := context.Background()
	var stores []*DB
	for _, n := range nodes[:2] {
		s, err := Open(ctx, Options{Addrs: []string{n[0]}, HTTPAddr: n[1], Database: db, Cluster: name, ReadTimeout: 30 * time.Second})
		if err != nil {
			t.Fatalf("open node %s: %v", n[0], err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	const perNode = 200
	total := 0
	for ni, s := range stores {
		var spans []genai.Span
		for i := range perNode {
			var tid genai.TraceID
			copy(tid[:], fmt.Sprintf("n%d-t%012d", ni, i))
			var sid genai.SpanID
			copy(sid[:], fmt.Sprintf("s%07d", i))
			spans = append(spans, genai.Span{
				Project: "p", TraceID: tid, SpanID: sid, Name: "chat", Service: "svc",
				StartUnixNano: base + int64(ni*perNode+i)*int64(time.Second), DurationNano: int64(time.Duration(i+1) * time.Millisecond),
				Status: genai.StatusOK, Operation: "chat", Provider: "openai", RequestModel: "gpt-4o",
				Usage: genai.Usage{InputTokens: 10, OutputTokens: 5}, CostUSD: 0.001, CostKnown: true,
			})
		}
		total += len(spans)
		if err := s.Write(ctx, &store.Batch{Spans: spans}); err != nil {
			t.Fatalf("write through node %d: %v", ni, err)
		}
		// A retry through the same node counts once.
		if err := s.Write(ctx, &store.Batch{Spans: spans[:10]}); err != nil {
			t.Fatalf("retry through node %d: %v", ni, err)
		}
	}
	// Both shards hold some of them (local tables, read on each server).
	sum := uint64(0)
	for _, s := range stores {
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM `"+db+"`.spans_local").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("a shard has no spans")
		}
		sum += n
	}
	if sum != uint64(total) {
		t.Errorf("shards hold %d spans, want %d", sum, total)
	}
	for i, s := range stores {
		o, err := s.Overview(ctx, store.Filter{Project: "p"})
		if err != nil {
			t.Fatalf("overview through node %d: %v", i, err)
		}
		if o.Calls != int64(total) || o.InputTokens != int64(10*total) {
			t.Errorf("overview through node %d: %d calls, %d input tokens; want %d, %d", i, o.Calls, o.InputTokens, total, 10*total)
		}
		page, err := s.Spans(ctx, store.SpansQuery{Filter: store.Filter{Project: "p"}, Limit: 5})
		if err != nil || len(page.Spans) != 5 {
			t.Fatalf("spans through node %d: %d, %v", i, len(page.Spans), err)
		}
		var tid genai.TraceID
		copy(tid[:], "n1-t000000000007")
		tr, err := s.Trace(ctx, "p", tid)
		if err != nil || len(tr.Roots) != 1 {
			t.Errorf("trace through node %d: %+v, %v", i, tr, err)
		}
	}
}

// TestConformanceCluster runs the conformance suite through the
// Distributed tables of the two-shard cluster.
func TestConformanceCluster(t *testing.T) {
	name, nodes := clusterNodes(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		db := testDatabase(t, nodes[0][0], nodes[1][0])
		s, err := Open(context.Background(), Options{Addrs: []string{nodes[0][0]}, HTTPAddr: nodes[0][1], Database: db,
			Cluster: name, ReadTimeout: 30 * time.Second})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}

// TestScoresCluster runs the score contract through the Distributed
// scores table of the two-shard cluster, then checks that scores written
// through one node spread over both shards and that the other node reads,
// replaces and deletes them.
func TestScoresCluster(t *testing.T) {
	name, nodes := clusterNodes(t)
	openNode := func(t *testing.T, db string, n [2]string) *DB {
		s, err := Open(context.Background(), Options{Addrs: []string{n[0]}, HTTPAddr: n[1], Database: db, Cluster: name, ReadTimeout: 30 * time.Second})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	}
	storetest.RunScores(t, func(t *testing.T) store.Store {
		return openNode(t, testDatabase(t, nodes[0][0], nodes[1][0]), nodes[0])
	})

	ctx := context.Background()
	db := testDatabase(t, nodes[0][0], nodes[1][0])
	a, b := openNode(t, db, nodes[0]), openNode(t, db, nodes[1])
	defer a.Close()
	defer b.Close()
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	v := 1.0
	for i := range 40 {
		sc := store.Score{ID: fmt.Sprintf("id-%d", i), Project: "p", SessionID: "s", Name: "n", Value: &v, Source: store.SourceAPI,
			Time: at, Updated: at, TargetTime: at}
		if err := a.PutScore(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range []*DB{a, b} {
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM `"+db+"`.scores_local").Scan(&n); err != nil || n == 0 || n == 40 {
			t.Errorf("shard %d holds %d of 40 scores (%v): want them spread", i, n, err)
		}
	}
	v2 := 3.0
	if err := b.PutScore(ctx, store.Score{ID: "id-7", Project: "p", SessionID: "s", Name: "n", Value: &v2, Source: store.SourceHuman,
		Time: at, Updated: at.Add(time.Second), TargetTime: at}); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteScore(ctx, "p", "id-8"); err != nil {
		t.Fatal(err)
	}
	stats, err := a.ScoreStats(ctx, store.ScoreQuery{Project: "p"})
	if err != nil || len(stats) != 1 || stats[0].Count != 39 || stats[0].Max != 3 {
		t.Errorf("stats through the other node: %+v, %v", stats, err)
	}
}
