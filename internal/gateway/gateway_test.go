package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/timeutil"
)

// sink is a Recorder that keeps what it is given.
type sink struct {
	mu      sync.Mutex
	spans   []genai.Span
	batches [][]genai.Span
	refuse  bool
	got     chan struct{}
}

func newSink() *sink { return &sink{got: make(chan struct{}, 1024)} }

func (s *sink) Enqueue(b *store.Batch) bool {
	if s.refuse {
		return false
	}
	s.mu.Lock()
	s.spans = append(s.spans, b.Spans...)
	s.batches = append(s.batches, b.Spans)
	s.mu.Unlock()
	s.got <- struct{}{}
	return true
}

// wait returns the next recorded span.
func (s *sink) wait(t *testing.T) genai.Span {
	t.Helper()
	select {
	case <-s.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no span recorded")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spans[len(s.spans)-1]
}

type env struct {
	gw   *Gateway
	srv  *httptest.Server
	sink *sink
	reg  *prometheus.Registry
	logs *bytes.Buffer
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	e := &env{sink: newSink(), reg: prometheus.NewRegistry(), logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	gw, err := New(e.sink, opts, log, e.reg)
	if err != nil {
		t.Fatal(err)
	}
	e.gw = gw
	mux := http.NewServeMux()
	gw.Register(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		e.srv.Close()
		_ = gw.Close(context.Background())
	})
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func post(t *testing.T, url string, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// A chat completion as OpenAI returns it, with fields genscope does not
// know about, which must reach the client unchanged.
const upstreamAnswer = `{
  "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "gpt-4o-2024-08-06",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
  "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29, "prompt_tokens_details": {"cached_tokens": 3, "audio_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 2, "audio_tokens": 0}},
  "service_tier": "default", "x_unknown": {"nested": [1, 2, {"a": "\u00e9"}]}
}`

func TestPassThroughNonStreaming(t *testing.T) {
	var gotBody []byte
	var gotHeader http.Header
	var gotPath string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		gotHeader, gotPath = r.Header.Clone(), r.URL.String()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-request-id", "req-123")
		_, _ = io.WriteString(w, upstreamAnswer)
	}))
	defer up.Close()
	e := newEnv(t, Options{Deployments: []Deployment{{Name: "gpt-4o", Type: DeploymentOpenAICompatible, BaseURL: up.URL + "/v1", APIKey: "sk-upstream-canary-0000000000000000"}}})

	// Tool calls, images, JSON mode and unknown fields: all must survive.
	body := `{ "model":"gpt-4o", "messages":[{"role":"system","content":"You are an AI assistant that acts as a travel guide."},{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}],
	  "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
	  "response_format":{"type":"json_object"}, "temperature":0.2, "user":"u-42", "x_future_field":{"keep":true} }`
	resp, got := post(t, e.srv.URL+"/v1/chat/completions", body, "Authorization", "Bearer sk-client-should-not-travel", "x-session-id", "sess-1")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	if string(got) != upstreamAnswer {
		t.Errorf("answer changed:\n%s", got)
	}
	if string(gotBody) != body {
		t.Errorf("request changed:\n%s", gotBody)
	}
	if gotPath != "/v1/chat/completions" {
		t.Errorf("upstream path %q", gotPath)
	}
	if a := gotHeader.Get("Authorization"); a != "Bearer sk-upstream-canary-0000000000000000" {
		t.Errorf("upstream Authorization %q", a)
	}
	if resp.Header.Get("x-request-id") != "req-123" || resp.Header.Get("x-genscope-trace-id") == "" {
		t.Errorf("headers: %v", resp.Header)
	}

	sp := e.sink.wait(t)
	want := genai.Usage{InputTokens: 19, OutputTokens: 10, CachedInputTokens: 3, ReasoningTokens: 2}
	if sp.Usage != want || sp.ResponseModel != "gpt-4o-2024-08-06" || sp.RequestModel != "gpt-4o" ||
		sp.ResponseID != "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT" || sp.Status != genai.StatusOK ||
		sp.Source != genai.SourceGateway || sp.Operation != "chat" || sp.HTTPStatus != 200 ||
		sp.SessionID != "sess-1" || sp.UserID != "u-42" || strings.Join(sp.FinishReasons, ",") != "stop" {
		t.Errorf("span: %+v", sp)
	}
	if sp.Params.Temperature == nil || *sp.Params.Temperature != 0.2 || sp.DurationNano <= 0 {
		t.Errorf("params/duration: %+v", sp)
	}
	if len(sp.SystemInstructions) != 1 || sp.SystemInstructions[0].Content != "You are an AI assistant that acts as a travel guide." {
		t.Errorf("system: %+v", sp.SystemInstructions)
	}
	// The system message is recorded once: as the system instructions,
	// not again at the head of the input.
	if len(sp.InputMessages) != 1 || sp.InputMessages[0].Role != "user" || sp.InputMessages[0].Parts[0].Content != "What is this?" || sp.InputMessages[0].Parts[1].Content != "[inline image/png]" {
		t.Errorf("input: %+v", sp.InputMessages)
	}
	if _, text := store.OwnContent(&sp); !strings.HasSuffix(text, "\x00What is this?") {
		t.Errorf("input preview of the record: %q", text)
	}
	if len(sp.OutputMessages) != 1 || sp.OutputMessages[0].Parts[0].Content != "Hello! How can I assist you today?" {
		t.Errorf("output: %+v", sp.OutputMessages)
	}
}

