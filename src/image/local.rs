//! Images on disk: OCI image layouts (`oci:DIR`) and `docker save` archives
//! (`docker-archive:FILE`), legacy (`manifest.json`) or with an OCI layout inside.

use std::collections::HashMap;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oci_client::manifest::{ImageIndexEntry, OciImageIndex};
use serde::Deserialize;
use tokio::io::AsyncReadExt as _;

use super::{
    Descriptor, Image, ImageError, Layer, ResolveOptions, ResolvedImage, Store, check_size,
    document,
};
use crate::model::{Digest, ImageRef, ImageSource};
use crate::registry::verify::VerifyingReader;
use crate::registry::{BlobReader, IntegrityError, MAX_MANIFEST_BYTES, media_type};

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// Where an opened image's blobs are.
pub(crate) enum Backing {
    Registry(ImageRef),
    /// An OCI layout folder.
    Dir(PathBuf),
    /// A tar file: its regular files by path; `legacy_layers` are the layer paths of a
    /// legacy archive (whose layers are not named by digest).
    Tar {
        file: PathBuf,
        entries: Arc<HashMap<String, Entry>>,
        legacy_layers: Option<Vec<String>>,
    },
}

/// A file inside a tar: where its bytes start and how many there are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    offset: u64,
    size: u64,
}

pub(crate) fn blob_path(digest: &Digest) -> String {
    let s = digest.to_string();
    let (alg, hex) = s.split_once(':').unwrap_or(("sha256", &s));
    format!("blobs/{alg}/{hex}")
}

fn io_err(path: &Path, source: std::io::Error) -> ImageError {
    ImageError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Backing {
    fn path(&self) -> &Path {
        match self {
            Backing::Registry(_) => Path::new(""),
            Backing::Dir(d) => d,
            Backing::Tar { file, .. } => file,
        }
    }

    /// The bytes of the file at `rel` (at most `limit`), or `None` when there is none.
    fn read(&self, rel: &str, limit: u64) -> Result<Option<Vec<u8>>, ImageError> {
        match self {
            Backing::Registry(_) => Ok(None),
            Backing::Dir(dir) => {
                let p = dir.join(rel);
                let f = match std::fs::File::open(&p) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io_err(&p, e)),
                };
                let mut out = Vec::new();
                f.take(limit + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| io_err(&p, e))?;
                Ok(Some(out))
            }
            Backing::Tar { file, entries, .. } => {
                let Some(e) = entries.get(rel) else {
                    return Ok(None);
                };
                let mut f = std::fs::File::open(file).map_err(|e| io_err(file, e))?;
                f.seek(SeekFrom::Start(e.offset))
                    .map_err(|e| io_err(file, e))?;
                // A capacity hint only.
                let mut out =
                    Vec::with_capacity(usize::try_from(e.size.min(limit + 1)).unwrap_or(0));
                f.take(e.size.min(limit + 1))
                    .read_to_end(&mut out)
                    .map_err(|e| io_err(file, e))?;
                Ok(Some(out))
            }
        }
    }

    /// A blob, checked against its descriptor.
    fn blob(
        &self,
        desc: &Descriptor,
        what: &'static str,
        limit: u64,
    ) -> Result<bytes::Bytes, ImageError> {
        let bytes =
            self.read(&blob_path(&desc.digest), limit)?
                .ok_or_else(|| ImageError::MissingBlob {
                    path: self.path().to_owned(),
                    digest: desc.digest.clone(),
                })?;
        if bytes.len() as u64 > limit {
            return Err(ImageError::TooLarge {
                what,
                digest: desc.digest.clone(),
                limit,
            });
        }
        let actual = desc.digest.recompute(&bytes);
        if actual != desc.digest {
            return Err(IntegrityError::DigestMismatch {
                what: what.to_owned(),
                expected: desc.digest.clone(),
                actual,
            }
            .into());
        }
        check_size(desc, bytes.len())?;
        Ok(bytes.into())
    }

    pub(crate) async fn open_layer(
        &self,
        index: usize,
        layer: &Layer,
    ) -> Result<BlobReader, ImageError> {
        match self {
            Backing::Registry(_) => unreachable_registry(),
            Backing::Dir(dir) => {
                let p = dir.join(blob_path(&layer.digest));
                let f = tokio::fs::File::open(&p).await.map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        ImageError::MissingBlob {
                            path: dir.clone(),
                            digest: layer.digest.clone(),
                        }
                    } else {
                        io_err(&p, e)
                    }
                })?;
                Ok(BlobReader::new(VerifyingReader::new(
                    f,
                    "layer",
                    layer.digest.clone(),
                    Some(layer.size),
                )))
            }
            Backing::Tar {
                file,
                entries,
                legacy_layers,
            } => {
                let rel = match legacy_layers {
                    Some(paths) => paths[index].clone(),
                    None => blob_path(&layer.digest),
                };
                let e = *entries.get(&rel).ok_or_else(|| ImageError::MissingBlob {
                    path: file.clone(),
                    digest: layer.digest.clone(),
                })?;
                let mut f = std::fs::File::open(file).map_err(|e| io_err(file, e))?;
                f.seek(SeekFrom::Start(e.offset))
                    .map_err(|e| io_err(file, e))?;
                let f = tokio::fs::File::from_std(f).take(e.size);
                Ok(BlobReader::new(VerifyingReader::new(
                    f,
                    "layer",
                    layer.digest.clone(),
                    Some(layer.size),
                )))
            }
        }
    }
}

