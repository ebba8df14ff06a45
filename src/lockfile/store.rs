//! Writing a lockfile and its folder safely.
//!
//! Beside `envaudit.lock` sits `envaudit.lock.d/`:
//! - `runs/RUN.toml`: one file per run (which snapshot it used, when, at which commit);
//! - `snapshots/ID.toml`: every snapshot ever recorded, named by its content hash;
//! - `.lock`: the advisory lock writers take (ignored by git through `.gitignore`).
//!
//! Rules:
//! - Writers serialise on an advisory lock on `.lock`, a file that is never replaced (a lock
//!   held on the file being replaced would protect nothing once another is renamed over it).
//!   Under the lock the lockfile is read again, so concurrent writers never lose a record.
//! - Every file is written to a temporary file in its own folder, synced, and renamed over
//!   the old one (then the folder is synced): a crash at any moment leaves the old file or
//!   the new one, never a torn one.
//! - A file whose content would not change is not rewritten (its mtime is kept).

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Lockfile, LockfileError, RunRecord, Snapshot, StoredSnapshot};
use crate::source::SourceFile;

/// The default lockfile name.
pub const LOCKFILE: &str = "envaudit.lock";

/// Why the lockfile or its folder could not be written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be written, synced or renamed into place; the old content is intact.
    #[error("cannot write `{path}`", path = .path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The writers' lock file could not be created or locked.
    #[error("cannot lock `{path}`", path = .path.display())]
    Lock {
        /// The lock file, `<lockfile>.d/.lock`.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The lockfile on disk, read again under the lock, could not be read or is not valid.
    #[error(transparent)]
    Lockfile(#[from] LockfileError),
}

/// A lockfile and its folder.
#[derive(Clone, Debug)]
pub struct Store {
    lockfile: PathBuf,
}

/// What recording a snapshot changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The environment's snapshot before, if it had one.
    pub previous: Option<Snapshot>,
    /// Whether the lockfile was rewritten (`false`: the snapshot was already current).
    pub lockfile_changed: bool,
    /// The files written (lockfile, snapshot, run), for `--commit`.
    pub written: Vec<PathBuf>,
}

impl Store {
    /// The store of the lockfile at `lockfile`; nothing is read or created yet.
    pub fn new(lockfile: impl Into<PathBuf>) -> Self {
        Store {
            lockfile: lockfile.into(),
        }
    }

    /// The lockfile's path, as given to [`Store::new`].
    pub fn lockfile(&self) -> &Path {
        &self.lockfile
    }

    /// `<lockfile>.d`
    pub fn dir(&self) -> PathBuf {
        let mut name = self
            .lockfile
            .file_name()
            .map_or_else(|| LOCKFILE.into(), std::ffi::OsStr::to_os_string);
        name.push(".d");
        self.lockfile.with_file_name(name)
    }

    /// Where the record of `run` is kept: `<lockfile>.d/runs/RUN.toml`, with characters unsafe
    /// in a file name replaced (and a hash added when that changed the name).
    pub fn run_path(&self, run: &str) -> PathBuf {
        run_path(&self.dir(), run)
    }

    /// Where the snapshot `id` is kept: `<lockfile>.d/snapshots/ID.toml`, named as
    /// [`Store::run_path`] names runs.
    pub fn snapshot_path(&self, id: &str) -> PathBuf {
        snapshot_path(&self.dir(), id)
    }

    /// Reads and parses the lockfile (an empty one when the file does not exist), without
    /// taking the writers' lock.
    pub fn load(&self) -> Result<Lockfile, LockfileError> {
        Lockfile::load(&self.lockfile)
    }

    /// A recorded snapshot, by id.
    pub fn stored_snapshot(&self, id: &str) -> Result<Option<StoredSnapshot>, LockfileError> {
        let path = self.snapshot_path(id);
        if !path.is_file() {
            return Ok(None);
        }
        Ok(Some(StoredSnapshot::parse(&SourceFile::read(&path)?)?))
    }

