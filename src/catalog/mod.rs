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
mod own;
mod python;
pub mod rfc822;
mod scan;

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::layer::Completeness;
use crate::layer::{self, FsView, LayerFacts, Limits, ViewFinding, ViewOrigin};
use crate::model::{Digest, DigestAlgorithm, Ecosystem, PackageName};
pub use os_release::Distro;
pub use own::own_installation;
pub use scan::{
    DiffIdCheck, DiffIdMismatch, NoProgress, Progress, ScanOptions, ScanStats, base_layer_count,
    scan_image, view_image,
};

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
    /// Which package manager's metadata it was found in.
    pub ecosystem: Ecosystem,
    /// The name, normalised for its ecosystem, as packages are compared.
    pub name: PackageName,
    /// The name as the package's own metadata writes it.
    pub display_name: String,
    /// The version as the metadata writes it, in the ecosystem's own syntax; empty when the
    /// metadata has none.
    pub version: String,
    /// Where its metadata was found.
    pub location: Location,
    /// The environment prefix the package belongs to (`/opt/miniconda`,
    /// `/azureml-envs/azureml_<hash>`, a venv root, `/` for the system), when known.
    pub environment: Option<String>,
    /// Licenses as the metadata states them (SPDX expressions, names or classifiers), without
    /// duplicates; empty when none is stated.
    pub licenses: Vec<String>,
    /// The one-line description, when the metadata has one.
    pub summary: Option<String>,
    /// Requirements as written: Requires-Dist (with markers and extras), conda `depends`,
    /// dpkg `Depends`/`Pre-Depends`, apk `D:`.
    pub requires: Vec<String>,
    /// What the ecosystem's metadata says beyond these fields.
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
    /// Position in the image's layer list, 0 for the bottom layer.
    pub index: usize,
    /// The layer's blob digest, as the manifest lists it; `None` for layer streams given
    /// without one.
    pub digest: Option<Digest>,
    /// Whether the layer came with the base image, when the base image is known.
    pub from_base: Option<bool>,
}

/// What one ecosystem's metadata says beyond the common fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Details {
    /// A Python distribution (`pip` ecosystem).
    Python(PythonDetails),
    /// A conda package.
    Conda(CondaDetails),
    /// A Debian package.
    Deb(DebDetails),
    /// An Alpine package.
    Apk(ApkDetails),
}

/// What a Python distribution's metadata directory says beyond the common fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PythonDetails {
    /// `dist-info`, `egg-info` (a directory) or `egg-info-file`.
    pub format: &'static str,
    /// `Metadata-Version` of the core metadata (`2.1`).
    pub metadata_version: Option<String>,
    /// `Requires-Python`, the PEP 440 specifier of interpreters it supports, as written.
    pub requires_python: Option<String>,
    /// `Provides-Extra`: the extras it defines.
    pub provides_extra: Vec<String>,
    /// Every `Classifier`, in order.
    pub classifiers: Vec<String>,
    /// `INSTALLER` (`pip`, `uv`, `conda`, ...).
    pub installer: Option<String>,
    /// `direct_url.json`: present when it was installed from a URL, a VCS or a local directory
    /// rather than from an index; `None` also when that file is malformed.
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
    /// `url`: the URL it was installed from (`file://` for local paths).
    pub url: String,
    /// What the URL points at.
    pub kind: DirectUrlKind,
}

/// The kind of a PEP 610 direct URL, from which of its `*_info` keys is present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum DirectUrlKind {
    /// `archive_info`: a wheel or source archive.
    Archive {
        /// The archive's hash as `ALG=HEX`: `hash`, else the first of `hashes` by
        /// algorithm name.
        hash: Option<String>,
    },
    /// `vcs_info`: a version-control checkout.
    Vcs {
        /// The VCS name: `git`, `hg`, `bzr` or `svn`.
        vcs: String,
        /// The exact commit that was installed.
        commit_id: Option<String>,
        /// The branch, tag or revision the user asked for, when one was.
        requested_revision: Option<String>,
    },
    /// `dir_info`: a local directory.
    Dir {
        /// Whether it was installed in editable (development) mode.
        editable: bool,
    },
    /// None of the three keys: a file this version of PEP 610 does not describe.
    Unknown,
}

/// What a `conda-meta/*.json` record says beyond the common fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CondaDetails {
    /// The build string (`py310h1234567_0`).
    pub build: Option<String>,
    /// The build number, which orders builds of one version.
    pub build_number: Option<u64>,
    /// The channel it came from, as conda recorded it (a name or a URL).
    pub channel: Option<String>,
    /// The channel's platform subdirectory (`linux-64`, `noarch`).
    pub subdir: Option<String>,
    /// Constraints on other packages (MatchSpecs as written), applied only if those are
    /// installed.
    pub constrains: Vec<String>,
    /// The MD5 of the package archive, in hex.
    pub md5: Option<String>,
    /// The SHA-256 of the package archive, in hex (older records have none).
    pub sha256: Option<String>,
    /// Where the package archive was downloaded from.
    pub url: Option<String>,
    /// `requested_spec` of the record, or the last spec `conda-meta/history` recorded.
    pub requested_spec: Option<String>,
    /// The Python metadata directory this package installed, relative to the prefix.
    pub python_metadata: Option<String>,
}

