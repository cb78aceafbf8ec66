// The Projects pages (auth on): projects with their storage, and for one
// project its keys (shown once when created, revocable) and members.
import { codeBlock } from "./connect";
import { api, APIError, go, href, Me, send, session } from "./state";
import { add, ago, h, time } from "./util";

interface Project {
  name: string;
  created: string;
  capture: string;
  retention: { spans: string; content: string };
  config: boolean;
}

interface KeyInfo {
  id: string;
  scope: string;
  name?: string;
  prefix: string;
  content: boolean;
  created: string;
}

interface Grant {
  role: string;
  content: boolean;
}

interface UserInfo {
  name: string;
  admin: boolean;
  grants: Record<string, Grant>;
}

const SCOPES: [string, string][] = [
  ["ingest", "ingest — send telemetry (OTLP) into this project"],
  ["read", "read — read this project through the API"],
  ["gateway", "gateway — call models through genscope's gateway"],
  ["appinsights", "appinsights — an Application Insights instrumentation key"],
];

function bytes(n: number): string {
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return (i ? n.toFixed(1) : String(n)) + " " + u[i];
}

function message(err: unknown): string {
  if (err instanceof APIError && err.status === 403) return "Not permitted: " + err.message + ".";
  return err instanceof Error ? err.message : String(err);
}

function admins(me: Me | null, name: string): boolean {
  return !!me && (me.admin || me.projects.some((p) => p.name === name && p.role === "admin"));
}

export async function projectsPage(main: HTMLElement, signal: AbortSignal) {
  const out = await api<{ projects: Project[]; usage?: { disk_bytes?: number } }>("projects", {}, undefined, signal);
  const me = session.me;
  const rows = out.projects.map((p) => h("tr", { "data-project": p.name },
    h("td", null, admins(me, p.name) ? h("a", { href: href("/projects/" + encodeURIComponent(p.name)), "data-link": true }, p.name) : p.name),
    h("td", null, p.capture),
    h("td", null, p.retention.spans || "forever", " · content ", p.retention.content || "as spans"),
    h("td", { class: "nowrap", title: time(p.created) }, p.created && !p.created.startsWith("0001") ? ago(p.created) : "—"),
    h("td", null, p.config ? h("span", { class: "tag", title: "defined in the config file" }, "config") : h("span", { class: "tag" }, "API")),
  ));
  add(main,
    h("section", { class: "card table-card" },
      h("h3", null, "Projects", h("span", { class: "muted small" }, ` — ${out.projects.length}`)),
      out.usage?.disk_bytes !== undefined ? h("p", { class: "muted small", id: "disk-usage" }, "The store uses ", h("strong", null, bytes(out.usage.disk_bytes)), " on disk (all projects).") : null,
      h("div", { class: "scroll" }, h("table", { class: "grid-table", id: "projects" },
        h("thead", null, h("tr", null, ["Project", "Content capture", "Retention (spans · content)", "Created", "Defined in"].map((l) => h("th", null, l)))),
        h("tbody", null, rows))),
    ),
    me?.admin ? createProjectForm() : null,
  );
  main.dataset.loaded = "true";
}

function createProjectForm(): HTMLElement {
  const name = h("input", { type: "text", id: "new-project", required: true, pattern: "[a-z0-9][a-z0-9_\\-]*", spellcheck: "false", placeholder: "team-a" });
  const msg = h("p", { class: "bad small", role: "alert" });
  const form = h("form", {
    class: "card inline-form", id: "create-project", onsubmit: async (e: Event) => {
      e.preventDefault();
      msg.textContent = "";
      try {
        const p = await send<Project>("POST", "projects", { name: name.value.trim() });
        // The picker and the user menu learn of the new project.
        if (session.me && !session.me.projects.some((x) => x.name === p.name)) session.me.projects.push({ name: p.name, role: "admin", content: true });
        go(href("/projects/" + encodeURIComponent(p.name)));
      } catch (err) {
        msg.textContent = message(err);
      }
    },
  },
  h("h3", null, "New project"),
  h("label", { for: "new-project" }, "Name "), name, " ",
  h("button", { type: "submit", class: "btn", id: "create-project-btn" }, "Create project"),
  h("p", { class: "muted small" }, "Lower-case letters, digits, - and _. Then create its keys."),
  msg);
  return form;
}

