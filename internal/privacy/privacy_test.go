package privacy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

func span(project string) genai.Span {
	return genai.Span{
		Project: project, Operation: "chat", StatusMessage: "failed for jane@example.com",
		SystemInstructions: []genai.Part{{Type: "text", Content: "call +1 415 555 0100"}},
		InputMessages: []genai.Message{{Role: "user", Parts: []genai.Part{
			{Type: "text", Content: "mail jane@example.com card 4111 1111 1111 1111 order ORD-123456"},
			{Type: "tool_call", Arguments: map[string]any{"email": "jane@example.com"}}}}},
		OutputMessages: []genai.Message{{Role: "assistant", Parts: []genai.Part{{Type: "text", Content: "key sk-proj-abcdefghijklmnopqrstuvwxyz"}}}},
		Attributes:     map[string]any{"gen_ai.prompt.0.content": "raw prompt", "app.note": "from jane@example.com"},
		Events:         []genai.Event{{Name: "gen_ai.user.message", Attributes: map[string]any{"content": "hi"}}, {Name: "exception"}},
	}
}

func TestApply(t *testing.T) {
	pols := map[string]Policy{"meta": {Capture: Metadata}, "red": {Capture: Redacted, RedactPatterns: []string{`ORD-\d{6}`}}}
	a := New(func(p string) Policy { return pols[p] })
	b := store.Batch{Spans: []genai.Span{span("full"), span("meta"), span("red")},
		Messages: []genai.MessageRecord{
			{Project: "meta", Message: genai.Message{Parts: []genai.Part{{Type: "text", Content: "x"}}}},
			{Project: "red", Message: genai.Message{Parts: []genai.Part{{Type: "text", Content: "jane@example.com"}}}},
		},
		Prepared: []any{1, 2, 3},
	}
	a.Apply(&b)
	if b.Prepared != nil {
		t.Error("prepared rows kept")
	}
	full, _ := json.Marshal(b.Spans[0])
	if !strings.Contains(string(full), "jane@example.com") {
		t.Error("full policy changed content")
	}
	meta := b.Spans[1]
	if meta.SystemInstructions != nil || meta.InputMessages != nil || meta.OutputMessages != nil ||
		meta.Attributes["gen_ai.prompt.0.content"] != nil || len(meta.Events) != 1 || meta.Attributes["app.note"] == nil {
		t.Errorf("metadata policy left content: %+v", meta)
	}
	red, _ := json.Marshal(b.Spans[2])
	for _, leak := range []string{"jane@example.com", "4111 1111", "555 0100", "sk-proj-", "ORD-123456"} {
		if strings.Contains(string(red), leak) {
			t.Errorf("redacted span keeps %q: %s", leak, red)
		}
	}
	if len(b.Messages) != 1 || b.Messages[0].Message.Parts[0].Content == "jane@example.com" {
		t.Errorf("messages %+v", b.Messages)
	}
}
