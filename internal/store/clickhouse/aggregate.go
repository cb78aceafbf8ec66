package clickhouse

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/genscope/genscope/internal/store"
)

// Aggregate computes one aggregate of a metric over the filter's range,
// optionally per value of a dimension; see store.Aggregator.
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
	val, valued, _, err := metricSQL(q.Metric, q.Agg, s.pct)
	if err != nil {
		return nil, err
	}
	if q.SplitBy != "" {
		if err := checkDim(q.SplitBy); err != nil {
			return nil, err
		}
	}
	sc := s.newScope(q.Filter, dimOpts(q.SplitBy))
	k, tail := "''", ""
	if q.SplitBy != "" {
		dim, _ := dimExpr(sc, q.SplitBy)
		k = "toString(" + dim + ")"
		tail = "GROUP BY k ORDER BY count() DESC, k LIMIT " + strconv.Itoa(limit)
	}
	rows, err := s.conn.Query(ctx, "SELECT "+k+" AS k, "+val+" AS v, "+valued+" AS n, toInt64(count())"+s.from(sc)+tail)
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Metric, err)
	}
	defer rows.Close()
	out := []store.AggregateRow{}
	for rows.Next() {
		var r store.AggregateRow
		if err := rows.Scan(&r.Key, &r.Value, &r.Count, &r.Calls); err != nil {
			return nil, fmt.Errorf("aggregate %s: %w", q.Metric, err)
		}
		if r.Count == 0 || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			r.Value = 0
		}
		if q.SplitBy != "" && r.Calls == 0 {
			continue
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
