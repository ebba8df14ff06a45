//! A conda version: one parser for the literal, conda's `VersionOrder` over it.
//!
//! # The literal
//!
//! ```text
//! version = [epoch "!"] part ["+" part]
//! part    = segment (sep segment)* [sep | sep ("-" | "_")]
//! segment = (digits | letters)+          // and runs of `*` in a package's own version
//! sep     = "." | "-" | "_"              // `-` and `_` never both in one version
//! ```
//!
//! Letters are ASCII and case-insensitive. The [normal form](Version#impl-Display-for-Version)
//! lowercases them and drops leading zeros (`2022.07` is `2022.7`, `1.0RC1` is `1.0rc1`);
//! separators stay as written.
//!
//! The literal is read in one of two modes, which differ only where conda's two readers do:
//! - a package's own version ([`FromStr`]): conda's `VersionOrder` takes `*` as a character
//!   (`1.0*` sorts below `1.0dev`) and numbers of any length (Python integers);
//! - a version inside a version spec ([`crate::conda::spec`]): `*` is a glob and ends the
//!   literal, and a number above 2^64 - 1 is an error, as in rattler.
//!
//! # Order
//!
//! Components are split on `.`, `-` and `_`, and each into runs of digits and non-digits.
//! Integers are compared by value, strings below integers, `post` above every integer, and
//! `dev` below every other string (`*` lower still). A component that starts with a letter
//! gets an implied leading `0`, and missing parts count as `0`, so `1.1 == 1.1.0` and
//! `1.1a < 1.1`. A trailing `-` or `_` (openssl's `1.0.2_`) stays on the last component.
//! The local part after `+` is compared the same way, after the rest.
//!
//! Known differences from conda's own reader, all on inputs no package uses: conda rejects
//! a trailing separator in the local part (`1.0+a_`), which rattler and envaudit accept;
//! conda folds Unicode case (`K`, the Kelvin sign, reads as `k`), envaudit only ASCII.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::version::{Number, valid_first};

/// Orders two conda version strings; a string that is not a conda version sorts below every
/// version, and two such strings compare by their bytes. Total and never panics.
pub fn compare_conda(a: &str, b: &str) -> Ordering {
    valid_first(
        a,
        a.parse::<Version>().ok(),
        b,
        b.parse::<Version>().ok(),
        Ord::cmp,
    )
}

/// A conda version: its normal form, and its components for ordering and matching.
///
/// Equality follows the order (`1.1 == 1.1.0`), and so does [`Hash`]; [`Display`] prints
/// the normal form of the text as written (`1.1` and `1.1.0` print differently).
///
/// [`Display`]: fmt::Display
#[derive(Clone, Debug)]
pub struct Version {
    /// The normal form (see the module documentation).
    text: String,
    /// The epoch (`0` when absent) is the first component.
    version: Vec<Component>,
    local: Vec<Component>,
}

/// Why a string is not a conda version; `offset` is a byte offset into the string.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct VersionError {
    /// Where the problem is, in bytes from the start of the string.
    pub offset: usize,
    /// What is wrong, as a lowercase sentence fragment.
    pub message: String,
}

impl VersionError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
        }
    }
}

/// Which reader's rules apply (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A package's own version, as conda's `VersionOrder` reads it.
    Package,
    /// A version inside a version spec, as rattler reads it.
    Spec,
}

impl Version {
    /// The normal form.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `prefix` is a prefix of this version, as a `prefix.*` spec asks (rattler's
    /// reading, which the vectors check): same epoch; every component of `prefix` equal to
    /// this version's, where a component missing here counts as `0`; and the last compared
    /// component of `prefix` may be a prefix of this one's parts (`1.0.1c` starts with
    /// `1.0.1`) only when no later component of `prefix` is compared. The local part is
    /// matched the same way.
    pub fn starts_with(&self, prefix: &Version) -> bool {
        cmp_components(&self.version[..1], &prefix.version[..1]) == Ordering::Equal
            && components_start_with(&self.version[1..], &prefix.version[1..])
            && components_start_with(&self.local, &prefix.local)
    }

    /// conda's `~=base`: at least `base`, and starting with `base` without its last
    /// component (`~=1.4.5` is `>=1.4.5,1.4.*`).
    pub fn is_compatible_with(&self, base: &Version) -> bool {
        let release = &base.version[1..];
        self >= base
            && cmp_components(&self.version[..1], &base.version[..1]) == Ordering::Equal
            && components_start_with(&self.version[1..], &release[..release.len() - 1])
            && components_start_with(&self.local, &base.local)
    }
}

impl FromStr for Version {
    type Err = VersionError;

