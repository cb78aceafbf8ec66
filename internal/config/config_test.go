package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func lookup(name string) (string, bool) {
	if name == "GENSCOPE_TEST_DATA" {
		return "/tmp/from-env", true
	}
	if name == "GENSCOPE_TEST_AZURE_KEY" {
		return "azure-key-canary", true
	}
	return "", false
}

func TestGoodFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no good fixtures")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(raw, lookup); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestFullFile(t *testing.T) {
	raw, _ := os.ReadFile("testdata/full.good.yaml")
	c, err := Parse(raw, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9318" || c.GRPCListen != "" || c.HTTP.ShutdownTimeout.D() != time.Minute ||
		c.HTTP.ReadTimeout != Default().HTTP.ReadTimeout || c.Store.DuckDB.Threads != 2 ||
		len(c.Pricing) != 1 || *c.Pricing[0].OutputPerMTok != 12 {
		t.Fatalf("decoded %+v", c)
	}
	env, _ := os.ReadFile("testdata/env.good.yaml")
	c, _ = Parse(env, lookup)
	if c.Data != "/tmp/from-env" {
		t.Fatalf("data = %q", c.Data)
	}
}

func TestBadFiles(t *testing.T) {
	want := map[string][]string{
		"unknown-key.bad.yaml":  {"listne"},
		"bad-duration.bad.yaml": {"forever"},
		"missing-env.bad.yaml":  {"GENSCOPE_TEST_UNSET_VARIABLE"},
		"tls.bad.yaml":          {"tls: cert_file and key_file go together"},
		"clickhouse.bad.yaml": {"store.clickhouse.addrs[0]:", "store.clickhouse.http_addr:", "store.clickhouse.database:",
			"store.clickhouse.cluster:", "store.clickhouse.max_open_conns:"},
		"gateway.bad.yaml": {"gateway.capture:", "gateway.redact_patterns[0]:", "gateway.deployments[0].base_url: required",
			"gateway.deployments[1].name: \"a\" is defined twice", "gateway.deployments[1].base_url:", "gateway.deployments[2].name:",
			"gateway.deployments[2].type:", "gateway.deployments[3].base_url: credentials", "gateway.deployments[3].simulated: only",
			"gateway.deployments[4].simulated.jitter:",
			"gateway.deployments[5].base_url: forbidden target: 169.254.169.254 is link-local",
			"gateway.deployments[6].base_url: forbidden target: metadata.google.internal is a metadata service",
			"gateway.deployments[7].base_url: forbidden target: 64:ff9b::a9fe:a9fe is link-local",
			"gateway.deployments[8].base_url: forbidden target: 2002:a9fe:a9fe::1 is link-local",
			`gateway.routes[0].targets[0].deployment: no deployment or route is named "nowhere"`, "gateway.routes[1].targets: none",
			"gateway.routes: cycle: c1 → c2 → c1", "gateway.cache.max_bytes: must not be negative",
			"gateway.limits[0].project or user: required", "gateway.limits[1].usd_per_day: must be a finite number, not negative"},
		"alerts.bad.yaml": {"notify.attempts:", "notify.smtp.tls:", "notify.smtp: username and password",
			"action_groups[0].name: required", "action_groups[0].receivers[0].url: required", "action_groups[0].receivers[1].type:",
			"action_groups[0].receivers[2].to[0]:", "action_groups[0].receivers[2]: email needs notify.smtp.host",
			"action_groups[1].id: \"g\" is defined twice", "action_groups[1].receivers: at least one",
			"alerts[0].name: required", "alerts[0].signal:", "alerts[0].operator:", "alerts[0].window:",
			"alerts[0].action_groups[0]: no action group", "alerts[1].id: \"r\" is defined twice", "alerts[1].frequency:"},
		"evaluators.bad.yaml": {"evaluators[0].must_match:", `evaluators[1].id: "a" is defined twice`, `evaluators[1].name: "a" is defined twice`,
			`evaluators[1].type: "vibes"`, "evaluators[2].template:", "evaluators[2].sample:", `evaluators[2].deployment: "nowhere" is not a gateway deployment`},
		"many-problems.bad.yaml": {"listen:", "log_level:", "ingest.max_body_bytes:", "ingest.max_inflight_bytes:", "store.driver:",
			"pricing[0].model: required", "pricing[0].effective:"},
	}
	for f, msgs := range want {
		raw, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(raw, lookup)
		if err == nil {
			t.Errorf("%s: no error", f)
			continue
		}
		for _, m := range msgs {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: error %q does not mention %q", f, err, m)
			}
		}
	}
}

