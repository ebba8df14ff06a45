//! The package index as the resolver sees it: [`crate::pyindex::IndexClient`] behind the
//! resolver's [`PackageSource`], for one target. Project pages are fetched concurrently
//! ahead of the resolver (it names what it will ask for next), and each version counts only
//! when a file of it fits the target: a wheel whose tags the target accepts, or an sdist; its
//! `Requires-Python` admitting the target's Python; and, with `--as-of`, uploaded by then.
//!
//! As soon as a page arrives, the core metadata of its newest final release that fits is
//! fetched too, as a guess (the resolver tries versions newest first, so that is usually the
//! one it asks for next), and once that is here, the pages of the requirements it names for
//! the target (markers evaluated, no extras). The fetches thus run ahead of the resolver
//! through the whole dependency graph, [`IndexConfig::concurrency`] at a time, instead of one
//! round trip after another as the resolver meets each package. A wrong guess costs requests,
//! never a wrong answer: whatever the resolver asks for is fetched when it asks, if no guess
//! fetched it already.
//!
//! [`IndexConfig::concurrency`]: crate::pyindex::IndexConfig::concurrency

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::pip::{AvailableVersion, PackageSource, VersionMetadata};
use super::target::{Libc, Target};
use crate::model::PackageName;
use crate::pyindex::{
    Arch, CoreMetadata, DistFile, IndexClient, IndexError, ProjectPage, SupportedTags,
    TargetPlatform,
};
use crate::python::{MarkerEnv, Version};

type Page = Arc<ProjectPage>;
type Task<T> = JoinHandle<Result<T, IndexError>>;

/// What the index told, beyond versions: for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexNotes {
    /// With `--as-of`: projects some of whose files carry no upload time (a PEP 503 HTML page,
    /// or an index without PEP 700), so they were counted as if uploaded in time.
    pub undated: BTreeSet<String>,
    /// Versions whose only fitting file is an sdist that needs a build to tell its
    /// dependencies: `name version (why)`.
    pub needs_build: BTreeSet<String>,
}

/// The index client as a [`PackageSource`] for one target.
pub struct IndexSource {
    shared: Arc<Shared>,
    pages: Mutex<HashMap<PackageName, Page>>,
    notes: Mutex<IndexNotes>,
}

/// What the fetch tasks share with the resolver's thread: the client, what fits the target,
/// and the fetches started ahead of it.
struct Shared {
    client: Arc<IndexClient>,
    runtime: Handle,
    tags: SupportedTags,
    python: Version,
    env: MarkerEnv,
    as_of: Option<jiff::Timestamp>,
    /// Requests in flight at most.
    limit: Semaphore,
    /// The pages asked for.
    fetches: Mutex<Fetches>,
    /// Metadata fetched on a guess, until the resolver takes it.
    guesses: Mutex<HashMap<(PackageName, Version), Task<CoreMetadata>>>,
}

/// The pages asked for, under one lock so that a page asked for is pending until taken.
#[derive(Default)]
struct Fetches {
    /// Every project whose page was asked for, taken or not yet.
    requested: HashSet<PackageName>,
    /// Pages on their way, until the resolver takes them.
    pending: HashMap<PackageName, Task<ProjectPage>>,
}

impl Shared {
    /// Whether a file fits the target, and was uploaded in time (a file without an upload
    /// time counts as in time).
    fn fits(&self, file: &DistFile) -> bool {
        let installable = match file.filename.as_wheel() {
            Some(w) => self.tags.is_compatible(w),
            None => true,
        };
        installable
            && file
                .requires_python
                .as_ref()
                .is_none_or(|rp| rp.contains(&self.python))
            && match (self.as_of, file.upload_time) {
                (Some(limit), Some(t)) => t <= limit,
                _ => true,
            }
    }

    /// The file pip would take for a version: the best-tagged wheel, else an sdist;
    /// non-yanked first.
    fn best_file<'p>(&self, page: &'p ProjectPage, version: &Version) -> Option<&'p DistFile> {
        page.files
            .iter()
            .filter(|f| f.filename.version() == version && self.fits(f))
            .min_by_key(|f| {
                let tag = f
                    .filename
                    .as_wheel()
                    .and_then(|w| self.tags.best_tag_priority(w))
                    .unwrap_or(usize::MAX);
                (f.is_yanked(), tag)
            })
    }

    /// Starts fetching the page of `name`, unless it was asked for already.
    fn request(self: &Arc<Self>, name: &PackageName) {
        let mut fetches = self.fetches.lock().unwrap_or_else(PoisonError::into_inner);
        if fetches.requested.insert(name.clone()) {
            let task = self.runtime.spawn(self.clone().page(name.clone()));
            fetches.pending.insert(name.clone(), task);
        }
    }

    /// The page of `name`; once it is here, the guess about its metadata (see the module
    /// documentation).
    async fn page(self: Arc<Self>, name: PackageName) -> Result<ProjectPage, IndexError> {
        let page = {
            let _permit = self.limit.acquire().await;
            self.client.project(&name).await?
        };
        let newest = page
            .files
            .iter()
            .filter(|f| !f.is_yanked() && !f.filename.version().is_prerelease() && self.fits(f))
            .map(|f| f.filename.version())
            .max();
        // only where the index announces a `.metadata` file: a guess is not worth downloading
        // a distribution for (it would only if the index then failed to serve that file)
        if let Some(version) = newest
            && let Some(file) = self.best_file(&page, version)
            && file.metadata_url().is_some()
        {
            let mut guesses = self.guesses.lock().unwrap_or_else(PoisonError::into_inner);
            let key = (name, version.clone());
            guesses
                .entry(key)
                .or_insert_with(|| self.runtime.spawn(self.clone().guess(file.clone())));
        }
        Ok(page)
    }

    /// The metadata of `file`, then the pages of the requirements it names for the target.
    async fn guess(self: Arc<Self>, file: DistFile) -> Result<CoreMetadata, IndexError> {
        let meta = {
            let _permit = self.limit.acquire().await;
            self.client.metadata(&file).await?
        };
        for req in &meta.requires_dist {
            let applies = req
                .marker
                .as_ref()
                .is_none_or(|m| m.evaluate(&self.env, &[]).unwrap_or(false));
            if applies && let Some(name) = &req.name {
                self.request(name);
            }
        }
        Ok(meta)
    }
}

