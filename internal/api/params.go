package api

import (
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/queryparam"
	"github.com/genscope/genscope/internal/store"
)

// paramError is a bad request parameter; its message names the parameter.
type paramError = queryparam.Error

var badParam = queryparam.Bad

// DefaultRange is the time range of a query that gives no from.
const DefaultRange = 24 * time.Hour

// Times a query may name: the range of Unix nanoseconds in an int64 (1970
// to 2262), which is how the stores keep them.
var (
	minTime = time.Unix(0, 1)
	maxTime = time.Unix(0, math.MaxInt64)
)

// parseTime reads an RFC 3339 time, a Unix time in seconds or
// milliseconds, "now", or a relative duration meaning that long before
// now ("15m", "1h", "7d", "2w").
func parseTime(name, v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	t, ok := parseTimeValue(v, now)
	if !ok {
		return time.Time{}, badParam(name, "%q is not an RFC 3339 time, a Unix time or a duration like 1h or 7d", clip(v))
	}
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, badParam(name, "%q is outside the years 1970 to 2262", clip(v))
	}
	return t, nil
}

func parseTimeValue(v string, now time.Time) (time.Time, bool) {
	if v == "now" {
		return now, true
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	if d, err := parseDuration(v); err == nil {
		return now.Add(-d), true
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		if n > 1e11 { // milliseconds
			if n > maxTime.UnixMilli() {
				return maxTime.Add(time.Second), true // out of range, said by the caller
			}
			return time.UnixMilli(n), true
		}
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

// maxDays bounds a duration in days or weeks (about ten years).
const maxDays = 3650

// parseDuration is time.ParseDuration plus the units d (day) and w (week),
// never negative. Days and weeks are plain decimal numbers ("1.5d"): not
// NaN, infinities, exponents or hexadecimal, which strconv.ParseFloat
// would take.
func parseDuration(v string) (time.Duration, error) {
	if v == "" {
		return 0, errors.New("empty")
	}
	unit := v[len(v)-1]
	if unit == 'd' || unit == 'w' {
		num := v[:len(v)-1]
		if !isDecimal(num) {
			return 0, errors.New("bad duration")
		}
		n, err := strconv.ParseFloat(num, 64)
		day := 24 * time.Hour
		if unit == 'w' {
			day *= 7
		}
		if err != nil || !(n >= 0 && n*float64(day) <= maxDays*float64(24*time.Hour)) {
			return 0, errors.New("bad duration")
		}
		return time.Duration(n * float64(day)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

// isDecimal reports whether s is digits with at most one decimal point
// and at least one digit.
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

var clip = queryparam.Clip

// singleParams are the parameters that take one value: giving one twice is
// an error, not a silent choice of the first.
var singleParams = []string{
	"from", "to", "service", "provider", "model", "operation", "status", "session", "user", "q",
	"metric", "agg", "interval", "group_by", "limit", "by", "all", "sort", "cursor", "project",
	"service_contains", "model_contains", "user_contains", "trace_id", "span_id", "session_id", "name", "source",
	"duration_ms_gt", "duration_ms_lt", "ttft_ms_gt", "ttft_ms_lt", "input_tokens_gt", "input_tokens_lt",
	"output_tokens_gt", "output_tokens_lt", "total_tokens_gt", "total_tokens_lt", "cost_usd_gt", "cost_usd_lt",
}

// parseQuery reads a URL query string strictly (see queryparam.Parse).
func parseQuery(raw string) (url.Values, error) { return queryparam.Parse(raw, singleParams) }

// parseFilter reads from, to and the filters every endpoint takes.
func parseFilter(q url.Values, project string, now time.Time) (store.Filter, error) {
	f := store.Filter{Project: project, From: now.Add(-DefaultRange), To: now}
	var errs []error
	if v := q.Get("from"); v != "" {
		t, err := parseTime("from", v, now)
		errs = append(errs, err)
		f.From = t
	}
	if v := q.Get("to"); v != "" {
		t, err := parseTime("to", v, now)
		errs = append(errs, err)
		f.To = t
	}
	if err := errors.Join(errs...); err != nil {
		return f, err
	}
	if !f.From.Before(f.To) {
		return f, badParam("from", "must be before to (%s >= %s)", f.From.Format(time.RFC3339), f.To.Format(time.RFC3339))
	}
	f.Service = q.Get("service")
	f.Provider = q.Get("provider")
	f.Model = q.Get("model")
	f.Operation = q.Get("operation")
	f.Session = q.Get("session")
	f.User = q.Get("user")
	f.Text = q.Get("q")
	if len(f.Text) > 1000 {
		return f, badParam("q", "longer than 1000 bytes")
	}
	switch s := genai.Status(q.Get("status")); s {
	case "", genai.StatusOK, genai.StatusError, genai.StatusUnset:
		f.Status = s
	default:
		return f, badParam("status", "%q is not one of ok, error, unset", s)
	}
	if err := parseBar(q, &f); err != nil {
		return f, err
	}
	return f, nil
}

// parseBar reads the filter bar's filters: service_in, model_in and
// user_in (repeated: any of them) with service_contains, model_contains
// and user_contains (or containing it, ignoring case); <metric>_gt and
// <metric>_lt for the metrics of store.ThresholdMetrics; attr (repeated):
// KEY (the span has the attribute), KEY==VALUE (its value is VALUE) or
// KEY~=VALUE (its value contains VALUE, ignoring case); score (repeated):
// NAME<NUMBER, NAME>NUMBER, NAME=LABEL or NAME (store.ScoreFilter).
func parseBar(q url.Values, f *store.Filter) error {
	for _, m := range []struct {
		name string
		dst  *store.Match
	}{{"service", &f.Services}, {"model", &f.Models}, {"user", &f.Users}} {
		var in []string
		for _, v := range q[m.name+"_in"] {
			if v == "" {
				continue
			}
			if len(v) > store.MaxFilterText {
				return badParam(m.name+"_in", "a value is longer than %d bytes", store.MaxFilterText)
			}
			in = append(in, v)
		}
		if len(in) > store.MaxMatchValues {
			return badParam(m.name+"_in", "more than %d values", store.MaxMatchValues)
		}
		c := q.Get(m.name + "_contains")
		if len(c) > store.MaxFilterText {
			return badParam(m.name+"_contains", "longer than %d bytes", store.MaxFilterText)
		}
		*m.dst = store.Match{In: in, Contains: c}
	}
	for _, metric := range store.ThresholdMetrics {
		for _, op := range []string{store.ThresholdGT, store.ThresholdLT} {
			name := metric + "_" + op
			v := q.Get(name)
			if v == "" {
				continue
			}
			n, ok := parseNumber(v)
			if !ok {
				return badParam(name, "%q is not a decimal number", clip(v))
			}
			f.Thresholds = append(f.Thresholds, store.Threshold{Metric: metric, Op: op, Value: n})
		}
	}
	attrs := q["attr"]
	if len(attrs) > store.MaxAttrFilters {
		return badParam("attr", "given %d times; at most %d", len(attrs), store.MaxAttrFilters)
	}
	for _, v := range attrs {
		a := parseAttr(v)
		if err := store.ValidAttrKey(a.Key); err != nil {
			return badParam("attr", "key %q: %v", clip(a.Key), err)
		}
		if len(a.Value) > store.MaxFilterText {
			return badParam("attr", "%s: the value is longer than %d bytes", clip(a.Key), store.MaxFilterText)
		}
		if a.Op == store.AttrContains && a.Value == "" {
			return badParam("attr", "%s~=: give a value to look for", clip(a.Key))
		}
		f.Attrs = append(f.Attrs, a)
	}
	scores := q["score"]
	if len(scores) > store.MaxScoreFilters {
		return badParam("score", "given %d times; at most %d", len(scores), store.MaxScoreFilters)
	}
	for _, v := range scores {
		sf, err := parseScoreFilter(v)
		if err != nil {
			return err
		}
		f.Scores = append(f.Scores, sf)
	}
	return nil
}

// parseScoreFilter reads a score parameter: NAME<NUMBER, NAME>NUMBER,
// NAME=LABEL, or NAME (the span has a score of that name), at the first
// "<", ">" or "=".
func parseScoreFilter(v string) (store.ScoreFilter, error) {
	i := strings.IndexAny(v, "<>=")
	if i < 0 {
		sf := store.ScoreFilter{Name: strings.TrimSpace(v), Op: store.ScoreHas}
		return sf, checkScoreFilter(v, sf)
	}
	sf := store.ScoreFilter{Name: strings.TrimSpace(v[:i])}
	rest := strings.TrimSpace(v[i+1:])
	switch v[i] {
	case '=':
		sf.Op, sf.Label = store.ScoreLabelIs, rest
	default:
		sf.Op = store.ScoreLT
		if v[i] == '>' {
			sf.Op = store.ScoreGT
		}
		n, ok := parseNumber(rest)
		if !ok {
			return sf, badParam("score", "%q: %q is not a decimal number (NAME<NUMBER, NAME>NUMBER, NAME=LABEL or NAME)", clip(v), clip(rest))
		}
		sf.Value = n
	}
	return sf, checkScoreFilter(v, sf)
}

// checkScoreFilter validates a parsed score filter as the store will.
func checkScoreFilter(v string, sf store.ScoreFilter) error {
	if err := (store.Filter{Project: "-", Scores: []store.ScoreFilter{sf}}).Validate(); err != nil {
		return badParam("score", "%q: %s", clip(v), strings.TrimPrefix(err.Error(), store.ErrBadQuery.Error()+": "))
	}
	return nil
}

// parseAttr reads an attr parameter: KEY==VALUE, KEY~=VALUE, or KEY (at
// the first "==" or "~=").
func parseAttr(v string) store.AttrFilter {
	eq, ct := strings.Index(v, "=="), strings.Index(v, "~=")
	switch {
	case eq >= 0 && (ct < 0 || eq < ct):
		return store.AttrFilter{Key: v[:eq], Op: store.AttrEquals, Value: v[eq+2:]}
	case ct >= 0:
		return store.AttrFilter{Key: v[:ct], Op: store.AttrContains, Value: v[ct+2:]}
	}
	return store.AttrFilter{Key: v, Op: store.AttrExists}
}

// parseNumber reads a plain decimal number, optionally signed, with an
// optional exponent ("1500", "0.25", "-1", "2e-3"): not NaN, infinities
// or hexadecimal, which strconv.ParseFloat would take.
func parseNumber(v string) (float64, bool) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(v), "e")
	mant = strings.TrimPrefix(mant, "-")
	if hasExp {
		exp = strings.TrimPrefix(strings.TrimPrefix(exp, "-"), "+")
		if exp == "" || strings.Trim(exp, "0123456789") != "" {
			return 0, false
		}
	}
	if !isDecimal(mant) {
		return 0, false
	}
	n, err := strconv.ParseFloat(v, 64)
	return n, err == nil && !math.IsInf(n, 0) && !math.IsNaN(n)
}

func parseLimit(q url.Values, def, max int) (int, error) {
	return queryparam.Int(q, "limit", def, 1, max)
}

var dimensions = []string{store.DimModel, store.DimProvider, store.DimService, store.DimOperation, store.DimStatus, store.DimSession, store.DimUser}

func parseDim(name, v string, optional bool) (string, error) {
	if v == "" && optional {
		return "", nil
	}
	for _, d := range dimensions {
		if v == d {
			return v, nil
		}
	}
	return "", badParam(name, "%q is not one of %s", v, strings.Join(dimensions, ", "))
}

var (
	metrics = []string{store.MetricCalls, store.MetricErrors, store.MetricErrorRate, store.MetricInputTokens,
		store.MetricOutputTokens, store.MetricTotalTokens, store.MetricCostUSD, store.MetricDurationMS, store.MetricTTFTMS}
	aggs = []string{store.AggSum, store.AggAvg, store.AggMin, store.AggMax, store.AggCount,
		store.AggP50, store.AggP90, store.AggP95, store.AggP99}
)

func oneOf(name, v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return badParam(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

// autoInterval picks a bucket width that gives about 120 buckets, rounded
// to a width people read easily.
func autoInterval(span time.Duration) time.Duration {
	steps := []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
		time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
	want := span / 120
	for _, s := range steps {
		if s >= want {
			return s
		}
	}
	// Centuries: whole days, at most maxBuckets of them.
	day := 24 * time.Hour
	return max(steps[len(steps)-1], (span/maxBuckets+day)/day*day)
}

// maxBuckets bounds the work a timeseries request asks for.
const maxBuckets = 5000

func parseTimeseries(q url.Values, f store.Filter) (store.TimeseriesQuery, error) {
	tq := store.TimeseriesQuery{Filter: f, Metric: q.Get("metric"), Agg: q.Get("agg")}
	if tq.Metric == "" {
		tq.Metric = store.MetricCalls
	}
	if err := oneOf("metric", tq.Metric, metrics); err != nil {
		return tq, err
	}
	if tq.Agg != "" {
		if err := oneOf("agg", tq.Agg, aggs); err != nil {
			return tq, err
		}
	}
	span := f.To.Sub(f.From)
	if v := q.Get("interval"); v != "" && v != "auto" {
		d, err := parseDuration(v)
		if err != nil || d < time.Second {
			return tq, badParam("interval", "%q is not a duration of at least 1s like 1m, 1h or 1d", v)
		}
		if span/d > maxBuckets {
			return tq, badParam("interval", "%s gives more than %d buckets over the range", v, maxBuckets)
		}
		tq.Interval = d
	} else {
		tq.Interval = autoInterval(span)
	}
	var err error
	if tq.GroupBy, err = parseDim("group_by", q.Get("group_by"), true); err != nil {
		return tq, err
	}
	if tq.Limit, err = parseLimit(q, 10, 100); err != nil {
		return tq, err
	}
	return tq, nil
}

// sorts are the values of the spans table's sort parameter.
var sorts = []string{store.OrderTime, store.OrderDuration, store.OrderTokens}

// parseSort reads the spans table's sort: time (default), duration or
// tokens, each descending.
func parseSort(q url.Values) (string, error) {
	v := q.Get("sort")
	if v == "" {
		return store.OrderTime, nil
	}
	return v, oneOf("sort", v, sorts)
}