func TestAlertsFile(t *testing.T) {
	raw, _ := os.ReadFile("testdata/alerts.good.yaml")
	c, err := Parse(raw, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ActionGroups) != 1 || len(c.ActionGroups[0].Receivers) != 5 || c.Notify.SMTP.Password.Reveal() != "azure-key-canary" ||
		!c.Notify.AllowPrivateTargets || c.Notify.Attempts != 3 || c.Notify.AttemptTimeout.D() != 10*time.Second {
		t.Fatalf("notify %+v groups %+v", c.Notify, c.ActionGroups)
	}
	r0, r1 := c.Alerts[0].ToRule(), c.Alerts[1].ToRule()
	if r0.Threshold != 4000 || r0.Window.D() != 5*time.Minute || !r0.Enabled || !r0.AutoResolve || r0.Violations != 1 ||
		r0.Filters.Model != "gpt-4o" || r0.ActionGroups[0] != "oncall" || r0.NoData != "keep" {
		t.Errorf("rule 0 %+v", r0)
	}
	if r1.Enabled || r1.AutoResolve || r1.Violations != 2 || r1.Evaluations != 3 || r1.Frequency.D() != time.Minute || r1.SplitBy != "model" {
		t.Errorf("rule 1 %+v", r1)
	}
	if s := fmt.Sprintf("%+v %v", c.Notify, c.ActionGroups); strings.Contains(s, "azure-key-canary") {
		t.Error("a secret prints")
	}
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range files {
		raw, _ := os.ReadFile(p)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Parse(raw, lookup)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Parse accepted a config that does not validate: %v", verr)
			}
		}
	})
}

