package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/ingest/httpbody"
	"github.com/genscope/genscope/internal/jsonhttp"
	"github.com/genscope/genscope/internal/quota"
)

const (
	opChat       = "chat"
	opEmbeddings = "embeddings"
)

// maxEventBytes bounds one server-sent event.
const maxEventBytes = 8 << 20

// call is everything known about one proxied call; the record workers
// turn it into a span after the response is written.
type call struct {
	project    string
	op         string
	deployment *deployment
	depName    string // as the client asked, when no deployment matched
	start      time.Time
	end        time.Time

	traceID  genai.TraceID
	spanID   genai.SpanID
	parentID genai.SpanID

	reqBody   []byte
	stream    bool
	sessionID string
	userID    string

	status   int    // HTTP status the client got
	errType  string // set when the call failed
	errMsg   string
	respBody []byte // non-streamed response, up to MaxRecordBytes
	events   []event
	evBuf    []byte // the events' data, one after the other
	dropped  bool   // the response was larger than what is kept
	upstream string
	mask     *masker // the credentials that went upstream, hidden from what is relayed and recorded

	cacheKey    string // set when the call may be served from or kept in the cache
	cacheHit    bool
	contentType string // of a non-streamed answer

	internal *Internal // set for a call genscope makes itself (Complete)

	route    *route    // the route called, if any
	attempts []attempt // a routed call's tries, the answering one last

	redactedUpstream bool // personal data was masked before the request went upstream

	who    quota.Caller // the project, key and end user limits apply to
	ticket quota.Ticket // what the call's tokens and spend count against
}

// event is one streamed chunk's data (evBuf[start:end]) and when it
// arrived.
type event struct {
	at         time.Duration // since start
	start, end int
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, op, azureDeployment string) {
	g.m.inflight.Inc()
	defer g.m.inflight.Dec()
	c, ok := g.newCall(w, r, op)
	if !ok {
		return
	}

	body, err := g.body.Read(w, r, nil)
	if err != nil {
		status := http.StatusBadRequest
		var be *httpbody.Error
		if errors.As(err, &be) {
			status = be.Status()
		}
		writeError(w, status, "invalid_request_error", "", err.Error())
		return // nothing worth recording: no deployment, no model
	}
	c.reqBody = body
	ms, err := topLevel(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "We could not parse the JSON body of your request: "+err.Error())
		return
	}
	model := stringMember(body, ms, "model")
	name := azureDeployment
	if name == "" {
		name = model
	}
	d, rt := g.deps[name], g.routes[name]
	if d == nil && rt == nil {
		c.depName = name
		g.unknownDeployment(w, name, azureDeployment != "")
		return
	}
	c.stream = op == opChat && boolMember(body, ms, "stream")
	if g.opts.RedactUpstream {
		nb, nms, masked, err := g.redactRequest(body, ms)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "", "We could not parse the JSON body of your request: "+err.Error())
			return
		}
		body, ms, c.reqBody, c.redactedUpstream = nb, nms, nb, masked
	}
	if g.opts.Limits != nil && !g.admit(w, c, body, ms) {
		return
	}
	if g.cache != nil && g.cacheWanted(r, d, rt) {
		c.cacheKey = cacheKey(c.project, name, op, body, ms)
		if a, ok := g.cache.get(c.cacheKey); ok && g.deps[a.deployment] != nil && a.stream == c.stream {
			g.serveCached(w, r, c, a, body, ms)
			return
		}
		w.Header().Set("x-genscope-cache", "miss")
	}
	if rt != nil {
		g.serveRoute(w, r, c, rt, body, ms)
		return
	}
	c.deployment = d
	upBody, stripUsage := rewrite(body, ms, d, c.stream)

	ctx, cancel := context.WithTimeout(r.Context(), d.cfg.Timeout.D())
	defer cancel()
	// A model call may outlast the server's write timeout (made for the
	// other endpoints): the deployment's timeout bounds it instead.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d.cfg.Timeout.D() + 5*time.Second))
	req, err := g.upstreamRequest(ctx, r, d, op, upBody, c.traceID, c.spanID)
	if err != nil {
		g.fail(w, c, http.StatusInternalServerError, "gateway_error", err.Error())
		return
	}
	c.upstream = req.URL.Host
	c.mask = newMasker(req.Header.Get("Authorization"), req.Header.Get("api-key"))
	resp, err := d.client.Do(req)
	if err != nil {
		if r.Context().Err() != nil {
			c.status, c.errType, c.errMsg = 499, "client_disconnected", "the client went away before the upstream answered"
			g.finish(c)
			return
		}
		status, code, msg := transportFailure(err, d, req)
		g.fail(w, c, status, code, msg)
		return
	}
	defer resp.Body.Close()
	g.relay(w, r, c, resp, nil, stripUsage, cancel)
}

