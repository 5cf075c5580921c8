//! `kvaudit detect`: runs the detector and prints the alerts of the window.

use std::io::Write;

use anyhow::Result;
use kvaudit::alert::Alert;
use kvaudit::detect::{DetectReport, detect};
use kvaudit::lake::LakePaths;

use super::config::DetectConfig;

pub fn run(lake: &LakePaths, config: DetectConfig) -> Result<()> {
    let report = super::runtime()?.block_on(detect(lake, &config.options))?;
    let mut out = std::io::stdout().lock();
    if config.json {
        for alert in &report.alerts {
            writeln!(out, "{}", serde_json::to_string(alert)?)?;
        }
    } else {
        write_table(&mut out, &report)?;
    }
    Ok(())
}

/// A header line, then per alert one line of facts and its explanation indented.
pub fn write_table(out: &mut impl Write, report: &DetectReport) -> Result<()> {
    writeln!(
        out,
        "{} alerts from {} to {} (baselines from {}; {} calls scored; {} new, {} raised again, {} suppressed)",
        report.alerts.len(),
        report.from.format("%Y-%m-%d %H:%M"),
        report.to.format("%Y-%m-%d %H:%M UTC"),
        report.history_start.format("%Y-%m-%d"),
        report.calls,
        report.new,
        report.merged,
        report.suppressed,
    )?;
    for alert in &report.alerts {
        writeln!(out, "{}", summary_line(alert))?;
        writeln!(out, "    {}", alert.explanation)?;
    }
    Ok(())
}

/// `2026-10-23 14:05  high    mass_retrieval  kv-web-prod  erin@contoso.com  [id] (state)`
pub fn summary_line(alert: &Alert) -> String {
    let who = alert
        .identity_upn
        .as_deref()
        .or(alert.identity_appid.as_deref())
        .or(alert.identity_oid.as_deref())
        .unwrap_or("-");
    let state = match alert.state {
        kvaudit::alert::AlertState::Open => String::new(),
        other => format!(" ({})", other.as_str()),
    };
    format!(
        "{}  {:<6}  {:<19}  {:<18}  {}  [{}]{state}",
        alert.window_start.format("%Y-%m-%d %H:%M"),
        alert.severity.as_str(),
        alert.kind.as_str(),
        alert.vault.as_deref().unwrap_or("(several vaults)"),
        who,
        alert.id,
    )
}
