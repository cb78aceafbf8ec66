package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/genscope/genscope/internal/auth"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/fixture"
	"github.com/genscope/genscope/internal/store"
)

// Canaries: none of them may appear in a log line, a metric, an error
// body or a stored row (the redaction targets only in the clear project).
const (
	canaryAdmin    = "admin-canary-TOKEN-0123456789"
	canaryPassword = "password-canary-4242"
	canaryUpstream = "upstream-canary-sk-key"
	canaryEmail    = "jane.canary@example.com"
	canaryCard     = "4111 1111 1111 1111"
)

// syncBuffer collects log output from every goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// th is a client of a running app that remembers every body it got.
type th struct {
	t      *testing.T
	a      *App
	mu     sync.Mutex
	bodies []string
	shown  []string // bodies that show a new key (once, by design)
}

// moveLastToShown marks the last body as the one showing a new key.
func (h *th) moveLastToShown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shown = append(h.shown, h.bodies[len(h.bodies)-1])
	h.bodies = h.bodies[:len(h.bodies)-1]
}

func (h *th) do(method, path, key string, hdr map[string]string, body []byte) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest(method, "http://"+h.a.HTTPAddr()+path, bytes.NewReader(body))
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, string(b))
	h.mu.Unlock()
	return resp.StatusCode, string(b)
}

func (h *th) json(method, path, key string, in any, out any) int {
	h.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	code, b := h.do(method, path, key, nil, body)
	if out != nil && code < 300 {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			h.t.Fatalf("%s %s: %d %s", method, path, code, b)
		}
	}
	return code
}

// genaiTraces is one chat call with content, in a trace of its own.
func genaiTraces(id byte, start time.Time, text string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "trust-test")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{id, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, id})
	sp.SetSpanID(pcommon.SpanID{id, 1, 2, 3, 4, 5, 6, 7})
	sp.SetName("chat gpt-4o")
	sp.SetKind(ptrace.SpanKindClient)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
	at := sp.Attributes()
	at.PutStr("gen_ai.operation.name", "chat")
	at.PutStr("gen_ai.system", "openai")
	at.PutStr("gen_ai.request.model", "gpt-4o")
	at.PutInt("gen_ai.usage.input_tokens", 10)
	at.PutInt("gen_ai.usage.output_tokens", 5)
	at.PutStr("session.id", fmt.Sprintf("session-%d", id))
	at.PutStr("gen_ai.system_instructions", `[{"type":"text","content":"system says `+text+`"}]`)
	at.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"user asks `+text+`"}]}]`)
	at.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"model answers `+text+`"}]}]`)
	return td
}

func otlpBody(t *testing.T, td ptrace.Traces) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var pb = map[string]string{"Content-Type": "application/x-protobuf"}

