// The trace view: a waterfall of the span tree and the selected span's
// call rendered as a conversation.
import { contentNotice, exportMenu, statusBadge } from "./common";
import { fact } from "./spans";
import { scoresBox, Score, traceScores } from "./scores";
import { api, canSeeContent, go, href, query } from "./state";
import { add, copyText, h, int, linkRow, ms, time, usd, clear } from "./util";

interface Part {
  type: string;
  content?: string;
  id?: string;
  name?: string;
  arguments?: any;
  response?: any;
}
interface Message {
  role: string;
  name?: string;
  parts: Part[] | null;
  finish_reason?: string;
}
interface Span {
  name: string;
  kind: string;
  service: string;
  source: string;
  start_unix_nano: number;
  duration_nano: number;
  ttft_nano?: number;
  status: string;
  status_message?: string;
  error_type?: string;
  http_status?: number;
  operation?: string;
  agent_name?: string;
  tool_name?: string;
  provider?: string;
  request_model?: string;
  response_model?: string;
  response_id?: string;
  finish_reasons?: string[];
  params: { temperature?: number; top_p?: number; max_tokens?: number; stream?: boolean };
  usage: { input_tokens: number; output_tokens: number; cached_input_tokens?: number; reasoning_tokens?: number };
  cost_usd: number;
  cost_known: boolean;
  system_instructions?: Part[];
  input_messages?: Message[];
  output_messages?: Message[];
  content_truncated?: boolean;
  attributes?: Record<string, any>;
  resource_attributes?: Record<string, any>;
  events?: { time_unix_nano: number; name: string; attributes?: Record<string, any> }[];
}
interface Node {
  span_id: string;
  parent_span_id?: string;
  start_time: string;
  duration_ms: number;
  session: string;
  user: string;
  class: "call" | "agent" | "tool" | "";
  span: Span;
  children: Node[];
}