fn unreachable_registry() -> Result<BlobReader, ImageError> {
    // `Image::open_layer` serves registry images itself.
    Err(ImageError::NoSuchLayer { index: 0, count: 0 })
}

impl Store for Backing {
    async fn manifest(&self, desc: &Descriptor) -> Result<bytes::Bytes, ImageError> {
        self.blob(desc, "manifest", MAX_MANIFEST_BYTES)
    }

    async fn config(&self, desc: &Descriptor) -> Result<bytes::Bytes, ImageError> {
        self.blob(desc, "config", super::MAX_CONFIG_BYTES)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayoutWire {
    image_layout_version: String,
}

fn names(e: &ImageIndexEntry) -> Vec<&str> {
    e.annotations
        .iter()
        .flat_map(|a| [a.get(CONTAINERD_NAME), a.get(REF_NAME)])
        .flatten()
        .map(String::as_str)
        .collect()
}

/// The `index.json` of a layout, and the entry the reference picks.
async fn open_oci(
    source: &ImageSource,
    backing: Backing,
    wanted: Option<&str>,
    wanted_ref: Option<&ImageRef>,
    options: &ResolveOptions,
) -> Result<Image, ImageError> {
    let path = backing.path().to_owned();
    let not_layout = |reason: String| ImageError::NotALayout {
        path: path.clone(),
        reason,
    };
    let layout = backing
        .read("oci-layout", 4096)?
        .ok_or_else(|| not_layout("it has no `oci-layout` file".to_owned()))?;
    let layout: LayoutWire = serde_json::from_slice(&layout)
        .map_err(|e| not_layout(format!("`oci-layout` is not valid: {e}")))?;
    if !layout.image_layout_version.starts_with("1.") {
        return Err(not_layout(format!(
            "unsupported `imageLayoutVersion` `{}`",
            layout.image_layout_version
        )));
    }
    let index = backing
        .read("index.json", MAX_MANIFEST_BYTES)?
        .ok_or_else(|| not_layout("it has no `index.json`".to_owned()))?;
    // `index.json` is not a blob; its digest names it in messages.
    let index_digest = Digest::sha256_of(&index);
    let index: OciImageIndex = serde_json::from_slice(&index)
        .map_err(|e| not_layout(format!("`index.json` is not valid: {e}")))?;
    let all_names: Vec<String> = index
        .manifests
        .iter()
        .flat_map(names)
        .map(str::to_owned)
        .collect();
    let chosen: Vec<&ImageIndexEntry> = match (wanted, wanted_ref) {
        (Some(tag), _) => index
            .manifests
            .iter()
            .filter(|e| {
                names(e)
                    .iter()
                    .any(|n| *n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag))
            })
            .collect(),
        (None, Some(r)) => {
            let full = r.to_string();
            index
                .manifests
                .iter()
                .filter(|e| {
                    names(e)
                        .iter()
                        .any(|n| *n == full || n.parse::<ImageRef>().is_ok_and(|p| &p == r))
                })
                .collect()
        }
        (None, None) => index.manifests.iter().collect(),
    };
    let name = wanted
        .map(str::to_owned)
        .or_else(|| wanted_ref.map(ToString::to_string));
    let entry = match (chosen.as_slice(), name) {
        ([one], _) => *one,
        ([], Some(name)) => {
            return Err(ImageError::NameNotFound {
                path,
                name,
                available: all_names,
            });
        }
        (many, None)
            if many.len() > 1
                && many
                    .iter()
                    .all(|e| e.platform.is_some() && names(e).is_empty()) =>
        {
            // `index.json` itself lists one image per platform.
            let want = options
                .platform
                .clone()
                .unwrap_or_else(crate::model::Platform::linux_amd64);
            document::select(&index, &want).map_err(|available| ImageError::NoPlatform {
                index: index_digest.clone(),
                platform: want.to_string(),
                available,
            })?
        }
        (many, _) => {
            return Err(ImageError::Ambiguous {
                path,
                count: many.len(),
                available: all_names,
            });
        }
    };
    let root = document::entry_descriptor(&index_digest, entry)?;
    let bytes = backing.manifest(&root).await?;
    let (resolved, env) = super::resolve_root(&backing, source, root, &bytes, options).await?;
    Ok(Image {
        resolved,
        env,
        backing,
    })
}

pub(crate) async fn open_layout(
    source: &ImageSource,
    dir: &Path,
    tag: Option<&str>,
    options: &ResolveOptions,
) -> Result<Image, ImageError> {
    let meta = std::fs::metadata(dir).map_err(|e| io_err(dir, e))?;
    if !meta.is_dir() {
        return Err(ImageError::NotALayout {
            path: dir.to_owned(),
            reason: "it is not a folder".to_owned(),
        });
    }
    open_oci(source, Backing::Dir(dir.to_owned()), tag, None, options).await
}

/// The regular files of a tar by normalised path; hard and symbolic links to them included.
fn scan_tar(file: &Path) -> Result<HashMap<String, Entry>, ImageError> {
    let not_archive = |reason: String| ImageError::NotAnArchive {
        path: file.to_owned(),
        reason,
    };
    let f = std::fs::File::open(file).map_err(|e| io_err(file, e))?;
    let mut archive = tar::Archive::new(f);
    let mut entries = HashMap::new();
    let mut links = Vec::new();
    for e in archive
        .entries_with_seek()
        .map_err(|e| not_archive(e.to_string()))?
    {
        let e = e.map_err(|e| not_archive(e.to_string()))?;
        let path = e
            .path()
            .map_err(|e| not_archive(e.to_string()))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_owned();
        let kind = e.header().entry_type();
        if kind.is_file() {
            entries.insert(
                path,
                Entry {
                    offset: e.raw_file_position(),
                    size: e.size(),
                },
            );
        } else if (kind.is_symlink() || kind.is_hard_link())
            && let Ok(Some(target)) = e.link_name()
        {
            let target = target.to_string_lossy().into_owned();
            let resolved = if kind.is_symlink() {
                let base = Path::new(&path).parent().unwrap_or(Path::new(""));
                normalise(&base.join(&target))
            } else {
                target.trim_start_matches("./").to_owned()
            };
            links.push((path, resolved));
        }
    }
    for (path, target) in links {
        if let Some(t) = entries.get(&target).copied() {
            entries.insert(path, t);
        }
    }
    Ok(entries)
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalise(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

#[derive(Deserialize)]
struct LegacyWire {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

pub(crate) async fn open_archive(
    source: &ImageSource,
    file: &Path,
    image: Option<&ImageRef>,
    options: &ResolveOptions,
) -> Result<Image, ImageError> {
    let entries = Arc::new(scan_tar(file)?);
    if entries.contains_key("oci-layout") && entries.contains_key("index.json") {
        let backing = Backing::Tar {
            file: file.to_owned(),
            entries,
            legacy_layers: None,
        };
        return open_oci(source, backing, None, image, options).await;
    }
    let backing = Backing::Tar {
        file: file.to_owned(),
        entries: entries.clone(),
        legacy_layers: None,
    };
    let not_archive = |reason: String| ImageError::NotAnArchive {
        path: file.to_owned(),
        reason,
    };
    let manifest = backing
        .read("manifest.json", MAX_MANIFEST_BYTES)?
        .ok_or_else(|| not_archive("it has neither `manifest.json` nor `index.json`".to_owned()))?;
    let images: Vec<LegacyWire> = serde_json::from_slice(&manifest)
        .map_err(|e| not_archive(format!("`manifest.json` is not valid: {e}")))?;
    let tags = |w: &LegacyWire| w.repo_tags.clone().unwrap_or_default();
    let available: Vec<String> = images.iter().flat_map(tags).collect();
    let chosen: Vec<&LegacyWire> = match image {
        Some(r) => images
            .iter()
            .filter(|w| {
                tags(w)
                    .iter()
                    .any(|t| t.parse::<ImageRef>().is_ok_and(|p| &p == r))
            })
            .collect(),
        None => images.iter().collect(),
    };
    let wire = match (chosen.as_slice(), image) {
        ([one], _) => *one,
        ([], Some(r)) => {
            return Err(ImageError::NameNotFound {
                path: file.to_owned(),
                name: r.to_string(),
                available,
            });
        }
        (many, _) => {
            return Err(ImageError::Ambiguous {
                path: file.to_owned(),
                count: many.len(),
                available,
            });
        }
    };
    let config_bytes = backing
        .read(&wire.config, super::MAX_CONFIG_BYTES)?
        .ok_or_else(|| not_archive(format!("`{}` is missing", wire.config)))?;
    let config_digest = Digest::sha256_of(&config_bytes);
    // The config is named after its digest (`HEX.json` or `blobs/sha256/HEX`): hold it to that.
    let stem = wire.config.rsplit('/').next().unwrap_or(&wire.config);
    let stem = stem.strip_suffix(".json").unwrap_or(stem);
    if let Ok(named) = format!("sha256:{stem}").parse::<Digest>()
        && named != config_digest
    {
        return Err(IntegrityError::DigestMismatch {
            what: format!("config `{}`", wire.config),
            expected: named,
            actual: config_digest,
        }
        .into());
    }
    let parsed = document::parse_config(&config_digest, &config_bytes)?;
    if parsed.diff_ids.len() != wire.layers.len() {
        return Err(ImageError::LayerCountMismatch {
            config: config_digest,
            diff_ids: parsed.diff_ids.len(),
            layers: wire.layers.len(),
        });
    }
    let mut layers = Vec::with_capacity(wire.layers.len());
    for (path, diff_id) in wire.layers.iter().zip(parsed.diff_ids) {
        let e = entries.get(path.trim_start_matches("./")).ok_or_else(|| {
            not_archive(format!(
                "layer `{path}` is listed in `manifest.json` but missing"
            ))
        })?;
        // A legacy archive stores each layer as its uncompressed tar: its digest is the diff_id.
        layers.push(Layer {
            media_type: media_type::DOCKER_LAYER_TAR.to_owned(),
            digest: diff_id.clone(),
            size: e.size,
            diff_id,
        });
    }
    if let (Some(requested), Some(actual)) = (&options.platform, &parsed.platform)
        && !requested.matches(actual)
    {
        return Err(ImageError::PlatformMismatch {
            requested: requested.to_string(),
            actual: actual.to_string(),
        });
    }
    let resolved = ResolvedImage {
        source: source.clone(),
        index: None,
        manifest: None,
        config: Descriptor {
            media_type: media_type::DOCKER_CONFIG.to_owned(),
            digest: config_digest,
            size: config_bytes.len() as u64,
        },
        platform: parsed.platform,
        layers,
    };
    let legacy_layers = wire
        .layers
        .iter()
        .map(|p| p.trim_start_matches("./").to_owned())
        .collect();
    Ok(Image {
        resolved,
        env: parsed.env,
        backing: Backing::Tar {
            file: file.to_owned(),
            entries,
            legacy_layers: Some(legacy_layers),
        },
    })
}
