//! Signed evidence that travels with an image: what `attest` attaches to an image's platform
//! manifest as OCI referrers, and how `verify` and `report --from-registry` check it.
//!
//! - [`artifacts`]: the SBOM and the snapshot record (the snapshot's TOML and its runs'),
//!   byte-stable for a given snapshot.
//! - [`content`]: the attested snapshot against the image's catalog read again.

pub mod artifacts;
pub mod content;

#[cfg(test)]
mod tests;
