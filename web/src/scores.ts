// Scores on the pages: a call's and a trace's scores with their
// explanations, the form a person scores with, the spans table's badges
// and the Overview's quality card.
import { deleteButton } from "./alerts";
import { access, api, APIError, canEdit, canSeeContent, send, session } from "./state";
import { add, clear, h, int, pct, time } from "./util";

export interface Score {
  id: string;
  trace_id?: string;
  span_id?: string;
  session_id?: string;
  name: string;
  value?: number;
  label?: string;
  comment?: string;
  source: string;
  author?: string;
  time: string;
  updated: string;
}

export interface ScoreStat {
  name: string;
  count: number;
  values: number;
  avg: number;
  min: number;
  max: number;
  labels: Record<string, number>;
}

// canScore mirrors the API: with auth on, users of the project with the
// content permission, and admins, may score (anyone, with auth off).
export function canScore(): boolean {
  if (!session.auth) return true;
  if (session.me?.admin) return true;
  const a = access();
  return !!a?.role && a.content;
}

// canChange says whether the user may edit or delete a score: its
// author, or an editor of the project.
function canChange(sc: Score): boolean {
  if (!canScore()) return false;
  if (!session.auth || canEdit()) return true;
  return !!sc.author && sc.author === session.me?.user;
}

// PASS are the labels counted as a pass, FAIL as a fail; a score name's
// pass rate is pass / (pass + fail), shown when any was given.
const PASS = new Set(["pass", "good", "yes", "correct", "relevant", "up", "true", "positive", "helpful"]);
const FAIL = new Set(["fail", "bad", "no", "incorrect", "irrelevant", "down", "false", "negative", "unhelpful"]);

// passRate is the share of passing labels, or null when no label is a
// pass or a fail.
export function passRate(labels: Record<string, number>): number | null {
  let pass = 0, fail = 0;
  for (const [l, n] of Object.entries(labels)) {
    const k = l.toLowerCase();
    if (PASS.has(k)) pass += n;
    else if (FAIL.has(k)) fail += n;
  }
  return pass + fail ? pass / (pass + fail) : null;
}

// scoreText is a score's value and/or label, as text.
function scoreText(v: number | undefined, label: string | undefined): string {
  const num = v === undefined || v === null ? "" : String(+v.toPrecision(4));
  return [num, label || ""].filter(Boolean).join(" · ");
}

// tone classes a value or label as good, bad or neither, for its colour.
function tone(v: unknown): string {
  if (typeof v === "number") return v >= 0.7 ? " good" : v < 0.5 ? " bad" : "";
  const k = String(v).toLowerCase();
  return PASS.has(k) ? " good" : FAIL.has(k) ? " bad" : "";
}

// scoreBadges is the spans table's cell: a compact badge per score name.
export function scoreBadges(scores?: Record<string, number | string>): HTMLElement | string {
  const names = Object.keys(scores || {}).sort();
  if (!names.length) return h("span", { class: "muted" }, "—");
  return h("span", { class: "score-badges" }, names.map((n) => {
    const v = scores![n];
    const text = typeof v === "number" ? String(+v.toPrecision(3)) : v;
    return h("span", { class: "score-badge" + tone(v), title: `${n}: ${text}`, "data-score": n }, h("span", { class: "sb-name" }, n), " ", text);
  }));
}

// scoresBox lists the scores of one target (a call, or the trace with
// spanID "") and, for those who may score, the form to add one. It loads
// the trace's scores once (load) and redraws after every change.
export function scoresBox(traceID: string, spanID: string, what: string, load: () => Promise<Score[]>, reload: () => void): HTMLElement {
  const box = h("div", { class: "scores", "data-target": spanID ? "span" : "trace" });
  const id = "scores-" + (spanID || "trace");
  box.id = id;
  add(box, h("p", { class: "muted small" }, "Loading scores…"));
  load().then((all) => {
    clear(box);
    const mine = all.filter((s) => (s.span_id || "") === spanID && s.trace_id === traceID);
    add(box, mine.length
      ? h("ul", { class: "score-list plain-list" }, mine.map((sc) => scoreItem(sc, reload)))
      : h("p", { class: "muted small no-scores" }, `No scores for this ${what} yet.`));
    if (canScore()) add(box, scoreForm(traceID, spanID, what, undefined, reload));
    else if (session.auth) add(box, h("p", { class: "muted small score-denied" }, "Scoring needs the content permission of this project."));
  }).catch((err) => {
    clear(box);
    add(box, h("p", { class: "bad small", role: "alert" }, "Could not load the scores: " + (err as Error).message));
  });
  return box;
}

function scoreItem(sc: Score, reload: () => void): HTMLElement {
  const li = h("li", { class: "score-item", "data-score-id": sc.id, "data-name": sc.name });
  const draw = () => {
    clear(li);
    const source = sc.source === "human" ? "by a person" : sc.source === "feedback" ? "app user feedback" : sc.source;
    add(li,
      h("div", { class: "score-head" },
        h("strong", null, sc.name), " ",
        h("span", { class: "score-badge" + tone(sc.value ?? sc.label), "data-value": scoreText(sc.value, sc.label) }, scoreText(sc.value, sc.label)),
        h("span", { class: "muted small" }, " · ", h("span", { class: "score-source" }, source), sc.author ? [" · ", h("span", { class: "score-author" }, sc.author)] : null,
          " · ", h("span", { title: "updated " + time(sc.updated) }, time(sc.time, false)))),
      sc.comment ? h("p", { class: "score-comment" }, sc.comment)
        : !canSeeContent() ? h("p", { class: "muted small" }, "comment hidden: no content permission") : null,
      canChange(sc) ? h("div", { class: "score-actions" },
        h("button", { type: "button", class: "btn small ghost", "aria-label": `edit the score ${sc.name}`, "data-action": "edit", onclick: () => { clear(li); add(li, scoreForm(sc.trace_id || "", sc.span_id || "", "", sc, reload, draw)); } }, "Edit"),
        deleteButton("Delete “" + sc.name + "”", "scores/" + encodeURIComponent(sc.id), "delete this score")) : null,
    );
  };
  draw();
  return li;
}

