package app

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/sim/demo"
	"github.com/genscope/genscope/internal/sim/model"
	"github.com/genscope/genscope/internal/store"
)

func instantDeployments(c *config.Config) {
	c.Gateway.BuiltinDeployments = false // these alone: no built-in with latency beside them
	c.Gateway.Deployments = []config.Deployment{
		{Name: "gpt-4o", Type: config.DeploymentSimulated, Simulated: config.Simulated{NoLatency: true}},
		{Name: "text-embedding-3-small", Type: config.DeploymentSimulated, Simulated: config.Simulated{NoLatency: true}},
	}
}

// waitCalls polls the store until it holds n GenAI calls.
func waitCalls(t *testing.T, st store.Store, f store.Filter, n int64) store.Overview {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ov, err := st.Overview(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if ov.Calls >= n || time.Now().After(deadline) {
			if ov.Calls != n {
				t.Fatalf("%d calls stored, want %d", ov.Calls, n)
			}
			return ov
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLabDemo runs the lab's traffic through the gateway to the simulated
// gpt-4o, with the demo exporting its own spans over OTLP, and checks
// what the dashboard's queries see.
func TestLabDemo(t *testing.T) {
	a := startAppWith(t, t.TempDir(), instantDeployments)
	base := "http://" + a.HTTPAddr()
	var out strings.Builder
	session, results, err := demo.Lab(context.Background(), demo.LabOptions{Server: base, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	byName := map[string]demo.Result{}
	for _, r := range results {
		byName[r.Step.Name] = r.Result
	}
	start, short, sys, bad, stream := byName["start prompt"], byName["short prompt"], byName["system prompt"], byName["error prompt"], byName["streaming prompt"]
	if start.Status != 200 || short.Status != 200 || sys.Status != 200 || stream.Status != 200 {
		t.Fatalf("statuses %d %d %d %d", start.Status, short.Status, sys.Status, stream.Status)
	}
	if bad.Status != 400 || !strings.Contains(bad.Error, "maximum context length is 128000 tokens") {
		t.Errorf("error prompt: %d %s", bad.Status, bad.Error)
	}
	if !(short.OutputTokens < start.OutputTokens && sys.OutputTokens < start.OutputTokens) {
		t.Errorf("the rule did not cut completion tokens: start %d, short %d, system %d", start.OutputTokens, short.OutputTokens, sys.OutputTokens)
	}
	// Prompt tokens are the tokenizer's count.
	body := `{"model":"gpt-4o","messages":[{"role":"system","content":"` + demo.TravelGuide + `"},{"role":"user","content":"` + demo.Camping + `"}]}`
	if n, _ := model.CountChat([]byte(body)); int64(n) != start.InputTokens {
		t.Errorf("prompt tokens %d, tokenizer says %d", start.InputTokens, n)
	}

	st := a.Store()
	f := store.Filter{Project: "default", From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)}
	ov := waitCalls(t, st, f, 5)
	wantIn := start.InputTokens + short.InputTokens + sys.InputTokens + stream.InputTokens
	wantOut := start.OutputTokens + short.OutputTokens + sys.OutputTokens + stream.OutputTokens
	if ov.Errors != 1 || ov.InputTokens != wantIn || ov.OutputTokens != wantOut || ov.TTFTMS.Count != 1 || !(ov.CostUSD > 0) {
		t.Errorf("overview %+v; want 1 error, %d in, %d out", ov, wantIn, wantOut)
	}
	f.Session = session
	waitCalls(t, st, f, 5)

	page, err := st.Spans(context.Background(), store.SpansQuery{Filter: store.Filter{Project: "default", From: f.From, To: f.To, Status: genai.StatusError}, Limit: 10})
	if err != nil || len(page.Spans) != 1 {
		t.Fatalf("error spans: %v %+v", err, page)
	}
	errSpan := page.Spans[0]
	if errSpan.ErrorType != "context_length_exceeded" || errSpan.Session != session {
		t.Errorf("error span %+v", errSpan)
	}
	// Each trace holds the demo's generate_completion span and the
	// gateway's call beneath it (the OTLP export may land just after).
	tid, _ := genai.ParseTraceID(errSpan.TraceID)
	deadline := time.Now().Add(10 * time.Second)
	for {
		tr, err := st.Trace(context.Background(), "default", tid)
		if err == nil && len(tr.Roots) == 1 && len(tr.Roots[0].Children) == 1 {
			parent, child := tr.Roots[0].Span, tr.Roots[0].Children[0].Span
			if parent.Name != "generate_completion" || parent.Service != "genscope-demo" || child.Source != genai.SourceGateway ||
				child.HTTPStatus != 400 || child.Status != genai.StatusError {
				t.Errorf("trace: parent %+v child %+v", parent, child)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace: %v %+v", err, tr)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The gateway's calls show in /metrics.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), `genscope_gateway_requests_total{code="2xx",deployment="gpt-4o"} 4`) {
		t.Errorf("metrics:\n%s", grepLines(string(m), "genscope_gateway"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestPromptCommand sends one streamed prompt the way "genscope prompt"
// does.
func TestPromptCommand(t *testing.T) {
	a := startAppWith(t, t.TempDir(), instantDeployments)
	var out strings.Builder
	r, err := demo.Prompt(context.Background(), demo.PromptOptions{Server: "http://" + a.HTTPAddr(), Text: "Name three mountains.", System: "Answer in one sentence.", Stream: true, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if r.OutputTokens == 0 || !strings.Contains(out.String(), "[simulated") || !strings.Contains(out.String(), "output =") {
		t.Errorf("%+v\n%s", r, out.String())
	}
}
