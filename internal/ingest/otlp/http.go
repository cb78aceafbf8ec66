package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/ingest/httpbody"
	"github.com/genscope/genscope/internal/ingest/otlpconv"
	"github.com/genscope/genscope/internal/jsondepth"
	"github.com/genscope/genscope/internal/tenancy"
)

// Register adds POST /v1/traces, /v1/logs and /v1/metrics to mux.
func (r *Receiver) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/traces", r.serveTraces)
	mux.HandleFunc("POST /v1/logs", r.serveLogs)
	mux.HandleFunc("POST /v1/metrics", r.serveMetrics)
}

// serveMetrics stores the GenAI metrics of an OTLP metrics request
// (Receiver.exportMetrics) and rejects every other point in a partial
// success that says it was not kept.
func (r *Receiver) serveMetrics(w http.ResponseWriter, req *http.Request) {
	r.serveHTTP(w, req, signalMetrics, func(ctx context.Context, body []byte, enc encoding, project string, decoded func()) (result, *httpError) {
		er := pmetricotlp.NewExportRequest()
		if herr := unmarshal(er, body, enc); herr != nil {
			return result{}, herr
		}
		if herr := checkDepth(otlpconv.CheckMetricsDepth(er.Metrics())); herr != nil {
			return result{}, herr
		}
		return r.exportMetrics(ctx, transportHTTP, er.Metrics(), project, decoded), nil
	}, func(res result, enc encoding) ([]byte, error) {
		resp := metricsResponse(res)
		if enc == encJSON {
			return resp.MarshalJSON()
		}
		return resp.MarshalProto()
	})
}

// metricsResponse is the answer to a metrics export that succeeded.
func metricsResponse(res result) pmetricotlp.ExportResponse {
	resp := pmetricotlp.NewExportResponse()
	if res.rejected > 0 {
		resp.PartialSuccess().SetRejectedDataPoints(int64(res.rejected))
		resp.PartialSuccess().SetErrorMessage(res.msg)
	}
	return resp
}

// encoding is a request's (and so its response's) payload encoding.
type encoding int

const (
	encProto encoding = iota
	encJSON
)

func (e encoding) String() string {
	if e == encJSON {
		return "json"
	}
	return "protobuf"
}

