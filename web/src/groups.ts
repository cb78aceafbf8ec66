// Action groups: who gets notified, and a test notification to check it.
// Receiver secrets (URLs, HMAC secrets, routing keys) are write-only: the
// API answers "[redacted]", shown here as "set"; sending "[redacted]" back
// keeps the stored value.
import { attemptText, clearErrors, deleteButton, field, Rule, showErrors, tabs, unmarkOnEdit } from "./alerts";
import { api, APIError, go, href, isAdmin, send } from "./state";
import { add, h } from "./util";

const REDACTED = "[redacted]";

interface Receiver {
  type: string;
  name?: string;
  url?: string;
  hmac_secret?: string;
  routing_key?: string;
  to?: string[];
  target?: string;
}

interface Group {
  id: string;
  name: string;
  receivers: Receiver[];
  read_only: boolean;
}

interface TestResult {
  receiver: number;
  type: string;
  attempt: { ok: boolean; http_status?: number; error?: string; duration_ms: number; attempt: number; time: string };
}

const TYPES: [string, string][] = [["email", "Email"], ["webhook", "Webhook"], ["slack", "Slack"], ["teams", "Microsoft Teams"], ["pagerduty", "PagerDuty"]];
const typeLabel = (t: string) => TYPES.find((x) => x[0] === t)?.[1] || t;

function receiverText(r: Receiver): string {
  const what = r.type === "email" ? (r.to || []).join(", ")
    : r.type === "pagerduty" ? (r.routing_key ? "routing key set" : "no routing key")
      : (r.target ? r.target + " (URL set)" : r.url ? "URL set" : "no URL");
  return `${typeLabel(r.type)}${r.name ? " “" + r.name + "”" : ""}: ${what}${r.hmac_secret ? " · signed (HMAC secret set)" : ""}`;
}

// testButton sends a test notification and shows each receiver's outcome in out.
function testButton(g: Group, out: HTMLElement): HTMLButtonElement {
  const btn = h("button", { type: "button", class: "btn small test", title: "send a test notification to every receiver of " + g.name }, "Send test notification");
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    btn.textContent = "Sending…";
    out.classList.remove("hidden");
    out.replaceChildren(h("span", { class: "muted" }, "Sending a test notification to " + g.receivers.length + " receiver(s)…"));
    try {
      const res = await send<{ ok: boolean; results: TestResult[] }>("POST", "action-groups/" + encodeURIComponent(g.id) + "/test");
      out.dataset.ok = String(res.ok);
      out.replaceChildren(h("strong", { class: res.ok ? "good" : "bad" }, res.ok ? "Test sent to every receiver." : "Some receivers failed."),
        h("ul", null, res.results.map((x) => h("li", { class: x.attempt.ok ? "good" : "bad", "data-receiver": String(x.receiver), "data-ok": String(x.attempt.ok) },
          `#${x.receiver + 1} ${receiverText(g.receivers[x.receiver] || { type: x.type })} — ${attemptText(x.attempt)}`))));
    } catch (err) {
      out.dataset.ok = "false";
      out.replaceChildren(h("span", { class: "bad" }, (err as Error).message));
    } finally {
      btn.disabled = false;
      btn.textContent = "Send test notification";
    }
  });
  return btn;
}

export async function groupsPage(main: HTMLElement, signal: AbortSignal) {
  const [groups, rules, alerts] = await Promise.all([
    api<{ action_groups: Group[] }>("action-groups", {}, undefined, signal),
    api<{ rules: Rule[] }>("alert-rules", {}, undefined, signal),
    api<{ alerts: { state: string }[] }>("alerts", { state: "fired" }, undefined, signal),
  ]);
  add(main, tabs("groups", alerts.alerts.length));
  const admin = isAdmin();
  const newBtn = admin ? h("a", { class: "btn", href: href("/alerts/action-groups/new"), "data-link": true, id: "new-group" }, "+ New action group") : null;
  if (groups.action_groups.length === 0) {
    add(main, h("section", { class: "card empty", "data-empty": "true" },
      h("h3", null, "No action groups yet"),
      h("p", null, "An action group is who gets notified when an alert fires or resolves: email, a webhook (Azure Monitor's common alert schema), Slack, Microsoft Teams or PagerDuty."),
      h("ul", null,
        newBtn ? h("li", null, newBtn, ", then send it a test notification.") : h("li", null, "An administrator creates them."),
        h("li", null, "Or define groups in the config file under ", h("code", null, "action_groups:"), " (read-only here)."))));
    main.dataset.loaded = "true";
    return;
  }
  const usedBy = (id: string) => rules.rules.filter((r) => (r.action_groups || []).includes(id));
  add(main, h("section", { class: "card table-card" },
    h("div", { class: "table-head" }, h("h3", null, "Action groups"), newBtn),
    h("div", { class: "scroll" }, h("table", { class: "grid-table", id: "groups" },
      h("thead", null, h("tr", null, ["Name", "Receivers", "Used by", "Source", "Actions"].map((l) => h("th", null, l)))),
      h("tbody", null, groups.action_groups.map((g) => {
        const out = h("div", { class: "test-result hidden small", id: "test-" + g.id, role: "status" });
        const edit = href("/alerts/action-groups/" + encodeURIComponent(g.id));
        const actions = h("td", { class: "actions" }, admin ? [testButton(g, out), " "] : null, h("a", { class: "btn small ghost", href: edit, "data-link": true }, g.read_only || !admin ? "View" : "Edit"));
        const users = usedBy(g.id);
        if (!g.read_only && admin) {
          const confirm = users.length ? `Delete (used by ${users.length} rule${users.length === 1 ? "" : "s"})` : "Delete “" + g.name + "”";
          add(actions, " ", deleteButton(confirm, "action-groups/" + encodeURIComponent(g.id)));
        }
        return h("tr", { "data-group": g.id },
          h("td", null, h("a", { href: edit, "data-link": true }, g.name)),
          h("td", null, h("ul", { class: "plain-list" }, g.receivers.map((r) => h("li", null, receiverText(r)))), out),
          h("td", null, users.length ? users.map((r, i) => [i ? ", " : "", h("a", { href: href("/alerts/rules/" + encodeURIComponent(r.id)), "data-link": true }, r.name)]) : h("span", { class: "muted" }, "no rule")),
          h("td", null, g.read_only ? h("span", { class: "tag", title: "defined in the config file: read-only here" }, "config · read-only") : h("span", { class: "tag" }, "API")),
          actions);
      }))))));
  main.dataset.loaded = "true";
}

