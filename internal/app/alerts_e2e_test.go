package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/alert"
	"github.com/genscope/genscope/internal/alertcli"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/notify/notifytest"
	"github.com/genscope/genscope/internal/store"
)

// runApp starts the app and returns a function that shuts it down.
func runApp(t *testing.T, cfg config.Config) (*App, func()) {
	t.Helper()
	return runAppLogged(t, cfg, io.Discard)
}

// runAppLogged is runApp with the app's log written to w (safe for
// concurrent writes).
func runAppLogged(t *testing.T, cfg config.Config, w io.Writer) (*App, func()) {
	t.Helper()
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(w, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	if !a.waitReady(10 * time.Second) {
		t.Fatal("app not ready")
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return a, stop
}

// call sends a JSON request and decodes the answer into out (when not nil).
func call(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

// TestAlertLabScenario is the lab's alert end to end: gpt-4o through the
// gateway answers in over 4 s, the rule "avg duration_ms > 4000 over 5m,
// every 1m" fires at its first evaluation, a webhook on loopback and an
// SMTP server hear Fired; genscope restarts with a fast gpt-4o, the
// average drops, the alert resolves and both hear Resolved, each change
// exactly once.
func TestAlertLabScenario(t *testing.T) {
	wh := notifytest.StartWebhook(t)
	mail := notifytest.StartSMTP(t)
	dir := t.TempDir()
	cfgWith := func(latency config.Simulated) config.Config {
		cfg := config.Default()
		cfg.Data, cfg.Listen, cfg.GRPCListen = dir, "127.0.0.1:0", ""
		cfg.Store.DuckDB.MemoryLimit = "256MB"
		cfg.Gateway.Deployments = []config.Deployment{{Name: "gpt-4o", Type: config.DeploymentSimulated, Simulated: latency}}
		cfg.Notify.AllowPrivateTargets = true
		cfg.Notify.Backoff = config.Duration(50 * time.Millisecond)
		cfg.Notify.SMTP = config.SMTP{Host: mail.Host, Port: mail.Port, From: "genscope@example.com", TLS: "none"}
		cfg.ActionGroups = []config.ActionGroup{{ID: "ops", Name: "ops", Receivers: []config.Receiver{{Type: config.ReceiverEmail, To: []string{"ops@example.com"}}}}}
		code := config.AlertRule{Rule: alert.Rule{ID: "as-code", Name: "errors", Signal: "errors", Operator: ">", Threshold: 100}}
		cfg.Alerts = []config.AlertRule{code}
		return cfg
	}
	zero := 0.0
	slow := config.Simulated{TimeToFirstToken: config.Duration(4500 * time.Millisecond), TimePerToken: config.Duration(time.Millisecond), Jitter: &zero}
	a, stop := runApp(t, cfgWith(slow))
	base := "http://" + a.HTTPAddr()

	// The action group and the rule, through the API.
	var g struct {
		ID        string `json:"id"`
		Receivers []map[string]any
	}
	if code := call(t, "POST", base+"/api/v1/action-groups", map[string]any{"name": "oncall", "receivers": []map[string]any{
		{"type": "webhook", "url": wh.URL + "?token=secret-canary", "hmac_secret": "hmac-canary"},
		{"type": "email", "to": []string{"oncall@example.com"}},
	}}, &g); code != 201 || g.ID == "" {
		t.Fatalf("create action group: %d %+v", code, g)
	}
	var raw json.RawMessage
	call(t, "GET", base+"/api/v1/action-groups/"+g.ID, nil, &raw)
	if strings.Contains(string(raw), "canary") || !strings.Contains(string(raw), `"target":"http://127.0.0.1`) {
		t.Errorf("action group shows its secrets: %s", raw)
	}
	var bad struct{ Error string }
	if code := call(t, "POST", base+"/api/v1/alert-rules", map[string]any{"name": "x", "signal": "latency"}, &bad); code != 400 || !strings.HasPrefix(bad.Error, "signal:") {
		t.Errorf("bad rule: %d %q", code, bad.Error)
	}
	if code := call(t, "POST", base+"/api/v1/alert-rules", map[string]any{"name": "x", "signal": "calls", "window": "5 minutes"}, &bad); code != 400 || !strings.HasPrefix(bad.Error, "window:") {
		t.Errorf("bad window: %d %q", code, bad.Error)
	}
	if code := call(t, "POST", base+"/api/v1/alert-rules", map[string]any{"name": "x", "signal": "calls", "action_groups": []string{"nope"}}, &bad); code != 400 || !strings.HasPrefix(bad.Error, "action_groups[0]:") {
		t.Errorf("unknown group: %d %q", code, bad.Error)
	}
	if code := call(t, "DELETE", base+"/api/v1/alert-rules/as-code", nil, nil); code != 409 {
		t.Errorf("delete a config rule: %d", code)
	}
	if code := call(t, "PUT", base+"/api/v1/action-groups/ops", map[string]any{"name": "x"}, nil); code != 409 {
		t.Errorf("change a config group: %d", code)
	}
	var rule struct{ ID string }
	if code := call(t, "POST", base+"/api/v1/alert-rules", map[string]any{"name": "slow gpt-4o", "severity": 2, "signal": "duration_ms",
		"aggregation": "avg", "operator": ">", "threshold": 4000, "window": "5m", "frequency": "1m",
		"filters": map[string]string{"model": "gpt-4o"}, "action_groups": []string{g.ID}}, &rule); code != 201 {
		t.Fatalf("create rule: %d", code)
	}

	// Slow traffic through the gateway.
	chat := func(n int) {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, err := http.Post(base+"/v1/chat/completions", "application/json",
					strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"Say hi in one sentence."}]}`))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	start := time.Now()
	chat(2)
	if d := time.Since(start); d < 4500*time.Millisecond {
		t.Fatalf("the simulated deployment answered in %v", d)
	}
	f := store.Filter{Project: "default", From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)}
	waitCalls(t, a.Store(), f, 2)

	var res struct {
		Value *float64
		State string
		Query string
	}
	call(t, "POST", base+"/api/v1/alert-rules/"+rule.ID+"/evaluate", nil, &res)
	if res.State != "fired" || res.Value == nil || *res.Value <= 4000 || !strings.Contains(res.Query, `model = "gpt-4o"`) {
		t.Fatalf("evaluate: %+v", res)
	}
	notifytest.Wait(t, 10*time.Second, "the Fired webhook and mail", func() bool { return len(wh.Requests()) == 1 && len(mail.Mail()) == 1 })
	ess := wh.Requests()[0].JSON()["data"].(map[string]any)["essentials"].(map[string]any)
	if ess["monitorCondition"] != "Fired" || ess["alertRule"] != "slow gpt-4o" || ess["severity"] != "Sev2" {
		t.Errorf("webhook essentials %v", ess)
	}
	if m := mail.Mail()[0]; m.To[0] != "oncall@example.com" || !strings.Contains(m.Data, "[FIRED] Sev2 slow gpt-4o") {
		t.Errorf("mail %+v", m)
	}
	var alerts struct{ Alerts []alert.Instance }
	call(t, "GET", base+"/api/v1/alerts", nil, &alerts)
	if len(alerts.Alerts) != 1 || alerts.Alerts[0].State != alert.StateFired || alerts.Alerts[0].FiredValue <= 4000 {
		t.Errorf("alerts %+v", alerts)
	}

	// Restart with a fast gpt-4o.
	stop()
	a, _ = runApp(t, cfgWith(config.Simulated{NoLatency: true}))
	base = "http://" + a.HTTPAddr()
	call(t, "POST", base+"/api/v1/alert-rules/"+rule.ID+"/evaluate", nil, &res)
	if res.State != "fired" {
		t.Errorf("after restart: %+v", res)
	}
	chat(3)
	waitCalls(t, a.Store(), f, 5)
	call(t, "POST", base+"/api/v1/alert-rules/"+rule.ID+"/evaluate", nil, &res)
	if res.State != "resolved" || res.Value == nil || *res.Value >= 4000 {
		t.Fatalf("evaluate after latency dropped: %+v", res)
	}
	notifytest.Wait(t, 10*time.Second, "the Resolved webhook and mail", func() bool { return len(wh.Requests()) == 2 && len(mail.Mail()) == 2 })
	ess = wh.Requests()[1].JSON()["data"].(map[string]any)["essentials"].(map[string]any)
	if ess["monitorCondition"] != "Resolved" || ess["resolvedDateTime"] == nil {
		t.Errorf("webhook essentials %v", ess)
	}
	if m := mail.Mail()[1]; !strings.Contains(m.Data, "[RESOLVED] Sev2 slow gpt-4o") {
		t.Errorf("mail %+v", m)
	}
	call(t, "POST", base+"/api/v1/alert-rules/"+rule.ID+"/evaluate", nil, &res)
	var hist struct{ History []alert.Event }
	call(t, "GET", base+"/api/v1/alerts/history?rule_id="+rule.ID, nil, &hist)
	if len(hist.History) != 2 || hist.History[0].To != alert.StateResolved || hist.History[1].To != alert.StateFired {
		t.Errorf("history %+v", hist)
	}
	var preview alert.Preview
	if code := call(t, "GET", base+"/api/v1/alert-rules/"+rule.ID+"/preview?points=12", nil, &preview); code != 200 ||
		len(preview.Series) != 1 || preview.Threshold != 4000 || len(preview.Current) != 1 {
		t.Errorf("preview %d %+v", code, preview)
	}
	var test struct {
		OK      bool
		Results []map[string]any
	}
	if call(t, "POST", base+"/api/v1/action-groups/"+g.ID+"/test", nil, &test); !test.OK || len(test.Results) != 2 {
		t.Errorf("test notification %+v", test)
	}
	time.Sleep(200 * time.Millisecond)
	if len(wh.Requests()) != 3 || len(mail.Mail()) != 3 { // the two changes, and the test
		t.Errorf("%d webhook requests and %d mails, want 3 each", len(wh.Requests()), len(mail.Mail()))
	}

	// The CLI.
	var out strings.Builder
	if err := alertcli.Main(context.Background(), []string{"list", "--server", base}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "slow gpt-4o") || !strings.Contains(out.String(), "resolved") || !strings.Contains(out.String(), "config") {
		t.Errorf("alerts list: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := alertcli.Main(context.Background(), []string{"evaluate", "--server", base, rule.ID}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "state: resolved") {
		t.Errorf("alerts evaluate: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := alertcli.Main(context.Background(), []string{"fire-test", "--server", base, "ops"}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "receiver 0 (email): ok") {
		t.Errorf("alerts fire-test: %v\n%s", err, out.String())
	}
}
