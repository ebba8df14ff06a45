//! Python distributions: `*.dist-info` (core metadata `METADATA`, `INSTALLER`,
//! `direct_url.json`, `RECORD`, `REQUESTED`) and `*.egg-info` (a `PKG-INFO` directory with
//! `requires.txt`, or a single file).

use std::collections::BTreeSet;

use serde::Deserialize;

use super::rfc822::{self, MalformedLine};
use super::{
    CatalogResult, Details, DirectUrl, DirectUrlKind, InstalledPackage, PythonDetails, location,
    text,
};
use crate::layer::{FsView, NodeKind};
use crate::model::{Ecosystem, PackageName};

const DIST_INFO: &str = "python-dist-info";
const EGG_INFO: &str = "python-egg-info";

/// The fields of core metadata envaudit keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreMetadata {
    /// `Metadata-Version` (`2.1`).
    pub metadata_version: Option<String>,
    /// `Name`, as the project spells it.
    pub name: Option<String>,
    /// `Version`, as written (PEP 440 for modern distributions, anything for old ones).
    pub version: Option<String>,
    /// `Summary`, the one-line description.
    pub summary: Option<String>,
    /// `License`: free text, sometimes a whole license pasted over several lines.
    pub license: Option<String>,
    /// `License-Expression`, an SPDX expression (metadata 2.4).
    pub license_expression: Option<String>,
    /// Every `Classifier`, in order.
    pub classifiers: Vec<String>,
    /// Every `Requires-Dist`, as written: PEP 508 requirements with their extras and markers.
    pub requires_dist: Vec<String>,
    /// `Requires-Python`, a PEP 440 specifier as written.
    pub requires_python: Option<String>,
    /// Every `Provides-Extra`: the extras the distribution defines.
    pub provides_extra: Vec<String>,
    /// Every `Dynamic` (metadata 2.2, PEP 643): fields an sdist leaves to the build.
    pub dynamic: Vec<String>,
}

impl CoreMetadata {
    /// License-Expression, else a one-line License, plus the license classifiers.
    pub fn licenses(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = &self.license_expression {
            out.push(e.clone());
        } else if let Some(l) = &self.license {
            // Some projects paste the whole license text; keep only a short one-liner.
            let l = l.trim();
            if !l.is_empty() && !l.contains('\n') && l.len() <= 100 && l != "UNKNOWN" {
                out.push(l.to_owned());
            }
        }
        for c in &self.classifiers {
            if let Some(rest) = c.strip_prefix("License ::") {
                let last = rest.rsplit("::").next().unwrap_or(rest).trim();
                if !last.is_empty() && !out.iter().any(|o| o == last) {
                    out.push(last.to_owned());
                }
            }
        }
        out
    }
}

