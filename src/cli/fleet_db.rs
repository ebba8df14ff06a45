//! `envaudit fleet merge FILE... --db DB` and `envaudit fleet query --db DB PACKAGE...`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Exit;
use crate::fleet::db::Inventory;
use crate::fleet::locked::Locked;
use crate::fleet::spec::PackageQuery;
use crate::render::{self, FleetFormat};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Table,
    Json,
    Markdown,
    Csv,
}

impl From<FormatArg> for FleetFormat {
    fn from(f: FormatArg) -> FleetFormat {
        match f {
            FormatArg::Table => FleetFormat::Table,
            FormatArg::Json => FleetFormat::Json,
            FormatArg::Markdown => FleetFormat::Markdown,
            FormatArg::Csv => FleetFormat::Csv,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Results files written by `fleet scan --out` (JSON lines; a torn last line is ignored)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// The inventory database (SQLite), created when missing; see docs/fleet.md for its schema
    #[arg(long, value_name = "DB")]
    db: PathBuf,

    /// Output format
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Never fail on results
    Never,
    /// Exit 1 when a package query matches (or `--moved`/`--unlocked` list anything)
    Match,
}

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// Packages to look for: `[ECO:]NAME[SPEC]` (`numpy<2`, `pypi:torch>=2.1,<2.3`,
    /// `conda:openssl>=3,<3.0.13`, `deb:openssl<<3.0.11-1~deb12u2`, `apk:musl<1.2.4-r1`) or a
    /// purl (`pkg:pypi/numpy@1.26.4`, `pkg:deb/debian/openssl`); a bare NAME asks every
    /// ecosystem, each reading SPEC with its own grammar (docs/fleet.md)
    #[arg(value_name = "PACKAGE", required_unless_present_any = ["moved", "unlocked", "summary"])]
    packages: Vec<String>,

    /// The inventory database written by `fleet merge` or `fleet scan --db`
    #[arg(long, value_name = "DB")]
    db: PathBuf,

    /// Lockfiles whose environments (snapshots naming an image) and runs (the models they
    /// trained, `<lockfile>.d/runs/`) to list beside each image
    #[arg(long, value_name = "FILE")]
    lockfile: Vec<PathBuf>,

    /// List the references whose manifest changed between scans (from which manifest to which, and when)
    #[arg(long)]
    moved: bool,

    /// List the images no current snapshot of the given lockfiles names (needs --lockfile)
    #[arg(long, requires = "lockfile")]
    unlocked: bool,

    /// Counts of packages and images by ecosystem, licence and prefix
    #[arg(long)]
    summary: bool,

    /// Exit 1 when something is listed (`match`)
    #[arg(long, value_enum, default_value_t = FailOn::Never)]
    fail_on: FailOn,

    /// Output format
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

pub(crate) fn merge(args: &MergeArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let mut inv = Inventory::open(&args.db)?;
    let mut merged = Vec::new();
    for file in &args.files {
        let (stats, torn) = inv
            .merge_file(file)
            .with_context(|| format!("cannot merge `{}`", file.display()))?;
        if torn {
            eprintln!(
                "warning: `{}` ends in a torn line (a killed worker's); it was ignored",
                file.display()
            );
        }
        merged.push((file.display().to_string(), stats, torn));
    }
    super::write_or_pipe(render::render_fleet_merge(&merged, args.format.into(), out))?;
    Ok(Exit::Ok)
}

pub(crate) fn query(args: &QueryArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    // A bad query is an input error (exit 2) before anything is opened.
    let queries = args
        .packages
        .iter()
        .map(|p| p.parse::<PackageQuery>())
        .collect::<Result<Vec<_>, _>>()?;
    let inv = Inventory::open_existing(&args.db)?;
    if let Some(missing) = args.lockfile.iter().find(|p| !p.is_file()) {
        anyhow::bail!("no lockfile at `{}`", missing.display());
    }
    let locked = if args.lockfile.is_empty() {
        None
    } else {
        let l = Locked::load(&args.lockfile)?;
        for w in &l.warnings {
            eprintln!("warning: {w}");
        }
        Some(l)
    };
    let format = FleetFormat::from(args.format);
    let mut listed = false;
    let mut sections = 0;
    let mut gap = |out: &mut dyn Write| -> anyhow::Result<()> {
        // Tables and Markdown separate sections with a blank line; JSON and CSV outputs
        // are one document each per section.
        if sections > 0 && matches!(format, FleetFormat::Table | FleetFormat::Markdown) {
            super::write_or_pipe(writeln!(out))?;
        }
        sections += 1;
        Ok(())
    };
    if !queries.is_empty() {
        gap(out)?;
        let matches = inv.find(&queries)?;
        listed |= !matches.is_empty();
        let incomplete = inv.incomplete()?;
        for i in &incomplete {
            eprintln!(
                "warning[catalog-incomplete]: image `{}` ({}) was read incompletely, so it may hold matching packages that are not listed: {}",
                i.manifest,
                i.references_text(),
                i.completeness
            );
        }
        super::write_or_pipe(render::render_fleet_matches(
            &matches,
            &incomplete,
            locked.as_ref(),
            format,
            out,
        ))?;
    }
    if args.moved {
        gap(out)?;
        let moves = inv.moves()?;
        listed |= !moves.is_empty();
        super::write_or_pipe(render::render_fleet_moves(&moves, format, out))?;
    }
    if args.unlocked {
        gap(out)?;
        let mut images = inv.images()?;
        if let Some(l) = &locked {
            images.retain(|i| !l.names(&i.manifest));
        }
        listed |= !images.is_empty();
        super::write_or_pipe(render::render_fleet_images(&images, format, out))?;
    }
    if args.summary {
        gap(out)?;
        let summary = inv.summary()?;
        super::write_or_pipe(render::render_fleet_summary(&summary, format, out))?;
    }
    Ok(if listed && args.fail_on == FailOn::Match {
        Exit::Findings
    } else {
        Exit::Ok
    })
}
