//! PEP 508 dependency specifiers as pip reads them in requirements files.
//!
//! Two entry points:
//! - [`parse_pep508`] reads exactly what `packaging.requirements.Requirement` (packaging 25)
//!   accepts, and rejects what it rejects; `fixtures/pep508/packaging_vectors.json` (made by
//!   `scripts/gen-pep508-vectors.py`) holds the vectors the tests compare against.
//! - [`FromStr`] for [`PipRequirement`] reads one requirement the way pip reads a line of a
//!   requirements file: besides PEP 508 it takes bare URLs and VCS URLs (`git+https://…@ref`,
//!   named by `#egg=` or, for wheels, by the wheel file name), local paths (`.`, `./pkg`),
//!   `-e`/`--editable`, `--hash=…` options, and release templates in place of a version
//!   (`pkg=={{latest-pypi-version}}`), which Azure ML asset files contain.
//!
//! # Normal forms
//! - names are PEP 503 normalised ([`PackageName::pip`]); extras are kept as written;
//! - a specifier keeps packaging's text: operator then version, spaces removed (`== 6.1.0`
//!   becomes `==6.1.0`), the version otherwise as written;
//! - a marker is printed as `str(Requirement(...).marker)` prints it: variables with `.`
//!   spelled with `_` (`os.name` → `os_name`), `python_implementation` as
//!   `platform_python_implementation`, values in double quotes, one space around operators
//!   and `and`/`or`, parentheses kept where packaging keeps them, and an `extra` value in the
//!   first clause normalised like a name.
//!
//! # Canonical text
//! [`PipRequirement::canonical`] is the text hashed and compared across files. It is
//! packaging's `str(Requirement)` with the normalised name:
//! `name[extras sorted, comma-joined]` + the specifiers sorted by their text, without
//! duplicates, joined with `,` + ` @ URL` for a direct reference + `; marker` (` ; marker`
//! after a URL). Unlike packaging, which prints `name@ URL`, the URL is preceded by ` @ `.
//! A requirement without a name (a bare URL or path) starts with its URL. Then
//! ` --hash=<hash>` follows for each hash, sorted, and an editable one starts with `-e `.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::model::PackageName;
use crate::model::pin::{Pin, PinState};

/// One version specifier, e.g. `>=1.24`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Specifier {
    /// `==`, `===`, `!=`, `~=`, `<`, `<=`, `>`, `>=`.
    pub operator: String,
    pub version: String,
}

impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.operator, self.version)
    }
}

/// A parsed pip requirement line (without requirements-file options).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PipRequirement {
    /// `None` for a bare URL with no `#egg=` name.
    pub name: Option<PackageName>,
    pub extras: Vec<String>,
    pub specifiers: Vec<Specifier>,
    /// The marker in packaging's normal form (`python_version >= "3.8"`).
    pub marker: Option<String>,
    /// Direct reference (`name @ URL`, a bare URL, `git+https://...`).
    pub url: Option<String>,
    /// `-e` / `--editable`.
    pub editable: bool,
    /// `--hash=sha256:...` values.
    pub hashes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Pep508Error {
    pub offset: usize,
    pub message: String,
}

impl Pep508Error {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
        }
    }

    /// The same error, `by` bytes further into a larger text.
    pub fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

const VCS_PREFIXES: [&str; 4] = ["git+", "hg+", "svn+", "bzr+"];
const HASH_FRAGMENTS: [&str; 3] = ["sha256", "sha384", "sha512"];
const ARCHIVE_SUFFIXES: [&str; 9] = [
    ".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar",
];

