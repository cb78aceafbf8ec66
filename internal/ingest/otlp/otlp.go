package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc/metadata"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/ingest/httpbody"
	"github.com/genscope/genscope/internal/ingest/otlpconv"
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

// MetricWriter stores GenAI metric points durably (a store.MetricStore).
type MetricWriter interface {
	WriteMetrics(ctx context.Context, pts []genai.MetricPoint) error
}

var _ MetricWriter = store.MetricStore(nil)

// Defaults of Options.
const (
	DefaultMaxBodyBytes = 16 << 20
	DefaultRetryAfter   = 2 * time.Second
)

// Options configure a Receiver. The zero value is usable.
type Options struct {
	// MaxBodyBytes bounds a request body after decompression (and, with a
	// little slack for framing, before it); a larger one is answered 413.
	// It is also the suggested gRPC MaxRecvMsgSize. Default 16 MiB.
	MaxBodyBytes int64
	// RetryAfter is the delay suggested to clients refused because of
	// overload or unavailable storage. Default 2s; rounded up to seconds
	// for the HTTP Retry-After header.
	RetryAfter time.Duration
	// ProjectFor names the project of an HTTP request, or returns an error
	// to refuse it with 401. Nil means every request goes to tenancy.DefaultProject.
	// This is where per-project ingestion keys plug in.
	ProjectFor func(r *http.Request) (string, error)
	// GRPCProjectFor is ProjectFor for gRPC: md is the call's incoming
	// metadata; an error refuses the call with UNAUTHENTICATED.
	GRPCProjectFor func(ctx context.Context, md metadata.MD) (string, error)
	// Gate bounds the bytes of requests in flight, shared with the other
	// receivers: an HTTP body is admitted before it is read (429 with
	// Retry-After when it does not fit), a gRPC message before it is
	// decoded (RESOURCE_EXHAUSTED with RetryInfo). Nil: no bound but
	// MaxBodyBytes per request.
	Gate *httpbody.Gate
	// Metrics stores the GenAI metrics of /v1/metrics and the gRPC
	// MetricsService (otlpconv.Metrics). Nil: the store keeps no metrics,
	// and every point is rejected in a partial success saying so.
	Metrics MetricWriter
	// Evaluations takes the gen_ai.evaluation.result events of an
	// accepted export (span events and log records) without waiting (the
	// score writer's queue). Nil: they are kept as span events only.
	Evaluations func([]genai.Evaluation)
}

// Receiver serves OTLP over HTTP and gRPC.
type Receiver struct {
	sink Sink
	opts Options
	log  *slog.Logger
	m    *metrics

	bodies  *httpbody.Reader
	buffers sync.Pool // *[]byte for request bodies
}

// New returns a Receiver handing records to sink, with its metrics
// registered on reg (nil: not registered).
func New(sink Sink, opts Options, log *slog.Logger, reg prometheus.Registerer) (*Receiver, error) {
	if sink == nil {
		return nil, errors.New("otlp receiver: nil sink")
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
		return nil, fmt.Errorf("otlp receiver metrics: %w", err)
	}
	return &Receiver{sink: sink, opts: opts, log: log, m: m, bodies: httpbody.NewGated(opts.MaxBodyBytes, opts.Gate)}, nil
}

// Transports and signals, as metric label values.
const (
	transportHTTP = "http"
	transportGRPC = "grpc"
	signalTraces  = "traces"
	signalLogs    = "logs"
	signalMetrics = "metrics"
)

// outcome is what became of a decoded request, whatever the transport.
type outcome int

const (
	outcomeOK          outcome = iota // stored (maybe partially rejected)
	outcomeFull                       // sink queue full: retry later (429)
	outcomeUnavailable                // sink closed or store failing: retry later (503)
	outcomeCanceled                   // the caller gave up waiting
	outcomeInternal                   // conversion failed unexpectedly: do not retry
)

// result is the outcome of one export with what the answer needs.
type result struct {
	outcome  outcome
	rejected int    // records rejected as invalid (partial success)
	msg      string // why they were rejected
	err      error  // the cause of a failure, for the log
}

