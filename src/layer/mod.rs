//! Filesystems as path-level facts: what a layer (or a local folder) holds that the
//! catalogers need, and the merged view of an image's layers.
//!
//! Design goals:
//! - A layer is walked once, streaming, and reduced to [`LayerFacts`]: the entries the
//!   catalogers care about (metadata files with their bytes, up to a cap), every directory
//!   and symlink, hardlinks to wanted paths, whiteouts and opaque directories. Facts are
//!   serialisable, so a cache keyed by the layer digest can store them.
//! - An image's view is [`merge`]d from its layers' facts in order, applying whiteouts and
//!   resolving symlinks and hardlinks inside the image. Caching package lists per layer and
//!   taking their union would be wrong as soon as an upper layer upgrades a package.
//! - Layers are untrusted: every read is bounded ([`Limits`]); a limit that stops a walk, or
//!   a malformed archive, makes the result [`Completeness::Partial`], never an error or a
//!   panic. Layer content is never written to disk.
//! - On request ([`walk_hashed`]) the walk also hashes the layer's whole uncompressed tar
//!   stream, for the caller to compare with the layer's `diff_id`
//!   ([`LayerFacts::diff_id`]); the facts are otherwise the same.

mod cache;
pub mod folder;
mod merge;
mod walk;

use serde::{Deserialize, Serialize};

pub use cache::LayerCache;
pub use merge::{FsView, LayerInfo, Node, NodeKind, ViewFinding, ViewOrigin, merge};
pub use walk::{Compression, walk, walk_hashed};

/// The version of what [`LayerFacts`] hold. A cache of facts keyed by layer digest must key
/// on this too (and on the [`Limits`] used): bump it whenever [`interest`] or the walk
/// changes what a layer's facts contain.
pub const FACTS_VERSION: u32 = 6;

/// Whether a result covers everything it should.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "kebab-case")]
pub enum Completeness {
    /// Everything there was to look at was read and understood.
    Complete,
    /// Something was not read or not understood; the reason says what.
    Partial(String),
    /// There was nothing of this kind to look at.
    NotApplicable,
}

impl Completeness {
    /// The less complete of two results (the first reason wins among partial ones).
    #[must_use]
    pub fn and(self, other: Completeness) -> Completeness {
        match (self, other) {
            (p @ Completeness::Partial(_), _) | (_, p @ Completeness::Partial(_)) => p,
            (Completeness::Complete, _) | (_, Completeness::Complete) => Completeness::Complete,
            _ => Completeness::NotApplicable,
        }
    }

    /// Whether something was not read or not understood.
    pub fn is_partial(&self) -> bool {
        matches!(self, Completeness::Partial(_))
    }
}

/// The text form, which the lockfile's `completeness` field holds and messages print:
/// `complete`, `partial: REASON` or `nothing-found`. (The JSON of a catalog has its own
/// form, `{"status": "not-applicable"}`; both are formats others read, so neither changes.)
impl std::fmt::Display for Completeness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Completeness::Complete => f.write_str("complete"),
            Completeness::Partial(reason) => write!(f, "partial: {reason}"),
            Completeness::NotApplicable => f.write_str("nothing-found"),
        }
    }
}

impl std::str::FromStr for Completeness {
    type Err = UnknownCompleteness;

    fn from_str(text: &str) -> Result<Self, UnknownCompleteness> {
        match text {
            "complete" => Ok(Completeness::Complete),
            "nothing-found" => Ok(Completeness::NotApplicable),
            _ => match text.strip_prefix("partial: ") {
                Some(reason) => Ok(Completeness::Partial(reason.to_owned())),
                None => Err(UnknownCompleteness(text.to_owned())),
            },
        }
    }
}

/// A text that is not the text form of a [`Completeness`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown completeness `{0}`: expected `complete`, `partial: REASON` or `nothing-found`")]
pub struct UnknownCompleteness(pub String);

