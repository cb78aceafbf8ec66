package app

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/config"
)

// routesAdmin is the admin token of withReadKey's app.
const routesAdmin = "admin-token-routes-0123456789"

// withReadKey starts an app with auth on, projects "mine" and "other",
// and a read key (with content) of "mine".
func withReadKey(t *testing.T) (*App, *th, struct{ Key string }) {
	t.Helper()
	a := startAppWith(t, t.TempDir(), func(c *config.Config) {
		c.Auth = config.Auth{Enabled: true, AdminToken: config.Secret(routesAdmin), SessionTTL: config.Duration(time.Hour)}
	})
	h := &th{t: t, a: a}
	for _, n := range []string{"mine", "other"} {
		if code := h.json("POST", "/api/v1/projects", routesAdmin, map[string]string{"name": n}, nil); code != 201 {
			t.Fatalf("create project %s: %d", n, code)
		}
	}
	var k struct{ Key string }
	if code := h.json("POST", "/api/v1/projects/mine/keys", routesAdmin, map[string]any{"scope": "read", "content": true}, &k); code != 201 {
		t.Fatalf("create read key: %d", code)
	}
	return a, h, k
}

// TestAlertRoutesDenyReadKey walks every route the alert engine and the
// notifier register (their own lists, so a route added later is walked
// too) with a read key of project "mine": whatever changes something is
// refused, and what reads shows nothing of project "other" — its rule,
// the action group, the notification log. A route whose handler forgets
// to check the caller fails here.
func TestAlertRoutesDenyReadKey(t *testing.T) {
	a, h, k := withReadKey(t)
	const admin = routesAdmin
	rule := func(project, name string) map[string]any {
		return map[string]any{"name": name, "signal": "calls", "aggregation": "total", "operator": ">", "threshold": 1000,
			"window": "5m", "frequency": "1m", "filters": map[string]any{"project": project}}
	}
	var other, mine struct {
		ID string `json:"id"`
	}
	if code := h.json("POST", "/api/v1/alert-rules", admin, rule("other", "rule-of-other-canary"), &other); code != 201 {
		t.Fatalf("create other's rule: %d", code)
	}
	if code := h.json("POST", "/api/v1/alert-rules", admin, rule("mine", "rule-of-mine"), &mine); code != 201 {
		t.Fatalf("create mine's rule: %d", code)
	}
	var group struct {
		ID string `json:"id"`
	}
	if code := h.json("POST", "/api/v1/action-groups", admin, map[string]any{"name": "group-canary",
		"receivers": []map[string]any{{"type": "webhook", "name": "hook", "url": "https://hooks.example.com/canary"}}}, &group); code != 201 {
		t.Fatalf("create group: %d", code)
	}
	// The read key may read its own project's rule: the key works.
	if code, _ := h.do("GET", "/api/v1/alert-rules/"+mine.ID, k.Key, nil, nil); code != 200 {
		t.Fatalf("the read key reading its own project's rule: %d", code)
	}

	routes := append(a.alerting.engine.Routes(), a.alerting.notifier.Routes()...)
	if len(routes) < 18 {
		t.Fatalf("%d routes: the engine's and notifier's lists are incomplete", len(routes))
	}
	for _, pattern := range routes {
		method, path, _ := strings.Cut(pattern, " ")
		changes := method != http.MethodGet && !strings.HasSuffix(path, "/preview")
		groups := strings.HasPrefix(path, "/api/v1/action-groups") || strings.HasPrefix(path, "/api/v1/notifications")
		var body []byte
		if method == http.MethodPost || method == http.MethodPut {
			body = []byte(`{"name":"rule-of-other-canary","signal":"calls","aggregation":"total","operator":">","threshold":1,"window":"5m","frequency":"1m","filters":{"project":"other"}}`)
			if groups {
				body = []byte(`{"name":"group-canary","receivers":[{"type":"webhook","name":"hook","url":"https://hooks.example.com/canary"}]}`)
			}
		}
		// Every route against what belongs to "other"; the changing ones
		// also against the key's own project, which it may read but not
		// change.
		ids := []string{other.ID}
		if groups {
			ids = []string{group.ID}
		} else if changes && strings.Contains(path, "{id}") {
			ids = append(ids, mine.ID)
		}
		for _, id := range ids {
			p := strings.ReplaceAll(path, "{id}", id)
			code, got := h.do(method, p, k.Key, nil, body)
			switch {
			case code == http.StatusForbidden:
			case changes || groups:
				t.Errorf("%s %s with a read key: %d %s, want 403", method, p, code, got)
			case code != http.StatusOK:
				t.Errorf("%s %s with a read key: %d %s", method, p, code, got)
			case strings.Contains(got, other.ID) || strings.Contains(got, "rule-of-other-canary") || strings.Contains(got, `"other"`):
				t.Errorf("%s %s shows project other to a read key of mine: %s", method, p, got)
			}
		}
	}
	// Nothing changed: both rules and the group are still there.
	for _, p := range []string{"/api/v1/alert-rules/" + other.ID, "/api/v1/alert-rules/" + mine.ID, "/api/v1/action-groups/" + group.ID} {
		if code, _ := h.do("GET", p, admin, nil, nil); code != 200 {
			t.Errorf("GET %s as admin after the walk: %d", p, code)
		}
	}
}