func (e encoding) contentType() string {
	if e == encJSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

// httpError is a failed HTTP request's answer.
type httpError struct {
	status int        // HTTP status
	code   codes.Code // Status.code in the body
	msg    string     // Status.message: for the client; never payload content
	err    error      // the cause, for the log
}

func (r *Receiver) serveTraces(w http.ResponseWriter, req *http.Request) {
	r.serveHTTP(w, req, signalTraces, func(ctx context.Context, body []byte, enc encoding, project string, decoded func()) (result, *httpError) {
		er := ptraceotlp.NewExportRequest()
		if herr := unmarshal(er, body, enc); herr != nil {
			return result{}, herr
		}
		if herr := checkDepth(otlpconv.CheckTracesDepth(er.Traces())); herr != nil {
			return result{}, herr
		}
		res := r.exportTraces(ctx, transportHTTP, er.Traces(), project, decoded)
		return res, nil
	}, func(res result, enc encoding) ([]byte, error) {
		resp := ptraceotlp.NewExportResponse()
		if res.rejected > 0 {
			resp.PartialSuccess().SetRejectedSpans(int64(res.rejected))
			resp.PartialSuccess().SetErrorMessage(res.msg)
		}
		if enc == encJSON {
			return resp.MarshalJSON()
		}
		return resp.MarshalProto()
	})
}

func (r *Receiver) serveLogs(w http.ResponseWriter, req *http.Request) {
	r.serveHTTP(w, req, signalLogs, func(ctx context.Context, body []byte, enc encoding, project string, decoded func()) (result, *httpError) {
		er := plogotlp.NewExportRequest()
		if herr := unmarshal(er, body, enc); herr != nil {
			return result{}, herr
		}
		if herr := checkDepth(otlpconv.CheckLogsDepth(er.Logs())); herr != nil {
			return result{}, herr
		}
		res := r.exportLogs(ctx, transportHTTP, er.Logs(), project, decoded)
		return res, nil
	}, func(res result, enc encoding) ([]byte, error) {
		resp := plogotlp.NewExportResponse()
		if res.rejected > 0 {
			resp.PartialSuccess().SetRejectedLogRecords(int64(res.rejected))
			resp.PartialSuccess().SetErrorMessage(res.msg)
		}
		if enc == encJSON {
			return resp.MarshalJSON()
		}
		return resp.MarshalProto()
	})
}

// unmarshaler is an OTLP export request (traces or logs).
type unmarshaler interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

// maxJSONDepth bounds the nesting of an OTLP/JSON body, checked before it
// is decoded (pdata's JSON decoder recurses without a limit, allocating at
// every level): the envelope takes up to 14 levels (a metric exemplar's
// attribute), and each level of value nesting up to 4 (value, kvlistValue,
// values, key-value), so every value within genai.MaxValueDepth fits.
const maxJSONDepth = 16 + 4*genai.MaxValueDepth

func unmarshal(u unmarshaler, body []byte, enc encoding) *httpError {
	var err error
	if enc == encJSON {
		if derr := jsondepth.Check(body, maxJSONDepth); derr != nil {
			return depthError(fmt.Sprintf("request body: %v (attribute values may nest %d levels)", derr, genai.MaxValueDepth))
		}
		err = u.UnmarshalJSON(body)
	} else {
		err = u.UnmarshalProto(body)
	}
	if err != nil {
		if isRecursionLimit(err) {
			return depthError(fmt.Sprintf("request body: protobuf nested too deeply (attribute values may nest %d levels)", genai.MaxValueDepth))
		}
		return &httpError{
			status: http.StatusBadRequest,
			code:   codes.InvalidArgument,
			// The decoder's message may quote the body: the client gets
			// it, the log does not.
			msg: "cannot decode " + enc.contentType() + " body: " + clip(err.Error()),
			err: errors.New("cannot decode " + enc.String() + " body"),
		}
	}
	return nil
}

// isRecursionLimit reports whether err is pdata's protobuf decoder
// refusing nesting deeper than its recursion limit (100 messages: about
// 33 nested kvlists), an error it does not export.
func isRecursionLimit(err error) bool {
	return strings.Contains(err.Error(), "exceeded max recursion depth")
}

// depthError answers a request nested too deeply: 400, InvalidArgument.
func depthError(msg string) *httpError {
	return &httpError{status: http.StatusBadRequest, code: codes.InvalidArgument, msg: msg, err: errors.New(msg)}
}

// checkDepth refuses decoded values nested deeper than
// genai.MaxValueDepth (otlpconv.CheckTracesDepth).
func checkDepth(err error) *httpError {
	if err == nil {
		return nil
	}
	return depthError("request body: " + err.Error())
}

// serveHTTP is the transport part of both signals: check the headers, read
// the body within limits, decode and export it with do, answer with the
// response encode builds or with a google.rpc.Status.
func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request, signal string,
	do func(ctx context.Context, body []byte, enc encoding, project string, decoded func()) (result, *httpError),
	encode func(res result, enc encoding) ([]byte, error),
) {
	enc, ok := parseContentType(req.Header.Get("Content-Type"))
	if !ok {
		r.failHTTP(w, req, signal, encJSON, &httpError{
			status: http.StatusUnsupportedMediaType,
			code:   codes.InvalidArgument,
			msg:    fmt.Sprintf("unsupported Content-Type %q: want application/x-protobuf or application/json", clip(req.Header.Get("Content-Type"))),
		})
		return
	}
	project := tenancy.DefaultProject
	if r.opts.ProjectFor != nil {
		p, err := r.opts.ProjectFor(req)
		if err != nil {
			r.failHTTP(w, req, signal, enc, &httpError{
				status: http.StatusUnauthorized,
				code:   codes.Unauthenticated,
				msg:    err.Error(),
				err:    err,
			})
			return
		}
		project = p
	}

	buf := r.getBuffer()
	defer r.putBuffer(buf)
	body, lease, herr := r.readBody(w, req, (*buf)[:0])
	defer lease.Release() // the body, and what is decoded from it, are held until the answer
	*buf = body[:0]       // keep what the read grew, for the next request
	if herr != nil {
		r.failHTTP(w, req, signal, enc, herr)
		return
	}

	// Decoded a few at a time (see httpbody.Gate.Work); the slot is given
	// back before the batch waits for the store.
	var res result
	if decoded, err := r.opts.Gate.Work(req.Context()); err != nil {
		if req.Context().Err() == nil {
			r.failHTTP(w, req, signal, enc, bodyError(err)) // the queue is full: 429
			return
		}
		res = result{outcome: outcomeCanceled, err: err}
	} else {
		res, herr = do(req.Context(), body, enc, project, decoded)
		decoded()
		if herr != nil {
			r.failHTTP(w, req, signal, enc, herr)
			return
		}
	}
	switch res.outcome {
	case outcomeOK:
		body, err := encode(res, enc)
		if err != nil {
			r.failHTTP(w, req, signal, enc, &httpError{status: http.StatusInternalServerError, code: codes.Internal, msg: "cannot encode response", err: err})
			return
		}
		if res.rejected > 0 {
			r.log.LogAttrs(req.Context(), slog.LevelDebug, "otlp partial success",
				slog.String("transport", transportHTTP), slog.String("signal", signal),
				slog.Int("rejected", res.rejected), slog.String("reason", res.msg))
		}
		r.m.requests.WithLabelValues(transportHTTP, signal, "200").Inc()
		writeBody(w, enc, http.StatusOK, body)
	case outcomeFull:
		r.failHTTP(w, req, signal, enc, &httpError{status: http.StatusTooManyRequests, code: codes.ResourceExhausted,
			msg: "server overloaded: retry later", err: res.err})
	case outcomeUnavailable:
		r.failHTTP(w, req, signal, enc, &httpError{status: http.StatusServiceUnavailable, code: codes.Unavailable,
			msg: "storage unavailable: retry later", err: res.err})
	case outcomeCanceled:
		// The client went away (or the server is shutting the request
		// down). Nobody reads this answer; it is a 503 rather than
		// nothing so that a connection still open cannot see an implicit
		// 200 for data that may not be stored.
		r.m.requests.WithLabelValues(transportHTTP, signal, "499").Inc()
		r.log.LogAttrs(req.Context(), slog.LevelDebug, "otlp client went away",
			slog.String("transport", transportHTTP), slog.String("signal", signal))
		writeStatus(w, enc, http.StatusServiceUnavailable, r.retryableStatus(codes.Unavailable, "request canceled"), r.retryAfterHeader())
	default:
		r.failHTTP(w, req, signal, enc, &httpError{status: http.StatusInternalServerError, code: codes.Internal,
			msg: "internal error converting the payload", err: res.err})
	}
}

