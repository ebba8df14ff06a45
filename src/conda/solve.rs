//! A conda solver: which records a set of MatchSpecs installs from a list of channels, on
//! the [`resolvo`] SAT solver (the solver pixi and rattler use), with envaudit's own conda
//! model ([`MatchSpec`], [`Version`]) as the glue.
//!
//! # The model
//!
//! - **Input** ([`SolveRequest`]): the specs; the channels in priority order, each with the
//!   [`Repodata`] of its subdirs (the platform's and `noarch`); the channel priority mode;
//!   the virtual packages the machine provides; and, optionally, installed packages to keep
//!   when they still fit.
//! - **Candidates** of a name: every record of that name in every channel, minus those that
//!   strict priority excludes (a name is taken only from the first channel, in priority
//!   order, that has it), minus, for a name a root spec pins to a channel
//!   (`conda-forge::numpy`), the records of other channels, and, with
//!   [`SolveRequest::exclude_newer`], records built after the cutoff (a name's first
//!   channel is decided before that, as rattler does). A virtual package (`__glibc`,
//!   `__linux`, `__unix`, `__archspec`, `__cuda`) is its only candidate; every virtual
//!   package given is part of the solution (as in rattler), so `constrains` on it apply, and
//!   a dependency on one that is not given cannot be met.
//! - **Matching**: [`MatchSpec::matches_package`] (name, version, build glob,
//!   `build_number`, subdir, file name, checksums, licence); a spec's channel is resolved
//!   with the request's [`ChannelConfig`] and compared by base URL.
//! - **Preference**, the order in which the solver tries candidates (conda's objective as
//!   rattler approximates it):
//!   1. with [`ChannelPriority::Flexible`], the higher-priority channel first;
//!   2. records without `track_features` before records with them;
//!   3. the highest version;
//!   4. the highest build number;
//!   5. among builds still tied, the one whose dependencies allow the highest versions of
//!      the packages they share (compared name by name, in name order: `numpy` built for
//!      `python >=3.12` before the build for `python >=3.11`);
//!   6. the newest `timestamp`, a record with one before a record without;
//!   7. with [`ChannelPriority::Disabled`], the higher-priority channel as a last tiebreak.
//!
//!   An installed package ([`SolveRequest::installed`]) that is still a candidate is tried
//!   first (resolvo's *favoured* candidate): "conda keeps what is installed".
//! - **Output**: the chosen records, by name, or [`SolveError::Unsolvable`] with resolvo's
//!   explanation of the conflict.
//!
//! # Which channel priority Azure ML uses
//!
//! Azure ML builds a conda environment with the base image's own conda (`conda env create
//! -p /azureml-envs/azureml_<hash> -f mutated_conda_dependencies.yml`, see
//! `../shared/AZUREML.md` §3.2). The base images' Dockerfile
//! (`Azure/AzureML-Containers` `base/cpu/openmpi4.1.0-ubuntu22.04/Dockerfile`, in the corpus)
//! installs Miniconda `py38_23.3.1-0`, then `conda install conda=23.5.0`, then `conda update
//! --all -c conda-forge` (which may move conda past 23.5.0 to whatever conda-forge offered
//! for Python 3.8 on the build day), and writes no `.condarc`; no file of the corpus sets
//! `channel_priority`. conda's default is `flexible`, so **Azure ML's images solve with
//! flexible channel priority** ([`ChannelPriority::Flexible`]), with conda's classic solver
//! for conda < 23.10 and libmamba from 23.10 on (the default solver changed there). A user
//! Dockerfile (`base_dockerfile`) or a custom base image can change both.
//!
//! # Limits: where a prediction can differ from conda
//!
//! The oracle the tests replay is py-rattler's solver (`tests/vectors/conda_solve.json`,
//! written by `scripts/gen-conda-solve-vectors.py` with py-rattler 0.28.0). py-rattler solves
//! with resolvo too, so it is **not an independent oracle**: it checks envaudit's glue
//! (matching, candidate order, channel priority, virtual packages), not the solving itself.
//! No conda, mamba or libmamba can be installed on envaudit's machines. Known differences
//! from conda's own solvers (libmamba, conda's default since 23.10, which solves with
//! libsolv; and the classic solver before it):
//! - **Whole-solution optimisation.** conda's classic solver minimises an objective over the
//!   whole solution (removals and changes to installed packages first, then the versions of
//!   the requested packages, then of the others); libsolv decides package by package like
//!   resolvo but with its own policy and rule order. Where two packages compete (a newer A
//!   forces an older B), each can settle on the other side than resolvo.
//! - **Tied builds.** Step 5 of the order (the build whose dependencies allow the highest
//!   versions) is rattler's heuristic; conda and libsolv break such ties their own way, so
//!   between two builds of one version and build number (`numpy` for two Pythons when no
//!   spec fixes Python) the choice can differ.
//! - **Flexible priority** ranks channel before version for every package, as conda and
//!   libsolv's repo priorities do; py-rattler has no flexible mode, so this is checked by
//!   envaudit's own tests only.
//! - **Strict priority with a root constraint.** py-rattler loads only the records that match
//!   a root spec, so `x >=1.5` can reach a lower channel's `x` although a higher channel has
//!   an older `x`; conda (and envaudit) keep to the higher channel and find no solution. The
//!   vectors record this case (`strict_priority_with_a_root_constraint`).
//! - **Legacy `features`** (not `track_features`) are ignored, as rattler ignores them;
//!   conda's classic solver still honours them for very old packages (`mkl`/`nomkl`, 2016).
//! - A record whose version or dependencies do not parse is left out (see
//!   [`Repodata::unparseable`]).
//! - conda adds `pip` as a dependency of `python` (`add_pip_as_python_dependency`, on by
//!   default); envaudit does not, like rattler's default. Environment files list `pip`.
//! - `conda env create` also applies `pinned_packages`, `aggressive_update_packages` and a
//!   prefix's `conda-meta/pinned`; none is modelled here.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;

