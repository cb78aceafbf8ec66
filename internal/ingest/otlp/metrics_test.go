package otlp

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelmetric "go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/genscope/genscope/internal/fixture"
	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/duckdb"
	"github.com/genscope/genscope/internal/tenancy"
)

// metricSink records the metric points it is given.
type metricSink struct {
	mu  sync.Mutex
	pts []genai.MetricPoint
	err error
}

func (m *metricSink) WriteMetrics(_ context.Context, pts []genai.MetricPoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.pts = append(m.pts, pts...)
	return nil
}

func (m *metricSink) points() []genai.MetricPoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]genai.MetricPoint(nil), m.pts...)
}

// testMetrics is a request with one GenAI histogram point (token usage),
// and points genscope does not keep: a gauge, a GenAI metric sent as a
// sum, and a token usage point of an unknown token type.
func testMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	at := pcommon.NewTimestampFromTime(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))

	m := ms.AppendEmpty()
	m.SetName(genai.MetricTokenUsage)
	m.SetUnit("{token}")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := h.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(at - 60e9)
	dp.SetTimestamp(at)
	dp.Attributes().PutStr("gen_ai.operation.name", "chat")
	dp.Attributes().PutStr("gen_ai.provider.name", "openai")
	dp.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
	dp.Attributes().PutStr("gen_ai.token.type", "input")
	dp.SetCount(2)
	dp.SetSum(150)
	dp.ExplicitBounds().FromRaw([]float64{1, 4, 16, 64, 256})
	dp.BucketCounts().FromRaw([]uint64{0, 0, 0, 1, 1, 0})
	bad := h.DataPoints().AppendEmpty()
	dp.CopyTo(bad)
	bad.Attributes().PutStr("gen_ai.token.type", "total")

	g := ms.AppendEmpty()
	g.SetName("process.cpu.utilization")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(0.5)

	sum := ms.AppendEmpty()
	sum.SetName(genai.MetricOperationDuration)
	sum.SetEmptySum().DataPoints().AppendEmpty().SetDoubleValue(3)
	return md
}

