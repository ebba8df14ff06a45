//! pip requirements files (and the `pip:` list of a conda file, which holds the same lines).
//!
//! STUB: filled in by the pip parser work.

use std::path::{Path, PathBuf};

use super::{DefinitionError, Dependency, Include, PipOption, Template};
use crate::source::Origin;

/// Requirements with their options and includes, the includes already followed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PipFile {
    pub requirements: Vec<Dependency>,
    pub constraints: Vec<Dependency>,
    pub options: Vec<PipOption>,
    pub includes: Vec<Include>,
    pub templates: Vec<Template>,
    /// Every file read, the root first.
    pub files: Vec<PathBuf>,
}

/// Read a requirements file and everything it includes with `-r` / `-c`.
pub fn load(path: &Path) -> Result<PipFile, DefinitionError> {
    let _ = path;
    Ok(PipFile::default())
}

/// Parse the entries of a conda file's `pip:` list; each entry is one requirements line.
/// Includes are resolved relative to `base_dir` (the conda file's folder).
pub fn parse_entries(
    entries: &[(String, Origin)],
    base_dir: &Path,
) -> Result<PipFile, DefinitionError> {
    let _ = (entries, base_dir);
    Ok(PipFile::default())
}

/// Parse one requirements file's text; `-r`/`-c` includes resolve relative to its folder.
pub fn parse(source: &crate::source::SourceFile) -> Result<PipFile, DefinitionError> {
    let _ = source;
    Ok(PipFile::default())
}
