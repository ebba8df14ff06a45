//! `envaudit check`: for CI and cron, regenerated images behind unchanged tags and
//! definitions edited but not locked.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::Exit;
use super::args::{FindingsArgs, ImageOptions};
use super::error::Hinted;
use super::prediction::PredictOptions;
use super::snapshots::pick;
use crate::lockfile::Lockfile;
use crate::lockfile::store;
use crate::render::{self, Format};

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Only these environments (default: every environment of the lockfile)
    env: Vec<String>,

    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    #[command(flatten)]
    findings: FindingsArgs,

    #[command(flatten)]
    image: ImageOptions,

    /// Also predict what a rebuild would change now, without building: `predicted-drift`
    /// findings (a code of their own, apart from `drift`), `unresolvable` when a rebuild would
    /// fail; the options below say where the indexes are
    #[arg(long)]
    predict: bool,

    #[command(flatten)]
    prediction: PredictOptions,
}

/// For each environment of the lockfile: is the definition still what was locked, and does
/// its image reference still resolve to the locked image? A regenerated image is cataloged
/// and its drift attributed.
pub(crate) fn run(args: &CheckArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let config = args.findings.config()?;
    if !args.lockfile.exists() {
        return Err(Hinted::new(
            format!("`{}` does not exist", args.lockfile.display()),
            "create it with `envaudit lock`, or name another with `--lockfile`",
        )
        .into());
    }
    let lockfile = Lockfile::load(&args.lockfile)?;
    let at = args.lockfile.display().to_string();
    for e in &args.env {
        pick(&lockfile, Some(e), &at)?;
    }
    let scanner = args.image.scanner()?;
    let mut report =
        crate::lock::check_environments(&lockfile, &args.lockfile, &args.env, &scanner)?;
    if args.predict {
        let names: Vec<String> = if args.env.is_empty() {
            lockfile.environments.keys().cloned().collect()
        } else {
            args.env.clone()
        };
        let predicted = args.prediction.predict(&args.lockfile, &lockfile, &names)?;
        report.findings.extend(predicted.findings);
    }
    config.apply(&mut report.findings);
    super::write_or_pipe(render::render_drift(&report, args.format, out))?;
    Ok(args.findings.exit(&report.findings))
}
