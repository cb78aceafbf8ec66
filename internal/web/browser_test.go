package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/genscope/genscope/internal/app"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/fixture"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "save the overview as docs/screenshot.png (from the benchmark dataset when GENSCOPE_BENCH_URL is set)")

// chromium finds the browser, or skips the test (fails it in CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("GENSCOPE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (.ci/run installs Debian's chromium package)")
	}
	t.Skip("chromium is not installed: apt-get install chromium to run the browser tests")
	return ""
}

// requireBuilt skips (fails in CI) when the front end is not built.
func requireBuilt(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("dist/index.html"); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the front end is not built: make ui")
	}
	t.Skip("the front end is not built: run make ui (or make test)")
}

// artifacts is where screenshots go: $GENSCOPE_ARTIFACTS or a temp dir.
func artifacts(t *testing.T) string {
	dir := os.Getenv("GENSCOPE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "genscope-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startApp runs a whole genscope on a loopback port with a fresh data
// directory.
func startApp(t *testing.T) string {
	t.Helper()
	return startAppWith(t, nil)
}

// startAppWith is startApp with changes to the default config.
func startAppWith(t *testing.T, change func(*config.Config)) string {
	t.Helper()
	return startAppLogged(t, change, io.Discard)
}

// startAppLogged is startAppWith with the app's log written to w (which
// must be safe for concurrent writes).
func startAppLogged(t *testing.T, change func(*config.Config), w io.Writer) string {
	t.Helper()
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = t.TempDir(), "127.0.0.1:0", ""
	cfg.Store.DuckDB.MemoryLimit = "256MB"
	if change != nil {
		change(&cfg)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(w, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	base := "http://" + a.HTTPAddr()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("app not ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return base
}

// postFixture sends a traces fixture (and its logs, when given) so its
// first span starts at at.
func postFixture(t *testing.T, base, traces, logs string, at time.Time) {
	t.Helper()
	postFixtureKey(t, base, "", traces, logs, at)
}

// postFixtureKey is postFixture with an ingest key (auth on).
func postFixtureKey(t *testing.T, base, key, traces, logs string, at time.Time) {
	t.Helper()
	td := fixture.Traces(t, "otlp/"+traces)
	d := fixture.TracesAt(td, at)
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	postKey(t, base+"/v1/traces", key, body)
	if logs == "" {
		return
	}
	ld := fixture.Logs(t, "otlp/"+logs)
	fixture.MoveLogs(ld, d)
	body, _ = plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	postKey(t, base+"/v1/logs", key, body)
}

// postKey posts protobuf telemetry with an ingest key when key is set.
func postKey(t *testing.T, url, key string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if key != "" {
		req.Header.Set("x-genscope-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s %s", url, resp.Status, b)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// ingestLab posts the lab's captures: three within the last quarter hour,
// OpenInference's three hours ago (so the time range changes the totals).
func ingestLab(t *testing.T, base string) {
	ingestLabKey(t, base, "")
}

// ingestLabKey is ingestLab with an ingest key (auth on).
func ingestLabKey(t *testing.T, base, key string) {
	now := time.Now()
	postFixtureKey(t, base, key, "lab-otel-openai.traces.json", "lab-otel-openai.logs.json", now.Add(-10*time.Minute))
	postFixtureKey(t, base, key, "lab-traceloop.traces.json", "", now.Add(-9*time.Minute))
	postFixtureKey(t, base, key, "lab-otel-openai.traces.pb", "lab-otel-openai.logs.pb", now.Add(-8*time.Minute))
	postFixtureKey(t, base, key, "lab-openinference.traces.json", "", now.Add(-3*time.Hour))
}

// browser starts a headless Chromium with a fresh profile and collects the
// console errors and uncaught exceptions of its tab.
func browser(t *testing.T, exe string) (context.Context, func() []string) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 8*time.Minute) // TestBrowserPages visits every page at two sizes
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	var mu sync.Mutex
	var problems []string
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitLoaded waits until the page's data is drawn.
func waitLoaded(t *testing.T, ctx context.Context) {
	t.Helper()
	state, err := chromedp.Run(ctx, chromedp.Poll[string](`(document.querySelector("main[data-loaded]") || {dataset: {}}).dataset.loaded`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("page not loaded: %v; page text: %s", err, body)
	}
	if state != "true" {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("page load state %q: %s", state, body)
	}
}

func waitFor(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		t.Fatalf("waiting for %s: %v\n%s", js, err, body)
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(artifacts(t), name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
	return buf
}

// saveReadmeScreenshot saves the browser's view (not the whole page) as the
// README's picture.
func saveReadmeScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("../../docs", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../../docs/screenshot.png", png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("saved docs/screenshot.png")
}

type overviewJSON struct {
	Calls        float64 `json:"calls"`
	Errors       float64 `json:"errors"`
	ErrorRate    float64 `json:"error_rate"`
	InputTokens  float64 `json:"input_tokens"`
	OutputTokens float64 `json:"output_tokens"`
	TotalTokens  float64 `json:"total_tokens"`
	CostUSD      float64 `json:"cost_usd"`
	DurationMS   struct {
		P95 float64 `json:"p95"`
	} `json:"duration_ms"`
	TTFTMS struct {
		Count float64 `json:"count"`
		P95   float64 `json:"p95"`
	} `json:"ttft_ms"`
}

type spanJSON struct {
	TraceID      string `json:"trace_id"`
	SpanID       string `json:"span_id"`
	ParentSpanID string `json:"parent_span_id"`
	Service      string `json:"service"`
	System       string `json:"system"`
	Input        string `json:"input"`
	Output       string `json:"output"`
	Status       string `json:"status"`
}

// tiles reads the overview tiles' values.
func tiles(t *testing.T, ctx context.Context) map[string]string {
	return eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll("[data-tile]")].map(e => [e.dataset.tile, e.dataset.value]))`)
}

func checkTiles(t *testing.T, what string, got map[string]string, want overviewJSON) {
	t.Helper()
	num := func(k string) float64 {
		var v float64
		if _, err := fmt.Sscan(got[k], &v); err != nil {
			t.Errorf("%s: tile %s = %q", what, k, got[k])
		}
		return v
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for k, w := range map[string]float64{"calls": want.Calls, "total_tokens": want.TotalTokens, "input_tokens": want.InputTokens,
		"output_tokens": want.OutputTokens, "cost_usd": want.CostUSD, "error_rate": want.ErrorRate, "p95_duration": want.DurationMS.P95} {
		if g := num(k); !close(g, w) {
			t.Errorf("%s: tile %s = %v, API says %v", what, k, g, w)
		}
	}
	if want.TTFTMS.Count > 0 {
		if g := num("p95_ttft"); !close(g, want.TTFTMS.P95) {
			t.Errorf("%s: tile p95_ttft = %v, API says %v", what, g, want.TTFTMS.P95)
		}
	} else if got["p95_ttft"] != "" {
		t.Errorf("%s: p95_ttft = %q with no streamed calls", what, got["p95_ttft"])
	}
}

// TestBrowser drives the dashboard in headless Chromium over the lab's
// captured telemetry.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	requireBuilt(t)
	base := startApp(t)
	ctx, problems := browser(t, exe)

	// Connect on an empty genscope waits for the first span, then turns green.
	do(t, ctx, chromedp.Navigate(base+"/connect"))
	waitLoaded(t, ctx)
	if ok := eval[string](t, ctx, `document.getElementById("connect-status").dataset.ok`); ok != "false" {
		t.Errorf("status line on an empty genscope: data-ok=%q", ok)
	}
	screenshot(t, ctx, "connect-waiting")
	ingestLab(t, base)
	waitFor(t, ctx, `document.getElementById("connect-status").dataset.ok === "true"`)

	var ov24, ov1 overviewJSON
	getJSON(t, base+"/api/v1/overview?from=24h", &ov24)
	getJSON(t, base+"/api/v1/overview?from=1h", &ov1)
	if ov24.Calls != 18 || ov24.InputTokens != 704 || ov24.OutputTokens != 1012 || ov24.Errors != 2 || ov1.Calls != 14 {
		t.Fatalf("ingested: 24h %+v, 1h %+v; want 18 calls, 704+1012 tokens, 2 errors; 14 in the last hour", ov24, ov1)
	}

	t.Run("Overview", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/"))
		waitLoaded(t, ctx)
		checkTiles(t, "24h", tiles(t, ctx), ov24)
		if n := eval[int](t, ctx, `document.querySelectorAll(".chart .uplot canvas").length`); n != 5 {
			t.Errorf("%d charts drawn, want 5 (tokens, calls, latency, cost, cost by model)", n)
		}
		text := eval[string](t, ctx, `document.querySelector("[data-tile=calls]").innerText`)
		if !strings.Contains(text, "18") || !strings.Contains(text, "calls") {
			t.Errorf("calls tile text %q", text)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("#models tbody tr").length`); n != 1 {
			t.Errorf("per-model rows = %d, want 1 (gpt-4o)", n)
		}
		screenshot(t, ctx, "overview")
		if *updateScreenshot && os.Getenv("GENSCOPE_BENCH_URL") == "" {
			saveReadmeScreenshot(t, ctx)
		}
	})

	t.Run("FiltersAndRangeSurviveReload", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/"))
		waitLoaded(t, ctx)
		// Status filter through the form.
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`(s => { s.value = "error"; s.dispatchEvent(new Event("change")); })(document.getElementById("f-status"))`))
		waitLoaded(t, ctx)
		var ovErr overviewJSON
		getJSON(t, base+"/api/v1/overview?from=24h&status=error", &ovErr)
		checkTiles(t, "status=error", tiles(t, ctx), ovErr)
		if ovErr.Calls != 2 {
			t.Errorf("API errors = %v, want 2", ovErr.Calls)
		}
		if q := eval[string](t, ctx, `location.search`); !strings.Contains(q, "status=error") {
			t.Errorf("URL query %q lacks the filter", q)
		}
		do(t, ctx, chromedp.Reload())
		waitLoaded(t, ctx)
		checkTiles(t, "status=error after reload", tiles(t, ctx), ovErr)
		if v := eval[string](t, ctx, `document.getElementById("f-status").value`); v != "error" {
			t.Errorf("status select after reload = %q", v)
		}
		// Clear, then the time range.
		do(t, ctx, chromedp.Navigate(base+"/"))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`(s => { s.value = "1h"; s.dispatchEvent(new Event("change")); })(document.getElementById("range"))`))
		waitLoaded(t, ctx)
		checkTiles(t, "1h", tiles(t, ctx), ov1)
		do(t, ctx, chromedp.Reload())
		waitLoaded(t, ctx)
		checkTiles(t, "1h after reload", tiles(t, ctx), ov1)
		if v := eval[string](t, ctx, `document.getElementById("range").value`); v != "1h" {
			t.Errorf("range after reload = %q", v)
		}
		// A custom range, from the URL, gives the API's numbers for it.
		from, to := time.Now().Add(-20*time.Minute).UTC().Format(time.RFC3339), time.Now().Add(-5*time.Minute).UTC().Format(time.RFC3339)
		var ovCustom overviewJSON
		getJSON(t, base+"/api/v1/overview?from="+from+"&to="+to, &ovCustom)
		do(t, ctx, chromedp.Navigate(base+"/?from="+from+"&to="+to))
		waitLoaded(t, ctx)
		checkTiles(t, "custom range", tiles(t, ctx), ovCustom)
		if v := eval[string](t, ctx, `document.getElementById("range").value`); v != "custom" {
			t.Errorf("range select for a custom range = %q", v)
		}
		do(t, ctx, chromedp.Navigate(base+"/?from=1h"))
		waitLoaded(t, ctx)
		// Auto-refresh is kept in the URL too.
		do(t, ctx, chromedp.Click(chromedp.ID("refresh")))
		waitLoaded(t, ctx)
		if q := eval[string](t, ctx, `location.search`); !strings.Contains(q, "refresh=1") {
			t.Errorf("auto-refresh not in the URL: %q", q)
		}
		// A model row filters the page.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#models tr[data-model="gpt-4o"]`)))
		waitLoaded(t, ctx)
		if q := eval[string](t, ctx, `location.search`); !strings.Contains(q, "model=gpt-4o") || !strings.Contains(q, "from=1h") {
			t.Errorf("after the model click, query %q", q)
		}
		checkTiles(t, "1h model=gpt-4o", tiles(t, ctx), ov1)
		// Text search with no match: an empty state that says what to do.
		do(t, ctx, chromedp.Navigate(base+"/?q=zanzibar-nothing"))
		waitLoaded(t, ctx)
		empty := eval[string](t, ctx, `(document.querySelector("[data-empty]") || {innerText: ""}).innerText`)
		if !strings.Contains(empty, "Connect") || !strings.Contains(empty, "genscope demo") || !strings.Contains(empty, "Clear the filters") {
			t.Errorf("empty state %q", empty)
		}
		screenshot(t, ctx, "overview-empty")
	})

	var page struct {
		Spans []spanJSON `json:"spans"`
	}
	getJSON(t, base+"/api/v1/spans?from=24h&limit=100", &page)

	t.Run("Spans", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/spans"))
		waitLoaded(t, ctx)
		if n := eval[int](t, ctx, `document.querySelectorAll("#spans tbody tr").length`); n != 18 {
			t.Errorf("%d rows, want 18", n)
		}
		table := eval[string](t, ctx, `document.getElementById("spans").textContent`)
		for _, want := range []string{"You are an AI assistant that acts as a travel guide.",
			"What are some recommended supplies for a camping trip in the mountains?", "(1 sentence with bullet points)"} {
			if !strings.Contains(table, want) {
				t.Errorf("spans table lacks %q", want)
			}
		}
		// Input is the user's last message: the system message has its
		// own column and is never the input's preview.
		cells := eval[[][]string](t, ctx, `[...document.querySelectorAll("#spans tbody tr")].map(r => [r.querySelector("td.c-system").textContent.trim(), r.querySelector("td.c-input").textContent.trim()])`)
		questions := 0
		for _, c := range cells {
			if c[0] != "" && strings.HasPrefix(c[1], c[0][:min(len(c[0]), 40)]) {
				t.Errorf("the input column repeats the system message: system %.60q, input %.60q", c[0], c[1])
			}
			if strings.Contains(c[1], "You are an AI assistant") {
				t.Errorf("the input column shows the system text: %.80q", c[1])
			}
			if strings.HasPrefix(c[1], "What are some recommended supplies for a camping trip") {
				questions++
			}
		}
		if questions < 3 {
			t.Errorf("the input column shows the user's question in %d rows, want it in each source's (at least 3): %q", questions, cells)
		}
		outputs := 0
		for _, s := range page.Spans {
			if s.Output != "" {
				outputs++
				if !strings.Contains(table, s.Output[:min(len(s.Output), 60)]) {
					t.Errorf("spans table lacks the output of %s: %q", s.SpanID, s.Output[:min(len(s.Output), 60)])
				}
			}
		}
		if outputs < 10 {
			t.Errorf("only %d calls with output", outputs)
		}
		screenshot(t, ctx, "spans")
		// Keyset paging: 18 calls in pages of 5, each once.
		do(t, ctx, chromedp.Navigate(base+"/spans?limit=5&sort=tokens"))
		waitLoaded(t, ctx)
		seen := map[string]bool{}
		for pageNo := 1; ; pageNo++ {
			ids := eval[[]string](t, ctx, `[...document.querySelectorAll("#spans tbody tr")].map(r => r.dataset.span)`)
			for _, id := range ids {
				if seen[id] {
					t.Errorf("page %d: span %s again", pageNo, id)
				}
				seen[id] = true
			}
			if eval[bool](t, ctx, `!document.getElementById("next-page")`) || pageNo > 10 {
				break
			}
			do(t, ctx, chromedp.Click(chromedp.ID("next-page")))
			waitLoaded(t, ctx)
		}
		if len(seen) != 18 {
			t.Errorf("paged through %d calls, want 18", len(seen))
		}
		if q := eval[string](t, ctx, `location.search`); !strings.Contains(q, "sort=tokens") || !strings.Contains(q, "cursor=") {
			t.Errorf("paging lost the sort: %q", q)
		}
		// Sorting by duration puts the API's slowest first.
		var slow struct {
			Spans []spanJSON `json:"spans"`
		}
		getJSON(t, base+"/api/v1/spans?from=24h&sort=duration&limit=3", &slow)
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#spans th button")].find(b => b.innerText.startsWith("Duration")).click()`))
		waitLoaded(t, ctx)
		if q := eval[string](t, ctx, `location.search`); !strings.Contains(q, "sort=duration") || strings.Contains(q, "cursor=") {
			t.Errorf("after the Duration header click: %q", q)
		}
		if id := eval[string](t, ctx, `document.querySelector("#spans tbody tr").dataset.span`); id != slow.Spans[0].SpanID {
			t.Errorf("sort=duration: first row %s, API %s", id, slow.Spans[0].SpanID)
		}
	})

	t.Run("Trace", func(t *testing.T) {
		// The OpenTelemetry instrumentation's first call: chat under generate_completion.
		var call spanJSON
		for _, s := range page.Spans {
			if s.Service == "lab-prompts-otel" && s.ParentSpanID != "" && s.Output != "" && strings.Contains(s.Input, "camping") {
				call = s
			}
		}
		if call.SpanID == "" {
			t.Fatal("no OpenTelemetry call with a parent in the API's spans")
		}
		do(t, ctx, chromedp.Navigate(base+"/spans"))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.Click(chromedp.CSS(`#spans tr[data-span="`+call.SpanID+`"] td.c-input`)))
		waitLoaded(t, ctx)
		if p := eval[string](t, ctx, `location.pathname`); p != "/traces/"+call.TraceID {
			t.Fatalf("after the click: %s", p)
		}
		names := eval[[]string](t, ctx, `[...document.querySelectorAll("#waterfall [data-name]")].map(e => e.dataset.name)`)
		if len(names) != 2 || names[0] != "generate_completion" || names[1] != "chat gpt-4o" {
			t.Errorf("waterfall = %q, want the parent generate_completion and its child chat gpt-4o", names)
		}
		conv := eval[string](t, ctx, `document.getElementById("conversation").innerText`)
		roles := eval[[]string](t, ctx, `[...document.querySelectorAll("#conversation [data-role]")].map(e => e.dataset.role)`)
		if !strings.Contains(conv, "travel guide") || !strings.Contains(conv, "camping trip") || !strings.Contains(conv, call.Output[:40]) {
			t.Errorf("conversation = %q", conv)
		}
		if len(roles) < 3 || roles[0] != "system" || roles[1] != "user" || roles[len(roles)-1] != "assistant" {
			t.Errorf("conversation roles = %q", roles)
		}
		if n := strings.Count(strings.Join(roles, " "), "system"); n != 1 {
			t.Errorf("%d SYSTEM blocks in the conversation, want 1: %q", n, roles)
		}
		detail := eval[string](t, ctx, `document.getElementById("span-detail").innerText`)
		for _, want := range []string{"Usage", "input", "Cost", "Finish reasons", "gpt-4o"} {
			if !strings.Contains(detail, want) {
				t.Errorf("span detail lacks %q: %s", want, detail)
			}
		}
		screenshot(t, ctx, "trace")
		// The parent, selected with the keyboard.
		do(t, ctx, chromedp.Focus(chromedp.CSS(`#waterfall [data-name="generate_completion"]`)), chromedp.KeyEvent("\r"))
		waitFor(t, ctx, `document.querySelector("#span-detail h3").innerText.startsWith("generate_completion")`)
	})

	t.Run("ErrorCall", func(t *testing.T) {
		var failed spanJSON
		for _, s := range page.Spans {
			if s.Status == "error" {
				failed = s
			}
		}
		do(t, ctx, chromedp.Navigate(base+"/traces/"+failed.TraceID+"?span="+failed.SpanID))
		waitLoaded(t, ctx)
		if e := eval[string](t, ctx, `(document.querySelector("#span-detail .error-box") || {innerText: ""}).innerText`); !strings.Contains(e, "Error") {
			t.Errorf("error call shows no error: %q", e)
		}
	})

	t.Run("KeyboardOpensTrace", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/spans"))
		waitLoaded(t, ctx)
		first := eval[string](t, ctx, `document.querySelector("#spans tbody tr").dataset.trace`)
		do(t, ctx, chromedp.Focus(chromedp.CSS(`#spans tbody tr`)), chromedp.KeyEvent("\r"))
		waitLoaded(t, ctx)
		if p := eval[string](t, ctx, `location.pathname`); p != "/traces/"+first {
			t.Errorf("Enter on the first row opened %s, want /traces/%s", p, first)
		}
	})

	t.Run("Sessions", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/sessions"))
		waitLoaded(t, ctx)
		n := eval[int](t, ctx, `document.querySelectorAll("#sessions tbody tr").length`)
		if n == 0 {
			t.Fatal("no sessions")
		}
		screenshot(t, ctx, "sessions")
		do(t, ctx, chromedp.Click(chromedp.CSS(`#sessions tbody tr`)))
		waitLoaded(t, ctx)
		if rows := eval[int](t, ctx, `document.querySelectorAll("#spans tbody tr").length`); rows == 0 {
			t.Error("session has no calls")
		}
		screenshot(t, ctx, "session")
	})

	t.Run("Connect", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/connect"))
		waitLoaded(t, ctx)
		if ok := eval[string](t, ctx, `document.getElementById("connect-status").dataset.ok`); ok != "true" {
			t.Errorf("status line not green after ingest")
		}
		text := eval[string](t, ctx, `document.getElementById("main").innerText`)
		for _, want := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + base, "InstrumentationKey=", "IngestionEndpoint=" + base + "/",
			`base_url="` + base + `/v1"`, `azure_endpoint="` + base + `"`, "gpt-4o-mini", "text-embedding-3-small"} {
			if !strings.Contains(text, want) {
				t.Errorf("connect page lacks %q", want)
			}
		}
		screenshot(t, ctx, "connect")
	})

	t.Run("AlertsThemeAndBadLink", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/alerts"))
		waitLoaded(t, ctx)
		if txt := eval[string](t, ctx, `document.getElementById("main").innerText`); !strings.Contains(txt, "No alert rules yet") || !strings.Contains(txt, "New alert rule") {
			t.Errorf("alerts page without rules: %q", txt)
		}
		screenshot(t, ctx, "alerts-empty")
		do(t, ctx, chromedp.Navigate(base+"/"))
		waitLoaded(t, ctx)
		before := eval[string](t, ctx, `document.documentElement.dataset.theme`)
		do(t, ctx, chromedp.Click(chromedp.ID("theme")))
		waitLoaded(t, ctx)
		after := eval[string](t, ctx, `document.documentElement.dataset.theme`)
		if before == after {
			t.Errorf("theme toggle: %s → %s", before, after)
		}
		screenshot(t, ctx, "overview-"+after)
		do(t, ctx, chromedp.Click(chromedp.ID("theme")))
		do(t, ctx, chromedp.Navigate(base+"/traces/not-a-trace-id"))
		waitLoaded(t, ctx)
		if txt := eval[string](t, ctx, `document.getElementById("main").innerText`); !strings.Contains(txt, "No such page") {
			t.Errorf("unknown page: %q", txt)
		}
	})

	// Let late console messages arrive.
	time.Sleep(200 * time.Millisecond)
	for _, p := range problems() {
		t.Errorf("browser console: %s", p)
	}
}
