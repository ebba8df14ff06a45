//! Cataloging an image: each layer's facts come from the layer cache or from the layer's
//! stream (verified against its digest as it is read), walked in parallel across cores;
//! the facts are then merged in layer order into the image's view.
//!
//! With [`ScanOptions::verify_diff_ids`], each layer read is also checked against the
//! config's `diff_ids`: its uncompressed tar stream is hashed as it is walked and compared
//! with the layer's `diff_id` ([`DiffIdCheck`], one per layer in [`ScanStats::diff_ids`]).
//! What that proves depends on where the layer's facts came from:
//! - **read** ([`DiffIdCheck::Verified`]): the blob was read now, verified against its
//!   compressed digest, and its uncompressed bytes hash to the `diff_id`.
//! - **layer cache** ([`DiffIdCheck::VerifiedFromCache`]): the cache entry of this blob
//!   digest recorded, when the blob was read before, the digest its uncompressed bytes had;
//!   that digest equals the `diff_id`. Decompression is deterministic, so this is the same
//!   answer, *provided the local cache folder is trusted*; nothing was read from the image
//!   now, so it does not prove the source still serves the blob. An entry without that
//!   digest (written by a scan that did not hash) is a miss: the layer is read again.
//! - Without the option, layers are not hashed and each check is
//!   [`DiffIdCheck::Unchecked`]; a cache entry that does hold the digest is still compared.
//!
//! A mismatch never stops the scan: the catalog of what the blobs hold is still made, and
//! the mismatch is returned beside it (the scanner makes it a `diff-id-mismatch` finding).

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::{Catalog, catalog_view, walk_layers_hashed};
use crate::image::{Image, ImageError, Layer};
use crate::layer::{self, LayerCache, LayerFacts, Limits};
use crate::model::{Digest, DigestAlgorithm};
use crate::registry::Registry;

/// Hears how a scan advances; every method has an empty default. Called from several
/// threads.
pub trait Progress: Send + Sync {
    /// The scan starts: `layers` layers of `bytes` (compressed) bytes in all.
    fn start(&self, _layers: usize, _bytes: u64) {}
    /// A layer of `bytes` compressed bytes came from the cache.
    fn cached(&self, _bytes: u64) {}
    /// Compressed bytes were read from a layer stream.
    fn read(&self, _bytes: u64) {}
    /// A layer was walked.
    fn layer_done(&self) {}
    /// The scan ended.
    fn finish(&self) {}
}

/// A [`Progress`] that hears nothing.
pub struct NoProgress;

impl Progress for NoProgress {}

/// How to scan an image.
#[derive(Clone)]
pub struct ScanOptions {
    /// Bounds on what each layer walk reads and keeps.
    pub limits: Limits,
    /// Where layer facts are looked up and stored; `None` reads every layer.
    pub cache: Option<LayerCache>,
    /// Told how the scan advances; [`NoProgress`] by default.
    pub progress: Arc<dyn Progress>,
    /// The base image's layers (`diff_ids`, bottom first), when known: the image's layers
    /// that repeat them are marked as the base image's.
    pub base_diff_ids: Option<Vec<Digest>>,
    /// Hash each layer's uncompressed tar stream as it is walked and compare it with the
    /// config's `diff_id` (see the module documentation). A cache entry that lacks that
    /// digest is then a miss. Off by default: it costs one more SHA-256 pass over the
    /// uncompressed bytes (`docs/performance.md`).
    pub verify_diff_ids: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            limits: Limits::default(),
            cache: None,
            progress: Arc::new(NoProgress),
            base_diff_ids: None,
            verify_diff_ids: false,
        }
    }
}

/// How one layer's content compared with the config's `diff_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum DiffIdCheck {
    /// The layer was read by this scan and its uncompressed tar stream hashes to its
    /// `diff_id`.
    Verified,
    /// The layer came from the layer cache, whose entry recorded (when the blob was read
    /// before) a digest of its uncompressed stream equal to the `diff_id`. Not re-read.
    VerifiedFromCache,
    /// The layer's uncompressed content is not what its `diff_id` says.
    Mismatch(DiffIdMismatch),
    /// Not checked: hashing was off, or the walk stopped before the stream's end (a limit,
    /// a malformed or truncated layer: the catalog is then partial and says why).
    Unchecked,
}

