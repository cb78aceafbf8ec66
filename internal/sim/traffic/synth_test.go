package traffic

import (
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/genscope/genscope/internal/genai"
)

func generate(t *testing.T, cfg Config) []genai.Span {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var all []genai.Span
	buf := make([]genai.Span, 0, 500)
	for {
		buf = g.Next(buf)
		if len(buf) == 0 {
			return all
		}
		all = append(all, buf...)
	}
}

func TestConfigErrors(t *testing.T) {
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Spans: -1}, "spans:"},
		{Config{Start: start, End: start}, "end:"},
		{Config{Models: 51}, "models:"},
		{Config{Users: -3}, "users:"},
		{Config{Services: 6}, "services:"},
		{Config{ErrorRate: 1.5}, "error_rate:"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error about %s", tc.cfg, err, tc.want)
		}
	}
	_, err := New(Config{Spans: -1, Models: 99})
	if err == nil || !strings.Contains(err.Error(), "spans:") || !strings.Contains(err.Error(), "models:") {
		t.Errorf("New reports %v, want every problem", err)
	}
}

func TestCatalog(t *testing.T) {
	models := Models()
	if len(models) != 50 {
		t.Fatalf("catalog has %d models, want 50", len(models))
	}
	names := map[string]bool{}
	providers := map[string]bool{}
	unpriced := 0
	for _, m := range models {
		if names[m.Name] {
			t.Errorf("model %s listed twice", m.Name)
		}
		names[m.Name] = true
		providers[m.Provider] = true
		if m.Unpriced {
			unpriced++
		}
		if !m.Embedding && m.tps <= 0 || m.context <= 0 || m.weight <= 0 || m.Response == "" {
			t.Errorf("model %s is incomplete: %+v", m.Name, m)
		}
	}
	for _, want := range []string{"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022", "gemini-1.5-pro", "mistral-large-latest"} {
		if !names[want] {
			t.Errorf("catalog lacks %s", want)
		}
	}
	if len(providers) != 5 || unpriced < 2 {
		t.Errorf("catalog has %d providers and %d unpriced models", len(providers), unpriced)
	}
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 7, Spans: 3000}
	a, b := generate(t, cfg), generate(t, cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two generators with the same config differ")
	}
	cfg.Seed = 8
	if c := generate(t, cfg); reflect.DeepEqual(a[:10], c[:10]) {
		t.Fatal("different seeds give the same spans")
	}
}

