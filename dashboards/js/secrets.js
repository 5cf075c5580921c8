// Secrets: every secret with its lifecycle states (filtered by vault and state), and one
// secret's status (verdict, readers, versions, findings) from `/api/secrets/{vault}/{secret}`.

import { api, query, seg } from "./api.js";
import { h, on, note, replace, facts, table, fmtNumber, fmtTime, fmtDate, identityLabel, cssToken, unavailable } from "./dom.js";

const STATES = ["in-use", "idle", "unread", "stale", "expired", "near-expiry", "past-max-age", "no-expiry", "old-version", "deleted"];
// States that need an owner's attention, shown in warning colours.
const ATTENTION = new Set(["expired", "near-expiry", "stale", "past-max-age", "old-version"]);

const filters = { vault: "", state: "" };

export async function renderList(root) {
  const stateSel = h("select", { name: "state", "aria-label": "state" }, h("option", { value: "" }, "any state"),
    STATES.map((st) => h("option", { value: st, selected: filters.state === st }, st)));
  const vaultIn = h("input", { name: "vault", placeholder: "vault", value: filters.vault, "aria-label": "vault", size: 14 });
  const form = h("form", { class: "filters", id: "secret-filters" }, vaultIn, stateSel, h("button", { type: "submit" }, "Filter"));
  on(stateSel, "change", () => form.requestSubmit());
  on(form, "submit", (ev) => {
    ev.preventDefault();
    filters.vault = vaultIn.value.trim().toLowerCase();
    filters.state = stateSel.value;
    renderList(root);
  });
  let data;
  try {
    data = await api(`/api/secrets${query(filters)}`);
  } catch (e) {
    replace(root, h("h2", {}, "Secrets"), unavailable(e));
    return;
  }
  const rows = (Array.isArray(data) ? data : data.secrets) || [];
  const list = rows.length
    ? table(
        ["Vault", "Secret", "Type", "States", "Last read", "Readers", "Reads", "Versions read", "Expires", "Age (days)"],
        rows.map((r) => [
          r.vault,
          h("a", { href: `#secret/${encodeURIComponent(r.vault)}/${encodeURIComponent(r.name)}`, class: "secret-link" }, r.name),
          r.object_type,
          h("span", { class: "states" }, (r.states || [r.state]).map((st) => stateBadge(st))),
          fmtTime(r.last_read),
          fmtNumber(r.readers),
          fmtNumber(r.reads),
          fmtNumber(r.versions_read),
          fmtDate(r.expires),
          r.age_days ?? "–",
        ]),
        { id: "secrets-table", class: "grid clickable", rowAttrs: (i) => ({ "data-vault": rows[i].vault, "data-secret": rows[i].name, "data-state": cssToken(rows[i].state) }) },
      )
    : note("No secret matches these filters.");
  if (rows.length) {
    on(list, "click", (ev) => {
      const tr = ev.target.closest("tr[data-secret]");
      if (tr && !ev.target.closest("a")) location.hash = `#secret/${encodeURIComponent(tr.dataset.vault)}/${encodeURIComponent(tr.dataset.secret)}`;
    });
  }
  replace(
    root,
    h("div", { class: "view-head" }, h("h2", {}, "Secrets"), h("span", { class: "muted", id: "secrets-count" }, `${rows.length} shown`)),
    form,
    h("section", { class: "card wide" }, list),
  );
}

function stateBadge(st) {
  const k = String(st).replaceAll("_", "-");
  return h("span", { class: `badge st-${cssToken(k)}${ATTENTION.has(k) ? " attention" : ""}` }, k);
}

export async function renderDetail(root, vault, secret) {
  const back = h("a", { href: "#secrets", class: "back" }, "← All secrets");
  let st;
  try {
    st = await api(`/api/secrets/${seg(vault)}/${seg(secret)}${query({ days: 30 })}`);
  } catch (e) {
    replace(root, back, h("h2", {}, `${vault}/${secret}`), unavailable(e));
    return;
  }
  const readers = st.readers || [];
  const versions = st.versions || [];
  const findings = st.findings || [];
  replace(
    root,
    back,
    h("article", { id: "secret-detail", "data-vault": st.vault, "data-secret": st.secret, "data-verdict": cssToken(st.verdict) },
      h("div", { class: "view-head" }, h("h2", {}, `${st.vault}/${st.secret}`), stateBadge(st.verdict || "unknown")),
      h("p", { class: "lead verdict" }, st.verdict_text || ""),
      st.recommendation ? h("p", { class: "recommendation" }, st.recommendation) : null,
      h("div", { class: "cards" },
        h("section", { class: "card" }, h("h3", {}, "Status"), facts([
          ["Type", st.object_type],
          ["As of", fmtTime(st.as_of)],
          ["Window", `${st.window_days ?? "–"} days (logs cover ${st.observed_days ?? "–"})`],
          ["Last read", st.last_read ? `${fmtTime(st.last_read.time)} by ${identityLabel(st.last_read)}` : "never"],
          ["Failed attempts", fmtNumber(st.failed_attempts)],
          ["Expires", fmtDate(st.expires)],
          ["Current version set", fmtTime(st.current_version_set)],
          ["Age", st.age_days === null || st.age_days === undefined ? "–" : `${st.age_days} days`],
          ["In inventory", st.in_inventory ? "yes" : "no"],
        ])),
        h("section", { class: "card", id: "findings" }, h("h3", {}, `Findings · ${findings.length}`), findings.length
          ? h("ul", { class: "findings" }, findings.map((f) => {
              const [kind, text] = Array.isArray(f) ? f : [f.kind, f.text || f.explanation];
              return h("li", {}, h("strong", {}, String(kind).replaceAll("_", " ")), " — ", text);
            }))
          : note("No lifecycle finding holds."))),
      h("section", { class: "card wide", id: "readers" }, h("h3", {}, `Readers · ${readers.length}`), readers.length
        ? table(["Identity", "Type", "Reads", "Failed", "Last read", "Last version", "Addresses"],
            readers.map((r) => [h("span", { class: "identity" }, r.identity_upn || r.identity), r.identity_type, fmtNumber(r.reads), fmtNumber(r.failed), fmtTime(r.last_read), shortVersion(r.last_version), (r.addresses || []).join(", ")]),
            { class: "grid", id: "readers-table" })
        : note("Nobody read it in the window.")),
      h("section", { class: "card wide", id: "versions" }, h("h3", {}, `Versions · ${versions.length}`), versions.length
        ? table(["Version", "Current", "Reads", "Readers", "Last read", "Set at"],
            versions.map((v) => [h("code", {}, shortVersion(v.version)), v.current ? "current" : "", fmtNumber(v.reads), fmtNumber(v.readers), fmtTime(v.last_read), fmtTime(v.set_at)]),
            { class: "grid", id: "versions-table" })
        : note("No version read in the window.")),
    ),
  );
}

function shortVersion(v) {
  return v ? String(v).slice(0, 12) : "–";
}
