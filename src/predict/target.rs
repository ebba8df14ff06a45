//! The machine a rebuild would install for: its Python, architecture and C library, read from
//! the locked snapshot (the image that ran), or given on the command line.

use serde::Serialize;

use crate::lockfile::Snapshot;
use crate::model::Ecosystem;
pub use crate::pyindex::Libc;
use crate::python::{MarkerEnv, Version};

/// The target of a prediction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The prefix the definition installs into (`/azureml-envs/...`, `/opt/venv`), as the
    /// lockfile records it.
    pub prefix: Option<String>,
    /// The full Python version of that prefix (`3.10.14`).
    pub python: String,
    /// The machine, as Python's `platform.machine()` says it (`x86_64`, `aarch64`).
    pub machine: String,
    /// The conda subdir of the machine (`linux-64`, `linux-aarch64`).
    pub conda_subdir: String,
    /// The C library: glibc or musl, with its version; `None` when nothing tells (only
    /// `any` wheels and pure sdists then fit).
    pub libc: Option<Libc>,
    /// Where [`Target::libc`] was read: `libc6 package`, `os ubuntu 22.04`, `base image
    /// name`, `--glibc`.
    pub libc_from: Option<String>,
}

/// What the command line says instead of the snapshot.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--python-version 3.11.4`
    pub python: Option<String>,
    /// `--machine aarch64`
    pub machine: Option<String>,
    /// `--glibc 2.28`
    pub glibc: Option<String>,
}

/// Why a target cannot be told.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    /// No prefix of the snapshot records a Python, and none was given.
    #[error(
        "the snapshot records no Python for the environment's prefix{}, and no system Python package; give the version the image runs (`--python-version 3.11.9`)",
        .0.as_deref().map(|p| format!(" `{p}`")).unwrap_or_default()
    )]
    NoPython(Option<String>),
    /// A given value does not read.
    #[error("`{value}` is not a valid {what}")]
    Invalid {
        /// What it should have been.
        what: &'static str,
        /// As given.
        value: String,
    },
}

impl Target {
    /// The target of the environment locked in `snapshot`: the prefix the definition
    /// installs into (`prefix`, usually the dependency graph's target prefix), its Python,
    /// the image's architecture and C library; `overrides` win.
    pub fn of(
        snapshot: &Snapshot,
        prefix: Option<&str>,
        overrides: &Overrides,
    ) -> Result<Target, TargetError> {
        let recorded = snapshot
            .prefixes
            .iter()
            .find(|p| Some(p.path.as_str()) == prefix)
            .or_else(|| snapshot.prefixes.iter().find(|p| p.python.is_some()));
        let python = match &overrides.python {
            Some(v) => {
                v.parse::<Version>().map_err(|_| TargetError::Invalid {
                    what: "Python version",
                    value: v.clone(),
                })?;
                v.clone()
            }
            None => recorded
                .and_then(|p| p.python.clone())
                .or_else(|| system_python(snapshot))
                .ok_or_else(|| TargetError::NoPython(prefix.map(str::to_owned)))?,
        };
        let machine = overrides.machine.clone().unwrap_or_else(|| {
            let platform = snapshot
                .image_platform
                .as_deref()
                .or(recorded.and_then(|p| p.platform.as_deref()))
                .unwrap_or_default();
            machine_of(platform).to_owned()
        });
        let (libc, libc_from) = match &overrides.glibc {
            Some(text) => {
                let libc = glibc(text).ok_or_else(|| TargetError::Invalid {
                    what: "glibc version",
                    value: text.clone(),
                })?;
                (Some(libc), Some("--glibc".to_owned()))
            }
            None => match libc_of(snapshot) {
                Some((libc, from)) => (Some(libc), Some(from)),
                None => (None, None),
            },
        };
        Ok(Target {
            prefix: prefix
                .map(str::to_owned)
                .or_else(|| recorded.map(|p| p.path.clone())),
            python,
            conda_subdir: conda_subdir(&machine).to_owned(),
            machine,
            libc,
            libc_from,
        })
    }

    /// The target's Python version (`0` when [`Target::python`] does not read, which
    /// [`Target::of`] never lets happen).
    ///
    /// # Panics
    ///
    /// Never: `0` is a version.
    pub fn python_version(&self) -> Version {
        self.python
            .parse()
            .unwrap_or_else(|_| "0".parse().expect("0 is a version"))
    }

