package clickhouse

import (
	"context"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/sim/traffic"
	"github.com/genscope/genscope/internal/store"
)

// loadSynth writes n synthetic spans over [start, end) into s.
func loadSynth(t *testing.T, s *DB, n int, start, end time.Time) {
	t.Helper()
	g, err := traffic.New(traffic.Config{Seed: 7, Spans: n, Start: start, End: end, Cost: func(sp *genai.Span) (float64, bool) {
		if sp.ResponseModel == "" || sp.ResponseModel[0] < 'm' {
			return float64(sp.Usage.InputTokens)*2.5e-6 + float64(sp.Usage.OutputTokens)*1e-5, true
		}
		return 0, false // some models unpriced
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for {
		chunk := g.Next(nil)
		if len(chunk) == 0 {
			break
		}
		b := &store.Batch{Spans: chunk}
		if err := s.Prepare(b); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
}

func openOpts(t *testing.T, o Options) *DB {
	t.Helper()
	if o.HTTPAddr == "" {
		o.HTTPAddr = os.Getenv("GENSCOPE_CLICKHOUSE_HTTP")
	}
	o.ReadTimeout = time.Minute
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// near says a and b agree to a relative tolerance.
func near(a, b, tol float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b))
}

// checkSame compares an aggregate answered from the rollup with the same
// answered from the spans: sums and counts equal, percentiles within pct.
func checkOverview(t *testing.T, name string, got, want store.Overview, pct float64, rank rankFunc) {
	t.Helper()
	if got.Calls != want.Calls || got.Errors != want.Errors || got.InputTokens != want.InputTokens ||
		got.OutputTokens != want.OutputTokens || got.CachedTokens != want.CachedTokens ||
		got.ReasoningTokens != want.ReasoningTokens || got.CostUnknownCalls != want.CostUnknownCalls ||
		got.TTFTMS.Count != want.TTFTMS.Count || got.TotalTokens != want.TotalTokens {
		t.Errorf("%s: counts differ:\nrollup %+v\nspans  %+v", name, got, want)
		return
	}
	if !near(got.CostUSD, want.CostUSD, 1e-9) || !near(got.DurationMS.Avg, want.DurationMS.Avg, 1e-9) || !near(got.ErrorRate, want.ErrorRate, 1e-12) {
		t.Errorf("%s: cost/avg differ: rollup %v %v, spans %v %v", name, got.CostUSD, got.DurationMS.Avg, want.CostUSD, want.DurationMS.Avg)
	}
	checkPct(t, name, got.Calls, got.DurationMS, want.DurationMS, pct, rank)
	for _, p := range [][2]float64{{got.TTFTMS.P50, want.TTFTMS.P50}, {got.TTFTMS.P95, want.TTFTMS.P95}} {
		if (got.TTFTMS.Count >= estimateMin || rank == nil) && !near(p[0], p[1], pct) {
			t.Errorf("%s: percentile %v, spans say %v (tolerance %v)", name, p[0], p[1], pct)
		}
	}
}

// estimateMin is the fewest calls whose t-digest percentiles the tests
// hold to a tolerance.
const estimateMin = 2000

// rankFunc is the fraction of the selected calls that took at most ms.
type rankFunc func(ms float64) float64

// rankIn returns the rank function of the GenAI calls f selects (and, when
// dim is set, whose dimension has the value key), counted on the spans.
func rankIn(t *testing.T, s *DB, f store.Filter, dim, key string) rankFunc {
	return func(ms float64) float64 {
		sc := s.newScope(f, dimOpts(dim))
		if dim != "" {
			d := dimExpr(sc, dim)
			sc.where = append(sc.where, "toString("+d+") = "+lit(key))
		}
		var r float64
		q := "SELECT countIf(duration_ns <= " + strconv.FormatFloat(ms*1e6, 'f', 0, 64) + ") / count()" + s.from(sc)
		if err := s.conn.QueryRow(context.Background(), q).Scan(&r); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return r
	}
}

// checkPct compares percentiles over n calls: equal to the exact ones to
// a relative tolerance tol, or, for estimates (rank set), at a rank
// within 2 points of the level (over fewer than estimateMin calls, in
// order only).
func checkPct(t *testing.T, name string, n int64, got, want store.Latency, tol float64, rank rankFunc) {
	t.Helper()
	if rank == nil {
		for _, p := range [][2]float64{{got.P50, want.P50}, {got.P95, want.P95}, {got.P99, want.P99}} {
			if !near(p[0], p[1], tol) {
				t.Errorf("%s: percentile %v, spans say %v (tolerance %v)", name, p[0], p[1], tol)
			}
		}
		return
	}
	if got.P50 <= 0 || got.P50 > got.P95 || got.P95 > got.P99 {
		t.Errorf("%s: percentiles out of order: %+v", name, got)
	}
	if n < estimateMin {
		return
	}
	for _, p := range []struct{ v, q float64 }{{got.P50, 0.5}, {got.P95, 0.95}, {got.P99, 0.99}} {
		// The t-digest's result is a Float32: a hair above the value.
		if r := rank(p.v * (1 - 1e-6)); math.Abs(r-p.q) > 0.02 {
			t.Errorf("%s: estimated p%v %v ms is at rank %.4f", name, p.q*100, p.v, r)
		}
	}
}

// TestRollupMatchesSpans answers the aggregates from the hourly rollup
// and from the spans alone over the same data, for ranges that do and do
// not fall on whole hours and for each filter the rollup serves.
func TestRollupMatchesSpans(t *testing.T) {
	addr := serverAddr(t)
	testRollupMatchesSpans(t, Options{Addrs: []string{addr}, Database: testDatabase(t, addr)})
}

// TestRollupMatchesSpansCluster does the same through the Distributed
// tables of a two-shard cluster, whose rollups are per shard.
func TestRollupMatchesSpansCluster(t *testing.T) {
	name, nodes := clusterNodes(t)
	testRollupMatchesSpans(t, Options{Addrs: []string{nodes[1][0]}, HTTPAddr: nodes[1][1],
		Database: testDatabase(t, nodes[0][0], nodes[1][0]), Cluster: name})
}

func testRollupMatchesSpans(t *testing.T, base Options) {
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	start := end.Add(-72 * time.Hour)
	with := func(f func(o *Options)) Options {
		o := base
		f(&o)
		return o
	}
	est := openOpts(t, with(func(o *Options) { o.ExactPercentiles = -1 }))
	loadSynth(t, est, 60_000, start, end)
	exact := openOpts(t, base) // rollup sums, exact percentiles
	raw := openOpts(t, with(func(o *Options) { o.NoRollup = true }))
	// Exact while the range holds at most 20,000 calls, whatever the filter.
	mid := openOpts(t, with(func(o *Options) { o.ExactPercentiles = 20_000 }))
	ctx := context.Background()

	ranges := []store.Filter{
		{Project: "default", From: start, To: end},                                                // whole hours
		{Project: "default", From: start.Add(17*time.Minute + 3), To: end.Add(-29 * time.Minute)}, // edges at both ends
		{Project: "default", From: start.Add(30 * time.Hour).Add(59 * time.Minute)},               // open end
		{Project: "default", To: start.Add(5*time.Hour + time.Nanosecond)},                        // open start
		{Project: "default", From: start.Add(10 * time.Minute), To: start.Add(70 * time.Minute)},  // under two hours: spans only
	}
	o, err := raw.Overview(ctx, ranges[0])
	if err != nil || o.Calls < 10_000 {
		t.Fatalf("overview %+v %v: want the dataset", o, err)
	}
	bd, err := raw.Breakdown(ctx, store.BreakdownQuery{Filter: ranges[0], By: store.DimModel})
	if err != nil || len(bd) < 2 {
		t.Fatalf("breakdown %v %v", bd, err)
	}
	bdp, err := raw.Breakdown(ctx, store.BreakdownQuery{Filter: ranges[0], By: store.DimProvider})
	if err != nil || len(bdp) < 1 {
		t.Fatalf("breakdown %v %v", bdp, err)
	}
	// A user filter reads the spans; over a range holding more calls than
	// the limit its percentiles are estimates too.
	users, err := raw.Breakdown(ctx, store.BreakdownQuery{Filter: ranges[0], By: store.DimUser, Limit: 1})
	if err != nil || len(users) != 1 {
		t.Fatalf("users %v %v", users, err)
	}
	uf := ranges[0]
	uf.User = users[0].Key
	want, err := raw.Overview(ctx, uf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := est.Overview(ctx, uf)
	if err != nil {
		t.Fatal(err)
	}
	checkOverview(t, "estimated overview of a user", got, want, 0.05, rankIn(t, raw, uf, "", ""))
	bu, err := est.Breakdown(ctx, store.BreakdownQuery{Filter: ranges[0], By: store.DimUser, Limit: 3})
	if err != nil || len(bu) != 3 || bu[0].Key != users[0].Key || bu[0].Calls != users[0].Calls {
		t.Fatalf("estimated breakdown by user: %+v %v, spans say %+v", bu, err, users)
	}
	var filters []store.Filter
	for _, r := range ranges {
		filters = append(filters, r)
		m := r
		m.Model = bd[1].Key
		filters = append(filters, m)
		e := r
		e.Status, e.Provider = genai.StatusError, bdp[0].Key
		filters = append(filters, e)
	}
	for i, f := range filters {
		want, err := raw.Overview(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := est.Overview(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		checkOverview(t, "estimated overview "+string(rune('A'+i)), got, want, 0.05, rankIn(t, raw, f, "", ""))
		got, err = exact.Overview(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		checkOverview(t, "exact overview "+string(rune('A'+i)), got, want, 1e-9, nil)
		inRange, err := raw.Overview(ctx, store.Filter{Project: f.Project, From: f.From, To: f.To})
		if err != nil {
			t.Fatal(err)
		}
		if got, err = mid.Overview(ctx, f); err != nil {
			t.Fatal(err)
		}
		if inRange.Calls <= 20_000 {
			checkOverview(t, "overview exact by range "+string(rune('A'+i)), got, want, 1e-9, nil)
		} else {
			checkOverview(t, "overview estimated by range "+string(rune('A'+i)), got, want, 0.05, rankIn(t, raw, f, "", ""))
		}

		for _, by := range []string{store.DimModel, store.DimProvider, store.DimService, store.DimOperation, store.DimStatus} {
			q := store.BreakdownQuery{Filter: f, By: by, Limit: 7}
			want, err := raw.Breakdown(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := est.Breakdown(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("breakdown %s of filter %d: %d rows, spans give %d", by, i, len(got), len(want))
			}
			for k := range got {
				g, w := got[k], want[k]
				if g.Key != w.Key || g.Calls != w.Calls || g.Errors != w.Errors || g.TotalTokens != w.TotalTokens ||
					g.CostUnknownCalls != w.CostUnknownCalls || !near(g.CostUSD, w.CostUSD, 1e-9) ||
					!near(g.DurationMS.Avg, w.DurationMS.Avg, 1e-9) {
					t.Errorf("breakdown %s of filter %d row %d:\nrollup %+v\nspans  %+v", by, i, k, g, w)
				}
				checkPct(t, "breakdown "+by+" "+g.Key, g.Calls, g.DurationMS, w.DurationMS, 0, rankIn(t, raw, f, by, g.Key))
			}
		}
	}

	metrics := []struct{ metric, agg string }{
		{store.MetricCalls, ""}, {store.MetricErrors, ""}, {store.MetricErrorRate, ""},
		{store.MetricInputTokens, ""}, {store.MetricOutputTokens, store.AggAvg}, {store.MetricTotalTokens, store.AggCount},
		{store.MetricCostUSD, ""}, {store.MetricCostUSD, store.AggAvg}, {store.MetricCostUSD, store.AggCount},
		{store.MetricDurationMS, ""}, {store.MetricDurationMS, store.AggMin}, {store.MetricDurationMS, store.AggMax},
		{store.MetricDurationMS, store.AggSum}, {store.MetricDurationMS, store.AggP95},
		{store.MetricTTFTMS, ""}, {store.MetricTTFTMS, store.AggMax}, {store.MetricTTFTMS, store.AggCount}, {store.MetricTTFTMS, store.AggP50},
		{store.MetricInputTokens, store.AggP95}, // not in the rollup: from the spans
	}
	for _, f := range []store.Filter{filters[0], filters[1], filters[4]} {
		for _, m := range metrics {
			for _, by := range []string{"", store.DimModel} {
				for _, iv := range []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 15 * time.Minute} {
					q := store.TimeseriesQuery{Filter: f, Metric: m.metric, Agg: m.agg, Interval: iv, GroupBy: by, Limit: 4}
					want, err := raw.Timeseries(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					got, err := est.Timeseries(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					tol := 1e-9
					var lo, hi []store.Series
					if len(m.agg) == 3 && m.agg[0] == 'p' {
						// A t-digest over one bucket's few hundred calls
						// (from the rollups, or from the spans where the
						// interval is not whole hours): within the
						// bucket's range of values.
						tol = math.Inf(1)
						mq := q
						mq.Agg = store.AggMin
						if lo, err = raw.Timeseries(ctx, mq); err != nil {
							t.Fatal(err)
						}
						mq.Agg = store.AggMax
						if hi, err = raw.Timeseries(ctx, mq); err != nil {
							t.Fatal(err)
						}
					}
					if len(got) != len(want) {
						t.Fatalf("timeseries %+v: %d series, spans give %d", q, len(got), len(want))
					}
					for k := range got {
						if got[k].Group != want[k].Group || len(got[k].Points) != len(want[k].Points) {
							t.Fatalf("timeseries %+v series %d: %s/%d points, spans give %s/%d", q, k, got[k].Group, len(got[k].Points), want[k].Group, len(want[k].Points))
						}
						for j, p := range got[k].Points {
							w := want[k].Points[j]
							// The t-digest's result is a Float32.
							if lo != nil && (p.Value < lo[k].Points[j].Value*(1-1e-6) || p.Value > hi[k].Points[j].Value*(1+1e-6)) {
								t.Errorf("timeseries %s %s by %q every %s: point %d %v outside the bucket's values [%v, %v]", m.metric, m.agg, by, iv, j, p.Value, lo[k].Points[j].Value, hi[k].Points[j].Value)
								break
							}
							if !p.Time.Equal(w.Time) || !near(p.Value, w.Value, tol) {
								t.Errorf("timeseries %s %s by %q every %s: point %d %v %v, spans give %v %v", m.metric, m.agg, by, iv, j, p.Time, p.Value, w.Time, w.Value)
								break
							}
						}
					}
				}
			}
		}
	}
}

// TestRollupBackfill opens a database written before the rollup existed
// from several nodes at once: one of them fills the rollup from the
// stored spans, once.
func TestRollupBackfill(t *testing.T) {
	addr := serverAddr(t)
	db := testDatabase(t, addr)
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	start := end.Add(-24 * time.Hour)
	s := openOpts(t, Options{Addrs: []string{addr}, Database: db})
	loadSynth(t, s, 20_000, start, end)
	ctx := context.Background()
	// Back to the schema of migration 1.
	for _, q := range []string{
		"DROP TABLE `" + db + "`.rollup_hourly_mv", "DROP TABLE `" + db + "`.rollup_hourly",
		"DROP TABLE `" + db + "`.rollup_dim_mv", "DROP TABLE `" + db + "`.rollup_dim",
		"DROP TABLE `" + db + "`.rollup_dim_day_mv", "DROP TABLE `" + db + "`.rollup_dim_day",
		"DROP TABLE `" + db + "`.schema_migrations",
		"CREATE TABLE `" + db + "`.schema_migrations (version UInt32, name String, applied DateTime) ENGINE = MergeTree() ORDER BY version",
		"INSERT INTO `" + db + "`.schema_migrations SELECT 1, '0001_tables.sql', now()",
	} {
		if err := s.conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var wg sync.WaitGroup
	nodes := make([]*DB, 3)
	errs := make([]error, 3)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = Open(ctx, Options{Addrs: []string{addr}, HTTPAddr: os.Getenv("GENSCOPE_CLICKHOUSE_HTTP"), Database: db, ReadTimeout: time.Minute})
		}()
	}
	wg.Wait()
	for i, n := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		defer n.Close()
	}
	f := store.Filter{Project: "default", From: start, To: end}
	raw := openOpts(t, Options{Addrs: []string{addr}, Database: db, NoRollup: true})
	want, err := raw.Overview(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := nodes[2].Overview(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	checkOverview(t, "after backfill", got, want, 1e-9, nil)
	var version uint32
	if err := s.conn.QueryRow(ctx, "SELECT toUInt32(max(version)) FROM `"+db+"`.schema_migrations").Scan(&version); err != nil || version < 2 {
		t.Fatalf("schema version %d %v", version, err)
	}
	var locks uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = '"+db+"' AND name = 'migration_lock'").Scan(&locks); err != nil || locks != 0 {
		t.Fatalf("migration lock left behind: %d %v", locks, err)
	}
}
