// The filter bar's "More filters": multi-select with a contains search for
// service, model and user, thresholds, attribute and score filters. Everything
// lives in the URL (state.BAR), so links and saved views keep it.
import { api, barParams, canSeeContent, MATCHES, query, Range, THRESHOLDS, update } from "./state";
import { h } from "./util";

const matchLabels: Record<string, string> = { service: "Services", model: "Models", user: "Users" };

// moreFilters is the collapsible section; open while any of its filters
// is set, so applying one keeps it in view.
export function moreFilters(r: Range): HTMLElement {
  const n = barParams().length;
  return h("details", { class: "more-filters", id: "more-filters", open: n > 0 },
    h("summary", null, "More filters" + (n ? ` (${n})` : "")),
    h("div", { class: "more-body" },
      h("div", { class: "ms-row" }, MATCHES.map((m) => multiSelect(m, r))),
      thresholds(),
      attrFilters(),
      scoreFilters()));
}

// multiSelect picks any of a dimension's values (from the data), found
// by a search box whose text can also be the filter itself ("contains").
function multiSelect(dim: string, r: Range): HTMLElement {
  const q = query();
  const chosen = new Set(q.getAll(dim + "_in").filter((v) => v));
  const contains = q.get(dim + "_contains") || "";
  const id = "ms-" + dim;
  const count = chosen.size + (contains ? 1 : 0);
  const search = h("input", { type: "search", id: id + "-search", autocomplete: "off", spellcheck: "false", placeholder: "type to find", value: contains });
  const list = h("ul", { class: "plain-list ms-list", id: id + "-list", "aria-label": matchLabels[dim] });
  let values: string[] = [...chosen];
  const draw = () => {
    const needle = search.value.trim().toLowerCase();
    const shown = values.filter((v) => !needle || v.toLowerCase().includes(needle) || chosen.has(v)).slice(0, 100);
    list.replaceChildren(...(shown.length ? shown.map((v, i) => h("li", null,
      h("label", { class: "check" }, h("input", {
        type: "checkbox", id: `${id}-opt-${i}`, value: v, checked: chosen.has(v),
        onchange: (e: Event) => ((e.target as HTMLInputElement).checked ? chosen.add(v) : chosen.delete(v)),
      }), " ", v))) : [h("li", { class: "muted small" }, needle ? "No value contains this text." : "No values in this range.")]));
  };
  draw();
  search.addEventListener("input", draw);
  let loaded = false;
  const apply = () => update({ [dim + "_in"]: [...chosen], [dim + "_contains"]: search.value.trim(), cursor: "" });
  const menu = h("details", {
    class: "col-picker ms", id,
    ontoggle: () => {
      if (!menu.open || loaded) return;
      loaded = true;
      // The values of the range with the other filters, not this one's.
      api<{ rows: { key: string }[] }>("breakdown", { by: dim, limit: 1000, [dim]: "", [dim + "_in"]: "", [dim + "_contains"]: "" }, r)
        .then((b) => {
          values = [...new Set([...chosen, ...b.rows.map((x) => x.key).filter((k) => k)])].sort();
          draw();
        })
        .catch(() => {});
    },
  },
  h("summary", { "aria-label": `${matchLabels[dim]}: ${count ? count + " chosen" : "any"}` }, matchLabels[dim] + (count ? ` (${count})` : "")),
  h("div", { class: "menu" },
    h("label", { for: search.id, class: "small" }, `Find ${dim === "user" ? "a user" : "a " + dim}`),
    search, list,
    h("label", { class: "check small" }, h("input", {
      type: "checkbox", id: id + "-contains", checked: !!contains,
      onchange: (e: Event) => { if (!(e.target as HTMLInputElement).checked) search.value = ""; },
    }), " also any containing the text"),
    h("div", { class: "form-row" },
      h("button", {
        type: "button", class: "btn small", id: id + "-apply", onclick: () => {
          const keep = (document.getElementById(id + "-contains") as HTMLInputElement).checked;
          if (!keep) search.value = "";
          apply();
        },
      }, "Apply"),
      count ? h("button", { type: "button", class: "btn small ghost", onclick: () => update({ [dim + "_in"]: [], [dim + "_contains"]: "", cursor: "" }) }, "Any") : null)));
  search.addEventListener("keydown", (e: KeyboardEvent) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    (document.getElementById(id + "-contains") as HTMLInputElement).checked = !!search.value.trim();
    apply();
  });
  return menu;
}

