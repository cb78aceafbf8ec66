package storetest

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// testDeepValues: a span whose attributes, resource attributes and event
// attributes nest far deeper than genai.MaxValueDepth (the receivers
// refuse such values; this is what a store does if one reaches it) is
// written in time linear in its size, and its trace reads back (the
// reader once failed on what the writer had accepted): values within the
// limit intact, the part beyond it as genai.TooDeep.
func testDeepValues(t *testing.T, s store.Store) {
	ctx := context.Background()
	nest := func(d int) any {
		var v any = "leaf"
		for i := range d {
			if i%2 == 0 {
				v = map[string]any{"k": v}
			} else {
				v = []any{v}
			}
		}
		return v
	}
	shallow := nest(genai.MaxValueDepth - 1)
	start := time.Now().Add(-time.Minute).UnixNano()
	sp := genai.Span{Project: Project, TraceID: genai.TraceID{0xde, 0xe9}, SpanID: genai.SpanID{0xde, 0xe9}, Name: "deep",
		StartUnixNano: start, DurationNano: int64(time.Millisecond), Status: genai.StatusOK,
		Attributes:         map[string]any{"deep": nest(30000), "shallow": shallow, "nan": math.NaN()},
		ResourceAttributes: map[string]any{"service.name": "deep", "deep": nest(30000)},
		Events:             []genai.Event{{TimeUnixNano: start, Name: "e", Attributes: map[string]any{"deep": nest(30000)}}},
	}
	began := time.Now()
	write(t, s, []genai.Span{sp}, nil)
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("writing one deep span took %v", d)
	}
	tr, err := s.Trace(ctx, Project, sp.TraceID)
	if err != nil {
		t.Fatalf("Trace of a span with deep attributes: %v", err)
	}
	if len(tr.Roots) != 1 {
		t.Fatalf("trace has %d roots", len(tr.Roots))
	}
	got := tr.Roots[0].Span
	if _, err := json.Marshal(tr); err != nil {
		t.Fatalf("the trace does not encode: %v", err)
	}
	for name, m := range map[string]map[string]any{"attributes": got.Attributes, "resource attributes": got.ResourceAttributes,
		"event attributes": got.Events[0].Attributes} {
		if genai.DeeperThan(m, genai.MaxValueDepth+1) {
			t.Errorf("%s read back deeper than %d levels", name, genai.MaxValueDepth+1)
		}
	}
	raw, _ := json.Marshal(got.Attributes["shallow"])
	want, _ := json.Marshal(shallow)
	if string(raw) != string(want) {
		t.Errorf("a value within the limit changed: %s, want %s", raw, want)
	}
}
