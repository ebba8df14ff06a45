//! `envaudit catalog SOURCE`: the packages installed in a folder or an image.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Exit;
use super::args::FindingsArgs;
use crate::catalog::Catalog;
use crate::diag::Finding;
use crate::layer::Limits;
use crate::model::{Ecosystem, ImageSource, Platform};
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

    /// Also check each layer's uncompressed content against the `diff_id` the image config
    /// lists for it (one more SHA-256 pass per layer read); a mismatch is a
    /// `diff-id-mismatch` finding. Layers come from the cache only when it recorded their
    /// content digest; with `--no-cache` every layer is read and checked
    #[arg(long)]
    verify_diff_ids: bool,

    /// Stop reading a layer (or a folder's metadata files) after this many bytes, with a
    /// partial result: a number with an optional K, M, G or T suffix (powers of 1024)
    #[arg(long, value_name = "SIZE", default_value = "8G", value_parser = parse_size)]
    max_layer_size: u64,

    #[command(flatten)]
    findings: FindingsArgs,
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
    // Read before any work: the accepted findings.
    let config = args.findings.config()?;
    let folder = Path::new(&args.source);
    let limits = Limits {
        max_layer_bytes: args.max_layer_size,
        ..Limits::default()
    };
    if folder.is_dir() && args.verify_diff_ids {
        return Err(super::error::Hinted::new(
            format!(
                "`--verify-diff-ids` checks image layers, and `{}` is a folder: it has no layers and no diff_ids",
                args.source
            ),
            "leave out `--verify-diff-ids` for a folder; to catalog an OCI layout in this folder, write `oci:DIR`",
        )
        .into());
    }
    let (mut catalog, mut findings) = if folder.is_dir() {
        let catalog = super::catalog_live_folder(folder, &limits);
        let findings: Vec<Finding> =
            crate::scan::catalog_incomplete(&args.source, &catalog.completeness)
                .into_iter()
                .collect();
        super::print_warnings(&findings);
        (catalog, findings)
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
    // The scan's findings (a partial catalog, a diff_id mismatch, the layer cache) fail the
    // command only as `--fail-on` says; the JSON lists them, accepted ones marked.
    config.apply(&mut findings);
    super::write_or_pipe(render::render_catalog(
        &args.source,
        &catalog,
        &findings,
        format,
        out,
    ))?;
    Ok(args.findings.exit(&findings))
}

/// Catalog an image: layers from the cache or streamed and verified, walked in parallel;
/// with the scan's findings, already printed.
fn catalog_image(
    args: &CatalogArgs,
    source: &ImageSource,
    limits: Limits,
) -> anyhow::Result<(Catalog, Vec<Finding>)> {
    let scanner = super::progress::scanner_with(
        &args.insecure_registry,
        args.platform.clone(),
        args.no_cache,
        limits,
        args.verify_diff_ids,
    )?;
    let base: Option<ImageSource> = args
        .base_image
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("invalid --base-image")?;
    let scanned = scanner.scan(source, base.as_ref())?;
    super::print_warnings(&scanned.warnings);
    Ok((scanned.catalog, scanned.warnings))
}
