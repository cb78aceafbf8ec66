package duckdb

// Benchmarks over a data set from internal/sim/traffic (50 models, 1,000 users,
// 5% errors, sessions on root spans). The size is set by
// GENSCOPE_BENCH_SPANS (default 200000); the database is built once and
// kept in GENSCOPE_BENCH_DIR (default the system temp dir) for later runs.
// The 10-million-span target (30 days):
//
//	GENSCOPE_BENCH_SPANS=10000000 go test -run '^$' -bench Query -benchtime 20x -timeout 2h ./internal/store/duckdb/
//
// Write throughput at the recorder's batch sizes:
//
//	go test -run '^$' -bench Write -benchtime 40x -count 5 ./internal/store/duckdb/

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/sim/traffic"
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

func benchGen(b testing.TB, seed int64, n int, from, to time.Time) *traffic.Generator {
	b.Helper()
	unpriced := map[string]bool{}
	for _, m := range traffic.Models() {
		unpriced[m.Name] = m.Unpriced
	}
	g, err := traffic.New(traffic.Config{Seed: seed, Spans: n, Start: from, End: to, Project: benchProject,
		Cost: func(sp *genai.Span) (float64, bool) {
			if unpriced[sp.RequestModel] {
				return 0, false
			}
			return float64(sp.Usage.Total()) * 1e-6, true
		}})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// benchDB opens (building it on first use) a database of n synthetic spans
// over benchDays days ending at benchEnd, written in batches of 8192.
func benchDB(b *testing.B, n int) *DB {
	b.Helper()
	dir := os.Getenv("GENSCOPE_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("genscope-bench-synth-%d.duckdb", n))
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
	g := benchGen(b, 1, n, benchEnd.Add(-benchDays*24*time.Hour), benchEnd)
	began := time.Now()
	buf := make([]genai.Span, 0, 8192)
	written := 0
	for {
		buf = g.Next(buf)
		if len(buf) == 0 {
			break
		}
		if err := db.Write(ctx, &store.Batch{Spans: buf}); err != nil {
			b.Fatal(err)
		}
		written += len(buf)
	}
	if _, err := db.sqlDB().ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d spans in %v at %s", written, time.Since(began), path)
	if err := os.WriteFile(path+".done", nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkWrite measures durable batch writes of synthetic spans (about
// 1 KB of content and 20 attributes each) into a growing database.
func BenchmarkWrite(b *testing.B) {
	// 100: one OTLP exporter's request written alone; 400: four such
	// requests sharing one transaction (the recorder's group commit).
	for _, size := range []int{100, 400, 512, 2048, 8192} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			// The server's default checkpoint threshold: DuckDB's own
			// (16 MB) checkpoints every few batches and hides the rest.
			db, err := Open(context.Background(), filepath.Join(b.TempDir(), "w.duckdb"), Options{CheckpointThreshold: "256MB"})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			// A pool of spans reused with fresh trace ids and times, so
			// nothing is a duplicate.
			const pool = 32768
			now := time.Now()
			g := benchGen(b, 3, pool, now.Add(-time.Hour), now)
			var spans []genai.Span
			for buf := g.Next(make([]genai.Span, 0, 4096)); len(buf) > 0; buf = g.Next(buf) {
				spans = append(spans, buf...)
			}
			var bytes int
			for i := range spans[:size] {
				sp := &spans[i]
				bytes += len(store.PartsText(sp.SystemInstructions)) + len(store.MessagesText(sp.InputMessages)) +
					len(store.MessagesText(sp.OutputMessages)) + 300
			}
			b.SetBytes(int64(bytes))
			b.ReportAllocs()
			ctx := context.Background()
			n, off := 0, 0
			for b.Loop() {
				if off+size > len(spans) {
					off = 0
				}
				batch := spans[off : off+size]
				off += size
				for i := range batch {
					batch[i].TraceID[0] = byte(n >> 8)
					batch[i].TraceID[1] = byte(n)
					batch[i].TraceID[2] = byte(n >> 16)
					batch[i].StartUnixNano += 1e6
				}
				if err := db.Write(ctx, &store.Batch{Spans: batch}); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n*size)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

func BenchmarkQuery(b *testing.B) {
	n := benchSpans()
	db := benchDB(b, n)
	defer db.Close()
	ctx := context.Background()
	all := store.Filter{Project: benchProject, From: benchEnd.Add(-benchDays * 24 * time.Hour), To: benchEnd}
	day := store.Filter{Project: benchProject, From: benchEnd.Add(-24 * time.Hour), To: benchEnd}
	// A trace id to look up: the newest span's.
	p, err := db.Spans(ctx, store.SpansQuery{Filter: all, Limit: 1})
	if err != nil || len(p.Spans) == 0 {
		b.Fatalf("no spans: %v", err)
	}
	tid, err := genai.ParseTraceID(p.Spans[0].TraceID)
	if err != nil {
		b.Fatal(err)
	}
	// And one from the middle of the range.
	mid := all
	mid.To = benchEnd.Add(-benchDays * 12 * time.Hour)
	p, err = db.Spans(ctx, store.SpansQuery{Filter: mid, Limit: 1})
	if err != nil || len(p.Spans) == 0 {
		b.Fatalf("no spans: %v", err)
	}
	midTid, err := genai.ParseTraceID(p.Spans[0].TraceID)
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
	run("q=breakdown/by=session", func() error {
		_, err := db.Breakdown(ctx, store.BreakdownQuery{Filter: all, By: store.DimSession, Limit: 20})
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
		f.User = "user-00007"
		_, err := db.Overview(ctx, f)
		return err
	})
	run("q=spans/page=first", func() error { _, err := db.Spans(ctx, store.SpansQuery{Filter: all}); return err })
	run("q=spans/page=model", func() error {
		f := all
		f.Model = "gpt-4o"
		_, err := db.Spans(ctx, store.SpansQuery{Filter: f})
		return err
	})
	run("q=spans/page=user", func() error {
		f := all
		f.User = "user-00007"
		_, err := db.Spans(ctx, store.SpansQuery{Filter: f})
		return err
	})
	// Text search: a word in most calls (the first page comes from the
	// newest slice), one in none (bounded by store.SearchBudget), and the
	// same with no budget (the whole range read, as before slicing).
	search := func(word string, budget time.Duration) func() error {
		return func() error {
			f := all
			f.Text = word
			_, err := db.Spans(ctx, store.SpansQuery{Filter: f, Budget: budget})
			return err
		}
	}
	run("q=search/word=common", search("the", 0))
	run("q=search/word=absent", search("qzxv-never", 0))
	run("q=search/word=absent/budget=none", search("qzxv-never", time.Hour))
	// The filter bar's filters: multi-select and contains with a
	// threshold, and a span attribute (read from the detail JSON).
	run("q=overview/filter=bar", func() error {
		f := all
		f.Models = store.Match{In: []string{"gpt-4o-mini"}, Contains: "GPT-4O"}
		f.Thresholds = []store.Threshold{{Metric: store.MetricDurationMS, Op: store.ThresholdGT, Value: 1000}}
		_, err := db.Overview(ctx, f)
		return err
	})
	attr := all
	attr.Attrs = []store.AttrFilter{{Key: "server.address", Op: store.AttrContains, Value: "openai"}}
	run("q=overview/filter=attr", func() error { _, err := db.Overview(ctx, attr); return err })
	run("q=spans/page=attr", func() error { _, err := db.Spans(ctx, store.SpansQuery{Filter: attr}); return err })
	run("q=trace/at=newest", func() error { _, err := db.Trace(ctx, benchProject, tid); return err })
	run("q=trace/at=middle", func() error { _, err := db.Trace(ctx, benchProject, midTid); return err })
}