func TestModelRewriteAndAzureClient(t *testing.T) {
	var gotBody []byte
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, upstreamAnswer)
	}))
	defer up.Close()
	e := newEnv(t, Options{Deployments: []Deployment{{Name: "chat", Type: DeploymentOpenAICompatible, Model: "llama3.1:8b", BaseURL: up.URL + "/v1"}}})
	post(t, e.srv.URL+"/v1/chat/completions", `{"model":"chat","messages":[{"role":"user","content":"hi"}]}`)
	if string(gotBody) != `{"model":"llama3.1:8b","messages":[{"role":"user","content":"hi"}]}` {
		t.Errorf("model not rewritten: %s", gotBody)
	}
	// An Azure OpenAI client sends no model: the upstream gets one.
	resp, _ := post(t, e.srv.URL+"/openai/deployments/chat/chat/completions?api-version=2024-10-21", `{"messages":[{"role":"user","content":"hi"}]}`, "api-key", "client-key")
	if resp.StatusCode != 200 || string(gotBody) != `{"model":"llama3.1:8b","messages":[{"role":"user","content":"hi"}]}` {
		t.Errorf("status %d, body %s", resp.StatusCode, gotBody)
	}
}

func TestAzureUpstream(t *testing.T) {
	var gotURL, gotKey, gotAuth string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotURL, gotKey, gotAuth = r.URL.String(), r.Header.Get("api-key"), r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, upstreamAnswer)
	}))
	defer up.Close()
	e := newEnv(t, Options{Deployments: []Deployment{{Name: "gpt-4o", Type: DeploymentAzureOpenAI, BaseURL: up.URL, AzureDeployment: "prod-gpt4o", APIKey: "azure-secret-key-canary"}}})
	resp, body := post(t, e.srv.URL+"/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01", `{"messages":[{"role":"user","content":"hi"}]}`, "api-key", "client-key")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if gotURL != "/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-06-01" || gotKey != "azure-secret-key-canary" || gotAuth != "" {
		t.Errorf("upstream got %s key=%q auth=%q", gotURL, gotKey, gotAuth)
	}
	sp := e.sink.wait(t)
	if sp.Provider != "azure.ai.openai" || sp.RequestModel != "gpt-4o" {
		t.Errorf("span %+v", sp)
	}
	// The OpenAI-style path reaches the same deployment by model name,
	// with the configured api-version.
	post(t, e.srv.URL+"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	if gotURL != "/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21" {
		t.Errorf("upstream got %s", gotURL)
	}
	// Unknown deployment: Azure's error shape.
	resp, body = post(t, e.srv.URL+"/openai/deployments/nope/chat/completions?api-version=2024-06-01", `{"messages":[]}`)
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"code":"DeploymentNotFound"`) {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	resp, body = post(t, e.srv.URL+"/v1/chat/completions", `{"model":"nope","messages":[]}`)
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"code":"model_not_found"`) {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
}

