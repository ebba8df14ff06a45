//! PEP 440 version specifiers (<https://peps.python.org/pep-0440/#version-specifiers>):
//! `>=1.24`, `==1.2.*`, `~=2.1`, `!=1.5`, `===foo`, read as `packaging.specifiers.Specifier`
//! reads them and matched as `Specifier.contains(version, prereleases=True)` does.
//!
//! Matching ([`Specifier::contains`]):
//! - `==V` / `!=V`: equal by PEP 440 (`1.0 == 1.0.0`); the candidate's local label is ignored
//!   unless `V` has one. `==V.*` / `!=V.*`: the candidate's release, padded with zeros,
//!   starts with `V` (same epoch), whatever follows.
//! - `~=V`: `>=V` and `==P.*`, where `P` is `V`'s release without its last number.
//! - `<=V` / `>=V`: by PEP 440 order, `<=` ignoring the candidate's local label.
//! - `<V`: below `V`, and not a pre-release of `V` unless `V` is one.
//! - `>V`: above `V`, and not a post-release or local version of `V` unless `V` is one.
//! - `===V`: the text, compared case-insensitively.
//!
//! Pre-releases are not excluded: whether to consider them is the caller's policy (PEP 440's
//! default excludes them when a final release also matches). Checked by
//! `tests/vectors/specifier_contains.json` (made by `scripts/gen-specifier-vectors.py` with
//! `packaging` 26.3), and through the marker vectors, whose version comparisons are
//! specifiers.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::Serialize;
use serde::ser::SerializeStruct;

use super::version::{Allow, Version, parse_prefix};

/// A version comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `~=`
    Compatible,
    /// `<=`
    LessEqual,
    /// `>=`
    GreaterEqual,
    /// `<`
    Less,
    /// `>`
    Greater,
    /// `===`
    ArbitraryEqual,
}

/// In the order `packaging`'s tokenizers try them.
const OPERATORS: [(&str, Operator); 8] = [
    ("===", Operator::ArbitraryEqual),
    ("==", Operator::Equal),
    ("~=", Operator::Compatible),
    ("!=", Operator::NotEqual),
    ("<=", Operator::LessEqual),
    (">=", Operator::GreaterEqual),
    ("<", Operator::Less),
    (">", Operator::Greater),
];

impl Operator {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equal => "==",
            Operator::NotEqual => "!=",
            Operator::Compatible => "~=",
            Operator::LessEqual => "<=",
            Operator::GreaterEqual => ">=",
            Operator::Less => "<",
            Operator::Greater => ">",
            Operator::ArbitraryEqual => "===",
        }
    }

    /// The operator at the start of `s` and its length.
    pub(crate) fn parse_prefix(s: &str) -> Option<(Operator, usize)> {
        OPERATORS
            .iter()
            .find(|(symbol, _)| s.starts_with(symbol))
            .map(|&(symbol, op)| (op, symbol.len()))
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the version part of a specifier is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Version(Version),
    /// `==V.*` or `!=V.*`.
    Prefix(Version),
    /// `===`: any text.
    Arbitrary,
    /// A release template of an Azure ML asset (`=={{latest-pypi-version}}`), read only from
    /// pip lines: not a version yet, so it contains nothing.
    Template,
}

/// One version specifier, e.g. `>=1.24`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Specifier {
    operator: Operator,
    /// The version as written, trimmed (`packaging` prints it back so).
    text: String,
    target: Target,
}

/// The version operand of `op` at the start of `s` (no leading whitespace), as the operand
/// of `packaging`'s `SPECIFIER` regex takes it: what it is and its length, `None` when no
/// version starts there. `===` takes everything up to whitespace, `;` or `)`.
pub(crate) fn operand_prefix(op: Operator, s: &str) -> Option<(Target, usize)> {
    let equality = matches!(op, Operator::Equal | Operator::NotEqual);
    if op == Operator::ArbitraryEqual {
        let len = s
            .find(|c: char| super::is_space(c) || c == ';' || c == ')')
            .unwrap_or(s.len());
        return Some((Target::Arbitrary, len));
    }
    let allow = Allow {
        wildcard: equality,
        local: equality,
    };
    let (version, wildcard, len) = parse_prefix(s, allow)?;
    if op == Operator::Compatible && version.release_len() < 2 {
        return None;
    }
    let target = if wildcard {
        Target::Prefix(version)
    } else {
        Target::Version(version)
    };
    Some((target, len))
}

impl Specifier {
    /// A specifier from its operator and the version text that [`operand_prefix`] read.
    pub(crate) fn new(operator: Operator, text: &str, target: Target) -> Self {
        Specifier {
            operator,
            text: text.to_owned(),
            target,
        }
    }

    /// `===text`.
    pub(crate) fn arbitrary(text: &str) -> Self {
        Specifier::new(Operator::ArbitraryEqual, text, Target::Arbitrary)
    }

