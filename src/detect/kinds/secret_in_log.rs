//! `secret_in_log`: credentials that a caller put into what Key Vault logged (a SAS in the
//! request URI, a connection string in its User-Agent, a token echoed in the result), found
//! and redacted at ingest (`record::redact`), reported per vault and caller.
//!
//! The groups come from `queries/detect/secret_in_log.sql` over the window's `records`
//! (every record: a credential in a log is a finding whoever sent it). All groups of one
//! caller in one vault are one alert, so the alert store, which keys findings by kind, vault
//! and identity, merges the hours of a leak seen by successive detection runs into it.
//!
//! Invariant: nothing here ever sees a credential: the lake holds only markers
//! (`[REDACTED:pattern:hash]`), and the alert quotes the lake.

use std::collections::BTreeMap;

use serde_json::json;

use super::{time, when};
use crate::alert::{Alert, AlertKind, AlertState, Evidence, Score, Severity};
use crate::detect::DetectError;
use crate::detect::columns::{integers, micros, strings};
use crate::detect::relations::collect;
use crate::query::QuerySession;

/// Characters of a redacted value quoted in an alert.
const SAMPLE_CHARS: usize = 400;

/// One row of the query: a vault, caller, field and pattern.
#[derive(Debug, Clone)]
struct Group {
    vault: String,
    oid: Option<String>,
    appid: Option<String>,
    upn: Option<String>,
    field: String,
    pattern: String,
    events: i64,
    distinct_values: i64,
    hash: String,
    first: i64,
    last: i64,
    sample: Option<String>,
    evidence: Vec<Evidence>,
}

/// What a pattern is, for a person.
fn describe(pattern: &str) -> &'static str {
    match pattern {
        "sas_signature" => "a storage SAS token (sig=…)",
        "jwt" => "a JSON Web Token (eyJ…)",
        "storage_connection_string" => "a storage account connection string (AccountKey=…)",
        "private_key" => "a PEM private key",
        "bearer_token" => "a bearer token (Authorization: Bearer …)",
        "keyword_secret" => "a secret value (key=/secret=/password=/token=…)",
        _ => "a credential",
    }
}

