package otlp

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/genscope/genscope/internal/ingest/httpbody"
)

// countingListener counts the bytes the server reads from every
// connection it accepts.
type countingListener struct {
	net.Listener
	read *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, read: l.read}, nil
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// TestAdmissionGRPCFlood: many concurrent large gRPC exports over many
// connections are bounded in total, not per call: a call is admitted
// (MaxBodyBytes reserved) before grpc-go reads its message, so the gate
// never holds more than its limit, the calls that do not fit are answered
// RESOURCE_EXHAUSTED with RetryInfo at once (while the admitted ones are
// still held) and the server reads next to nothing of their messages;
// every reservation is given back when its call ends, and the next call
// is admitted at once.
func TestAdmissionGRPCFlood(t *testing.T) {
	const (
		limit   = 8 << 20
		maxBody = 2 << 20
		conns   = 8
		perConn = 6
	)
	gate := httpbody.NewGate(limit)
	s := &gatedSink{release: make(chan struct{}), entered: make(chan struct{}, conns*perConn)}
	r := newReceiver(t, s, Options{MaxBodyBytes: maxBody, Gate: gate})

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var read atomic.Int64
	srv := grpc.NewServer(r.GRPCServerOptions()...)
	r.RegisterGRPC(srv)
	go func() { _ = srv.Serve(countingListener{Listener: lis, read: &read}) }()
	t.Cleanup(srv.Stop)
	clients := make([]ptraceotlp.GRPCClient, conns)
	for i := range clients {
		conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		clients[i] = ptraceotlp.NewGRPCClient(conn)
	}
	req := ptraceotlp.NewExportRequestFromTraces(testTraces(6500, 0))
	size, _ := req.MarshalProto()
	if len(size) < 1<<20 || len(size) >= maxBody {
		t.Fatalf("message of %d bytes", len(size))
	}

	var wg sync.WaitGroup
	var refused, accepted atomic.Int64
	released := make(chan struct{})
	for i := range conns * perConn {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := clients[i%conns].Export(t.Context(), req)
			st := status.Convert(err)
			switch {
			case err == nil:
				accepted.Add(1)
			case st.Code() == codes.ResourceExhausted && retryDelay(t, st.Proto()) > 0:
				select {
				case <-released:
					t.Errorf("a refusal came only after the held calls were released")
				default:
				}
				refused.Add(1)
			default:
				t.Errorf("export: %v, want OK or RESOURCE_EXHAUSTED with RetryInfo", err)
			}
		}()
	}
	// Wait until every call not held in the sink has been refused.
	deadline := time.Now().Add(30 * time.Second)
	for refused.Load()+int64(len(s.entered)) < conns*perConn {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %d refused, %d held, of %d", refused.Load(), len(s.entered), conns*perConn)
		}
		time.Sleep(10 * time.Millisecond)
	}
	held := int64(len(s.entered))
	readWhileHeld := read.Load()
	if held == 0 || held > limit/int64(len(size)) {
		t.Errorf("%d calls held at once, want 1..%d", held, limit/len(size))
	}
	if p := gate.Peak(); p > limit {
		t.Errorf("peak in flight %d > limit %d", p, limit)
	}
	// What the server read is the held messages plus what refused calls
	// could send before their refusal (grpc-go's flow-control window per
	// stream, 64 KiB), and no more.
	if bound := held*int64(len(size)) + (conns*perConn-held)*(64<<10) + 1<<20; readWhileHeld > bound {
		t.Errorf("server read %d bytes with %d calls held, want <= %d", readWhileHeld, held, bound)
	}
	t.Logf("%d held, %d refused, peak in flight %d, server read %d bytes", held, refused.Load(), gate.Peak(), readWhileHeld)

	close(released)
	close(s.release)
	wg.Wait()
	if accepted.Load() != held {
		t.Errorf("%d accepted, want the %d held", accepted.Load(), held)
	}
	if gate.InFlight() != 0 {
		t.Errorf("%d bytes in flight after every call ended", gate.InFlight())
	}
	s.entered = make(chan struct{}, 1)
	if _, err := clients[0].Export(t.Context(), req); err != nil {
		t.Errorf("after the flood: %v", err)
	}
	if gate.InFlight() != 0 {
		t.Errorf("%d bytes in flight after the last call", gate.InFlight())
	}
}
