//! `volume_spike`: an identity calls a vault far more than its own rhythm predicts.
//!
//! Model: the expected successful calls in an hour blend the identity's mean at the same
//! hour of the week (about four observations in 30 days) with its mean at the same hour of
//! day on the same kind of day (weekday or weekend; about twenty), weighting the second
//! as two observations. Hourly counts are over-dispersed, so the tail probability is a
//! negative binomial's with the dispersion measured on the identity's own history. An hour
//! is unusual when that tail is below the policy's threshold and the count is also
//! several times, and well above, what was expected: with thousands of calls an hour, a
//! statistically certain 10 % rise is not an incident.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Context, Draft, group_by, when};
use crate::alert::{Alert, AlertKind, Severity};
use crate::detect::calls::Call;
use crate::detect::profile::{DAY_US, HOUR_US, PairProfile, day_type, hour_of_day};
use crate::detect::stats::{negative_binomial_tail, p_text};

/// Weight of the hour-of-day mean, in observations of the hour-of-week mean.
const PRIOR_WEIGHT: f64 = 2.0;

/// An identity-vault pair's hourly rhythm.
pub struct Rhythm {
    /// `[hour of week] -> (sum, hours)`
    week: Vec<(f64, f64)>,
    /// `[day type][hour of day] -> (sum, hours)`
    day: [[(f64, f64); 24]; 2],
    /// Variance over mean of the history's counts around the model; ≥ 1.
    pub dispersion: f64,
    /// Hours of history the rhythm was learned from.
    pub hours: u64,
}

fn hour_of_week(t: i64) -> usize {
    (t.div_euclid(HOUR_US)).rem_euclid(168) as usize
}

impl Rhythm {
    /// Learns from the pair's history hours in `[from, to)`.
    pub fn fit(pair: &PairProfile, from: i64, to: i64) -> Rhythm {
        let counts: BTreeMap<i64, u64> = pair.hours.iter().map(|h| (h.hour, h.ok)).collect();
        let mut r = Rhythm { week: vec![(0.0, 0.0); 168], day: [[(0.0, 0.0); 24]; 2], dispersion: 1.0, hours: 0 };
        let first = from.div_euclid(HOUR_US) * HOUR_US;
        let mut t = first;
        while t < to {
            let c = counts.get(&t).copied().unwrap_or(0) as f64;
            let w = &mut r.week[hour_of_week(t)];
            *w = (w.0 + c, w.1 + 1.0);
            let d = &mut r.day[day_type(t)][hour_of_day(t)];
            *d = (d.0 + c, d.1 + 1.0);
            r.hours += 1;
            t += HOUR_US;
        }
        // Pearson dispersion of the history around the fitted means.
        let (mut sum, mut n) = (0.0, 0.0);
        let mut t = first;
        while t < to {
            let c = counts.get(&t).copied().unwrap_or(0) as f64;
            let m = r.expected(t).max(0.5);
            sum += (c - m) * (c - m) / m;
            n += 1.0;
            t += HOUR_US;
        }
        if n > 0.0 {
            r.dispersion = (sum / n).clamp(1.0, 100.0);
        }
        r
    }

    /// Expected successful calls in the hour starting at `t`.
    pub fn expected(&self, t: i64) -> f64 {
        let (ws, wn) = self.week[hour_of_week(t)];
        let (ds, dn) = self.day[day_type(t)][hour_of_day(t)];
        let day_mean = if dn > 0.0 { ds / dn } else { 0.0 };
        (ws + PRIOR_WEIGHT * day_mean) / (wn + PRIOR_WEIGHT)
    }
}

