package otlp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/genscope/genscope/internal/fixture"
	"github.com/genscope/genscope/internal/recorder"
	"github.com/genscope/genscope/internal/tenancy"
)

// answer is a decoded OTLP/HTTP response.
type answer struct {
	code        int
	contentType string
	retryAfter  string
	body        []byte
}

func post(t *testing.T, srv string, path, contentType, contentEncoding string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if contentEncoding != "" {
		req.Header.Set("Content-Encoding", contentEncoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), b}
}

// rpcStatus decodes a failure body, a google.rpc.Status in the request's encoding.
func rpcStatus(t *testing.T, a answer, enc encoding) *spb.Status {
	t.Helper()
	if a.contentType != enc.contentType() {
		t.Fatalf("Content-Type = %q, want %q", a.contentType, enc.contentType())
	}
	st := &spb.Status{}
	var err error
	if enc == encJSON {
		err = protojson.Unmarshal(a.body, st)
	} else {
		err = proto.Unmarshal(a.body, st)
	}
	if err != nil {
		t.Fatalf("body is not a google.rpc.Status: %v: %q", err, a.body)
	}
	if st.GetMessage() == "" {
		t.Errorf("Status.message is empty")
	}
	return st
}

// retryDelay is the RetryInfo delay in st, or -1.
func retryDelay(t *testing.T, st *spb.Status) time.Duration {
	t.Helper()
	for _, d := range st.GetDetails() {
		ri := &errdetails.RetryInfo{}
		if d.MessageIs(ri) {
			if err := d.UnmarshalTo(ri); err != nil {
				t.Fatal(err)
			}
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return -1
}

func traceResponse(t *testing.T, a answer, enc encoding) ptraceotlp.ExportResponse {
	t.Helper()
	if a.code != http.StatusOK {
		t.Fatalf("status %d, want 200: %q", a.code, a.body)
	}
	if a.contentType != enc.contentType() {
		t.Fatalf("Content-Type = %q, want %q", a.contentType, enc.contentType())
	}
	resp := ptraceotlp.NewExportResponse()
	var err error
	if enc == encJSON {
		err = resp.UnmarshalJSON(a.body)
	} else {
		err = resp.UnmarshalProto(a.body)
	}
	if err != nil {
		t.Fatalf("body is not an ExportTraceServiceResponse: %v", err)
	}
	return resp
}

var encodings = []encoding{encProto, encJSON}

func TestHTTPTracesAccepted(t *testing.T) {
	for _, enc := range encodings {
		for _, ce := range []string{"", "identity", "gzip", "deflate"} {
			t.Run(fmt.Sprintf("encoding=%s/compression=%s", enc, ce), func(t *testing.T) {
				s := &sink{}
				r := newReceiver(t, s, Options{})
				srv := newHTTPServer(t, r)
				body := encodeTraces(t, testTraces(3, 0), enc)
				switch ce {
				case "gzip":
					body = gzipped(t, body)
				case "deflate":
					body = deflated(t, body)
				}
				a := post(t, srv.URL, "/v1/traces", enc.contentType(), ce, body)
				resp := traceResponse(t, a, enc)
				if ps := resp.PartialSuccess(); ps.RejectedSpans() != 0 || ps.ErrorMessage() != "" {
					t.Errorf("partial success set on full success: %d %q", ps.RejectedSpans(), ps.ErrorMessage())
				}
				spans, _, projects := s.stored()
				if spans != 3 || !projects[tenancy.DefaultProject] || len(projects) != 1 {
					t.Errorf("stored %d spans of projects %v, want 3 of %q", spans, projects, tenancy.DefaultProject)
				}
				if got := testutil.ToFloat64(r.m.spansReceived.WithLabelValues("http")); got != 3 {
					t.Errorf("received = %v, want 3", got)
				}
				if got := testutil.ToFloat64(r.m.spansAccepted.WithLabelValues("http")); got != 3 {
					t.Errorf("accepted = %v, want 3", got)
				}
				if got := testutil.ToFloat64(r.m.requests.WithLabelValues("http", "traces", "200")); got != 1 {
					t.Errorf("requests{code=200} = %v, want 1", got)
				}
			})
		}
	}
}

func TestHTTPContentTypeParameters(t *testing.T) {
	s := &sink{}
	srv := newHTTPServer(t, newReceiver(t, s, Options{}))
	a := post(t, srv.URL, "/v1/traces", "application/json; charset=utf-8", "", encodeTraces(t, testTraces(1, 0), encJSON))
	traceResponse(t, a, encJSON)
}

func TestHTTPEmptyRequest(t *testing.T) {
	for _, enc := range encodings {
		t.Run("encoding="+enc.String(), func(t *testing.T) {
			s := &sink{}
			srv := newHTTPServer(t, newReceiver(t, s, Options{}))
			body := []byte{}
			if enc == encJSON {
				body = []byte("{}")
			}
			for _, path := range []string{"/v1/traces", "/v1/logs"} {
				a := post(t, srv.URL, path, enc.contentType(), "", body)
				if a.code != http.StatusOK || a.contentType != enc.contentType() {
					t.Errorf("%s: %d %q, want 200 %q", path, a.code, a.contentType, enc.contentType())
				}
			}
			if spans, msgs, _ := s.stored(); spans+msgs != 0 {
				t.Errorf("stored %d spans and %d messages from empty requests", spans, msgs)
			}
		})
	}
}

func TestHTTPPartialSuccess(t *testing.T) {
	for _, enc := range encodings {
		t.Run("encoding="+enc.String(), func(t *testing.T) {
			s := &sink{}
			r := newReceiver(t, s, Options{})
			srv := newHTTPServer(t, r)
			// One span with an all-zero trace id, two valid ones.
			a := post(t, srv.URL, "/v1/traces", enc.contentType(), "", encodeTraces(t, testTraces(3, 1), enc))
			ps := traceResponse(t, a, enc).PartialSuccess()
			if ps.RejectedSpans() != 1 || ps.ErrorMessage() == "" {
				t.Errorf("partial success = %d %q, want 1 rejected with a message", ps.RejectedSpans(), ps.ErrorMessage())
			}
			if spans, _, _ := s.stored(); spans != 2 {
				t.Errorf("stored %d spans, want 2", spans)
			}
			if got := testutil.ToFloat64(r.m.spansRejected.WithLabelValues("http", reasonInvalid)); got != 1 {
				t.Errorf("rejected{invalid} = %v, want 1", got)
			}
			if got := testutil.ToFloat64(r.m.spansAccepted.WithLabelValues("http")); got != 2 {
				t.Errorf("accepted = %v, want 2", got)
			}
		})
	}
}

func TestHTTPLogs(t *testing.T) {
	for _, enc := range encodings {
		t.Run("encoding="+enc.String(), func(t *testing.T) {
			s := &sink{}
			r := newReceiver(t, s, Options{})
			srv := newHTTPServer(t, r)
			a := post(t, srv.URL, "/v1/logs", enc.contentType(), "gzip", gzipped(t, encodeLogs(t, testLogs(), enc)))
			if a.code != http.StatusOK || a.contentType != enc.contentType() {
				t.Fatalf("%d %q: %q", a.code, a.contentType, a.body)
			}
			resp := plogotlp.NewExportResponse()
			var err error
			if enc == encJSON {
				err = resp.UnmarshalJSON(a.body)
			} else {
				err = resp.UnmarshalProto(a.body)
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := resp.PartialSuccess().RejectedLogRecords(); n != 0 {
				t.Errorf("rejected %d log records: %s", n, resp.PartialSuccess().ErrorMessage())
			}
			if _, msgs, _ := s.stored(); msgs < 1 {
				t.Errorf("stored %d message records, want the user message", msgs)
			}
			if got := testutil.ToFloat64(r.m.logsReceived.WithLabelValues("http")); got != 2 {
				t.Errorf("log records received = %v, want 2", got)
			}
			if got := testutil.ToFloat64(r.m.logsIgnored.WithLabelValues("http")); got != 1 {
				t.Errorf("log records ignored = %v, want 1", got)
			}
			if got := testutil.ToFloat64(r.m.logsAccepted.WithLabelValues("http")); got != 1 {
				t.Errorf("log records accepted = %v, want 1", got)
			}
		})
	}
}

func TestHTTPMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		enc  encoding
		ce   string
		body []byte
	}{
		// Field 1 (resource_spans) claiming a length far past the end.
		{"proto", encProto, "", []byte{0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01}},
		{"json", encJSON, "", []byte(`{"resourceSpans": [{"scopeSpans": [{"spans": [`)},
		{"json-not-json", encJSON, "", []byte(`not json`)},
		{"gzip-header", encProto, "gzip", []byte("definitely not gzip")},
		{"gzip-truncated", encJSON, "gzip", gzipped(t, []byte(`{"resourceSpans":[]}`))[:15]},
		{"deflate-header", encJSON, "deflate", []byte("definitely not zlib")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{}
			r := newReceiver(t, s, Options{})
			srv := newHTTPServer(t, r)
			a := post(t, srv.URL, "/v1/traces", tc.enc.contentType(), tc.ce, tc.body)
			if a.code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %q", a.code, a.body)
			}
			if a.retryAfter != "" {
				t.Errorf("Retry-After %q on a 400", a.retryAfter)
			}
			st := rpcStatus(t, a, tc.enc)
			if codes.Code(st.GetCode()) != codes.InvalidArgument {
				t.Errorf("Status.code = %v, want InvalidArgument", codes.Code(st.GetCode()))
			}
			if got := testutil.ToFloat64(r.m.requests.WithLabelValues("http", "traces", "400")); got != 1 {
				t.Errorf("requests{code=400} = %v, want 1", got)
			}
		})
	}
}

