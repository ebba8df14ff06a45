//! From an image or a folder to a snapshot.

pub mod snapshot;