// sseUpstream streams the chunks, flushing after each, include_usage style.
func chunks(withUsage bool) []string {
	u := ""
	if withUsage {
		u = `,"usage":null`
	}
	out := []string{
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]` + u + `}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]` + u + `}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"lo!"},"finish_reason":null}]` + u + `}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]` + u + `}`,
	}
	if withUsage {
		out = append(out, `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":2,"total_tokens":10}}`)
	}
	return out
}

func sseBody(cs []string) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("data: " + c + "\n\n")
	}
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

// streamingUpstream answers like OpenAI: usage only when asked for. Each
// write is one byte when split is set, so events cross TCP reads.
func streamingUpstream(t *testing.T, split bool, gotBody *[]byte) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if gotBody != nil {
			*gotBody = b
		}
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		body := sseBody(chunks(bytes.Contains(b, []byte(`"include_usage":true`))))
		rc := http.NewResponseController(w)
		if !split {
			_, _ = io.WriteString(w, body)
			return
		}
		for i := 0; i < len(body); i++ {
			_, _ = w.Write([]byte{body[i]})
			_ = rc.Flush()
		}
	}))
}

func TestStreamingUsageStripped(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprintf("split=%v", split), func(t *testing.T) {
			var upBody []byte
			up := streamingUpstream(t, split, &upBody)
			defer up.Close()
			e := newEnv(t, Options{Deployments: []Deployment{{Name: "gpt-4o", Type: DeploymentOpenAI, BaseURL: up.URL + "/v1"}}})

			// The client did not ask for usage: it gets what OpenAI would
			// have sent it, byte for byte.
			resp, got := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != 200 || string(got) != sseBody(chunks(false)) {
				t.Errorf("client got:\n%s", got)
			}
			if string(upBody) != `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}` {
				t.Errorf("upstream got %s", upBody)
			}
			sp := e.sink.wait(t)
			if sp.Usage.InputTokens != 8 || sp.Usage.OutputTokens != 2 || sp.TTFTNano <= 0 || sp.TTFTNano > sp.DurationNano ||
				sp.OutputMessages[0].Parts[0].Content != "Hello!" || sp.FinishReasons[0] != "stop" || *sp.Params.Stream != true {
				t.Errorf("span %+v", sp)
			}

			// The client asked: everything passes unchanged.
			body := `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
			_, got = post(t, e.srv.URL+"/v1/chat/completions", body)
			if string(got) != sseBody(chunks(true)) || string(upBody) != body {
				t.Errorf("client got:\n%s\nupstream got %s", got, upBody)
			}
			e.sink.wait(t)
		})
	}
}

func TestStreamWithoutUsageCountsTokens(t *testing.T) {
	// An OpenAI-compatible server that ignores include_usage.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, sseBody(chunks(false)))
	}))
	defer up.Close()
	e := newEnv(t, Options{Deployments: []Deployment{{Name: "llama", Type: DeploymentOpenAICompatible, BaseURL: up.URL}}})
	post(t, e.srv.URL+"/v1/chat/completions", `{"model":"llama","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	sp := e.sink.wait(t)
	if sp.Usage.InputTokens == 0 || sp.Usage.OutputTokens != 2 || sp.Attributes["genscope.usage.estimated"] != true {
		t.Errorf("usage %+v attrs %v", sp.Usage, sp.Attributes)
	}
}

func TestUpstreamDiesMidStream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: "+chunks(false)[1]+"\n\n")
		_ = http.NewResponseController(w).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close() // dies without finishing the chunked body
		}
	}))
	defer up.Close()
	e := newEnv(t, Options{Deployments: []Deployment{{Name: "gpt-4o", Type: DeploymentOpenAI, BaseURL: up.URL}}})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","stream":true,"messages":[]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("the client saw a clean end of a broken stream: %q", got)
	}
	if !strings.Contains(string(got), "Hel") {
		t.Errorf("the chunk before the break was lost: %q", got)
	}
	sp := e.sink.wait(t)
	if sp.Status != genai.StatusError || sp.ErrorType != "upstream_interrupted" {
		t.Errorf("span %s %s %q", sp.Status, sp.ErrorType, sp.StatusMessage)
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	cancelled := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := 0; ; i++ {
			if _, err := io.WriteString(w, "data: "+chunks(false)[1]+"\n\n"); err != nil {
				break
			}
			_ = rc.Flush()
			select {
			case <-r.Context().Done():
				close(cancelled)
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}))
	defer up.Close()
	e := newEnv(t, Options{Deployments: []Deployment{{Name: "gpt-4o", Type: DeploymentOpenAI, BaseURL: up.URL}}})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","stream":true,"messages":[]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
	sp := e.sink.wait(t)
	if sp.ErrorType != "client_disconnected" || sp.HTTPStatus != 499 {
		t.Errorf("span %s %d", sp.ErrorType, sp.HTTPStatus)
	}
}

