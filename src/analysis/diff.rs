//! What changed between two lockfiles, environment by environment, with *silent drift*
//! (installed versions or the image changed while the definition hash did not) told apart
//! from intended changes. Pure analysis: it never touches git, registries or files.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::diag::{Code, Finding};
use crate::layer::Completeness;
use crate::lockfile::{Declared, LockedPackage, Lockfile, Snapshot};
use crate::model::Ecosystem;
use crate::model::pin::PinState;

/// The version of the JSON this report serialises to.
pub const SCHEMA_VERSION: u32 = 1;

/// The comparison of two lockfiles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    /// [`SCHEMA_VERSION`]: the version of this report's JSON shape.
    pub schema_version: u32,
    /// Where each side came from (`@HEAD`, `@`, ...).
    pub old: String,
    /// Where the new side came from, as the caller labels it.
    pub new: String,
    /// Every environment of either lockfile (or only the one asked for), sorted by name.
    pub environments: Vec<EnvironmentDiff>,
    /// `silent-drift`, `changed` and `downgrade` findings, environment by environment.
    pub findings: Vec<Finding>,
}

/// How an environment differs between the two sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvironmentStatus {
    /// Only in the new lockfile.
    Added,
    /// Only in the old lockfile.
    Removed,
    /// In both, with different snapshot ids.
    Changed,
    /// In both, with the same snapshot id.
    Unchanged,
}

/// One environment, old and new.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvironmentDiff {
    /// The environment's name in the lockfile.
    pub name: String,
    /// Added, removed, changed or unchanged.
    pub status: EnvironmentStatus,
    /// The old snapshot id; `None` when the environment is only on the new side.
    pub old_snapshot: Option<String>,
    /// The new snapshot id; `None` when the environment is only on the old side.
    pub new_snapshot: Option<String>,
    /// The definition hash differs (always `false` unless both sides have the environment).
    pub definition_changed: bool,
    /// The old definition hash, `sha256:HEX`.
    pub old_definition_hash: Option<String>,
    /// The new definition hash, `sha256:HEX`.
    pub new_definition_hash: Option<String>,
    /// The platform manifest (or config) digest changed.
    pub image_changed: bool,
    /// The old image's platform manifest digest, else its config digest.
    pub old_image: Option<String>,
    /// The new image's platform manifest digest, else its config digest.
    pub new_image: Option<String>,
    /// Installed versions or the image changed while the definition hash did not.
    pub silent_drift: bool,
    /// The installed packages that changed, by ecosystem, prefix and name; empty unless both
    /// sides have the environment.
    pub packages: Vec<PackageChange>,
    /// The declarations whose spec or pin state changed; empty unless both sides have the
    /// environment.
    pub pins: Vec<PinChange>,
    /// `partial: REASON` of a side whose catalog was incomplete.
    pub incomplete: Vec<String>,
}

/// How one installed package changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Installed on the new side only (or at a version the old side did not have).
    Added,
    /// Installed on the old side only (or at a version the new side does not have).
    Removed,
    /// A higher version, in the ecosystem's version ordering.
    Upgraded,
    /// A lower version, in the ecosystem's version ordering.
    Downgraded,
    /// Same version, another build (conda build string, channel).
    Rebuilt,
}

impl ChangeKind {
    /// The kebab-case name, as serde writes it (`added`, `rebuilt`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Upgraded => "upgraded",
            ChangeKind::Downgraded => "downgraded",
            ChangeKind::Rebuilt => "rebuilt",
        }
    }
}

/// One installed package that changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    /// How it changed.
    pub kind: ChangeKind,
    /// The package's ecosystem.
    pub ecosystem: Ecosystem,
    /// The normalised package name.
    pub name: String,
    /// The environment prefix it is installed in, as the lockfile records it.
    pub prefix: Option<String>,
    /// The version before; `None` for an added package.
    pub old_version: Option<String>,
    /// The version after; `None` for a removed package.
    pub new_version: Option<String>,
    /// The conda build string before, for conda packages.
    pub old_build: Option<String>,
    /// The conda build string after, for conda packages.
    pub new_build: Option<String>,
}

/// A declared dependency whose spec or pin state changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PinChange {
    /// The declaration's ecosystem.
    pub ecosystem: Ecosystem,
    /// The normalised package name; the spec text itself for a spec that names no package.
    pub name: String,
    /// The spec as written before; `None` when it is newly declared.
    pub old_spec: Option<String>,
    /// The spec as written after; `None` when the declaration was dropped.
    pub new_spec: Option<String>,
    /// The pin state before; `None` when it is newly declared.
    pub old_pin: Option<PinState>,
    /// The pin state after; `None` when the declaration was dropped.
    pub new_pin: Option<PinState>,
    /// The new pin is less firm than the old one.
    pub loosened: bool,
}

