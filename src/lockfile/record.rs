//! Run records made away from the repository, and their import.
//!
//! An Azure ML job sees the filesystem it ran on (`lock --rootfs /`) but runs in a throwaway
//! copy of the code, not in the git repository that holds `envaudit.lock`. `lock
//! --record-to DIR` writes there exactly the files `lock` would add under
//! `envaudit.lock.d/` (`runs/RUN.toml` and `snapshots/ID.toml`), and [`Store::import`]
//! merges such folders into the repository's lockfile later:
//! - under the writers' lock, the lockfile read again, every file written atomically, as
//!   [`Store::record`] does, so concurrent imports and locks lose nothing;
//! - every run is kept; the environment's current snapshot moves to a record's only when
//!   the record's run is newer than every run of the current snapshot;
//! - importing the same record again changes nothing.
//!
//! Whether the record's definition is the repository's is the caller's check (it needs the
//! definition loaders): see `lock::import`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::store::{self, Store, StoreError};
use super::{LockfileError, RunRecord, StoredSnapshot};
use crate::model::Digest;
use crate::source::SourceFile;

/// Why records could not be read or imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A record file could not be read or parsed (with its file, line and column).
    #[error(transparent)]
    Lockfile(#[from] LockfileError),
    /// The lockfile or a record file could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The folder holds no `runs/*.toml`.
    #[error("`{dir}` holds no run records (`runs/*.toml`)", dir = .dir.display())]
    NoRecords {
        /// The folder given.
        dir: PathBuf,
    },
    /// A run names a snapshot that neither its folder nor the repository holds.
    #[error("`{run_file}` names snapshot {snapshot}, which is not in `{dir}`", run_file = .run_file.display(), dir = .dir.display())]
    MissingSnapshot {
        /// The run's file.
        run_file: PathBuf,
        /// The snapshot id it names.
        snapshot: String,
        /// The folder of snapshots searched.
        dir: PathBuf,
    },
    /// A snapshot file's content does not give its id, or it belongs to another environment
    /// than the run: it was edited or damaged.
    #[error("`{file}`: {reason}", file = .file.display())]
    BadSnapshot {
        /// The snapshot file.
        file: PathBuf,
        /// What does not match.
        reason: String,
    },
    /// The repository already records this run id with other content.
    #[error("run `{run}` is already recorded with other content in `{path}`", path = .path.display())]
    RunConflict {
        /// The run id.
        run: String,
        /// The repository's run file.
        path: PathBuf,
    },
    /// The record's definition hash is not the repository's definition's: the job ran a
    /// definition this repository does not hold.
    #[error("{0}")]
    DefinitionChanged(Box<DefinitionMismatch>),
}

/// A record whose definition is not the repository's.
#[derive(Debug)]
pub struct DefinitionMismatch {
    /// The run id.
    pub run: String,
    /// The environment.
    pub environment: String,
    /// The definition's path, relative to the lockfile's folder.
    pub definition: String,
    /// The definition hash the record holds.
    pub recorded: Digest,
    /// The repository's definition hash now; `None` when the definition could not be
    /// loaded at all.
    pub repository: Option<Digest>,
}

impl std::fmt::Display for DefinitionMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run `{}` of `{}` used definition {}, but `{}` in the repository is ",
            self.run, self.environment, self.recorded, self.definition
        )?;
        match &self.repository {
            Some(h) => write!(f, "{h}"),
            None => f.write_str("missing or unreadable"),
        }
    }
}

/// One run record with its snapshot, read from a record folder.
#[derive(Clone, Debug)]
pub struct Record {
    /// The run.
    pub run: RunRecord,
    /// The snapshot it used, with its environment.
    pub snapshot: StoredSnapshot,
    /// The run's file, for messages.
    pub run_file: PathBuf,
}

/// A folder of records (`lock --record-to DIR`): `runs/RUN.toml` and `snapshots/ID.toml`,
/// named and written as under `envaudit.lock.d/`.
#[derive(Clone, Debug)]
pub struct RecordDir {
    dir: PathBuf,
}

impl RecordDir {
    /// The record folder `dir`; nothing is read or created yet.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RecordDir { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a run and its snapshot, each file atomically; returns the files written (a
    /// file that already holds the same bytes is not rewritten). Needs no repository.
    pub fn write(
        &self,
        environment: &str,
        snapshot: &super::Snapshot,
        run: &RunRecord,
    ) -> Result<Vec<PathBuf>, StoreError> {
        let mut written = Vec::new();
        let stored = StoredSnapshot {
            environment: environment.to_owned(),
            snapshot: snapshot.clone(),
        };
        let path = store::snapshot_path(&self.dir, &snapshot.id);
        if store::write_if_changed(&path, stored.to_toml().as_bytes())? {
            written.push(path);
        }
        let path = store::run_path(&self.dir, &run.run);
        if store::write_if_changed(&path, run.to_toml().as_bytes())? {
            written.push(path);
        }
        Ok(written)
    }

