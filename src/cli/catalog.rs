//! `envaudit catalog SOURCE`: the packages installed in a folder or an image.

use std::io::Write;
use std::path::Path;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Exit;
use crate::catalog::{self, Catalog, Progress, ScanOptions};
use crate::image::{self, ResolveOptions};
use crate::layer::{LayerCache, Limits};
use crate::model::{Ecosystem, ImageSource, Platform};
use crate::registry::{CachingRegistry, CredentialStore, HttpRegistry, TransportPolicy};
use crate::render::{self, Format};

#[derive(Debug, Args)]
pub(crate) struct CatalogArgs {
    /// A folder (conda prefix, venv, site-packages, unpacked root filesystem) or an image:
    /// `REG/REPO:TAG[@DIGEST]`, `oci:DIR[:TAG]`, `docker-archive:FILE`
    source: String,

    /// Platform to take from a multi-platform image (default linux/amd64)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<Platform>,

    /// Only these ecosystems (comma-separated)
    #[arg(long, value_enum, value_delimiter = ',')]
    ecosystem: Vec<EcosystemArg>,

    /// Output format
    #[arg(long, value_enum, default_value_t = CatalogFormat::Table)]
    format: CatalogFormat,

    /// Registry host (HOST[:PORT]) to reach over plain HTTP (loopback hosts always may)
    #[arg(long, value_name = "HOST")]
    insecure_registry: Vec<String>,

    /// The definition's base image: the image's layers that repeat its layers are marked as
    /// the base image's (same forms as SOURCE)
    #[arg(long, value_name = "IMAGE")]
    base_image: Option<String>,

    /// Read every layer, neither using nor filling the layer cache
    /// (`$ENVAUDIT_CACHE_DIR`, else the user cache folder)
    #[arg(long)]
    no_cache: bool,

    /// Stop reading a layer (or a folder's metadata files) after this many bytes, with a
    /// partial result: a number with an optional K, M, G or T suffix (powers of 1024)
    #[arg(long, value_name = "SIZE", default_value = "8G", value_parser = parse_size)]
    max_layer_size: u64,
}

/// `123`, `64K`, `512M`, `8G`, `1T` (also `KiB`, `MB`, ...: all powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as `512M` or `8G`"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("`{text}` has an unknown unit (use K, M, G or T)")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EcosystemArg {
    Python,
    Conda,
    Deb,
    Apk,
}

