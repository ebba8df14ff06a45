//! conda version specs: `>=1.2,<2|==3`, `1.2.*`, `~=1.4.5`, `*`, and the question a solver
//! asks of them, [`VersionSpec::matches`].
//!
//! # Grammar
//!
//! ```text
//! spec       = and ("|" and)*
//! and        = term ("," term)*
//! term       = "(" spec ")" | "*" | constraint
//! constraint = [op] version [".*" | "*"]
//! op         = "==" | "!=" | "<" | "<=" | ">" | ">=" | "=" | "~="
//! ```
//!
//! with white space allowed around `|` and `,`, and `version` a literal of
//! [`crate::conda::version`]. The meaning follows conda and rattler (lenient mode):
//! - a bare `1.2` is `==1.2`; `1.2.*`, `1.2*` and `=1.2` are the prefix match `1.2.*`;
//! - `!=1.2.*` is the negated prefix match; `>=1.2.*` is `>=1.2` (and `>1.2.*` too);
//! - `*`, `==*`, `>=*`, `<=*`, `=*` and `~=*` match any version; `*` after another
//!   operator is an error, and so is a regular expression (`^...$`).
//!
//! # Normal form
//!
//! [`Display`](VersionSpec#impl-Display-for-VersionSpec) prints rattler's normal form:
//! versions in their normal form, `==` made explicit, prefix matches as `V.*`, no white
//! space, `,` binding tighter than `|`, and parentheses only around an `|` group inside a
//! `,` group. The definition hash covers this text (through the MatchSpec's canonical
//! form), so it must not change.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::conda::version::{self, Mode, Version};

/// A parsed conda version spec.
///
/// Equality compares versions by their order, so `==1.0` equals `==1.0.0`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VersionSpec {
    /// `*`: any version.
    Any,
    /// One comparison with a version.
    Constraint(Operator, Version),
    /// Constraints joined by `,` (all) or `|` (any); never nested in the same logic.
    Group(Logic, Vec<VersionSpec>),
}

/// How a constraint compares a version with its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `==V` (and a bare `V`).
    Eq,
    /// `!=V`.
    Ne,
    /// `>V`.
    Gt,
    /// `>=V`.
    Ge,
    /// `<V`.
    Lt,
    /// `<=V`.
    Le,
    /// `V.*`, `V*` or `=V`: versions that start with `V`.
    StartsWith,
    /// `!=V.*`: versions that do not start with `V`.
    NotStartsWith,
    /// `~=V`: at least `V`, and starting with `V` without its last component.
    Compatible,
}

/// How the members of a group combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Logic {
    /// `,`: every member matches.
    And,
    /// `|`: some member matches.
    Or,
}

/// Why a string is not a version spec; `offset` is a byte offset into the string.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct VersionSpecError {
    /// Where the problem is, in bytes from the start of the string.
    pub offset: usize,
    /// What is wrong, as a lowercase sentence fragment.
    pub message: String,
}

impl VersionSpecError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
        }
    }
}

type Result<T> = std::result::Result<T, VersionSpecError>;

impl VersionSpec {
    /// Whether `version` satisfies this spec, as conda's solver asks it (rattler's reading
    /// of prefixes; see [`Version::starts_with`]).
    pub fn matches(&self, version: &Version) -> bool {
        match self {
            VersionSpec::Any => true,
            VersionSpec::Constraint(op, v) => match op {
                Operator::Eq => version == v,
                Operator::Ne => version != v,
                Operator::Gt => version > v,
                Operator::Ge => version >= v,
                Operator::Lt => version < v,
                Operator::Le => version <= v,
                Operator::StartsWith => version.starts_with(v),
                Operator::NotStartsWith => !version.starts_with(v),
                Operator::Compatible => version.is_compatible_with(v),
            },
            VersionSpec::Group(Logic::And, items) => items.iter().all(|s| s.matches(version)),
            VersionSpec::Group(Logic::Or, items) => items.iter().any(|s| s.matches(version)),
        }
    }

    fn write(&self, out: &mut fmt::Formatter<'_>, parent: Option<Logic>) -> fmt::Result {
        match self {
            VersionSpec::Any => out.write_str("*"),
            VersionSpec::Constraint(Operator::StartsWith, v) => write!(out, "{v}.*"),
            VersionSpec::Constraint(Operator::NotStartsWith, v) => write!(out, "!={v}.*"),
            VersionSpec::Constraint(op, v) => {
                let op = match op {
                    Operator::Eq => "==",
                    Operator::Ne => "!=",
                    Operator::Gt => ">",
                    Operator::Ge => ">=",
                    Operator::Lt => "<",
                    Operator::Le => "<=",
                    _ => "~=",
                };
                write!(out, "{op}{v}")
            }
            VersionSpec::Group(logic, items) => {
                let parens = *logic == Logic::Or && parent == Some(Logic::And);
                if parens {
                    out.write_str("(")?;
                }
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.write_str(if *logic == Logic::And { "," } else { "|" })?;
                    }
                    item.write(out, Some(*logic))?;
                }
                if parens {
                    out.write_str(")")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, None)
    }
}

