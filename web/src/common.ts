// Pieces several pages share: empty states, the filter bar, the calls table.
import { moreFilters } from "./barfilters";
import { adminToken, api, APIError, apiURL, BAR, barParams, canSeeContent, CONTENT_HIDDEN, filters, FILTERS, go, href, project, query, Range, request, update } from "./state";
import { scoreBadges } from "./scores";
import { add, copyText, h, int, linkRow, ms, stackedTime, time, usd } from "./util";

// emptyState says why there is nothing and what to do next.
export function emptyState(r: Range, what = "Gen AI calls"): HTMLElement {
  const active = [...Object.keys(filters()).map((k) => labels[k].toLowerCase()), ...(barParams().length ? ["more filters"] : [])];
  return h("section", { class: "card empty", "data-empty": "true" },
    h("h3", null, `No ${what} in this time range`),
    h("p", null, `Nothing between ${time(r.from, false)} and ${time(r.to, false)}`, active.length ? ` matches the filters (${active.join(", ")}).` : "."),
    h("ul", null,
      active.length ? h("li", null, h("a", { href: href(location.pathname, clearAll()), "data-link": true }, "Clear the filters")) : null,
      h("li", null, "Widen the time range: ", h("a", { href: href(location.pathname, { from: "7d", to: "" }), "data-link": true }, "last 7 days"), " or ",
        h("a", { href: href(location.pathname, { from: "30d", to: "" }), "data-link": true }, "last 30 days"), "."),
      h("li", null, "Point your application at genscope: see ", h("a", { href: href("/connect"), "data-link": true }, "Connect"), "."),
      h("li", null, "Or send sample traffic: ", h("code", null, "genscope demo"), "."),
    ),
  );
}

// contentNotice says, above content the caller may not see, why it is
// missing (null when it is visible).
export function contentNotice(): HTMLElement | null {
  return canSeeContent() ? null : h("p", { class: "notice", id: "content-hidden", role: "note" }, CONTENT_HIDDEN[0].toUpperCase() + CONTENT_HIDDEN.slice(1), ". Ask a project admin for the content permission.");
}

export function errorCard(err: unknown): HTMLElement {
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof APIError && err.status === 403) {
    return h("section", { class: "card error-card", role: "alert", id: "forbidden" }, h("h3", null, "Not permitted"),
      h("p", null, "Your account may not see this page (", msg, "). An administrator can change your role."),
      h("p", null, h("a", { href: href("/"), "data-link": true }, "Go to the overview")));
  }
  return h("section", { class: "card error-card", role: "alert" }, h("h3", null, "Could not load this page"), h("p", null, msg),
    h("p", { class: "muted" }, "Check that genscope is running; details are in its log."));
}

// clearAll is the change that removes every filter.
function clearAll(): Record<string, string> {
  return Object.fromEntries([...FILTERS, ...BAR].map((k) => [k, ""]));
}

const labels: Record<string, string> = {
  service: "Service", provider: "Provider", model: "Model", operation: "Operation", status: "Status", session: "Session", user: "User", q: "Search content",
};
const dims: Record<string, string> = { service: "service", provider: "provider", model: "model", operation: "operation", session: "session", user: "user" };

