//! One Key Vault `AuditEvent` record → one normalized event (a row of the `events` table).
//!
//! The decoder is typed and our own: generic JSON readers infer column types from a sample
//! and reject `durationMs` when it is a string in one record and a number in the next.
//! Here every field the table needs is read leniently ([`lenient::Lenient`]), unknown keys
//! are skipped without allocation, and strings are borrowed from the input when they have
//! no escapes. Records of the common shape are read by a scanner of our own (`fast`) into
//! the same structures; serde reads the rest and is the reference for both.
//!
//! Invariant: [`decode`] either returns an event with a time, an operation and a vault, or
//! a [`RecordError`] saying which of them is missing or why the bytes are not a record. It
//! never panics on any input.

pub mod claims;
mod fast;
pub mod framing;
pub mod lenient;
pub mod redact;
pub mod resource;
pub mod time;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use claims::{Caller, IdentityObject};
use lenient::Lenient;

/// Why a record could not become a row. The text is the quarantine reason.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The bytes are not valid JSON (or not valid UTF-8, which JSON requires).
    #[error("not valid JSON: {0}")]
    InvalidJson(#[from] serde_json::Error),
    /// The bytes are JSON, but not an object (a number, a string, an array).
    #[error("not a JSON object")]
    NotAnObject,
    /// The record has no `time`.
    #[error("record has no `time`")]
    MissingTime,
    /// `time` is present but not an RFC 3339 timestamp.
    #[error("`time` is not an RFC 3339 timestamp: {0:?}")]
    BadTime(String),
    /// The record has no `operationName`.
    #[error("record has no `operationName`")]
    MissingOperation,
    /// Neither `resourceId` nor `properties.id` names a vault or Managed HSM.
    #[error("no vault in `resourceId` ({0:?}) nor in `properties.id`")]
    MissingVault(String),
}

#[derive(Debug, Default, PartialEq, Deserialize)]
struct Properties<'a> {
    #[serde(borrow, default)]
    id: Lenient<'a>,
    #[serde(borrow, default, rename = "clientInfo")]
    client_info: Lenient<'a>,
    #[serde(borrow, default, rename = "httpStatusCode")]
    http_status_code: Lenient<'a>,
    #[serde(borrow, default, rename = "requestUri")]
    request_uri: Lenient<'a>,
    #[serde(borrow, default, rename = "isAccessPolicyMatch")]
    is_access_policy_match: Lenient<'a>,
    #[serde(borrow, default, rename = "isRbacAuthorized")]
    is_rbac_authorized: Lenient<'a>,
    #[serde(borrow, default, rename = "tlsVersion")]
    tls_version: Lenient<'a>,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
struct SourceRecord<'a> {
    #[serde(borrow, default)]
    time: Lenient<'a>,
    #[serde(borrow, default, rename = "resourceId")]
    resource_id: Lenient<'a>,
    #[serde(borrow, default, rename = "operationName")]
    operation_name: Lenient<'a>,
    #[serde(borrow, default, rename = "operationVersion")]
    operation_version: Lenient<'a>,
    #[serde(borrow, default, rename = "resultType")]
    result_type: Lenient<'a>,
    #[serde(borrow, default, rename = "resultSignature")]
    result_signature: Lenient<'a>,
    #[serde(borrow, default, rename = "resultDescription")]
    result_description: Lenient<'a>,
    #[serde(borrow, default, rename = "durationMs")]
    duration_ms: Lenient<'a>,
    #[serde(borrow, default, rename = "callerIpAddress")]
    caller_ip_address: Lenient<'a>,
    #[serde(borrow, default, rename = "correlationId")]
    correlation_id: Lenient<'a>,
    #[serde(borrow, default)]
    identity: IdentityField<'a>,
    #[serde(borrow, default)]
    properties: Option<Properties<'a>>,
}

