//! `envaudit log`: an environment's history across the commits of the lockfile.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Exit;
use super::snapshots::lockfile_states;
use crate::analysis::{diff, log};
use crate::lockfile::git::{GitError, Repo};
use crate::lockfile::store;
use crate::render::{self, Format};

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// Only this environment
    env: Option<String>,

    /// Start after this revision (default: the first commit of the lockfile)
    #[arg(long, value_name = "REV")]
    since: Option<String>,

    /// The lockfile
    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    /// Output format
    #[arg(long, value_enum, default_value_t = LogFormat::Table)]
    format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Table,
    Json,
}

pub(crate) fn run(args: &LogArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let repo = Repo::discover(&args.lockfile)?;
    let rel = repo.relative(&args.lockfile)?;
    let states = lockfile_states(&repo, &rel, args.since.as_deref())?;
    let initial = match &args.since {
        Some(rev) => match repo.lockfile_at(rev, &rel) {
            Err(GitError::NotAtRevision { .. }) => None,
            other => Some(other?),
        },
        None => None,
    };
    let report = log::LogReport {
        schema_version: diff::SCHEMA_VERSION,
        lockfile: rel.display().to_string(),
        entries: log::history(initial.as_ref(), &states, args.env.as_deref()),
    };
    let r = match args.format {
        LogFormat::Json => render::render_log(&report, Format::Json, out),
        LogFormat::Table => render::render_log(&report, Format::Table, out),
    };
    super::write_or_pipe(r)?;
    Ok(Exit::Ok)
}