// exportTraces converts td and submits it, counting as it goes; decoded
// is called when td is converted, before the batch waits for the store.
func (r *Receiver) exportTraces(ctx context.Context, transport string, td ptrace.Traces, project string, decoded func()) result {
	received := td.SpanCount()
	r.m.spansReceived.WithLabelValues(transport).Add(float64(received))
	var (
		rejected int
		msg      string
		b        store.Batch
	)
	if err := safely(func() {
		b.Spans, rejected, msg = otlpconv.Traces(td, project)
	}); err != nil {
		r.m.spansRejected.WithLabelValues(transport, reasonInternal).Add(float64(received))
		return result{outcome: outcomeInternal, err: err}
	}
	decoded()
	spans := len(b.Spans)
	if rejected > 0 {
		r.m.spansRejected.WithLabelValues(transport, reasonInvalid).Add(float64(rejected))
		if msg == "" {
			msg = fmt.Sprintf("%d spans rejected", rejected)
		}
	}
	var evs []genai.Evaluation
	if r.opts.Evaluations != nil {
		evs = genai.SpanEvaluations(b.Spans) // before the store's writer may reuse the batch
	}
	res := r.submit(ctx, &b)
	res.rejected, res.msg = rejected, msg
	switch reason := refusalReason(res.outcome); reason {
	case "":
		r.m.spansAccepted.WithLabelValues(transport).Add(float64(spans))
		if len(evs) > 0 {
			r.opts.Evaluations(evs)
		}
	default:
		r.m.spansRejected.WithLabelValues(transport, reason).Add(float64(spans))
	}
	return res
}

// exportLogs converts ld and submits it, counting as it goes; decoded
// is called when ld is converted, before the batch waits for the store.
func (r *Receiver) exportLogs(ctx context.Context, transport string, ld plog.Logs, project string, decoded func()) result {
	received := ld.LogRecordCount()
	r.m.logsReceived.WithLabelValues(transport).Add(float64(received))
	var (
		ignored, rejected int
		msg               string
		b                 store.Batch
	)
	var evs []genai.Evaluation
	if err := safely(func() {
		b.Messages, ignored, rejected, msg = otlpconv.Logs(ld, project)
		if r.opts.Evaluations != nil {
			evs, _ = otlpconv.Evaluations(ld, project)
		}
	}); err != nil {
		r.m.logsRejected.WithLabelValues(transport, reasonInternal).Add(float64(received))
		return result{outcome: outcomeInternal, err: err}
	}
	decoded()
	r.m.logsIgnored.WithLabelValues(transport).Add(float64(ignored))
	if rejected > 0 {
		r.m.logsRejected.WithLabelValues(transport, reasonInvalid).Add(float64(rejected))
		if msg == "" {
			msg = fmt.Sprintf("%d log records rejected", rejected)
		}
	}
	// Counted in log records, not message records: one record may carry
	// several messages.
	content := max(received-ignored-rejected, 0)
	res := r.submit(ctx, &b)
	res.rejected, res.msg = rejected, msg
	switch reason := refusalReason(res.outcome); reason {
	case "":
		r.m.logsAccepted.WithLabelValues(transport).Add(float64(content))
		if len(evs) > 0 {
			r.opts.Evaluations(evs)
		}
	default:
		r.m.logsRejected.WithLabelValues(transport, reason).Add(float64(content))
	}
	return res
}

// exportMetrics converts md's GenAI points and stores them; every other
// point is rejected in the partial success, with why. decoded is called
// when md is converted, before the write waits for the store.
func (r *Receiver) exportMetrics(ctx context.Context, transport string, md pmetric.Metrics, project string, decoded func()) result {
	received := md.DataPointCount()
	r.m.metricsReceived.WithLabelValues(transport).Add(float64(received))
	var (
		pts      []genai.MetricPoint
		rejected int
		msg      string
	)
	if err := safely(func() {
		pts, rejected, msg = otlpconv.Metrics(md, project)
	}); err != nil {
		r.m.metricsRejected.WithLabelValues(transport, reasonInternal).Add(float64(received))
		return result{outcome: outcomeInternal, err: err}
	}
	decoded()
	if len(pts) > 0 && r.opts.Metrics == nil {
		rejected += len(pts)
		msg = joinMsg(fmt.Sprintf("%d GenAI data points were not stored: this server's store does not keep metrics", len(pts)), msg)
		pts = nil
	}
	if rejected > 0 {
		r.m.metricsRejected.WithLabelValues(transport, reasonInvalid).Add(float64(rejected))
	}
	res := result{outcome: outcomeOK}
	if len(pts) > 0 {
		err := r.opts.Metrics.WriteMetrics(ctx, pts)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			res = result{outcome: outcomeCanceled, err: err}
		default:
			res = result{outcome: outcomeUnavailable, err: err}
		}
	}
	res.rejected, res.msg = rejected, msg
	switch reason := refusalReason(res.outcome); reason {
	case "":
		r.m.metricsAccepted.WithLabelValues(transport).Add(float64(len(pts)))
	default:
		r.m.metricsRejected.WithLabelValues(transport, reason).Add(float64(len(pts)))
	}
	return res
}

