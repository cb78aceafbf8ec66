package eval

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/genscope/genscope/internal/gateway"
	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/recorder"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/duckdb"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openDB(t testing.TB) *duckdb.DB {
	t.Helper()
	db, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "g.duckdb"), duckdb.Options{MemoryLimit: "256MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rig is an engine over a real DuckDB store, fed by a real recorder.
type rig struct {
	db  *duckdb.DB
	e   *Engine
	rec *recorder.Recorder
	reg *prometheus.Registry
}

func newRig(t *testing.T, opts Options) *rig {
	t.Helper()
	return newRigOn(t, openDB(t), opts)
}

func newRigOn(t *testing.T, db *duckdb.DB, opts Options) *rig {
	t.Helper()
	r := &rig{db: db, reg: prometheus.NewRegistry()}
	if opts.State == nil {
		opts.State = r.db
	}
	opts.Scores = r.db
	if opts.Reader == nil {
		opts.Reader = r.db
	}
	opts.DefaultProject = "default"
	opts.Metrics = r.reg
	opts.Log = quiet
	if opts.Delay == 0 {
		opts.Delay = -1
	}
	if opts.Backoff == 0 {
		opts.Backoff = 10 * time.Millisecond
	}
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	r.e = e
	r.rec, err = recorder.New(r.db, recorder.Options{Written: e.Observe}, quiet, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	t.Cleanup(func() {
		_ = r.rec.Close(context.Background())
		e.Stop()
	})
	return r
}

var spanSeq atomic.Uint64

// call is a stored model call with the given output.
func call(project, model, output string) genai.Span {
	n := spanSeq.Add(1)
	var tid genai.TraceID
	var sid genai.SpanID
	tid[0], tid[15], sid[7] = 0xab, byte(n), byte(n)
	tid[14] = byte(n >> 8)
	sid[6] = byte(n >> 8)
	sp := genai.Span{Project: project, TraceID: tid, SpanID: sid, Name: "chat " + model, Kind: "client", Service: "shop",
		StartUnixNano: time.Now().Add(-time.Second).UnixNano(), DurationNano: 5e8, Status: genai.StatusOK, Operation: "chat",
		Provider: "openai", RequestModel: model, ResponseModel: model, FinishReasons: []string{"stop"},
		SystemInstructions: []genai.Part{{Type: "text", Content: "Be brief."}},
		InputMessages:      []genai.Message{{Role: "user", Parts: []genai.Part{{Type: "text", Content: "Where is the Louvre?"}}}}}
	if output != "" {
		sp.OutputMessages = []genai.Message{{Role: "assistant", Parts: []genai.Part{{Type: "text", Content: output}}}}
	}
	return sp
}

// waitRuns waits until the evaluator has n runs, and returns them.
func (r *rig) waitRuns(t *testing.T, id string, n int) []Run {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		runs, err := r.e.Runs(context.Background(), id, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) >= n {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("evaluator %s: %d runs, want %d: %+v", id, len(runs), n, runs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rig) scoreOf(t *testing.T, sp genai.Span, name string) store.Score {
	t.Helper()
	scores, err := r.db.Scores(context.Background(), store.ScoreQuery{Project: sp.Project, TraceIDs: []string{sp.TraceID.String()}, SpanID: sp.SpanID.String(), Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 1 {
		t.Fatalf("scores %q of %s: %+v", name, sp.SpanID, scores)
	}
	return scores[0]
}

// Rule-based evaluators score the new calls they match, on their span,
// with their source; what they do not match, tool spans and a judge's
// own calls are left alone; each run is recorded.
func TestRuleEvaluatorsScoreNewCalls(t *testing.T) {
	r := newRig(t, Options{ConfigEvaluators: []Evaluator{
		{Name: "no-apology", Type: TypeRegex, MustNotMatch: `(?i)\bsorry\b`, Sample: 1, Enabled: true},
		{Name: "is-json", Type: TypeJSON, Schema: `{"type":"object","required":["city"]}`, Sample: 1, Enabled: true, Filters: Filters{Model: "gpt-4o-json"}},
		{Name: "refusal", Type: TypeRefusal, Sample: 1, Enabled: true, Project: "other"},
		{Name: "off", Type: TypeRefusal, Sample: 1, Enabled: false},
	}})
	sorry := call("default", "gpt-4o", "Sorry, I cannot say.")
	fine := call("default", "gpt-4o", "In Paris.")
	js := call("default", "gpt-4o-json", `{"city": "Paris"}`)
	other := call("other", "gpt-4o", "I'm sorry, but I can't help with that.")
	tool := call("default", "gpt-4o", "sorry")
	tool.Operation = "execute_tool"
	judge := call("default", "gpt-4o", "sorry")
	judge.Attributes = map[string]any{AttrEvaluator: "no-apology"}
	if err := r.rec.Submit(context.Background(), &store.Batch{Spans: []genai.Span{sorry, fine, js, other, tool, judge}}); err != nil {
		t.Fatal(err)
	}
	runs := r.waitRuns(t, "no-apology", 3)
	r.waitRuns(t, "is-json", 1)
	r.waitRuns(t, "refusal", 1)
	time.Sleep(200 * time.Millisecond) // nothing more comes
	if runs, _ := r.e.Runs(context.Background(), "no-apology", "", 100); len(runs) != 3 {
		t.Errorf("no-apology ran %d times, want 3 (not on the tool span or the judge's call): %+v", len(runs), runs)
	}
	if runs, _ := r.e.Runs(context.Background(), "off", "", 100); len(runs) != 0 {
		t.Errorf("a disabled evaluator ran: %+v", runs)
	}
	for _, run := range runs {
		if run.Status != StatusOK || run.Attempts != 1 || run.Project != "default" || run.Evaluator != "no-apology" || run.ScoreID == "" || run.Time.IsZero() {
			t.Errorf("run %+v", run)
		}
	}
	sc := r.scoreOf(t, sorry, "no-apology")
	if sc.Label != LabelFail || *sc.Value != 0 || sc.Source != "evaluator:no-apology" || !sc.TargetTime.Equal(time.Unix(0, sorry.StartUnixNano).UTC()) ||
		!strings.Contains(sc.Comment, "must_not_match") {
		t.Errorf("score of the apology: %+v", sc)
	}
	if sc := r.scoreOf(t, fine, "no-apology"); sc.Label != LabelPass || *sc.Value != 1 {
		t.Errorf("score of the fine call: %+v", sc)
	}
	if sc := r.scoreOf(t, js, "is-json"); sc.Label != LabelPass {
		t.Errorf("score of the JSON call: %+v", sc)
	}
	if sc := r.scoreOf(t, other, "refusal"); sc.Label != LabelFail || !strings.Contains(sc.Comment, "refused") {
		t.Errorf("score of the refusal: %+v", sc)
	}
	if got := testutil.ToFloat64(r.e.m.runs.WithLabelValues(StatusOK)); got != 5 {
		t.Errorf("ok runs metric %v, want 5", got)
	}
}

// noReader fails the test when a project's calls are read.
type noReader struct {
	t       *testing.T
	project string
	next    Reader
}

func (n noReader) Trace(ctx context.Context, project string, id genai.TraceID) (store.Trace, error) {
	if project == n.project {
		n.t.Errorf("content of project %s read", project)
	}
	return n.next.Trace(ctx, project, id)
}

// An evaluator of a project that keeps metadata only never reads a call:
// its runs are skipped, with the reason. A call without output is
// skipped too.
func TestMetadataProjectIsSkipped(t *testing.T) {
	db := openDB(t)
	r := newRigOn(t, db, Options{Reader: noReader{t, "private", db},
		MetadataOnly: func(p string) bool { return p == "private" },
		ConfigEvaluators: []Evaluator{
			{Name: "pii", Project: "private", Type: TypePII, Sample: 1, Enabled: true},
			{Name: "len", Type: TypeLength, MaxLength: 10, Sample: 1, Enabled: true},
		}})
	if err := r.rec.Submit(context.Background(), &store.Batch{Spans: []genai.Span{call("private", "gpt-4o", "mail ana@example.com"), call("default", "gpt-4o", "")}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, reason string }{{"pii", "capture: metadata"}, {"len", "no output text"}} {
		runs := r.waitRuns(t, c.id, 1)
		if runs[0].Status != StatusSkipped || !strings.Contains(runs[0].Reason, c.reason) || runs[0].ScoreID != "" {
			t.Errorf("%s: run %+v, want skipped (%s)", c.id, runs[0], c.reason)
		}
	}
}

// Observe never waits: with the queue full, calls are dropped and
// counted; sampling and the budget leave calls out.
func TestObserveNeverBlocks(t *testing.T) {
	r := newRig(t, Options{QueueSize: 2, Workers: 1, Delay: time.Hour, ConfigEvaluators: []Evaluator{
		{Name: "len", Type: TypeLength, MaxLength: 10, Sample: 1, Enabled: true},
		{Name: "budget", Type: TypeRefusal, Sample: 1, Enabled: true, MaxPerMinute: 3, Filters: Filters{Service: "budgeted"}},
		{Name: "sampled", Type: TypeRefusal, Sample: 0.001, Enabled: true, Filters: Filters{Service: "sampled"}},
	}})
	b := &store.Batch{}
	for range 20 {
		b.Spans = append(b.Spans, call("default", "gpt-4o", "hi"))
	}
	start := time.Now()
	r.e.Observe(b)
	if took := time.Since(start); took > time.Second {
		t.Errorf("Observe took %v", took)
	}
	queued, full := testutil.ToFloat64(r.e.m.picked.WithLabelValues("queued")), testutil.ToFloat64(r.e.m.picked.WithLabelValues("full"))
	if queued < 2 || queued > 3 || queued+full != 20 {
		t.Errorf("queued %v, full %v; want 2 or 3 queued (the queue and the waiting worker), the rest dropped", queued, full)
	}
	bud := &store.Batch{}
	for range 10 {
		sp := call("default", "gpt-4o", "hi")
		sp.Service = "budgeted"
		bud.Spans = append(bud.Spans, sp)
	}
	r.e.Observe(bud)
	if over := testutil.ToFloat64(r.e.m.picked.WithLabelValues("over_budget")); over < 7 {
		t.Errorf("over budget %v, want at least 7 of 10 (3 a minute)", over)
	}
	before := testutil.ToFloat64(r.e.m.picked.WithLabelValues("queued")) + testutil.ToFloat64(r.e.m.picked.WithLabelValues("full"))
	sampled := &store.Batch{}
	for range 200 {
		sp := call("default", "gpt-4o", "hi")
		sp.Service = "sampled"
		sampled.Spans = append(sampled.Spans, sp)
	}
	r.e.Observe(sampled)
	after := testutil.ToFloat64(r.e.m.picked.WithLabelValues("queued")) + testutil.ToFloat64(r.e.m.picked.WithLabelValues("full"))
	if picked := after - before - 200; picked > 10 { // "len" takes all 200; "sampled" about 0.2
		t.Errorf("sample 0.001 picked %v of 200", picked)
	}
}

// judgeServer is a loopback upstream playing the judge.
func judgeServer(t *testing.T, answer string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), "Where is the Louvre?") || !strings.Contains(string(body), "In Paris, on the Right Bank.") {
			t.Errorf("the judge's prompt lacks the call's input or output: %s", body)
		}
		w.Header().Set("Content-Type", "application/json")
		content, _ := json.Marshal(answer)
		_, _ = io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","model":"judge-model","choices":[{"index":0,"message":{"role":"assistant","content":`+
			string(content)+`},"finish_reason":"stop"}],"usage":{"prompt_tokens":50,"completion_tokens":9,"total_tokens":59}}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// An LLM judge: the prompt goes through the gateway's deployment (real
// loopback upstreams), the answer's score lands on the call; a judge
// answering garbage is a failed run at once; a dead upstream is retried,
// then a failed run. The judge's own calls are stored, marked, under
// their own service, and never evaluated.
func TestLLMJudge(t *testing.T) {
	good, goodHits := judgeServer(t, "Score: 0.9\nLabel: helpful\nExplanation: it names the city")
	garbage, garbageHits := judgeServer(t, "What a lovely question about museums!")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	db := openDB(t)
	reg := prometheus.NewRegistry()
	var e *Engine
	rec, err := recorder.New(db, recorder.Options{Written: func(b *store.Batch) { e.Observe(b) }}, quiet, reg)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(rec, gateway.Options{Service: "genscope-gateway", Deployments: []gateway.Deployment{
		{Name: "judge", Type: gateway.DeploymentOpenAICompatible, BaseURL: good.URL + "/v1", Model: "judge-model"},
		{Name: "garbage", Type: gateway.DeploymentOpenAICompatible, BaseURL: garbage.URL + "/v1"},
		{Name: "dead", Type: gateway.DeploymentOpenAICompatible, BaseURL: deadURL + "/v1"},
	}}, quiet, reg)
	if err != nil {
		t.Fatal(err)
	}
	judge := func(dep string) Evaluator {
		return Evaluator{ID: dep, Name: "helpfulness-" + dep, Project: "shop", Type: TypeLLMJudge, Deployment: dep, Sample: 1, Enabled: true, Labels: []string{"helpful", "unhelpful"},
			Template: "System: {{system}}\nQuestion: {{input}}\nAnswer: {{output}}\nRate the answer's helpfulness from 0 to 1."}
	}
	e, err = New(context.Background(), Options{State: db, Scores: db, Reader: db, Judge: GatewayJudge(gw), Deployments: gw.Deployments(),
		DefaultProject: "default", Delay: -1, Backoff: 10 * time.Millisecond, Attempts: 3, Log: quiet, Metrics: reg,
		ConfigEvaluators: []Evaluator{judge("judge"), judge("garbage"), judge("dead")}})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	defer func() {
		_ = gw.Close(context.Background())
		_ = rec.Close(context.Background())
		e.Stop()
	}()

	sp := call("shop", "gpt-4o", "In Paris, on the Right Bank.")
	if err := rec.Submit(context.Background(), &store.Batch{Spans: []genai.Span{sp}}); err != nil {
		t.Fatal(err)
	}
	r := &rig{db: db, e: e}
	ok := r.waitRuns(t, "judge", 1)[0]
	if ok.Status != StatusOK || ok.Value == nil || *ok.Value != 0.9 || ok.Label != "helpful" || ok.Attempts != 1 {
		t.Errorf("judge run %+v", ok)
	}
	sc := r.scoreOf(t, sp, "helpfulness-judge")
	if *sc.Value != 0.9 || sc.Label != "helpful" || sc.Comment != "it names the city" || sc.Source != "evaluator:helpfulness-judge" {
		t.Errorf("judge score %+v", sc)
	}
	bad := r.waitRuns(t, "garbage", 1)[0]
	if bad.Status != StatusFailed || !strings.Contains(bad.Error, "holds no score") || bad.Attempts != 1 || garbageHits.Load() != 1 {
		t.Errorf("garbage run %+v (upstream hit %d times)", bad, garbageHits.Load())
	}
	if strings.Contains(bad.Error, "lovely") {
		t.Errorf("the run's error repeats the judge's answer (content): %q", bad.Error)
	}
	gone := r.waitRuns(t, "dead", 1)[0]
	if gone.Status != StatusFailed || gone.Attempts != 3 || !strings.Contains(gone.Error, "gave up after 3 attempts") || !strings.Contains(gone.Error, "unreachable") {
		t.Errorf("dead run %+v", gone)
	}

	// The judges' own calls are stored in the project under their own
	// service, marked, and never evaluated (no second run comes).
	deadline := time.Now().Add(10 * time.Second)
	var judged store.SpansPage
	for {
		judged, err = db.Spans(context.Background(), store.SpansQuery{Filter: store.Filter{Project: "shop", Service: JudgeService,
			From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)}, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if len(judged.Spans) >= 5 || time.Now().After(deadline) { // 1 good + 1 garbage + 3 dead attempts
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(judged.Spans) != 5 {
		t.Fatalf("%d judge calls stored under %s, want 5", len(judged.Spans), JudgeService)
	}
	tr, err := db.Trace(context.Background(), "shop", mustTraceID(t, judged.Spans[0].TraceID))
	if err != nil || len(tr.Roots) == 0 || tr.Roots[0].Span.Attributes[AttrEvaluator] == nil {
		t.Errorf("judge call not marked: %v %+v", err, tr)
	}
	time.Sleep(300 * time.Millisecond)
	for _, id := range []string{"judge", "garbage", "dead"} {
		if runs, _ := e.Runs(context.Background(), id, "", 100); len(runs) != 1 {
			t.Errorf("%s ran %d times, want once (a judge's own call was evaluated)", id, len(runs))
		}
	}
	if goodHits.Load() != 1 {
		t.Errorf("good judge hit %d times", goodHits.Load())
	}
}

func mustTraceID(t *testing.T, s string) genai.TraceID {
	t.Helper()
	id, err := genai.ParseTraceID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