use resolvo::utils::{Pool, VersionSet};
use resolvo::{
    Candidates, Condition, ConditionId, ConditionalRequirement, Dependencies, DependencyProvider,
    HintDependenciesAvailable, Interner, KnownDependencies, NameId, Problem, Requirement,
    SolvableId, Solver, SolverCache, StringId, UnsolvableOrCancelled, VersionSetId,
    VersionSetUnionId,
};

use crate::conda::channel::{Channel, ChannelConfig, ChannelError};
use crate::conda::repodata::{Repodata, RepodataRecord};
use crate::conda::{MatchSpec, Version};
use crate::model::PackageName;

/// How channel order limits and ranks candidates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ChannelPriority {
    /// A package name comes only from the highest-priority channel that has it.
    Strict,
    /// conda's default: every channel is searched, and a higher-priority channel's record
    /// is preferred to a lower one's, even one of a higher version.
    #[default]
    Flexible,
    /// Every channel is searched and the version decides; channel order only breaks ties.
    Disabled,
}

impl fmt::Display for ChannelPriority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChannelPriority::Strict => "strict",
            ChannelPriority::Flexible => "flexible",
            ChannelPriority::Disabled => "disabled",
        })
    }
}

/// A virtual package: a fact about the machine (`__glibc 2.35`) that records can depend on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualPackage {
    /// The name, starting with `__`.
    pub name: PackageName,
    /// The version.
    pub version: Version,
    /// The build string.
    pub build: String,
}

impl VirtualPackage {
    /// A virtual package `name version build`.
    pub fn new(name: &str, version: Version, build: &str) -> Self {
        Self {
            name: PackageName::conda(name),
            version,
            build: build.to_owned(),
        }
    }

    /// `__glibc`: the C library's version (the image's, e.g. `2.35` on Ubuntu 22.04).
    pub fn glibc(version: Version) -> Self {
        Self::new("__glibc", version, "0")
    }

    /// `__linux`: the kernel's version (conda reports the running kernel's).
    pub fn linux(version: Version) -> Self {
        Self::new("__linux", version, "0")
    }

    /// `__unix`, present on Linux and macOS.
    pub fn unix() -> Self {
        Self::new("__unix", zero(), "0")
    }

    /// `__archspec 1 <microarchitecture>` (`x86_64`, `x86_64_v3`, `aarch64`, …).
    pub fn archspec(microarchitecture: &str) -> Self {
        Self::new("__archspec", one(), microarchitecture)
    }

    /// `__cuda`: the CUDA version the driver supports, when there is a GPU driver.
    pub fn cuda(version: Version) -> Self {
        Self::new("__cuda", version, "0")
    }
}

fn zero() -> Version {
    "0".parse().expect("`0` is a version")
}

fn one() -> Version {
    "1".parse().expect("`1` is a version")
}

/// A package already installed, which the solver keeps when it still fits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledPackage {
    /// The name.
    pub name: PackageName,
    /// The version.
    pub version: Version,
    /// The build string.
    pub build: String,
}

/// One channel's records: the [`Repodata`] of each of its subdirs.
#[derive(Clone, Debug)]
pub struct ChannelRecords<'a> {
    /// The channel.
    pub channel: Channel,
    /// Its subdirs' repodata (the platform subdir and `noarch`).
    pub repodata: Vec<&'a Repodata>,
}

/// What to solve (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct SolveRequest<'a> {
    /// The specs to satisfy (an environment file's `dependencies`).
    pub specs: Vec<MatchSpec>,
    /// The channels, highest priority first.
    pub channels: Vec<ChannelRecords<'a>>,
    /// How channel order limits and ranks candidates.
    pub channel_priority: ChannelPriority,
    /// The virtual packages the machine provides.
    pub virtual_packages: Vec<VirtualPackage>,
    /// Installed packages to keep when they still fit.
    pub installed: Vec<InstalledPackage>,
    /// How a spec's `channel::` is resolved.
    pub channel_config: ChannelConfig,
    /// Leave out records built after this time, in milliseconds since the Unix epoch (a
    /// record at the cutoff stays): what a solve on that day would have seen, as far as
    /// timestamps tell. A record without a timestamp stays; [`RepodataRecord::timestamp`]
    /// says which of the solution's records could not be dated.
    pub exclude_newer: Option<u64>,
}

