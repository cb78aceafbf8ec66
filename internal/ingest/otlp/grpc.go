package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/genscope/genscope/internal/ingest/httpbody"
	"github.com/genscope/genscope/internal/tenancy"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcencoding "google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // registers the gzip compressor so gzip-compressed calls are accepted
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/ingest/otlpconv"
)

// RegisterGRPC registers the OTLP TraceService, LogsService and
// MetricsService on s, which must have been made with
// GRPCServerOptions: their requests reach the handlers undecoded (see
// rawCodec), so each is admitted through Options.Gate by its size, and
// refused with RESOURCE_EXHAUSTED when it does not fit, before it is
// decoded; a request that does not decode is INVALID_ARGUMENT (grpc-go
// answers a codec's failure with INTERNAL).
func (r *Receiver) RegisterGRPC(s *grpc.Server) {
	for _, svc := range grpcServices {
		s.RegisterService(&grpc.ServiceDesc{
			ServiceName: svc.name,
			HandlerType: (*any)(nil),
			Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: r.grpcHandler(svc.name+"/Export", svc.signal)}},
			Metadata:    svc.file,
		}, nil)
	}
}

// grpcServices are the OTLP services the receiver serves, each with one
// Export method.
var grpcServices = []struct{ name, file, signal string }{
	{"opentelemetry.proto.collector.trace.v1.TraceService", "opentelemetry/proto/collector/trace/v1/trace_service.proto", signalTraces},
	{"opentelemetry.proto.collector.logs.v1.LogsService", "opentelemetry/proto/collector/logs/v1/logs_service.proto", signalLogs},
	{"opentelemetry.proto.collector.metrics.v1.MetricsService", "opentelemetry/proto/collector/metrics/v1/metrics_service.proto", signalMetrics},
}

// grpcMethods maps each Export method's full name to its signal.
var grpcMethods = func() map[string]string {
	m := make(map[string]string, len(grpcServices))
	for _, svc := range grpcServices {
		m["/"+svc.name+"/Export"] = svc.signal
	}
	return m
}()

// rawMessage is a gRPC message as bytes: rawCodec leaves requests to the
// handler to decode, and sends responses the handler encoded.
type rawMessage struct{ b []byte }

// rawCodec is the server's codec: rawMessages pass as bytes, anything
// else goes to grpc-go's protobuf codec.
type rawCodec struct{ proto grpcencoding.CodecV2 }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*rawMessage); ok {
		m.b = data.Materialize()
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (rawCodec) Name() string { return "proto" }

// grpcHandler serves one Export method: authenticate, admit the
// message's bytes, decode, check depth, export.
func (r *Receiver) grpcHandler(method, signal string) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	handle := func(ctx context.Context, req any) (any, error) {
		raw := req.(*rawMessage).b
		project, err := r.grpcProject(ctx)
		if err != nil {
			return nil, r.failGRPC(ctx, signal, status.New(codes.Unauthenticated, err.Error()), err)
		}
		if slot, ok := ctx.Value(grpcSlotKey{}).(*grpcSlot); ok {
			// Admitted before it was read (see grpcTap): hold no more
			// than the message now.
			defer slot.release()
			slot.shrink(int64(len(raw)))
		} else {
			lease := r.opts.Gate.Lease()
			defer lease.Release()
			if r.opts.Gate != nil && !lease.Grow(int64(len(raw))) {
				return nil, r.failGRPC(ctx, signal, r.busyStatus(), nil)
			}
		}
		// Decoded a few at a time (see httpbody.Gate.Work); the slot is
		// given back before the batch waits for the store.
		decoded, err := r.opts.Gate.Work(ctx)
		if err != nil {
			if ctx.Err() == nil {
				return nil, r.failGRPC(ctx, signal, r.busyStatus(), nil) // the queue is full
			}
			return nil, status.FromContextError(err).Err()
		}
		defer decoded()
		var (
			resp []byte
			st   *status.Status
		)
		switch signal {
		case signalTraces:
			resp, st = r.grpcTraces(ctx, raw, project, decoded)
		case signalLogs:
			resp, st = r.grpcLogs(ctx, raw, project, decoded)
		default:
			resp, st = r.grpcMetrics(ctx, raw, project, decoded)
		}
		if st != nil {
			return nil, st.Err()
		}
		return &rawMessage{b: resp}, nil
	}
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		m := new(rawMessage)
		if err := dec(m); err != nil {
			return nil, err
		}
		if interceptor == nil {
			return handle(ctx, m)
		}
		return interceptor(ctx, m, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + method}, handle)
	}
}

// busyStatus refuses a call because the Gate is full.
func (r *Receiver) busyStatus() *status.Status {
	return r.retryableStatus(codes.ResourceExhausted, r.opts.Gate.BusyMessage())
}

