//! `envaudit pin` and `envaudit export` on the example environment locked against its image:
//! the pinned definition lints clean and pins every declared package at the version the
//! image holds; the exports read back through envaudit's own parsers and pin every package.

use std::collections::{BTreeMap, BTreeSet};

use envaudit::conda::MatchSpec;
use envaudit::definition::{self, DefinitionKind, LoadOptions};
use envaudit::lockfile::Lockfile;
use envaudit::model::Ecosystem;

use crate::support::{TestEnv, copy_tree, fixture, ok};

/// The example definition, its image, and a lock of image v1.
fn locked_example() -> TestEnv {
    let t = TestEnv::new();
    for f in ["environment.yml", "conda.yml"] {
        std::fs::copy(fixture(&format!("example/{f}")), t.path(f)).unwrap();
    }
    copy_tree(&fixture("example/image"), &t.path("image"));
    ok(&t
        .envaudit()
        .args(["lock", "environment.yml", "--image", "oci:image:v1"])
        .args(["--base-image", "oci:image:base"])
        .output()
        .unwrap());
    t
}

/// `envaudit hash environment.yml --format json`.
fn hash_json(t: &TestEnv) -> serde_json::Value {
    let out = ok(&t
        .envaudit()
        .args(["hash", "environment.yml", "--format", "json"])
        .output()
        .unwrap());
    serde_json::from_str(&out).unwrap()
}

