//! The reader: cuts each source's new bytes into blocks for the workers.
//!
//! A block that is not the last of its read ends just after a newline, so workers can
//! decode blocks in any order and every block but the last is consumed whole. A source
//! whose new bytes begin with a JSON document (`{"records":[...]}` or `[...]`) is read as
//! one block, since a pretty-printed document has no line boundaries to cut at.
//! A line longer than a block is copied to a quarantine side file in pieces, so a 50 MB
//! line costs one block of memory, not 50 MB.
//!
//! For a source whose checkpoint keeps the CRC-64 of the bytes before its offset (blobs,
//! see `crc64.rs`), the reader extends that checksum over each block in source order, and
//! hands it with the block: through the block's end when the block is consumed whole,
//! from its start for the last block of a read, whose worker alone knows where the
//! consumed bytes end. Workers finish blocks out of order; the sink keeps the checksum of
//! the furthest offset, which is right whichever block brought it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use arrow::buffer::Buffer;

use super::crc64;
use super::read_ahead::ReadAhead;
use super::sink::Message;
use super::worker::Work;
use super::{IngestError, IngestOptions, Opener, Progress, ReadSeek, ReadTask};
use crate::lake::quarantine::QuarantineEntry;
use crate::lake::{LakeError, LakePaths, RunId, StagedFile};
use crate::record::framing::starts_document;
use crate::record::redact::Redactor;
use crate::source::SourceError;

/// Source documents larger than this are quarantined unread: a legacy wrapper blob is an
/// hour of one vault's logs, far below it.
const MAX_DOCUMENT_BYTES: u64 = 1 << 30;

/// Bytes of one source for one worker.
pub struct Block {
    pub source: Arc<str>,
    /// Absolute offset of `bytes[0]` in the source.
    pub base: u64,
    /// An Arrow buffer, so the `raw` column of the batches decoded from it can point into
    /// it rather than copy every record (see `lake::batch`).
    pub bytes: Buffer,
    /// The last block of this run's read of the source: it may end in a partial line.
    pub last: bool,
    /// The source's length when this run planned it.
    pub length: u64,
    /// The source's identity to store in its checkpoint (a blob's creation time and ETag);
    /// `None` for local files, whose fingerprint the sink computes.
    pub fingerprint: Option<Arc<str>>,
    pub crc64: BlockCrc,
}

/// What the reader knows of the CRC-64 of the source's bytes up to a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockCrc {
    /// The source keeps no checksum (files, blobs checkpointed by an older kvaudit), or
    /// bytes before this block were skipped unread (an oversized document).
    Unknown,
    /// Of `[0, base)`: this is the last block of a read and may end in a partial line, so
    /// the worker extends it over exactly the bytes it consumes.
    Before(u64),
    /// Of `[0, base + bytes.len())`: the block is consumed whole.
    Through(u64),
}

impl BlockCrc {
    fn before(crc: Option<u64>) -> Self {
        crc.map_or(BlockCrc::Unknown, BlockCrc::Before)
    }

    fn through(crc: Option<u64>) -> Self {
        crc.map_or(BlockCrc::Unknown, BlockCrc::Through)
    }
}

pub struct Reader<'a> {
    options: &'a IngestOptions,
    opener: &'a mut dyn Opener,
    run: &'a RunId,
    redactor: &'a Redactor,
    /// One queue per worker, fed in turn.
    workers: Vec<SyncSender<Work>>,
    /// The bytes queued in `workers`, bounded.
    read_ahead: &'a ReadAhead,
    sink: Option<SyncSender<Message>>,
    acks: Receiver<()>,
    progress: Progress,
    next_id: u64,
    flushes: u64,
    bytes_read: u64,
    since_commit: u64,
    oversized: u32,
}

fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Source(SourceError::Io { path: path.to_path_buf(), source })
}

