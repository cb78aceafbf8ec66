package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/config"
)

// TestOpenAISDKCacheHit: the official OpenAI Node.js SDK gets a cache hit
// as a normal answer, plain and streamed — the same answer as the miss,
// with x-genscope-cache saying which was which.
func TestOpenAISDKCacheHit(t *testing.T) {
	data := t.TempDir()
	a := startAppWith(t, data, func(c *config.Config) {
		instantDeployments(c)
		c.Gateway.Cache.Enabled = true
	})
	raw := nodeClient(t, "openai-client", "cache.mjs", 2*time.Minute, "GENSCOPE_URL=http://"+a.HTTPAddr())
	type answer struct {
		Cache, ID, Content, Finish, Text string
		Chunks                           int
		Usage                            *struct {
			PromptTokens int64 `json:"prompt_tokens"`
		}
	}
	var out struct {
		Plain, Streamed struct {
			First answer
			Hit   *answer
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	p, s := out.Plain, out.Streamed
	if p.Hit == nil || p.First.Cache != "miss" || p.Hit.Cache != "hit" || p.Hit.ID != p.First.ID || p.Hit.Content != p.First.Content ||
		p.Hit.Content == "" || p.Hit.Finish != "stop" || p.Hit.Usage == nil || p.Hit.Usage.PromptTokens != p.First.Usage.PromptTokens {
		t.Errorf("plain: %s", raw)
	}
	if s.Hit == nil || s.First.Cache != "miss" || s.Hit.Cache != "hit" || s.Hit.ID != s.First.ID || s.Hit.Text != s.First.Text ||
		s.Hit.Text == "" || s.Hit.Chunks != s.First.Chunks || s.Hit.Usage == nil || s.Hit.Usage.PromptTokens != s.First.Usage.PromptTokens {
		t.Errorf("streamed: %s", raw)
	}
	// The Overview says what the cache saved: the two hits, priced as
	// gpt-4o calls of their tokens — no more than the misses they repeat
	// cost.
	var ov struct {
		CostUSD float64 `json:"cost_usd"`
		Cache   struct {
			Hits         int64   `json:"hits"`
			UnpricedHits int64   `json:"unpriced_hits"`
			SavedUSD     float64 `json:"saved_usd"`
		}
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		getJSON(t, a, "/api/v1/overview?from=1h", &ov)
		if ov.Cache.Hits >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if ov.Cache.Hits != 2 || ov.Cache.SavedUSD <= 0 || ov.Cache.UnpricedHits != 0 || ov.CostUSD <= 0 || ov.Cache.SavedUSD > ov.CostUSD+1e-12 {
		t.Errorf("overview %+v", ov)
	}
	if _, err := os.Stat(filepath.Join(data, "gateway-cache")); err != nil {
		t.Errorf("the cache is not in the data directory: %v", err)
	}
}
