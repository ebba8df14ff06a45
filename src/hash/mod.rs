//! The definition hash: "same hash" means "same build recipe".
//!
//! This module doc is the specification; `docs/hashing.md` explains it for users and
//! `scripts/definition-hash.py` is an independent implementation of the encoding that the
//! test suite runs against the checked-in vectors.
//!
//! # Ingredients
//! A definition is reduced to an ordered list of *ingredients*, each a `(kind, value)` pair
//! of UTF-8 strings, in this order (a kind with nothing to say contributes nothing, except
//! the first two, which are always present):
//!
//! | kind | value | order |
//! |---|---|---|
//! | `platform` | `os/architecture`, lowercase (default `linux/amd64`) | one |
//! | `user-managed` | `true` or `false` | one |
//! | `base-image` | the normalised reference (`python:3.10` → `docker.io/library/python:3.10`; a release template as written) | one |
//! | `dockerfile-step` | `KEYWORD arguments` of each instruction, comments dropped, continuations joined | file order |
//! | `build-context-url` | a remote build context's URL | one |
//! | `build-context-dockerfile` | a remote build context's Dockerfile path (default `Dockerfile`) | one |
//! | `context-file` | `PATH<TAB>SHA256HEX` of each local build-context file the Dockerfile copies | sorted by path |
//! | `build-arg` | `NAME=VALUE` | sorted by name |
//! | `conda-channel` | the channel as written | declared order |
//! | `conda-dependency` | the conda MatchSpec in canonical form | declared order |
//! | `pip-option` | `--option` or `--option VALUE` | declared order |
//! | `pip-include-url` | the URL of a remote `-r`/`-c` include (not fetched) | declared order |
//! | `pip-dependency` | the PEP 508 requirement in canonical form | declared order |
//! | `pip-constraint` | a `-c` constraint in canonical form | declared order |
//! | `conda-variable` | `NAME=VALUE` of conda `variables:` | declared order |
//! | `spark-repository` | the repository URL | declared order |
//! | `spark-package` | `group:artifact:version` (`version` empty when absent) | declared order |
//! | `r` | the Azure ML v1 `r` section as compact JSON with sorted keys | one |
//!
//! An entry of a conda file that is not a valid spec (in its conda list or its `pip:` list:
//! `a:b`, `pkg[extra]>=1`, `numpy>=`, an empty `-`) is a `conda-dependency` or
//! `pip-dependency` all the same, with its text as written, trimmed (a `pip:` entry without
//! its `#` comment; an empty entry is the empty text). Azure ML accepts such a file, so it
//! must have an identity; the text cannot collide with a canonical form, since every
//! canonical form parses. Lint reports the entry as `invalid-spec`.
//!
//! Dependencies, channels and pip options that were read *out of the build context* (a
//! Dockerfile's `RUN pip install ...`, a requirements file the Dockerfile copies) are not
//! ingredients of their own: the Dockerfile steps and the context files' bytes already
//! cover them, and the hash must not change when envaudit learns to read more of a
//! Dockerfile.
//!
//! Not ingredients: name, version, description, tags, environment variables, the conda
//! file's `name:` and `prefix:`, Azure ML `inference_config`, file formatting (comments,
//! key order, quoting, indentation, line endings, encoding).
//!
//! # Encoding
//! ```text
//! bytes = "envaudit-definition-hash/1\n"
//!         + for each ingredient: KIND + " " + decimal byte length of VALUE + "\n" + VALUE + "\n"
//! definition_hash = "sha256:" + lowercase hex of SHA-256(bytes)
//! ```
//! The length prefix makes the encoding unambiguous whatever a value contains.

use serde::Serialize;

use crate::definition::{BuildContext, Dependency, EnvDefinition};
use crate::model::Digest;
use crate::source::Origin;

/// The first line of the hashed bytes; bump the number if the encoding ever changes.
pub const DOMAIN: &str = "envaudit-definition-hash/1\n";

