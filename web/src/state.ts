// The global state lives in the URL: the path is the page, the query holds
// the time range, the filters, the sort and auto-refresh, so a link can be
// shared and a reload shows the same thing.

export const FILTERS = ["service", "provider", "model", "operation", "status", "session", "user", "q"] as const;
export type FilterKey = (typeof FILTERS)[number];

export const RANGES: [string, string][] = [
  ["15m", "Last 15 minutes"],
  ["1h", "Last hour"],
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
];
export const DEFAULT_RANGE = "24h";

// The filter bar's other filters, named as the API names them:
// multi-select (repeated) and contains for service, model and user,
// thresholds, attribute filters (repeated: KEY, KEY==VALUE,
// KEY~=VALUE) and score filters (repeated: NAME<N, NAME>N, NAME=LABEL,
// NAME).
export const MATCHES = ["service", "model", "user"] as const;
export const THRESHOLDS: [string, string, string][] = [
  ["duration_ms", "Duration", "ms"], ["total_tokens", "Tokens", "in + out"], ["cost_usd", "Cost", "USD"],
];
export const MULTI = ["service_in", "model_in", "user_in", "attr", "score"];
export const BAR = [...MULTI, ...MATCHES.map((m) => m + "_contains"), ...THRESHOLDS.flatMap(([m]) => [m + "_gt", m + "_lt"])];

// barParams are the URL's filter bar pairs, in order.
export function barParams(q = query()): [string, string][] {
  const out: [string, string][] = [];
  for (const k of BAR) for (const v of q.getAll(k)) if (v) out.push([k, v]);
  return out;
}

// Keys carried from page to page (the rest, like a page's cursor, are not).
const GLOBAL = ["project", "from", "to", "refresh", ...FILTERS];

// Access: with auth on, who is logged in and which projects they read
// (GET /api/v1/me); with auth off, auth is false and every page reads the
// default project with its content.
export interface Access {
  name: string;
  role?: string;
  content: boolean;
}
export interface Me {
  user?: string;
  admin: boolean;
  projects: Access[];
  csrf_token?: string;
}
export const session: { auth: boolean; me: Me | null } = { auth: false, me: null };

// project is the project the pages read: the URL's, else default when
// readable, else the first readable one ("" with auth off).
export function project(q = query()): string {
  if (!session.auth) return "";
  const ps = session.me?.projects || [];
  const want = q.get("project");
  if (want && ps.some((p) => p.name === want)) return want;
  return (ps.find((p) => p.name === "default") || ps[0])?.name || want || "";
}

// access is the caller's access to the current project.
export function access(): Access | undefined {
  const p = project();
  return session.me?.projects.find((x) => x.name === p);
}

// canSeeContent says whether the current project's message content is
// readable (always, with auth off).
export function canSeeContent(): boolean {
  return !session.auth || !!access()?.content;
}

// CONTENT_HIDDEN is what the pages show instead of message content.
export const CONTENT_HIDDEN = "content hidden: you don't have permission to see message content";

export function query(): URLSearchParams {
  return new URLSearchParams(location.search);
}

const relRe = /^(\d+)(m|h|d)$/;
const unit: Record<string, number> = { m: 60e3, h: 3600e3, d: 86400e3 };

export interface Range {
  from: Date;
  to: Date;
  key: string; // 15m, 1h, ... or "custom"
  label: string;
}

// range resolves the URL's from/to to absolute times, now.
export function range(q = query()): Range {
  const from = q.get("from") || DEFAULT_RANGE;
  const m = relRe.exec(from);
  if (m && !q.get("to")) {
    const to = new Date();
    const label = RANGES.find((r) => r[0] === from)?.[1] || "Last " + from;
    return { from: new Date(to.getTime() - Number(m[1]) * unit[m[2]]), to, key: from, label };
  }
  const f = new Date(from);
  const t = q.get("to") ? new Date(q.get("to")!) : new Date();
  if (isNaN(f.getTime()) || isNaN(t.getTime()) || f >= t) {
    const to = new Date();
    return { from: new Date(to.getTime() - 86400e3), to, key: DEFAULT_RANGE, label: "Last 24 hours" };
  }
  return { from: f, to: t, key: "custom", label: "Custom range" };
}

// filters are the URL's filter values.
export function filters(q = query()): Partial<Record<FilterKey, string>> {
  const out: Partial<Record<FilterKey, string>> = {};
  for (const k of FILTERS) {
    const v = q.get(k);
    if (v) out[k] = v;
  }
  return out;
}

// globalQuery is the part of the URL query every page keeps.
export function globalQuery(q = query()): URLSearchParams {
  const out = new URLSearchParams();
  for (const k of GLOBAL) {
    const v = q.get(k);
    if (v) out.set(k, v);
  }
  for (const [k, v] of barParams(q)) out.append(k, v);
  return out;
}

// href is a link to path keeping the global query.
export function href(path: string, extra?: Record<string, string>): string {
  const q = globalQuery();
  for (const [k, v] of Object.entries(extra || {})) {
    if (v) q.set(k, v);
    else q.delete(k);
  }
  const s = q.toString();
  return path + (s ? "?" + s : "");
}