    /// The PEP 508 environment markers are evaluated in.
    pub fn marker_env(&self) -> MarkerEnv {
        MarkerEnv::linux(&self.python, &self.machine)
    }
}

/// The system Python of a Debian or Alpine image, from its packages: Debian's
/// `libpython3.X-minimal`/`python3.X-minimal`/`python3.X` (`3.11.2-6+deb12u2` is 3.11.2),
/// Alpine's `python3` (`3.11.9-r0`). The highest minor wins when several are installed.
fn system_python(snapshot: &Snapshot) -> Option<String> {
    let upstream = |v: &str| {
        let v = v.split_once(':').map_or(v, |(_, v)| v);
        let end = v.find(['-', '+', '~']).unwrap_or(v.len());
        let v = &v[..end];
        (v.split('.').count() >= 2 && v.split('.').all(|p| p.parse::<u32>().is_ok()))
            .then(|| v.to_owned())
    };
    snapshot
        .packages
        .iter()
        .filter_map(|p| match p.ecosystem {
            Ecosystem::Deb => {
                let n = p.name.as_str();
                let stem = n
                    .strip_prefix("lib")
                    .unwrap_or(n)
                    .trim_end_matches("-minimal");
                stem.strip_prefix("python3.")
                    .filter(|m| m.parse::<u32>().is_ok())
                    .and_then(|_| upstream(&p.version))
            }
            Ecosystem::Apk if p.name.as_str() == "python3" => upstream(&p.version),
            _ => None,
        })
        .max_by(|a, b| crate::version::compare(Ecosystem::Pip, a, b))
}

/// `x86_64` for `linux/amd64`, `linux-64` or `amd64`; `aarch64` for the arm64 forms.
fn machine_of(platform: &str) -> &str {
    let arch = platform.rsplit(['/', '-']).next().unwrap_or(platform);
    match arch {
        "amd64" | "64" | "x86_64" | "" => "x86_64",
        "arm64" | "aarch64" | "v8" => "aarch64",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        other => other,
    }
}

/// conda's subdir for a machine.
fn conda_subdir(machine: &str) -> &'static str {
    match machine {
        "aarch64" => "linux-aarch64",
        "ppc64le" => "linux-ppc64le",
        "s390x" => "linux-s390x",
        _ => "linux-64",
    }
}

