//! Time for the generator: an integer clock of 100 ns ticks since the Unix epoch, and the
//! few text forms the output needs.
//!
//! Ticks are the resolution of a record's `time` (seven fractional digits), so every instant
//! the generator draws is exactly representable in the output and the same seed always
//! prints the same text. Calendar arithmetic is integer-only (no floating point, no time
//! zone database): output must not depend on the machine it was made on.

use chrono::{Datelike, NaiveDate};

/// 100 ns since 1970-01-01T00:00:00Z.
pub type Ticks = i64;

pub const SECOND: Ticks = 10_000_000;
pub const MINUTE: Ticks = 60 * SECOND;
pub const HOUR: Ticks = 60 * MINUTE;
pub const DAY: Ticks = 24 * HOUR;

/// Midnight UTC of `date`.
pub fn from_date(date: NaiveDate) -> Ticks {
    let days = i64::from(date.num_days_from_ce()) - 719_163; // 1970-01-01 is day 719163 of the CE
    days * DAY
}

/// Days since the epoch of the UTC day holding `t`.
pub fn day_number(t: Ticks) -> i64 {
    t.div_euclid(DAY)
}

/// Monday = 0 … Sunday = 6, of the UTC day holding `t`.
pub fn weekday(t: Ticks) -> u32 {
    // 1970-01-01 was a Thursday (3).
    (day_number(t) + 3).rem_euclid(7) as u32
}

/// Hour of the UTC day holding `t`, 0–23.
pub fn hour_of_day(t: Ticks) -> u32 {
    (t.rem_euclid(DAY) / HOUR) as u32
}

/// (year, month, day) of a day number (Howard Hinnant's `civil_from_days`).
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn push_digits(buf: &mut Vec<u8>, value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut v = value;
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    buf.extend_from_slice(&digits[..width]);
}

/// Writes `YYYY-MM-DDTHH:MM:SS` (no fraction, no zone).
fn push_seconds(buf: &mut Vec<u8>, t: Ticks) {
    let (year, month, day) = civil(day_number(t));
    let in_day = t.rem_euclid(DAY) / SECOND;
    push_digits(buf, year as u64, 4);
    buf.push(b'-');
    push_digits(buf, u64::from(month), 2);
    buf.push(b'-');
    push_digits(buf, u64::from(day), 2);
    buf.push(b'T');
    push_digits(buf, (in_day / 3600) as u64, 2);
    buf.push(b':');
    push_digits(buf, (in_day / 60 % 60) as u64, 2);
    buf.push(b':');
    push_digits(buf, (in_day % 60) as u64, 2);
}

/// The record form: `2026-10-01T13:05:09.1234567Z`, always seven fractional digits.
pub fn push_record_time(buf: &mut Vec<u8>, t: Ticks) {
    push_seconds(buf, t);
    buf.push(b'.');
    push_digits(buf, t.rem_euclid(SECOND) as u64, 7);
    buf.push(b'Z');
}

/// RFC 3339 to the second, `Z` suffix: the truth file's windows.
pub fn rfc3339(t: Ticks) -> String {
    let mut buf = Vec::with_capacity(20);
    push_seconds(&mut buf, t);
    buf.push(b'Z');
    String::from_utf8(buf).unwrap_or_default()
}

/// The form `az keyvault secret list` prints: `2025-11-03T10:15:22+00:00`.
pub fn az_datetime(t: Ticks) -> String {
    let mut buf = Vec::with_capacity(25);
    push_seconds(&mut buf, t);
    buf.extend_from_slice(b"+00:00");
    String::from_utf8(buf).unwrap_or_default()
}

/// Whole seconds since the epoch, as Key Vault writes `exp`/`nbf` attributes.
pub fn unix_seconds(t: Ticks) -> i64 {
    t.div_euclid(SECOND)
}

/// The path components of the hourly blob holding `t`: `y=YYYY/m=MM/d=DD/h=HH/m=00`.
pub fn blob_hour_dir(t: Ticks) -> String {
    let (year, month, day) = civil(day_number(t));
    format!("y={year:04}/m={month:02}/d={day:02}/h={:02}/m=00", hour_of_day(t))
}

/// `YYYY-MM-DD` of the UTC day holding `t`.
pub fn date_text(t: Ticks) -> String {
    let (year, month, day) = civil(day_number(t));
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_agrees_with_chrono_over_centuries() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for days in (-200_000i64..200_000).step_by(37) {
            let date = epoch + chrono::Duration::days(days);
            assert_eq!(civil(days), (i64::from(date.year()), date.month(), date.day()));
            assert_eq!(from_date(date), days * DAY);
        }
    }

    #[test]
    fn formats() {
        let t =
            from_date(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()) + 13 * HOUR + 5 * MINUTE + 9 * SECOND + 1_234_567;
        let mut buf = Vec::new();
        push_record_time(&mut buf, t);
        assert_eq!(String::from_utf8(buf).unwrap(), "2026-10-01T13:05:09.1234567Z");
        assert_eq!(rfc3339(t), "2026-10-01T13:05:09Z");
        assert_eq!(az_datetime(t), "2026-10-01T13:05:09+00:00");
        assert_eq!(blob_hour_dir(t), "y=2026/m=10/d=01/h=13/m=00");
        assert_eq!(weekday(t), 3); // 2026-10-01 is a Thursday
    }
}
