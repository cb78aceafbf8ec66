package genai

import "testing"

// TestClassify checks that model operations of every convention are
// calls and agent and tool steps of every convention are not, however
// many model attributes they carry.
func TestClassify(t *testing.T) {
	// A fresh map each time: Normalize removes the keys it maps.
	with := func(kv ...any) map[string]any {
		m := map[string]any{"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": int64(3)}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name        string
		span        string
		attrs       map[string]any
		op          string
		class       Class
		agent, tool string
	}{
		{"chat", "chat gpt-4o", map[string]any{"gen_ai.operation.name": "chat"}, "chat", ClassCall, "", ""},
		{"text_completion", "", map[string]any{"gen_ai.operation.name": "text_completion"}, "text_completion", ClassCall, "", ""},
		{"generate_content", "", map[string]any{"gen_ai.operation.name": "generate_content"}, "generate_content", ClassCall, "", ""},
		{"embeddings", "", map[string]any{"gen_ai.operation.name": "embeddings"}, "embeddings", ClassCall, "", ""},
		{"older chat (no operation)", "", with(), "chat", ClassCall, "", ""},
		{"openllmetry completion", "", map[string]any{"llm.request.type": "completion"}, "text_completion", ClassCall, "", ""},
		{"openinference LLM", "", map[string]any{"openinference.span.kind": "LLM"}, "chat", ClassCall, "", ""},
		{"openinference EMBEDDING", "", map[string]any{"openinference.span.kind": "EMBEDDING"}, "embeddings", ClassCall, "", ""},
		{"invoke_agent", "invoke_agent planner", with("gen_ai.operation.name", "invoke_agent", "gen_ai.agent.name", "planner"), "invoke_agent", ClassAgent, "planner", ""},
		{"invoke_agent named by span", "invoke_agent Planner", map[string]any{"gen_ai.operation.name": "invoke_agent"}, "invoke_agent", ClassAgent, "Planner", ""},
		{"create_agent", "", with("gen_ai.operation.name", "create_agent", "gen_ai.agent.name", "planner"), "create_agent", ClassNone, "planner", ""},
		{"execute_tool", "execute_tool x", with("gen_ai.operation.name", "execute_tool", "gen_ai.tool.name", "get_weather"), "execute_tool", ClassTool, "", "get_weather"},
		{"openinference AGENT", "", with("openinference.span.kind", "AGENT", "agent.name", "router"), "invoke_agent", ClassAgent, "router", ""},
		{"openinference TOOL", "", with("openinference.span.kind", "TOOL", "tool.name", "search"), "execute_tool", ClassTool, "", "search"},
		{"openinference CHAIN", "", with("openinference.span.kind", "CHAIN"), "", ClassNone, "", ""},
		{"openinference RETRIEVER", "", with("openinference.span.kind", "RETRIEVER", "llm.request.type", "chat"), "", ClassNone, "", ""},
		{"traceloop workflow", "", with("traceloop.span.kind", "workflow", "traceloop.entity.name", "flow"), "", ClassNone, "", ""},
		{"traceloop task", "", with("traceloop.span.kind", "task"), "", ClassNone, "", ""},
		{"traceloop agent", "", with("traceloop.span.kind", "agent", "traceloop.entity.name", "joke_agent"), "invoke_agent", ClassAgent, "joke_agent", ""},
		{"traceloop tool", "", with("traceloop.span.kind", "tool", "traceloop.entity.name", "history"), "execute_tool", ClassTool, "", "history"},
		{"plain span", "GET /", map[string]any{"http.method": "GET"}, "", ClassNone, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Normalize(RawSpan{Name: tt.span, Attributes: tt.attrs})
			if s.Operation != tt.op || s.Class() != tt.class || s.AgentName != tt.agent || s.ToolName != tt.tool {
				t.Errorf("operation %q class %q agent %q tool %q; want %q %q %q %q",
					s.Operation, s.Class(), s.AgentName, s.ToolName, tt.op, tt.class, tt.agent, tt.tool)
			}
			if s.IsCall() != (tt.class == ClassCall) {
				t.Errorf("IsCall %v", s.IsCall())
			}
		})
	}
}
