package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/quota"
)

func newLimiter(t *testing.T, path string, rules ...quota.Rule) *quota.Limiter {
	t.Helper()
	l, err := quota.New(quota.Options{Rules: rules, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// openAIError is OpenAI's error body.
type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func decodeError(t *testing.T, b []byte) openAIError {
	t.Helper()
	var e openAIError
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" || e.Error.Code == nil {
		t.Fatalf("not OpenAI's error shape: %s (%v)", b, err)
	}
	return e
}

func TestLimitsRequestsPerEndUser(t *testing.T) {
	up := newUpstream(t, answerOK)
	e := newEnv(t, Options{Deployments: []Deployment{dep("gpt-4o", up.URL)},
		Limits: newLimiter(t, "", quota.Rule{User: "*", Limits: quota.Limits{RequestsPerMinute: 2}})})
	url := e.srv.URL + "/v1/chat/completions"
	const body = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	for i := range 2 {
		if resp, got := post(t, url, body, "x-user-id", "alice"); resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, got)
		}
		e.sink.wait(t)
	}
	resp, got := post(t, url, body, "x-user-id", "alice")
	if resp.StatusCode != 429 || up.calls.Load() != 2 {
		t.Fatalf("3rd call: %d %s (%d upstream calls)", resp.StatusCode, got, up.calls.Load())
	}
	ra := resp.Header.Get("Retry-After")
	if ra == "" || ra == "0" || len(ra) > 2 || resp.Header.Get("x-genscope-limit") != "user requests_per_minute" || resp.Header.Get("x-should-retry") != "" {
		t.Errorf("headers %v", resp.Header)
	}
	er := decodeError(t, got)
	if er.Error.Type != "requests" || *er.Error.Code != "rate_limit_exceeded" ||
		!strings.Contains(er.Error.Message, `user "alice" reached its requests_per_minute limit (2 of 2); it resets at `) {
		t.Errorf("error %+v", er.Error)
	}
	// The request's user field names the end user when no header does.
	for i := range 3 {
		resp, _ := post(t, url, `{"model":"gpt-4o","user":"bob","messages":[{"role":"user","content":"hi"}]}`)
		if want := map[bool]int{true: 200, false: 429}[i < 2]; resp.StatusCode != want {
			t.Errorf("bob's call %d: %d", i, resp.StatusCode)
		}
		if i < 2 {
			e.sink.wait(t)
		}
	}
	// Calls without an end user are not limited per user.
	if resp, _ := post(t, url, body); resp.StatusCode != 200 {
		t.Errorf("no user: %d", resp.StatusCode)
	}
	e.sink.wait(t)
	if m := scrape(t, e); !strings.Contains(m, `genscope_gateway_limited_total{limit="requests_per_minute",scope="user"} 2`) {
		t.Errorf("metrics:\n%s", m)
	}
}

func scrape(t *testing.T, e *env) string {
	t.Helper()
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestBudgetAcrossRestart: a project's daily budget stops calls once
// spent, before they go upstream, and still does after a restart.
func TestBudgetAcrossRestart(t *testing.T) {
	up := newUpstream(t, answerOK)
	path := filepath.Join(t.TempDir(), "gateway-limits.json")
	rule := quota.Rule{Project: "default", Limits: quota.Limits{USDPerDay: 1}}
	// 29 tokens a call at 2 cents a token: 0.58 USD.
	cost := func(sp *genai.Span) (float64, bool) {
		return float64(sp.Usage.InputTokens+sp.Usage.OutputTokens) * 0.02, true
	}
	lim := newLimiter(t, path, rule)
	opts := Options{Deployments: []Deployment{dep("gpt-4o", up.URL)}, Limits: lim, Cost: cost}
	e := newEnv(t, opts)
	url := e.srv.URL + "/v1/chat/completions"
	const body = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	for i := range 2 {
		if resp, got := post(t, url, body); resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, got)
		}
		e.sink.wait(t)
	}
	check := func(url string) {
		t.Helper()
		calls := up.calls.Load()
		resp, got := post(t, url, body)
		if resp.StatusCode != 429 || up.calls.Load() != calls {
			t.Fatalf("over budget: %d %s", resp.StatusCode, got)
		}
		er := decodeError(t, got)
		if er.Error.Type != "insufficient_quota" || *er.Error.Code != "insufficient_quota" || resp.Header.Get("x-should-retry") != "false" ||
			!strings.Contains(er.Error.Message, `project "default" reached its usd_per_day limit (1.16 of 1)`) {
			t.Errorf("refusal %v %+v", resp.Header, er.Error)
		}
	}
	check(url)
	if m := scrape(t, e); !strings.Contains(m, `genscope_gateway_budget_used_percent{project="default"} 115.99`) {
		t.Errorf("budget gauge:\n%s", m)
	}
	if u := lim.Usage("default"); len(u) != 1 || u[0].RequestsThisMinute != 2 || u[0].TokensThisMinute != 58 || u[0].BudgetUsedPercent < 115 {
		t.Errorf("usage %+v", u)
	}

	// A restart: the gateway and its limiter close, new ones open on the
	// same file.
	if err := e.gw.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := lim.Close(); err != nil {
		t.Fatal(err)
	}
	opts.Limits = newLimiter(t, path, rule)
	e2 := newEnv(t, opts)
	check(e2.srv.URL + "/v1/chat/completions")
}

