package web_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/genscope/genscope/internal/config"
)

// TestBrowserScores drives scoring with auth on, at both sizes: a viewer
// with the content permission scores a call and its trace from the trace
// view (a missing value and label first), edits the call's score, sees
// it in the spans table and on the Overview's quality card; the API has
// it as a human's, by that user; a viewer without the content permission
// sees the scores but no form; every page fits and passes axe-core.
func TestBrowserScores(t *testing.T) {
	exe := chromium(t)
	requireBuilt(t)
	axe := axeSource(t)
	base := startAppWith(t, func(c *config.Config) {
		c.Auth = config.Auth{Enabled: true, AdminToken: config.Secret(adminToken), SessionTTL: config.Duration(time.Hour)}
	})
	api := base + "/api/v1/"
	authJSON(t, "POST", api+"projects", adminToken, map[string]any{"name": "a"}, 201, nil)
	var k struct {
		Key string `json:"key"`
	}
	authJSON(t, "POST", api+"projects/a/keys", adminToken, map[string]any{"scope": "ingest"}, 201, &k)
	ingestLabKey(t, base, k.Key)
	const ritaPass, vicPass = "rita-pass-7719", "vic-pass-3301"
	authJSON(t, "POST", api+"users", adminToken, map[string]any{"name": "rita", "password": ritaPass,
		"grants": map[string]any{"a": map[string]any{"role": "viewer", "content": true}}}, 201, nil)
	authJSON(t, "POST", api+"users", adminToken, map[string]any{"name": "vic", "password": vicPass,
		"grants": map[string]any{"a": map[string]any{"role": "viewer"}}}, 201, nil)
	var page struct {
		Spans []spanJSON `json:"spans"`
	}
	authJSON(t, "GET", api+"spans?project=a&from=1h&limit=1", adminToken, nil, 200, &page)
	if len(page.Spans) != 1 {
		t.Fatalf("no call to score: %+v", page)
	}
	call := page.Spans[0]
	tracePath := "/traces/" + call.TraceID + "?span=" + call.SpanID + "&from=1h"

	ctx, problems := browser(t, exe)
	do(t, ctx, chromedp.Navigate(base+"/"))
	login(t, ctx, "rita", ritaPass)
	waitLoaded(t, ctx)
	form := func(target string) string { return `#scores-` + target + ` form[data-form=add]` }
	fill := func(sel, name, value, label, comment string) {
		t.Helper()
		for _, f := range [][2]string{{"name", name}, {"value", value}, {"label", label}, {"comment", comment}} {
			do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector(`+strconv.Quote(sel+` [name=`+f[0]+`]`)+`).value = ""`))
			if f[1] != "" {
				do(t, ctx, chromedp.SendKeys(chromedp.CSS(sel+` [name=`+f[0]+`]`), f[1]))
			}
		}
		do(t, ctx, chromedp.Click(chromedp.CSS(sel+` button[type=submit]`)))
	}
	for _, size := range viewports {
		name := "helpfulness-" + size.name
		t.Run("Size"+size.name, func(t *testing.T) {
			do(t, ctx, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(base+tracePath))
			waitLoaded(t, ctx)
			waitFor(t, ctx, `document.querySelector(`+strconv.Quote(form(call.SpanID))+`) && document.querySelector(`+strconv.Quote(form("trace"))+`)`)
			fits(t, ctx, "trace-scores", int(size.w))
			audit(t, ctx, axe, "trace-scores@"+size.name)

			// Neither value nor label: refused in the form, nothing sent.
			fill(form(call.SpanID), name, "", "", "")
			waitFor(t, ctx, `document.querySelector(`+strconv.Quote(form(call.SpanID)+` .field-error`)+`).textContent.includes("value, a label")`)

			// The call's score and the trace's.
			fill(form(call.SpanID), name, "0.3", "fail", "misses the second question")
			item := `#scores-` + call.SpanID + ` .score-item[data-name="` + name + `"]`
			waitFor(t, ctx, `!!document.querySelector(`+strconv.Quote(item)+`)`)
			fill(form("trace"), "resolved-"+size.name, "", "pass", "")
			waitFor(t, ctx, `!!document.querySelector('#scores-trace .score-item[data-name="resolved-`+size.name+`"]')`)
			got := eval[[]string](t, ctx, `(e => [e.querySelector(".score-badge").textContent, e.querySelector(".score-source").textContent, e.querySelector(".score-author").textContent, e.querySelector(".score-comment").textContent])(document.querySelector(`+strconv.Quote(item)+`))`)
			if strings.Join(got, "|") != "0.3 · fail|by a person|rita|misses the second question" {
				t.Errorf("the call's score shows %q", got)
			}
			// The trace's score is not listed under the call, nor the call's under the trace.
			if eval[bool](t, ctx, `!!document.querySelector('#scores-trace .score-item[data-name="`+name+`"]') || !!document.querySelector('#scores-`+call.SpanID+` .score-item[data-name="resolved-`+size.name+`"]')`) {
				t.Error("a score is listed under the wrong target")
			}

			// Edit her own score.
			do(t, ctx, chromedp.Click(chromedp.CSS(item+` [data-action=edit]`)))
			editSel := item + ` form[data-form=edit]`
			waitFor(t, ctx, `!!document.querySelector(`+strconv.Quote(editSel)+`)`)
			fill(editSel, name, "0.9", "pass", "fine after all")
			waitFor(t, ctx, `(e => e && !e.querySelector("form") && e.querySelector(".score-badge").textContent === "0.9 · pass")(document.querySelector(`+strconv.Quote(item)+`))`)
			fits(t, ctx, "trace-scored", int(size.w))
			audit(t, ctx, axe, "trace-scored@"+size.name)
			screenshot(t, ctx, "scores-trace-"+size.name)

			// The API has it: a human's, by rita.
			var list struct {
				Scores []struct {
					Name, Label, Source, Author, Comment, SpanID string
					Value                                        *float64
				} `json:"scores"`
			}
			authJSON(t, "GET", api+"scores?project=a&trace_id="+call.TraceID+"&name="+name, adminToken, nil, 200, &list)
			if len(list.Scores) != 1 || list.Scores[0].Value == nil || *list.Scores[0].Value != 0.9 || list.Scores[0].Label != "pass" ||
				list.Scores[0].Source != "human" || list.Scores[0].Author != "rita" || list.Scores[0].Comment != "fine after all" {
				t.Errorf("stored scores: %+v", list.Scores)
			}

			// The spans table shows it on the call's row, in a column that hides.
			do(t, ctx, chromedp.Navigate(base+"/spans?from=1h"))
			waitLoaded(t, ctx)
			cell := `#spans tr[data-span="` + call.SpanID + `"] .c-scores [data-score="` + name + `"]`
			waitFor(t, ctx, `!!document.querySelector(`+strconv.Quote(cell)+`)`)
			if txt := eval[string](t, ctx, `document.querySelector(`+strconv.Quote(cell)+`).textContent`); txt != name+" 0.9" {
				t.Errorf("spans table score %q", txt)
			}
			fits(t, ctx, "spans-scores", int(size.w))
			audit(t, ctx, axe, "spans-scores@"+size.name)
			do(t, ctx, chromedp.Click(chromedp.CSS(`#columns summary`)), chromedp.Click(chromedp.CSS(`#columns input[data-col=scores]`)))
			if eval[bool](t, ctx, `document.querySelector(`+strconv.Quote(cell)+`).offsetParent !== null`) {
				t.Error("the scores column does not hide")
			}
			do(t, ctx, chromedp.Click(chromedp.CSS(`#columns input[data-col=scores]`)), chromedp.Click(chromedp.CSS(`#columns summary`)))

			// The filter bar's score filter: only the scored call is left,
			// then none with a condition it does not meet.
			if eval[int](t, ctx, `document.querySelectorAll("#spans tbody tr").length`) < 2 {
				t.Fatal("too few calls to see a filter work")
			}
			scoreFilter := func(value string) {
				t.Helper()
				if !eval[bool](t, ctx, `document.getElementById("more-filters").open`) {
					do(t, ctx, chromedp.Click(chromedp.CSS(`#more-filters > summary`)))
				}
				do(t, ctx, clearAndType("score-f-name", name), chromedp.Evaluate[chromedp.Void](`document.getElementById("score-f-op").value = ">"`), clearAndType("score-f-value", value),
					chromedp.Click(chromedp.ID("score-f-add")))
			}
			scoreFilter("0.5")
			waitFor(t, ctx, `location.search.includes("score=") && document.querySelector("main[data-loaded=true]") && document.querySelectorAll("#spans tbody tr").length === 1`)
			if got := eval[string](t, ctx, `document.querySelector("#spans tbody tr").dataset.span`); got != call.SpanID {
				t.Errorf("filtered by %s > 0.5: span %s, want %s", name, got, call.SpanID)
			}
			fits(t, ctx, "spans-score-filter", int(size.w))
			audit(t, ctx, axe, "spans-score-filter@"+size.name)
			do(t, ctx, chromedp.Click(chromedp.CSS(`#score-f-list button`)))
			waitFor(t, ctx, `!location.search.includes("score=") && document.querySelector("main[data-loaded=true]")`)
			scoreFilter("0.95")
			waitFor(t, ctx, `location.search.includes("score=") && document.querySelector("main[data-loaded=true] [data-empty]")`)
			do(t, ctx, chromedp.Navigate(base+"/spans?from=1h"))
			waitLoaded(t, ctx)

			// The Overview's quality card: the average and the pass rate.
			do(t, ctx, chromedp.Navigate(base+"/?from=1h"))
			waitLoaded(t, ctx)
			row := `#quality tr[data-score="` + name + `"]`
			if got := eval[[]string](t, ctx, `(r => r ? [r.querySelector(".q-avg").dataset.value, r.querySelector(".q-pass").dataset.value] : [])(document.querySelector(`+strconv.Quote(row)+`))`); strings.Join(got, " ") != "0.9 1" {
				t.Errorf("quality row of %s: %q", name, got)
			}
			fits(t, ctx, "overview-quality", int(size.w))
			audit(t, ctx, axe, "overview-quality@"+size.name)
		})
	}

	// A viewer without the content permission sees the scores, not the form.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#user-menu summary`)), chromedp.Click(chromedp.ID("sign-out")))
	login(t, ctx, "vic", vicPass)
	waitLoaded(t, ctx)
	for _, size := range viewports {
		do(t, ctx, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(base+tracePath))
		waitLoaded(t, ctx)
		waitFor(t, ctx, `!!document.querySelector("#scores-`+call.SpanID+` .score-item") && !!document.querySelector("#scores-trace .score-denied")`)
		if n := eval[int](t, ctx, `document.querySelectorAll(".score-form, [data-action=edit], .score-actions").length`); n != 0 {
			t.Errorf("viewer without content at %s: %d score forms or actions", size.name, n)
		}
		if eval[bool](t, ctx, `!!document.querySelector(".score-comment")`) {
			t.Error("a score's comment shows without the content permission")
		}
		audit(t, ctx, axe, "trace-viewer@"+size.name)
	}
	// And the API refuses the score from that viewer too (no form is no
	// protection): the viewer's session scores through the page's own fetch.
	code, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`fetch("/api/v1/scores?project=a", {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": decodeURIComponent(/genscope_csrf=([^;]+)/.exec(document.cookie)[1])},
		body: JSON.stringify({trace_id: "`+call.TraceID+`", name: "sneaky", value: 1})}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || code != 403 {
		t.Errorf("a viewer without content scoring: status %v (%v), want 403", code, err)
	}
	// An administrator makes a quality alert in the rule form: the score
	// signal with its name and the pass-rate aggregation offered; the
	// rule it saves fires on the scores given above.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#user-menu summary`)), chromedp.Click(chromedp.ID("sign-out")))
	waitFor(t, ctx, `document.getElementById("login")`)
	do(t, ctx, chromedp.Navigate(base+"/alerts/rules/new?project=a"))
	waitFor(t, ctx, `document.getElementById("login")`)
	do(t, ctx, chromedp.Click(chromedp.ID("login-mode")), clearAndType("login-token", adminToken), chromedp.Click(chromedp.ID("login-submit")))
	waitFor(t, ctx, `!document.getElementById("login") && document.querySelector("main[data-loaded]")`)
	do(t, ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/alerts/rules/new?project=a"))
	waitLoaded(t, ctx)
	if eval[bool](t, ctx, `!document.querySelector("[data-field=signal] #rule-score-name").closest(".ff").classList.contains("hidden")`) {
		t.Error("the score name shows for a non-score signal")
	}
	do(t, ctx, setSelect("rule-signal", "score"), clearAndType("rule-score-name", "helpfulness-1440"), setSelect("rule-aggregation", "avg"),
		setSelect("rule-operator", "<"), clearAndType("rule-threshold", "0.95"), setSelect("rule-window", "1h"), clearAndType("rule-name", "helpfulness low"))
	if eval[bool](t, ctx, `document.querySelector("#rule-aggregation option[value=p95]").disabled !== true || document.querySelector("#rule-aggregation option[value=pass_rate]").disabled`) {
		t.Error("the aggregations offered for a score signal")
	}
	fits(t, ctx, "rule-form-score", 390)
	audit(t, ctx, axe, "rule-form-score@390")
	do(t, ctx, chromedp.Click(chromedp.ID("save-rule")))
	waitFor(t, ctx, `!location.pathname.endsWith("/new")`)
	var rules struct {
		Rules []struct{ ID, Name, Signal, Aggregation string } `json:"rules"`
	}
	authJSON(t, "GET", api+"alert-rules", adminToken, nil, 200, &rules)
	var ruleID string
	for _, r := range rules.Rules {
		if r.Name == "helpfulness low" && r.Signal == "score.helpfulness-1440" && r.Aggregation == "avg" {
			ruleID = r.ID
		}
	}
	if ruleID == "" {
		t.Fatalf("the rule made in the form: %+v", rules.Rules)
	}
	var res struct {
		State string
		Value *float64
	}
	authJSON(t, "POST", api+"alert-rules/"+ruleID+"/evaluate", adminToken, nil, 200, &res)
	if res.State != "fired" || res.Value == nil || *res.Value != 0.9 {
		t.Errorf("the quality rule's evaluation: %+v", res)
	}

	for _, p := range problems() {
		// Chromium logs every 4xx answer to fetch: the status asked
		// before anyone is signed in (401), and the refused score (403).
		if strings.Contains(p, "status of 401 (Unauthorized) ("+base+"/api/v1/status:") ||
			strings.Contains(p, "status of 403 (Forbidden) ("+base+"/api/v1/scores?") {
			continue
		}
		t.Errorf("console: %s", p)
	}
}
