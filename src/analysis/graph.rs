//! The installed dependency graph of a snapshot, and what let each package move.
//!
//! - **Nodes** are the snapshot's installed packages. **Edges** come from their recorded
//!   requirements: Python `Requires-Dist` (PEP 508; markers evaluated for the prefix's own
//!   Python version and the image platform, extras as requested along the way) and conda
//!   `depends` (MatchSpec). A requirement resolves within the package's prefix: a pip name
//!   finds a pip distribution, or the conda package that installed a distribution of that
//!   name. conda `constrains` install nothing and make no edge.
//! - **Roots** are the definition's declared dependencies, in the prefix that holds most of
//!   them (the run's environment, not the base image's conda).
//! - **Classes**: whether a package came with the base image is decided by where it was
//!   installed (the base image's layers), not by reachability; otherwise it is pinned or
//!   declared-unpinned when declared, transitive when a requirement reaches it, and
//!   unreached when nothing recorded does (conda installs `pip` under `python` outside
//!   `depends`, for example).
//! - **Attribution**: a package moved because every requirement on it admits more than one
//!   version. Its *movers* are the unpinned requirements that reach it directly (and its own
//!   declaration when that is not exact); one shortest path from a root shows the chain, e.g.
//!   `pandas==1.3.5 (exact) -> numpy>=1.17.3 (range)`.

use std::collections::{BTreeSet, HashMap, VecDeque};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::lockfile::{LockedPackage, LockedRequirement, ParsedRequirement, Snapshot};
use crate::model::pin::PinState;
use crate::model::{Ecosystem, PackageName};
use crate::python::MarkerEnv;

/// A requirement that holds between two installed packages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// As recorded (`numpy>=1.17.3; python_version < "3.11"`, `libblas >=3.9.0,<4.0a0`).
    pub text: String,
    /// How firmly it fixes the version of what it names (`libblas >=3.9.0,<4.0a0` is
    /// `range`); `unpinned` when it could not be read.
    pub pin: PinState,
}

/// A declared dependency that found its installed package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Root {
    /// The list it was declared in: `conda` or `pip`.
    pub ecosystem: Ecosystem,
    /// The declaration as written, e.g. `pandas==1.3.5`.
    pub spec: String,
    /// How firmly the declaration fixes the version.
    pub pin: PinState,
    /// The installed package it found: an index into the snapshot's `packages`.
    pub node: usize,
}

/// Why a package is installed, as `graph` and `drift` explain it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Declared with an exact version.
    Pinned,
    /// Declared, but the declaration admits other versions.
    DeclaredUnpinned,
    /// Installed because a requirement of another package reaches it.
    Transitive,
    /// Installed by the base image's layers.
    BaseImage,
    /// Nothing recorded requires it.
    Unreached,
}

impl Class {
    /// The kebab-case name used in JSON and table output (`declared-unpinned`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Pinned => "pinned",
            Class::DeclaredUnpinned => "declared-unpinned",
            Class::Transitive => "transitive",
            Class::BaseImage => "base-image",
            Class::Unreached => "unreached",
        }
    }
}

/// The dependency graph of one snapshot.
pub struct DepGraph<'s> {
    /// The snapshot the graph was built from.
    pub snapshot: &'s Snapshot,
    /// One node per installed package, weighted with its index into the snapshot's
    /// `packages`; an edge goes from a package to one it requires, with the requirement.
    pub graph: DiGraph<usize, Requirement>,
    nodes: Vec<NodeIndex>,
    /// The declared dependencies found installed in the target prefix, in declared order.
    pub roots: Vec<Root>,
    /// The prefix the declared dependencies were found in.
    pub target_prefix: Option<String>,
    /// Declared dependencies with no installed package.
    pub missing: Vec<String>,
}

type Lookup<'a> = HashMap<(Option<&'a str>, Ecosystem, &'a str), usize>;

