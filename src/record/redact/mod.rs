//! Credentials that leaked into a record, found and replaced before the record is parsed.
//!
//! Key Vault records sometimes carry a credential by accident: a SAS `sig=` in a
//! `requestUri`, a connection string or a bearer token in `clientInfo`, a token echoed in
//! `resultDescription`. [`Redactor::redact`] finds values of six well-defined shapes in the
//! record's raw bytes and replaces each with `[REDACTED:<pattern>:<16 hex>]`, where the hex
//! digits are HMAC-SHA256 of the value under the lake's own random key
//! (`_state/redaction_salt`): equal values still correlate within a lake, and a short or
//! guessable value cannot be recovered by hashing a dictionary without that key.
//!
//! Invariants:
//! - redaction happens on the raw bytes, before [`super::decode`], so `raw` and every column
//!   derived from it (and any quarantine entry) see the same redacted text;
//! - a replaced range lies inside one JSON string and never splits an escape sequence, and
//!   the marker holds no `"` or `\`, so a record that was valid JSON stays valid JSON with
//!   every other field unchanged;
//! - a record holding none of the trigger substrings costs one SIMD pass (32 bytes at a
//!   time where the CPU has AVX2, four memchr passes elsewhere) and no allocation (see
//!   [`sites`]).
//!
//! Patterns (see each `match_*` function for the exact shape):
//! `sas_signature`, `jwt`, `storage_connection_string` (`AccountKey=`, `SharedAccessKey=`,
//! `SharedAccessSignature=`), `private_key` (PEM blocks), `bearer_token`, and
//! `keyword_secret`: a high-entropy token right after `key`, `secret`, `password` or
//! `token` and `=` or `:` (see [`is_high_entropy`] for the threshold and why).

use std::borrow::Cow;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

mod sites;

/// The kinds of credential found. Names are stable: they appear in the `redactions`
/// column, the markers and the ingest summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pattern {
    SasSignature,
    Jwt,
    StorageConnectionString,
    PrivateKey,
    BearerToken,
    KeywordSecret,
}

impl Pattern {
    pub const ALL: [Pattern; 6] = [
        Pattern::SasSignature,
        Pattern::Jwt,
        Pattern::StorageConnectionString,
        Pattern::PrivateKey,
        Pattern::BearerToken,
        Pattern::KeywordSecret,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::SasSignature => "sas_signature",
            Pattern::Jwt => "jwt",
            Pattern::StorageConnectionString => "storage_connection_string",
            Pattern::PrivateKey => "private_key",
            Pattern::BearerToken => "bearer_token",
            Pattern::KeywordSecret => "keyword_secret",
        }
    }
}

/// A credential found in a record: its byte range in the original bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub pattern: Pattern,
}

/// One redaction made: where (the `events` column, or the JSON path for fields without
/// one), what, and the value's keyed hash (16 hex digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    pub field: String,
    pub pattern: Pattern,
    pub hash: String,
}

/// A record after redaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted<'a> {
    /// The record's bytes: borrowed unchanged when nothing was found.
    pub bytes: Cow<'a, [u8]>,
    pub redactions: Vec<Redaction>,
}

impl Redacted<'_> {
    /// The pattern of each redaction.
    pub fn patterns(&self) -> Vec<Pattern> {
        self.redactions.iter().map(|r| r.pattern).collect()
    }

    /// The `redactions` column: `field:pattern:hash` per distinct redaction, `;`-separated;
    /// `None` when there were none.
    pub fn column(&self) -> Option<String> {
        if self.redactions.is_empty() {
            return None;
        }
        let mut parts: Vec<String> =
            self.redactions.iter().map(|r| format!("{}:{}:{}", r.field, r.pattern.as_str(), r.hash)).collect();
        parts.sort();
        parts.dedup();
        Some(parts.join(";"))
    }
}

/// Why the lake's redaction key could not be read or made.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct SaltError {
    pub path: std::path::PathBuf,
    pub source: std::io::Error,
}

/// Finds and replaces credentials, keyed by one lake's salt.
#[derive(Clone)]
pub struct Redactor {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor { .. }")
    }
}

const SALT_BYTES: usize = 32;

impl Redactor {
    /// A redactor keyed by `salt`.
    pub fn new(salt: &[u8]) -> Self {
        Redactor { mac: Hmac::<Sha256>::new_from_slice(salt).expect("HMAC takes a key of any length") }
    }

