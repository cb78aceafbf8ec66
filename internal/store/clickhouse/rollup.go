package clickhouse

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

// The rollups (sql/0002_rollups.sql) answer the aggregates over long
// ranges: the whole days and hours of a range come from them, the partial
// hours at its ends from the spans, all as aggregate states merged in one
// query. Sums and counts are exact. Percentiles are exact (from the spans)
// while the range holds at most Options.ExactPercentiles of the project's
// calls, and t-digest estimates from the rollups beyond that.

const (
	hourNS = int64(time.Hour)
	dayNS  = 24 * hourNS
)

// rollupDims are the rollup's dimension columns, after day and hour.
const rollupDims = "project, service, provider, operation, status, model, request_model, response_model"

// rollupLevels are the levels the rollup's t-digests are finished at.
var rollupLevels = []float64{0.5, 0.9, 0.95, 0.99}

// rollupStates are the aggregate states of a group of spans, named as the
// rollup's columns. The materialized view, the backfill and the partial
// hours of a query all use it, so their types agree.
const rollupStatesV1 = `countState() AS calls, sumState(toUInt64(status = 'error')) AS errors,
	sumState(input_tokens) AS in_tok, sumState(output_tokens) AS out_tok,
	sumState(cached_tokens) AS cached_tok, sumState(reasoning_tokens) AS reason_tok,
	sumState(cost_usd) AS cost_all, sumIfState(cost_usd, cost_known = 1) AS cost_priced,
	sumState(toUInt64(cost_known = 0)) AS cost_unpriced,
	sumState(duration_ns) AS dur_sum, minState(duration_ns) AS dur_min, maxState(duration_ns) AS dur_max,
	quantilesTDigestState(0.5, 0.9, 0.95, 0.99)(toFloat64(duration_ns)) AS dur_q,
	sumState(toUInt64(ttft_ns > 0)) AS ttft_n, sumIfState(ttft_ns, ttft_ns > 0) AS ttft_sum,
	minIfState(ttft_ns, ttft_ns > 0) AS ttft_min, maxIfState(ttft_ns, ttft_ns > 0) AS ttft_max,
	quantilesTDigestIfState(0.5, 0.9, 0.95, 0.99)(toFloat64(ttft_ns), ttft_ns > 0) AS ttft_q`

// rollupStates are rollupStatesV1 (what migrations before 0007 wrote)
// and the signed count of calls, signed_calls (one call, one count: a retraction
// row counts -1).
const rollupStates = rollupStatesV1 + ", sumState(toInt64(1)) AS signed_calls"

// rollupRetract are the states of a group of records that stop counting
// (the uncounted table): every sum negated (UInt64 sums wrap, so they
// come back exactly), signed_calls = -1; calls (no longer read) counts the rows; min
// and max take the same values again; the t-digests are empty (a digest
// cannot take a value back).
const rollupRetract = `countState() AS calls, sumState(toUInt64(-toInt64(status = 'error'))) AS errors,
	sumState(-input_tokens) AS in_tok, sumState(-output_tokens) AS out_tok,
	sumState(-cached_tokens) AS cached_tok, sumState(-reasoning_tokens) AS reason_tok,
	sumState(-cost_usd) AS cost_all, sumIfState(-cost_usd, cost_known = 1) AS cost_priced,
	sumState(toUInt64(-toInt64(cost_known = 0))) AS cost_unpriced,
	sumState(-duration_ns) AS dur_sum, minState(duration_ns) AS dur_min, maxState(duration_ns) AS dur_max,
	arrayReduce('quantilesTDigestState(0.5, 0.9, 0.95, 0.99)', emptyArrayFloat64()) AS dur_q,
	sumState(toUInt64(-toInt64(ttft_ns > 0))) AS ttft_n, sumIfState(-ttft_ns, ttft_ns > 0) AS ttft_sum,
	minIfState(ttft_ns, ttft_ns > 0) AS ttft_min, maxIfState(ttft_ns, ttft_ns > 0) AS ttft_max,
	arrayReduce('quantilesTDigestIfState(0.5, 0.9, 0.95, 0.99)', emptyArrayFloat64(), emptyArrayUInt8()) AS ttft_q,
	sumState(toInt64(-1)) AS signed_calls`

