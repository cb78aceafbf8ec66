package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/genscope/genscope/internal/auth"
	"github.com/genscope/genscope/internal/config"
)

// startAuthApp runs genscope with auth on (admin token canaryAdmin).
func startAuthApp(t *testing.T, change func(*config.Config)) *th {
	t.Helper()
	a := startAppWith(t, t.TempDir(), func(c *config.Config) {
		c.Auth = config.Auth{Enabled: true, AdminToken: config.Secret(canaryAdmin), SessionTTL: config.Duration(time.Hour)}
		if change != nil {
			change(c)
		}
	})
	return &th{t: t, a: a}
}

// newKey makes a key of the project with the scope, as key.
func (h *th) newKey(by, project, scope string) (string, int) {
	h.t.Helper()
	var out struct{ Key string }
	code := h.json("POST", "/api/v1/projects/"+project+"/keys", by, map[string]any{"scope": scope}, &out)
	return out.Key, code
}

// scrape gets /metrics as Prometheus 2.x does: its headers, the token as
// a bearer token (and gzip, which the client adds and undoes).
func scrape(t *testing.T, a *App, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+a.HTTPAddr()+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
	req.Header.Set("User-Agent", "Prometheus/2.42.0")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsNeedACredential: with auth on, /metrics answers the admin
// token and a metrics key (which only a server admin may make), and
// refuses no credential, an unknown one, and keys of other scopes; with
// metrics.public it is open again.
func TestMetricsNeedACredential(t *testing.T) {
	h := startAuthApp(t, nil)
	if code := h.json("POST", "/api/v1/projects", canaryAdmin, map[string]any{"name": "ops"}, nil); code != 201 {
		t.Fatalf("create project: %d", code)
	}
	metricsKey, code := h.newKey(canaryAdmin, "ops", "metrics")
	if code != 201 || !strings.HasPrefix(metricsKey, "gsk_") {
		t.Fatalf("metrics key: %d %q", code, metricsKey)
	}
	readKey, _ := h.newKey(canaryAdmin, "ops", "read")
	ingestKey, _ := h.newKey(canaryAdmin, "ops", "ingest")
	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"none", "", 401}, {"unknown", "gsk_" + strings.Repeat("x", 43), 401}, {"wrong admin", canaryAdmin + "x", 401},
		{"read key", readKey, 403}, {"ingest key", ingestKey, 403},
		{"metrics key", metricsKey, 200}, {"admin token", canaryAdmin, 200},
	} {
		code, body := scrape(t, h.a, c.token)
		if code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
		if code == 200 && !strings.Contains(body, "genscope_recorder_queue_items") {
			t.Errorf("%s: %.200s", c.name, body)
		}
		if code != 200 && strings.Contains(body, "gen_ai") {
			t.Errorf("%s: refused but shows metrics", c.name)
		}
	}
	// A project admin (not a server admin) may not hand out a key that
	// reads every project's metrics.
	if code := h.json("POST", "/api/v1/users", canaryAdmin, map[string]any{"name": "pat", "password": canaryPassword}, nil); code != 201 {
		t.Fatalf("create user: %d", code)
	}
	if code := h.json("PUT", "/api/v1/projects/ops/members/pat", canaryAdmin, map[string]any{"role": "admin"}, nil); code != 200 {
		t.Fatalf("member: %d", code)
	}
	_, userTok, err := h.a.trust.svc.CreateKey(context.Background(), auth.Key{Scope: auth.ScopeUser, User: "pat"})
	if err != nil {
		t.Fatal(err)
	}
	if _, code := h.newKey(userTok, "ops", "metrics"); code != 403 {
		t.Errorf("project admin made a metrics key: %d", code)
	}
	if code, _ := scrape(t, h.a, userTok); code != 403 {
		t.Errorf("a project admin's token scraped /metrics: %d", code)
	}

	open := startAuthApp(t, func(c *config.Config) { c.Metrics.Public = true })
	if code, _ := scrape(t, open.a, ""); code != 200 {
		t.Errorf("metrics.public: %d", code)
	}
}

