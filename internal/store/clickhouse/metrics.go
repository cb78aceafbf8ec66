package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

var _ store.MetricStore = (*DB)(nil)

// The methods below keep the GenAI metrics (store.MetricStore) in
// metric_points (sql/0004_metric_points.sql). A write reads the latest
// row of each of its series and inserts the new rows synchronously; the
// writes of one node are serialized, so the deltas of a series are
// computed against every row this node stored. Nodes sharing the
// database compute a series' deltas against what the others stored too
// (the read goes to its shard), unless two write the same series at the
// same instant: then both may count the interval (a client sends a series
// to one node at a time, unless a load balancer splits its retries).

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
	s.metricsMu.Lock()
	defer s.metricsMu.Unlock()
	last, err := s.latestMetricStates(ctx, w.Series)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	rows := w.Rows(last)
	if len(rows) == 0 {
		return nil
	}
	var r rowBinary
	for i := range rows {
		m := &rows[i]
		r.day(m.TimeUnixNano)
		r.str(m.Project)
		r.u64(m.Series)
		for _, v := range []string{m.Name, m.Service, m.Provider, m.Operation, m.Model, m.ResponseModel, m.TokenType, m.ErrorType} {
			r.str(v)
		}
		r.i64(m.StartUnixNano)
		r.i64(m.TimeUnixNano)
		r.i64(m.Count)
		r.f64(m.Sum)
		r.floats(m.Bounds)
		r.ints(m.Buckets)
		r.i64(m.CumStart)
		r.i64(m.CumCount)
		r.f64(m.CumSum)
		r.ints(m.CumBuckets)
	}
	if err := s.ins.insert(ctx, s.db+".metric_points", r.buf); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// floats and ints write RowBinary arrays.
func (r *rowBinary) floats(v []float64) {
	r.uvarint(uint64(len(v)))
	for _, f := range v {
		r.f64(f)
	}
}

func (r *rowBinary) ints(v []int64) {
	r.uvarint(uint64(len(v)))
	for _, n := range v {
		r.i64(n)
	}
}

func (r *rowBinary) uvarint(n uint64) {
	for n >= 0x80 {
		r.buf = append(r.buf, byte(n)|0x80)
		n >>= 7
	}
	r.buf = append(r.buf, byte(n))
}

