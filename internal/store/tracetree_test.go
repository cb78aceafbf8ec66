package store

import (
	"testing"

	"github.com/genscope/genscope/internal/genai"
)

func TestTraceBuilder(t *testing.T) {
	id := TraceFromHiLo(1, 2)
	span := func(s, p uint64) genai.Span {
		return genai.Span{TraceID: id, SpanID: SpanFromU64(s), ParentSpanID: SpanFromU64(p), Name: "x"}
	}
	var b TraceBuilder
	b.Add(span(1, 0), 10, 5e6, "s", "u") // root
	b.Add(span(2, 1), 11, 1e6, "s", "u") // child of 1
	b.Add(span(3, 9), 12, 1e6, "", "")   // parent not in the trace: a root
	b.Add(span(2, 3), 13, 1e6, "", "")   // id reused: dropped
	b.Add(span(4, 4), 14, 1e6, "", "")   // its own parent: a root
	tr := b.Trace(id)
	if tr.TraceID != id.String() || len(tr.Roots) != 3 {
		t.Fatalf("roots %d of %s", len(tr.Roots), tr.TraceID)
	}
	r := tr.Roots[0]
	if r.SpanID != SpanFromU64(1).String() || r.ParentSpanID != "" || r.DurationMS != 5 || r.Session != "s" || len(r.Children) != 1 {
		t.Fatalf("root %+v", r)
	}
	if c := r.Children[0]; c.SpanID != SpanFromU64(2).String() || c.ParentSpanID != r.SpanID || c.StartTime.UnixNano() != 11 {
		t.Fatalf("child %+v", c)
	}
	if tr.Roots[1].ParentSpanID != SpanFromU64(9).String() || tr.Roots[2].SpanID != SpanFromU64(4).String() {
		t.Fatalf("roots %+v %+v", tr.Roots[1], tr.Roots[2])
	}
}
