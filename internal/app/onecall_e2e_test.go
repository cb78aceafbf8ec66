package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// TestOneCallInstrumentedLab: the lab's 5 calls made by an app instrumented
// with the OpenTelemetry OpenAI instrumentation (its spans as captured in
// the fixture) through the gateway (each request carrying the traceparent
// of its chat span, as the instrumentation's propagator sends it) are 5
// calls, with the gateway's tokens and cost, not 10 (issue 15), on
// DuckDB.
func TestOneCallInstrumentedLab(t *testing.T) {
	testOneCallInstrumentedLab(t, startAppWith(t, t.TempDir(), instantDeployments))
}

// TestSharedOneCallInstrumentedLab is the same on ClickHouse (skipped
// without GENSCOPE_CLICKHOUSE).
func TestSharedOneCallInstrumentedLab(t *testing.T) {
	ch := sharedClickHouse(t, false)
	cfg := nodeConfig(t, ch[0])
	instantDeployments(&cfg)
	testOneCallInstrumentedLab(t, runNode(t, cfg, hooks{}))
}

func testOneCallInstrumentedLab(t *testing.T, a *App) {
	td := readTraces(t, "lab-otel-openai.traces.json", time.Now().Add(-10*time.Minute))
	var chats []ptrace.Span
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				if sp.Kind() == ptrace.SpanKindClient && sp.Name() == "chat gpt-4o" {
					chats = append(chats, sp)
				}
			}
		}
	}
	if len(chats) != 5 {
		t.Fatalf("fixture has %d chat spans, want the lab's 5", len(chats))
	}
	// The calls through the gateway, then the app's spans over OTLP.
	client := &http.Client{Timeout: 30 * time.Second}
	for _, sp := range chats {
		tid, sid := sp.TraceID(), sp.SpanID()
		body, _ := json.Marshal(map[string]any{"model": "gpt-4o", "messages": []map[string]string{
			{"role": "system", "content": "You are an AI assistant that acts as a travel guide."},
			{"role": "user", "content": "What are some recommended supplies for a camping trip in the mountains?"}}})
		req, _ := http.NewRequest(http.MethodPost, "http://"+a.HTTPAddr()+"/v1/chat/completions", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer sk-app")
		req.Header.Set("traceparent", "00-"+hex.EncodeToString(tid[:])+"-"+hex.EncodeToString(sid[:])+"-01")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("gateway: %s %s", resp.Status, b)
		}
	}
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	postHTTP(t, a, "/v1/traces", body, "application/json")

	// Each trace shows both records; the gateway's are what the calls
	// count with.
	st, ctx := a.Store(), context.Background()
	var want store.Overview
	for _, sp := range chats {
		tid := genai.TraceID(sp.TraceID())
		var gw *store.TraceNode
		eventually(t, 20*time.Second, "both records of the call", func() bool {
			tr, err := st.Trace(ctx, "default", tid)
			if err != nil || len(tr.Roots) != 1 {
				return false
			}
			var find func(n *store.TraceNode) bool
			find = func(n *store.TraceNode) bool {
				if n.Span.Name == "chat gpt-4o" && n.Span.Source == genai.SourceOTLP && len(n.Children) == 1 &&
					n.Children[0].Span.Source == genai.SourceGateway {
					gw = n.Children[0]
					return true
				}
				for _, c := range n.Children {
					if find(c) {
						return true
					}
				}
				return false
			}
			return find(tr.Roots[0])
		})
		if gw.SeenBy == nil {
			t.Errorf("trace %s: the gateway's record is not marked as seen by both", tid)
		}
		want.InputTokens += gw.Span.Usage.InputTokens
		want.OutputTokens += gw.Span.Usage.OutputTokens
		if !gw.Span.CostKnown {
			t.Errorf("trace %s: the gateway's record has no cost", tid)
		}
		want.CostUSD += gw.Span.CostUSD
	}
	f := store.Filter{Project: "default", From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)}
	var ov store.Overview
	eventually(t, 20*time.Second, "5 calls", func() bool {
		var err error
		ov, err = st.Overview(ctx, f)
		return err == nil && ov.Calls == 5 && ov.InputTokens == want.InputTokens
	})
	if ov.Calls != 5 || ov.InputTokens != want.InputTokens || ov.OutputTokens != want.OutputTokens ||
		math.Abs(ov.CostUSD-want.CostUSD) > 1e-9 || ov.CostUnknownCalls != 0 {
		t.Errorf("overview %+v, want 5 calls with the gateway's %d + %d tokens and $%g", ov, want.InputTokens, want.OutputTokens, want.CostUSD)
	}
	page, err := st.Spans(ctx, store.SpansQuery{Filter: f, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, r := range page.Spans {
		if len(r.SeenBy) == 2 {
			seen++
		}
	}
	if len(page.Spans) != 5 || seen != 5 {
		t.Errorf("spans table: %d rows, %d seen by both; want 5 and 5", len(page.Spans), seen)
	}
}