// secretInput is a write-only field: empty, with "set" shown when the
// server has a value.
function secretInput(id: string, set: boolean, placeholder: string, type = "password"): HTMLElement {
  return h("input", { type, id, autocomplete: "off", spellcheck: "false", placeholder: set ? "set — leave empty to keep it" : placeholder, "data-set": set ? "1" : "" });
}

interface RecvState {
  orig: number; // index in the saved group, -1 for a new receiver
  origType: string;
  el: HTMLElement;
}

export async function groupFormPage(main: HTMLElement, id: string | null, signal: AbortSignal) {
  const existing = id ? await api<Group>("action-groups/" + encodeURIComponent(id), {}, undefined, signal) : null;
  const g: Group = existing || { id: "", name: "", receivers: [{ type: "webhook" }], read_only: false };
  const ro = g.read_only || !isAdmin();
  add(main, tabs("groups"), h("p", null, h("a", { href: href("/alerts/action-groups"), "data-link": true }, "← All action groups")));
  if (ro) add(main, h("p", { class: "notice", role: "note" }, g.read_only ? "This action group is defined in the config file, so it is read-only here." : "Only an administrator can change action groups."));

  const name = h("input", { type: "text", id: "group-name", value: g.name, required: true, placeholder: "oncall" });
  const list = h("div", { class: "receivers", id: "receivers" });
  const recv: RecvState[] = [];
  let seq = 0;

  const renumber = () => {
    recv.forEach((s, i) => {
      s.el.dataset.field = `receivers[${i}]`;
      (s.el.querySelector("legend") as HTMLElement).textContent = `Receiver ${i + 1}`;
      for (const f of s.el.querySelectorAll<HTMLElement>("[data-sub]")) f.dataset.field = `receivers[${i}].${f.dataset.sub}`;
    });
  };

  const addReceiver = (r: Receiver, orig: number) => {
    const n = ++seq;
    const pid = "rc" + n;
    const type = h("select", { id: pid + "-type", class: "rtype" }, TYPES.map(([v, l]) => h("option", { value: v, selected: v === r.type }, l)));
    const rname = h("input", { type: "text", id: pid + "-name", value: r.name || "", placeholder: "optional" });
    const url = secretInput(pid + "-url", !!r.url, "https://…", "text");
    const hmac = secretInput(pid + "-hmac", !!r.hmac_secret, "optional: signs the body (X-Genscope-Signature)");
    const key = secretInput(pid + "-key", !!r.routing_key, "Events API v2 integration key");
    const to = h("input", { type: "text", id: pid + "-to", value: (r.to || []).join(", "), placeholder: "ops@example.com, oncall@example.com" });
    const sub = (s: string, label: string, ctl: HTMLElement, hint?: string | Node) => {
      const f = field("receivers[x]." + s, label, ctl, hint);
      f.dataset.sub = s;
      return f;
    };
    const setNote = (what: string) => h("span", { class: "tag set" }, what + " set");
    const fUrl = sub("url", "URL", url, r.url ? h("span", null, setNote("URL"), r.target ? " → " + r.target : "") : "Slack and Teams URLs carry their token: treated as a secret");
    const fHmac = sub("hmac_secret", "HMAC secret", hmac, r.hmac_secret ? setNote("secret") : "optional");
    const fKey = sub("routing_key", "Routing key", key, r.routing_key ? setNote("key") : undefined);
    const fTo = sub("to", "To (comma-separated)", to, "needs notify.smtp in the config");
    const remove = h("button", { type: "button", class: "btn small ghost" }, "Remove");
    const el = h("fieldset", { class: "receiver card-inset" },
      h("legend", null, "Receiver"),
      h("div", { class: "grid-fields" }, sub("type", "Type", type), sub("name", "Name", rname), fUrl, fHmac, fKey, fTo),
      h("div", { class: "field-error", role: "alert" }),
      ro ? null : remove);
    const sync = () => {
      const t = type.value;
      fUrl.classList.toggle("hidden", !["webhook", "slack", "teams"].includes(t));
      fHmac.classList.toggle("hidden", t !== "webhook");
      fKey.classList.toggle("hidden", t !== "pagerduty");
      fTo.classList.toggle("hidden", t !== "email");
    };
    type.addEventListener("change", sync);
    sync();
    const st: RecvState = { orig, origType: r.type, el };
    remove.addEventListener("click", () => {
      recv.splice(recv.indexOf(st), 1);
      el.remove();
      renumber();
      (list.querySelector("select") as HTMLElement | null)?.focus();
    });
    recv.push(st);
    list.appendChild(el);
    renumber();
    return type;
  };
  g.receivers.forEach((r, i) => addReceiver(r, existing ? i : -1));

  const general = h("div", { class: "error-box hidden", id: "form-error", role: "alert", tabindex: "-1" });
  const addBtn = h("button", { type: "button", class: "btn ghost", id: "add-receiver" }, "+ Add receiver");
  addBtn.addEventListener("click", () => addReceiver({ type: "webhook" }, -1).focus());
  const saveBtn = h("button", { type: "submit", class: "btn", id: "save-group" }, existing ? "Save changes" : "Create action group");
  const testOut = h("div", { class: "test-result hidden", id: "test-" + g.id, role: "status" });

  const form = h("form", { class: "group-form", id: "group-form", novalidate: true, "aria-label": "action group" },
    h("fieldset", { disabled: ro, class: "plain" },
      h("section", { class: "card" }, h("h3", null, "Basics"), field("name", "Action group name", name)),
      h("section", { class: "card" }, h("h3", null, "Receivers"),
        h("p", { class: "muted small" }, "Each gets every fired and resolved alert of the rules using this group. Secrets (URLs, HMAC secrets, routing keys) are never shown back: “set” means a value is stored."),
        h("div", { "data-field": "receivers" }, list, h("div", { class: "field-error", role: "alert" })),
        ro ? null : addBtn)),
    general,
    ro ? null : h("div", { class: "form-buttons" }, saveBtn, " ", h("a", { class: "btn ghost", href: href("/alerts/action-groups"), "data-link": true }, "Cancel")),
    existing ? h("section", { class: "card" }, h("h3", null, "Test"), h("p", { class: "muted small" }, "Sends a test alert (a made-up fired rule) to each saved receiver, once."), testButton(g, testOut), testOut) : null,
  );

  unmarkOnEdit(form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (ro) return;
    clearErrors(form, general);
    const moved: string[] = [];
    const receivers = recv.map((s, i) => {
      const q = (suffix: string) => s.el.querySelector(`[id$="-${suffix}"]`) as HTMLInputElement;
      const t = q("type").value;
      const out: Record<string, unknown> = { type: t };
      if (q("name").value.trim()) out.name = q("name").value.trim();
      // A secret left empty keeps the stored one: the server matches by
      // position and type, so it must not have moved.
      const secret = (inp: HTMLInputElement, key: string) => {
        const v = inp.value.trim();
        if (v) out[key] = v;
        else if (inp.dataset.set) {
          if (s.orig === i && s.origType === t) out[key] = REDACTED;
          else moved.push(`receivers[${i}].${key}: enter it again (receivers were removed or the type changed)`);
        }
      };
      if (["webhook", "slack", "teams"].includes(t)) secret(q("url"), "url");
      if (t === "webhook") secret(q("hmac"), "hmac_secret");
      if (t === "pagerduty") secret(q("key"), "routing_key");
      if (t === "email") out.to = q("to").value.split(/[,;\s]+/).map((x) => x.trim()).filter(Boolean);
      return out;
    });
    if (moved.length) {
      (showErrors(form, general, moved.join("\n")) || general).focus();
      return;
    }
    saveBtn.disabled = true;
    const body = { name: name.value.trim(), receivers };
    try {
      if (existing) await send("PUT", "action-groups/" + encodeURIComponent(existing.id), body);
      else await send("POST", "action-groups", body);
      go(href("/alerts/action-groups"));
    } catch (err) {
      saveBtn.disabled = false;
      const msg = (err as Error).message;
      const first = err instanceof APIError && err.status === 400 ? showErrors(form, general, msg) : null;
      if (!first) {
        general.textContent = msg;
        general.classList.remove("hidden");
      }
      (first || general).focus();
    }
  });
  add(main, form);
  main.dataset.loaded = "true";
}
