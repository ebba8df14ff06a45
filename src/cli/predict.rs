//! `envaudit predict`: what a rebuild of each locked environment would install now, without
//! building it.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::Exit;
use super::args::FindingsArgs;
use super::error::Hinted;
use super::prediction::{PredictOptions, predicted_drift_counts_as_drift};
use crate::lockfile::Lockfile;
use crate::lockfile::store;
use crate::render::{self, Format};

#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    /// Only these environments (default: every environment of the lockfile)
    env: Vec<String>,

    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    #[command(flatten)]
    predict: PredictOptions,

    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    #[command(flatten)]
    findings: FindingsArgs,
}

pub(crate) fn run(args: &PredictArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let config = args.findings.config()?;
    if !args.lockfile.exists() {
        return Err(Hinted::new(
            format!("`{}` does not exist", args.lockfile.display()),
            "predict compares with a lock: create it with `envaudit lock`, or name another with `--lockfile`",
        )
        .into());
    }
    let lockfile = Lockfile::load(&args.lockfile)?;
    let names: Vec<String> = if args.env.is_empty() {
        lockfile.environments.keys().cloned().collect()
    } else {
        args.env.clone()
    };
    let mut report = args.predict.predict(&args.lockfile, &lockfile, &names)?;
    config.apply(&mut report.findings);
    super::write_or_pipe(render::render_predict(&report, args.format, out))?;
    let fail_on = predicted_drift_counts_as_drift(&args.findings.fail_on);
    Ok(if report.findings.iter().any(|f| fail_on.fails(f)) {
        Exit::Findings
    } else {
        Exit::Ok
    })
}
