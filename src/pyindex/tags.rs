//! Which wheels an image can install: the target's supported tags, in pip's order of
//! preference (PEP 425, with PEP 600 `manylinux_x_y` and PEP 656 `musllinux_x_y`
//! platforms).
//!
//! [`SupportedTags::new`] lists what `packaging.tags.sys_tags()` lists on the target, so what
//! pip would accept there:
//!
//! 1. `cp3X-cp3X-P` for every platform `P`, then `cp3X-abi3-P`, then `cp3X-none-P`, then
//!    `cp3Y-abi3-P` for `Y` from `X-1` down to 2;
//! 2. `py3X-none-P`, `py3-none-P`, `py3Y-none-P` (`Y` from `X-1` down to 0);
//! 3. `cp3X-none-any`, then `py3X-none-any`, `py3-none-any`, `py3Y-none-any`.
//!
//! The platforms `P`, most specific first: `manylinux_2_Y_ARCH` from the target's glibc
//! down to `2_17` (`2_5` on x86), each followed by its legacy alias where there is one
//! (`manylinux2014` for 2.17, `manylinux2010` for 2.12, `manylinux1` for 2.5); or
//! `musllinux_1_Y_ARCH` from the target's musl down to `1_0`; and `linux_ARCH`, last with
//! the `packaging` of pip before 26.3 and first from then on ([`LinuxTagOrder`]).
//!
//! `tests/vectors/wheel_tags.json` (`packaging` 26.4) and
//! `tests/vectors/wheel_tags_packaging25.json` (25.0, as pip 25.3 vendors it) hold
//! `packaging`'s own lists for a dozen targets (made by `scripts/gen-wheel-tag-vectors.py`),
//! and a test compares them entry by entry.
//!
//! Not modelled: free-threaded CPython (`cp313t`), debug builds (`cp3Xd`), `PyPy`, and
//! 32-bit userlands on 64-bit kernels (`armv8l`).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::filename::WheelFilename;
use crate::model::Platform;

/// A compatibility tag: `python-abi-platform`, lowercased.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    /// The Python tag: `cp312`, `py3`.
    pub python: String,
    /// The ABI tag: `cp312`, `abi3`, `none`.
    pub abi: String,
    /// The platform tag: `manylinux_2_17_x86_64`, `any`.
    pub platform: String,
}

impl Tag {
    /// A tag from its three parts, lowercased.
    pub fn new(python: &str, abi: &str, platform: &str) -> Self {
        Self {
            python: python.to_ascii_lowercase(),
            abi: abi.to_ascii_lowercase(),
            platform: platform.to_ascii_lowercase(),
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.python, self.abi, self.platform)
    }
}

/// The Python implementation of the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Implementation {
    /// CPython (`cp`), the only one envaudit predicts for.
    CPython,
}

/// The operating system of the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Os {
    /// Linux, the only one envaudit predicts for (images are Linux).
    Linux,
}

/// The C library of a Linux target, which decides its `manylinux` or `musllinux` tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Libc {
    /// glibc `major.minor` (`2.35`): `manylinux` wheels up to that version.
    Glibc(u16, u16),
    /// musl `major.minor` (`1.2`): `musllinux` wheels up to that version.
    Musl(u16, u16),
    /// Unknown: only `linux_ARCH` and pure wheels.
    Unknown,
}

impl fmt::Display for Libc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Libc::Glibc(major, minor) => write!(f, "glibc {major}.{minor}"),
            Libc::Musl(major, minor) => write!(f, "musl {major}.{minor}"),
            Libc::Unknown => f.write_str("unknown"),
        }
    }
}

/// As its text (`glibc 2.35`), in reports.
impl serde::Serialize for Libc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A CPU architecture, in the spelling of Linux wheel platform tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// `x86_64` (OCI `amd64`).
    X86_64,
    /// `i686` (OCI `386`).
    I686,
    /// `aarch64` (OCI `arm64`).
    Aarch64,
    /// `armv7l` (OCI `arm/v7`).
    Armv7l,
    /// `ppc64le`.
    Ppc64le,
    /// `ppc64` (big endian).
    Ppc64,
    /// `s390x`.
    S390x,
    /// `riscv64`.
    Riscv64,
    /// `loongarch64` (OCI `loong64`).
    Loongarch64,
}