/// One input of the definition hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ingredient {
    /// What the ingredient is (`platform`, `user-managed`, `base-image`, `dockerfile-step`, ...); the
    /// kinds and their order are the specification above.
    pub kind: &'static str,
    /// Its value in the hashed encoding.
    pub value: String,
    /// Where it was declared, when it comes from one place in a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

impl Ingredient {
    fn new(kind: &'static str, value: impl Into<String>, origin: Option<&Origin>) -> Self {
        Self {
            kind,
            value: value.into(),
            origin: origin.cloned(),
        }
    }
}

/// The ingredients of a definition, in hashing order.
pub fn ingredients(def: &EnvDefinition) -> Vec<Ingredient> {
    let mut out = Vec::new();
    let p = &def.platform;
    out.push(Ingredient::new(
        "platform",
        format!("{}/{}", p.os.to_lowercase(), p.architecture.to_lowercase()),
        None,
    ));
    out.push(Ingredient::new(
        "user-managed",
        def.user_managed.to_string(),
        None,
    ));
    if let Some(b) = &def.base_image {
        out.push(Ingredient::new(
            "base-image",
            b.canonical(),
            Some(&b.origin),
        ));
    }
    if let Some(d) = &def.dockerfile {
        for i in &d.instructions {
            out.push(Ingredient::new(
                "dockerfile-step",
                format!("{} {}", i.keyword, i.arguments),
                Some(&i.origin),
            ));
        }
    }
    match &def.build_context {
        Some(BuildContext::Remote {
            url,
            dockerfile_path,
        }) => {
            out.push(Ingredient::new("build-context-url", url.clone(), None));
            out.push(Ingredient::new(
                "build-context-dockerfile",
                dockerfile_path.as_deref().unwrap_or("Dockerfile"),
                None,
            ));
        }
        Some(BuildContext::Local { files, .. }) => {
            for f in files {
                out.push(Ingredient::new(
                    "context-file",
                    format!("{}\t{}", f.path, f.sha256),
                    None,
                ));
            }
        }
        None => {}
    }
    for (k, v) in &def.build_args {
        out.push(Ingredient::new("build-arg", format!("{k}={v}"), None));
    }
    let declared = |o: &Origin| !def.is_from_build(o);
    for c in def.channels.iter().filter(|c| declared(&c.origin)) {
        out.push(Ingredient::new(
            "conda-channel",
            c.name.clone(),
            Some(&c.origin),
        ));
    }
    push_deps(
        &mut out,
        "conda-dependency",
        &def.conda_dependencies,
        &declared,
    );
    for o in def.pip_options.iter().filter(|o| declared(&o.origin)) {
        let value = match &o.value {
            Some(v) => format!("{} {v}", o.name),
            None => o.name.clone(),
        };
        out.push(Ingredient::new("pip-option", value, Some(&o.origin)));
    }
    for inc in def
        .includes
        .iter()
        .filter(|i| i.is_remote() && declared(&i.origin))
    {
        out.push(Ingredient::new(
            "pip-include-url",
            inc.target.clone(),
            Some(&inc.origin),
        ));
    }
    push_deps(&mut out, "pip-dependency", &def.pip_dependencies, &declared);
    push_deps(&mut out, "pip-constraint", &def.pip_constraints, &declared);
    for (k, v) in &def.conda_variables {
        out.push(Ingredient::new("conda-variable", format!("{k}={v}"), None));
    }
    for r in &def.spark_repositories {
        out.push(Ingredient::new("spark-repository", r.clone(), None));
    }
    for s in &def.spark_packages {
        out.push(Ingredient::new(
            "spark-package",
            format!(
                "{}:{}:{}",
                s.group,
                s.artifact,
                s.version.as_deref().unwrap_or("")
            ),
            None,
        ));
    }
    if let Some(r) = &def.r {
        out.push(Ingredient::new("r", canonical_json(r), None));
    }
    out
}

