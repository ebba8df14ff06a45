//! Definitions rewritten from a lock: `pin` (specs pinned in place) and `export` (the full
//! transitive lock in the installers' formats).

pub mod export;
pub mod pin;
