// genscope's dashboard: layout, routing, time range, theme, auto-refresh.
import "./style.css";
import { destroyCharts, dropCharts } from "./charts";
import { errorCard, filterBar } from "./common";
import { firedPage, historyPage, rulesPage } from "./alerts";
import { connectPage } from "./connect";
import { groupFormPage, groupsPage } from "./groups";
import { ruleFormPage } from "./ruleform";
import { overviewPage } from "./overview";
import { sessionPage, sessionsPage, spansPage } from "./spans";
import { projectPage, projectsPage } from "./projects";
import { access, adminToken, api, APIError, go, href, Me, OfflineError, project, query, range, RANGES, request, send, session, setAdminToken, setRouter, setUnauthorized, update, Range } from "./state";
import { tracePage } from "./trace";
import { accountsPage, usersPage } from "./users";
import { agentsPage } from "./agents";
import { add, clear, h, time } from "./util";

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/spans", "Gen AI spans"],
  ["/sessions", "Sessions"],
  ["/users", "Users"],
  ["/agents", "Agents"],
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
  route(true, true);
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
  if (path === "/users") return { title: "Users", filters: true, run: usersPage };
  if (path === "/agents") return { title: "Agents", filters: true, run: agentsPage };
  if (path === "/accounts") return { title: "Accounts", filters: false, run: (main, _r, s) => accountsPage(main, s) };
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
let shellKey = ""; // the page and query the shell (navigation, filters) was built for
let retryTimer = 0;

