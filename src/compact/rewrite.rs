//! Rewrites a partition's chosen files into sorted, deduplicated files of the target size,
//! in the run's staging folder.
//!
//! DataFusion reads and sorts the inputs, spilling to `_state/compact/<run>/spill` past
//! `memory_limit`, so a partition larger than memory compacts too. The sorted stream is
//! deduplicated on `(source, source_offset)` (copies of one record are adjacent, see
//! [`SortOrder`](super::SortOrder)) and cut into files: a file is closed once its written
//! and buffered bytes reach the target, so consecutive files hold consecutive, disjoint
//! ranges of the sort key and a query can skip whole files on their statistics.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{AsArray, BooleanArray, RecordBatch};
use arrow::datatypes::Int64Type;
use chrono::NaiveDate;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use parquet::arrow::ArrowWriter;

use super::{CompactError, CompactOptions};
use crate::lake::manifest::VisibleFile;
use crate::lake::schema::events_file_schema;
use crate::lake::writer::{FileSizing, writer_properties};
use crate::lake::{LakeError, LakePaths, RunId, StagedFile};

/// The staged result of a rewrite.
pub(crate) struct Rewritten {
    pub outputs: Vec<StagedFile>,
    pub rows_in: u64,
    pub rows_out: u64,
    pub bytes: u64,
}

pub(crate) async fn rewrite(
    lake: &LakePaths,
    run: &RunId,
    date: NaiveDate,
    inputs: &[VisibleFile],
    options: &CompactOptions,
) -> Result<Rewritten, CompactError> {
    let read = |source| CompactError::Read { date, source };
    let spill = lake.compact_staging_dir(run).join("spill");
    std::fs::create_dir_all(&spill).map_err(|source| LakeError::Io { path: spill.clone(), source })?;
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(options.memory_limit, 1.0)
        .with_temp_file_path(&spill)
        .build_arc()
        .map_err(read)?;
    let mut config = SessionConfig::new()
        // One sorter: the output is one sorted stream anyway (written by one writer), and
        // two sorters sharing the pool each ran out of it while spilling.
        .with_target_partitions(1)
        // Before a sorter spills it sorts what it holds, and the sorted copy is a second
        // reservation as large as the buffered rows (wide: `raw` is about 1 KB a record).
        // With the default 10 MB kept back for it, a day of 1.2M records failed with
        // "Resources exhausted" at 1 GB instead of spilling; half the pool for the sorted
        // copy leaves half for buffering, and the sort spills instead of failing.
        .with_sort_spill_reservation_bytes(options.memory_limit / 2);
    // The files are written with the file schema (plain `Utf8`), so read them as such.
    config.options_mut().execution.parquet.schema_force_view_types = false;
    let ctx = SessionContext::new_with_config_rt(config, runtime);

    let dir = lake.events_partition_dir(date);
    let paths: Vec<String> = inputs.iter().map(|f| dir.join(&f.name).to_string_lossy().into_owned()).collect();
    let schema = events_file_schema();
    let frame = ctx.read_parquet(paths, ParquetReadOptions::default().schema(&schema)).await.map_err(read)?;
    let mut stream = frame.sort(options.order.keys()).map_err(read)?.execute_stream().await.map_err(read)?;

    let sizing =
        FileSizing { row_group_rows: options.row_group_rows, zstd_level: options.zstd_level, ..Default::default() };
    let mut out = Outputs::new(lake, run, date, options.target_bytes, sizing);
    let mut dedup = Dedup::default();
    let mut rows_in = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = conform(batch.map_err(read)?)?;
        rows_in += batch.num_rows() as u64;
        let kept = dedup.filter(&batch)?;
        if kept.num_rows() > 0 {
            out.write(&kept)?;
        }
    }
    let (outputs, rows_out, bytes) = out.finish()?;
    let _ = std::fs::remove_dir_all(&spill);
    Ok(Rewritten { outputs, rows_in, rows_out, bytes })
}

