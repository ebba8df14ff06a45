//! A channel subdir's `repodata.json` (or `repodata.json.zst`): the package records a solver
//! chooses from.
//!
//! # The format
//!
//! ```text
//! {
//!   "info": {"subdir": "linux-64", "base_url": "…"},      // base_url: repodata version 2
//!   "packages":       {"numpy-1.26.4-py310h_0.tar.bz2": RECORD, …},
//!   "packages.conda": {"numpy-1.26.4-py310h_0.conda":   RECORD, …},
//!   "removed": ["numpy-1.0-py27_0.tar.bz2", …],
//!   "repodata_version": 1
//! }
//! RECORD = {"name", "version", "build", "build_number", "depends": [MatchSpec],
//!           "constrains": [MatchSpec], "track_features", "features", "timestamp",
//!           "subdir", "noarch", "md5", "sha256", "license", …}
//! ```
//!
//! What envaudit makes of it:
//! - a file listed in `removed` is dropped, and so is a `.tar.bz2` whose `.conda` twin (same
//!   name, version and build) is in `packages.conda`: conda and rattler prefer the `.conda`;
//! - `timestamp` is milliseconds or seconds since the epoch (both occur; a value above
//!   253402300799, the last second of the year 9999, is milliseconds, as conda reads it) and
//!   is kept in milliseconds;
//! - `track_features` and `features` are a string of names separated by spaces or commas,
//!   or a list; `noarch` is `"python"`, `"generic"`, `true` (the old form of `generic`) or
//!   absent; unknown keys are ignored;
//! - versions and MatchSpecs are parsed with [`crate::conda`]'s one parser. A record whose
//!   version, `depends` or `constrains` does not parse is kept aside as an
//!   [`UnparseableRecord`] saying which text failed and why; the others are unaffected.
//!
//! # Speed: parsed lazily, per package name
//!
//! conda-forge's `linux-64` repodata holds hundreds of thousands of records, and a solve
//! reads a few dozen names of it. [`Repodata::from_slice`] therefore only checks the JSON
//! and copies each record's fields into one string arena (no allocation per record); a
//! name's records are turned into [`RepodataRecord`]s, with their versions and MatchSpecs
//! parsed, the first time [`Repodata::records`] asks for that name, once (it is safe to ask
//! from several threads). `examples/conda_solve_bench.rs` measures both steps.
//!
//! # Bounds
//!
//! The decompressed document may be at most [`Repodata::DEFAULT_LIMIT`] bytes (1 GiB) unless
//! a caller sets another limit; a larger one is an error, and so is invalid JSON, which
//! names the line and column.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::conda::channel::redact;
use crate::conda::{MatchSpec, Version};
use crate::model::PackageName;
use crate::model::RedactedUrl;

/// The last second of the year 9999: a larger timestamp is in milliseconds.
const MAX_SECONDS: u64 = 253_402_300_799;

/// The first bytes of a zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// One package of a channel subdir, with its version and MatchSpecs parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepodataRecord {
    /// The package name (conda's normal form: lowercase).
    pub name: PackageName,
    /// The version.
    pub version: Version,
    /// The build string (`py310hb13e2d6_0`).
    pub build: String,
    /// The build number, which orders builds of one version (`0` when absent).
    pub build_number: u64,
    /// What the package needs installed beside it.
    pub depends: Vec<MatchSpec>,
    /// Constraints on other packages, which apply only if those are installed.
    pub constrains: Vec<MatchSpec>,
    /// Features this package tracks: a solver ranks such records below the others.
    pub track_features: Vec<String>,
    /// The legacy `features` this build has (kept; conda's current solvers ignore them).
    pub features: Vec<String>,
    /// When the package was built, in milliseconds since the Unix epoch, when the record
    /// says (many old records do not).
    pub timestamp: Option<u64>,
    /// The subdir the record belongs to (`linux-64`, `noarch`): the record's own
    /// `subdir`, else the document's `info.subdir`, else empty.
    pub subdir: String,
    /// Whether the package is architecture-independent, and how.
    pub noarch: NoArch,
    /// The archive's MD5, in lowercase hex.
    pub md5: Option<String>,
    /// The archive's SHA-256, in lowercase hex.
    pub sha256: Option<String>,
    /// The licence, as the recipe states it.
    pub license: Option<String>,
    /// The archive's file name, the key of the record in the document.
    pub filename: String,
    /// Where the archive is downloaded from: the document's `info.base_url` (or the subdir
    /// URL it was read from) and the file name.
    pub url: String,
}

impl RepodataRecord {
    /// The facts a [`MatchSpec`] compares (see [`MatchSpec::matches_package`]).
    pub fn facts(&self) -> crate::conda::matchspec::PackageFacts<'_> {
        crate::conda::matchspec::PackageFacts {
            name: &self.name,
            version: &self.version,
            build: &self.build,
            build_number: self.build_number,
            subdir: &self.subdir,
            filename: &self.filename,
            md5: self.md5.as_deref(),
            sha256: self.sha256.as_deref(),
            license: self.license.as_deref(),
        }
    }
}