/// A record the solution installs, and the channel it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SolvedPackage<'a> {
    /// The record.
    pub record: &'a RepodataRecord,
    /// The channel whose repodata holds it.
    pub channel: Channel,
}

/// Why a request has no solution.
#[derive(Debug, thiserror::Error)]
pub enum SolveError {
    /// No set of records satisfies the specs; `explanation` is resolvo's account of the
    /// conflict, one requirement per line.
    #[error("the conda specs cannot be satisfied:\n{explanation}")]
    Unsolvable {
        /// resolvo's explanation, as it prints it.
        explanation: String,
    },
    /// A spec names no package (an explicit URL without a package file name).
    #[error("conda spec `{spec}` names no package")]
    NamelessSpec {
        /// The spec.
        spec: String,
    },
    /// A spec's `channel::` does not name a channel.
    #[error("conda spec `{spec}`: {source}")]
    Channel {
        /// The spec.
        spec: String,
        /// Why the channel does not resolve.
        source: ChannelError,
    },
}

/// Solves `request` (see the module documentation).
///
/// Synchronous and CPU-bound (milliseconds for an environment of a few dozen packages
/// against a conda-forge-sized channel); an async caller runs it on a blocking thread. The
/// records of each name the solve reaches are parsed on the way, once per [`Repodata`].
pub fn solve<'a>(request: &SolveRequest<'a>) -> Result<Vec<SolvedPackage<'a>>, SolveError> {
    let provider = Provider::new(request)?;
    let mut requirements = Vec::new();
    for vp in &request.virtual_packages {
        // A virtual package's name is a valid spec: it was a `PackageName` of a spec or
        // built by `VirtualPackage::new`; a name that is not is left unrequired.
        if let Ok(any) = vp.name.as_str().parse::<MatchSpec>() {
            let name = provider
                .pool
                .intern_package_name(vp.name.as_str().to_owned());
            let set = provider.intern_spec(name, &any)?;
            requirements.push(ConditionalRequirement::from(set));
        }
    }
    for spec in &request.specs {
        let Some(name) = &spec.name else {
            return Err(SolveError::NamelessSpec {
                spec: spec.to_string(),
            });
        };
        let name = provider.pool.intern_package_name(name.as_str().to_owned());
        let set = provider.intern_spec(name, spec)?;
        requirements.push(ConditionalRequirement::from(set));
    }
    let mut solver = Solver::new(provider);
    let solution = match solver.solve(Problem::new().requirements(requirements)) {
        Ok(solution) => solution,
        Err(UnsolvableOrCancelled::Unsolvable(conflict)) => {
            return Err(SolveError::Unsolvable {
                explanation: conflict.display_user_friendly(&solver).to_string(),
            });
        }
        Err(UnsolvableOrCancelled::Cancelled(_)) => {
            // The provider never cancels.
            return Err(SolveError::Unsolvable {
                explanation: "the solver was cancelled".to_owned(),
            });
        }
    };
    let provider = solver.provider();
    let mut out: Vec<SolvedPackage<'a>> = solution
        .into_iter()
        .filter_map(|id| match provider.pool.resolve_solvable(id).record {
            Candidate::Record { record, channel } => Some(SolvedPackage {
                record,
                channel: request.channels[channel].channel.clone(),
            }),
            Candidate::Virtual(_) => None,
        })
        .collect();
    out.sort_by(|a, b| a.record.name.cmp(&b.record.name));
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// The glue: a resolvo `DependencyProvider` over envaudit's conda model.

/// A version set: one MatchSpec, compared by its canonical text (which prints every part
/// the matcher reads).
#[derive(Clone)]
struct SpecSet<'a> {
    key: Rc<str>,
    spec: Rc<MatchSpec>,
    /// The channels its `channel::` resolves to, by base URL; `None` when it names none.
    channels: Option<Rc<[String]>>,
    _records: PhantomData<&'a ()>,
}

impl PartialEq for SpecSet<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for SpecSet<'_> {}

impl std::hash::Hash for SpecSet<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl<'a> VersionSet for SpecSet<'a> {
    type V = Candidate<'a>;
}

impl fmt::Display for SpecSet<'_> {
    /// The spec without its name, as resolvo prints it after the name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = &self.spec;
        match &spec.version {
            Some(v) => write!(f, "{v}")?,
            None => f.write_str("*")?,
        }
        if let Some(b) = &spec.build {
            write!(f, " {b}")?;
        }
        if let Some(c) = &spec.channel {
            write!(f, " (from {c})")?;
        }
        Ok(())
    }
}

/// A solvable: a record of a channel (by index into the request's channels), or a virtual
/// package.
#[derive(Clone)]
enum Candidate<'a> {
    Record {
        record: &'a RepodataRecord,
        channel: usize,
    },
    Virtual(Rc<VirtualPackage>),
}

