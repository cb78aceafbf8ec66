package bench

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/genscope/genscope/internal/app"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/pricing"
	"github.com/genscope/genscope/internal/sim/traffic"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/clickhouse"
	"github.com/genscope/genscope/internal/tenancy"
)

// clickhouseMain runs `genscope bench clickhouse`: ingest into a local
// ClickHouse, then the dashboard's aggregate queries over the bench
// dataset on ClickHouse and on the embedded DuckDB store, with the ratio.
func clickhouseMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench clickhouse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	loc := fs.String("store", "clickhouse://127.0.0.1:9000/genscope_bench", "ClickHouse store: clickhouse://HOST:PORT/DATABASE[?http_addr=HOST:PORT]; its database is replaced when it does not hold the dataset")
	d := addDatasetFlags(fs)
	ingestN := fs.Int("ingest", 1_000_000, "spans of the ingest measurement, into a scratch database (0: skip)")
	runs := fs.Int("runs", 10, "timed runs of each query (after one warm-up run)")
	batch := fs.Int("batch", 20000, "spans per Write (ClickHouse makes a part per insert: larger batches ingest faster)")
	queries := fs.Bool("queries", true, "after the ingest measurement, time the aggregate queries over the dataset (false: ingest only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, _, err := config.ParseStoreURL(config.Default().Store, *loc)
	if err != nil || st.Driver != "clickhouse" {
		return fmt.Errorf("bench clickhouse: -store: want clickhouse://HOST:PORT/DATABASE (%v)", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, err := app.ClickHouseOptions(st.ClickHouse, log)
	if err != nil {
		return err
	}
	opts.ReadTimeout = 10 * time.Minute
	if *ingestN > 0 {
		iopts := opts
		iopts.Database = opts.Database + "_ingest"
		if err := benchIngestCH(ctx, iopts, *ingestN, *batch, stdout); err != nil {
			return err
		}
	}
	if !*queries || d.spans <= 0 {
		return nil
	}
	ds, err := d.ensure(ctx, stdout)
	if err != nil {
		return err
	}
	ch, err := clickhouse.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer ch.Close()
	if n, _, err := ch.Count(ctx, ds.Start.Add(-time.Hour), ds.End.Add(48*time.Hour)); err != nil {
		return err
	} else if n != int64(ds.Spans) {
		if n != 0 {
			return fmt.Errorf("bench clickhouse: database %s holds %d spans, not the dataset's %d: drop it or name another", opts.Database, n, ds.Spans)
		}
		fmt.Fprintf(stdout, "clickhouse: loading the dataset (%d spans) into %s\n", ds.Spans, opts.Database)
		rate, err := loadSynth(ctx, ch, ds, ds.Spans, *batch, stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "clickhouse: dataset loaded at %.0f spans/s (wall clock, generation overlapped)\n", rate)
	}
	db, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return compareQueries(ctx, ds, *runs, ch, db, stdout)
}

// benchIngestCH writes n synthetic spans into a fresh database and
// reports the rate. The spans are generated before the clock starts (a
// pool of up to ingestPool spans, replayed with fresh trace ids), then
// encoded by Prepare on as many goroutines as there are CPUs (the
// recorder's submitters do it in genscope) while one goroutine writes, as
// the recorder's writer does: the rate is spans over wall-clock time.
func benchIngestCH(ctx context.Context, o clickhouse.Options, n, batch int, out io.Writer) error {
	if err := clickhouse.DropDatabase(ctx, o); err != nil {
		return err
	}
	s, err := clickhouse.Open(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		_ = s.Close()
		_ = clickhouse.DropDatabase(context.WithoutCancel(ctx), o)
	}()
	end := time.Now().Truncate(time.Minute)
	g, err := newSynth(dataset{Spans: min(n, ingestPool), Seed: 2, Start: end.Add(-24 * time.Hour), End: end}, min(n, ingestPool))
	if err != nil {
		return err
	}
	pool := make([]genai.Span, 0, min(n, ingestPool))
	for c := g.Next(nil); len(c) > 0; c = g.Next(nil) {
		pool = append(pool, c...)
	}
	batches := make(chan *store.Batch, 2)
	go func() {
		defer close(batches)
		for done, round := 0, uint32(0); done < n; round++ {
			for off := 0; off < len(pool) && done < n; off += batch {
				b := &store.Batch{Spans: slices.Clone(pool[off:min(off+batch, len(pool), off+n-done)])}
				for i := range b.Spans {
					// Another trace id per round: the same spans, new keys.
					binary.BigEndian.PutUint32(b.Spans[i].TraceID[:4], binary.BigEndian.Uint32(b.Spans[i].TraceID[:4])^round)
				}
				done += len(b.Spans)
				select {
				case batches <- b:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	st, err := writePipelined(ctx, s, batches, runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	rate := float64(st.spans) / st.wall.Seconds()
	target := "ok"
	if rate < 100_000 {
		target = "MISS"
	}
	fmt.Fprintf(out, "  %d spans: Prepare (encoding) %.0f spans/s on each of %d goroutines, Write alone %.0f spans/s\n",
		st.spans, float64(st.spans)/st.prep.Seconds(), st.workers, float64(st.spans)/st.write.Seconds())
	fmt.Fprintf(out, "ingest: %d spans in batches of %d into one ClickHouse server at %.0f spans/s wall clock, Prepare and Write overlapped (target >= 100000: %s)\n", st.spans, batch, rate, target)
	return nil
}

// ingestPool bounds the spans the ingest measurement generates up front.
const ingestPool = 200_000

func newSynth(ds dataset, n int) (*traffic.Generator, error) {
	prices, err := pricing.New(nil)
	if err != nil {
		return nil, err
	}
	return traffic.New(traffic.Config{Seed: ds.Seed, Spans: n, Start: ds.Start, End: ds.End, Cost: func(sp *genai.Span) (float64, bool) {
		prices.Apply(sp)
		return sp.CostUSD, sp.CostKnown
	}})
}

// writeStats are the figures of writePipelined.
type writeStats struct {
	spans       int
	workers     int
	wall        time.Duration // first batch taken to last write done
	prep, write time.Duration // summed over the batches
}

// writePipelined prepares batches on workers goroutines and writes them
// from this one, as genscope's recorder does.
func writePipelined(ctx context.Context, s *clickhouse.DB, batches <-chan *store.Batch, workers int) (writeStats, error) {
	st := writeStats{workers: workers}
	prepared := make(chan *store.Batch, workers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for b := range batches {
				t0 := time.Now()
				err := s.Prepare(b)
				d := time.Since(t0)
				mu.Lock()
				st.prep += d
				mu.Unlock()
				if err != nil {
					b.Prepared = nil // Write encodes it and reports the error
				}
				prepared <- b
			}
		})
	}
	go func() { wg.Wait(); close(prepared) }()
	var werr error
	for b := range prepared {
		if werr != nil {
			continue
		}
		t0 := time.Now()
		if err := s.Write(ctx, b); err != nil {
			werr = err
			continue
		}
		st.write += time.Since(t0)
		st.spans += len(b.Spans)
	}
	st.wall = time.Since(start)
	if werr != nil {
		return st, fmt.Errorf("write: %w", werr)
	}
	return st, nil
}

// loadSynth writes the dataset's spans (generated on another goroutine)
// in batches, prepared and written as writePipelined does, and returns
// spans per second of wall-clock time.
func loadSynth(ctx context.Context, s *clickhouse.DB, ds dataset, n, batch int, out io.Writer) (float64, error) {
	g, err := newSynth(ds, n)
	if err != nil {
		return 0, err
	}
	batches := make(chan *store.Batch, 4)
	go func() {
		defer close(batches)
		b := &store.Batch{}
		written := 0
		for {
			chunk := g.Next(nil)
			if len(chunk) == 0 {
				break
			}
			b.Spans = append(b.Spans, chunk...)
			if len(b.Spans) >= batch {
				select {
				case batches <- b:
				case <-ctx.Done():
					return
				}
				if written += len(b.Spans); written%(1<<20) < len(b.Spans) {
					fmt.Fprintf(out, "  %d spans generated\n", written)
				}
				b = &store.Batch{}
			}
		}
		if len(b.Spans) > 0 {
			batches <- b
		}
	}()
	st, err := writePipelined(ctx, s, batches, runtime.GOMAXPROCS(0))
	if err != nil {
		return 0, fmt.Errorf("write dataset: %w", err)
	}
	fmt.Fprintf(out, "  %d spans: Prepare (encoding) %.0f spans/s on each of %d goroutines, Write alone %.0f spans/s\n",
		st.spans, float64(st.spans)/st.prep.Seconds(), st.workers, float64(st.spans)/st.write.Seconds())
	return float64(st.spans) / st.wall.Seconds(), nil
}

// compareQueries times the aggregate queries on both stores.
func compareQueries(ctx context.Context, ds dataset, runs int, ch, db store.Store, out io.Writer) error {
	rng := store.Filter{Project: tenancy.DefaultProject, From: ds.Start, To: ds.End.Add(time.Hour)}
	day := rng
	day.From = ds.End.Add(-24 * time.Hour)
	type q struct {
		name string
		run  func(s store.Store) error
	}
	ts := func(metric, agg, by string) func(s store.Store) error {
		return func(s store.Store) error {
			_, err := s.Timeseries(ctx, store.TimeseriesQuery{Filter: rng, Metric: metric, Agg: agg, Interval: time.Hour, GroupBy: by})
			return err
		}
	}
	bd := func(by string) func(s store.Store) error {
		return func(s store.Store) error {
			_, err := s.Breakdown(ctx, store.BreakdownQuery{Filter: rng, By: by})
			return err
		}
	}
	qs := []q{
		{"overview 30d", func(s store.Store) error { _, err := s.Overview(ctx, rng); return err }},
		{"overview 24h", func(s store.Store) error { _, err := s.Overview(ctx, day); return err }},
		{"overview 30d, one model", func(s store.Store) error { m := rng; m.Model = "gpt-4o"; _, err := s.Overview(ctx, m); return err }},
		{"overview 30d, model + errors", func(s store.Store) error {
			m := rng
			m.Model, m.Status = "gpt-4o", genai.StatusError
			_, err := s.Overview(ctx, m)
			return err
		}},
		{"timeseries 30d calls by model 1h", ts(store.MetricCalls, "", store.DimModel)},
		{"timeseries 30d p95 duration 1h", ts(store.MetricDurationMS, store.AggP95, "")},
		{"timeseries 30d tokens 1h", ts(store.MetricTotalTokens, "", "")},
		{"timeseries 24h calls 15m (spans)", func(s store.Store) error {
			_, err := s.Timeseries(ctx, store.TimeseriesQuery{Filter: day, Metric: store.MetricCalls, Interval: 15 * time.Minute})
			return err
		}},
		{"breakdown 30d by model", bd(store.DimModel)},
		{"breakdown 30d by provider", bd(store.DimProvider)},
		{"breakdown 30d by user", bd(store.DimUser)},
	}
	const target = 100 * time.Millisecond
	fmt.Fprintf(out, "%-34s %12s %12s %12s %12s %9s  %s\n", "query (warm)", "ch p50", "ch p95", "duckdb p50", "duckdb p95", "ch/duckdb", "target 100 ms (ch p95)")
	for _, x := range qs {
		var p [2][]time.Duration
		for k, s := range []store.Store{ch, db} {
			for i := 0; i <= runs; i++ {
				t0 := time.Now()
				if err := x.run(s); err != nil {
					return fmt.Errorf("%s: %w", x.name, err)
				}
				if i > 0 {
					p[k] = append(p[k], time.Since(t0))
				}
			}
			p[k] = sortDurations(p[k])
		}
		c95, d95 := quantile(p[0], 0.95), quantile(p[1], 0.95)
		verdict := "ok"
		if c95 > target {
			verdict = "MISS"
		}
		fmt.Fprintf(out, "%-34s %12s %12s %12s %12s %9.2f  %s\n", x.name, ms(quantile(p[0], 0.5)), ms(c95),
			ms(quantile(p[1], 0.5)), ms(d95), float64(c95)/float64(d95), verdict)
	}
	return compareAnswers(ctx, rng, ch, db, out)
}

// compareAnswers prints the 30-day overview of both stores side by side:
// the sums must agree; ClickHouse's percentiles over this many calls are
// estimates from its rollup.
func compareAnswers(ctx context.Context, f store.Filter, ch, db store.Store, out io.Writer) error {
	c, err := ch.Overview(ctx, f)
	if err != nil {
		return err
	}
	d, err := db.Overview(ctx, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%-24s %18s %18s %10s\n", "overview 30d", "clickhouse", "duckdb", "rel. diff")
	for _, r := range []struct {
		name string
		c, d float64
	}{
		{"calls", float64(c.Calls), float64(d.Calls)}, {"errors", float64(c.Errors), float64(d.Errors)},
		{"input tokens", float64(c.InputTokens), float64(d.InputTokens)}, {"output tokens", float64(c.OutputTokens), float64(d.OutputTokens)},
		{"cost usd", c.CostUSD, d.CostUSD}, {"duration avg ms", c.DurationMS.Avg, d.DurationMS.Avg},
		{"duration p50 ms", c.DurationMS.P50, d.DurationMS.P50}, {"duration p95 ms", c.DurationMS.P95, d.DurationMS.P95},
		{"duration p99 ms", c.DurationMS.P99, d.DurationMS.P99}, {"ttft p50 ms", c.TTFTMS.P50, d.TTFTMS.P50},
		{"ttft p95 ms", c.TTFTMS.P95, d.TTFTMS.P95},
	} {
		diff := 0.0
		if r.d != 0 {
			diff = (r.c - r.d) / r.d
		}
		fmt.Fprintf(out, "%-24s %18.6f %18.6f %+9.4f%%\n", r.name, r.c, r.d, 100*diff)
	}
	return nil
}
