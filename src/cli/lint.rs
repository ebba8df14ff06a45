//! `envaudit lint`: what in a definition lets a rebuild install something else.

use std::io::Write;

use clap::Args;

use super::Exit;
use super::args::{DefinitionArgs, FindingsArgs};
use crate::analysis::lint::{self, LintOptions};
use crate::render::{self, Format, Style};

#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    #[command(flatten)]
    definition: DefinitionArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Check what an inference (online endpoint) environment needs, even without an `inference_config`
    #[arg(long)]
    for_inference: bool,

    #[command(flatten)]
    findings: FindingsArgs,
}

pub(crate) fn run(args: &LintArgs, color: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let config = args.findings.config()?;
    let def = args.definition.load()?;
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
    super::write_or_pipe(render::render_lint(&report, args.format, style, out))?;
    Ok(args.findings.exit(&report.findings))
}
