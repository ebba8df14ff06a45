//! The version azure-ai-ml 1.35 gives an *anonymous* environment (`CliV2AnonymousEnvironment`,
//! e.g. an inline `environment:` in a job), computed without Python.
//!
//! Let `H(x)` be the lowercase hex SHA-256 of the UTF-8 bytes of `x`, and
//! `interleave(sep, s)` Python's `sep.join(s)`: the 64 characters of `s` with `sep` between
//! each pair (it interleaves, it does not concatenate).
//!
//! 1. The conda file (if any) is read as Python reads text (`utf-8-sig`, universal newlines),
//!    loaded with `yaml.safe_load` ([`yaml11`]) and, when the loaded value is
//!    truthy, re-dumped with `yaml.dump(value, sort_keys=True)` ([`pyyaml`]):
//!    that text is `translated_conda_file`, also what the service receives as `condaFile`.
//! 2. With a local build context (a `build.path` that is not a URL), the context's
//!    [`upload_hash`] `U` gives `acc = H(U)`, and a non-empty `dockerfile_path` `D` gives
//!    `acc = interleave(acc, H(D))`. The image, conda file and inference config are ignored.
//! 3. Otherwise, with an image `I`: `acc = H(I)`, then `acc = interleave(acc, H(dump(ic)))`
//!    for a truthy inference config, then `acc = interleave(acc, H(conda_text))`.
//! 4. `version = H(acc)`. After three steps `acc` is 258,112 characters; the last step is
//!    streamed into the hasher instead of being built.
//! 5. A remote build context without an image is not content-addressed: azure-ai-ml gives it
//!    a random name and version `1`, so there is no version to predict.
//!
//! The upload hash is azure-ai-ml's `get_object_hash`: SHA-256 seeded with the bytes
//! `Initialize for october 2021 AML CLI version`, then a depth-first walk where each
//! directory's entries are sorted by their full path lowercased (Python `str.lower`, code
//! point order; ties keep directory-listing order), each entry not excluded by the root's
//! `.amlignore` (else `.gitignore`; nested ignore files mean nothing) contributes its base
//! name, then its bytes if it is a file or its entries if it is a directory. Symbolic links
//! are followed (a link to a directory is walked at its target, and ignore patterns are then
//! matched against the target's path relative to the root); a broken link contributes its
//! name only; the ignore file is hashed like any other file unless a pattern excludes it.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use sha2::{Digest as _, Sha256};

use super::gitwildmatch::IgnoreRules;
use super::pyyaml;
use super::yaml11::{self, Mapping, PyObject, Value, Yaml11Error};
use crate::model::to_hex;

/// The name azure-ai-ml gives every content-addressed anonymous environment.
pub const ANONYMOUS_ENV_NAME: &str = "CliV2AnonymousEnvironment";

const UPLOAD_HASH_SEED: &[u8] = b"Initialize for october 2021 AML CLI version";
const MODELS: &str = "azure.ai.ml._restclient.arm_ml_service.models._models";

/// What an anonymous environment is made of.
#[derive(Debug, Clone, Default)]
pub struct AnonymousInput {
    /// The `image` reference as written; `None` (or empty) when the environment has none.
    pub image: Option<String>,
    /// The conda file's raw text as read from disk.
    pub conda_text: Option<String>,
    /// The inference config, for inference environments.
    pub inference_config: Option<InferenceConfigInput>,
    /// The Docker build context, when the environment is built from one.
    pub build: Option<BuildInput>,
}