// TestMetricsLabelCardinality: 20,000 distinct model names (which grew
// /metrics to 121 MB before) keep the scrape small: 100 models of their
// own, the rest "other", counted as folded, and the product of several
// such labels (providers and error types vary too) bounded per metric.
func TestMetricsLabelCardinality(t *testing.T) {
	h := startAuthApp(t, nil)
	if code := h.json("POST", "/api/v1/projects", canaryAdmin, map[string]any{"name": "flood"}, nil); code != 201 {
		t.Fatalf("create project: %d", code)
	}
	ingest, _ := h.newKey(canaryAdmin, "flood", "ingest")
	const models, per = 20_000, 2_000
	start := time.Now().Add(-time.Minute)
	for r := 0; r < models/per; r++ {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "flood")
		ss := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range per {
			n := r*per + i
			sp := ss.AppendEmpty()
			sp.SetTraceID(pcommon.TraceID{byte(n >> 16), byte(n >> 8), byte(n), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
			sp.SetSpanID(pcommon.SpanID{byte(n >> 16), byte(n >> 8), byte(n), 1, 2, 3, 4, 5})
			sp.SetName("chat")
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
			at := sp.Attributes()
			at.PutStr("gen_ai.operation.name", "chat")
			at.PutStr("gen_ai.provider.name", fmt.Sprintf("provider-%d", n%300))
			at.PutStr("gen_ai.request.model", fmt.Sprintf("model-%05d-%s", n, strings.Repeat("x", 20)))
			at.PutStr("error.type", fmt.Sprintf("err-%d", n%500))
			at.PutInt("gen_ai.usage.input_tokens", 10)
			at.PutInt("gen_ai.usage.output_tokens", 5)
		}
		if code, body := h.do("POST", "/v1/traces", ingest, pb, otlpBody(t, td)); code != 200 {
			t.Fatalf("ingest: %d %s", code, body)
		}
	}
	code, body := scrape(t, h.a, canaryAdmin)
	if code != 200 {
		t.Fatalf("scrape: %d", code)
	}
	// At most 5×100 label combinations per metric, whatever arrives: the
	// histograms' 17 lines each bound it (121 MB before).
	if len(body) > 6<<20 {
		t.Errorf("/metrics is %d bytes after %d models, want under 6 MiB", len(body), models)
	}
	distinct := map[string]bool{}
	for line := range strings.SplitSeq(body, "\n") {
		if _, rest, ok := strings.Cut(line, `gen_ai_request_model="`); ok {
			v, _, _ := strings.Cut(rest, `"`)
			distinct[v] = true
		}
	}
	if len(distinct) != 101 || !distinct["other"] {
		t.Errorf("%d distinct models in /metrics (want 100 and other)", len(distinct))
	}
	for _, want := range []string{
		`genscope_metrics_label_values_folded_total{label="gen_ai_request_model",metric="gen_ai_client_token_usage"} 19900`,
		`genscope_metrics_label_values_folded_total{label="gen_ai_provider_name",metric="gen_ai_client_token_usage"} 13300`,
		`genscope_metrics_label_values_folded_total{label="error_type",metric="gen_ai_client_operation_duration_seconds"} 16000`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	t.Logf("/metrics: %d bytes, %d distinct model values after %d models", len(body), len(distinct), models)
}

// TestPrometheusScrapesWithABearerToken runs the real Prometheus against
// genscope with auth on: a job with a metrics key (credentials_file)
// scrapes it, a job with a wrong key is refused.
func TestPrometheusScrapesWithABearerToken(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no prometheus binary in CI: .ci/run installs Debian's prometheus")
		}
		t.Skip("no prometheus binary (Debian package prometheus)")
	}
	h := startAuthApp(t, nil)
	if code := h.json("POST", "/api/v1/projects", canaryAdmin, map[string]any{"name": "ops"}, nil); code != 201 {
		t.Fatalf("create project: %d", code)
	}
	key, _ := h.newKey(canaryAdmin, "ops", "metrics")
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.token"), filepath.Join(dir, "bad.token")
	_ = os.WriteFile(good, []byte(key+"\n"), 0o600)
	_ = os.WriteFile(bad, []byte("gsk_"+strings.Repeat("y", 43)), 0o600)
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: genscope
    static_configs: [{targets: [%q]}]
    authorization: {type: Bearer, credentials_file: %q}
  - job_name: wrong
    static_configs: [{targets: [%q]}]
    authorization: {type: Bearer, credentials_file: %q}
`, h.a.HTTPAddr(), good, h.a.HTTPAddr(), bad)
	_ = os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr, "--log.level=warn")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	query := func(q string) (float64, bool) {
		resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Data.Result) == 0 {
			return 0, false
		}
		var f float64
		_, _ = fmt.Sscan(fmt.Sprint(out.Data.Result[0].Value[1]), &f)
		return f, true
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		up, ok1 := query(`up{job="genscope"}`)
		wrong, ok2 := query(`up{job="wrong"}`)
		queue, ok3 := query(`genscope_recorder_queue_items{job="genscope"}`)
		if ok1 && ok2 && ok3 && up == 1 && wrong == 0 && queue == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus: up %v/%v, wrong %v/%v, queue %v/%v\n%s", up, ok1, wrong, ok2, queue, ok3, logs.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}
