//! The machine a rebuild would install for: its Python, architecture and C library, read from
//! the locked snapshot (the image that ran), or given on the command line. A `--rootfs` lock
//! whose snapshot does not tell its architecture or C library (a folder holding a venv and
//! no system packages) installs for the machine that predicts ([`Host`]): a live filesystem
//! is the host's, or runs on one like it.
//!
//! The host's C library is read from its dynamic loader, at the path each architecture's ABI
//! fixes (`/lib64/ld-linux-x86-64.so.2`, `/lib/ld-linux-aarch64.so.1`, musl's
//! `/lib/ld-musl-ARCH.so.1`), without running anything: glibc's loader carries its version in
//! the banner it prints for `--version` (`... stable release version 2.36.`), musl's as a
//! string of its own (`1.2.3`). This is the glibc that `packaging`, and so pip, sees on the
//! host (through `confstr`), and what `uv` reads by running that loader; envaudit reads the
//! file instead, as its library forbids `unsafe` (so no `gnu_get_libc_version`) and spawns no
//! process.

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
    /// name`, `host /lib64/ld-linux-x86-64.so.2` (a `--rootfs` lock), `--glibc`.
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
    /// The machine that predicts ([`Host::detect`]): a `--rootfs` lock whose snapshot does
    /// not tell its architecture or C library installs for it.
    pub host: Option<Host>,
}

/// The machine envaudit runs on, as a `--rootfs` lock's target (see the module
/// documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// The architecture as Python's `platform.machine()` says it (`x86_64`, `aarch64`).
    pub machine: String,
    /// The C library; `None` when no loader of the architecture could be read.
    pub libc: Option<Libc>,
    /// The loader it was read from (`/lib64/ld-linux-x86-64.so.2`).
    pub libc_from: Option<String>,
}

/// The largest loader read: 16 MiB (glibc's is about 0.2 MiB, musl's 0.7 MiB).
const MAX_LOADER_LEN: u64 = 16 << 20;

impl Host {
    /// This machine: its architecture, and its C library read from its loader.
    pub fn detect() -> Host {
        let machine = match std::env::consts::ARCH {
            "x86" => "i686",
            "arm" => "armv7l",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "powerpc64" => "ppc64",
            other => other,
        };
        Host::of_root(std::path::Path::new("/"), machine)
    }

    /// The machine of architecture `machine` (`platform.machine()`'s spelling) whose
    /// filesystem is at `root`: its glibc loader if it has one, else its musl loader.
    pub fn of_root(root: &std::path::Path, machine: &str) -> Host {
        let read = |path: &str| -> Option<Vec<u8>> {
            use std::io::Read as _;
            let file = std::fs::File::open(root.join(path.trim_start_matches('/'))).ok()?;
            let mut bytes = Vec::new();
            file.take(MAX_LOADER_LEN).read_to_end(&mut bytes).ok()?;
            Some(bytes)
        };
        let glibc = glibc_loader(machine).and_then(|path| {
            let libc = loader_libc(&read(path)?)?;
            Some((libc, path.to_owned()))
        });
        let found = glibc.or_else(|| {
            let path = format!("/lib/ld-musl-{}.so.1", musl_arch(machine));
            Some((loader_libc(&read(&path)?)?, path))
        });
        Host {
            machine: machine.to_owned(),
            libc: found.as_ref().map(|(libc, _)| *libc),
            libc_from: found.map(|(_, path)| path),
        }
    }
}

/// The C library a dynamic loader's bytes are of, with its version: glibc's banner, else
/// musl's version string (see [`Host`]).
pub fn loader_libc(bytes: &[u8]) -> Option<Libc> {
    glibc_banner(bytes)
        .map(|(major, minor)| Libc::Glibc(major, minor))
        .or_else(|| musl_version(bytes).map(|(major, minor)| Libc::Musl(major, minor)))
}

/// The path of glibc's dynamic loader on an architecture, as its ABI fixes it.
fn glibc_loader(machine: &str) -> Option<&'static str> {
    Some(match machine {
        "x86_64" => "/lib64/ld-linux-x86-64.so.2",
        "aarch64" => "/lib/ld-linux-aarch64.so.1",
        "ppc64le" => "/lib64/ld64.so.2",
        "ppc64" => "/lib64/ld64.so.1",
        "s390x" => "/lib/ld64.so.1",
        "i686" => "/lib/ld-linux.so.2",
        "armv7l" => "/lib/ld-linux-armhf.so.3",
        "riscv64" => "/lib/ld-linux-riscv64-lp64d.so.1",
        "loongarch64" => "/lib64/ld-linux-loongarch-lp64d.so.1",
        _ => return None,
    })
}

/// musl's name of an architecture, in its loader's file name.
fn musl_arch(machine: &str) -> &str {
    match machine {
        "ppc64le" => "powerpc64le",
        "ppc64" => "powerpc64",
        "i686" => "i386",
        "armv7l" => "armhf",
        other => other,
    }
}