// grpcReadTimeout bounds how long an admitted call may take to send its
// message: the reservation of a client that trickles its bytes is given
// back, and the call fails with CANCELED.
const grpcReadTimeout = 30 * time.Second

// grpcSlotKey keys a call's *grpcSlot in its context.
type grpcSlotKey struct{}

// grpcSlot is what one Export call holds of the Gate: MaxBodyBytes from
// its start (grpcTap) until its message is read, then the message's size
// until it is handled. It is given back when the call ends, however it
// ends (a message too large, a client gone, a handler done).
type grpcSlot struct {
	mu    sync.Mutex
	lease *httpbody.Lease
	timer *time.Timer
}

func (s *grpcSlot) shrink(n int64) {
	s.mu.Lock()
	s.timer.Stop()
	s.lease.Shrink(n)
	s.mu.Unlock()
}

func (s *grpcSlot) release() {
	s.mu.Lock()
	s.timer.Stop()
	s.lease.Release()
	s.mu.Unlock()
}

// grpcTap admits an Export call before grpc-go reads its message, which
// it would otherwise read (up to MaxRecvMsgSize) for every concurrent
// call before the handler could refuse any: the call reserves
// MaxBodyBytes of the Gate — its message's size is not known yet — or is
// refused at once with RESOURCE_EXHAUSTED. The handler cuts the
// reservation to the message's size once read. So the messages of all
// gRPC calls together, read or being read, never exceed the Gate's
// limit, whatever the number of connections and streams. It runs under
// the transport's lock: it only takes the Gate's.
func (r *Receiver) grpcTap(ctx context.Context, info *tap.Info) (context.Context, error) {
	signal, ok := grpcMethods[info.FullMethodName]
	if !ok || r.opts.Gate == nil {
		return ctx, nil
	}
	lease := r.opts.Gate.Lease()
	if !lease.Grow(r.opts.MaxBodyBytes) {
		return nil, r.failGRPC(ctx, signal, r.busyStatus(), nil)
	}
	ctx, cancel := context.WithCancel(ctx)
	slot := &grpcSlot{lease: lease, timer: time.AfterFunc(grpcReadTimeout, cancel)}
	// The call's context ends with the call (grpc-go cancels it).
	context.AfterFunc(ctx, slot.release)
	return context.WithValue(ctx, grpcSlotKey{}, slot), nil
}

// decodeError is the status of a request that does not decode.
func (r *Receiver) decodeError(ctx context.Context, signal string, err error) *status.Status {
	msg := "cannot decode protobuf request: " + clip(err.Error())
	if isRecursionLimit(err) {
		msg = fmt.Sprintf("request: protobuf nested too deeply (attribute values may nest %d levels)", genai.MaxValueDepth)
	}
	st := invalidArgument(errors.New(msg))
	_ = r.failGRPC(ctx, signal, st, errors.New("cannot decode protobuf request"))
	return st
}

func (r *Receiver) grpcTraces(ctx context.Context, raw []byte, project string, decoded func()) ([]byte, *status.Status) {
	er := ptraceotlp.NewExportRequest()
	if err := er.UnmarshalProto(raw); err != nil {
		return nil, r.decodeError(ctx, signalTraces, err)
	}
	if err := otlpconv.CheckTracesDepth(er.Traces()); err != nil {
		st := invalidArgument(err)
		_ = r.failGRPC(ctx, signalTraces, st, err)
		return nil, st
	}
	res := r.exportTraces(ctx, transportGRPC, er.Traces(), project, decoded)
	if err := r.grpcError(ctx, signalTraces, res); err != nil {
		return nil, status.Convert(err)
	}
	resp := ptraceotlp.NewExportResponse()
	if res.rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(res.rejected))
		resp.PartialSuccess().SetErrorMessage(res.msg)
	}
	return marshalResponse(resp.MarshalProto())
}

func (r *Receiver) grpcLogs(ctx context.Context, raw []byte, project string, decoded func()) ([]byte, *status.Status) {
	er := plogotlp.NewExportRequest()
	if err := er.UnmarshalProto(raw); err != nil {
		return nil, r.decodeError(ctx, signalLogs, err)
	}
	if err := otlpconv.CheckLogsDepth(er.Logs()); err != nil {
		st := invalidArgument(err)
		_ = r.failGRPC(ctx, signalLogs, st, err)
		return nil, st
	}
	res := r.exportLogs(ctx, transportGRPC, er.Logs(), project, decoded)
	if err := r.grpcError(ctx, signalLogs, res); err != nil {
		return nil, status.Convert(err)
	}
	resp := plogotlp.NewExportResponse()
	if res.rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(int64(res.rejected))
		resp.PartialSuccess().SetErrorMessage(res.msg)
	}
	return marshalResponse(resp.MarshalProto())
}

