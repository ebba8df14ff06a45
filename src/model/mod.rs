//! Newtypes shared by every part of envaudit.

mod digest;
mod image_ref;
mod image_source;
mod package_name;
mod platform;
mod secret;

pub use digest::{Digest, DigestAlgorithm, DigestError, DigestHasher, to_hex};
pub use image_ref::{DOCKER_HUB, ImageRef, ImageRefError};
pub use image_source::ImageSource;
pub use package_name::{Ecosystem, PackageName};
pub use platform::{Platform, PlatformError};
pub use secret::{RedactedUrl, Secret};
