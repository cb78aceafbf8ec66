// The Agents page: agent runs and tool calls (GET /api/v1/steps), which
// are not model calls: their counts, tool calls per run, the slowest and
// the failing tools, per-agent and per-tool tables, and the latest runs,
// slowest and failed tool calls, each opening its trace.
import { emptyState, SpanRow, statusBadge } from "./common";
import { api, go, href, query, Range, update } from "./state";
import { add, h, int, linkRow, ms, pct, stackedTime, sortable, time } from "./util";

interface Totals {
  count: number;
  errors: number;
  error_rate: number;
  avg_ms: number;
  max_ms: number;
}
interface Row extends Totals {
  name: string;
}
interface Steps {
  runs: Totals;
  tool_calls: Totals;
  agents: Row[];
  tools: Row[];
}
// Step is a row of the spans table (all=true), as this page reads it.
type Step = Pick<SpanRow, "trace_id" | "span_id" | "name" | "service" | "start_time" | "status" | "error_type" | "duration_ms">;

const AGENT = "invoke_agent", TOOL = "execute_tool";

export async function agentsPage(main: HTMLElement, r: Range, signal: AbortSignal) {
  const q = query();
  const agent = q.get("agent") || "", tool = q.get("tool") || "";
  // The steps of the traces themselves (operation is the step's own).
  const steps = (p: Record<string, string>) => api<Steps>("steps", { limit: 200, operation: "", ...p }, r, signal);
  const list = (op: string, p: Record<string, string | number> = {}) =>
    api<{ spans: Step[] }>("spans", { all: "true", operation: op, limit: 10, ...p }, r, signal).then((x) => x.spans);
  const [st, names, runs, slow, failed] = await Promise.all([
    steps({ agent, tool }),
    // The names to pick from: every agent and tool in the range.
    agent || tool ? steps({}) : null,
    list(AGENT),
    list(TOOL, { sort: "duration" }),
    list(TOOL, { status: "error" }),
  ]);
  const all = names || st;
  if (all.runs.count === 0 && all.tool_calls.count === 0) {
    add(main, emptyState(r, "agent runs or tool calls"), h("p", { class: "muted small" },
      "Agent runs are ", h("code", null, "invoke_agent"), " spans (OpenInference ", h("code", null, "AGENT"), ", Traceloop ", h("code", null, "agent"),
      "), tool calls ", h("code", null, "execute_tool"), " spans (", h("code", null, "TOOL"), ", ", h("code", null, "tool"),
      "), named by ", h("code", null, "gen_ai.agent.name"), " and ", h("code", null, "gen_ai.tool.name"), ". They are not model calls: they have no tokens or cost."));
    main.dataset.loaded = "true";
    return;
  }

  const pick = (id: string, label: string, key: "agent" | "tool", cur: string, rows: Row[]) => {
    const opts = rows.map((x) => x.name);
    if (cur && !opts.includes(cur)) opts.unshift(cur);
    return h("div", { class: "field" }, h("label", { for: id }, label),
      h("select", { id, onchange: (e: Event) => update({ [key]: (e.target as HTMLSelectElement).value }) },
        h("option", { value: "", selected: !cur }, "any"),
        opts.filter((n) => n).map((n) => h("option", { value: n, selected: n === cur }, n))));
  };
  const narrowed = agent || tool;
  add(main,
    h("form", { class: "card step-filters", "aria-label": "agent and tool", onsubmit: (e: Event) => e.preventDefault() },
      pick("f-agent", "Agent", "agent", agent, all.agents), pick("f-tool", "Tool", "tool", tool, all.tools),
      narrowed ? h("p", { class: "small" }, agent ? ["The runs of ", h("code", null, agent), " and the tool calls of their traces"] : null,
        agent && tool ? "; " : null, tool ? ["the calls of ", h("code", null, tool), " and the runs of their traces"] : null, ". ",
        h("a", { href: href(location.pathname, { agent: "", tool: "" }), "data-link": true, id: "all-steps" }, "Show every agent and tool")) : null),
    h("div", { class: "tiles", id: "step-tiles" },
      tile("runs", "Agent runs", int(st.runs.count), st.runs.count, st.runs.errors ? `${int(st.runs.errors)} failed (${pct(st.runs.error_rate)})` : "none failed"),
      tile("tool_calls", "Tool calls", int(st.tool_calls.count), st.tool_calls.count, st.tool_calls.errors ? `${int(st.tool_calls.errors)} failed (${pct(st.tool_calls.error_rate)})` : "none failed"),
      tile("tools_per_run", "Tool calls per run", st.runs.count ? (st.tool_calls.count / st.runs.count).toFixed(1) : "—", st.runs.count ? st.tool_calls.count / st.runs.count : null,
        st.runs.count ? "in the traces of these runs" : "no agent runs"),
      tile("run_ms", "Average run", st.runs.count ? ms(st.runs.avg_ms) : "—", st.runs.count ? st.runs.avg_ms : null,
        st.runs.count ? "longest " + ms(st.runs.max_ms) : undefined)),
    h("div", { class: "charts" },
      topCard("slowest-tools", "Slowest tools", "average duration", [...st.tools].filter((x) => x.count).sort((a, b) => b.avg_ms - a.avg_ms).slice(0, 5),
        (x) => x.avg_ms, (x) => ms(x.avg_ms), "No tool calls."),
      topCard("failing-tools", "Failing tools", "error rate", st.tools.filter((x) => x.errors).sort((a, b) => b.error_rate - a.error_rate || b.errors - a.errors).slice(0, 5),
        (x) => x.error_rate, (x) => `${pct(x.error_rate)} · ${int(x.errors)} of ${int(x.count)}`, "No tool call failed.")),
    stepTable("agents", "Agents", "Agent", "Runs", st.agents, "agent", agent),
    stepTable("tools", "Tools", "Tool", "Calls", st.tools, "tool", tool),
    h("div", { class: "charts" },
      spanList("recent-runs", "Latest agent runs", runs, narrowed ? "of every agent" : ""),
      spanList("slow-tool-calls", "Slowest tool calls", slow, narrowed ? "of every tool" : ""),
      spanList("failed-tool-calls", "Failed tool calls", failed, narrowed ? "of every tool" : "")),
  );
  main.dataset.loaded = "true";
}

