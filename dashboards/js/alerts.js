// Alerts: the list (open by default, filtered by state, severity, kind, vault) and one
// alert's detail (explanation, observed against baseline, score, evidence), with
// acknowledge and close for the roles that triage, and suppress for admins.

import { api, query, seg } from "./api.js";
import {
  h, on, note, replace, facts, table, fmtNumber, fmtTime, identityLabel, severityBadge, cssToken, unavailable,
} from "./dom.js";
import { meter } from "./charts.js";
import { session } from "./session.js";

const STATES = ["open", "acknowledged", "closed", "suppressed"];
const SEVERITIES = ["high", "medium", "low"];
const KINDS = [
  "volume_spike", "mass_retrieval", "enumeration", "new_identity", "new_ip", "unusual_time", "denied_burst",
  "sensitive_operation", "stale_secret", "expired_secret_in_use", "secret_near_expiry", "secret_past_max_age",
  "secret_without_expiry", "old_version_in_use", "shared_secret", "environment_crossover", "role_mixing",
  "secret_in_log",
];
const LIST_LIMIT = 500;

// Roles that may acknowledge and close, and suppress (the API checks again).
const TRIAGE_ROLES = ["analyst", "admin"];
const SUPPRESS_ROLES = ["admin"];

const filters = { state: "open", severity: "", kind: "", vault: "" };

function select(name, values, label) {
  const el = h("select", { name, "aria-label": label },
    h("option", { value: "" }, `any ${label}`),
    values.map((v) => h("option", { value: v, selected: filters[name] === v }, v.replaceAll("_", " "))));
  return el;
}

export async function renderList(root) {
  const form = h("form", { class: "filters", id: "alert-filters" },
    select("state", STATES, "state"), select("severity", SEVERITIES, "severity"), select("kind", KINDS, "kind"),
    h("input", { name: "vault", placeholder: "vault", value: filters.vault, "aria-label": "vault", size: 14 }),
    h("button", { type: "submit" }, "Filter"));
  on(form, "change", (ev) => {
    if (ev.target.name !== "vault") form.requestSubmit();
  });
  on(form, "submit", (ev) => {
    ev.preventDefault();
    for (const k of Object.keys(filters)) filters[k] = form.elements[k].value.trim();
    renderList(root);
  });
  let data;
  try {
    data = await api(`/api/alerts${query({ ...filters, limit: LIST_LIMIT })}`);
  } catch (e) {
    replace(root, h("h2", {}, "Alerts"), unavailable(e));
    return;
  }
  const alerts = (Array.isArray(data) ? data : data.alerts) || [];
  const rank = { high: 0, medium: 1, low: 2 };
  alerts.sort((a, b) => (rank[a.severity] ?? 3) - (rank[b.severity] ?? 3) || String(b.window_end).localeCompare(String(a.window_end)));
  const rows = alerts.map((a) => [
    severityBadge(a.severity),
    h("a", { href: `#alert/${encodeURIComponent(a.id)}`, class: "alert-link" }, String(a.kind).replaceAll("_", " ")),
    a.vault,
    h("span", { class: "identity" }, identityLabel(a)),
    a.object_name,
    h("span", { class: "explanation" }, a.explanation),
    h("span", { class: "window" }, `${fmtTime(a.window_start)} → ${fmtTime(a.window_end)}`),
    h("span", { class: `state state-${cssToken(a.state)}` }, a.state),
  ]);
  const list = alerts.length
    ? table(["Severity", "Kind", "Vault", "Identity", "Object", "Explanation", "Window", "State"], rows, {
        id: "alerts-table",
        class: "grid clickable",
        rowAttrs: (i) => ({ "data-alert-id": alerts[i].id, "data-kind": cssToken(alerts[i].kind), "data-severity": cssToken(alerts[i].severity) }),
      })
    : note("No alert matches these filters.");
  if (alerts.length) {
    on(list, "click", (ev) => {
      const tr = ev.target.closest("tr[data-alert-id]");
      if (tr && !ev.target.closest("a")) location.hash = `#alert/${encodeURIComponent(tr.dataset.alertId)}`;
    });
  }
  replace(
    root,
    h("div", { class: "view-head" }, h("h2", {}, "Alerts"), h("span", { class: "muted", id: "alerts-count" }, `${alerts.length} shown`)),
    form,
    h("section", { class: "card wide" }, list),
  );
}

