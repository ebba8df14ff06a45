//! The definition hash: cross-format equality, formatting invariance, order sensitivity,
//! checked-in vectors recomputed by an independent Python implementation.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use envaudit::definition::{self, DefinitionKind, LoadOptions};
use envaudit::hash;
use proptest::prelude::*;

use crate::support::{self, TestEnv, fixture, utf8_bom, utf16le_bom};

const IMAGE: &str = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:20230509.v1";

const CONDA: &str = "name: project_environment
channels:
  - anaconda
  - conda-forge
dependencies:
  - python=3.8.13
  - pip=23.2.1
  - numpy=1.21.2
  - pip:
    - pandas==1.3.5
    - lightgbm>=3.0
";

fn hash_of(path: &Path, image: Option<&str>) -> String {
    let def = definition::load(
        path,
        &LoadOptions {
            kind: None,
            image: image.map(str::to_owned),
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hash::definition_hash(&def).to_string()
}

fn v1_folder(env: &TestEnv, dir: &str, conda: &str) -> PathBuf {
    let json = format!(
        r#"{{
    "name": "any-name",
    "version": "7",
    "environmentVariables": {{"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}},
    "python": {{"userManagedDependencies": false, "interpreterPath": "python", "condaDependenciesFile": null, "baseCondaEnvironment": null}},
    "docker": {{"enabled": false, "baseImage": "{IMAGE}", "baseDockerfile": null, "buildContext": null, "sharedVolumes": true, "shmSize": "2g", "arguments": [],
               "baseImageRegistry": {{"address": null, "username": null, "password": null, "registryIdentity": null}},
               "platform": {{"os": "Linux", "architecture": "amd64"}}}},
    "spark": {{"repositories": [], "packages": [], "precachePackages": true}},
    "databricks": {{"mavenLibraries": [], "pypiLibraries": [], "rcranLibraries": [], "jarLibraries": [], "eggLibraries": []}},
    "r": null, "inferencingStackVersion": null, "assetId": null
}}"#
    );
    env.write(&format!("{dir}/azureml_environment.json"), json);
    env.write(&format!("{dir}/conda_dependencies.yml"), conda);
    env.path(dir)
}

#[test]
fn same_environment_as_v1_folder_v2_yaml_and_conda_file_with_image_hashes_the_same() {
    let env = TestEnv::new();
    let v1 = v1_folder(&env, "v1", CONDA);
    env.write(
        "v2/conda.yml",
        CONDA.replace("project_environment", "other-name"),
    );
    let v2 = env.write(
        "v2/env.yml",
        format!("$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\nname: sklearn\nversion: \"3\"\nimage: {IMAGE}\nconda_file: conda.yml\ndescription: d\ntags: {{team: ml}}\n"),
    );
    let conda = env.write("plain/environment.yml", CONDA);
    let inline = env.write(
        "inline/env.yml",
        format!(
            "image: {IMAGE}\nconda_file:\n  channels: [anaconda, conda-forge]\n  dependencies:\n    - python=3.8.13\n    - pip=23.2.1\n    - numpy=1.21.2\n    - pip: [pandas==1.3.5, lightgbm>=3.0]\n"
        ),
    );
    let job = env.write(
        "job/job.yml",
        format!("command: python train.py\nenvironment:\n  image: {IMAGE}\n  conda_file: ../plain/environment.yml\ncompute: azureml:cpu\n"),
    );
    let h1 = hash_of(&v1, None);
    assert_eq!(h1, hash_of(&v2, None), "v2 yaml");
    assert_eq!(h1, hash_of(&conda, Some(IMAGE)), "conda + --image");
    assert_eq!(h1, hash_of(&inline, None), "inline conda_file");
    assert_eq!(h1, hash_of(&job, None), "job environment block");
    // Docker Hub short names normalise: the same image written two ways.
    assert_eq!(
        hash_of(&conda, Some("python:3.10")),
        hash_of(&conda, Some("docker.io/library/python:3.10"))
    );
}

#[test]
fn formatting_and_encoding_do_not_change_the_hash() {
    let env = TestEnv::new();
    let base = env.write("a/environment.yml", CONDA);
    let expected = hash_of(&base, Some(IMAGE));
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("crlf", CONDA.replace('\n', "\r\n").into_bytes()),
        ("utf16", utf16le_bom(CONDA)),
        ("utf8bom", utf8_bom(CONDA)),
        (
            "comments-quoting-order",
            b"# a comment\ndependencies:   # deps\n- \"python=3.8.13\"\n- 'pip=23.2.1'\n- numpy=1.21.2   # pinned\n- pip:\n      - pandas==1.3.5\n      - \"lightgbm >= 3.0\"\nchannels: [anaconda, conda-forge]\nname: renamed\n"
                .to_vec(),
        ),
    ];
    for (name, bytes) in variants {
        let p = env.write(&format!("{name}/environment.yml"), bytes);
        assert_eq!(hash_of(&p, Some(IMAGE)), expected, "variant {name}");
    }
}

#[test]
fn name_version_and_environment_variables_do_not_change_the_hash() {
    let env = TestEnv::new();
    let a = v1_folder(&env, "a", CONDA);
    let b = v1_folder(&env, "b", CONDA);
    let json_b = std::fs::read_to_string(b.join("azureml_environment.json"))
        .unwrap()
        .replace("any-name", "renamed")
        .replace("\"7\"", "\"8\"")
        .replace("EXAMPLE_VALUE", "changed");
    env.write("b/azureml_environment.json", json_b);
    assert_eq!(hash_of(&a, None), hash_of(&b, None));
}

#[test]
fn reordering_dependencies_or_channels_changes_the_hash() {
    let env = TestEnv::new();
    let base = env.write("a/environment.yml", CONDA);
    let deps = env.write(
        "b/environment.yml",
        CONDA.replace(
            "  - python=3.8.13\n  - pip=23.2.1\n",
            "  - pip=23.2.1\n  - python=3.8.13\n",
        ),
    );
    let channels = env.write(
        "c/environment.yml",
        CONDA.replace(
            "  - anaconda\n  - conda-forge\n",
            "  - conda-forge\n  - anaconda\n",
        ),
    );
    let pip = env.write(
        "d/environment.yml",
        CONDA.replace(
            "    - pandas==1.3.5\n    - lightgbm>=3.0\n",
            "    - lightgbm>=3.0\n    - pandas==1.3.5\n",
        ),
    );
    let h = hash_of(&base, Some(IMAGE));
    for p in [deps, channels, pip] {
        assert_ne!(hash_of(&p, Some(IMAGE)), h, "{}", p.display());
    }
}

#[test]
fn what_changes_the_build_changes_the_hash() {
    let env = TestEnv::new();
    let base = v1_folder(&env, "base", CONDA);
    let h = hash_of(&base, None);
    // user-managed flag
    let um = v1_folder(&env, "um", CONDA);
    let j = std::fs::read_to_string(um.join("azureml_environment.json")).unwrap();
    env.write(
        "um/azureml_environment.json",
        j.replace(
            "\"userManagedDependencies\": false",
            "\"userManagedDependencies\": true",
        ),
    );
    assert_ne!(hash_of(&um, None), h, "user-managed");
    // platform
    let arm = v1_folder(&env, "arm", CONDA);
    let j = std::fs::read_to_string(arm.join("azureml_environment.json")).unwrap();
    env.write(
        "arm/azureml_environment.json",
        j.replace("\"amd64\"", "\"arm64\""),
    );
    assert_ne!(hash_of(&arm, None), h, "platform");
    // a version
    let ver = v1_folder(
        &env,
        "ver",
        &CONDA.replace("pandas==1.3.5", "pandas==1.3.4"),
    );
    assert_ne!(hash_of(&ver, None), h, "pip version");
}

#[test]
fn build_context_files_the_dockerfile_copies_are_ingredients() {
    let env = TestEnv::new();
    env.write(
        "ctx/Dockerfile",
        "FROM python:3.10\nCOPY requirements.txt /tmp/\nRUN pip install -r /tmp/requirements.txt\n",
    );
    env.write("ctx/requirements.txt", "numpy==1.26.4\n");
    env.write("ctx/README.md", "not copied\n");
    let yml = env.write("env.yml", "build:\n  path: ctx\n");
    let h = hash_of(&yml, None);
    env.write("ctx/README.md", "still not copied, edited\n");
    assert_eq!(
        hash_of(&yml, None),
        h,
        "a file the Dockerfile does not copy"
    );
    env.write("ctx/requirements.txt", "numpy==1.26.3\n");
    assert_ne!(hash_of(&yml, None), h, "a copied file");
}

/// One checked-in vector.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Vector {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    image: Option<String>,
    kind: String,
    definition_hash: String,
    ingredients: Vec<VectorIngredient>,
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct VectorIngredient {
    kind: String,
    value: String,
}

/// The definitions the vectors cover: every loadable fixture definition.
fn vector_inputs() -> Vec<(PathBuf, Option<&'static str>)> {
    let mut out: Vec<(PathBuf, Option<&'static str>)> = Vec::new();
    for d in ["default", "dockerfile", "pipreq", "pydata", "rich"] {
        out.push((fixture(&format!("azureml/v1-saved/{d}")), None));
    }
    for f in [
        "env_image_conda.yml",
        "env_build.yml",
        "env_inference.yml",
        "job.yml",
        "job_ic.yml",
    ] {
        out.push((fixture(&format!("azureml/inputs/v2/{f}")), None));
    }
    out.push((
        fixture("azureml/inputs/azureml-examples/docker-image-plus-conda.yml"),
        None,
    ));
    out.push((
        fixture("azureml/inputs/azureml-examples/docker-context.yml"),
        None,
    ));
    for e in support::corpus() {
        if e.kind == "conda-yaml" {
            out.push((e.local_path.clone(), Some(IMAGE)));
        } else if e.kind != "curated-asset" {
            out.push((e.local_path.clone(), None));
        } else if e.local_path.ends_with("asset.yaml") {
            out.push((e.local_path.parent().unwrap().to_path_buf(), None));
        }
    }
    out
}

fn compute_vectors() -> Vec<Vector> {
    vector_inputs()
        .into_iter()
        .filter_map(|(path, image)| {
            let def = definition::load(
                &path,
                &LoadOptions {
                    kind: None,
                    image: image.map(str::to_owned),
                },
            )
            .ok()?;
            let ingredients = hash::ingredients(&def);
            Some(Vector {
                path: path.to_string_lossy().into_owned(),
                image: image.map(str::to_owned),
                kind: def.kind.as_str().to_owned(),
                definition_hash: hash::hash_ingredients(&ingredients).to_string(),
                ingredients: ingredients
                    .iter()
                    .map(|i| VectorIngredient {
                        kind: i.kind.to_owned(),
                        value: i.value.clone(),
                    })
                    .collect(),
            })
        })
        .collect()
}

const VECTORS: &str = "tests/vectors/definition_hash.json";

#[test]
fn checked_in_vectors_match_the_implementation() {
    let computed = compute_vectors();
    let path = support::root().join(VECTORS);
    if std::env::var_os("ENVAUDIT_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&computed).unwrap() + "\n",
        )
        .unwrap();
    }
    let stored: Vec<Vector> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(stored.len() >= 60, "only {} vectors", stored.len());
    assert_eq!(
        computed.len(),
        stored.len(),
        "a definition stopped or started loading; rerun with ENVAUDIT_BLESS=1 and review the diff"
    );
    for (c, s) in computed.iter().zip(&stored) {
        assert_eq!(
            c, s,
            "vector for {} changed; if intended, rerun with ENVAUDIT_BLESS=1",
            s.path
        );
    }
}

#[test]
fn independent_python_implementation_recomputes_every_vector() {
    let out = std::process::Command::new("python3")
        .arg(support::root().join("scripts/definition-hash.py"))
        .arg(support::root().join(VECTORS))
        .output()
        .expect("python3 must be installed (scripts/test installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python disagrees: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[test]
fn hash_json_output_is_the_documented_contract() {
    let env = TestEnv::new();
    let p = env.write("environment.yml", CONDA);
    let out = env
        .envaudit()
        .args(["hash", "--format", "json", "--image", IMAGE])
        .arg(&p)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let h = v["definition_hash"].as_str().unwrap();
    assert!(
        h.starts_with("sha256:") && h.len() == 71 && h[7..].bytes().all(|b| b.is_ascii_hexdigit())
    );
    let anon = v["azureml_v2_anonymous_version"].as_str().unwrap();
    assert!(anon.len() == 64 && anon.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(v["kind"], "conda");
    assert!(v["ingredients"].as_array().unwrap().len() >= 8);
    // The python implementation agrees with the CLI output itself.
    let file = env.write("out.json", &out.stdout);
    let py = std::process::Command::new("python3")
        .arg(support::root().join("scripts/definition-hash.py"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stdout)
    );
}

fn conda_text(deps: &[String], channels: &[String]) -> String {
    let mut s = String::from("name: prop\nchannels:\n");
    for c in channels {
        writeln!(s, "  - {c}").unwrap();
    }
    s.push_str("dependencies:\n");
    for d in deps {
        writeln!(s, "  - {d}").unwrap();
    }
    s
}

fn hash_text(text: &str) -> String {
    let src = envaudit::source::SourceFile::from_text("prop/environment.yml", text);
    let file = definition::conda::parse(&src).expect("generated conda file parses");
    let mut def = definition::EnvDefinition::empty(DefinitionKind::Conda, Path::new("prop"));
    def.add_conda_file(file);
    hash::definition_hash(&def).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn parsing_then_hashing_is_deterministic_and_order_sensitive(
        names in prop::collection::btree_set("[a-z][a-z0-9]{0,8}", 2..8),
        versions in prop::collection::vec((0u32..30, 0u32..30), 8),
        ops in prop::collection::vec(prop::sample::select(vec!["==", "=", ">=", ""]), 8),
        swap in (0usize..8, 0usize..8),
    ) {
        let deps: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let (a, b) = versions[i];
                match ops[i] { "" => n.clone(), op => format!("{n}{op}{a}.{b}") }
            })
            .collect();
        let channels = vec!["conda-forge".to_owned(), "defaults".to_owned()];
        let text = conda_text(&deps, &channels);
        let h = hash_text(&text);
        prop_assert_eq!(&h, &hash_text(&text));
        let (i, j) = (swap.0 % deps.len(), swap.1 % deps.len());
        prop_assume!(i != j);
        let mut swapped = deps.clone();
        swapped.swap(i, j);
        prop_assert_ne!(h, hash_text(&conda_text(&swapped, &channels)));
    }
}

#[test]
fn an_entry_that_is_not_a_valid_spec_is_hashed_as_written() {
    let env = TestEnv::new();
    let write = |bad_conda: &str, bad_pip: &str| {
        env.write(
            "conda.yml",
            format!("dependencies:\n  - pip\n  - {bad_conda}\n  - pip:\n    - {bad_pip}  # a comment\n    - ok==1\n"),
        )
    };
    let conda = write("a:b", "numpy>=");
    let def = definition::load(
        &conda,
        &LoadOptions {
            kind: None,
            image: Some(IMAGE.into()),
        },
    )
    .unwrap();
    let deps: Vec<(&str, String)> = hash::ingredients(&def)
        .into_iter()
        .filter(|i| i.kind.ends_with("-dependency"))
        .map(|i| (i.kind, i.value))
        .collect();
    assert_eq!(
        deps,
        [
            ("conda-dependency", "pip".to_owned()),
            ("conda-dependency", "a:b".to_owned()),
            ("pip-dependency", "numpy>=".to_owned()),
            ("pip-dependency", "ok==1".to_owned()),
        ]
    );
    let h = hash_of(&conda, Some(IMAGE));
    write("a:c", "numpy>=");
    assert_ne!(
        hash_of(&conda, Some(IMAGE)),
        h,
        "another invalid conda entry"
    );
    write("a:b", "numpy>>");
    assert_ne!(hash_of(&conda, Some(IMAGE)), h, "another invalid pip entry");
    write("'a:b'", "'numpy>='");
    assert_eq!(hash_of(&conda, Some(IMAGE)), h, "quoting is formatting");
}

#[test]
fn hash_prints_the_identity_of_an_environment_with_invalid_specs_and_the_findings() {
    let env = TestEnv::new();
    env.write(
        "conda.yml",
        "dependencies:\n  - python=3.10\n  - a:b\n  - pip:\n    - numpy>=\n",
    );
    env.write(
        "env.yml",
        format!("image: {IMAGE}\nconda_file: conda.yml\n"),
    );
    let out = env.envaudit().args(["hash", "env.yml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("sha256:"), "{stdout}");
    assert!(!stdout.contains("anonymous version: none"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    insta::assert_snapshot!(stderr, @r"
    error[invalid-spec]: conda.yml:3:6: invalid conda spec `a:b`: unexpected `:`; a channel is separated from the name by `::`
    error[invalid-spec]: conda.yml:5:14: invalid pip requirement `numpy>=`: expected a version after `>=`
    ");

    let out = env
        .envaudit()
        .args(["hash", "env.yml", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["azureml_v2_anonymous_version"].is_string(), "{json}");
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0]["code"], "invalid-spec");
    assert_eq!(findings[0]["severity"], "error");
    assert_eq!(findings[0]["package"], "a:b");
    assert_eq!(findings[0]["origin"]["line"], 3);
    assert_eq!(findings[0]["origin"]["column"], 6);
}

#[test]
fn a_valid_definition_has_no_findings_key_and_a_requirements_file_stays_strict() {
    let env = TestEnv::new();
    env.write("conda.yml", CONDA);
    let out = env
        .envaudit()
        .args(["hash", "conda.yml", "--image", IMAGE, "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json.get("findings").is_none(), "{json}");
    // pip rejects the file, and so does envaudit, pointing at the place.
    env.write("requirements.txt", "ok==1\nnumpy>=\n");
    let out = env
        .envaudit()
        .args(["hash", "requirements.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("requirements.txt:2:8: expected a version after `>=`"),
        "{stderr}"
    );
}