/// Bounds on what one layer or folder may make envaudit read or keep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Decompressed bytes read from one layer (or file bytes kept from a folder) before the
    /// walk stops with a partial result.
    pub max_layer_bytes: u64,
    /// Bytes of file content kept from one layer or folder (the sum of the metadata files
    /// read into memory).
    pub max_kept_bytes: u64,
    /// Entries in one layer or folder.
    pub max_entries: u64,
    /// Bytes in one path.
    pub max_path_len: usize,
    /// Components in one path.
    pub max_path_depth: usize,
    /// Bytes of tar header data (PAX records, GNU long names) before one entry.
    pub max_header_bytes: u64,
    /// Findings kept per layer; the rest are counted.
    pub max_findings: usize,
    /// The largest zstd window (as a power of two) a layer may ask for: 27 (128 MiB)
    /// admits `zstd --long`; the usual levels use 8 MiB or less.
    pub max_zstd_window_log: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_layer_bytes: 8 << 30,
            max_kept_bytes: 256 << 20,
            max_entries: 2_000_000,
            max_path_len: 4096,
            max_path_depth: 128,
            max_header_bytes: 1 << 20,
            max_findings: 100,
            max_zstd_window_log: 27,
        }
    }
}

/// What a layer or folder showed that deserves a note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FsFinding {
    /// An entry name (or a folder's symlink target) is not UTF-8; the entry was skipped.
    #[error("entry name is not valid UTF-8: `{lossy}`; it was skipped")]
    NonUtf8Name {
        /// The name with invalid bytes replaced by U+FFFD.
        lossy: String,
    },
    /// An entry name is longer than [`Limits::max_path_len`]; the entry was skipped.
    #[error("entry name of {len} bytes exceeds the limit of {limit}; it was skipped")]
    PathTooLong {
        /// The name's length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// An entry name has more components than [`Limits::max_path_depth`]; the entry was
    /// skipped.
    #[error("entry name with {depth} components exceeds the limit of {limit}; it was skipped")]
    PathTooDeep {
        /// How many components the name has.
        depth: usize,
        /// The limit in components.
        limit: usize,
    },
    /// A wanted file is longer than its [`Interest::Content`] cap; only its start was kept.
    #[error("`{path}` has {size} bytes; only the first {kept} were read")]
    FileTruncated {
        /// The file's path inside the image.
        path: String,
        /// The file's size in bytes.
        size: u64,
        /// How many bytes were kept.
        kept: u64,
    },
    /// The layer or folder has more than [`Limits::max_entries`] entries; the walk stopped.
    #[error("more than {limit} entries; the rest were not read")]
    TooManyEntries {
        /// The limit in entries.
        limit: u64,
    },
    /// The layer decompressed to more than [`Limits::max_layer_bytes`]; the walk stopped.
    #[error("more than {limit} bytes after decompression; the rest was not read")]
    SizeLimit {
        /// The limit in bytes.
        limit: u64,
    },
    /// The wanted files together exceed [`Limits::max_kept_bytes`]; the walk stopped.
    #[error("more than {limit} bytes of metadata files; the rest were not read")]
    KeptLimit {
        /// The limit in bytes.
        limit: u64,
    },
    /// One entry's tar headers (PAX records, GNU long names) exceed
    /// [`Limits::max_header_bytes`]; the walk stopped.
    #[error("more than {limit} bytes of tar header data before one entry; the rest was not read")]
    HeaderTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The layer's compression or tar stream is broken; the walk stopped there.
    #[error("malformed layer: {message}")]
    Malformed {
        /// What the decompressor or tar reader said.
        message: String,
    },
    /// A folder entry could not be read (folder walks only).
    #[error("cannot read `{path}`: {message}")]
    Unreadable {
        /// The path on the host.
        path: String,
        /// The operating system's error.
        message: String,
    },
    /// A hardlink points at a path no layer of the image holds.
    #[error("hardlink `{path}` points to `{target}`, which is not in the image")]
    DanglingHardlink {
        /// The hardlink's path inside the image.
        path: String,
        /// The path it points at.
        target: String,
    },
    /// A wanted hardlink points at a file whose content (or entry) was not kept, because
    /// the target is not wanted under its own name; the link has no content in the view.
    #[error("hardlink `{path}` points to `{target}`, whose content was not kept")]
    HardlinkTargetNotKept {
        /// The hardlink's path inside the image.
        path: String,
        /// The path it points at.
        target: String,
    },
    /// Resolving symlinks under a directory looped or went too deep; what is under it was
    /// not placed in the view.
    #[error("symlinks under `{path}` loop or nest too deeply")]
    SymlinkLoop {
        /// The path inside the image where resolution gave up.
        path: String,
    },
    /// A folder on another filesystem than the walk's root (a mount point: an Azure ML
    /// job's mounted datasets and outputs, `/tmp`, a bind mount); it was not read (folder
    /// walks only).
    #[error("`{path}` is another filesystem (a mount point); it was not read")]
    OtherFilesystem {
        /// The folder's path inside the walked folder.
        path: String,
    },
    /// A folder the caller asked to leave out (envaudit's own installation); it was not
    /// read (folder walks only).
    #[error("`{path}` was left out: {reason}")]
    Excluded {
        /// The folder's path inside the walked folder.
        path: String,
        /// Why, as the caller gave it.
        reason: String,
    },
    /// More findings than [`Limits::max_findings`]; this many were dropped.
    #[error("{count} more findings were not kept")]
    MoreFindings {
        /// How many findings were dropped.
        count: u64,
    },
}

