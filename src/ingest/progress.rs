//! The progress bar of a long ingest: bytes read and records written, on a terminal only.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that does nothing when hidden.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Shows a bar over `total` bytes when `visible` and stderr is a terminal.
    pub fn new(visible: bool, total: u64) -> Self {
        use std::io::IsTerminal;
        if !visible || !std::io::stderr().is_terminal() || total == 0 {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg} (eta {eta})")
                .expect("progress template is valid"),
        );
        Progress { bar: Some(bar) }
    }

    pub fn add_bytes(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    pub fn set_records(&self, records: u64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{records} records"));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
