package alert

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/store"
)

// A score signal, "score.<name>", watches the scores of that name given
// in the window (by the score's time): their average, minimum or maximum
// value (avg, the default; min; max), how many there are (count), or the
// share of passing labels among passing and failing ones (pass_rate).
// It covers the rule's project; it takes no other filter and no split.
const (
	ScoreSignalPrefix = "score."
	AggPassRate       = "pass_rate"
)

// ScoreQuerier is what score signals read (store.ScoreStore has it).
type ScoreQuerier interface {
	ScoreStats(ctx context.Context, q store.ScoreQuery) ([]store.ScoreStat, error)
}

// passLabels and failLabels are the labels pass_rate counts (compared
// in lower case); other labels are neither.
var (
	passLabels = []string{"pass", "good", "yes", "correct", "relevant", "up", "true", "positive", "helpful"}
	failLabels = []string{"fail", "bad", "no", "incorrect", "irrelevant", "down", "false", "negative", "unhelpful"}
)

// scoreName is the score name of a score signal.
func (r *Rule) scoreName() (string, bool) {
	return strings.CutPrefix(r.Signal, ScoreSignalPrefix)
}

// validateScore adds the problems of a score signal's rule.
func (r *Rule) validateScore(bad func(field, format string, args ...any)) {
	name, _ := r.scoreName()
	if name == "" || len(name) > store.MaxScoreName {
		bad("signal", "score.<name>: the name must be 1 to %d bytes", store.MaxScoreName)
	}
	switch r.Aggregation {
	case "", "avg", "min", "max", "count", AggPassRate:
	default:
		bad("aggregation", "%q is not one of avg, min, max, count, pass_rate (for a score signal)", r.Aggregation)
	}
	if r.SplitBy != "" {
		bad("split_by", "a score signal is not split")
	}
	f := r.Filters
	if f.Service != "" || f.Provider != "" || f.Model != "" || f.Operation != "" || f.Status != "" {
		bad("filters", "a score signal takes the project filter only (scores are aggregated per project)")
	}
}

// scoreRow is a score signal's value over stats (ScoreStats of its name):
// Count is how many scores it is computed from (0: no data, but a count
// of 0 is a value).
func (r *Rule) scoreRow(stats []store.ScoreStat) store.AggregateRow {
	name, _ := r.scoreName()
	var st store.ScoreStat
	for _, s := range stats {
		if s.Name == name {
			st = s
		}
	}
	switch r.Aggregation {
	case "count":
		return store.AggregateRow{Value: float64(st.Count), Count: st.Count}
	case AggPassRate:
		var pass, fail int64
		for l, n := range st.Labels {
			switch l = strings.ToLower(l); {
			case oneOf(l, passLabels):
				pass += n
			case oneOf(l, failLabels):
				fail += n
			}
		}
		if pass+fail == 0 {
			return store.AggregateRow{}
		}
		return store.AggregateRow{Value: float64(pass) / float64(pass+fail), Count: pass + fail}
	case "min":
		return store.AggregateRow{Value: st.Min, Count: st.Values}
	case "max":
		return store.AggregateRow{Value: st.Max, Count: st.Values}
	}
	return store.AggregateRow{Value: st.Avg, Count: st.Values}
}

// scoreRows computes a score signal over f's project and range.
func (e *Engine) scoreRows(ctx context.Context, r Rule, f store.Filter) ([]store.AggregateRow, error) {
	if e.opts.Scores == nil {
		return nil, fmt.Errorf("%w: this server's store keeps no scores", store.ErrBadQuery)
	}
	name, _ := r.scoreName()
	stats, err := e.opts.Scores.ScoreStats(ctx, store.ScoreQuery{Project: f.Project, Name: name, From: f.From, To: f.To})
	if err != nil {
		return nil, err
	}
	return []store.AggregateRow{r.scoreRow(stats)}, nil
}

// scoreQueryText describes a score signal's query.
func (r *Rule) scoreQueryText(f store.Filter) string {
	agg := r.Aggregation
	if agg == "" {
		agg = "avg"
	}
	return fmt.Sprintf("%s(%s) WHERE project = %q AND time >= %s AND time < %s", agg, r.Signal, f.Project,
		f.From.UTC().Format(time.RFC3339), f.To.UTC().Format(time.RFC3339))
}
