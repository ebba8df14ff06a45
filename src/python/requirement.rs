//! PEP 508 dependency specifiers (<https://peps.python.org/pep-0508/>), one type,
//! [`Requirement`], read two ways:
//! - [`Requirement::parse_pep508`] reads exactly what `packaging.requirements.Requirement`
//!   (packaging 25) accepts, and rejects what it rejects, as `Requires-Dist` holds them;
//!   `tests/vectors/pep508_requirements.json` (made by `scripts/gen-pep508-vectors.py`) holds
//!   the vectors the tests compare against.
//! - [`FromStr`](std::str::FromStr) and [`Requirement::parse_pip`] read a requirement the way
//!   pip reads a line of a requirements file (see [`super::pip_line`]).
//!
//! The versions are [`Specifiers`] and the marker a [`MarkerTree`], parsed with the
//! requirement.
//!
//! # Normal forms
//! - names are PEP 503 normalised ([`PackageName::pip`]); extras are kept as written;
//! - a specifier keeps packaging's text: operator then version, spaces removed (`== 6.1.0`
//!   becomes `==6.1.0`), the version otherwise as written;
//! - a marker is printed as `str(Requirement(...).marker)` prints it ([`MarkerTree`]'s
//!   [`Display`](std::fmt::Display)).
//!
//! # Canonical text
//! [`Requirement::canonical`] is the text hashed and compared across files. It is
//! packaging's `str(Requirement)` with the normalised name:
//! `name[extras sorted, comma-joined]` + the specifiers sorted by their text, without
//! duplicates, joined with `,` + ` @ URL` for a direct reference + `; marker` (` ; marker`
//! after a URL). Unlike packaging, which prints `name@ URL`, the URL is preceded by ` @ `.
//! A requirement without a name (a bare URL or path) starts with its URL. Then
//! ` --hash=<hash>` follows for each hash, sorted, and an editable one starts with `-e `.

use serde::Serialize;

use super::marker::MarkerTree;
use super::pip_line::{is_local, is_vcs_url, vcs_revision, wheel_name_version};
use super::specifier::{Operator, Specifier, Specifiers, operand_prefix};
use crate::model::PackageName;
use crate::model::pin::{Pin, PinState};

const HASH_FRAGMENTS: [&str; 3] = ["sha256", "sha384", "sha512"];

/// A PEP 508 requirement, or one of pip's other forms of a requirement (a URL, a path, an
/// editable install, hashes, a release template).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// `None` for a bare URL or path that names no package.
    pub name: Option<PackageName>,
    /// The extras as written, without duplicates.
    pub extras: Vec<String>,
    /// The version specifiers, in written order.
    pub specifiers: Specifiers,
    /// The environment marker (after `;`).
    pub marker: Option<MarkerTree>,
    /// Direct reference (`name @ URL`, a bare URL, `git+https://...`, a path).
    pub url: Option<String>,
    /// `-e` / `--editable`.
    pub editable: bool,
    /// `--hash=sha256:...` values.
    pub hashes: Vec<String>,
}

/// A requirement that does not parse: where, and what was expected there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRequirement {
    /// Byte offset in the text parsed.
    pub offset: usize,
    /// What is wrong there (lowercase, no trailing period).
    pub message: String,
}

impl InvalidRequirement {
    pub(super) fn new(offset: usize, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
        }
    }

    /// The same error, `by` bytes further into a larger text.
    #[must_use]
    pub fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

impl Requirement {
    /// Parse a PEP 508 requirement exactly as packaging does (no templates, no bare URLs).
    pub fn parse_pep508(s: &str) -> Result<Requirement, InvalidRequirement> {
        Parser::new(s, false).requirement()
    }

