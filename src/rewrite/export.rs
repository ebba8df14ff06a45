//! The full transitive lock of a snapshot, in the formats the installers read: a conda
//! `@EXPLICIT` file (every conda package of a prefix by URL and checksum, in dependency
//! order) and a pip requirements file (every pip package `==` its version, with `--hash`
//! lines when every package's archive hash is known: pip's hash-checking mode needs all or
//! none).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use serde::Serialize;

use crate::analysis::graph::DepGraph;
use crate::lockfile::{LockedPackage, Snapshot};
use crate::model::{Ecosystem, PackageName};

/// An exported lock and what it could not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Export {
    /// The exported file's content, ready to write: a conda `@EXPLICIT` list or a pip
    /// requirements file.
    pub text: String,
    /// The prefix exported.
    pub prefix: Option<String>,
    /// Packages written.
    pub packages: usize,
    /// Packages of the prefix left out, with why (e.g. a conda package without a URL).
    pub left_out: Vec<String>,
    /// Remarks for the user about what the file does not say (hashes left out, packages that
    /// belong in the other export).
    pub notes: Vec<String>,
}

/// The prefix to export: the one asked for, else the one the declared dependencies were
/// found in, else the only prefix with packages of `ecosystem`.
pub fn prefix_for(
    snapshot: &Snapshot,
    ecosystem: Ecosystem,
    asked: Option<&str>,
) -> Option<String> {
    if let Some(p) = asked {
        return Some(p.to_owned());
    }
    let prefixes: BTreeSet<&str> = snapshot
        .packages
        .iter()
        .filter(|p| p.ecosystem == ecosystem)
        .filter_map(|p| p.prefix.as_deref())
        .collect();
    let target = DepGraph::build(snapshot).target_prefix;
    match target {
        Some(t) if prefixes.contains(t.as_str()) => Some(t),
        _ if prefixes.len() == 1 => prefixes.into_iter().next().map(str::to_owned),
        _ => None,
    }
}

fn header(out: &mut String, environment: &str, snapshot: &Snapshot, prefix: Option<&str>) {
    let _ = writeln!(
        out,
        "# envaudit export of environment `{environment}`, snapshot {}",
        snapshot.id
    );
    let _ = writeln!(out, "# definition hash: {}", snapshot.definition_hash);
    if let Some(i) = &snapshot.image_manifest {
        let _ = writeln!(
            out,
            "# image: {} ({i})",
            snapshot.image.as_deref().unwrap_or("?")
        );
    }
    if let Some(p) = prefix {
        let _ = writeln!(out, "# prefix: {p}");
    }
}

/// A conda `@EXPLICIT` file of the conda packages of `prefix`.
pub fn conda_explicit(environment: &str, snapshot: &Snapshot, prefix: Option<&str>) -> Export {
    let pkgs: Vec<&LockedPackage> = snapshot
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Conda)
        .filter(|p| prefix.is_none() || p.prefix.as_deref() == prefix)
        .collect();
    let mut text = String::new();
    header(&mut text, environment, snapshot, prefix);
    let platform = snapshot
        .prefixes
        .iter()
        .find(|p| Some(p.path.as_str()) == prefix)
        .and_then(|p| p.platform.clone())
        .or_else(|| {
            pkgs.iter()
                .find_map(|p| p.conda_subdir())
                .filter(|s| *s != "noarch")
                .map(str::to_owned)
        });
    if let Some(p) = &platform {
        let _ = writeln!(text, "# platform: {p}");
    }
    text.push_str("# create with: conda create --name NAME --file THIS_FILE\n@EXPLICIT\n");
    let mut left_out = Vec::new();
    let mut written = 0;
    for p in dependency_order(&pkgs) {
        let id = format!(
            "{}-{}-{}",
            p.name,
            p.version,
            p.build.as_deref().unwrap_or("?")
        );
        let Some(url) = &p.url else {
            left_out.push(format!("{id}: no download URL recorded"));
            continue;
        };
        let checksum = match (&p.md5, &p.sha256) {
            (Some(m), _) => format!("#{m}"),
            (None, Some(s)) => format!("#sha256:{s}"),
            (None, None) => {
                left_out.push(format!("{id}: no checksum recorded"));
                continue;
            }
        };
        let _ = writeln!(text, "{url}{checksum}");
        written += 1;
    }
    let mut notes = Vec::new();
    let pip = snapshot
        .packages
        .iter()
        .filter(|p| {
            p.ecosystem == Ecosystem::Pip && (prefix.is_none() || p.prefix.as_deref() == prefix)
        })
        .count();
    if pip > 0 {
        notes.push(format!(
            "{pip} pip package(s) of this prefix are not in a conda file: `envaudit export --format requirements` writes them"
        ));
    }
    Export {
        text,
        prefix: prefix.map(str::to_owned),
        packages: written,
        left_out,
        notes,
    }
}