let formSeq = 0;

// scoreForm adds a score to the target, or edits sc.
function scoreForm(traceID: string, spanID: string, what: string, sc: Score | undefined, reload: () => void, cancel?: () => void): HTMLElement {
  const n = ++formSeq;
  const fid = (k: string) => `score-${k}-${n}`;
  const name = h("input", { type: "text", id: fid("name"), name: "name", required: true, maxlength: "200", value: sc?.name || "", placeholder: "e.g. helpfulness", autocomplete: "off", spellcheck: "false" });
  const value = h("input", { type: "number", id: fid("value"), name: "value", step: "any", value: sc?.value ?? "", placeholder: "0 to 1" });
  const label = h("input", { type: "text", id: fid("label"), name: "label", maxlength: "200", value: sc?.label || "", placeholder: "e.g. pass", autocomplete: "off" });
  const comment = h("textarea", { id: fid("comment"), name: "comment", rows: "2", maxlength: "16384", placeholder: "why (optional)" });
  comment.value = sc?.comment || "";
  const msg = h("p", { class: "field-error", role: "alert" });
  const btn = h("button", { type: "submit", class: "btn small" }, sc ? "Save" : "Add score");
  const field = (k: string, l: string, el: HTMLElement) => h("div", { class: "sf-field sf-" + k }, h("label", { for: fid(k) }, l), el);
  return h("form", {
    class: "score-form", "aria-label": sc ? `edit the score ${sc.name}` : `score this ${what}`, "data-form": sc ? "edit" : "add",
    onsubmit: async (e: Event) => {
      e.preventDefault();
      msg.textContent = "";
      const v = value.value.trim() === "" ? null : Number(value.value);
      if (v !== null && !isFinite(v)) {
        msg.textContent = "The value is not a number.";
        return;
      }
      if (v === null && !label.value.trim()) {
        msg.textContent = "Give a value, a label, or both.";
        value.focus();
        return;
      }
      btn.disabled = true;
      try {
        if (sc) await send("PATCH", "scores/" + encodeURIComponent(sc.id), { name: name.value.trim(), value: v, label: label.value.trim(), comment: comment.value });
        else await send("POST", "scores", { trace_id: traceID, span_id: spanID || undefined, name: name.value.trim(), value: v ?? undefined, label: label.value.trim() || undefined, comment: comment.value || undefined, source: "human" });
        reload();
      } catch (err) {
        btn.disabled = false;
        msg.textContent = (err instanceof APIError && err.status === 403 ? "Not permitted: " : "Could not save: ") + (err as Error).message;
      }
    },
  },
    sc ? null : h("p", { class: "small sf-title" }, h("strong", null, `Score this ${what}`)),
    h("div", { class: "sf-row" }, field("name", "Name", name), field("value", "Value", value), field("label", "Label", label)),
    field("comment", "Comment", comment),
    h("div", { class: "form-row" }, btn, cancel ? h("button", { type: "button", class: "btn small ghost", onclick: cancel }, "Cancel") : null),
    msg);
}

// traceScores loads a trace's scores (every target in it), newest first.
export function traceScores(traceID: string, signal?: AbortSignal): Promise<Score[]> {
  return api<{ scores: Score[] }>("scores", { trace_id: traceID, limit: 1000 }, undefined, signal).then((r) => r.scores);
}

// qualityCard is the Overview's quality section: per score name, how many
// scores, the average value and the pass rate of the labels, over the
// range (by the scores' time).
export async function qualityCard(from: Date, to: Date, signal: AbortSignal): Promise<HTMLElement | null> {
  const sum = await api<{ scores: ScoreStat[] }>("scores/summary", { from: from.toISOString(), to: to.toISOString() }, undefined, signal);
  if (!sum.scores.length) return null;
  return h("section", { class: "card", id: "quality" },
    h("h3", null, "Quality", h("span", { class: "muted small" }, " — scores given in this range, of every call (the filters do not apply)")),
    h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": "Scores by name" }, h("table", { class: "grid-table", id: "quality-table" },
      h("thead", null, h("tr", null, h("th", null, "Score"), h("th", { class: "num" }, "Scores"), h("th", { class: "num" }, "Average"),
        h("th", { class: "num" }, "Min – max"), h("th", { class: "num" }, "Pass rate"), h("th", null, "Labels"))),
      h("tbody", null, sum.scores.map((s) => {
        const pr = passRate(s.labels);
        const labels = Object.entries(s.labels).sort((a, b) => b[1] - a[1]);
        return h("tr", { "data-score": s.name },
          h("td", null, h("strong", null, s.name)),
          h("td", { class: "num" }, int(s.count)),
          h("td", { class: "num q-avg" + (s.values ? tone(s.avg) : ""), "data-value": s.values ? String(s.avg) : "" }, s.values ? String(+s.avg.toPrecision(3)) : "—"),
          h("td", { class: "num" }, s.values ? `${+s.min.toPrecision(3)} – ${+s.max.toPrecision(3)}` : "—"),
          h("td", { class: "num q-pass" + (pr === null ? "" : tone(pr)), "data-value": pr === null ? "" : String(pr) }, pr === null ? "—" : pct(pr)),
          h("td", { class: "small" }, labels.length ? labels.slice(0, 6).map(([l, n]) => `${l} ${int(n)}`).join(" · ") : h("span", { class: "muted" }, "—")));
      })))));
}