export async function projectPage(main: HTMLElement, name: string, signal: AbortSignal) {
  const enc = encodeURIComponent(name);
  const [keys, users] = await Promise.all([
    api<{ keys: KeyInfo[] }>("projects/" + enc + "/keys", {}, undefined, signal),
    session.me?.admin ? api<{ users: UserInfo[] }>("users", {}, undefined, signal) : Promise.resolve(null),
  ]);
  const keyBody = h("tbody");
  const renderKeys = (list: KeyInfo[]): void => keyBody.replaceChildren(...(list.length
    ? list.map((k) => keyRow(name, k, () => reloadKeys()))
    : [h("tr", null, h("td", { colspan: "6", class: "muted" }, "No keys yet: create one below."))]));
  const reloadKeys = async (): Promise<void> => renderKeys((await api<{ keys: KeyInfo[] }>("projects/" + enc + "/keys")).keys);
  renderKeys(keys.keys);
  add(main,
    h("p", null, h("a", { href: href("/projects"), "data-link": true }, "← All projects")),
    h("section", { class: "card table-card" },
      h("h3", null, "Keys of ", h("code", null, name)),
      h("p", { class: "muted small" }, "A key is shown once, when it is created; afterwards only its id and prefix. Revoked keys stop working at once."),
      h("div", { class: "scroll" }, h("table", { class: "grid-table", id: "keys" },
        h("thead", null, h("tr", null, ["Id", "Prefix", "Scope", "Name", "Created", ""].map((l) => h("th", null, l)))),
        keyBody)),
    ),
    createKeyForm(name, reloadKeys),
    users ? membersCard(name, users.users) : null,
  );
  main.dataset.loaded = "true";
}

function keyRow(project: string, k: KeyInfo, reload: () => Promise<void>): HTMLElement {
  const actions = h("td", { class: "actions nowrap" });
  const revoke = h("button", { type: "button", class: "btn small ghost revoke" }, "Revoke");
  revoke.addEventListener("click", () => {
    // An inline confirm: nothing happens until "Yes, revoke".
    const yes = h("button", { type: "button", class: "btn small danger-solid confirm-revoke" }, "Yes, revoke");
    const no = h("button", { type: "button", class: "btn small ghost" }, "Cancel");
    const box = h("span", { class: "confirm", role: "group" }, "Revoke this key? Apps using it stop working. ", yes, " ", no);
    no.addEventListener("click", () => box.replaceWith(revoke));
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await send("DELETE", "projects/" + encodeURIComponent(project) + "/keys/" + encodeURIComponent(k.id));
        await reload();
      } catch (err) {
        box.replaceWith(revoke, h("span", { class: "bad small", role: "alert" }, " ", message(err)));
      }
    });
    revoke.replaceWith(box);
    yes.focus();
  });
  actions.append(revoke);
  return h("tr", { "data-key": k.id },
    h("td", { class: "mono" }, k.id),
    h("td", { class: "mono" }, k.prefix),
    h("td", null, k.scope, k.content ? h("span", { class: "tag", title: "may read message content" }, "+content") : null),
    h("td", null, k.name || h("span", { class: "muted" }, "—")),
    h("td", { class: "nowrap", title: time(k.created) }, ago(k.created)),
    actions);
}

