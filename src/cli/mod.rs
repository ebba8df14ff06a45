//! The command-line interface: parse arguments, call the library, render, exit.
//!
//! Exit codes: 0 ok, 1 findings (per `--fail-on`), 2 usage or input error.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod audit;
mod build;
mod catalog;
mod diff;
mod drift;
mod error;
mod lock;
mod pin;
mod resolve;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::analysis::lint::{self, LintOptions};
use crate::config::Config;
use crate::definition::{self, DefinitionKind, LoadOptions};
use crate::diag::FailOn;
use crate::render::{self, Format, Style};

pub use error::Exit;

/// Audit and lock machine-learning training environments.
///
/// envaudit reads Azure ML environment definitions (SDK v1 folders and JSON, SDK v2 YAML,
/// job YAML, curated asset folders), conda files, pip requirements and Dockerfiles, computes
/// a definition hash that means "same build recipe", and reports what lets a rebuild
/// install something else.
#[derive(Debug, Parser)]
#[command(name = "envaudit", version, max_term_width = 100)]
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
    Hash(HashArgs),
    /// Report unpinned dependencies, floating base images and other reproducibility risks
    Lint(LintArgs),
    /// Resolve image references to digests: index, platform manifest, config and layers
    Resolve(resolve::ResolveArgs),
    /// List the packages installed in a folder or an image (Python, conda, Debian, Alpine)
    Catalog(catalog::CatalogArgs),
    /// Record an environment's definition, image and installed packages in envaudit.lock
    Lock(lock::LockArgs),
    /// Build an environment's image unless its content-addressed image exists (buildah, docker, podman, ACR)
    Build(build::BuildArgs),
    /// Show what changed in the lockfile between two revisions, silent drift apart
    Diff(diff::DiffArgs),
    /// Show an environment's history across the commits of the lockfile
    Log(diff::LogArgs),
    /// Compare two snapshots, images or folders, attributing each change to what let it move
    Drift(drift::DriftArgs),
    /// For CI and cron: find regenerated images behind unchanged tags and definitions edited but not locked
    Check(drift::CheckArgs),
    /// Show every path from the declared dependencies to an installed package
    Why(drift::WhyArgs),
    /// Print an environment's installed dependency graph (tree, Graphviz dot or JSON)
    Graph(drift::GraphArgs),
    /// The compliance report of a model (Markdown, HTML, JSON) or its SBOM (CycloneDX, SPDX)
    Report(audit::ReportArgs),
    /// Rewrite a definition's specs to the exact versions its locked image holds, the base image to its digest
    Pin(pin::PinArgs),
    /// Write the full transitive lock of a snapshot: a conda @EXPLICIT file or pip requirements
    Export(pin::ExportArgs),
}

/// Which definition to read.
#[derive(Debug, Args)]
struct DefinitionArgs {
    /// Environment definition: a file or folder (Azure ML v1/v2/job/curated, conda, pip, Dockerfile)
    env: PathBuf,

    /// Read the definition as this kind instead of detecting it from the path
    #[arg(long, value_enum)]
    kind: Option<DefinitionKind>,

    /// Base image for a definition that names none (e.g. a conda file), as Azure ML would use it
    #[arg(long, value_name = "REF")]
    image: Option<String>,
}

#[derive(Debug, Args)]
struct HashArgs {
    #[command(flatten)]
    definition: DefinitionArgs,

    /// List every ingredient of the hash in order, with where it was declared
    #[arg(long)]
    explain: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = HashFormat::Table)]
    format: HashFormat,

    /// Record Azure ML SDK v1's service image from a saved `Environment.get_image_details` JSON
    /// (its registry password is never read)
    #[arg(long, value_name = "FILE")]
    azureml_image_details: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum HashFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
struct LintArgs {
    #[command(flatten)]
    definition: DefinitionArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Exit 1 on findings of this severity or worse (`error`, `warning`, `note`, `never`),
    /// or on any of a comma-separated list of finding codes
    #[arg(long, value_name = "SEVERITY|CODES", default_value = "warning")]
    fail_on: FailOn,

    /// Check what an inference (online endpoint) environment needs, even without an `inference_config`
    #[arg(long)]
    for_inference: bool,

    /// Project configuration (default: the nearest `envaudit.toml` above the current folder)
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
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
        Command::Hash(args) => hash(args, &mut out)?,
        Command::Lint(args) => lint_cmd(args, color, &mut out)?,
        Command::Resolve(args) => resolve::run(args, &mut out)?,
        Command::Catalog(args) => catalog::run(args, &mut out)?,
        Command::Lock(args) => lock::run(args, &mut out)?,
        Command::Build(args) => build::run(args, &mut out)?,
        Command::Diff(args) => diff::run_diff(args, color, &mut out)?,
        Command::Log(args) => diff::run_log(args, &mut out)?,
        Command::Drift(args) => drift::run_drift(args, &mut out)?,
        Command::Check(args) => drift::run_check(args, &mut out)?,
        Command::Why(args) => drift::run_why(args, &mut out)?,
        Command::Graph(args) => drift::run_graph(args, &mut out)?,
        Command::Report(args) => audit::run(args, &mut out)?,
        Command::Pin(args) => pin::run_pin(args, &mut out)?,
        Command::Export(args) => pin::run_export(args, &mut out)?,
    };
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok),
        other => other
            .map(|()| exit)
            .context("cannot write to standard output"),
    }
}

fn load(args: &DefinitionArgs) -> anyhow::Result<definition::EnvDefinition> {
    let options = LoadOptions {
        kind: args.kind,
        image: args.image.clone(),
    };
    definition::load(&args.env, &options).with_context(|| {
        format!(
            "cannot load environment definition `{}`",
            args.env.display()
        )
    })
}

fn write_or_pipe(r: std::io::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

fn hash(args: &HashArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let def = load(&args.definition)?;
    let v1 = args
        .azureml_image_details
        .as_deref()
        .map(crate::azureml::ImageDetails::load)
        .transpose()
        .context("cannot read the Azure ML image details")?;
    let report = crate::hash::report(&def, crate::azureml::v2_identity(&def), v1);
    let format = match args.format {
        HashFormat::Table => Format::Table,
        HashFormat::Json => Format::Json,
    };
    let style = Style {
        color: false,
        explain: args.explain,
    };
    write_or_pipe(render::render_hash(&report, format, style, out))?;
    Ok(Exit::Ok)
}

fn lint_cmd(args: &LintArgs, color: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let config = match &args.config {
        Some(p) => Config::load(p),
        None => Config::discover(&std::env::current_dir().unwrap_or_default()),
    }
    .context("cannot read the project configuration")?;
    let def = load(&args.definition)?;
    let mut report = lint::lint(
        &def,
        &LintOptions {
            for_inference: args.for_inference,
        },
    );
    config.apply(&mut report.findings);
    let style = Style {
        color: color && args.format == Format::Table,
        explain: false,
    };
    write_or_pipe(render::render_lint(&report, args.format, style, out))?;
    let failed = report.findings.iter().any(|f| args.fail_on.fails(f));
    Ok(if failed { Exit::Findings } else { Exit::Ok })
}