impl Candidate<'_> {
    fn version(&self) -> &Version {
        match self {
            Candidate::Record { record, .. } => &record.version,
            Candidate::Virtual(v) => &v.version,
        }
    }

    fn tracks_features(&self) -> bool {
        matches!(self, Candidate::Record { record, .. } if !record.track_features.is_empty())
    }

    fn build_number(&self) -> u64 {
        match self {
            Candidate::Record { record, .. } => record.build_number,
            Candidate::Virtual(_) => 0,
        }
    }

    fn timestamp(&self) -> Option<u64> {
        match self {
            Candidate::Record { record, .. } => record.timestamp,
            Candidate::Virtual(_) => None,
        }
    }

    fn channel(&self) -> usize {
        match self {
            Candidate::Record { channel, .. } => *channel,
            Candidate::Virtual(_) => 0,
        }
    }
}

impl fmt::Display for Candidate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Candidate::Record { record, .. } => write!(f, "{record}"),
            Candidate::Virtual(v) => write!(f, "{} {} {}", v.name, v.version, v.build),
        }
    }
}

/// The highest version a version set selects, and whether that record tracks features.
type Highest = Option<(Version, bool)>;

/// The resolvo provider: a pool of names, specs and candidates over one request.
struct Provider<'r, 'a> {
    request: &'r SolveRequest<'a>,
    pool: Pool<SpecSet<'a>, String>,
    virtual_packages: Vec<Rc<VirtualPackage>>,
    /// Package name → the channels (base URLs) a root spec takes it from.
    pinned_channels: HashMap<String, Rc<[String]>>,
    /// The highest version each version set selects, for the candidate order.
    highest: RefCell<HashMap<VersionSetId, Highest>>,
}

impl<'r, 'a> Provider<'r, 'a> {
    fn new(request: &'r SolveRequest<'a>) -> Result<Self, SolveError> {
        let mut provider = Self {
            request,
            pool: Pool::default(),
            virtual_packages: request
                .virtual_packages
                .iter()
                .cloned()
                .map(Rc::new)
                .collect(),
            pinned_channels: HashMap::new(),
            highest: RefCell::default(),
        };
        for spec in &request.specs {
            if let (Some(name), Some(_)) = (&spec.name, &spec.channel) {
                let urls = provider.spec_channels(spec)?;
                if let Some(urls) = urls {
                    provider
                        .pinned_channels
                        .insert(name.as_str().to_owned(), urls);
                }
            }
        }
        Ok(provider)
    }

    /// The base URLs a spec's `channel::` stands for.
    fn spec_channels(&self, spec: &MatchSpec) -> Result<Option<Rc<[String]>>, SolveError> {
        let Some(channel) = &spec.channel else {
            return Ok(None);
        };
        let channels = self
            .request
            .channel_config
            .resolve(channel)
            .map_err(|source| SolveError::Channel {
                spec: spec.to_string(),
                source,
            })?;
        Ok(Some(
            channels
                .iter()
                .map(|c| c.base_url().to_owned())
                .collect::<Vec<_>>()
                .into(),
        ))
    }

    fn intern_spec(&self, name: NameId, spec: &MatchSpec) -> Result<VersionSetId, SolveError> {
        let channels = self.spec_channels(spec)?;
        Ok(self.pool.intern_version_set(
            name,
            SpecSet {
                key: spec.to_string().into(),
                spec: Rc::new(spec.clone()),
                channels,
                _records: PhantomData,
            },
        ))
    }

