//! The package queries of `fleet query`: `[ECO:]NAME[SPEC]` or a purl.
//!
//! - A bare `NAME[SPEC]` (`numpy<2`, `openssl>=3`) asks every ecosystem, each reading `SPEC`
//!   with its own grammar. An ecosystem whose grammar does not read `SPEC` is left out (so
//!   `openssl<<3.0.11` asks deb and apk, which have `<<`, and not pip); a `SPEC` no grammar
//!   reads is an error.
//! - A prefix narrows to one ecosystem: `pypi:` (or `pip:`), `conda:`, `deb:`, `apk:`.
//! - `SPEC` may follow the name directly or after spaces (`conda:numpy 1.26.*`), and is:
//!   - pip: PEP 440 specifiers, comma-separated ([`crate::python::Specifiers`]), matched with
//!     pre-releases included (an installed version is what it is), e.g. `numpy>=1.26,<2`;
//!   - conda: a conda version spec ([`crate::conda::VersionSpec`]): `>=3,<3.0.13`, `1.26.*`,
//!     `1.2|1.3`, `==1.26.4`;
//!   - deb: comma-separated `OP VERSION` constraints, all of which must hold, compared with
//!     dpkg's ordering ([`crate::catalog::deb_version`]); `OP` is one of `<<`, `<`, `<=`, `=`,
//!     `==`, `!=`, `>=`, `>`, `>>` (`<` and `>` are strict, as `<<` and `>>`): e.g.
//!     `deb:openssl<3.0.11-1~deb12u2`;
//!   - apk: the same constraints, compared with apk's ordering
//!     ([`crate::catalog::apk_version`]).
//! - A purl (`pkg:pypi/numpy@1.26.4`, `pkg:deb/debian/openssl`, `pkg:conda/openssl@3.0.13`,
//!   `pkg:apk/alpine/musl`) names one ecosystem; its version, when given, is an exact match
//!   in that ecosystem's equality. Its namespace (`debian`, `alpine`), qualifiers and
//!   subpath are ignored.
//! - Names are normalised as the inventory stores them ([`PackageName::new`]: PEP 503 for
//!   pip, lowercase for conda and deb, as written for apk).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::catalog::{apk_version::compare_apk, deb_version::compare_deb};
use crate::model::{Ecosystem, PackageName};

/// The longest query [`PackageQuery::from_str`] reads (a bound on hostile input).
pub const MAX_QUERY_LEN: usize = 1024;

/// One parsed package query: for each ecosystem it asks, a name and a version matcher.
#[derive(Clone, Debug)]
pub struct PackageQuery {
    text: String,
    arms: Vec<QueryArm>,
}

/// One ecosystem's part of a [`PackageQuery`].
#[derive(Clone, Debug)]
pub struct QueryArm {
    /// The ecosystem.
    pub ecosystem: Ecosystem,
    /// The name, normalised for that ecosystem.
    pub name: PackageName,
    /// Which versions match.
    pub versions: VersionMatcher,
}

/// The versions a [`QueryArm`] matches.
#[derive(Clone, Debug)]
pub enum VersionMatcher {
    /// Every version.
    Any,
    /// PEP 440 specifiers, all of which must hold.
    Pip(crate::python::Specifiers),
    /// A conda version spec.
    Conda(crate::conda::VersionSpec),
    /// Debian constraints, all of which must hold.
    Deb(Vec<Constraint>),
    /// Alpine constraints, all of which must hold.
    Apk(Vec<Constraint>),
}

/// `OP VERSION` in a Debian or Alpine query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    /// The comparison.
    pub op: Comparison,
    /// The version, as written.
    pub version: String,
}

/// A comparison operator of a Debian or Alpine constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `<` or `<<`.
    Less,
    /// `<=`.
    LessEqual,
    /// `=` or `==`.
    Equal,
    /// `!=`.
    NotEqual,
    /// `>=`.
    GreaterEqual,
    /// `>` or `>>`.
    Greater,
}

impl Comparison {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Comparison::Less => o == Ordering::Less,
            Comparison::LessEqual => o != Ordering::Greater,
            Comparison::Equal => o == Ordering::Equal,
            Comparison::NotEqual => o != Ordering::Equal,
            Comparison::GreaterEqual => o != Ordering::Less,
            Comparison::Greater => o == Ordering::Greater,
        }
    }
}

