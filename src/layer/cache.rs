//! An on-disk cache of [`LayerFacts`], keyed by the layer's blob digest.
//!
//! A second image that shares its base layers with one scanned before only reads its new
//! layers: the facts of the shared ones come from here, and the image's view is merged from
//! them as usual (the cache holds path-level facts, never package lists, so an upper layer
//! that upgrades a package is still seen).
//!
//! Rules:
//! - The key is the blob digest the layer stream was verified against, the
//!   [`FACTS_VERSION`](super::FACTS_VERSION) and a fingerprint of the [`Limits`] of the walk;
//!   a change to any of them misses.
//! - Only complete walks are stored: a walk stopped by a limit, a truncated stream or a
//!   digest mismatch is read again next time.
//! - An entry of a walk that hashed the uncompressed stream keeps that digest
//!   ([`LayerFacts::diff_id`]): a property of the blob it is keyed by, since decompression
//!   is deterministic. A cached scan compares it with the config's `diff_id` without reading
//!   the blob; it is as trustworthy as the cache folder (see `catalog::DiffIdCheck`).
//! - Entries are zstd-compressed JSON, written to a temporary file in the same folder and
//!   renamed into place, so a reader never sees half an entry and concurrent scans may share
//!   the folder. An entry that cannot be read or decoded is a miss, never an error.
//! - The cache may be deleted at any time.

use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{FACTS_VERSION, LayerFacts, Limits};
use crate::model::Digest;

/// The largest decoded entry read back (entries are a layer's metadata files, well below).
const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// A folder of cached layer facts.
#[derive(Clone, Debug)]
pub struct LayerCache {
    root: PathBuf,
}

impl LayerCache {
    /// A cache in `root` (created when the first entry is written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LayerCache { root: root.into() }
    }

    /// The user's cache folder: `$ENVAUDIT_CACHE_DIR`, else `$XDG_CACHE_HOME/envaudit`, else
    /// the platform's (`~/.cache/envaudit`, `~/Library/Caches/envaudit`,
    /// `%LOCALAPPDATA%\envaudit`). `None` when no home folder is known.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(dir) = var("ENVAUDIT_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        if let Some(dir) = var("XDG_CACHE_HOME") {
            return Some(PathBuf::from(dir).join("envaudit"));
        }
        if cfg!(windows) {
            return var("LOCALAPPDATA").map(|d| PathBuf::from(d).join("envaudit"));
        }
        let home = PathBuf::from(var("HOME")?);
        Some(if cfg!(target_os = "macos") {
            home.join("Library/Caches/envaudit")
        } else {
            home.join(".cache/envaudit")
        })
    }

    /// A short, stable fingerprint of `limits`: entries made under other limits are other
    /// entries (a shared cache keys on it too).
    pub fn limits_fingerprint(limits: &Limits) -> String {
        limits_fingerprint(limits)
    }

    /// The cache folder; entries live under `layers-vN/` inside it.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn entry_path(&self, digest: &Digest, limits: &Limits) -> PathBuf {
        self.root
            .join(format!("layers-v{FACTS_VERSION}"))
            .join(limits_fingerprint(limits))
            .join(digest.algorithm().name())
            .join(format!("{}.json.zst", digest.hex()))
    }

    /// Whether an entry is stored for a layer (without reading it: [`LayerCache::get`] may
    /// still find it unusable).
    #[must_use]
    pub fn contains(&self, digest: &Digest, limits: &Limits) -> bool {
        self.entry_path(digest, limits).is_file()
    }

    /// The facts stored for a layer, if any.
    pub fn get(&self, digest: &Digest, limits: &Limits) -> Option<LayerFacts> {
        let file = std::fs::File::open(self.entry_path(digest, limits)).ok()?;
        let mut decoded = Vec::new();
        zstd::stream::read::Decoder::new(file)
            .ok()?
            .take(MAX_ENTRY_BYTES)
            .read_to_end(&mut decoded)
            .ok()?;
        let mut facts: LayerFacts = serde_json::from_slice(&decoded).ok()?;
        // The entry's own digest is not trusted over the key it was found under.
        facts.digest = Some(digest.clone());
        Some(facts)
    }

    /// Stores the facts of a layer whose stream was verified against `digest`. Partial
    /// facts are not stored. Returns whether an entry was written.
    pub fn put(&self, digest: &Digest, limits: &Limits, facts: &LayerFacts) -> io::Result<bool> {
        if facts.partial.is_some() {
            return Ok(false);
        }
        let path = self.entry_path(digest, limits);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_vec(facts).map_err(io::Error::other)?;
        let compressed = zstd::bulk::compress(&json, 3)?;
        let tmp = dir.join(temp_name(digest));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&compressed)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map(|()| true)
    }
}

/// A name no other writer (process or thread) uses at the same time.
fn temp_name(digest: &Digest) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        ".{}.{}.{}.tmp",
        digest.hex(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A short, stable fingerprint of the limits a walk ran with.
fn limits_fingerprint(limits: &Limits) -> String {
    let json = serde_json::to_vec(limits).unwrap_or_default();
    let digest = Digest::sha256_of(&json);
    digest.hex()[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Entry, EntryKind};

    fn facts() -> LayerFacts {
        LayerFacts {
            digest: None,
            entries: vec![Entry {
                path: "/usr/lib/python3/dist-packages/a-1.dist-info/METADATA".into(),
                kind: EntryKind::File {
                    size: 5,
                    content: Some(b"Name:\xff".to_vec()),
                    truncated: false,
                },
            }],
            findings: Vec::new(),
            partial: None,
            entry_count: 1,
            bytes_read: 1024,
            diff_id: None,
        }
    }

    #[test]
    fn round_trips_and_keys_on_digest_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::new(dir.path());
        let d = Digest::sha256_of(b"layer");
        let limits = Limits::default();
        assert_eq!(cache.get(&d, &limits), None);
        assert!(cache.put(&d, &limits, &facts()).unwrap());
        let got = cache.get(&d, &limits).unwrap();
        assert_eq!(got.entries, facts().entries);
        assert_eq!(got.digest, Some(d.clone()));
        assert_eq!(got.diff_id, None);
        // The digest of the uncompressed stream, when the walk hashed it, is kept.
        let hashed = LayerFacts {
            diff_id: Some(Digest::sha256_of(b"tar")),
            ..facts()
        };
        assert!(cache.put(&d, &limits, &hashed).unwrap());
        assert_eq!(
            cache.get(&d, &limits).unwrap().diff_id,
            Some(Digest::sha256_of(b"tar"))
        );
        let other = Limits {
            max_entries: 5,
            ..Limits::default()
        };
        assert_eq!(cache.get(&d, &other), None);
        assert_eq!(cache.get(&Digest::sha256_of(b"other"), &limits), None);
    }

    #[test]
    fn partial_facts_are_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::new(dir.path());
        let d = Digest::sha256_of(b"layer");
        let mut f = facts();
        f.partial = Some("layer size limit".into());
        assert!(!cache.put(&d, &Limits::default(), &f).unwrap());
        assert_eq!(cache.get(&d, &Limits::default()), None);
    }

    #[test]
    fn a_damaged_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::new(dir.path());
        let d = Digest::sha256_of(b"layer");
        let limits = Limits::default();
        cache.put(&d, &limits, &facts()).unwrap();
        let path = cache.entry_path(&d, &limits);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(cache.get(&d, &limits), None);
        std::fs::write(&path, zstd::bulk::compress(b"{\"entries\": 7}", 1).unwrap()).unwrap();
        assert_eq!(cache.get(&d, &limits), None);
    }
}