/// `identity` as an object, as a JSON string holding that object (Managed HSM), or absent.
#[derive(Debug, Default, PartialEq)]
struct IdentityField<'a>(Option<Caller<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for IdentityField<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = IdentityField<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an identity object or a JSON string holding one")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let identity = IdentityObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(IdentityField(identity.claim.map(|c| c.caller())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                // A string that does not hold an identity object is not fatal: the record
                // still says what was done to which vault; the caller is just unknown.
                Ok(IdentityField(
                    serde_json::from_str::<IdentityObject>(v)
                        .ok()
                        .and_then(|i| i.claim.map(|c| c.caller().into_owned())),
                ))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(IdentityField(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(IdentityField(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(IdentityField(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(IdentityField(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(IdentityField(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(IdentityField(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(IdentityField(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A normalized event, borrowing from the record's bytes where it can.
/// Field meanings are the `events` table's (see `lake::schema`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    pub time_us: i64,
    /// Shared with the other records of the same `resourceId` (see [`Decoder`]).
    pub vault: Arc<str>,
    pub subscription_id: Option<Arc<str>>,
    pub resource_group: Option<Arc<str>>,
    pub resource_type: &'static str,
    pub operation: Cow<'a, str>,
    pub operation_version: Option<Cow<'a, str>>,
    pub object_type: Option<&'static str>,
    pub object_name: Option<Cow<'a, str>>,
    pub object_version: Option<Cow<'a, str>>,
    pub http_status: Option<i32>,
    pub result_signature: Option<Cow<'a, str>>,
    pub result_type: Option<Cow<'a, str>>,
    pub result_description: Option<Cow<'a, str>>,
    pub duration_ms: Option<i64>,
    pub caller_ip: Option<Cow<'a, str>>,
    pub caller: Caller<'a>,
    pub client_info: Option<Cow<'a, str>>,
    pub request_uri: Option<Cow<'a, str>>,
    pub correlation_id: Option<Cow<'a, str>>,
    pub tls_version: Option<Cow<'a, str>>,
    pub is_access_policy_match: Option<bool>,
    pub is_rbac_authorized: Option<bool>,
    /// The record as it was in the source, with any credential found in it replaced by
    /// its marker (see [`redact`]).
    pub raw: &'a str,
    /// The redactions made in the record (`field:pattern:hash;…`), set by the caller that
    /// redacted it; `None` when none.
    pub redactions: Option<String>,
}

/// What `properties.id` names, its text borrowed from the record unless the id had escapes
/// (copying name and version cost two allocations per record).
#[derive(Default)]
struct ObjectText<'a> {
    vault: Option<Cow<'a, str>>,
    object_type: Option<&'static str>,
    name: Option<Cow<'a, str>>,
    version: Option<Cow<'a, str>>,
}

impl<'a> ObjectText<'a> {
    fn of(id: Option<Cow<'a, str>>) -> Self {
        match id {
            None => ObjectText::default(),
            Some(Cow::Borrowed(id)) => {
                let o = resource::parse_object_id(id);
                let text = |v: Option<&'a str>| v.map(Cow::Borrowed);
                ObjectText {
                    vault: text(o.vault),
                    object_type: o.object_type,
                    name: text(o.name),
                    version: text(o.version),
                }
            }
            Some(Cow::Owned(id)) => {
                let o = resource::parse_object_id(&id);
                let text = |v: Option<&str>| v.map(|v| Cow::Owned(v.to_owned()));
                ObjectText {
                    vault: text(o.vault),
                    object_type: o.object_type,
                    name: text(o.name),
                    version: text(o.version),
                }
            }
        }
    }
}

/// Moves a field's text out of the record: free when it was borrowed from the input.
fn text(v: Lenient<'_>) -> Option<Cow<'_, str>> {
    v.0
}

/// Decodes one record (the bytes of one JSON object) into an event.
///
/// For many records, a [`Decoder`] is cheaper: it parses a repeated `resourceId` once.
pub fn decode(raw: &[u8]) -> Result<Event<'_>, RecordError> {
    Decoder::default().decode(raw)
}

/// Decodes records one after another, remembering what the last `resourceId` said (the
/// records of one blob all name the same vault).
#[derive(Debug, Default)]
pub struct Decoder {
    resources: resource::ResourceCache,
}

impl Decoder {
    /// Decodes one record (the bytes of one JSON object) into an event.
    pub fn decode<'a>(&mut self, raw: &'a [u8]) -> Result<Event<'a>, RecordError> {
        // serde would read a struct from an array too; a record is an object.
        // One UTF-8 check of the whole record: serde then reads a `str`, which it does not
        // check string by string again, and the `raw` column takes it as it is (it used to be
        // checked twice over). Bytes that are not UTF-8 are not JSON either: serde says where.
        let Ok(raw) = std::str::from_utf8(raw) else {
            return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(raw) {
                Err(e) => RecordError::InvalidJson(e),
                Ok(_) => RecordError::InvalidJson(serde::de::Error::custom("invalid UTF-8")),
            });
        };
        if raw.bytes().find(|b| !b.is_ascii_whitespace()) != Some(b'{') {
            serde_json::from_str::<serde::de::IgnoredAny>(raw)?;
            return Err(RecordError::NotAnObject);
        }
        // The common shape without serde; anything else (and every error) through serde.
        let mut record = SourceRecord::default();
        if fast::parse_into(raw, &mut record).is_none() {
            record = serde_json::from_str(raw)?;
        }
        let time_text = record.time.as_str().ok_or(RecordError::MissingTime)?;
        let time_us =
            time::parse_micros(time_text).ok_or_else(|| RecordError::BadTime(time_text.chars().take(64).collect()))?;
        let operation =
            record.operation_name.0.take().filter(|o| !o.is_empty()).ok_or(RecordError::MissingOperation)?;
        let mut properties = record.properties.unwrap_or_default();
        let object = ObjectText::of(properties.id.0.take());
        let resource = record.resource_id.as_str().and_then(|id| self.resources.parse(id));
        let (vault, subscription_id, resource_group, resource_type) = match resource {
            Some(r) => (r.name, r.subscription_id, r.resource_group, r.resource_type),
            None => match &object.vault {
                // Records forwarded without `resourceId` still name their vault in the URL.
                Some(v) => (v.to_ascii_lowercase().into(), None, None, "vault"),
                None => {
                    return Err(RecordError::MissingVault(
                        record.resource_id.as_str().unwrap_or("").chars().take(200).collect(),
                    ));
                }
            },
        };
        Ok(Event {
            time_us,
            vault,
            subscription_id,
            resource_group,
            resource_type,
            operation,
            operation_version: text(record.operation_version),
            object_type: object.object_type,
            object_name: object.name,
            object_version: object.version,
            http_status: properties.http_status_code.as_i64().and_then(|v| i32::try_from(v).ok()),
            result_signature: text(record.result_signature),
            result_type: text(record.result_type),
            result_description: text(record.result_description),
            duration_ms: record.duration_ms.as_i64(),
            caller_ip: text(record.caller_ip_address),
            caller: record.identity.0.unwrap_or_default(),
            client_info: text(properties.client_info),
            request_uri: text(properties.request_uri),
            correlation_id: text(record.correlation_id),
            tls_version: text(properties.tls_version),
            is_access_policy_match: properties.is_access_policy_match.as_bool(),
            is_rbac_authorized: properties.is_rbac_authorized.as_bool(),
            raw,
            redactions: None,
        })
    }
}

/// The real fixtures' records and a generated day's (at a small scale), one string each:
/// the inputs of the tests that compare two ways of reading a record.
#[cfg(test)]
pub(crate) fn sample_records() -> Vec<String> {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/keyvault-real");
    let mut records = Vec::new();
    for name in ["docs-example.jsonl", "lab-2022.jsonl", "sekoia-2024.jsonl"] {
        let text = std::fs::read_to_string(fixtures.join(name)).unwrap();
        records.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned));
    }
    let out = tempfile::tempdir().unwrap();
    let options =
        crate::generate::GenerateOptions { out: out.path().to_owned(), days: 1, scale: 0.05, ..Default::default() };
    crate::generate::generate(&options).unwrap();
    let mut blobs = vec![out.path().to_owned()];
    while let Some(dir) = blobs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                blobs.push(path);
            } else if path.ends_with("PT1H.json") {
                let text = std::fs::read_to_string(&path).unwrap();
                records.extend(text.lines().map(str::to_owned));
            }
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_strings_or_numbers() {
        let base = r#"{"time":"2024-04-03T14:03:10Z","operationName":"SecretGet","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/V","durationMs":DUR}"#;
        for (dur, want) in [("\"575\"", Some(575)), ("575", Some(575)), ("null", None), ("{}", None)] {
            let text = base.replace("DUR", dur);
            assert_eq!(decode(text.as_bytes()).unwrap().duration_ms, want, "{dur}");
        }
    }

    #[test]
    fn identity_as_json_string_is_decoded() {
        let text = r#"{"time":"2024-04-03T14:03:10Z","operationName":"KeyGet","resourceId":"/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/managedHSMs/H1","identity":"{\"claim\":{\"oid\":\"o9\",\"appid\":\"a9\",\"appidacr\":\"2\"}}","durationMs":12}"#;
        let e = decode(text.as_bytes()).unwrap();
        assert_eq!((&*e.vault, e.resource_type), ("h1", "managed_hsm"));
        assert_eq!(e.caller.oid.as_deref(), Some("o9"));
        assert_eq!(e.caller.identity_type, "service_principal");
    }

    #[test]
    fn missing_fields_are_named() {
        assert!(matches!(decode(br#"{"operationName":"X"}"#), Err(RecordError::MissingTime)));
        assert!(matches!(decode(br#"{"time":"2024-01-01T00:00:00Z"}"#), Err(RecordError::MissingOperation)));
        assert!(matches!(
            decode(br#"{"time":"2024-01-01T00:00:00Z","operationName":"X"}"#),
            Err(RecordError::MissingVault(_))
        ));
        assert!(matches!(decode(b"\xff\xfe{}"), Err(RecordError::InvalidJson(_))));
        assert!(matches!(decode(br#"[1,2]"#), Err(RecordError::NotAnObject)));
        assert!(matches!(decode(b"[1,"), Err(RecordError::InvalidJson(_))));
    }
}
