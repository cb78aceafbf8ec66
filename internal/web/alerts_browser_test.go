package web_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/genscope/genscope/internal/alert"
	"github.com/genscope/genscope/internal/config"
)

// hook is a webhook receiver on loopback that keeps what it gets.
type hook struct {
	mu   sync.Mutex
	got  []hookCall
	srv  *httptest.Server
	path string
}

type hookCall struct {
	body      []byte
	signature string
	query     string
}

func newHook(t *testing.T) *hook {
	k := &hook{}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		k.mu.Lock()
		k.got = append(k.got, hookCall{b, r.Header.Get("X-Genscope-Signature"), r.URL.RawQuery})
		k.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *hook) calls() []hookCall {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]hookCall(nil), k.got...)
}

// wait polls until a call satisfies ok.
func (k *hook) wait(t *testing.T, what string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, c := range k.calls() {
			var m map[string]any
			if json.Unmarshal(c.body, &m) == nil && ok(m) {
				return m
			}
		}
	}
	t.Fatalf("the webhook receiver never got %s (%d calls)", what, len(k.calls()))
	return nil
}

// essentials digs the common alert schema's essentials out of a payload.
func essentials(m map[string]any) map[string]any {
	data, _ := m["data"].(map[string]any)
	ess, _ := data["essentials"].(map[string]any)
	return ess
}