impl<'a> Reader<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        options: &'a IngestOptions,
        opener: &'a mut dyn Opener,
        run: &'a RunId,
        redactor: &'a Redactor,
        workers: Vec<SyncSender<Work>>,
        read_ahead: &'a ReadAhead,
        sink: SyncSender<Message>,
        acks: Receiver<()>,
        progress: Progress,
    ) -> Self {
        Reader {
            options,
            opener,
            run,
            redactor,
            workers,
            read_ahead,
            sink: Some(sink),
            flushes: 0,
            acks,
            progress,
            next_id: 0,
            bytes_read: 0,
            since_commit: 0,
            oversized: 0,
        }
    }

    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads every task, committing every `commit_bytes` and once at the end.
    pub fn read_all(&mut self, tasks: &[ReadTask]) -> Result<(), IngestError> {
        for task in tasks {
            // A stop request (Ctrl-C, SIGTERM) ends the run at the next source boundary,
            // with everything read so far committed.
            if self.options.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
                tracing::info!("Stopping at a checkpoint, as asked.");
                break;
            }
            self.read_task(task)?;
        }
        self.barrier()
    }

    fn send_block(&mut self, block: Block) -> Result<(), IngestError> {
        let n = block.bytes.len() as u64;
        self.read_ahead.take(n);
        // Give the block to the first worker with room in its queue, starting from the next
        // in turn, and wait only when every queue is full: blocks differ in size, and a
        // strict rotation would leave one worker idle behind another's large block.
        let stopped = || IngestError::Thread("a decoding worker stopped".into());
        let lanes = self.workers.len();
        let first = (self.next_id % lanes as u64) as usize;
        let mut work = Some(Work::Block(block));
        for i in 0..lanes {
            let Some(item) = work.take() else { break };
            match self.workers[(first + i) % lanes].try_send(item) {
                Ok(()) => {}
                Err(TrySendError::Full(back)) => work = Some(back),
                Err(TrySendError::Disconnected(_)) => return Err(stopped()),
            }
        }
        if let Some(item) = work {
            self.workers[first].send(item).map_err(|_| stopped())?;
        }
        self.next_id += 1;
        self.bytes_read += n;
        self.since_commit += n;
        self.progress.add_bytes(n);
        Ok(())
    }

    fn send_sink(&mut self, message: Message) -> Result<(), IngestError> {
        self.sink
            .as_ref()
            .expect("sink channel is open while reading")
            .send(message)
            .map_err(|_| IngestError::Thread("the lake writer stopped".into()))
    }

    /// Asks the sink to commit everything sent so far, and waits until it has.
    fn barrier(&mut self) -> Result<(), IngestError> {
        for worker in &self.workers {
            worker.send(Work::Flush).map_err(|_| IngestError::Thread("a decoding worker stopped".into()))?;
        }
        self.flushes += self.workers.len() as u64;
        self.send_sink(Message::Commit { blocks: self.next_id, flushes: self.flushes })?;
        self.acks.recv().map_err(|_| IngestError::Thread("the lake writer stopped before committing".into()))?;
        self.since_commit = 0;
        Ok(())
    }

    fn read_task(&mut self, task: &ReadTask) -> Result<(), IngestError> {
        let mut file = self.opener.open(task)?;
        file.seek(SeekFrom::Start(task.start)).map_err(io(&task.path))?;
        let mut pos = task.start;
        // The checksum of `[0, pos)`, when the source keeps one.
        let mut crc = task.crc64;
        let mut carry: Vec<u8> = Vec::new();
        let block_bytes = self.options.block_bytes as u64;
        let mut first = true;
        while pos < task.length {
            if self.since_commit >= self.options.commit_bytes {
                self.barrier()?;
            }
            let remaining = task.length - pos;
            let mut buf = std::mem::take(&mut carry);
            let want = if first && self.opens_document(&mut *file, &task.path, pos, remaining)? {
                if remaining > MAX_DOCUMENT_BYTES {
                    return self.quarantine_document(task, pos, remaining);
                }
                remaining
            } else {
                remaining.min(block_bytes)
            };
            first = false;
            let have = buf.len() as u64;
            if want > have {
                // Read straight behind the carried bytes: a block is never copied again.
                buf.reserve_exact((want - have) as usize);
                (&mut file).take(want - have).read_to_end(&mut buf).map_err(io(&task.path))?;
                if (buf.len() as u64) < want {
                    // The file shrank while we read: take what is there; the checkpoint
                    // records the true offset and the next run looks again.
                    tracing::warn!(source = %task.key, "The file became shorter while it was read.");
                }
            }
            let end = pos + buf.len() as u64;
            if end >= task.length || (buf.len() as u64) < want {
                let length = task.length;
                return self.send_block(Block {
                    source: Arc::clone(&task.key),
                    base: pos,
                    bytes: Buffer::from_vec(buf),
                    last: true,
                    length,
                    fingerprint: task.fingerprint.clone(),
                    crc64: BlockCrc::before(crc),
                });
            }
            match memchr::memrchr(b'\n', &buf) {
                Some(nl) => {
                    carry = buf.split_off(nl + 1);
                    let n = buf.len() as u64;
                    crc = crc.map(|c| crc64::extend(c, &buf));
                    self.send_block(Block {
                        source: Arc::clone(&task.key),
                        base: pos,
                        bytes: Buffer::from_vec(buf),
                        last: false,
                        length: task.length,
                        fingerprint: task.fingerprint.clone(),
                        crc64: BlockCrc::through(crc),
                    })?;
                    pos += n;
                }
                None => {
                    // One line fills the whole block: stream it to quarantine.
                    match self.quarantine_long_line(task, &mut *file, pos, buf, &mut crc)? {
                        Some(next) => {
                            pos = next;
                            file.seek(SeekFrom::Start(pos)).map_err(io(&task.path))?;
                        }
                        None => {
                            // No newline before the end of the file yet: the line may still
                            // be being written; leave it for a later run.
                            return self.send_block(Block {
                                source: Arc::clone(&task.key),
                                base: pos,
                                bytes: Buffer::default(),
                                last: true,
                                length: task.length,
                                fingerprint: task.fingerprint.clone(),
                                crc64: BlockCrc::before(crc),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn opens_document(
        &self,
        file: &mut dyn ReadSeek,
        path: &std::path::Path,
        pos: u64,
        remaining: u64,
    ) -> Result<bool, IngestError> {
        let mut head = Vec::with_capacity(256);
        file.take(remaining.min(256)).read_to_end(&mut head).map_err(io(path))?;
        file.seek(SeekFrom::Start(pos)).map_err(io(path))?;
        Ok(starts_document(&head))
    }

    fn quarantine_document(&mut self, task: &ReadTask, pos: u64, remaining: u64) -> Result<(), IngestError> {
        let entry = QuarantineEntry {
            source: task.key.to_string(),
            offset: pos,
            length: remaining,
            reason: format!(
                "JSON document of {remaining} bytes is larger than the {MAX_DOCUMENT_BYTES} byte limit; bytes left in the source"
            ),
            bytes: None,
            raw_file: None,
        };
        self.send_sink(Message::Quarantined { entry, file: None, redactions: Vec::new() })?;
        self.bytes_read += remaining;
        self.send_block(Block {
            source: Arc::clone(&task.key),
            base: task.length,
            bytes: Buffer::default(),
            last: true,
            length: task.length,
            fingerprint: task.fingerprint.clone(),
            // The document's bytes are skipped unread: no checksum through them.
            crc64: BlockCrc::Unknown,
        })
    }

    /// Copies a line that starts at `pos` (its first bytes are in `head`) to a side file
    /// until its newline, extending `crc` over the line and its newline. Returns the offset
    /// after the newline, or `None` when the file ends first (nothing is written then).
    fn quarantine_long_line(
        &mut self,
        task: &ReadTask,
        file: &mut dyn ReadSeek,
        pos: u64,
        head: Vec<u8>,
        crc: &mut Option<u64>,
    ) -> Result<Option<u64>, IngestError> {
        // Find the end first, so that an unfinished line leaves nothing behind.
        let mut scan = pos + head.len() as u64;
        let mut chunk = vec![0u8; self.options.block_bytes];
        let line_end = loop {
            if scan >= task.length {
                return Ok(None);
            }
            let want = ((task.length - scan) as usize).min(chunk.len());
            let n = file.read(&mut chunk[..want]).map_err(io(&task.path))?;
            if n == 0 {
                return Ok(None);
            }
            if let Some(nl) = memchr::memchr(b'\n', &chunk[..n]) {
                break scan + nl as u64;
            }
            scan += n as u64;
        };
        let lake: &LakePaths = &self.options.lake;
        let today = chrono::Utc::now().date_naive();
        self.oversized += 1;
        let staged = StagedFile::quarantine_file(self.run, today, &format!("oversized-{:05}.bin", self.oversized));
        let side = lake.root().join(&staged.staged);
        let lake_io = |source| IngestError::Lake(LakeError::Io { path: side.clone(), source });
        std::fs::create_dir_all(side.parent().expect("side files live in a directory")).map_err(lake_io)?;
        let mut out = File::create(&side).map_err(lake_io)?;
        file.seek(SeekFrom::Start(pos)).map_err(io(&task.path))?;
        let mut line = Crc64Reader { inner: (&mut *file).take(line_end - pos), crc: *crc };
        let redactions = self.copy_redacted(&mut line, &mut out, &task.path, &side)?;
        *crc = line.crc.map(|c| crc64::extend(c, b"\n"));
        out.sync_all().map_err(lake_io)?;
        let length = line_end - pos;
        let entry = QuarantineEntry {
            source: task.key.to_string(),
            offset: pos,
            length,
            reason: format!(
                "line of {length} bytes is longer than the {} byte block; no Key Vault record is that large",
                self.options.block_bytes
            ),
            bytes: None,
            raw_file: Some(staged.committed.to_string_lossy().into_owned()),
        };
        self.send_sink(Message::Quarantined { entry, file: Some(staged), redactions })?;
        // The bytes count as read, and the checkpoint moves past them with the next block.
        self.bytes_read += length + 1;
        self.progress.add_bytes(length + 1);
        self.send_block(Block {
            source: Arc::clone(&task.key),
            base: line_end + 1,
            bytes: Buffer::default(),
            last: false,
            length: task.length,
            fingerprint: task.fingerprint.clone(),
            crc64: BlockCrc::through(*crc),
        })?;
        Ok(Some(line_end + 1))
    }
}

impl Reader<'_> {
    /// Copies `from` to `to` a block at a time, with credentials redacted. Each piece ends
    /// after its last `"` (the rest is carried into the next), so a value inside a JSON
    /// string is not cut in two; when that would carry a whole block or more (a block of
    /// text without a quote), the piece is cut where the bytes end, and a credential
    /// straddling that cut is not found: the one gap of this path, for lines that are no
    /// Key Vault record.
    fn copy_redacted(
        &self,
        from: &mut dyn Read,
        to: &mut File,
        path: &std::path::Path,
        side: &std::path::Path,
    ) -> Result<Vec<crate::record::redact::Pattern>, IngestError> {
        use std::io::Write;
        let lake_io = |source| IngestError::Lake(LakeError::Io { path: side.to_path_buf(), source });
        let mut patterns = Vec::new();
        let mut buf: Vec<u8> = Vec::with_capacity(self.options.block_bytes * 2);
        let mut chunk = vec![0u8; self.options.block_bytes];
        loop {
            let n = from.read(&mut chunk).map_err(io(path))?;
            buf.extend_from_slice(&chunk[..n]);
            let cut = if n == 0 {
                buf.len()
            } else if buf.len() < self.options.block_bytes {
                continue;
            } else {
                match memchr::memrchr(b'"', &buf) {
                    // Carry at most a block, so memory stays bounded by two blocks.
                    Some(q) if buf.len() - (q + 1) < self.options.block_bytes => q + 1,
                    _ => buf.len(),
                }
            };
            let (clean, found) = self.redactor.redact_anywhere(&buf[..cut]);
            patterns.extend(found);
            to.write_all(&clean).map_err(lake_io)?;
            buf.drain(..cut);
            if n == 0 {
                return Ok(patterns);
            }
        }
    }
}

/// Extends a checksum over the bytes read through it.
struct Crc64Reader<R> {
    inner: R,
    crc: Option<u64>,
}

impl<R: Read> Read for Crc64Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc = self.crc.map(|c| crc64::extend(c, &buf[..n]));
        Ok(n)
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        // Closing both channels lets the workers and the sink run to their end.
        self.workers.clear();
        self.sink.take();
    }
}
