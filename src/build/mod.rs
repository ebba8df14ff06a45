//! Cache-aware image builds: the content-addressed image name of a definition, the build
//! context Azure ML would generate for it, and the external builders that turn a context
//! into a pushed image.
//!
//! Like Azure ML, envaudit names the image after the definition hash and builds only when
//! that name is missing from the registry. The pieces here are pure (naming, context
//! generation, builder command lines) except [`builder::run`], which runs a builder program
//! and hands its output lines to the caller; registry lookups and cataloging stay with the
//! caller.

pub mod builder;
pub mod context;

use crate::model::{Digest, ImageRef};

pub use builder::{Builder, Invocation};
pub use context::{Context, ContextSource, FileContent, Layer};

/// The repository under a registry that envaudit's images go to when `--registry` names
/// none.
pub const DEFAULT_NAMESPACE: &str = "envaudit";

/// The tag of the content-addressed image.
pub const CACHE_TAG: &str = "latest";

/// How many hex digits of the definition hash name the image (Azure ML: 32).
pub const NAME_HEX_DIGITS: usize = 32;

/// Everything that can go wrong while planning or running a build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("`{0}` is not a registry (`HOST[:PORT]`, optionally followed by `/REPOSITORY`)")]
    InvalidRegistry(String),
    #[error("`{text}` is not a valid image name: {reason}")]
    InvalidImageName { text: String, reason: String },
    #[error("`{path}` names no base image to build on", path = .path.display())]
    NoBaseImage { path: std::path::PathBuf },
    #[error("the base image `{0}` is a release template, which cannot be built")]
    TemplateBaseImage(String),
    #[error("`{path}` is outside the folder of `{root}`, so it cannot be put in the build context", path = .path.display(), root = .root.display())]
    OutsideContext {
        path: std::path::PathBuf,
        root: std::path::PathBuf,
    },
    #[error("cannot read `{path}`", path = .path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the build context to `{path}`", path = .path.display())]
    Write {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` already exists and is not an empty folder", path = .path.display())]
    ContextOutNotEmpty { path: std::path::PathBuf },
    #[error("`{program}` is not installed (not found on PATH)")]
    BuilderNotFound { program: String },
    #[error("cannot run `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status})")]
    BuilderFailed {
        command: String,
        status: String,
        /// The builder's last output lines.
        tail: Vec<String>,
    },
    #[error("`az acr build` needs an Azure Container Registry (`NAME.azurecr.io`), not `{0}`")]
    NotAcr(String),
}

/// What `envaudit build` did, for rendering. The JSON form is a contract (`schema_version`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct BuildReport {
    pub schema_version: u32,
    /// The environment's name (in the lockfile).
    pub environment: String,
    pub definition: std::path::PathBuf,
    pub definition_hash: Digest,
    /// The content-addressed image (`REG/REPO:TAG`).
    pub image: String,
    pub outcome: Outcome,
    /// The manifest digest the image's tag names after the command (before it, for `planned`
    /// and `refused`).
    pub digest: Option<Digest>,
    /// The digest the tag named before a rebuild.
    pub previous_digest: Option<Digest>,
    /// Where a rebuild pushed the regenerated image before moving the tag (and where it stays
    /// when the move is refused).
    pub candidate: Option<String>,
    pub builder: Option<Builder>,
    /// What was built: the context's source, Dockerfile and generated layer.
    pub context: Option<ContextSummary>,
    /// The builder command lines, in order (run, or for `planned` to be run).
    pub commands: Vec<Invocation>,
    /// How long the builder ran.
    pub build_seconds: Option<f64>,
    /// The snapshot of the resulting image, when it was cataloged.
    pub snapshot: Option<String>,
    pub packages: Option<usize>,
    /// The drift from the cached image to the regenerated one (`--rebuild`).
    pub drift: Option<crate::analysis::drift::DriftReport>,
    /// Whether the snapshot was recorded in the lockfile.
    pub locked: bool,
}

/// The JSON schema version of [`BuildReport`].
pub const SCHEMA_VERSION: u32 = 1;

/// How a build ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The content-addressed image existed: nothing was built.
    Reused,
    /// The image was missing: built and pushed.
    Built,
    /// `--rebuild`: regenerated, and the tag now names the new image.
    Rebuilt,
    /// `--rebuild`: regenerated, but the drift failed `--fail-on`; the tag did not move.
    Refused,
    /// `--dry-run`: nothing contacted, nothing run.
    Planned,
}

/// The parts of a [`Context`] worth reporting.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ContextSummary {
    pub source: ContextSource,
    pub dockerfile: String,
    pub layer: Layer,
    pub base: Option<String>,
    /// Where the context was written, when it was kept (`--context-out`).
    pub kept_at: Option<std::path::PathBuf>,
}

