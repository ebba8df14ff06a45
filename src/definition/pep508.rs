//! PEP 508 dependency specifiers as pip reads them in requirements files.
//!
//! STUB: filled in by the pip parser work.

use std::str::FromStr;

use serde::Serialize;

use crate::model::PackageName;
use crate::pin::{Pin, PinState};

/// One version specifier, e.g. `>=1.24`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Specifier {
    /// `==`, `===`, `!=`, `~=`, `<`, `<=`, `>`, `>=`.
    pub operator: String,
    pub version: String,
}

/// A parsed pip requirement line (without requirements-file options).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PipRequirement {
    /// `None` for a bare URL with no `#egg=` name.
    pub name: Option<PackageName>,
    pub extras: Vec<String>,
    pub specifiers: Vec<Specifier>,
    /// The marker in packaging's normal form (`python_version >= "3.8"`).
    pub marker: Option<String>,
    /// Direct reference (`name @ URL`, a bare URL, `git+https://...`).
    pub url: Option<String>,
    /// `-e` / `--editable`.
    pub editable: bool,
    /// `--hash=sha256:...` values.
    pub hashes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Pep508Error {
    pub offset: usize,
    pub message: String,
}

impl PipRequirement {
    pub fn pin(&self) -> Pin {
        Pin::new(PinState::Unpinned, "stub")
    }

    /// Canonical text, as packaging prints a Requirement, with the normalised name,
    /// then ` --hash=...` sorted; `-e ` first for editables.
    pub fn canonical(&self) -> String {
        String::new()
    }
}

impl FromStr for PipRequirement {
    type Err = Pep508Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Err(Pep508Error {
            offset: 0,
            message: format!("pep508 parser not implemented: {s}"),
        })
    }
}