func TestOrderedCompleteBounded(t *testing.T) {
	const n = 200_000
	cfg := Config{Seed: 1, Spans: n}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ = cfg.withDefaults()
	seen := map[genai.SpanID]bool{}
	buf := make([]genai.Span, 0, 1000)
	count, last := 0, int64(0)
	var peak uint64
	for batch := 0; ; batch++ {
		buf = g.Next(buf)
		if len(buf) == 0 {
			break
		}
		for i := range buf {
			s := &buf[i]
			if s.StartUnixNano < last {
				t.Fatalf("span %d starts at %d, before %d", count, s.StartUnixNano, last)
			}
			last = s.StartUnixNano
			if !s.ParentSpanID.IsZero() && !seen[s.ParentSpanID] {
				t.Fatalf("span %d (%s) comes before its parent", count, s.Name)
			}
			if s.ParentSpanID.IsZero() {
				if s.StartUnixNano < cfg.Start.UnixNano() || s.StartUnixNano >= cfg.End.UnixNano() {
					t.Fatalf("trace starts at %s, outside the window", time.Unix(0, s.StartUnixNano))
				}
			}
			seen[s.SpanID] = true
			count++
		}
		if batch%50 == 0 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if count != n {
		t.Errorf("generated %d spans, want %d", count, n)
	}
	if g.maxPending > 2000 {
		t.Errorf("up to %d spans were pending, want a bounded few", g.maxPending)
	}
	if peak > 64<<20 {
		t.Errorf("heap reached %d MB", peak>>20)
	}
	// Traces should fill the window, not end early.
	if end := cfg.End.Add(-10 * time.Minute).UnixNano(); last < end {
		t.Errorf("last span starts at %s, want near the end %s", time.Unix(0, last).UTC(), cfg.End)
	}
	t.Logf("max pending %d spans, peak heap %d KB", g.maxPending, peak>>10)
}

func TestDistribution(t *testing.T) {
	spans := generate(t, Config{Seed: 42, Spans: 100_000})
	models := map[string]int{}
	providers := map[string]bool{}
	users := map[string]bool{}
	services := map[string]bool{}
	ops := map[string]int{}
	children := map[genai.SpanID]int{}
	calls, errs, streamed := 0, 0, 0
	errTypes := map[string]int{}
	for i := range spans {
		s := &spans[i]
		services[s.Service] = true
		ops[s.Operation]++
		if s.ParentSpanID.IsZero() {
			if s.SessionID == "" || s.UserID == "" || s.Attributes["session.id"] != s.SessionID || s.Attributes["user.id"] != s.UserID {
				t.Fatalf("root span %s lacks session or user: %+v", s.Name, s.Attributes)
			}
			users[s.UserID] = true
			continue
		}
		children[s.ParentSpanID]++
		if s.Operation != "chat" && s.Operation != "embeddings" {
			continue
		}
		calls++
		models[s.RequestModel]++
		providers[s.Provider] = true
		if s.Status == genai.StatusError {
			errs++
			errTypes[s.ErrorType]++
			if s.StatusMessage == "" || s.Usage.OutputTokens != 0 {
				t.Errorf("bad failed call %+v", s)
			}
			continue
		}
		if s.ResponseModel == "" || s.Usage.InputTokens <= 0 || s.DurationNano <= 0 {
			t.Errorf("bad call %+v", s)
		}
		if s.Operation == "chat" && (len(s.FinishReasons) != 1 || s.Usage.OutputTokens <= 0 || len(s.OutputMessages) != 1) {
			t.Errorf("bad chat %+v", s)
		}
		if s.TTFTNano > 0 {
			streamed++
			if s.TTFTNano > s.DurationNano || s.Params.Stream == nil || !*s.Params.Stream {
				t.Errorf("bad streamed call: ttft %d, duration %d", s.TTFTNano, s.DurationNano)
			}
		}
	}
	if len(models) != 50 {
		t.Errorf("%d models used, want 50", len(models))
	}
	if len(providers) != 5 || len(services) != 5 {
		t.Errorf("%d providers and %d services, want 5 and 5", len(providers), len(services))
	}
	if len(users) < 900 || len(users) > 1000 {
		t.Errorf("%d users, want about 1000", len(users))
	}
	if rate := float64(errs) / float64(calls); rate < 0.045 || rate > 0.055 {
		t.Errorf("error rate %.4f over %d calls, want 0.05", rate, calls)
	}
	for _, k := range errorKinds {
		if errTypes[k.typ] == 0 {
			t.Errorf("no %s errors", k.typ)
		}
	}
	for _, op := range []string{"chat", "embeddings", "execute_tool", "invoke_agent"} {
		if ops[op] == 0 {
			t.Errorf("no %s spans", op)
		}
	}
	if ops["chat"] < ops["embeddings"]*4 {
		t.Errorf("chat calls %d, embeddings %d: want mostly chat", ops["chat"], ops["embeddings"])
	}
	for parent, n := range children {
		if n > 3 {
			t.Errorf("span %s has %d children", parent, n)
		}
	}
	if f := float64(streamed) / float64(ops["chat"]); f < 0.2 || f > 0.35 {
		t.Errorf("%.2f of chat calls streamed", f)
	}
	t.Logf("%d spans: %d model calls, %d users, ops %v, errors %v", len(spans), calls, len(users), ops, errTypes)
}

func TestConfigShapesOutput(t *testing.T) {
	spans := generate(t, Config{Seed: 3, Spans: 5000, Models: 3, Services: 1, ErrorRate: -1, Users: 10, Project: "p1", OmitContent: true,
		Cost: func(s *genai.Span) (float64, bool) {
			return float64(s.Usage.Total()) * 1e-6, s.RequestModel != "gemini-1.5-pro"
		}})
	users := map[string]bool{}
	for i := range spans {
		s := &spans[i]
		if s.Project != "p1" || s.Service != "chat-api" || s.Status == genai.StatusError || s.InputMessages != nil || s.SystemInstructions != nil {
			t.Fatalf("span ignores the config: %+v", s)
		}
		if s.Operation == "chat" {
			if i := indexOf(s.RequestModel); i < 0 || i >= 3 {
				t.Fatalf("model %s is not among the first 3", s.RequestModel)
			}
			if s.CostKnown != (s.RequestModel != "gemini-1.5-pro") || s.CostKnown && s.CostUSD <= 0 {
				t.Fatalf("cost not set by the hook: %+v", s)
			}
		}
		if s.UserID != "" {
			users[s.UserID] = true
		}
	}
	if len(users) != 10 {
		t.Errorf("%d users, want 10", len(users))
	}
}

func indexOf(model string) int {
	for i, m := range catalog {
		if m.Name == model {
			return i
		}
	}
	return -1
}

func TestPayload(t *testing.T) {
	spans := generate(t, Config{Seed: 11, Spans: 20_000})
	var chats []genai.Span
	for _, s := range spans {
		if s.Operation == "chat" && s.Status != genai.StatusError {
			chats = append(chats, s)
		}
	}
	var totalBytes, totalAttrs int
	for i := range chats[:1000] {
		b, err := MarshalProto(chats[i : i+1])
		if err != nil {
			t.Fatal(err)
		}
		totalBytes += len(b)
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(b); err != nil {
			t.Fatal(err)
		}
		totalAttrs += req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Len()
	}
	meanBytes, meanAttrs := totalBytes/1000, totalAttrs/1000
	// About 1 KB of attributes (keys included) and resource, plus about
	// half a kilobyte of content.
	if meanBytes < 1000 || meanBytes > 2000 {
		t.Errorf("a 1-span GenAI payload is %d bytes on average, want 1 to 2 KB", meanBytes)
	}
	if meanAttrs < 17 || meanAttrs > 24 {
		t.Errorf("a GenAI span has %d attributes on average, want about 20", meanAttrs)
	}
	t.Logf("1-span chat payload: %d bytes, %d attributes on average", meanBytes, meanAttrs)

	// The first chat span, decoded: every typed field is in its current
	// semantic-convention attribute.
	s := chats[0]
	b, err := MarshalJSON(chats[:1])
	if err != nil {
		t.Fatal(err)
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	rs := req.Traces().ResourceSpans().At(0)
	if v, _ := rs.Resource().Attributes().Get("service.name"); v.Str() != s.Service {
		t.Errorf("service.name = %q, want %q", v.Str(), s.Service)
	}
	sp := rs.ScopeSpans().At(0).Spans().At(0)
	if sp.TraceID() != [16]byte(s.TraceID) || sp.ParentSpanID() != [8]byte(s.ParentSpanID) || sp.Kind() != ptrace.SpanKindClient {
		t.Errorf("span identity lost")
	}
	a := sp.Attributes()
	for k, want := range map[string]any{
		"gen_ai.operation.name":     "chat",
		"gen_ai.provider.name":      s.Provider,
		"gen_ai.request.model":      s.RequestModel,
		"gen_ai.response.model":     s.ResponseModel,
		"gen_ai.usage.input_tokens": s.Usage.InputTokens,
		"http.response.status_code": int64(200),
	} {
		if v, ok := a.Get(k); !ok || v.AsRaw() != want {
			t.Errorf("%s = %v, want %v", k, v.AsRaw(), want)
		}
	}
	v, _ := a.Get("gen_ai.input.messages")
	var msgs []genai.Message
	if err := json.Unmarshal([]byte(v.Str()), &msgs); err != nil || len(msgs) == 0 || msgs[len(msgs)-1].Parts[0].Type == "" {
		t.Errorf("gen_ai.input.messages = %s (%v), want messages in the parts shape", v.Str(), err)
	}
	if v, ok := a.Get("gen_ai.system_instructions"); !ok || !strings.HasPrefix(v.Str(), `[{"type":"text","content":`) {
		t.Errorf("gen_ai.system_instructions = %s", v.Str())
	}

	// A batch groups spans by service.
	batch := spans[:2000]
	td := Traces(batch)
	if td.SpanCount() != len(batch) || td.ResourceSpans().Len() != 5 {
		t.Errorf("batch of %d spans: %d spans in %d resources", len(batch), td.SpanCount(), td.ResourceSpans().Len())
	}
	pb, _ := MarshalProto(batch)
	js, _ := MarshalJSON(batch)
	t.Logf("batch of %d spans: %d KB protobuf, %d KB JSON", len(batch), len(pb)>>10, len(js)>>10)

	// Failed calls carry error.type, the status and an exception event.
	for i := range spans {
		if f := &spans[i]; f.Operation == "chat" && f.Status == genai.StatusError {
			sp := Traces(spans[i : i+1]).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
			et, _ := sp.Attributes().Get("error.type")
			if sp.Status().Code() != ptrace.StatusCodeError || et.Str() != f.ErrorType || sp.Events().Len() != 1 {
				t.Errorf("failed call encoded without its error: %v", sp.Attributes().AsRaw())
			}
			break
		}
	}
}
