//! An alert as a person reads it: one-line title, facts (observed, baseline, score), the
//! evidence table, and the commands that dig further; as plain text and as HTML.
//!
//! Everything taken from an alert came from the logs (identities, object names, client
//! strings an attacker can choose): the HTML forms escape all of it, and the shell command
//! lines quote it, so a crafted object name can neither inject markup into a mail nor run
//! anything when an analyst pastes a command.

use std::fmt::Write;

use crate::alert::{Alert, Severity};

/// `HIGH mass_retrieval in kv-web-prod by erin@contoso.com` (the mail subject and card title).
pub fn title(alert: &Alert) -> String {
    let vault = alert.vault.as_deref().unwrap_or("several vaults");
    let mut title = format!("{} {} in {vault}", alert.severity.as_str().to_uppercase(), alert.kind.as_str());
    if let Some(who) = identity(alert) {
        let _ = write!(title, " by {who}");
    }
    if let Some(object) = &alert.object_name {
        let _ = write!(title, " ({object})");
    }
    // Control characters from the logs have no place in a header line.
    title.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The best name of the alert's identity: UPN, else app id, else object id.
pub fn identity(alert: &Alert) -> Option<&str> {
    alert.identity_upn.as_deref().or(alert.identity_appid.as_deref()).or(alert.identity_oid.as_deref())
}

/// `(label, value)` facts in reading order: who, where, when, what was seen and expected.
pub fn facts(alert: &Alert) -> Vec<(String, String)> {
    let mut facts = vec![
        ("Severity".to_owned(), alert.severity.as_str().to_owned()),
        ("Kind".to_owned(), alert.kind.as_str().to_owned()),
        ("Vault".to_owned(), alert.vault.clone().unwrap_or_else(|| "(several vaults)".into())),
    ];
    for (label, value) in [
        ("Identity (UPN)", &alert.identity_upn),
        ("Identity (app id)", &alert.identity_appid),
        ("Identity (object id)", &alert.identity_oid),
        ("Object", &alert.object_name),
        ("Caller IP", &alert.caller_ip),
    ] {
        if let Some(value) = value {
            facts.push((label.to_owned(), value.clone()));
        }
    }
    facts.push(("Window".to_owned(), format!("{} to {}", rfc3339(alert.window_start), rfc3339(alert.window_end))));
    facts.push(("Score".to_owned(), format!("{} = {}", alert.score.name, alert.score.value)));
    facts.push(("Alert id".to_owned(), alert.id.clone()));
    facts
}

/// The fields of an `observed` or `baseline` value, one line each (nested values as JSON).
pub fn json_lines(value: &serde_json::Value) -> Vec<(String, String)> {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
            .collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![("value".to_owned(), other.to_string())],
    }
}

/// The commands an analyst runs next: the secret's status (when the alert names one) and
/// the events of the identity in the window.
pub fn commands(alert: &Alert) -> Vec<String> {
    let mut commands = Vec::new();
    if let (Some(vault), Some(object)) = (&alert.vault, &alert.object_name) {
        commands.push(format!("kvaudit secret-status {}", shell_quote(&format!("{vault}/{object}"))));
    }
    let mut conditions =
        vec![format!("time >= '{}'", rfc3339(alert.window_start)), format!("time < '{}'", rfc3339(alert.window_end))];
    if let Some(vault) = &alert.vault {
        conditions.push(format!("vault = {}", sql_quote(vault)));
    }
    if let Some(oid) = &alert.identity_oid {
        conditions.push(format!("identity_oid = {}", sql_quote(oid)));
    } else if let Some(appid) = &alert.identity_appid {
        conditions.push(format!("identity_appid = {}", sql_quote(appid)));
    } else if let Some(ip) = &alert.caller_ip {
        conditions.push(format!("caller_ip = {}", sql_quote(ip)));
    }
    let sql = format!(
        "SELECT time, operation, object_name, http_status, caller_ip, correlation_id FROM events WHERE {} ORDER BY time",
        conditions.join(" AND ")
    );
    commands.push(format!("kvaudit query {}", shell_quote(&sql)));
    commands
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A SQL string literal.
fn sql_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A POSIX shell word that stays one word and expands nothing: double quotes, with the
/// four characters special inside them escaped.
fn shell_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            quoted.push('\\');
        }
        quoted.push(if c.is_control() { ' ' } else { c });
    }
    quoted.push('"');
    quoted
}

