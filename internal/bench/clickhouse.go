package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/genscope/genscope/internal/app"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/pricing"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/clickhouse"
	"github.com/genscope/genscope/internal/store/duckdb"
	"github.com/genscope/genscope/internal/synth"
)

// clickhouseMain runs `genscope bench clickhouse`: ingest into a local
// ClickHouse, then the dashboard's aggregate queries over the bench
// dataset on ClickHouse and on the embedded DuckDB store, with the ratio.
func clickhouseMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench clickhouse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	loc := fs.String("store", "clickhouse://127.0.0.1:9000/genscope_bench", "ClickHouse store: clickhouse://HOST:PORT/DATABASE[?http_addr=HOST:PORT]; its database is replaced when it does not hold the dataset")
	dir := fs.String("data", "./genscope-bench-data", "data directory of the DuckDB dataset (shared with bench query)")
	spans := fs.Int("spans", 10_000_000, "spans in the dataset")
	days := fs.Int("days", 30, "days the dataset covers, ending now")
	ingestN := fs.Int("ingest", 1_000_000, "spans of the ingest measurement, into a scratch database (0: skip)")
	runs := fs.Int("runs", 10, "timed runs of each query (after one warm-up run)")
	batch := fs.Int("batch", 20000, "spans per Write (ClickHouse makes a part per insert: larger batches ingest faster)")
	memory := fs.String("memory-limit", config.Default().Store.DuckDB.MemoryLimit, "DuckDB memory_limit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, _, err := config.ParseStoreURL(config.Default().Store, *loc)
	if err != nil || st.Driver != "clickhouse" {
		return fmt.Errorf("bench clickhouse: -store: want clickhouse://HOST:PORT/DATABASE (%v)", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := app.ClickHouseOptions(st.ClickHouse, log)
	opts.ReadTimeout = 10 * time.Minute
	if *ingestN > 0 {
		iopts := opts
		iopts.Database = opts.Database + "_ingest"
		if err := benchIngestCH(ctx, iopts, *ingestN, *batch, stdout); err != nil {
			return err
		}
	}
	ds, err := ensureDataset(ctx, *dir, *spans, *days, *memory, stdout)
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
		fmt.Fprintf(stdout, "clickhouse: dataset loaded at %.0f spans/s (write time)\n", rate)
	}
	db, err := duckdb.Open(ctx, filepath.Join(*dir, app.DBFile), duckdb.Options{MemoryLimit: *memory})
	if err != nil {
		return err
	}
	defer db.Close()
	return compareQueries(ctx, ds, *runs, ch, db, stdout)
}

// benchIngestCH writes n synthetic spans into a fresh database and
// reports the rate.
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
	ds := dataset{Spans: n, Seed: 2, Start: end.Add(-24 * time.Hour), End: end}
	rate, err := loadSynth(ctx, s, ds, n, batch, out)
	if err != nil {
		return err
	}
	target := "ok"
	if rate < 100_000 {
		target = "MISS"
	}
	fmt.Fprintf(out, "ingest: %d spans in batches of %d into one ClickHouse server at %.0f spans/s of write time (target >= 100000: %s)\n", n, batch, rate, target)
	return nil
}

// loadSynth writes the dataset's spans (generated on another goroutine)
// in batches and returns spans per second of write time: Prepare
// (encoding) plus Write.
func loadSynth(ctx context.Context, s *clickhouse.DB, ds dataset, n, batch int, out io.Writer) (float64, error) {
	prices, err := pricing.New(nil)
	if err != nil {
		return 0, err
	}
	g, err := synth.New(synth.Config{Seed: ds.Seed, Spans: n, Start: ds.Start, End: ds.End, Cost: func(sp *genai.Span) (float64, bool) {
		prices.Apply(sp)
		return sp.CostUSD, sp.CostKnown
	}})
	if err != nil {
		return 0, err
	}
	batches := make(chan *store.Batch, 4)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(batches)
		b := &store.Batch{}
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
				b = &store.Batch{}
			}
		}
		if len(b.Spans) > 0 {
			batches <- b
		}
	}()
	var busy, prep time.Duration
	written := 0
	var werr error
	for b := range batches {
		if werr != nil {
			continue
		}
		t0 := time.Now()
		if err := s.Prepare(b); err != nil {
			werr = err
			continue
		}
		prep += time.Since(t0)
		if err := s.Write(ctx, b); err != nil {
			werr = err
			continue
		}
		busy += time.Since(t0)
		written += len(b.Spans)
		if written%(1<<20) < len(b.Spans) {
			fmt.Fprintf(out, "  %d spans, %.0f spans/s\n", written, float64(written)/busy.Seconds())
		}
	}
	wg.Wait()
	if werr != nil {
		return 0, fmt.Errorf("write dataset: %w", werr)
	}
	fmt.Fprintf(out, "  %d spans: Prepare (encoding, on the submitters' goroutines in genscope) %.0f spans/s on one core, Write alone %.0f spans/s\n",
		written, float64(written)/prep.Seconds(), float64(written)/(busy-prep).Seconds())
	return float64(written) / busy.Seconds(), nil
}

// compareQueries times the aggregate queries on both stores.
func compareQueries(ctx context.Context, ds dataset, runs int, ch, db store.Store, out io.Writer) error {
	rng := store.Filter{Project: "default", From: ds.Start, To: ds.End.Add(time.Hour)}
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
		{"timeseries 30d calls by model 1h", ts(store.MetricCalls, "", store.DimModel)},
		{"timeseries 30d p95 duration 1h", ts(store.MetricDurationMS, store.AggP95, "")},
		{"timeseries 30d tokens 1h", ts(store.MetricTotalTokens, "", "")},
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
	return nil
}