/// `2.35` of `2.35` or of Debian's `2.35-0ubuntu3.8`.
fn major_minor(text: &str) -> Option<(u16, u16)> {
    let mut parts = text.split(['.', '-', '+', '~']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn glibc(text: &str) -> Option<Libc> {
    major_minor(text).map(|(major, minor)| Libc::Glibc(major, minor))
}

/// The C library of the snapshot's system: Debian's `libc6` or Alpine's `musl` package, else
/// the release the snapshot's `os` names, else the release in the base image's name (Azure
/// ML's images are named `...-ubuntu22.04`); with where it was read.
fn libc_of(snapshot: &Snapshot) -> Option<(Libc, String)> {
    let package = snapshot.packages.iter().find_map(|p| {
        let version = p
            .version
            .split_once(':')
            .map_or(p.version.as_str(), |(_, v)| v);
        match (p.ecosystem, p.name.as_str()) {
            (Ecosystem::Deb, "libc6") => glibc(version),
            (Ecosystem::Apk, "musl") => {
                major_minor(version).map(|(major, minor)| Libc::Musl(major, minor))
            }
            _ => None,
        }
    });
    if let Some(libc) = package {
        let name = if matches!(libc, Libc::Musl(..)) {
            "musl"
        } else {
            "libc6"
        };
        return Some((libc, format!("{name} package")));
    }
    if let Some(os) = &snapshot.os
        && let Some(libc) = release_libc(os)
    {
        return Some((libc, format!("os {os}")));
    }
    let base = snapshot
        .base_image
        .as_deref()
        .or(snapshot.image.as_deref())?;
    release_libc(base).map(|libc| (libc, format!("base image name `{base}`")))
}

/// The glibc (or musl) a distribution release ships, from text that names the release
/// (`ubuntu 22.04`, `...-ubuntu20.04:tag`, `debian 12`).
fn release_libc(text: &str) -> Option<Libc> {
    const RELEASES: &[(&str, u16, u16)] = &[
        ("ubuntu24.04", 2, 39),
        ("ubuntu22.04", 2, 35),
        ("ubuntu20.04", 2, 31),
        ("ubuntu18.04", 2, 27),
        ("debian13", 2, 41),
        ("debian12", 2, 36),
        ("debian11", 2, 31),
        ("debian10", 2, 28),
        ("rhel9", 2, 34),
        ("rhel8", 2, 28),
        ("almalinux9", 2, 34),
        ("almalinux8", 2, 28),
        ("rocky9", 2, 34),
        ("rocky8", 2, 28),
        ("amzn2023", 2, 34),
    ];
    let squeezed: String = text
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .collect();
    if squeezed.contains("alpine") {
        return Some(Libc::Musl(1, 2));
    }
    RELEASES
        .iter()
        .find(|(name, ..)| squeezed.contains(name))
        .map(|&(_, major, minor)| Libc::Glibc(major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_and_libcs_read_as_the_lockfile_writes_them() {
        assert_eq!(machine_of("linux/amd64"), "x86_64");
        assert_eq!(machine_of("linux/arm64/v8"), "aarch64");
        assert_eq!(machine_of("linux-aarch64"), "aarch64");
        assert_eq!(machine_of("linux-64"), "x86_64");
        assert_eq!(conda_subdir("aarch64"), "linux-aarch64");
        assert_eq!(glibc("2.35-0ubuntu3.8"), Some(Libc::Glibc(2, 35)));
        assert_eq!(glibc("2.36-9+deb12u4"), Some(Libc::Glibc(2, 36)));
        assert_eq!(glibc("x"), None);
        assert_eq!(release_libc("ubuntu 22.04"), Some(Libc::Glibc(2, 35)));
        assert_eq!(release_libc("debian 12"), Some(Libc::Glibc(2, 36)));
        assert_eq!(release_libc("alpine 3.19"), Some(Libc::Musl(1, 2)));
        assert_eq!(release_libc("busybox"), None);
    }

    #[test]
    fn a_system_python_is_read_from_debian_and_alpine_packages() {
        let mut snap: Snapshot = Snapshot {
            packages: Vec::new(),
            ..crate::lockfile::Lockfile::load(std::path::Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/example/envaudit.lock"
            )))
            .unwrap()
            .environments["sklearn-train"]
                .clone()
        };
        let pkg = |eco: Ecosystem, name: &str, version: &str| crate::lockfile::LockedPackage {
            ecosystem: eco,
            name: crate::model::PackageName::new(eco, name),
            version: version.to_owned(),
            build: None,
            channel: None,
            python_dist: None,
            prefix: Some("/".to_owned()),
            licenses: Vec::new(),
            base: Some(true),
            requires: Vec::new(),
            url: None,
            sha256: None,
            md5: None,
            record: None,
        };
        assert_eq!(system_python(&snap), None);
        snap.packages = vec![
            pkg(Ecosystem::Deb, "python3", "3.11.2-1+b1"),
            pkg(Ecosystem::Deb, "python3.11-minimal", "3.11.2-6+deb12u2"),
            pkg(Ecosystem::Deb, "libpython3.9-minimal", "3.9.2-1"),
        ];
        assert_eq!(system_python(&snap).as_deref(), Some("3.11.2"));
        snap.packages = vec![pkg(Ecosystem::Apk, "python3", "3.12.3-r1")];
        assert_eq!(system_python(&snap).as_deref(), Some("3.12.3"));
    }

    #[test]
    fn the_example_snapshot_gives_its_prefix_python_and_glibc() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/example/envaudit.lock"
        );
        let lock = crate::lockfile::Lockfile::load(std::path::Path::new(dir)).unwrap();
        let snap = &lock.environments["sklearn-train"];
        let prefix = "/azureml-envs/azureml_8f2c0e4b6a1d3c5e7f9a0b2c4d6e8f01";
        let t = Target::of(snap, Some(prefix), &Overrides::default()).unwrap();
        assert_eq!(t.python, "3.10.14");
        assert_eq!(t.machine, "x86_64");
        assert_eq!(t.conda_subdir, "linux-64");
        assert_eq!(t.libc, Some(Libc::Glibc(2, 35)));
        assert_eq!(t.libc_from.as_deref(), Some("libc6 package"));
        let o = Overrides {
            python: Some("3.12.1".into()),
            machine: Some("aarch64".into()),
            glibc: Some("2.28".into()),
        };
        let t = Target::of(snap, Some(prefix), &o).unwrap();
        assert_eq!(
            (t.python.as_str(), t.conda_subdir.as_str()),
            ("3.12.1", "linux-aarch64")
        );
        assert_eq!(t.libc, Some(Libc::Glibc(2, 28)));
    }
}
