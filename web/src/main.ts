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
import { projectPage, projectsPage } from "./projects";
import { access, APIError, go, href, Me, project, query, range, RANGES, send, session, setRouter, setUnauthorized, update, Range } from "./state";
import { tracePage } from "./trace";
import { add, clear, h, time } from "./util";

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/spans", "Gen AI spans"],
  ["/sessions", "Sessions"],
  ["/connect", "Connect"],
  ["/alerts", "Alerts"],
];

// administers says whether the user may manage some project's keys.
function administers(me: Me | null): boolean {
  return !!me && (me.admin || me.projects.some((p) => p.role === "admin"));
}

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
  if (path === "/projects") return { title: "Projects", filters: false, run: (main, _r, s) => projectsPage(main, s) };
  if ((m = /^\/projects\/([^/]+)$/.exec(path))) {
    const name = decodeURIComponent(m[1]);
    return { title: "Project " + name, filters: false, run: (main, _r, s) => projectPage(main, name, s) };
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

  if (session.auth && !session.me) {
    loginPage(app);
    return;
  }
  // A project the user cannot read (a shared link, another user's) gives
  // way to one they can.
  if (session.auth && q.get("project") && q.get("project") !== project()) {
    q.set("project", project());
    history.replaceState(null, "", location.pathname + "?" + q.toString());
  }
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
      h("ul", null, (administers(session.me) ? [...NAV, ["/projects", "Projects"]] : NAV).map(([p, l]) => {
        const on = p === "/" ? path === "/" : path === p || path.startsWith(p + "/") || (p === "/spans" && path.startsWith("/traces/"));
        return h("li", null, h("a", { href: href(p), "data-link": true, class: on ? "active" : "", "aria-current": on ? "page" : undefined }, l));
      })),
    ),
    h("div", { class: "content" },
      h("header", { class: "topbar" },
        h("h1", null, page ? page.title : "Not found"),
        h("div", { class: "controls" }, page?.filters ? [rangeControl(r), refreshBox] : null, updated, session.me ? userControls(session.me) : null, themeBtn)),
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

// projectPicker (when several projects are readable) and the user menu.
function userControls(me: Me): HTMLElement[] {
  const cur = project();
  const a = access();
  const picker = me.projects.length > 1
    ? h("label", { class: "inline", title: "the project every page shows" }, "Project ",
      h("select", { id: "project", onchange: (e: Event) => update({ project: (e.target as HTMLSelectElement).value, cursor: "" }) },
        me.projects.map((p) => h("option", { value: p.name, selected: p.name === cur }, p.name))))
    : null;
  const who = me.user || (me.admin ? "admin token" : "API key");
  const out = h("button", {
    type: "button", class: "btn small ghost", id: "sign-out", onclick: async () => {
      try {
        await send("POST", "logout");
      } catch {
        // the session is gone either way
      }
      session.me = null;
      route();
    },
  }, "Sign out");
  const menu = h("details", { class: "user-menu", id: "user-menu" },
    h("summary", { title: "signed in as " + who }, "◉ ", h("span", { id: "user-name" }, who)),
    h("div", { class: "menu", role: "menu" },
      h("p", null, "Signed in as ", h("strong", null, who), me.admin ? " (administrator)" : ""),
      h("p", null, "Project ", h("strong", { id: "current-project" }, cur || "—"), a?.role ? " · " + a.role : "",
        h("br"), h("span", { class: "muted small" }, a?.content ? "sees message content" : "message content hidden")),
      me.user ? out : null));
  return picker ? [picker, menu] : [menu];
}

// loginPage asks for a user name and password, then shows the page the
// URL names (the one the user wanted).
function loginPage(app: HTMLElement) {
  if (document.getElementById("login")) return;
  controller?.abort();
  clearTimeout(refreshTimer);
  destroyCharts();
  clear(app);
  document.title = "Sign in · genscope";
  const user = h("input", { type: "text", id: "login-user", name: "username", autocomplete: "username", required: true, spellcheck: "false" });
  const pass = h("input", { type: "password", id: "login-password", name: "password", autocomplete: "current-password", required: true });
  const msg = h("p", { class: "bad", id: "login-error", role: "alert" });
  const btn = h("button", { type: "submit", class: "btn", id: "login-submit" }, "Sign in");
  const form = h("form", {
    class: "card login", id: "login", "aria-label": "sign in", onsubmit: async (e: Event) => {
      e.preventDefault();
      btn.disabled = true;
      msg.textContent = "";
      try {
        session.me = await send<Me>("POST", "login", { username: user.value.trim(), password: pass.value });
        route();
      } catch (err) {
        const st = err instanceof APIError ? err.status : 0;
        msg.textContent = st === 401 ? "Wrong user name or password."
          : st === 429 ? "Too many failed sign-ins: " + (err as Error).message + ". Wait a while (up to 15 minutes) and try again."
            : "Could not sign in: " + (err as Error).message;
        btn.disabled = false;
        pass.select();
      }
    },
  },
  h("h1", null, h("span", { class: "logo", "aria-hidden": "true" }, "◎"), " genscope"),
  h("p", { class: "muted" }, "Sign in to see this genscope's data."),
  h("label", { for: "login-user" }, "User name"), user,
  h("label", { for: "login-password" }, "Password"), pass,
  msg, btn);
  add(app, h("main", { class: "login-page", id: "main", "data-page": "login" }, form));
  user.focus();
}

// boot finds out whether auth is on (status answers 401, or says keys
// are required) and who is logged in, then shows the page.
async function boot() {
  try {
    const resp = await fetch("/api/v1/status", { headers: { Accept: "application/json" } });
    const st = resp.ok ? await resp.json().catch(() => ({})) : {};
    if (!resp.ok || st.keys_required) {
      session.auth = true;
      if (resp.status !== 401) {
        const me = await fetch("/api/v1/me", { headers: { Accept: "application/json" } });
        if (me.ok) session.me = await me.json();
      }
    }
  } catch {
    // the server is away: the page says so when it loads
  }
  route();
}

setUnauthorized(() => {
  session.auth = true;
  session.me = null;
  route();
});
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
boot();
