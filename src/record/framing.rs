//! Finding records in a stretch of source bytes.
//!
//! Three shapes reach kvaudit: JSON Lines (every `PT1H.json` since 2018-11-01), the
//! `{"records":[...]}` wrapper (older blobs and Event Hubs, often pretty-printed over many
//! lines) and a bare JSON array. A stretch may mix them: an Event Hubs capture can hold one
//! wrapper per line. So the shape is decided unit by unit, at each unit's first byte: `[`
//! opens an array, `{` followed by the key `"records"` opens a wrapper (no Key Vault record
//! has a `records` key), any other `{` starts a line.
//!
//! Invariants:
//! - Offsets are absolute: `base` plus the position in the stretch, so a record's
//!   `source_offset` is the same whichever run reads it.
//! - A line is complete when its newline has arrived. A trailing line without a newline is
//!   taken only when it is already a complete JSON value (a writer that ended the last
//!   record without `\n`); otherwise it is left for a later read, because the append blob
//!   it came from may still be growing. The same holds for a document still being written.
//! - `consumed` never splits a unit: the next read starts exactly at a unit boundary.

use serde::Deserialize;
use serde_json::value::RawValue;

/// One unit found in the stretch.
#[derive(Debug, PartialEq, Eq)]
pub enum Unit<'a> {
    /// The bytes of one record, to decode.
    Record { offset: u64, bytes: &'a [u8] },
    /// Bytes that cannot hold records (a document that is not valid JSON). They go to
    /// quarantine whole, with the reason.
    Broken { offset: u64, bytes: &'a [u8], reason: String },
}

/// Why framing stopped before the end of the stretch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    /// Everything was consumed.
    None,
    /// A line without its newline yet.
    PartialLine,
    /// A wrapper or array document that is not complete yet.
    PartialDocument,
}

/// What framing a stretch found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed {
    /// Bytes consumed from the start of the stretch; always at a unit boundary.
    pub consumed: usize,
    pub rest: Rest,
}

#[derive(Deserialize)]
struct Wrapper<'a> {
    #[serde(borrow)]
    records: Vec<&'a RawValue>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// True when `buf` (starting at `{`) is a `{"records": ...}` wrapper.
fn opens_wrapper(buf: &[u8]) -> bool {
    let after = buf[1..].iter().position(|b| !is_space(*b)).map(|p| p + 1);
    after.is_some_and(|p| buf[p..].starts_with(b"\"records\""))
}

/// Tells whether a stretch starting at its first non-blank byte opens a document (wrapper
/// or array) rather than a line. Readers use it to read documents whole.
pub fn starts_document(buf: &[u8]) -> bool {
    match buf.iter().position(|b| !is_space(*b)) {
        Some(p) => buf[p] == b'[' || (buf[p] == b'{' && opens_wrapper(&buf[p..])),
        None => false,
    }
}

/// Splits `buf` (source bytes starting at absolute offset `base`) into units, calling
/// `emit` for each in order.
///
/// `last` says whether the stretch ends at the current end of the source: only then may a
/// document that is not finished yet be waiting for more bytes; elsewhere it is broken.
pub fn frame<'a>(buf: &'a [u8], base: u64, last: bool, mut emit: impl FnMut(Unit<'a>)) -> Framed {
    let mut pos = 0usize;
    loop {
        while pos < buf.len() && is_space(buf[pos]) {
            pos += 1;
        }
        if pos == buf.len() {
            return Framed { consumed: pos, rest: Rest::None };
        }
        let here = &buf[pos..];
        let offset = base + pos as u64;
        if here[0] == b'[' || (here[0] == b'{' && opens_wrapper(here)) {
            match frame_document(here, offset, last, &mut emit) {
                Some(len) => pos += len,
                None => {
                    return Framed { consumed: pos, rest: Rest::PartialDocument };
                }
            }
            continue;
        }
        match memchr::memchr(b'\n', here) {
            Some(nl) => {
                let line = trim_end(&here[..nl]);
                if !line.is_empty() {
                    emit(Unit::Record { offset, bytes: line });
                }
                pos += nl + 1;
            }
            None => {
                // No newline yet: take the tail only if it is already a whole JSON value.
                let tail = trim_end(here);
                if serde_json::from_slice::<serde::de::IgnoredAny>(tail).is_ok() {
                    emit(Unit::Record { offset, bytes: tail });
                    return Framed { consumed: buf.len(), rest: Rest::None };
                }
                return Framed { consumed: pos, rest: Rest::PartialLine };
            }
        }
    }
}