// filterBar edits the filters kept in the URL.
export function filterBar(r: Range): HTMLElement {
  const f = filters();
  const fields = FILTERS.map((k) => {
    const id = "f-" + k;
    let input: HTMLInputElement | HTMLSelectElement;
    if (k === "status") {
      input = h("select", { id, name: k, onchange: () => update({ [k]: input.value, cursor: "" }) },
        ["", "ok", "error", "unset"].map((v) => h("option", { value: v, selected: (f.status || "") === v }, v || "any")));
    } else {
      const list = "dl-" + k;
      const hidden = k === "q" && !canSeeContent();
      const inp = h("input", {
        id, name: k, type: "search", value: hidden ? "" : f[k] || "", placeholder: hidden ? "not permitted" : k === "q" ? "text in system, input or output" : "any",
        list: dims[k] ? list : undefined, autocomplete: "off", spellcheck: "false", disabled: hidden,
        title: hidden ? "Text search is off: " + CONTENT_HIDDEN : undefined,
        "aria-describedby": hidden ? "q-hidden" : undefined,
        onchange: () => update({ [k]: inp.value.trim(), cursor: "" }),
      });
      if (hidden) return h("div", { class: "field wide" }, h("label", { for: id }, labels[k]), inp, h("span", { class: "muted tiny", id: "q-hidden" }, "off: no content permission"));
      if (dims[k]) {
        // Suggestions from the data, fetched when first needed.
        let loaded = false;
        inp.addEventListener("focus", () => {
          if (loaded) return;
          loaded = true;
          api<{ rows: { key: string }[] }>("breakdown", { by: dims[k], limit: 100, [k]: "" }, r)
            .then((b) => {
              const dl = document.getElementById(list);
              if (dl) dl.replaceChildren(...b.rows.filter((x) => x.key).map((x) => h("option", { value: x.key })));
            })
            .catch(() => {});
        });
      }
      input = inp;
      return h("div", { class: "field" + (k === "q" ? " wide" : "") }, h("label", { for: id }, labels[k]), inp, dims[k] ? h("datalist", { id: list }) : null);
    }
    return h("div", { class: "field" }, h("label", { for: id }, labels[k]), input);
  });
  const active = Object.keys(f).length + barParams().length;
  return h("form", { class: "filters", role: "search", "aria-label": "Filters", onsubmit: (e: Event) => { e.preventDefault(); (document.activeElement as HTMLElement)?.blur(); } },
    fields,
    h("div", { class: "field buttons" },
      h("button", { type: "submit", class: "btn" }, "Apply"),
      active ? h("button", { type: "button", class: "btn ghost", onclick: () => update({ ...clearAll(), cursor: "" }) }, `Clear ${active}`) : null,
      viewsMenu()),
    moreFilters(r),
  );
}

// A saved view is a page with its time range, filters and sort, named by
// the user and kept in this browser per project; its link is the URL, so
// it can be shared.
interface View {
  name: string;
  url: string;
}

function viewsKey(): string {
  return "genscope.views." + (project() || "default");
}

function savedViews(): View[] {
  try {
    const v = JSON.parse(localStorage.getItem(viewsKey()) || "[]");
    return Array.isArray(v) ? v.filter((x) => x && typeof x.name === "string" && typeof x.url === "string" && x.url.startsWith("/")) : [];
  } catch {
    return [];
  }
}

// viewsMenu lists the saved views and saves the current one.
function viewsMenu(): HTMLElement {
  const list = h("ul", { class: "plain-list", id: "views-list" });
  const draw = () => {
    const views = savedViews();
    list.replaceChildren(...(views.length ? views.map((v, i) => h("li", { class: "view-item" },
      h("a", { href: v.url, "data-link": true, "data-view-name": v.name }, v.name),
      h("button", {
        type: "button", class: "btn small ghost", "aria-label": "forget the view " + v.name, onclick: () => {
          const all = savedViews();
          all.splice(i, 1);
          localStorage.setItem(viewsKey(), JSON.stringify(all));
          draw();
        },
      }, "✕"))) : [h("li", { class: "muted small" }, "No saved views yet.")]));
  };
  draw();
  const name = h("input", { type: "text", id: "view-name", maxlength: "80", placeholder: "e.g. errors of gpt-4o", autocomplete: "off" });
  const save = () => {
    const n = name.value.trim();
    if (!n) {
      name.focus();
      return;
    }
    const q = query();
    q.delete("cursor");
    const s = q.toString();
    const views = savedViews().filter((v) => v.name !== n);
    views.push({ name: n, url: location.pathname + (s ? "?" + s : "") });
    localStorage.setItem(viewsKey(), JSON.stringify(views));
    name.value = "";
    draw();
  };
  const copy = h("button", { type: "button", class: "btn small ghost", id: "copy-view-link" }, "Copy link");
  copy.addEventListener("click", async () => {
    copy.textContent = (await copyText(location.href)) ? "Copied ✓" : "Select the address bar";
    setTimeout(() => (copy.textContent = "Copy link"), 2000);
  });
  return h("details", { class: "col-picker views", id: "views" },
    h("summary", null, "Views"),
    h("div", { class: "menu" },
      list,
      h("label", { for: "view-name", class: "small" }, "Save this view as"),
      h("div", { class: "form-row" }, name, h("button", {
        type: "button", class: "btn small", id: "save-view", onclick: save,
      }, "Save")),
      h("p", { class: "muted tiny" }, "Views are kept in this browser, per project. A view is its link: ", copy)));
}

export interface SpanRow {
  trace_id: string;
  span_id: string;
  name: string;
  service: string;
  start_time: string;
  status: string;
  error_type?: string;
  duration_ms: number;
  ttft_ms: number | null;
  operation: string;
  provider: string;
  model: string;
  response_model?: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  session: string;
  user: string;
  system: string;
  input: string;
  output: string;
  scores?: Record<string, number | string>;
}