func TestHTTPUnsupportedMediaType(t *testing.T) {
	srv := newHTTPServer(t, newReceiver(t, &sink{}, Options{}))
	body := encodeTraces(t, testTraces(1, 0), encProto)
	for _, tc := range []struct{ ct, ce string }{
		{"text/plain", ""},
		{"", ""},
		{"application/x-protobuf;;", ""},
		{"application/x-protobuf", "br"},
		{"application/x-protobuf", "zstd"},
	} {
		a := post(t, srv.URL, "/v1/traces", tc.ct, tc.ce, body)
		if a.code != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %q, Content-Encoding %q: status %d, want 415", tc.ct, tc.ce, a.code)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v1/traces", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", resp.StatusCode)
	}
}

func TestHTTPTooLarge(t *testing.T) {
	const limit = 4 << 10
	body := encodeTraces(t, testTraces(100, 0), encProto) // well over 4 KiB
	if len(body) < 2*limit {
		t.Fatalf("test body is only %d bytes", len(body))
	}
	for _, tc := range []struct {
		name string
		ce   string
		body []byte
	}{
		{"plain", "", body},
		{"gzip", "gzip", gzipped(t, body)}, // small compressed, too large inflated
		{"deflate", "deflate", deflated(t, body)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{}
			srv := newHTTPServer(t, newReceiver(t, s, Options{MaxBodyBytes: limit}))
			a := post(t, srv.URL, "/v1/traces", encProto.contentType(), tc.ce, tc.body)
			if a.code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413", a.code)
			}
			rpcStatus(t, a, encProto)
			if spans, _, _ := s.stored(); spans != 0 {
				t.Errorf("stored %d spans of a refused request", spans)
			}
		})
	}
	t.Run("at-limit", func(t *testing.T) {
		small := encodeTraces(t, testTraces(1, 0), encProto)
		srv := newHTTPServer(t, newReceiver(t, &sink{}, Options{MaxBodyBytes: int64(len(small))}))
		traceResponse(t, post(t, srv.URL, "/v1/traces", encProto.contentType(), "gzip", gzipped(t, small)), encProto)
		traceResponse(t, post(t, srv.URL, "/v1/traces", encProto.contentType(), "", small), encProto)
		over := append(small, 0x78, 0x01) // plus an unknown field 15: two bytes over
		if a := post(t, srv.URL, "/v1/traces", encProto.contentType(), "", over); a.code != http.StatusRequestEntityTooLarge {
			t.Errorf("limit+2 bytes: status %d, want 413", a.code)
		}
	})
}