impl AnonymousInput {
    /// The inputs of an SDK/CLI v2 environment YAML used inline (anonymously), as
    /// azure-ai-ml's `EnvironmentSchema` reads them: `image`, `conda_file` (a path relative to
    /// the YAML, or an inline mapping), `build.path` / `build.dockerfile_path` and
    /// `inference_config`. `name` and `version` are ignored; unknown fields, top-level
    /// `channels`/`dependencies` (a conda file passed by mistake) and wrongly typed fields are
    /// rejected as the schema rejects them.
    pub fn from_env_yaml(path: &Path) -> Result<Self, AnonymousError> {
        let invalid = |why: String| AnonymousError::InvalidEnvironment {
            path: path.to_owned(),
            why,
        };
        let raw = fs::read(path).map_err(|source| AnonymousError::Read {
            path: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8(raw).map_err(|_| invalid("the file is not UTF-8".into()))?;
        let doc = yaml11::safe_load(&yaml11::python_text(&text)).map_err(|e| {
            AnonymousError::EnvironmentYaml {
                path: path.to_owned(),
                source: e,
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_env_value(&doc, base, path)
    }

    /// The inputs of an environment mapping already loaded (e.g. a job's inline
    /// `environment:`), with relative paths resolved against `base`; `path` labels errors.
    pub fn from_env_value(doc: &Value, base: &Path, path: &Path) -> Result<Self, AnonymousError> {
        const KNOWN: &[&str] = &[
            "$schema",
            "name",
            "version",
            "description",
            "tags",
            "properties",
            "image",
            "build",
            "conda_file",
            "inference_config",
            "os_type",
            "datastore",
            "auto_delete_setting",
        ];
        let invalid = |why: String| AnonymousError::InvalidEnvironment {
            path: path.to_owned(),
            why,
        };
        let empty = Mapping::new();
        let map = match doc {
            Value::Map(m) => m.as_ref(),
            Value::Null => &empty,
            other => {
                return Err(invalid(format!(
                    "expected a mapping, found `{}`",
                    other.type_name()
                )));
            }
        };
        for (k, _) in map.entries() {
            match k.as_str() {
                Some("channels" | "dependencies") => {
                    return Err(invalid(
                        "`channels` and `dependencies` belong in the conda file, not the environment".into(),
                    ));
                }
                Some(k) if KNOWN.contains(&k) => {}
                _ => return Err(invalid(format!("unknown field `{}`", key_text(k)))),
            }
        }
        let string = |key: &str| -> Result<Option<String>, AnonymousError> {
            match map.get(key) {
                None => Ok(None),
                Some(Value::Str(s)) => Ok(Some(s.clone())),
                Some(other) => Err(invalid(format!(
                    "`{key}` must be a string, found `{}`",
                    other.type_name()
                ))),
            }
        };
        let image = string("image")?;
        let conda_text = match map.get("conda_file") {
            None => None,
            Some(Value::Str(rel)) if rel.is_empty() => None,
            Some(Value::Str(rel)) => {
                let p = base.join(rel);
                let raw = fs::read(&p).map_err(|source| AnonymousError::Read {
                    path: p.clone(),
                    source,
                })?;
                Some(
                    String::from_utf8(raw)
                        .map_err(|_| invalid(format!("`{}` is not UTF-8", p.display())))?,
                )
            }
            // an inline mapping is the loaded value itself; its dump loads back to the same value
            Some(v @ Value::Map(_)) => Some(pyyaml::dump(v)),
            Some(other) => {
                return Err(invalid(format!(
                    "`conda_file` must be a path or a mapping, found `{}`",
                    other.type_name()
                )));
            }
        };
        let build = match map.get("build") {
            None => None,
            Some(Value::Map(b)) => {
                for (k, _) in b.entries() {
                    if !matches!(k.as_str(), Some("path" | "dockerfile_path")) {
                        return Err(invalid(format!("unknown field `build.{}`", key_text(k))));
                    }
                }
                let dockerfile_path = match b.get("dockerfile_path") {
                    None => None,
                    Some(Value::Str(s)) => Some(s.clone()),
                    Some(_) => {
                        return Err(invalid("`build.dockerfile_path` must be a string".into()));
                    }
                };
                match b.get("path") {
                    Some(Value::Str(p)) => {
                        let build = BuildInput::from_path(p, dockerfile_path, base);
                        if let BuildInput::Local { path: dir, .. } = &build
                            && !dir.exists()
                        {
                            return Err(invalid(format!(
                                "build context `{}` does not exist",
                                dir.display()
                            )));
                        }
                        Some(build)
                    }
                    None => None,
                    Some(_) => return Err(invalid("`build.path` must be a string".into())),
                }
            }
            Some(_) => return Err(invalid("`build` must be a mapping".into())),
        };
        let inference_config = map
            .get("inference_config")
            .map(InferenceConfigInput::from_yaml)
            .transpose()?;
        Ok(AnonymousInput {
            image,
            conda_text,
            inference_config,
            build,
        })
    }
}

/// A Docker build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildInput {
    /// A folder on disk, whose [`upload_hash`] enters the version.
    Local {
        /// The context folder (resolved against the YAML file's folder).
        path: PathBuf,
        /// `build.dockerfile_path` as written, relative to the context.
        dockerfile_path: Option<String>,
    },
    /// A URL the service fetches; azure-ai-ml gives it no content-addressed version.
    Remote {
        /// The context URL as written.
        url: String,
        /// `build.dockerfile_path` as written, relative to the context.
        dockerfile_path: Option<String>,
    },
}

impl BuildInput {
    /// A `build.path` as written: azure-ai-ml treats it as a URL when Python's `urlparse`
    /// finds both a scheme and a network location; otherwise it is a folder relative to
    /// `base` (the YAML file's folder).
    pub fn from_path(path: &str, dockerfile_path: Option<String>, base: &Path) -> Self {
        if is_url(path) {
            BuildInput::Remote {
                url: path.to_owned(),
                dockerfile_path,
            }
        } else {
            BuildInput::Local {
                path: base.join(path),
                dockerfile_path,
            }
        }
    }
}

/// Python `all([urlparse(v).scheme, urlparse(v).netloc])`.
pub fn is_url(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let Some(after) = rest.strip_prefix("//") else {
        return false;
    };
    let netloc = after.split(['/', '?', '#']).next().unwrap_or("");
    scheme_ok && !netloc.is_empty()
}

/// An inference config, in the two shapes azure-ai-ml hashes differently.
#[derive(Debug, Clone)]
pub enum InferenceConfigInput {
    /// `Environment(inference_config={...})` in Python: a plain dict, dumped as it is.
    Dict(Value),
    /// `inference_config:` in an environment YAML: azure-ai-ml builds an
    /// `InferenceContainerProperties` model, whose `yaml.dump` is a `!!python/object` text
    /// naming SDK-internal classes (not portable across SDK versions).
    Routes {
        /// `liveness_route`.
        liveness: Route,
        /// `readiness_route`.
        readiness: Route,
        /// `scoring_route`.
        scoring: Route,
    },
}

/// One `{port, path}` route of an inference config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The port (an integer string in the YAML is converted, as the schema does).
    pub port: i64,
    /// The URL path, as written.
    pub path: String,
}

impl InferenceConfigInput {
    /// Validate a YAML `inference_config:` mapping as azure-ai-ml's schema does (all three
    /// routes required, `port` an integer or integer string, `path` a string, nothing else).
    pub fn from_yaml(value: &Value) -> Result<Self, AnonymousError> {
        let bad = |why: String| AnonymousError::InvalidInferenceConfig(why);
        let map = value
            .as_map()
            .ok_or_else(|| bad(format!("expected a mapping, found `{}`", value.type_name())))?;
        let known = ["liveness_route", "readiness_route", "scoring_route"];
        for (k, _) in map.entries() {
            match k.as_str() {
                Some(k) if known.contains(&k) => {}
                _ => return Err(bad(format!("unknown field `{}`", key_text(k)))),
            }
        }
        let route = |name: &str| -> Result<Route, AnonymousError> {
            let r = map
                .get(name)
                .ok_or_else(|| bad(format!("`{name}` is required")))?
                .as_map()
                .ok_or_else(|| bad(format!("`{name}` must be a mapping")))?;
            for (k, _) in r.entries() {
                match k.as_str() {
                    Some("port" | "path") => {}
                    _ => return Err(bad(format!("unknown field `{}` in `{name}`", key_text(k)))),
                }
            }
            let port = match r.get("port") {
                Some(Value::Int(i)) => i.to_i64(),
                Some(Value::Str(s)) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| bad(format!("`{name}.port` must be an integer")))?;
            let path = match r.get("path") {
                Some(Value::Str(s)) => s.clone(),
                _ => return Err(bad(format!("`{name}.path` must be a string"))),
            };
            Ok(Route { port, path })
        };
        Ok(InferenceConfigInput::Routes {
            liveness: route("liveness_route")?,
            readiness: route("readiness_route")?,
            scoring: route("scoring_route")?,
        })
    }

    /// `yaml.dump(inference_config, sort_keys=True)`, `None` when it is falsy.
    pub fn dumped(&self) -> Option<String> {
        match self {
            InferenceConfigInput::Dict(v) if !v.is_truthy() => None,
            InferenceConfigInput::Dict(v) => Some(pyyaml::dump(v)),
            InferenceConfigInput::Routes {
                liveness,
                readiness,
                scoring,
            } => {
                let route = |r: &Route| {
                    Value::Object(Rc::new(PyObject {
                        class_path: format!("{MODELS}.Route"),
                        state: vec![(
                            "_data".to_owned(),
                            string_map(vec![
                                ("path", Value::Str(r.path.clone())),
                                ("port", Value::Int(yaml11::Int::from_i64(r.port))),
                            ]),
                        )],
                    }))
                };
                let obj = Value::Object(Rc::new(PyObject {
                    class_path: format!("{MODELS}.InferenceContainerProperties"),
                    state: vec![(
                        "_data".to_owned(),
                        string_map(vec![
                            ("livenessRoute", route(liveness)),
                            ("readinessRoute", route(readiness)),
                            ("scoringRoute", route(scoring)),
                        ]),
                    )],
                }));
                Some(pyyaml::dump(&obj))
            }
        }
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::Str(s) => s.clone(),
        other => other.type_name().to_owned(),
    }
}

fn string_map(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(Value::Str(k.to_owned()), v);
    }
    Value::Map(Rc::new(m))
}

/// The outcome for an anonymous environment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AnonymousVersion {
    /// The 64-hex version; `None` where azure-ai-ml does not content-address the environment.
    pub version: Option<String>,
    /// The canonical conda text azure-ai-ml hashes and sends as `condaFile`.
    pub translated_conda_file: Option<String>,
    /// The build context's upload hash (local build contexts only).
    pub upload_hash: Option<String>,
    /// Why there is no version, when there is none.
    pub reason: Option<String>,
}

/// Inputs azure-ai-ml refuses (so there is no version to predict).
#[derive(Debug, thiserror::Error)]
pub enum AnonymousError {
    /// The conda file is not YAML that PyYAML's `safe_load` accepts.
    #[error("the conda file is not valid yaml for `yaml.safe_load` at {0}")]
    CondaYaml(#[source] Yaml11Error),
    /// The `inference_config` does not pass azure-ai-ml's schema; holds what is wrong.
    #[error("invalid `inference_config`: {0}")]
    InvalidInferenceConfig(String),
    /// The local build context could not be hashed: a file could not be read, or the
    /// ignore file is not UTF-8 or holds an invalid pattern.
    #[error("cannot hash the build context `{path}`: {source}")]
    BuildContext {
        /// The context folder.
        path: PathBuf,
        /// The error of the walk (an unreadable file, or an ignore file that is not UTF-8 or holds
        /// an invalid pattern).
        #[source]
        source: io::Error,
    },
    /// The environment YAML or its conda file could not be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The environment file is not YAML that PyYAML's `safe_load` accepts.
    #[error("`{path}` is not valid yaml: {source}")]
    EnvironmentYaml {
        /// The environment file.
        path: PathBuf,
        /// Where and why the YAML is refused.
        #[source]
        source: Yaml11Error,
    },
    /// The environment file does not pass azure-ai-ml's `EnvironmentSchema` (unknown or
    /// wrongly typed fields, not UTF-8, a conda file given instead).
    #[error("`{path}` is not an environment azure-ai-ml accepts: {why}")]
    InvalidEnvironment {
        /// The environment file.
        path: PathBuf,
        /// What the schema objects to.
        why: String,
    },
    /// The environment has neither an `image` nor a `build` context.
    #[error("an environment needs an `image` or a `build` context")]
    NothingToHash,
}

/// `yaml.dump(yaml.safe_load(text), sort_keys=True)` for a conda file's raw text, or `None`
/// when the loaded value is falsy (empty file, `{}`, `null`...).
pub fn translate_conda(raw: &str) -> Result<Option<String>, AnonymousError> {
    let value = yaml11::safe_load(&yaml11::python_text(raw)).map_err(AnonymousError::CondaYaml)?;
    if !value.is_truthy() {
        return Ok(None);
    }
    Ok(Some(pyyaml::dump(&value)))
}

fn sha_hex(s: &str) -> String {
    to_hex(&Sha256::digest(s.as_bytes()))
}

/// `H(acc)` where `acc` folds the hashes of `texts` with Python's `str.join`
/// (`acc = H(texts[0])`, then `acc = H(texts[i]).join`-style interleaving with `acc`).
pub fn fold_version(texts: &[&str]) -> String {
    let Some((first, rest)) = texts.split_first() else {
        return sha_hex("");
    };
    let mut acc = sha_hex(first);
    let Some((last, middle)) = rest.split_last() else {
        return sha_hex(&acc);
    };
    for t in middle {
        acc = interleave(&acc, &sha_hex(t));
    }
    // stream the last (largest) interleaving straight into the hasher
    let mut h = Sha256::new();
    for (i, c) in sha_hex(last).bytes().enumerate() {
        if i > 0 {
            h.update(acc.as_bytes());
        }
        h.update([c]);
    }
    to_hex(&h.finalize())
}

/// Python `sep.join(s)` over the characters of `s`.
pub fn interleave(sep: &str, s: &str) -> String {
    let mut out = String::with_capacity(s.len() + sep.len() * s.len());
    for (i, c) in s.chars().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// The version azure-ai-ml 1.35 computes for an anonymous environment.
pub fn anonymous_version(input: &AnonymousInput) -> Result<AnonymousVersion, AnonymousError> {
    // `Environment.__init__` translates the conda file first, whatever else is given.
    let translated = match &input.conda_text {
        Some(raw) => translate_conda(raw)?,
        None => None,
    };
    let mut out = AnonymousVersion {
        version: None,
        translated_conda_file: translated.clone(),
        upload_hash: None,
        reason: None,
    };
    match &input.build {
        Some(BuildInput::Local {
            path,
            dockerfile_path,
        }) if !path.as_os_str().is_empty() => {
            let upload = upload_hash(path).map_err(|source| AnonymousError::BuildContext {
                path: path.clone(),
                source,
            })?;
            let mut texts = vec![upload.as_str()];
            if let Some(d) = dockerfile_path.as_deref().filter(|d| !d.is_empty()) {
                texts.push(d);
            }
            out.version = Some(fold_version(&texts));
            out.upload_hash = Some(upload);
            return Ok(out);
        }
        _ => {}
    }
    if let Some(image) = input.image.as_deref().filter(|i| !i.is_empty()) {
        let ic = match &input.inference_config {
            Some(ic) => ic.dumped(),
            None => None,
        };
        let mut texts = vec![image];
        if let Some(ic) = ic.as_deref() {
            texts.push(ic);
        }
        if let Some(conda) = translated.as_deref() {
            texts.push(conda);
        }
        out.version = Some(fold_version(&texts));
        return Ok(out);
    }
    match &input.build {
        Some(BuildInput::Remote { url, .. }) => {
            out.reason = Some(format!(
                "the build context `{url}` is remote: azure-ai-ml gives such an environment a random name and version `1`, not a content hash"
            ));
            Ok(out)
        }
        _ => Err(AnonymousError::NothingToHash),
    }
}

// ---------------------------------------------------------------------------------------
// Upload hash.

/// azure-ai-ml's `get_object_hash` of a build context (folder or single file).
pub fn upload_hash(dir: &Path) -> io::Result<String> {
    let root = fs::canonicalize(dir)?;
    let mut h = Sha256::new();
    h.update(UPLOAD_HASH_SEED);
    if root.is_dir() {
        let rules = load_ignore_rules(&root)?;
        let mut buf = vec![0u8; 1 << 20];
        hash_dir(&root, &root, rules.as_ref(), &mut h, &mut buf)?;
    } else {
        let mut buf = vec![0u8; 1 << 20];
        hash_file(&root, &mut h, &mut buf)?;
    }
    Ok(to_hex(&h.finalize()))
}

fn load_ignore_rules(root: &Path) -> io::Result<Option<IgnoreRules>> {
    for name in [".amlignore", ".gitignore"] {
        let p = root.join(name);
        if fs::symlink_metadata(&p).is_ok() && p.exists() {
            let raw = fs::read(&p)?;
            let text = String::from_utf8(raw).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("`{}` is not UTF-8: {e}", p.display()),
                )
            })?;
            let text = yaml11::python_text(&text);
            let rules = IgnoreRules::parse(&text)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            return Ok(Some(rules));
        }
    }
    Ok(None)
}

