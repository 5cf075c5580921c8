//! A fast path for the shape nearly every record has: one JSON object whose keys and kept
//! strings have no escapes, whose numbers are plain integers, and whose `identity` and
//! `properties` are objects. It reads such a record into the same [`SourceRecord`] serde
//! would build, without serde's per-value visitor calls and struct moves, which a profile
//! of the benchmark's ingest put at about a sixth of all CPU time.
//!
//! Invariant: [`parse`] returns `Some` only when serde_json, given the same text, returns
//! the same record; for anything else (an escape in a key or a string, a fraction or an
//! exponent, a duplicate key, `identity` as a JSON string, a control character, nesting
//! deeper than it follows, trailing text) it returns `None` and the caller asks serde,
//! whose answer (a record, or the error a quarantine entry names) stays the reference.
//! It never panics on any input. `tests` checks both against each other on real and
//! generated records and on many damaged copies of them.

use std::borrow::Cow;

use super::claims::{Claims, IdentityObject};
use super::lenient::Lenient;
use super::{IdentityField, Properties, SourceRecord};

/// Nested objects and arrays skipped inside a value: deeper ones are left to serde.
const MAX_DEPTH: usize = 16;

/// Integers are copied as written; serde writes them back from an `i64` or `u64`, which
/// gives the same text for up to 18 digits without a leading zero or `-0`.
const MAX_DIGITS: usize = 18;

/// Reads the record in `text` into `record`, which starts as its default; `None` if serde
/// must decide (`record` is then partly filled, to be thrown away). Filled in place rather
/// than returned: the record is a few hundred bytes, and returning it through an `Option`
/// copied it once more per record.
pub(super) fn parse_into<'a>(text: &'a str, record: &mut SourceRecord<'a>) -> Option<()> {
    let mut scanner = Scanner { text, at: 0 };
    scanner.source_record(record)?;
    scanner.skip_whitespace();
    (scanner.at == text.len()).then_some(())
}

/// The record in `text`, or `None` if serde must decide.
#[cfg(test)]
fn parse(text: &str) -> Option<SourceRecord<'_>> {
    let mut record = SourceRecord::default();
    parse_into(text, &mut record).map(|()| record)
}