// setSelect picks a value in a select as a user would, firing change.
func setSelect(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(s => { s.value = ` + strconv.Quote(value) + `; if (s.value !== ` + strconv.Quote(value) + `) throw new Error("no option ` + value + ` in ` + id + `"); s.dispatchEvent(new Event("change", {bubbles: true})); })(document.getElementById(` + strconv.Quote(id) + `))`)
}

// clearAndType replaces an input's text through the keyboard.
func clearAndType(id, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Evaluate[chromedp.Void](`document.getElementById(`+strconv.Quote(id)+`).value = ""`),
		chromedp.SendKeys(chromedp.ID(id), text),
	)
}

// TestBrowserAlerts drives the alert pages: an action group with a real
// webhook receiver and a test notification, a rule made with the form
// (a bad threshold first), evaluated from the list, fired, in the fired
// alerts and the history; no console errors.
func TestBrowserAlerts(t *testing.T) {
	exe := chromium(t)
	requireBuilt(t)
	rx := newHook(t)
	const secret = "hmac-canary-7d1f"
	base := startAppWith(t, func(c *config.Config) {
		c.Notify.AllowPrivateTargets = true // the receiver is on loopback
		c.Notify.Backoff = config.Duration(50 * time.Millisecond)
		c.Alerts = []config.AlertRule{{Rule: alert.Rule{ID: "as-code", Name: "many errors (config)", Severity: 2, Signal: "errors", Operator: ">", Threshold: 100}}}
	})
	ingestLab(t, base)
	ctx, problems := browser(t, exe)
	hookURL := rx.srv.URL + "/hook?token=url-canary-93b"

	var groupID, ruleID string
	t.Run("ActionGroup", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/alerts/action-groups"))
		waitLoaded(t, ctx)
		if txt := eval[string](t, ctx, `document.querySelector("[data-empty]").innerText`); !strings.Contains(txt, "No action groups yet") {
			t.Errorf("empty action groups: %q", txt)
		}
		do(t, ctx, chromedp.Click(chromedp.ID("new-group")))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.SendKeys(chromedp.ID("group-name"), "oncall"))
		urlID := eval[string](t, ctx, `document.querySelector("#receivers [id$='-url']").id`)
		hmacID := eval[string](t, ctx, `document.querySelector("#receivers [id$='-hmac']").id`)
		do(t, ctx, chromedp.SendKeys(chromedp.ID(hmacID), secret))
		// A metadata address is refused; the error shows next to the URL.
		do(t, ctx, chromedp.SendKeys(chromedp.ID(urlID), "http://169.254.169.254/latest"), chromedp.Click(chromedp.ID("save-group")))
		waitFor(t, ctx, `document.querySelector("[data-field='receivers[0].url'] .field-error").textContent !== ""`)
		if p := eval[string](t, ctx, `location.pathname`); p != "/alerts/action-groups/new" {
			t.Errorf("after a refused URL, at %s", p)
		}
		screenshot(t, ctx, "alerts-action-group-form-error")
		do(t, ctx, clearAndType(urlID, hookURL), chromedp.Click(chromedp.ID("save-group")))
		waitFor(t, ctx, `location.pathname === "/alerts/action-groups" && document.querySelector("#groups tr[data-group]")`)
		waitLoaded(t, ctx)
		groupID = eval[string](t, ctx, `document.querySelector("#groups tr[data-group]").dataset.group`)
		row := eval[string](t, ctx, `document.querySelector("#groups tr[data-group]").innerText`)
		if !strings.Contains(row, "oncall") || !strings.Contains(row, "URL set") || !strings.Contains(row, "HMAC secret set") {
			t.Errorf("group row: %q", row)
		}
		// Secrets are write-only: never in the page.
		html := eval[string](t, ctx, `document.documentElement.outerHTML`)
		if strings.Contains(html, "url-canary") || strings.Contains(html, secret) {
			t.Error("the page shows a receiver secret")
		}
		// A test notification from the UI reaches the receiver, signed.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#groups tr[data-group="`+groupID+`"] button.test`)))
		waitFor(t, ctx, `document.getElementById("test-`+groupID+`").dataset.ok === "true"`)
		if txt := eval[string](t, ctx, `document.getElementById("test-`+groupID+`").innerText`); !strings.Contains(txt, "delivered") || !strings.Contains(txt, "HTTP 200") {
			t.Errorf("test result: %q", txt)
		}
		m := rx.wait(t, "the test notification", func(m map[string]any) bool { return essentials(m)["monitorCondition"] == "Fired" })
		if ess := essentials(m); !strings.Contains(ess["alertRule"].(string), "Test notification") {
			t.Errorf("test payload essentials: %v", ess)
		}
		c := rx.calls()[0]
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(c.body)
		if c.signature != "sha256="+hex.EncodeToString(mac.Sum(nil)) || c.query != "token=url-canary-93b" {
			t.Errorf("receiver got signature %q, query %q", c.signature, c.query)
		}
		screenshot(t, ctx, "alerts-action-groups")

		// Edit: the secrets show as "set", saving unchanged keeps them.
		do(t, ctx, chromedp.Navigate(base+"/alerts/action-groups/"+groupID))
		waitLoaded(t, ctx)
		if v := eval[string](t, ctx, `document.querySelector("#receivers [id$='-url']").value`); v != "" {
			t.Errorf("the URL field shows %q", v)
		}
		if txt := eval[string](t, ctx, `document.getElementById("receivers").innerText`); !strings.Contains(txt, "URL set") || !strings.Contains(txt, "secret set") {
			t.Errorf("edit form: %q", txt)
		}
		do(t, ctx, chromedp.Click(chromedp.ID("save-group")))
		waitFor(t, ctx, `location.pathname === "/alerts/action-groups" && document.querySelector("#groups button.test")`)
		waitLoaded(t, ctx)
		n := len(rx.calls())
		do(t, ctx, chromedp.Click(chromedp.CSS(`#groups button.test`)))
		waitFor(t, ctx, `document.getElementById("test-`+groupID+`").dataset.ok === "true"`)
		if len(rx.calls()) != n+1 {
			t.Errorf("after saving unchanged, the test reached the receiver %d times, want 1", len(rx.calls())-n)
		}
	})

	const name = "calls in a day"
	t.Run("RuleForm", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/alerts"))
		waitLoaded(t, ctx)
		// The config rule is listed read-only.
		cfgRow := eval[string](t, ctx, `document.querySelector("#rules tr[data-rule=as-code]").innerText`)
		if !strings.Contains(cfgRow, "read-only") || !strings.Contains(cfgRow, "View") || strings.Contains(cfgRow, "Delete") {
			t.Errorf("config rule row: %q", cfgRow)
		}
		// Its form is shown read-only, with its preview.
		do(t, ctx, chromedp.Navigate(base+"/alerts/rules/as-code"))
		waitLoaded(t, ctx)
		if !eval[bool](t, ctx, `!!document.querySelector("#rule-form fieldset[disabled]") && !document.getElementById("save-rule") && document.querySelector(".notice").innerText.includes("read-only")`) {
			t.Error("the config rule's form is not read-only")
		}
		do(t, ctx, chromedp.Navigate(base+"/alerts"))
		waitLoaded(t, ctx)
		do(t, ctx, chromedp.Click(chromedp.ID("new-rule")))
		waitLoaded(t, ctx)
		if n := eval[int](t, ctx, `document.querySelectorAll("#preview [data-preview=ok] canvas").length`); n == 0 {
			t.Errorf("no preview chart: %s", eval[string](t, ctx, `document.getElementById("preview").innerText`))
		}
		do(t, ctx,
			setSelect("rule-signal", "calls"), setSelect("rule-operator", ">"),
			setSelect("rule-window", "24h"), setSelect("rule-frequency", "1h"), setSelect("rule-severity", "1"),
			clearAndType("rule-threshold", "lots"),
			chromedp.SendKeys(chromedp.ID("rule-name"), name),
			chromedp.Click(chromedp.CSS(`#rule-action-groups input[value="`+groupID+`"]`)),
		)
		// A bad threshold: the server's 400 shows next to the threshold.
		do(t, ctx, chromedp.Click(chromedp.ID("save-rule")))
		waitFor(t, ctx, `document.querySelector("[data-field=threshold] .field-error").textContent !== ""`)
		errText := eval[string](t, ctx, `document.querySelector("[data-field=threshold] .field-error").textContent`)
		if !strings.Contains(errText, "number") {
			t.Errorf("threshold error: %q", errText)
		}
		if p := eval[string](t, ctx, `location.pathname`); p != "/alerts/rules/new" {
			t.Errorf("after a bad threshold, at %s", p)
		}
		if others := eval[int](t, ctx, `document.querySelectorAll(".ff.invalid").length`); others != 1 {
			t.Errorf("%d fields marked invalid, want 1 (threshold)", others)
		}
		if f := eval[string](t, ctx, `document.activeElement.id`); f != "rule-threshold" {
			t.Errorf("focus on %q after the error, want the threshold", f)
		}
		screenshot(t, ctx, "alerts-rule-form-error")
		// Fixed: the error goes, the preview draws the calls against the threshold line.
		do(t, ctx, clearAndType("rule-threshold", "0"))
		if n := eval[int](t, ctx, `document.querySelectorAll(".ff.invalid").length`); n != 0 {
			t.Errorf("%d fields still marked invalid after the fix", n)
		}
		waitFor(t, ctx, `(document.getElementById("preview-now").innerText || "").includes("18 calls")`)
		if n := eval[int](t, ctx, `document.querySelectorAll("#preview [data-preview=ok] canvas").length`); n == 0 {
			t.Error("no preview chart after the fix")
		}
		screenshot(t, ctx, "alerts-rule-form")
		do(t, ctx, chromedp.Click(chromedp.ID("save-rule")))
		waitFor(t, ctx, `location.pathname === "/alerts" && document.querySelector("#rules")`)
		waitLoaded(t, ctx)
		ruleID = eval[string](t, ctx, `[...document.querySelectorAll("#rules tr[data-rule]")].find(r => r.querySelector(".rule-name").textContent === `+strconv.Quote(name)+`).dataset.rule`)
	})
	if ruleID == "" {
		t.Fatal("no rule made")
	}

	t.Run("EvaluateAndFire", func(t *testing.T) {
		row := `#rules tr[data-rule="` + ruleID + `"]`
		do(t, ctx, chromedp.Focus(chromedp.CSS(row+` button.eval`)), chromedp.KeyEvent("\r"))
		waitFor(t, ctx, `document.querySelector('`+row+` .eval-result')`)
		res := eval[string](t, ctx, `document.querySelector('`+row+` .eval-result').innerText`)
		if !strings.Contains(res, "saw 18 calls") || !strings.Contains(res, "Fired") {
			t.Errorf("evaluate now shows %q, want 18 calls → Fired", res)
		}
		if st := eval[string](t, ctx, `document.querySelector('`+row+`').dataset.state`); st != "fired" {
			t.Errorf("rule state in the list: %q", st)
		}
		if f := eval[string](t, ctx, `document.activeElement.className`); !strings.Contains(f, "eval") {
			t.Errorf("focus after evaluate: %q", f)
		}
		text := eval[string](t, ctx, `document.querySelector('`+row+`').innerText`)
		for _, want := range []string{"Sev1", "calls > 0 calls over 24h, every 1h", "Enabled", "Fired", "API", "notifies oncall"} {
			if !strings.Contains(text, want) {
				t.Errorf("rule row lacks %q: %s", want, text)
			}
		}
		if s := eval[string](t, ctx, `document.getElementById("rules-summary").textContent`); !strings.Contains(s, "1 fired") {
			t.Errorf("rules summary after evaluate: %q", s)
		}
		screenshot(t, ctx, "alerts-rules")
		// The rule's action group hears it fire.
		m := rx.wait(t, "the rule's Fired notification", func(m map[string]any) bool {
			e := essentials(m)
			return e["alertRule"] == name && e["monitorCondition"] == "Fired"
		})
		if e := essentials(m); e["severity"] != "Sev1" {
			t.Errorf("fired payload essentials: %v", e)
		}

		do(t, ctx, chromedp.Click(chromedp.CSS(`nav.tabs a[href^="/alerts/fired"]`)))
		waitLoaded(t, ctx)
		fired := eval[string](t, ctx, `(document.querySelector('#fired tr[data-rule="`+ruleID+`"]') || {innerText: ""}).innerText`)
		if !strings.Contains(fired, name) || !strings.Contains(fired, "18 calls") || !strings.Contains(fired, "Sev1") {
			t.Errorf("fired alerts row: %q", fired)
		}
		if n := eval[string](t, ctx, `document.getElementById("fired-count").textContent`); n != "1" {
			t.Errorf("fired count in the tabs: %q", n)
		}
		screenshot(t, ctx, "alerts-fired")
		// The rule link opens its form, filled in.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#fired tr[data-rule="`+ruleID+`"] a`)))
		waitLoaded(t, ctx)
		got := eval[[]string](t, ctx, `["rule-signal", "rule-window", "rule-frequency", "rule-threshold", "rule-name"].map(id => document.getElementById(id).value)`)
		if strings.Join(got, "|") != "calls|24h|1h|0|"+name {
			t.Errorf("edit form values %q", got)
		}
		// Saving an edit (PUT) keeps the action group and shows the change.
		do(t, ctx, setSelect("rule-severity", "2"), chromedp.Click(chromedp.ID("save-rule")))
		waitFor(t, ctx, `location.pathname === "/alerts" && document.querySelector('#rules tr[data-rule="`+ruleID+`"]')`)
		waitLoaded(t, ctx)
		if text := eval[string](t, ctx, `document.querySelector('#rules tr[data-rule="`+ruleID+`"]').innerText`); !strings.Contains(text, "Sev2") || !strings.Contains(text, "notifies oncall") {
			t.Errorf("rule row after the edit: %s", text)
		}
	})

	t.Run("History", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/alerts/history"))
		waitLoaded(t, ctx)
		if n := eval[int](t, ctx, `document.querySelectorAll("#history tr[data-to=fired]").length`); n < 1 {
			t.Error("no fired state change in the history")
		}
		// Notifications: the tests and the rule's, sent; attempts open.
		waitFor(t, ctx, `document.querySelectorAll("#notifications tr[data-status=sent]").length >= 1`)
		do(t, ctx, chromedp.Click(chromedp.CSS(`#notifications tr[data-status=sent] summary`)))
		waitFor(t, ctx, `(document.querySelector("#notifications .attempts") || {innerText: ""}).innerText.includes("delivered")`)
		if n := eval[int](t, ctx, `document.querySelectorAll("#test-attempts tr[data-ok=true]").length`); n != 2 {
			t.Errorf("%d delivered test notifications in the history, want 2", n)
		}
		screenshot(t, ctx, "alerts-history")
		// The rule filter is kept in the URL.
		do(t, ctx, setSelect("history-rule", ruleID))
		waitLoaded(t, ctx)
		if q := eval[string](t, ctx, `location.search`); !strings.Contains(q, "rule="+ruleID) {
			t.Errorf("history filter not in the URL: %q", q)
		}
		do(t, ctx, chromedp.Reload())
		waitLoaded(t, ctx)
		if v := eval[string](t, ctx, `document.getElementById("history-rule").value`); v != ruleID {
			t.Errorf("history filter after reload: %q", v)
		}
	})

	t.Run("DarkAndDelete", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(base+"/alerts"))
		waitLoaded(t, ctx)
		before := eval[string](t, ctx, `document.documentElement.dataset.theme`)
		do(t, ctx, chromedp.Click(chromedp.ID("theme")))
		waitLoaded(t, ctx)
		screenshot(t, ctx, "alerts-rules-"+eval[string](t, ctx, `document.documentElement.dataset.theme`))
		do(t, ctx, chromedp.Click(chromedp.ID("theme")))
		waitLoaded(t, ctx)
		if after := eval[string](t, ctx, `document.documentElement.dataset.theme`); after != before {
			t.Errorf("theme %s after two toggles, want %s", after, before)
		}
		row := `#rules tr[data-rule="` + ruleID + `"]`
		do(t, ctx, chromedp.Click(chromedp.CSS(row+` button.danger`)))
		do(t, ctx, chromedp.Click(chromedp.CSS(row+` .confirm button.danger-solid`)))
		waitFor(t, ctx, `!document.querySelector('`+row+`') && document.querySelector("main[data-loaded=true]")`)
		var rules struct {
			Rules []struct{ ID string } `json:"rules"`
		}
		getJSON(t, base+"/api/v1/alert-rules", &rules)
		if len(rules.Rules) != 1 || rules.Rules[0].ID != "as-code" {
			t.Errorf("after delete, rules %+v", rules.Rules)
		}
	})

	time.Sleep(200 * time.Millisecond)
	for _, p := range problems() {
		// Chromium logs every 4xx answer to fetch; the 400s of the bad
		// threshold and the refused URL are expected.
		if strings.Contains(p, "status of 400 (Bad Request) (http://"+strings.TrimPrefix(base, "http://")+"/api/v1/alert-rules:") ||
			strings.Contains(p, "status of 400 (Bad Request) (http://"+strings.TrimPrefix(base, "http://")+"/api/v1/action-groups:") {
			continue
		}
		t.Errorf("browser console: %s", p)
	}
}
