package otlp

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/genscope/genscope/internal/fixture"
	"github.com/genscope/genscope/internal/tenancy"
)

// FuzzHTTP feeds arbitrary bodies with every content type and encoding to
// the HTTP endpoints: the receiver never panics and always answers with a
// 2xx or 4xx (a 5xx here would be a conversion bug: the sink never fails).
func FuzzHTTP(f *testing.F) {
	contentTypes := []string{"application/x-protobuf", "application/json", "application/json; charset=utf-8", "text/plain", ""}
	contentEncodings := []string{"", "gzip", "deflate", "br"}
	paths := []string{"/v1/traces", "/v1/logs", "/v1/metrics"}

	for _, enc := range encodings {
		ct := uint8(enc) // the index of its content type above
		f.Add(encodeTraces(f, testTraces(2, 1), enc), ct, uint8(0), uint8(0))
		f.Add(gzipped(f, encodeTraces(f, testTraces(1, 0), enc)), ct, uint8(1), uint8(0))
		f.Add(deflated(f, encodeLogs(f, testLogs(), enc)), ct, uint8(2), uint8(1))
		f.Add(encodeLogs(f, testLogs(), enc), ct, uint8(0), uint8(1))
	}
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}`), uint8(1), uint8(0), uint8(0))
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01}, uint8(0), uint8(0), uint8(0))
	f.Add(deepJSON(200), uint8(1), uint8(0), uint8(0))
	f.Add(encodeTraces(f, deepTraces(40), encProto), uint8(0), uint8(0), uint8(0))
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[{"asInt":"1"}]}}]}]}]}`), uint8(1), uint8(0), uint8(2))
	if files := fixture.Glob(f, "otlp/*.traces.*"); len(files) > 0 {
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			ct := uint8(0)
			if filepath.Ext(name) == ".json" {
				ct = 1
			}
			f.Add(b, ct, uint8(0), uint8(0))
		}
	}

	for _, enc := range encodings {
		f.Add(encodeMetrics(f, testMetrics(), enc), uint8(enc), uint8(0), uint8(2))
	}
	for _, name := range fixture.Glob(f, "otlp/*.metrics.json") {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(1), uint8(0), uint8(2))
	}
	r := newReceiver(f, &sink{}, Options{MaxBodyBytes: 1 << 20, Metrics: &metricSink{}})
	mux := http.NewServeMux()
	r.Register(mux)

	f.Fuzz(func(t *testing.T, body []byte, ct, ce, path uint8) {
		req := httptest.NewRequest(http.MethodPost, paths[int(path)%len(paths)], bytes.NewReader(body))
		if v := contentTypes[int(ct)%len(contentTypes)]; v != "" {
			req.Header.Set("Content-Type", v)
		}
		if v := contentEncodings[int(ce)%len(contentEncodings)]; v != "" {
			req.Header.Set("Content-Encoding", v)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code < 200 || w.Code >= 500 || (w.Code >= 300 && w.Code < 400) {
			t.Fatalf("status %d: %q", w.Code, w.Body.Bytes())
		}
	})
}

// FuzzGRPC feeds arbitrary messages to the gRPC Export handlers, which
// decode what grpc-go hands them undecoded: never a panic, and a message
// is either exported or refused with INVALID_ARGUMENT.
func FuzzGRPC(f *testing.F) {
	f.Add(encodeTraces(f, testTraces(2, 1), encProto), uint8(0))
	f.Add(encodeTraces(f, deepTraces(40), encProto), uint8(0))
	f.Add(encodeTraces(f, deepTraces(2000), encProto), uint8(0))
	f.Add(encodeLogs(f, testLogs(), encProto), uint8(1))
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01}, uint8(2))
	f.Add(encodeMetrics(f, testMetrics(), encProto), uint8(2))
	r := newReceiver(f, &sink{}, Options{MaxBodyBytes: 1 << 20, Metrics: &metricSink{}})
	f.Fuzz(func(t *testing.T, msg []byte, signal uint8) {
		ctx := context.Background()
		var st *status.Status
		switch signal % 3 {
		case 0:
			_, st = r.grpcTraces(ctx, msg, tenancy.DefaultProject, func() {})
		case 1:
			_, st = r.grpcLogs(ctx, msg, tenancy.DefaultProject, func() {})
		default:
			_, st = r.grpcMetrics(ctx, msg, tenancy.DefaultProject, func() {})
		}
		if st != nil && st.Code() != codes.InvalidArgument {
			t.Fatalf("code %v: %s", st.Code(), st.Message())
		}
	})
}