fn push_deps(
    out: &mut Vec<Ingredient>,
    kind: &'static str,
    deps: &[Dependency],
    declared: &dyn Fn(&Origin) -> bool,
) {
    for d in deps.iter().filter(|d| declared(&d.origin)) {
        out.push(Ingredient::new(kind, d.canonical(), Some(&d.origin)));
    }
}

/// Compact JSON with object keys sorted (`serde_json`'s default map is sorted).
fn canonical_json(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The bytes that are hashed, per the encoding above.
pub fn encode(ingredients: &[Ingredient]) -> Vec<u8> {
    let mut bytes = DOMAIN.as_bytes().to_vec();
    for i in ingredients {
        bytes.extend_from_slice(i.kind.as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(i.value.len().to_string().as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(i.value.as_bytes());
        bytes.push(b'\n');
    }
    bytes
}

/// The definition hash of a list of ingredients.
pub fn hash_ingredients(ingredients: &[Ingredient]) -> Digest {
    Digest::sha256_of(&encode(ingredients))
}

/// The definition hash of a definition.
pub fn definition_hash(def: &EnvDefinition) -> Digest {
    hash_ingredients(&ingredients(def))
}

/// What `envaudit hash` reports. The JSON form is a contract (`schema_version`).
#[derive(Clone, Debug, Serialize)]
pub struct HashReport {
    /// The version of this JSON shape.
    pub schema_version: u32,
    /// The definition as given.
    pub path: std::path::PathBuf,
    /// Which format it was read as.
    pub kind: crate::definition::DefinitionKind,
    /// The definition hash: same hash, same build recipe.
    pub definition_hash: Digest,
    /// Azure ML SDK v2's client-side version of this environment given inline.
    pub azureml_v2_anonymous_version: Option<String>,
    /// Azure ML SDK v1's service image (from `--azureml-image-details`); never its password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azureml_v1_image: Option<crate::azureml::ImageDetails>,
    /// Every input of the hash, in the order hashed.
    pub ingredients: Vec<Ingredient>,
    /// Remarks for `--explain`: why Azure's version is missing, where Azure's identity and
    /// the definition hash disagree.
    pub notes: Vec<String>,
    /// What is wrong in the definition although it has an identity: the `invalid-spec`
    /// entries of its conda file. Absent from JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<crate::diag::Finding>,
}

/// Hash a definition and explain the result, next to Azure ML's identities of it.
pub fn report(
    def: &EnvDefinition,
    azureml_v2: crate::azureml::V2Identity,
    azureml_v1_image: Option<crate::azureml::ImageDetails>,
) -> HashReport {
    let ingredients = ingredients(def);
    let mut notes = Vec::new();
    if let Some(reason) = &azureml_v2.reason {
        notes.push(format!("no Azure ML v2 anonymous version: {reason}"));
    }
    notes.extend(azureml_v2.notes);
    HashReport {
        schema_version: 1,
        path: def.path.clone(),
        kind: def.kind,
        definition_hash: hash_ingredients(&ingredients),
        azureml_v2_anonymous_version: azureml_v2.version,
        azureml_v1_image,
        ingredients,
        notes,
        findings: def.invalid_spec_findings(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_length_prefixed() {
        let i = vec![Ingredient::new("pip-dependency", "a\nb", None)];
        assert_eq!(
            encode(&i),
            b"envaudit-definition-hash/1\npip-dependency 3\na\nb\n".to_vec()
        );
    }

    #[test]
    fn values_that_look_alike_when_concatenated_hash_differently() {
        let a = vec![
            Ingredient::new("pip-dependency", "ab", None),
            Ingredient::new("pip-dependency", "c", None),
        ];
        let b = vec![
            Ingredient::new("pip-dependency", "a", None),
            Ingredient::new("pip-dependency", "bc", None),
        ];
        assert_ne!(hash_ingredients(&a), hash_ingredients(&b));
    }
}