// rollupStateCols are the state columns in rollupStates' order.
const rollupStateCols = `calls, errors, in_tok, out_tok, cached_tok, reason_tok, cost_all, cost_priced, cost_unpriced,
	dur_sum, dur_min, dur_max, dur_q, ttft_n, ttft_sum, ttft_min, ttft_max, ttft_q, signed_calls`

// rollupSelect is the select list of the materialized view and the
// backfill; rollupKeys their GROUP BY.
const (
	rollupHour   = "day, start_ns - start_ns % 3600000000000 AS hour, "
	rollupSelect = rollupHour + rollupDims + ",\n\t" + rollupStates
	rollupKeys   = "day, hour, " + rollupDims
)

// rollupDimValues are the (dimension, value) pairs a span is counted
// under in rollup_dim; rollupDimSelect and rollupDimKeys that view's
// select list and GROUP BY.
const (
	rollupDimValues = "[('', ''), ('service', service), ('provider', provider), ('operation', operation), ('status', status), " +
		"('model', model), ('model_any', request_model), ('model_any', if(response_model != request_model, response_model, ''))]"
	rollupDimHead   = "day, start_ns - start_ns % 3600000000000 AS hour, project, dv.1 AS dim, dv.2 AS value,\n\t"
	rollupDimSelect = rollupDimHead + rollupStates
	rollupDimKeys   = "day, hour, project, dim, value"
	// rollup_dim_day's: its hour column holds the start of the day.
	rollupDayHead   = "day, start_ns - start_ns % 86400000000000 AS hour, project, dv.1 AS dim, dv.2 AS value,\n\t"
	rollupDaySelect = rollupDayHead + rollupStates
)

// merged totals over the rollup's states, in the order of totals.dest
// without the percentiles.
const rollupTotals = `toInt64(sumMerge(signed_calls)), toInt64(sumMerge(errors)),
	toInt64(sumMerge(in_tok)), toInt64(sumMerge(out_tok)), toInt64(sumMerge(cached_tok)), toInt64(sumMerge(reason_tok)),
	toFloat64(sumMerge(cost_all)), toInt64(sumMerge(cost_unpriced)),
	if(sumMerge(signed_calls) = 0, 0, sumMerge(dur_sum) / sumMerge(signed_calls)), toInt64(sumMerge(ttft_n))`

// rollupPct are the merged t-digests of duration and TTFT at rollupLevels.
const rollupPct = `arrayMap(v -> toFloat64(v), quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(dur_q)),
	arrayMap(v -> toFloat64(v), quantilesTDigestIfMerge(0.5, 0.9, 0.95, 0.99)(ttft_q))`

// rollupRange is how a filter's time range splits into whole hours (from
// the rollup) and the rest (from the spans).
type rollupRange struct {
	ok bool // the filter can be answered from the rollup
	// Whole hours [h1, h2) from the rollup; no bound where the filter has
	// none. The spans in the filter's range outside them are the edges.
	h1, h2 int64
	from   bool // the filter has a lower bound
	to     bool // the filter has an upper bound
}

