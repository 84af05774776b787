//! Progress bars on a terminal, nothing elsewhere.
//!
//! A bar is drawn only when stderr is a terminal, the log format is human and `--quiet` is off;
//! under cron, systemd or Kubernetes the per-step and per-object log lines are the progress.
//! Log lines written while a bar is shown go through [`LogWriter`], which lifts the bar out of the
//! way, so the two never interleave.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static ENABLED: AtomicBool = AtomicBool::new(false);
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Turns bars on for this process (called once, by `main`).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// A bar for `total` items of `what`, cleared when dropped.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// Starts a bar, or nothing when bars are off.
    pub fn start(what: &str, total: u64) -> Self {
        if !ENABLED.load(Ordering::Relaxed) || total == 0 {
            return Self(None);
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(what.to_string());
        if let Ok(mut active) = ACTIVE.lock() {
            *active = Some(bar.clone());
        }
        Self(Some(bar))
    }

    /// Names the item being worked on.
    pub fn message(&self, text: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(text.to_string());
        }
    }

    /// One more item done.
    pub fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
            if let Ok(mut active) = ACTIVE.lock() {
                *active = None;
            }
        }
    }
}

/// stderr for the log, drawn around the active bar.
pub struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let active = ACTIVE.lock().ok().and_then(|a| a.clone());
        match active {
            Some(bar) => bar.suspend(|| std::io::Write::write(&mut std::io::stderr(), buf)),
            None => std::io::Write::write(&mut std::io::stderr(), buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::Write::flush(&mut std::io::stderr())
    }
}
