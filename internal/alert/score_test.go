package alert

import (
	"testing"

	"github.com/genscope/genscope/internal/store"
)

// TestScoreRow: each aggregation of a score signal over ScoreStats, and
// what counts as data.
func TestScoreRow(t *testing.T) {
	stats := []store.ScoreStat{
		{Name: "other", Count: 9, Values: 9, Avg: 9, Min: 9, Max: 9},
		{Name: "helpfulness", Count: 5, Values: 4, Avg: 0.5, Min: 0.1, Max: 0.9, Labels: map[string]int64{"PASS": 3, "fail": 1, "unsure": 1}},
	}
	f := func(agg string, stats []store.ScoreStat, want store.AggregateRow, data bool) {
		t.Helper()
		r := Rule{Signal: "score.helpfulness", Aggregation: agg}
		got := r.scoreRow(stats)
		if got != want || r.hasValue(got) != data {
			t.Errorf("%s: %+v (data %v), want %+v (data %v)", agg, got, r.hasValue(got), want, data)
		}
	}
	f("", stats, store.AggregateRow{Value: 0.5, Count: 4}, true)
	f("avg", stats, store.AggregateRow{Value: 0.5, Count: 4}, true)
	f("min", stats, store.AggregateRow{Value: 0.1, Count: 4}, true)
	f("max", stats, store.AggregateRow{Value: 0.9, Count: 4}, true)
	f("count", stats, store.AggregateRow{Value: 5, Count: 5}, true)
	f(AggPassRate, stats, store.AggregateRow{Value: 0.75, Count: 4}, true)
	f("", stats[:1], store.AggregateRow{}, false)
	f("count", nil, store.AggregateRow{}, true) // no scores: a count of 0
	f(AggPassRate, []store.ScoreStat{{Name: "helpfulness", Count: 2, Labels: map[string]int64{"meh": 2}}}, store.AggregateRow{}, false)
}