impl<'s> DepGraph<'s> {
    /// Builds the graph of a snapshot.
    pub fn build(snapshot: &'s Snapshot) -> Self {
        let pkgs = &snapshot.packages;
        let mut graph = DiGraph::with_capacity(pkgs.len(), pkgs.len() * 4);
        let nodes: Vec<NodeIndex> = (0..pkgs.len()).map(|i| graph.add_node(i)).collect();
        // Name lookups within a prefix: pip names also find conda packages by the Python
        // distribution they installed (or, failing that, by the same name).
        let mut lookup: Lookup<'_> = HashMap::new();
        for (i, p) in pkgs.iter().enumerate() {
            lookup.insert((p.prefix.as_deref(), p.ecosystem, p.name.as_str()), i);
        }
        for (i, p) in pkgs.iter().enumerate() {
            if p.ecosystem == Ecosystem::Conda {
                let dist = p
                    .python_dist
                    .clone()
                    .unwrap_or_else(|| PackageName::pip(p.name.as_str()));
                let key_name: &str = pkgs[i]
                    .python_dist
                    .as_ref()
                    .map_or(p.name.as_str(), |d| d.as_str());
                let _ = dist;
                lookup
                    .entry((p.prefix.as_deref(), Ecosystem::Pip, key_name))
                    .or_insert(i);
            }
        }
        let find = |prefix: Option<&str>, eco: Ecosystem, name: &str| -> Option<usize> {
            let normal = match eco {
                Ecosystem::Pip => PackageName::pip(name),
                _ => PackageName::conda(name),
            };
            lookup.get(&(prefix, eco, normal.as_str())).copied()
        };
        let (roots, target_prefix, missing) = roots(snapshot, &find);
        // Extras requested of each Python package, to a fixed point from the roots.
        let envs: HashMap<Option<&str>, MarkerEnv> = snapshot
            .prefixes
            .iter()
            .map(|pr| {
                (
                    Some(pr.path.as_str()),
                    marker_env(snapshot, pr.python.as_deref()),
                )
            })
            .collect();
        let default_env = marker_env(snapshot, None);
        let mut extras: Vec<BTreeSet<String>> = vec![BTreeSet::new(); pkgs.len()];
        for r in &roots {
            if r.ecosystem == Ecosystem::Pip
                && let Ok(req) = crate::python::Requirement::parse_pep508(&r.spec)
            {
                extras[r.node].extend(
                    req.extras
                        .iter()
                        .map(|e| PackageName::pip(e).as_str().to_owned()),
                );
            }
        }
        let mut edges: BTreeSet<(usize, usize, usize)> = BTreeSet::new(); // (from, to, req index)
        let mut queue: VecDeque<usize> = (0..pkgs.len()).collect();
        let mut queued = vec![true; pkgs.len()];
        while let Some(i) = queue.pop_front() {
            queued[i] = false;
            let p = &pkgs[i];
            let env = envs.get(&p.prefix.as_deref()).unwrap_or(&default_env);
            let owned: Vec<String> = extras[i].iter().cloned().collect();
            let requested: Vec<&str> = owned.iter().map(String::as_str).collect();
            for (k, req) in p.requires.iter().enumerate() {
                let Some((name, eco, req_extras)) = requirement_target(p, req, env, &requested)
                else {
                    continue;
                };
                let Some(j) = find(p.prefix.as_deref(), eco, name) else {
                    continue;
                };
                if j == i {
                    continue;
                }
                edges.insert((i, j, k));
                let before = extras[j].len();
                extras[j].extend(req_extras);
                if extras[j].len() != before && !queued[j] {
                    queued[j] = true;
                    queue.push_back(j);
                }
            }
        }
        for (i, j, k) in edges {
            let req = &pkgs[i].requires[k];
            let requirement = Requirement {
                text: req.as_str().to_owned(),
                pin: requirement_pin(req.parsed(pkgs[i].ecosystem)),
            };
            graph.add_edge(nodes[i], nodes[j], requirement);
        }
        DepGraph {
            snapshot,
            graph,
            nodes,
            roots,
            target_prefix,
            missing,
        }
    }

