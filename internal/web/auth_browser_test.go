package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/genscope/genscope/internal/config"
)

const adminToken = "admin-token-browser-7731"

// authJSON calls the API with a bearer token, checks the status and
// decodes the answer into out (when given).
func authJSON(t *testing.T, method, url, token string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s, want %d", method, url, resp.Status, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
}

// login signs in through the login page, which the dashboard shows
// instead of any page while nobody is signed in.
func login(t *testing.T, ctx context.Context, user, password string) {
	t.Helper()
	waitFor(t, ctx, `document.getElementById("login")`)
	do(t, ctx, clearAndType("login-user", user), clearAndType("login-password", password), chromedp.Click(chromedp.ID("login-submit")))
}

// TestBrowserAuth drives the dashboard with auth on: the login page, a
// viewer without the content permission (one project's numbers, content
// hidden, text search off), sign out, and an admin who creates a project
// and a key (shown once) and sees the keys-required guidance on Connect.
func TestBrowserAuth(t *testing.T) {
	exe := chromium(t)
	requireBuilt(t)
	base := startAppWith(t, func(c *config.Config) {
		c.Auth = config.Auth{Enabled: true, AdminToken: config.Secret(adminToken), SessionTTL: config.Duration(time.Hour)}
	})
	api := base + "/api/v1/"

	// Projects a and b, each with an ingest key and different traffic; a
	// viewer of a without content, and an administrator.
	keys := map[string]string{}
	for _, p := range []string{"a", "b"} {
		authJSON(t, "POST", api+"projects", adminToken, map[string]any{"name": p}, 201, nil)
		var k struct {
			Key string `json:"key"`
		}
		authJSON(t, "POST", api+"projects/"+p+"/keys", adminToken, map[string]any{"scope": "ingest"}, 201, &k)
		keys[p] = k.Key
	}
	ingestLabKey(t, base, keys["a"])
	postFixtureKey(t, base, keys["b"], "lab-traceloop.traces.json", "", time.Now().Add(-5*time.Minute))
	const viewerPass, adminPass = "viewer-pass-5519", "admin-pass-8802"
	authJSON(t, "POST", api+"users", adminToken, map[string]any{"name": "vic", "password": viewerPass,
		"grants": map[string]any{"a": map[string]any{"role": "viewer"}}}, 201, nil)
	authJSON(t, "POST", api+"users", adminToken, map[string]any{"name": "root", "password": adminPass, "admin": true}, 201, nil)
	var ovA, ovB overviewJSON
	authJSON(t, "GET", api+"overview?from=24h&project=a", adminToken, nil, 200, &ovA)
	authJSON(t, "GET", api+"overview?from=24h&project=b", adminToken, nil, 200, &ovB)
	if ovA.Calls != 18 || ovB.Calls == 0 || ovB.Calls == ovA.Calls {
		t.Fatalf("ingested: a %+v, b %+v", ovA, ovB)
	}
	// A rule that never fires, evaluated once: the rule list shows what
	// the evaluation saw.
	var rule struct {
		ID string `json:"id"`
	}
	authJSON(t, "POST", api+"alert-rules", adminToken, map[string]any{"name": "quiet", "signal": "calls", "operator": ">", "threshold": 1e6, "window": "1h", "filters": map[string]any{"project": "a"}}, 201, &rule)
	authJSON(t, "POST", api+"alert-rules/"+rule.ID+"/evaluate", adminToken, nil, 200, nil)
	// A user name with too many failed logins is throttled.
	for range 10 {
		authJSON(t, "POST", api+"login", "", map[string]any{"username": "mallory", "password": "wrong"}, 401, nil)
	}

	ctx, problems := browser(t, exe)

	t.Run("Throttled", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/"))
		login(t, ctx, "mallory", "wrong")
		waitFor(t, ctx, `document.getElementById("login-error").textContent !== ""`)
		if msg := eval[string](t, ctx, `document.getElementById("login-error").textContent`); !strings.Contains(msg, "Too many failed sign-ins") {
			t.Errorf("throttled login says %q", msg)
		}
	})

	t.Run("Viewer", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/spans?from=24h"))
		screenshot(t, ctx, "auth-login")
		login(t, ctx, "vic", viewerPass)
		// Back on the page asked for, with project a's data.
		waitLoaded(t, ctx)
		if p := eval[string](t, ctx, `location.pathname`); p != "/spans" {
			t.Errorf("after login, at %s; want /spans", p)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("#spans tbody tr").length`); n == 0 {
			t.Error("no spans after login")
		}
		if got := eval[string](t, ctx, `document.getElementById("content-hidden").textContent`); !strings.Contains(got, "you don't have permission to see message content") {
			t.Errorf("content notice %q", got)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("#spans td.c-input[data-hidden]").length`); n != eval[int](t, ctx, `document.querySelectorAll("#spans tbody tr").length`) {
			t.Errorf("%d content cells say hidden", n)
		}
		if !eval[bool](t, ctx, `document.getElementById("f-q").disabled`) {
			t.Error("text search is enabled without the content permission")
		}
		screenshot(t, ctx, "auth-viewer-spans")
		// One project: no picker; the user menu names user and project.
		if eval[bool](t, ctx, `!!document.getElementById("project")`) {
			t.Error("a project picker with one readable project")
		}
		if u, p := eval[string](t, ctx, `document.getElementById("user-name").textContent`), eval[string](t, ctx, `document.getElementById("current-project").textContent`); u != "vic" || p != "a" {
			t.Errorf("user menu: user %q project %q", u, p)
		}
		// The trace view hides the conversation too.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#spans tbody tr td.c-duration`)))
		waitFor(t, ctx, `location.pathname.startsWith("/traces/") && document.querySelector("main[data-loaded=true]")`)
		waitFor(t, ctx, `document.getElementById("content-hidden")`)

		do(t, ctx, chromedp.Navigate(base+"/"))
		waitLoaded(t, ctx)
		checkTiles(t, "viewer of a", tiles(t, ctx), ovA)

		do(t, ctx, chromedp.Click(chromedp.CSS(`#user-menu summary`)), chromedp.Click(chromedp.ID("sign-out")))
		waitFor(t, ctx, `document.getElementById("login")`)
	})

	t.Run("Admin", func(t *testing.T) {
		login(t, ctx, "root", adminPass)
		waitLoaded(t, ctx)
		// Several projects: the picker, kept in the URL.
		waitFor(t, ctx, `document.getElementById("project")`)
		do(t, ctx, chromedp.SetValue(chromedp.ID("project"), "b"), chromedp.Evaluate[chromedp.Void](`document.getElementById("project").dispatchEvent(new Event("change"))`))
		waitFor(t, ctx, `new URLSearchParams(location.search).get("project") === "b" && document.querySelector("main[data-loaded=true]")`)
		checkTiles(t, "admin, project b", tiles(t, ctx), ovB)
		do(t, ctx, chromedp.Click(chromedp.CSS(`nav a[href^="/spans"]`)))
		waitFor(t, ctx, `location.pathname === "/spans" && new URLSearchParams(location.search).get("project") === "b"`)
		waitLoaded(t, ctx)
		if eval[bool](t, ctx, `!!document.getElementById("content-hidden")`) {
			t.Error("content hidden from an administrator")
		}

		// A new project and an ingest key from the Projects page.
		do(t, ctx, chromedp.Click(chromedp.CSS(`nav a[href^="/projects"]`)))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.SendKeys(chromedp.ID("new-project"), "team-c"), chromedp.Click(chromedp.ID("create-project-btn")))
		waitFor(t, ctx, `location.pathname === "/projects/team-c" && document.querySelector("main[data-loaded=true]")`)
		do(t, ctx, chromedp.SendKeys(chromedp.ID("key-name"), "checkout"), chromedp.Click(chromedp.ID("create-key-btn")))
		waitFor(t, ctx, `document.querySelector("#code-new-key code") && document.querySelector("#keys tr[data-key]")`)
		newKey := eval[string](t, ctx, `document.querySelector("#code-new-key code").textContent`)
		if !strings.HasPrefix(newKey, "gsk_") {
			t.Fatalf("new key %q", newKey)
		}
		if txt := eval[string](t, ctx, `document.getElementById("new-key").innerText`); !strings.Contains(txt, "shown only once") {
			t.Errorf("no once-only warning: %q", txt)
		}
		screenshot(t, ctx, "auth-new-key")
		// The key writes into team-c.
		postFixtureKey(t, base, newKey, "lab-traceloop.traces.json", "", time.Now().Add(-time.Minute))
		// Shown once: after a reload only the id and prefix are listed.
		do(t, ctx, chromedp.Reload())
		waitLoaded(t, ctx)
		if html := eval[string](t, ctx, `document.body.innerHTML`); strings.Contains(html, newKey) {
			t.Error("the key is shown again after a reload")
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("#keys tr[data-key]").length`); n != 1 {
			t.Errorf("%d keys listed, want 1", n)
		}
		// Revoke asks first.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#keys tr[data-key] .revoke`)))
		waitFor(t, ctx, `document.querySelector("#keys .confirm-revoke")`)
		do(t, ctx, chromedp.Click(chromedp.CSS(`#keys .confirm-revoke`)))
		waitFor(t, ctx, `!document.querySelector("#keys tr[data-key]")`)

		// Connect explains the keys.
		do(t, ctx, chromedp.Click(chromedp.CSS(`nav a[href^="/connect"]`)))
		waitLoaded(t, ctx)
		if txt := eval[string](t, ctx, `document.getElementById("keys-required").innerText`); !strings.Contains(txt, "Projects page") {
			t.Errorf("keys-required card: %q", txt)
		}
		if txt := eval[string](t, ctx, `document.getElementById("code-otlp-http").innerText`); !strings.Contains(txt, "OTEL_EXPORTER_OTLP_HEADERS=x-genscope-key=<YOUR_INGEST_KEY>") {
			t.Errorf("OTLP variables: %q", txt)
		}
		screenshot(t, ctx, "auth-connect")

		// The rule that never fired shows its last evaluation.
		do(t, ctx, chromedp.Navigate(base+"/alerts"))
		waitLoaded(t, ctx)
		if v := eval[string](t, ctx, `(document.querySelector('#rules tr[data-rule="`+rule.ID+`"] .last .value') || {dataset: {}}).dataset.value || ""`); v != "14" {
			t.Errorf("rule row without its last evaluation: %s", eval[string](t, ctx, `document.querySelector('#rules tr[data-rule="`+rule.ID+`"]').innerText`))
		}
	})

	time.Sleep(200 * time.Millisecond)
	host := "http://" + strings.TrimPrefix(base, "http://")
	for _, p := range problems() {
		// Chromium logs every 4xx answer to fetch: the status asked before
		// anyone is signed in (401), and the throttled login (429).
		if strings.Contains(p, "status of 401 (Unauthorized) ("+host+"/api/v1/status:") ||
			strings.Contains(p, "status of 429 (Too Many Requests) ("+host+"/api/v1/login:") {
			continue
		}
		t.Errorf("browser console: %s", p)
	}
}

