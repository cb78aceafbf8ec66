package app

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store"
)

// TestRealNodeMetricsExporter sends GenAI metrics with the real
// OpenTelemetry JS metrics SDK and OTLP/HTTP exporter (Node.js, from npm,
// pinned by test/otel-metrics/package-lock.json): two cumulative exports
// count each call once, tokens and failures included, and the counter
// genscope does not keep comes back as a partial success the exporter
// logs.
func TestRealNodeMetricsExporter(t *testing.T) {
	dir, _ := filepath.Abs("../../test/otel-metrics")
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(dir, "node_modules")); err != nil || serr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node (%v) and %s/node_modules (%v) are needed: run npm ci there", err, dir, serr)
		}
		t.Skip("node or test/otel-metrics/node_modules missing (run npm ci there)")
	}
	a := startAppWith(t, t.TempDir(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "send.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GENSCOPE_URL=http://"+a.HTTPAddr())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node send.mjs: %v\n%s", err, out)
	}
	var sent struct {
		Calls        int64    `json:"calls"`
		Errors       int64    `json:"errors"`
		InputTokens  int64    `json:"input_tokens"`
		OutputTokens int64    `json:"output_tokens"`
		Warnings     []string `json:"warnings"`
	}
	if err := json.Unmarshal(out, &sent); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	t.Logf("the exporter logged: %q", sent.Warnings)
	if w := strings.Join(sent.Warnings, "\n"); !strings.Contains(w, "http.client.request.count") || !strings.Contains(w, "not stored") {
		t.Errorf("the exporter was not told its counter was not kept: %q", w)
	}
	tot, err := a.Store().(store.MetricStore).MetricTotals(context.Background(), store.Filter{Project: "default", Service: "node-metrics-app",
		From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	ov := store.OverviewOfMetrics(tot)
	if ov.Calls != sent.Calls || ov.Errors != sent.Errors || ov.InputTokens != sent.InputTokens || ov.OutputTokens != sent.OutputTokens {
		t.Errorf("genscope: %d calls (%d failed), %d + %d tokens; the app recorded %d (%d), %d + %d",
			ov.Calls, ov.Errors, ov.InputTokens, ov.OutputTokens, sent.Calls, sent.Errors, sent.InputTokens, sent.OutputTokens)
	}
	if len(ov.Groups) != 1 || ov.Groups[0].Model != "gpt-4o-mini" || ov.Groups[0].Provider != "openai" {
		t.Errorf("groups %+v", ov.Groups)
	}
	// (0.2 + 0.4 + 1.5 + 0.05) / 4 s
	if ov.DurationMS.Avg < 537 || ov.DurationMS.Avg > 538 {
		t.Errorf("avg duration %v ms, want 537.5", ov.DurationMS.Avg)
	}
}
