//! `mass_retrieval` and `enumeration`: an identity reads many distinct secrets (keys,
//! certificates) of a vault in a short time, far more than it ever read in an hour.
//!
//! Reads are cut into sessions (no gap over three minutes); the most distinct objects read
//! within any hour of a session is compared with the identity's own history in that vault:
//! it must reach the policy's minimum, three more than the most it ever read in an hour,
//! and twice what it reads in a typical hour. (The record is per clock hour, so two of a
//! person's sessions in one hour already raise it; twice the record would hide a harvest
//! of nine secrets by someone who once read five.) (A Poisson tail of the count is reported as the score, but is not
//! the trigger: a person who reads one to three secrets a session has too few sessions for
//! a tail test to reach a many-identity threshold on nine secrets.) A nightly job that reads
//! 200 secrets every night has a record of 200 and is not flagged. If the identity listed
//! the vault's objects within five minutes before or during the session, it is an `enumeration` (list,
//! then get what was listed); otherwise a `mass_retrieval`.

use std::collections::{BTreeSet, HashMap};

use serde_json::json;

use super::{Context, Draft, group_by, sessions, when};
use crate::alert::{Alert, AlertKind, Severity};
use crate::detect::calls::Call;
use crate::detect::profile::HOUR_US;
use crate::detect::stats::{p_text, poisson_tail};

/// Reads further apart than this belong to different sessions: a script or a person
/// harvesting secrets reads them seconds apart, and a person's ordinary look-up a few
/// minutes earlier must not be counted into (or classify) the harvest.
const SESSION_GAP_US: i64 = 3 * 60 * 1_000_000;
/// A list at most this long before a session's first read makes it an enumeration.
const LIST_LOOKBACK_US: i64 = 5 * 60 * 1_000_000;

/// The most distinct objects in any hour-long stretch of `reads`, and that stretch. One
/// pass with a sliding window of per-object counts: linear in the reads, which matters
/// for services that read thousands of times an hour.
fn densest_hour<'c>(reads: &[&'c Call]) -> (usize, Vec<&'c Call>) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let (mut best, mut best_range) = (0, (0, 0));
    let mut lo = 0;
    for hi in 0..reads.len() {
        *counts.entry(reads[hi].object_name.as_deref().unwrap_or_default()).or_default() += 1;
        while reads[hi].time - reads[lo].time >= HOUR_US {
            let name = reads[lo].object_name.as_deref().unwrap_or_default();
            if let Some(n) = counts.get_mut(name) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(name);
                }
            }
            lo += 1;
        }
        if counts.len() > best {
            best = counts.len();
            best_range = (lo, hi);
        }
    }
    if best == 0 {
        return (0, Vec::new());
    }
    (best, reads[best_range.0..=best_range.1].to_vec())
}

pub fn detect(cx: &Context<'_>, calls: &[&Call]) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let by_pair = group_by(calls, |c| (c.identity.clone(), c.vault.clone()));
    for ((identity, vault), pair_calls) in by_pair {
        // A newcomer raises `new_identity`; its reads have nothing to compare with.
        let Some(pair) = cx.profiles.pair(&identity, &vault) else { continue };
        if pair.first_ok.is_none() || !cx.identity_learned(&identity) {
            continue;
        }
        let record = pair.max_objects_per_hour() as usize;
        let typical = pair.mean_objects_per_reading_hour();
        let threshold = cx.policy.retrieval_min_objects.max(record + 3).max((2.0 * typical).ceil() as usize);
        let reads: Vec<&Call> = pair_calls.iter().copied().filter(|c| c.reads_object()).collect();
        let lists: Vec<&Call> = pair_calls.iter().copied().filter(|c| c.lists()).collect();
        for session in sessions(&reads, SESSION_GAP_US) {
            let (distinct, stretch) = densest_hour(&session);
            if distinct < threshold {
                continue;
            }
            let names: BTreeSet<&str> = stretch.iter().filter_map(|c| c.object_name.as_deref()).collect();
            let new: Vec<&str> = names.iter().copied().filter(|n| !pair.objects.contains(*n)).collect();
            let (start, end) = (stretch[0].time, stretch[stretch.len() - 1].time);
            let list = lists.iter().copied().find(|l| l.time <= end && l.time >= session[0].time - LIST_LOOKBACK_US);
            let kind = if list.is_some() { AlertKind::Enumeration } else { AlertKind::MassRetrieval };
            let mean = pair.mean_objects_per_reading_hour();
            let p = poisson_tail(distinct as u64, mean);
            let severity = if new.len() >= 5 || distinct >= 3 * threshold { Severity::High } else { Severity::Medium };
            let who = stretch[0].who().to_owned();
            let minutes = ((end - start) as f64 / 60e6).ceil().max(1.0);
            let mut evidence_calls: Vec<&Call> = list.into_iter().collect();
            evidence_calls.extend(stretch.iter().copied());
            let how = match list {
                Some(l) => format!("listed {vault} at {} and then read", when(l.time)),
                None => "read".to_owned(),
            };
            let draft = Draft {
                kind,
                severity,
                vault: Some(vault.to_string()),
                object_name: None,
                caller_ip: None,
                window: Some((list.map_or(start, |l| l.time.min(start)), end + 1_000_000)),
                observed: json!({
                    "distinct_objects": distinct,
                    "objects": names,
                    "never_read_before": new,
                    "reads": stretch.len(),
                    "minutes": minutes,
                    "listed_first": list.is_some(),
                }),
                baseline: json!({
                    "most_distinct_objects_in_an_hour": record,
                    "mean_distinct_objects_per_reading_hour": (mean * 100.0).round() / 100.0,
                    "objects_read_in_history": pair.objects.len(),
                    "threshold": threshold,
                    "history_days": pair.active_days,
                }),
                score: ("p_value_poisson_distinct_objects", p),
                explanation: format!(
                    "{who} {how} {distinct} distinct objects of {vault} in {minutes:.0} minutes from {}, \
                     {} of them never read before; its most in any hour of history was {record} \
                     (Poisson p = {}).",
                    when(start),
                    new.len(),
                    p_text(p),
                ),
            };
            alerts.push(draft.into_alert(&evidence_calls));
        }
    }
    alerts
}
