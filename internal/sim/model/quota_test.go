package model

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for the Now option.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type azureError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestQuota(t *testing.T) {
	f := func(name string, o Options, extra map[string]any, path, wantMsg string, wantRetry int) {
		t.Run(name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			o.NoLatency, o.Now = true, clk.now
			_, srv := server(t, o)
			body := chatBody(t, extra, "user", "Hi")
			url := srv.URL + path
			call := func() (*http.Response, []byte) { return post(t, url, body) }

			resp, _ := call()
			if resp.StatusCode != 200 {
				t.Fatalf("first call: %s", resp.Status)
			}
			if o.RequestsPerMinute > 0 && resp.Header.Get("x-ratelimit-remaining-requests") != strconv.Itoa(o.RequestsPerMinute-1) {
				t.Errorf("remaining requests %q", resp.Header.Get("x-ratelimit-remaining-requests"))
			}
			if o.TokensPerMinute > 0 && resp.Header.Get("x-ratelimit-remaining-tokens") == "" {
				t.Error("no x-ratelimit-remaining-tokens")
			}
			clk.advance(10 * time.Second)
			resp, _ = call()
			if resp.StatusCode != 200 {
				t.Fatalf("second call: %s", resp.Status)
			}
			clk.advance(time.Second)
			resp, b := call()
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("third call: %d %s", resp.StatusCode, b)
			}
			var e azureError
			if err := json.Unmarshal(b, &e); err != nil || e.Error.Code != "429" || e.Error.Message != wantMsg {
				t.Errorf("429 body %s\nwant message %s", b, wantMsg)
			}
			if got := resp.Header.Get("Retry-After"); got != strconv.Itoa(wantRetry) {
				t.Errorf("Retry-After %q, want %d", got, wantRetry)
			}
			if got := resp.Header.Get("retry-after-ms"); got != strconv.Itoa(wantRetry*1000) {
				t.Errorf("retry-after-ms %q", got)
			}
			if resp, _ := post(t, url, `{}`); resp.StatusCode != 400 || resp.Header.Get("x-ratelimit-remaining-requests")+resp.Header.Get("x-ratelimit-remaining-tokens") == "" {
				t.Errorf("a 400 should carry the rate limit headers: %d %v", resp.StatusCode, resp.Header)
			}
			clk.advance(time.Duration(wantRetry) * time.Second)
			if resp, b := call(); resp.StatusCode != 200 {
				t.Errorf("after the window slid: %d %s", resp.StatusCode, b)
			}
		})
	}
	f("requests", Options{RequestsPerMinute: 2}, nil, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01",
		"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-06-01 have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after 49 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.", 49)
	// Each call is estimated at its prompt tokens + max_tokens = 8+100.
	f("tokens", Options{TokensPerMinute: 250}, map[string]any{"max_tokens": 100}, "/v1/chat/completions",
		"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 49 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.", 49)
}

func TestWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := &window{tpm: 100}
	if v := q.admit(t0, 101); v.ok || v.retry != time.Minute {
		t.Errorf("larger than the quota: %+v", v)
	}
	for i := range 4 {
		if v := q.admit(t0.Add(time.Duration(i)*time.Second), 25); !v.ok || v.remTok != 75-25*i {
			t.Fatalf("call %d: %+v", i, v)
		}
	}
	// 50 tokens need the first two events to leave the window.
	if v := q.admit(t0.Add(30*time.Second), 50); v.ok || !v.tokenLimit || v.retry != 31*time.Second {
		t.Errorf("over: %+v", v)
	}
	if v := q.admit(t0.Add(61*time.Second), 50); !v.ok || v.remTok != 0 {
		t.Errorf("after sliding: %+v", v)
	}
}