impl Serialize for VersionSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl FromStr for VersionSpec {
    type Err = VersionSpecError;

    fn from_str(s: &str) -> Result<Self> {
        parse(s).map(|(spec, _)| spec)
    }
}

/// Parses a version spec; the flag says it is a single `=V` written without a glob (conda
/// reads it as `V.*`, which the pin state calls fuzzy).
pub(crate) fn parse(text: &str) -> Result<(VersionSpec, bool)> {
    let mut p = Parser {
        t: text,
        i: 0,
        fuzzy: false,
    };
    let spec = p.or_group()?;
    p.skip_ws();
    if p.i < text.len() {
        return Err(p.error(format!(
            "unexpected `{}` in version constraint `{text}`",
            &text[p.i..].chars().next().unwrap_or(' ')
        )));
    }
    let fuzzy = p.fuzzy && matches!(spec, VersionSpec::Constraint(Operator::StartsWith, _));
    Ok((spec, fuzzy))
}

struct Parser<'a> {
    t: &'a str,
    i: usize,
    /// A `=V` constraint without a glob was seen.
    fuzzy: bool,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> VersionSpecError {
        VersionSpecError::new(self.i, message)
    }

    fn peek(&self) -> Option<u8> {
        self.t.as_bytes().get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn or_group(&mut self) -> Result<VersionSpec> {
        self.separated(b'|', Logic::Or, Self::and_group)
    }

    fn and_group(&mut self) -> Result<VersionSpec> {
        self.separated(b',', Logic::And, Self::term)
    }

    /// `item (sep item)*`, white space allowed around `sep`.
    fn separated(
        &mut self,
        sep: u8,
        logic: Logic,
        item: fn(&mut Self) -> Result<VersionSpec>,
    ) -> Result<VersionSpec> {
        let mut items = vec![item(self)?];
        loop {
            let save = self.i;
            self.skip_ws();
            if self.peek() != Some(sep) {
                self.i = save;
                break;
            }
            self.i += 1;
            self.skip_ws();
            items.push(item(self)?);
        }
        Ok(flatten(logic, items))
    }

    fn term(&mut self) -> Result<VersionSpec> {
        if self.peek() == Some(b'(') {
            self.i += 1;
            self.skip_ws();
            let spec = self.or_group()?;
            self.skip_ws();
            if self.peek() != Some(b')') {
                return Err(self.error("expected `)` to close the version group"));
            }
            self.i += 1;
            return Ok(spec);
        }
        let rest = &self.t[self.i..];
        if rest.starts_with('^') || rest.contains('$') {
            return Err(self.error("regular expressions are not supported in version constraints"));
        }
        if rest.starts_with('*') {
            self.i += 1;
            if self.t[self.i..].starts_with(".*") {
                self.i += 2;
            }
            return Ok(VersionSpec::Any);
        }
        self.constraint()
    }

    fn constraint(&mut self) -> Result<VersionSpec> {
        let op_start = self.i;
        while self
            .peek()
            .is_some_and(|b| matches!(b, b'=' | b'!' | b'<' | b'>' | b'~'))
        {
            self.i += 1;
        }
        let op_text = &self.t[op_start..self.i];
        let op = match op_text {
            "" => None,
            "==" => Some(Operator::Eq),
            "!=" => Some(Operator::Ne),
            "<=" => Some(Operator::Le),
            ">=" => Some(Operator::Ge),
            "<" => Some(Operator::Lt),
            ">" => Some(Operator::Gt),
            "=" => Some(Operator::StartsWith),
            "~=" => Some(Operator::Compatible),
            _ => {
                self.i = op_start;
                return Err(self.error(format!(
                    "invalid operator `{op_text}`; expected one of `==`, `!=`, `<`, `<=`, `>`, `>=`, `=` or `~=`"
                )));
            }
        };
        let v_start = self.i;
        while self.t[self.i..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '!' | '-' | '_' | '.' | '*' | '+'))
        {
            self.i += self.t[self.i..].chars().next().map_or(1, char::len_utf8);
        }
        let version_str = &self.t[v_start..self.i];
        if version_str.is_empty() {
            self.i = v_start;
            return Err(self.error(match op_text {
                "" => "expected a version".to_owned(),
                op => format!("expected a version after `{op}`"),
            }));
        }
        if version_str == "*" {
            return if let Some(
                Operator::Ge
                | Operator::Le
                | Operator::Compatible
                | Operator::StartsWith
                | Operator::Eq,
            ) = op
            {
                Ok(VersionSpec::Any)
            } else {
                self.i = v_start;
                Err(self.error(format!("`*` cannot follow `{op_text}`")))
            };
        }
        let (version, consumed) = match version::parse_prefix(version_str, Mode::Spec) {
            Ok(v) => v,
            Err(e) => {
                self.i = v_start + e.offset;
                return Err(self.error(e.message));
            }
        };
        let rem = &version_str[consumed..];
        let op = match (rem, op) {
            ("", Some(op)) => {
                if op == Operator::StartsWith {
                    self.fuzzy = true;
                }
                op
            }
            ("", None) => Operator::Eq,
            (r, Some(Operator::Ge | Operator::Gt)) if is_star_or_star_dot_star(r) => Operator::Ge,
            ("*" | ".*", Some(Operator::Ne)) => Operator::NotStartsWith,
            (r, Some(op)) if is_star_or_star_dot_star(r) => op,
            ("*" | ".*", None) => Operator::StartsWith,
            (r, None) if looks_like_infinite_starts_with(r) => Operator::StartsWith,
            _ => {
                self.i = v_start + consumed;
                return Err(self.error(if version_str.contains('*') {
                    format!("`*` is only allowed at the end of a version, found `{version_str}`")
                } else {
                    format!("malformed version `{version_str}`: unexpected `{rem}`")
                }));
            }
        };
        Ok(VersionSpec::Constraint(op, version))
    }
}

