package gateway

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/timeutil"
)

// waitBatch returns the next batch recorded: a routed call's span first,
// then its attempts.
func (s *sink) waitBatch(t *testing.T) []genai.Span {
	t.Helper()
	select {
	case <-s.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no call recorded")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.batches[len(s.batches)-1]
}

// upstream is a real loopback server counting its calls and answering
// with fn (which reads the body if it wants it); the traceparents it got
// are kept.
type upstream struct {
	*httptest.Server
	calls  atomic.Int32
	traces chan string
}

func newUpstream(t *testing.T, fn func(w http.ResponseWriter, r *http.Request, n int)) *upstream {
	u := &upstream{traces: make(chan string, 64)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // read whole, so a client that goes away cancels r's context
		r.Body = io.NopCloser(bytes.NewReader(b))
		n := int(u.calls.Add(1))
		select {
		case u.traces <- r.Header.Get("traceparent"):
		default:
		}
		fn(w, r, n)
	}))
	t.Cleanup(u.Close)
	return u
}

func answerOK(w http.ResponseWriter, _ *http.Request, _ int) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, upstreamAnswer)
}

func answerStatus(status int, retryAfter string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":{"message":"refused with `+http.StatusText(status)+`","type":"x","code":"`+http.StatusText(status)+`"}}`)
	}
}

// deadURL is a loopback address that refuses connections.
func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func dep(name, url string) Deployment {
	return Deployment{Name: name, Type: DeploymentOpenAICompatible, BaseURL: url, APIKey: "sk-route-canary-key-0123456789"}
}

func targets(names ...string) []Target {
	var out []Target
	for _, n := range names {
		out = append(out, Target{Deployment: n})
	}
	return out
}

const routedBody = `{"model":"ha","messages":[{"role":"user","content":"hi"}]}`

// checkRouted checks a routed call's record: one call (the span with
// the GenAI operation) with the answering deployment, and one child span
// per attempt that is not a call, each with its deployment and error.
func checkRouted(t *testing.T, batch []genai.Span, answered string, fallback, retried bool, attempts ...string) {
	t.Helper()
	call := batch[0]
	if !call.IsCall() || call.Attributes["genscope.gateway.deployment"] != answered || call.RequestModel != "ha" ||
		call.Attributes["genscope.gateway.route"] != "ha" || call.Attributes["genscope.gateway.attempts"] != int64(len(attempts)) ||
		call.Attributes["genscope.gateway.fallback"] != fallback || call.Attributes["genscope.gateway.retried"] != retried {
		t.Errorf("call span: %s %v", call.Name, call.Attributes)
	}
	if len(batch) != 1+len(attempts) {
		t.Fatalf("%d spans recorded, want the call and %d attempts", len(batch), len(attempts))
	}
	for i, want := range attempts {
		a := batch[1+i]
		dep, errType, _ := strings.Cut(want, ":")
		if a.IsGenAI() || a.IsCall() || a.ParentSpanID != call.SpanID || a.TraceID != call.TraceID ||
			a.Attributes["genscope.gateway.deployment"] != dep || a.ErrorType != errType || a.Attributes["genscope.gateway.attempt"] != int64(i+1) {
			t.Errorf("attempt %d: want %s, got %s %s %q %v", i+1, want, a.Name, a.Status, a.ErrorType, a.Attributes)
		}
		if strings.Contains(a.StatusMessage, "canary") {
			t.Errorf("attempt %d: the key is in its message: %s", i+1, a.StatusMessage)
		}
	}
}

