// The dashboard's entry point: sign-in with an API token, the navigation, and the router
// (`#overview`, `#alerts`, `#alert/ID`, `#identities`, `#identity/OID`, `#secrets`,
// `#secret/VAULT/NAME`). The page is static; everything shown comes from the API with the
// user's token.
//
// For tests and scripts, <body> says what it shows: `data-view` is the current view and
// `data-ready="1"` is set once that view's API calls have finished and it is drawn.

import { api, token, setToken, clearToken, query, ApiError } from "./api.js";
import { h, on, replace, note } from "./dom.js";
import { session } from "./session.js";
import * as overview from "./overview.js";
import * as alerts from "./alerts.js";
import * as identities from "./identities.js";
import * as secrets from "./secrets.js";

const NAV = [
  ["overview", "Overview"],
  ["alerts", "Alerts"],
  ["identities", "Identities"],
  ["secrets", "Secrets"],
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

// A `#token=...` fragment (the demo prints such a link) fills in the token, then leaves the
// address bar and the history, so the token is not left in a bookmark or a shared URL. The
// fragment never reaches the server.
function takeTokenFromFragment() {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, "", `${location.pathname}#overview`);
}

function setBusy(view, ready) {
  document.body.dataset.view = view;
  document.body.dataset.ready = ready ? "1" : "0";
}

function showSignIn(message) {
  clearToken();
  session.role = null;
  replace(nav);
  replace(who);
  const input = h("input", { type: "password", id: "token-input", name: "token", autocomplete: "off", placeholder: "kva_…", size: 48, "aria-label": "API token", required: true });
  const form = h("form", { id: "signin", class: "card signin" },
    h("h2", {}, "Sign in"),
    h("p", {}, "Paste your kvaudit API token. It stays in this browser tab only (session storage) and is sent to the API as a Bearer header."),
    h("p", { class: "muted" }, "An administrator creates one with ", h("code", {}, "kvaudit token new --role analyst --name you"), "."),
    message ? note(message, "note error") : null,
    h("div", { class: "actions" }, input, h("button", { type: "submit" }, "Sign in")));
  on(form, "submit", (ev) => {
    ev.preventDefault();
    setToken(input.value);
    start();
  });
  replace(main, form);
  setBusy("signin", true);
  input.focus();
}

// Which views this token may open: the API answers a cheap call per view; a 403 hides it.
async function probe() {
  const allowed = async (path) => {
    try {
      await api(path);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.forbidden) return false;
      return true; // Other failures show in the view itself.
    }
  };
  const [a, sct] = await Promise.all([allowed(`/api/alerts${query({ state: "open", limit: 1 })}`), allowed("/api/secrets")]);
  session.can = { overview: true, alerts: a, identities: a, secrets: sct };
}

async function start() {
  if (!token()) return showSignIn();
  setBusy("signin", false);
  try {
    const me = await api("/api/whoami");
    Object.assign(session, { name: me.name, role: me.role, vaults: me.vaults });
  } catch (e) {
    return showSignIn(e.unauthorized ? "This token was refused (wrong, revoked or expired)." : `Could not reach the service: ${e.message}`);
  }
  await probe();
  const signOut = on(h("button", { type: "button", id: "signout", class: "link" }, "Sign out"), "click", () => {
    showSignIn();
    history.replaceState(null, "", location.pathname);
  });
  replace(who,
    h("span", { id: "who-name" }, session.name),
    h("span", { class: "badge role", id: "who-role" }, session.role),
    session.vaults ? h("span", { class: "muted" }, `vaults: ${session.vaults.join(", ")}`) : null,
    signOut);
  replace(nav, NAV.filter(([v]) => session.can[v]).map(([v, label]) => h("a", { href: `#${v}`, "data-nav": v }, label)),
    on(h("button", { type: "button", class: "link", id: "refresh" }, "Refresh"), "click", route));
  if (!location.hash || location.hash === "#") history.replaceState(null, "", `${location.pathname}#overview`);
  route();
}

let routing = 0;

async function route() {
  if (!session.role) return;
  const seq = ++routing;
  const [name, ...rest] = location.hash.replace(/^#/, "").split("/");
  const args = rest.map((p) => decodeURIComponent(p));
  const views = {
    overview: () => overview.render(main),
    alerts: () => alerts.renderList(main),
    alert: () => alerts.renderDetail(main, args[0]),
    identities: () => identities.renderList(main),
    identity: () => identities.renderDetail(main, args[0]),
    secrets: () => secrets.renderList(main),
    secret: () => secrets.renderDetail(main, args[0], args.slice(1).join("/")),
  };
  const view = views[name] ? name : "overview";
  const section = { alert: "alerts", identity: "identities", secret: "secrets" }[view] || view;
  for (const a of nav.querySelectorAll("a[data-nav]")) a.classList.toggle("active", a.dataset.nav === section);
  setBusy(view, false);
  if (!session.can[section]) {
    replace(main, h("h2", {}, section), note("Not available to your role.", "note unavailable"));
  } else {
    replace(main, note("Loading…", "note loading"));
    try {
      await views[view]();
    } catch (e) {
      replace(main, note(`This view failed: ${e.message}`, "note error"));
    }
  }
  // A newer navigation started meanwhile: it sets the flag when it is done.
  if (seq === routing) setBusy(view, true);
}

window.addEventListener("hashchange", route);
window.addEventListener("kvaudit:unauthorized", () => showSignIn("Your token was refused: sign in again."));
takeTokenFromFragment();
start();
