//! Reading the JSON the Azure CLI prints for a vault's objects.
//!
//! Accepted: an array of entries (`list`, `list-versions`, `list-deleted`) or one entry
//! (`show`), for secrets (`id`), keys (`kid`, or `key.kid` in `show`) and certificates
//! (`id`). The vault, the object type, the name and the version come from the id
//! (`https://VAULT.vault.azure.net/secrets/NAME[/VERSION]`, any cloud's suffix); dates
//! are RFC 3339 as the CLI prints them (`2026-09-25T16:39:13+00:00`). Unknown keys are
//! ignored. A `value` is never kept (see the module invariant in [`super`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Item;

/// The entries of one file, and how many secret values were dropped from it.
#[derive(Debug, Default)]
pub struct Parsed {
    pub items: Vec<Item>,
    pub values_dropped: usize,
}

/// Parses one file's text. `source` names the file in the items and in errors.
pub fn parse(text: &str, source: &str, imported_at: DateTime<Utc>) -> Result<Parsed, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let entries: Vec<&Value> = match &json {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&json],
        _ => return Err("expected an array of entries or one entry".into()),
    };
    let mut parsed = Parsed::default();
    for (index, entry) in entries.into_iter().enumerate() {
        if entry.get("value").is_some_and(|v| !v.is_null()) {
            parsed.values_dropped += 1;
        }
        let item = item(entry, source, imported_at).map_err(|reason| format!("entry {index}: {reason}"))?;
        parsed.items.push(item);
    }
    Ok(parsed)
}

fn item(entry: &Value, source: &str, imported_at: DateTime<Utc>) -> Result<Item, String> {
    let id = ["id", "kid"]
        .iter()
        .find_map(|k| entry.get(*k).and_then(Value::as_str))
        .or_else(|| entry.pointer("/key/kid").and_then(Value::as_str))
        .ok_or("no `id` or `kid`")?;
    let parts = ObjectId::parse(id).ok_or_else(|| format!("`{id}` is not a Key Vault object id"))?;
    let attributes = entry.get("attributes").unwrap_or(&Value::Null);
    let date = |key: &str| -> Result<Option<DateTime<Utc>>, String> {
        match attributes.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| format!("attributes.{key} `{s}`: {e}")),
            // The REST API (and older CLIs) give Unix seconds.
            Some(Value::Number(n)) => {
                Ok(n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)).map(Some).ok_or("a date out of range")?)
            }
            Some(other) => Err(format!("attributes.{key} is not a date: {other}")),
        }
    };
    let tags: BTreeMap<String, String> = entry
        .get("tags")
        .and_then(Value::as_object)
        .map(|t| {
            t.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))).collect()
        })
        .unwrap_or_default();
    Ok(Item {
        vault: parts.vault,
        object_type: parts.object_type.to_owned(),
        name: parts.name,
        version: parts.version,
        created: date("created")?,
        updated: date("updated")?,
        expires: date("expires")?,
        not_before: match date("notBefore")? {
            Some(t) => Some(t),
            None => date("nbf")?,
        },
        enabled: attributes.get("enabled").and_then(Value::as_bool),
        content_type: entry.get("contentType").and_then(Value::as_str).map(str::to_owned),
        tags,
        managed: entry.get("managed").and_then(Value::as_bool).unwrap_or(false),
        imported_at,
        source: source.to_owned(),
    })
}

/// The parts of `https://VAULT.vault.azure.net/secrets/NAME[/VERSION]`.
#[derive(Debug, PartialEq)]
pub struct ObjectId {
    pub vault: String,
    pub object_type: &'static str,
    pub name: String,
    pub version: Option<String>,
}

impl ObjectId {
    pub fn parse(id: &str) -> Option<ObjectId> {
        let rest = id.split_once("://").map_or(id, |(_, r)| r);
        let mut segments = rest.split('/').filter(|s| !s.is_empty());
        let host = segments.next()?;
        let vault = host.split('.').next().filter(|v| !v.is_empty())?.to_ascii_lowercase();
        let object_type = match segments.next()?.to_ascii_lowercase().as_str() {
            "secrets" => "secret",
            "keys" => "key",
            "certificates" => "certificate",
            _ => return None,
        };
        let name = segments.next()?.to_ascii_lowercase();
        let version = segments.next().map(str::to_owned);
        Some(ObjectId { vault, object_type, name, version })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    #[test]
    fn a_list_as_the_cli_prints_it() {
        let text = r#"[{"attributes": {"created": "2026-09-25T16:39:13+00:00", "enabled": true,
            "expires": "2027-09-25T16:39:13+00:00", "notBefore": null, "recoverableDays": 90,
            "recoveryLevel": "Recoverable", "updated": "2026-09-25T16:39:13+00:00"},
            "contentType": null, "id": "https://KV-Data-Prod.vault.azure.net/secrets/Cosmos-Key",
            "managed": null, "name": "Cosmos-Key", "tags": {"env": "prod"}}]"#;
        let parsed = parse(text, "list.json", at()).unwrap();
        assert_eq!(parsed.values_dropped, 0);
        let item = &parsed.items[0];
        assert_eq!(
            (item.vault.as_str(), item.object_type.as_str(), item.name.as_str()),
            ("kv-data-prod", "secret", "cosmos-key")
        );
        assert_eq!(item.version, None);
        assert_eq!(item.expires.unwrap().to_rfc3339(), "2027-09-25T16:39:13+00:00");
        assert_eq!(item.tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(item.enabled, Some(true));
        assert!(!item.managed);
    }

    #[test]
    fn show_output_keeps_the_version_and_drops_the_value() {
        let text = r#"{"attributes": {"created": "2026-01-02T03:04:05+00:00", "expires": null},
            "id": "https://kv1.vault.usgovcloudapi.net/secrets/db-password/0123abcd", "kid": null,
            "name": "db-password", "value": "hunter2-do-not-store"}"#;
        let parsed = parse(text, "show.json", at()).unwrap();
        assert_eq!(parsed.values_dropped, 1);
        assert_eq!(parsed.items[0].version.as_deref(), Some("0123abcd"));
        assert_eq!(parsed.items[0].expires, None);
        let stored = serde_json::to_string(&parsed.items).unwrap();
        assert!(!stored.contains("hunter2"), "{stored}");
    }

    #[test]
    fn keys_and_unix_dates() {
        let text = r#"[{"kid": "https://kv1.vault.azure.net/keys/signing", "attributes": {"created": 1700000000, "expires": 1800000000}, "managed": true}]"#;
        let item = &parse(text, "keys.json", at()).unwrap().items[0];
        assert_eq!(item.object_type, "key");
        assert_eq!(item.created.unwrap().timestamp(), 1_700_000_000);
        assert!(item.managed);
    }

    #[test]
    fn what_is_not_an_inventory_says_why() {
        assert!(parse("{\"records\": []}", "x", at()).unwrap_err().contains("no `id`"));
        assert!(
            parse("[{\"id\": \"https://example.com/blobs/x\"}]", "x", at()).unwrap_err().contains("not a Key Vault")
        );
        assert!(
            parse(
                "[{\"id\": \"https://kv.vault.azure.net/secrets/a\", \"attributes\": {\"expires\": \"soon\"}}]",
                "x",
                at()
            )
            .unwrap_err()
            .contains("attributes.expires")
        );
        assert!(parse("42", "x", at()).is_err());
    }
}
