package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/genscope/genscope/internal/config"
)

// TestBrowserCacheSaved: the Overview's Cost tile says what the gateway's
// response cache saved, as the API does, and the page still fits a
// phone and passes axe-core.
func TestBrowserCacheSaved(t *testing.T) {
	exe := chromium(t)
	requireBuilt(t)
	axe := axeSource(t)
	base := startAppWith(t, func(c *config.Config) { c.Gateway.Cache.Enabled = true })
	call := func() string {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"What should I pack for a hike?"}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-genscope-cache", "true")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("gateway: %s", resp.Status)
		}
		return resp.Header.Get("x-genscope-cache")
	}
	call()
	// The answer is kept once recorded: ask again until it is a hit.
	for deadline := time.Now().Add(15 * time.Second); call() != "hit"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no cache hit")
		}
	}
	var ov struct {
		Cache struct {
			Hits     int64   `json:"hits"`
			SavedUSD float64 `json:"saved_usd"`
		} `json:"cache"`
	}
	for deadline := time.Now().Add(15 * time.Second); ov.Cache.Hits < 1; time.Sleep(100 * time.Millisecond) {
		getJSON(t, base+"/api/v1/overview?from=1h", &ov)
		if time.Now().After(deadline) {
			t.Fatalf("the hit is not in the overview: %+v", ov)
		}
	}
	if ov.Cache.Hits != 1 || ov.Cache.SavedUSD <= 0 {
		t.Fatalf("overview cache %+v", ov.Cache)
	}

	ctx, problems := browser(t, exe)
	for _, vp := range viewports {
		do(t, ctx, chromedp.EmulateViewport(vp.w, vp.h, chromedp.EmulateScale(1)), chromedp.Navigate(base+"/?from=1h"))
		waitLoaded(t, ctx)
		text := eval[string](t, ctx, `document.querySelector("[data-tile=cost_usd]").innerText`)
		if !strings.Contains(text, "saved by cache ≈ $") || !strings.Contains(text, "(1 hits)") {
			t.Errorf("%s px: cost tile %q", vp.name, text)
		}
		fits(t, ctx, "overview with cache savings", int(vp.w))
		audit(t, ctx, axe, "overview with cache savings@"+vp.name)
		screenshot(t, ctx, "overview-cache-"+vp.name)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("console: %q", p)
	}
}
