package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An internal call goes through the deployment like a client's (its key,
// its model) without a client credential, and is recorded in the given
// project under its own service with its attributes.
func TestCompleteInternal(t *testing.T) {
	var gotAuth string
	var gotBody map[string]any
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		_ = json.NewDecoder(r.Body).Decode(&gotBody)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, upstreamAnswer)
	}))
	defer up.Close()
	refuse := func(*http.Request) (string, error) { return "", errors.New("no key") }
	e := newEnv(t, Options{ProjectFor: refuse, Service: "gw",
		Deployments: []Deployment{{Name: "judge", Type: DeploymentOpenAICompatible, BaseURL: up.URL + "/v1", Model: "gpt-4o-mini", APIKey: "sk-upstream-canary-0000000000000000"}}})

	// A client without a key is refused; the internal call is not.
	if resp, _ := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"judge","messages":[]}`); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("client without key: %d", resp.StatusCode)
	}
	got, err := e.gw.Complete(context.Background(), Internal{Project: "shop", Deployment: "judge", Service: "genscope-evaluator",
		Attributes: map[string]string{"genscope.evaluator.name": "helpfulness"}}, "Rate this: {{x}}")
	if err != nil {
		t.Fatal(err)
	}
	if got != "Hello! How can I assist you today?" {
		t.Errorf("answer %q", got)
	}
	if gotAuth != "Bearer sk-upstream-canary-0000000000000000" || gotBody["model"] != "gpt-4o-mini" || gotBody["temperature"] != 0.0 {
		t.Errorf("upstream got auth %q body %v", gotAuth, gotBody)
	}
	sp := e.sink.wait(t)
	if sp.Project != "shop" || sp.Service != "genscope-evaluator" || sp.ResourceAttributes["service.name"] != "genscope-evaluator" ||
		sp.Attributes["genscope.evaluator.name"] != "helpfulness" || sp.Attributes["genscope.gateway.deployment"] != "judge" {
		t.Errorf("recorded span: project %q service %q attrs %v res %v", sp.Project, sp.Service, sp.Attributes, sp.ResourceAttributes)
	}
	if len(sp.InputMessages) != 1 || sp.InputMessages[0].Parts[0].Content != "Rate this: {{x}}" {
		t.Errorf("recorded input %+v", sp.InputMessages)
	}
}

// Failures are UpstreamErrors; the temporary ones (5xx, 429,
// unreachable) say so, the others (400, a body that is no completion)
// do not.
func TestCompleteErrors(t *testing.T) {
	var status int
	var body string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	defer up.Close()
	e := newEnv(t, Options{Deployments: []Deployment{
		{Name: "judge", Type: DeploymentOpenAICompatible, BaseURL: up.URL + "/v1"},
		{Name: "dead", Type: DeploymentOpenAICompatible, BaseURL: deadURL + "/v1"},
	}})
	f := func(dep string, st int, b string, temporary bool, msg string) {
		t.Helper()
		status, body = st, b
		_, err := e.gw.Complete(context.Background(), Internal{Project: "default", Deployment: dep}, "hi")
		var ue *UpstreamError
		if !errors.As(err, &ue) {
			t.Fatalf("%s %d: error %v is no UpstreamError", dep, st, err)
		}
		if ue.Temporary() != temporary || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s %d: %v (temporary %v), want temporary %v and %q", dep, st, err, ue.Temporary(), temporary, msg)
		}
	}
	f("judge", 500, `{"error":{"message":"boom","type":"server_error"}}`, true, "boom")
	f("judge", 429, `{"error":{"message":"slow down","type":"rate_limit"}}`, true, "slow down")
	f("judge", 400, `{"error":{"message":"bad prompt","type":"invalid_request_error"}}`, false, "bad prompt")
	f("judge", 200, `not json`, false, "not a chat completion")
	f("judge", 200, `{"choices":[]}`, false, "no choices")
	f("dead", 0, "", true, "unreachable")
	f("nope", 0, "", false, "404")
}
