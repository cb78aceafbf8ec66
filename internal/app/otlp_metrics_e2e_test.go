package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/genscope/genscope/internal/fixture"
	"github.com/genscope/genscope/internal/store"
)

// TestRealNodeMetricsExporter sends GenAI metrics with the real
// OpenTelemetry JS metrics SDK and OTLP/HTTP exporter (Node.js, from npm,
// pinned by test/otel-metrics/package-lock.json): two cumulative exports
// count each call once, tokens and failures included, and the counter
// genscope does not keep comes back as a partial success the exporter
// logs.
func TestRealNodeMetricsExporter(t *testing.T) {
	a := startAppWith(t, t.TempDir(), nil)
	out := nodeClient(t, "otel-metrics", "send.mjs", 60*time.Second, "GENSCOPE_URL=http://"+a.HTTPAddr())
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

// TestOTLPMetricsKeys: with auth on, /v1/metrics and the gRPC
// MetricsService take the ingest keys /v1/traces takes: none is 401
// (UNAUTHENTICATED), a project's ingest key stores its metrics in that
// project only, and the project's Overview shows them to a reader of
// the project.
func TestOTLPMetricsKeys(t *testing.T) {
	h := startAuthApp(t, nil)
	if code := h.json("POST", "/api/v1/projects", canaryAdmin, map[string]any{"name": "team-m"}, nil); code != 201 {
		t.Fatalf("create project: %d", code)
	}
	ingest, _ := h.newKey(canaryAdmin, "team-m", "ingest")
	read, _ := h.newKey(canaryAdmin, "team-m", "read")
	body := fixture.Captured(t, "otlp/lab-otel-openai.metrics.json")
	json := map[string]string{"Content-Type": "application/json"}
	if code, _ := h.do("POST", "/v1/metrics", "", json, body); code != 401 {
		t.Errorf("no key: %d, want 401", code)
	}
	if code, _ := h.do("POST", "/v1/metrics", read, json, body); code != 401 {
		t.Errorf("a read key: %d, want 401", code)
	}
	if code, b := h.do("POST", "/v1/metrics", ingest, json, body); code != 200 || strings.Contains(b, "rejected") {
		t.Fatalf("the ingest key: %d %s", code, b)
	}
	conn, err := grpc.NewClient(h.a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalJSON(body); err != nil {
		t.Fatal(err)
	}
	if _, err := pmetricotlp.NewGRPCClient(conn).Export(context.Background(), req); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC without a key: %v", err)
	}
	for _, p := range []string{"team-m", "default"} {
		tot, err := h.a.Store().(store.MetricStore).MetricTotals(context.Background(), store.Filter{Project: p})
		want := int64(0)
		if p == "team-m" {
			want = 5 // the lab's five calls
		}
		if got := store.OverviewOfMetrics(tot).Calls; err != nil || got != want {
			t.Errorf("project %s: %d calls from metrics, %v; want %d", p, got, err, want)
		}
	}
	var ov struct {
		FromMetrics struct {
			Calls int64 `json:"calls"`
		} `json:"from_metrics"`
	}
	if code := h.json("GET", "/api/v1/overview?project=team-m&from=3650d", read, nil, &ov); code != 200 || ov.FromMetrics.Calls != 5 {
		t.Errorf("team-m's overview: %d %+v", code, ov)
	}
}
