//! Installed packages, read from a filesystem view (image layers or a local folder).
//!
//! Each cataloger is a function `fn(&FsView) -> CatalogResult` in the static
//! [`CATALOGERS`] table; [`catalog_view`] runs them all, links a Python distribution to
//! the conda package that installed it (so it is reported once), and says whether the
//! result is complete. [`catalog_folder`] and [`catalog_layers`] are the entry points.

mod apk;
pub mod apk_version;
mod conda;
pub mod deb_version;
mod dpkg;
mod os_release;
mod python;
pub mod rfc822;
mod scan;

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::layer::Completeness;
use crate::layer::{self, FsView, LayerFacts, Limits, ViewFinding, ViewOrigin};
use crate::model::{Digest, Ecosystem, PackageName};
pub use os_release::Distro;
pub use scan::{NoProgress, Progress, ScanOptions, ScanStats, base_layer_count, scan_image};

pub use apk::{ApkEntry, ApkError, parse_installed as parse_apk_installed};
pub use conda::{
    CondaHistory, CondaRecord, parse_history as parse_conda_history,
    parse_record as parse_conda_record,
};
pub use dpkg::{
    DpkgEntry, copyright_licenses as parse_copyright_licenses, parse_status as parse_dpkg_status,
};
pub use python::{
    CoreMetadata, parse_direct_url, parse_metadata as parse_python_metadata,
    requires_txt as parse_requires_txt,
};

/// One installed package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstalledPackage {
    pub ecosystem: Ecosystem,
    pub name: PackageName,
    /// The name as the package's own metadata writes it.
    pub display_name: String,
    pub version: String,
    pub location: Location,
    /// The environment prefix the package belongs to (`/opt/miniconda`,
    /// `/azureml-envs/azureml_<hash>`, a venv root, `/` for the system), when known.
    pub environment: Option<String>,
    pub licenses: Vec<String>,
    pub summary: Option<String>,
    /// Requirements as written: Requires-Dist (with markers and extras), conda `depends`,
    /// dpkg `Depends`/`Pre-Depends`, apk `D:`.
    pub requires: Vec<String>,
    pub details: Details,
    /// For a conda package that installed a Python distribution: that distribution's own
    /// record (reported here, not a second time on its own).
    pub linked: Option<Box<InstalledPackage>>,
}

/// Where a package's metadata was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The metadata file or directory: a path in the image, or on the host for a folder.
    pub path: String,
    /// The layer that last wrote it (image sources only).
    pub layer: Option<LayerRef>,
}

/// A layer of an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerRef {
    pub index: usize,
    pub digest: Option<Digest>,
    /// Whether the layer came with the base image, when the base image is known.
    pub from_base: Option<bool>,
}

/// What one ecosystem's metadata says beyond the common fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Details {
    Python(PythonDetails),
    Conda(CondaDetails),
    Deb(DebDetails),
    Apk(ApkDetails),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PythonDetails {
    /// `dist-info`, `egg-info` (a directory) or `egg-info-file`.
    pub format: &'static str,
    pub metadata_version: Option<String>,
    pub requires_python: Option<String>,
    pub provides_extra: Vec<String>,
    pub classifiers: Vec<String>,
    /// `INSTALLER` (`pip`, `uv`, `conda`, ...).
    pub installer: Option<String>,
    pub direct_url: Option<DirectUrl>,
    /// Whether a `RECORD` (or `installed-files.txt`) lists the installed files.
    pub has_record: bool,
    /// `sha256:HEX` of the `RECORD` file, which lists the SHA-256 of every installed file:
    /// a digest of what was installed.
    pub record_sha256: Option<String>,
    /// Whether `REQUESTED` says the user asked for this distribution.
    pub requested: bool,
}

