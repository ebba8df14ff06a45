//! `fleet merge` and `fleet query` end to end. The results files are written by the test
//! from real snapshots: each image (an OCI layout built here, with dpkg, conda and pip
//! packages) is locked with the real `envaudit lock`, and its snapshot wrapped in a
//! results record as `fleet scan` writes them.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::Output;

use envaudit::fleet::db::Inventory;
use envaudit::fleet::record::{
    self, ImageRecord, SCHEMA_VERSION, ScanRecord, UnreadableReason, UnreadableRecord,
};
use envaudit::lockfile::{Lockfile, Snapshot};
use envaudit::model::Digest;

use crate::support::image::{self as img, Compression, LayoutEntry, Spec};
use crate::support::{TestEnv, commit_all, ok};

const REG: &str = "registry.example:5000";
const T1: &str = "2026-12-01T00:00:00Z";
const T2: &str = "2026-12-02T00:00:00Z";

fn conda_record(name: &str, version: &str) -> String {
    serde_json::json!({
        "name": name, "version": version, "build": "h0_0", "build_number": 0,
        "channel": "https://conda.anaconda.org/conda-forge/linux-64", "subdir": "linux-64",
        "license": "Apache-2.0", "depends": [], "constrains": [],
        "md5": "0123456789abcdef0123456789abcdef", "sha256": "ab".repeat(32),
        "requested_spec": "", "files": [],
    })
    .to_string()
}

/// An image with Debian's `openssl`, conda's `openssl` in `/opt/conda` and pip's `numpy` in
/// a venv, at the given versions.
pub(crate) fn image(
    deb_openssl: &str,
    conda_openssl: &str,
    numpy: &str,
    label: &str,
) -> img::BuiltImage {
    let status = format!(
        "Package: openssl\nStatus: install ok installed\nArchitecture: amd64\nVersion: {deb_openssl}\nDescription: TLS\n\n"
    );
    let conda = conda_record("openssl", conda_openssl);
    let conda_path = format!("opt/conda/conda-meta/openssl-{conda_openssl}-h0_0.json");
    let sp = "opt/env/lib/python3.11/site-packages";
    let np =
        format!("Metadata-Version: 2.1\nName: numpy\nVersion: {numpy}\nLicense: BSD-3-Clause\n");
    let np_path = format!("{sp}/numpy-{numpy}.dist-info/METADATA");
    img::build(&Spec {
        layers: vec![
            (
                Compression::Gzip,
                vec![
                    (
                        "etc/os-release",
                        b"ID=debian\nVERSION_ID=\"12\"\n".as_slice(),
                    ),
                    ("var/lib/dpkg/status", status.as_bytes()),
                ],
            ),
            (
                Compression::Gzip,
                vec![
                    (conda_path.as_str(), conda.as_bytes()),
                    ("opt/env/pyvenv.cfg", b"version = 3.11.9\n".as_slice()),
                    (np_path.as_str(), np.as_bytes()),
                ],
            ),
        ],
        label,
        ..Spec::default()
    })
}

/// A project locking three images (`a`, `b`, `c`) one after the other, each with a run that
/// trained a model; returns the snapshots by tag. The lockfile's current snapshot is `c`'s.
struct Fleet {
    env: TestEnv,
    snapshots: BTreeMap<&'static str, Snapshot>,
}

fn fleet() -> Fleet {
    let env = TestEnv::new();
    let repo = git2::Repository::init(env.dir.path()).unwrap();
    let mut cfg = repo.config().unwrap();
    cfg.set_str("user.name", "Test").unwrap();
    cfg.set_str("user.email", "test@example.com").unwrap();
    env.write(
        "env/conda.yml",
        "name: train\nchannels: [conda-forge]\ndependencies:\n  - openssl\n  - pip:\n    - numpy\n",
    );
    // In range of `numpy<2`, `conda:openssl>=3,<3.0.13`, `deb:openssl<3.0.11-1~deb12u2`: a.
    let a = image("3.0.11-1~deb12u1", "3.0.12", "1.26.4", "a");
    // Out of all three.
    let b = image("3.0.11-1~deb12u2", "3.0.13", "2.0.1", "b");
    // numpy in range only; conda openssl 3.1.0 (in `openssl>=3.1`); deb 3.0.15 (not).
    let c = image("3.0.15-1~deb12u1", "3.1.0", "1.24.0", "c");
    img::write_layout(
        &env.path("layout"),
        &[
            LayoutEntry::Image(&a, Some("a")),
            LayoutEntry::Image(&b, Some("b")),
            LayoutEntry::Image(&c, Some("c")),
        ],
    );
    env.write(".gitignore", "layout/\n*.jsonl\n*.sqlite*\n");
    commit_all(env.dir.path(), "definition");
    let mut snapshots = BTreeMap::new();
    for tag in ["a", "b", "c"] {
        let image = format!("oci:layout:{tag}");
        let run = format!("run-{tag}");
        let model = format!("model-{tag}:1");
        ok(&env
            .envaudit()
            .args(["lock", "env/conda.yml", "--image", &image])
            .args(["--run-id", &run, "--model", &model])
            .env("SOURCE_DATE_EPOCH", "1795000000")
            .output()
            .unwrap());
        let l = Lockfile::load(&env.path("envaudit.lock")).unwrap();
        snapshots.insert(tag, l.environments["train"].clone());
    }
    Fleet { env, snapshots }
}

