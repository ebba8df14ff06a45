//! Whether a path is an environment definition at all, for commands handed many paths
//! (`envaudit lint` under pre-commit, which passes every staged `*.yml`).
//!
//! [`super::detect`] answers "which format is this definition?" and errs when it cannot
//! tell. [`recognize`] answers the question before it: "is this a definition?", and says
//! why not when it is not, so that a caller can skip the path instead of failing on it.
//! A file it recognises is loaded as strictly as ever: a malformed definition stays an
//! error. The rules, in order:
//!
//! - **By name**: a Dockerfile (`Dockerfile`, `Dockerfile.*`, `*.dockerfile`,
//!   `BaseDockerfile`), `azureml_environment.json`, and pip requirements named so
//!   (`*requirements*` or `*constraints*` with no extension or `.txt`/`.in`, `*.pip`, or
//!   any `.txt`/`.in` in a folder named `requirements`) are definitions whatever they hold. An `asset.yaml` is a curated
//!   environment when its `type` is `environment` (azureml-assets also has model and
//!   component assets).
//! - **YAML** (`.yml`, `.yaml`) by its top-level keys, read from the parsed document or,
//!   when it does not parse, from the lines that start a top-level key (so a malformed
//!   definition is still recognised, and then reported where it breaks):
//!   - an Azure ML `$schema` (`azuremlschemas`): an `environment` schema is an Azure ML
//!     environment; any other (jobs, components, deployments) is a definition only when
//!     its top-level `environment:` is written inline;
//!   - a conda file: `dependencies:` is a list of specs and `pip:` mappings, or every
//!     top-level key is one a conda file (`name`, `channels`, `dependencies`, `prefix`,
//!     `variables`, conda-lock's `platforms`) or an Azure ML environment has, and
//!     `dependencies` or `channels` is among them;
//!   - an Azure ML environment: every top-level key is one of those, and `image` (an
//!     image reference, not a mapping), `build`, `conda_file` or `docker` is among them;
//!   - an Azure ML job or component: a top-level `environment:` mapping with `image`,
//!     `build` or `conda_file`; one that names a registered environment
//!     (`environment: azureml:NAME@latest`) holds no definition to lint;
//!   - anything else (CI workflows, Kubernetes manifests, Helm charts, compose files,
//!     conda-build recipes, ...) is not a definition.
//! - **JSON** (`.json`): an Azure ML SDK v1 environment when its top-level `python` or
//!   `docker` is an object (or, when it does not parse, when it names a key only v1 uses).
//! - **Other text** (`.txt`, `.in` not named as requirements, and any other extension on a
//!   requirements name: `requirements.lock`, `requirements.md`): pip requirements only when
//!   every line parses as one and at least one line says something (`LICENSE.txt`,
//!   `CMakeLists.txt`, prose and code are not).
//! - A folder is a definition when [`super::detect`] can tell its kind.
//! - Any other file (`.py`, `.md`, `.toml`, ...) is not a definition.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{DefinitionError, DefinitionKind, requirements, yaml};
use crate::source::{ReadError, SourceFile};

/// What [`recognize`] found a path to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recognized {
    /// An environment definition of this kind: load it with [`super::load`].
    Definition(DefinitionKind),
    /// Not an environment definition, and why.
    NotDefinition(NotDefinition),
}

/// Why a path is not an environment definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum NotDefinition {
    /// A folder with no definition file in it.
    EmptyFolder,
    /// A kind of file envaudit does not read (`.py`, `.md`, `.toml`, ...).
    OtherFileType,
    /// A text file not named like requirements, with a line pip's grammar rejects.
    NotRequirements {
        /// The first line that does not parse.
        line: u32,
    },
    /// A text file not named like requirements, with nothing in it but blanks and comments.
    NoRequirements,
    /// A YAML file with none of the shapes of a conda file or an Azure ML environment or job.
    OtherYaml,
    /// An Azure ML YAML whose environment is a registered one, named by reference.
    RegisteredEnvironment {
        /// The reference as written, e.g. `azureml:AzureML-sklearn-1.5@latest`.
        reference: String,
    },
    /// An Azure ML YAML of another kind (model, data, compute, pipeline, ...) with no
    /// inline `environment:`.
    NoInlineEnvironment,
    /// An azureml-assets `asset.yaml` of another type (model, component, ...).
    OtherAsset {
        /// Its `type`.
        asset_type: String,
    },
    /// A JSON file that is not an Azure ML SDK v1 environment.
    OtherJson,
    /// A file larger than any definition envaudit reads.
    TooLarge,
}

