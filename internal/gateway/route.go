package gateway

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/genscope/genscope/internal/genai"
)

// route is a configured route, ready to call: its targets resolved to
// deployments or other routes.
type route struct {
	cfg     Route
	targets []routeTarget
}

type routeTarget struct {
	dep    *deployment // or
	route  *route
	weight int
}

// health is a deployment's recent record, shared by every route naming
// it: consecutive failures, and until when it is cooling down.
type health struct {
	fails atomic.Int32
	until atomic.Int64 // Unix nanoseconds; 0: not cooling down
}

// cooling reports whether the deployment is cooling down at now.
func (h *health) cooling(now int64) bool { return h.until.Load() > now }

// failed counts a failure; the after-th in a row starts a cool-down.
func (h *health) failed(now time.Time, after int, cooldown time.Duration) {
	if int(h.fails.Add(1)) >= after {
		h.until.Store(now.Add(cooldown).UnixNano())
		h.fails.Store(0)
	}
}

// answered ends a run of failures.
func (h *health) answered() {
	if h.fails.Load() != 0 {
		h.fails.Store(0)
	}
}

// plan lists the deployments a call tries, in order: the strategy's
// order, nested routes expanded in place, each deployment once, those
// cooling down left out — unless every one is, when the one whose
// cool-down ends first is tried alone.
func (rt *route) plan(now int64) []*deployment {
	var all []*deployment
	rt.expand(&all)
	out := all[:0:0]
	for _, d := range all {
		if !d.health.cooling(now) {
			out = append(out, d)
		}
	}
	if len(out) > 0 || len(all) == 0 {
		return out
	}
	first := all[0]
	for _, d := range all[1:] {
		if d.health.until.Load() < first.health.until.Load() {
			first = d
		}
	}
	return []*deployment{first}
}

// expand appends the route's deployments in the strategy's order.
func (rt *route) expand(out *[]*deployment) {
	add := func(t routeTarget) {
		if t.route != nil {
			t.route.expand(out)
			return
		}
		for _, d := range *out {
			if d == t.dep {
				return
			}
		}
		*out = append(*out, t.dep)
	}
	switch rt.cfg.Strategy {
	case StrategyLoadbalance, StrategyLoadbalanceFallback:
		// A weighted order without replacement: the first is the
		// weighted pick, the rest (only as fallbacks) follow by weight.
		left := make([]routeTarget, 0, len(rt.targets))
		total := 0
		for _, t := range rt.targets {
			if t.weight > 0 {
				left = append(left, t)
				total += t.weight
			}
		}
		for len(left) > 0 {
			n := rand.IntN(total)
			i := 0
			for ; n >= left[i].weight; i++ {
				n -= left[i].weight
			}
			add(left[i])
			if rt.cfg.Strategy == StrategyLoadbalance {
				return
			}
			total -= left[i].weight
			left = append(left[:i], left[i+1:]...)
		}
		for _, t := range rt.targets { // weight 0: last resorts
			if t.weight == 0 {
				add(t)
			}
		}
	default:
		for _, t := range rt.targets {
			add(t)
		}
	}
}

// attempt is one try of a routed call at one deployment; each becomes a
// child span of the call's span (not a call itself).
type attempt struct {
	dep        *deployment
	spanID     genai.SpanID
	start, end time.Time
	status     int
	errType    string
	errMsg     string
	retryAfter time.Duration
	next       string // what the gateway did next: retry, fallback, or "" (this one answered, or the last)
}

// Failure kinds of an attempt: whether the same target is tried again,
// and whether the next target is.
const (
	failNone     = iota // an answer: relay it
	failRetry           // retry this target, then fall back (429, 408, 5xx, timeout, connection)
	failFallback        // the next target may accept what this one refused (401, 403, 404)
)

// classify says what a routed call does after an upstream's status.
// Other 4xx (a bad request, a prompt too long, a content filter) are the
// request's fault: the next target would refuse them too.
func classify(status int) int {
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return failRetry
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound:
		return failFallback
	}
	return failNone
}

// retryAfter reads how long an upstream asks to wait: retry-after-ms
// (OpenAI, Azure), or Retry-After in seconds or as an HTTP date; 0 when
// it says nothing usable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e9 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 && s < 1e6 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// backoff is the wait before the n-th retry (n from 1) of one target:
// base doubled each time, capped at 8s, with jitter in [½, 1].
func backoff(base time.Duration, n int) time.Duration {
	d := base << min(n-1, 10)
	d = min(d, 8*time.Second)
	return d/2 + rand.N(d/2+1)
}

