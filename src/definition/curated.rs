//! Azure ML curated environment asset folders, as in Azure/azureml-assets:
//! `asset.yaml` (name, version, which files are the spec and the extra config),
//! `spec.yaml` (a v2 environment YAML whose `build.path` is a release template),
//! `environment.yaml` (`image.context.dir` and `image.context.dockerfile`), and the build
//! context (`context/Dockerfile` with `context/conda_dependencies.yaml` or
//! `context/requirements.txt`).
//!
//! Release templates (`{{latest-image-tag}}`, `{{latest-pypi-version}}`, `{{asset.version}}`)
//! are kept as they are and reported as unresolved templates, not errors.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::yaml::{self, Text};
use super::{DefinitionError, DefinitionKind, EnvDefinition, azureml_v2, docker_build};
use crate::source::SourceFile;

#[derive(Deserialize)]
struct AssetWire {
    name: Option<Text>,
    version: Option<Text>,
    spec: Option<Text>,
    extra_config: Option<Text>,
}

#[derive(Deserialize)]
struct ExtraConfigWire {
    image: Option<ImageWire>,
}

#[derive(Deserialize)]
struct ImageWire {
    name: Option<Text>,
    context: Option<ContextWire>,
}

#[derive(Deserialize)]
struct ContextWire {
    dir: Option<Text>,
    dockerfile: Option<Text>,
}

/// Load an asset folder, or its `asset.yaml`.
pub fn load(path: &Path) -> Result<EnvDefinition, DefinitionError> {
    let dir: PathBuf = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let asset_path = dir.join("asset.yaml");
    let asset: Option<AssetWire> = if asset_path.is_file() {
        Some(yaml::from_source(&SourceFile::read(&asset_path)?)?)
    } else {
        None
    };
    let spec_name = asset
        .as_ref()
        .and_then(|a| a.spec.as_ref())
        .map_or_else(|| "spec.yaml".to_owned(), |t| t.0.clone());
    let config_name = asset
        .as_ref()
        .and_then(|a| a.extra_config.as_ref())
        .map_or_else(|| "environment.yaml".to_owned(), |t| t.0.clone());

    let spec_path = dir.join(&spec_name);
    let spec_source = SourceFile::read(&spec_path)?;
    let mut def = azureml_v2::from_source(&spec_source, &dir, DefinitionKind::Curated)?;
    def.path = path.to_path_buf();
    let mut files = Vec::new();
    if asset.is_some() {
        files.push(asset_path);
    }
    files.append(&mut def.files);

    let config_path = dir.join(&config_name);
    let config: Option<ExtraConfigWire> = if config_path.is_file() {
        files.push(config_path.clone());
        Some(yaml::from_source(&SourceFile::read(&config_path)?)?)
    } else {
        None
    };
    def.files = files;

    if let Some(a) = &asset {
        // asset.yaml's name is the real one; spec.yaml holds `{{asset.name}}`.
        if let Some(name) = &a.name {
            def.metadata.name = Some(name.0.clone());
        }
        if let Some(version) = &a.version {
            def.metadata.version = Some(version.0.clone());
        }
        def.templates
            .retain(|t| !t.text.contains("asset.name") && !t.text.contains("asset.version"));
    }

    let image = config.and_then(|c| c.image);
    let context = image.as_ref().and_then(|i| i.context.as_ref());
    if def.build_context.is_none() && def.base_image.is_none() {
        let context_dir = dir.join(
            context
                .and_then(|c| c.dir.as_ref())
                .map_or("context", |t| t.0.as_str()),
        );
        let dockerfile = context
            .and_then(|c| c.dockerfile.as_ref())
            .map(|t| t.0.clone());
        if context_dir.is_dir() {
            // The spec's `build.path` / `dockerfile_path` templates resolve to this folder.
            def.templates.retain(|t| {
                !t.text.contains("image.context.path") && !t.text.contains("image.dockerfile.path")
            });
            docker_build::apply_context(&mut def, &context_dir, dockerfile.as_deref())?;
        }
    }
    if let Some(name) = image.and_then(|i| i.name) {
        def.metadata
            .tags
            .entry("image.name".to_owned())
            .or_insert(name.0);
    }
    Ok(def)
}