// thresholds are "more than" and "less than" bounds of duration, tokens
// and cost.
function thresholds(): HTMLElement {
  const q = query();
  return h("div", { class: "thresholds" }, THRESHOLDS.map(([m, label, unit]) => h("fieldset", { class: "threshold" },
    h("legend", null, `${label} (${unit})`),
    (["gt", "lt"] as const).map((op) => {
      const key = `${m}_${op}`;
      const inp = h("input", {
        type: "number", id: "t-" + key, name: key, min: "0", step: "any", inputmode: "decimal", value: q.get(key) || "",
        onchange: () => update({ [key]: inp.value.trim(), cursor: "" }),
      });
      return h("label", { class: "small" }, op === "gt" ? "more than " : "less than ", inp);
    }))));
}

const opLabels: Record<string, string> = { exists: "exists", eq: "=", contains: "contains" };

// parseAttr reads an attr value (as the API does): KEY==VALUE, KEY~=VALUE
// or KEY.
function parseAttr(v: string): { key: string; op: string; value: string } {
  const eq = v.indexOf("=="), ct = v.indexOf("~=");
  if (eq >= 0 && (ct < 0 || eq < ct)) return { key: v.slice(0, eq), op: "eq", value: v.slice(eq + 2) };
  if (ct >= 0) return { key: v.slice(0, ct), op: "contains", value: v.slice(ct + 2) };
  return { key: v, op: "exists", value: "" };
}