fn trim_end(line: &[u8]) -> &[u8] {
    let end = line.iter().rposition(|b| !is_space(*b)).map_or(0, |p| p + 1);
    &line[..end]
}

/// Frames one document at the start of `doc`. Returns its length, or `None` when the
/// document is not complete yet.
fn frame_document<'a>(doc: &'a [u8], offset: u64, last: bool, emit: &mut impl FnMut(Unit<'a>)) -> Option<usize> {
    let mut stream = serde_json::Deserializer::from_slice(doc).into_iter::<&RawValue>();
    let value = match stream.next()? {
        Ok(value) => value,
        Err(e) if e.is_eof() && last => return None,
        Err(e) => {
            // A broken document has no reliable end. Its first line goes to quarantine and
            // framing goes on line by line: a pretty-printed document's other lines follow
            // it there, and records after it are not lost in its wake.
            let line = memchr::memchr(b'\n', doc).map_or(doc.len(), |nl| nl + 1);
            emit(Unit::Broken { offset, bytes: trim_end(&doc[..line]), reason: format!("broken JSON document: {e}") });
            return Some(line);
        }
    };
    let len = stream.byte_offset();
    let text = value.get();
    let items: Result<Vec<&RawValue>, _> = if text.starts_with('[') {
        serde_json::from_str(text)
    } else {
        serde_json::from_str::<Wrapper>(text).map(|w| w.records)
    };
    match items {
        Ok(items) => {
            for item in items {
                // RawValue borrows from `doc`, so its position in `doc` is its offset.
                let start = item.get().as_ptr() as usize - doc.as_ptr() as usize;
                emit(Unit::Record { offset: offset + start as u64, bytes: item.get().as_bytes() });
            }
        }
        Err(e) => emit(Unit::Broken {
            offset,
            bytes: &doc[..len],
            reason: format!("JSON document is neither a record array nor {{\"records\":[...]}}: {e}"),
        }),
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(buf: &[u8]) -> (Vec<(u64, String)>, Framed) {
        let mut out = Vec::new();
        let framed = frame(buf, 100, true, |u| match u {
            Unit::Record { offset, bytes } => out.push((offset, String::from_utf8_lossy(bytes).into_owned())),
            Unit::Broken { offset, reason, .. } => out.push((offset, format!("BROKEN {reason}"))),
        });
        (out, framed)
    }

    #[test]
    fn lines_with_offsets_and_a_partial_tail() {
        let (u, f) = units(b"{\"a\":1}\r\n\n{\"b\":2}\n{\"c\":");
        assert_eq!(u, vec![(100, "{\"a\":1}".to_string()), (110, "{\"b\":2}".to_string())]);
        assert_eq!(f, Framed { consumed: 18, rest: Rest::PartialLine });
    }

    #[test]
    fn complete_tail_without_newline_is_taken() {
        let (u, f) = units(b"{\"a\":1}\n{\"b\":2}");
        assert_eq!(u.len(), 2);
        assert_eq!(f, Framed { consumed: 15, rest: Rest::None });
    }

    #[test]
    fn pretty_printed_wrapper_and_bare_array() {
        let doc = b"{\n \"records\": [\n  {\"a\":1},\n  {\"b\":2}\n ]\n}";
        let (u, f) = units(doc);
        assert_eq!(u, vec![(100 + 18, "{\"a\":1}".to_string()), (100 + 29, "{\"b\":2}".to_string())]);
        assert_eq!(f.rest, Rest::None);
        let (u, _) = units(b"[{\"a\":1}, {\"b\":2}]\n{\"c\":3}\n");
        assert_eq!(u.iter().map(|x| x.0).collect::<Vec<_>>(), vec![101, 110, 119]);
    }

    #[test]
    fn incomplete_document_waits_and_broken_document_is_quarantined() {
        let (u, f) = units(b"{\"records\": [{\"a\":1},");
        assert!(u.is_empty());
        assert_eq!(f, Framed { consumed: 0, rest: Rest::PartialDocument });
        let (u, f) = units(b"[{\"a\":1} {\"b\":2}]\n{\"c\":3}\n");
        assert!(u[0].1.starts_with("BROKEN"), "{u:?}");
        assert_eq!(u[1], (118, "{\"c\":3}".to_string()));
        assert_eq!(f.rest, Rest::None);
    }
}