    fn candidate(&self, id: SolvableId) -> &Candidate<'a> {
        &self.pool.resolve_solvable(id).record
    }

    fn matches(&self, set: &SpecSet<'a>, candidate: &Candidate<'a>) -> bool {
        match candidate {
            Candidate::Record { record, channel } => {
                set.spec.matches_package(&record.facts())
                    && set.channels.as_ref().is_none_or(|urls| {
                        let base = self.request.channels[*channel].channel.base_url();
                        urls.iter().any(|u| u == base)
                    })
            }
            Candidate::Virtual(v) => set.spec.matches(&v.version, &v.build),
        }
    }

    /// Steps 1 to 4 of the candidate order (see the module documentation).
    fn simple_order(&self, a: SolvableId, b: SolvableId) -> Ordering {
        let (a, b) = (self.candidate(a), self.candidate(b));
        let channel = if self.request.channel_priority == ChannelPriority::Flexible {
            a.channel().cmp(&b.channel())
        } else {
            Ordering::Equal
        };
        channel
            .then_with(|| a.tracks_features().cmp(&b.tracks_features()))
            .then_with(|| b.version().cmp(a.version()))
            .then_with(|| b.build_number().cmp(&a.build_number()))
    }

    async fn highest(&self, solver: &SolverCache<Self>, set: VersionSetId) -> Highest {
        if let Some(known) = self.highest.borrow().get(&set) {
            return known.clone();
        }
        let Ok(matching) = solver.get_or_cache_matching_candidates(set).await else {
            return None;
        };
        let mut best: Option<&Candidate<'a>> = None;
        for &id in matching {
            let c = self.candidate(id);
            if best.is_none_or(|b| c.version() > b.version()) {
                best = Some(c);
            }
        }
        let value = best.map(|c| (c.version().clone(), c.tracks_features()));
        self.highest.borrow_mut().insert(set, value.clone());
        value
    }

    /// Steps 5 to 7 of the candidate order, for candidates tied on steps 1 to 4.
    async fn order_tied(&self, solver: &SolverCache<Self>, tied: &mut [SolvableId]) {
        // Each candidate's dependencies, by the name they depend on.
        let mut by_name: Vec<HashMap<NameId, Vec<VersionSetId>>> = Vec::new();
        for &id in tied.iter() {
            let Ok(deps) = solver.get_or_cache_dependencies(id).await else {
                return;
            };
            let mut map: HashMap<NameId, Vec<VersionSetId>> = HashMap::new();
            if let Dependencies::Known(known) = deps {
                for req in &known.requirements {
                    if let Requirement::Single(set) = req.requirement {
                        let name = self.pool.resolve_version_set_package_name(set);
                        map.entry(name).or_default().push(set);
                    }
                }
            }
            by_name.push(map);
        }
        // The names every candidate depends on, in name order.
        let mut shared: Vec<NameId> = by_name
            .first()
            .map(|m| {
                m.keys()
                    .copied()
                    .filter(|n| by_name.iter().all(|o| o.contains_key(n)))
                    .collect()
            })
            .unwrap_or_default();
        shared.sort_by(|a, b| {
            self.pool
                .resolve_package_name(*a)
                .cmp(self.pool.resolve_package_name(*b))
        });
        // The best version each candidate's dependency on each shared name allows.
        let mut best: Vec<Vec<Highest>> = Vec::with_capacity(tied.len());
        for map in &by_name {
            let mut row = Vec::with_capacity(shared.len());
            for name in &shared {
                let mut pick: Highest = None;
                for &set in map.get(name).map_or(&[][..], Vec::as_slice) {
                    let h = self.highest(solver, set).await;
                    if let Some(h) = h
                        && pick
                            .as_ref()
                            .is_none_or(|p| dependency_order(&h, p) == Ordering::Less)
                    {
                        pick = Some(h);
                    }
                }
                row.push(pick);
            }
            best.push(row);
        }
        let mut order: Vec<(usize, SolvableId)> = tied.iter().copied().enumerate().collect();
        order.sort_by(|&(ia, a), &(ib, b)| {
            for (x, y) in best[ia].iter().zip(&best[ib]) {
                match (x, y) {
                    (Some(_), None) => return Ordering::Less,
                    (None, Some(_)) => return Ordering::Greater,
                    (None, None) => {}
                    (Some(x), Some(y)) => match dependency_order(x, y) {
                        Ordering::Equal => {}
                        other => return other,
                    },
                }
            }
            let (ca, cb) = (self.candidate(a), self.candidate(b));
            cb.timestamp().cmp(&ca.timestamp()).then_with(|| {
                if self.request.channel_priority == ChannelPriority::Disabled {
                    ca.channel().cmp(&cb.channel())
                } else {
                    Ordering::Equal
                }
            })
        });
        for (slot, (_, id)) in tied.iter_mut().zip(order) {
            *slot = id;
        }
    }
}

/// Better first: without tracked features, then the higher version.
fn dependency_order(a: &(Version, bool), b: &(Version, bool)) -> Ordering {
    a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0))
}

impl Interner for Provider<'_, '_> {
    type NameId = NameId;
    type SolvableId = SolvableId;

    fn display_solvable(&self, solvable: SolvableId) -> impl fmt::Display + '_ {
        self.candidate(solvable)
    }

    fn display_merged_solvables(&self, solvables: &[SolvableId]) -> impl fmt::Display + '_ {
        let Some(&first) = solvables.first() else {
            return String::new();
        };
        let mut versions: Vec<&Version> = solvables
            .iter()
            .map(|&s| self.candidate(s).version())
            .collect();
        versions.sort();
        versions.dedup_by(|a, b| a.as_str() == b.as_str());
        let versions: Vec<&str> = versions.iter().map(|v| v.as_str()).collect();
        format!(
            "{} {}",
            self.display_solvable_name(first),
            versions.join(" | ")
        )
    }

    fn display_name(&self, name: NameId) -> impl fmt::Display + '_ {
        self.pool.resolve_package_name(name)
    }

    fn display_version_set(&self, version_set: VersionSetId) -> impl fmt::Display + '_ {
        self.pool.resolve_version_set(version_set)
    }

    fn display_string(&self, string_id: StringId) -> impl fmt::Display + '_ {
        self.pool.resolve_string(string_id)
    }

    fn version_set_name(&self, version_set: VersionSetId) -> NameId {
        self.pool.resolve_version_set_package_name(version_set)
    }

    fn solvable_name(&self, solvable: SolvableId) -> NameId {
        self.pool.resolve_solvable(solvable).name
    }

    fn version_sets_in_union(
        &self,
        version_set_union: VersionSetUnionId,
    ) -> impl Iterator<Item = VersionSetId> {
        self.pool.resolve_version_set_union(version_set_union)
    }

    fn resolve_condition(&self, condition: ConditionId) -> Condition {
        self.pool.resolve_condition(condition).clone()
    }
}

