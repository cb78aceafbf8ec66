package genai

import (
	"reflect"
	"strings"
	"testing"
)

func text(s string) []Part { return []Part{{Type: "text", Content: s}} }

func TestNormalize(t *testing.T) {
	tests := []struct {
		name   string
		attrs  map[string]any
		events []Event
		check  func(t *testing.T, s Span)
	}{
		{
			name: "current attributes",
			attrs: map[string]any{
				"gen_ai.operation.name":                "chat",
				"gen_ai.provider.name":                 "azure.ai.openai",
				"gen_ai.request.model":                 "gpt-4o",
				"gen_ai.response.model":                "gpt-4o-2024-08-06",
				"gen_ai.response.id":                   "r1",
				"gen_ai.response.finish_reasons":       []any{"stop", "length"},
				"gen_ai.request.temperature":           0.5,
				"gen_ai.request.top_p":                 int64(1),
				"gen_ai.request.max_tokens":            int64(100),
				"gen_ai.request.stream":                true,
				"gen_ai.usage.input_tokens":            int64(10),
				"gen_ai.usage.output_tokens":           int64(20),
				"gen_ai.usage.cache_read.input_tokens": int64(4),
				"gen_ai.usage.reasoning.output_tokens": int64(5),
				"gen_ai.response.time_to_first_chunk":  0.25,
				"gen_ai.conversation.id":               "conv",
				"user.id":                              "u1",
				"http.response.status_code":            int64(200),
				"server.address":                       "example.com",
				"gen_ai.system_instructions":           `[{"type":"text","content":"be brief"}]`,
				"gen_ai.input.messages":                `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`,
				"gen_ai.output.messages":               []any{map[string]any{"role": "assistant", "finish_reason": "stop", "parts": []any{map[string]any{"type": "text", "content": "hello"}}}},
			},
			check: func(t *testing.T, s Span) {
				want := Span{
					Operation: "chat", Provider: "azure.ai.openai", RequestModel: "gpt-4o",
					ResponseModel: "gpt-4o-2024-08-06", ResponseID: "r1", FinishReasons: []string{"stop", "length"},
					Usage:     Usage{InputTokens: 10, OutputTokens: 20, CachedInputTokens: 4, ReasoningTokens: 5},
					SessionID: "conv", UserID: "u1", HTTPStatus: 200, TTFTNano: 250_000_000,
				}
				got := Span{
					Operation: s.Operation, Provider: s.Provider, RequestModel: s.RequestModel,
					ResponseModel: s.ResponseModel, ResponseID: s.ResponseID, FinishReasons: s.FinishReasons,
					Usage: s.Usage, SessionID: s.SessionID, UserID: s.UserID, HTTPStatus: s.HTTPStatus, TTFTNano: s.TTFTNano,
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got %+v\nwant %+v", got, want)
				}
				p := s.Params
				if p.Temperature == nil || *p.Temperature != 0.5 || p.TopP == nil || *p.TopP != 1 ||
					p.MaxTokens == nil || *p.MaxTokens != 100 || p.Stream == nil || !*p.Stream {
					t.Errorf("params %+v", p)
				}
				if !reflect.DeepEqual(s.SystemInstructions, text("be brief")) ||
					!reflect.DeepEqual(s.InputMessages, []Message{{Role: "user", Parts: text("hi")}}) ||
					!reflect.DeepEqual(s.OutputMessages, []Message{{Role: "assistant", Parts: text("hello"), FinishReason: "stop"}}) {
					t.Errorf("content %+v %+v %+v", s.SystemInstructions, s.InputMessages, s.OutputMessages)
				}
				if !reflect.DeepEqual(s.Attributes, map[string]any{"server.address": "example.com"}) {
					t.Errorf("attributes left: %v", s.Attributes)
				}
			},
		},
		{
			name: "deprecated names",
			attrs: map[string]any{
				"gen_ai.system":                  "az.ai.inference",
				"gen_ai.operation.name":          "chat",
				"gen_ai.usage.prompt_tokens":     int64(7),
				"gen_ai.usage.completion_tokens": "8", // flattened to a string
				"gen_ai.usage.cached_tokens":     int64(2),
				"session.id":                     "s1",
				"enduser.id":                     "e1",
				"http.status_code":               "429",
				"error.type":                     "RateLimitError",
			},
			check: func(t *testing.T, s Span) {
				if s.Provider != "azure.ai.inference" || s.Usage != (Usage{InputTokens: 7, OutputTokens: 8, CachedInputTokens: 2}) ||
					s.SessionID != "s1" || s.UserID != "e1" || s.HTTPStatus != 429 || s.ErrorType != "RateLimitError" || s.Status != StatusError {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "current names win over deprecated ones",
			attrs: map[string]any{
				"gen_ai.system": "openai", "gen_ai.provider.name": "anthropic",
				"gen_ai.usage.prompt_tokens": int64(1), "gen_ai.usage.input_tokens": int64(2),
				"session.id": "old", "gen_ai.conversation.id": "new",
				"gen_ai.request.model": "m",
			},
			check: func(t *testing.T, s Span) {
				if s.Provider != "anthropic" || s.Usage.InputTokens != 2 || s.SessionID != "new" {
					t.Errorf("got %+v", s)
				}
				if s.Operation != "chat" {
					t.Errorf("a span with a provider and a model but no operation name is a chat call; got %q", s.Operation)
				}
			},
		},
		{
			name: "traceloop indexed attributes",
			attrs: map[string]any{
				"llm.request.type":                           "chat",
				"gen_ai.system":                              "OpenAI",
				"gen_ai.prompt.0.role":                       "system",
				"gen_ai.prompt.0.content":                    "be brief",
				"gen_ai.prompt.1.role":                       "user",
				"gen_ai.prompt.1.content":                    "weather?",
				"gen_ai.prompt.2.role":                       "tool",
				"gen_ai.prompt.2.tool_call_id":               "c0",
				"gen_ai.prompt.2.content":                    "sunny",
				"gen_ai.prompt.10.role":                      "user",
				"gen_ai.prompt.10.content":                   "tenth",
				"gen_ai.completion.0.role":                   "assistant",
				"gen_ai.completion.0.finish_reason":          "tool_calls",
				"gen_ai.completion.0.tool_calls.1.name":      "second",
				"gen_ai.completion.0.tool_calls.0.id":        "c1",
				"gen_ai.completion.0.tool_calls.0.name":      "get_weather",
				"gen_ai.completion.0.tool_calls.0.arguments": `{"city":"Oslo"}`,
				"llm.usage.total_tokens":                     int64(30),
				"gen_ai.usage.prompt_tokens":                 int64(10),
				"gen_ai.prompt.0.unknown_field":              "kept",
			},
			check: func(t *testing.T, s Span) {
				wantIn := []Message{ // the system message is the system instructions only
					{Role: "user", Parts: text("weather?")},
					{Role: "tool", Parts: []Part{{Type: "tool_call_response", ID: "c0", Response: "sunny"}}},
					{Role: "user", Parts: text("tenth")},
				}
				wantOut := []Message{{Role: "assistant", FinishReason: "tool_calls", Parts: []Part{
					{Type: "tool_call", ID: "c1", Name: "get_weather", Arguments: `{"city":"Oslo"}`},
					{Type: "tool_call", Name: "second"},
				}}}
				if !reflect.DeepEqual(s.InputMessages, wantIn) || !reflect.DeepEqual(s.OutputMessages, wantOut) {
					t.Errorf("input %+v\noutput %+v", s.InputMessages, s.OutputMessages)
				}
				if !reflect.DeepEqual(s.SystemInstructions, text("be brief")) {
					t.Errorf("system %+v", s.SystemInstructions)
				}
				if s.Operation != "chat" || s.Provider != "openai" || s.Usage.InputTokens != 10 || s.Usage.OutputTokens != 20 {
					t.Errorf("got %+v", s)
				}
				if !reflect.DeepEqual(s.FinishReasons, []string{"tool_calls"}) {
					t.Errorf("finish reasons %v", s.FinishReasons)
				}
				if s.Attributes["gen_ai.prompt.0.unknown_field"] != "kept" || s.Attributes["llm.usage.total_tokens"] != int64(30) {
					t.Errorf("attributes %v", s.Attributes)
				}
			},
		},
		{
			name: "openinference",
			attrs: map[string]any{
				"openinference.span.kind":                      "LLM",
				"llm.model_name":                               "gpt-4o-2024-08-06",
				"llm.provider":                                 "azure",
				"llm.system":                                   "openai",
				"llm.invocation_parameters":                    `{"model":"gpt-4o","temperature":0.2,"max_completion_tokens":50,"stream":true}`,
				"llm.token_count.prompt":                       int64(46),
				"llm.token_count.completion":                   int64(92),
				"llm.token_count.prompt_details.cache_read":    int64(6),
				"llm.token_count.completion_details.reasoning": int64(3),
				"llm.input_messages.0.message.role":            "user",
				"llm.input_messages.0.message.contents.0.message_content.type":            "text",
				"llm.input_messages.0.message.contents.0.message_content.text":            "look",
				"llm.input_messages.0.message.contents.1.message_content.type":            "image",
				"llm.input_messages.0.message.contents.1.message_content.image.image.url": "https://x/y.png",
				"llm.output_messages.0.message.role":                                      "assistant",
				"llm.output_messages.0.message.tool_calls.0.tool_call.id":                 "t1",
				"llm.output_messages.0.message.tool_calls.0.tool_call.function.name":      "f",
				"llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": `{}`,
				"session.id": "s", "user.id": "u",
			},
			check: func(t *testing.T, s Span) {
				if s.Operation != "chat" || s.Provider != "azure.ai.openai" || s.RequestModel != "gpt-4o" || s.ResponseModel != "gpt-4o-2024-08-06" ||
					s.Usage != (Usage{46, 92, 6, 3}) || s.SessionID != "s" || s.UserID != "u" {
					t.Errorf("got %+v", s)
				}
				if *s.Params.Temperature != 0.2 || *s.Params.MaxTokens != 50 || !*s.Params.Stream {
					t.Errorf("params %+v", s.Params)
				}
				wantIn := []Message{{Role: "user", Parts: []Part{{Type: "text", Content: "look"}, {Type: "image", Content: "https://x/y.png"}}}}
				wantOut := []Message{{Role: "assistant", Parts: []Part{{Type: "tool_call", ID: "t1", Name: "f", Arguments: "{}"}}}}
				if !reflect.DeepEqual(s.InputMessages, wantIn) || !reflect.DeepEqual(s.OutputMessages, wantOut) {
					t.Errorf("input %+v\noutput %+v", s.InputMessages, s.OutputMessages)
				}
				if s.SystemInstructions != nil {
					t.Errorf("system %+v", s.SystemInstructions)
				}
			},
		},
		{
			name:  "openinference chain is not a call",
			attrs: map[string]any{"openinference.span.kind": "CHAIN", "input.value": "x"},
			check: func(t *testing.T, s Span) {
				if s.IsGenAI() || s.Attributes["openinference.span.kind"] != "CHAIN" {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name:  "openinference kinds",
			attrs: map[string]any{"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small"},
			check: func(t *testing.T, s Span) {
				if s.Operation != "embeddings" || s.Model() != "text-embedding-3-small" {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name:  "span events, current generation",
			attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.system": "openai"},
			events: []Event{
				{Name: "gen_ai.system.message", Attributes: map[string]any{"content": "be brief"}},
				{Name: "gen_ai.user.message", Attributes: map[string]any{"gen_ai.event.content": `{"content":"hi"}`}},
				{Name: "gen_ai.assistant.message", Attributes: map[string]any{"tool_calls": `[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]`}},
				{Name: "gen_ai.tool.message", Attributes: map[string]any{"id": "c", "content": "42"}},
				{Name: "gen_ai.choice", Attributes: map[string]any{"index": int64(0), "finish_reason": "stop", "message": `{"content":"done"}`}},
				{Name: "exception", Attributes: map[string]any{"exception.type": "x"}},
			},
			check: func(t *testing.T, s Span) {
				wantIn := []Message{
					{Role: "user", Parts: text("hi")},
					{Role: "assistant", Parts: []Part{{Type: "tool_call", ID: "c", Name: "f", Arguments: "{}"}}},
					{Role: "tool", Parts: []Part{{Type: "tool_call_response", ID: "c", Response: "42"}}},
				}
				if !reflect.DeepEqual(s.InputMessages, wantIn) {
					t.Errorf("input %+v", s.InputMessages)
				}
				if !reflect.DeepEqual(s.OutputMessages, []Message{{Role: "assistant", Parts: text("done"), FinishReason: "stop"}}) {
					t.Errorf("output %+v", s.OutputMessages)
				}
				if !reflect.DeepEqual(s.SystemInstructions, text("be brief")) {
					t.Errorf("system %+v", s.SystemInstructions)
				}
				if len(s.Events) != 1 || s.Events[0].Name != "exception" {
					t.Errorf("events %+v", s.Events)
				}
			},
		},
		{
			name:  "legacy content events",
			attrs: map[string]any{"gen_ai.system": "openai", "gen_ai.request.model": "gpt-3.5-turbo"},
			events: []Event{
				{Name: "gen_ai.content.prompt", Attributes: map[string]any{"gen_ai.prompt": `[{"role":"system","content":"sys"},{"role":"user","content":"q"}]`}},
				{Name: "gen_ai.content.completion", Attributes: map[string]any{"gen_ai.completion": "plain answer"}},
			},
			check: func(t *testing.T, s Span) {
				if !reflect.DeepEqual(s.InputMessages, []Message{{Role: "user", Parts: text("q")}}) || !reflect.DeepEqual(s.OutputMessages, []Message{{Role: "assistant", Parts: text("plain answer")}}) ||
					!reflect.DeepEqual(s.SystemInstructions, text("sys")) || s.Events != nil || s.Operation != "chat" {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name:  "inference details event",
			attrs: map[string]any{"gen_ai.operation.name": "chat"},
			events: []Event{{Name: "gen_ai.client.inference.operation.details", Attributes: map[string]any{
				"gen_ai.input.messages":      `[{"role":"user","parts":[{"type":"text","content":"q"}]}]`,
				"gen_ai.output.messages":     `[{"role":"assistant","parts":[{"type":"text","content":"a"}]}]`,
				"gen_ai.system_instructions": "plain instructions",
			}}},
			check: func(t *testing.T, s Span) {
				if !reflect.DeepEqual(s.InputMessages, []Message{{Role: "user", Parts: text("q")}}) ||
					!reflect.DeepEqual(s.OutputMessages, []Message{{Role: "assistant", Parts: text("a")}}) ||
					!reflect.DeepEqual(s.SystemInstructions, text("plain instructions")) || s.Events != nil {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "malformed values",
			attrs: map[string]any{
				"gen_ai.operation.name":               int64(3),
				"gen_ai.usage.input_tokens":           int64(-5),
				"gen_ai.usage.output_tokens":          "lots",
				"gen_ai.request.temperature":          "hot",
				"gen_ai.response.finish_reasons":      map[string]any{"a": "b"},
				"gen_ai.input.messages":               `[{"role":`,
				"gen_ai.output.messages":              int64(1),
				"gen_ai.prompt.99999999.content":      "sparse",
				"gen_ai.prompt.9999999999999.content": "too big an index",
				"gen_ai.prompt.x.content":             "not an index",
				"http.response.status_code":           "abc",
			},
			check: func(t *testing.T, s Span) {
				if s.Usage.InputTokens != 0 || s.Usage.OutputTokens != 0 || s.Params.Temperature != nil || s.HTTPStatus != 0 {
					t.Errorf("got %+v", s)
				}
				if s.Attributes["gen_ai.input.messages"] != `[{"role":` || s.Attributes["gen_ai.output.messages"] != int64(1) {
					t.Errorf("unparsable content should stay in the attributes: %v", s.Attributes)
				}
				if _, ok := s.Attributes["gen_ai.prompt.9999999999999.content"]; !ok {
					t.Errorf("an index too long to parse should stay an attribute")
				}
				if !reflect.DeepEqual(s.InputMessages, []Message{{Parts: text("sparse")}}) {
					t.Errorf("input %+v", s.InputMessages)
				}
			},
		},
		{
			name:  "system role moved to system instructions, out of the input",
			attrs: map[string]any{"gen_ai.input.messages": `[{"role":"system","content":"old shape"},{"role":"user","content":[{"type":"text","text":"q"}]},{"role":"developer","content":"dev rules"}]`},
			check: func(t *testing.T, s Span) {
				if !reflect.DeepEqual(s.SystemInstructions, append(text("old shape"), text("dev rules")...)) ||
					!reflect.DeepEqual(s.InputMessages, []Message{{Role: "user", Parts: text("q")}}) {
					t.Errorf("got %+v %+v", s.SystemInstructions, s.InputMessages)
				}
			},
		},
		{
			name:  "explicit system instructions win",
			attrs: map[string]any{"gen_ai.system_instructions": `[{"type":"text","content":"explicit"}]`, "gen_ai.input.messages": `[{"role":"system","parts":[{"type":"text","content":"in input"}]}]`},
			check: func(t *testing.T, s Span) {
				// A system message that says something else stays in the input.
				if !reflect.DeepEqual(s.SystemInstructions, text("explicit")) ||
					!reflect.DeepEqual(s.InputMessages, []Message{{Role: "system", Parts: text("in input")}}) {
					t.Errorf("got %+v %+v", s.SystemInstructions, s.InputMessages)
				}
			},
		},
		{
			name: "explicit system instructions repeated in the input are stored once",
			attrs: map[string]any{"gen_ai.system_instructions": `[{"type":"text","content":"Be brief."}]`,
				"gen_ai.input.messages": `[{"role":"system","parts":[{"type":"text","content":"Be brief."}]},{"role":"user","parts":[{"type":"text","content":"q"}]}]`},
			check: func(t *testing.T, s Span) {
				if !reflect.DeepEqual(s.SystemInstructions, text("Be brief.")) ||
					!reflect.DeepEqual(s.InputMessages, []Message{{Role: "user", Parts: text("q")}}) {
					t.Errorf("got %+v %+v", s.SystemInstructions, s.InputMessages)
				}
			},
		},
		{
			name:  "input of only a system message still says the span carries input",
			attrs: map[string]any{"gen_ai.input.messages": `[{"role":"system","content":"only"}]`},
			check: func(t *testing.T, s Span) {
				if !reflect.DeepEqual(s.SystemInstructions, text("only")) || s.InputMessages == nil || len(s.InputMessages) != 0 {
					t.Errorf("got %+v %#v", s.SystemInstructions, s.InputMessages)
				}
			},
		},
		{
			name: "other part types",
			attrs: map[string]any{"gen_ai.input.messages": `[{"role":"user","parts":[{"type":"uri","uri":"https://x","mime_type":"image/png","modality":"image"},` +
				`{"type":"tool_call_response","id":"c","response":{"ok":true}}]}]`},
			check: func(t *testing.T, s Span) {
				want := []Part{
					{Type: "uri", Content: "https://x", Response: map[string]any{"mime_type": "image/png", "modality": "image"}},
					{Type: "tool_call_response", ID: "c", Response: map[string]any{"ok": true}},
				}
				if !reflect.DeepEqual(s.InputMessages[0].Parts, want) {
					t.Errorf("got %+v", s.InputMessages[0].Parts)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Normalize(RawSpan{Name: "n", Kind: "SPAN_KIND_CLIENT", Attributes: tt.attrs, Events: tt.events,
				Resource: map[string]any{"service.name": "svc"}, StartUnixNano: 10, EndUnixNano: 25})
			if s.Kind != "client" || s.Service != "svc" || s.DurationNano != 15 {
				t.Errorf("kind %q service %q duration %d", s.Kind, s.Service, s.DurationNano)
			}
			tt.check(t, s)
		})
	}
}

func TestNormalizeProvider(t *testing.T) {
	for in, want := range map[string]string{
		"az.ai.inference": "azure.ai.inference", "az.ai.openai": "azure.ai.openai", "azure_openai": "azure.ai.openai",
		"azure.openai": "azure.ai.openai", "vertex_ai": "gcp.vertex_ai", "gemini": "gcp.gemini", "bedrock": "aws.bedrock",
		"aws.bedrock": "aws.bedrock", "OpenAI": "openai", "Anthropic": "anthropic", "xai": "x_ai", "mistralai": "mistral_ai",
		"ollama": "ollama", "": "",
	} {
		if got := NormalizeProvider(in); got != want {
			t.Errorf("NormalizeProvider(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeKindAndStatus(t *testing.T) {
	for in, want := range map[string]string{"CLIENT": "client", "SPAN_KIND_SERVER": "server", "Internal": "internal", "": "unspecified", "weird": "unspecified"} {
		if got := NormalizeKind(in); got != want {
			t.Errorf("NormalizeKind(%q) = %q, want %q", in, got, want)
		}
	}
	s := Normalize(RawSpan{})
	if s.Status != StatusUnset || s.Service != DefaultService || s.Attributes != nil || s.Events != nil {
		t.Errorf("empty span: %+v", s)
	}
	s = Normalize(RawSpan{StartUnixNano: 10, EndUnixNano: 5})
	if s.DurationNano != 0 {
		t.Errorf("negative duration %d", s.DurationNano)
	}
}

func TestNormalizeKeepsContentWhole(t *testing.T) {
	long := strings.Repeat("x", 300_000)
	s := Normalize(RawSpan{Attributes: map[string]any{"gen_ai.prompt.0.content": long}})
	if got := s.InputMessages[0].Parts[0].Content; got != long {
		t.Errorf("content cut to %d bytes", len(got))
	}
}

func TestNormalizeLog(t *testing.T) {
	tests := []struct {
		name string
		in   RawLog
		ok   bool
		want []MessageRecord
	}{
		{"not genai", RawLog{EventName: "app.started", Body: "x"}, false, nil},
		{"no name", RawLog{Body: map[string]any{"content": "x"}}, false, nil},
		{
			"system from event.name attribute",
			RawLog{Seq: 4, Attributes: map[string]any{"event.name": "gen_ai.system.message"}, Body: map[string]any{"content": "sys"}},
			true, []MessageRecord{{Seq: 4, Kind: KindSystem, Message: Message{Role: "system", Parts: text("sys")}}},
		},
		{
			"user with JSON body",
			RawLog{EventName: "gen_ai.user.message", Body: `{"content":"q"}`},
			true, []MessageRecord{{Kind: KindInput, Message: Message{Role: "user", Parts: text("q")}}},
		},
		{
			"assistant body role overrides nothing",
			RawLog{EventName: "gen_ai.assistant.message", Body: map[string]any{"tool_calls": []any{map[string]any{"id": "c", "function": map[string]any{"name": "f", "arguments": "{}"}}}}},
			true, []MessageRecord{{Kind: KindInput, Message: Message{Role: "assistant", Parts: []Part{{Type: "tool_call", ID: "c", Name: "f", Arguments: "{}"}}}}},
		},
		{
			"tool message",
			RawLog{EventName: "gen_ai.tool.message", Body: map[string]any{"id": "c", "content": "42"}},
			true, []MessageRecord{{Kind: KindInput, Message: Message{Role: "tool", Parts: []Part{{Type: "tool_call_response", ID: "c", Response: "42"}}}}},
		},
		{
			"choice",
			RawLog{EventName: "gen_ai.choice", Body: map[string]any{"index": int64(0), "finish_reason": "stop", "message": map[string]any{"content": "a"}}},
			true, []MessageRecord{{Kind: KindOutput, Message: Message{Role: "assistant", Parts: text("a"), FinishReason: "stop"}}},
		},
		{
			"plain text body",
			RawLog{EventName: "gen_ai.user.message", Body: "just text"},
			true, []MessageRecord{{Kind: KindInput, Message: Message{Role: "user", Parts: text("just text")}}},
		},
		{
			"content not captured",
			RawLog{EventName: "gen_ai.choice"},
			true, []MessageRecord{{Kind: KindOutput, Message: Message{Role: "assistant", Parts: []Part{}}}},
		},
		{
			"body in gen_ai.event.content",
			RawLog{EventName: "gen_ai.user.message", Attributes: map[string]any{"gen_ai.event.content": `{"content":"q"}`}},
			true, []MessageRecord{{Kind: KindInput, Message: Message{Role: "user", Parts: text("q")}}},
		},
		{
			"details",
			RawLog{Seq: 2, EventName: "gen_ai.client.inference.operation.details", Attributes: map[string]any{
				"gen_ai.input.messages":  `[{"role":"user","parts":[{"type":"text","content":"q1"}]},{"role":"user","parts":[{"type":"text","content":"q2"}]}]`,
				"gen_ai.output.messages": `[{"parts":[{"type":"text","content":"a"}]}]`,
			}},
			true, []MessageRecord{
				{Seq: 2, Kind: KindInput, Message: Message{Role: "user", Parts: text("q1")}},
				{Seq: 3, Kind: KindInput, Message: Message{Role: "user", Parts: text("q2")}},
				{Seq: 4, Kind: KindOutput, Message: Message{Role: "assistant", Parts: text("a")}},
			},
		},
		{
			"legacy prompt",
			RawLog{EventName: "gen_ai.content.prompt", Attributes: map[string]any{"gen_ai.prompt": "complete this"}},
			true, []MessageRecord{{Kind: KindInput, Message: Message{Role: "user", Parts: text("complete this")}}},
		},
		{"malformed body", RawLog{EventName: "gen_ai.choice", Body: `{"message":`}, true,
			[]MessageRecord{{Kind: KindOutput, Message: Message{Role: "assistant", Parts: text(`{"message":`)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizeLog(tt.in)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v\nwant %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
