package duckdb

import (
	"context"
	"fmt"
	"strconv"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

var _ store.Aggregator = (*DB)(nil)

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
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	val := metricSQL(q.Metric, q.Agg)
	var b sqlb
	sc := newScope(&b, q.Filter, dimOpts(q.SplitBy))
	key := "''"
	tail := ""
	if q.SplitBy != "" {
		key = dimExpr(sc, q.SplitBy)
		tail = "GROUP BY k ORDER BY 3 DESC, k LIMIT " + strconv.Itoa(q.Limit)
	}
	sqlText := sc.with() + "SELECT " + key + " AS k, " + val + ", count(*), " + countSQL(q.Metric) + sc.from() + tail
	rows, err := s.sqlDB().QueryContext(ctx, sqlText, b.args...)
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Metric, err)
	}
	return spanrows.ScanAggregates(rows, q)
}