/// PEP 610 `direct_url.json`: how a distribution was installed from a URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectUrl {
    pub url: String,
    pub kind: DirectUrlKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum DirectUrlKind {
    Archive {
        hash: Option<String>,
    },
    Vcs {
        vcs: String,
        commit_id: Option<String>,
        requested_revision: Option<String>,
    },
    Dir {
        editable: bool,
    },
    Unknown,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CondaDetails {
    pub build: Option<String>,
    pub build_number: Option<u64>,
    pub channel: Option<String>,
    pub subdir: Option<String>,
    pub constrains: Vec<String>,
    pub md5: Option<String>,
    pub sha256: Option<String>,
    /// Where the package archive was downloaded from.
    pub url: Option<String>,
    /// `requested_spec` of the record, or the last spec `conda-meta/history` recorded.
    pub requested_spec: Option<String>,
    /// The Python metadata directory this package installed, relative to the prefix.
    pub python_metadata: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DebDetails {
    pub architecture: Option<String>,
    pub source: Option<String>,
    pub status: Option<String>,
    /// `sha256:HEX` of `/var/lib/dpkg/info/PKG.md5sums` (the MD5 of every installed file).
    pub md5sums_sha256: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApkDetails {
    pub architecture: Option<String>,
    pub origin: Option<String>,
    pub checksum: Option<String>,
}

/// Something a cataloger could not read or understand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogFinding {
    pub cataloger: &'static str,
    pub path: String,
    pub message: String,
}

/// What one cataloger found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogResult {
    pub packages: Vec<InstalledPackage>,
    pub completeness: Completeness,
    pub findings: Vec<CatalogFinding>,
}

impl CatalogResult {
    fn new() -> Self {
        CatalogResult {
            packages: Vec::new(),
            completeness: Completeness::NotApplicable,
            findings: Vec::new(),
        }
    }

    /// Notes a file that could not be read completely: the result becomes partial.
    fn partial(&mut self, cataloger: &'static str, path: &str, message: String) {
        let reason = format!("`{path}`: {message}");
        let c = std::mem::replace(&mut self.completeness, Completeness::Complete);
        self.completeness = c.and(Completeness::Partial(reason));
        self.findings.push(CatalogFinding {
            cataloger,
            path: path.to_owned(),
            message,
        });
    }

    /// Notes that a file of this cataloger's kind was seen.
    fn applies(&mut self) {
        if self.completeness == Completeness::NotApplicable {
            self.completeness = Completeness::Complete;
        }
    }
}

/// A cataloger: a name, the ecosystem it reports and the function that reads a view.
pub struct Cataloger {
    pub name: &'static str,
    pub ecosystem: Ecosystem,
    pub run: fn(&FsView) -> CatalogResult,
}

/// Every cataloger, in the order they run.
pub static CATALOGERS: &[Cataloger] = &[
    Cataloger {
        name: "python-dist-info",
        ecosystem: Ecosystem::Pip,
        run: python::dist_info,
    },
    Cataloger {
        name: "python-egg-info",
        ecosystem: Ecosystem::Pip,
        run: python::egg_info,
    },
    Cataloger {
        name: "conda-meta",
        ecosystem: Ecosystem::Conda,
        run: conda::conda_meta,
    },
    Cataloger {
        name: "dpkg",
        ecosystem: Ecosystem::Deb,
        run: dpkg::dpkg,
    },
    Cataloger {
        name: "apk",
        ecosystem: Ecosystem::Apk,
        run: apk::apk,
    },
];

/// One cataloger's run, summarised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogerRun {
    pub name: &'static str,
    pub completeness: Completeness,
    pub packages: usize,
}

/// An environment prefix packages belong to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Environment {
    pub prefix: String,
    pub kind: EnvironmentKind,
    /// The Python version a venv's `pyvenv.cfg` names.
    pub python_version: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvironmentKind {
    /// A prefix with `conda-meta/`.
    Conda,
    /// A prefix with `pyvenv.cfg`.
    Venv,
    /// The system: `/`, `/usr`, `/usr/local`.
    System,
    /// Anything else, such as a bare site-packages directory.
    Other,
}