func TestRouteFallsBackOnEachFailure(t *testing.T) {
	good := newUpstream(t, answerOK)
	hang := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	for _, c := range []struct {
		name    string
		first   Deployment
		errType string
	}{
		{"refused", dep("a", deadURL(t)), "upstream_unreachable"},
		{"429", dep("a", newUpstream(t, answerStatus(429, "30")).URL), "429"},
		{"500", dep("a", newUpstream(t, answerStatus(500, "")).URL), "500"},
		{"503", dep("a", newUpstream(t, answerStatus(503, "")).URL), "503"},
		{"hang", func() Deployment {
			d := dep("a", hang.URL)
			d.ResponseHeaderTimeout = timeutil.Duration(150 * time.Millisecond)
			return d
		}(), "upstream_timeout"},
		{"401 (this target's key)", dep("a", newUpstream(t, answerStatus(401, "")).URL), "401"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := good.calls.Load()
			e := newEnv(t, Options{
				Deployments: []Deployment{c.first, dep("b", good.URL)},
				Routes:      []Route{{Name: "ha", Strategy: StrategyFallback, Targets: targets("a", "b")}},
			})
			resp, body := post(t, e.srv.URL+"/v1/chat/completions", routedBody)
			if resp.StatusCode != 200 || string(body) != upstreamAnswer {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if good.calls.Load() != before+1 {
				t.Errorf("the fallback was called %d times", good.calls.Load()-before)
			}
			batch := e.sink.waitBatch(t)
			checkRouted(t, batch, "b", true, false, "a:"+c.errType, "b:")
			// The upstream's traceparent names the attempt's span.
			var tp string
			for len(good.traces) > 0 {
				tp = <-good.traces
			}
			if !strings.Contains(tp, batch[2].SpanID.String()) || !strings.Contains(tp, batch[0].TraceID.String()) {
				t.Errorf("upstream traceparent %q, attempt span %s", tp, batch[2].SpanID)
			}
		})
	}
}

func TestRouteNeverFallsBackOnTheRequestsFault(t *testing.T) {
	bad := newUpstream(t, answerStatus(400, ""))
	good := newUpstream(t, answerOK)
	e := newEnv(t, Options{
		Deployments: []Deployment{dep("a", bad.URL), dep("b", good.URL)},
		Routes:      []Route{{Name: "ha", Targets: targets("a", "b"), Retries: 2}},
	})
	resp, body := post(t, e.srv.URL+"/v1/chat/completions", routedBody)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "refused with Bad Request") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if bad.calls.Load() != 1 || good.calls.Load() != 0 {
		t.Errorf("calls: a %d (want 1: no retry), b %d (want 0: no fallback)", bad.calls.Load(), good.calls.Load())
	}
	batch := e.sink.waitBatch(t)
	checkRouted(t, batch, "a", false, false, "a:Bad Request")
	if batch[0].Status != genai.StatusError || batch[0].HTTPStatus != 400 {
		t.Errorf("call %s %d", batch[0].Status, batch[0].HTTPStatus)
	}
}

func TestRouteRetriesHonoringRetryAfter(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.Header().Set("retry-after-ms", "300")
			answerStatus(429, "1")(w, r, n)
			return
		}
		answerOK(w, r, n)
	})
	e := newEnv(t, Options{
		Deployments: []Deployment{dep("a", up.URL)},
		Routes:      []Route{{Name: "ha", Targets: targets("a"), Retries: 2}},
	})
	start := time.Now()
	resp, body := post(t, e.srv.URL+"/v1/chat/completions", routedBody)
	took := time.Since(start)
	if resp.StatusCode != 200 || string(body) != upstreamAnswer {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if took < 300*time.Millisecond || took > 900*time.Millisecond {
		t.Errorf("answered after %v: want the upstream's retry-after-ms (300ms) waited, not Retry-After's 1s", took)
	}
	batch := e.sink.waitBatch(t)
	checkRouted(t, batch, "a", false, true, "a:429", "a:")
	if batch[1].Attributes["genscope.gateway.retry_after_ms"] != int64(300) || batch[1].Attributes["genscope.gateway.next"] != "retry" {
		t.Errorf("first attempt: %v", batch[1].Attributes)
	}
}

// TestRouteGivesUpWithTheLastAnswer: when no target answers, the client
// gets the last upstream's refusal as it came (its Retry-After too), and
// the retries stop at max_retry_time.
func TestRouteGivesUpWithTheLastAnswer(t *testing.T) {
	a := newUpstream(t, answerStatus(500, ""))
	b := newUpstream(t, answerStatus(429, "7"))
	e := newEnv(t, Options{
		Deployments: []Deployment{dep("a", a.URL), dep("b", b.URL)},
		Routes: []Route{{Name: "ha", Targets: targets("a", "b"), Retries: 10, RetryBackoff: timeutil.Duration(40 * time.Millisecond),
			MaxRetryTime: timeutil.Duration(400 * time.Millisecond), CooldownAfter: 100}},
	})
	start := time.Now()
	resp, body := post(t, e.srv.URL+"/v1/chat/completions", routedBody)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("gave up after %v: max_retry_time is 400ms", took)
	}
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" || !strings.Contains(string(body), "Too Many Requests") {
		t.Errorf("%d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// a was retried within the window; b's Retry-After (7s) is past it.
	if a.calls.Load() < 2 || b.calls.Load() != 1 {
		t.Errorf("calls: a %d, b %d", a.calls.Load(), b.calls.Load())
	}
	batch := e.sink.waitBatch(t)
	call := batch[0]
	if call.Status != genai.StatusError || call.HTTPStatus != 429 || call.Attributes["genscope.gateway.fallback"] != true ||
		call.Attributes["genscope.gateway.retried"] != true || len(batch) != 1+int(a.calls.Load()+b.calls.Load()) {
		t.Errorf("call %s %d %v, %d spans", call.Status, call.HTTPStatus, call.Attributes, len(batch))
	}
}

