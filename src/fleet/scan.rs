//! `fleet scan`: from sources (a registry, a repository prefix, a file of references, the
//! lockfiles' images) to the images one worker scans, and from one image to its record.
//!
//! 1. [`references`] enumerates the sources into image references (the catalog and tag
//!    listings of [`crate::registry::HttpRegistry`]); a repository whose tags cannot be
//!    listed becomes an [`UnreadableRecord`] for `REG/REPO`.
//! 2. [`plan`] reads each reference's manifest (through the scanner's cache, which resolving
//!    reads anyway), skips what is not an image ([`is_not_image`]), resolves the rest to
//!    their platform manifests, groups the references by manifest digest, keeps the
//!    manifests of this [`Shard`] and drops what the results files already hold.
//! 3. [`scan_image`] scans one image and makes its [`ImageRecord`], or the
//!    [`UnreadableRecord`]s of its references when it cannot be read.
//!
//! The caller appends each record as it is made (see [`super::record::append`]), so a
//! killed worker loses at most the image it was scanning.
//!
//! Sharding: an image belongs to shard `shard_of(manifest, N)`; an unreadable reference,
//! which has no manifest, to `shard_of(sha256(reference), N)`. Both depend on the item
//! alone, never on a listing's order.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use super::facts::{FactsCache, Lookup};
use super::record::{
    ImageRecord, SCHEMA_VERSION, ScanRecord, SeenRecord, UnreadableReason, UnreadableRecord,
};
use super::shard_of;
use crate::diag::{Code, Finding};
use crate::image::ImageError;
use crate::layer::Completeness;
use crate::model::{Digest, ImageRef, ImageSource};
use crate::registry::{ListLimits, RegistryError, media_type};
use crate::scan::{ScanError, Scanner};

/// What `fleet scan` reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Every repository of a registry's catalog (`HOST[:PORT]`).
    Registry(String),
    /// The repositories of a registry's catalog under a prefix (`REG/azureml/*`: `prefix`
    /// is `azureml/`).
    Prefix {
        /// The registry host.
        registry: String,
        /// The start every repository name listed must have (ends with `/`).
        prefix: String,
    },
    /// Every tag of one repository (`REG/REPO`, no tag nor digest).
    Repository(ImageRef),
    /// One image (`REG/REPO:TAG` or `REG/REPO@sha256:…`).
    Reference(ImageRef),
    /// A file of references, one a line (`@FILE`); blank lines and `#` comments are
    /// skipped, and each line is itself a source (but not another file nor `@`).
    File(PathBuf),
    /// Every image the lockfiles name (`@`).
    Lockfiles,
}

/// Why a source is not one.
#[derive(Debug, thiserror::Error)]
#[error("`{source_text}` is not a fleet scan source: {reason}")]
pub struct SourceError {
    /// The source as written.
    pub source_text: String,
    /// What is wrong.
    pub reason: String,
}

impl FromStr for Source {
    type Err = SourceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| SourceError {
            source_text: s.chars().take(300).collect(),
            reason: reason.to_owned(),
        };
        let t = s.trim();
        if t == "@" {
            return Ok(Source::Lockfiles);
        }
        if let Some(file) = t.strip_prefix('@') {
            return Ok(Source::File(PathBuf::from(file)));
        }
        let t = t.trim_start_matches("docker://").trim_end_matches('/');
        if t.is_empty() {
            return Err(bad("it is empty"));
        }
        if let Some(prefix) = t.strip_suffix("/*") {
            let (registry, rest) = prefix.split_once('/').unwrap_or((prefix, ""));
            // The registry must parse; check it with a dummy repository.
            let probe: ImageRef = format!("{registry}/x")
                .parse()
                .map_err(|_| bad("the registry must be `HOST[:PORT]`"))?;
            if probe.registry() != registry {
                return Err(bad("a prefix must start with the registry's `HOST[:PORT]`"));
            }
            if rest.contains('*') {
                return Err(bad("only a trailing `/*` is a wildcard"));
            }
            if rest.is_empty() {
                return Ok(Source::Registry(registry.to_owned()));
            }
            return Ok(Source::Prefix {
                registry: registry.to_owned(),
                prefix: format!("{rest}/"),
            });
        }
        if !t.contains('/') {
            let probe: ImageRef = format!("{t}/x")
                .parse()
                .map_err(|_| bad("a registry must be `HOST[:PORT]`"))?;
            let host_like = t.contains('.') || t.contains(':') || t == "localhost";
            if probe.registry() != t || !host_like {
                return Err(bad(
                    "a registry must be `HOST[:PORT]` (with a `.` or a port, or `localhost`)",
                ));
            }
            return Ok(Source::Registry(t.to_owned()));
        }
        let r: ImageRef = t
            .parse()
            .map_err(|e: crate::model::ImageRefError| bad(&e.to_string()))?;
        if r.tag().is_none() && r.digest().is_none() {
            Ok(Source::Repository(r))
        } else {
            Ok(Source::Reference(r))
        }
    }
}

