//! The sink: the one thread that commits to the lake during an ingest.
//!
//! Workers write staged Parquet files; the sink keeps quarantine entries, tracks how far
//! each source is consumed, and at each commit barrier (sent by the reader after every
//! block and a flush request to every worker) waits for those blocks and the workers'
//! closed files, then commits them with the checkpoints they advance.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender};

use super::target::Target;
use super::worker::DecodedBlock;
use super::{IngestError, IngestSummary, Progress};
use crate::lake::checkpoint::SourceCheckpoint;
use crate::lake::commit::Commit;
use crate::lake::durable::SyncQueue;
use crate::lake::quarantine::QuarantineEntry;
use crate::lake::writer::WrittenFile;
use crate::lake::{IoContext, LakePaths, RunId, StagedFile};
use crate::source::local;

/// What the reader and the workers tell the sink.
pub enum Message {
    /// Blocks a worker decoded, in the order it decoded them.
    Blocks(Vec<DecodedBlock>),
    /// A record the reader quarantined itself, with the side file holding its bytes and
    /// the credentials redacted from them.
    Quarantined { entry: QuarantineEntry, file: Option<StagedFile>, redactions: Vec<crate::record::redact::Pattern> },
    /// A worker's files, closed for the coming commit.
    Flushed(Vec<WrittenFile>),
    /// Commit once `blocks` blocks and `flushes` flushes in all have arrived, then
    /// acknowledge.
    Commit { blocks: u64, flushes: u64 },
}

pub struct Sink<'t> {
    target: &'t Target,
    /// Where files are staged: the local lake, or the work directory of a remote one.
    lake: LakePaths,
    run: RunId,
    progress: Progress,
    /// Syncs the workers' closed files; waited on before each commit.
    durable: SyncQueue,
    written: Vec<WrittenFile>,
    flushes_seen: u64,
    quarantine: Vec<QuarantineEntry>,
    side_files: Vec<StagedFile>,
    checkpoints: BTreeMap<String, SourceCheckpoint>,
    /// Sources whose identity the reader gave (blobs): no local fingerprint to compute.
    identified: std::collections::BTreeSet<String>,
    blocks_seen: u64,
    seq: u32,
    outcome: IngestSummary,
}

impl<'t> Sink<'t> {
    pub fn new(target: &'t Target, run: RunId, progress: Progress, durable: SyncQueue) -> Self {
        Sink {
            target,
            lake: target.work().clone(),
            run,
            progress,
            durable,
            written: Vec::new(),
            flushes_seen: 0,
            quarantine: Vec::new(),
            side_files: Vec::new(),
            checkpoints: BTreeMap::new(),
            identified: Default::default(),
            blocks_seen: 0,
            seq: 0,
            outcome: IngestSummary::default(),
        }
    }

    pub fn run(mut self, messages: Receiver<Message>, acks: SyncSender<()>) -> Result<IngestSummary, IngestError> {
        let mut barrier: Option<(u64, u64)> = None;
        for message in messages {
            match message {
                Message::Blocks(blocks) => {
                    for block in blocks {
                        self.take_block(block)?;
                    }
                }
                Message::Quarantined { entry, file, redactions } => {
                    self.outcome.quarantined += 1;
                    if !redactions.is_empty() {
                        self.outcome.redacted_records += 1;
                    }
                    for pattern in redactions {
                        *self.outcome.redactions.entry(pattern.as_str().to_owned()).or_default() += 1;
                    }
                    self.quarantine.push(entry);
                    self.side_files.extend(file);
                }
                Message::Flushed(files) => {
                    self.flushes_seen += 1;
                    self.written.extend(files);
                }
                Message::Commit { blocks, flushes } => barrier = Some((blocks, flushes)),
            }
            if barrier.is_some_and(|(blocks, flushes)| self.blocks_seen >= blocks && self.flushes_seen >= flushes) {
                barrier = None;
                self.commit()?;
                if acks.send(()).is_err() {
                    break;
                }
            }
        }
        Ok(self.outcome)
    }

    fn take_block(&mut self, block: DecodedBlock) -> Result<(), IngestError> {
        self.blocks_seen += 1;
        self.outcome.records += block.records;
        self.outcome.quarantined += block.quarantined.len() as u64;
        self.outcome.pending_bytes += block.pending_bytes;
        self.outcome.redacted_records += block.redacted_records;
        for (pattern, n) in block.redactions {
            *self.outcome.redactions.entry(pattern.to_owned()).or_default() += n;
        }
        self.quarantine.extend(block.quarantined);
        self.progress.set_records(self.outcome.records);
        let checkpoint = self.checkpoints.entry(block.source.to_string()).or_default();
        // Blocks of one source may finish out of order; all before a barrier are in by the
        // commit, and every block but the last is consumed whole, so the furthest is right.
        // Its checksum is that of `[0, furthest)`, whichever block brought it: two blocks
        // ending at one offset carry the same one, or one of them none (bytes skipped unread).
        if block.consumed_to > checkpoint.offset
            || (block.consumed_to == checkpoint.offset && checkpoint.prefix_crc64.is_none())
        {
            checkpoint.prefix_crc64 = block.prefix_crc64;
        }
        checkpoint.offset = checkpoint.offset.max(block.consumed_to);
        checkpoint.length = block.length;
        if let Some(fingerprint) = &block.fingerprint {
            checkpoint.fingerprint = Some(fingerprint.to_string());
            self.identified.insert(block.source.to_string());
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), IngestError> {
        let mut files: Vec<StagedFile> = self.written.drain(..).map(|w| w.file).collect();
        self.outcome.data_files += files.len() as u64;
        files.append(&mut self.side_files);
        if !self.quarantine.is_empty() {
            let now = chrono::Utc::now();
            let staged = StagedFile::quarantine_file(&self.run, now.date_naive(), &format!("{:05}.jsonl", self.seq));
            let path = self.lake.root().join(&staged.staged);
            let mut text = Vec::new();
            let stamp = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            for entry in self.quarantine.drain(..) {
                entry.write_line(&stamp, &mut text);
            }
            std::fs::create_dir_all(path.parent().expect("quarantine files live in a directory")).at(&path)?;
            std::fs::write(&path, &text).at(&path)?;
            std::fs::File::open(&path).and_then(|f| f.sync_all()).at(&path)?;
            files.push(staged);
        }
        let mut checkpoints = Vec::new();
        for (source, mut checkpoint) in std::mem::take(&mut self.checkpoints) {
            if !self.identified.contains(&source) {
                checkpoint.fingerprint = Some(local::fingerprint(std::path::Path::new(&source), checkpoint.offset)?);
            }
            checkpoints.push((source, checkpoint));
        }
        let commit = Commit { files, checkpoints };
        if !commit.is_empty() {
            // The commit names the workers' files: they must be on disk whole first.
            self.durable.wait()?;
            self.target.commit(&commit, &self.run, self.seq)?;
            self.seq += 1;
            self.outcome.commits += 1;
        }
        Ok(())
    }
}
