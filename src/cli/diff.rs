//! `envaudit diff`: what changed in the lockfile between two revisions, silent drift apart.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use super::args::FindingsArgs;
use super::snapshots::{load_side, parse_spec};
use crate::analysis::diff;
use crate::lockfile::store;
use crate::render::{self, Format, Style};

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The old side: `@REV[:PATH][#ENV]` (`@HEAD`, `@main`, `@:old.lock`); default `@HEAD`
    old: Option<String>,

    /// The new side, same form; default `@` (the working tree)
    new: Option<String>,

    /// The lockfile
    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    /// Only this environment
    #[arg(long, value_name = "NAME")]
    env: Option<String>,

    /// Output format (`markdown` is a PR comment)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    #[command(flatten)]
    findings: FindingsArgs,
}

pub(crate) fn run(args: &DiffArgs, color: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let old = parse_spec(args.old.as_deref().unwrap_or(""), "@HEAD")?;
    let new = parse_spec(args.new.as_deref().unwrap_or(""), "@")?;
    let environment = args
        .env
        .clone()
        .or_else(|| new.environment.clone())
        .or_else(|| old.environment.clone());
    let a = load_side(&old, &args.lockfile).with_context(|| format!("cannot read `{old}`"))?;
    let b = load_side(&new, &args.lockfile).with_context(|| format!("cannot read `{new}`"))?;
    let mut report = diff::lockfiles(
        &a,
        &b,
        &old.to_string(),
        &new.to_string(),
        environment.as_deref(),
    );
    let config = args.findings.config()?;
    config.apply(&mut report.findings);
    super::write_or_pipe(render::render_diff(
        &report,
        args.format,
        Style {
            color,
            explain: false,
        },
        out,
    ))?;
    Ok(args.findings.exit(&report.findings))
}
