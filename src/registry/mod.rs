//! Reading manifests and blobs from OCI distribution registries.
//!
//! [`Registry`] is the small interface the image code needs: a manifest by tag or digest,
//! and a blob as a verified stream. [`HttpRegistry`] implements it over HTTP (the token
//! handshake through the `oci-client` crate, the transport policy of [`TransportPolicy`]);
//! [`CachingRegistry`] wraps any registry and remembers manifests and small blobs.
//!
//! Enumerating ([`HttpRegistry::catalog`], [`HttpRegistry::tags`]) lists a registry's
//! repositories and a repository's tags, page by page within [`ListLimits`].
//!
//! Pushing ([`HttpRegistry::push_blob`], [`HttpRegistry::push_manifest`]) and OCI 1.1
//! referrers ([`referrers`]: attaching artifacts to a manifest and listing them, with the
//! tag-schema fallback) are inherent methods of [`HttpRegistry`]: they go past any cache.
//!
//! Everything returned is checked against its digest: a manifest before it is returned, a
//! blob while it streams ([`verify::VerifyingReader`]). `Docker-Content-Digest` is compared
//! with what was computed, never trusted alone.

mod auth;
mod cache;
mod descriptor;
mod error;
mod http;
mod listing;
mod push;
pub mod referrers;
pub(crate) mod tls;
pub(crate) mod transport;
pub mod verify;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt as _, ReadBuf};

use crate::model::{Digest, ImageRef};

pub use auth::{CredentialError, CredentialStore, Credentials};
pub use cache::CachingRegistry;
pub use descriptor::{Descriptor, EMPTY_JSON};
pub use error::RegistryError;
pub use http::{HttpRegistry, PushedManifest};
pub use listing::{ListLimits, fuzz_listing};
pub use referrers::{
    Artifact, ArtifactLayer, ArtifactManifest, Attached, FallbackIndex, FallbackUpdate, Referrers,
    ReferrersSource, Stored,
};
pub use transport::TransportPolicy;
pub use verify::{IntegrityError, VerifyingReader};

/// The manifest media types envaudit understands, in the order of preference sent in `Accept`.
pub const MANIFEST_MEDIA_TYPES: &[&str] = &[
    media_type::OCI_INDEX,
    media_type::OCI_MANIFEST,
    media_type::DOCKER_LIST,
    media_type::DOCKER_MANIFEST,
];

/// Media type names (OCI image spec and Docker image manifest v2 schema 2).
pub mod media_type {
    /// An OCI image index: one manifest per platform.
    pub const OCI_INDEX: &str = oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE;
    /// An OCI image manifest: one platform's config and layers.
    pub const OCI_MANIFEST: &str = oci_client::manifest::OCI_IMAGE_MEDIA_TYPE;
    /// A Docker manifest list, the Docker counterpart of [`OCI_INDEX`].
    pub const DOCKER_LIST: &str = oci_client::manifest::IMAGE_MANIFEST_LIST_MEDIA_TYPE;
    /// A Docker image manifest v2 schema 2, the Docker counterpart of [`OCI_MANIFEST`].
    pub const DOCKER_MANIFEST: &str = oci_client::manifest::IMAGE_MANIFEST_MEDIA_TYPE;
    /// The empty descriptor's content, `{}`: the config of an artifact that has none.
    pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
    /// An OCI image config.
    pub const OCI_CONFIG: &str = oci_client::manifest::IMAGE_CONFIG_MEDIA_TYPE;
    /// A Docker image config.
    pub const DOCKER_CONFIG: &str = oci_client::manifest::IMAGE_DOCKER_CONFIG_MEDIA_TYPE;
    /// An uncompressed Docker layer tar.
    pub const DOCKER_LAYER_TAR: &str = oci_client::manifest::IMAGE_DOCKER_LAYER_TAR_MEDIA_TYPE;
    /// The legacy Docker manifest schema 1, which envaudit refuses.
    pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
    /// The signed variant of the legacy Docker manifest schema 1, which envaudit refuses.
    pub const DOCKER_SCHEMA1_SIGNED: &str =
        "application/vnd.docker.distribution.manifest.v1+prettyjws";
}

