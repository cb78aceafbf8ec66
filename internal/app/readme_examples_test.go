package app

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/sim/demo"
	"github.com/genscope/genscope/internal/store"
)

// readmeExamples reads the README's gateway deployment slow-gpt-4o, as
// the gateway section of a config file, and the alert rule its Alerts
// section creates with curl.
func readmeExamples(t *testing.T) (config.Gateway, map[string]any) {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	line := regexp.MustCompile(`(?m)^\s*- (\{name: slow-gpt-4o, .*\})\s*$`).FindStringSubmatch(readme)
	if line == nil {
		t.Fatal("README: no slow-gpt-4o deployment in the gateway example")
	}
	c, err := config.Parse([]byte("gateway:\n  deployments:\n    - "+line[1]+"\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("README deployment %s: %v", line[1], err)
	}
	m := regexp.MustCompile(`(?s)/api/v1/alert-rules -d '(\{.*?\})'`).FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("README: no alert rule created with curl")
	}
	var rule map[string]any
	if err := json.Unmarshal([]byte(strings.ReplaceAll(m[1], "\n", " ")), &rule); err != nil {
		t.Fatalf("README rule %s: %v", m[1], err)
	}
	return c.Gateway, rule
}

// TestReadmeGatewayAndAlert: the README's slow deployment, added to the
// config as the README shows, keeps the built-in simulated ones beside
// it; the README's alert rule stays ok while only the fast built-in
// gpt-4o is called, and fires once the slow deployment is.
func TestReadmeGatewayAndAlert(t *testing.T) {
	gw, rule := readmeExamples(t)
	a := startAppWith(t, t.TempDir(), func(c *config.Config) { c.Gateway = gw })
	base := "http://" + a.HTTPAddr()
	ctx := context.Background()
	var out strings.Builder
	prompt := func(deployment string) demo.Result {
		r, err := demo.Prompt(ctx, demo.PromptOptions{Server: base, Deployment: deployment, Text: demo.Camping, Out: &out})
		if err != nil {
			t.Fatalf("%s: %v", deployment, err)
		}
		return r
	}
	for _, d := range []string{"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"} {
		var st struct{ Deployments []string }
		call(t, "GET", base+"/api/v1/status", nil, &st)
		if !strings.Contains(strings.Join(st.Deployments, " "), d) {
			t.Errorf("built-in deployment %s is gone: %v", d, st.Deployments)
		}
	}
	prompt("gpt-4o")
	waitCalls(t, a.Store(), store.Filter{Project: "default", From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)}, 1)

	rule["action_groups"] = []string{}
	var created struct{ ID string }
	if code := call(t, "POST", base+"/api/v1/alert-rules", rule, &created); code != 201 {
		t.Fatalf("the README's rule: %d", code)
	}
	type evaluation struct {
		Value *float64 `json:"value"`
		State string   `json:"state"`
	}
	var ev evaluation
	call(t, "POST", base+"/api/v1/alert-rules/"+created.ID+"/evaluate", nil, &ev)
	if ev.State == "fired" {
		t.Fatalf("the rule fired on the fast gpt-4o alone: %+v", ev)
	}

	if r := prompt("slow-gpt-4o"); r.Duration < 2*time.Second {
		t.Errorf("the slow deployment answered in %v", r.Duration)
	}
	waitCalls(t, a.Store(), store.Filter{Project: "default", Model: "slow-gpt-4o", From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)}, 1)
	call(t, "POST", base+"/api/v1/alert-rules/"+created.ID+"/evaluate", nil, &ev)
	if ev.State != "fired" || ev.Value == nil || *ev.Value <= 2000 {
		t.Errorf("after the slow deployment: %+v, want fired", ev)
	}
}
