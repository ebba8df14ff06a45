//! Core metadata for resolution: the fields a resolver reads (`Name`, `Version`,
//! `Requires-Dist`, `Requires-Python`, `Provides-Extra`, `Dynamic`), parsed into envaudit's
//! PEP 440/508 types.
//!
//! The header format is read by the one reader of core metadata,
//! [`crate::catalog::parse_python_metadata`] (the catalog reads installed `METADATA` with
//! it); this module types its fields. The file comes from a PEP 658 `.metadata` file, from
//! a wheel's `*.dist-info/METADATA` ([`from_wheel`]), or from an sdist's `PKG-INFO`
//! ([`from_sdist`]), which counts only when it is metadata 2.2 or later (PEP 643) and does
//! not declare `Requires-Dist` or `Requires-Python` dynamic: otherwise only a build can tell.
//!
//! Bounds: a metadata file is read up to [`MAX_METADATA_BYTES`]; an sdist's archive is
//! decompressed up to [`MAX_SDIST_SCAN_BYTES`] and [`MAX_ARCHIVE_ENTRIES`] entries while
//! looking for `PKG-INFO`.

use std::fmt;
use std::io::{Read, Seek};

use super::filename::{DistFilename, SdistFilename, SdistFormat, WheelFilename};
use crate::model::PackageName;
use crate::python::{InvalidRequirement, Requirement, Specifiers, Version};

/// The largest metadata file read (16 MiB; a long description is the bulk of one).
pub const MAX_METADATA_BYTES: u64 = 16 << 20;

/// How many decompressed bytes of an sdist are read looking for `PKG-INFO` (512 MiB).
pub const MAX_SDIST_SCAN_BYTES: u64 = 512 << 20;

/// The most archive entries looked at for `PKG-INFO` or `METADATA`.
pub const MAX_ARCHIVE_ENTRIES: usize = 200_000;

/// The core metadata fields a resolver needs, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreMetadata {
    /// `Metadata-Version` as `(major, minor)`, if given and numeric.
    pub metadata_version: Option<(u16, u16)>,
    /// `Name`, normalised.
    pub name: PackageName,
    /// `Version`.
    pub version: Version,
    /// Every `Requires-Dist`, with its extras and marker.
    pub requires_dist: Vec<Requirement>,
    /// `Requires-Python`; `None` when absent or invalid (pip ignores an invalid one).
    pub requires_python: Option<Specifiers>,
    /// Every `Provides-Extra`, normalised as PEP 685 says (`Foo_Bar` → `foo-bar`).
    pub provides_extra: Vec<String>,
    /// Every `Dynamic` field name (metadata 2.2), lowercased.
    pub dynamic: Vec<String>,
}