/// A query that is not `[ECO:]NAME[SPEC]` or a purl; the message says why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{query}` is not a package query: {reason}")]
pub struct QueryError {
    /// The query as given (cut to [`MAX_QUERY_LEN`]).
    pub query: String,
    /// Why.
    pub reason: String,
}

impl PackageQuery {
    /// The query as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The ecosystems it asks, each with its name and matcher.
    pub fn arms(&self) -> &[QueryArm] {
        &self.arms
    }
}

impl fmt::Display for PackageQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for PackageQuery {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl QueryArm {
    /// Whether a package of this arm's name, at `version` (with conda `build`), matches.
    pub fn matches(&self, version: &str) -> bool {
        match &self.versions {
            VersionMatcher::Any => true,
            VersionMatcher::Pip(specs) => specs.iter().all(|s| s.contains_str(version)),
            VersionMatcher::Conda(spec) => version
                .parse::<crate::conda::Version>()
                .is_ok_and(|v| spec.matches(&v)),
            VersionMatcher::Deb(cs) => cs
                .iter()
                .all(|c| c.op.holds(compare_deb(version, &c.version))),
            VersionMatcher::Apk(cs) => cs
                .iter()
                .all(|c| c.op.holds(compare_apk(version, &c.version))),
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')
}

impl FromStr for PackageQuery {
    type Err = QueryError;

    fn from_str(text: &str) -> Result<Self, QueryError> {
        let bad = |reason: String| QueryError {
            query: text.chars().take(MAX_QUERY_LEN).collect(),
            reason,
        };
        if text.len() > MAX_QUERY_LEN {
            return Err(bad(format!("longer than {MAX_QUERY_LEN} bytes")));
        }
        let t = text.trim();
        if let Some(purl) = t.strip_prefix("pkg:") {
            return parse_purl(purl).map_err(bad).map(|arms| PackageQuery {
                text: t.to_owned(),
                arms,
            });
        }
        let (only, rest) = match t.split_once(':') {
            Some((eco, rest)) if !eco.contains(|c: char| !c.is_ascii_alphabetic()) => {
                let e = match eco.to_ascii_lowercase().as_str() {
                    "pypi" | "pip" => Ecosystem::Pip,
                    "conda" => Ecosystem::Conda,
                    "deb" => Ecosystem::Deb,
                    "apk" => Ecosystem::Apk,
                    _ => {
                        return Err(bad(format!(
                            "unknown ecosystem `{eco}:` (write `pypi:`, `conda:`, `deb:`, `apk:` or a purl `pkg:TYPE/NAME[@VERSION]`)"
                        )));
                    }
                };
                (Some(e), rest)
            }
            _ => (None, t),
        };
        let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        let (name, spec) = rest.split_at(end);
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad(
                "a query starts with a package name, e.g. `numpy<2`, `conda:openssl>=3`, `deb:openssl<<3.0.11`".to_owned(),
            ));
        }
        let spec = spec.trim();
        let ecosystems = match only {
            Some(e) => vec![e],
            None => vec![
                Ecosystem::Pip,
                Ecosystem::Conda,
                Ecosystem::Deb,
                Ecosystem::Apk,
            ],
        };
        let mut arms = Vec::new();
        let mut errors = Vec::new();
        for e in ecosystems {
            match versions(e, spec) {
                Ok(versions) => arms.push(QueryArm {
                    ecosystem: e,
                    name: PackageName::new(e, name),
                    versions,
                }),
                Err(why) => errors.push(format!("{e}: {why}")),
            }
        }
        if arms.is_empty() {
            return Err(bad(format!(
                "no ecosystem reads the version spec `{spec}` ({})",
                errors.join("; ")
            )));
        }
        Ok(PackageQuery {
            text: t.to_owned(),
            arms,
        })
    }
}

/// `SPEC` in ecosystem `e`'s grammar; empty is any version.
fn versions(e: Ecosystem, spec: &str) -> Result<VersionMatcher, String> {
    if spec.is_empty() {
        return Ok(VersionMatcher::Any);
    }
    match e {
        Ecosystem::Pip => {
            let specs: crate::python::Specifiers = spec
                .parse()
                .map_err(|e: crate::python::specifier::InvalidSpecifier| e.to_string())?;
            if specs.is_empty() {
                return Err(format!("`{spec}` holds no specifier"));
            }
            Ok(VersionMatcher::Pip(specs))
        }
        Ecosystem::Conda => spec
            .parse::<crate::conda::VersionSpec>()
            .map(VersionMatcher::Conda)
            .map_err(|e| e.to_string()),
        Ecosystem::Deb => constraints(spec).map(VersionMatcher::Deb),
        Ecosystem::Apk => constraints(spec).map(VersionMatcher::Apk),
    }
}

/// `OP VERSION[, OP VERSION]...`
fn constraints(spec: &str) -> Result<Vec<Constraint>, String> {
    const OPS: [(&str, Comparison); 9] = [
        ("<<", Comparison::Less),
        ("<=", Comparison::LessEqual),
        ("==", Comparison::Equal),
        ("!=", Comparison::NotEqual),
        (">=", Comparison::GreaterEqual),
        (">>", Comparison::Greater),
        ("<", Comparison::Less),
        ("=", Comparison::Equal),
        (">", Comparison::Greater),
    ];
    spec.split(',')
        .map(|part| {
            let part = part.trim();
            let (op, version) = OPS
                .iter()
                .find_map(|(text, op)| part.strip_prefix(text).map(|v| (*op, v.trim())))
                .ok_or_else(|| {
                    format!("`{part}` is not `OP VERSION` with OP one of << < <= = != >= > >>")
                })?;
            if version.is_empty()
                || version
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '=' | '!'))
            {
                return Err(format!("`{part}` has no single version after its operator"));
            }
            Ok(Constraint {
                op,
                version: version.to_owned(),
            })
        })
        .collect()
}

