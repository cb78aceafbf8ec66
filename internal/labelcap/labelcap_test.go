package labelcap

import (
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestLimiter(t *testing.T) {
	reg := prometheus.NewRegistry()
	l, err := New(3, reg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				_ = l.Value("m", "model", fmt.Sprintf("model-%d", (i+g)%10))
			}
		}()
	}
	wg.Wait()
	admitted := 0
	for i := range 10 {
		if v := l.Value("m", "model", fmt.Sprintf("model-%d", i)); v != Other {
			admitted++
		}
	}
	if admitted != 3 {
		t.Errorf("%d values admitted, want 3", admitted)
	}
	if l.Value("m", "provider", "openai") != "openai" || l.Value("other_metric", "model", "model-9") != "model-9" {
		t.Error("labels of other metrics or names share a budget")
	}
	if n := testutil.ToFloat64(l.folded.WithLabelValues("m", "model")); n < 7*80 {
		t.Errorf("folded %v", n)
	}
	if (*Limiter)(nil).Value("m", "x", "y") != "y" {
		t.Error("nil limiter")
	}
}

func TestSeries(t *testing.T) {
	l, _ := New(4, nil)
	names := []string{"a", "b"}
	kept := 0
	for i := range 4 {
		for j := range 4 {
			v := []string{fmt.Sprint(i), fmt.Sprint(j)}
			l.Series("m", names, v)
			if v[0] != Other {
				kept++
			}
		}
	}
	if kept != 16 {
		t.Errorf("%d of 16 combinations kept under a cap of 20", kept)
	}
	for i := range 10 {
		v := []string{"x" + fmt.Sprint(i), "y"}
		l.Series("m", names, v)
	}
	v := []string{"0", "1"}
	if l.Series("m", names, v); v[0] != "0" || v[1] != "1" {
		t.Errorf("a kept combination changed: %v", v)
	}
	// 16 + (other,"y") = 17 < 20; three more new combinations fit, then none.
	for i := range 10 {
		v := []string{fmt.Sprint(i % 4), "z" + fmt.Sprint(i)}
		l.Series("m", names, v)
	}
	if got := len(l.combos["m"]); got != 20 {
		t.Errorf("%d combinations kept, want 20", got)
	}
}

// BenchmarkSeries is the recorder's per-call cost of capping the labels
// of one observation already admitted (the steady state).
func BenchmarkSeries(b *testing.B) {
	l, _ := New(0, nil)
	names := []string{"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			v := []string{"chat", "openai", models[i%len(models)]}
			l.Series("gen_ai_client_token_usage", names, v)
			i++
		}
	})
}

var models = []string{"gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3", "claude-sonnet-4", "gemini-2.5-pro", "llama3.1:8b", "mistral-large"}
