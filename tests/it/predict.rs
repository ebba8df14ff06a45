//! `predict` against pip itself: a real HTTP server (`support/simple_index_server.py`) serves
//! a PEP 503/691 index of wheels built here (markers, extras, yanked files, pre-releases,
//! `Requires-Python`, platform tags); for every scenario envaudit's resolution must name the
//! same packages at the same versions as `pip install --dry-run --report --ignore-installed`
//! in a venv of the same Python, and fail where pip fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use envaudit::predict::index::IndexSource;
use envaudit::predict::pip::{self, PipInput, ResolveError};
use envaudit::predict::{Libc, Target};
use envaudit::pyindex::{IndexClient, IndexConfig, IndexUrl};

use crate::support::pyindex::{IndexServer, Spec, metadata_text, spec, wheel, write_index};

/// One release of the test index: a project, a version, its requirements, its
/// `Requires-Python`, its wheel tag, whether it is yanked.
struct Release {
    project: &'static str,
    version: &'static str,
    requires: &'static [&'static str],
    python: Option<&'static str>,
    tag: &'static str,
    yanked: bool,
}

const fn r(
    project: &'static str,
    version: &'static str,
    requires: &'static [&'static str],
) -> Release {
    Release {
        project,
        version,
        requires,
        python: None,
        tag: "py3-none-any",
        yanked: false,
    }
}

fn releases() -> Vec<Release> {
    vec![
        r("app", "1.0", &["lib<3,>=1", "util[fast]"]),
        Release {
            python: Some(">=3.8"),
            ..r(
                "app",
                "2.0",
                &["lib>=2", "util", "plugin; extra == \"plugins\""],
            )
        },
        r("lib", "1.0", &[]),
        r("lib", "2.0", &[]),
        r("lib", "2.5", &[]),
        Release {
            yanked: true,
            ..r("lib", "2.6", &[])
        },
        r("lib", "3.0", &[]),
        r(
            "util",
            "1.0",
            &[
                "speedups>=1; extra == \"fast\"",
                "colorama; sys_platform == \"win32\"",
            ],
        ),
        r("util", "1.1rc1", &[]),
        r("plugin", "0.9", &["lib<2.5"]),
        Release {
            tag: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
            ..r("speedups", "1.0", &[])
        },
        Release {
            tag: "cp311-cp311-musllinux_1_1_x86_64",
            ..r("speedups", "1.1", &[])
        },
        Release {
            tag: "cp27-cp27mu-manylinux1_x86_64",
            ..r("speedups", "1.2", &[])
        },
        r("colorama", "0.4.6", &[]),
        r("oldpy", "1.0", &[]),
        Release {
            python: Some(">=3.99"),
            ..r("oldpy", "2.0", &[])
        },
        r(
            "marked",
            "1.0",
            &[
                "lib==1.0; python_version < \"3.8\"",
                "util>=1.0; os_name == \"posix\"",
            ],
        ),
        r("conflict", "1.0", &["lib<2"]),
        r("pre", "1.0a1", &[]),
        r("pre", "1.0b2", &[]),
    ]
}

fn write(dir: &Path) {
    let mut projects: BTreeMap<&str, Vec<Spec>> = BTreeMap::new();
    for rel in releases() {
        let filename = format!("{}-{}-{}.whl", rel.project, rel.version, rel.tag);
        let mut metadata = metadata_text(rel.project, rel.version, rel.requires, rel.python);
        // declare the extras the requirements use, as every build backend does
        let mut extras: Vec<&str> = rel
            .requires
            .iter()
            .filter_map(|q| q.split("extra == \"").nth(1)?.split('"').next())
            .collect();
        extras.dedup();
        for e in extras {
            metadata = metadata.replacen("\n\n", &format!("\nProvides-Extra: {e}\n\n"), 1);
        }
        let bytes = wheel(&filename, &metadata);
        projects.entry(rel.project).or_default().push(Spec {
            sidecar: Some(metadata),
            requires_python: rel.python,
            yanked: rel.yanked.then_some("broken"),
            ..spec(filename, bytes)
        });
    }
    write_index(dir, projects.into_iter().collect());
}