/// `os.path.relpath(path, root)` for two absolute, normalised paths, `/`-separated.
fn relpath(path: &Path, root: &Path) -> String {
    let p: Vec<Component<'_>> = path.components().collect();
    let r: Vec<Component<'_>> = root.components().collect();
    let common = p.iter().zip(&r).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..r.len() {
        parts.push("..".to_owned());
    }
    for c in &p[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

fn hash_dir(
    dir: &Path,
    root: &Path,
    rules: Option<&IgnoreRules>,
    h: &mut Sha256,
    buf: &mut [u8],
) -> io::Result<()> {
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let full = path.to_str().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("`{}` is not a UTF-8 path", path.display()),
            )
        })?;
        entries.push((full.to_lowercase(), path));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, path) in entries {
        if rules.is_some_and(|r| r.is_excluded(&relpath(&path, root))) {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        h.update(name.as_bytes());
        let meta = fs::symlink_metadata(&path)?;
        let target = if meta.file_type().is_symlink() {
            match fs::canonicalize(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // broken: name only
                Err(e) => return Err(e),
            }
        } else {
            path
        };
        let meta = match fs::metadata(&target) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if meta.is_file() {
            hash_file(&target, h, buf)?;
        } else if meta.is_dir() {
            hash_dir(&target, root, rules, h, buf)?;
        }
    }
    Ok(())
}

