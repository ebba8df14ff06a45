//! `envaudit drift`: compare two snapshots, images or folders, each change attributed to
//! what let it move.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use super::args::{FindingsArgs, ImageOptions};
use super::error::Hinted;
use super::snapshots::{load_side, parse_spec};
use crate::analysis::drift;
use crate::diag::Finding;
use crate::lockfile::Lockfile;
use crate::lockfile::store;
use crate::model::ImageSource;
use crate::render::{self, Format};
use crate::scan::snapshot::{Observed, snapshot};

#[derive(Debug, Args)]
pub(crate) struct DriftArgs {
    /// The old side: a snapshot `@REV[:PATH][#ENV]`, an image (`REF`, `oci:DIR`,
    /// `docker-archive:FILE`) or a folder
    old: String,

    /// The new side, same forms
    new: String,

    /// The definition both sides were built from (for image and folder sides: its declared
    /// dependencies are the roots of the graph)
    #[arg(long, value_name = "PATH")]
    definition: Option<PathBuf>,

    /// Only this environment (and the name given to image and folder sides)
    #[arg(long, value_name = "NAME")]
    env: Option<String>,

    /// The lockfile snapshots refer to
    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    #[command(flatten)]
    findings: FindingsArgs,

    #[command(flatten)]
    image: ImageOptions,
}

/// One side of `drift`: a lockfile snapshot, an image or a folder, as a lockfile.
fn drift_side(
    text: &str,
    args: &DriftArgs,
    name: &str,
    warnings: &mut Vec<Finding>,
) -> anyhow::Result<Lockfile> {
    if text.starts_with('@') {
        let spec = parse_spec(text, "@")?;
        return load_side(&spec, &args.lockfile).with_context(|| format!("cannot read `{spec}`"));
    }
    let def = args
        .definition
        .as_deref()
        .map(|p| {
            crate::definition::load(p, &crate::definition::LoadOptions::default())
                .with_context(|| format!("cannot load environment definition `{}`", p.display()))
        })
        .transpose()?;
    let hash = def
        .as_ref()
        .map(|d| crate::hash::report(d, crate::azureml::v2_identity(d), None));
    let definition = def.as_ref().zip(hash.as_ref());
    let dir = store::lockfile_dir(&args.lockfile);
    let folder = Path::new(text);
    let snap = if folder.is_dir() {
        let catalog = super::catalog_live_folder(folder, &crate::layer::Limits::default());
        super::print_skipped_folders(&catalog);
        warnings.extend(crate::scan::catalog_incomplete(text, &catalog.completeness));
        snapshot(&Observed {
            definition,
            lockfile_dir: &dir,
            image: None,
            base_image_digest: None,
            base_layers: None,
            rootfs: Some(folder),
            catalog: &catalog,
        })
    } else {
        let source: ImageSource = text.parse().map_err(|e| {
            anyhow::Error::new(Hinted::new(
                format!("`{text}` is not a snapshot, a folder or an image: {e}"),
                "a lockfile snapshot starts with `@` (`@HEAD`, `@:envaudit.lock`)",
            ))
        })?;
        let scanned = args
            .image
            .scanner()?
            .scan(&source, None)
            .with_context(|| format!("cannot catalog `{source}`"))?;
        warnings.extend(scanned.warnings.iter().cloned());
        scanned.snapshot(definition, &dir, text)
    };
    let mut lock = Lockfile::default();
    lock.environments.insert(name.to_owned(), snap);
    Ok(lock)
}

pub(crate) fn run(args: &DriftArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let name = args.env.clone().unwrap_or_else(|| "environment".to_owned());
    let mut warnings = Vec::new();
    let old = drift_side(&args.old, args, &name, &mut warnings)?;
    let new = drift_side(&args.new, args, &name, &mut warnings)?;
    // With one environment on each side, compare them whatever their names.
    let (old, new) = same_name_if_single(old, new);
    let filter = if args.old.starts_with('@') || args.new.starts_with('@') {
        args.env.as_deref()
    } else {
        None
    };
    let report = drift::lockfiles(&old, &new, &args.old, &args.new, filter);
    let mut report = report;
    report.findings.extend(warnings);
    args.findings.apply(&mut report.findings)?;
    super::write_or_pipe(render::render_drift(&report, args.format, out))?;
    Ok(args.findings.exit(&report.findings))
}

fn same_name_if_single(old: Lockfile, mut new: Lockfile) -> (Lockfile, Lockfile) {
    if old.environments.len() == 1
        && new.environments.len() == 1
        && let Some(name) = old.environments.keys().next().cloned()
        && let Some((_, s)) = new.environments.pop_first()
    {
        new.environments.insert(name, s);
    }
    (old, new)
}
