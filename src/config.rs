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

/// The name of the configuration file [`Config::discover`] looks for.
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
    /// `image`: the reference of the image that ran, as written; `None` to let `lock` find it
    /// (Azure ML image details, or the definition's own image when nothing is built on it).
    /// `lock --image` overrides it.
    pub image: Option<String>,
    /// `base-image`: the image the environment's image was built from, read to tell its
    /// layers and packages apart; it serves as the definition's base image when the
    /// definition names none. `lock --base-image` overrides it.
    pub base_image: Option<String>,
    /// `platform`: which platform of a multi-platform image to read; `None` for `linux/amd64`.
    /// `lock --platform` overrides it.
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
    /// The finding code it accepts.
    pub code: Code,
    /// Only findings about this package (compared in pip's normal form); `None` for any.
    pub package: Option<PackageName>,
    /// Only findings in this file, joined to `envaudit.toml`'s folder; `None` for any file.
    pub file: Option<PathBuf>,
    /// Why it is accepted; shown beside the finding.
    pub reason: String,
}

/// The project configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// The `envaudit.toml` it was read from (`None` when there is none).
    pub path: Option<PathBuf>,
    /// The `[[accept]]` tables, in file order; the first that matches a finding wins.
    pub accept: Vec<Accept>,
    /// The `[[environment]]` tables, in file order.
    pub environments: Vec<EnvironmentConfig>,
}

/// Why `envaudit.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read, is too large, or is not text in a supported encoding.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The file is not valid TOML, has an unknown key, or holds a bad value (an unknown finding
    /// code, a malformed platform); the error points at the place.
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

    /// Parses `envaudit.toml`'s text; relative paths in it are joined to `source.path`'s folder.
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
