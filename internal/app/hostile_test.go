package app

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/genscope/genscope/internal/config"
)

// TestHostileInput sends what an attacker or a broken client might, to
// every receiver: each is answered with a clear error (or accepted
// harmlessly), and genscope keeps serving everyone else.
func TestHostileInput(t *testing.T) {
	a := startAppWith(t, t.TempDir(), func(c *config.Config) {
		c.HTTP.ReadHeaderTimeout = config.Duration(time.Second)
		c.Ingest.MaxBodyBytes = 1 << 20
		c.Gateway.MaxBodyBytes = 1 << 20
		instantDeployments(c)
	})
	base := "http://" + a.HTTPAddr()
	send := func(path, ctype, enc string, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if enc != "" {
			req.Header.Set("Content-Encoding", enc)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(b)
	}
	// healthy checks that a normal span still goes in.
	healthy := func(what string) {
		t.Helper()
		td := ptrace.NewTraces()
		s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID([16]byte{9, 9, 9})
		s.SetSpanID([8]byte{byte(time.Now().UnixNano()), 1})
		s.SetName("after " + what)
		s.SetStartTimestamp(1)
		s.SetEndTimestamp(2)
		b, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if code, msg := send("/v1/traces", "application/x-protobuf", "", b); code != 200 {
			t.Fatalf("after %s a normal export got %d %s", what, code, msg)
		}
	}

	bomb := func() []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		chunk := make([]byte, 1<<20)
		for range 256 { // 256 MiB of zeros, ~256 KiB compressed
			_, _ = zw.Write(chunk)
		}
		_ = zw.Close()
		return buf.Bytes()
	}()
	deep := func(open, close string, n int) []byte {
		return []byte(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	deepAttr := []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"x","attributes":[{"key":"a","value":` +
		strings.Repeat(`{"arrayValue":{"values":[`, 5000) + `{"intValue":"1"}` + strings.Repeat(`]}}`, 5000) + `}]}]}]}]}`)
	var many strings.Builder
	many.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f11","spanId":"0102030405060709","name":"many","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[`)
	for i := range 20000 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"key":"k%d","value":{"stringValue":"v"}}`, i)
	}
	many.WriteString(`]}]}]}]}`)
	badUTF8 := []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f12","spanId":"010203040506070a","name":"` + "\xff\xfe bad \xc3\x28" + `","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}`)
	tdBad := ptrace.NewTraces()
	sb := tdBad.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sb.SetTraceID([16]byte{7})
	sb.SetSpanID([8]byte{7})
	sb.SetName("\xff\xfe invalid utf-8")
	sb.Attributes().PutStr("gen_ai.input.messages", "\xc3\x28")
	pbBad, _ := ptraceotlp.NewExportRequestFromTraces(tdBad).MarshalProto()

	for _, c := range []struct {
		name, path, ctype, enc string
		body                   []byte
		ok                     func(int) bool
	}{
		{"otlp gzip bomb", "/v1/traces", "application/x-protobuf", "gzip", bomb, is(413)},
		{"app insights gzip bomb", "/v2.1/track", "application/json", "gzip", bomb, is(413)},
		{"gateway gzip bomb", "/v1/chat/completions", "application/json", "gzip", bomb, is(413)},
		{"otlp oversized", "/v1/traces", "application/json", "", bytes.Repeat([]byte(" "), 2<<20), is(413)},
		{"otlp deeply nested json", "/v1/traces", "application/json", "", deep("[", "]", 200000), is(400)},
		{"otlp deeply nested attribute", "/v1/traces", "application/json", "", deepAttr, is(400)},
		{"app insights deeply nested", "/v2.1/track", "application/json", "", deep("[", "]", 200000), is(400)},
		{"gateway deeply nested", "/v1/chat/completions", "application/json", "", []byte(`{"model":"gpt-4o","messages":` + string(deep("[", "]", 200000)) + `}`), is(400)},
		{"otlp 20,000 attributes", "/v1/traces", "application/json", "", []byte(many.String()), oneOf(200, 400)},
		{"otlp invalid utf-8 json", "/v1/traces", "application/json", "", badUTF8, oneOf(200, 400)},
		{"otlp invalid utf-8 protobuf", "/v1/traces", "application/x-protobuf", "", pbBad, oneOf(200, 400)},
		{"app insights invalid utf-8", "/v2.1/track", "application/json", "", []byte("[{\"name\":\"\xff\",\"iKey\":\"\xfe\"}]"), oneOf(200, 206, 400)},
	} {
		start := time.Now()
		code, msg := send(c.path, c.ctype, c.enc, c.body)
		if !c.ok(code) {
			t.Errorf("%s: %d %s", c.name, code, msg)
		}
		if code >= 400 && len(strings.TrimSpace(msg)) < 10 {
			t.Errorf("%s: %d without an error message: %q", c.name, code, msg)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s took %s", c.name, d)
		}
		healthy(c.name)
	}

	// Slowloris: connections that send their headers a byte at a time are
	// closed after the header timeout, and others are served meanwhile.
	var conns []net.Conn
	for range 50 {
		conn, err := net.Dial("tcp", a.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write([]byte("POST /v1/traces HTTP/1.1\r\nHost: x\r\n"))
		conns = append(conns, conn)
	}
	healthy("50 slow connections")
	time.Sleep(1500 * time.Millisecond)
	closed := 0
	for _, conn := range conns {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _ = conn.Write([]byte("X-Slow: 1\r\n"))
		buf := make([]byte, 1)
		if _, err := conn.Read(buf); err != nil {
			closed++ // EOF or reset: the server gave up on it
		}
		conn.Close()
	}
	if closed != len(conns) {
		t.Errorf("%d of %d slow connections were still open after the header timeout", len(conns)-closed, len(conns))
	}
	healthy("slowloris")
}

func is(want int) func(int) bool { return func(c int) bool { return c == want } }

func oneOf(want ...int) func(int) bool {
	return func(c int) bool {
		for _, w := range want {
			if c == w {
				return true
			}
		}
		return false
	}
}