func encodeMetrics(t testing.TB, md pmetric.Metrics, enc encoding) []byte {
	t.Helper()
	req := pmetricotlp.NewExportRequestFromMetrics(md)
	var (
		b   []byte
		err error
	)
	if enc == encJSON {
		b, err = req.MarshalJSON()
	} else {
		b, err = req.MarshalProto()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func metricsAnswer(t *testing.T, a answer, enc encoding) pmetricotlp.ExportResponse {
	t.Helper()
	resp := pmetricotlp.NewExportResponse()
	var err error
	if enc == encJSON {
		err = resp.UnmarshalJSON(a.body)
	} else {
		err = resp.UnmarshalProto(a.body)
	}
	if err != nil {
		t.Fatalf("response %q: %v", a.body, err)
	}
	return resp
}

// TestHTTPMetricsCapture: the GenAI metrics a real instrumentation sent
// (the OpenTelemetry OpenAI instrumentation of the lab) are all kept,
// with their series attributes.
func TestHTTPMetricsCapture(t *testing.T) {
	ms := &metricSink{}
	r := newReceiver(t, &sink{}, Options{Metrics: ms})
	srv := newHTTPServer(t, r)
	a := post(t, srv.URL, "/v1/metrics", "application/json", "", fixture.Captured(t, "otlp/lab-otel-openai.metrics.json"))
	if a.code != http.StatusOK {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	if ps := metricsAnswer(t, a, encJSON).PartialSuccess(); ps.RejectedDataPoints() != 0 {
		t.Errorf("rejected %d points of a real capture: %s", ps.RejectedDataPoints(), ps.ErrorMessage())
	}
	pts := ms.points()
	if len(pts) != 4 {
		t.Fatalf("stored %d points, want 4", len(pts))
	}
	var tokens, calls int64
	for _, p := range pts {
		if p.Project != tenancy.DefaultProject || p.Provider != "openai" || p.Operation != "chat" || !p.Cumulative ||
			p.Model == "" || p.Service == "" || len(p.Buckets) != len(p.Bounds)+1 {
			t.Errorf("point %+v", p)
		}
		switch p.Name {
		case genai.MetricTokenUsage:
			tokens += int64(p.Sum)
		case genai.MetricOperationDuration:
			calls += p.Count
		}
	}
	if calls == 0 || tokens == 0 {
		t.Errorf("calls %d, tokens %d", calls, tokens)
	}
	if got := testutil.ToFloat64(r.m.metricsAccepted.WithLabelValues(transportHTTP)); got != 4 {
		t.Errorf("accepted counter %v, want 4", got)
	}
}

// TestMetricsPartialSuccess: the points genscope does not keep are
// answered in a partial success that names them and says they were not
// stored, over HTTP (both encodings) and gRPC; the GenAI point is kept.
func TestMetricsPartialSuccess(t *testing.T) {
	check := func(t *testing.T, ms *metricSink, rejected int64, msg string) {
		t.Helper()
		if rejected != 3 {
			t.Errorf("rejected %d points, want 3", rejected)
		}
		for _, want := range []string{"process.cpu.utilization", "not stored", "gen_ai.token.type is not input or output", "not a histogram"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q does not say %q", msg, want)
			}
		}
		if pts := ms.points(); len(pts) != 1 || pts[0].TokenType != genai.TokenInput || pts[0].Service != "checkout" {
			t.Errorf("stored %+v", pts)
		}
	}
	for _, enc := range encodings {
		t.Run("http/"+enc.String(), func(t *testing.T) {
			ms := &metricSink{}
			srv := newHTTPServer(t, newReceiver(t, &sink{}, Options{Metrics: ms}))
			a := post(t, srv.URL, "/v1/metrics", enc.contentType(), "", encodeMetrics(t, testMetrics(), enc))
			if a.code != http.StatusOK {
				t.Fatalf("status %d", a.code)
			}
			ps := metricsAnswer(t, a, enc).PartialSuccess()
			check(t, ms, ps.RejectedDataPoints(), ps.ErrorMessage())
		})
	}
	t.Run("grpc", func(t *testing.T) {
		ms := &metricSink{}
		conn := newGRPC(t, newReceiver(t, &sink{}, Options{Metrics: ms}))
		resp, err := pmetricotlp.NewGRPCClient(conn).Export(t.Context(), pmetricotlp.NewExportRequestFromMetrics(testMetrics()))
		if err != nil {
			t.Fatal(err)
		}
		check(t, ms, resp.PartialSuccess().RejectedDataPoints(), resp.PartialSuccess().ErrorMessage())
	})
	t.Run("no metric store", func(t *testing.T) {
		srv := newHTTPServer(t, newReceiver(t, &sink{}, Options{}))
		a := post(t, srv.URL, "/v1/metrics", "application/json", "", encodeMetrics(t, testMetrics(), encJSON))
		ps := metricsAnswer(t, a, encJSON).PartialSuccess()
		if a.code != http.StatusOK || ps.RejectedDataPoints() != 4 || !strings.Contains(ps.ErrorMessage(), "does not keep metrics") {
			t.Errorf("status %d, rejected %d: %s", a.code, ps.RejectedDataPoints(), ps.ErrorMessage())
		}
	})
}

// TestMetricsStoreFailure: a store that fails is a 503 / UNAVAILABLE the
// client retries, never a 200.
func TestMetricsStoreFailure(t *testing.T) {
	ms := &metricSink{err: errors.New("disk full")}
	r := newReceiver(t, &sink{}, Options{Metrics: ms})
	srv := newHTTPServer(t, r)
	a := post(t, srv.URL, "/v1/metrics", "application/x-protobuf", "", encodeMetrics(t, testMetrics(), encProto))
	if a.code != http.StatusServiceUnavailable || a.retryAfter == "" {
		t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", a.code, a.retryAfter)
	}
	conn := newGRPC(t, r)
	_, err := pmetricotlp.NewGRPCClient(conn).Export(t.Context(), pmetricotlp.NewExportRequestFromMetrics(testMetrics()))
	if status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC: %v, want UNAVAILABLE", err)
	}
}

// TestMetricsTooDeep: metric attributes obey the depth bound of traces.
func TestMetricsTooDeep(t *testing.T) {
	md := testMetrics()
	v := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints().At(0).Attributes().PutEmptySlice("deep")
	for range genai.MaxValueDepth + 2 {
		v = v.AppendEmpty().SetEmptySlice()
	}
	ms := &metricSink{}
	r := newReceiver(t, &sink{}, Options{Metrics: ms})
	srv := newHTTPServer(t, r)
	for _, enc := range encodings {
		a := post(t, srv.URL, "/v1/metrics", enc.contentType(), "", encodeMetrics(t, md, enc))
		if a.code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", enc, a.code)
		}
	}
	_, err := pmetricotlp.NewGRPCClient(newGRPC(t, r)).Export(t.Context(), pmetricotlp.NewExportRequestFromMetrics(md))
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("gRPC: %v, want INVALID_ARGUMENT", err)
	}
	if n := len(ms.points()); n != 0 {
		t.Errorf("stored %d points of a refused request", n)
	}
}

