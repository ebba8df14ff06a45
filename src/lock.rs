//! Locking an environment: which image ran, what the environment is called in the lockfile,
//! the run's id, and whether a lock is stale. The scan itself is [`crate::scan`]; the file is
//! [`crate::lockfile::store`]. These are the decisions in between, as values and findings.

use std::path::Path;

use crate::azureml::ImageDetails;
use crate::definition::{DefinitionKind, EnvDefinition};
use crate::diag::{Code, Finding};
use crate::hash::HashReport;
use crate::image::ResolvedImage;
use crate::lockfile::Snapshot;
use crate::lockfile::store;
use crate::model::Digest;

/// Why the image that ran cannot be told from the definition.
#[derive(Debug, thiserror::Error)]
pub enum ImageThatRanError {
    /// The definition installs on top of its base image, so the image that ran is another.
    #[error(
        "`{path}` builds on the base image `{base}`; the image that ran is the one built on top of it, which envaudit cannot guess"
    )]
    BuiltOnBase {
        /// The definition.
        path: String,
        /// Its base image.
        base: String,
    },
    /// The definition names no image at all.
    #[error("`{path}` names no image")]
    NoImage {
        /// The definition.
        path: String,
    },
}

/// An environment's name in the lockfile: given, else the definition's name, else its path
/// relative to the lockfile's folder.
pub fn environment_name(
    given: Option<&str>,
    def: &EnvDefinition,
    path: &Path,
    lockfile: &Path,
) -> String {
    given
        .map(str::to_owned)
        .or_else(|| def.metadata.name.clone())
        .unwrap_or_else(|| crate::scan::snapshot::relative_to(path, &store::lockfile_dir(lockfile)))
}

/// The image that ran: `given`, from the Azure ML image details, or the definition's own image
/// where nothing is built on top of it. `None` for a live filesystem (`rootfs`) with no image
/// given.
pub fn image_that_ran(
    given: Option<&str>,
    rootfs: bool,
    def: &EnvDefinition,
    details: Option<&ImageDetails>,
) -> Result<Option<String>, ImageThatRanError> {
    if let Some(i) = given {
        return Ok(Some(i.to_owned()));
    }
    if rootfs {
        return Ok(None);
    }
    if let Some(d) = details
        && let (Some(reg), Some(name)) = (&d.registry_address, &d.image_name)
    {
        return Ok(Some(format!("{reg}/{name}")));
    }
    let installs = !def.conda_dependencies.is_empty()
        || !def.pip_dependencies.is_empty()
        || def.conda_file.is_some()
        || def.dockerfile.is_some()
        || def.build_context.is_some();
    let own_image_runs = match def.kind {
        DefinitionKind::AzuremlV2 | DefinitionKind::AzuremlJob | DefinitionKind::Curated => {
            !installs
        }
        DefinitionKind::AzuremlV1 => def.user_managed && def.dockerfile.is_none(),
        _ => false,
    };
    match (&def.base_image, own_image_runs) {
        (Some(b), true) => Ok(Some(b.reference.clone())),
        (Some(b), false) => Err(ImageThatRanError::BuiltOnBase {
            path: def.path.display().to_string(),
            base: b.reference.clone(),
        }),
        (None, _) => Err(ImageThatRanError::NoImage {
            path: def.path.display().to_string(),
        }),
    }
}

/// What `lock --check` found for one environment.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LockCheck {
    /// The environment's name in the lockfile.
    pub environment: String,
    /// The locked snapshot's id, when the environment is locked.
    pub snapshot: Option<String>,
    /// `stale-lock` findings: empty when the lock is current.
    pub findings: Vec<Finding>,
}

/// Whether the lock of `name` is current: its definition hash is `hash`, and `image` (the
/// reference that ran, resolved now) is still the locked image.
pub fn check(
    name: &str,
    lockfile: &Path,
    locked: Option<&Snapshot>,
    hash: &HashReport,
    image: Option<(&str, &ResolvedImage)>,
) -> LockCheck {
    let stale = |message: String| Finding::new(Code::StaleLock, message);
    let Some(current) = locked else {
        return LockCheck {
            environment: name.to_owned(),
            snapshot: None,
            findings: vec![stale(format!(
                "`{name}` is not in `{}`",
                lockfile.display()
            ))],
        };
    };
    let mut findings = Vec::new();
    if current.definition_hash != hash.definition_hash {
        findings.push(stale(format!(
            "`{name}`: the definition hash changed ({} → {})",
            current.definition_hash, hash.definition_hash
        )));
    }
    if let Some((reference, resolved)) = image {
        let now: Option<&Digest> = resolved.manifest.as_ref().map(|m| &m.digest);
        if now != current.image_manifest.as_ref()
            || Some(&resolved.config.digest) != current.image_config.as_ref()
        {
            findings.push(stale(format!(
                "`{name}`: `{reference}` now resolves to {} (locked: {})",
                now.map_or_else(|| resolved.config.digest.to_string(), ToString::to_string),
                current
                    .image_manifest
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), ToString::to_string)
            )));
        }
    }
    LockCheck {
        environment: name.to_owned(),
        snapshot: Some(current.id.clone()),
        findings,
    }
}

/// `lock-YYYYMMDDTHHMMSSZ-XXXXXXXX`: time, and randomness from the clock, process and address
/// space so that concurrent locks get distinct ids.
pub fn generated_run_id() -> String {
    let time = store::now_rfc3339().replace(['-', ':'], "");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let local = 0u8;
    let seed = format!("{nanos}:{}:{:p}", std::process::id(), &local);
    let h = Digest::sha256_of(seed.as_bytes());
    format!("lock-{time}-{}", &h.hex()[..8])
}
