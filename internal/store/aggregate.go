package store

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