impl ContextSummary {
    pub fn new(c: &Context, kept_at: Option<std::path::PathBuf>) -> Self {
        Self {
            source: c.source.clone(),
            dockerfile: c.dockerfile.clone(),
            layer: c.layer.clone(),
            base: c.base.clone(),
            kept_at,
        }
    }
}

/// The content-addressed image of a definition: `REG/NAMESPACE/env_<32 hex>:latest`, where
/// `registry` is `REG` or `REG/NAMESPACE` (default namespace `envaudit`); `name` replaces
/// the repository (`REPO` or `REPO:TAG`, relative to the registry).
pub fn cache_image(
    registry: &str,
    name: Option<&str>,
    hash: &Digest,
) -> Result<ImageRef, BuildError> {
    let registry = registry.trim().trim_end_matches('/');
    let (host, namespace) = match registry.split_once('/') {
        Some((h, ns)) => (h, ns),
        None => (registry, DEFAULT_NAMESPACE),
    };
    if host.is_empty()
        || !(host.contains('.') || host.contains(':') || host == "localhost")
        || host.contains(['@', ' '])
    {
        return Err(BuildError::InvalidRegistry(registry.to_owned()));
    }
    let text = match name {
        Some(n) if n.contains(':') => format!("{host}/{n}"),
        Some(n) => format!("{host}/{n}:{CACHE_TAG}"),
        None => format!(
            "{host}/{namespace}/env_{}:{CACHE_TAG}",
            &hash.hex()[..NAME_HEX_DIGITS.min(hash.hex().len())]
        ),
    };
    let image: ImageRef =
        text.parse().map_err(
            |e: crate::model::ImageRefError| BuildError::InvalidImageName {
                text: text.clone(),
                reason: e.to_string(),
            },
        )?;
    if image.digest().is_some() {
        return Err(BuildError::InvalidImageName {
            text,
            reason: "a build pushes to a tag, not a digest".to_owned(),
        });
    }
    Ok(image)
}

/// The same repository at another tag.
pub fn with_tag(image: &ImageRef, tag: &str) -> ImageRef {
    format!("{}/{}:{tag}", image.registry(), image.repository())
        .parse()
        .unwrap_or_else(|_| image.clone())
}

/// The same repository at a digest (`REG/REPO@sha256:...`).
pub fn with_digest(image: &ImageRef, digest: &Digest) -> ImageRef {
    format!("{}/{}@{digest}", image.registry(), image.repository())
        .parse()
        .unwrap_or_else(|_| image.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash() -> Digest {
        Digest::sha256_of(b"definition")
    }

    #[test]
    fn image_name_is_the_first_32_hex_of_the_hash_under_the_namespace() {
        let h = hash();
        let i = cache_image("127.0.0.1:5000", None, &h).unwrap();
        assert_eq!(
            i.to_string(),
            format!("127.0.0.1:5000/envaudit/env_{}:latest", &h.hex()[..32])
        );
        let i = cache_image("myacr.azurecr.io/ml/envs", None, &h).unwrap();
        assert_eq!(
            i.to_string(),
            format!("myacr.azurecr.io/ml/envs/env_{}:latest", &h.hex()[..32])
        );
    }

    #[test]
    fn image_name_override_keeps_the_registry() {
        let i = cache_image("localhost:5000", Some("team/train"), &hash()).unwrap();
        assert_eq!(i.to_string(), "localhost:5000/team/train:latest");
        let i = cache_image("localhost:5000", Some("team/train:v3"), &hash()).unwrap();
        assert_eq!(i.to_string(), "localhost:5000/team/train:v3");
    }

    #[test]
    fn a_registry_must_be_a_host() {
        for bad in ["", "envs", "user@host.io", "ubuntu/envs"] {
            assert!(
                matches!(
                    cache_image(bad, None, &hash()),
                    Err(BuildError::InvalidRegistry(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            cache_image("localhost:5000", Some("Bad Name"), &hash()),
            Err(BuildError::InvalidImageName { .. })
        ));
    }

    #[test]
    fn tags_and_digests_swap_on_the_same_repository() {
        let i = cache_image("localhost:5000", None, &hash()).unwrap();
        let t = with_tag(&i, "envaudit-rebuild-1");
        assert_eq!(t.repository(), i.repository());
        assert_eq!(t.tag(), Some("envaudit-rebuild-1"));
        let d = with_digest(&i, &hash());
        assert_eq!(d.digest(), Some(&hash()));
        assert_eq!(d.tag(), None);
    }
}