    /// The redactor of the lake whose salt file is `path`: read, or made once (32 random
    /// bytes, mode 0600) when the lake has none yet. The caller holds the lake lock.
    pub fn for_salt_file(path: &Path) -> Result<Self, SaltError> {
        let err = |source| SaltError { path: path.to_path_buf(), source };
        match std::fs::read(path) {
            Ok(salt) if salt.len() >= 16 => return Ok(Redactor::new(&salt)),
            Ok(_) => {
                return Err(err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the redaction salt is too short",
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
        let salt: [u8; SALT_BYTES] = rand::random();
        std::fs::create_dir_all(path.parent().expect("the salt lives in _state")).map_err(err)?;
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp).map_err(err)?;
            file.write_all(&salt).map_err(err)?;
            file.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, path).map_err(err)?;
        Ok(Redactor::new(&salt))
    }

    /// 16 hex digits of HMAC-SHA256(salt, value). JSON's `\/` is read as `/`, so the same
    /// value hashes the same whichever way the writer escaped it.
    pub fn hash(&self, value: &[u8]) -> String {
        let mut mac = self.mac.clone();
        let mut rest = value;
        while let Some(i) = memchr::memmem::find(rest, b"\\/") {
            mac.update(&rest[..i]);
            mac.update(b"/");
            rest = &rest[i + 2..];
        }
        mac.update(rest);
        let digest = mac.finalize().into_bytes();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The record with every credential replaced by its marker.
    pub fn redact<'a>(&self, raw: &'a [u8]) -> Redacted<'a> {
        let found = scan(raw);
        if found.is_empty() {
            return Redacted { bytes: Cow::Borrowed(raw), redactions: Vec::new() };
        }
        let fields = fields_of(raw, &found);
        let mut out = Vec::with_capacity(raw.len());
        let mut redactions = Vec::with_capacity(found.len());
        let mut at = 0;
        for (f, field) in found.iter().zip(fields) {
            // A range outside any JSON string (a number, the record's structure) cannot be
            // replaced by text without breaking the record; none of the patterns matches
            // there in a well-formed record.
            let Some(field) = field else { continue };
            let hash = self.hash(&raw[f.start..f.end]);
            out.extend_from_slice(&raw[at..f.start]);
            out.extend_from_slice(b"[REDACTED:");
            out.extend_from_slice(f.pattern.as_str().as_bytes());
            out.push(b':');
            out.extend_from_slice(hash.as_bytes());
            out.push(b']');
            at = f.end;
            redactions.push(Redaction { field, pattern: f.pattern, hash });
        }
        if redactions.is_empty() {
            return Redacted { bytes: Cow::Borrowed(raw), redactions };
        }
        out.extend_from_slice(&raw[at..]);
        Redacted { bytes: Cow::Owned(out), redactions }
    }

    /// Redacts bytes that need not be one JSON record (an oversized line going to a
    /// quarantine side file, read in pieces): every match is replaced, wherever it is.
    /// Returns the bytes and the patterns of the values replaced.
    pub fn redact_anywhere<'a>(&self, bytes: &'a [u8]) -> (Cow<'a, [u8]>, Vec<Pattern>) {
        let found = scan(bytes);
        if found.is_empty() {
            return (Cow::Borrowed(bytes), Vec::new());
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        for f in &found {
            out.extend_from_slice(&bytes[at..f.start]);
            let marker = format!("[REDACTED:{}:{}]", f.pattern.as_str(), self.hash(&bytes[f.start..f.end]));
            out.extend_from_slice(marker.as_bytes());
            at = f.end;
        }
        out.extend_from_slice(&bytes[at..]);
        (Cow::Owned(out), found.iter().map(|f| f.pattern).collect())
    }
}

/// Every credential in `raw`, in order, not overlapping (see [`sites`] for how the places
/// worth a look are found).
pub fn scan(raw: &[u8]) -> Vec<Found> {
    sites::scan(raw)
}