impl Fleet {
    fn manifest(&self, tag: &str) -> Digest {
        self.snapshots[tag].image_manifest.clone().unwrap()
    }

    /// A results record: `tag`'s image seen through `refs` at `at`.
    fn record(&self, tag: &str, refs: &[&str], at: &str) -> ScanRecord {
        let mut references: Vec<String> = refs.iter().map(|r| format!("{REG}/{r}")).collect();
        references.sort();
        ScanRecord::Image(Box::new(ImageRecord {
            schema_version: SCHEMA_VERSION,
            manifest: self.manifest(tag),
            registry: REG.to_owned(),
            references,
            index: None,
            scanned_at: at.to_owned(),
            worker: Some("0/1".to_owned()),
            snapshot: self.snapshots[tag].clone(),
        }))
    }

    fn write_results(&self, name: &str, records: &[ScanRecord]) -> std::path::PathBuf {
        let p = self.env.path(name);
        for r in records {
            record::append(&p, r).unwrap();
        }
        p
    }

    fn run(&self, args: &[&str]) -> Output {
        self.env.envaudit().args(args).output().unwrap()
    }

    fn query(&self, db: &str, args: &[&str]) -> String {
        ok(&self.run(&[&["fleet", "query", "--db", db][..], args].concat()))
    }
}

