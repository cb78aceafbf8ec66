// The alerts pages: rules with their state, fired alerts and history.
// The rule form is in ruleform.ts, action groups in groups.ts.
import { access, api, canEdit, go, href, query, send, update } from "./state";
import { add, ago, h, int, ms, pct, sortable, time, usd } from "./util";

export interface Rule {
  id: string;
  name: string;
  description: string;
  severity: number;
  enabled: boolean;
  signal: string;
  aggregation: string;
  filters: Record<string, string | undefined>;
  operator: string;
  threshold: number;
  window: string;
  frequency: string;
  violations: number;
  evaluations: number;
  no_data: string;
  auto_resolve: boolean;
  action_groups: string[] | null;
  split_by: string;
  read_only: boolean;
  state?: State;
  // last_evaluation is the engine's last look at the rule (absent before
  // the first): value null when it had no data.
  last_evaluation?: { at: string; value: number | null; alerts: number };
}

export type State = "ok" | "fired" | "resolved";

export interface Instance {
  id: string;
  rule_id: string;
  rule_name: string;
  severity: number;
  split_by?: string;
  key?: string;
  state: State;
  value: number;
  has_value: boolean;
  operator: string;
  threshold: number;
  query: string;
  fired_at?: string;
  resolved_at?: string;
  changed_at?: string;
  evaluated_at?: string;
  fired_value: number;
}

export interface EvalResult {
  rule_id: string;
  value: number | null;
  state: State;
  changed: boolean;
  query: string;
  evaluated_at: string;
  alerts: Instance[] | null;
}

export interface HistoryEvent {
  time: string;
  alert_id: string;
  rule_id: string;
  rule_name: string;
  severity: number;
  key?: string;
  from: State;
  to: State;
  value: number;
  has_value: boolean;
  operator: string;
  threshold: number;
  query: string;
}

export const SIGNALS: [string, string][] = [
  ["duration_ms", "Duration (ms)"],
  ["ttft_ms", "Time to first token (ms)"],
  ["calls", "Calls"],
  ["errors", "Errors"],
  ["error_rate", "Error rate (0–1)"],
  ["input_tokens", "Input tokens"],
  ["output_tokens", "Output tokens"],
  ["total_tokens", "Total tokens"],
  ["cost_usd", "Cost (USD)"],
];

// countSignal: the aggregation is ignored (the signal is a count or a rate).
export const countSignal = (s: string) => s === "calls" || s === "errors" || s === "error_rate";

export const SEVERITIES = ["Sev0 · critical", "Sev1 · error", "Sev2 · warning", "Sev3 · informational", "Sev4 · verbose"];

export function sevBadge(s: number): HTMLElement {
  return h("span", { class: "badge sev sev" + s, title: SEVERITIES[s] || "" }, "Sev" + s);
}

export function stateBadge(s: State | undefined): HTMLElement {
  const st = s || "ok";
  return h("span", { class: "badge alert-" + st, "data-state": st }, st === "fired" ? "Fired" : st === "resolved" ? "Resolved" : "OK");
}

// unit is the signal's unit, as written after a threshold.
export function unit(signal: string): string {
  switch (signal) {
    case "duration_ms": case "ttft_ms": return "ms";
    case "cost_usd": return "USD";
    case "error_rate": return "(fraction of calls)";
    case "calls": return "calls";
    case "errors": return "errors";
    default: return signal.startsWith("score.") ? "" : "tokens";
  }
}

// fmtValue formats a rule's value with its unit.
export function fmtValue(signal: string, v: number | null | undefined): string {
  if (v === null || v === undefined || isNaN(v)) return "no data";
  switch (signal) {
    case "duration_ms": case "ttft_ms": return ms(v);
    case "cost_usd": return usd(v);
    case "error_rate": return pct(v);
  }
  return ((Number.isInteger(v) ? int(v) : v.toFixed(2)) + " " + unit(signal)).trim();
}

// dur shortens a Go duration ("5m0s" → "5m", "1h0m0s" → "1h").
export function dur(d: string): string {
  return d.replace(/(\d[hm])0s$/, "$1").replace(/(\d)h0m$/, "$1h");
}

