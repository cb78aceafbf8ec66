// The trace view: a waterfall of the span tree and the selected span's
// call rendered as a conversation.
import { contentNotice, statusBadge } from "./common";
import { fact } from "./spans";
import { api, canSeeContent, go, href, query } from "./state";
import { add, h, int, linkRow, ms, time, usd, clear } from "./util";

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
  span: Span;
  children: Node[];
}

export async function tracePage(main: HTMLElement, id: string, signal: AbortSignal) {
  const t = await api<{ trace_id: string; roots: Node[] }>("traces/" + encodeURIComponent(id), {}, undefined, signal);
  const flat: { n: Node; depth: number }[] = [];
  const walk = (n: Node, depth: number) => {
    flat.push({ n, depth });
    for (const c of n.children) walk(c, depth + 1);
  };
  t.roots.forEach((r) => walk(r, 0));
  const startOf = (n: Node) => n.span.start_unix_nano / 1e6;
  const s0 = Math.min(...flat.map((x) => startOf(x.n)));
  const end = Math.max(...flat.map((x) => startOf(x.n) + x.n.duration_ms));
  const total = Math.max(end - s0, 0.001);
  let selected = query().get("span") || "";
  if (!flat.some((x) => x.n.span_id === selected)) selected = (flat.find((x) => x.n.span.operation) || flat[0]).n.span_id;

  const detail = h("section", { class: "card detail", id: "span-detail", "aria-live": "polite" });
  const rows = flat.map(({ n, depth }) => {
    const left = ((startOf(n) - s0) / total) * 100;
    const width = Math.max((n.duration_ms / total) * 100, 0.3);
    const row = linkRow(h("div", { class: "wf-row" + (n.span_id === selected ? " selected" : ""), "data-span": n.span_id, "data-name": n.span.name },
      h("div", { class: "wf-name", style: undefined },
        h("span", { class: "wf-indent", "data-depth": depth }),
        statusBadge(n.span.status),
        " ", n.span.name,
        n.span.operation ? h("span", { class: "tag" }, n.span.operation) : null,
        h("span", { class: "muted small" }, " " + n.span.service)),
      h("div", { class: "wf-track" }, h("div", { class: "wf-bar" + (n.span.operation ? " genai" : "") + (n.span.status === "error" ? " error" : "") })),
      h("div", { class: "wf-dur num" }, ms(n.duration_ms)),
    ), () => select(n.span_id), "select span " + n.span.name);
    // Geometry through the CSSOM (allowed by the page's CSP, unlike style attributes).
    (row.querySelector(".wf-indent") as HTMLElement).style.width = depth * 16 + "px";
    const bar = row.querySelector(".wf-bar") as HTMLElement;
    bar.style.left = left + "%";
    bar.style.width = width + "%";
    return row;
  });
  const select = (sid: string) => {
    selected = sid;
    for (const r of rows) r.classList.toggle("selected", r.dataset.span === sid);
    const x = flat.find((f) => f.n.span_id === sid);
    if (x) renderDetail(detail, x.n);
    history.replaceState(null, "", href(location.pathname, { span: sid }));
  };
  const root = t.roots[0];
  add(main, 
    h("p", null, h("a", { href: "#", onclick: (e: Event) => { e.preventDefault(); if (history.length > 1) history.back(); else go(href("/spans")); } }, "← Back")),
    h("section", { class: "card" },
      h("h3", null, "Trace ", h("code", null, t.trace_id)),
      h("dl", { class: "facts" }, fact("Root", root.span.name), fact("Started", time(root.start_time)), fact("Duration", ms(total)),
        fact("Spans", int(flat.length) + " spans"), root.session ? fact("Session", h("a", { href: href("/sessions/" + encodeURIComponent(root.session)), "data-link": true }, root.session)) : [],
        root.user ? fact("User", root.user) : []),
      h("div", { class: "waterfall", id: "waterfall", role: "list" },
        h("div", { class: "wf-row wf-header" }, h("div", { class: "wf-name" }, "Span"), h("div", { class: "wf-track muted small" }, "0 ms → " + ms(total)), h("div", { class: "wf-dur" }, "Duration")),
        rows),
    ),
    detail,
  );
  const x = flat.find((f) => f.n.span_id === selected)!;
  renderDetail(detail, x.n);
  main.dataset.loaded = "true";
}

