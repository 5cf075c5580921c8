// Identities: the busiest identities of the period, and one identity's baseline (calls by
// hour of week as a 7×24 heatmap, the networks it calls from, the objects it reads and the
// operations it uses), from `/api/identities/{oid}/baseline`.

import { api, query, seg } from "./api.js";
import { h, note, replace, facts, table, fmtNumber, fmtTime, cssToken, unavailable } from "./dom.js";
import { heatmap, meter } from "./charts.js";
import { identityCell } from "./overview.js";

export async function renderList(root) {
  let data;
  try {
    data = await api(`/api/overview${query({ days: 30 })}`);
  } catch (e) {
    replace(root, h("h2", {}, "Identities"), unavailable(e));
    return;
  }
  const rows = data.top_identities;
  if (!Array.isArray(rows) || (Array.isArray(data.sections) && !data.sections.includes("top_identities"))) {
    replace(root, h("h2", {}, "Identities"), note("Not available to your role.", "note unavailable"));
    return;
  }
  const max = Math.max(0, ...rows.map((r) => Number(r.calls) || 0));
  replace(
    root,
    h("div", { class: "view-head" }, h("h2", {}, "Top identities"), h("span", { class: "muted" }, "last 30 days; open one for its baseline")),
    h("section", { class: "card wide" }, rows.length
      ? table(
          ["Identity", "Type", "Vaults", "Calls", "Days active"],
          rows.map((r) => [
            identityCell(r),
            r.identity_type,
            Array.isArray(r.vaults) ? r.vaults.join(", ") : fmtNumber(r.vaults),
            h("span", { class: "num-meter" }, fmtNumber(r.calls), meter(Number(r.calls) || 0, max, "calls")),
            fmtNumber(r.days_active),
          ]),
          { id: "identities-table", rowAttrs: (i) => ({ "data-identity": rows[i].identity, "data-type": cssToken(rows[i].identity_type) }) },
        )
      : note("No identity called in this period.")),
  );
}

export async function renderDetail(root, oid) {
  const back = h("a", { href: "#identities", class: "back" }, "← All identities");
  let b;
  try {
    b = await api(`/api/identities/${seg(oid)}/baseline`);
  } catch (e) {
    replace(root, back, h("h2", {}, oid), unavailable(e));
    return;
  }
  const matrix = hourOfWeek(b.hour_of_week);
  const nets = (b.networks || []).map((n) => (typeof n === "string" ? { network: n } : n));
  const objects = b.objects || [];
  const ops = b.operations || [];
  const maxObj = Math.max(0, ...objects.map((o) => Number(o.calls) || 0));
  const maxOp = Math.max(0, ...ops.map((o) => Number(o.calls) || 0));
  const history = b.history || {};
  replace(
    root,
    back,
    h("article", { id: "identity-detail", "data-identity": oid },
      h("div", { class: "view-head" }, h("h2", { class: "identity" }, b.identity_upn || b.identity || oid),
        h("span", { class: "muted" }, b.identity_type || "")),
      h("div", { class: "cards" },
        h("section", { class: "card" }, h("h3", {}, "Who"), facts([
          ["Object id", b.identity_oid || b.identity || oid],
          b.identity_appid ? ["App id", b.identity_appid] : null,
          b.identity_upn ? ["UPN", b.identity_upn] : null,
          ["Type", b.identity_type],
          history.from ? ["Baseline history", `${fmtTime(history.from)} → ${fmtTime(history.to)}`] : null,
          history.days !== undefined ? ["Days", fmtNumber(history.days)] : null,
          b.calls !== undefined ? ["Calls", fmtNumber(b.calls)] : null,
          b.days_active !== undefined ? ["Days active", fmtNumber(b.days_active)] : null,
          Array.isArray(b.vaults) && b.vaults.length
            ? ["Vaults", h("span", {}, b.vaults.map((v) => h("span", { class: "badge" }, `${v.vault ?? v} ${v.calls !== undefined ? `· ${fmtNumber(v.calls)}` : ""}`)))]
            : null,
        ])),
        h("section", { class: "card", id: "networks" }, h("h3", {}, `Networks · ${nets.length}`), nets.length
          ? table(["Network", "Addresses", "Calls"], nets.map((n) => [h("code", {}, n.network), n.addresses === undefined ? "–" : Array.isArray(n.addresses) ? n.addresses.join(", ") : fmtNumber(n.addresses), n.calls === undefined ? "–" : fmtNumber(n.calls)]), { class: "grid compact", id: "networks-table" })
          : note("No network recorded."))),
      h("section", { class: "card wide" }, h("h3", {}, "Calls by hour of week (UTC)"),
        matrix ? heatmap(matrix, { id: "heatmap" }) : note("No hourly baseline.")),
      h("div", { class: "cards" },
        h("section", { class: "card", id: "objects" }, h("h3", {}, `Objects read · ${objects.length}`), objects.length
          ? table(["Vault", "Object", "Type", "Calls", "Last seen"], objects.map((o) => [o.vault, o.object ?? o.object_name, o.object_type, h("span", { class: "num-meter" }, fmtNumber(o.calls), meter(Number(o.calls) || 0, maxObj)), fmtTime(o.last_seen)]), { class: "grid compact", id: "objects-table" })
          : note("No object read.")),
        h("section", { class: "card", id: "operations" }, h("h3", {}, `Operations · ${ops.length}`), ops.length
          ? table(["Operation", "Calls", "Days"], ops.map((o) => [o.operation, h("span", { class: "num-meter" }, fmtNumber(o.calls), meter(Number(o.calls) || 0, maxOp)), fmtNumber(o.days)]), { class: "grid compact", id: "operations-table" })
          : note("No operation recorded."))),
    ),
  );
}

// 7 rows × 24 hours from the nested or flat (168) shape; null when absent or malformed.
function hourOfWeek(v) {
  if (!Array.isArray(v)) return null;
  if (v.length === 168 && !Array.isArray(v[0])) return Array.from({ length: 7 }, (_, d) => v.slice(d * 24, d * 24 + 24).map(Number));
  if (v.length === 7 && v.every((r) => Array.isArray(r) && r.length === 24)) return v.map((r) => r.map(Number));
  return null;
}
