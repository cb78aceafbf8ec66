package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/alert"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/notify/notifytest"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/clickhouse"
)

// sharedClickHouse is the store of two genscope nodes: a fresh database
// on the test ClickHouse server (GENSCOPE_CLICKHOUSE,
// GENSCOPE_CLICKHOUSE_HTTP), or with cluster on the test cluster
// (GENSCOPE_CLICKHOUSE_CLUSTER, NAME@native=http,...; each node talks to
// its own server), dropped at the end; scripts/clickhouse.sh start prints
// them. Without servers the test is skipped, or fails in CI.
func sharedClickHouse(t *testing.T, cluster bool) [2]config.ClickHouse {
	t.Helper()
	env := "GENSCOPE_CLICKHOUSE"
	if cluster {
		env = "GENSCOPE_CLICKHOUSE_CLUSTER"
	}
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set in CI: start the servers with scripts/clickhouse.sh start", env)
		}
		t.Skipf("no ClickHouse: %s is not set (scripts/clickhouse.sh start prints it)", env)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	c := config.ClickHouse{Addrs: []string{v}, HTTPAddr: os.Getenv("GENSCOPE_CLICKHOUSE_HTTP"),
		Database: "genscope_test_" + hex.EncodeToString(b[:]), ReadTimeout: config.Duration(30 * time.Second)}
	nodes := [2]config.ClickHouse{c, c}
	if cluster {
		name, list, _ := strings.Cut(v, "@")
		hosts := strings.Split(list, ",")
		if len(hosts) < 2 {
			t.Fatalf("%s=%q: want NAME@native=http,native=http", env, v)
		}
		for i := range nodes {
			native, http, _ := strings.Cut(hosts[i], "=")
			nodes[i].Addrs, nodes[i].HTTPAddr, nodes[i].Cluster = []string{native}, http, name
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for i, n := range nodes {
			if i == 1 && !cluster {
				break
			}
			o, _ := ClickHouseOptions(n, slog.New(slog.DiscardHandler))
			if err := clickhouse.DropDatabase(ctx, o); err != nil {
				t.Errorf("drop test database: %v", err)
			}
		}
	})
	return nodes
}

// nodeConfig is one genscope node on the shared ClickHouse database.
func nodeConfig(t *testing.T, ch config.ClickHouse, components ...string) config.Config {
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	cfg.Store.Driver, cfg.Store.ClickHouse = "clickhouse", ch
	cfg.Components = components
	cfg.StateReloadInterval = config.Duration(200 * time.Millisecond)
	cfg.Notify.AllowPrivateTargets = true
	cfg.Notify.Backoff = config.Duration(50 * time.Millisecond)
	return cfg
}

