//! Naming lockfile snapshots on the command line (`@REV[:PATH][#ENV]`) and reading them:
//! shared by `diff`, `log`, `drift`, `why`, `graph`, `pin`, `export` and `report`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::error::Hinted;
use crate::lockfile::git::{GitError, Repo};
use crate::lockfile::spec::SnapshotSpec;
use crate::lockfile::{Lockfile, LockfileError, Snapshot};
use crate::source::SourceFile;

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

/// The snapshot of one environment of a lockfile side.
pub(crate) fn pick<'l>(
    lock: &'l Lockfile,
    env: Option<&str>,
    at: &str,
) -> anyhow::Result<(&'l String, &'l Snapshot)> {
    match env {
        Some(e) => lock.environments.get_key_value(e).ok_or_else(|| {
            Hinted::new(
                format!("`{e}` is not in `{at}`"),
                format!(
                    "environments there: {}",
                    lock.environments
                        .keys()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .into()
        }),
        None if lock.environments.len() == 1 => Ok(lock.environments.iter().next().expect("one")),
        None => Err(Hinted::new(
            format!("`{at}` holds {} environments", lock.environments.len()),
            "name the environment (e.g. `envaudit graph ENV`, `envaudit export ENV`)",
        )
        .into()),
    }
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
    let parsed: HashMap<String, Arc<Lockfile>> = parse_all(&distinct)?;
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
    blobs: &[(String, String, Vec<u8>)],
) -> anyhow::Result<HashMap<String, Arc<Lockfile>>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
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
