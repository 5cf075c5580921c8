//! Ingest: source bytes → rows of `events` (or quarantine entries), exactly once.
//!
//! The pipeline is three kinds of thread, joined by bounded channels so memory is bounded
//! by the bytes of blocks in flight (`read_ahead.rs`), never by the input size:
//! - the **reader** (`reader.rs`) cuts each source's new bytes into blocks that end at a
//!   line boundary, and streams records too large for a block straight to quarantine;
//! - **workers** (`worker.rs`, one per core) frame and decode blocks into Arrow batches by
//!   date partition, and quarantine what does not decode;
//! - the **sink** (`sink.rs`) appends batches to staged Parquet files and, at each commit
//!   barrier, makes the files and the new checkpoints durable through the lake's commit
//!   protocol.
//!
//! Invariants: a checkpoint only moves past bytes whose rows and quarantine entries are in
//! the same commit; a trailing partial line is never consumed; reading resumes exactly at
//! the stored offset, so a grown `PT1H.json` yields only its new records.

mod blobs;
mod crc64;
mod progress;
mod read_ahead;
mod reader;
mod sink;
mod target;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use serde::Serialize;

use crate::lake::durable::sync_queue;
use crate::lake::writer::{FileSizing, PartitionWriter};
use crate::lake::{LakeError, LakePaths, RunId};
use crate::record::redact::Redactor;
use crate::source::{SourceError, local};

pub use blobs::{BlobIngestOptions, ingest_blobs};
pub use progress::Progress;
pub use target::RemoteIngest;
use target::Target;

/// Why an ingest run stopped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The lake could not be read or written.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// The sources could not be listed or read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The lake's redaction key could not be read or made.
    #[error("the redaction salt: {0}")]
    Salt(#[from] crate::record::redact::SaltError),
    /// A pipeline thread panicked: a bug, reported instead of hanging.
    #[error("an ingest thread stopped unexpectedly: {0}")]
    Thread(String),
}

/// How an ingest run behaves.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The local lake, or with `remote` the local work directory files are staged in.
    pub lake: LakePaths,
    /// A lake in an object store to commit to (`lake::remote`), instead of `lake`.
    pub remote: Option<RemoteIngest>,
    pub from: PathBuf,
    /// Bytes per block handed to a worker.
    pub block_bytes: usize,
    /// Records larger than this are quarantined without being decoded.
    pub max_record_bytes: usize,
    /// Input bytes between commits: bounds the work a crash can throw away.
    pub commit_bytes: u64,
    /// Decoding threads.
    pub workers: usize,
    pub sizing: FileSizing,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
    /// Set to stop the run at the next source boundary, with what was read committed.
    pub stop: Option<Arc<AtomicBool>>,
}

impl IngestOptions {
    pub fn new(lake: LakePaths, from: PathBuf) -> Self {
        IngestOptions {
            lake,
            remote: None,
            from,
            block_bytes: 4 << 20,
            max_record_bytes: 1 << 20,
            commit_bytes: 1 << 30,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            sizing: FileSizing::default(),
            progress: false,
            stop: None,
        }
    }
}

/// What an ingest run did. Printed as one line, or as one JSON object.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct IngestSummary {
    /// Log files found under `--from`.
    pub files: u64,
    /// Files with new bytes, read this run.
    pub files_read: u64,
    /// Files whose content was replaced since the last run, re-read from the start.
    pub files_replaced: u64,
    /// Blobs created again that begin with the content already ingested from them: read
    /// on from their offset, not again from the start.
    pub files_recreated: u64,
    pub records: u64,
    pub quarantined: u64,
    /// Bytes read this run.
    pub bytes: u64,
    /// Bytes left for a later run: trailing lines without a newline yet.
    pub pending_bytes: u64,
    /// Parquet files added to the lake.
    pub data_files: u64,
    pub commits: u64,
    /// Commits of an interrupted earlier run, finished before this one started.
    pub recovered_commits: u64,
    pub seconds: f64,
    pub mb_per_second: f64,
    pub records_per_second: f64,
    /// Records (rows and quarantined) in which at least one credential was redacted.
    pub redacted_records: u64,
    /// Credentials redacted, by pattern (`sas_signature`, `jwt`, ...).
    pub redactions: std::collections::BTreeMap<String, u64>,
}

