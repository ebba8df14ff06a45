//! A [`Registry`] decorator that remembers what it has fetched, for the life of one process.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{BlobReader, Manifest, ManifestRef, Registry, RegistryError};
use crate::model::{Digest, ImageRef};

/// Remembers manifests (by digest, and the digest a tag resolved to) and small blobs read
/// with [`Registry::blob_bytes`]. Content-addressed entries are immutable, so the only entry
/// that can go stale is a tag, and this cache lives as long as one command.
/// Blob streams are passed through: layers are never held in memory.
pub struct CachingRegistry<R> {
    inner: R,
    manifests: Mutex<HashMap<(String, Digest), Manifest>>,
    tags: Mutex<HashMap<(String, String), Digest>>,
    blobs: Mutex<HashMap<(String, Digest), bytes::Bytes>>,
}

impl<R: Registry> CachingRegistry<R> {
    /// An empty cache in front of `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            manifests: Mutex::default(),
            tags: Mutex::default(),
            blobs: Mutex::default(),
        }
    }

    /// The registry behind the cache: for what the [`Registry`] trait does not cover (such
    /// as pushing), or to bypass the cache.
    pub fn inner(&self) -> &R {
        &self.inner
    }
}

fn repo_key(repo: &ImageRef) -> String {
    format!("{}/{}", repo.registry(), repo.repository())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<R: Registry> Registry for CachingRegistry<R> {
    async fn manifest(
        &self,
        repo: &ImageRef,
        reference: ManifestRef<'_>,
    ) -> Result<Manifest, RegistryError> {
        let key = repo_key(repo);
        let digest = match reference {
            ManifestRef::Digest(d) => Some(d.clone()),
            ManifestRef::Tag(t) => lock(&self.tags).get(&(key.clone(), t.to_owned())).cloned(),
        };
        if let Some(d) = digest
            && let Some(m) = lock(&self.manifests).get(&(key.clone(), d)).cloned()
        {
            return Ok(m);
        }
        let m = self.inner.manifest(repo, reference).await?;
        if let ManifestRef::Tag(t) = reference {
            lock(&self.tags).insert((key.clone(), t.to_owned()), m.digest.clone());
        }
        lock(&self.manifests).insert((key, m.digest.clone()), m.clone());
        Ok(m)
    }

    async fn blob(
        &self,
        repo: &ImageRef,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<BlobReader, RegistryError> {
        self.inner.blob(repo, digest, size).await
    }

    async fn blob_bytes(
        &self,
        repo: &ImageRef,
        digest: &Digest,
        size: Option<u64>,
        limit: u64,
    ) -> Result<bytes::Bytes, RegistryError> {
        let key = (repo_key(repo), digest.clone());
        if let Some(b) = lock(&self.blobs).get(&key).cloned() {
            return Ok(b);
        }
        let b = self.inner.blob_bytes(repo, digest, size, limit).await?;
        lock(&self.blobs).insert(key, b.clone());
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A registry of one manifest and one blob that counts requests.
    struct Counting {
        manifest: bytes::Bytes,
        blob: bytes::Bytes,
        calls: AtomicUsize,
    }

    impl Registry for Counting {
        async fn manifest(
            &self,
            _repo: &ImageRef,
            _reference: ManifestRef<'_>,
        ) -> Result<Manifest, RegistryError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(Manifest {
                digest: Digest::sha256_of(&self.manifest),
                content_type: None,
                bytes: self.manifest.clone(),
            })
        }

        async fn blob(
            &self,
            _repo: &ImageRef,
            digest: &Digest,
            size: Option<u64>,
        ) -> Result<BlobReader, RegistryError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(BlobReader::new(super::super::verify::VerifyingReader::new(
                std::io::Cursor::new(self.blob.to_vec()),
                "blob",
                digest.clone(),
                size,
            )))
        }
    }

    #[test]
    fn repeated_lookups_reach_the_inner_registry_once() {
        let inner = Counting {
            manifest: bytes::Bytes::from_static(b"{}"),
            blob: bytes::Bytes::from_static(b"config"),
            calls: AtomicUsize::new(0),
        };
        let cache = CachingRegistry::new(inner);
        let repo: ImageRef = "127.0.0.1:1/x:1".parse().unwrap();
        let blob = Digest::sha256_of(b"config");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let a = cache.manifest(&repo, ManifestRef::Tag("1")).await.unwrap();
            let b = cache.manifest(&repo, ManifestRef::Tag("1")).await.unwrap();
            let c = cache
                .manifest(&repo, ManifestRef::Digest(&a.digest))
                .await
                .unwrap();
            assert_eq!((a.digest.clone(), b.digest), (c.digest, a.digest));
            for _ in 0..3 {
                let bytes = cache.blob_bytes(&repo, &blob, Some(6), 100).await.unwrap();
                assert_eq!(&bytes[..], b"config");
            }
        });
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 2);
    }
}
