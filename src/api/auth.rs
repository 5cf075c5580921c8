//! API tokens: each person or system has its own, with a role and optionally a set of
//! vaults. The config holds only the SHA-256 of a token; a request's bearer token is hashed
//! and compared with every configured hash in constant time.
//!
//! Invariants: a token is never stored, logged or echoed; `Caller` carries the token's
//! name, never the token. Tokens are 256 random bits from the operating system's
//! generator, so a plain SHA-256 (no salt, no stretching) is enough to store them: nobody
//! can guess their way back from the hash.

use std::collections::BTreeSet;

use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a token's holder does, in the words of the practice kvaudit audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// SOC analyst: reads alerts, acknowledges and closes them.
    Analyst,
    /// Workload owner: secret status and the secret list of the vaults granted.
    Owner,
    /// Compliance: exports (start, download, verify); reads what it may, changes nothing.
    Auditor,
    /// Everything, with suppressions and read-only SQL.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Analyst, Role::Owner, Role::Auditor, Role::Admin];
    pub const NAMES: [&'static str; 4] = ["analyst", "owner", "auditor", "admin"];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Owner => "owner",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text.trim().to_ascii_lowercase())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[api.token]]` of the config.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenEntry {
    pub name: String,
    pub role: Role,
    /// Lower-case vault names; `None` for every vault.
    pub vaults: Option<BTreeSet<String>>,
    /// SHA-256 of the token.
    pub sha256: [u8; 32],
}

impl std::fmt::Debug for TokenEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEntry")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("vaults", &self.vaults)
            .finish()
    }
}

/// Who is calling: the token's name, role and vault scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// `None`: every vault.
    pub vaults: Option<BTreeSet<String>>,
}

impl Caller {
    /// Whether the caller may see `vault` (case-insensitive). An alert or object without a
    /// vault is visible to unscoped callers only.
    pub fn sees_vault(&self, vault: Option<&str>) -> bool {
        match (&self.vaults, vault) {
            (None, _) => true,
            (Some(scope), Some(v)) => scope.contains(&v.to_ascii_lowercase()),
            (Some(_), None) => false,
        }
    }
}

/// The prefix of every token: recognisable in a leaked file or a secret scanner's rules.
pub const TOKEN_PREFIX: &str = "kva_";

/// A fresh token: the prefix and 256 bits from the operating system, base64url.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// SHA-256 of a token, as stored in the config.
pub fn token_sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Lower-case hex of a hash.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 64 hex digits as 32 bytes.
pub fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The configured tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    entries: Vec<TokenEntry>,
}

impl Tokens {
    pub fn new(entries: Vec<TokenEntry>) -> Self {
        Tokens { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller a bearer token belongs to. Every entry is compared, matched or not, so
    /// the time taken says nothing about which hash came close.
    pub fn caller(&self, token: &str) -> Option<Caller> {
        let hash = token_sha256(token);
        let mut found = None;
        for entry in &self.entries {
            if constant_time_eq(&hash, &entry.sha256) && found.is_none() {
                found = Some(Caller { name: entry.name.clone(), role: entry.role, vaults: entry.vaults.clone() });
            }
        }
        found
    }
}

/// The lines to paste into `kvaudit.toml` for a new token.
pub fn config_lines(name: &str, role: Role, vaults: &[String], sha256: &[u8; 32]) -> String {
    let mut text = format!("[[api.token]]\nname = {name:?}\nrole = \"{role}\"\n");
    if !vaults.is_empty() {
        let list: Vec<String> = vaults.iter().map(|v| format!("{:?}", v.to_ascii_lowercase())).collect();
        text.push_str(&format!("vaults = [{}]\n", list.join(", ")));
    }
    text.push_str(&format!("sha256 = \"{}\"\n", hex(sha256)));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_found_by_its_hash_only() {
        let token = new_token().unwrap();
        assert!(token.starts_with("kva_") && token.len() == 4 + 43, "{token}");
        assert_ne!(token, new_token().unwrap());
        let entry = TokenEntry {
            name: "alice".into(),
            role: Role::Analyst,
            vaults: Some(["kv-web-prod".to_string()].into()),
            sha256: token_sha256(&token),
        };
        let tokens = Tokens::new(vec![entry.clone()]);
        let caller = tokens.caller(&token).unwrap();
        assert_eq!((caller.name.as_str(), caller.role), ("alice", Role::Analyst));
        assert!(caller.sees_vault(Some("KV-Web-Prod")));
        assert!(!caller.sees_vault(Some("kv-other")));
        assert!(!caller.sees_vault(None));
        assert!(tokens.caller(&format!("{token}x")).is_none());
        assert!(tokens.caller("").is_none());
        assert!(!format!("{entry:?}").contains(&hex(&entry.sha256)));
    }

    #[test]
    fn config_lines_parse_back() {
        let hash = token_sha256("kva_example");
        let lines = config_lines("bob", Role::Owner, &["KV-A".into()], &hash);
        assert!(lines.contains("vaults = [\"kv-a\"]"), "{lines}");
        let text = format!("[[source]]\nfrom = \"logs\"\n{lines}");
        let config = crate::serve::config::ServeConfig::from_toml(&text).unwrap();
        assert_eq!(config.tokens[0].sha256, hash);
        assert_eq!(parse_sha256(&hex(&hash)), Some(hash));
        assert_eq!(parse_sha256("xyz"), None);
    }
}