// readBody appends the (maybe compressed) body to buf, at most
// MaxBodyBytes after decompression, admitted through Options.Gate (see
// httpbody): a body that does not fit is answered 429 before it is read.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request, buf []byte) ([]byte, *httpbody.Lease, *httpError) {
	buf, lease, err := r.bodies.ReadAdmitted(w, req, buf)
	if err == nil {
		return buf, lease, nil
	}
	return buf, lease, bodyError(err)
}

// bodyError answers an error of httpbody (a body not read, or not
// admitted).
func bodyError(err error) *httpError {
	var be *httpbody.Error
	if !errors.As(err, &be) {
		return &httpError{status: http.StatusBadRequest, code: codes.InvalidArgument, msg: "cannot read request body", err: err}
	}
	code := codes.InvalidArgument
	if be.Kind == httpbody.Busy {
		code = codes.ResourceExhausted
	}
	return &httpError{status: be.Status(), code: code, msg: be.Msg, err: be.Err}
}

// failHTTP counts, logs and answers a failed request.
func (r *Receiver) failHTTP(w http.ResponseWriter, req *http.Request, signal string, enc encoding, herr *httpError) {
	r.m.requests.WithLabelValues(transportHTTP, signal, strconv.Itoa(herr.status)).Inc()
	level := slog.LevelDebug
	switch {
	case herr.status >= 500:
		level = slog.LevelWarn
	case herr.status == http.StatusTooManyRequests:
		level = slog.LevelInfo
	}
	if herr.code == codes.Internal {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("transport", transportHTTP),
		slog.String("signal", signal),
		slog.Int("status", herr.status),
		slog.String("remote", req.RemoteAddr),
		slog.String("user_agent", clip(req.UserAgent())),
	}
	if herr.err != nil {
		attrs = append(attrs, slog.String("err", clip(herr.err.Error())))
	} else {
		attrs = append(attrs, slog.String("err", herr.msg))
	}
	r.log.LogAttrs(req.Context(), level, "otlp export failed", attrs...)

	var st *status.Status
	header := ""
	switch herr.status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		st = r.retryableStatus(herr.code, herr.msg)
		header = r.retryAfterHeader()
	case http.StatusBadRequest:
		st = withDetails(status.New(herr.code, herr.msg), &errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Description: herr.msg}},
		})
	default:
		st = status.New(herr.code, herr.msg)
	}
	writeStatus(w, enc, herr.status, st, header)
}

