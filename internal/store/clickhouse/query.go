package clickhouse

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

// pctFunc returns SQL for the type 7 quantiles at levels of x over the
// rows where cond holds, as Array(Float64).
type pctFunc func(x, cond string, levels []float64) string

// detectPct picks the percentile SQL the server can run:
// quantilesExactInclusive where it exists (ClickHouse 20.x and later),
// else the sorted values with the interpolation written out (18.16).
func detectPct(ctx context.Context, c driver.Conn) (pctFunc, bool, error) {
	var n uint64
	if err := c.QueryRow(ctx, `SELECT count() FROM system.functions WHERE name = 'quantilesExactInclusive'`).Scan(&n); err != nil {
		return nil, false, fmt.Errorf("detect functions: %w", err)
	}
	if n > 0 {
		return func(x, cond string, levels []float64) string {
			return "arrayMap(pv -> if(isFinite(pv), pv, 0), quantilesExactInclusiveIf(" + levelParams(levels) + ")(toFloat64(" + x + "), " + cond + "))"
		}, true, nil
	}
	return sortedPct, false, nil
}

// sortedPct interpolates between closest ranks over the sorted values:
// for n values and level q, h = q*(n-1), x[floor(h)] + frac(h)*(x[ceil(h)]-x[floor(h)]).
// Over no values it is 0 (arrays index from 1; an index past the end
// gives 0).
func sortedPct(x, cond string, levels []float64) string {
	a := "arraySort(groupArrayIf(toFloat64(" + x + "), " + cond + "))"
	h := "(q * (toInt64(length(a)) - 1))"
	lo := "a[toUInt64(greatest(floor(" + h + "), 0)) + 1]"
	hi := "a[toUInt64(greatest(ceil(" + h + "), 0)) + 1]"
	return "arrayMap(a -> arrayMap(q -> " + lo + " + (" + h + " - floor(" + h + ")) * (" + hi + " - " + lo + "), " + levelList(levels) + "), [" + a + "])[1]"
}

// levelParams is levels as an aggregate function's parameters.
func levelParams(levels []float64) string {
	return strings.Trim(levelList(levels), "[]")
}