    /// How firmly this requirement fixes what pip installs (rules in [`crate::model::pin`]).
    pub fn pin(&self) -> Pin {
        if let Some(t) = self.template() {
            return Pin::new(
                PinState::Template,
                format!("release template `{t}`; resolved only when the asset is published"),
            );
        }
        if self.editable {
            let target = self.url.as_deref().unwrap_or(".");
            let what = if is_local(target) { "local path " } else { "" };
            return Pin::new(
                PinState::Unpinned,
                format!("editable install of {what}`{target}` is not pinned"),
            );
        }
        if let Some(url) = &self.url {
            return pin_url(url, &self.hashes);
        }
        pin_specifiers(&self.specifiers)
    }

    /// Canonical text, as packaging prints a Requirement, with the normalised name,
    /// then ` --hash=...` sorted; `-e ` first for editables (see the module doc).
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        if self.editable {
            out.push_str("-e ");
        }
        if let Some(name) = &self.name {
            out.push_str(name.as_str());
            if !self.extras.is_empty() {
                let mut extras: Vec<&str> = self.extras.iter().map(String::as_str).collect();
                extras.sort_unstable();
                extras.dedup();
                out.push('[');
                out.push_str(&extras.join(","));
                out.push(']');
            }
            out.push_str(&self.specifiers.to_string());
        }
        if let Some(url) = &self.url {
            if self.name.is_some() {
                out.push_str(" @ ");
            }
            out.push_str(url);
        }
        if let Some(marker) = &self.marker {
            if self.url.is_some() {
                out.push(' ');
            }
            out.push_str("; ");
            out.push_str(&marker.to_string());
        }
        let mut hashes: Vec<&str> = self.hashes.iter().map(String::as_str).collect();
        hashes.sort_unstable();
        for h in hashes {
            out.push_str(" --hash=");
            out.push_str(h);
        }
        out
    }

    /// The first release template (`{{…}}`) in a version or the URL, if any.
    pub fn template(&self) -> Option<&str> {
        self.specifiers
            .iter()
            .map(Specifier::version_text)
            .chain(self.url.as_deref())
            .find_map(find_template)
    }

    /// Whether the requirement points at a local path (`.`, `./pkg`, `file:` URL).
    pub fn is_local_path(&self) -> bool {
        self.url.as_deref().is_some_and(is_local)
    }

    /// Whether the requirement is a VCS URL (`git+https://…`).
    pub fn is_vcs(&self) -> bool {
        self.url.as_deref().is_some_and(is_vcs_url)
    }

    /// The version in a wheel URL's file name (pip reads `name==version` from it).
    pub fn wheel_version(&self) -> Option<&str> {
        wheel_name_version(self.url.as_deref()?).map(|(_, v)| v)
    }
}

fn find_template(s: &str) -> Option<&str> {
    let start = s.find("{{")?;
    let len = s[start..].find("}}")?;
    Some(&s[start..start + len + 2])
}

fn pin_specifiers(specs: &Specifiers) -> Pin {
    match &specs[..] {
        [] => Pin::new(PinState::Unpinned, "no version specifier"),
        [one] => match one.operator() {
            Operator::ArbitraryEqual => Pin::new(
                PinState::Exact,
                format!(
                    "exact version `{}` (arbitrary equality `===`)",
                    one.version_text()
                ),
            ),
            Operator::Equal if one.is_wildcard() => Pin::new(
                PinState::Wildcard,
                format!("`{one}` matches any release with that prefix"),
            ),
            Operator::Equal => Pin::new(
                PinState::Exact,
                format!("exact version `{}`", one.version_text()),
            ),
            Operator::Compatible => Pin::new(
                PinState::Range,
                format!("`{one}` allows any compatible release"),
            ),
            Operator::NotEqual => Pin::new(
                PinState::Range,
                format!("`{one}` excludes one version and allows all others"),
            ),
            _ => Pin::new(
                PinState::Range,
                format!("`{one}` allows a range of versions"),
            ),
        },
        many => {
            let mut texts: Vec<String> = many.iter().map(ToString::to_string).collect();
            texts.sort();
            let joined = texts.join(",");
            let exact = many.iter().any(|s| match s.operator() {
                Operator::ArbitraryEqual => true,
                Operator::Equal => !s.is_wildcard(),
                _ => false,
            });
            if exact {
                Pin::new(
                    PinState::Range,
                    format!(
                        "several specifiers (`{joined}`) are effectively exact, but only a single `==` counts as pinned"
                    ),
                )
            } else {
                Pin::new(
                    PinState::Range,
                    format!("several specifiers (`{joined}`) allow a range of versions"),
                )
            }
        }
    }
}

