//! Writes event batches into staged Parquet files, one open file per date partition.
//!
//! File sizing: a run keeps one file open per date it meets and appends every batch of
//! that date to it, so ingesting thousands of small hourly blobs yields one file per date
//! per commit, not one per blob. A file is closed when it reaches `max_rows_per_file`;
//! when more than `max_open_files` dates are open at once (a backlog spanning many days),
//! the least recently used file is closed, which bounds memory: each open file buffers
//! at most one row group.

use std::fs::File;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::durable::SyncQueue;
use super::schema::events_file_schema;
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
}

impl Default for FileSizing {
    fn default() -> Self {
        FileSizing { row_group_rows: 64 * 1024, max_rows_per_file: 2_000_000, max_open_files: 8, zstd_level: 1 }
    }
}

/// The writer properties of every event file.
pub fn writer_properties(sizing: &FileSizing) -> WriterProperties {
    let level = ZstdLevel::try_new(sizing.zstd_level).unwrap_or_default();
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(sizing.row_group_rows))
        // Page-level statistics write the column and offset indexes, which let readers
        // skip pages inside a row group on `time`, `vault` and identity predicates.
        .set_statistics_enabled(EnabledStatistics::Page);
    // Columns that are unique per record gain nothing from a dictionary: turning it off
    // saves the writer from building one and falling back.
    for column in
        ["raw", "correlation_id", "request_uri", "source_offset", "time", "object_version", "result_description"]
    {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    // `raw` is read only for evidence; its statistics would be large and never prune. The
    // others are long or random per record (a request's URL and client, a UUID, free text):
    // their min and max span every page, so they would never prune either, and computing
    // them compares every value.
    for column in ["raw", "request_uri", "client_info", "correlation_id", "result_description", "redactions"] {
        builder = builder.set_column_statistics_enabled(ColumnPath::from(column), EnabledStatistics::None);
    }
    builder.build()
}

struct OpenFile {
    date: NaiveDate,
    file: StagedFile,
    writer: ArrowWriter<File>,
    rows: usize,
    last_used: u64,
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
        if open.rows >= self.sizing.max_rows_per_file {
            self.close(index)?;
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
        self.open.push(OpenFile { date, file, writer, rows: 0, last_used: self.clock });
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
