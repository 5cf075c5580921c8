//! Makes staged files durable on a thread of their own, while the writers go on.
//!
//! A commit may name only files that are on disk whole (see the module docs of `lake`).
//! An ingest worker that synced each file it closed waited for the disk with its core
//! idle, once per file it closed. Instead a worker hands each closed file to a
//! [`SyncQueue`]; one [`SyncThread`] syncs them in the order they came, and the sink calls
//! [`SyncQueue::wait`] before it commits them.
//!
//! Invariants:
//! - [`SyncQueue::wait`] returns `Ok` only once every file handed to the queue before the
//!   call has been synced;
//! - a failed sync is kept: that `wait` and every later one returns it, so a file that may
//!   not be on disk is never committed.

use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::{LakeError, Result};

/// What the syncing thread has done so far.
#[derive(Default)]
struct State {
    handed: u64,
    synced: u64,
    /// The first failure: the path and the error's kind and text (an `io::Error` cannot be
    /// cloned, and every later `wait` returns it again).
    failed: Option<(PathBuf, std::io::ErrorKind, String)>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves only counters behind: still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Hands closed files to the syncing thread. Cloned into every writer and the sink.
#[derive(Clone)]
pub struct SyncQueue {
    files: Sender<(File, PathBuf)>,
    shared: Arc<Shared>,
}

/// The thread's end of the queue: run it on a thread of its own. It ends when every
/// [`SyncQueue`] clone is dropped.
pub struct SyncThread {
    files: Receiver<(File, PathBuf)>,
    shared: Arc<Shared>,
}

/// A queue and the thread end that serves it.
pub fn sync_queue() -> (SyncQueue, SyncThread) {
    let (tx, rx) = channel();
    let shared = Arc::new(Shared::default());
    (SyncQueue { files: tx, shared: Arc::clone(&shared) }, SyncThread { files: rx, shared })
}

impl SyncQueue {
    /// Hands over a file whose bytes are all written, to be synced and closed.
    pub fn hand(&self, file: File, path: PathBuf) {
        self.shared.lock().handed += 1;
        if let Err(returned) = self.files.send((file, path)) {
            // The thread is gone (it ends only when every queue is dropped, so this is a
            // panic there): sync here rather than lose the guarantee.
            let (file, path) = returned.0;
            let result = file.sync_all();
            self.shared.record(path, result);
        }
    }

    /// Waits until every file handed over so far is synced; the first failure otherwise.
    pub fn wait(&self) -> Result<()> {
        let mut state = self.shared.lock();
        while state.synced < state.handed && state.failed.is_none() {
            state = self.shared.changed.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        match &state.failed {
            None => Ok(()),
            Some((path, kind, text)) => {
                Err(LakeError::Io { path: path.clone(), source: std::io::Error::new(*kind, text.clone()) })
            }
        }
    }
}

impl Shared {
    fn record(&self, path: PathBuf, result: std::io::Result<()>) {
        let mut state = self.lock();
        state.synced += 1;
        if let Err(e) = result
            && state.failed.is_none()
        {
            tracing::error!(path = %path.display(), error = %e, "A staged file could not be synced; it will not be committed.");
            state.failed = Some((path, e.kind(), e.to_string()));
        }
        drop(state);
        self.changed.notify_all();
    }
}

impl SyncThread {
    /// Syncs each file handed over, in order, until every queue is dropped.
    pub fn run(self) {
        for (file, path) in self.files {
            let result = file.sync_all();
            drop(file);
            self.shared.record(path, result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_returns_once_every_handed_file_is_synced() {
        let dir = tempfile::tempdir().unwrap();
        let (queue, thread) = sync_queue();
        std::thread::scope(|scope| {
            scope.spawn(move || thread.run());
            for i in 0..20 {
                let path = dir.path().join(format!("{i}.bin"));
                std::fs::write(&path, vec![i as u8; 4096]).unwrap();
                queue.hand(File::options().write(true).open(&path).unwrap(), path);
            }
            queue.wait().unwrap();
            let state = queue.shared.lock();
            assert_eq!((state.handed, state.synced), (20, 20));
            drop(state);
            drop(queue);
        });
    }

    #[test]
    fn a_failed_sync_is_returned_by_every_later_wait() {
        let (queue, thread) = sync_queue();
        std::thread::scope(|scope| {
            scope.spawn(move || thread.run());
            // A failing disk cannot be provoked portably: record a failure as the thread would.
            queue.shared.lock().handed += 1;
            queue.shared.record(PathBuf::from("staged/a.parquet"), Err(std::io::Error::other("disk gone")));
            let first = queue.wait().unwrap_err().to_string();
            assert_eq!(first, "staged/a.parquet: disk gone");
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("b.bin");
            std::fs::write(&path, b"x").unwrap();
            queue.hand(File::open(&path).unwrap(), path);
            assert_eq!(queue.wait().unwrap_err().to_string(), first);
            drop(queue);
        });
    }
}
