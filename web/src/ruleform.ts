// The alert rule form, shaped like Azure Monitor's: scope (filters),
// condition (signal, aggregation, operator, threshold, window, frequency)
// with a preview of the signal against the threshold, actions, details.
import { chart, dropCharts, Line } from "./charts";
import { clearErrors, countSignal, unmarkOnEdit, dur, field, fmtValue, Rule, SEVERITIES, showErrors, SIGNALS, tabs, unit } from "./alerts";
import { api, APIError, go, href, project, send, canEdit } from "./state";
import { add, h } from "./util";

const AGGS: [string, string][] = [
  ["", "default (avg for durations, total otherwise)"], ["avg", "Average"], ["min", "Minimum"], ["max", "Maximum"], ["total", "Total"],
  ["count", "Count"], ["p50", "p50"], ["p90", "p90"], ["p95", "p95"], ["p99", "p99"], ["pass_rate", "Pass rate of labels (scores)"],
];
// A score signal (score.<name>) takes these aggregations.
const SCORE_AGGS = new Set(["", "avg", "min", "max", "count", "pass_rate"]);
const WINDOWS = ["1m", "5m", "10m", "15m", "30m", "1h", "3h", "6h", "12h", "24h"];
const FREQS = ["1m", "5m", "10m", "15m", "30m", "1h"];
const DIMS = ["service", "provider", "model", "operation"];

interface Preview {
  threshold: number;
  operator: string;
  interval: string;
  from: string;
  to: string;
  series: { group: string; points: { time: string; value: number }[] }[] | null;
  current: { key: string; value: number; calls: number; count: number }[] | null;
}

// seconds parses a Go duration ("1h30m0s", "5m").
function seconds(d: string): number {
  let s = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)) s += Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
  return s;
}

function options(list: [string, string][] | string[], value: string): HTMLOptionElement[] {
  const items = list.map((x) => (typeof x === "string" ? [x, x] : x)) as [string, string][];
  if (value && !items.some(([v]) => v === value)) items.push([value, value]);
  return items.map(([v, l]) => h("option", { value: v, selected: v === value }, l));
}

// numOrRaw sends a number when the text is one, else the text itself (the
// server answers with a 400 naming the field).
function numOrRaw(v: string): number | string {
  const t = v.trim();
  return t !== "" && isFinite(Number(t)) ? Number(t) : t;
}

