use std::path::PathBuf;

use crate::model::Digest;
use crate::registry::{IntegrityError, RegistryError};

/// Why an image could not be resolved or read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The registry refused or failed a request (authentication, a missing manifest or
    /// blob, the network).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Content did not match the digest or size that named it.
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    /// A manifest, index or config is not the JSON its kind requires (or holds a negative
    /// size or an invalid digest).
    #[error("{what} `{digest}` is not valid JSON of its kind: {reason}")]
    BadDocument {
        /// The kind of document: `manifest`, `index` or `config`.
        what: &'static str,
        /// The digest of the document at fault (for a bad descriptor, of the document
        /// holding it).
        digest: Digest,
        /// What the JSON parser (or the field check) said.
        reason: String,
    },
    /// The document is neither an OCI or Docker image manifest nor an index or manifest list.
    #[error("manifest `{digest}` has the unsupported media type `{media_type}`")]
    UnsupportedMediaType {
        /// The digest of the document.
        digest: Digest,
        /// Its media type, from the document, its descriptor or the registry's answer.
        media_type: String,
    },
    /// The manifest is the legacy Docker schema 1, which has no config nor `diff_ids`.
    #[error(
        "manifest `{digest}` is docker image manifest v2 schema 1, which envaudit does not read"
    )]
    Schema1 {
        /// The digest of the manifest.
        digest: Digest,
    },
    /// An index has no image for the requested platform.
    #[error("index `{index}` has no `{platform}` image (it has {})", if .available.is_empty() { "no platform entries".to_owned() } else { format!("`{}`", .available.join("`, `")) })]
    NoPlatform {
        /// The digest of the index.
        index: Digest,
        /// The platform asked for, as `os/arch[/variant]`.
        platform: String,
        /// The platforms the index lists (attestation entries, `unknown/unknown`, left out).
        available: Vec<String>,
    },
    /// The entry chosen from an index is itself an index.
    #[error("index `{index}` points at another index `{child}`; nested indexes are not supported")]
    NestedIndex {
        /// The digest of the outer index.
        index: Digest,
        /// The digest of the inner index it points at.
        child: Digest,
    },
    /// A platform was requested, and the reference named a single image of another platform.
    #[error("the image is `{actual}`, not the requested `{requested}`")]
    PlatformMismatch {
        /// The platform asked for, as `os/arch[/variant]`.
        requested: String,
        /// The platform the image declares.
        actual: String,
    },
    /// The config's `rootfs.diff_ids` and the manifest's layers differ in number.
    #[error("config `{config}` lists {diff_ids} diff_ids for {layers} layers")]
    LayerCountMismatch {
        /// The digest of the config.
        config: Digest,
        /// How many `diff_ids` the config lists.
        diff_ids: usize,
        /// How many layers the manifest lists.
        layers: usize,
    },
    /// Content read whole (a manifest, or a blob of a layout or archive) differs in length
    /// from the size its descriptor declares.
    #[error("`{digest}` is {actual} bytes, its descriptor says {declared}")]
    SizeMismatch {
        /// The digest of the content.
        digest: Digest,
        /// The size in bytes the descriptor declares.
        declared: u64,
        /// The size in bytes actually read.
        actual: u64,
    },
    /// A document is larger than envaudit reads into memory (for configs,
    /// [`MAX_CONFIG_BYTES`](super::MAX_CONFIG_BYTES)).
    #[error("{what} `{digest}` is larger than the {limit} bytes envaudit reads")]
    TooLarge {
        /// The kind of document, such as `config` or `manifest`.
        what: &'static str,
        /// The digest of the document.
        digest: Digest,
        /// The limit in bytes.
        limit: u64,
    },
    /// A local layout folder or archive could not be read.
    #[error("cannot read `{path}`")]
    Io {
        /// The file or folder that could not be read.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An `oci:` path is not an OCI image layout (no `oci-layout` or `index.json`, or one
    /// of them invalid).
    #[error("`{path}` is not an OCI image layout: {reason}")]
    NotALayout {
        /// The layout folder.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },
    /// A `docker-archive:` file is neither a `docker save` tar nor an OCI layout tar.
    #[error("`{path}` is not a docker archive: {reason}")]
    NotAnArchive {
        /// The archive file.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },
    /// A layout or archive lacks a blob that one of its documents points at.
    #[error("blob `{digest}` is missing from `{path}`")]
    MissingBlob {
        /// The layout folder or archive file.
        path: PathBuf,
        /// The digest of the missing blob.
        digest: Digest,
    },
    /// No image in a layout or archive carries the requested name.
    #[error("no image named `{name}` in `{path}` (it has {})", if .available.is_empty() { "no named images".to_owned() } else { format!("`{}`", .available.join("`, `")) })]
    NameNotFound {
        /// The layout folder or archive file.
        path: PathBuf,
        /// The name (tag or reference) asked for.
        name: String,
        /// The names the layout or archive does carry.
        available: Vec<String>,
    },
    /// A layout or archive holds several images and none was named.
    #[error("`{path}` holds {count} images; name one (it has {})", if .available.is_empty() { "no names".to_owned() } else { format!("`{}`", .available.join("`, `")) })]
    Ambiguous {
        /// The layout folder or archive file.
        path: PathBuf,
        /// How many images match.
        count: usize,
        /// The names they carry, to choose from.
        available: Vec<String>,
    },
    /// The background task walking layers was cancelled before it finished; holds the
    /// runtime's reason.
    #[error("the layer walk was interrupted: {0}")]
    WalkInterrupted(String),
    /// A layer stream failed for a reason other than a digest or size mismatch.
    #[error("cannot read layer `{digest}`")]
    LayerRead {
        /// The (compressed) digest of the layer.
        digest: Digest,
        /// The error of the stream (the network, or the local file).
        #[source]
        source: std::io::Error,
    },
    /// A layer index past the image's last layer was asked for.
    #[error("the image has {count} layers, there is no layer {index}")]
    NoSuchLayer {
        /// The index asked for (0 is the base layer).
        index: usize,
        /// How many layers the image has.
        count: usize,
    },
}
