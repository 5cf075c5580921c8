//! Cells that are safe to open in a spreadsheet (OWASP, "CSV Injection").
//!
//! A cell starting with `=`, `+`, `-` or `@` is read as a formula by Excel, LibreOffice and
//! Google Sheets, and so is one starting with a tab or a carriage return (some importers
//! strip them and then see the formula). Log fields are attacker-controlled: a caller
//! chooses its `clientInfo` (User-Agent), the request URI and the object names it asks for.
//! Such a cell gets a single quote in front, which spreadsheets show as text; every cell is
//! then written quoted, with inner double quotes doubled (RFC 4180), by the CSV writer.
//!
//! Invariant: every text cell kvaudit writes to a CSV file goes through [`neutralise`].
//! Numbers, booleans and times are formatted by kvaudit itself and never need it.

use std::borrow::Cow;

/// The first characters that make a spreadsheet evaluate a cell.
pub const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell`, with a `'` in front if a spreadsheet would read it as a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_TRIGGERS) { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// A CSV writer that quotes every cell (so a neutralised cell stays one cell, whatever
/// commas, quotes or line breaks follow the quote).
pub fn writer<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new().quote_style(csv::QuoteStyle::Always).terminator(csv::Terminator::CRLF).from_writer(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_triggers_get_a_quote_and_plain_text_is_untouched() {
        for payload in [r#"=HYPERLINK("http://x","y")"#, "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\t=1+1", "\r=1+1"]
        {
            let safe = neutralise(payload);
            assert_eq!(safe, format!("'{payload}"), "{payload:?}");
        }
        for plain in ["kv-web-prod", "SecretGet", "", "a=b", "'already", " =1"] {
            assert_eq!(neutralise(plain), plain);
        }
    }

    #[test]
    fn a_neutralised_cell_is_one_quoted_cell_that_reads_back_the_same() {
        let payload = "=HYPERLINK(\"http://x\",\"y\"),\r\nnext";
        let mut w = writer(Vec::new());
        w.write_record([neutralise(payload).as_ref(), "plain"]).unwrap();
        let bytes = w.into_inner().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\"),"), "{text}");
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(&bytes[..]);
        let row = r.records().next().unwrap().unwrap();
        assert_eq!(row.len(), 2);
        assert_eq!(&row[0], format!("'{payload}"));
        assert_eq!(&row[1], "plain");
    }
}
