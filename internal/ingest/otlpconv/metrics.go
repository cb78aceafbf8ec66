package otlpconv

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/genscope/genscope/internal/genai"
)

// maxMetricLabel bounds a series attribute (model, service ...) kept from
// a metric point, in bytes.
const maxMetricLabel = 256

// Metrics converts the GenAI histogram points of md (genai.KeptMetric)
// into MetricPoints of project. Every other data point is rejected: a
// metric genscope does not keep, a GenAI metric that is not a histogram,
// a point without a time, with non-finite values, or with buckets that do
// not match its bounds, a token usage point whose gen_ai.token.type is
// neither input nor output. rejected counts them and msg says which and
// why, for the OTLP partial-success answer. Points flagged "no recorded
// value" carry nothing and are skipped without counting as rejected.
func Metrics(md pmetric.Metrics, project string) (pts []genai.MetricPoint, rejected int, msg string) {
	var (
		notKept = map[string]int{}
		invalid = map[string]int{}
	)
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		service := genai.DefaultService
		if v, ok := rm.Resource().Attributes().Get("service.name"); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
			service = label(v.Str())
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				name := m.Name()
				if !genai.KeptMetric(name) {
					if n := dataPoints(m); n > 0 {
						notKept[label(name)] += n
					}
					continue
				}
				scale := 1.0
				if name != genai.MetricTokenUsage && m.Unit() == "ms" {
					scale = 1e-3 // the conventions say seconds; some send ms
				}
				keep := func(p genai.MetricPoint, t pmetric.AggregationTemporality) {
					if why := checkPoint(&p, t); why != "" {
						invalid[name+": "+why]++
						return
					}
					pts = append(pts, p)
				}
				switch m.Type() {
				case pmetric.MetricTypeHistogram:
					h := m.Histogram()
					dps := h.DataPoints()
					for d := 0; d < dps.Len(); d++ {
						dp := dps.At(d)
						if dp.Flags().NoRecordedValue() {
							continue
						}
						p := histPoint(project, service, name, h.AggregationTemporality(), scale, dp)
						if dp.BucketCounts().Len() > 0 {
							p.Bounds = make([]float64, dp.ExplicitBounds().Len())
							for b := range p.Bounds {
								p.Bounds[b] = dp.ExplicitBounds().At(b) * scale
							}
							p.Buckets = make([]int64, dp.BucketCounts().Len())
							for b := range p.Buckets {
								p.Buckets[b] = clampCount(dp.BucketCounts().At(b))
							}
						}
						keep(p, h.AggregationTemporality())
					}
				case pmetric.MetricTypeExponentialHistogram:
					// Kept as count and sum: the buckets (base 2, any scale)
					// are not converted, so no percentiles.
					h := m.ExponentialHistogram()
					dps := h.DataPoints()
					for d := 0; d < dps.Len(); d++ {
						if dp := dps.At(d); !dp.Flags().NoRecordedValue() {
							keep(histPoint(project, service, name, h.AggregationTemporality(), scale, dp), h.AggregationTemporality())
						}
					}
				default:
					if n := dataPoints(m); n > 0 {
						invalid[fmt.Sprintf("%s: a %s, not a histogram", name, strings.ToLower(m.Type().String()))] += n
					}
				}
			}
		}
	}
	for _, n := range notKept {
		rejected += n
	}
	for _, n := range invalid {
		rejected += n
	}
	if rejected == 0 {
		return pts, 0, ""
	}
	var parts []string
	if len(notKept) > 0 {
		n := 0
		for _, c := range notKept {
			n += c
		}
		parts = append(parts, fmt.Sprintf("%d data points of metrics genscope does not keep (%s) were not stored: it keeps only the GenAI histograms %s",
			n, names(notKept), strings.Join(keptNames, ", ")))
	}
	if len(invalid) > 0 {
		n := 0
		for _, c := range invalid {
			n += c
		}
		parts = append(parts, fmt.Sprintf("%d invalid GenAI data points were not stored (%s)", n, names(invalid)))
	}
	return pts, rejected, strings.Join(parts, "; ")
}

var keptNames = []string{genai.MetricTokenUsage, genai.MetricOperationDuration, genai.MetricTimeToFirstChunk,
	genai.MetricTimePerOutputChunk, genai.MetricServerRequestDuration, genai.MetricServerTimeToFirstTok, genai.MetricServerTimePerOutTok}

// names lists the first few keys of m, sorted, with how many more.
func names(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	const show = 5
	if len(keys) <= show {
		return strings.Join(keys, ", ")
	}
	return strings.Join(keys[:show], ", ") + fmt.Sprintf(" and %d more", len(keys)-show)
}

// histogramPoint is what explicit and exponential histogram points share.
type histogramPoint interface {
	Attributes() pcommon.Map
	StartTimestamp() pcommon.Timestamp
	Timestamp() pcommon.Timestamp
	Count() uint64
	HasSum() bool
	Sum() float64
}