func TestUpstreamErrors(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Request-Id") {
		case "429":
			w.Header().Set("Retry-After", "6")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(429)
			_, _ = io.WriteString(w, `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded token rate limit."}}`)
		case "400":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`)
		case "500":
			w.WriteHeader(500)
			_, _ = io.WriteString(w, "boom")
		case "slow":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		}
	}))
	defer up.Close()
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + dead.Addr().String()
	dead.Close()
	e := newEnv(t, Options{Deployments: []Deployment{
		{Name: "gpt-4o", Type: DeploymentOpenAI, BaseURL: up.URL, APIKey: "sk-canary-upstream-key-123456789", ResponseHeaderTimeout: timeutil.Duration(200 * time.Millisecond)},
		{Name: "dead", Type: DeploymentOpenAI, BaseURL: deadURL, APIKey: "sk-canary-upstream-key-123456789"},
	}})
	for _, c := range []struct {
		id, model    string
		status       int
		errType      string
		retryAfter   string
		bodyContains string
	}{
		{"429", "gpt-4o", 429, "429", "6", "exceeded token rate limit"},
		{"400", "gpt-4o", 400, "context_length_exceeded", "", "context_length_exceeded"},
		{"500", "gpt-4o", 500, "500", "", "boom"},
		{"slow", "gpt-4o", 504, "upstream_timeout", "", "did not answer in time"},
		{"x", "dead", 502, "upstream_unreachable", "", "unreachable"},
	} {
		resp, body := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"`+c.model+`","messages":[{"role":"user","content":"hi"}]}`, "X-Request-Id", c.id)
		if resp.StatusCode != c.status || resp.Header.Get("Retry-After") != c.retryAfter || !strings.Contains(string(body), c.bodyContains) {
			t.Errorf("%s: %d retry-after %q %s", c.id, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if strings.Contains(string(body), "canary") {
			t.Errorf("%s: the key is in the error body: %s", c.id, body)
		}
		sp := e.sink.wait(t)
		if sp.Status != genai.StatusError || sp.ErrorType != c.errType || sp.HTTPStatus != c.status {
			t.Errorf("%s: span %s %q %d", c.id, sp.Status, sp.ErrorType, sp.HTTPStatus)
		}
	}
}

// TestSecretsNeverLeak sends a key through every path and looks for it
// everywhere genscope writes: logs, records, error bodies, /metrics.
func TestSecretsNeverLeak(t *testing.T) {
	const configured = "sk-CANARY-configured-4f8a2b9c7d1e"
	const client = "sk-CANARY-client-9e8d7c6b5a4f"
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		_, _ = io.WriteString(w, `{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","code":"invalid_api_key"}}`)
	}))
	defer up.Close()
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + dead.Addr().String()
	dead.Close()
	e := newEnv(t, Options{Deployments: []Deployment{
		{Name: "a", Type: DeploymentOpenAI, BaseURL: up.URL, APIKey: configured},
		{Name: "b", Type: DeploymentOpenAICompatible, BaseURL: up.URL},
		{Name: "c", Type: DeploymentAzureOpenAI, BaseURL: deadURL, APIKey: configured},
		{Name: "d", Type: DeploymentOpenAI, BaseURL: deadURL},
	}})
	var everything bytes.Buffer
	for _, name := range []string{"a", "b", "c", "d", "unknown"} {
		for _, hdr := range [][]string{{"Authorization", "Bearer " + client}, {"api-key", client}} {
			_, body := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"`+name+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`, hdr...)
			everything.Write(body)
			_, body = post(t, e.srv.URL+"/openai/deployments/"+name+"/chat/completions?api-version=2024-10-21", `{"messages":[]}`, hdr...)
			everything.Write(body)
		}
	}
	_ = e.gw.Close(context.Background())
	e.sink.mu.Lock()
	js, _ := json.Marshal(e.sink.spans)
	e.sink.mu.Unlock()
	everything.Write(js)
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	everything.Write(m)
	everything.Write(e.logs.Bytes())
	if bytes.Contains(everything.Bytes(), []byte("CANARY")) {
		t.Fatalf("a key leaked:\n%s", everything.String())
	}
	if len(e.sink.spans) < 12 {
		t.Errorf("only %d calls recorded", len(e.sink.spans))
	}
}