function createKeyForm(project: string, reload: () => Promise<void>): HTMLElement {
  const scope = h("select", { id: "key-scope" }, SCOPES.map(([v, l]) => h("option", { value: v }, l)));
  const name = h("input", { type: "text", id: "key-name", placeholder: "e.g. checkout-service", spellcheck: "false" });
  const content = h("input", { type: "checkbox", id: "key-content" });
  const contentBox = h("label", { class: "inline hidden", id: "key-content-box", title: "the key's reads include system messages, inputs and outputs" }, content, " with message content");
  scope.addEventListener("change", () => contentBox.classList.toggle("hidden", scope.value !== "read"));
  const msg = h("p", { class: "bad small", role: "alert" });
  const result = h("div", { id: "new-key" });
  const form = h("form", {
    class: "card", id: "create-key", onsubmit: async (e: Event) => {
      e.preventDefault();
      msg.textContent = "";
      result.replaceChildren();
      try {
        const k = await send<KeyInfo & { key: string; connection_string?: string }>("POST", "projects/" + encodeURIComponent(project) + "/keys",
          { scope: scope.value, name: name.value.trim(), content: scope.value === "read" && content.checked });
        result.replaceChildren(h("div", { class: "once", role: "status" },
          h("p", null, h("strong", null, "Copy this key now: it is shown only once."), " genscope keeps only its hash; if it is lost, revoke it and create another."),
          codeBlock("new-key", k.key),
          k.connection_string ? [h("p", null, "The connection string for Application Insights exporters:"), codeBlock("new-connection-string", k.connection_string)] : null,
          h("p", { class: "muted small" }, "Key ", h("code", null, k.id), " (", k.scope, ")")));
        name.value = "";
        await reload();
      } catch (err) {
        msg.textContent = message(err);
      }
    },
  },
  h("h3", null, "New key"),
  h("div", { class: "form-row" },
    h("label", { for: "key-scope" }, "Scope "), scope, " ",
    h("label", { for: "key-name" }, "Name "), name, " ", contentBox, " ",
    h("button", { type: "submit", class: "btn", id: "create-key-btn" }, "Create key")),
  msg, result);
  return form;
}

function membersCard(project: string, users: UserInfo[]): HTMLElement {
  const enc = encodeURIComponent(project);
  const msg = h("p", { class: "bad small", role: "alert" });
  const body = h("tbody");
  const render = (): void => body.replaceChildren(...users.map((u) => {
    const g = u.grants[project];
    const role = h("select", { "aria-label": "role of " + u.name },
      h("option", { value: "", selected: !g }, "no access"),
      ["viewer", "editor", "admin"].map((r) => h("option", { value: r, selected: g?.role === r }, r)));
    const content = h("input", { type: "checkbox", checked: !!g?.content, "aria-label": "content permission of " + u.name });
    const save = async () => {
      msg.textContent = "";
      try {
        if (!role.value) {
          await send("DELETE", "projects/" + enc + "/members/" + encodeURIComponent(u.name));
          delete u.grants[project];
        } else {
          const ng = await send<Grant>("PUT", "projects/" + enc + "/members/" + encodeURIComponent(u.name), { role: role.value, content: content.checked });
          u.grants[project] = ng;
        }
        render();
      } catch (err) {
        msg.textContent = u.name + ": " + message(err);
      }
    };
    role.addEventListener("change", save);
    content.addEventListener("change", save);
    content.disabled = !g && !role.value;
    return h("tr", { "data-user": u.name },
      h("td", null, u.name, u.admin ? h("span", { class: "tag", title: "administers every project" }, "administrator") : null),
      h("td", null, u.admin ? "admin (all projects)" : role),
      h("td", null, u.admin ? "yes" : h("label", { class: "inline" }, content, " sees message content")));
  }));
  render();
  return h("section", { class: "card table-card", id: "members" },
    h("h3", null, "Members"),
    h("p", { class: "muted small" }, "viewer reads; editor also manages alert rules; admin also keys and members. Message content (system messages, inputs, outputs) is a separate permission."),
    users.length ? h("div", { class: "scroll" }, h("table", { class: "grid-table" },
      h("thead", null, h("tr", null, h("th", null, "User"), h("th", null, "Role"), h("th", null, "Content"))), body))
      : h("p", { class: "muted" }, "No users yet: create them with POST /api/v1/users."),
    msg);
}
