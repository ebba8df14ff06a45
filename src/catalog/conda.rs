//! conda: `conda-meta/*.json` package records and `conda-meta/history`, wherever a
//! `conda-meta` directory sits (`/opt/miniconda`, `/opt/conda/envs/NAME`,
//! `/azureml-envs/azureml_<hash>`, ...). The prefix is the directory holding it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{CatalogResult, CondaDetails, Details, InstalledPackage, location, text};
use crate::conda::MatchSpec;
use crate::layer::FsView;
use crate::model::{Ecosystem, PackageName};

const CONDA_META: &str = "conda-meta";

/// A `conda-meta/*.json` record as conda writes it (fields envaudit reads).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct CondaRecord {
    /// The package name, as the channel spells it.
    pub name: String,
    /// The installed version (conda's `VersionOrder` text).
    pub version: String,
    #[serde(default)]
    /// The build string (`py310h1234567_0`).
    pub build: Option<String>,
    #[serde(default)]
    /// The build number, which orders builds of one version.
    pub build_number: Option<u64>,
    #[serde(default)]
    /// The channel it came from, as conda recorded it (a name or a URL).
    pub channel: Option<String>,
    #[serde(default)]
    /// The platform subdirectory of the channel (`linux-64`, `noarch`).
    pub subdir: Option<String>,
    #[serde(default)]
    /// The licence as the recipe states it (often, but not always, an SPDX expression).
    pub license: Option<String>,
    #[serde(default)]
    /// One line saying what the package is.
    pub summary: Option<String>,
    #[serde(default)]
    /// Its run requirements, as MatchSpecs.
    pub depends: Vec<String>,
    #[serde(default)]
    /// Constraints on other packages, applied only if those are installed.
    pub constrains: Vec<String>,
    #[serde(default)]
    /// The MD5 of the package archive, in hex.
    pub md5: Option<String>,
    #[serde(default)]
    /// The SHA-256 of the package archive, in hex.
    pub sha256: Option<String>,
    #[serde(default)]
    /// Where the package archive was downloaded from.
    pub url: Option<String>,
    #[serde(default)]
    /// The spec the user asked for, when this package was asked for by name.
    pub requested_spec: Option<String>,
    #[serde(default)]
    /// The files it installed, relative to the prefix.
    pub files: Vec<String>,
}

impl CondaRecord {
    /// The Python metadata directory (`.dist-info` / `.egg-info`) among the package's
    /// files, relative to the prefix.
    pub fn python_metadata(&self) -> Option<String> {
        self.files.iter().find_map(|f| {
            let f = f.trim_start_matches('/');
            let (dir, name) = f.rsplit_once('/')?;
            if dir.ends_with(".dist-info") && name == "METADATA"
                || dir.ends_with(".egg-info") && name == "PKG-INFO"
            {
                Some(dir.to_owned())
            } else if name.ends_with(".egg-info") {
                Some(f.to_owned())
            } else {
                None
            }
        })
    }
}

/// Parses one `conda-meta/*.json` record.
pub fn parse_record(bytes: &[u8]) -> Result<CondaRecord, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// What `conda-meta/history` says: how many revisions, and the specs the user asked for
/// that are still asked for (package name → last spec).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CondaHistory {
    /// How many revisions (`==> date <==` blocks) the history holds.
    pub revisions: usize,
    /// Package name → the last spec the user asked for it with, for those still asked for.
    pub requested: BTreeMap<String, String>,
}

/// The package name of a MatchSpec (`conda-forge::numpy>=1.2` → `numpy`); `None` when
/// the spec does not parse.
fn spec_name(spec: &str) -> Option<String> {
    let spec = spec.parse::<MatchSpec>().ok()?;
    Some(spec.name?.as_str().to_owned())
}

/// The quoted strings of a Python list literal (`['numpy', "pandas>=2"]`).
fn list_items(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '"' {
            let item: String = chars.by_ref().take_while(|&d| d != c).collect();
            out.push(item);
        }
    }
    out
}

