package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/store"
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

func checkFilter(f store.Filter) error {
	if f.Project == "" {
		return fmt.Errorf("%w: project is required", store.ErrBadQuery)
	}
	return nil
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
	sc.session = inherit("s", "session_id", f.Session, o.session)
	sc.user = inherit("u", "user_id", f.User, o.user)
	return sc
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
	if err := checkFilter(f); err != nil {
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

// dimExpr is the SQL of a dimension over the scope.
func dimExpr(sc scope, dim string) (string, error) {
	switch dim {
	case store.DimModel:
		return "s.model", nil
	case store.DimProvider:
		return "s.provider", nil
	case store.DimService:
		return "s.service", nil
	case store.DimOperation:
		return "s.operation", nil
	case store.DimStatus:
		return "s.status", nil
	case store.DimSession:
		return sc.session, nil
	case store.DimUser:
		return sc.user, nil
	}
	return "", fmt.Errorf("%w: unknown dimension %q", store.ErrBadQuery, dim)
}

func dimOpts(dim string) scopeOpts {
	return scopeOpts{session: dim == store.DimSession, user: dim == store.DimUser}
}

// Breakdown returns totals per value of a dimension.
func (s *DB) Breakdown(ctx context.Context, q store.BreakdownQuery) ([]store.BreakdownRow, error) {
	if err := checkFilter(q.Filter); err != nil {
		return nil, err
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 100
	case limit < 0 || limit > 10000:
		return nil, fmt.Errorf("%w: limit %d out of 0..10000", store.ErrBadQuery, limit)
	}
	var b sqlb
	sc := newScope(&b, q.Filter, dimOpts(q.By))
	dim, err := dimExpr(sc, q.By)
	if err != nil {
		return nil, err
	}
	// Two phases: the cheap totals of every value pick the top rows, then
	// the percentiles (which hold every duration in memory) are computed
	// for those values only. With thousands of users or sessions this
	// bounds memory and time by the rows shown, not by all of them.
	ctes := append(sc.ctes, `base AS (SELECT `+dim+` AS k, `+cheapTotalsSQL+sc.from()+
		`GROUP BY k ORDER BY 2 DESC, k LIMIT `+strconv.Itoa(limit)+`)`,
		`pct AS (SELECT `+dim+` AS k, `+pctSQL+sc.from()+` AND `+dim+` IN (SELECT k FROM base) GROUP BY k)`)
	sqlText := "WITH " + strings.Join(ctes, ",\n") + "\nSELECT base.*, pct.* EXCLUDE (k) FROM base LEFT JOIN pct ON pct.k = base.k ORDER BY 2 DESC, base.k"
	rows, err := s.sqlDB().QueryContext(ctx, sqlText, b.args...)
	if err != nil {
		return nil, fmt.Errorf("breakdown by %s: %w", q.By, err)
	}
	defer rows.Close()
	out := []store.BreakdownRow{}
	for rows.Next() {
		var t totals
		var key string
		if err := rows.Scan(append([]any{&key}, t.splitDest()...)...); err != nil {
			return nil, fmt.Errorf("breakdown by %s: %w", q.By, err)
		}
		t.finish()
		out = append(out, store.BreakdownRow{
			Key: key, Calls: t.Calls, Errors: t.Errors, ErrorRate: t.ErrorRate,
			InputTokens: t.InputTokens, OutputTokens: t.OutputTokens, TotalTokens: t.TotalTokens,
			CostUSD: t.CostUSD, CostUnknownCalls: t.CostUnknownCalls, DurationMS: t.DurationMS,
		})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("breakdown by %s: %w", q.By, err)
	}
	return out, nil
}

// metricSQL is the aggregate of a metric per bucket.
func metricSQL(metric, agg string) (string, error) {
	var x string
	def := store.AggSum
	switch metric {
	case store.MetricCalls:
		return "count(*)::DOUBLE", nil
	case store.MetricErrors:
		return "(count(*) FILTER (WHERE s.status = 'error'))::DOUBLE", nil
	case store.MetricErrorRate:
		return "(count(*) FILTER (WHERE s.status = 'error'))::DOUBLE / count(*)", nil
	case store.MetricInputTokens:
		x = "s.input_tokens::DOUBLE"
	case store.MetricOutputTokens:
		x = "s.output_tokens::DOUBLE"
	case store.MetricTotalTokens:
		x = "(s.input_tokens + s.output_tokens)::DOUBLE"
	case store.MetricCostUSD:
		x = "s.cost_usd"
	case store.MetricDurationMS:
		x, def = "(s.duration_ns / 1e6)", store.AggAvg
	case store.MetricTTFTMS:
		x, def = "(CASE WHEN s.ttft_ns > 0 THEN s.ttft_ns / 1e6 END)", store.AggAvg
	default:
		return "", fmt.Errorf("%w: unknown metric %q", store.ErrBadQuery, metric)
	}
	if agg == "" {
		agg = def
	}
	switch agg {
	case store.AggSum:
		return "coalesce(sum(" + x + "), 0)::DOUBLE", nil
	case store.AggAvg:
		return "avg(" + x + ")::DOUBLE", nil
	case store.AggMin:
		return "min(" + x + ")::DOUBLE", nil
	case store.AggMax:
		return "max(" + x + ")::DOUBLE", nil
	case store.AggCount:
		return "count(" + x + ")::DOUBLE", nil
	case store.AggP50:
		return "quantile_cont(" + x + ", 0.5)::DOUBLE", nil
	case store.AggP90:
		return "quantile_cont(" + x + ", 0.9)::DOUBLE", nil
	case store.AggP95:
		return "quantile_cont(" + x + ", 0.95)::DOUBLE", nil
	case store.AggP99:
		return "quantile_cont(" + x + ", 0.99)::DOUBLE", nil
	}
	return "", fmt.Errorf("%w: unknown aggregation %q", store.ErrBadQuery, agg)
}

// Timeseries returns one metric per time bucket, per group.
func (s *DB) Timeseries(ctx context.Context, q store.TimeseriesQuery) ([]store.Series, error) {
	if err := checkFilter(q.Filter); err != nil {
		return nil, err
	}
	if q.Interval <= 0 {
		return nil, fmt.Errorf("%w: interval must be positive", store.ErrBadQuery)
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 10
	case limit < 0 || limit > 1000:
		return nil, fmt.Errorf("%w: limit %d out of 0..1000", store.ErrBadQuery, limit)
	}
	val, err := metricSQL(q.Metric, q.Agg)
	if err != nil {
		return nil, err
	}
	var b sqlb
	sc := newScope(&b, q.Filter, dimOpts(q.GroupBy))
	iv := b.arg(q.Interval.Nanoseconds())
	bucket := "(s.start_ns - (s.start_ns % " + iv + "))"
	var sqlText string
	if q.GroupBy == "" {
		sqlText = sc.with() + "SELECT '' AS g, 0 AS rk, " + bucket + " AS t, " + val + " AS v" + sc.from() +
			"GROUP BY t ORDER BY t"
	} else {
		dim, err := dimExpr(sc, q.GroupBy)
		if err != nil {
			return nil, err
		}
		// Rank the groups by calls over the whole range in a first pass
		// that reads only the columns the ranking needs.
		ctes := append(sc.ctes, `top AS (SELECT `+dim+` AS g, row_number() OVER (ORDER BY count(*) DESC, `+dim+`) AS rk`+
			sc.from()+`GROUP BY g ORDER BY rk LIMIT `+strconv.Itoa(limit)+`)`)
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
	if err := checkFilter(f); err != nil {
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
	defer rows.Close()
	out := []store.UnknownModel{}
	for rows.Next() {
		var m store.UnknownModel
		var last int64
		if err := rows.Scan(&m.Provider, &m.Model, &m.Calls, &last); err != nil {
			return nil, fmt.Errorf("unknown models: %w", err)
		}
		m.LastSeen = time.Unix(0, last).UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("unknown models: %w", err)
	}
	return out, nil
}
