//! From an image or a folder to a snapshot: resolve the reference to a verified image, read
//! its layers (from the layer cache or streamed and verified), catalog what is installed, and
//! make the [`Snapshot`] that `lock`, `build` and `drift` record or
//! compare.
//!
//! [`Scanner`] holds what every image command shares: the registry client (with its
//! process-long cache), the async runtime and the scan settings. It never prints: progress
//! goes to the [`Progress`] it is given, and what went wrong without stopping the scan comes
//! back as findings in [`Scanned::warnings`].
//!
//! Two findings say how far a scan's result can be trusted:
//! - `catalog-incomplete` ([`catalog_incomplete`]): something was not read or not understood
//!   (a limit, a corrupt or truncated layer, a blob that failed its digest, a malformed
//!   package database), so packages may be missing. The catalog of what was read is still
//!   returned.
//! - `diff-id-mismatch`: a layer's uncompressed content does not hash to the `diff_id` the
//!   image config lists for it, although its blob matched its digest. The catalog is still
//!   returned, unchanged: it is what the layer blobs the manifest pins hold, and so what a
//!   runtime that does not check `diff_ids` would run. The config's `diff_ids` (the image's
//!   identity, and the snapshot's `image-layers`) are what is false. Layers are hashed when
//!   [`ScannerOptions::verify_diff_ids`] is set, and always by [`Scanner::scan_verified`],
//!   which also bypasses the layer cache: what a scan served from the cache proves is in
//!   [`crate::catalog::DiffIdCheck`].

pub mod snapshot;

use std::path::Path;
use std::sync::Arc;

use crate::catalog::{self, Catalog, DiffIdCheck, Progress, ScanOptions};
use crate::definition::EnvDefinition;
use crate::diag::{Code, Finding};
use crate::hash::HashReport;
use crate::image::{self, ImageError, ResolveOptions, ResolvedImage};
use crate::layer::{Completeness, FsView, LayerCache, Limits};
use crate::lockfile::Snapshot;
use crate::model::{Digest, ImageRef, ImageSource, Platform};
use crate::registry::referrers::MAX_ARTIFACT_BLOB_BYTES;
use crate::registry::{
    Artifact, ArtifactManifest, Attached, CachingRegistry, CredentialStore, Descriptor,
    HttpRegistry, ManifestRef, Referrers, Registry as _, RegistryError, TransportPolicy,
    media_type,
};

/// Why a scan could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The async runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// The registry client could not be set up (TLS, credentials).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The base image given to mark the base's layers could not be resolved.
    #[error("cannot resolve the base image `{reference}`")]
    BaseImage {
        /// The base image as given.
        reference: String,
        /// What went wrong.
        #[source]
        source: ImageError,
    },
    /// The image could not be resolved or read.
    #[error(transparent)]
    Image(#[from] ImageError),
}

/// How a [`Scanner`] reaches registries and reads layers.
pub struct ScannerOptions {
    /// Registry hosts (`HOST[:PORT]`) reached over plain HTTP (loopback hosts always may).
    pub insecure_registries: Vec<String>,
    /// The platform to take from a multi-platform image (default linux/amd64).
    pub platform: Option<Platform>,
    /// Use the layer cache (`$ENVAUDIT_CACHE_DIR`, else the user cache folder).
    pub cache: bool,
    /// Bounds on what one layer may make envaudit read.
    pub limits: Limits,
    /// Told about layers as they are read.
    pub progress: Arc<dyn Progress>,
    /// Hash every layer read and compare it with the config's `diff_id`
    /// ([`ScanOptions::verify_diff_ids`]); layer-cache entries without that digest are then
    /// read again.
    pub verify_diff_ids: bool,
}

/// The registry client, the async runtime and the scan settings that image commands share.
pub struct Scanner {
    registry: CachingRegistry<HttpRegistry>,
    runtime: tokio::runtime::Runtime,
    options: ResolveOptions,
    scan: ScanOptions,
}

/// An image scanned: what it resolved to and what is installed in it.
pub struct Scanned {
    /// The image, resolved to its digests.
    pub image: ResolvedImage,
    /// What is installed in it.
    pub catalog: Catalog,
    /// The base image (when given) and how many of the image's layers are its.
    pub base: Option<(ResolvedImage, Option<usize>)>,
    /// What went wrong without stopping the scan, as findings: `layer-cache` (an entry that
    /// could not be used), `base-image-mismatch` (a base image whose layers the image does
    /// not start with), `catalog-incomplete` (the catalog is partial) and `diff-id-mismatch`
    /// (one per layer whose content is not what its `diff_id` says).
    pub warnings: Vec<Finding>,
    /// Each layer's content against the config's `diff_ids`, bottom first.
    pub diff_ids: Vec<DiffIdCheck>,
}