/// Text made safe inside HTML elements and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const EVIDENCE_COLUMNS: [&str; 7] = ["time", "operation", "vault", "object", "status", "ip", "correlation id"];

fn evidence_rows(alert: &Alert) -> Vec<[String; 7]> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    alert
        .evidence
        .iter()
        .map(|e| {
            [
                e.time.clone(),
                e.operation.clone(),
                e.vault.clone(),
                opt(&e.object),
                e.http_status.map_or("-".into(), |s| s.to_string()),
                opt(&e.ip),
                opt(&e.correlation_id),
            ]
        })
        .collect()
}

/// The plain-text body of one alert.
pub fn plain_text(alert: &Alert) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n\n{}\n", title(alert), alert.explanation);
    for (label, value) in facts(alert) {
        let _ = writeln!(out, "{label:<22} {value}");
    }
    for (heading, value) in [("Observed", &alert.observed), ("Baseline", &alert.baseline)] {
        let _ = writeln!(out, "\n{heading}:");
        for (k, v) in json_lines(value) {
            let _ = writeln!(out, "  {k}: {v}");
        }
    }
    let rows = evidence_rows(alert);
    let _ = writeln!(out, "\nEvidence ({} events):", rows.len());
    let mut widths = EVIDENCE_COLUMNS.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("  {}", padded.join("  ").trim_end())
    };
    let _ = writeln!(out, "{}", line(&EVIDENCE_COLUMNS.map(String::from)));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row));
    }
    let _ = writeln!(out, "\nDig further:");
    for command in commands(alert) {
        let _ = writeln!(out, "  {command}");
    }
    out
}

fn severity_colour(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "#b00020",
        Severity::Medium => "#b26a00",
        Severity::Low => "#555555",
    }
}

/// The HTML body of one alert: the same content as [`plain_text`], every value escaped.
pub fn html(alert: &Alert) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n");
    html_alert(&mut out, alert, "h2");
    out.push_str("</body></html>\n");
    out
}

fn html_alert(out: &mut String, alert: &Alert, heading: &str) {
    let e = html_escape;
    let _ = writeln!(
        out,
        "<{heading} style=\"color: {}\">{}</{heading}>\n<p>{}</p>",
        severity_colour(alert.severity),
        e(&title(alert)),
        e(&alert.explanation)
    );
    out.push_str("<table>\n");
    for (label, value) in facts(alert) {
        let _ = writeln!(out, "<tr><th align=\"left\">{}</th><td>{}</td></tr>", e(&label), e(&value));
    }
    out.push_str("</table>\n");
    for (name, value) in [("Observed", &alert.observed), ("Baseline", &alert.baseline)] {
        let _ = writeln!(out, "<h3>{name}</h3>\n<ul>");
        for (k, v) in json_lines(value) {
            let _ = writeln!(out, "<li><b>{}</b>: {}</li>", e(&k), e(&v));
        }
        out.push_str("</ul>\n");
    }
    let rows = evidence_rows(alert);
    let _ = writeln!(out, "<h3>Evidence ({} events)</h3>", rows.len());
    out.push_str("<table border=\"1\" cellpadding=\"4\" style=\"border-collapse: collapse\">\n<tr>");
    for column in EVIDENCE_COLUMNS {
        let _ = write!(out, "<th>{column}</th>");
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", e(&cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n<h3>Dig further</h3>\n");
    for command in commands(alert) {
        let _ = writeln!(out, "<pre>{}</pre>", e(&command));
    }
}