impl CoreMetadata {
    /// Parses a `METADATA` or `PKG-INFO` file. Malformed header lines are skipped, as
    /// Python's email parser skips them; a missing or invalid `Name` or `Version`, an
    /// invalid `Requires-Dist`, or a file over [`MAX_METADATA_BYTES`] is an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, MetadataError> {
        if bytes.len() as u64 > MAX_METADATA_BYTES {
            return Err(MetadataError::TooLarge {
                limit: MAX_METADATA_BYTES,
            });
        }
        let text = String::from_utf8_lossy(bytes);
        let (raw, _malformed) = crate::catalog::parse_python_metadata(&text);
        let name = raw
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .ok_or(MetadataError::MissingField("Name"))?;
        let version_text = raw
            .version
            .as_deref()
            .ok_or(MetadataError::MissingField("Version"))?;
        let version = version_text
            .parse()
            .map_err(|_| MetadataError::InvalidVersion(version_text.to_owned()))?;
        let requires_dist = raw
            .requires_dist
            .iter()
            .map(|r| {
                Requirement::parse_pep508(r).map_err(|source| MetadataError::InvalidRequirement {
                    requirement: r.clone(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            metadata_version: raw.metadata_version.as_deref().and_then(major_minor),
            name: PackageName::pip(name),
            version,
            requires_dist,
            requires_python: raw.requires_python.as_deref().and_then(|s| s.parse().ok()),
            provides_extra: raw
                .provides_extra
                .iter()
                .map(|e| PackageName::pip(e).as_str().to_owned())
                .collect(),
            dynamic: raw.dynamic.iter().map(|d| d.to_ascii_lowercase()).collect(),
        })
    }

    /// Whether `field` (`Requires-Dist`, any case) is declared `Dynamic`.
    pub fn is_dynamic(&self, field: &str) -> bool {
        self.dynamic.iter().any(|d| d.eq_ignore_ascii_case(field))
    }

    /// Checks that the metadata is the file's: same project and version (pip refuses a
    /// distribution whose metadata contradicts its name).
    pub fn check_matches(&self, file: &DistFilename) -> Result<(), MetadataError> {
        if &self.name != file.name() || &self.version != file.version() {
            return Err(MetadataError::Inconsistent {
                expected: format!("{} {}", file.name(), file.version()),
                found: format!("{} {}", self.name, self.version),
            });
        }
        Ok(())
    }
}

fn major_minor(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.trim().split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Why core metadata cannot be had from a file.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// Over [`MAX_METADATA_BYTES`].
    #[error("the metadata is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// A required field is missing.
    #[error("the metadata has no `{0}`")]
    MissingField(&'static str),
    /// `Version` is not PEP 440.
    #[error("the metadata's version `{0}` is not a PEP 440 version")]
    InvalidVersion(String),
    /// A `Requires-Dist` that is not PEP 508.
    #[error("invalid `Requires-Dist: {requirement}`: {source}")]
    InvalidRequirement {
        /// The requirement as written.
        requirement: String,
        /// Why it does not parse.
        source: InvalidRequirement,
    },
    /// The metadata names another project or version than the file.
    #[error("the metadata is of `{found}`, the file of `{expected}`")]
    Inconsistent {
        /// Name and version from the file name.
        expected: String,
        /// Name and version from the metadata.
        found: String,
    },
    /// The archive cannot be read (corrupt, truncated, or over the bounds).
    #[error("cannot read the archive: {0}")]
    Archive(String),
    /// A wheel without one `*.dist-info/METADATA` of its project.
    #[error("the wheel has no `{0}` directory with a `METADATA`")]
    NoDistInfo(String),
}

/// Reads `*.dist-info/METADATA` from a wheel (a zip archive). The `.dist-info` directory
/// is the top-level one of the wheel's project, as pip finds it.
pub fn from_wheel<R: Read + Seek>(
    archive: R,
    wheel: &WheelFilename,
) -> Result<CoreMetadata, MetadataError> {
    from_wheel_with_bytes(archive, wheel).map(|(meta, _)| meta)
}

/// [`from_wheel`], with the `METADATA` bytes (for the cache).
pub(crate) fn from_wheel_with_bytes<R: Read + Seek>(
    archive: R,
    wheel: &WheelFilename,
) -> Result<(CoreMetadata, Vec<u8>), MetadataError> {
    let mut zip = zip::ZipArchive::new(archive).map_err(archive_error)?;
    if zip.len() > MAX_ARCHIVE_ENTRIES {
        return Err(MetadataError::Archive(format!(
            "more than {MAX_ARCHIVE_ENTRIES} entries"
        )));
    }
    let candidates: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| {
            n.split_once('/').is_some_and(|(dir, rest)| {
                rest == "METADATA" && dir.to_ascii_lowercase().ends_with(".dist-info")
            })
        })
        .map(std::borrow::Cow::into_owned)
        .collect();
    let project_dir = |n: &&String| {
        let dir = &n[..n.len() - "/METADATA".len()];
        let stem = &dir[..dir.len() - ".dist-info".len()];
        let name = stem.split('-').next().unwrap_or(stem);
        PackageName::pip(name) == *wheel.name()
    };
    let path = match candidates.as_slice() {
        [one] => one.clone(),
        many => many.iter().find(project_dir).cloned().ok_or_else(|| {
            MetadataError::NoDistInfo(format!("{}-{}.dist-info", wheel.name(), wheel.version()))
        })?,
    };
    let entry = zip.by_name(&path).map_err(archive_error)?;
    let bytes = read_bounded(entry)?;
    Ok((CoreMetadata::parse(&bytes)?, bytes))
}

/// What an sdist says about its metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SdistMetadata {
    /// `PKG-INFO` is metadata 2.2 or later and declares what a resolver reads static.
    Static(CoreMetadata),
    /// Only a build can tell, and why.
    NeedsBuild(NeedsBuild),
}

/// Why an sdist's dependencies are known only after a build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NeedsBuild {
    /// No `{name}-{version}/PKG-INFO` in the archive.
    NoPkgInfo,
    /// `PKG-INFO` is older than metadata 2.2 (PEP 643), so nothing in it is promised.
    MetadataVersion(Option<(u16, u16)>),
    /// These fields (lowercase) are declared `Dynamic`.
    Dynamic(Vec<String>),
    /// An archive format envaudit does not open (`.tar.bz2`, `.tar.xz`).
    ArchiveFormat(SdistFormat),
}