export async function tracePage(main: HTMLElement, id: string, signal: AbortSignal) {
  const t = await api<{ trace_id: string; roots: Node[] }>("traces/" + encodeURIComponent(id), {}, undefined, signal);
  const flat: { n: Node; depth: number; parent: string }[] = [];
  const walk = (n: Node, depth: number, parent: string) => {
    flat.push({ n, depth, parent });
    for (const c of n.children) walk(c, depth + 1, n.span_id);
  };
  t.roots.forEach((r) => walk(r, 0, ""));
  const startOf = (n: Node) => n.span.start_unix_nano / 1e6;
  const s0 = Math.min(...flat.map((x) => startOf(x.n)));
  const end = Math.max(...flat.map((x) => startOf(x.n) + x.n.duration_ms));
  const total = Math.max(end - s0, 0.001);
  let selected = query().get("span") || "";
  if (!flat.some((x) => x.n.span_id === selected)) selected = (flat.find((x) => x.n.span.operation) || flat[0]).n.span_id;

  // Totals of the model calls (an agent or tool span is no call).
  const calls = flat.filter((x) => x.n.class === "call");
  const runs = flat.filter((x) => x.n.class === "agent").length, toolCalls = flat.filter((x) => x.n.class === "tool").length;
  const sum = (f: (s: Span) => number) => calls.reduce((a, x) => a + f(x.n.span), 0);
  const tokIn = sum((s) => s.usage?.input_tokens || 0), tokOut = sum((s) => s.usage?.output_tokens || 0);
  const cost = sum((s) => (s.cost_known ? s.cost_usd : 0));
  const unpriced = calls.filter((x) => !x.n.span.cost_known).length;
  const errors = flat.filter((x) => x.n.span.status === "error").length;

  const detail = h("section", { class: "card detail", id: "span-detail", "aria-live": "polite" });
  // Scores: the trace's (every target in it), loaded once and again
  // after a change; the trace's own in the trace card, the selected
  // call's in the detail.
  let scoresP: Promise<Score[]> | null = null;
  const loadScores = () => (scoresP ||= traceScores(t.trace_id, signal));
  const traceScoresSlot = h("div", { class: "trace-scores" });
  const spanScoresSlot = () => detail.querySelector<HTMLElement>(".span-scores");
  const drawScores = () => {
    traceScoresSlot.replaceChildren(h("h4", null, "Scores of the trace"), scoresBox(t.trace_id, "", "trace", loadScores, reloadScores));
    const slot = spanScoresSlot();
    if (slot) slot.replaceChildren(h("h4", null, "Scores of this call"), scoresBox(t.trace_id, slot.dataset.span!, "call", loadScores, reloadScores));
  };
  const reloadScores = () => {
    scoresP = null;
    drawScores();
  };
  const collapsed = new Set<string>();
  const rows = flat.map(({ n, depth }) => {
    const left = ((startOf(n) - s0) / total) * 100;
    const width = Math.max((n.duration_ms / total) * 100, 0.3);
    const sp = n.span;
    const twisty = n.children.length
      ? h("button", { type: "button", class: "twisty", "aria-expanded": "true", "aria-label": "collapse " + sp.name, title: "collapse or expand the spans under this one" }, "▾")
      : h("span", { class: "twisty-space", "aria-hidden": "true" });
    const row = linkRow(h("div", { class: "wf-row" + (n.span_id === selected ? " selected" : ""), "data-span": n.span_id, "data-name": sp.name, role: "listitem" },
      h("div", { class: "wf-name" },
        h("span", { class: "wf-indent" }), twisty,
        statusBadge(sp.status),
        " ", h("span", { class: "wf-label", title: sp.name }, sp.name),
        sp.operation ? h("span", { class: "tag" + (n.class === "agent" || n.class === "tool" ? " step-" + n.class : ""), title: n.class === "agent" ? "an agent run (not a model call)" : n.class === "tool" ? "a tool call (not a model call)" : undefined }, n.class === "agent" ? "agent" : n.class === "tool" ? "tool" : sp.operation) : null,
        h("span", { class: "muted small wf-service" }, " " + sp.service)),
      h("div", { class: "wf-track" }, h("div", { class: "wf-bar" + (sp.operation ? " genai" : "") + (sp.status === "error" ? " error" : "") })),
      h("div", { class: "wf-usage num small" }, n.class === "call" ? [int((sp.usage?.input_tokens || 0) + (sp.usage?.output_tokens || 0)) + " tok", h("br"), sp.cost_known ? usd(sp.cost_usd) : h("span", { class: "muted", title: "no price for this model" }, "—")] : null),
      h("div", { class: "wf-dur num" }, ms(n.duration_ms)),
    ), () => select(n.span_id));
    // Geometry through the CSSOM (allowed by the page's CSP, unlike style attributes).
    (row.querySelector(".wf-indent") as HTMLElement).style.width = Math.min(depth, 12) * 14 + "px";
    const bar = row.querySelector(".wf-bar") as HTMLElement;
    bar.style.left = left + "%";
    bar.style.width = width + "%";
    if (twisty instanceof HTMLButtonElement) twisty.addEventListener("click", () => {
      const open = twisty.getAttribute("aria-expanded") !== "true";
      twisty.setAttribute("aria-expanded", String(open));
      twisty.setAttribute("aria-label", (open ? "collapse " : "expand ") + sp.name);
      twisty.textContent = open ? "▾" : "▸";
      if (open) collapsed.delete(n.span_id);
      else collapsed.add(n.span_id);
      applyCollapse();
    });
    return row;
  });
  const byId = new Map(flat.map((x) => [x.n.span_id, x]));
  const applyCollapse = () => {
    flat.forEach((x, i) => {
      let p = x.parent, hide = false;
      while (p) {
        if (collapsed.has(p)) {
          hide = true;
          break;
        }
        p = byId.get(p)?.parent || "";
      }
      rows[i].classList.toggle("hidden", hide);
    });
  };
  const select = (sid: string) => {
    selected = sid;
    for (const r of rows) r.classList.toggle("selected", r.dataset.span === sid);
    const x = flat.find((f) => f.n.span_id === sid);
    if (x) renderDetail(detail, x.n);
    drawScores();
    history.replaceState(null, "", href(location.pathname, { span: sid }));
  };
  const root = t.roots[0];
  add(main,
    h("p", null, h("a", { href: "#", onclick: (e: Event) => { e.preventDefault(); if (history.length > 1) history.back(); else go(href("/spans")); } }, "← Back")),
    h("section", { class: "card" },
      h("div", { class: "table-head" }, h("h3", null, "Trace ", h("code", { class: "wrap-id" }, t.trace_id)), exportMenu("export/traces/" + encodeURIComponent(t.trace_id), {}, undefined, "trace-" + t.trace_id)),
      h("div", { class: "totals", id: "trace-totals" },
        total1("Duration", ms(total)), total1("Model calls", int(calls.length)), total1("Tokens", int(tokIn + tokOut), `${int(tokIn)} in + ${int(tokOut)} out`),
        total1("Cost", usd(cost), unpriced ? `+ ${unpriced} without a price` : "USD"),
        runs || toolCalls ? total1("Agent steps", `${int(runs)} ${runs === 1 ? "run" : "runs"} · ${int(toolCalls)} tool ${toolCalls === 1 ? "call" : "calls"}`, "not model calls") : null,
        total1("Spans", int(flat.length), errors ? `${errors} with errors` : "no errors")),
      h("dl", { class: "facts" }, fact("Root", root.span.name), fact("Started", time(root.start_time)),
        root.session ? fact("Session", h("a", { href: href("/sessions/" + encodeURIComponent(root.session)), "data-link": true, class: "wrap-id" }, root.session)) : [],
        root.user ? fact("User", root.user) : []),
      h("div", { class: "waterfall", id: "waterfall", role: "list", "aria-label": "spans of the trace" },
        h("div", { class: "wf-row wf-header", "aria-hidden": "true" }, h("div", { class: "wf-name" }, "Span"), h("div", { class: "wf-track muted small" }, "0 → " + ms(total)), h("div", { class: "wf-usage" }, "Tokens · cost"), h("div", { class: "wf-dur" }, "Duration")),
        rows),
      traceScoresSlot,
    ),
    detail,
  );
  const x = flat.find((f) => f.n.span_id === selected)!;
  renderDetail(detail, x.n);
  drawScores();
  main.dataset.loaded = "true";
}