// latestMetricStates reads the latest stored row of each series.
func (s *DB) latestMetricStates(ctx context.Context, keys map[string][]uint64) (map[uint64]store.MetricState, error) {
	last := map[uint64]store.MetricState{}
	for project, series := range keys {
		var in strings.Builder
		for i, k := range series {
			if i > 0 {
				in.WriteByte(',')
			}
			in.WriteString(u64(k))
		}
		rows, err := s.conn.Query(ctx, `SELECT series, max(time_ns), argMax(cum_start, time_ns), argMax(cum_count, time_ns),
			argMax(cum_sum, time_ns), argMax(cum_buckets, time_ns)
			FROM `+s.db+`.metric_points WHERE project = `+lit(project)+` AND series IN (`+in.String()+`) GROUP BY series`)
		if err != nil {
			return nil, fmt.Errorf("latest metric points: %w", err)
		}
		for rows.Next() {
			var (
				k  uint64
				st store.MetricState
			)
			if err := rows.Scan(&k, &st.Time, &st.CumStart, &st.CumCount, &st.CumSum, &st.CumBuckets); err != nil {
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

// MetricTotals sums the selected rows per group; see store.MetricStore.
// The spans-win rule joins each row's service and model with the minutes
// (of the selected time, widened by store.CorrelationWindow for rows whose
// interval starts earlier) that hold GenAI spans of theirs.
func (s *DB) MetricTotals(ctx context.Context, f store.Filter) ([]store.MetricTotal, error) {
	if f.Project == "" {
		return nil, fmt.Errorf("%w: no project", store.ErrBadQuery)
	}
	if !store.MetricSelects(f) {
		return nil, nil
	}
	where := []string{`project = ` + lit(f.Project)}
	spanWhere := []string{`project = ` + lit(f.Project), `operation != ''`}
	if !f.From.IsZero() {
		where = append(where, `time_ns >= `+i64(f.From.UnixNano()))
		spanWhere = append(spanWhere, `start_ns >= `+i64(f.From.Add(-store.CorrelationWindow).UnixNano()))
	}
	if !f.To.IsZero() {
		where = append(where, `time_ns < `+i64(f.To.UnixNano()))
		spanWhere = append(spanWhere, `start_ns < `+i64(f.To.UnixNano()))
	}
	if f.Service != "" {
		where = append(where, `service = `+lit(f.Service))
		spanWhere = append(spanWhere, `service = `+lit(f.Service))
	}
	if f.Provider != "" {
		where = append(where, `provider = `+lit(f.Provider))
	}
	if f.Model != "" {
		where = append(where, `(model = `+lit(f.Model)+` OR response_model = `+lit(f.Model)+`)`)
	}
	if f.Operation != "" {
		where = append(where, `operation = `+lit(f.Operation))
	}
	switch f.Status {
	case genai.StatusError:
		where = append(where, `error_type != ''`)
	case "":
	default:
		where = append(where, `error_type = ''`)
	}
	m := i64(store.SpansWinMinute)
	// min(m_start) and max(m_time) are selected because 18.16 forgets the
	// columns only a lambda uses when the query also aggregates ("Unknown
	// identifier"); they are not used.
	q := `SELECT service, provider, model, name, token_type, toUInt8(error_type != '') AS err, bounds,
			sum(cnt), sum(total), sumForEach(buckets), min(m_start), max(m_time)
		FROM (SELECT service, provider, model, name, token_type, error_type, bounds, buckets, cnt, total, start_ns AS m_start, time_ns AS m_time
			FROM ` + s.db + `.metric_points WHERE ` + strings.Join(where, ` AND `) + `)
		ANY LEFT JOIN (SELECT service, model, groupUniqArray(intDiv(start_ns, ` + m + `)) AS span_minutes
			FROM ` + s.db + `.spans WHERE ` + strings.Join(spanWhere, ` AND `) + ` GROUP BY service, model) USING (service, model)
		WHERE NOT arrayExists(x -> x >= intDiv(m_start, ` + m + `) AND x <= intDiv(m_time - 1, ` + m + `), span_minutes)
		GROUP BY service, provider, model, name, token_type, err, bounds
		ORDER BY service, provider, model, name, token_type, err, bounds`
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("metric totals: %w", err)
	}
	defer rows.Close()
	var out []store.MetricTotal
	for rows.Next() {
		var (
			t            store.MetricTotal
			e            uint8
			first, final int64
		)
		if err := rows.Scan(&t.Service, &t.Provider, &t.Model, &t.Name, &t.TokenType, &e, &t.Bounds, &t.Count, &t.Sum, &t.Buckets, &first, &final); err != nil {
			return nil, fmt.Errorf("metric totals: %w", err)
		}
		t.Error = e == 1
		if len(t.Bounds) == 0 {
			t.Bounds = nil
		}
		if len(t.Buckets) == 0 {
			t.Buckets = nil
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// MetricRows calls fn with the stored rows whose time is in [from, to),
// by series then time.
func (s *DB) MetricRows(ctx context.Context, from, to time.Time, batchSize int, fn func([]store.MetricRow) error) error {
	if batchSize <= 0 {
		batchSize = 1000
	}
	rows, err := s.conn.Query(ctx, `SELECT project, series, name, service, provider, operation, model, response_model, token_type, error_type,
		start_ns, time_ns, cnt, total, bounds, buckets, cum_start, cum_count, cum_sum, cum_buckets
		FROM `+s.db+`.metric_points WHERE time_ns >= `+i64(from.UnixNano())+` AND time_ns < `+i64(to.UnixNano())+
		` ORDER BY project, series, time_ns LIMIT 1 BY project, series, time_ns`)
	if err != nil {
		return fmt.Errorf("read metric points: %w", err)
	}
	var all []store.MetricRow
	for rows.Next() {
		var r store.MetricRow
		if err := rows.Scan(&r.Project, &r.Series, &r.Name, &r.Service, &r.Provider, &r.Operation, &r.Model, &r.ResponseModel,
			&r.TokenType, &r.ErrorType, &r.StartUnixNano, &r.TimeUnixNano, &r.Count, &r.Sum, &r.Bounds, &r.Buckets,
			&r.CumStart, &r.CumCount, &r.CumSum, &r.CumBuckets); err != nil {
			rows.Close()
			return fmt.Errorf("read metric points: %w", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read metric points: %w", err)
	}
	for start := 0; start < len(all); start += batchSize {
		if err := fn(all[start:min(start+batchSize, len(all))]); err != nil {
			return err
		}
	}
	return nil
}