fn pin_url(url: &str, hashes: &[String]) -> Pin {
    if is_local(url) {
        return Pin::new(
            PinState::Unpinned,
            format!("local path `{url}` is not pinned"),
        );
    }
    if is_vcs_url(url) {
        return match vcs_revision(url) {
            Some(rev) if is_commit(rev) => {
                Pin::new(PinState::Exact, format!("pinned to commit `{rev}`"))
            }
            Some(rev) => Pin::new(
                PinState::Unpinned,
                format!(
                    "`@{rev}` is a tag or branch, and a tag or branch can move; pin a full commit"
                ),
            ),
            None => Pin::new(
                PinState::Unpinned,
                "VCS URL without a revision installs whatever the default branch holds",
            ),
        };
    }
    if let Some(h) = hashes.first() {
        return Pin::new(
            PinState::Exact,
            format!("direct URL checked by `--hash={h}`"),
        );
    }
    if let Some(h) = url_hash_fragment(url) {
        return Pin::new(PinState::Exact, format!("direct URL checked by `#{h}`"));
    }
    Pin::new(
        PinState::Unpinned,
        "direct URL without `--hash` or `#sha256=` can change",
    )
}

fn is_commit(rev: &str) -> bool {
    matches!(rev.len(), 40 | 64) && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

fn url_hash_fragment(url: &str) -> Option<&str> {
    let (_, fragment) = url.split_once('#')?;
    fragment.split('&').find(|part| {
        part.split_once('=')
            .is_some_and(|(k, v)| HASH_FRAGMENTS.contains(&k) && !v.is_empty())
    })
}

/// The PEP 508 parser, following packaging's `_parser.py` and `_tokenizer.py`; with
/// `templates`, a release template may stand for a version (pip lines of Azure ML assets).
pub(super) struct Parser<'a> {
    s: &'a str,
    pub(super) pos: usize,
    templates: bool,
}

impl<'a> Parser<'a> {
    pub(super) fn new(s: &'a str, templates: bool) -> Self {
        Self {
            s,
            pos: 0,
            templates,
        }
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn prev(&self) -> Option<char> {
        self.s.get(..self.pos).and_then(|s| s.chars().next_back())
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn err(&self, message: impl Into<String>) -> InvalidRequirement {
        InvalidRequirement::new(self.pos, message)
    }

    /// packaging's `WS` token: `[ \t]+`.
    fn ws(&mut self) -> bool {
        let n = self.rest().len() - self.rest().trim_start_matches([' ', '\t']).len();
        self.pos += n;
        n > 0
    }

    /// Python's `\s*`.
    fn space(&mut self) {
        let n = self.rest().len() - self.rest().trim_start_matches(super::is_space).len();
        self.pos += n;
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn boundary_before(&self) -> bool {
        !self.prev().is_some_and(super::is_word)
    }

    /// packaging's `IDENTIFIER`: `\b[a-zA-Z0-9][a-zA-Z0-9._-]*\b`.
    fn identifier(&mut self) -> Option<&'a str> {
        if !self.boundary_before() {
            return None;
        }
        let rest = self.rest();
        let bytes = rest.as_bytes();
        if !bytes.first().is_some_and(u8::is_ascii_alphanumeric) {
            return None;
        }
        let mut end = 1;
        while end < bytes.len()
            && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'.' | b'_' | b'-'))
        {
            end += 1;
        }
        // Back off to a word boundary, as the regex engine does.
        while end > 0 {
            let before = super::is_word(char::from(bytes[end - 1]));
            let after = rest[end..].chars().next().is_some_and(super::is_word);
            if before != after {
                break;
            }
            end -= 1;
        }
        if end == 0 {
            return None;
        }
        self.pos += end;
        Some(&rest[..end])
    }

