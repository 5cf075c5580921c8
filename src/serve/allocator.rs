//! What the service asks of glibc's malloc, the allocator Rust's `System` uses on Linux:
//! at most two arenas, and the memory freed by a cycle handed back to the system when the
//! cycle ends. Everywhere else (musl, macOS, Windows) both are no-ops.
//!
//! Why: a cycle's work is transient. A heap profile of the soak test (heaptrack, 97 rounds)
//! found the live heap between cycles at about 1 MiB, while a cycle and the requests beside
//! it peak at 10 to 30 MiB (Parquet footers and statistics of every file a scan plans
//! over, zstd contexts, record batches), a peak that grows with what the lake holds. glibc
//! keeps what was freed inside its arenas, so resident memory followed the highest peak
//! seen so far, plus fragmentation: midway through that run the arenas held 47.6 MB from
//! the system with 9.9 MB in use.
//!
//! Invariant: nothing here changes what a program computes; only how much memory the
//! process keeps resident while idle.

/// Caps glibc's malloc at two arenas. glibc gives each thread that allocates under
/// contention its own arena (up to eight per core) and returns little of them to the
/// system: a service whose tokio and DataFusion threads change from cycle to cycle grew by
/// about 1.5 MB a cycle in the soak test with the default, and levelled off with two arenas
/// (the effect of `MALLOC_ARENA_MAX=2`). An explicit `MALLOC_ARENA_MAX` wins.
///
/// Call it before any thread is started (before the tokio runtime is built).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; the caller starts no thread
        // before this returns.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Returns the free memory of every malloc arena to the system (`malloc_trim(0)`): the
/// top of each heap is shrunk and every whole free page inside one is released with
/// `madvise`. It walks the free lists once, little next to a cycle's own work, so the
/// service calls it after each cycle; the pages come back zeroed when the next one needs
/// them.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim takes the arena locks itself and is safe to call from any
        // thread at any time.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