impl EnvironmentKind {
    /// The name, as serde writes it (`conda`, `venv`, `system`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentKind::Conda => "conda",
            EnvironmentKind::Venv => "venv",
            EnvironmentKind::System => "system",
            EnvironmentKind::Other => "other",
        }
    }
}

fn environments(view: &FsView, packages: &[InstalledPackage]) -> Vec<Environment> {
    let prefixes: std::collections::BTreeSet<&str> = packages
        .iter()
        .flat_map(|p| {
            std::iter::once(p)
                .chain(p.linked.as_deref())
                .filter_map(|p| p.environment.as_deref())
        })
        .collect();
    prefixes
        .into_iter()
        .map(|prefix| {
            let join = |rel: &str| {
                if prefix == "/" {
                    format!("/{rel}")
                } else {
                    format!("{prefix}/{rel}")
                }
            };
            let venv = view.read(&join("pyvenv.cfg"));
            let kind = if view.under(&join("conda-meta")).next().is_some() {
                EnvironmentKind::Conda
            } else if venv.is_some() {
                EnvironmentKind::Venv
            } else if matches!(prefix, "/" | "/usr" | "/usr/local") {
                EnvironmentKind::System
            } else {
                EnvironmentKind::Other
            };
            let python_version = venv
                .and_then(|cfg| {
                    text(cfg).lines().find_map(|l| {
                        let (k, v) = l.split_once('=')?;
                        matches!(k.trim(), "version" | "version_info").then(|| v.trim().to_owned())
                    })
                })
                .or_else(|| {
                    // A conda prefix: its `python` package.
                    packages
                        .iter()
                        .find(|p| {
                            p.ecosystem == Ecosystem::Conda
                                && p.name.as_str() == "python"
                                && p.environment.as_deref() == Some(prefix)
                        })
                        .map(|p| p.version.clone())
                });
            Environment {
                prefix: prefix.to_owned(),
                kind,
                python_version,
            }
        })
        .collect()
}

/// Everything installed in one filesystem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Catalog {
    pub distro: Option<Distro>,
    /// The environment prefixes packages were found in.
    pub environments: Vec<Environment>,
    pub packages: Vec<InstalledPackage>,
    /// Partial when a layer or folder was not read completely, or any cataloger was partial.
    pub completeness: Completeness,
    pub catalogers: Vec<CatalogerRun>,
    pub findings: Vec<CatalogFinding>,
    /// What reading the layers or folder noted (limits, malformed archives, odd names).
    pub filesystem_findings: Vec<ViewFinding>,
}

impl Catalog {
    /// The Python distributions an interpreter would see: name and version of every
    /// `pip` package and every Python distribution linked to a conda package.
    pub fn python_distributions(&self) -> Vec<(&PackageName, &str)> {
        let mut out: Vec<(&PackageName, &str)> = Vec::new();
        for p in &self.packages {
            if p.ecosystem == Ecosystem::Pip {
                out.push((&p.name, &p.version));
            } else if let Some(l) = &p.linked {
                out.push((&l.name, &l.version));
            }
        }
        out.sort();
        out
    }

    /// Packages of one ecosystem.
    pub fn of(&self, ecosystem: Ecosystem) -> impl Iterator<Item = &InstalledPackage> {
        self.packages
            .iter()
            .filter(move |p| p.ecosystem == ecosystem)
    }
}

