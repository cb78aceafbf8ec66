package otlp

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/genscope/genscope/internal/store"
)

// discard is a Sink that stores nothing.
type discard struct{}

func (discard) Submit(context.Context, *store.Batch) error { return nil }

// benchTraces is n GenAI chat spans of about 1 KB each (encoded), with
// about 20 attributes, in one resource, like an instrumented app sends.
func benchTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "checkout")
	ra.PutStr("service.version", "1.4.2")
	ra.PutStr("telemetry.sdk.language", "python")
	ra.PutStr("telemetry.sdk.name", "opentelemetry")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("opentelemetry.instrumentation.openai_v2")
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		s := ss.Spans().AppendEmpty()
		var tid pcommon.TraceID
		var sid, pid pcommon.SpanID
		copy(tid[:], fmt.Sprintf("trace-%010d", i))
		copy(sid[:], fmt.Sprintf("s%07d", i))
		copy(pid[:], fmt.Sprintf("p%07d", i))
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetParentSpanID(pid)
		s.SetName("chat gpt-4o-mini")
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i) * time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i)*time.Millisecond + 850*time.Millisecond)))
		s.Status().SetCode(ptrace.StatusCodeOk)
		a := s.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", "gpt-4o-mini")
		a.PutStr("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
		a.PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%024d", i))
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		a.PutDouble("gen_ai.request.temperature", 0.2)
		a.PutDouble("gen_ai.request.top_p", 0.9)
		a.PutInt("gen_ai.request.max_tokens", 512)
		a.PutInt("gen_ai.usage.input_tokens", 182)
		a.PutInt("gen_ai.usage.output_tokens", 64)
		a.PutStr("gen_ai.conversation.id", fmt.Sprintf("conv-%06d", i%100))
		a.PutStr("user.id", fmt.Sprintf("user-%04d", i%50))
		a.PutStr("server.address", "api.openai.com")
		a.PutInt("server.port", 443)
		a.PutStr("http.request.method", "POST")
		a.PutInt("http.response.status_code", 200)
		a.PutStr("gen_ai.system_instructions", `[{"type":"text","content":"You are a helpful shopping assistant."}]`)
		a.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+strings.Repeat("Which of these shoes fit wide feet? ", 4)+`"}]}]`)
		a.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"`+strings.Repeat("The Trail 5 runs wide. ", 5)+`"}],"finish_reason":"stop"}]`)
	}
	return td
}

func BenchmarkHTTPTraces(b *testing.B) {
	const spans = 512
	td := benchTraces(spans)
	for _, enc := range encodings {
		b.Run("encoding="+enc.String(), func(b *testing.B) {
			body := encodeTraces(b, td, enc)
			r := newReceiver(b, discard{}, Options{})
			mux := http.NewServeMux()
			r.Register(mux)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body))
				req.Header.Set("Content-Type", enc.contentType())
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
				}
			}
			b.ReportMetric(float64(spans*b.N)/b.Elapsed().Seconds(), "spans/s")
			b.ReportMetric(float64(len(body))/spans, "B/span")
		})
	}
}
