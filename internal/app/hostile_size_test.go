package app

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/genscope/genscope/internal/config"
)

// TestHostileSizeMatrix is the size side of TestHostileDepthMatrix, with
// the receivers that matrix leaves out: a body over its limit — sent as
// it is, and as gzip that inflates past the limit — is refused with 413
// (gRPC RESOURCE_EXHAUSTED) by OTLP/HTTP protobuf and JSON, OTLP/gRPC,
// Application Insights and the gateway; the gateway refuses a request
// nested past its scanner's bound with 400 and relays an upstream answer
// nested 30,000 deep without decoding it for the record; query
// parameters that are malformed, repeated or too long are refused naming
// the parameter (or 431 for a request line over the header limit). Each
// answer comes at once, and the server then serves and stores an
// ordinary request.
func TestHostileSizeMatrix(t *testing.T) {
	const limit = 256 << 10
	deep := strings.Repeat(`{"a":`, 30000) + "1" + strings.Repeat("}", 30000)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"deep","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],"x":`+deep+`}`)
	}))
	defer upstream.Close()
	a := startAppWith(t, t.TempDir(), func(c *config.Config) {
		c.Ingest.MaxBodyBytes = limit
		c.Gateway.MaxBodyBytes = limit
		c.Gateway.Deployments = []config.Deployment{{Name: "deep", Type: config.DeploymentOpenAICompatible, BaseURL: upstream.URL + "/v1"}}
	})
	base := "http://" + a.HTTPAddr()
	do := func(method, path, ctype, enc string, body []byte) (int, string) {
		t.Helper()
		start := time.Now()
		code, msg := send(method, base+path, ctype, enc, body)
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s %s: answered in %s", method, path, took)
		}
		return code, msg
	}

	// One span carrying n bytes of attribute.
	traces := func(n int) ptrace.Traces {
		td := ptrace.NewTraces()
		s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{0xb1, byte(n), byte(n >> 8), byte(n >> 16)})
		s.SetSpanID(pcommon.SpanID{1})
		s.SetName("chat gpt-4o")
		now := time.Now()
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		s.Attributes().PutStr("gen_ai.operation.name", "chat")
		s.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
		s.Attributes().PutStr("padding", strings.Repeat("p", n))
		return td
	}
	big := ptraceotlp.NewExportRequestFromTraces(traces(limit + 1024))
	pb, _ := big.MarshalProto()
	js, _ := big.MarshalJSON()
	envelope := `{"ver":1,"name":"x","time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","iKey":"k","data":{"baseType":"MessageData","baseData":{"message":"` + strings.Repeat("m", limit+1024) + `"}}}`
	for _, c := range []struct{ name, path, ctype, enc, body string }{
		{"otlp protobuf", "/v1/traces", "application/x-protobuf", "", string(pb)},
		{"otlp protobuf gzip", "/v1/traces", "application/x-protobuf", "gzip", string(pb)},
		{"otlp json", "/v1/traces", "application/json", "", string(js)},
		{"otlp json gzip", "/v1/traces", "application/json", "gzip", string(js)},
		{"appinsights", "/v2.1/track", "application/json", "", "[" + envelope + "]"},
		{"appinsights gzip", "/v2.1/track", "application/json", "gzip", envelope},
		{"gateway", "/v1/chat/completions", "application/json", "", `{"model":"deep","messages":[{"role":"user","content":"` + strings.Repeat("x", limit+1024) + `"}]}`},
	} {
		if code, msg := do(http.MethodPost, c.path, c.ctype, c.enc, []byte(c.body)); code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s over the limit: %d %.300s, want 413", c.name, code, msg)
		}
	}

	// gRPC: a message over the limit.
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(t.Context(), big); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("gRPC over the limit: %v, want RESOURCE_EXHAUSTED", err)
	}

	// The gateway: a request nested past the scanner's bound is a 400; an
	// answer nested 30,000 deep is relayed as it came and the call recorded.
	nested := `{"model":"deep","messages":[{"role":"user","content":"hi"}],"metadata":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`
	if code, msg := do(http.MethodPost, "/v1/chat/completions", "application/json", "", []byte(nested)); code != http.StatusBadRequest {
		t.Errorf("gateway, a request nested 20000 deep: %d %.300s, want 400", code, msg)
	}
	if code, msg := do(http.MethodPost, "/v1/chat/completions", "application/json", "", []byte(`{"model":"deep","messages":[{"role":"user","content":"hi"}]}`)); code != 200 || !strings.HasPrefix(msg, `{"id":"deep"`) {
		t.Errorf("gateway, an answer nested 30000 deep: %d %.200s", code, msg)
	}

	// Query parameters.
	for _, c := range []struct {
		path  string
		param string
		code  int
	}{
		{"/api/v1/overview?from=NaNd", "from", 400},
		{"/api/v1/spans?service=a;b&service=c", "service", 400},
		{"/api/v1/spans?limit=" + strings.Repeat("9", 400), "limit", 400},
		{"/api/v1/breakdown?by=" + strings.Repeat("m", 4096), "by", 400},
		{"/api/v1/overview?service=" + strings.Repeat("s", 80<<10), "", http.StatusRequestHeaderFieldsTooLarge},
	} {
		code, msg := do(http.MethodGet, c.path, "", "", nil)
		if code != c.code || c.param != "" && !strings.Contains(msg, c.param) {
			t.Errorf("GET %.80s: %d %.200s, want %d naming %q", c.path, code, msg, c.code, c.param)
		}
	}

	// Still serving: an ordinary request is stored, and the gateway call
	// with the deep answer was recorded.
	good := traces(100)
	gpb, _ := ptraceotlp.NewExportRequestFromTraces(good).MarshalProto()
	if code, msg := do(http.MethodPost, "/v1/traces", "application/x-protobuf", "", gpb); code != 200 {
		t.Fatalf("ordinary request after the matrix: %d %s", code, msg)
	}
	tid := good.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
	if code, msg := do(http.MethodGet, "/api/v1/traces/"+tid.String(), "", "", nil); code != 200 {
		t.Errorf("the ordinary trace: %d %.200s", code, msg)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, msg := do(http.MethodGet, "/api/v1/spans?from=1h&model=deep", "", "", nil)
		if code == 200 && strings.Contains(msg, `"deep"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway call with the deep answer was not recorded: %d %.300s", code, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// send sends body (gzip-compressed first when enc is "gzip") and returns
// the status and up to 4 KiB of the answer (0 and the error when there is
// none). It may run on any goroutine.
func send(method, url, ctype, enc string, body []byte) (int, string) {
	if enc == "gzip" {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = buf.Bytes()
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}