// transportFailure is the answer to a call whose upstream could not be
// reached or did not answer in time.
func transportFailure(err error, d *deployment, req *http.Request) (int, string, string) {
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return http.StatusGatewayTimeout, "upstream_timeout", "genscope gateway: deployment " + d.cfg.Name + " did not answer in time"
	}
	return http.StatusBadGateway, "upstream_unreachable", "genscope gateway: deployment " + d.cfg.Name + " is unreachable: " + redactErr(err, req)
}

// relay sends the upstream's answer to the client (a stream event by
// event; sr is its reader when the first bytes were already waited for)
// and records the call.
func (g *Gateway) relay(w http.ResponseWriter, r *http.Request, c *call, resp *http.Response, sr *sseReader, stripUsage bool, cancel context.CancelFunc) {
	c.status = resp.StatusCode
	copyResponseHeader(w.Header(), resp.Header)
	c.mask.header(w.Header())
	c.contentType = resp.Header.Get("Content-Type")
	ct, _, _ := mime.ParseMediaType(c.contentType)
	if c.stream && resp.StatusCode < 300 && ct == "text/event-stream" {
		w.Header().Del("Content-Length")
		w.WriteHeader(resp.StatusCode)
		if sr == nil {
			sr = newSSEReader(resp.Body, maxEventBytes)
		}
		g.pipeStream(w, r, sr, c, stripUsage, c.deployment.cfg.StreamIdleTimeout.D(), cancel)
	} else {
		// The body passes unchanged, so its Content-Length holds.
		w.WriteHeader(resp.StatusCode)
		g.pipeBody(w, r, resp, c)
	}
	g.finish(c)
}

// newCall starts the record of a call: its project (answering 401 and
// reporting false when the client's key names none), its trace context
// (continued from traceparent or new) and the session and user headers.
func (g *Gateway) newCall(w http.ResponseWriter, r *http.Request, op string) (*call, bool) {
	c := &call{op: op, start: time.Now()}
	var who quota.Caller
	if in := internalCall(r); in != nil {
		// A call genscope makes itself (an evaluator's judge) counts
		// against its project's limits and budgets like any other.
		c.internal, who = in, quota.Caller{Project: in.Project}
	} else {
		var err error
		if who, err = g.caller(r); err != nil {
			writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", err.Error())
			return nil, false
		}
	}
	c.project, c.who = who.Project, who
	c.traceID, c.parentID = parseTraceparent(r.Header.Get("traceparent"))
	if c.traceID.IsZero() {
		putUint64(c.traceID[:8], rand.Uint64())
		putUint64(c.traceID[8:], rand.Uint64())
	}
	putUint64(c.spanID[:], rand.Uint64()|1)
	c.sessionID = firstHeader(r, "x-session-id", "x-genscope-session-id")
	c.userID = firstHeader(r, "x-user-id", "x-genscope-user-id")
	w.Header().Set("x-genscope-trace-id", c.traceID.String())
	return c, true
}

