package otlp

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/genscope/genscope/internal/genai"
)

// deepJSON is an OTLP/JSON trace request with one span whose attribute is
// a kvlist nested depth deep, written directly (pdata's encoder would
// take quadratic time to make it).
func deepJSON(depth int) []byte {
	var b strings.Builder
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"deep","attributes":[{"key":"deep","value":`)
	b.WriteString(strings.Repeat(`{"kvlistValue":{"values":[{"key":"k","value":`, depth))
	b.WriteString(`{"stringValue":"x"}`)
	b.WriteString(strings.Repeat(`}]}}`, depth))
	b.WriteString(`}]}]}]}]}`)
	return []byte(b.String())
}

// nestValue sets v to depth levels of alternating arrays and maps around
// a string.
func nestValue(v pcommon.Value, depth int) {
	for i := range depth {
		if i%2 == 0 {
			v = v.SetEmptySlice().AppendEmpty()
		} else {
			v = v.SetEmptyMap().PutEmpty("k")
		}
	}
	v.SetStr("leaf")
}

func deepTraces(depth int) ptrace.Traces {
	td := testTraces(1, 0)
	nestValue(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutEmpty("deep"), depth)
	return td
}

// TestHTTPDepth: a request nesting a value deeper than the limit is
// refused with 400 naming the limit before it costs more than its own
// size (pdata's JSON decoder has no depth limit: 30,000 levels took 17 s
// and 3.5 GB), in every encoding; one at the limit is stored.
func TestHTTPDepth(t *testing.T) {
	s := &sink{}
	r := newReceiver(t, s, Options{})
	srv := newHTTPServer(t, r)
	limit := fmt.Sprint(genai.MaxValueDepth)
	refused := func(name string, a answer, enc encoding) {
		t.Helper()
		if a.code != 400 {
			t.Fatalf("%s: %d %q, want 400", name, a.code, a.body)
		}
		st := rpcStatus(t, a, enc)
		if codes.Code(st.GetCode()) != codes.InvalidArgument || !strings.Contains(st.GetMessage(), limit) {
			t.Errorf("%s: status %v %q, want InvalidArgument naming the limit %s", name, codes.Code(st.GetCode()), st.GetMessage(), limit)
		}
	}
	for _, depth := range []int{genai.MaxValueDepth + 1, 1000, 30000} {
		refused(fmt.Sprintf("json kvlist depth %d", depth), post(t, srv.URL, "/v1/traces", "application/json", "", deepJSON(depth)), encJSON)
	}
	// Arrays nest 3 JSON levels a value level: past the value limit but
	// within the JSON one, so conversion's check refuses it.
	for _, enc := range []encoding{encJSON, encProto} {
		refused(enc.String()+" depth 40", post(t, srv.URL, "/v1/traces", enc.contentType(), "", encodeTraces(t, deepTraces(40), enc)), enc)
	}
	// Past pdata's protobuf recursion limit.
	refused("protobuf depth 2000", post(t, srv.URL, "/v1/traces", "application/x-protobuf", "", encodeTraces(t, deepTraces(2000), encProto)), encProto)
	// Logs: a deep body.
	ld := testLogs()
	nestValue(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body(), 40)
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	refused("logs body depth 40", post(t, srv.URL, "/v1/logs", "application/x-protobuf", "", body), encProto)
	if spans, msgs, _ := s.stored(); spans != 0 || msgs != 0 {
		t.Fatalf("stored %d spans, %d messages of refused requests", spans, msgs)
	}
	// At the limit: stored, in both encodings.
	for _, enc := range []encoding{encJSON, encProto} {
		if a := post(t, srv.URL, "/v1/traces", enc.contentType(), "", encodeTraces(t, deepTraces(genai.MaxValueDepth), enc)); a.code != 200 {
			t.Errorf("%s at the limit: %d %q", enc, a.code, a.body)
		}
	}
	if a := post(t, srv.URL, "/v1/traces", "application/json", "", deepJSON(genai.MaxValueDepth)); a.code != 200 {
		t.Errorf("json kvlist at the limit: %d %q", a.code, a.body)
	}
	if spans, _, _ := s.stored(); spans != 3 {
		t.Errorf("stored %d spans at the limit, want 3", spans)
	}
}

func TestGRPCDepth(t *testing.T) {
	s := &sink{}
	r := newReceiver(t, s, Options{})
	client := ptraceotlp.NewGRPCClient(newGRPC(t, r))
	for _, depth := range []int{40, 2000} {
		_, err := client.Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(deepTraces(depth)))
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), fmt.Sprint(genai.MaxValueDepth)) {
			t.Errorf("depth %d: %v %q, want InvalidArgument naming the limit", depth, st.Code(), st.Message())
		}
	}
	if _, err := client.Export(t.Context(), ptraceotlp.NewExportRequestFromTraces(deepTraces(genai.MaxValueDepth))); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if spans, _, _ := s.stored(); spans != 1 {
		t.Errorf("stored %d spans, want 1", spans)
	}
}
