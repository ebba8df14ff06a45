use std::path::PathBuf;

use crate::model::Digest;
use crate::registry::{IntegrityError, RegistryError};

/// Why an image could not be resolved or read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    #[error("{what} `{digest}` is not valid JSON of its kind: {reason}")]
    BadDocument {
        what: &'static str,
        digest: Digest,
        reason: String,
    },
    #[error("manifest `{digest}` has the unsupported media type `{media_type}`")]
    UnsupportedMediaType { digest: Digest, media_type: String },
    #[error(
        "manifest `{digest}` is docker image manifest v2 schema 1, which envaudit does not read"
    )]
    Schema1 { digest: Digest },
    #[error("index `{index}` has no `{platform}` image (it has {})", if .available.is_empty() { "no platform entries".to_owned() } else { format!("`{}`", .available.join("`, `")) })]
    NoPlatform {
        index: Digest,
        platform: String,
        available: Vec<String>,
    },
    #[error("index `{index}` points at another index `{child}`; nested indexes are not supported")]
    NestedIndex { index: Digest, child: Digest },
    #[error("the image is `{actual}`, not the requested `{requested}`")]
    PlatformMismatch { requested: String, actual: String },
    #[error("config `{config}` lists {diff_ids} diff_ids for {layers} layers")]
    LayerCountMismatch {
        config: Digest,
        diff_ids: usize,
        layers: usize,
    },
    #[error("`{digest}` is {actual} bytes, its descriptor says {declared}")]
    SizeMismatch {
        digest: Digest,
        declared: u64,
        actual: u64,
    },
    #[error("{what} `{digest}` is larger than the {limit} bytes envaudit reads")]
    TooLarge {
        what: &'static str,
        digest: Digest,
        limit: u64,
    },
    #[error("cannot read `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not an OCI image layout: {reason}")]
    NotALayout { path: PathBuf, reason: String },
    #[error("`{path}` is not a docker archive: {reason}")]
    NotAnArchive { path: PathBuf, reason: String },
    #[error("blob `{digest}` is missing from `{path}`")]
    MissingBlob { path: PathBuf, digest: Digest },
    #[error("no image named `{name}` in `{path}` (it has {})", if .available.is_empty() { "no named images".to_owned() } else { format!("`{}`", .available.join("`, `")) })]
    NameNotFound {
        path: PathBuf,
        name: String,
        available: Vec<String>,
    },
    #[error("`{path}` holds {count} images; name one (it has {})", if .available.is_empty() { "no names".to_owned() } else { format!("`{}`", .available.join("`, `")) })]
    Ambiguous {
        path: PathBuf,
        count: usize,
        available: Vec<String>,
    },
    #[error("the layer walk was interrupted: {0}")]
    WalkInterrupted(String),
    #[error("cannot read layer `{digest}`")]
    LayerRead {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("the image has {count} layers, there is no layer {index}")]
    NoSuchLayer { index: usize, count: usize },
}