function tile(key: string, label: string, text: string, value: number | null, note?: string): HTMLElement {
  return h("div", { class: "card tile", "data-step": key, "data-value": value === null ? "" : String(value) },
    h("div", { class: "tile-label" }, label),
    h("div", { class: "tile-value" }, text),
    note ? h("div", { class: "tile-note muted" }, note) : null);
}

// topCard ranks rows by value with a bar each; a click filters by the tool.
function topCard(id: string, title: string, by: string, rows: Row[], value: (x: Row) => number, label: (x: Row) => string, none: string): HTMLElement {
  const max = Math.max(...rows.map(value), 1e-12);
  return h("section", { class: "card", id },
    h("h3", null, title, h("span", { class: "muted small" }, " — by " + by)),
    rows.length === 0 ? h("p", { class: "muted" }, none) :
      h("ol", { class: "top-list" }, rows.map((x) => {
        const bar = h("span", { class: "hbar", "aria-hidden": "true" });
        bar.style.width = Math.max(1, (value(x) / max) * 100) + "%";
        return h("li", { "data-tool": x.name },
          h("a", { href: href(location.pathname, { ...keep(), tool: x.name }), "data-link": true, class: "trunc", title: x.name || "(no name)" }, x.name || "(no name)"),
          h("span", { class: "hbar-track" }, bar),
          h("span", { class: "num nowrap" }, label(x)));
      })));
}

// keep is the page's own query (agent, tool) that a link keeps.
function keep(): Record<string, string> {
  const q = query();
  return { agent: q.get("agent") || "", tool: q.get("tool") || "" };
}

// stepTable is the sortable per-agent or per-tool table; a row filters
// the page by its name (again: shows them all).
function stepTable(id: string, title: string, what: string, count: string, rows: Row[], key: "agent" | "tool", cur: string): HTMLElement {
  const link = (name: string) => href(location.pathname, { ...keep(), [key]: cur === name ? "" : name });
  return h("section", { class: "card table-card" },
    h("h3", null, title, h("span", { class: "muted small" }, ` — ${int(rows.length)}, click one to filter the page`)),
    rows.length === 0 ? h("p", { class: "muted" }, "None in this range.") :
      h("div", { class: "scroll" }, sortable(h("table", { class: "grid-table", id },
        h("thead", null, h("tr", null, [what, count, "Errors", "Error rate", "Average", "Longest"].map((l, i) => h("th", { class: i ? "num" : "" }, l)))),
        h("tbody", null, rows.map((x) => linkRow(h("tr", { ["data-" + key]: x.name, class: cur === x.name ? "selected" : "" },
          h("td", null, h("a", { href: link(x.name), "data-link": true, tabindex: "-1", class: "trunc", title: x.name || "(no name)" }, x.name || "(no name)")),
          h("td", { class: "num", "data-sort": x.count }, int(x.count)),
          h("td", { class: "num" + (x.errors ? " bad" : ""), "data-sort": x.errors }, int(x.errors)),
          h("td", { class: "num", "data-sort": x.error_rate }, pct(x.error_rate)),
          h("td", { class: "num", "data-sort": x.avg_ms }, ms(x.avg_ms)),
          h("td", { class: "num", "data-sort": x.max_ms }, ms(x.max_ms)),
        ), () => go(link(x.name)))))))));
}

// spanList lists agent or tool spans, each opening its trace.
function spanList(id: string, title: string, rows: Step[], note: string): HTMLElement {
  return h("section", { class: "card table-card" },
    h("h3", null, title, note ? h("span", { class: "muted small" }, " — " + note) : null),
    rows.length === 0 ? h("p", { class: "muted" }, "None in this range.") :
      h("div", { class: "scroll" }, h("table", { class: "grid-table", id },
        h("thead", null, h("tr", null, h("th", null, "Time"), h("th", null, "Step"), h("th", null, "Status"), h("th", { class: "num" }, "Duration"))),
        h("tbody", null, rows.map((s) => {
          const trace = href("/traces/" + s.trace_id, { span: s.span_id });
          return linkRow(h("tr", { "data-trace": s.trace_id, "data-span": s.span_id },
            h("td", { class: "nowrap", title: time(s.start_time) }, h("a", { href: trace, "data-link": true, tabindex: "-1" }, stackedTime(s.start_time))),
            h("td", null, h("span", { class: "trunc", title: s.name + " · " + s.service }, s.name)),
            h("td", null, statusBadge(s.status, s.error_type)),
            h("td", { class: "num" }, ms(s.duration_ms))), () => go(trace));
        })))));
}
