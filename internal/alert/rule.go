package alert

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/timeutil"
)

// Rule is an alert rule: a signal aggregated over a window, compared with
// a threshold at every evaluation.
type Rule struct {
	ID          string `json:"id" yaml:"id"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description"`
	// Severity is 0 (critical) to 4 (verbose), as Azure Monitor's Sev0..Sev4.
	Severity int  `json:"severity" yaml:"severity"`
	Enabled  bool `json:"enabled" yaml:"-"` // YAML: config.AlertRule (default true)
	// Signal is a store metric: duration_ms, ttft_ms, calls, errors,
	// error_rate, input_tokens, output_tokens, total_tokens, cost_usd; or
	// score.<name>, a score's (see ScoreSignalPrefix).
	Signal string `json:"signal" yaml:"signal"`
	// Aggregation is avg, min, max, total, count, p50, p90, p95 or p99;
	// empty means the signal's default (avg for durations, total for the
	// rest). It is ignored for calls, errors and error_rate. A score
	// signal takes avg (its default), min, max, count or pass_rate.
	Aggregation string  `json:"aggregation" yaml:"aggregation"`
	Filters     Filters `json:"filters" yaml:"filters"`
	// Operator is >, >=, < or <=: the rule is violated when
	// value Operator Threshold.
	Operator  string            `json:"operator" yaml:"operator"`
	Threshold float64           `json:"threshold" yaml:"threshold"`
	Window    timeutil.Duration `json:"window" yaml:"window"`       // 1m..24h
	Frequency timeutil.Duration `json:"frequency" yaml:"frequency"` // 1m..1h
	// Violations out of the last Evaluations evaluations fire the alert
	// (both 1 by default: every violation fires).
	Violations  int `json:"violations" yaml:"violations"`
	Evaluations int `json:"evaluations" yaml:"evaluations"`
	// NoData says what a window without data means: keep (the state and
	// the violation count do not change; the default), ok (not violated)
	// or fire (violated).
	NoData string `json:"no_data" yaml:"no_data"`
	// AutoResolve resolves a fired alert once the condition no longer
	// holds; without it a fired alert stays fired until the rule changes.
	AutoResolve  bool     `json:"auto_resolve" yaml:"-"` // YAML: config.AlertRule (default true)
	ActionGroups []string `json:"action_groups" yaml:"action_groups"`
	// SplitBy is empty or a dimension (model, provider, service,
	// operation, status): one alert per value of it.
	SplitBy string `json:"split_by" yaml:"split_by"`

	// ReadOnly is set for rules from the config file (alerts as code).
	ReadOnly  bool      `json:"read_only" yaml:"-"`
	CreatedAt time.Time `json:"created_at" yaml:"-"`
	UpdatedAt time.Time `json:"updated_at" yaml:"-"`
}

// Filters select the calls a rule looks at; empty fields do not filter.
type Filters struct {
	Project   string `json:"project,omitempty" yaml:"project"` // empty: the default project
	Service   string `json:"service,omitempty" yaml:"service"`
	Provider  string `json:"provider,omitempty" yaml:"provider"`
	Model     string `json:"model,omitempty" yaml:"model"`
	Operation string `json:"operation,omitempty" yaml:"operation"`
	Status    string `json:"status,omitempty" yaml:"status"`
}

// NewRule returns a rule with the defaults a new rule gets: enabled,
// auto-resolving, 1 of 1 evaluations, no data keeps the state, window 5m,
// frequency 1m, severity 3.
func NewRule() Rule {
	return Rule{Enabled: true, AutoResolve: true, Violations: 1, Evaluations: 1, NoData: NoDataKeep,
		Window: timeutil.Duration(5 * time.Minute), Frequency: timeutil.Duration(time.Minute), Severity: 3, Operator: ">"}
}

// No-data policies.
const (
	NoDataKeep = "keep"
	NoDataOK   = "ok"
	NoDataFire = "fire"
)

// FieldError is a problem with one field of a rule.
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

var signals = []string{store.MetricDurationMS, store.MetricTTFTMS, store.MetricCalls, store.MetricErrors, store.MetricErrorRate,
	store.MetricInputTokens, store.MetricOutputTokens, store.MetricTotalTokens, store.MetricCostUSD}

var aggregations = map[string]string{
	"avg": store.AggAvg, "min": store.AggMin, "max": store.AggMax, "total": store.AggSum, "sum": store.AggSum,
	"count": store.AggCount, "p50": store.AggP50, "p90": store.AggP90, "p95": store.AggP95, "p99": store.AggP99,
}