/// The `catalog-incomplete` finding of a partial result about `subject` (an image reference,
/// a folder), `None` when the result is complete (or there was nothing to read).
pub fn catalog_incomplete(subject: &str, completeness: &Completeness) -> Option<Finding> {
    match completeness {
        Completeness::Partial(reason) => Some(Finding::new(
            Code::CatalogIncomplete,
            format!("`{subject}`: the installed packages were not all read: {reason}"),
        )),
        Completeness::Complete | Completeness::NotApplicable => None,
    }
}

impl Scanned {
    /// Whether this scan read every layer from the image, each matched its `diff_id`, and
    /// the catalog is complete: what `verify` requires of an image's content.
    pub fn content_verified(&self) -> bool {
        !self.catalog.completeness.is_partial()
            && self.diff_ids.len() == self.image.layers.len()
            && self.diff_ids.iter().all(|c| *c == DiffIdCheck::Verified)
    }

    /// The layers whose content is not what their `diff_id` says.
    pub fn diff_id_mismatches(&self) -> impl Iterator<Item = &catalog::DiffIdMismatch> {
        self.diff_ids.iter().filter_map(|c| match c {
            DiffIdCheck::Mismatch(m) => Some(m),
            _ => None,
        })
    }

    /// The snapshot of this image for `definition`, the image recorded as `reference`.
    pub fn snapshot(
        &self,
        definition: Option<(&EnvDefinition, &HashReport)>,
        lockfile_dir: &Path,
        reference: &str,
    ) -> Snapshot {
        let (base_image_digest, base_layers) = match &self.base {
            Some((b, count)) => (b.manifest.as_ref().map(|m| m.digest.clone()), *count),
            None => (None, None),
        };
        snapshot::snapshot(&snapshot::Observed {
            definition,
            lockfile_dir,
            image: Some((reference, &self.image)),
            base_image_digest,
            base_layers,
            rootfs: None,
            catalog: &self.catalog,
        })
    }
}

impl Scanner {
    /// A scanner with its own registry client and runtime.
    pub fn new(options: ScannerOptions) -> Result<Self, ScanError> {
        let policy = TransportPolicy {
            insecure_registries: options.insecure_registries,
            ..TransportPolicy::default()
        };
        let registry =
            CachingRegistry::new(HttpRegistry::new(policy, CredentialStore::from_env())?);
        // Multi-threaded: the walker's threads block on reads that the runtime serves.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(ScanError::Runtime)?;
        let scan = ScanOptions {
            limits: options.limits,
            cache: if options.cache {
                LayerCache::default_dir().map(LayerCache::new)
            } else {
                None
            },
            progress: options.progress,
            base_diff_ids: None,
            verify_diff_ids: options.verify_diff_ids,
        };
        Ok(Scanner {
            registry,
            runtime,
            options: ResolveOptions {
                platform: options.platform,
            },
            scan,
        })
    }

    /// The HTTP registry client under the cache, for requests the scanner has no method for
    /// (run them with [`Scanner::block_on`]).
    pub fn http(&self) -> &HttpRegistry {
        self.registry.inner()
    }

    /// Runs a future on the scanner's runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The layer cache and the limits layers are walked with, when the cache is on.
    pub fn layer_cache(&self) -> Option<(&LayerCache, &Limits)> {
        self.scan.cache.as_ref().map(|c| (c, &self.scan.limits))
    }

    /// Resolves an image without reading its layers.
    pub fn resolve(&self, source: &ImageSource) -> Result<ResolvedImage, ImageError> {
        self.runtime
            .block_on(image::resolve(&self.registry, source, &self.options))
    }

    /// Resolves several images concurrently, in order.
    pub fn resolve_all(&self, sources: &[ImageSource]) -> Vec<Result<ResolvedImage, ImageError>> {
        self.runtime
            .block_on(image::resolve_all(&self.registry, sources, &self.options))
    }

