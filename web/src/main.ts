// genscope's dashboard: layout, routing, time range, theme, auto-refresh.
import "./style.css";
import { destroyCharts } from "./charts";
import { errorCard, filterBar } from "./common";
import { firedPage, historyPage, rulesPage } from "./alerts";
import { connectPage } from "./connect";
import { groupFormPage, groupsPage } from "./groups";
import { ruleFormPage } from "./ruleform";
import { overviewPage } from "./overview";
import { sessionPage, sessionsPage, spansPage } from "./spans";
import { go, href, query, range, RANGES, setRouter, update, Range } from "./state";
import { tracePage } from "./trace";
import { add, clear, h, time } from "./util";

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/spans", "Gen AI spans"],
  ["/sessions", "Sessions"],
  ["/connect", "Connect"],
  ["/alerts", "Alerts"],
];

// Theme: the system's unless the user picked one.
function theme(): "light" | "dark" {
  const saved = localStorage.getItem("genscope.theme");
  if (saved === "light" || saved === "dark") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}
function applyTheme() {
  document.documentElement.dataset.theme = theme();
}
applyTheme();
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
  applyTheme();
  route(true);
});

interface Page {
  title: string;
  filters: boolean; // shows the filter bar and time range
  run: (main: HTMLElement, r: Range, signal: AbortSignal) => Promise<void> | void;
}

function match(path: string): Page | null {
  let m: RegExpExecArray | null;
  if (path === "/" || path === "/overview") return { title: "Overview", filters: true, run: overviewPage };
  if (path === "/spans") return { title: "Gen AI spans", filters: true, run: spansPage };
  if ((m = /^\/traces\/([0-9a-fA-F]{32})$/.exec(path))) {
    const id = m[1];
    return { title: "Trace", filters: false, run: (main, _r, s) => tracePage(main, id, s) };
  }
  if (path === "/sessions") return { title: "Sessions", filters: true, run: sessionsPage };
  if ((m = /^\/sessions\/(.+)$/.exec(path))) {
    const id = decodeURIComponent(m[1]);
    return { title: "Session", filters: false, run: (main, r, s) => sessionPage(main, r, id, s) };
  }
  if (path === "/connect") return { title: "Connect", filters: false, run: (main, _r, s) => connectPage(main, s) };
  if (path === "/alerts") return { title: "Alert rules", filters: false, run: (main, _r, s) => rulesPage(main, s) };
  if (path === "/alerts/fired") return { title: "Fired alerts", filters: false, run: (main, _r, s) => firedPage(main, s) };
  if (path === "/alerts/history") return { title: "Alert history", filters: false, run: (main, _r, s) => historyPage(main, s) };
  if (path === "/alerts/action-groups") return { title: "Action groups", filters: false, run: (main, _r, s) => groupsPage(main, s) };
  if ((m = /^\/alerts\/rules\/([^/]+)$/.exec(path))) {
    const id = m[1] === "new" ? null : decodeURIComponent(m[1]);
    return { title: id ? "Edit alert rule" : "New alert rule", filters: false, run: (main, _r, s) => ruleFormPage(main, id, s) };
  }
  if ((m = /^\/alerts\/action-groups\/([^/]+)$/.exec(path))) {
    const id = m[1] === "new" ? null : decodeURIComponent(m[1]);
    return { title: id ? "Edit action group" : "New action group", filters: false, run: (main, _r, s) => groupFormPage(main, id, s) };
  }
  return null;
}

function rangeControl(r: Range): HTMLElement {
  const q = query();
  const custom = r.key === "custom";
  const sel = h("select", { id: "range", "aria-label": "time range" },
    RANGES.map(([k, l]) => h("option", { value: k, selected: r.key === k }, l)),
    h("option", { value: "custom", selected: custom }, "Custom…"));
  const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const fromIn = h("input", { type: "datetime-local", id: "range-from", "aria-label": "from", value: local(r.from) });
  const toIn = h("input", { type: "datetime-local", id: "range-to", "aria-label": "to", value: local(r.to) });
  const customBox = h("span", { class: "custom-range" + (custom ? "" : " hidden") }, fromIn, " – ", toIn,
    h("button", {
      type: "button", class: "btn small", onclick: () => {
        const f = new Date(fromIn.value), t = new Date(toIn.value);
        if (isNaN(f.getTime()) || isNaN(t.getTime()) || f >= t) {
          fromIn.setCustomValidity("from must be before to");
          fromIn.reportValidity();
          return;
        }
        update({ from: f.toISOString(), to: t.toISOString(), cursor: "" });
      },
    }, "Apply"));
  sel.addEventListener("change", () => {
    if (sel.value === "custom") customBox.classList.remove("hidden");
    else update({ from: sel.value === "24h" ? "" : sel.value, to: "", cursor: "" });
  });
  void q;
  return h("div", { class: "range" }, sel, customBox);
}

