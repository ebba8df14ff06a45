//! The library's enums as command-line values. Only the CLI knows clap, so the library types
//! get their `ValueEnum` here; the names are the types' own string forms.

use clap::ValueEnum;
use clap::builder::PossibleValue;

use crate::build::Builder;
use crate::definition::DefinitionKind;
use crate::render::{Format, GraphFormat};

impl ValueEnum for DefinitionKind {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            DefinitionKind::AzuremlV1,
            DefinitionKind::AzuremlV2,
            DefinitionKind::AzuremlJob,
            DefinitionKind::Curated,
            DefinitionKind::Conda,
            DefinitionKind::Requirements,
            DefinitionKind::Dockerfile,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let help = match self {
            DefinitionKind::AzuremlV1 => {
                "Azure ML SDK v1 folder (`Environment.save_to_directory`) or its JSON alone"
            }
            DefinitionKind::AzuremlV2 => "Azure ML SDK v2 / CLI v2 environment YAML",
            DefinitionKind::AzuremlJob => "The inline `environment:` block of an Azure ML job YAML",
            DefinitionKind::Curated => {
                "An Azure ML curated environment asset folder (`asset.yaml`, `spec.yaml`, ...)"
            }
            DefinitionKind::Conda => "A conda environment file",
            DefinitionKind::Requirements => "A pip requirements file",
            DefinitionKind::Dockerfile => "A Dockerfile (its folder is the build context)",
        };
        Some(PossibleValue::new(self.as_str()).help(help))
    }
}

impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &[Format::Table, Format::Json, Format::Markdown]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Markdown => "markdown",
        }))
    }
}

impl ValueEnum for GraphFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[GraphFormat::Tree, GraphFormat::Dot, GraphFormat::Json]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            GraphFormat::Tree => "tree",
            GraphFormat::Dot => "dot",
            GraphFormat::Json => "json",
        }))
    }
}

impl ValueEnum for Builder {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Builder::Buildah,
            Builder::Docker,
            Builder::Podman,
            Builder::Acr,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let (name, help) = match self {
            Builder::Buildah => (
                "buildah",
                "buildah (daemonless; `buildah build` then `buildah push`)",
            ),
            Builder::Docker => ("docker", "docker buildx (builds and pushes in one step)"),
            Builder::Podman => ("podman", "podman (`podman build` then `podman push`)"),
            Builder::Acr => (
                "acr",
                "Azure Container Registry tasks (`az acr build`: the registry builds and stores)",
            ),
        };
        Some(PossibleValue::new(name).help(help))
    }
}
