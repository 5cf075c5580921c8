//! Records that could not become rows, kept with where they came from and why.
//!
//! Each quarantine file is JSON Lines, one entry per rejected record:
//! `{"source", "offset", "length", "reason", "quarantined_at", "raw" | "raw_base64" | "raw_file"}`.
//! `raw` holds the original bytes when they are UTF-8, `raw_base64` when they are not, and
//! `raw_file` names a side file for a record too large to inline. Nothing is dropped.

use base64::Engine;
use serde::Serialize;

/// A rejected record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineEntry {
    pub source: String,
    pub offset: u64,
    pub length: u64,
    pub reason: String,
    /// The original bytes, unless they were written to a side file.
    pub bytes: Option<Vec<u8>>,
    /// The side file (relative to the lake root) holding the bytes of an oversized record.
    pub raw_file: Option<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    source: &'a str,
    offset: u64,
    length: u64,
    reason: &'a str,
    quarantined_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_file: Option<&'a str>,
}

impl QuarantineEntry {
    /// Appends this entry as one JSON line to `out`.
    pub fn write_line(&self, quarantined_at: &str, out: &mut Vec<u8>) {
        let (raw, raw_base64) = match &self.bytes {
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => (Some(text), None),
                Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(bytes))),
            },
            None => (None, None),
        };
        let line = Line {
            source: &self.source,
            offset: self.offset,
            length: self.length,
            reason: &self.reason,
            quarantined_at,
            raw,
            raw_base64,
            raw_file: self.raw_file.as_deref(),
        };
        serde_json::to_writer(&mut *out, &line).expect("quarantine entry serializes");
        out.push(b'\n');
    }
}