impl PipRequirement {
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
            let mut specs: Vec<String> = self.specifiers.iter().map(ToString::to_string).collect();
            specs.sort();
            specs.dedup();
            out.push_str(&specs.join(","));
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
            out.push_str(marker);
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
            .map(|s| s.version.as_str())
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

fn pin_specifiers(specs: &[Specifier]) -> Pin {
    match specs {
        [] => Pin::new(PinState::Unpinned, "no version specifier"),
        [one] => match one.operator.as_str() {
            "===" => Pin::new(
                PinState::Exact,
                format!("exact version `{}` (arbitrary equality `===`)", one.version),
            ),
            "==" if one.version.ends_with(".*") => Pin::new(
                PinState::Wildcard,
                format!("`{one}` matches any release with that prefix"),
            ),
            "==" => Pin::new(PinState::Exact, format!("exact version `{}`", one.version)),
            "~=" => Pin::new(
                PinState::Range,
                format!("`{one}` allows any compatible release"),
            ),
            "!=" => Pin::new(
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
            let exact = many
                .iter()
                .any(|s| s.operator == "===" || (s.operator == "==" && !s.version.ends_with(".*")));
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

/// The URL scheme (lowercased) if the text starts with one pip knows.
fn url_scheme(text: &str) -> Option<String> {
    let (scheme, _) = text.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    let known = matches!(
        scheme.as_str(),
        "http" | "https" | "file" | "ftp" | "git" | "hg" | "svn" | "bzr"
    ) || VCS_PREFIXES
        .iter()
        .any(|p| scheme.len() > p.len() && scheme.starts_with(p));
    let valid = scheme
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (known && valid).then_some(scheme)
}

fn is_url(text: &str) -> bool {
    url_scheme(text).is_some()
}

fn is_vcs_url(url: &str) -> bool {
    url_scheme(url).is_some_and(|s| {
        matches!(s.as_str(), "git" | "hg" | "svn" | "bzr")
            || VCS_PREFIXES.iter().any(|p| s.starts_with(p))
    })
}

fn is_local(url: &str) -> bool {
    match url_scheme(url) {
        None => true,
        Some(s) => s == "file",
    }
}

/// The revision after the last `@` of a VCS URL's path (`git+https://h/r.git@v1.0`).
fn vcs_revision(url: &str) -> Option<&str> {
    let end = url.find(['#', '?']).unwrap_or(url.len());
    let url = &url[..end];
    let path = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            &rest[rest.find('/')?..]
        }
        None => url.split_once(':')?.1,
    };
    let (_, rev) = path.rsplit_once('@')?;
    (!rev.is_empty()).then_some(rev)
}

/// `name` and `version` from a wheel URL or path (`name-version(-build)?-py-abi-plat.whl`).
fn wheel_name_version(url: &str) -> Option<(&str, &str)> {
    let end = url.find(['#', '?']).unwrap_or(url.len());
    let path = &url[..end];
    let file = path.rsplit(['/', '\\']).next()?;
    let stem = file.strip_suffix(".whl")?;
    let mut parts = stem.split('-');
    let name = parts.next().filter(|n| !n.is_empty())?;
    let version = parts.next().filter(|v| !v.is_empty())?;
    (parts.count() >= 3).then_some((name, version))
}

/// The `#egg=` fragment of a URL, with its byte offset in `url`.
fn egg_fragment(url: &str) -> Option<(usize, &str)> {
    let hash = url.find('#')?;
    let mut offset = hash + 1;
    for part in url[hash + 1..].split('&') {
        if let Some(egg) = part.strip_prefix("egg=") {
            return Some((offset + 4, egg));
        }
        offset += part.len() + 1;
    }
    None
}

fn looks_like_path(text: &str) -> bool {
    let bytes = text.as_bytes();
    let drive = bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes[2], b'/' | b'\\');
    if text.starts_with(['.', '/', '\\', '~']) || drive || text.contains('\\') {
        return true;
    }
    if text.contains('@') {
        return false;
    }
    text.contains('/')
        || ARCHIVE_SUFFIXES
            .iter()
            .any(|s| text.to_ascii_lowercase().ends_with(s))
}

/// Parse a PEP 508 requirement exactly as packaging does (no templates, no bare URLs).
pub fn parse_pep508(s: &str) -> Result<PipRequirement, Pep508Error> {
    Parser::new(s, false).requirement()
}

/// Parse a PEP 508 marker expression alone, into packaging's normal form.
pub fn parse_marker(s: &str) -> Result<String, Pep508Error> {
    let mut p = Parser::new(s, false);
    let marker = p.marker()?;
    p.ws();
    if !p.at_end() {
        return Err(p.err("expected `and`, `or` or the end of the marker"));
    }
    Ok(marker)
}

/// Parse the requirement part of a requirements-file line (no options), as pip does:
/// a URL, a local path or a PEP 508 requirement; release templates are allowed in versions.
pub fn parse_requirement_text(text: &str, editable: bool) -> Result<PipRequirement, Pep508Error> {
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Pep508Error::new(lead, "expected a requirement"));
    }
    let mut req = if editable {
        parse_editable(trimmed).map_err(|e| e.shifted(lead))?
    } else if is_url(trimmed) {
        parse_url_line(trimmed).map_err(|e| e.shifted(lead))?
    } else if looks_like_path(trimmed.split(';').next().unwrap_or(trimmed).trim()) {
        parse_path_line(trimmed).map_err(|e| e.shifted(lead))?
    } else {
        Parser::new(text, true).requirement()?
    };
    req.editable = editable;
    Ok(req)
}

fn parse_editable(text: &str) -> Result<PipRequirement, Pep508Error> {
    if is_url(text) {
        let mut req = url_requirement(text, 0)?;
        req.editable = true;
        return Ok(req);
    }
    let (path, extras) = split_path_extras(text, 0)?;
    Ok(PipRequirement {
        name: None,
        extras,
        specifiers: Vec::new(),
        marker: None,
        url: Some(path.to_owned()),
        editable: true,
        hashes: Vec::new(),
    })
}

/// A bare URL, optionally followed by `; marker` (pip splits URLs from markers at `"; "`).
fn parse_url_line(text: &str) -> Result<PipRequirement, Pep508Error> {
    let (url, marker) = match text.find("; ") {
        Some(i) => (&text[..i], Some((i + 2, &text[i + 2..]))),
        None => (text, None),
    };
    let mut req = url_requirement(url.trim_end(), 0)?;
    req.marker = optional_marker(marker)?;
    Ok(req)
}

