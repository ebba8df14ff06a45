//! Predicting a rebuild: what the same definition would install today, without building it.
//!
//! A prediction is [`crate::analysis::drift`] against a snapshot that has not been built
//! yet. [`target`] reads the machine the image installs for from the locked snapshot;
//! [`pip`] resolves the definition's pip list against the package index as pip would
//! install it now; [`predicted_snapshot`] puts the answer in place of what the last build
//! installed; [`environment`] compares the two, every package listed, each change attributed
//! to the declaration or requirement that lets it move.
//!
//! What is outside the definition's closure (the base image's packages, a venv's own pip and
//! setuptools) stays as it is: a rebuild starts from the same base image (unless its tag
//! moved, which the command reports on its own).

pub mod conda;
pub mod image_config;
pub mod index;
pub mod pip;
pub mod target;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analysis::diff::ChangeKind;
use crate::analysis::drift::{self, Cause, Mover};
use crate::analysis::graph::DepGraph;
use crate::definition::{DependencySpec, EnvDefinition};
use crate::diag::Finding;
use crate::lockfile::{LockedPackage, LockedRequirement, Snapshot};
use crate::model::{Ecosystem, PackageName};
use crate::python::{Requirement, Version};

pub use target::{Host, Libc, Overrides, Target, TargetError};

/// The version of the JSON a [`PredictReport`] serialises to.
pub const SCHEMA_VERSION: u32 = 1;

/// What a rebuild of each environment would install now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PredictReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `--as-of`: the date the indexes were read as of, when one was given.
    pub as_of: Option<String>,
    /// Every environment predicted, by name.
    pub environments: Vec<EnvironmentPrediction>,
    /// `predicted-drift`, `unresolvable`, `base-image-moved` and the like, environment by
    /// environment.
    pub findings: Vec<Finding>,
}

/// One environment's prediction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvironmentPrediction {
    /// Its name in the lockfile.
    pub name: String,
    /// The definition predicted from, as the lockfile records its path.
    pub definition: String,
    /// The locked snapshot compared with.
    pub snapshot: String,
    /// The machine the prediction installs for.
    pub target: Target,
    /// Every package of the locked and the predicted environment, by ecosystem, prefix and
    /// name; unchanged ones too.
    pub packages: Vec<PredictedPackage>,
    /// How many packages would change, by kind (`upgraded`, `added`, ...).
    pub changes: BTreeMap<String, usize>,
    /// With `--as-of`: what could not be dated, counted as if published in time (`pip NAME`:
    /// a project with files the index gives no upload time for; `conda NAME`: a solved record
    /// without a `timestamp`); the prediction is then only as exact as that assumption.
    pub undated: Vec<String>,
    /// The snapshot a rebuild would record (what `pin --to predicted` pins to); not in the
    /// JSON, whose `packages` say the same per package.
    #[serde(skip)]
    pub predicted: Snapshot,
}

/// How a package would change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// A higher version.
    Upgraded,
    /// A lower version.
    Downgraded,
    /// Newly installed.
    Added,
    /// No longer installed.
    Removed,
    /// Same version, another build.
    Rebuilt,
    /// As locked.
    Unchanged,
}

impl Change {
    /// The kebab-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Upgraded => "upgraded",
            Change::Downgraded => "downgraded",
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Rebuilt => "rebuilt",
            Change::Unchanged => "unchanged",
        }
    }
}

impl From<ChangeKind> for Change {
    fn from(k: ChangeKind) -> Self {
        match k {
            ChangeKind::Added => Change::Added,
            ChangeKind::Removed => Change::Removed,
            ChangeKind::Upgraded => Change::Upgraded,
            ChangeKind::Downgraded => Change::Downgraded,
            ChangeKind::Rebuilt => Change::Rebuilt,
        }
    }
}

