package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// agentTrace is an agent run as the GenAI agent conventions record it:
// invoke_agent planner, under it two chat calls of gpt-4o (priced) and
// two execute_tool calls, the second failing.
func agentTrace(at time.Time) (ptrace.Traces, string) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "trip-agent")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("opentelemetry.instrumentation.openai_agents")
	tid := pcommon.TraceID{0x7a, 0x9e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	span := func(id byte, parent byte, name string, from, dur time.Duration, attrs map[string]any) ptrace.Span {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID{0xa9, 0, 0, 0, 0, 0, 0, id})
		if parent != 0 {
			s.SetParentSpanID(pcommon.SpanID{0xa9, 0, 0, 0, 0, 0, 0, parent})
		}
		s.SetName(name)
		s.SetKind(ptrace.SpanKindInternal)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(at.Add(from)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(from + dur)))
		if err := s.Attributes().FromRaw(attrs); err != nil {
			panic(err)
		}
		return s
	}
	chat := func(in, out int64) map[string]any {
		return map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			"gen_ai.response.model": "gpt-4o", "gen_ai.usage.input_tokens": in, "gen_ai.usage.output_tokens": out, "gen_ai.agent.name": "planner"}
	}
	tool := func(name string) map[string]any {
		return map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, "gen_ai.agent.name": "planner"}
	}
	span(1, 0, "invoke_agent planner", 0, 4*time.Second, map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner", "gen_ai.provider.name": "openai"})
	span(2, 1, "chat gpt-4o", 10*time.Millisecond, 900*time.Millisecond, chat(120, 40)).SetKind(ptrace.SpanKindClient)
	span(3, 1, "execute_tool search_flights", time.Second, 1500*time.Millisecond, tool("search_flights"))
	w := span(4, 1, "execute_tool get_weather", 2600*time.Millisecond, 300*time.Millisecond, tool("get_weather"))
	w.Status().SetCode(ptrace.StatusCodeError)
	w.Status().SetMessage("weather service timed out")
	w.Attributes().PutStr("error.type", "TimeoutError")
	span(5, 1, "chat gpt-4o", 3*time.Second, 950*time.Millisecond, chat(300, 90)).SetKind(ptrace.SpanKindClient)
	return td, tid.String()
}

