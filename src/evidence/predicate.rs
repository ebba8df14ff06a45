//! The predicates of the statements `attest` signs, and the statement itself.
//!
//! - An image `envaudit build` built gets SLSA Provenance v1 ([`provenance`]): the definition
//!   files and their digests, the definition hash, the base image digest, the builder and its
//!   version; the evidence artifacts are its `byproducts`.
//! - An image envaudit only observed gets the environment-snapshot predicate
//!   ([`SnapshotPredicate`], type [`SNAPSHOT_PREDICATE_TYPE`]): the environment's name, the
//!   whole snapshot, and the evidence artifacts.
//!
//! Either way the statement's subject is the image's platform manifest, and every artifact
//! attached beside it is listed by its SHA-256 ([`evidence_of`]): `verify` accepts no other.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::artifacts::ArtifactSet;
use crate::attest::statement::{
    BuildDefinition, BuildMetadata, Builder, Provenance, ResourceDescriptor, RunDetails,
    SLSA_PROVENANCE_V1, Statement, StatementError,
};
use crate::lockfile::Snapshot;
use crate::model::{Digest, ImageRef};

/// The predicate type of an environment snapshot observed by envaudit (version 1).
pub const SNAPSHOT_PREDICATE_TYPE: &str =
    "https://envaudit.dev/attestation/environment-snapshot/v1";

/// The `buildType` of an image `envaudit build` built (version 1): its external parameters
/// are the environment, the definition and its hash.
pub const BUILD_TYPE: &str = "https://envaudit.dev/build/environment-image/v1";

/// The builder id of `envaudit build`, followed by the program that built (`/buildah`).
pub const BUILDER_ID: &str = "https://envaudit.dev/builder";

/// The environment-snapshot predicate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPredicate {
    /// The environment's name in the lockfile.
    pub environment: String,
    /// The snapshot, with the lockfile's field names.
    pub snapshot: Snapshot,
    /// The artifacts attached beside the statement, each by its SHA-256.
    pub evidence: Vec<ResourceDescriptor>,
    /// What wrote the predicate: `envaudit X.Y.Z`.
    pub generator: String,
}

/// What `envaudit build` knows of a build it ran.
#[derive(Clone, Debug)]
pub struct BuildFacts {
    /// The program that built (`buildah`, `docker`, `podman`, `acr`).
    pub builder: String,
    /// When the build started and finished.
    pub started: jiff::Timestamp,
    /// When the build finished.
    pub finished: jiff::Timestamp,
}

/// The statement's entries for the evidence artifacts: name, SHA-256, media type.
pub fn evidence_of(artifacts: &ArtifactSet) -> Vec<ResourceDescriptor> {
    artifacts
        .blobs()
        .map(|b| {
            let mut d = ResourceDescriptor::with_digest(b.name.clone(), &b.digest());
            d.media_type = Some(b.media_type.to_owned());
            d
        })
        .collect()
}

/// The subject: the image repository, with its platform manifest's digest.
pub fn subject(image: &ImageRef, manifest: &Digest) -> ResourceDescriptor {
    ResourceDescriptor::with_digest(
        format!("{}/{}", image.registry(), image.repository()),
        manifest,
    )
}

/// The statement over an observed image: the environment-snapshot predicate.
pub fn snapshot_statement(
    image: &ImageRef,
    manifest: &Digest,
    environment: &str,
    snapshot: &Snapshot,
    artifacts: &ArtifactSet,
) -> Result<Statement, StatementError> {
    let predicate = SnapshotPredicate {
        environment: environment.to_owned(),
        snapshot: snapshot.clone(),
        evidence: evidence_of(artifacts),
        generator: concat!("envaudit ", env!("CARGO_PKG_VERSION")).to_owned(),
    };
    Statement::new(
        vec![subject(image, manifest)],
        SNAPSHOT_PREDICATE_TYPE,
        &predicate,
    )
}

/// SLSA Provenance v1 of an image `envaudit build` built.
pub fn provenance(
    environment: &str,
    snapshot: &Snapshot,
    build: &BuildFacts,
    artifacts: &ArtifactSet,
) -> Provenance {
    let mut external = Map::new();
    external.insert("environment".into(), json!(environment));
    external.insert("definition".into(), json!(snapshot.definition));
    external.insert(
        "definitionHash".into(),
        json!(snapshot.definition_hash.to_string()),
    );
    if snapshot.definition_kind.is_some() {
        external.insert(
            "definitionKind".into(),
            json!(snapshot.definition_kind_str()),
        );
    }
    let mut internal = Map::new();
    if let Some(b) = &snapshot.base_image {
        internal.insert("baseImage".into(), Value::String(b.clone()));
    }
    let mut resolved: Vec<ResourceDescriptor> = snapshot
        .definition_files
        .iter()
        .map(|f| ResourceDescriptor {
            name: Some(f.path.clone()),
            digest: [("gitBlob".to_owned(), f.blob.clone())]
                .into_iter()
                .collect(),
            ..ResourceDescriptor::default()
        })
        .collect();
    if let (Some(base), Some(digest)) = (&snapshot.base_image, &snapshot.base_image_digest) {
        let mut d = ResourceDescriptor::with_digest(base.clone(), digest);
        d.uri = Some(format!("oci://{}", base.split('@').next().unwrap_or(base)));
        resolved.push(d);
    }
    Provenance {
        build_definition: BuildDefinition {
            build_type: BUILD_TYPE.to_owned(),
            external_parameters: external,
            internal_parameters: internal,
            resolved_dependencies: resolved,
        },
        run_details: RunDetails {
            builder: Builder {
                id: format!("{BUILDER_ID}/{}", build.builder),
                version: [("envaudit".to_owned(), env!("CARGO_PKG_VERSION").to_owned())]
                    .into_iter()
                    .collect(),
                builder_dependencies: Vec::new(),
            },
            metadata: Some(BuildMetadata {
                invocation_id: Some(snapshot.id.clone()),
                started_on: Some(build.started),
                finished_on: Some(build.finished),
            }),
            byproducts: evidence_of(artifacts),
        },
    }
}

/// The statement over an image `envaudit build` built: SLSA Provenance v1.
pub fn provenance_statement(
    image: &ImageRef,
    manifest: &Digest,
    environment: &str,
    snapshot: &Snapshot,
    build: &BuildFacts,
    artifacts: &ArtifactSet,
) -> Result<Statement, StatementError> {
    Statement::new(
        vec![subject(image, manifest)],
        SLSA_PROVENANCE_V1,
        &provenance(environment, snapshot, build, artifacts),
    )
}

/// The evidence a verified statement lists: the snapshot predicate's `evidence`, SLSA's
/// `byproducts`; `None` for a predicate type envaudit does not write.
pub fn listed_evidence(statement: &Statement) -> Option<Vec<ResourceDescriptor>> {
    match statement.predicate_type() {
        SNAPSHOT_PREDICATE_TYPE => statement
            .predicate_as::<SnapshotPredicate>()
            .ok()
            .map(|p| p.evidence),
        SLSA_PROVENANCE_V1 => statement
            .predicate_as::<Provenance>()
            .ok()
            .map(|p| p.run_details.byproducts),
        _ => None,
    }
}