// TestLimitsConcurrent pins the rule for calls arriving together:
// requests per minute never overshoot (each request is counted as it is
// admitted), while tokens and spend, known only when a call finishes,
// overshoot by what the calls in flight use and no more.
func TestLimitsConcurrent(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		<-release
		answerOK(w, r, n)
	})
	lim := newLimiter(t, "", quota.Rule{Project: "default", Limits: quota.Limits{RequestsPerMinute: 10}},
		quota.Rule{Project: "tok", Limits: quota.Limits{TokensPerMinute: 50}})
	e := newEnv(t, Options{Deployments: []Deployment{dep("gpt-4o", up.URL)}, Limits: lim,
		ProjectFor: func(r *http.Request) (string, error) { return r.Header.Get("x-test-project"), nil }})
	url := e.srv.URL + "/v1/chat/completions"
	const body = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	// run sends n calls at once and lets the upstream answer when the
	// admitted ones (at most the first 10) have all reached it.
	run := func(project string, n int) map[int]int {
		base := up.calls.Load()
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := post(t, url, body, "x-test-project", project)
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}()
		}
		// the refused ones come back at once; then the upstream answers
		deadline := time.Now().Add(10 * time.Second)
		for up.calls.Load() < base+int32(min(n, 10)) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		close(release)
		wg.Wait()
		release = make(chan struct{})
		return codes
	}
	codes := run("default", 40)
	if codes[200] != 10 || codes[429] != 30 || up.calls.Load() != 10 {
		t.Fatalf("40 at once, 10 a minute: %v, %d upstream calls", codes, up.calls.Load())
	}
	for range 10 {
		e.sink.wait(t)
	}
	// Tokens: 6 calls at once all find the project under 50 tokens; the
	// 174 they use count, and the next call is refused.
	codes = run("tok", 6)
	if codes[200] != 6 {
		t.Fatalf("tokens, 6 at once: %v", codes)
	}
	for range 6 {
		e.sink.wait(t)
	}
	if resp, _ := post(t, url, body, "x-test-project", "tok"); resp.StatusCode != 429 || resp.Header.Get("x-genscope-limit") != "project tokens_per_minute" {
		t.Errorf("after 174 tokens: %d %v", resp.StatusCode, resp.Header)
	}
	if u := lim.Usage("tok"); len(u) != 1 || u[0].TokensThisMinute != 174 {
		t.Errorf("usage %+v", u)
	}
}

// TestKeyLimits: a gateway key's own limits (from CallerFor) apply to it
// alone.
func TestKeyLimits(t *testing.T) {
	up := newUpstream(t, answerOK)
	e := newEnv(t, Options{Deployments: []Deployment{dep("gpt-4o", up.URL)}, Limits: newLimiter(t, ""),
		CallerFor: func(r *http.Request) (quota.Caller, error) {
			c := quota.Caller{Project: "p", Key: r.Header.Get("x-test-key")}
			if c.Key == "limited" {
				c.KeyLimits = quota.Limits{RequestsPerMinute: 1}
			}
			return c, nil
		}})
	url := e.srv.URL + "/v1/chat/completions"
	const body = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	want := []struct {
		key  string
		code int
	}{{"limited", 200}, {"limited", 429}, {"free", 200}, {"free", 200}}
	for i, w := range want {
		resp, _ := post(t, url, body, "x-test-key", w.key)
		if resp.StatusCode != w.code {
			t.Errorf("call %d with %s: %d, want %d", i, w.key, resp.StatusCode, w.code)
		}
		if w.code == 200 {
			e.sink.wait(t)
		} else if resp.Header.Get("x-genscope-limit") != "key requests_per_minute" {
			t.Errorf("call %d: %v", i, resp.Header)
		}
	}
}
