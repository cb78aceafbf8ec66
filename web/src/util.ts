// DOM and formatting helpers.

export type Child = Node | string | number | null | undefined | false | Child[];
export type Attrs = Record<string, any>;

// h builds an element: attributes (on* are listeners, class, data-*,
// anything else as an attribute or property) and children.
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "value" || k === "checked" || k === "selected") (el as any)[k] = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el: Element) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

const intFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

// int formats a count: 1,234.
export function int(n: number): string {
  return intFmt.format(n);
}

// compact formats a large count: 1.2k, 3.4M.
export function compact(n: number): string {
  const a = Math.abs(n);
  if (a < 10000) return int(n);
  if (a < 1e6) return (n / 1e3).toFixed(a < 1e5 ? 1 : 0) + "k";
  if (a < 1e9) return (n / 1e6).toFixed(a < 1e7 ? 2 : 1) + "M";
  return (n / 1e9).toFixed(2) + "B";
}

// usd formats dollars with precision that suits small per-call costs.
export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  const a = Math.abs(v);
  if (a === 0) return "$0";
  if (a < 0.01) return "$" + v.toFixed(5);
  if (a < 100) return "$" + v.toFixed(3);
  return "$" + intFmt.format(v);
}

// ms formats a duration given in milliseconds, with its unit.
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || isNaN(v)) return "—";
  if (v < 1) return v.toFixed(2) + " ms";
  if (v < 1000) return v.toFixed(0) + " ms";
  if (v < 60000) return (v / 1000).toFixed(v < 10000 ? 2 : 1) + " s";
  return (v / 60000).toFixed(1) + " min";
}

export function pct(v: number): string {
  if (v === 0) return "0%";
  if (v < 0.001) return (v * 100).toFixed(2) + "%";
  return (v * 100).toFixed(1) + "%";
}

const pad = (n: number) => String(n).padStart(2, "0");

// time formats a timestamp in local time: 2026-11-27 10:04:05.123.
export function time(t: string | Date, millis = true): string {
  const d = typeof t === "string" ? new Date(t) : t;
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return millis ? s + "." + String(d.getMilliseconds()).padStart(3, "0") : s;
}

// ago says how long before now t was.
export function ago(t: string | Date): string {
  const d = typeof t === "string" ? new Date(t) : t;
  const s = Math.max(0, (Date.now() - d.getTime()) / 1000);
  if (s < 60) return Math.round(s) + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return (s / 3600).toFixed(1) + " h ago";
  return (s / 86400).toFixed(1) + " d ago";
}

// linkRow makes a table row (or any element) open something on a click or
// Enter. It keeps its own role and content (screen readers read its
// cells); the link a screen reader offers is in a cell (linkCell).
export function linkRow<T extends HTMLElement>(el: T, open: (ev: Event) => void): T {
  el.tabIndex = 0;
  el.classList.add("link-row");
  el.addEventListener("click", (ev) => {
    if ((ev.target as HTMLElement).closest("a,button,input,select,summary")) return;
    if (window.getSelection()?.toString()) return; // selecting text is not a click
    open(ev);
  });
  el.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.target === el) {
      ev.preventDefault();
      open(ev);
    }
  });
  return el;
}

// sorted remembers each table's sort (by the table's id), so a table
// drawn again — by auto-refresh, or on coming back to the page — keeps
// the order its user chose.
const sorted = new Map<string, { col: number; desc: boolean }>();

// sortable makes a table's header cells buttons that sort its rows (by a
// cell's data-sort, a number when it is one, else by its text); a click
// sorts descending, a second ascending. A th with data-nosort is left
// alone.
export function sortable(table: HTMLTableElement): HTMLTableElement {
  const heads = [...table.querySelectorAll("thead th")] as HTMLElement[];
  const sortBy = (col: number, desc: boolean) => {
    heads.forEach((o) => o.hasAttribute("aria-sort") && o.setAttribute("aria-sort", "none"));
    heads[col].setAttribute("aria-sort", desc ? "descending" : "ascending");
    if (table.id) sorted.set(table.id, { col, desc });
    const body = table.tBodies[0];
    const key = (tr: HTMLTableRowElement) => {
      const td = tr.cells[col] as HTMLElement | undefined;
      const raw = td?.dataset.sort ?? (td?.textContent || "").trim();
      const n = Number(raw);
      return td?.dataset.sort !== undefined && raw !== "" && !isNaN(n) ? n : raw.toLowerCase();
    };
    const rows = [...body.rows].sort((a, b) => {
      const x = key(a), y = key(b);
      const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return desc ? -c : c;
    });
    body.append(...rows);
  };
  heads.forEach((th, col) => {
    if (th.querySelector("button") || th.dataset.nosort !== undefined) return;
    const label = th.textContent || "";
    const btn = h("button", { type: "button", class: "th-btn", title: "sort by " + label.toLowerCase() }, label);
    th.replaceChildren(btn);
    th.setAttribute("aria-sort", "none");
    btn.addEventListener("click", () => sortBy(col, th.getAttribute("aria-sort") !== "descending"));
  });
  const was = table.id ? sorted.get(table.id) : undefined;
  if (was && heads[was.col]?.hasAttribute("aria-sort")) sortBy(was.col, was.desc);
  return table;
}

// copyText copies to the clipboard, also where the Clipboard API is not
// available (plain HTTP to a non-loopback host).
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through
  }
  const ta = h("textarea", { class: "offscreen", readonly: true }, text);
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

// add appends children, skipping null, undefined and false (the DOM's own
// append would write them as text).
export function add(el: Node, ...children: Child[]) {
  append(el, children);
}

// stackedTime is shortTime for a table cell: a date (when not today) on its
// own small line above the time of day, so the column is as narrow on a day
// that shows older rows as on one that does not.
export function stackedTime(t: string | Date): Child[] {
  const s = shortTime(t);
  const i = s.lastIndexOf(" ");
  if (i < 0) return [s];
  return [h("span", { class: "day" }, s.slice(0, i)), h("br"), s.slice(i + 1)];
}

// shortTime formats a timestamp compactly: the time of day for today,
// with the date before it otherwise.
export function shortTime(t: string | Date): string {
  const d = typeof t === "string" ? new Date(t) : t;
  const now = new Date();
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  if (d.toDateString() === now.toDateString()) return hms;
  return `${d.getFullYear() === now.getFullYear() ? "" : d.getFullYear() + "-"}${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
}
