//! Azure ML SDK v2 / CLI v2 environment YAML, and the inline `environment:` of a job YAML.
//!
//! Keys read: `name`, `version`, `description`, `tags`, `image`, `conda_file` (a path
//! relative to the YAML, or an inline mapping), `build.path` (local folder, or a URL that
//! is recorded and not fetched) with `build.dockerfile_path`, `inference_config`, `os_type`.
//! The pre-GA (2021) syntax `docker: {image: ...}` and `conda_file: file:PATH` is read too;
//! lint reports it as `legacy-syntax`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::yaml::{self, StringOrMapping, Text};
use super::{
    BaseImage, BuildContext, DefinitionError, DefinitionKind, EnvDefinition, Template, conda,
    docker_build, pin,
};
use crate::source::{ParseError, SourceFile};

#[derive(Deserialize)]
struct EnvironmentWire {
    name: Option<Spanned<Text>>,
    version: Option<Spanned<Text>>,
    description: Option<Text>,
    tags: Option<BTreeMap<String, Text>>,
    image: Option<Spanned<Text>>,
    conda_file: Option<Spanned<StringOrMapping>>,
    build: Option<BuildWire>,
    os_type: Option<Text>,
    inference_config: Option<Spanned<serde_json::Value>>,
    /// Pre-GA syntax.
    docker: Option<LegacyDockerWire>,
}

#[derive(Deserialize)]
struct BuildWire {
    path: Option<Spanned<Text>>,
    dockerfile_path: Option<Text>,
}

#[derive(Deserialize)]
struct LegacyDockerWire {
    image: Option<Spanned<Text>>,
    build: Option<BuildWire>,
}

#[derive(Deserialize)]
struct JobWire {
    environment: Option<Spanned<StringOrMapping>>,
}

/// Load an environment YAML file.
pub fn load(path: &Path) -> Result<EnvDefinition, DefinitionError> {
    let source = SourceFile::read(path)?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut def = from_source(&source, &base_dir, DefinitionKind::AzuremlV2)?;
    def.path = path.to_path_buf();
    Ok(def)
}

/// Load the inline `environment:` block of a job YAML.
pub fn load_job(path: &Path) -> Result<EnvDefinition, DefinitionError> {
    let source = SourceFile::read(path)?;
    let job: JobWire = yaml::from_source(&source)?;
    let Some(env) = job.environment else {
        return Err(
            ParseError::at(&source, 1, 1, "job has no top-level `environment:` to read").into(),
        );
    };
    let (line, column) = yaml::location(env.referenced);
    match env.value {
        StringOrMapping::String(reference) => Err(ParseError::at(
            &source,
            line,
            column,
            format!(
                "`environment: {reference}` refers to a registered environment; point envaudit at that environment's definition file instead"
            ),
        )
        .into()),
        StringOrMapping::Mapping => {
            let block = yaml::block_at(&source, line, column);
            let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut def = from_source(&block, &base_dir, DefinitionKind::AzuremlJob)?;
            def.path = path.to_path_buf();
            // Azure drops a name given to an inline environment.
            def.metadata.name = None;
            def.metadata.version = None;
            Ok(def)
        }
    }
}

/// Build a definition from environment YAML text; relative paths resolve against `base_dir`.
pub fn from_source(
    source: &SourceFile,
    base_dir: &Path,
    kind: DefinitionKind,
) -> Result<EnvDefinition, DefinitionError> {
    let wire: EnvironmentWire = yaml::from_source(source)?;
    let mut def = EnvDefinition::empty(kind, &source.path);
    def.files.push(source.path.clone());
    for field in [&wire.name, &wire.version].into_iter().flatten() {
        if pin::has_template(&field.value.0) {
            let (line, column) = yaml::location(field.referenced);
            def.templates.push(Template {
                text: field.value.0.clone(),
                origin: source.origin(line, column),
            });
        }
    }
    def.metadata.name = wire.name.map(|t| t.value.0);
    def.metadata.version = wire.version.map(|t| t.value.0);
    def.metadata.description = wire.description.map(|t| t.0);
    def.metadata.tags = wire
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    if let Some(os) = wire.os_type {
        def.platform.os = os.0.to_lowercase();
    }
    if let Some(ic) = wire.inference_config.filter(|v| !v.value.is_null()) {
        // The key is on the line above a block mapping's first entry, or on the same line.
        let (line, _) = yaml::location(ic.referenced);
        def.whole_definition_line = line;
        def.inference_config = Some(ic.value);
    }

    let mut legacy = false;
    let (image, build) = match wire.docker {
        Some(d) => {
            legacy = true;
            (wire.image.or(d.image), wire.build.or(d.build))
        }
        None => (wire.image, wire.build),
    };
    if let Some(image) = image {
        let (line, column) = yaml::location(image.referenced);
        let origin = source.origin(line, column);
        def.set_base_image(BaseImage::new(&image.value.0, None, origin)?);
    }
    if let Some(conda_ref) = wire.conda_file {
        let (line, column) = yaml::location(conda_ref.referenced);
        match conda_ref.value {
            StringOrMapping::String(p) => {
                let rel = match p.strip_prefix("file:") {
                    Some(rest) => {
                        legacy = true;
                        rest
                    }
                    None => p.as_str(),
                };
                let conda_path = base_dir.join(rel);
                let file = conda::load(&conda_path)
                    .map_err(|e| e.referenced_from(&source.origin(line, column), &conda_path))?;
                def.add_conda_file(file);
            }
            StringOrMapping::Mapping => {
                let block = yaml::block_at(source, line, column);
                let mut file = conda::parse(&block)?;
                file.files.clear();
                def.add_conda_file(file);
            }
        }
    }
    if let Some(build) = build {
        let dockerfile_path = build.dockerfile_path.map(|t| t.0);
        if let Some(p) = build.path {
            let (line, column) = yaml::location(p.referenced);
            let text = p.value.0;
            if pin::has_template(&text) {
                def.templates.push(Template {
                    text: text.clone(),
                    origin: source.origin(line, column),
                });
            } else if is_url(&text) {
                def.build_context = Some(BuildContext::Remote {
                    url: text,
                    dockerfile_path,
                });
            } else {
                let dir = base_dir.join(&text);
                if !dir.is_dir() {
                    return Err(DefinitionError::MissingReference {
                        origin: source.origin(line, column),
                        target: dir,
                        source: std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "build context folder not found",
                        ),
                    });
                }
                docker_build::apply_context(&mut def, &dir, dockerfile_path.as_deref())?;
            }
        }
    }
    if legacy {
        let line = find_line(source, "docker:").min(find_line(source, "file:"));
        def.legacy_syntax = Some(source.origin(line, 1));
    }
    Ok(def)
}

fn is_url(s: &str) -> bool {
    s.contains("://") || s.starts_with("git@") || s.starts_with("azureml:")
}

fn find_line(source: &SourceFile, needle: &str) -> u32 {
    source
        .text
        .lines()
        .position(|l| l.contains(needle))
        .map_or(u32::MAX, |i| u32::try_from(i + 1).unwrap_or(u32::MAX))
}