/// What a dpkg status paragraph says beyond the common fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DebDetails {
    /// `Architecture` (`amd64`, `all`).
    pub architecture: Option<String>,
    /// `Source`, the source package it was built from, when not named like the package.
    pub source: Option<String>,
    /// `Status` (`install ok installed`); `None` when the paragraph has none, as in
    /// distroless `status.d` files.
    pub status: Option<String>,
    /// `sha256:HEX` of `/var/lib/dpkg/info/PKG.md5sums` (the MD5 of every installed file).
    pub md5sums_sha256: Option<String>,
}

/// What an apk database paragraph says beyond the common fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApkDetails {
    /// `A:`, the architecture (`x86_64`).
    pub architecture: Option<String>,
    /// `o:`, the source package it was built from.
    pub origin: Option<String>,
    /// `C:`, apk's checksum of the package's control data (`Q1` and base64 SHA-1).
    pub checksum: Option<String>,
}

/// Something a cataloger could not read or understand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogFinding {
    /// The [`Cataloger::name`] of the cataloger that noted it.
    pub cataloger: &'static str,
    /// The file it concerns: a path in the image, or on the host for a folder.
    pub path: String,
    /// What was wrong, in lowercase words.
    pub message: String,
}

/// What one cataloger found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogResult {
    /// The packages it read, in the order it found them.
    pub packages: Vec<InstalledPackage>,
    /// `NotApplicable` when the view holds none of its files, `Partial` when some could not
    /// be read, `Complete` otherwise.
    pub completeness: Completeness,
    /// One finding per file it could not read completely.
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
    /// A stable kebab-case name (`python-dist-info`, `conda-meta`, `dpkg`), used in findings
    /// and reports.
    pub name: &'static str,
    /// The ecosystem of every package it reports.
    pub ecosystem: Ecosystem,
    /// Reads the view; never fails, it reports what it could not read in its result.
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
    /// The [`Cataloger::name`].
    pub name: &'static str,
    /// Whether it applied and read all its files (see [`CatalogResult::completeness`]).
    pub completeness: Completeness,
    /// How many packages it reported, before Python distributions were linked to conda packages.
    pub packages: usize,
}

/// An environment prefix packages belong to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Environment {
    /// The prefix directory: a path in the image, or on the host for a folder.
    pub prefix: String,
    /// What sort of prefix it is, from the files found in it.
    pub kind: EnvironmentKind,
    /// The Python version a venv's `pyvenv.cfg` names.
    pub python_version: Option<String>,
}

/// What sort of environment a prefix is.
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
    /// The distribution `os-release` names; `None` without an `os-release` that has an `ID`.
    pub distro: Option<Distro>,
    /// The environment prefixes packages were found in.
    pub environments: Vec<Environment>,
    /// Every package found, sorted by ecosystem, environment, name, version and location. A
    /// Python distribution that a conda package installed is not here on its own but in that
    /// package's [`InstalledPackage::linked`].
    pub packages: Vec<InstalledPackage>,
    /// Partial when a layer or folder was not read completely, or any cataloger was partial.
    pub completeness: Completeness,
    /// Each cataloger's run, in [`CATALOGERS`] order.
    pub catalogers: Vec<CatalogerRun>,
    /// What catalogers could not read, and duplicate Python distributions.
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

/// [`catalog_folder`] with explicit bounds on what the folder walk reads and keeps.
pub fn catalog_folder_with(path: &Path, limits: &Limits) -> Catalog {
    catalog_view(&layer::folder::load(path, limits))
}

/// [`catalog_folder_with`], leaving out the folders `options` names (envaudit's own
/// installation, see [`own_installation`]).
pub fn catalog_folder_excluding(
    path: &Path,
    limits: &Limits,
    options: &layer::folder::WalkOptions,
) -> Catalog {
    catalog_view(&layer::folder::load_with(path, limits, options))
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
    walk_layers_hashed(
        readers.into_iter().map(|r| (r, None)).collect(),
        limits,
        done,
    )
}

/// [`walk_layers_with`], each layer given with the algorithm of its `diff_id` hashed as it
/// is walked ([`layer::walk_hashed`]), or `None` not to hash it.
pub fn walk_layers_hashed<R: Read + Send>(
    readers: Vec<(R, Option<DigestAlgorithm>)>,
    limits: &Limits,
    done: impl Fn(usize, &LayerFacts) + Sync,
) -> Vec<LayerFacts> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut slots: Vec<Option<LayerFacts>> = vec![None; readers.len()];
    let mut work: Vec<(usize, (R, Option<DigestAlgorithm>))> =
        readers.into_iter().enumerate().collect();
    work.reverse();
    let queue = std::sync::Mutex::new(work);
    let results = std::sync::Mutex::new(&mut slots);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop());
                    let Some((i, (reader, algorithm))) = next else {
                        break;
                    };
                    let facts = match algorithm {
                        Some(a) => layer::walk_hashed(reader, limits, a),
                        None => layer::walk(reader, limits),
                    };
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

/// [`catalog_layers`] with explicit bounds on what each layer walk reads and keeps.
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