// levelList is levels as an array literal.
func levelList(levels []float64) string {
	parts := make([]string, len(levels))
	for i, l := range levels {
		parts[i] = strconv.FormatFloat(l, 'f', -1, 64)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func nanos(t time.Time) int64 { return t.UnixNano() }

// windowSQL is a predicate on col for the filter's time range widened by
// the correlation window.
func windowSQL(col string, f store.Filter) string {
	var p []string
	if !f.From.IsZero() {
		p = append(p, dayFrom(nanos(f.From)-window), col+" >= "+i64(nanos(f.From)-window))
	}
	if !f.To.IsZero() {
		p = append(p, dayBefore(nanos(f.To)+window), col+" < "+i64(nanos(f.To)+window))
	}
	if len(p) == 0 {
		return "1"
	}
	return strings.Join(p, " AND ")
}

// dayFrom and dayBefore bound the day partition of the rows at or after
// ns, and before ns, so a query over a time range reads only its days'
// partitions. Every table's day is the UTC day of the time column that
// ranges are given on.
func dayFrom(ns int64) string { return dayCmp(">=", dayOf(ns)) }

func dayBefore(ns int64) string { return dayCmp("<=", dayOf(ns-1)) }

// dayThrough bounds the days to those of the times up to ns inclusive.
func dayThrough(ns int64) string { return dayCmp("<=", dayOf(ns)) }

// dayCmp compares the day with a day number; past what a Date holds
// (2149) it leaves the bound to the time column.
func dayCmp(op string, day int64) string {
	if day >= 65000 {
		return "1"
	}
	return "day " + op + " toDate('" + time.Unix(day*86400, 0).UTC().Format("2006-01-02") + "')"
}

// scope is the FROM and WHERE of a query over spans that a filter
// selects. Columns are unqualified: 18.16 allows one JOIN per SELECT and
// resolves its columns by name.
type scope struct {
	join  string
	where []string
	// Expressions for the effective session and user; set when asked for.
	session, user string
}

// scopeOpts says what a query needs besides the filter.
type scopeOpts struct {
	all           bool // non-GenAI spans too
	session, user bool // the effective session / user expressions
}

// dimOpts are the scope options a query grouped by dim needs.
func dimOpts(dim string) scopeOpts {
	return scopeOpts{session: dim == store.DimSession, user: dim == store.DimUser}
}

func (s *DB) newScope(f store.Filter, o scopeOpts) scope {
	var sc scope
	p := lit(f.Project)
	sc.where = append(sc.where, "project = "+p)
	if !f.From.IsZero() {
		sc.where = append(sc.where, dayFrom(nanos(f.From)), "start_ns >= "+i64(nanos(f.From)))
	}
	if !f.To.IsZero() {
		sc.where = append(sc.where, dayBefore(nanos(f.To)), "start_ns < "+i64(nanos(f.To)))
	}
	if !o.all {
		sc.where = append(sc.where, s.counted(p, windowSQL("start_ns", f)))
	}
	eq := func(col, v string) {
		if v != "" {
			sc.where = append(sc.where, col+" = "+lit(v))
		}
	}
	eq("service", f.Service)
	eq("provider", f.Provider)
	eq("operation", f.Operation)
	eq("status", string(f.Status))
	if f.Model != "" {
		m := lit(f.Model)
		sc.where = append(sc.where, "(request_model = "+m+" OR response_model = "+m+")")
	}
	if f.Text != "" {
		q := lit(strings.ToLower(f.Text))
		conds := []string{"positionCaseInsensitiveUTF8(content_text, " + q + ") > 0"}
		for _, k := range []struct {
			kind string
			bit  uint8
		}{{"system", store.MaskSystem}, {"input", store.MaskInput}, {"output", store.MaskOutput}} {
			conds = append(conds, "(bitAnd(content_mask, "+strconv.Itoa(int(k.bit))+") = 0 AND (trace_hi, trace_lo, span_id) "+s.global+
				"IN (SELECT trace_hi, trace_lo, span_id FROM "+s.db+".message_records WHERE project = "+p+" AND kind = '"+k.kind+
				"' AND positionCaseInsensitiveUTF8(text, "+q+") > 0 AND "+windowSQL("time_ns", f)+"))")
		}
		sc.where = append(sc.where, "("+strings.Join(conds, " OR ")+")")
	}
	needS, needU := f.Session != "" || o.session, f.User != "" || o.user || !f.Users.IsZero()
	if needS || needU {
		// Most spans were resolved when written (eff_*); the rest inherit
		// from trace_ctx (the spans carrying a session or user), looked up
		// for their traces only. One join serves both.
		var unres []string
		if needS {
			unres = append(unres, "(session_id = '' AND eff_session = '')")
		}
		if needU {
			unres = append(unres, "(user_id = '' AND eff_user = '')")
		}
		sc.join = " " + s.global + "ANY LEFT JOIN (SELECT trace_hi, trace_lo,\n" +
			"argMinIf(session_id, tuple(start_ns, span_id), session_id != '') AS inh_s,\n" +
			"argMinIf(user_id, tuple(start_ns, span_id), user_id != '') AS inh_u\n" +
			"FROM " + s.db + ".trace_ctx WHERE project = " + p + " AND " + windowSQL("start_ns", f) +
			" AND (trace_hi, trace_lo) " + s.global + "IN (SELECT trace_hi, trace_lo FROM " + s.db + ".spans WHERE project = " + p +
			" AND (" + strings.Join(unres, " OR ") + ") AND " + windowSQL("start_ns", f) + ")" +
			" GROUP BY trace_hi, trace_lo) USING (trace_hi, trace_lo)"
		sc.session = "if(session_id != '', session_id, if(eff_session != '', eff_session, inh_s))"
		sc.user = "if(user_id != '', user_id, if(eff_user != '', eff_user, inh_u))"
		if f.Session != "" {
			sc.where = append(sc.where, sc.session+" = "+lit(f.Session))
		}
		if f.User != "" {
			sc.where = append(sc.where, sc.user+" = "+lit(f.User))
		}
	}
	for _, sf := range f.Scores {
		// The spans with a score satisfying sf, their ids as the spans
		// table keeps them (the scores table keeps them in hex, big-endian).
		id := func(hex string) string { return "reinterpretAsUInt64(reverse(unhex(" + hex + ")))" }
		sc.where = append(sc.where, "(trace_hi, trace_lo, span_id) "+s.global+"IN (SELECT "+id("substring(a_trace, 1, 16)")+", "+
			id("substring(a_trace, 17, 16)")+", "+id("a_span")+" FROM ("+s.latestScores(f.Project)+") WHERE a_span != '' AND a_name = "+lit(sf.Name)+scoreCond(sf)+")")
	}
	sc.where = append(sc.where, spanrows.FilterConds(f, dialect, sc.user)...)
	return sc
}

// scoreCond is the condition (after AND) of a score filter's operator
// over latestScores.
func scoreCond(sf store.ScoreFilter) string {
	switch sf.Op {
	case store.ScoreLT:
		return " AND a_has = 1 AND a_value < " + dialect.Num(sf.Value)
	case store.ScoreGT:
		return " AND a_has = 1 AND a_value > " + dialect.Num(sf.Value)
	case store.ScoreLabelIs:
		return " AND a_label = " + lit(sf.Label)
	}
	return ""
}

// dialect writes the filter bar's conditions over the spans table.
// ClickHouse 18.16 has no JSON parser: attributes are looked up by name
// (visitParam*) in the attributes object of the detail, the text between
// its ,"attributes": and what the writer puts after it (encodeDetail).
// Keys are valid store.ValidAttrKey, so they are written in the JSON as
// they are. A key is found at any depth of that object, so a map-valued
// attribute holding a key of the same name as the one filtered on may
// answer for it.
var dialect = spanrows.Dialect{
	Col: func(name string) string { return name },
	Str: lit,
	Num: func(v float64) string { return "toFloat64(" + strconv.FormatFloat(v, 'g', -1, 64) + ")" },
	ContainsCI: func(x, lower string) string {
		return "(positionCaseInsensitiveUTF8(" + x + ", " + lit(lower) + ") > 0)"
	},
	Metric: func(m string) (string, string) { v := metricValues[m]; return v.x, v.cond },
	AttrExists: func(key string) string {
		return "visitParamHas(" + attrsSQL + ", " + lit(key) + ")"
	},
	AttrText: func(key string) string {
		k := lit(key)
		raw := "visitParamExtractRaw(" + attrsSQL + ", " + k + ")"
		return "if(visitParamHas(" + attrsSQL + ", " + k + ") AND substring(" + raw + ", 1, 1) NOT IN ('{', '[') AND " + raw + " != 'null', " +
			"if(substring(" + raw + ", 1, 1) = '\"', visitParamExtractString(" + attrsSQL + ", " + k + "), " + raw + "), NULL)"
	},
}

// attrsSQL is the attributes object of a span's detail (” when it has
// none): from its "{" to the first of what encodeDetail writes after it.
var attrsSQL = func() string {
	const start = `,"attributes":{`
	rest := "substring(detail, position(detail, " + lit(start) + ") + " + strconv.Itoa(len(start)-1) + ")"
	var ends []string
	for _, t := range []string{`,"resource_attributes":{`, `,"events":[`, contentMark} {
		p := "position(" + rest + ", " + lit(t) + ")"
		ends = append(ends, "if("+p+" > 0, toUInt64("+p+" - 1), length("+rest+"))")
	}
	return "if(position(detail, " + lit(start) + ") = 0, '', substring(" + rest + ", 1, least(" + ends[0] + ", least(" + ends[1] + ", " + ends[2] + "))))"
}()

// counted selects the calls that count (one call, one count): model
// calls but the stored copies (partner = 0) of records that stopped
// counting when their pair completed (the uncounted table, within cond).
// A copy with a partner is the pair's current row and always counts (its
// record is never paired again).
func (s *DB) counted(p, cond string) string {
	return "is_genai = 1 AND (partner != 0 OR (trace_hi, trace_lo, span_id) " + s.global + "NOT IN (SELECT trace_hi, trace_lo, span_id FROM " +
		s.db + ".uncounted WHERE project = " + p + " AND " + cond + "))"
}

func (s *DB) from(sc scope) string {
	return " FROM " + s.db + ".spans" + sc.join + " WHERE " + strings.Join(sc.where, " AND ") + " "
}

// cheapTotals are the sums of the totals; pctTotals their percentiles.
const cheapTotals = `toInt64(count()), toInt64(countIf(status = 'error')),
	toInt64(sum(input_tokens)), toInt64(sum(output_tokens)), toInt64(sum(cached_tokens)), toInt64(sum(reasoning_tokens)),
	toFloat64(sum(cost_usd)), toInt64(countIf(cost_known = 0)),
	toFloat64(if(count() = 0, 0, avg(duration_ns))), toInt64(countIf(ttft_ns > 0))`

func (s *DB) pctTotals() string { return pctTotalsWith(s.pct) }

func pctTotalsWith(pct pctFunc) string {
	return pct("duration_ns", "1", []float64{0.5, 0.95, 0.99}) + ", " + pct("ttft_ns", "ttft_ns > 0", []float64{0.5, 0.95})
}

// tdigestPct estimates the quantiles with a t-digest, as the rollups do.
func tdigestPct(x, cond string, levels []float64) string {
	return "arrayMap(v -> toFloat64(v), quantilesTDigestIf(" + levelParams(levels) + ")(toFloat64(" + x + "), " + cond + "))"
}

// rawPct is the percentile SQL for an aggregate over f's spans that the
// rollups cannot answer (a session, user or text filter, a session or
// user dimension): exact while f's range holds at most the exact limit
// of the project's calls (or the rollups cannot count them), t-digest
// estimates beyond, as from the rollups.
func (s *DB) rawPct(ctx context.Context, f store.Filter) (pctFunc, bool, error) {
	r := s.rollupFor(rangeOf(f))
	if !r.ok {
		return s.pct, true, nil
	}
	exact, err := s.exactPct(ctx, f, r)
	if err != nil || exact {
		return s.pct, exact, err
	}
	return tdigestPct, false, nil
}

type totals struct {
	store.Overview
	avgNS     float64
	dur, ttft []float64
}

func (t *totals) dest() []any {
	return []any{&t.Calls, &t.Errors, &t.InputTokens, &t.OutputTokens, &t.CachedTokens, &t.ReasoningTokens,
		&t.CostUSD, &t.CostUnknownCalls, &t.avgNS, &t.TTFTMS.Count, &t.dur, &t.ttft}
}

func ms(ns float64) float64 {
	if math.IsNaN(ns) || math.IsInf(ns, 0) {
		return 0
	}
	return ns / 1e6
}

func at(v []float64, i int) float64 {
	if i < len(v) {
		return ms(v[i])
	}
	return 0
}

func (t *totals) finish() {
	t.TotalTokens = t.InputTokens + t.OutputTokens
	if t.Calls > 0 {
		t.ErrorRate = float64(t.Errors) / float64(t.Calls)
	}
	t.DurationMS = store.Latency{Avg: ms(t.avgNS), P50: at(t.dur, 0), P95: at(t.dur, 1), P99: at(t.dur, 2)}
	t.TTFTMS.P50, t.TTFTMS.P95 = at(t.ttft, 0), at(t.ttft, 1)
}

// overview is the totals once scanned.
func (t *totals) overview() store.Overview {
	t.finish()
	return t.Overview
}

// Overview returns the totals of the calls the filter selects.
func (s *DB) Overview(ctx context.Context, f store.Filter) (store.Overview, error) {
	if err := f.Validate(); err != nil {
		return store.Overview{}, err
	}
	sc := s.newScope(f, scopeOpts{})
	if r := s.rollupFor(f); r.ok {
		return s.rollupOverview(ctx, f, r, sc)
	}
	pct, exact, err := s.rawPct(ctx, f)
	if err != nil {
		return store.Overview{}, err
	}
	if exact && !s.inclusive {
		return s.overviewByRank(ctx, sc)
	}
	q := "SELECT " + cheapTotals + ", " + pctTotalsWith(pct) + s.from(sc)
	var t totals
	if err := s.conn.QueryRow(ctx, q).Scan(t.dest()...); err != nil {
		return store.Overview{}, fmt.Errorf("overview: %w", err)
	}
	t.finish()
	return t.Overview, nil
}

// overviewByRank computes the overview's percentiles without sorting
// every value (18.16 has no quantilesExactInclusive): the sums first,
// whose counts say which ranks the interpolation needs, then those ranks
// by quantilesExact, which selects the value of rank floor(level*n).
func (s *DB) overviewByRank(ctx context.Context, sc scope) (store.Overview, error) {
	var t totals
	d := t.dest()
	if err := s.conn.QueryRow(ctx, "SELECT "+cheapTotals+s.from(sc)).Scan(d[:len(d)-2]...); err != nil {
		return store.Overview{}, fmt.Errorf("overview: %w", err)
	}
	if err := s.exactPercentiles(ctx, sc, &t); err != nil {
		return store.Overview{}, err
	}
	t.finish()
	return t.Overview, nil
}

// exactPercentiles sets t's percentiles exactly from the spans in scope,
// given t's counts.
func (s *DB) exactPercentiles(ctx context.Context, sc scope, t *totals) error {
	t.dur, t.ttft = nil, nil
	if s.inclusive {
		if err := s.conn.QueryRow(ctx, "SELECT "+s.pctTotals()+s.from(sc)).Scan(&t.dur, &t.ttft); err != nil {
			return fmt.Errorf("overview percentiles: %w", err)
		}
		return nil
	}
	if t.Calls > 0 {
		durL, durF := rankLevels(t.Calls, []float64{0.5, 0.95, 0.99})
		cols := "quantilesExact(" + levelParams(durL) + ")(toFloat64(duration_ns))"
		ttftL, ttftF := rankLevels(t.TTFTMS.Count, []float64{0.5, 0.95})
		if t.TTFTMS.Count > 0 {
			cols += ", quantilesExactIf(" + levelParams(ttftL) + ")(toFloat64(ttft_ns), ttft_ns > 0)"
		} else {
			cols += ", emptyArrayFloat64()"
		}
		var dur, ttft []float64
		if err := s.conn.QueryRow(ctx, "SELECT "+cols+s.from(sc)).Scan(&dur, &ttft); err != nil {
			return fmt.Errorf("overview percentiles: %w", err)
		}
		t.dur, t.ttft = interpolate(dur, durF), interpolate(ttft, ttftF)
	}
	return nil
}

// rankLevels returns, for n sorted values and each type 7 level q
// (h = q*(n-1)), quantileExact levels selecting the values of ranks
// floor(h) and floor(h)+1 (capped at n-1), and each frac(h).
func rankLevels(n int64, qs []float64) (levels, fracs []float64) {
	if n <= 0 {
		return nil, nil
	}
	for _, q := range qs {
		h := q * float64(n-1)
		lo := math.Floor(h)
		hi := min(lo+1, float64(n-1))
		levels = append(levels, (lo+0.5)/float64(n), (hi+0.5)/float64(n))
		fracs = append(fracs, h-lo)
	}
	return levels, fracs
}

// interpolate turns the pairs of ranked values into type 7 quantiles.
func interpolate(pairs, fracs []float64) []float64 {
	if len(pairs) != 2*len(fracs) {
		return nil
	}
	out := make([]float64, len(fracs))
	for i, f := range fracs {
		lo, hi := pairs[2*i], pairs[2*i+1]
		out[i] = lo + f*(hi-lo)
	}
	return out
}

// dimExpr is the SQL of a (valid) dimension over the scope.
func dimExpr(sc scope, dim string) string { return spanrows.DimSQL(dim, "", sc.session, sc.user) }

// Breakdown returns totals per value of a dimension.
func (s *DB) Breakdown(ctx context.Context, q store.BreakdownQuery) ([]store.BreakdownRow, error) {
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	if col := rollupDim(q.By); col != "" {
		if r := s.rollupFor(q.Filter); r.ok {
			if rows, done, err := s.rollupBreakdown(ctx, q, col, r); err != nil || done {
				return rows, err
			}
		}
	}
	sc := s.newScope(q.Filter, dimOpts(q.By))
	dim := dimExpr(sc, q.By)
	pct, _, err := s.rawPct(ctx, q.Filter)
	if err != nil {
		return nil, err
	}
	last := ""
	if store.LastSeenDim(q.By) {
		last = ", toInt64(max(start_ns))"
	}
	sqlText := "SELECT toString(" + dim + ") AS k, " + cheapTotals + ", " + pctTotalsWith(pct) + last + s.from(sc) +
		"GROUP BY k ORDER BY count() DESC, k LIMIT " + strconv.Itoa(q.Limit)
	rows, err := s.conn.Query(ctx, sqlText)
	if err != nil {
		return nil, fmt.Errorf("breakdown by %s: %w", q.By, err)
	}
	return spanrows.ScanBreakdown(rows, q.By, func() ([]any, func() store.Overview) {
		t := new(totals)
		return t.dest(), t.overview
	})
}

// metricValues are the value of each call that a metric aggregates and
// the condition for a call to have one (calls, errors and error_rate
// count calls instead).
var metricValues = map[string]struct{ x, cond string }{
	store.MetricInputTokens:  {"input_tokens", "1"},
	store.MetricOutputTokens: {"output_tokens", "1"},
	store.MetricTotalTokens:  {"(input_tokens + output_tokens)", "1"},
	store.MetricCostUSD:      {"cost_usd", "cost_known = 1"},
	store.MetricDurationMS:   {"(duration_ns / 1e6)", "1"},
	store.MetricTTFTMS:       {"(ttft_ns / 1e6)", "ttft_ns > 0"},
}

// metricSQL is the aggregate of a metric per bucket, and the count of the
// calls with a value (a bucket with none is omitted unless the
// aggregation is sum or count), for a normalized metric and aggregation
// (store.TimeseriesQuery.Normalize).
func metricSQL(metric, agg string, pct pctFunc) (val string, valued string, always bool) {
	switch metric {
	case store.MetricCalls:
		return "toFloat64(count())", "toInt64(count())", true
	case store.MetricErrors:
		return "toFloat64(countIf(status = 'error'))", "toInt64(count())", true
	case store.MetricErrorRate:
		return "toFloat64(countIf(status = 'error')) / count()", "toInt64(count())", true
	}
	m := metricValues[metric]
	x, cond := m.x, m.cond
	valued = "toInt64(countIf(" + cond + "))"
	if cond == "1" {
		valued = "toInt64(count())"
	}
	switch agg {
	case store.AggSum:
		return "toFloat64(sumIf(" + x + ", " + cond + "))", valued, true
	case store.AggCount:
		return "toFloat64(countIf(" + cond + "))", valued, true
	case store.AggAvg:
		return "toFloat64(avgIf(" + x + ", " + cond + "))", valued, false
	case store.AggMin:
		return "toFloat64(minIf(" + x + ", " + cond + "))", valued, false
	case store.AggMax:
		return "toFloat64(maxIf(" + x + ", " + cond + "))", valued, false
	}
	lv, _ := store.Quantile(agg)
	return pct(x, cond, []float64{lv}) + "[1]", valued, false
}

// Timeseries returns one metric per time bucket, per group.
func (s *DB) Timeseries(ctx context.Context, q store.TimeseriesQuery) ([]store.Series, error) {
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	pct := s.pct
	if _, ok := store.Quantile(q.Agg); ok {
		var err error
		if pct, _, err = s.rawPct(ctx, q.Filter); err != nil {
			return nil, err
		}
	}
	val, valued, always := metricSQL(q.Metric, q.Agg, pct)
	if out, done, err := s.rollupTimeseries(ctx, q); err != nil || done {
		return out, err
	}
	sc := s.newScope(q.Filter, dimOpts(q.GroupBy))
	iv := i64(q.Interval.Nanoseconds())
	bucket := "(start_ns - (start_ns % " + iv + "))"
	var groups []string
	g := "''"
	if q.GroupBy != "" {
		dim := dimExpr(sc, q.GroupBy)
		g = "toString(" + dim + ")"
		// The top groups by calls over the whole range first.
		var err error
		groups, err = s.topGroups(ctx, q.Metric, "SELECT "+g+" AS g"+s.from(sc)+"GROUP BY g ORDER BY count() DESC, g LIMIT "+strconv.Itoa(q.Limit))
		if err != nil || len(groups) == 0 {
			return []store.Series{}, err
		}
		sc.where = append(sc.where, g+" IN "+inList(groups))
	}
	series, err := s.querySeries(ctx, q.Metric, "SELECT "+g+" AS g, "+bucket+" AS t, "+val+" AS v, "+valued+" AS n"+s.from(sc)+"GROUP BY g, t ORDER BY g, t", always)
	if err != nil {
		return nil, err
	}
	return orderSeries(series, q.GroupBy, groups), nil
}

// topGroups runs a query of one string column: a timeseries' groups.
func (s *DB) topGroups(ctx context.Context, metric, sqlText string) ([]string, error) {
	rows, err := s.conn.Query(ctx, sqlText)
	if err != nil {
		return nil, fmt.Errorf("timeseries %s: groups: %w", metric, err)
	}
	defer rows.Close()
	var groups []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("timeseries %s: groups: %w", metric, err)
		}
		groups = append(groups, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("timeseries %s: groups: %w", metric, err)
	}
	return groups, nil
}

// inList is the values as an SQL list, for IN.
func inList(vals []string) string {
	lits := make([]string, len(vals))
	for i, v := range vals {
		lits[i] = lit(v)
	}
	return "(" + strings.Join(lits, ",") + ")"
}

// querySeries runs a query of (group, bucket start, value, calls with a
// value) rows into series by group. A bucket whose value is NaN is left
// out, and so is one with no valued call unless always.
func (s *DB) querySeries(ctx context.Context, metric, sqlText string, always bool) (map[string]*store.Series, error) {
	rows, err := s.conn.Query(ctx, sqlText)
	if err != nil {
		return nil, fmt.Errorf("timeseries %s: %w", metric, err)
	}
	defer rows.Close()
	series := map[string]*store.Series{}
	for rows.Next() {
		var gk string
		var t, n int64
		var v float64
		if err := rows.Scan(&gk, &t, &v, &n); err != nil {
			return nil, fmt.Errorf("timeseries %s: %w", metric, err)
		}
		if (!always && n == 0) || math.IsNaN(v) {
			continue
		}
		sr := series[gk]
		if sr == nil {
			sr = &store.Series{Group: gk, Points: []store.Point{}}
			series[gk] = sr
		}
		sr.Points = append(sr.Points, store.Point{Time: time.Unix(0, t).UTC(), Value: v})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("timeseries %s: %w", metric, err)
	}
	return series, nil
}

// UnknownModels lists the models of calls whose cost is unknown.
func (s *DB) UnknownModels(ctx context.Context, f store.Filter) ([]store.UnknownModel, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	sc := s.newScope(f, scopeOpts{})
	q := "SELECT provider, model, toInt64(count()) AS c, toInt64(max(start_ns))" + s.from(sc) +
		"AND cost_known = 0 GROUP BY provider, model ORDER BY c DESC, provider, model LIMIT 1000"
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("unknown models: %w", err)
	}
	return spanrows.ScanUnknownModels(rows)
}

