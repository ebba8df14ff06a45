//! Newtypes shared by every part of envaudit.

mod digest;
mod image_ref;
mod package_name;

pub use digest::{Digest, DigestError, to_hex};
pub use image_ref::{ImageRef, ImageRefError};
pub use package_name::{Ecosystem, PackageName};