// maxFailedAnswer bounds what is kept of a failed attempt's answer (to
// relay it when no other target answers).
const maxFailedAnswer = 1 << 20

// failedAnswer is an upstream's refusal, kept whole.
type failedAnswer struct {
	status int
	header http.Header
	body   []byte
	mask   *masker
}

// serveRoute tries the route's deployments (plan) until one answers:
// each target up to 1+Retries times on a failure worth retrying, waiting
// its Retry-After or a backoff, then the next target; a stream only
// until its first byte. No attempt starts after MaxRetryTime. When none
// answers, the client gets the last refusal as the upstream gave it, or
// the gateway's error for the last connection failure or timeout.
func (g *Gateway) serveRoute(w http.ResponseWriter, r *http.Request, c *call, rt *route, body []byte, ms []member) {
	c.route = rt
	cfg := rt.cfg
	plan := rt.plan(c.start.UnixNano())
	if len(plan) == 0 {
		writeError(w, http.StatusServiceUnavailable, "genscope_gateway_error", "no_target", "genscope gateway: route "+cfg.Name+" has no target to call")
		return
	}
	deadline := c.start.Add(cfg.MaxRetryTime.D())
	var last *failedAnswer // the last attempt's refusal, when it was one
	var lastStatus int
	var lastCode, lastMsg string
	for i, d := range plan {
		for try := 0; try <= cfg.Retries; try++ {
			if (i > 0 || try > 0) && time.Now().After(deadline) {
				break
			}
			if len(c.attempts) > 0 {
				c.attempts[len(c.attempts)-1].next = map[bool]string{true: "retry", false: "fallback"}[try > 0]
			}
			a := attempt{dep: d, start: time.Now()}
			putUint64(a.spanID[:], rand.Uint64()|1)
			c.deployment = d
			upBody, stripUsage := rewrite(body, ms, d, c.stream)
			ctx, cancel := context.WithTimeout(r.Context(), d.cfg.Timeout.D())
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d.cfg.Timeout.D() + 5*time.Second))
			req, err := g.upstreamRequest(ctx, r, d, c.op, upBody, c.traceID, a.spanID)
			if err != nil {
				cancel()
				g.fail(w, c, http.StatusInternalServerError, "gateway_error", err.Error())
				return
			}
			c.upstream = req.URL.Host
			c.mask = newMasker(req.Header.Get("Authorization"), req.Header.Get("api-key"))
			kind := failNone
			var sr *sseReader
			resp, err := d.client.Do(req)
			switch {
			case err != nil && r.Context().Err() != nil:
				cancel()
				c.attempts = append(c.attempts, a)
				c.status, c.errType, c.errMsg = 499, "client_disconnected", "the client went away before the upstream answered"
				g.finish(c)
				return
			case err != nil:
				kind = failRetry
				a.status, a.errType, a.errMsg = transportFailure(err, d, req)
				last = nil
			case classify(resp.StatusCode) != failNone:
				kind = classify(resp.StatusCode)
				a.status, a.errType = resp.StatusCode, strconv.Itoa(resp.StatusCode)
				a.retryAfter = retryAfter(resp.Header, time.Now())
				last = &failedAnswer{status: resp.StatusCode, header: resp.Header, mask: c.mask}
				last.body, err = io.ReadAll(io.LimitReader(resp.Body, maxFailedAnswer))
				if err != nil {
					last = nil
				}
				resp.Body.Close()
				a.errMsg = c.mask.string(truncate(string(last.bodyOrNil()), 512))
			case c.stream && resp.StatusCode < 300:
				// A stream is relayed from its first byte on: until then
				// it may still fall back.
				sr = newSSEReader(resp.Body, maxEventBytes)
				timer := time.AfterFunc(d.cfg.StreamIdleTimeout.D(), cancel)
				_, perr := sr.br.Peek(1)
				timer.Stop()
				if perr != nil {
					resp.Body.Close()
					kind = failRetry
					a.status, a.errType, a.errMsg = http.StatusBadGateway, "upstream_interrupted", "the upstream's stream ended before its first byte: "+perr.Error()
					if ctx.Err() != nil {
						a.status, a.errType, a.errMsg = http.StatusGatewayTimeout, "upstream_timeout", "the upstream's stream sent nothing in time"
					}
					last = nil
				}
			}
			if kind == failNone {
				d.health.answered()
				c.attempts = append(c.attempts, a)
				g.relay(w, r, c, resp, sr, stripUsage, cancel)
				resp.Body.Close()
				cancel()
				return
			}
			cancel()
			a.end = time.Now()
			a.errMsg = c.mask.string(a.errMsg)
			d.health.failed(a.end, cfg.CooldownAfter, cfg.Cooldown.D())
			g.m.attemptFailures.WithLabelValues(d.cfg.Name, g.opts.Labels.Value("genscope_gateway_attempt_failures_total", "error_type", a.errType)).Inc()
			c.attempts = append(c.attempts, a)
			lastStatus, lastCode, lastMsg = a.status, a.errType, a.errMsg
			if kind == failFallback || try == cfg.Retries {
				break
			}
			wait := a.retryAfter
			if wait == 0 {
				wait = backoff(cfg.RetryBackoff.D(), try+1)
			}
			if time.Now().Add(wait).After(deadline) {
				break // not worth waiting for: the next target, if any
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				c.status, c.errType, c.errMsg = 499, "client_disconnected", "the client went away while the gateway waited to retry"
				g.finish(c)
				return
			}
		}
	}
	// No target answered.
	if last != nil {
		c.mask = last.mask
		c.status = last.status
		copyResponseHeader(w.Header(), last.header)
		c.mask.header(w.Header())
		w.Header().Set("Content-Length", strconv.Itoa(len(last.body)))
		w.WriteHeader(last.status)
		body := c.mask.copied(last.body)
		_, _ = w.Write(body)
		if int64(len(body)) <= g.opts.MaxRecordBytes {
			c.respBody = body
		}
		c.attempts[len(c.attempts)-1].end = time.Time{} // the answer: it ends with the call
		g.finish(c)
		return
	}
	c.attempts[len(c.attempts)-1].end = time.Time{}
	g.fail(w, c, lastStatus, lastCode, lastMsg)
}