/// One package: locked, predicted, and what lets it move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PredictedPackage {
    /// The normalised name.
    pub name: String,
    /// `pip`, `conda`, `deb`, `apk`.
    pub ecosystem: Ecosystem,
    /// The prefix it is installed in, as the lockfile records it.
    pub prefix: Option<String>,
    /// How it would change.
    pub change: Change,
    /// The locked version; `None` when it would be added.
    pub locked: Option<String>,
    /// The predicted version; `None` when it would be removed.
    pub predicted: Option<String>,
    /// The locked conda build string.
    pub locked_build: Option<String>,
    /// The predicted conda build string.
    pub predicted_build: Option<String>,
    /// Why it can move (`declared-unpinned`, `requirements`, ...); `None` when unchanged.
    pub cause: Option<Cause>,
    /// The unpinned declarations and loose requirements that allow the change.
    pub movers: Vec<Mover>,
    /// One shortest path from a declaration, e.g. `mlflow (unpinned) -> requests>=2.17.3
    /// (range)`.
    pub path: Option<String>,
}

/// The pip part of a definition, ready to resolve.
#[derive(Clone, Debug)]
pub struct PipPlan {
    /// The prefix pip installs into.
    pub prefix: Option<String>,
    /// What the resolver is given.
    pub input: pip::PipInput,
    /// Requirements the resolver cannot predict (a URL, a local path, an editable), as
    /// written.
    pub unpredictable: Vec<String>,
}

/// The pip install of `def` on top of what `locked` recorded before pip ran: in the target
/// prefix, the packages conda installed (their Python distributions) and the base image's.
/// `None` when the definition has no pip list.
pub fn plan_pip(locked: &Snapshot, def: &EnvDefinition, target: &Target) -> Option<PipPlan> {
    if def.pip_dependencies.is_empty() {
        return None;
    }
    let mut requirements = Vec::new();
    let mut unpredictable = Vec::new();
    for d in &def.pip_dependencies {
        match &d.spec {
            DependencySpec::Pip(r) if r.name.is_some() && r.url.is_none() && !r.editable => {
                requirements.push(r.clone());
            }
            _ => unpredictable.push(d.raw.clone()),
        }
    }
    let mut installed = BTreeMap::new();
    for p in &locked.packages {
        if p.prefix != target.prefix && p.base != Some(true) {
            continue;
        }
        let (name, by_pip) = match (p.ecosystem, &p.python_dist) {
            (Ecosystem::Conda, Some(dist)) => (dist.clone(), false),
            (Ecosystem::Pip, _) if p.base == Some(true) => (p.name.clone(), true),
            _ => continue,
        };
        if p.prefix != target.prefix && !by_pip {
            continue;
        }
        let Ok(version) = p.version.parse::<Version>() else {
            continue;
        };
        // a conda package records conda's `depends`, not its dist-info's `Requires-Dist`:
        // pip's view of its requirements is not in the lock (an approximation, see
        // docs/predict.md)
        let requires = if by_pip {
            pip_requirements(&p.requires)
        } else {
            Vec::new()
        };
        installed.insert(name, pip::Installed { version, requires });
    }
    Some(PipPlan {
        prefix: target.prefix.clone(),
        input: pip::PipInput {
            requirements,
            env: target.marker_env(),
            python: target.python_version(),
            installed,
        },
        unpredictable,
    })
}

/// The recorded `Requires-Dist` entries that parse.
fn pip_requirements(requires: &[LockedRequirement]) -> Vec<Requirement> {
    requires
        .iter()
        .filter_map(|r| r.as_str().parse::<Requirement>().ok())
        .collect()
}