    /// A release template in place of a version (pip lines of Azure ML assets).
    pub(crate) fn template(operator: Operator, text: &str) -> Self {
        Specifier::new(operator, text, Target::Template)
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The version as written (`1.24`, `1.2.*`, `{{latest-pypi-version}}`).
    pub fn version_text(&self) -> &str {
        &self.text
    }

    /// The version compared with (for `==V.*`, `V`); `None` for `===` and release templates.
    pub fn version(&self) -> Option<&Version> {
        match &self.target {
            Target::Version(v) | Target::Prefix(v) => Some(v),
            Target::Arbitrary | Target::Template => None,
        }
    }

    /// Whether this is a prefix match (`==1.2.*`, `!=1.2.*`).
    pub fn is_wildcard(&self) -> bool {
        matches!(self.target, Target::Prefix(_))
    }

    /// Whether the version is a release template (`{{latest-pypi-version}}`).
    pub fn is_template(&self) -> bool {
        matches!(self.target, Target::Template)
    }

    /// Whether `version` satisfies this specifier, pre-releases included (see the module
    /// documentation). `===` compares `version`'s normal form; see [`Self::contains_str`]
    /// for the text as written.
    pub fn contains(&self, version: &Version) -> bool {
        let v = match &self.target {
            Target::Arbitrary => {
                return version.to_string().to_lowercase() == self.text.to_lowercase();
            }
            Target::Template => return false,
            Target::Prefix(base) => {
                let inside = version.release_starts_with(base.epoch(), base.release());
                return inside == (self.operator == Operator::Equal);
            }
            Target::Version(v) => v,
        };
        let p = version;
        match self.operator {
            Operator::Equal => equal(p, v),
            Operator::NotEqual => !equal(p, v),
            Operator::GreaterEqual => p >= v,
            Operator::LessEqual => p.public_key() <= v.key(),
            Operator::Less => {
                if v.is_prerelease() {
                    p < v
                } else {
                    p.key() < v.dev0_key()
                }
            }
            Operator::Greater => {
                if v.is_devrelease() || v.is_postrelease() {
                    // Only `V`'s local versions lie between `V` and the next dev or post
                    // release.
                    p > v && p.public_key() != v.key()
                } else {
                    p > v && !p.same_family(v)
                }
            }
            Operator::Compatible => {
                let release = v.release();
                p >= v && p.release_starts_with(v.epoch(), &release[..release.len() - 1])
            }
            Operator::ArbitraryEqual => false,
        }
    }

    /// `packaging`'s `Specifier.contains(text, prereleases=True)`: `===` compares the text
    /// case-insensitively; other operators match a PEP 440 version, and text that is not one
    /// matches nothing.
    pub fn contains_str(&self, text: &str) -> bool {
        if let Target::Arbitrary = self.target {
            return text.to_lowercase() == self.text.to_lowercase();
        }
        text.parse::<Version>().is_ok_and(|v| self.contains(&v))
    }
}

/// `==`: a specifier without a local label ignores the candidate's.
fn equal(p: &Version, v: &Version) -> bool {
    if v.is_local() {
        p == v
    } else {
        p.public_key() == v.key()
    }
}

/// A string that is not a version specifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a version specifier")]
pub struct InvalidSpecifier(pub String);

impl FromStr for Specifier {
    type Err = InvalidSpecifier;

    /// `packaging.specifiers.Specifier(text)`: whitespace around and after the operator is
    /// allowed, nothing else.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidSpecifier(s.to_owned());
        let trimmed = super::trim(s);
        let (operator, len) = Operator::parse_prefix(trimmed).ok_or_else(invalid)?;
        let rest = trimmed[len..].trim_start_matches(super::is_space);
        let (target, len) = operand_prefix(operator, rest).ok_or_else(invalid)?;
        if len != rest.len() {
            return Err(invalid());
        }
        Ok(Specifier::new(operator, rest, target))
    }
}

impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.operator, self.text)
    }
}

impl Serialize for Specifier {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Specifier", 2)?;
        s.serialize_field("operator", self.operator.as_str())?;
        s.serialize_field("version", &self.text)?;
        s.end()
    }
}

/// The specifiers of a requirement, all of which must hold (`>=1.0,<2`), in written order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Specifiers(Vec<Specifier>);

impl Specifiers {
    /// Whether `version` satisfies every specifier (see [`Specifier::contains`]).
    pub fn contains(&self, version: &Version) -> bool {
        self.0.iter().all(|s| s.contains(version))
    }
}

impl From<Vec<Specifier>> for Specifiers {
    fn from(specifiers: Vec<Specifier>) -> Self {
        Specifiers(specifiers)
    }
}

impl Deref for Specifiers {
    type Target = [Specifier];