// histPoint builds a point's series from its attributes, with its times,
// count and sum (times scale, the unit's factor to seconds).
func histPoint[P histogramPoint](project, service, name string, t pmetric.AggregationTemporality, scale float64, dp P) genai.MetricPoint {
	p := point(project, service, name, dp.Attributes(), t == pmetric.AggregationTemporalityCumulative,
		int64(dp.StartTimestamp()), int64(dp.Timestamp()))
	p.Count = clampCount(dp.Count())
	if dp.HasSum() {
		p.Sum = dp.Sum() * scale
	}
	return p
}

// point builds a point's series from its attributes.
func point(project, service, name string, attrs pcommon.Map, cum bool, start, at int64) genai.MetricPoint {
	p := genai.MetricPoint{Project: project, Name: name, Service: service, Cumulative: cum, StartUnixNano: start, TimeUnixNano: at}
	str := func(k string) string {
		if v, ok := attrs.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
			return label(v.Str())
		}
		return ""
	}
	p.Provider = str("gen_ai.provider.name")
	if p.Provider == "" {
		p.Provider = str("gen_ai.system")
	}
	p.Provider = genai.NormalizeProvider(p.Provider)
	p.Operation = genai.NormalizeOperation(str("gen_ai.operation.name"))
	p.ResponseModel = str("gen_ai.response.model")
	p.Model = str("gen_ai.request.model")
	if p.Model == "" {
		p.Model = p.ResponseModel
	}
	p.ErrorType = str("error.type")
	if name == genai.MetricTokenUsage {
		p.TokenType = str("gen_ai.token.type")
	}
	return p
}

// checkPoint says what is wrong with a converted point, or "".
func checkPoint(p *genai.MetricPoint, t pmetric.AggregationTemporality) string {
	switch {
	case t != pmetric.AggregationTemporalityCumulative && t != pmetric.AggregationTemporalityDelta:
		return "no aggregation temporality"
	case p.TimeUnixNano <= 0:
		return "no time"
	case math.IsNaN(p.Sum) || math.IsInf(p.Sum, 0):
		return "a sum that is not finite"
	}
	if p.Name == genai.MetricTokenUsage {
		tt := genai.NormalizeTokenType(p.TokenType)
		if tt == "" {
			return "gen_ai.token.type is not input or output"
		}
		p.TokenType = tt
	}
	if len(p.Buckets) == 0 {
		p.Bounds = nil
		return ""
	}
	if len(p.Buckets) != len(p.Bounds)+1 {
		return "bucket counts do not match the bounds"
	}
	var n int64
	for i, b := range p.Bounds {
		if math.IsNaN(b) || math.IsInf(b, 0) || (i > 0 && b <= p.Bounds[i-1]) {
			return "bucket bounds are not finite and ascending"
		}
	}
	for _, c := range p.Buckets {
		n += c
	}
	if n != p.Count {
		return "bucket counts do not add up to the count"
	}
	return ""
}

func clampCount(n uint64) int64 {
	return int64(min(n, math.MaxInt64))
}

// label makes a series attribute valid UTF-8 of at most maxMetricLabel
// bytes.
func label(s string) string {
	if len(s) > maxMetricLabel {
		s = s[:maxMetricLabel]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// dataPoints is the number of data points of m.
func dataPoints(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// CheckMetricsDepth returns a *DepthError when a resource, scope or data
// point attribute of md nests deeper than genai.MaxValueDepth (the same
// bound as traces and logs, though only string attributes are kept).
func CheckMetricsDepth(md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		if err := checkMap(rm.Resource().Attributes(), "resource attribute"); err != nil {
			return err
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			if err := checkMap(sm.Scope().Attributes(), "scope attribute"); err != nil {
				return err
			}
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				if err := checkMetricDepth(ms.At(k)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func checkMetricDepth(m pmetric.Metric) error {
	const what = "data point attribute"
	each := func(n int, attrs func(int) pcommon.Map) error {
		for i := 0; i < n; i++ {
			if err := checkMap(attrs(i), what); err != nil {
				return err
			}
		}
		return nil
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		d := m.Gauge().DataPoints()
		return each(d.Len(), func(i int) pcommon.Map { return d.At(i).Attributes() })
	case pmetric.MetricTypeSum:
		d := m.Sum().DataPoints()
		return each(d.Len(), func(i int) pcommon.Map { return d.At(i).Attributes() })
	case pmetric.MetricTypeHistogram:
		d := m.Histogram().DataPoints()
		return each(d.Len(), func(i int) pcommon.Map { return d.At(i).Attributes() })
	case pmetric.MetricTypeExponentialHistogram:
		d := m.ExponentialHistogram().DataPoints()
		return each(d.Len(), func(i int) pcommon.Map { return d.At(i).Attributes() })
	case pmetric.MetricTypeSummary:
		d := m.Summary().DataPoints()
		return each(d.Len(), func(i int) pcommon.Map { return d.At(i).Attributes() })
	}
	return nil
}
