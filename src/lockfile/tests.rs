use super::*;

pub(crate) fn sample() -> Snapshot {
    let d = |s: &str| Digest::sha256_of(s.as_bytes());
    let mut s = Snapshot {
        id: String::new(),
        definition: "envs/train/environment.yml".into(),
        definition_kind: "azureml-v2".into(),
        definition_hash: d("def"),
        definition_files: vec![FileRecord {
            path: "envs/train/environment.yml".into(),
            blob: "ce013625030ba8dba906f756967f9e9ca394464a".into(),
        }],
        azureml_v2_anonymous_version: Some("0123abcd".into()),
        azureml_v1_image: None,
        image_index: None,
        image: Some("myacr.azurecr.io/azureml/azureml_0123:latest".into()),
        image_manifest: Some(d("manifest")),
        image_config: Some(d("config")),
        image_platform: Some("linux/amd64".into()),
        image_layers: vec![d("l0"), d("l1")],
        base_image: Some("mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1".into()),
        base_layers: Some(1),
        base_image_digest: None,
        rootfs: None,
        os: None,
        completeness: "complete".into(),
        declared: vec![Declared {
            ecosystem: Ecosystem::Conda,
            name: "numpy".into(),
            spec: "numpy".into(),
            pin: PinState::Unpinned,
        }],
        prefixes: vec![Prefix {
            path: "/azureml-envs/azureml_0123".into(),
            kind: "conda".into(),
            python: Some("3.10.14".into()),
            platform: Some("linux-64".into()),
        }],
        packages: vec![
            LockedPackage {
                ecosystem: Ecosystem::Pip,
                name: PackageName::pip("pandas"),
                version: "2.2.2".into(),
                build: None,
                channel: None,
                python_dist: None,
                prefix: Some("/azureml-envs/azureml_0123".into()),
                licenses: vec!["BSD-3-Clause".into()],
                base: Some(false),
                requires: vec!["numpy>=1.22.4; python_version < \"3.11\"".into()],
                url: None,
                sha256: None,
                md5: None,
                record: None,
            },
            LockedPackage {
                ecosystem: Ecosystem::Conda,
                name: PackageName::conda("numpy"),
                version: "1.26.4".into(),
                build: Some("py310hb13e2d6_0".into()),
                channel: Some("conda-forge".into()),
                python_dist: None,
                prefix: Some("/azureml-envs/azureml_0123".into()),
                licenses: vec![],
                base: Some(false),
                requires: vec!["python >=3.10,<3.11.0a0".into()],
                url: None,
                sha256: None,
                md5: None,
                record: None,
            },
        ],
    };
    s.seal();
    s
}

fn parse(text: &str) -> Result<Lockfile, LockfileError> {
    Lockfile::parse(&SourceFile::from_text("envaudit.lock", text))
}

#[test]
fn round_trip_is_byte_for_byte() {
    let mut lock = Lockfile::default();
    lock.environments.insert("train".into(), sample());
    lock.environments.insert("needs quoting".into(), sample());
    let text = lock.to_toml();
    assert!(text.starts_with(HEADER));
    let back = parse(&text).unwrap();
    assert_eq!(back, lock);
    assert_eq!(back.to_toml(), text);
    // Sorted: conda before pip, whatever the order given.
    let conda = text
        .find("ecosystem = \"conda\", name = \"numpy\", version")
        .unwrap();
    let pip = text.find("name = \"pandas\"").unwrap();
    assert!(conda < pip);
    assert!(text.contains("[environments.\"needs quoting\"]"));
}

#[test]
fn the_id_follows_the_content() {
    let a = sample();
    let mut b = sample();
    assert_eq!(a.id, b.id);
    assert_eq!(a.id.len(), 16);
    b.packages[0].version = "1.26.5".into();
    b.seal();
    assert_ne!(a.id, b.id);
    // Order of input does not matter.
    let mut c = sample();
    c.packages.reverse();
    c.seal();
    assert_eq!(a.id, c.id);
}

#[test]
fn newer_versions_are_refused_and_malformed_files_point_at_the_line() {
    let e = parse("version = 2\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "`envaudit.lock` is lockfile version 2; this envaudit reads versions up to 1"
    );
    let e = parse("version = 1\n[environments.x]\ndefinition = 3\n").unwrap_err();
    let LockfileError::Parse(p) = e else {
        panic!("{e}")
    };
    assert_eq!((p.line, p.column), (3, 14), "{p}");
    let e = parse("[environments]\n").unwrap_err();
    assert!(e.to_string().contains("no `version`"), "{e}");
    assert_eq!(parse("version = 1\n").unwrap(), Lockfile::default());
}

#[test]
fn stored_snapshots_and_runs_round_trip() {
    let stored = StoredSnapshot {
        environment: "train".into(),
        snapshot: sample(),
    };
    let text = stored.to_toml();
    let back = StoredSnapshot::parse(&SourceFile::from_text("s.toml", &text)).unwrap();
    assert_eq!(back, stored);
    let run = RunRecord {
        run: "run-1".into(),
        environment: "train".into(),
        snapshot: stored.snapshot.id.clone(),
        time: "2026-11-25T06:00:00Z".into(),
        commit: None,
        model: Some("churn:3".into()),
    };
    let back = RunRecord::parse(&SourceFile::from_text("r.toml", &run.to_toml())).unwrap();
    assert_eq!(back, run);
}

#[test]
fn control_characters_and_quotes_survive() {
    let mut s = sample();
    s.packages[0].requires = vec!["a\"b\\c\n\u{1}d".into()];
    s.seal();
    let mut lock = Lockfile::default();
    lock.environments.insert("e".into(), s);
    assert_eq!(parse(&lock.to_toml()).unwrap(), lock);
}

#[test]
fn requirements_are_read_in_the_package_ecosystem_and_written_back_as_recorded() {
    let text = sample_text_with_requires(&[
        "numpy >= 1.22 ; python_version<'3.11'",
        "not a requirement ((",
    ]);
    let lock = parse(&text).unwrap();
    let pandas = lock.environments["e"]
        .packages
        .iter()
        .find(|p| p.name.as_str() == "pandas")
        .unwrap();
    let requires = &pandas.requires;
    assert!(matches!(
        requires[0].parsed(Ecosystem::Pip),
        ParsedRequirement::Pip(_)
    ));
    // Unparseable text loads (the graph skips it) and is kept as written.
    assert!(matches!(
        requires[1].parsed(Ecosystem::Pip),
        ParsedRequirement::Unread
    ));
    assert_eq!(lock.to_toml(), text);
}

fn sample_text_with_requires(requires: &[&str]) -> String {
    let mut s = sample();
    for p in &mut s.packages {
        if p.name.as_str() == "pandas" {
            p.requires = LockedRequirement::all(requires.iter().copied());
        }
    }
    s.seal();
    let mut lock = Lockfile::default();
    lock.environments.insert("e".into(), s);
    lock.to_toml()
}
