package otlpconv

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// BenchmarkMetrics converts the lab's captured GenAI metrics request.
func BenchmarkMetrics(b *testing.B) {
	raw := readFixture(b, "lab-otel-openai.metrics.json")
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalJSON(raw); err != nil {
		b.Fatal(err)
	}
	md := req.Metrics()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if pts, rejected, _ := Metrics(md, "p"); len(pts) != 4 || rejected != 0 {
			b.Fatal(len(pts), rejected)
		}
	}
}
