//! What pip would install for a list of requirements today: a PubGrub resolution (the
//! `pubgrub` crate, the algorithm uv builds on) over the versions a package index offers.
//!
//! The resolver sees the index through [`PackageSource`]: the versions of a project that have
//! a file the target can install (its wheel tags, its `Requires-Python`), and one version's
//! core metadata. The choices follow pip:
//!
//! - **Newest first.** Each package gets the highest version that every requirement on it
//!   allows, as pip's resolver tries candidates newest first.
//! - **Pre-releases** are chosen for a package only when a requirement on it names one
//!   (`>=2.0b1`), or when no final release satisfies all of them: `packaging`'s
//!   `SpecifierSet.filter`, which pip applies to all the requirements on a package together.
//! - **Yanked versions** (PEP 592) are chosen only when the requirements admit nothing else.
//! - **Extras** are packages of their own (`requests[socks]`), each requiring its base package
//!   at the same version, so that an extra's requirements join only when someone asks for it.
//!   An extra the version does not declare (`Provides-Extra`) adds nothing, as in pip.
//! - **Markers** are evaluated against the target's environment (its Python and machine).
//! - **Installed packages.** In a conda environment conda runs `pip install -U -r`: the named
//!   requirements are upgraded, and everything else already installed (by conda, or the base
//!   image) is kept when it satisfies the requirements on it, pip's `only-if-needed` upgrade
//!   strategy. [`PipInput::installed`] lists those packages with their requirements.
//!
//! Each requirement's admissible versions are computed with envaudit's own PEP 440
//! [`Specifiers::contains`](crate::python::Specifiers::contains), checked against `packaging`,
//! over the candidate versions the index offers, so no PEP 440 range arithmetic is
//! approximated: the version sets PubGrub works with are exact on every version that exists.
//!
//! Where pip and this resolver can still differ: when requirements conflict, pip backtracks
//! in the order it meets them, PubGrub learns from the conflict, and where several solutions
//! exist the two may pick different ones. docs/predict.md lists every known difference.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use pubgrub::{
    DefaultStringReporter, Dependencies, DependencyConstraints, DependencyProvider, External, Map,
    PackageResolutionStatistics, PubGrubError, Ranges, ReportFormatter, Reporter, Term, VersionSet,
};

use crate::model::PackageName;
use crate::python::{MarkerEnv, Operator, Requirement, Specifiers, Version};

/// One version of a project as the index offers it to the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailableVersion {
    /// The version.
    pub version: Version,
    /// Every file of this version that fits the target is yanked (PEP 592).
    pub yanked: bool,
}

/// What the resolver needs of one version's core metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionMetadata {
    /// Read from a `.metadata` file, a wheel's `METADATA`, or a static sdist `PKG-INFO`.
    Known {
        /// `Requires-Dist`, parsed.
        requires_dist: Vec<Requirement>,
        /// `Requires-Python`, when given.
        requires_python: Option<Specifiers>,
        /// `Provides-Extra`, normalised (PEP 685); `None` when not known (a package recorded
        /// in the lockfile), in which case every requested extra counts.
        provides_extra: Option<Vec<String>>,
    },
    /// Only an sdist fits, and its dependencies are dynamic: only a build would tell them.
    NeedsBuild {
        /// Which file would have to be built.
        file: String,
    },
}

/// The resolver's view of a package index. The index client implements it; the resolver
/// calls it from one thread, and an implementation may block on its network I/O.
pub trait PackageSource {
    /// What fetching can fail with.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The versions of `name` that have at least one file the target can install, in any
    /// order. A project the index does not know has none.
    fn versions(&self, name: &PackageName) -> Result<Vec<AvailableVersion>, Self::Error>;

    /// The core metadata of one of those versions.
    fn metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<VersionMetadata, Self::Error>;

    /// A hint that these projects will be asked for soon: an implementation may start
    /// fetching them concurrently. The default does nothing.
    fn prefetch(&self, _names: &[PackageName]) {}
}

/// A package already in the environment that pip will find installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// Its version.
    pub version: Version,
    /// Its `Requires-Dist`, as recorded in the lockfile.
    pub requires: Vec<Requirement>,
}

/// One `pip install` to predict.
#[derive(Clone, Debug)]
pub struct PipInput {
    /// The requirements pip is given (the definition's pip list), in order. Requirements
    /// without a name (a URL, a local path) are not resolved here: the caller reports them.
    pub requirements: Vec<Requirement>,
    /// The target's marker environment.
    pub env: MarkerEnv,
    /// The target's Python version, for `Requires-Python`.
    pub python: Version,
    /// Packages already installed, kept when they satisfy what requires them (pip's
    /// `only-if-needed` strategy). The named requirements are always upgraded (`-U`).
    pub installed: BTreeMap<PackageName, Installed>,
}

