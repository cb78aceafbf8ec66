package app

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // the client's gzip compressor
	"google.golang.org/grpc/status"

	"github.com/genscope/genscope/internal/genai"
)

// TestHostileDepthMatrix: a value nested deeper than genai.MaxValueDepth
// — just past it, far past it — alone in a request or next to a
// megabyte of ordinary spans, is answered 400 / INVALID_ARGUMENT naming
// the limit by every receiver in every encoding (OTLP/HTTP protobuf and
// JSON, each plain and gzip; OTLP/gRPC plain and gzip; Application
// Insights JSON array, NDJSON and gzip), while good data sent alongside,
// concurrently, is stored; one at the limit is stored.
func TestHostileDepthMatrix(t *testing.T) {
	a := startAppWith(t, t.TempDir(), nil)
	base := "http://" + a.HTTPAddr()
	limit := fmt.Sprint(genai.MaxValueDepth)

	post := func(path, ctype, enc string, body []byte) (int, string) {
		return send(http.MethodPost, base+path, ctype, enc, body)
	}
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	grpcClient := ptraceotlp.NewGRPCClient(conn)

	var seq byte
	// traces is one span (its trace id returned) with an attribute nested
	// depth deep, and padding ordinary spans.
	traces := func(depth, padding int) (ptrace.Traces, pcommon.TraceID) {
		seq++
		tid := pcommon.TraceID{0xd0, seq, byte(depth), byte(depth >> 8), byte(padding >> 8)}
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
		for i := range padding + 1 {
			s := ss.Spans().AppendEmpty()
			s.SetTraceID(tid)
			s.SetSpanID(pcommon.SpanID{seq, byte(i), byte(i >> 8), 1})
			s.SetName("chat gpt-4o")
			now := time.Now()
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
			s.Attributes().PutStr("gen_ai.operation.name", "chat")
			s.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
			s.Attributes().PutStr("padding", strings.Repeat("p", 300))
			if i == 0 && depth > 0 {
				v := s.Attributes().PutEmpty("deep")
				for d := range depth {
					if d%2 == 0 {
						v = v.SetEmptySlice().AppendEmpty()
					} else {
						v = v.SetEmptyMap().PutEmpty("k")
					}
				}
				v.SetStr("leaf")
			}
		}
		return td, tid
	}
	var (
		mu   sync.Mutex
		good []pcommon.TraceID
		wg   sync.WaitGroup
	)
	// alongside sends a good request concurrently with a hostile one.
	alongside := func(name string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			td, tid := traces(0, 20)
			b, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
			if code, msg := post("/v1/traces", "application/x-protobuf", "", b); code != 200 {
				t.Errorf("good request alongside %s: %d %s", name, code, msg)
				return
			}
			mu.Lock()
			good = append(good, tid)
			mu.Unlock()
		}()
	}
	refused := func(name string, code int, msg string) {
		t.Helper()
		if code != 400 || !strings.Contains(msg, limit) {
			t.Errorf("%s: %d %.300s, want 400 naming the limit %s", name, code, msg, limit)
		}
	}

	// Values nested deeper than pdata's protobuf recursion limit are made
	// by hand for JSON only: pdata's encoder is quadratic in depth.
	for _, depth := range []int{genai.MaxValueDepth + 1, 200, 2000} {
		for _, padding := range []int{0, 3000} {
			td, _ := traces(depth, padding)
			req := ptraceotlp.NewExportRequestFromTraces(td)
			pb, _ := req.MarshalProto()
			js, _ := req.MarshalJSON()
			for _, c := range []struct {
				name, ctype, enc string
				body             []byte
			}{
				{"protobuf", "application/x-protobuf", "", pb},
				{"protobuf gzip", "application/x-protobuf", "gzip", pb},
				{"json", "application/json", "", js},
				{"json gzip", "application/json", "gzip", js},
			} {
				name := fmt.Sprintf("otlp/http %s depth %d padding %d", c.name, depth, padding)
				alongside(name)
				code, msg := post("/v1/traces", c.ctype, c.enc, c.body)
				refused(name, code, msg)
			}
			for _, opts := range [][]grpc.CallOption{nil, {grpc.UseCompressor("gzip")}} {
				name := fmt.Sprintf("otlp/grpc (%d options) depth %d padding %d", len(opts), depth, padding)
				alongside(name)
				_, err := grpcClient.Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(td), opts...)
				if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), limit) {
					t.Errorf("%s: %v, want InvalidArgument naming the limit", name, err)
				}
			}
		}
	}
	// OTLP/JSON far past any decoder's limit: 30,000 nested kvlists.
	for _, enc := range []string{"", "gzip"} {
		deep := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"deep","attributes":[{"key":"deep","value":` +
			strings.Repeat(`{"kvlistValue":{"values":[{"key":"k","value":`, 30000) + `{"stringValue":"x"}` + strings.Repeat(`}]}}`, 30000) + `}]}]}]}]}`
		alongside("json depth 30000")
		code, msg := post("/v1/traces", "application/json", enc, []byte(deep))
		refused("otlp/http json depth 30000 "+enc, code, msg)
	}

	// Application Insights: a property nested too deeply.
	envelope := func(depth int) string {
		return `{"ver":1,"name":"x","time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","iKey":"k","tags":{"ai.operation.id":"0102030405060708090a0b0c0d0e0f10"},"data":{"baseType":"RemoteDependencyData","baseData":` +
			`{"id":"0102030405060708","name":"chat gpt-4o","duration":"00:00:01.000","success":true,"properties":{"deep":` +
			strings.Repeat("[", depth) + `"leaf"` + strings.Repeat("]", depth) + `}}}}`
	}
	for _, depth := range []int{genai.MaxValueDepth + 1, 30000} {
		for _, padding := range []int{0, 2000} {
			items := []string{envelope(depth)}
			for range padding {
				items = append(items, envelope(1))
			}
			array := "[" + strings.Join(items, ",") + "]"
			ndjson := strings.Join(items, "\n")
			for _, c := range []struct{ name, enc, body string }{
				{"json array", "", array}, {"ndjson", "", ndjson}, {"json array gzip", "gzip", array}, {"ndjson gzip", "gzip", ndjson},
			} {
				name := fmt.Sprintf("appinsights %s depth %d padding %d", c.name, depth, padding)
				alongside(name)
				code, msg := post("/v2.1/track", "application/json", c.enc, []byte(c.body))
				refused(name, code, msg)
			}
		}
	}

	// At the limit: stored, over HTTP and gRPC.
	td, tid := traces(genai.MaxValueDepth, 0)
	pb, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if code, msg := post("/v1/traces", "application/x-protobuf", "", pb); code != 200 {
		t.Errorf("at the limit: %d %s", code, msg)
	}
	good = append(good, tid)
	td, tid = traces(genai.MaxValueDepth, 0)
	if _, err := grpcClient.Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Errorf("gRPC at the limit: %v", err)
	}
	good = append(good, tid)
	if code, msg := post("/v2.1/track", "application/json", "", []byte(envelope(genai.MaxValueDepth))); code != 200 {
		t.Errorf("appinsights at the limit: %d %s", code, msg)
	}

	wg.Wait()
	for _, tid := range good {
		resp, err := http.Get(base + "/api/v1/traces/" + tid.String())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("good trace %s: %d %.200s", tid, resp.StatusCode, b)
		}
	}
}
