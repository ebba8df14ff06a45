//! Drift between two snapshots of one environment, each changed package attributed to what
//! let it move: the unpinned declarations and range requirements that reach it, with one
//! shortest path from a declared root. Removed packages are explained with the old
//! snapshot's graph, added ones with the new one's, changed ones with both (the new graph
//! first). Pure analysis, like [`crate::analysis::diff`].

use serde::Serialize;

use crate::analysis::diff::{ChangeKind, EnvironmentDiff, PackageChange};
use crate::analysis::graph::{Class, DepGraph};
use crate::diag::{Code, Finding};
use crate::lockfile::Snapshot;
use crate::model::pin::PinState;

/// The version of the JSON this report serialises to.
pub const SCHEMA_VERSION: u32 = 1;

/// The drift of every environment between two lockfiles, with each change attributed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    /// [`SCHEMA_VERSION`]: the version of this report's JSON shape.
    pub schema_version: u32,
    /// Where the old side came from, as the caller labels it (a revision, a path).
    pub old: String,
    /// Where the new side came from, as the caller labels it (a revision, `now`).
    pub new: String,
    /// Every environment compared, sorted by name.
    pub environments: Vec<EnvironmentDrift>,
    /// `silent-drift` or `drift`, and `pin-violated`, environment by environment.
    pub findings: Vec<Finding>,
}

/// One environment's drift: its diff, the base image, and why each package moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvironmentDrift {
    /// The plain comparison (its fields are flattened into this value's JSON).
    #[serde(flatten)]
    pub diff: EnvironmentDiff,
    /// The base image's digest changed.
    pub base_image_changed: bool,
    /// The old base image's manifest digest, when the snapshot records one.
    pub old_base_image: Option<String>,
    /// The new base image's manifest digest, when the snapshot records one.
    pub new_base_image: Option<String>,
    /// How many installed packages came with the base image (new side).
    pub base_packages: usize,
    /// One attribution per changed package, in the order of [`EnvironmentDiff::packages`].
    pub attributions: Vec<Attribution>,
}

/// Why one package moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// It came with the base image.
    BaseImage,
    /// Declared without an exact pin.
    DeclaredUnpinned,
    /// Declared exactly, yet another version is installed: must never happen.
    PinViolated,
    /// Reached through requirements that admit more than one version.
    Requirements,
    /// Every requirement reaching it is exact: it moved with the package that requires it.
    FollowedPinned,
    /// No declared dependency's requirements reach it.
    Unreached,
}

/// An unpinned edge that let a package move: a declaration or another package's requirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mover {
    /// The requiring package, or `None` for the definition's declaration.
    pub from: Option<String>,
    /// The requirement or declared spec as written (`numpy>=1.17.3`).
    pub requirement: String,
    /// How firmly it fixes the version; never an exact pin, except for an exact version whose
    /// build is free.
    pub pin: PinState,
}

/// One changed package, and what let it move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// The change being explained.
    pub change: PackageChange,
    /// The package's class in the graph that explains it (new graph first).
    pub class: Class,
    /// Why it could move.
    pub cause: Cause,
    /// The unpinned declaration and requirements that reach it directly; empty when none does.
    pub movers: Vec<Mover>,
    /// One shortest path from a declared root, e.g.
    /// `pandas==1.3.5 (exact) -> numpy>=1.17.3 (range)`.
    pub path: Option<String>,
}