/// The largest manifest envaudit reads (as containerd: 4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// Which manifest of a repository: a tag or a digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestRef<'a> {
    /// A tag, such as `latest`; the registry may move it.
    Tag(&'a str),
    /// A digest; the manifest returned must hash to it.
    Digest(&'a Digest),
}

impl std::fmt::Display for ManifestRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManifestRef::Tag(t) => f.write_str(t),
            ManifestRef::Digest(d) => write!(f, "{d}"),
        }
    }
}

/// A manifest as the registry sent it, its digest computed from the bytes.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The digest of `bytes` (checked against the requested digest and `Docker-Content-Digest`).
    pub digest: Digest,
    /// The `Content-Type` the registry sent, if any.
    pub content_type: Option<String>,
    /// The manifest exactly as sent, at most [`MAX_MANIFEST_BYTES`] long.
    pub bytes: bytes::Bytes,
}

/// A blob being read, checked against its digest as it streams: the last read fails instead
/// of reaching end-of-file when the bytes are not the digest's.
pub struct BlobReader {
    inner: Pin<Box<dyn AsyncRead + Send>>,
}

impl BlobReader {
    /// Wrap a stream that already verifies itself (such as a [`VerifyingReader`]); the
    /// wrapper adds no check of its own.
    pub fn new(inner: impl AsyncRead + Send + 'static) -> Self {
        Self {
            inner: Box::pin(inner),
        }
    }
}

impl AsyncRead for BlobReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_read(cx, buf)
    }
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlobReader")
    }
}

/// A source of manifests and blobs, addressed by repository (the `registry` and
/// `repository` of an [`ImageRef`]; its tag and digest are ignored).
pub trait Registry: Send + Sync {
    /// The manifest a tag or digest names, verified (by digest: equal to it; by tag: equal
    /// to `Docker-Content-Digest` when the registry sends one).
    fn manifest(
        &self,
        repo: &ImageRef,
        reference: ManifestRef<'_>,
    ) -> impl Future<Output = Result<Manifest, RegistryError>> + Send;

    /// A blob as a stream verified against `digest` (and `size` when known).
    fn blob(
        &self,
        repo: &ImageRef,
        digest: &Digest,
        size: Option<u64>,
    ) -> impl Future<Output = Result<BlobReader, RegistryError>> + Send;

    /// A small blob (an image config) read whole and verified; at most `limit` bytes.
    fn blob_bytes(
        &self,
        repo: &ImageRef,
        digest: &Digest,
        size: Option<u64>,
        limit: u64,
    ) -> impl Future<Output = Result<bytes::Bytes, RegistryError>> + Send {
        async move {
            if let Some(size) = size
                && size > limit
            {
                return Err(RegistryError::TooLarge {
                    what: format!("blob `{digest}`"),
                    limit,
                });
            }
            let reader = self.blob(repo, digest, size).await?;
            // A capacity hint only.
            let mut out =
                Vec::with_capacity(usize::try_from(size.unwrap_or(0).min(limit)).unwrap_or(0));
            let mut limited = reader.take(limit + 1);
            limited
                .read_to_end(&mut out)
                .await
                .map_err(|e| RegistryError::from_read(repo, digest, e))?;
            if out.len() as u64 > limit {
                return Err(RegistryError::TooLarge {
                    what: format!("blob `{digest}`"),
                    limit,
                });
            }
            Ok(out.into())
        }
    }
}

impl<R: Registry> Registry for &R {
    fn manifest(
        &self,
        repo: &ImageRef,
        reference: ManifestRef<'_>,
    ) -> impl Future<Output = Result<Manifest, RegistryError>> + Send {
        (**self).manifest(repo, reference)
    }

    fn blob(
        &self,
        repo: &ImageRef,
        digest: &Digest,
        size: Option<u64>,
    ) -> impl Future<Output = Result<BlobReader, RegistryError>> + Send {
        (**self).blob(repo, digest, size)
    }

    fn blob_bytes(
        &self,
        repo: &ImageRef,
        digest: &Digest,
        size: Option<u64>,
        limit: u64,
    ) -> impl Future<Output = Result<bytes::Bytes, RegistryError>> + Send {
        (**self).blob_bytes(repo, digest, size, limit)
    }
}