impl std::fmt::Display for IngestSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ingested {} files ({} with new data), {} records, {} quarantined, {:.1} MB in {:.2} s ({:.1} MB/s, {:.0} records/s); {} data files written",
            self.files,
            self.files_read,
            self.records,
            self.quarantined,
            self.bytes as f64 / 1e6,
            self.seconds,
            self.mb_per_second,
            self.records_per_second,
            self.data_files,
        )?;
        if self.pending_bytes > 0 {
            write!(f, "; {} bytes wait for their newline", self.pending_bytes)?;
        }
        if self.files_replaced > 0 {
            write!(f, "; {} replaced files re-read", self.files_replaced)?;
        }
        if self.files_recreated > 0 {
            write!(f, "; {} re-created blobs read on after what was already ingested", self.files_recreated)?;
        }
        if self.recovered_commits > 0 {
            write!(f, "; finished {} commits of an interrupted run", self.recovered_commits)?;
        }
        if self.redacted_records > 0 {
            let by: Vec<String> = self.redactions.iter().map(|(p, n)| format!("{p} {n}")).collect();
            write!(f, "; credentials redacted in {} records ({})", self.redacted_records, by.join(", "))?;
        }
        Ok(())
    }
}

/// One source's new bytes: `[start, length)`.
#[derive(Debug, Clone)]
pub(crate) struct ReadTask {
    pub path: PathBuf,
    pub key: Arc<str>,
    pub start: u64,
    pub length: u64,
    /// The identity to checkpoint (blobs); local files are fingerprinted by the sink.
    pub fingerprint: Option<Arc<str>>,
    /// CRC-64 of the bytes `[0, start)`, for sources whose checkpoint keeps one (blobs):
    /// the reader extends it, and the checkpoint stores it.
    pub crc64: Option<u64>,
}

/// What the reader reads a source through.
pub(crate) trait ReadSeek: std::io::Read + std::io::Seek {}
impl<T: std::io::Read + std::io::Seek> ReadSeek for T {}

/// Opens each planned source for the reader, in plan order.
pub(crate) trait Opener {
    fn open(&mut self, task: &ReadTask) -> Result<Box<dyn ReadSeek>, IngestError>;
}

/// Local files, opened from their path.
struct LocalFiles;

impl Opener for LocalFiles {
    fn open(&mut self, task: &ReadTask) -> Result<Box<dyn ReadSeek>, IngestError> {
        let file = std::fs::File::open(&task.path)
            .map_err(|source| IngestError::Source(SourceError::Io { path: task.path.clone(), source }))?;
        Ok(Box::new(file))
    }
}

/// Runs one ingest over `options.from` into `options.lake`.
pub fn ingest(options: &IngestOptions) -> Result<IngestSummary, IngestError> {
    let started = Instant::now();
    let lake = &options.lake;
    let (target, recovery) = Target::open(lake, options.remote.as_ref())?;
    if recovery.commits_finished > 0 || recovery.staging_removed > 0 {
        tracing::info!(
            commits_finished = recovery.commits_finished,
            staging_removed = recovery.staging_removed,
            "Recovered the lake from an interrupted run."
        );
    }
    let files = local::discover(&options.from, lake.root())?;
    let checkpoints = target.checkpoints()?;
    let mut summary = IngestSummary {
        files: files.len() as u64,
        recovered_commits: recovery.commits_finished as u64,
        ..Default::default()
    };
    let mut tasks = Vec::new();
    for file in files {
        let start = match checkpoints.get(&file.key) {
            None => 0,
            Some(cp) => {
                let same = match cp.fingerprint.as_deref() {
                    Some(fp) if file.length >= cp.offset => {
                        let len = local::fingerprint_len(fp).unwrap_or(0);
                        local::fingerprint(&file.path, len)?.as_str() == fp
                    }
                    Some(_) => false,
                    None => file.length >= cp.offset,
                };
                if same {
                    cp.offset
                } else {
                    tracing::warn!(source = %file.key, previous_length = cp.length, length = file.length, "The file was replaced since the last run; reading it again from the start.");
                    summary.files_replaced += 1;
                    0
                }
            }
        };
        if start < file.length {
            tasks.push(ReadTask {
                path: file.path,
                key: Arc::from(file.key.as_str()),
                start,
                length: file.length,
                fingerprint: None,
                crc64: None,
            });
        }
    }
    summary.files_read = tasks.len() as u64;
    let summary = run_planned(options, &target, tasks, &mut LocalFiles, summary, started)?;
    target.close()?;
    Ok(summary)
}