/// Parses `conda-meta/history`.
pub fn parse_history(input: &str) -> CondaHistory {
    let mut h = CondaHistory::default();
    for line in input.lines() {
        let line = line.trim();
        if line.starts_with("==>") && line.ends_with("<==") {
            h.revisions += 1;
        } else if let Some(rest) = line
            .strip_prefix("# update specs:")
            .or_else(|| line.strip_prefix("# install specs:"))
        {
            for spec in list_items(rest) {
                if let Some(name) = spec_name(&spec) {
                    h.requested.insert(name, spec);
                }
            }
        } else if let Some(rest) = line.strip_prefix("# remove specs:") {
            for name in list_items(rest).iter().filter_map(|s| spec_name(s)) {
                h.requested.remove(&name);
            }
        }
    }
    h
}

fn prefix_of(path: &str) -> Option<&str> {
    let dir = path.rsplit_once('/')?.0;
    let prefix = dir.strip_suffix("/conda-meta")?;
    Some(if prefix.is_empty() { "/" } else { prefix })
}

/// Every `conda-meta/history` of the view, by prefix.
pub(super) fn histories(view: &FsView) -> BTreeMap<String, CondaHistory> {
    view.files()
        .filter(|(p, _)| p.ends_with("/conda-meta/history"))
        .filter_map(|(p, _)| {
            let prefix = prefix_of(p)?;
            Some((prefix.to_owned(), parse_history(&text(view.read(p)?))))
        })
        .collect()
}

/// Fills `requested_spec` from the history where the record has none.
pub(super) fn apply_history(packages: &mut [InstalledPackage], h: &BTreeMap<String, CondaHistory>) {
    for p in packages {
        if let (Details::Conda(d), Some(env)) = (&mut p.details, &p.environment)
            && d.requested_spec.as_deref().is_none_or(str::is_empty)
            && let Some(spec) = h.get(env).and_then(|h| h.requested.get(p.name.as_str()))
        {
            d.requested_spec = Some(spec.clone());
        }
    }
}

/// Every `conda-meta/*.json` record.
pub(super) fn conda_meta(view: &FsView) -> CatalogResult {
    let mut result = CatalogResult::new();
    for (path, _) in view.files() {
        if !path.ends_with(".json") {
            continue;
        }
        let Some(prefix) = prefix_of(path) else {
            continue;
        };
        result.applies();
        let Some(bytes) = view.read(path) else {
            result.partial(
                CONDA_META,
                path,
                "the record has no readable content".into(),
            );
            continue;
        };
        let record = match parse_record(bytes) {
            Ok(r) => r,
            Err(e) => {
                result.partial(CONDA_META, path, format!("malformed conda record: {e}"));
                continue;
            }
        };
        if record.name.trim().is_empty() {
            result.partial(CONDA_META, path, "the record has an empty `name`".into());
            continue;
        }
        let python_metadata = record.python_metadata();
        result.packages.push(InstalledPackage {
            ecosystem: Ecosystem::Conda,
            name: PackageName::conda(&record.name),
            display_name: record.name,
            version: record.version,
            location: location(view, path),
            environment: Some(prefix.to_owned()),
            licenses: record
                .license
                .into_iter()
                .filter(|l| !l.is_empty())
                .collect(),
            summary: record.summary,
            requires: record.depends,
            details: Details::Conda(CondaDetails {
                build: record.build,
                build_number: record.build_number,
                channel: record.channel,
                subdir: record.subdir,
                constrains: record.constrains,
                md5: record.md5,
                sha256: record.sha256,
                url: record.url.filter(|u| !u.is_empty()),
                requested_spec: record.requested_spec.filter(|s| !s.is_empty()),
                python_metadata,
            }),
            linked: None,
        });
    }
    result
}

