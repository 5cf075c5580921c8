//! Who may call what: the role × endpoint matrix, in one table.
//!
//! [`ENDPOINTS`] lists every authenticated endpoint with the [`Action`] it performs; the
//! router is built from this table (each route guarded by its action), and README's matrix
//! is rendered from it ([`matrix_markdown`], checked by a test), so the documentation, the
//! routes and the enforcement cannot drift apart. Vault scoping is applied by the handlers,
//! on top of the role: a scoped token sees only alerts, secrets, exports and activity of
//! its vaults.

use axum::routing::{MethodRouter, get, post};

use super::AppState;
use super::auth::Role;

/// What an endpoint does, as far as permission goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Who am I (any valid token).
    Whoami,
    /// The dashboard's overview; each role sees its parts of it.
    Overview,
    /// List and read alerts.
    AlertsRead,
    /// Acknowledge and close alerts.
    AlertsChange,
    /// Suppress an alert for a while, with a reason.
    AlertsSuppress,
    /// An identity's baselines.
    Baselines,
    /// Secret list and secret status.
    SecretsRead,
    /// Start an export.
    ExportsStart,
    /// An export's manifest and files.
    ExportsRead,
    /// Verify an export against its manifest.
    ExportsVerify,
    /// Read-only SQL over the lake.
    Query,
}

/// Whether `role` may perform `action`: the whole policy.
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Admin => true,
        Role::Analyst => matches!(action, Whoami | Overview | AlertsRead | AlertsChange | Baselines),
        Role::Owner => matches!(action, Whoami | Overview | SecretsRead),
        Role::Auditor => matches!(
            action,
            Whoami | Overview | AlertsRead | Baselines | SecretsRead | ExportsStart | ExportsRead | ExportsVerify
        ),
    }
}

/// One authenticated endpoint.
pub struct Endpoint {
    pub method: &'static str,
    /// The route, in axum's syntax (`{id}`, `{*name}`).
    pub path: &'static str,
    pub action: Action,
    /// Builds the method router of the route.
    pub handler: fn() -> MethodRouter<AppState>,
}

/// Every authenticated endpoint. `/healthz`, `/metrics` and the dashboard's static files
/// need no token.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint { method: "GET", path: "/api/whoami", action: Action::Whoami, handler: || get(super::whoami) },
    Endpoint { method: "GET", path: "/api/overview", action: Action::Overview, handler: || get(super::overview::get) },
    Endpoint { method: "GET", path: "/api/alerts", action: Action::AlertsRead, handler: || get(super::alerts::list) },
    Endpoint {
        method: "GET",
        path: "/api/alerts/{id}",
        action: Action::AlertsRead,
        handler: || get(super::alerts::one),
    },
    Endpoint {
        method: "POST",
        path: "/api/alerts/{id}/acknowledge",
        action: Action::AlertsChange,
        handler: || post(super::alerts::acknowledge),
    },
    Endpoint {
        method: "POST",
        path: "/api/alerts/{id}/close",
        action: Action::AlertsChange,
        handler: || post(super::alerts::close),
    },
    Endpoint {
        method: "POST",
        path: "/api/alerts/{id}/suppress",
        action: Action::AlertsSuppress,
        handler: || post(super::alerts::suppress),
    },
    Endpoint {
        method: "GET",
        path: "/api/deliveries",
        action: Action::AlertsRead,
        handler: || get(super::deliveries::list),
    },
    Endpoint {
        method: "GET",
        path: "/api/identities/{oid}/baseline",
        action: Action::Baselines,
        handler: || get(super::baseline::get),
    },
    Endpoint {
        method: "GET",
        path: "/api/secrets",
        action: Action::SecretsRead,
        handler: || get(super::secrets::list),
    },
    Endpoint {
        method: "GET",
        path: "/api/secrets/{vault}/{secret}",
        action: Action::SecretsRead,
        handler: || get(super::secrets::status),
    },
    Endpoint {
        method: "GET",
        path: "/api/secrets/{vault}/{secret}/rotation-plan",
        action: Action::SecretsRead,
        handler: || get(super::secrets::rotation_plan),
    },
    Endpoint {
        method: "GET",
        path: "/api/secrets/{vault}/{secret}/rotation-check",
        action: Action::SecretsRead,
        handler: || get(super::secrets::rotation_check),
    },
    Endpoint {
        method: "GET",
        path: "/api/exports",
        action: Action::ExportsRead,
        handler: || get(super::exports::list),
    },
    Endpoint {
        method: "POST",
        path: "/api/exports",
        action: Action::ExportsStart,
        handler: || post(super::exports::start),
    },
    Endpoint {
        method: "GET",
        path: "/api/exports/{id}",
        action: Action::ExportsRead,
        handler: || get(super::exports::one),
    },
    Endpoint {
        method: "GET",
        path: "/api/exports/{id}/files/{*name}",
        action: Action::ExportsRead,
        handler: || get(super::exports::file),
    },
    Endpoint {
        method: "POST",
        path: "/api/exports/{id}/verify",
        action: Action::ExportsVerify,
        handler: || post(super::exports::verify),
    },
    Endpoint { method: "POST", path: "/api/query", action: Action::Query, handler: || post(super::query::run) },
];

/// The matrix as README shows it: one row per endpoint, one column per role.
pub fn matrix_markdown() -> String {
    let mut text = String::from("| endpoint |");
    for role in Role::ALL {
        text.push_str(&format!(" {role} |"));
    }
    text.push_str("\n|---|");
    text.push_str(&"---|".repeat(Role::ALL.len()));
    text.push('\n');
    for endpoint in ENDPOINTS {
        text.push_str(&format!("| `{} {}` |", endpoint.method, endpoint.path));
        for role in Role::ALL {
            text.push_str(if allows(role, endpoint.action) { " yes |" } else { " — |" });
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_shows_the_matrix_the_code_enforces() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let matrix = matrix_markdown();
        assert!(
            readme.contains(&matrix),
            "README.md's role × endpoint matrix differs from the code's; paste this into README.md:\n{matrix}"
        );
    }

    #[test]
    fn each_route_and_method_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for e in ENDPOINTS {
            assert!(seen.insert((e.method, e.path)), "{} {} is listed twice", e.method, e.path);
        }
    }
}
