//! Writes event batches into staged Parquet files, one open file per date partition.
//!
//! File sizing: a run keeps one file open per date it meets and appends every batch of
//! that date to it, so ingesting thousands of small hourly blobs yields one file per date
//! per commit, not one per blob. A file is closed when it reaches `max_rows_per_file`;
//! when more than `max_open_files` dates are open at once (a backlog spanning many days),
//! the least recently used file is closed, which bounds memory: each open file buffers
//! at most one row group.
//!
//! Pages are Parquet data pages v2 (see [`writer_properties`]): the writer compresses a
//! page's values straight into the page buffer instead of copying the page first, but keeps
//! each compressed page in a buffer as large as the page was uncompressed until its row
//! group is written. So the row groups in progress are also bounded in bytes, across all
//! open files: past `buffered_bytes` of records, the largest is written out early
//! ([`PartitionWriter::write`]). Invariant: the records held in unwritten row groups, summed
//! over the open files, stay under `buffered_bytes` after every write.

use std::fs::File;
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use super::durable::SyncQueue;
use super::schema::{LONG_TEXT_COLUMNS, events_file_schema};
use super::{IoContext, LakeError, LakePaths, Result, RunId, StagedFile};

/// Sizing of the files a run writes.
#[derive(Debug, Clone, Copy)]
pub struct FileSizing {
    /// Rows per row group: the unit of pruning by statistics, and of writer memory.
    pub row_group_rows: usize,
    /// Rows after which a file is closed and a new one started.
    pub max_rows_per_file: usize,
    /// Date partitions open at once.
    pub max_open_files: usize,
    /// zstd level: 1 compresses the `raw` column ~8x at several hundred MB/s per core;
    /// higher levels gain little on JSON and cost ingest throughput.
    pub zstd_level: i32,
    /// Bytes of records (their `raw` text) the open files may hold in row groups not yet
    /// written, all together: the writer's memory, about as much again (see the module docs).
    /// The default lets one date's full row group of ~1 KB records and the next date's
    /// beginning be held at once, so a midnight seldom cuts a row group short.
    pub buffered_bytes: usize,
}

impl Default for FileSizing {
    fn default() -> Self {
        FileSizing {
            row_group_rows: 64 * 1024,
            max_rows_per_file: 2_000_000,
            max_open_files: 8,
            zstd_level: 1,
            buffered_bytes: 128 << 20,
        }
    }
}

/// The writer properties of every event file.
pub fn writer_properties(sizing: &FileSizing) -> WriterProperties {
    let level = ZstdLevel::try_new(sizing.zstd_level).unwrap_or_default();
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        // Data pages v2: a v1 page is assembled (levels, then a copy of the values) before
        // it is compressed into a second buffer, then shrunk; v2 compresses the values
        // where they are. DataFusion and DuckDB read them (the tests, the benchmark's
        // queries); other engines DESIGN.md names (Spark, Synapse) were not tried here.
        // Measured on the benchmark input: ingest ~5 % faster, with more memory held per
        // row group in progress (bounded by `buffered_bytes`).
        .set_writer_version(WriterVersion::PARQUET_2_0)
        // The 2.0 writer would also switch columns without a dictionary to delta encodings
        // (`raw` to DELTA_BYTE_ARRAY, a prefix comparison per record); the encodings stay
        // those of 1.0: plain, or a dictionary where one is enabled.
        .set_encoding(Encoding::PLAIN)
        .set_max_row_group_row_count(Some(sizing.row_group_rows))
        // Page-level statistics write the column and offset indexes, which let readers
        // skip pages inside a row group on `time`, `vault` and identity predicates.
        .set_statistics_enabled(EnabledStatistics::Page);
    // Columns that are unique per record gain nothing from a dictionary: turning it off
    // saves the writer from building one and falling back. `object_version` keeps its
    // dictionary: a secret has a few versions, read over and over (54 distinct in the
    // benchmark's million records), and stored plain it was 36 MB to compress at ingest and
    // to decompress and copy in every query that reads it.
    for column in ["raw", "correlation_id", "request_uri", "source_offset", "time", "result_description"] {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    // `raw` is read only for evidence; its statistics would be large and never prune. The
    // others are long or random per record (a request's URL and client, a UUID, free text):
    // their min and max span every page, so they would never prune either, and computing
    // them compares every value.
    for column in LONG_TEXT_COLUMNS.iter().chain(&EVERY_PAGE_COLUMNS) {
        builder = builder.set_column_statistics_enabled(ColumnPath::from(*column), EnabledStatistics::None);
    }
    builder.build()
}

/// Columns of a few values that every page holds (`Success` and `Failure`, a handful of
/// operation versions, TLS versions and identity types, one resource type): a page's min
/// and max span them all, so they never prune a page. Their statistics would cost two
/// comparisons per value at ingest and give nothing back. `vault`, the identity and object columns keep theirs (records come in blobs
/// of one vault, and a page holds few identities and secrets), and so does `operation`, which
/// prunes the pages of a vault-hour that holds only reads.
const EVERY_PAGE_COLUMNS: [&str; 7] = [
    "resource_type",
    "operation_version",
    "object_type",
    "result_signature",
    "result_type",
    "identity_type",
    "tls_version",
];

struct OpenFile {
    date: NaiveDate,
    file: StagedFile,
    writer: ArrowWriter<File>,
    rows: usize,
    /// Bytes of `raw` written to this file, to estimate those of its row group in progress.
    raw_bytes: usize,
    last_used: u64,
}

impl OpenFile {
    /// Bytes of records in the row group not yet written: its rows at the file's average.
    fn buffered_bytes(&self) -> usize {
        match self.rows {
            0 => 0,
            rows => self.writer.in_progress_rows() * (self.raw_bytes / rows),
        }
    }
}

/// Bytes of the `raw` column of a batch: the size of its records as they came.
fn raw_bytes(batch: &RecordBatch) -> usize {
    let Some(raw) = batch.column_by_name("raw") else { return 0 };
    if let Some(views) = raw.as_string_view_opt() {
        // A view's low 32 bits are the value's length: no value is touched.
        views.views().iter().map(|&view| view as u32 as usize).sum()
    } else if let Some(text) = raw.as_string_opt::<i32>() {
        text.value_data().len()
    } else {
        0
    }
}

/// A finished staged file.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    pub file: StagedFile,
    pub date: NaiveDate,
    pub rows: usize,
}

