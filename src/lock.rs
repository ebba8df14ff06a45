//! Locking an environment: which image ran, what the environment is called in the lockfile,
//! the run's id, and whether a lock is stale. The scan itself is [`crate::scan`]; the file is
//! [`crate::lockfile::store`]. These are the decisions in between, as values and findings.

use std::collections::BTreeMap;
use std::path::Path;

use crate::analysis::drift::{self, DriftReport};
use crate::azureml::ImageDetails;
use crate::definition::{self, DefinitionKind, EnvDefinition};
use crate::diag::{Code, Finding};
use crate::hash::HashReport;
use crate::image::{ImageError, ResolvedImage};
use crate::lockfile::record::{DefinitionMismatch, ImportError, Imported, Record};
use crate::lockfile::store::{self, Store};
use crate::lockfile::{Lockfile, Snapshot};
use crate::model::{Digest, ImageSource};
use crate::scan::snapshot::{Observed, snapshot};
use crate::scan::{ScanError, Scanner};

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
        if !is_locked_image(current, resolved) {
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

/// Whether `now` is the image `locked` recorded: the same platform manifest and config.
fn is_locked_image(locked: &Snapshot, now: &ResolvedImage) -> bool {
    now.manifest.as_ref().map(|m| &m.digest) == locked.image_manifest.as_ref()
        && Some(&now.config.digest) == locked.image_config.as_ref()
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

/// Why `check` could not look at an environment's image.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The image reference of an environment did not resolve.
    #[error("cannot resolve `{reference}` of `{environment}`")]
    Resolve {
        /// The reference the lockfile records.
        reference: String,
        /// The environment.
        environment: String,
        /// What went wrong.
        #[source]
        source: Box<ImageError>,
    },
    /// The image a moved tag now names could not be cataloged.
    #[error("cannot catalog `{reference}`")]
    Catalog {
        /// The reference the lockfile records.
        reference: String,
        /// What went wrong.
        #[source]
        source: Box<ScanError>,
    },
}

/// `envaudit check`: for each environment of `lockfile` (or those named in `only`), is the
/// definition still what was locked, and does its image reference still resolve to the locked
/// image? A regenerated image is cataloged and its drift attributed. `lockfile_path` is where
/// the lockfile is (definitions are relative to its folder).
pub fn check_environments(
    lockfile: &Lockfile,
    lockfile_path: &Path,
    only: &[String],
    scanner: &Scanner,
) -> Result<DriftReport, CheckError> {
    let dir = store::lockfile_dir(lockfile_path);
    let selected: Vec<(&String, &Snapshot)> = lockfile
        .environments
        .iter()
        .filter(|(n, _)| only.is_empty() || only.contains(n))
        .collect();
    // One concurrent round of manifest requests for every image reference.
    let sources: Vec<Option<ImageSource>> = selected
        .iter()
        .map(|(_, s)| s.image.as_deref().and_then(|i| i.parse().ok()))
        .collect();
    let wanted: Vec<ImageSource> = sources.iter().flatten().cloned().collect();
    let mut resolved = scanner.resolve_all(&wanted).into_iter();
    let mut report = DriftReport {
        schema_version: drift::SCHEMA_VERSION,
        old: lockfile_path.display().to_string(),
        new: "now".to_owned(),
        environments: Vec::new(),
        findings: Vec::new(),
    };
    for ((name, locked), source) in selected.iter().zip(&sources) {
        // The definition as it is now.
        let (current, hash) = match current_definition(&dir, locked) {
            Ok(Some((d, h))) => (Some(d), Some(h)),
            Ok(None) => (None, None),
            Err(e) => {
                report.findings.push(
                    Finding::new(
                        Code::StaleLock,
                        format!(
                            "`{name}`: cannot load `{}`: {e}",
                            dir.join(&locked.definition).display()
                        ),
                    )
                    .with_package((*name).clone()),
                );
                (None, None)
            }
        };
        if let Some(h) = &hash
            && h.definition_hash != locked.definition_hash
        {
            report.findings.push(
                Finding::new(
                    Code::StaleLock,
                    format!(
                        "`{name}`: the definition was edited but not locked again ({} → {})",
                        locked.definition_hash.short(),
                        h.definition_hash.short()
                    ),
                )
                .with_package((*name).clone()),
            );
        }
        let Some(source) = source else { continue };
        let now = match resolved.next() {
            Some(Ok(r)) => r,
            Some(Err(source_error)) => {
                return Err(CheckError::Resolve {
                    reference: source.to_string(),
                    environment: (*name).clone(),
                    source: Box::new(source_error),
                });
            }
            None => continue,
        };
        if is_locked_image(locked, &now) {
            report
                .environments
                .push(drift::environment(name, Some(locked), Some(locked)));
            continue;
        }
        // The tag moved: catalog what it points to now.
        let scanned = scanner
            .scan(source, None)
            .map_err(|e| CheckError::Catalog {
                reference: source.to_string(),
                source: Box::new(e),
            })?;
        report.findings.extend(scanned.warnings.iter().cloned());
        let definition = current.as_ref().zip(hash.as_ref());
        let mut fresh = snapshot(&Observed {
            definition,
            lockfile_dir: &dir,
            image: Some((locked.image.as_deref().unwrap_or_default(), &scanned.image)),
            base_image_digest: locked.base_image_digest.clone(),
            base_layers: None,
            rootfs: None,
            catalog: &scanned.catalog,
        });
        if definition.is_none() {
            fresh.definition_hash.clone_from(&locked.definition_hash);
            fresh.declared.clone_from(&locked.declared);
            fresh.seal();
        }
        // Layers the locked image shares with the new one keep their base marking.
        let base = locked.base_layers.unwrap_or(0);
        let shared = usize::try_from(base).map_or(locked.image_layers.len(), |b| {
            b.min(locked.image_layers.len())
        });
        if base > 0
            && fresh
                .image_layers
                .starts_with(&locked.image_layers[..shared])
        {
            fresh.base_layers = Some(base);
        }
        let d = drift::environment(name, Some(locked), Some(&fresh));
        report.findings.extend(drift::findings(&d));
        report.environments.push(d);
    }
    Ok(report)
}

/// The definition a snapshot names, as the repository holds it now, loaded as `lock`
/// loaded it (the recorded kind; the recorded base image for a file that names none), with
/// its hashes. `None` when the snapshot was made without a definition.
pub fn current_definition(
    lockfile_dir: &Path,
    locked: &Snapshot,
) -> Result<Option<(EnvDefinition, HashReport)>, definition::DefinitionError> {
    if locked.definition.is_empty() {
        return Ok(None);
    }
    let path = lockfile_dir.join(&locked.definition);
    let mut options = definition::LoadOptions {
        kind: locked.definition_kind,
        image: None,
    };
    let mut def = definition::load(&path, &options)?;
    if def.base_image.is_none()
        && let Some(base) = &locked.base_image
        && base.parse::<crate::model::ImageRef>().is_ok()
    {
        options.image = Some(base.clone());
        def = definition::load(&path, &options)?;
    }
    let hash = crate::hash::report(&def, crate::azureml::v2_identity(&def), None);
    Ok(Some((def, hash)))
}

/// Imports run records into the lockfile `store` ([`Store::import`]), first checking that
/// each record's definition hash is the repository's definition's now. A record that
/// differs (or whose definition the repository no longer holds) is refused with
/// [`ImportError::DefinitionChanged`], unless `force`: then it is imported and its run keeps
/// the repository's hash as `definition-mismatch` (the SHA-256 of no bytes for a missing
/// definition).
pub fn import(
    store: &Store,
    records: &[Record],
    force: bool,
) -> Result<Vec<Imported>, ImportError> {
    let dir = store::lockfile_dir(store.lockfile());
    let mut mismatches = BTreeMap::new();
    // Records of one environment name the same definition: load and hash it once.
    let mut hashes: BTreeMap<(String, Option<String>, Option<String>), Option<Digest>> =
        BTreeMap::new();
    for r in records {
        let snap = &r.snapshot.snapshot;
        if snap.definition.is_empty() {
            continue;
        }
        let key = (
            snap.definition.clone(),
            snap.definition_kind.map(|k| format!("{k:?}")),
            snap.base_image.clone(),
        );
        let repository = hashes
            .entry(key)
            .or_insert_with(|| {
                current_definition(&dir, snap)
                    .ok()
                    .flatten()
                    .map(|(_, h)| h.definition_hash)
            })
            .clone();
        if repository.as_ref() == Some(&snap.definition_hash) {
            continue;
        }
        if !force {
            return Err(ImportError::DefinitionChanged(Box::new(
                DefinitionMismatch {
                    run: r.run.run.clone(),
                    environment: r.run.environment.clone(),
                    definition: snap.definition.clone(),
                    recorded: snap.definition_hash.clone(),
                    repository,
                },
            )));
        }
        mismatches.insert(
            r.run.run.clone(),
            repository.unwrap_or_else(|| Digest::sha256_of(b"")),
        );
    }
    store.import(records, &mismatches)
}
