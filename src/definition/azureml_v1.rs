//! Azure ML SDK v1: `Environment.save_to_directory` folders and `azureml_environment.json`.

use std::path::Path;

use super::{DefinitionError, DefinitionKind, EnvDefinition};

pub fn load(path: &Path) -> Result<EnvDefinition, DefinitionError> {
    Ok(EnvDefinition::empty(DefinitionKind::AzuremlV1, path))
}
