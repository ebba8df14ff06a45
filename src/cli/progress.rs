//! Progress bars on standard error, drawn only on a terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::catalog::Progress;
use crate::layer::Limits;
use crate::model::Platform;
use crate::scan::{Scanner, ScannerOptions};

/// A scanner whose layer reads show on a progress bar.
pub(crate) fn scanner(
    insecure_registries: &[String],
    platform: Option<Platform>,
    no_cache: bool,
    limits: Limits,
) -> anyhow::Result<Scanner> {
    scanner_with(insecure_registries, platform, no_cache, limits, false)
}

/// [`scanner`], checking each layer read against its `diff_id` when `verify_diff_ids`.
pub(crate) fn scanner_with(
    insecure_registries: &[String],
    platform: Option<Platform>,
    no_cache: bool,
    limits: Limits,
    verify_diff_ids: bool,
) -> anyhow::Result<Scanner> {
    Scanner::new(ScannerOptions {
        insecure_registries: insecure_registries.to_vec(),
        platform,
        cache: !no_cache,
        limits,
        progress: Arc::new(Bar::new()),
        verify_diff_ids,
    })
    .map_err(Into::into)
}

/// A progress bar on standard error (drawn only on a terminal): bytes read, layers done.
pub(crate) struct Bar {
    bar: ProgressBar,
    layers: AtomicUsize,
    total: AtomicUsize,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} layers {msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Bar {
            bar,
            layers: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
        }
    }

    fn layer(&self) {
        let done = self.layers.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar
            .set_message(format!("{done}/{}", self.total.load(Ordering::Relaxed)));
    }
}

impl Progress for Bar {
    fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn start(&self, layers: usize, bytes: u64) {
        self.total.store(layers, Ordering::Relaxed);
        self.bar.set_length(bytes);
        self.bar.set_message(format!("0/{layers}"));
        self.bar.enable_steady_tick(Duration::from_millis(120));
    }

    fn cached(&self, bytes: u64) {
        self.bar.inc(bytes);
        self.layer();
    }

    fn read(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn layer_done(&self) {
        self.layer();
    }
}