impl DependencyProvider for Provider<'_, '_> {
    async fn filter_candidates(
        &self,
        candidates: &[SolvableId],
        version_set: VersionSetId,
        inverse: bool,
    ) -> Vec<SolvableId> {
        let set = self.pool.resolve_version_set(version_set);
        candidates
            .iter()
            .copied()
            .filter(|&id| self.matches(set, self.candidate(id)) != inverse)
            .collect()
    }

    async fn get_candidates(&self, name_id: NameId) -> Option<Candidates> {
        let text = self.pool.resolve_package_name(name_id);
        let name = PackageName::conda(text);
        let mut out = Candidates {
            hint_dependencies_available: HintDependenciesAvailable::None,
            ..Candidates::default()
        };
        if text.starts_with("__") {
            for v in self.virtual_packages.iter().filter(|v| v.name == name) {
                let id = self
                    .pool
                    .intern_solvable(name_id, Candidate::Virtual(Rc::clone(v)));
                out.candidates.push(id);
            }
            return (!out.candidates.is_empty()).then_some(out);
        }
        let pinned = self.pinned_channels.get(text);
        let strict = self.request.channel_priority == ChannelPriority::Strict;
        let mut first_channel: Option<usize> = None;
        for (index, channel) in self.request.channels.iter().enumerate() {
            let requested =
                pinned.is_none_or(|urls| urls.iter().any(|u| u == channel.channel.base_url()));
            for repodata in &channel.repodata {
                for record in repodata.records(&name) {
                    let id = self.pool.intern_solvable(
                        name_id,
                        Candidate::Record {
                            record,
                            channel: index,
                        },
                    );
                    out.candidates.push(id);
                    let reason = if !requested {
                        Some(format!(
                            "it is not from the requested channel (it is from `{}`)",
                            channel.channel
                        ))
                    } else if strict && first_channel.is_some_and(|f| f != index) {
                        let first = &self.request.channels[first_channel.unwrap_or(index)];
                        Some(format!(
                            "strict channel priority takes `{name}` from `{}` only",
                            first.channel
                        ))
                    } else {
                        first_channel.get_or_insert(index);
                        let newer = self
                            .request
                            .exclude_newer
                            .is_some_and(|cutoff| record.timestamp.is_some_and(|t| t > cutoff));
                        newer.then(|| "it was built after the cutoff date".to_owned())
                    };
                    if let Some(reason) = reason {
                        out.excluded.push((id, self.pool.intern_string(reason)));
                        continue;
                    }
                    if out.favored.is_none()
                        && self.request.installed.iter().any(|p| {
                            p.name == record.name
                                && p.version == record.version
                                && p.build == record.build
                        })
                    {
                        out.favored = Some(id);
                    }
                }
            }
        }
        (!out.candidates.is_empty()).then_some(out)
    }

    async fn sort_candidates(&self, solver: &SolverCache<Self>, solvables: &mut [SolvableId]) {
        solvables.sort_by(|&a, &b| self.simple_order(a, b));
        let mut start = 0;
        while start < solvables.len() {
            let mut end = start + 1;
            while end < solvables.len()
                && self.simple_order(solvables[start], solvables[end]) == Ordering::Equal
            {
                end += 1;
            }
            if end - start > 1 {
                self.order_tied(solver, &mut solvables[start..end]).await;
            }
            start = end;
        }
    }