/// Where a resolved version comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Downloaded from the index.
    Index,
    /// Already installed, and kept.
    Installed,
}

/// One package of the resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The chosen version.
    pub version: Version,
    /// Its `Requires-Dist` (all of them, whatever the markers say: the lockfile records them
    /// so).
    pub requires: Vec<Requirement>,
    /// The extras something asked of it.
    pub extras: BTreeSet<String>,
    /// Downloaded or kept.
    pub origin: Origin,
}

/// What pip would install: every package of the requirements' closure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipResolution {
    /// By name.
    pub packages: BTreeMap<PackageName, Resolved>,
}

/// Why a prediction has no answer.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError<E: std::error::Error + 'static> {
    /// No set of versions satisfies the requirements; PubGrub's explanation says why.
    #[error("the requirements have no solution:\n{explanation}")]
    Unresolvable {
        /// PubGrub's derivation, in words.
        explanation: String,
    },
    /// The index could not be read.
    #[error(transparent)]
    Source(E),
}

/// A package as PubGrub sees it: the requirements' root, a project, or a project with one
/// extra.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Pkg {
    Root,
    Base(PackageName),
    Extra(PackageName, String),
}

impl fmt::Display for Pkg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pkg::Root => f.write_str("the definition"),
            Pkg::Base(n) => write!(f, "{n}"),
            Pkg::Extra(n, e) => write!(f, "{n}[{e}]"),
        }
    }
}

impl Pkg {
    fn name(&self) -> Option<&PackageName> {
        match self {
            Pkg::Root => None,
            Pkg::Base(n) | Pkg::Extra(n, _) => Some(n),
        }
    }
}

/// Why a version cannot be used (PubGrub's custom incompatibilities).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Unusable {
    NeedsBuild(String),
    RequiresPython(String),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::NeedsBuild(file) => {
                write!(f, "its dependencies are only known after building {file}")
            }
            Unusable::RequiresPython(spec) => write!(f, "it requires Python {spec}"),
        }
    }
}

/// The candidates of one project, ascending, with the installed version merged in.
struct Candidates {
    versions: Vec<Version>,
    yanked: Vec<bool>,
}

struct Provider<'a, S: PackageSource> {
    source: &'a S,
    input: &'a PipInput,
    /// Names the definition lists: pip upgrades them (`-U`).
    named: BTreeSet<PackageName>,
    candidates: RefCell<HashMap<PackageName, std::rc::Rc<Candidates>>>,
    metadata: RefCell<HashMap<(PackageName, Version), VersionMetadata>>,
    /// Packages some requirement names a pre-release of (`>=2.0b1`): pre-releases may be
    /// chosen for them.
    prereleases: RefCell<BTreeSet<PackageName>>,
    /// A fetch failed: kept so that the error reaches the caller as itself.
    failure: RefCell<Option<S::Error>>,
}

/// The error the provider hands PubGrub; the real one waits in [`Provider::failure`].
#[derive(Debug, thiserror::Error)]
#[error("the package index could not be read")]
struct SourceFailed;

