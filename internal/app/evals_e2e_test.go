package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/eval"
	"github.com/genscope/genscope/internal/gateway"
)

// TestEvaluatorsEndToEnd: a regex evaluator and an LLM judge from the
// config file score a call made through the gateway; the judge is a
// loopback upstream reached through a gateway deployment; the scores
// land on the call's span with their sources, the runs are listed, the
// file's evaluators are read-only and new ones are made through the API.
func TestEvaluatorsEndToEnd(t *testing.T) {
	judge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		answer := "score: 0.2\nexplanation: no question in the prompt"
		if len(req.Messages) == 1 && strings.Contains(req.Messages[0].Content, "Question: What is genscope?") {
			answer = "score: 0.8\nlabel: helpful\nexplanation: answers the question"
		}
		content, _ := json.Marshal(answer)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"j1","object":"chat.completion","model":"judge-1","choices":[{"index":0,"message":{"role":"assistant","content":`+string(content)+`},"finish_reason":"stop"}],"usage":{"prompt_tokens":40,"completion_tokens":8,"total_tokens":48}}`)
	}))
	defer judge.Close()
	a := startAppWith(t, t.TempDir(), func(c *config.Config) {
		c.Gateway.Enabled = true
		c.Gateway.Deployments = append(c.Gateway.Deployments, gateway.Deployment{Name: "judge", Type: gateway.DeploymentOpenAICompatible, BaseURL: judge.URL + "/v1"})
		c.Evaluators = []config.Evaluator{
			{Evaluator: eval.Evaluator{Name: "no-apology", Type: eval.TypeRegex, MustNotMatch: `(?i)\bsorry\b`}},
			{Evaluator: eval.Evaluator{Name: "helpfulness", Type: eval.TypeLLMJudge, Deployment: "judge", Labels: []string{"helpful", "unhelpful"},
				Template: "Question: {{input}}\nAnswer: {{output}}\nRate the answer from 0 to 1.", Filters: eval.Filters{Model: "gpt-4o"}}},
			{Evaluator: eval.Evaluator{Name: "sim-judged", Type: eval.TypeLLMJudge, Deployment: "gpt-4o-mini", Filters: eval.Filters{Model: "gpt-4o"},
				Template: "Question: {{input}}\nAnswer: {{output}}\nReply with score: <0 to 1> and explanation: <why>."}},
		}
	})
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.HTTPAddr()+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"What is genscope?"}]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	traceID := resp.Header.Get("x-genscope-trace-id")
	if resp.StatusCode != 200 || traceID == "" {
		t.Fatalf("gateway call: %d, trace %q", resp.StatusCode, traceID)
	}

	var got struct{ Scores []scoreRow }
	deadline := time.Now().Add(30 * time.Second)
	for {
		got.Scores = nil
		doJSON(t, a, "GET", "/api/v1/scores?trace_id="+traceID, "", &got)
		if len(got.Scores) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	by := map[string]scoreRow{}
	for _, s := range got.Scores {
		by[s.Source] = s
	}
	if s := by["evaluator:no-apology"]; s.Name != "no-apology" || s.Label != "pass" || s.SpanID == "" {
		t.Errorf("regex score %+v (all: %+v)", s, got.Scores)
	}
	if s := by["evaluator:helpfulness"]; s.Value == nil || *s.Value != 0.8 || s.Label != "helpful" || s.Comment != "answers the question" {
		t.Errorf("judge score %+v (all: %+v)", s, got.Scores)
	}

	// The simulated deployment is a deterministic judge.
	if s := by["evaluator:sim-judged"]; s.Value == nil || *s.Value < 0.5 || *s.Value > 1 || !strings.HasPrefix(s.Comment, "simulated judge") {
		t.Errorf("simulated judge's score %+v", s)
	}
	var list struct{ Evaluators []eval.Evaluator }
	if doJSON(t, a, "GET", "/api/v1/evaluators", "", &list); len(list.Evaluators) != 3 || !list.Evaluators[0].ReadOnly || list.Evaluators[1].ID != "helpfulness" {
		t.Fatalf("evaluators %+v", list)
	}
	// A run is recorded just after its score is written.
	var runs struct{ Runs []eval.Run }
	for deadline := time.Now().Add(10 * time.Second); len(runs.Runs) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		doJSON(t, a, "GET", "/api/v1/evaluators/helpfulness/runs", "", &runs)
	}
	if len(runs.Runs) != 1 || runs.Runs[0].Status != eval.StatusOK || runs.Runs[0].TraceID != traceID {
		t.Errorf("judge runs %+v", runs)
	}
	if code := doJSON(t, a, "PUT", "/api/v1/evaluators/no-apology", `{"name":"no-apology","type":"refusal"}`, nil); code != http.StatusConflict {
		t.Errorf("changing a config evaluator: %d, want 409", code)
	}
	var made eval.Evaluator
	if code := doJSON(t, a, "POST", "/api/v1/evaluators", `{"name":"short","type":"length","max_length":2000,"sample":0.5}`, &made); code != http.StatusCreated || made.ID == "" || made.Project != "default" || !made.Enabled {
		t.Fatalf("create: %d %+v", code, made)
	}
	if code := doJSON(t, a, "POST", "/api/v1/evaluators", `{"name":"j","type":"llm_judge","deployment":"nowhere","template":"{{output}}"}`, nil); code != http.StatusBadRequest {
		t.Errorf("a judge on an unknown deployment: %d, want 400", code)
	}
	if code := doJSON(t, a, "DELETE", "/api/v1/evaluators/"+made.ID, "", nil); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
}

// TestSharedEvaluators runs two nodes on one ClickHouse database: an
// evaluator made through node A's API (api only) reaches node B
// (ingest) within the reload interval, and B scores the calls it
// ingests; A shows the scores and B's runs.
func TestSharedEvaluators(t *testing.T) {
	ch := sharedClickHouse(t, false)
	a := runNode(t, nodeConfig(t, ch[0], "api"), hooks{})
	b := runNode(t, nodeConfig(t, ch[1], "ingest"), hooks{})
	base := "http://" + a.HTTPAddr()
	var ev eval.Evaluator
	if code := call(t, "POST", base+"/api/v1/evaluators", map[string]any{"name": "answers", "type": "regex", "must_match": "^model answers"}, &ev); code != 201 {
		t.Fatalf("create on A: %d", code)
	}
	eventually(t, 10*time.Second, "B loading A's evaluator", func() bool {
		_, err := b.Evaluators().Evaluator(ev.ID)
		return err == nil
	})
	hb := &th{t: t, a: b}
	if code, body := hb.do("POST", "/v1/traces", "", pb, otlpBody(t, genaiTraces(77, time.Now().Add(-time.Minute), "in ClickHouse"))); code != 200 {
		t.Fatalf("ingest through B: %d %s", code, body)
	}
	traceID := "4d0102030405060708090a0b0c0d0e4d"
	var got struct{ Scores []scoreRow }
	eventually(t, 30*time.Second, "the evaluator's score, through A", func() bool {
		call(t, "GET", base+"/api/v1/scores?trace_id="+traceID, nil, &got)
		return len(got.Scores) == 1
	})
	if s := got.Scores[0]; s.Source != "evaluator:answers" || s.Label != "pass" || s.SpanID != "4d01020304050607" {
		t.Errorf("score %+v", s)
	}
	var runs struct{ Runs []eval.Run }
	eventually(t, 10*time.Second, "B's run, through A", func() bool {
		call(t, "GET", base+"/api/v1/evaluators/"+ev.ID+"/runs", nil, &runs)
		return len(runs.Runs) == 1
	})
	if r := runs.Runs[0]; r.Status != eval.StatusOK || r.TraceID != traceID {
		t.Errorf("run %+v", r)
	}
}
