package clickhouse

import (
	"strconv"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/sim/traffic"
	"github.com/genscope/genscope/internal/store"
)

// benchSpans is n synthetic spans of one day, as the ingest benchmark
// writes them.
func benchSpans(b *testing.B, n int) []genai.Span {
	b.Helper()
	end := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	g, err := traffic.New(traffic.Config{Seed: 2, Spans: n, Start: end.Add(-24 * time.Hour), End: end,
		Cost: func(*genai.Span) (float64, bool) { return 0.001, true }})
	if err != nil {
		b.Fatal(err)
	}
	var spans []genai.Span
	for c := g.Next(nil); len(c) > 0 && len(spans) < n; c = g.Next(nil) {
		spans = append(spans, c...)
	}
	return spans[:min(n, len(spans))]
}

// BenchmarkPrepare is the encoding Prepare does on the submitters'
// goroutines: the detail JSON and the RowBinary of every span.
func BenchmarkPrepare(b *testing.B) {
	for _, n := range []int{1000, 20000} {
		b.Run("spans="+strconv.Itoa(n), func(b *testing.B) {
			spans := benchSpans(b, n)
			rows, err := encodeRows(spans)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(spanRows(spans, ptrs(rows), seq(len(spans))))))
			b.ReportAllocs()
			for b.Loop() {
				if err := (&DB{}).Prepare(&store.Batch{Spans: spans}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

// BenchmarkSpanRows is what the writer does with prepared rows before the
// insert: sort them by the table's key and put the block together.
func BenchmarkSpanRows(b *testing.B) {
	for _, n := range []int{1000, 20000} {
		b.Run("spans="+strconv.Itoa(n), func(b *testing.B) {
			spans := benchSpans(b, n)
			rows, err := encodeRows(spans)
			if err != nil {
				b.Fatal(err)
			}
			rp := ptrs(rows)
			idx := seq(len(spans))
			b.SetBytes(int64(len(spanRows(spans, rp, idx))))
			b.ReportAllocs()
			for b.Loop() {
				spanRows(spans, rp, idx)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

func ptrs(rows []encRow) []*encRow {
	out := make([]*encRow, len(rows))
	for i := range rows {
		out[i] = &rows[i]
	}
	return out
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
