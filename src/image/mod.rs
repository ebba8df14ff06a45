//! Image sources and what an image is.
//!
//! An [`ImageSource`] (a registry reference, an `oci:` layout or a `docker-archive:` tar) is
//! resolved to a [`ResolvedImage`]: the index it came through (if any), the platform
//! manifest, the config, the layers with their `diff_ids`, every digest checked against the
//! content. Its [`ImageIdentity`], the platform manifest digest with the config digest and
//! `diff_ids`, is what later comparisons use, never the index digest: another platform's
//! rebuild changes the index, not this image.
//!
//! Layers are read as streams ([`Image::open_layer`]) verified while they are read, never
//! held whole in memory nor written to disk.

mod document;
mod error;
mod local;

use std::future::Future;

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::model::{Digest, ImageRef, ImageSource, Platform};
use crate::registry::{BlobReader, ManifestRef, Registry};

pub use error::ImageError;

use document::Document;

/// The largest image config envaudit reads.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// How many references [`resolve_all`] resolves at once.
pub const MAX_CONCURRENT: usize = 64;

/// A content descriptor: what a manifest or index says about the content it points at.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Descriptor {
    /// The content's media type, such as `application/vnd.oci.image.manifest.v1+json`. For a
    /// manifest or index, the kind envaudit recognised it as, which may come from the
    /// document itself rather than from what pointed at it.
    pub media_type: String,
    /// The digest of the content's bytes, as stored.
    pub digest: Digest,
    /// The content's size in bytes, as stored.
    pub size: u64,
}

/// The descriptor of an image's manifest as the `subject` of a referrer.
impl From<&Descriptor> for crate::registry::Descriptor {
    fn from(d: &Descriptor) -> Self {
        crate::registry::Descriptor::new(d.media_type.clone(), d.digest.clone(), d.size)
    }
}

/// One layer: the blob as stored (maybe compressed) and the digest of its uncompressed tar.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Layer {
    /// The layer's media type as the manifest gives it, such as
    /// `application/vnd.oci.image.layer.v1.tar+gzip`.
    pub media_type: String,
    /// The digest of the blob as stored (compressed, when the media type says so).
    pub digest: Digest,
    /// The blob's size in bytes as stored (compressed, when it is), as the manifest gives it.
    pub size: u64,
    /// The digest of the uncompressed tar, from the config's `rootfs.diff_ids`; the same
    /// whatever the compression.
    pub diff_id: Digest,
}

/// Everything resolution learnt about one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedImage {
    /// The reference as given (normalised).
    pub source: ImageSource,
    /// The index or manifest list the reference named, when it named one.
    pub index: Option<Descriptor>,
    /// The platform manifest; `None` only for a legacy `docker save` archive, which has none.
    pub manifest: Option<Descriptor>,
    /// The image config blob the manifest points at.
    pub config: Descriptor,
    /// The platform the config declares (or the index entry, when the config does not).
    pub platform: Option<Platform>,
    /// The layers, base first, in the order they are applied.
    pub layers: Vec<Layer>,
}

/// What an image is, for every comparison: the platform manifest digest, the config digest
/// and the layer `diff_ids`. Never the index digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageIdentity {
    /// The digest of the platform manifest; `None` only for a legacy `docker save` archive,
    /// which has no manifest.
    pub manifest_digest: Option<Digest>,
    /// The digest of the image config.
    pub config_digest: Digest,
    /// The digests of the uncompressed layers, base first.
    pub diff_ids: Vec<Digest>,
}

impl ImageIdentity {
    /// The same filesystem and configuration: config digest and `diff_ids` agree, whatever the
    /// manifest (a recompression or another registry changes the manifest digest only).
    pub fn same_content(&self, other: &ImageIdentity) -> bool {
        self.config_digest == other.config_digest && self.diff_ids == other.diff_ids
    }
}

