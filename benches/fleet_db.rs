//! Fleet inventory benchmark, run with `cargo bench --bench fleet_db`; not part of the test
//! suite. Prints a Markdown table of one run for `docs/performance.md`.
//!
//! Generates `FLEET_BENCH_IMAGES` (default 200) synthetic image records of
//! `FLEET_BENCH_PACKAGES` pip packages each (default: every line of `FLEET_BENCH_FREEZE`, a
//! `pip freeze` file, default `scripts/bench.d/venv-freeze.txt`; synthetic names pad it
//! or stand in for it), writes them as a results file, and times:
//! - `fleet merge` of the file into a new inventory (read, parse, one transaction);
//! - the same merge again (idempotent: nothing changes);
//! - a one-package query (`numpy<2`) through the library, and through the binary;
//! - `--summary` through the library.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use envaudit::fleet::db::Inventory;
use envaudit::fleet::record::{self, ImageRecord, SCHEMA_VERSION, ScanRecord};
use envaudit::fleet::spec::PackageQuery;
use envaudit::model::Digest;

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// `(name, version)` of the freeze file, padded with synthetic packages to `count`.
fn packages(count: Option<usize>) -> Vec<(String, String)> {
    let path = std::env::var("FLEET_BENCH_FREEZE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/bench.d/venv-freeze.txt"
        )
        .to_owned()
    });
    let mut out: Vec<(String, String)> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once("=="))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let want = count.unwrap_or(out.len().max(346));
    let mut i = 0;
    while out.len() < want {
        out.push((format!("synthetic-package-{i}"), format!("1.{i}.0")));
        i += 1;
    }
    out.truncate(want);
    if !out.iter().any(|(n, _)| n == "numpy") {
        out.pop();
        out.push(("numpy".to_owned(), "1.26.4".to_owned()));
    }
    out
}

fn image(i: usize, packages: &[(String, String)]) -> ScanRecord {
    const NUMPY: [&str; 4] = ["1.24.4", "1.26.4", "2.0.2", "2.1.3"];
    const LICENSES: [&str; 4] = ["MIT", "BSD-3-Clause", "Apache-2.0", "PSF-2.0"];
    let pkgs: Vec<serde_json::Value> = packages
        .iter()
        .enumerate()
        .map(|(k, (name, version))| {
            let version = if name == "numpy" {
                NUMPY[i % NUMPY.len()].to_owned()
            } else if k % 10 == i % 10 {
                // A tenth of the packages differ per image.
                format!("{version}.post{i}")
            } else {
                version.clone()
            };
            serde_json::json!({
                "ecosystem": "pip",
                "name": envaudit::model::PackageName::pip(name).as_str(),
                "version": version,
                "prefix": "/opt/conda/envs/train",
                "licenses": [LICENSES[k % LICENSES.len()]],
            })
        })
        .collect();
    let layers: Vec<String> = (0..8)
        .map(|l| {
            Digest::sha256_of(format!("layer-{}-{l}", if l < 5 { 0 } else { i }).as_bytes())
                .to_string()
        })
        .collect();
    let snapshot = serde_json::from_value(serde_json::json!({
        "snapshot": format!("{i:016x}"),
        "definition": "",
        "definition-kind": "none",
        "definition-hash": Digest::sha256_of(b"").to_string(),
        "completeness": "complete",
        "image-layers": layers,
        "prefixes": [{"path": "/opt/conda/envs/train", "kind": "conda", "python": "3.11.9"}],
        "packages": pkgs,
    }))
    .expect("a snapshot");
    ScanRecord::Image(Box::new(ImageRecord {
        schema_version: SCHEMA_VERSION,
        manifest: Digest::sha256_of(format!("manifest-{i}").as_bytes()),
        registry: "registry.example".to_owned(),
        references: vec![
            format!("registry.example/team{}/env:{i}", i % 20),
            format!("registry.example/team{}/env:latest-{}", i % 20, i % 3),
        ],
        index: None,
        scanned_at: "2026-12-06T00:00:00Z".to_owned(),
        worker: Some(format!("{}/4", i % 4)),
        snapshot,
    }))
}

#[allow(clippy::cast_precision_loss)]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// Timed repetitions of each query.
const REPS: usize = 7;

/// The median of [`REPS`] timings of `run`.
fn median_of(mut run: impl FnMut() -> std::time::Duration) -> std::time::Duration {
    let mut v: Vec<_> = (0..REPS).map(|_| run()).collect();
    v.sort();
    v[v.len() / 2]
}

