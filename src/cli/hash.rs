//! `envaudit hash`: the definition hash of an environment definition, next to Azure ML's own
//! identities of it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Exit;
use super::args::DefinitionArgs;
use crate::render::{self, Format, Style};

#[derive(Debug, Args)]
pub(crate) struct HashArgs {
    #[command(flatten)]
    pub(crate) definition: DefinitionArgs,

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

pub(crate) fn run(args: &HashArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let def = args.definition.load()?;
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
    // The identity is printed all the same; JSON carries the findings under `findings`.
    if format == Format::Table {
        super::print_warnings(&report.findings);
    }
    let style = Style {
        color: false,
        explain: args.explain,
    };
    super::write_or_pipe(render::render_hash(&report, format, style, out))?;
    Ok(Exit::Ok)
}