// Steps returns the agent runs and tool calls the query selects.
func (s *DB) Steps(ctx context.Context, q store.StepsQuery) (store.Steps, error) {
	if err := q.Normalize(); err != nil {
		return store.Steps{}, err
	}
	sc := s.newScope(q.Filter, scopeOpts{all: true})
	sc.where = append(sc.where, spanrows.StepClasses(""))
	traces := func(class genai.Class, col, v string) string {
		return "(trace_hi, trace_lo) " + s.global + "IN (SELECT trace_hi, trace_lo FROM " + s.db + ".spans WHERE project = " +
			lit(q.Filter.Project) + " AND class = '" + string(class) + "' AND " + col + " = " + lit(v) + " AND " + windowSQL("start_ns", q.Filter) + ")"
	}
	if c := spanrows.StepFilter(q, "", lit, traces); c != "" {
		sc.where = append(sc.where, c)
	}
	sqlText := `SELECT class, if(class = 'agent', agent_name, tool_name) AS step_name, toInt64(count()),
		toInt64(countIf(status = 'error')), toInt64(sum(duration_ns)), toInt64(max(duration_ns))` +
		s.from(sc) + `GROUP BY class, step_name`
	rows, err := s.conn.Query(ctx, sqlText)
	if err != nil {
		return store.Steps{}, fmt.Errorf("steps: %w", err)
	}
	return spanrows.ScanSteps(rows, q)
}