// TestMetricsFromGoSDK drives the OpenTelemetry Go SDK's OTLP/HTTP metric
// exporter (protobuf, cumulative by default) at the receiver over a real
// DuckDB store: three exports of growing cumulative histograms, as an
// instrumented application sends them, count each call once.
func TestMetricsFromGoSDK(t *testing.T) {
	ctx := context.Background()
	db, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "m.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := newHTTPServer(t, newReceiver(t, &sink{}, Options{Metrics: db}))

	for _, temporality := range []string{"cumulative", "delta"} {
		t.Run(temporality, func(t *testing.T) {
			opts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpointURL(srv.URL + "/v1/metrics")}
			if temporality == "delta" {
				opts = append(opts, otlpmetrichttp.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality {
					return metricdata.DeltaTemporality
				}))
			}
			exp, err := otlpmetrichttp.New(ctx, opts...)
			if err != nil {
				t.Fatal(err)
			}
			reader := sdkmetric.NewManualReader()
			service := "sdk-" + temporality
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader),
				sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", service))))
			meter := mp.Meter("genai-test")
			// The bounds the GenAI conventions advise, as instrumentations set them.
			dur, _ := meter.Float64Histogram(genai.MetricOperationDuration, sdkmetricUnit("s"),
				otelmetric.WithExplicitBucketBoundaries(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92))
			tok, _ := meter.Int64Histogram(genai.MetricTokenUsage, sdkmetricUnit("{token}"))
			other, _ := meter.Int64Counter("http.client.requests")
			attrs := []attribute.KeyValue{attribute.String("gen_ai.operation.name", "chat"),
				attribute.String("gen_ai.provider.name", "openai"), attribute.String("gen_ai.request.model", "gpt-4o-mini")}
			export := func() {
				var rm metricdata.ResourceMetrics
				if err := reader.Collect(ctx, &rm); err != nil {
					t.Fatal(err)
				}
				// The SDK reports the partial success of the counter
				// genscope does not keep as an error, with its message.
				if err := exp.Export(ctx, &rm); err != nil && !strings.Contains(err.Error(), "http.client.requests) were not stored") {
					t.Fatalf("export: %v", err)
				}
			}
			calls := 0
			for round := range 3 {
				for range round + 1 {
					calls++
					dur.Record(ctx, 0.25, withAttrs(attrs...))
					tok.Record(ctx, 100, withAttrs(append(attrs, attribute.String("gen_ai.token.type", "input"))...))
					tok.Record(ctx, 20, withAttrs(append(attrs, attribute.String("gen_ai.token.type", "output"))...))
					other.Add(ctx, 1)
				}
				export()
			}
			export() // nothing new
			_ = exp.Shutdown(ctx)
			tot, err := db.MetricTotals(ctx, store.Filter{Project: tenancy.DefaultProject, Service: service})
			if err != nil {
				t.Fatal(err)
			}
			ov := store.OverviewOfMetrics(tot)
			if ov.Calls != int64(calls) || ov.InputTokens != int64(100*calls) || ov.OutputTokens != int64(20*calls) {
				t.Errorf("calls %d in %d out %d; want %d, %d, %d", ov.Calls, ov.InputTokens, ov.OutputTokens, calls, 100*calls, 20*calls)
			}
			if ov.DurationMS.Avg < 249.9 || ov.DurationMS.Avg > 250.1 || ov.DurationMS.P50 <= 160 || ov.DurationMS.P50 > 320 {
				t.Errorf("duration %+v, want avg 250 and p50 in (160, 320]", ov.DurationMS)
			}
		})
	}
}

func sdkmetricUnit(u string) otelmetric.HistogramOption { return otelmetric.WithUnit(u) }

func withAttrs(kv ...attribute.KeyValue) otelmetric.MeasurementOption {
	return otelmetric.WithAttributes(kv...)
}