// TestEvaluatorRoutesDenyReadKey walks every evaluator route (the
// engine's own list) with a read key of project "mine": changes are
// refused, even to its own project's evaluator, and reads show nothing
// of project "other".
func TestEvaluatorRoutesDenyReadKey(t *testing.T) {
	a, h, k := withReadKey(t)
	const admin = routesAdmin
	evaluator := func(project, name string) map[string]any {
		return map[string]any{"name": name, "project": project, "type": "regex", "must_not_match": "(?i)sorry"}
	}
	var other, mine struct {
		ID string `json:"id"`
	}
	if code := h.json("POST", "/api/v1/evaluators", admin, evaluator("other", "evaluator-of-other-canary"), &other); code != 201 {
		t.Fatalf("create other's evaluator: %d", code)
	}
	if code := h.json("POST", "/api/v1/evaluators", admin, evaluator("mine", "evaluator-of-mine"), &mine); code != 201 {
		t.Fatalf("create mine's evaluator: %d", code)
	}
	if code, _ := h.do("GET", "/api/v1/evaluators/"+mine.ID, k.Key, nil, nil); code != 200 {
		t.Fatalf("the read key reading its own project's evaluator: %d", code)
	}
	routes := a.Evaluators().Routes()
	if len(routes) < 6 {
		t.Fatalf("%d routes", len(routes))
	}
	for _, pattern := range routes {
		method, path, _ := strings.Cut(pattern, " ")
		changes := method != http.MethodGet
		var body []byte
		if method == http.MethodPost || method == http.MethodPut {
			body = []byte(`{"name":"evaluator-of-other-canary","project":"other","type":"refusal"}`)
		}
		ids := []string{other.ID}
		if changes && strings.Contains(path, "{id}") {
			ids = append(ids, mine.ID)
		}
		for _, id := range ids {
			p := strings.ReplaceAll(path, "{id}", id)
			code, got := h.do(method, p, k.Key, nil, body)
			switch {
			case code == http.StatusForbidden:
			case changes:
				t.Errorf("%s %s with a read key: %d %s, want 403", method, p, code, got)
			case code != http.StatusOK:
				t.Errorf("%s %s with a read key: %d %s", method, p, code, got)
			case strings.Contains(got, other.ID) || strings.Contains(got, "evaluator-of-other-canary") || strings.Contains(got, `"other"`):
				t.Errorf("%s %s shows project other to a read key of mine: %s", method, p, got)
			}
		}
	}
	for _, id := range []string{other.ID, mine.ID} {
		if code, _ := h.do("GET", "/api/v1/evaluators/"+id, admin, nil, nil); code != 200 {
			t.Errorf("GET evaluator %s as admin after the walk: %d", id, code)
		}
	}
}