/// One JSON value, as much of it as the record's fields need.
enum Value<'a> {
    /// A string without escapes.
    Str(&'a str),
    /// An integer or `true`/`false`, as written.
    Scalar(&'a str),
    Null,
    /// An object starts here (the scanner stands on its `{`).
    Object,
    /// An array or an object that was skipped.
    Skipped,
}

impl<'a> Value<'a> {
    /// What serde gives a [`Lenient`] field for it.
    fn lenient(self) -> Lenient<'a> {
        match self {
            Value::Str(text) | Value::Scalar(text) => Lenient(Some(Cow::Borrowed(text))),
            Value::Null | Value::Skipped | Value::Object => Lenient(None),
        }
    }
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Skips whitespace and one expected byte.
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// A string with no escape and no control character (which JSON forbids raw), the
    /// scanner standing on its opening quote. Its bounds are ASCII quotes, so slicing the
    /// `str` there is always on a character boundary.
    fn string(&mut self) -> Option<&'a str> {
        let start = self.at + 1;
        let rest = self.text.as_bytes().get(start..)?;
        let len = string_end(rest);
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.at = start + len + 1;
        Some(&self.text[start..start + len])
    }

    /// An integer as JSON writes it and serde writes it back: `0`, or up to
    /// [`MAX_DIGITS`] digits not starting with 0, optionally negative (not `-0`).
    fn integer(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let digits_from = start + usize::from(bytes[start] == b'-');
        let digits = bytes.get(digits_from..)?.iter().take_while(|b| b.is_ascii_digit()).count();
        let end = digits_from + digits;
        let plain = match (digits, bytes.get(digits_from)) {
            (1, Some(b'0')) => digits_from == start,
            (1..=MAX_DIGITS, Some(first)) => *first != b'0',
            _ => false,
        };
        // A fraction, an exponent or anything else glued on: serde's turn.
        if !plain || matches!(bytes.get(end), Some(b'.' | b'e' | b'E' | b'0'..=b'9')) {
            return None;
        }
        self.at = end;
        Some(&self.text[start..end])
    }

    fn literal(&mut self, word: &'static str) -> Option<()> {
        let rest = self.text.as_bytes().get(self.at..)?;
        rest.starts_with(word.as_bytes()).then(|| self.at += word.len())
    }

    /// The next value, `depth` objects and arrays deep; objects are left for the caller
    /// to read or skip.
    fn value(&mut self, depth: usize) -> Option<Value<'a>> {
        self.skip_whitespace();
        Some(match self.peek()? {
            b'"' => Value::Str(self.string()?),
            b'-' | b'0'..=b'9' => Value::Scalar(self.integer()?),
            b't' => self.literal("true").map(|()| Value::Scalar("true"))?,
            b'f' => self.literal("false").map(|()| Value::Scalar("false"))?,
            b'n' => self.literal("null").map(|()| Value::Null)?,
            b'{' => Value::Object,
            b'[' => {
                self.skip_array(depth)?;
                Value::Skipped
            }
            _ => return None,
        })
    }

    /// The next value, an object skipped whole.
    fn any_value(&mut self, depth: usize) -> Option<Value<'a>> {
        match self.value(depth)? {
            Value::Object => {
                self.skip_object(depth)?;
                Some(Value::Skipped)
            }
            other => Some(other),
        }
    }

    fn skip_object(&mut self, depth: usize) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.members(|scanner, _| scanner.any_value(depth + 1).map(drop))
    }

    fn skip_array(&mut self, depth: usize) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        if self.open(b'[', b']')? {
            return Some(());
        }
        loop {
            self.any_value(depth + 1)?;
            if self.next_or_close(b']')? {
                return Some(());
            }
        }
    }

    /// Past `open` and whitespace: whether the object or array is empty (then past its
    /// `close` too).
    fn open(&mut self, open: u8, close: u8) -> Option<bool> {
        self.expect(open)?;
        self.skip_whitespace();
        let empty = self.peek() == Some(close);
        if empty {
            self.at += 1;
        }
        Some(empty)
    }

    /// After an item: past a comma (`false`, another item follows) or past `close` (`true`).
    fn next_or_close(&mut self, close: u8) -> Option<bool> {
        self.skip_whitespace();
        let byte = self.peek()?;
        if byte != b',' && byte != close {
            return None;
        }
        self.at += 1;
        Some(byte == close)
    }

    /// The members of the object the scanner stands on, each key handed to `member`
    /// (which reads its value), up to and past the closing brace.
    fn members(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        if self.open(b'{', b'}')? {
            return Some(());
        }
        loop {
            self.skip_whitespace();
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.string()?;
            self.expect(b':')?;
            member(self, key)?;
            if self.next_or_close(b'}')? {
                return Some(());
            }
        }
    }

    fn source_record(&mut self, record: &mut SourceRecord<'a>) -> Option<()> {
        let mut seen = Seen::default();
        self.members(|scanner, key| {
            let (field, index) = match key {
                "time" => (&mut record.time, 0),
                "resourceId" => (&mut record.resource_id, 1),
                "operationName" => (&mut record.operation_name, 2),
                "operationVersion" => (&mut record.operation_version, 3),
                "resultType" => (&mut record.result_type, 4),
                "resultSignature" => (&mut record.result_signature, 5),
                "resultDescription" => (&mut record.result_description, 6),
                "durationMs" => (&mut record.duration_ms, 7),
                "callerIpAddress" => (&mut record.caller_ip_address, 8),
                "correlationId" => (&mut record.correlation_id, 9),
                "identity" => {
                    seen.first(10)?;
                    record.identity = scanner.identity()?;
                    return Some(());
                }
                "properties" => {
                    seen.first(11)?;
                    return scanner.properties(&mut record.properties);
                }
                _ => return scanner.any_value(1).map(drop),
            };
            seen.first(index)?;
            *field = scanner.any_value(1)?.lenient();
            Some(())
        })
    }

    /// `identity`: an object holding `claim`, or null. A JSON string holding the object
    /// (Managed HSM) is serde's; other scalars and arrays are no caller, as there.
    fn identity(&mut self) -> Option<IdentityField<'a>> {
        match self.value(1)? {
            Value::Object => {
                let mut identity = IdentityObject::default();
                let mut seen = Seen::default();
                self.members(|scanner, key| {
                    if key != "claim" {
                        return scanner.any_value(2).map(drop);
                    }
                    seen.first(0)?;
                    identity.claim = match scanner.value(2)? {
                        Value::Object => Some(scanner.claims()?),
                        Value::Null => None,
                        // serde refuses any other type for `claim`.
                        _ => return None,
                    };
                    Some(())
                })?;
                Some(IdentityField(identity.claim.map(|c| c.caller())))
            }
            Value::Str(_) => None,
            Value::Scalar(_) | Value::Null | Value::Skipped => Some(IdentityField(None)),
        }
    }

    fn claims(&mut self) -> Option<Claims<'a>> {
        let mut c = Claims::default();
        let mut fields = [
            &mut c.oid,
            &mut c.oid_uri,
            &mut c.appid,
            &mut c.azp,
            &mut c.upn,
            &mut c.upn_uri,
            &mut c.unique_name,
            &mut c.name_uri,
            &mut c.idtyp,
            &mut c.xms_mirid,
            &mut c.appidacr,
            &mut c.scp,
        ];
        self.lenient_fields(3, claim_index, &mut fields)?;
        Some(c)
    }

    /// `properties`: an object or null (serde would read an array by position: its turn).
    fn properties(&mut self, properties: &mut Option<Properties<'a>>) -> Option<()> {
        match self.value(1)? {
            Value::Null => {
                *properties = None;
                Some(())
            }
            Value::Object => {
                let p = properties.insert(Properties::default());
                let mut fields = [
                    &mut p.id,
                    &mut p.client_info,
                    &mut p.http_status_code,
                    &mut p.request_uri,
                    &mut p.is_access_policy_match,
                    &mut p.is_rbac_authorized,
                    &mut p.tls_version,
                ];
                self.lenient_fields(2, property_index, &mut fields)
            }
            _ => None,
        }
    }

    /// The members of the object the scanner stands on, values `depth` deep: the one under
    /// a key `index_of` places at `i` read leniently into `fields[i]`, others skipped. A
    /// key met twice is serde's (it refuses the record).
    fn lenient_fields(
        &mut self,
        depth: usize,
        index_of: fn(&str) -> Option<usize>,
        fields: &mut [&mut Lenient<'a>],
    ) -> Option<()> {
        let mut seen = Seen::default();
        self.members(|scanner, key| match index_of(key) {
            Some(index) => {
                seen.first(index as u32)?;
                *fields[index] = scanner.any_value(depth)?.lenient();
                Some(())
            }
            None => scanner.any_value(depth).map(drop),
        })
    }
}

