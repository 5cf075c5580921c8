//! Webhook bodies: the alert record as is (`json`), a Microsoft Teams message with an
//! Adaptive Card, or a Slack message with blocks.
//!
//! Text from the logs never becomes markup: Slack gets it as `plain_text` objects (and the
//! three characters Slack's mrkdwn interprets escaped where mrkdwn is unavoidable); Teams
//! gets Markdown's special characters backslash-escaped, so an object named
//! `[click](https://evil)` shows as text, not as a link.

use serde_json::{Value, json};

use super::super::config::WebhookFormat;
use super::super::render;
use crate::alert::{Alert, Severity};

/// The body of one alert in `format`.
pub fn body(format: WebhookFormat, alert: &Alert) -> Value {
    match format {
        // Serializing the plain alert struct cannot fail.
        WebhookFormat::Json => serde_json::to_value(alert).unwrap_or(Value::Null),
        WebhookFormat::Teams => teams(alert),
        WebhookFormat::Slack => slack(alert),
    }
}

/// Facts shown on cards: the alert's own, then the observed and baseline values.
fn card_facts(alert: &Alert) -> Vec<(String, String)> {
    let mut facts = render::facts(alert);
    facts.extend(render::json_lines(&alert.observed).into_iter().map(|(k, v)| (format!("observed {k}"), v)));
    facts.extend(render::json_lines(&alert.baseline).into_iter().map(|(k, v)| (format!("baseline {k}"), v)));
    facts
}

fn teams(alert: &Alert) -> Value {
    let md = markdown_escape;
    let colour = match alert.severity {
        Severity::High => "Attention",
        Severity::Medium => "Warning",
        Severity::Low => "Default",
    };
    let facts: Vec<Value> =
        card_facts(alert).into_iter().map(|(title, value)| json!({"title": md(&title), "value": md(&value)})).collect();
    let evidence: Vec<Value> = alert
        .evidence
        .iter()
        .map(|e| {
            let line = format!(
                "{} {} {} {} {}",
                e.time,
                e.operation,
                e.object.as_deref().unwrap_or("-"),
                e.ip.as_deref().unwrap_or("-"),
                e.correlation_id.as_deref().unwrap_or("-")
            );
            json!({"type": "TextBlock", "text": md(&line), "wrap": true, "fontType": "Monospace", "size": "Small", "spacing": "None"})
        })
        .collect();
    let mut body = vec![
        json!({"type": "TextBlock", "text": md(&render::title(alert)), "weight": "Bolder", "size": "Medium", "color": colour, "wrap": true}),
        json!({"type": "TextBlock", "text": md(&alert.explanation), "wrap": true}),
        json!({"type": "FactSet", "facts": facts}),
        json!({"type": "TextBlock", "text": "Evidence", "weight": "Bolder"}),
    ];
    body.extend(evidence);
    body.push(json!({"type": "TextBlock", "text": "Dig further", "weight": "Bolder"}));
    for command in render::commands(alert) {
        body.push(json!({"type": "TextBlock", "text": md(&command), "wrap": true, "fontType": "Monospace"}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": body,
            }
        }]
    })
}

fn slack(alert: &Alert) -> Value {
    let plain = |text: &str| json!({"type": "plain_text", "text": truncate(text, 2000), "emoji": false});
    // Slack allows at most 10 fields per section block.
    let fields: Vec<Value> = card_facts(alert).into_iter().map(|(k, v)| plain(&format!("{k}: {v}"))).collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&render::title(alert), 150)}}),
        json!({"type": "section", "text": plain(&alert.explanation)}),
    ];
    for chunk in fields.chunks(10) {
        blocks.push(json!({"type": "section", "fields": chunk}));
    }
    let evidence: Vec<String> = alert
        .evidence
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {} {}",
                e.time,
                e.operation,
                e.object.as_deref().unwrap_or("-"),
                e.ip.as_deref().unwrap_or("-"),
                e.correlation_id.as_deref().unwrap_or("-")
            )
        })
        .collect();
    if !evidence.is_empty() {
        let text = format!("*Evidence*\n```{}```", slack_escape(&evidence.join("\n")));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&text, 3000)}}));
    }
    let commands = format!("*Dig further*\n```{}```", slack_escape(&render::commands(alert).join("\n")));
    blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&commands, 3000)}}));
    json!({
        // The notification text, shown where blocks are not (mrkdwn: & < > escaped).
        "text": slack_escape(&format!("kvaudit: {}", render::title(alert))),
        "blocks": blocks,
    })
}

/// Slack's mrkdwn interprets `&`, `<` and `>` (links, mentions): escaped as Slack asks.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Markdown's special characters, backslash-escaped (Adaptive Cards render Markdown).
fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_{}[]()#+-.!<>|~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max_chars - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;
    use crate::deliver::testing::alert;

    fn sample() -> Alert {
        let mut a = alert("00ff", AlertKind::NewIp, Severity::High, Some("kv-web-prod"));
        a.object_name = Some("[click](https://evil.example)".into());
        a.identity_upn = Some("<@U123> & co".into());
        a.explanation = "first call from 203.0.113.9".into();
        a
    }

    #[test]
    fn json_is_the_alert_record() {
        let a = sample();
        let back: Alert = serde_json::from_value(body(WebhookFormat::Json, &a)).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn teams_is_an_adaptive_card_with_markdown_escaped() {
        let card = body(WebhookFormat::Teams, &sample());
        assert_eq!(card["type"], "message");
        let attachment = &card["attachments"][0];
        assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(attachment["content"]["type"], "AdaptiveCard");
        let text = attachment["content"].to_string();
        assert!(text.contains(r"\\[click\\]\\(https://evil\\.example\\)"), "{text}");
        assert!(text.contains("first call from 203\\\\.0\\\\.113\\\\.9"), "{text}");
        let facts = attachment["content"]["body"][2]["facts"].as_array().unwrap();
        assert!(facts.iter().any(|f| f["title"] == "Vault" && f["value"] == "kv\\-web\\-prod"), "{facts:?}");
    }

    #[test]
    fn slack_has_blocks_with_plain_text_and_escaped_mrkdwn() {
        let message = body(WebhookFormat::Slack, &sample());
        assert!(message["text"].as_str().unwrap().contains("&lt;@U123&gt; &amp; co"), "{message}");
        let blocks = message["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[1]["text"]["type"], "plain_text");
        assert_eq!(blocks[1]["text"]["text"], "first call from 203.0.113.9");
        for block in blocks.iter().filter(|b| b["text"]["type"] == "mrkdwn") {
            assert!(!block["text"]["text"].as_str().unwrap().contains("<@"), "{block}");
        }
        assert!(blocks.iter().all(|b| b["fields"].as_array().is_none_or(|f| f.len() <= 10)));
    }
}