impl DiffReport {
    /// Counts of environments by status, and of package changes, for a summary line.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for e in &self.environments {
            match e.status {
                EnvironmentStatus::Added => t.added += 1,
                EnvironmentStatus::Removed => t.removed += 1,
                EnvironmentStatus::Changed => t.changed += 1,
                EnvironmentStatus::Unchanged => t.unchanged += 1,
            }
            if e.silent_drift {
                t.silent_drift += 1;
            }
            t.package_changes += e.packages.len();
        }
        t
    }
}

/// Counts over a [`DiffReport`], for a summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Environments only in the new lockfile.
    pub added: usize,
    /// Environments only in the old lockfile.
    pub removed: usize,
    /// Environments in both, with another snapshot.
    pub changed: usize,
    /// Environments in both, with the same snapshot.
    pub unchanged: usize,
    /// Environments with silent drift.
    pub silent_drift: usize,
    /// Installed package changes, summed over the environments.
    pub package_changes: usize,
}

/// Compares two lockfiles (only `environment`, when given).
pub fn lockfiles(
    old: &Lockfile,
    new: &Lockfile,
    old_label: &str,
    new_label: &str,
    environment: Option<&str>,
) -> DiffReport {
    let mut environments = Vec::new();
    let mut findings = Vec::new();
    for name in environment_names(old, new, environment) {
        let d = snapshots(name, old.environments.get(name), new.environments.get(name));
        findings.extend(findings_of(&d));
        environments.push(d);
    }
    DiffReport {
        schema_version: SCHEMA_VERSION,
        old: old_label.to_owned(),
        new: new_label.to_owned(),
        environments,
        findings,
    }
}

/// The environments of either lockfile (only `filter`, when given), sorted.
pub fn environment_names<'a>(
    old: &'a Lockfile,
    new: &'a Lockfile,
    filter: Option<&str>,
) -> BTreeSet<&'a String> {
    old.environments
        .keys()
        .chain(new.environments.keys())
        .filter(|n| filter.is_none_or(|e| e == n.as_str()))
        .collect()
}

/// Compares two snapshots of one environment (either may be missing).
pub fn snapshots(name: &str, old: Option<&Snapshot>, new: Option<&Snapshot>) -> EnvironmentDiff {
    let image_of = |s: Option<&Snapshot>| {
        s.and_then(|s| {
            s.image_manifest
                .as_ref()
                .or(s.image_config.as_ref())
                .map(ToString::to_string)
        })
    };
    let hash_of = |s: Option<&Snapshot>| s.map(|s| s.definition_hash.to_string());
    let (old_hash, new_hash) = (hash_of(old), hash_of(new));
    let (old_image, new_image) = (image_of(old), image_of(new));
    let both = old.is_some() && new.is_some();
    let definition_changed = both && old_hash != new_hash;
    let image_changed = both
        && (old_image != new_image || old.map(|s| &s.image_layers) != new.map(|s| &s.image_layers));
    let packages = match (old, new) {
        (Some(o), Some(n)) => package_changes(&o.packages, &n.packages),
        _ => Vec::new(),
    };
    let pins = match (old, new) {
        (Some(o), Some(n)) => pin_changes(&o.declared, &n.declared),
        _ => Vec::new(),
    };
    let status = match (old, new) {
        (None, Some(_)) => EnvironmentStatus::Added,
        (Some(_), None) => EnvironmentStatus::Removed,
        (Some(o), Some(n)) if o.id == n.id => EnvironmentStatus::Unchanged,
        _ => EnvironmentStatus::Changed,
    };
    let silent_drift = both && !definition_changed && (image_changed || !packages.is_empty());
    let incomplete = [old, new]
        .into_iter()
        .flatten()
        .filter(|s| s.completeness != Completeness::Complete)
        .map(|s| format!("{}: {}", s.id, s.completeness))
        .collect();
    EnvironmentDiff {
        name: name.to_owned(),
        status,
        old_snapshot: old.map(|s| s.id.clone()),
        new_snapshot: new.map(|s| s.id.clone()),
        definition_changed,
        old_definition_hash: old_hash,
        new_definition_hash: new_hash,
        image_changed,
        old_image,
        new_image,
        silent_drift,
        packages,
        pins,
        incomplete,
    }
}

type Key<'a> = (Ecosystem, Option<&'a str>, &'a str);