/// Keeps the earliest of overlapping credentials, the longest among equal starts (a `sig=`
/// inside a `SharedAccessSignature=` value is part of the outer one). Among equal ranges,
/// the separator's wins, then a JWT, a PEM block, a bearer token: a JWT after `Bearer ` is
/// named `jwt`.
fn without_overlaps(mut found: Vec<Found>) -> Vec<Found> {
    if found.len() <= 1 {
        return found;
    }
    let rank = |p: Pattern| match p {
        Pattern::Jwt => 1,
        Pattern::PrivateKey => 2,
        Pattern::BearerToken => 3,
        Pattern::SasSignature | Pattern::StorageConnectionString | Pattern::KeywordSecret => 0,
    };
    // Stable: equal keys keep the order they were found in, which is by position.
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end), rank(f.pattern)));
    let mut kept: Vec<Found> = Vec::with_capacity(found.len());
    for f in found {
        if kept.last().is_none_or(|k| f.start >= k.end) {
            kept.push(f);
        }
    }
    kept
}

/// A credential whose name ends just before the `=` or `:` at `p` (a closing quote and
/// spaces allowed in between).
fn at_separator(raw: &[u8], p: usize) -> Option<Found> {
    let mut end = p;
    while end > 0 && raw[end - 1] == b' ' {
        end -= 1;
    }
    let quoted = end > 0 && matches!(raw[end - 1], b'"' | b'\'');
    if quoted {
        end -= 1;
        if end > 0 && raw[end - 1] == b'\\' {
            end -= 1;
        }
    }
    // Every name below ends in one of these letters: most separators are ruled out here.
    if end == 0 || !matches!(raw[end - 1].to_ascii_lowercase(), b'y' | b't' | b'd' | b'n' | b'e' | b'g') {
        return None;
    }
    let word = &raw[..end];
    let ends =
        |suffix: &[u8]| word.len() >= suffix.len() && word[word.len() - suffix.len()..].eq_ignore_ascii_case(suffix);
    let direct = raw[p] == b'=' && end == p;
    if direct && ends(b"sig") {
        let start = end - 3;
        return match_sas(raw, start, p + 1).map(|(s, e)| Found { start: s, end: e, pattern: Pattern::SasSignature });
    }
    if direct && (ends(b"accountkey") || ends(b"sharedaccesskey")) {
        let value = value_run(raw, p + 1, BASE64).filter(|&e| e - (p + 1) >= 20);
        if let Some(e) = value {
            return Some(Found { start: p + 1, end: e, pattern: Pattern::StorageConnectionString });
        }
    }
    if direct && ends(b"sharedaccesssignature") {
        let value = value_run(raw, p + 1, SAS_VALUE).filter(|&e| e - (p + 1) >= 20);
        return value.map(|e| Found { start: p + 1, end: e, pattern: Pattern::StorageConnectionString });
    }
    for keyword in [&b"key"[..], b"secret", b"password", b"token"] {
        if ends(keyword) {
            return match_keyword(raw, end).map(|(s, e)| Found { start: s, end: e, pattern: Pattern::KeywordSecret });
        }
    }
    None
}

/// Byte classes of values.
const BASE64: u8 = 1; // A-Z a-z 0-9 + / =
const URL_B64: u8 = 2; // BASE64 plus % (url-encoded) - _
const SAS_VALUE: u8 = 4; // a whole SAS query: URL_B64 plus & . : and the like
const TOKEN: u8 = 8; // base64url, base64 and . ~ (bearer tokens)
const SECRET: u8 = 16; // any printable except separators

const fn classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let alnum = b.is_ascii_alphanumeric();
        let mut v = 0;
        if alnum || b == b'+' || b == b'/' || b == b'=' {
            v |= BASE64 | URL_B64 | SAS_VALUE | TOKEN;
        }
        if b == b'%' || b == b'-' || b == b'_' {
            v |= URL_B64 | SAS_VALUE | TOKEN;
        }
        if b == b'&' || b == b'.' || b == b':' || b == b',' {
            v |= SAS_VALUE;
        }
        if b == b'.' || b == b'~' {
            v |= TOKEN;
        }
        if b.is_ascii_graphic()
            && !matches!(
                b,
                b'"' | b'\\' | b',' | b';' | b'&' | b'\'' | b'<' | b'>' | b'(' | b')' | b'[' | b']' | b'{' | b'}'
            )
        {
            v |= SECRET;
        }
        t[c] = v;
        c += 1;
    }
    t
}

static CLASS: [u8; 256] = classes();

