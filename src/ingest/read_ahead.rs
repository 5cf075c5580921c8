//! How far the reader may run ahead of the workers, counted in bytes.
//!
//! The reader shares the cores with the workers. With two blocks queued per worker, it
//! could refill the queues only when a worker paused, and on two cores the workers waited
//! for blocks: a 4,300-blob ingest took 3.6 s where 32 blocks per worker took 3.0 s
//! (2026-11-29). Deep queues of blocks could hold a lot of memory when blocks are large
//! (4 MiB each, or a whole legacy document), so the bound is on bytes: the reader takes
//! a block's size before queueing it, a worker gives it back once the block is decoded.
//!
//! Invariant: the bytes held never exceed the limit, except by one block larger than the
//! limit, which waits until nothing else is held. Once a worker has stopped, nothing
//! waits any more, so a reader never hangs behind a worker that died.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
struct Held {
    bytes: u64,
    closed: bool,
}

/// The reader's budget of bytes in the workers' queues.
#[derive(Debug)]
pub struct ReadAhead {
    held: Mutex<Held>,
    freed: Condvar,
    limit: u64,
}

impl ReadAhead {
    pub fn new(limit: u64) -> Self {
        ReadAhead { held: Mutex::default(), freed: Condvar::new(), limit }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        // The counter stays meaningful whatever a panicking holder was doing.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until `bytes` more fit within the limit, then holds them.
    pub fn take(&self, bytes: u64) {
        let mut held = self.lock();
        while !held.closed && held.bytes > 0 && held.bytes + bytes > self.limit {
            held = self.freed.wait(held).unwrap_or_else(PoisonError::into_inner);
        }
        held.bytes += bytes;
    }

    /// Returns `bytes` taken earlier.
    pub fn give_back(&self, bytes: u64) {
        let mut held = self.lock();
        held.bytes = held.bytes.saturating_sub(bytes);
        self.freed.notify_all();
    }

    /// Stops all waiting: a worker stopped, and its blocks will never be given back.
    pub fn close(&self) {
        self.lock().closed = true;
        self.freed.notify_all();
    }

    /// Bytes held now.
    #[cfg(test)]
    fn held(&self) -> u64 {
        self.lock().bytes
    }
}

/// Closes a [`ReadAhead`] when dropped: held by each worker for as long as it runs.
pub struct ClosesOnExit<'a>(pub &'a ReadAhead);

impl Drop for ClosesOnExit<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    use super::*;

    /// Holds 60 of a budget of 100 while a reader on another thread asks for 60 more,
    /// checks that the reader waits, calls `release`, and checks that the reader got through.
    fn reader_waits_until(release: impl FnOnce(&ReadAhead)) -> Arc<ReadAhead> {
        let budget = Arc::new(ReadAhead::new(100));
        budget.take(60);
        let (done_tx, done) = channel();
        let reader = {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || {
                budget.take(60);
                done_tx.send(()).unwrap();
            })
        };
        assert!(done.recv_timeout(Duration::from_millis(200)).is_err(), "60 + 60 > 100: the reader waits");
        release(&budget);
        done.recv_timeout(Duration::from_secs(10)).expect("the reader gets through");
        reader.join().unwrap();
        budget
    }

    #[test]
    fn the_reader_waits_until_a_worker_gives_bytes_back() {
        assert_eq!(reader_waits_until(|budget| budget.give_back(60)).held(), 60);
    }

    #[test]
    fn a_stopped_worker_releases_the_reader() {
        // A worker that stopped gives nothing back: the reader goes on past the limit, to
        // find the worker's queue closed.
        assert_eq!(reader_waits_until(|budget| drop(ClosesOnExit(budget))).held(), 120);
    }

    #[test]
    fn a_block_larger_than_the_limit_passes_alone() {
        let budget = ReadAhead::new(100);
        budget.take(500);
        assert_eq!(budget.held(), 500);
        budget.give_back(500);
        budget.take(30);
        budget.take(70);
        assert_eq!(budget.held(), 100);
    }
}