// unknownDeployment answers a call naming no served deployment the way
// its API would (Azure's DeploymentNotFound, or OpenAI's model errors),
// listing the deployments served here.
func (g *Gateway) unknownDeployment(w http.ResponseWriter, name string, azure bool) {
	served := strings.Join(g.order, ", ")
	switch {
	case azure:
		writeAzureError(w, http.StatusNotFound, "DeploymentNotFound", "The API deployment for this resource does not exist. Deployments served here: "+served+".")
	case name == "":
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "you must provide a model parameter; deployments served here: "+served)
	default:
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "The model `"+name+"` does not exist or you do not have access to it. Deployments served here: "+served+".")
	}
	g.m.requests.WithLabelValues("", "4xx").Inc()
}

// rewrite makes the upstream's body: the deployment's model name, and
// include_usage on streams. It reports whether the usage chunk must be
// removed from the stream again.
func rewrite(body []byte, ms []member, d *deployment, stream bool) ([]byte, bool) {
	var edits []edit
	if d.cfg.Type != DeploymentAzureOpenAI {
		m, ok := find(body, ms, "model")
		want := strconv.Quote(d.cfg.Model)
		switch {
		case !ok:
			// Azure-style clients send no model: the upstream needs one.
			at := ms0Start(body, ms)
			text := want
			if len(ms) > 0 {
				text = `"model":` + want + `,`
			} else {
				text = `"model":` + want
			}
			edits = append(edits, edit{start: at, end: at, text: []byte(text)})
		case string(m.value(body)) != want && stringValue(m.value(body)) != d.cfg.Model:
			edits = append(edits, edit{start: m.valStart, end: m.valEnd, text: []byte(want)})
		}
	}
	strip := false
	if stream {
		so, ok := find(body, ms, "stream_options")
		switch {
		case !ok:
			at := ms[len(ms)-1].valEnd
			edits = append(edits, edit{start: at, end: at, text: []byte(`,"stream_options":{"include_usage":true}`)})
			strip = true
		case !includeUsage(so.value(body)):
			inner, err := topLevel(so.value(body))
			if err != nil {
				break // the upstream will say what is wrong with it
			}
			val := so.value(body)
			if iu, ok := find(val, inner, "include_usage"); ok {
				edits = append(edits, edit{start: so.valStart + iu.valStart, end: so.valStart + iu.valEnd, text: []byte("true")})
			} else if len(inner) == 0 {
				edits = append(edits, edit{start: so.valStart, end: so.valEnd, text: []byte(`{"include_usage":true}`)})
			} else {
				at := so.valStart + inner[len(inner)-1].valEnd
				edits = append(edits, edit{start: at, end: at, text: []byte(`,"include_usage":true`)})
			}
			strip = true
		}
	}
	if len(edits) == 0 {
		return body, false
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	return applyEdits(body, edits), strip
}

func ms0Start(body []byte, ms []member) int {
	if len(ms) > 0 {
		return ms[0].keyStart
	}
	return bytes.IndexByte(body, '{') + 1
}

func includeUsage(v []byte) bool {
	ms, err := topLevel(v)
	if err != nil {
		return false
	}
	iu, ok := find(v, ms, "include_usage")
	return ok && string(iu.value(v)) == "true"
}

// upstreamRequest builds the request to the deployment's upstream.
func (g *Gateway) upstreamRequest(ctx context.Context, r *http.Request, d *deployment, op string, body []byte, trace genai.TraceID, parent genai.SpanID) (*http.Request, error) {
	u := *d.base
	path := "/chat/completions"
	if op == opEmbeddings {
		path = "/embeddings"
	}
	q := url.Values{}
	if d.cfg.Type == DeploymentAzureOpenAI {
		u.Path = strings.TrimRight(u.Path, "/") + "/openai/deployments/" + url.PathEscape(d.cfg.AzureDeployment) + path
		v := r.URL.Query().Get("api-version")
		if v == "" {
			v = d.cfg.APIVersion
		}
		q.Set("api-version", v)
		u.RawQuery = q.Encode()
	} else {
		u.Path = strings.TrimRight(u.Path, "/") + path
		u.RawQuery = ""
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for _, h := range forwardHeaders {
		if v := r.Header.Values(h); len(v) > 0 {
			req.Header[h] = v
		}
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	flags := "01"
	if tp := r.Header.Get("traceparent"); len(tp) == 55 {
		flags = tp[53:]
	}
	req.Header.Set("traceparent", "00-"+trace.String()+"-"+parent.String()+"-"+flags)
	switch {
	case d.sim != nil:
		// in-process: no credential travels anywhere
	case d.cfg.APIKey.IsSet() && d.cfg.Type == DeploymentAzureOpenAI:
		req.Header.Set("api-key", d.cfg.APIKey.Reveal())
	case d.cfg.APIKey.IsSet():
		req.Header.Set("Authorization", "Bearer "+d.cfg.APIKey.Reveal())
	default:
		// No key configured: the client's own credential goes to the
		// upstream it meant to call, and nowhere else.
		if v := r.Header.Get("Authorization"); v != "" && !genscopeKey(v) {
			req.Header.Set("Authorization", v)
		}
		if v := r.Header.Get("api-key"); v != "" && !genscopeKey(v) {
			req.Header.Set("api-key", v)
		}
	}
	return req, nil
}

// genscopeKey reports whether a credential header's value is a genscope
// key (gsk_ and 43 base64url characters, bare or as "Bearer ..."): the
// gateway's own credential, never sent upstream. Other gsk_ keys (Groq's
// are longer) pass.
func genscopeKey(v string) bool {
	v = strings.TrimSpace(v)
	if scheme, tok, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "bearer") {
		v = strings.TrimSpace(tok)
	}
	rest, ok := strings.CutPrefix(v, "gsk_")
	if !ok || len(rest) != 43 {
		return false
	}
	for _, c := range []byte(rest) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// forwardHeaders are the client headers an upstream gets (credentials are
// handled apart).
var forwardHeaders = []string{
	"Content-Type", "Accept", "User-Agent", "Openai-Organization", "Openai-Project", "Openai-Beta",
	"Idempotency-Key", "X-Request-Id", "X-Ms-Client-Request-Id", "Tracestate",
	"X-Stainless-Lang", "X-Stainless-Package-Version", "X-Stainless-Os", "X-Stainless-Arch",
	"X-Stainless-Runtime", "X-Stainless-Runtime-Version", "X-Stainless-Retry-Count", "X-Stainless-Timeout",
}

// copyResponseHeader copies an upstream's answer headers, without the
// hop-by-hop ones.
func copyResponseHeader(dst, src http.Header) {
	for k, v := range src {
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Te", "Trailer", "Upgrade", "Set-Cookie", "Alt-Svc":
			continue
		}
		dst[k] = v
	}
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// pipeBody copies a whole (non-streamed) answer, keeping up to
// MaxRecordBytes of it for the record.
func (g *Gateway) pipeBody(w http.ResponseWriter, r *http.Request, resp *http.Response, c *call) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	keep := g.opts.MaxRecordBytes
	ms := maskStream{m: c.mask}
	send := func(out []byte) bool {
		if len(out) == 0 {
			return true
		}
		if int64(len(c.respBody)+len(out)) <= keep {
			c.respBody = append(c.respBody, out...)
		} else {
			c.dropped = true
		}
		if _, werr := w.Write(out); werr != nil {
			c.status, c.errType, c.errMsg = 499, "client_disconnected", "the client went away while the answer was sent"
			return false
		}
		return true
	}
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 && !send(ms.next(buf[:n])) {
			return
		}
		if rerr == io.EOF {
			send(ms.rest())
			return
		}
		if rerr != nil {
			if r.Context().Err() != nil {
				c.status, c.errType, c.errMsg = 499, "client_disconnected", "the client went away while the answer was sent"
				return
			}
			c.errType, c.errMsg = "upstream_interrupted", "the upstream's answer broke off: "+rerr.Error()
			g.finish(c)
			panic(http.ErrAbortHandler) // the client must see a broken answer, not a short one
		}
	}
}

// pipeStream forwards a server-sent event stream chunk by chunk, as each
// arrives, and keeps the chunks' data for the record.
func (g *Gateway) pipeStream(w http.ResponseWriter, r *http.Request, sr *sseReader, c *call, stripUsage bool, idle time.Duration, cancel context.CancelFunc) {
	rc := http.NewResponseController(w)
	timer := time.AfterFunc(idle, cancel)
	defer timer.Stop()
	keep := int(g.opts.MaxRecordBytes)
	em := eventMasker{m: c.mask} // a key spelled out across events
	send := func(evs [][]byte) bool {
		wrote := false
		for _, ev := range evs {
			if len(ev) == 0 {
				continue
			}
			if _, werr := w.Write(ev); werr != nil {
				c.status, c.errType, c.errMsg = 499, "client_disconnected", "the client went away during the stream"
				return false
			}
			wrote = true
		}
		// Flush unless the next event has already arrived whole: then
		// both go out together, as they came in, in one write.
		if wrote && !sr.eventBuffered() {
			if ferr := rc.Flush(); ferr != nil {
				c.status, c.errType, c.errMsg = 499, "client_disconnected", "the client went away during the stream"
				return false
			}
		}
		return true
	}
	for {
		raw, data, hasData, err := sr.next()
		c.mask.bytes(raw)
		c.mask.bytes(data)
		at := time.Since(c.start)
		timer.Reset(idle)
		out := raw
		if hasData && stripUsage {
			out = stripUsageEvent(raw, data)
		}
		if len(out) > 0 && !send(em.push(out)) {
			return
		}
		if err != nil && !send(em.flush()) { // the end: what was held goes out
			return
		}
		if hasData && len(data) > 0 && data[0] == '{' {
			keepIt := len(c.evBuf)+len(data) <= keep
			if !keepIt {
				c.dropped = true
				// the usage chunk is small and comes last: keep it
				keepIt = bytes.Contains(data, []byte(`"usage":{`))
			}
			if keepIt {
				start := len(c.evBuf)
				c.evBuf = append(c.evBuf, data...)
				c.events = append(c.events, event{at: at, start: start, end: len(c.evBuf)})
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			switch {
			case r.Context().Err() != nil:
				c.status, c.errType, c.errMsg = 499, "client_disconnected", "the client went away during the stream"
				return
			case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
				c.errType, c.errMsg = "upstream_timeout", "the upstream's stream stalled or ran past the deployment's timeout"
			default:
				c.errType, c.errMsg = "upstream_interrupted", "the upstream's stream broke off: "+err.Error()
			}
			g.finish(c)
			panic(http.ErrAbortHandler) // the client sees a broken stream, as from the upstream
		}
	}
}

// stripUsageEvent returns the bytes to forward for an event when the
// client did not ask for usage: nothing for the usage chunk, the event
// without its "usage":null member otherwise.
func stripUsageEvent(raw, data []byte) []byte {
	if !bytes.Contains(data, []byte(`"usage"`)) {
		return raw
	}
	// Fast path: OpenAI puts "usage":null last, and the event is one
	// data line.
	const tail = `,"usage":null}`
	if bytes.HasSuffix(data, []byte(tail)) && bytes.HasPrefix(raw, []byte("data: ")) && bytes.HasPrefix(raw[6:], data) {
		rest := raw[6+len(data):]
		if string(rest) == "\n\n" || string(rest) == "\r\n\r\n" {
			out := make([]byte, 0, len(raw))
			out = append(out, raw[:6+len(data)-len(tail)]...)
			out = append(out, '}')
			return append(out, rest...)
		}
	}
	ms, err := topLevel(data)
	if err != nil {
		return raw
	}
	k := -1
	for i, m := range ms {
		if m.key(data) == "usage" {
			k = i
		}
	}
	if k < 0 {
		return raw
	}
	if v := ms[k].value(data); string(v) != "null" {
		if ch, ok := find(data, ms, "choices"); ok && isEmptyArray(ch.value(data)) {
			return nil // the extra chunk that carries only the usage
		}
		return raw
	}
	at := bytes.Index(raw, data)
	if at < 0 {
		return raw
	}
	e := removeMember(data, ms, k)
	edited := applyEdits(data, []edit{e})
	out := make([]byte, 0, len(raw))
	out = append(out, raw[:at]...)
	out = append(out, edited...)
	return append(out, raw[at+len(data):]...)
}

func isEmptyArray(v []byte) bool {
	v = bytes.TrimSpace(v)
	if len(v) < 2 || v[0] != '[' || v[len(v)-1] != ']' {
		return false
	}
	return len(bytes.TrimSpace(v[1:len(v)-1])) == 0
}

// fail answers the client with a gateway error and records the call.
func (g *Gateway) fail(w http.ResponseWriter, c *call, status int, code, msg string) {
	msg = c.mask.string(msg)
	c.status, c.errType, c.errMsg = status, code, msg
	writeError(w, status, "genscope_gateway_error", code, msg)
	g.finish(c)
}

// finish counts the call and hands it to the record workers.
func (g *Gateway) finish(c *call) {
	if !c.end.IsZero() {
		return
	}
	c.end = time.Now()
	g.m.requests.WithLabelValues(c.deployment.cfg.Name, statusClass(c.status)).Inc()
	if c.errType != "" {
		g.m.failures.WithLabelValues(c.deployment.cfg.Name, g.opts.Labels.Value("genscope_gateway_failures_total", "error_type", c.errType)).Inc()
	}
	g.submit(c)
}

func statusClass(s int) string {
	switch {
	case s == 499:
		return "client_closed"
	case s >= 500:
		return "5xx"
	case s >= 400:
		return "4xx"
	case s >= 300:
		return "3xx"
	default:
		return "2xx"
	}
}

type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// writeError answers in OpenAI's error shape.
func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	e := apiError{Message: msg, Type: typ}
	if code != "" {
		e.Code = &code
	}
	jsonhttp.Write(w, status, struct {
		Error apiError `json:"error"`
	}{e})
}

// writeAzureError answers in Azure OpenAI's error shape.
func writeAzureError(w http.ResponseWriter, status int, code, msg string) {
	jsonhttp.Write(w, status, map[string]map[string]string{"error": {"code": code, "message": msg}})
}

// redactErr describes a transport error without the request's URL query
// (where a key might be) or anything but the host.
func redactErr(err error, req *http.Request) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return req.URL.Host + ": " + err.Error()
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func firstHeader(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := r.Header.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// parseTraceparent reads a W3C traceparent; zero ids when it is absent or
// malformed.
func parseTraceparent(v string) (genai.TraceID, genai.SpanID) {
	if len(v) != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' || v[:2] == "ff" {
		return genai.TraceID{}, genai.SpanID{}
	}
	t, err1 := genai.ParseTraceID(v[3:35])
	s, err2 := genai.ParseSpanID(v[36:52])
	if err1 != nil || err2 != nil || t.IsZero() || s.IsZero() {
		return genai.TraceID{}, genai.SpanID{}
	}
	return t, s
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}

func stringMember(b []byte, ms []member, name string) string {
	m, ok := find(b, ms, name)
	if !ok {
		return ""
	}
	return stringValue(m.value(b))
}

func stringValue(v []byte) string {
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1])
	}
	var out string
	if json.Unmarshal(v, &out) != nil {
		return ""
	}
	return out
}

func boolMember(b []byte, ms []member, name string) bool {
	m, ok := find(b, ms, name)
	return ok && string(m.value(b)) == "true"
}