// TestMetadataUpstreamRefused: a deployment pointing at a cloud metadata
// or link-local address (also through NAT64 or 6to4) is refused when the
// gateway is built; loopback and private upstreams (Ollama) are not.
func TestMetadataUpstreamRefused(t *testing.T) {
	for _, u := range []string{"http://169.254.169.254/v1", "http://metadata.google.internal/v1", "http://[64:ff9b::a9fe:a9fe]/v1",
		"http://[2002:a9fe:a9fe::1]/v1", "http://[::ffff:169.254.169.254]/v1", "http://168.63.129.16/v1"} {
		_, err := New(newSink(), Options{Deployments: []Deployment{
			{Name: "x", Type: DeploymentOpenAICompatible, BaseURL: u, APIKey: "sk-test"}}}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
		if err == nil || !strings.Contains(err.Error(), "forbidden target") {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:11434/v1", "http://10.0.0.7:8000/v1", "http://localhost:1234/v1"} {
		gw, err := New(newSink(), Options{Deployments: []Deployment{
			{Name: "x", Type: DeploymentOpenAICompatible, BaseURL: u}}}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		_ = gw.Close(context.Background())
	}
}

func TestTraceparentMakesAChild(t *testing.T) {
	var upTP string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upTP = r.Header.Get("traceparent")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, upstreamAnswer)
	}))
	defer up.Close()
	e := newEnv(t, Options{Deployments: []Deployment{{Name: "gpt-4o", Type: DeploymentOpenAI, BaseURL: up.URL}}})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	post(t, e.srv.URL+"/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`, "traceparent", tp)
	sp := e.sink.wait(t)
	if sp.TraceID.String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sp.ParentSpanID.String() != "00f067aa0ba902b7" {
		t.Errorf("trace %s parent %s", sp.TraceID, sp.ParentSpanID)
	}
	if upTP != "00-4bf92f3577b34da6a3ce929d0e0e4736-"+sp.SpanID.String()+"-01" {
		t.Errorf("upstream traceparent %q, span %s", upTP, sp.SpanID)
	}
}

func TestRecorderFullNeverFailsTheCall(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, upstreamAnswer)
	}))
	defer up.Close()
	e := newEnv(t, Options{Deployments: []Deployment{{Name: "gpt-4o", Type: DeploymentOpenAI, BaseURL: up.URL}}})
	e.sink.refuse = true
	for range 5 {
		resp, body := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
		if resp.StatusCode != 200 || string(body) != upstreamAnswer {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	_ = e.gw.Close(context.Background())
	resp, _ := http.Get(e.srv.URL + "/metrics")
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), "genscope_gateway_records_refused_total 5") {
		t.Errorf("refusals not counted:\n%s", m)
	}
}

