//! Azure ML's own identities of a loaded definition, next to envaudit's definition hash:
//! the SDK v2 anonymous-environment version (computed here exactly as azure-ai-ml 1.35 does,
//! for the environment given inline), and where the two notions of "the same environment"
//! disagree.

use std::path::Path;

use serde::Serialize;

use super::anonymous::{AnonymousInput, BuildInput, anonymous_version};
use super::yaml11;
use crate::definition::{BuildContext, DefinitionKind, EnvDefinition};

/// Azure ML SDK v2's identity of a definition given inline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct V2Identity {
    /// `CliV2AnonymousEnvironment:<version>`'s version (64 hex); `None` with a `reason`.
    pub version: Option<String>,
    /// Why there is no version.
    pub reason: Option<String>,
    /// The conda text azure-ai-ml hashes and sends as `condaFile`.
    pub translated_conda_file: Option<String>,
    /// The build context's upload hash.
    pub upload_hash: Option<String>,
    /// Where Azure's identity and the definition hash disagree about sameness.
    pub notes: Vec<String>,
}

/// Compute Azure ML SDK v2's anonymous version for a definition (reads the build context
/// and the definition files again, as azure-ai-ml would).
pub fn v2_identity(def: &EnvDefinition) -> V2Identity {
    let input = match input_for(def) {
        Ok(input) => input,
        Err(reason) => {
            return V2Identity {
                reason: Some(reason),
                ..V2Identity::default()
            };
        }
    };
    let mut id = match anonymous_version(&input) {
        Ok(v) => V2Identity {
            version: v.version,
            reason: v.reason,
            translated_conda_file: v.translated_conda_file,
            upload_hash: v.upload_hash,
            notes: Vec::new(),
        },
        Err(e) => V2Identity {
            reason: Some(format!(
                "azure-ai-ml 1.35 would reject this environment: {e}"
            )),
            ..V2Identity::default()
        },
    };
    if id.version.is_some() {
        id.notes = disagreements(def, &input);
    }
    id
}

fn input_for(def: &EnvDefinition) -> Result<AnonymousInput, String> {
    let reject =
        |e: super::AnonymousError| format!("azure-ai-ml 1.35 would reject this environment: {e}");
    match def.kind {
        DefinitionKind::AzuremlV2 if def.legacy_syntax.is_some() => {
            Err("pre-GA syntax: azure-ai-ml no longer reads this environment".to_owned())
        }
        DefinitionKind::AzuremlV2 => AnonymousInput::from_env_yaml(&def.path).map_err(reject),
        DefinitionKind::AzuremlJob => {
            let text = std::fs::read_to_string(&def.path).map_err(|e| format!("cannot read the job: {e}"))?;
            let doc = yaml11::safe_load(&yaml11::python_text(&text))
                .map_err(|e| format!("azure-ai-ml 1.35 would reject this job YAML: {e}"))?;
            let env = doc
                .as_map()
                .and_then(|m| m.get("environment"))
                .ok_or_else(|| "the job has no inline `environment:`".to_owned())?;
            let base = def.path.parent().unwrap_or(Path::new("."));
            AnonymousInput::from_env_value(env, base, &def.path).map_err(reject)
        }
        DefinitionKind::Conda => match (&def.base_image, &def.conda_file) {
            // `--image` as written: Azure hashes the text, not the normalised reference.
            (Some(image), Some(conda_file)) => Ok(AnonymousInput {
                image: Some(image.reference.clone()),
                conda_text: Some(
                    crate::source::SourceFile::read(conda_file)
                        .map_err(|e| format!("cannot read the conda file: {e}"))?
                        .text,
                ),
                ..AnonymousInput::default()
            }),
            _ => Err("a conda file alone is not an Azure ML environment: give the image with `--image`".to_owned()),
        },
        DefinitionKind::Dockerfile => match &def.build_context {
            Some(BuildContext::Local { path, dockerfile_path, .. }) => Ok(AnonymousInput {
                build: Some(BuildInput::Local {
                    path: path.clone(),
                    // `build.path: DIR` with no `dockerfile_path` when the file is `Dockerfile`.
                    dockerfile_path: dockerfile_path.clone().filter(|p| p != "Dockerfile"),
                }),
                ..AnonymousInput::default()
            }),
            _ => Err("no local build context".to_owned()),
        },
        DefinitionKind::Curated => {
            Err("curated environments are versioned by the Azure ML registry, not content-addressed".to_owned())
        }
        DefinitionKind::AzuremlV1 => Err(
            "SDK v1 environments are not content-addressed by the client; the service's image hash comes from `--azureml-image-details`"
                .to_owned(),
        ),
        DefinitionKind::Requirements => {
            Err("a requirements file alone is not an Azure ML environment".to_owned())
        }
    }
}

/// Where "same Azure version" and "same definition hash" part ways for this definition.
fn disagreements(def: &EnvDefinition, input: &AnonymousInput) -> Vec<String> {
    let mut notes = Vec::new();
    if input.conda_text.is_some() {
        if let Some(name) = &def.conda_name {
            notes.push(format!(
                "Azure's version changes with the conda file's `name:` (`{name}`); the definition hash ignores it, as Azure replaces it when building"
            ));
        }
        notes.push(
            "Azure's version ignores comments and key order in the conda file but not list order; the definition hash agrees".to_owned(),
        );
    }
    if let (Some(written), Some(b)) = (&input.image, &def.base_image)
        && *written != b.canonical()
    {
        notes.push(format!(
            "Azure hashes the image as written (`{written}`); the definition hash uses the normalised `{}`, so another spelling of the same image changes Azure's version only",
            b.canonical()
        ));
    }
    if input.inference_config.is_some() {
        notes.push(
            "Azure's version covers `inference_config` as azure-ai-ml 1.35 dumps it (an SDK-internal object text, so this case is tied to that SDK version); the definition hash does not cover it".to_owned(),
        );
    }
    if let Some(BuildInput::Local {
        dockerfile_path, ..
    }) = &input.build
    {
        if dockerfile_path.as_deref() == Some("Dockerfile") {
            notes.push(
                "Azure gives `dockerfile_path: Dockerfile` another version than no `dockerfile_path`; the definition hash treats them the same".to_owned(),
            );
        }
        notes.push(
            "Azure hashes every build-context file (less `.amlignore`/`.gitignore`); the definition hash covers the files the Dockerfile copies and its parsed steps".to_owned(),
        );
    }
    notes
}
