//! conda MatchSpec parsing (the subset conda environment files use), agreeing with
//! conda / rattler on names, versions, builds and channels.
//!
//! STUB: filled in by the conda parser work.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::model::PackageName;
use crate::pin::{Pin, PinState};

/// A parsed conda match specification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MatchSpec {
    pub name: Option<PackageName>,
    /// `channel::name` or `[channel=...]`.
    pub channel: Option<String>,
    /// `channel/subdir::name`.
    pub subdir: Option<String>,
    /// Version constraint in conda's normal form: `1.18.1.*` for `=1.18.1`, `==1.18.1`, `>=1.18,<2`.
    pub version: Option<String>,
    pub build: Option<String>,
    /// An explicit package URL, when the spec is one.
    pub url: Option<String>,
}

/// Why a string is not a MatchSpec; `offset` is a byte offset into the spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MatchSpecError {
    pub offset: usize,
    pub message: String,
}

impl MatchSpec {
    /// The pin state (see `crate::pin`).
    pub fn pin(&self) -> Pin {
        Pin::new(PinState::Unpinned, "stub")
    }

    /// Canonical text: `[channel[/subdir]::]name[ version[ build]]`, as conda prints it.
    pub fn canonical(&self) -> String {
        self.to_string()
    }
}

impl FromStr for MatchSpec {
    type Err = MatchSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Err(MatchSpecError {
            offset: 0,
            message: format!("matchspec parser not implemented: {s}"),
        })
    }
}

impl fmt::Display for MatchSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = &self.channel {
            f.write_str(c)?;
            if let Some(s) = &self.subdir {
                write!(f, "/{s}")?;
            }
            f.write_str("::")?;
        }
        if let Some(n) = &self.name {
            write!(f, "{n}")?;
        }
        if let Some(v) = &self.version {
            write!(f, " {v}")?;
        }
        if let Some(b) = &self.build {
            write!(f, " {b}")?;
        }
        Ok(())
    }
}