// grpcMetrics stores the GenAI metrics of a request (see serveMetrics).
func (r *Receiver) grpcMetrics(ctx context.Context, raw []byte, project string, decoded func()) ([]byte, *status.Status) {
	er := pmetricotlp.NewExportRequest()
	if err := er.UnmarshalProto(raw); err != nil {
		return nil, r.decodeError(ctx, signalMetrics, err)
	}
	if err := otlpconv.CheckMetricsDepth(er.Metrics()); err != nil {
		st := invalidArgument(err)
		_ = r.failGRPC(ctx, signalMetrics, st, err)
		return nil, st
	}
	res := r.exportMetrics(ctx, transportGRPC, er.Metrics(), project, decoded)
	if err := r.grpcError(ctx, signalMetrics, res); err != nil {
		return nil, status.Convert(err)
	}
	return marshalResponse(metricsResponse(res).MarshalProto())
}

func marshalResponse(b []byte, err error) ([]byte, *status.Status) {
	if err != nil {
		return nil, status.New(codes.Internal, "cannot encode response")
	}
	return b, nil
}

// GRPCServerOptions are the server options the receiver needs: its codec
// (see RegisterGRPC), a receive limit of MaxBodyBytes (grpc-go applies it
// after decompression too, so no message held before admission is
// larger), admission through the Gate before a message is read (see
// grpcTap), keepalive that drops dead and idle connections, and a bound on
// the connection handshake. gzip-compressed calls are accepted (the
// compressor is registered by this package's import of
// google.golang.org/grpc/encoding/gzip).
func (r *Receiver) GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(rawCodec{proto: grpcencoding.GetCodecV2("proto")}),
		grpc.MaxRecvMsgSize(int(min(r.opts.MaxBodyBytes, int64(maxInt)))),
		grpc.InTapHandle(r.grpcTap),
		grpc.ConnectionTimeout(10 * time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: 15 * time.Minute,
			Time:              time.Minute,
			Timeout:           20 * time.Second,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             10 * time.Second,
			PermitWithoutStream: true,
		}),
	}
}

const maxInt = int(^uint(0) >> 1)

// invalidArgument is the status refusing a request with err's message.
func invalidArgument(err error) *status.Status {
	return withDetails(status.New(codes.InvalidArgument, err.Error()), &errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Description: err.Error()}},
	})
}

func (r *Receiver) grpcProject(ctx context.Context) (string, error) {
	if r.opts.GRPCProjectFor == nil {
		return tenancy.DefaultProject, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	return r.opts.GRPCProjectFor(ctx, md)
}

// grpcError maps a result to the call's error (nil on success), counting
// and logging it.
func (r *Receiver) grpcError(ctx context.Context, signal string, res result) error {
	switch res.outcome {
	case outcomeOK:
		if res.rejected > 0 {
			r.log.LogAttrs(ctx, slog.LevelDebug, "otlp partial success",
				slog.String("transport", transportGRPC), slog.String("signal", signal),
				slog.Int("rejected", res.rejected), slog.String("reason", res.msg))
		}
		r.m.requests.WithLabelValues(transportGRPC, signal, codes.OK.String()).Inc()
		return nil
	case outcomeFull:
		// RESOURCE_EXHAUSTED is retryable only with RetryInfo (OTLP spec).
		return r.failGRPC(ctx, signal, r.retryableStatus(codes.ResourceExhausted, "server overloaded: retry later"), res.err)
	case outcomeUnavailable:
		return r.failGRPC(ctx, signal, r.retryableStatus(codes.Unavailable, "storage unavailable: retry later"), res.err)
	case outcomeCanceled:
		st := status.FromContextError(ctx.Err())
		r.m.requests.WithLabelValues(transportGRPC, signal, st.Code().String()).Inc()
		r.log.LogAttrs(ctx, slog.LevelDebug, "otlp client went away",
			slog.String("transport", transportGRPC), slog.String("signal", signal))
		return st.Err()
	default:
		return r.failGRPC(ctx, signal, status.New(codes.Internal, "internal error converting the payload"), res.err)
	}
}

// failGRPC counts and logs a failed call and returns its error.
func (r *Receiver) failGRPC(ctx context.Context, signal string, st *status.Status, cause error) error {
	r.m.requests.WithLabelValues(transportGRPC, signal, st.Code().String()).Inc()
	level := slog.LevelDebug
	switch st.Code() {
	case codes.Unavailable:
		level = slog.LevelWarn
	case codes.ResourceExhausted:
		level = slog.LevelInfo
	case codes.Internal:
		level = slog.LevelError
	}
	remote := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		remote = p.Addr.String()
	}
	msg := st.Message()
	if cause != nil {
		msg = cause.Error()
	}
	r.log.LogAttrs(ctx, level, "otlp export failed",
		slog.String("transport", transportGRPC),
		slog.String("signal", signal),
		slog.String("code", st.Code().String()),
		slog.String("remote", remote),
		slog.String("err", clip(msg)))
	return st.Err()
}