fn optional_marker(marker: Option<(usize, &str)>) -> Result<Option<String>, Pep508Error> {
    match marker {
        Some((offset, m)) if !m.trim().is_empty() => {
            parse_marker(m).map(Some).map_err(|e| e.shifted(offset))
        }
        _ => Ok(None),
    }
}

fn url_requirement(url: &str, offset: usize) -> Result<PipRequirement, Pep508Error> {
    let mut name = None;
    let mut extras = Vec::new();
    if let Some((egg_at, egg)) = egg_fragment(url) {
        let mut p = Parser::new(egg, false);
        let (n, x) = p
            .name_and_extras()
            .map_err(|e| e.shifted(offset + egg_at))?;
        if !p.at_end() {
            return Err(Pep508Error::new(
                offset + egg_at + p.pos,
                "expected a package name in `#egg=`",
            ));
        }
        name = Some(PackageName::pip(n));
        extras = x;
    } else if let Some((n, _)) = wheel_name_version(url) {
        name = Some(PackageName::pip(n));
    }
    Ok(PipRequirement {
        name,
        extras,
        specifiers: Vec::new(),
        marker: None,
        url: Some(url.to_owned()),
        editable: false,
        hashes: Vec::new(),
    })
}

/// A local path, optionally with `[extras]` and `;marker`.
fn parse_path_line(text: &str) -> Result<PipRequirement, Pep508Error> {
    let (path, marker) = match text.find(';') {
        Some(i) => (&text[..i], Some((i + 1, &text[i + 1..]))),
        None => (text, None),
    };
    let (path, extras) = split_path_extras(path.trim_end(), 0)?;
    let name = wheel_name_version(path).map(|(n, _)| PackageName::pip(n));
    Ok(PipRequirement {
        name,
        extras,
        specifiers: Vec::new(),
        marker: optional_marker(marker)?,
        url: Some(path.to_owned()),
        editable: false,
        hashes: Vec::new(),
    })
}

/// `./pkg[a,b]` → (`./pkg`, [a, b]).
fn split_path_extras(text: &str, offset: usize) -> Result<(&str, Vec<String>), Pep508Error> {
    if !text.ends_with(']') {
        return Ok((text, Vec::new()));
    }
    let Some(open) = text.rfind('[') else {
        return Ok((text, Vec::new()));
    };
    if open == 0 {
        return Ok((text, Vec::new()));
    }
    let mut p = Parser::new(text, false);
    p.pos = open;
    let extras = p.extras().map_err(|e| e.shifted(offset))?;
    Ok((&text[..open], extras))
}

impl FromStr for PipRequirement {
    type Err = Pep508Error;

    /// One requirement as a line of a requirements file holds it: `[-e] requirement
    /// [--hash=…]…`. File-level options (`-r`, `--index-url`, …) are not requirements.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let tokens = split_tokens(s);
        let first_opt = tokens.iter().position(|(_, t)| t.starts_with('-'));
        let req_end = first_opt.map_or(s.len(), |i| tokens[i].0);
        let opts = first_opt.map_or(&[][..], |i| &tokens[i..]);
        let mut editable: Option<(usize, &str)> = None;
        let mut hashes = Vec::new();
        let mut i = 0;
        while i < opts.len() {
            let (at, tok) = opts[i];
            i += 1;
            let (name, inline) = split_option(tok);
            let value = match inline {
                Some((o, v)) => Some((at + o, v)),
                None if matches!(name.as_str(), "--editable" | "--hash") && i < opts.len() => {
                    i += 1;
                    Some(opts[i - 1])
                }
                None => None,
            };
            match (name.as_str(), value) {
                ("--editable", Some(v)) if editable.is_none() && s[..req_end].trim().is_empty() => {
                    editable = Some(v);
                }
                ("--editable", Some(_)) => {
                    return Err(Pep508Error::new(
                        at,
                        "`-e` must come first, before the one requirement it marks editable",
                    ));
                }
                ("--hash", Some((_, v))) => hashes.push(v.to_owned()),
                ("--editable" | "--hash", None) => {
                    return Err(Pep508Error::new(
                        at + tok.len(),
                        format!("expected a value after `{name}`"),
                    ));
                }
                _ => {
                    return Err(Pep508Error::new(
                        at,
                        format!(
                            "unexpected option `{name}`; only `-e` and `--hash` go with a requirement"
                        ),
                    ));
                }
            }
        }
        let mut req = match editable {
            Some((at, v)) => parse_requirement_text(v, true).map_err(|e| e.shifted(at))?,
            None => parse_requirement_text(&s[..req_end], false)?,
        };
        req.hashes = hashes;
        Ok(req)
    }
}