/// Runs the pipeline over planned tasks and completes the summary with what it counted.
fn run_planned(
    options: &IngestOptions,
    target: &Target,
    tasks: Vec<ReadTask>,
    opener: &mut dyn Opener,
    summary: IngestSummary,
    started: Instant,
) -> Result<IngestSummary, IngestError> {
    let lake = &options.lake;
    let total: u64 = tasks.iter().map(|t| t.length - t.start).sum();
    let progress = Progress::new(options.progress, total);
    let run = RunId::new();
    let redactor = Redactor::for_salt_file(&lake.redaction_salt_file())?;
    // The pipeline counts records, bytes, files and commits; the rest is known here.
    let counted = run_pipeline(options, target, &run, &redactor, tasks, &progress, opener)?;
    progress.finish();
    let mut summary = IngestSummary {
        files: summary.files,
        files_read: summary.files_read,
        files_replaced: summary.files_replaced,
        files_recreated: summary.files_recreated,
        recovered_commits: summary.recovered_commits,
        ..counted
    };
    summary.seconds = started.elapsed().as_secs_f64();
    if summary.seconds > 0.0 {
        summary.mb_per_second = summary.bytes as f64 / 1e6 / summary.seconds;
        summary.records_per_second = summary.records as f64 / summary.seconds;
    }
    let staging = lake.staging_dir(&run);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|source| LakeError::Io { path: staging, source })?;
    }
    Ok(summary)
}

/// Input bytes queued for the workers at most (see `read_ahead.rs`).
const READ_AHEAD_BYTES: u64 = 32 << 20;

/// Blocks queued per worker at most: more than the byte budget lets through when blocks
/// are blobs of a few hundred kB, so bytes are the bound that counts.
const BLOCKS_QUEUED: usize = 64;

