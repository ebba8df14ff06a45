//! Azure ML SDK v1: `Environment.save_to_directory` folders and `azureml_environment.json`.
//!
//! A folder holds `azureml_environment.json`, `conda_dependencies.yml` and, for
//! `Environment.from_dockerfile`, `BaseDockerfile`. The JSON alone may carry the conda
//! specification inline (`python.condaDependencies`) and the Dockerfile content inline
//! (`docker.baseDockerfile`), as `Environment._serialize_to_dict` writes it.
//!
//! The registry password that `docker.baseImageRegistry` can hold is never read.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    BaseImage, BuildContext, DefinitionError, DefinitionKind, EnvDefinition, Platform,
    SparkPackage, conda, dockerfile, push_unique,
};
use crate::source::{Origin, ParseError, SourceFile};

/// The environment's JSON in a saved folder (`Environment._serialize_to_dict`).
pub const ENVIRONMENT_JSON: &str = "azureml_environment.json";
/// The conda file in a saved folder; it wins over the JSON's inline `condaDependencies`.
pub const CONDA_FILE: &str = "conda_dependencies.yml";
/// The Dockerfile in a saved folder, for `Environment.from_dockerfile`; it wins over the
/// JSON's inline `docker.baseDockerfile`.
pub const BASE_DOCKERFILE: &str = "BaseDockerfile";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvironmentWire<'a> {
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    environment_variables: Option<BTreeMap<String, String>>,
    #[serde(borrow, default)]
    python: Option<PythonWire<'a>>,
    #[serde(default)]
    docker: Option<DockerWire>,
    #[serde(default)]
    spark: Option<SparkWire>,
    #[serde(default)]
    r: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PythonWire<'a> {
    #[serde(default)]
    user_managed_dependencies: Option<bool>,
    #[serde(default)]
    interpreter_path: Option<String>,
    #[serde(borrow, default)]
    conda_dependencies: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerWire {
    base_image: Option<String>,
    base_dockerfile: Option<String>,
    build_context: Option<BuildContextWire>,
    #[serde(default)]
    base_image_registry: Option<RegistryWire>,
    #[serde(default)]
    platform: Option<PlatformWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuildContextWire {
    location: Option<String>,
    dockerfile_path: Option<String>,
}

/// Only the address: username and password are deliberately not deserialised.
#[derive(Deserialize)]
struct RegistryWire {
    address: Option<String>,
}

#[derive(Deserialize)]
struct PlatformWire {
    os: Option<String>,
    architecture: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SparkWire {
    #[serde(default)]
    repositories: Option<Vec<String>>,
    #[serde(default)]
    packages: Option<Vec<SparkPackageWire>>,
}

#[derive(Deserialize)]
struct SparkPackageWire {
    group: Option<String>,
    artifact: Option<String>,
    version: Option<String>,
}

/// Load a v1 folder or its `azureml_environment.json`.
pub fn load(path: &Path) -> Result<EnvDefinition, DefinitionError> {
    let (folder, json_path) = if path.is_dir() {
        (Some(path), path.join(ENVIRONMENT_JSON))
    } else {
        (None, path.to_path_buf())
    };
    let source = SourceFile::read(&json_path)?;
    let mut def = parse(&source, folder)?;
    def.path = path.to_path_buf();
    Ok(def)
}

/// Parse `azureml_environment.json` text; `folder` is the saved folder whose
/// `conda_dependencies.yml` and `BaseDockerfile` are read, if the JSON came from one.
pub fn parse(source: &SourceFile, folder: Option<&Path>) -> Result<EnvDefinition, DefinitionError> {
    let json_path = source.path.clone();
    let wire: EnvironmentWire<'_> =
        serde_json::from_str(&source.text).map_err(|e| json_error(source, &e))?;
    let path = folder.map_or(json_path.as_path(), |f| f);
    let mut def = EnvDefinition::empty(DefinitionKind::AzuremlV1, path);
    def.files.push(json_path.clone());
    def.metadata.name = wire.name;
    def.metadata.version = wire.version;
    def.environment_variables = wire.environment_variables.unwrap_or_default();

    // Conda: the folder's file wins, as `load_from_directory` does; else the inline mapping.
    let conda_path = folder.map(|f| f.join(CONDA_FILE));
    let python = wire.python;
    if let Some(p) = &python {
        def.user_managed = p.user_managed_dependencies.unwrap_or(false);
        def.interpreter_path.clone_from(&p.interpreter_path);
        if def.user_managed {
            def.whole_definition_line = key_line(source, "userManagedDependencies");
        }
    }
    if let Some(conda_path) = conda_path.filter(|p| p.is_file()) {
        def.add_conda_file(conda::load(&conda_path)?);
    } else if let Some(raw) = python.as_ref().and_then(|p| p.conda_dependencies)
        && raw.get() != "null"
    {
        let inline = embedded_source(source, raw.get());
        let mut file = conda::parse(&inline)?;
        file.files.clear();
        def.add_conda_file(file);
    }

    let docker = wire.docker;
    let registry = docker
        .as_ref()
        .and_then(|d| d.base_image_registry.as_ref())
        .and_then(|r| r.address.clone());
    let dockerfile_path = folder
        .map(|f| f.join(BASE_DOCKERFILE))
        .filter(|p| p.is_file());
    let dockerfile_source = if let Some(p) = dockerfile_path {
        Some(SourceFile::read(&p)?)
    } else {
        docker
            .as_ref()
            .and_then(|d| d.base_dockerfile.as_deref())
            .map(|text| {
                SourceFile::from_text(
                    format!("{}#docker.baseDockerfile", json_path.display()),
                    text,
                )
            })
    };
    if let Some(d) = &docker {
        if let Some(image) = d.base_image.as_deref().filter(|s| !s.trim().is_empty()) {
            let origin = find_origin(source, image);
            def.set_base_image(BaseImage::new(image, registry.as_deref(), origin)?);
        }
        if let Some(ctx) = &d.build_context
            && let Some(url) = &ctx.location
        {
            def.build_context = Some(BuildContext::Remote {
                url: url.clone(),
                dockerfile_path: ctx.dockerfile_path.clone(),
            });
        }
        if let Some(p) = &d.platform {
            def.platform = Platform {
                os: p.os.as_deref().unwrap_or("linux").to_lowercase(),
                architecture: p.architecture.as_deref().unwrap_or("amd64").to_lowercase(),
            };
        }
    }
    if let Some(src) = dockerfile_source {
        let parsed = dockerfile::parse(&src)?;
        if def.base_image.is_none()
            && let Some((base, origin)) = parsed.final_base(&def.build_args)
        {
            def.set_base_image(BaseImage::new(&base, registry.as_deref(), origin)?);
        }
        if src.path.is_file() {
            push_unique(&mut def.files, [src.path.clone()]);
        }
        def.dockerfile = Some(parsed);
    }

    if let Some(spark) = wire.spark {
        def.spark_repositories = spark.repositories.unwrap_or_default();
        def.spark_packages = spark
            .packages
            .unwrap_or_default()
            .into_iter()
            .map(|p| SparkPackage {
                group: p.group.unwrap_or_default(),
                artifact: p.artifact.unwrap_or_default(),
                version: p.version,
            })
            .collect();
    }
    def.r = wire.r.filter(|r| !r.is_null());
    Ok(def)
}

/// A source holding only `slice` (a sub-slice of `outer.text`) at its original place, every
/// other character blanked, so that a parser of the slice reports the outer file's lines.
pub(crate) fn embedded_source(outer: &SourceFile, slice: &str) -> SourceFile {
    let start = (slice.as_ptr() as usize).saturating_sub(outer.text.as_ptr() as usize);
    let end = start + slice.len();
    let text: String = outer
        .text
        .char_indices()
        .map(|(i, c)| {
            if (start..end).contains(&i) || c == '\n' {
                c
            } else {
                ' '
            }
        })
        .collect();
    SourceFile {
        path: outer.path.clone(),
        text,
    }
}

/// Where a JSON string value first appears (for pointing lint findings at it).
fn find_origin(source: &SourceFile, value: &str) -> Origin {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    match source.text.find(&quoted) {
        Some(off) => {
            let (line, column) = source.line_col(off + 1);
            source.origin(line, column)
        }
        None => source.origin(1, 1),
    }
}

/// The line of the first `"key"` in a JSON file (1 when absent).
fn key_line(source: &SourceFile, key: &str) -> u32 {
    let quoted = format!("\"{key}\"");
    source
        .text
        .find(&quoted)
        .map_or(1, |off| source.line_col(off).0)
}

fn json_error(source: &SourceFile, e: &serde_json::Error) -> ParseError {
    let line = u32::try_from(e.line()).unwrap_or(1).max(1);
    let column = u32::try_from(e.column()).unwrap_or(1).max(1);
    // serde_json appends " at line L column C"; the location is shown separately.
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    ParseError::at(source, line, column, msg)
}
