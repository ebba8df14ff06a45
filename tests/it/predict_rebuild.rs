//! `predict` against a real rebuild: a pip definition is built with buildah from a package
//! index served over HTTP (and a `--find-links` folder beside the requirements file), and
//! locked; the index gains newer versions; `predict` says what a rebuild would install; the
//! rebuild happens; the rebuilt image's catalog must be the prediction, package by package,
//! and each change must be attributed to the declaration or requirement that allowed it.
//! Also the exit codes of `predict` on the bundled example.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use envaudit::lockfile::Lockfile;

use crate::support::builder::Buildah;
use crate::support::pyindex::{IndexServer, Spec, metadata_text, spec, wheel, write_index};
use crate::support::registry;
use crate::support::{TestEnv, ok};

/// One release on the index: project, version, `Requires-Dist`.
type Release = (&'static str, &'static str, &'static [&'static str]);

/// What the index serves at the first build.
const FIRST: &[Release] = &[
    ("alpha", "1.0", &[]),
    ("beta", "1.0", &[]),
    ("gamma", "1.0", &[]),
    ("parent", "1.0", &["child<2,>=1.0"]),
    ("child", "1.0", &[]),
];

/// What it gains before the rebuild: a newer version of every project, some out of reach.
const LATER: &[Release] = &[
    // unpinned `alpha`: the newest, which brings a new requirement
    ("alpha", "1.1", &["delta>=0.1"]),
    ("delta", "0.1", &[]),
    // `beta>=1.0,<2`: the newest inside the range, not 2.0
    ("beta", "1.5", &[]),
    ("beta", "2.0", &[]),
    // `gamma==1.0`: stays
    ("gamma", "1.1", &[]),
    // `parent==1.0` stays, but its loose `child<2,>=1.0` lets child move (not to 2.0)
    ("parent", "1.1", &["child>=2"]),
    ("child", "1.2", &[]),
    ("child", "2.0", &[]),
];

/// Writes the index tree for `releases` (wheels with `.metadata` files, PEP 503 and 691).
fn publish(dir: &Path, releases: &[&[Release]]) {
    let mut projects: BTreeMap<&str, Vec<Spec>> = BTreeMap::new();
    for (project, version, requires) in releases.iter().copied().flatten() {
        let filename = format!("{project}-{version}-py3-none-any.whl");
        let metadata = metadata_text(project, version, requires, None);
        let bytes = wheel(&filename, &metadata);
        projects.entry(project).or_default().push(Spec {
            sidecar: Some(metadata),
            ..spec(filename, bytes)
        });
    }
    write_index(dir, projects.into_iter().collect());
}

/// A wheel of `project` `version` in the find-links folder `dir`.
fn drop_wheel(dir: &Path, project: &str, version: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let filename = format!("{}-{version}-py3-none-any.whl", project.replace('-', "_"));
    let bytes = wheel(&filename, &metadata_text(project, version, &[], None));
    std::fs::write(dir.join(filename), bytes).unwrap();
}

/// The version of `/usr/bin/python3`, the Python of the test base image.
fn system_python() -> String {
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import platform; print(platform.python_version())"])
        .output()
        .expect("/usr/bin/python3 runs");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Every package of the lockfile's only environment: `(ecosystem, prefix, name) -> version`.
fn catalog(lockfile: &Path) -> BTreeMap<(String, String, String), String> {
    let lock = Lockfile::load(lockfile).unwrap();
    assert_eq!(lock.environments.len(), 1, "{:?}", lock.environments.keys());
    let snapshot = lock.environments.values().next().unwrap();
    snapshot
        .packages
        .iter()
        .map(|p| {
            (
                (
                    p.ecosystem.to_string(),
                    p.prefix.clone().unwrap_or_default(),
                    p.name.to_string(),
                ),
                p.version.clone(),
            )
        })
        .collect()
}

/// The prediction's only environment, every package with a predicted version:
/// `(ecosystem, prefix, name) -> version`.
fn predicted(report: &serde_json::Value) -> BTreeMap<(String, String, String), String> {
    let envs = report["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 1, "{report}");
    envs[0]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let key = (
                p["ecosystem"].as_str().unwrap().to_owned(),
                p["prefix"].as_str().unwrap_or_default().to_owned(),
                p["name"].as_str().unwrap().to_owned(),
            );
            Some((key, p["predicted"].as_str()?.to_owned()))
        })
        .collect()
}

/// The prediction's row of the pip package `name`.
fn row<'r>(report: &'r serde_json::Value, name: &str) -> &'r serde_json::Value {
    report["environments"][0]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["ecosystem"] == "pip" && p["name"] == name)
        .unwrap_or_else(|| panic!("no row for {name}: {report}"))
}

