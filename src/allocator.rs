//! What kvaudit asks of glibc's malloc, the allocator Rust's `System` uses on Linux. Two
//! policies, chosen once per process before any thread starts (`cli::run`):
//!
//! - **The service** (`serve`): at most two arenas, and the memory freed by a cycle handed
//!   back to the system when the cycle ends ([`limit_arenas`], [`release_free_memory`]).
//! - **A one-run command** (`query`, `ingest`, `detect`, …): keep what was freed for the
//!   next allocation rather than returning it ([`keep_freed_memory`]); the process ends soon
//!   and gives everything back then.
//!
//! Everywhere else (musl, macOS, Windows) these are no-ops.
//!
//! Why the service trims: a cycle's work is transient. A heap profile of the soak test (heaptrack, 97 rounds)
//! found the live heap between cycles at about 1 MiB, while a cycle and the requests beside
//! it peak at 10 to 30 MiB (Parquet footers and statistics of every file a scan plans
//! over, zstd contexts, record batches), a peak that grows with what the lake holds. glibc
//! keeps what was freed inside its arenas, so resident memory followed the highest peak
//! seen so far, plus fragmentation: midway through that run the arenas held 47.6 MB from
//! the system with 9.9 MB in use.
//!
//! Invariant: nothing here changes what a program computes; only how much memory the
//! process keeps resident while idle.

/// A malloc parameter, unless glibc's own environment variable for it (`MALLOC_ARENA_MAX`,
/// `MALLOC_TRIM_THRESHOLD_`, …) is set: an explicit setting wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_unless_in_environment(parameter: libc::c_int, variable: &str, value: usize) {
    if std::env::var_os(variable).is_some() {
        return;
    }
    let value = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets an allocator parameter; the callers run before any thread
    // is started.
    unsafe {
        libc::mallopt(parameter, value);
    }
}

/// Caps glibc's malloc at two arenas. glibc gives each thread that allocates under
/// contention its own arena (up to eight per core) and returns little of them to the
/// system: a service whose tokio and DataFusion threads change from cycle to cycle grew by
/// about 1.5 MB a cycle in the soak test with the default, and levelled off with two arenas
/// (the effect of `MALLOC_ARENA_MAX=2`). An explicit `MALLOC_ARENA_MAX` wins.
///
/// Call it before any thread is started (before the tokio runtime is built).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    set_unless_in_environment(libc::M_ARENA_MAX, "MALLOC_ARENA_MAX", 2);
}

/// For a command that runs once and exits: freed memory stays with malloc for the next
/// allocation instead of going back to the system and coming back as fresh zeroed pages.
///
/// Why: glibc's defaults return the top of a heap once 128 KiB of it is free and map each
/// allocation of 128 KiB or more on its own (the threshold adapts upwards, up to 32 MiB, only
/// after such a block is freed). A query over the lake allocates and frees decoded pages and
/// batches of a few hundred KiB to a few MiB all along, so with the defaults much of it was
/// page faults: `perf` on the benchmark's secret-readers query counted 26,000 faults and
/// 30 % of its CPU time in the kernel, and with these settings its system time halved
/// (README, Figures). An ingest of 1 GB measured the same time and peak RSS either way.
///
/// - at most one arena per core: glibc's default is eight per core, and every thread that
///   allocates under contention (tokio's blocking pool reads files on many) gets a fresh
///   arena, whose first pages are all faults;
/// - large blocks come from the heap up to 32 MiB (glibc's own upper bound for its adaptive
///   threshold), and up to 128 MiB of free memory at the top of a heap is kept;
/// - each time a heap grows it grows by 64 MiB more than asked, in address space only: pages
///   are faulted in when first touched, so resident memory is what is used.
///
/// Call it before any thread is started.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MIB: usize = 1 << 20;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        set_unless_in_environment(libc::M_ARENA_MAX, "MALLOC_ARENA_MAX", cores);
        set_unless_in_environment(libc::M_MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_", 32 * MIB);
        set_unless_in_environment(libc::M_TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_", 128 * MIB);
        set_unless_in_environment(libc::M_TOP_PAD, "MALLOC_TOP_PAD_", 64 * MIB);
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
