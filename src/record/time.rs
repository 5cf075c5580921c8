//! Record timestamps: Key Vault writes `time` as RFC 3339 in UTC with seven fractional
//! digits (`2024-04-03T14:03:10.7886260Z`). The common shape is parsed by hand because it
//! is on the hot path of every record; anything else falls back to chrono's RFC 3339
//! parser, which accepts offsets other than `Z`.
//!
//! Invariant: the result is microseconds since the Unix epoch, UTC; digits beyond the
//! sixth fractional one are truncated (the lake stores microseconds).

/// Parses an RFC 3339 timestamp into microseconds since the epoch, UTC.
pub fn parse_micros(text: &str) -> Option<i64> {
    parse_fast(text.as_bytes())
        .or_else(|| chrono::DateTime::parse_from_rfc3339(text.trim()).ok().map(|t| t.timestamp_micros()))
}

fn digits(bytes: &[u8]) -> Option<i64> {
    let mut value = 0i64;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(b - b'0');
    }
    Some(value)
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, nothing else.
fn parse_fast(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, minute, second) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut micros = 0i64;
    let rest = &b[19..b.len() - 1];
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 || rest.len() > 10 {
            return None;
        }
        let fraction = &rest[1..];
        let kept = &fraction[..fraction.len().min(6)];
        micros = digits(kept)? * 10i64.pow(6 - kept.len() as u32);
        digits(fraction)?; // the truncated digits must still be digits
    }
    let date = chrono::NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)?;
    let days = i64::from(date.num_days_from_ce()) - 719_163; // days from 0001-01-01 to 1970-01-01
    Some(((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micros)
}

use chrono::Datelike;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_fraction_digits_truncate_to_micros() {
        let fast = parse_micros("2024-04-03T14:03:10.7886260Z").unwrap();
        let slow = chrono::DateTime::parse_from_rfc3339("2024-04-03T14:03:10.788626Z").unwrap().timestamp_micros();
        assert_eq!(fast, slow);
    }

    #[test]
    fn offsets_and_no_fraction_are_accepted() {
        assert_eq!(parse_micros("2024-04-03T16:03:10+02:00"), parse_micros("2024-04-03T14:03:10Z"));
        assert_eq!(parse_micros("2016-01-05T01:32:01Z").unwrap() % 1_000_000, 0);
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(parse_micros("yesterday"), None);
        assert_eq!(parse_micros("2024-13-03T14:03:10Z"), None);
        assert_eq!(parse_micros(""), None);
    }
}