impl ResolvedImage {
    /// The image's identity: its platform manifest digest, config digest and `diff_ids`.
    pub fn identity(&self) -> ImageIdentity {
        ImageIdentity {
            manifest_digest: self.manifest.as_ref().map(|m| m.digest.clone()),
            config_digest: self.config.digest.clone(),
            diff_ids: self.layers.iter().map(|l| l.diff_id.clone()).collect(),
        }
    }

    /// The compressed size of all layers, in bytes, as the manifest gives them.
    pub fn layers_size(&self) -> u64 {
        self.layers.iter().map(|l| l.size).sum()
    }
}

/// Options of resolution.
#[derive(Clone, Debug, Default)]
pub struct ResolveOptions {
    /// The platform to take from an index (default `linux/amd64`). When given, a single
    /// image of another platform is an error too.
    pub platform: Option<Platform>,
}

/// A resolved image and what is needed to read its layers.
pub struct Image {
    /// What resolution learnt about the image.
    pub resolved: ResolvedImage,
    env: Vec<String>,
    backing: local::Backing,
}

impl Image {
    /// The config's `Env`: the `KEY=value` entries the image's processes (and a build `FROM`
    /// it) start with, as written. Values may hold credentials: never print them.
    pub fn env(&self) -> &[String] {
        &self.env
    }

    /// For an OCI layout folder: layer `index` as a blocking reader of its file, verified
    /// against its digest and size as it is read (no async runtime in between). `None` for
    /// other sources.
    pub fn open_layer_blocking(
        &self,
        index: usize,
    ) -> Option<Result<crate::registry::VerifyingReader<std::fs::File>, ImageError>> {
        let local::Backing::Dir(dir) = &self.backing else {
            return None;
        };
        let layer = self.resolved.layers.get(index)?;
        let p = dir.join(local::blob_path(&layer.digest));
        Some(
            std::fs::File::open(&p)
                .map_err(|source| {
                    if source.kind() == std::io::ErrorKind::NotFound {
                        ImageError::MissingBlob {
                            path: dir.clone(),
                            digest: layer.digest.clone(),
                        }
                    } else {
                        ImageError::Io { path: p, source }
                    }
                })
                .map(|f| {
                    crate::registry::VerifyingReader::new(
                        f,
                        "layer",
                        layer.digest.clone(),
                        Some(layer.size),
                    )
                }),
        )
    }

    /// A stream of layer `index` (0 is the base), verified against its digest and size as it
    /// is read. `registry` serves registry sources (any will do for local ones).
    pub async fn open_layer<R: Registry>(
        &self,
        registry: &R,
        index: usize,
    ) -> Result<BlobReader, ImageError> {
        let count = self.resolved.layers.len();
        let layer = self
            .resolved
            .layers
            .get(index)
            .ok_or(ImageError::NoSuchLayer { index, count })?;
        match &self.backing {
            local::Backing::Registry(repo) => {
                Ok(registry.blob(repo, &layer.digest, Some(layer.size)).await?)
            }
            other => other.open_layer(index, layer).await,
        }
    }
}

/// Where manifests and configs come from during resolution.
pub(crate) trait Store: Sync {
    /// A manifest or index named by `desc`, checked against its digest and size.
    fn manifest(
        &self,
        desc: &Descriptor,
    ) -> impl Future<Output = Result<bytes::Bytes, ImageError>> + Send;
    /// A config blob, checked against its digest and size.
    fn config(
        &self,
        desc: &Descriptor,
    ) -> impl Future<Output = Result<bytes::Bytes, ImageError>> + Send;
}

pub(crate) fn check_size(desc: &Descriptor, actual: usize) -> Result<(), ImageError> {
    if desc.size != actual as u64 {
        return Err(ImageError::SizeMismatch {
            digest: desc.digest.clone(),
            declared: desc.size,
            actual: actual as u64,
        });
    }
    Ok(())
}

struct RegistryStore<'a, R> {
    registry: &'a R,
    repo: &'a ImageRef,
}

