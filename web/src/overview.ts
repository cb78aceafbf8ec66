// The overview page: tiles, charts and the per-model table.
import { chart, ChartSpec, Line, msAxis } from "./charts";
import { api, autoInterval, filters, href, Range, update } from "./state";
import { add, clear, compact, h, int, linkRow, ms, pct, sortable, usd } from "./util";
import { emptyState } from "./common";
import { qualityCard } from "./scores";

interface Overview {
  calls: number;
  errors: number;
  error_rate: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: number;
  cost_unknown_calls: number;
  duration_ms: { avg: number; p50: number; p95: number; p99: number };
  ttft_ms: { count: number; p50: number; p95: number };
  // What the gateway's response cache saved (absent from older servers).
  cache?: { hits: number; saved_usd: number; unpriced_hits: number };
  from_metrics?: FromMetrics;
}

// savedNote is the Cost tile's line on the response cache: what its hits
// would have cost upstream.
function savedNote(o: Overview): string | undefined {
  const c = o.cache;
  if (!c || !c.hits) return undefined;
  const priced = c.hits - c.unpriced_hits;
  return priced ? `saved by cache ≈ ${usd(c.saved_usd)} (${int(c.hits)} hits)` : `${int(c.hits)} cache hits, unpriced`;
}

interface Lat { avg: number; p50: number; p95: number; p99: number }

// What apps sent as OTLP metrics for the services and models no span
// recorded (spans win where both exist).
interface FromMetrics {
  calls: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  duration_ms: Lat;
  ttft_ms: Lat;
  groups: { service: string; provider: string; model: string; calls: number; errors: number; input_tokens: number; output_tokens: number; duration_ms: Lat; ttft_ms: Lat }[];
}

function metricsCard(m: FromMetrics): HTMLElement {
  const lat = (l: Lat, n: number) => (n ? `${ms(l.avg)} avg · ${ms(l.p95)} p95` : "—");
  return h("section", { class: "card", id: "from-metrics" },
    h("h3", null, "From OTLP metrics"),
    h("p", { class: "muted small" },
      "Apps that send GenAI metrics but no spans for a service and model. Spans win where both exist; percentiles are estimated from the histogram buckets; cost needs spans."),
    h("p", null, `${int(m.calls)} calls (${int(m.errors)} failed) · ${int(m.input_tokens)} input tokens · ${int(m.output_tokens)} output tokens · duration ${lat(m.duration_ms, m.calls)}`),
    h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": "Calls from OTLP metrics by service and model" }, h("table", { class: "grid-table" },
      h("thead", null, h("tr", null, h("th", null, "Service"), h("th", null, "Model"), h("th", null, "Provider"), h("th", { class: "num" }, "Calls"),
        h("th", { class: "num" }, "Input tokens"), h("th", { class: "num" }, "Output tokens"), h("th", { class: "num" }, "Duration"), h("th", { class: "num" }, "Time to first token"))),
      h("tbody", null, m.groups.map((g) => h("tr", { "data-service": g.service, "data-model": g.model },
        h("td", null, g.service), h("td", null, g.model || "(no model)"), h("td", null, g.provider),
        h("td", { class: "num" }, int(g.calls)), h("td", { class: "num" }, int(g.input_tokens)), h("td", { class: "num" }, int(g.output_tokens)),
        h("td", { class: "num" }, lat(g.duration_ms, g.calls)), h("td", { class: "num" }, g.ttft_ms.avg ? lat(g.ttft_ms, 1) : "—"),
      ))),
    )),
  );
}

interface Series {
  group: string;
  points: { time: string; value: number }[];
}

interface Tile {
  key: string;
  label: string;
  unit: string;
  value: number | null;
  prev: number | null;
  fmt: (v: number) => string;
  worse?: "up" | "down"; // the direction that is bad news
  note?: string;
}