function partView(p: Part): HTMLElement {
  switch (p.type) {
    case "text":
    case "":
    case undefined:
      return h("div", { class: "part text" }, p.content || "");
    case "tool_call":
      return h("div", { class: "part tool" }, h("div", { class: "muted small" }, "tool call ", p.id ? h("code", null, p.id) : null),
        h("pre", null, `${p.name || "?"}(${typeof p.arguments === "string" ? p.arguments : JSON.stringify(p.arguments ?? {}, null, 2)})`));
    case "tool_call_response":
      return h("div", { class: "part tool" }, h("div", { class: "muted small" }, "tool result ", p.id ? h("code", null, p.id) : null),
        h("pre", null, typeof p.response === "string" ? p.response : JSON.stringify(p.response, null, 2)));
    default:
      return h("div", { class: "part other" }, h("div", { class: "muted small" }, p.type), h("pre", null, p.content || JSON.stringify(p)));
  }
}

function bubble(role: string, parts: Part[] | null, extra?: string): HTMLElement {
  return h("div", { class: "msg role-" + role, "data-role": role },
    h("div", { class: "msg-role" }, role, extra ? h("span", { class: "muted small" }, " · " + extra) : null),
    (parts || []).length ? (parts || []).map(partView) : h("div", { class: "muted small" }, "(no content captured)"));
}

function renderDetail(box: HTMLElement, n: Node) {
  clear(box);
  const s = n.span;
  const genai = !!s.operation;
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
      genai ? fact("Provider", s.provider || "—") : [],
      genai ? fact("Model", model || "—") : [],
      genai ? fact("Usage", `${int(s.usage.input_tokens)} input + ${int(s.usage.output_tokens)} output tokens` +
        (s.usage.cached_input_tokens ? ` (${int(s.usage.cached_input_tokens)} cached)` : "") + (s.usage.reasoning_tokens ? ` (${int(s.usage.reasoning_tokens)} reasoning)` : "")) : [],
      genai ? fact("Cost", s.cost_known ? usd(s.cost_usd) + " USD" : "unknown (no price for this model)") : [],
      s.finish_reasons?.length ? fact("Finish reasons", s.finish_reasons.join(", ")) : [],
      params.length ? fact("Parameters", params.map(([k, v]) => `${k}=${v}`).join(", ")) : [],
      n.session ? fact("Session", n.session) : [],
      n.user ? fact("User", n.user) : [],
      s.response_id ? fact("Response id", s.response_id) : [],
    ),
    s.status === "error" ? h("div", { class: "error-box", role: "note" }, h("strong", null, "Error"), " ",
      [s.error_type, s.http_status ? "HTTP " + s.http_status : "", s.status_message].filter(Boolean).join(" · ") || "the span's status is error") : null,
  );
  if (genai && !canSeeContent()) add(box, h("h4", null, "Conversation"), contentNotice());
  else if (genai) {
    const conv = h("div", { class: "conversation", id: "conversation" });
    if (s.system_instructions?.length) add(conv, bubble("system", s.system_instructions));
    for (const m of s.input_messages || []) add(conv, bubble(m.role, m.parts, m.name));
    for (const m of s.output_messages || []) add(conv, bubble(m.role || "assistant", m.parts, m.finish_reason ? "finish: " + m.finish_reason : undefined));
    if (!conv.childElementCount) add(conv, h("p", { class: "muted" }, "No content was captured for this call. OpenTelemetry instrumentations record it with ",
      h("code", null, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true"), "."));
    add(box, h("h4", null, "Conversation"), s.content_truncated ? h("p", { class: "muted small" }, "Content was truncated when stored.") : null, conv);
  }
  const json = (v: any) => h("pre", { class: "json" }, JSON.stringify(v, null, 2));
  if (s.attributes && Object.keys(s.attributes).length) add(box, h("details", null, h("summary", null, `Attributes (${Object.keys(s.attributes).length})`), json(s.attributes)));
  if (s.events?.length) add(box, h("details", null, h("summary", null, `Events (${s.events.length})`), json(s.events)));
  if (s.resource_attributes && Object.keys(s.resource_attributes).length) add(box, h("details", null, h("summary", null, "Resource"), json(s.resource_attributes)));
}