impl fmt::Display for NotDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotDefinition::EmptyFolder => f.write_str("a folder with no environment definition"),
            NotDefinition::OtherFileType => f.write_str("not a kind of file envaudit reads"),
            NotDefinition::NotRequirements { line } => write!(
                f,
                "line {line} is not a pip requirement, and the name does not say `requirements`"
            ),
            NotDefinition::NoRequirements => f.write_str("a text file with no requirement in it"),
            NotDefinition::OtherYaml => f.write_str(
                "YAML that is neither a conda file nor an Azure ML environment, job or component",
            ),
            NotDefinition::RegisteredEnvironment { reference } => write!(
                f,
                "uses the registered environment `{reference}`; lint that environment's definition"
            ),
            NotDefinition::NoInlineEnvironment => {
                f.write_str("an Azure ML YAML with no inline `environment:`")
            }
            NotDefinition::OtherAsset { asset_type } => {
                write!(f, "an Azure ML `{asset_type}` asset, not an environment")
            }
            NotDefinition::OtherJson => f.write_str("JSON that is not an Azure ML v1 environment"),
            NotDefinition::TooLarge => f.write_str("larger than any definition file"),
        }
    }
}

/// Keys conda reads from an environment file (conda-lock adds `platforms`).
const CONDA_KEYS: &[&str] = &[
    "name",
    "channels",
    "dependencies",
    "prefix",
    "variables",
    "platforms",
];

/// Top-level keys of the Azure ML environment schema (and the pre-GA `docker`).
const ENVIRONMENT_KEYS: &[&str] = &[
    "$schema",
    "name",
    "version",
    "description",
    "tags",
    "properties",
    "image",
    "build",
    "conda_file",
    "os_type",
    "inference_config",
    "datastore",
    "intellectual_property",
    "id",
    "docker",
];

/// Keys only an Azure ML v1 environment JSON has, to recognise one that does not parse.
const V1_MARKERS: &[&str] = &[
    "\"condaDependencies\"",
    "\"userManagedDependencies\"",
    "\"baseImage\"",
    "\"baseDockerfile\"",
];

/// Whether `path` is an environment definition, and of which kind; when it is not, why.
///
/// Errors only when the path does not exist or cannot be read; what a recognised
/// definition holds is checked when it is loaded.
pub fn recognize(path: &Path) -> Result<Recognized, DefinitionError> {
    use Recognized::{Definition, NotDefinition as Not};
    if !path.exists() {
        return Err(DefinitionError::NotFound {
            path: path.to_path_buf(),
        });
    }
    if path.is_dir() {
        return Ok(match super::detect(path) {
            Ok(kind) => Definition(kind),
            Err(_) => Not(NotDefinition::EmptyFolder),
        });
    }
    let class = by_name(path);
    let text = match class {
        ByName::Kind(kind) => return Ok(Definition(kind)),
        ByName::Other => return Ok(Not(NotDefinition::OtherFileType)),
        ByName::Yaml { .. } | ByName::Json | ByName::Text => match sniff_text(path)? {
            Some(text) => text,
            None => return Ok(Not(NotDefinition::TooLarge)),
        },
    };
    Ok(recognize_text(path, &text))
}

/// What [`recognize`] makes of a file at `path` that holds `text`, without reading it (a
/// text file's `-r` includes are still read, relative to `path`).
pub fn recognize_text(path: &Path, text: &str) -> Recognized {
    match by_name(path) {
        ByName::Kind(kind) => Recognized::Definition(kind),
        ByName::Other => Recognized::NotDefinition(NotDefinition::OtherFileType),
        ByName::Yaml { asset: true } => asset(text),
        ByName::Yaml { asset: false } => yaml_file(text),
        ByName::Json => json_file(text),
        ByName::Text => text_file(path, text),
    }
}