    pub(super) fn requirement(&mut self) -> Result<Requirement, InvalidRequirement> {
        self.ws();
        let (name, extras) = self.name_and_extras()?;
        self.ws();
        let mut url = None;
        let mut specifiers = Vec::new();
        let mut marker = None;
        if self.eat("@") {
            self.ws();
            let rest = self.rest();
            let len = rest.find([' ', '\t']).unwrap_or(rest.len());
            if len == 0 {
                return Err(self.err("expected a URL after `@`"));
            }
            url = Some(rest[..len].to_owned());
            self.pos += len;
            if self.ws() && !self.at_end() {
                if !self.eat(";") {
                    return Err(self.err("expected `;` and a marker, or the end, after the URL"));
                }
                marker = Some(self.marker()?);
            }
        } else {
            specifiers = self.specifier()?;
            self.ws();
            if !self.at_end() {
                if !self.eat(";") {
                    return Err(self.unexpected_after_specifiers(specifiers.is_empty()));
                }
                marker = Some(self.marker()?);
            }
        }
        self.ws();
        if !self.at_end() {
            return Err(self.err("expected `and`, `or` or the end of the requirement"));
        }
        Ok(Requirement {
            name: Some(PackageName::pip(name)),
            extras,
            specifiers: specifiers.into(),
            marker,
            url,
            editable: false,
            hashes: Vec::new(),
        })
    }

    fn unexpected_after_specifiers(&self, none: bool) -> InvalidRequirement {
        let rest = self.rest();
        if none && rest.starts_with('=') {
            return self.err("expected a version operator (`==`, `>=`, …); `=` alone is not one");
        }
        if none && rest.starts_with("=>") {
            return self.err("expected a version operator; did you mean `>=`?");
        }
        if none {
            self.err(
                "expected a version specifier (like `>=1.0`), `;` or the end of the requirement",
            )
        } else {
            self.err("expected `,` and another specifier, `;` or the end of the requirement")
        }
    }

    pub(super) fn name_and_extras(&mut self) -> Result<(&'a str, Vec<String>), InvalidRequirement> {
        let Some(name) = self.identifier() else {
            return Err(self.err(
                "expected a package name (letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit)",
            ));
        };
        self.ws();
        let extras = self.extras()?;
        Ok((name, extras))
    }

    pub(super) fn extras(&mut self) -> Result<Vec<String>, InvalidRequirement> {
        if !self.eat("[") {
            return Ok(Vec::new());
        }
        self.ws();
        let mut extras: Vec<String> = Vec::new();
        if let Some(first) = self.identifier() {
            extras.push(first.to_owned());
            loop {
                self.ws();
                let save = self.pos;
                if self.identifier().is_some() {
                    self.pos = save;
                    return Err(self.err("expected `,` between extra names"));
                }
                if !self.eat(",") {
                    break;
                }
                self.ws();
                match self.identifier() {
                    Some(x) => {
                        if !extras.iter().any(|e| e == x) {
                            extras.push(x.to_owned());
                        }
                    }
                    None => return Err(self.err("expected an extra name after `,`")),
                }
            }
        }
        self.ws();
        if !self.eat("]") {
            return Err(self.err("expected `,` or `]` to close the extras"));
        }
        Ok(extras)
    }

    fn specifier(&mut self) -> Result<Vec<Specifier>, InvalidRequirement> {
        let paren = self.eat("(");
        if paren {
            self.ws();
        }
        let specs = self.version_many()?;
        if paren {
            self.ws();
            if !self.eat(")") {
                return Err(self.err("expected `)` to close the version specifier"));
            }
        }
        Ok(specs)
    }

