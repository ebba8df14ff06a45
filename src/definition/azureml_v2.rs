//! Azure ML SDK v2 / CLI v2 environment YAML, and the inline `environment:` of a job YAML.

use std::path::Path;

use super::{DefinitionError, DefinitionKind, EnvDefinition};

pub fn load(path: &Path) -> Result<EnvDefinition, DefinitionError> {
    Ok(EnvDefinition::empty(DefinitionKind::AzuremlV2, path))
}

pub fn load_job(path: &Path) -> Result<EnvDefinition, DefinitionError> {
    Ok(EnvDefinition::empty(DefinitionKind::AzuremlJob, path))
}