function tiles(o: Overview, p: Overview): Tile[] {
  return [
    { key: "calls", label: "Calls", unit: "calls", value: o.calls, prev: p.calls, fmt: int, note: `${int(o.errors)} failed` },
    { key: "total_tokens", label: "Total tokens", unit: "tokens", value: o.total_tokens, prev: p.total_tokens, fmt: int },
    { key: "input_tokens", label: "Prompt tokens", unit: "input tokens", value: o.input_tokens, prev: p.input_tokens, fmt: int },
    { key: "output_tokens", label: "Completion tokens", unit: "output tokens", value: o.output_tokens, prev: p.output_tokens, fmt: int },
    {
      key: "cost_usd", label: "Cost", unit: "USD", value: o.cost_usd, prev: p.cost_usd, fmt: usd, worse: "up",
      note: [o.cost_unknown_calls ? `+ ${int(o.cost_unknown_calls)} calls without a price` : "", savedNote(o) || ""].filter(Boolean).join(" · ") || undefined,
    },
    { key: "error_rate", label: "Error rate", unit: "of calls", value: o.error_rate, prev: p.error_rate, fmt: pct, worse: "up" },
    {
      key: "p95_duration", label: "p95 duration", unit: "per call", value: o.calls ? o.duration_ms.p95 : null, prev: p.calls ? p.duration_ms.p95 : null,
      fmt: ms, worse: "up", note: o.calls ? `p50 ${ms(o.duration_ms.p50)} · p99 ${ms(o.duration_ms.p99)}` : undefined,
    },
    {
      key: "p95_ttft", label: "p95 time to first token", unit: "streamed calls", value: o.ttft_ms.count ? o.ttft_ms.p95 : null,
      prev: p.ttft_ms.count ? p.ttft_ms.p95 : null, fmt: ms, worse: "up",
      note: o.ttft_ms.count ? `${int(o.ttft_ms.count)} streamed calls` : "no streamed calls",
    },
  ];
}

// changeText says how much a value changed, in a few characters: 12%,
// 3.4×, or 1.8k× for a jump from almost nothing.
export function changeText(d: number): string {
  const a = Math.abs(d);
  if (a < 0.1) return (a * 100).toFixed(1) + "%";
  if (a < 10) return (a * 100).toFixed(0) + "%";
  const f = d + 1; // the ratio new / old
  return (f < 1000 ? f.toFixed(f < 100 ? 1 : 0) : compact(f)) + "×";
}

function tile(t: Tile): HTMLElement {
  let change: HTMLElement;
  if (t.value === null) change = h("span", { class: "change" }, "");
  else if (t.prev === null || t.prev === 0) change = h("span", { class: "change", title: "nothing to compare with in the previous period" }, t.value === 0 ? "no change" : "new vs previous period");
  else {
    const d = (t.value - t.prev) / Math.abs(t.prev);
    const up = d > 0;
    let cls = "change";
    if (Math.abs(d) >= 0.0005 && t.worse) cls += (up === (t.worse === "up") ? " bad" : " good");
    const txt = Math.abs(d) < 0.0005 ? "no change" : `${up ? "▲" : "▼"}\u00a0${changeText(d)}`;
    change = h("span", { class: cls, title: `previous period: ${t.fmt(t.prev)}` }, txt, h("span", { class: "muted" }, " vs previous period"));
  }
  return h("div", { class: "card tile", "data-tile": t.key, "data-value": t.value === null ? "" : String(t.value) },
    h("div", { class: "tile-label" }, t.label),
    h("div", { class: "tile-value" }, t.value === null ? "—" : t.fmt(t.value), h("span", { class: "unit" }, " " + t.unit)),
    change,
    t.note ? h("div", { class: "tile-note muted" }, t.note) : null,
  );
}

// grid aligns series points on every bucket of the range; fill is the value
// of an empty bucket (0 for counts, null for latencies).
function grid(r: Range, iv: number): number[] {
  const start = Math.floor(r.from.getTime() / 1000 / iv) * iv;
  const end = r.to.getTime() / 1000;
  const out: number[] = [];
  for (let t = start; t < end; t += iv) out.push(t);
  return out;
}

function total(s: Series): number {
  return s.points.reduce((a, p) => a + p.value, 0);
}

function align(times: number[], s: Series | undefined, fill: number | null): (number | null)[] {
  const idx = new Map<number, number>();
  times.forEach((t, i) => idx.set(t, i));
  const out: (number | null)[] = times.map(() => fill);
  for (const p of s?.points || []) {
    const i = idx.get(Math.round(new Date(p.time).getTime() / 1000));
    if (i !== undefined) out[i] = p.value;
  }
  return out;
}

