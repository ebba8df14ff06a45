//! Arguments shared by several commands: which definition to read, how to reach images, and
//! when findings fail the command.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use crate::config::Config;
use crate::definition::{self, DefinitionKind, EnvDefinition, LoadOptions};
use crate::diag::{FailOn, Finding};
use crate::layer::Limits;
use crate::model::Platform;
use crate::scan::Scanner;

/// Which definition to read.
#[derive(Debug, Args)]
pub(crate) struct DefinitionArgs {
    /// Environment definition: a file or folder (Azure ML v1/v2/job/curated, conda, pip, Dockerfile)
    pub(crate) env: PathBuf,

    #[command(flatten)]
    pub(crate) options: DefinitionOptions,
}

impl DefinitionArgs {
    /// Loads the definition, saying which one could not be read.
    pub(crate) fn load(&self) -> anyhow::Result<EnvDefinition> {
        self.options.load(&self.env, self.options.kind)
    }
}

/// How to read definitions, for commands that take one (`hash`) or several (`lint`).
#[derive(Debug, Args)]
pub(crate) struct DefinitionOptions {
    /// Read the definition as this kind instead of detecting it from the path
    #[arg(long, value_enum)]
    pub(crate) kind: Option<DefinitionKind>,

    /// Base image for a definition that names none (e.g. a conda file), as Azure ML would use it
    #[arg(long, value_name = "REF")]
    pub(crate) image: Option<String>,
}

impl DefinitionOptions {
    /// Loads the definition at `path` as `kind` (detected from the path when `None`),
    /// saying which one could not be read.
    pub(crate) fn load(
        &self,
        path: &Path,
        kind: Option<DefinitionKind>,
    ) -> anyhow::Result<EnvDefinition> {
        let options = LoadOptions {
            kind,
            image: self.image.clone(),
        };
        definition::load(path, &options)
            .with_context(|| format!("cannot load environment definition `{}`", path.display()))
    }
}

/// When findings fail a command, and which are accepted: every command that can fail on
/// findings flattens this. Each command sets its own `--fail-on` default (`lint`: warning;
/// `diff`, `drift`, `check`, `lock --check`: error; `build`: never) with `mut_arg` where it
/// is declared in [`super::Command`].
#[derive(Debug, Args)]
pub(crate) struct FindingsArgs {
    /// Exit 1 on findings of this severity or worse (`error`, `warning`, `note`, `never`),
    /// or on any of a comma-separated list of finding codes
    #[arg(long, value_name = "SEVERITY|CODES", default_value = "error")]
    pub(crate) fail_on: FailOn,

    /// Project configuration (default: the nearest `envaudit.toml` above the current folder)
    #[arg(long, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
}

impl FindingsArgs {
    /// The project configuration: `--config`, else the nearest `envaudit.toml`.
    pub(crate) fn config(&self) -> anyhow::Result<Config> {
        match &self.config {
            Some(p) => Config::load(p),
            None => Config::discover(&std::env::current_dir().unwrap_or_default()),
        }
        .context("cannot read the project configuration")
    }

    /// Marks the findings the configuration accepts.
    pub(crate) fn apply(&self, findings: &mut [Finding]) -> anyhow::Result<()> {
        self.config()?.apply(findings);
        Ok(())
    }

    /// Exit 1 when a finding fails per `--fail-on`.
    pub(crate) fn exit(&self, findings: &[Finding]) -> Exit {
        if findings.iter().any(|f| self.fail_on.fails(f)) {
            Exit::Findings
        } else {
            Exit::Ok
        }
    }
}

/// Options shared by the commands that may read images.
#[derive(Debug, Args)]
pub(crate) struct ImageOptions {
    /// Platform to take from a multi-platform image (default linux/amd64)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub(crate) platform: Option<Platform>,

    /// Read every layer, neither using nor filling the layer cache
    #[arg(long)]
    pub(crate) no_cache: bool,

    /// Registry host (HOST[:PORT]) to reach over plain HTTP (loopback hosts always may)
    #[arg(long, value_name = "HOST")]
    pub(crate) insecure_registry: Vec<String>,
}

impl ImageOptions {
    /// A scanner with these options and a progress bar.
    pub(crate) fn scanner(&self) -> anyhow::Result<Scanner> {
        super::progress::scanner(
            &self.insecure_registry,
            self.platform.clone(),
            self.no_cache,
            Limits::default(),
        )
    }
}