/// Split an option token into its long name and an attached value with the value's byte
/// offset in the token: `--hash=x` → (`--hash`, (7, `x`)), `-rfile` → (`--requirement`,
/// (2, `file`)), `-e` → (`--editable`, none). Unknown options keep their spelling.
pub(crate) fn split_option(tok: &str) -> (String, Option<(usize, &str)>) {
    if tok.starts_with("--") {
        return match tok.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some((n.len() + 1, v))),
            None => (tok.to_owned(), None),
        };
    }
    if !tok.starts_with('-') {
        return (tok.to_owned(), None);
    }
    let mut chars = tok.char_indices().skip(1);
    let Some((at, letter)) = chars.next() else {
        return (tok.to_owned(), None);
    };
    let long = match letter {
        'e' => "--editable",
        'r' => "--requirement",
        'c' => "--constraint",
        'i' => "--index-url",
        'f' => "--find-links",
        _ => return (tok.to_owned(), None),
    };
    let split = at + letter.len_utf8();
    let value = &tok[split..];
    let value = value
        .strip_prefix('=')
        .map_or((split, value), |v| (split + 1, v));
    (long.to_owned(), (!value.1.is_empty()).then_some(value))
}

#[cfg(test)]
#[test]
fn short_option_split_respects_multibyte_characters() {
    assert_eq!(split_option("뢎ee="), ("뢎ee=".to_owned(), None));
    assert_eq!(
        split_option("-eé"),
        ("--editable".to_owned(), Some((2, "é")))
    );
}