// TestBrowserFirstRun: auth on with only the admin token configured. The
// token signs in from the login page and creates the first user; the
// Accounts page creates another and resets a password; a viewer is not
// offered what their role may not do. Each of these pages passes axe-core
// and fits a phone's screen.
func TestBrowserFirstRun(t *testing.T) {
	exe := chromium(t)
	requireBuilt(t)
	axe := axeSource(t)
	base := startAppWith(t, func(c *config.Config) {
		c.Auth = config.Auth{Enabled: true, AdminToken: config.Secret(adminToken), SessionTTL: config.Duration(time.Hour)}
	})
	api := base + "/api/v1/"
	var rule struct {
		ID string `json:"id"`
	}
	authJSON(t, "POST", api+"alert-rules", adminToken, map[string]any{"name": "slow", "signal": "duration_ms", "aggregation": "avg", "operator": ">", "threshold": 4000, "window": "5m", "enabled": false}, 201, &rule)
	ctx, problems := browser(t, exe)
	check := func(name string) {
		t.Helper()
		for _, w := range []int64{390, 1440} {
			do(t, ctx, chromedp.EmulateViewport(w, 900))
			fits(t, ctx, name, int(w))
			audit(t, ctx, axe, name+"@"+map[int64]string{390: "390", 1440: "1440"}[w])
			screenshot(t, ctx, "auth-"+name+"-"+map[int64]string{390: "390", 1440: "1440"}[w])
		}
	}

	do(t, ctx, chromedp.Navigate(base+"/alerts"))
	waitFor(t, ctx, `document.getElementById("login")`)
	check("login")
	// A wrong token is refused with a clear message.
	do(t, ctx, chromedp.Click(chromedp.ID("login-mode")), clearAndType("login-token", "not-the-token"), chromedp.Click(chromedp.ID("login-submit")))
	waitFor(t, ctx, `document.getElementById("login-error").textContent !== ""`)
	if msg := eval[string](t, ctx, `document.getElementById("login-error").textContent`); !strings.Contains(msg, "not the admin token") {
		t.Errorf("wrong token: %q", msg)
	}
	do(t, ctx, clearAndType("login-token", adminToken), chromedp.Click(chromedp.ID("login-submit")))
	waitFor(t, ctx, `document.getElementById("first-run")`)
	check("first-run")
	if html := eval[string](t, ctx, `document.documentElement.outerHTML`); strings.Contains(html, adminToken) {
		t.Error("the admin token is in the page")
	}
	const ownerPass = "owner-pass-4411"
	do(t, ctx, clearAndType("first-user", "owner"), clearAndType("first-password", ownerPass), chromedp.Click(chromedp.ID("first-submit")))
	// Creating the user and signing in hash the password twice (bcrypt at
	// the configured cost: seconds under -race on a busy machine).
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.querySelector("main[data-loaded]") || (document.getElementById("first-error") || {}).textContent > ""`,
		chromedp.WithPollingTimeout(90*time.Second))); err != nil {
		t.Fatalf("creating the first user: %v", err)
	}
	if msg := eval[string](t, ctx, `(document.getElementById("first-error") || {}).textContent || ""`); msg != "" {
		t.Fatalf("creating the first user: %s", msg)
	}
	waitLoaded(t, ctx)
	if p, u := eval[string](t, ctx, `location.pathname`), eval[string](t, ctx, `document.getElementById("user-name").textContent`); p != "/alerts" || u != "owner" {
		t.Errorf("after creating the first user: at %s as %q; want /alerts as owner", p, u)
	}
	if tok := eval[string](t, ctx, `sessionStorage.getItem("genscope.admin_token") || ""`); tok != "" {
		t.Error("the admin token is still kept after signing in as the new user")
	}
	// The owner is an administrator: the rule can be changed and evaluated.
	if !eval[bool](t, ctx, `!!document.getElementById("new-rule") && !!document.querySelector("#rules .eval")`) {
		t.Error("an administrator is not offered New/Evaluate")
	}

	// Accounts: a new user, then a new password for them.
	do(t, ctx, chromedp.Click(chromedp.CSS(`nav a[href^="/accounts"]`)))
	waitLoaded(t, ctx)
	check("accounts")
	// The administrator's Projects pages, at both sizes too.
	do(t, ctx, chromedp.Navigate(base+"/projects"))
	waitLoaded(t, ctx)
	check("projects")
	do(t, ctx, chromedp.Navigate(base+"/projects/default"))
	waitLoaded(t, ctx)
	check("project")
	do(t, ctx, chromedp.Navigate(base+"/accounts"))
	waitLoaded(t, ctx)
	do(t, ctx, clearAndType("new-user", "vera"), clearAndType("new-user-password", "first-pass-0001"), chromedp.Click(chromedp.ID("new-user-submit")))
	waitFor(t, ctx, `document.querySelector('#accounts tr[data-account="vera"]')`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`[data-reset="vera"]`)))
	waitFor(t, ctx, `document.getElementById("pw-vera")`)
	const veraPass = "second-pass-0002"
	do(t, ctx, clearAndType("pw-vera", veraPass), chromedp.KeyEvent("\r"))
	waitFor(t, ctx, `document.querySelector('[data-reset-done="vera"]')`)
	authJSON(t, "PUT", api+"projects/default/members/vera", adminToken, map[string]any{"role": "viewer"}, 200, nil)

	// The viewer: sign-in with the new password; no New/Edit/Delete/Evaluate.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#user-menu summary`)), chromedp.Click(chromedp.ID("sign-out")))
	login(t, ctx, "vera", "first-pass-0001")
	waitFor(t, ctx, `document.getElementById("login-error").textContent !== ""`)
	login(t, ctx, "vera", veraPass)
	// Back on Accounts, which a viewer may not see: said plainly.
	waitFor(t, ctx, `document.querySelector("main[data-loaded=error] #forbidden")`)
	do(t, ctx, chromedp.Navigate(base+"/alerts"))
	waitLoaded(t, ctx)
	if n := eval[int](t, ctx, `document.querySelectorAll("#new-rule, #rules .eval, #rules .danger").length`); n != 0 {
		t.Errorf("a viewer is offered %d rule actions", n)
	}
	if v := eval[string](t, ctx, `document.querySelector('#rules tr[data-rule="`+rule.ID+`"] .actions a').textContent`); v != "View" {
		t.Errorf("a viewer's rule link says %q", v)
	}
	if eval[bool](t, ctx, `!!document.querySelector('nav a[href^="/accounts"]')`) {
		t.Error("a viewer sees Accounts")
	}
	check("viewer-alerts")
	do(t, ctx, chromedp.Navigate(base+"/alerts/rules/"+rule.ID))
	waitLoaded(t, ctx)
	if !eval[bool](t, ctx, `!!document.getElementById("read-only-role") && document.querySelector("#main fieldset.plain").disabled`) {
		t.Error("the rule form is editable for a viewer")
	}
	do(t, ctx, chromedp.Navigate(base+"/alerts/action-groups"))
	waitLoaded(t, ctx)
	if eval[bool](t, ctx, `!!document.getElementById("new-group")`) {
		t.Error("a viewer is offered a new action group")
	}

	time.Sleep(200 * time.Millisecond)
	host := "http://" + strings.TrimPrefix(base, "http://")
	for _, p := range problems() {
		// 401s are the point of signing in: before it, and the wrong token
		// and password; the 403 is the viewer on Accounts.
		if strings.Contains(p, "status of 401 (Unauthorized) ("+host+"/api/v1/") || strings.Contains(p, "status of 403 (Forbidden) ("+host+"/api/v1/users") {
			continue
		}
		t.Errorf("browser console: %s", p)
	}
}

