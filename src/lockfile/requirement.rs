//! One entry of an installed package's `requires`: the text as recorded, which the lockfile
//! writes back byte for byte, and its value, parsed once, so that the dependency graph
//! never parses it again.
//!
//! The value is parsed the first time it is asked for, not when the file is read: most
//! commands that read snapshots never look at requirements (`log` reads every snapshot in
//! the history, `diff` compares versions), and parsing them all up front made those 1.5 to
//! 1.7 times slower. The text alone does not say its grammar; the package's ecosystem does,
//! so the caller names it.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::conda::MatchSpec;
use crate::model::Ecosystem;
use crate::python::Requirement;

/// A recorded requirement: `Requires-Dist` (PEP 508), conda `depends` (MatchSpec), dpkg
/// `Depends`, apk `D:`.
///
/// Equal when the texts are equal: the parsed value follows from the text and the
/// package's ecosystem.
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "String")]
pub struct LockedRequirement {
    // Small, as a history holds many: 32 bytes where a `String` took 24. The parsed value
    // is shared by clones (a snapshot cloned after its graph was built keeps it, cheaply).
    text: Box<str>,
    #[serde(skip)]
    parsed: OnceLock<Arc<ParsedRequirement>>,
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
    /// A requirement as recorded.
    pub fn new(text: impl Into<String>) -> Self {
        LockedRequirement {
            text: text.into().into_boxed_str(),
            parsed: OnceLock::new(),
        }
    }

    /// Every text of `texts` as a requirement.
    pub fn all<S: Into<String>>(texts: impl IntoIterator<Item = S>) -> Vec<Self> {
        texts.into_iter().map(LockedRequirement::new).collect()
    }

    /// The text as recorded.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value, read in the grammar of `ecosystem`, the ecosystem of the package that
    /// records it (strict PEP 508 for pip). The first call parses; later calls return the
    /// same value.
    pub fn parsed(&self, ecosystem: Ecosystem) -> &ParsedRequirement {
        self.parsed.get_or_init(|| {
            Arc::new(match ecosystem {
                Ecosystem::Pip => Requirement::parse_pep508(&self.text)
                    .map_or(ParsedRequirement::Unread, |r| {
                        ParsedRequirement::Pip(Box::new(r))
                    }),
                Ecosystem::Conda => self
                    .text
                    .parse::<MatchSpec>()
                    .map_or(ParsedRequirement::Unread, |m| {
                        ParsedRequirement::Conda(Box::new(m))
                    }),
                Ecosystem::Deb | Ecosystem::Apk => ParsedRequirement::Unread,
            })
        })
    }
}

impl From<String> for LockedRequirement {
    fn from(text: String) -> Self {
        LockedRequirement::new(text)
    }
}

impl From<&str> for LockedRequirement {
    fn from(text: &str) -> Self {
        LockedRequirement::new(text)
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
        &*self.text == *other
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
        let pip = LockedRequirement::new("numpy>=1.22; python_version < \"3.11\"");
        assert!(matches!(
            pip.parsed(Ecosystem::Pip),
            ParsedRequirement::Pip(_)
        ));
        let conda = LockedRequirement::new("python >=3.10,<3.11.0a0");
        assert!(matches!(
            conda.parsed(Ecosystem::Conda),
            ParsedRequirement::Conda(_)
        ));
        let deb = LockedRequirement::new("libc6 (>= 2.34)");
        assert!(matches!(
            deb.parsed(Ecosystem::Deb),
            ParsedRequirement::Unread
        ));
    }

    #[test]
    fn text_that_does_not_parse_is_kept_as_written() {
        let r = LockedRequirement::new("numpy>=>1; nonsense");
        assert!(matches!(
            r.parsed(Ecosystem::Pip),
            ParsedRequirement::Unread
        ));
        assert_eq!(r.as_str(), "numpy>=>1; nonsense");
    }
}