// retryableStatus is a Status telling the client to retry after RetryAfter.
func (r *Receiver) retryableStatus(code codes.Code, msg string) *status.Status {
	return withDetails(status.New(code, msg), &errdetails.RetryInfo{RetryDelay: durationpb.New(r.opts.RetryAfter)})
}

// retryAfterHeader is RetryAfter in whole seconds, rounded up.
func (r *Receiver) retryAfterHeader() string {
	secs := (r.opts.RetryAfter + 999_999_999) / 1_000_000_000
	return strconv.FormatInt(int64(secs), 10)
}

func withDetails(st *status.Status, details ...protoadapt.MessageV1) *status.Status {
	if d, err := st.WithDetails(details...); err == nil {
		return d
	}
	return st
}

func writeStatus(w http.ResponseWriter, enc encoding, code int, st *status.Status, retryAfter string) {
	var (
		body []byte
		err  error
	)
	if enc == encJSON {
		body, err = protojson.Marshal(st.Proto())
	} else {
		body, err = proto.Marshal(st.Proto())
	}
	if err != nil {
		body = nil
	}
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	writeBody(w, enc, code, body)
}

func writeBody(w http.ResponseWriter, enc encoding, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", enc.contentType())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body) // the client may be gone; nothing to do about it
}

// parseContentType maps a Content-Type header to an encoding.
func parseContentType(v string) (encoding, bool) {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return 0, false
	}
	switch mt {
	case "application/x-protobuf", "application/protobuf":
		return encProto, true
	case "application/json":
		return encJSON, true
	}
	return 0, false
}

// clip bounds a client-supplied string before it is echoed or logged.
func clip(s string) string {
	const n = 120
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// maxPooledBuffer bounds the body buffers kept for reuse: one grown by a
// rare large request is left to the GC.
const maxPooledBuffer = 4 << 20

func (r *Receiver) getBuffer() *[]byte {
	if b, ok := r.buffers.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

func (r *Receiver) putBuffer(b *[]byte) {
	if cap(*b) > maxPooledBuffer {
		return
	}
	r.buffers.Put(b)
}
