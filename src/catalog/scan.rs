//! Cataloging an image: each layer's facts come from the layer cache or from the layer's
//! stream (verified against its digest as it is read), walked in parallel across cores;
//! the facts are then merged in layer order into the image's view.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Catalog, catalog_view, walk_layers_with};
use crate::image::{Image, ImageError};
use crate::layer::{self, LayerCache, LayerFacts, Limits};
use crate::model::Digest;
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
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            limits: Limits::default(),
            cache: None,
            progress: Arc::new(NoProgress),
            base_diff_ids: None,
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
        readers.push(Counted {
            inner,
            progress: Arc::clone(&progress),
            total: Arc::clone(&total),
        });
    }
    let digests: Vec<Digest> = to_walk.iter().map(|&i| layers[i].digest.clone()).collect();
    let opts = options.clone();
    let (walked, cache_errors) = tokio::task::spawn_blocking(move || {
        let errors = std::sync::Mutex::new(Vec::new());
        let walked = walk_layers_with(readers, &opts.limits, |i, f| {
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
    for (i, f) in to_walk.into_iter().zip(walked) {
        facts[i] = Some(f);
    }
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
