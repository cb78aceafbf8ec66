package otlp

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"

	"github.com/genscope/genscope/internal/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sink is a Sink under the test's control: it records what it stores,
// answers with err, and, when hold is set, waits for the caller to give up.
type sink struct {
	mu      sync.Mutex
	err     error
	hold    bool
	entered chan struct{} // receives once per held Submit
	batches []*store.Batch
}

func (s *sink) Submit(ctx context.Context, b *store.Batch) error {
	s.mu.Lock()
	err, hold := s.err, s.hold
	s.mu.Unlock()
	if hold {
		s.entered <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.mu.Unlock()
	return nil
}

func (s *sink) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// stored returns the spans and message records stored so far.
func (s *sink) stored() (spans, messages int, projects map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	projects = map[string]bool{}
	for _, b := range s.batches {
		spans += len(b.Spans)
		messages += len(b.Messages)
		for _, sp := range b.Spans {
			projects[sp.Project] = true
		}
		for _, m := range b.Messages {
			projects[m.Project] = true
		}
	}
	return spans, messages, projects
}

func newReceiver(t testing.TB, s Sink, opts Options) *Receiver {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r, err := New(s, opts, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newHTTPServer serves r's OTLP/HTTP endpoints on a loopback port.
func newHTTPServer(t *testing.T, r *Receiver) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	r.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

var (
	traceA = pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	spanA  = pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
)

// testTraces is one resource with n chat spans; the first zeroIDs of them
// have an all-zero trace id, which makes them invalid.
func testTraces(n, zeroIDs int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("test")
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		s := ss.Spans().AppendEmpty()
		if i >= zeroIDs {
			s.SetTraceID(traceA)
		}
		id := spanA
		id[7] = byte(i)
		id[6] = byte(i >> 8)
		s.SetSpanID(id)
		s.SetName("chat gpt-4o")
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(800 * time.Millisecond)))
		a := s.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", "gpt-4o")
		a.PutInt("gen_ai.usage.input_tokens", 12)
		a.PutInt("gen_ai.usage.output_tokens", 34)
	}
	return td
}

// testLogs is one GenAI user-message event of spanA's span and one
// ordinary application log line.
func testLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	ts := pcommon.NewTimestampFromTime(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))

	ev := lrs.AppendEmpty()
	ev.SetTimestamp(ts)
	ev.SetEventName("gen_ai.user.message")
	ev.Attributes().PutStr("event.name", "gen_ai.user.message")
	ev.Attributes().PutStr("gen_ai.system", "openai")
	ev.SetTraceID(traceA)
	ev.SetSpanID(spanA)
	ev.Body().SetEmptyMap().PutStr("content", "hello")

	line := lrs.AppendEmpty()
	line.SetTimestamp(ts)
	line.SetSeverityText("INFO")
	line.Body().SetStr("request served")
	return ld
}

func encodeTraces(t testing.TB, td ptrace.Traces, enc encoding) []byte {
	t.Helper()
	req := ptraceotlp.NewExportRequestFromTraces(td)
	var (
		b   []byte
		err error
	)
	if enc == encJSON {
		b, err = req.MarshalJSON()
	} else {
		b, err = req.MarshalProto()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encodeLogs(t testing.TB, ld plog.Logs, enc encoding) []byte {
	t.Helper()
	req := plogotlp.NewExportRequestFromLogs(ld)
	var (
		b   []byte
		err error
	)
	if enc == encJSON {
		b, err = req.MarshalJSON()
	} else {
		b, err = req.MarshalProto()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func deflated(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zlib.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