fn flatten(logic: Logic, items: Vec<VersionSpec>) -> VersionSpec {
    if items.len() == 1 {
        return items.into_iter().next().unwrap_or(VersionSpec::Any);
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            VersionSpec::Group(l, inner) if l == logic => out.extend(inner),
            other => out.push(other),
        }
    }
    VersionSpec::Group(logic, out)
}

fn is_star_or_star_dot_star(input: &str) -> bool {
    if input == "*" {
        return true;
    }
    let mut input = input;
    while let Some(rest) = input.strip_suffix(".*") {
        input = rest;
    }
    input.is_empty()
}

fn looks_like_infinite_starts_with(input: &str) -> bool {
    let mut input = input.strip_suffix('.').unwrap_or(input);
    while !input.is_empty() {
        match input.strip_suffix(".*") {
            Some("") => return true,
            Some(rest) => input = rest,
            None => return false,
        }
    }
    false
}

// ---------------------------------------------------------------------------------------
// Where a positional version constraint ends

/// Where the version constraint at the start of `s[start..end]` ends, as conda's grammar
/// for a positional MatchSpec (`name 1.2,<2 py38_0`, `name=1.2=py38_0`) decides it: what
/// follows is the build. The error points into `s` and names what was expected.
pub(crate) fn constraint_end(s: &str, start: usize, end: usize) -> Result<usize> {
    let rec = Recognizer { s, end };
    match rec.group(start) {
        Ok(e) => Ok(e),
        Err(Fail::Soft(at) | Fail::Hard(at)) => {
            let at = at.min(end);
            let before = s[start..at].trim_end();
            let found = match s[at..end].trim() {
                "" => "the end of the spec".to_owned(),
                rest => format!("`{rest}`"),
            };
            let op_len = before
                .bytes()
                .rev()
                .take_while(|&b| matches!(b, b'=' | b'!' | b'<' | b'>' | b'~'))
                .count();
            let message = if before.ends_with([',', '|']) {
                format!(
                    "expected a version constraint after `{}`, found {found}",
                    &before[before.len() - 1..]
                )
            } else if op_len > 0 {
                format!(
                    "expected a version after `{}`, found {found}",
                    &before[before.len() - op_len..]
                )
            } else {
                format!(
                    "expected a version constraint such as `1.2.3`, `==1.2.3` or `>=1.2,<2`, found {found}"
                )
            };
            Err(VersionSpecError::new(at, message))
        }
    }
}

enum Fail {
    /// Nothing matched here; an alternative may still.
    Soft(usize),
    /// Committed to this alternative and it failed.
    Hard(usize),
}

