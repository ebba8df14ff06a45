//! An environment's history across the commits of the lockfile: each change of each
//! environment, as the diff between consecutive states.

use std::collections::BTreeSet;

use serde::Serialize;

use super::diff::{EnvironmentDiff, EnvironmentStatus, snapshots};
use crate::lockfile::Lockfile;

/// One change of one environment in the lockfile's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    /// The commit that changed the lockfile, as its full hex id.
    pub commit: String,
    /// Commit time, UTC, RFC 3339.
    pub time: String,
    /// The commit message's first line.
    pub subject: String,
    /// The environment that changed.
    pub environment: String,
    /// Added, removed or changed at this commit (never unchanged).
    pub status: EnvironmentStatus,
    /// The snapshot id after the commit; `None` when the environment was removed.
    pub snapshot: Option<String>,
    /// The definition hash changed at this commit.
    pub definition_changed: bool,
    /// The image (platform manifest, config or layers) changed at this commit.
    pub image_changed: bool,
    /// The image's platform manifest digest after the commit, else its config digest.
    pub image: Option<String>,
    /// How many installed packages changed at this commit.
    pub package_changes: usize,
    /// Installed packages or the image changed while the definition hash did not.
    pub silent_drift: bool,
}

impl LogEntry {
    /// The entry of one environment's change at one revision.
    pub fn new(commit: String, time: String, subject: String, d: EnvironmentDiff) -> Self {
        LogEntry {
            commit,
            time,
            subject,
            environment: d.name,
            status: d.status,
            snapshot: d.new_snapshot,
            definition_changed: d.definition_changed,
            image_changed: d.image_changed,
            image: d.new_image,
            package_changes: d.packages.len(),
            silent_drift: d.silent_drift,
        }
    }
}

/// An environment's history: what changed at each revision of the lockfile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogReport {
    /// The version of this report's JSON shape (that of [`super::diff::SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The lockfile's path relative to the root of its git repository.
    pub lockfile: String,
    /// The changes, oldest first.
    pub entries: Vec<LogEntry>,
}

/// The changes between consecutive lockfile states, oldest first. `states` are the lockfile
/// at each revision that changed it (`None` where it was deleted); `initial` is the state
/// before the first of them.
pub fn history(
    initial: Option<&Lockfile>,
    states: &[(
        crate::lockfile::git::Revision,
        Option<std::sync::Arc<Lockfile>>,
    )],
    environment: Option<&str>,
) -> Vec<LogEntry> {
    let empty = Lockfile::default();
    let mut previous: &Lockfile = initial.unwrap_or(&empty);
    let mut out = Vec::new();
    for (rev, state) in states {
        let current: &Lockfile = state.as_deref().unwrap_or(&empty);
        let names: BTreeSet<&String> = previous
            .environments
            .keys()
            .chain(current.environments.keys())
            .filter(|n| environment.is_none_or(|e| e == n.as_str()))
            .collect();
        for name in names {
            let (o, n) = (
                previous.environments.get(name),
                current.environments.get(name),
            );
            if o.map(|s| &s.id) == n.map(|s| &s.id) {
                continue;
            }
            out.push(LogEntry::new(
                rev.commit.clone(),
                crate::lockfile::store::rfc3339(rev.time),
                rev.subject.clone(),
                snapshots(name, o, n),
            ));
        }
        previous = current;
    }
    out
}
