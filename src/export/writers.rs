//! The files of an export: every byte written goes through a [`HashedFile`], which counts
//! and hashes it on the way to disk, so the manifest's SHA-256 is of exactly what was
//! written, without reading anything back.
//!
//! Event files are one per vault (`events/<vault>.<ext>`), kept open while the dates of the
//! period stream through in order, so each file is sorted by time. Formats:
//! - CSV: the events columns, a header row, every cell quoted, text cells neutralised
//!   (`csv_safety`), times as RFC 3339 UTC with microseconds.
//! - JSONL: the `raw` column, one record per line, byte for byte. A record whose `raw`
//!   holds a line break (only a pretty-printed `{"records":[...]}` source does; JSON
//!   forbids raw line breaks inside strings) has each CR/LF replaced by a space — the same
//!   JSON value and the same length — and is counted in the manifest.
//! - Parquet: the events columns with plain `Utf8` strings (any engine reads them), written
//!   with the lake's own event-file settings.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::ArrowWriter;
use sha2::{Digest, Sha256};

use super::ExportError;
use super::csv_safety;
use super::layout::ExportLayout;
use super::manifest::FileEntry;
use super::scope::ExportFormat;

/// A file being written, hashed and counted as it is.
pub struct HashedFile {
    /// Relative to the export's root, with `/` separators: the name in the manifest.
    name: String,
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    hasher: Sha256,
    bytes: u64,
}

impl HashedFile {
    /// Creates `root/name` (and its folder).
    pub fn create(root: &Path, name: &str) -> Result<Self, ExportError> {
        let path = root.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| ExportError::Io { path: dir.to_path_buf(), source })?;
        }
        let file = std::fs::File::create(&path).map_err(|source| ExportError::Io { path: path.clone(), source })?;
        Ok(HashedFile {
            name: name.to_owned(),
            path,
            out: std::io::BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes and syncs the file; its entry for the manifest.
    pub fn finish(self, rows: u64) -> Result<FileEntry, ExportError> {
        let io = |source| ExportError::Io { path: self.path.clone(), source };
        let file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(FileEntry { path: self.name, bytes: self.bytes, sha256: hex(&self.hasher.finalize()), rows: Some(rows) })
    }
}

impl Write for HashedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A CSV file of query results: a header, then rows, every cell quoted, text neutralised.
pub struct CsvTable {
    writer: csv::Writer<HashedFile>,
    rows: u64,
}

impl CsvTable {
    pub fn create(root: &Path, name: &str, schema: &Schema) -> Result<Self, ExportError> {
        let file = HashedFile::create(root, name)?;
        let path = file.path().to_path_buf();
        let mut writer = csv_safety::writer(file);
        let header: Vec<String> =
            schema.fields().iter().map(|f| csv_safety::neutralise(f.name()).into_owned()).collect();
        writer.write_record(&header).map_err(|source| ExportError::Csv { path, source })?;
        Ok(CsvTable { writer, rows: 0 })
    }

    /// Writes the rows of `batch`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ExportError> {
        let columns: Vec<Vec<String>> = batch.columns().iter().map(cells).collect::<Result<_, ExportError>>()?;
        let path = self.writer.get_ref().path().to_path_buf();
        for row in 0..batch.num_rows() {
            self.writer
                .write_record(columns.iter().map(|c| c[row].as_str()))
                .map_err(|source| ExportError::Csv { path: path.clone(), source })?;
            self.rows += 1;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<FileEntry, ExportError> {
        let rows = self.rows;
        let path = self.writer.get_ref().path().to_path_buf();
        let file = self
            .writer
            .into_inner()
            .map_err(|e| ExportError::Io { path, source: std::io::Error::other(e.error().to_string()) })?;
        file.finish(rows)
    }
}

/// The cells of one column as CSV text: text neutralised, times as RFC 3339 UTC, nulls empty.
fn cells(array: &ArrayRef) -> Result<Vec<String>, ExportError> {
    match array.data_type() {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
            let text = cast(array, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            Ok((0..text.len())
                .map(
                    |i| {
                        if text.is_valid(i) {
                            csv_safety::neutralise(text.value(i)).into_owned()
                        } else {
                            String::new()
                        }
                    },
                )
                .collect())
        }
        DataType::Timestamp(_, _) => {
            let micros = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))?;
            let micros = micros.as_primitive::<TimestampMicrosecondType>();
            Ok((0..micros.len())
                .map(|i| {
                    micros
                        .is_valid(i)
                        .then(|| chrono::DateTime::from_timestamp_micros(micros.value(i)))
                        .flatten()
                        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
                        .unwrap_or_default()
                })
                .collect())
        }
        _ => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?;
            Ok((0..array.len())
                .map(|i| if array.is_valid(i) { formatter.value(i).to_string() } else { String::new() })
                .collect())
        }
    }
}