    /// For each of the snapshot's `packages`, whether a declared dependency reaches it
    /// through recorded requirements (the definition's closure; the roots included).
    pub fn closure(&self) -> Vec<bool> {
        let mut seen = vec![false; self.snapshot.packages.len()];
        let mut stack: Vec<usize> = self.roots.iter().map(|r| r.node).collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            stack.extend(
                self.graph
                    .neighbors_directed(self.nodes[i], petgraph::Direction::Outgoing)
                    .map(|n| self.graph[n])
                    .filter(|&j| !seen[j]),
            );
        }
        seen
    }

    /// The installed package at index `i` of the snapshot's `packages`.
    pub fn package(&self, i: usize) -> &LockedPackage {
        &self.snapshot.packages[i]
    }

    /// The package index of `name` (pip or conda normal form) in the target prefix, else
    /// anywhere.
    pub fn find(&self, name: &str) -> Vec<usize> {
        let pip = PackageName::pip(name);
        let conda = PackageName::conda(name);
        let mut hits: Vec<usize> = self
            .snapshot
            .packages
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.name == pip || p.name == conda || p.python_dist.as_ref() == Some(&pip)
            })
            .map(|(i, _)| i)
            .collect();
        hits.sort_by_key(|&i| self.package(i).prefix != self.target_prefix);
        hits
    }

    /// Why package `i` is installed: the base image's layers first, then its declaration,
    /// else whether any recorded requirement reaches it.
    pub fn class(&self, i: usize) -> Class {
        let p = self.package(i);
        if p.base == Some(true) {
            return Class::BaseImage;
        }
        if let Some(r) = self.roots.iter().find(|r| r.node == i) {
            return if r.pin.is_pinned() {
                Class::Pinned
            } else {
                Class::DeclaredUnpinned
            };
        }
        if self
            .graph
            .edges_directed(self.nodes[i], petgraph::Direction::Incoming)
            .next()
            .is_some()
        {
            Class::Transitive
        } else {
            Class::Unreached
        }
    }

    /// The requirements on package `i` (from, requirement).
    pub fn incoming(&self, i: usize) -> Vec<(usize, &Requirement)> {
        let mut v: Vec<(usize, &Requirement)> = self
            .graph
            .edges_directed(self.nodes[i], petgraph::Direction::Incoming)
            .map(|e| (self.graph[e.source()], e.weight()))
            .collect();
        v.sort_by_key(|(from, _)| *from);
        v
    }

    /// The requirements package `i` has on others (to, requirement).
    pub fn outgoing(&self, i: usize) -> Vec<(usize, &Requirement)> {
        let mut v: Vec<(usize, &Requirement)> = self
            .graph
            .edges_directed(self.nodes[i], petgraph::Direction::Outgoing)
            .map(|e| (self.graph[e.target()], e.weight()))
            .collect();
        v.sort_by_key(|(to, _)| *to);
        v
    }

    /// One shortest path from a root to `target`: the root, then each hop's requirement.
    pub fn shortest_path(&self, target: usize) -> Option<Path> {
        let n = self.snapshot.packages.len();
        let mut prev: Vec<Option<(usize, Option<usize>)>> = vec![None; n];
        let mut queue = VecDeque::new();
        for (ri, r) in self.roots.iter().enumerate() {
            if prev[r.node].is_none() {
                prev[r.node] = Some((usize::MAX, Some(ri)));
                queue.push_back(r.node);
            }
        }
        while let Some(i) = queue.pop_front() {
            if i == target {
                break;
            }
            for (j, _) in self.outgoing(i) {
                if prev[j].is_none() {
                    prev[j] = Some((i, None));
                    queue.push_back(j);
                }
            }
        }
        prev[target]?;
        let mut hops = Vec::new();
        let mut cur = target;
        loop {
            match prev[cur]? {
                (usize::MAX, Some(ri)) => {
                    let r = &self.roots[ri];
                    hops.reverse();
                    return Some(Path {
                        root: Step {
                            package: self.package(r.node).name.to_string(),
                            requirement: r.spec.clone(),
                            pin: r.pin,
                        },
                        hops,
                    });
                }
                (from, _) => {
                    let req = self
                        .outgoing(from)
                        .into_iter()
                        .find(|(to, _)| *to == cur)
                        .map(|(_, r)| r.clone())?;
                    hops.push(Step {
                        package: self.package(cur).name.to_string(),
                        requirement: req.text,
                        pin: req.pin,
                    });
                    cur = from;
                }
            }
        }
    }

    /// Every path from a root to `target` (simple paths, at most `limit`).
    pub fn all_paths(&self, target: usize, limit: usize) -> Vec<Path> {
        let mut out = Vec::new();
        for r in &self.roots {
            let mut stack = vec![(r.node, Vec::<Step>::new())];
            while let Some((i, hops)) = stack.pop() {
                if out.len() >= limit {
                    return out;
                }
                if i == target {
                    out.push(Path {
                        root: Step {
                            package: self.package(r.node).name.to_string(),
                            requirement: r.spec.clone(),
                            pin: r.pin,
                        },
                        hops: hops.clone(),
                    });
                    continue;
                }
                for (j, req) in self.outgoing(i) {
                    let name = self.package(j).name.to_string();
                    if j == r.node || hops.iter().any(|h| h.package == name) {
                        continue;
                    }
                    let mut next = hops.clone();
                    next.push(Step {
                        package: name,
                        requirement: req.text.clone(),
                        pin: req.pin,
                    });
                    stack.push((j, next));
                }
            }
        }
        out
    }
}