/// A layer whose uncompressed tar stream does not hash to the `diff_id` the image config
/// lists for it, while its blob matched its (compressed) digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error(
    "layer {index} (`{digest}`) decompresses to content with digest `{actual}`, but the image config's diff_id for it is `{expected}`"
)]
pub struct DiffIdMismatch {
    /// The layer's position, 0 for the bottom layer.
    pub index: usize,
    /// The layer's blob digest, as the manifest lists it (compressed, when the layer is).
    pub digest: Digest,
    /// The `diff_id` the config lists for the layer.
    pub expected: Digest,
    /// The digest of the layer's uncompressed tar stream as read.
    pub actual: Digest,
}

impl DiffIdCheck {
    /// Compares the digest a walk (or a cache entry) recorded with the layer's `diff_id`.
    fn of(index: usize, layer: &Layer, actual: Option<&Digest>, from_cache: bool) -> Self {
        match actual {
            None => DiffIdCheck::Unchecked,
            Some(a) if *a == layer.diff_id => {
                if from_cache {
                    DiffIdCheck::VerifiedFromCache
                } else {
                    DiffIdCheck::Verified
                }
            }
            Some(a) => DiffIdCheck::Mismatch(DiffIdMismatch {
                index,
                digest: layer.digest.clone(),
                expected: layer.diff_id.clone(),
                actual: a.clone(),
            }),
        }
    }
}

/// What a scan did, beside its result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// How many layers the image has.
    pub layers: usize,
    /// Layers whose facts came from the cache.
    pub from_cache: usize,
    /// Compressed bytes read from layer streams.
    pub bytes_read: u64,
    /// How many bottom layers are the base image's: `None` when no base was given or the
    /// image does not start with the base image's layers.
    pub base_layers: Option<usize>,
    /// Cache entries that could not be written (the scan itself is unaffected).
    pub cache_errors: Vec<String>,
    /// Each layer's content against its `diff_id`, bottom first (see [`DiffIdCheck`]).
    pub diff_ids: Vec<DiffIdCheck>,
}

impl ScanStats {
    /// The layers whose content is not what their `diff_id` says.
    pub fn diff_id_mismatches(&self) -> impl Iterator<Item = &DiffIdMismatch> {
        self.diff_ids.iter().filter_map(|c| match c {
            DiffIdCheck::Mismatch(m) => Some(m),
            _ => None,
        })
    }
}

/// How many of `image`'s bottom layers are `base`'s, when `base` is a prefix of `image`.
pub fn base_layer_count(image: &[Digest], base: &[Digest]) -> Option<usize> {
    image.starts_with(base).then_some(base.len())
}

/// Catalogs an opened image. `registry` serves registry sources (any will do for local
/// ones). Must run on a multi-threaded tokio runtime: the walk's threads block on reads the
/// runtime serves.
pub async fn scan_image<R: Registry>(
    registry: &R,
    image: &Image,
    options: &ScanOptions,
) -> Result<(Catalog, ScanStats), ImageError> {
    let (view, stats) = view_image(registry, image, options).await?;
    Ok((catalog_view(&view), stats))
}

