package clickhouse

import (
	"context"
	"fmt"
	"strconv"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

var _ store.Aggregator = (*DB)(nil)

// Aggregate computes one aggregate of a metric over the filter's range,
// optionally per value of a dimension; see store.Aggregator.
func (s *DB) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateRow, error) {
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	val, valued, _ := metricSQL(q.Metric, q.Agg, s.pct)
	sc := s.newScope(q.Filter, dimOpts(q.SplitBy))
	k, tail := "''", ""
	if q.SplitBy != "" {
		k = "toString(" + dimExpr(sc, q.SplitBy) + ")"
		tail = "GROUP BY k ORDER BY count() DESC, k LIMIT " + strconv.Itoa(q.Limit)
	}
	rows, err := s.conn.Query(ctx, "SELECT "+k+" AS k, "+val+" AS v, toInt64(count()), "+valued+" AS n"+s.from(sc)+tail)
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Metric, err)
	}
	return spanrows.ScanAggregates(rows, q)
}