// TestTrust runs genscope with auth on and checks, through every
// endpoint, that keys of one project neither write to nor read from
// another, that readers without the content permission never get message
// text, that per-project capture policy and retention hold, and that no
// secret leaks anywhere.
func TestTrust(t *testing.T) {
	var upstreamMu sync.Mutex
	var upstreamHeaders []http.Header
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamMu.Lock()
		upstreamHeaders = append(upstreamHeaders, r.Header.Clone())
		upstreamMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","model":"llama","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
	}))
	defer upstream.Close()

	logs := &syncBuffer{}
	cfg := config.Default()
	dir := t.TempDir()
	cfg.Data, cfg.Listen, cfg.GRPCListen = dir, "127.0.0.1:0", "127.0.0.1:0"
	cfg.LogLevel = "debug"
	cfg.Auth = config.Auth{Enabled: true, AdminToken: config.Secret(canaryAdmin), SessionTTL: config.Duration(time.Hour)}
	cfg.Projects = []config.Project{
		{Name: "red", Capture: "redacted", RedactPatterns: []string{`ORD-\d{6}`}},
		{Name: "meta", Capture: "metadata"},
		{Name: "short", Retention: config.Retention{Spans: config.Duration(3 * time.Hour), Content: config.Duration(time.Hour)}},
	}
	cfg.Gateway.Enabled = true
	instantDeployments(&cfg)
	cfg.Gateway.Deployments = append(cfg.Gateway.Deployments,
		config.Deployment{Name: "llama", Type: config.DeploymentOpenAICompatible, BaseURL: upstream.URL + "/v1"},
		config.Deployment{Name: "keyed", Type: config.DeploymentOpenAICompatible, BaseURL: upstream.URL + "/v1", APIKey: config.Secret(canaryUpstream)})
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	if !a.waitReady(10 * time.Second) {
		t.Fatal("app not ready")
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
	}
	defer stop()
	h := &th{t: t, a: a}
	now := time.Now()

	// Without credentials: 401 everywhere (App Insights: 400).
	if code, _ := h.do("POST", "/v1/traces", "", pb, otlpBody(t, genaiTraces(1, now, "x"))); code != 401 {
		t.Errorf("OTLP without key: %d", code)
	}
	for _, p := range []string{"/api/v1/overview", "/api/v1/spans", "/api/v1/status", "/api/v1/alert-rules", "/api/v1/projects", "/api/v1/me"} {
		if code, _ := h.do("GET", p, "", nil, nil); code != 401 {
			t.Errorf("GET %s without credentials: %d", p, code)
		}
	}
	if code, _ := h.do("GET", "/api/v1/overview", "wrong-token-0123456789", nil, nil); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	chat := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}`)
	if code, _ := h.do("POST", "/v1/chat/completions", "", nil, chat); code != 401 {
		t.Errorf("gateway without key: %d", code)
	}

	// The admin makes projects and keys.
	for _, n := range []string{"a", "b"} {
		if code := h.json("POST", "/api/v1/projects", canaryAdmin, map[string]string{"name": n}, nil); code != 201 {
			t.Fatalf("create project %s: %d", n, code)
		}
	}
	key := func(project, scope string, content bool) string {
		t.Helper()
		var out struct {
			Key string `json:"key"`
			ID  string `json:"id"`
		}
		if code := h.json("POST", "/api/v1/projects/"+project+"/keys", canaryAdmin, map[string]any{"scope": scope, "content": content}, &out); code != 201 || out.Key == "" {
			t.Fatalf("create %s key for %s: %d", scope, project, code)
		}
		h.moveLastToShown()
		return out.Key
	}
	ingestA, ingestB, ingestRed, ingestMeta, ingestShort := key("a", "ingest", false), key("b", "ingest", false), key("red", "ingest", false), key("meta", "ingest", false), key("short", "ingest", false)
	readA, readAC, readB := key("a", "read", false), key("a", "read", true), key("b", "read", true)
	gwA := key("a", "gateway", false)
	ikeyA := key("a", "appinsights", false)
	secrets := []string{canaryAdmin, canaryPassword, canaryUpstream, ingestA, ingestB, readA, readAC, readB, gwA, ikeyA}

	// Ingest: OTLP/HTTP into a (and red, meta, short), OTLP/gRPC into b.
	send := func(k string, td ptrace.Traces) {
		t.Helper()
		if code, body := h.do("POST", "/v1/traces", k, pb, otlpBody(t, td)); code != 200 {
			t.Fatalf("OTLP: %d %s", code, body)
		}
	}
	send(ingestA, genaiTraces(0xa1, now.Add(-time.Minute), "alpha-content"))
	send(ingestRed, genaiTraces(0xc1, now.Add(-time.Minute), "mail "+canaryEmail+" card "+canaryCard+" order ORD-123456"))
	send(ingestMeta, genaiTraces(0xd1, now.Add(-time.Minute), "meta-content"))
	send(ingestShort, genaiTraces(0xe1, now.Add(-time.Minute), "fresh-content"))
	send(ingestShort, genaiTraces(0xe2, now.Add(-2*time.Hour), "stale-content"))
	send(ingestShort, genaiTraces(0xe3, now.Add(-4*time.Hour), "expired-content"))
	if code, _ := h.do("POST", "/v1/traces", readA, pb, otlpBody(t, genaiTraces(2, now, "x"))); code != 401 {
		t.Errorf("OTLP with a read key: %d", code)
	}
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gc := ptraceotlp.NewGRPCClient(conn)
	grpcSend := func(md metadata.MD, id byte, text string) error {
		_, err := gc.Export(metadata.NewOutgoingContext(context.Background(), md), ptraceotlp.NewExportRequestFromTraces(genaiTraces(id, now.Add(-time.Minute), text)))
		return err
	}
	if err := grpcSend(metadata.Pairs("authorization", "Bearer "+ingestB), 0xb1, "beta-content"); err != nil {
		t.Fatal(err)
	}
	if err := grpcSend(metadata.Pairs("x-genscope-key", ingestB), 0xb2, "beta-content-2"); err != nil {
		t.Fatal(err)
	}
	if err := grpcSend(nil, 3, "x"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC without key: %v", err)
	}
	if err := grpcSend(metadata.Pairs("authorization", "Bearer "+readB), 4, "x"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC with a read key: %v", err)
	}

	// Application Insights: the project's instrumentation key, else 400.
	// The capture, moved to ten minutes ago: the checks below read a
	// window relative to now.
	ai, _, err := fixture.AppInsightsAt(fixture.AppInsights(t, "appinsights/lab-azure-exporter.traces.json"), now.Add(-10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := h.do("POST", "/v2.1/track", "", nil, ai); code != 400 {
		t.Errorf("App Insights with an unknown key: %d %s", code, body)
	}
	if code, body := h.do("POST", "/v2.1/track", "", nil, bytes.ReplaceAll(ai, []byte("00000000-0000-0000-0000-000000000000"), []byte(ikeyA))); code != 200 {
		t.Errorf("App Insights with project a's key: %d %s", code, body)
	}

	// Gateway: a gateway key of a; never forwarded upstream.
	if code, body := h.do("POST", "/v1/chat/completions", "", map[string]string{"x-genscope-key": gwA}, chat); code != 200 {
		t.Errorf("gateway with key: %d %s", code, body)
	}
	if code, _ := h.do("POST", "/v1/chat/completions", ingestA, nil, chat); code != 401 {
		t.Errorf("gateway with an ingest key: %d", code)
	}
	llama := []byte(`{"model":"llama","messages":[{"role":"user","content":"hello"}]}`)
	if code, body := h.do("POST", "/v1/chat/completions", gwA, map[string]string{"api-key": gwA, "x-genscope-key": gwA}, llama); code != 200 {
		t.Errorf("gateway to a passthrough upstream: %d %s", code, body)
	}
	keyed := []byte(`{"model":"keyed","messages":[{"role":"user","content":"hello"}]}`)
	if code, body := h.do("POST", "/v1/chat/completions", "", map[string]string{"x-genscope-key": gwA}, keyed); code != 200 {
		t.Errorf("gateway to a keyed upstream: %d %s", code, body)
	}
	upstreamMu.Lock()
	if len(upstreamHeaders) != 2 {
		t.Errorf("upstream called %d times, want 2", len(upstreamHeaders))
	}
	for _, hd := range upstreamHeaders {
		for k, v := range hd {
			if strings.Contains(strings.Join(v, " "), gwA) || strings.EqualFold(k, "x-genscope-key") {
				t.Errorf("upstream got the gateway key in %s", k)
			}
		}
	}
	upstreamMu.Unlock()

	waitAtLeast(t, a.Store(), "a", 9) // OTLP, 3 gateway calls, 5 App Insights calls
	waitAtLeast(t, a.Store(), "b", 2)

	// Reading: each key its own project.
	type spansPage struct {
		Spans []struct {
			TraceID string `json:"trace_id"`
			Session string `json:"session"`
			System  string `json:"system"`
			Input   string `json:"input"`
			Output  string `json:"output"`
		} `json:"spans"`
	}
	spans := func(k, query string) (int, spansPage, string) {
		t.Helper()
		var p spansPage
		code, body := h.do("GET", "/api/v1/spans?from=24h&"+query, k, nil, nil)
		if code == 200 {
			_ = json.Unmarshal([]byte(body), &p)
		}
		return code, p, body
	}
	if code, p, body := spans(readB, ""); code != 200 || len(p.Spans) != 2 || strings.Contains(body, "alpha-content") {
		t.Errorf("read key of b: %d %d spans %s", code, len(p.Spans), body)
	}
	for _, k := range []string{readA, readAC} {
		for _, q := range []string{"project=b", "project=red", "project=default"} {
			if code, _, _ := spans(k, q); code != 403 {
				t.Errorf("read key of a, %s: %d", q, code)
			}
		}
	}
	for _, k := range []string{ingestA, gwA} {
		if code, _, _ := spans(k, ""); code != 403 {
			t.Errorf("ingest/gateway key reads: %d", code)
		}
	}
	traceB := fmt.Sprintf("%02x0102030405060708090a0b0c0d0e%02x", 0xb1, 0xb1)
	traceA := fmt.Sprintf("%02x0102030405060708090a0b0c0d0e%02x", 0xa1, 0xa1)
	for _, p := range []string{"/api/v1/traces/" + traceB, "/api/v1/sessions/session-177"} {
		if code, body := h.do("GET", p+"?from=24h", readAC, nil, nil); code != 404 || strings.Contains(body, "beta") {
			t.Errorf("read key of a, %s of b: %d %s", p, code, body)
		}
	}
	if code, body := h.do("GET", "/api/v1/traces/"+traceB+"?project=b", readAC, nil, nil); code != 403 || strings.Contains(body, "beta") {
		t.Errorf("read key of a, trace of b with project=b: %d", code)
	}
	if code, body := h.do("GET", "/api/v1/overview?from=24h", readB, nil, nil); code != 200 || !strings.Contains(body, `"calls":2`) {
		t.Errorf("overview of b: %d %s", code, body)
	}

	// Content: only with the content permission, on every endpoint.
	noContent := func(k, who string) {
		t.Helper()
		for _, p := range []string{"/api/v1/spans?from=24h", "/api/v1/traces/" + traceA, "/api/v1/sessions?from=24h",
			"/api/v1/sessions/session-161?from=24h", "/api/v1/overview?from=24h", "/api/v1/breakdown?by=model&from=24h",
			"/api/v1/timeseries?metric=calls&from=24h", "/api/v1/status", "/api/v1/alerts", "/api/v1/alert-rules"} {
			code, body := h.do("GET", p, k, nil, nil)
			if code != 200 {
				t.Errorf("%s: GET %s: %d %s", who, p, code, body)
			}
			for _, c := range []string{"alpha-content", "system says", "user asks", "model answers", "travel guide", "camping", "hello"} {
				if strings.Contains(body, c) {
					t.Errorf("%s: GET %s shows content %q", who, p, c)
				}
			}
		}
		if code, _ := h.do("GET", "/api/v1/spans?from=24h&q=alpha", k, nil, nil); code != 403 {
			t.Errorf("%s: text search: %d", who, code)
		}
	}
	noContent(readA, "read key without content")
	if _, _, body := spans(readAC, ""); !strings.Contains(body, "user asks alpha-content") {
		t.Errorf("read key with content sees none: %s", body)
	}
	if code, body := h.do("GET", "/api/v1/traces/"+traceA, readAC, nil, nil); code != 200 || !strings.Contains(body, "user asks alpha-content") {
		t.Errorf("trace with content: %d %s", code, body)
	}

	// Users: a viewer of a without content, an editor of b.
	for _, u := range []map[string]any{
		{"name": "vic", "password": canaryPassword, "grants": map[string]any{"a": map[string]any{"role": "viewer"}}},
		{"name": "ed", "password": canaryPassword, "grants": map[string]any{"b": map[string]any{"role": "editor", "content": true}}},
	} {
		if code := h.json("POST", "/api/v1/users", canaryAdmin, u, nil); code != 201 {
			t.Fatalf("create user: %d", code)
		}
	}
	login := func(name string) (cookie, csrf string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"username": name, "password": canaryPassword})
		resp, err := http.Post("http://"+a.HTTPAddr()+"/api/v1/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var me struct {
			CSRF string `json:"csrf_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&me)
		for _, c := range resp.Cookies() {
			if c.Name == auth.SessionCookie {
				cookie = c.Name + "=" + c.Value
			}
		}
		if resp.StatusCode != 200 || cookie == "" || me.CSRF == "" {
			t.Fatalf("login %s: %d", name, resp.StatusCode)
		}
		return cookie, me.CSRF
	}
	vic, _ := login("vic")
	tokVic := ""
	{
		// The viewer's pages: project a only, no content.
		code, body := h.do("GET", "/api/v1/spans?from=24h", "", map[string]string{"Cookie": vic}, nil)
		if code != 200 || !strings.Contains(body, traceA) || strings.Contains(body, "alpha-content") {
			t.Errorf("viewer: %d %s", code, body)
		}
		if code, _ := h.do("GET", "/api/v1/spans?project=b", "", map[string]string{"Cookie": vic}, nil); code != 403 {
			t.Errorf("viewer reads b: %d", code)
		}
		// A token for scripts acts as the user.
		code, body = h.do("POST", "/api/v1/tokens", "", map[string]string{"Cookie": vic}, []byte(`{"name":"script"}`))
		if code != 403 {
			t.Errorf("token without CSRF header: %d %s", code, body)
		}
	}
	edCookie, edCSRF := login("ed")
	code, body := h.do("POST", "/api/v1/tokens", "", map[string]string{"Cookie": edCookie, auth.CSRFHeader: edCSRF}, []byte(`{"name":"script"}`))
	h.moveLastToShown()
	var tok struct {
		Key string `json:"key"`
	}
	if code != 201 || json.Unmarshal([]byte(body), &tok) != nil || !strings.HasPrefix(tok.Key, auth.UserTokenPrefix) {
		t.Fatalf("user token: %d %s", code, body)
	}
	tokVic = tok.Key // ed's token, in fact: editor of b with content
	secrets = append(secrets, tokVic)
	if _, p, body := spans(tokVic, "project=b"); len(p.Spans) != 2 || !strings.Contains(body, "beta-content") {
		t.Errorf("user token of an editor of b: %s", body)
	}
	if code, _, _ := spans(tokVic, "project=a"); code != 403 {
		t.Errorf("user token reads a: %d", code)
	}

	// Alerts: rules belong to their project.
	rule := func(project string) map[string]any {
		return map[string]any{"name": "slow " + project, "severity": 2, "signal": "duration_ms", "aggregation": "avg", "operator": ">",
			"threshold": 4000, "window": "5m", "frequency": "1m", "filters": map[string]any{"project": project}}
	}
	var ruleA struct {
		ID string `json:"id"`
	}
	if code := h.json("POST", "/api/v1/alert-rules", canaryAdmin, rule("a"), &ruleA); code != 201 {
		t.Fatalf("admin creates a rule: %d", code)
	}
	if code := h.json("POST", "/api/v1/alert-rules", tokVic, rule("a"), nil); code != 403 {
		t.Errorf("editor of b creates a rule in a: %d", code)
	}
	if code := h.json("POST", "/api/v1/alert-rules", tokVic, rule("b"), nil); code != 201 {
		t.Errorf("editor of b creates a rule in b: %d", code)
	}
	if code := h.json("POST", "/api/v1/alert-rules", readB, rule("b"), nil); code != 403 {
		t.Errorf("read key creates a rule: %d", code)
	}
	for _, p := range []string{"/api/v1/alert-rules/" + ruleA.ID, "/api/v1/alert-rules/" + ruleA.ID + "/preview"} {
		if code, _ := h.do("GET", p, readB, nil, nil); code != 403 {
			t.Errorf("read key of b, GET %s: %d", p, code)
		}
	}
	if code, _ := h.do("POST", "/api/v1/alert-rules/"+ruleA.ID+"/evaluate", tokVic, nil, nil); code != 403 {
		t.Errorf("editor of b evaluates a's rule: %d", code)
	}
	if code, _ := h.do("DELETE", "/api/v1/alert-rules/"+ruleA.ID, tokVic, nil, nil); code != 403 {
		t.Errorf("editor of b deletes a's rule: %d", code)
	}
	if code, body := h.do("GET", "/api/v1/alert-rules", readB, nil, nil); code != 200 || strings.Contains(body, "slow a") || !strings.Contains(body, "slow b") {
		t.Errorf("read key of b lists rules: %d %s", code, body)
	}
	if code, body := h.do("GET", "/api/v1/alert-rules", readA, nil, nil); code != 200 || !strings.Contains(body, "slow a") || strings.Contains(body, "slow b") {
		t.Errorf("read key of a lists rules: %d %s", code, body)
	}
	for _, p := range []string{"/api/v1/action-groups", "/api/v1/notifications"} {
		if code, _ := h.do("GET", p, readA, nil, nil); code != 403 {
			t.Errorf("read key, GET %s: %d", p, code)
		}
	}

	// Privacy at ingest: red is redacted, meta keeps no content.
	adminTrace := func(project string, id byte) string {
		_, body := h.do("GET", fmt.Sprintf("/api/v1/traces/%02x0102030405060708090a0b0c0d0e%02x?project=%s", id, id, project), canaryAdmin, nil, nil)
		return body
	}
	if body := adminTrace("red", 0xc1); !strings.Contains(body, "[EMAIL]") || strings.Contains(body, canaryEmail) ||
		strings.Contains(body, canaryCard) || strings.Contains(body, "ORD-123456") {
		t.Errorf("red trace: %s", body)
	}
	if body := adminTrace("meta", 0xd1); !strings.Contains(body, "chat gpt-4o") || strings.Contains(body, "meta-content") {
		t.Errorf("meta trace: %s", body)
	}

	// Retention: short keeps spans 3h, content 1h.
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case a.trust.ret.kick <- struct{}{}:
		default:
		}
		fresh, stale, expired := adminTrace("short", 0xe1), adminTrace("short", 0xe2), adminTrace("short", 0xe3)
		ok := strings.Contains(fresh, "fresh-content") && strings.Contains(stale, "chat gpt-4o") && !strings.Contains(stale, "stale-content") &&
			!strings.Contains(expired, "expired-content") && !strings.Contains(expired, "chat gpt-4o")
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention not applied:\nfresh %s\nstale %s\nexpired %s", fresh, stale, expired)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Disk usage: in /metrics and for the UI.
	if code, _ := h.do("GET", "/metrics", "", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("/metrics without a credential: %d", code)
	}
	if code, _ := h.do("GET", "/metrics", readB, nil, nil); code != http.StatusForbidden {
		t.Errorf("/metrics with a read key: %d", code)
	}
	_, metrics := h.do("GET", "/metrics", canaryAdmin, nil, nil)
	if !strings.Contains(metrics, "genscope_store_disk_bytes ") {
		t.Error("no genscope_store_disk_bytes in /metrics")
	}
	if code, body := h.do("GET", "/api/v1/projects", canaryAdmin, nil, nil); code != 200 || !strings.Contains(body, `"disk_bytes"`) {
		t.Errorf("projects: %d %s", code, body)
	}
	if code, body := h.do("GET", "/api/v1/projects", readB, nil, nil); code != 200 || strings.Contains(body, `"a"`) {
		t.Errorf("projects of a read key of b: %d %s", code, body)
	}
	if code, body := h.do("GET", "/api/v1/projects/a/keys", canaryAdmin, nil, nil); code != 200 || strings.Contains(body, ingestA) {
		t.Errorf("keys listing: %d", code)
	}

	// The canary: no secret in logs, metrics, bodies or stored state.
	docs := a.Store().(store.DocStore)
	var stored []string
	for _, kind := range []string{"auth.project", "auth.key", "auth.user", "auth.session"} {
		_ = docs.ListDocs(context.Background(), kind, func(id string, doc []byte) error {
			stored = append(stored, id+" "+string(doc))
			return nil
		})
	}
	fa := storeFilter(48 * time.Hour)
	fa.Project = "a"
	all, _ := a.Store().Spans(context.Background(), store.SpansQuery{Filter: fa, All: true, Limit: 1000})
	allJSON, _ := json.Marshal(all)
	stop()
	places := map[string]string{"log": logs.String(), "metrics": metrics, "stored state": strings.Join(stored, "\n"),
		"bodies": strings.Join(h.bodies, "\n"), "spans": string(allJSON)}
	for where, text := range places {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("a secret (%.8s…) appears in the %s", s, where)
			}
		}
	}
	if !strings.Contains(strings.Join(h.shown, "\n"), ingestA) {
		t.Error("the canary check is blind: the key shown at creation is not among the bodies")
	}
	for where, text := range places {
		if where == "bodies" {
			continue
		}
		if strings.Contains(text, canaryEmail) || strings.Contains(text, canaryCard) {
			t.Errorf("a redaction target appears in the %s", where)
		}
	}
}

// waitAtLeast polls the store until the project holds at least n calls.
func waitAtLeast(t *testing.T, st store.Store, project string, n int64) {
	t.Helper()
	f := storeFilter(48 * time.Hour)
	f.Project = project
	deadline := time.Now().Add(15 * time.Second)
	for {
		ov, err := st.Overview(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if ov.Calls >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("project %s: %d calls stored, want %d", project, ov.Calls, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