// syncBuffer collects the app's log for a test to read.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBrowserSetupLink: auth on and nobody's account. The one-time link
// genscope logs at start-up opens a page that creates the first
// administrator and signs them in (the token leaves the address bar at
// once); the link used again says so and offers the login page; the page
// without a token says where to find the link. Each state fits a phone
// and passes axe-core.
func TestBrowserSetupLink(t *testing.T) {
	exe := chromium(t)
	requireBuilt(t)
	axe := axeSource(t)
	var log syncBuffer
	base := startAppLogged(t, func(c *config.Config) {
		c.Auth = config.Auth{Enabled: true, AdminToken: config.Secret(adminToken), SessionTTL: config.Duration(time.Hour)}
	}, &log)
	m := regexp.MustCompile(`setup_url=(\S+)`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no setup link in the log:\n%s", log.String())
	}
	link := m[1]
	tok := link[strings.Index(link, "#")+1:]
	ctx, problems := browser(t, exe)
	check := func(name string) {
		t.Helper()
		for _, w := range []int64{390, 1440} {
			do(t, ctx, chromedp.EmulateViewport(w, 900))
			fits(t, ctx, name, int(w))
			audit(t, ctx, axe, name+"@"+strconv.FormatInt(w, 10))
			screenshot(t, ctx, "auth-"+name+"-"+strconv.FormatInt(w, 10))
		}
	}

	// Without a token: where to find one.
	do(t, ctx, chromedp.Navigate(base+"/setup"))
	waitFor(t, ctx, `document.getElementById("setup-no-token")`)
	check("setup-no-token")

	do(t, ctx, chromedp.Navigate(link))
	waitFor(t, ctx, `document.querySelector("form#setup")`)
	if h := eval[string](t, ctx, `location.href`); strings.Contains(h, tok) {
		t.Errorf("the token stays in the address bar: %s", h)
	}
	check("setup")
	const ownerPass = "owner-pass-7730"
	do(t, ctx, clearAndType("first-user", "owner"), clearAndType("first-password", ownerPass), chromedp.Click(chromedp.ID("first-submit")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.querySelector("main[data-loaded]") || (document.getElementById("first-error") || {}).textContent > ""`,
		chromedp.WithPollingTimeout(90*time.Second))); err != nil {
		t.Fatalf("creating the first user: %v", err)
	}
	if msg := eval[string](t, ctx, `(document.getElementById("first-error") || {}).textContent || ""`); msg != "" {
		t.Fatalf("creating the first user: %s", msg)
	}
	waitLoaded(t, ctx)
	if p, u := eval[string](t, ctx, `location.pathname`), eval[string](t, ctx, `document.getElementById("user-name").textContent`); p != "/" || u != "owner" {
		t.Errorf("after the setup: at %s as %q; want / as owner", p, u)
	}
	if !eval[bool](t, ctx, `!!document.querySelector('nav a[href^="/accounts"]')`) {
		t.Error("the first administrator is not offered Accounts")
	}

	// The link again (another browser): used up, said plainly, with the way in.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#user-menu summary`)), chromedp.Click(chromedp.ID("sign-out")))
	waitFor(t, ctx, `document.getElementById("login")`)
	do(t, ctx, chromedp.Navigate(link))
	waitFor(t, ctx, `document.querySelector("form#setup")`)
	do(t, ctx, clearAndType("first-user", "intruder"), clearAndType("first-password", "intruder-pass-1"), chromedp.Click(chromedp.ID("first-submit")))
	waitFor(t, ctx, `document.getElementById("first-error").textContent !== ""`)
	if msg := eval[string](t, ctx, `document.getElementById("first-error").textContent`); !strings.Contains(msg, "used up") {
		t.Errorf("the used link says %q", msg)
	}
	check("setup-used")
	href := eval[string](t, ctx, `document.getElementById("setup-sign-in").getAttribute("href")`)
	do(t, ctx, chromedp.Navigate(base+href))
	login(t, ctx, "owner", ownerPass)
	waitLoaded(t, ctx)
	var users struct {
		Users []struct {
			Name string `json:"name"`
		} `json:"users"`
	}
	authJSON(t, "GET", base+"/api/v1/users", adminToken, nil, 200, &users)
	if len(users.Users) != 1 || users.Users[0].Name != "owner" {
		t.Errorf("users: %+v", users.Users)
	}

	time.Sleep(200 * time.Millisecond)
	host := "http://" + strings.TrimPrefix(base, "http://")
	for _, p := range problems() {
		// 401 before signing in; 410 for the used link.
		if strings.Contains(p, "status of 401 (Unauthorized) ("+host+"/api/v1/") || strings.Contains(p, "status of 410 (Gone) ("+host+"/api/v1/setup") {
			continue
		}
		t.Errorf("browser console: %s", p)
	}
}