/// `locked` with the conda packages a new environment in `prefix` would get from `solved`
/// in place of the ones the last build's conda installed there (the base image's stay).
pub fn with_conda(
    locked: &Snapshot,
    prefix: Option<&str>,
    solved: &[crate::conda::SolvedPackage<'_>],
) -> Snapshot {
    let mut packages: Vec<LockedPackage> = locked
        .packages
        .iter()
        .filter(|p| {
            p.ecosystem != Ecosystem::Conda || p.prefix.as_deref() != prefix || p.base == Some(true)
        })
        .cloned()
        .collect();
    for s in solved {
        let r = s.record;
        if r.name.as_str().starts_with("__") {
            continue; // a virtual package: the machine's, not installed
        }
        let before = locked.packages.iter().find(|p| {
            p.ecosystem == Ecosystem::Conda && p.name == r.name && p.prefix.as_deref() == prefix
        });
        let python_dist = before.and_then(|b| b.python_dist.clone()).or_else(|| {
            (r.noarch == crate::conda::repodata::NoArch::Python || r.build.starts_with("py"))
                .then(|| PackageName::pip(r.name.as_str()))
        });
        let same = before.filter(|b| {
            b.version == r.version.to_string() && b.build.as_deref() == Some(r.build.as_str())
        });
        packages.push(LockedPackage {
            ecosystem: Ecosystem::Conda,
            name: r.name.clone(),
            version: r.version.to_string(),
            build: Some(r.build.clone()),
            // the channel's name (`conda-forge`), as `lock` records it
            channel: Some(s.channel.name().to_owned()),
            python_dist,
            prefix: prefix.map(str::to_owned),
            licenses: same
                .map(|b| b.licenses.clone())
                .or_else(|| r.license.clone().map(|l| vec![l]))
                .unwrap_or_default(),
            base: Some(false),
            requires: LockedRequirement::all(r.depends.iter().map(ToString::to_string)),
            url: Some(r.url.clone()),
            sha256: r.sha256.clone(),
            md5: r.md5.clone(),
            record: None,
        });
    }
    let mut snapshot = Snapshot {
        packages,
        ..locked.clone()
    };
    snapshot.seal();
    snapshot
}

/// The snapshot a rebuild would record: `current` (a copy of the locked snapshot when
/// `None`, or it with the conda part predicted, see [`with_conda`]) with the declarations of `def`, and in
/// `prefix` the pip packages the last build's pip installed (those the definition's closure
/// reaches in `locked`: `closure` is [`DepGraph::closure`] of `locked`) replaced by
/// `resolution`. Conda packages whose Python distribution pip would replace make way for it.
pub fn predicted_snapshot(
    locked: &Snapshot,
    closure: &[bool],
    current: Option<Snapshot>,
    def: &EnvDefinition,
    prefix: Option<&str>,
    resolution: &pip::PipResolution,
) -> Snapshot {
    let installed_by_pip: BTreeSet<&PackageName> = locked
        .packages
        .iter()
        .zip(closure)
        .filter(|(p, reached)| {
            **reached
                && p.ecosystem == Ecosystem::Pip
                && p.prefix.as_deref() == prefix
                && p.base != Some(true)
        })
        .map(|(p, _)| &p.name)
        .collect();
    let upgraded: BTreeSet<&PackageName> = resolution
        .packages
        .iter()
        .filter(|(_, r)| r.origin == pip::Origin::Index)
        .map(|(n, _)| n)
        .collect();
    let keep = |p: &LockedPackage| {
        if p.prefix.as_deref() != prefix || p.base == Some(true) {
            return true;
        }
        match p.ecosystem {
            Ecosystem::Pip => {
                !installed_by_pip.contains(&p.name) && !resolution.packages.contains_key(&p.name)
            }
            Ecosystem::Conda => p.python_dist.as_ref().is_none_or(|d| !upgraded.contains(d)),
            _ => true,
        }
    };
    let mut current = current.unwrap_or_else(|| locked.clone());
    let mut packages = std::mem::take(&mut current.packages);
    packages.retain(keep);
    for (name, r) in &resolution.packages {
        if r.origin == pip::Origin::Installed {
            continue;
        }
        let before = locked.packages.iter().find(|p| {
            p.ecosystem == Ecosystem::Pip && &p.name == name && p.prefix.as_deref() == prefix
        });
        let version = r.version.to_string();
        let same = before.filter(|b| b.version == version);
        packages.push(LockedPackage {
            ecosystem: Ecosystem::Pip,
            name: name.clone(),
            version,
            build: None,
            channel: None,
            python_dist: None,
            prefix: prefix.map(str::to_owned),
            // what a build would read from the installed files; kept when the version stays
            licenses: same.map(|b| b.licenses.clone()).unwrap_or_default(),
            base: Some(false),
            requires: LockedRequirement::all(r.requires.iter().map(Requirement::canonical)),
            url: None,
            sha256: None,
            md5: None,
            record: same.and_then(|b| b.record.clone()),
        });
    }
    let mut snapshot = Snapshot {
        declared: crate::scan::snapshot::declared_of(def),
        packages,
        ..current
    };
    snapshot.seal();
    snapshot
}

/// Every package of the locked snapshot (whose dependency graph is `locked`) and
/// `predicted`, each change attributed as `drift` attributes it.
pub fn environment(
    name: &str,
    target: Target,
    locked: &DepGraph<'_>,
    predicted: Snapshot,
) -> EnvironmentPrediction {
    type Key = (Ecosystem, Option<String>, String);
    let d = drift::environment_with_old_graph(name, locked, Some(&predicted));
    let locked = locked.snapshot;
    let mut rows: BTreeMap<Key, PredictedPackage> = BTreeMap::new();
    for p in &locked.packages {
        let key = (p.ecosystem, p.prefix.clone(), p.name.to_string());
        rows.entry(key).or_insert_with(|| PredictedPackage {
            name: p.name.to_string(),
            ecosystem: p.ecosystem,
            prefix: p.prefix.clone(),
            change: Change::Unchanged,
            locked: Some(p.version.clone()),
            predicted: Some(p.version.clone()),
            locked_build: p.build.clone(),
            predicted_build: p.build.clone(),
            cause: None,
            movers: Vec::new(),
            path: None,
        });
    }
    for a in &d.attributions {
        let c = &a.change;
        let key = (c.ecosystem, c.prefix.clone(), c.name.clone());
        let row = rows.entry(key).or_insert_with(|| PredictedPackage {
            name: c.name.clone(),
            ecosystem: c.ecosystem,
            prefix: c.prefix.clone(),
            change: Change::Unchanged,
            locked: None,
            predicted: None,
            locked_build: None,
            predicted_build: None,
            cause: None,
            movers: Vec::new(),
            path: None,
        });
        // an added and a removed entry of one name make one change
        let (old, new) = match c.kind {
            ChangeKind::Added => (
                row.locked.take().filter(|_| row.change == Change::Removed),
                c.new_version.clone(),
            ),
            ChangeKind::Removed => (
                c.old_version.clone(),
                row.predicted.take().filter(|_| row.change == Change::Added),
            ),
            _ => (c.old_version.clone(), c.new_version.clone()),
        };
        row.change = match (&old, &new) {
            (Some(o), Some(n)) if c.kind == ChangeKind::Added || c.kind == ChangeKind::Removed => {
                match crate::version::compare(c.ecosystem, o, n) {
                    std::cmp::Ordering::Less => Change::Upgraded,
                    std::cmp::Ordering::Greater => Change::Downgraded,
                    std::cmp::Ordering::Equal => Change::Rebuilt,
                }
            }
            _ => c.kind.into(),
        };
        row.locked = old;
        row.predicted = new;
        if c.old_build.is_some() {
            row.locked_build.clone_from(&c.old_build);
        }
        row.predicted_build.clone_from(&c.new_build);
        row.cause = Some(a.cause.clone());
        for m in &a.movers {
            if !row.movers.contains(m) {
                row.movers.push(m.clone());
            }
        }
        if row.path.is_none() {
            row.path.clone_from(&a.path);
        }
    }
    let packages: Vec<PredictedPackage> = rows.into_values().collect();
    let mut changes = BTreeMap::new();
    for p in packages.iter().filter(|p| p.change != Change::Unchanged) {
        *changes.entry(p.change.as_str().to_owned()).or_insert(0) += 1;
    }
    EnvironmentPrediction {
        name: name.to_owned(),
        definition: predicted.definition.clone(),
        snapshot: locked.id.clone(),
        target,
        packages,
        changes,
        undated: Vec::new(),
        predicted,
    }
}

/// Where the package index is, beyond what the definition says.
#[derive(Clone, Debug, Default)]
pub struct IndexSettings {
    /// `--index-url`: the primary index when the definition names none.
    pub index_url: Option<String>,
    /// `--extra-index-url`, added to the definition's.
    pub extra_index_urls: Vec<String>,
    /// `--find-links`, added to the definition's.
    pub find_links: Vec<String>,
    /// What pip in the image reads (its `Env` and `pip.conf` files, see [`image_config`]),
    /// after the flags.
    pub image: image_config::PipConfig,
    /// The host's `PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL` and `PIP_FIND_LINKS`, used only
    /// with `--use-host-config` (the builder does not see the host's configuration).
    pub host: HostPipConfig,
    /// Serve from the HTTP cache only.
    pub offline: bool,
    /// The HTTP cache folder.
    pub cache_dir: Option<std::path::PathBuf>,
}

/// The host's pip settings from its environment variables.
#[derive(Clone, Debug, Default)]
pub struct HostPipConfig {
    /// `PIP_INDEX_URL`.
    pub index_url: Option<String>,
    /// `PIP_EXTRA_INDEX_URL`, split on whitespace.
    pub extra_index_urls: Vec<String>,
    /// `PIP_FIND_LINKS`, split on whitespace.
    pub find_links: Vec<String>,
}

impl HostPipConfig {
    /// Reads the `PIP_*` variables of this process.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let split = |v: Option<String>| -> Vec<String> {
            v.map(|v| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        HostPipConfig {
            index_url: var("PIP_INDEX_URL"),
            extra_index_urls: split(var("PIP_EXTRA_INDEX_URL")),
            find_links: split(var("PIP_FIND_LINKS")),
        }
    }
}

/// The index configuration a rebuild's pip would use: the definition's own `--index-url`,
/// `--extra-index-url` and `--find-links` lines first, then `settings` (the flags, then the
/// image's pip configuration, then the host's when asked), then `PyPI` as the primary index.
/// A `--no-index` line leaves no index at all, only the find-links locations, as pip does;
/// the image's `no-index` leaves out its own index URLs and `PyPI`, not the definition's or
/// the flags'. A relative
/// `--find-links` path in a definition file names the folder beside that file when there is
/// one (as pip reads it from a requirements file), else it is taken as given.
pub fn index_config(
    def: &EnvDefinition,
    settings: &IndexSettings,
) -> Result<crate::pyindex::IndexConfig, crate::pyindex::IndexError> {
    use crate::pyindex::{FindLinks, IndexConfig, IndexUrl};
    let option = |names: &[&str]| -> Vec<String> {
        def.pip_options
            .iter()
            .filter(|o| names.contains(&o.name.as_str()))
            .filter_map(|o| o.value.clone())
            .collect()
    };
    let image = &settings.image;
    let image_urls = if image.no_index {
        &[][..]
    } else {
        &image.extra_index_urls[..]
    };
    let primary = option(&["--index-url", "-i"])
        .pop()
        .or_else(|| settings.index_url.clone())
        .or_else(|| image.index_url.clone().filter(|_| !image.no_index))
        .or_else(|| settings.host.index_url.clone());
    let mut urls = match primary {
        Some(u) => vec![IndexUrl::parse(&u)?],
        None if image.no_index => Vec::new(),
        None => vec![IndexUrl::pypi()],
    };
    for u in option(&["--extra-index-url"])
        .iter()
        .chain(&settings.extra_index_urls)
        .chain(image_urls)
        .chain(&settings.host.extra_index_urls)
    {
        urls.push(IndexUrl::parse(u)?);
    }
    if def.pip_options.iter().any(|o| o.name == "--no-index") {
        urls.clear();
    }
    let written: Vec<String> = def
        .pip_options
        .iter()
        .filter(|o| matches!(o.name.as_str(), "--find-links" | "-f"))
        .filter_map(|o| Some(beside(o.value.as_deref()?, &o.origin.file)))
        .collect();
    let mut find_links = Vec::new();
    for f in written
        .iter()
        .chain(&settings.find_links)
        .chain(&image.find_links)
        .chain(&settings.host.find_links)
    {
        find_links.push(FindLinks::parse(f)?);
    }
    Ok(IndexConfig {
        index_urls: urls,
        find_links,
        cache_dir: settings.cache_dir.clone(),
        offline: settings.offline,
        ..IndexConfig::default()
    })
}

/// A `--find-links` value written in `file`: a relative path is the one beside `file` when
/// that exists (pip's reading of a requirements file), else the value as written.
fn beside(value: &str, file: &std::path::Path) -> String {
    let path = std::path::Path::new(value);
    if value.contains("://") || path.is_absolute() {
        return value.to_owned();
    }
    let there = file.parent().unwrap_or(std::path::Path::new("")).join(path);
    match there.to_str() {
        Some(p) if there.exists() => p.to_owned(),
        _ => value.to_owned(),
    }
}

/// Why an environment cannot be predicted at all (exit 2): the machine is unknown, or the
/// index cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    /// The target cannot be told.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The index cannot be read.
    #[error(transparent)]
    Index(#[from] crate::pyindex::IndexError),
    /// A conda channel cannot be read.
    #[error(transparent)]
    Channels(#[from] conda::ChannelReadError),
}

/// Every channel's repodata for the target's subdir and `noarch`, highest priority first.
pub type ChannelData = Vec<(crate::conda::Channel, Vec<crate::conda::Repodata>)>;

/// Reads the named channels for a subdir.
pub type ReadChannels<'a> =
    dyn Fn(&[String], &str) -> Result<ChannelData, conda::ChannelReadError> + 'a;

/// Where the conda side of a prediction reads its channels.
pub struct CondaChannels<'a> {
    /// What the image's conda has configured: the channels it appends to the definition's.
    pub configured: conda::Configured,
    /// How channel names map to URLs (the image's `.condarc` under `--channel-alias`).
    pub config: crate::conda::ChannelConfig,
    /// The channel priority (the image's `.condarc`, else conda's `flexible`).
    pub priority: crate::conda::ChannelPriority,
    /// Reads the named channels for a subdir (through the index client, on its runtime).
    pub read: &'a ReadChannels<'a>,
    /// `--as-of`, in milliseconds since the epoch: records built later are left out.
    pub exclude_newer: Option<u64>,
}

/// The prediction of one environment, with its findings: `unresolvable` (and no
/// prediction) when the definition has no solution now, `predicted-drift` when anything
/// would move, `unpredictable` for what only a build would tell. The conda list is solved
/// first (a new environment, as `conda env create` makes it); pip then installs on top of
/// what conda put there.
pub fn predict_environment(
    name: &str,
    locked: &Snapshot,
    def: &EnvDefinition,
    overrides: &Overrides,
    channels: &CondaChannels<'_>,
    source_for: impl FnOnce(&Target) -> index::IndexSource,
) -> Result<(Option<EnvironmentPrediction>, Vec<Finding>), PredictError> {
    use crate::diag::Code;
    let graph = DepGraph::build(locked);
    let closure = graph.closure();
    let mut target = Target::of(locked, graph.target_prefix.as_deref(), overrides)?;
    let mut findings = Vec::new();
    let unpredictable = |raw: &str| {
        Finding::new(
            Code::Unpredictable,
            format!("`{name}`: `{raw}` is not from an index; what it installs is known only after a build"),
        )
        .with_package(name)
    };
    let unresolvable = |explanation: &str| {
        Finding::new(
            Code::Unresolvable,
            format!("`{name}` cannot be rebuilt now: {explanation}"),
        )
        .with_package(name)
    };
    // conda first
    let read;
    // with `--as-of`, the solved conda records that carry no timestamp (taken as in time)
    let mut undated_conda: Vec<String> = Vec::new();
    let current = match conda::plan(def, &channels.configured) {
        None => None,
        Some(plan) => {
            findings.extend(plan.unpredictable.iter().map(|r| unpredictable(r)));
            read = (channels.read)(&plan.channels, &target.conda_subdir)?;
            match conda::solve(
                &plan,
                &read,
                &channels.config,
                channels.priority,
                &target,
                channels.exclude_newer,
            ) {
                Ok(solved) => {
                    // pip installs for the Python conda would put there
                    if overrides.python.is_none()
                        && let Some(py) = solved.iter().find(|s| s.record.name.as_str() == "python")
                    {
                        target.python = py.record.version.to_string();
                    }
                    if channels.exclude_newer.is_some() {
                        undated_conda.extend(
                            solved
                                .iter()
                                .filter(|s| s.record.timestamp.is_none())
                                .map(|s| format!("conda {}", s.record.name)),
                        );
                    }
                    Some(with_conda(locked, target.prefix.as_deref(), &solved))
                }
                Err(e) => {
                    findings.push(unresolvable(&e.to_string()));
                    return Ok((None, findings));
                }
            }
        }
    };
    let Some(plan) = plan_pip(current.as_ref().unwrap_or(locked), def, &target) else {
        let predicted = predicted_snapshot(
            locked,
            &closure,
            current,
            def,
            target.prefix.as_deref(),
            &pip::PipResolution::default(),
        );
        let mut prediction = environment(name, target, &graph, predicted);
        prediction.undated = undated_conda;
        findings.extend(drift_finding(name, &prediction));
        return Ok((Some(prediction), findings));
    };
    findings.extend(plan.unpredictable.iter().map(|r| unpredictable(r)));
    let source = source_for(&target);
    // every page the last build's pip needed, revalidated at once rather than as the
    // resolver meets each package
    pip::PackageSource::prefetch(
        &source,
        &locked_pip_pages(&graph, &closure, plan.prefix.as_deref(), &plan.input),
    );
    let resolution = match pip::resolve(&source, &plan.input) {
        Ok(r) => r,
        Err(pip::ResolveError::Unresolvable { explanation }) => {
            findings.push(unresolvable(&explanation));
            return Ok((None, findings));
        }
        Err(pip::ResolveError::Source(e)) => return Err(e.into()),
    };
    let notes = source.notes();
    source.release();
    for n in &notes.needs_build {
        findings.push(
            Finding::new(
                Code::Unpredictable,
                format!("`{name}`: {n}; it is left out of the prediction"),
            )
            .with_package(name),
        );
    }
    let predicted = predicted_snapshot(
        locked,
        &closure,
        current,
        def,
        plan.prefix.as_deref(),
        &resolution,
    );
    let mut prediction = environment(name, target, &graph, predicted);
    prediction.undated = undated_conda
        .into_iter()
        .chain(notes.undated.into_iter().map(|p| format!("pip {p}")))
        .collect();
    findings.extend(drift_finding(name, &prediction));
    Ok((Some(prediction), findings))
}

/// The projects whose pages a resolution of `input` will most likely read: the named
/// requirements, then the pip packages the last build installed in `prefix` that the
/// definition's closure reaches (`closure` is [`DepGraph::closure`] of `graph`), breadth
/// first from the declarations, each once.
fn locked_pip_pages(
    graph: &DepGraph<'_>,
    closure: &[bool],
    prefix: Option<&str>,
    input: &pip::PipInput,
) -> Vec<PackageName> {
    let pip_in_prefix = |i: usize| {
        let p = graph.package(i);
        closure[i] && p.ecosystem == Ecosystem::Pip && p.prefix.as_deref() == prefix
    };
    let mut out: Vec<PackageName> = input
        .requirements
        .iter()
        .filter_map(|r| r.name.clone())
        .collect();
    let mut seen = vec![false; closure.len()];
    let mut queue: std::collections::VecDeque<usize> = graph.roots.iter().map(|r| r.node).collect();
    while let Some(i) = queue.pop_front() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        if pip_in_prefix(i) {
            out.push(graph.package(i).name.clone());
        }
        queue.extend(
            graph
                .outgoing(i)
                .into_iter()
                .map(|(j, _)| j)
                .filter(|&j| !seen[j]),
        );
    }
    let mut once = BTreeSet::new();
    out.retain(|n| once.insert(n.clone()));
    out
}