fn hash_file(path: &Path, h: &mut Sha256, buf: &mut [u8]) -> io::Result<()> {
    let mut f = fs::File::open(path)?;
    loop {
        let n = match f.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_interleaves_rather_than_concatenates() {
        assert_eq!(interleave("-", "abc"), "a-b-c");
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let two = interleave(&a, &b);
        assert_eq!(two.len(), 4096);
        let three = interleave(&two, &"c".repeat(64));
        assert_eq!(three.len(), 258_112);
    }

    #[test]
    fn streamed_fold_equals_building_the_string() {
        let texts = ["img", "conda: 1\n", "x"];
        let acc = interleave(
            &interleave(&sha_hex(texts[0]), &sha_hex(texts[1])),
            &sha_hex(texts[2]),
        );
        assert_eq!(fold_version(&texts), sha_hex(&acc));
    }

    #[test]
    fn image_only_matches_azure_ai_ml() {
        let v = anonymous_version(&AnonymousInput {
            image: Some("mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest".into()),
            ..AnonymousInput::default()
        });
        assert_eq!(
            v.ok().and_then(|v| v.version).as_deref(),
            Some("455df48a2c57c843992352e53f852835d2657d682cc95c74a50125f5a3347843")
        );
    }

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        assert!(is_url("https://github.com/x/y.git"));
        assert!(is_url("git+https://github.com/x/y.git#main"));
        assert!(!is_url("docker-contexts/python"));
        assert!(!is_url("C:\\ctx"));
        assert!(!is_url("file:relative"));
    }

    #[test]
    fn remote_build_context_has_no_version_but_a_reason() {
        let v = anonymous_version(&AnonymousInput {
            build: Some(BuildInput::Remote {
                url: "https://github.com/x/y.git".into(),
                dockerfile_path: None,
            }),
            ..AnonymousInput::default()
        });
        let v = v.ok();
        assert_eq!(v.as_ref().and_then(|v| v.version.clone()), None);
        assert!(v.and_then(|v| v.reason).is_some());
    }
}
