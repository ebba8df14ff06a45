//! Signed evidence that travels with an image: what `attest` attaches to an image's platform
//! manifest as OCI referrers, and how `verify` and `report --from-registry` check it.
//!
//! - [`artifacts`]: the SBOM and the snapshot record (the snapshot's TOML and its runs'),
//!   byte-stable for a given snapshot.
//! - [`predicate`]: the signed statement: SLSA Provenance v1 for an image `envaudit build`
//!   built, else the environment-snapshot predicate; either lists every artifact by SHA-256.
//! - [`attach`]: `attest`, idempotent by statement digest and key.
//! - [`verify`]: `verify`: signatures, subjects, listed artifacts, the image read again.
//! - [`content`]: the attested snapshot against the image's catalog read again.
//!
//! The formats (DSSE, in-toto, Sigstore bundles, keys) are [`crate::attest`]'s; storage in the
//! registry (OCI 1.1 referrers and the tag-schema fallback) is [`crate::registry`]'s.

pub mod artifacts;
pub mod attach;
pub mod content;
pub mod predicate;
pub mod verify;

/// Why evidence could not be attached or read.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The snapshot records no image in a registry (a `--rootfs` or folder lock).
    #[error(
        "`{environment}` was locked without a registry image: there is nothing to attach evidence to"
    )]
    NoImage {
        /// The environment.
        environment: String,
    },
    /// The snapshot's image is not a registry reference (an OCI layout, an archive).
    #[error("`{environment}` locked `{reference}`, which is not an image in a registry: {reason}")]
    NotARegistryImage {
        /// The environment.
        environment: String,
        /// The reference as locked.
        reference: String,
        /// Why it is not a registry reference.
        reason: String,
    },
    /// The registry refused or failed a request.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// The image could not be resolved.
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    /// The image could not be read again.
    #[error(transparent)]
    Scan(#[from] crate::scan::ScanError),
    /// The statement could not be made.
    #[error(transparent)]
    Statement(#[from] crate::attest::statement::StatementError),
    /// The statement could not be signed.
    #[error(transparent)]
    Signature(#[from] crate::attest::keys::SignatureError),
}

#[cfg(test)]
mod tests;