// bomb is a gzip body of members, each inflating to memberSize zero bytes,
// streamed without ever being held in memory; it counts what was sent.
type bomb struct {
	member []byte
	left   int // members still to send
	off    int
	sent   int64
}

func newBomb(t *testing.T, memberSize, members int) *bomb {
	return &bomb{member: gzipped(t, make([]byte, memberSize)), left: members}
}

func (b *bomb) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.member[b.off:])
	b.off += n
	if b.off == len(b.member) {
		b.off = 0
		b.left--
	}
	b.sent += int64(n)
	return n, nil
}

func TestHTTPGzipBomb(t *testing.T) {
	// ~10 MB of gzip that inflates to 10 GiB of zeros, against the default
	// 16 MiB limit: refused after inflating just over 16 MiB.
	s := &sink{}
	srv := newHTTPServer(t, newReceiver(t, s, Options{}))
	b := newBomb(t, 1<<20, 10<<10)
	compressed := int64(len(b.member)) * int64(b.left)
	t.Logf("bomb: %d bytes of gzip inflating to %d", compressed, int64(b.left)<<20)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/traces", b)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "gzip")
	req.ContentLength = compressed
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("answered %d in %v, allocating %d MiB, after the client sent %d bytes", resp.StatusCode, elapsed, allocated>>20, b.sent)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	if elapsed > 10*time.Second {
		t.Errorf("took %v to refuse", elapsed)
	}
	// Inflating stops at the limit: the buffer's doublings up to 16 MiB,
	// a little for the decompressor and the client. 10 GiB would not fit.
	if allocated > 80<<20 {
		t.Errorf("allocated %d MiB while refusing", allocated>>20)
	}
	if b.sent >= compressed {
		t.Errorf("the server read the whole body (%d bytes)", b.sent)
	}
}