export function statusBadge(s: string, errType?: string): HTMLElement {
  return h("span", { class: "badge st-" + s, title: errType || s }, s === "error" ? "error" : s === "ok" ? "ok" : "unset");
}

type SortKey = "time" | "duration" | "tokens";

// COLUMNS are the spans table's columns: key, header, whether hidden by
// default. The user's choice is kept in localStorage. The scores column
// shows only on pages with a scored call.
const COLUMNS: [string, string, boolean][] = [
  ["time", "Time", false], ["status", "Status", false], ["duration", "Duration", false], ["model", "Model", false],
  ["operation", "Operation", true], ["service", "Service", true], ["user", "User", true], ["in", "Input tokens", false], ["out", "Output tokens", false],
  ["cost", "Cost (USD)", false], ["scores", "Scores", false], ["session", "Session", false], ["system", "System message", false], ["input", "Input", false], ["output", "Output", false],
];
const COLS_KEY = "genscope.columns";

function hiddenColumns(): Set<string> {
  try {
    const saved = JSON.parse(localStorage.getItem(COLS_KEY) || "null");
    if (Array.isArray(saved)) return new Set(saved);
  } catch {
    // fall back to the defaults
  }
  return new Set(COLUMNS.filter((c) => c[2]).map((c) => c[0]));
}

// columnPicker shows and hides the spans table's columns.
export function columnPicker(table: HTMLElement): HTMLElement {
  const hidden = hiddenColumns();
  return h("details", { class: "col-picker", id: "columns" },
    h("summary", null, "Columns"),
    h("fieldset", { class: "menu checks" }, h("legend", { class: "sr-only" }, "Columns to show"),
      COLUMNS.map(([k, label]) => h("label", { class: "inline" },
        h("input", {
          type: "checkbox", "data-col": k, checked: !hidden.has(k), onchange: (e: Event) => {
            const on = (e.target as HTMLInputElement).checked;
            if (on) hidden.delete(k);
            else hidden.add(k);
            localStorage.setItem(COLS_KEY, JSON.stringify([...hidden]));
            table.classList.toggle("hide-" + k, !on);
          },
        }), " ", label))));
}

// resizer lets the user widen a content column by dragging its header's
// corner; the width applies to the column's cells through a CSS variable.
function resizer(table: HTMLElement, key: string, label: string): HTMLElement {
  const box = h("div", { class: "col-resize", title: "drag the corner to resize" }, label);
  const saved = Number(localStorage.getItem("genscope.width." + key));
  if (saved > 60) {
    box.style.width = saved + "px";
    table.style.setProperty("--w-" + key, saved + "px");
  }
  new ResizeObserver(() => {
    const w = box.offsetWidth;
    if (w < 60) return;
    table.style.setProperty("--w-" + key, w + "px");
    if (box.style.width) localStorage.setItem("genscope.width." + key, String(w));
  }).observe(box);
  return box;
}

