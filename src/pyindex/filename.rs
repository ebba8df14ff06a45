//! Distribution file names: wheels (PEP 427, with the compressed tag sets of PEP 425) and
//! source distributions (PEP 625's `{name}-{version}.tar.gz`, and the older archive forms
//! pip still accepts).
//!
//! A wheel name is `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`; each tag
//! part may be a `.`-separated set (`py2.py3-none-any`), and the wheel supports every
//! combination of them. Names are normalised ([`PackageName::pip`]), versions are PEP 440
//! ([`Version`]), tags are lowercased (as `packaging.tags.Tag` does).
//!
//! Bounds: a file name longer than [`MAX_FILENAME_LEN`] bytes, or a tag set of more than
//! [`MAX_TAGS_PER_SET`] entries, is rejected, so the tag combinations of one wheel stay few.

use std::fmt;
use std::str::FromStr;

use crate::model::PackageName;
use crate::python::Version;

/// The longest file name accepted, in bytes (Linux's `NAME_MAX` is 255; a little slack).
pub const MAX_FILENAME_LEN: usize = 512;

/// The most entries one tag set of a wheel name may have (`py2.py3` has 2; real wheels
/// have at most a handful).
pub const MAX_TAGS_PER_SET: usize = 32;

/// A parsed distribution file name: a wheel or a source distribution.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DistFilename {
    /// A built distribution, `*.whl`.
    Wheel(WheelFilename),
    /// A source distribution, `*.tar.gz`, `*.zip` and older archive forms.
    Sdist(SdistFilename),
}

impl DistFilename {
    /// Parses a wheel or sdist file name. A legacy sdist name is ambiguous
    /// (`foo-bar-1.0.tar.gz`); without the project name it is split at the last `-` that is
    /// followed by a valid version. Prefer [`DistFilename::parse_for`] when the project is
    /// known, as pip does.
    pub fn parse(filename: &str) -> Result<Self, InvalidFilename> {
        if filename.len() > MAX_FILENAME_LEN {
            return Err(invalid(filename, FilenameProblem::TooLong));
        }
        if has_suffix_ignore_case(filename, ".whl") {
            WheelFilename::parse(filename).map(DistFilename::Wheel)
        } else {
            SdistFilename::parse(filename, None).map(DistFilename::Sdist)
        }
    }

    /// Parses a file name found on `project`'s page: the name must normalise to `project`
    /// (pip skips files of other projects), and a legacy sdist name is split after the
    /// project's name.
    pub fn parse_for(filename: &str, project: &PackageName) -> Result<Self, InvalidFilename> {
        if filename.len() > MAX_FILENAME_LEN {
            return Err(invalid(filename, FilenameProblem::TooLong));
        }
        let parsed = if has_suffix_ignore_case(filename, ".whl") {
            DistFilename::Wheel(WheelFilename::parse(filename)?)
        } else {
            DistFilename::Sdist(SdistFilename::parse(filename, Some(project))?)
        };
        if parsed.name() != project {
            return Err(invalid(
                filename,
                FilenameProblem::OtherProject(parsed.name().clone()),
            ));
        }
        Ok(parsed)
    }

    /// The normalised project name.
    pub fn name(&self) -> &PackageName {
        match self {
            DistFilename::Wheel(w) => &w.name,
            DistFilename::Sdist(s) => &s.name,
        }
    }

    /// The version.
    pub fn version(&self) -> &Version {
        match self {
            DistFilename::Wheel(w) => &w.version,
            DistFilename::Sdist(s) => &s.version,
        }
    }

    /// The wheel name, if this is a wheel.
    pub fn as_wheel(&self) -> Option<&WheelFilename> {
        match self {
            DistFilename::Wheel(w) => Some(w),
            DistFilename::Sdist(_) => None,
        }
    }
}

impl FromStr for DistFilename {
    type Err = InvalidFilename;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for DistFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DistFilename::Wheel(w) => w.fmt(f),
            DistFilename::Sdist(s) => s.fmt(f),
        }
    }
}

/// A PEP 427 wheel file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WheelFilename {
    name: PackageName,
    version: Version,
    build: Option<BuildTag>,
    python: Vec<String>,
    abi: Vec<String>,
    platform: Vec<String>,
    /// The file name as written, for `Display`.
    original: String,
}