impl Arch {
    /// The name in wheel platform tags (`x86_64`, `aarch64`).
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::I686 => "i686",
            Arch::Aarch64 => "aarch64",
            Arch::Armv7l => "armv7l",
            Arch::Ppc64le => "ppc64le",
            Arch::Ppc64 => "ppc64",
            Arch::S390x => "s390x",
            Arch::Riscv64 => "riscv64",
            Arch::Loongarch64 => "loongarch64",
        }
    }

    /// The architecture of an OCI platform (`linux/amd64`, `linux/arm64/v8`,
    /// `linux/arm/v7`), if it has wheels of its own.
    pub fn from_platform(platform: &Platform) -> Option<Self> {
        match (platform.architecture(), platform.variant()) {
            ("arm", Some("v7")) => Some(Arch::Armv7l),
            ("arm", _) => None,
            (a, _) => a.parse().ok(),
        }
    }

    fn is_x86(self) -> bool {
        matches!(self, Arch::X86_64 | Arch::I686)
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a known architecture.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown architecture `{0}`")]
pub struct UnknownArch(pub String);

impl FromStr for Arch {
    type Err = UnknownArch;

    /// The wheel spelling (`x86_64`, `aarch64`, `armv7l`) or Go's, as OCI platforms write it
    /// (`amd64`, `arm64`, `386`, `loong64`), ASCII case ignored.
    fn from_str(s: &str) -> Result<Self, UnknownArch> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "x86_64" | "amd64" => Arch::X86_64,
            "i686" | "386" | "i386" => Arch::I686,
            "aarch64" | "arm64" => Arch::Aarch64,
            "armv7l" => Arch::Armv7l,
            "ppc64le" => Arch::Ppc64le,
            "ppc64" => Arch::Ppc64,
            "s390x" => Arch::S390x,
            "riscv64" => Arch::Riscv64,
            "loongarch64" | "loong64" => Arch::Loongarch64,
            _ => return Err(UnknownArch(s.to_owned())),
        })
    }
}

/// Where the native `linux_ARCH` platform goes in the list, which depends on the `packaging`
/// that the image's pip vendors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LinuxTagOrder {
    /// `manylinux`/`musllinux` first, `linux_ARCH` last: `packaging` before 26.3 (pip 26.0
    /// vendors 26.0, pip 25.3 vendors 25.0, and older pips older ones).
    #[default]
    ManylinuxFirst,
    /// `linux_ARCH` first: `packaging` 26.3 and later (vendored by pip 26.3).
    NativeFirst,
}

impl LinuxTagOrder {
    /// The order of the `packaging` that pip `version` vendors: native first from pip 26.3.
    ///
    /// # Panics
    ///
    /// Never: `26.3` is a constant that parses.
    pub fn for_pip(version: &crate::python::Version) -> Self {
        let since: crate::python::Version = "26.3".parse().expect("a valid version");
        if *version >= since {
            LinuxTagOrder::NativeFirst
        } else {
            LinuxTagOrder::ManylinuxFirst
        }
    }
}

/// The machine a prediction is for: what pip would run on inside the image.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TargetPlatform {
    /// The Python version `(major, minor)`, from the locked prefix's interpreter.
    pub python: (u8, u8),
    /// The interpreter implementation.
    pub implementation: Implementation,
    /// The CPU architecture.
    pub arch: Arch,
    /// The operating system.
    pub os: Os,
    /// The C library and its version, from the image.
    pub libc: Libc,
    /// Where `linux_ARCH` goes, from the image's pip version ([`LinuxTagOrder::for_pip`]).
    pub linux_tag_order: LinuxTagOrder,
}

impl TargetPlatform {
    /// CPython `python` on Linux `arch` with `libc`, for a pip older than 26.3 (set
    /// [`TargetPlatform::linux_tag_order`] for a newer one).
    pub fn linux(python: (u8, u8), arch: Arch, libc: Libc) -> Self {
        Self {
            python,
            implementation: Implementation::CPython,
            arch,
            os: Os::Linux,
            libc,
            linux_tag_order: LinuxTagOrder::ManylinuxFirst,
        }
    }

    /// The platform tags, most specific first (`packaging.tags.platform_tags()` on the
    /// target).
    pub fn platform_tags(&self) -> Vec<String> {
        let arch = self.arch.as_str();
        let native = format!("linux_{arch}");
        let mut out = Vec::new();
        if self.linux_tag_order == LinuxTagOrder::NativeFirst {
            out.push(native.clone());
        }
        match self.libc {
            Libc::Glibc(major, minor) => {
                // packaging's `_manylinux.platform_tags`: from the current glibc down to the
                // oldest of its major version that manylinux covers, then each older major
                // version from its minor 50 down.
                let too_old: (u16, i32) = if self.arch.is_x86() { (2, 4) } else { (2, 16) };
                let mut maxima = vec![(major, minor)];
                maxima.extend((2..major).rev().map(|m| (m, 50)));
                for (gmajor, gminor) in maxima {
                    let min_minor = if gmajor == too_old.0 { too_old.1 } else { -1 };
                    for m in ((min_minor + 1)..=i32::from(gminor)).rev() {
                        out.push(format!("manylinux_{gmajor}_{m}_{arch}"));
                        let legacy = match (gmajor, m) {
                            (2, 17) => Some("manylinux2014"),
                            (2, 12) => Some("manylinux2010"),
                            (2, 5) => Some("manylinux1"),
                            _ => None,
                        };
                        if let Some(l) = legacy {
                            out.push(format!("{l}_{arch}"));
                        }
                    }
                }
            }
            Libc::Musl(major, minor) => {
                out.extend(
                    (0..=minor)
                        .rev()
                        .map(|m| format!("musllinux_{major}_{m}_{arch}")),
                );
            }
            Libc::Unknown => {}
        }
        if self.linux_tag_order == LinuxTagOrder::ManylinuxFirst {
            out.push(native);
        }
        out
    }
}