fn group(ps: &[LockedPackage]) -> BTreeMap<Key<'_>, Vec<&LockedPackage>> {
    let mut m: BTreeMap<Key<'_>, Vec<&LockedPackage>> = BTreeMap::new();
    for p in ps {
        m.entry((p.ecosystem, p.prefix.as_deref(), p.name.as_str()))
            .or_default()
            .push(p);
    }
    m
}

fn index_declared(ds: &[Declared]) -> BTreeMap<(Ecosystem, String), &Declared> {
    ds.iter()
        .map(|d| {
            let key = match &d.name {
                Some(name) => name.to_string(),
                None => d.spec.clone(),
            };
            ((d.ecosystem, key), d)
        })
        .collect()
}

fn package_changes(old: &[LockedPackage], new: &[LockedPackage]) -> Vec<PackageChange> {
    let (old, new) = (group(old), group(new));
    let keys: BTreeSet<&Key<'_>> = old.keys().chain(new.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let o = old.get(key).map(Vec::as_slice).unwrap_or_default();
        let n = new.get(key).map(Vec::as_slice).unwrap_or_default();
        let change = |kind, a: Option<&&LockedPackage>, b: Option<&&LockedPackage>| PackageChange {
            kind,
            ecosystem: key.0,
            name: key.2.to_owned(),
            prefix: key.1.map(str::to_owned),
            old_version: a.map(|p| p.version.clone()),
            new_version: b.map(|p| p.version.clone()),
            old_build: a.and_then(|p| p.build.clone()),
            new_build: b.and_then(|p| p.build.clone()),
        };
        match (o, n) {
            // Most packages are the same on both sides: skip parsing their versions.
            ([a], [b])
                if a.version == b.version && a.build == b.build && a.channel == b.channel => {}
            ([a], [b]) => {
                let order = crate::version::compare(key.0, &a.version, &b.version);
                let kind = match order {
                    std::cmp::Ordering::Less => Some(ChangeKind::Upgraded),
                    std::cmp::Ordering::Greater => Some(ChangeKind::Downgraded),
                    std::cmp::Ordering::Equal if a.version != b.version => {
                        // Equal versions spelled differently (`1.0` and `1.0.0`).
                        Some(ChangeKind::Rebuilt)
                    }
                    std::cmp::Ordering::Equal if a.build != b.build || a.channel != b.channel => {
                        Some(ChangeKind::Rebuilt)
                    }
                    std::cmp::Ordering::Equal => None,
                };
                if let Some(kind) = kind {
                    out.push(change(kind, Some(a), Some(b)));
                }
            }
            _ => {
                // Several installs of one name (or none on a side): by exact version.
                let versions = |ps: &[&LockedPackage]| -> BTreeSet<(String, Option<String>)> {
                    ps.iter()
                        .map(|p| (p.version.clone(), p.build.clone()))
                        .collect()
                };
                let (ov, nv) = (versions(o), versions(n));
                for p in o
                    .iter()
                    .filter(|p| !nv.contains(&(p.version.clone(), p.build.clone())))
                {
                    out.push(change(ChangeKind::Removed, Some(p), None));
                }
                for p in n
                    .iter()
                    .filter(|p| !ov.contains(&(p.version.clone(), p.build.clone())))
                {
                    out.push(change(ChangeKind::Added, None, Some(p)));
                }
            }
        }
    }
    out
}

/// Firmness order: lower is firmer.
fn firmness(p: PinState) -> u8 {
    match p {
        PinState::ExactWithBuild => 0,
        PinState::Exact => 1,
        PinState::Fuzzy => 2,
        PinState::Wildcard => 3,
        PinState::Range => 4,
        PinState::Template => 5,
        PinState::Unpinned => 6,
    }
}

fn pin_changes(old: &[Declared], new: &[Declared]) -> Vec<PinChange> {
    let (old, new) = (index_declared(old), index_declared(new));
    let keys: BTreeSet<&(Ecosystem, String)> = old.keys().chain(new.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let (o, n) = (old.get(key), new.get(key));
        if let (Some(o), Some(n)) = (o, n)
            && o.spec == n.spec
            && o.pin == n.pin
        {
            continue;
        }
        let loosened = match (o, n) {
            (Some(o), Some(n)) => firmness(n.pin) > firmness(o.pin),
            _ => false,
        };
        out.push(PinChange {
            ecosystem: key.0,
            name: key.1.clone(),
            old_spec: o.map(|d| d.spec.clone()),
            new_spec: n.map(|d| d.spec.clone()),
            old_pin: o.map(|d| d.pin),
            new_pin: n.map(|d| d.pin),
            loosened,
        });
    }
    out
}

