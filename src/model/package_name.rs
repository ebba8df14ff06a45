use std::fmt;

use serde::{Deserialize, Serialize};

/// The package ecosystem a declared or installed package belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Conda packages (`conda-meta/*.json`), from any channel.
    Conda,
    /// Python distributions (`*.dist-info`, `*.egg-info`), however they were installed.
    Pip,
    /// Debian packages (dpkg).
    Deb,
    /// Alpine packages (apk).
    Apk,
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ecosystem::Conda => "conda",
            Ecosystem::Pip => "pip",
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
        })
    }
}

/// A package name in its ecosystem's normal form.
///
/// - pip: PEP 503 normalisation (lowercase, runs of `-`, `_`, `.` become one `-`), so
///   `Foo_Bar`, `foo.bar` and `foo-bar` are one name.
/// - conda: lowercase; `_` and `-` stay distinct, as conda keeps them (`_libgcc_mutex`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PackageName(String);

impl PackageName {
    /// A Python distribution name, PEP 503 normalised: `Foo_Bar.baz` becomes `foo-bar-baz`.
    pub fn pip(name: &str) -> Self {
        let mut out = String::with_capacity(name.len());
        let mut pending_sep = false;
        for c in name.trim().chars() {
            if matches!(c, '-' | '_' | '.') {
                pending_sep = true;
            } else {
                if pending_sep && !out.is_empty() {
                    out.push('-');
                }
                pending_sep = false;
                out.extend(c.to_lowercase());
            }
        }
        Self(out)
    }

    /// A conda package name: trimmed and lowercased, `_` and `-` kept as written.
    pub fn conda(name: &str) -> Self {
        Self(name.trim().to_lowercase())
    }

    /// Debian package names are lowercase by policy; lowercase anything else.
    pub fn deb(name: &str) -> Self {
        Self(name.trim().to_lowercase())
    }

    /// Alpine package names are kept as written (apk compares them exactly).
    pub fn apk(name: &str) -> Self {
        Self(name.trim().to_owned())
    }

    /// The name in `ecosystem`'s normal form, as the constructor of that ecosystem gives it.
    pub fn new(ecosystem: Ecosystem, name: &str) -> Self {
        match ecosystem {
            Ecosystem::Conda => Self::conda(name),
            Ecosystem::Pip => Self::pip(name),
            Ecosystem::Deb => Self::deb(name),
            Ecosystem::Apk => Self::apk(name),
        }
    }

    /// The pip normal form of this name, to compare a conda package with a pip one.
    #[must_use]
    pub fn to_pip(&self) -> Self {
        Self::pip(&self.0)
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_names_normalise_separators_and_case() {
        assert_eq!(PackageName::pip("Foo__Bar.baz").as_str(), "foo-bar-baz");
        assert_eq!(
            PackageName::pip("scikit_learn"),
            PackageName::pip("Scikit-Learn")
        );
    }

    #[test]
    fn conda_names_keep_underscores() {
        assert_eq!(
            PackageName::conda("_libgcc_mutex").as_str(),
            "_libgcc_mutex"
        );
        assert_eq!(
            PackageName::conda("_libgcc_mutex").to_pip().as_str(),
            "libgcc-mutex"
        );
    }
}