    fn version_many(&mut self) -> Result<Vec<Specifier>, InvalidRequirement> {
        let mut specs = Vec::new();
        loop {
            let start = self.pos;
            let Some(spec) = self.one_specifier()? else {
                if !specs.is_empty() {
                    // After a comma: packaging stops; anything other than the end, `;` or `)`
                    // is then an error.
                    let rest = self.rest().trim_start_matches([' ', '\t']);
                    if !(rest.is_empty() || rest.starts_with([';', ')'])) {
                        return Err(self.err("expected a version specifier after `,`"));
                    }
                }
                break;
            };
            if self.rest().starts_with(".*") {
                return Err(InvalidRequirement::new(
                    start,
                    "a `.*` suffix can only be used with `==` or `!=`",
                ));
            }
            let mut rest = self.rest().chars();
            if rest.next() == Some('+') && rest.next().is_some_and(|c| c.is_ascii_alphanumeric()) {
                return Err(InvalidRequirement::new(
                    start,
                    "a local version label (`+…`) can only be used with `==` or `!=`",
                ));
            }
            if spec.operator() == Operator::ArbitraryEqual && spec.version_text().contains(',') {
                // packaging's `SpecifierSet` splits the token text at every comma.
                self.split_arbitrary(&spec, &mut specs)?;
            } else {
                specs.push(spec);
            }
            self.ws();
            if !self.eat(",") {
                break;
            }
            self.ws();
        }
        Ok(specs)
    }

    /// `===1.0,>=2` is one token for packaging's tokenizer, then split at the commas.
    fn split_arbitrary(
        &self,
        spec: &Specifier,
        specs: &mut Vec<Specifier>,
    ) -> Result<(), InvalidRequirement> {
        let text = spec.version_text();
        let base = self.pos - text.len();
        let mut offset = 0;
        for (i, piece) in text.split(',').enumerate() {
            let at = base + offset;
            offset += piece.len() + 1;
            if i == 0 {
                specs.push(Specifier::arbitrary(piece.trim()));
                continue;
            }
            if piece.trim().is_empty() {
                continue;
            }
            let mut p = Parser::new(piece, false);
            p.space();
            let parsed = p.one_specifier().map_err(|e| e.shifted(at))?;
            p.space();
            match parsed {
                Some(s) if p.at_end() => specs.push(s),
                _ => {
                    return Err(InvalidRequirement::new(
                        at + p.pos,
                        "expected a version specifier after `,`",
                    ));
                }
            }
        }
        Ok(())
    }

    /// One `SPECIFIER` token; `Ok(None)` when no operator starts here.
    fn one_specifier(&mut self) -> Result<Option<Specifier>, InvalidRequirement> {
        let Some((op, len)) = Operator::parse_prefix(self.rest()) else {
            return Ok(None);
        };
        self.pos += len;
        self.space();
        let start = self.pos;
        if op != Operator::ArbitraryEqual && self.templates && self.rest().starts_with("{{") {
            let Some(end) = self.rest().find("}}") else {
                return Err(self.err("expected `}}` to close the release template"));
            };
            self.pos += end + 2;
            return Ok(Some(Specifier::template(op, &self.s[start..self.pos])));
        }
        let Some((target, len)) = operand_prefix(op, self.rest()) else {
            let what = match op {
                Operator::Compatible => "a version with at least two parts (like `1.4`)",
                _ => "a version",
            };
            return Err(self.err(format!("expected {what} after `{op}`")));
        };
        self.pos += len;
        Ok(Some(Specifier::new(op, &self.s[start..self.pos], target)))
    }