/// `predicted-drift` when anything would move.
fn drift_finding(name: &str, prediction: &EnvironmentPrediction) -> Option<Finding> {
    let moving: Vec<String> = prediction
        .packages
        .iter()
        .filter(|p| p.change != Change::Unchanged)
        .map(|p| {
            format!(
                "{} {} -> {}",
                p.name,
                p.locked.as_deref().unwrap_or("(none)"),
                p.predicted.as_deref().unwrap_or("(none)")
            )
        })
        .collect();
    if moving.is_empty() {
        return None;
    }
    Some(
        Finding::new(
            crate::diag::Code::PredictedDrift,
            format!(
                "`{name}`: a rebuild now would change {} package{}: {}{}",
                moving.len(),
                if moving.len() == 1 { "" } else { "s" },
                moving[..moving.len().min(5)].join(", "),
                if moving.len() > 5 {
                    format!(" and {} more", moving.len() - 5)
                } else {
                    String::new()
                }
            ),
        )
        .with_package(name),
    )
}

/// `base-image-moved` when the base image's reference names another image now than the one
/// `locked` recorded: its platform manifest (or the index the reference pins) differs.
pub fn base_image_moved(
    name: &str,
    locked: &Snapshot,
    now: &crate::image::ResolvedImage,
) -> Option<Finding> {
    let was = locked.base_image_digest.as_ref()?;
    let manifest = now.manifest.as_ref().map(|m| &m.digest);
    let index = now.index.as_ref().map(|i| &i.digest);
    if manifest == Some(was) || index == Some(was) {
        return None;
    }
    let is = manifest
        .or(index)
        .map_or_else(|| now.config.digest.to_string(), ToString::to_string);
    Some(
        Finding::new(
            crate::diag::Code::BaseImageMoved,
            format!(
                "`{name}`: the base image `{}` now names {is}, not the locked {was}: a rebuild starts from other system packages",
                locked.base_image.as_deref().unwrap_or("-")
            ),
        )
        .with_package(name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyindex::FindLinks;

    /// `pip install -r pip/requirements.txt` reads `--find-links ./wheels` as `pip/wheels`
    /// and, with `--no-index`, no index at all (not `PyPI`); a relative path with no folder
    /// beside the file stays as written.
    #[test]
    fn a_requirements_files_find_links_and_no_index_are_read_as_pip_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pip/wheels")).unwrap();
        let req = dir.path().join("pip/requirements.txt");
        std::fs::write(
            &req,
            "--no-index\n--find-links ./wheels\n-f elsewhere\ndemo\n",
        )
        .unwrap();
        let def =
            crate::definition::load(&req, &crate::definition::LoadOptions::default()).unwrap();
        let config = index_config(&def, &IndexSettings::default()).unwrap();
        assert!(config.index_urls.is_empty(), "{:?}", config.index_urls);
        assert_eq!(config.find_links.len(), 2);
        assert_eq!(
            config.find_links[0],
            FindLinks::Dir(dir.path().join("pip/wheels"))
        );
        let FindLinks::Page(url) = &config.find_links[1] else {
            panic!("{:?}", config.find_links[1])
        };
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(url.to_file_path(), Ok(cwd.join("elsewhere")));

        std::fs::write(&req, "--find-links ./wheels\ndemo\n").unwrap();
        let def =
            crate::definition::load(&req, &crate::definition::LoadOptions::default()).unwrap();
        let config = index_config(&def, &IndexSettings::default()).unwrap();
        assert_eq!(config.index_urls, [crate::pyindex::IndexUrl::pypi()]);
    }
}