// rollupFor says whether (and how) a GenAI aggregate over f can use the
// rollup: no session, user, text or filter bar filter (the rollup has no
// such columns), and at least one whole hour in the range.
func (s *DB) rollupFor(f store.Filter) rollupRange {
	if s.noRollup || f.Session != "" || f.User != "" || f.Text != "" || spanrows.HasBarFilters(f) {
		return rollupRange{}
	}
	r := rollupRange{ok: true, h1: math.MinInt64, h2: math.MaxInt64, from: !f.From.IsZero(), to: !f.To.IsZero()}
	if r.from {
		ns := nanos(f.From)
		r.h1 = ns - mod(ns, hourNS)
		if r.h1 < ns {
			r.h1 += hourNS
		}
	}
	if r.to {
		ns := nanos(f.To)
		r.h2 = ns - mod(ns, hourNS)
	}
	if r.h1 >= r.h2 {
		return rollupRange{}
	}
	return r
}

// mod is a modulo that is never negative.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// rollupSource is a FROM source of every GenAI call the filter selects,
// as rows of (hour, k, states...) where k is the value of the dimension
// group (” when none): the rollup's whole hours, unioned with the states
// of the spans in the partial hours at the range's ends. With no filter,
// or one filter and no group, it reads rollup_dim (one dimension at a
// time, few rows); else rollup_hourly (every combination).
func (s *DB) rollupSource(f store.Filter, r rollupRange, group string, daily bool) string {
	p := lit(f.Project)
	type cond struct{ dim, col, val string }
	var conds []cond
	for _, c := range []cond{{"service", "service", f.Service}, {"provider", "provider", f.Provider},
		{"operation", "operation", f.Operation}, {"status", "status", string(f.Status)}} {
		if c.val != "" {
			conds = append(conds, c)
		}
	}
	if f.Model != "" {
		conds = append(conds, cond{dim: "model_any", val: f.Model})
	}
	var spanW []string // the filter on spans and rollup_hourly
	for _, c := range conds {
		if c.dim == "model_any" {
			m := lit(c.val)
			spanW = append(spanW, "(request_model = "+m+" OR response_model = "+m+")")
		} else {
			spanW = append(spanW, c.col+" = "+lit(c.val))
		}
	}
	// between bounds a rollup's hour column to [lo, hi); math.MinInt64 and
	// math.MaxInt64 stand for no bound.
	between := func(lo, hi int64) []string {
		w := []string{"project = " + p}
		if lo != math.MinInt64 {
			w = append(w, dayFrom(lo), "hour >= "+i64(lo))
		}
		if hi != math.MaxInt64 {
			w = append(w, dayBefore(hi), "hour < "+i64(hi))
		}
		return w
	}
	// k is never a constant: a Distributed table's blocks (18.16) must
	// agree on what is constant.
	k := "materialize('')"
	if group != "" {
		k = group
	}
	var parts []string
	switch {
	case len(conds) == 0 || (len(conds) == 1 && group == ""):
		dw := []string{"dim = ''", "value = ''"}
		kk := k
		switch {
		case group != "":
			dw, kk = []string{"dim = " + lit(group)}, "value"
		case len(conds) == 1:
			dw = []string{"dim = " + lit(conds[0].dim), "value = " + lit(conds[0].val)}
		}
		from := func(table string, lo, hi int64) {
			parts = append(parts, "SELECT hour, "+kk+" AS k, "+rollupStateCols+" FROM "+s.db+"."+table+" WHERE "+
				strings.Join(append(between(lo, hi), dw...), " AND "))
		}
		// Whole days from the daily table (a day's states merged once
		// instead of 24 times), the hours around them from the hourly one.
		d1, d2 := r.h1, r.h2
		if r.from {
			d1 = r.h1 - mod(r.h1, dayNS)
			if d1 < r.h1 {
				d1 += dayNS
			}
		}
		if r.to {
			d2 = r.h2 - mod(r.h2, dayNS)
		}
		if !daily || d1 >= d2 {
			from("rollup_dim", r.h1, r.h2)
			break
		}
		if r.h1 < d1 {
			from("rollup_dim", r.h1, d1)
		}
		from("rollup_dim_day", d1, d2)
		if d2 < r.h2 {
			from("rollup_dim", d2, r.h2)
		}
	default:
		parts = append(parts, "SELECT hour, toString("+k+") AS k, "+rollupStateCols+" FROM "+s.db+".rollup_hourly WHERE "+
			strings.Join(append(between(r.h1, r.h2), spanW...), " AND "))
	}
	// Each partial hour on its own, so each reads its own day.
	var edges [][2]int64
	if r.from && nanos(f.From) < r.h1 {
		edges = append(edges, [2]int64{nanos(f.From), r.h1})
	}
	if r.to && r.h2 < nanos(f.To) {
		edges = append(edges, [2]int64{r.h2, nanos(f.To)})
	}
	for _, e := range edges {
		rng := dayFrom(e[0]) + " AND " + dayBefore(e[1]) + " AND start_ns >= " + i64(e[0]) + " AND start_ns < " + i64(e[1])
		raw := append([]string{"project = " + p, s.counted(p, rng), rng}, spanW...)
		parts = append(parts, "SELECT start_ns - start_ns % 3600000000000 AS hour, toString("+k+") AS k,\n\t"+rollupStates+
			"\nFROM "+s.db+".spans WHERE "+strings.Join(raw, " AND ")+"\nGROUP BY hour, k")
	}
	return " FROM (" + strings.Join(parts, "\nUNION ALL\n") + ") "
}

