package genai

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func FuzzNormalize(f *testing.F) {
	f.Add("gen_ai.input.messages", `[{"role":"system","parts":[{"type":"text","content":"s"}]},{"role":"user","parts":[{"type":"text","content":"q"}]}]`, int64(46), 0.5, "gen_ai.choice", `{"index":0,"finish_reason":"stop","message":{"content":"a"}}`)
	f.Add("gen_ai.prompt.0.content", "hello", int64(-1), 1.0, "gen_ai.user.message", `{"content":"q"}`)
	f.Add("gen_ai.completion.3.tool_calls.2.arguments", `{"a":1}`, int64(99999999), 0.0, "gen_ai.content.prompt", `[{"role":"user","content":"x"}]`)
	f.Add("llm.input_messages.0.message.contents.1.message_content.text", "t", int64(7), 2.5, "gen_ai.client.inference.operation.details", `[{"role":`)
	f.Add("llm.invocation_parameters", `{"model":"m","temperature":"x","max_tokens":-4}`, int64(0), -1.0, "gen_ai.system.message", `"plain"`)
	f.Add("gen_ai.system_instructions", `{"role":"system","content":[{"type":"text","text":"x"}]}`, int64(1), 1e300, "gen_ai.tool.message", `{"id":"c","content":{"k":[1,2]}}`)
	f.Fuzz(func(t *testing.T, key, sval string, ival int64, fval float64, event, body string) {
		var parsed any
		_ = json.Unmarshal([]byte(body), &parsed)
		attrs := map[string]any{
			key:                                     sval,
			key + ".0.content":                      parsed,
			"gen_ai.usage.input_tokens":             ival,
			"gen_ai.request.temperature":            fval,
			"gen_ai.input.messages":                 body,
			"gen_ai.output.messages":                parsed,
			"gen_ai.system_instructions":            parsed,
			"gen_ai.prompt." + sval:                 ival,
			"llm.output_messages.0.message." + sval: body,
		}
		evAttrs := map[string]any{"gen_ai.event.content": body, "content": parsed, "message": sval,
			"gen_ai.prompt": body, "gen_ai.completion": parsed, "gen_ai.input.messages": parsed}
		s := Normalize(RawSpan{Kind: sval, Attributes: attrs, Events: []Event{{Name: event, Attributes: evAttrs}, {Name: sval}},
			Resource: map[string]any{"service.name": parsed}})
		if s.Usage.InputTokens < 0 || s.Usage.OutputTokens < 0 || s.DurationNano < 0 {
			t.Fatalf("negative usage or duration: %+v", s)
		}
		for _, b := range []any{body, parsed, sval} {
			recs, ok := NormalizeLog(RawLog{EventName: event, Seq: 3, Body: b, Attributes: evAttrs})
			if !ok && len(recs) > 0 {
				t.Fatalf("records from a non-GenAI log")
			}
			for i, r := range recs {
				if r.Seq != 3+i {
					t.Fatalf("record %d has seq %d", i, r.Seq)
				}
			}
		}
	})
}

// FuzzContentJSON checks that the typed decoding of JSON content gives
// what the generic readers give for the same JSON decoded into generic
// values, whenever the typed decoding takes it.
func FuzzContentJSON(f *testing.F) {
	for _, s := range []string{
		`[{"role":"system","parts":[{"type":"text","content":"s"}]},{"role":"user","parts":[{"type":"text","content":"q\n\u00e9"}]}]`,
		`[{"role":"assistant","finish_reason":"stop","parts":[{"type":"tool_call","id":"c1","name":"f","arguments":{"a":[1,2.5]}}]}]`,
		`[{"role":"tool","tool_call_id":"c1","content":{"temp":21.5}},{"role":"user","content":[{"type":"text","text":"x"}]}]`,
		`{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"a","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]}}`,
		`[{"type":"text","content":"be brief"},{"role":"system","content":"x"},{"type":"tool_result","id":"r","output":1}]`,
		`[{"role":"user","parts":[{"type":"image","uri":"u"}]}]`, `[{"ROLE":"x"}]`, "[\"a\xffb\"]", `[{"parts":[]}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		generic, ok := decodeJSON(s)
		if !ok || foldedKeys(generic) {
			return // nothing to compare, or keys encoding/json matches case-insensitively
		}
		t0 := strings.TrimSpace(s)
		if got, ok := messagesJSON(t0, "user"); ok {
			want, _ := parseMessages(generic, "user")
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("messages of %q:\ntyped   %#v\ngeneric %#v", s, got, want)
			}
		}
		if got, ok := systemJSON(t0); ok {
			want, _ := parseSystemInstructions(generic)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("system instructions of %q:\ntyped   %#v\ngeneric %#v", s, got, want)
			}
		}
	})
}

// foldedKeys reports whether v has an object key that encoding/json
// matches to a field of jsonItem only case-insensitively.
func foldedKeys(v any) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if foldedKeys(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			for _, f := range [...]string{"role", "finish_reason", "parts", "tool_calls", "tool_call_id", "message",
				"type", "text", "arguments", "input", "response", "result", "output", "name", "id", "content"} {
				if k != f && strings.EqualFold(k, f) {
					return true
				}
			}
			if foldedKeys(e) {
				return true
			}
		}
	}
	return false
}