/// Whitespace-separated tokens with their byte offsets.
pub(crate) fn split_tokens(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                out.push((st, &s[st..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

// ---------------------------------------------------------------------------------------
// The PEP 508 parser, following packaging's `_parser.py` and `_tokenizer.py`.
// ---------------------------------------------------------------------------------------

/// Python's `\w` for the `\b` checks of packaging's tokenizer.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

const MARKER_VARIABLES: [&str; 19] = [
    "python_version",
    "python_full_version",
    "os.name",
    "os_name",
    "sys.platform",
    "sys_platform",
    "platform_release",
    "platform_system",
    "platform.version",
    "platform_version",
    "platform.machine",
    "platform_machine",
    "platform.python_implementation",
    "platform_python_implementation",
    "python_implementation",
    "implementation_name",
    "implementation_version",
    "extras",
    "extra",
];
const MARKER_VARIABLE_DEPENDENCY_GROUPS: &str = "dependency_groups";

#[derive(Clone, Debug)]
enum MarkerVar {
    Variable(String),
    Value(String),
}

impl MarkerVar {
    fn serialize(&self) -> String {
        match self {
            MarkerVar::Variable(v) => v.clone(),
            MarkerVar::Value(v) => format!("\"{v}\""),
        }
    }

    fn text(&self) -> &str {
        match self {
            MarkerVar::Variable(v) | MarkerVar::Value(v) => v,
        }
    }

    fn is_extra(&self) -> bool {
        matches!(self, MarkerVar::Variable(v) if v == "extra")
    }
}

#[derive(Clone, Debug)]
enum MarkerNode {
    Item(MarkerVar, String, MarkerVar),
    List(Vec<MarkerNode>),
    BoolOp(String),
}

fn format_marker_list(list: &[MarkerNode], first: bool) -> String {
    if let [only @ (MarkerNode::Item(..) | MarkerNode::List(_))] = list {
        return format_marker_node(only, true);
    }
    let inner: Vec<String> = list.iter().map(|n| format_marker_node(n, false)).collect();
    let inner = inner.join(" ");
    if first { inner } else { format!("({inner})") }
}

fn format_marker_node(node: &MarkerNode, first: bool) -> String {
    match node {
        MarkerNode::Item(l, op, r) => format!("{} {op} {}", l.serialize(), r.serialize()),
        MarkerNode::List(list) => format_marker_list(list, first),
        MarkerNode::BoolOp(op) => op.clone(),
    }
}

/// packaging's `canonicalize_name` (runs of `-_.` become `-`, lowercase).
fn canonicalize_extra(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_sep = false;
    for c in s.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            in_sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// packaging normalises the value compared with `extra` in the first clause only.
fn normalize_extra_values(list: &mut [MarkerNode]) {
    if let Some(MarkerNode::Item(l, _, r)) = list.first_mut() {
        if l.is_extra() {
            *r = MarkerVar::Value(canonicalize_extra(r.text()));
        } else if r.is_extra() {
            *l = MarkerVar::Value(canonicalize_extra(l.text()));
        }
    }
}

/// Evaluate the body of a Python string literal (`ast.literal_eval`), `None` when invalid.
fn python_string(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        match e {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(e),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v)?);
            }
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut v = 0u32;
                for _ in 0..n {
                    v = v.checked_mul(16)? + chars.next()?.to_digit(16)?;
                }
                out.push(char::from_u32(v)?);
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// How deep marker parentheses may nest (the parser recurses on them).
const MAX_MARKER_DEPTH: usize = 64;

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    templates: bool,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str, templates: bool) -> Self {
        Self {
            s,
            pos: 0,
            templates,
            depth: 0,
        }
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn prev(&self) -> Option<char> {
        self.s.get(..self.pos).and_then(|s| s.chars().next_back())
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn err(&self, message: impl Into<String>) -> Pep508Error {
        Pep508Error::new(self.pos, message)
    }

    /// packaging's `WS` token: `[ \t]+`.
    fn ws(&mut self) -> bool {
        let n = self.rest().len() - self.rest().trim_start_matches([' ', '\t']).len();
        self.pos += n;
        n > 0
    }

    /// Python's `\s*`.
    fn space(&mut self) {
        let n = self.rest().len() - self.rest().trim_start().len();
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
        !self.prev().is_some_and(is_word)
    }

    /// A keyword with `\b` on both sides.
    fn keyword(&mut self, kw: &str) -> bool {
        if !self.boundary_before() || !self.rest().starts_with(kw) {
            return false;
        }
        let after = self.rest()[kw.len()..].chars().next();
        if after.is_some_and(is_word) {
            return false;
        }
        self.pos += kw.len();
        true
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
            let before = is_word(char::from(bytes[end - 1]));
            let after = rest[end..].chars().next().is_some_and(is_word);
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

    fn requirement(&mut self) -> Result<PipRequirement, Pep508Error> {
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
        Ok(PipRequirement {
            name: Some(PackageName::pip(name)),
            extras,
            specifiers,
            marker,
            url,
            editable: false,
            hashes: Vec::new(),
        })
    }

    fn unexpected_after_specifiers(&self, none: bool) -> Pep508Error {
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

    fn name_and_extras(&mut self) -> Result<(&'a str, Vec<String>), Pep508Error> {
        let Some(name) = self.identifier() else {
            return Err(self.err(
                "expected a package name (letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit)",
            ));
        };
        self.ws();
        let extras = self.extras()?;
        Ok((name, extras))
    }

    fn extras(&mut self) -> Result<Vec<String>, Pep508Error> {
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

    fn specifier(&mut self) -> Result<Vec<Specifier>, Pep508Error> {
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

    fn version_many(&mut self) -> Result<Vec<Specifier>, Pep508Error> {
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
                return Err(Pep508Error::new(
                    start,
                    "a `.*` suffix can only be used with `==` or `!=`",
                ));
            }
            if local_label_len(self.rest()) > 0 {
                return Err(Pep508Error::new(
                    start,
                    "a local version label (`+…`) can only be used with `==` or `!=`",
                ));
            }
            if spec.operator == "===" && spec.version.contains(',') {
                // packaging's `SpecifierSet` splits the token text at every comma.
                self.split_arbitrary(spec, &mut specs)?;
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
        spec: Specifier,
        specs: &mut Vec<Specifier>,
    ) -> Result<(), Pep508Error> {
        let text = spec.version.as_str();
        let base = self.pos - text.len();
        let mut offset = 0;
        for (i, piece) in text.split(',').enumerate() {
            let at = base + offset;
            offset += piece.len() + 1;
            if i == 0 {
                specs.push(Specifier {
                    operator: spec.operator.clone(),
                    version: piece.trim().to_owned(),
                });
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
                    return Err(Pep508Error::new(
                        at + p.pos,
                        "expected a version specifier after `,`",
                    ));
                }
            }
        }
        Ok(())
    }

    /// One `SPECIFIER` token; `Ok(None)` when no operator starts here.
    fn one_specifier(&mut self) -> Result<Option<Specifier>, Pep508Error> {
        const OPERATORS: [&str; 8] = ["===", "==", "~=", "!=", "<=", ">=", "<", ">"];
        let Some(op) = OPERATORS.iter().find(|op| self.rest().starts_with(**op)) else {
            return Ok(None);
        };
        self.pos += op.len();
        self.space();
        let vstart = self.pos;
        let len = match *op {
            "===" => {
                let rest = self.rest();
                rest.find(|c: char| c.is_whitespace() || c == ';' || c == ')')
                    .unwrap_or(rest.len())
            }
            _ if self.templates && self.rest().starts_with("{{") => match self.rest().find("}}") {
                Some(i) => i + 2,
                None => return Err(self.err("expected `}}` to close the release template")),
            },
            "==" | "!=" => version_len(self.rest(), VersionKind::Equality),
            "~=" => version_len(self.rest(), VersionKind::Compatible),
            _ => version_len(self.rest(), VersionKind::Ordered),
        };
        if len == 0 && *op != "===" {
            self.pos = vstart;
            let what = match *op {
                "~=" => "a version with at least two parts (like `1.4`)",
                _ => "a version",
            };
            return Err(self.err(format!("expected {what} after `{op}`")));
        }
        self.pos = vstart + len;
        Ok(Some(Specifier {
            operator: (*op).to_owned(),
            version: self.s[vstart..vstart + len].trim().to_owned(),
        }))
    }

    fn marker(&mut self) -> Result<String, Pep508Error> {
        let mut list = self.marker_list()?;
        normalize_extra_values(&mut list);
        Ok(format_marker_list(&list, true))
    }

    fn marker_list(&mut self) -> Result<Vec<MarkerNode>, Pep508Error> {
        let mut list = vec![self.marker_atom()?];
        loop {
            let op = if self.keyword("and") {
                "and"
            } else if self.keyword("or") {
                "or"
            } else {
                break;
            };
            list.push(MarkerNode::BoolOp(op.to_owned()));
            list.push(self.marker_atom()?);
        }
        Ok(list)
    }

    fn marker_atom(&mut self) -> Result<MarkerNode, Pep508Error> {
        self.ws();
        let node = if self.eat("(") {
            self.depth += 1;
            if self.depth > MAX_MARKER_DEPTH {
                return Err(self.err(format!(
                    "marker groups nested deeper than {MAX_MARKER_DEPTH} levels"
                )));
            }
            self.ws();
            let inner = self.marker_list()?;
            self.depth -= 1;
            self.ws();
            if !self.eat(")") {
                return Err(self.err("expected `)` to close the marker group, or `and`/`or`"));
            }
            MarkerNode::List(inner)
        } else {
            self.ws();
            let l = self.marker_var()?;
            self.ws();
            let op = self.marker_op()?;
            self.ws();
            let r = self.marker_var()?;
            self.ws();
            MarkerNode::Item(l, op, r)
        };
        self.ws();
        Ok(node)
    }

    fn marker_var(&mut self) -> Result<MarkerVar, Pep508Error> {
        if self.boundary_before() {
            let found = MARKER_VARIABLES
                .iter()
                .chain(std::iter::once(&MARKER_VARIABLE_DEPENDENCY_GROUPS))
                .find(|v| {
                    self.rest().starts_with(**v)
                        && !self.rest()[v.len()..].chars().next().is_some_and(is_word)
                });
            if let Some(v) = found {
                self.pos += v.len();
                let v = v.replace('.', "_");
                let v = if v == "python_implementation" {
                    "platform_python_implementation".to_owned()
                } else {
                    v
                };
                return Ok(MarkerVar::Variable(v));
            }
        }
        if let Some(q) = self.peek().filter(|c| matches!(c, '"' | '\'')) {
            let body_start = self.pos + 1;
            if let Some(len) = self.s[body_start..].find(q) {
                let body = &self.s[body_start..body_start + len];
                let Some(value) = python_string(body) else {
                    return Err(self.err("invalid escape sequence in the quoted string"));
                };
                self.pos = body_start + len + 1;
                return Ok(MarkerVar::Value(value));
            }
            return Err(self.err(format!("expected a closing `{q}` for this string")));
        }
        Err(self.err("expected a marker variable (like `python_version`) or a quoted string"))
    }

    fn marker_op(&mut self) -> Result<String, Pep508Error> {
        if self.keyword("in") {
            return Ok("in".to_owned());
        }
        if self.keyword("not") {
            if !self.ws() {
                return Err(self.err("expected whitespace after `not`"));
            }
            if !self.keyword("in") {
                return Err(self.err("expected `in` after `not`"));
            }
            return Ok("not in".to_owned());
        }
        for op in ["===", "==", "~=", "!=", "<=", ">=", "<", ">"] {
            if self.eat(op) {
                return Ok(op.to_owned());
            }
        }
        Err(self.err(
            "expected a marker operator (`==`, `!=`, `<`, `<=`, `>`, `>=`, `~=`, `===`, `in` or `not in`)",
        ))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum VersionKind {
    /// `==` and `!=`: wildcards and local labels allowed.
    Equality,
    /// `~=`: at least two release parts, no local label.
    Compatible,
    /// `<`, `<=`, `>`, `>=`: no wildcard, no local label.
    Ordered,
}

/// How many bytes of `s` packaging's version regex matches for an operator kind (0: none).
fn version_len(s: &str, kind: VersionKind) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first().is_some_and(|c| c.eq_ignore_ascii_case(&b'v')) {
        i += 1;
    }
    // epoch
    let d = digits(b, i);
    if d > 0 && b.get(i + d) == Some(&b'!') {
        i += d + 1;
    }
    // release
    let d = digits(b, i);
    if d == 0 {
        return 0;
    }
    i += d;
    let mut parts = 1;
    while b.get(i) == Some(&b'.') && digits(b, i + 1) > 0 {
        i += 1 + digits(b, i + 1);
        parts += 1;
    }
    if kind == VersionKind::Compatible && parts < 2 {
        return 0;
    }
    if kind == VersionKind::Equality && b.get(i) == Some(&b'.') && b.get(i + 1) == Some(&b'*') {
        return i + 2;
    }
    i = pre_release(b, i);
    i = post_release(b, i);
    i = dev_release(b, i);
    if kind == VersionKind::Equality {
        i += local_label_len(s.get(i..).unwrap_or(""));
    }
    i
}

fn digits(b: &[u8], i: usize) -> usize {
    b.get(i..)
        .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
}

fn sep(b: &[u8], i: usize) -> usize {
    usize::from(b.get(i).is_some_and(|c| matches!(c, b'-' | b'_' | b'.')))
}

fn keyword_ci(b: &[u8], i: usize, words: &[&str]) -> usize {
    let rest = b.get(i..).unwrap_or(&[]);
    words
        .iter()
        .find(|w| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w.as_bytes()))
        .map_or(0, |w| w.len())
}

/// `[-_\.]?(keyword)[-_\.]?[0-9]*`, or `i` unchanged.
fn labelled(b: &[u8], i: usize, words: &[&str]) -> Option<usize> {
    let mut j = i + sep(b, i);
    let k = keyword_ci(b, j, words);
    if k == 0 {
        return None;
    }
    j += k;
    j += sep(b, j);
    Some(j + digits(b, j))
}

fn pre_release(b: &[u8], i: usize) -> usize {
    labelled(
        b,
        i,
        &["alpha", "beta", "preview", "pre", "a", "b", "c", "rc"],
    )
    .unwrap_or(i)
}

fn post_release(b: &[u8], i: usize) -> usize {
    if b.get(i) == Some(&b'-') && digits(b, i + 1) > 0 {
        return i + 1 + digits(b, i + 1);
    }
    labelled(b, i, &["post", "rev", "r"]).unwrap_or(i)
}

fn dev_release(b: &[u8], i: usize) -> usize {
    labelled(b, i, &["dev"]).unwrap_or(i)
}

/// `\+[a-z0-9]+(?:[-_\.][a-z0-9]+)*` (case-insensitive), its length or 0.
fn local_label_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.first() != Some(&b'+') {
        return 0;
    }
    let alnum = |i: usize| {
        b.get(i..).map_or(0, |r| {
            r.iter().take_while(|c| c.is_ascii_alphanumeric()).count()
        })
    };
    let first = alnum(1);
    if first == 0 {
        return 0;
    }
    let mut i = 1 + first;
    while sep(b, i) == 1 && alnum(i + 1) > 0 {
        i += 1 + alnum(i + 1);
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn fixture(path: &str) -> Value {
        let full = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/").to_owned() + path;
        let text = std::fs::read_to_string(&full).expect("fixture exists");
        serde_json::from_str(&text).expect("fixture is JSON")
    }

    fn str_list(v: &Value) -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|s| s.as_str().expect("string").to_owned())
            .collect()
    }

    fn sorted_specs(r: &PipRequirement) -> Vec<String> {
        let mut s: Vec<String> = r.specifiers.iter().map(ToString::to_string).collect();
        s.sort();
        s.dedup();
        s
    }

    fn err(s: &str) -> String {
        let e = s.parse::<PipRequirement>().expect_err("should not parse");
        format!("{}\n{}^ {}", s, " ".repeat(e.offset), e.message)
    }

    #[test]
    fn agrees_with_every_packaging_vector() {
        let v = fixture("pep508/packaging_vectors.json");
        assert_eq!(v["packaging_version"], "25.0");
        let accepted = v["accepted"].as_array().expect("accepted");
        assert!(accepted.len() >= 150, "only {} vectors", accepted.len());
        for case in accepted {
            let input = case["input"].as_str().expect("input");
            for (how, parsed) in [("strict", parse_pep508(input)), ("line", input.parse())] {
                let r = parsed.unwrap_or_else(|e| panic!("{how} rejects {input:?}: {e}"));
                let name = case["name"].as_str().expect("name");
                assert_eq!(r.name, Some(PackageName::pip(name)), "{input:?}");
                let mut extras = r.extras.clone();
                extras.sort();
                assert_eq!(extras, str_list(&case["extras"]), "{input:?}");
                assert_eq!(sorted_specs(&r), str_list(&case["specifiers"]), "{input:?}");
                assert_eq!(r.marker.as_deref(), case["marker"].as_str(), "{input:?}");
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
        let v = fixture("pep508/packaging_vectors.json");
        let rejected = v["rejected"].as_array().expect("rejected");
        assert!(rejected.len() >= 40);
        for case in rejected {
            let input = case["input"].as_str().expect("input");
            let e = parse_pep508(input).expect_err(input);
            assert!(e.offset <= input.len(), "{input:?}: offset {}", e.offset);
            assert!(!e.message.ends_with('.'), "{}", e.message);
        }
    }

    #[test]
    fn agrees_with_azureml_pip_pinning_vectors() {
        let v = fixture("azureml/vectors/pip_pinning_vectors.json");
        for case in v.as_array().expect("array") {
            let line = case["line"].as_str().expect("line");
            let r: PipRequirement = line.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
            let name = case["name"].as_str().expect("name");
            assert_eq!(r.name, Some(PackageName::pip(name)), "{line}");
            assert_eq!(r.extras, str_list(&case["extras"]), "{line}");
            assert_eq!(r.url.as_deref(), case["url"].as_str(), "{line}");
            assert_eq!(r.marker.as_deref(), case["marker"].as_str(), "{line}");
            let mut want = str_list(&case["specifiers"]);
            want.sort();
            assert_eq!(sorted_specs(&r), want, "{line}");
            // A VCS URL at a full commit is pinned here, unlike the file's column.
            let at_commit =
                r.is_vcs() && line.ends_with(&"3f786850e387550fdab836ed7e6dc881de23001b");
            let exact = case["exact_version_pin"].as_bool().expect("bool") || at_commit;
            assert_eq!(r.pin().state.is_pinned(), exact, "{line}: {:?}", r.pin());
        }
    }

    #[test]
    fn pin_states_follow_the_rules() {
        let state = |s: &str| s.parse::<PipRequirement>().expect(s).pin().state;
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
        let reason = |s: &str| s.parse::<PipRequirement>().expect(s).pin().reason;
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
        let r: PipRequirement = "pkg[x]~={{latest-pypi-version:1.2}}; python_version>'3'"
            .parse()
            .expect("parses");
        assert_eq!(r.specifiers[0].operator, "~=");
        assert_eq!(r.specifiers[0].version, "{{latest-pypi-version:1.2}}");
        assert_eq!(
            r.canonical(),
            "pkg[x]~={{latest-pypi-version:1.2}}; python_version > \"3\""
        );
        assert!(parse_pep508("pkg=={{latest-pypi-version}}").is_err());
    }

    #[test]
    fn urls_and_paths_as_pip_reads_them() {
        let sha = "3f786850e387550fdab836ed7e6dc881de23001b";
        let r: PipRequirement = format!("git+https://github.com/org/repo.git@{sha}#egg=Repo[x]")
            .parse()
            .expect("vcs");
        assert_eq!(r.name.as_ref().map(PackageName::as_str), Some("repo"));
        assert_eq!(r.extras, ["x"]);
        let r: PipRequirement = "git+https://github.com/huggingface/peft.git"
            .parse()
            .expect("bare");
        assert_eq!(r.name, None);
        assert_eq!(r.canonical(), "git+https://github.com/huggingface/peft.git");
        let r: PipRequirement =
            "https://example.com/pkgs/my_lib-2.0.0-py3-none-any.whl; python_version >= '3.8'"
                .parse()
                .expect("wheel");
        assert_eq!(r.name.as_ref().map(PackageName::as_str), Some("my-lib"));
        assert_eq!(r.wheel_version(), Some("2.0.0"));
        assert_eq!(r.marker.as_deref(), Some("python_version >= \"3.8\""));
        assert_eq!(
            r.canonical(),
            "my-lib @ https://example.com/pkgs/my_lib-2.0.0-py3-none-any.whl ; python_version >= \"3.8\""
        );
        let r: PipRequirement =
            "https://aka.ms/automl-resources/packages/en_core_web_sm-3.7.1.tar.gz"
                .parse()
                .expect("sdist");
        assert_eq!(r.name, None);
        let r: PipRequirement = "-e ./local_pkg[dev]".parse().expect("editable");
        assert!(r.editable && r.is_local_path());
        assert_eq!(r.url.as_deref(), Some("./local_pkg"));
        assert_eq!(r.extras, ["dev"]);
        assert_eq!(r.canonical(), "-e ./local_pkg");
        let r: PipRequirement = ".".parse().expect("dot");
        assert_eq!((r.name, r.url.as_deref()), (None, Some(".")));
        let r: PipRequirement = "-e git+https://g.com/o/r@master#egg=ldm"
            .parse()
            .expect("editable vcs");
        assert!(r.editable && r.is_vcs());
        assert_eq!(r.name.as_ref().map(PackageName::as_str), Some("ldm"));
    }

    #[test]
    fn canonical_sorts_extras_specifiers_and_hashes() {
        let r: PipRequirement =
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
        let e = parse_pep508(&s).expect_err("too deep");
        insta::assert_snapshot!(e.message, @"marker groups nested deeper than 64 levels");
        let ok = format!(
            "x; {}python_version > '3'{}",
            "(".repeat(60),
            ")".repeat(60)
        );
        assert_eq!(
            parse_pep508(&ok).expect("parses").marker.as_deref(),
            Some("python_version > \"3\"")
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_input(s in "\\PC{0,60}") {
            let _ = s.parse::<PipRequirement>();
            let _ = parse_pep508(&s);
        }

        #[test]
        fn never_panics_on_requirement_like_input(s in "[a-z_.\\-]{0,6}[ \\[\\](),;@=<>!~*.0-9a-z'\"+{}#]{0,30}") {
            if let Ok(r) = s.parse::<PipRequirement>() {
                let _ = (r.pin(), r.canonical());
            }
            let _ = parse_pep508(&s);
        }
    }
}