// exactPct says whether percentiles over f's range come from the spans:
// when the range holds at most the exact limit of the project's calls,
// so the exact query's cost is bounded whatever the filter (a narrow
// filter over a month still reads the month's spans). It is decided
// before the aggregate runs, so only one of the two paths does.
func (s *DB) exactPct(ctx context.Context, f store.Filter, r rollupRange) (bool, error) {
	if s.exactLimit < 0 {
		return false, nil
	}
	total, err := s.rangeCalls(ctx, f, r)
	return total <= s.exactLimit, err
}

// rangeOf is f without the filters: the project's calls in f's range.
func rangeOf(f store.Filter) store.Filter {
	return store.Filter{Project: f.Project, From: f.From, To: f.To}
}

// rangeCalls counts the project's GenAI calls in f's range (r, the
// rollups' split of it) from the rollups.
func (s *DB) rangeCalls(ctx context.Context, f store.Filter, r rollupRange) (int64, error) {
	var n int64
	if err := s.conn.QueryRow(ctx, "SELECT toInt64(sumMerge(signed_calls))"+s.rollupSource(rangeOf(f), r, "", true)).Scan(&n); err != nil {
		return 0, fmt.Errorf("calls in range: %w", err)
	}
	return n, nil
}

// pickLevels returns the values of v (at rollupLevels) at levels.
func pickLevels(v []float64, levels ...float64) []float64 {
	out := make([]float64, 0, len(levels))
	for _, l := range levels {
		for i, rl := range rollupLevels {
			if rl == l && i < len(v) {
				out = append(out, v[i])
			}
		}
	}
	return out
}

// rollupOverview is Overview from the rollup, with exact percentiles
// from the spans in sc when the calls are few.
func (s *DB) rollupOverview(ctx context.Context, f store.Filter, r rollupRange, sc scope) (store.Overview, error) {
	var t totals
	d := t.dest()
	var dur, ttft []float64
	q := "SELECT " + rollupTotals + ", " + rollupPct + s.rollupSource(f, r, "", true)
	if err := s.conn.QueryRow(ctx, q).Scan(append(d[:len(d)-2:len(d)-2], &dur, &ttft)...); err != nil {
		return store.Overview{}, fmt.Errorf("overview: %w", err)
	}
	// Without filters the calls are the range's: no need to count them.
	exact := t.Calls <= s.exactLimit
	if exact && !reflect.DeepEqual(f, rangeOf(f)) {
		var err error
		if exact, err = s.exactPct(ctx, f, r); err != nil {
			return store.Overview{}, err
		}
	}
	if exact {
		if err := s.exactPercentiles(ctx, sc, &t); err != nil {
			return store.Overview{}, err
		}
	} else {
		t.dur, t.ttft = pickLevels(dur, 0.5, 0.95, 0.99), pickLevels(ttft, 0.5, 0.95)
	}
	t.finish()
	return t.Overview, nil
}

