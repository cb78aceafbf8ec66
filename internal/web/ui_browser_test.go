package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core's script from web/node_modules (a devDependency
// pinned by web/package-lock.json).
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../web/node_modules/axe-core/axe.min.js")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core is not installed: npm ci in web/ (%v)", err)
		}
		t.Skipf("axe-core is not installed: run npm ci in web/ (%v)", err)
	}
	return string(b)
}

// audit runs axe-core on the page and fails the test for each serious or
// critical violation.
func audit(t *testing.T, ctx context.Context, axe, page string) {
	t.Helper()
	if !eval[bool](t, ctx, `typeof window.axe === "object"`) {
		eval[bool](t, ctx, axe+";true")
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => v.impact + " " + v.id + ": " + v.help + " — " + v.nodes.slice(0, 4).map(n => n.target.join(" ") + (n.failureSummary ? " (" + n.failureSummary.replace(/\s+/g, " ").slice(0, 160) + ")" : "")).join(" | ")))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe: %v", page, err)
	}
	for _, x := range v {
		t.Errorf("%s: axe: %s", page, x)
	}
}

// fits fails the test when the page is wider than the viewport, naming the
// widest elements not inside a scrolling table box.
func fits(t *testing.T, ctx context.Context, page string, width int) {
	t.Helper()
	got := eval[int](t, ctx, `document.documentElement.scrollWidth`)
	if got <= width {
		return
	}
	culprits := eval[[]string](t, ctx, `[...document.querySelectorAll("body *")]
		.filter(e => e.getBoundingClientRect().right > innerWidth + 1 && !e.closest(".scroll, .offstage, .skip-link"))
		.slice(-5).map(e => e.tagName + "." + e.className + " right=" + Math.round(e.getBoundingClientRect().right))`)
	t.Errorf("%s at %d px: the page is %d px wide; too wide: %q", page, width, got, culprits)
}

// gatewayChat calls the simulated model through the gateway, which records
// the call (with its content) like any other.
func gatewayChat(t *testing.T, base, session, user, system, prompt string) {
	t.Helper()
	gatewayChatModel(t, base, "gpt-4o", session, user, system, prompt)
}