var splitDims = []string{store.DimModel, store.DimProvider, store.DimService, store.DimOperation, store.DimStatus}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// Validate reports every problem of the rule, each a *FieldError naming
// the field (JSON name), joined with errors.Join.
func (r *Rule) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(r.Name) == "" {
		bad("name", "required")
	} else if len(r.Name) > 200 {
		bad("name", "longer than 200 bytes")
	}
	if len(r.Description) > 4000 {
		bad("description", "longer than 4000 bytes")
	}
	if r.Severity < 0 || r.Severity > 4 {
		bad("severity", "%d is not 0 (critical) to 4 (verbose)", r.Severity)
	}
	if _, ok := r.scoreName(); ok {
		r.validateScore(bad)
	} else {
		if !oneOf(r.Signal, signals) {
			bad("signal", "%q is not one of %s, or score.<name>", r.Signal, strings.Join(signals, ", "))
		}
		if _, ok := aggregations[r.Aggregation]; !ok && r.Aggregation != "" {
			bad("aggregation", "%q is not one of avg, min, max, total, count, p50, p90, p95, p99", r.Aggregation)
		}
	}
	if !oneOf(r.Operator, []string{">", ">=", "<", "<="}) {
		bad("operator", "%q is not one of >, >=, <, <=", r.Operator)
	}
	if r.Threshold != r.Threshold || r.Threshold > 1e300 || r.Threshold < -1e300 {
		bad("threshold", "not a finite number")
	}
	if r.Window.D() < time.Minute || r.Window.D() > 24*time.Hour {
		bad("window", "%v is not between 1m and 24h", r.Window.D())
	}
	if r.Frequency.D() < time.Minute || r.Frequency.D() > time.Hour {
		bad("frequency", "%v is not between 1m and 1h", r.Frequency.D())
	}
	if r.Evaluations < 1 || r.Evaluations > 100 {
		bad("evaluations", "%d is not between 1 and 100", r.Evaluations)
	}
	if r.Violations < 1 || r.Violations > max(r.Evaluations, 1) {
		bad("violations", "%d is not between 1 and evaluations (%d)", r.Violations, r.Evaluations)
	}
	if !oneOf(r.NoData, []string{NoDataKeep, NoDataOK, NoDataFire}) {
		bad("no_data", "%q is not one of keep, ok, fire", r.NoData)
	}
	if r.SplitBy != "" && !oneOf(r.SplitBy, splitDims) {
		bad("split_by", "%q is not one of %s", r.SplitBy, strings.Join(splitDims, ", "))
	}
	switch genai.Status(r.Filters.Status) {
	case "", genai.StatusOK, genai.StatusError, genai.StatusUnset:
	default:
		bad("filters.status", "%q is not one of ok, error, unset", r.Filters.Status)
	}
	for i, g := range r.ActionGroups {
		if strings.TrimSpace(g) == "" {
			bad("action_groups["+strconv.Itoa(i)+"]", "empty")
		}
	}
	return errors.Join(errs...)
}

// agg is the store aggregation the rule computes.
func (r *Rule) agg() string {
	return aggregations[r.Aggregation]
}

// violated reports whether v crosses the threshold.
func (r *Rule) violated(v float64) bool {
	switch r.Operator {
	case ">":
		return v > r.Threshold
	case ">=":
		return v >= r.Threshold
	case "<":
		return v < r.Threshold
	case "<=":
		return v <= r.Threshold
	}
	return false
}

// hasValue reports whether an aggregate row is data: a count, a total or
// a number of calls is 0 over no calls; the others have no value then.
func (r *Rule) hasValue(row store.AggregateRow) bool {
	if row.Count > 0 {
		return true
	}
	if _, ok := r.scoreName(); ok {
		return r.Aggregation == "count"
	}
	switch r.Signal {
	case store.MetricCalls, store.MetricErrors:
		return true
	case store.MetricErrorRate:
		return false
	}
	a := r.agg()
	return a == store.AggSum || a == store.AggCount || (a == "" && r.Signal != store.MetricDurationMS && r.Signal != store.MetricTTFTMS)
}

// filter is the store filter of the rule over [now-window, now).
func (r *Rule) filter(defaultProject string, now time.Time) store.Filter {
	p := r.Filters.Project
	if p == "" {
		p = defaultProject
	}
	return store.Filter{Project: p, From: now.Add(-r.Window.D()), To: now, Service: r.Filters.Service,
		Provider: r.Filters.Provider, Model: r.Filters.Model, Operation: r.Filters.Operation, Status: genai.Status(r.Filters.Status)}
}

// queryText describes the query that computes the rule's value, as shown
// with every alert: what was aggregated, over which calls and range.
func (r *Rule) queryText(f store.Filter) string {
	if _, ok := r.scoreName(); ok {
		return r.scoreQueryText(f)
	}
	var b strings.Builder
	agg := r.Aggregation
	if agg == "" || r.Signal == store.MetricCalls || r.Signal == store.MetricErrors || r.Signal == store.MetricErrorRate {
		agg = "default"
	}
	fmt.Fprintf(&b, "%s(%s) WHERE project = %q", agg, r.Signal, f.Project)
	for _, kv := range [][2]string{{"service", f.Service}, {"provider", f.Provider}, {"model", f.Model},
		{"operation", f.Operation}, {"status", string(f.Status)}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " AND %s = %q", kv[0], kv[1])
		}
	}
	fmt.Fprintf(&b, " AND start >= %s AND start < %s", f.From.UTC().Format(time.RFC3339), f.To.UTC().Format(time.RFC3339))
	if r.SplitBy != "" {
		fmt.Fprintf(&b, " GROUP BY %s", r.SplitBy)
	}
	return b.String()
}
