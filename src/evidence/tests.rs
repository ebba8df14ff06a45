use super::artifacts::{ArtifactSet, RUN_MEDIA_TYPE, SNAPSHOT_MEDIA_TYPE};
use crate::lockfile::{Lockfile, RunRecord};

fn example() -> (String, crate::lockfile::Snapshot) {
    let lock = Lockfile::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/example/envaudit.lock"
    )))
    .expect("the bundled example's lockfile");
    lock.environments
        .into_iter()
        .next()
        .expect("an environment")
}

fn run(id: &str, env: &str, snapshot: &str, time: &str) -> RunRecord {
    RunRecord {
        run: id.to_owned(),
        environment: env.to_owned(),
        snapshot: snapshot.to_owned(),
        time: time.to_owned(),
        commit: None,
        model: Some("m:1".to_owned()),
        definition_mismatch: None,
    }
}

#[test]
fn the_artifacts_of_a_snapshot_are_byte_stable_and_keep_only_its_runs() {
    let (env, snap) = example();
    let runs = [
        run("b", &env, &snap.id, "2026-01-02T00:00:00Z"),
        run("a", &env, &snap.id, "2026-01-01T00:00:00Z"),
        run(
            "other-snapshot",
            &env,
            "0123456789abcdef",
            "2026-01-01T00:00:00Z",
        ),
        run("other-env", "elsewhere", &snap.id, "2026-01-01T00:00:00Z"),
    ];
    let set = ArtifactSet::new(&env, &snap, &runs);
    assert_eq!(set, ArtifactSet::new(&env, &snap, &runs));
    let names: Vec<&str> = set.records[0]
        .layers
        .iter()
        .map(|b| b.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            format!("snapshots/{}.toml", snap.id).as_str(),
            "runs/a.toml",
            "runs/b.toml"
        ]
    );
    assert_eq!(set.records[0].layers[0].media_type, SNAPSHOT_MEDIA_TYPE);
    assert!(
        set.records[0].layers[1..]
            .iter()
            .all(|b| b.media_type == RUN_MEDIA_TYPE)
    );
    // The snapshot layer reads back as the same snapshot.
    let text = String::from_utf8(set.records[0].layers[0].bytes.clone()).unwrap();
    let back = crate::lockfile::StoredSnapshot::parse(&crate::source::SourceFile::from_text(
        "snapshot.toml",
        &text,
    ))
    .unwrap();
    assert_eq!(back.snapshot, snap);
    assert_eq!(back.environment, env);
    assert_eq!(set.blobs().count(), 4);
}

#[test]
fn content_compare_sees_versions_and_installed_files_but_not_how_the_scan_knew_the_base() {
    use super::content::compare;
    let (_, snap) = example();
    let same = compare(&snap, &snap);
    assert!(same.same(), "{same:?}");

    let mut rescanned = snap.clone();
    for p in &mut rescanned.packages {
        p.base = None;
    }
    assert!(
        compare(&snap, &rescanned).same(),
        "the base flag is not content"
    );

    let mut changed = snap.clone();
    let i = changed
        .packages
        .iter()
        .position(|p| p.record.is_some())
        .expect("a package with a RECORD digest");
    changed.packages[i].record = Some(format!("sha256:{}", "0".repeat(64)));
    changed.packages[0].version.push_str(".post1");
    let c = compare(&snap, &changed);
    assert!(!c.same());
    assert_eq!(c.altered.len(), usize::from(i != 0), "{c:?}");
    assert!(
        c.changes
            .iter()
            .any(|ch| ch.name == snap.packages[0].name.as_str()),
        "{c:?}"
    );

    let mut relayered = snap.clone();
    relayered.image_layers.reverse();
    relayered
        .image_layers
        .push(crate::model::Digest::sha256_of(b"extra"));
    assert!(compare(&snap, &relayered).layers_changed);
}

#[test]
fn many_runs_spread_over_record_artifacts_of_at_most_sixteen_layers() {
    use super::artifacts::MAX_LAYERS;
    let (env, snap) = example();
    let runs: Vec<RunRecord> = (0..40)
        .map(|i| {
            run(
                &format!("r{i:02}"),
                &env,
                &snap.id,
                &format!("2026-01-01T00:00:{i:02}Z"),
            )
        })
        .collect();
    let set = ArtifactSet::new(&env, &snap, &runs);
    assert_eq!(set.records.len(), 3, "1 snapshot + 40 runs in layers of 16");
    assert!(set.records.iter().all(|r| r.layers.len() <= MAX_LAYERS));
    let names: Vec<&str> = set
        .records
        .iter()
        .flat_map(|r| &r.layers)
        .map(|b| b.name.as_str())
        .collect();
    assert_eq!(names.len(), 41);
    assert_eq!(names[1], "runs/r00.toml");
    assert_eq!(names[40], "runs/r39.toml");
    assert_eq!(set.blobs().count(), 42);
}