impl FsFinding {
    /// Whether this finding means some entries were not read at all.
    pub fn makes_partial(&self) -> bool {
        matches!(
            self,
            FsFinding::TooManyEntries { .. }
                | FsFinding::SizeLimit { .. }
                | FsFinding::KeptLimit { .. }
                | FsFinding::HeaderTooLarge { .. }
                | FsFinding::Malformed { .. }
                | FsFinding::Unreadable { .. }
                | FsFinding::SymlinkLoop { .. }
        )
    }
}

/// The path-level facts of one layer, in archive order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerFacts {
    /// The layer's digest (its `diff_id` or blob digest), when the caller knows it.
    pub digest: Option<crate::model::Digest>,
    /// The entries the catalogers and the merge need, in archive order; see [`interest`].
    pub entries: Vec<Entry>,
    /// What the walk noted, at most [`Limits::max_findings`] plus one
    /// [`FsFinding::MoreFindings`].
    pub findings: Vec<FsFinding>,
    /// `None` when every entry was read; otherwise why not (the first finding that
    /// stopped or spoilt the walk).
    pub partial: Option<String>,
    /// Entries seen, kept or not.
    pub entry_count: u64,
    /// Decompressed bytes read.
    pub bytes_read: u64,
    /// The digest of the layer's whole uncompressed tar stream, to compare with its
    /// `diff_id`: set by [`walk_hashed`] when it read the stream to its end, `None` when the
    /// walk did not hash it ([`walk`], a folder) or stopped early (the facts are then
    /// partial). A layer cache entry keeps it: it is a property of the blob the entry is
    /// keyed by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<crate::model::Digest>,
}

impl LayerFacts {
    /// [`Completeness::Partial`] with [`partial`](Self::partial)'s reason, or
    /// [`Completeness::Complete`].
    pub fn completeness(&self) -> Completeness {
        match &self.partial {
            Some(reason) => Completeness::Partial(reason.clone()),
            None => Completeness::Complete,
        }
    }
}

/// One entry of a layer. Paths are absolute (`/usr/lib/...`), normalised, inside the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The entry's path inside the image, absolute and normalised.
    pub path: String,
    /// What the entry is, with what was kept of it.
    pub kind: EntryKind,
}

/// The kind of a layer entry, as the tar header (or the folder) says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EntryKind {
    /// A regular file; `content` holds its first bytes when a cataloger reads it, and is
    /// `None` when only its presence matters.
    File {
        /// The file's size in bytes.
        size: u64,
        /// The kept bytes, possibly reduced (see the module documentation); `None` when
        /// only the file's presence matters.
        #[serde(with = "base64_bytes", default)]
        content: Option<Vec<u8>>,
        /// Whether the file was longer than its cap, so `content` holds only its start.
        truncated: bool,
    },
    /// A directory.
    Dir,
    /// A symlink with its target as written (relative or absolute).
    Symlink {
        /// The link target as written in the archive.
        target: String,
    },
    /// A hardlink to another path of the image (absolute, normalised).
    Hardlink {
        /// The path linked to.
        target: String,
    },
    /// `.wh.NAME`: `path` and everything under it in lower layers is gone.
    Whiteout,
    /// `.wh..wh..opq`: everything under the directory `path` in lower layers is gone.
    Opaque,
}

/// How much of a file the catalogers need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Nothing: the file is skipped.
    None,
    /// Only that it exists (and which layer wrote it).
    Presence,
    /// Its first `cap` bytes; with `headers_only`, only up to the first blank line.
    Content {
        /// The most bytes kept; a longer file is kept truncated.
        cap: u64,
        /// Keep only the RFC 822 headers (up to the first blank line), and only the fields
        /// the Python cataloger reads.
        headers_only: bool,
    },
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