// shell builds the navigation, the title bar and the filter bar, and
// returns the (empty) main element the page goes into.
function shell(app: HTMLElement, path: string, page: Page | null, r: Range): HTMLElement {
  const q = query();
  const refresh = q.get("refresh") === "1";
  clear(app);
  const main = h("main", { id: "main", tabindex: "-1", "data-page": page ? page.title : "not-found" });
  const themeBtn = h("button", {
    type: "button", class: "btn ghost", id: "theme", title: "switch between light and dark",
    onclick: () => {
      localStorage.setItem("genscope.theme", theme() === "dark" ? "light" : "dark");
      applyTheme();
      route(true, true);
    },
  }, theme() === "dark" ? "☀ Light" : "☾ Dark");
  const refreshBox = h("label", { class: "inline", title: "reload the data every 30 seconds" },
    h("input", { type: "checkbox", id: "refresh", checked: refresh, onchange: (e: Event) => update({ refresh: (e.target as HTMLInputElement).checked ? "1" : "" }, true) }),
    " Auto-refresh");
  const updated = h("span", { class: "muted small", id: "updated", "aria-live": "polite" });
  const nav = administers(session.me) ? [...NAV, ["/projects", "Projects"]] : [...NAV];
  if (session.auth && session.me?.admin) nav.push(["/accounts", "Accounts"]);
  const list = h("ul", { id: "nav-list" }, nav.map(([p, l]) => {
    const on = p === "/" ? path === "/" : path === p || path.startsWith(p + "/") || (p === "/spans" && path.startsWith("/traces/"));
    return h("li", null, h("a", { href: href(p), "data-link": true, class: on ? "active" : "", "aria-current": on ? "page" : undefined }, l));
  }));
  const menuBtn = h("button", {
    type: "button", class: "btn ghost menu-btn", id: "menu-btn", "aria-expanded": "false", "aria-controls": "nav-list",
    onclick: () => {
      const open = menuBtn.getAttribute("aria-expanded") !== "true";
      menuBtn.setAttribute("aria-expanded", String(open));
      list.classList.toggle("open", open);
    },
  }, "☰ Menu");
  add(app,
    h("a", { class: "skip-link", href: "#main", onclick: (e: Event) => { e.preventDefault(); main.focus(); main.scrollIntoView(); } }, "Skip to content"),
    h("div", { class: "layout" },
      h("nav", { class: "sidebar", "aria-label": "pages" },
        h("div", { class: "brand-row" },
          h("a", { class: "brand", href: href("/"), "data-link": true }, h("span", { class: "logo", "aria-hidden": "true" }, "◎"), " genscope"),
          menuBtn),
        list,
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
  return main;
}

// keyOf names what the shell shows: the path and the query but for the
// keys a page changes on its own (refresh, a trace's selected span).
function keyOf(path: string): string {
  const q = query();
  q.delete("span");
  return path + "?" + q.toString() + "|" + theme() + "|" + (session.me?.user || "") + "|" + adminToken().length;
}

// progress shows that a page is loading: after a moment, for how long,
// with a button that cancels it.
function progress(ctl: AbortController, onCancel: () => void): { el: HTMLElement; stop: () => void } {
  const secs = h("span", { class: "elapsed" });
  const cancel = h("button", { type: "button", class: "btn small ghost", id: "cancel-load", onclick: () => { ctl.abort(); onCancel(); } }, "Cancel");
  const el = h("div", { class: "loading", role: "status", "aria-live": "polite" }, h("span", { class: "spinner", "aria-hidden": "true" }), " Loading…", secs, " ", cancel);
  const t0 = performance.now();
  const timer = window.setInterval(() => {
    const s = Math.round((performance.now() - t0) / 1000);
    secs.textContent = s >= 1 ? ` ${s} s` : "";
  }, 500);
  return { el, stop: () => { clearInterval(timer); el.remove(); } };
}

// offlineCard says genscope is not answering and tries again by itself,
// every few seconds, until it answers; then it shows the page.
function offlineCard(main: HTMLElement, again: () => void): HTMLElement {
  let wait = 2;
  const when = h("span", { id: "retry-in" });
  const card = h("section", { class: "card error-card", id: "offline", role: "alert" },
    h("h3", null, "genscope is not answering"),
    h("p", null, "The server may be restarting or the network is down. This page tries again by itself", when, "."),
    h("button", { type: "button", class: "btn", id: "retry-now", onclick: () => tryNow() }, "Try again now"));
  const tryNow = async () => {
    clearTimeout(retryTimer);
    when.textContent = ": trying…";
    try {
      const resp = await fetch("/readyz", { cache: "no-store" });
      if (resp.ok) {
        again();
        return;
      }
    } catch {
      // still away
    }
    if (!document.body.contains(card)) return;
    wait = Math.min(wait * 2, 30);
    when.textContent = ` in ${wait} s`;
    retryTimer = window.setTimeout(tryNow, wait * 1000);
  };
  when.textContent = ` in ${wait} s`;
  retryTimer = window.setTimeout(tryNow, wait * 1000);
  void main;
  return card;
}

// route renders the page the URL names. soft keeps the scroll position;
// rebuild redraws the navigation and filters too (they stay otherwise, so
// that what the user is typing survives).
async function route(soft = false, rebuild = false) {
  controller?.abort();
  clearTimeout(retryTimer);
  const ctl = new AbortController();
  controller = ctl;
  const app = document.getElementById("app")!;
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const page = match(path);
  const r = range();
  const scroll = window.scrollY;
  const q = query();

  if (path === "/setup") {
    shellKey = "";
    setupPage(app);
    return;
  }
  if (session.auth && !session.me) {
    shellKey = "";
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
  const key = keyOf(path);
  let main = document.getElementById("main") as HTMLElement | null;
  if (rebuild || key !== shellKey || !main || main.dataset.page !== (page ? page.title : "not-found")) {
    main = shell(app, path, page, r);
    shellKey = key;
  } else {
    clear(main);
    delete main.dataset.loaded;
  }
  if (!page) {
    add(main, h("section", { class: "card empty" }, h("h2", null, "No such page"), h("p", null, h("a", { href: href("/"), "data-link": true }, "Go to the overview"))));
    main.dataset.loaded = "true";
    return;
  }
  const target = main;
  await runPage(page, target, r, ctl, soft ? scroll : -1);
}

// runPage draws page into main, with progress, cancel and retry.
async function runPage(page: Page, main: HTMLElement, r: Range, ctl: AbortController, scroll: number) {
  const started = performance.now();
  const prog = progress(ctl, () => {
    add(main, h("section", { class: "card", id: "cancelled", role: "status" }, h("p", null, "Cancelled. "),
      h("button", { type: "button", class: "btn", onclick: () => route(true) }, "Load again")));
    main.dataset.loaded = "cancelled";
  });
  add(main, prog.el);
  try {
    await page.run(main, r, ctl.signal);
    prog.stop();
    if (ctl.signal.aborted) return;
    // When the page was complete: ms since navigation start, and since this render began.
    main.dataset.doneAt = String(Math.round(performance.now()));
    main.dataset.renderMs = String(Math.round(performance.now() - started));
    stamp();
    if (scroll >= 0) window.scrollTo(0, scroll);
  } catch (err) {
    prog.stop();
    if (ctl.signal.aborted || (err as Error)?.name === "AbortError") return;
    if (err instanceof OfflineError) {
      add(main, offlineCard(main, () => boot()));
      main.dataset.loaded = "offline";
      return;
    }
    add(main, errorCard(err));
    main.dataset.loaded = "error";
  }
  scheduleRefresh(page);
}

function stamp() {
  const u = document.getElementById("updated");
  if (u) u.textContent = "updated " + time(new Date(), false).slice(11);
}

function scheduleRefresh(page: Page) {
  clearTimeout(refreshTimer);
  if (query().get("refresh") === "1" && page.filters) refreshTimer = window.setTimeout(() => refreshInPlace(page), REFRESH_MS);
}

// REFRESH_MS is auto-refresh's period (a test shortens it through
// localStorage genscope.refresh_ms).
const REFRESH_MS = Number(localStorage.getItem("genscope.refresh_ms")) || 30000;

// refreshInPlace redraws the page's data off screen and swaps it in: the
// filters, the time range and anything the user is typing or has focused
// stay as they are. While the user works inside the page (focus in it, a
// menu open), it waits.
async function refreshInPlace(page: Page) {
  const main = document.getElementById("main");
  if (!main || main.dataset.loaded !== "true") return scheduleRefresh(page);
  const active = document.activeElement;
  if ((active && active !== main && main.contains(active)) || main.querySelector("details[open], .confirm")) return scheduleRefresh(page);
  const ctl = new AbortController();
  controller = ctl;
  const next = h("main", { class: "offstage", "aria-hidden": "true" });
  next.style.width = main.clientWidth + "px";
  main.after(next);
  try {
    await page.run(next, range(), ctl.signal);
    if (ctl.signal.aborted) {
      next.remove();
      return;
    }
    const scroll = window.scrollY;
    dropCharts(main);
    main.replaceChildren(...next.childNodes);
    next.remove();
    main.dataset.loaded = "true";
    main.dataset.refreshedAt = String(Date.now());
    window.scrollTo(0, scroll);
    stamp();
    setOffline(false);
  } catch (err) {
    next.remove();
    if (ctl.signal.aborted || (err as Error)?.name === "AbortError") return;
    // Keep the data shown; say that it is stale.
    setOffline(err instanceof OfflineError);
  }
  scheduleRefresh(page);
}

// setOffline shows (or removes) a line saying the data shown is stale
// because genscope stopped answering.
function setOffline(on: boolean) {
  const cur = document.getElementById("stale");
  if (!on) {
    cur?.remove();
    return;
  }
  if (cur) return;
  document.querySelector(".topbar")?.after(h("p", { class: "notice", id: "stale", role: "status" }, "genscope is not answering: the data below is from the last refresh. Trying again…"));
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
      if (adminToken()) setAdminToken("");
      else {
        try {
          await send("POST", "logout");
        } catch {
          // the session is gone either way
        }
      }
      session.me = null;
      route();
    },
  }, "Sign out");
  const menu = h("details", { class: "user-menu", id: "user-menu" },
    h("summary", { title: "signed in as " + who }, "◉ ", h("span", { id: "user-name" }, who)),
    h("div", { class: "menu" },
      h("p", null, "Signed in as ", h("strong", null, who), me.admin ? " (administrator)" : ""),
      h("p", null, "Project ", h("strong", { id: "current-project" }, cur || "—"), a?.role ? " · " + a.role : me.admin ? " · administrator" : "",
        h("br"), h("span", { class: "muted small" }, a?.content ? "sees message content" : "message content hidden")),
      me.user || adminToken() ? out : null));
  return picker ? [picker, menu] : [menu];
}

// loginPage asks for a user name and password (or the admin token from
// the configuration, which is how the first administrator gets in), then
// shows the page the URL names (the one the user wanted).
function loginPage(app: HTMLElement) {
  if (document.getElementById("login")) return;
  controller?.abort();
  clearTimeout(refreshTimer);
  destroyCharts();
  clear(app);
  document.title = "Sign in · genscope";
  const user = h("input", { type: "text", id: "login-user", name: "username", autocomplete: "username", required: true, spellcheck: "false" });
  const pass = h("input", { type: "password", id: "login-password", name: "password", autocomplete: "current-password", required: true });
  const tok = h("input", { type: "password", id: "login-token", name: "token", autocomplete: "off", spellcheck: "false" });
  const msg = h("p", { class: "bad", id: "login-error", role: "alert" });
  const btn = h("button", { type: "submit", class: "btn", id: "login-submit" }, "Sign in");
  const userBox = h("div", { class: "login-fields" }, h("label", { for: "login-user" }, "User name"), user, h("label", { for: "login-password" }, "Password"), pass);
  const tokBox = h("div", { class: "login-fields hidden" }, h("label", { for: "login-token" }, "Admin token"), tok,
    h("p", { class: "muted small" }, "The ", h("code", null, "auth.admin_token"), " of genscope's configuration. On the first run, sign in with it to create the first user."));
  let withToken = false;
  const toggle = h("button", {
    type: "button", class: "link-btn", id: "login-mode", onclick: () => {
      withToken = !withToken;
      userBox.classList.toggle("hidden", withToken);
      tokBox.classList.toggle("hidden", !withToken);
      user.required = pass.required = !withToken;
      tok.required = withToken;
      toggle.textContent = withToken ? "Sign in with a user name instead" : "Sign in with the admin token";
      msg.textContent = "";
      (withToken ? tok : user).focus();
    },
  }, "Sign in with the admin token");
  const form = h("form", {
    class: "card login", id: "login", "aria-label": "sign in", onsubmit: async (e: Event) => {
      e.preventDefault();
      btn.disabled = true;
      msg.textContent = "";
      try {
        if (withToken) {
          const resp = await fetch("/api/v1/me", { headers: { Accept: "application/json", Authorization: "Bearer " + tok.value.trim() } });
          if (!resp.ok) throw new APIError(resp.status, resp.status === 401 ? "wrong token" : resp.statusText);
          const me = (await resp.json()) as Me;
          if (!me.admin) throw new APIError(401, "not the admin token");
          setAdminToken(tok.value.trim());
          session.me = me;
          const list = await api<{ users: unknown[] }>("users").catch(() => null);
          if (list && list.users.length === 0) {
            firstUserPage(app);
            return;
          }
        } else {
          session.me = await send<Me>("POST", "login", { username: user.value.trim(), password: pass.value });
        }
        route();
      } catch (err) {
        const st = err instanceof APIError ? err.status : 0;
        msg.textContent = err instanceof OfflineError ? "genscope is not answering; try again in a moment."
          : withToken ? (st === 401 ? "That is not the admin token." : "Could not sign in: " + (err as Error).message)
            : st === 401 ? "Wrong user name or password."
              : st === 429 ? "Too many failed sign-ins: " + (err as Error).message + ". Wait a while (up to 15 minutes) and try again."
                : "Could not sign in: " + (err as Error).message;
        btn.disabled = false;
        (withToken ? tok : pass).select();
      }
    },
  },
  h("h1", null, h("span", { class: "logo", "aria-hidden": "true" }, "◎"), " genscope"),
  h("p", { class: "muted" }, "Sign in to see this genscope's data."),
  userBox, tokBox, msg, btn, toggle);
  add(app, h("main", { class: "login-page", id: "main", "data-page": "login" }, form));
  user.focus();
}

// firstUserPage, for the admin token on a genscope without users, creates
// the first administrator and signs in as them.
function firstUserPage(app: HTMLElement) {
  newAdminForm(app, "first-run", async (name, password) => {
    await send("POST", "users", { name, password, admin: true });
    setAdminToken("");
    session.me = await send<Me>("POST", "login", { username: name, password });
  }, (err) => "Could not create the user: " + err.message,
  h("button", { type: "button", class: "link-btn", onclick: () => route() }, "Skip: go on with the admin token"));
}

// setupToken is the one-time setup link's token, taken from the address
// bar (the link's fragment, which no request carries) when the page opens.
let setupToken = "";

// setupPage is where the one-time setup link genscope prints at start-up
// (while nobody has an account) leads: it creates the first administrator
// and signs in as them.
function setupPage(app: HTMLElement) {
  if (document.getElementById("setup") && location.hash.length <= 1) return;
  controller?.abort();
  clearTimeout(refreshTimer);
  destroyCharts();
  if (location.hash.length > 1) {
    setupToken = decodeURIComponent(location.hash.slice(1));
    history.replaceState(null, "", "/setup"); // out of the address bar and history
  }
  const signIn = h("p", null, h("a", { href: "/", id: "setup-sign-in" }, "Sign in instead"));
  if (!setupToken) {
    clear(app);
    document.title = "Set up · genscope";
    add(app, h("main", { class: "login-page", id: "main", "data-page": "setup", "data-loaded": "true" },
      h("section", { class: "card login", id: "setup", "aria-label": "set up genscope" },
        h("h1", null, h("span", { class: "logo", "aria-hidden": "true" }, "◎"), " Set up genscope"),
        h("p", { id: "setup-no-token" }, "This page needs the one-time setup link genscope prints in its log at start-up while nobody has an account (",
          h("code", null, "setup_url=…"), "). Open that link, or sign in with the admin token."), signIn)));
    return;
  }
  newAdminForm(app, "setup", async (name, password) => {
    session.me = await send<Me>("POST", "setup", { token: setupToken, name, password });
    session.auth = true;
    setupToken = "";
    history.replaceState(null, "", "/");
  }, (err) => err instanceof APIError && err.status === 410 ? "This setup link is used up: genscope has accounts already. Sign in instead."
    : err instanceof APIError && err.status === 401 ? "This is not this genscope's current setup link: it prints a new one at each start while nobody has an account. Use the newest, or sign in with the admin token."
      : "Could not create the user: " + err.message, signIn);
}

// newAdminForm asks for the first administrator's name and password,
// creates them with create (which also signs them in), then shows the
// page; what failed is said with failed's words.
function newAdminForm(app: HTMLElement, id: string, create: (name: string, password: string) => Promise<void>, failed: (err: Error) => string, after: HTMLElement) {
  clear(app);
  document.title = "Create the first user · genscope";
  const user = h("input", { type: "text", id: "first-user", name: "username", autocomplete: "username", required: true, spellcheck: "false", pattern: "[A-Za-z0-9._@\\-]{1,64}" });
  const pass = h("input", { type: "password", id: "first-password", name: "new-password", autocomplete: "new-password", required: true, minlength: "8" });
  const msg = h("p", { class: "bad", id: "first-error", role: "alert" });
  const btn = h("button", { type: "submit", class: "btn", id: "first-submit" }, "Create and sign in");
  const form = h("form", {
    class: "card login", id, "aria-label": "create the first user", onsubmit: async (e: Event) => {
      e.preventDefault();
      btn.disabled = true;
      msg.textContent = "";
      try {
        await create(user.value.trim(), pass.value);
        route();
      } catch (err) {
        msg.textContent = err instanceof OfflineError ? "genscope is not answering; try again in a moment." : failed(err as Error);
        btn.disabled = false;
      }
    },
  },
  h("h1", null, h("span", { class: "logo", "aria-hidden": "true" }, "◎"), " Welcome to genscope"),
  h("p", null, "Nobody has an account yet. Create the first administrator: they can add more users (", h("strong", null, "Accounts"), ") and projects."),
  h("label", { for: "first-user" }, "User name"), user,
  h("label", { for: "first-password" }, "Password (at least 8 characters)"), pass,
  msg, btn, after);
  add(app, h("main", { class: "login-page", id: "main", "data-page": id }, form));
  user.focus();
}

// boot finds out whether auth is on (status answers 401, or says keys
// are required) and who is logged in, then shows the page.
async function boot() {
  try {
    const resp = await request("/api/v1/status", { headers: { Accept: "application/json" } });
    const st = resp.ok ? await resp.json().catch(() => ({})) : {};
    if (!resp.ok || st.keys_required) {
      session.auth = true;
      if (resp.status !== 401) {
        const me = await request("/api/v1/me", { headers: { Accept: "application/json" } });
        if (me.ok) session.me = await me.json();
      }
    }
  } catch {
    // the server is away: the page says so when it loads
  }
  route(false, true);
}

setUnauthorized(() => {
  session.auth = true;
  session.me = null;
  route();
});
setRouter(() => route());
window.addEventListener("popstate", () => route());
// The setup link opened in a tab already on /setup changes only the fragment.
window.addEventListener("hashchange", () => location.pathname === "/setup" && route());
// Internal links navigate without reloading.
document.addEventListener("click", (ev) => {
  const a = (ev.target as HTMLElement).closest("a[data-link]") as HTMLAnchorElement | null;
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  go(a.getAttribute("href")!);
  window.scrollTo(0, 0);
});
boot();