func TestCaptureRedactedAndMetadata(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, upstreamAnswer)
	}))
	defer up.Close()
	dep := []Deployment{{Name: "gpt-4o", Type: DeploymentOpenAI, BaseURL: up.URL}}
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"I am jane@example.com, card 4111 1111 1111 1111"}]}`

	e := newEnv(t, Options{Deployments: dep, Capture: privacy.Redacted})
	post(t, e.srv.URL+"/v1/chat/completions", body)
	sp := e.sink.wait(t)
	if got := sp.InputMessages[0].Parts[0].Content; got != "I am [EMAIL], card [CARD]" {
		t.Errorf("redacted input %q", got)
	}

	e = newEnv(t, Options{Deployments: dep, Capture: privacy.Metadata})
	post(t, e.srv.URL+"/v1/chat/completions", body)
	sp = e.sink.wait(t)
	if sp.InputMessages != nil || sp.OutputMessages != nil || sp.Usage.InputTokens != 19 {
		t.Errorf("metadata capture kept content: %+v", sp)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, Options{MaxBodyBytes: 4096})
	for _, c := range []struct {
		body   string
		status int
	}{
		{`not json`, 400},
		{`[1,2]`, 400},
		{`{"model":"gpt-4o","messages":[`, 400},
		{`{"messages":[]}`, 400},
		{`{"model":"gpt-4o","messages":"` + strings.Repeat("x", 5000) + `"}`, 413},
	} {
		resp, body := post(t, e.srv.URL+"/v1/chat/completions", c.body)
		if resp.StatusCode != c.status || !bytes.Contains(body, []byte(`"error"`)) {
			t.Errorf("%.30s: %d %s", c.body, resp.StatusCode, body)
		}
	}
}

func TestModelsList(t *testing.T) {
	e := newEnv(t, Options{})
	resp, err := http.Get(e.srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data []struct{ ID string } `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if len(out.Data) != 3 || out.Data[0].ID != "gpt-4o" {
		t.Errorf("%+v", out)
	}
}

// TestLongCallOutlastsServerWriteTimeout: the deployment's timeout, not
// the HTTP server's write timeout, bounds a model call.
func TestLongCallOutlastsServerWriteTimeout(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(700 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, upstreamAnswer)
	}))
	defer up.Close()
	gw, err := New(newSink(), Options{Deployments: []Deployment{{Name: "gpt-4o", Type: DeploymentOpenAI, BaseURL: up.URL}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close(context.Background())
	mux := http.NewServeMux()
	gw.Register(mux)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.WriteTimeout = 300 * time.Millisecond
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	defer srv.Close()
	resp, body := post(t, srv.URL+"/v1/chat/completions", `{"model":"gpt-4o","messages":[]}`)
	if resp.StatusCode != 200 || string(body) != upstreamAnswer {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestHugePromptIsTruncatedInTheRecord(t *testing.T) {
	e := newEnv(t, Options{Deployments: []Deployment{{Name: "gpt-4o", Type: DeploymentSimulated, Simulated: Simulated{NoLatency: true}}}})
	huge := strings.Repeat("mountains ", 200000)
	resp, body := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"`+huge+`"}]}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "context_length_exceeded") {
		t.Fatalf("%d %.200s", resp.StatusCode, body)
	}
	sp := e.sink.wait(t)
	if !sp.ContentTruncated || len(sp.InputMessages[0].Parts[0].Content) != maxPartBytes || sp.ErrorType != "context_length_exceeded" {
		t.Errorf("truncated %v, %d bytes, %s", sp.ContentTruncated, len(sp.InputMessages[0].Parts[0].Content), sp.ErrorType)
	}
}

