//! Replays `tests/vectors/azureml_anonymous.json`: what azure-ai-ml 1.35.2 itself computed
//! (`scripts/gen-azureml-vectors.py`) for corpus files and a generated matrix of conda files,
//! environment YAMLs, inference configs and build contexts. No Python at test time.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::anonymous::{AnonymousInput, BuildInput, InferenceConfigInput, anonymous_version};
use super::yaml11;

#[derive(Deserialize)]
struct File {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    id: String,
    kind: String,
    image: Option<String>,
    conda: Option<String>,
    path: Option<String>,
    url: Option<String>,
    build_spec: Option<String>,
    dockerfile_path: Option<String>,
    inference_config: Option<String>,
    /// Accepted by azure-ai-ml but refused by envaudit on purpose (the reason).
    unsupported: Option<String>,
    expected: Expected,
}

#[derive(Deserialize, Debug)]
struct Expected {
    version: Option<String>,
    translated_conda_file: Option<String>,
    upload_hash: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct BuildSpec {
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    dirs: Vec<String>,
    #[serde(default)]
    symlinks: std::collections::BTreeMap<String, String>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_text(rel: &str) -> Result<String, String> {
    let raw = fs::read(repo().join(rel)).map_err(|e| format!("{rel}: {e}"))?;
    String::from_utf8(raw).map_err(|e| format!("{rel}: {e}"))
}

fn materialise(spec: &BuildSpec, root: &Path) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    fs::create_dir_all(root).map_err(io)?;
    for d in &spec.dirs {
        fs::create_dir_all(root.join(d)).map_err(io)?;
    }
    for (p, text) in &spec.files {
        let f = root.join(p);
        if let Some(parent) = f.parent() {
            fs::create_dir_all(parent).map_err(io)?;
        }
        fs::write(f, text).map_err(io)?;
    }
    for (p, target) in &spec.symlinks {
        std::os::unix::fs::symlink(target, root.join(p)).map_err(io)?;
    }
    Ok(())
}

/// Our answer for one vector: `Ok(None)` means we reject the input.
fn compute(v: &Vector, tmp: &Path) -> Result<Option<Expected>, String> {
    let mut input = AnonymousInput::default();
    match v.kind.as_str() {
        "image" => input.image.clone_from(&v.image),
        "image-conda" => {
            input.image.clone_from(&v.image);
            input.conda_text = Some(read_text(v.conda.as_deref().unwrap_or_default())?);
        }
        "image-ic-dict" => {
            input.image.clone_from(&v.image);
            if let Some(c) = &v.conda {
                input.conda_text = Some(read_text(c)?);
            }
            let text = read_text(v.inference_config.as_deref().unwrap_or_default())?;
            let value = yaml11::safe_load(&text).map_err(|e| e.to_string())?;
            input.inference_config = Some(InferenceConfigInput::Dict(value));
        }
        "env-yaml" => {
            let path = repo().join(v.path.as_deref().unwrap_or_default());
            match AnonymousInput::from_env_yaml(&path) {
                Ok(i) => input = i,
                Err(_) => return Ok(None),
            }
        }
        "build" => {
            let spec: BuildSpec =
                serde_json::from_str(&read_text(v.build_spec.as_deref().unwrap_or_default())?)
                    .map_err(|e| e.to_string())?;
            let root = tmp.join(v.id.replace(['/', '+'], "_")).join("ctx");
            materialise(&spec, &root)?;
            input.build = Some(BuildInput::Local {
                path: root,
                dockerfile_path: v.dockerfile_path.clone(),
            });
        }
        "build-url" => {
            input.build = Some(BuildInput::Remote {
                url: v.url.clone().unwrap_or_default(),
                dockerfile_path: v.dockerfile_path.clone(),
            });
        }
        other => return Err(format!("unknown vector kind `{other}`")),
    }
    Ok(anonymous_version(&input).ok().map(|out| Expected {
        version: out.version,
        translated_conda_file: out.translated_conda_file,
        upload_hash: out.upload_hash,
        error: None,
    }))
}

#[test]
fn every_azure_ai_ml_vector_agrees_byte_for_byte() {
    let text = read_text("tests/vectors/azureml_anonymous.json").unwrap_or_default();
    let file: File = serde_json::from_str(&text).unwrap_or_else(|e| panic!("vectors.json: {e}"));
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let (mut accepted, mut rejected, mut unsupported) = (0, 0, 0);
    for v in &file.vectors {
        let ours = match compute(v, tmp.path()) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{}: setup failed: {e}", v.id));
                continue;
            }
        };
        match (&v.expected.error, ours) {
            (Some(err), Some(o)) if o.version.is_some() => {
                failures.push(format!(
                    "{}: azure-ai-ml rejects ({err}) but we give version {:?}",
                    v.id, o.version
                ));
            }
            (Some(_), _) => rejected += 1,
            (None, None) if v.unsupported.is_some() => unsupported += 1,
            (None, None) => failures.push(format!("{}: we reject what azure-ai-ml accepts", v.id)),
            (None, Some(o)) => {
                let e = &v.expected;
                if o.translated_conda_file != e.translated_conda_file {
                    failures.push(format!(
                        "{}: translated conda differs\n--- azure-ai-ml\n{:?}\n--- ours\n{:?}",
                        v.id, e.translated_conda_file, o.translated_conda_file
                    ));
                } else if o.upload_hash != e.upload_hash {
                    failures.push(format!(
                        "{}: upload hash {:?} != {:?}",
                        v.id, o.upload_hash, e.upload_hash
                    ));
                } else if o.version != e.version {
                    failures.push(format!(
                        "{}: version {:?} != {:?}",
                        v.id, o.version, e.version
                    ));
                } else {
                    accepted += 1;
                }
            }
        }
    }
    let total = file.vectors.len();
    assert!(
        failures.is_empty(),
        "{} of {total} vectors disagree ({accepted} accepted and {rejected} rejected agree, {unsupported} refused on purpose):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= 200, "only {total} vectors");
    // each of these carries its reason in vectors.json; a new one needs a deliberate decision
    assert!(unsupported <= 5, "{unsupported} vectors refused on purpose");
}

