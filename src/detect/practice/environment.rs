//! Which environment a vault belongs to: the `[practice] environments` map, else the
//! parts of its name (`kv-payments-prod`, `kv_data_dev_t01`): a non-production part wins
//! over a production one (`kv-preprod` is not production), and a name with neither is of
//! unknown environment and never counted as either.

use serde::{Deserialize, Serialize};

use super::PracticePolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Environment {
    Production,
    NonProduction,
    Unknown,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::NonProduction => "non-production",
            Environment::Unknown => "unknown",
        }
    }
}

pub(super) fn of(policy: &PracticePolicy, vault: &str) -> Environment {
    if let Some((_, env)) = policy.environments.iter().find(|(v, _)| v.eq_ignore_ascii_case(vault)) {
        return *env;
    }
    let lower = vault.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split(['-', '_', '.']).filter(|p| !p.is_empty()).collect();
    let has = |words: &[String]| parts.iter().any(|p| words.iter().any(|w| w == p));
    if has(&policy.non_production_names) {
        Environment::NonProduction
    } else if has(&policy.production_names) {
        Environment::Production
    } else {
        Environment::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_the_map() {
        let mut policy = PracticePolicy::default();
        let env = |p: &PracticePolicy, v: &str| of(p, v);
        assert_eq!(env(&policy, "kv-payments-prod"), Environment::Production);
        assert_eq!(env(&policy, "kv-payments-prod-t07"), Environment::Production);
        assert_eq!(env(&policy, "kv-data-test"), Environment::NonProduction);
        assert_eq!(env(&policy, "kv-preprod-api"), Environment::NonProduction);
        assert_eq!(env(&policy, "kv_DEV_tools"), Environment::NonProduction);
        assert_eq!(env(&policy, "kv-product-catalog"), Environment::Unknown, "`product` is not `prod`");
        assert_eq!(env(&policy, "corpsecrets"), Environment::Unknown);
        policy.environments.insert("corpsecrets".into(), Environment::Production);
        assert_eq!(env(&policy, "CorpSecrets"), Environment::Production);
    }
}
