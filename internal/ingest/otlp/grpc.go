package otlp

import (
	"context"
	"log/slog"
	"time"

	"github.com/genscope/genscope/internal/tenancy"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // registers the gzip compressor so gzip-compressed calls are accepted
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// RegisterGRPC registers the OTLP TraceService, LogsService and
// MetricsService on s.
func (r *Receiver) RegisterGRPC(s *grpc.Server) {
	ptraceotlp.RegisterGRPCServer(s, &traceServer{r: r})
	plogotlp.RegisterGRPCServer(s, &logsServer{r: r})
	pmetricotlp.RegisterGRPCServer(s, &metricsServer{r: r})
}

// metricsServer accepts metrics and drops them, counting their points (see
// serveMetrics).
type metricsServer struct {
	pmetricotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export implements pmetricotlp.GRPCServer.
func (s *metricsServer) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	if _, err := s.r.grpcProject(ctx); err != nil {
		return pmetricotlp.ExportResponse{}, s.r.failGRPC(ctx, signalMetrics, status.New(codes.Unauthenticated, err.Error()), err)
	}
	s.r.m.metricPoints.WithLabelValues(transportGRPC).Add(float64(req.Metrics().DataPointCount()))
	return pmetricotlp.NewExportResponse(), nil
}

// GRPCServerOptions are the server options the receiver suggests: a
// receive limit of MaxBodyBytes (grpc-go applies it after decompression
// too), keepalive that drops dead and idle connections, and a bound on
// the connection handshake. gzip-compressed calls are accepted (the
// compressor is registered by this package's import of
// google.golang.org/grpc/encoding/gzip).
func (r *Receiver) GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(min(r.opts.MaxBodyBytes, int64(maxInt)))),
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

type traceServer struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export implements ptraceotlp.GRPCServer.
func (s *traceServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r := s.r
	project, err := r.grpcProject(ctx)
	if err != nil {
		return ptraceotlp.ExportResponse{}, r.failGRPC(ctx, signalTraces, status.New(codes.Unauthenticated, err.Error()), err)
	}
	res := r.exportTraces(ctx, transportGRPC, req.Traces(), project)
	if err := r.grpcError(ctx, signalTraces, res); err != nil {
		return ptraceotlp.ExportResponse{}, err
	}
	resp := ptraceotlp.NewExportResponse()
	if res.rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(res.rejected))
		resp.PartialSuccess().SetErrorMessage(res.msg)
	}
	return resp, nil
}

type logsServer struct {
	plogotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export implements plogotlp.GRPCServer.
func (s *logsServer) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	r := s.r
	project, err := r.grpcProject(ctx)
	if err != nil {
		return plogotlp.ExportResponse{}, r.failGRPC(ctx, signalLogs, status.New(codes.Unauthenticated, err.Error()), err)
	}
	res := r.exportLogs(ctx, transportGRPC, req.Logs(), project)
	if err := r.grpcError(ctx, signalLogs, res); err != nil {
		return plogotlp.ExportResponse{}, err
	}
	resp := plogotlp.NewExportResponse()
	if res.rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(int64(res.rejected))
		resp.PartialSuccess().SetErrorMessage(res.msg)
	}
	return resp, nil
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