fn ingredients(t: &TestEnv) -> Vec<(String, String)> {
    hash_json(t)["ingredients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_owned(),
                i["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn hash_of(t: &TestEnv) -> String {
    hash_json(t)["definition_hash"].as_str().unwrap().to_owned()
}

/// The leading package name of a canonical spec (`numpy ==1.26.4 b`, `pandas==2.2.2`).
fn spec_name(value: &str) -> String {
    value
        .split(['=', ' ', '<', '>', '!', '~', '[', ';'])
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn pin_shows_a_diff_then_writes_a_definition_that_lints_clean() {
    let t = locked_example();
    let conda_before = std::fs::read_to_string(t.path("conda.yml")).unwrap();
    let env_before = std::fs::read_to_string(t.path("environment.yml")).unwrap();
    let ingredients_before = ingredients(&t);
    let hash_before = hash_of(&t);

    // By default: a unified diff, nothing written.
    let out = t
        .envaudit()
        .args(["pin", "environment.yml"])
        .output()
        .unwrap();
    let diff = ok(&out);
    assert!(
        diff.contains("--- a/conda.yml\n+++ b/conda.yml\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n-  - scipy                 # unpinned\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n+  - scipy=1.13.0=py310h93e2701_1                 # unpinned\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n+      - pandas==2.2.2       # a range\n"),
        "{diff}"
    );
    assert!(
        diff.contains(
            "+image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1@sha256:"
        ),
        "{diff}"
    );
    assert_eq!(
        std::fs::read_to_string(t.path("conda.yml")).unwrap(),
        conda_before
    );
    assert_eq!(
        std::fs::read_to_string(t.path("environment.yml")).unwrap(),
        env_before
    );
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    let predicted = said
        .split(" → ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("the new definition hash")
        .to_owned();
    assert!(said.contains(&hash_before), "{said}");

    // --write: the files change, the hash is the one predicted.
    let out = t
        .envaudit()
        .args(["pin", "environment.yml", "--write"])
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(hash_of(&t), predicted);
    let conda_after = std::fs::read_to_string(t.path("conda.yml")).unwrap();
    // Comments and order stay: every comment line and every other line is still there.
    for line in conda_before.lines() {
        if let Some((_, comment)) = line.split_once('#') {
            assert!(conda_after.contains(comment), "comment `{comment}` kept");
        }
    }
    assert_eq!(conda_before.lines().count(), conda_after.lines().count());

    // Nothing left to lint.
    let lint = ok(&t
        .envaudit()
        .args(["lint", "environment.yml", "--format", "json"])
        .output()
        .unwrap());
    let lint: serde_json::Value = serde_json::from_str(&lint).unwrap();
    assert_eq!(lint["findings"].as_array().unwrap().len(), 0, "{lint}");

    // The same definition apart from versions: same ingredient kinds in the same order, the
    // same package names, channels and options.
    let after = ingredients(&t);
    assert_eq!(after.len(), ingredients_before.len());
    for ((k0, v0), (k1, v1)) in ingredients_before.iter().zip(&after) {
        assert_eq!(k0, k1);
        match k0.as_str() {
            "conda-dependency" | "pip-dependency" => assert_eq!(spec_name(v0), spec_name(v1)),
            "base-image" => assert!(v1.starts_with(v0.as_str()) && v1.contains("@sha256:")),
            _ => assert_eq!(v0, v1),
        }
    }

    // Every declared package is pinned at the version the image holds.
    let lock = Lockfile::load(&t.path("envaudit.lock")).unwrap();
    let snap = &lock.environments["sklearn-train"];
    let def = definition::load(&t.path("environment.yml"), &LoadOptions::default()).unwrap();
    assert_eq!(def.dependencies().count(), 8);
    for d in def.dependencies() {
        assert!(d.pin.state.is_pinned(), "{} is {:?}", d.raw, d.pin.state);
        let name = d.name.as_ref().unwrap();
        let installed = snap
            .packages
            .iter()
            .find(|p| {
                (p.ecosystem == d.ecosystem && &p.name == name)
                    || p.python_dist.as_ref() == Some(name)
            })
            .unwrap_or_else(|| panic!("{name} installed"));
        assert!(
            d.raw.contains(&format!("={}", installed.version)),
            "{} vs {}",
            d.raw,
            installed.version
        );
        if d.ecosystem == Ecosystem::Conda {
            assert!(
                d.raw.ends_with(installed.build.as_deref().unwrap()),
                "{}",
                d.raw
            );
        }
    }

    // Pinning again changes nothing.
    let again = t
        .envaudit()
        .args(["pin", "environment.yml"])
        .output()
        .unwrap();
    assert_eq!(ok(&again), "");
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to pin"));
}

#[test]
fn exports_read_back_and_pin_every_package_of_the_snapshot() {
    let t = locked_example();
    let lock = Lockfile::load(&t.path("envaudit.lock")).unwrap();
    let snap = &lock.environments["sklearn-train"];
    let prefix = "/azureml-envs/azureml_8f2c0e4b6a1d3c5e7f9a0b2c4d6e8f01";
    let in_prefix = |eco: Ecosystem| -> BTreeMap<String, (String, Option<String>)> {
        snap.packages
            .iter()
            .filter(|p| p.ecosystem == eco && p.prefix.as_deref() == Some(prefix))
            .map(|p| (p.name.to_string(), (p.version.clone(), p.build.clone())))
            .collect()
    };

    // conda @EXPLICIT: each line a MatchSpec with URL and checksum, exact with build.
    let explicit = ok(&t
        .envaudit()
        .args(["export", "--format", "conda-explicit"])
        .output()
        .unwrap());
    let mut lines = explicit.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(lines.next(), Some("@EXPLICIT"));
    let mut seen = BTreeSet::new();
    for l in lines {
        let m: MatchSpec = l.parse().unwrap_or_else(|e| panic!("`{l}`: {e}"));
        assert!(m.pin().state.is_pinned(), "{l}: {:?}", m.pin());
        assert!(m.md5.is_some(), "{l}");
        let name = m.name.clone().unwrap().to_string();
        let file = l.rsplit('/').next().unwrap();
        let (version, build) = &in_prefix(Ecosystem::Conda)[&name];
        assert!(
            file.starts_with(&format!("{name}-{version}-{}", build.as_deref().unwrap())),
            "{l}"
        );
        seen.insert(name);
    }
    assert_eq!(seen.len(), in_prefix(Ecosystem::Conda).len());
    // Dependencies come first: python before pip, which depends on it.
    let pos = |n: &str| explicit.find(&format!("/{n}-")).unwrap();
    assert!(pos("python") < pos("pip"));

    // pip requirements: read by the requirements parser, every package exact.
    t.write("exported.txt", "");
    ok(&t
        .envaudit()
        .args([
            "export",
            "--format",
            "requirements",
            "--out",
            "exported.txt",
        ])
        .output()
        .unwrap());
    let def = definition::load(
        &t.path("exported.txt"),
        &LoadOptions {
            kind: Some(DefinitionKind::Requirements),
            image: None,
        },
    )
    .unwrap();
    let pip = in_prefix(Ecosystem::Pip);
    assert_eq!(def.pip_dependencies.len(), pip.len());
    for d in &def.pip_dependencies {
        assert!(d.pin.state.is_pinned(), "{}", d.raw);
        let name = d.name.as_ref().unwrap().to_string();
        assert_eq!(d.raw, format!("{name}=={}", pip[&name].0));
    }

    // Several prefixes with deb packages are not a question here; an unknown environment is.
    let out = t
        .envaudit()
        .args(["export", "nope", "--format", "requirements"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A requirements file locked from a live folder: names keep their spelling, extras and
/// markers stay, comments stay, and a spec pip installed from a URL is left alone.
#[test]
fn pin_keeps_a_requirements_files_spelling_extras_markers_and_comments() {
    let t = TestEnv::new();
    for (name, version) in [
        ("pandas", "2.2.1"),
        ("numpy", "1.26.4"),
        ("requests", "2.32.3"),
    ] {
        t.write(
            &format!("venv/lib/python3.11/site-packages/{name}-{version}.dist-info/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        );
    }
    t.write("venv/pyvenv.cfg", "home = /usr/bin\nversion = 3.11.7\n");
    t.write(
        "requirements.txt",
        "# training\nPandas[excel] >= 2.0 ; python_version >= \"3.8\"  # data frames\nnumpy\nrequests @ https://example.com/requests-2.32.3-py3-none-any.whl\n",
    );
    ok(&t
        .envaudit()
        .args(["lock", "requirements.txt", "--rootfs", "venv"])
        .output()
        .unwrap());
    let out = t
        .envaudit()
        .args(["pin", "requirements.txt", "--write"])
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(
        std::fs::read_to_string(t.path("requirements.txt")).unwrap(),
        "# training\nPandas[excel]==2.2.1 ; python_version >= \"3.8\"  # data frames\nnumpy==1.26.4\nrequests @ https://example.com/requests-2.32.3-py3-none-any.whl\n"
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("2 specs pinned"), "{said}");
    assert!(said.contains("left `requests @ https://example.com/requests-2.32.3-py3-none-any.whl`: a direct reference"), "{said}");
}

/// A Dockerfile's `RUN pip install` specs are pinned where they are written, quotes and
/// continuation lines kept; what the image does not hold is left with its reason.
#[test]
fn pin_rewrites_run_installs_in_a_dockerfile() {
    let t = TestEnv::new();
    for (name, version) in [
        ("numpy", "1.26.4"),
        ("pandas", "2.2.1"),
        ("scikit-learn", "1.4.2"),
    ] {
        t.write(
            &format!(
                "venv/lib/python3.11/site-packages/{}-{version}.dist-info/METADATA",
                name.replace('-', "_")
            ),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        );
    }
    t.write("venv/pyvenv.cfg", "home = /usr/bin\nversion = 3.11.7\n");
    t.write(
        "env/Dockerfile",
        "FROM python:3.11-slim\nRUN pip install --no-cache-dir numpy \"pandas>=2.0; python_version >= '3.8'\" \\\n    scikit-learn==1.4.2 && \\\n    conda install -y scipy\n",
    );
    ok(&t
        .envaudit()
        .args(["lock", "env", "--rootfs", "venv"])
        .output()
        .unwrap());
    let out = t
        .envaudit()
        .args(["pin", "env", "--write"])
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(
        std::fs::read_to_string(t.path("env/Dockerfile")).unwrap(),
        "FROM python:3.11-slim\nRUN pip install --no-cache-dir numpy==1.26.4 \"pandas==2.2.1; python_version >= '3.8'\" \\\n    scikit-learn==1.4.2 && \\\n    conda install -y scipy\n"
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("2 specs pinned, 1 already exact, 1 left as written"),
        "{said}"
    );
    assert!(
        said.contains("left `scipy`: not installed in the locked image"),
        "{said}"
    );
    // What lint still reports is what pin could not fix.
    let lint = ok(&t
        .envaudit()
        .args(["lint", "env", "--format", "json", "--fail-on", "never"])
        .output()
        .unwrap());
    let lint: serde_json::Value = serde_json::from_str(&lint).unwrap();
    let codes: Vec<(&str, &str)> = lint["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert!(
        codes
            .iter()
            .all(|(c, m)| *c == "floating-base-image" || m.contains("scipy")),
        "{codes:?}"
    );
}