// attrFilters lists the attribute filters (each removable) and adds one.
function attrFilters(): HTMLElement {
  const attrs = query().getAll("attr").filter((v) => v);
  const rows = attrs.map((v, i) => {
    const a = parseAttr(v);
    return h("li", { class: "attr-row" },
      h("code", null, a.key), " ", h("span", { class: "muted" }, opLabels[a.op]), a.op === "exists" ? null : [" ", h("code", null, a.value)], " ",
      h("button", {
        type: "button", class: "btn small ghost", "aria-label": `remove the filter on ${a.key}`,
        onclick: () => update({ attr: attrs.filter((_, j) => j !== i), cursor: "" }),
      }, "✕"));
  });
  const key = h("input", { type: "text", id: "attr-key", autocomplete: "off", spellcheck: "false", placeholder: "e.g. http.route", maxlength: "256" });
  const op = h("select", { id: "attr-op" }, Object.entries(opLabels).map(([v, l]) => h("option", { value: v, selected: v === "eq" }, l)));
  const value = h("input", { type: "text", id: "attr-value", autocomplete: "off", spellcheck: "false", maxlength: "1000" });
  const err = h("span", { class: "field-error", id: "attr-error", role: "alert" });
  const add = () => {
    const k = key.value.trim();
    if (!k || /["\\\u0000-\u001f]/.test(k) || (op.value === "contains" && !value.value)) {
      err.textContent = !k ? "Give an attribute key." : op.value === "contains" ? "Give the text to look for." : "A key has no quotes, backslashes or control characters.";
      (k ? value : key).focus();
      return;
    }
    const v = op.value === "exists" ? k : k + (op.value === "eq" ? "==" : "~=") + value.value;
    update({ attr: [...attrs, v], cursor: "" });
  };
  const form = h("div", { class: "attr-add" },
    h("div", { class: "field" }, h("label", { for: "attr-key" }, "Attribute"), key),
    h("div", { class: "field" }, h("label", { for: "attr-op" }, "Operator"), op),
    h("div", { class: "field" }, h("label", { for: "attr-value" }, "Value"), value),
    h("button", { type: "button", class: "btn small", id: "attr-add", onclick: add }, "Add"));
  for (const inp of [key, value]) inp.addEventListener("keydown", (e: KeyboardEvent) => { if (e.key === "Enter") { e.preventDefault(); add(); } });
  return h("div", { class: "attrs" },
    h("h4", { class: "small" }, "Span attributes"),
    rows.length ? h("ul", { class: "plain-list", id: "attr-list" }, rows) : null,
    form, err,
    canSeeContent() ? null : h("p", { class: "muted tiny" }, "Without the content permission only metadata attributes (model, tokens, route, ids …) can be filtered on."));
}

const scoreOps: Record<string, string> = { "<": "below", ">": "above", "=": "label is", "": "exists" };

// parseScore reads a score value (as the API does): NAME<N, NAME>N,
// NAME=LABEL or NAME, at the first <, > or =.
function parseScore(v: string): { name: string; op: string; value: string } {
  const i = v.search(/[<>=]/);
  if (i < 0) return { name: v.trim(), op: "", value: "" };
  return { name: v.slice(0, i).trim(), op: v[i], value: v.slice(i + 1).trim() };
}

// scoreFilters lists the score filters (each removable) and adds one:
// the calls with a score of theirs of the name below or above a value,
// with a label, or any.
function scoreFilters(): HTMLElement {
  const scores = query().getAll("score").filter((v) => v);
  const rows = scores.map((v, i) => {
    const s = parseScore(v);
    return h("li", { class: "attr-row", "data-score-filter": v },
      h("code", null, s.name), " ", h("span", { class: "muted" }, scoreOps[s.op] ?? s.op), s.op ? [" ", h("code", null, s.value)] : null, " ",
      h("button", {
        type: "button", class: "btn small ghost", "aria-label": `remove the filter on the score ${s.name}`,
        onclick: () => update({ score: scores.filter((_, j) => j !== i), cursor: "" }),
      }, "✕"));
  });
  const name = h("input", { type: "text", id: "score-f-name", autocomplete: "off", spellcheck: "false", placeholder: "e.g. helpfulness", maxlength: "200" });
  const op = h("select", { id: "score-f-op" }, Object.entries(scoreOps).map(([v, l]) => h("option", { value: v, selected: v === "<" }, l)));
  const value = h("input", { type: "text", id: "score-f-value", autocomplete: "off", spellcheck: "false", maxlength: "200", placeholder: "0.5 or a label" });
  const err = h("span", { class: "field-error", id: "score-f-error", role: "alert" });
  const add = () => {
    const n = name.value.trim(), v = value.value.trim();
    const numeric = op.value === "<" || op.value === ">";
    let msg = "";
    if (!n) msg = "Give a score name.";
    else if (/[<>=]/.test(n)) msg = "A score name to filter on has no <, > or =.";
    else if (numeric && !/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v)) msg = "Give a number to compare with.";
    else if (op.value === "=" && !v) msg = "Give the label.";
    if (msg) {
      err.textContent = msg;
      (n ? value : name).focus();
      return;
    }
    update({ score: [...scores, n + op.value + (op.value ? v : "")], cursor: "" });
  };
  const form = h("div", { class: "attr-add" },
    h("div", { class: "field" }, h("label", { for: "score-f-name" }, "Score"), name),
    h("div", { class: "field" }, h("label", { for: "score-f-op" }, "Condition"), op),
    h("div", { class: "field" }, h("label", { for: "score-f-value" }, "Value"), value),
    h("button", { type: "button", class: "btn small", id: "score-f-add", onclick: add }, "Add"));
  for (const inp of [name, value]) inp.addEventListener("keydown", (e: KeyboardEvent) => { if (e.key === "Enter") { e.preventDefault(); add(); } });
  return h("div", { class: "attrs score-filters" },
    h("h4", { class: "small" }, "Scores"),
    rows.length ? h("ul", { class: "plain-list", id: "score-f-list" }, rows) : null,
    form, err);
}
