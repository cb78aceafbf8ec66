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
)

var _ store.MetricStore = (*DB)(nil)

// The methods below keep the GenAI metrics (store.MetricStore) in
// metric_points. Writes run on the writer's connection under its lock,
// between span batches, so reading a series' latest row and appending
// the next one cannot interleave with another metrics write.

// WriteMetrics stores points, cumulative ones as deltas; see
// store.MetricStore.
func (s *DB) WriteMetrics(ctx context.Context, pts []genai.MetricPoint) error {
	if len(pts) == 0 {
		return nil
	}
	return s.writeMetrics(ctx, "write metrics", store.PointsWrite(pts))
}

// WriteMetricRows stores rows read from a store (genscope copy).
func (s *DB) WriteMetricRows(ctx context.Context, rows []store.MetricRow) error {
	if len(rows) == 0 {
		return nil
	}
	return s.writeMetrics(ctx, "write metric rows", store.RowsWrite(rows))
}

func (s *DB) writeMetrics(ctx context.Context, what string, w store.MetricWrite) error {
	_, err := s.retain(ctx, what, func(c *sql.Conn) (int64, error) {
		last, err := latestMetricStates(ctx, c, w.Series)
		if err != nil {
			return 0, err
		}
		rows := w.Rows(last)
		for start := 0; start < len(rows); start += 500 {
			if err := insertMetricRows(ctx, c, rows[start:min(start+500, len(rows))]); err != nil {
				return 0, err
			}
		}
		return int64(len(rows)), nil
	})
	return err
}

// latestMetricStates reads the latest stored row of each series.
func latestMetricStates(ctx context.Context, c *sql.Conn, keys map[string][]uint64) (map[uint64]store.MetricState, error) {
	last := map[uint64]store.MetricState{}
	for project, series := range keys {
		var in strings.Builder
		for i, k := range series {
			if i > 0 {
				in.WriteByte(',')
			}
			in.WriteString(strconv.FormatUint(k, 10))
		}
		rows, err := c.QueryContext(ctx, `SELECT series, max(time_ns), arg_max(cum_start, time_ns), arg_max(cum_count, time_ns),
			arg_max(cum_sum, time_ns), arg_max(cum_buckets, time_ns)::VARCHAR
			FROM metric_points WHERE project = $1 AND series IN (`+in.String()+`) GROUP BY series`, project)
		if err != nil {
			return nil, fmt.Errorf("latest metric points: %w", err)
		}
		for rows.Next() {
			var (
				k  uint64
				st store.MetricState
				b  string
			)
			if err := rows.Scan(&k, &st.Time, &st.CumStart, &st.CumCount, &st.CumSum, &b); err != nil {
				rows.Close()
				return nil, fmt.Errorf("latest metric points: %w", err)
			}
			if st.CumBuckets, err = parseInts(b); err != nil {
				rows.Close()
				return nil, fmt.Errorf("latest metric points: %w", err)
			}
			last[k] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("latest metric points: %w", err)
		}
	}
	return last, nil
}

const metricColumns = `project, series, name, service, provider, operation, model, response_model, token_type, error_type,
	start_ns, time_ns, cnt, total, bounds, buckets, cum_start, cum_count, cum_sum, cum_buckets`