impl<S: PackageSource> Provider<'_, S> {
    fn fail(&self, e: S::Error) -> SourceFailed {
        self.failure.borrow_mut().get_or_insert(e);
        SourceFailed
    }

    fn candidates(&self, name: &PackageName) -> Result<std::rc::Rc<Candidates>, SourceFailed> {
        if let Some(c) = self.candidates.borrow().get(name) {
            return Ok(c.clone());
        }
        let mut offered = self.source.versions(name).map_err(|e| self.fail(e))?;
        if let Some(i) = self.input.installed.get(name)
            && !offered.iter().any(|a| a.version == i.version)
        {
            offered.push(AvailableVersion {
                version: i.version.clone(),
                yanked: false,
            });
        }
        offered.sort_by(|a, b| a.version.cmp(&b.version));
        offered.dedup_by(|a, b| a.version == b.version);
        let c = std::rc::Rc::new(Candidates {
            versions: offered.iter().map(|a| a.version.clone()).collect(),
            yanked: offered.iter().map(|a| a.yanked).collect(),
        });
        self.candidates.borrow_mut().insert(name.clone(), c.clone());
        Ok(c)
    }

    /// The versions of `name` that `specifiers` admits, pre-releases included: whether one
    /// may be chosen is decided for the package as a whole (see `choose_version`).
    fn admitted(
        &self,
        name: &PackageName,
        specifiers: &Specifiers,
    ) -> Result<Admitted, SourceFailed> {
        if names_prerelease(specifiers) {
            self.prereleases.borrow_mut().insert(name.clone());
        }
        let c = self.candidates(name)?;
        let keep: Vec<bool> = c.versions.iter().map(|v| specifiers.contains(v)).collect();
        Ok(Admitted::labelled(runs(&c.versions, &keep), specifiers))
    }

    fn metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<VersionMetadata, SourceFailed> {
        let key = (name.clone(), version.clone());
        if let Some(m) = self.metadata.borrow().get(&key) {
            return Ok(m.clone());
        }
        let m = if let Some(i) = self
            .input
            .installed
            .get(name)
            .filter(|i| &i.version == version)
        {
            VersionMetadata::Known {
                requires_dist: i.requires.clone(),
                requires_python: None,
                provides_extra: None,
            }
        } else {
            self.source
                .metadata(name, version)
                .map_err(|e| self.fail(e))?
        };
        self.metadata.borrow_mut().insert(key, m.clone());
        Ok(m)
    }

    /// One requirement as PubGrub constraints: the base package and each extra.
    fn constraints(
        &self,
        req: &Requirement,
        out: &mut Vec<(Pkg, Admitted)>,
    ) -> Result<(), SourceFailed> {
        let Some(name) = &req.name else {
            return Ok(());
        };
        let range = self.admitted(name, &req.specifiers)?;
        for extra in &req.extras {
            out.push((
                Pkg::Extra(name.clone(), normalize_extra(extra)),
                range.clone(),
            ));
        }
        out.push((Pkg::Base(name.clone()), range));
        Ok(())
    }
}

/// A set of versions as PubGrub works with it, with the requirement it came from for the
/// explanation of a conflict (`>=2`, not the candidates it admits). Equality and every
/// operation look at the versions only.
#[derive(Clone, Debug)]
struct Admitted {
    versions: Ranges<Version>,
    label: Option<std::rc::Rc<str>>,
}

impl Admitted {
    fn labelled(versions: Ranges<Version>, specifiers: &Specifiers) -> Self {
        let text = specifiers.to_string();
        Admitted {
            versions,
            label: Some(if text.is_empty() {
                "*".into()
            } else {
                text.into()
            }),
        }
    }

    fn plain(versions: Ranges<Version>) -> Self {
        Admitted {
            versions,
            label: None,
        }
    }
}

impl PartialEq for Admitted {
    fn eq(&self, other: &Self) -> bool {
        self.versions == other.versions
    }
}

impl Eq for Admitted {}

impl fmt::Display for Admitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(label) = &self.label {
            return f.write_str(label);
        }
        if let Some(v) = self.versions.as_singleton() {
            return write!(f, "=={v}");
        }
        if self.versions == Ranges::full() {
            return f.write_str("*");
        }
        write!(f, "{}", self.versions)
    }
}

impl VersionSet for Admitted {
    type V = Version;

    fn empty() -> Self {
        Admitted::plain(Ranges::empty())
    }

    fn singleton(v: Version) -> Self {
        Admitted::plain(Ranges::singleton(v))
    }

    fn complement(&self) -> Self {
        Admitted::plain(self.versions.complement())
    }

    fn intersection(&self, other: &Self) -> Self {
        Admitted::plain(self.versions.intersection(&other.versions))
    }

    fn contains(&self, v: &Version) -> bool {
        self.versions.contains(v)
    }

    fn full() -> Self {
        Admitted::plain(Ranges::full())
    }

    fn union(&self, other: &Self) -> Self {
        Admitted::plain(self.versions.union(&other.versions))
    }

    fn is_disjoint(&self, other: &Self) -> bool {
        self.versions.is_disjoint(&other.versions)
    }

    fn subset_of(&self, other: &Self) -> bool {
        self.versions.subset_of(&other.versions)
    }
}

/// PubGrub's explanation in envaudit's words: the root is "the definition", a requirement
/// reads as written, a version as `==1.0`.
struct Words;

impl Words {
    /// `c>=2` for a requirement as written, `a 1.0` for one version, `a` for any.
    fn term(package: &Pkg, set: &Admitted) -> String {
        if *package == Pkg::Root
            || set.versions == Ranges::full()
            || set.label.as_deref() == Some("*")
        {
            return package.to_string();
        }
        match (&set.label, set.versions.as_singleton()) {
            (Some(label), _) => format!("{package}{label}"),
            (None, Some(v)) => format!("{package} {v}"),
            (None, None) => format!("{package} {}", set.versions),
        }
    }
}

