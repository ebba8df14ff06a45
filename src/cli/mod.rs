//! The command-line interface: parse arguments, call the library, render, exit.
//!
//! Exit codes: 0 ok, 1 findings (per `--fail-on`), 2 usage or input error.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod attest;
mod build;
mod catalog;
mod check;
mod completions;
mod diff;
mod drift;
mod error;
mod evidence;
mod export;
mod fleet;
mod fleet_db;
mod graph;
mod hash;
mod import;
mod lint;
mod lock;
mod log;
mod manpages;
mod pin;
mod predict;
mod prediction;
mod progress;
mod report;
mod resolve;
mod snapshots;
mod values;
mod verify;
mod why;

use std::io::{IsTerminal, Write};

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

pub use error::Exit;

/// `0.1.0 (1a2b3c4d5e6f 2026-12-05)`: the version and, when built from a git checkout, the
/// commit (see `build.rs`).
const VERSION: &str = env!("ENVAUDIT_VERSION");

/// Audit and lock machine-learning training environments.
///
/// envaudit reads Azure ML environment definitions (SDK v1 folders and JSON, SDK v2 YAML,
/// job YAML, curated asset folders), conda files, pip requirements and Dockerfiles, computes
/// a definition hash that means "same build recipe", and reports what lets a rebuild
/// install something else.
#[derive(Debug, Parser)]
#[command(name = "envaudit", version = VERSION, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// When to use colour (`NO_COLOR` also turns it off)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compute the definition hash of an environment definition
    Hash(hash::HashArgs),
    /// Report unpinned dependencies, floating base images and other reproducibility risks
    #[command(mut_arg("fail_on", |a| a.default_value("warning")))]
    Lint(lint::LintArgs),
    /// Resolve image references to digests: index, platform manifest, config and layers
    Resolve(resolve::ResolveArgs),
    /// List the packages installed in a folder or an image (Python, conda, Debian, Alpine)
    Catalog(catalog::CatalogArgs),
    /// Record an environment's definition, image and installed packages in envaudit.lock
    Lock(lock::LockArgs),
    /// Merge run records made inside jobs (`lock --record-to DIR`) into the lockfile
    Import(import::ImportArgs),
    /// Build an environment's image unless its content-addressed image exists (buildah, docker, podman, ACR)
    #[command(mut_arg("fail_on", |a| a.default_value("never").help("With `--rebuild`: keep the cached image (do not move the tag) on findings of this severity or these codes (`drift` covers silent drift)")))]
    Build(build::BuildArgs),
    /// Show what changed in the lockfile between two revisions, silent drift apart
    Diff(diff::DiffArgs),
    /// Show an environment's history across the commits of the lockfile
    Log(log::LogArgs),
    /// Compare two snapshots, images or folders, attributing each change to what let it move
    Drift(drift::DriftArgs),
    /// For CI and cron: find regenerated images behind unchanged tags and definitions edited but not locked
    Check(check::CheckArgs),
    /// Predict what a rebuild would install now, without building: every package against the lock, each change attributed
    Predict(predict::PredictArgs),
    /// Show every path from the declared dependencies to an installed package
    Why(why::WhyArgs),
    /// Print an environment's installed dependency graph (tree, Graphviz dot or JSON)
    Graph(graph::GraphArgs),
    /// The compliance report of a model (Markdown, HTML, JSON) or its SBOM (CycloneDX, SPDX),
    /// from the lockfile or from an image's signed evidence
    Report(report::ReportArgs),
    /// Sign each environment's snapshot, SBOM and runs and attach them to its image (OCI
    /// referrers)
    Attest(attest::AttestArgs),
    /// Check the signed evidence attached to an image, and that the image still holds it
    Verify(verify::VerifyArgs),
    /// Rewrite a definition's specs to the exact versions its locked image holds, the base image to its digest
    Pin(pin::PinArgs),
    /// Write the full transitive lock of a snapshot: a conda @EXPLICIT file or pip requirements
    Export(export::ExportArgs),
    /// Inventory every image of a fleet: scan, merge into a database, query by package
    Fleet(fleet::FleetArgs),
    /// Print the shell completion script for bash, zsh, fish, PowerShell or Elvish
    Completions(completions::CompletionsArgs),
    /// Write a man page for every command into a folder (used by `scripts/dist`)
    #[command(hide = true)]
    Manpages(manpages::ManpagesArgs),
}

