//! The package index as the resolver sees it: [`crate::pyindex::IndexClient`] behind the
//! resolver's [`PackageSource`], for one target. Project pages are fetched concurrently
//! ahead of the resolver (it names what it will ask for next), and each version counts only
//! when a file of it fits the target: a wheel whose tags the target accepts, or an sdist; its
//! `Requires-Python` admitting the target's Python; and, with `--as-of`, uploaded by then.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::pip::{AvailableVersion, PackageSource, VersionMetadata};
use super::target::{Libc, Target};
use crate::model::PackageName;
use crate::pyindex::{
    Arch, DistFile, IndexClient, IndexError, ProjectPage, SupportedTags, TargetPlatform,
};
use crate::python::Version;

type Page = Arc<ProjectPage>;

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
    client: Arc<IndexClient>,
    runtime: Handle,
    tags: SupportedTags,
    python: Version,
    as_of: Option<jiff::Timestamp>,
    pages: Mutex<HashMap<PackageName, Page>>,
    pending: Mutex<HashMap<PackageName, JoinHandle<Result<ProjectPage, IndexError>>>>,
    notes: Mutex<IndexNotes>,
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
        IndexSource {
            client,
            runtime,
            tags: SupportedTags::new(&platform(target)),
            python: target.python_version(),
            as_of,
            pages: Mutex::default(),
            pending: Mutex::default(),
            notes: Mutex::default(),
        }
    }

    /// What the index told beyond versions, so far.
    pub fn notes(&self) -> IndexNotes {
        self.notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn page(&self, name: &PackageName) -> Result<Page, IndexError> {
        if let Some(p) = self
            .pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
        {
            return Ok(p.clone());
        }
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
        let page = if let Some(task) = pending {
            self.runtime
                .block_on(task)
                .map_err(|e| IndexError::Client(format!("a fetch task failed: {e}")))??
        } else {
            let client = self.client.clone();
            let name = name.clone();
            self.runtime
                .block_on(async move { client.project(&name).await })?
        };
        let page = Arc::new(page);
        self.pages
            .lock()
            .expect("not poisoned")
            .insert(name.clone(), page.clone());
        Ok(page)
    }

    /// Whether a file fits the target, and was uploaded in time.
    fn fits(&self, name: &PackageName, file: &DistFile) -> bool {
        let installable = match file.filename.as_wheel() {
            Some(w) => self.tags.is_compatible(w),
            None => true,
        };
        if !installable
            || file
                .requires_python
                .as_ref()
                .is_some_and(|rp| !rp.contains(&self.python))
        {
            return false;
        }
        match (self.as_of, file.upload_time) {
            (Some(limit), Some(t)) => t <= limit,
            (Some(_), None) => {
                self.notes
                    .lock()
                    .expect("not poisoned")
                    .undated
                    .insert(name.to_string());
                true
            }
            (None, _) => true,
        }
    }

    /// The file pip would take for a version: the best-tagged wheel, else an sdist;
    /// non-yanked first.
    fn best_file<'p>(
        &self,
        page: &'p ProjectPage,
        name: &PackageName,
        version: &Version,
    ) -> Option<&'p DistFile> {
        page.files
            .iter()
            .filter(|f| f.filename.version() == version && self.fits(name, f))
            .min_by_key(|f| {
                let tag = f
                    .filename
                    .as_wheel()
                    .and_then(|w| self.tags.best_tag_priority(w))
                    .unwrap_or(usize::MAX);
                (f.is_yanked(), tag)
            })
    }
}

/// The target as the wheel-tag rules see it.
fn platform(target: &Target) -> TargetPlatform {
    let mut parts = target
        .python
        .split('.')
        .map(|p| p.parse::<u8>().unwrap_or(0));
    let python = (parts.next().unwrap_or(3), parts.next().unwrap_or(0));
    let arch = target.machine.parse().unwrap_or(Arch::X86_64);
    let libc = match target.libc {
        Some(Libc::Glibc { major, minor }) => crate::pyindex::Libc::Glibc(major, minor),
        Some(Libc::Musl { major, minor }) => crate::pyindex::Libc::Musl(major, minor),
        None => crate::pyindex::Libc::Unknown,
    };
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
        let Some(file) = self.best_file(&page, name, version) else {
            return Ok(VersionMetadata::NeedsBuild {
                file: format!("{name} {version} (no file fits the target)"),
            });
        };
        let client = self.client.clone();
        let file = file.clone();
        match self
            .runtime
            .block_on(async move { client.metadata(&file).await })
        {
            Ok(m) => Ok(VersionMetadata::Known {
                requires_dist: m.requires_dist,
                requires_python: m.requires_python,
                provides_extra: Some(m.provides_extra),
            }),
            Err(IndexError::NeedsBuild { filename, reason }) => {
                self.notes
                    .lock()
                    .expect("not poisoned")
                    .needs_build
                    .insert(format!("{name} {version} ({filename}: {reason})"));
                Ok(VersionMetadata::NeedsBuild { file: filename })
            }
            Err(e) => Err(e),
        }
    }

    fn prefetch(&self, names: &[PackageName]) {
        let pages = self
            .pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for name in names {
            if pages.contains_key(name) || pending.contains_key(name) {
                continue;
            }
            let client = self.client.clone();
            let n = name.clone();
            pending.insert(
                name.clone(),
                self.runtime.spawn(async move { client.project(&n).await }),
            );
        }
    }
}
