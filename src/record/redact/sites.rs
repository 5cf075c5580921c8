//! The places in a record where a credential may be: what [`super::scan`] checks in full.
//!
//! Two kinds of place:
//! - a `=` or `:` whose word before it ends as a credential's name does (`sig`, `…key`,
//!   `secret`, `password`, `token`, `…signature`: last letters `ig`, `ey`, `et`, `rd`, `en`,
//!   `re`, in any case), or that has a space, a quote or `\"` before it. The parent's
//!   `at_separator` then compares the whole word;
//! - the end of `eyJ` (a JWT), of `---` (a PEM block's `-----BEGIN `) and of `er ` (a bearer
//!   token's `earer `), then compared in full and matched by the parent's `match_*`.
//!
//! Two ways to find them, with the same result (tests compare them on the real and
//! generated records, with credentials planted at every alignment, and on damaged copies):
//! where the CPU has AVX2, one pass tests 32 bytes at a time and looks closer only where a
//! test says so; elsewhere, four memchr passes (`memchr2` for the separators, `memmem` for
//! each prefix). Why the first: a record has a `:` or `=` every ~20 bytes (each JSON key
//! has one), so `memchr2` stopped and restarted its loop ~50 times a record, and checking
//! each word's end by hand cost as much again; the four passes were ~8 % of ingest's CPU.
//!
//! Invariant: every separator for which `at_separator` finds a credential, and every start
//! of the three prefixes, is a place; the tests on bits only leave out positions the full
//! check would reject.

use std::sync::LazyLock;

use memchr::memmem;

use super::{Found, Pattern, at_separator, match_bearer, match_jwt, match_pem, without_overlaps};

/// Every credential in `raw`, in order, not overlapping.
pub(super) fn scan(raw: &[u8]) -> Vec<Found> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        let mut found = Vec::new();
        // SAFETY: the CPU has AVX2, detected just above.
        let done = unsafe { avx2::windows(raw, &mut found) };
        one_by_one(raw, done, &mut found);
        return without_overlaps(found);
    }
    by_passes(raw)
}

/// Checks every position from `from` on, one at a time: the tail too short for a window
/// (or a whole record of fewer than 34 bytes).
fn one_by_one(raw: &[u8], from: usize, found: &mut Vec<Found>) {
    for p in from..raw.len() {
        match raw[p] {
            b':' | b'=' => separator(raw, p, found),
            b'J' | b'-' | b' ' if p >= 2 => prefix_end(raw, p, found),
            _ => {}
        }
    }
}

/// The credential named before the separator at `p`, if any.
fn separator(raw: &[u8], p: usize, found: &mut Vec<Found>) {
    if let Some(f) = at_separator(raw, p) {
        found.push(f);
    }
}

/// The credential whose prefix (`eyJ`, `-----BEGIN `, `Bearer `) has its third byte at `p`
/// (`r ` of `earer ` for a bearer token), if any. `p` is at least 2.
fn prefix_end(raw: &[u8], p: usize, found: &mut Vec<Found>) {
    let start = p - 2;
    match &raw[start..=p] {
        b"eyJ" => {
            if let Some((start, end)) = match_jwt(raw, start) {
                found.push(Found { start, end, pattern: Pattern::Jwt });
            }
        }
        b"---" => {
            if raw[start..].starts_with(b"-----BEGIN ")
                && let Some((start, end)) = match_pem(raw, start)
            {
                found.push(Found { start, end, pattern: Pattern::PrivateKey });
            }
        }
        b"er " => {
            // `earer ` at `e`, and `B` or `b` before it.
            if p >= 6
                && &raw[p - 5..=p] == b"earer "
                && matches!(raw[p - 6], b'B' | b'b')
                && let Some((start, end)) = match_bearer(raw, p - 6, p + 1)
            {
                found.push(Found { start, end, pattern: Pattern::BearerToken });
            }
        }
        _ => {}
    }
}

/// Finders of the substrings that start a JWT, a PEM block and a bearer token.
static JWT_START: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"eyJ"));
static PEM_START: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"-----BEGIN "));
/// `Bearer ` or `bearer `: the first letter is checked by hand.
static BEARER: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"earer "));