let onChange: () => void = () => {};
let onUnauthorized: () => void = () => {};

// setUnauthorized sets what a 401 answer does (show the login page).
export function setUnauthorized(f: () => void) {
  onUnauthorized = f;
}

export function setRouter(f: () => void) {
  onChange = f;
}

// go navigates within the app.
export function go(url: string, replace = false) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  onChange();
}

// update sets (or, with "", removes) query keys and re-renders; a list
// sets a repeated key.
export function update(changes: Record<string, string | string[] | null | undefined>, replace = false) {
  const q = query();
  for (const [k, v] of Object.entries(changes)) {
    q.delete(k);
    if (Array.isArray(v)) v.filter((x) => x).forEach((x) => q.append(k, x));
    else if (v) q.set(k, v);
  }
  const s = q.toString();
  go(location.pathname + (s ? "?" + s : ""), replace);
}

export class APIError extends Error {
  status: number;
  constructor(status: number, msg: string) {
    super(msg);
    this.status = status;
  }
}

// OfflineError is a request that got no answer: genscope is not running
// or the network is down (fetch's own "Failed to fetch").
export class OfflineError extends Error {
  constructor() {
    super("genscope is not answering");
    this.name = "OfflineError";
  }
}

// The admin token, when the user signed in with it: kept for the tab only
// (sessionStorage) and sent as a bearer token.
const TOKEN_KEY = "genscope.admin_token";
export function adminToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}
export function setAdminToken(tok: string) {
  try {
    if (tok) sessionStorage.setItem(TOKEN_KEY, tok);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage off: the token lasts until the next request fails
  }
}

// request is fetch with the admin token (when signed in with it) and an
// OfflineError instead of fetch's TypeError when nothing answers.
export async function request(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const tok = adminToken();
  if (tok) headers.set("Authorization", "Bearer " + tok);
  try {
    return await fetch(url, { ...init, headers });
  } catch (err) {
    if ((err as Error)?.name === "AbortError") throw err;
    throw new OfflineError();
  }
}

// canEdit says whether the user may change the current project's alert
// rules (with auth off, anyone may).
export function canEdit(): boolean {
  if (!session.auth) return true;
  const me = session.me;
  if (!me) return false;
  if (me.admin) return true;
  const r = access()?.role;
  return r === "editor" || r === "admin";
}

// isAdmin says whether the user administers genscope (users, action
// groups, every project); true with auth off.
export function isAdmin(): boolean {
  return !session.auth || !!session.me?.admin;
}

// apiURL is the URL of a GET endpoint: the project, with scope the time
// range and filters, and params (which win; "" removes a key).
export function apiURL(path: string, params: Record<string, string | number | undefined> = {}, scope?: Range): string {
  const q = new URLSearchParams();
  if (project()) q.set("project", project());
  if (scope) {
    q.set("from", scope.from.toISOString());
    q.set("to", scope.to.toISOString());
    for (const [k, v] of Object.entries(filters())) if (k !== "q" || canSeeContent()) q.set(k, v!);
    for (const [k, v] of barParams()) q.append(k, v);
  }
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === "") q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  return "/api/v1/" + path + (s ? "?" + s : "");
}

// api GETs a JSON endpoint. With scope it adds the time range and filters
// (overrides win).
export async function api<T = any>(path: string, params: Record<string, string | number | undefined> = {}, scope?: Range, signal?: AbortSignal): Promise<T> {
  const resp = await request(apiURL(path, params, scope), { signal, headers: { Accept: "application/json" } });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    if (resp.status === 401) onUnauthorized();
    throw new APIError(resp.status, body.error || resp.statusText);
  }
  return body as T;
}

// autoInterval mirrors the API's: about 120 buckets of a readable width, in
// seconds.
export function autoInterval(spanMs: number): number {
  const steps = [1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 10800, 21600, 43200, 86400, 604800];
  const want = spanMs / 1000 / 120;
  for (const s of steps) if (s >= want) return s;
  return steps[steps.length - 1];
}

// send calls a JSON endpoint with a method other than GET: the parsed
// answer, or an APIError with the server's message (a 400 names the field).
// With a login session, the readable genscope_csrf cookie's token goes in
// X-CSRF-Token (the double-submit pattern of internal/auth).
export async function send<T = any>(method: "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const csrf = /(?:^|;\s*)genscope_csrf=([^;]+)/.exec(document.cookie);
  if (csrf) headers["X-CSRF-Token"] = decodeURIComponent(csrf[1]);
  const p = project();
  if (p && !/^(login|logout|setup|projects|users|tokens)\b/.test(path)) path += (path.includes("?") ? "&" : "?") + "project=" + encodeURIComponent(p);
  const resp = await request("/api/v1/" + path, {
    method, signal, headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const out = resp.status === 204 ? {} : await resp.json().catch(() => ({}));
  if (!resp.ok) {
    if (resp.status === 401 && !/^(login|setup)\b/.test(path)) onUnauthorized();
    throw new APIError(resp.status, out.error || resp.statusText);
  }
  return out as T;
}
