//! The archive layout inside the container, as far as listing cares:
//! `resourceId=/SUBSCRIPTIONS/…/VAULTS/{NAME}/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`.
//!
//! A *resource folder* is the folder whose children are `y=` folders (one per vault or
//! managed HSM). Everything below it is filed by UTC hour, which is what lets a run list
//! only the days that can hold new data.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// The hour a blob is filed under, from its `y=/m=/d=/h=` path parts.
pub fn blob_hour(name: &str) -> Option<NaiveDateTime> {
    let rest = &name[name.find("y=")?..];
    let mut parts = rest.split('/');
    let mut field = |key: &str| -> Option<u32> { parts.next()?.strip_prefix(key)?.parse().ok() };
    let (y, m, d, h) = (field("y=")?, field("m=")?, field("d=")?, field("h=")?);
    let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
    Some(date.and_time(NaiveTime::from_hms_opt(h, 0, 0)?))
}

/// True when a folder prefix (ending in `/`) is a year folder: its parent is a resource
/// folder.
pub fn is_year_folder(prefix: &str) -> bool {
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    trimmed.rsplit('/').next().is_some_and(|last| {
        last.strip_prefix("y=").is_some_and(|y| !y.is_empty() && y.chars().all(|c| c.is_ascii_digit()))
    })
}

/// The parent folder of a folder prefix: `a/b/c/` → `a/b/`.
pub fn parent_folder(prefix: &str) -> &str {
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    match trimmed.rfind('/') {
        Some(i) => &prefix[..=i],
        None => "",
    }
}

/// The day folders of a resource folder from `from`'s day to `to`'s day, inclusive:
/// `{root}y=YYYY/m=MM/d=DD/`.
pub fn day_prefixes(root: &str, from: NaiveDateTime, to: NaiveDateTime) -> Vec<String> {
    let mut out = Vec::new();
    let mut day = from.date();
    while day <= to.date() {
        out.push(format!("{root}y={:04}/m={:02}/d={:02}/", day.year(), day.month(), day.day()));
        day = day.succ_opt().expect("dates in range");
    }
    out
}

/// `YYYY-MM-DDTHH`, the form hours are stored in.
pub fn hour_text(hour: NaiveDateTime) -> String {
    format!("{}T{:02}", hour.date(), hour.hour())
}

/// Parses [`hour_text`].
pub fn parse_hour_text(text: &str) -> Option<NaiveDateTime> {
    let (date, hour) = text.split_once('T')?;
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(date.and_time(NaiveTime::from_hms_opt(hour.parse().ok()?, 0, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "resourceId=/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV1/y=2026/m=10/d=01/h=07/m=00/PT1H.json";

    #[test]
    fn blob_hours_come_from_the_path() {
        assert_eq!(hour_text(blob_hour(NAME).unwrap()), "2026-10-01T07");
        assert_eq!(blob_hour("resourceId=/x/PT1H.json"), None);
        assert_eq!(parse_hour_text("2026-10-01T07"), blob_hour(NAME));
    }

    #[test]
    fn folders_and_days() {
        let root = "resourceId=/SUBSCRIPTIONS/S1/VAULTS/KV1/";
        assert!(is_year_folder("resourceId=/SUBSCRIPTIONS/S1/VAULTS/KV1/y=2026/"));
        assert!(!is_year_folder(root));
        assert_eq!(parent_folder("resourceId=/SUBSCRIPTIONS/S1/VAULTS/KV1/y=2026/"), root);
        let from = parse_hour_text("2026-09-30T23").unwrap();
        let to = parse_hour_text("2026-10-01T01").unwrap();
        assert_eq!(
            day_prefixes(root, from, to),
            vec![format!("{root}y=2026/m=09/d=30/"), format!("{root}y=2026/m=10/d=01/")]
        );
    }
}