    /// The repositories of `registry`'s catalog, every page followed within `limits` (see
    /// [`HttpRegistry::catalog`]).
    pub fn catalog(
        &self,
        registry: &str,
        limits: &crate::registry::ListLimits,
    ) -> Result<Vec<String>, RegistryError> {
        self.runtime
            .block_on(self.registry.inner().catalog(registry, limits))
    }

    /// The tags of `repo`, every page followed within `limits` (see [`HttpRegistry::tags`]).
    pub fn tags(
        &self,
        repo: &ImageRef,
        limits: &crate::registry::ListLimits,
    ) -> Result<Vec<String>, RegistryError> {
        self.runtime
            .block_on(self.registry.inner().tags(repo, limits))
    }

    /// The manifests (or indexes) `references` name (by digest when they have one, else by
    /// tag, `latest` when they have neither), verified, through the cache, several at once
    /// (at most [`image::MAX_CONCURRENT`]); in the order of `references`.
    pub fn manifests(
        &self,
        references: &[ImageRef],
    ) -> Vec<Result<crate::registry::Manifest, RegistryError>> {
        use futures_util::StreamExt as _;
        self.runtime.block_on(
            futures_util::stream::iter(references)
                .map(|r| {
                    let reference = r.digest().map_or_else(
                        || ManifestRef::Tag(r.tag().unwrap_or("latest")),
                        ManifestRef::Digest,
                    );
                    self.registry.manifest(r, reference)
                })
                .buffered(image::MAX_CONCURRENT)
                .collect(),
        )
    }

    /// The digest a tag names in its registry (a HEAD request), `None` when it is missing.
    pub fn tag_digest(&self, image: &ImageRef) -> Result<Option<Digest>, RegistryError> {
        let tag = image.tag().unwrap_or(crate::build::CACHE_TAG);
        self.runtime
            .block_on(self.registry.inner().tag_digest(image, tag))
    }

    /// Point `tag` of `repo` at the manifest `digest` of the same repository: the manifest
    /// is read (verified) and stored again under the tag.
    pub fn move_tag(
        &self,
        repo: &ImageRef,
        tag: &str,
        digest: &Digest,
    ) -> Result<Digest, RegistryError> {
        self.runtime.block_on(async {
            let m = self
                .registry
                .inner()
                .manifest(repo, ManifestRef::Digest(digest))
                .await?;
            let media_type = m
                .content_type
                .clone()
                .unwrap_or_else(|| media_type::OCI_MANIFEST.to_owned());
            self.registry
                .inner()
                .put_manifest(repo, tag, &media_type, m.bytes)
                .await
        })
    }

    /// The descriptor of the manifest `digest` of `repo` (its media type and size, read and
    /// verified): the `subject` of the artifacts attached to it.
    pub fn manifest_descriptor(
        &self,
        repo: &ImageRef,
        digest: &Digest,
    ) -> Result<Descriptor, RegistryError> {
        self.runtime.block_on(async {
            let m = self
                .registry
                .manifest(repo, ManifestRef::Digest(digest))
                .await?;
            let media_type = m
                .content_type
                .clone()
                .unwrap_or_else(|| media_type::OCI_MANIFEST.to_owned());
            Ok(Descriptor::new(media_type, m.digest, m.bytes.len() as u64))
        })
    }

    /// Attach `artifact` to the manifest `subject` of `repo` as an OCI 1.1 referrer (see
    /// [`HttpRegistry::attach`]), past the cache.
    pub fn attach(
        &self,
        repo: &ImageRef,
        subject: &Descriptor,
        artifact: &Artifact,
    ) -> Result<Attached, RegistryError> {
        self.runtime
            .block_on(self.registry.inner().attach(repo, subject, artifact))
    }

    /// Attach several artifacts to the manifest `subject` of `repo`, the tag-schema index
    /// updated once for all (see [`HttpRegistry::attach_all`]), past the cache.
    pub fn attach_all(
        &self,
        repo: &ImageRef,
        subject: &Descriptor,
        artifacts: &[Artifact],
    ) -> Result<Vec<Attached>, RegistryError> {
        self.runtime
            .block_on(self.registry.inner().attach_all(repo, subject, artifacts))
    }

