//! One entry of an installed package's `requires`: the text as recorded, which the lockfile
//! writes back byte for byte, and its value, parsed once when the snapshot is read or
//! built, so that the dependency graph never parses it again.

use std::fmt;

use serde::Serialize;

use crate::conda::MatchSpec;
use crate::model::Ecosystem;
use crate::python::Requirement;

/// A recorded requirement: `Requires-Dist` (PEP 508), conda `depends` (MatchSpec), dpkg
/// `Depends`, apk `D:`.
///
/// Equal when the texts are equal: the parsed value follows from the text and the
/// package's ecosystem.
#[derive(Clone, Debug)]
pub struct LockedRequirement {
    text: String,
    parsed: ParsedRequirement,
}

/// What a recorded requirement says, in its ecosystem's terms.
#[derive(Clone, Debug)]
pub enum ParsedRequirement {
    /// A `Requires-Dist` entry of a Python distribution.
    Pip(Box<Requirement>),
    /// A `depends` entry of a conda package.
    Conda(Box<MatchSpec>),
    /// A Debian or Alpine dependency, which envaudit does not read; or a text that does not
    /// parse in its ecosystem (kept as written, it requires nothing the graph can follow).
    Unread,
}

impl LockedRequirement {
    /// Reads `text` as a requirement of an `ecosystem` package (strict PEP 508 for pip).
    pub fn new(ecosystem: Ecosystem, text: impl Into<String>) -> Self {
        let text = text.into();
        let parsed = match ecosystem {
            Ecosystem::Pip => Requirement::parse_pep508(&text)
                .map_or(ParsedRequirement::Unread, |r| {
                    ParsedRequirement::Pip(Box::new(r))
                }),
            Ecosystem::Conda => text
                .parse::<MatchSpec>()
                .map_or(ParsedRequirement::Unread, |m| {
                    ParsedRequirement::Conda(Box::new(m))
                }),
            Ecosystem::Deb | Ecosystem::Apk => ParsedRequirement::Unread,
        };
        LockedRequirement { text, parsed }
    }

    /// Reads every text of `texts` as a requirement of an `ecosystem` package.
    pub fn all<S: Into<String>>(
        ecosystem: Ecosystem,
        texts: impl IntoIterator<Item = S>,
    ) -> Vec<Self> {
        texts
            .into_iter()
            .map(|t| LockedRequirement::new(ecosystem, t))
            .collect()
    }

    /// The text as recorded.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed value.
    pub fn parsed(&self) -> &ParsedRequirement {
        &self.parsed
    }
}

impl PartialEq for LockedRequirement {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for LockedRequirement {}

impl PartialEq<&str> for LockedRequirement {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl fmt::Display for LockedRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for LockedRequirement {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ecosystem_reads_its_own_grammar() {
        let pip = LockedRequirement::new(Ecosystem::Pip, "numpy>=1.22; python_version < \"3.11\"");
        assert!(matches!(pip.parsed(), ParsedRequirement::Pip(_)));
        let conda = LockedRequirement::new(Ecosystem::Conda, "python >=3.10,<3.11.0a0");
        assert!(matches!(conda.parsed(), ParsedRequirement::Conda(_)));
        let deb = LockedRequirement::new(Ecosystem::Deb, "libc6 (>= 2.34)");
        assert!(matches!(deb.parsed(), ParsedRequirement::Unread));
    }

    #[test]
    fn text_that_does_not_parse_is_kept_as_written() {
        let r = LockedRequirement::new(Ecosystem::Pip, "numpy>=>1; nonsense");
        assert!(matches!(r.parsed(), ParsedRequirement::Unread));
        assert_eq!(r.as_str(), "numpy>=>1; nonsense");
    }
}
