//! Manifests, indexes and configs as JSON documents: which kind a document is, and the
//! parts of it envaudit records.

use oci_client::manifest::{ImageIndexEntry, OciDescriptor, OciImageIndex, OciImageManifest};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{Descriptor, ImageError};
use crate::model::{Digest, Platform};
use crate::registry::media_type;

/// A parsed manifest-like document.
pub(crate) enum Document {
    Index(OciImageIndex),
    Manifest(Box<OciImageManifest>),
}

#[derive(Deserialize)]
struct SniffWire {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<i64>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<IgnoredAny>,
    config: Option<IgnoredAny>,
}

fn bad(what: &'static str, digest: &Digest, e: impl std::fmt::Display) -> ImageError {
    ImageError::BadDocument {
        what,
        digest: digest.clone(),
        reason: e.to_string(),
    }
}

/// Parse a manifest or index. Its kind comes from its own `mediaType`, else from the media
/// type it was served or described with, else from its shape.
pub(crate) fn parse(
    digest: &Digest,
    declared: Option<&str>,
    bytes: &[u8],
) -> Result<(String, Document), ImageError> {
    let sniff: SniffWire = serde_json::from_slice(bytes).map_err(|e| bad("manifest", digest, e))?;
    let known = |m: &str| {
        [
            media_type::OCI_INDEX,
            media_type::DOCKER_LIST,
            media_type::OCI_MANIFEST,
            media_type::DOCKER_MANIFEST,
        ]
        .contains(&m)
    };
    let media = sniff
        .media_type
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| declared.filter(|m| known(m)).map(str::to_owned))
        .unwrap_or_else(|| {
            if sniff.manifests.is_some() {
                media_type::OCI_INDEX.to_owned()
            } else if sniff.config.is_some() {
                media_type::OCI_MANIFEST.to_owned()
            } else {
                declared.unwrap_or("").to_owned()
            }
        });
    if sniff.schema_version == Some(1)
        || media == media_type::DOCKER_SCHEMA1
        || media == media_type::DOCKER_SCHEMA1_SIGNED
    {
        return Err(ImageError::Schema1 {
            digest: digest.clone(),
        });
    }
    let doc = match media.as_str() {
        media_type::OCI_INDEX | media_type::DOCKER_LIST => {
            Document::Index(serde_json::from_slice(bytes).map_err(|e| bad("index", digest, e))?)
        }
        media_type::OCI_MANIFEST | media_type::DOCKER_MANIFEST => Document::Manifest(
            serde_json::from_slice(bytes).map_err(|e| bad("manifest", digest, e))?,
        ),
        _ => {
            return Err(ImageError::UnsupportedMediaType {
                digest: digest.clone(),
                media_type: media,
            });
        }
    };
    Ok((media, doc))
}

fn size(what: &'static str, owner: &Digest, size: i64) -> Result<u64, ImageError> {
    u64::try_from(size).map_err(|_| bad(what, owner, format!("negative size {size}")))
}

fn digest(what: &'static str, owner: &Digest, d: &str) -> Result<Digest, ImageError> {
    d.parse().map_err(|e| bad(what, owner, e))
}

/// A descriptor of a manifest (`owner` names the document it is in, for errors).
pub(crate) fn descriptor(owner: &Digest, d: &OciDescriptor) -> Result<Descriptor, ImageError> {
    Ok(Descriptor {
        media_type: d.media_type.clone(),
        digest: digest("manifest", owner, &d.digest)?,
        size: size("manifest", owner, d.size)?,
    })
}

pub(crate) fn entry_descriptor(
    owner: &Digest,
    e: &ImageIndexEntry,
) -> Result<Descriptor, ImageError> {
    Ok(Descriptor {
        media_type: e.media_type.clone(),
        digest: digest("index", owner, &e.digest)?,
        size: size("index", owner, e.size)?,
    })
}

pub(crate) fn entry_platform(e: &ImageIndexEntry) -> Option<Platform> {
    e.platform.as_ref().map(|p| {
        Platform::new(
            &p.os.to_string(),
            &p.architecture.to_string(),
            p.variant.as_deref(),
        )
    })
}

/// The first image of `index` for `want`; or the platforms it offers.
pub(crate) fn select<'a>(
    index: &'a OciImageIndex,
    want: &Platform,
) -> Result<&'a ImageIndexEntry, Vec<String>> {
    let is_image = |e: &ImageIndexEntry| {
        matches!(
            e.media_type.as_str(),
            media_type::OCI_MANIFEST
                | media_type::DOCKER_MANIFEST
                | media_type::OCI_INDEX
                | media_type::DOCKER_LIST
        )
    };
    index
        .manifests
        .iter()
        .filter(|e| is_image(e))
        .find(|e| entry_platform(e).is_some_and(|p| want.matches(&p)))
        .ok_or_else(|| {
            index
                .manifests
                .iter()
                .filter_map(entry_platform)
                .filter(|p| p.os() != "unknown")
                .map(|p| p.to_string())
                .collect()
        })
}

#[derive(Deserialize)]
struct ConfigWire {
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    rootfs: Option<RootFsWire>,
    #[serde(default)]
    config: Option<ContainerConfigWire>,
}

/// The config's `config`: what a container of the image runs with.
#[derive(Deserialize)]
struct ContainerConfigWire {
    #[serde(default, rename = "Env")]
    env: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RootFsWire {
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// What envaudit reads from an image config: its platform, the layer `diff_ids` and the
/// environment its processes start with.
pub(crate) struct ImageConfig {
    pub platform: Option<Platform>,
    pub diff_ids: Vec<Digest>,
    /// `config.Env`, `KEY=value` entries as written (may hold secrets: never printed).
    pub env: Vec<String>,
}

pub(crate) fn parse_config(digest: &Digest, bytes: &[u8]) -> Result<ImageConfig, ImageError> {
    let wire: ConfigWire = serde_json::from_slice(bytes).map_err(|e| bad("config", digest, e))?;
    let platform = match (&wire.os, &wire.architecture) {
        (Some(os), Some(arch)) if !os.is_empty() && !arch.is_empty() => {
            Some(Platform::new(os, arch, wire.variant.as_deref()))
        }
        _ => None,
    };
    let diff_ids = wire
        .rootfs
        .map(|r| r.diff_ids)
        .unwrap_or_default()
        .iter()
        .map(|d| d.parse().map_err(|e| bad("config", digest, e)))
        .collect::<Result<_, _>>()?;
    let env = wire.config.and_then(|c| c.env).unwrap_or_default();
    Ok(ImageConfig {
        platform,
        diff_ids,
        env,
    })
}
