//! Python packaging standards, each parsed in one place:
//!
//! | standard | module | reference implementation of the vectors |
//! | --- | --- | --- |
//! | PEP 440 versions | [`version`] | `packaging.version.Version` (`tests/vectors/version_order.json`, pip part) |
//! | PEP 440 specifiers | [`specifier`] | `packaging.specifiers.Specifier` 26.3 (`tests/vectors/specifier_contains.json`) |
//! | PEP 508 environment markers | [`marker`] | `packaging.markers.Marker` 26.3 (`tests/vectors/marker_eval.json`) |
//! | PEP 508 requirements | [`requirement`] | `packaging.requirements.Requirement` 25.0 (`tests/vectors/pep508_requirements.json`) |
//! | pip's requirement lines | [`pip_line`] | pip 23.2.1 (`tests/vectors/azureml_ref_pip_pinning.json`) |
//!
//! Callers keep parsed values ([`Version`], [`Specifiers`], [`MarkerTree`], [`Requirement`]),
//! not strings: a requirement is read once and then evaluated, printed or classified.

pub mod marker;
pub mod pip_line;
pub mod requirement;
pub mod specifier;
pub mod version;

pub use marker::{MarkerEnv, MarkerError, MarkerTree};
pub use requirement::{InvalidRequirement, Requirement};
pub use specifier::{Operator, Specifier, Specifiers};
pub use version::{InvalidVersion, Version};

/// Python's `str.isspace`, which the `\s` of `packaging`'s regexes and `str.strip()` use.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// `s` without leading and trailing Python whitespace.
fn trim(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// A character of Python's `\w` (near enough: Unicode letters and numbers, `_`), for the
/// `\b` word boundaries of `packaging`'s tokenizer.
fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}
