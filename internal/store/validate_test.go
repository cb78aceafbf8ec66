package store

import (
	"errors"
	"math"
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

// TestValidateBarFilters: each malformed filter bar filter is refused
// with ErrBadQuery and a message naming it; well-formed ones pass.
func TestValidateBarFilters(t *testing.T) {
	many := make([]string, MaxMatchValues+1)
	for i := range many {
		many[i] = "v"
	}
	long := string(make([]byte, MaxFilterText+1))
	bad := []struct {
		f    Filter
		want string
	}{
		{Filter{Services: Match{In: many}}, "bad query: service: more than 100 values"},
		{Filter{Models: Match{In: []string{""}}}, "bad query: model: a value must be 1 to 1000 bytes"},
		{Filter{Users: Match{Contains: long}}, "bad query: user contains: longer than 1000 bytes"},
		{Filter{Thresholds: []Threshold{{Metric: "errors", Op: ThresholdGT}}}, `bad query: threshold on "errors": not one of duration_ms, ttft_ms, input_tokens, output_tokens, total_tokens, cost_usd`},
		{Filter{Thresholds: []Threshold{{Metric: MetricCostUSD, Op: ">="}}}, `bad query: threshold on cost_usd: comparison ">=" is not gt or lt`},
		{Filter{Thresholds: []Threshold{{Metric: MetricCostUSD, Op: ThresholdLT, Value: math.Inf(1)}}}, "bad query: threshold on cost_usd: the value is not a finite number"},
		{Filter{Thresholds: make([]Threshold, MaxThresholds+1)}, "bad query: more than 12 thresholds"},
		{Filter{Attrs: make([]AttrFilter, MaxAttrFilters+1)}, "bad query: more than 20 attribute filters"},
		{Filter{Attrs: []AttrFilter{{Op: AttrExists}}}, `bad query: attribute "": must be 1 to 256 bytes`},
		{Filter{Attrs: []AttrFilter{{Key: `a"b`, Op: AttrExists}}}, `bad query: attribute "a\"b": contains the character '"'`},
		{Filter{Attrs: []AttrFilter{{Key: "a\x01", Op: AttrExists}}}, `bad query: attribute "a\x01": contains the character '\x01'`},
		{Filter{Attrs: []AttrFilter{{Key: "a\xff", Op: AttrExists}}}, `bad query: attribute "a\xff": not valid UTF-8`},
		{Filter{Attrs: []AttrFilter{{Key: "a", Op: "like", Value: "x"}}}, `bad query: attribute a: operator "like" is not exists, eq or contains`},
		{Filter{Attrs: []AttrFilter{{Key: "a", Op: AttrExists, Value: "x"}}}, "bad query: attribute a: exists takes no value"},
		{Filter{Attrs: []AttrFilter{{Key: "a", Op: AttrContains}}}, "bad query: attribute a: contains needs a value"},
		{Filter{Attrs: []AttrFilter{{Key: "a", Op: AttrEquals, Value: long}}}, "bad query: attribute a: value longer than 1000 bytes"},
	}
	for _, c := range bad {
		c.f.Project = "p"
		if err := c.f.Validate(); !errors.Is(err, ErrBadQuery) || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.f, err, c.want)
		}
	}
	good := Filter{Project: "p", Services: Match{In: []string{"a"}, Contains: "b"}, Models: Match{Contains: "gpt"},
		Thresholds: []Threshold{{Metric: MetricDurationMS, Op: ThresholdGT, Value: 1}, {Metric: MetricCostUSD, Op: ThresholdLT, Value: -1}},
		Attrs:      []AttrFilter{{Key: "http.route", Op: AttrExists}, {Key: "a/b~c", Op: AttrEquals}, {Key: "ü", Op: AttrContains, Value: "x"}}}
	if err := good.Validate(); err != nil {
		t.Errorf("valid filter: %v", err)
	}
}

// TestAttrText: the text an attribute filter compares is the stored
// JSON's: strings unquoted, numbers and booleans as written, none for
// null, lists and maps.
func TestAttrText(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
		ok   bool
	}{
		{"a\"b", "a\"b", true}, {int64(200), "200", true}, {0.7, "0.7", true}, {3.0, "3", true},
		{1.0499999999999998, "1.0499999999999998", true}, {true, "true", true}, {math.NaN(), "NaN", true},
		{nil, "", false}, {[]string{"a"}, "", false}, {map[string]any{"a": 1}, "", false},
	} {
		if got, ok := AttrText(c.v); got != c.want || ok != c.ok {
			t.Errorf("AttrText(%#v) = %q, %v; want %q, %v", c.v, got, ok, c.want, c.ok)
		}
	}
}
