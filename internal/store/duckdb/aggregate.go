package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/genscope/genscope/internal/store"
)

// countSQL is the number of values metricSQL aggregates.
func countSQL(metric string) string {
	switch metric {
	case store.MetricCostUSD:
		return "count(s.cost_usd)"
	case store.MetricTTFTMS:
		return "count(*) FILTER (WHERE s.ttft_ns > 0)"
	}
	return "count(*)"
}

// Aggregate computes one metric over the whole range, per value of
// q.SplitBy when set.
func (s *DB) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateRow, error) {
	if err := checkFilter(q.Filter); err != nil {
		return nil, err
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 100
	case limit < 0 || limit > 1000:
		return nil, fmt.Errorf("%w: limit %d out of 0..1000", store.ErrBadQuery, limit)
	}
	val, err := metricSQL(q.Metric, q.Agg)
	if err != nil {
		return nil, err
	}
	var b sqlb
	sc := newScope(&b, q.Filter, dimOpts(q.SplitBy))
	key := "''"
	tail := ""
	if q.SplitBy != "" {
		if key, err = dimExpr(sc, q.SplitBy); err != nil {
			return nil, err
		}
		tail = "GROUP BY k ORDER BY 3 DESC, k LIMIT " + strconv.Itoa(limit)
	}
	sqlText := sc.with() + "SELECT " + key + " AS k, " + val + ", count(*), " + countSQL(q.Metric) + sc.from() + tail
	rows, err := s.sqlDB().QueryContext(ctx, sqlText, b.args...)
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Metric, err)
	}
	defer rows.Close()
	out := []store.AggregateRow{}
	for rows.Next() {
		var r store.AggregateRow
		var v sql.NullFloat64
		if err := rows.Scan(&r.Key, &v, &r.Calls, &r.Count); err != nil {
			return nil, fmt.Errorf("aggregate %s: %w", q.Metric, err)
		}
		if r.Count > 0 && v.Valid {
			r.Value = v.Float64
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Metric, err)
	}
	if q.SplitBy == "" && len(out) == 0 {
		out = append(out, store.AggregateRow{})
	}
	return out, nil
}