    /// The referrers of the manifest `subject` of `repo`, only those of `artifact_type` when
    /// given (see [`HttpRegistry::referrers`]), past the cache.
    pub fn referrers(
        &self,
        repo: &ImageRef,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers, RegistryError> {
        self.runtime.block_on(
            self.registry
                .inner()
                .referrers(repo, subject, artifact_type),
        )
    }

    /// The artifact manifest `digest` of `repo` and its layers' content, verified, each
    /// layer at most [`MAX_ARTIFACT_BLOB_BYTES`] (see [`HttpRegistry::pull_artifact`]).
    pub fn pull_artifact(
        &self,
        repo: &ImageRef,
        digest: &Digest,
    ) -> Result<(ArtifactManifest, Vec<bytes::Bytes>), RegistryError> {
        self.runtime.block_on(self.registry.inner().pull_artifact(
            repo,
            digest,
            MAX_ARTIFACT_BLOB_BYTES,
        ))
    }

    /// Opens an image and merges its layers (from the layer cache, or read and then cached)
    /// into one view, whiteouts applied, without cataloging it: for reading a few files, such
    /// as the configuration a build in the image sees.
    pub fn view(&self, source: &ImageSource) -> Result<(image::Image, FsView), ScanError> {
        let out = self.runtime.block_on(async {
            let image = image::open(&self.registry, source, &self.options).await?;
            let (view, _) = catalog::view_image(&self.registry, &image, &self.scan).await?;
            Ok::<_, ScanError>((image, view))
        })?;
        self.scan.progress.finish();
        Ok(out)
    }

    /// Resolves and catalogs an image; with a base image, marks the layers that are its.
    /// Layers come from the layer cache when it has them (see [`ScannerOptions::cache`]).
    pub fn scan(
        &self,
        source: &ImageSource,
        base: Option<&ImageSource>,
    ) -> Result<Scanned, ScanError> {
        self.scan_with(source, base, self.scan.clone())
    }

    /// Resolves and catalogs an image the way `verify` needs it, whatever this scanner's
    /// settings: every layer is read from the image itself (the layer cache is neither used
    /// nor filled), each blob is verified against its digest and each uncompressed tar
    /// stream against the config's `diff_id`. Mismatches are in [`Scanned::diff_ids`] and
    /// are `diff-id-mismatch` findings in [`Scanned::warnings`], beside `catalog-incomplete`
    /// when something was not read; [`Scanned::content_verified`] sums it up. The catalog is
    /// returned in every case (see the module documentation).
    pub fn scan_verified(&self, source: &ImageSource) -> Result<Scanned, ScanError> {
        let scan = ScanOptions {
            cache: None,
            verify_diff_ids: true,
            ..self.scan.clone()
        };
        self.scan_with(source, None, scan)
    }

    fn scan_with(
        &self,
        source: &ImageSource,
        base: Option<&ImageSource>,
        mut scan: ScanOptions,
    ) -> Result<Scanned, ScanError> {
        let (resolved, catalog, stats, base_resolved) = self.runtime.block_on(async {
            let mut base_resolved = None;
            if let Some(base) = base {
                let resolved = image::resolve(&self.registry, base, &self.options)
                    .await
                    .map_err(|source| ScanError::BaseImage {
                        reference: base.to_string(),
                        source,
                    })?;
                scan.base_diff_ids =
                    Some(resolved.layers.iter().map(|l| l.diff_id.clone()).collect());
                base_resolved = Some(resolved);
            }
            let image = image::open(&self.registry, source, &self.options).await?;
            let (catalog, stats) = catalog::scan_image(&self.registry, &image, &scan).await?;
            Ok::<_, ScanError>((image.resolved, catalog, stats, base_resolved))
        })?;
        self.scan.progress.finish();
        let mut warnings: Vec<Finding> = stats
            .cache_errors
            .iter()
            .map(|e| Finding::new(Code::LayerCache, e.clone()))
            .collect();
        if let (None, Some(base)) = (stats.base_layers, base) {
            warnings.push(Finding::new(
                Code::BaseImageMismatch,
                format!(
                    "the image does not start with the layers of the base image `{base}`; no package is marked as the base image's"
                ),
            ));
        }
        warnings.extend(catalog_incomplete(
            &source.to_string(),
            &catalog.completeness,
        ));
        warnings.extend(
            stats
                .diff_id_mismatches()
                .map(|m| Finding::new(Code::DiffIdMismatch, format!("`{source}`: {m}"))),
        );
        let base = base_resolved.map(|b| (b, stats.base_layers));
        Ok(Scanned {
            image: resolved,
            catalog,
            base,
            warnings,
            diff_ids: stats.diff_ids,
        })
    }
}