/// Where a claim goes among the fields `claims` lists (serde's names for them).
fn claim_index(key: &str) -> Option<usize> {
    Some(match key {
        "oid" => 0,
        "http://schemas.microsoft.com/identity/claims/objectidentifier" => 1,
        "appid" => 2,
        "azp" => 3,
        "upn" => 4,
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn" => 5,
        "unique_name" => 6,
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name" => 7,
        "idtyp" => 8,
        "xms_mirid" => 9,
        "appidacr" => 10,
        "scp" => 11,
        _ => return None,
    })
}

/// Where a property goes among the fields `properties` lists.
fn property_index(key: &str) -> Option<usize> {
    Some(match key {
        "id" => 0,
        "clientInfo" => 1,
        "httpStatusCode" => 2,
        "requestUri" => 3,
        "isAccessPolicyMatch" => 4,
        "isRbacAuthorized" => 5,
        "tlsVersion" => 6,
        _ => return None,
    })
}

/// The first byte of `bytes` that ends a string or makes it one serde must read: a quote,
/// a backslash or a control character; `bytes.len()` if none.
///
/// On x86-64, sixteen bytes at a time with SSE2, which every x86-64 CPU has (so no test of
/// the CPU, and the loop inlines into the scanner); the rest of the string, shorter than
/// sixteen bytes, eight at a time as elsewhere. Measured with the `parse/decode` benchmark:
/// see the README's Known gaps.
fn string_end(bytes: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86-64, so every CPU this code is built for has it; the only
    // load reads 16 bytes from `at` with `at + 16 <= bytes.len()`, inside `bytes`.
    unsafe {
        use std::arch::x86_64::*;
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let control = _mm_set1_epi8(0x1f);
        let mut at = 0;
        while at + 16 <= bytes.len() {
            let chunk = _mm_loadu_si128(bytes.as_ptr().add(at) as *const __m128i);
            // A control character is a byte equal to its (unsigned) minimum with 0x1f.
            let stops = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)),
                _mm_cmpeq_epi8(_mm_min_epu8(chunk, control), chunk),
            );
            let mask = _mm_movemask_epi8(stops);
            if mask != 0 {
                return at + mask.trailing_zeros() as usize;
            }
            at += 16;
        }
        at + string_end_by_words(&bytes[at..])
    }
    #[cfg(not(target_arch = "x86_64"))]
    string_end_by_words(bytes)
}

