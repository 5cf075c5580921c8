// Who is signed in (`/api/whoami`) and which views their role can open, learned from the
// API itself (a probe answering 403 hides the view) rather than from a copy of the
// server's role table.

export const session = {
  name: null,
  role: null,
  vaults: null,
  // View name → whether the API lets this token use it.
  can: { overview: true, alerts: true, identities: true, secrets: true },
};
