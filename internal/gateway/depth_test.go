package gateway

import (
	"strings"
	"testing"

	"github.com/genscope/genscope/internal/genai"
)

// TestDeepJSONNotDecoded: tool-call arguments nested deeper than
// genai.MaxValueDepth stay text, and a response nested deeper than the
// scanner's bound is not decoded for the record.
func TestDeepJSONNotDecoded(t *testing.T) {
	id := func(s string) string { return s }
	deep := strings.Repeat(`{"a":`, 30000) + "1" + strings.Repeat("}", 30000)
	if v, ok := arguments(deep, id).(string); !ok || v != deep {
		t.Errorf("deep arguments decoded: %T", arguments(deep, id))
	}
	ok := strings.Repeat(`[`, genai.MaxValueDepth) + strings.Repeat(`]`, genai.MaxValueDepth)
	if _, isString := arguments(ok, id).(string); isString {
		t.Error("arguments at the limit not decoded")
	}
	var resp chatResponse
	if err := unmarshalBounded([]byte(`{"choices":[`+strings.Repeat("[", maxDepth)+strings.Repeat("]", maxDepth)+`]}`), &resp); err == nil {
		t.Error("a response nested deeper than maxDepth was decoded")
	}
	if err := unmarshalBounded([]byte(`{"id":"r1","choices":[]}`), &resp); err != nil || resp.ID != "r1" {
		t.Errorf("plain response: %v %+v", err, resp)
	}
}
