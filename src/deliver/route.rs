//! Routes: which channels an alert goes to, by vault (name or glob), minimum severity and
//! kind. An alert goes to every channel of every route it matches, once per channel.

use serde::Deserialize;

use crate::alert::{Alert, AlertKind, Severity};

/// `[[delivery.routes]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Channel names.
    pub channels: Vec<String>,
    /// Vault names or globs (`*` any run of characters, `?` one), case-insensitive. Empty:
    /// every vault, and alerts about several vaults at once.
    #[serde(default)]
    pub vaults: Vec<String>,
    #[serde(default = "lowest")]
    pub min_severity: Severity,
    /// Alert kinds; empty: every kind.
    #[serde(default)]
    pub kinds: Vec<AlertKind>,
}

fn lowest() -> Severity {
    Severity::Low
}

impl Route {
    /// Whether this route takes `alert`.
    pub fn matches(&self, alert: &Alert) -> bool {
        if alert.severity < self.min_severity {
            return false;
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&alert.kind) {
            return false;
        }
        if self.vaults.is_empty() {
            return true;
        }
        // An alert about several vaults names none: only a route for every vault takes it.
        let Some(vault) = alert.vault.as_deref() else { return false };
        let vault = vault.to_ascii_lowercase();
        self.vaults.iter().any(|pattern| glob_match(&pattern.to_ascii_lowercase(), &vault))
    }
}

/// The channels `alert` goes to under `routes`, each once, in the order first named.
pub fn channels_for<'r>(routes: &'r [Route], alert: &Alert) -> Vec<&'r str> {
    let mut channels: Vec<&str> = Vec::new();
    for route in routes.iter().filter(|r| r.matches(alert)) {
        for channel in &route.channels {
            if !channels.contains(&channel.as_str()) {
                channels.push(channel);
            }
        }
    }
    channels
}

/// `*` and `?` wildcards over the whole text (iterative, with one backtrack point: linear
/// enough for vault names).
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::testing::alert;

    #[test]
    fn globs_match_whole_names() {
        for (pattern, text, want) in [
            ("kv-*-prod", "kv-web-prod", true),
            ("kv-*-prod", "kv-web-prod-2", false),
            ("kv-*", "kv-", true),
            ("*", "anything", true),
            ("kv-?-prod", "kv-a-prod", true),
            ("kv-?-prod", "kv-ab-prod", false),
            ("*prod*", "kv-production-x", true),
            ("kv-web-prod", "kv-web-prod", true),
            ("kv-web-prod", "kv-web-pro", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
        ] {
            assert_eq!(glob_match(pattern, text), want, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn routes_select_by_vault_severity_and_kind_and_union_their_channels() {
        let routes: Vec<Route> = toml::from_str::<toml::Table>(
            r#"
            [[r]]
            channels = ["all"]
            [[r]]
            channels = ["prod-high", "all"]
            vaults = ["KV-*-PROD"]
            min_severity = "high"
            [[r]]
            channels = ["retrieval"]
            kinds = ["mass_retrieval"]
            "#,
        )
        .unwrap()["r"]
            .clone()
            .try_into()
            .unwrap();
        let mut a = alert("a1", AlertKind::MassRetrieval, Severity::High, Some("kv-web-prod"));
        assert_eq!(channels_for(&routes, &a), ["all", "prod-high", "retrieval"]);
        a.severity = Severity::Medium;
        assert_eq!(channels_for(&routes, &a), ["all", "retrieval"]);
        a.kind = AlertKind::NewIp;
        a.severity = Severity::High;
        a.vault = Some("kv-web-dev".into());
        assert_eq!(channels_for(&routes, &a), ["all"]);
        // Several vaults at once: only the route for every vault.
        a.vault = None;
        assert_eq!(channels_for(&routes, &a), ["all"]);
    }
}
