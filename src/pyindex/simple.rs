//! Project pages of the simple repository API, in both forms, read into one
//! [`ProjectPage`]:
//!
//! - PEP 691 JSON (`application/vnd.pypi.simple.v1+json`): `files` entries with `filename`,
//!   `url`, `hashes`, `requires-python`, `yanked` (PEP 592), `core-metadata` or its older
//!   name `dist-info-metadata` (PEP 714 / 658), and PEP 700's `size` and `upload-time`;
//! - PEP 503 HTML (`text/html`, `application/vnd.pypi.simple.v1+html`): one anchor per
//!   file, the hash in the URL fragment (`#sha256=…`), and the attributes
//!   `data-requires-python` (HTML-escaped), `data-yanked`, `data-core-metadata` /
//!   `data-dist-info-metadata`; a `<base href>` changes what relative links resolve against.
//!
//! What pip does, this does: an invalid `Requires-Python` is ignored (the file stays, with no
//! constraint); a file whose name is not a distribution of the project is skipped (and listed
//! in [`ProjectPage::skipped`]); a repository API version other than 1.x is refused.
//!
//! The HTML reader is a small tolerant scanner, not a browser engine: it finds tags, skips
//! comments, `<script>` and `<style>`, and reads attributes with or without quotes. It refuses
//! what it cannot read whole (invalid UTF-8, a tag, comment or quoted value that never ends),
//! with the byte offset. Both readers are bounded by [`PageLimits`].

use std::collections::BTreeMap;
use std::fmt;

use reqwest::Url;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::filename::{DistFilename, FilenameProblem};
use crate::model::PackageName;
use crate::python::Specifiers;

/// The media type of PEP 691 JSON pages.
pub const JSON_MEDIA_TYPE: &str = "application/vnd.pypi.simple.v1+json";
/// The media type of PEP 503 HTML pages under PEP 691's versioned names.
pub const HTML_MEDIA_TYPE: &str = "application/vnd.pypi.simple.v1+html";
/// The `Accept` header sent for project pages: JSON, then versioned HTML, then plain HTML.
pub const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// How large a page may be, and how many files it may list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLimits {
    /// The largest page read, in bytes (default 64 MiB; `PyPI`'s largest pages are a few MiB).
    pub max_bytes: usize,
    /// The most files (JSON entries or HTML anchors) one page may list (default 250,000).
    pub max_files: usize,
}

impl Default for PageLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_files: 250_000,
        }
    }
}

/// Which form a page is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageFormat {
    /// PEP 691 JSON.
    Json,
    /// PEP 503 HTML.
    Html,
}

impl PageFormat {
    /// The form a `Content-Type` names (parameters such as `charset` are ignored), if it is
    /// one of the simple API's.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            JSON_MEDIA_TYPE | "application/vnd.pypi.simple.latest+json" => Some(PageFormat::Json),
            HTML_MEDIA_TYPE | "application/vnd.pypi.simple.latest+html" | "text/html" => {
                Some(PageFormat::Html)
            }
            _ => None,
        }
    }
}

/// The files of one project on one page (or on several pages merged, in order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProjectPage {
    /// The distribution files, in page order.
    pub files: Vec<DistFile>,
    /// Links that are not distributions of the project, with why (pip skips them too).
    pub skipped: Vec<SkippedFile>,
}

