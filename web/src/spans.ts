// The Gen AI spans page and the sessions pages.
import { callsTable, columnPicker, contentNotice, emptyState, exportMenu, pager, SpanRow } from "./common";
import { api, go, href, query, Range, update } from "./state";
import { add, h, int, linkRow, sortable, time, usd, ago } from "./util";

export async function spansPage(main: HTMLElement, r: Range, signal: AbortSignal) {
  const q = query();
  const sort = (q.get("sort") || "time") as "time" | "duration" | "tokens";
  const page = await api<{ spans: SpanRow[]; next_cursor: string; searched_from?: string }>("spans",
    { limit: Math.min(Math.max(Number(q.get("limit")) || 50, 1), 1000), sort, cursor: q.get("cursor") || undefined, all: q.get("all") || undefined }, r, signal);
  // A text search answers within a time budget: when it ran out before
  // the page was full it says how far back it searched, and the next
  // page goes on from there.
  const searched = page.searched_from ? searchedNotice(page.searched_from, page.next_cursor, page.spans.length) : null;
  if (page.spans.length === 0 && !q.get("cursor") && !searched) {
    add(main, emptyState(r));
    main.dataset.loaded = "true";
    return;
  }
  const table = callsTable(page.spans, sort);
  add(main,
    h("section", { class: "card table-card" },
      h("div", { class: "table-head" },
        h("h3", null, "Gen AI calls", h("span", { class: "muted small" }, sort === "time" ? " — newest first" : sort === "duration" ? " — slowest first" : " — most tokens first")),
        h("label", { class: "inline", title: "also list spans that are not model calls (HTTP, database, agent steps…)" },
          h("input", { type: "checkbox", id: "all-spans", checked: q.get("all") === "true", onchange: (e: Event) => update({ all: (e.target as HTMLInputElement).checked ? "true" : "", cursor: "" }) }),
          " All spans"),
        h("label", { class: "inline" }, "Sort by ",
          h("select", { id: "sort", onchange: (e: Event) => update({ sort: (e.target as HTMLSelectElement).value === "time" ? "" : (e.target as HTMLSelectElement).value, cursor: "" }) },
            [["time", "time"], ["duration", "duration"], ["tokens", "tokens (input + output)"]].map(([v, l]) => h("option", { value: v, selected: v === sort }, l)))),
        columnPicker(table),
        exportMenu("export/spans", { all: q.get("all") || undefined, sort: q.get("sort") || undefined }, r, "spans")),
      contentNotice(),
      searched,
      h("div", { class: "scroll" }, table),
      pager(page.next_cursor, page.spans.length),
    ),
  );
  main.dataset.loaded = "true";
}

// searchedNotice says how far back a text search got in its time budget,
// with a link that continues it.
function searchedNotice(from: string, next: string, found: number): HTMLElement {
  const q = query();
  q.set("cursor", next);
  return h("p", { class: "notice", id: "searched", role: "status" },
    (found ? `${int(found)} matching calls` : "No matching calls") + " found in the time allowed, searching back to " + time(from, false) + " (" + ago(from) + "); older calls were not searched yet. ",
    h("a", { href: location.pathname + "?" + q.toString(), "data-link": true, id: "search-further" }, "Search further back →"));
}

interface Session {
  session: string;
  user: string;
  calls: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: number;
  cost_unknown_calls: number;
  first_time: string;
  last_time: string;
}