/// Packages in an order where each comes after what it depends on (within the list), ties
/// by name; dependency cycles are broken by name.
fn dependency_order<'p>(pkgs: &[&'p LockedPackage]) -> Vec<&'p LockedPackage> {
    let index: HashMap<&str, usize> = pkgs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let deps: Vec<BTreeSet<usize>> = pkgs
        .iter()
        .map(|p| {
            p.requires
                .iter()
                .filter_map(|r| {
                    let name = r.as_str().split([' ', '=', '<', '>', '!', '[']).next()?;
                    index.get(name).copied()
                })
                .filter(|&d| pkgs[d].name != p.name)
                .collect()
        })
        .collect();
    let mut done = vec![false; pkgs.len()];
    let mut order = Vec::with_capacity(pkgs.len());
    let mut by_name: Vec<usize> = (0..pkgs.len()).collect();
    by_name.sort_by(|&a, &b| pkgs[a].name.cmp(&pkgs[b].name));
    while order.len() < pkgs.len() {
        let ready = by_name
            .iter()
            .copied()
            .find(|&i| !done[i] && deps[i].iter().all(|&d| done[d]))
            .or_else(|| by_name.iter().copied().find(|&i| !done[i]));
        let Some(i) = ready else { break };
        done[i] = true;
        order.push(pkgs[i]);
    }
    order
}

/// A pip requirements file of the pip packages of `prefix`.
pub fn requirements(environment: &str, snapshot: &Snapshot, prefix: Option<&str>) -> Export {
    let mut pkgs: BTreeMap<&PackageName, &LockedPackage> = BTreeMap::new();
    for p in snapshot
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Pip)
        .filter(|p| prefix.is_none() || p.prefix.as_deref() == prefix)
    {
        pkgs.entry(&p.name).or_insert(p);
    }
    let mut text = String::new();
    header(&mut text, environment, snapshot, prefix);
    if let Some(py) = snapshot
        .prefixes
        .iter()
        .find(|p| Some(p.path.as_str()) == prefix)
        .and_then(|p| p.python.as_deref())
    {
        let _ = writeln!(text, "# python: {py}");
    }
    let hashed = pkgs.values().filter(|p| p.sha256.is_some()).count();
    let all_hashed = !pkgs.is_empty() && hashed == pkgs.len();
    let mut notes = Vec::new();
    if !all_hashed && hashed > 0 {
        notes.push(format!(
            "{hashed} of {} packages have a recorded archive hash; pip checks hashes for all requirements or none, so none are written",
            pkgs.len()
        ));
    } else if !all_hashed {
        notes.push(
            "no archive hashes are recorded for these packages (an image keeps only what was installed); the versions are pinned".to_owned(),
        );
    }
    let conda_dists = snapshot
        .packages
        .iter()
        .filter(|p| {
            p.ecosystem == Ecosystem::Conda
                && p.python_dist.is_some()
                && (prefix.is_none() || p.prefix.as_deref() == prefix)
        })
        .count();
    if conda_dists > 0 {
        notes.push(format!(
            "{conda_dists} Python distribution(s) of this prefix were installed by conda and are in the conda export, not here"
        ));
    }
    for p in pkgs.values() {
        let _ = write!(text, "{}=={}", p.name, p.version);
        if all_hashed && let Some(h) = &p.sha256 {
            let _ = write!(text, " \\\n    --hash=sha256:{h}");
        }
        text.push('\n');
    }
    Export {
        text,
        prefix: prefix.map(str::to_owned),
        packages: pkgs.len(),
        left_out: Vec::new(),
        notes,
    }
}