impl ReportFormatter<Pkg, Admitted, Unusable> for Words {
    type Output = String;

    fn format_external(&self, external: &External<Pkg, Admitted, Unusable>) -> String {
        match external {
            External::NotRoot(p, _) => format!("{p} is what is being installed"),
            External::NoVersions(p, set) if set.versions == Ranges::full() => {
                format!("the index has no version of {p} for this target")
            }
            External::NoVersions(p, set) => {
                format!("the index has no version of {p} {set} for this target")
            }
            External::Custom(p, set, why) => {
                format!("{} cannot be used: {why}", Self::term(p, set))
            }
            External::FromDependencyOf(p, set, dep, dep_set) => {
                let verb = if *p == Pkg::Root {
                    "asks for"
                } else {
                    "requires"
                };
                let (who, what) = (Self::term(p, set), Self::term(dep, dep_set));
                if dep_set.versions.is_empty() {
                    format!(
                        "{who} {verb} {what}, and no version of {dep} on the index satisfies \
                         that for this target"
                    )
                } else {
                    format!("{who} {verb} {what}")
                }
            }
        }
    }

    fn format_terms(&self, terms: &Map<Pkg, Term<Admitted>>) -> String {
        let all: Vec<_> = terms.iter().collect();
        match all.as_slice() {
            [] => "the requirements cannot be met".to_owned(),
            [(Pkg::Root, Term::Positive(_))] => "the definition cannot be installed".to_owned(),
            [(p, Term::Positive(set))] => format!("{} cannot be installed", Self::term(p, set)),
            [(p, Term::Negative(set))] => format!("{} is required", Self::term(p, set)),
            [(p, Term::Positive(set)), (dep, Term::Negative(dep_set))]
            | [(dep, Term::Negative(dep_set)), (p, Term::Positive(set))] => {
                self.format_external(&External::FromDependencyOf(
                    (*p).clone(),
                    set.clone(),
                    (*dep).clone(),
                    dep_set.clone(),
                ))
            }
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|(p, t)| match t {
                        Term::Positive(set) => Self::term(p, set),
                        Term::Negative(set) => format!("not {}", Self::term(p, set)),
                    })
                    .collect();
                format!("{} cannot be installed together", names.join(" and "))
            }
        }
    }

    fn explain_both_external(
        &self,
        a: &External<Pkg, Admitted, Unusable>,
        b: &External<Pkg, Admitted, Unusable>,
        terms: &Map<Pkg, Term<Admitted>>,
    ) -> String {
        format!(
            "Because {} and {}, {}.",
            self.format_external(a),
            self.format_external(b),
            self.format_terms(terms)
        )
    }

    fn explain_both_ref(
        &self,
        id1: usize,
        d1: &pubgrub::Derived<Pkg, Admitted, Unusable>,
        id2: usize,
        d2: &pubgrub::Derived<Pkg, Admitted, Unusable>,
        terms: &Map<Pkg, Term<Admitted>>,
    ) -> String {
        format!(
            "Because {} ({id1}) and {} ({id2}), {}.",
            self.format_terms(&d1.terms),
            self.format_terms(&d2.terms),
            self.format_terms(terms)
        )
    }

    fn explain_ref_and_external(
        &self,
        id: usize,
        d: &pubgrub::Derived<Pkg, Admitted, Unusable>,
        e: &External<Pkg, Admitted, Unusable>,
        terms: &Map<Pkg, Term<Admitted>>,
    ) -> String {
        format!(
            "Because {} ({id}) and {}, {}.",
            self.format_terms(&d.terms),
            self.format_external(e),
            self.format_terms(terms)
        )
    }

    fn and_explain_external(
        &self,
        e: &External<Pkg, Admitted, Unusable>,
        terms: &Map<Pkg, Term<Admitted>>,
    ) -> String {
        format!(
            "And because {}, {}.",
            self.format_external(e),
            self.format_terms(terms)
        )
    }

    fn and_explain_ref(
        &self,
        id: usize,
        d: &pubgrub::Derived<Pkg, Admitted, Unusable>,
        terms: &Map<Pkg, Term<Admitted>>,
    ) -> String {
        format!(
            "And because {} ({id}), {}.",
            self.format_terms(&d.terms),
            self.format_terms(terms)
        )
    }

    fn and_explain_prior_and_external(
        &self,
        prior: &External<Pkg, Admitted, Unusable>,
        e: &External<Pkg, Admitted, Unusable>,
        terms: &Map<Pkg, Term<Admitted>>,
    ) -> String {
        format!(
            "And because {} and {}, {}.",
            self.format_external(prior),
            self.format_external(e),
            self.format_terms(terms)
        )
    }
}