// TestGatewayBuiltinDeployments: builtin_deployments: false serves the
// configured deployments alone, and then needs some.
func TestGatewayBuiltinDeployments(t *testing.T) {
	c, err := Parse([]byte("gateway:\n  builtin_deployments: false\n  deployments:\n    - {name: slow, type: simulated, model: gpt-4o}\n"), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if ds := c.Gateway.AllDeployments(); len(ds) != 1 || ds[0].Name != "slow" {
		t.Errorf("deployments %+v", ds)
	}
	if c := Default(); len(c.Gateway.AllDeployments()) != 3 {
		t.Errorf("default deployments %+v", c.Gateway.AllDeployments())
	}
	_, err = Parse([]byte("gateway:\n  builtin_deployments: false\n"), lookup)
	if err == nil || !strings.Contains(err.Error(), "gateway.deployments: none") {
		t.Errorf("no deployments at all: %v", err)
	}
	if _, err := Parse([]byte("gateway:\n  enabled: false\n  builtin_deployments: false\n"), lookup); err != nil {
		t.Errorf("gateway off without deployments: %v", err)
	}
}

func TestGatewayFile(t *testing.T) {
	raw, _ := os.ReadFile("testdata/gateway.good.yaml")
	c, err := Parse(raw, func(k string) (string, bool) {
		if k == "GENSCOPE_TEST_AZURE_KEY" {
			return "azure-key-canary", true
		}
		return lookup(k)
	})
	if err != nil {
		t.Fatal(err)
	}
	g := c.Gateway
	if g.Capture != "redacted" || len(g.Deployments) != 4 || g.Deployments[0].APIKey.Reveal() != "azure-key-canary" ||
		g.Deployments[3].Simulated.TimeToFirstToken.D() != time.Second || *g.Deployments[3].Simulated.Jitter != 0 {
		t.Fatalf("gateway %+v", g)
	}
	// The built-in simulated deployments stay beside the configured ones;
	// a configured name replaces its built-in namesake.
	var names []string
	for _, d := range g.AllDeployments() {
		names = append(names, d.Name+"/"+d.Type)
	}
	if got := strings.Join(names, " "); got != "gpt-4o/azure-openai gpt-4o-mini/openai llama/openai-compatible slow-gpt-4o/simulated text-embedding-3-small/simulated" {
		t.Errorf("deployments served: %s", got)
	}
	if !g.Cache.Enabled || g.Cache.TTL.D() != 10*time.Minute || g.Cache.MaxBytes != 1<<20 || !g.Deployments[1].Cache {
		t.Errorf("cache %+v", g.Cache)
	}
	if len(g.Routes) != 2 || g.Routes[0].Retries != 2 || *g.Routes[1].Targets[0].Weight != 3 || g.Routes[0].Cooldown.D() != 30*time.Second {
		t.Errorf("routes %+v", g.Routes)
	}
	if len(g.Limits) != 2 || g.Limits[0].Project != "default" || g.Limits[0].USDPerDay != 50 || g.Limits[0].TokensPerMinute != 200000 ||
		g.Limits[1].User != "*" || g.Limits[1].RequestsPerMinute != 30 {
		t.Errorf("limits %+v", g.Limits)
	}
	d := g.Deployments[1].WithDefaults()
	if d.BaseURL != "https://api.openai.com/v1" || d.Provider != "openai" || d.Model != "gpt-4o-mini" || d.Timeout.D() != 2*time.Minute {
		t.Errorf("defaults %+v", d)
	}
	if fmt.Sprintf("%+v", g) == "" || strings.Contains(fmt.Sprintf("%+v %v", g, g.Deployments), "azure-key-canary") {
		t.Error("the key prints")
	}
}

// TestSizes: byte sizes read as numbers or with units; a bad one is an
// error naming its line.
func TestSizes(t *testing.T) {
	c, err := Parse([]byte("ingest:\n  max_body_bytes: 256MB\n  max_inflight_bytes: 1GiB\ngateway:\n  cache: {max_bytes: 268435456}\n"), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.Ingest.MaxBodyBytes != 256_000_000 || c.Ingest.MaxInflightBytes != 1<<30 || c.Gateway.Cache.MaxBytes != 256<<20 {
		t.Errorf("sizes %d %d %d", c.Ingest.MaxBodyBytes, c.Ingest.MaxInflightBytes, c.Gateway.Cache.MaxBytes)
	}
	for bad, want := range map[string]string{
		"gateway:\n  cache: {max_bytes: 2 bananas}\n": `line 2: "2 bananas" is not a size`,
		"recorder:\n  max_queue_bytes: 1.5\n":         `line 2: "1.5" is not a whole number of bytes`,
		"gateway:\n  max_body_bytes: [1]\n":           "line 2: a size is a number of bytes",
	} {
		if _, err := Parse([]byte(bad), lookup); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
	}
}

func TestEvaluatorsFile(t *testing.T) {
	raw, _ := os.ReadFile("testdata/evaluators.good.yaml")
	c, err := Parse(raw, lookup)
	if err != nil {
		t.Fatal(err)
	}
	e0, e1, e2 := c.Evaluators[0].ToEvaluator(), c.Evaluators[1].ToEvaluator(), c.Evaluators[2].ToEvaluator()
	if e0.Name != "no-apology" || e0.MustNotMatch != "(?i)sorry" || !e0.Enabled || e0.Sample != 1 {
		t.Errorf("evaluator 0 %+v", e0)
	}
	if e1.Type != "llm_judge" || e1.Sample != 0.2 || e1.MaxPerMinute != 30 || e1.Filters.Model != "gpt-4o" || !e1.Enabled {
		t.Errorf("evaluator 1 %+v", e1)
	}
	if e2.Enabled || e2.Sample != 1 || e2.Filters.Service != "trip-planner" {
		t.Errorf("evaluator 2 %+v", e2)
	}
}

// The README's evaluators example is a valid config file.
func TestReadmeEvaluators(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(raw), "### Online evaluators")
	_, block, _ := strings.Cut(rest, "```yaml\n")
	block, _, _ = strings.Cut(block, "```")
	c, err := Parse([]byte(block), lookup)
	if err != nil {
		t.Fatalf("README evaluators:\n%s\n%v", block, err)
	}
	if len(c.Evaluators) != 2 || c.Evaluators[1].ToEvaluator().Sample != 0.2 || !strings.Contains(c.Evaluators[1].Template, "\n") {
		t.Errorf("README evaluators %+v", c.Evaluators)
	}
}