    /// Reads every run of the folder with its snapshot, checking that each snapshot file's
    /// content gives its id and names the run's environment. Records come sorted by time,
    /// then run id.
    pub fn read(&self) -> Result<Vec<Record>, ImportError> {
        let runs_dir = self.dir.join("runs");
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&runs_dir) {
            Ok(entries) => entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect(),
            Err(_) => Vec::new(),
        };
        if files.is_empty() {
            return Err(ImportError::NoRecords {
                dir: self.dir.clone(),
            });
        }
        files.sort();
        let mut records = Vec::with_capacity(files.len());
        for run_file in files {
            let run = RunRecord::parse(&SourceFile::read(&run_file).map_err(LockfileError::from)?)?;
            let snapshot_file = store::snapshot_path(&self.dir, &run.snapshot);
            if !snapshot_file.is_file() {
                return Err(ImportError::MissingSnapshot {
                    run_file,
                    snapshot: run.snapshot,
                    dir: self.dir.join("snapshots"),
                });
            }
            let snapshot = StoredSnapshot::parse(
                &SourceFile::read(&snapshot_file).map_err(LockfileError::from)?,
            )?;
            check_snapshot(&snapshot_file, &snapshot, &run)?;
            records.push(Record {
                run,
                snapshot,
                run_file,
            });
        }
        records.sort_by(|a, b| (&a.run.time, &a.run.run).cmp(&(&b.run.time, &b.run.run)));
        Ok(records)
    }
}

/// A snapshot file read from outside the repository must be what its name says.
fn check_snapshot(file: &Path, s: &StoredSnapshot, run: &RunRecord) -> Result<(), ImportError> {
    let bad = |reason: String| ImportError::BadSnapshot {
        file: file.to_path_buf(),
        reason,
    };
    let computed = s.snapshot.compute_id();
    if s.snapshot.id != computed {
        return Err(bad(format!(
            "its content gives snapshot id {computed}, not the {} it says (was it edited?)",
            s.snapshot.id
        )));
    }
    if s.snapshot.id != run.snapshot {
        return Err(bad(format!(
            "it is snapshot {}, not the {} that run `{}` names",
            s.snapshot.id, run.snapshot, run.run
        )));
    }
    if s.environment != run.environment {
        return Err(bad(format!(
            "it is a snapshot of `{}`, not of `{}` that run `{}` used",
            s.environment, run.environment, run.run
        )));
    }
    Ok(())
}

/// What importing one record did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// The run id.
    pub run: String,
    /// The environment.
    pub environment: String,
    /// The record's snapshot.
    pub snapshot: String,
    /// Whether it became the environment's current snapshot.
    pub outcome: ImportOutcome,
    /// The repository's definition hash when it differed from the record's (`--force`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition_mismatch: Option<Digest>,
    /// The files written (lockfile, snapshot, run), for `--commit`.
    pub written: Vec<PathBuf>,
}

/// Where an imported record's snapshot stands in its environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum ImportOutcome {
    /// The environment was not in the lockfile; the record's snapshot is now its current one.
    NewEnvironment,
    /// The record is newer than the current snapshot's runs: its snapshot is now current.
    Advanced {
        /// The snapshot that was current.
        previous: String,
    },
    /// The record's snapshot was already the current one; the run was added.
    Current,
    /// The current snapshot has a newer run: the record's snapshot and run are kept as
    /// history, the current snapshot stays.
    History {
        /// The snapshot that stays current.
        current: String,
    },
    /// The repository already holds this run exactly: nothing was written.
    AlreadyImported,
}

