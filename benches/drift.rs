//! Dependency-graph and drift benchmarks, run with `scripts/bench drift` (or
//! `cargo bench --bench drift`); not part of the test suite. Prints a Markdown table of one
//! run for `docs/performance.md`.
//!
//! 1. Graph + drift of two 500-package snapshots, in process (both graphs built, every
//!    change attributed), and `envaudit drift` of the same snapshots end to end.
//! 2. `envaudit check` of a lockfile with 20 environments whose images did not move, against
//!    a registry that adds 20 ms to every request, against one `envaudit resolve`.
#![allow(dead_code, clippy::print_stdout, clippy::print_stderr)]

mod support;

#[path = "../tests/it/support/fault.rs"]
mod fault;
#[path = "../tests/it/support/http.rs"]
mod http;
#[path = "../tests/it/support/image.rs"]
mod image;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use envaudit::lockfile::{Declared, LockedPackage, LockedRequirement, Lockfile, Snapshot};
use envaudit::model::pin::PinState;
use envaudit::model::{Digest, Ecosystem, PackageName};
use fault::{FaultServer, Reply};
use image::{self as img, Compression, Spec};
use support::{Row, median, ms, print_table};

const BIN: &str = env!("CARGO_BIN_EXE_envaudit");

fn run_ok(args: &[&str], dir: &std::path::Path) -> Duration {
    let start = Instant::now();
    let status = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run envaudit");
    let took = start.elapsed();
    assert!(status.code().is_some_and(|c| c <= 1), "{args:?}: {status}");
    took
}

/// 500 pip packages, each requiring three others by range (and one by an extra-guarded
/// marker); 20 declared, 5 of them exact. `drifted` moves every tenth package.
fn snapshot(drifted: bool) -> Snapshot {
    let n = 500;
    let packages = (0..n)
        .map(|i| {
            let version = if drifted && i % 10 == 3 {
                format!("1.{}.1", i % 7)
            } else {
                format!("1.{}.0", i % 7)
            };
            LockedPackage {
                ecosystem: Ecosystem::Pip,
                name: PackageName::pip(&format!("pkg-{i}")),
                version,
                build: None,
                channel: None,
                python_dist: None,
                prefix: Some("/azureml-envs/azureml_bench".into()),
                licenses: vec!["MIT".into()],
                base: Some(i >= 480),
                requires: LockedRequirement::all([
                    format!("pkg-{}>=1.0", (i * 7 + 1) % n),
                    format!(
                        "pkg-{}<2,>=1.0; python_version >= \"3.8\"",
                        (i * 13 + 5) % n
                    ),
                    format!("pkg-{}==1.{}.0", (i * 31 + 11) % n, ((i * 31 + 11) % n) % 7),
                    format!("pkg-{}; extra == \"all\"", (i * 17 + 3) % n),
                ]),
                url: None,
                sha256: None,
                md5: None,
                record: None,
            }
        })
        .collect();
    let declared = (0..20)
        .map(|i| Declared {
            ecosystem: Ecosystem::Pip,
            name: Some(PackageName::pip(&format!("pkg-{}", i * 20))),
            spec: if i < 5 {
                format!("pkg-{}==1.{}.0", i * 20, (i * 20) % 7)
            } else {
                format!("pkg-{}>=1.0", i * 20)
            },
            pin: if i < 5 {
                PinState::Exact
            } else {
                PinState::Range
            },
        })
        .collect();
    let mut s = Snapshot {
        id: String::new(),
        definition: "env.yml".into(),
        definition_kind: Some(envaudit::definition::DefinitionKind::AzuremlV2),
        definition_hash: Digest::sha256_of(b"bench"),
        image: Some("acr.io/azureml/azureml_bench:latest".into()),
        image_manifest: Some(Digest::sha256_of(if drifted { b"new" } else { b"old" })),
        image_platform: Some("linux/amd64".into()),
        completeness: envaudit::catalog::Completeness::Complete,
        declared,
        prefixes: vec![envaudit::lockfile::Prefix {
            path: "/azureml-envs/azureml_bench".into(),
            kind: envaudit::catalog::EnvironmentKind::Conda,
            python: Some("3.10.14".into()),
            platform: Some("linux-64".into()),
        }],
        packages,
        ..Snapshot::placeholder("")
    };
    s.seal();
    s
}

