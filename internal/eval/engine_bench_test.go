package eval

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store"
)

// BenchmarkObserve is what the recorder's writer pays per batch of 100
// calls: nothing configured, evaluators whose filters match nothing, and
// evaluators sampling 10% of every call (queue full: the drop path, the
// dearest).
func BenchmarkObserve(b *testing.B) {
	batch := &store.Batch{}
	for range 100 {
		batch.Spans = append(batch.Spans, call("default", "gpt-4o", "hi"))
	}
	for _, c := range []struct {
		name   string
		filter Filters
		sample float64
		n      int
	}{{"evaluators=0", Filters{}, 1, 0}, {"evaluators=3/match=none", Filters{Model: "other"}, 1, 3}, {"evaluators=3/sample=0.1", Filters{}, 0.1, 3}} {
		b.Run(c.name, func(b *testing.B) {
			var evs []Evaluator
			for i := range c.n {
				evs = append(evs, Evaluator{Name: fmt.Sprint("e", i), Type: TypeRefusal, Sample: c.sample, Enabled: true, Filters: c.filter})
			}
			db := openDB(b)
			e, err := New(context.Background(), Options{State: db, Scores: db, Reader: db, DefaultProject: "default", ConfigEvaluators: evs,
				QueueSize: 16, Workers: 1, Delay: time.Hour, Log: quiet})
			if err != nil {
				b.Fatal(err)
			}
			e.Start()
			defer e.Stop()
			b.ReportAllocs()
			for b.Loop() {
				e.Observe(batch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Spans)), "ns/call")
		})
	}
}
