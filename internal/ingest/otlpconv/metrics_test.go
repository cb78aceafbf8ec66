package otlpconv

import (
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/genscope/genscope/internal/genai"
)

func TestMetricsCapture(t *testing.T) {
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalJSON(readFixture(t, "lab-otel-openai.metrics.json")); err != nil {
		t.Fatal(err)
	}
	pts, rejected, msg := Metrics(req.Metrics(), "p")
	if rejected != 0 || msg != "" || len(pts) != 4 {
		t.Fatalf("%d points, %d rejected (%s)", len(pts), rejected, msg)
	}
	p := pts[0]
	if p.Name != genai.MetricOperationDuration || p.Model != "gpt-4o" || p.ResponseModel != "gpt-4o-2024-08-06" ||
		p.Provider != "openai" || p.Operation != "chat" || !p.Cumulative || p.Count != 4 || len(p.Bounds) != 14 {
		t.Errorf("first point %+v", p)
	}
}

// histogram appends a GenAI histogram metric with one point.
func histogram(ms pmetric.MetricSlice, name, unit string, set func(pmetric.HistogramDataPoint)) {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := h.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)))
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	dp.Attributes().PutStr("gen_ai.system", "az.ai.openai")
	dp.Attributes().PutStr("gen_ai.response.model", "gpt-4o-2024")
	dp.SetCount(1)
	dp.SetSum(250)
	dp.ExplicitBounds().FromRaw([]float64{100, 1000})
	dp.BucketCounts().FromRaw([]uint64{0, 1, 0})
	if set != nil {
		set(dp)
	}
}

func TestMetricsPoints(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	// Milliseconds are converted to the conventions' seconds; the
	// response model stands in for a missing request model; the old
	// gen_ai.system names the provider; no service.name is the SDKs'.
	histogram(ms, genai.MetricServerTimeToFirstTok, "ms", nil)
	// Kept as count and sum.
	e := ms.AppendEmpty()
	e.SetName(genai.MetricServerRequestDuration)
	eh := e.SetEmptyExponentialHistogram()
	eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	edp := eh.DataPoints().AppendEmpty()
	edp.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)))
	edp.SetCount(3)
	edp.SetSum(1.5)
	// Invalid points, each rejected with why.
	histogram(ms, genai.MetricOperationDuration, "s", func(dp pmetric.HistogramDataPoint) { dp.SetSum(math.Inf(1)) })
	histogram(ms, genai.MetricOperationDuration, "s", func(dp pmetric.HistogramDataPoint) { dp.BucketCounts().FromRaw([]uint64{1}) })
	histogram(ms, genai.MetricOperationDuration, "s", func(dp pmetric.HistogramDataPoint) { dp.ExplicitBounds().FromRaw([]float64{5, 1}) })
	histogram(ms, genai.MetricOperationDuration, "s", func(dp pmetric.HistogramDataPoint) { dp.SetCount(7) })
	histogram(ms, genai.MetricOperationDuration, "s", func(dp pmetric.HistogramDataPoint) { dp.SetTimestamp(0) })
	histogram(ms, genai.MetricTokenUsage, "{token}", nil) // no token type
	// No recorded value: skipped, not rejected.
	histogram(ms, genai.MetricOperationDuration, "s", func(dp pmetric.HistogramDataPoint) {
		dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
	})

	pts, rejected, msg := Metrics(md, "p")
	if len(pts) != 2 || rejected != 6 {
		t.Fatalf("%d points, %d rejected (%s); want 2, 6", len(pts), rejected, msg)
	}
	p := pts[0]
	if p.Sum != 0.25 || p.Bounds[0] != 0.1 || p.Bounds[1] != 1 || p.Model != "gpt-4o-2024" || p.Service != genai.DefaultService ||
		p.Provider != genai.NormalizeProvider("az.ai.openai") || p.Cumulative {
		t.Errorf("ms point %+v", p)
	}
	if e := pts[1]; e.Count != 3 || e.Sum != 1.5 || e.Buckets != nil || !e.Cumulative {
		t.Errorf("exponential point %+v", e)
	}
	for _, want := range []string{"not finite", "do not match the bounds", "not finite and ascending", "do not add up", "no time", "and 1 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
}

// FuzzMetrics feeds bytes to the OTLP metrics decoders and converts what
// decodes: every data point is kept or rejected, and what is kept is
// well-formed.
func FuzzMetrics(f *testing.F) {
	f.Add(readFixture(f, "lab-otel-openai.metrics.json"))
	md := pmetric.NewMetrics()
	histogram(md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics(), genai.MetricTokenUsage, "{token}",
		func(dp pmetric.HistogramDataPoint) { dp.Attributes().PutStr("gen_ai.token.type", "output") })
	b, _ := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, proto := range []bool{false, true} {
			req := pmetricotlp.NewExportRequest()
			var err error
			if proto {
				err = req.UnmarshalProto(b)
			} else {
				err = req.UnmarshalJSON(b)
			}
			if err != nil {
				continue
			}
			pts, rejected, msg := Metrics(req.Metrics(), "p")
			if len(pts)+rejected > req.Metrics().DataPointCount() || (rejected > 0) != (msg != "") {
				t.Fatalf("%d points + %d rejected of %d (%q)", len(pts), rejected, req.Metrics().DataPointCount(), msg)
			}
			for _, p := range pts {
				if !genai.KeptMetric(p.Name) || p.TimeUnixNano <= 0 || math.IsNaN(p.Sum) || math.IsInf(p.Sum, 0) ||
					(len(p.Buckets) != 0 && len(p.Buckets) != len(p.Bounds)+1) || (p.Name == genai.MetricTokenUsage && p.TokenType == "") {
					t.Fatalf("malformed point %+v", p)
				}
			}
		}
	})
}