func joinMsg(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

// submit hands b to the sink and classifies its answer.
func (r *Receiver) submit(ctx context.Context, b *store.Batch) result {
	if b.Len() == 0 {
		return result{outcome: outcomeOK}
	}
	err := r.sink.Submit(ctx, b)
	switch {
	case err == nil:
		return result{outcome: outcomeOK}
	case errors.Is(err, process.ErrFull):
		return result{outcome: outcomeFull, err: err}
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return result{outcome: outcomeCanceled, err: err}
	default:
		// ErrClosed, ErrStore, and anything unknown: nothing says the data
		// is bad, so let the client keep it and retry.
		return result{outcome: outcomeUnavailable, err: err}
	}
}

// safely runs f, turning a panic into an error: a payload that trips a
// converter bug must fail one request, not the process (gRPC handlers
// have no recovery of their own).
func safely(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("convert: panic: %v", p)
		}
	}()
	f()
	return nil
}

// Reasons of the rejected counters.
const (
	reasonInvalid     = "invalid"
	reasonOverload    = "overload"
	reasonUnavailable = "unavailable"
	reasonAbandoned   = "abandoned"
	reasonInternal    = "internal"
)

func refusalReason(o outcome) string {
	switch o {
	case outcomeFull:
		return reasonOverload
	case outcomeUnavailable:
		return reasonUnavailable
	case outcomeCanceled:
		return reasonAbandoned
	case outcomeInternal:
		return reasonInternal
	}
	return ""
}

type metrics struct {
	spansReceived, spansAccepted            *prometheus.CounterVec
	spansRejected                           *prometheus.CounterVec
	logsReceived, logsAccepted, logsIgnored *prometheus.CounterVec
	logsRejected                            *prometheus.CounterVec
	metricsReceived, metricsAccepted        *prometheus.CounterVec
	metricsRejected                         *prometheus.CounterVec
	requests                                *prometheus.CounterVec
}

const rejectedHelp = ` not stored, by reason: invalid (rejected by conversion and reported in a partial success; the client drops them), ` +
	`overload (refused with 429 / RESOURCE_EXHAUSTED because the recorder queue was full; the client retries), ` +
	`unavailable (refused with 503 / UNAVAILABLE because the recorder was closed or the store write failed; the client retries), ` +
	`abandoned (the client went away before the write finished; they may still have been stored), ` +
	`internal (conversion failed on a bug; answered 500 / INTERNAL).`

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &metrics{
		spansReceived: counter("genscope_otlp_spans_received_total",
			"Spans in OTLP trace requests that were decoded (a body that cannot be decoded counts no spans).", "transport"),
		spansAccepted: counter("genscope_otlp_spans_accepted_total",
			"Spans from OTLP durably stored before the request was answered with success.", "transport"),
		spansRejected: counter("genscope_otlp_spans_rejected_total",
			"Spans from OTLP"+rejectedHelp, "transport", "reason"),
		logsReceived: counter("genscope_otlp_log_records_received_total",
			"Log records in OTLP log requests that were decoded.", "transport"),
		logsAccepted: counter("genscope_otlp_log_records_accepted_total",
			"OTLP log records carrying GenAI content whose messages were durably stored.", "transport"),
		logsIgnored: counter("genscope_otlp_log_records_ignored_total",
			"OTLP log records accepted and dropped because they are not GenAI content events.", "transport"),
		logsRejected: counter("genscope_otlp_log_records_rejected_total",
			"OTLP log records"+rejectedHelp, "transport", "reason"),
		metricsReceived: counter("genscope_otlp_metric_points_received_total",
			"Data points in OTLP metric requests that were decoded.", "transport"),
		metricsAccepted: counter("genscope_otlp_metric_points_accepted_total",
			"GenAI metric data points from OTLP durably stored before the request was answered with success.", "transport"),
		metricsRejected: counter("genscope_otlp_metric_points_rejected_total",
			"OTLP metric data points"+rejectedHelp+" Invalid includes every point of a metric genscope does not keep.", "transport", "reason"),
		requests: counter("genscope_otlp_requests_total",
			"OTLP export requests by transport, signal and answer: the HTTP status (499 when the client went away first) or the gRPC code name.",
			"transport", "signal", "code"),
	}
	for _, t := range []string{transportHTTP, transportGRPC} {
		m.spansReceived.WithLabelValues(t)
		m.spansAccepted.WithLabelValues(t)
		m.logsReceived.WithLabelValues(t)
		m.logsAccepted.WithLabelValues(t)
		m.logsIgnored.WithLabelValues(t)
		m.metricsReceived.WithLabelValues(t)
		m.metricsAccepted.WithLabelValues(t)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{
		m.spansReceived, m.spansAccepted, m.spansRejected,
		m.logsReceived, m.logsAccepted, m.logsIgnored, m.logsRejected,
		m.metricsReceived, m.metricsAccepted, m.metricsRejected, m.requests,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
