//! `kvaudit secret-status` and `kvaudit secrets`: rendering the answers of
//! `kvaudit::status` as text or JSON Lines.

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};
use kvaudit::lake::LakePaths;
use kvaudit::status::{SecretRow, SecretStatus};

use super::config::{SecretStatusConfig, SecretsConfig};

fn day(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "-".into())
}

fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn status(lake: &LakePaths, config: SecretStatusConfig) -> Result<()> {
    let as_of = kvaudit::status::lake_as_of(lake);
    let status = super::runtime()?.block_on(kvaudit::status::status(
        lake,
        (&config.vault, &config.secret),
        config.days,
        as_of,
        &config.policy,
    ))?;
    let mut out = std::io::stdout().lock();
    if config.json {
        writeln!(out, "{}", serde_json::to_string(&status)?)?;
    } else {
        write_status(&mut out, &status)?;
    }
    Ok(())
}

/// The status as a person reads it: verdict and recommendation first, then the facts.
pub fn write_status(out: &mut impl Write, s: &SecretStatus) -> Result<()> {
    writeln!(out, "{}/{} ({}): {}", s.vault, s.secret, s.object_type, s.verdict_text)?;
    writeln!(out, "  recommendation: {}", s.recommendation)?;
    writeln!(
        out,
        "  as of {}; the logs cover {} days of {}; readers over the last {} days",
        minute(s.as_of),
        s.observed_days,
        s.vault,
        s.window_days
    )?;
    match &s.last_read {
        Some(r) => writeln!(
            out,
            "  last successful read: {} by {} ({}, app {}, object {}) from {}, version {}, client {}",
            minute(r.time),
            r.identity_upn.as_deref().or(r.identity_appid.as_deref()).or(r.identity_oid.as_deref()).unwrap_or("-"),
            r.identity_type.as_deref().unwrap_or("unknown"),
            r.identity_appid.as_deref().unwrap_or("-"),
            r.identity_oid.as_deref().unwrap_or("-"),
            r.caller_ip.as_deref().unwrap_or("-"),
            r.version.as_deref().unwrap_or("(not logged)"),
            r.client_info.as_deref().unwrap_or("-"),
        )?,
        None => writeln!(out, "  last successful read: none in the logs")?,
    }
    writeln!(
        out,
        "  inventory: {}; expires {}; current version set {}{}",
        if s.in_inventory { "listed" } else { "not imported" },
        day(s.expires),
        day(s.current_version_set),
        s.age_days.map(|d| format!(" ({d} days old)")).unwrap_or_default(),
    )?;
    writeln!(out, "readers (last {} days): {}", s.window_days, s.readers.len())?;
    if !s.readers.is_empty() {
        writeln!(
            out,
            "  {:<40} {:<18} {:>7} {:>6}  {:<10}  versions / addresses",
            "identity", "type", "reads", "failed", "last read"
        )?;
    }
    for r in &s.readers {
        let name = r.identity_upn.clone().or_else(|| r.identity_appid.clone()).unwrap_or_else(|| r.identity.clone());
        writeln!(
            out,
            "  {:<40} {:<18} {:>7} {:>6}  {:<10}  {} / {}",
            name,
            r.identity_type.as_deref().unwrap_or("unknown"),
            r.reads,
            r.failed,
            day(r.last_read),
            r.versions.iter().map(|v| short(v)).collect::<Vec<_>>().join(","),
            r.addresses.iter().cloned().collect::<Vec<_>>().join(","),
        )?;
    }
    if !s.versions.is_empty() {
        writeln!(out, "versions read:")?;
        for v in &s.versions {
            writeln!(
                out,
                "  {:<34} {:>7} reads by {:>3} readers, last {}{}{}",
                v.version,
                v.reads,
                v.readers,
                day(v.last_read),
                v.set_at.map(|t| format!(", set {}", minute(t))).unwrap_or_default(),
                if v.current { " (current)" } else { "" }
            )?;
        }
    }
    writeln!(out, "failed attempts (last {} days): {}", s.window_days, s.failed_attempts)?;
    for (kind, explanation) in &s.findings {
        writeln!(out, "finding {kind}: {explanation}")?;
    }
    Ok(())
}

fn short(version: &str) -> &str {
    version.get(..8).unwrap_or(version)
}