impl<R: Registry> Store for RegistryStore<'_, R> {
    async fn manifest(&self, desc: &Descriptor) -> Result<bytes::Bytes, ImageError> {
        let m = self
            .registry
            .manifest(self.repo, ManifestRef::Digest(&desc.digest))
            .await?;
        check_size(desc, m.bytes.len())?;
        Ok(m.bytes)
    }

    async fn config(&self, desc: &Descriptor) -> Result<bytes::Bytes, ImageError> {
        if desc.size > MAX_CONFIG_BYTES {
            return Err(ImageError::TooLarge {
                what: "config",
                digest: desc.digest.clone(),
                limit: MAX_CONFIG_BYTES,
            });
        }
        Ok(self
            .registry
            .blob_bytes(self.repo, &desc.digest, Some(desc.size), MAX_CONFIG_BYTES)
            .await?)
    }
}

/// Resolve a source to its image, reading as little as possible: the manifest (through the
/// index, if it is one) and the config.
pub async fn open<R: Registry>(
    registry: &R,
    source: &ImageSource,
    options: &ResolveOptions,
) -> Result<Image, ImageError> {
    match source {
        ImageSource::Registry(r) => {
            let reference = match (r.digest(), r.tag()) {
                (Some(d), _) => ManifestRef::Digest(d),
                (None, Some(t)) => ManifestRef::Tag(t),
                (None, None) => ManifestRef::Tag("latest"),
            };
            let m = registry.manifest(r, reference).await?;
            let root = Descriptor {
                media_type: m.content_type.clone().unwrap_or_default(),
                digest: m.digest.clone(),
                size: m.bytes.len() as u64,
            };
            let store = RegistryStore { registry, repo: r };
            let (resolved, env) = resolve_root(&store, source, root, &m.bytes, options).await?;
            Ok(Image {
                resolved,
                env,
                backing: local::Backing::Registry(r.clone()),
            })
        }
        ImageSource::OciLayout { dir, tag } => {
            local::open_layout(source, dir, tag.as_deref(), options).await
        }
        ImageSource::DockerArchive { file, image } => {
            local::open_archive(source, file, image.as_ref(), options).await
        }
    }
}

/// Read every layer of `image` through to the end, checking each against its digest and
/// size; returns the bytes read. Memory stays at one read buffer whatever the layer size.
pub async fn verify_layers<R: Registry>(registry: &R, image: &Image) -> Result<u64, ImageError> {
    let mut total = 0;
    for (i, layer) in image.resolved.layers.iter().enumerate() {
        let mut reader = image.open_layer(registry, i).await?;
        let mut sink = tokio::io::sink();
        total += tokio::io::copy(&mut reader, &mut sink).await.map_err(|e| {
            match crate::registry::verify::integrity_error(&e) {
                Some(i) => ImageError::Integrity(i.clone()),
                None => ImageError::LayerRead {
                    digest: layer.digest.clone(),
                    source: e,
                },
            }
        })?;
    }
    Ok(total)
}

/// Resolve one source; see [`open`].
pub async fn resolve<R: Registry>(
    registry: &R,
    source: &ImageSource,
    options: &ResolveOptions,
) -> Result<ResolvedImage, ImageError> {
    open(registry, source, options).await.map(|i| i.resolved)
}

/// Resolve several sources concurrently (at most [`MAX_CONCURRENT`] at once); the results
/// are in the order of `sources`.
pub async fn resolve_all<R: Registry>(
    registry: &R,
    sources: &[ImageSource],
    options: &ResolveOptions,
) -> Vec<Result<ResolvedImage, ImageError>> {
    futures_util::stream::iter(sources)
        .map(|s| resolve(registry, s, options))
        .buffered(MAX_CONCURRENT)
        .collect()
        .await
}

/// Everything resolution does with one untrusted document, for the fuzz target.
#[doc(hidden)]
pub fn fuzz_document(data: &[u8]) {
    let digest = Digest::sha256_of(data);
    for declared in [None, Some(crate::registry::media_type::DOCKER_LIST)] {
        match document::parse(&digest, declared, data) {
            Ok((_, Document::Index(index))) => {
                for e in &index.manifests {
                    let _ = document::entry_descriptor(&digest, e);
                }
                let _ = document::select(&index, &Platform::linux_amd64());
            }
            Ok((_, Document::Manifest(m))) => {
                let _ = document::descriptor(&digest, &m.config);
                for l in &m.layers {
                    let _ = document::descriptor(&digest, l);
                }
            }
            Err(_) => {}
        }
    }
    let _ = document::parse_config(&digest, data);
}