/// The end of the run of `class` bytes from `start` (JSON's `\/`, `\u0026` (`&`) and
/// `\u003d` (`=`) count when their character would), or `None` for an empty run.
fn value_run(raw: &[u8], start: usize, class: u8) -> Option<usize> {
    let mut i = start;
    while i < raw.len() {
        let b = raw[i];
        if CLASS[b as usize] & class != 0 {
            i += 1;
        } else if b == b'\\' {
            let n = escape_len(&raw[i..]);
            match n {
                Some((len, ch)) if CLASS[ch as usize] & class != 0 => i += len,
                _ => break,
            }
        } else {
            break;
        }
    }
    (i > start).then_some(i)
}

/// A JSON escape at the start of `s` that stands for one ASCII character: its length and
/// the character.
fn escape_len(s: &[u8]) -> Option<(usize, u8)> {
    match s.get(1)? {
        b'/' => Some((2, b'/')),
        b'u' if s.len() >= 6 && s[2] == b'0' && s[3] == b'0' => {
            let hex = std::str::from_utf8(&s[4..6]).ok()?;
            let c = u8::from_str_radix(hex, 16).ok()?;
            c.is_ascii_graphic().then_some((6, c))
        }
        _ => None,
    }
}

/// Whether the byte before `at` ends a word: a separator, or JSON's escaped `&`.
fn boundary_before(raw: &[u8], at: usize) -> bool {
    if at == 0 {
        return true;
    }
    let b = raw[at - 1];
    let word = b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    !word || (at >= 6 && raw[at - 6..at].eq_ignore_ascii_case(b"\\u0026"))
}

/// `sig=` (after `?`, `&` or a separator; `start` is at `s`, `end` after `=`) and at least
/// 20 characters of url-encoded base64: a SAS token's HMAC-SHA256 signature is 44.
fn match_sas(raw: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    if !boundary_before(raw, start) {
        return None;
    }
    let e = value_run(raw, end, URL_B64)?;
    let decoded = decoded_len(&raw[end..e]);
    (decoded >= 20).then_some((end, e))
}

/// Characters of a url-encoded value once `%XX` is decoded.
fn decoded_len(v: &[u8]) -> usize {
    v.len() - 2 * memchr::memchr_iter(b'%', v).count()
}

/// `eyJ…` `.` `eyJ…` `.` signature: a JSON Web Token (header and claims are base64url of
/// JSON objects, so both start `eyJ`).
fn match_jwt(raw: &[u8], start: usize) -> Option<(usize, usize)> {
    if &raw[start..start + 3] != b"eyJ" || !boundary_before(raw, start) {
        return None;
    }
    let b64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let run = |from: usize| from + raw[from..].iter().take_while(|&&b| b64url(b)).count();
    let header_end = run(start);
    if header_end - start < 10 || raw.get(header_end) != Some(&b'.') {
        return None;
    }
    let claims = header_end + 1;
    if !raw[claims..].starts_with(b"eyJ") {
        return None;
    }
    let claims_end = run(claims);
    if claims_end - claims < 10 || raw.get(claims_end) != Some(&b'.') {
        return None;
    }
    Some((start, run(claims_end + 1)))
}

/// `-----BEGIN … PRIVATE KEY-----` through its `-----END …-----` line (or, cut off, to the
/// end of the string holding it).
fn match_pem(raw: &[u8], start: usize) -> Option<(usize, usize)> {
    let label_start = start + "-----BEGIN ".len();
    let label_len = memchr::memmem::find(&raw[label_start..raw.len().min(label_start + 64)], b"-----")?;
    let label = &raw[label_start..label_start + label_len];
    if !label.to_ascii_uppercase().ends_with(b"PRIVATE KEY") {
        return None;
    }
    let body = label_start + label_len + 5;
    if let Some(end) = memchr::memmem::find(&raw[body..], b"-----END ") {
        let close = body + end + 9;
        if let Some(dashes) = memchr::memmem::find(&raw[close..raw.len().min(close + 64)], b"-----") {
            return Some((start, close + dashes + 5));
        }
    }
    Some((start, string_end(raw, body)))
}

