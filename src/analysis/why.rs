//! `envaudit why PKG`: why a package is installed, as every path from the declared
//! dependencies to it and the requirements other packages place on it.

use serde::Serialize;

use super::graph::{Class, DepGraph};
use crate::lockfile::Snapshot;

/// Most paths listed: a package deep in a large environment can be reached many ways.
pub const MAX_PATHS: usize = 50;

/// Every path from the declared roots to a package, and what requires it.
#[derive(Clone, Debug, Serialize)]
pub struct WhyReport {
    /// The version of this JSON shape.
    pub schema_version: u32,
    /// The environment's name in the lockfile.
    pub environment: String,
    /// The package, by its normalised name.
    pub package: String,
    /// Its installed version.
    pub version: String,
    /// The environment prefix it is installed in, when there are several.
    pub prefix: Option<String>,
    /// Declared, transitive or from the base image.
    pub class: Class,
    /// Up to [`MAX_PATHS`] paths from a declared dependency, each `a 1.0 → b 2.0 → pkg 3.0`.
    pub paths: Vec<String>,
    /// `(package and version, requirement text)` for every package that requires it.
    pub required_by: Vec<(String, String)>,
}

/// Why `package` is installed in `snapshot` (the environment `environment`); `None` when
/// it is not installed there.
pub fn why(environment: &str, snapshot: &Snapshot, package: &str) -> Option<WhyReport> {
    let g = DepGraph::build(snapshot);
    let &i = g.find(package).first()?;
    let p = g.package(i);
    Some(WhyReport {
        schema_version: 1,
        environment: environment.to_owned(),
        package: p.name.to_string(),
        version: p.version.clone(),
        prefix: p.prefix.clone(),
        class: g.class(i),
        paths: g
            .all_paths(i, MAX_PATHS)
            .iter()
            .map(ToString::to_string)
            .collect(),
        required_by: g
            .incoming(i)
            .into_iter()
            .map(|(from, r)| {
                let f = g.package(from);
                (format!("{} {}", f.name, f.version), r.text.clone())
            })
            .collect(),
    })
}
