//! Azure ML specifics that must match the real client byte for byte.
//!
//! - [`anonymous`]: the version azure-ai-ml (SDK/CLI v2) gives an anonymous environment, and
//!   the build-context upload hash;
//! - [`yaml11`] and [`pyyaml`]: PyYAML's `safe_load` and `dump(sort_keys=True)`, which that
//!   version depends on;
//! - [`gitwildmatch`]: the `.amlignore` / `.gitignore` patterns of the upload hash;
//! - [`identity`]: those identities for a loaded definition, and where they disagree with
//!   envaudit's definition hash;
//! - [`image_details`]: the SDK v1 `get_image_details` response (the service's image hash).

pub mod anonymous;
pub mod gitwildmatch;
pub mod identity;
pub mod image_details;
pub mod pyyaml;
pub mod yaml11;

pub use anonymous::{
    AnonymousError, AnonymousInput, AnonymousVersion, BuildInput, InferenceConfigInput,
    anonymous_version, upload_hash,
};
pub use identity::{V2Identity, v2_identity};
pub use image_details::{ImageDetails, ImageDetailsError};

#[cfg(test)]
mod vectors;