/// The findings one environment's comparison gives.
fn findings_of(d: &EnvironmentDiff) -> Vec<Finding> {
    let mut out = Vec::new();
    if d.silent_drift {
        let what = if d.packages.is_empty() {
            "the image changed".to_owned()
        } else {
            format!("{} installed package(s) changed", d.packages.len())
        };
        out.push(
            Finding::new(
                Code::SilentDrift,
                format!(
                    "`{}`: {what} while the definition hash stayed the same",
                    d.name
                ),
            )
            .with_package(d.name.clone()),
        );
    }
    if d.status != EnvironmentStatus::Unchanged {
        let what = match d.status {
            EnvironmentStatus::Added => "added".to_owned(),
            EnvironmentStatus::Removed => "removed".to_owned(),
            _ => {
                let mut parts = Vec::new();
                if d.definition_changed {
                    parts.push("definition".to_owned());
                }
                if d.image_changed {
                    parts.push("image".to_owned());
                }
                if !d.packages.is_empty() {
                    parts.push(format!("{} package(s)", d.packages.len()));
                }
                if parts.is_empty() {
                    "snapshot details".to_owned()
                } else {
                    parts.join(", ")
                }
            }
        };
        out.push(
            Finding::new(Code::Changed, format!("`{}`: {what} changed", d.name))
                .with_package(d.name.clone()),
        );
    }
    for p in d
        .packages
        .iter()
        .filter(|p| p.kind == ChangeKind::Downgraded)
    {
        out.push(
            Finding::new(
                Code::Downgrade,
                format!(
                    "`{}`: {} {} → {}",
                    d.name,
                    p.name,
                    p.old_version.as_deref().unwrap_or_default(),
                    p.new_version.as_deref().unwrap_or_default()
                ),
            )
            .with_package(p.name.clone()),
        );
    }
    for p in d.pins.iter().filter(|p| p.loosened) {
        out.push(
            Finding::new(
                Code::PinLoosened,
                format!(
                    "`{}`: `{}` became `{}`",
                    d.name,
                    p.old_spec.as_deref().unwrap_or_default(),
                    p.new_spec.as_deref().unwrap_or_default()
                ),
            )
            .with_package(p.name.clone()),
        );
    }
    if !d.incomplete.is_empty() {
        out.push(
            Finding::new(
                Code::CatalogIncomplete,
                format!("`{}`: {}", d.name, d.incomplete.join("; ")),
            )
            .with_package(d.name.clone()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::DefinitionKind;
    use crate::model::{Digest, PackageName};

    fn pkg(eco: Ecosystem, name: &str, version: &str, build: Option<&str>) -> LockedPackage {
        let name = match eco {
            Ecosystem::Pip => PackageName::pip(name),
            _ => PackageName::conda(name),
        };
        LockedPackage {
            build: build.map(Into::into),
            prefix: Some("/env".into()),
            ..LockedPackage::new(eco, name, version)
        }
    }

    fn snap(
        hash: &str,
        image: &str,
        packages: Vec<LockedPackage>,
        declared: Vec<Declared>,
    ) -> Snapshot {
        let mut s = Snapshot {
            id: String::new(),
            definition: "env.yml".into(),
            definition_kind: Some(DefinitionKind::Conda),
            definition_hash: Digest::sha256_of(hash.as_bytes()),
            image: Some("img:1".into()),
            image_manifest: Some(Digest::sha256_of(image.as_bytes())),
            completeness: Completeness::Complete,
            declared,
            packages,
            ..Snapshot::placeholder("")
        };
        s.seal();
        s
    }

    fn decl(name: &str, spec: &str, pin: PinState) -> Declared {
        Declared {
            ecosystem: Ecosystem::Conda,
            name: Some(PackageName::conda(name)),
            spec: spec.into(),
            pin,
        }
    }

    #[test]
    fn same_hash_new_versions_is_silent_drift() {
        use Ecosystem::{Conda, Pip};
        let old = snap(
            "h",
            "i1",
            vec![
                pkg(Conda, "numpy", "1.26.4", Some("py310_0")),
                pkg(Conda, "scipy", "1.13.0", Some("a")),
                pkg(Pip, "pandas", "2.2.2", None),
                pkg(Pip, "gone", "1.0", None),
                pkg(Pip, "older", "2.0", None),
            ],
            vec![],
        );
        let new = snap(
            "h",
            "i2",
            vec![
                pkg(Conda, "numpy", "1.26.4", Some("py310_1")),
                pkg(Conda, "scipy", "1.14.1", Some("a")),
                pkg(Pip, "pandas", "2.2.2", None),
                pkg(Pip, "fresh", "0.1", None),
                pkg(Pip, "older", "1.9", None),
            ],
            vec![],
        );
        let d = snapshots("train", Some(&old), Some(&new));
        assert!(d.silent_drift && d.image_changed && !d.definition_changed);
        let kinds: Vec<(&str, ChangeKind)> = d
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("numpy", ChangeKind::Rebuilt),
                ("scipy", ChangeKind::Upgraded),
                ("fresh", ChangeKind::Added),
                ("gone", ChangeKind::Removed),
                ("older", ChangeKind::Downgraded),
            ]
        );
        let codes: Vec<Code> = findings_of(&d).iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::SilentDrift, Code::Changed, Code::Downgrade]);
    }

    #[test]
    fn same_versions_compare_without_parsing_and_rebuilds_are_found() {
        use Ecosystem::{Conda, Deb, Pip};
        let mut channel = pkg(Conda, "scipy", "1.13.0", Some("a"));
        channel.channel = Some("conda-forge".into());
        let old = vec![
            pkg(Conda, "numpy", "1.26.4", Some("py310_0")),
            pkg(Conda, "scipy", "1.13.0", Some("a")),
            pkg(Pip, "not a version", "not a version", None),
            pkg(Deb, "libc6", "2.36-9+deb12u4", None),
            pkg(Pip, "spelled", "1.0", None),
        ];
        let new = vec![
            pkg(Conda, "numpy", "1.26.4", Some("py310_1")),
            channel,
            pkg(Pip, "not a version", "not a version", None),
            pkg(Deb, "libc6", "2.36-9+deb12u4", None),
            pkg(Pip, "spelled", "1.0.0", None),
        ];
        let changes = package_changes(&old, &new);
        let kinds: Vec<(&str, ChangeKind)> =
            changes.iter().map(|p| (p.name.as_str(), p.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("numpy", ChangeKind::Rebuilt),
                ("scipy", ChangeKind::Rebuilt),
                ("spelled", ChangeKind::Rebuilt),
            ]
        );
        assert!(package_changes(&old, &old).is_empty());
    }

    #[test]
    fn a_changed_definition_is_not_silent() {
        let old = snap(
            "h1",
            "i1",
            vec![pkg(Ecosystem::Pip, "a", "1", None)],
            vec![],
        );
        let new = snap(
            "h2",
            "i2",
            vec![pkg(Ecosystem::Pip, "a", "2", None)],
            vec![],
        );
        let d = snapshots("e", Some(&old), Some(&new));
        assert!(d.definition_changed && !d.silent_drift);
        assert_eq!(d.status, EnvironmentStatus::Changed);
        let same = snapshots("e", Some(&old), Some(&old));
        assert_eq!(same.status, EnvironmentStatus::Unchanged);
        assert!(findings_of(&same).is_empty());
    }

    #[test]
    fn pins_that_loosen_are_found() {
        let old = snap(
            "h1",
            "i",
            vec![],
            vec![decl("numpy", "numpy==1.26.4", PinState::Exact)],
        );
        let new = snap(
            "h2",
            "i",
            vec![],
            vec![decl("numpy", "numpy", PinState::Unpinned)],
        );
        let d = snapshots("e", Some(&old), Some(&new));
        assert_eq!(d.pins.len(), 1);
        assert!(d.pins[0].loosened);
        let back = snapshots("e", Some(&new), Some(&old));
        assert!(!back.pins[0].loosened);
        assert!(findings_of(&d).iter().any(|f| f.code == Code::PinLoosened));
    }

    #[test]
    fn environments_added_and_removed() {
        let mut a = Lockfile::default();
        let mut b = Lockfile::default();
        a.environments
            .insert("old".into(), snap("h", "i", vec![], vec![]));
        b.environments
            .insert("new".into(), snap("h", "i", vec![], vec![]));
        let r = lockfiles(&a, &b, "@HEAD", "@", None);
        let st: Vec<_> = r
            .environments
            .iter()
            .map(|e| (e.name.as_str(), e.status))
            .collect();
        assert_eq!(
            st,
            [
                ("new", EnvironmentStatus::Added),
                ("old", EnvironmentStatus::Removed)
            ]
        );
        assert_eq!(r.totals().added, 1);
        let only = lockfiles(&a, &b, "a", "b", Some("new"));
        assert_eq!(only.environments.len(), 1);
    }
}
