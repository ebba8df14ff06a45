//! The on-disk HTTP cache of the index client.
//!
//! Two kinds of entry, each one file:
//!
//! - **validated** (`pages/KEY`): a response stored with its `ETag`, `Last-Modified`,
//!   `Content-Type` and `Cache-Control: max-age`, keyed by the SHA-256 of the URL (without
//!   credentials) and the `Accept` sent. It is served as is while `max-age` says it is
//!   fresh, else revalidated with `If-None-Match` / `If-Modified-Since`; a `304` serves
//!   the stored body.
//! - **immutable** (`immutable/SHA256`): content whose SHA-256 the index stated (a PEP 658
//!   `.metadata` file, the `METADATA` of a wheel with a known hash), kept forever.
//!
//! A file is `envaudit-http-cache 1\n`, one line of JSON (the entry's facts, with the
//! body's SHA-256), then the body. Every read checks the body against its digest; an entry
//! that does not verify, or cannot be read, is a miss. Writes go to a temporary file in the
//! same folder and are renamed into place, so readers never see half an entry. They are not
//! synced to disk: an entry a crash leaves torn fails its digest and is a miss, so a sync
//! (one per page and per metadata file, hundreds per prediction) would buy nothing. The cache
//! can be deleted at any time.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

const MAGIC: &[u8] = b"envaudit-http-cache 1\n";

/// What is stored beside a body.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct EntryMeta {
    /// The URL, without credentials (for people looking at the cache).
    pub url: String,
    /// `ETag`, as received.
    #[serde(default)]
    pub etag: Option<String>,
    /// `Last-Modified`, as received.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// `Content-Type`, as received.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The HTTP status: 200, or 404 for a remembered absence.
    #[serde(default = "ok_status")]
    pub status: u16,
    /// `Cache-Control: max-age`, in seconds.
    #[serde(default)]
    pub max_age: Option<u64>,
    /// When the response was stored or last revalidated, in seconds since the epoch.
    pub stored_at: u64,
    /// The body's SHA-256, hex.
    pub sha256: String,
}

fn ok_status() -> u16 {
    200
}

impl EntryMeta {
    /// Whether `max-age` says the entry may be used without asking.
    pub fn is_fresh(&self) -> bool {
        self.max_age
            .is_some_and(|age| now().saturating_sub(self.stored_at) < age)
    }
}

/// A cached response.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub meta: EntryMeta,
    pub body: Vec<u8>,
}

/// The cache folder.
#[derive(Clone, Debug)]
pub(crate) struct HttpCache {
    root: PathBuf,
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    crate::model::to_hex(&Sha256::digest(bytes))
}

impl HttpCache {
    /// The cache under `root` (created on the first write).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.join("pyindex-v1"),
        }
    }

    /// Where the response to `url` requested with `accept` is kept.
    pub fn validated_path(&self, url: &str, accept: &str) -> PathBuf {
        let key = sha256_hex(format!("{url}\n{accept}").as_bytes());
        self.root.join("pages").join(&key[..2]).join(key)
    }

    /// Where content of a known SHA-256 is kept.
    pub fn immutable_path(&self, sha256: &str) -> Option<PathBuf> {
        let ok = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| {
            let key = sha256.to_ascii_lowercase();
            self.root.join("immutable").join(&key[..2]).join(key)
        })
    }

    /// The entry at `path` if it is there, whole, no larger than `max_body` and its body
    /// matches its digest.
    #[allow(
        clippy::unused_self,
        reason = "reads go through the cache that made the path, as writes do"
    )]
    pub fn read(&self, path: &Path, max_body: u64) -> Option<Entry> {
        use std::io::Read as _;
        let mut file = std::fs::File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        if len > max_body + 64 * 1024 {
            return None;
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).ok()? + 1);
        file.read_to_end(&mut bytes).ok()?;
        let rest = bytes.strip_prefix(MAGIC)?;
        let nl = rest.iter().position(|&b| b == b'\n')?;
        let meta: EntryMeta = serde_json::from_slice(&rest[..nl]).ok()?;
        // the body in place: the header's bytes move out of the way, nothing is copied anew
        bytes.drain(..=MAGIC.len() + nl);
        (sha256_hex(&bytes) == meta.sha256).then_some(Entry { meta, body: bytes })
    }

    /// Stores `body` with `meta` (its `sha256` is set here) at `path`, atomically.
    pub fn write(&self, path: &Path, mut meta: EntryMeta, body: &[u8]) -> std::io::Result<()> {
        meta.sha256 = sha256_hex(body);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        // one write: serde_json writes a token at a time
        let mut bytes = Vec::with_capacity(MAGIC.len() + 512 + body.len());
        bytes.extend_from_slice(MAGIC);
        serde_json::to_writer(&mut bytes, &meta)?;
        bytes.push(b'\n');
        bytes.extend_from_slice(body);
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&bytes)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// A folder for temporary downloads.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_and_a_tampered_one_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HttpCache::new(dir.path());
        let path = cache.validated_path("https://e.com/simple/a/", "text/html");
        let meta = EntryMeta {
            url: "https://e.com/simple/a/".into(),
            etag: Some("\"x\"".into()),
            stored_at: now(),
            ..EntryMeta::default()
        };
        cache.write(&path, meta, b"<a href=a-1.tar.gz>").unwrap();
        let e = cache.read(&path, 1 << 20).unwrap();
        assert_eq!(e.body, b"<a href=a-1.tar.gz>");
        assert_eq!(e.meta.etag.as_deref(), Some("\"x\""));
        assert!(!e.meta.is_fresh());
        let mut bytes = std::fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() = b'X';
        std::fs::write(&path, bytes).unwrap();
        assert!(cache.read(&path, 1 << 20).is_none());
        assert!(cache.immutable_path("../../etc").is_none());
    }
}