// callsTable is the Gen AI spans table; sortable headers when sort is given.
export function callsTable(rows: SpanRow[], sort?: SortKey, showSession = true): HTMLTableElement {
  const hidden = hiddenColumns();
  if (!showSession) hidden.add("session");
  // The scores column shows when a row of the page has a score.
  if (!rows.some((r) => r.scores && Object.keys(r.scores).length)) hidden.add("scores");
  const table = h("table", { class: "grid-table calls " + [...hidden].map((k) => "hide-" + k).join(" "), id: "spans" });
  const th = (col: string, label: string, key?: SortKey, cls = "") => {
    cls += " c-" + col;
    if (col === "system" || col === "input" || col === "output") return h("th", { class: cls }, resizer(table, col, label));
    if (!key || !sort) return h("th", { class: cls }, label);
    const on = sort === key;
    const what = key === "tokens" ? "total tokens (input + output)" : key === "time" ? "time, newest first" : label.toLowerCase() + ", largest first";
    return h("th", { class: cls + " sortable", "aria-sort": on ? "descending" : "none" },
      h("button", { type: "button", class: "th-btn", title: "sort by " + what, onclick: () => update({ sort: key === "time" ? "" : key, cursor: "" }) },
        label, on ? " ▼" : ""));
  };
  const hide = !canSeeContent();
  const pv = (col: string, text: string) => hide
    ? h("td", { class: "c-" + col + " pv muted", title: CONTENT_HIDDEN, "data-hidden": "true" }, "hidden")
    : h("td", { class: "c-" + col + " pv" }, h("div", { title: text }, text || h("span", { class: "muted" }, "—")));
  add(table,
    h("thead", null, h("tr", null,
      th("time", "Time", "time"), th("status", "Status"), th("duration", "Duration", "duration", "num"), th("model", "Model"), th("operation", "Operation"),
      th("service", "Service"), th("user", "User"),
      th("in", "Input tokens", "tokens", "num"), th("out", "Output tokens", undefined, "num"), th("cost", "Cost (USD)", undefined, "num"), th("scores", "Scores"), th("session", "Session"),
      th("system", "System message"), th("input", "Input"), th("output", "Output"))),
    h("tbody", null, rows.map((s) => {
      const trace = href("/traces/" + s.trace_id, { span: s.span_id });
      const model = s.model || s.name;
      return linkRow(h("tr", { "data-trace": s.trace_id, "data-span": s.span_id },
        h("td", { class: "c-time nowrap", title: time(s.start_time) }, h("a", { href: trace, "data-link": true, tabindex: "-1" }, stackedTime(s.start_time))),
        h("td", { class: "c-status" }, statusBadge(s.status, s.error_type)),
        h("td", { class: "c-duration num" }, ms(s.duration_ms)),
        h("td", { class: "c-model" }, h("span", { class: "trunc" + (s.model ? "" : " muted"), title: model + (s.response_model && s.response_model !== s.model ? " → " + s.response_model : "") }, model)),
        h("td", { class: "c-operation" }, s.operation || h("span", { class: "muted" }, "—")),
        h("td", { class: "c-service" }, h("span", { class: "trunc", title: s.service }, s.service || "—")),
        h("td", { class: "c-user" }, h("span", { class: "trunc", title: s.user }, s.user || "—")),
        h("td", { class: "c-in num" }, int(s.input_tokens)),
        h("td", { class: "c-out num" }, int(s.output_tokens)),
        h("td", { class: "c-cost num", title: s.cost_usd === null ? "unknown: no price for this model" : "" }, usd(s.cost_usd)),
        h("td", { class: "c-scores" }, scoreBadges(s.scores)),
        h("td", { class: "c-session" }, s.session ? h("a", { href: href("/sessions/" + encodeURIComponent(s.session)), "data-link": true, class: "mono sid", title: s.session }, s.session) : h("span", { class: "muted" }, "—")),
        pv("system", s.system), pv("input", s.input), pv("output", s.output),
      ), () => go(trace));
    })),
  );
  return table;
}

// pager is the keyset paging control.
export function pager(next: string, count: number): HTMLElement {
  const cur = query().get("cursor");
  const link = (cursor: string) => {
    const q = query();
    if (cursor) q.set("cursor", cursor);
    else q.delete("cursor");
    const s = q.toString();
    return location.pathname + (s ? "?" + s : "");
  };
  return h("nav", { class: "pager", "aria-label": "pages" },
    cur ? h("a", { class: "btn ghost", href: link(""), "data-link": true }, "⇤ First page") : null,
    h("span", { class: "muted" }, `${int(count)} rows on this page`),
    next ? h("a", { class: "btn", id: "next-page", href: link(next), "data-link": true }, "Next page →") : h("span", { class: "muted" }, "· last page"),
  );
}

// exportMenu offers path (an export endpoint) as CSV, JSONL and Parquet
// downloads of what the page shows (its range and filters). Signed in with
// the admin token, the download goes through fetch (a link cannot carry
// the token); otherwise it is a plain link, streamed to disk.
export function exportMenu(path: string, params: Record<string, string | undefined>, r: Range | undefined, name: string): HTMLElement {
  const link = (format: string, label: string) => {
    const url = apiURL(path, { ...params, format }, r);
    const file = name.replace(/[^\w.-]+/g, "_") + "." + format;
    const a = h("a", { href: url, download: file, class: "btn small ghost", "data-format": format }, label);
    a.addEventListener("click", async (ev) => {
      if (!adminToken()) return;
      ev.preventDefault();
      try {
        const resp = await request(url);
        if (!resp.ok) throw new Error((await resp.json().catch(() => ({}))).error || resp.statusText);
        const blob = URL.createObjectURL(await resp.blob());
        const tmp = h("a", { href: blob, download: file });
        tmp.click();
        setTimeout(() => URL.revokeObjectURL(blob), 10000);
      } catch (err) {
        a.after(h("span", { class: "bad small", role: "alert" }, " " + (err as Error).message));
      }
    });
    return a;
  };
  return h("div", { class: "export", role: "group", "aria-label": "export" }, h("span", { class: "muted small" }, "Export"),
    link("csv", "CSV"), link("jsonl", "JSONL"), link("parquet", "Parquet"));
}
