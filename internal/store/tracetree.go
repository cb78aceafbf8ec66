package store

import (
	"time"

	"github.com/genscope/genscope/internal/genai"
)

// TraceBuilder links the spans of one trace into a tree. Spans are added
// in the order the trace shows them (by start); a span whose parent is in
// the trace becomes that parent's child, the others are roots. A span id
// already added (reused within the trace at another start) is dropped:
// the first one is kept.
type TraceBuilder struct {
	nodes map[genai.SpanID]*TraceNode
	order []*TraceNode
}

// Add adds sp, which started at startNS and took durNS, with its
// effective session and user.
//
// It returns the span's node (for a span added twice, the first).
func (b *TraceBuilder) Add(sp genai.Span, startNS, durNS int64, session, user string) *TraceNode {
	if n, dup := b.nodes[sp.SpanID]; dup {
		return n
	}
	if b.nodes == nil {
		b.nodes = map[genai.SpanID]*TraceNode{}
	}
	n := &TraceNode{
		TraceID:    sp.TraceID.String(),
		SpanID:     sp.SpanID.String(),
		StartTime:  time.Unix(0, startNS).UTC(),
		DurationMS: float64(durNS) / 1e6,
		Session:    session,
		User:       user,
		Class:      sp.Class(),
		Span:       sp,
		Children:   []*TraceNode{},
	}
	if sp.ParentSpanID != (genai.SpanID{}) {
		n.ParentSpanID = sp.ParentSpanID.String()
	}
	b.nodes[sp.SpanID] = n
	b.order = append(b.order, n)
	return n
}

// Trace is the tree of the spans added, for the trace id.
func (b *TraceBuilder) Trace(id genai.TraceID) Trace {
	t := Trace{TraceID: id.String(), Roots: []*TraceNode{}}
	for _, n := range b.order {
		p := b.nodes[n.Span.ParentSpanID]
		if n.Span.ParentSpanID == (genai.SpanID{}) || p == nil || p == n {
			t.Roots = append(t.Roots, n)
			continue
		}
		p.Children = append(p.Children, n)
	}
	return t
}