/// The portable way: four memchr passes, each `=` or `:` checked in full.
fn by_passes(raw: &[u8]) -> Vec<Found> {
    let mut found = Vec::new();
    for p in memchr::memchr2_iter(b'=', b':', raw) {
        separator(raw, p, &mut found);
    }
    for p in JWT_START.find_iter(raw) {
        prefix_end(raw, p + 2, &mut found);
    }
    for p in PEM_START.find_iter(raw) {
        prefix_end(raw, p + 2, &mut found);
    }
    for p in BEARER.find_iter(raw) {
        prefix_end(raw, p + 5, &mut found);
    }
    without_overlaps(found)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Found, prefix_end, separator};

    /// Checks positions 2 onwards in windows of 32 bytes while a whole window fits, and
    /// returns the first position left unchecked. Positions 0 and 1 are never checked (a
    /// window reads the two bytes before it): no place can be there, as a keyword's
    /// separator comes after at least three letters and a prefix's third byte is at 2 at
    /// the earliest.
    ///
    /// Each window loads the bytes at `p`, `p - 1` and `p - 2` for its 32 positions and
    /// turns each test into a 32-bit mask (bit k: position `i + k`).
    #[target_feature(enable = "avx2")]
    pub(super) fn windows(raw: &[u8], found: &mut Vec<Found>) -> usize {
        macro_rules! eq {
            ($v:expr, $byte:expr) => {
                _mm256_cmpeq_epi8($v, _mm256_set1_epi8($byte as i8))
            };
        }
        macro_rules! bits {
            ($v:expr) => {
                _mm256_movemask_epi8($v) as u32
            };
        }
        let (or, and) = (_mm256_or_si256, _mm256_and_si256);
        let case = _mm256_set1_epi8(0x20);
        if raw.len() < 2 {
            return 0;
        }
        let mut i = 2;
        // Bit 0: a name's last two letters end at `i - 2` (never, for the first window:
        // nothing comes before position 0).
        let mut carry = 0u32;
        while i + 32 <= raw.len() {
            // SAFETY: `i - 2 + 32 <= i + 32 <= raw.len()`: every load reads inside `raw`.
            let (at, before, before2) = unsafe {
                let base = raw.as_ptr();
                (
                    _mm256_loadu_si256(base.add(i) as *const __m256i),
                    _mm256_loadu_si256(base.add(i - 1) as *const __m256i),
                    _mm256_loadu_si256(base.add(i - 2) as *const __m256i),
                )
            };
            // `| 0x20` lowers an ASCII capital and changes no other byte into a small letter.
            let (last, second_last) = (or(before, case), or(before2, case));
            let name_end = or(
                or(
                    and(eq!(second_last, b'e'), or(or(eq!(last, b'y'), eq!(last, b't')), eq!(last, b'n'))),
                    and(eq!(second_last, b'i'), eq!(last, b'g')),
                ),
                and(eq!(second_last, b'r'), or(eq!(last, b'd'), eq!(last, b'e'))),
            );
            // A name ending at `p - 1`, and at `p - 2` (the same bits one position on).
            let name_end_1 = bits!(name_end);
            let name_end_2 = (name_end_1 << 1) | carry;
            carry = name_end_1 >> 31;
            let separators = bits!(or(eq!(at, b':'), eq!(at, b'=')))
                & (name_end_1
                    | bits!(eq!(before, b' '))
                    | (bits!(or(eq!(before, b'"'), eq!(before, b'\''))) & (name_end_2 | bits!(eq!(before2, b'\\')))));
            let prefixes = bits!(or(
                and(
                    eq!(before2, b'e'),
                    or(and(eq!(before, b'y'), eq!(at, b'J')), and(eq!(before, b'r'), eq!(at, b' ')))
                ),
                and(and(eq!(before2, b'-'), eq!(before, b'-')), eq!(at, b'-')),
            ));
            let mut left = separators;
            while left != 0 {
                separator(raw, i + left.trailing_zeros() as usize, found);
                left &= left - 1;
            }
            let mut left = prefixes;
            while left != 0 {
                prefix_end(raw, i + left.trailing_zeros() as usize, found);
                left &= left - 1;
            }
            i += 32;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways agree on `raw`.
    fn agree(raw: &[u8]) {
        assert_eq!(scan(raw), by_passes(raw), "{}", String::from_utf8_lossy(raw));
    }

    /// Credentials of every pattern, as they appear in records, and near misses.
    const PLANTS: [&str; 13] = [
        "&sig=k3Jq7Xw9PzL2mN8vB4cR6tY1uI0oP5aS7dF9gH2jK4l%3D",
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3ZhdWx0LmF6dXJlLm5ldCJ9.dBjftJeZ4CVP-mB92K27uh",
        "AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJD==",
        "SharedAccessSignature=sv=2022-11-02&sig=k3Jq7Xw9PzL2mN8vB4cR6tY1uI0oP5aS7dF9gH2jK4l%3D",
        "-----BEGIN RSA PRIVATE KEY-----MIIEowIBAAKCAQEA7x9-----END RSA PRIVATE KEY-----",
        "Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3ZhdWx0In0.sig",
        "bearer Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFi",
        r#"\"clientSecret\": \"Q7x~Vb3Kp9Lm2Nr8Ts4Wz6Yc1Df5Gh0Jk\""#,
        r#""password" : "Q7x~Vb3Kp9Lm2Nr8Ts4Wz6Yc1Df5Gh0Jk""#,
        r#"{"accessToken":"Q7x~Vb3Kp9Lm2Nr8Ts4Wz6Yc1Df5Gh0Jk"}"#,
        "token='Q7x~Vb3Kp9Lm2Nr8Ts4Wz6Yc1Df5Gh0Jk'",
        "API_KEY  =  Q7xVb3Kp9Lm2Nr8Ts4Wz6Yc1Df5Gh0Jk",
        "missing a Bearer or PoP token; ---- eyJ short; configsig=abc",
    ];

    #[test]
    fn both_ways_agree_on_credentials_at_every_alignment() {
        for plant in PLANTS {
            for before in 0..70 {
                for after in [0, 1, 31, 40] {
                    let text = format!("{}{plant}{}", "a".repeat(before), " ".repeat(after));
                    agree(text.as_bytes());
                }
            }
            assert!(!scan(plant.as_bytes()).is_empty() || plant.starts_with("missing"), "{plant}");
        }
        // Nothing, or too short for a window.
        for text in ["", "a", "ab", ":", "=x", "k:", "key=Q7xVb3Kp9Lm2Nr8Ts4Wz6Yc1"] {
            agree(text.as_bytes());
        }
    }

    #[test]
    fn both_ways_agree_on_real_and_generated_records_with_credentials_planted() {
        let records = crate::record::sample_records();
        let mut with_credentials = 0;
        for (n, record) in records.iter().enumerate() {
            agree(record.as_bytes());
            // Into a string value, at a position that moves from record to record.
            let plant = PLANTS[n % PLANTS.len()].replace('"', "\\\"");
            if let Some(at) = record.match_indices("\":\"").map(|(i, _)| i + 3).nth(n % 7) {
                let planted = format!("{}{plant}{}", &record[..at], &record[at..]);
                agree(planted.as_bytes());
                with_credentials += usize::from(!scan(planted.as_bytes()).is_empty());
            }
        }
        assert!(with_credentials * 2 > records.len(), "{with_credentials} of {}", records.len());
    }

    #[test]
    fn both_ways_agree_on_damaged_records() {
        let records = crate::record::sample_records();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for n in 0..3000 {
            let mut bytes = records[n % records.len()].clone().into_bytes();
            bytes.splice(0..0, PLANTS[n % PLANTS.len()].bytes());
            for _ in 0..4 {
                let at = next(bytes.len());
                // Bytes the tests look for, and any byte.
                let byte = b":=\"' \\eyJr-Bkig"[next(15)];
                bytes[at] = if n % 3 == 0 { next(256) as u8 } else { byte };
            }
            agree(&bytes);
        }
    }
}
