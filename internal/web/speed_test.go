package web_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardSpeed times the dashboard in headless Chromium against a
// running genscope, meant for the benchmark dataset:
//
//	go build -o /tmp/gs ./cmd/genscope && /tmp/gs bench query -data /tmp/gs-bench-data
//	/tmp/gs serve --data /tmp/gs-bench-data --listen 127.0.0.1:18080 --grpc-listen ""
//	GENSCOPE_BENCH_URL=http://127.0.0.1:18080 go test -run TestDashboardSpeed -v ./internal/web/
//
// A page is complete when its tiles, charts and tables are drawn. Each
// figure is the median of 5 runs after a warm-up run. With
// -update-screenshot it only saves the overview as docs/screenshot.png.
func TestDashboardSpeed(t *testing.T) {
	base := os.Getenv("GENSCOPE_BENCH_URL")
	if base == "" {
		t.Skip("set GENSCOPE_BENCH_URL to a genscope serving the benchmark dataset")
	}
	ctx, problems := browser(t, chromium(t))
	const runs = 5
	median := func(vs []float64) float64 {
		slices.Sort(vs)
		return vs[len(vs)/2]
	}
	ms := func(ctx context.Context, attr string) float64 {
		v, err := strconv.ParseFloat(eval[string](t, ctx, `document.getElementById("main").dataset.`+attr), 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// load: a full page load, from navigation start to complete.
	load := func(name, path string, limit time.Duration) {
		var vs []float64
		for i := range runs + 1 {
			do(t, ctx, chromedp.Navigate(base+path))
			waitLoaded(t, ctx)
			if i > 0 {
				vs = append(vs, ms(ctx, "doneAt"))
			}
		}
		m := median(vs)
		t.Logf("%-40s complete in %6.0f ms (median of %d; runs %v)", name, m, runs, vs)
		if limit > 0 && m > float64(limit.Milliseconds()) {
			t.Errorf("%s: %.0f ms, over %s", name, m, limit)
		}
	}
	// click: an in-app navigation, from the click to complete.
	click := func(name, path, sel string, limit time.Duration) {
		var vs []float64
		for i := range runs + 1 {
			do(t, ctx, chromedp.Navigate(base+path))
			waitLoaded(t, ctx)
			do(t, ctx, chromedp.Click(chromedp.CSS(sel)))
			waitLoaded(t, ctx)
			if i > 0 {
				vs = append(vs, ms(ctx, "renderMs"))
			}
		}
		m := median(vs)
		t.Logf("%-40s complete in %6.0f ms (median of %d; runs %v)", name, m, runs, vs)
		if limit > 0 && m > float64(limit.Milliseconds()) {
			t.Errorf("%s: %.0f ms, over %s", name, m, limit)
		}
	}
	if *updateScreenshot {
		do(t, ctx, chromedp.Navigate(base+"/"))
		waitLoaded(t, ctx)
		saveReadmeScreenshot(t, ctx)
		return
	}
	load("overview, last 24 h (page load)", "/", time.Second)
	load("spans page, last 24 h (page load)", "/spans", 300*time.Millisecond)
	click("spans page, from the nav (in-app)", "/", `nav a[href^="/spans"]`, 300*time.Millisecond)
	click("spans next page (in-app)", "/spans", "#next-page", 300*time.Millisecond)
	click("trace view from a row (in-app)", "/spans", "#spans tbody tr", 300*time.Millisecond)
	load("spans sorted by duration, 24 h", "/spans?sort=duration", 0)
	load("spans sorted by tokens, 24 h", "/spans?sort=tokens", 0)
	load("overview, last 7 d", "/?from=7d", 0)
	load("overview, last 30 d", "/?from=30d", 0)
	load("sessions, last 24 h", "/sessions", 0)
	for _, p := range problems() {
		t.Errorf("browser console: %s", p)
	}
}