export async function renderDetail(root, id) {
  let alert;
  try {
    alert = await api(`/api/alerts/${seg(id)}`);
  } catch (e) {
    replace(root, back(), h("h2", {}, "Alert"), unavailable(e));
    return;
  }
  if (alert && alert.alert) alert = alert.alert;
  const status = h("div", { class: "action-status", role: "status" });
  replace(
    root,
    back(),
    h("article", { id: "alert-detail", "data-alert-id": alert.id, "data-state": cssToken(alert.state) },
      h("div", { class: "view-head" }, severityBadge(alert.severity), h("h2", {}, String(alert.kind).replaceAll("_", " ")),
        h("span", { class: `state state-${cssToken(alert.state)}` }, alert.state)),
      h("p", { class: "explanation lead" }, alert.explanation),
      h("div", { class: "cards" },
        h("section", { class: "card" }, h("h3", {}, "What and who"), facts([
          ["Vault", alert.vault],
          ["Identity", alert.identity_oid ? h("a", { href: `#identity/${encodeURIComponent(alert.identity_oid)}` }, identityLabel(alert)) : identityLabel(alert)],
          alert.identity_appid ? ["App id", alert.identity_appid] : null,
          alert.identity_upn ? ["UPN", alert.identity_upn] : null,
          ["Object", alert.object_name],
          ["Caller IP", alert.caller_ip],
          ["Window", `${fmtTime(alert.window_start)} → ${fmtTime(alert.window_end)}`],
          ["First raised", fmtTime(alert.first_raised)],
          ["Last raised", fmtTime(alert.last_raised)],
          alert.state_reason ? ["State reason", alert.state_reason] : null,
          ["Id", h("code", {}, alert.id)],
        ])),
        h("section", { class: "card" }, h("h3", {}, "Score"), scoreView(alert.score), digFurther(alert), actions(alert, status, root))),
      h("section", { class: "card wide" }, h("h3", {}, "Observed against baseline"), comparison(alert.observed, alert.baseline)),
      h("section", { class: "card wide" }, h("h3", {}, `Evidence · ${(alert.evidence || []).length} events`), evidence(alert.evidence || []))),
  );
}

function back() {
  return h("a", { href: "#alerts", class: "back" }, "← All alerts");
}

function scoreView(score) {
  if (!score) return note("No score.");
  const v = Number(score.value);
  const shown = Number.isFinite(v) && v !== 0 && Math.abs(v) < 0.001 ? v.toExponential(2) : fmtNumber(+v.toFixed(4));
  return h("p", { class: "score" }, h("strong", { class: "score-value" }, shown), " ", h("span", { class: "muted" }, String(score.name || "").replaceAll("_", " ")));
}

// The commands to dig further, as text to copy (never run from the page). Names come from
// logs and may be hostile, so each argument is single-quoted for the shell (and each SQL
// literal escaped for SQL): pasting the command can never run anything else.
function digFurther(a) {
  const cmds = [];
  if (a.vault && a.object_name) cmds.push(`kvaudit secret-status ${shellQuote(`${a.vault}/${a.object_name}`)}`);
  const who = a.identity_oid || a.identity_appid;
  if (a.vault && who) {
    const sql = `SELECT time, operation, object_name, caller_ip, http_status FROM events WHERE vault = ${sqlString(a.vault)} AND (identity_oid = ${sqlString(who)} OR identity_appid = ${sqlString(who)}) ORDER BY time DESC LIMIT 50`;
    cmds.push(`kvaudit query ${shellQuote(sql)}`);
  }
  if (!cmds.length) return null;
  return h("div", { class: "dig" }, h("h4", {}, "Dig further"), cmds.map((c) => h("pre", {}, h("code", {}, c))));
}