/// The scenarios: requirement lists, as a pip requirements file would hold them.
const SCENARIOS: &[&[&str]] = &[
    &["app"],
    &["app<2"],
    &["app[plugins]"],
    &["app", "lib<2.5"],
    &["lib"],
    &["lib==2.6"],
    &["lib>=2,<3"],
    &["util"],
    &["util>=1.1rc1"],
    &["util[fast]"],
    &["util[undeclared]"],
    &["oldpy"],
    &["marked"],
    &["pre"],
    &["speedups"],
    &["app>=2", "conflict"],
    &["missing-project"],
];

fn python3() -> String {
    let out = Command::new("python3")
        .args(["-c", "import platform; print(platform.python_version())"])
        .output()
        .expect("python3 runs: scripts/test installs it");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// glibc of this machine (the venv pip runs in): `getconf GNU_LIBC_VERSION` says `glibc 2.36`.
fn host_glibc() -> Libc {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .expect("getconf runs");
    let text = String::from_utf8(out.stdout).unwrap();
    let version = text.trim().rsplit(' ').next().unwrap().to_owned();
    let (major, minor) = version.split_once('.').unwrap();
    Libc::Glibc(major.parse().unwrap(), minor.parse().unwrap())
}

/// This machine, where pip runs: its Python, architecture and glibc.
fn host_target() -> Target {
    Target {
        prefix: None,
        python: python3(),
        machine: std::env::consts::ARCH.to_owned(),
        conda_subdir: "linux-64".to_owned(),
        libc: Some(host_glibc()),
        libc_from: None,
    }
}

/// The runtime the index source fetches on (the resolver blocks its own thread on it).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// pip's own answer: `name==version` of each package it would install, or `None` when it
/// finds no solution.
fn pip_answer(venv: &Path, index: &str, reqs: &[&str], work: &Path) -> Option<Vec<String>> {
    let report = work.join("report.json");
    let _ = std::fs::remove_file(&report);
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--isolated",
            "--dry-run",
            "--ignore-installed",
        ])
        .args(["--disable-pip-version-check", "--no-cache-dir", "--quiet"])
        .arg("--index-url")
        .arg(index)
        .arg("--report")
        .arg(&report)
        .args(reqs)
        .env_remove("PIP_FIND_LINKS")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_EXTRA_INDEX_URL")
        .output()
        .expect("the venv's pip runs");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("ResolutionImpossible")
                || err.contains("No matching distribution")
                || err.contains("Could not find a version"),
            "pip failed for another reason on {reqs:?}: {err}"
        );
        return None;
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let mut names: Vec<String> = report["install"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let m = &i["metadata"];
            let name = envaudit::model::PackageName::pip(m["name"].as_str().unwrap());
            format!("{name}=={}", m["version"].as_str().unwrap())
        })
        .collect();
    names.sort();
    Some(names)
}

