package otlp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/genscope/genscope/internal/recorder"
)

// newGRPC serves r on a loopback listener and returns a client connection to it.
func newGRPC(t *testing.T, r *Receiver) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(r.GRPCServerOptions()...)
	r.RegisterGRPC(srv)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return conn
}

func TestGRPCTraces(t *testing.T) {
	s := &sink{}
	r := newReceiver(t, s, Options{})
	client := ptraceotlp.NewGRPCClient(newGRPC(t, r))

	t.Run("accepted", func(t *testing.T) {
		resp, err := client.Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(testTraces(3, 0)))
		if err != nil {
			t.Fatal(err)
		}
		if ps := resp.PartialSuccess(); ps.RejectedSpans() != 0 || ps.ErrorMessage() != "" {
			t.Errorf("partial success on full success: %d %q", ps.RejectedSpans(), ps.ErrorMessage())
		}
	})
	t.Run("gzip", func(t *testing.T) {
		_, err := client.Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(testTraces(2, 0)), grpc.UseCompressor(gzip.Name))
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if _, err := client.Export(t.Context(), ptraceotlp.NewExportRequest()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("partial", func(t *testing.T) {
		resp, err := client.Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(testTraces(2, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if ps := resp.PartialSuccess(); ps.RejectedSpans() != 1 || ps.ErrorMessage() == "" {
			t.Errorf("partial success = %d %q, want 1 rejected with a message", ps.RejectedSpans(), ps.ErrorMessage())
		}
	})
	if spans, _, _ := s.stored(); spans != 3+2+1 {
		t.Errorf("stored %d spans, want 6", spans)
	}
	if got := testutil.ToFloat64(r.m.spansAccepted.WithLabelValues("grpc")); got != 6 {
		t.Errorf("accepted = %v, want 6", got)
	}
	if got := testutil.ToFloat64(r.m.requests.WithLabelValues("grpc", "traces", "OK")); got != 4 {
		t.Errorf("requests{OK} = %v, want 4", got)
	}
}

func TestGRPCLogs(t *testing.T) {
	s := &sink{}
	r := newReceiver(t, s, Options{})
	client := plogotlp.NewGRPCClient(newGRPC(t, r))
	resp, err := client.Export(t.Context(), plogotlp.NewExportRequestFromLogs(testLogs()))
	if err != nil {
		t.Fatal(err)
	}
	if n := resp.PartialSuccess().RejectedLogRecords(); n != 0 {
		t.Errorf("rejected %d log records: %s", n, resp.PartialSuccess().ErrorMessage())
	}
	if _, msgs, _ := s.stored(); msgs < 1 {
		t.Errorf("stored %d message records, want the user message", msgs)
	}
}

func TestGRPCRetryable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code codes.Code
	}{
		{"full", recorder.ErrFull, codes.ResourceExhausted},
		{"store", fmt.Errorf("%w: disk full", recorder.ErrStore), codes.Unavailable},
		{"closed", recorder.ErrClosed, codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{err: tc.err}
			r := newReceiver(t, s, Options{RetryAfter: 3 * time.Second})
			conn := newGRPC(t, r)
			check := func(t *testing.T, err error) {
				st := status.Convert(err)
				if st.Code() != tc.code {
					t.Fatalf("code %v (%v), want %v", st.Code(), err, tc.code)
				}
				var delay time.Duration = -1
				for _, d := range st.Details() {
					if ri, ok := d.(*errdetails.RetryInfo); ok {
						delay = ri.GetRetryDelay().AsDuration()
					}
				}
				if delay != 3*time.Second {
					t.Errorf("RetryInfo delay = %v, want 3s", delay)
				}
			}
			_, err := ptraceotlp.NewGRPCClient(conn).Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(testTraces(1, 0)))
			check(t, err)
			_, err = plogotlp.NewGRPCClient(conn).Export(t.Context(), plogotlp.NewExportRequestFromLogs(testLogs()))
			check(t, err)
			if got := testutil.ToFloat64(r.m.requests.WithLabelValues("grpc", "traces", tc.code.String())); got != 1 {
				t.Errorf("requests{%v} = %v, want 1", tc.code, got)
			}
		})
	}
}

func TestGRPCTooLarge(t *testing.T) {
	s := &sink{}
	r := newReceiver(t, s, Options{MaxBodyBytes: 4 << 10})
	client := ptraceotlp.NewGRPCClient(newGRPC(t, r))
	for _, opts := range [][]grpc.CallOption{nil, {grpc.UseCompressor(gzip.Name)}} {
		_, err := client.Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(testTraces(100, 0)), opts...)
		st := status.Convert(err)
		// grpc-go refuses it before the receiver sees it; without RetryInfo
		// the client does not retry it.
		if st.Code() != codes.ResourceExhausted {
			t.Errorf("code %v (%v), want ResourceExhausted", st.Code(), err)
		}
		for _, d := range st.Details() {
			if _, ok := d.(*errdetails.RetryInfo); ok {
				t.Errorf("RetryInfo on a message that can never fit")
			}
		}
	}
	if spans, _, _ := s.stored(); spans != 0 {
		t.Errorf("stored %d spans", spans)
	}
}

// wireCodec sends bytes as they are, to put a malformed message on the wire.
type wireCodec struct{}

func (wireCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (wireCodec) Unmarshal(data []byte, v any) error {
	return errors.New("unexpected response")
}
func (wireCodec) Name() string { return "proto" }

func TestGRPCMalformed(t *testing.T) {
	s := &sink{}
	r := newReceiver(t, s, Options{})
	conn := newGRPC(t, r)
	err := conn.Invoke(t.Context(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
		[]byte{0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01}, new(struct{}), grpc.ForceCodec(wireCodec{}))
	// The handler decodes the request (after admitting it): a message it
	// cannot decode is INVALID_ARGUMENT, which clients do not retry.
	if code := status.Code(err); code != codes.InvalidArgument {
		t.Errorf("code %v (%v), want InvalidArgument", code, err)
	}
}

func TestGRPCClientGone(t *testing.T) {
	s := &sink{hold: true, entered: make(chan struct{}, 1)}
	r := newReceiver(t, s, Options{})
	client := ptraceotlp.NewGRPCClient(newGRPC(t, r))
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-s.entered
		cancel()
	}()
	_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces(1, 0)))
	if status.Code(err) != codes.Canceled {
		t.Errorf("code %v, want Canceled", status.Code(err))
	}
	counted := func() bool {
		return testutil.ToFloat64(r.m.requests.WithLabelValues("grpc", "traces", "Canceled")) == 1
	}
	for deadline := time.Now().Add(5 * time.Second); !counted() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if !counted() {
		t.Errorf("requests{Canceled} not counted")
	}
}

func TestGRPCProjectHook(t *testing.T) {
	s := &sink{}
	r := newReceiver(t, s, Options{GRPCProjectFor: func(_ context.Context, md metadata.MD) (string, error) {
		if v := md.Get("x-test-project"); len(v) == 1 {
			return v[0], nil
		}
		return "", errors.New("missing project key")
	}})
	client := ptraceotlp.NewGRPCClient(newGRPC(t, r))
	req := ptraceotlp.NewExportRequestFromTraces(testTraces(1, 0))
	if _, err := client.Export(t.Context(), req); status.Code(err) != codes.Unauthenticated {
		t.Errorf("without a key: %v, want Unauthenticated", err)
	}
	ctx := metadata.AppendToOutgoingContext(t.Context(), "x-test-project", "shop")
	if _, err := client.Export(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, _, projects := s.stored(); !projects["shop"] || len(projects) != 1 {
		t.Errorf("projects %v, want shop", projects)
	}
}
