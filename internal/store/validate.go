package store

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// The checks below are the whole of query validation: a backend calls
// the one of its query's type first, before any SQL, and so sees only
// queries it can answer, with their defaults filled in. Each error wraps
// ErrBadQuery (the API answers 400 with its text).

// Limits of the filter bar's filters.
const (
	MaxMatchValues = 100  // values of a Match's In
	MaxFilterText  = 1000 // bytes of a value, a Contains or an attribute value
	MaxThresholds  = 12
	MaxAttrFilters = 20
	MaxAttrKey     = 256 // bytes of an attribute key
)

// Validate checks the filter: a project is required, and the filter bar's
// filters must be well-formed and within their limits.
func (f Filter) Validate() error {
	if f.Project == "" {
		return fmt.Errorf("%w: project is required", ErrBadQuery)
	}
	for _, m := range []struct {
		name string
		m    Match
	}{{"service", f.Services}, {"model", f.Models}, {"user", f.Users}} {
		if err := m.m.validate(m.name); err != nil {
			return err
		}
	}
	if len(f.Thresholds) > MaxThresholds {
		return fmt.Errorf("%w: more than %d thresholds", ErrBadQuery, MaxThresholds)
	}
	for _, t := range f.Thresholds {
		if err := t.validate(); err != nil {
			return err
		}
	}
	if len(f.Attrs) > MaxAttrFilters {
		return fmt.Errorf("%w: more than %d attribute filters", ErrBadQuery, MaxAttrFilters)
	}
	for _, a := range f.Attrs {
		if err := a.validate(); err != nil {
			return err
		}
	}
	if len(f.Scores) > MaxScoreFilters {
		return fmt.Errorf("%w: more than %d score filters", ErrBadQuery, MaxScoreFilters)
	}
	for _, sf := range f.Scores {
		if err := sf.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (m Match) validate(name string) error {
	if len(m.In) > MaxMatchValues {
		return fmt.Errorf("%w: %s: more than %d values", ErrBadQuery, name, MaxMatchValues)
	}
	for _, v := range m.In {
		if v == "" || len(v) > MaxFilterText {
			return fmt.Errorf("%w: %s: a value must be 1 to %d bytes", ErrBadQuery, name, MaxFilterText)
		}
	}
	if len(m.Contains) > MaxFilterText {
		return fmt.Errorf("%w: %s contains: longer than %d bytes", ErrBadQuery, name, MaxFilterText)
	}
	return nil
}

// ThresholdMetrics are the metrics a Threshold may compare: those with a
// value per call.
var ThresholdMetrics = []string{MetricDurationMS, MetricTTFTMS, MetricInputTokens, MetricOutputTokens, MetricTotalTokens, MetricCostUSD}

func (t Threshold) validate() error {
	if !slices.Contains(ThresholdMetrics, t.Metric) {
		return fmt.Errorf("%w: threshold on %q: not one of %s", ErrBadQuery, t.Metric, strings.Join(ThresholdMetrics, ", "))
	}
	if t.Op != ThresholdGT && t.Op != ThresholdLT {
		return fmt.Errorf("%w: threshold on %s: comparison %q is not gt or lt", ErrBadQuery, t.Metric, t.Op)
	}
	if math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
		return fmt.Errorf("%w: threshold on %s: the value is not a finite number", ErrBadQuery, t.Metric)
	}
	return nil
}

func (a AttrFilter) validate() error {
	if err := ValidAttrKey(a.Key); err != nil {
		return fmt.Errorf("%w: attribute %q: %v", ErrBadQuery, a.Key, err)
	}
	switch a.Op {
	case AttrExists:
		if a.Value != "" {
			return fmt.Errorf("%w: attribute %s: exists takes no value", ErrBadQuery, a.Key)
		}
	case AttrEquals, AttrContains:
		if len(a.Value) > MaxFilterText {
			return fmt.Errorf("%w: attribute %s: value longer than %d bytes", ErrBadQuery, a.Key, MaxFilterText)
		}
		if a.Op == AttrContains && a.Value == "" {
			return fmt.Errorf("%w: attribute %s: contains needs a value", ErrBadQuery, a.Key)
		}
	default:
		return fmt.Errorf("%w: attribute %s: operator %q is not exists, eq or contains", ErrBadQuery, a.Key, a.Op)
	}
	return nil
}

// ValidAttrKey checks an attribute key a filter names: 1 to MaxAttrKey
// bytes of UTF-8 without control characters, quotes, backslashes or the
// line and paragraph separators (no attribute convention uses them; the
// backends match keys within the stored JSON, where those are escaped).
func ValidAttrKey(k string) error {
	if k == "" || len(k) > MaxAttrKey {
		return fmt.Errorf("must be 1 to %d bytes", MaxAttrKey)
	}
	if !utf8.ValidString(k) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range k {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("contains the character %q", r)
		}
	}
	return nil
}

// Normalize checks q and fills in its defaults: Limit 0 is 50, Order ""
// is OrderTime.
func (q *SpansQuery) Normalize() error {
	if err := q.Filter.Validate(); err != nil {
		return err
	}
	switch q.Order {
	case "":
		q.Order = OrderTime
	case OrderTime, OrderDuration, OrderTokens:
	default:
		return fmt.Errorf("%w: order %q is not one of time, duration, tokens", ErrBadQuery, q.Order)
	}
	if q.Limit < 0 || q.Limit > 1000 {
		return fmt.Errorf("%w: limit %d out of 1..1000", ErrBadQuery, q.Limit)
	}
	q.Limit = limitOr(q.Limit, 50)
	return nil
}

