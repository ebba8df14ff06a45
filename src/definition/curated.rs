//! Azure ML curated environment asset folders (`asset.yaml`, `spec.yaml`, `environment.yaml`, `context/`).

use std::path::Path;

use super::{DefinitionError, DefinitionKind, EnvDefinition};

pub fn load(path: &Path) -> Result<EnvDefinition, DefinitionError> {
    Ok(EnvDefinition::empty(DefinitionKind::Curated, path))
}