/// One vault's event file.
enum EventFile {
    Csv(CsvTable),
    Jsonl { file: HashedFile, rows: u64 },
    Parquet { writer: ArrowWriter<HashedFile>, path: PathBuf, rows: u64 },
}

/// The event files of an export, one per vault.
pub struct EventFiles {
    root: PathBuf,
    format: ExportFormat,
    files: BTreeMap<String, EventFile>,
    /// JSONL records whose line breaks were replaced by spaces.
    pub newlines_replaced: u64,
}

impl EventFiles {
    pub fn new(root: &Path, format: ExportFormat) -> Self {
        EventFiles { root: root.to_path_buf(), format, files: BTreeMap::new(), newlines_replaced: 0 }
    }

    /// Appends a batch of `queries/export/events.sql` rows, all of one vault.
    pub fn write(&mut self, vault: &str, batch: &RecordBatch) -> Result<(), ExportError> {
        if !self.files.contains_key(vault) {
            let file = self.open(vault, batch.schema())?;
            self.files.insert(vault.to_owned(), file);
        }
        let Some(file) = self.files.get_mut(vault) else { unreachable!("inserted above") };
        match file {
            EventFile::Csv(table) => table.write(batch)?,
            EventFile::Jsonl { file, rows } => {
                let raw = batch.column_by_name("raw").ok_or(ExportError::MissingColumn("raw"))?;
                let raw = cast(raw, &DataType::Utf8)?;
                let raw = raw.as_string::<i32>();
                let path = file.path().to_path_buf();
                let io = |source| ExportError::Io { path: path.clone(), source };
                for i in 0..raw.len() {
                    let record = raw.value(i);
                    if record.contains(['\n', '\r']) {
                        self.newlines_replaced += 1;
                        file.write_all(record.replace(['\n', '\r'], " ").as_bytes()).map_err(io)?;
                    } else {
                        file.write_all(record.as_bytes()).map_err(io)?;
                    }
                    file.write_all(b"\n").map_err(io)?;
                    *rows += 1;
                }
            }
            EventFile::Parquet { writer, path, rows } => {
                let batch = plain_strings(batch)?;
                writer.write(&batch).map_err(|source| ExportError::Parquet { path: path.clone(), source })?;
                *rows += batch.num_rows() as u64;
            }
        }
        Ok(())
    }

    fn open(&self, vault: &str, schema: SchemaRef) -> Result<EventFile, ExportError> {
        let name = ExportLayout::events_file(vault, self.format);
        Ok(match self.format {
            ExportFormat::Csv => EventFile::Csv(CsvTable::create(&self.root, &name, &schema)?),
            ExportFormat::Jsonl => EventFile::Jsonl { file: HashedFile::create(&self.root, &name)?, rows: 0 },
            ExportFormat::Parquet => {
                let file = HashedFile::create(&self.root, &name)?;
                let path = file.path().to_path_buf();
                // The lake's own event-file settings: bounded row groups (so an open file per
                // vault holds at most one in memory), page indexes, no statistics on `raw`.
                let props = crate::lake::writer::writer_properties(&crate::lake::writer::FileSizing::default());
                let writer = ArrowWriter::try_new(file, plain_schema(&schema), Some(props))
                    .map_err(|source| ExportError::Parquet { path: path.clone(), source })?;
                EventFile::Parquet { writer, path, rows: 0 }
            }
        })
    }

    /// Closes every file; their entries and row counts, by vault.
    pub fn finish(self) -> Result<Vec<(String, FileEntry)>, ExportError> {
        let mut entries = Vec::new();
        for (vault, file) in self.files {
            let entry = match file {
                EventFile::Csv(table) => table.finish()?,
                EventFile::Jsonl { file, rows } => file.finish(rows)?,
                EventFile::Parquet { writer, path, rows } => {
                    writer.into_inner().map_err(|source| ExportError::Parquet { path, source })?.finish(rows)?
                }
            };
            entries.push((vault, entry));
        }
        Ok(entries)
    }
}

/// `schema` with string views as plain strings, every field nullable.
fn plain_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let t = match f.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                other => other.clone(),
            };
            Field::new(f.name(), t, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn plain_strings(batch: &RecordBatch) -> Result<RecordBatch, ExportError> {
    let schema = plain_schema(&batch.schema());
    let columns: Vec<ArrayRef> =
        batch.columns().iter().zip(schema.fields()).map(|(c, f)| cast(c, f.data_type())).collect::<Result<_, _>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}
