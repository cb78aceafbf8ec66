package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/genscope/genscope/internal/ingest/httpbody"
	"github.com/genscope/genscope/internal/store"
)

// gatedSink holds every Submit until release is closed, so that admitted
// requests stay in flight.
type gatedSink struct {
	release chan struct{}
	entered chan struct{}
	spans   atomic.Int64
}

func (s *gatedSink) Submit(ctx context.Context, b *store.Batch) error {
	s.entered <- struct{}{}
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.spans.Add(int64(len(b.Spans)))
	return nil
}

// countBody counts the request body bytes the handler reads, per answer
// status.
type countBody struct {
	next http.Handler
	mu   sync.Mutex
	read map[int]int64 // status -> bytes read by requests so answered
	n    map[int]int
}

type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

func (c *countBody) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := &countingBody{ReadCloser: r.Body}
	r.Body = body
	sw := &statusWriter{ResponseWriter: w, code: 200}
	c.next.ServeHTTP(sw, r)
	c.mu.Lock()
	c.read[sw.code] += body.n
	c.n[sw.code]++
	c.mu.Unlock()
}

// TestAdmissionFlood: a flood of concurrent large bodies is bounded by the
// gate, not by the number of requests: what does not fit is answered 429
// with Retry-After at once, having read (next to) none of its body —
// with a Content-Length, without one, gzip-compressed — and bytes in
// flight never exceed the limit; once the admitted requests finish, a new
// one is admitted at once. gRPC messages are admitted by size before they
// are decoded, answered RESOURCE_EXHAUSTED when they do not fit.
func TestAdmissionFlood(t *testing.T) {
	const limit = 4 << 20
	gate := httpbody.NewGate(limit)
	s := &gatedSink{release: make(chan struct{}), entered: make(chan struct{}, 64)}
	r := newReceiver(t, s, Options{MaxBodyBytes: 2 << 20, Gate: gate})
	mux := http.NewServeMux()
	r.Register(mux)
	counter := &countBody{next: mux, read: map[int]int64{}, n: map[int]int{}}
	srv := httptest.NewServer(counter)
	t.Cleanup(srv.Close)

	body := encodeTraces(t, testTraces(6500, 0), encProto) // about 1.5 MB
	if len(body) < 1<<20 || len(body) > 2<<20 {
		t.Fatalf("body of %d bytes", len(body))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(body)
	_ = zw.Close()

	send := func(kind string) (int, string) {
		var rd io.Reader = bytes.NewReader(body)
		switch kind {
		case "chunked":
			rd = io.MultiReader(rd) // hides the length: sent chunked
		case "gzip":
			rd = bytes.NewReader(gz.Bytes())
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/traces", rd)
		req.Header.Set("Content-Type", "application/x-protobuf")
		if kind == "gzip" {
			req.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}

	// Two bodies fit; they are held in the sink.
	held := make(chan int, 2)
	for range 2 {
		go func() { c, _ := send("length"); held <- c }()
	}
	<-s.entered
	<-s.entered
	inFlight := gate.InFlight()

	// The flood: every one is refused at once, while the two stay held.
	var wg sync.WaitGroup
	var refused, other atomic.Int64
	for i := range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, ra := send([]string{"length", "chunked", "gzip"}[i%3])
			if code == http.StatusTooManyRequests && ra != "" {
				refused.Add(1)
			} else {
				other.Add(1)
				t.Errorf("flood request: %d (Retry-After %q), want 429 with Retry-After", code, ra)
			}
		}()
	}
	wg.Wait()
	if refused.Load() != 48 {
		t.Fatalf("%d of 48 refused", refused.Load())
	}
	if p := gate.Peak(); p > limit {
		t.Errorf("peak in flight %d > limit %d", p, limit)
	}
	counter.mu.Lock()
	readRefused, nRefused := counter.read[http.StatusTooManyRequests], counter.n[http.StatusTooManyRequests]
	counter.mu.Unlock()
	// A refused body is read no further than the room left in flight (the
	// chunked and gzip ones in steps, until one does not fit).
	if room := int64(limit) - inFlight; readRefused > int64(nRefused)*room {
		t.Errorf("refused requests read %d bytes (%d requests, %d bytes of room)", readRefused, nRefused, room)
	}

	// gRPC shares the gate: full, so refused before decoding.
	client := ptraceotlp.NewGRPCClient(newGRPC(t, r))
	_, err := client.Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(testTraces(6500, 0)))
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || retryDelay(t, st.Proto()) <= 0 {
		t.Errorf("gRPC with the gate full: %v, want RESOURCE_EXHAUSTED with RetryInfo", err)
	}

	close(s.release)
	for range 2 {
		if c := <-held; c != 200 {
			t.Errorf("held request answered %d", c)
		}
	}
	if gate.InFlight() != 0 {
		t.Errorf("%d bytes in flight after every answer", gate.InFlight())
	}
	// Recovered at once.
	for _, kind := range []string{"length", "chunked", "gzip"} {
		if c, _ := send(kind); c != 200 {
			t.Errorf("%s after the flood: %d", kind, c)
		}
	}
	if _, err := client.Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(testTraces(6500, 0))); err != nil {
		t.Errorf("gRPC after the flood: %v", err)
	}
	if got := s.spans.Load(); got != 6*6500 {
		t.Errorf("stored %d spans, want %d", got, 6*6500)
	}
}