impl fmt::Display for NeedsBuild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NeedsBuild::NoPkgInfo => f.write_str("the sdist has no `PKG-INFO`"),
            NeedsBuild::MetadataVersion(Some((a, b))) => write!(
                f,
                "its `PKG-INFO` is metadata {a}.{b}, older than 2.2, so its fields may change in a build"
            ),
            NeedsBuild::MetadataVersion(None) => {
                f.write_str("its `PKG-INFO` has no metadata version")
            }
            NeedsBuild::Dynamic(fields) => {
                write!(
                    f,
                    "its `PKG-INFO` declares `{}` dynamic",
                    fields.join("`, `")
                )
            }
            NeedsBuild::ArchiveFormat(format) => {
                write!(f, "envaudit does not open {format:?} archives")
            }
        }
    }
}

/// The fields whose being dynamic hides what a resolver needs.
const RESOLVER_FIELDS: [&str; 2] = ["requires-dist", "requires-python"];

/// Reads `PKG-INFO` from an sdist (`.tar.gz`, `.tar` or `.zip`) and says whether its
/// dependencies can be trusted without a build.
pub fn from_sdist<R: Read + Seek>(
    archive: R,
    sdist: &SdistFilename,
) -> Result<SdistMetadata, MetadataError> {
    from_sdist_with_bytes(archive, sdist).map(|(meta, _)| meta)
}

/// [`from_sdist`], with the `PKG-INFO` bytes when they are static metadata (for the cache).
pub(crate) fn from_sdist_with_bytes<R: Read + Seek>(
    archive: R,
    sdist: &SdistFilename,
) -> Result<(SdistMetadata, Option<Vec<u8>>), MetadataError> {
    let needs_build = |why| Ok((SdistMetadata::NeedsBuild(why), None));
    let bytes = match sdist.format() {
        SdistFormat::TarGz => pkg_info_in_tar(flate2::read::GzDecoder::new(archive))?,
        SdistFormat::Tar => pkg_info_in_tar(archive)?,
        SdistFormat::Zip => pkg_info_in_zip(archive)?,
        other => return needs_build(NeedsBuild::ArchiveFormat(other)),
    };
    let Some(bytes) = bytes else {
        return needs_build(NeedsBuild::NoPkgInfo);
    };
    let meta = CoreMetadata::parse(&bytes)?;
    if meta.metadata_version.is_none_or(|v| v < (2, 2)) {
        return needs_build(NeedsBuild::MetadataVersion(meta.metadata_version));
    }
    let dynamic: Vec<String> = RESOLVER_FIELDS
        .iter()
        .filter(|f| meta.is_dynamic(f))
        .map(|f| (*f).to_owned())
        .collect();
    if !dynamic.is_empty() {
        return needs_build(NeedsBuild::Dynamic(dynamic));
    }
    Ok((SdistMetadata::Static(meta), Some(bytes)))
}