/// Parses the headers of a `METADATA` or `PKG-INFO` file; malformed lines are skipped and
/// returned.
pub fn parse_metadata(input: &str) -> (CoreMetadata, Vec<MalformedLine>) {
    let (p, bad) = rfc822::headers(input);
    let one = |name: &str| {
        p.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let many = |name: &str| p.all(name).map(|v| v.trim().to_owned()).collect::<Vec<_>>();
    let meta = CoreMetadata {
        metadata_version: one("Metadata-Version"),
        name: one("Name"),
        version: one("Version"),
        summary: one("Summary"),
        license: one("License"),
        license_expression: one("License-Expression"),
        classifiers: many("Classifier"),
        requires_dist: many("Requires-Dist"),
        requires_python: one("Requires-Python"),
        provides_extra: many("Provides-Extra"),
        dynamic: many("Dynamic"),
    };
    (meta, bad)
}

/// The environment prefix of a site-packages directory: the part before
/// `lib/pythonX.Y/site-packages` (or `dist-packages`, `Lib/site-packages`), else the
/// directory itself (a bare site-packages).
pub(crate) fn environment_of(site: &str) -> String {
    let parts: Vec<&str> = site.split('/').collect();
    let n = parts.len();
    if n >= 3
        && matches!(parts[n - 1], "site-packages" | "dist-packages")
        && parts[n - 2].starts_with("python")
        && matches!(parts[n - 3], "lib" | "lib64")
    {
        return join_or_root(&parts[..n - 3]);
    }
    if n >= 2 && parts[n - 1] == "site-packages" && parts[n - 2] == "Lib" {
        return join_or_root(&parts[..n - 2]);
    }
    if site.is_empty() {
        "/".to_owned()
    } else {
        site.to_owned()
    }
}

fn join_or_root(parts: &[&str]) -> String {
    let s = parts.join("/");
    if s.is_empty() { "/".to_owned() } else { s }
}

/// `name-version.dist-info` → (name, version), for a directory without usable metadata.
fn from_dir_name(dir: &str, suffix: &str) -> (Option<String>, Option<String>) {
    let base = dir.rsplit('/').next().unwrap_or(dir);
    let stem = base.strip_suffix(suffix).unwrap_or(base);
    match stem.split_once('-') {
        Some((n, v)) => (
            Some(n.to_owned()),
            Some(v.split('-').next().unwrap_or(v).to_owned()),
        ),
        None => (Some(stem.to_owned()), None),
    }
}

#[derive(Deserialize)]
struct DirectUrlWire {
    url: String,
    #[serde(default)]
    archive_info: Option<ArchiveInfoWire>,
    #[serde(default)]
    vcs_info: Option<VcsInfoWire>,
    #[serde(default)]
    dir_info: Option<DirInfoWire>,
}

#[derive(Deserialize)]
struct ArchiveInfoWire {
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    hashes: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct VcsInfoWire {
    vcs: String,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    requested_revision: Option<String>,
}

#[derive(Deserialize)]
struct DirInfoWire {
    #[serde(default)]
    editable: bool,
}

/// Parses PEP 610 `direct_url.json`.
pub fn parse_direct_url(bytes: &[u8]) -> Result<DirectUrl, serde_json::Error> {
    let w: DirectUrlWire = serde_json::from_slice(bytes)?;
    let kind = if let Some(v) = w.vcs_info {
        DirectUrlKind::Vcs {
            vcs: v.vcs,
            commit_id: v.commit_id,
            requested_revision: v.requested_revision,
        }
    } else if let Some(a) = w.archive_info {
        let hash = a.hash.or_else(|| {
            a.hashes
                .and_then(|h| h.into_iter().next().map(|(alg, v)| format!("{alg}={v}")))
        });
        DirectUrlKind::Archive { hash }
    } else if let Some(d) = w.dir_info {
        DirectUrlKind::Dir {
            editable: d.editable,
        }
    } else {
        DirectUrlKind::Unknown
    };
    Ok(DirectUrl { url: w.url, kind })
}

fn package(
    meta: &CoreMetadata,
    dir: &str,
    suffix: &str,
    metadata_path: &str,
    view: &FsView,
    details: PythonDetails,
) -> Option<InstalledPackage> {
    let (dir_name, dir_version) = from_dir_name(dir, suffix);
    let display_name = meta.name.clone().or(dir_name)?;
    let version = meta.version.clone().or(dir_version).unwrap_or_default();
    let site = dir.rsplit_once('/').map_or("", |(p, _)| p);
    let mut loc = location(view, metadata_path);
    dir.clone_into(&mut loc.path);
    Some(InstalledPackage {
        ecosystem: Ecosystem::Pip,
        name: PackageName::pip(&display_name),
        display_name,
        version,
        location: loc,
        environment: Some(environment_of(site)),
        licenses: meta.licenses(),
        summary: meta.summary.clone(),
        requires: meta.requires_dist.clone(),
        details: Details::Python(PythonDetails {
            metadata_version: meta.metadata_version.clone(),
            requires_python: meta.requires_python.clone(),
            provides_extra: meta.provides_extra.clone(),
            classifiers: meta.classifiers.clone(),
            ..details
        }),
        linked: None,
    })
}

fn read_metadata(
    view: &FsView,
    path: &str,
    cataloger: &'static str,
    result: &mut CatalogResult,
) -> CoreMetadata {
    let Some(bytes) = view.read(path) else {
        result.partial(
            cataloger,
            path,
            "the metadata file has no readable content".into(),
        );
        return CoreMetadata::default();
    };
    let (meta, bad) = parse_metadata(&text(bytes));
    if let Some(first) = bad.first() {
        result.partial(cataloger, path, format!("malformed metadata: {first}"));
    }
    meta
}

/// Whether a metadata directory sits in a package's `_vendor` directory (setuptools ships
/// its dependencies that way); those are not installed distributions and pip does not
/// list them.
fn is_vendored(dir: &str) -> bool {
    dir.split('/').any(|c| c == "_vendor")
}

/// Whether a metadata directory sits in a conda package cache (`PREFIX/pkgs/NAME/...` of
/// a prefix with `conda-meta/`): extracted packages waiting to be linked, not installed.
fn in_conda_package_cache(view: &FsView, dir: &str) -> bool {
    dir.match_indices("/pkgs/").any(|(i, _)| {
        let root = &dir[..i];
        view.under(&format!("{root}/conda-meta")).next().is_some()
    })
}

/// `*.dist-info` directories.
pub(super) fn dist_info(view: &FsView) -> CatalogResult {
    let mut result = CatalogResult::new();
    let dirs: BTreeSet<&str> = view
        .files()
        .filter_map(|(p, _)| p.rsplit_once('/').map(|(d, _)| d))
        .filter(|d| d.ends_with(".dist-info"))
        .collect();
    for dir in dirs {
        if is_vendored(dir) || in_conda_package_cache(view, dir) {
            continue;
        }
        result.applies();
        let metadata_path = format!("{dir}/METADATA");
        let meta = if view.file(&metadata_path).is_some() {
            read_metadata(view, &metadata_path, DIST_INFO, &mut result)
        } else {
            result.partial(
                DIST_INFO,
                dir,
                "no `METADATA` in the `.dist-info` directory".into(),
            );
            CoreMetadata::default()
        };
        let installer = view
            .read(&format!("{dir}/INSTALLER"))
            .map(|b| text(b).trim().to_owned())
            .filter(|s| !s.is_empty());
        let direct_url =
            view.read(&format!("{dir}/direct_url.json"))
                .and_then(|b| match parse_direct_url(b) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        result.partial(
                            DIST_INFO,
                            &format!("{dir}/direct_url.json"),
                            format!("malformed `direct_url.json`: {e}"),
                        );
                        None
                    }
                });
        let details = PythonDetails {
            format: "dist-info",
            installer,
            direct_url,
            has_record: view.file(&format!("{dir}/RECORD")).is_some(),
            record_sha256: view
                .read(&format!("{dir}/RECORD"))
                .map(text)
                .filter(|t| t.starts_with("sha256:") && t.len() == 71)
                .map(std::borrow::Cow::into_owned),
            requested: view.file(&format!("{dir}/REQUESTED")).is_some(),
            ..PythonDetails::default()
        };
        let at = if view.file(&metadata_path).is_some() {
            metadata_path.clone()
        } else {
            dir.to_owned()
        };
        if let Some(p) = package(&meta, dir, ".dist-info", &at, view, details) {
            result.packages.push(p);
        }
    }
    result
}