function total1(label: string, value: string, note?: string): HTMLElement {
  return h("div", { class: "total" }, h("div", { class: "tile-label" }, label), h("div", { class: "total-value" }, value), note ? h("div", { class: "muted small" }, note) : null);
}

// LONG is how many characters of a message show before "Show all".
const LONG = 1200;

type View = "markdown" | "raw" | "json";

// textView shows a message's text as rendered Markdown, raw text or JSON
// (the text itself when it parses, else source: the message as stored),
// collapsed when long, with a copy button.
function textView(text: string, source?: unknown): HTMLElement {
  const long = text.length > LONG || text.split("\n").length > 24;
  let json: unknown = undefined;
  const tt = text.trim();
  if ((tt.startsWith("{") || tt.startsWith("[")) && tt.length < 2e6) {
    try {
      json = JSON.parse(tt);
    } catch {
      json = undefined;
    }
  }
  const parsed = json !== undefined;
  if (!parsed) json = source;
  let view: View = parsed ? "json" : "markdown";
  const body = h("div", { class: "part-body" });
  const draw = () => {
    clear(body);
    if (view === "raw") add(body, h("div", { class: "part text" }, text));
    else if (view === "json") add(body, h("pre", { class: "json" }, JSON.stringify(json, null, 2)));
    else add(body, markdown(text));
    for (const b of bar.querySelectorAll<HTMLButtonElement>("[data-view]")) b.setAttribute("aria-pressed", String(b.dataset.view === view));
  };
  const viewBtn = (v: View, label: string) => h("button", { type: "button", class: "btn small ghost", "data-view": v, onclick: () => { view = v; draw(); } }, label);
  const copy = h("button", { type: "button", class: "btn small ghost copy-msg" }, "Copy");
  copy.addEventListener("click", async () => {
    copy.textContent = (await copyText(text)) ? "Copied ✓" : "Select and copy";
    setTimeout(() => (copy.textContent = "Copy"), 2000);
  });
  const wrap = h("div", { class: "part-wrap" + (long ? " collapsed" : "") });
  const more = long ? h("button", {
    type: "button", class: "btn small show-all", "aria-expanded": "false", onclick: () => {
      const open = wrap.classList.toggle("collapsed") === false;
      more!.setAttribute("aria-expanded", String(open));
      more!.textContent = open ? "Show less" : `Show all (${int(text.length)} characters)`;
    },
  }, `Show all (${int(text.length)} characters)`) : null;
  const bar = h("div", { class: "part-bar", role: "group", "aria-label": "message view" }, viewBtn("markdown", "Markdown"), viewBtn("raw", "Raw"), json !== undefined ? viewBtn("json", parsed ? "JSON" : "Message JSON") : null, copy);
  add(wrap, body);
  draw();
  return h("div", { class: "part" }, bar, wrap, more);
}