    /// Every run record, sorted by time then run id. Unreadable files are returned as errors
    /// beside the records.
    pub fn runs(&self) -> (Vec<RunRecord>, Vec<LockfileError>) {
        let mut runs = Vec::new();
        let mut errors = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.dir().join("runs")) else {
            return (runs, errors);
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                match SourceFile::read(&p)
                    .map_err(LockfileError::from)
                    .and_then(|s| RunRecord::parse(&s))
                {
                    Ok(r) => runs.push(r),
                    Err(e) => errors.push(e),
                }
            }
        }
        runs.sort_by(|a, b| (&a.time, &a.run).cmp(&(&b.time, &b.run)));
        (runs, errors)
    }

    /// Takes the writers' lock (blocking until it is free).
    pub fn lock(&self) -> Result<LockGuard, StoreError> {
        let dir = self.dir();
        let err = |source| StoreError::Lock {
            path: dir.join(".lock"),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(err)?;
        let ignore = dir.join(".gitignore");
        let mut created = None;
        if !ignore.exists() {
            write_atomic(&ignore, b"/.lock\n")?;
            created = Some(ignore);
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))
            .map_err(err)?;
        file.lock().map_err(err)?;
        Ok(LockGuard {
            _file: file,
            created,
        })
    }

    /// Records `snapshot` as the current one of `environment`, and `run` if given, under the
    /// writers' lock.
    pub fn record(
        &self,
        environment: &str,
        snapshot: &Snapshot,
        run: Option<&RunRecord>,
    ) -> Result<Recorded, StoreError> {
        let mut guard = self.lock()?;
        let mut lockfile = self.load()?;
        let previous = lockfile
            .environments
            .insert(environment.to_owned(), snapshot.clone());
        let mut written: Vec<PathBuf> = guard.take_created().into_iter().collect();
        let text = lockfile.to_toml();
        let lockfile_changed = write_if_changed(&self.lockfile, text.as_bytes())?;
        if lockfile_changed {
            written.push(self.lockfile.clone());
        }
        let stored = self.snapshot_path(&snapshot.id);
        let stored_text = StoredSnapshot {
            environment: environment.to_owned(),
            snapshot: snapshot.clone(),
        }
        .to_toml();
        if write_if_changed(&stored, stored_text.as_bytes())? {
            written.push(stored);
        }
        if let Some(run) = run {
            let path = self.run_path(&run.run);
            if write_if_changed(&path, run.to_toml().as_bytes())? {
                written.push(path);
            }
        }
        Ok(Recorded {
            previous,
            lockfile_changed,
            written,
        })
    }
}

/// Held while writing; dropping it releases the lock.
pub struct LockGuard {
    _file: File,
    created: Option<PathBuf>,
}

impl LockGuard {
    /// The folder's `.gitignore` (which keeps `.lock` out of git) when taking the lock
    /// created it, once: it belongs in the commit of the files written under this lock.
    pub fn take_created(&mut self) -> Option<PathBuf> {
        self.created.take()
    }
}

/// `DIR/runs/RUN.toml`
pub(super) fn run_path(dir: &Path, run: &str) -> PathBuf {
    dir.join("runs").join(format!("{}.toml", file_stem(run)))
}

/// `DIR/snapshots/ID.toml`
pub(super) fn snapshot_path(dir: &Path, id: &str) -> PathBuf {
    dir.join("snapshots")
        .join(format!("{}.toml", file_stem(id)))
}

/// A file name for a run id or snapshot id: `[A-Za-z0-9._-]` kept, anything else `_`, and a
/// short hash of the original appended when something was replaced.
fn file_stem(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned == id && !id.is_empty() && cleaned.len() <= 120 {
        id.to_owned()
    } else {
        let short: String = cleaned.chars().take(100).collect();
        let hash = crate::model::Digest::sha256_of(id.as_bytes());
        format!("{short}-{}", &hash.hex()[..12])
    }
}

/// Writes `bytes` to `path` atomically unless it already holds them. Returns whether it
/// wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, StoreError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    write_atomic(path, bytes)?;
    Ok(true)
}

/// Writes `bytes` to `path` through a synced temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let err = |source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(err)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// The folder a lockfile sits in (`.` for a bare file name): paths in it are relative to it.
pub fn lockfile_dir(lockfile: &Path) -> PathBuf {
    match lockfile.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The current time, UTC, RFC 3339 to the second; `SOURCE_DATE_EPOCH` overrides the clock.
pub fn now_rfc3339() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        });
    rfc3339(secs)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian calendar).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm, as a formula).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("run-42_a.b"), "run-42_a.b");
        let s = file_stem("../../etc/passwd");
        assert!(!s.contains('/') && !s.starts_with('.'), "{s}");
        assert_ne!(file_stem("a/b"), file_stem("a_b"));
        assert!(file_stem(&"x".repeat(500)).len() < 120);
        assert!(!file_stem("").is_empty());
    }

    #[test]
    fn unchanged_files_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        assert!(write_if_changed(&p, b"a").unwrap());
        assert!(!write_if_changed(&p, b"a").unwrap());
        assert!(write_if_changed(&p, b"b").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"b");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }
}