/// Runs every cataloger on a view.
pub fn catalog_view(view: &FsView) -> Catalog {
    let mut packages = Vec::new();
    let mut runs = Vec::new();
    let mut findings = Vec::new();
    let mut completeness = view.completeness.clone();
    for c in CATALOGERS {
        let result = (c.run)(view);
        runs.push(CatalogerRun {
            name: c.name,
            completeness: result.completeness.clone(),
            packages: result.packages.len(),
        });
        if result.completeness.is_partial() {
            completeness = completeness.and(result.completeness);
        }
        packages.extend(result.packages);
        findings.extend(result.findings);
    }
    if completeness == Completeness::NotApplicable
        && runs
            .iter()
            .any(|r| r.completeness != Completeness::NotApplicable)
    {
        completeness = Completeness::Complete;
    }
    findings.extend(python::duplicates(&packages));
    let history = conda::histories(view);
    conda::apply_history(&mut packages, &history);
    let mut packages = conda::link_python(packages);
    let mut envs = environments(view, &packages);
    if let ViewOrigin::Folder(root) = &view.origin {
        for p in &mut packages {
            to_host(root, p);
        }
        for e in &mut envs {
            e.prefix = host_path(root, &e.prefix);
        }
    }
    packages.sort_by(|a, b| {
        (
            a.ecosystem,
            &a.environment,
            &a.name,
            &a.version,
            &a.location.path,
        )
            .cmp(&(
                b.ecosystem,
                &b.environment,
                &b.name,
                &b.version,
                &b.location.path,
            ))
    });
    Catalog {
        distro: os_release::distro(view),
        environments: envs,
        packages,
        completeness,
        catalogers: runs,
        findings,
        filesystem_findings: view.findings.clone(),
    }
}

fn host_path(root: &Path, view_path: &str) -> String {
    if view_path == "/" {
        return root.display().to_string();
    }
    root.join(view_path.trim_start_matches('/'))
        .display()
        .to_string()
}

fn to_host(root: &Path, p: &mut InstalledPackage) {
    p.location.path = host_path(root, &p.location.path);
    if let Some(env) = &p.environment {
        p.environment = Some(host_path(root, env));
    }
    if let Some(l) = &mut p.linked {
        to_host(root, l);
    }
}

/// Catalogs a local folder: a conda prefix, a venv, a bare site-packages or an unpacked
/// root filesystem. Paths in the result are host paths.
pub fn catalog_folder(path: &Path) -> Catalog {
    catalog_folder_with(path, &Limits::default())
}

pub fn catalog_folder_with(path: &Path, limits: &Limits) -> Catalog {
    catalog_view(&layer::folder::load(path, limits))
}

/// Walks layers (tar streams, bottom first; gzip, zstd or uncompressed), in parallel
/// across the available cores.
pub fn walk_layers<R: Read + Send>(readers: Vec<R>, limits: &Limits) -> Vec<LayerFacts> {
    walk_layers_with(readers, limits, |_, _| {})
}

/// [`walk_layers`], calling `done` with each layer's index and facts as soon as it is walked
/// (from the walking thread).
pub fn walk_layers_with<R: Read + Send>(
    readers: Vec<R>,
    limits: &Limits,
    done: impl Fn(usize, &LayerFacts) + Sync,
) -> Vec<LayerFacts> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut slots: Vec<Option<LayerFacts>> = vec![None; readers.len()];
    let mut work: Vec<(usize, R)> = readers.into_iter().enumerate().collect();
    work.reverse();
    let queue = std::sync::Mutex::new(work);
    let results = std::sync::Mutex::new(&mut slots);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| q.pop()).unwrap_or(None);
                    let Some((i, reader)) = next else { break };
                    let facts = layer::walk(reader, limits);
                    done(i, &facts);
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(facts);
                    }
                }
            });
        }
    });
    slots.into_iter().map(Option::unwrap_or_default).collect()
}

/// Catalogs an image from its layer streams, bottom first.
pub fn catalog_layers<R: Read + Send>(readers: Vec<R>) -> Catalog {
    catalog_layers_with(readers, &Limits::default())
}

pub fn catalog_layers_with<R: Read + Send>(readers: Vec<R>, limits: &Limits) -> Catalog {
    let facts = walk_layers(readers, limits);
    catalog_view(&layer::merge(&facts))
}

/// Where a file of the view was found.
fn location(view: &FsView, path: &str) -> Location {
    let layer = view.node(path).and_then(|n| n.layer).map(|index| {
        let info = view.layer(index);
        LayerRef {
            index,
            digest: info.and_then(|i| i.digest.clone()),
            from_base: info.and_then(|i| i.from_base),
        }
    });
    Location {
        path: path.to_owned(),
        layer,
    }
}

/// Text of a file, lossily decoded.
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}