impl IndexSource {
    /// A source for `target`, fetching with `client` on `runtime` (a multi-thread runtime
    /// the caller does not block in: the resolver blocks its own thread on it).
    pub fn new(
        client: Arc<IndexClient>,
        runtime: Handle,
        target: &Target,
        as_of: Option<jiff::Timestamp>,
    ) -> Self {
        let limit = Semaphore::new(client.config().concurrency.max(1));
        IndexSource {
            shared: Arc::new(Shared {
                client,
                runtime,
                tags: SupportedTags::new(&platform(target)),
                python: target.python_version(),
                env: target.marker_env(),
                as_of,
                limit,
                fetches: Mutex::default(),
                guesses: Mutex::default(),
            }),
            pages: Mutex::default(),
            notes: Mutex::default(),
        }
    }

    /// Drops the source (its pages and metadata, hundreds of allocations) on the runtime's
    /// blocking pool, so that the caller goes on with the prediction meanwhile.
    pub fn release(self) {
        let runtime = self.shared.runtime.clone();
        drop(runtime.spawn_blocking(move || drop(self)));
    }

    /// What the index told beyond versions, so far.
    pub fn notes(&self) -> IndexNotes {
        self.notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn page(&self, name: &PackageName) -> Result<Page, IndexError> {
        if let Some(p) = self
            .pages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return Ok(p.clone());
        }
        // only this thread takes pending pages, and puts them in `pages`: a page requested
        // and not in `pages` is pending
        self.shared.request(name);
        let task = self
            .shared
            .fetches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending
            .remove(name);
        let page = if let Some(task) = task {
            join(&self.shared.runtime, task)?
        } else {
            let shared = self.shared.clone();
            self.shared.runtime.block_on(shared.page(name.clone()))?
        };
        let page = Arc::new(page);
        self.pages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.clone(), page.clone());
        Ok(page)
    }

    /// Whether a file fits the target, and was uploaded in time; a file counted in time
    /// for want of an upload time is noted.
    fn fits(&self, name: &PackageName, file: &DistFile) -> bool {
        let fits = self.shared.fits(file);
        if fits && self.shared.as_of.is_some() && file.upload_time.is_none() {
            self.notes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .undated
                .insert(name.to_string());
        }
        fits
    }
}

/// Waits for a fetch task on the resolver's thread.
fn join<T>(runtime: &Handle, task: Task<T>) -> Result<T, IndexError> {
    runtime
        .block_on(task)
        .map_err(|e| IndexError::Client(format!("a fetch task failed: {e}")))?
}

/// The target as the wheel-tag rules see it.
fn platform(target: &Target) -> TargetPlatform {
    let mut parts = target
        .python
        .split('.')
        .map(|p| p.parse::<u8>().unwrap_or(0));
    let python = (parts.next().unwrap_or(3), parts.next().unwrap_or(0));
    let arch = target.machine.parse().unwrap_or(Arch::X86_64);
    let libc = target.libc.unwrap_or(Libc::Unknown);
    TargetPlatform::linux(python, arch, libc)
}

impl PackageSource for IndexSource {
    type Error = IndexError;

    fn versions(&self, name: &PackageName) -> Result<Vec<AvailableVersion>, IndexError> {
        let page = self.page(name)?;
        let mut by_version: BTreeMap<Version, bool> = BTreeMap::new();
        for f in page.files.iter().filter(|f| self.fits(name, f)) {
            let all_yanked = by_version
                .entry(f.filename.version().clone())
                .or_insert(true);
            *all_yanked &= f.is_yanked();
        }
        Ok(by_version
            .into_iter()
            .map(|(version, yanked)| AvailableVersion { version, yanked })
            .collect())
    }

    fn metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<VersionMetadata, IndexError> {
        let page = self.page(name)?;
        let Some(file) = self.shared.best_file(&page, version) else {
            return Ok(VersionMetadata::NeedsBuild {
                file: format!("{name} {version} (no file fits the target)"),
            });
        };
        let guess = self
            .shared
            .guesses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(name.clone(), version.clone()));
        let fetched = if let Some(task) = guess {
            join(&self.shared.runtime, task)
        } else {
            let shared = self.shared.clone();
            let file = file.clone();
            self.shared.runtime.block_on(async move {
                let _permit = shared.limit.acquire().await;
                shared.client.metadata(&file).await
            })
        };
        match fetched {
            Ok(m) => Ok(VersionMetadata::Known {
                requires_dist: m.requires_dist,
                requires_python: m.requires_python,
                provides_extra: Some(m.provides_extra),
            }),
            Err(IndexError::NeedsBuild { filename, reason }) => {
                self.notes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .needs_build
                    .insert(format!("{name} {version} ({filename}: {reason})"));
                Ok(VersionMetadata::NeedsBuild { file: filename })
            }
            Err(e) => Err(e),
        }
    }

    fn prefetch(&self, names: &[PackageName]) {
        for name in names {
            self.shared.request(name);
        }
    }
}
