//! conda MatchSpec parsing (the subset conda environment files use), agreeing with
//! conda / rattler on names, versions, builds and channels.
//!
//! # Grammar
//!
//! ```text
//! spec    = [channel[/subdir]::]name[ version[ build]][\[key=value, ...\]] [# comment]
//!         | URL-or-absolute-path-to-a-package-file[#md5 | #sha256:hex]
//! ```
//!
//! The positional part follows conda's `_parse_spec_str` (as rattler implements it in
//! its lenient mode):
//! - `name=1.2.3` is *fuzzy*: conda appends `*`, giving `1.2.3.*`;
//! - `name==1.2.3` and `name 1.2.3` are the exact version `==1.2.3`;
//! - `name=1.2.3=build`, `name==1.2.3=build` and `name 1.2.3 build` are `==1.2.3` plus a
//!   build matcher (a `*` in the build makes it a glob);
//! - `|` (or) and `,` (and, binding tighter) combine constraints, with parentheses;
//! - `name[version='>=1.0', build=py38*]` brackets override the positional values;
//! - a trailing `]`-less `[` section, an unknown bracket key, a bad operator (`=>`, `>>`)
//!   or a malformed version is an error that points at the offending byte.
//!
//! The version part is a [`VersionSpec`] (grammar and normal form in
//! [`crate::conda::spec`]); this module only decides where it ends and applies conda's
//! positional rules (`=V` and `==V` above). It prints in rattler's normal form: numbers lose
//! leading zeros (`2022.07` is `2022.7`), letters are lowercased, `1.2*` and `1.2.*.*`
//! become `1.2.*`, a bare version becomes `==V`, `>=1.2.*` becomes `>=1.2`.
//!
//! [`MatchSpec::matches`] answers whether a package version and build satisfy the spec, as
//! a solver asks.
//!
//! Release templates (`name=={{latest-pypi-version}}`) are not conda syntax; they are kept
//! as written in `template` and classified [`PinState::Template`].
//!
//! # Canonical form
//!
//! [`MatchSpec::canonical`] (and `Display`) print conda's own string form:
//!
//! ```text
//! [channel[/subdir]::]name[ version[ build]][\[key="value",...\]]
//! ```
//!
//! where `version` is the normal form above and `build` the build matcher as written. A
//! build without a version, a build containing whitespace, a subdir without a channel, an
//! explicit URL and its checksums, and other bracket keys (`build_number`, `fn`, ...) go in
//! the bracket section, as rattler prints them. Without the channel part this is exactly
//! the `str` that py-rattler 0.28 prints (`tests/vectors/conda_matchspec_parse.json`).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::conda::spec::{self, Operator, VersionSpec, VersionSpecError};
use crate::conda::version::Version;
use crate::model::PackageName;
use crate::model::pin::{self, Pin, PinState};

/// A parsed conda match specification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MatchSpec {
    /// The package name, written in the spec or taken from an explicit URL's file name.
    pub name: Option<PackageName>,
    /// `channel::name` or `[channel=...]`.
    pub channel: Option<String>,
    /// `channel/subdir::name`.
    pub subdir: Option<String>,
    /// Version constraint; it prints in conda's normal form: `1.18.1.*` for `=1.18.1`,
    /// `==1.18.1`, `>=1.18,<2`.
    pub version: Option<VersionSpec>,
    /// A release template written where the version goes (`=={{latest-pypi-version}}`),
    /// kept as written; the spec has no `version` then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Build matcher as written: exact, or a glob when it holds a `*`.
    pub build: Option<String>,
    /// An explicit package URL, when the spec is one.
    pub url: Option<String>,
    /// `#<md5>` after an explicit URL, or `[md5=...]`.
    pub md5: Option<String>,
    /// `#sha256:<hex>` after an explicit URL, or `[sha256=...]`.
    pub sha256: Option<String>,
    /// Other bracket keys (`build_number`, `fn`, `license`, ...), in written order.
    pub extra: Vec<(String, String)>,
    /// How the version was written, which decides the pin state.
    #[serde(skip)]
    pub form: VersionForm,
}

/// How a spec's version was written: the same normal form can come from different texts
/// (`=1.2` and `1.2.*` are both `1.2.*`) that say different things about intent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VersionForm {
    /// No version.
    #[default]
    None,
    /// Exactly one `==V` constraint.
    Exact,
    /// `=V` without a glob: conda appends `.*`.
    Fuzzy,
    /// A single `V.*`-style prefix match written with a `*`.
    Wildcard,
    /// `*`: any version.
    Any,
    /// Anything else: ranges, `!=`, `~=`, `|` and `,` combinations.
    Range,
    /// A release template such as `{{latest-pypi-version}}`.
    Template,
}

/// Why a string is not a MatchSpec; `offset` is a byte offset into the spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MatchSpecError {
    /// Where in the spec it went wrong, as a byte offset.
    pub offset: usize,
    /// What is wrong there.
    pub message: String,
}

impl MatchSpecError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
        }
    }
}

type Result<T> = std::result::Result<T, MatchSpecError>;

/// Subdirectories conda knows; `channel/<one of these>::name` names a subdir, and a channel
/// URL ending in one names that subdir.
pub(crate) const KNOWN_SUBDIRS: &[&str] = &[
    "noarch",
    "linux-32",
    "linux-64",
    "linux-aarch64",
    "linux-armv6l",
    "linux-armv7l",
    "linux-ppc64",
    "linux-ppc64le",
    "linux-riscv32",
    "linux-riscv64",
    "linux-s390x",
    "osx-64",
    "osx-arm64",
    "win-32",
    "win-64",
    "win-arm64",
    "emscripten-wasm32",
    "wasi-wasm32",
    "freebsd-64",
    "zos-z",
];

/// Bracket keys accepted and kept in [`MatchSpec::extra`].
const EXTRA_KEYS: &[&str] = &[
    "build_number",
    "fn",
    "license",
    "license_family",
    "track_features",
    "namespace",
];