fn join_prefix(prefix: &str, rel: &str) -> String {
    if prefix == "/" {
        format!("/{rel}")
    } else {
        format!("{prefix}/{rel}")
    }
}

/// Attaches each Python distribution a conda package installed to that package, so it is
/// reported once: by the record's `files`, else by name when the distribution's
/// `INSTALLER` is `conda` in the same prefix.
pub(super) fn link_python(packages: Vec<InstalledPackage>) -> Vec<InstalledPackage> {
    let (mut conda, rest): (Vec<_>, Vec<_>) = packages
        .into_iter()
        .partition(|p| p.ecosystem == Ecosystem::Conda);
    let mut python: Vec<Option<InstalledPackage>> = rest.into_iter().map(Some).collect();
    let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
    for (i, p) in python.iter().enumerate() {
        if let Some(p) = p
            && p.ecosystem == Ecosystem::Pip
        {
            by_path.insert(p.location.path.clone(), i);
        }
    }
    for c in &mut conda {
        let (Details::Conda(d), Some(env)) = (&c.details, &c.environment) else {
            continue;
        };
        let found = match &d.python_metadata {
            Some(rel) => by_path.get(&join_prefix(env, rel)).copied(),
            None => python.iter().position(|p| {
                p.as_ref().is_some_and(|p| {
                    p.environment.as_deref() == Some(env.as_str())
                        && p.name == c.name.to_pip()
                        && matches!(&p.details, Details::Python(d) if d.installer.as_deref() == Some("conda"))
                })
            }),
        };
        if let Some(i) = found
            && let Some(p) = python[i].take()
        {
            c.linked = Some(Box::new(p));
        }
    }
    conda.extend(python.into_iter().flatten());
    conda
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_fields_and_python_metadata_dir_are_read() {
        let r = parse_record(
            br#"{"name":"numpy","version":"1.26.4","build":"py311h64a7726_0","build_number":0,
            "channel":"https://conda.anaconda.org/conda-forge/linux-64","subdir":"linux-64",
            "license":"BSD-3-Clause","depends":["python >=3.11,<3.12.0a0"],"constrains":["numpy-base <0a0"],
            "md5":"a1","sha256":"b2","requested_spec":"numpy=1.26",
            "files":["bin/f2py","lib/python3.11/site-packages/numpy-1.26.4.dist-info/METADATA"]}"#,
        )
        .unwrap();
        assert_eq!(r.build_number, Some(0));
        assert_eq!(
            r.python_metadata().as_deref(),
            Some("lib/python3.11/site-packages/numpy-1.26.4.dist-info")
        );
    }

    #[test]
    fn history_keeps_specs_still_requested() {
        let h = parse_history(
            "==> 2024-01-01 00:00:00 <==\n# cmd: conda create\n+defaults::python-3.11.0-h0\n\
             # update specs: ['python=3.11', \"numpy>=1.2\"]\n\
             ==> 2024-01-02 00:00:00 <==\n# remove specs: ['numpy']\n",
        );
        assert_eq!(h.revisions, 2);
        assert_eq!(
            h.requested.get("python").map(String::as_str),
            Some("python=3.11")
        );
        assert!(!h.requested.contains_key("numpy"));
    }

    #[test]
    fn history_specs_are_named_by_the_matchspec_parser() {
        let h = parse_history(
            "==> 2024-01-01 00:00:00 <==\n\
             # update specs: [\"conda-forge/linux-64::NumPy==1.26.4=py311h_0\", \"scipy[version='>=1.11']\", 'pkgs/main::pandas 2.1.*', '>=1.2']\n",
        );
        let names: Vec<&str> = h.requested.keys().map(String::as_str).collect();
        assert_eq!(names, ["numpy", "pandas", "scipy"]);
    }

    #[test]
    fn malformed_record_is_an_error_not_a_panic() {
        assert!(parse_record(b"{\"name\": 1}").is_err());
        assert!(parse_record(&[0xff; 10]).is_err());
    }
}
