// The Connect page: how to point an application at genscope.
import { api, href, session } from "./state";
import { add, ago, copyText, h, time } from "./util";

interface Status {
  has_data: boolean;
  last_span_time: string | null;
  version: string;
  project: string;
  connection_string: string;
  endpoints: { otlp_http: string; otlp_traces: string; otlp_grpc: string; openai_base_url: string; azure_openai: string; api: string };
  gateway: boolean;
  deployments: string[];
  keys_required?: boolean;
  gateway_service?: string;
}

interface Source {
  service: string;
  calls: number;
  last: string | null;
}

// sources are the services that sent spans in the last 30 days, with the
// time of each one's newest span.
async function sources(signal: AbortSignal): Promise<Source[]> {
  const scope = { from: new Date(Date.now() - 30 * 86400e3), to: new Date(Date.now() + 3600e3), key: "custom", label: "" };
  const bd = await api<{ rows: { key: string; calls: number }[] }>("breakdown", { by: "service", limit: 10 }, scope, signal);
  return Promise.all(bd.rows.map(async (r) => {
    const page = await api<{ spans: { start_time: string }[] }>("spans", { service: r.key, limit: 1, all: "true" }, scope, signal);
    return { service: r.key, calls: r.calls, last: page.spans[0]?.start_time || null };
  }));
}

export function codeBlock(id: string, text: string): HTMLElement {
  const btn = h("button", { type: "button", class: "btn small copy", "aria-label": "copy " + id }, "Copy");
  btn.addEventListener("click", async () => {
    const ok = await copyText(text);
    btn.textContent = ok ? "Copied ✓" : "Select and copy";
    setTimeout(() => (btn.textContent = "Copy"), 2000);
  });
  return h("div", { class: "code", id: "code-" + id }, h("pre", null, h("code", null, text)), btn);
}

function statusLine(st: Status, src: Source[]): HTMLElement {
  if (!st.has_data) return h("div", { id: "connect-status-box" }, h("p", { class: "status-line waiting", id: "connect-status", "data-ok": "false", role: "status" }, "○ Waiting for the first span… this line turns green when it arrives."));
  const gw = st.gateway_service || "";
  const apps = src.filter((s) => s.service !== gw);
  const fromGw = src.find((s) => s.service === gw);
  const item = (s: Source) => h("li", { "data-source": s.service }, h("code", null, s.service || "(no service name)"), s.service === gw ? " — the gateway's own spans" : "",
    ` · ${s.calls} calls`, s.last ? [" · last span ", ago(s.last), ` (${time(s.last, false)})`] : null);
  const head = apps.length
    ? h("p", { class: "status-line ok", id: "connect-status", "data-ok": "true", "data-sources": src.map((s) => s.service).join(","), role: "status" }, "● Receiving telemetry — last span ", ago(st.last_span_time!), ` (${time(st.last_span_time!, false)}).`)
    : h("p", { class: "status-line waiting", id: "connect-status", "data-ok": fromGw ? "gateway-only" : "true", "data-sources": src.map((s) => s.service).join(","), role: "status" },
      fromGw ? "◐ Only the gateway's spans have arrived: calls through the gateway are recorded, but your app's own OpenTelemetry exporter has sent nothing yet."
        : ["● Receiving telemetry — last span ", ago(st.last_span_time!), "."]);
  return h("div", { id: "connect-status-box" }, head, src.length ? h("ul", { class: "sources", id: "sources", "aria-label": "services that sent data in the last 30 days" }, src.map(item)) : null);
}

// demoLine is the command that sends sample traffic to this genscope:
// with --server when it is not at the default address.
export function demoLine(base: string): string {
  const server = /^http:\/\/(127\.0\.0\.1|localhost):4318$/.test(base) ? "" : " --server " + base;
  return `genscope demo${server}    # sends the lab's sample traffic to this genscope`;
}