fn graph_and_drift(reps: usize, rows: &mut Vec<Row>) {
    let (old, new) = (snapshot(false), snapshot(true));
    let run = || {
        let start = Instant::now();
        let d = envaudit::analysis::drift::environment("bench", Some(&old), Some(&new));
        let took = start.elapsed();
        assert_eq!(d.attributions.len(), 50);
        took
    };
    run();
    let t = median(reps, run);
    eprintln!("graph + drift in process: {t:?}");
    rows.push(Row {
        target: "graph + drift of two 500-package snapshots (in process) < 100 ms".into(),
        measured: ms(t),
        ratio: format!("{:.2}× of the target", t.as_secs_f64() / 0.1),
        pass: t < Duration::from_millis(100),
    });
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, s) in [("old.lock", &old), ("new.lock", &new)] {
        let mut l = Lockfile::default();
        l.environments.insert("bench".into(), s.clone());
        std::fs::write(dir.path().join(name), l.to_toml()).expect("write");
    }
    let cli = || {
        run_ok(
            &[
                "drift",
                "@:old.lock",
                "@:new.lock",
                "--format",
                "json",
                "--fail-on",
                "never",
            ],
            dir.path(),
        )
    };
    cli();
    let t = median(reps, cli);
    eprintln!("envaudit drift end to end: {t:?}");
    rows.push(Row {
        target:
            "`envaudit drift` of the same two lockfiles, end to end (parse, graph, attribute, JSON)"
                .into(),
        measured: ms(t),
        ratio: format!("{:.2}× of 100 ms", t.as_secs_f64() / 0.1),
        pass: t < Duration::from_millis(100),
    });
}

fn check_twenty(reps: usize, rows: &mut Vec<Row>) {
    let image = img::build(&Spec {
        label: "bench-check",
        layers: vec![(
            Compression::Gzip,
            vec![(
                "opt/env/lib/python3.10/site-packages/numpy-1.26.4.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\n".as_slice(),
            )],
        )],
        ..Spec::default()
    });
    let (manifest, mt, config, config_digest) = (
        image.manifest.clone(),
        image.manifest_media_type.clone(),
        image.config.clone(),
        image.config_digest.clone(),
    );
    let layer = image.layers[0].bytes.clone();
    let layer_digest = image.layers[0].digest.clone();
    let server = FaultServer::start(Duration::from_millis(20), move |req| {
        let p = req.path.as_str();
        if p == "/v2/" {
            return Reply::ok("{}", &[]);
        }
        if p.ends_with("/manifests/1") {
            return Reply::ok(manifest.clone(), &[("Content-Type", &mt)]);
        }
        if p.ends_with(&format!("/blobs/{config_digest}")) {
            return Reply::ok(config.clone(), &[]);
        }
        if p.ends_with(&format!("/blobs/{layer_digest}")) {
            return Reply::ok(layer.clone(), &[]);
        }
        Reply::status(404, &[])
    });
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("conda.yml"),
        "name: bench\ndependencies:\n  - pip:\n    - numpy==1.26.4\n",
    )
    .expect("write");
    let refs: Vec<String> = (0..20)
        .map(|n| format!("{}/bench/env{n}:1", server.addr))
        .collect();
    for (n, r) in refs.iter().enumerate() {
        run_ok(
            &[
                "lock",
                "conda.yml",
                "--image",
                r,
                "--name",
                &format!("env-{n}"),
            ],
            dir.path(),
        );
    }
    let one = || run_ok(&["resolve", &refs[0]], dir.path());
    let check = || run_ok(&["check"], dir.path());
    one();
    check();
    let t1 = median(reps, one);
    let t20 = median(reps, check);
    eprintln!("check of 20: one resolve {t1:?}, check {t20:?}");
    let r = t20.as_secs_f64() / t1.as_secs_f64();
    rows.push(Row {
        target: "`envaudit check` of 20 environments whose digests did not change, +20 ms per request: < 2× one resolve".into(),
        measured: format!("one resolve {}, check {}", ms(t1), ms(t20)),
        ratio: format!("{r:.2}×"),
        pass: r < 2.0,
    });
}

fn main() {
    let Some(reps) = support::bench_reps("scripts/bench drift", 11) else {
        return;
    };
    let mut rows = Vec::new();
    graph_and_drift(reps, &mut rows);
    check_twenty(reps, &mut rows);
    print_table(rows);
}