/// One worker of `count`: `I/N`, `I` from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This worker, `0..count`.
    pub index: u32,
    /// How many workers share the work.
    pub count: u32,
}

/// Why a shard is not one.
#[derive(Debug, thiserror::Error)]
#[error("`{text}` is not a shard `I/N` with 0 <= I < N: {reason}")]
pub struct ShardError {
    /// The text given.
    pub text: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl Shard {
    /// The shard `index` of `count`, checked.
    pub fn new(index: u32, count: u32) -> Result<Self, ShardError> {
        let err = |reason| ShardError {
            text: format!("{index}/{count}"),
            reason,
        };
        if count == 0 {
            return Err(err("N must be at least 1"));
        }
        if index >= count {
            return Err(err("I counts from 0 and must be below N"));
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard owns the image of `manifest`.
    pub fn owns(&self, manifest: &Digest) -> bool {
        shard_of(manifest, self.count) == self.index
    }

    /// Whether this shard owns the unreadable reference `reference`.
    pub fn owns_reference(&self, reference: &str) -> bool {
        self.owns(&Digest::sha256_of(reference.as_bytes()))
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ShardError {
            text: s.chars().take(100).collect(),
            reason,
        };
        let (i, n) = s.split_once('/').ok_or_else(|| err("no `/`"))?;
        let i: u32 = i.trim().parse().map_err(|_| err("I is not a number"))?;
        let n: u32 = n.trim().parse().map_err(|_| err("N is not a number"))?;
        Shard::new(i, n).map_err(|e| err(e.reason))
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The references found in the sources, and the repositories (or registries) that could not
/// be listed.
#[derive(Debug, Default)]
pub struct Enumerated {
    /// Every image reference, deduplicated, sorted.
    pub references: Vec<ImageRef>,
    /// `REG` or `REG/REPO` whose listing failed, with the error.
    pub unlisted: Vec<(String, RegistryError)>,
    /// Tags skipped by name: the referrers tag schema (`sha256-<hex>`, with cosign's
    /// `.sig`/`.att`/`.sbom`) and envaudit's layer-facts cache (`facts-v<N>-…`).
    pub skipped_tags: usize,
}

/// The largest file of references read (`@FILE`).
pub const MAX_REFERENCE_FILE_BYTES: u64 = 16 << 20;

/// Why the sources could not be enumerated at all (a file of references unreadable or
/// holding something that is not a source).
#[derive(Debug, thiserror::Error)]
pub enum EnumerateError {
    /// The file of references could not be read.
    #[error("cannot read the file of references `{path}`", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file of references is larger than [`MAX_REFERENCE_FILE_BYTES`].
    #[error("the file of references `{path}` is larger than {MAX_REFERENCE_FILE_BYTES} bytes", path = .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// A line of a file of references is not a source.
    #[error("{path}:{line}: {source}", path = .path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        #[source]
        source: SourceError,
    },
    /// A file of references names another file or `@`.
    #[error("{path}:{line}: a file of references cannot name another file or `@`", path = .path.display())]
    Nested {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
    },
}

/// Whether a tag is one of the artifact tag schemes that are never images: the referrers
/// fallback (`sha256-<64 hex>`, maybe with cosign's `.sig`, `.att` or `.sbom`) and
/// envaudit's layer-facts cache (`facts-v<N>-…`).
pub fn is_artifact_tag(tag: &str) -> bool {
    if let Some(rest) = tag.strip_prefix("facts-v")
        && let Some((version, _)) = rest.split_once('-')
        && !version.is_empty()
        && version.bytes().all(|b| b.is_ascii_digit())
    {
        return true;
    }
    let Some(rest) = tag.strip_prefix("sha256-") else {
        return false;
    };
    let hex = rest.get(..64).unwrap_or("");
    let tail = rest.get(64..).unwrap_or("x");
    hex.len() == 64
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && matches!(tail, "" | ".sig" | ".att" | ".sbom")
}

/// Enumerates `sources` into image references. `lockfile_images` are the references the
/// lockfiles name (for [`Source::Lockfiles`]); repositories named in `exclude` (`REG/REPO`,
/// such as the layer-facts cache) are left out.
pub fn references(
    scanner: &Scanner,
    sources: &[Source],
    lockfile_images: &[ImageRef],
    exclude: &[String],
    limits: &ListLimits,
) -> Result<Enumerated, EnumerateError> {
    let mut flat = Vec::new();
    for s in sources {
        match s {
            Source::File(path) => flat.extend(read_reference_file(path)?),
            Source::Lockfiles => flat.extend(lockfile_images.iter().cloned().map(|r| {
                if r.tag().is_none() && r.digest().is_none() {
                    Source::Reference(with_tag(&r, "latest").unwrap_or(r))
                } else {
                    Source::Reference(r)
                }
            })),
            other => flat.push(other.clone()),
        }
    }
    let mut out = Enumerated::default();
    let mut refs = BTreeSet::new();
    let mut repos: BTreeSet<ImageRef> = BTreeSet::new();
    let excluded = |r: &ImageRef| {
        exclude
            .iter()
            .any(|e| e == &format!("{}/{}", r.registry(), r.repository()))
    };
    for s in flat {
        match s {
            Source::Registry(_) | Source::Prefix { .. } => {
                let (reg, prefix) = match &s {
                    Source::Prefix { registry, prefix } => (registry.clone(), prefix.as_str()),
                    Source::Registry(registry) => (registry.clone(), ""),
                    _ => continue,
                };
                match scanner.catalog(&reg, limits) {
                    Ok(names) => {
                        for name in names.iter().filter(|n| n.starts_with(prefix)) {
                            if let Ok(r) = format!("{reg}/{name}").parse::<ImageRef>() {
                                repos.insert(r);
                            }
                        }
                    }
                    Err(e) => out.unlisted.push((reg.clone(), e)),
                }
            }
            Source::Repository(r) => {
                repos.insert(r);
            }
            Source::Reference(r) => {
                refs.insert(r);
            }
            Source::File(_) | Source::Lockfiles => {}
        }
    }
    for repo in repos {
        if excluded(&repo) {
            continue;
        }
        match scanner.tags(&repo, limits) {
            Ok(tags) => {
                for tag in tags {
                    if is_artifact_tag(&tag) {
                        out.skipped_tags += 1;
                        continue;
                    }
                    if let Some(r) = with_tag(&repo, &tag) {
                        refs.insert(r);
                    }
                }
            }
            Err(e) => out
                .unlisted
                .push((format!("{}/{}", repo.registry(), repo.repository()), e)),
        }
    }
    out.references = refs.into_iter().filter(|r| !excluded(r)).collect();
    Ok(out)
}

fn with_tag(repo: &ImageRef, tag: &str) -> Option<ImageRef> {
    format!("{}/{}:{tag}", repo.registry(), repo.repository())
        .parse()
        .ok()
}

fn read_reference_file(path: &Path) -> Result<Vec<Source>, EnumerateError> {
    let io = |source| EnumerateError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_REFERENCE_FILE_BYTES {
        return Err(EnumerateError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let source: Source = line.parse().map_err(|source| EnumerateError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            source,
        })?;
        if matches!(source, Source::File(_) | Source::Lockfiles) {
            return Err(EnumerateError::Nested {
                path: path.to_path_buf(),
                line: i + 1,
            });
        }
        out.push(source);
    }
    Ok(out)
}

#[derive(Deserialize)]
struct PeekWire {
    #[serde(default, rename = "artifactType")]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<PeekDescriptor>,
    #[serde(default)]
    manifests: Option<Vec<PeekDescriptor>>,
    #[serde(default)]
    layers: Option<Vec<PeekDescriptor>>,
}

#[derive(Deserialize)]
struct PeekDescriptor {
    #[serde(default, rename = "mediaType")]
    media_type: Option<String>,
    #[serde(default, rename = "artifactType")]
    artifact_type: Option<String>,
    #[serde(default)]
    digest: Option<String>,
}

/// The layer digests of a single-platform image manifest (an image config and a layer list
/// whose digests all parse), `None` for anything else (an index, an artifact, a document
/// that does not parse): enough to shard by the manifest's digest and to plan the layers
/// without reading the config, which only the worker that scans the image needs.
pub fn image_layers(bytes: &[u8]) -> Option<Vec<Digest>> {
    let w = serde_json::from_slice::<PeekWire>(bytes).ok()?;
    let config = w.config?;
    let m = config.media_type.as_deref().unwrap_or("");
    if w.artifact_type.is_some() || (m != media_type::OCI_CONFIG && m != media_type::DOCKER_CONFIG)
    {
        return None;
    }
    w.layers?
        .iter()
        .map(|l| l.digest.as_deref()?.parse::<Digest>().ok())
        .collect()
}

/// Whether a manifest or index is an artifact rather than an image: it declares an
/// `artifactType`, its config is not an image config (an attestation, an SBOM, a signature,
/// envaudit's own cache entries), or it is an index of artifacts only (the referrers
/// fallback index). A document that does not parse is not called an artifact: resolving it
/// says what is wrong.
pub fn is_not_image(bytes: &[u8]) -> bool {
    let Ok(w) = serde_json::from_slice::<PeekWire>(bytes) else {
        return false;
    };
    if w.artifact_type.is_some() {
        return true;
    }
    if let Some(c) = &w.config {
        let m = c.media_type.as_deref().unwrap_or("");
        return m != media_type::OCI_CONFIG && m != media_type::DOCKER_CONFIG;
    }
    if let Some(entries) = &w.manifests {
        return !entries.is_empty() && entries.iter().all(|e| e.artifact_type.is_some());
    }
    false
}

/// One image to scan: a platform manifest and the references that led to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedImage {
    /// The platform manifest's digest.
    pub manifest: Digest,
    /// The registry host.
    pub registry: String,
    /// The references (`REG/REPO:TAG`), sorted.
    pub references: Vec<String>,
    /// The index the first reference went through, if any.
    pub index: Option<Digest>,
    /// What to scan: the first reference's repository at the manifest digest.
    pub source: ImageSource,
    /// The layer blob digests, base first.
    pub layers: Vec<Digest>,
}

impl PlannedImage {
    /// The image `manifest` that `reference` led to (through `index`), with no references
    /// yet; it is scanned from the reference's repository at the manifest digest.
    fn new(
        reference: &ImageRef,
        manifest: &Digest,
        index: Option<Digest>,
        layers: Vec<Digest>,
    ) -> Self {
        PlannedImage {
            manifest: manifest.clone(),
            registry: reference.registry().to_owned(),
            references: Vec::new(),
            index,
            source: ImageSource::Registry(
                format!(
                    "{}/{}@{manifest}",
                    reference.registry(),
                    reference.repository()
                )
                .parse()
                .unwrap_or_else(|_| reference.clone()),
            ),
            layers,
        }
    }
}

/// What one worker has to do.
#[derive(Debug, Default)]
pub struct Plan {
    /// The images of this shard not yet in the results, by manifest digest.
    pub images: Vec<PlannedImage>,
    /// The unreadable references and repositories of this shard not yet in the results.
    pub unreadable: Vec<UnreadableRecord>,
    /// New or moved references at images the results already hold.
    pub seen: Vec<SeenRecord>,
    /// References that are artifacts, not images (skipped).
    pub artifacts: Vec<String>,
    /// Images of this shard the results already hold (skipped).
    pub already_done: usize,
    /// Images and unreadable references that belong to other shards.
    pub other_shards: usize,
}

/// What the results files (or the inventory) already hold: the manifests scanned, where each
/// reference pointed last, and the references recorded unreadable.
#[derive(Clone, Debug, Default)]
pub struct Done {
    /// Platform manifest digests with an image record that is not partial.
    pub manifests: HashSet<Digest>,
    /// Each reference's newest pointer: (when it was seen, the manifest).
    pub pointers: HashMap<String, (String, Digest)>,
    /// References (or repositories) with an unreadable record.
    pub unreadable: HashSet<String>,
}

impl Done {
    /// What `records` hold.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a ScanRecord>) -> Self {
        let mut d = Done::default();
        d.extend(records);
        d
    }

    /// Adds what `records` hold.
    pub fn extend<'a>(&mut self, records: impl IntoIterator<Item = &'a ScanRecord>) {
        for r in records {
            match r {
                ScanRecord::Image(i) => {
                    // An image read incompletely (a corrupt or truncated layer, a limit) is
                    // read again by the next run: the fault may have passed.
                    if !matches!(i.snapshot.completeness, Completeness::Partial(_)) {
                        self.manifests.insert(i.manifest.clone());
                    }
                    self.point(&i.references, &i.manifest, &i.scanned_at);
                }
                ScanRecord::Seen(s) => self.point(&s.references, &s.manifest, &s.scanned_at),
                ScanRecord::Unreadable(u) => {
                    self.unreadable.insert(u.reference.clone());
                }
            }
        }
    }

    /// Records that `references` pointed at `manifest` at `at`, keeping the newest pointer.
    pub fn point(&mut self, references: &[String], manifest: &Digest, at: &str) {
        for r in references {
            let newer = self
                .pointers
                .get(r)
                .is_none_or(|(old_at, old)| (at, manifest) > (old_at.as_str(), old));
            if newer {
                self.pointers
                    .insert(r.clone(), (at.to_owned(), manifest.clone()));
            }
        }
    }

    /// Whether `reference`'s newest pointer is `manifest`.
    #[must_use]
    pub fn points_at(&self, reference: &str, manifest: &Digest) -> bool {
        self.pointers
            .get(reference)
            .is_some_and(|(_, m)| m == manifest)
    }
}

/// Why an error makes a reference unreadable.
pub fn reason_of_registry(e: &RegistryError) -> UnreadableReason {
    match e {
        RegistryError::Unauthorized { .. }
        | RegistryError::Forbidden { .. }
        | RegistryError::Token { .. } => UnreadableReason::Denied,
        RegistryError::ManifestNotFound { .. }
        | RegistryError::BlobNotFound { .. }
        | RegistryError::RepositoryNotFound { .. } => UnreadableReason::Missing,
        RegistryError::Integrity(_) => UnreadableReason::Corrupt,
        _ => UnreadableReason::Error,
    }
}

/// Why an image error makes a reference unreadable.
pub fn reason_of_image(e: &ImageError) -> UnreadableReason {
    match e {
        ImageError::Registry(r) => reason_of_registry(r),
        ImageError::Integrity(_)
        | ImageError::BadDocument { .. }
        | ImageError::UnsupportedMediaType { .. }
        | ImageError::Schema1 { .. }
        | ImageError::LayerCountMismatch { .. }
        | ImageError::SizeMismatch { .. } => UnreadableReason::Corrupt,
        _ => UnreadableReason::Error,
    }
}

/// The error and its causes, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// An unreadable record.
pub fn unreadable(
    reference: &str,
    reason: UnreadableReason,
    error: &dyn std::error::Error,
    scanned_at: &str,
    worker: Option<&Shard>,
) -> UnreadableRecord {
    UnreadableRecord {
        schema_version: SCHEMA_VERSION,
        reference: reference.to_owned(),
        reason,
        message: chain(error),
        scanned_at: scanned_at.to_owned(),
        worker: worker.map(ToString::to_string),
    }
}

/// Reads each reference's manifest, skips artifacts, resolves the images, groups them by
/// platform manifest and keeps this shard's work that `done` does not hold (all of it with
/// `shard` `None`, and `done` empty for `--rescan`).
pub fn plan(
    scanner: &Scanner,
    enumerated: &Enumerated,
    shard: Option<&Shard>,
    done: &Done,
    scanned_at: &str,
) -> Plan {
    let mut plan = Plan::default();
    let keep_unreadable = |plan: &mut Plan, reference: String, record: UnreadableRecord| {
        if shard.is_some_and(|s| !s.owns_reference(&reference)) {
            plan.other_shards += 1;
        } else if !done.unreadable.contains(&reference) {
            plan.unreadable.push(record);
        }
    };
    for (what, e) in &enumerated.unlisted {
        let r = unreadable(what, reason_of_registry(e), e, scanned_at, shard);
        keep_unreadable(&mut plan, what.clone(), r);
    }
    let mut images = Vec::new();
    let mut groups: BTreeMap<Digest, PlannedImage> = BTreeMap::new();
    let peeked = scanner.manifests(&enumerated.references);
    for (r, m) in enumerated.references.iter().zip(peeked) {
        match m {
            Ok(m) if is_not_image(&m.bytes) => plan.artifacts.push(r.to_string()),
            // A single-platform image: its digest and layers are in hand, and its config
            // is read only by the worker that scans it.
            Ok(m) if let Some(layers) = image_layers(&m.bytes) => {
                groups
                    .entry(m.digest.clone())
                    .or_insert_with(|| PlannedImage::new(r, &m.digest, None, layers))
                    .references
                    .push(r.to_string());
            }
            // An index (the platform's manifest is picked by resolving), or a document
            // resolving reads again (from the cache) and says what is wrong with.
            Ok(_) | Err(_) => images.push(ImageSource::Registry(r.clone())),
        }
    }
    let resolved = scanner.resolve_all(&images);
    for (source, result) in images.iter().zip(resolved) {
        let text = source.to_string();
        let image = match result {
            Ok(i) => i,
            Err(e) => {
                let rec = unreadable(&text, reason_of_image(&e), &e, scanned_at, shard);
                keep_unreadable(&mut plan, text, rec);
                continue;
            }
        };
        let (Some(manifest), Some(r)) = (image.manifest.as_ref(), source.image_ref()) else {
            continue;
        };
        groups
            .entry(manifest.digest.clone())
            .or_insert_with(|| {
                PlannedImage::new(
                    r,
                    &manifest.digest,
                    image.index.as_ref().map(|i| i.digest.clone()),
                    image.layers.iter().map(|l| l.digest.clone()).collect(),
                )
            })
            .references
            .push(text);
    }
    for (digest, mut image) in groups {
        if shard.is_some_and(|s| !s.owns(&digest)) {
            plan.other_shards += 1;
            continue;
        }
        if done.manifests.contains(&digest) {
            plan.already_done += 1;
            // A new or moved tag at a known image: record where it points, read nothing.
            let mut fresh: Vec<String> = image
                .references
                .into_iter()
                .filter(|r| !done.points_at(r, &digest))
                .collect();
            if !fresh.is_empty() {
                fresh.sort();
                fresh.dedup();
                plan.seen.push(SeenRecord {
                    schema_version: SCHEMA_VERSION,
                    manifest: digest,
                    references: fresh,
                    index: image.index,
                    scanned_at: scanned_at.to_owned(),
                    worker: shard.map(ToString::to_string),
                });
            }
            continue;
        }
        image.references.sort();
        image.references.dedup();
        plan.images.push(image);
    }
    plan
}

/// How [`scan_images`] scans.
#[derive(Clone, Copy, Debug)]
pub struct ScanSettings<'a> {
    /// The registry's layer-facts cache, if any.
    pub facts: Option<&'a FactsCache>,
    /// Images scanned at the same time (threads).
    pub jobs: usize,
    /// The lockfile's folder (snapshots name their definition relative to it).
    pub lockfile_dir: &'a Path,
    /// This worker's shard, recorded in each record.
    pub shard: Option<&'a Shard>,
}