impl MatchSpec {
    fn empty() -> Self {
        Self {
            name: None,
            channel: None,
            subdir: None,
            version: None,
            template: None,
            build: None,
            url: None,
            md5: None,
            sha256: None,
            extra: Vec::new(),
            form: VersionForm::None,
        }
    }

    /// The pin state (see `crate::model::pin`).
    pub fn pin(&self) -> Pin {
        if self.form == VersionForm::Template {
            return Pin::new(
                PinState::Template,
                "release template; resolved only when the asset is published",
            );
        }
        if let Some(url) = &self.url {
            return if self.md5.is_some() || self.sha256.is_some() {
                Pin::new(
                    PinState::ExactWithBuild,
                    "explicit package URL with a checksum",
                )
            } else {
                Pin::new(
                    PinState::Exact,
                    format!("explicit package URL `{url}` without an `md5` or `sha256` checksum"),
                )
            };
        }
        let version = self
            .version
            .as_ref()
            .map_or_else(|| "*".to_owned(), ToString::to_string);
        // The version an exact or fuzzy spec names.
        let named = match &self.version {
            Some(VersionSpec::Constraint(Operator::Eq | Operator::StartsWith, v)) => v.to_string(),
            _ => version.clone(),
        };
        match self.form {
            VersionForm::None => Pin::new(PinState::Unpinned, "no version constraint"),
            VersionForm::Any => Pin::new(PinState::Unpinned, "`*` matches any version"),
            VersionForm::Exact => match &self.build {
                Some(b) if !b.contains('*') => Pin::new(
                    PinState::ExactWithBuild,
                    format!("exact version `{named}` and build `{b}`"),
                ),
                _ => Pin::new(
                    PinState::Exact,
                    format!("exact version `{named}`; the build is still free"),
                ),
            },
            VersionForm::Fuzzy => Pin::new(
                PinState::Fuzzy,
                format!("conda reads `={named}` as `{version}`"),
            ),
            VersionForm::Wildcard => Pin::new(
                PinState::Wildcard,
                format!("`{version}` matches every release with that prefix"),
            ),
            VersionForm::Range => Pin::new(
                PinState::Range,
                format!("`{version}` allows more than one version"),
            ),
            VersionForm::Template => unreachable_template(),
        }
    }

    /// Canonical text: `[channel[/subdir]::]name[ version[ build]]`, as conda prints it.
    pub fn canonical(&self) -> String {
        self.to_string()
    }

    /// Whether a package of this spec's name with `version` and `build` satisfies the
    /// version and build constraints, as conda's solver asks it (rattler's reading, which
    /// `tests/vectors/conda_matchspec_matches.json` checks). The name, channel, subdir, URL,
    /// checksums and the other bracket keys (`build_number`, ...) are the caller's to
    /// compare. A release template matches nothing: it is not a version yet.
    pub fn matches(&self, version: &Version, build: &str) -> bool {
        self.form != VersionForm::Template
            && self.version.as_ref().is_none_or(|v| v.matches(version))
            && self
                .build
                .as_deref()
                .is_none_or(|pattern| build_matches(pattern, build))
    }
}

/// What a [`MatchSpec`] can ask of a package record (a channel's repodata record, an
/// installed record): [`MatchSpec::matches_package`] compares these.
#[derive(Clone, Copy, Debug)]
pub struct PackageFacts<'a> {
    /// The package name.
    pub name: &'a PackageName,
    /// The package version.
    pub version: &'a Version,
    /// The build string.
    pub build: &'a str,
    /// The build number.
    pub build_number: u64,
    /// The channel subdir the record comes from (`linux-64`, `noarch`).
    pub subdir: &'a str,
    /// The archive's file name (`numpy-1.26.4-py310hb13e2d6_0.conda`).
    pub filename: &'a str,
    /// The archive's MD5, in hex.
    pub md5: Option<&'a str>,
    /// The archive's SHA-256, in hex.
    pub sha256: Option<&'a str>,
    /// The licence, as the record states it.
    pub license: Option<&'a str>,
}

impl MatchSpec {
    /// Whether the record `package` satisfies every part of this spec a record can answer:
    /// the name, the version and build ([`MatchSpec::matches`]), the subdir, an explicit
    /// URL's file name, `md5`, `sha256`, and the bracket keys `build_number` (a number,
    /// optionally after `==`, `!=`, `<`, `<=`, `>` or `>=`), `fn` and `license` (exact).
    ///
    /// The channel is not compared: which channel a record belongs to, and what a channel
    /// name means, is the solver's to decide ([`crate::conda::channel`]). The bracket keys
    /// `license_family`, `track_features` and `namespace` are not compared either (conda's
    /// solvers ignore the last two as constraints, and no environment file uses the first).
    /// A `build_number` that is not a number matches nothing.
    pub fn matches_package(&self, package: &PackageFacts<'_>) -> bool {
        if self.name.as_ref().is_some_and(|n| n != package.name)
            || !self.matches(package.version, package.build)
            || self.subdir.as_deref().is_some_and(|s| s != package.subdir)
            || self
                .md5
                .as_deref()
                .is_some_and(|m| !package.md5.is_some_and(|p| p.eq_ignore_ascii_case(m)))
            || self
                .sha256
                .as_deref()
                .is_some_and(|m| !package.sha256.is_some_and(|p| p.eq_ignore_ascii_case(m)))
        {
            return false;
        }
        if let Some(url) = &self.url {
            let file = url.rsplit(['/', '\\']).next().unwrap_or(url);
            if file != package.filename {
                return false;
            }
        }
        self.extra.iter().all(|(key, value)| match key.as_str() {
            "build_number" => build_number_matches(value, package.build_number),
            "fn" => value.trim() == package.filename,
            "license" => package.license == Some(value.trim()),
            _ => true,
        })
    }
}