#[test]
fn predictions_agree_with_pips_resolver_on_every_scenario() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let server = IndexServer::start(dir.path(), None);
    let index = server.url("/simple/");
    let venv = dir.path().join("venv");
    let made = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .status()
        .expect("python3 -m venv runs: scripts/test installs python3-venv");
    assert!(made.success());

    let target = host_target();
    let runtime = runtime();
    let mut agreed = 0;
    let mut failures = Vec::new();
    for reqs in SCENARIOS {
        let client = IndexClient::new(IndexConfig {
            index_urls: vec![IndexUrl::parse(&index).unwrap()],
            ..IndexConfig::default()
        })
        .unwrap();
        let source = IndexSource::new(Arc::new(client), runtime.handle().clone(), &target, None);
        let input = PipInput {
            requirements: reqs.iter().map(|r| r.parse().unwrap()).collect(),
            env: target.marker_env(),
            python: target.python_version(),
            installed: BTreeMap::new(),
        };
        let ours = match pip::resolve(&source, &input) {
            Ok(r) => {
                let mut v: Vec<String> = r
                    .packages
                    .iter()
                    .map(|(n, p)| format!("{n}=={}", p.version))
                    .collect();
                v.sort();
                Some(v)
            }
            Err(ResolveError::Unresolvable { .. }) => None,
            Err(ResolveError::Source(e)) => panic!("{reqs:?}: {e}"),
        };
        let theirs = pip_answer(&venv, &index, reqs, dir.path());
        if ours == theirs {
            agreed += 1;
        } else {
            failures.push(format!("{reqs:?}: envaudit {ours:?}, pip {theirs:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
    assert_eq!(agreed, SCENARIOS.len());
}

/// The README's prediction: from the bundled example's first lock, against its `file://`
/// index and conda channel, the prediction is what the example's later rebuild (`:v2`)
/// installed in the environment's prefix, conda builds included; the two packages `:v2` kept
/// though nothing there requires them any more are the only difference.
#[test]
fn the_bundled_examples_prediction_is_its_v2_rebuild() {
    let env = crate::support::TestEnv::new();
    let run = |args: &[&str]| {
        let out = env
            .envaudit()
            .current_dir(crate::support::root())
            .env("ENVAUDIT_CACHE_DIR", env.path("cache"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            serde_json::from_slice::<serde_json::Value>(&out.stdout),
        )
    };
    let (code, predicted) = run(&[
        "predict",
        "--lockfile",
        "fixtures/example/envaudit.lock",
        "--index-url",
        "fixtures/example/index/simple",
        "--channel-alias",
        "fixtures/example/channel",
        "--default-channel",
        "fixtures/example/channel/pkgs/main",
        "--offline",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "drift is a warning by default");
    let predicted = predicted.unwrap();
    let (code, v2) = run(&[
        "catalog",
        "oci:fixtures/example/image:v2",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0));
    let v2 = v2.unwrap();
    let prefix = "/azureml-envs/azureml_8f2c0e4b6a1d3c5e7f9a0b2c4d6e8f01";
    let mut ours = BTreeMap::new();
    for p in predicted["environments"][0]["packages"].as_array().unwrap() {
        if p["prefix"] == prefix && !p["predicted"].is_null() {
            let name = p["name"].as_str().unwrap().to_owned();
            let build = p["predicted_build"].as_str().map(str::to_owned);
            ours.insert(
                (p["ecosystem"].as_str().unwrap().to_owned(), name),
                (p["predicted"].as_str().unwrap().to_owned(), build),
            );
        }
    }
    let mut built = BTreeMap::new();
    for p in v2["packages"].as_array().unwrap() {
        if p["environment"] != prefix {
            continue;
        }
        let (eco, name) = match p["ecosystem"].as_str().unwrap() {
            "python" => (
                "pip",
                envaudit::model::PackageName::pip(p["name"].as_str().unwrap()).to_string(),
            ),
            other => (other, p["name"].as_str().unwrap().to_owned()),
        };
        let build = p["details"]["build"].as_str().map(str::to_owned);
        built.insert(
            (eco.to_owned(), name),
            (p["version"].as_str().unwrap().to_owned(), build),
        );
    }
    assert!(ours.len() > 100, "{} predicted packages", ours.len());
    let leftovers = [
        ("conda".to_owned(), "libgfortran-ng".to_owned()),
        ("pip".to_owned(), "aniso8601".to_owned()),
    ];
    for k in &leftovers {
        assert!(built.remove(k).is_some() && !ours.contains_key(k), "{k:?}");
    }
    assert_eq!(ours, built);
    // `--as-of`: the example's index (PEP 503 HTML) and channel carry no dates, so every
    // project and record is listed as undated, and the prediction is the same
    let (code, dated) = run(&[
        "predict",
        "--lockfile",
        "fixtures/example/envaudit.lock",
        "--index-url",
        "fixtures/example/index/simple",
        "--channel-alias",
        "fixtures/example/channel",
        "--default-channel",
        "fixtures/example/channel/pkgs/main",
        "--offline",
        "--as-of",
        "2030-01-01",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0));
    let dated = dated.unwrap();
    assert_eq!(dated["as_of"], "2030-01-01T00:00:00Z");
    let undated = dated["environments"][0]["undated"].as_array().unwrap();
    for n in ["conda python", "conda scipy", "pip mlflow", "pip urllib3"] {
        assert!(undated.iter().any(|u| u == n), "{n} not in {undated:?}");
    }
    assert_eq!(
        dated["environments"][0]["packages"],
        predicted["environments"][0]["packages"]
    );
    // and the changes name what allows them
    let rows = predicted["environments"][0]["packages"].as_array().unwrap();
    let row = |n: &str| rows.iter().find(|p| p["name"] == n).unwrap();
    assert_eq!(row("mlflow")["movers"][0]["requirement"], "mlflow");
    assert_eq!(row("scipy")["change"], "upgraded");
    assert_eq!(row("scikit-learn")["change"], "unchanged", "pinned");
    assert!(
        row("urllib3")["movers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["from"] == "requests" && m["requirement"] == "urllib3<3,>=1.21.1"),
        "{}",
        row("urllib3")
    );
}

/// `predict` in the workflow, on the bundled example (offline): `check --predict` adds
/// `predicted-drift` for cron jobs, `pin --to predicted` pins to what a rebuild would install,
/// and `build --rebuild --dry-run` shows the prediction before anything is built.
#[test]
fn check_pin_and_build_dry_run_use_the_prediction() {
    // from the package root, as the README runs; none of these writes anything
    let env = crate::support::TestEnv::new();
    let index = crate::support::fixture("example/index/simple");
    let channel = crate::support::fixture("example/channel");
    let run = |args: &[&str]| {
        let out = env
            .envaudit()
            .current_dir(crate::support::root())
            .env("ENVAUDIT_CACHE_DIR", env.path("cache"))
            .args(args)
            .args(["--lockfile", "fixtures/example/envaudit.lock", "--offline"])
            .arg("--index-url")
            .arg(&index)
            .arg("--channel-alias")
            .arg(&channel)
            .arg("--default-channel")
            .arg(channel.join("pkgs/main"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // check: the image is as locked, but a rebuild would move packages
    let (code, stdout, stderr) = run(&["check", "--predict", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["predicted-drift"], "{stdout}");
    let (code, _, _) = run(&["check", "--predict", "--fail-on", "predicted-drift"]);
    assert_eq!(code, Some(1));
    let (code, _, _) = run(&["check", "--predict", "--fail-on", "drift"]);
    assert_eq!(
        code,
        Some(0),
        "check keeps predicted drift apart from drift"
    );

    // pin to the prediction: the unpinned and ranged declarations get the predicted versions
    let (code, stdout, stderr) = run(&[
        "pin",
        "fixtures/example/environment.yml",
        "--to",
        "predicted",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    for line in [
        "+      - mlflow==2.19.0",
        "+      - pandas==2.2.3",
        "+  - scipy=1.14.1=",
    ] {
        assert!(stdout.contains(line), "{line} in\n{stdout}");
    }
    let (_, locked, _) = run(&["pin", "fixtures/example/environment.yml"]);
    assert!(locked.contains("+      - mlflow==2.12.1"), "{locked}");

    // build --rebuild --dry-run: the prediction beside the commands it would run
    let (code, stdout, stderr) = run(&[
        "build",
        "fixtures/example/environment.yml",
        "--registry",
        "127.0.0.1:9",
        "--rebuild",
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["outcome"], "planned");
    let prediction = &report["prediction"]["environments"][0];
    assert_eq!(prediction["name"], "sklearn-train");
    assert!(
        prediction["changes"]["upgraded"].as_u64().unwrap() > 50,
        "{prediction}"
    );
}

/// The base image's tag moves (a real registry): `predict` reports `base-image-moved` with
/// both digests; while it still names the locked image, nothing.
#[test]
fn a_moved_base_image_tag_is_reported_with_both_digests() {
    use crate::support::image::{Spec as ImageSpec, build};
    let reg = crate::support::registry::plain();
    let first = build(&ImageSpec {
        label: "predict-base-1",
        ..ImageSpec::default()
    });
    let second = build(&ImageSpec {
        label: "predict-base-2",
        ..ImageSpec::default()
    });
    reg.push_image("predict-base", "v1", &first);
    let reference = format!("{}/predict-base:v1", reg.addr);
    // the example's lock, its base image now this registry's, at the first image
    let env = crate::support::TestEnv::new();
    let example = crate::support::root().join("fixtures/example");
    crate::support::copy_tree(
        &example.join("envaudit.lock.d"),
        &env.path("envaudit.lock.d"),
    );
    // the locked image, where the lock names it (its configuration is read)
    crate::support::copy_tree(&example.join("image"), &env.path("fixtures/example/image"));
    for f in ["environment.yml", "conda.yml"] {
        std::fs::copy(example.join(f), env.path(f)).unwrap();
    }
    let lock = std::fs::read_to_string(example.join("envaudit.lock")).unwrap();
    let base = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1";
    let old_digest = "sha256:5209c5c1d8b1f304226193263119348f428241b294dcbea6043e9df0446965c8";
    assert!(lock.contains(base) && lock.contains(old_digest));
    std::fs::write(
        env.path("envaudit.lock"),
        lock.replace(base, &reference)
            .replace(old_digest, &first.manifest_digest),
    )
    .unwrap();
    let predict = || {
        let out = env
            .envaudit()
            .current_dir(env.path(""))
            .env("ENVAUDIT_CACHE_DIR", env.path("cache"))
            .args(["predict", "--format", "json", "--index-url"])
            .arg(crate::support::root().join("fixtures/example/index/simple"))
            .arg("--channel-alias")
            .arg(crate::support::root().join("fixtures/example/channel"))
            .arg("--default-channel")
            .arg(crate::support::root().join("fixtures/example/channel/pkgs/main"))
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "base-image-moved" || f["code"] == "unpredictable")
            .map(|f| f["message"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        predict(),
        Vec::<String>::new(),
        "the tag still names the locked image"
    );
    reg.push_image("predict-base", "v1", &second);
    let moved = predict();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        moved[0].contains(&second.manifest_digest) && moved[0].contains(&first.manifest_digest),
        "{moved:?}"
    );
}

/// The paths requested so far, sorted, once the log has stopped growing.
fn settled_requests(server: &IndexServer, at_least: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut last = usize::MAX;
    loop {
        let seen = server.requests().len();
        if seen >= at_least && seen == last {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "only {seen} requests");
        last = seen;
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let mut paths: Vec<String> = server.requests().into_iter().map(|(p, ..)| p).collect();
    paths.sort();
    paths
}

#[test]
fn the_index_is_read_ahead_of_the_resolver_and_each_file_once() {
    use envaudit::predict::pip::PackageSource as _;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let server = IndexServer::start(dir.path(), None);
    let target = host_target();
    let runtime = runtime();
    let client = IndexClient::new(IndexConfig {
        index_urls: vec![IndexUrl::parse(&server.url("/simple/")).unwrap()],
        ..IndexConfig::default()
    })
    .unwrap();
    let source = IndexSource::new(Arc::new(client), runtime.handle().clone(), &target, None);

    // Told only that `app` comes next, the source reads on by itself: app's page, the
    // metadata of its newest release, the pages of what that requires for this target
    // (not `plugin`, an extra's), and their newest final, non-yanked releases' metadata (not
    // `lib` 2.6, yanked, nor `util` 1.1rc1), whose requirements are a Windows marker and
    // an extra's: nothing more.
    source.prefetch(&[envaudit::model::PackageName::pip("app")]);
    assert_eq!(
        settled_requests(&server, 6),
        [
            "/files/app-2.0-py3-none-any.whl.metadata",
            "/files/lib-3.0-py3-none-any.whl.metadata",
            "/files/util-1.0-py3-none-any.whl.metadata",
            "/simple/app/",
            "/simple/lib/",
            "/simple/util/",
        ]
    );

    // The resolver then finds what it needs already read: nothing is fetched twice.
    let input = PipInput {
        requirements: vec!["app".parse().unwrap()],
        env: target.marker_env(),
        python: target.python_version(),
        installed: BTreeMap::new(),
    };
    let resolution = pip::resolve(&source, &input).unwrap();
    let got: Vec<String> = resolution
        .packages
        .iter()
        .map(|(n, p)| format!("{n}=={}", p.version))
        .collect();
    assert_eq!(got, ["app==2.0", "lib==3.0", "util==1.0"]);
    assert_eq!(settled_requests(&server, 6).len(), 6);
}

/// A `--rootfs` lock of a folder that holds a venv and nothing that tells the C library (no
/// `os-release`, no `libc6` record) installs for this machine: its architecture, and the
/// glibc its loader carries (what `getconf GNU_LIBC_VERSION` reports), so a `manylinux`
/// wheel fits; `--glibc` still wins.
#[test]
fn a_rootfs_lock_installs_for_the_hosts_glibc() {
    let t = crate::support::TestEnv::new();
    let arch = std::env::consts::ARCH;
    let newer = format!("demo-2.0-py3-none-manylinux_2_17_{arch}.whl");
    let mut files = Vec::new();
    for (filename, version) in [("demo-1.0-py3-none-any.whl", "1.0"), (&newer[..], "2.0")] {
        let metadata = metadata_text("demo", version, &[], None);
        files.push(Spec {
            sidecar: Some(metadata.clone()),
            ..spec(filename, wheel(filename, &metadata))
        });
    }
    write_index(&t.path("index"), vec![("demo", files)]);
    let server = IndexServer::start(&t.path("index"), None);
    let python = python3();
    t.write(
        "rootfs/opt/venv/pyvenv.cfg",
        format!("home = /usr/bin\nversion = {python}\n"),
    );
    let minor = python.rsplit_once('.').unwrap().0;
    t.write(
        &format!("rootfs/opt/venv/lib/python{minor}/site-packages/demo-1.0.dist-info/METADATA"),
        metadata_text("demo", "1.0", &[], None),
    );
    t.write("requirements.txt", "demo\n");
    let out = t
        .envaudit()
        .args(["lock", "requirements.txt", "--rootfs"])
        .arg(t.path("rootfs"))
        .args(["--fail-on", "never"])
        .output()
        .unwrap();
    crate::support::ok(&out);
    let predict = |extra: &[&str]| -> serde_json::Value {
        let out = t
            .envaudit()
            .args(["predict", "--format", "json", "--index-url"])
            .arg(server.url("/simple/"))
            .args(extra)
            .output()
            .unwrap();
        serde_json::from_str(&crate::support::ok(&out)).unwrap()
    };
    let report = predict(&[]);
    let env = &report["environments"][0];
    let Libc::Glibc(major, minor) = host_glibc() else {
        unreachable!()
    };
    assert_eq!(
        env["target"]["libc"],
        format!("glibc {major}.{minor}"),
        "{env}"
    );
    assert_eq!(env["target"]["machine"], arch, "{env}");
    assert!(
        env["target"]["libc_from"]
            .as_str()
            .is_some_and(|f| f.starts_with("host /")),
        "{env}"
    );
    let demo = |report: &serde_json::Value| {
        report["environments"][0]["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "demo")
            .unwrap()["predicted"]
            .clone()
    };
    assert_eq!(demo(&report), "2.0", "{report}");
    // an older glibc than the wheel's: only the pure wheel fits
    let report = predict(&["--glibc", "2.5"]);
    assert_eq!(demo(&report), "1.0", "{report}");
    assert_eq!(report["environments"][0]["target"]["libc_from"], "--glibc");
}