/// glibc's `major.minor` from the banner its loader (and `libc.so.6`) carries:
/// `ld.so (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.` (a development
/// snapshot says `development release version 2.39.9000`).
fn glibc_banner(bytes: &[u8]) -> Option<(u16, u16)> {
    const MARK: &[u8] = b"release version ";
    let at = bytes.windows(MARK.len()).position(|w| w == MARK)? + MARK.len();
    let rest = &bytes[at..bytes.len().min(at + 16)];
    let end = rest
        .iter()
        .position(|b| !b.is_ascii_digit() && *b != b'.')
        .unwrap_or(rest.len());
    major_minor(std::str::from_utf8(&rest[..end]).ok()?)
}

/// musl's `major.minor` from its loader: the one `N.N.N` string among its NUL-separated
/// strings (the loader prints it after `musl libc (ARCH)` and `Version `); `None` when the
/// file is not musl's or holds no such string, or several that disagree.
fn musl_version(bytes: &[u8]) -> Option<(u16, u16)> {
    const MARK: &[u8] = b"musl libc";
    bytes.windows(MARK.len()).position(|w| w == MARK)?;
    let mut found: Option<(u16, u16)> = None;
    for token in bytes.split(|b| *b == 0) {
        let Ok(text) = std::str::from_utf8(token) else {
            continue;
        };
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        let version = major_minor(text)?;
        match found {
            Some(v) if v != version => return None,
            _ => found = Some(version),
        }
    }
    found
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
        // the host, for a `--rootfs` lock whose snapshot does not tell
        let host = overrides
            .host
            .as_ref()
            .filter(|_| snapshot.rootfs.is_some());
        let machine = overrides.machine.clone().unwrap_or_else(|| {
            let platform = snapshot
                .image_platform
                .as_deref()
                .or(recorded.and_then(|p| p.platform.as_deref()));
            match (platform, host) {
                (None, Some(h)) => h.machine.clone(),
                (p, _) => machine_of(p.unwrap_or_default()).to_owned(),
            }
        });
        let (libc, libc_from) = match &overrides.glibc {
            Some(text) => {
                let libc = glibc(text).ok_or_else(|| TargetError::Invalid {
                    what: "glibc version",
                    value: text.clone(),
                })?;
                (Some(libc), Some("--glibc".to_owned()))
            }
            None => match (libc_of(snapshot), host) {
                (Some((libc, from)), _) => (Some(libc), Some(from)),
                (None, Some(h)) if h.machine == machine && h.libc.is_some() => (
                    h.libc,
                    h.libc_from.as_ref().map(|loader| format!("host {loader}")),
                ),
                (None, _) => (None, None),
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

    /// The loader of this machine, copied to a folder as that folder's root, gives the glibc
    /// `getconf GNU_LIBC_VERSION` reports (the `confstr` value pip sees); a folder without
    /// a loader gives none, and so does a file that is not a loader.
    #[test]
    fn the_hosts_glibc_is_read_from_its_loader() {
        let host = Host::detect();
        let getconf = std::process::Command::new("getconf")
            .arg("GNU_LIBC_VERSION")
            .output()
            .expect("getconf runs");
        let text = String::from_utf8(getconf.stdout).unwrap();
        let (major, minor) = major_minor(text.trim().trim_start_matches("glibc ")).unwrap();
        assert_eq!(host.libc, Some(Libc::Glibc(major, minor)), "{host:?}");
        let loader = host.libc_from.clone().unwrap();
        let root = tempfile::tempdir().unwrap();
        let copy = root.path().join(loader.trim_start_matches('/'));
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(&loader, &copy).unwrap();
        assert_eq!(Host::of_root(root.path(), &host.machine), host);
        std::fs::write(&copy, b"\x7fELF not a loader").unwrap();
        assert_eq!(Host::of_root(root.path(), &host.machine).libc, None);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(Host::of_root(empty.path(), "x86_64").libc, None);
        assert_eq!(Host::of_root(empty.path(), "sparc").libc, None);
    }

    #[test]
    fn loader_versions_are_read_from_their_strings() {
        let glibc =
            b"\0ld.so (Ubuntu GLIBC 2.35-0ubuntu3.8) stable release version 2.35.\nCopyright";
        assert_eq!(glibc_banner(glibc), Some((2, 35)));
        assert_eq!(
            glibc_banner(b"development release version 2.39.9000.\n"),
            Some((2, 39))
        );
        assert_eq!(glibc_banner(b"release version x"), None);
        assert_eq!(glibc_banner(b"release version "), None);
        // musl's loader: its name, `Version %s`, and the version on its own
        let musl = b"\0musl libc (x86_64)\nVersion %s\nDynamic Program Loader\0%s\x001.2.4\0/lib\0";
        assert_eq!(musl_version(musl), Some((1, 2)));
        assert_eq!(musl_version(b"\x001.2.4\0"), None, "not musl's");
        assert_eq!(
            musl_version(b"musl libc\x001.2.4\x001.1.24\0"),
            None,
            "ambiguous"
        );
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
            host: None,
        };
        let t = Target::of(snap, Some(prefix), &o).unwrap();
        assert_eq!(
            (t.python.as_str(), t.conda_subdir.as_str()),
            ("3.12.1", "linux-aarch64")
        );
        assert_eq!(t.libc, Some(Libc::Glibc(2, 28)));
    }
}