// markdown renders the common subset of Markdown (headings, lists, code,
// emphasis, quotes) as DOM nodes: text is never parsed as HTML.
function markdown(src: string): HTMLElement {
  const out = h("div", { class: "md" });
  const lines = src.replace(/\r\n/g, "\n").split("\n");
  let list: HTMLElement | null = null;
  let para: string[] = [];
  const flush = () => {
    if (para.length) out.appendChild(h("p", null, inline(para.join("\n"))));
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^```/.test(line)) {
      flush();
      list = null;
      const code: string[] = [];
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
      out.appendChild(h("pre", null, h("code", null, code.join("\n"))));
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^(#{1,6})\s+(.*)$/.exec(line))) {
      flush();
      list = null;
      out.appendChild(h("p", { class: "md-h md-h" + m[1].length }, inline(m[2])));
    } else if ((m = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(line))) {
      flush();
      const ordered = /\d/.test(m[1]);
      if (!list || (list.tagName === "OL") !== ordered) {
        list = h(ordered ? "ol" : "ul", null);
        out.appendChild(list);
      }
      list.appendChild(h("li", null, inline(m[2])));
    } else if ((m = /^>\s?(.*)$/.exec(line))) {
      flush();
      list = null;
      out.appendChild(h("blockquote", null, inline(m[1])));
    } else if (!line.trim()) {
      flush();
      list = null;
    } else {
      list = null;
      para.push(line);
    }
  }
  flush();
  return out;
}

function inline(s: string): (string | HTMLElement)[] {
  const out: (string | HTMLElement)[] = [];
  const re = /(`[^`]+`|\*\*[^*]+\*\*|__[^_]+__|\*[^*\s][^*]*\*|_[^_\s][^_]*_)/g;
  let last = 0, m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    if (m.index > last) out.push(s.slice(last, m.index));
    const t = m[0];
    if (t.startsWith("`")) out.push(h("code", null, t.slice(1, -1)));
    else if (t.startsWith("**") || t.startsWith("__")) out.push(h("strong", null, t.slice(2, -2)));
    else out.push(h("em", null, t.slice(1, -1)));
    last = m.index + t.length;
  }
  if (last < s.length) out.push(s.slice(last));
  return out;
}

function partView(p: Part, msg?: unknown): HTMLElement {
  switch (p.type) {
    case "text":
    case "":
    case undefined:
      return textView(p.content || "", msg);
    case "tool_call":
      return h("div", { class: "part tool" }, h("div", { class: "muted small" }, "tool call ", p.id ? h("code", null, p.id) : null),
        h("pre", null, `${p.name || "?"}(${typeof p.arguments === "string" ? p.arguments : JSON.stringify(p.arguments ?? {}, null, 2)})`));
    case "tool_call_response":
      return h("div", { class: "part tool" }, h("div", { class: "muted small" }, "tool result ", p.id ? h("code", null, p.id) : null),
        textView(typeof p.response === "string" ? p.response : JSON.stringify(p.response, null, 2)));
    default:
      return h("div", { class: "part other" }, h("div", { class: "muted small" }, p.type), h("pre", null, p.content || JSON.stringify(p)));
  }
}

// repeatsSystem: a system message of the input that repeats the system
// instructions (spans stored before sources stopped repeating it) is
// shown once, as the SYSTEM block.
function repeatsSystem(m: Message, sys?: Part[]): boolean {
  if (!sys?.length || (m.role !== "system" && m.role !== "developer")) return false;
  const text = sys.map((p) => p.content || "").join("\n");
  const own = (m.parts || []).map((p) => p.content || "").filter(Boolean);
  return own.length > 0 && own.every((c) => text.includes(c));
}

function bubble(role: string, parts: Part[] | null, extra?: string): HTMLElement {
  const msg = { role, parts };
  return h("div", { class: "msg role-" + role, "data-role": role },
    h("div", { class: "msg-role" }, role, extra ? h("span", { class: "muted small" }, " · " + extra) : null),
    (parts || []).length ? (parts || []).map((p) => partView(p, msg)) : h("div", { class: "muted small" }, "(no content captured)"));
}

// errorBox shows a span's error; a long message (a stack trace, an
// upstream's whole answer) collapses like a long message.
function errorBox(s: Span): HTMLElement {
  const head = [s.error_type, s.http_status ? "HTTP " + s.http_status : ""].filter(Boolean).join(" · ");
  const msg = s.status_message || "";
  if (msg.length <= 300) return h("div", { class: "error-box", role: "note" }, h("strong", null, "Error"), " ", [head, msg].filter(Boolean).join(" · ") || "the span's status is error");
  return h("div", { class: "error-box", role: "note" }, h("strong", null, "Error"), " ", head, textView(msg));
}