/// `(from, requirement)` of each mover of a row.
fn movers(row: &serde_json::Value) -> Vec<(Option<String>, String)> {
    row["movers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["from"].as_str().map(str::to_owned),
                m["requirement"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_prediction_is_what_the_real_rebuild_installs() {
    let reg = registry::plain();
    let t = TestEnv::new();
    let b = Buildah::new();
    let busybox = b.busybox_base(reg, "predict");
    let python = b.python_base(reg, &busybox, "predict");

    let index_dir = t.path("index");
    publish(&index_dir, &[FIRST]);
    let server = IndexServer::start(&index_dir, None);
    // The build runs in a buildah container that shares the host's network (chroot
    // isolation), so it reads the same index at the same address as `predict`. Both read
    // its PEP 503 HTML tree: Debian 12's pip 23.0.1 fails on PEP 691 JSON that announces
    // `.metadata` files (pypa/pip#12042, fixed in 23.2).
    let wheels = t.path("pip/wheels");
    drop_wheel(&wheels, "local-tool", "1.0");
    let req = t.write(
        "pip/requirements.txt",
        format!(
            "--index-url {}\n--find-links ./wheels\nalpha\nbeta>=1.0,<2\ngamma==1.0\nparent==1.0\nlocal-tool\n",
            server.url("/html/")
        ),
    );
    let lockfile = t.path("envaudit.lock");
    let build = |extra: &[&str]| -> Output {
        let mut c = t.envaudit();
        b.apply(&mut c)
            .arg("build")
            .arg(&req)
            .args(["--registry", &reg.addr, "--format", "json"])
            .args(["--base-image", &python, "--lock"])
            .args(extra);
        c.output().expect("run envaudit")
    };

    // 1. Built for real and locked.
    let out = build(&[]);
    assert_eq!(json(&out)["outcome"], "built");
    ok(&out);
    let before = catalog(&lockfile);
    let installed = |c: &BTreeMap<(String, String, String), String>, name: &str| {
        c.iter()
            .find(|((e, _, n), _)| e == "pip" && n == name)
            .map(|(_, v)| v.clone())
    };
    for (name, version) in [
        ("alpha", "1.0"),
        ("beta", "1.0"),
        ("gamma", "1.0"),
        ("parent", "1.0"),
        ("child", "1.0"),
        ("local-tool", "1.0"),
    ] {
        assert_eq!(
            installed(&before, name).as_deref(),
            Some(version),
            "{before:?}"
        );
    }

    // 2. The index and the find-links folder gain newer versions.
    publish(&index_dir, &[FIRST, LATER]);
    drop_wheel(&wheels, "local-tool", "1.1");

    // 3. The prediction, from the definition as it stands and the lock: the index and the
    // folder come from the requirements file itself (the host's PIP_* are not the builder's).
    // The lock records no Python version for a system prefix (the catalog reads one from a
    // venv's `pyvenv.cfg` or a conda prefix's `python`), so it is given: the image's Python
    // is this machine's `/usr/bin/python3`.
    let out = t
        .envaudit()
        .args(["predict", "--format", "json", "--lockfile"])
        .arg(&lockfile)
        .args(["--python-version", &system_python()])
        .output()
        .unwrap();
    let prediction = json(&out);
    ok(&out);
    let expected = predicted(&prediction);
    let changed: Vec<(&str, &str)> = prediction["environments"][0]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["change"] != "unchanged")
        .map(|p| (p["name"].as_str().unwrap(), p["change"].as_str().unwrap()))
        .collect();
    // Not the old lock again: these must move, and only these.
    assert_eq!(
        changed,
        [
            ("alpha", "upgraded"),
            ("beta", "upgraded"),
            ("child", "upgraded"),
            ("delta", "added"),
            ("local-tool", "upgraded"),
        ],
        "{prediction}"
    );
    assert_ne!(expected, before);

    // Each change names what allowed it: the declaration, or the requirement of the package
    // that requires it.
    let declared = |r: &str| vec![(None, r.to_owned())];
    let required = |from: &str, r: &str| vec![(Some(from.to_owned()), r.to_owned())];
    for (name, allowed_by) in [
        ("alpha", declared("alpha")),
        ("beta", declared("beta>=1.0,<2")),
        ("local-tool", declared("local-tool")),
        // `parent==1.0` is pinned: its loose requirement is what lets child move
        ("child", required("parent", "child<2,>=1.0")),
        ("delta", required("alpha", "delta>=0.1")),
    ] {
        let r = row(&prediction, name);
        assert_eq!(movers(r), allowed_by, "{r}");
    }
    for name in ["gamma", "parent", "pip"] {
        let r = row(&prediction, name);
        assert_eq!(r["change"], "unchanged", "{r}");
        assert_eq!(r["movers"], serde_json::json!([]), "{r}");
    }

    // 4. The real rebuild.
    let out = build(&["--rebuild"]);
    assert_eq!(json(&out)["outcome"], "rebuilt");
    ok(&out);

    // 5. What it installed is what was predicted, package by package.
    let after = catalog(&lockfile);
    assert_eq!(after, expected, "the rebuild (left) against the prediction");
    assert_eq!(installed(&after, "beta").as_deref(), Some("1.5"));
    assert_eq!(installed(&after, "child").as_deref(), Some("1.2"));

    // Predicted again from the new lock: nothing would move, so `--fail-on drift` passes.
    let out = t
        .envaudit()
        .args([
            "predict",
            "--format",
            "json",
            "--fail-on",
            "drift",
            "--lockfile",
        ])
        .arg(&lockfile)
        .args(["--python-version", &system_python()])
        .output()
        .unwrap();
    let again = json(&out);
    ok(&out);
    assert_eq!(
        again["environments"][0]["changes"],
        serde_json::json!({}),
        "{again}"
    );
    assert_eq!(predicted(&again), after);
}

/// The bundled example, locked from its v1 image, against its index (served over HTTP),
/// which holds newer releases of what the v1 image installed.
fn example(t: &TestEnv) -> IndexServer {
    let root = crate::support::root();
    for f in ["envaudit.lock", "environment.yml", "conda.yml"] {
        std::fs::copy(root.join("fixtures/example").join(f), t.path(f)).unwrap();
    }
    crate::support::copy_tree(
        &root.join("fixtures/example/envaudit.lock.d"),
        &t.path("envaudit.lock.d"),
    );
    crate::support::copy_tree(&root.join("fixtures/example/index"), &t.path("index/www"));
    // the locked image, where the lock names it (its configuration is read)
    crate::support::copy_tree(
        &root.join("fixtures/example/image"),
        &t.path("fixtures/example/image"),
    );
    IndexServer::start(&t.path("index"), None)
}

#[test]
fn predict_exits_2_on_an_unreachable_index_and_1_on_findings() {
    let t = TestEnv::new();
    let server = example(&t);
    let index = server.url("/simple/");
    // the conda side reads the example's channel from its folder
    let channel = crate::support::root().join("fixtures/example/channel");
    let predict = |extra: &[&str]| -> Output {
        t.envaudit()
            .args(["predict", "--format", "json", "--index-url", &index])
            .arg("--channel-alias")
            .arg(&channel)
            .arg("--default-channel")
            .arg(channel.join("pkgs/main"))
            .args(extra)
            .output()
            .unwrap()
    };

    // Packages would move: a warning by default (exit 0), a failure with `--fail-on drift`.
    let out = predict(&[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["findings"][0]["code"], "predicted-drift", "{report}");
    assert!(
        report["environments"][0]["changes"]["upgraded"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{report}"
    );
    let out = predict(&["--fail-on", "drift"]);
    assert_eq!(out.status.code(), Some(1), "{}", json(&out));

    // An index that does not answer: an input error naming it, its credentials hidden.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = t
        .envaudit()
        .args(["predict", "--index-url"])
        .arg(format!(
            "http://ci-user:s3cr3t-t0ken@127.0.0.1:{port}/simple/"
        ))
        .arg("--channel-alias")
        .arg(&channel)
        .arg("--default-channel")
        .arg(channel.join("pkgs/main"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}/simple/")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("s3cr3t-t0ken") && !stderr.contains("ci-user"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    // A declared package the index lacks: an `unresolvable` finding, exit 1.
    let conda = std::fs::read_to_string(t.path("conda.yml")).unwrap();
    let edited = conda.replace(
        "      - mlflow\n",
        "      - mlflow\n      - not-on-the-index\n",
    );
    assert_ne!(edited, conda);
    std::fs::write(t.path("conda.yml"), edited).unwrap();
    let out = predict(&[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(report["environments"], serde_json::json!([]), "{report}");
    assert_eq!(report["findings"][0]["code"], "unresolvable", "{report}");
    let message = report["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("not-on-the-index"), "{message}");
}

/// `--offline` predicts from the HTTP cache alone: after one prediction against the served
/// index and channel, the same prediction with the server gone; with an empty cache, an
/// error naming the first page it lacks (exit 2).
#[test]
fn offline_predicts_from_the_cache_and_names_what_it_lacks() {
    let t = TestEnv::new();
    crate::support::copy_tree(
        &crate::support::root().join("fixtures/example/channel"),
        &t.path("index/www/channel"),
    );
    let server = example(&t);
    let index = server.url("/simple/");
    let channel = server.url("/channel");
    let predict = |cache: &str, extra: &[&str]| -> Output {
        t.envaudit()
            .env("ENVAUDIT_CACHE_DIR", t.path(cache))
            .args(["predict", "--format", "json", "--index-url", &index])
            .args(["--channel-alias", &channel])
            .args(["--default-channel", &format!("{channel}/pkgs/main")])
            .args(extra)
            .output()
            .unwrap()
    };
    let packages = |out: &Output| json(out)["environments"][0]["packages"].clone();
    let online = predict("cache", &[]);
    assert_eq!(
        online.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&online.stderr)
    );
    let requests = server.requests().len();
    assert!(requests > 80, "{requests} requests");
    drop(server);
    let offline = predict("cache", &["--offline"]);
    assert_eq!(
        offline.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    assert_eq!(packages(&offline), packages(&online));
    let cold = predict("empty-cache", &["--offline"]);
    let stderr = String::from_utf8_lossy(&cold.stderr);
    assert_eq!(cold.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not in the cache") && stderr.contains("127.0.0.1"),
        "{stderr}"
    );
}
