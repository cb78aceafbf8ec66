package appinsights

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genscope/genscope/internal/store"
)

// discard is a Sink that keeps nothing.
type discard struct{}

func (discard) Submit(context.Context, *store.Batch) error { return nil }

// BenchmarkTrack posts the captured exporter payloads through the handler
// (decode, map, normalize) with a sink that keeps nothing.
func BenchmarkTrack(b *testing.B) {
	for _, name := range []string{"lab-azure-exporter.traces.json", "lab-azure-exporter.logs.json"} {
		body := readFixture(b, name)
		items, err := splitItems(body)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("payload=%s", name), func(b *testing.B) {
			r, err := New(discard{}, Options{}, nil, prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			mux := http.NewServeMux()
			r.Register(mux)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v2.1/track", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "items/s")
		})
	}
}
