//! The whole fleet workflow against the real `docker-registry`: images with pip, conda and
//! Debian packages pushed under several tags, scanned by two shard workers running at the
//! same time (each with its own local cache, as on two machines), merged into the
//! inventory, queried with a lockfile naming a model; then a tag moved, a tag and an image
//! added, and one machine rescanning straight into the database (`fleet scan --db`).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;

use envaudit::fleet::db::Inventory;

use crate::fleet_db::image;
use crate::fleet_scan::{blob_downloads, worker};
use crate::support::registry::{self, RegistryServer};
use crate::support::{TestEnv, commit_all, init_repo, ok};

/// 2026-12-01T00:00:00Z and a day later.
const T1: &str = "1795996800";
const T2: &str = "1796083200";

/// `(reference, manifest)` of every current pointer of the inventory.
fn current_refs(db: &std::path::Path) -> BTreeMap<String, String> {
    let inv = Inventory::open_existing(db).unwrap();
    let mut stmt = inv
        .connection()
        .prepare("SELECT reference, manifest FROM current_refs")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A match of a JSON query: (manifest, query, version, references, models).
type Match = (String, String, String, Vec<String>, Vec<String>);

fn matches(json: &str) -> BTreeSet<Match> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let models = m["runs"]
                .as_array()
                .map(|runs| {
                    runs.iter()
                        .map(|r| r["model"].as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (
                m["manifest"].as_str().unwrap().to_owned(),
                m["query"].as_str().unwrap().to_owned(),
                m["version"].as_str().unwrap().to_owned(),
                serde_json::from_value(m["references"].clone()).unwrap(),
                models,
            )
        })
        .collect()
}

fn layers_of(images: &[&crate::support::image::BuiltImage]) -> BTreeSet<String> {
    images
        .iter()
        .flat_map(|b| b.layers.iter().map(|l| l.digest.clone()))
        .collect()
}

fn push(
    reg: &RegistryServer,
    refs: &mut BTreeMap<String, String>,
    repo_tag: &str,
    built: &crate::support::image::BuiltImage,
) {
    let (repo, tag) = repo_tag.split_once(':').unwrap();
    reg.push_image(repo, tag, built);
    refs.insert(
        format!("{}/{repo_tag}", reg.addr),
        built.manifest_digest.clone(),
    );
}

#[test]
fn scan_on_two_workers_merge_query_then_a_moved_tag_rescanned_into_the_database() {
    let reg = registry::with_access_log();
    // a: every query in range; b: none; c: numpy only.
    let a = image("3.0.11-1~deb12u1", "3.0.12", "1.26.4", "e2e-a");
    let b = image("3.0.11-1~deb12u2", "3.0.13", "2.0.1", "e2e-b");
    let c = image("3.0.15-1~deb12u1", "3.1.0", "1.24.0", "e2e-c");
    let mut refs = BTreeMap::new();
    for (rt, built) in [
        ("e2e/train:1", &a),
        ("e2e/train:2", &b),
        ("e2e/train:latest", &b),
        ("e2e/serve:1", &c),
        ("e2e/serve:from-train", &a),
    ] {
        push(reg, &mut refs, rt, built);
    }
    let (ma, mb, mc) = (
        a.manifest_digest.clone(),
        b.manifest_digest.clone(),
        c.manifest_digest.clone(),
    );

    // The project: a definition locked against train:1, with the run that trained a model.
    let env = TestEnv::new();
    init_repo(env.dir.path());
    env.write(
        "env/conda.yml",
        "name: train\nchannels: [conda-forge]\ndependencies:\n  - openssl\n  - pip:\n    - numpy\n",
    );
    env.write(".gitignore", "*.jsonl\n*.sqlite*\n.cache/\n");
    commit_all(env.dir.path(), "definition");
    let train1 = format!("{}/e2e/train:1", reg.addr);
    ok(&env
        .envaudit()
        .args(["lock", "env/conda.yml", "--image", &train1])
        .args(["--run-id", "run-7", "--model", "fraud-detector:3"])
        .env("SOURCE_DATE_EPOCH", T1)
        .env_remove("REGISTRY_AUTH_FILE")
        .env("DOCKER_CONFIG", env.path("no-docker-config"))
        .output()
        .unwrap());

    // `@`: every image the lockfiles name, here the one the run used.
    let out = worker(&env, &["@", "--out", "locked.jsonl"])
        .env("SOURCE_DATE_EPOCH", T1)
        .output()
        .unwrap();
    assert!(ok(&out).starts_with("1 image(s) scanned"));
    let records = envaudit::fleet::record::read(&env.path("locked.jsonl"))
        .unwrap()
        .records;
    match &records[..] {
        [envaudit::fleet::record::ScanRecord::Image(i)] => {
            assert_eq!(i.manifest.to_string(), ma);
            assert_eq!(i.references, std::slice::from_ref(&train1));
        }
        other => panic!("one image record: {other:?}"),
    }

    // Two workers at the same time, each with its own cache (two machines).
    let layers = layers_of(&[&a, &b, &c]);
    let before_workers = blob_downloads(reg, &layers);
    let source = format!("{}/e2e/*", reg.addr);
    let workers: Vec<TestEnv> = (0..2).map(|_| TestEnv::new()).collect();
    let children: Vec<_> = workers
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let out = env.path(&format!("scan-{i}.jsonl"));
            worker(
                w,
                &[
                    &source,
                    "--shard",
                    &format!("{i}/2"),
                    "--out",
                    out.to_str().unwrap(),
                ],
            )
            .env("SOURCE_DATE_EPOCH", T1)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        ok(&child.wait_with_output().unwrap());
    }
    let after_workers = blob_downloads(reg, &layers);
    let read: Vec<usize> = layers
        .iter()
        .map(|l| after_workers[l] - before_workers[l])
        .collect();
    assert!(
        read.iter().all(|&n| (1..=2).contains(&n)),
        "each layer read, at most once per worker: {read:?}"
    );

    ok(&env
        .envaudit()
        .args(["fleet", "merge", "scan-0.jsonl", "scan-1.jsonl"])
        .args(["--db", "inv.sqlite"])
        .output()
        .unwrap());
    let db = env.path("inv.sqlite");
    // Every reference exactly once, at its manifest.
    assert_eq!(current_refs(&db), refs);

    let query = |extra: &[&str]| {
        env.envaudit()
            .args(["fleet", "query", "--db", "inv.sqlite", "--format", "json"])
            .args(["--lockfile", "envaudit.lock"])
            .args(extra)
            .output()
            .unwrap()
    };
    let r = |s: &str| format!("{}/{s}", reg.addr);
    let answer = ok(&query(&[
        "numpy<2",
        "conda:openssl>=3,<3.0.13",
        "deb:openssl<3.0.11-1~deb12u2",
    ]));
    let a_refs = vec![r("e2e/serve:from-train"), r("e2e/train:1")];
    let model = vec!["fraud-detector:3".to_owned()];
    let want: BTreeSet<_> = [
        (&ma, "numpy<2", "1.26.4", &a_refs, &model),
        (&mc, "numpy<2", "1.24.0", &vec![r("e2e/serve:1")], &vec![]),
        (&ma, "conda:openssl>=3,<3.0.13", "3.0.12", &a_refs, &model),
        (
            &ma,
            "deb:openssl<3.0.11-1~deb12u2",
            "3.0.11-1~deb12u1",
            &a_refs,
            &model,
        ),
    ]
    .into_iter()
    .map(|(m, q, v, refs, models)| {
        (
            m.clone(),
            q.to_owned(),
            v.to_owned(),
            refs.clone(),
            models.clone(),
        )
    })
    .collect();
    assert_eq!(matches(&answer), want);
    // `--fail-on match`: matches exit 1.
    let failing = query(&["numpy<2", "--fail-on", "match"]);
    assert_eq!(failing.status.code(), Some(1));

    // A day later: train:1 moves to b, a new tag points at a, a new image d appears.
    let d = image("3.0.11-1~deb12u2", "3.0.13", "1.20.0", "e2e-d");
    for (rt, built) in [
        ("e2e/train:1", &b),
        ("e2e/train:rollback", &a),
        ("e2e/eval:1", &d),
    ] {
        push(reg, &mut refs, rt, built);
    }
    let before = blob_downloads(reg, &layers_of(&[&a, &b, &c, &d]));
    // One machine, a fresh local cache, straight into the database.
    let single = TestEnv::new();
    let out = worker(&single, &[&source, "--db", db.to_str().unwrap()])
        .env("SOURCE_DATE_EPOCH", T2)
        .output()
        .unwrap();
    let stdout = ok(&out);
    assert!(
        stdout.contains("1 image(s) scanned")
            && stdout.contains("3 already in the results (2 new or moved reference(s) recorded)"),
        "{stdout}"
    );
    let after = blob_downloads(reg, &layers_of(&[&a, &b, &c, &d]));
    // Only the new image is read (all its layers: this machine's cache is empty, and d's
    // base layer is b's); known images are not read again for their new or moved tags.
    for (layer, n) in &after {
        let own = d.layers.iter().any(|l| &l.digest == layer);
        assert_eq!(n - before[layer], usize::from(own), "{layer}");
    }
    assert_eq!(current_refs(&db), refs, "every pointer current, once");

    let moved = ok(&env
        .envaudit()
        .args(["fleet", "query", "--db", "inv.sqlite", "--moved"])
        .args(["--format", "json"])
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_str(&moved).unwrap();
    let moves = v["moved"].as_array().unwrap();
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0]["reference"], r("e2e/train:1"));
    assert_eq!(moves[0]["from"], ma.as_str());
    assert_eq!(moves[0]["to"], mb.as_str());

    // The same query now: train:1 is no longer a's, the rollback tag is; d holds numpy<2.
    let answer = ok(&query(&["numpy<2"]));
    let got: BTreeSet<(String, Vec<String>)> = matches(&answer)
        .into_iter()
        .map(|(m, _, _, refs, _)| (m, refs))
        .collect();
    let want: BTreeSet<(String, Vec<String>)> = [
        (
            ma.clone(),
            vec![r("e2e/serve:from-train"), r("e2e/train:rollback")],
        ),
        (mc.clone(), vec![r("e2e/serve:1")]),
        (d.manifest_digest.clone(), vec![r("e2e/eval:1")]),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);

    // Rerun: nothing new to read or record.
    let out = worker(&single, &[&source, "--db", db.to_str().unwrap()])
        .env("SOURCE_DATE_EPOCH", T2)
        .output()
        .unwrap();
    let stdout = ok(&out);
    assert!(
        stdout.contains("0 image(s) scanned")
            && stdout.contains("4 already in the results (0 new or moved reference(s) recorded)"),
        "{stdout}"
    );
}