// gatewayChatModel is gatewayChat with another of the simulated models.
func gatewayChatModel(t *testing.T, base, model, session, user, system, prompt string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": model, "messages": []map[string]string{{"role": "system", "content": system}, {"role": "user", "content": prompt}}})
	req, _ := http.NewRequest("POST", base+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-session-id", session)
	req.Header.Set("x-user-id", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("gateway: %s", resp.Status)
	}
}

// flakyProxy stands between the browser and genscope: it can hold API
// answers back (a slow query) or refuse every connection (a server that
// went away).
type flakyProxy struct {
	URL   string
	delay atomic.Int64 // ns added before each /api/ answer
	down  atomic.Bool
}

func newFlakyProxy(t *testing.T, target string) *flakyProxy {
	t.Helper()
	u, _ := url.Parse(target)
	p := &flakyProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			// Drop the connection without an answer, as a dead server's port would.
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			return
		}
		if d := time.Duration(p.delay.Load()); d > 0 && strings.HasPrefix(r.URL.Path, "/api/") {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.URL = "http://" + ln.Addr().String()
	return p
}

// viewports are the sizes every page is tested at: a phone's and a desktop's.
var viewports = []struct {
	name   string
	w, h   int64
	mobile bool
}{{"390", 390, 844, true}, {"1440", 1440, 900, false}}

// TestBrowserPages drives every page at a phone's size (390×844) and a
// desktop's (1440×900): no page is wider than the screen, axe-core finds no
// serious or critical violation, and a screenshot of each goes to the
// artifacts directory. Then the behaviours of issue 18: the spans table's
// columns, refresh in place, long messages, the trace's totals and
// branches, export downloads, slow answers (cancel) and a server that went
// away (retry), sortable tables, the skip link, rules never evaluated, the
// Connect page's sources and demo line, and the HTML 404.
func TestBrowserPages(t *testing.T) {
	exe := chromium(t)
	requireBuilt(t)
	axe := axeSource(t)
	base := startApp(t)
	ingestLab(t, base)
	// A long conversation (Markdown, ~9,000 characters) through the gateway.
	var long strings.Builder
	long.WriteString("# Trip plan\n\nPlease review **every** item below and answer in one sentence.\n\n")
	for i := range 120 {
		long.WriteString("- day " + string(rune('A'+i%26)) + ": hike, camp, cook, `pack` and rest before the next stretch of the trail\n")
	}
	const sessionID = "conversation-2f1c9d7e-4b1a-4c55-9e1f-0a7b3c2d1e0f"
	gatewayChat(t, base, sessionID, "alice@example.com", "You are a careful trip planner.", long.String())
	gatewayChat(t, base, sessionID, "bob@example.com", "You are a careful trip planner.", "What should I pack?")
	var gw struct {
		Spans []spanJSON `json:"spans"`
	}
	for deadline := time.Now().Add(10 * time.Second); len(gw.Spans) < 2; {
		getJSON(t, base+"/api/v1/spans?from=1h&service=genscope-gateway", &gw)
		if time.Now().After(deadline) {
			t.Fatalf("gateway calls not recorded: %+v", gw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var longTrace string
	for _, s := range gw.Spans {
		if strings.Contains(s.Input, "Trip plan") {
			longTrace = s.TraceID
		}
	}
	// A rule that was never evaluated (disabled, so the engine leaves it alone).
	var rule struct {
		ID string `json:"id"`
	}
	authJSON(t, "POST", base+"/api/v1/alert-rules", "", map[string]any{"name": "slow calls", "signal": "duration_ms", "aggregation": "avg", "operator": ">", "threshold": 4000, "window": "5m", "enabled": false}, 201, &rule)
	var lab struct {
		Spans []spanJSON `json:"spans"`
	}
	getJSON(t, base+"/api/v1/spans?from=24h&service=lab-prompts-otel", &lab)
	var nested spanJSON // a call under a parent span
	for _, s := range lab.Spans {
		if s.ParentSpanID != "" {
			nested = s
		}
	}
	if nested.SpanID == "" {
		t.Fatal("no lab call with a parent span")
	}

	ctx, problems := browser(t, exe)
	pages := []struct{ name, path string }{
		{"overview", "/"},
		{"spans", "/spans"},
		{"trace-long", "/traces/" + longTrace},
		{"trace-nested", "/traces/" + nested.TraceID},
		{"sessions", "/sessions"},
		{"session", "/sessions/" + sessionID},
		{"users", "/users"},
		{"agents", "/agents"},
		{"connect", "/connect"},
		{"alerts", "/alerts"},
		{"alert-rule", "/alerts/rules/" + rule.ID},
		{"alert-rule-new", "/alerts/rules/new"},
		{"alerts-fired", "/alerts/fired"},
		{"alerts-history", "/alerts/history"},
		{"action-groups", "/alerts/action-groups"},
		{"action-group-new", "/alerts/action-groups/new"},
	}
	for _, size := range viewports {
		t.Run("Size"+size.name, func(t *testing.T) {
			do(t, ctx, chromedp.EmulateViewport(size.w, size.h))
			for _, p := range pages {
				do(t, ctx, chromedp.Navigate(base+p.path))
				waitLoaded(t, ctx)
				fits(t, ctx, p.name, int(size.w))
				audit(t, ctx, axe, p.name+"@"+size.name)
				screenshot(t, ctx, "page-"+p.name+"-"+size.name)
			}
			// The unknown path: the server's HTML page.
			do(t, ctx, chromedp.Navigate(base+"/no/such/page"))
			waitFor(t, ctx, `document.title.startsWith("Not found")`)
			fits(t, ctx, "not-found", int(size.w))
			audit(t, ctx, axe, "not-found@"+size.name)
			screenshot(t, ctx, "page-not-found-"+size.name)
			// The SPA's own not-found (a path shaped like no page).
			do(t, ctx, chromedp.Navigate(base+"/traces/not-a-trace-id"))
			waitLoaded(t, ctx)
			audit(t, ctx, axe, "spa-not-found@"+size.name)

			if !size.mobile {
				return
			}
			// Phone: the navigation is a compact bar with a menu, not the first screen.
			do(t, ctx, chromedp.Navigate(base+"/spans"))
			waitLoaded(t, ctx)
			if h := eval[float64](t, ctx, `document.querySelector(".sidebar").getBoundingClientRect().height`); h > 80 {
				t.Errorf("phone: the navigation is %v px tall", h)
			}
			if eval[bool](t, ctx, `document.getElementById("nav-list").getBoundingClientRect().height > 0`) {
				t.Error("phone: the page list shows before the menu is opened")
			}
			do(t, ctx, chromedp.Click(chromedp.ID("menu-btn")))
			waitFor(t, ctx, `document.getElementById("nav-list").getBoundingClientRect().height > 0 && document.getElementById("menu-btn").getAttribute("aria-expanded") === "true"`)
			// The table scrolls inside its card.
			if !eval[bool](t, ctx, `(s => s.scrollWidth > s.clientWidth)(document.querySelector(".table-card .scroll"))`) {
				t.Error("phone: the spans table does not scroll inside its card")
			}
			// The waterfall's bars keep a readable width; a long message stays short.
			do(t, ctx, chromedp.Navigate(base+"/traces/"+longTrace))
			waitLoaded(t, ctx)
			if w := eval[float64](t, ctx, `document.querySelector("#waterfall .wf-row:not(.wf-header) .wf-track").getBoundingClientRect().width`); w < 150 {
				t.Errorf("phone: waterfall track %v px wide", w)
			}
			if h := eval[float64](t, ctx, `document.getElementById("span-detail").getBoundingClientRect().height`); h > 3500 {
				t.Errorf("phone: the call's detail is %v px tall with its long message collapsed", h)
			}
		})
	}
	do(t, ctx, chromedp.EmulateViewport(1440, 900))

	t.Run("SpansColumns", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/spans"))
		waitLoaded(t, ctx)
		for _, col := range []string{"system", "input", "output"} {
			if w := eval[float64](t, ctx, `document.querySelector("#spans td.c-`+col+`").getBoundingClientRect().width`); w < 140 {
				t.Errorf("the %s column is %v px wide at 1440 px", col, w)
			}
		}
		if w := eval[float64](t, ctx, `Math.max(...[...document.querySelectorAll("#spans td.c-input, #spans td.c-output")].map(td => td.getBoundingClientRect().width))`); w < 220 {
			t.Errorf("input/output columns at most %v px wide", w)
		}
		// The table fits its card at 1440 px: nothing cut off at the edge.
		if eval[bool](t, ctx, `(s => s.scrollWidth > s.clientWidth + 1)(document.querySelector(".table-card .scroll"))`) {
			t.Errorf("at 1440 px the spans table is wider than its card: %s", eval[string](t, ctx, `document.querySelector(".table-card .scroll").clientWidth + ": " + [...document.querySelectorAll("#spans thead th")].map(th => th.className.trim() + "=" + Math.round(th.getBoundingClientRect().width)).join(" ")`))
		}
		// Rows from other days show their date: the table still fits. The
		// page's clock is moved three days ahead (the data stays where it is)
		// so this does not depend on the hour the test runs at.
		shift, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => { const D = Date, off = 3 * 86400e3;
			class S extends D { constructor(...a) { if (a.length === 0) super(D.now() + off); else super(...a); } static now() { return D.now() + off; } }
			globalThis.Date = S; })()`})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		do(t, ctx, chromedp.Navigate(base+"/spans?from="+url.QueryEscape(now.Add(-2*time.Hour).Format(time.RFC3339))+"&to="+url.QueryEscape(now.Add(time.Minute).Format(time.RFC3339))))
		waitLoaded(t, ctx)
		if n := eval[int](t, ctx, `document.querySelectorAll("#spans td.c-time .day").length`); n == 0 {
			t.Error("rows from another day show no date")
		}
		if eval[bool](t, ctx, `(s => s.scrollWidth > s.clientWidth + 1)(document.querySelector(".table-card .scroll"))`) {
			t.Errorf("at 1440 px with dated rows the spans table is wider than its card: %s", eval[string](t, ctx, `document.querySelector(".table-card .scroll").clientWidth + ": " + [...document.querySelectorAll("#spans thead th")].map(th => th.className.trim() + "=" + Math.round(th.getBoundingClientRect().width)).join(" ")`))
		}
		if _, err := chromedp.Call(ctx, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: shift.Identifier}); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, chromedp.Navigate(base+"/spans"))
		waitLoaded(t, ctx)
		if n := eval[int](t, ctx, `document.querySelectorAll("#spans .c-model .trunc[title]").length`); n == 0 {
			t.Error("model names carry no title")
		}
		// Hide the system message; the choice survives a reload.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#columns summary`)), chromedp.Click(chromedp.CSS(`#columns input[data-col="system"]`)))
		waitFor(t, ctx, `getComputedStyle(document.querySelector("#spans th.c-system")).display === "none"`)
		do(t, ctx, chromedp.Reload())
		waitLoaded(t, ctx)
		if eval[string](t, ctx, `getComputedStyle(document.querySelector("#spans td.c-system")).display`) != "none" {
			t.Error("the hidden column came back after a reload")
		}
		do(t, ctx, chromedp.Click(chromedp.CSS(`#columns summary`)), chromedp.Click(chromedp.CSS(`#columns input[data-col="system"]`)))
		waitFor(t, ctx, `getComputedStyle(document.querySelector("#spans th.c-system")).display !== "none"`)
		// Rows are rows: no role=link, no label replacing the cells.
		if n := eval[int](t, ctx, `document.querySelectorAll("[role=link], tr[aria-label]").length`); n != 0 {
			t.Errorf("%d elements with role=link or a row label", n)
		}
	})

	t.Run("ColumnResize", func(t *testing.T) {
		// Dragging the input header's corner widens the column, and the
		// width survives a reload.
		for _, size := range viewports {
			do(t, ctx, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(base+"/spans"))
			waitLoaded(t, ctx)
			const sel = `document.querySelector("#spans th.c-input .col-resize")`
			do(t, ctx, chromedp.Evaluate[chromedp.Void](sel+`.scrollIntoView({block: "center", inline: "center"})`))
			box := eval[[]float64](t, ctx, `(r => [r.right, r.bottom, r.width])(`+sel+`.getBoundingClientRect())`)
			x, y := box[0]-3, box[1]-3
			do(t, ctx, chromedp.MouseEvent("mousePressed", x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
				chromedp.MouseEvent("mouseMoved", x+60, y, chromedp.ButtonLeft), chromedp.MouseEvent("mouseMoved", x+120, y, chromedp.ButtonLeft),
				chromedp.MouseEvent("mouseReleased", x+120, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
			waitFor(t, ctx, sel+`.getBoundingClientRect().width > `+strconv.FormatFloat(box[2]+60, 'f', 0, 64))
			waitFor(t, ctx, `document.querySelector("#spans td.c-input").getBoundingClientRect().width > `+strconv.FormatFloat(box[2]+60, 'f', 0, 64))
			got := eval[float64](t, ctx, sel+`.getBoundingClientRect().width`)
			do(t, ctx, chromedp.Reload())
			waitLoaded(t, ctx)
			if w := eval[float64](t, ctx, sel+`.getBoundingClientRect().width`); w < got-2 || w > got+2 {
				t.Errorf("%s: the input column was %v px wide, %v px after a reload", size.name, got, w)
			}
			fits(t, ctx, "spans with a wide column", int(size.w))
			do(t, ctx, chromedp.Evaluate[chromedp.Void](`localStorage.removeItem("genscope.width.input")`))
		}
		do(t, ctx, chromedp.EmulateViewport(1440, 900))
	})

	t.Run("DarkTheme", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/"))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`localStorage.setItem("genscope.theme", "dark")`))
		for _, p := range []struct{ name, path string }{{"overview", "/"}, {"spans", "/spans"}, {"trace-long", "/traces/" + longTrace}, {"alerts", "/alerts"}, {"connect", "/connect"}} {
			do(t, ctx, chromedp.Navigate(base+p.path))
			waitLoaded(t, ctx)
			audit(t, ctx, axe, p.name+"@dark")
			screenshot(t, ctx, "page-"+p.name+"-dark-1440")
		}
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`localStorage.removeItem("genscope.theme")`))
	})

	t.Run("SavedViews", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/spans?status=error&from=1h&sort=duration"))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.Click(chromedp.CSS(`#views summary`)), chromedp.SendKeys(chromedp.ID("view-name"), "slow errors"), chromedp.Click(chromedp.ID("save-view")))
		waitFor(t, ctx, `document.querySelector('#views-list [data-view-name="slow errors"]')`)
		do(t, ctx, chromedp.Navigate(base+"/"))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.EmulateViewport(390, 844), chromedp.Click(chromedp.CSS(`#views summary`)))
		fits(t, ctx, "views menu open", 390)
		do(t, ctx, chromedp.Click(chromedp.CSS(`#views-list [data-view-name="slow errors"]`)))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.EmulateViewport(1440, 900))
		if p, q := eval[string](t, ctx, `location.pathname`), eval[string](t, ctx, `location.search`); p != "/spans" || !strings.Contains(q, "status=error") || !strings.Contains(q, "sort=duration") || !strings.Contains(q, "from=1h") {
			t.Errorf("the saved view opened %s%s", p, q)
		}
		if v := eval[string](t, ctx, `document.getElementById("f-status").value`); v != "error" {
			t.Errorf("the saved view's status filter: %q", v)
		}
	})

	t.Run("FilterBar", func(t *testing.T) {
		// The table shows what the API answers for the URL's filters.
		sameAsAPI := func(what string) {
			t.Helper()
			var page struct {
				Spans []spanJSON `json:"spans"`
			}
			getJSON(t, base+"/api/v1/spans"+eval[string](t, ctx, `location.search`), &page)
			if len(page.Spans) == 0 {
				t.Fatalf("%s: the filters select nothing: %s", what, eval[string](t, ctx, `location.search`))
			}
			if n := eval[int](t, ctx, `document.querySelectorAll("#spans tbody tr").length`); n != len(page.Spans) {
				t.Errorf("%s: the table shows %d calls, the API %d", what, n, len(page.Spans))
			}
		}
		for _, size := range viewports {
			do(t, ctx, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(base+"/spans?from=24h"))
			waitLoaded(t, ctx)
			// Multi-select with a contains search: find, tick, apply.
			do(t, ctx, chromedp.Click(chromedp.CSS(`#more-filters > summary`)), chromedp.Click(chromedp.CSS(`#ms-service > summary`)))
			waitFor(t, ctx, `document.querySelectorAll('#ms-service-list input[type=checkbox]').length >= 2`)
			do(t, ctx, chromedp.SendKeys(chromedp.ID("ms-service-search"), "OTEL"))
			waitFor(t, ctx, `[...document.querySelectorAll('#ms-service-list input')].every(c => c.value.toLowerCase().includes("otel"))`)
			fits(t, ctx, "service multi-select open", int(size.w))
			audit(t, ctx, axe, "filter-bar-multiselect@"+size.name)
			do(t, ctx, chromedp.Click(chromedp.CSS(`#ms-service-list input[value="lab-prompts-otel"]`)), chromedp.Click(chromedp.ID("ms-service-apply")))
			waitFor(t, ctx, `new URLSearchParams(location.search).getAll("service_in").join() === "lab-prompts-otel"`)
			waitLoaded(t, ctx)
			sameAsAPI("service_in@" + size.name)
			// A threshold: more than 1 ms, less than a minute.
			do(t, ctx, chromedp.SetValue(chromedp.ID("t-duration_ms_gt"), "1"),
				chromedp.Evaluate[chromedp.Void](`document.getElementById("t-duration_ms_gt").dispatchEvent(new Event("change"))`))
			waitFor(t, ctx, `new URLSearchParams(location.search).get("duration_ms_gt") === "1"`)
			waitLoaded(t, ctx)
			do(t, ctx, chromedp.SetValue(chromedp.ID("t-duration_ms_lt"), "60000"),
				chromedp.Evaluate[chromedp.Void](`document.getElementById("t-duration_ms_lt").dispatchEvent(new Event("change"))`))
			waitFor(t, ctx, `new URLSearchParams(location.search).get("duration_ms_lt") === "60000"`)
			waitLoaded(t, ctx)
			sameAsAPI("thresholds@" + size.name)
			// An attribute row: the lab's spans carry their server address.
			do(t, ctx, chromedp.SendKeys(chromedp.ID("attr-key"), "server.address"), chromedp.SetValue(chromedp.ID("attr-op"), "exists"),
				chromedp.Click(chromedp.ID("attr-add")))
			waitFor(t, ctx, `new URLSearchParams(location.search).getAll("attr").join() === "server.address"`)
			waitLoaded(t, ctx)
			sameAsAPI("attr@" + size.name)
			if n := eval[int](t, ctx, `document.querySelectorAll("#attr-list .attr-row").length`); n != 1 {
				t.Errorf("%s: %d attribute rows listed, want 1", size.name, n)
			}
			// A bad key is said, not sent.
			do(t, ctx, chromedp.SendKeys(chromedp.ID("attr-key"), `a"b`), chromedp.Click(chromedp.ID("attr-add")))
			waitFor(t, ctx, `document.getElementById("attr-error").textContent !== ""`)
			fits(t, ctx, "more filters set", int(size.w))
			audit(t, ctx, axe, "filter-bar@"+size.name)
			screenshot(t, ctx, "filter-bar-"+size.name)
			if s := eval[string](t, ctx, `document.querySelector("#more-filters > summary").textContent`); s != "More filters (4)" {
				t.Errorf("%s: summary %q", size.name, s)
			}
		}
		// The filters are part of a saved view and its link.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#views summary`)), chromedp.SendKeys(chromedp.ID("view-name"), "otel slow"), chromedp.Click(chromedp.ID("save-view")))
		waitFor(t, ctx, `document.querySelector('#views-list [data-view-name="otel slow"]')`)
		want := eval[string](t, ctx, `location.search`)
		do(t, ctx, chromedp.Navigate(base+"/"))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.Click(chromedp.CSS(`#views summary`)), chromedp.Click(chromedp.CSS(`#views-list [data-view-name="otel slow"]`)))
		waitLoaded(t, ctx)
		if q := eval[string](t, ctx, `location.search`); q != want {
			t.Errorf("the saved view opened %s, want %s", q, want)
		}
		if v := eval[string](t, ctx, `document.getElementById("t-duration_ms_gt").value`); v != "1" {
			t.Errorf("the saved view's threshold input holds %q", v)
		}
		sameAsAPI("saved view")
		// Leaving the spans page keeps the filters (the overview reads them too).
		do(t, ctx, chromedp.Click(chromedp.CSS(`a[href^="/?"]`)))
		waitLoaded(t, ctx)
		if q := eval[string](t, ctx, `location.search`); !strings.Contains(q, "service_in=lab-prompts-otel") || !strings.Contains(q, "attr=server.address") {
			t.Errorf("the overview lost the filters: %s", q)
		}
	})

	t.Run("RefreshInPlace", func(t *testing.T) {
		for _, size := range viewports {
			do(t, ctx, chromedp.EmulateViewport(size.w, size.h))
			refreshInPlace(t, ctx, base, size.name)
		}
		do(t, ctx, chromedp.EmulateViewport(1440, 900))
	})

	t.Run("LongMessageAndTrace", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/traces/"+longTrace))
		waitLoaded(t, ctx)
		totals := eval[string](t, ctx, `document.getElementById("trace-totals").innerText`)
		for _, want := range []string{"Duration", "Model calls", "Tokens", "Cost"} {
			if !strings.Contains(totals, want) {
				t.Errorf("trace totals lack %q: %s", want, totals)
			}
		}
		if u := eval[string](t, ctx, `document.querySelector("#waterfall .wf-row:not(.wf-header) .wf-usage").innerText`); !strings.Contains(u, "tok") || !strings.Contains(u, "$") {
			t.Errorf("waterfall row usage %q", u)
		}
		// A gateway call: the system message is shown once, then the user's.
		if roles := eval[[]string](t, ctx, `[...document.querySelectorAll("#conversation [data-role]")].map(e => e.dataset.role)`); len(roles) != 3 || roles[0] != "system" || roles[1] != "user" || roles[2] != "assistant" {
			t.Errorf("conversation roles = %q, want one system block, the user's message, the answer", roles)
		}
		// The user's long message is collapsed, rendered as Markdown.
		if !eval[bool](t, ctx, `!!document.querySelector("#conversation [data-role=user] .part-wrap.collapsed .md li")`) {
			t.Error("the long message is not collapsed Markdown")
		}
		h0 := eval[float64](t, ctx, `document.querySelector("#conversation [data-role=user] .part-wrap").getBoundingClientRect().height`)
		do(t, ctx, chromedp.Click(chromedp.CSS(`#conversation [data-role=user] .show-all`)))
		waitFor(t, ctx, `!document.querySelector("#conversation [data-role=user] .part-wrap.collapsed")`)
		if h1 := eval[float64](t, ctx, `document.querySelector("#conversation [data-role=user] .part-wrap").getBoundingClientRect().height`); h1 < 2*h0 {
			t.Errorf("show all: %v px → %v px", h0, h1)
		}
		do(t, ctx, chromedp.Click(chromedp.CSS(`#conversation [data-role=user] [data-view=raw]`)))
		if txt := eval[string](t, ctx, `document.querySelector("#conversation [data-role=user] .part.text").textContent`); !strings.HasPrefix(txt, "# Trip plan") {
			t.Errorf("raw view starts %q", txt[:min(len(txt), 40)])
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("#conversation [data-role=user] .md").length`); n != 0 {
			t.Errorf("the raw view still shows %d rendered blocks", n)
		}
		// JSON: the message as stored, which parses and holds the whole text.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#conversation [data-role=user] [data-view=json]`)))
		var msg struct {
			Role  string `json:"role"`
			Parts []struct {
				Type    string `json:"type"`
				Content string `json:"content"`
			} `json:"parts"`
		}
		if err := json.Unmarshal([]byte(eval[string](t, ctx, `document.querySelector("#conversation [data-role=user] pre.json").textContent`)), &msg); err != nil {
			t.Errorf("the JSON view does not parse: %v", err)
		} else if msg.Role != "user" || len(msg.Parts) != 1 || msg.Parts[0].Content != long.String() {
			t.Errorf("the JSON view: role %q, %d parts, content %.60q…", msg.Role, len(msg.Parts), msg.Parts)
		}
		if p := eval[[]string](t, ctx, `[...document.querySelectorAll("#conversation [data-role=user] [data-view]")].map(b => b.dataset.view + "=" + b.getAttribute("aria-pressed"))`); strings.Join(p, " ") != "markdown=false raw=false json=true" {
			t.Errorf("view buttons %q", p)
		}
		fits(t, ctx, "trace in the JSON view", 1440)
		do(t, ctx, chromedp.Click(chromedp.CSS(`#conversation [data-role=user] [data-view=markdown]`)))
		if !eval[bool](t, ctx, `!!document.querySelector("#conversation [data-role=user] .md li") && !document.querySelector("#conversation [data-role=user] pre.json")`) {
			t.Error("back to Markdown: no rendered list")
		}
		audit(t, ctx, axe, "trace-long-json-view")
		// A message that is JSON opens in the JSON view, pretty-printed.
		gatewayChat(t, base, "s-json", "carol", "Answer briefly.", `{"city":"Oslo","days":[1,2]}`)
		var js struct {
			Spans []spanJSON `json:"spans"`
		}
		for deadline := time.Now().Add(10 * time.Second); len(js.Spans) == 0; time.Sleep(100 * time.Millisecond) {
			getJSON(t, base+"/api/v1/spans?from=1h&session=s-json", &js)
			if time.Now().After(deadline) {
				t.Fatal("the JSON call was not recorded")
			}
		}
		do(t, ctx, chromedp.Navigate(base+"/traces/"+js.Spans[0].TraceID))
		waitLoaded(t, ctx)
		if txt := eval[string](t, ctx, `(document.querySelector("#conversation [data-role=user] pre.json") || {textContent: ""}).textContent`); !strings.Contains(txt, "\"city\": \"Oslo\"") || !strings.Contains(txt, "\n") {
			t.Errorf("a JSON message's default view: %q", txt)
		}
		if l := eval[string](t, ctx, `document.querySelector("#conversation [data-role=user] [data-view=json]").textContent`); l != "JSON" {
			t.Errorf("a JSON message's view button %q", l)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("#conversation .copy-msg").length`); n < 3 {
			t.Errorf("%d copy buttons", n)
		}
		// A branch collapses.
		do(t, ctx, chromedp.Navigate(base+"/traces/"+nested.TraceID))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.Click(chromedp.CSS(`#waterfall .twisty`)))
		waitFor(t, ctx, `document.querySelector('#waterfall [data-span="`+nested.SpanID+`"]').classList.contains("hidden")`)
		do(t, ctx, chromedp.Click(chromedp.CSS(`#waterfall .twisty`)))
		waitFor(t, ctx, `!document.querySelector('#waterfall [data-span="`+nested.SpanID+`"]').classList.contains("hidden")`)
	})

	t.Run("ExportDownloads", func(t *testing.T) {
		// download clicks an export link and returns the file it saved
		// (each into a directory of its own).
		download := func(format string) []byte {
			t.Helper()
			dir := t.TempDir()
			if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
				t.Fatal(err)
			}
			do(t, ctx, chromedp.Click(chromedp.CSS(`.export a[data-format="`+format+`"]`)))
			for deadline := time.Now().Add(15 * time.Second); ; {
				ms, _ := filepath.Glob(filepath.Join(dir, "*."+format))
				if len(ms) == 1 {
					if b, err := os.ReadFile(ms[0]); err == nil && len(b) > 0 {
						return b
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("no %s download in %s", format, dir)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		for _, size := range viewports {
			do(t, ctx, chromedp.EmulateViewport(size.w, size.h))
			do(t, ctx, chromedp.Navigate(base+"/spans?status=error"))
			waitLoaded(t, ctx)
			rows, err := csv.NewReader(bytes.NewReader(download("csv"))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 3 || rows[0][0] != "trace_id" || rows[1][6] != "error" || rows[2][6] != "error" {
				t.Errorf("%s: spans CSV with status=error: %q", size.name, rows)
			}
			if pq := download("parquet"); len(pq) < 8 || string(pq[:4]) != "PAR1" || string(pq[len(pq)-4:]) != "PAR1" {
				t.Errorf("%s: the spans Parquet download is not a Parquet file (%d bytes)", size.name, len(pq))
			}
			do(t, ctx, chromedp.Navigate(base+"/sessions/"+sessionID))
			waitLoaded(t, ctx)
			rows, err = csv.NewReader(bytes.NewReader(download("csv"))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 3 || rows[0][0] != "trace_id" {
				t.Errorf("%s: the session's CSV has %d rows, want a header and its 2 calls: %.300q", size.name, len(rows), rows)
			}
			do(t, ctx, chromedp.Navigate(base+"/traces/"+longTrace))
			waitLoaded(t, ctx)
			lines := bytes.Split(bytes.TrimSpace(download("jsonl")), []byte("\n"))
			var first struct {
				TraceID string `json:"trace_id"`
				Span    struct {
					InputMessages []any `json:"input_messages"`
				} `json:"span"`
			}
			if err := json.Unmarshal(lines[0], &first); err != nil || first.TraceID != longTrace || len(first.Span.InputMessages) == 0 {
				t.Errorf("%s: trace JSONL: %v %s", size.name, err, lines[0][:min(len(lines[0]), 200)])
			}
		}
		do(t, ctx, chromedp.EmulateViewport(1440, 900))
	})

	t.Run("SortSkipLinkRules", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/"))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.KeyEvent("\t"))
		if c := eval[string](t, ctx, `document.activeElement.className`); c != "skip-link" {
			t.Errorf("the first tab stop is %q, want the skip link", c)
		}
		do(t, ctx, chromedp.KeyEvent("\r"))
		if id := eval[string](t, ctx, `document.activeElement.id`); id != "main" {
			t.Errorf("the skip link moved focus to %q", id)
		}
		if ws := eval[string](t, ctx, `getComputedStyle(document.querySelector("[data-tile] .change")).whiteSpace`); ws != "nowrap" {
			t.Errorf("a tile's change wraps: white-space %s", ws)
		}
		// The latency axis speaks one unit: "0 ms … 800 ms" or "0 s … 2.5 s", never both.
		ticks := strings.Split(eval[string](t, ctx, `document.querySelector('[data-chart="Latency"]').dataset.yTicks || ""`), "|")
		units := map[string]bool{}
		for _, tk := range ticks {
			num, unit, ok := strings.Cut(tk, " ")
			if _, err := strconv.ParseFloat(num, 64); !ok || err != nil || (unit != "ms" && unit != "s" && unit != "min") {
				t.Errorf("latency axis label %q", tk)
			}
			units[unit] = true
		}
		if len(ticks) < 2 || len(units) != 1 {
			t.Errorf("latency axis labels %q: want one unit", ticks)
		}
		// The models table sorts by a click on a header, and keeps its
		// order when auto-refresh draws it again.
		gatewayChatModel(t, base, "gpt-4o-mini", "s-mini", "dave", "Be brief.", "Which tent?")
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`localStorage.setItem("genscope.refresh_ms", "800")`), chromedp.Navigate(base+"/?refresh=1"))
		waitLoaded(t, ctx)
		models := func() []string {
			return eval[[]string](t, ctx, `[...document.querySelectorAll("#models tbody tr")].map(r => r.dataset.model)`)
		}
		sortBy := func(table, label string) {
			t.Helper()
			do(t, ctx, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#`+table+` th button")].find(b => b.textContent === "`+label+`").click()`))
		}
		sortBy("models", "Model")
		if got := models(); strings.Join(got, ",") != "gpt-4o-mini,gpt-4o" {
			t.Errorf("models by name, descending: %q", got)
		}
		sortBy("models", "Model")
		if got := models(); strings.Join(got, ",") != "gpt-4o,gpt-4o-mini" {
			t.Errorf("models by name, ascending: %q", got)
		}
		sortBy("models", "Calls")
		sortBy("models", "Calls") // ascending: gpt-4o-mini's one call first
		if got := models(); strings.Join(got, ",") != "gpt-4o-mini,gpt-4o" {
			t.Errorf("models by calls, ascending: %q", got)
		}
		before := tiles(t, ctx)["calls"]
		gatewayChat(t, base, "s-sort", "dave", "Be brief.", "And a stove?")
		waitFor(t, ctx, `document.querySelector("[data-tile=calls]").dataset.value !== "`+before+`"`)
		waitFor(t, ctx, `document.querySelectorAll("#models tbody tr").length === 2`)
		if got, s := models(), eval[string](t, ctx, `[...document.querySelectorAll("#models th")].map(th => th.getAttribute("aria-sort")).join()`); strings.Join(got, ",") != "gpt-4o-mini,gpt-4o" || s != "none,ascending,none,none,none,none,none" {
			t.Errorf("after a refresh the models table is %q, its headers %s", got, s)
		}
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`localStorage.removeItem("genscope.refresh_ms")`))
		do(t, ctx, chromedp.Navigate(base+"/sessions"))
		waitLoaded(t, ctx)
		sorted := func() []float64 {
			return eval[[]float64](t, ctx, `[...document.querySelectorAll("#sessions tbody tr")].map(r => Number(r.cells[2].dataset.sort))`)
		}
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#sessions th button")].find(b => b.textContent === "Calls").click()`))
		got := sorted()
		for i := 1; i < len(got); i++ {
			if got[i] > got[i-1] {
				t.Fatalf("sessions by calls, descending: %v", got)
			}
		}
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#sessions th button")].find(b => b.textContent === "Calls").click()`))
		got = sorted()
		for i := 1; i < len(got); i++ {
			if got[i] < got[i-1] {
				t.Fatalf("sessions by calls, ascending: %v", got)
			}
		}
		// The full session id on a wide screen.
		if w := eval[bool](t, ctx, `[...document.querySelectorAll("#sessions .sid")].some(a => a.textContent === "`+sessionID+`" && a.scrollWidth <= a.clientWidth)`); !w {
			t.Error("the session id is cut at 1440 px")
		}
		do(t, ctx, chromedp.Navigate(base+"/alerts"))
		waitLoaded(t, ctx)
		if s := eval[string](t, ctx, `document.querySelector('#rules tr[data-rule="`+rule.ID+`"] td.state').innerText`); s != "not evaluated yet" {
			t.Errorf("a rule never evaluated shows %q", s)
		}
		// Actions stay within the card at 1440 px.
		if eval[bool](t, ctx, `(s => s.scrollWidth > s.clientWidth + 1)(document.querySelector("#rules").parentElement)`) {
			t.Error("the rules table is wider than its card at 1440 px")
		}
		// The rules table sorts by name and by state; Actions is no sort key.
		var other struct {
			ID string `json:"id"`
		}
		authJSON(t, "POST", base+"/api/v1/alert-rules", "", map[string]any{"name": "many errors", "signal": "duration_ms", "aggregation": "max", "operator": ">", "threshold": 9000, "window": "5m", "enabled": false}, 201, &other)
		do(t, ctx, chromedp.Reload())
		waitLoaded(t, ctx)
		ruleNames := func() string {
			return strings.Join(eval[[]string](t, ctx, `[...document.querySelectorAll("#rules tbody tr")].map(r => r.cells[0].innerText.split("\n")[0].trim())`), ",")
		}
		sortBy("rules", "Name")
		if got := ruleNames(); got != "slow calls,many errors" {
			t.Errorf("rules by name, descending: %q", got)
		}
		sortBy("rules", "Name")
		if got := ruleNames(); got != "many errors,slow calls" {
			t.Errorf("rules by name, ascending: %q", got)
		}
		if n := eval[int](t, ctx, `[...document.querySelectorAll("#rules th")].filter(th => th.textContent === "Actions" && !th.querySelector("button") && !th.hasAttribute("aria-sort")).length`); n != 1 {
			t.Error("the Actions column offers sorting")
		}
		fits(t, ctx, "alerts sorted", 1440)
		authJSON(t, "DELETE", base+"/api/v1/alert-rules/"+other.ID, "", nil, 204, nil)
		do(t, ctx, chromedp.Navigate(base+"/alerts/rules/"+rule.ID))
		waitLoaded(t, ctx)
		if l := eval[string](t, ctx, `document.getElementById("rule-evaluations").getAttribute("aria-label") || ""`); l == "" {
			t.Error("the evaluations input has no label")
		}
	})

	t.Run("Connect", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/connect"))
		waitLoaded(t, ctx)
		if d := eval[string](t, ctx, `document.getElementById("code-demo").innerText`); !strings.Contains(d, "genscope demo --server "+base) {
			t.Errorf("demo line for a non-default address: %q", d)
		}
		src := eval[string](t, ctx, `document.getElementById("connect-status").dataset.sources`)
		for _, want := range []string{"genscope-gateway", "lab-prompts-otel"} {
			if !strings.Contains(src, want) {
				t.Errorf("Connect names sources %q, lacks %s", src, want)
			}
		}
		if txt := eval[string](t, ctx, `document.getElementById("sources").innerText`); !strings.Contains(txt, "the gateway's own spans") {
			t.Errorf("sources: %q", txt)
		}
	})

	t.Run("UsersPage", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/users"))
		waitLoaded(t, ctx)
		users := eval[[]string](t, ctx, `[...document.querySelectorAll("#users tbody tr")].map(r => r.dataset.user)`)
		if len(users) < 2 || !strings.Contains(strings.Join(users, ","), "alice@example.com") {
			t.Errorf("users %q", users)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("#top-users li").length`); n == 0 {
			t.Error("no top users by cost")
		}
		if s := eval[string](t, ctx, `document.querySelector('#users tr[data-user="alice@example.com"] td:last-child').innerText`); !strings.Contains(s, "ago") {
			t.Errorf("alice last seen %q", s)
		}
		// Last seen comes with the users list: one request, not one per user.
		var bd struct {
			Rows []struct {
				Key      string    `json:"key"`
				LastSeen time.Time `json:"last_seen"`
			} `json:"rows"`
		}
		getJSON(t, base+"/api/v1/breakdown?by=user&from=24h", &bd)
		for _, r := range bd.Rows {
			if r.Key == "alice@example.com" {
				if got := eval[string](t, ctx, `document.querySelector('#users tr[data-user="alice@example.com"] td:last-child').dataset.sort`); got == "" || !mustTime(t, got).Equal(r.LastSeen) {
					t.Errorf("alice last seen %q on the page, %v from the API", got, r.LastSeen)
				}
			}
		}
		reqs := eval[[]string](t, ctx, `performance.getEntriesByType("resource").map(e => e.name).filter(n => n.includes("/api/v1/"))`)
		spans, breakdowns := 0, 0
		for _, r := range reqs {
			spans += strings.Count(r, "/api/v1/spans")
			breakdowns += strings.Count(r, "/api/v1/breakdown")
		}
		if spans != 0 || breakdowns != 1 {
			t.Errorf("the users page asked for spans %d times and the breakdown %d times, want 0 and 1: %q", spans, breakdowns, reqs)
		}
	})

	t.Run("ChartsZoomAndLegend", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/?from=1h"))
		waitLoaded(t, ctx)
		if n := eval[int](t, ctx, `document.querySelectorAll('[data-chart="Calls by status"] .u-legend .u-series').length`); n < 3 {
			t.Errorf("calls legend has %d entries (want ok, error, previous period)", n)
		}
		if !eval[bool](t, ctx, `!!document.querySelector('[data-chart="Cost by model"] canvas')`) {
			t.Error("no cost-by-model chart")
		}
		// A legend click hides its series.
		do(t, ctx, chromedp.Focus(chromedp.CSS(`[data-chart="Calls by status"] .u-legend .u-series:nth-child(3) th`)), chromedp.KeyEvent("\r"))
		waitFor(t, ctx, `document.querySelector('[data-chart="Calls by status"] .u-legend .u-series:nth-child(3)').classList.contains("u-off")`)
		if p := eval[string](t, ctx, `document.querySelector('[data-chart="Calls by status"] .u-legend .u-series:nth-child(3) th').getAttribute("aria-pressed")`); p != "false" {
			t.Errorf("a hidden series' legend entry says aria-pressed=%s", p)
		}
		// Dragging across a chart zooms the time range.
		box := eval[[]float64](t, ctx, `(r => [r.left, r.top, r.width, r.height])(document.querySelector('[data-chart="Tokens"] .u-over').getBoundingClientRect())`)
		y := box[1] + box[3]/2
		do(t, ctx, chromedp.MouseEvent("mousePressed", box[0]+box[2]*0.3, y, chromedp.ButtonLeft, chromedp.ClickCount(1)), chromedp.MouseEvent("mouseMoved", box[0]+box[2]*0.45, y, chromedp.ButtonLeft), chromedp.MouseEvent("mouseMoved", box[0]+box[2]*0.6, y, chromedp.ButtonLeft), chromedp.MouseEvent("mouseReleased", box[0]+box[2]*0.6, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
		waitFor(t, ctx, `new URLSearchParams(location.search).get("to") !== null && document.getElementById("range").value === "custom"`)
		waitLoaded(t, ctx)
	})

	t.Run("SlowAnswerCancelAndServerAway", func(t *testing.T) {
		for _, size := range viewports {
			do(t, ctx, chromedp.EmulateViewport(size.w, size.h))
			px := newFlakyProxy(t, base)
			do(t, ctx, chromedp.Navigate(px.URL+"/spans"))
			waitLoaded(t, ctx)
			px.delay.Store(int64(20 * time.Second))
			do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('nav a[href^="/sessions"]').click()`))
			waitFor(t, ctx, `(e => e && /Loading/.test(e.innerText) && /\d s/.test(e.innerText))(document.querySelector("#main .loading"))`)
			screenshot(t, ctx, "state-slow-"+size.name)
			do(t, ctx, chromedp.Click(chromedp.ID("cancel-load")))
			waitFor(t, ctx, `document.getElementById("main").dataset.loaded === "cancelled"`)
			px.delay.Store(0)
			// The server goes away: a clear message, then it recovers by itself.
			px.down.Store(true)
			do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('nav a[href^="/spans"]').click()`))
			waitFor(t, ctx, `!!document.getElementById("offline")`)
			if txt := eval[string](t, ctx, `document.getElementById("offline").innerText`); !strings.Contains(txt, "not answering") || strings.Contains(txt, "Failed to fetch") {
				t.Errorf("%s: offline message %q", size.name, txt)
			}
			audit(t, ctx, axe, "offline@"+size.name)
			screenshot(t, ctx, "state-offline-"+size.name)
			px.down.Store(false)
			waitFor(t, ctx, `document.querySelector("main[data-loaded=true] #spans")`)
			fits(t, ctx, "recovered", int(size.w))
		}
		do(t, ctx, chromedp.EmulateViewport(1440, 900))
	})

	time.Sleep(200 * time.Millisecond)
	for _, p := range problems() {
		// The proxy's dropped connections are the point of the offline step.
		if strings.Contains(p, "ERR_EMPTY_RESPONSE") || strings.Contains(p, "ERR_CONNECTION") || strings.Contains(p, "Failed to load resource") {
			continue
		}
		t.Errorf("browser console: %s", p)
	}
}

// refreshInPlace: auto-refresh updates the tiles in place while a
// half-typed filter (the filter bar's, then the more filters') keeps its
// text, its focus and stays out of the URL.
func refreshInPlace(t *testing.T, ctx context.Context, base, size string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(base+"/?refresh=1"))
	waitLoaded(t, ctx)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`localStorage.setItem("genscope.refresh_ms", "800")`), chromedp.Reload())
	waitLoaded(t, ctx)
	before := tiles(t, ctx)["calls"]
	do(t, ctx, chromedp.Click(chromedp.ID("f-service")), chromedp.SendKeys(chromedp.ID("f-service"), "lab-pro"))
	gatewayChat(t, base, "s-refresh", "carol", "Be brief.", "One more question?")
	// The tiles change in place while the half-typed filter stays.
	waitFor(t, ctx, `document.querySelector("[data-tile=calls]").dataset.value !== "`+before+`"`)
	if v, id := eval[string](t, ctx, `document.getElementById("f-service").value`), eval[string](t, ctx, `document.activeElement.id`); v != "lab-pro" || id != "f-service" {
		t.Errorf("%s: after a refresh: the filter input holds %q, focus on %q", size, v, id)
	}
	if q := eval[string](t, ctx, `location.search`); strings.Contains(q, "service=") {
		t.Errorf("%s: refresh committed the half-typed filter: %s", size, q)
	}
	// The same for the more filters' inputs: a half-typed attribute key.
	do(t, ctx, chromedp.Navigate(base+"/?refresh=1"))
	waitLoaded(t, ctx)
	before = tiles(t, ctx)["calls"]
	// (Opened by script: the service input's suggestions may cover the summary.)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("more-filters").open = true; document.getElementById("attr-key").focus()`),
		chromedp.KeyEvent("http.ro"))
	gatewayChat(t, base, "s-refresh", "carol", "Be brief.", "And another?")
	waitFor(t, ctx, `document.querySelector("[data-tile=calls]").dataset.value !== "`+before+`"`)
	if v, id, open := eval[string](t, ctx, `document.getElementById("attr-key").value`), eval[string](t, ctx, `document.activeElement.id`), eval[bool](t, ctx, `document.getElementById("more-filters").open`); v != "http.ro" || id != "attr-key" || !open {
		t.Errorf("%s: after a refresh: the attribute key holds %q, focus on %q, more filters open %v", size, v, id, open)
	}
	if eval[bool](t, ctx, `!!document.querySelector("[data-empty]")`) {
		t.Errorf("%s: refresh showed the empty state", size)
	}
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`localStorage.removeItem("genscope.refresh_ms")`))
}

// mustTime parses an RFC 3339 time.
func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}