/// The configuration files pip and conda read when a build runs in the image, for
/// `predict` (`predict::image_config` says in which order): pip's site-wide and root's
/// `pip.conf`, and conda's `.condarc` search path with `$CONDA_ROOT` at `/opt/conda` or
/// `/opt/miniconda` and `~` at `/root`.
pub const BUILD_CONFIG_FILES: &[&str] = &[
    "/etc/xdg/pip/pip.conf",
    "/etc/pip.conf",
    "/root/.pip/pip.conf",
    "/root/.config/pip/pip.conf",
    "/etc/conda/.condarc",
    "/etc/conda/condarc",
    "/var/lib/conda/.condarc",
    "/var/lib/conda/condarc",
    "/opt/conda/.condarc",
    "/opt/conda/condarc",
    "/opt/miniconda/.condarc",
    "/opt/miniconda/condarc",
    "/root/.config/conda/.condarc",
    "/root/.config/conda/condarc",
    "/root/.conda/.condarc",
    "/root/.conda/condarc",
    "/root/.condarc",
];

/// conda's `condarc.d` folders on [`BUILD_CONFIG_FILES`]' search path, each read after the
/// files of its folder: their `*.yml` and `*.yaml` files are kept like those.
pub const BUILD_CONFIG_DIRS: &[&str] = &[
    "/etc/conda/condarc.d",
    "/var/lib/conda/condarc.d",
    "/opt/conda/condarc.d",
    "/opt/miniconda/condarc.d",
    "/root/.config/conda/condarc.d",
    "/root/.conda/condarc.d",
];

/// The most bytes kept of one of the [`BUILD_CONFIG_FILES`].
pub const BUILD_CONFIG_MAX_BYTES: u64 = 64 * KIB;

/// Which files the catalogers read, decided from the path alone so that a layer can be
/// reduced to facts without knowing the layers under it.
pub fn interest(path: &str) -> Interest {
    let (parent, name) = match path.rsplit_once('/') {
        Some(split) => split,
        None => ("", path),
    };
    let parent_name = parent.rsplit('/').next().unwrap_or("");
    let content = |cap| Interest::Content {
        cap,
        headers_only: false,
    };
    if parent_name.ends_with(".dist-info") {
        return match name {
            "METADATA" => Interest::Content {
                cap: 512 * KIB,
                headers_only: true,
            },
            "INSTALLER" => content(4 * KIB),
            "direct_url.json" => content(64 * KIB),
            // Read whole and reduced to its SHA-256 (see [`reduce`]): the component hash of
            // an installed distribution.
            "RECORD" => content(16 * MIB),
            "REQUESTED" => Interest::Presence,
            _ => Interest::None,
        };
    }
    if parent_name.ends_with(".egg-info") {
        return match name {
            "PKG-INFO" => Interest::Content {
                cap: 512 * KIB,
                headers_only: true,
            },
            "requires.txt" => content(MIB),
            "installed-files.txt" => Interest::Presence,
            _ => Interest::None,
        };
    }
    if name.ends_with(".egg-info") {
        return Interest::Content {
            cap: 512 * KIB,
            headers_only: true,
        };
    }
    if parent_name == "conda-meta" {
        if name.ends_with(".json") {
            return content(32 * MIB);
        }
        if name == "history" {
            return content(8 * MIB);
        }
        return Interest::None;
    }
    if name == "pyvenv.cfg" {
        return content(64 * KIB);
    }
    if BUILD_CONFIG_FILES.contains(&path)
        || (BUILD_CONFIG_DIRS.contains(&parent)
            && (name.ends_with(".yml") || name.ends_with(".yaml")))
    {
        return content(BUILD_CONFIG_MAX_BYTES);
    }
    match path {
        "/var/lib/dpkg/status" | "/lib/apk/db/installed" => return content(64 * MIB),
        "/etc/os-release" | "/usr/lib/os-release" => return content(64 * KIB),
        _ => {}
    }
    if parent == "/var/lib/dpkg/status.d" && !name.ends_with(".md5sums") {
        return content(MIB);
    }
    if parent == "/var/lib/dpkg/info" && name.ends_with(".list") {
        return Interest::Presence;
    }
    if parent == "/var/lib/dpkg/info" && name.ends_with(".md5sums") {
        // Reduced to its SHA-256, like a RECORD (see [`reduce`]).
        return content(16 * MIB);
    }
    if name == "copyright"
        && let Some(rest) = parent.strip_prefix("/usr/share/doc/")
        && !rest.is_empty()
        && !rest.contains('/')
    {
        // Read whole (boost's are 2 MB), then reduced by [`reduce`] to a few lines.
        return content(8 * MIB);
    }
    Interest::None
}

