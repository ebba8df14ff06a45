//! conda's standards, one model each: versions ([`Version`], conda's `VersionOrder`),
//! version specs ([`VersionSpec`]) and [`MatchSpec`].
//!
//! - [`version`] reads a version literal (one parser, in two modes: a package's own version
//!   and a version inside a spec) and orders versions; `compare_conda` is a total function
//!   over it for `diff`.
//! - [`spec`] parses version specs into a tree that prints rattler's normal form and answers
//!   [`VersionSpec::matches`].
//! - [`matchspec`] parses the rest of a MatchSpec (channel, name, build, bracket keys, URLs,
//!   release templates) and hands the version part to [`spec`]; [`MatchSpec::matches`]
//!   answers for a `(version, build)`. The catalog names `conda-meta/history` specs with it.
//! - [`repodata`] reads a channel subdir's `repodata.json` (or `.json.zst`) into
//!   [`RepodataRecord`]s, parsed per package name on first use.
//! - [`channel`] maps channel names to URLs as conda does (`defaults`, `channel_alias`,
//!   `custom_channels`) and reads the channel settings of `.condarc`.
//! - [`solve`](mod@solve) chooses the records a set of MatchSpecs installs from channels in
//!   priority order, on `resolvo`; its module documentation says what it models, which
//!   channel priority Azure ML's images use, and where it can differ from conda.
//!
//! Every version string envaudit reads is parsed here, and callers keep the parsed values.
//!
//! # Why envaudit keeps its own model (and not rattler's)
//!
//! Evaluated on this machine (2 shared cores, debug profile, a scratch crate per
//! candidate with a fresh target folder), against envaudit's vectors: the conda part of
//! `tests/vectors/version_order.json` (600 ordered pairs and 14 invalid strings, made with
//! py-rattler), `tests/vectors/conda_matchspec_parse.json` (329 specs, py-rattler 0.28),
//! `tests/vectors/azureml_ref_conda_matchspec.json` (22 specs with 88 `matches`
//! answers, py-rattler), and every conda spec in the repository's fixtures.
//!
//! | candidate | crates (normal + build) | new to envaudit's lock | cold build, load < 3 / 6-8 |
//! | --- | --- | --- | --- |
//! | `rattler_conda_version` 0.2.0 (`Version`, `VersionSpec`) | 15 | 4 | 8 s / 24 s |
//! | `rattler_conda_types` 0.58.1 (adds `MatchSpec`, repodata, channels) | 140 | 44 | 41 s / 157 s |
//! | `rattler_solve` 12.0.3 (resolvo inside, needs `rattler_conda_types`) | 154 | 46 | 53 s / 166 s |
//! | `resolvo` 0.12.2 alone | 39 | 7 | 10 s / 51 s |
//!
//! Vector agreement:
//! - `rattler_conda_version` agrees with every vector: 600/600 orderings, 14/14 invalid
//!   strings, and its `VersionSpec` prints every version spec of the MatchSpec vectors
//!   (273 + 20) and of the repository (312) exactly as envaudit's normal form. On 20,000
//!   generated version specs the two parsers accept the same 5,154, reject the same 14,846
//!   and print the same text. The definition hash would stay byte-identical with it.
//! - `rattler_conda_types`' `MatchSpec` agrees with all 329 + 22 spec vectors, but its
//!   string form is not envaudit's canonical form on repository specs the hash covers: it
//!   drops the `#md5` of an explicit URL, quotes builds differently, rejects release
//!   templates (`=={{latest-pypi-version}}`) and reads `a:b` as a namespace. Adopting it
//!   would change definition hashes.
//!
//! The decision, taken with the solver that prediction needs:
//! - **Solver: `resolvo` on its own**, with envaudit's glue (its `DependencyProvider` over
//!   these types: [`MatchSpec::matches`] filters candidates, [`Version`]'s order sorts
//!   them). `rattler_solve` would bring `rattler_conda_types` and with it a second
//!   MatchSpec model whose text differs from the one the hash covers; the project must end
//!   with one conda model. The price is the glue (candidate order, `track_features`,
//!   channel priority, virtual packages), which `rattler_solve` would have given.
//! - **Versions and specs: envaudit's own**, made solver-ready here. The deciding
//!   differences from `rattler_conda_version`, which passed the vectors: its errors carry
//!   no position, and envaudit points at the byte (`numpy 1.2-3_4` @11, the
//!   `invalid-spec` finding's column); and conda's `VersionOrder` takes numbers of any
//!   length and `*` in a package's version, which it rejects. The two agree on validity
//!   for all 20,000 generated version strings and on 4,495 of 4,501 orderings; the 6
//!   others, and 75 of 103,080 generated `matches` answers, are a trailing separator after
//!   letters (`1.0dev_`), where envaudit follows conda's reading (`dev_` is one string).
//! - Matching follows rattler where rattler and conda differ, because py-rattler is the
//!   oracle (conda cannot be installed here): `1.2.0.*` matches `1.2` (conda: no), a build
//!   compares ignoring ASCII case (conda: exactly). `tests/vectors/conda_matchspec_matches.json`
//!   (`scripts/gen-conda-match-vectors.py`, py-rattler 0.28.0) holds 3,150 version and 338
//!   record answers, and both agree with every one.

pub mod channel;
pub mod matchspec;
pub mod repodata;
pub mod solve;
pub mod spec;
pub mod version;

pub use channel::{Channel, ChannelConfig, Condarc};
pub use matchspec::{MatchSpec, PackageFacts};
pub use repodata::{Repodata, RepodataRecord};
pub use solve::{
    ChannelPriority, ChannelRecords, InstalledPackage, SolveError, SolveRequest, SolvedPackage,
    VirtualPackage, solve,
};
pub use spec::VersionSpec;
pub use version::Version;
