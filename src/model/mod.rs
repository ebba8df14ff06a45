//! Newtypes shared by every part of envaudit.

/// Serde through the string form: `FromStr` to read, `Display` to write
/// (use with `#[serde(try_from = "String", into = "String")]`).
macro_rules! serde_via_string {
    ($ty:ty, $err:ty) => {
        impl TryFrom<String> for $ty {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.to_string()
            }
        }
    };
}
pub(crate) use serde_via_string;

mod digest;
mod image_ref;
mod image_source;
mod package_name;
pub mod pin;
mod platform;
mod secret;

pub use digest::{Digest, DigestAlgorithm, DigestError, DigestHasher, to_hex};
pub use image_ref::{DOCKER_HUB, ImageRef, ImageRefError};
pub use image_source::ImageSource;
pub use package_name::{Ecosystem, PackageName};
pub use platform::{Platform, PlatformError};
pub use secret::{RedactedUrl, Secret};