/// Run envaudit with the process arguments.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(&cli) {
        Ok(exit) => exit.into(),
        Err(e) => error::report(&e),
    }
}

fn run(cli: &Cli) -> anyhow::Result<Exit> {
    let stdout = std::io::stdout();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    // Buffered: stdout is line-buffered, and pretty JSON is many short lines.
    let mut out = std::io::BufWriter::new(stdout.lock());
    let exit = match &cli.command {
        Command::Hash(args) => hash::run(args, &mut out)?,
        Command::Lint(args) => lint::run(args, color, &mut out)?,
        Command::Resolve(args) => resolve::run(args, &mut out)?,
        Command::Catalog(args) => catalog::run(args, &mut out)?,
        Command::Lock(args) => lock::run(args, &mut out)?,
        Command::Import(args) => import::run(args, &mut out)?,
        Command::Build(args) => build::run(args, &mut out)?,
        Command::Diff(args) => diff::run(args, color, &mut out)?,
        Command::Log(args) => log::run(args, &mut out)?,
        Command::Drift(args) => drift::run(args, &mut out)?,
        Command::Check(args) => check::run(args, &mut out)?,
        Command::Predict(args) => predict::run(args, &mut out)?,
        Command::Why(args) => why::run(args, &mut out)?,
        Command::Graph(args) => graph::run(args, &mut out)?,
        Command::Report(args) => report::run(args, &mut out)?,
        Command::Attest(args) => attest::run(args, &mut out)?,
        Command::Verify(args) => verify::run(args, &mut out)?,
        Command::Pin(args) => pin::run(args, &mut out)?,
        Command::Export(args) => export::run(args, &mut out)?,
        Command::Fleet(args) => fleet::run(args, &mut out)?,
        Command::Completions(args) => completions::run(args, &mut out)?,
        Command::Manpages(args) => manpages::run(args, &mut out)?,
    };
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok),
        other => other
            .map(|()| exit)
            .context("cannot write to standard output"),
    }
}

fn write_or_pipe(r: std::io::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// Prints, on standard error, findings that do not stop a command (a scan's warnings, a
/// definition's invalid specs): `severity[code]: message`, with `file:line:column: ` before
/// the message when the finding has a place.
fn print_warnings(warnings: &[crate::diag::Finding]) {
    let _ = crate::render::findings_lines(warnings, &mut std::io::stderr().lock());
}

/// Catalogs a live folder (`--rootfs /`, a prefix), leaving out envaudit's own installation
/// (see [`crate::catalog::own_installation`]).
fn catalog_live_folder(
    folder: &std::path::Path,
    limits: &crate::layer::Limits,
) -> crate::catalog::Catalog {
    let exclude = std::env::current_exe()
        .map(|exe| crate::catalog::own_installation(&exe))
        .unwrap_or_default();
    crate::catalog::catalog_folder_excluding(
        folder,
        limits,
        &crate::layer::folder::WalkOptions { exclude },
    )
}

/// Prints, on standard error, the folders a live-folder catalog did not read on purpose
/// (other filesystems, envaudit's own installation), so that nobody wonders where they went.
fn print_skipped_folders(catalog: &crate::catalog::Catalog) {
    use crate::layer::FsFinding;
    let mut err = std::io::stderr().lock();
    for f in &catalog.filesystem_findings {
        if matches!(
            f.finding,
            FsFinding::OtherFilesystem { .. } | FsFinding::Excluded { .. }
        ) {
            let _ = writeln!(err, "note: {}", f.finding);
        }
    }
}
