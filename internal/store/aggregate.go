package store

import "context"

// Aggregator is implemented by backends that can compute one aggregate of
// a metric over a whole time range: what an alert rule evaluates. It is
// optional (callers type-assert a Store); storetest checks it for every
// backend that implements it.
//
// Semantics (besides those of Store: GenAI calls only, one call counted
// once, Filter's [From, To) range, exact percentiles of type 7):
//   - Metric and Agg are those of Timeseries: Agg is ignored for calls,
//     errors and error_rate, and empty means the metric's default.
//   - Without SplitBy the answer is exactly one row with Key "", even over
//     no calls. With SplitBy (a Dim* constant) it is one row per value of
//     the dimension among the selected calls (calls without a value form
//     the key ""), ordered by calls (desc) then key, at most Limit rows;
//     no calls, no rows.
//   - Calls is the number of calls in the row. Count is the number of
//     values the aggregate was computed over: the calls for calls, errors
//     and error_rate; for duration_ms, ttft_ms and cost_usd only the calls
//     with a value (ttft_ms: TTFT > 0; cost_usd: cost known).
//   - When Count is 0 there is no data: Value is 0 (for sum and count
//     that is the true value; for the others it means "no value").
//   - Invalid requests (no project, unknown metric, aggregation or
//     dimension, Limit out of 0..1000) return errors wrapping ErrBadQuery.
type Aggregator interface {
	Aggregate(ctx context.Context, q AggregateQuery) ([]AggregateRow, error)
}

// AggregateQuery asks for one metric aggregated over the calls a filter
// selects, optionally one row per value of SplitBy.
type AggregateQuery struct {
	Filter  Filter
	Metric  string // a Metric* constant
	Agg     string // an Agg* constant; empty: the metric's default
	SplitBy string // empty, or a Dim* constant
	Limit   int    // rows when split, largest by calls first; 0 means 100
}

// AggregateRow is the aggregate of one group (Key "" when not split).
type AggregateRow struct {
	Key   string  `json:"key"`
	Value float64 `json:"value"`
	Calls int64   `json:"calls"`
	Count int64   `json:"count"`
}