func insertMetricRows(ctx context.Context, c *sql.Conn, rows []store.MetricRow) error {
	if len(rows) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO metric_points (` + metricColumns + `) VALUES `)
	args := make([]any, 0, len(rows)*17)
	for i := range rows {
		r := &rows[i]
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(`(?, ` + strconv.FormatUint(r.Series, 10) + `, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ` + floatList(r.Bounds) + `, ` + intList(r.Buckets) +
			`, ?, ?, ?, ` + intList(r.CumBuckets) + `)`)
		args = append(args, r.Project, r.Name, r.Service, r.Provider, r.Operation, r.Model, r.ResponseModel,
			r.TokenType, r.ErrorType, r.StartUnixNano, r.TimeUnixNano, r.Count, r.Sum, r.CumStart, r.CumCount, r.CumSum)
	}
	if _, err := c.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("insert metric points: %w", err)
	}
	return nil
}

// floatList and intList are SQL list literals (the values are numbers:
// nothing to escape; the converter admits finite bounds only).
func floatList(v []float64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, f := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	}
	b.WriteString("]::DOUBLE[]")
	return b.String()
}

func intList(v []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, n := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(n, 10))
	}
	b.WriteString("]::BIGINT[]")
	return b.String()
}

// parseInts and parseFloats read a list cast to VARCHAR ("[1, 2]").
func parseInts(s string) ([]int64, error) {
	return parseList(s, func(p string) (int64, error) { return strconv.ParseInt(p, 10, 64) })
}

func parseFloats(s string) ([]float64, error) {
	return parseList(s, func(p string) (float64, error) { return strconv.ParseFloat(p, 64) })
}

func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	parts, err := listItems(s)
	if err != nil || len(parts) == 0 {
		return nil, err
	}
	out := make([]T, len(parts))
	for i, p := range parts {
		if out[i], err = parse(p); err != nil {
			return nil, fmt.Errorf("list %q: %w", s, err)
		}
	}
	return out, nil
}

func listItems(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, fmt.Errorf("not a list: %q", s)
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

// MetricTotals sums the selected rows per group; see store.MetricStore.
func (s *DB) MetricTotals(ctx context.Context, f store.Filter) ([]store.MetricTotal, error) {
	if f.Project == "" {
		return nil, fmt.Errorf("%w: no project", store.ErrBadQuery)
	}
	if !store.MetricSelects(f) {
		return nil, nil
	}
	where, args := metricWhere(f)
	// Spans win: only services with GenAI spans in the range (widened by
	// CorrelationWindow for intervals that start earlier) need the
	// per-row check, so an app that sends metrics alone costs none.
	var (
		q     = `SELECT DISTINCT service FROM spans WHERE project = ? AND operation <> ''`
		qargs = []any{f.Project}
	)
	if !f.From.IsZero() {
		q += ` AND start_ns >= ?`
		qargs = append(qargs, f.From.Add(-store.CorrelationWindow).UnixNano())
	}
	if !f.To.IsZero() {
		q += ` AND start_ns < ?`
		qargs = append(qargs, f.To.UnixNano())
	}
	svcRows, err := s.sqlDB().QueryContext(ctx, q, qargs...)
	if err != nil {
		return nil, fmt.Errorf("metric totals: services with spans: %w", err)
	}
	var withSpans []any
	for svcRows.Next() {
		var svc string
		if err := svcRows.Scan(&svc); err != nil {
			svcRows.Close()
			return nil, fmt.Errorf("metric totals: services with spans: %w", err)
		}
		withSpans = append(withSpans, svc)
	}
	svcRows.Close()
	if err := svcRows.Err(); err != nil {
		return nil, fmt.Errorf("metric totals: services with spans: %w", err)
	}
	sel := `WITH m AS (SELECT * FROM metric_points m WHERE ` + where + `)`
	if len(withSpans) > 0 {
		min := strconv.FormatInt(store.SpansWinMinute, 10)
		sel = `WITH m AS (SELECT * FROM metric_points m WHERE ` + where + `
		AND NOT (m.service IN (?` + strings.Repeat(`, ?`, len(withSpans)-1) + `) AND EXISTS (SELECT 1 FROM spans s
			WHERE s.project = m.project AND s.service = m.service AND s.model = m.model
			AND s.operation <> '' AND s.start_ns >= (m.start_ns // ` + min + `) * ` + min + `
			AND s.start_ns < ((m.time_ns - 1) // ` + min + ` + 1) * ` + min + `)))`
		args = append(args, withSpans...)
	}
	// The buckets are summed element by element (list_reduce over the
	// group's lists; a group's rows share their bounds, so their lengths).
	rows, err := s.sqlDB().QueryContext(ctx, sel+` SELECT service, provider, model, name, token_type, error_type <> '', bounds::VARCHAR,
		sum(cnt)::BIGINT, sum(total),
		coalesce(list_reduce(list(buckets) FILTER (WHERE len(buckets) > 0),
			(x, y) -> list_transform(range(1, len(x) + 1), i -> x[i] + y[i]))::VARCHAR, '')
		FROM m GROUP BY ALL ORDER BY ALL`, args...)
	if err != nil {
		return nil, fmt.Errorf("metric totals: %w", err)
	}
	defer rows.Close()
	var out []store.MetricTotal
	for rows.Next() {
		var (
			t               store.MetricTotal
			bounds, buckets string
		)
		if err := rows.Scan(&t.Service, &t.Provider, &t.Model, &t.Name, &t.TokenType, &t.Error, &bounds, &t.Count, &t.Sum, &buckets); err != nil {
			return nil, fmt.Errorf("metric totals: %w", err)
		}
		if t.Bounds, err = parseFloats(bounds); err == nil {
			t.Buckets, err = parseInts(buckets)
		}
		if err != nil {
			return nil, fmt.Errorf("metric totals: %w", err)
		}
		if len(t.Buckets) != len(t.Bounds)+1 {
			t.Bounds, t.Buckets = nil, nil
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// metricWhere is the filter's condition on metric_points (alias m).
func metricWhere(f store.Filter) (string, []any) {
	var w strings.Builder
	args := []any{f.Project}
	w.WriteString(`m.project = ?`)
	add := func(cond string, v any) {
		w.WriteString(` AND ` + cond)
		args = append(args, v)
	}
	if !f.From.IsZero() {
		add(`m.time_ns >= ?`, f.From.UnixNano())
	}
	if !f.To.IsZero() {
		add(`m.time_ns < ?`, f.To.UnixNano())
	}
	if f.Service != "" {
		add(`m.service = ?`, f.Service)
	}
	if f.Provider != "" {
		add(`m.provider = ?`, f.Provider)
	}
	if f.Model != "" {
		w.WriteString(` AND (m.model = ? OR m.response_model = ?)`)
		args = append(args, f.Model, f.Model)
	}
	if f.Operation != "" {
		add(`m.operation = ?`, f.Operation)
	}
	switch f.Status {
	case genai.StatusError:
		w.WriteString(` AND m.error_type <> ''`)
	case "":
	default:
		w.WriteString(` AND m.error_type = ''`)
	}
	return w.String(), args
}

// MetricRows calls fn with the stored rows whose time is in [from, to).
func (s *DB) MetricRows(ctx context.Context, from, to time.Time, batchSize int, fn func([]store.MetricRow) error) error {
	if batchSize <= 0 {
		batchSize = 1000
	}
	rows, err := s.sqlDB().QueryContext(ctx, `SELECT `+strings.ReplaceAll(strings.ReplaceAll(metricColumns, "bounds", "bounds::VARCHAR"), "buckets", "buckets::VARCHAR")+
		` FROM metric_points WHERE time_ns >= $1 AND time_ns < $2 ORDER BY project, series, time_ns`, from.UnixNano(), to.UnixNano())
	if err != nil {
		return fmt.Errorf("read metric points: %w", err)
	}
	defer rows.Close()
	var batch []store.MetricRow
	for rows.Next() {
		var (
			r                         store.MetricRow
			bounds, buckets, cumBucks string
		)
		if err := rows.Scan(&r.Project, &r.Series, &r.Name, &r.Service, &r.Provider, &r.Operation, &r.Model, &r.ResponseModel,
			&r.TokenType, &r.ErrorType, &r.StartUnixNano, &r.TimeUnixNano, &r.Count, &r.Sum, &bounds, &buckets,
			&r.CumStart, &r.CumCount, &r.CumSum, &cumBucks); err != nil {
			return fmt.Errorf("read metric points: %w", err)
		}
		if r.Bounds, err = parseFloats(bounds); err == nil {
			if r.Buckets, err = parseInts(buckets); err == nil {
				r.CumBuckets, err = parseInts(cumBucks)
			}
		}
		if err != nil {
			return fmt.Errorf("read metric points: %w", err)
		}
		batch = append(batch, r)
		if len(batch) == batchSize {
			if err := fn(batch); err != nil {
				return err
			}
			batch = nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read metric points: %w", err)
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}
