//! `unusual_time`: an identity active at an hour of the day far from every hour it was
//! active at in its history.
//!
//! The rhythm is the set of UTC hours at which the identity was active in the history
//! window. A call is at an unusual time when the nearest of those hours is at least
//! `unusual_time_margin_hours` away, plus the hours by which few observations may
//! understate the ends of its day (its day's length over its active hours, rounded up) (circularly: 23:00 and 01:00 are two hours apart), so
//! working until 19:00 instead of 18:00 is not unusual, and 03:00 for a person whose day
//! runs 07–17 is. There is no global office-hours rule: a nightly job is usual at 02:00 and
//! unusual at 14:00, a person in Seattle is usual at 20:00 UTC, and an always-on service
//! is never unusual. An identity needs `min_history_days` of history, `min_active_days`
//! with activity and at least `MIN_ACTIVE_HOURS` active hours (day and hour) in it to have
//! a rhythm: a person seen a few times has not shown the ends of their day yet.
//!
//! Not modelled: weekends. Whether a person who never worked on a Saturday doing so at
//! their usual hour is an incident depends on the organisation; a per-identity weekend
//! rule would flag every on-call engineer's first weekend.

use std::collections::BTreeSet;

use serde_json::json;

use super::{Context, Draft, group_by, sessions, when};
use crate::alert::{Alert, AlertKind, Severity};
use crate::detect::calls::Call;
use crate::detect::profile::{IdentityProfile, day_type, hour_of_day};

const SESSION_GAP_US: i64 = 60 * 60 * 1_000_000;
/// Active (day, hour) slots of history below which an identity has no rhythm yet.
pub const MIN_ACTIVE_HOURS: u32 = 10;

/// Hours of the day (UTC) the identity was active at in its history.
fn usual_hours(profile: &IdentityProfile) -> Vec<usize> {
    (0..24).filter(|&h| profile.active_days[0][h] + profile.active_days[1][h] > 0).collect()
}

/// Hours from the first to the last usual hour of the day, circularly: 24 minus the
/// longest stretch of hours with no activity.
fn day_length(usual: &[usize]) -> usize {
    if usual.is_empty() {
        return 0;
    }
    let mut longest_gap = 0;
    for (i, &h) in usual.iter().enumerate() {
        let next = usual[(i + 1) % usual.len()];
        let gap = (next + 24 - h - 1) % 24;
        longest_gap = longest_gap.max(gap);
    }
    24 - longest_gap
}

/// Circular distance in hours from `hour` to the nearest of `usual`.
fn distance(hour: usize, usual: &[usize]) -> usize {
    usual.iter().map(|&u| hour.abs_diff(u).min(24 - hour.abs_diff(u))).min().unwrap_or(12)
}

pub fn detect(cx: &Context<'_>, calls: &[&Call]) -> Vec<Alert> {
    let margin = cx.policy.unusual_time_margin_hours;
    let mut alerts = Vec::new();
    for (identity, identity_calls) in group_by(calls, |c| c.identity.clone()) {
        let Some(profile) = cx.profiles.identities.get(&*identity) else { continue };
        let slots: u32 = profile.active_days.iter().flatten().sum();
        if !cx.identity_learned(&identity) || slots < MIN_ACTIVE_HOURS || profile.days_seen < cx.policy.min_active_days
        {
            continue;
        }
        let usual = usual_hours(profile);
        // Few observations show less than the whole day: with n active hours spread over a
        // day of w hours, the day's true ends lie about w / n beyond the observed ones.
        let margin = margin + (day_length(&usual) as u32).div_ceil(slots.max(1)) as usize;
        let unusual: Vec<&Call> =
            identity_calls.iter().copied().filter(|c| distance(hour_of_day(c.time), &usual) >= margin).collect();
        for session in sessions(&unusual, SESSION_GAP_US) {
            let first = session[0];
            let hours_away = distance(hour_of_day(first.time), &usual);
            let vaults = group_by(&session, |c| c.vault.clone());
            let vault = vaults.iter().max_by_key(|(_, v)| v.len()).map(|(k, _)| k.to_string());
            let objects: BTreeSet<&str> = session.iter().filter_map(|c| c.object_name.as_deref()).collect();
            let day_kind = if day_type(first.time) == 1 { "weekend day" } else { "weekday" };
            let who = first.who().to_owned();
            let days = cx.history_days_text(cx.profiles.identity_history_days(&identity));
            let draft = Draft {
                kind: AlertKind::UnusualTime,
                severity: if objects.is_empty() { Severity::Low } else { Severity::Medium },
                vault,
                object_name: None,
                caller_ip: None,
                window: None,
                observed: json!({
                    "hour_utc": hour_of_day(first.time),
                    "day_type": day_kind,
                    "calls": session.len(),
                    "objects": objects,
                }),
                baseline: json!({
                    "usual_hours_utc": usual,
                    "active_hours_in_history": slots,
                    "history_days": cx.profiles.identity_history_days(&identity).round(),
                    "margin_hours": margin,
                }),
                score: ("hours_from_usual_hours", hours_away as f64),
                explanation: format!(
                    "{who} made {} calls at {} (a {day_kind}), {hours_away} hours from any hour it was active at in \
                     {days} of history (usually {}).",
                    session.len(),
                    when(first.time),
                    usual_text(&usual),
                ),
            };
            alerts.push(draft.into_alert(&session));
        }
    }
    alerts
}

/// "07–16 UTC" for a run of hours, else the hours listed.
fn usual_text(hours: &[usize]) -> String {
    match (hours.first(), hours.last()) {
        (Some(a), Some(b)) if b - a + 1 == hours.len() => format!("{a:02}:00–{:02}:00 UTC", b + 1),
        _ => format!("at {} UTC", hours.iter().map(|h| format!("{h:02}")).collect::<Vec<_>>().join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_length_spans_the_usual_hours_circularly() {
        assert_eq!(day_length(&[7, 8, 12, 16]), 10);
        assert_eq!(day_length(&[0, 1, 22, 23]), 4);
        assert_eq!(day_length(&[5]), 1);
        assert_eq!(day_length(&(0..24).collect::<Vec<_>>()), 24);
    }

    #[test]
    fn distance_is_circular_and_to_the_nearest_usual_hour() {
        let usual = [7, 8, 9, 10, 16];
        assert_eq!(distance(8, &usual), 0);
        assert_eq!(distance(13, &usual), 3);
        assert_eq!(distance(2, &usual), 5);
        assert_eq!(distance(23, &[1]), 2);
        assert_eq!(distance(5, &[]), 12);
    }
}