    async fn get_dependencies(&self, solvable: SolvableId) -> Dependencies {
        let Candidate::Record { record, .. } = self.candidate(solvable) else {
            return Dependencies::Known(KnownDependencies::default());
        };
        let mut known = KnownDependencies::default();
        let sets = |specs: &[MatchSpec]| -> Result<Vec<VersionSetId>, String> {
            specs
                .iter()
                .map(|spec| {
                    let name = spec
                        .name
                        .as_ref()
                        .ok_or_else(|| format!("the dependency `{spec}` names no package"))?;
                    let name = self.pool.intern_package_name(name.as_str().to_owned());
                    self.intern_spec(name, spec).map_err(|e| e.to_string())
                })
                .collect()
        };
        match (sets(&record.depends), sets(&record.constrains)) {
            (Ok(depends), Ok(constrains)) => {
                known.requirements = depends
                    .into_iter()
                    .map(ConditionalRequirement::from)
                    .collect();
                known.constrains = constrains;
                Dependencies::Known(known)
            }
            (Err(reason), _) | (_, Err(reason)) => {
                Dependencies::Unknown(self.pool.intern_string(reason))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The channels, repodata and request of one scenario of the vectors.
    struct Scenario {
        repodata: Vec<(Channel, Vec<Repodata>)>,
        specs: Vec<MatchSpec>,
        priority: ChannelPriority,
        virtual_packages: Vec<VirtualPackage>,
        installed: Vec<InstalledPackage>,
        exclude_newer: Option<u64>,
    }

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn scenario(base: &str, s: &Value) -> Scenario {
        let name = s["name"].as_str().unwrap();
        let repodata = s["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ch| {
                let ch_name = ch["name"].as_str().unwrap();
                let url = format!("{base}/{name}/{ch_name}");
                let subdirs = ch["subdirs"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(subdir, doc)| {
                        let bytes = serde_json::to_vec(doc).unwrap();
                        Repodata::from_slice(&bytes, &format!("{url}/{subdir}")).unwrap()
                    })
                    .collect();
                (Channel::new(ch_name, &url), subdirs)
            })
            .collect();
        let triples = |key: &str| -> Vec<(String, String, String)> {
            s[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    let f = |i: usize| t[i].as_str().unwrap().to_owned();
                    (f(0), f(1), f(2))
                })
                .collect()
        };
        Scenario {
            repodata,
            specs: s["specs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().parse().unwrap())
                .collect(),
            priority: match s["channel_priority"].as_str().unwrap() {
                "strict" => ChannelPriority::Strict,
                "disabled" => ChannelPriority::Disabled,
                _ => ChannelPriority::Flexible,
            },
            virtual_packages: triples("virtual_packages")
                .into_iter()
                .map(|(n, ver, b)| VirtualPackage::new(&n, v(&ver), &b))
                .collect(),
            installed: triples("installed")
                .into_iter()
                .map(|(n, ver, b)| InstalledPackage {
                    name: PackageName::conda(&n),
                    version: v(&ver),
                    build: b,
                })
                .collect(),
            exclude_newer: s["exclude_newer"].as_u64(),
        }
    }

    impl Scenario {
        fn request(&self) -> SolveRequest<'_> {
            SolveRequest {
                specs: self.specs.clone(),
                channels: self
                    .repodata
                    .iter()
                    .map(|(channel, subdirs)| ChannelRecords {
                        channel: channel.clone(),
                        repodata: subdirs.iter().collect(),
                    })
                    .collect(),
                channel_priority: self.priority,
                virtual_packages: self.virtual_packages.clone(),
                installed: self.installed.clone(),
                channel_config: ChannelConfig::default(),
                exclude_newer: self.exclude_newer,
            }
        }
    }

    /// `name version build channel filename`, one line per package, or `unsolvable`.
    fn lines(result: &Result<Vec<SolvedPackage<'_>>, SolveError>) -> Vec<String> {
        match result {
            Ok(packages) => packages
                .iter()
                .map(|p| {
                    let r = p.record;
                    format!(
                        "{} {} {} {} {}",
                        r.name,
                        r.version,
                        r.build,
                        p.channel.name(),
                        r.filename
                    )
                })
                .collect(),
            Err(SolveError::Unsolvable { .. }) => vec!["unsolvable".to_owned()],
            Err(e) => vec![format!("error: {e}")],
        }
    }

    fn expected(answer: &Value) -> Vec<String> {
        if answer["unsolvable"].as_bool().unwrap() {
            return vec!["unsolvable".to_owned()];
        }
        answer["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let f = |k: &str| p[k].as_str().unwrap();
                format!(
                    "{} {} {} {} {}",
                    f("name"),
                    v(f("version")),
                    f("build"),
                    f("channel"),
                    f("filename")
                )
            })
            .collect()
    }

    const VECTORS: &str = include_str!("../../tests/vectors/conda_solve.json");