impl Attribution {
    /// `numpy 1.18.1 -> 1.19.0: pandas==1.3.5 (exact) -> numpy>=1.17.3 (range)`
    pub fn explain(&self) -> String {
        let versions = format!(
            "{} -> {}",
            self.change.old_version.as_deref().unwrap_or("(none)"),
            self.change.new_version.as_deref().unwrap_or("(none)")
        );
        let why = match self.cause {
            Cause::BaseImage => "came with the base image".to_owned(),
            Cause::PinViolated => "declared exactly, yet another version is installed".to_owned(),
            Cause::Unreached => "no declared dependency's requirements reach it".to_owned(),
            Cause::FollowedPinned => format!(
                "only exact requirements reach it: {}",
                self.path.as_deref().unwrap_or("-")
            ),
            Cause::DeclaredUnpinned | Cause::Requirements => {
                self.path.clone().unwrap_or_else(|| {
                    self.movers
                        .iter()
                        .map(|m| format!("{} ({})", m.requirement, m.pin))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
            }
        };
        format!("{} {versions}: {why}", self.change.name)
    }
}

/// The drift of one environment between two snapshots.
pub fn environment(name: &str, old: Option<&Snapshot>, new: Option<&Snapshot>) -> EnvironmentDrift {
    with_graphs(name, old, None, new)
}

/// [`environment`] with the old snapshot's dependency graph already built (the graph of
/// `old`, which a caller that built it for something else need not build again).
pub fn environment_with_old_graph(
    name: &str,
    old: &DepGraph<'_>,
    new: Option<&Snapshot>,
) -> EnvironmentDrift {
    with_graphs(name, Some(old.snapshot), Some(old), new)
}

/// The drift, each snapshot's graph built only when a change needs it to be explained
/// (none when nothing changed), `old_graph` used when given.
fn with_graphs(
    name: &str,
    old: Option<&Snapshot>,
    old_graph: Option<&DepGraph<'_>>,
    new: Option<&Snapshot>,
) -> EnvironmentDrift {
    let diff = crate::analysis::diff::snapshots(name, old, new);
    let built_old = std::cell::OnceCell::new();
    let built_new = std::cell::OnceCell::new();
    let old_graph = || -> Option<&DepGraph<'_>> {
        old_graph.or_else(|| built_old.get_or_init(|| old.map(DepGraph::build)).as_ref())
    };
    let new_graph = || built_new.get_or_init(|| new.map(DepGraph::build)).as_ref();
    let attributions = diff
        .packages
        .iter()
        .map(|c| {
            let graphs: Vec<&DepGraph<'_>> = match c.kind {
                ChangeKind::Removed => old_graph().into_iter().collect(),
                ChangeKind::Added => new_graph().into_iter().collect(),
                _ => new_graph().into_iter().chain(old_graph()).collect(),
            };
            attribute(c, &graphs)
        })
        .collect();
    let digest = |s: Option<&Snapshot>| {
        s.and_then(|s| s.base_image_digest.as_ref().map(ToString::to_string))
    };
    let (ob, nb) = (digest(old), digest(new));
    EnvironmentDrift {
        base_image_changed: old.is_some() && new.is_some() && ob != nb,
        old_base_image: ob,
        new_base_image: nb,
        base_packages: new
            .map(|s| s.packages.iter().filter(|p| p.base == Some(true)).count())
            .unwrap_or_default(),
        diff,
        attributions,
    }
}

