//! Naming a lockfile snapshot on the command line: `@[REV][:PATH][#ENV]`.
//!
//! Every spec starts with `@`, which no image reference does (`python:3.10` and
//! `localhost:5000/x` are image references; `@HEAD` is not), so a command that takes both
//! can never mistake one for the other.
//!
//! | spec | means |
//! |---|---|
//! | `@` | the lockfile in the working tree |
//! | `@HEAD`, `@main~3`, `@v1.2`, `@4f2a9c1` | the lockfile at that git revision (read from git, no checkout) |
//! | `@HEAD:ml/envaudit.lock` | another lockfile path at that revision |
//! | `@:other.lock` | a lockfile file on disk |
//! | `@HEAD#train` | only the environment `train` |

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Which lockfile, at which revision, and optionally which environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotSpec {
    /// A git revision; `None` for the file on disk.
    pub revision: Option<String>,
    /// The lockfile path (default: the command's lockfile).
    pub path: Option<PathBuf>,
    /// The environment after `#`; `None` for every environment.
    pub environment: Option<String>,
}

/// A string that is not a `@[REV][:PATH][#ENV]` spec; it holds the string as given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a snapshot: write `@[REV][:PATH][#ENV]`, e.g. `@HEAD`, `@main:envaudit.lock`, `@#train` (`@` alone is the working tree)"
)]
pub struct SpecError(pub String);

impl SnapshotSpec {
    /// The working tree's lockfile.
    pub fn working_tree() -> Self {
        Self::default()
    }

    /// The command's lockfile at the git `revision`, every environment.
    pub fn at(revision: &str) -> Self {
        Self {
            revision: Some(revision.to_owned()),
            ..Self::default()
        }
    }
}

impl FromStr for SnapshotSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let bad = || SpecError(text.to_owned());
        let rest = text.strip_prefix('@').ok_or_else(bad)?;
        let (rest, environment) = match rest.split_once('#') {
            Some((r, env)) if !env.is_empty() => (r, Some(env.to_owned())),
            Some(_) => return Err(bad()),
            None => (rest, None),
        };
        let (revision, path) = match rest.split_once(':') {
            Some((_, "")) => return Err(bad()),
            Some((rev, path)) => (rev, Some(PathBuf::from(path))),
            None => (rest, None),
        };
        if revision.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        Ok(SnapshotSpec {
            revision: (!revision.is_empty()).then(|| revision.to_owned()),
            path,
            environment,
        })
    }
}

impl fmt::Display for SnapshotSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("@")?;
        if let Some(r) = &self.revision {
            f.write_str(r)?;
        }
        if let Some(p) = &self.path {
            write!(f, ":{}", p.display())?;
        }
        if let Some(e) = &self.environment {
            write!(f, "#{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> SnapshotSpec {
        s.parse().unwrap()
    }

    #[test]
    fn specs() {
        assert_eq!(p("@"), SnapshotSpec::working_tree());
        assert_eq!(p("@HEAD"), SnapshotSpec::at("HEAD"));
        assert_eq!(p("@main~3").revision.as_deref(), Some("main~3"));
        let s = p("@HEAD:ml/envaudit.lock#train");
        assert_eq!(s.revision.as_deref(), Some("HEAD"));
        assert_eq!(s.path, Some(PathBuf::from("ml/envaudit.lock")));
        assert_eq!(s.environment.as_deref(), Some("train"));
        let s = p("@:other.lock");
        assert_eq!(s.revision, None);
        assert_eq!(s.path, Some(PathBuf::from("other.lock")));
        assert_eq!(p("@#e").environment.as_deref(), Some("e"));
        for s in ["@", "@HEAD", "@HEAD:x.lock#e", "@:a.lock"] {
            assert_eq!(p(s).to_string(), s);
        }
    }

    #[test]
    fn image_references_are_never_specs() {
        for s in [
            "python:3.10",
            "localhost:5000/x",
            "mcr.microsoft.com/azureml/base@sha256:abc",
            "envaudit.lock",
            "HEAD",
            "@HEAD:",
            "@#",
            "@a b",
        ] {
            assert!(s.parse::<SnapshotSpec>().is_err(), "{s}");
        }
    }
}