impl ProjectPage {
    /// Reads a page in `format`. Relative URLs resolve against `page_url` (the URL the page
    /// was finally served from), or a `<base href>` in HTML. With `project`, files of other
    /// projects are skipped; without (a flat `--find-links` page), every distribution is kept.
    pub fn parse(
        body: &[u8],
        format: PageFormat,
        page_url: &Url,
        project: Option<&PackageName>,
        limits: &PageLimits,
    ) -> Result<Self, PageError> {
        if body.len() > limits.max_bytes {
            return Err(PageError::TooLarge {
                size: body.len(),
                limit: limits.max_bytes,
            });
        }
        let text = std::str::from_utf8(body).map_err(|e| PageError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        match format {
            PageFormat::Json => parse_json(text, page_url, project, limits),
            PageFormat::Html => parse_html(text, page_url, project, limits),
        }
    }

    /// Appends another page's files after this one's (pip considers the files of every
    /// index and find-links location together).
    pub fn extend(&mut self, other: ProjectPage) {
        self.files.extend(other.files);
        self.skipped.extend(other.skipped);
    }
}

/// One distribution file on a project page.
#[derive(Clone, Debug, PartialEq)]
pub struct DistFile {
    /// The parsed file name (taken from the URL's last path segment, as pip does).
    pub filename: DistFilename,
    /// The absolute URL, without its fragment and without credentials (the client adds
    /// those of the index it came from when it downloads).
    pub url: Url,
    /// The hashes the index gives for the file (`hashes`, or the URL fragment).
    pub hashes: Hashes,
    /// `Requires-Python` as the index states it; `None` when absent or invalid (pip ignores
    /// an invalid one).
    pub requires_python: Option<Specifiers>,
    /// PEP 592: `Some(reason)` when yanked, the reason empty when none was given.
    pub yanked: Option<String>,
    /// PEP 658 / 714: `Some` when the index serves the core metadata at
    /// [`DistFile::metadata_url`], with its hashes (possibly none).
    pub core_metadata: Option<Hashes>,
    /// PEP 700 `upload-time` (JSON pages only).
    pub upload_time: Option<jiff::Timestamp>,
    /// PEP 700 `size` in bytes (JSON pages only).
    pub size: Option<u64>,
}

impl DistFile {
    /// Whether the file is yanked (pip installs a yanked file only when pinned with `==`).
    pub fn is_yanked(&self) -> bool {
        self.yanked.is_some()
    }

    /// Where the core metadata is served (the file's URL plus `.metadata`), if the index
    /// says it is.
    pub fn metadata_url(&self) -> Option<Url> {
        self.core_metadata.as_ref()?;
        let mut url = self.url.clone();
        url.set_path(&format!("{}.metadata", url.path()));
        Some(url)
    }
}

/// A link of a page that is not a usable distribution of the project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedFile {
    /// The file name (or for an unreadable entry, what could be read of it).
    pub filename: String,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// Why a link was skipped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// Its name is not a distribution of the project.
    #[error(transparent)]
    Filename(FilenameProblem),
    /// A JSON entry without a usable `filename`, `url` or of the wrong shape.
    #[error("malformed file entry: {0}")]
    Entry(String),
    /// A URL that does not resolve.
    #[error("invalid URL: {0}")]
    Url(String),
}

/// File hashes by algorithm name (`sha256`), both lowercased; values are hex.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hashes(BTreeMap<String, String>);

impl Hashes {
    /// The hex digest for `algorithm` (`sha256`), if given.
    pub fn get(&self, algorithm: &str) -> Option<&str> {
        self.0.get(algorithm).map(String::as_str)
    }

    /// The SHA-256 hex digest, if given.
    pub fn sha256(&self) -> Option<&str> {
        self.get("sha256")
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every `(algorithm, hex)`, sorted by algorithm.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(a, h)| (a.as_str(), h.as_str()))
    }

    /// Adds a hash unless the algorithm name or the hex is malformed (names are short ASCII
    /// words, values hex of at most 256 digits); returns whether it was added.
    pub fn insert(&mut self, algorithm: &str, hex: &str) -> bool {
        let ok_name = !algorithm.is_empty()
            && algorithm.len() <= 16
            && algorithm
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let ok_hex =
            !hex.is_empty() && hex.len() <= 256 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        if ok_name && ok_hex {
            self.0
                .insert(algorithm.to_ascii_lowercase(), hex.to_ascii_lowercase());
        }
        ok_name && ok_hex
    }
}