impl fmt::Display for RepodataRecord {
    /// `name version build`, as conda prints a record.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.name, self.version, self.build)
    }
}

/// A record's `noarch`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NoArch {
    /// Built for its subdir's platform.
    #[default]
    No,
    /// `noarch: generic` (or the old `noarch: true`).
    Generic,
    /// `noarch: python`: pure Python, installed for the environment's Python.
    Python,
}

/// A record envaudit could not read: its version or one of its MatchSpecs does not parse.
/// The rest of the repodata is unaffected; a solver does not see this record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnparseableRecord {
    /// The archive's file name.
    pub filename: String,
    /// The package name.
    pub name: PackageName,
    /// Which field failed: `version`, `depends` or `constrains`.
    pub field: &'static str,
    /// The text that failed.
    pub text: String,
    /// Where in `text` it failed, in bytes.
    pub offset: usize,
    /// Why, as the parser says it.
    pub message: String,
}

impl fmt::Display for UnparseableRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}`: {} `{}` does not parse at byte {}: {}",
            self.filename, self.field, self.text, self.offset, self.message
        )
    }
}

/// Why a repodata document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RepodataError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The document (decompressed) is larger than the limit.
    #[error("repodata of `{url}` is larger than {limit} bytes")]
    TooLarge {
        /// The subdir it was read for (credentials redacted).
        url: RedactedUrl,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The zstd stream is broken.
    #[error("repodata of `{url}` is not a valid zstd stream: {source}")]
    Zstd {
        /// The subdir it was read for (credentials redacted).
        url: RedactedUrl,
        /// What the decoder said.
        source: std::io::Error,
    },
    /// The JSON is malformed, or a field has the wrong type.
    #[error("repodata of `{url}`, line {line}, column {column}: {message}")]
    Json {
        /// The subdir it was read for (credentials redacted).
        url: RedactedUrl,
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
        /// What is wrong there.
        message: String,
    },
}

/// A channel subdir's package records (see the module documentation).
pub struct Repodata {
    url: String,
    subdir: Option<String>,
    base_url: String,
    arena: String,
    slots: Vec<Slot>,
    lists: Vec<Span>,
    names: Vec<NameGroup>,
    by_name: HashMap<PackageName, usize>,
}

impl fmt::Debug for Repodata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repodata")
            .field("url", &redact(&self.url))
            .field("subdir", &self.subdir)
            .field("records", &self.slots.len())
            .field("names", &self.names.len())
            .finish_non_exhaustive()
    }
}

struct NameGroup {
    name: PackageName,
    slots: Vec<u32>,
    parsed: OnceLock<Parsed>,
}

#[derive(Default)]
struct Parsed {
    records: Vec<RepodataRecord>,
    unparseable: Vec<UnparseableRecord>,
}

/// A byte range of the arena.
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    start: u32,
    len: u32,
}

/// One record as read: spans of the arena, and numbers.
#[derive(Clone, Debug, Default)]
struct Slot {
    filename: Span,
    conda: bool,
    name: Span,
    version: Span,
    build: Span,
    build_number: u64,
    /// Range of `lists`.
    depends: (u32, u32),
    constrains: (u32, u32),
    track_features: Span,
    features: Span,
    timestamp: Option<u64>,
    subdir: Span,
    noarch: NoArch,
    md5: Option<Span>,
    sha256: Option<Span>,
    license: Option<Span>,
}

impl Repodata {
    /// The largest decompressed document [`Repodata::from_slice`] reads: 1 GiB.
    pub const DEFAULT_LIMIT: u64 = 1 << 30;

    /// Reads a `repodata.json` (or, recognised by its magic bytes, a `repodata.json.zst`)
    /// fetched for the subdir at `url` (`https://conda.anaconda.org/conda-forge/linux-64`):
    /// package URLs are `url/filename` unless the document names a `base_url`.
    pub fn from_slice(bytes: &[u8], url: &str) -> Result<Self, RepodataError> {
        Self::from_slice_with_limit(bytes, url, Self::DEFAULT_LIMIT)
    }

    /// [`Repodata::from_slice`] with another limit on the decompressed size, in bytes.
    pub fn from_slice_with_limit(
        bytes: &[u8],
        url: &str,
        limit: u64,
    ) -> Result<Self, RepodataError> {
        let too_large = || RepodataError::TooLarge {
            url: redact(url),
            limit,
        };
        if bytes.starts_with(&ZSTD_MAGIC) {
            let decoder =
                zstd::stream::read::Decoder::new(bytes).map_err(|source| RepodataError::Zstd {
                    url: redact(url),
                    source,
                })?;
            let mut json = Vec::new();
            decoder
                .take(limit.saturating_add(1))
                .read_to_end(&mut json)
                .map_err(|source| RepodataError::Zstd {
                    url: redact(url),
                    source,
                })?;
            if json.len() as u64 > limit {
                return Err(too_large());
            }
            return Self::parse(&json, url);
        }
        if bytes.len() as u64 > limit {
            return Err(too_large());
        }
        Self::parse(bytes, url)
    }

    /// Reads a `repodata.json` or `repodata.json.zst` file (see [`Repodata::from_slice`]).
    pub fn from_path(path: &Path, url: &str) -> Result<Self, RepodataError> {
        let read_error = |source| RepodataError::Read {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut bytes = Vec::new();
        // A compressed document is bounded again when decompressed.
        file.take(Self::DEFAULT_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        Self::from_slice(&bytes, url)
    }

    /// The subdir URL the document was read for.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The document's `info.subdir`, when it has one.
    pub fn subdir(&self) -> Option<&str> {
        self.subdir.as_deref()
    }

    /// How many records the document holds (after `removed` and `.tar.bz2`/`.conda`
    /// twins), unparseable ones included.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the document holds no record.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The package names, in byte order.
    pub fn names(&self) -> impl Iterator<Item = &PackageName> {
        self.names.iter().map(|g| &g.name)
    }

    /// The records of `name`, in the document's order (`packages` before
    /// `packages.conda`), parsed on the first call for that name.
    pub fn records(&self, name: &PackageName) -> &[RepodataRecord] {
        self.parsed(name).map_or(&[], |p| &p.records)
    }

    /// The records of `name` that could not be parsed (see [`UnparseableRecord`]).
    pub fn unparseable(&self, name: &PackageName) -> &[UnparseableRecord] {
        self.parsed(name).map_or(&[], |p| &p.unparseable)
    }

    /// Every record, name by name (this parses them all).
    pub fn all_records(&self) -> impl Iterator<Item = &RepodataRecord> {
        self.names
            .iter()
            .flat_map(|g| &g.parsed.get_or_init(|| self.parse_group(g)).records)
    }

    /// Every record that could not be parsed, name by name (this parses them all).
    pub fn all_unparseable(&self) -> impl Iterator<Item = &UnparseableRecord> {
        self.names
            .iter()
            .flat_map(|g| &g.parsed.get_or_init(|| self.parse_group(g)).unparseable)
    }

    fn parsed(&self, name: &PackageName) -> Option<&Parsed> {
        let group = &self.names[*self.by_name.get(name)?];
        Some(group.parsed.get_or_init(|| self.parse_group(group)))
    }

    fn text(&self, span: Span) -> &str {
        let start = span.start as usize;
        self.arena
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    fn list(&self, range: (u32, u32)) -> impl Iterator<Item = &str> {
        self.lists
            .get(range.0 as usize..range.1 as usize)
            .unwrap_or_default()
            .iter()
            .map(|&s| self.text(s))
    }

    fn parse_group(&self, group: &NameGroup) -> Parsed {
        let mut parsed = Parsed::default();
        for &index in &group.slots {
            let slot = &self.slots[index as usize];
            match self.parse_slot(&group.name, slot) {
                Ok(record) => parsed.records.push(record),
                Err(bad) => parsed.unparseable.push(bad),
            }
        }
        parsed
    }

    fn parse_slot(
        &self,
        name: &PackageName,
        slot: &Slot,
    ) -> Result<RepodataRecord, UnparseableRecord> {
        let filename = self.text(slot.filename);
        let bad =
            |field: &'static str, text: &str, offset: usize, message: String| UnparseableRecord {
                filename: filename.to_owned(),
                name: name.clone(),
                field,
                text: text.to_owned(),
                offset,
                message,
            };
        let version_text = self.text(slot.version);
        let version = version_text
            .parse::<Version>()
            .map_err(|e| bad("version", version_text, e.offset, e.message))?;
        let specs = |field: &'static str, range| {
            self.list(range)
                .map(|text| {
                    text.parse::<MatchSpec>()
                        .map_err(|e| bad(field, text, e.offset, e.message))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let depends = specs("depends", slot.depends)?;
        let constrains = specs("constrains", slot.constrains)?;
        let words = |span| {
            self.text(span)
                .split([' ', ','])
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let subdir = match self.text(slot.subdir) {
            "" => self.subdir.clone().unwrap_or_default(),
            s => s.to_owned(),
        };
        let hex = |span: Option<Span>| span.map(|s| self.text(s).to_ascii_lowercase());
        Ok(RepodataRecord {
            name: name.clone(),
            version,
            build: self.text(slot.build).to_owned(),
            build_number: slot.build_number,
            depends,
            constrains,
            track_features: words(slot.track_features),
            features: words(slot.features),
            timestamp: slot.timestamp,
            subdir,
            noarch: slot.noarch,
            md5: hex(slot.md5),
            sha256: hex(slot.sha256),
            license: slot.license.map(|s| self.text(s).to_owned()),
            filename: filename.to_owned(),
            url: format!("{}/{filename}", self.base_url),
        })
    }

    fn parse(json: &[u8], url: &str) -> Result<Self, RepodataError> {
        let mut builder = Builder::default();
        // Checking UTF-8 once up front is much faster than string by string.
        let result = if let Ok(text) = std::str::from_utf8(json) {
            let mut de = serde_json::Deserializer::from_str(text);
            DocumentSeed(&mut builder)
                .deserialize(&mut de)
                .and_then(|()| de.end())
        } else {
            // Not UTF-8: let serde_json find the place.
            let mut de = serde_json::Deserializer::from_slice(json);
            DocumentSeed(&mut builder)
                .deserialize(&mut de)
                .and_then(|()| de.end())
        };
        if let Err(e) = result {
            return Err(RepodataError::Json {
                url: redact(url),
                line: e.line().max(1),
                column: e.column().max(1),
                message: json_message(&e),
            });
        }
        Ok(builder.finish(url))
    }
}

/// `serde_json`'s message without its own ` at line L column C` suffix.
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// What the reader collects while it streams through the document.
#[derive(Default)]
struct Builder {
    arena: String,
    slots: Vec<Slot>,
    lists: Vec<Span>,
    removed: Vec<Span>,
    subdir: Option<String>,
    base_url: Option<String>,
}

impl Builder {
    fn push(&mut self, s: &str) -> Span {
        let start = self.arena.len();
        self.arena.push_str(s);
        // The document is at most `Repodata::DEFAULT_LIMIT`-sized (or the caller's limit),
        // and the arena holds each string of it at most once.
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(s.len()).unwrap_or(0),
        }
    }

    fn text(&self, span: Span) -> &str {
        let start = span.start as usize;
        self.arena
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    fn finish(self, url: &str) -> Repodata {
        let url = url.trim_end_matches('/').to_owned();
        let base_url = self
            .base_url
            .as_deref()
            .map(|b| b.trim_end_matches('/'))
            .filter(|b| b.contains("://"))
            .map_or_else(|| url.clone(), str::to_owned);
        let removed: HashSet<&str> = self.removed.iter().map(|&s| self.text(s)).collect();
        // `.conda` file stems, needed only when there are `.tar.bz2` files to drop.
        let has_tar = self.slots.iter().any(|s| !s.conda);
        let conda_stems: HashSet<&str> = if has_tar {
            self.slots
                .iter()
                .filter(|s| s.conda)
                .filter_map(|s| self.text(s.filename).strip_suffix(".conda"))
                .collect()
        } else {
            HashSet::new()
        };
        let keep = |slot: &Slot| {
            let filename = self.text(slot.filename);
            if !removed.is_empty() && removed.contains(filename) {
                return false;
            }
            slot.conda
                || !filename
                    .strip_suffix(".tar.bz2")
                    .is_some_and(|stem| conda_stems.contains(stem))
        };
        let kept: Vec<Slot> = self.slots.iter().filter(|s| keep(s)).cloned().collect();
        // Records of one name are mostly adjacent (the document is sorted by file name):
        // a run of one name costs one lookup.
        let mut groups: HashMap<&str, Vec<u32>> = HashMap::new();
        let mut run: Option<(&str, Vec<u32>)> = None;
        for (i, slot) in kept.iter().enumerate() {
            let name = self.text(slot.name);
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            match &mut run {
                Some((current, slots)) if *current == name => slots.push(index),
                _ => {
                    if let Some((current, slots)) = run.replace((name, vec![index])) {
                        groups.entry(current).or_default().extend(slots);
                    }
                }
            }
        }
        if let Some((current, slots)) = run {
            groups.entry(current).or_default().extend(slots);
        }
        let mut merged: HashMap<PackageName, Vec<u32>> = HashMap::with_capacity(groups.len());
        for (name, slots) in groups {
            merged
                .entry(PackageName::conda(name))
                .or_default()
                .extend(slots);
        }
        let mut names: Vec<NameGroup> = merged
            .into_iter()
            .map(|(name, mut slots)| {
                slots.sort_unstable();
                NameGroup {
                    name,
                    slots,
                    parsed: OnceLock::new(),
                }
            })
            .collect();
        names.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        let by_name = names
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.clone(), i))
            .collect();
        Repodata {
            url,
            subdir: self.subdir,
            base_url,
            arena: self.arena,
            slots: kept,
            lists: self.lists,
            names,
            by_name,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The streaming reader: serde visitors that copy strings into the arena.

/// A map key, classified without allocating: `classify` maps the key's text to a field.
struct KeySeed<F>(fn(&str) -> F);

impl<'de, F> DeserializeSeed<'de> for KeySeed<F> {
    type Value = F;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<F, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<F> Visitor<'_> for KeySeed<F> {
    type Value = F;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<F, E> {
        Ok((self.0)(v))
    }
}

/// The keys of the document that envaudit reads.
enum TopKey {
    Info,
    Packages,
    PackagesConda,
    Removed,
    Other,
}

fn top_key(key: &str) -> TopKey {
    match key {
        "info" => TopKey::Info,
        "packages" => TopKey::Packages,
        "packages.conda" => TopKey::PackagesConda,
        "removed" => TopKey::Removed,
        _ => TopKey::Other,
    }
}

/// The keys of a record that envaudit reads.
enum RecordKey {
    Name,
    Version,
    Build,
    BuildNumber,
    Depends,
    Constrains,
    TrackFeatures,
    Features,
    Timestamp,
    Subdir,
    Noarch,
    Md5,
    Sha256,
    License,
    Other,
}

fn record_key(key: &str) -> RecordKey {
    match key {
        "name" => RecordKey::Name,
        "version" => RecordKey::Version,
        "build" => RecordKey::Build,
        "build_number" => RecordKey::BuildNumber,
        "depends" => RecordKey::Depends,
        "constrains" => RecordKey::Constrains,
        "track_features" => RecordKey::TrackFeatures,
        "features" => RecordKey::Features,
        "timestamp" => RecordKey::Timestamp,
        "subdir" => RecordKey::Subdir,
        "noarch" => RecordKey::Noarch,
        "md5" => RecordKey::Md5,
        "sha256" => RecordKey::Sha256,
        "license" => RecordKey::License,
        _ => RecordKey::Other,
    }
}

/// The whole document.
struct DocumentSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a repodata object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed(top_key))? {
            match key {
                TopKey::Info => map.next_value_seed(InfoSeed(&mut *self.0))?,
                TopKey::Packages => map.next_value_seed(PackagesSeed {
                    builder: &mut *self.0,
                    conda: false,
                })?,
                TopKey::PackagesConda => map.next_value_seed(PackagesSeed {
                    builder: &mut *self.0,
                    conda: true,
                })?,
                TopKey::Removed => {
                    map.next_value_seed(ListSeed {
                        builder: &mut *self.0,
                        removed: true,
                    })?;
                }
                TopKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `info`: the subdir and the repodata-2 `base_url`.
struct InfoSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for InfoSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InfoSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an `info` object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "subdir" => self.0.subdir = map.next_value::<Option<String>>()?,
                "base_url" => self.0.base_url = map.next_value::<Option<String>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `packages` or `packages.conda`: file name → record.
struct PackagesSeed<'b> {
    builder: &'b mut Builder,
    conda: bool,
}

impl<'de> DeserializeSeed<'de> for PackagesSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PackagesSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of package records")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(filename) = map.next_key_seed(StrSeed(&mut *self.builder))? {
            let slot = map.next_value_seed(RecordSeed {
                builder: &mut *self.builder,
                slot: Slot {
                    filename: filename.unwrap_or_default(),
                    conda: self.conda,
                    ..Slot::default()
                },
            })?;
            self.builder.slots.push(slot);
        }
        Ok(())
    }
}

/// One record's fields.
struct RecordSeed<'b> {
    builder: &'b mut Builder,
    slot: Slot,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Slot;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Slot, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Slot;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a package record object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Slot, A::Error> {
        let b = self.builder;
        let mut slot = self.slot;
        let (mut has_name, mut has_version) = (false, false);
        while let Some(key) = map.next_key_seed(KeySeed(record_key))? {
            let string = |map: &mut A, b: &mut Builder| map.next_value_seed(StrSeed(b));
            let list = |map: &mut A, b: &mut Builder| {
                map.next_value_seed(ListSeed {
                    builder: b,
                    removed: false,
                })
            };
            match key {
                RecordKey::Name => {
                    slot.name = string(&mut map, b)?.unwrap_or_default();
                    has_name = true;
                }
                RecordKey::Version => {
                    slot.version = string(&mut map, b)?.unwrap_or_default();
                    has_version = true;
                }
                RecordKey::Build => slot.build = string(&mut map, b)?.unwrap_or_default(),
                RecordKey::BuildNumber => {
                    slot.build_number = map.next_value::<Option<u64>>()?.unwrap_or(0);
                }
                RecordKey::Depends => slot.depends = list(&mut map, b)?,
                RecordKey::Constrains => slot.constrains = list(&mut map, b)?,
                RecordKey::TrackFeatures => {
                    slot.track_features = map.next_value_seed(WordsSeed(b))?;
                }
                RecordKey::Features => slot.features = map.next_value_seed(WordsSeed(b))?,
                RecordKey::Timestamp => slot.timestamp = map.next_value_seed(TimestampSeed)?,
                RecordKey::Subdir => slot.subdir = string(&mut map, b)?.unwrap_or_default(),
                RecordKey::Noarch => slot.noarch = map.next_value_seed(NoArchSeed)?,
                RecordKey::Md5 => slot.md5 = string(&mut map, b)?,
                RecordKey::Sha256 => slot.sha256 = string(&mut map, b)?,
                RecordKey::License => slot.license = string(&mut map, b)?,
                RecordKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !has_name {
            return Err(de::Error::missing_field("name"));
        }
        if !has_version {
            return Err(de::Error::missing_field("version"));
        }
        Ok(slot)
    }
}

/// A string (copied into the arena) or `null`.
struct StrSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for StrSeed<'_> {
    type Value = Option<Span>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Span>, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for StrSeed<'_> {
    type Value = Option<Span>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Span>, E> {
        Ok(Some(self.0.push(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<Span>, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<Span>, E> {
        Ok(None)
    }
}

/// A list of strings (`depends`, `constrains`, `removed`), or `null`.
struct ListSeed<'b> {
    builder: &'b mut Builder,
    /// Collect into `removed` instead of `lists`.
    removed: bool,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = (u32, u32);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(u32, u32), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = (u32, u32);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of strings")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(u32, u32), E> {
        Ok((0, 0))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(u32, u32), A::Error> {
        let b = self.builder;
        let index = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let start = index(b.lists.len());
        while let Some(span) = seq.next_element_seed(StrSeed(&mut *b))? {
            if let Some(span) = span {
                if self.removed {
                    b.removed.push(span);
                } else {
                    b.lists.push(span);
                }
            }
        }
        Ok((start, index(b.lists.len())))
    }
}

/// `track_features` / `features`: a string of words, or a list of them (joined by spaces
/// in the arena), or `null`.
struct WordsSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for WordsSeed<'_> {
    type Value = Span;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Span, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for WordsSeed<'_> {
    type Value = Span;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a list of strings")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Span, E> {
        Ok(self.0.push(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Span, E> {
        Ok(Span::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Span, A::Error> {
        let start = self.0.arena.len();
        while let Some(word) = seq.next_element::<Cow<'de, str>>()? {
            if self.0.arena.len() > start {
                self.0.arena.push(' ');
            }
            self.0.arena.push_str(&word);
        }
        Ok(Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(self.0.arena.len() - start).unwrap_or(0),
        })
    }
}

/// `timestamp`: an integer (or a float) of seconds or milliseconds, or `null`; kept in
/// milliseconds.
struct TimestampSeed;

impl<'de> DeserializeSeed<'de> for TimestampSeed {
    type Value = Option<u64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for TimestampSeed {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a timestamp in seconds or milliseconds since the epoch")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<u64>, E> {
        Ok(Some(if v > MAX_SECONDS {
            v
        } else {
            v.saturating_mul(1000)
        }))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<u64>, E> {
        u64::try_from(v)
            .map_err(|_| E::custom(format!("negative timestamp {v}")))
            .and_then(|v| self.visit_u64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<u64>, E> {
        if !(v.is_finite() && v >= 0.0) {
            return Err(E::custom(format!("invalid timestamp {v}")));
        }
        // Float seconds keep their milliseconds.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a JSON float timestamp: finite and non-negative, checked above; whole milliseconds are all conda keeps"
        )]
        let ms = if v > MAX_SECONDS as f64 {
            v as u64
        } else {
            (v * 1000.0) as u64
        };
        Ok(Some(ms))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }
}

/// `noarch`: `"python"`, `"generic"`, `true`, `false` or `null`.
struct NoArchSeed;

impl<'de> DeserializeSeed<'de> for NoArchSeed {
    type Value = NoArch;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<NoArch, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for NoArchSeed {
    type Value = NoArch;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`python`, `generic` or a boolean")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NoArch, E> {
        match v {
            "python" => Ok(NoArch::Python),
            "generic" => Ok(NoArch::Generic),
            other => Err(E::custom(format!(
                "unknown noarch `{other}`; expected `python` or `generic`"
            ))),
        }
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NoArch, E> {
        Ok(if v { NoArch::Generic } else { NoArch::No })
    }
    fn visit_unit<E: de::Error>(self) -> Result<NoArch, E> {
        Ok(NoArch::No)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://conda.anaconda.org/conda-forge/linux-64";

    fn name(s: &str) -> PackageName {
        PackageName::conda(s)
    }

    const DOC: &str = r#"{
      "info": {"subdir": "linux-64"},
      "packages": {
        "numpy-1.26.4-py310h_0.tar.bz2": {"name": "numpy", "version": "1.26.4",
          "build": "py310h_0", "build_number": 0,
          "depends": ["python >=3.10,<3.11.0a0", "libblas >=3.9.0,<4.0a0"],
          "constrains": ["numpy-base <0a0"], "timestamp": 1707225376,
          "md5": "ABCDEF0123456789abcdef0123456789", "license": "BSD-3-Clause"},
        "numpy-1.26.3-py310h_0.tar.bz2": {"name": "numpy", "version": "1.26.3",
          "build": "py310h_0", "build_number": 0, "depends": [], "timestamp": 1707225376123},
        "bad-1.0-0.tar.bz2": {"name": "bad", "version": "1.0", "build": "0",
          "depends": ["ok", "python >=>3"]},
        "badversion-1..0-0.tar.bz2": {"name": "badversion", "version": "1..0", "build": "0"},
        "gone-1.0-0.tar.bz2": {"name": "gone", "version": "1.0", "build": "0"}
      },
      "packages.conda": {
        "numpy-1.26.4-py310h_0.conda": {"name": "numpy", "version": "1.26.4",
          "build": "py310h_0", "build_number": 0, "depends": ["python >=3.10,<3.11.0a0"],
          "track_features": "blas_openblas, other", "features": ["mkl"],
          "noarch": null, "sha256": "00FF"},
        "tzdata-2024a-h0_0.conda": {"name": "tzdata", "version": "2024a", "build": "h0_0",
          "noarch": "generic", "subdir": "noarch", "unknown_key": {"x": [1, 2]}}
      },
      "removed": ["gone-1.0-0.tar.bz2"],
      "repodata_version": 1
    }"#;

    #[test]
    fn reads_both_archive_kinds_and_honours_removed_and_twins() {
        let r = Repodata::from_slice(DOC.as_bytes(), URL).unwrap();
        assert_eq!(r.subdir(), Some("linux-64"));
        assert_eq!(
            r.len(),
            5,
            "the .tar.bz2 twin and the removed file are dropped"
        );
        let names: Vec<&str> = r.names().map(PackageName::as_str).collect();
        assert_eq!(names, ["bad", "badversion", "numpy", "tzdata"]);
        assert!(r.records(&name("gone")).is_empty());

        let numpy = r.records(&name("numpy"));
        let files: Vec<&str> = numpy.iter().map(|r| r.filename.as_str()).collect();
        assert_eq!(
            files,
            [
                "numpy-1.26.3-py310h_0.tar.bz2",
                "numpy-1.26.4-py310h_0.conda"
            ]
        );
        let old = &numpy[0];
        assert_eq!(old.timestamp, Some(1_707_225_376_123), "milliseconds kept");
        let new = &numpy[1];
        assert_eq!(new.version.as_str(), "1.26.4");
        assert_eq!(new.track_features, ["blas_openblas", "other"]);
        assert_eq!(new.features, ["mkl"]);
        assert_eq!(new.sha256.as_deref(), Some("00ff"));
        assert_eq!(new.subdir, "linux-64", "from info.subdir");
        assert_eq!(new.depends.len(), 1);
        assert_eq!(new.depends[0].to_string(), "python >=3.10,<3.11.0a0");
        assert_eq!(new.url, format!("{URL}/numpy-1.26.4-py310h_0.conda"));
        assert_eq!(new.to_string(), "numpy 1.26.4 py310h_0");

        let tz = &r.records(&name("tzdata"))[0];
        assert_eq!((tz.noarch, tz.subdir.as_str()), (NoArch::Generic, "noarch"));
        assert_eq!(tz.timestamp, None);
    }

    #[test]
    fn repodata_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Repodata>();
        let r = Repodata::from_slice(DOC.as_bytes(), URL).unwrap();
        let counts: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| r.records(&name("numpy")).len()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(counts, [2, 2, 2, 2]);
    }

    #[test]
    fn seconds_become_milliseconds() {
        let doc = r#"{"packages": {"a-1-0.tar.bz2": {"name": "a", "version": "1",
            "build": "0", "timestamp": 1707225376, "md5": "ABCDEF0123456789abcdef0123456789",
            "license": "MIT"}}}"#;
        let r = Repodata::from_slice(doc.as_bytes(), URL).unwrap();
        let a = &r.records(&name("a"))[0];
        assert_eq!(a.timestamp, Some(1_707_225_376_000));
        assert_eq!(a.md5.as_deref(), Some("abcdef0123456789abcdef0123456789"));
        assert_eq!(a.license.as_deref(), Some("MIT"));
        assert_eq!(a.build_number, 0);
    }

    #[test]
    fn unparseable_records_are_kept_aside_with_the_reason() {
        let r = Repodata::from_slice(DOC.as_bytes(), URL).unwrap();
        assert!(r.records(&name("bad")).is_empty());
        let report: Vec<String> = r.all_unparseable().map(ToString::to_string).collect();
        insta::assert_snapshot!(report.join("\n"), @r"
        `bad-1.0-0.tar.bz2`: depends `python >=>3` does not parse at byte 9: expected a version after `>=`, found `>3`
        `badversion-1..0-0.tar.bz2`: version `1..0` does not parse at byte 1: unexpected `.` in version `1..0`
        ");
        assert_eq!(r.all_records().count(), 3);
    }

    #[test]
    fn zstd_is_recognised_by_its_magic() {
        let compressed = zstd::bulk::compress(DOC.as_bytes(), 3).unwrap();
        let r = Repodata::from_slice(&compressed, URL).unwrap();
        assert_eq!(r.len(), 5);
        let e = Repodata::from_slice_with_limit(&compressed, URL, 100).unwrap_err();
        assert!(
            matches!(e, RepodataError::TooLarge { limit: 100, .. }),
            "{e}"
        );
        let mut broken = compressed.clone();
        broken.truncate(compressed.len() / 2);
        let e = Repodata::from_slice(&broken, URL).unwrap_err();
        assert!(matches!(e, RepodataError::Zstd { .. }), "{e}");
    }

    #[test]
    fn errors_name_line_and_column_and_hide_credentials() {
        let secret_url = "https://bob:hunter2@example.com/t/tok/conda-forge/linux-64";
        let cases = [
            "{\n  \"packages\": {\"a-1-0.conda\": {\"name\": \"a\", \"version\": 1}}}",
            "{\"packages\": {\"a-1-0.conda\": {\"version\": \"1\"}}}",
            "{\"packages\": [1]}",
            "{\"packages\": {}",
            "{\"packages\": {\"a-1-0.conda\": {\"name\": \"a\", \"version\": \"1\", \"timestamp\": -1}}}",
            "{\"packages\": {\"a-1-0.conda\": {\"name\": \"a\", \"version\": \"1\", \"noarch\": \"x\"}}}",
            "[]",
            "{} trailing",
        ];
        let out: Vec<String> = cases
            .iter()
            .map(|c| {
                let e = Repodata::from_slice(c.as_bytes(), secret_url).unwrap_err();
                let text = e.to_string();
                assert!(!text.contains("hunter2"), "{text}");
                text
            })
            .collect();
        insta::assert_snapshot!(out.join("\n"), @r"
        repodata of `https://****@example.com/t/****/conda-forge/linux-64`, line 2, column 56: invalid type: integer `1`, expected a string
        repodata of `https://****@example.com/t/****/conda-forge/linux-64`, line 1, column 45: missing field `name`
        repodata of `https://****@example.com/t/****/conda-forge/linux-64`, line 1, column 14: invalid type: sequence, expected an object of package records
        repodata of `https://****@example.com/t/****/conda-forge/linux-64`, line 1, column 15: EOF while parsing an object
        repodata of `https://****@example.com/t/****/conda-forge/linux-64`, line 1, column 74: negative timestamp -1
        repodata of `https://****@example.com/t/****/conda-forge/linux-64`, line 1, column 72: unknown noarch `x`; expected `python` or `generic`
        repodata of `https://****@example.com/t/****/conda-forge/linux-64`, line 1, column 1: invalid type: sequence, expected a repodata object
        repodata of `https://****@example.com/t/****/conda-forge/linux-64`, line 1, column 4: trailing characters
        ");
        let e = Repodata::from_slice_with_limit(DOC.as_bytes(), URL, 10).unwrap_err();
        assert!(matches!(e, RepodataError::TooLarge { .. }));
    }

    mod props {
        use super::*;
        proptest::proptest! {
            #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
            #[test]
            fn mutated_documents_never_panic(
                edits in proptest::collection::vec((0usize..2000, proptest::num::u8::ANY), 0..8),
                cut in 0usize..2100,
            ) {
                let mut bytes = DOC.as_bytes().to_vec();
                for (at, byte) in edits {
                    let at = at % bytes.len();
                    bytes[at] = byte;
                }
                bytes.truncate(cut.max(1));
                if let Ok(r) = Repodata::from_slice(&bytes, URL) {
                    let _ = r.all_records().count();
                    let _ = r.all_unparseable().count();
                }
            }
        }
    }

    #[test]
    fn base_url_of_repodata_version_2_is_used_for_downloads() {
        let doc = r#"{"info": {"base_url": "https://mirror.example/cf/linux-64/"},
            "packages.conda": {"a-1-0.conda": {"name": "A", "version": "1", "build": "0"}}}"#;
        let r = Repodata::from_slice(doc.as_bytes(), URL).unwrap();
        let a = &r.records(&name("a"))[0];
        assert_eq!(a.url, "https://mirror.example/cf/linux-64/a-1-0.conda");
        assert_eq!(a.name.as_str(), "a", "names are lowercased");
    }

    #[test]
    fn from_path_reads_plain_and_compressed_files() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("repodata.json");
        std::fs::write(&plain, DOC).unwrap();
        let zst = dir.path().join("repodata.json.zst");
        std::fs::write(&zst, zstd::bulk::compress(DOC.as_bytes(), 3).unwrap()).unwrap();
        for path in [&plain, &zst] {
            assert_eq!(Repodata::from_path(path, URL).unwrap().len(), 5);
        }
        let e = Repodata::from_path(&dir.path().join("missing.json"), URL).unwrap_err();
        assert!(matches!(e, RepodataError::Read { .. }));
    }
}
