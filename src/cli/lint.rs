//! `envaudit lint`: what in a definition lets a rebuild install something else.
//!
//! One path is linted as always (its report, or its error). Several paths, as pre-commit
//! passes them, are each recognised first ([`crate::definition::recognize`]): what is not
//! an environment definition is skipped, every definition is linted, and one combined
//! report follows. A definition that cannot be read is reported on stderr as an error, the
//! others are still linted, and the exit code is 2.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::Exit;
use super::args::{DefinitionOptions, FindingsArgs};
use crate::analysis::lint::{self, LintOptions};
use crate::definition::LoadOptions;
use crate::render::{self, Format, Style};

#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// Environment definitions: files or folders (Azure ML v1/v2/job/curated, conda, pip,
    /// Dockerfile). Paths that are not environment definitions (a workflow YAML, a README)
    /// are skipped; `--format json` lists them with why
    #[arg(required = true, value_name = "ENV")]
    paths: Vec<PathBuf>,

    #[command(flatten)]
    definition: DefinitionOptions,

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
    let options = LintOptions {
        for_inference: args.for_inference,
    };
    let load = LoadOptions {
        kind: args.definition.kind,
        image: args.definition.image.clone(),
    };
    let mut set = lint::lint_paths(&args.paths, &load, &options);
    for report in &mut set.reports {
        config.apply(&mut report.findings);
    }
    let style = Style {
        color: color && args.format == Format::Table,
        explain: false,
    };
    // One definition, read: its report as it always was.
    if let ([_], [], []) = (
        args.paths.as_slice(),
        set.skipped.as_slice(),
        set.failed.as_slice(),
    ) && let [report] = set.reports.as_slice()
    {
        super::write_or_pipe(render::render_lint(report, args.format, style, out))?;
        return Ok(args.findings.exit(&report.findings));
    }
    // One definition that cannot be read: its error, as it always was.
    if args.paths.len() == 1
        && let Some((path, e)) = set.failed.pop()
    {
        return Err(load_error(&path, e));
    }
    super::write_or_pipe(render::render_lint_set(&set, args.format, style, out))?;
    if !set.failed.is_empty() {
        out.flush().ok();
        for (path, e) in set.failed {
            eprint!("{}", super::error::render(&load_error(&path, e)));
        }
        return Ok(Exit::Input);
    }
    let findings: Vec<_> = set.findings().cloned().collect();
    Ok(args.findings.exit(&findings))
}

fn load_error(path: &std::path::Path, e: crate::definition::DefinitionError) -> anyhow::Error {
    anyhow::Error::new(e).context(format!(
        "cannot load environment definition `{}`",
        path.display()
    ))
}
