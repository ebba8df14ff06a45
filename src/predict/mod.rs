//! Predicting a rebuild: what the same definition would install today, without building it.
//!
//! [`pip`] resolves a pip requirement list against a package index as pip would install it
//! now (PubGrub over the index's versions).
pub mod pip;
pub mod target;
