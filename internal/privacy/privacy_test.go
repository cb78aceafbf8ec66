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
		meta.Attributes["gen_ai.prompt.0.content"] != nil || len(meta.Events) != 1 || meta.Attributes["app.note"] != nil || meta.StatusMessage != "" {
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

// leakyAttributes are content under names outside gen_ai.* and llm.*, as
// real instrumentations send it.
var leakyAttributes = map[string]any{
	"ai.prompt":                   `{"prompt":"SECRET-1 vercel prompt"}`,
	"ai.prompt.messages":          `[{"role":"user","content":"SECRET-2"}]`,
	"ai.response.text":            "SECRET-3 vercel answer",
	"ai.toolCall.args":            `{"q":"SECRET-4"}`,
	"langfuse.observation.input":  "SECRET-5 langfuse input",
	"langfuse.observation.output": "SECRET-6 langfuse output",
	"input.value":                 "SECRET-7 openinference input",
	"output.value":                "SECRET-8 openinference output",
	"http.request.body":           `{"messages":[{"content":"SECRET-9"}]}`,
	"exception.message":           "SECRET-10 failed on prompt",
	"exception.stacktrace":        "SECRET-11 at line 1",
	"lab.prompt":                  "SECRET-12 an app's own attribute",
	"url.query":                   "q=SECRET-13",
	"ai.telemetry.metadata.note":  "SECRET-14",
	"gen_ai.request.model":        map[string]any{"nested": "SECRET-15"}, // a structure under a metadata name
}

// LeakySpan is a span carrying content under every name above, in its
// attributes, resource, events and status message, next to metadata.
func LeakySpan(project string) genai.Span {
	attrs := map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": int64(12), "llm.token_count.prompt": int64(12),
		"session.id": "s-1", "server.address": "api.openai.com", "http.response.status_code": int64(200),
		"url.full": "https://api.openai.com/v1/chat?key=SECRET-16#SECRET-17", "error.type": "timeout",
		"ai.response.finishReason": "stop", "ai.usage.promptTokens": int64(12),
	}
	for k, v := range leakyAttributes {
		attrs[k] = v
	}
	return genai.Span{
		Project: project, Name: "chat gpt-4o", Operation: "chat", RequestModel: "gpt-4o", Status: genai.StatusError,
		StatusMessage: "SECRET-18 the model refused: what was asked", ErrorType: "timeout",
		Attributes: attrs,
		ResourceAttributes: map[string]any{"service.name": "svc", "telemetry.sdk.language": "python", "host.name": "h1",
			"app.motd": "SECRET-19", "process.command_line": "python app.py --prompt SECRET-20"},
		Events: []genai.Event{
			{Name: "exception", Attributes: map[string]any{"exception.type": "ValueError", "exception.message": "SECRET-21",
				"exception.stacktrace": "SECRET-22"}},
			{Name: "ai.stream.firstChunk", Attributes: map[string]any{"ai.response.msToFirstChunk": 120.5, "ai.stream.text": "SECRET-23"}},
			{Name: "gen_ai.content.prompt", Attributes: map[string]any{"gen_ai.prompt": "SECRET-24"}},
		},
	}
}

// TestMetadataAllowlist: under capture metadata, nothing outside the
// allowlist survives — each leaking name of the security review — and
// the metadata does.
func TestMetadataAllowlist(t *testing.T) {
	a := New(func(string) Policy { return Policy{Capture: Metadata} })
	b := store.Batch{Spans: []genai.Span{LeakySpan("meta")}}
	a.Apply(&b)
	sp := b.Spans[0]
	js, _ := json.Marshal(sp)
	if strings.Contains(string(js), "SECRET") {
		t.Errorf("content survived: %s", js)
	}
	for k, want := range map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": int64(12),
		"session.id": "s-1", "server.address": "api.openai.com", "url.full": "https://api.openai.com/v1/chat",
		"error.type": "timeout", "ai.response.finishReason": "stop", "llm.token_count.prompt": int64(12)} {
		if sp.Attributes[k] != want {
			t.Errorf("%s = %v, want %v", k, sp.Attributes[k], want)
		}
	}
	if sp.ResourceAttributes["service.name"] != "svc" || sp.ResourceAttributes["host.name"] != "h1" || sp.ErrorType != "timeout" || sp.Name != "chat gpt-4o" {
		t.Errorf("metadata lost: %+v", sp)
	}
	if len(sp.Events) != 2 || sp.Events[0].Attributes["exception.type"] != "ValueError" || sp.Events[1].Attributes["ai.response.msToFirstChunk"] != 120.5 {
		t.Errorf("events %+v", sp.Events)
	}
	for k := range leakyAttributes {
		if _, ok := sp.Attributes[k]; ok {
			t.Errorf("%s kept", k)
		}
	}
}

// TestFilterKey: metadata keys may be filtered on without content, URLs
// (whose query is content) and other keys may not.
func TestFilterKey(t *testing.T) {
	for k, want := range map[string]bool{"http.route": true, "gen_ai.usage.input_tokens": true, "service.version": true,
		"url.full": false, "http.url": false, "http.target": false, "input.value": false, "app.prompt": false} {
		if got := FilterKey(k); got != want {
			t.Errorf("FilterKey(%q) = %v, want %v", k, got, want)
		}
	}
}