/// `*.egg-info` directories (`PKG-INFO`, `requires.txt`) and `*.egg-info` files.
pub(super) fn egg_info(view: &FsView) -> CatalogResult {
    let mut result = CatalogResult::new();
    for (path, node) in view.files() {
        let (dir, metadata_path, format) = if let Some(dir) = path.strip_suffix("/PKG-INFO") {
            if !dir.ends_with(".egg-info") {
                continue;
            }
            (dir, path, "egg-info")
        } else if path.ends_with(".egg-info") && matches!(node.kind, NodeKind::File { .. }) {
            (path, path, "egg-info-file")
        } else {
            continue;
        };
        if is_vendored(dir) || in_conda_package_cache(view, dir) {
            continue;
        }
        result.applies();
        let mut meta = read_metadata(view, metadata_path, EGG_INFO, &mut result);
        if format == "egg-info"
            && let Some(req) = view.read(&format!("{dir}/requires.txt"))
        {
            meta.requires_dist = requires_txt(&text(req));
        }
        let details = PythonDetails {
            format,
            has_record: view.file(&format!("{dir}/installed-files.txt")).is_some(),
            ..PythonDetails::default()
        };
        if let Some(p) = package(&meta, dir, ".egg-info", metadata_path, view, details) {
            result.packages.push(p);
        }
    }
    result
}

