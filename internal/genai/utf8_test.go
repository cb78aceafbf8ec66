package genai

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestValidUTF8(t *testing.T) {
	bad := "a\xffb\xc3\x28"
	s := Span{
		Name: bad, Service: bad, SessionID: bad, FinishReasons: []string{bad},
		SystemInstructions: []Part{{Type: "text", Content: bad}},
		InputMessages:      []Message{{Role: "user", Parts: []Part{{Type: "tool_call", Arguments: map[string]any{bad: []any{bad, 1}}}}}},
		OutputMessages:     []Message{{Role: bad, Parts: []Part{{Type: "text", Content: bad}}}},
		Attributes:         map[string]any{"k": bad, bad: "v", "list": []string{bad}, "nested": map[string]any{"x": []any{bad}}},
		ResourceAttributes: map[string]any{"service.name": bad},
		Events:             []Event{{Name: bad, Attributes: map[string]any{"e": bad}}},
	}
	s.ValidUTF8()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(b) || s.Name != "a\uFFFDb\uFFFD(" {
		t.Errorf("still invalid: %q", b)
	}
	m := MessageRecord{Project: bad, Message: Message{Parts: []Part{{Content: bad}}}}
	m.ValidUTF8()
	if !utf8.ValidString(m.Project) || !utf8.ValidString(m.Message.Parts[0].Content) {
		t.Errorf("record %+v", m)
	}
}

func BenchmarkValidUTF8(b *testing.B) {
	s := Span{Name: "chat gpt-4o", Service: "app", Attributes: map[string]any{"a": "b", "c": int64(1)},
		InputMessages: []Message{{Role: "user", Parts: []Part{{Type: "text", Content: "What are some recommended supplies for a camping trip in the mountains?"}}}}}
	b.ReportAllocs()
	for b.Loop() {
		s.ValidUTF8()
	}
}
