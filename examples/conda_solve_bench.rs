//! Times the conda side of prediction at conda-forge scale: reading a synthetic channel's
//! `repodata.json` (and `.json.zst`), and solving against it the bundled example's conda
//! environment and a request of 30 specs.
//!
//! `cargo run --release --example conda_solve_bench [-- NAMES]` (default 30,000 names)
//!
//! The channel is deterministic. `linux-64` holds the conda records of the example's
//! environment (`fixtures/example`'s lockfile, the records `conda-meta` holds in its image),
//! newer releases of each (including builds for Python 3.11 and 3.12), and NAMES filler
//! packages of 10 versions each whose dependencies, constraints and `track_features` follow
//! conda-forge's shapes (about 300,000 records and 150 MB for the default); `noarch` holds
//! a tenth of the filler names.

// a command-line example: printing is its job
#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::items_after_statements,
    reason = "a benchmark program: sizes turned into MB for display, indices of a synthetic channel far below 2^32, its shape constants next to their loops"
)]

use std::fmt::Write as _;
use std::time::Instant;

use envaudit::conda::solve::{ChannelRecords, SolveRequest, VirtualPackage, solve};
use envaudit::conda::{Channel, ChannelPriority, MatchSpec, Repodata};

const LOCK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/example/envaudit.lock.d/snapshots/e873642e9617009f.toml"
);
const PREFIX: &str = "/azureml-envs/azureml_8f2c0e4b6a1d3c5e7f9a0b2c4d6e8f01";
const EXAMPLE_SPECS: &[&str] = &["python=3.10", "pip=24.0", "numpy==1.26.4", "scipy"];
const T0: u64 = 1_600_000_000_000;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One `"file": {record}` entry.
#[allow(clippy::too_many_arguments)]
fn push_record(
    out: &mut String,
    name: &str,
    version: &str,
    build: &str,
    build_number: u64,
    depends: &[String],
    constrains: &[String],
    track_features: &str,
    subdir: &str,
    timestamp: u64,
) {
    if !out.ends_with('{') {
        out.push(',');
    }
    let list = |items: &[String]| {
        items
            .iter()
            .map(|d| format!("{d:?}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let noarch = if subdir == "noarch" {
        r#""noarch":"python","#
    } else {
        ""
    };
    let tf = if track_features.is_empty() {
        String::new()
    } else {
        format!(r#""track_features":"{track_features}","#)
    };
    let _ = write!(
        out,
        r#""{name}-{version}-{build}.conda":{{"build":"{build}","build_number":{build_number},"depends":[{}],"constrains":[{}],{noarch}{tf}"license":"BSD-3-Clause","license_family":"BSD","md5":"{:032x}","name":"{name}","sha256":"{:064x}","size":{},"subdir":"{subdir}","timestamp":{timestamp},"version":"{version}"}}"#,
        list(depends),
        list(constrains),
        timestamp,
        timestamp,
        timestamp % 10_000_000,
    );
}

/// The example environment's locked conda records: (name, version, build, subdir, depends).
fn example_records() -> Vec<(String, String, String, String, Vec<String>)> {
    let text = std::fs::read_to_string(LOCK).expect("the example lockfile");
    let doc: toml::Table = toml::from_str(&text).expect("the example lockfile");
    let mut out = Vec::new();
    for p in doc["packages"].as_array().into_iter().flatten() {
        if p.get("ecosystem").and_then(|v| v.as_str()) != Some("conda")
            || p.get("prefix").and_then(|v| v.as_str()) != Some(PREFIX)
        {
            continue;
        }
        let s = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let url = s("url");
        let subdir = url.rsplit('/').nth(1).unwrap_or("linux-64").to_owned();
        let depends = p
            .get("requires")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str().map(str::to_owned))
            .collect();
        out.push((s("name"), s("version"), s("build"), subdir, depends));
    }
    out
}

/// The two subdirs' documents.
fn channel(names: usize) -> (String, String, usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut linux =
        String::from(r#"{"info":{"subdir":"linux-64"},"packages":{},"packages.conda":{"#);
    let mut noarch =
        String::from(r#"{"info":{"subdir":"noarch"},"packages":{},"packages.conda":{"#);
    let mut count = 0;
    // The example's records, and newer releases of each.
    for (name, version, build, subdir, depends) in example_records() {
        let out = if subdir == "noarch" {
            &mut noarch
        } else {
            &mut linux
        };
        let bn = build
            .rsplit('_')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        push_record(
            out,
            &name,
            &version,
            &build,
            bn,
            &depends,
            &[],
            "",
            &subdir,
            T0,
        );
        count += 1;
        let pythons: &[&str] = if depends.iter().any(|d| d.starts_with("python_abi")) {
            &["3.10", "3.11", "3.12"]
        } else {
            &[""]
        };
        for k in 1..=9u64 {
            let newer = format!("{version}.{k}");
            for py in pythons {
                let deps: Vec<String> = depends
                    .iter()
                    .map(|d| match (*py, d.split(' ').next()) {
                        ("", _) => d.clone(),
                        (py, Some("python")) => {
                            let minor: u32 = py[2..].parse().unwrap_or(10);
                            format!("python >={py},<3.{}.0a0", minor + 1)
                        }
                        (py, Some("python_abi")) => {
                            format!("python_abi {py}.* *_cp{}", py.replace('.', ""))
                        }
                        _ => d.clone(),
                    })
                    .collect();
                let tag = if py.is_empty() {
                    String::new()
                } else {
                    format!("py{}", py.replace('.', ""))
                };
                let b = format!("{tag}h{:07x}_{k}", rng.below(1 << 28));
                push_record(out, &name, &newer, &b, k, &deps, &[], "", &subdir, T0 + k);
                count += 1;
            }
        }
    }
    // Pythons 3.11 and 3.12, with their python_abi.
    for (minor, patch) in [(11, 10), (12, 8)] {
        for p in 0..=patch {
            let v = format!("3.{minor}.{p}");
            let deps = vec![
                format!("python_abi 3.{minor}.* *_cp3{minor}"),
                "libgcc-ng >=12".to_owned(),
                "openssl >=3.3.0,<4.0a0".to_owned(),
                "tzdata".to_owned(),
            ];
            push_record(
                &mut linux,
                "python",
                &v,
                "h0_cpython",
                0,
                &deps,
                &[],
                "",
                "linux-64",
                T0 + p,
            );
            count += 1;
        }
        let abi = format!("3.{minor}");
        let b = format!("5_cp3{minor}");
        push_record(
            &mut linux,
            "python_abi",
            &abi,
            &b,
            5,
            &[],
            &[],
            "",
            "linux-64",
            T0,
        );
        count += 1;
    }
    // Filler packages, conda-forge-shaped: the first CORE names are libraries that depend
    // on a few earlier libraries; the others depend on one to three libraries and, one time
    // in three, on another filler package, so that an environment's closure stays in the
    // hundreds, as conda-forge's do.
    const CORE: usize = 300;
    for i in 0..names {
        let name = format!("pkg-{i:05}");
        let noarch_pkg = i >= CORE && i % 10 == 0;
        for v in 0..10u64 {
            let version = format!("1.{v}.{}", rng.below(4));
            let mut depends = Vec::new();
            let mut dep = |j: usize, rng: &mut Rng| {
                depends.push(format!("pkg-{j:05} >=1.{},<2.0a0", rng.below(5)));
            };
            if i < CORE {
                for _ in 0..rng.below(3) {
                    if i > 0 {
                        dep(rng.below(i as u64) as usize, &mut rng);
                    }
                }
            } else {
                for _ in 0..=rng.below(3) {
                    dep(rng.below(CORE as u64) as usize, &mut rng);
                }
                if rng.below(3) == 0 {
                    dep(
                        i - 1 - rng.below((i - CORE).clamp(1, 1000) as u64) as usize,
                        &mut rng,
                    );
                }
            }
            if noarch_pkg {
                depends.push("python >=3.8".to_owned());
            } else {
                depends.push("libgcc-ng >=12".to_owned());
                depends.push("libstdcxx-ng >=12".to_owned());
            }
            let constrains = if rng.below(10) == 0 && i > 0 {
                vec![format!("pkg-{:05} <1.8", rng.below(i as u64))]
            } else {
                vec![]
            };
            let tf = if rng.below(100) == 0 { "debug" } else { "" };
            let build = format!("h{:08x}_0", rng.below(1 << 32));
            let (out, subdir) = if noarch_pkg {
                (&mut noarch, "noarch")
            } else {
                (&mut linux, "linux-64")
            };
            let ts = T0 + (i as u64) * 1000 + v * 100;
            push_record(
                out,
                &name,
                &version,
                &build,
                0,
                &depends,
                &constrains,
                tf,
                subdir,
                ts,
            );
            count += 1;
        }
    }
    linux.push_str(r#"},"repodata_version":1}"#);
    noarch.push_str(r#"},"repodata_version":1}"#);
    (linux, noarch, count)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let names: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30_000);
    let t = Instant::now();
    let (linux, noarch, count) = channel(names);
    eprintln!(
        "generated {count} records ({:.1} MB linux-64, {:.1} MB noarch) in {:.0} ms",
        linux.len() as f64 / 1e6,
        noarch.len() as f64 / 1e6,
        ms(t)
    );
    let cf = Channel::new("conda-forge", "https://conda.anaconda.org/conda-forge");
    let zst = zstd::bulk::compress(linux.as_bytes(), 3).unwrap();
    let virtual_packages = vec![
        VirtualPackage::glibc("2.35".parse().unwrap()),
        VirtualPackage::linux("5.15".parse().unwrap()),
        VirtualPackage::unix(),
        VirtualPackage::archspec("x86_64"),
    ];
    let example_specs: Vec<MatchSpec> = EXAMPLE_SPECS.iter().map(|s| s.parse().unwrap()).collect();
    // 30 specs over the filler packages, spread over the names.
    let filler_specs: Vec<MatchSpec> = (0..30)
        .map(|k| names.saturating_sub(1 + k * 997) % names.max(1))
        .map(|i| format!("pkg-{i:05}").parse().unwrap())
        .collect();

    // Each round reads the documents afresh, so each solve parses the names it reaches.
    let rounds = 5;
    let (mut parse, mut zst_parse, mut example_solve, mut filler_solve) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let t = Instant::now();
        let linux_rd = Repodata::from_slice(linux.as_bytes(), &cf.subdir_url("linux-64")).unwrap();
        let noarch_rd = Repodata::from_slice(noarch.as_bytes(), &cf.subdir_url("noarch")).unwrap();
        parse.push(ms(t));
        let t = Instant::now();
        drop(Repodata::from_slice(&zst, &cf.subdir_url("linux-64")).unwrap());
        zst_parse.push(ms(t));
        let request = |specs: &[MatchSpec]| SolveRequest {
            specs: specs.to_vec(),
            channels: vec![ChannelRecords {
                channel: cf.clone(),
                repodata: vec![&linux_rd, &noarch_rd],
            }],
            channel_priority: ChannelPriority::Flexible,
            virtual_packages: virtual_packages.clone(),
            ..SolveRequest::default()
        };
        let t = Instant::now();
        let solved = solve(&request(&example_specs)).unwrap();
        example_solve.push(ms(t));
        if round == 0 {
            println!(
                "{} records, {} names; the example solves to {} packages:",
                linux_rd.len() + noarch_rd.len(),
                linux_rd.names().count() + noarch_rd.names().count(),
                solved.len()
            );
            for p in solved
                .iter()
                .filter(|p| ["python", "numpy", "scipy", "pip"].contains(&p.record.name.as_str()))
            {
                println!("  {}", p.record);
            }
        }
        let t = Instant::now();
        let solved = solve(&request(&filler_specs)).unwrap();
        filler_solve.push(ms(t));
        if round == 0 {
            println!("the 30 filler specs solve to {} packages", solved.len());
        }
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        format!("min {:.0} ms, median {:.0} ms", v[0], v[v.len() / 2])
    };
    println!("over {rounds} rounds:");
    println!(
        "  parse linux-64 + noarch .json:         {}",
        stats(&mut parse)
    );
    println!(
        "  parse linux-64 .json.zst ({:.1} MB):     {}",
        zst.len() as f64 / 1e6,
        stats(&mut zst_parse)
    );
    println!(
        "  solve the bundled example ({}): {}",
        EXAMPLE_SPECS.join(" "),
        stats(&mut example_solve)
    );
    println!(
        "  solve 30 filler specs:                 {}",
        stats(&mut filler_solve)
    );
}