/// `(query, name, ecosystem, manifest)` of a JSON query's matches.
fn matched(json: &str) -> Vec<(String, String, String, String)> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["schema_version"], 1);
    v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["query"].as_str().unwrap().to_owned(),
                m["ecosystem"].as_str().unwrap().to_owned(),
                m["version"].as_str().unwrap().to_owned(),
                m["manifest"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn counts(db: &Path) -> BTreeMap<String, u64> {
    Inventory::open_existing(db).unwrap().counts().unwrap()
}

/// The two scans: at T1 `latest` points at `a`; at T2 it points at `b` (the tag moved).
fn two_scans(f: &Fleet) -> (std::path::PathBuf, std::path::PathBuf) {
    let first = f.write_results(
        "scan1.jsonl",
        &[
            f.record("a", &["app:a", "app:latest"], T1),
            f.record("b", &["app:b"], T1),
            f.record("c", &["app:c", "other:c"], T1),
            ScanRecord::Unreadable(UnreadableRecord {
                schema_version: SCHEMA_VERSION,
                reference: format!("{REG}/private"),
                reason: UnreadableReason::Denied,
                message: "401 Unauthorized".to_owned(),
                scanned_at: T1.to_owned(),
                worker: Some("0/1".to_owned()),
            }),
        ],
    );
    let second = f.write_results(
        "scan2.jsonl",
        &[
            f.record("a", &["app:a"], T2),
            f.record("b", &["app:b", "app:latest"], T2),
        ],
    );
    (first, second)
}

#[test]
fn merge_is_idempotent_and_queries_return_exactly_the_images_in_range() {
    let f = fleet();
    let (first, second) = two_scans(&f);
    // A killed worker's torn last line: ignored by merge, with a warning.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&second)
        .unwrap()
        .write_all(br#"{"kind":"image","schema_version":1,"manif"#)
        .unwrap();
    let db = f.env.path("inv.sqlite");
    let merge = |files: &[&Path]| {
        let mut args = vec!["fleet", "merge", "--db", "inv.sqlite", "--format", "json"];
        args.extend(files.iter().map(|p| p.to_str().unwrap()));
        f.run(&args)
    };
    let out = merge(&[&first, &second]);
    let text = ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("torn line"), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["files"][0]["new_images"], 3);
    assert_eq!(v["files"][0]["new_unreadable"], 1);
    assert_eq!(v["files"][1]["new_images"], 0);
    assert_eq!(v["files"][1]["moved_references"], 1);
    assert_eq!(v["files"][1]["torn_last_line"], true);

    let before = counts(&db);
    assert_eq!(before["images"], 3);
    // app:a, app:latest, app:b, app:c, other:c; then app:a, app:b, app:latest again.
    assert_eq!(before["refs"], 8);
    assert_eq!(before["current_refs"], 5);
    assert_eq!(before["unreadable"], 1);
    assert_eq!(before["layers"], 6);
    // Each image: deb openssl, conda openssl, pip numpy.
    assert_eq!(before["packages"], 9);
    let queries = [
        "numpy<2",
        "conda:openssl>=3,<3.0.13",
        "deb:openssl<3.0.11-1~deb12u2",
        "openssl>=3.1",
        "pkg:pypi/numpy@2.0.1",
    ];
    let q = |db: &str| f.query(db, &[&queries[..], &["--format", "json"]].concat());
    let first_answer = q("inv.sqlite");
    let (a, b, c) = (
        f.manifest("a").to_string(),
        f.manifest("b").to_string(),
        f.manifest("c").to_string(),
    );
    let mut want = vec![
        ("numpy<2", "pip", "1.26.4", &a),
        ("numpy<2", "pip", "1.24.0", &c),
        ("conda:openssl>=3,<3.0.13", "conda", "3.0.12", &a),
        (
            "deb:openssl<3.0.11-1~deb12u2",
            "deb",
            "3.0.11-1~deb12u1",
            &a,
        ),
        // A bare name asks every ecosystem: conda's 3.1.0 matches, Debian's 3.0.15 does not.
        ("openssl>=3.1", "conda", "3.1.0", &c),
        ("pkg:pypi/numpy@2.0.1", "pip", "2.0.1", &b),
    ]
    .into_iter()
    .map(|(q, e, v, m)| (q.to_owned(), e.to_owned(), v.to_owned(), m.clone()))
    .collect::<Vec<_>>();
    let mut got = matched(&first_answer);
    want.sort();
    got.sort();
    assert_eq!(got, want);
    // References: the current pointers only (app:latest moved to b).
    let v: serde_json::Value = serde_json::from_str(&first_answer).unwrap();
    let refs_of = |m: &str| -> Vec<String> {
        v["matches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["manifest"] == m)
            .map(|x| serde_json::from_value(x["references"].clone()).unwrap())
            .unwrap()
    };
    assert_eq!(refs_of(&a), [format!("{REG}/app:a")]);
    assert_eq!(
        refs_of(&b),
        [format!("{REG}/app:b"), format!("{REG}/app:latest")]
    );

    // Merging again changes nothing: same rows, same answers.
    let again = ok(&merge(&[&first, &second]));
    let v: serde_json::Value = serde_json::from_str(&again).unwrap();
    for file in v["files"].as_array().unwrap() {
        for k in [
            "new_images",
            "replaced_images",
            "new_observations",
            "moved_references",
            "new_unreadable",
        ] {
            assert_eq!(file[k], 0, "{k} in {file}");
        }
    }
    assert_eq!(counts(&db), before);
    assert_eq!(q("inv.sqlite"), first_answer);

    // Merged in the other order into a new inventory: the same answers and moves.
    ok(&f.run(&[
        "fleet",
        "merge",
        "--db",
        "rev.sqlite",
        second.to_str().unwrap(),
        first.to_str().unwrap(),
    ]));
    assert_eq!(counts(&f.env.path("rev.sqlite")), before);
    assert_eq!(q("rev.sqlite"), first_answer);
    let moved = |db: &str| f.query(db, &["--moved", "--format", "json"]);
    assert_eq!(moved("rev.sqlite"), moved("inv.sqlite"));

    // The moved tag: old -> new, and when.
    let m: serde_json::Value = serde_json::from_str(&moved("inv.sqlite")).unwrap();
    let m = m["moved"].as_array().unwrap();
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0]["reference"], format!("{REG}/app:latest"));
    assert_eq!(m[0]["from"], a.as_str());
    assert_eq!(m[0]["to"], b.as_str());
    assert_eq!(m[0]["from_scanned_at"], T1);
    assert_eq!(m[0]["to_scanned_at"], T2);
    let md = f.query("inv.sqlite", &["--moved", "--format", "markdown"]);
    assert!(
        md.contains(&format!("| {REG}/app:latest | {a} | {b} |")),
        "{md}"
    );

    // The schema is plain SQL for users: which tags moved, which images hold numpy.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM moves WHERE reference LIKE '%app:latest'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    let version: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, "1");
}