/// Whether any specifier names a pre-release, which lets pre-releases in (`packaging`'s
/// `Specifier.prereleases`).
fn names_prerelease(specifiers: &Specifiers) -> bool {
    specifiers.iter().any(|s| {
        matches!(
            s.operator(),
            Operator::Equal
                | Operator::ArbitraryEqual
                | Operator::GreaterEqual
                | Operator::LessEqual
                | Operator::Compatible
                | Operator::Greater
                | Operator::Less
        ) && s.version().is_some_and(Version::is_prerelease)
    })
}

/// The union of the runs of consecutive kept versions, as closed intervals.
fn runs(versions: &[Version], keep: &[bool]) -> Ranges<Version> {
    let mut out = Ranges::empty();
    let mut i = 0;
    while i < versions.len() {
        if !keep[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i + 1 < versions.len() && keep[i + 1] {
            i += 1;
        }
        let run = if start == i {
            Ranges::singleton(versions[start].clone())
        } else {
            Ranges::between(versions[start].clone(), versions[i].clone())
                .union(&Ranges::singleton(versions[i].clone()))
        };
        out = out.union(&run);
        i += 1;
    }
    out
}

/// PEP 685: extras compare by their normalised name.
fn normalize_extra(extra: &str) -> String {
    // PEP 685 normalises extras exactly as PEP 503 normalises names
    PackageName::pip(extra).as_str().to_owned()
}

impl<S: PackageSource> DependencyProvider for Provider<'_, S> {
    type P = Pkg;
    type V = Version;
    type VS = Admitted;
    type M = Unusable;
    type Priority = (u32, std::cmp::Reverse<usize>);
    type Err = SourceFailed;

    fn prioritize(
        &self,
        package: &Pkg,
        range: &Admitted,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        // Packages in conflict first, then the most constrained (fewest versions left).
        let left = package
            .name()
            .and_then(|n| self.candidates.borrow().get(n).cloned())
            .map_or(0, |c| {
                c.versions.iter().filter(|v| range.contains(*v)).count()
            });
        (stats.conflict_count(), std::cmp::Reverse(left))
    }

    fn choose_version(
        &self,
        package: &Pkg,
        range: &Admitted,
    ) -> Result<Option<Version>, SourceFailed> {
        let Some(name) = package.name() else {
            return Ok(range.contains(&root_version()).then(root_version));
        };
        let c = self.candidates(name)?;
        if !self.named.contains(name)
            && let Some(i) = self.input.installed.get(name)
            && range.contains(&i.version)
        {
            return Ok(Some(i.version.clone()));
        }
        // newest first; yanked versions only when nothing else is left (PEP 592)
        let in_range: Vec<usize> = (0..c.versions.len())
            .rev()
            .filter(|&i| range.contains(&c.versions[i]))
            .collect();
        let usable: Vec<usize> = if in_range.iter().any(|&i| !c.yanked[i]) {
            in_range.into_iter().filter(|&i| !c.yanked[i]).collect()
        } else {
            in_range
        };
        // pip filters with every requirement on the package at once (`SpecifierSet.filter`):
        // pre-releases when one of them names a pre-release, or when no final release is left
        let pick = if self.prereleases.borrow().contains(name) {
            usable.first()
        } else {
            usable
                .iter()
                .find(|&&i| !c.versions[i].is_prerelease())
                .or(usable.first())
        };
        Ok(pick.map(|&i| c.versions[i].clone()))
    }

    fn get_dependencies(
        &self,
        package: &Pkg,
        version: &Version,
    ) -> Result<Dependencies<Pkg, Admitted, Unusable>, SourceFailed> {
        let mut deps = Vec::new();
        let (name, extra) = match package {
            Pkg::Root => {
                let reqs: Vec<&Requirement> = self
                    .input
                    .requirements
                    .iter()
                    .filter(|req| applies(req, &self.input.env, None))
                    .collect();
                self.prefetch(&reqs);
                for req in reqs {
                    self.constraints(req, &mut deps)?;
                }
                return Ok(Dependencies::Available(DependencyConstraints::from_iter(
                    deps,
                )));
            }
            Pkg::Base(n) => (n, None),
            Pkg::Extra(n, e) => (n, Some(e.as_str())),
        };
        let (requires, requires_python, provides_extra) = match self.metadata(name, version)? {
            VersionMetadata::Known {
                requires_dist,
                requires_python,
                provides_extra,
            } => (requires_dist, requires_python, provides_extra),
            VersionMetadata::NeedsBuild { file } => {
                return Ok(Dependencies::Unavailable(Unusable::NeedsBuild(file)));
            }
        };
        if let Some(rp) = &requires_python
            && !rp.contains(&self.input.python)
        {
            return Ok(Dependencies::Unavailable(Unusable::RequiresPython(
                rp.to_string(),
            )));
        }
        if let Some(extra) = extra {
            // an extra is its base package at the same version, plus the extra's requirements
            deps.push((
                Pkg::Base(name.clone()),
                Admitted::singleton(version.clone()),
            ));
            // pip ignores an extra the package does not declare (with a warning)
            let declared = provides_extra
                .as_ref()
                .is_none_or(|p| p.iter().any(|e| normalize_extra(e) == extra));
            let reqs: Vec<&Requirement> = requires
                .iter()
                .filter(|req| {
                    declared
                        && applies(req, &self.input.env, Some(extra))
                        && !applies(req, &self.input.env, None)
                })
                .collect();
            self.prefetch(&reqs);
            for req in reqs {
                self.constraints(req, &mut deps)?;
            }
        } else {
            let reqs: Vec<&Requirement> = requires
                .iter()
                .filter(|req| applies(req, &self.input.env, None))
                .collect();
            self.prefetch(&reqs);
            for req in reqs {
                self.constraints(req, &mut deps)?;
            }
        }
        Ok(Dependencies::Available(DependencyConstraints::from_iter(
            deps,
        )))
    }
}