/// What [`scan_images`] calls with each image scanned: its index in the plan, the image,
/// its records and findings.
pub type ImageDone<'a, E> =
    dyn Fn(usize, &PlannedImage, Vec<ScanRecord>, Vec<Finding>) -> Result<(), E> + Sync + 'a;

/// Scans `images` on `settings.jobs` threads, each through [`scan_image_shared`], handing each
/// image's records and findings to `done` (called on the scanning thread, one image at a
/// time per thread; serialise in `done` what must be). Images that need a layer the local
/// cache does not hold wait while another thread reads that layer, so a worker still reads
/// each layer at most once; with no local cache there is nothing to share and nothing
/// waits. The first error `done` returns stops the threads from taking more images and
/// is returned.
///
/// # Errors
///
/// The first error of `done`.
pub fn scan_images<E: Send>(
    scanner: &Scanner,
    images: &[PlannedImage],
    settings: &ScanSettings<'_>,
    scanned_at: &(dyn Fn() -> String + Sync),
    done: &ImageDone<'_, E>,
) -> Result<(), E> {
    struct State<E> {
        /// Indexes of the images not yet taken, in order.
        queue: std::collections::VecDeque<usize>,
        /// Layers being read by some thread (not in the local cache when taken).
        reading: HashSet<Digest>,
        error: Option<E>,
    }
    let state = std::sync::Mutex::new(State {
        queue: (0..images.len()).collect(),
        reading: HashSet::new(),
        error: None,
    });
    let changed = std::sync::Condvar::new();
    let uncached = |image: &PlannedImage| -> Vec<Digest> {
        match scanner.layer_cache() {
            Some((local, limits)) => image
                .layers
                .iter()
                .filter(|l| !local.contains(l, limits))
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    };
    let worker = || {
        loop {
            let (index, claimed) = {
                let mut st = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                loop {
                    if st.error.is_some() || st.queue.is_empty() {
                        return;
                    }
                    // The first image none of whose uncached layers another thread reads.
                    let free = st.queue.iter().enumerate().find_map(|(pos, &i)| {
                        let layers = uncached(&images[i]);
                        layers
                            .iter()
                            .all(|l| !st.reading.contains(l))
                            .then_some((pos, i, layers))
                    });
                    if let Some((pos, index, claimed)) = free {
                        st.queue.remove(pos);
                        st.reading.extend(claimed.iter().cloned());
                        break (index, claimed);
                    }
                    st = changed
                        .wait(st)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            };
            let image = &images[index];
            let (records, findings) = scan_image_shared(
                scanner,
                settings.facts,
                image,
                settings.lockfile_dir,
                &scanned_at(),
                settings.shard,
            );
            {
                let mut st = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for l in &claimed {
                    st.reading.remove(l);
                }
            }
            changed.notify_all();
            if let Err(e) = done(index, image, records, findings) {
                let mut st = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                st.error.get_or_insert(e);
                drop(st);
                changed.notify_all();
                return;
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..settings.jobs.clamp(1, images.len().max(1)) {
            scope.spawn(worker);
        }
        worker();
    });
    match state
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .error
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// [`scan_image`] through the registry's layer-facts cache, when there is one: each layer's
/// facts are looked up (after the local cache) before the image is read, and the facts of
/// the layers the cache lacked, or held unusable, are published after a successful scan.
/// Unusable entries and failed publications are `layer-cache` warnings among the findings.
pub fn scan_image_shared(
    scanner: &Scanner,
    facts: Option<&FactsCache>,
    image: &PlannedImage,
    lockfile_dir: &Path,
    scanned_at: &str,
    shard: Option<&Shard>,
) -> (Vec<ScanRecord>, Vec<Finding>) {
    let mut findings = Vec::new();
    let shared = facts.zip(scanner.layer_cache());
    let mut publish = Vec::new();
    if let Some((facts, (local, limits))) = shared {
        for layer in &image.layers {
            match facts.lookup(scanner, local, limits, layer) {
                Lookup::Local | Lookup::Hit => {}
                Lookup::Miss => publish.push(layer),
                Lookup::Unusable(reason) => {
                    findings.push(Finding::new(
                        Code::LayerCache,
                        format!(
                            "layer-facts cache `{}`: {reason}; the layer is read and its facts replaced",
                            facts.repository()
                        ),
                    ));
                    publish.push(layer);
                }
            }
        }
    }
    let (records, warnings) = scan_image(scanner, image, lockfile_dir, scanned_at, shard);
    if let Some((facts, (local, limits))) = shared
        && records.iter().any(|r| matches!(r, ScanRecord::Image(_)))
    {
        for layer in publish {
            if let Err(e) = facts.publish(scanner, local, limits, layer) {
                findings.push(Finding::new(
                    Code::LayerCache,
                    format!(
                        "cannot publish the facts of layer `{layer}` to `{}`: {e}",
                        facts.repository()
                    ),
                ));
            }
        }
    }
    findings.extend(warnings);
    (records, findings)
}

/// Scans one planned image: its [`ImageRecord`] (with the scan's warnings), or one
/// [`UnreadableRecord`] per reference when it cannot be read.
pub fn scan_image(
    scanner: &Scanner,
    image: &PlannedImage,
    lockfile_dir: &Path,
    scanned_at: &str,
    shard: Option<&Shard>,
) -> (Vec<ScanRecord>, Vec<crate::diag::Finding>) {
    match scanner.scan(&image.source, None) {
        Ok(scanned) => {
            let reference = image
                .references
                .first()
                .cloned()
                .unwrap_or_else(|| image.source.to_string());
            let snapshot = scanned.snapshot(None, lockfile_dir, &reference);
            let record = ImageRecord {
                schema_version: SCHEMA_VERSION,
                manifest: image.manifest.clone(),
                registry: image.registry.clone(),
                references: image.references.clone(),
                index: image.index.clone(),
                scanned_at: scanned_at.to_owned(),
                worker: shard.map(ToString::to_string),
                snapshot,
            };
            (vec![ScanRecord::Image(Box::new(record))], scanned.warnings)
        }
        Err(e) => {
            let reason = match &e {
                ScanError::Image(i) => reason_of_image(i),
                ScanError::Registry(r) => reason_of_registry(r),
                _ => UnreadableReason::Error,
            };
            let records = image
                .references
                .iter()
                .map(|r| ScanRecord::Unreadable(unreadable(r, reason, &e, scanned_at, shard)))
                .collect();
            (records, Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_keeps_each_references_newest_pointer_from_images_and_seen_records() {
        let (a, b) = (Digest::sha256_of(b"a"), Digest::sha256_of(b"b"));
        let image = |m: &Digest, refs: &[&str], at: &str| {
            let snapshot = serde_json::from_value(serde_json::json!({
                "snapshot": "0000000000000000", "definition": "", "definition-kind": "none",
                "definition-hash": Digest::sha256_of(b"").to_string(),
                "completeness": "complete",
            }))
            .unwrap();
            ScanRecord::Image(Box::new(ImageRecord {
                schema_version: SCHEMA_VERSION,
                manifest: m.clone(),
                registry: "r".into(),
                references: refs.iter().map(|r| (*r).to_owned()).collect(),
                index: None,
                scanned_at: at.into(),
                worker: None,
                snapshot,
            }))
        };
        let seen = |m: &Digest, refs: &[&str], at: &str| {
            ScanRecord::Seen(SeenRecord {
                schema_version: SCHEMA_VERSION,
                manifest: m.clone(),
                references: refs.iter().map(|r| (*r).to_owned()).collect(),
                index: None,
                scanned_at: at.into(),
                worker: None,
            })
        };
        // Out of order: the newest observation wins, whatever the file order.
        let records = [
            seen(&a, &["r/x:1"], "2026-12-03T00:00:00Z"),
            image(&a, &["r/x:1", "r/x:2"], "2026-12-01T00:00:00Z"),
            image(&b, &["r/x:1"], "2026-12-02T00:00:00Z"),
        ];
        let d = Done::from_records(&records);
        assert!(d.points_at("r/x:1", &a), "moved back to a on the 3rd");
        assert!(d.points_at("r/x:2", &a));
        assert!(!d.points_at("r/x:3", &a));
        // A seen record makes no manifest scanned.
        assert_eq!(d.manifests, HashSet::from([a.clone(), b.clone()]));
        let only_seen = Done::from_records(&records[..1]);
        assert!(only_seen.manifests.is_empty());
        // The line round-trips as `kind: seen`.
        let line = serde_json::to_string(&records[0]).unwrap();
        assert!(line.starts_with(r#"{"kind":"seen","#), "{line}");
        assert_eq!(
            serde_json::from_str::<ScanRecord>(&line).unwrap(),
            records[0]
        );
    }

    #[test]
    fn sources_are_told_apart() {
        let p = |s: &str| s.parse::<Source>();
        assert_eq!(p("@").unwrap(), Source::Lockfiles);
        assert_eq!(p("@refs.txt").unwrap(), Source::File("refs.txt".into()));
        assert_eq!(
            p("127.0.0.1:5000").unwrap(),
            Source::Registry("127.0.0.1:5000".into())
        );
        assert_eq!(
            p("myacr.azurecr.io/*").unwrap(),
            Source::Registry("myacr.azurecr.io".into())
        );
        assert_eq!(
            p("myacr.azurecr.io/azureml/*").unwrap(),
            Source::Prefix {
                registry: "myacr.azurecr.io".into(),
                prefix: "azureml/".into()
            }
        );
        assert!(matches!(
            p("myacr.azurecr.io/azureml/app").unwrap(),
            Source::Repository(_)
        ));
        assert!(matches!(
            p("myacr.azurecr.io/azureml/app:1").unwrap(),
            Source::Reference(_)
        ));
        assert!(p("python").is_err());
        assert!(p("").is_err());
        assert!(p("reg.io/a*/b/*").is_err());
        assert!(p("bad host/*").is_err());
    }

    #[test]
    fn shards_parse_and_check_bounds() {
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
        assert!("4/4".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        assert!("x/2".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
        let d = Digest::sha256_of(b"x");
        let owners = (0..3)
            .filter(|i| Shard::new(*i, 3).unwrap().owns(&d))
            .count();
        assert_eq!(owners, 1);
    }

    #[test]
    fn artifact_tags_and_documents_are_not_images() {
        let hex = "a".repeat(64);
        assert!(is_artifact_tag(&format!("sha256-{hex}")));
        assert!(is_artifact_tag(&format!("sha256-{hex}.sig")));
        assert!(is_artifact_tag("facts-v1-0123"));
        assert!(is_artifact_tag("facts-v6-0123"));
        assert!(!is_artifact_tag("facts-vx-0123"));
        assert!(!is_artifact_tag("sha256-abc"));
        assert!(!is_artifact_tag(&format!("sha256-{hex}.other")));
        assert!(!is_artifact_tag("latest"));
        let img = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[]}"#;
        assert!(!is_not_image(img));
        let art = br#"{"schemaVersion":2,"artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json"},"layers":[]}"#;
        assert!(is_not_image(art));
        let cfg = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json"},"layers":[]}"#;
        assert!(is_not_image(cfg));
        let idx = br#"{"schemaVersion":2,"manifests":[{"mediaType":"m","artifactType":"a"}]}"#;
        assert!(is_not_image(idx));
        let images = br#"{"schemaVersion":2,"manifests":[{"mediaType":"m"}]}"#;
        assert!(!is_not_image(images));
        assert!(!is_not_image(b"not json"));
    }
}
