package duckdb

// Benchmarks over a generated data set. The size is set by
// GENSCOPE_BENCH_SPANS (default 200000); the database is built once and
// kept in GENSCOPE_BENCH_DIR (default the system temp dir) for later runs.
// The 10-million-span target (30 days, 50 models, 1,000 users):
//
//	GENSCOPE_BENCH_SPANS=10000000 go test -run '^$' -bench . -benchtime 20x -timeout 2h ./internal/store/duckdb/
//
// Building 10M spans takes a few minutes and about 10 GB of disk.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

const benchProject = "bench"

var benchEnd = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

const benchDays = 30

func benchSpans() int {
	if v, err := strconv.Atoi(os.Getenv("GENSCOPE_BENCH_SPANS")); err == nil && v > 0 {
		return v
	}
	return 200_000
}

var filler = strings.Repeat("lorem ipsum dolor sit amet ", 12)

// genBenchTrace appends trace number i (a generate_completion root with a
// session and user, and one or two chat calls with ~1KB of content)
// starting at start.
func genBenchTrace(spans []genai.Span, r *rand.Rand, project string, i uint64, start int64) []genai.Span {
	var tid genai.TraceID
	for k := range 8 {
		tid[k] = byte(r.Uint32())
		tid[8+k] = byte(i >> (8 * k))
	}
	root := genai.Span{
		Project: project, TraceID: tid, Name: "generate_completion", Kind: "server",
		Service: fmt.Sprintf("svc-%d", i%5), Source: genai.SourceOTLP, StartUnixNano: start,
		DurationNano: int64(1+r.IntN(8000)) * 1e6, Status: genai.StatusUnset,
		SessionID: fmt.Sprintf("sess-%d", r.IntN(50000)), UserID: fmt.Sprintf("user-%d", r.IntN(1000)),
	}
	root.SpanID[0], root.SpanID[7] = byte(r.Uint32()), 1
	spans = append(spans, root)
	for j := range 1 + int(i%2) {
		m := r.IntN(50)
		sp := genai.Span{
			Project: project, TraceID: tid, ParentSpanID: root.SpanID, Name: "chat", Kind: "client",
			Service: root.Service, Source: genai.SourceOTLP, StartUnixNano: start + int64(j+1)*1e6,
			DurationNano: int64(100+r.IntN(6000)) * 1e6, Status: genai.StatusOK, Operation: "chat",
			Provider: fmt.Sprintf("provider-%d", m%5), RequestModel: fmt.Sprintf("model-%d", m),
			ResponseModel:      fmt.Sprintf("model-%d-2025", m),
			Usage:              genai.Usage{InputTokens: int64(r.IntN(4000)), OutputTokens: int64(r.IntN(800))},
			SystemInstructions: []genai.Part{{Type: "text", Content: "You are a helpful assistant. " + filler[:100]}},
			InputMessages:      []genai.Message{{Role: "user", Parts: []genai.Part{{Type: "text", Content: fmt.Sprintf("question %d %s", i, filler)}}}},
			OutputMessages:     []genai.Message{{Role: "assistant", Parts: []genai.Part{{Type: "text", Content: fmt.Sprintf("answer %d %s", i, filler)}}}},
		}
		sp.SpanID = root.SpanID
		sp.SpanID[7] = byte(2 + j)
		if m != 49 {
			sp.CostUSD, sp.CostKnown = float64(sp.Usage.Total())*1e-6, true
		}
		if r.IntN(50) == 0 {
			sp.Status, sp.ErrorType = genai.StatusError, "500"
		}
		if r.IntN(3) == 0 {
			sp.TTFTNano = int64(50+r.IntN(900)) * 1e6
		}
		spans = append(spans, sp)
	}
	return spans
}