// Normalize checks q and fills in its default: Limit 0 is 50.
func (q *SessionsQuery) Normalize() error {
	if err := q.Filter.Validate(); err != nil {
		return err
	}
	return normalizeLimit(&q.Limit, 50, 1000)
}

// SessionFilter is the filter of the calls of session id in project,
// within f, as Session selects them; it checks them.
func SessionFilter(project, id string, f Filter) (Filter, error) {
	f.Project, f.Session = project, id
	if err := f.Validate(); err != nil {
		return f, err
	}
	if id == "" {
		return f, fmt.Errorf("session: %w: empty session id", ErrBadQuery)
	}
	return f, nil
}

// ValidateTrace checks Trace's arguments: a project is required.
func ValidateTrace(project string) error {
	if project == "" {
		return fmt.Errorf("trace: %w: project is required", ErrBadQuery)
	}
	return nil
}

// Normalize checks q and fills in its default: Limit 0 is 100.
func (q *StepsQuery) Normalize() error {
	if err := q.Filter.Validate(); err != nil {
		return err
	}
	return normalizeLimit(&q.Limit, 100, 1000)
}

// Normalize checks q and fills in its default: Limit 0 is 100.
func (q *BreakdownQuery) Normalize() error {
	if err := q.Filter.Validate(); err != nil {
		return err
	}
	if err := normalizeLimit(&q.Limit, 100, 10000); err != nil {
		return err
	}
	return ValidateDim(q.By)
}

// Normalize checks q and fills in its defaults: Limit 0 is 10, Agg ""
// the metric's default.
func (q *TimeseriesQuery) Normalize() error {
	if err := q.Filter.Validate(); err != nil {
		return err
	}
	if q.Interval <= 0 {
		return fmt.Errorf("%w: interval must be positive", ErrBadQuery)
	}
	if err := normalizeLimit(&q.Limit, 10, 1000); err != nil {
		return err
	}
	agg, err := metricAgg(q.Metric, q.Agg)
	if err != nil {
		return err
	}
	q.Agg = agg
	return validateGroup(q.GroupBy)
}

// Normalize checks q and fills in its defaults: Limit 0 is 100, Agg ""
// the metric's default.
func (q *AggregateQuery) Normalize() error {
	if err := q.Filter.Validate(); err != nil {
		return err
	}
	if err := normalizeLimit(&q.Limit, 100, 1000); err != nil {
		return err
	}
	agg, err := metricAgg(q.Metric, q.Agg)
	if err != nil {
		return err
	}
	q.Agg = agg
	return validateGroup(q.SplitBy)
}

// normalizeLimit checks that *limit is in 0..most and makes 0 def.
func normalizeLimit(limit *int, def, most int) error {
	if *limit < 0 || *limit > most {
		return fmt.Errorf("%w: limit %d out of 0..%d", ErrBadQuery, *limit, most)
	}
	*limit = limitOr(*limit, def)
	return nil
}

func limitOr(limit, def int) int {
	if limit == 0 {
		return def
	}
	return limit
}

// metricDefaults is each metric's default aggregation; "" for the
// metrics that take none (Agg is ignored for them).
var metricDefaults = map[string]string{
	MetricCalls:        "",
	MetricErrors:       "",
	MetricErrorRate:    "",
	MetricInputTokens:  AggSum,
	MetricOutputTokens: AggSum,
	MetricTotalTokens:  AggSum,
	MetricCostUSD:      AggSum,
	MetricDurationMS:   AggAvg,
	MetricTTFTMS:       AggAvg,
}

// metricAgg checks metric and agg and returns the aggregation to use:
// agg, else the metric's default. For calls, errors and error_rate agg
// is ignored (and kept as it is).
func metricAgg(metric, agg string) (string, error) {
	def, ok := metricDefaults[metric]
	if !ok {
		return "", fmt.Errorf("%w: unknown metric %q", ErrBadQuery, metric)
	}
	if def == "" {
		return agg, nil
	}
	switch agg {
	case "":
		return def, nil
	case AggSum, AggAvg, AggMin, AggMax, AggCount, AggP50, AggP90, AggP95, AggP99:
		return agg, nil
	}
	return "", fmt.Errorf("%w: unknown aggregation %q", ErrBadQuery, agg)
}

// ValidateDim checks that dim is one of the Dim* constants.
func ValidateDim(dim string) error {
	switch dim {
	case DimModel, DimProvider, DimService, DimOperation, DimStatus, DimSession, DimUser:
		return nil
	}
	return fmt.Errorf("%w: unknown dimension %q", ErrBadQuery, dim)
}

// validateGroup checks an optional dimension: "" or a Dim* constant.
func validateGroup(dim string) error {
	if dim == "" {
		return nil
	}
	return ValidateDim(dim)
}

// Quantile is the level of a percentile aggregation (AggP50: 0.5), and
// false for the others.
func Quantile(agg string) (float64, bool) {
	switch agg {
	case AggP50:
		return 0.5, true
	case AggP90:
		return 0.9, true
	case AggP95:
		return 0.95, true
	case AggP99:
		return 0.99, true
	}
	return 0, false
}
