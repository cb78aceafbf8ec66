package appinsights

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genscope/genscope/internal/ingest/httpbody"
	"github.com/genscope/genscope/internal/jsonhttp"
	"github.com/genscope/genscope/internal/process"
	"github.com/genscope/genscope/internal/store"
)

// Sink takes converted records: the processing stage (process.Stage), in
// front of the recorder. Submit returns when the batch is durable, or
// with process.ErrFull, process.ErrClosed, an error wrapping
// process.ErrStore, or the context's error.
type Sink interface {
	Submit(ctx context.Context, b *store.Batch) error
}

var _ Sink = (*process.Stage)(nil)

// Defaults of Options.
const (
	DefaultMaxBodyBytes = 16 << 20
	DefaultRetryAfter   = 2 * time.Second
)

// Options configure a Receiver. The zero value is usable.
type Options struct {
	// MaxBodyBytes bounds a request body after decompression (and, with a
	// little slack, before it); a larger one is answered 413. Default 16 MiB.
	MaxBodyBytes int64
	// RetryAfter is the delay suggested, in a Retry-After header rounded up
	// to seconds, to clients refused because storage cannot take the data.
	// Default 2s.
	RetryAfter time.Duration
	// ProjectFor names the project of an instrumentation key, or returns an
	// error to refuse the items sent with it (400: the exporters drop them).
	// Nil means every key belongs to tenancy.DefaultProject.
	ProjectFor func(ikey string) (string, error)
	// Gate bounds the bytes of request bodies in flight, shared with the
	// other receivers; a body that does not fit is answered 429 with
	// Retry-After before it is read. Nil: no bound but MaxBodyBytes.
	Gate *httpbody.Gate
}

// Receiver serves the Application Insights track endpoints.
type Receiver struct {
	sink Sink
	opts Options
	log  *slog.Logger
	m    *metrics

	bodies *httpbody.Reader
}

// New returns a Receiver handing records to sink, with its metrics
// registered on reg (nil: not registered).
func New(sink Sink, opts Options, log *slog.Logger, reg prometheus.Registerer) (*Receiver, error) {
	if sink == nil {
		return nil, errors.New("appinsights receiver: nil sink")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("appinsights receiver metrics: %w", err)
	}
	return &Receiver{sink: sink, opts: opts, log: log, m: m, bodies: httpbody.NewGated(opts.MaxBodyBytes, opts.Gate)}, nil
}

// The paths served.
var paths = []string{"/v2/track", "/v2.1/track"}

// Register adds POST /v2/track and POST /v2.1/track to mux.
func (r *Receiver) Register(mux *http.ServeMux) {
	for _, p := range paths {
		mux.HandleFunc("POST "+p, r.serveTrack)
	}
}

// Wrap serves the track paths written with more than one leading slash
// ("//v2.1/track", which exporters build from an endpoint ending in a
// slash) itself and passes every other request to next: a ServeMux would
// answer them with a redirect, on which exporters drop the data.
func (r *Receiver) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := req.URL.Path
		if req.Method == http.MethodPost && strings.HasPrefix(p, "//") {
			trimmed := "/" + strings.TrimLeft(p, "/")
			for _, want := range paths {
				if trimmed == want {
					r.serveTrack(w, req)
					return
				}
			}
		}
		next.ServeHTTP(w, req)
	})
}

// httpError is a failed request's answer.
type httpError struct {
	status int
	msg    string // for the client; never payload content
	err    error  // the cause, for the log
}

func (r *Receiver) serveTrack(w http.ResponseWriter, req *http.Request) {
	body, lease, herr := r.readBody(w, req)
	defer lease.Release()
	if herr != nil {
		r.fail(w, req, herr, response{Errors: []itemError{}})
		return
	}
	// Decoded a few at a time (see httpbody.Gate.Work); the slot is given
	// back before the batch waits for the store.
	decoded, err := r.opts.Gate.Work(req.Context())
	if err != nil {
		herr := &httpError{status: http.StatusServiceUnavailable, msg: "request canceled", err: err}
		if req.Context().Err() == nil {
			herr = bodyError(err) // the queue is full: 429
		}
		r.fail(w, req, herr, response{Errors: []itemError{}})
		return
	}
	defer decoded()
	items, err := splitItems(body)
	if errors.Is(err, errTooDeep) {
		r.fail(w, req, &httpError{status: http.StatusBadRequest, msg: err.Error(), err: err}, response{Errors: []itemError{}})
		return
	}
	if err != nil {
		r.fail(w, req, &httpError{status: http.StatusBadRequest, msg: clip(err.Error()), err: err}, response{Errors: []itemError{}})
		return
	}
	var c converted
	if err := safely(func() { c = convert(items, r.opts.ProjectFor) }); err != nil {
		r.m.rejected.WithLabelValues(typeInvalid, reasonInternal).Add(float64(len(items)))
		r.fail(w, req, &httpError{status: http.StatusInternalServerError, msg: "internal error converting the payload", err: err},
			response{ItemsReceived: len(items), Errors: []itemError{}})
		return
	}
	decoded()
	for t, n := range c.received {
		r.m.received.WithLabelValues(t).Add(float64(n))
	}
	for t, n := range c.rejected {
		r.m.rejected.WithLabelValues(t, reasonInvalid).Add(float64(n))
	}
	accepted := func(reason string) {
		for t, n := range c.received {
			n -= c.rejected[t]
			if reason == "" {
				r.m.accepted.WithLabelValues(t).Add(float64(n))
			} else {
				r.m.rejected.WithLabelValues(t, reason).Add(float64(n))
			}
		}
	}
	if c.resp.ItemsAccepted == 0 && c.resp.ItemsReceived > 0 {
		// Nothing good: a 400, so that the exporter drops the lot.
		r.fail(w, req, &httpError{status: http.StatusBadRequest, msg: c.resp.Errors[0].Message}, c.resp)
		return
	}
	if c.batch.Len() > 0 {
		if err := r.sink.Submit(req.Context(), &c.batch); err != nil {
			reason := reasonUnavailable
			switch {
			case errors.Is(err, process.ErrFull):
				reason = reasonOverload
			case req.Context().Err() != nil:
				reason = reasonAbandoned
			}
			accepted(reason)
			// Every item is retriable: the exporter keeps the batch.
			resp := response{ItemsReceived: c.resp.ItemsReceived, Errors: []itemError{}}
			r.fail(w, req, &httpError{status: http.StatusServiceUnavailable, msg: "storage unavailable: retry later", err: err}, resp)
			return
		}
	}
	accepted("")
	r.m.ignored.Add(float64(c.ignored))
	code := http.StatusOK
	if len(c.resp.Errors) > 0 {
		code = http.StatusPartialContent
		r.log.LogAttrs(req.Context(), slog.LevelDebug, "appinsights partial success",
			slog.Int("received", c.resp.ItemsReceived), slog.Int("rejected", len(c.resp.Errors)),
			slog.String("reason", c.resp.Errors[0].Message))
	}
	r.m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	jsonhttp.Write(w, code, c.resp)
}

