package genai

import (
	"strings"
	"testing"
)

func nested(depth int) any {
	var v any = "x"
	for i := range depth {
		if i%2 == 0 {
			v = []any{v}
		} else {
			v = map[string]any{"k": v}
		}
	}
	return v
}

func TestDeeperThan(t *testing.T) {
	for _, d := range []int{0, 1, 2, 31, 32, 33, 1000} {
		v := nested(d)
		for _, max := range []int{0, 1, 32} {
			if got, want := DeeperThan(v, max), d > max; got != want {
				t.Errorf("DeeperThan(depth %d, %d) = %v", d, max, got)
			}
		}
	}
}

// TestDeepContentJSON: message content whose JSON nests deeper than
// MaxValueDepth is not decoded (which would recurse and allocate at every
// level) but kept as the text it is.
func TestDeepContentJSON(t *testing.T) {
	deep := `[{"role":"user","parts":[{"type":"tool_call","arguments":` + strings.Repeat(`[`, 30000) + strings.Repeat(`]`, 30000) + `}]}]`
	sp := Normalize(RawSpan{Name: "chat", Attributes: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.input.messages": deep}})
	for _, m := range sp.InputMessages {
		for _, p := range m.Parts {
			if DeeperThan(p.Arguments, MaxValueDepth) || DeeperThan(p.Response, MaxValueDepth) {
				t.Fatalf("a part nests deeper than %d", MaxValueDepth)
			}
		}
	}
	if kept, _ := sp.Attributes["gen_ai.input.messages"].(string); kept != deep {
		t.Errorf("deep content not kept as text: %d messages, attributes %.80v", len(sp.InputMessages), sp.Attributes)
	}
	if _, ok := decodeJSON(strings.Repeat("[", MaxValueDepth+1) + strings.Repeat("]", MaxValueDepth+1)); ok {
		t.Error("decodeJSON decoded JSON nested deeper than MaxValueDepth")
	}
	if _, ok := decodeJSON(strings.Repeat("[", MaxValueDepth) + strings.Repeat("]", MaxValueDepth)); !ok {
		t.Error("decodeJSON refused JSON nested MaxValueDepth deep")
	}
}