export async function connectPage(main: HTMLElement, signal: AbortSignal) {
  const st = await api<Status>("status", {}, undefined, signal);
  const e = st.endpoints;
  const line = statusLine(st, st.has_data ? await sources(signal) : []);
  const keys = !!st.keys_required;
  const admin = !!session.me && (session.me.admin || session.me.projects.some((p) => p.name === st.project && p.role === "admin"));
  const hdr = keys ? "export OTEL_EXPORTER_OTLP_HEADERS=x-genscope-key=<YOUR_INGEST_KEY>\n" : "";
  add(main,
    h("section", { class: "card" }, h("h3", null, "Status"), line, h("p", { class: "muted small" }, "genscope ", st.version, " · project ", h("code", null, st.project))),
    keys ? h("section", { class: "card notice-card", id: "keys-required" },
      h("h3", null, "This genscope needs project keys"),
      h("p", null, "Access control is on: ingestion (OTLP and Application Insights) and the gateway accept only a key of the project the data belongs to. ",
        "Each kind has its own scope: an ", h("code", null, "ingest"), " key for OTLP, an ", h("code", null, "appinsights"), " key (it comes with its connection string) for Azure Monitor exporters, a ", h("code", null, "gateway"), " key for the gateway."),
      h("p", null, admin
        ? ["Create them on the ", h("a", { href: href("/projects/" + encodeURIComponent(st.project)), "data-link": true, id: "keys-link" }, "Projects page"), " (each key is shown once), then put them in place of the placeholders below."]
        : ["A project admin creates them on the ", h("a", { href: href("/projects"), "data-link": true, id: "keys-link" }, "Projects page"), "; put them in place of the placeholders below."])) : null,
    h("section", { class: "card" },
      h("h3", null, "OpenTelemetry (OTLP)"),
      h("p", null, "Any OpenTelemetry GenAI instrumentation (OpenAI, Azure AI Inference, OpenLLMetry, OpenInference, Semantic Kernel, LangChain…) sends to genscope with these environment variables:"),
      codeBlock("otlp-http", hdr + [
        `export OTEL_EXPORTER_OTLP_ENDPOINT=${e.otlp_http}`,
        "export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
        "export OTEL_SERVICE_NAME=my-llm-app",
        "export OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true   # record prompts and answers",
      ].join("\n")),
      e.otlp_grpc ? [h("p", null, "Or OTLP/gRPC:"), codeBlock("otlp-grpc", hdr + `export OTEL_EXPORTER_OTLP_PROTOCOL=grpc\nexport OTEL_EXPORTER_OTLP_ENDPOINT=${e.otlp_grpc}`)] : null,
      h("p", { class: "muted small" }, "Traces only: ", h("code", null, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=" + e.otlp_traces), ". Log records with message content go to ", h("code", null, "/v1/logs"), "."),
    ),
    h("section", { class: "card" },
      h("h3", null, "Azure Monitor (Application Insights) exporter"),
      h("p", null, "Apps using an Azure Monitor OpenTelemetry exporter send to genscope unchanged but for the connection string:"),
      st.connection_string ? [
        codeBlock("connection-string", st.connection_string),
        codeBlock("appinsights-env", `export APPLICATIONINSIGHTS_CONNECTION_STRING="${st.connection_string}"\nexport APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL=true`),
      ] : [
        h("p", null, "Each project has its own connection string: create an ", h("code", null, "appinsights"), " key on the ", h("a", { href: href("/projects"), "data-link": true }, "Projects page"), " and copy the connection string shown with it."),
        codeBlock("appinsights-env", `export APPLICATIONINSIGHTS_CONNECTION_STRING="<CONNECTION_STRING_OF_YOUR_APPINSIGHTS_KEY>"\nexport APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL=true`),
      ],
      keys ? null : h("p", { class: "muted small" }, "The terminal prints the same with ", h("code", null, "genscope connection-string"), ". The Node.js exporter needs HTTPS: run ", h("code", null, "genscope serve --tls-self-signed"), "."),
    ),
    h("section", { class: "card" },
      h("h3", null, "Gateway: call the model through genscope"),
      st.gateway ? null : h("p", { class: "error-box" }, "The gateway is off in this genscope's configuration (gateway.enabled: false)."),
      h("p", null, "genscope's OpenAI-compatible gateway forwards to the configured upstream (or the built-in simulated model) and records every call, with no instrumentation in the app."),
      h("h4", null, "OpenAI SDK"),
      keys
        ? codeBlock("openai", `export OPENAI_BASE_URL=${e.openai_base_url}\n\n# Python\nfrom openai import OpenAI\nclient = OpenAI(base_url="${e.openai_base_url}", api_key="<YOUR_GATEWAY_KEY>")  # genscope's gateway key, never sent upstream\n# or keep api_key for the upstream and add the key as a header:\n# OpenAI(base_url=..., api_key=..., default_headers={"x-genscope-key": "<YOUR_GATEWAY_KEY>"})`)
        : codeBlock("openai", `export OPENAI_BASE_URL=${e.openai_base_url}\n\n# Python\nfrom openai import OpenAI\nclient = OpenAI(base_url="${e.openai_base_url}")  # the API key goes to the upstream (any value for the simulated model)`),
      h("h4", null, "Azure OpenAI SDK"),
      codeBlock("azure-openai", `export AZURE_OPENAI_ENDPOINT=${e.azure_openai}\n\n# Python\nfrom openai import AzureOpenAI\nclient = AzureOpenAI(azure_endpoint="${e.azure_openai}", api_version="2024-10-21", api_key="${keys ? "<YOUR_GATEWAY_KEY>" : "…"}")${keys ? "  # the api-key header carries genscope's gateway key" : ""}\nclient.chat.completions.create(model="${st.deployments[0] || "gpt-4o"}", messages=[…])`),
      st.deployments.length ? h("p", null, "Deployments (Azure) and models (OpenAI): ", st.deployments.map((d, i) => [i ? ", " : "", h("code", null, d)])) : null,
    ),
    h("section", { class: "card" },
      h("h3", null, "Try it without an app"),
      codeBlock("demo", demoLine(e.otlp_http)),
    ),
  );
  main.dataset.loaded = "true";
  // Poll until the first span arrives (and keep "last span" fresh).
  const poll = async () => {
    if (signal.aborted) return;
    try {
      const s = await api<Status>("status", {}, undefined, signal);
      const fresh = statusLine(s, s.has_data ? await sources(signal) : []);
      document.getElementById("connect-status-box")?.replaceWith(fresh);
    } catch {
      // aborted or the server is away; try again
    }
    if (!signal.aborted) setTimeout(poll, 3000);
  };
  setTimeout(poll, 3000);
}
