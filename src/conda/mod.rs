//! conda's standards: versions (`VersionOrder`) and MatchSpec.

pub mod matchspec;
pub mod version;

pub use matchspec::MatchSpec;