// runNode starts a node with test hooks; the test's end stops it.
func runNode(t *testing.T, cfg config.Config, h hooks) *App {
	t.Helper()
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	if !a.waitReady(10 * time.Second) {
		t.Fatal("node not ready")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a
}

// eventually polls cond until it holds, failing after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// TestSharedAuth runs two genscope nodes with auth on the same
// ClickHouse database (one server, and the two-shard cluster with each
// node on its own server): a project and keys made through node A's API
// work on node B, and a key revoked on A stops working on B within the
// reload interval.
func TestSharedAuth(t *testing.T) {
	t.Run("server", func(t *testing.T) { testSharedAuth(t, sharedClickHouse(t, false)) })
	t.Run("cluster", func(t *testing.T) { testSharedAuth(t, sharedClickHouse(t, true)) })
}

func testSharedAuth(t *testing.T, ch [2]config.ClickHouse) {
	cfg := func(i int) config.Config {
		c := nodeConfig(t, ch[i])
		c.Auth = config.Auth{Enabled: true, AdminToken: config.Secret(canaryAdmin), SessionTTL: config.Duration(time.Hour)}
		return c
	}
	a := runNode(t, cfg(0), hooks{})
	b := runNode(t, cfg(1), hooks{})
	ha, hb := &th{t: t, a: a}, &th{t: t, a: b}

	if code := ha.json("POST", "/api/v1/projects", canaryAdmin, map[string]string{"name": "team"}, nil); code != 201 {
		t.Fatalf("create project on A: %d", code)
	}
	key := func(scope string) (string, string) {
		var out struct{ Key, ID string }
		if code := ha.json("POST", "/api/v1/projects/team/keys", canaryAdmin, map[string]any{"scope": scope}, &out); code != 201 {
			t.Fatalf("create %s key on A: %d", scope, code)
		}
		return out.Key, out.ID
	}
	ingest, ingestID := key("ingest")
	read, _ := key("read")
	now := time.Now()

	// An unknown key makes B reread at once: the first request works.
	if code, body := hb.do("POST", "/v1/traces", ingest, pb, otlpBody(t, genaiTraces(1, now.Add(-time.Minute), "from b"))); code != 200 {
		t.Fatalf("ingest through B with a key made on A: %d %s", code, body)
	}
	waitAtLeast(t, a.Store(), "team", 1)
	var ov store.Overview
	eventually(t, 10*time.Second, "B's API with a read key made on A", func() bool {
		code, _ := hb.do("GET", "/api/v1/overview?from=1h", read, nil, nil)
		return code == 200
	})
	if code := hb.json("GET", "/api/v1/overview?from=1h", read, nil, &ov); code != 200 || ov.Calls != 1 {
		t.Errorf("B's overview of team: %d, %d calls", code, ov.Calls)
	}
	var project struct{ Name string }
	if code := hb.json("GET", "/api/v1/projects/team", canaryAdmin, nil, &project); code != 200 || project.Name != "team" {
		t.Errorf("the project made on A, on B: %d %+v", code, project)
	}

	// Revoked on A: refused on B after B's next reload.
	if code, _ := ha.do("DELETE", "/api/v1/projects/team/keys/"+ingestID, canaryAdmin, nil, nil); code != 204 && code != 200 {
		t.Fatalf("revoke on A: %d", code)
	}
	if code, _ := ha.do("POST", "/v1/traces", ingest, pb, otlpBody(t, genaiTraces(2, now, "x"))); code != 401 {
		t.Errorf("A took a key it revoked: %d", code)
	}
	took := eventually(t, 10*time.Second, "B refusing the revoked key", func() bool {
		code, _ := hb.do("POST", "/v1/traces", ingest, pb, otlpBody(t, genaiTraces(3, now, "x")))
		return code == 401
	})
	t.Logf("B refused the revoked key %v after A revoked it (reload interval 200ms)", took.Round(time.Millisecond))
}

// TestSplitComponents runs node A with api and ingest and node B with
// alerts only, on the same ClickHouse database: the action group and the
// rule made through A are evaluated by B, whose notification reaches a
// webhook on loopback; A never evaluates and shows B's alert after its
// reload; B serves neither the API nor ingest.
func TestSplitComponents(t *testing.T) {
	ch := sharedClickHouse(t, false)
	wh := notifytest.StartWebhook(t)
	a := runNode(t, nodeConfig(t, ch[0], "api", "ingest"), hooks{})
	b := runNode(t, nodeConfig(t, ch[1], "alerts"), hooks{alertFirstDelay: func(time.Duration) time.Duration { return 0 }})
	ha, hb := &th{t: t, a: a}, &th{t: t, a: b}
	base := "http://" + a.HTTPAddr()

	// Slow calls (1 s each) through A's OTLP receiver.
	now := time.Now()
	for i := range 3 {
		if code, body := ha.do("POST", "/v1/traces", "", pb, otlpBody(t, genaiTraces(byte(10+i), now.Add(-time.Duration(i+1)*10*time.Second), "slow"))); code != 200 {
			t.Fatalf("ingest through A: %d %s", code, body)
		}
	}
	waitAtLeast(t, a.Store(), "default", 3)

	var g struct{ ID string }
	if code := call(t, "POST", base+"/api/v1/action-groups", map[string]any{"name": "oncall",
		"receivers": []map[string]any{{"type": "webhook", "url": wh.URL}}}, &g); code != 201 || g.ID == "" {
		t.Fatalf("create action group on A: %d", code)
	}
	var rule struct{ ID string }
	if code := call(t, "POST", base+"/api/v1/alert-rules", map[string]any{"name": "slow calls", "signal": "duration_ms",
		"aggregation": "avg", "operator": ">", "threshold": 500, "window": "5m", "frequency": "1m",
		"action_groups": []string{g.ID}}, &rule); code != 201 || rule.ID == "" {
		t.Fatalf("create rule on A: %d", code)
	}
	var refused struct{ Error string }
	if code := call(t, "POST", base+"/api/v1/alert-rules/"+rule.ID+"/evaluate", nil, &refused); code != 409 ||
		!strings.Contains(refused.Error, "alerts component") {
		t.Errorf("evaluate on A, which does not run alerts: %d %q", code, refused.Error)
	}

	notifytest.Wait(t, 30*time.Second, "B's notification", func() bool { return len(wh.Requests()) >= 1 })
	ess := wh.Requests()[0].JSON()["data"].(map[string]any)["essentials"].(map[string]any)
	if ess["monitorCondition"] != "Fired" || ess["alertRule"] != "slow calls" {
		t.Errorf("webhook essentials %v", ess)
	}
	eventually(t, 10*time.Second, "A showing B's alert", func() bool {
		var alerts struct{ Alerts []alert.Instance }
		call(t, "GET", base+"/api/v1/alerts", nil, &alerts)
		return len(alerts.Alerts) == 1 && alerts.Alerts[0].State == alert.StateFired && alerts.Alerts[0].RuleID == rule.ID
	})
	eventually(t, 10*time.Second, "A showing B's notification log", func() bool {
		var log struct{ Notifications []struct{ Status string } }
		code := call(t, "GET", base+"/api/v1/notifications", nil, &log)
		return code == 200 && len(log.Notifications) == 1 && log.Notifications[0].Status == "sent"
	})

	// A never evaluated; B did.
	if n := metricValue(t, ha, `genscope_alert_evaluations_total{result="ok"}`); n != 0 {
		t.Errorf("A evaluated %v times", n)
	}
	if n := metricValue(t, hb, `genscope_alert_evaluations_total{result="ok"}`); n < 1 {
		t.Errorf("B evaluated %v times", n)
	}
	// B serves neither the API, the UI nor ingest.
	for _, p := range []string{"/api/v1/alert-rules", "/api/v1/overview", "/"} {
		if code, _ := hb.do("GET", p, "", nil, nil); code != 404 {
			t.Errorf("B: GET %s = %d, want 404", p, code)
		}
	}
	if code, _ := hb.do("POST", "/v1/traces", "", pb, otlpBody(t, genaiTraces(20, now, "x"))); code != 404 && code != 405 {
		t.Errorf("B: POST /v1/traces = %d, want 404", code)
	}
	if b.GRPCAddr() != "" {
		t.Errorf("B, without ingest, listens for OTLP/gRPC on %s", b.GRPCAddr())
	}
	if len(wh.Requests()) != 1 {
		t.Errorf("%d notifications, want 1", len(wh.Requests()))
	}
}

// TestComponents: unknown components are refused with the valid ones
// named; on the embedded store, an ingest-only node has no API or UI and
// an API-only node no receivers, and the default runs everything.
func TestComponents(t *testing.T) {
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = t.TempDir(), "127.0.0.1:0", ""
	cfg.Components = config.Components{"ingest", "alerting"}
	if _, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), `"alerting" is not a component: the components are ingest, gateway, api, alerts`) {
		t.Errorf("unknown component: %v", err)
	}

	ingestOnly := startAppWith(t, t.TempDir(), func(c *config.Config) { c.Components = config.Components{"ingest"} })
	h := &th{t: t, a: ingestOnly}
	if code, body := h.do("POST", "/v1/traces", "", pb, otlpBody(t, genaiTraces(1, time.Now(), "x"))); code != 200 {
		t.Errorf("ingest-only: POST /v1/traces = %d %s", code, body)
	}
	for _, p := range []string{"/api/v1/overview", "/api/v1/alert-rules", "/"} {
		if code, _ := h.do("GET", p, "", nil, nil); code != 404 {
			t.Errorf("ingest-only: GET %s = %d, want 404", p, code)
		}
	}
	if code, _ := h.do("POST", "/v1/chat/completions", "", nil, []byte(`{}`)); code != 404 && code != 405 {
		t.Errorf("ingest-only: the gateway answered %d", code)
	}
	if ingestOnly.GRPCAddr() == "" || ingestOnly.Alerts() != nil {
		t.Errorf("ingest-only: gRPC %q, alerting %v", ingestOnly.GRPCAddr(), ingestOnly.Alerts() != nil)
	}

	apiOnly := startAppWith(t, t.TempDir(), func(c *config.Config) { c.Components = config.Components{"ui"} })
	h = &th{t: t, a: apiOnly}
	if code, _ := h.do("GET", "/api/v1/overview", "", nil, nil); code != 200 {
		t.Errorf("api-only: GET /api/v1/overview = %d", code)
	}
	if code, _ := h.do("POST", "/v1/traces", "", pb, otlpBody(t, genaiTraces(1, time.Now(), "x"))); code != 404 && code != 405 {
		t.Errorf("api-only: POST /v1/traces = %d", code)
	}
	if apiOnly.GRPCAddr() != "" || apiOnly.Alerts() == nil {
		t.Errorf("api-only: gRPC %q, alerting %v", apiOnly.GRPCAddr(), apiOnly.Alerts() != nil)
	}

	all := startAppWith(t, t.TempDir(), nil)
	h = &th{t: t, a: all}
	for _, p := range []string{"/api/v1/overview", "/api/v1/alert-rules"} {
		if code, _ := h.do("GET", p, "", nil, nil); code != 200 {
			t.Errorf("all components: GET %s = %d", p, code)
		}
	}
	if all.GRPCAddr() == "" {
		t.Error("all components: no gRPC listener")
	}
}

// metricValue reads one sample of a node's /metrics; 0 when absent.
func metricValue(t *testing.T, h *th, sample string) float64 {
	t.Helper()
	_, body := h.do("GET", "/metrics", canaryAdmin, nil, nil) // with auth on, /metrics needs a credential
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %q", sample, v)
			}
			return f
		}
	}
	return 0
}
