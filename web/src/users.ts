// The Users page (who uses the models: calls, tokens, cost, errors, last
// seen per user) and, for administrators, the Accounts page (sign-in
// accounts: create, reset a password, delete).
import { deleteButton } from "./alerts";
import { emptyState } from "./common";
import { api, go, href, Range, send, update } from "./state";
import { add, ago, h, int, linkRow, pct, sortable, time, usd } from "./util";

interface Row {
  key: string;
  calls: number;
  errors: number;
  error_rate: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: number;
  cost_unknown_calls: number;
  last_seen?: string; // the newest call's start
}

export async function usersPage(main: HTMLElement, r: Range, signal: AbortSignal) {
  const bd = await api<{ rows: Row[] }>("breakdown", { by: "user", limit: 200 }, r, signal);
  const rows = bd.rows.filter((x) => x.key);
  const anon = bd.rows.find((x) => !x.key);
  if (rows.length === 0) {
    add(main, emptyState(r, "calls with a user"), h("p", { class: "muted small" },
      "A call's user comes from ", h("code", null, "user.id"), " or ", h("code", null, "enduser.id"), " (on the call or a parent span), or the gateway's ", h("code", null, "x-user-id"), " header or the request's ", h("code", null, "user"), "."));
    main.dataset.loaded = "true";
    return;
  }
  const byCost = [...rows].sort((a, b) => b.cost_usd - a.cost_usd);
  const top = byCost.slice(0, 5);
  const max = Math.max(top[0]?.cost_usd || 0, 1e-12);
  const bar = (v: number) => {
    const el = h("span", { class: "hbar", "aria-hidden": "true" });
    el.style.width = Math.max(1, (v / max) * 100) + "%";
    return el;
  };
  const userLink = (u: string) => href("/spans", { user: u });
  add(main,
    h("section", { class: "card", id: "top-users" },
      h("h3", null, "Top users by cost"),
      h("ol", { class: "top-list" }, top.map((u) => h("li", null,
        h("a", { href: userLink(u.key), "data-link": true, class: "trunc", title: u.key }, u.key),
        h("span", { class: "hbar-track" }, bar(u.cost_usd)),
        h("span", { class: "num" }, usd(u.cost_usd)))))),
    h("section", { class: "card table-card" },
      h("h3", null, "Users", h("span", { class: "muted small" }, ` — ${int(rows.length)} users` + (anon ? `, and ${int(anon.calls)} calls without a user` : ""))),
      h("div", { class: "scroll" }, sortable(h("table", { class: "grid-table", id: "users" },
        h("thead", null, h("tr", null, ["User", "Calls", "Errors", "Error rate", "Input tokens", "Output tokens", "Cost (USD)", "Last seen"].map((l, i) => h("th", { class: i >= 1 && i <= 6 ? "num" : "" }, l)))),
        h("tbody", null, byCost.map((u) => linkRow(h("tr", { "data-user": u.key },
          h("td", null, h("a", { href: userLink(u.key), "data-link": true, tabindex: "-1", class: "trunc", title: u.key }, u.key)),
          h("td", { class: "num", "data-sort": u.calls }, int(u.calls)),
          h("td", { class: "num" + (u.errors ? " bad" : ""), "data-sort": u.errors }, int(u.errors)),
          h("td", { class: "num", "data-sort": u.error_rate }, pct(u.error_rate)),
          h("td", { class: "num", "data-sort": u.input_tokens }, int(u.input_tokens)),
          h("td", { class: "num", "data-sort": u.output_tokens }, int(u.output_tokens)),
          h("td", { class: "num", "data-sort": u.cost_usd }, usd(u.cost_usd), u.cost_unknown_calls ? h("span", { class: "muted" }, " +" + u.cost_unknown_calls + " unpriced") : null),
          u.last_seen ? h("td", { class: "nowrap", title: time(u.last_seen), "data-sort": u.last_seen }, ago(u.last_seen)) : h("td", { class: "muted", "data-sort": "" }, "—"),
        ), () => go(userLink(u.key)))))))),
    ),
  );
  main.dataset.loaded = "true";
}

interface Account {
  name: string;
  admin: boolean;
  grants: Record<string, { role: string; content?: boolean }>;
  created: string;
}