export function shellQuote(text) {
  return `'${String(text).replaceAll("'", `'\\''`)}'`;
}

function sqlString(text) {
  return `'${String(text).replaceAll("'", "''")}'`;
}

function actions(alert, status, root) {
  const role = session.role;
  if (!TRIAGE_ROLES.includes(role) && !SUPPRESS_ROLES.includes(role)) return null;
  const noteInput = h("input", { name: "note", placeholder: "note (why)", "aria-label": "note", size: 28 });
  const post = async (verb, body) => {
    replace(status, "Saving…");
    try {
      await api(`/api/alerts/${seg(alert.id)}/${verb}`, { method: "POST", body });
      await renderDetail(root, alert.id);
    } catch (e) {
      replace(status, unavailable(e));
    }
  };
  const btn = (label, verb, enabled) =>
    on(h("button", { type: "button", class: `action-${verb}`, disabled: !enabled }, label), "click", () => post(verb, { note: noteInput.value }));
  const parts = [];
  if (TRIAGE_ROLES.includes(role)) {
    parts.push(h("div", { class: "actions" }, noteInput, btn("Acknowledge", "acknowledge", alert.state === "open"),
      btn("Close", "close", alert.state === "open" || alert.state === "acknowledged")));
  }
  if (SUPPRESS_ROLES.includes(role)) {
    const reason = h("input", { name: "reason", placeholder: "suppression reason", "aria-label": "suppression reason", size: 24 });
    const expires = h("input", { name: "expires", type: "date", "aria-label": "suppression expires" });
    const form = h("form", { class: "actions" }, reason, expires, h("button", { type: "submit" }, "Suppress"));
    on(form, "submit", (ev) => {
      ev.preventDefault();
      if (!reason.value.trim() || !expires.value) {
        replace(status, "A suppression needs a reason and an expiry date.");
        return;
      }
      post("suppress", { reason: reason.value.trim(), expires: `${expires.value}T00:00:00Z` });
    });
    parts.push(form);
  }
  return h("div", { class: "triage" }, h("h4", {}, "Triage"), parts, status);
}

// Observed against baseline, key by key; numbers side by side get a bar each.
function comparison(observed, baseline) {
  const obs = asObject(observed), base = asObject(baseline);
  const keys = [...new Set([...Object.keys(obs), ...Object.keys(base)])];
  if (!keys.length) return note("Nothing recorded.");
  const rows = keys.map((k) => {
    const o = obs[k], b = base[k];
    const both = typeof o === "number" && typeof b === "number";
    const max = both ? Math.max(Math.abs(o), Math.abs(b)) : 0;
    return [
      k.replaceAll("_", " "),
      h("span", { class: "cmp" }, valueText(o), both ? meter(Math.abs(o), max, "observed") : null),
      h("span", { class: "cmp" }, valueText(b), both ? meter(Math.abs(b), max, "baseline") : null),
    ];
  });
  return table(["", "Observed", "Baseline"], rows, { id: "comparison", class: "grid comparison" });
}

function asObject(v) {
  if (v && typeof v === "object" && !Array.isArray(v)) return v;
  if (v === null || v === undefined) return {};
  return { value: v };
}

function valueText(v) {
  if (v === undefined) return "–";
  if (v === null) return "none";
  if (typeof v === "number") return Number.isInteger(v) ? fmtNumber(v) : fmtNumber(+v.toFixed(3));
  if (Array.isArray(v)) return v.length > 12 ? `${v.slice(0, 12).map(valueText).join(", ")} … (${v.length})` : v.map(valueText).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function evidence(rows) {
  if (!rows.length) return note("No events kept.");
  return table(
    ["Time", "Operation", "Vault", "Object", "Status", "IP", "Correlation id"],
    rows.map((e) => [fmtTime(e.time), e.operation, e.vault, e.object, e.http_status, e.ip, h("code", {}, e.correlation_id ?? "–")]),
    { class: "grid evidence", id: "evidence" },
  );
}