/// Recognises (without reading values) the extent of a positional version constraint. It
/// is more lenient than [`parse`] on purpose: it finds where the constraint ends, and the
/// parser then says what is wrong inside it.
struct Recognizer<'a> {
    s: &'a str,
    end: usize,
}

impl Recognizer<'_> {
    fn byte(&self, i: usize) -> Option<u8> {
        (i < self.end).then(|| self.s.as_bytes()[i])
    }

    fn ws(&self, mut i: usize) -> usize {
        while self.byte(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        i
    }

    fn group(&self, i: usize) -> std::result::Result<usize, Fail> {
        let mut end = self.item(i)?;
        loop {
            let j = self.ws(end);
            if !matches!(self.byte(j), Some(b',' | b'|')) {
                return Ok(end);
            }
            let k = self.ws(j + 1);
            match self.item(k) {
                Ok(e) => end = e,
                Err(Fail::Soft(_)) => return Ok(end),
                Err(hard) => return Err(hard),
            }
        }
    }

    fn item(&self, i: usize) -> std::result::Result<usize, Fail> {
        if self.byte(i) == Some(b'(') {
            match self.group(i + 1) {
                Ok(e) if self.byte(e) == Some(b')') => return Ok(e + 1),
                Ok(e) => return Err(Fail::Soft(e)),
                Err(Fail::Hard(at)) => return Err(Fail::Hard(at)),
                Err(Fail::Soft(_)) => {}
            }
        }
        if let Some(e) = self.special_equality(i) {
            return Ok(e);
        }
        self.constraint(i)
    }

    /// `=*`, `=1.2.3`, `=1.2.*` or `=1*`.
    fn special_equality(&self, i: usize) -> Option<usize> {
        if self.byte(i) != Some(b'=') {
            return None;
        }
        if let Some(e) = self.version(i + 1) {
            let mut e = e;
            if self.byte(e) == Some(b'.') && self.byte(e + 1) == Some(b'*') {
                e += 2;
            } else if self.byte(e) == Some(b'*') {
                e += 1;
            }
            return Some(e);
        }
        (self.byte(i + 1) == Some(b'*')).then_some(i + 2)
    }

    fn constraint(&self, i: usize) -> std::result::Result<usize, Fail> {
        if self.byte(i) == Some(b'*') {
            let e = i + 1;
            if self.byte(e) == Some(b'.') && self.byte(e + 1) == Some(b'*') {
                return Ok(e + 2);
            }
            return Ok(e);
        }
        let mut j = i;
        let k = self.ws(i);
        if let Some(after) = self.operator(k) {
            j = self.ws(after);
        }
        // Committed: a version must follow.
        if let Some(e) = self.version(j) {
            let mut e = e;
            while matches!(self.byte(e), Some(b'.' | b'*')) {
                e += 1;
            }
            return Ok(e);
        }
        if self.byte(j) == Some(b'*') {
            return Ok(j + 1);
        }
        Err(Fail::Hard(j))
    }

    fn operator(&self, i: usize) -> Option<usize> {
        let two = (self.byte(i), self.byte(i + 1));
        match two {
            (Some(b'=' | b'!' | b'>' | b'<' | b'~'), Some(b'=')) => Some(i + 2),
            (Some(b'=' | b'>' | b'<'), _) => Some(i + 1),
            _ => None,
        }
    }

    /// `[epoch!]components[+components]`, where a component may be a glob `*`.
    fn version(&self, i: usize) -> Option<usize> {
        let mut j = i;
        let digits = self.run(j, |b| b.is_ascii_digit());
        if digits > j && self.byte(digits) == Some(b'!') {
            j = digits + 1;
        }
        let mut e = self.components(j)?;
        if self.byte(e) == Some(b'+') {
            e = self.components(e + 1)?;
        }
        Some(e)
    }

    fn run(&self, mut i: usize, f: impl Fn(u8) -> bool) -> usize {
        while self.byte(i).is_some_and(&f) {
            i += 1;
        }
        i
    }

    fn component(&self, i: usize) -> Option<usize> {
        match self.byte(i)? {
            b if b.is_ascii_alphabetic() => Some(self.run(i, |b| b.is_ascii_alphabetic())),
            b if b.is_ascii_digit() => Some(self.run(i, |b| b.is_ascii_digit())),
            b'*' => Some(i + 1),
            _ => None,
        }
    }

    fn components(&self, i: usize) -> Option<usize> {
        let mut rest = self.component(i)?;
        loop {
            let after_sep = self.run(rest, |b| matches!(b, b'.' | b'-' | b'_'));
            match self.component(after_sep) {
                Some(e) => rest = e,
                None => break,
            }
        }
        Some(self.run(rest, |b| matches!(b, b'_' | b'-')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct File {
        versions: Vec<SpecVector>,
    }

    #[derive(serde::Deserialize)]
    struct SpecVector {
        spec: String,
        #[serde(rename = "str")]
        text: Option<String>,
        #[serde(default)]
        matches: std::collections::BTreeMap<String, bool>,
        error: Option<String>,
    }

    #[test]
    fn matches_like_py_rattler() {
        let file: File = serde_json::from_str(include_str!(
            "../../tests/vectors/conda_matchspec_matches.json"
        ))
        .unwrap();
        let mut failures = Vec::new();
        let mut checked = 0;
        for v in &file.versions {
            let parsed = v.spec.parse::<VersionSpec>();
            match (&parsed, &v.error) {
                (Err(_), Some(_)) => continue,
                (Ok(s), Some(_)) => {
                    failures.push(format!("{}: rattler rejects, we parsed {s}", v.spec));
                }
                (Err(e), None) => failures.push(format!("{}: rejected: {e}", v.spec)),
                (Ok(_), None) => {}
            }
            let Ok(spec) = parsed else { continue };
            if Some(spec.to_string()) != v.text {
                failures.push(format!("{}: normal form {spec}, want {:?}", v.spec, v.text));
            }
            for (version, want) in &v.matches {
                checked += 1;
                let got = spec.matches(&version.parse().unwrap());
                if got != *want {
                    failures.push(format!("{} vs {version}: {got}, want {want}", v.spec));
                }
            }
        }
        assert!(checked >= 3000, "{checked}");
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    mod props {
        use super::super::*;
        proptest::proptest! {
            #[test]
            fn the_normal_form_is_stable(s in "[0-9a-c.*!+_,|()<>=~ -]{1,16}") {
                if let Ok(spec) = s.parse::<VersionSpec>() {
                    let normal = spec.to_string();
                    let again: VersionSpec = normal.parse().unwrap();
                    proptest::prop_assert_eq!(again.to_string(), normal);
                    proptest::prop_assert_eq!(&again, &spec);
                    for v in ["0", "1.0", "1.2a", "2!1", "1.0+a"] {
                        let v: Version = v.parse().unwrap();
                        proptest::prop_assert_eq!(again.matches(&v), spec.matches(&v));
                    }
                }
            }
        }
    }

    #[test]
    fn display_is_the_normal_form() {
        for (input, normal) in [
            ("1.2*", "1.2.*"),
            ("1.2.*.*", "1.2.*"),
            (">=1.2.*", ">=1.2"),
            (">1.2.*", ">=1.2"),
            ("2022.07", "==2022.7"),
            (">=1.8 , <2 | ==3", ">=1.8,<2|==3"),
            ("(>=1,<2)|(>3,(<4|>5))", ">=1,<2|>3,(<4|>5)"),
            ("!=1.2.*", "!=1.2.*"),
            ("==*", "*"),
        ] {
            let spec: VersionSpec = input.parse().unwrap();
            assert_eq!(spec.to_string(), normal, "{input:?}");
        }
    }

    #[test]
    fn fuzzy_only_for_a_single_equals_without_glob() {
        assert!(parse("=1.2").unwrap().1);
        assert!(!parse("=1.2.*").unwrap().1);
        assert!(!parse("1.2.*").unwrap().1);
        assert!(!parse("=1.2,<2").unwrap().1);
    }

    #[test]
    fn errors_point_into_the_spec() {
        let cases: Vec<String> = [
            "1.2.3.",
            "1.2-3_4",
            "<*",
            "=>1",
            "^1.*$",
            "(1.2",
            ">=1.99999999999999999999",
        ]
        .iter()
        .map(|s| {
            let e = s.parse::<VersionSpec>().unwrap_err();
            format!("{s:?} @{}: {}", e.offset, e.message)
        })
        .collect();
        insta::assert_snapshot!(cases.join("\n"), @r#"
        "1.2.3." @5: malformed version `1.2.3.`: unexpected `.`
        "1.2-3_4" @5: cannot mix `-` and `_` as version separators
        "<*" @1: `*` cannot follow `<`
        "=>1" @0: invalid operator `=>`; expected one of `==`, `!=`, `<`, `<=`, `>`, `>=`, `=` or `~=`
        "^1.*$" @0: regular expressions are not supported in version constraints
        "(1.2" @4: expected `)` to close the version group
        ">=1.99999999999999999999" @4: number `99999999999999999999` in version is too large
        "#);
    }
}