// rollupDim is a dimension's column in the rollup, or "" when the rollup
// does not have it.
func rollupDim(dim string) string {
	switch dim {
	case store.DimModel, store.DimProvider, store.DimService, store.DimOperation, store.DimStatus:
		return dim
	}
	return ""
}

// rollupBreakdown is Breakdown from the rollup; done is false when the
// calls are few enough for exact percentiles from the spans.
func (s *DB) rollupBreakdown(ctx context.Context, q store.BreakdownQuery, col string, r rollupRange) ([]store.BreakdownRow, bool, error) {
	if exact, err := s.exactPct(ctx, q.Filter, r); err != nil || exact {
		return nil, false, err
	}
	sqlText := "SELECT k, " + rollupTotals + ", " + rollupPct + s.rollupSource(q.Filter, r, col, true) +
		"GROUP BY k ORDER BY sumMerge(signed_calls) DESC, k LIMIT " + strconv.Itoa(q.Limit)
	rows, err := s.conn.Query(ctx, sqlText)
	if err != nil {
		return nil, false, fmt.Errorf("breakdown by %s: %w", q.By, err)
	}
	out, err := spanrows.ScanBreakdown(rows, q.By, func() ([]any, func() store.Overview) {
		t := new(totals)
		var dur, ttft []float64
		d := t.dest()
		return append(d[:len(d)-2], &dur, &ttft), func() store.Overview {
			t.dur, t.ttft = pickLevels(dur, 0.5, 0.95, 0.99), pickLevels(ttft, 0.5, 0.95)
			return t.overview()
		}
	})
	return out, true, err
}

// rollupMetric is the merged aggregate of a metric per group of rollup
// rows and the count of calls with a value; ok is false for the
// aggregations the rollup cannot give (min, max and percentiles of tokens
// and cost). pct says the value is a t-digest estimate.
func rollupMetric(metric, agg string) (val, valued string, always, pct, ok bool) {
	calls := "sumMerge(signed_calls)"
	type m struct {
		sum, n, min, max, q string
		scale               string
		def                 string
	}
	var x m
	switch metric {
	case store.MetricCalls:
		return "toFloat64(" + calls + ")", "toInt64(" + calls + ")", true, false, true
	case store.MetricErrors:
		return "toFloat64(sumMerge(errors))", "toInt64(" + calls + ")", true, false, true
	case store.MetricErrorRate:
		return "toFloat64(sumMerge(errors)) / " + calls, "toInt64(" + calls + ")", true, false, true
	case store.MetricInputTokens:
		x = m{sum: "sumMerge(in_tok)", n: calls, def: store.AggSum}
	case store.MetricOutputTokens:
		x = m{sum: "sumMerge(out_tok)", n: calls, def: store.AggSum}
	case store.MetricTotalTokens:
		x = m{sum: "(sumMerge(in_tok) + sumMerge(out_tok))", n: calls, def: store.AggSum}
	case store.MetricCostUSD:
		x = m{sum: "sumIfMerge(cost_priced)", n: "(" + calls + " - sumMerge(cost_unpriced))", def: store.AggSum}
	case store.MetricDurationMS:
		x = m{sum: "sumMerge(dur_sum)", n: calls, min: "minMerge(dur_min)", max: "maxMerge(dur_max)",
			q: "quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(dur_q)", scale: " / 1e6", def: store.AggAvg}
	case store.MetricTTFTMS:
		x = m{sum: "sumIfMerge(ttft_sum)", n: "sumMerge(ttft_n)", min: "minIfMerge(ttft_min)", max: "maxIfMerge(ttft_max)",
			q: "quantilesTDigestIfMerge(0.5, 0.9, 0.95, 0.99)(ttft_q)", scale: " / 1e6", def: store.AggAvg}
	default:
		return "", "", false, false, false
	}
	if agg == "" {
		agg = x.def
	}
	valued = "toInt64(" + x.n + ")"
	switch agg {
	case store.AggSum:
		return "toFloat64(" + x.sum + x.scale + ")", valued, true, false, true
	case store.AggCount:
		return "toFloat64(" + x.n + ")", valued, true, false, true
	case store.AggAvg:
		return "if(" + x.n + " = 0, nan, toFloat64(" + x.sum + ") / " + x.n + x.scale + ")", valued, false, false, true
	case store.AggMin:
		if x.min != "" {
			return "toFloat64(" + x.min + x.scale + ")", valued, false, false, true
		}
	case store.AggMax:
		if x.max != "" {
			return "toFloat64(" + x.max + x.scale + ")", valued, false, false, true
		}
	case store.AggP50, store.AggP90, store.AggP95, store.AggP99:
		if x.q != "" {
			lv, _ := store.Quantile(agg)
			i := 0
			for k, l := range rollupLevels {
				if l == lv {
					i = k + 1
				}
			}
			return "toFloat64(" + x.q + "[" + strconv.Itoa(i) + "]" + x.scale + ")", valued, false, true, true
		}
	}
	return "", "", false, false, false
}

