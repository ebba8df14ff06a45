//! The artifacts `attest` attaches to an image beside the signed statement, and how the
//! statement lists them.
//!
//! Two artifacts, each an OCI artifact manifest whose `subject` is the image's platform
//! manifest:
//! - the SBOM of the snapshot (CycloneDX 1.6 JSON, one layer, artifactType
//!   [`SBOM_ARTIFACT_TYPE`]);
//! - the snapshot record (artifactType [`SNAPSHOT_ARTIFACT_TYPE`]): the snapshot as the
//!   lockfile's folder stores it (`snapshots/<id>.toml`) and the records of the runs that used
//!   it (`runs/<run>.toml`), one layer each, so `verify` and `report --from-registry` need
//!   nothing else.
//!
//! Every blob is listed in the signed statement by its SHA-256 ([`Blob::descriptor`]); a blob
//! the statement does not list is not evidence.
//!
//! Everything here is a function of the snapshot and its runs: the same inputs give the same
//! bytes, so re-attesting pushes nothing new.

use std::collections::BTreeMap;

use crate::lockfile::{RunRecord, Snapshot, StoredSnapshot};
use crate::model::Digest;

/// The artifactType (and layer media type) of the SBOM artifact.
pub const SBOM_ARTIFACT_TYPE: &str = "application/vnd.cyclonedx+json";
/// The artifactType of the snapshot record artifact.
pub const SNAPSHOT_ARTIFACT_TYPE: &str = "application/vnd.envaudit.snapshot.v1";
/// The media type of the layer holding the snapshot (the lockfile folder's TOML).
pub const SNAPSHOT_MEDIA_TYPE: &str = "application/vnd.envaudit.snapshot.v1+toml";
/// The media type of a layer holding one run record (the lockfile folder's TOML).
pub const RUN_MEDIA_TYPE: &str = "application/vnd.envaudit.run.v1+toml";
/// The most layers one snapshot-record artifact holds (what `registry::referrers` reads back).
pub const MAX_LAYERS: usize = crate::registry::referrers::MAX_ARTIFACT_LAYERS;
/// The annotation naming what an envaudit artifact holds (`sbom`, `snapshot`).
pub const ARTIFACT_ANNOTATION: &str = "dev.envaudit.artifact";
/// The annotation naming the snapshot an artifact is about.
pub const SNAPSHOT_ANNOTATION: &str = "dev.envaudit.snapshot";
/// The annotation naming a layer's file, as ORAS and the OCI image spec use it.
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";

/// One blob of an artifact: its content, media type and file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// The layer's media type.
    pub media_type: &'static str,
    /// The file name it is listed by (`sbom.cdx.json`, `snapshots/<id>.toml`, `runs/<run>.toml`).
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl Blob {
    /// The blob's SHA-256.
    pub fn digest(&self) -> Digest {
        Digest::sha256_of(&self.bytes)
    }
}

/// One artifact to attach: its artifactType, annotations and layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// The artifact manifest's `artifactType`.
    pub artifact_type: &'static str,
    /// The artifact manifest's annotations (deterministic: no creation time).
    pub annotations: BTreeMap<String, String>,
    /// The layers, in order.
    pub layers: Vec<Blob>,
}

/// The SBOM and snapshot-record artifacts of one environment's snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactSet {
    /// The CycloneDX SBOM of the snapshot.
    pub sbom: Artifact,
    /// The snapshot and the records of the runs that used it: the snapshot first, then the
    /// runs by time, at most [`MAX_LAYERS`] layers per artifact (registries and readers bound
    /// an artifact's layers), so a snapshot used by many runs has several.
    pub records: Vec<Artifact>,
}

impl ArtifactSet {
    /// The artifacts of `snapshot` of environment `environment`; of `runs`, those that used
    /// this snapshot are kept (sorted by time, then id).
    pub fn new(environment: &str, snapshot: &Snapshot, runs: &[RunRecord]) -> Self {
        let mut sbom = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = crate::render::render_snapshot_cyclonedx(environment, snapshot, &mut sbom);
        let stored = StoredSnapshot {
            environment: environment.to_owned(),
            snapshot: snapshot.clone(),
        };
        let mut layers = vec![Blob {
            media_type: SNAPSHOT_MEDIA_TYPE,
            name: format!("snapshots/{}.toml", snapshot.id),
            bytes: stored.to_toml().into_bytes(),
        }];
        let mut used: Vec<&RunRecord> = runs
            .iter()
            .filter(|r| r.snapshot == snapshot.id && r.environment == environment)
            .collect();
        used.sort_by(|a, b| (&a.time, &a.run).cmp(&(&b.time, &b.run)));
        used.dedup_by(|a, b| a.run == b.run);
        layers.extend(used.into_iter().map(|r| Blob {
            media_type: RUN_MEDIA_TYPE,
            name: format!("runs/{}.toml", r.run),
            bytes: r.to_toml().into_bytes(),
        }));
        let annotations = |kind: &str| {
            BTreeMap::from([
                (
                    "dev.envaudit.environment".to_owned(),
                    environment.to_owned(),
                ),
                (SNAPSHOT_ANNOTATION.to_owned(), snapshot.id.clone()),
                (ARTIFACT_ANNOTATION.to_owned(), kind.to_owned()),
            ])
        };
        ArtifactSet {
            sbom: Artifact {
                artifact_type: SBOM_ARTIFACT_TYPE,
                annotations: annotations("sbom"),
                layers: vec![Blob {
                    media_type: SBOM_ARTIFACT_TYPE,
                    name: "sbom.cdx.json".to_owned(),
                    bytes: sbom,
                }],
            },
            records: layers
                .chunks(MAX_LAYERS)
                .map(|chunk| Artifact {
                    artifact_type: SNAPSHOT_ARTIFACT_TYPE,
                    annotations: annotations("snapshot"),
                    layers: chunk.to_vec(),
                })
                .collect(),
        }
    }

    /// Every blob of both artifacts, SBOM first.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob> {
        self.sbom
            .layers
            .iter()
            .chain(self.records.iter().flat_map(|r| &r.layers))
    }

    /// The artifacts, SBOM first.
    pub fn artifacts(&self) -> impl Iterator<Item = &Artifact> {
        std::iter::once(&self.sbom).chain(&self.records)
    }
}