/// One step of a path: the package reached and the requirement (or declaration) that did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The package reached, by its normalised name, e.g. `numpy`.
    pub package: String,
    /// The recorded requirement that reaches it (`numpy>=1.17.3`), or for a root the
    /// declaration as written.
    pub requirement: String,
    /// How firmly that requirement or declaration fixes the version.
    pub pin: PinState,
}

/// A path from a declared root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Path {
    /// The declared dependency the path starts at.
    pub root: Step,
    /// The packages reached after the root, in order; empty when the root is the target.
    pub hops: Vec<Step>,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.root.requirement, self.root.pin)?;
        for h in &self.hops {
            write!(f, " -> {} ({})", strip_marker(&h.requirement), h.pin)?;
        }
        Ok(())
    }
}

fn strip_marker(text: &str) -> &str {
    text.split(';').next().unwrap_or(text).trim()
}

/// Finds a package by prefix, ecosystem and name.
type FindFn<'a> = dyn Fn(Option<&str>, Ecosystem, &str) -> Option<usize> + 'a;

/// The declared dependencies, found in the prefix that holds most of them.
fn roots(snapshot: &Snapshot, find: &FindFn<'_>) -> (Vec<Root>, Option<String>, Vec<String>) {
    let mut prefixes: Vec<Option<&str>> = snapshot
        .packages
        .iter()
        .map(|p| p.prefix.as_deref())
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let found_in = |prefix: Option<&str>| {
        snapshot
            .declared
            .iter()
            .filter(|d| {
                d.name
                    .as_ref()
                    .is_some_and(|n| find(prefix, d.ecosystem, n.as_str()).is_some())
            })
            .count()
    };
    // Most declared found; ties go to a prefix not from the base image.
    let target = prefixes.iter().copied().max_by_key(|pr| {
        let not_base = snapshot
            .packages
            .iter()
            .any(|p| p.prefix.as_deref() == *pr && p.base != Some(true));
        (found_in(*pr), not_base)
    });
    let target = target.flatten();
    let mut roots = Vec::new();
    let mut missing = Vec::new();
    for d in &snapshot.declared {
        let Some(name) = &d.name else {
            continue;
        };
        match find(target, d.ecosystem, name.as_str()) {
            Some(node) => roots.push(Root {
                ecosystem: d.ecosystem,
                spec: d.spec.clone(),
                pin: d.pin,
                node,
            }),
            None => missing.push(d.spec.clone()),
        }
    }
    (roots, target.map(str::to_owned), missing)
}

/// The marker environment of a prefix: its Python and the image platform.
fn marker_env(snapshot: &Snapshot, python: Option<&str>) -> MarkerEnv {
    let machine = match snapshot
        .image_platform
        .as_deref()
        .and_then(|p| p.split('/').nth(1))
    {
        Some("arm64") => "aarch64",
        Some("ppc64le") => "ppc64le",
        Some("s390x") => "s390x",
        _ => "x86_64",
    };
    let python = python
        .or_else(|| snapshot.prefixes.iter().find_map(|p| p.python.as_deref()))
        .unwrap_or("3.10.0");
    MarkerEnv::linux(python, machine)
}

/// The package a requirement names, its ecosystem and the extras it requests; `None` when
/// its marker is false here or it was not read.
fn requirement_target<'r>(
    p: &LockedPackage,
    req: &'r LockedRequirement,
    env: &MarkerEnv,
    extras: &[&str],
) -> Option<(&'r str, Ecosystem, Vec<String>)> {
    match req.parsed(p.ecosystem) {
        ParsedRequirement::Pip(r) => {
            if let Some(m) = &r.marker
                && !m.evaluate(env, extras).unwrap_or(false)
            {
                return None;
            }
            let name = r.name.as_ref()?;
            Some((
                name.as_str(),
                Ecosystem::Pip,
                r.extras
                    .iter()
                    .map(|e| PackageName::pip(e).as_str().to_owned())
                    .collect(),
            ))
        }
        ParsedRequirement::Conda(spec) => {
            let name = spec.name.as_ref()?;
            if name.as_str().starts_with("__") {
                return None; // virtual packages (`__glibc`)
            }
            Some((name.as_str(), Ecosystem::Conda, Vec::new()))
        }
        ParsedRequirement::Unread => None,
    }
}

/// How firmly a requirement fixes what it names.
fn requirement_pin(req: &ParsedRequirement) -> PinState {
    match req {
        ParsedRequirement::Pip(r) => r.pin().state,
        ParsedRequirement::Conda(m) => m.pin().state,
        ParsedRequirement::Unread => PinState::Unpinned,
    }
}
