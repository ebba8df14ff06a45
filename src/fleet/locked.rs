//! What lockfiles say about the inventory's images: the locked environments whose snapshot
//! names an image (its `image-manifest`), and the runs (models) that used those snapshots
//! (`<lockfile>.d/runs/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::lockfile::LockfileError;
use crate::lockfile::store::Store;

/// A locked environment whose current snapshot names an image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LockedEnvironment {
    /// The image's platform manifest.
    pub manifest: String,
    /// The lockfile, as given.
    pub lockfile: String,
    /// The environment's name.
    pub environment: String,
    /// The snapshot id.
    pub snapshot: String,
}

/// A run recorded beside a lockfile whose snapshot (current or stored) names an image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LockedRun {
    /// The image's platform manifest.
    pub manifest: String,
    /// The lockfile, as given.
    pub lockfile: String,
    /// The environment's name.
    pub environment: String,
    /// The run id.
    pub run: String,
    /// The model it trained (`NAME:VERSION`), when recorded.
    pub model: Option<String>,
    /// When it ran.
    pub time: String,
}

/// The locked environments and runs of some lockfiles, by image manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Locked {
    /// Current snapshots naming an image.
    pub environments: Vec<LockedEnvironment>,
    /// Runs whose snapshot names an image.
    pub runs: Vec<LockedRun>,
    /// Run records or stored snapshots that could not be read (the rest is still used).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl Locked {
    /// Reads `lockfiles` (their current snapshots, stored snapshots and runs).
    pub fn load(lockfiles: &[PathBuf]) -> Result<Locked, LockfileError> {
        let mut out = Locked::default();
        for path in lockfiles {
            out.load_one(path)?;
        }
        out.environments.sort();
        out.environments.dedup();
        out.runs.sort();
        out.runs.dedup();
        Ok(out)
    }

    fn load_one(&mut self, path: &Path) -> Result<(), LockfileError> {
        let store = Store::new(path);
        let lock = store.load()?;
        let name = path.display().to_string();
        // snapshot id -> (environment, manifest)
        let mut snapshots = BTreeMap::<String, (String, Option<String>)>::new();
        for (env, s) in &lock.environments {
            let manifest = s.image_manifest.as_ref().map(ToString::to_string);
            if let Some(m) = &manifest {
                self.environments.push(LockedEnvironment {
                    manifest: m.clone(),
                    lockfile: name.clone(),
                    environment: env.clone(),
                    snapshot: s.id.clone(),
                });
            }
            snapshots.insert(s.id.clone(), (env.clone(), manifest));
        }
        let (runs, errors) = store.runs();
        self.warnings.extend(errors.iter().map(ToString::to_string));
        for run in runs {
            if !snapshots.contains_key(&run.snapshot) {
                let found = match store.stored_snapshot(&run.snapshot) {
                    Ok(Some(s)) => (
                        s.environment,
                        s.snapshot.image_manifest.as_ref().map(ToString::to_string),
                    ),
                    Ok(None) => (run.environment.clone(), None),
                    Err(e) => {
                        self.warnings.push(e.to_string());
                        (run.environment.clone(), None)
                    }
                };
                snapshots.insert(run.snapshot.clone(), found);
            }
            if let Some((_, Some(manifest))) = snapshots.get(&run.snapshot) {
                self.runs.push(LockedRun {
                    manifest: manifest.clone(),
                    lockfile: name.clone(),
                    environment: run.environment.clone(),
                    run: run.run.clone(),
                    model: run.model.clone(),
                    time: run.time.clone(),
                });
            }
        }
        Ok(())
    }

    /// The environments naming `manifest`.
    pub fn environments_of<'a>(
        &'a self,
        manifest: &'a str,
    ) -> impl Iterator<Item = &'a LockedEnvironment> + 'a {
        self.environments
            .iter()
            .filter(move |e| e.manifest == manifest)
    }

    /// The runs that used `manifest`.
    pub fn runs_of<'a>(&'a self, manifest: &'a str) -> impl Iterator<Item = &'a LockedRun> + 'a {
        self.runs.iter().filter(move |r| r.manifest == manifest)
    }

    /// Whether a current snapshot of a lockfile names `manifest` (a run's older snapshot
    /// does not lock it).
    pub fn names(&self, manifest: &str) -> bool {
        self.environments_of(manifest).next().is_some()
    }
}