// condition sums a rule up: avg(duration_ms) > 4000 ms over 5m, every 1m.
export function condition(r: Rule): string {
  const agg = countSignal(r.signal) ? "" : (r.aggregation || (r.signal === "duration_ms" || r.signal === "ttft_ms" ? "avg" : "total"));
  const sig = agg ? `${agg}(${r.signal})` : r.signal;
  let s = `${sig} ${r.operator} ${r.threshold} ${unit(r.signal)} over ${dur(r.window)}, every ${dur(r.frequency)}`;
  if (r.evaluations > 1) s += ` · ${r.violations} of ${r.evaluations} evaluations`;
  return s;
}

export function filterText(r: Rule): string {
  const f = Object.entries(r.filters || {}).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`);
  return [f.length ? f.join(", ") : "all calls", r.split_by ? "split by " + r.split_by : ""].filter(Boolean).join(" · ");
}

// tabs is the alerts pages' own navigation.
export function tabs(active: string, fired?: number): HTMLElement {
  const items: [string, string, string][] = [
    ["rules", "/alerts", "Alert rules"],
    ["fired", "/alerts/fired", "Fired alerts"],
    ["history", "/alerts/history", "History"],
    ["groups", "/alerts/action-groups", "Action groups"],
  ];
  return h("nav", { class: "tabs", "aria-label": "alerts" }, items.map(([k, p, l]) =>
    h("a", { href: href(p), "data-link": true, class: k === active ? "active" : "", "aria-current": k === active ? "page" : undefined },
      l, k === "fired" ? h("span", { class: "count" + (fired ? "" : " hidden"), id: "fired-count", "aria-label": `${fired || 0} fired` }, String(fired || 0)) : null)));
}

// --- Field errors: a 400 names the field; the message goes next to it. ---

interface FieldMsg {
  field: string;
  msg: string;
}

// parseErrors splits "threshold: want a float64; window: 0s is not between 1m and 24h".
export function parseErrors(msg: string): FieldMsg[] {
  return msg.split(/\n|; (?=[a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*: )/).map((part) => {
    const m = /^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*): (.*)$/s.exec(part.trim());
    const text = (m ? m[2] : part).replace(/want a (float64|float32)/, "want a number").replace(/want a u?int\d*/, "want a whole number");
    return { field: m ? m[1] : "", msg: text };
  });
}

// showErrors puts each error next to the control of its field (the
// nearest [data-field] going up the path: receivers[0].url, receivers[0],
// receivers), or in general. It returns the first control in error.
export function showErrors(form: HTMLElement, general: HTMLElement, msg: string): HTMLElement | null {
  clearErrors(form, general);
  let first: HTMLElement | null = null;
  const rest: string[] = [];
  for (const e of parseErrors(msg)) {
    let f = e.field;
    let box: HTMLElement | null = null;
    while (f) {
      box = form.querySelector(`[data-field="${CSS.escape(f)}"]`);
      if (box) break;
      const up = f.replace(/(\[\d+\]|\.[a-z_]+)$/, "");
      if (up === f) break;
      f = up;
    }
    if (!box) {
      rest.push(e.field ? `${e.field}: ${e.msg}` : e.msg);
      continue;
    }
    box.classList.add("invalid");
    const out = box.querySelector(":scope > .field-error") as HTMLElement;
    out.textContent = out.textContent ? out.textContent + "; " + e.msg : e.msg;
    const ctl = box.querySelector(":scope > input, :scope > select, :scope > textarea, :scope input, :scope select") as HTMLElement | null;
    if (ctl) {
      ctl.setAttribute("aria-invalid", "true");
      first = first || ctl;
    }
  }
  if (rest.length) {
    general.textContent = rest.join("; ");
    general.classList.remove("hidden");
  }
  return first;
}

export function clearErrors(form: HTMLElement, general: HTMLElement) {
  for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  general.textContent = "";
  general.classList.add("hidden");
}

// unmarkOnEdit clears a field's error when the user edits it.
export function unmarkOnEdit(form: HTMLElement) {
  const unmark = (ev: Event) => {
    const box = (ev.target as HTMLElement).closest(".invalid") as HTMLElement | null;
    if (!box) return;
    box.classList.remove("invalid");
    for (const e of box.querySelectorAll(".field-error")) e.textContent = "";
    for (const e of box.querySelectorAll("[aria-invalid]")) e.removeAttribute("aria-invalid");
  };
  form.addEventListener("input", unmark);
  form.addEventListener("change", unmark);
}

let fieldSeq = 0;

// field is a labelled control with a place for its error, named by the
// API's field path.
export function field(name: string, label: string, control: HTMLElement, hint?: string | Node): HTMLElement {
  const ctl = control.matches("input,select,textarea") ? control : (control.querySelector("input,select,textarea") as HTMLElement) || control;
  const id = ctl.id || "fld-" + ++fieldSeq;
  ctl.id = id;
  const errId = id + "-err";
  ctl.setAttribute("aria-describedby", errId);
  return h("div", { class: "ff", "data-field": name },
    h("label", { for: id }, label), control,
    hint ? h("div", { class: "hint muted small" }, hint) : null,
    h("div", { class: "field-error", id: errId, role: "alert" }));
}

// --- Rules list ---

// Results of "evaluate now", kept for the tab so that the list can show
// the last value seen (the API keeps it only for rules that fired).
const evalKey = "genscope.alerts.eval";
function evals(): Record<string, EvalResult> {
  try {
    return JSON.parse(sessionStorage.getItem(evalKey) || "{}");
  } catch {
    return {};
  }
}
function saveEval(r: EvalResult) {
  const all = evals();
  all[r.rule_id] = r;
  sessionStorage.setItem(evalKey, JSON.stringify(all));
}

interface RuleLast {
  value: number | null;
  at: string;
  fresh?: EvalResult;
}

// last is the newest evaluation known of a rule: its alerts' or the tab's.
function last(r: Rule, alerts: Instance[]): RuleLast | null {
  const le = r.last_evaluation;
  let out: RuleLast | null = le ? { value: le.value, at: le.at } : null;
  for (const a of alerts) {
    if (a.rule_id === r.id && a.evaluated_at && (!out || a.evaluated_at > out.at)) out = { value: a.has_value ? a.value : null, at: a.evaluated_at };
  }
  const e = evals()[r.id];
  if (e && (!out || e.evaluated_at >= out.at)) out = { value: e.value, at: e.evaluated_at, fresh: e };
  return out;
}

function ruleRow(r: Rule, alerts: Instance[], groups: Map<string, string>): HTMLTableRowElement {
  const l = last(r, alerts);
  const mine = alerts.filter((a) => a.rule_id === r.id && a.state === "fired");
  const edit = href("/alerts/rules/" + encodeURIComponent(r.id));
  const actions = h("td", { class: "actions" });
  const evalBtn = h("button", { type: "button", class: "btn small eval", title: "evaluate the rule now (notifies when its state changes)" }, "Evaluate now");
  evalBtn.addEventListener("click", async () => {
    evalBtn.disabled = true;
    evalBtn.textContent = "Evaluating…";
    try {
      const res = await send<EvalResult>("POST", "alert-rules/" + encodeURIComponent(r.id) + "/evaluate");
      saveEval(res);
      const [rules, al] = await Promise.all([api<{ rules: Rule[] }>("alert-rules"), api<{ alerts: Instance[] }>("alerts")]);
      const fresh = rules.rules.find((x) => x.id === r.id) || { ...r, state: res.state };
      const row = ruleRow(fresh, al.alerts, groups);
      tr.replaceWith(row);
      (row.querySelector(".eval") as HTMLElement).focus();
      const n = al.alerts.filter((a) => a.state === "fired").length;
      const count = document.getElementById("fired-count");
      if (count) {
        count.textContent = String(n);
        count.classList.toggle("hidden", n === 0);
        count.setAttribute("aria-label", `${n} fired`);
      }
      const sum = document.getElementById("rules-summary");
      if (sum) sum.textContent = summary(rules.rules.length, n);
    } catch (err) {
      evalBtn.disabled = false;
      evalBtn.textContent = "Evaluate now";
      actions.querySelector(".eval-error")?.remove();
      add(actions, h("div", { class: "bad small eval-error", role: "alert" }, (err as Error).message));
    }
  });
  const may = canEdit();
  add(actions, may ? [evalBtn, " "] : null, h("a", { class: "btn small ghost", href: edit, "data-link": true }, r.read_only || !may ? "View" : "Edit"));
  if (!r.read_only && may) {
    add(actions, " ", deleteButton("Delete “" + r.name + "”", "alert-rules/" + encodeURIComponent(r.id), "delete this rule"));
  }
  const groupNames = (r.action_groups || []).map((g) => groups.get(g) || g);
  const tr = h("tr", { "data-rule": r.id, "data-state": r.state || "ok" },
    h("td", null, h("a", { href: edit, "data-link": true, class: "rule-name" }, r.name),
      r.description ? h("div", { class: "muted small" }, r.description) : null,
      h("div", { class: "muted small" }, groupNames.length ? "notifies " + groupNames.join(", ") : "notifies nobody (no action group)")),
    h("td", null, sevBadge(r.severity)),
    h("td", null, h("code", { class: "cond" }, condition(r)), h("div", { class: "muted small" }, filterText(r))),
    h("td", null, r.enabled ? "Enabled" : h("span", { class: "muted" }, "Disabled")),
    h("td", { class: "state" }, l || r.state === "fired" ? stateBadge(r.state) : h("span", { class: "badge alert-new", "data-state": "none", title: "the rule has not been evaluated since it was created" }, "not evaluated yet"),
      mine.length ? h("div", { class: "small" }, mine.map((a) => h("div", null, a.key ? a.key + ": " : "", fmtValue(r.signal, a.value)))) : null),
    h("td", { class: "last nowrap" }, l
      ? [h("div", { class: "value", "data-value": l.value === null ? "" : String(l.value) }, fmtValue(r.signal, l.value)),
        h("div", { class: "muted small", title: time(l.at) }, ago(l.at)),
        l.fresh ? h("div", { class: "small eval-result", role: "status" }, "Evaluated now: saw ", fmtValue(r.signal, l.fresh.value), " → ", stateBadge(l.fresh.state), l.fresh.changed ? " (changed)" : "") : null]
      : h("span", { class: "muted" }, "not yet")),
    h("td", null, r.read_only ? h("span", { class: "tag", title: "defined in the config file (alerts as code): read-only here" }, "config · read-only") : h("span", { class: "tag" }, "API")),
    actions,
  );
  return tr;
}

const summary = (n: number, fired: number) => ` — ${n} rule${n === 1 ? "" : "s"}, ${fired} fired`;

export async function rulesPage(main: HTMLElement, signal: AbortSignal) {
  const [rules, alerts, groups] = await Promise.all([
    api<{ rules: Rule[] }>("alert-rules", {}, undefined, signal),
    api<{ alerts: Instance[] }>("alerts", {}, undefined, signal),
    api<{ action_groups: { id: string; name: string }[] }>("action-groups", {}, undefined, signal),
  ]);
  const fired = alerts.alerts.filter((a) => a.state === "fired").length;
  const names = new Map(groups.action_groups.map((g) => [g.id, g.name]));
  add(main, tabs("rules", fired));
  const newBtn = canEdit() ? h("a", { class: "btn", href: href("/alerts/rules/new"), "data-link": true, id: "new-rule" }, "+ New alert rule") : null;
  if (rules.rules.length === 0) {
    add(main, h("section", { class: "card empty", "data-empty": "true" },
      h("h3", null, "No alert rules yet"),
      h("p", null, "An alert rule watches a signal of your model calls — for example “average duration of gpt-4o over 5 minutes > 4000 ms” — and notifies an action group when it fires."),
      h("ul", null,
        newBtn ? h("li", null, newBtn, " and watch its preview against your recent data.") : h("li", null, "An editor of this project can create one (your role here is ", access()?.role || "viewer", ")."),
        groups.action_groups.length ? null : h("li", null, "Say who gets notified: ", h("a", { href: href("/alerts/action-groups/new"), "data-link": true }, "create an action group"), " (email, webhook, Slack, Teams, PagerDuty)."),
        h("li", null, "Or keep rules in the config file under ", h("code", null, "alerts:"), " (alerts as code; read-only here)."),
      )));
    main.dataset.loaded = "true";
    return;
  }
  const rows = rules.rules.map((r) => ruleRow(r, alerts.alerts, names));
  add(main, h("section", { class: "card table-card" },
    h("div", { class: "table-head" }, h("h3", null, "Alert rules", h("span", { class: "muted small", id: "rules-summary" }, summary(rules.rules.length, fired))), newBtn),
    h("div", { class: "scroll" }, sortable(h("table", { class: "grid-table", id: "rules" },
      h("thead", null, h("tr", null, ["Name", "Severity", "Condition", "Enabled", "State", "Last evaluation", "Source", "Actions"].map((l) => h("th", l === "Actions" ? { "data-nosort": "" } : null, l)))),
      h("tbody", null, rows))))));
  main.dataset.loaded = "true";
}

// --- Fired alerts ---

function ruleLink(id: string, name: string): HTMLElement {
  return h("a", { href: href("/alerts/rules/" + encodeURIComponent(id)), "data-link": true }, name);
}

function alertTable(id: string, list: Instance[], signals: Map<string, string>, resolved: boolean): HTMLElement {
  return h("div", { class: "scroll" }, h("table", { class: "grid-table", id },
    h("thead", null, h("tr", null, ["Severity", "Rule", "Value", "Condition", resolved ? "Resolved" : "Fired", "Last evaluation", "Query"].map((l) => h("th", null, l)))),
    h("tbody", null, list.map((a) => {
      const sig = signals.get(a.rule_id) || "";
      return h("tr", { "data-alert": a.id, "data-rule": a.rule_id },
        h("td", null, sevBadge(a.severity)),
        h("td", null, ruleLink(a.rule_id, a.rule_name), a.key ? h("div", { class: "small" }, a.split_by + " = ", h("code", null, a.key)) : null),
        h("td", { class: "nowrap" }, h("strong", null, a.has_value ? fmtValue(sig, a.value) : "no data"),
          h("div", { class: "muted small" }, "fired at " + fmtValue(sig, a.fired_value))),
        h("td", { class: "nowrap" }, `${a.operator} ${a.threshold} ${unit(sig)}`),
        h("td", { class: "nowrap", title: time((resolved ? a.resolved_at : a.fired_at) || "") }, time((resolved ? a.resolved_at : a.fired_at) || "", false),
          h("div", { class: "muted small" }, ago((resolved ? a.resolved_at : a.fired_at) || ""))),
        h("td", { class: "nowrap" }, a.evaluated_at ? ago(a.evaluated_at) : "—"),
        h("td", null, h("code", { class: "query small" }, a.query)),
      );
    }))));
}

export async function firedPage(main: HTMLElement, signal: AbortSignal) {
  const [alerts, rules] = await Promise.all([
    api<{ alerts: Instance[] }>("alerts", {}, undefined, signal),
    api<{ rules: Rule[] }>("alert-rules", {}, undefined, signal),
  ]);
  const signals = new Map(rules.rules.map((r) => [r.id, r.signal]));
  const fired = alerts.alerts.filter((a) => a.state === "fired");
  const resolved = alerts.alerts.filter((a) => a.state === "resolved");
  add(main, tabs("fired", fired.length));
  if (fired.length === 0) {
    add(main, h("section", { class: "card empty", "data-empty": "true", id: "no-fired" },
      h("h3", null, "Nothing is firing"),
      h("p", null, rules.rules.length ? `None of the ${rules.rules.length} alert rules is fired right now.` : "There are no alert rules yet."),
      h("ul", null,
        h("li", null, rules.rules.length ? h("a", { href: href("/alerts"), "data-link": true }, "See the rules and evaluate one now") : h("a", { href: href("/alerts/rules/new"), "data-link": true }, "Create an alert rule"), "."),
        h("li", null, "Past state changes are in the ", h("a", { href: href("/alerts/history"), "data-link": true }, "history"), "."))));
  } else {
    add(main, h("section", { class: "card table-card" }, h("h3", null, "Fired alerts", h("span", { class: "muted small" }, " — open now, most recent first")),
      alertTable("fired", fired, signals, false)));
  }
  if (resolved.length) {
    add(main, h("section", { class: "card table-card" }, h("h3", null, "Resolved", h("span", { class: "muted small" }, " — fired before, now back within the threshold")),
      alertTable("resolved", resolved, signals, true)));
  }
  main.dataset.loaded = "true";
}

// --- History: state changes and notifications ---

interface Delivery {
  id: string;
  group_id: string;
  receiver: number;
  receiver_type: string;
  status: string;
  attempts: number;
  last_error?: string;
  created_at: string;
  updated_at: string;
  notification: { id: string; test?: boolean; rule: { id: string; name: string }; alert: { state: State; value: number; key?: string } };
}

interface Attempt {
  delivery_id: string;
  receiver_type: string;
  test?: boolean;
  attempt: number;
  time: string;
  duration_ms: number;
  ok: boolean;
  http_status?: number;
  error?: string;
}

export function attemptText(a: Pick<Attempt, "ok" | "http_status" | "duration_ms" | "error">): string {
  return `${a.ok ? "✓ delivered" : "✗ failed"}${a.http_status ? ", HTTP " + a.http_status : ""} in ${ms(a.duration_ms)}${a.error ? ": " + a.error : ""}`;
}

export async function historyPage(main: HTMLElement, signal: AbortSignal) {
  const ruleID = query().get("rule") || "";
  const [hist, notes, attempts, rules, groups, alerts] = await Promise.all([
    api<{ history: HistoryEvent[] }>("alerts/history", { rule_id: ruleID, limit: 200 }, undefined, signal),
    api<{ notifications: Delivery[] }>("notifications", { limit: 200 }, undefined, signal),
    api<{ attempts: Attempt[] }>("notifications/attempts", { limit: 200 }, undefined, signal),
    api<{ rules: Rule[] }>("alert-rules", {}, undefined, signal),
    api<{ action_groups: { id: string; name: string }[] }>("action-groups", {}, undefined, signal),
    api<{ alerts: Instance[] }>("alerts", {}, undefined, signal),
  ]);
  const signals = new Map(rules.rules.map((r) => [r.id, r.signal]));
  const names = new Map(groups.action_groups.map((g) => [g.id, g.name]));
  add(main, tabs("history", alerts.alerts.filter((a) => a.state === "fired").length));
  const sel = h("select", { id: "history-rule", onchange: () => update({ rule: sel.value }) },
    h("option", { value: "" }, "all rules"),
    rules.rules.map((r) => h("option", { value: r.id, selected: r.id === ruleID }, r.name)));
  add(main, h("div", { class: "filters" }, h("div", { class: "field" }, h("label", { for: "history-rule" }, "Rule"), sel)));

  add(main, h("section", { class: "card table-card" },
    h("h3", null, "State changes", h("span", { class: "muted small" }, " — newest first")),
    hist.history.length === 0
      ? h("div", { class: "empty", "data-empty": "true" }, h("p", null, "No state changes yet: an alert appears here when its rule fires or resolves."),
        h("p", null, h("a", { href: href("/alerts"), "data-link": true }, "Evaluate a rule now"), " to check it against the current data."))
      : h("div", { class: "scroll" }, h("table", { class: "grid-table", id: "history" },
        h("thead", null, h("tr", null, ["Time", "Severity", "Rule", "Change", "Value", "Condition", "Query"].map((l) => h("th", null, l)))),
        h("tbody", null, hist.history.map((e) => {
          const sig = signals.get(e.rule_id) || "";
          return h("tr", { "data-to": e.to },
            h("td", { class: "nowrap", title: time(e.time) }, time(e.time, false)),
            h("td", null, sevBadge(e.severity)),
            h("td", null, ruleLink(e.rule_id, e.rule_name), e.key ? h("div", { class: "small" }, h("code", null, e.key)) : null),
            h("td", { class: "nowrap" }, stateBadge(e.from), " → ", stateBadge(e.to)),
            h("td", { class: "nowrap" }, e.has_value ? fmtValue(sig, e.value) : "no data"),
            h("td", { class: "nowrap" }, `${e.operator} ${e.threshold} ${unit(sig)}`),
            h("td", null, h("code", { class: "query small" }, e.query)));
        }))))));

  const list = notes.notifications.filter((d) => !ruleID || d.notification.rule.id === ruleID);
  add(main, h("section", { class: "card table-card" },
    h("h3", null, "Notifications", h("span", { class: "muted small" }, " — one per receiver and state change (and test); open one for its attempts")),
    list.length === 0
      ? h("div", { class: "empty", "data-empty": "true" }, h("p", null, "No notifications yet. A rule notifies its action groups when its state changes; ",
        h("a", { href: href("/alerts/action-groups"), "data-link": true }, "send a test notification"), " to check a receiver."))
      : h("div", { class: "scroll" }, h("table", { class: "grid-table", id: "notifications" },
        h("thead", null, h("tr", null, ["Time", "Rule", "State", "Action group", "Receiver", "Outcome", "Attempts"].map((l) => h("th", null, l)))),
        h("tbody", null, list.map((d) => {
          const box = h("div", { class: "attempts small" });
          const det = h("details", null, h("summary", null, `${d.attempts} attempt${d.attempts === 1 ? "" : "s"}`), box);
          det.addEventListener("toggle", async () => {
            if (!det.open || box.dataset.loaded) return;
            box.dataset.loaded = "1";
            box.textContent = "Loading…";
            try {
              const at = await api<{ attempts: Attempt[] }>("notifications/attempts", { delivery_id: d.id, limit: 50 });
              box.replaceChildren(at.attempts.length ? h("ol", null, at.attempts.slice().reverse().map((a) =>
                h("li", { class: a.ok ? "" : "bad" }, time(a.time), " — ", attemptText(a)))) : h("p", { class: "muted" }, "No attempt yet."));
            } catch (err) {
              box.textContent = (err as Error).message;
            }
          });
          return h("tr", { "data-delivery": d.id, "data-status": d.status },
            h("td", { class: "nowrap", title: time(d.created_at) }, time(d.created_at, false)),
            h("td", null, d.notification.test ? h("span", { class: "tag" }, "test") : ruleLink(d.notification.rule.id, d.notification.rule.name)),
            h("td", null, stateBadge(d.notification.alert.state)),
            h("td", null, names.get(d.group_id) || d.group_id),
            h("td", null, `#${d.receiver + 1} ${d.receiver_type}`),
            h("td", null, h("span", { class: "badge " + (d.status === "sent" ? "st-ok" : d.status === "failed" ? "st-error" : "st-unset") }, d.status),
              d.last_error ? h("div", { class: "bad small" }, d.last_error) : null),
            h("td", null, det));
        }))))));

  // Test notifications are sent once, outside the log: their attempts.
  const tests = ruleID ? [] : attempts.attempts.filter((a) => a.test);
  if (tests.length) {
    add(main, h("section", { class: "card table-card" },
      h("h3", null, "Test notifications", h("span", { class: "muted small" }, " — sent from an action group, newest first")),
      h("div", { class: "scroll" }, h("table", { class: "grid-table", id: "test-attempts" },
        h("thead", null, h("tr", null, ["Time", "Action group", "Receiver", "Outcome"].map((l) => h("th", null, l)))),
        h("tbody", null, tests.map((a) => {
          const [, gid, idx] = a.delivery_id.split("/");
          return h("tr", { "data-ok": String(a.ok) },
            h("td", { class: "nowrap", title: time(a.time) }, time(a.time, false)),
            h("td", null, names.get(gid) || gid),
            h("td", null, `#${Number(idx) + 1} ${a.receiver_type}`),
            h("td", { class: a.ok ? "good" : "bad" }, attemptText(a)));
        }))))));
  }
  main.dataset.loaded = "true";
}

// deleteButton is a Delete button that asks first (confirm is the text
// of the confirming button), then deletes path and reloads the page; an
// error shows next to the button.
export function deleteButton(confirm: string, path: string, title?: string): HTMLButtonElement {
  const del = h("button", { type: "button", class: "btn small ghost danger", title }, "Delete");
  del.addEventListener("click", () => {
    const yes = h("button", { type: "button", class: "btn small danger-solid" }, confirm);
    const no = h("button", { type: "button", class: "btn small ghost" }, "Cancel");
    const box = h("span", { class: "confirm", role: "group", "aria-label": "confirm delete" }, yes, " ", no);
    del.replaceWith(box);
    yes.focus();
    no.addEventListener("click", () => {
      box.replaceWith(del);
      del.focus();
    });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await send("DELETE", path);
        go(location.pathname + location.search, true);
      } catch (err) {
        box.replaceWith(del, h("div", { class: "bad small", role: "alert" }, (err as Error).message));
      }
    });
  });
  return del;
}