/// What a file's name alone says.
enum ByName {
    /// A definition of this kind whatever it holds.
    Kind(DefinitionKind),
    /// YAML, judged by its keys; `asset` for an azureml-assets `asset.yaml`.
    Yaml { asset: bool },
    /// JSON, judged by its keys.
    Json,
    /// Text not named as requirements, judged by its lines.
    Text,
    /// No kind of file envaudit reads.
    Other,
}

fn by_name(path: &Path) -> ByName {
    let (file_name, ext) = super::name_and_extension(path);
    let in_requirements_folder = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d.eq_ignore_ascii_case("requirements"));
    if super::is_dockerfile_name(&file_name, &ext) && ext != "dockerignore" {
        return ByName::Kind(DefinitionKind::Dockerfile);
    }
    if file_name == super::azureml_v1::ENVIRONMENT_JSON {
        return ByName::Kind(DefinitionKind::AzuremlV1);
    }
    let named_requirements = file_name.contains("requirements")
        || file_name.contains("constraints")
        || (in_requirements_folder && matches!(ext.as_str(), "txt" | "in"));
    match ext.as_str() {
        "yml" | "yaml" => ByName::Yaml {
            asset: matches!(file_name.as_str(), "asset.yaml" | "asset.yml"),
        },
        "json" => ByName::Json,
        "pip" => ByName::Kind(DefinitionKind::Requirements),
        "txt" | "in" | "" if named_requirements => ByName::Kind(DefinitionKind::Requirements),
        // `requirements.lock` may be; `requirements.md` or `test_constraints.py` is not.
        _ if named_requirements => ByName::Text,
        "txt" | "in" => ByName::Text,
        _ => ByName::Other,
    }
}

/// The file's text for a look at its shape: decoded as a definition is, or, when it is not
/// valid text, with the bad bytes replaced (a definition recognised so is then refused by
/// its loader, with the place of the bad byte). `None` when the file is too large.
fn sniff_text(path: &Path) -> Result<Option<String>, DefinitionError> {
    match SourceFile::read(path) {
        Ok(source) => Ok(Some(source.text)),
        Err(ReadError::TooLarge { .. }) => Ok(None),
        Err(ReadError::Decode { .. }) => {
            let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            Ok(Some(String::from_utf8_lossy(&bytes).replace('\0', " ")))
        }
        Err(e) => Err(e.into()),
    }
}

/// The top-level keys of a YAML text, from the lines that start one (what is left to go
/// on when the document does not parse).
fn line_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for line in text.lines() {
        if line.starts_with(|c: char| c.is_whitespace() || c == '#' || c == '-') {
            continue;
        }
        if let Some((k, _)) = line.split_once(':') {
            keys.push(k.trim().trim_matches(['"', '\'']).to_owned());
        }
    }
    keys
}

/// The value of a top-level `$schema:` line, for a document that does not parse.
fn line_schema(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim().trim_matches(['"', '\'']) == "$schema")
            .then(|| v.trim().trim_matches(['"', '\'']).to_owned())
    })
}

/// The file name of an Azure ML schema URL (`commandJob.schema.json`), lowercased, when
/// `schema` is one.
fn azureml_schema(schema: &str) -> Option<String> {
    let lower = schema.to_lowercase();
    lower
        .contains("azuremlschemas")
        .then(|| lower.rsplit('/').next().unwrap_or_default().to_owned())
}

