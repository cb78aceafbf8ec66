package store

import (
	"errors"
	"testing"
	"time"
)

// TestNormalize: every query type's check refuses what backends cannot
// answer with ErrBadQuery and the message the API shows, and fills in
// the defaults of what it accepts.
func TestNormalize(t *testing.T) {
	f := Filter{Project: "p"}
	bad := []struct {
		name string
		err  error
		want string
	}{
		{"filter", Filter{}.Validate(), "bad query: project is required"},
		{"spans order", (&SpansQuery{Filter: f, Order: "color"}).Normalize(), `bad query: order "color" is not one of time, duration, tokens`},
		{"spans limit", (&SpansQuery{Filter: f, Limit: 5000}).Normalize(), "bad query: limit 5000 out of 1..1000"},
		{"spans project", (&SpansQuery{}).Normalize(), "bad query: project is required"},
		{"sessions limit", (&SessionsQuery{Filter: f, Limit: -1}).Normalize(), "bad query: limit -1 out of 0..1000"},
		{"breakdown dim", (&BreakdownQuery{Filter: f, By: "color"}).Normalize(), `bad query: unknown dimension "color"`},
		{"breakdown no dim", (&BreakdownQuery{Filter: f}).Normalize(), `bad query: unknown dimension ""`},
		{"breakdown limit", (&BreakdownQuery{Filter: f, By: DimModel, Limit: 10001}).Normalize(), "bad query: limit 10001 out of 0..10000"},
		{"timeseries interval", (&TimeseriesQuery{Filter: f, Metric: MetricCalls}).Normalize(), "bad query: interval must be positive"},
		{"timeseries metric", (&TimeseriesQuery{Filter: f, Metric: "bogus", Interval: time.Minute}).Normalize(), `bad query: unknown metric "bogus"`},
		{"timeseries agg", (&TimeseriesQuery{Filter: f, Metric: MetricCostUSD, Agg: "median", Interval: time.Minute}).Normalize(), `bad query: unknown aggregation "median"`},
		{"timeseries group", (&TimeseriesQuery{Filter: f, Metric: MetricCalls, Interval: time.Minute, GroupBy: "color"}).Normalize(), `bad query: unknown dimension "color"`},
		{"timeseries limit", (&TimeseriesQuery{Filter: f, Metric: MetricCalls, Interval: time.Minute, Limit: 1001}).Normalize(), "bad query: limit 1001 out of 0..1000"},
		{"aggregate limit", (&AggregateQuery{Filter: f, Metric: MetricCalls, Limit: 1001}).Normalize(), "bad query: limit 1001 out of 0..1000"},
		{"aggregate split", (&AggregateQuery{Filter: f, Metric: MetricCalls, SplitBy: "color"}).Normalize(), `bad query: unknown dimension "color"`},
		{"trace", ValidateTrace(""), "trace: bad query: project is required"},
	}
	for _, c := range bad {
		if !errors.Is(c.err, ErrBadQuery) || c.err.Error() != c.want {
			t.Errorf("%s: %v, want %q wrapping ErrBadQuery", c.name, c.err, c.want)
		}
	}
	if _, err := SessionFilter("p", "", Filter{}); err == nil || err.Error() != "session: bad query: empty session id" {
		t.Errorf("SessionFilter(empty id): %v", err)
	}

	sq := SpansQuery{Filter: f}
	if err := sq.Normalize(); err != nil || sq.Limit != 50 || sq.Order != OrderTime {
		t.Errorf("SpansQuery defaults: %+v, %v", sq, err)
	}
	ss := SessionsQuery{Filter: f}
	if err := ss.Normalize(); err != nil || ss.Limit != 50 {
		t.Errorf("SessionsQuery defaults: %+v, %v", ss, err)
	}
	bq := BreakdownQuery{Filter: f, By: DimUser}
	if err := bq.Normalize(); err != nil || bq.Limit != 100 {
		t.Errorf("BreakdownQuery defaults: %+v, %v", bq, err)
	}
	tq := TimeseriesQuery{Filter: f, Metric: MetricDurationMS, Interval: time.Minute}
	if err := tq.Normalize(); err != nil || tq.Limit != 10 || tq.Agg != AggAvg {
		t.Errorf("TimeseriesQuery defaults: %+v, %v", tq, err)
	}
	// Agg is ignored (not checked) for the metrics that count calls.
	tq = TimeseriesQuery{Filter: f, Metric: MetricErrorRate, Agg: "median", Interval: time.Minute}
	if err := tq.Normalize(); err != nil {
		t.Errorf("TimeseriesQuery error_rate with any agg: %v", err)
	}
	aq := AggregateQuery{Filter: f, Metric: MetricCostUSD}
	if err := aq.Normalize(); err != nil || aq.Limit != 100 || aq.Agg != AggSum {
		t.Errorf("AggregateQuery defaults: %+v, %v", aq, err)
	}
}
