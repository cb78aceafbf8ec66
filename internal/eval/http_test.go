package eval

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The API answers bad input with 400 naming the field and loses nothing;
// unknown evaluators are 404, the file's are read-only (409).
func TestAPIErrors(t *testing.T) {
	r := newRig(t, Options{ConfigEvaluators: []Evaluator{{Name: "cfg", Type: TypeRefusal, Sample: 1, Enabled: true}}})
	mux := http.NewServeMux()
	r.e.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	f := func(method, path, body string, code int, msg string) {
		t.Helper()
		got, out := do(method, path, body)
		if got != code || !strings.Contains(out, msg) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", method, path, body, got, out, code, msg)
		}
	}
	f("POST", "/api/v1/evaluators", `{"name":"x","type":"regex","must_match":"("}`, 400, "must_match: error parsing regexp")
	f("POST", "/api/v1/evaluators", `{"name":"x","type":"regex","must_match":"a","colour":"red"}`, 400, `unknown field \"colour\"`)
	f("POST", "/api/v1/evaluators", `{"name":"x","type":"length","max_length":"ten"}`, 400, "max_length: want a int")
	f("POST", "/api/v1/evaluators", `{"name":"x","type":"llm_judge","deployment":"gpt-4o","template":"{{output}}"}`, 400, "llm_judge needs the gateway")
	f("POST", "/api/v1/evaluators", `{"name":"cfg","type":"refusal"}`, 400, `\"cfg\" is already an evaluator of project default`)
	f("POST", "/api/v1/evaluators", `[`, 400, "body:")
	f("POST", "/api/v1/evaluators", `{"name":"`+strings.Repeat("x", 300<<10)+`"}`, 400, "too large")
	f("GET", "/api/v1/evaluators/nope", "", 404, "no such evaluator")
	f("PUT", "/api/v1/evaluators/cfg", `{"name":"cfg","type":"refusal"}`, 409, "read-only")
	f("DELETE", "/api/v1/evaluators/cfg", "", 409, "read-only")
	f("GET", "/api/v1/evaluators/cfg/runs?status=great", "", 400, `status: \"great\" is not ok, failed or skipped`)
	f("GET", "/api/v1/evaluators/cfg/runs?limit=0", "", 400, "limit")
	f("GET", "/api/v1/evaluators/cfg/runs?limit=1&limit=2", "", 400, "given 2 times")

	// What the API returns can be sent back (id, read_only, times are
	// ignored) to change an evaluator.
	code, out := do("POST", "/api/v1/evaluators", `{"name":"short","type":"length","max_length":100,"sample":0.5,"filters":{"service":"shop"}}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, out)
	}
	var ev Evaluator
	_ = json.Unmarshal([]byte(out), &ev)
	ev.MaxLength = 50
	b, _ := json.Marshal(ev)
	if code, out := do("PUT", "/api/v1/evaluators/"+ev.ID, string(b)); code != 200 || !strings.Contains(out, `"max_length":50`) {
		t.Errorf("update with what was read: %d %s", code, out)
	}
	if code, out := do("GET", "/api/v1/evaluators", ""); code != 200 || strings.Count(out, `"id"`) != 2 {
		t.Errorf("list: %d %s", code, out)
	}
	// Nothing of the refused requests was kept.
	if got := len(r.e.Evaluators()); got != 2 {
		t.Errorf("%d evaluators after the refusals, want 2", got)
	}
}
