use super::*;

pub(crate) fn sample() -> Snapshot {
    let d = |s: &str| Digest::sha256_of(s.as_bytes());
    let mut s = Snapshot {
        id: String::new(),
        definition: "envs/train/environment.yml".into(),
        definition_kind: Some(DefinitionKind::AzuremlV2),
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
        completeness: Completeness::Complete,
        declared: vec![Declared {
            ecosystem: Ecosystem::Conda,
            name: Some(PackageName::conda("numpy")),
            spec: "numpy".into(),
            pin: PinState::Unpinned,
        }],
        prefixes: vec![Prefix {
            path: "/azureml-envs/azureml_0123".into(),
            kind: EnvironmentKind::Conda,
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
        definition_mismatch: None,
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

/// Every lockfile, stored snapshot and run file under `fixtures/`, by what it holds.
fn fixture_files() -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "lock")
                || (path.extension().is_some_and(|e| e == "toml")
                    && path
                        .ancestors()
                        .any(|a| a.to_string_lossy().ends_with(".lock.d")))
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        &mut out,
    );
    out
}

#[test]
fn every_fixture_lockfile_round_trips_byte_for_byte() {
    let files = fixture_files();
    let mut kinds = [0; 3];
    for path in &files {
        let source = SourceFile::read(path).unwrap();
        let parent = path.parent().unwrap();
        let written = if path.extension().is_some_and(|e| e == "lock") {
            kinds[0] += 1;
            Lockfile::parse(&source).unwrap().to_toml()
        } else if parent.ends_with("snapshots") {
            kinds[1] += 1;
            let stored = StoredSnapshot::parse(&source).unwrap();
            // The file is named by the id, and the id is the content's.
            assert_eq!(stored.snapshot.compute_id(), stored.snapshot.id);
            stored.to_toml()
        } else if parent.ends_with("runs") {
            kinds[2] += 1;
            RunRecord::parse(&source).unwrap().to_toml()
        } else {
            panic!("`{}`: not a lockfile, snapshot or run", path.display())
        };
        assert!(
            written == source.text,
            "`{}` does not round-trip:\n{}",
            path.display(),
            similar::TextDiff::from_lines(source.text.as_str(), written.as_str()).unified_diff()
        );
    }
    assert!(kinds.iter().all(|&n| n > 0), "{kinds:?} in {files:?}");
}

#[test]
fn every_value_of_the_typed_fields_round_trips() {
    let kinds = [
        None,
        Some(DefinitionKind::AzuremlV1),
        Some(DefinitionKind::AzuremlV2),
        Some(DefinitionKind::AzuremlJob),
        Some(DefinitionKind::Curated),
        Some(DefinitionKind::Conda),
        Some(DefinitionKind::Requirements),
        Some(DefinitionKind::Dockerfile),
    ];
    let completeness = [
        Completeness::Complete,
        Completeness::NotApplicable,
        Completeness::Partial("layer `sha256:ab` is larger than 8 GiB".into()),
        Completeness::Partial(String::new()),
    ];
    let prefixes = [
        EnvironmentKind::Conda,
        EnvironmentKind::Venv,
        EnvironmentKind::System,
        EnvironmentKind::Other,
    ];
    let mut lock = Lockfile::default();
    for (i, kind) in kinds.iter().enumerate() {
        let mut s = sample();
        s.definition_kind = *kind;
        s.completeness = completeness[i % completeness.len()].clone();
        s.prefixes[0].kind = prefixes[i % prefixes.len()];
        s.declared[0].name = (i % 2 == 0).then(|| PackageName::conda("numpy"));
        s.seal();
        lock.environments.insert(format!("e{i}"), s);
    }
    let text = lock.to_toml();
    for expected in [
        "definition-kind = \"none\"\n",
        "definition-kind = \"azureml-job\"\n",
        "completeness = \"nothing-found\"\n",
        "completeness = \"partial: layer `sha256:ab` is larger than 8 GiB\"\n",
        "completeness = \"partial: \"\n",
        "kind = \"venv\"",
        "{ ecosystem = \"conda\", name = \"\", spec = \"numpy\", pin = \"unpinned\" }",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    let back = parse(&text).unwrap();
    assert_eq!(back, lock);
    assert_eq!(back.to_toml(), text);
}

#[test]
fn unknown_values_of_closed_fields_point_at_the_value() {
    let text = Lockfile {
        environments: [("e".to_owned(), sample())].into(),
    }
    .to_toml();
    let cases = [
        (
            "definition-kind = \"azureml-v2\"",
            "definition-kind = \"pixi\"",
            "`pixi`",
        ),
        (
            "completeness = \"complete\"",
            "completeness = \"partial:x\"",
            "`partial:x`",
        ),
        ("kind = \"conda\"", "kind = \"pixi\"", "`pixi`"),
    ];
    for (from, to, says) in cases {
        assert_eq!(text.matches(from).count(), 1, "{from}");
        let bad = text.replace(from, to);
        let e = parse(&bad).unwrap_err();
        let LockfileError::Parse(p) = &e else {
            panic!("{e}")
        };
        let line = bad.lines().position(|l| l.contains(to)).unwrap() + 1;
        let column = bad.lines().nth(line - 1).unwrap().find(to).unwrap() + 1;
        let value = column + to.find('"').unwrap();
        assert_eq!((p.line as usize, p.column as usize), (line, value), "{p}");
        assert!(p.to_string().contains(says), "{p}");
    }
}

#[test]
fn a_declared_name_keeps_the_files_spelling() {
    let text = Lockfile {
        environments: [("e".to_owned(), sample())].into(),
    }
    .to_toml()
    .replace("name = \"numpy\", spec", "name = \"NumPy_x\", spec");
    let lock = parse(&text).unwrap();
    let name = lock.environments["e"].declared[0].name.as_ref().unwrap();
    assert_eq!(name.as_str(), "NumPy_x");
    assert_eq!(lock.to_toml(), text);
}

#[test]
fn prefixes_of_one_path_sort_by_the_kinds_text() {
    let mut s = sample();
    let prefix = s.prefixes[0].clone();
    s.prefixes = [
        EnvironmentKind::Venv,
        EnvironmentKind::System,
        EnvironmentKind::Other,
    ]
    .into_iter()
    .map(|kind| Prefix {
        kind,
        ..prefix.clone()
    })
    .collect();
    s.seal();
    let kinds: Vec<&str> = s.prefixes.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds, ["other", "system", "venv"]);
}