pub fn list(lake: &LakePaths, config: SecretsConfig) -> Result<()> {
    let as_of = kvaudit::status::lake_as_of(lake);
    let catalog = super::runtime()?.block_on(kvaudit::status::load_catalog(lake, as_of, None))?;
    let rows = kvaudit::status::list(
        &catalog,
        &config.policy,
        config.days,
        config.vault.as_deref(),
        config.state,
        config.object_type,
    );
    let mut out = std::io::stdout().lock();
    if config.json {
        for row in &rows {
            writeln!(out, "{}", serde_json::to_string(row)?)?;
        }
    } else {
        write_rows(&mut out, &rows, config.days)?;
    }
    Ok(())
}

fn write_rows(out: &mut impl Write, rows: &[SecretRow], days: u32) -> Result<()> {
    writeln!(
        out,
        "{:<24} {:<32} {:<8} {:<10} {:>7} {:>7} {:<10} {:>5}  findings",
        "vault",
        "name",
        "state",
        "last read",
        "readers",
        format!("reads{days}d"),
        "expires",
        "age"
    )?;
    for r in rows {
        let findings: Vec<&str> = r.findings.iter().map(|k| k.as_str()).collect();
        writeln!(
            out,
            "{:<24} {:<32} {:<8} {:<10} {:>7} {:>7} {:<10} {:>5}  {}",
            r.vault,
            r.name,
            r.state.as_str(),
            day(r.last_read),
            r.readers,
            r.reads,
            day(r.expires),
            r.age_days.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
            findings.join(", ")
        )?;
    }
    writeln!(out, "{} {}", rows.len(), if rows.len() == 1 { "object" } else { "objects" })?;
    Ok(())
}

fn reader_name(r: &kvaudit::status::secret::Reader) -> String {
    r.identity_upn.clone().or_else(|| r.identity_appid.clone()).unwrap_or_else(|| r.identity.clone())
}

fn joined(set: &std::collections::BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

pub fn rotation_plan(lake: &LakePaths, config: SecretStatusConfig) -> Result<()> {
    let as_of = kvaudit::status::lake_as_of(lake);
    let plan = super::runtime()?.block_on(kvaudit::status::rotation::plan(
        lake,
        (&config.vault, &config.secret),
        config.days,
        as_of,
        &config.policy,
    ))?;
    let mut out = std::io::stdout().lock();
    if config.json {
        writeln!(out, "{}", serde_json::to_string(&plan)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}/{}: {} consumers must pick up a new version (readers of the last {} days); current version {}{}",
        plan.vault,
        plan.secret,
        plan.consumers.len(),
        plan.window_days,
        plan.current_version.as_deref().unwrap_or("(unknown)"),
        plan.current_version_set.map(|t| format!(", set {}", minute(t))).unwrap_or_default()
    )?;
    for c in &plan.consumers {
        let r = &c.reader;
        writeln!(
            out,
            "  {} ({}){}{}\n    last read {} of version {}; versions read: {}\n    networks: {}\n    clients: {}",
            reader_name(r),
            r.identity_type.as_deref().unwrap_or("unknown"),
            if c.on_current_version { "" } else { "  NOT ON THE CURRENT VERSION" },
            if c.missed_last_rotation { "  MISSED THE LAST ROTATION" } else { "" },
            r.last_read.map(minute).unwrap_or_else(|| "-".into()),
            r.last_version.as_deref().unwrap_or("(not logged)"),
            joined(&r.versions),
            joined(&r.addresses),
            joined(&r.clients),
        )?;
    }
    if !plan.people.is_empty() {
        let names: Vec<String> = plan.people.iter().map(reader_name).collect();
        writeln!(out, "people who read it (tell them): {}", names.join(", "))?;
    }
    Ok(())
}

pub fn rotation_check(lake: &LakePaths, (vault, secret): (&str, &str), since: DateTime<Utc>, json: bool) -> Result<()> {
    let as_of = kvaudit::status::lake_as_of(lake);
    let check = super::runtime()?.block_on(kvaudit::status::rotation::check(lake, (vault, secret), since, as_of))?;
    let Some(check) = check else { anyhow::bail!(kvaudit::status::rotation::no_rotation(vault, secret, since)) };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&check)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}/{}: version {} set {}; {} of {} consumers moved, {} pending",
        check.vault,
        check.secret,
        check.new_version,
        minute(check.rotated_at),
        check.moved,
        check.consumers.len(),
        check.pending
    )?;
    for row in &check.consumers {
        writeln!(
            out,
            "  {:<12} {:<40} new-version reads {:>6}, old-version reads {:>6}, last read {} ({})",
            serde_json::to_value(row.progress)?.as_str().unwrap_or_default(),
            reader_name(&row.reader),
            row.new_version_reads,
            row.old_version_reads,
            row.reader.last_read.map(minute).unwrap_or_else(|| "-".into()),
            row.reader.last_version.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}
