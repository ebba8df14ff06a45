//! Replays `fixtures/azureml-anon/vectors.json`: what azure-ai-ml 1.35.2 itself computed
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
    let text = read_text("fixtures/azureml-anon/vectors.json").unwrap_or_default();
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
            (Some(_), None) => rejected += 1,
            (Some(err), Some(o)) if o.version.is_some() => {
                failures.push(format!(
                    "{}: azure-ai-ml rejects ({err}) but we give version {:?}",
                    v.id, o.version
                ));
            }
            (Some(_), Some(_)) => rejected += 1,
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