let controller: AbortController | null = null;
let refreshTimer = 0;

// route renders the page the URL names; soft keeps the scroll position.
async function route(soft = false) {
  controller?.abort();
  const ctl = new AbortController();
  controller = ctl;
  const app = document.getElementById("app")!;
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const page = match(path);
  const r = range();
  const scroll = window.scrollY;
  const q = query();
  const refresh = q.get("refresh") === "1";

  destroyCharts();
  clear(app);
  const main = h("main", { id: "main", tabindex: "-1", "data-page": page ? page.title : "not-found" });
  const themeBtn = h("button", {
    type: "button", class: "btn ghost", id: "theme", title: "switch between light and dark",
    onclick: () => {
      localStorage.setItem("genscope.theme", theme() === "dark" ? "light" : "dark");
      applyTheme();
      route(true);
    },
  }, theme() === "dark" ? "☀ Light" : "☾ Dark");
  const refreshBox = h("label", { class: "inline", title: "reload the data every 30 seconds" },
    h("input", { type: "checkbox", id: "refresh", checked: refresh, onchange: (e: Event) => update({ refresh: (e.target as HTMLInputElement).checked ? "1" : "" }, true) }),
    " Auto-refresh");
  const updated = h("span", { class: "muted small", id: "updated" });
  add(app, h("div", { class: "layout" },
    h("nav", { class: "sidebar", "aria-label": "pages" },
      h("a", { class: "brand", href: href("/"), "data-link": true }, h("span", { class: "logo", "aria-hidden": "true" }, "◎"), " genscope"),
      h("ul", null, NAV.map(([p, l]) => {
        const on = p === "/" ? path === "/" : path === p || path.startsWith(p + "/") || (p === "/spans" && path.startsWith("/traces/"));
        return h("li", null, h("a", { href: href(p), "data-link": true, class: on ? "active" : "", "aria-current": on ? "page" : undefined }, l));
      })),
    ),
    h("div", { class: "content" },
      h("header", { class: "topbar" },
        h("h1", null, page ? page.title : "Not found"),
        h("div", { class: "controls" }, page?.filters ? [rangeControl(r), refreshBox] : null, updated, themeBtn)),
      page?.filters ? filterBar(r) : null,
      main,
    ),
  ));
  document.title = (page ? page.title : "Not found") + " · genscope";
  if (!page) {
    add(main, h("section", { class: "card empty" }, h("h3", null, "No such page"), h("p", null, h("a", { href: href("/"), "data-link": true }, "Go to the overview"))));
    main.dataset.loaded = "true";
    return;
  }
  const started = performance.now();
  const loading = h("p", { class: "muted loading" }, "Loading…");
  add(main, loading);
  try {
    await page.run(main, r, ctl.signal);
    if (ctl.signal.aborted) return;
    loading.remove();
    // When the page was complete: ms since navigation start, and since this render began.
    main.dataset.doneAt = String(Math.round(performance.now()));
    main.dataset.renderMs = String(Math.round(performance.now() - started));
    updated.textContent = "updated " + time(new Date(), false).slice(11);
    if (soft) window.scrollTo(0, scroll);
  } catch (err) {
    if (ctl.signal.aborted || (err as Error)?.name === "AbortError") return;
    loading.remove();
    add(main, errorCard(err));
    main.dataset.loaded = "error";
  }
  clearTimeout(refreshTimer);
  if (refresh && page.filters) refreshTimer = window.setTimeout(() => route(true), 30000);
}

setRouter(() => route());
window.addEventListener("popstate", () => route());
// Internal links navigate without reloading.
document.addEventListener("click", (ev) => {
  const a = (ev.target as HTMLElement).closest("a[data-link]") as HTMLAnchorElement | null;
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  go(a.getAttribute("href")!);
  window.scrollTo(0, 0);
});
route();