/// Brings a batch to the exact file schema (names, types, nullability).
fn conform(batch: RecordBatch) -> Result<RecordBatch, CompactError> {
    let schema = events_file_schema();
    if batch.schema() == schema {
        return Ok(batch);
    }
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            let column = batch.column_by_name(field.name()).ok_or_else(|| {
                arrow::error::ArrowError::SchemaError(format!("the sorted files lack column {}", field.name()))
            })?;
            arrow::compute::cast(column, field.data_type())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Drops rows whose `(source, source_offset)` equals the previous row's, across batches.
#[derive(Default)]
pub(crate) struct Dedup {
    last: Option<(String, i64)>,
}

impl Dedup {
    pub(crate) fn filter(&mut self, batch: &RecordBatch) -> Result<RecordBatch, CompactError> {
        let schema_error = |name: &str| arrow::error::ArrowError::SchemaError(format!("no column {name}"));
        let source = batch.column_by_name("source").ok_or_else(|| schema_error("source"))?.as_string::<i32>();
        let offset = batch
            .column_by_name("source_offset")
            .ok_or_else(|| schema_error("source_offset"))?
            .as_primitive::<Int64Type>();
        let mut keep = Vec::with_capacity(batch.num_rows());
        let mut dropped = false;
        for i in 0..batch.num_rows() {
            let (s, o) = (source.value(i), offset.value(i));
            let same = self.last.as_ref().is_some_and(|(ls, lo)| *lo == o && ls == s);
            keep.push(!same);
            dropped |= same;
            if !same {
                self.last = Some((s.to_owned(), o));
            }
        }
        if !dropped {
            return Ok(batch.clone());
        }
        Ok(arrow::compute::filter_record_batch(batch, &BooleanArray::from(keep))?)
    }
}

/// The files being written, one open at a time.
struct Outputs<'a> {
    lake: &'a LakePaths,
    run: &'a RunId,
    date: NaiveDate,
    target_bytes: u64,
    properties: parquet::file::properties::WriterProperties,
    open: Option<(StagedFile, ArrowWriter<File>)>,
    done: Vec<StagedFile>,
    rows: u64,
    bytes: u64,
}

impl<'a> Outputs<'a> {
    fn new(lake: &'a LakePaths, run: &'a RunId, date: NaiveDate, target_bytes: u64, sizing: FileSizing) -> Self {
        Outputs {
            lake,
            run,
            date,
            target_bytes,
            // Pages of an eighth of a row group: a time range falling inside a row group
            // still skips most of its pages through the page index.
            properties: writer_properties(&sizing)
                .into_builder()
                .set_data_page_row_count_limit((sizing.row_group_rows / 8).max(1024))
                .build(),
            open: None,
            done: Vec::new(),
            rows: 0,
            bytes: 0,
        }
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), CompactError> {
        if self.open.is_none() {
            let file = StagedFile::compacted_file(self.run, self.date, self.done.len() as u32);
            let path = self.lake.root().join(&file.staged);
            let dir = path.parent().expect("staged files live in a directory");
            std::fs::create_dir_all(dir).map_err(|source| LakeError::Io { path: dir.to_path_buf(), source })?;
            let handle = File::create(&path).map_err(|source| LakeError::Io { path: path.clone(), source })?;
            let writer = ArrowWriter::try_new(handle, Arc::clone(&events_file_schema()), Some(self.properties.clone()))
                .map_err(|source| CompactError::Write { path, source })?;
            self.open = Some((file, writer));
        }
        let (file, writer) = self.open.as_mut().expect("a file is open");
        writer.write(batch).map_err(|source| CompactError::Write { path: file.staged.clone(), source })?;
        self.rows += batch.num_rows() as u64;
        if (writer.bytes_written() + writer.in_progress_size()) as u64 >= self.target_bytes {
            self.close()?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), CompactError> {
        let Some((file, writer)) = self.open.take() else { return Ok(()) };
        let path = self.lake.root().join(&file.staged);
        let handle = writer.into_inner().map_err(|source| CompactError::Write { path: path.clone(), source })?;
        // Synced before the switch can name it: after a crash the switch never points at
        // a file whose bytes were lost.
        handle.sync_all().map_err(|source| LakeError::Io { path: path.clone(), source })?;
        self.bytes += handle.metadata().map_err(|source| LakeError::Io { path, source })?.len();
        self.done.push(file);
        Ok(())
    }

    fn finish(mut self) -> Result<(Vec<StagedFile>, u64, u64), CompactError> {
        self.close()?;
        Ok((self.done, self.rows, self.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(rows: &[(&str, i64)]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("source", DataType::Utf8, false),
            Field::new("source_offset", DataType::Int64, false),
        ]));
        let sources = StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>());
        let offsets = Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>());
        RecordBatch::try_new(schema, vec![Arc::new(sources), Arc::new(offsets)]).unwrap()
    }

    #[test]
    fn adjacent_copies_are_dropped_across_batches() {
        let mut dedup = Dedup::default();
        let first = dedup.filter(&batch(&[("a", 0), ("a", 0), ("a", 10), ("b", 10)])).unwrap();
        assert_eq!(first.num_rows(), 3);
        // The first row repeats the last row of the previous batch.
        let second = dedup.filter(&batch(&[("b", 10), ("b", 20), ("a", 0)])).unwrap();
        assert_eq!(second.num_rows(), 2, "only the copy adjacent to its original is a duplicate");
    }
}