pub fn detect(cx: &Context<'_>, calls: &[&Call]) -> Vec<Alert> {
    let ok: Vec<&Call> = calls.iter().copied().filter(|c| c.ok()).collect();
    let mut alerts = Vec::new();
    for ((identity, vault), group) in group_by(&ok, |c| (c.identity.clone(), c.vault.clone())) {
        let Some(pair) = cx.profiles.pair(&identity, &vault) else { continue };
        let Some(first_ok) = pair.first_ok else { continue };
        let learned_from = first_ok.max(cx.profiles.start);
        if !cx.identity_learned(&identity)
            || ((cx.profiles.end - learned_from) as f64) < f64::from(cx.policy.min_history_days) * DAY_US as f64
        {
            continue;
        }
        let rhythm = Rhythm::fit(pair, learned_from, cx.profiles.end);
        let by_hour = group_by(&group, |c| c.time.div_euclid(HOUR_US) * HOUR_US);
        // Unusual hours, then runs of consecutive ones.
        let mut unusual: Vec<(i64, u64, f64, f64)> = Vec::new();
        for (&hour, hour_calls) in &by_hour {
            let x = hour_calls.len() as u64;
            let expected = rhythm.expected(hour);
            let p = negative_binomial_tail(x, expected, rhythm.dispersion);
            let big =
                x as f64 >= cx.policy.volume_min_ratio * expected && x as f64 - expected >= cx.policy.volume_min_excess;
            if p < cx.policy.p_threshold && big {
                unusual.push((hour, x, expected, p));
            }
        }
        let mut runs: Vec<Vec<(i64, u64, f64, f64)>> = Vec::new();
        for u in unusual {
            match runs.last_mut() {
                Some(run) if run.last().is_some_and(|l| u.0 - l.0 == HOUR_US) => run.push(u),
                _ => runs.push(vec![u]),
            }
        }
        for run in runs {
            let (start, end) = (run[0].0, run[run.len() - 1].0 + HOUR_US);
            let observed: u64 = run.iter().map(|u| u.1).sum();
            let expected: f64 = run.iter().map(|u| u.2).sum();
            let p = run.iter().map(|u| u.3).fold(1.0, f64::min);
            let ratio = observed as f64 / expected.max(0.01);
            let run_calls: Vec<&Call> = group.iter().copied().filter(|c| c.time >= start && c.time < end).collect();
            let who = run_calls.first().map(|c| c.who().to_owned()).unwrap_or_default();
            let days = cx.history_days_text(rhythm.hours as f64 / 24.0);
            let severity = if p < 1e-12 && ratio >= 5.0 { Severity::High } else { Severity::Medium };
            let draft = Draft {
                kind: AlertKind::VolumeSpike,
                severity,
                vault: Some(vault.to_string()),
                object_name: None,
                caller_ip: None,
                window: Some((start, end)),
                observed: json!({
                    "successful_calls": observed,
                    "per_hour": run.iter().map(|u| json!({"hour": super::time(u.0).to_rfc3339(), "calls": u.1})).collect::<Vec<_>>(),
                }),
                baseline: json!({
                    "expected_calls": (expected * 10.0).round() / 10.0,
                    "per_hour": run.iter().map(|u| (u.2 * 10.0).round() / 10.0).collect::<Vec<_>>(),
                    "dispersion": (rhythm.dispersion * 100.0).round() / 100.0,
                    "model": "negative binomial, mean by hour of week blended with hour of day",
                    "history_days": (rhythm.hours as f64 / 24.0).round(),
                    "threshold": cx.policy.p_threshold,
                }),
                score: ("p_value_negative_binomial", p),
                explanation: format!(
                    "{who} made {observed} successful calls to {vault} from {} to {}, {ratio:.1}x the {expected:.0} \
                     expected at those hours of its week (negative binomial p = {}, learned from {days}).",
                    when(start),
                    super::time(end).format("%H:%M UTC"),
                    p_text(p),
                ),
            };
            alerts.push(draft.into_alert(&run_calls));
        }
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::profile::HourStats;

    fn pair_with(counts: impl Fn(i64) -> u64, hours: i64) -> PairProfile {
        let mut pair = PairProfile::default();
        for h in 0..hours {
            let ok = counts(h);
            if ok > 0 {
                pair.hours.push(HourStats { hour: h * HOUR_US, ok, denied: 0, objects_read: 1, listed: false });
            }
        }
        pair
    }

    #[test]
    fn the_rhythm_learns_hour_of_day_and_weekends() {
        // 28 days from 1970-01-05 (a Monday): 100 calls an hour at 09–17 on weekdays only.
        let monday = 4 * 24;
        let busy = |h: i64| {
            let t = (monday + h) * HOUR_US;
            if day_type(t) == 0 && (9..17).contains(&hour_of_day(t)) { 100 } else { 0 }
        };
        let pair = pair_with(busy, 28 * 24);
        let pair = PairProfile {
            hours: pair.hours.iter().map(|h| HourStats { hour: h.hour + monday * HOUR_US, ..*h }).collect(),
            ..pair
        };
        let r = Rhythm::fit(&pair, monday * HOUR_US, (monday + 28 * 24) * HOUR_US);
        let next_monday_10h = (monday + 28 * 24 + 10) * HOUR_US;
        assert!((r.expected(next_monday_10h) - 100.0).abs() < 1.0, "{}", r.expected(next_monday_10h));
        assert!(r.expected(next_monday_10h - 8 * HOUR_US) < 0.01);
        let saturday_10h = next_monday_10h - 2 * DAY_US;
        assert!(r.expected(saturday_10h) < 0.01);
        // A perfectly regular history is not over-dispersed.
        assert!(r.dispersion < 1.5, "{}", r.dispersion);
    }
}
