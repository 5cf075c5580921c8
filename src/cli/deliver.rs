//! `kvaudit deliver`: one delivery run, the delivery status, or the channels' health check.

use std::io::Write;

use anyhow::{Result, bail};
use kvaudit::deliver::{Delivery, DeliveryStatus, RunReport, status};
use kvaudit::lake::LakePaths;

use super::config::DeliverConfig;

pub fn run(lake: &LakePaths, config: DeliverConfig) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match config {
        DeliverConfig::Run { delivery, flush, json } => {
            let report = super::runtime()?.block_on(async {
                let delivery = Delivery::open(lake, &delivery)?;
                delivery.run(chrono::Utc::now(), flush).await
            })?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&report)?)?;
            } else {
                write_report(&mut out, &report)?;
            }
        }
        DeliverConfig::Status { alert, json } => {
            let mut rows = status::status(lake)?;
            if let Some(id) = &alert {
                rows.retain(|r| &r.alert_id == id);
                if rows.is_empty() {
                    bail!("alert {id} has no delivery entry (not routed to any channel, or not delivered yet)");
                }
            }
            if json {
                for row in &rows {
                    writeln!(out, "{}", serde_json::to_string(row)?)?;
                }
            } else {
                write_status(&mut out, &rows)?;
            }
        }
        DeliverConfig::Check { delivery, json } => {
            let checks = super::runtime()?.block_on(async {
                let delivery = Delivery::open(lake, &delivery)?;
                Ok::<_, anyhow::Error>(delivery.check().await)
            })?;
            for check in &checks {
                if json {
                    writeln!(out, "{}", serde_json::to_string(check)?)?;
                } else {
                    let verdict = if check.ok { "ok".to_owned() } else { format!("FAILED: {}", check.detail) };
                    writeln!(out, "{:<16} {:<32} {verdict}", check.target, check.endpoint)?;
                }
            }
            let failed: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.target.as_str()).collect();
            if !failed.is_empty() {
                bail!("not reachable: {}", failed.join(", "));
            }
        }
    }
    Ok(())
}

fn write_report(out: &mut impl Write, report: &RunReport) -> Result<()> {
    writeln!(out, "{} new outbox entries, {} cancelled", report.enqueued, report.cancelled)?;
    writeln!(
        out,
        "{:<20} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "channel", "delivered", "retrying", "given up", "deferred", "waiting", "messages"
    )?;
    for c in &report.channels {
        writeln!(
            out,
            "{:<20} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8}",
            c.channel, c.delivered, c.retrying, c.given_up, c.deferred, c.waiting, c.messages
        )?;
        if let Some(error) = &c.last_error {
            writeln!(out, "    last error: {error}")?;
        }
    }
    Ok(())
}

fn write_status(out: &mut impl Write, rows: &[DeliveryStatus]) -> Result<()> {
    writeln!(
        out,
        "{:<16}  {:<14}  {:<9}  {:<6}  {:<21}  {:<18}  {:>8}  {:<20}  error",
        "alert", "channel", "state", "sev", "kind", "vault", "attempts", "delivered / next"
    )?;
    for r in rows {
        let when = r.delivered.or(r.next_attempt).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        writeln!(
            out,
            "{:<16}  {:<14}  {:<9}  {:<6}  {:<21}  {:<18}  {:>8}  {:<20}  {}",
            r.alert_id,
            r.channel,
            r.state.as_str(),
            r.severity.as_deref().unwrap_or("-"),
            r.kind.as_deref().unwrap_or("-"),
            r.vault.as_deref().unwrap_or("-"),
            r.attempts,
            when.as_deref().unwrap_or("-"),
            r.last_error.as_deref().unwrap_or(""),
        )?;
    }
    Ok(())
}
