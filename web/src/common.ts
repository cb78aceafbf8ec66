// Pieces several pages share: empty states, the filter bar, the calls table.
import { api, canSeeContent, CONTENT_HIDDEN, filters, FILTERS, go, href, query, Range, update } from "./state";
import { h, int, linkRow, ms, shortTime, time, usd } from "./util";

// emptyState says why there is nothing and what to do next.
export function emptyState(r: Range, what = "Gen AI calls"): HTMLElement {
  const active = Object.keys(filters());
  return h("section", { class: "card empty", "data-empty": "true" },
    h("h3", null, `No ${what} in this time range`),
    h("p", null, `Nothing between ${time(r.from, false)} and ${time(r.to, false)}`, active.length ? ` matches the filters (${active.map((k) => labels[k].toLowerCase()).join(", ")}).` : "."),
    h("ul", null,
      active.length ? h("li", null, h("a", { href: href(location.pathname, Object.fromEntries(FILTERS.map((k) => [k, ""]))), "data-link": true }, "Clear the filters")) : null,
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
  return h("section", { class: "card error-card", role: "alert" }, h("h3", null, "Could not load this page"), h("p", null, msg),
    h("p", { class: "muted" }, "Check that genscope is running; details are in its log."));
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
  const active = Object.keys(f).length;
  return h("form", { class: "filters", role: "search", "aria-label": "Filters", onsubmit: (e: Event) => { e.preventDefault(); (document.activeElement as HTMLElement)?.blur(); } },
    fields,
    h("div", { class: "field buttons" },
      h("button", { type: "submit", class: "btn" }, "Apply"),
      active ? h("button", { type: "button", class: "btn ghost", onclick: () => update({ ...Object.fromEntries(FILTERS.map((k) => [k, ""])), cursor: "" }) }, `Clear ${active}`) : null),
  );
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
}

export function statusBadge(s: string, errType?: string): HTMLElement {
  return h("span", { class: "badge st-" + s, title: errType || s }, s === "error" ? "error" : s === "ok" ? "ok" : "unset");
}

// content shows the system message, input and output previews stacked in one cell.
function content(s: SpanRow): HTMLElement {
  if (!canSeeContent()) return h("td", { class: "content muted", title: CONTENT_HIDDEN, "data-hidden": "true" }, "content hidden");
  const line = (label: string, text: string, cls: string) =>
    h("div", { class: "pv " + cls, title: text }, h("span", { class: "pv-label" }, label), text ? text : h("span", { class: "muted" }, "—"));
  return h("td", { class: "content" }, line("system", s.system, "sys"), line("input", s.input, "in"), line("output", s.output, "out"));
}

type SortKey = "time" | "duration" | "tokens";

// callsTable is the Gen AI spans table; sortable headers when sort is given.
export function callsTable(rows: SpanRow[], sort?: SortKey, showSession = true): HTMLElement {
  const th = (label: string, key?: SortKey, cls = "") => {
    if (!key || !sort) return h("th", { class: cls }, label);
    const on = sort === key;
    const what = key === "tokens" ? "total tokens (input + output)" : key === "time" ? "time, newest first" : label.toLowerCase() + ", largest first";
    return h("th", { class: cls + " sortable", "aria-sort": on ? "descending" : "none" },
      h("button", { type: "button", class: "th-btn", title: "sort by " + what, onclick: () => update({ sort: key === "time" ? "" : key, cursor: "" }) },
        label, on ? " ▼" : ""));
  };
  return h("table", { class: "grid-table calls", id: "spans" },
    h("thead", null, h("tr", null,
      th("Time", "time"), th("Status"), th("Duration", "duration", "num"), th("Model"), th("Operation"),
      th("Input tokens", "tokens", "num"), th("Output tokens", undefined, "num"), th("Cost (USD)", undefined, "num"), showSession ? th("Session") : null,
      th("System message · input · output"))),
    h("tbody", null, rows.map((s) =>
      linkRow(h("tr", { "data-trace": s.trace_id, "data-span": s.span_id },
        h("td", { class: "nowrap", title: time(s.start_time) }, shortTime(s.start_time)),
        h("td", null, statusBadge(s.status, s.error_type)),
        h("td", { class: "num" }, ms(s.duration_ms)),
        h("td", { class: "nowrap" }, s.model || h("span", { class: "muted" }, s.name)),
        h("td", null, s.operation || h("span", { class: "muted" }, "—")),
        h("td", { class: "num" }, int(s.input_tokens)),
        h("td", { class: "num" }, int(s.output_tokens)),
        h("td", { class: "num", title: s.cost_usd === null ? "unknown: no price for this model" : "" }, usd(s.cost_usd)),
        !showSession ? null : h("td", { class: "nowrap" }, s.session ? h("a", { href: href("/sessions/" + encodeURIComponent(s.session)), "data-link": true, class: "mono", title: s.session }, short(s.session)) : h("span", { class: "muted" }, "—")),
        content(s),
      ), () => go(href("/traces/" + s.trace_id, { span: s.span_id })), `open trace of ${s.model || s.name} at ${time(s.start_time)}`))),
  );
}

export function short(s: string): string {
  return s.length > 12 ? s.slice(0, 8) + "…" : s;
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
