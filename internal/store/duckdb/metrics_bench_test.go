package duckdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// benchPoints is one export of an app's cumulative GenAI metrics: series
// models × (duration, input tokens, output tokens), at the i-th minute.
func benchPoints(series, i int, start time.Time) []genai.MetricPoint {
	bounds := []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	var pts []genai.MetricPoint
	for m := range series {
		n := int64(10 * (i + 1))
		buckets := make([]int64, len(bounds)+1)
		buckets[6] = n
		base := genai.MetricPoint{Project: "p", Service: "app", Provider: "openai", Operation: "chat", Model: fmt.Sprintf("model-%d", m),
			Cumulative: true, StartUnixNano: start.UnixNano(), TimeUnixNano: start.Add(time.Duration(i+1) * time.Minute).UnixNano()}
		d := base
		d.Name, d.Count, d.Sum, d.Bounds, d.Buckets = genai.MetricOperationDuration, n, float64(n)*0.5, bounds, buckets
		in, out := base, base
		in.Name, in.TokenType, in.Count, in.Sum = genai.MetricTokenUsage, genai.TokenInput, n, float64(n*100)
		out.Name, out.TokenType, out.Count, out.Sum = genai.MetricTokenUsage, genai.TokenOutput, n, float64(n*20)
		pts = append(pts, d, in, out)
	}
	return pts
}

// BenchmarkWriteMetrics stores one export (cumulative, 30 series) per op
// into a store that already holds the series.
func BenchmarkWriteMetrics(b *testing.B) {
	db := openTest(b)
	b.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if err := db.WriteMetrics(ctx, benchPoints(10, i, start)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkMetricTotals sums a day of one-minute exports of 10 models
// (43,200 rows) with the spans-win rule, as the Overview asks: without
// spans of the service, and with one span (of one model, one minute) so
// every row of the service is checked.
func BenchmarkMetricTotals(b *testing.B) {
	db := openTest(b)
	b.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var pts []genai.MetricPoint
	for i := range 1440 {
		pts = append(pts, benchPoints(10, i, start)...)
	}
	if err := db.WriteMetrics(ctx, pts); err != nil {
		b.Fatal(err)
	}
	f := store.Filter{Project: "p", From: start, To: start.Add(25 * time.Hour)}
	for _, spans := range []string{"none", "some"} {
		b.Run("spans="+spans, func(b *testing.B) {
			want := int64(10 * 14400)
			if spans == "some" {
				sp := genai.Span{Project: "p", TraceID: genai.TraceID{1}, SpanID: genai.SpanID{1}, Name: "chat", Service: "app",
					StartUnixNano: start.Add(90 * time.Second).UnixNano(), Operation: "chat", RequestModel: "model-0", Status: genai.StatusOK}
				if err := db.Write(ctx, &store.Batch{Spans: []genai.Span{sp}}); err != nil {
					b.Fatal(err)
				}
				want -= 10 // model-0's row of 00:01-00:02
			}
			b.ReportAllocs()
			for b.Loop() {
				tot, err := db.MetricTotals(ctx, f)
				if got := store.OverviewOfMetrics(tot).Calls; err != nil || got != want {
					b.Fatal(err, got, want)
				}
			}
		})
	}
}
