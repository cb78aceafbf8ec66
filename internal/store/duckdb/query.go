package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

// sqlb accumulates the numbered parameters of one statement.
type sqlb struct{ args []any }

// arg adds a parameter and returns its placeholder.
func (b *sqlb) arg(v any) string {
	if u, ok := v.(uint64); ok {
		// database/sql rejects uint64 values with the high bit set.
		return strconv.FormatUint(u, 10) + "::UBIGINT"
	}
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// scope is the FROM and WHERE of a query over spans (alias s) that a
// filter selects, with the CTEs it needs.
type scope struct {
	ctes  []string
	joins []string
	where []string
	// Expressions for the effective session and user; set when asked for.
	session, user string
}

// scopeOpts says what a query needs besides the filter.
type scopeOpts struct {
	all               bool // non-GenAI spans too
	session, user     bool // the effective session / user expressions
	ignoreSessionFilt bool // do not add the session filter (the caller did)
}

// dimOpts are the scope options a query grouped by dim needs.
func dimOpts(dim string) scopeOpts {
	return scopeOpts{session: dim == store.DimSession, user: dim == store.DimUser}
}

var window = store.CorrelationWindow.Nanoseconds()

func nanos(t time.Time) int64 { return t.UnixNano() }

// windowSQL is a predicate on col for the filter's time range widened by
// the correlation window.
func windowSQL(b *sqlb, col string, f store.Filter) string {
	var p []string
	if !f.From.IsZero() {
		p = append(p, col+" >= "+b.arg(nanos(f.From)-window))
	}
	if !f.To.IsZero() {
		p = append(p, col+" < "+b.arg(nanos(f.To)+window))
	}
	if len(p) == 0 {
		return "TRUE"
	}
	return strings.Join(p, " AND ")
}

// newScope builds the scope of filter f.
func newScope(b *sqlb, f store.Filter, o scopeOpts) scope {
	var sc scope
	p := b.arg(f.Project)
	sc.where = append(sc.where, "s.project = "+p)
	if !f.From.IsZero() {
		sc.where = append(sc.where, "s.start_ns >= "+b.arg(nanos(f.From)))
	}
	if !f.To.IsZero() {
		sc.where = append(sc.where, "s.start_ns < "+b.arg(nanos(f.To)))
	}
	if !o.all {
		sc.where = append(sc.where, "s.is_genai")
	}
	eq := func(col, v string) {
		if v != "" {
			sc.where = append(sc.where, col+" = "+b.arg(v))
		}
	}
	eq("s.service", f.Service)
	eq("s.provider", f.Provider)
	eq("s.operation", f.Operation)
	eq("s.status", string(f.Status))
	if f.Model != "" {
		m := b.arg(f.Model)
		sc.where = append(sc.where, "(s.request_model = "+m+" OR s.response_model = "+m+")")
	}
	if f.Text != "" {
		q := b.arg(strings.ToLower(f.Text))
		sc.ctes = append(sc.ctes, `txt AS (SELECT DISTINCT trace_hi, trace_lo, span_id,
			CASE kind WHEN 'system' THEN 1 WHEN 'input' THEN 2 ELSE 4 END AS bit
			FROM message_records WHERE project = `+p+` AND contains(text_lower, `+q+`) AND `+windowSQL(b, "time_ns", f)+`)`)
		sc.where = append(sc.where, `(contains(lower(s.content_text), `+q+`) OR EXISTS (SELECT 1 FROM txt
			WHERE txt.trace_hi = s.trace_hi AND txt.trace_lo = s.trace_lo AND txt.span_id = s.span_id
			AND (s.content_mask & txt.bit) = 0))`)
	}
	inherit := func(name, col, want string, need bool) string {
		if want == "" && !need {
			return ""
		}
		eff := "eff_" + strings.TrimSuffix(col, "_id")
		// Most spans were resolved when written (eff_*); the rest inherit
		// from trace_ctx (the spans carrying a session or user), looked up
		// for their traces only.
		sc.ctes = append(sc.ctes, `unres_`+name+` AS (SELECT DISTINCT trace_hi, trace_lo FROM spans
			WHERE project = `+p+` AND `+col+` = '' AND `+eff+` = '' AND `+windowSQL(b, "start_ns", f)+`)`)
		src := "trace_ctx SEMI JOIN unres_" + name + " USING (trace_hi, trace_lo)"
		if want != "" {
			// Only traces where some span carries the wanted value.
			sc.ctes = append(sc.ctes, `cand_`+name+` AS (SELECT DISTINCT trace_hi, trace_lo FROM trace_ctx
				WHERE project = `+p+` AND `+col+` = `+b.arg(want)+` AND `+windowSQL(b, "start_ns", f)+`)`)
			src += " SEMI JOIN cand_" + name + " USING (trace_hi, trace_lo)"
		}
		sc.ctes = append(sc.ctes, `inh_`+name+` AS (SELECT trace_hi, trace_lo, arg_min(`+col+`, (start_ns, span_id)) AS v
			FROM `+src+` WHERE project = `+p+` AND `+col+` <> '' AND `+windowSQL(b, "start_ns", f)+`
			GROUP BY trace_hi, trace_lo)`)
		sc.joins = append(sc.joins, `LEFT JOIN inh_`+name+` ON inh_`+name+`.trace_hi = s.trace_hi AND inh_`+name+`.trace_lo = s.trace_lo`)
		expr := `(CASE WHEN s.` + col + ` <> '' THEN s.` + col + ` WHEN s.` + eff + ` <> '' THEN s.` + eff +
			` ELSE coalesce(inh_` + name + `.v, '') END)`
		if want != "" {
			sc.where = append(sc.where, expr+" = "+b.arg(want))
		}
		return expr
	}
	for i, sf := range f.Scores {
		// The spans with a score satisfying sf, their ids as the spans
		// table keeps them (the scores table keeps them in hex).
		name := fmt.Sprintf("scored_%d", i)
		sc.ctes = append(sc.ctes, name+` AS (SELECT DISTINCT ('0x' || substr(trace_id, 1, 16))::UBIGINT AS trace_hi,
			('0x' || substr(trace_id, 17, 16))::UBIGINT AS trace_lo, ('0x' || span_id)::UBIGINT AS span_id
			FROM scores WHERE project = `+p+` AND span_id <> '' AND name = `+b.arg(sf.Name)+scoreCond(b, sf)+`)`)
		sc.where = append(sc.where, `EXISTS (SELECT 1 FROM `+name+` WHERE `+name+`.trace_hi = s.trace_hi AND `+name+`.trace_lo = s.trace_lo AND `+name+`.span_id = s.span_id)`)
	}
	sc.session = inherit("s", "session_id", f.Session, o.session)
	sc.user = inherit("u", "user_id", f.User, o.user || !f.Users.IsZero())
	sc.where = append(sc.where, spanrows.FilterConds(f, dialect(b), sc.user)...)
	return sc
}

// scoreCond is the condition (after AND) of a score filter's operator
// over the scores table.
func scoreCond(b *sqlb, sf store.ScoreFilter) string {
	switch sf.Op {
	case store.ScoreLT:
		return " AND value < " + b.arg(sf.Value)
	case store.ScoreGT:
		return " AND value > " + b.arg(sf.Value)
	case store.ScoreLabelIs:
		return " AND label = " + b.arg(sf.Label)
	}
	return ""
}

// dialect writes the filter bar's conditions over spans s, with b's
// parameters. Attributes are read from the detail JSON (by JSON
// pointer), after a substring test that skips the spans whose detail
// cannot hold the key without parsing it.
func dialect(b *sqlb) spanrows.Dialect {
	keyed := func(key, cond string) string {
		if strings.ContainsAny(key, "<>&") { // rows before 0004 may hold it escaped
			return cond
		}
		return "(contains(s.detail, " + b.arg(`"`+key+`":`) + ") AND " + cond + ")"
	}
	return spanrows.Dialect{
		Col:        func(name string) string { return "s." + name },
		Str:        func(v string) string { return b.arg(v) },
		Num:        func(v float64) string { return b.arg(v) },
		ContainsCI: func(x, lower string) string { return "contains(lower(" + x + "), " + b.arg(lower) + ")" },
		Metric:     func(m string) (string, string) { return metricValues[m], "TRUE" },
		AttrExists: func(key string) string {
			return keyed(key, "json_exists(s.detail, "+b.arg(attrPointer(key))+")")
		},
		AttrText: func(key string) string {
			// json_value is NULL for lists and maps, JSON null for null
			// (->> makes it NULL): one parse of the detail.
			return "(CASE WHEN " + keyed(key, "TRUE") + " THEN json_value(s.detail, " + b.arg(attrPointer(key)) + ") ->> '$' END)"
		},
	}
}

// attrPointer is the JSON pointer (RFC 6901) of the span attribute key
// in the detail.
func attrPointer(key string) string {
	return "/attributes/" + strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

func (sc scope) with() string {
	if len(sc.ctes) == 0 {
		return ""
	}
	return "WITH " + strings.Join(sc.ctes, ",\n") + "\n"
}

func (sc scope) from() string {
	return " FROM spans s " + strings.Join(sc.joins, " ") + " WHERE " + strings.Join(sc.where, " AND ") + " "
}

// cheapTotalsSQL and pctSQL are totalsSQL in two parts: the sums, and
// the percentiles, which cost memory for every value.
const (
	cheapTotalsSQL = `count(*),
	count(*) FILTER (WHERE s.status = 'error'),
	coalesce(sum(s.input_tokens), 0)::BIGINT,
	coalesce(sum(s.output_tokens), 0)::BIGINT,
	coalesce(sum(s.cached_tokens), 0)::BIGINT,
	coalesce(sum(s.reasoning_tokens), 0)::BIGINT,
	coalesce(sum(s.cost_usd), 0)::DOUBLE,
	count(*) FILTER (WHERE s.cost_usd IS NULL),
	avg(s.duration_ns)::DOUBLE,
	count(*) FILTER (WHERE s.ttft_ns > 0)`
	pctSQL = `quantile_cont(s.duration_ns::DOUBLE, [0.5, 0.95, 0.99]),
	quantile_cont(s.ttft_ns::DOUBLE, [0.5, 0.95]) FILTER (WHERE s.ttft_ns > 0)`
)

// totalsSQL computes, over the scope, the columns scanTotals reads.
const totalsSQL = `count(*),
	count(*) FILTER (WHERE s.status = 'error'),
	coalesce(sum(s.input_tokens), 0)::BIGINT,
	coalesce(sum(s.output_tokens), 0)::BIGINT,
	coalesce(sum(s.cached_tokens), 0)::BIGINT,
	coalesce(sum(s.reasoning_tokens), 0)::BIGINT,
	coalesce(sum(s.cost_usd), 0)::DOUBLE,
	count(*) FILTER (WHERE s.cost_usd IS NULL),
	avg(s.duration_ns)::DOUBLE,
	quantile_cont(s.duration_ns::DOUBLE, [0.5, 0.95, 0.99]),
	count(*) FILTER (WHERE s.ttft_ns > 0),
	quantile_cont(s.ttft_ns::DOUBLE, [0.5, 0.95]) FILTER (WHERE s.ttft_ns > 0)`

type totals struct {
	store.Overview
}

func (t *totals) dest() []any {
	return []any{&t.Calls, &t.Errors, &t.InputTokens, &t.OutputTokens, &t.CachedTokens, &t.ReasoningTokens,
		&t.CostUSD, &t.CostUnknownCalls, &nullMS{&t.DurationMS.Avg}, &quantiles{&t.DurationMS.P50, &t.DurationMS.P95, &t.DurationMS.P99},
		&t.TTFTMS.Count, &quantiles{&t.TTFTMS.P50, &t.TTFTMS.P95}}
}

// splitDest is dest in the column order of cheapTotalsSQL then pctSQL.
func (t *totals) splitDest() []any {
	return []any{&t.Calls, &t.Errors, &t.InputTokens, &t.OutputTokens, &t.CachedTokens, &t.ReasoningTokens,
		&t.CostUSD, &t.CostUnknownCalls, &nullMS{&t.DurationMS.Avg}, &t.TTFTMS.Count,
		&quantiles{&t.DurationMS.P50, &t.DurationMS.P95, &t.DurationMS.P99}, &quantiles{&t.TTFTMS.P50, &t.TTFTMS.P95}}
}

func (t *totals) finish() {
	t.TotalTokens = t.InputTokens + t.OutputTokens
	if t.Calls > 0 {
		t.ErrorRate = float64(t.Errors) / float64(t.Calls)
	}
}

// overview is the totals once scanned.
func (t *totals) overview() store.Overview {
	t.finish()
	return t.Overview
}

// nullMS scans a nullable nanosecond value as milliseconds (NULL: 0).
type nullMS struct{ p *float64 }

func (n *nullMS) Scan(v any) error {
	if v == nil {
		*n.p = 0
		return nil
	}
	f, ok := toFloat(v)
	if !ok {
		return fmt.Errorf("scan %T as number", v)
	}
	*n.p = f / 1e6
	return nil
}

// quantiles scans a LIST of nanosecond values as milliseconds.
type quantiles []*float64

func (q *quantiles) Scan(v any) error {
	if v == nil {
		for _, p := range *q {
			*p = 0
		}
		return nil
	}
	l, ok := v.([]any)
	if !ok || len(l) != len(*q) {
		return fmt.Errorf("scan %T as %d quantiles", v, len(*q))
	}
	for i, e := range l {
		if err := (&nullMS{(*q)[i]}).Scan(e); err != nil {
			return err
		}
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// Overview returns the totals of the calls the filter selects.
func (s *DB) Overview(ctx context.Context, f store.Filter) (store.Overview, error) {
	if err := f.Validate(); err != nil {
		return store.Overview{}, err
	}
	var b sqlb
	sc := newScope(&b, f, scopeOpts{})
	q := sc.with() + "SELECT " + totalsSQL + sc.from()
	var t totals
	if err := s.sqlDB().QueryRowContext(ctx, q, b.args...).Scan(t.dest()...); err != nil {
		return store.Overview{}, fmt.Errorf("overview: %w", err)
	}
	t.finish()
	return t.Overview, nil
}

// dimExpr is the SQL of a (valid) dimension over the scope.
func dimExpr(sc scope, dim string) string { return spanrows.DimSQL(dim, "s.", sc.session, sc.user) }

// Breakdown returns totals per value of a dimension.
func (s *DB) Breakdown(ctx context.Context, q store.BreakdownQuery) ([]store.BreakdownRow, error) {
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	var b sqlb
	sc := newScope(&b, q.Filter, dimOpts(q.By))
	dim := dimExpr(sc, q.By)
	// Two phases: the cheap totals of every value pick the top rows, then
	// the percentiles (which hold every duration in memory) are computed
	// for those values only. With thousands of users or sessions this
	// bounds memory and time by the rows shown, not by all of them.
	last, lastCol := "", ""
	if store.LastSeenDim(q.By) {
		last, lastCol = ", max(s.start_ns) AS last_ns", ", base.last_ns"
	}
	ctes := append(sc.ctes, `base AS (SELECT `+dim+` AS k, `+cheapTotalsSQL+last+sc.from()+
		`GROUP BY k ORDER BY 2 DESC, k LIMIT `+strconv.Itoa(q.Limit)+`)`,
		`pct AS (SELECT `+dim+` AS k, `+pctSQL+sc.from()+` AND `+dim+` IN (SELECT k FROM base) GROUP BY k)`)
	exclude := ""
	if last != "" {
		exclude = " EXCLUDE (last_ns)"
	}
	sqlText := "WITH " + strings.Join(ctes, ",\n") + "\nSELECT base.*" + exclude + ", pct.* EXCLUDE (k)" + lastCol + " FROM base LEFT JOIN pct ON pct.k = base.k ORDER BY 2 DESC, base.k"
	rows, err := s.sqlDB().QueryContext(ctx, sqlText, b.args...)
	if err != nil {
		return nil, fmt.Errorf("breakdown by %s: %w", q.By, err)
	}
	return spanrows.ScanBreakdown(rows, q.By, func() ([]any, func() store.Overview) {
		t := new(totals)
		return t.splitDest(), t.overview
	})
}

// metricValues are the value of each call that a metric aggregates
// (calls, errors and error_rate count calls instead).
var metricValues = map[string]string{
	store.MetricInputTokens:  "s.input_tokens::DOUBLE",
	store.MetricOutputTokens: "s.output_tokens::DOUBLE",
	store.MetricTotalTokens:  "(s.input_tokens + s.output_tokens)::DOUBLE",
	store.MetricCostUSD:      "s.cost_usd",
	store.MetricDurationMS:   "(s.duration_ns / 1e6)",
	store.MetricTTFTMS:       "(CASE WHEN s.ttft_ns > 0 THEN s.ttft_ns / 1e6 END)",
}

// aggFuncs are the aggregations of a value (its SQL in place of %s).
var aggFuncs = map[string]string{
	store.AggSum:   "coalesce(sum(%s), 0)::DOUBLE",
	store.AggAvg:   "avg(%s)::DOUBLE",
	store.AggMin:   "min(%s)::DOUBLE",
	store.AggMax:   "max(%s)::DOUBLE",
	store.AggCount: "count(%s)::DOUBLE",
	store.AggP50:   "quantile_cont(%s, 0.5)::DOUBLE",
	store.AggP90:   "quantile_cont(%s, 0.9)::DOUBLE",
	store.AggP95:   "quantile_cont(%s, 0.95)::DOUBLE",
	store.AggP99:   "quantile_cont(%s, 0.99)::DOUBLE",
}

// metricSQL is the aggregate of a metric per bucket, for a normalized
// metric and aggregation (store.TimeseriesQuery.Normalize).
func metricSQL(metric, agg string) string {
	switch metric {
	case store.MetricCalls:
		return "count(*)::DOUBLE"
	case store.MetricErrors:
		return "(count(*) FILTER (WHERE s.status = 'error'))::DOUBLE"
	case store.MetricErrorRate:
		return "(count(*) FILTER (WHERE s.status = 'error'))::DOUBLE / count(*)"
	}
	return strings.ReplaceAll(aggFuncs[agg], "%s", metricValues[metric])
}

// Timeseries returns one metric per time bucket, per group.
func (s *DB) Timeseries(ctx context.Context, q store.TimeseriesQuery) ([]store.Series, error) {
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	val := metricSQL(q.Metric, q.Agg)
	var b sqlb
	sc := newScope(&b, q.Filter, dimOpts(q.GroupBy))
	iv := b.arg(q.Interval.Nanoseconds())
	bucket := "(s.start_ns - (s.start_ns % " + iv + "))"
	var sqlText string
	if q.GroupBy == "" {
		sqlText = sc.with() + "SELECT '' AS g, 0 AS rk, " + bucket + " AS t, " + val + " AS v" + sc.from() +
			"GROUP BY t ORDER BY t"
	} else {
		dim := dimExpr(sc, q.GroupBy)
		// Rank the groups by calls over the whole range in a first pass
		// that reads only the columns the ranking needs.
		ctes := append(sc.ctes, `top AS (SELECT `+dim+` AS g, row_number() OVER (ORDER BY count(*) DESC, `+dim+`) AS rk`+
			sc.from()+`GROUP BY g ORDER BY rk LIMIT `+strconv.Itoa(q.Limit)+`)`)
		sqlText = "WITH " + strings.Join(ctes, ",\n") + "\nSELECT top.g, top.rk, " + bucket + " AS t, " + val +
			" AS v FROM spans s " + strings.Join(sc.joins, " ") + " JOIN top ON top.g = " + dim +
			" WHERE " + strings.Join(sc.where, " AND ") + " GROUP BY top.g, top.rk, t ORDER BY top.rk, t"
	}
	rows, err := s.sqlDB().QueryContext(ctx, sqlText, b.args...)
	if err != nil {
		return nil, fmt.Errorf("timeseries %s: %w", q.Metric, err)
	}
	defer rows.Close()
	out := []store.Series{}
	lastRank := int64(-1)
	for rows.Next() {
		var g string
		var rk, t int64
		var v sql.NullFloat64
		if err := rows.Scan(&g, &rk, &t, &v); err != nil {
			return nil, fmt.Errorf("timeseries %s: %w", q.Metric, err)
		}
		if rk != lastRank || len(out) == 0 {
			out = append(out, store.Series{Group: g, Points: []store.Point{}})
			lastRank = rk
		}
		if !v.Valid {
			continue
		}
		sr := &out[len(out)-1]
		sr.Points = append(sr.Points, store.Point{Time: time.Unix(0, t).UTC(), Value: v.Float64})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("timeseries %s: %w", q.Metric, err)
	}
	// A group whose every bucket had no value has no series.
	kept := out[:0]
	for _, sr := range out {
		if len(sr.Points) > 0 {
			kept = append(kept, sr)
		}
	}
	return kept, nil
}

// UnknownModels lists the models of calls whose cost is unknown.
func (s *DB) UnknownModels(ctx context.Context, f store.Filter) ([]store.UnknownModel, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var b sqlb
	sc := newScope(&b, f, scopeOpts{})
	q := sc.with() + "SELECT s.provider, s.model, count(*), max(s.start_ns)" + sc.from() +
		"AND s.cost_usd IS NULL GROUP BY s.provider, s.model ORDER BY 3 DESC, 1, 2 LIMIT 1000"
	rows, err := s.sqlDB().QueryContext(ctx, q, b.args...)
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
	var b sqlb
	sc := newScope(&b, q.Filter, scopeOpts{all: true})
	sc.where = append(sc.where, spanrows.StepClasses("s."))
	p := b.arg(q.Filter.Project)
	win := windowSQL(&b, "t.start_ns", q.Filter)
	traces := func(class genai.Class, col, v string) string {
		return `EXISTS (SELECT 1 FROM spans t WHERE t.project = ` + p + ` AND t.trace_hi = s.trace_hi AND t.trace_lo = s.trace_lo
			AND t.class = '` + string(class) + `' AND t.` + col + ` = ` + b.arg(v) + ` AND ` + win + `)`
	}
	if c := spanrows.StepFilter(q, "s.", func(v string) string { return b.arg(v) }, traces); c != "" {
		sc.where = append(sc.where, c)
	}
	sqlText := sc.with() + `SELECT s.class, CASE WHEN s.class = 'agent' THEN s.agent_name ELSE s.tool_name END AS n,
		count(*), count(*) FILTER (WHERE s.status = 'error'), coalesce(sum(s.duration_ns), 0)::BIGINT, coalesce(max(s.duration_ns), 0)::BIGINT` +
		sc.from() + `GROUP BY s.class, n`
	rows, err := s.sqlDB().QueryContext(ctx, sqlText, b.args...)
	if err != nil {
		return store.Steps{}, fmt.Errorf("steps: %w", err)
	}
	return spanrows.ScanSteps(rows, q)
}