    #[test]
    fn agrees_with_py_rattler_on_every_scenario() {
        let doc: Value = serde_json::from_str(VECTORS).unwrap();
        let base = doc["base"].as_str().unwrap();
        let mut failures = Vec::new();
        let mut checked = 0;
        for s in doc["scenarios"].as_array().unwrap() {
            let name = s["name"].as_str().unwrap();
            let sc = scenario(base, s);
            let got = lines(&solve(&sc.request()));
            let rattler = expected(&s["rattler"]);
            let want = match s.get("conda") {
                // Where py-rattler is known to differ from conda, conda's answer counts,
                // and py-rattler's recorded answer must still be the other one.
                Some(conda) => {
                    let want = expected(conda);
                    assert_ne!(rattler, want, "{name}: py-rattler no longer differs");
                    want
                }
                None => rattler,
            };
            if got != want {
                failures.push(format!("{name}:\n  got  {got:?}\n  want {want:?}"));
            }
            checked += 1;
        }
        assert!(checked >= 34, "only {checked} scenarios");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

#[cfg(test)]
mod behaviour {
    use super::*;

    const BASE: &str = "https://example.invalid";

    fn doc(records: &[(&str, &str, &[&str])]) -> Vec<u8> {
        let packages: serde_json::Map<String, serde_json::Value> = records
            .iter()
            .map(|(name, version, depends)| {
                (
                    format!("{name}-{version}-0.conda"),
                    serde_json::json!({"name": name, "version": version, "build": "0",
                        "build_number": 0, "depends": depends}),
                )
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({"packages.conda": packages})).unwrap()
    }

    fn two_channels() -> [(Channel, Repodata); 2] {
        let high = doc(&[("x", "1.0", &[]), ("y", "1.0", &["x"])]);
        let low = doc(&[("x", "2.0", &[]), ("z", "1.0", &["x >=1.5"])]);
        let ch = |name: &str, bytes: &[u8]| {
            let channel = Channel::new(name, &format!("{BASE}/{name}"));
            let repodata = Repodata::from_slice(bytes, &channel.subdir_url("linux-64")).unwrap();
            (channel, repodata)
        };
        [ch("high", &high), ch("low", &low)]
    }

    fn run(
        channels: &[(Channel, Repodata)],
        specs: &[&str],
        priority: ChannelPriority,
    ) -> Result<Vec<String>, SolveError> {
        let request = SolveRequest {
            specs: specs.iter().map(|s| s.parse().unwrap()).collect(),
            channels: channels
                .iter()
                .map(|(c, r)| ChannelRecords {
                    channel: c.clone(),
                    repodata: vec![r],
                })
                .collect(),
            channel_priority: priority,
            channel_config: ChannelConfig {
                channel_alias: BASE.to_owned(),
                ..ChannelConfig::default()
            },
            ..SolveRequest::default()
        };
        solve(&request).map(|packages| {
            packages
                .iter()
                .map(|p| format!("{} {} ({})", p.record.name, p.record.version, p.channel))
                .collect()
        })
    }

    #[test]
    fn flexible_priority_prefers_the_first_channel_but_falls_back() {
        let channels = two_channels();
        let flexible = ChannelPriority::Flexible;
        assert_eq!(
            run(&channels, &["y"], flexible).unwrap(),
            ["x 1.0 (high)", "y 1.0 (high)"],
            "the first channel's x, although the second has a newer one"
        );
        assert_eq!(
            run(&channels, &["z"], flexible).unwrap(),
            ["x 2.0 (low)", "z 1.0 (low)"],
            "the second channel's x when the first one's does not fit"
        );
        assert!(run(&channels, &["z"], ChannelPriority::Strict).is_err());
        assert_eq!(
            run(&channels, &["y"], ChannelPriority::Disabled).unwrap(),
            ["x 2.0 (low)", "y 1.0 (high)"]
        );
    }

    #[test]
    fn a_channel_name_in_a_spec_is_resolved_with_the_config() {
        let channels = two_channels();
        assert_eq!(
            run(&channels, &["low::x"], ChannelPriority::Strict).unwrap(),
            ["x 2.0 (low)"]
        );
        let e = run(&channels, &["high::x >=2"], ChannelPriority::Disabled).unwrap_err();
        assert!(e.to_string().contains("x >=2 (from high)"), "{e}");
        let e = run(&channels, &["a b::x"], ChannelPriority::Strict).unwrap_err();
        assert!(matches!(e, SolveError::Channel { .. }), "{e}");
    }

    #[test]
    fn unsolvable_explains_the_conflict() {
        let channels = two_channels();
        let e = run(&channels, &["z"], ChannelPriority::Strict).unwrap_err();
        insta::assert_snapshot!(e.to_string(), @r"
        the conda specs cannot be satisfied:
        The following packages are incompatible
        └─ z * cannot be installed because there are no viable options:
           └─ z 1.0 would require
              └─ x >=1.5, which cannot be installed because there are no viable options:
                 └─ x 2.0 is excluded because strict channel priority takes `x` from `high` only
        ");
        let e = run(
            &channels,
            &["y", "x >=2", "nothere"],
            ChannelPriority::Flexible,
        )
        .unwrap_err();
        insta::assert_snapshot!(e.to_string(), @r"
        the conda specs cannot be satisfied:
        No candidates were found for nothere *.
        ");
    }

    #[test]
    fn installed_packages_are_kept_when_they_fit() {
        let channels = two_channels();
        let request = |installed: Vec<InstalledPackage>| SolveRequest {
            specs: vec!["x".parse().unwrap()],
            channels: channels
                .iter()
                .map(|(c, r)| ChannelRecords {
                    channel: c.clone(),
                    repodata: vec![r],
                })
                .collect(),
            channel_priority: ChannelPriority::Disabled,
            installed,
            ..SolveRequest::default()
        };
        let version = |installed| {
            solve(&request(installed)).unwrap()[0]
                .record
                .version
                .to_string()
        };
        assert_eq!(version(vec![]), "2.0");
        let kept = InstalledPackage {
            name: PackageName::conda("x"),
            version: "1.0".parse().unwrap(),
            build: "0".to_owned(),
        };
        assert_eq!(version(vec![kept]), "1.0");
    }

    #[test]
    fn a_spec_without_a_name_is_an_error() {
        let channels = two_channels();
        let mut spec: MatchSpec = "x".parse().unwrap();
        spec.name = None;
        let request = SolveRequest {
            specs: vec![spec],
            channels: vec![ChannelRecords {
                channel: channels[0].0.clone(),
                repodata: vec![&channels[0].1],
            }],
            ..SolveRequest::default()
        };
        assert!(matches!(
            solve(&request),
            Err(SolveError::NamelessSpec { .. })
        ));
    }
}