/// From the document a reference named (an index or a manifest) to the resolved image, with
/// its config's `Env`.
pub(crate) async fn resolve_root<S: Store>(
    store: &S,
    source: &ImageSource,
    mut root: Descriptor,
    bytes: &[u8],
    options: &ResolveOptions,
) -> Result<(ResolvedImage, Vec<String>), ImageError> {
    let declared = Some(root.media_type.as_str()).filter(|m| !m.is_empty());
    let (media, doc) = document::parse(&root.digest, declared, bytes)?;
    root.media_type = media;
    match doc {
        Document::Manifest(m) => finish(store, source, None, root, &m, None, options).await,
        Document::Index(index) => {
            let want = options
                .platform
                .clone()
                .unwrap_or_else(Platform::linux_amd64);
            let entry =
                document::select(&index, &want).map_err(|available| ImageError::NoPlatform {
                    index: root.digest.clone(),
                    platform: want.to_string(),
                    available,
                })?;
            let mut child = document::entry_descriptor(&root.digest, entry)?;
            let entry_platform = document::entry_platform(entry);
            let child_bytes = store.manifest(&child).await?;
            let (media, doc) =
                document::parse(&child.digest, Some(&child.media_type), &child_bytes)?;
            child.media_type = media;
            match doc {
                Document::Manifest(m) => {
                    finish(
                        store,
                        source,
                        Some(root),
                        child,
                        &m,
                        entry_platform,
                        options,
                    )
                    .await
                }
                Document::Index(_) => Err(ImageError::NestedIndex {
                    index: root.digest,
                    child: child.digest,
                }),
            }
        }
    }
}

async fn finish<S: Store>(
    store: &S,
    source: &ImageSource,
    index: Option<Descriptor>,
    manifest: Descriptor,
    m: &oci_client::manifest::OciImageManifest,
    entry_platform: Option<Platform>,
    options: &ResolveOptions,
) -> Result<(ResolvedImage, Vec<String>), ImageError> {
    let config = document::descriptor(&manifest.digest, &m.config)?;
    let config_bytes = store.config(&config).await?;
    let parsed = document::parse_config(&config.digest, &config_bytes)?;
    if parsed.diff_ids.len() != m.layers.len() {
        return Err(ImageError::LayerCountMismatch {
            config: config.digest,
            diff_ids: parsed.diff_ids.len(),
            layers: m.layers.len(),
        });
    }
    let layers = m
        .layers
        .iter()
        .zip(parsed.diff_ids)
        .map(|(l, diff_id)| {
            let d = document::descriptor(&manifest.digest, l)?;
            Ok(Layer {
                media_type: d.media_type,
                digest: d.digest,
                size: d.size,
                diff_id,
            })
        })
        .collect::<Result<Vec<_>, ImageError>>()?;
    let platform = parsed.platform.or(entry_platform);
    if index.is_none()
        && let (Some(requested), Some(actual)) = (&options.platform, &platform)
        && !requested.matches(actual)
    {
        return Err(ImageError::PlatformMismatch {
            requested: requested.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok((
        ResolvedImage {
            source: source.clone(),
            index,
            manifest: Some(manifest),
            config,
            platform,
            layers,
        },
        parsed.env,
    ))
}

/// What `envaudit resolve` found: the images resolved, in the order asked, and the
/// references that failed with their error text (which never holds a secret).
#[derive(Clone, Debug, Default)]
pub struct ResolveReport {
    /// The images that resolved, in the order the references were given.
    pub images: Vec<ResolvedImage>,
    /// `(reference, message)`; the message is the error with its causes, `: `-joined.
    pub failures: Vec<(String, String)>,
    /// Whether every layer was downloaded and checked against its digest.
    pub layers_verified: bool,
}