export async function ruleFormPage(main: HTMLElement, id: string | null, signal: AbortSignal) {
  const [existing, groups] = await Promise.all([
    id ? api<Rule>("alert-rules/" + encodeURIComponent(id), {}, undefined, signal) : Promise.resolve(null),
    api<{ action_groups: { id: string; name: string; receivers: { type: string }[] }[] }>("action-groups", {}, undefined, signal),
  ]);
  const r: Rule = existing || {
    id: "", name: "", description: "", severity: 3, enabled: true, signal: "duration_ms", aggregation: "avg", filters: project() ? { project: project() } : {},
    operator: ">", threshold: 4000, window: "5m", frequency: "1m", violations: 1, evaluations: 1, no_data: "keep", auto_resolve: true,
    action_groups: [], split_by: "", read_only: false,
  };
  const ro = r.read_only || !canEdit();
  add(main, tabs("rules"), h("p", null, h("a", { href: href("/alerts"), "data-link": true }, "← All alert rules")));
  if (!r.read_only && ro) {
    add(main, h("p", { class: "notice", role: "note", id: "read-only-role" }, "You can look at this rule but not change it: that needs the editor role in the project."));
  } else if (ro) {
    add(main, h("p", { class: "notice", role: "note" }, "This rule is defined in the config file (alerts as code), so it is read-only here. Change it in the file and restart genscope."));
  }

  // Scope: the calls the rule looks at.
  const dimInputs = new Map<string, HTMLInputElement>();
  const filt = (k: string) => {
    const inp = h("input", { type: "text", id: "rule-" + k, value: r.filters?.[k] || "", placeholder: "any", list: "rdl-" + k, autocomplete: "off", spellcheck: "false" });
    let loaded = false;
    inp.addEventListener("focus", () => {
      if (loaded) return;
      loaded = true;
      const to = new Date(), from = new Date(to.getTime() - 7 * 86400e3);
      api<{ rows: { key: string }[] }>("breakdown", { by: k, limit: 100, from: from.toISOString(), to: to.toISOString() })
        .then((b) => document.getElementById("rdl-" + k)?.replaceChildren(...b.rows.filter((x) => x.key).map((x) => h("option", { value: x.key }))))
        .catch(() => {});
    });
    dimInputs.set(k, inp);
    return [field("filters." + k, k[0].toUpperCase() + k.slice(1), inp), h("datalist", { id: "rdl-" + k })];
  };
  const status = h("select", { id: "rule-status" }, options([["", "any"], ["ok", "ok"], ["error", "error"], ["unset", "unset"]], r.filters?.status || ""));

  // Condition.
  // A score signal is "score" in the list plus the score's name.
  const isScore = r.signal.startsWith("score.");
  const sig = h("select", { id: "rule-signal" }, options([...SIGNALS, ["score", "Score (quality)"]], isScore ? "score" : r.signal));
  const scoreName = h("input", { type: "text", id: "rule-score-name", value: isScore ? r.signal.slice(6) : "", maxlength: "200", placeholder: "e.g. helpfulness", autocomplete: "off", spellcheck: "false" });
  const scoreField = field("signal", "Score name", scoreName, "the scores of this name given in the window; project scope only, no split");
  const agg = h("select", { id: "rule-aggregation" }, options(AGGS, r.aggregation));
  const aggNote = h("div", { class: "hint muted small" });
  const op = h("select", { id: "rule-operator" }, options([[">", "Greater than (>)"], [">=", "Greater than or equal (>=)"], ["<", "Less than (<)"], ["<=", "Less than or equal (<=)"]], r.operator));
  const thr = h("input", { type: "text", id: "rule-threshold", inputmode: "decimal", value: String(r.threshold), autocomplete: "off", required: true });
  const thrUnit = h("span", { class: "unit muted" });
  const win = h("select", { id: "rule-window" }, options(WINDOWS, dur(r.window)));
  const freq = h("select", { id: "rule-frequency" }, options(FREQS, dur(r.frequency)));
  const viol = h("input", { type: "number", id: "rule-violations", min: "1", max: "100", step: "1", value: String(r.violations), class: "short" });
  const evals = h("input", { type: "number", id: "rule-evaluations", "aria-label": "out of how many of the last evaluations", min: "1", max: "100", step: "1", value: String(r.evaluations), class: "short" });
  const noData = h("select", { id: "rule-no-data" }, options([["keep", "Keep the state (no change)"], ["ok", "Treat as OK"], ["fire", "Treat as violated (fire)"]], r.no_data));
  const autoRes = h("input", { type: "checkbox", id: "rule-auto-resolve", checked: r.auto_resolve });
  const split = h("select", { id: "rule-split-by" }, options([["", "none: one alert for the rule"], ["model", "model"], ["provider", "provider"], ["service", "service"], ["operation", "operation"], ["status", "status"]], r.split_by));

  // Actions.
  const chosen = new Set(r.action_groups || []);
  const groupBox = h("fieldset", { class: "checks", id: "rule-action-groups" },
    h("legend", { class: "sr-only" }, "Action groups"),
    groups.action_groups.length
      ? groups.action_groups.map((g) => h("label", { class: "inline check" },
        h("input", { type: "checkbox", name: "action_group", value: g.id, checked: chosen.has(g.id) }),
        " ", g.name, h("span", { class: "muted small" }, " (" + g.receivers.map((x) => x.type).join(", ") + ")")))
      : h("p", { class: "muted" }, "No action groups yet: the rule will fire without notifying anyone. ",
        h("a", { href: href("/alerts/action-groups/new"), "data-link": true }, "Create an action group"), " first, or add one later."),
    chosen.size ? [...chosen].filter((g) => !groups.action_groups.some((x) => x.id === g)).map((g) =>
      h("label", { class: "inline check" }, h("input", { type: "checkbox", name: "action_group", value: g, checked: true }), " ", h("code", null, g), h("span", { class: "bad small" }, " (no such group)"))) : null);

  // Details.
  const name = h("input", { type: "text", id: "rule-name", value: r.name, required: true, maxlength: "200", placeholder: "slow gpt-4o" });
  const desc = h("textarea", { id: "rule-description", rows: "2", maxlength: "4000" }, r.description);
  const sev = h("select", { id: "rule-severity" }, SEVERITIES.map((l, i) => h("option", { value: String(i), selected: i === r.severity }, l)));
  const enabled = h("input", { type: "checkbox", id: "rule-enabled", checked: r.enabled });

  const general = h("div", { class: "error-box hidden", id: "form-error", role: "alert", tabindex: "-1" });
  const saveBtn = h("button", { type: "submit", class: "btn", id: "save-rule" }, existing ? "Save changes" : "Create alert rule");

  const body = (): Record<string, unknown> => {
    const f: Record<string, string> = {};
    for (const k of DIMS) {
      const v = dimInputs.get(k)!.value.trim();
      if (v) f[k] = v;
    }
    if (status.value) f.status = status.value;
    if (r.filters?.project) f.project = r.filters.project;
    return {
      name: name.value.trim(), description: desc.value, severity: Number(sev.value), enabled: enabled.checked,
      signal: sig.value === "score" ? "score." + scoreName.value.trim() : sig.value, aggregation: countSignal(sig.value) ? "" : agg.value, operator: op.value, threshold: numOrRaw(thr.value),
      window: win.value, frequency: freq.value, violations: numOrRaw(viol.value), evaluations: numOrRaw(evals.value),
      no_data: noData.value, auto_resolve: autoRes.checked, split_by: split.value, filters: f,
      action_groups: [...groupBox.querySelectorAll<HTMLInputElement>("input[name=action_group]:checked")].map((x) => x.value),
    };
  };

  // The preview: the signal per window over recent time, and the threshold.
  const previewBox = h("div", { class: "preview-body", id: "preview", "aria-live": "polite" }, h("p", { class: "muted" }, "Loading the preview…"));
  const nowLine = h("p", { class: "small", id: "preview-now" });
  let pending: AbortController | null = null;
  let timer = 0;
  signal.addEventListener("abort", () => {
    clearTimeout(timer);
    pending?.abort();
  });
  const preview = async () => {
    if (signal.aborted) return;
    pending?.abort();
    const ctl = new AbortController();
    pending = ctl;
    const b = body();
    // What the server would refuse is not sent: the preview says what to fix
    // (and the browser logs no failed request while the user types).
    const sc = String(b.signal).startsWith("score.");
    const local = sc && (b.signal === "score." || /[^]{207}/.test(String(b.signal))) ? "give the score's name (up to 200 bytes)"
      : sc && !SCORE_AGGS.has(String(b.aggregation)) ? "a score signal takes avg, min, max, count or pass rate"
      : sc && (Object.keys(b.filters as object).some((k) => k !== "project") || b.split_by) ? "a score signal takes no filter but the project, and no split"
      : !sc && b.aggregation === "pass_rate" ? "pass rate is for score signals"
      : typeof b.threshold !== "number" ? "enter a number for the threshold"
      : typeof b.evaluations !== "number" || !Number.isInteger(b.evaluations) || b.evaluations < 1 || b.evaluations > 100 ? "evaluations: a whole number from 1 to 100"
        : typeof b.violations !== "number" || !Number.isInteger(b.violations) || b.violations < 1 || b.violations > b.evaluations ? "violations: a whole number from 1 to the evaluations"
          : "";
    if (local) {
      ctl.abort();
      dropCharts(previewBox);
      previewBox.replaceChildren(h("p", { class: "muted", "data-preview": "error" }, "Fix the rule to see its preview: ", h("span", { class: "bad" }, local), "."));
      nowLine.textContent = "";
      return;
    }
    const win = seconds(String(b.window));
    const points = Math.min(60, Math.max(7, Math.floor((7 * 86400) / Math.max(win, 60))));
    try {
      const p = await send<Preview>("POST", "alert-rules/preview?points=" + points, { ...b, name: b.name || "preview" }, ctl.signal);
      if (ctl.signal.aborted || signal.aborted) return;
      drawPreview(p, b);
    } catch (err) {
      if (ctl.signal.aborted || signal.aborted || (err as Error).name === "AbortError") return;
      dropCharts(previewBox);
      previewBox.replaceChildren(h("p", { class: "muted", "data-preview": "error" }, "Fix the rule to see its preview: ", h("span", { class: "bad" }, (err as Error).message)));
      nowLine.textContent = "";
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = window.setTimeout(preview, 400);
  };
  const drawPreview = (p: Preview, b: Record<string, unknown>) => {
    const signalName = String(b.signal);
    const step = seconds(p.interval) || 60;
    const start = Math.floor(new Date(p.from).getTime() / 1000 / step) * step;
    const end = new Date(p.to).getTime() / 1000;
    const times: number[] = [];
    for (let t = start; t < end; t += step) times.push(t);
    const idx = new Map(times.map((t, i) => [t, i]));
    const a = String(b.aggregation);
    const zero = countSignal(signalName) && signalName !== "error_rate" || a === "total" || a === "count" || (a === "" && !/_ms$|error_rate/.test(signalName));
    const colors = ["--c1", "--c2", "--c4", "--c5", "--c3"];
    const lines: Line[] = (p.series || []).map((s, i) => {
      const vals: (number | null)[] = times.map(() => (zero ? 0 : null));
      for (const pt of s.points) {
        const j = idx.get(Math.round(new Date(pt.time).getTime() / 1000));
        if (j !== undefined) vals[j] = pt.value;
      }
      return { label: s.group || signalName, values: vals, color: colors[i % colors.length] };
    });
    if (lines.length === 0) lines.push({ label: signalName, values: times.map(() => (zero ? 0 : null)), color: "--c1" });
    lines.push({ label: `threshold ${p.operator} ${p.threshold}`, values: times.map(() => p.threshold), color: "--err", dash: [6, 4] });
    const fmt = (v: number) => fmtValue(signalName, v);
    dropCharts(previewBox);
    const card = chart({ title: "Preview", unit: `${unit(signalName)}, per ${dur(p.interval)} window`, times, lines, fmt, axis: (v) => String(+v.toPrecision(3)) }, Math.max(260, previewBox.clientWidth - 4));
    card.classList.remove("card");
    card.dataset.preview = "ok";
    previewBox.replaceChildren(card);
    let cur = p.current || [];
    const viol = (v: number) => (p.operator === ">" ? v > p.threshold : p.operator === ">=" ? v >= p.threshold : p.operator === "<" ? v < p.threshold : v <= p.threshold);
    // As the engine decides: a count, total or number of calls is data even
    // when 0; an average or percentile over no calls is not.
    const hasData = (c: { count: number }) => c.count > 0 || signalName === "calls" || signalName === "errors" ||
      (signalName !== "error_rate" && (a === "total" || a === "sum" || a === "count" || (a === "" && !/_ms$/.test(signalName))));
    cur = cur.filter(hasData);
    nowLine.replaceChildren(cur.length === 0
      ? "An evaluation now would see no data over the last " + dur(String(b.window)) + "."
      : h("span", null, "An evaluation now would see ", cur.map((c, i) => [i ? ", " : "", c.key ? c.key + ": " : "", h("strong", null, fmtValue(signalName, c.value)),
        viol(c.value) ? h("span", { class: "bad" }, " (violates)") : h("span", { class: "good" }, " (OK)")]), "."));
  };

  const syncAgg = () => {
    const c = countSignal(sig.value);
    const score = sig.value === "score";
    agg.disabled = c || ro;
    aggNote.textContent = c ? `${sig.value} is a ${sig.value === "error_rate" ? "rate" : "count"} over the window: no aggregation.`
      : score ? "Average (the default), minimum, maximum, count, or pass rate of labels (pass, good, yes… among those and fail, bad, no…)." : "";
    for (const o of agg.options) o.disabled = score ? !SCORE_AGGS.has(o.value) : o.value === "pass_rate";
    scoreField.classList.toggle("hidden", !score);
    thrUnit.textContent = score ? (agg.value === "pass_rate" ? "(fraction of labels)" : "") : unit(sig.value);
  };
  agg.addEventListener("change", syncAgg);
  sig.addEventListener("change", syncAgg);
  syncAgg();

  const form = h("form", { class: "rule-form", id: "rule-form", novalidate: true, "aria-label": "alert rule" },
    h("fieldset", { disabled: ro, class: "plain" },
      h("section", { class: "card" },
        h("h3", null, "Scope"),
        h("p", { class: "muted small" }, "The calls the rule looks at; empty means all.", r.filters?.project ? [" Project ", h("code", { id: "rule-project" }, r.filters.project), "."] : null),
        h("div", { class: "grid-fields" }, DIMS.map(filt), field("filters.status", "Status", status))),
      h("section", { class: "card" },
        h("h3", null, "Condition"),
        h("div", { class: "grid-fields" },
          field("signal", "Signal", sig),
          scoreField,
          field("aggregation", "Aggregation", agg, aggNote),
          field("operator", "Operator", op),
          field("threshold", "Threshold", h("span", { class: "with-unit" }, thr, thrUnit)),
          field("window", "Window (aggregation granularity)", win, "1 minute to 24 hours"),
          field("frequency", "Frequency of evaluation", freq, "1 minute to 1 hour")),
        h("div", { class: "preview card-inset" }, previewBox, nowLine),
        h("h4", null, "Advanced"),
        h("div", { class: "grid-fields" },
          h("div", { class: "ff wide", "data-field": "violations" },
            h("label", { for: "rule-violations" }, "Violations to fire"),
            h("span", { class: "with-unit" }, viol, h("span", { "data-field": "evaluations", class: "inline-field" }, " of the last ", evals, " evaluations",
              h("div", { class: "field-error", role: "alert" }))),
            h("div", { class: "field-error", id: "rule-violations-err", role: "alert" })),
          field("no_data", "When there is no data", noData),
          field("split_by", "Split by dimension", split, "one alert per value"),
          h("div", { class: "ff", "data-field": "auto_resolve" }, h("label", { class: "inline" }, autoRes, " Automatically resolve alerts"), h("div", { class: "field-error", role: "alert" })))),
      h("section", { class: "card" },
        h("h3", null, "Actions"),
        h("p", { class: "muted small" }, "Action groups to notify when an alert fires and when it resolves."),
        h("div", { class: "ff", "data-field": "action_groups" }, groupBox, h("div", { class: "field-error", role: "alert" }))),
      h("section", { class: "card" },
        h("h3", null, "Details"),
        h("div", { class: "grid-fields" },
          field("name", "Alert rule name", name),
          field("severity", "Severity", sev),
          h("div", { class: "ff", "data-field": "enabled" }, h("label", { class: "inline" }, enabled, " Enabled"), h("div", { class: "field-error", role: "alert" }))),
        field("description", "Description", desc)),
    ),
    general,
    ro ? null : h("div", { class: "form-buttons" }, saveBtn, " ", h("a", { class: "btn ghost", href: href("/alerts"), "data-link": true }, "Cancel")),
  );
  viol.setAttribute("aria-describedby", "rule-violations-err");
  unmarkOnEdit(form);
  form.addEventListener("input", schedule);
  form.addEventListener("change", () => {
    clearTimeout(timer);
    void preview();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (ro) return;
    clearErrors(form, general);
    saveBtn.disabled = true;
    try {
      if (existing) await send("PUT", "alert-rules/" + encodeURIComponent(existing.id), body());
      else await send("POST", "alert-rules", body());
      go(href("/alerts"));
    } catch (err) {
      saveBtn.disabled = false;
      const msg = (err as Error).message;
      const first = err instanceof APIError && err.status === 400 ? showErrors(form, general, msg) : null;
      if (!first) {
        general.textContent = msg;
        general.classList.remove("hidden");
      }
      (first || general).focus();
      void preview();
    }
  });
  add(main, form);
  await preview();
  main.dataset.loaded = "true";
}