impl<S: PackageSource> Provider<'_, S> {
    /// Tells the source which projects `reqs` name before their version sets are built,
    /// which needs their pages: so that the pages are fetched together, not one by one.
    fn prefetch(&self, reqs: &[&Requirement]) {
        let names: Vec<PackageName> = reqs.iter().filter_map(|r| r.name.clone()).collect();
        if !names.is_empty() {
            self.source.prefetch(&names);
        }
    }
}

/// Whether a requirement's marker holds for the target with `extra` requested. A marker that
/// cannot be evaluated (a comparison packaging refuses) counts as false, as pip skips it.
fn applies(req: &Requirement, env: &MarkerEnv, extra: Option<&str>) -> bool {
    let Some(marker) = &req.marker else {
        return true;
    };
    let extras: Vec<&str> = extra.into_iter().collect();
    marker.evaluate(env, &extras).unwrap_or(false)
}

fn root_version() -> Version {
    "0".parse().expect("0 is a version")
}

/// Resolves `input` against `source`, as pip would install it now.
pub fn resolve<S: PackageSource>(
    source: &S,
    input: &PipInput,
) -> Result<PipResolution, ResolveError<S::Error>> {
    let provider = Provider {
        source,
        input,
        named: input
            .requirements
            .iter()
            .filter_map(|r| r.name.clone())
            .collect(),
        candidates: RefCell::default(),
        metadata: RefCell::default(),
        prereleases: RefCell::default(),
        failure: RefCell::default(),
    };
    let selected = match pubgrub::resolve(&provider, Pkg::Root, root_version()) {
        Ok(s) => s,
        Err(PubGrubError::NoSolution(tree)) => {
            return Err(ResolveError::Unresolvable {
                explanation: DefaultStringReporter::report_with_formatter(&tree, &Words),
            });
        }
        Err(_) => {
            let e = provider.failure.borrow_mut().take();
            return Err(match e {
                Some(e) => ResolveError::Source(e),
                None => ResolveError::Unresolvable {
                    explanation: "the resolver stopped without an answer".to_owned(),
                },
            });
        }
    };
    let mut out = PipResolution::default();
    let mut extras: BTreeMap<PackageName, BTreeSet<String>> = BTreeMap::new();
    for (pkg, version) in selected.iter() {
        match pkg {
            Pkg::Root => {}
            Pkg::Extra(n, e) => {
                extras.entry(n.clone()).or_default().insert(e.clone());
            }
            Pkg::Base(n) => {
                let requires = match provider
                    .metadata
                    .borrow()
                    .get(&(n.clone(), version.clone()))
                {
                    Some(VersionMetadata::Known { requires_dist, .. }) => requires_dist.clone(),
                    _ => Vec::new(),
                };
                let kept = !provider.named.contains(n)
                    && input
                        .installed
                        .get(n)
                        .is_some_and(|i| &i.version == version);
                out.packages.insert(
                    n.clone(),
                    Resolved {
                        version: version.clone(),
                        requires,
                        extras: BTreeSet::new(),
                        origin: if kept {
                            Origin::Installed
                        } else {
                            Origin::Index
                        },
                    },
                );
            }
        }
    }
    for (n, e) in extras {
        if let Some(r) = out.packages.get_mut(&n) {
            r.extras = e;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn specs(s: &str) -> Specifiers {
        s.parse().unwrap()
    }

    #[test]
    fn runs_cover_exactly_the_kept_versions() {
        let all: Vec<Version> = ["1.0", "1.1", "1.2", "2.0", "2.1"]
            .iter()
            .map(|s| v(s))
            .collect();
        let r = runs(&all, &[true, true, false, true, true]);
        let inside: Vec<bool> = all.iter().map(|x| r.contains(x)).collect();
        assert_eq!(inside, [true, true, false, true, true]);
        assert!(runs(&all, &[false; 5]).is_empty());
        assert_eq!(
            runs(&all, &[false, false, true, false, false]).as_singleton(),
            Some(&v("1.2"))
        );
    }

    #[test]
    fn prereleases_count_when_named() {
        assert!(names_prerelease(&specs(">=2.0b1")));
        assert!(names_prerelease(&specs("==2.0rc1")));
        assert!(!names_prerelease(&specs(">=2.0")));
        assert!(!names_prerelease(&specs("!=2.0b1")));
    }

    #[test]
    fn extras_normalise_as_pep_685_says() {
        assert_eq!(normalize_extra("Foo_Bar.baz"), "foo-bar-baz");
        assert_eq!(normalize_extra("socks"), "socks");
    }

    /// An index held in memory: the algorithm's unit tests. The real index is exercised by
    /// `tests/it/predict.rs`.
    /// A version, whether it is yanked, its requirements and its `Requires-Python`.
    type Release = (&'static str, bool, Vec<&'static str>, Option<&'static str>);

    #[derive(Default)]
    struct Memory {
        projects: BTreeMap<String, Vec<Release>>,
    }

    impl Memory {
        fn add(
            &mut self,
            name: &str,
            version: &'static str,
            requires: &[&'static str],
        ) -> &mut Self {
            self.projects.entry(name.to_owned()).or_default().push((
                version,
                false,
                requires.to_vec(),
                None,
            ));
            self
        }
        fn yanked(&mut self, name: &str, version: &'static str) -> &mut Self {
            self.projects
                .entry(name.to_owned())
                .or_default()
                .push((version, true, vec![], None));
            self
        }
        fn python(&mut self, name: &str, version: &'static str, rp: &'static str) -> &mut Self {
            self.projects.entry(name.to_owned()).or_default().push((
                version,
                false,
                vec![],
                Some(rp),
            ));
            self
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("unreachable")]
    struct Never;

    impl PackageSource for Memory {
        type Error = Never;
        fn versions(&self, name: &PackageName) -> Result<Vec<AvailableVersion>, Never> {
            Ok(self
                .projects
                .get(name.as_str())
                .into_iter()
                .flatten()
                .map(|(ver, y, _, _)| AvailableVersion {
                    version: v(ver),
                    yanked: *y,
                })
                .collect())
        }
        fn metadata(
            &self,
            name: &PackageName,
            version: &Version,
        ) -> Result<VersionMetadata, Never> {
            let (_, _, reqs, rp) = self.projects[name.as_str()]
                .iter()
                .find(|(ver, ..)| &v(ver) == version)
                .unwrap();
            Ok(VersionMetadata::Known {
                requires_dist: reqs.iter().map(|r| r.parse().unwrap()).collect(),
                requires_python: rp.map(specs),
                provides_extra: None,
            })
        }
    }

    fn input(reqs: &[&str]) -> PipInput {
        PipInput {
            requirements: reqs.iter().map(|r| r.parse().unwrap()).collect(),
            env: MarkerEnv::linux("3.11.4", "x86_64"),
            python: v("3.11.4"),
            installed: BTreeMap::new(),
        }
    }

    fn versions(r: &PipResolution) -> Vec<String> {
        r.packages
            .iter()
            .map(|(n, p)| format!("{n}=={}", p.version))
            .collect()
    }

    #[test]
    fn newest_versions_that_fit_every_requirement() {
        let mut m = Memory::default();
        m.add("requests", "2.30.0", &["urllib3<3,>=1.21.1", "idna"])
            .add(
                "requests",
                "2.31.0",
                &[
                    "urllib3<3,>=1.21.1",
                    "idna",
                    "PySocks!=1.5.7,>=1.5.6; extra == 'socks'",
                ],
            )
            .add("urllib3", "1.26.18", &[])
            .add("urllib3", "2.2.1", &[])
            .add("urllib3", "3.0.0", &[])
            .add("idna", "3.6", &[])
            .add("idna", "3.7rc1", &[])
            .add("pysocks", "1.7.1", &[])
            .add("colorama", "0.4.6", &[]);
        let r = resolve(
            &m,
            &input(&["requests", "colorama; sys_platform == 'win32'"]),
        )
        .unwrap();
        assert_eq!(
            versions(&r),
            ["idna==3.6", "requests==2.31.0", "urllib3==2.2.1"]
        );
        let r = resolve(&m, &input(&["requests[socks]<2.31"])).unwrap();
        assert_eq!(
            versions(&r),
            ["idna==3.6", "requests==2.30.0", "urllib3==2.2.1"],
            "the extra only exists in 2.31.0"
        );
        let r = resolve(&m, &input(&["requests[SOCKS]", "idna>=3.7rc1"])).unwrap();
        assert_eq!(
            versions(&r),
            [
                "idna==3.7rc1",
                "pysocks==1.7.1",
                "requests==2.31.0",
                "urllib3==2.2.1"
            ]
        );
        assert_eq!(
            r.packages[&PackageName::pip("requests")].extras,
            BTreeSet::from(["socks".to_owned()])
        );
    }

    #[test]
    fn yanked_and_python_incompatible_versions_are_passed_over() {
        let mut m = Memory::default();
        m.add("a", "1.0", &[])
            .yanked("a", "1.1")
            .python("a", "1.2", ">=3.12");
        assert_eq!(versions(&resolve(&m, &input(&["a"])).unwrap()), ["a==1.0"]);
        assert_eq!(
            versions(&resolve(&m, &input(&["a==1.1"])).unwrap()),
            ["a==1.1"],
            "a pin may take a yanked version"
        );
        let err = resolve(&m, &input(&["a>=1.2"])).unwrap_err();
        let ResolveError::Unresolvable { explanation } = err else {
            panic!()
        };
        assert!(
            explanation.contains("requires Python >=3.12"),
            "{explanation}"
        );
    }

    #[test]
    fn installed_packages_stay_unless_named_or_outgrown() {
        let mut m = Memory::default();
        m.add("a", "2.0", &["numpy>=1.20"])
            .add("numpy", "1.26.4", &[])
            .add("numpy", "2.1.0", &[]);
        let mut i = input(&["a"]);
        i.installed.insert(
            PackageName::pip("numpy"),
            Installed {
                version: v("1.24.0"),
                requires: vec![],
            },
        );
        let r = resolve(&m, &i).unwrap();
        assert_eq!(versions(&r), ["a==2.0", "numpy==1.24.0"]);
        assert_eq!(
            r.packages[&PackageName::pip("numpy")].origin,
            Origin::Installed
        );
        let mut named = input(&["a", "numpy"]);
        named.installed = i.installed.clone();
        assert_eq!(
            versions(&resolve(&m, &named).unwrap()),
            ["a==2.0", "numpy==2.1.0"],
            "-U upgrades what is named"
        );
        let mut outgrown = input(&["a", "numpy>=1.25"]);
        outgrown.installed = i.installed;
        assert_eq!(
            versions(&resolve(&m, &outgrown).unwrap()),
            ["a==2.0", "numpy==2.1.0"]
        );
    }

    #[test]
    fn a_conflict_is_explained() {
        let mut m = Memory::default();
        m.add("a", "1.0", &["c<2"])
            .add("b", "1.0", &["c>=2"])
            .add("c", "1.0", &[])
            .add("c", "2.0", &[]);
        let ResolveError::Unresolvable { explanation } =
            resolve(&m, &input(&["a", "b"])).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(
            explanation,
            "Because b 1.0 requires c>=2 and a 1.0 requires c<2, b 1.0 and a 1.0 cannot be \
             installed together.\nAnd because the definition asks for a and the definition \
             asks for b, the definition cannot be installed."
        );
        let ResolveError::Unresolvable { explanation } =
            resolve(&m, &input(&["missing"])).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(
            explanation,
            "the definition asks for missing, and no version of missing on the index \
             satisfies that for this target"
        );
    }
}