/// Runs the query over the bound `records` and returns one alert per vault and caller.
pub async fn detect(session: &QuerySession) -> Result<Vec<Alert>, DetectError> {
    let (_, batches) = collect(session, "secret_in_log").await?;
    let mut groups = Vec::new();
    for batch in &batches {
        let text = |name: &str| strings(batch, name);
        let (vault, oid, appid, upn) =
            (text("vault")?, text("identity_oid")?, text("identity_appid")?, text("identity_upn")?);
        let (field, pattern, hash, sample) = (text("field")?, text("pattern")?, text("hash")?, text("sample")?);
        let (events, distinct) = (integers(batch, "events")?, integers(batch, "distinct_values")?);
        let (first, last) = (micros(batch, "first_time")?, micros(batch, "last_time")?);
        let mut evidence = Vec::new();
        for end in ["first", "last"] {
            let col = |c: &str| format!("{end}_{c}");
            evidence.push((
                text(&col("operation"))?,
                text(&col("object"))?,
                integers(batch, &col("status"))?,
                text(&col("ip"))?,
                text(&col("correlation_id"))?,
            ));
        }
        for i in 0..batch.num_rows() {
            let vault = vault[i].clone().unwrap_or_default();
            let times = [first[i].unwrap_or_default(), last[i].unwrap_or_default()];
            let mut samples: Vec<Evidence> = Vec::new();
            for (t, (op, object, status, ip, corr)) in times.iter().zip(&evidence) {
                let e = Evidence {
                    time: time(*t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    operation: op[i].clone().unwrap_or_default(),
                    vault: vault.clone(),
                    object: object[i].clone(),
                    http_status: status[i].and_then(|s| i32::try_from(s).ok()),
                    ip: ip[i].clone(),
                    correlation_id: corr[i].clone(),
                };
                if !samples.contains(&e) {
                    samples.push(e);
                }
            }
            groups.push(Group {
                vault,
                oid: oid[i].clone(),
                appid: appid[i].clone(),
                upn: upn[i].clone(),
                field: field[i].clone().unwrap_or_default(),
                pattern: pattern[i].clone().unwrap_or_default(),
                events: events[i].unwrap_or_default(),
                distinct_values: distinct[i].unwrap_or_default(),
                hash: hash[i].clone().unwrap_or_default(),
                first: times[0],
                last: times[1],
                sample: sample[i].clone().map(|s| s.chars().take(SAMPLE_CHARS).collect()),
                evidence: samples,
            });
        }
    }
    Ok(alerts(groups))
}

/// One alert per vault and caller (object id, else app id), its groups in the explanation.
fn alerts(groups: Vec<Group>) -> Vec<Alert> {
    let mut by_subject: BTreeMap<(String, Option<String>), Vec<Group>> = BTreeMap::new();
    for g in groups {
        let who = g.oid.clone().or_else(|| g.appid.clone());
        by_subject.entry((g.vault.clone(), who)).or_default().push(g);
    }
    let now = chrono::Utc::now();
    by_subject
        .into_values()
        .map(|groups| {
            let g0 = &groups[0];
            let who = g0
                .upn
                .clone()
                .or_else(|| g0.appid.clone())
                .or_else(|| g0.oid.clone())
                .unwrap_or_else(|| "an unauthenticated caller".to_owned());
            let start = groups.iter().map(|g| g.first).min().unwrap_or_default();
            let end = groups.iter().map(|g| g.last).max().unwrap_or_default();
            let total: i64 = groups.iter().map(|g| g.events).sum();
            let parts: Vec<String> = groups
                .iter()
                .map(|g| {
                    let times = if g.events == 1 { "once".to_owned() } else { format!("{} times", g.events) };
                    format!(
                        "{} in {} {times} between {} and {} (hash {})",
                        describe(&g.pattern),
                        g.field,
                        when(g.first),
                        when(g.last),
                        g.hash
                    )
                })
                .collect();
            let explanation = format!(
                "{who}'s requests to {} carried {}; it was redacted in the lake: rotate that credential and fix the client.",
                g0.vault,
                parts.join("; and ")
            );
            let findings: Vec<serde_json::Value> = groups
                .iter()
                .map(|g| {
                    json!({
                        "field": g.field, "pattern": g.pattern, "records": g.events,
                        "distinct_values": g.distinct_values, "hash": g.hash, "redacted_value": g.sample,
                    })
                })
                .collect();
            let mut evidence: Vec<Evidence> = Vec::new();
            for e in groups.iter().flat_map(|g| g.evidence.iter()) {
                if evidence.len() < crate::alert::EVIDENCE_SAMPLE && !evidence.contains(e) {
                    evidence.push(e.clone());
                }
            }
            evidence.sort_by(|a, b| a.time.cmp(&b.time));
            Alert {
                id: String::new(),
                kind: AlertKind::SecretInLog,
                severity: Severity::High,
                vault: Some(g0.vault.clone()),
                identity_oid: g0.oid.clone(),
                identity_appid: g0.appid.clone(),
                identity_upn: groups.iter().find_map(|g| g.upn.clone()),
                object_name: None,
                caller_ip: evidence.iter().find_map(|e| e.ip.clone()),
                window_start: time(start),
                window_end: time(end + 1_000_000),
                observed: json!({"records": total, "findings": findings}),
                baseline: json!({"expected": "no credential in any log record"}),
                score: Score { name: "records_with_credentials".to_owned(), value: total as f64 },
                explanation,
                evidence,
                state: AlertState::Open,
                state_reason: None,
                first_raised: now,
                last_raised: now,
            }
        })
        .collect()
}
