//! Pin classification: is a declared dependency or a base image fixed to one artifact?
//!
//! The rules (docs/diagnostics.md repeats them for users):
//! - conda `pkg==1.2.3` is an exact version; `pkg=1.2.3` is *fuzzy* (conda reads it as
//!   `1.2.3.*`); `pkg=1.2.3=build`, `pkg==1.2.3=build` and `pkg 1.2.3 build` are exact with a
//!   build; a build glob (`=*`) leaves the build free; ranges or no version are unpinned.
//! - pip `==`/`===` is exact, `==1.2.*` is a wildcard (not pinned), `~=` and ranges are
//!   unpinned; a direct URL is pinned only with a hash; a VCS reference only at a full
//!   40-hex commit (tags and branches move); local paths and editables are not pinned.
//! - a base image is pinned only by digest (`@sha256:`); a tag floats, `:latest` or no
//!   tag float twice over.
//! - release templates (`{{latest-pypi-version}}`, `{{latest-image-tag}}`) are their own
//!   state: neither pinned nor unpinned until a release resolves them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::ImageRef;

/// How firmly a declared dependency is fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinState {
    /// Exact version and build (conda), or exact version / hashed URL / commit (pip).
    ExactWithBuild,
    /// Exact version; for conda the build is still free.
    Exact,
    /// conda `=1.2.3`, which matches `1.2.3.*`.
    Fuzzy,
    /// pip `==1.2.*` or conda `=1.2.*`-style wildcard.
    Wildcard,
    /// A range or compatible-release specifier (`>=`, `~=`, `<`, `!=`, `|`).
    Range,
    /// No version at all, a moving VCS ref, an unhashed URL, a local path.
    Unpinned,
    /// A release-time template placeholder such as `{{latest-pypi-version}}`.
    Template,
}

impl PinState {
    /// Whether a rebuild from the same declaration installs the same version.
    pub fn is_pinned(self) -> bool {
        matches!(self, PinState::Exact | PinState::ExactWithBuild)
    }

    /// The kebab-case name used in the lockfile, JSON output and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            PinState::ExactWithBuild => "exact-with-build",
            PinState::Exact => "exact",
            PinState::Fuzzy => "fuzzy",
            PinState::Wildcard => "wildcard",
            PinState::Range => "range",
            PinState::Unpinned => "unpinned",
            PinState::Template => "template",
        }
    }
}

impl fmt::Display for PinState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pin state with the reason a person reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pin {
    /// How firmly the dependency is fixed.
    pub state: PinState,
    /// Why, in words: what in the spec makes it this state.
    pub reason: String,
}

impl Pin {
    /// A pin state with its reason.
    pub fn new(state: PinState, reason: impl Into<String>) -> Self {
        Self {
            state,
            reason: reason.into(),
        }
    }
}

/// How firmly a base image reference is fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImagePinState {
    /// `@sha256:…`: one image, forever.
    Digest,
    /// A tag other than `latest`: the registry may move it.
    Tag,
    /// `:latest` or no tag at all: moves with every release.
    Latest,
    /// A release-time template such as `{{latest-image-tag}}`.
    Template,
}

impl ImagePinState {
    /// The kebab-case name used in JSON output and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ImagePinState::Digest => "digest",
            ImagePinState::Tag => "tag",
            ImagePinState::Latest => "latest",
            ImagePinState::Template => "template",
        }
    }
}

/// Classify a parsed image reference.
pub fn classify_image(image: &ImageRef) -> (ImagePinState, String) {
    match (image.digest(), image.tag()) {
        (Some(d), _) => (ImagePinState::Digest, format!("pinned by digest `{d}`")),
        (None, Some("latest")) => (
            ImagePinState::Latest,
            "tag `latest` moves with every release".to_owned(),
        ),
        (None, None) => (
            ImagePinState::Latest,
            "no tag means `latest`, which moves with every release".to_owned(),
        ),
        (None, Some(tag)) => (
            ImagePinState::Tag,
            format!("tag `{tag}` can be moved to another image; pin by `@sha256:` digest"),
        ),
    }
}

/// Whether a text contains a release-time template placeholder (`{{…}}`).
pub fn has_template(s: &str) -> bool {
    s.find("{{").is_some_and(|i| s[i..].contains("}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_pin_only_by_digest() {
        let d = format!("python@sha256:{}", "0".repeat(64));
        assert_eq!(classify_image(&d.parse().unwrap()).0, ImagePinState::Digest);
        assert_eq!(
            classify_image(&"python:3.10".parse().unwrap()).0,
            ImagePinState::Tag
        );
        assert_eq!(
            classify_image(&"python".parse().unwrap()).0,
            ImagePinState::Latest
        );
        assert_eq!(
            classify_image(&"python:latest".parse().unwrap()).0,
            ImagePinState::Latest
        );
    }

    #[test]
    fn template_detection_needs_both_braces() {
        assert!(has_template("x=={{latest-pypi-version}}"));
        assert!(!has_template("x=={{"));
    }
}