    fn deref(&self) -> &[Specifier] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a Specifiers {
    type Item = &'a Specifier;
    type IntoIter = std::slice::Iter<'a, Specifier>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Specifiers {
    /// `packaging`'s `str(SpecifierSet)`: sorted by text, without duplicates, comma-joined.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut texts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        texts.sort();
        texts.dedup();
        f.write_str(&texts.join(","))
    }
}

impl FromStr for Specifiers {
    type Err = InvalidSpecifier;

    /// `packaging.specifiers.SpecifierSet(text)`: specifiers separated by commas.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .filter(|part| !super::trim(part).is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Specifiers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(spec: &str, version: &str) -> bool {
        let spec: Specifier = spec.parse().unwrap_or_else(|e| panic!("{e}"));
        spec.contains_str(version)
    }

    #[test]
    fn matches_as_pep_440_says() {
        for (spec, yes, no) in [
            (
                "==1.0",
                &["1.0", "1.0.0", "1.0+local"][..],
                &["1.0.post1", "1.0a1"][..],
            ),
            ("==1.0+abc", &["1.0+ABC"], &["1.0", "1.0+abc.1"]),
            (
                "==1.2.*",
                &["1.2", "1.2.0rc1", "1.2.7+x", "1.2.dev0"],
                &["1.3", "1.1.9", "1!1.2"],
            ),
            ("!=1.2.*", &["1.3"], &["1.2.5"]),
            (
                "~=2.1",
                &["2.1", "2.9", "2.1.post1"],
                &["3.0", "2.0", "3.0.dev0"],
            ),
            ("~=2.1.3", &["2.1.3", "2.1.9"], &["2.2", "2.1.2"]),
            ("<1.0", &["0.9", "0.9+x"], &["1.0rc1", "1.0.dev0", "1.0"]),
            ("<1.0rc2", &["1.0rc1"], &["1.0rc2"]),
            (
                ">1.0",
                &["1.1", "1.1a1"],
                &["1.0.post1", "1.0+local", "1.0"],
            ),
            (">1.0.post1", &["1.0.post2"], &["1.0.post1+local"]),
            ("<=1.0", &["1.0+local", "0.1"], &["1.0.post1"]),
            (">=1.0", &["1.0", "1.0+x"], &["1.0rc1"]),
            ("===1.0", &["1.0"], &["1.0.0"]),
            ("===foo", &["FOO"], &["bar"]),
        ] {
            for v in yes {
                assert!(holds(spec, v), "{v} in {spec}");
            }
            for v in no {
                assert!(!holds(spec, v), "{v} not in {spec}");
            }
        }
    }

    #[test]
    fn reads_what_packaging_reads() {
        for ok in [
            "==1.0",
            " >= 1.0 ",
            "==1.0.*",
            "!=1.0+abc",
            "~=1.0",
            "===any",
            "=== ",
        ] {
            assert!(ok.parse::<Specifier>().is_ok(), "{ok:?}");
        }
        for bad in [
            "1.0",
            ">=1.0.*",
            "<1.0+abc",
            "~=1",
            "~=1.*",
            "==1.0a1.*",
            "== 1.0 x",
        ] {
            assert!(bad.parse::<Specifier>().is_err(), "{bad:?}");
        }
    }

    #[derive(serde::Deserialize)]
    struct Vectors {
        versions: Vec<String>,
        cases: Vec<Case>,
    }

    #[derive(serde::Deserialize)]
    struct Case {
        spec: String,
        /// One `0`/`1` per version; `None` when packaging rejects the specifier.
        contains: Option<String>,
    }

    #[test]
    fn agrees_with_packaging_vectors() {
        let vectors: Vectors =
            serde_json::from_str(include_str!("../../tests/vectors/specifier_contains.json"))
                .expect("vector file is valid JSON");
        assert!(
            vectors.cases.len() >= 200,
            "only {} cases",
            vectors.cases.len()
        );
        let mut failures = Vec::new();
        for case in &vectors.cases {
            match (case.spec.parse::<Specifier>(), &case.contains) {
                (Err(_), None) => {}
                (Ok(_), None) => failures.push(format!("{:?}: packaging rejects it", case.spec)),
                (Err(e), Some(_)) => failures.push(format!("{:?}: {e}", case.spec)),
                (Ok(spec), Some(bits)) => {
                    for (version, bit) in vectors.versions.iter().zip(bits.chars()) {
                        if spec.contains_str(version) != (bit == '1') {
                            failures.push(format!(
                                "{version:?} in {:?}: packaging says {bit}",
                                case.spec
                            ));
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn a_set_prints_sorted_without_duplicates() {
        let set: Specifiers = "<2, >=1.0,<2".parse().expect("parses");
        assert_eq!(set.to_string(), "<2,>=1.0");
        assert!(set.contains(&"1.5".parse().expect("version")));
        assert!(!set.contains(&"2.0".parse().expect("version")));
    }
}
