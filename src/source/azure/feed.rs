//! Blob bytes for the ingest reader, downloaded ahead of it.
//!
//! The ingest reader works on a blocking thread and reads each source as `Read + Seek`.
//! [`BlobFeed`] downloads the first chunk of the next blobs concurrently (at most
//! `concurrency` requests in flight, and at most that many chunks waiting), in the order the
//! reader takes them, so decoding one blob overlaps the download of the next ones; a blob
//! whose new bytes exceed one chunk is read on in further range reads of one chunk each.
//! Memory is bounded by `2 × concurrency` chunks, whatever the backlog.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use futures::StreamExt;
use tokio::runtime::Handle;

use super::BlobError;
use super::client::{BlobStore, RangeRead};

/// One blob's new bytes to read: `[start, end)` of `name`.
#[derive(Debug, Clone)]
pub struct BlobRange {
    pub name: String,
    pub start: u64,
    pub end: u64,
}

/// The first chunk of a blob's range, downloaded.
struct Prefetched {
    name: String,
    bytes: azure_core::Bytes,
}

/// Hands out readers over the ranges, in the order they were given.
pub struct BlobFeed {
    store: Arc<BlobStore>,
    handle: Handle,
    chunk: u64,
    chunks: tokio::sync::mpsc::Receiver<Result<Prefetched, BlobError>>,
    task: tokio::task::JoinHandle<()>,
}

impl BlobFeed {
    /// Starts downloading on `handle`'s runtime.
    pub fn start(store: Arc<BlobStore>, handle: Handle, ranges: Vec<BlobRange>, chunk: u64) -> Self {
        let concurrency = store.config().concurrency.max(1);
        let (tx, rx) = tokio::sync::mpsc::channel(concurrency);
        let fetcher = Arc::clone(&store);
        let task = handle.spawn(async move {
            let mut downloads = futures::stream::iter(ranges.into_iter().map(|r| {
                let store = Arc::clone(&fetcher);
                async move {
                    let end = r.end.min(r.start + chunk);
                    let bytes = match store.read_range(&r.name, r.start, end).await? {
                        RangeRead::Bytes(b) => b,
                        RangeRead::NoNewData => azure_core::Bytes::new(),
                    };
                    Ok(Prefetched { name: r.name, bytes })
                }
            }))
            .buffered(concurrency);
            while let Some(item) = downloads.next().await {
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        BlobFeed { store, handle, chunk, chunks: rx, task }
    }

    /// The reader of the next range. Must be called once per range, in order, from a
    /// thread outside the runtime.
    pub fn open(&mut self, range: &BlobRange) -> Result<BlobReader, BlobError> {
        let first =
            self.chunks.blocking_recv().ok_or_else(|| BlobError::State("the blob download task stopped".into()))??;
        assert_eq!(first.name, range.name, "blobs are opened in the order they were planned");
        Ok(BlobReader {
            store: Arc::clone(&self.store),
            handle: self.handle.clone(),
            name: range.name.clone(),
            end: range.end,
            chunk: self.chunk,
            window_start: range.start,
            window: first.bytes,
            pos: range.start,
        })
    }
}

impl Drop for BlobFeed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `Read + Seek` over one blob's range, at absolute blob offsets. Reads past `end` (or
/// past the blob's true end) return end of file.
pub struct BlobReader {
    store: Arc<BlobStore>,
    handle: Handle,
    name: String,
    end: u64,
    chunk: u64,
    window_start: u64,
    window: azure_core::Bytes,
    pos: u64,
}

impl BlobReader {
    fn fill(&mut self) -> std::io::Result<()> {
        let end = self.end.min(self.pos + self.chunk);
        let read = self.handle.block_on(self.store.read_range(&self.name, self.pos, end));
        self.window_start = self.pos;
        self.window = match read.map_err(std::io::Error::other)? {
            RangeRead::Bytes(b) => b,
            RangeRead::NoNewData => azure_core::Bytes::new(),
        };
        Ok(())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.end || buf.is_empty() {
            return Ok(0);
        }
        let window_end = self.window_start + self.window.len() as u64;
        if self.pos < self.window_start || self.pos >= window_end {
            self.fill()?;
        }
        let offset = (self.pos - self.window_start) as usize;
        let available = &self.window[offset.min(self.window.len())..];
        let n = available.len().min(buf.len()).min((self.end - self.pos) as usize);
        buf[..n].copy_from_slice(&available[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
            SeekFrom::End(d) => self.end.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}