impl WheelFilename {
    /// Parses `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
    pub fn parse(filename: &str) -> Result<Self, InvalidFilename> {
        let bad = |problem| invalid(filename, problem);
        if filename.len() > MAX_FILENAME_LEN {
            return Err(bad(FilenameProblem::TooLong));
        }
        let stem =
            strip_suffix_ignore_case(filename, ".whl").ok_or(bad(FilenameProblem::NotADist))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build, tags) = match parts.as_slice() {
            [n, v, p, a, pl] => (*n, *v, None, [*p, *a, *pl]),
            [n, v, b, p, a, pl] => (*n, *v, Some(*b), [*p, *a, *pl]),
            _ => return Err(bad(FilenameProblem::WheelParts(parts.len()))),
        };
        let name = project_name(name).ok_or(bad(FilenameProblem::InvalidName))?;
        let version: Version = version
            .parse()
            .map_err(|_| bad(FilenameProblem::InvalidVersion(version.to_owned())))?;
        let build = build
            .map(|b| {
                b.parse::<BuildTag>()
                    .map_err(|()| bad(FilenameProblem::InvalidBuildTag(b.to_owned())))
            })
            .transpose()?;
        let [python, abi, platform] = tags.map(tag_set);
        let (python, abi, platform) = (
            python.ok_or(bad(FilenameProblem::InvalidTags))?,
            abi.ok_or(bad(FilenameProblem::InvalidTags))?,
            platform.ok_or(bad(FilenameProblem::InvalidTags))?,
        );
        Ok(Self {
            name,
            version,
            build,
            python,
            abi,
            platform,
            original: filename.to_owned(),
        })
    }

    /// The normalised project name.
    pub fn name(&self) -> &PackageName {
        &self.name
    }

    /// The version.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The optional build tag; a higher one wins between otherwise equal wheels.
    pub fn build(&self) -> Option<&BuildTag> {
        self.build.as_ref()
    }

    /// The Python tags (`cp312`, `py3`), lowercased, in written order.
    pub fn python_tags(&self) -> &[String] {
        &self.python
    }

    /// The ABI tags (`cp312`, `abi3`, `none`), lowercased, in written order.
    pub fn abi_tags(&self) -> &[String] {
        &self.abi
    }

    /// The platform tags (`manylinux_2_17_x86_64`, `any`), lowercased, in written order.
    pub fn platform_tags(&self) -> &[String] {
        &self.platform
    }

    /// Every `(python, abi, platform)` combination the name declares (at most
    /// [`MAX_TAGS_PER_SET`]³).
    pub fn tags(&self) -> impl Iterator<Item = (&str, &str, &str)> + '_ {
        self.python.iter().flat_map(move |p| {
            self.abi.iter().flat_map(move |a| {
                self.platform
                    .iter()
                    .map(move |pl| (p.as_str(), a.as_str(), pl.as_str()))
            })
        })
    }
}

impl fmt::Display for WheelFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// A wheel's build tag: a number, then an optional suffix (`1`, `2b`); ordered as
/// `packaging.utils.parse_wheel_filename` orders them, by `(number, suffix)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BuildTag {
    /// The leading number.
    pub number: u64,
    /// What follows the number, possibly empty.
    pub suffix: String,
}

impl FromStr for BuildTag {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(());
        }
        let number = s[..digits].parse().map_err(|_| ())?;
        Ok(Self {
            number,
            suffix: s[digits..].to_owned(),
        })
    }
}

impl fmt::Display for BuildTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.number, self.suffix)
    }
}

/// A source distribution's file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SdistFilename {
    name: PackageName,
    version: Version,
    format: SdistFormat,
    original: String,
}

/// The archive format of a source distribution, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SdistFormat {
    /// `.tar.gz` (PEP 625's only format) or `.tgz`.
    TarGz,
    /// `.zip`.
    Zip,
    /// `.tar.bz2` or `.tbz`.
    TarBz2,
    /// `.tar.xz`, `.txz`, `.tar.lz`, `.tlz` or `.tar.lzma`.
    TarXz,
    /// `.tar`.
    Tar,
}

/// Extensions pip accepts for source archives, longest first.
const SDIST_EXTENSIONS: &[(&str, SdistFormat)] = &[
    (".tar.lzma", SdistFormat::TarXz),
    (".tar.bz2", SdistFormat::TarBz2),
    (".tar.gz", SdistFormat::TarGz),
    (".tar.xz", SdistFormat::TarXz),
    (".tar.lz", SdistFormat::TarXz),
    (".tgz", SdistFormat::TarGz),
    (".tbz", SdistFormat::TarBz2),
    (".txz", SdistFormat::TarXz),
    (".tlz", SdistFormat::TarXz),
    (".zip", SdistFormat::Zip),
    (".tar", SdistFormat::Tar),
];

