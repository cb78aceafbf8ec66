package traffic

import (
	"encoding/json"
	"fmt"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/genscope/genscope/internal/genai"
)

// Traces builds the OTLP traces that carry spans, as a GenAI instrumentation
// following the current OpenTelemetry semantic conventions sends them: one
// ResourceSpans per service (in order of first appearance), one ScopeSpans
// per instrumentation scope, the typed fields as gen_ai.* attributes
// (contents as JSON strings in the parts shape), then the span's other
// attributes. The project is not carried: OTLP has no place for it.
func Traces(spans []genai.Span) ptrace.Traces {
	td := ptrace.NewTraces()
	type key struct{ service, scope string }
	resources := map[string]ptrace.ResourceSpans{}
	scopes := map[key]ptrace.SpanSlice{}
	for i := range spans {
		s := &spans[i]
		rs, ok := resources[s.Service]
		if !ok {
			rs = td.ResourceSpans().AppendEmpty()
			attrs := rs.Resource().Attributes()
			putAll(attrs, s.ResourceAttributes)
			attrs.PutStr("service.name", s.Service)
			resources[s.Service] = rs
		}
		k := key{s.Service, s.ScopeName}
		ss, ok := scopes[k]
		if !ok {
			sc := rs.ScopeSpans().AppendEmpty()
			sc.Scope().SetName(s.ScopeName)
			ss = sc.Spans()
			scopes[k] = ss
		}
		putSpan(ss.AppendEmpty(), s)
	}
	return td
}

// TracesRequest is Traces as an OTLP export request.
func TracesRequest(spans []genai.Span) ptraceotlp.ExportRequest {
	return ptraceotlp.NewExportRequestFromTraces(Traces(spans))
}

// MarshalProto encodes spans as an OTLP/HTTP protobuf body
// (application/x-protobuf).
func MarshalProto(spans []genai.Span) ([]byte, error) {
	b, err := TracesRequest(spans).MarshalProto()
	if err != nil {
		return nil, fmt.Errorf("marshal otlp protobuf: %w", err)
	}
	return b, nil
}

// MarshalJSON encodes spans as an OTLP/HTTP JSON body (application/json).
func MarshalJSON(spans []genai.Span) ([]byte, error) {
	b, err := TracesRequest(spans).MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("marshal otlp json: %w", err)
	}
	return b, nil
}

var kinds = map[string]ptrace.SpanKind{
	"internal": ptrace.SpanKindInternal,
	"server":   ptrace.SpanKindServer,
	"client":   ptrace.SpanKindClient,
	"producer": ptrace.SpanKindProducer,
	"consumer": ptrace.SpanKindConsumer,
}

func putSpan(sp ptrace.Span, s *genai.Span) {
	sp.SetTraceID(pcommon.TraceID(s.TraceID))
	sp.SetSpanID(pcommon.SpanID(s.SpanID))
	sp.SetParentSpanID(pcommon.SpanID(s.ParentSpanID))
	sp.SetName(s.Name)
	sp.SetKind(kinds[s.Kind])
	sp.SetStartTimestamp(pcommon.Timestamp(s.StartUnixNano))
	sp.SetEndTimestamp(pcommon.Timestamp(s.StartUnixNano + s.DurationNano))
	switch s.Status {
	case genai.StatusOK:
		sp.Status().SetCode(ptrace.StatusCodeOk)
	case genai.StatusError:
		sp.Status().SetCode(ptrace.StatusCodeError)
		sp.Status().SetMessage(s.StatusMessage)
	}

	a := sp.Attributes()
	a.EnsureCapacity(len(s.Attributes) + 20)
	str := func(k, v string) {
		if v != "" {
			a.PutStr(k, v)
		}
	}
	num := func(k string, v int64) {
		if v != 0 {
			a.PutInt(k, v)
		}
	}
	str("gen_ai.operation.name", s.Operation)
	str("gen_ai.provider.name", s.Provider)
	str("gen_ai.request.model", s.RequestModel)
	if p := s.Params.Temperature; p != nil {
		a.PutDouble("gen_ai.request.temperature", *p)
	}
	if p := s.Params.TopP; p != nil {
		a.PutDouble("gen_ai.request.top_p", *p)
	}
	if p := s.Params.MaxTokens; p != nil {
		a.PutInt("gen_ai.request.max_tokens", *p)
	}
	if p := s.Params.Stream; p != nil {
		a.PutBool("gen_ai.request.stream", *p)
	}
	str("gen_ai.response.model", s.ResponseModel)
	str("gen_ai.response.id", s.ResponseID)
	if len(s.FinishReasons) > 0 {
		fr := a.PutEmptySlice("gen_ai.response.finish_reasons")
		for _, r := range s.FinishReasons {
			fr.AppendEmpty().SetStr(r)
		}
	}
	if s.IsCall() && s.Status != genai.StatusError {
		a.PutInt("gen_ai.usage.input_tokens", s.Usage.InputTokens)
		if s.Operation != "embeddings" {
			a.PutInt("gen_ai.usage.output_tokens", s.Usage.OutputTokens)
		}
	}
	num("gen_ai.usage.cache_read.input_tokens", s.Usage.CachedInputTokens)
	num("gen_ai.usage.reasoning.output_tokens", s.Usage.ReasoningTokens)
	if s.TTFTNano > 0 {
		a.PutDouble("gen_ai.response.time_to_first_chunk", float64(s.TTFTNano)/1e9)
	}
	str("session.id", s.SessionID)
	str("user.id", s.UserID)
	str("error.type", s.ErrorType)
	num("http.response.status_code", int64(s.HTTPStatus))
	if len(s.SystemInstructions) > 0 {
		a.PutStr("gen_ai.system_instructions", mustJSON(s.SystemInstructions))
	}
	if len(s.InputMessages) > 0 {
		a.PutStr("gen_ai.input.messages", mustJSON(s.InputMessages))
	}
	if len(s.OutputMessages) > 0 {
		a.PutStr("gen_ai.output.messages", mustJSON(s.OutputMessages))
	}
	for _, k := range sortedKeys(s.Attributes) {
		if _, ok := a.Get(k); !ok {
			putValue(a.PutEmpty(k), s.Attributes[k])
		}
	}

	for _, e := range s.Events {
		ev := sp.Events().AppendEmpty()
		ev.SetName(e.Name)
		ev.SetTimestamp(pcommon.Timestamp(e.TimeUnixNano))
		putAll(ev.Attributes(), e.Attributes)
	}
}

// mustJSON encodes content values, which always encode.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", err.Error())
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func putAll(dst pcommon.Map, m map[string]any) {
	for _, k := range sortedKeys(m) {
		putValue(dst.PutEmpty(k), m[k])
	}
}

func putValue(dst pcommon.Value, v any) {
	switch v := v.(type) {
	case string:
		dst.SetStr(v)
	case bool:
		dst.SetBool(v)
	case int:
		dst.SetInt(int64(v))
	case int64:
		dst.SetInt(v)
	case float64:
		dst.SetDouble(v)
	case []string:
		s := dst.SetEmptySlice()
		for _, x := range v {
			s.AppendEmpty().SetStr(x)
		}
	case []any:
		s := dst.SetEmptySlice()
		for _, x := range v {
			putValue(s.AppendEmpty(), x)
		}
	case map[string]any:
		putAll(dst.SetEmptyMap(), v)
	default:
		dst.SetStr(fmt.Sprint(v))
	}
}
