//! `envaudit diff` and `envaudit log`: the lockfile across revisions.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Exit;
use super::error::Hinted;
use crate::analysis::diff;
use crate::config::Config;
use crate::diag::FailOn;
use crate::lockfile::git::{GitError, Repo};
use crate::lockfile::spec::SnapshotSpec;
use crate::lockfile::store;
use crate::lockfile::{Lockfile, LockfileError};
use crate::render::{self, Format, Style};
use crate::source::SourceFile;

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

    /// Exit 1 on findings of this severity or worse (`error`, `warning`, `note`, `never`),
    /// or on any of a comma-separated list of finding codes (`silent-drift`, `changed`, ...)
    #[arg(long, value_name = "SEVERITY|CODES", default_value = "error")]
    fail_on: FailOn,

    /// Project configuration (default: the nearest `envaudit.toml` above the current folder)
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

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

pub(crate) fn parse_spec(text: &str, default: &str) -> anyhow::Result<SnapshotSpec> {
    let text = if text.is_empty() { default } else { text };
    text.parse::<SnapshotSpec>().map_err(|e| {
        let hint = if Path::new(text).exists() {
            format!("to read the file `{text}`, write `@:{text}`")
        } else {
            "`@HEAD` is the last commit, `@` the working tree, `@main:path/envaudit.lock` a file at a revision".to_owned()
        };
        anyhow::Error::new(Hinted::new(e.to_string(), hint))
    })
}

/// Reads one side; a lockfile that does not exist at a revision is empty (its environments
/// are all added on the other side).
pub(crate) fn load_side(spec: &SnapshotSpec, lockfile: &Path) -> anyhow::Result<Lockfile> {
    let path = spec.path.as_deref().unwrap_or(lockfile);
    match &spec.revision {
        None => {
            if !path.exists() {
                return Err(Hinted::new(
                    format!("`{}` does not exist", path.display()),
                    "create it with `envaudit lock`, or name another with `--lockfile`",
                )
                .into());
            }
            Ok(Lockfile::load(path)?)
        }
        Some(rev) => {
            let repo = Repo::discover(path)?;
            let rel = repo.relative(path)?;
            match repo.lockfile_at(rev, &rel) {
                Err(GitError::NotAtRevision { .. }) => Ok(Lockfile::default()),
                other => Ok(other?),
            }
        }
    }
}

pub(crate) fn run_diff(args: &DiffArgs, color: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
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
    let config = match &args.config {
        Some(p) => Config::load(p),
        None => Config::discover(&std::env::current_dir().unwrap_or_default()),
    }
    .context("cannot read the project configuration")?;
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
    Ok(if report.findings.iter().any(|f| args.fail_on.fails(f)) {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

pub(crate) fn run_log(args: &LogArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
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
    let report = diff::LogReport {
        schema_version: diff::SCHEMA_VERSION,
        lockfile: rel.display().to_string(),
        entries: diff::history(initial.as_ref(), &states, args.env.as_deref()),
    };
    let r = match args.format {
        LogFormat::Json => render::render_log(&report, Format::Json, out),
        LogFormat::Table => render::render_log(&report, Format::Table, out),
    };
    super::write_or_pipe(r)?;
    Ok(Exit::Ok)
}

/// The lockfile at each first-parent revision that changed it (oldest first), each distinct
/// blob read once and parsed on every core: parsing is most of the work.
pub(crate) fn lockfile_states(
    repo: &Repo,
    rel: &std::path::Path,
    since: Option<&str>,
) -> anyhow::Result<Vec<(crate::lockfile::git::Revision, Option<Arc<Lockfile>>)>> {
    let revisions = repo.history(rel, since, None)?;
    // A revert brings an old blob back: read each distinct one once.
    let mut distinct: Vec<(String, String, Vec<u8>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for rev in &revisions {
        if let Some(blob) = &rev.blob
            && seen.insert(blob.clone())
        {
            let label = format!("{}:{}", &rev.commit[..12], rel.display());
            distinct.push((blob.clone(), label, repo.blob(blob)?));
        }
    }
    let parsed: HashMap<String, Arc<Lockfile>> = parse_all(distinct)?;
    Ok(revisions
        .into_iter()
        .map(|rev| {
            let state = rev
                .blob
                .as_ref()
                .and_then(|b| parsed.get(b))
                .map(Arc::clone);
            (rev, state)
        })
        .collect())
}

/// Parses lockfile blobs across the available cores; the first error (in input order) wins.
fn parse_all(
    blobs: Vec<(String, String, Vec<u8>)>,
) -> anyhow::Result<HashMap<String, Arc<Lockfile>>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(blobs.len().max(1));
    let chunk = blobs.len().div_ceil(threads).max(1);
    let results: Vec<Vec<Result<(String, Lockfile), LockfileError>>> = std::thread::scope(|s| {
        let handles: Vec<_> = blobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(id, label, bytes)| {
                            let source = SourceFile::from_bytes(label.clone(), bytes)?;
                            Ok((id.clone(), Lockfile::parse(&source)?))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut out = HashMap::new();
    for r in results.into_iter().flatten() {
        let (id, lock) = r?;
        out.insert(id, Arc::new(lock));
    }
    Ok(out)
}