// TestBrowserAgents: a trace with an agent, two tool calls and two model
// calls shows 2 calls, 1 agent run and 2 tool calls, with no "cost
// unknown", on the Overview, the Agents page and the trace, at a phone's
// and a desktop's size, axe-clean; the Agents page's tables sort, filter
// by agent and tool, and open the traces.
func TestBrowserAgents(t *testing.T) {
	exe := chromium(t)
	requireBuilt(t)
	axe := axeSource(t)
	base := startApp(t)
	ctx, problems := browser(t, exe)

	// No agents yet: the page says what counts as one.
	do(t, ctx, chromedp.Navigate(base+"/agents"))
	waitLoaded(t, ctx)
	if txt := eval[string](t, ctx, `document.getElementById("main").innerText`); !strings.Contains(txt, "No agent runs or tool calls") || !strings.Contains(txt, "invoke_agent") {
		t.Errorf("empty agents page: %q", txt)
	}
	audit(t, ctx, axe, "agents-empty@1440")

	td, traceID := agentTrace(time.Now().Add(-5 * time.Minute))
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	postKey(t, base+"/v1/traces", "", body)
	var ov struct {
		Calls            int64 `json:"calls"`
		InputTokens      int64 `json:"input_tokens"`
		CostUnknownCalls int64 `json:"cost_unknown_calls"`
	}
	for deadline := time.Now().Add(10 * time.Second); ov.Calls == 0; time.Sleep(50 * time.Millisecond) {
		getJSON(t, base+"/api/v1/overview?from=1h", &ov)
		if time.Now().After(deadline) {
			t.Fatal("the agent trace was not stored")
		}
	}
	if ov.Calls != 2 || ov.InputTokens != 420 || ov.CostUnknownCalls != 0 {
		t.Fatalf("overview API: %+v, want 2 calls, 420 input tokens, none of unknown cost", ov)
	}

	for _, size := range viewports {
		t.Run("Size"+size.name, func(t *testing.T) {
			do(t, ctx, chromedp.EmulateViewport(size.w, size.h))
			// The Overview: 2 calls, priced.
			do(t, ctx, chromedp.Navigate(base+"/?from=1h"))
			waitLoaded(t, ctx)
			if v := eval[string](t, ctx, `document.querySelector("[data-tile=calls]").dataset.value`); v != "2" {
				t.Errorf("overview calls tile %q, want 2", v)
			}
			if txt := eval[string](t, ctx, `document.getElementById("main").innerText`); strings.Contains(txt, "without a price") || strings.Contains(txt, "unpriced") {
				t.Errorf("the overview says some calls are of unknown cost: %q", txt)
			}

			// The Agents page.
			do(t, ctx, chromedp.Navigate(base+"/agents?from=1h"))
			waitLoaded(t, ctx)
			steps := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll("[data-step]")].map(e => [e.dataset.step, e.dataset.value]))`)
			if steps["runs"] != "1" || steps["tool_calls"] != "2" || steps["tools_per_run"] != "2" {
				t.Errorf("agents tiles %v, want 1 run, 2 tool calls, 2 per run", steps)
			}
			if n := eval[[]string](t, ctx, `[...document.querySelectorAll("#agents tbody tr")].map(r => r.dataset.agent + " " + r.cells[1].textContent)`); len(n) != 1 || n[0] != "planner 1" {
				t.Errorf("agents table %q", n)
			}
			if n := eval[[]string](t, ctx, `[...document.querySelectorAll("#failing-tools li")].map(li => li.dataset.tool)`); len(n) != 1 || n[0] != "get_weather" {
				t.Errorf("failing tools %q, want get_weather", n)
			}
			if n := eval[[]string](t, ctx, `[...document.querySelectorAll("#slowest-tools li")].map(li => li.dataset.tool)`); len(n) != 2 || n[0] != "search_flights" {
				t.Errorf("slowest tools %q, want search_flights first", n)
			}
			if txt := eval[string](t, ctx, `document.getElementById("main").innerText`); strings.Contains(txt, "unknown") || strings.Contains(txt, "without a price") {
				t.Errorf("the agents page mentions unknown cost: %q", txt)
			}
			fits(t, ctx, "agents", int(size.w))
			audit(t, ctx, axe, "agents@"+size.name)
			screenshot(t, ctx, "page-agents-"+size.name)

			// The per-tool table sorts by any column.
			do(t, ctx, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#tools th button")].find(b => b.textContent === "Average").click()`))
			if got := eval[[]string](t, ctx, `[...document.querySelectorAll("#tools tbody tr")].map(r => r.dataset.tool)`); len(got) != 2 || got[0] != "search_flights" {
				t.Errorf("tools by average, descending: %q", got)
			}
			do(t, ctx, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#tools th button")].find(b => b.textContent === "Average").click()`))
			if got := eval[[]string](t, ctx, `[...document.querySelectorAll("#tools tbody tr")].map(r => r.dataset.tool)`); len(got) != 2 || got[0] != "get_weather" {
				t.Errorf("tools by average, ascending: %q", got)
			}

			// A tool row filters the page by it; the filter is in the URL.
			do(t, ctx, chromedp.Click(chromedp.CSS(`#tools tr[data-tool="get_weather"]`)))
			waitFor(t, ctx, `new URLSearchParams(location.search).get("tool") === "get_weather"`)
			waitLoaded(t, ctx)
			steps = eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll("[data-step]")].map(e => [e.dataset.step, e.dataset.value]))`)
			if steps["runs"] != "1" || steps["tool_calls"] != "1" {
				t.Errorf("tool=get_weather: tiles %v, want its 1 call and the 1 run of its trace", steps)
			}
			if v := eval[string](t, ctx, `document.getElementById("f-tool").value`); v != "get_weather" {
				t.Errorf("the tool select shows %q", v)
			}
			// The agent select narrows by agent; an agent with no runs here empties it.
			do(t, ctx, chromedp.Click(chromedp.ID("all-steps")))
			waitLoaded(t, ctx)
			do(t, ctx, chromedp.SetValue(chromedp.ID("f-agent"), "planner")) // (SetValue sends input and change)
			waitFor(t, ctx, `new URLSearchParams(location.search).get("agent") === "planner"`)
			waitLoaded(t, ctx)
			if v := eval[string](t, ctx, `document.querySelector("[data-step=tool_calls]").dataset.value`); v != "2" {
				t.Errorf("agent=planner: %s tool calls, want 2", v)
			}
			audit(t, ctx, axe, "agents-filtered@"+size.name)
			fits(t, ctx, "agents-filtered", int(size.w))

			// The failed tool call opens its trace, at that span.
			do(t, ctx, chromedp.Click(chromedp.CSS(`#failed-tool-calls tbody tr`)))
			waitFor(t, ctx, `location.pathname === "/traces/`+traceID+`"`)
			waitLoaded(t, ctx)
			if s := eval[string](t, ctx, `new URLSearchParams(location.search).get("span")`); s != "a900000000000004" {
				t.Errorf("the failed tool call opened span %q", s)
			}
			totals := eval[string](t, ctx, `document.getElementById("trace-totals").innerText`)
			calls := eval[string](t, ctx, `[...document.querySelectorAll("#trace-totals .total")].find(e => e.innerText.startsWith("Model calls")).querySelector(".total-value").innerText`)
			if calls != "2" || !strings.Contains(totals, "1 run · 2 tool calls") || strings.Contains(totals, "without a price") {
				t.Errorf("trace totals: model calls %q; %q", calls, totals)
			}
			if tags := eval[[]string](t, ctx, `[...document.querySelectorAll("#waterfall .tag")].map(e => e.textContent)`); strings.Join(tags, ",") != "agent,chat,tool,tool,chat" {
				t.Errorf("waterfall tags %q", tags)
			}
			detail := eval[string](t, ctx, `document.getElementById("span-detail").innerText`)
			if !strings.Contains(detail, "get_weather") || !strings.Contains(detail, "not a model call") || strings.Contains(detail, "unknown") || strings.Contains(detail, "Usage") {
				t.Errorf("the tool call's detail: %q", detail)
			}
			fits(t, ctx, "agent-trace", int(size.w))
			audit(t, ctx, axe, "agent-trace@"+size.name)
			screenshot(t, ctx, "page-agent-trace-"+size.name)
		})
	}

	time.Sleep(200 * time.Millisecond)
	for _, p := range problems() {
		t.Errorf("browser console: %s", p)
	}
}
