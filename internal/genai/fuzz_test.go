package genai

import (
	"encoding/json"
	"reflect"
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

// FuzzParseJSON checks parseJSON against encoding/json.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,-0.1,true,false,null,"x\n\u00e9\ud83d\ude00"]}`, `[{"role":"user","parts":[]}]`,
		`"\ud800"`, `[1,]`, `{"a":1}x`, `01`, `-`, `1e400`, "\"a\xffb\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseJSON(s)
		var want any
		werr := json.Unmarshal([]byte(s), &want)
		if (err == nil) != (werr == nil) {
			t.Fatalf("parseJSON(%q) error %v, encoding/json %v", s, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("parseJSON(%q) = %#v, encoding/json %#v", s, got, want)
		}
	})
}
