package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/genscope/genscope/internal/alert"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/duckdb"
	"github.com/genscope/genscope/internal/tenancy"
	"github.com/genscope/genscope/internal/timeutil"
)

// alertsMain measures the CPU that evaluating many alert rules costs:
// "genscope bench alerts" creates --rules rules over the query
// benchmark's dataset and evaluates each of them once per round (what
// one minute costs when every rule runs every minute), reporting the
// process's CPU time per round as a share of one core over a minute.
func alertsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench alerts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := addDatasetFlags(fs)
	rules := fs.Int("rules", 1000, "alert rules")
	rounds := fs.Int("rounds", 3, "evaluation rounds (each evaluates every rule once)")
	conc := fs.Int("concurrency", 4, "concurrent evaluations (the engine's default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ds, err := d.ensure(ctx, stdout)
	if err != nil {
		return err
	}
	db, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	// The rules' windows end where the dataset does, so they see the
	// dataset's traffic whenever it was generated.
	now := ds.End
	var notified atomic.Int64
	e, err := alert.New(ctx, alert.Options{Query: db, State: newBenchState(), MaxConcurrent: *conc, Now: func() time.Time { return now },
		Notify: func(context.Context, alert.Notification) error { notified.Add(1); return nil }})
	if err != nil {
		return err
	}
	ids, models, err := createBenchRules(ctx, db, e, now, *rules)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "alerts: %d rules (10 signal/aggregations, windows 5m-1h, 70%% filtered by one of %d models, 10%% split by model), %d concurrent\n",
		len(ids), models, *conc)
	var total time.Duration
	for round := 1; round <= *rounds; round++ {
		cpu := evaluateRound(ctx, e, ids, *conc, round, stdout)
		if round > 1 || *rounds == 1 {
			total += cpu
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	measured := max(*rounds-1, 1)
	avg := total / time.Duration(measured)
	verdict := "PASS"
	if avg.Seconds()/60 >= 0.2 {
		verdict = "FAIL"
	}
	fmt.Fprintf(stdout, "average (after the first round): %.2f CPU-s per minute = %.1f%% of one core (target < 20%%): %s\n",
		avg.Seconds(), 100*avg.Seconds()/60, verdict)
	return nil
}

// createBenchRules creates n rules over the dataset's models (read from
// its last day) and returns their ids and how many models there were.
func createBenchRules(ctx context.Context, db *duckdb.DB, e *alert.Engine, now time.Time, n int) ([]string, int, error) {
	models, err := db.Breakdown(ctx, store.BreakdownQuery{Filter: store.Filter{Project: tenancy.DefaultProject, From: now.Add(-24 * time.Hour), To: now},
		By: store.DimModel, Limit: 50})
	if err != nil {
		return nil, 0, err
	}
	if len(models) == 0 {
		return nil, 0, fmt.Errorf("bench alerts: no calls in the dataset's last day")
	}
	type sig struct{ signal, agg string }
	sigs := []sig{{"duration_ms", "avg"}, {"duration_ms", "p95"}, {"duration_ms", "p99"}, {"ttft_ms", "p95"}, {"error_rate", ""},
		{"errors", ""}, {"calls", ""}, {"total_tokens", "total"}, {"cost_usd", "total"}, {"input_tokens", "avg"}}
	windows := []time.Duration{5 * time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}
	var ids []string
	for i := range n {
		r := alert.NewRule()
		s := sigs[i%len(sigs)]
		r.Name, r.Signal, r.Aggregation, r.Operator, r.Threshold = fmt.Sprintf("rule %d", i), s.signal, s.agg, ">", 1e12
		r.Window = timeutil.Duration(windows[(i/len(sigs))%len(windows)])
		switch {
		case i%10 == 9:
			r.SplitBy = store.DimModel
		case i%10 >= 3:
			r.Filters.Model = models[i%len(models)].Key
		}
		r, err := e.Create(ctx, r)
		if err != nil {
			return nil, 0, err
		}
		ids = append(ids, r.ID)
	}
	return ids, len(models), nil
}

// evaluateRound evaluates every rule once, conc at a time, reports the
// round and returns the CPU time it took.
func evaluateRound(ctx context.Context, e *alert.Engine, ids []string, conc, round int, stdout io.Writer) time.Duration {
	cpu0, t0 := cpuTime(), time.Now()
	var lat []time.Duration
	var mu sync.Mutex
	var failed atomic.Int64
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				s := time.Now()
				if _, err := e.Evaluate(ctx, ids[i]); err != nil {
					failed.Add(1)
				}
				mu.Lock()
				lat = append(lat, time.Since(s))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	cpu, wall := cpuTime()-cpu0, time.Since(t0)
	s := sortDurations(lat)
	fmt.Fprintf(stdout, "round %d: %d evaluations in %v wall, %.2f CPU-s; evaluation p50 %s, p99 %s; %d failed\n",
		round, len(ids), wall.Round(time.Millisecond), cpu.Seconds(), ms(quantile(s, 0.5)), ms(quantile(s, 0.99)), failed.Load())
	fmt.Fprintf(stdout, "         every rule once a minute: %.1f%% of one core\n", 100*cpu.Seconds()/60)
	return cpu
}

// benchState keeps alert state in memory: the benchmark measures
// evaluation, not the state writes (which happen on state changes only).
type benchState struct {
	mu   sync.Mutex
	docs map[string][]byte
}

func newBenchState() *benchState { return &benchState{docs: map[string][]byte{}} }

func (b *benchState) PutDoc(_ context.Context, kind, id string, doc []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.docs[kind+"/"+id] = doc
	return nil
}
func (b *benchState) DeleteDoc(_ context.Context, kind, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.docs, kind+"/"+id)
	return nil
}
func (b *benchState) ListDocs(context.Context, string, func(string, []byte) error) error { return nil }
func (b *benchState) AppendEvent(context.Context, string, string, time.Time, []byte) error {
	return nil
}
func (b *benchState) ListEvents(context.Context, string, string, int, func([]byte) error) error {
	return nil
}
