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

    #[test]
    fn the_reader_waits_until_a_worker_gives_bytes_back() {
        let budget = Arc::new(ReadAhead::new(100));
        budget.take(60);
        let (done_tx, done_rx) = channel();
        let reader = {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || {
                budget.take(60);
                done_tx.send(()).unwrap();
            })
        };
        // 60 + 60 > 100: the second take waits...
        assert!(done_rx.recv_timeout(Duration::from_millis(200)).is_err());
        // ...until the first block is given back.
        budget.give_back(60);
        done_rx.recv_timeout(Duration::from_secs(10)).expect("take returns once bytes are given back");
        reader.join().unwrap();
        assert_eq!(budget.held(), 60);
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

    #[test]
    fn a_stopped_worker_releases_the_reader() {
        let budget = Arc::new(ReadAhead::new(10));
        budget.take(10);
        let (done_tx, done_rx) = channel();
        let reader = {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || {
                budget.take(10);
                done_tx.send(()).unwrap();
            })
        };
        assert!(done_rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(ClosesOnExit(&budget));
        done_rx.recv_timeout(Duration::from_secs(10)).expect("a closed budget never waits");
        reader.join().unwrap();
    }
}