fn run_pipeline(
    options: &IngestOptions,
    target: &Target,
    run: &RunId,
    redactor: &Redactor,
    tasks: Vec<ReadTask>,
    progress: &Progress,
    opener: &mut dyn Opener,
) -> Result<IngestSummary, IngestError> {
    let workers = options.workers.max(1);
    let (sink_tx, sink_rx) = sync_channel::<sink::Message>(workers * 4);
    let (ack_tx, ack_rx) = sync_channel::<()>(1);
    // Closed files are synced on a thread of their own, so workers never wait for the disk;
    // the sink waits for them before each commit (`lake::durable`).
    let (durable, sync_thread) = sync_queue();
    let read_ahead = read_ahead::ReadAhead::new(READ_AHEAD_BYTES);
    std::thread::scope(|scope| {
        scope.spawn(move || sync_thread.run());
        let mut worker_handles = Vec::new();
        let mut queues = Vec::new();
        for lane in 0..workers {
            let (work_tx, work_rx) = sync_channel::<worker::Work>(BLOCKS_QUEUED);
            queues.push(work_tx);
            let tx = sink_tx.clone();
            let limit = options.max_record_bytes;
            let writer =
                PartitionWriter::new(options.lake.clone(), run.clone(), lane as u32, options.sizing, durable.clone());
            let read_ahead = &read_ahead;
            worker_handles.push(scope.spawn(move || {
                let _closes = read_ahead::ClosesOnExit(read_ahead);
                worker::run(work_rx, &tx, limit, redactor, writer, read_ahead)
            }));
        }
        // The last queue goes to the sink: the sync thread ends when the sink and the
        // workers have.
        let sink = sink::Sink::new(target, run.clone(), progress.clone(), durable);
        let sink_handle = scope.spawn(move || sink.run(sink_rx, ack_tx));
        let mut reader =
            reader::Reader::new(options, opener, run, redactor, queues, &read_ahead, sink_tx, ack_rx, progress.clone());
        let read_result = reader.read_all(&tasks);
        let bytes = reader.bytes_read();
        drop(reader); // closes the block and sink channels, so workers and the sink end
        for handle in worker_handles {
            handle.join().map_err(|_| IngestError::Thread("a decoding worker panicked".into()))??;
        }
        let mut outcome = sink_handle.join().map_err(|_| IngestError::Thread("the lake writer panicked".into()))??;
        read_result?;
        outcome.bytes = bytes;
        Ok(outcome)
    })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::lake::checkpoint::Checkpoints;

    /// Sources served from memory, as the blob feed serves downloaded bytes.
    struct InMemory(Vec<u8>);

    impl Opener for InMemory {
        fn open(&mut self, _task: &ReadTask) -> Result<Box<dyn ReadSeek>, IngestError> {
            Ok(Box::new(Cursor::new(self.0.clone())))
        }
    }

    fn run(lake: &LakePaths, bytes: &[u8], start: u64, crc64: Option<u64>) -> IngestSummary {
        let mut options = IngestOptions::new(lake.clone(), "mem".into());
        // Small blocks: the reads cross many block boundaries and the long line below.
        options.block_bytes = 300;
        options.workers = 2;
        let task = ReadTask {
            path: "mem".into(),
            key: Arc::from("az://a/c/blob"),
            start,
            length: bytes.len() as u64,
            fingerprint: Some(Arc::from("blob:1:e")),
            crc64,
        };
        let (target, _) = Target::open(lake, None).unwrap();
        run_planned(
            &options,
            &target,
            vec![task],
            &mut InMemory(bytes.to_vec()),
            IngestSummary::default(),
            Instant::now(),
        )
        .unwrap()
    }

    /// The checkpoint's checksum is that of exactly `[0, offset)`, whatever the order the
    /// workers finished in, across a line longer than a block and a trailing partial line,
    /// and the second run extends the first's: the same as checksumming in one go.
    #[test]
    fn the_prefix_checksum_continues_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakePaths::new(dir.path().join("lake"));
        let mut bytes = Vec::new();
        for n in 0..40 {
            bytes.extend(format!("{{\"not a record\": {n}}}\n").as_bytes());
            if n == 17 {
                bytes.extend(format!("{{\"long\": \"{}\"}}\n", "x".repeat(1000)).as_bytes());
            }
        }
        let complete = bytes.len();
        bytes.extend(b"{\"partial\": "); // no newline yet
        let first = run(&lake, &bytes, 0, Some(0));
        assert_eq!(first.pending_bytes, 12);
        let cp = Checkpoints::load(&lake).unwrap().get("az://a/c/blob").cloned().unwrap();
        assert_eq!(cp.offset, complete as u64);
        assert_eq!(cp.prefix_crc64, Some(crc64::extend(0, &bytes[..complete])));

        bytes.extend(b"1}\n{\"more\": 2}\n");
        let second = run(&lake, &bytes, cp.offset, cp.prefix_crc64);
        assert_eq!(second.quarantined, 2);
        let cp = Checkpoints::load(&lake).unwrap().get("az://a/c/blob").cloned().unwrap();
        assert_eq!(cp.offset, bytes.len() as u64);
        assert_eq!(cp.prefix_crc64, Some(crc64::extend(0, &bytes)));
    }

    /// A source read without a checksum (files; blobs of older lakes) keeps none.
    #[test]
    fn no_checksum_is_made_up() {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakePaths::new(dir.path().join("lake"));
        run(&lake, b"{\"a\": 1}\n", 0, None);
        let cp = Checkpoints::load(&lake).unwrap().get("az://a/c/blob").cloned().unwrap();
        assert_eq!((cp.offset, cp.prefix_crc64), (9, None));
    }
}
