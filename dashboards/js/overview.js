// The overview: ingest health, events per day per vault, open alerts by kind and
// severity, secret lifecycle states, and the busiest identities; one API call
// (`/api/overview`). A section the token's role may not see says so instead of breaking.

import { api, query } from "./api.js";
import { h, on, note, replace, facts, fmtNumber, fmtTime, fmtDuration, cssToken, table, unavailable } from "./dom.js";
import { session } from "./session.js";
import { PALETTE, SEVERITY_COLOURS, legend, stackedArea, stackedBars, meter } from "./charts.js";

// Ingest lag above which the health card turns amber, then red. Key Vault delivers its
// diagnostic logs within minutes to about an hour; two hours behind means events are
// missing from detection.
const LAG_WARN_SECONDS = 3600;
const LAG_BAD_SECONDS = 2 * 3600;

// At most this many vaults get their own colour; the rest are summed as "other vaults".
const MAX_SERIES = 9;

// Lifecycle states, the riskiest first, with the colour of their bar.
const LIFECYCLE = [
  ["expired", "Expired, still in use", "#c62828"],
  ["near-expiry", "Near expiry", "#ef8c00"],
  ["stale", "Stale (unused)", "#d4a017"],
  ["past-max-age", "Past maximum age", "#b07aa1"],
  ["old-version", "Old version in use", "#9c755f"],
  ["no-expiry", "Without expiry", "#7896b8"],
  ["unread", "Never read", "#a0a0a0"],
  ["idle", "Idle", "#bab0ac"],
  ["in-use", "In use", "#59a14f"],
  ["deleted", "Deleted", "#666666"],
];

const SEVERITIES = ["high", "medium", "low"];

let days = 30;

export async function render(root) {
  const picker = h("select", { id: "overview-days", "aria-label": "period" },
    [7, 14, 30, 90].map((d) => h("option", { value: d, selected: d === days }, `last ${d} days`)));
  on(picker, "change", () => {
    days = Number(picker.value);
    render(root);
  });
  let data;
  try {
    data = await api(`/api/overview${query({ days })}`);
  } catch (e) {
    replace(root, h("h2", {}, "Overview"), unavailable(e));
    return;
  }
  // `sections` names the parts this role may see; the others come as empty lists, which
  // must read "not available to your role", not "nothing there".
  const part = (name) => (!Array.isArray(data.sections) || data.sections.includes(name) ? data[name] : null);
  replace(
    root,
    h("div", { class: "view-head" }, h("h2", {}, "Overview"), h("span", { class: "muted" }, `as of ${fmtTime(data.as_of)}`), picker),
    h("div", { class: "cards" }, ingestCard(part("ingest")), lifecycleCard(part("lifecycle"))),
    eventsCard(part("events_per_day")),
    h("div", { class: "cards" }, alertsCard(part("alerts_open_by_kind")), identitiesCard(part("top_identities"))),
  );
}

function card(title, id, ...body) {
  return h("section", { class: "card", id }, h("h3", {}, title), ...body);
}

function ingestCard(ingest) {
  if (!ingest) return card("Ingest health", "ingest", note("Not available to your role.", "note unavailable"));
  const lag = ingest.lag_seconds;
  const error = ingest.last_error || ingest.last_detection_error;
  const health = error || lag > LAG_BAD_SECONDS ? "bad" : lag > LAG_WARN_SECONDS || lag === null || lag === undefined ? "warn" : "ok";
  const verdict = {
    bad: ingest.last_error ? "Ingest is failing" : ingest.last_detection_error ? "Detection is failing" : "Ingest is behind",
    warn: lag === null || lag === undefined ? "No events ingested yet" : "Ingest is slow",
    ok: "Ingest is up to date",
  }[health];
  const sources = Array.isArray(ingest.sources) ? ingest.sources : [];
  return h(
    "section",
    { class: `card health-${health}`, id: "ingest", "data-health": health },
    h("h3", {}, "Ingest health"),
    h("p", { class: "health-verdict" }, verdict),
    facts([
      ["Lag", h("strong", { class: "lag" }, fmtDuration(lag))],
      ["Last run", fmtTime(ingest.last_run)],
      ingest.newest_event !== undefined ? ["Newest event", fmtTime(ingest.newest_event)] : null,
      ["Records", h("span", { id: "ingest-records" }, fmtNumber(ingest.records))],
      ["Quarantined", h("span", { class: ingest.quarantined > 0 ? "warn-text" : "" }, fmtNumber(ingest.quarantined))],
      ingest.last_detection !== undefined ? ["Last detection", fmtTime(ingest.last_detection)] : null,
      ingest.cycles !== undefined ? ["Cycles", fmtNumber(ingest.cycles)] : null,
      ingest.last_error ? ["Last error", h("span", { class: "error-text" }, ingest.last_error)] : null,
      ingest.last_detection_error ? ["Detection error", h("span", { class: "error-text" }, ingest.last_detection_error)] : null,
    ]),
    sources.length > 1 || sources.some((sr) => sr.last_error)
      ? table(["Source", "Last run", "Records", "Quarantined", "Error"],
          sources.map((sr) => [sr.source, fmtTime(sr.last_run), fmtNumber(sr.last_records), fmtNumber(sr.last_quarantined),
            sr.last_error ? h("span", { class: "error-text" }, sr.last_error) : "–"]),
          { class: "grid compact sources" })
      : null,
  );
}