/// Two or more distributions of one name in one directory (a failed or interrupted
/// upgrade, or files copied over an install): Python imports whichever its finder meets
/// first, and `pip list` shows one of them. Every one is reported, with a finding.
pub(super) fn duplicates(packages: &[InstalledPackage]) -> Vec<super::CatalogFinding> {
    let mut seen: std::collections::BTreeMap<(&str, &PackageName), Vec<&InstalledPackage>> =
        std::collections::BTreeMap::new();
    for p in packages.iter().filter(|p| p.ecosystem == Ecosystem::Pip) {
        let path = p.location.path.as_str();
        let meta_dir = path
            .rfind(".dist-info")
            .or_else(|| path.rfind(".egg-info"))
            .map_or(path, |i| &path[..i]);
        let dir = meta_dir.rsplit_once('/').map_or("", |(d, _)| d);
        seen.entry((dir, &p.name)).or_default().push(p);
    }
    seen.into_iter()
        .filter(|(_, ps)| ps.len() > 1)
        .map(|((dir, name), ps)| {
            let versions: Vec<&str> = ps.iter().map(|p| p.version.as_str()).collect();
            super::CatalogFinding {
                cataloger: DIST_INFO,
                path: dir.to_owned(),
                message: format!(
                    "{} distributions of `{name}` ({}) in one directory; Python imports whichever it finds first",
                    ps.len(),
                    versions.join(", ")
                ),
            }
        })
        .collect()
}

/// setuptools' `requires.txt`: plain requirements, then `[extra:marker]` sections, turned
/// into Requires-Dist form (`name; extra == "x" and (marker)`).
pub fn requires_txt(input: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    for line in input.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (extra, marker) = inner.split_once(':').unwrap_or((inner, ""));
            let mut m = Vec::new();
            if !extra.trim().is_empty() {
                m.push(format!("extra == \"{}\"", extra.trim()));
            }
            if !marker.trim().is_empty() {
                m.push(format!("({})", marker.trim()));
            }
            section = (!m.is_empty()).then(|| m.join(" and "));
            continue;
        }
        match &section {
            Some(marker) => out.push(format!("{line}; {marker}")),
            None => out.push(line.to_owned()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_metadata_keeps_requirements_with_markers_and_licenses() {
        let (m, bad) = parse_metadata(
            "Metadata-Version: 2.4\nName: Foo_Bar\nVersion: 1.0\nSummary: a thing\n\
             License-Expression: MIT OR Apache-2.0\n\
             Classifier: License :: OSI Approved :: MIT License\n\
             Requires-Dist: requests>=2\nRequires-Dist: rich; extra == \"cli\"\n\
             Requires-Python: >=3.9\n\nBody: not a header\n",
        );
        assert!(bad.is_empty());
        assert_eq!(m.name.as_deref(), Some("Foo_Bar"));
        assert_eq!(m.requires_dist, ["requests>=2", "rich; extra == \"cli\""]);
        assert_eq!(m.licenses(), ["MIT OR Apache-2.0", "MIT License"]);
        assert_eq!(m.requires_python.as_deref(), Some(">=3.9"));
    }

    #[test]
    fn a_pasted_license_text_is_not_a_license_name() {
        let (m, _) = parse_metadata(
            "Name: a\nLicense: Copyright (c)\n        Permission is hereby granted\n",
        );
        assert!(m.licenses().is_empty());
    }

    #[test]
    fn environment_is_the_prefix_above_site_packages() {
        assert_eq!(
            environment_of("/opt/miniconda/lib/python3.11/site-packages"),
            "/opt/miniconda"
        );
        assert_eq!(environment_of("/usr/lib/python3/dist-packages"), "/usr");
        assert_eq!(environment_of("/lib/python3.11/site-packages"), "/");
        assert_eq!(environment_of("/srv/site"), "/srv/site");
    }

    #[test]
    fn requires_txt_sections_become_markers() {
        assert_eq!(
            requires_txt(
                "a>=1\n\n[cli]\nrich\n\n[:python_version < \"3.8\"]\nimportlib-metadata\n"
            ),
            [
                "a>=1",
                "rich; extra == \"cli\"",
                "importlib-metadata; (python_version < \"3.8\")"
            ]
        );
    }

    #[test]
    fn direct_url_distinguishes_vcs_archive_and_editable_dir() {
        let vcs = parse_direct_url(
            br#"{"url":"https://g/x.git","vcs_info":{"vcs":"git","commit_id":"abc"}}"#,
        )
        .unwrap();
        assert!(
            matches!(vcs.kind, DirectUrlKind::Vcs { ref commit_id, .. } if commit_id.as_deref() == Some("abc"))
        );
        let dir =
            parse_direct_url(br#"{"url":"file:///src","dir_info":{"editable":true}}"#).unwrap();
        assert_eq!(dir.kind, DirectUrlKind::Dir { editable: true });
        assert!(parse_direct_url(b"{").is_err());
    }
}
