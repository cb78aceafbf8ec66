package otlpconv

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// request512 is an OTLP request of 512 spans: GenAI calls (attributes as
// the OpenTelemetry instrumentations send them, content included) and
// their parent spans, half each.
func request512() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "bench")
	rs.Resource().Attributes().PutStr("telemetry.sdk.language", "go")
	sps := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range 256 {
		tid := pcommon.TraceID{byte(i), byte(i >> 8), 1}
		parent := sps.AppendEmpty()
		parent.SetTraceID(tid)
		parent.SetSpanID(pcommon.SpanID{byte(i), byte(i >> 8), 1})
		parent.SetName("generate_completion")
		parent.SetStartTimestamp(1)
		parent.SetEndTimestamp(2)
		parent.Attributes().PutStr("session.id", "37d67224-93f2-42d3-b315-4e1329aaabb1")

		sp := sps.AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{byte(i), byte(i >> 8), 2})
		sp.SetParentSpanID(parent.SpanID())
		sp.SetName("chat gpt-4o")
		sp.SetKind(ptrace.SpanKindClient)
		sp.SetStartTimestamp(1)
		sp.SetEndTimestamp(2)
		a := sp.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", "gpt-4o")
		a.PutStr("gen_ai.response.model", "gpt-4o-2024-08-06")
		a.PutStr("gen_ai.response.id", "chatcmpl-jTcYJNDmNF4butx0")
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		a.PutInt("gen_ai.usage.input_tokens", 46)
		a.PutInt("gen_ai.usage.output_tokens", 92)
		a.PutStr("server.address", "api.openai.com")
		a.PutInt("server.port", 443)
		a.PutStr("gen_ai.input.messages", `[{"role":"system","parts":[{"type":"text","content":"You are an AI assistant that acts as a travel guide."}]},{"role":"user","parts":[{"type":"text","content":"What are some recommended supplies for a camping trip in the mountains?"}]}]`)
		a.PutStr("gen_ai.output.messages", `[{"role":"assistant","finish_reason":"stop","parts":[{"type":"text","content":"Great question! Camping in the mountains needs some extra preparation.\n\n- Layered, waterproof clothing\n- Sleeping bag rated for cold nights\n- Tent and sleeping pad"}]}]`)
	}
	return td
}

func BenchmarkTraces(b *testing.B) {
	td := request512()
	b.Run("spans=512/decode=no", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			spans, _, _ := Traces(td, "p")
			if len(spans) != 512 {
				b.Fatal(len(spans))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/span")
	})
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("spans=512/decode=proto", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(body); err != nil {
				b.Fatal(err)
			}
			Traces(req.Traces(), "p")
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/span")
	})
}