function eventsCard(rows) {
  if (!Array.isArray(rows)) return card("Events per day", "events", note("Not available to your role.", "note unavailable"));
  if (rows.length === 0) return card("Events per day", "events", note("No events in this period."));
  const dates = [...new Set(rows.map((r) => r.date))].sort();
  const idx = new Map(dates.map((d, i) => [d, i]));
  const perVault = new Map();
  for (const r of rows) {
    if (!perVault.has(r.vault)) perVault.set(r.vault, new Array(dates.length).fill(0));
    perVault.get(r.vault)[idx.get(r.date)] += Number(r.events) || 0;
  }
  const total = (vs) => vs.reduce((a, b) => a + b, 0);
  const ranked = [...perVault.entries()].sort((a, b) => total(b[1]) - total(a[1]) || String(a[0]).localeCompare(String(b[0])));
  const shown = ranked.slice(0, ranked.length > MAX_SERIES + 1 ? MAX_SERIES : ranked.length);
  const rest = ranked.slice(shown.length);
  const series = shown.map(([vault, values], i) => ({ key: vault, label: vault, color: PALETTE[i % PALETTE.length], values }));
  if (rest.length) {
    const values = dates.map((_, i) => rest.reduce((a, [, vs]) => a + vs[i], 0));
    series.push({ key: "(other)", label: `${rest.length} other vaults`, color: "#cccccc", values });
  }
  const sum = series.reduce((a, sr) => a + total(sr.values), 0);
  return card(
    `Events per day by vault · ${fmtNumber(sum)} events`,
    "events",
    stackedArea(dates, series, { id: "chart-events" }),
    legend(
      series.map((sr) => ({ ...sr, extra: fmtNumber(total(sr.values)) })),
      (sr) => ({ "data-vault": sr.key }),
    ),
  );
}

function alertsCard(rows) {
  if (!Array.isArray(rows)) return card("Open alerts", "open-alerts", note("Not available to your role.", "note unavailable"));
  if (rows.length === 0) return card("Open alerts", "open-alerts", note("No open alerts."));
  const byKind = new Map();
  for (const r of rows) {
    if (!byKind.has(r.kind)) byKind.set(r.kind, []);
    byKind.get(r.kind).push(r);
  }
  const weight = (rs) => rs.reduce((a, r) => a + (Number(r.count) || 0) * (r.severity === "high" ? 1e6 : r.severity === "medium" ? 1e3 : 1), 0);
  const kinds = [...byKind.entries()].sort((a, b) => weight(b[1]) - weight(a[1]));
  const bars = kinds.map(([kind, rs]) => ({
    key: kind,
    label: kind.replaceAll("_", " "),
    segments: SEVERITIES.flatMap((sev) =>
      rs.filter((r) => r.severity === sev).map((r) => ({
        key: sev,
        value: Number(r.count) || 0,
        color: SEVERITY_COLOURS[sev] || "#999",
        attrs: { "data-kind": kind, "data-severity": sev, "data-count": r.count },
      })),
    ),
  }));
  const total = rows.reduce((a, r) => a + (Number(r.count) || 0), 0);
  const link = session.can.alerts ? h("a", { href: "#alerts", class: "more" }, "Open the alert list →") : null;
  return card(
    `Open alerts by kind · ${fmtNumber(total)}`,
    "open-alerts",
    stackedBars(bars, { id: "chart-alerts" }),
    legend(SEVERITIES.map((sev) => ({ key: sev, label: sev, color: SEVERITY_COLOURS[sev] }))),
    link,
  );
}

function lifecycleCard(rows) {
  if (!Array.isArray(rows)) return card("Secret lifecycle", "lifecycle", note("Not available to your role.", "note unavailable"));
  const counts = new Map(rows.map((r) => [String(r.state).replaceAll("_", "-"), Number(r.count) || 0]));
  const known = LIFECYCLE.filter(([st]) => counts.has(st));
  const other = [...counts.keys()].filter((st) => !LIFECYCLE.some(([k]) => k === st)).map((st) => [st, st, "#999"]);
  const states = [...known, ...other];
  if (states.length === 0) return card("Secret lifecycle", "lifecycle", note("No secrets seen yet."));
  const bars = states.map(([st, label, color]) => ({
    key: st,
    label,
    segments: [{ key: st, value: counts.get(st), color, attrs: { "data-state": st, "data-count": counts.get(st) } }],
  }));
  return card(
    "Secret lifecycle states",
    "lifecycle",
    stackedBars(bars, { id: "chart-lifecycle" }),
    session.can.secrets ? h("a", { href: "#secrets", class: "more" }, "Open the secret list →") : null,
  );
}

function identitiesCard(rows) {
  if (!Array.isArray(rows)) return card("Top identities", "top-identities", note("Not available to your role.", "note unavailable"));
  if (rows.length === 0) return card("Top identities", "top-identities", note("No identity called in this period."));
  const max = Math.max(...rows.map((r) => Number(r.calls) || 0));
  return card(
    "Top identities",
    "top-identities",
    table(
      ["Identity", "Type", "Vaults", "Calls", "Days active"],
      rows.map((r) => [
        identityCell(r),
        r.identity_type,
        Array.isArray(r.vaults) ? r.vaults.join(", ") : fmtNumber(r.vaults),
        h("span", { class: "num-meter" }, fmtNumber(r.calls), meter(Number(r.calls) || 0, max, "calls")),
        fmtNumber(r.days_active),
      ]),
      { id: "top-identities-table", rowAttrs: (i) => ({ "data-identity": rows[i].identity, "data-type": cssToken(rows[i].identity_type) }) },
    ),
  );
}

// The identity's readable name (UPN, else its id) linked to its baseline, with the app
// id or object id under it.
export function identityCell(r) {
  const upn = r.upn || r.identity_upn;
  const appid = r.appid || r.identity_appid;
  const sub = upn ? r.identity : appid && appid !== r.identity ? `app ${appid}` : null;
  return h("span", { class: "identity" },
    h("a", { href: `#identity/${encodeURIComponent(r.identity)}` }, upn || r.identity),
    sub ? h("span", { class: "muted small" }, sub) : null);
}