    /// Reads a package's own version (surrounding white space ignored).
    fn from_str(s: &str) -> Result<Self, VersionError> {
        let lead = s.len() - s.trim_start().len();
        let trimmed = s.trim();
        let (version, end) = parse_prefix(trimmed, Mode::Package).map_err(|e| VersionError {
            offset: lead + e.offset,
            ..e
        })?;
        match trimmed[end..].chars().next() {
            None => Ok(version),
            Some(c) => Err(VersionError::new(
                lead + end,
                format!("unexpected `{c}` in version `{trimmed}`"),
            )),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_components(&self.version, &other.version)
            .then_with(|| cmp_components(&self.local, &other.local))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    /// Hashes what the order sees: components without their trailing zeros, so that equal
    /// versions hash alike.
    fn hash<H: Hasher>(&self, state: &mut H) {
        for part in [&self.version, &self.local] {
            let trimmed = trim_components(part);
            trimmed.len().hash(state);
            for component in trimmed {
                component.len().hash(state);
                for p in component {
                    p.hash(state);
                }
            }
        }
    }
}

/// Variants in ascending order: strings < integers < `post`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// Lowercase, except `dev`, kept as `DEV` so that it sorts below `_` and letters as
    /// conda arranges it (`*` is lower still).
    Str(String),
    Int(Number),
    Post,
}

impl Part {
    fn is_zero(&self) -> bool {
        matches!(self, Part::Int(n) if n.is_zero())
    }
}

impl Hash for Part {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Part::Str(s) => (0u8, s).hash(state),
            Part::Int(n) => (1u8, &n.0).hash(state),
            Part::Post => 2u8.hash(state),
        }
    }
}

const FILL: Part = Part::Int(Number(String::new()));

type Component = Vec<Part>;

/// Reads the longest version at the start of `s`; returns it and the bytes it took.
pub(crate) fn parse_prefix(s: &str, mode: Mode) -> Result<(Version, usize), VersionError> {
    let b = s.as_bytes();
    let mut reader = Reader {
        s,
        mode,
        text: String::new(),
        separator: None,
    };
    let mut i = 0;
    let mut epoch = "0";
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && b.get(digits) == Some(&b'!') {
        if mode == Mode::Spec && s[..digits].parse::<u64>().is_err() {
            return Err(VersionError::new(
                0,
                format!("epoch `{}` is too large", &s[..digits]),
            ));
        }
        push_number(&mut reader.text, &s[..digits]);
        reader.text.push('!');
        epoch = &s[..digits];
        i = digits + 1;
    }
    let (main, mut i) = reader.part(i)?;
    let mut local = Vec::new();
    if b.get(i) == Some(&b'+') {
        reader.text.push('+');
        (local, i) = reader.part(i + 1)?;
    }
    let version = std::iter::once(component(epoch))
        .chain(main.iter().map(|c| component(c)))
        .collect();
    let local = local.iter().map(|c| component(c)).collect();
    Ok((
        Version {
            text: reader.text,
            version,
            local,
        },
        i,
    ))
}

/// The state of one read: the normal form so far, and which of `-` and `_` was seen.
struct Reader<'a> {
    s: &'a str,
    mode: Mode,
    text: String,
    separator: Option<u8>,
}

