//! `envaudit catalog SOURCE`: the packages installed in a folder or an image.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Exit;
use crate::catalog::{self, Catalog};
use crate::image::{self, ResolveOptions};
use crate::layer::{self, Limits};
use crate::model::{Ecosystem, ImageSource, Platform};
use crate::registry::{CachingRegistry, CredentialStore, HttpRegistry, TransportPolicy};
use crate::report::{self, Format};

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
    let mut catalog = if folder.is_dir() {
        catalog::catalog_folder(folder)
    } else {
        let source: ImageSource = args.source.parse()?;
        catalog_image(args, &source).with_context(|| format!("cannot catalog `{source}`"))?
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
    super::write_or_pipe(report::render_catalog(&args.source, &catalog, format, out))?;
    Ok(Exit::Ok)
}

/// Stream every layer of an image, verified as it is read, through the layer walker.
fn catalog_image(args: &CatalogArgs, source: &ImageSource) -> anyhow::Result<Catalog> {
    let policy = TransportPolicy {
        insecure_registries: args.insecure_registry.clone(),
        ..TransportPolicy::default()
    };
    let registry = CachingRegistry::new(HttpRegistry::new(policy, CredentialStore::from_env())?);
    // Multi-threaded: the walker's threads block on reads that the runtime serves.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let options = ResolveOptions {
        platform: args.platform.clone(),
    };
    runtime.block_on(async {
        let image = image::open(&registry, source, &options).await?;
        let layers = image.resolved.layers.clone();
        let mut readers = Vec::with_capacity(layers.len());
        for i in 0..layers.len() {
            readers.push(tokio_util::io::SyncIoBridge::new(
                image.open_layer(&registry, i).await?,
            ));
        }
        let catalog = tokio::task::spawn_blocking(move || {
            let mut facts = catalog::walk_layers(readers, &Limits::default());
            for (f, l) in facts.iter_mut().zip(&layers) {
                f.digest = Some(l.digest.clone());
            }
            catalog::catalog_view(&layer::merge(&facts))
        })
        .await?;
        Ok(catalog)
    })
}