impl From<EcosystemArg> for Ecosystem {
    fn from(e: EcosystemArg) -> Ecosystem {
        match e {
            EcosystemArg::Python => Ecosystem::Pip,
            EcosystemArg::Conda => Ecosystem::Conda,
            EcosystemArg::Deb => Ecosystem::Deb,
            EcosystemArg::Apk => Ecosystem::Apk,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CatalogFormat {
    Table,
    Json,
}

pub(crate) fn run(args: &CatalogArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let folder = Path::new(&args.source);
    let limits = Limits {
        max_layer_bytes: args.max_layer_size,
        ..Limits::default()
    };
    let mut catalog = if folder.is_dir() {
        catalog::catalog_folder_with(folder, &limits)
    } else {
        let source: ImageSource = args.source.parse()?;
        catalog_image(args, &source, limits)
            .with_context(|| format!("cannot catalog `{source}`"))?
    };
    if !args.ecosystem.is_empty() {
        let keep: Vec<Ecosystem> = args
            .ecosystem
            .iter()
            .copied()
            .map(Ecosystem::from)
            .collect();
        catalog.packages.retain(|p| keep.contains(&p.ecosystem));
    }
    let format = match args.format {
        CatalogFormat::Table => Format::Table,
        CatalogFormat::Json => Format::Json,
    };
    super::write_or_pipe(render::render_catalog(&args.source, &catalog, format, out))?;
    Ok(Exit::Ok)
}

/// Catalog an image: layers from the cache or streamed and verified, walked in parallel.
fn catalog_image(
    args: &CatalogArgs,
    source: &ImageSource,
    limits: Limits,
) -> anyhow::Result<Catalog> {
    let scanner = Scanner::new(
        &args.insecure_registry,
        args.platform.clone(),
        args.no_cache,
        limits,
    )?;
    let base: Option<ImageSource> = args
        .base_image
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("invalid --base-image")?;
    let scanned = scanner.scan(source, base.as_ref())?;
    Ok(scanned.catalog)
}

/// The registry client, the async runtime and the scan settings that image commands share.
pub(crate) struct Scanner {
    registry: CachingRegistry<HttpRegistry>,
    runtime: tokio::runtime::Runtime,
    options: ResolveOptions,
    scan: ScanOptions,
    progress: Arc<Bar>,
}

/// An image scanned: what it resolved to and what is installed in it.
pub(crate) struct Scanned {
    pub image: crate::image::ResolvedImage,
    pub catalog: Catalog,
    /// The base image (when given) and how many of the image's layers are its.
    pub base: Option<(crate::image::ResolvedImage, Option<usize>)>,
}

impl Scanned {
    /// The snapshot of this image for `definition`, the image recorded as `reference`.
    pub(crate) fn snapshot(
        &self,
        definition: Option<(&crate::definition::EnvDefinition, &crate::hash::HashReport)>,
        lockfile_dir: &Path,
        reference: &str,
    ) -> crate::lockfile::Snapshot {
        let (base_image_digest, base_layers) = match &self.base {
            Some((b, count)) => (b.manifest.as_ref().map(|m| m.digest.clone()), *count),
            None => (None, None),
        };
        crate::scan::snapshot::snapshot(&crate::scan::snapshot::Observed {
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
    pub(crate) fn new(
        insecure_registries: &[String],
        platform: Option<Platform>,
        no_cache: bool,
        limits: Limits,
    ) -> anyhow::Result<Self> {
        let policy = TransportPolicy {
            insecure_registries: insecure_registries.to_vec(),
            ..TransportPolicy::default()
        };
        let registry =
            CachingRegistry::new(HttpRegistry::new(policy, CredentialStore::from_env())?);
        // Multi-threaded: the walker's threads block on reads that the runtime serves.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let progress = Arc::new(Bar::new());
        let scan = ScanOptions {
            limits,
            cache: if no_cache {
                None
            } else {
                LayerCache::default_dir().map(LayerCache::new)
            },
            progress: progress.clone(),
            base_diff_ids: None,
        };
        Ok(Scanner {
            registry,
            runtime,
            options: ResolveOptions { platform },
            scan,
            progress,
        })
    }

    /// Resolves an image without reading its layers.
    pub(crate) fn resolve(
        &self,
        source: &ImageSource,
    ) -> anyhow::Result<crate::image::ResolvedImage> {
        Ok(self
            .runtime
            .block_on(image::resolve(&self.registry, source, &self.options))?)
    }

    /// The digest a tag names in its registry (a HEAD request), `None` when it is missing.
    pub(crate) fn tag_digest(
        &self,
        image: &crate::model::ImageRef,
    ) -> Result<Option<crate::model::Digest>, crate::registry::RegistryError> {
        let tag = image.tag().unwrap_or(crate::build::CACHE_TAG);
        self.runtime
            .block_on(self.registry.inner().tag_digest(image, tag))
    }

    /// Point `tag` of `repo` at the manifest `digest` of the same repository: the manifest
    /// is read (verified) and stored again under the tag.
    pub(crate) fn move_tag(
        &self,
        repo: &crate::model::ImageRef,
        tag: &str,
        digest: &crate::model::Digest,
    ) -> anyhow::Result<crate::model::Digest> {
        use crate::registry::{ManifestRef, Registry as _};
        self.runtime.block_on(async {
            let m = self
                .registry
                .inner()
                .manifest(repo, ManifestRef::Digest(digest))
                .await?;
            let media_type = m
                .content_type
                .clone()
                .unwrap_or_else(|| crate::registry::media_type::OCI_MANIFEST.to_owned());
            Ok(self
                .registry
                .inner()
                .put_manifest(repo, tag, &media_type, m.bytes)
                .await?)
        })
    }

    /// Resolves several images concurrently, in order.
    pub(crate) fn resolve_all(
        &self,
        sources: &[ImageSource],
    ) -> Vec<Result<crate::image::ResolvedImage, crate::image::ImageError>> {
        self.runtime
            .block_on(image::resolve_all(&self.registry, sources, &self.options))
    }

    /// Resolves and catalogs an image; with a base image, marks the layers that are its.
    pub(crate) fn scan(
        &self,
        source: &ImageSource,
        base: Option<&ImageSource>,
    ) -> anyhow::Result<Scanned> {
        let mut scan = self.scan.clone();
        let (resolved, catalog, stats, base_resolved) = self.runtime.block_on(async {
            let mut base_resolved = None;
            if let Some(base) = base {
                let resolved = image::resolve(&self.registry, base, &self.options)
                    .await
                    .with_context(|| format!("cannot resolve the base image `{base}`"))?;
                scan.base_diff_ids =
                    Some(resolved.layers.iter().map(|l| l.diff_id.clone()).collect());
                base_resolved = Some(resolved);
            }
            let image = image::open(&self.registry, source, &self.options).await?;
            let (catalog, stats) = catalog::scan_image(&self.registry, &image, &scan).await?;
            anyhow::Ok((image.resolved, catalog, stats, base_resolved))
        })?;
        self.progress.bar.finish_and_clear();
        for e in &stats.cache_errors {
            eprintln!("warning: {e}");
        }
        if let (None, Some(base)) = (stats.base_layers, base) {
            eprintln!(
                "warning: the image does not start with the layers of the base image `{base}`; no package is marked as the base image's"
            );
        }
        let base = base_resolved.map(|b| (b, stats.base_layers));
        Ok(Scanned {
            image: resolved,
            catalog,
            base,
        })
    }
}

/// A progress bar on standard error (drawn only on a terminal): bytes read, layers done.
pub(crate) struct Bar {
    bar: ProgressBar,
    layers: AtomicUsize,
    total: AtomicUsize,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} layers {msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Bar {
            bar,
            layers: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
        }
    }

    fn layer(&self) {
        let done = self.layers.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar
            .set_message(format!("{done}/{}", self.total.load(Ordering::Relaxed)));
    }
}

impl Progress for Bar {
    fn start(&self, layers: usize, bytes: u64) {
        self.total.store(layers, Ordering::Relaxed);
        self.bar.set_length(bytes);
        self.bar.set_message(format!("0/{layers}"));
        self.bar.enable_steady_tick(Duration::from_millis(120));
    }

    fn cached(&self, bytes: u64) {
        self.bar.inc(bytes);
        self.layer();
    }

    fn read(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn layer_done(&self) {
        self.layer();
    }
}