impl Reader<'_> {
    /// `segment (sep segment)*` and a trailing separator; returns the components' texts
    /// (lowercase, as written otherwise; a trailing `-` or `_` is kept as `_`, on the last
    /// component or, after another separator, as a component of its own).
    fn part(&mut self, start: usize) -> Result<(Vec<String>, usize), VersionError> {
        let b = self.s.as_bytes();
        let mut components = Vec::new();
        let Some(mut i) = self.segment(start, &mut components)? else {
            return Err(VersionError::new(
                start,
                "expected a version component such as `2` or `rc`",
            ));
        };
        loop {
            let Some(&sep) = b.get(i).filter(|c| matches!(c, b'.' | b'-' | b'_')) else {
                return Ok((components, i));
            };
            self.check_mix(sep, i)?;
            let mark = self.text.len();
            self.text.push(char::from(sep));
            if let Some(end) = self.segment(i + 1, &mut components)? {
                i = end;
                continue;
            }
            if let Some(&t) = b.get(i + 1).filter(|c| matches!(c, b'-' | b'_')) {
                self.check_mix(t, i + 1)?;
                self.text.push(char::from(t));
                components.push("_".to_owned());
                return Ok((components, i + 2));
            }
            if matches!(sep, b'-' | b'_') {
                if let Some(last) = components.last_mut() {
                    last.push('_');
                }
                return Ok((components, i + 1));
            }
            self.text.truncate(mark);
            return Ok((components, i));
        }
    }

    /// One segment: runs of digits and letters (and of `*` in a package's own version).
    fn segment(
        &mut self,
        start: usize,
        components: &mut Vec<String>,
    ) -> Result<Option<usize>, VersionError> {
        let (s, mode) = (self.s, self.mode);
        let b = s.as_bytes();
        let class = |c: u8| {
            if c.is_ascii_digit() {
                0
            } else if c.is_ascii_alphabetic() {
                1
            } else if c == b'*' && mode == Mode::Package {
                2
            } else {
                3
            }
        };
        let mut i = start;
        let mut raw = String::new();
        while let Some(kind) = b.get(i).map(|&c| class(c)).filter(|&k| k < 3) {
            let end = i + b[i..].iter().take_while(|&&c| class(c) == kind).count();
            let run = &s[i..end];
            if kind == 0 {
                if mode == Mode::Spec && run.parse::<u64>().is_err() {
                    return Err(VersionError::new(
                        i,
                        format!("number `{run}` in version is too large"),
                    ));
                }
                push_number(&mut self.text, run);
                raw.push_str(run);
            } else {
                let lower = run.to_ascii_lowercase();
                self.text.push_str(&lower);
                raw.push_str(&lower);
            }
            i = end;
        }
        if i == start {
            return Ok(None);
        }
        components.push(raw);
        Ok(Some(i))
    }

    fn check_mix(&mut self, sep: u8, at: usize) -> Result<(), VersionError> {
        if matches!(sep, b'-' | b'_') {
            match self.separator {
                None => self.separator = Some(sep),
                Some(prev) if prev != sep => {
                    return Err(VersionError::new(
                        at,
                        "cannot mix `-` and `_` as version separators",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Digits without their leading zeros (`0` for all zeros).
fn push_number(out: &mut String, digits: &str) {
    let trimmed = digits.trim_start_matches('0');
    out.push_str(if trimmed.is_empty() { "0" } else { trimmed });
}

/// Split one component into runs of digits, of `*`, and of anything else.
fn component(text: &str) -> Component {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    if bytes.first().is_some_and(u8::is_ascii_alphabetic) {
        parts.push(FILL);
    }
    let class = |b: u8| match b {
        b'0'..=b'9' => 0,
        b'*' => 1,
        _ => 2,
    };
    let mut start = 0;
    while start < bytes.len() {
        let kind = class(bytes[start]);
        let end = bytes[start..]
            .iter()
            .position(|&b| class(b) != kind)
            .map_or(bytes.len(), |n| start + n);
        let run = &bytes[start..end];
        parts.push(match (kind, run) {
            (0, _) => Part::Int(Number::from_digits(run)),
            (_, b"post") => Part::Post,
            (_, b"dev") => Part::Str("DEV".to_owned()),
            _ => Part::Str(String::from_utf8_lossy(run).into_owned()),
        });
        start = end;
    }
    parts
}

/// Missing components and missing parts count as `0`.
fn cmp_components(a: &[Component], b: &[Component]) -> Ordering {
    let empty = Vec::new();
    for i in 0..a.len().max(b.len()) {
        let (ca, cb) = (a.get(i).unwrap_or(&empty), b.get(i).unwrap_or(&empty));
        for j in 0..ca.len().max(cb.len()) {
            let ord = ca.get(j).unwrap_or(&FILL).cmp(cb.get(j).unwrap_or(&FILL));
            if ord != Ordering::Equal {
                return ord;
            }
        }
    }
    Ordering::Equal
}

/// The components without trailing zero parts, and without trailing empty components:
/// two lists are equal under [`cmp_components`] exactly when these are.
fn trim_components(components: &[Component]) -> Vec<&[Part]> {
    let mut out: Vec<&[Part]> = components
        .iter()
        .map(|c| {
            let keep = c.iter().rposition(|p| !p.is_zero()).map_or(0, |i| i + 1);
            &c[..keep]
        })
        .collect();
    while out.last().is_some_and(|c| c.is_empty()) {
        out.pop();
    }
    out
}

/// See [`Version::starts_with`].
fn components_start_with(version: &[Component], prefix: &[Component]) -> bool {
    let mut longer = false;
    for (i, want) in prefix.iter().enumerate() {
        let Some(have) = version.get(i) else {
            if want.iter().all(Part::is_zero) {
                continue;
            }
            return false;
        };
        if longer {
            return false;
        }
        for j in 0..have.len().max(want.len()) {
            match (have.get(j), want.get(j)) {
                (Some(h), Some(w)) if h != w => return false,
                (Some(_), None) => {
                    longer = true;
                    break;
                }
                (None, Some(w)) if !w.is_zero() => return false,
                _ => {}
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    mod props {
        use super::super::*;
        use std::hash::BuildHasher;
        proptest::proptest! {
            #[test]
            fn order_is_total_and_agrees_with_eq_and_hash(
                a in "[0-9a-cpostdev.*!+_-]{1,10}",
                b in "[0-9a-cpostdev.*!+_-]{1,10}",
            ) {
                let ord = compare_conda(&a, &b);
                proptest::prop_assert_eq!(compare_conda(&b, &a), ord.reverse());
                if let (Ok(x), Ok(y)) = (a.parse::<Version>(), b.parse::<Version>()) {
                    let state = std::collections::hash_map::RandomState::new();
                    proptest::prop_assert_eq!(x == y, ord == Ordering::Equal);
                    if x == y {
                        proptest::prop_assert_eq!(state.hash_one(&x), state.hash_one(&y));
                    }
                    let again: Version = x.to_string().parse().unwrap();
                    proptest::prop_assert_eq!(again.cmp(&x), Ordering::Equal);
                }
            }
        }
    }

    #[test]
    fn display_is_the_normal_form() {
        for (input, normal) in [
            ("2022.07", "2022.7"),
            ("1.0RC1", "1.0rc1"),
            (" 01!1.2-3 ", "1!1.2-3"),
            ("1.0.2_", "1.0.2_"),
            ("1.0*", "1.0*"),
            ("99999999999999999999.1", "99999999999999999999.1"),
            ("1.2+Local.007", "1.2+local.7"),
        ] {
            assert_eq!(v(input).to_string(), normal, "{input:?}");
        }
    }

    #[test]
    fn equal_versions_hash_alike() {
        use std::hash::BuildHasher;
        let same = [
            ("1.1", "1.1.0"),
            ("1.1", "0!1.1.0.0"),
            ("1.a", "1.0a"),
            ("1.2+a", "1.2.0+a.0"),
        ];
        let state = std::collections::hash_map::RandomState::new();
        for (a, b) in same {
            assert_eq!(v(a), v(b), "{a} == {b}");
            assert_eq!(state.hash_one(v(a)), state.hash_one(v(b)), "{a} ~ {b}");
        }
        assert_ne!(v("1.1"), v("1.1a"));
    }

    #[test]
    fn a_spec_literal_stops_at_a_glob_and_limits_numbers() {
        let (version, end) = parse_prefix("1.2.*", Mode::Spec).unwrap();
        assert_eq!((version.as_str(), end), ("1.2", 3));
        let e = parse_prefix("1.99999999999999999999", Mode::Spec).unwrap_err();
        assert_eq!(e.offset, 2);
        assert!("1.99999999999999999999".parse::<Version>().is_ok());
    }

    #[test]
    fn errors_point_at_the_bad_byte() {
        let cases: Vec<String> = ["", "1..0", "1.0_1-2", " 1.0 beta", "+1", "1!2!3"]
            .iter()
            .map(|s| {
                let e = s.parse::<Version>().unwrap_err();
                format!("{s:?} @{}: {}", e.offset, e.message)
            })
            .collect();
        insta::assert_snapshot!(cases.join("\n"), @r#"
        "" @0: expected a version component such as `2` or `rc`
        "1..0" @1: unexpected `.` in version `1..0`
        "1.0_1-2" @5: cannot mix `-` and `_` as version separators
        " 1.0 beta" @4: unexpected ` ` in version `1.0 beta`
        "+1" @0: expected a version component such as `2` or `rc`
        "1!2!3" @3: unexpected `!` in version `1!2!3`
        "#);
    }

    #[test]
    fn prefixes_follow_rattler() {
        let yes = [
            ("1.2.3", "1.2"),
            ("1.2", "1.2.0"),
            ("1.2a", "1.2.0"),
            ("1.0.1c", "1.0.1"),
            ("1.2.post1", "1.2.0"),
            ("1.2+local.1", "1.2+local"),
            ("1!1.2", "1!1"),
        ];
        let no = [
            ("1.20", "1.2"),
            ("1.2", "1.2a"),
            ("1.2a.3", "1.2.3"),
            ("1!1.2", "1.2"),
            ("1.2_1", "1.2.0"),
        ];
        for (a, b) in yes {
            assert!(v(a).starts_with(&v(b)), "{a} starts with {b}");
        }
        for (a, b) in no {
            assert!(!v(a).starts_with(&v(b)), "{a} does not start with {b}");
        }
        assert!(v("1.4.7").is_compatible_with(&v("1.4.5")));
        assert!(!v("1.5").is_compatible_with(&v("1.4.5")));
        assert!(v("2.0").is_compatible_with(&v("1")));
    }
}