/// [`string_end`] eight bytes at a time: each test below sets the high bit of every byte
/// that matches, and of no byte before the first match (borrows only run upwards), so the
/// lowest set bit is exact.
fn string_end_by_words(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let stops = zero_byte(word ^ (ONES * u64::from(b'"')))
            | zero_byte(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word & HIGH);
        if stops != 0 {
            return at + stops.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    at + bytes[at..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(bytes.len() - at)
}

/// The known keys of one object met so far, one bit each: serde refuses a record that
/// repeats one.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn first(&mut self, field: u32) -> Option<()> {
        let bit = 1 << field;
        if self.0 & bit != 0 {
            return None;
        }
        self.0 |= bit;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde's reading of the same text, the reference.
    fn by_serde(text: &str) -> Option<SourceRecord<'_>> {
        serde_json::from_str(text).ok()
    }

    /// The fast path either steps aside or agrees with serde.
    fn agrees(text: &str) -> bool {
        match parse(text) {
            None => false,
            Some(fast) => {
                assert_eq!(Some(&fast), by_serde(text).as_ref(), "{text}");
                true
            }
        }
    }

    #[test]
    fn real_and_generated_records_take_the_fast_path_and_agree_with_serde() {
        let records = crate::record::sample_records();
        let fast = records.iter().filter(|r| agrees(r)).count();
        // Every generated record has the common shape; a few real ones carry escapes.
        assert!(fast * 10 >= records.len() * 9, "{fast} of {}", records.len());
    }

    #[test]
    fn string_ends_are_found_at_every_position() {
        for len in 0..40 {
            for stop in [b'"', b'\\', b'\n', 0x00, 0x1f] {
                let mut bytes = vec![b'a'; len];
                bytes.extend_from_slice(&[stop, b'"', 0x7f, 0xc3]);
                assert_eq!(string_end(&bytes), len, "{len} {stop}");
                assert_eq!(string_end_by_words(&bytes), len, "{len} {stop}");
            }
            // Bytes that are none of them, next to the boundaries of the tests: no stop.
            let clean: Vec<u8> = (0..len).map(|i| [0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff][i % 8]).collect();
            assert_eq!(string_end(&clean), len);
            assert_eq!(string_end_by_words(&clean), len);
        }
    }

    #[test]
    fn anything_unusual_is_left_to_serde() {
        let base = r#"{"time":"2024-01-01T00:00:00Z","operationName":"SecretGet","durationMs":VALUE}"#;
        for value in [
            r#""a\"b""#,            // an escape
            "1.5",                  // a fraction
            "1e3",                  // an exponent
            "-0",                   // serde writes 0
            "0123",                 // not JSON
            "12345678901234567890", // past i64
            "\"tab\there\"",        // a raw control character
            "tru",                  // not a literal
            "[1,",                  // unterminated
        ] {
            let text = base.replace("VALUE", value);
            assert!(parse(&text).is_none(), "{text}");
        }
        for text in [
            r#"{"time":"a","time":"b"}"#,       // a repeated key
            r#"{"identity":"{\"claim\":{}}"}"#, // identity as a string
            r#"{"identity":{"claim":"x"}}"#,    // serde refuses it
            r#"{"properties":["a"]}"#,          // read by position by serde
            r#"{"time":"a"} x"#,                // trailing text
            r#"{"ti\u006de":"a"}"#,             // an escaped key
        ] {
            assert!(parse(text).is_none(), "{text}");
        }
        for text in [
            r#"{"durationMs":-12,"x":[[1,{"a":null}],true,false],"properties":null,"identity":null}"#,
            r#"{ "identity" : [1,2] , "properties" : { "httpStatusCode" : 403 } }"#,
            r#"{"identity":{"claim":null,"other":{"a":[]}}}"#,
            r#"{}"#,
        ] {
            assert!(agrees(text), "{text}");
        }
    }

    #[test]
    fn damaged_records_never_panic_and_never_disagree() {
        // Deterministic damage: each record with one byte replaced, removed or cut after,
        // at positions spread over the record, with bytes that matter to JSON.
        let mut checked = 0;
        for record in crate::record::sample_records().iter().take(300) {
            let bytes = record.as_bytes();
            for i in (0..bytes.len()).step_by(7) {
                for with in [b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'0', b'.', b'-', b'\t', b'n'] {
                    let mut damaged = bytes.to_vec();
                    damaged[i] = with;
                    if let Ok(text) = std::str::from_utf8(&damaged) {
                        agrees(text);
                        checked += 1;
                    }
                }
                let mut removed = bytes.to_vec();
                removed.remove(i);
                if let Ok(text) = std::str::from_utf8(&removed) {
                    agrees(text);
                }
                if let Ok(text) = std::str::from_utf8(&bytes[..i]) {
                    assert!(parse(text).is_none() || by_serde(text).is_some(), "{text}");
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }
}