func (f *failedAnswer) bodyOrNil() []byte {
	if f == nil {
		return nil
	}
	return f.body
}

// routeSpans records a routed call: the route, its attempts, whether it
// was retried or fell back on the call's span, and a child span per
// attempt (not a call: no GenAI operation), whose span id went upstream
// as the traceparent's parent.
func (g *Gateway) routeSpans(c *call, sp *genai.Span) []genai.Span {
	retried, fellBack := false, false
	out := make([]genai.Span, 0, len(c.attempts))
	for i, a := range c.attempts {
		retried = retried || a.next == "retry"
		fellBack = fellBack || a.next == "fallback"
		end, status, errType, msg := a.end, a.status, a.errType, a.errMsg
		if i == len(c.attempts)-1 {
			end, status, errType, msg = c.end, sp.HTTPStatus, sp.ErrorType, sp.StatusMessage
		}
		as := genai.Span{
			Project:       c.project,
			TraceID:       c.traceID,
			SpanID:        a.spanID,
			ParentSpanID:  c.spanID,
			Name:          "attempt " + a.dep.cfg.Name,
			Kind:          "client",
			Service:       g.opts.Service,
			ScopeName:     "genscope.gateway",
			Source:        genai.SourceGateway,
			StartUnixNano: a.start.UnixNano(),
			DurationNano:  end.Sub(a.start).Nanoseconds(),
			HTTPStatus:    status,
			Status:        genai.StatusOK,
			Attributes: map[string]any{
				"genscope.gateway.route":      c.route.cfg.Name,
				"genscope.gateway.deployment": a.dep.cfg.Name,
				"genscope.gateway.attempt":    int64(i + 1),
			},
			ResourceAttributes: map[string]any{"service.name": g.opts.Service},
		}
		if errType != "" {
			as.Status, as.ErrorType, as.StatusMessage = genai.StatusError, errType, truncate(msg, 1024)
		}
		if c.internal != nil {
			internalAttributes(c.internal, &as.Service, as.Attributes, as.ResourceAttributes)
		}
		if a.next != "" {
			as.Attributes["genscope.gateway.next"] = a.next
		}
		if a.retryAfter > 0 {
			as.Attributes["genscope.gateway.retry_after_ms"] = a.retryAfter.Milliseconds()
		}
		out = append(out, as)
	}
	sp.Attributes["genscope.gateway.route"] = c.route.cfg.Name
	sp.Attributes["genscope.gateway.attempts"] = int64(len(c.attempts))
	sp.Attributes["genscope.gateway.retried"] = retried
	sp.Attributes["genscope.gateway.fallback"] = fellBack
	return out
}