fn ms(d: std::time::Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    if support::bench_reps("cargo bench --bench fleet_db", 1).is_none() {
        return;
    }
    let images = env_usize("FLEET_BENCH_IMAGES").unwrap_or(200);
    let pkgs = packages(env_usize("FLEET_BENCH_PACKAGES"));
    let dir = tempfile::tempdir().expect("temp dir");
    // Results files of up to `FLEET_BENCH_BATCH` records (default 1000), as workers write
    // them; each is merged in its own transaction, as `fleet merge` does.
    let batch = env_usize("FLEET_BENCH_BATCH").unwrap_or(1000).max(1);
    let mut files = Vec::new();
    let start = Instant::now();
    for first in (0..images).step_by(batch) {
        use std::io::Write as _;
        let path = dir.path().join(format!("results-{first}.jsonl"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        for i in first..(first + batch).min(images) {
            serde_json::to_writer(&mut f, &image(i, &pkgs)).expect("json");
            f.write_all(b"\n").expect("write");
        }
        files.push(path);
    }
    let generate = start.elapsed();
    let size: u64 = files
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let db: PathBuf = dir.path().join("inventory.sqlite");

    let mut inv = Inventory::open(&db).expect("open");
    let (mut parse, mut merge, mut remerge) = Default::default();
    let mut new_images = 0;
    for path in &files {
        let start = Instant::now();
        let read = record::read(path).expect("read");
        parse += start.elapsed();
        let start = Instant::now();
        new_images += inv
            .merge(&read.records, "results.jsonl")
            .expect("merge")
            .new_images;
        merge += start.elapsed();
        let start = Instant::now();
        let again = inv.merge(&read.records, "results.jsonl").expect("merge");
        remerge += start.elapsed();
        assert!(again.is_unchanged());
    }
    let merge: std::time::Duration = merge;
    let remerge: std::time::Duration = remerge;
    let parse: std::time::Duration = parse;
    assert_eq!(new_images, images);

    let q: PackageQuery = "numpy<2".parse().expect("query");
    let mut found = 0;
    let best = median_of(|| {
        let start = Instant::now();
        found = inv.find(std::slice::from_ref(&q)).expect("find").len();
        start.elapsed()
    });
    let mut summary = None;
    let summary_took = median_of(|| {
        let start = Instant::now();
        summary = Some(inv.summary().expect("summary"));
        start.elapsed()
    });
    let summary = summary.expect("a summary");
    assert_eq!(summary.images, images as u64);
    drop(inv);
    let db_size = std::fs::metadata(&db).map_or(0, |m| m.len())
        + std::fs::metadata(dir.path().join("inventory.sqlite-wal")).map_or(0, |m| m.len());

    let bin = PathBuf::from(env!("CARGO_BIN_EXE_envaudit"));
    let query_process = |args: &[&str]| {
        bin.is_file().then(|| {
            median_of(|| {
                support::run_timed(
                    Command::new(&bin)
                        .args(["fleet", "query", "--db"])
                        .arg(&db)
                        .args(args),
                )
                .0
            })
        })
    };
    let cli = query_process(&["numpy<2", "--format", "csv"]);
    let cli_summary = query_process(&["--summary", "--format", "json"]);

    println!(
        "fleet inventory: {images} images × {} packages ({} package rows), {} results files {:.1} MiB, database {:.1} MiB\n",
        pkgs.len(),
        images * pkgs.len(),
        files.len(),
        mib(size),
        mib(db_size)
    );
    println!("| step | time |\n|---|---|");
    println!("| generate the results file | {} |", ms(generate));
    println!("| read and parse it (`record::read`) | {} |", ms(parse));
    println!(
        "| merge into a new inventory (one transaction per file) | {} |",
        ms(merge)
    );
    println!(
        "| merge the same records again (no change) | {} |",
        ms(remerge)
    );
    println!(
        "| query `numpy<2` (library, median of {REPS}; {found} matches) | {} |",
        ms(best)
    );
    if let Some(c) = cli {
        println!(
            "| `envaudit fleet query numpy<2` (process, median of {REPS}) | {} |",
            ms(c)
        );
    }
    println!(
        "| `--summary` (library, median of {REPS}) | {} |",
        ms(summary_took)
    );
    if let Some(c) = cli_summary {
        println!(
            "| `envaudit fleet query --summary` (process, median of {REPS}) | {} |",
            ms(c)
        );
    }
}