/// The position of the unescaped `"` that ends the JSON string `at` is in (or the end).
fn string_end(raw: &[u8], at: usize) -> usize {
    let mut i = at;
    while i < raw.len() {
        match raw[i] {
            b'"' => return i,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    raw.len()
}

/// `Bearer <token>`, the token at least 20 characters (the words after "Bearer" in Key
/// Vault's own "missing a Bearer or PoP token" are not one).
fn match_bearer(raw: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    if !boundary_before(raw, start) {
        return None;
    }
    let e = value_run(raw, end, TOKEN)?;
    (e - end >= 20).then_some((end, e))
}

/// `key`/`secret`/`password`/`token`, a `=` or `:` (a JSON key's closing quote and spaces
/// allowed around it, and an opening quote after), then a high-entropy token.
fn match_keyword(raw: &[u8], end: usize) -> Option<(usize, usize)> {
    let mut i = end;
    let skip_quote = |i: &mut usize| {
        if raw[*i..].starts_with(b"\\\"") {
            *i += 2;
        } else if raw.get(*i) == Some(&b'"') || raw.get(*i) == Some(&b'\'') {
            *i += 1;
        }
    };
    let skip_spaces = |i: &mut usize| {
        while raw.get(*i) == Some(&b' ') {
            *i += 1;
        }
    };
    skip_quote(&mut i);
    skip_spaces(&mut i);
    match raw.get(i) {
        Some(b'=' | b':') => i += 1,
        _ => return None,
    }
    skip_spaces(&mut i);
    skip_quote(&mut i);
    let e = value_run(raw, i, SECRET)?;
    is_high_entropy(&raw[i..e]).then_some((i, e))
}

/// Whether a value next to a secret-like keyword is a credential rather than a name or an
/// id: at least 20 characters, digits and at least two more of (lower, upper, other)
/// character classes, not GUID-shaped, and Shannon entropy of at least 3.5 bits per
/// character.
///
/// Why 3.5: a random base64 token of 20 characters has an empirical entropy of about 4.0
/// bits per character (of 20 draws from 64 symbols about 17 are distinct), and longer ones
/// more, so 3.5 keeps them with a wide margin; English-like identifiers of that length
/// (`DefaultEndpointsProtocol`, `Microsoft.KeyVault/vaults/secrets/getSecret/action`) reach
/// 3.3–3.9 but have no digits, hex ids (versions, hashes) use two classes, and GUIDs, which
/// use three and reach 3.6–3.9, are excluded by shape. Requiring a digit misses a random
/// base64 token of 20 characters without one about 3% of the time, of 40 characters 0.1%.
pub fn is_high_entropy(v: &[u8]) -> bool {
    if v.len() < 20 {
        return false;
    }
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    let mut counts = [0u32; 256];
    for &b in v {
        counts[b as usize] += 1;
        match b {
            b'a'..=b'z' => lower = true,
            b'A'..=b'Z' => upper = true,
            b'0'..=b'9' => digit = true,
            _ => other = true,
        }
    }
    if !digit || [lower, upper, digit, other].iter().filter(|&&c| c).count() < 3 || is_guid(v) {
        return false;
    }
    let n = v.len() as f64;
    let entropy: f64 = counts.iter().filter(|&&c| c > 0).map(|&c| -(c as f64 / n) * (c as f64 / n).log2()).sum();
    entropy >= 3.5
}

fn is_guid(v: &[u8]) -> bool {
    v.len() == 36
        && v.iter()
            .enumerate()
            .all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { *b == b'-' } else { b.is_ascii_hexdigit() })
}

/// The field each found range is in: the `events` column for the fields that have one,
/// else the JSON path (`properties.properties.tags`); `None` when a range is not inside
/// one JSON string value. A small tokenizer over the record, run only when something was
/// found.
fn fields_of(raw: &[u8], found: &[Found]) -> Vec<Option<String>> {
    /// A key, as its byte range in `raw` (no allocation per key).
    type Key = Option<(usize, usize)>;
    enum Level {
        /// An object: its key in the parent, and whether the next string is a key.
        Object {
            key: Key,
            expect_key: bool,
        },
        Array {
            key: Key,
        },
    }
    let mut stack: Vec<Level> = Vec::with_capacity(8);
    let mut pending_key: Key = None;
    let mut out: Vec<Option<String>> = vec![None; found.len()];
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'{' => stack.push(Level::Object { key: pending_key.take(), expect_key: true }),
            b'[' => stack.push(Level::Array { key: pending_key.take() }),
            b'}' | b']' => {
                stack.pop();
                pending_key = None;
            }
            b',' => {
                if let Some(Level::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = true;
                    pending_key = None;
                }
            }
            b':' => {
                if let Some(Level::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = false;
                }
            }
            b'"' => {
                let end = string_end(raw, i + 1);
                if let Some(Level::Object { expect_key: true, .. }) = stack.last() {
                    pending_key = Some((i + 1, end));
                } else {
                    for (slot, f) in out.iter_mut().zip(found) {
                        if f.start > i && f.end <= end {
                            let keys = stack
                                .iter()
                                .filter_map(|l| match l {
                                    Level::Object { key, .. } | Level::Array { key } => *key,
                                })
                                .chain(pending_key);
                            let parts: Vec<String> =
                                keys.map(|(s, e)| String::from_utf8_lossy(&raw[s..e]).into_owned()).collect();
                            *slot = Some(column_of(&parts.join(".")));
                        }
                    }
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The `events` column a record field feeds, or the field's JSON path.
fn column_of(path: &str) -> String {
    match path {
        "properties.requestUri" => "request_uri",
        "properties.clientInfo" => "client_info",
        "resultDescription" => "result_description",
        "resultSignature" => "result_signature",
        "resultType" => "result_type",
        "callerIpAddress" => "caller_ip",
        "correlationId" => "correlation_id",
        "operationName" => "operation",
        "properties.tlsVersion" => "tls_version",
        other => return other.to_owned(),
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "k3Jq7Xw9PzL2mN8vB4cR6tY1uI0oP5aS7dF9gH2jK4l%3D";
    const JWT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3ZhdWx0LmF6dXJlLm5ldCIsIm9pZCI6IjEyMyJ9.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const ACCOUNT_KEY: &str =
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGR0hJSktMTU5PUFFSU1RVVg==";

    fn redactor() -> Redactor {
        Redactor::new(b"test salt, sixteen bytes or more")
    }

    /// A record with `field` (a path under the record: `properties.requestUri`,
    /// `resultDescription`, ...) set to `value`.
    fn record(request_uri: &str, client_info: &str, description: &str) -> String {
        format!(
            r#"{{"time":"2026-10-01T09:10:00.1234567Z","category":"AuditEvent","operationName":"SecretGet","resultType":"Success","resultDescription":"{description}","correlationId":"3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b","callerIpAddress":"10.0.0.5","identity":{{"claim":{{"oid":"0d8f3c2e-1a4b-4c5d-8e9f-a0b1c2d3e4f5","appid":"7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098","appidacr":"2","idtyp":"app"}}}},"properties":{{"id":"https://kv-a.vault.azure.net/secrets/db-password/0123456789abcdef0123456789abcdef","clientInfo":"{client_info}","httpStatusCode":200,"requestUri":"{request_uri}","isAccessPolicyMatch":true,"tlsVersion":"TLS1_2"}},"resourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV-A","operationVersion":"7.4","resultSignature":"OK","durationMs":"12"}}"#
        )
    }

    const URI: &str = "https://kv-a.vault.azure.net/secrets/db-password?api-version=7.4";
    const AGENT: &str = "azsdk-net-Security.KeyVault.Secrets/4.6.0 (.NET 8.0.4; Ubuntu 22.04)";

    fn found(text: &str) -> Vec<(Pattern, String)> {
        scan(text.as_bytes()).into_iter().map(|f| (f.pattern, text[f.start..f.end].to_owned())).collect()
    }

    #[test]
    fn sas_signatures_in_urls() {
        let uri = format!("{URI}&sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2027-01-01T00:00:00Z&spr=https&sig={SIG}");
        assert_eq!(found(&uri), vec![(Pattern::SasSignature, SIG.to_owned())]);
        // JSON writers may escape `&` and `/`.
        let escaped = format!("x?sv=2022-11-02\\u0026sig=abc\\/def{SIG}");
        assert_eq!(found(&escaped), vec![(Pattern::SasSignature, format!("abc\\/def{SIG}"))]);
        // Near misses: too short to be an HMAC, or `sig=` inside another word.
        assert!(found("https://x/?sig=abc123").is_empty());
        assert!(found(&format!("https://x/?configsig={SIG}")).is_empty());
        assert!(found("https://x/?sig=").is_empty());
    }

    #[test]
    fn json_web_tokens() {
        assert_eq!(found(&format!("token was {JWT} here")), vec![(Pattern::Jwt, JWT.to_owned())]);
        // Near misses: one or two parts, a short header, base64 that only starts `eyJ`.
        let two: Vec<&str> = JWT.splitn(3, '.').collect();
        assert!(found(&format!("{}.{}", two[0], two[1])).is_empty());
        assert!(found("eyJhbGciOiJIUzI1NiJ9").is_empty());
        assert!(found("eyJa.eyJb.c").is_empty());
        assert!(found(&format!("xeyJ{}", &JWT[3..])).is_empty());
    }

    #[test]
    fn connection_string_secrets() {
        let cs = format!(
            "DefaultEndpointsProtocol=https;AccountName=stbuild01;AccountKey={ACCOUNT_KEY};EndpointSuffix=core.windows.net"
        );
        assert_eq!(found(&cs), vec![(Pattern::StorageConnectionString, ACCOUNT_KEY.to_owned())]);
        let sb = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=Ab3dEf5hIj7lMn9pQr1tUv3xYz5BcD7fGh9jKl1nOp3=";
        assert_eq!(found(sb)[0].0, Pattern::StorageConnectionString);
        assert!(found(sb)[0].1.starts_with("Ab3d"));
        let sas =
            format!("BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig={SIG}");
        let f = found(&sas);
        assert_eq!(f.len(), 1, "the signature inside is part of the one value: {f:?}");
        assert_eq!(f[0].1, format!("sv=2022-11-02&ss=b&sig={SIG}"));
        // Near misses: the account name, a short key.
        assert!(found("DefaultEndpointsProtocol=https;AccountName=stbuild01;AccountKey=abc;").is_empty());
    }

    #[test]
    fn private_key_blocks() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEAx3Jq7Xw9PzL2mN8vB4cR6tY1uI0oP5aS7dF9gH2jK4l\\n-----END RSA PRIVATE KEY-----";
        assert_eq!(found(&format!("key: {pem} done")), vec![(Pattern::PrivateKey, pem.to_owned())]);
        // Cut off: to the end of the string.
        let cut = "\"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\",\"x\":1";
        assert_eq!(found(cut)[0].1, "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC");
        // Near miss: a certificate is public.
        assert!(found("-----BEGIN CERTIFICATE-----\\nMIIDdzCCAl+gAwIBAgIE\\n-----END CERTIFICATE-----").is_empty());
    }

    #[test]
    fn bearer_tokens() {
        let opaque = "Authorization: Bearer Ab3dEf5hIj7lMn9pQr1tUv3xYz5Bc";
        assert_eq!(found(opaque), vec![(Pattern::BearerToken, "Ab3dEf5hIj7lMn9pQr1tUv3xYz5Bc".to_owned())]);
        // A bearer token that is a JWT is named for the more specific shape.
        assert_eq!(found(&format!("Authorization: Bearer {JWT}")), vec![(Pattern::Jwt, JWT.to_owned())]);
        // Key Vault's own text for the challenge flow's 401 is not a token.
        assert!(found("AKV10000: Request is missing a Bearer or PoP token.").is_empty());
        assert!(found("Bearer error=\"invalid_token\"").is_empty());
    }

    #[test]
    fn high_entropy_values_after_secret_words() {
        let token = "q8Z!rT2#wX9$mK4pL7vB1nC6";
        for text in [
            format!("client_secret={token}"),
            format!("APIKEY: {token}"),
            format!("{{\\\"password\\\":\\\"{token}\\\"}}"),
            format!("x-api-token = '{token}'"),
        ] {
            assert_eq!(found(&text), vec![(Pattern::KeywordSecret, token.to_owned())], "{text}");
        }
        // Near misses: ids, names and versions after the same words.
        for text in [
            "key=0d8f3c2e-1a4b-4c5d-8e9f-a0b1c2d3e4f5",
            "secret: 0123456789abcdef0123456789abcdef",
            "keyName=storage-account-key-primary-2024",
            "password=DefaultEndpointsProtocol",
            "token=short1A!",
            "\"keyProperties\":{\"type\":\"RSA\"}",
            "https://kv.vault.azure.net/secrets/db-password/0123456789abcdef0123456789abcdef?api-version=7.4",
            "secret=Microsoft.KeyVault/vaults/secrets/getSecret/action",
        ] {
            assert!(found(text).is_empty(), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn entropy_threshold() {
        assert!(is_high_entropy(b"Zm9vYmFyYmF6cXV4MTIzNDU2"));
        assert!(!is_high_entropy(b"aaaaaaaaaaBBBBBBBBBB1111"), "three classes, low entropy");
        assert!(!is_high_entropy(b"0d8f3c2e-1a4b-4c5d-8e9f-a0b1c2d3e4f5"), "a GUID");
        assert!(!is_high_entropy(b"Ab1!"), "too short");
    }

    #[test]
    fn redacted_records_stay_valid_and_keep_their_other_fields() {
        let r = redactor();
        let uri = format!("{URI}&sv=2022-11-02&sig={SIG}");
        let info =
            format!("AZURECLI/2.64.0 AZURE_STORAGE_CONNECTION_STRING=AccountName=a;AccountKey={ACCOUNT_KEY};x=y");
        let desc = format!("Echoed header Authorization: {JWT}");
        let leaky = record(&uri, &info, &desc);
        let out = r.redact(leaky.as_bytes());
        let text = std::str::from_utf8(&out.bytes).unwrap();
        for secret in [SIG, ACCOUNT_KEY, JWT] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(
            out.column().unwrap().split(';').map(|p| p.rsplit_once(':').unwrap().0).collect::<Vec<_>>(),
            ["client_info:storage_connection_string", "request_uri:sas_signature", "result_description:jwt"]
        );
        let redacted = super::super::decode(&out.bytes).unwrap();
        let hash = &out.redactions.iter().find(|x| x.pattern == Pattern::SasSignature).unwrap().hash;
        let marker = format!("[REDACTED:sas_signature:{hash}]");
        assert_eq!(redacted.request_uri.as_deref(), Some(format!("{URI}&sv=2022-11-02&sig={marker}").as_str()));
        assert!(!marker.contains('"') && !marker.contains('\\'));

        // The same record without the secrets, with the markers in their place, parses to
        // the same columns.
        let marker = |p: Pattern| {
            let hash = &out.redactions.iter().find(|x| x.pattern == p).unwrap().hash;
            format!("[REDACTED:{}:{hash}]", p.as_str())
        };
        let clean = record(
            &uri.replace(SIG, &marker(Pattern::SasSignature)),
            &info.replace(ACCOUNT_KEY, &marker(Pattern::StorageConnectionString)),
            &desc.replace(JWT, &marker(Pattern::Jwt)),
        );
        let expected = super::super::decode(clean.as_bytes()).unwrap();
        assert_eq!(redacted, Event { raw: redacted.raw, ..expected });
        assert_eq!(redacted.raw, clean);
        // And the record without them at all keeps the same other fields.
        let plain = record(URI, AGENT, "ok");
        let plain = super::super::decode(plain.as_bytes()).unwrap();
        assert_eq!(
            (redacted.time_us, &redacted.caller, &redacted.object_name),
            (plain.time_us, &plain.caller, &plain.object_name)
        );
    }

    use super::super::Event;

    #[test]
    fn hashes_correlate_within_a_salt_only() {
        let (a, b) = (redactor(), Redactor::new(b"another salt of sixteen+ bytes"));
        let v = format!("x?sig={SIG}");
        let v2 = format!("other?sp=r&sig={SIG}");
        let h = |r: &Redactor, t: &str| r.redact(t.as_bytes()).redactions[0].hash.clone();
        assert_eq!(h(&a, &format!("\"{v}\"")), h(&a, &format!("\"{v2}\"")));
        assert_ne!(h(&a, &format!("\"{v}\"")), h(&b, &format!("\"{v}\"")));
        assert_eq!(a.hash(b"ab\\/cd"), a.hash(b"ab/cd"));
    }

    #[test]
    fn clean_records_are_borrowed_unchanged() {
        let text = record(URI, AGENT, "ok");
        let out = redactor().redact(text.as_bytes());
        assert!(matches!(out.bytes, Cow::Borrowed(_)) && out.column().is_none());
    }

    #[test]
    fn the_real_records_hold_no_credentials() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/keyvault-real");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json" || e == "jsonl") {
                let bytes = std::fs::read(&path).unwrap();
                assert_eq!(scan(&bytes), vec![], "{}", path.display());
                files += 1;
            }
        }
        assert!(files >= 4);
    }

    #[test]
    fn salt_file_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("_state/redaction_salt");
        let a = Redactor::for_salt_file(&path).unwrap();
        let b = Redactor::for_salt_file(&path).unwrap();
        assert_eq!(a.hash(b"x"), b.hash(b"x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