func TestHTTPRetryable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code int
		rpc  codes.Code
	}{
		{"full", recorder.ErrFull, http.StatusTooManyRequests, codes.ResourceExhausted},
		{"store", fmt.Errorf("%w: disk full", recorder.ErrStore), http.StatusServiceUnavailable, codes.Unavailable},
		{"closed", recorder.ErrClosed, http.StatusServiceUnavailable, codes.Unavailable},
		{"unknown", errors.New("something else"), http.StatusServiceUnavailable, codes.Unavailable},
	} {
		for _, enc := range encodings {
			t.Run(tc.name+"/encoding="+enc.String(), func(t *testing.T) {
				s := &sink{err: tc.err}
				r := newReceiver(t, s, Options{RetryAfter: 1500 * time.Millisecond})
				srv := newHTTPServer(t, r)
				a := post(t, srv.URL, "/v1/traces", enc.contentType(), "", encodeTraces(t, testTraces(2, 0), enc))
				if a.code != tc.code {
					t.Fatalf("status %d, want %d", a.code, tc.code)
				}
				if a.retryAfter != "2" {
					t.Errorf("Retry-After = %q, want 2 (1.5s rounded up)", a.retryAfter)
				}
				st := rpcStatus(t, a, enc)
				if codes.Code(st.GetCode()) != tc.rpc {
					t.Errorf("Status.code = %v, want %v", codes.Code(st.GetCode()), tc.rpc)
				}
				if d := retryDelay(t, st); d != 1500*time.Millisecond {
					t.Errorf("RetryInfo delay = %v, want 1.5s", d)
				}
				reason := reasonUnavailable
				if tc.code == http.StatusTooManyRequests {
					reason = reasonOverload
				}
				if got := testutil.ToFloat64(r.m.spansRejected.WithLabelValues("http", reason)); got != 2 {
					t.Errorf("rejected{%s} = %v, want 2", reason, got)
				}
				if got := testutil.ToFloat64(r.m.spansAccepted.WithLabelValues("http")); got != 0 {
					t.Errorf("accepted = %v, want 0", got)
				}
			})
		}
	}
}

