//! The definition hash.