impl Store {
    /// Merges records into this lockfile, under the writers' lock, oldest run first. Each
    /// run is kept; an environment's current snapshot moves to a record's only when the
    /// record's run is newer than every run of the current snapshot (a snapshot with no run
    /// is older than any record). `mismatches` gives, per run id, the repository's
    /// definition hash to record with runs imported despite a different definition.
    pub fn import(
        &self,
        records: &[Record],
        mismatches: &BTreeMap<String, Digest>,
    ) -> Result<Vec<Imported>, ImportError> {
        let mut guard = self.lock()?;
        let mut lockfile = self.load()?;
        let (existing, errors) = self.runs();
        if let Some(e) = errors.into_iter().next() {
            return Err(e.into());
        }
        // The latest run time of each (environment, snapshot), updated as records land.
        let mut latest: BTreeMap<(String, String), String> = BTreeMap::new();
        for r in existing {
            note_time(&mut latest, &r.environment, &r.snapshot, &r.time);
        }
        let mut sorted: Vec<&Record> = records.iter().collect();
        sorted.sort_by(|a, b| (&a.run.time, &a.run.run).cmp(&(&b.run.time, &b.run.run)));
        let mut out = Vec::with_capacity(sorted.len());
        let mut runs_to_write: Vec<(usize, PathBuf, String)> = Vec::new();
        let mut lockfile_changed = false;
        for record in sorted {
            let mut run = record.run.clone();
            let mismatch = mismatches.get(&run.run).cloned();
            if mismatch.is_some() {
                run.definition_mismatch.clone_from(&mismatch);
            }
            let env = run.environment.clone();
            let snap = &record.snapshot.snapshot;
            let run_path = self.run_path(&run.run);
            let mut imported = Imported {
                run: run.run.clone(),
                environment: env.clone(),
                snapshot: snap.id.clone(),
                outcome: ImportOutcome::AlreadyImported,
                definition_mismatch: mismatch,
                written: Vec::new(),
            };
            if run_path.exists() {
                let existing =
                    RunRecord::parse(&SourceFile::read(&run_path).map_err(LockfileError::from)?)?;
                if same_run(&existing, &run) {
                    out.push(imported);
                    continue;
                }
                return Err(ImportError::RunConflict {
                    run: run.run.clone(),
                    path: run_path,
                });
            }
            imported.outcome = match lockfile.environments.get(&env) {
                None => ImportOutcome::NewEnvironment,
                Some(current) if current.id == snap.id => ImportOutcome::Current,
                Some(current) => {
                    let current_time = latest.get(&(env.clone(), current.id.clone()));
                    if current_time.is_none_or(|t| is_later(&run.time, t)) {
                        ImportOutcome::Advanced {
                            previous: current.id.clone(),
                        }
                    } else {
                        ImportOutcome::History {
                            current: current.id.clone(),
                        }
                    }
                }
            };
            if matches!(
                imported.outcome,
                ImportOutcome::NewEnvironment | ImportOutcome::Advanced { .. }
            ) {
                lockfile.environments.insert(env.clone(), snap.clone());
                lockfile_changed = true;
            }
            let stored = self.snapshot_path(&snap.id);
            if store::write_if_changed(&stored, record.snapshot.to_toml().as_bytes())? {
                imported.written.push(stored);
            }
            note_time(&mut latest, &env, &snap.id, &run.time);
            runs_to_write.push((out.len(), run_path, run.to_toml()));
            out.push(imported);
        }
        // Snapshots, then the lockfile, then the runs: a crash in between leaves runs to
        // import again, never a run recorded whose snapshot did not advance as it should.
        if lockfile_changed
            && store::write_if_changed(self.lockfile(), lockfile.to_toml().as_bytes())?
            && let Some(first) = out.iter_mut().find(|i| {
                matches!(
                    i.outcome,
                    ImportOutcome::NewEnvironment | ImportOutcome::Advanced { .. }
                )
            })
        {
            // The lockfile goes with the first record that changed it, for `--commit`.
            first.written.insert(0, self.lockfile().to_path_buf());
        }
        for (i, path, text) in runs_to_write {
            store::write_atomic(&path, text.as_bytes())?;
            out[i].written.push(path);
        }
        if let Some(ignore) = guard.take_created()
            && let Some(first) = out.iter_mut().find(|i| !i.written.is_empty())
        {
            first.written.push(ignore);
        }
        Ok(out)
    }
}

/// Whether the repository's run `existing` is the record `run` imported before: the same
/// run, environment, snapshot and time, with the model and mismatch the import may have
/// added.
fn same_run(existing: &RunRecord, run: &RunRecord) -> bool {
    existing.environment == run.environment
        && existing.snapshot == run.snapshot
        && existing.time == run.time
        && existing.commit == run.commit
        && (run.model.is_none() || run.model == existing.model)
        && (run.definition_mismatch.is_none()
            || run.definition_mismatch == existing.definition_mismatch)
}

fn note_time(
    latest: &mut BTreeMap<(String, String), String>,
    environment: &str,
    snapshot: &str,
    time: &str,
) {
    let slot = latest
        .entry((environment.to_owned(), snapshot.to_owned()))
        .or_default();
    if slot.is_empty() || is_later(time, slot) {
        time.clone_into(slot);
    }
}

/// Whether RFC 3339 time `a` is after `b`; times that do not parse compare as text (the
/// format envaudit writes sorts as text).
fn is_later(a: &str, b: &str) -> bool {
    match (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>()) {
        (Ok(a), Ok(b)) => a > b,
        _ => a > b,
    }
}