impl fmt::Display for Hashes {
    /// `sha256:HEX`, comma-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (a, h)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{a}:{h}")?;
        }
        Ok(())
    }
}

/// Why a page cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// Over [`PageLimits::max_bytes`].
    #[error("the page is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// The page's size (or the size read so far).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Over [`PageLimits::max_files`].
    #[error("the page lists more than {limit} files")]
    TooManyFiles {
        /// The limit.
        limit: usize,
    },
    /// Not UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    NotUtf8 {
        /// The offset of the first invalid byte.
        offset: usize,
    },
    /// HTML that ends inside a tag, comment or quoted value (a truncated page, usually).
    #[error("unterminated {what} starting at byte {offset}")]
    Unterminated {
        /// `tag`, `comment` or `attribute value`.
        what: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// JSON that does not parse, or is not an object with a `files` list.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// `serde_json`'s description.
        message: String,
    },
    /// A repository API version envaudit does not read (it reads 1.x).
    #[error("unsupported repository API version `{0}` (envaudit reads 1.x)")]
    UnsupportedApiVersion(String),
    /// A `Content-Type` that is neither the simple API's JSON nor HTML.
    #[error("unsupported content type `{0}`")]
    UnsupportedContentType(String),
}

/// One file as the page states it, before its name is parsed.
struct RawFile<'a> {
    filename: Option<String>,
    href: &'a str,
    hashes: Hashes,
    requires_python: Option<String>,
    yanked: Option<String>,
    core_metadata: Option<Hashes>,
    upload_time: Option<&'a str>,
    size: Option<u64>,
}

fn push_file(page: &mut ProjectPage, raw: RawFile<'_>, base: &Url, project: Option<&PackageName>) {
    let mut url = match base.join(raw.href) {
        Ok(u) => u,
        Err(e) => {
            page.skipped.push(SkippedFile {
                filename: raw.filename.unwrap_or_else(|| cut(raw.href, 200)),
                reason: SkipReason::Url(e.to_string()),
            });
            return;
        }
    };
    let mut hashes = raw.hashes;
    if let Some(fragment) = url.fragment() {
        for part in fragment.split('&') {
            if let Some((alg, hex)) = part.split_once('=')
                && matches!(
                    alg,
                    "sha1" | "sha224" | "sha256" | "sha384" | "sha512" | "md5"
                )
                && hashes.get(alg).is_none()
            {
                hashes.insert(alg, hex);
            }
        }
    }
    // each change re-serialises the URL: only the ones that change something
    if url.fragment().is_some() {
        url.set_fragment(None);
    }
    if !url.username().is_empty() {
        let _ = url.set_username("");
    }
    if url.password().is_some() {
        let _ = url.set_password(None);
    }
    let filename = raw.filename.unwrap_or_else(|| url_filename(&url));
    let parsed = match project {
        Some(p) => DistFilename::parse_for(&filename, p),
        None => DistFilename::parse(&filename),
    };
    let filename = match parsed {
        Ok(f) => f,
        Err(e) => {
            page.skipped.push(SkippedFile {
                filename: e.filename,
                reason: SkipReason::Filename(e.problem),
            });
            return;
        }
    };
    let requires_python = raw
        .requires_python
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| s.parse::<Specifiers>().ok());
    page.files.push(DistFile {
        filename,
        url,
        hashes,
        requires_python,
        yanked: raw.yanked,
        core_metadata: raw.core_metadata,
        upload_time: raw.upload_time.and_then(|t| t.parse().ok()),
        size: raw.size,
    });
}

/// The last path segment, percent-decoded (pip's `Link.filename`).
fn url_filename(url: &Url) -> String {
    let path = url.path().trim_end_matches('/');
    let last = path.rsplit('/').next().unwrap_or(path);
    percent_decode(last)
}

pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn check_api_version(version: &str) -> Result<(), PageError> {
    let major = version.trim().split('.').next().unwrap_or("");
    if major == "1" {
        Ok(())
    } else {
        Err(PageError::UnsupportedApiVersion(cut(version, 40)))
    }
}

