//! `envaudit import`: merge run records made inside jobs (`lock --record-to DIR`) into the
//! repository's lockfile.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Exit;
use super::error::Hinted;
use crate::lockfile::record::{ImportError, ImportOutcome, Imported, Record, RecordDir};
use crate::lockfile::store::{self, Store};
use crate::render;

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Record folders written by `lock --record-to` (each holds `runs/` and `snapshots/`), or
    /// folders whose subfolders are (one per job's output)
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,

    /// The lockfile
    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    /// The model the runs trained, `NAME:VERSION`, for runs that recorded none (during
    /// training the model's version often does not exist yet)
    #[arg(long, value_name = "NAME:VERSION")]
    model: Option<String>,

    /// Import records whose definition differs from the repository's; each such run keeps
    /// the repository's definition hash as `definition-mismatch`
    #[arg(long)]
    force: bool,

    /// Commit the files written (only them) with your git identity
    #[arg(long)]
    commit: bool,

    /// The commit message (with `--commit`)
    #[arg(short = 'm', long, value_name = "MSG", requires = "commit")]
    message: Option<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = ImportFormat::Table)]
    format: ImportFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ImportFormat {
    Table,
    Json,
}

pub(crate) fn run(args: &ImportArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    if let Some(m) = &args.model
        && !m.contains(':')
    {
        anyhow::bail!(Hinted::new(
            format!("`{m}` is not a model `NAME:VERSION`"),
            "write the model as registered, e.g. `--model churn-classifier:3`",
        ));
    }
    let mut records = Vec::new();
    for dir in &args.dirs {
        for d in record_dirs(dir) {
            records.extend(read(&d)?);
        }
    }
    if let Some(model) = &args.model {
        for r in &mut records {
            match &r.run.model {
                None => r.run.model = Some(model.clone()),
                Some(m) if m == model => {}
                Some(m) => anyhow::bail!(Hinted::new(
                    format!(
                        "run `{}` already names the model `{m}`, not `{model}`",
                        r.run.run
                    ),
                    "import that folder without `--model`, or the other folders on their own",
                )),
            }
        }
    }
    let store = Store::new(&args.lockfile);
    let before = store.load().ok();
    let imported = crate::lock::import(&store, &records, args.force)
        .map_err(|e| hinted(e, &args.lockfile))
        .with_context(|| format!("cannot import into `{}`", args.lockfile.display()))?;
    match args.format {
        ImportFormat::Json => {
            #[derive(serde::Serialize)]
            struct Json<'a> {
                schema_version: u32,
                lockfile: String,
                imported: &'a [Imported],
            }
            super::write_or_pipe(render::json(
                &Json {
                    schema_version: 1,
                    lockfile: args.lockfile.display().to_string(),
                    imported: &imported,
                },
                out,
            ))?;
        }
        ImportFormat::Table => {
            for i in &imported {
                describe(i, &store, before.as_ref(), out)?;
            }
            let new = imported
                .iter()
                .filter(|i| i.outcome != ImportOutcome::AlreadyImported)
                .count();
            writeln!(
                out,
                "{} run{} read, {new} imported into `{}`",
                imported.len(),
                if imported.len() == 1 { "" } else { "s" },
                args.lockfile.display()
            )?;
        }
    }
    for i in imported.iter().filter(|i| i.definition_mismatch.is_some()) {
        eprintln!(
            "warning: run `{}` of `{}` was imported although its definition is not the repository's (`--force`); the run records it as `definition-mismatch`",
            i.run, i.environment
        );
    }
    if args.commit {
        let written: Vec<PathBuf> = imported.iter().flat_map(|i| i.written.clone()).collect();
        let message = args.message.clone().unwrap_or_else(|| {
            let runs: Vec<&str> = imported.iter().map(|i| i.run.as_str()).collect();
            format!("envaudit import {}", runs.join(" "))
        });
        super::lock::commit_files(&args.lockfile, &written, &message, out)?;
    }
    Ok(Exit::Ok)
}

/// `DIR` when it holds `runs/`, else its subfolders that do, sorted; `DIR` itself when none
/// does (reading it then says it holds no records).
fn record_dirs(dir: &Path) -> Vec<PathBuf> {
    if dir.join("runs").is_dir() {
        return vec![dir.to_path_buf()];
    }
    let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("runs").is_dir())
                .collect()
        })
        .unwrap_or_default();
    subs.sort();
    if subs.is_empty() {
        vec![dir.to_path_buf()]
    } else {
        subs
    }
}

fn read(dir: &Path) -> anyhow::Result<Vec<Record>> {
    RecordDir::new(dir).read().map_err(|e| match e {
        ImportError::NoRecords { .. } => Hinted::new(
            e.to_string(),
            "pass the folder `envaudit lock --record-to DIR` wrote in the job (it holds `runs/` and `snapshots/`), e.g. the job's downloaded output",
        )
        .into(),
        other => anyhow::Error::new(other)
            .context(format!("cannot read the run records in `{}`", dir.display())),
    })
}

fn hinted(e: ImportError, lockfile: &Path) -> anyhow::Error {
    let hint = match &e {
        ImportError::DefinitionChanged(m) => format!(
            "the job ran a definition this checkout of `{}` does not hold: import on the branch or commit the job ran from, or pass `--force` to import it anyway (the run then records the mismatch)",
            m.definition
        ),
        ImportError::RunConflict { .. } => format!(
            "two records share a run id; remove the stale run file from `{}` if it is wrong",
            Store::new(lockfile).dir().join("runs").display()
        ),
        ImportError::BadSnapshot { .. } | ImportError::MissingSnapshot { .. } => {
            "record the run again with `envaudit lock --record-to DIR`: the record folder is incomplete or was edited".to_owned()
        }
        _ => return e.into(),
    };
    Hinted::new(e.to_string(), hint).into()
}

/// One line per imported run, and what changed when its snapshot became current.
fn describe(
    i: &Imported,
    store: &Store,
    before: Option<&crate::lockfile::Lockfile>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let what = match &i.outcome {
        ImportOutcome::NewEnvironment => "new environment".to_owned(),
        ImportOutcome::Advanced { previous } => format!("now current, was {previous}"),
        ImportOutcome::Current => "already current".to_owned(),
        ImportOutcome::History { current } => {
            format!("kept as history: the current snapshot {current} has a newer run")
        }
        ImportOutcome::AlreadyImported => "already imported, nothing written".to_owned(),
    };
    writeln!(
        out,
        "run `{}` of `{}`: snapshot {} ({what})",
        i.run, i.environment, i.snapshot
    )?;
    if let ImportOutcome::Advanced { previous } = &i.outcome
        && let Some(prev) = before
            .and_then(|l| l.environments.get(&i.environment))
            .filter(|p| p.id == *previous)
        && let Ok(Some(now)) = store.stored_snapshot(&i.snapshot)
    {
        super::lock::report_change(&i.environment, prev, &now.snapshot, out)?;
    }
    Ok(())
}