function renderDetail(box: HTMLElement, n: Node) {
  clear(box);
  const s = n.span;
  const genai = !!s.operation;
  // An agent run or tool call is a step: no model, tokens or cost.
  const step = n.class === "agent" || n.class === "tool";
  const call = genai && !step;
  const model = s.request_model && s.response_model && s.request_model !== s.response_model ? `${s.request_model} → ${s.response_model}` : s.request_model || s.response_model || "";
  const params = Object.entries(s.params || {}).filter(([, v]) => v !== undefined && v !== null);
  add(box, 
    h("h3", null, s.name, " ", statusBadge(s.status)),
    h("dl", { class: "facts" },
      fact("Duration", ms(n.duration_ms)),
      s.ttft_nano ? fact("Time to first token", ms(s.ttft_nano / 1e6)) : [],
      fact("Started", time(n.start_time)),
      fact("Service", s.service || "—"),
      fact("Kind", s.kind + " · " + s.source),
      genai ? fact("Operation", s.operation!) : [],
      step ? fact(n.class === "agent" ? "Agent run" : "Tool call", h("span", null, (n.class === "agent" ? s.agent_name : s.tool_name) || "(no name)", h("span", { class: "muted" }, " · a step, not a model call: no tokens or cost"))) : [],
      step && s.agent_name && n.class === "tool" ? fact("Agent", s.agent_name) : [],
      call ? fact("Provider", s.provider || "—") : [],
      call ? fact("Model", model || "—") : [],
      call ? fact("Usage", `${int(s.usage.input_tokens)} input + ${int(s.usage.output_tokens)} output tokens` +
        (s.usage.cached_input_tokens ? ` (${int(s.usage.cached_input_tokens)} cached)` : "") + (s.usage.reasoning_tokens ? ` (${int(s.usage.reasoning_tokens)} reasoning)` : "")) : [],
      call ? fact("Cost", s.cost_known ? usd(s.cost_usd) + " USD" : "unknown (no price for this model)") : [],
      s.finish_reasons?.length ? fact("Finish reasons", s.finish_reasons.join(", ")) : [],
      params.length ? fact("Parameters", params.map(([k, v]) => `${k}=${v}`).join(", ")) : [],
      n.session ? fact("Session", n.session) : [],
      n.user ? fact("User", n.user) : [],
      s.response_id ? fact("Response id", s.response_id) : [],
    ),
    s.status === "error" ? errorBox(s) : null,
  );
  // A step shows its messages only when it has some (a tool's arguments and result).
  const talks = call || (genai && !!(s.system_instructions?.length || s.input_messages?.length || s.output_messages?.length));
  if (talks && !canSeeContent()) add(box, h("h4", null, "Conversation"), contentNotice());
  else if (talks) {
    const conv = h("div", { class: "conversation", id: "conversation" });
    if (s.system_instructions?.length) add(conv, bubble("system", s.system_instructions));
    for (const m of s.input_messages || []) if (!repeatsSystem(m, s.system_instructions)) add(conv, bubble(m.role, m.parts, m.name));
    for (const m of s.output_messages || []) add(conv, bubble(m.role || "assistant", m.parts, m.finish_reason ? "finish: " + m.finish_reason : undefined));
    if (!conv.childElementCount) add(conv, h("p", { class: "muted" }, "No content was captured for this call. OpenTelemetry instrumentations record it with ",
      h("code", null, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true"), "."));
    add(box, h("h4", null, "Conversation"), s.content_truncated ? h("p", { class: "muted small" }, "Content was truncated when stored.") : null, conv);
  }
  // A GenAI span (a call or a step) can be scored.
  if (genai) add(box, h("div", { class: "span-scores", "data-span": n.span_id }));
  const json = (v: any) => h("pre", { class: "json" }, JSON.stringify(v, null, 2));
  if (s.attributes && Object.keys(s.attributes).length) add(box, h("details", null, h("summary", null, `Attributes (${Object.keys(s.attributes).length})`), json(s.attributes)));
  if (s.events?.length) add(box, h("details", null, h("summary", null, `Events (${s.events.length})`), json(s.events)));
  if (s.resource_attributes && Object.keys(s.resource_attributes).length) add(box, h("details", null, h("summary", null, "Resource"), json(s.resource_attributes)));
}
