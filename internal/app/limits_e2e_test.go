package app

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/api"
	"github.com/genscope/genscope/internal/config"
)

// TestGatewayKeyLimitsOpenAISDK: a gateway key made with limits through
// the API stops its calls at the limit; the official OpenAI Node.js SDK
// sees the refusal as its RateLimitError (429, rate_limit_exceeded, a
// Retry-After); GET /api/v1/limits shows the key's usage to the project's
// readers; limits on other keys, or bad ones, are refused.
func TestGatewayKeyLimitsOpenAISDK(t *testing.T) {
	a := startAppWith(t, t.TempDir(), func(c *config.Config) {
		instantDeployments(c)
		c.Auth = config.Auth{Enabled: true, AdminToken: config.Secret(canaryAdmin), SessionTTL: config.Duration(time.Hour)}
	})
	h := &th{t: t, a: a}
	if code := h.json("POST", "/api/v1/projects", canaryAdmin, map[string]string{"name": "a"}, nil); code != 201 {
		t.Fatalf("create project: %d", code)
	}
	var gw struct {
		Key, ID string
		Limits  map[string]float64
	}
	if code := h.json("POST", "/api/v1/projects/a/keys", canaryAdmin, map[string]any{"scope": "gateway", "limits": map[string]any{"requests_per_minute": 2, "usd_per_day": 5}}, &gw); code != 201 ||
		gw.Limits["requests_per_minute"] != 2 || gw.Limits["usd_per_day"] != 5 {
		t.Fatalf("create gateway key: %d %+v", code, gw)
	}
	var read struct{ Key string }
	h.json("POST", "/api/v1/projects/a/keys", canaryAdmin, map[string]any{"scope": "read"}, &read)
	for _, bad := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"scope": "ingest", "limits": map[string]any{"requests_per_minute": 2}}, "only gateway keys have limits"},
		{map[string]any{"scope": "gateway", "limits": map[string]any{"requests_per_minute": -2}}, "limits.requests_per_minute: must not be negative"},
		{map[string]any{"scope": "gateway", "limits": map[string]any{"requests_a_minute": 2}}, "unknown field"},
	} {
		b, _ := json.Marshal(bad.body)
		if code, got := h.do("POST", "/api/v1/projects/a/keys", canaryAdmin, nil, b); code != 400 || !strings.Contains(got, bad.want) {
			t.Errorf("%v: %d %s", bad.body, code, got)
		}
	}

	raw := nodeClient(t, "openai-client", "limits.mjs", 2*time.Minute, "GENSCOPE_URL=http://"+a.HTTPAddr(), "GENSCOPE_KEY="+gw.Key)
	var out struct {
		OK      int
		Refused *struct {
			Class, Code, Type, Message, RetryAfter string
			IsRateLimit                            bool
			Status                                 int
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	r := out.Refused
	if out.OK != 2 || r == nil || !r.IsRateLimit || r.Status != 429 || r.Code != "rate_limit_exceeded" || r.Type != "requests" ||
		!strings.Contains(r.Message, `key "`+gw.ID+`" reached its requests_per_minute limit (2 of 2)`) {
		t.Fatalf("the SDK saw: %s", raw)
	}
	if n, err := strconv.Atoi(r.RetryAfter); err != nil || n < 1 || n > 60 {
		t.Errorf("Retry-After %q", r.RetryAfter)
	}

	var lu api.LimitsUsage
	if code := h.json("GET", "/api/v1/limits?project=a", read.Key, nil, &lu); code != 200 || !lu.Gateway || lu.Project != "a" || len(lu.Usage) != 1 {
		t.Fatalf("GET /api/v1/limits: %d %+v", code, lu)
	}
	if u := lu.Usage[0]; u.Scope != "key" || u.Name != gw.ID || u.RequestsThisMinute != 2 || u.Limits.RequestsPerMinute != 2 || u.UsedPercent != 100 {
		t.Errorf("usage %+v", u)
	}
	if code, _ := h.do("GET", "/api/v1/limits", "", nil, nil); code != 401 {
		t.Errorf("limits without credentials: %d", code)
	}
}
