package app

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/notify/notifytest"
	"github.com/genscope/genscope/internal/store"
)

// TestScoreAlert: alert rules on score signals (score.<name>): the
// average helpfulness over the window drops below 0.7 and the rule fires
// through a real webhook, then resolves when better scores come in; a
// pass rate of labels; rules a score signal cannot take are refused
// naming the field.
func TestScoreAlert(t *testing.T) {
	wh := notifytest.StartWebhook(t)
	a := startAppWith(t, t.TempDir(), func(cfg *config.Config) {
		cfg.Notify.AllowPrivateTargets = true
		cfg.Notify.Backoff = config.Duration(50 * time.Millisecond)
	})
	base := "http://" + a.HTTPAddr()
	at := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	td := readTraces(t, "lab-otel-openai.traces.json", at)
	sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	traceID, spanID := sp.TraceID().String(), sp.SpanID().String()
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	postHTTP(t, a, "/v1/traces", body, "application/json")
	waitCalls(t, a.Store(), store.Filter{Project: "default", From: at.Add(-time.Hour), To: time.Now().Add(time.Minute)}, 5)

	var g struct{ ID string }
	if code := call(t, "POST", base+"/api/v1/action-groups", map[string]any{"name": "quality", "receivers": []map[string]any{
		{"type": "webhook", "url": wh.URL}}}, &g); code != 201 {
		t.Fatalf("create action group: %d", code)
	}
	for field, rule := range map[string]map[string]any{
		"split_by:":    {"split_by": "model"},
		"filters:":     {"filters": map[string]any{"model": "gpt-4o"}},
		"aggregation:": {"aggregation": "p95"},
		"signal:":      {"signal": "score."},
	} {
		r := map[string]any{"name": "x", "signal": "score.helpfulness", "operator": "<", "threshold": 0.7}
		for k, v := range rule {
			r[k] = v
		}
		var bad struct{ Error string }
		if code := call(t, "POST", base+"/api/v1/alert-rules", r, &bad); code != 400 || !strings.HasPrefix(bad.Error, field) {
			t.Errorf("rule %v: %d %q, want 400 %s", rule, code, bad.Error, field)
		}
	}
	var rule, passRule struct{ ID string }
	if code := call(t, "POST", base+"/api/v1/alert-rules", map[string]any{"name": "helpfulness dropped", "signal": "score.helpfulness",
		"operator": "<", "threshold": 0.7, "window": "1h", "severity": 2, "action_groups": []string{g.ID}}, &rule); code != 201 {
		t.Fatalf("create rule: %d", code)
	}
	if code := call(t, "POST", base+"/api/v1/alert-rules", map[string]any{"name": "verdicts failing", "signal": "score.verdict",
		"aggregation": "pass_rate", "operator": "<", "threshold": 0.8, "window": "1h"}, &passRule); code != 201 {
		t.Fatalf("create pass-rate rule: %d", code)
	}
	type result struct {
		Value *float64
		State string
		Query string
	}
	evaluate := func(id string) result {
		t.Helper()
		var res result
		if code := call(t, "POST", base+"/api/v1/alert-rules/"+id+"/evaluate", nil, &res); code != 200 {
			t.Fatalf("evaluate %s: %d", id, code)
		}
		return res
	}
	// No scores yet: no data, nothing fires.
	if res := evaluate(rule.ID); res.Value != nil || res.State == "fired" {
		t.Errorf("without scores: %+v", res)
	}
	score := func(name string, value *float64, label string) {
		t.Helper()
		in := map[string]any{"trace_id": traceID, "span_id": spanID, "name": name, "source": "human"}
		if value != nil {
			in["value"] = *value
		}
		if label != "" {
			in["label"] = label
		}
		if code := call(t, "POST", base+"/api/v1/scores", in, nil); code != 201 {
			t.Fatalf("score %v: %d", in, code)
		}
	}
	v := func(f float64) *float64 { return &f }
	score("helpfulness", v(0.4), "")
	score("helpfulness", v(0.6), "")
	score("verdict", nil, "fail")
	score("verdict", nil, "Pass")
	score("verdict", nil, "unsure") // neither a pass nor a fail
	res := evaluate(rule.ID)
	if res.State != "fired" || res.Value == nil || *res.Value != 0.5 || !strings.HasPrefix(res.Query, `avg(score.helpfulness) WHERE project = "default"`) {
		t.Fatalf("evaluate with an average of 0.5: %+v", res)
	}
	notifytest.Wait(t, 10*time.Second, "the Fired webhook", func() bool { return len(wh.Requests()) == 1 })
	ess := wh.Requests()[0].JSON()["data"].(map[string]any)["essentials"].(map[string]any)
	if ess["monitorCondition"] != "Fired" || ess["alertRule"] != "helpfulness dropped" || ess["severity"] != "Sev2" {
		t.Errorf("webhook essentials %v", ess)
	}
	if res := evaluate(passRule.ID); res.State != "fired" || res.Value == nil || *res.Value != 0.5 {
		t.Errorf("pass rate of 1 pass and 1 fail: %+v", res)
	}

	// Better scores: the average is (0.4 + 0.6 + 4 × 1) / 6 > 0.7.
	for range 4 {
		score("helpfulness", v(1), "")
	}
	if res := evaluate(rule.ID); res.State != "resolved" || res.Value == nil || *res.Value <= 0.8 {
		t.Errorf("evaluate after better scores: %+v", res)
	}
	notifytest.Wait(t, 10*time.Second, "the Resolved webhook", func() bool { return len(wh.Requests()) == 2 })
	if ess := wh.Requests()[1].JSON()["data"].(map[string]any)["essentials"].(map[string]any); ess["monitorCondition"] != "Resolved" {
		t.Errorf("second webhook: %v", ess)
	}

	// The preview of a score signal: its value now and per window.
	var pv struct {
		Series  []store.Series
		Current []store.AggregateRow
	}
	if code := call(t, "POST", base+"/api/v1/alert-rules/preview", map[string]any{"name": "p", "signal": "score.helpfulness", "operator": "<",
		"threshold": 0.7, "window": "1h"}, &pv); code != 200 || len(pv.Current) != 1 || pv.Current[0].Count != 6 || len(pv.Series) != 1 || len(pv.Series[0].Points) == 0 {
		t.Errorf("preview: %d %+v", code, pv)
	}
}
