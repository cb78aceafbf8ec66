package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// checkSteps compares a Steps answer with the reference's.
func checkSteps(t *testing.T, what string, got, want store.Steps) {
	t.Helper()
	near := func(a, b store.StepTotals) bool {
		return a.Count == b.Count && a.Errors == b.Errors && a.ErrorRate == b.ErrorRate &&
			nearly(a.AvgMS, b.AvgMS) && nearly(a.MaxMS, b.MaxMS)
	}
	rows := func(a, b []store.StepRow) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i].Name != b[i].Name || !near(a[i].StepTotals, b[i].StepTotals) {
				return false
			}
		}
		return true
	}
	if !near(got.Runs, want.Runs) || !near(got.ToolCalls, want.ToolCalls) || !rows(got.Agents, want.Agents) || !rows(got.Tools, want.Tools) {
		t.Errorf("%s: steps\n got %+v\nwant %+v", what, got, want)
	}
}

func nearly(a, b float64) bool { return near(a, b, sumTolerance) }

func testSteps(t *testing.T, s store.Store, r *ref) {
	ctx := context.Background()
	p := Project
	queries := []store.StepsQuery{
		{Filter: all(p)},
		{Filter: all(p), Limit: 1},
		{Filter: all(p), Agent: "planner"},
		{Filter: all(p), Agent: "writer", Tool: "search"},
		{Filter: all(p), Tool: "lookup"},
		{Filter: all(p), Agent: "nobody"},
		{Filter: store.Filter{Project: p, Status: genai.StatusError}},
		{Filter: store.Filter{Project: p, Service: "chat-api"}},
		{Filter: store.Filter{Project: p, Session: "sess-1"}},
		{Filter: store.Filter{Project: p, From: Base.Add(20 * 97 * time.Second), To: Base.Add(45 * 97 * time.Second)}, Agent: "planner"},
		{Filter: all(Other + "-none")},
	}
	for _, q := range queries {
		got, err := s.Steps(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		checkSteps(t, "steps "+fmtQuery(q), got, r.steps(q))
	}
	// The data has both classes: the checks above are not vacuous.
	if st := r.steps(queries[0]); st.Runs.Count == 0 || st.ToolCalls.Count == 0 || st.ToolCalls.Errors == 0 || len(st.Agents) != 2 {
		t.Fatalf("reference steps %+v: the data set lost its agents", st)
	}
	for _, q := range []store.StepsQuery{{}, {Filter: all(p), Limit: -1}, {Filter: all(p), Limit: 1001}} {
		if _, err := s.Steps(ctx, q); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("Steps(%+v) = %v, want ErrBadQuery", q, err)
		}
	}
}

func fmtQuery(q store.StepsQuery) string {
	return q.Filter.Project + " agent=" + q.Agent + " tool=" + q.Tool + " service=" + q.Filter.Service +
		" status=" + string(q.Filter.Status) + " session=" + q.Filter.Session
}