// fail counts, logs and answers a failed request.
func (r *Receiver) fail(w http.ResponseWriter, req *http.Request, herr *httpError, resp response) {
	r.m.requests.WithLabelValues(strconv.Itoa(herr.status)).Inc()
	level := slog.LevelDebug
	switch {
	case herr.status == http.StatusInternalServerError:
		level = slog.LevelError
	case herr.status >= 500:
		level = slog.LevelWarn
	}
	cause := herr.msg
	if herr.err != nil {
		cause = clip(herr.err.Error())
	}
	r.log.LogAttrs(req.Context(), level, "appinsights track failed",
		slog.Int("status", herr.status), slog.String("remote", req.RemoteAddr),
		slog.String("user_agent", clip(req.UserAgent())), slog.String("err", cause))
	retryable := herr.status == http.StatusServiceUnavailable || herr.status == http.StatusTooManyRequests
	if len(resp.Errors) == 0 && !retryable {
		resp.Errors = append(resp.Errors, itemError{Index: 0, StatusCode: herr.status, Message: herr.msg})
	}
	if retryable {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((r.opts.RetryAfter+time.Second-1)/time.Second), 10))
	}
	jsonhttp.Write(w, herr.status, resp)
}

// readBody reads the (maybe compressed) body, at most MaxBodyBytes after
// decompression, admitted through Options.Gate (see httpbody). The lease
// holds its bytes until the request is answered.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, *httpbody.Lease, *httpError) {
	buf, lease, err := r.bodies.ReadAdmitted(w, req, nil)
	if err == nil {
		return buf, lease, nil
	}
	return nil, lease, bodyError(err)
}

// bodyError answers an error of httpbody (a body not read, or not
// admitted).
func bodyError(err error) *httpError {
	var be *httpbody.Error
	if !errors.As(err, &be) {
		return &httpError{status: http.StatusBadRequest, msg: "cannot read request body", err: err}
	}
	return &httpError{status: be.Status(), msg: be.Msg, err: be.Err}
}

// safely runs f, turning a panic into an error: a payload that trips a
// converter bug must fail one request, not the process.
func safely(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("convert: panic: %v", p)
		}
	}()
	f()
	return nil
}

// Reasons of the rejected counter.
const (
	reasonInvalid     = "invalid"
	reasonOverload    = "overload"
	reasonUnavailable = "unavailable"
	reasonAbandoned   = "abandoned"
	reasonInternal    = "internal"
)

type metrics struct {
	received, accepted, rejected *prometheus.CounterVec
	ignored                      prometheus.Counter
	requests                     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &metrics{
		received: counter("genscope_appinsights_items_received_total",
			"Application Insights items in track requests whose body could be split into items, by base type (invalid: not an envelope).", "base_type"),
		accepted: counter("genscope_appinsights_items_accepted_total",
			"Application Insights items accepted, by base type: their records durably stored, or counted and dropped (metrics, events, plain logs).", "base_type"),
		rejected: counter("genscope_appinsights_items_rejected_total",
			"Application Insights items not stored, by base type and reason: invalid (answered 400 for the item; the exporter drops it), "+
				"overload or unavailable (answered 503; the exporter retries), abandoned (the client went away first), internal (a conversion bug; 500).",
			"base_type", "reason"),
		ignored: prometheus.NewCounter(prometheus.CounterOpts{Name: "genscope_appinsights_items_ignored_total",
			Help: "Accepted Application Insights items that carry nothing genscope stores (metrics, events, non-GenAI messages, exceptions of spans sent separately)."}),
		requests: counter("genscope_appinsights_requests_total",
			"Application Insights track requests by HTTP status answered.", "code"),
	}
	for _, t := range baseTypes {
		m.received.WithLabelValues(t)
		m.accepted.WithLabelValues(t)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.received, m.accepted, m.rejected, m.ignored, m.requests} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