#[test]
fn fail_on_match_bad_queries_and_formats() {
    let f = fleet();
    let (first, second) = two_scans(&f);
    ok(&f.run(&[
        "fleet",
        "merge",
        "--db",
        "inv.sqlite",
        first.to_str().unwrap(),
        second.to_str().unwrap(),
    ]));
    let base = ["fleet", "query", "--db", "inv.sqlite"];
    // No match: exit 0, with or without --fail-on.
    let out = f.run(&[&base[..], &["numpy>=3", "--fail-on", "match"]].concat());
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no image holds"));
    // A match: exit 0, and 1 with --fail-on match.
    let out = f.run(&[&base[..], &["numpy<2"]].concat());
    assert_eq!(out.status.code(), Some(0));
    let out = f.run(&[&base[..], &["numpy<2", "--fail-on", "match"]].concat());
    assert_eq!(out.status.code(), Some(1));
    // A bad query: exit 2, saying why.
    for bad in ["pip:numpy<<2", "npm:left-pad", "deb:openssl<"] {
        let out = f.run(&[&base[..], &[bad]].concat());
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is not a package query"), "{err}");
    }
    // A missing inventory is an input error, and is not created.
    let out = f.run(&["fleet", "query", "--db", "none.sqlite", "numpy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!f.env.path("none.sqlite").exists());
    // CSV and Markdown.
    let csv = f.query("inv.sqlite", &["numpy<2", "--format", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("query,ecosystem,name,version,prefix,image,references")
    );
    assert_eq!(lines.count(), 2, "{csv}");
    let md = f.query("inv.sqlite", &["numpy<2", "--format", "markdown"]);
    assert!(md.starts_with("| query | ecosystem |"), "{md}");
    // The summary: counts by ecosystem, licence and prefix.
    let s = f.query("inv.sqlite", &["--summary", "--format", "json"]);
    let s: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(s["images"], 3);
    assert_eq!(s["references"], 5);
    assert_eq!(s["unreadable"], 1);
    let eco: BTreeMap<String, (u64, u64)> = s["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_owned(),
                (
                    c["packages"].as_u64().unwrap(),
                    c["images"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(eco["pip"], (3, 3));
    assert_eq!(eco["conda"], (3, 3));
    assert_eq!(eco["deb"], (3, 3));
    let licenses = s["licenses"].to_string();
    assert!(
        licenses.contains("Apache-2.0") && licenses.contains("BSD-3-Clause"),
        "{licenses}"
    );
    let prefixes = s["prefixes"].to_string();
    assert!(prefixes.contains("/opt/conda"), "{prefixes}");
}

#[test]
fn lockfiles_name_the_environments_and_the_models_trained_on_matching_images() {
    let f = fleet();
    let (first, second) = two_scans(&f);
    ok(&f.run(&[
        "fleet",
        "merge",
        "--db",
        "inv.sqlite",
        first.to_str().unwrap(),
        second.to_str().unwrap(),
    ]));
    let (a, c) = (f.manifest("a").to_string(), f.manifest("c").to_string());
    let out = f.query(
        "inv.sqlite",
        &["numpy<2", "--lockfile", "envaudit.lock", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let by_manifest = |m: &str| {
        v["matches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["manifest"] == m)
            .unwrap()
            .clone()
    };
    // `a` is no environment's current image, but run-a trained model-a:1 on it.
    let ma = by_manifest(&a);
    assert_eq!(ma["environments"].as_array().unwrap().len(), 0);
    let runs = ma["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["model"], "model-a:1");
    assert_eq!(runs[0]["run"], "run-a");
    // `c` is `train`'s current image, and model-c:1 was trained on it.
    let mc = by_manifest(&c);
    assert_eq!(mc["environments"][0]["environment"], "train");
    assert_eq!(mc["runs"][0]["model"], "model-c:1");
    let md = f.query(
        "inv.sqlite",
        &[
            "numpy<2",
            "--lockfile",
            "envaudit.lock",
            "--format",
            "markdown",
        ],
    );
    assert!(
        md.contains("| model-a:1 (run run-a) |") && md.contains("| envaudit.lock#train |"),
        "{md}"
    );
    // Unlocked: the images no current snapshot names (a and b).
    let out = f.query(
        "inv.sqlite",
        &[
            "--unlocked",
            "--lockfile",
            "envaudit.lock",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut unlocked: Vec<&str> = v["unlocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["manifest"].as_str().unwrap())
        .collect();
    unlocked.sort_unstable();
    let b = f.manifest("b").to_string();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort_unstable();
    assert_eq!(unlocked, want);
    // A lockfile that is not there is an input error, not an empty lockfile.
    let out = f.run(&[
        "fleet",
        "query",
        "--db",
        "inv.sqlite",
        "numpy",
        "--lockfile",
        "missing.lock",
    ]);
    assert_eq!(out.status.code(), Some(2));
    // --unlocked needs --lockfile.
    let out = f.run(&["fleet", "query", "--db", "inv.sqlite", "--unlocked"]);
    assert_eq!(out.status.code(), Some(2));
}