// ---------------------------------------------------------------------------------------
// PEP 691 JSON

#[derive(Deserialize)]
struct PageWire<'a> {
    #[serde(default)]
    meta: Option<MetaWire>,
    #[serde(borrow)]
    files: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct MetaWire {
    #[serde(rename = "api-version", default)]
    api_version: Option<String>,
}

#[derive(Deserialize)]
struct FileWire<'a> {
    filename: String,
    #[serde(borrow)]
    url: std::borrow::Cow<'a, str>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(rename = "requires-python", default)]
    requires_python: Option<String>,
    #[serde(rename = "core-metadata", default)]
    core_metadata: Option<MetadataFlagWire>,
    #[serde(rename = "dist-info-metadata", default)]
    dist_info_metadata: Option<MetadataFlagWire>,
    #[serde(default)]
    yanked: Option<YankedWire>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(rename = "upload-time", borrow, default)]
    upload_time: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MetadataFlagWire {
    Flag(bool),
    Hashes(BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum YankedWire {
    Flag(bool),
    Reason(String),
}

fn parse_json(
    text: &str,
    page_url: &Url,
    project: Option<&PackageName>,
    limits: &PageLimits,
) -> Result<ProjectPage, PageError> {
    let wire: PageWire<'_> = serde_json::from_str(text).map_err(|e| PageError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if let Some(v) = wire.meta.and_then(|m| m.api_version) {
        check_api_version(&v)?;
    }
    if wire.files.len() > limits.max_files {
        return Err(PageError::TooManyFiles {
            limit: limits.max_files,
        });
    }
    let mut page = ProjectPage::default();
    for raw in wire.files {
        let f: FileWire<'_> = match serde_json::from_str(raw.get()) {
            Ok(f) => f,
            Err(e) => {
                page.skipped.push(SkippedFile {
                    filename: cut(raw.get(), 200),
                    reason: SkipReason::Entry(e.to_string()),
                });
                continue;
            }
        };
        let mut hashes = Hashes::default();
        for (a, h) in &f.hashes {
            hashes.insert(a, h);
        }
        // PEP 714: `core-metadata` wins over the older `dist-info-metadata`.
        let core_metadata = match f.core_metadata.or(f.dist_info_metadata) {
            Some(MetadataFlagWire::Flag(true)) => Some(Hashes::default()),
            Some(MetadataFlagWire::Hashes(map)) => {
                let mut h = Hashes::default();
                for (a, v) in &map {
                    h.insert(a, v);
                }
                Some(h)
            }
            Some(MetadataFlagWire::Flag(false)) | None => None,
        };
        let yanked = match f.yanked {
            Some(YankedWire::Reason(r)) => Some(r),
            Some(YankedWire::Flag(true)) => Some(String::new()),
            Some(YankedWire::Flag(false)) | None => None,
        };
        let raw = RawFile {
            filename: Some(f.filename),
            href: &f.url,
            hashes,
            requires_python: f.requires_python,
            yanked,
            core_metadata,
            upload_time: f.upload_time.as_deref(),
            size: f.size,
        };
        push_file(&mut page, raw, page_url, project);
    }
    Ok(page)
}

// ---------------------------------------------------------------------------------------
// PEP 503 HTML

/// One start tag: its lowercase name and attributes (names lowercased, values unescaped;
/// a repeated attribute keeps its last value, as Python's `dict(attrs)` in pip does).
struct StartTag {
    name: String,
    attrs: Vec<(String, String)>,
}