/// `TYPE/[NAMESPACE/]NAME[@VERSION][?QUALIFIERS][#SUBPATH]` after `pkg:`.
fn parse_purl(purl: &str) -> Result<Vec<QueryArm>, String> {
    let purl = purl.split('#').next().unwrap_or("");
    let purl = purl.split('?').next().unwrap_or("");
    let (ty, path) = purl
        .split_once('/')
        .ok_or_else(|| "a purl is `pkg:TYPE/NAME[@VERSION]`".to_owned())?;
    let ecosystem = match ty.to_ascii_lowercase().as_str() {
        "pypi" => Ecosystem::Pip,
        "conda" => Ecosystem::Conda,
        "deb" => Ecosystem::Deb,
        "apk" => Ecosystem::Apk,
        other => {
            return Err(format!(
                "purl type `{other}` is not one the inventory holds (pypi, conda, deb, apk)"
            ));
        }
    };
    let (path, version) = match path.rsplit_once('@') {
        Some((p, v)) => (p, Some(percent_decode(v)?)),
        None => (path, None),
    };
    let name = percent_decode(path.rsplit('/').next().unwrap_or(""))?;
    if name.is_empty() || !name.chars().all(is_name_char) {
        return Err(format!("`{name}` is not a package name"));
    }
    let versions = match version {
        None => VersionMatcher::Any,
        // An exact version: no operators, lists or globs of any grammar.
        Some(v)
            if v.is_empty()
                || v.chars().any(|c| {
                    c.is_whitespace() || matches!(c, ',' | '|' | '<' | '>' | '=' | '!' | '*')
                }) =>
        {
            return Err(format!("`{v}` is not an exact version"));
        }
        Some(v) => match ecosystem {
            Ecosystem::Pip | Ecosystem::Conda => versions(ecosystem, &format!("=={v}"))?,
            Ecosystem::Deb | Ecosystem::Apk => {
                let c = vec![Constraint {
                    op: Comparison::Equal,
                    version: v,
                }];
                if ecosystem == Ecosystem::Deb {
                    VersionMatcher::Deb(c)
                } else {
                    VersionMatcher::Apk(c)
                }
            }
        },
    };
    Ok(vec![QueryArm {
        ecosystem,
        name: PackageName::new(ecosystem, &name),
        versions,
    }])
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding in `{s}`"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{s}` does not decode to UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> PackageQuery {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn ecos(s: &str) -> Vec<String> {
        q(s).arms()
            .iter()
            .map(|a| a.ecosystem.to_string())
            .collect()
    }

    fn holds(s: &str, eco: Ecosystem, version: &str) -> bool {
        q(s).arms()
            .iter()
            .find(|a| a.ecosystem == eco)
            .unwrap_or_else(|| panic!("{s} asks no {eco}"))
            .matches(version)
    }

    #[test]
    fn a_bare_query_asks_every_ecosystem_that_reads_its_spec() {
        assert_eq!(ecos("numpy"), ["pip", "conda", "deb", "apk"]);
        assert_eq!(ecos("numpy<2"), ["pip", "conda", "deb", "apk"]);
        assert_eq!(ecos("openssl<<3.0.11-1~deb12u2"), ["deb", "apk"]);
        assert_eq!(ecos("numpy 1.26.*"), ["conda"]);
        assert_eq!(ecos("pkg:pypi/numpy@1.26.4"), ["pip"]);
        assert_eq!(ecos("pkg:deb/debian/openssl?arch=amd64"), ["deb"]);
        assert_eq!(ecos("PyPI:NumPy>=1"), ["pip"]);
    }

    #[test]
    fn each_ecosystem_compares_with_its_own_ordering() {
        assert!(holds("numpy<2", Ecosystem::Pip, "1.26.4"));
        assert!(!holds("numpy<2", Ecosystem::Pip, "2.0.0"));
        // PEP 440: `<2` leaves out 2's own pre-releases; other pre-releases match.
        assert!(!holds("numpy<2", Ecosystem::Pip, "2.0.0rc1"));
        assert!(holds("numpy<2", Ecosystem::Pip, "1.27.0rc1"));
        assert!(holds("numpy~=1.26.0", Ecosystem::Pip, "1.26.4"));
        assert!(holds(
            "conda:openssl>=3,<3.0.13",
            Ecosystem::Conda,
            "3.0.12"
        ));
        assert!(!holds(
            "conda:openssl>=3,<3.0.13",
            Ecosystem::Conda,
            "3.0.13"
        ));
        assert!(holds("conda:numpy 1.26.*", Ecosystem::Conda, "1.26.4"));
        assert!(holds(
            "deb:openssl<3.0.11-1~deb12u2",
            Ecosystem::Deb,
            "3.0.11-1~deb12u1"
        ));
        assert!(!holds(
            "deb:openssl<3.0.11-1~deb12u2",
            Ecosystem::Deb,
            "3.0.11-1"
        ));
        assert!(holds("deb:openssl>=1:1.0", Ecosystem::Deb, "1:1.0"));
        assert!(!holds("deb:openssl>=1:1.0", Ecosystem::Deb, "9.0"));
        assert!(holds("apk:musl<1.2.4-r1", Ecosystem::Apk, "1.2.4_rc1-r0"));
        assert!(holds("pkg:pypi/Foo_Bar@1.0", Ecosystem::Pip, "1.0.0"));
        assert_eq!(q("pkg:pypi/Foo_Bar@1.0").arms()[0].name.as_str(), "foo-bar");
        assert!(holds(
            "pkg:deb/debian/openssl@3.0.11-1",
            Ecosystem::Deb,
            "3.0.11-1"
        ));
        assert!(!holds(
            "pkg:deb/debian/openssl@3.0.11-1",
            Ecosystem::Deb,
            "3.0.11-2"
        ));
        assert!(holds("numpy", Ecosystem::Deb, "anything"));
        assert!(holds(
            "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64",
            Ecosystem::Deb,
            "3.0.11-1~deb12u2"
        ));
    }

    #[test]
    fn bad_queries_say_why() {
        for bad in [
            "",
            "<2",
            "npm:left-pad",
            "numpy<<<2",
            "pip:numpy<<2",
            "deb:openssl<",
            "pkg:npm/left-pad",
            "pkg:pypi",
            "pkg:pypi/numpy@",
            "pkg:pypi/num%zzpy",
            "pkg:pypi/numpy@1,>0",
        ] {
            let e = bad.parse::<PackageQuery>().unwrap_err();
            assert!(!e.reason.is_empty(), "{bad}");
        }
        insta::assert_snapshot!(
            "pip:numpy<<2".parse::<PackageQuery>().unwrap_err(),
            @"`pip:numpy<<2` is not a package query: no ecosystem reads the version spec `<<2` (pip: `<<2` is not a version specifier)"
        );
        let long = "a".repeat(MAX_QUERY_LEN + 1);
        assert!(long.parse::<PackageQuery>().is_err());
    }
}
