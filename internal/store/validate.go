package store

import "fmt"

// The checks below are the whole of query validation: a backend calls
// the one of its query's type first, before any SQL, and so sees only
// queries it can answer, with their defaults filled in. Each error wraps
// ErrBadQuery (the API answers 400 with its text).

// Validate checks the filter: a project is required.
func (f Filter) Validate() error {
	if f.Project == "" {
		return fmt.Errorf("%w: project is required", ErrBadQuery)
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
