package model

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/genscope/genscope/internal/jsonstr"
)

// quotaWindow is the length of the sliding quota window.
const quotaWindow = time.Minute

// window is a sliding one-minute window of admitted requests and their
// token estimates: Azure's requests-per-minute and tokens-per-minute quota.
type window struct {
	rpm, tpm int

	mu     sync.Mutex
	events []quotaEvent // admitted requests, oldest first
	tokens int          // sum of events' tokens
}

type quotaEvent struct {
	at     time.Time
	tokens int
}

// verdict is the outcome of one admission.
type verdict struct {
	ok         bool
	tokenLimit bool          // refused for tokens (else for calls)
	retry      time.Duration // when refused
	remReq     int           // remaining requests after this one; -1 = unlimited
	remTok     int           // remaining tokens after this one; -1 = unlimited
}

// admit counts one request of the given token estimate at now, or refuses
// it when it would exceed a quota.
func (q *window) admit(now time.Time, tokens int) verdict {
	if q.rpm == 0 && q.tpm == 0 {
		return verdict{ok: true, remReq: -1, remTok: -1}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.slide(now)
	v := verdict{ok: true, remReq: -1, remTok: -1}
	switch {
	case q.rpm > 0 && len(q.events) >= q.rpm:
		v.ok = false
		v.retry = q.events[len(q.events)-q.rpm].at.Add(quotaWindow).Sub(now)
	case q.tpm > 0 && q.tokens+tokens > q.tpm:
		v.ok, v.tokenLimit = false, true
		v.retry = quotaWindow
		if tokens <= q.tpm {
			freed := 0
			for _, e := range q.events {
				freed += e.tokens
				if q.tokens-freed+tokens <= q.tpm {
					v.retry = e.at.Add(quotaWindow).Sub(now)
					break
				}
			}
		}
	default:
		q.events = append(q.events, quotaEvent{at: now, tokens: tokens})
		q.tokens += tokens
	}
	q.remaining(&v)
	return v
}

// peek reports the remaining quota at now without counting a request.
func (q *window) peek(now time.Time) verdict {
	v := verdict{ok: true, remReq: -1, remTok: -1}
	if q.rpm == 0 && q.tpm == 0 {
		return v
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.slide(now)
	q.remaining(&v)
	return v
}

// slide drops the events that left the window; q.mu is held.
func (q *window) slide(now time.Time) {
	cut := now.Add(-quotaWindow)
	i := 0
	for i < len(q.events) && !q.events[i].at.After(cut) {
		q.tokens -= q.events[i].tokens
		i++
	}
	q.events = q.events[i:]
	if len(q.events) == 0 {
		q.events = q.events[:0:0] // let the backing array go
	}
}

// remaining fills v's remaining counts; q.mu is held.
func (q *window) remaining(v *verdict) {
	if q.rpm > 0 {
		v.remReq = max(q.rpm-len(q.events), 0)
	}
	if q.tpm > 0 {
		v.remTok = max(q.tpm-q.tokens, 0)
	}
}

// setQuotaHeaders writes the rate limit headers every response carries.
func (q *window) setHeaders(h http.Header, v verdict) {
	if q.rpm > 0 {
		h.Set("x-ratelimit-limit-requests", strconv.Itoa(q.rpm))
		h.Set("x-ratelimit-remaining-requests", strconv.Itoa(v.remReq))
	}
	if q.tpm > 0 {
		h.Set("x-ratelimit-limit-tokens", strconv.Itoa(q.tpm))
		h.Set("x-ratelimit-remaining-tokens", strconv.Itoa(v.remTok))
	}
}

// defaultAPIVersion is reported in 429 messages when the request has no
// api-version query parameter.
const defaultAPIVersion = "2024-10-21"

// writeQuotaError answers 429 the way Azure OpenAI does.
func writeQuotaError(w http.ResponseWriter, r *http.Request, operation string, v verdict) {
	secs := max(int(math.Ceil(v.retry.Seconds())), 1)
	ms := max(v.retry.Milliseconds(), 1)
	version := r.URL.Query().Get("api-version")
	if version == "" {
		version = defaultAPIVersion
	}
	kind := "call rate limit"
	if v.tokenLimit {
		kind = "token rate limit"
	}
	msg := fmt.Sprintf("Requests to the %s Operation under Azure OpenAI API version %s have exceeded %s of your current OpenAI S0 pricing tier. Please retry after %d second%s. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.",
		operation, version, kind, secs, plural(secs))
	b := []byte(`{"error":{"code":"429","message":`)
	b = jsonstr.Append(b, msg)
	b = append(b, "}}\n"...)
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(secs))
	h.Set("retry-after-ms", strconv.FormatInt(ms, 10))
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(b)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
