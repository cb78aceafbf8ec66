package httpbody

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func read(t *testing.T, limit int64, body []byte, encoding string) ([]byte, error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	return New(limit).Read(httptest.NewRecorder(), req, nil)
}

func compress(t *testing.T, enc string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "raw":
		w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func kind(err error) Kind {
	var e *Error
	if !errors.As(err, &e) {
		return -1
	}
	return e.Kind
}

func TestRead(t *testing.T) {
	payload := []byte(strings.Repeat("genai ", 1000))
	for _, c := range []struct {
		name, header string
		body         []byte
	}{
		{"plain", "", payload},
		{"identity", "identity", payload},
		{"gzip", "gzip", compress(t, "gzip", payload)},
		{"zlib", "deflate", compress(t, "deflate", payload)},
		{"raw deflate", "deflate", compress(t, "raw", payload)},
	} {
		got, err := read(t, 1<<20, c.body, c.header)
		if err != nil || !bytes.Equal(got, payload) {
			t.Errorf("%s: %d bytes, %v", c.name, len(got), err)
		}
	}
	if _, err := read(t, 1<<20, payload, "br"); kind(err) != Unsupported {
		t.Errorf("br: %v, want Unsupported", err)
	}
	if _, err := read(t, 1<<20, []byte("not gzip"), "gzip"); kind(err) != Malformed {
		t.Errorf("bad gzip: %v, want Malformed", err)
	}
	if _, err := read(t, 100, payload, ""); kind(err) != TooLarge {
		t.Errorf("over the limit: %v, want TooLarge", err)
	}
	if got, err := read(t, int64(len(payload)), payload, ""); err != nil || len(got) != len(payload) {
		t.Errorf("exactly at the limit: %d, %v", len(got), err)
	}
}

// A gzip bomb (64 MiB of zeros in ~64 KB) is refused
// after inflating just past the limit.
func TestGzipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for range 64 {
		zw.Write(zero)
	}
	zw.Close()
	start := time.Now()
	_, err := read(t, 1<<20, buf.Bytes(), "gzip")
	if kind(err) != TooLarge {
		t.Fatalf("bomb: %v, want TooLarge", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("bomb took %s: the reader must stop at the limit", d)
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestReadAdmitted: a body is admitted by its Content-Length before a
// byte is read, a body of unknown length (or a compressed one) in steps
// as it is read or inflated; a body that does not fit is refused Busy
// (429) having read no more than was admitted, and the lease gives its
// bytes back.
func TestReadAdmitted(t *testing.T) {
	const limit = 1 << 20
	gate := NewGate(limit + limit/2)
	r := NewGated(limit, gate)
	body := bytes.Repeat([]byte("0123456789abcdef"), limit/16)

	req := func(b []byte, known bool, enc string) (*http.Request, *countingReader) {
		cr := &countingReader{r: bytes.NewReader(b)}
		req := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(cr))
		req.ContentLength = -1
		if known {
			req.ContentLength = int64(len(b))
		}
		if enc != "" {
			req.Header.Set("Content-Encoding", enc)
		}
		return req, cr
	}

	// One whole body fits and is held until released.
	q, _ := req(body, true, "")
	got, l1, err := r.ReadAdmitted(httptest.NewRecorder(), q, nil)
	if err != nil || !bytes.Equal(got, body) || gate.InFlight() != l1.Held() || l1.Held() < limit {
		t.Fatalf("first: %v, in flight %d, lease %d", err, gate.InFlight(), l1.Held())
	}
	// A second with a Content-Length does not fit: refused unread.
	q, cr := req(body, true, "")
	_, l2, err := r.ReadAdmitted(httptest.NewRecorder(), q, nil)
	var be *Error
	if !errors.As(err, &be) || be.Kind != Busy || be.Status() != http.StatusTooManyRequests || cr.n != 0 {
		t.Fatalf("second: %v, read %d bytes, want Busy having read none", err, cr.n)
	}
	l2.Release()
	// Without a Content-Length, and gzip-compressed: read in steps, and
	// stopped once the gate refuses one, having read no more than it holds.
	for _, enc := range []string{"", "gzip"} {
		b := body
		if enc != "" {
			b = compress(t, enc, body)
		}
		q, cr := req(b, false, enc)
		_, l3, err := r.ReadAdmitted(httptest.NewRecorder(), q, nil)
		if !errors.As(err, &be) || be.Kind != Busy {
			t.Fatalf("%q unknown length: %v, want Busy", enc, err)
		}
		if enc == "" && cr.n > limit/2 {
			t.Errorf("read %d bytes with %d admitted", cr.n, limit/2)
		}
		if gate.InFlight() > gate.Limit() {
			t.Errorf("in flight %d > limit %d", gate.InFlight(), gate.Limit())
		}
		l3.Release()
	}
	l1.Release()
	l1.Release() // twice is harmless
	if gate.InFlight() != 0 {
		t.Fatalf("in flight %d after every release", gate.InFlight())
	}
	// With room again, the same bodies are read whole.
	for _, enc := range []string{"", "gzip"} {
		b := body
		if enc != "" {
			b = compress(t, enc, body)
		}
		q, _ := req(b, enc == "", enc)
		got, l, err := r.ReadAdmitted(httptest.NewRecorder(), q, nil)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%q: %v", enc, err)
		}
		l.Release()
	}
	// Over the size limit is still 413, not 429.
	q, _ = req(append(body, 'x'), false, "")
	if _, l, err := r.ReadAdmitted(httptest.NewRecorder(), q, nil); !errors.As(err, &be) || be.Kind != TooLarge {
		t.Fatalf("too large: %v", err)
	} else {
		l.Release()
	}
	if gate.InFlight() != 0 || gate.Peak() > gate.Limit() {
		t.Fatalf("in flight %d, peak %d of %d", gate.InFlight(), gate.Peak(), gate.Limit())
	}
	// No gate: admits everything.
	q, _ = req(body, false, "")
	if got, l, err := New(limit).ReadAdmitted(httptest.NewRecorder(), q, nil); err != nil || len(got) != len(body) || l == nil {
		t.Fatalf("ungated: %v", err)
	}
}

// A Gate in front of a full queue refuses a new request before reading a
// byte of it, and admits again once the queue has room; a request already
// admitted keeps growing its lease.
func TestGateBeforeFullQueue(t *testing.T) {
	var full atomic.Bool
	gate := NewGateBefore(4<<20, full.Load)
	r := NewGated(1<<20, gate)
	body := bytes.Repeat([]byte("x"), 512<<10)

	read := func() (*countingReader, *Lease, error) {
		cr := &countingReader{r: bytes.NewReader(body)}
		q := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(cr))
		q.ContentLength = -1 // read in steps: the lease grows past its first step
		_, l, err := r.ReadAdmitted(httptest.NewRecorder(), q, nil)
		return cr, l, err
	}
	cr, l, err := read()
	if err != nil || cr.n != int64(len(body)) {
		t.Fatalf("with room: %v, read %d", err, cr.n)
	}
	full.Store(true)
	if !l.Grow(l.Held() + 1) {
		t.Fatal("an admitted request's lease could not grow while the queue was full")
	}
	l.Release()
	cr, l, err = read()
	var be *Error
	if !errors.As(err, &be) || be.Kind != Busy || cr.n != 0 || gate.InFlight() != 0 {
		t.Fatalf("queue full: %v, read %d bytes, in flight %d: want Busy having read none", err, cr.n, gate.InFlight())
	}
	if !strings.Contains(be.Msg, "queue") || gate.Refusals() != 1 {
		t.Fatalf("message %q, refusals %d", be.Msg, gate.Refusals())
	}
	l.Release()
	full.Store(false)
	if _, l, err = read(); err != nil {
		t.Fatalf("room again: %v", err)
	}
	l.Release()
}