// TestUpstreamEchoIsMasked: a real loopback upstream that echoes the
// request — its headers (with the key) and body — in a 401, a 500 and a
// 200 answer, in headers, in a body split across reads so the key
// straddles two writes, and in a stream. Neither the configured key nor
// a client's passed-through key reaches the client, the record or the
// logs.
func TestUpstreamEchoIsMasked(t *testing.T) {
	const configured = "sk-ECHOKEY-configured-0a1b2c3d4e5f"
	const client = "sk-ECHOKEY-client-6a7b8c9d0e1f2a3b"
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var echo strings.Builder
		for k, v := range r.Header {
			fmt.Fprintf(&echo, "%s: %s; ", k, strings.Join(v, ","))
		}
		fmt.Fprintf(&echo, "url %s?key=%s; body %s", r.URL.Path, url.QueryEscape(r.Header.Get("Authorization")+r.Header.Get("api-key")), body)
		msg, _ := json.Marshal(echo.String())
		w.Header().Set("X-Echo-Authorization", r.Header.Get("Authorization")+r.Header.Get("api-key"))
		w.Header().Set("Content-Type", "application/json")
		status := 200
		switch r.Header.Get("X-Request-Id") {
		case "401":
			status = 401
		case "500":
			status = 500
		case "stream":
			w.Header().Set("Content-Type", "text/event-stream")
			key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") + r.Header.Get("api-key")
			half := len(key) / 2
			for _, d := range []string{"your key is " + key, key[:half], key[half:]} {
				b, _ := json.Marshal(d)
				fmt.Fprintf(w, "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%s}}]}\n\n", b)
				w.(http.Flusher).Flush()
			}
			fmt.Fprint(w, "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\ndata: [DONE]\n\n")
			return
		}
		out := []byte(`{"id":"c1","error":{"message":` + string(msg) + `,"type":"invalid_request_error","code":"invalid_api_key"},` +
			`"choices":[{"index":0,"message":{"role":"assistant","content":` + string(msg) + `},"finish_reason":"stop"}]}`)
		if status == 200 {
			out = []byte(`{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":` + string(msg) + `},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(status)
		// Split inside the first key so it straddles two reads.
		cut := bytes.Index(out, []byte("ECHOKEY")) + 3
		_, _ = w.Write(out[:cut])
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Write(out[cut:])
	}))
	defer up.Close()
	e := newEnv(t, Options{Deployments: []Deployment{
		{Name: "keyed", Type: DeploymentOpenAI, BaseURL: up.URL, APIKey: configured},
		{Name: "azure", Type: DeploymentAzureOpenAI, BaseURL: up.URL, APIKey: configured, AzureDeployment: "gpt-4o", APIVersion: "2024-10-21"},
		{Name: "passthrough", Type: DeploymentOpenAICompatible, BaseURL: up.URL},
	}})
	var everything bytes.Buffer
	calls := 0
	for _, dep := range []string{"keyed", "azure", "passthrough"} {
		for _, id := range []string{"401", "500", "200", "stream"} {
			for _, hdr := range []string{"Authorization", "api-key"} {
				val := client
				if hdr == "Authorization" {
					val = "Bearer " + client
				}
				stream := ""
				if id == "stream" {
					stream = `"stream":true,`
				}
				resp, body := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"`+dep+`",`+stream+`"messages":[{"role":"user","content":"hi"}]}`, hdr, val, "X-Request-Id", id)
				calls++
				want := map[string]int{"401": 401, "500": 500, "200": 200, "stream": 200}[id]
				if resp.StatusCode != want || id != "stream" && !bytes.Contains(body, []byte("Traceparent")) {
					t.Errorf("%s %s %s: %d %s", dep, id, hdr, resp.StatusCode, body)
				}
				if id != "stream" && !bytes.Contains(body, []byte("[redacted]")) {
					t.Errorf("%s %s %s: the echoed key is not marked: %s", dep, id, hdr, body)
				}
				if cl := resp.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(body)) {
					t.Errorf("%s %s: Content-Length %s for %d bytes", dep, id, cl, len(body))
				}
				everything.Write(body)
				for k, v := range resp.Header {
					fmt.Fprintf(&everything, "%s: %s\n", k, v)
				}
				_ = e.sink.wait(t)
			}
		}
	}
	_ = e.gw.Close(context.Background())
	e.sink.mu.Lock()
	js, _ := json.Marshal(e.sink.spans)
	n := len(e.sink.spans)
	e.sink.mu.Unlock()
	everything.Write(js)
	everything.Write(e.logs.Bytes())
	for _, key := range []string{configured, client, url.QueryEscape("Bearer " + client)} {
		if i := bytes.Index(everything.Bytes(), []byte(key)); i >= 0 {
			lo := max(0, i-200)
			t.Errorf("key %s leaked: …%s…", key, everything.Bytes()[lo:min(everything.Len(), i+100)])
		}
	}
	if n != calls {
		t.Errorf("%d of %d calls recorded", n, calls)
	}
	if !bytes.Contains(js, []byte(`"status_message"`)) && !bytes.Contains(js, []byte(`[redacted]`)) {
		t.Errorf("the error message was not recorded (masked): %s", js)
	}
}
