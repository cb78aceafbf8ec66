package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/quota"
	"github.com/genscope/genscope/internal/tenancy"
)

// caller is who a call is from: CallerFor's answer, else ProjectFor's
// project, else the default project.
func (g *Gateway) caller(r *http.Request) (quota.Caller, error) {
	switch {
	case g.opts.CallerFor != nil:
		return g.opts.CallerFor(r)
	case g.opts.ProjectFor != nil:
		p, err := g.opts.ProjectFor(r)
		return quota.Caller{Project: p}, err
	}
	return quota.Caller{Project: tenancy.DefaultProject}, nil
}

// admit checks the call's limits before anything goes upstream (or
// comes from the cache): the end user is x-user-id (or
// x-genscope-user-id), else the request's user field. Over a limit it
// answers 429 in OpenAI's error shape, with Retry-After, and reports
// false; the refused call is counted in genscope_gateway_limited_total,
// not recorded as a call.
func (g *Gateway) admit(w http.ResponseWriter, c *call, body []byte, ms []member) bool {
	c.who.User = c.userID
	if c.who.User == "" {
		c.who.User = stringMember(body, ms, "user")
	}
	t, ref := g.opts.Limits.Admit(c.who)
	if ref == nil {
		c.ticket = t
		return true
	}
	g.m.limited.WithLabelValues(ref.Scope, ref.Limit).Inc()
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(ref.RetryAfter(time.Now())))
	h.Set("x-genscope-limit", ref.Scope+" "+ref.Limit)
	typ, code := "requests", "rate_limit_exceeded"
	switch {
	case ref.Limit == quota.TokensPerMinute:
		typ = "tokens"
	case ref.Spend():
		// A budget resets in hours: clients (the openai SDKs) should not
		// retry it.
		typ, code = "insufficient_quota", "insufficient_quota"
		h.Set("x-should-retry", "false")
	}
	writeError(w, http.StatusTooManyRequests, typ, code, "genscope gateway: "+ref.Error())
	return false
}

// countUsage counts a finished call's tokens and cost against the limits
// it was admitted under. A cache hit cost nothing upstream: it counted
// as a request only.
func (g *Gateway) countUsage(c *call, sp *genai.Span) {
	if g.opts.Limits == nil || c.cacheHit {
		return
	}
	var usd float64
	if g.opts.Cost != nil {
		usd, _ = g.opts.Cost(sp)
	}
	g.opts.Limits.Record(c.ticket, sp.Usage.InputTokens+sp.Usage.OutputTokens, usd)
}
