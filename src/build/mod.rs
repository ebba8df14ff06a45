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
    /// The `--registry` value is not a host (it needs a `.`, a `:` or to be `localhost`);
    /// holds the value.
    #[error("`{0}` is not a registry (`HOST[:PORT]`, optionally followed by `/REPOSITORY`)")]
    InvalidRegistry(String),
    /// The image name made from the registry and `--name` is not a valid reference, or
    /// names a digest instead of a tag.
    #[error("`{text}` is not a valid image name: {reason}")]
    InvalidImageName {
        /// The image name as put together.
        text: String,
        /// Why it is not valid.
        reason: String,
    },
    /// The definition has neither a base image nor a Docker build context.
    #[error("`{path}` names no base image to build on", path = .path.display())]
    NoBaseImage {
        /// The definition file.
        path: std::path::PathBuf,
    },
    /// The base image is an Azure ML release template, not an image reference; holds the
    /// reference as written.
    #[error("the base image `{0}` is a release template, which cannot be built")]
    TemplateBaseImage(String),
    /// A file the conda or pip file includes lies outside that file's folder, so it
    /// cannot be copied into the context at the same relative path.
    #[error("`{path}` is outside the folder of `{root}`, so it cannot be put in the build context", path = .path.display(), root = .root.display())]
    OutsideContext {
        /// The included file or folder.
        path: std::path::PathBuf,
        /// The conda or pip file that includes it.
        root: std::path::PathBuf,
    },
    /// A file of the definition, or of a context being copied, could not be read.
    #[error("cannot read `{path}`", path = .path.display())]
    Read {
        /// The file or folder.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file or folder of the context could not be written.
    #[error("cannot write the build context to `{path}`", path = .path.display())]
    Write {
        /// The file or folder being written.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The folder to write the context to exists and holds something.
    #[error("`{path}` already exists and is not an empty folder", path = .path.display())]
    ContextOutNotEmpty {
        /// The folder.
        path: std::path::PathBuf,
    },
    /// The builder program is not on `PATH`.
    #[error("`{program}` is not installed (not found on PATH)")]
    BuilderNotFound {
        /// The program, such as `buildah` or `az`.
        program: String,
    },
    /// The builder program was found but could not be started or waited for.
    #[error("cannot run `{program}`")]
    Spawn {
        /// The program, such as `buildah` or `az`.
        program: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The builder exited unsuccessfully.
    #[error("`{command}` failed ({status})")]
    BuilderFailed {
        /// The program and its first argument, such as `buildah build`.
        command: String,
        /// The exit status as the operating system describes it.
        status: String,
        /// The builder's last output lines (at most [`builder::TAIL_LINES`]).
        tail: Vec<String>,
    },
    /// The `acr` builder was asked to push to a registry that is not an Azure Container
    /// Registry; holds the registry.
    #[error("`az acr build` needs an Azure Container Registry (`NAME.azurecr.io`), not `{0}`")]
    NotAcr(String),
}

/// What `envaudit build` did, for rendering. The JSON form is a contract (`schema_version`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct BuildReport {
    /// The JSON schema version, [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The environment's name (in the lockfile).
    pub environment: String,
    /// The definition file the image was built from.
    pub definition: std::path::PathBuf,
    /// The definition hash, which names the image.
    pub definition_hash: Digest,
    /// The content-addressed image (`REG/REPO:TAG`).
    pub image: String,
    /// How the command ended.
    pub outcome: Outcome,
    /// The manifest digest the image's tag names after the command (before it, for `planned`
    /// and `refused`).
    pub digest: Option<Digest>,
    /// The digest the tag named before a rebuild.
    pub previous_digest: Option<Digest>,
    /// Where a rebuild pushed the regenerated image before moving the tag (and where it stays
    /// when the move is refused).
    pub candidate: Option<String>,
    /// The builder used (or planned); `None` when the image was reused.
    pub builder: Option<Builder>,
    /// What was built: the context's source, Dockerfile and generated layer.
    pub context: Option<ContextSummary>,
    /// The builder command lines, in order (run, or for `planned` to be run).
    pub commands: Vec<Invocation>,
    /// How long the builder ran.
    pub build_seconds: Option<f64>,
    /// The snapshot of the resulting image, when it was cataloged.
    pub snapshot: Option<String>,
    /// How many packages the snapshot holds, when it was cataloged.
    pub packages: Option<usize>,
    /// The drift from the cached image to the regenerated one (`--rebuild`).
    pub drift: Option<crate::analysis::drift::DriftReport>,
    /// Whether the snapshot was recorded in the lockfile.
    pub locked: bool,
    /// `--rebuild --dry-run`: what the rebuild would install, predicted from the lockfile
    /// without building (see [`crate::predict`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<crate::predict::PredictReport>,
    /// `--attest`: the evidence attached to the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<crate::evidence::attach::Attestation>,
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
    /// Where the context is.
    pub source: ContextSource,
    /// The Dockerfile, relative to the context folder.
    pub dockerfile: String,
    /// What envaudit adds on top of the base image.
    pub layer: Layer,
    /// The base image the generated Dockerfile starts `FROM`, when envaudit wrote it.
    pub base: Option<String>,
    /// Where the context was written, when it was kept (`--context-out`).
    pub kept_at: Option<std::path::PathBuf>,
}

impl ContextSummary {
    /// The summary of `c`, with the folder it was kept in (`--context-out`), if any.
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