func TestHTTPClientGone(t *testing.T) {
	s := &sink{hold: true, entered: make(chan struct{}, 1)}
	r := newReceiver(t, s, Options{})
	srv := newHTTPServer(t, r)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/traces",
		bytes.NewReader(encodeTraces(t, testTraces(1, 0), encProto)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	done := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-s.entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("client: %v, want context canceled", err)
	}
	counted := func() bool { return testutil.ToFloat64(r.m.requests.WithLabelValues("http", "traces", "499")) == 1 }
	for deadline := time.Now().Add(5 * time.Second); !counted() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if !counted() {
		t.Errorf("requests{code=499} not counted")
	}
	if got := testutil.ToFloat64(r.m.spansRejected.WithLabelValues("http", reasonAbandoned)); got != 1 {
		t.Errorf("rejected{abandoned} = %v, want 1", got)
	}
}

func TestHTTPProjectHook(t *testing.T) {
	s := &sink{}
	r := newReceiver(t, s, Options{ProjectFor: func(req *http.Request) (string, error) {
		p := req.Header.Get("X-Test-Project")
		if p == "" {
			return "", errors.New("missing project key")
		}
		return p, nil
	}})
	srv := newHTTPServer(t, r)
	body := encodeTraces(t, testTraces(1, 0), encJSON)

	a := post(t, srv.URL, "/v1/traces", "application/json", "", body)
	if a.code != http.StatusUnauthorized {
		t.Fatalf("without a key: status %d, want 401", a.code)
	}
	rpcStatus(t, a, encJSON)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Project", "shop")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("with a key: status %d", resp.StatusCode)
	}
	if _, _, projects := s.stored(); !projects["shop"] || len(projects) != 1 {
		t.Errorf("projects %v, want shop", projects)
	}
}

// TestHTTPFixtures posts the payloads captured from the lab's
// instrumented apps: every span is accounted for, stored or rejected.
func TestHTTPFixtures(t *testing.T) {
	files := fixture.Glob(t, "otlp/*")
	if len(files) == 0 {
		t.Fatal("no OTLP fixtures")
	}
	for _, f := range files {
		name := filepath.Base(f)
		var path string
		switch {
		case strings.Contains(name, ".traces."):
			path = "/v1/traces"
		case strings.Contains(name, ".logs."):
			path = "/v1/logs"
		default:
			continue // metrics: not received
		}
		enc := encProto
		if strings.HasSuffix(name, ".json") {
			enc = encJSON
		}
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s := &sink{}
			r := newReceiver(t, s, Options{})
			srv := newHTTPServer(t, r)
			a := post(t, srv.URL, path, enc.contentType(), "gzip", gzipped(t, body))
			if a.code != http.StatusOK {
				t.Fatalf("status %d: %q", a.code, a.body)
			}
			spans, msgs, _ := s.stored()
			if path == "/v1/traces" {
				req := ptraceotlp.NewExportRequest()
				if enc == encJSON {
					err = req.UnmarshalJSON(body)
				} else {
					err = req.UnmarshalProto(body)
				}
				if err != nil {
					t.Fatal(err)
				}
				rejected := traceResponse(t, a, enc).PartialSuccess().RejectedSpans()
				if want := req.Traces().SpanCount(); want == 0 || spans+int(rejected) != want {
					t.Errorf("stored %d + rejected %d spans, want %d in all", spans, rejected, want)
				}
				if rejected != 0 {
					t.Errorf("rejected %d spans of a real capture", rejected)
				}
			} else {
				accepted := testutil.ToFloat64(r.m.logsAccepted.WithLabelValues("http"))
				ignored := testutil.ToFloat64(r.m.logsIgnored.WithLabelValues("http"))
				received := testutil.ToFloat64(r.m.logsReceived.WithLabelValues("http"))
				if received == 0 || accepted+ignored != received {
					t.Errorf("log records: %v accepted + %v ignored, want %v received", accepted, ignored, received)
				}
				if accepted > 0 && msgs == 0 {
					t.Errorf("accepted %v GenAI log records but stored no messages", accepted)
				}
			}
		})
	}
}

// A malformed metrics body is a 400, like any other signal's.
func TestHTTPMetricsMalformed(t *testing.T) {
	r := newReceiver(t, &sink{}, Options{Metrics: &metricSink{}})
	srv := newHTTPServer(t, r)
	resp, err := http.Post(srv.URL+"/v1/metrics", "application/json", strings.NewReader("{not json"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed metrics: %s, want 400", resp.Status)
	}
}