/// `3`, `==3`, `!=3`, `<3`, `<=3`, `>3` or `>=3` against a build number.
fn build_number_matches(spec: &str, build_number: u64) -> bool {
    let spec = spec.trim();
    let split = spec
        .find(|c: char| !matches!(c, '=' | '!' | '<' | '>'))
        .unwrap_or(spec.len());
    let (op, number) = spec.split_at(split);
    let Ok(number) = number.trim().parse::<u64>() else {
        return false;
    };
    match op {
        "" | "=" | "==" => build_number == number,
        "!=" => build_number != number,
        "<" => build_number < number,
        "<=" => build_number <= number,
        ">" => build_number > number,
        ">=" => build_number >= number,
        _ => false,
    }
}

/// A build matcher: `*` matches any run of characters, and the rest compares ignoring
/// ASCII case, as rattler does (conda itself compares case-sensitively; builds are lower
/// case in practice). A regular expression (`^...$`) is compared as text.
fn build_matches(pattern: &str, build: &str) -> bool {
    let (pattern, build) = (pattern.to_ascii_lowercase(), build.to_ascii_lowercase());
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = build.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

// `Template` is handled before the match; keep a total function without panicking.
fn unreachable_template() -> Pin {
    Pin::new(
        PinState::Template,
        "release template; resolved only when the asset is published",
    )
}

impl FromStr for MatchSpec {
    type Err = MatchSpecError;
    fn from_str(s: &str) -> Result<Self> {
        parse(s)
    }
}

impl fmt::Display for MatchSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = &self.channel {
            f.write_str(c)?;
            if let Some(s) = &self.subdir {
                write!(f, "/{s}")?;
            }
            f.write_str("::")?;
        }
        if let Some(n) = &self.name {
            write!(f, "{n}")?;
        }
        let mut brackets: Vec<(&str, &str)> = Vec::new();
        let simple_build = self
            .build
            .as_deref()
            .filter(|b| !b.contains(char::is_whitespace));
        match (&self.version, simple_build) {
            (Some(v), Some(b)) => write!(f, " {v} {b}")?,
            (Some(v), None) => write!(f, " {v}")?,
            (None, _) => {}
        }
        if let Some(t) = &self.template {
            write!(f, " {t}")?;
        }
        if let Some(b) = &self.build
            && (self.version.is_none() || simple_build.is_none())
        {
            brackets.push(("build", b));
        }
        if self.channel.is_none()
            && let Some(s) = &self.subdir
        {
            brackets.push(("subdir", s));
        }
        if let Some(u) = &self.url {
            brackets.push(("url", u));
        }
        if let Some(m) = &self.md5 {
            brackets.push(("md5", m));
        }
        if let Some(s) = &self.sha256 {
            brackets.push(("sha256", s));
        }
        for (k, v) in &self.extra {
            brackets.push((k, v));
        }
        if !brackets.is_empty() {
            f.write_str("[")?;
            for (i, (k, v)) in brackets.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(
                    f,
                    "{k}=\"{}\"",
                    v.replace('\\', "\\\\").replace('"', "\\\"")
                )?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// MatchSpec parser

fn parse(s: &str) -> Result<MatchSpec> {
    let (start, end) = trimmed_range(s, 0, s.len());
    if start == end {
        return Err(MatchSpecError::new(
            0,
            "expected a package name, found an empty spec",
        ));
    }
    if pin::has_template(&s[start..end]) {
        return parse_template(s, start, end);
    }
    if looks_like_url(&s[start..end]) {
        return parse_url(s, start, end);
    }
    // A `#` outside a bracket section starts a comment.
    let end = comment_start(s, start, end).unwrap_or(end);
    let (start, end) = trimmed_range(s, start, end);
    if start == end {
        return Err(MatchSpecError::new(start, "expected a package name"));
    }

    let mut spec = MatchSpec::empty();
    let mut bracket_version = None;
    let mut bracket_build = None;
    let mut end = end;
    if s.as_bytes()[end - 1] == b']' {
        let open = bracket_open(s, start, end)?;
        let fields = parse_bracket_fields(s, open, end)?;
        for (key, key_at, value, value_at) in fields {
            match key.as_str() {
                "version" => {
                    let tree = parse_version_spec(&value, value_at, s)?;
                    bracket_version = Some(tree);
                }
                "build" => bracket_build = Some(value),
                "channel" => {
                    let (c, sd) = split_channel(&value);
                    spec.channel = spec.channel.or(c);
                    spec.subdir = spec.subdir.or(sd);
                }
                "subdir" => spec.subdir = Some(value),
                "url" => spec.url = Some(value),
                "md5" => spec.md5 = Some(checked_hex(&value, 32, "md5", value_at)?),
                "sha256" => spec.sha256 = Some(checked_hex(&value, 64, "sha256", value_at)?),
                k if EXTRA_KEYS.contains(&k) => spec.extra.push((key, value)),
                _ => {
                    return Err(MatchSpecError::new(
                        key_at,
                        format!(
                            "unknown bracket key `{key}`; expected `version`, `build`, `channel`, `subdir`, `url`, `md5`, `sha256`, `build_number`, `fn`, `license`, `license_family`, `track_features` or `namespace`"
                        ),
                    ));
                }
            }
        }
        end = trimmed_range(s, start, open).1;
    }

    // Channel: everything before the last `::`.
    let mut name_start = start;
    if let Some(pos) = s[start..end].rfind("::") {
        let chan = s[start..start + pos].trim();
        if let Some(colon) = chan.find(':').filter(|_| !chan.contains("://")) {
            let at = start + s[start..start + pos].find(chan).unwrap_or(0) + colon;
            return Err(MatchSpecError::new(at, "unexpected `:` in channel"));
        }
        let (c, sd) = split_channel(chan);
        if spec.channel.is_none() {
            spec.channel = c;
            spec.subdir = spec.subdir.take().or(sd);
        }
        name_start = start + pos + 2;
    } else if let Some(pos) = s[start..end].find(':') {
        return Err(MatchSpecError::new(
            start + pos,
            "unexpected `:`; a channel is separated from the name by `::`",
        ));
    }
    let (name_start, end) = trimmed_range(s, name_start, end);

    let name_end = name_end(s, name_start, end)?;
    let name = &s[name_start..name_end];
    if let Some((i, c)) = name
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        let message = if c == '[' {
            "unterminated bracket section; expected `]` at the end of the spec".to_owned()
        } else {
            format!(
                "invalid character `{c}` in package name `{name}`; names hold letters, digits, `-`, `_` and `.`"
            )
        };
        return Err(MatchSpecError::new(name_start + i, message));
    }
    spec.name = Some(PackageName::conda(name));

    // Version and build.
    let (rest_start, rest_end) = trimmed_range(s, name_end, end);
    let mut positional = None;
    let mut positional_build = None;
    if rest_start < rest_end {
        if let Some(pos) = s[rest_start..rest_end].find('[') {
            return Err(MatchSpecError::new(
                rest_start + pos,
                "unexpected `[`; a spec has at most one bracket section, at its end",
            ));
        }
        let (version, build) = parse_version_and_build(s, rest_start, rest_end)?;
        positional = Some(version);
        positional_build = build;
    }

    let version = bracket_version.or(positional);
    spec.build = bracket_build.or(positional_build);
    if let Some((version, form)) = version {
        spec.form = form;
        spec.version = Some(version);
    }
    Ok(spec)
}

fn is_operator_char(c: char) -> bool {
    matches!(c, '>' | '<' | '=' | '!' | '~')
}

/// The byte range of `s[start..end]` without surrounding whitespace.
fn trimmed_range(s: &str, start: usize, end: usize) -> (usize, usize) {
    let part = &s[start..end];
    let lead = part.len() - part.trim_start().len();
    let trail = part.len() - part.trim_end().len();
    if lead == part.len() {
        return (start, start);
    }
    (start + lead, end - trail)
}

fn looks_like_url(s: &str) -> bool {
    if s.contains("::") {
        return false;
    }
    let b = s.as_bytes();
    let scheme_len = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-')))
        .unwrap_or(b.len());
    let has_scheme =
        scheme_len > 0 && b[0].is_ascii_alphabetic() && s[scheme_len..].starts_with("://");
    let windows_path =
        b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/');
    has_scheme || s.starts_with('/') || windows_path
}

fn parse_url(s: &str, start: usize, end: usize) -> Result<MatchSpec> {
    let text = &s[start..end];
    let (url, fragment) = match text.find('#') {
        Some(p) => (&text[..p], Some((start + p + 1, &text[p + 1..]))),
        None => (text, None),
    };
    let url = url.trim_end();
    let mut spec = MatchSpec::empty();
    if let Some((at, frag)) = fragment {
        let frag = frag.trim();
        if let Some(hex) = frag.strip_prefix("sha256:") {
            spec.sha256 = Some(checked_hex(hex, 64, "sha256", at + 7)?);
        } else if frag.len() == 64 {
            spec.sha256 = Some(checked_hex(frag, 64, "sha256", at)?);
        } else if !frag.is_empty() {
            spec.md5 = Some(checked_hex(frag, 32, "md5", at)?);
        }
    }
    let file_at = url.rfind(['/', '\\']).map_or(0, |p| p + 1);
    let file = &url[file_at..];
    let stem = file
        .strip_suffix(".tar.bz2")
        .or_else(|| file.strip_suffix(".conda"));
    let name = stem.and_then(|stem| {
        let mut parts = stem.rsplitn(3, '-');
        let (_build, _version, name) = (parts.next()?, parts.next()?, parts.next()?);
        (!name.is_empty()).then_some(name)
    });
    let Some(name) = name else {
        return Err(MatchSpecError::new(
            start + file_at,
            format!(
                "expected a conda package file `<name>-<version>-<build>.tar.bz2` or `.conda` at the end of the URL, found `{file}`"
            ),
        ));
    };
    spec.name = Some(PackageName::conda(name));
    spec.url = Some(url.to_owned());
    Ok(spec)
}

fn checked_hex(value: &str, len: usize, what: &str, at: usize) -> Result<String> {
    let value = value.trim();
    if value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(MatchSpecError::new(
            at,
            format!("expected a {what} checksum of {len} hex digits, found `{value}`"),
        ))
    }
}