/// Normalises an archive or folder path to an absolute path inside the image: `.` and empty
/// components dropped, `..` resolved without ever leaving the root. `None` for the root.
pub fn normalize(raw: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(raw.len() + 1);
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    Some(out)
}

/// The core-metadata fields the Python cataloger reads; the others (`Description` above
/// all, which old setuptools wrote as a header) are dropped when a layer is reduced to facts.
const KEPT_FIELDS: &[&str] = &[
    "metadata-version",
    "name",
    "version",
    "summary",
    "license",
    "license-expression",
    "classifier",
    "requires-dist",
    "requires-python",
    "provides-extra",
];

/// Cuts RFC 822 style text after its first blank line (the headers of a METADATA file), and
/// keeps only the fields in [`KEPT_FIELDS`] (with their continuation lines) and lines that
/// are not fields at all (so a malformed file still reads as malformed). Returns whether
/// the blank line was found.
pub(crate) fn keep_headers(buf: &mut Vec<u8>) -> bool {
    let mut complete = false;
    let mut end = buf.len();
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            let rest = &buf[i + 1..];
            if rest.first() == Some(&b'\n') || rest.starts_with(b"\r\n") {
                end = i + 1;
                complete = true;
                break;
            }
        }
        i += 1;
    }
    buf.truncate(end);
    let mut out = Vec::with_capacity(buf.len());
    let mut keep = true;
    for line in buf.split_inclusive(|&b| b == b'\n') {
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            keep = match line.iter().position(|&b| b == b':') {
                Some(colon) => {
                    let name = String::from_utf8_lossy(&line[..colon])
                        .trim()
                        .to_ascii_lowercase();
                    KEPT_FIELDS.contains(&name.as_str())
                }
                None => true,
            };
        }
        if keep {
            out.extend_from_slice(line);
        }
    }
    *buf = out;
    complete
}

/// Reduces a wanted file's content to what its cataloger reads, before it is kept:
/// a machine-readable `copyright` file keeps its `Format:`, `Files:` and `License:` lines
/// (first lines only, not the license texts) and its paragraph breaks.
pub(crate) fn reduce(path: &str, buf: &mut Vec<u8>) {
    if is_digest_only(path) {
        *buf = format!("{}", crate::model::Digest::sha256_of(buf)).into_bytes();
        return;
    }
    if !(path.starts_with("/usr/share/doc/") && path.ends_with("/copyright")) {
        return;
    }
    let mut out = Vec::new();
    for line in buf.split_inclusive(|&b| b == b'\n') {
        let trimmed = line.trim_ascii();
        let starts = |p: &[u8]| {
            trimmed
                .get(..p.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(p))
        };
        let field = starts(b"format:") || starts(b"files:") || starts(b"license:");
        if trimmed.is_empty() || (field && !matches!(line.first(), Some(b' ' | b'\t'))) {
            out.extend_from_slice(line);
        }
    }
    *buf = out;
}

/// A package's list of installed files with their digests, whose kept content is the
/// `sha256:HEX` of its bytes: a `.dist-info/RECORD` or a dpkg `info/*.md5sums`.
pub(crate) fn is_digest_only(path: &str) -> bool {
    path.strip_suffix("/RECORD")
        .is_some_and(|dir| dir.ends_with(".dist-info"))
        || (path.starts_with("/var/lib/dpkg/info/") && path.ends_with(".md5sums"))
}

/// What is kept of a file read up to its cap: a file list cut short has no digest.
pub(crate) fn drop_partial_digest(path: &str, truncated: bool, buf: &mut Vec<u8>) {
    if truncated && is_digest_only(path) {
        buf.clear();
    }
}

/// File content in serialised facts: base64, a third larger than the bytes where a JSON
/// array of numbers would be three times larger.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(
        clippy::ref_option,
        reason = "serde's `serialize_with` passes the field by reference"
    )]
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| STANDARD.decode(text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// A finding list that stops growing at a limit and counts what it dropped.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub kept: Vec<FsFinding>,
    pub dropped: u64,
    pub partial: Option<String>,
}

impl Findings {
    pub fn push(&mut self, finding: FsFinding, limit: usize) {
        if finding.makes_partial() && self.partial.is_none() {
            self.partial = Some(finding.to_string());
        }
        if self.kept.len() < limit {
            self.kept.push(finding);
        } else {
            self.dropped += 1;
        }
    }

