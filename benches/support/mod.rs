//! What the benchmarks share: medians, millisecond figures and the Markdown table of one run
//! that goes to `docs/performance.md`.
#![allow(dead_code, clippy::print_stdout)]

use std::time::Duration;

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
