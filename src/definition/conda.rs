//! conda environment files (`environment.yml`, Azure ML `conda_dependencies.yml`,
//! `conda env export` output).
//!
//! STUB: filled in by the conda parser work.

use std::path::{Path, PathBuf};

use super::requirements::PipFile;
use super::{Channel, DefinitionError, Dependency, Template};
use crate::source::SourceFile;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CondaFile {
    pub path: PathBuf,
    pub name: Option<String>,
    pub channels: Vec<Channel>,
    pub dependencies: Vec<Dependency>,
    /// The `pip:` subsection, includes followed.
    pub pip: PipFile,
    pub has_pip_section: bool,
    pub variables: Vec<(String, String)>,
    pub prefix: Option<String>,
    pub templates: Vec<Template>,
    pub files: Vec<PathBuf>,
}

pub fn load(path: &Path) -> Result<CondaFile, DefinitionError> {
    let source = SourceFile::read(path)?;
    parse(&source)
}

/// Parse a conda file; `pip:` includes resolve relative to the file's folder.
pub fn parse(source: &SourceFile) -> Result<CondaFile, DefinitionError> {
    Ok(CondaFile {
        path: source.path.clone(),
        files: vec![source.path.clone()],
        ..CondaFile::default()
    })
}
