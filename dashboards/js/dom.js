// DOM building and formatting. Everything the dashboard shows comes from audit logs, and
// identities, object names and explanations are attacker-influenced: this module is the
// only place that creates elements, and it only ever sets text through `textContent` and
// attributes through `setAttribute` (never `innerHTML`, never `on*` attributes; the only
// links built from data are `#view/...` fragments with the value URL-encoded), so a
// hostile string is always shown as text.

const SVG_NS = "http://www.w3.org/2000/svg";

// Builds an element. `attrs` values are set as attributes (keys starting with "on" are
// refused: handlers are attached with `on()` so that no string becomes code); children are
// nodes or strings (strings become text nodes).
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// Same as `h`, in the SVG namespace.
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (/^on/i.test(key)) throw new Error(`event handler attribute ${key} refused: use on()`);
    el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Attaches `handler` to `event` on `el` and returns `el`, so it chains inside `h(...)`.
export function on(el, event, handler) {
  el.addEventListener(event, handler);
  return el;
}

// Replaces the children of `el`.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A short note in place of a section: "not available to your role", "no data", an error.
export function note(text, cls = "note") {
  return h("p", { class: cls }, text);
}

export function fmtNumber(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "–";
  return Number(n).toLocaleString("en-US");
}

// "2026-10-01 09:10 UTC" from an RFC 3339 string; the raw string if it does not parse.
export function fmtTime(text) {
  if (!text) return "–";
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return String(text);
  return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

export function fmtDate(text) {
  if (!text) return "–";
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return String(text);
  return d.toISOString().slice(0, 10);
}

// "3 h 12 min", "45 s", "2 d 4 h".
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

// A compact number for axis labels: 1200 → "1.2k".
export function fmtCompact(n) {
  const v = Number(n);
  if (Math.abs(v) >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
}

// The name a person recognises for an identity: UPN, else app id, else object id.
export function identityLabel(rec) {
  return rec.identity_upn || rec.identity_appid || rec.identity_oid || rec.identity || "unknown identity";
}

// A severity badge.
export function severityBadge(severity) {
  return h("span", { class: `badge sev-${cssToken(severity)}` }, severity || "–");
}

// A value safe to put in a class name or data attribute suffix (class names only ever
// come from this, so a hostile value cannot add classes or break attributes).
export function cssToken(value) {
  return String(value ?? "").toLowerCase().replace(/[^a-z0-9_-]/g, "_");
}

// A definition list from [label, value] pairs; values are text or nodes.
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter((p) => p).map(([label, value]) => [h("dt", {}, label), h("dd", {}, value ?? "–")]),
  );
}

// A table from column headers and rows of cells (text or nodes); `rowAttrs(i)` gives each
// row's attributes.
export function table(headers, rows, opts = {}) {
  return h(
    "table",
    { class: opts.class || "grid", id: opts.id },
    h("thead", {}, h("tr", {}, headers.map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      rows.map((cells, i) => h("tr", opts.rowAttrs ? opts.rowAttrs(i) : {}, cells.map((c) => h("td", {}, c ?? "–")))),
    ),
  );
}

// What a section shows when its API call failed: a 403 is "not available to your role"
// (a normal answer, not an error), a 401 sends the user back to sign-in.
export function unavailable(err) {
  if (err && err.status === 403) return note("Not available to your role.", "note unavailable");
  if (err && err.status === 401) {
    window.dispatchEvent(new CustomEvent("kvaudit:unauthorized"));
    return note("Your token was refused: sign in again.", "note error");
  }
  if (err && err.status === 404) return note("Not found.", "note");
  return note(`Could not load this: ${err && err.message ? err.message : err}`, "note error");
}