export async function overviewPage(main: HTMLElement, r: Range, signal: AbortSignal) {
  const span = r.to.getTime() - r.from.getTime();
  const prevFrom = new Date(r.from.getTime() - span);
  const iv = autoInterval(span);
  const ts = (metric: string, agg?: string, group_by?: string) =>
    api<{ series: Series[] }>("timeseries", { metric, agg, group_by, interval: iv + "s" }, r, signal);
  const cur = api<Overview>("overview", {}, r, signal);
  const prev = api<Overview>("overview", { from: prevFrom.toISOString(), to: r.from.toISOString() }, r, signal);
  const models = api<{ rows: any[] }>("breakdown", { by: "model", limit: 50 }, r, signal);
  // Each chart's data, requested now and drawn as it arrives.
  const tokensP = Promise.all([ts("input_tokens"), ts("output_tokens")]);
  const callsP = ts("calls", undefined, "status");
  const latencyP = Promise.all([ts("duration_ms", "p50"), ts("duration_ms", "p95"), ts("duration_ms", "p99")]);
  const costP = ts("cost_usd");
  const costByModelP = ts("cost_usd", undefined, "model");
  // The previous period's calls, drawn under this period's.
  const prevCallsP = api<{ series: Series[] }>("timeseries", { metric: "calls", interval: iv + "s", from: prevFrom.toISOString(), to: r.from.toISOString() }, r, signal);
  const qualityP = qualityCard(r.from, r.to, signal);
  // Whatever is not awaited (the page may end at the tiles) must not reject unobserved.
  for (const p of [tokensP, callsP, latencyP, costP, costByModelP, prevCallsP, models, qualityP] as Promise<unknown>[]) p.catch(() => {});

  const [o, p] = await Promise.all([cur, prev]);
  const tileBox = h("div", { class: "tiles" }, tiles(o, p).map(tile));
  add(main, tileBox);
  const m = o.from_metrics;
  const fromMetrics = m && m.groups.length > 0 ? metricsCard(m) : null;
  if (fromMetrics) add(main, fromMetrics);
  if (o.calls === 0) {
    if (!fromMetrics) add(main, emptyState(r));
    main.dataset.loaded = "true";
    return;
  }
  const titles = ["Tokens", "Calls by status", "Latency", "Cost", "Cost by model"];
  const slots = titles.map((t) => h("section", { class: "card chart chart-slot", "aria-busy": "true" }, h("h3", null, t), h("p", { class: "muted" }, "Loading…")));
  const chartsBox = h("div", { class: "charts" }, slots);
  const modelBox = h("section", { class: "card" }, h("h3", null, "By model"), h("p", { class: "muted" }, "Loading…"));
  const qualitySlot = h("div", { class: "quality-slot" });
  add(main, chartsBox, qualitySlot, modelBox);
  // The quality card shows when the range has scores; a store without
  // scores (or a failed request) leaves it out.
  const qualityDone = qualityP.then((q) => {
    if (q && !signal.aborted) qualitySlot.replaceWith(q);
  }).catch(() => {});

  const times = grid(r, iv);
  const width = Math.floor((chartsBox.clientWidth || 800) / (chartsBox.clientWidth > 900 ? 2 : 1)) - 40;
  const perBucket = "per " + (iv < 60 ? iv + " s" : iv < 3600 ? iv / 60 + " min" : iv < 86400 ? iv / 3600 + " h" : iv / 86400 + " d");
  const zoom = (from: Date, to: Date) => update({ from: from.toISOString(), to: to.toISOString(), cursor: "" });
  const place = (i: number, spec: ChartSpec) => {
    if (!signal.aborted) slots[i].replaceWith(chart({ ...spec, onZoom: zoom }, width));
  };
  const drawn = Promise.all([
    tokensP.then(([tin, tout]) => place(0, {
      title: "Tokens", unit: "tokens " + perBucket, times, fmt: compact,
      lines: [
        { label: "input", values: align(times, tin.series[0], 0), color: "--c1", fill: true },
        { label: "output", values: align(times, tout.series[0], 0), color: "--c2", fill: true, stackedOn: 0 },
      ],
    })),
    Promise.all([callsP, prevCallsP]).then(([calls, prevCalls]) => {
      const byStatus = (st: string) => calls.series.find((s) => s.group === st);
      const lines: Line[] = [
        { label: "ok", values: align(times, byStatus("ok"), 0), color: "--ok", fill: true },
        { label: "error", values: align(times, byStatus("error"), 0), color: "--err", fill: true },
      ];
      if (byStatus("unset")) lines.push({ label: "unset", values: align(times, byStatus("unset"), 0), color: "--c3" });
      // The previous period shifted onto this one, as a dashed line.
      const shift = span / 1000;
      const prevTimes = times.map((t) => t - shift);
      const prevVals = align(prevTimes, prevCalls.series[0], 0);
      lines.push({ label: "previous period", values: prevVals, color: "--c3", dash: [5, 4] });
      place(1, { title: "Calls by status", unit: "calls " + perBucket, times, fmt: compact, lines });
    }),
    latencyP.then(([p50, p95, p99]) => place(2, {
      title: "Latency", unit: "per call", times, fmt: (v) => ms(v), axes: msAxis,
      lines: [
        { label: "p50", values: align(times, p50.series[0], null), color: "--c1" },
        { label: "p95", values: align(times, p95.series[0], null), color: "--c4" },
        { label: "p99", values: align(times, p99.series[0], null), color: "--err" },
      ],
    })),
    costP.then((cost) => place(3, {
      title: "Cost", unit: "USD " + perBucket, times, fmt: (v) => usd(v), axis: (v) => "$" + +v.toPrecision(2),
      lines: [{ label: "cost", values: align(times, cost.series[0], 0), color: "--c5", fill: true }],
    })),
    costByModelP.then((cm) => {
      const colors = ["--c1", "--c2", "--c4", "--c5", "--c3"];
      const top = [...cm.series].sort((a, b) => total(b) - total(a)).slice(0, 5);
      place(4, {
        title: "Cost by model", unit: "USD " + perBucket, times, fmt: (v) => usd(v), axis: (v) => "$" + +v.toPrecision(2),
        lines: top.map((s, i) => ({ label: s.group || "(no model)", values: align(times, s, 0), color: colors[i] })),
      });
    }),
  ]);
  drawn.catch(() => {});

  const bd = await models;
  const model = filters().model;
  clear(modelBox);
  add(modelBox, 
    h("h3", null, "By model", h("span", { class: "muted small" }, model ? "" : " — click a model to filter the page")),
    model ? h("p", { class: "small" }, "Showing only ", h("code", null, model), ". ", h("a", { href: href(location.pathname, { model: "" }), "data-link": true }, "Show all models")) : null,
    h("div", { class: "scroll" }, sortable(h("table", { class: "grid-table", id: "models" },
      h("thead", null, h("tr", null, h("th", null, "Model"), h("th", { class: "num" }, "Calls"), h("th", { class: "num" }, "Input tokens"),
        h("th", { class: "num" }, "Output tokens"), h("th", { class: "num" }, "Cost (USD)"), h("th", { class: "num" }, "p95 duration"), h("th", { class: "num" }, "Error rate"))),
      h("tbody", null, bd.rows.map((row) =>
        linkRow(h("tr", { "data-model": row.key },
          h("td", null, h("a", { href: href(location.pathname, { model: model === row.key ? "" : row.key }), "data-link": true, tabindex: "-1", class: "trunc", title: row.key }, row.key || "(no model)")),
          h("td", { class: "num", "data-sort": row.calls }, int(row.calls)),
          h("td", { class: "num", "data-sort": row.input_tokens }, int(row.input_tokens)),
          h("td", { class: "num", "data-sort": row.output_tokens }, int(row.output_tokens)),
          h("td", { class: "num", "data-sort": row.cost_usd }, usd(row.cost_usd), row.cost_unknown_calls ? h("span", { class: "muted", title: "calls without a price" }, " +" + row.cost_unknown_calls + " unpriced") : null),
          h("td", { class: "num", "data-sort": row.duration_ms.p95 }, ms(row.duration_ms.p95)),
          h("td", { class: "num", "data-sort": row.error_rate }, pct(row.error_rate)),
        ), () => update({ model: model === row.key ? "" : row.key })))),
    ))),
  );
  await Promise.all([drawn, qualityDone]);
  main.dataset.loaded = "true";
}
