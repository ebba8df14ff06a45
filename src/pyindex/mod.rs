//! The Python package index client, for predicting what pip would install: which files an
//! index offers for a project, which of them an image can install, and what they depend on.
//!
//! # Standards
//!
//! | standard | what | module |
//! | --- | --- | --- |
//! | PEP 503 | the simple repository API as HTML: one page per project, one anchor per file, the hash in the URL fragment, `data-requires-python` | [`simple`] |
//! | PEP 691 | the same API as JSON (`application/vnd.pypi.simple.v1+json`), chosen by content negotiation; pages are read by their `Content-Type` | [`simple`], [`client`] |
//! | PEP 592 | yanked files (`data-yanked`, `"yanked"`), with their reason | [`simple`] |
//! | PEP 658 / 714 | a wheel's core metadata served beside it as `FILE.metadata` (`data-core-metadata`, or the older `data-dist-info-metadata`), with its hash | [`simple`], [`client`] |
//! | PEP 700 | `upload-time` and `size` of files (JSON only) | [`simple`] |
//! | PEP 427 / 425 | wheel file names and their compressed tag sets | [`filename`] |
//! | PEP 600 / 656 | `manylinux_x_y` and `musllinux_x_y` platform tags, from the image's libc | [`tags`] |
//! | PEP 643 | metadata 2.2 `Dynamic`: when an sdist's `PKG-INFO` can be trusted without a build | [`metadata`] |
//!
//! Names are [`PackageName`](crate::model::PackageName)s (PEP 503 normalised), versions and
//! specifiers come from [`crate::python`], and core metadata headers are read by the catalog's
//! one reader of them ([`crate::catalog::parse_python_metadata`]).
//!
//! # Using it
//!
//! [`IndexClient::project`] gives every file of a project on the configured indexes and
//! find-links locations ([`IndexConfig`]), merged as pip merges them. For a target
//! ([`TargetPlatform`]) [`SupportedTags::best_tag_priority`] says whether a wheel installs
//! there and how pip ranks it; [`DistFile::requires_python`] and [`DistFile::yanked`] are
//! the other filters pip applies. [`IndexClient::metadata`] gives a file's dependencies
//! ([`CoreMetadata`]). Responses are cached on disk with their HTTP validators and
//! revalidated ([`cache`]); offline, only the cache answers.
//!
//! # Bounds
//!
//! Everything read from an index is untrusted and bounded: pages by [`PageLimits`] (64 MiB,
//! 250,000 files), file names by [`filename::MAX_FILENAME_LEN`] and
//! [`filename::MAX_TAGS_PER_SET`], metadata files by [`metadata::MAX_METADATA_BYTES`],
//! archives by [`metadata::MAX_SDIST_SCAN_BYTES`] and [`metadata::MAX_ARCHIVE_ENTRIES`], and
//! downloads by [`IndexConfig::max_download_bytes`]. Malformed input is an error with its
//! place (a byte offset, a line and column), never a panic; each parser has a fuzz target.
//!
//! # Credentials
//!
//! Index URLs may carry `user:token@`; those credentials are sent to every URL of the same
//! origin (files and metadata hosted beside the index), and a [`CredentialProvider`] can add
//! more: [`Netrc`] reads a `.netrc` that the caller chose (the client reads none itself). They never appear in output: every URL in an
//! error goes through [`redact`], and [`IndexUrl`] shows itself redacted.

pub mod cache;
pub mod client;
pub mod error;
pub mod filename;
pub mod metadata;
pub mod netrc;
pub mod simple;
pub mod tags;

pub use client::{CredentialProvider, FetchStats, FindLinks, IndexClient, IndexConfig, IndexUrl};
pub use error::{IndexError, redact};
pub use filename::{
    BuildTag, DistFilename, FilenameProblem, InvalidFilename, SdistFilename, SdistFormat,
    WheelFilename,
};
pub use metadata::{CoreMetadata, MetadataError, NeedsBuild, SdistMetadata};
pub use netrc::{Netrc, NetrcError};
pub use simple::{
    DistFile, Hashes, PageError, PageFormat, PageLimits, ProjectPage, SkipReason, SkippedFile,
};
pub use tags::{
    Arch, Implementation, Libc, LinuxTagOrder, Os, SupportedTags, Tag, TargetPlatform, UnknownArch,
};