// accountsPage lists the sign-in accounts and creates, resets and deletes
// them (administrators only; the API refuses anyone else).
export async function accountsPage(main: HTMLElement, signal: AbortSignal) {
  const list = await api<{ users: Account[] }>("users", {}, undefined, signal);
  const name = h("input", { type: "text", id: "new-user", name: "username", required: true, autocomplete: "off", spellcheck: "false", pattern: "[A-Za-z0-9._@\\-]{1,64}" });
  const pass = h("input", { type: "password", id: "new-user-password", name: "new-password", required: true, minlength: "8", maxlength: "72", autocomplete: "new-password" });
  const admin = h("input", { type: "checkbox", id: "new-user-admin" });
  const msg = h("p", { class: "bad small", id: "new-user-error", role: "alert" });
  const btn = h("button", { type: "submit", class: "btn", id: "new-user-submit" }, "Create user");
  const form = h("form", {
    class: "form-row", id: "new-user-form", "aria-label": "new user", onsubmit: async (e: Event) => {
      e.preventDefault();
      btn.disabled = true;
      msg.textContent = "";
      try {
        await send("POST", "users", { name: name.value.trim(), password: pass.value, admin: admin.checked });
        update({}, true);
      } catch (err) {
        msg.textContent = "Could not create the user: " + (err as Error).message;
        btn.disabled = false;
      }
    },
  },
  h("div", { class: "ff" }, h("label", { for: "new-user" }, "User name"), name),
  h("div", { class: "ff" }, h("label", { for: "new-user-password" }, "Password (8 to 72 characters)"), pass),
  h("label", { class: "inline" }, admin, " Administrator"),
  btn);
  add(main,
    h("section", { class: "card" }, h("h3", null, "New user"), form, msg,
      h("p", { class: "muted small" }, "Give users access to a project on its ", h("a", { href: href("/projects"), "data-link": true }, "project page"), " (members).")),
    h("section", { class: "card table-card" },
      h("h3", null, "Users", h("span", { class: "muted small" }, ` — ${list.users.length}`)),
      list.users.length === 0 ? h("p", { class: "muted" }, "No users yet: only the admin token signs in.") :
        h("div", { class: "scroll" }, sortable(h("table", { class: "grid-table", id: "accounts" },
          h("thead", null, h("tr", null, h("th", null, "User"), h("th", null, "Role"), h("th", null, "Projects"), h("th", null, "Created"), h("th", { "data-nosort": "" }, "Actions"))),
          h("tbody", null, list.users.map((u) => h("tr", { "data-account": u.name },
            h("td", null, h("strong", null, u.name)),
            h("td", null, u.admin ? "administrator" : "user"),
            h("td", null, Object.keys(u.grants || {}).length ? Object.entries(u.grants).map(([p, g], i) => [i ? ", " : "", h("code", null, p), " ", g.role, g.content ? " + content" : ""]) : h("span", { class: "muted" }, u.admin ? "all" : "none")),
            h("td", { class: "nowrap", "data-sort": u.created }, time(u.created, false)),
            h("td", { class: "actions" }, resetPassword(u.name), " ", deleteButton("Delete “" + u.name + "”", "users/" + encodeURIComponent(u.name), "delete this user (their sessions end)")),
          ))))))),
  );
  main.dataset.loaded = "true";
}

// resetPassword is a button that opens a small form setting a user's new
// password (their sessions end).
function resetPassword(user: string): HTMLElement {
  const box = h("span", { class: "reset" });
  const open = h("button", { type: "button", class: "btn small ghost", "data-reset": user }, "Reset password");
  open.addEventListener("click", () => {
    const id = "pw-" + user.replace(/[^\w-]/g, "_");
    const pw = h("input", { type: "password", id, required: true, minlength: "8", maxlength: "72", autocomplete: "new-password", class: "pw" });
    const msg = h("span", { class: "small", role: "status" });
    const save = h("button", { type: "submit", class: "btn small" }, "Set");
    const f = h("form", {
      class: "inline-form", onsubmit: async (e: Event) => {
        e.preventDefault();
        save.disabled = true;
        try {
          await send("PUT", "users/" + encodeURIComponent(user) + "/password", { password: pw.value });
          f.replaceWith(open, h("span", { class: "good small", role: "status", "data-reset-done": user }, " Password changed."));
        } catch (err) {
          msg.className = "bad small";
          msg.textContent = " " + (err as Error).message;
          save.disabled = false;
        }
      },
    }, h("label", { for: id, class: "sr-only" }, "New password for " + user), pw, save,
    h("button", { type: "button", class: "btn small ghost", onclick: () => f.replaceWith(open) }, "Cancel"), msg);
    open.replaceWith(f);
    pw.focus();
  });
  add(box, open);
  return box;
}