func TestRouteStreamFallsBackOnlyBeforeItsFirstByte(t *testing.T) {
	good := streamingUpstream(t, false, nil)
	defer good.Close()
	emptyStream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		_ = http.NewResponseController(w).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close() // dies before its first byte
		}
	})
	midStream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: "+chunks(false)[1]+"\n\n")
		_ = http.NewResponseController(w).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close() // dies mid-stream
		}
	})
	goodCalls := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int) { good.Config.Handler.ServeHTTP(w, r) })
	e := newEnv(t, Options{
		Deployments: []Deployment{dep("empty", emptyStream.URL), dep("mid", midStream.URL), dep("good", goodCalls.URL)},
		Routes: []Route{
			{Name: "ha", Targets: targets("empty", "good")},
			{Name: "mid-ha", Targets: targets("mid", "good")},
		},
	})
	const stream = `,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	resp, body := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"ha"`+stream)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"content":"lo!"`) || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	checkRouted(t, e.sink.waitBatch(t), "good", true, false, "empty:upstream_interrupted", "good:")

	// After the first byte the stream is the client's: no fallback.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"mid-ha"`+stream))
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r2.Body)
	r2.Body.Close()
	if err == nil || !strings.Contains(string(got), "Hel") || strings.Contains(string(got), "lo!") {
		t.Errorf("want the broken stream as it came: %v %q", err, got)
	}
	if goodCalls.calls.Load() != 1 {
		t.Errorf("the fallback was called after the stream began (%d calls)", goodCalls.calls.Load())
	}
	batch := e.sink.waitBatch(t)
	if batch[0].ErrorType != "upstream_interrupted" || len(batch) != 2 || batch[1].ErrorType != "upstream_interrupted" {
		t.Errorf("mid-stream: %q, %d spans", batch[0].ErrorType, len(batch))
	}
}