    /// `marker` after the `;`, up to the end of its trailing whitespace.
    fn marker(&mut self) -> Result<MarkerTree, InvalidRequirement> {
        let (tree, end) = MarkerTree::parse_at(self.s, self.pos)
            .map_err(|(offset, problem)| InvalidRequirement::new(offset, problem.to_string()))?;
        self.pos = end;
        Ok(tree)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::Value;

    /// A JSON file of `tests/vectors/`, the one home of the oracles' vectors.
    pub(crate) fn vector(file: &str) -> Value {
        let full = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/").to_owned() + file;
        let text = std::fs::read_to_string(&full).expect("vector file exists");
        serde_json::from_str(&text).expect("vector file is JSON")
    }

    pub(crate) fn str_list(v: &Value) -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|s| s.as_str().expect("string").to_owned())
            .collect()
    }

    pub(crate) fn sorted_specs(r: &Requirement) -> Vec<String> {
        let mut s: Vec<String> = r.specifiers.iter().map(ToString::to_string).collect();
        s.sort();
        s.dedup();
        s
    }

    fn err(s: &str) -> String {
        let e = s.parse::<Requirement>().expect_err("should not parse");
        format!("{}\n{}^ {}", s, " ".repeat(e.offset), e.message)
    }

    #[test]
    fn agrees_with_every_packaging_vector() {
        let v = vector("pep508_requirements.json");
        assert_eq!(v["packaging_version"], "25.0");
        let accepted = v["accepted"].as_array().expect("accepted");
        assert!(accepted.len() >= 150, "only {} vectors", accepted.len());
        for case in accepted {
            let input = case["input"].as_str().expect("input");
            for (how, parsed) in [
                ("strict", Requirement::parse_pep508(input)),
                ("line", input.parse()),
            ] {
                let r = parsed.unwrap_or_else(|e| panic!("{how} rejects {input:?}: {e}"));
                let name = case["name"].as_str().expect("name");
                assert_eq!(r.name, Some(PackageName::pip(name)), "{input:?}");
                let mut extras = r.extras.clone();
                extras.sort();
                assert_eq!(extras, str_list(&case["extras"]), "{input:?}");
                assert_eq!(sorted_specs(&r), str_list(&case["specifiers"]), "{input:?}");
                assert_eq!(
                    r.marker.as_ref().map(ToString::to_string).as_deref(),
                    case["marker"].as_str(),
                    "{input:?}"
                );
                assert_eq!(r.url.as_deref(), case["url"].as_str(), "{input:?}");
                // packaging prints `name@ URL`; the canonical form has ` @ ` (module doc)
                let packaging = case["str"].as_str().expect("str");
                let expected = match packaging.split_once("@ ") {
                    Some((left, right)) if r.url.is_some() => {
                        let bare = left.trim_start_matches(|c: char| c != '[' && c != '@');
                        format!("{}{bare} @ {right}", PackageName::pip(name))
                    }
                    _ => {
                        let rest = packaging
                            .strip_prefix(name)
                            .expect("str starts with the name");
                        format!("{}{rest}", PackageName::pip(name))
                    }
                };
                assert_eq!(r.canonical(), expected, "{input:?}");
            }
        }
    }

    #[test]
    fn rejects_what_packaging_rejects() {
        let v = vector("pep508_requirements.json");
        let rejected = v["rejected"].as_array().expect("rejected");
        assert!(rejected.len() >= 40);
        for case in rejected {
            let input = case["input"].as_str().expect("input");
            let e = Requirement::parse_pep508(input).expect_err(input);
            assert!(e.offset <= input.len(), "{input:?}: offset {}", e.offset);
            assert!(!e.message.ends_with('.'), "{}", e.message);
        }
    }

    #[test]
    fn pin_states_follow_the_rules() {
        let state = |s: &str| s.parse::<Requirement>().expect(s).pin().state;
        let sha = "3f786850e387550fdab836ed7e6dc881de23001b";
        assert_eq!(state("numpy==1.24.3"), PinState::Exact);
        assert_eq!(state("numpy===1.24.3"), PinState::Exact);
        assert_eq!(state("numpy==1.24.*"), PinState::Wildcard);
        assert_eq!(state("numpy~=1.24.3"), PinState::Range);
        assert_eq!(state("numpy!=1.24.0"), PinState::Range);
        assert_eq!(state("numpy>=1.24,<2"), PinState::Range);
        assert_eq!(state("numpy >= 1.24 , == 1.24.3"), PinState::Range);
        assert_eq!(state("numpy"), PinState::Unpinned);
        assert_eq!(
            state("x @ https://e.com/x-1.0-py3-none-any.whl"),
            PinState::Unpinned
        );
        assert_eq!(
            state("x @ https://e.com/x-1.0.tar.gz#sha256=abc"),
            PinState::Exact
        );
        assert_eq!(
            state("https://e.com/x-1.0-py3-none-any.whl --hash=sha256:abc"),
            PinState::Exact
        );
        assert_eq!(
            state(&format!("git+https://g.com/o/r.git@{sha}#egg=r")),
            PinState::Exact
        );
        assert_eq!(
            state("git+https://g.com/o/r.git@v1.0#egg=r"),
            PinState::Unpinned
        );
        assert_eq!(
            state("git+https://github.com/huggingface/peft.git"),
            PinState::Unpinned
        );
        assert_eq!(state("./pkg"), PinState::Unpinned);
        assert_eq!(state("-e ."), PinState::Unpinned);
        assert_eq!(state("x @ file:///tmp/x"), PinState::Unpinned);
        assert_eq!(state("pkg=={{latest-pypi-version}}"), PinState::Template);
        assert_eq!(
            state("pkg[x]~={{latest-pypi-version:1.2}}"),
            PinState::Template
        );
    }

    #[test]
    fn pin_reasons_are_short_sentences() {
        let reason = |s: &str| s.parse::<Requirement>().expect(s).pin().reason;
        insta::assert_snapshot!(reason("numpy==1.24.3"), @"exact version `1.24.3`");
        insta::assert_snapshot!(reason("numpy==1.24.*"), @"`==1.24.*` matches any release with that prefix");
        insta::assert_snapshot!(reason("numpy>=1.24"), @"`>=1.24` allows a range of versions");
        insta::assert_snapshot!(reason("numpy >= 1.24 , == 1.24.3"), @"several specifiers (`==1.24.3,>=1.24`) are effectively exact, but only a single `==` counts as pinned");
        insta::assert_snapshot!(reason("numpy"), @"no version specifier");
        insta::assert_snapshot!(reason("x @ git+https://g.com/o/r.git@v1.0"), @"`@v1.0` is a tag or branch, and a tag or branch can move; pin a full commit");
        insta::assert_snapshot!(reason("x @ https://e.com/x.tar.gz"), @"direct URL without `--hash` or `#sha256=` can change");
        insta::assert_snapshot!(reason("-e ./local_pkg"), @"editable install of local path `./local_pkg` is not pinned");
        insta::assert_snapshot!(reason("./pkg"), @"local path `./pkg` is not pinned");
        insta::assert_snapshot!(reason("-e git+https://g.com/o/r@main#egg=r"), @"editable install of `git+https://g.com/o/r@main#egg=r` is not pinned");
        insta::assert_snapshot!(reason("mltable=={{latest-pypi-version}}"), @"release template `{{latest-pypi-version}}`; resolved only when the asset is published");
    }

    #[test]
    fn templates_keep_their_text() {
        let r: Requirement = "pkg[x]~={{latest-pypi-version:1.2}}; python_version>'3'"
            .parse()
            .expect("parses");
        assert_eq!(r.specifiers[0].operator().as_str(), "~=");
        assert_eq!(
            r.specifiers[0].version_text(),
            "{{latest-pypi-version:1.2}}"
        );
        assert_eq!(
            r.canonical(),
            "pkg[x]~={{latest-pypi-version:1.2}}; python_version > \"3\""
        );
        assert!(Requirement::parse_pep508("pkg=={{latest-pypi-version}}").is_err());
    }

    #[test]
    fn canonical_sorts_extras_specifiers_and_hashes() {
        let r: Requirement =
            "Foo_Bar[b,a] (<2, >=1) ; python_version>'3.8' --hash=sha256:bb --hash sha256:aa"
                .parse()
                .expect("parses");
        assert_eq!(
            r.canonical(),
            "foo-bar[a,b]<2,>=1; python_version > \"3.8\" --hash=sha256:aa --hash=sha256:bb"
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        insta::assert_snapshot!(err("numpy=="), @r"
        numpy==
               ^ expected a version after `==`
        ");
        insta::assert_snapshot!(err("numpy=1.0"), @r"
        numpy=1.0
             ^ expected a version operator (`==`, `>=`, …); `=` alone is not one
        ");
        insta::assert_snapshot!(err("numpy~=1"), @r"
        numpy~=1
               ^ expected a version with at least two parts (like `1.4`) after `~=`
        ");
        insta::assert_snapshot!(err("numpy>=1.0.*"), @r"
        numpy>=1.0.*
             ^ a `.*` suffix can only be used with `==` or `!=`
        ");
        insta::assert_snapshot!(err("numpy[a b]"), @r"
        numpy[a b]
                ^ expected `,` between extra names
        ");
        insta::assert_snapshot!(err("numpy; python_version >= 3.8"), @r#"
        numpy; python_version >= 3.8
                                 ^ expected a marker variable (like `python_version`) or a quoted string
        "#);
        insta::assert_snapshot!(err("numpy; python_version = '3'"), @r#"
        numpy; python_version = '3'
                              ^ expected a marker operator (`==`, `!=`, `<`, `<=`, `>`, `>=`, `~=`, `===`, `in` or `not in`)
        "#);
        insta::assert_snapshot!(err("numpy (>=1.0"), @r"
        numpy (>=1.0
                    ^ expected `)` to close the version specifier
        ");
        insta::assert_snapshot!(err("x @ https://e.com/x.whl extra"), @r"
        x @ https://e.com/x.whl extra
                                ^ expected `;` and a marker, or the end, after the URL
        ");
        insta::assert_snapshot!(err("pkg=={{latest-pypi-version"), @r"
        pkg=={{latest-pypi-version
             ^ expected `}}` to close the release template
        ");
        insta::assert_snapshot!(err("numpy --index-url x"), @r"
        numpy --index-url x
              ^ unexpected option `--index-url`; only `-e` and `--hash` go with a requirement
        ");
        insta::assert_snapshot!(err("-e"), @r"
        -e
          ^ expected a value after `--editable`
        ");
    }

    #[test]
    fn deeply_nested_markers_are_an_error_not_a_stack_overflow() {
        let s = format!(
            "x; {}python_version > '3'{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let e = Requirement::parse_pep508(&s).expect_err("too deep");
        insta::assert_snapshot!(e.message, @"marker groups nested deeper than 64 levels");
        let ok = format!(
            "x; {}python_version > '3'{}",
            "(".repeat(60),
            ")".repeat(60)
        );
        assert_eq!(
            Requirement::parse_pep508(&ok)
                .expect("parses")
                .marker
                .map(|m| m.to_string())
                .as_deref(),
            Some("python_version > \"3\"")
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_input(s in "\\PC{0,60}") {
            let _ = s.parse::<Requirement>();
            let _ = Requirement::parse_pep508(&s);
        }

        #[test]
        fn never_panics_on_requirement_like_input(s in "[a-z_.\\-]{0,6}[ \\[\\](),;@=<>!~*.0-9a-z'\"+{}#]{0,30}") {
            if let Ok(r) = s.parse::<Requirement>() {
                let _ = (r.pin(), r.canonical());
            }
            let _ = Requirement::parse_pep508(&s);
        }
    }
}