/// Writes batches for one run into its staging directory.
pub struct PartitionWriter {
    lake: LakePaths,
    run: RunId,
    lane: u32,
    sizing: FileSizing,
    properties: WriterProperties,
    open: Vec<OpenFile>,
    /// Where closed files go to be synced (see `durable.rs`).
    durable: SyncQueue,
    finished: Vec<WrittenFile>,
    next_file: u32,
    clock: u64,
}

impl PartitionWriter {
    /// A writer for `run`; `lane` tells apart the files of writers working side by side.
    /// Closed files are synced through `durable`: wait on it before committing them.
    pub fn new(lake: LakePaths, run: RunId, lane: u32, sizing: FileSizing, durable: SyncQueue) -> Self {
        let properties = writer_properties(&sizing);
        PartitionWriter {
            lake,
            run,
            lane,
            sizing,
            properties,
            open: Vec::new(),
            durable,
            finished: Vec::new(),
            next_file: 0,
            clock: 0,
        }
    }

    /// Appends a batch whose rows all belong to `date`.
    pub fn write(&mut self, date: NaiveDate, batch: &RecordBatch) -> Result<()> {
        self.clock += 1;
        let index = match self.open.iter().position(|f| f.date == date) {
            Some(i) => i,
            None => {
                if self.open.len() >= self.sizing.max_open_files {
                    let lru = (0..self.open.len()).min_by_key(|&i| self.open[i].last_used).expect("open is not empty");
                    self.close(lru)?;
                }
                self.open_file(date)?
            }
        };
        let open = &mut self.open[index];
        open.last_used = self.clock;
        let path = &open.file.staged;
        open.writer.write(batch).map_err(|source| LakeError::Parquet { path: path.clone(), source })?;
        open.rows += batch.num_rows();
        open.raw_bytes += raw_bytes(batch);
        if open.rows >= self.sizing.max_rows_per_file {
            self.close(index)?;
        }
        self.keep_within_budget()
    }

    /// Writes out the largest row group in progress until those of all open files together
    /// hold less than `buffered_bytes` of records. With one or two dates open this seldom
    /// acts; with many (a backlog whose blobs mix days) their row groups get smaller rather
    /// than memory larger.
    fn keep_within_budget(&mut self) -> Result<()> {
        while self.open.iter().map(OpenFile::buffered_bytes).sum::<usize>() > self.sizing.buffered_bytes {
            let largest = self.open.iter_mut().max_by_key(|f| f.buffered_bytes()).expect("open is not empty");
            let path = &largest.file.staged;
            largest.writer.flush().map_err(|source| LakeError::Parquet { path: path.clone(), source })?;
        }
        Ok(())
    }