/// `TOP/PKG-INFO`: exactly one directory above it.
fn is_top_pkg_info(path: &[u8]) -> bool {
    let path = path.strip_prefix(b"./").unwrap_or(path);
    let mut parts = path.split(|&b| b == b'/');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(top), Some(b"PKG-INFO"), None) if !top.is_empty()
    )
}

fn pkg_info_in_tar<R: Read>(reader: R) -> Result<Option<Vec<u8>>, MetadataError> {
    let mut tar = tar::Archive::new(reader.take(MAX_SDIST_SCAN_BYTES));
    let entries = tar.entries().map_err(archive_error)?;
    for (n, entry) in entries.enumerate() {
        if n >= MAX_ARCHIVE_ENTRIES {
            break;
        }
        let entry = entry.map_err(archive_error)?;
        if entry.header().entry_type().is_file() && is_top_pkg_info(&entry.path_bytes()) {
            return read_bounded(entry).map(Some);
        }
    }
    Ok(None)
}

fn pkg_info_in_zip<R: Read + Seek>(reader: R) -> Result<Option<Vec<u8>>, MetadataError> {
    let mut zip = zip::ZipArchive::new(reader).map_err(archive_error)?;
    let Some(path) = zip
        .file_names()
        .take(MAX_ARCHIVE_ENTRIES)
        .filter_map(Result::ok)
        .find(|n| is_top_pkg_info(n.as_bytes()))
        .map(std::borrow::Cow::into_owned)
    else {
        return Ok(None);
    };
    let entry = zip.by_name(&path).map_err(archive_error)?;
    read_bounded(entry).map(Some)
}

