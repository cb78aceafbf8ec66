package store

import (
	"testing"

	"github.com/genscope/genscope/internal/genai"
)

func TestBatchCarriers(t *testing.T) {
	a, b := genai.TraceID{1}, genai.TraceID{2}
	spans := []genai.Span{
		{TraceID: a, SpanID: genai.SpanID{0, 9}, StartUnixNano: 20, SessionID: "late"},
		{TraceID: a, SpanID: genai.SpanID{0, 5}, StartUnixNano: 10, SessionID: "early-high-id", UserID: "u1"},
		{TraceID: a, SpanID: genai.SpanID{0, 3}, StartUnixNano: 10, SessionID: "early-low-id"},
		{TraceID: b, SpanID: genai.SpanID{0, 1}, StartUnixNano: 5},
		{TraceID: a, SpanID: genai.SpanID{0, 1}, StartUnixNano: 1, UserID: "u0"},
	}
	cs := BatchCarriers(spans, []int{0, 1, 2, 3, 4})
	if cs.Session(a) != "early-low-id" || cs.User(a) != "u0" || cs.Session(b) != "" || cs.User(genai.TraceID{3}) != "" {
		t.Errorf("session %q user %q, b %q", cs.Session(a), cs.User(a), cs.Session(b))
	}
	// Only the indexed spans count.
	if cs := BatchCarriers(spans, []int{0}); cs.Session(a) != "late" || cs.User(a) != "" {
		t.Errorf("subset: %q %q", cs.Session(a), cs.User(a))
	}
}