/// The tags a target supports, in pip's order of preference, with a look-up of a tag's
/// place. Build it once per target and reuse it.
#[derive(Clone, Debug)]
pub struct SupportedTags {
    tags: Vec<Tag>,
    priority: HashMap<String, usize>,
}

impl SupportedTags {
    /// The tags of `target`, as `packaging.tags.sys_tags()` orders them there.
    pub fn new(target: &TargetPlatform) -> Self {
        let (major, minor) = target.python;
        let platforms = target.platform_tags();
        let nodot = |mi: u8| format!("{major}{mi}");
        let interp = format!("cp{}", nodot(minor));
        // `_cpython_abis`: before 3.8 the default build is pymalloc (`m`).
        let abi = if (major, minor) < (3, 8) {
            format!("{interp}m")
        } else {
            interp.clone()
        };
        let abi3 = (major, minor) >= (3, 2);
        let mut tags = Vec::new();
        let push_all = |tags: &mut Vec<Tag>, python: &str, abi: &str| {
            tags.extend(platforms.iter().map(|p| Tag::new(python, abi, p)));
        };
        // cpython_tags
        push_all(&mut tags, &interp, &abi);
        if abi3 {
            push_all(&mut tags, &interp, "abi3");
        }
        push_all(&mut tags, &interp, "none");
        if abi3 {
            for mi in (2..minor).rev() {
                push_all(&mut tags, &format!("cp{}", nodot(mi)), "abi3");
            }
        }
        // compatible_tags
        let mut py_range = vec![format!("py{}", nodot(minor)), format!("py{major}")];
        py_range.extend((0..minor).rev().map(|mi| format!("py{}", nodot(mi))));
        for py in &py_range {
            push_all(&mut tags, py, "none");
        }
        tags.push(Tag::new(&interp, "none", "any"));
        tags.extend(py_range.iter().map(|py| Tag::new(py, "none", "any")));

        let mut priority = HashMap::with_capacity(tags.len());
        for (i, t) in tags.iter().enumerate() {
            priority.entry(t.to_string()).or_insert(i);
        }
        Self { tags, priority }
    }

