//! `envaudit.toml`: project settings, found by walking up from the current folder.
//!
//! ```toml
//! # Findings reviewed and accepted: reported as accepted, never failing a command.
//! [[accept]]
//! code = "unpinned-dependency"     # required: a finding code
//! package = "azureml-defaults"     # optional: only for this package
//! file = "envs/train/conda.yml"    # optional: only in this file (relative to envaudit.toml)
//! reason = "pinned by the base image release process"   # required
//!
//! # Environments `envaudit lock` (with no definition) locks, each into the lockfile.
//! [[environment]]
//! name = "train"                                      # optional: default the definition's name
//! definition = "envs/train/environment.yml"           # required, relative to envaudit.toml
//! image = "myacr.azurecr.io/azureml/azureml_0123abcd" # the image that ran
//! base-image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1"
//! platform = "linux/amd64"
//! insecure-registry = false                           # plain HTTP to the image's registry
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diag::{Code, Finding};
use crate::model::PackageName;
use crate::source::{ParseError, ReadError, SourceFile};

pub const FILE_NAME: &str = "envaudit.toml";

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigWire {
    #[serde(default)]
    accept: Vec<AcceptWire>,
    #[serde(default)]
    environment: Vec<EnvironmentWire>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct EnvironmentWire {
    name: Option<String>,
    definition: String,
    image: Option<String>,
    base_image: Option<String>,
    platform: Option<toml::Spanned<String>>,
    insecure_registry: Option<bool>,
}

/// An environment `envaudit lock` locks when given no definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentConfig {
    /// The lockfile name (default: the definition's name, else its path).
    pub name: Option<String>,
    /// Relative to `envaudit.toml`'s folder.
    pub definition: PathBuf,
    pub image: Option<String>,
    pub base_image: Option<String>,
    pub platform: Option<crate::model::Platform>,
    /// Reach the image's registry over plain HTTP.
    pub insecure_registry: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptWire {
    code: toml::Spanned<String>,
    package: Option<String>,
    file: Option<String>,
    reason: String,
}

/// One accepted finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accept {
    pub code: Code,
    pub package: Option<PackageName>,
    pub file: Option<PathBuf>,
    pub reason: String,
}

/// The project configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// The `envaudit.toml` it was read from (`None` when there is none).
    pub path: Option<PathBuf>,
    pub accept: Vec<Accept>,
    pub environments: Vec<EnvironmentConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl Config {
    /// Find `envaudit.toml` in `start` or the nearest folder above it.
    pub fn discover(start: &Path) -> Result<Self, ConfigError> {
        let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
        for dir in start.ancestors() {
            let candidate = dir.join(FILE_NAME);
            if candidate.is_file() {
                return Self::load(&candidate);
            }
        }
        Ok(Self::default())
    }

    /// Read a given `envaudit.toml`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let source = SourceFile::read(path)?;
        Ok(Self::parse(&source)?)
    }

    pub fn parse(source: &SourceFile) -> Result<Self, ParseError> {
        let wire: ConfigWire = toml::from_str(&source.text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            ParseError::at_offset(source, offset, e.message().to_owned())
        })?;
        let base = source
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut accept = Vec::new();
        for a in wire.accept {
            let code =
                a.code.get_ref().parse::<Code>().map_err(|e| {
                    ParseError::at_offset(source, a.code.span().start, e.to_string())
                })?;
            accept.push(Accept {
                code,
                package: a.package.as_deref().map(PackageName::pip),
                file: a.file.map(|f| base.join(f)),
                reason: a.reason,
            });
        }
        let mut environments = Vec::new();
        for e in wire.environment {
            let platform = match &e.platform {
                Some(p) => Some(p.get_ref().parse().map_err(
                    |err: crate::model::PlatformError| {
                        ParseError::at_offset(source, p.span().start, err.to_string())
                    },
                )?),
                None => None,
            };
            environments.push(EnvironmentConfig {
                name: e.name,
                definition: base.join(e.definition),
                image: e.image,
                base_image: e.base_image,
                platform,
                insecure_registry: e.insecure_registry.unwrap_or(false),
            });
        }
        Ok(Self {
            path: Some(source.path.clone()),
            accept,
            environments,
        })
    }

    /// Mark the findings this configuration accepts.
    pub fn apply(&self, findings: &mut [Finding]) {
        for f in findings {
            if let Some(a) = self.accept.iter().find(|a| a.matches(f)) {
                f.accepted = Some(a.reason.clone());
            }
        }
    }
}

impl Accept {
    fn matches(&self, f: &Finding) -> bool {
        if self.code != f.code {
            return false;
        }
        if let Some(p) = &self.package {
            match &f.package {
                Some(fp) if PackageName::pip(fp) == *p => {}
                _ => return false,
            }
        }
        if let Some(file) = &self.file {
            let Some(origin) = &f.origin else {
                return false;
            };
            if !same_file(file, &origin.file) {
                return false;
            }
        }
        true
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_code_points_at_its_value() {
        let src = SourceFile::from_text(
            "envaudit.toml",
            "[[accept]]\ncode = \"unpinned\"\nreason = \"x\"\n",
        );
        let err = Config::parse(&src).unwrap_err();
        assert_eq!((err.line, err.column), (2, 8));
        insta::assert_snapshot!(err.message, @"unknown finding code `unpinned`");
    }

    #[test]
    fn typo_in_a_key_is_an_error() {
        let src = SourceFile::from_text("envaudit.toml", "[[acept]]\ncode = \"x\"\n");
        assert!(Config::parse(&src).is_err());
    }

    #[test]
    fn package_match_uses_normalised_names() {
        let src = SourceFile::from_text(
            "envaudit.toml",
            "[[accept]]\ncode = \"unpinned-dependency\"\npackage = \"AzureML_Defaults\"\nreason = \"ok\"\n",
        );
        let cfg = Config::parse(&src).unwrap();
        let mut findings = vec![
            Finding::new(Code::UnpinnedDependency, "m").with_package("azureml-defaults"),
            Finding::new(Code::UnpinnedDependency, "m").with_package("numpy"),
        ];
        cfg.apply(&mut findings);
        assert_eq!(findings[0].accepted.as_deref(), Some("ok"));
        assert_eq!(findings[1].accepted, None);
    }
}