    fn open_file(&mut self, date: NaiveDate) -> Result<usize> {
        let file = StagedFile::event_file(&self.run, self.lane, date, self.next_file);
        self.next_file += 1;
        let path = self.lake.root().join(&file.staged);
        let dir = path.parent().expect("staged files live in a directory");
        std::fs::create_dir_all(dir).at(dir)?;
        let handle = File::create(&path).at(&path)?;
        let writer = ArrowWriter::try_new(handle, Arc::clone(&events_file_schema()), Some(self.properties.clone()))
            .map_err(|source| LakeError::Parquet { path: path.clone(), source })?;
        self.open.push(OpenFile { date, file, writer, rows: 0, raw_bytes: 0, last_used: self.clock });
        Ok(self.open.len() - 1)
    }

    fn close(&mut self, index: usize) -> Result<()> {
        let open = self.open.swap_remove(index);
        let path = self.lake.root().join(&open.file.staged);
        let handle = open.writer.into_inner().map_err(|source| LakeError::Parquet { path: path.clone(), source })?;
        self.durable.hand(handle, path);
        self.finished.push(WrittenFile { file: open.file, date: open.date, rows: open.rows });
        Ok(())
    }

    /// Closes every open file and returns all files finished since the last call.
    pub fn finish(&mut self) -> Result<Vec<WrittenFile>> {
        while !self.open.is_empty() {
            self.close(self.open.len() - 1)?;
        }
        Ok(std::mem::take(&mut self.finished))
    }
}

#[cfg(test)]
mod tests {
    use arrow::buffer::Buffer;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;
    use crate::lake::batch::EventBatchBuilder;
    use crate::lake::durable::sync_queue;
    use crate::record::decode;

    /// A batch of `rows` records of `date` (day of October 2026), each about 1 KB.
    fn batch(day: u32, rows: usize) -> RecordBatch {
        let padding = "x".repeat(900);
        let lines: String = (0..rows)
            .map(|i| {
                format!(
                    r#"{{"time":"2026-10-{day:02}T10:00:{:02}Z","operationName":"SecretGet","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV1","resultDescription":"{padding}"}}"#,
                    i % 60
                ) + "\n"
            })
            .collect();
        let block = Buffer::from(lines.as_bytes());
        let mut builder = EventBatchBuilder::new();
        let mut offset = 0;
        for line in lines.split_inclusive('\n') {
            let event = decode(line.trim_end().as_bytes()).unwrap();
            builder.append(&event, "test/PT1H.json", offset as u64, &block);
            offset += line.len();
        }
        builder.finish().unwrap()
    }

    /// Writes 3 rounds of 200 records for each of 4 dates, interleaved, and returns the row
    /// groups of each file written (rows per row group), by date.
    fn row_groups(buffered_bytes: usize) -> Vec<(NaiveDate, Vec<i64>)> {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakePaths::new(dir.path());
        let (durable, sync) = sync_queue();
        let sizing = FileSizing { row_group_rows: 10_000, buffered_bytes, ..Default::default() };
        let mut files = std::thread::scope(|scope| {
            scope.spawn(move || sync.run());
            let mut writer = PartitionWriter::new(lake.clone(), RunId::new(), 0, sizing, durable);
            for _ in 0..3 {
                for day in 1..=4 {
                    let date = NaiveDate::from_ymd_opt(2026, 10, day).unwrap();
                    writer.write(date, &batch(day, 200)).unwrap();
                    let held: usize = writer.open.iter().map(OpenFile::buffered_bytes).sum();
                    assert!(held <= buffered_bytes, "{held} bytes held in row groups, budget {buffered_bytes}");
                }
            }
            let files = writer.finish().unwrap();
            writer.durable.wait().unwrap();
            files
        });
        files.sort_by_key(|f| f.date);
        files
            .into_iter()
            .map(|f| {
                let reader = SerializedFileReader::new(File::open(lake.root().join(&f.file.staged)).unwrap()).unwrap();
                let groups = reader.metadata().row_groups().iter().map(|g| g.num_rows()).collect();
                (f.date, groups)
            })
            .collect()
    }

    #[test]
    fn row_groups_in_progress_stay_within_the_byte_budget() {
        // Unbounded: each date's 600 records in one row group.
        let roomy = row_groups(usize::MAX);
        assert_eq!(roomy.len(), 4);
        assert!(roomy.iter().all(|(_, groups)| groups == &vec![600]), "{roomy:?}");
        // About 1 KB a record, 300 KB for four open files: row groups are written early,
        // and no record is lost doing so.
        let tight = row_groups(300 << 10);
        assert_eq!(tight.len(), 4);
        for (date, groups) in &tight {
            assert_eq!(groups.iter().sum::<i64>(), 600, "{date}: {groups:?}");
            assert!(groups.len() > 1, "{date}: {groups:?}");
        }
    }
}
