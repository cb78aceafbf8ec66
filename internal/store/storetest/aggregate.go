package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store"
)

// aggregate answers an AggregateQuery from the reference model.
func (r *ref) aggregate(q store.AggregateQuery) []store.AggregateRow {
	es := r.selected(q.Filter, false)
	row := func(k string, es []effective) store.AggregateRow {
		out := store.AggregateRow{Key: k, Calls: int64(len(es))}
		switch q.Metric {
		case store.MetricCalls, store.MetricErrors, store.MetricErrorRate:
			out.Count = out.Calls
		default:
			for _, e := range es {
				if _, ok := metricValue(e, q.Metric); ok {
					out.Count++
				}
			}
		}
		if out.Count > 0 {
			out.Value, _ = bucketValue(es, q.Metric, q.Agg)
		}
		return out
	}
	if q.SplitBy == "" {
		return []store.AggregateRow{row("", es)}
	}
	keys, by := groups(es, q.SplitBy)
	out := []store.AggregateRow{}
	for _, k := range keys[:min(cmp.Or(q.Limit, 100), len(keys))] {
		out = append(out, row(k, by[k]))
	}
	return out
}

// testAggregate checks store.Aggregator against the reference, when the
// backend implements it.
func testAggregate(t *testing.T, s store.Store, r *ref) {
	ag, ok := s.(store.Aggregator)
	if !ok {
		t.Skip("the backend does not implement store.Aggregator")
	}
	ctx := context.Background()
	metrics := []string{store.MetricCalls, store.MetricErrors, store.MetricErrorRate, store.MetricInputTokens,
		store.MetricOutputTokens, store.MetricTotalTokens, store.MetricCostUSD, store.MetricDurationMS, store.MetricTTFTMS}
	aggs := []string{"", store.AggSum, store.AggAvg, store.AggMin, store.AggMax, store.AggCount, store.AggP50, store.AggP90, store.AggP95, store.AggP99}
	check := func(q store.AggregateQuery) {
		t.Helper()
		name := fmt.Sprintf("%s/%s/%s/%+v", q.Metric, q.Agg, q.SplitBy, q.Filter)
		got, err := ag.Aggregate(ctx, q)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		want := r.aggregate(q)
		if len(got) != len(want) {
			t.Errorf("%s: %d rows, want %d: %+v, want %+v", name, len(got), len(want), got, want)
			return
		}
		tol := sumTolerance
		if strings.HasPrefix(q.Agg, "p") {
			tol = percentileTolerance
		}
		for i, g := range got {
			w := want[i]
			if g.Key != w.Key || g.Calls != w.Calls || g.Count != w.Count || !near(g.Value, w.Value, tol) {
				t.Errorf("%s: row %d = %+v, want %+v", name, i, g, w)
			}
		}
	}
	window := []store.Filter{
		all(Project),
		{Project: Project, From: Base.Add(10 * time.Minute), To: Base.Add(40 * time.Minute)},
		{Project: Project, From: Base.Add(-time.Hour), To: Base}, // no calls
	}
	for _, f := range window {
		for _, m := range metrics {
			for _, a := range aggs {
				check(store.AggregateQuery{Filter: f, Metric: m, Agg: a})
			}
		}
	}
	for _, d := range dims {
		check(store.AggregateQuery{Filter: window[1], Metric: store.MetricDurationMS, Agg: store.AggAvg, SplitBy: d})
		check(store.AggregateQuery{Filter: all(Project), Metric: store.MetricTTFTMS, Agg: store.AggP95, SplitBy: d, Limit: 2})
		check(store.AggregateQuery{Filter: window[2], Metric: store.MetricCalls, SplitBy: d})
	}
	for _, f := range filters(r) {
		check(store.AggregateQuery{Filter: f, Metric: store.MetricCostUSD, SplitBy: store.DimModel})
		check(store.AggregateQuery{Filter: f, Metric: store.MetricErrorRate})
	}
	// Another project never leaks, and bad queries are refused.
	for _, q := range []store.AggregateQuery{
		{Filter: store.Filter{}, Metric: store.MetricCalls},
		{Filter: all(Project), Metric: "nope"},
		{Filter: all(Project), Metric: store.MetricDurationMS, Agg: "nope"},
		{Filter: all(Project), Metric: store.MetricCalls, SplitBy: "nope"},
		{Filter: all(Project), Metric: store.MetricCalls, SplitBy: store.DimModel, Limit: -1},
	} {
		if _, err := ag.Aggregate(ctx, q); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("Aggregate(%+v) = %v, want ErrBadQuery", q, err)
		}
	}
}