fn parse_template(s: &str, start: usize, end: usize) -> Result<MatchSpec> {
    let mut spec = MatchSpec::empty();
    let text = &s[start..end];
    let mut name_start = start;
    if let Some(pos) = text.rfind("::") {
        let (c, sd) = split_channel(text[..pos].trim());
        spec.channel = c;
        spec.subdir = sd;
        name_start = start + pos + 2;
    }
    let (name_start, end) = trimmed_range(s, name_start, end);
    let name_end = name_end(s, name_start, end)?;
    spec.name = Some(PackageName::conda(&s[name_start..name_end]));
    let rest = s[name_end..end].trim();
    if !rest.is_empty() {
        spec.template = Some(rest.to_owned());
    }
    spec.form = VersionForm::Template;
    Ok(spec)
}

/// Where a `#` comment starts, ignoring `#` inside a bracket section.
fn comment_start(s: &str, start: usize, end: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote = None;
    let bytes = s.as_bytes();
    let mut i = start;
    while i < end {
        let c = bytes[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else {
            match c {
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b'\'' | b'"' if depth > 0 => quote = Some(c),
                b'#' if depth == 0 => return Some(i),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// The `[` that opens the bracket section closing at `end - 1`.
fn bracket_open(s: &str, start: usize, end: usize) -> Result<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut open = None;
    let mut quote = None;
    let mut i = start;
    while i < end {
        let c = bytes[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' if depth > 0 => quote = Some(c),
            b'[' => {
                if depth == 0 {
                    open = Some(i);
                }
                depth += 1;
            }
            b']' => {
                if depth == 0 {
                    return Err(MatchSpecError::new(
                        i,
                        "unexpected `]` without a matching `[`",
                    ));
                }
                depth -= 1;
                if depth == 0 && i != end - 1 {
                    open = None;
                }
            }
            _ => {}
        }
        i += 1;
    }
    match (open, depth, quote) {
        (Some(open), 0, None) => Ok(open),
        (Some(open), _, _) => Err(MatchSpecError::new(open, "unterminated bracket section")),
        _ => Err(MatchSpecError::new(
            end - 1,
            "unexpected `]` without a matching `[`",
        )),
    }
}

type BracketField = (String, usize, String, usize);

/// `[key=value, key='value', key="value"]` between `open` and `end` (exclusive, `]` at `end-1`).
fn parse_bracket_fields(s: &str, open: usize, end: usize) -> Result<Vec<BracketField>> {
    let bytes = s.as_bytes();
    let close = end - 1;
    let mut fields = Vec::new();
    let mut i = skip_ws(s, open + 1, close);
    if i == close {
        return Ok(fields);
    }
    loop {
        let key_start = i;
        while i < close && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'-')) {
            i += 1;
        }
        if i == key_start {
            return Err(MatchSpecError::new(
                i,
                "expected a bracket key such as `version` or `build`",
            ));
        }
        let key = s[key_start..i].to_owned();
        i = skip_ws(s, i, close);
        if i >= close || bytes[i] != b'=' {
            let hint = if i >= close || bytes[i] == b',' {
                "; conda has no pip-style `[extras]`"
            } else {
                ""
            };
            return Err(MatchSpecError::new(
                i,
                format!("expected `=` after bracket key `{key}`{hint}"),
            ));
        }
        i = skip_ws(s, i + 1, close);
        let value_start;
        let value;
        if i < close && matches!(bytes[i], b'\'' | b'"') {
            let q = bytes[i];
            let mut j = i + 1;
            let mut out = String::new();
            let mut closed = false;
            while j < close {
                let c = bytes[j];
                if c == b'\\' && j + 1 < close && matches!(bytes[j + 1], b'"' | b'\'' | b'\\') {
                    out.push(char::from(bytes[j + 1]));
                    j += 2;
                    continue;
                }
                if c == q {
                    closed = true;
                    break;
                }
                let ch = s[j..].chars().next().unwrap_or('\u{fffd}');
                out.push(ch);
                j += ch.len_utf8().max(1);
            }
            if !closed {
                return Err(MatchSpecError::new(
                    i,
                    format!("unterminated quoted value for `{key}`"),
                ));
            }
            value_start = i + 1;
            value = out;
            i = j + 1;
        } else {
            let mut j = i;
            if j < close && bytes[j] == b'[' {
                while j < close && bytes[j] != b']' {
                    j += 1;
                }
                j = (j + 1).min(close);
            } else {
                while j < close && !matches!(bytes[j], b',' | b'\'' | b'"') {
                    j += 1;
                }
            }
            let (vs, ve) = trimmed_range(s, i, j);
            if vs == ve {
                return Err(MatchSpecError::new(
                    i,
                    format!("expected a value for bracket key `{key}`"),
                ));
            }
            value_start = vs;
            value = s[vs..ve].to_owned();
            i = j;
        }
        fields.push((key, key_start, value, value_start));
        i = skip_ws(s, i, close);
        if i == close {
            return Ok(fields);
        }
        if bytes[i] != b',' {
            return Err(MatchSpecError::new(
                i,
                "expected `,` or `]` in the bracket section",
            ));
        }
        i = skip_ws(s, i + 1, close);
    }
}

fn skip_ws(s: &str, mut i: usize, end: usize) -> usize {
    let bytes = s.as_bytes();
    while i < end && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Split `channel[/subdir]` and drop conda's default channel alias from URL channels.
fn split_channel(text: &str) -> (Option<String>, Option<String>) {
    let text = text.trim().trim_end_matches('/');
    if text.is_empty() {
        return (None, None);
    }
    let text = ["https://conda.anaconda.org/", "http://conda.anaconda.org/"]
        .iter()
        .find_map(|alias| text.strip_prefix(alias))
        .unwrap_or(text);
    if let Some((channel, subdir)) = text.rsplit_once('/')
        && KNOWN_SUBDIRS.contains(&subdir)
        && !channel.is_empty()
    {
        return (Some(channel.to_owned()), Some(subdir.to_owned()));
    }
    (Some(text.to_owned()), None)
}

/// Split the positional `version[ build]` text at `s[start..end]`.
fn parse_version_and_build(
    s: &str,
    start: usize,
    end: usize,
) -> Result<((VersionSpec, VersionForm), Option<String>)> {
    let version_end = spec::constraint_end(s, start, end)
        .map_err(|e| MatchSpecError::new(e.offset, e.message))?;
    let mut build_start = version_end;
    if build_start < end && matches!(s.as_bytes()[build_start], b' ' | b'=') {
        build_start += 1;
    }
    let (bs, be) = trimmed_range(s, build_start, end);
    let build = (bs < be).then(|| s[bs..be].to_owned());

    let version: String = s[start..version_end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    // conda's legacy treatment of a leading `=` or `==`.
    let (text, fuzzy) = strip_equals(&version, build.is_some());
    let (version, mut form) = parse_version_spec(&text, start, s)?;
    if fuzzy && form == VersionForm::Wildcard {
        form = VersionForm::Fuzzy;
    }
    Ok(((version, form), build))
}

/// Parse the version spec `text`, found at byte `base` of `spec` (errors point into
/// `spec` when `text` is a slice of it there, else at `base`), and say how it was written.
fn parse_version_spec(text: &str, base: usize, spec: &str) -> Result<(VersionSpec, VersionForm)> {
    let (version, fuzzy) = spec::parse(text).map_err(|e: VersionSpecError| {
        let offset = if spec.get(base..).is_some_and(|rest| rest.starts_with(text)) {
            base + e.offset
        } else {
            base
        };
        MatchSpecError::new(offset, e.message)
    })?;
    let form = match &version {
        VersionSpec::Any => VersionForm::Any,
        VersionSpec::Constraint(Operator::Eq, _) => VersionForm::Exact,
        VersionSpec::Constraint(Operator::StartsWith, _) if fuzzy => VersionForm::Fuzzy,
        VersionSpec::Constraint(Operator::StartsWith, _) => VersionForm::Wildcard,
        _ => VersionForm::Range,
    };
    Ok((version, form))
}

/// conda's rules for a version that starts with `=`; the flag says an `*` was appended.
fn strip_equals(version: &str, has_build: bool) -> (String, bool) {
    let Some(rest) = version.strip_prefix('=') else {
        return (version.to_owned(), false);
    };
    if let (Some(rest), false) = (rest.strip_prefix('='), has_build) {
        return (rest.to_owned(), false);
    }
    if rest.contains(['=', ',', '|']) {
        return (version.to_owned(), false);
    }
    if !has_build && !rest.ends_with('*') {
        (format!("{rest}*"), true)
    } else {
        (rest.to_owned(), false)
    }
}

/// Where a package name starting at `start` ends: at white space or the first operator
/// character; an empty name is an error.
fn name_end(s: &str, start: usize, end: usize) -> Result<usize> {
    let name_end = s[start..end]
        .char_indices()
        .find(|&(_, c)| c.is_whitespace() || is_operator_char(c))
        .map_or(end, |(i, _)| start + i);
    if name_end == start {
        return Err(MatchSpecError::new(start, "expected a package name"));
    }
    Ok(name_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> MatchSpec {
        s.parse()
            .unwrap_or_else(|e: MatchSpecError| panic!("{s:?}: {} at {}", e.message, e.offset))
    }

    fn err(s: &str) -> MatchSpecError {
        match s.parse::<MatchSpec>() {
            Ok(m) => panic!("{s:?} parsed as {m:?}"),
            Err(e) => e,
        }
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        spec: String,
        name: Option<String>,
        version: Option<String>,
        build: Option<String>,
        channel: Option<String>,
        #[serde(default)]
        subdir: Option<String>,
        #[serde(default)]
        url: Option<String>,
        #[serde(rename = "str")]
        text: Option<String>,
        #[serde(default)]
        error: Option<String>,
    }

    fn check_vector(v: &Vector) -> std::result::Result<(), String> {
        let m = v
            .spec
            .parse::<MatchSpec>()
            .map_err(|e| format!("rejected: {} at {}", e.message, e.offset))?;
        let got = (
            m.name.as_ref().map(|n| n.as_str().to_owned()),
            m.version.as_ref().map(ToString::to_string),
            m.build.clone(),
            m.channel.clone(),
        );
        let want = (
            v.name.clone(),
            v.version.clone(),
            v.build.clone(),
            v.channel.clone(),
        );
        if got != want {
            return Err(format!("got {got:?}, want {want:?}"));
        }
        if v.subdir.is_some() && m.subdir != v.subdir {
            return Err(format!("subdir {:?}, want {:?}", m.subdir, v.subdir));
        }
        if m.url != v.url {
            return Err(format!("url {:?}, want {:?}", m.url, v.url));
        }
        // rattler's `str` shows the channel; so does ours. The URL form differs only in
        // the checksum we keep (rattler drops `#md5` as a comment).
        let canonical = m.canonical();
        if m.md5.is_none() && Some(&canonical) != v.text.as_ref() {
            return Err(format!("canonical {canonical:?}, want {:?}", v.text));
        }
        Ok(())
    }

    /// Specs rattler rejects that envaudit accepts on purpose.
    const ACCEPTED_EXCEPTIONS: &[(&str, &str)] = &[
        (
            "azureml-core={{latest-pypi-version}}",
            "release templates are kept as written and classified `template`",
        ),
        (
            "azureml-core=={{latest-pypi-version}}",
            "release templates are kept as written and classified `template`",
        ),
    ];

    fn run_vectors(vectors: &[Vector]) -> (usize, Vec<String>) {
        let mut failures = Vec::new();
        let mut checked = 0;
        for v in vectors {
            checked += 1;
            if v.error.is_some() {
                let accepted = v.spec.parse::<MatchSpec>();
                let excused = ACCEPTED_EXCEPTIONS.iter().any(|(s, _)| *s == v.spec);
                match (accepted, excused) {
                    (Ok(m), false) => {
                        failures.push(format!("{:?}: rattler rejects, we parsed {m:?}", v.spec));
                    }
                    (Err(e), true) => {
                        failures.push(format!("{:?}: excused but rejected: {}", v.spec, e.message));
                    }
                    _ => {}
                }
                continue;
            }
            if let Err(e) = check_vector(v) {
                failures.push(format!("{:?}: {e}", v.spec));
            }
        }
        (checked, failures)
    }

    #[test]
    fn agrees_with_azureml_doc_vectors() {
        let text = include_str!("../../tests/vectors/azureml_ref_conda_matchspec.json");
        let vectors: Vec<Vector> = serde_json::from_str(text).unwrap();
        let (checked, failures) = run_vectors(&vectors);
        assert_eq!(checked, 22);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn agrees_with_every_py_rattler_vector() {
        #[derive(serde::Deserialize)]
        struct File {
            vectors: Vec<Vector>,
        }
        let text = include_str!("../../tests/vectors/conda_matchspec_parse.json");
        let file: File = serde_json::from_str(text).unwrap();
        let (checked, failures) = run_vectors(&file.vectors);
        assert!(checked >= 300, "{checked}");
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn matches_records_like_py_rattler() {
        #[derive(serde::Deserialize)]
        struct File {
            records: Vec<RecordVector>,
        }
        #[derive(serde::Deserialize)]
        struct RecordVector {
            spec: String,
            #[serde(rename = "str")]
            text: String,
            matches: std::collections::BTreeMap<String, bool>,
        }
        let text = include_str!("../../tests/vectors/conda_matchspec_matches.json");
        let file: File = serde_json::from_str(text).unwrap();
        let mut failures = Vec::new();
        let mut checked = 0;
        for v in &file.records {
            let m = spec(&v.spec);
            if m.canonical() != v.text {
                failures.push(format!(
                    "{}: canonical {}, want {}",
                    v.spec,
                    m.canonical(),
                    v.text
                ));
            }
            for (record, want) in &v.matches {
                checked += 1;
                let (version, build) = record.split_once(' ').unwrap();
                let got = m.matches(&version.parse().unwrap(), build);
                if got != *want {
                    failures.push(format!("{} vs {record}: {got}, want {want}", v.spec));
                }
            }
        }
        assert!(checked >= 300, "{checked}");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn templates_match_nothing() {
        let m = spec("azureml-core=={{latest-pypi-version}}");
        assert!(!m.matches(&"1.0".parse().unwrap(), "py_0"));
    }

    #[test]
    fn fuzzy_equals_is_fuzzy() {
        let m = spec("python=3.8");
        assert_eq!(m.version.as_ref().unwrap().to_string(), "3.8.*");
        let pin = m.pin();
        assert_eq!(pin.state, PinState::Fuzzy);
        assert_eq!(pin.reason, "conda reads `=3.8` as `3.8.*`");
    }

    #[test]
    fn pin_states_follow_the_rules() {
        let cases = [
            ("numpy", PinState::Unpinned),
            ("numpy *", PinState::Unpinned),
            ("numpy==1.18.1", PinState::Exact),
            ("numpy 1.18.1", PinState::Exact),
            ("xgboost==3.0.2", PinState::Exact),
            ("numpy=1.18.1=*", PinState::Exact),
            ("numpy=1.18.1=py38*", PinState::Exact),
            ("numpy[version='1.18.1']", PinState::Exact),
            ("numpy=1.18.1=py38h7e8d029_0", PinState::ExactWithBuild),
            ("numpy==1.18.1=py38h7e8d029_0", PinState::ExactWithBuild),
            ("numpy 1.18.1 py38h7e8d029_0", PinState::ExactWithBuild),
            (
                "conda-forge::numpy==1.18.1=py38_0",
                PinState::ExactWithBuild,
            ),
            ("numpy=1.18.1", PinState::Fuzzy),
            ("numpy[version='=1.2']", PinState::Fuzzy),
            ("python=3.7.*", PinState::Wildcard),
            ("numpy 1.2.*", PinState::Wildcard),
            ("numpy==1.2.*", PinState::Wildcard),
            ("numpy=1.2*", PinState::Wildcard),
            ("numpy>=1.2,<2", PinState::Range),
            ("python>=3.10,<3.12", PinState::Range),
            ("numpy~=1.2", PinState::Range),
            ("numpy=1.18.1|1.18.5", PinState::Range),
            ("pip<=23.2.1", PinState::Range),
            ("numpy!=1.2", PinState::Range),
            ("azureml-core={{latest-pypi-version}}", PinState::Template),
        ];
        for (s, want) in cases {
            assert_eq!(spec(s).pin().state, want, "{s}");
        }
    }

    #[test]
    fn pin_reasons_read_as_sentences() {
        let reasons: Vec<String> = [
            "numpy",
            "numpy==1.18.1",
            "numpy=1.18.1=py38_0",
            "python=3.7.*",
            "numpy>=1.2,<2",
            "https://repo.anaconda.com/pkgs/main/linux-64/numpy-1.21.5-py37_0.conda",
            "azureml-core=={{latest-pypi-version}}",
        ]
        .iter()
        .map(|s| spec(s).pin().reason)
        .collect();
        insta::assert_snapshot!(reasons.join("\n"), @r"
        no version constraint
        exact version `1.18.1`; the build is still free
        exact version `1.18.1` and build `py38_0`
        `3.7.*` matches every release with that prefix
        `>=1.2,<2` allows more than one version
        explicit package URL `https://repo.anaconda.com/pkgs/main/linux-64/numpy-1.21.5-py37_0.conda` without an `md5` or `sha256` checksum
        release template; resolved only when the asset is published
        ");
    }

    #[test]
    fn explicit_urls_pin_with_a_checksum_only() {
        let base =
            "https://conda.anaconda.org/conda-forge/linux-64/numpy-1.21.5-py37h6c91a56_3.tar.bz2";
        let plain = spec(base);
        assert_eq!(plain.name.as_ref().unwrap().as_str(), "numpy");
        assert_eq!(plain.pin().state, PinState::Exact);
        let md5 = spec(&format!("{base}#0123456789ABCDEF0123456789abcdef"));
        assert_eq!(md5.md5.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        assert_eq!(md5.pin().state, PinState::ExactWithBuild);
        let sha = spec(&format!("{base}#sha256:{}", "a".repeat(64)));
        assert_eq!(sha.pin().state, PinState::ExactWithBuild);
        assert_eq!(sha.url.as_deref(), Some(base));
        assert_eq!(
            err(&format!("{base}#xyz")).message,
            "expected a md5 checksum of 32 hex digits, found `xyz`"
        );
    }

    #[test]
    fn templates_keep_their_text() {
        let m = spec("azureml-core=={{latest-pypi-version}}");
        assert_eq!(m.name.as_ref().unwrap().as_str(), "azureml-core");
        assert_eq!(m.template.as_deref(), Some("=={{latest-pypi-version}}"));
        assert_eq!(m.canonical(), "azureml-core =={{latest-pypi-version}}");
    }

    #[test]
    fn channel_and_subdir_are_split() {
        let m = spec("conda-forge/linux-64::numpy>=1.2");
        assert_eq!(m.channel.as_deref(), Some("conda-forge"));
        assert_eq!(m.subdir.as_deref(), Some("linux-64"));
        assert_eq!(m.canonical(), "conda-forge/linux-64::numpy >=1.2");
        let m = spec("pkgs/main::numpy");
        assert_eq!(m.channel.as_deref(), Some("pkgs/main"));
        assert_eq!(m.subdir, None);
    }

    #[test]
    fn canonical_is_independent_of_spacing_and_case() {
        let a = spec("NumPy >= 1.18 , < 2");
        let b = spec("numpy>=1.18,<2");
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(a.canonical(), "numpy >=1.18,<2");
        assert_eq!(spec("numpy").canonical(), "numpy");
        assert_eq!(
            spec("numpy[build=py38_0]").canonical(),
            "numpy[build=\"py38_0\"]"
        );
    }

    #[test]
    fn canonical_round_trips() {
        for s in [
            "numpy",
            "numpy=1.18.1",
            "numpy 1.18.1 py38_0",
            "conda-forge::numpy>=1.2,<2|==3",
            "numpy (>=1.2|<1.0),>0.5",
            "numpy[build=py38_0]",
        ] {
            let m = spec(s);
            let again = spec(&m.canonical());
            assert_eq!(again.canonical(), m.canonical(), "{s}");
        }
    }

    #[test]
    fn errors_point_at_the_bad_byte() {
        let cases = [
            "",
            "numpy=>1.2",
            "numpy>>1",
            "numpy==",
            "numpy>=1.2,",
            "numpy 1.2.3.",
            "numpy 1.2-3_4",
            "numpy 99999999999999999999",
            "numpy[foo=bar]",
            "numpy]",
            "numpy[version=1.2",
            "numpy*",
            "azureml-dataset-runtime[fuse]",
            "numpy 1.2[build=x] [version=3]",
            "conda-forge::",
            ">=1.2",
            "num:py",
            "numpy<*",
            "https://example.com/numpy.whl",
        ];
        let rendered: Vec<String> = cases
            .iter()
            .map(|s| {
                let e = err(s);
                format!("{s:?} @{}: {}", e.offset, e.message)
            })
            .collect();
        insta::assert_snapshot!(rendered.join("\n"), @r#"
        "" @0: expected a package name, found an empty spec
        "numpy=>1.2" @6: expected a version after `=`, found `>1.2`
        "numpy>>1" @6: expected a version after `>`, found `>1`
        "numpy==" @7: expected a version after `==`, found the end of the spec
        "numpy>=1.2," @11: expected a version constraint after `,`, found the end of the spec
        "numpy 1.2.3." @11: malformed version `1.2.3.`: unexpected `.`
        "numpy 1.2-3_4" @11: cannot mix `-` and `_` as version separators
        "numpy 99999999999999999999" @6: number `99999999999999999999` in version is too large
        "numpy[foo=bar]" @6: unknown bracket key `foo`; expected `version`, `build`, `channel`, `subdir`, `url`, `md5`, `sha256`, `build_number`, `fn`, `license`, `license_family`, `track_features` or `namespace`
        "numpy]" @5: unexpected `]` without a matching `[`
        "numpy[version=1.2" @5: unterminated bracket section; expected `]` at the end of the spec
        "numpy*" @5: invalid character `*` in package name `numpy*`; names hold letters, digits, `-`, `_` and `.`
        "azureml-dataset-runtime[fuse]" @28: expected `=` after bracket key `fuse`; conda has no pip-style `[extras]`
        "numpy 1.2[build=x] [version=3]" @9: unexpected `[`; a spec has at most one bracket section, at its end
        "conda-forge::" @13: expected a package name
        ">=1.2" @0: expected a package name
        "num:py" @3: unexpected `:`; a channel is separated from the name by `::`
        "numpy<*" @6: `*` cannot follow `<`
        "https://example.com/numpy.whl" @20: expected a conda package file `<name>-<version>-<build>.tar.bz2` or `.conda` at the end of the URL, found `numpy.whl`
        "#);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let odd = [
            "é",
            "numpy==é",
            "numpy 1.é",
            "[",
            "]",
            "[]",
            "a[]",
            "a[=]",
            "a[b=",
            "a[b='",
            "a[b='\\",
            "::",
            ":::",
            "a::b::c",
            "(",
            ")",
            "a (",
            "a ()",
            "a (1",
            "a 1|",
            "a 1,",
            "a |1",
            "a 1!",
            "a 1!!2",
            "a 1+",
            "a +1",
            "a 1+é",
            "a ==1.0é",
            "a 1.2 é",
            "#",
            "a#",
            "a[b='#']",
            "https://",
            "http://x/",
            "/",
            "C:\\x",
            "a=1=",
            "a==1==",
            "a 1 2 3",
            "a\u{3000}1",
            "a\t1\tb",
            "{{",
            "{{}}",
            "::{{x}}",
            "a {{x}} b",
        ];
        for s in odd {
            let _ = s.parse::<MatchSpec>();
        }
    }

    mod props {
        use super::super::*;
        proptest::proptest! {
            #[test]
            fn parsing_never_panics(s in "\\PC{0,40}") {
                let _ = s.parse::<MatchSpec>();
            }

            #[test]
            fn parsing_spec_like_text_never_panics(s in "[a-z:/\\[\\]=<>!~*|,() .0-9'\"#_+-]{0,30}") {
                if let Ok(m) = s.parse::<MatchSpec>() {
                    let _ = m.pin();
                    let _ = m.canonical();
                }
            }
        }
    }
}