fn yaml_file(text: &str) -> Recognized {
    use Recognized::{Definition, NotDefinition as Not};
    let source = SourceFile::from_text("", text);
    let parsed: Option<Value> = yaml::from_source(&source).ok();
    let map = match &parsed {
        Some(Value::Object(map)) => Some(map),
        // A list, a scalar or an empty document: no definition is one.
        Some(_) => return Not(NotDefinition::OtherYaml),
        None => None,
    };
    let keys: Vec<String> = match map {
        Some(map) => map.keys().cloned().collect(),
        None => line_keys(text),
    };
    let has = |k: &str| keys.iter().any(|x| x == k);
    let get = |k: &str| map.and_then(|m| m.get(k));

    let schema = match map {
        Some(m) => m.get("$schema").and_then(Value::as_str).map(str::to_owned),
        None => line_schema(text),
    };
    if let Some(schema) = schema.as_deref().and_then(azureml_schema) {
        if schema.starts_with("environment") {
            return Definition(DefinitionKind::AzuremlV2);
        }
        return inline_environment(map.is_some(), get("environment"), has("environment"))
            .unwrap_or(Not(NotDefinition::NoInlineEnvironment));
    }

    let conda_list = get("dependencies")
        .and_then(Value::as_array)
        .is_some_and(|items| {
            items.iter().all(|item| match item {
                Value::Object(m) => m.contains_key("pip"),
                Value::Array(_) => false,
                _ => true,
            })
        });
    // Every key is one a conda file or an Azure ML environment has (Azure ML refuses a
    // mix, and so does loading it; it is a definition all the same).
    let definition_keys = keys
        .iter()
        .all(|k| CONDA_KEYS.contains(&k.as_str()) || ENVIRONMENT_KEYS.contains(&k.as_str()));
    if conda_list || (definition_keys && (has("dependencies") || has("channels"))) {
        return Definition(DefinitionKind::Conda);
    }

    let env_key = has("image") || has("build") || has("conda_file") || has("docker");
    // A curated asset's extra config has `image:` as a mapping of its own.
    let image_is_mapping = get("image").is_some_and(Value::is_object);
    if definition_keys && env_key && (has("build") || !image_is_mapping) {
        return Definition(DefinitionKind::AzuremlV2);
    }

    if let Some(found) = inline_environment(map.is_some(), get("environment"), has("environment")) {
        // Without a schema, only a job's or component's `command` vouches for a reference.
        return match found {
            Not(NotDefinition::RegisteredEnvironment { .. }) if !has("command") => {
                Not(NotDefinition::OtherYaml)
            }
            Not(NotDefinition::NoInlineEnvironment) => Not(NotDefinition::OtherYaml),
            other => other,
        };
    }

    if has("type") && has("spec") && get("type").and_then(Value::as_str) == Some("environment") {
        return Definition(DefinitionKind::Curated);
    }
    Not(NotDefinition::OtherYaml)
}

/// What an Azure ML YAML's top-level `environment:` makes of it: a definition when it is
/// written inline, a registered environment's reference, or nothing to read. `None` when
/// there is no `environment:` key.
fn inline_environment(parsed: bool, value: Option<&Value>, has_key: bool) -> Option<Recognized> {
    use Recognized::{Definition, NotDefinition as Not};
    if !has_key {
        return None;
    }
    if !parsed {
        // It does not parse: let the job reader say where.
        return Some(Definition(DefinitionKind::AzuremlJob));
    }
    Some(match value {
        Some(Value::Object(env))
            if ["image", "build", "conda_file", "docker"]
                .iter()
                .any(|k| env.contains_key(*k)) =>
        {
            Definition(DefinitionKind::AzuremlJob)
        }
        Some(Value::String(reference)) => Not(NotDefinition::RegisteredEnvironment {
            reference: reference.clone(),
        }),
        _ => Not(NotDefinition::NoInlineEnvironment),
    })
}

fn asset(text: &str) -> Recognized {
    let source = SourceFile::from_text("", text);
    let asset_type = match yaml::from_source::<Value>(&source) {
        Ok(v) => v.get("type").and_then(Value::as_str).map(str::to_owned),
        // Let the curated reader say where it breaks.
        Err(_) => None,
    };
    match asset_type {
        Some(t) if t != "environment" => {
            Recognized::NotDefinition(NotDefinition::OtherAsset { asset_type: t })
        }
        _ => Recognized::Definition(DefinitionKind::Curated),
    }
}