/// Subject of a digest mail.
pub fn digest_title(alerts: &[&Alert]) -> String {
    let mut vaults: Vec<&str> = alerts.iter().filter_map(|a| a.vault.as_deref()).collect();
    vaults.sort();
    vaults.dedup();
    let top = alerts.iter().map(|a| a.severity).max().unwrap_or(Severity::Low);
    let shown = vaults.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    let more = if vaults.len() > 3 { format!(" and {} more", vaults.len() - 3) } else { String::new() };
    let title = format!("digest: {} alerts up to {} ({shown}{more})", alerts.len(), top.as_str());
    title.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Plain text of a digest: a list, then each alert in full.
pub fn digest_plain_text(alerts: &[&Alert]) -> String {
    let mut out = format!("{}\n\n", digest_title(alerts));
    for alert in alerts {
        let _ = writeln!(out, "- {}: {}", title(alert), alert.explanation);
    }
    for alert in alerts {
        let _ = write!(out, "\n{}\n{}", "-".repeat(72), plain_text(alert));
    }
    out
}

/// HTML of a digest.
pub fn digest_html(alerts: &[&Alert]) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n");
    let _ = writeln!(out, "<h2>{}</h2>\n<ul>", html_escape(&digest_title(alerts)));
    for alert in alerts {
        let _ = writeln!(out, "<li><b>{}</b>: {}</li>", html_escape(&title(alert)), html_escape(&alert.explanation));
    }
    out.push_str("</ul>\n");
    for alert in alerts {
        out.push_str("<hr>\n");
        html_alert(&mut out, alert, "h3");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertKind, Evidence};
    use crate::deliver::testing::alert;

    fn hostile() -> Alert {
        let mut a = alert("0123456789abcdef", AlertKind::MassRetrieval, Severity::High, Some("kv-web-prod"));
        a.identity_upn = Some("erin@contoso.com".into());
        a.identity_oid = Some("oid-'1".into());
        a.object_name = Some("<script>alert(1)</script>$(rm -rf ~)".into());
        a.explanation = "erin read 40 <b>distinct</b> objects & more".into();
        a.observed = serde_json::json!({"distinct_objects": 40, "objects": ["a<b", "c"]});
        a.baseline = serde_json::json!({"median_daily_objects": 2, "history_days": 30});
        a.evidence = vec![Evidence {
            time: "2026-10-23T14:05:00Z".into(),
            operation: "SecretGet".into(),
            vault: "kv-web-prod".into(),
            object: Some("db\"password".into()),
            http_status: Some(200),
            ip: Some("84.1.2.3".into()),
            correlation_id: Some("corr-<1>".into()),
        }];
        a
    }

    #[test]
    fn html_escapes_everything_from_the_logs() {
        let html = html(&hostile());
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>distinct</b> objects"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(html.contains("objects &amp; more"));
        assert!(html.contains("db&quot;password"));
        assert!(html.contains("corr-&lt;1&gt;"));
        assert!(html.contains("[&quot;a&lt;b&quot;,&quot;c&quot;]"), "nested observed values as escaped JSON: {html}");
    }

    #[test]
    fn plain_text_has_facts_evidence_and_commands_that_quote_their_arguments() {
        let text = plain_text(&hostile());
        assert!(text.starts_with("HIGH mass_retrieval in kv-web-prod by erin@contoso.com"), "{text}");
        for needle in ["distinct_objects: 40", "median_daily_objects: 2", "p = 0.001", "corr-<1>", "84.1.2.3"] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        let commands = commands(&hostile());
        assert_eq!(commands[0], r#"kvaudit secret-status "kv-web-prod/<script>alert(1)</script>\$(rm -rf ~)""#);
        assert!(commands[1].starts_with("kvaudit query \"SELECT time, operation"), "{}", commands[1]);
        assert!(commands[1].contains("identity_oid = 'oid-''1'"), "SQL quotes doubled: {}", commands[1]);
        assert!(commands[1].contains("time >= '2026-10-23T14:00:00Z'"), "{}", commands[1]);
    }

    #[test]
    fn titles_lose_control_characters() {
        let mut a = hostile();
        a.identity_upn = Some("evil\r\nBcc: everyone@contoso.com".into());
        assert!(!title(&a).contains('\n'));
        assert!(digest_title(&[&a, &hostile()]).starts_with("digest: 2 alerts up to high (kv-web-prod)"));
    }
}