// testCallClasses is issue 15's check: a trace with an agent run, two tool
// calls and two model calls shows 2 calls, 1 agent run and 2 tool calls,
// and no call of unknown cost; the trace shows all five with their class.
func testCallClasses(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := "proj-classes"
	tid := traceID(p, 900)
	at := func(ms int) int64 { return Base.Add(time.Duration(ms) * time.Millisecond).UnixNano() }
	span := func(j int, parent int, name, op string) genai.Span {
		sp := genai.Span{Project: p, TraceID: tid, SpanID: spanID(900, j), Name: name, Kind: "internal",
			Service: "agent-app", Source: genai.SourceOTLP, StartUnixNano: at(10 * j), DurationNano: int64(time.Duration(100-10*j) * time.Millisecond),
			Status: genai.StatusOK, Operation: op}
		if parent >= 0 {
			sp.ParentSpanID = spanID(900, parent)
		}
		return sp
	}
	agent := span(0, -1, "invoke_agent travel", genai.OpInvokeAgent)
	agent.AgentName, agent.Provider, agent.RequestModel = "travel", "openai", "gpt-4o" // no price: not a call
	chat1 := span(1, 0, "chat gpt-4o", "chat")
	tool1 := span(2, 0, "execute_tool weather", genai.OpExecuteTool)
	tool2 := span(3, 0, "execute_tool flights", genai.OpExecuteTool)
	tool2.Status, tool2.ErrorType = genai.StatusError, "timeout"
	chat2 := span(4, 0, "chat gpt-4o", "chat")
	tool1.ToolName, tool2.ToolName = "weather", "flights"
	for _, c := range []*genai.Span{&chat1, &chat2} {
		c.Provider, c.RequestModel, c.Usage = "openai", "gpt-4o", genai.Usage{InputTokens: 10, OutputTokens: 5}
		c.CostUSD, c.CostKnown = 0.001, true
	}
	write(t, s, []genai.Span{agent, chat1, tool1, tool2, chat2}, nil)

	f := all(p)
	ov, err := s.Overview(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if ov.Calls != 2 || ov.CostUnknownCalls != 0 || ov.Errors != 0 || ov.InputTokens != 20 {
		t.Errorf("overview %+v: want 2 calls, none of unknown cost, no errors, 20 input tokens", ov)
	}
	st, err := s.Steps(ctx, store.StepsQuery{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	if st.Runs.Count != 1 || st.ToolCalls.Count != 2 || st.ToolCalls.Errors != 1 || st.Runs.Errors != 0 {
		t.Errorf("steps %+v: want 1 agent run, 2 tool calls (1 failing)", st)
	}
	wantTools := []store.StepRow{
		{Name: "flights", StepTotals: store.StepTotals{Count: 1, Errors: 1, ErrorRate: 1, AvgMS: 70, MaxMS: 70}},
		{Name: "weather", StepTotals: store.StepTotals{Count: 1, AvgMS: 80, MaxMS: 80}},
	}
	if !reflect.DeepEqual(st.Tools, wantTools) || len(st.Agents) != 1 || st.Agents[0].Name != "travel" {
		t.Errorf("tools %+v, agents %+v", st.Tools, st.Agents)
	}
	um, err := s.UnknownModels(ctx, f)
	if err != nil || len(um) != 0 {
		t.Errorf("unknown models %+v (%v): the agent's model is no call", um, err)
	}
	page, err := s.Spans(ctx, store.SpansQuery{Filter: f})
	if err != nil || len(page.Spans) != 2 {
		t.Fatalf("spans %d (%v): want the 2 calls", len(page.Spans), err)
	}
	page, err = s.Spans(ctx, store.SpansQuery{Filter: f, All: true})
	if err != nil || len(page.Spans) != 5 {
		t.Fatalf("all spans %d (%v)", len(page.Spans), err)
	}
	classes := map[genai.Class]int{}
	for _, sp := range page.Spans {
		classes[sp.Class]++
		if sp.Class != genai.ClassCall && sp.CostUSD != nil {
			t.Errorf("%s has a cost", sp.Name)
		}
	}
	if classes[genai.ClassCall] != 2 || classes[genai.ClassAgent] != 1 || classes[genai.ClassTool] != 2 {
		t.Errorf("classes %v", classes)
	}
	tr, err := s.Trace(ctx, p, tid)
	if err != nil || len(tr.Roots) != 1 || len(tr.Roots[0].Children) != 4 {
		t.Fatalf("trace %+v (%v)", tr, err)
	}
	if n := tr.Roots[0]; n.Class != genai.ClassAgent || n.Span.AgentName != "travel" {
		t.Errorf("trace root class %q agent %q", n.Class, n.Span.AgentName)
	}
	for _, c := range tr.Roots[0].Children {
		if c.Class == genai.ClassTool && c.Span.ToolName == "" {
			t.Errorf("tool %s lost its name", c.SpanID)
		}
	}
}