fn read_bounded(reader: impl Read) -> Result<Vec<u8>, MetadataError> {
    let mut out = Vec::new();
    reader
        .take(MAX_METADATA_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(archive_error)?;
    if out.len() as u64 > MAX_METADATA_BYTES {
        return Err(MetadataError::TooLarge {
            limit: MAX_METADATA_BYTES,
        });
    }
    Ok(out)
}

fn archive_error(e: impl fmt::Display) -> MetadataError {
    MetadataError::Archive(e.to_string())
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    const METADATA: &str = "Metadata-Version: 2.2\nName: Foo_Bar\nVersion: 1.0\n\
        Requires-Python: >=3.8\nRequires-Dist: requests (>=2.0)\n\
        Requires-Dist: rich; extra == 'Pretty_Print'\nProvides-Extra: Pretty_Print\n\
        Dynamic: License\n\nA description: with a colon\n";

    #[test]
    fn the_fields_a_resolver_reads_are_typed() {
        let m = CoreMetadata::parse(METADATA.as_bytes()).unwrap();
        assert_eq!(m.metadata_version, Some((2, 2)));
        assert_eq!(m.name.as_str(), "foo-bar");
        assert_eq!(m.version.to_string(), "1.0");
        assert_eq!(m.requires_dist.len(), 2);
        assert_eq!(m.requires_dist[0].specifiers.to_string(), ">=2.0");
        assert!(m.requires_dist[1].marker.is_some());
        assert_eq!(m.requires_python.as_ref().unwrap().to_string(), ">=3.8");
        assert_eq!(m.provides_extra, ["pretty-print"]);
        assert!(m.is_dynamic("license") && !m.is_dynamic("Requires-Dist"));
    }

    #[test]
    fn missing_or_invalid_fields_are_errors() {
        let e = CoreMetadata::parse(b"Name: a\n").unwrap_err();
        insta::assert_snapshot!(e.to_string(), @"the metadata has no `Version`");
        let e =
            CoreMetadata::parse(b"Name: a\nVersion: 1.0\nRequires-Dist: b >=< 1\n").unwrap_err();
        assert!(matches!(e, MetadataError::InvalidRequirement { .. }), "{e}");
        let m = CoreMetadata::parse(b"Name: a\nVersion: 1.0\nRequires-Python: >=3.x\n").unwrap();
        assert_eq!(m.requires_python, None);
        let file = DistFilename::parse("a-2.0.tar.gz").unwrap();
        assert!(matches!(
            m.check_matches(&file),
            Err(MetadataError::Inconsistent { .. })
        ));
    }

    fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(body.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn a_wheel_s_metadata_is_found_in_its_dist_info() {
        let wheel = WheelFilename::parse("foo_bar-1.0-py3-none-any.whl").unwrap();
        let bytes = zip_of(&[
            ("foo_bar/__init__.py", ""),
            (
                "vendored-1.0.dist-info/METADATA",
                "Name: vendored\nVersion: 1.0\n",
            ),
            ("foo_bar-1.0.dist-info/METADATA", METADATA),
        ]);
        let m = from_wheel(Cursor::new(bytes), &wheel).unwrap();
        assert_eq!(m.name.as_str(), "foo-bar");
        let none = zip_of(&[("foo_bar/__init__.py", "")]);
        let e = from_wheel(Cursor::new(none), &wheel).unwrap_err();
        insta::assert_snapshot!(e.to_string(), @"the wheel has no `foo-bar-1.0.dist-info` directory with a `METADATA`");
        let e = from_wheel(Cursor::new(b"PK\x03\x04 not really".to_vec()), &wheel).unwrap_err();
        assert!(matches!(e, MetadataError::Archive(_)));
    }

    fn tar_gz_of(files: &[(&str, &str)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (name, body) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, name, body.as_bytes()).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn an_sdist_is_trusted_only_with_static_metadata_2_2() {
        let sdist = SdistFilename::parse("foo_bar-1.0.tar.gz", None).unwrap();
        let read =
            |files: &[(&str, &str)]| from_sdist(Cursor::new(tar_gz_of(files)), &sdist).unwrap();
        assert!(matches!(
            read(&[
                ("foo_bar-1.0/src/PKG-INFO", "x"),
                ("foo_bar-1.0/PKG-INFO", METADATA)
            ]),
            SdistMetadata::Static(_)
        ));
        let dynamic = METADATA.replace("Dynamic: License", "Dynamic: Requires-Dist");
        let SdistMetadata::NeedsBuild(why) = read(&[("foo_bar-1.0/PKG-INFO", &dynamic)]) else {
            panic!()
        };
        insta::assert_snapshot!(why.to_string(), @"its `PKG-INFO` declares `requires-dist` dynamic");
        let old = METADATA.replace("Metadata-Version: 2.2", "Metadata-Version: 2.1");
        assert_eq!(
            read(&[("foo_bar-1.0/PKG-INFO", &old)]),
            SdistMetadata::NeedsBuild(NeedsBuild::MetadataVersion(Some((2, 1))))
        );
        assert_eq!(
            read(&[("foo_bar-1.0/setup.py", "")]),
            SdistMetadata::NeedsBuild(NeedsBuild::NoPkgInfo)
        );
        let zip = SdistFilename::parse("foo_bar-1.0.zip", None).unwrap();
        let bytes = zip_of(&[("foo_bar-1.0/PKG-INFO", METADATA)]);
        assert!(matches!(
            from_sdist(Cursor::new(bytes), &zip).unwrap(),
            SdistMetadata::Static(_)
        ));
        let bz = SdistFilename::parse("foo_bar-1.0.tar.bz2", None).unwrap();
        assert_eq!(
            from_sdist(Cursor::new(Vec::new()), &bz).unwrap(),
            SdistMetadata::NeedsBuild(NeedsBuild::ArchiveFormat(SdistFormat::TarBz2))
        );
        let e = from_sdist(Cursor::new(b"\x1f\x8b garbage".to_vec()), &sdist).unwrap_err();
        assert!(matches!(e, MetadataError::Archive(_)));
    }
}