    /// The tags, most preferred first.
    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }

    /// The place of a tag in the list (0 = most preferred), if the target supports it.
    pub fn priority(&self, python: &str, abi: &str, platform: &str) -> Option<usize> {
        self.priority
            .get(&format!("{python}-{abi}-{platform}"))
            .copied()
    }

    /// The best (lowest) place of any of the wheel's tags, or `None` if the target cannot
    /// install the wheel. Between two wheels of one version pip picks the lower one (then
    /// the higher build tag), as `Wheel.find_most_preferred_tag` does.
    pub fn best_tag_priority(&self, wheel: &WheelFilename) -> Option<usize> {
        wheel
            .tags()
            .filter_map(|(p, a, pl)| self.priority(p, a, pl))
            .min()
    }

    /// Whether the target can install the wheel.
    pub fn is_compatible(&self, wheel: &WheelFilename) -> bool {
        self.best_tag_priority(wheel).is_some()
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Vectors {
        packaging: String,
        linux_tag_order: String,
        targets: Vec<VectorTarget>,
    }

    #[derive(Deserialize)]
    struct VectorTarget {
        python: (u8, u8),
        arch: String,
        glibc: Option<(u16, u16)>,
        musl: Option<(u16, u16)>,
        tags: Vec<String>,
    }

    #[test]
    fn supported_tags_match_packaging_entry_by_entry() {
        for (text, order) in [
            (
                include_str!("../../tests/vectors/wheel_tags.json"),
                LinuxTagOrder::NativeFirst,
            ),
            (
                include_str!("../../tests/vectors/wheel_tags_packaging25.json"),
                LinuxTagOrder::ManylinuxFirst,
            ),
        ] {
            let v: Vectors = serde_json::from_str(text).unwrap();
            let expected = match order {
                LinuxTagOrder::NativeFirst => "native-first",
                LinuxTagOrder::ManylinuxFirst => "manylinux-first",
            };
            assert_eq!(v.linux_tag_order, expected, "packaging {}", v.packaging);
            assert!(v.targets.len() >= 10);
            replay(&v, order);
        }
    }

    fn replay(v: &Vectors, order: LinuxTagOrder) {
        for t in &v.targets {
            let libc = match (t.glibc, t.musl) {
                (Some((a, b)), None) => Libc::Glibc(a, b),
                (None, Some((a, b))) => Libc::Musl(a, b),
                _ => Libc::Unknown,
            };
            let mut target = TargetPlatform::linux(t.python, t.arch.parse().unwrap(), libc);
            target.linux_tag_order = order;
            let ours: Vec<String> = SupportedTags::new(&target)
                .tags()
                .iter()
                .map(ToString::to_string)
                .collect();
            for (i, (a, b)) in ours.iter().zip(&t.tags).enumerate() {
                assert_eq!(a, b, "{target:?}: tag {i}");
            }
            assert_eq!(ours.len(), t.tags.len(), "{target:?}");
        }
    }

    fn wheel(s: &str) -> WheelFilename {
        WheelFilename::parse(s).unwrap()
    }

    #[test]
    fn pip_prefers_the_most_specific_wheel_the_target_accepts() {
        let t = SupportedTags::new(&TargetPlatform::linux(
            (3, 10),
            Arch::X86_64,
            Libc::Glibc(2, 31),
        ));
        let native = t.best_tag_priority(&wheel("a-1-cp310-cp310-manylinux_2_28_x86_64.whl"));
        let legacy = t.best_tag_priority(&wheel(
            "a-1-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        ));
        let abi3 = t.best_tag_priority(&wheel("a-1-cp38-abi3-manylinux2014_x86_64.whl"));
        let pure = t.best_tag_priority(&wheel("a-1-py2.py3-none-any.whl"));
        assert!(
            native < legacy && legacy < abi3 && abi3 < pure,
            "{native:?} {legacy:?} {abi3:?} {pure:?}"
        );
        assert!(pure.is_some());
        for no in [
            "a-1-cp310-cp310-manylinux_2_34_x86_64.whl",
            "a-1-cp310-cp310-manylinux_2_17_aarch64.whl",
            "a-1-cp311-cp311-manylinux_2_17_x86_64.whl",
            "a-1-cp310-cp310-musllinux_1_1_x86_64.whl",
            "a-1-cp311-abi3-manylinux_2_17_x86_64.whl",
            "a-1-py2-none-any.whl",
        ] {
            assert_eq!(t.best_tag_priority(&wheel(no)), None, "{no}");
        }
    }

    #[test]
    fn pip_26_3_puts_the_native_linux_tag_first() {
        let order = |v: &str| LinuxTagOrder::for_pip(&v.parse().unwrap());
        assert_eq!(order("23.2.1"), LinuxTagOrder::ManylinuxFirst);
        assert_eq!(order("26.0"), LinuxTagOrder::ManylinuxFirst);
        assert_eq!(order("26.3"), LinuxTagOrder::NativeFirst);
        let mut target = TargetPlatform::linux((3, 12), Arch::X86_64, Libc::Glibc(2, 17));
        assert_eq!(target.platform_tags().last().unwrap(), "linux_x86_64");
        target.linux_tag_order = LinuxTagOrder::NativeFirst;
        assert_eq!(target.platform_tags()[0], "linux_x86_64");
    }

    #[test]
    fn musl_targets_take_musllinux_and_not_manylinux() {
        let t = SupportedTags::new(&TargetPlatform::linux(
            (3, 12),
            Arch::Aarch64,
            Libc::Musl(1, 2),
        ));
        assert!(t.is_compatible(&wheel("a-1-cp312-cp312-musllinux_1_1_aarch64.whl")));
        assert!(!t.is_compatible(&wheel("a-1-cp312-cp312-manylinux_2_17_aarch64.whl")));
        assert!(!t.is_compatible(&wheel("a-1-cp312-cp312-musllinux_1_3_aarch64.whl")));
    }

    #[test]
    fn oci_platforms_name_their_wheel_architecture() {
        let arch = |s: &str| Arch::from_platform(&s.parse::<Platform>().unwrap());
        assert_eq!(arch("linux/amd64"), Some(Arch::X86_64));
        assert_eq!(arch("linux/arm64/v8"), Some(Arch::Aarch64));
        assert_eq!(arch("linux/arm/v7"), Some(Arch::Armv7l));
        assert_eq!(arch("linux/arm/v6"), None);
        assert_eq!(arch("linux/mips64le"), None);
    }
}
