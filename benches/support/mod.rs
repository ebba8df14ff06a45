//! What the benchmarks share: medians, millisecond figures and the Markdown table of one run
//! that goes to `docs/performance.md`.
#![allow(dead_code, clippy::print_stdout)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Run a command to its end, which must succeed; how long it took and its standard output.
pub fn run_timed(cmd: &mut Command) -> (Duration, String) {
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The repetitions to measure (`BENCH_REPS`, else `default`), or `None` when the binary runs
/// outside `cargo bench`: `cargo test --all-targets` runs bench binaries without `--bench`,
/// and then they only check that they build.
pub fn bench_reps(how_to_run: &str, default: usize) -> Option<usize> {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("run with `{how_to_run}` (cargo bench)");
        return None;
    }
    Some(
        std::env::var("BENCH_REPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

/// The median of `reps` measurements.
pub fn median(reps: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut v: Vec<Duration> = (0..reps).map(|_| f()).collect();
    v.sort();
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// One target of the table.
pub struct Row {
    pub target: String,
    pub measured: String,
    pub ratio: String,
    pub pass: bool,
}

/// Prints the rows as the Markdown table of `docs/performance.md`.
pub fn print_table(rows: Vec<Row>) {
    println!("| target | measured | ratio | result |");
    println!("|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} |",
            r.target,
            r.measured,
            r.ratio,
            if r.pass { "pass" } else { "**fail**" }
        );
    }
}
