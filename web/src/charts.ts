// Time-series charts drawn with uPlot.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./util";

export interface Line {
  label: string;
  values: (number | null)[];
  color: string; // a CSS variable name, like --c1
  fill?: boolean;
  stackedOn?: number; // index of the line this one is stacked on (drawn as the sum)
  dash?: number[]; // a dashed line (a threshold)
}

export interface ChartSpec {
  title: string;
  unit: string; // shown in the title and the legend values
  times: number[]; // Unix seconds, bucket starts
  lines: Line[];
  fmt: (v: number) => string;
  axis?: (v: number) => string; // tick labels; fmt when not given
  axes?: (vals: number[]) => string[]; // all tick labels at once (one unit for the axis)
  onZoom?: (from: Date, to: Date) => void; // a range dragged across the chart
}

// msAxis labels a latency axis in one unit, the one its largest tick
// suits: 0 ms … 800 ms, or 0 s … 2.5 s.
export function msAxis(vals: number[]): string[] {
  const max = Math.max(...vals.map(Math.abs));
  const [div, unit] = max >= 60000 ? [60000, " min"] : max >= 1000 ? [1000, " s"] : [1, " ms"];
  return vals.map((v) => +(v / div).toPrecision(3) + unit);
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

const live = new Set<uPlot>();

// resize keeps charts as wide as their boxes.
let resizeTimer = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    for (const u of live) {
      const box = (u.root.parentElement as HTMLElement) || u.root;
      if (!document.body.contains(u.root)) {
        live.delete(u);
        continue;
      }
      u.setSize({ width: Math.max(200, box.clientWidth - 2), height: 190 });
    }
  }, 100);
});

// destroyCharts frees the charts of a page being left.
export function destroyCharts() {
  for (const u of live) u.destroy();
  live.clear();
}

// dropCharts frees the charts inside el (a chart being replaced).
export function dropCharts(el: Element) {
  for (const u of live) {
    if (el.contains(u.root)) {
      u.destroy();
      live.delete(u);
    }
  }
}

// chart draws one chart into a new card element.
export function chart(spec: ChartSpec, width: number): HTMLElement {
  const body = h("div", { class: "chart-body" });
  const card = h("section", { class: "card chart", "data-chart": spec.title }, h("h3", null, spec.title, h("span", { class: "unit" }, " (" + spec.unit + ")")),
    spec.onZoom ? h("p", { class: "muted tiny chart-hint" }, "Drag across the chart to zoom in; click a legend entry to hide or show its line.") : null, body);
  const raw = spec.lines.map((l) => l.values);
  const data: (number | null)[][] = spec.lines.map((l, i) => {
    if (l.stackedOn === undefined) return l.values;
    const base = raw[l.stackedOn];
    return l.values.map((v, j) => (v === null && base[j] === null ? null : (v || 0) + (base[j] || 0)));
  });
  const grid = cssVar("--grid");
  const axisColor = cssVar("--muted");
  const opts: uPlot.Options = {
    width: Math.max(200, width),
    height: 190,
    legend: { live: true },
    cursor: { drag: { x: !!spec.onZoom, y: false, setScale: false } },
    hooks: {
      ...(spec.onZoom ? {
        setSelect: [(u: uPlot) => {
          if (u.select.width < 4) return;
          const a = u.posToVal(u.select.left, "x"), b = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          spec.onZoom!(new Date(a * 1000), new Date(b * 1000));
        }],
      } : {}),
      // A legend entry's pressed state follows its line in the same task
      // uPlot shows or hides it (a timer after the click lagged behind the
      // line's u-off class, so the two disagreed for a moment).
      setSeries: [(u: uPlot) => syncPressed(u)],
    },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    axes: [
      { stroke: axisColor, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
      { stroke: axisColor, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 74, values: (_u, vals) => {
          const labels = spec.axes ? spec.axes(vals) : vals.map((v) => (spec.axis || spec.fmt)(v));
          card.dataset.yTicks = labels.join("|"); // what the canvas shows, for tests and tools
          return labels;
        } },
    ],
    series: [
      { value: (_u, v) => (v === null ? "—" : new Date(v * 1000).toLocaleString()) },
      ...spec.lines.map((l, i) => {
        const c = cssVar(l.color);
        return {
          label: l.label,
          stroke: c,
          width: 1.5,
          dash: l.dash,
          fill: l.fill ? c + "40" : undefined,
          // Sparse data (isolated buckets) shows as points.
          points: { show: l.values.some((v) => v === null) && l.values.filter((v) => v !== null).length <= 40, size: 5 },
          spanGaps: false,
          // The legend shows the line's own value, not the stacked sum.
          value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) => {
            const v = idx === null ? null : raw[i][idx];
            return v === null || v === undefined ? "—" : spec.fmt(v);
          },
        } as uPlot.Series;
      }),
    ],
  };
  // Stacked lines are drawn before the lines they sit on, so fills overlap correctly.
  const u = new uPlot(opts, [spec.times, ...data] as uPlot.AlignedData, body);
  live.add(u);
  // Legend entries toggle their line: with the keyboard too.
  u.root.querySelectorAll<HTMLElement>(".u-legend .u-series").forEach((row, i) => {
    if (i === 0) return;
    const label = row.querySelector("th") as HTMLElement | null;
    if (!label) return;
    label.tabIndex = 0;
    label.setAttribute("role", "button");
    label.title = "show or hide this line";
    label.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        label.click();
      }
    });
  });
  syncPressed(u);
  return card;
}

// syncPressed sets each legend entry's aria-pressed from whether its line
// is shown.
function syncPressed(u: uPlot) {
  u.root.querySelectorAll<HTMLElement>(".u-legend .u-series").forEach((row, i) => {
    if (i > 0) row.querySelector("th")?.setAttribute("aria-pressed", String(u.series[i]?.show !== false));
  });
}