// benchDB opens (building it on first use) a database of n spans spread
// over benchDays days ending at benchEnd, in time order.
func benchDB(b *testing.B, n int) *DB {
	b.Helper()
	dir := os.Getenv("GENSCOPE_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("genscope-bench-%d.duckdb", n))
	ctx := context.Background()
	if _, err := os.Stat(path + ".done"); err == nil {
		db, err := Open(ctx, path, Options{MemoryLimit: "1GB"})
		if err != nil {
			b.Fatal(err)
		}
		return db
	}
	_ = os.Remove(path)
	_ = os.Remove(path + ".wal")
	db, err := Open(ctx, path, Options{MemoryLimit: "1GB"})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	startNs := benchEnd.Add(-benchDays * 24 * time.Hour).UnixNano()
	step := (benchDays * 24 * time.Hour).Nanoseconds() / int64(n/2+1)
	began := time.Now()
	var batch []genai.Span
	written := 0
	for i := uint64(0); written < n; i++ {
		batch = genBenchTrace(batch, r, benchProject, i, startNs+int64(i)*step*3/2)
		if len(batch) >= 10000 || written+len(batch) >= n {
			if err := db.Write(ctx, &store.Batch{Spans: batch}); err != nil {
				b.Fatal(err)
			}
			written += len(batch)
			batch = batch[:0]
		}
	}
	if _, err := db.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d spans in %v at %s", written, time.Since(began), path)
	if err := os.WriteFile(path+".done", nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return db
}

func BenchmarkWrite(b *testing.B) {
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "w.duckdb"), Options{MemoryLimit: "512MB"})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewPCG(3, 4))
	const size = 512
	var batches [][]genai.Span
	start := time.Now().UnixNano()
	for k := range 64 {
		var spans []genai.Span
		for i := uint64(0); len(spans) < size; i++ {
			spans = genBenchTrace(spans, r, benchProject, uint64(k)<<32|i, start+int64(k*size)+int64(i)*1000)
		}
		batches = append(batches, spans[:size])
	}
	var bytes int
	for _, sp := range batches[0] {
		bytes += len(sp.Name) + len(store.PartsText(sp.SystemInstructions)) + len(store.MessagesText(sp.InputMessages)) +
			len(store.MessagesText(sp.OutputMessages)) + 200
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	n := 0
	ctx := context.Background()
	for b.Loop() {
		// New ids and times for each batch, so nothing is a duplicate.
		spans := batches[n%len(batches)]
		for i := range spans {
			spans[i].TraceID[0] = byte(n >> 8)
			spans[i].TraceID[1] = byte(n)
			spans[i].TraceID[2] = byte(n >> 16)
			spans[i].StartUnixNano += 1e6
		}
		if err := db.Write(ctx, &store.Batch{Spans: spans}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*size)/b.Elapsed().Seconds(), "spans/s")
}

func BenchmarkQuery(b *testing.B) {
	n := benchSpans()
	db := benchDB(b, n)
	defer db.Close()
	ctx := context.Background()
	all := store.Filter{Project: benchProject, From: benchEnd.Add(-benchDays * 24 * time.Hour), To: benchEnd}
	day := store.Filter{Project: benchProject, From: benchEnd.Add(-24 * time.Hour), To: benchEnd}
	// A trace id to look up: the newest root's.
	p, err := db.Spans(ctx, store.SpansQuery{Filter: all, Limit: 1})
	if err != nil || len(p.Spans) == 0 {
		b.Fatalf("no spans: %v", err)
	}
	tid, err := genai.ParseTraceID(p.Spans[0].TraceID)
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, f func() error) {
		b.Run(fmt.Sprintf("spans=%d/%s", n, name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("q=overview/range=30d", func() error { _, err := db.Overview(ctx, all); return err })
	run("q=overview/range=1d", func() error { _, err := db.Overview(ctx, day); return err })
	run("q=breakdown/by=model", func() error {
		_, err := db.Breakdown(ctx, store.BreakdownQuery{Filter: all, By: store.DimModel})
		return err
	})
	run("q=breakdown/by=user", func() error {
		_, err := db.Breakdown(ctx, store.BreakdownQuery{Filter: all, By: store.DimUser, Limit: 20})
		return err
	})
	run("q=timeseries/metric=calls/by=model", func() error {
		_, err := db.Timeseries(ctx, store.TimeseriesQuery{Filter: all, Metric: store.MetricCalls, Interval: time.Hour, GroupBy: store.DimModel})
		return err
	})
	run("q=timeseries/metric=duration_p95", func() error {
		_, err := db.Timeseries(ctx, store.TimeseriesQuery{Filter: all, Metric: store.MetricDurationMS, Agg: store.AggP95, Interval: time.Hour})
		return err
	})
	run("q=overview/filter=user", func() error {
		f := all
		f.User = "user-7"
		_, err := db.Overview(ctx, f)
		return err
	})
	run("q=spans/page=first", func() error { _, err := db.Spans(ctx, store.SpansQuery{Filter: all}); return err })
	run("q=spans/page=model", func() error {
		f := all
		f.Model = "model-7"
		_, err := db.Spans(ctx, store.SpansQuery{Filter: f})
		return err
	})
	run("q=trace", func() error { _, err := db.Trace(ctx, benchProject, tid); return err })
}
