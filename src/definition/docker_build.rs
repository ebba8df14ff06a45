//! Docker-based definitions: a Dockerfile with its build context, and the files it uses.

use std::path::Path;

use super::{DefinitionError, DefinitionKind, EnvDefinition};

/// Load a Dockerfile (or a folder holding one) as a definition.
pub fn load(path: &Path) -> Result<EnvDefinition, DefinitionError> {
    Ok(EnvDefinition::empty(DefinitionKind::Dockerfile, path))
}