export async function sessionsPage(main: HTMLElement, r: Range, signal: AbortSignal) {
  const q = query();
  const page = await api<{ sessions: Session[]; next_cursor: string }>("sessions", { limit: 50, cursor: q.get("cursor") || undefined }, r, signal);
  if (page.sessions.length === 0 && !q.get("cursor")) {
    add(main, emptyState(r, "sessions"), h("p", { class: "muted small" },
      "Sessions group calls by ", h("code", null, "session.id"), " or ", h("code", null, "gen_ai.conversation.id"), " (set on the call or on a parent span)."));
    main.dataset.loaded = "true";
    return;
  }
  add(main, h("section", { class: "card table-card" },
    h("h3", null, "Sessions", h("span", { class: "muted small" }, " — most recent activity first")),
    contentNotice(),
    h("div", { class: "scroll" }, sortable(h("table", { class: "grid-table", id: "sessions" },
      h("thead", null, h("tr", null, ["Session", "User", "Calls", "Errors", "Input tokens", "Output tokens", "Cost (USD)", "First call", "Last call"].map((l, i) => h("th", { class: i >= 2 && i <= 6 ? "num" : "" }, l)))),
      h("tbody", null, page.sessions.map((s) => linkRow(h("tr", { "data-session": s.session },
        h("td", null, h("a", { href: href("/sessions/" + encodeURIComponent(s.session)), "data-link": true, tabindex: "-1", class: "mono sid", title: s.session }, s.session)),
        h("td", null, s.user || h("span", { class: "muted" }, "—")),
        h("td", { class: "num", "data-sort": s.calls }, int(s.calls)),
        h("td", { class: "num" + (s.errors ? " bad" : ""), "data-sort": s.errors }, int(s.errors)),
        h("td", { class: "num", "data-sort": s.input_tokens }, int(s.input_tokens)),
        h("td", { class: "num", "data-sort": s.output_tokens }, int(s.output_tokens)),
        h("td", { class: "num", "data-sort": s.cost_usd }, usd(s.cost_usd), s.cost_unknown_calls ? h("span", { class: "muted" }, " +" + s.cost_unknown_calls + " unpriced") : null),
        h("td", { class: "nowrap", "data-sort": s.first_time }, time(s.first_time, false)),
        h("td", { class: "nowrap", title: time(s.last_time), "data-sort": s.last_time }, ago(s.last_time)),
      ), () => go(href("/sessions/" + encodeURIComponent(s.session))))))))),
    pager(page.next_cursor, page.sessions.length),
  ));
  main.dataset.loaded = "true";
}

export async function sessionPage(main: HTMLElement, r: Range, id: string, signal: AbortSignal) {
  const d = await api<Session & { calls_detail: SpanRow[] }>("sessions/" + encodeURIComponent(id), {}, r, signal);
  const dur = new Date(d.last_time).getTime() - new Date(d.first_time).getTime();
  add(main, 
    h("p", null, h("a", { href: href("/sessions"), "data-link": true }, "← All sessions")),
    h("section", { class: "card" },
      h("div", { class: "table-head" }, h("h3", null, "Session ", h("code", { class: "wrap-id" }, d.session)), exportMenu("export/sessions/" + encodeURIComponent(id), {}, r, "session-" + id)),
      h("dl", { class: "facts" },
        fact("User", d.user || "—"), fact("Calls", int(d.calls) + " calls"), fact("Errors", int(d.errors) + " errors"),
        fact("Tokens", `${int(d.input_tokens)} in + ${int(d.output_tokens)} out = ${int(d.total_tokens)} tokens`),
        fact("Cost", usd(d.cost_usd) + (d.cost_unknown_calls ? ` (+${d.cost_unknown_calls} calls without a price)` : "")),
        fact("First call", time(d.first_time)), fact("Last call", time(d.last_time)), fact("Span", (dur / 1000).toFixed(1) + " s"),
      ),
    ),
    h("section", { class: "card table-card" },
      h("h3", null, "Calls in order", d.calls_detail.length < d.calls ? h("span", { class: "muted small" }, ` — the first ${int(d.calls_detail.length)} of ${int(d.calls)}`) : null),
      contentNotice(),
      h("div", { class: "scroll" }, callsTable(d.calls_detail, undefined, false))),
  );
  main.dataset.loaded = "true";
}

export function fact(k: string, v: string | Node): HTMLElement[] {
  return [h("dt", null, k), h("dd", null, v)] as any;
}
