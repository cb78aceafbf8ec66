package config

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestAuthFile(t *testing.T) {
	raw, _ := os.ReadFile("testdata/auth.good.yaml")
	raw = []byte(strings.Replace(string(raw), "literal-admin-token-for-tests", "${GENSCOPE_TEST_ADMIN_TOKEN}", 1))
	c, err := Parse(raw, func(k string) (string, bool) {
		if k == "GENSCOPE_TEST_ADMIN_TOKEN" {
			return "admin-token-canary-0123456789", true
		}
		return lookup(k)
	})
	if err != nil {
		t.Fatal(err)
	}
	a := c.Auth
	if !a.Enabled || a.AdminToken.Reveal() != "admin-token-canary-0123456789" || a.SessionTTL.D() != 8*time.Hour {
		t.Fatalf("auth %+v", a)
	}
	if len(c.Projects) != 3 || c.Projects[1].Capture != "redacted" || c.Projects[1].Retention.Content.D() != 168*time.Hour ||
		c.Projects[1].RedactPatterns[0] != `ORD-\d{6}` {
		t.Fatalf("projects %+v", c.Projects)
	}
	// The admin token never shows when the config is printed.
	out, _ := yaml.Marshal(c)
	js, _ := json.Marshal(c)
	for _, s := range []string{string(out), string(js), fmt.Sprintf("%v %+v %#v", c, c, c)} {
		if strings.Contains(s, "admin-token-canary") {
			t.Fatalf("admin token printed: %s", s)
		}
	}
}

func TestAuthBadFile(t *testing.T) {
	raw, _ := os.ReadFile("testdata/auth.bad.yaml")
	_, err := Parse(raw, lookup)
	if err == nil {
		t.Fatal("no error")
	}
	for _, m := range []string{"auth.admin_token:", "auth.session_ttl:", "projects[0].name:", "projects[0].capture:",
		"projects[1].redact_patterns[0]:", `projects[2].name: "b" is defined twice`, "projects[2].retention.content: must not be longer",
		"projects[3].retention.spans: must not be negative", "projects[3].retention: at least 1h",
		`auth.trusted_proxies[1]: "proxy.internal" is not an address`} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
	if strings.Contains(err.Error(), "short") {
		t.Errorf("the admin token is echoed: %v", err)
	}
}

func TestAuthOffByDefault(t *testing.T) {
	c := Default()
	if c.Auth.Enabled || len(c.Projects) != 0 {
		t.Fatalf("%+v", c.Auth)
	}
}
