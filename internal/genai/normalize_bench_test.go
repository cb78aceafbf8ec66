package genai

import "testing"

// genAISpanAttrs is a ~1 KB GenAI span with 20 attributes, as the
// OpenTelemetry OpenAI instrumentations send it with content capture on.
func genAISpanAttrs() map[string]any {
	return map[string]any{
		"gen_ai.operation.name":          "chat",
		"gen_ai.provider.name":           "openai",
		"gen_ai.request.model":           "gpt-4o",
		"gen_ai.request.temperature":     0.7,
		"gen_ai.request.max_tokens":      int64(512),
		"gen_ai.response.model":          "gpt-4o-2024-08-06",
		"gen_ai.response.id":             "chatcmpl-jTcYJNDmNF4butx0",
		"gen_ai.response.finish_reasons": []any{"stop"},
		"gen_ai.usage.input_tokens":      int64(46),
		"gen_ai.usage.output_tokens":     int64(92),
		"gen_ai.conversation.id":         "37d67224-93f2-42d3-b315-4e1329aaabb1",
		"user.id":                        "user-42",
		"server.address":                 "api.openai.com",
		"server.port":                    int64(443),
		"http.response.status_code":      int64(200),
		"gen_ai.output.type":             "text",
		"gen_ai.request.seed":            int64(7),
		"gen_ai.system_instructions":     `[{"type":"text","content":"You are an AI assistant that acts as a travel guide."}]`,
		"gen_ai.input.messages":          `[{"role":"user","parts":[{"type":"text","content":"What are some recommended supplies for a camping trip in the mountains?"}]}]`,
		"gen_ai.output.messages":         `[{"role":"assistant","finish_reason":"stop","parts":[{"type":"text","content":"Great question! Camping in the mountains needs some extra preparation.\n\n- Layered, waterproof clothing\n- Sleeping bag rated for cold nights\n- Tent and sleeping pad\n- Water filter or purification tablets\n- Map, compass and headlamp\n- First-aid kit and sun protection\n\nAlso check the weather forecast, tell someone your route, and bring extra food in case plans change."}]}]`,
	}
}

func BenchmarkNormalize(b *testing.B) {
	resource := map[string]any{"service.name": "svc"}
	b.Run("content=attributes", func(b *testing.B) {
		src := genAISpanAttrs()
		attrs := make(map[string]any, len(src))
		b.ReportAllocs()
		for b.Loop() {
			// Normalize takes the map over; refill it as a decoder would.
			for k, v := range src {
				attrs[k] = v
			}
			s := Normalize(RawSpan{Name: "chat gpt-4o", Kind: "client", Attributes: attrs, Resource: resource})
			if s.Usage.InputTokens != 46 {
				b.Fatal(s.Usage)
			}
		}
	})
	b.Run("content=none", func(b *testing.B) {
		src := genAISpanAttrs()
		delete(src, "gen_ai.input.messages")
		delete(src, "gen_ai.output.messages")
		delete(src, "gen_ai.system_instructions")
		attrs := make(map[string]any, len(src))
		b.ReportAllocs()
		for b.Loop() {
			for k, v := range src {
				attrs[k] = v
			}
			Normalize(RawSpan{Name: "chat gpt-4o", Kind: "client", Attributes: attrs, Resource: resource})
		}
	})
}