impl SdistFilename {
    /// Parses `{name}-{version}.{ext}`. With `project`, the name must normalise to it and
    /// the version is what follows it; without, the split is at the last `-` followed by
    /// a valid version.
    pub fn parse(filename: &str, project: Option<&PackageName>) -> Result<Self, InvalidFilename> {
        let bad = |problem| invalid(filename, problem);
        if filename.len() > MAX_FILENAME_LEN {
            return Err(bad(FilenameProblem::TooLong));
        }
        let (stem, format) = SDIST_EXTENSIONS
            .iter()
            .find_map(|(ext, f)| strip_suffix_ignore_case(filename, ext).map(|s| (s, *f)))
            .ok_or(bad(FilenameProblem::NotADist))?;
        let split = match project {
            Some(p) => stem
                .match_indices('-')
                .map(|(i, _)| i)
                .find(|&i| PackageName::pip(&stem[..i]) == *p),
            None => stem
                .match_indices('-')
                .map(|(i, _)| i)
                .rev()
                .find(|&i| stem[i + 1..].parse::<Version>().is_ok()),
        };
        let Some(i) = split else {
            return Err(match project {
                Some(_) => match Self::parse(filename, None) {
                    Ok(other) => bad(FilenameProblem::OtherProject(other.name)),
                    Err(e) => e,
                },
                None => bad(FilenameProblem::NoVersion),
            });
        };
        let name = project_name(&stem[..i]).ok_or(bad(FilenameProblem::InvalidName))?;
        let version_text = &stem[i + 1..];
        let version: Version = version_text
            .parse()
            .map_err(|_| bad(FilenameProblem::InvalidVersion(version_text.to_owned())))?;
        Ok(Self {
            name,
            version,
            format,
            original: filename.to_owned(),
        })
    }

    /// The normalised project name.
    pub fn name(&self) -> &PackageName {
        &self.name
    }

    /// The version.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The archive format.
    pub fn format(&self) -> SdistFormat {
        self.format
    }
}

impl fmt::Display for SdistFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// Why a file name is not a distribution's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{filename}` is not a distribution file name: {problem}")]
pub struct InvalidFilename {
    /// The file name, cut to [`MAX_FILENAME_LEN`] bytes.
    pub filename: String,
    /// What is wrong with it.
    pub problem: FilenameProblem,
}

/// What is wrong with a file name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilenameProblem {
    /// Over [`MAX_FILENAME_LEN`] bytes.
    #[error("longer than {MAX_FILENAME_LEN} bytes")]
    TooLong,
    /// Neither `.whl` nor a source archive extension.
    #[error("not a wheel or source archive extension")]
    NotADist,
    /// A wheel name with the wrong number of `-`-separated parts.
    #[error("a wheel name has 5 or 6 `-`-separated parts, this one has {0}")]
    WheelParts(usize),
    /// An empty name, or one with characters no project name has.
    #[error("invalid project name")]
    InvalidName,
    /// The version part is not a PEP 440 version.
    #[error("`{0}` is not a PEP 440 version")]
    InvalidVersion(String),
    /// A build tag that does not start with a digit.
    #[error("build tag `{0}` does not start with a digit")]
    InvalidBuildTag(String),
    /// An empty tag, or more than [`MAX_TAGS_PER_SET`] in one set.
    #[error("empty or too many compatibility tags")]
    InvalidTags,
    /// No `-` followed by a version.
    #[error("no version after the name")]
    NoVersion,
    /// The name is another project's (pip ignores such files on a project's page).
    #[error("a file of project `{0}`")]
    OtherProject(PackageName),
}

fn invalid(filename: &str, problem: FilenameProblem) -> InvalidFilename {
    let mut end = filename.len().min(MAX_FILENAME_LEN);
    while !filename.is_char_boundary(end) {
        end -= 1;
    }
    InvalidFilename {
        filename: filename[..end].to_owned(),
        problem,
    }
}

/// A project name as file names write it: ASCII letters, digits, `.`, `_`, `-` (PEP 508's
/// name characters), not starting or ending with punctuation.
fn project_name(s: &str) -> Option<PackageName> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric();
    ok.then(|| PackageName::pip(s))
}