/// Attributes one change with the first graph that holds the package.
fn attribute(change: &PackageChange, graphs: &[&DepGraph<'_>]) -> Attribution {
    for g in graphs {
        let Some(i) = locate(g, change) else { continue };
        let class = g.class(i);
        let path = g.shortest_path(i);
        let mut movers: Vec<Mover> = Vec::new();
        if let Some(r) = g.roots.iter().find(|r| r.node == i)
            && !r.pin.is_pinned()
        {
            movers.push(Mover {
                from: None,
                requirement: r.spec.clone(),
                pin: r.pin,
            });
        }
        for (from, req) in g.incoming(i) {
            if !req.pin.is_pinned() {
                movers.push(Mover {
                    from: Some(g.package(from).name.to_string()),
                    requirement: req.text.clone(),
                    pin: req.pin,
                });
            }
        }
        let root = g.roots.iter().find(|r| r.node == i);
        let cause = match class {
            Class::BaseImage => Cause::BaseImage,
            Class::Pinned
                if matches!(change.kind, ChangeKind::Upgraded | ChangeKind::Downgraded) =>
            {
                Cause::PinViolated
            }
            // An exact version with a free build: a rebuild is what the declaration allows.
            Class::Pinned
                if change.kind == ChangeKind::Rebuilt
                    && root.is_some_and(|r| r.pin == PinState::Exact) =>
            {
                if let Some(r) = root {
                    movers.push(Mover {
                        from: None,
                        requirement: r.spec.clone(),
                        pin: r.pin,
                    });
                }
                Cause::DeclaredUnpinned
            }
            Class::Pinned => Cause::FollowedPinned,
            Class::DeclaredUnpinned => Cause::DeclaredUnpinned,
            Class::Transitive if movers.is_empty() => Cause::FollowedPinned,
            Class::Transitive => Cause::Requirements,
            Class::Unreached => Cause::Unreached,
        };
        return Attribution {
            change: change.clone(),
            class,
            cause,
            movers,
            path: path.map(|p| p.to_string()),
        };
    }
    Attribution {
        change: change.clone(),
        class: Class::Unreached,
        cause: Cause::Unreached,
        movers: Vec::new(),
        path: None,
    }
}

/// The package of a change in a graph: same ecosystem, prefix and name, at the new version
/// (new graph) or the old one (old graph).
fn locate(g: &DepGraph<'_>, change: &PackageChange) -> Option<usize> {
    [change.new_version.as_ref(), change.old_version.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|v| {
            g.snapshot.packages.iter().position(|p| {
                p.ecosystem == change.ecosystem
                    && p.prefix == change.prefix
                    && p.name.as_str() == change.name
                    && &p.version == v
            })
        })
}

/// Findings of an environment's drift.
pub fn findings(d: &EnvironmentDrift) -> Vec<Finding> {
    let mut out = Vec::new();
    if d.diff.silent_drift {
        out.push(
            Finding::new(
                Code::SilentDrift,
                format!(
                    "`{}`: {} installed package(s) changed while the definition hash stayed the same",
                    d.diff.name,
                    d.diff.packages.len()
                ),
            )
            .with_package(d.diff.name.clone()),
        );
    } else if !d.diff.packages.is_empty() {
        out.push(
            Finding::new(
                Code::Drift,
                format!(
                    "`{}`: {} installed package(s) changed",
                    d.diff.name,
                    d.diff.packages.len()
                ),
            )
            .with_package(d.diff.name.clone()),
        );
    }
    for a in d
        .attributions
        .iter()
        .filter(|a| a.cause == Cause::PinViolated)
    {
        out.push(
            Finding::new(
                Code::PinViolated,
                format!("`{}`: {}", d.diff.name, a.explain()),
            )
            .with_package(a.change.name.clone()),
        );
    }
    out
}

/// The drift report of two lockfiles (or two snapshots put in lockfiles).
pub fn lockfiles(
    old: &crate::lockfile::Lockfile,
    new: &crate::lockfile::Lockfile,
    old_label: &str,
    new_label: &str,
    environment_filter: Option<&str>,
) -> DriftReport {
    let mut environments = Vec::new();
    let mut all = Vec::new();
    for name in crate::analysis::diff::environment_names(old, new, environment_filter) {
        let d = environment(name, old.environments.get(name), new.environments.get(name));
        all.extend(findings(&d));
        environments.push(d);
    }
    DriftReport {
        schema_version: SCHEMA_VERSION,
        old: old_label.to_owned(),
        new: new_label.to_owned(),
        environments,
        findings: all,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::{Declared, LockedPackage};
    use crate::model::{Digest, Ecosystem, PackageName};

    fn pip(name: &str, version: &str, requires: &[&str]) -> LockedPackage {
        LockedPackage {
            prefix: Some("/env".into()),
            base: Some(false),
            requires: requires.iter().map(|r| (*r).into()).collect(),
            ..LockedPackage::new(Ecosystem::Pip, PackageName::pip(name), version)
        }
    }

    fn base(mut p: LockedPackage) -> LockedPackage {
        p.base = Some(true);
        p
    }

    fn declared(spec: &str, pin: PinState) -> Declared {
        let req = crate::python::Requirement::parse_pep508(spec).unwrap();
        Declared {
            ecosystem: Ecosystem::Pip,
            name: req.name,
            spec: spec.into(),
            pin,
        }
    }

    fn snap(image: &str, packages: Vec<LockedPackage>) -> Snapshot {
        let mut s = Snapshot {
            id: String::new(),
            definition: "env.yml".into(),
            definition_kind: Some(crate::definition::DefinitionKind::Conda),
            definition_hash: Digest::sha256_of(b"same definition"),
            image: Some("acr.io/azureml/azureml_x:latest".into()),
            image_manifest: Some(Digest::sha256_of(image.as_bytes())),
            image_platform: Some("linux/amd64".into()),
            completeness: crate::layer::Completeness::Complete,
            declared: vec![
                declared("pandas==1.3.5", PinState::Exact),
                declared("scipy", PinState::Unpinned),
            ],
            packages,
            ..Snapshot::placeholder("")
        };
        s.seal();
        s
    }

    fn old() -> Snapshot {
        snap(
            "old",
            vec![
                pip(
                    "pandas",
                    "1.3.5",
                    &["numpy>=1.17.3", "python-dateutil>=2.7.3"],
                ),
                pip("numpy", "1.18.1", &[]),
                pip("python-dateutil", "2.8.1", &["six>=1.5"]),
                base(pip("six", "1.15.0", &[])),
                pip("scipy", "1.7.0", &["numpy<1.23.0,>=1.16.5", "oldpkg"]),
                pip("oldpkg", "1.0", &[]),
                pip("setuptools", "57.0", &[]),
            ],
        )
    }

    fn new() -> Snapshot {
        snap(
            "new",
            vec![
                pip(
                    "pandas",
                    "1.3.5",
                    &["numpy>=1.17.3", "python-dateutil>=2.7.3"],
                ),
                pip("numpy", "1.19.0", &[]),
                pip("python-dateutil", "2.8.2", &["six>=1.5"]),
                base(pip("six", "1.16.0", &[])),
                pip("scipy", "1.7.3", &["numpy<1.23.0,>=1.16.5", "newpkg>=2"]),
                pip("newpkg", "2.1", &[]),
                pip("setuptools", "58.0", &[]),
            ],
        )
    }

    fn explained(d: &EnvironmentDrift) -> Vec<(String, Cause, String)> {
        d.attributions
            .iter()
            .map(|a| (a.change.name.clone(), a.cause.clone(), a.explain()))
            .collect()
    }

    #[test]
    fn each_change_is_attributed_to_what_let_it_move() {
        let (o, n) = (old(), new());
        let d = environment("train", Some(&o), Some(&n));
        assert!(d.diff.silent_drift);
        let got = explained(&d);
        let want = [
            (
                "newpkg",
                Cause::Requirements,
                "newpkg (none) -> 2.1: scipy (unpinned) -> newpkg>=2 (range)",
            ),
            (
                "numpy",
                Cause::Requirements,
                "numpy 1.18.1 -> 1.19.0: pandas==1.3.5 (exact) -> numpy>=1.17.3 (range)",
            ),
            (
                "oldpkg",
                Cause::Requirements,
                "oldpkg 1.0 -> (none): scipy (unpinned) -> oldpkg (unpinned)",
            ),
            (
                "python-dateutil",
                Cause::Requirements,
                "python-dateutil 2.8.1 -> 2.8.2: pandas==1.3.5 (exact) -> python-dateutil>=2.7.3 (range)",
            ),
            (
                "scipy",
                Cause::DeclaredUnpinned,
                "scipy 1.7.0 -> 1.7.3: scipy (unpinned)",
            ),
            (
                "setuptools",
                Cause::Unreached,
                "setuptools 57.0 -> 58.0: no declared dependency's requirements reach it",
            ),
            (
                "six",
                Cause::BaseImage,
                "six 1.15.0 -> 1.16.0: came with the base image",
            ),
        ];
        let want: Vec<(String, Cause, String)> = want
            .iter()
            .map(|(a, b, c)| ((*a).to_owned(), b.clone(), (*c).to_owned()))
            .collect();
        assert_eq!(got, want);
        // numpy is reachable through two range requirements: both are movers.
        let numpy = d
            .attributions
            .iter()
            .find(|a| a.change.name == "numpy")
            .unwrap();
        let movers: Vec<(Option<&str>, &str)> = numpy
            .movers
            .iter()
            .map(|m| (m.from.as_deref(), m.requirement.as_str()))
            .collect();
        assert_eq!(
            movers,
            [
                (Some("pandas"), "numpy>=1.17.3"),
                (Some("scipy"), "numpy<1.23.0,>=1.16.5")
            ]
        );
        let codes: Vec<Code> = findings(&d).iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::SilentDrift]);
    }

    #[test]
    fn a_violated_pin_is_an_error() {
        let o = old();
        let mut n = new();
        for p in n
            .packages
            .iter_mut()
            .filter(|p| p.name.as_str() == "pandas")
        {
            p.version = "1.3.6".into();
        }
        n.seal();
        let d = environment("train", Some(&o), Some(&n));
        let pandas = d
            .attributions
            .iter()
            .find(|a| a.change.name == "pandas")
            .unwrap();
        assert_eq!(pandas.cause, Cause::PinViolated);
        let codes: Vec<Code> = findings(&d).iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::SilentDrift, Code::PinViolated]);
    }

    #[test]
    fn markers_and_extras_decide_edges() {
        let mut s = new();
        s.packages.push(pip("plotlib", "1.0", &[]));
        s.packages.push(pip("winonly", "1.0", &[]));
        s.packages[4]
            .requires
            .push("plotlib; extra == \"plot\"".into());
        s.packages[4]
            .requires
            .push("winonly; sys_platform == \"win32\"".into());
        s.declared[1] = declared("scipy[plot]", PinState::Unpinned);
        s.seal();
        let g = DepGraph::build(&s);
        let plot = g.find("plotlib")[0];
        let win = g.find("winonly")[0];
        assert_eq!(g.class(plot), Class::Transitive);
        assert_eq!(g.class(win), Class::Unreached);
        assert_eq!(
            g.shortest_path(plot).unwrap().to_string(),
            "scipy[plot] (unpinned) -> plotlib (unpinned)"
        );
    }
}
