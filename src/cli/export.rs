//! `envaudit export`: the full transitive lock of a snapshot, as a conda `@EXPLICIT` file or
//! pip requirements.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Exit;
use super::error::Hinted;
use super::snapshots::{load_side, parse_spec, pick};
use crate::lockfile::store;
use crate::model::Ecosystem;

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The environment (default: the only one in the lockfile)
    env: Option<String>,

    /// `conda-explicit` (a conda `@EXPLICIT` file: every conda package by URL and checksum) or
    /// `requirements` (every pip package `==` its version)
    #[arg(long, value_enum)]
    format: ExportFormat,

    /// The environment prefix to export (default: the one the declared dependencies are in)
    #[arg(long, value_name = "PATH")]
    prefix: Option<String>,

    /// Which lockfile snapshot: `@REV[:PATH][#ENV]`
    #[arg(long, value_name = "SNAPSHOT", default_value = "@")]
    at: String,

    /// Write to this file (atomically) instead of standard output
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    CondaExplicit,
    Requirements,
}

pub(crate) fn run(args: &ExportArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let spec = parse_spec(&args.at, "@")?;
    let lock = load_side(&spec, &args.lockfile).with_context(|| format!("cannot read `{spec}`"))?;
    let env = args.env.clone().or(spec.environment.clone());
    let (name, snap) = pick(&lock, env.as_deref(), &spec.to_string())?;
    let ecosystem = match args.format {
        ExportFormat::CondaExplicit => Ecosystem::Conda,
        ExportFormat::Requirements => Ecosystem::Pip,
    };
    let prefix = crate::rewrite::export::prefix_for(snap, ecosystem, args.prefix.as_deref());
    if prefix.is_none() {
        let mut prefixes: Vec<&str> = snap
            .packages
            .iter()
            .filter(|p| p.ecosystem == ecosystem)
            .filter_map(|p| p.prefix.as_deref())
            .collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        if prefixes.len() > 1 {
            return Err(Hinted::new(
                format!(
                    "`{name}` has {ecosystem} packages in {} prefixes",
                    prefixes.len()
                ),
                format!("choose one with `--prefix`: {}", prefixes.join(", ")),
            )
            .into());
        }
    }
    let export = match args.format {
        ExportFormat::CondaExplicit => {
            crate::rewrite::export::conda_explicit(name, snap, prefix.as_deref())
        }
        ExportFormat::Requirements => {
            crate::rewrite::export::requirements(name, snap, prefix.as_deref())
        }
    };
    match &args.out {
        Some(path) => store::write_atomic(path, export.text.as_bytes())
            .with_context(|| format!("cannot write `{}`", path.display()))?,
        None => super::write_or_pipe(out.write_all(export.text.as_bytes()))?,
    }
    eprintln!(
        "exported {} package{} of `{name}`{}",
        export.packages,
        if export.packages == 1 { "" } else { "s" },
        export
            .prefix
            .as_deref()
            .map(|p| format!(" in `{p}`"))
            .unwrap_or_default()
    );
    for l in &export.left_out {
        eprintln!("warning: left out {l}");
    }
    for n in &export.notes {
        eprintln!("note: {n}");
    }
    Ok(Exit::Ok)
}