    pub fn finish(mut self) -> (Vec<FsFinding>, Option<String>) {
        if self.dropped > 0 {
            self.kept.push(FsFinding::MoreFindings {
                count: self.dropped,
            });
        }
        (self.kept, self.partial)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copyright_files_keep_their_license_lines() {
        let mut buf = b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n\nFiles: *\n lib/*\nCopyright: 2020 A\nLicense: MIT\n Permission is granted\n\nLicense: MIT\n text\n".to_vec();
        super::reduce("/usr/share/doc/x/copyright", &mut buf);
        let text = String::from_utf8(buf.clone()).unwrap();
        assert_eq!(
            text,
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: MIT\n\nLicense: MIT\n"
        );
        assert_eq!(crate::catalog::parse_copyright_licenses(&text), ["MIT"]);
        let mut other = b"Name: x\nDescription: y\n".to_vec();
        super::reduce("/opt/x/METADATA", &mut other);
        assert_eq!(other, b"Name: x\nDescription: y\n");
    }

    #[test]
    fn metadata_headers_keep_only_what_catalogers_read() {
        let mut buf = b"Metadata-Version: 2.1\nName: x\nDescription: long\n  text\n  more\nVersion: 1\nAuthor: a\nLicense: MIT\n  continued\nbroken line\n\nBody\n".to_vec();
        assert!(super::keep_headers(&mut buf));
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "Metadata-Version: 2.1\nName: x\nVersion: 1\nLicense: MIT\n  continued\nbroken line\n"
        );
        let mut open = b"Name: y\nHome-page: h".to_vec();
        assert!(!super::keep_headers(&mut open));
        assert_eq!(open, b"Name: y\n");
    }

    use super::*;

    #[test]
    fn dot_dot_never_leaves_the_root() {
        assert_eq!(
            normalize("../../etc/./passwd").as_deref(),
            Some("/etc/passwd")
        );
        assert_eq!(normalize("./a//b/../c").as_deref(), Some("/a/c"));
        assert_eq!(normalize("./"), None);
    }

    #[test]
    fn a_record_is_kept_as_its_digest_and_only_when_read_whole() {
        let path = "/x/site-packages/a-1.dist-info/RECORD";
        let record = b"a/__init__.py,sha256=abc,10\na-1.dist-info/RECORD,,\n".to_vec();
        let mut buf = record.clone();
        reduce(path, &mut buf);
        assert_eq!(
            String::from_utf8(buf.clone()).unwrap(),
            crate::model::Digest::sha256_of(&record).to_string()
        );
        drop_partial_digest(path, true, &mut buf);
        assert!(buf.is_empty());
        let mut other = record.clone();
        reduce("/x/site-packages/a/RECORD", &mut other);
        assert_eq!(other, record);
        let mut md5sums = b"d41d8cd98f00b204e9800998ecf8427e  usr/bin/x\n".to_vec();
        let expected = crate::model::Digest::sha256_of(&md5sums).to_string();
        reduce("/var/lib/dpkg/info/bash.md5sums", &mut md5sums);
        assert_eq!(String::from_utf8(md5sums).unwrap(), expected);
    }

    #[test]
    fn metadata_files_are_wanted_and_others_skipped() {
        assert!(matches!(
            interest("/x/site-packages/a-1.dist-info/METADATA"),
            Interest::Content {
                headers_only: true,
                ..
            }
        ));
        assert!(matches!(
            interest("/x/site-packages/a-1.dist-info/RECORD"),
            Interest::Content {
                headers_only: false,
                ..
            }
        ));
        assert_eq!(
            interest("/x/site-packages/a-1.dist-info/REQUESTED"),
            Interest::Presence
        );
        assert_eq!(interest("/x/site-packages/a/__init__.py"), Interest::None);
        assert!(matches!(
            interest("/azureml-envs/azureml_abc/conda-meta/numpy-1.0-0.json"),
            Interest::Content { .. }
        ));
        assert!(matches!(
            interest("/usr/share/doc/bash/copyright"),
            Interest::Content { .. }
        ));
        assert_eq!(interest("/usr/share/doc/bash/x/copyright"), Interest::None);
    }

    #[test]
    fn headers_are_kept_up_to_the_blank_line() {
        let mut b = b"Name: a\nVersion: 1\n\nlong description".to_vec();
        assert!(keep_headers(&mut b));
        assert_eq!(b, b"Name: a\nVersion: 1\n");
    }

    #[test]
    fn partial_wins_over_complete() {
        let p = Completeness::Partial("x".into());
        assert_eq!(Completeness::Complete.and(p.clone()), p);
        assert_eq!(
            Completeness::NotApplicable.and(Completeness::Complete),
            Completeness::Complete
        );
    }
}