func TestRouteCoolsDownAFailingTarget(t *testing.T) {
	bad := newUpstream(t, answerStatus(503, ""))
	good := newUpstream(t, answerOK)
	e := newEnv(t, Options{
		Deployments: []Deployment{dep("a", bad.URL), dep("b", good.URL)},
		Routes:      []Route{{Name: "ha", Targets: targets("a", "b"), CooldownAfter: 2, Cooldown: timeutil.Duration(time.Hour)}},
	})
	for i := range 5 {
		if resp, body := post(t, e.srv.URL+"/v1/chat/completions", routedBody); resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if bad.calls.Load() != 2 || good.calls.Load() != 5 {
		t.Errorf("calls: a %d (want 2, then cooling down), b %d", bad.calls.Load(), good.calls.Load())
	}
	// Every target cooling down: the one whose cool-down ends first is
	// still tried rather than failing outright.
	e2 := newEnv(t, Options{
		Deployments: []Deployment{dep("a", bad.URL)},
		Routes:      []Route{{Name: "ha", Targets: targets("a"), CooldownAfter: 1, Cooldown: timeutil.Duration(time.Hour)}},
	})
	for range 2 {
		if resp, _ := post(t, e2.srv.URL+"/v1/chat/completions", routedBody); resp.StatusCode != 503 {
			t.Errorf("status %d", resp.StatusCode)
		}
	}
	if bad.calls.Load() != 4 {
		t.Errorf("a single cooling target was not tried: %d calls", bad.calls.Load())
	}
}

func TestRouteLoadbalance(t *testing.T) {
	a := newUpstream(t, answerOK)
	b := newUpstream(t, answerOK)
	dead := deadURL(t)
	three, one, zero := 3, 1, 0
	e := newEnv(t, Options{
		Deployments: []Deployment{dep("a", a.URL), dep("b", b.URL), dep("dead", dead)},
		Routes: []Route{
			{Name: "lb", Strategy: StrategyLoadbalance, Targets: []Target{{Deployment: "a", Weight: &three}, {Deployment: "b", Weight: &one}}},
			{Name: "lb-dead", Strategy: StrategyLoadbalance, Targets: []Target{{Deployment: "dead"}}},
			{Name: "ha", Strategy: StrategyLoadbalanceFallback, Targets: []Target{{Deployment: "dead", Weight: &one}, {Deployment: "lb", Weight: &zero}}},
		},
	})
	const n = 400
	for range n {
		if resp, body := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"lb","messages":[]}`); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	// 3:1 → a gets 300 ± a few standard deviations (√(400·¾·¼) ≈ 8.7).
	if got := a.calls.Load(); got < 260 || got > 340 || got+b.calls.Load() != n {
		t.Errorf("a %d, b %d of %d calls: want about 3:1", got, b.calls.Load(), n)
	}
	// loadbalance alone does not fall back; loadbalance-fallback does,
	// through a nested route.
	if resp, _ := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"lb-dead","messages":[]}`); resp.StatusCode != 502 {
		t.Errorf("lb-dead: %d", resp.StatusCode)
	}
	if resp, body := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"ha","messages":[]}`); resp.StatusCode != 200 {
		t.Errorf("ha: %d %s", resp.StatusCode, body)
	}
}

func TestRouteNamesAreServed(t *testing.T) {
	e := newEnv(t, Options{
		Deployments: []Deployment{dep("a", deadURL(t))},
		Routes:      []Route{{Name: "ha", Targets: targets("a")}},
	})
	resp, err := http.Get(e.srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"id":"ha","object":"model","created":0,"owned_by":"genscope:route"`) {
		t.Errorf("models: %s", b)
	}
	// Azure clients call a route as a deployment.
	r2, _ := post(t, e.srv.URL+"/openai/deployments/ha/chat/completions?api-version=2024-10-21", `{"messages":[]}`)
	if r2.StatusCode != 502 {
		t.Errorf("azure path: %d", r2.StatusCode)
	}
	if _, err := New(newSink(), Options{Deployments: []Deployment{dep("a", deadURL(t))}, Routes: []Route{{Name: "x", Targets: targets("nope")}}}, nil, nil); err == nil ||
		!strings.Contains(err.Error(), `no deployment or route is named "nope"`) {
		t.Errorf("a route to nothing: %v", err)
	}
}

func TestValidateRoutes(t *testing.T) {
	neg, zero := -1, 0
	cfg := DefaultConfig()
	cfg.Deployments = []Deployment{dep("a", "http://127.0.0.1:1")}
	cfg.Routes = []Route{
		{Name: "", Targets: targets("a")},
		{Name: "a", Targets: targets("gpt-4o")},
		{Name: "empty"},
		{Name: "unknown", Targets: targets("nope")},
		{Name: "weights", Strategy: StrategyLoadbalance, Targets: []Target{{Deployment: "a", Weight: &neg}}},
		{Name: "zero", Strategy: StrategyLoadbalance, Targets: []Target{{Deployment: "a", Weight: &zero}}},
		{Name: "fb-weight", Targets: []Target{{Deployment: "a", Weight: &zero}}},
		{Name: "x", Targets: targets("y")},
		{Name: "y", Targets: targets("a", "x")},
		{Name: "self", Strategy: "round-robin", Targets: targets("self", "a", "a"), Retries: 11},
	}
	err := cfg.Validate("gateway")
	for _, want := range []string{
		"gateway.routes[0].name: required",
		`gateway.routes[1].name: "a" is a deployment's name`,
		"gateway.routes[2].targets: none",
		`gateway.routes[3].targets[0].deployment: no deployment or route is named "nope"`,
		"gateway.routes[4].targets[0].weight: -1 is outside",
		"gateway.routes[5].targets: every weight is 0",
		"gateway.routes[6].targets[0].weight: weights are for the loadbalance strategies",
		"gateway.routes: cycle: x → y → x",
		`gateway.routes[9].strategy: "round-robin" is not one of`,
		"gateway.routes[9].targets[0].deployment: the route names itself",
		`gateway.routes[9].targets[2].deployment: "a" is named twice`,
		"gateway.routes[9].retries: 11 is outside 0 .. 10",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	// A route may name a built-in deployment and another route.
	cfg.Routes = []Route{{Name: "r1", Targets: targets("gpt-4o", "a")}, {Name: "r2", Targets: targets("r1", "gpt-4o-mini")}}
	if err := cfg.Validate("gateway"); err != nil {
		t.Error(err)
	}
}