/// One `.`-separated tag set, lowercased; `None` if a tag is empty or has characters no tag
/// has, or the set is too large.
fn tag_set(s: &str) -> Option<Vec<String>> {
    let tags: Vec<String> = s.split('.').map(str::to_ascii_lowercase).collect();
    let ok = tags.len() <= MAX_TAGS_PER_SET
        && tags
            .iter()
            .all(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    ok.then_some(tags)
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

fn has_suffix_ignore_case(s: &str, suffix: &str) -> bool {
    strip_suffix_ignore_case(s, suffix).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wheel(s: &str) -> WheelFilename {
        WheelFilename::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_wheel_name_has_its_parts_and_compressed_tag_sets() {
        let w = wheel("Foo_Bar-1.0.post1-py2.py3-none-any.whl");
        assert_eq!(w.name().as_str(), "foo-bar");
        assert_eq!(w.version().to_string(), "1.0.post1");
        assert_eq!(w.build(), None);
        assert_eq!(w.python_tags(), ["py2", "py3"]);
        assert_eq!(
            w.tags().collect::<Vec<_>>(),
            [("py2", "none", "any"), ("py3", "none", "any")]
        );
        assert_eq!(w.to_string(), "Foo_Bar-1.0.post1-py2.py3-none-any.whl");
    }

    #[test]
    fn a_build_tag_orders_by_number_then_suffix() {
        let w =
            wheel("numpy-1.26.4-12b-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
        let b = w.build().unwrap();
        assert_eq!((b.number, b.suffix.as_str()), (12, "b"));
        assert_eq!(w.platform_tags().len(), 2);
        let two: BuildTag = "2".parse().unwrap();
        let ten: BuildTag = "10".parse().unwrap();
        assert!(two < ten);
        assert!(WheelFilename::parse("a-1.0-x1-py3-none-any.whl").is_err());
    }

    #[test]
    fn tags_are_lowercased_as_packaging_does() {
        let w = wheel("a-1.0-CP312-ABI3-Linux_X86_64.whl");
        assert_eq!(w.tags().next(), Some(("cp312", "abi3", "linux_x86_64")));
    }

    #[test]
    fn malformed_wheel_names_are_errors_not_panics() {
        for bad in [
            ".whl",
            "a.whl",
            "a-1.0-py3-none.whl",
            "a-1.0-1-2-py3-none-any.whl",
            "a-notaversion-py3-none-any.whl",
            "a-1.0-py3..py2-none-any.whl",
            "-1.0-py3-none-any.whl",
            "a-1.0-py3-none-any-é.whl",
        ] {
            assert!(WheelFilename::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}-1.0-py3-none-any.whl", "a".repeat(600));
        assert_eq!(
            WheelFilename::parse(&long).unwrap_err().problem,
            FilenameProblem::TooLong
        );
        let many = format!("a-1.0-{}-none-any.whl", vec!["py3"; 40].join("."));
        assert_eq!(
            WheelFilename::parse(&many).unwrap_err().problem,
            FilenameProblem::InvalidTags
        );
    }

    #[test]
    fn sdist_names_split_after_the_project_when_it_is_known() {
        let p = PackageName::pip("foo-bar");
        let s = SdistFilename::parse("foo_bar-2.0.tar.gz", Some(&p)).unwrap();
        assert_eq!(
            (s.name().as_str(), s.version().to_string()),
            ("foo-bar", "2.0".into())
        );
        assert_eq!(s.format(), SdistFormat::TarGz);
        let s = SdistFilename::parse("Foo.Bar-1.0rc1.ZIP", None).unwrap();
        assert_eq!(s.name().as_str(), "foo-bar");
        assert_eq!(s.format(), SdistFormat::Zip);
        let s = SdistFilename::parse("foo-bar-1.0.tar.gz", None).unwrap();
        assert_eq!(s.name().as_str(), "foo-bar");
        assert!(SdistFilename::parse("foo.tar.gz", None).is_err());
        assert!(SdistFilename::parse("foo-1.0.rpm", None).is_err());
    }

    #[test]
    fn a_file_of_another_project_is_refused_on_a_project_page() {
        let p = PackageName::pip("foo");
        let e = DistFilename::parse_for("foobar-1.0-py3-none-any.whl", &p).unwrap_err();
        insta::assert_snapshot!(e.to_string(), @"`foobar-1.0-py3-none-any.whl` is not a distribution file name: a file of project `foobar`");
        assert!(DistFilename::parse_for("foobar-1.0.tar.gz", &p).is_err());
        assert!(DistFilename::parse_for("Foo-1.0.tar.gz", &p).is_ok());
    }
}
