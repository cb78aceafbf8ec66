package traffic

import (
	"testing"

	"github.com/genscope/genscope/internal/genai"
)

// BenchmarkGenerate measures generation per span; ns/span times 1e7 is the
// time to generate the 10-million-span data set.
func BenchmarkGenerate(b *testing.B) {
	for _, content := range []bool{true, false} {
		name := "content=true"
		if !content {
			name = "content=false"
		}
		b.Run(name, func(b *testing.B) {
			cfg := Config{Seed: 1, Spans: 10_000_000, OmitContent: !content}
			g, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]genai.Span, 0, 1024)
			spans := 0
			b.ReportAllocs()
			for b.Loop() {
				buf = g.Next(buf)
				if len(buf) == 0 {
					g, _ = New(cfg)
					continue
				}
				spans += len(buf)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(spans), "ns/span")
			b.ReportMetric(float64(spans)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

// BenchmarkMarshal measures building and encoding OTLP requests of 1000 spans.
func BenchmarkMarshal(b *testing.B) {
	g, err := New(Config{Seed: 1, Spans: 1000})
	if err != nil {
		b.Fatal(err)
	}
	spans := g.Next(make([]genai.Span, 0, 1000))
	for _, enc := range []struct {
		name string
		f    func([]genai.Span) ([]byte, error)
	}{{"encoding=proto", MarshalProto}, {"encoding=json", MarshalJSON}} {
		b.Run(enc.name, func(b *testing.B) {
			body, _ := enc.f(spans)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.f(spans); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
		})
	}
}