impl StartTag {
    fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_html(
    text: &str,
    page_url: &Url,
    project: Option<&PackageName>,
    limits: &PageLimits,
) -> Result<ProjectPage, PageError> {
    let mut base: Option<Url> = None;
    let mut anchors: Vec<StartTag> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(rel) = memchr(b'<', &bytes[i..]) {
        let start = i + rel;
        let rest = &text[start..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            let end = comment.find("-->").ok_or(PageError::Unterminated {
                what: "comment",
                offset: start,
            })?;
            i = start + 4 + end + 3;
        } else if rest.starts_with("<!") || rest.starts_with("<?") || rest.starts_with("</") {
            let end = rest.find('>').ok_or(PageError::Unterminated {
                what: "tag",
                offset: start,
            })?;
            i = start + end + 1;
        } else if rest.len() > 1 && rest.as_bytes()[1].is_ascii_alphabetic() {
            let (tag, len) = read_tag(text, start)?;
            i = start + len;
            match tag.name.as_str() {
                "a" => {
                    if anchors.len() >= limits.max_files {
                        return Err(PageError::TooManyFiles {
                            limit: limits.max_files,
                        });
                    }
                    anchors.push(tag);
                }
                "base" if base.is_none() => {
                    if let Some(href) = tag.get("href") {
                        base = page_url.join(href).ok();
                    }
                }
                "meta" => {
                    if tag
                        .get("name")
                        .is_some_and(|n| n.eq_ignore_ascii_case("pypi:repository-version"))
                        && let Some(v) = tag.get("content")
                    {
                        check_api_version(v)?;
                    }
                }
                "script" | "style" => {
                    // Raw text: skip to the end tag (or the end of the page).
                    let close = format!("</{}", tag.name);
                    i = find_ignore_ascii_case(&text[i..], &close).map_or(text.len(), |p| i + p);
                }
                _ => {}
            }
        } else {
            i = start + 1;
        }
    }
    let base = base.as_ref().unwrap_or(page_url);
    let mut page = ProjectPage::default();
    for a in &anchors {
        let Some(href) = a.get("href").filter(|h| !h.is_empty()) else {
            continue;
        };
        let core = a
            .get("data-core-metadata")
            .or_else(|| a.get("data-dist-info-metadata"));
        let core_metadata = match core {
            None => None,
            Some("true") => Some(Hashes::default()),
            // pip: `name=value` is a hash; anything else means available, hash unknown.
            Some(v) => {
                let mut h = Hashes::default();
                if let Some((alg, hex)) = v.split_once('=') {
                    h.insert(alg, hex);
                }
                Some(h)
            }
        };
        let raw = RawFile {
            filename: None,
            href,
            hashes: Hashes::default(),
            requires_python: a.get("data-requires-python").map(str::to_owned),
            yanked: a.get("data-yanked").map(str::to_owned),
            core_metadata,
            upload_time: None,
            size: None,
        };
        push_file(&mut page, raw, base, project);
    }
    Ok(page)
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn find_ignore_ascii_case(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    (0..(h.len() + 1).saturating_sub(n.len())).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Reads the start tag at `start` (at its `<`); returns it and its length in bytes.
fn read_tag(text: &str, start: usize) -> Result<(StartTag, usize), PageError> {
    let b = text.as_bytes();
    let unterminated = |what, offset| PageError::Unterminated { what, offset };
    let mut i = start + 1;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b':') {
        i += 1;
    }
    let name = text[start + 1..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return Err(unterminated("tag", start));
        }
        if b[i] == b'>' {
            return Ok((StartTag { name, attrs }, i + 1 - start));
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        // A stray `"` or `'` starts no name: step over it.
        if i == name_start {
            i += 1;
            continue;
        }
        let attr = text[name_start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= b.len() {
                return Err(unterminated("tag", start));
            }
            let value = if b[i] == b'"' || b[i] == b'\'' {
                let q = b[i];
                let v_start = i + 1;
                let len = memchr(q, &b[v_start..]).ok_or(unterminated("attribute value", i))?;
                i = v_start + len + 1;
                &text[v_start..v_start + len]
            } else {
                let v_start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                &text[v_start..i]
            };
            attrs.push((attr, unescape(value)));
        } else {
            attrs.push((attr, String::new()));
        }
    }
}

/// HTML character references: numeric ones, and the named ones index pages use (`&amp;`,
/// `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;`; the first four also without `;`, as
/// Python's `html.unescape` reads them). Anything else is kept as written.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let (decoded, used) = reference(rest);
        if let Some(c) = decoded {
            out.push(c);
            rest = &rest[used..];
        } else {
            out.push('&');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The character of the reference at the start of `s` (`&…`) and its length.
fn reference(s: &str) -> (Option<char>, usize) {
    let body = &s[1..];
    if let Some(num) = body.strip_prefix('#') {
        let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 3),
            None => (num, 10, 2),
        };
        let len = digits
            .bytes()
            .take(8)
            .take_while(|b| (*b as char).is_digit(radix))
            .count();
        if len == 0 {
            return (None, 0);
        }
        let code = u32::from_str_radix(&digits[..len], radix).unwrap_or(0xFFFD);
        let c = match code {
            0 => '\u{FFFD}',
            c => char::from_u32(c).unwrap_or('\u{FFFD}'),
        };
        let semi = usize::from(digits[len..].starts_with(';'));
        return (Some(c), skip + len + semi);
    }
    for (name, c, needs_semi) in [
        ("amp", '&', false),
        ("lt", '<', false),
        ("gt", '>', false),
        ("quot", '"', false),
        ("apos", '\'', true),
        ("nbsp", '\u{a0}', true),
    ] {
        if let Some(after) = body.strip_prefix(name) {
            if after.starts_with(';') {
                return (Some(c), 1 + name.len() + 1);
            }
            if !needs_semi {
                return (Some(c), 1 + name.len());
            }
        }
    }
    (None, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn html(body: &str) -> Result<ProjectPage, PageError> {
        ProjectPage::parse(
            body.as_bytes(),
            PageFormat::Html,
            &url("https://u:tok@example.com/simple/foo/"),
            Some(&PackageName::pip("foo")),
            &PageLimits::default(),
        )
    }

    fn json(body: &str) -> Result<ProjectPage, PageError> {
        ProjectPage::parse(
            body.as_bytes(),
            PageFormat::Json,
            &url("https://example.com/simple/foo/"),
            Some(&PackageName::pip("foo")),
            &PageLimits::default(),
        )
    }

    const HTML: &str = r#"<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.1"><title>Links for foo</title></head>
<body><h1>Links for foo</h1>
<!-- a comment with <a href="nope-1.0.tar.gz"> inside -->
<a href="../../files/foo-1.0.tar.gz#sha256=AbC1" data-requires-python="&gt;=3.8,&lt;4">foo-1.0.tar.gz</a><br/>
<a href='/files/Foo-1.1-py3-none-any.whl#sha256=00ff' data-yanked="broken &amp; bad" data-core-metadata="sha256=12ab" data-dist-info-metadata="true">w</a>
<a href=https://cdn.example.org/foo-1.2-cp312-abi3-manylinux_2_17_x86_64.whl data-requires-python="&gt;=3.8,&lt;4,bogus" data-dist-info-metadata=true>x</a>
<a href="foo-2.0.tar.gz" data-yanked>y</a>
<a href="bar-1.0.tar.gz">other project</a>
<a>no href</a>
<script>var s = "<a href='foo-9.0.tar.gz'>";</script>
</body></html>
"#;

    #[test]
    fn an_html_page_yields_its_files_with_pep_503_592_658_714_attributes() {
        let page = html(HTML).unwrap();
        let names: Vec<String> = page.files.iter().map(|f| f.filename.to_string()).collect();
        assert_eq!(
            names,
            [
                "foo-1.0.tar.gz",
                "Foo-1.1-py3-none-any.whl",
                "foo-1.2-cp312-abi3-manylinux_2_17_x86_64.whl",
                "foo-2.0.tar.gz"
            ]
        );
        let [a, b, c, d] = &page.files[..] else {
            panic!()
        };
        assert_eq!(a.url.as_str(), "https://example.com/files/foo-1.0.tar.gz");
        assert_eq!(a.hashes.sha256(), Some("abc1"));
        assert_eq!(a.requires_python.as_ref().unwrap().to_string(), "<4,>=3.8");
        assert_eq!(
            (a.yanked.as_deref(), a.core_metadata.as_ref()),
            (None, None)
        );
        assert_eq!(b.yanked.as_deref(), Some("broken & bad"));
        assert_eq!(b.core_metadata.as_ref().unwrap().sha256(), Some("12ab"));
        assert_eq!(
            b.metadata_url().unwrap().as_str(),
            "https://example.com/files/Foo-1.1-py3-none-any.whl.metadata"
        );
        assert_eq!(
            c.requires_python, None,
            "an invalid Requires-Python is ignored"
        );
        assert!(c.core_metadata.as_ref().unwrap().is_empty());
        assert_eq!(d.yanked.as_deref(), Some(""));
        assert_eq!(
            d.url.as_str(),
            "https://example.com/simple/foo/foo-2.0.tar.gz"
        );
        assert_eq!(page.skipped.len(), 1);
        assert!(matches!(
            page.skipped[0].reason,
            SkipReason::Filename(FilenameProblem::OtherProject(_))
        ));
        assert!(
            !format!("{page:?}").contains("tok"),
            "credentials are dropped from file URLs"
        );
    }

    #[test]
    fn the_same_files_in_json_read_the_same() {
        let body = r#"{"meta": {"api-version": "1.1"}, "name": "foo", "files": [
 {"filename": "foo-1.0.tar.gz", "url": "../../files/foo-1.0.tar.gz", "hashes": {"sha256": "AbC1"}, "requires-python": ">=3.8,<4"},
 {"filename": "Foo-1.1-py3-none-any.whl", "url": "/files/Foo-1.1-py3-none-any.whl", "hashes": {"sha256": "00ff"}, "yanked": "broken & bad", "core-metadata": {"sha256": "12ab"}, "dist-info-metadata": true},
 {"filename": "foo-1.2-cp312-abi3-manylinux_2_17_x86_64.whl", "url": "https://cdn.example.org/foo-1.2-cp312-abi3-manylinux_2_17_x86_64.whl", "hashes": {}, "requires-python": ">=3.8,<4,bogus", "dist-info-metadata": true},
 {"filename": "foo-2.0.tar.gz", "url": "foo-2.0.tar.gz", "hashes": {}, "yanked": true, "upload-time": "2024-03-12T10:20:30.123456Z", "size": 1234},
 {"filename": "bar-1.0.tar.gz", "url": "bar-1.0.tar.gz", "hashes": {}},
 {"url": "no-filename"}
], "versions": ["1.0", "1.1", "1.2", "2.0"]}"#;
        let j = json(body).unwrap();
        let mut h = html(HTML).unwrap();
        assert_eq!(j.files.len(), 4);
        assert_eq!(j.skipped.len(), 2);
        let last = &j.files[3];
        assert_eq!(last.size, Some(1234));
        assert_eq!(
            last.upload_time.unwrap().to_string(),
            "2024-03-12T10:20:30.123456Z"
        );
        // Only PEP 700's fields differ.
        h.files[3].size = last.size;
        h.files[3].upload_time = last.upload_time;
        assert_eq!(j.files, h.files);
    }

