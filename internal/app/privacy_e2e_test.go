package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/genai"
)

// leakyAttributes are prompts and answers under names outside gen_ai.*
// and llm.*, as the instrumentations of the security review send them;
// each value carries a marker that must never come back.
var leakyAttributes = map[string]string{
	"ai.prompt":                   `{"prompt":"LEAK-vercel-prompt"}`,
	"ai.response.text":            "LEAK-vercel-answer",
	"langfuse.observation.input":  "LEAK-langfuse-input",
	"langfuse.observation.output": "LEAK-langfuse-output",
	"input.value":                 "LEAK-openinference-input",
	"output.value":                "LEAK-openinference-output",
	"http.request.body":           `{"messages":[{"content":"LEAK-http-body"}]}`,
	"exception.message":           "LEAK-exception-message",
	"lab.prompt":                  "LEAK-app-attribute",
}

// leakyTraces is one GenAI call (trace id byte id) with content under
// every name above, in an event, in the resource and in its status
// message, and its session.
func leakyTraces(id byte, start time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "leaky")
	rs.Resource().Attributes().PutStr("app.banner", "LEAK-resource")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{id, 9, 9, 9, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, id})
	sp.SetSpanID(pcommon.SpanID{id, 9, 9, 9, 4, 5, 6, 7})
	sp.SetName("chat gpt-4o")
	sp.SetKind(ptrace.SpanKindClient)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage("LEAK-status-message")
	at := sp.Attributes()
	at.PutStr("gen_ai.operation.name", "chat")
	at.PutStr("gen_ai.system", "openai")
	at.PutStr("gen_ai.request.model", "gpt-4o")
	at.PutInt("gen_ai.usage.input_tokens", 10)
	at.PutInt("gen_ai.usage.output_tokens", 5)
	at.PutStr("error.type", "content_filter")
	at.PutStr("session.id", fmt.Sprintf("leaky-session-%d", id))
	for k, v := range leakyAttributes {
		at.PutStr(k, v)
	}
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	ev.Attributes().PutStr("exception.type", "ContentFilterError")
	ev.Attributes().PutStr("exception.message", "LEAK-event-message")
	ev.Attributes().PutStr("exception.stacktrace", "LEAK-event-stacktrace")
	return td
}

// TestNoContentMeansNoContent: a project with capture metadata stores,
// and a read key without the content permission gets, none of the
// content that arrives under names outside gen_ai.*/llm.* — on every read
// endpoint — while both keep the call's metadata.
func TestNoContentMeansNoContent(t *testing.T) {
	h := startAuthApp(t, func(c *config.Config) {
		c.Projects = []config.Project{{Name: "meta", Capture: "metadata"}, {Name: "full"}}
	})
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	for i, project := range []string{"meta", "full"} {
		ingest, code := h.newKey(canaryAdmin, project, "ingest")
		if code != 201 {
			t.Fatalf("ingest key: %d", code)
		}
		if code, body := h.do("POST", "/v1/traces", ingest, pb, otlpBody(t, leakyTraces(byte(i+1), start))); code != 200 {
			t.Fatalf("ingest into %s: %d %s", project, code, body)
		}
	}
	traceID := func(id byte) string {
		return genai.TraceID{id, 9, 9, 9, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, id}.String()
	}

	// Stored: the metadata project's rows hold no content.
	meta, err := h.a.Store().Trace(context.Background(), "meta", genai.TraceID{1, 9, 9, 9, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 1})
	if err != nil || len(meta.Roots) != 1 {
		t.Fatalf("stored trace: %v %+v", err, meta)
	}
	stored := meta.Roots[0].Span
	if js := mustJSON(t, stored); strings.Contains(js, "LEAK") {
		t.Errorf("capture metadata stored content: %s", js)
	}
	if stored.Usage.InputTokens != 10 || stored.ErrorType != "content_filter" || stored.RequestModel != "gpt-4o" ||
		stored.ResourceAttributes["service.name"] != "leaky" || len(stored.Events) != 1 || stored.Events[0].Attributes["exception.type"] != "ContentFilterError" {
		t.Errorf("capture metadata lost metadata: %s", mustJSON(t, stored))
	}
	// The full project keeps it (the check above can fail).
	full, _ := h.a.Store().Trace(context.Background(), "full", genai.TraceID{2, 9, 9, 9, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 2})
	if js := mustJSON(t, full); !strings.Contains(js, "LEAK-openinference-input") || !strings.Contains(js, "LEAK-status-message") {
		t.Errorf("capture full lost content: %s", js)
	}

	// Read: a read key without content on the full project, and one with.
	noContent, _ := h.newKey(canaryAdmin, "full", "read")
	var withContent struct{ Key string }
	h.json("POST", "/api/v1/projects/full/keys", canaryAdmin, map[string]any{"scope": "read", "content": true}, &withContent)
	q := "?project=full&from=1h"
	endpoints := []string{
		"/api/v1/traces/" + traceID(2) + q, "/api/v1/spans" + q, "/api/v1/spans" + q + "&all=true",
		"/api/v1/sessions" + q, "/api/v1/sessions/leaky-session-2" + q, "/api/v1/overview" + q,
		"/api/v1/timeseries" + q + "&metric=calls", "/api/v1/breakdown" + q + "&by=model",
		"/api/v1/breakdown" + q + "&by=session", "/api/v1/breakdown" + q + "&by=status",
	}
	for _, path := range endpoints {
		code, body := h.do("GET", path, noContent, nil, nil)
		if code != 200 {
			t.Errorf("GET %s without content: %d %s", path, code, body)
		}
		if strings.Contains(body, "LEAK") {
			t.Errorf("GET %s without content leaks: %s", path, body)
		}
	}
	_, body := h.do("GET", endpoints[0], noContent, nil, nil)
	for _, want := range []string{`"input_tokens":10`, `"error_type":"content_filter"`, `"exception.type":"ContentFilterError"`, `"service.name":"leaky"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the trace without content lacks %s: %s", want, body)
		}
	}
	if _, body := h.do("GET", endpoints[0], withContent.Key, nil, nil); !strings.Contains(body, "LEAK-langfuse-input") || !strings.Contains(body, "LEAK-status-message") {
		t.Errorf("a reader with content does not see it: %s", body)
	}
	if code, _ := h.do("GET", "/api/v1/spans"+q+"&q=LEAK", noContent, nil, nil); code != 403 {
		t.Errorf("text search without content: %d", code)
	}

}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