// rollupTimeseries is Timeseries from the rollup; done is false when the
// rollup cannot answer it (the interval is not whole hours, the
// aggregation is not kept, or a percentile over few calls).
func (s *DB) rollupTimeseries(ctx context.Context, q store.TimeseriesQuery) ([]store.Series, bool, error) {
	iv := q.Interval.Nanoseconds()
	if iv%hourNS != 0 {
		return nil, false, nil
	}
	r := s.rollupFor(q.Filter)
	if !r.ok {
		return nil, false, nil
	}
	val, valued, always, pct, ok := rollupMetric(q.Metric, q.Agg)
	if !ok {
		return nil, false, nil
	}
	if pct {
		if exact, err := s.exactPct(ctx, q.Filter, r); err != nil || exact {
			return nil, false, err
		}
	}
	g := ""
	if q.GroupBy != "" {
		if g = rollupDim(q.GroupBy); g == "" {
			return nil, false, nil
		}
	}
	src := s.rollupSource(q.Filter, r, g, iv%dayNS == 0)
	// The top groups are totals over the range: whole days will do.
	totalSrc := s.rollupSource(q.Filter, r, g, true)
	var groups []string
	where := ""
	if q.GroupBy != "" {
		var err error
		groups, err = s.topGroups(ctx, q.Metric, "SELECT k"+totalSrc+"GROUP BY k ORDER BY sumMerge(signed_calls) DESC, k LIMIT "+strconv.Itoa(q.Limit))
		if err != nil || len(groups) == 0 {
			return []store.Series{}, err == nil, err
		}
		where = "WHERE k IN " + inList(groups) + " "
	}
	series, err := s.querySeries(ctx, q.Metric, "SELECT k, hour - hour % "+i64(iv)+" AS t, "+val+" AS v, "+valued+" AS n"+src+
		where+"GROUP BY k, t ORDER BY k, t", always)
	if err != nil {
		return nil, false, err
	}
	return orderSeries(series, q.GroupBy, groups), true, nil
}

// orderSeries returns the series in the groups' order (the one series
// when not grouped).
func orderSeries(series map[string]*store.Series, groupBy string, groups []string) []store.Series {
	out := []store.Series{}
	if groupBy == "" {
		if sr := series[""]; sr != nil {
			out = append(out, *sr)
		}
		return out
	}
	for _, k := range groups {
		if sr := series[k]; sr != nil {
			out = append(out, *sr)
		}
	}
	return out
}