    #[test]
    fn a_newer_major_api_version_is_refused() {
        let e = json(r#"{"meta": {"api-version": "2.0"}, "files": []}"#).unwrap_err();
        insta::assert_snapshot!(e.to_string(), @"unsupported repository API version `2.0` (envaudit reads 1.x)");
        let e = html(r#"<meta name="pypi:repository-version" content="3.0">"#).unwrap_err();
        assert!(matches!(e, PageError::UnsupportedApiVersion(_)));
    }

    #[test]
    fn truncated_or_malformed_pages_are_errors_with_a_place() {
        let cut_at = HTML.find("data-yanked=\"broken").unwrap() + 16;
        let e = html(&HTML[..cut_at]).unwrap_err();
        assert!(
            matches!(
                e,
                PageError::Unterminated {
                    what: "attribute value",
                    ..
                }
            ),
            "{e}"
        );
        let e = html("<html><a href=\"x").unwrap_err();
        insta::assert_snapshot!(e.to_string(), @"unterminated attribute value starting at byte 14");
        let e = html("<html><!-- never closed").unwrap_err();
        insta::assert_snapshot!(e.to_string(), @"unterminated comment starting at byte 6");
        let e = json("{\"files\": [\n{\"filename\": \"foo-1.0.tar.gz\",").unwrap_err();
        insta::assert_snapshot!(e.to_string(), @"invalid JSON at line 2, column 30: EOF while parsing an object at line 2 column 30");
        let e = ProjectPage::parse(
            b"<a href=\"\xff\">",
            PageFormat::Html,
            &url("https://example.com/"),
            None,
            &PageLimits::default(),
        )
        .unwrap_err();
        assert_eq!(e, PageError::NotUtf8 { offset: 9 });
    }

    #[test]
    fn pages_are_bounded_in_bytes_and_files() {
        let limits = PageLimits {
            max_bytes: 1000,
            max_files: 2,
        };
        let page = |body: &str, format| {
            ProjectPage::parse(
                body.as_bytes(),
                format,
                &url("https://e.com/"),
                None,
                &limits,
            )
        };
        let three = "<a href=a-1.tar.gz><a href=a-2.tar.gz><a href=a-3.tar.gz>";
        assert_eq!(
            page(three, PageFormat::Html),
            Err(PageError::TooManyFiles { limit: 2 })
        );
        let three = r#"{"files":[{},{},{}]}"#;
        assert_eq!(
            page(three, PageFormat::Json),
            Err(PageError::TooManyFiles { limit: 2 })
        );
        let big = "x".repeat(1001);
        assert!(matches!(
            page(&big, PageFormat::Html),
            Err(PageError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_base_tag_moves_relative_links_and_flat_pages_keep_every_project() {
        let body = r#"<base href="https://mirror.example.net/pkgs/"><a href="a-1.0.tar.gz">a</a><a href="b-2.0-py3-none-any.whl">b</a><a href="setup.exe">c</a>"#;
        let page = ProjectPage::parse(
            body.as_bytes(),
            PageFormat::Html,
            &url("https://example.com/links.html"),
            None,
            &PageLimits::default(),
        )
        .unwrap();
        let urls: Vec<&str> = page.files.iter().map(|f| f.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://mirror.example.net/pkgs/a-1.0.tar.gz",
                "https://mirror.example.net/pkgs/b-2.0-py3-none-any.whl"
            ]
        );
        assert_eq!(
            page.skipped[0].reason,
            SkipReason::Filename(FilenameProblem::NotADist)
        );
    }

    #[test]
    fn character_references_are_decoded_as_python_does() {
        assert_eq!(unescape("&gt;=3.8,&lt;4"), ">=3.8,<4");
        assert_eq!(unescape("&gt=3.8&#44;&#x3C;4"), ">=3.8,<4");
        assert_eq!(unescape("a &unknown; &amp b &#;"), "a &unknown; & b &#;");
        assert_eq!(unescape("&#0;&#x110000;"), "\u{FFFD}\u{FFFD}");
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
        assert_eq!(percent_decode("t%40ken%4"), "t@ken%4");
    }

    #[test]
    fn content_types_pick_the_reader() {
        assert_eq!(
            PageFormat::from_content_type("application/vnd.pypi.simple.v1+json"),
            Some(PageFormat::Json)
        );
        assert_eq!(
            PageFormat::from_content_type("Text/HTML; charset=utf-8"),
            Some(PageFormat::Html)
        );
        assert_eq!(PageFormat::from_content_type("application/json"), None);
    }
}