/// The merged view of an opened image's layers (whiteouts applied), each layer's facts from
/// the cache or walked (and then cached), as [`scan_image`] catalogs it. Same runtime rule.
pub async fn view_image<R: Registry>(
    registry: &R,
    image: &Image,
    options: &ScanOptions,
) -> Result<(layer::FsView, ScanStats), ImageError> {
    let layers = &image.resolved.layers;
    let progress = Arc::clone(&options.progress);
    progress.start(layers.len(), image.resolved.layers_size());
    let mut stats = ScanStats {
        layers: layers.len(),
        ..ScanStats::default()
    };
    let mut facts: Vec<Option<LayerFacts>> = vec![None; layers.len()];
    let mut to_walk = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        match options
            .cache
            .as_ref()
            .and_then(|c| c.get(&l.digest, &options.limits))
            .filter(|f| !options.verify_diff_ids || f.diff_id.is_some())
        {
            Some(f) => {
                progress.cached(l.size);
                stats.from_cache += 1;
                facts[i] = Some(f);
            }
            None => to_walk.push(i),
        }
    }
    let total = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::with_capacity(to_walk.len());
    for &i in &to_walk {
        // A local layout's files are read by the walking threads themselves.
        let inner: Box<dyn Read + Send> = match image.open_layer_blocking(i) {
            Some(file) => Box::new(file?),
            None => Box::new(tokio_util::io::SyncIoBridge::new(
                image.open_layer(registry, i).await?,
            )),
        };
        let algorithm: Option<DigestAlgorithm> = options
            .verify_diff_ids
            .then(|| layers[i].diff_id.algorithm());
        readers.push((
            Counted {
                inner,
                progress: Arc::clone(&progress),
                total: Arc::clone(&total),
            },
            algorithm,
        ));
    }
    let digests: Vec<Digest> = to_walk.iter().map(|&i| layers[i].digest.clone()).collect();
    let opts = options.clone();
    let (walked, cache_errors) = tokio::task::spawn_blocking(move || {
        let errors = std::sync::Mutex::new(Vec::new());
        let walked = walk_layers_hashed(readers, &opts.limits, |i, f| {
            opts.progress.layer_done();
            if let Some(cache) = &opts.cache
                && let Err(e) = cache.put(&digests[i], &opts.limits, f)
                && let Ok(mut errors) = errors.lock()
            {
                errors.push(format!("cannot cache layer {}: {e}", digests[i]));
            }
        });
        (walked, errors.into_inner().unwrap_or_default())
    })
    .await
    .map_err(|e| match e.try_into_panic() {
        Ok(panic) => std::panic::resume_unwind(panic),
        Err(e) => ImageError::WalkInterrupted(e.to_string()),
    })?;
    stats.bytes_read = total.load(Ordering::Relaxed);
    stats.cache_errors = cache_errors;
    let mut walked_now = vec![false; layers.len()];
    for (i, f) in to_walk.into_iter().zip(walked) {
        facts[i] = Some(f);
        walked_now[i] = true;
    }
    stats.diff_ids = layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let actual = facts[i].as_ref().and_then(|f| f.diff_id.as_ref());
            DiffIdCheck::of(i, l, actual, !walked_now[i])
        })
        .collect();
    let facts: Vec<LayerFacts> = facts
        .into_iter()
        .zip(layers)
        .map(|(f, l)| LayerFacts {
            digest: Some(l.digest.clone()),
            ..f.unwrap_or_default()
        })
        .collect();
    let mut view = layer::merge(&facts);
    if let Some(base) = &options.base_diff_ids {
        let diff_ids: Vec<Digest> = layers.iter().map(|l| l.diff_id.clone()).collect();
        stats.base_layers = base_layer_count(&diff_ids, base);
        if let Some(count) = stats.base_layers {
            view.mark_base_layers(count);
        }
    }
    Ok((view, stats))
}

/// A layer stream that tells the progress how much it read.
struct Counted<R> {
    inner: R,
    progress: Arc<dyn Progress>,
    total: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total.fetch_add(n as u64, Ordering::Relaxed);
        self.progress.read(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_layers_are_a_prefix() {
        let d = |s: &str| Digest::sha256_of(s.as_bytes());
        let image = [d("a"), d("b"), d("c")];
        assert_eq!(base_layer_count(&image, &[d("a"), d("b")]), Some(2));
        assert_eq!(base_layer_count(&image, &[]), Some(0));
        assert_eq!(base_layer_count(&image, &[d("b")]), None);
        assert_eq!(base_layer_count(&image[..1], &image), None);
    }
}