fn json_file(text: &str) -> Recognized {
    let v1 = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => ["python", "docker"]
            .iter()
            .any(|k| map.get(*k).is_some_and(Value::is_object)),
        Ok(_) => false,
        Err(_) => V1_MARKERS.iter().any(|m| text.contains(m)),
    };
    if v1 {
        Recognized::Definition(DefinitionKind::AzuremlV1)
    } else {
        Recognized::NotDefinition(NotDefinition::OtherJson)
    }
}

fn text_file(path: &Path, text: &str) -> Recognized {
    let source = SourceFile::from_text(path, text);
    match requirements::parse(&source) {
        Ok(pip) => {
            if pip.requirements.is_empty()
                && pip.constraints.is_empty()
                && pip.options.is_empty()
                && pip.includes.is_empty()
            {
                Recognized::NotDefinition(NotDefinition::NoRequirements)
            } else {
                Recognized::Definition(DefinitionKind::Requirements)
            }
        }
        Err(DefinitionError::Parse(e)) if e.path == source.path => {
            Recognized::NotDefinition(NotDefinition::NotRequirements { line: e.line })
        }
        // Its own lines parse; an include it names is what fails: the loader says so.
        Err(_) => Recognized::Definition(DefinitionKind::Requirements),
    }
}

/// A path with what [`recognize`] found it to be not, for reports that list skipped paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The path as given.
    pub path: PathBuf,
    /// Why it is not a definition.
    #[serde(flatten)]
    pub why: NotDefinition,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `recognize` makes of `text` saved as `name` in a fresh folder.
    fn of(name: &str, text: &str) -> Recognized {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        recognize(&path).unwrap()
    }

    fn kind(name: &str, text: &str) -> DefinitionKind {
        match of(name, text) {
            Recognized::Definition(k) => k,
            other @ Recognized::NotDefinition(_) => panic!("{name}: {other:?}"),
        }
    }

    fn skipped(name: &str, text: &str) -> NotDefinition {
        match of(name, text) {
            Recognized::NotDefinition(why) => why,
            other @ Recognized::Definition(_) => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn ci_and_infrastructure_yaml_is_not_a_definition() {
        let cases = [
            (
                ".github/workflows/ci.yml",
                "name: CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    environment: prod\n    steps:\n      - run: make\n",
            ),
            (
                ".gitlab-ci.yml",
                "image: python:3.11\nstages: [test]\ntest:\n  script: [pytest]\n",
            ),
            (
                "azure-pipelines.yml",
                "trigger: [main]\npool:\n  vmImage: ubuntu-latest\njobs:\n  - job: a\n    steps:\n      - script: make\n",
            ),
            (
                "docker-compose.yml",
                "services:\n  web:\n    image: nginx:1.25\n    build: .\n",
            ),
            (
                "deploy.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n    - image: nginx\n---\napiVersion: v1\nkind: Service\n",
            ),
            (
                "Chart.yaml",
                "apiVersion: v2\nname: x\nversion: 1.0.0\ndependencies:\n  - name: redis\n    version: 1.2.3\n",
            ),
            (
                "recipe/meta.yaml",
                "{% set v = '1.0' %}\npackage:\n  name: x\n  version: {{ v }}\nbuild:\n  number: 0\nrequirements:\n  host: [python]\n",
            ),
            (
                "pubspec.yaml",
                "name: x\nenvironment:\n  sdk: '>=3.0.0'\ndependencies:\n  http: ^1.0.0\n",
            ),
            (
                ".pre-commit-config.yaml",
                "repos:\n  - repo: local\n    hooks: []\n",
            ),
            ("mkdocs.yml", "site_name: x\nnav:\n  - index.md\n"),
            ("playbook.yml", "- hosts: all\n  tasks: []\n"),
            ("empty.yml", ""),
            (
                "serverless.yml",
                "service: x\nprovider:\n  environment:\n    A: b\n",
            ),
        ];
        for (name, text) in cases {
            assert_eq!(skipped(name, text), NotDefinition::OtherYaml, "{name}");
        }
    }

    #[test]
    fn yaml_definitions_are_recognised_by_their_keys() {
        use DefinitionKind::*;
        let cases = [
            (
                "environment.yml",
                "name: x\nchannels: [conda-forge]\ndependencies:\n  - numpy\n  - pip:\n    - torch\n",
                Conda,
            ),
            // conda-lock's `platforms:` and other keys conda ignores.
            (
                "envs/gpu.yml",
                "name: x\nplatforms: [linux-64]\ncategory: main\ndependencies:\n  - numpy\n",
                Conda,
            ),
            ("conda.yml", "channels:\n  - defaults\n", Conda),
            (
                "env.yml",
                "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\nname: x\nimage: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n",
                AzuremlV2,
            ),
            (
                "docker-env.yml",
                "name: x\nversion: 1\nbuild:\n  path: ctx\n",
                AzuremlV2,
            ),
            (
                "image.yml",
                "image: python:3.11\nconda_file: conda.yml\n",
                AzuremlV2,
            ),
            (
                "train.yml",
                "command: python train.py\nenvironment:\n  image: python:3.11\n",
                AzuremlJob,
            ),
            (
                "deployment.yml",
                "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\nname: blue\nenvironment:\n  conda_file: conda.yml\n  image: mcr.microsoft.com/azureml/minimal\n",
                AzuremlJob,
            ),
        ];
        for (name, text, expected) in cases {
            assert_eq!(kind(name, text), expected, "{name}");
        }
    }

    #[test]
    fn malformed_yaml_with_a_definitions_keys_is_still_a_definition() {
        // Recognised from its key lines, so that loading it reports where it breaks.
        assert_eq!(
            kind("environment.yml", "name: x\ndependencies:\n  - [unclosed\n"),
            DefinitionKind::Conda
        );
        assert_eq!(
            kind(
                "job.yml",
                "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ncommand: x\nenvironment: {image: [\n"
            ),
            DefinitionKind::AzuremlJob
        );
        // Malformed YAML with other keys is skipped.
        assert_eq!(
            skipped("values.yaml", "replicas: 2\nimage: {{ .Values.image }}\n"),
            NotDefinition::OtherYaml
        );
    }

    #[test]
    fn azureml_yaml_without_an_inline_environment_holds_nothing_to_lint() {
        assert_eq!(
            skipped(
                "job.yml",
                "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ncommand: python train.py\nenvironment: azureml:AzureML-sklearn-1.5@latest\n"
            ),
            NotDefinition::RegisteredEnvironment {
                reference: "azureml:AzureML-sklearn-1.5@latest".into()
            }
        );
        assert_eq!(
            skipped(
                "pipeline.yml",
                "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\ntype: pipeline\njobs:\n  a:\n    type: command\n"
            ),
            NotDefinition::NoInlineEnvironment
        );
        assert_eq!(
            skipped(
                "model.yml",
                "$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json\nname: m\npath: model.pkl\n"
            ),
            NotDefinition::NoInlineEnvironment
        );
        assert_eq!(
            skipped("asset.yaml", "name: m\ntype: model\nspec: spec.yaml\n"),
            NotDefinition::OtherAsset {
                asset_type: "model".into()
            }
        );
        assert_eq!(
            kind(
                "asset.yaml",
                "name: e\ntype: environment\nspec: spec.yaml\n"
            ),
            DefinitionKind::Curated
        );
        // A curated asset's extra config (`image:` is a mapping), not a definition alone.
        assert_eq!(
            skipped(
                "environment.yaml",
                "image:\n  name: azureml/curated/x\n  context:\n    dir: context\n    dockerfile: Dockerfile\n"
            ),
            NotDefinition::OtherYaml
        );
    }

    #[test]
    fn text_files_are_requirements_by_name_or_when_every_line_is_one() {
        use DefinitionKind::Requirements;
        // Named so: a definition whatever it holds (a malformed one is an error on load).
        assert_eq!(kind("requirements-dev.txt", "pandas>=>1\n"), Requirements);
        assert_eq!(kind("dev-constraints.txt", "x==1\n"), Requirements);
        assert_eq!(kind("requirements/base.in", "numpy\n"), Requirements);
        assert_eq!(kind("gpu.pip", "torch\n"), Requirements);
        // Not named so: only when it reads as requirements.
        assert_eq!(
            kind("pinned.txt", "# pins\nnumpy==1.26.4\n--pre\n"),
            Requirements
        );
        assert_eq!(
            skipped("LICENSE.txt", "MIT License\n\nCopyright (c) 2024\n"),
            NotDefinition::NotRequirements { line: 1 }
        );
        assert_eq!(
            skipped(
                "CMakeLists.txt",
                "# build\ncmake_minimum_required(VERSION 3.10)\n"
            ),
            NotDefinition::NotRequirements { line: 2 }
        );
        assert_eq!(
            skipped("MANIFEST.in", "include README.md\n"),
            NotDefinition::NotRequirements { line: 1 }
        );
        assert_eq!(
            skipped("notes.txt", "# nothing\n\n"),
            NotDefinition::NoRequirements
        );
        // A requirements name with another extension: by its content.
        assert_eq!(kind("requirements.lock", "numpy==1.26.4\n"), Requirements);
        assert_eq!(
            skipped(
                "docs/requirements.md",
                "# Requirements\n\nPython 3.10 or newer.\n"
            ),
            NotDefinition::NotRequirements { line: 3 }
        );
        assert_eq!(
            skipped("tests/test_constraints.py", "import os\n"),
            NotDefinition::NotRequirements { line: 1 }
        );
    }

    #[test]
    fn json_is_a_definition_only_as_an_azureml_v1_environment() {
        assert_eq!(
            kind(
                "env.json",
                r#"{"name": "x", "python": {"userManagedDependencies": false}}"#
            ),
            DefinitionKind::AzuremlV1
        );
        assert_eq!(
            kind("azureml_environment.json", "not even json"),
            DefinitionKind::AzuremlV1
        );
        // Broken, but with keys only v1 has: the loader says where it breaks.
        assert_eq!(
            kind("env.json", r#"{"docker": {"baseImage": "x",}"#),
            DefinitionKind::AzuremlV1
        );
        for (name, text) in [
            (
                "package.json",
                r#"{"name": "x", "dependencies": {"a": "1"}}"#,
            ),
            ("tsconfig.json", "{ // comments\n \"compilerOptions\": {} }"),
            ("list.json", "[1, 2]"),
            (
                ".devcontainer/devcontainer.json",
                r#"{"image": "python:3", "build": {"dockerfile": "Dockerfile"}}"#,
            ),
        ] {
            assert_eq!(skipped(name, text), NotDefinition::OtherJson, "{name}");
        }
    }

    #[test]
    fn other_files_and_folders_without_a_definition_are_skipped() {
        assert_eq!(kind("Dockerfile", "FROM x\n"), DefinitionKind::Dockerfile);
        assert_eq!(
            kind("gpu.Dockerfile", "FROM x\n"),
            DefinitionKind::Dockerfile
        );
        assert_eq!(
            skipped("Dockerfile.dockerignore", "*.pyc\n"),
            NotDefinition::OtherFileType
        );
        for name in ["train.py", "README.md", "pyproject.toml", "envaudit.lock"] {
            assert_eq!(skipped(name, "x\n"), NotDefinition::OtherFileType, "{name}");
        }
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            recognize(dir.path()).unwrap(),
            Recognized::NotDefinition(NotDefinition::EmptyFolder)
        );
        assert!(matches!(
            recognize(&dir.path().join("missing.yml")),
            Err(DefinitionError::NotFound { .. })
        ));
    }

    #[test]
    fn a_file_that_is_not_text_is_judged_by_what_can_be_read() {
        // Invalid UTF-8 in a conda file: still a definition, so the loader reports the byte.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("environment.yml");
        std::fs::write(&p, b"name: x\ndependencies:\n  - nu\xffmpy\n").unwrap();
        assert_eq!(
            recognize(&p).unwrap(),
            Recognized::Definition(DefinitionKind::Conda)
        );
        let p = dir.path().join("blob.yml");
        std::fs::write(&p, b"\x00\x01\xff\xfe binary").unwrap();
        assert_eq!(
            recognize(&p).unwrap(),
            Recognized::NotDefinition(NotDefinition::OtherYaml)
        );
    }
}