/// The hand-checked vectors of AZUREML.md 2.2 (`tests/vectors/azureml_ref_v2_anon.json`
/// and `azureml_ref_v2_examples.json`), on the inputs checked in beside them.
#[test]
fn documented_azureml_vectors_d_to_i_agree() {
    let inputs = repo().join("fixtures/azureml/inputs");
    let build = |dir: &str, dockerfile: Option<&str>| AnonymousInput {
        build: Some(BuildInput::Local {
            path: inputs.join(dir),
            dockerfile_path: dockerfile.map(str::to_owned),
        }),
        ..AnonymousInput::default()
    };
    let cases = [
        (
            build("build_ctx", None),
            "3a33b54efe541900a59c2c6cf621b6512c9d5541e4a3ec8b313ec863615d620e",
            "27738bc9c41ebf6557da56d7d4c92a4293ad3f71238048d28beeff0110c19b91",
        ),
        (
            build("build_ctx", Some("Dockerfile")),
            "3a33b54efe541900a59c2c6cf621b6512c9d5541e4a3ec8b313ec863615d620e",
            "0ef394649b8d570028e4d7768186707e2dad96fadd0a1de5d25cd7b6649f4dc4",
        ),
        (
            build("build_ctx2", None),
            "d00e13467da753381440100cb1b4c44c3bbc19813e93a0dcdd2076679f1b7a74",
            "207e2bac53b9bc1fa75e16977a77d0f8db59f946f40b8659deece6d7f1f55402",
        ),
        (
            build("azureml-examples/docker-contexts/python-and-pip", None),
            "cbc5c94f4ff493e70b4a6e608f5e355d79940f6017eba6fdd1de76ca5013e4d1",
            "9b715f3ba3c08d7fd9d90486815e207bdd40bd279a8b8380339a1b7830420d08",
        ),
        (
            build(
                "azureml-examples/docker-contexts/python-and-pip",
                Some("Dockerfile"),
            ),
            "cbc5c94f4ff493e70b4a6e608f5e355d79940f6017eba6fdd1de76ca5013e4d1",
            "e8aa360b2857ec1c784255c8eb569c2ff025f10a0200b172dcf2e59a5536b90f",
        ),
    ];
    for (input, upload, version) in cases {
        let out = anonymous_version(&input).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.upload_hash.as_deref(), Some(upload));
        assert_eq!(out.version.as_deref(), Some(version));
    }
    // I: image + inference_config given as a Python dict
    let ic = yaml11::safe_load(
        "liveness_route: {port: 5001, path: /}\nreadiness_route: {port: 5001, path: /}\nscoring_route: {port: 5001, path: /score}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = anonymous_version(&AnonymousInput {
        image: Some(
            "mcr.microsoft.com/azureml/minimal-ubuntu20.04-py38-cpu-inference:latest".into(),
        ),
        inference_config: Some(InferenceConfigInput::Dict(ic)),
        ..AnonymousInput::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.version.as_deref(),
        Some("1946323864244e5f947b1f2f67f9a95aa79b449e4e809471747e77f0e13976d1")
    );
    // G: pydata.yml with the :latest image
    let out = anonymous_version(&AnonymousInput {
        image: Some("mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest".into()),
        conda_text: read_text("fixtures/azureml/inputs/azureml-examples/conda-yamls/pydata.yml")
            .ok(),
        ..AnonymousInput::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.version.as_deref(),
        Some("2663e0731c5ba417f8847eaa04128daa1684c92abe2557c4523bf29842156c6f")
    );
}
