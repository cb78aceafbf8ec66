package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/genscope/genscope/internal/app"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/pricing"
	"github.com/genscope/genscope/internal/sim/traffic"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/duckdb"
)

// dataset describes a generated dataset, kept next to it so later runs
// reuse it.
type dataset struct {
	Spans int       `json:"spans"`
	Seed  int64     `json:"seed"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

const datasetFile = "bench-dataset.json"

func queryMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := addDatasetFlags(fs)
	runs := fs.Int("runs", 20, "timed runs of each query (after one warm-up run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ds, err := d.ensure(ctx, stdout)
	if err != nil {
		return err
	}
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = d.dir, "127.0.0.1:0", ""
	cfg.Store.DuckDB.MemoryLimit = d.memory
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	return runQueries(a.HTTPAddr(), ds, *runs, stdout)
}

// datasetFlags are the flags of the benchmarks that share the generated
// dataset (query, alerts, clickhouse).
type datasetFlags struct {
	dir, memory string
	spans, days int
}

func addDatasetFlags(fs *flag.FlagSet) *datasetFlags {
	d := &datasetFlags{}
	fs.StringVar(&d.dir, "data", "./genscope-bench-data", "data directory of the generated dataset (shared by bench query, alerts and clickhouse; reused when it matches, generated otherwise)")
	fs.IntVar(&d.spans, "spans", 10_000_000, "spans in the dataset")
	fs.IntVar(&d.days, "days", 30, "days the dataset covers, ending when it is generated")
	fs.StringVar(&d.memory, "memory-limit", config.Default().Store.DuckDB.MemoryLimit, "DuckDB memory_limit")
	return d
}

// ensure reuses the dataset in d.dir, or generates it.
func (d *datasetFlags) ensure(ctx context.Context, out io.Writer) (dataset, error) {
	return ensureDataset(ctx, d.dir, d.spans, d.days, d.memory, out)
}

// open opens the dataset's DuckDB store.
func (d *datasetFlags) open(ctx context.Context) (*duckdb.DB, error) {
	return duckdb.Open(ctx, filepath.Join(d.dir, app.DBFile), duckdb.Options{MemoryLimit: d.memory})
}

func ensureDataset(ctx context.Context, dir string, spans, days int, memory string, out io.Writer) (dataset, error) {
	var ds dataset
	if raw, err := os.ReadFile(filepath.Join(dir, datasetFile)); err == nil && json.Unmarshal(raw, &ds) == nil && ds.Spans == spans &&
		ds.End.Sub(ds.Start) == time.Duration(days)*24*time.Hour {
		fmt.Fprintf(out, "dataset: reusing %d spans in %s (%s .. %s)\n", ds.Spans, dir, ds.Start.Format(time.RFC3339), ds.End.Format(time.RFC3339))
		return ds, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return ds, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return ds, err
	}
	end := time.Now().Truncate(time.Minute)
	ds = dataset{Spans: spans, Seed: 1, Start: end.Add(-time.Duration(days) * 24 * time.Hour), End: end}
	prices, err := pricing.New(nil)
	if err != nil {
		return ds, err
	}
	g, err := traffic.New(traffic.Config{Seed: ds.Seed, Spans: spans, Start: ds.Start, End: ds.End, Cost: func(s *genai.Span) (float64, bool) {
		prices.Apply(s)
		return s.CostUSD, s.CostKnown
	}})
	if err != nil {
		return ds, err
	}
	// The server's checkpoint threshold (DuckDB's own 16 MB checkpoints
	// every few batches), and the spans generated and encoded on another
	// goroutine while the writer appends (1M spans: 85 s in one loop, 29 s
	// so, on the shared 2-core machine).
	db, err := duckdb.Open(ctx, filepath.Join(dir, app.DBFile), duckdb.Options{MemoryLimit: memory,
		CheckpointThreshold: config.Default().Store.DuckDB.CheckpointThreshold})
	if err != nil {
		return ds, err
	}
	fmt.Fprintf(out, "dataset: generating %d spans over %d days (50 models, 1,000 users, 5%% errors) into %s\n", spans, days, dir)
	t0 := time.Now()
	batches := make(chan *store.Batch, 2)
	gctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		defer close(batches)
		for {
			buf := g.Next(make([]genai.Span, 0, 8192))
			if len(buf) == 0 {
				return
			}
			b := &store.Batch{Spans: buf}
			_ = db.Prepare(b) // on error Write encodes the rows itself, and says what failed
			select {
			case batches <- b:
			case <-gctx.Done():
				return
			}
		}
	}()
	written := 0
	for b := range batches {
		if err := db.Write(ctx, b); err != nil {
			db.Close()
			return ds, fmt.Errorf("write dataset: %w", err)
		}
		written += len(b.Spans)
		if written%(1<<20) < len(b.Spans) {
			fmt.Fprintf(out, "  %d spans, %.0f spans/s\n", written, float64(written)/time.Since(t0).Seconds())
		}
	}
	if err := db.Close(); err != nil {
		return ds, err
	}
	fmt.Fprintf(out, "dataset: %d spans in %s\n", written, time.Since(t0).Round(time.Second))
	raw, _ := json.Marshal(ds)
	return ds, os.WriteFile(filepath.Join(dir, datasetFile), raw, 0o600)
}

type benchQuery struct {
	name   string
	target time.Duration
	path   func() string
}

func runQueries(addr string, ds dataset, runs int, out io.Writer) error {
	base := "http://" + addr + "/api/v1/"
	rng := "from=" + url.QueryEscape(ds.Start.Format(time.RFC3339)) + "&to=" + url.QueryEscape(ds.End.Add(time.Hour).Format(time.RFC3339))
	day := "from=" + url.QueryEscape(ds.End.Add(-24*time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(ds.End.Add(time.Hour).Format(time.RFC3339))
	client := &http.Client{Timeout: 60 * time.Second}

	// Trace ids and a deep cursor to query, taken from the data.
	var page struct {
		Spans []struct {
			TraceID string `json:"trace_id"`
		} `json:"spans"`
		NextCursor string `json:"next_cursor"`
	}
	if err := getJSON(client, base+"spans?limit=1000&"+rng, &page); err != nil {
		return err
	}
	if len(page.Spans) == 0 {
		return errors.New("the dataset has no spans in its range")
	}
	cursor := page.NextCursor
	n := 0
	traceID := func() string { n++; return page.Spans[(n*37)%len(page.Spans)].TraceID }

	const agg, pageT, traceT = 150 * time.Millisecond, 30 * time.Millisecond, 20 * time.Millisecond
	qs := []benchQuery{
		{"overview 30d", agg, func() string { return "overview?" + rng }},
		{"overview 24h", agg, func() string { return "overview?" + day }},
		{"overview 30d model filter", agg, func() string { return "overview?model=gpt-4o&" + rng }},
		{"overview 30d model+status filters", agg, func() string { return "overview?model=gpt-4o&status=ok&" + rng }},
		{"timeseries 30d calls by model", agg, func() string { return "timeseries?metric=calls&group_by=model&" + rng }},
		{"timeseries 30d calls by model 1h", agg, func() string { return "timeseries?metric=calls&group_by=model&interval=1h&" + rng }},
		{"timeseries 30d p95 duration 1h", agg, func() string { return "timeseries?metric=duration_ms&agg=p95&interval=1h&" + rng }},
		{"timeseries 30d tokens", agg, func() string { return "timeseries?metric=total_tokens&" + rng }},
		{"breakdown 30d by model", agg, func() string { return "breakdown?by=model&" + rng }},
		{"breakdown 30d by provider", agg, func() string { return "breakdown?by=provider&" + rng }},
		{"breakdown 30d by user", agg, func() string { return "breakdown?by=user&" + rng }},
		{"breakdown 30d by session", agg, func() string { return "breakdown?by=session&" + rng }},
		{"spans first page", pageT, func() string { return "spans?limit=50&" + rng }},
		{"spans page after 1000", pageT, func() string { return "spans?limit=50&cursor=" + url.QueryEscape(cursor) + "&" + rng }},
		{"spans page model filter", pageT, func() string { return "spans?limit=50&model=gpt-4o-mini&" + rng }},
		{"spans page errors", pageT, func() string { return "spans?limit=50&status=error&" + rng }},
		{"trace", traceT, func() string { return "traces/" + traceID() }},
		{"sessions page", agg, func() string { return "sessions?limit=50&" + rng }},
		// A text search's first page: a word in most calls, and one in none
		// (answered when the time budget is spent, with how far it got).
		{"search 30d common word", time.Second, func() string { return "spans?limit=50&q=the&" + rng }},
		{"search 30d absent word", 3 * time.Second, func() string { return "spans?limit=50&q=qzxv-never&" + rng }},
	}
	fmt.Fprintf(out, "%-34s %10s %10s %10s %8s  %s\n", "query (warm)", "p50", "p95", "max", "target", "")
	missed := 0
	for _, q := range qs {
		var lat []time.Duration
		for i := 0; i <= runs; i++ {
			t0 := time.Now()
			if err := getJSON(client, base+q.path(), nil); err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			if i > 0 { // the first run warms caches
				lat = append(lat, time.Since(t0))
			}
		}
		s := sortDurations(lat)
		verdict := "ok"
		if quantile(s, 0.95) > q.target {
			verdict = "MISS"
			missed++
		}
		fmt.Fprintf(out, "%-34s %10s %10s %10s %8s  %s\n", q.name, ms(quantile(s, 0.5)), ms(quantile(s, 0.95)), ms(s[len(s)-1]), q.target, verdict)
	}
	fmt.Fprintf(out, "%d of %d queries within their p95 target over %d spans\n", len(qs)-missed, len(qs), ds.Spans)
	return nil
}

func getJSON(c *http.Client, u string, v any) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	if v == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
