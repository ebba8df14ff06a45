//! `attest`: the evidence of one environment's snapshot attached to its image.
//!
//! Three artifacts: the SBOM, the snapshot record, and the Sigstore bundle of the signed
//! statement that lists them, pushed together; without the referrers API one update of the
//! tag-schema index lists all three, so a listed bundle means its artifacts are stored.
//!
//! Idempotent: when a bundle by the same key over the same statement digest is listed
//! already (the annotations [`STATEMENT_ANNOTATION`] and [`KEY_ANNOTATION`] say so; the
//! bundle's bytes differ at every signing, as ECDSA signatures do), nothing is pushed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::EvidenceError;
use super::artifacts::{
    ARTIFACT_ANNOTATION, Artifact, ArtifactSet, SBOM_ARTIFACT_TYPE, SNAPSHOT_ANNOTATION,
    TITLE_ANNOTATION,
};
use super::predicate::{self, BuildFacts};
use crate::attest::bundle::{self, Bundle};
use crate::attest::keys::SigningKey;
use crate::lockfile::{RunRecord, Snapshot};
use crate::model::{Digest, ImageRef};
use crate::registry::{self, Stored};
use crate::scan::Scanner;

/// The bundle annotation naming the signed statement's digest (`sha256:HEX` of the DSSE
/// payload).
pub const STATEMENT_ANNOTATION: &str = "dev.envaudit.statement";
/// The bundle annotation naming the signing key's id.
pub const KEY_ANNOTATION: &str = "dev.envaudit.key-id";
/// cosign's annotation saying what a bundle holds (`dsse-envelope`).
pub const BUNDLE_CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// cosign's annotation naming a bundle's predicate type.
pub const BUNDLE_PREDICATE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";

/// One environment to attest.
pub struct Request<'a> {
    /// Its name in the lockfile.
    pub environment: &'a str,
    /// Its current snapshot, which names the image.
    pub snapshot: &'a Snapshot,
    /// Run records; those of this snapshot are attached.
    pub runs: &'a [RunRecord],
    /// When `envaudit build` just built the image: SLSA provenance instead of the
    /// environment-snapshot predicate.
    pub build: Option<&'a BuildFacts>,
}

/// How one artifact was stored.
#[derive(Clone, Debug, Serialize)]
pub struct Pushed {
    /// `sbom`, `snapshot` or `bundle`.
    pub artifact: &'static str,
    /// The artifact manifest's digest.
    pub digest: Digest,
    /// `referrers-api`, `tag-schema` (the fallback index was written) or `listed` (the
    /// fallback index listed it already).
    pub stored: &'static str,
}

/// What `attest` did for one environment.
#[derive(Clone, Debug, Serialize)]
pub struct Attestation {
    /// The environment's name.
    pub environment: String,
    /// The image, `REGISTRY/REPOSITORY@DIGEST` of its platform manifest.
    pub image: String,
    /// The statement's predicate type.
    pub predicate_type: String,
    /// The signed statement's digest.
    pub statement: Digest,
    /// The signing key's id.
    pub key_id: String,
    /// `attested`, or `already-attested` when nothing had to be pushed.
    pub status: &'static str,
    /// The artifacts pushed, in order (empty when already attested).
    pub pushed: Vec<Pushed>,
}

/// The image a snapshot recorded: its repository and platform manifest digest.
pub fn locked_image(
    environment: &str,
    snapshot: &Snapshot,
) -> Result<(ImageRef, Digest), EvidenceError> {
    let no_image = || EvidenceError::NoImage {
        environment: environment.to_owned(),
    };
    let reference = snapshot.image.as_deref().ok_or_else(no_image)?;
    let manifest = snapshot.image_manifest.clone().ok_or_else(no_image)?;
    let image: ImageRef = reference
        .parse()
        .map_err(
            |e: crate::model::ImageRefError| EvidenceError::NotARegistryImage {
                environment: environment.to_owned(),
                reference: reference.to_owned(),
                reason: e.to_string(),
            },
        )?;
    Ok((image, manifest))
}

/// Attaches the evidence of `request`'s snapshot to its image, signed with `key`.
pub fn attest(
    scanner: &Scanner,
    request: &Request<'_>,
    key: &SigningKey,
) -> Result<Attestation, EvidenceError> {
    let (image, manifest) = locked_image(request.environment, request.snapshot)?;
    let artifacts = ArtifactSet::new(request.environment, request.snapshot, request.runs);
    let statement = match request.build {
        Some(build) => predicate::provenance_statement(
            &image,
            &manifest,
            request.environment,
            request.snapshot,
            build,
            &artifacts,
        ),
        None => predicate::snapshot_statement(
            &image,
            &manifest,
            request.environment,
            request.snapshot,
            &artifacts,
        ),
    }?;
    let statement_digest = statement.digest();
    let key_id = key.key_id().as_str().to_owned();
    let mut attestation = Attestation {
        environment: request.environment.to_owned(),
        image: format!("{}/{}@{manifest}", image.registry(), image.repository()),
        predicate_type: statement.predicate_type().to_owned(),
        statement: statement_digest.clone(),
        key_id: key_id.clone(),
        status: "already-attested",
        pushed: Vec::new(),
    };
    if already_attested(
        scanner,
        &image,
        &manifest,
        &statement_digest,
        key,
        &request.snapshot.id,
    )? {
        return Ok(attestation);
    }
    let subject = scanner.manifest_descriptor(&image, &manifest)?;
    let signed = Bundle::sign_statement(&statement, key)?;
    let mut annotations = BTreeMap::from([
        (
            BUNDLE_CONTENT_ANNOTATION.to_owned(),
            "dsse-envelope".to_owned(),
        ),
        (
            BUNDLE_PREDICATE_ANNOTATION.to_owned(),
            statement.predicate_type().to_owned(),
        ),
        (
            STATEMENT_ANNOTATION.to_owned(),
            statement_digest.to_string(),
        ),
        (KEY_ANNOTATION.to_owned(), key_id),
    ]);
    annotations.insert(
        "org.opencontainers.image.created".to_owned(),
        jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    );
    let bundle_artifact = registry::Artifact {
        artifact_type: bundle::MEDIA_TYPE.to_owned(),
        layers: vec![registry::ArtifactLayer {
            media_type: bundle::MEDIA_TYPE.to_owned(),
            bytes: signed.to_json().into(),
            annotations: BTreeMap::from([(
                TITLE_ANNOTATION.to_owned(),
                "bundle.sigstore.json".to_owned(),
            )]),
        }],
        annotations,
    };
    // One call: every blob pushed once, the three manifests, then (without the referrers API)
    // one update of the tag-schema index that lists all three together.
    let mut names = Vec::new();
    let mut all = Vec::new();
    for a in artifacts.artifacts() {
        names.push(if a.artifact_type == SBOM_ARTIFACT_TYPE {
            "sbom"
        } else {
            "snapshot"
        });
        all.push(to_registry(a));
    }
    names.push("bundle");
    all.push(bundle_artifact);
    let attached = scanner.attach_all(&image, &subject, &all)?;
    for (name, a) in names.into_iter().zip(&attached) {
        attestation.pushed.push(pushed(name, a));
    }
    attestation.status = "attested";
    Ok(attestation)
}

/// Whether the image already carries this statement signed by this key, with its artifacts.
/// The annotations only pick the candidates (anyone who can push can write them): a
/// candidate counts once its bundle verifies with `key` over a statement of this digest, and
/// the SBOM and snapshot record of this snapshot are listed beside it.
fn already_attested(
    scanner: &Scanner,
    image: &ImageRef,
    manifest: &Digest,
    statement: &Digest,
    key: &SigningKey,
    snapshot: &str,
) -> Result<bool, EvidenceError> {
    let listed = scanner.referrers(image, manifest, None)?;
    let has = |kind: &str| {
        listed.descriptors.iter().any(|d| {
            d.annotations.get(ARTIFACT_ANNOTATION).map(String::as_str) == Some(kind)
                && d.annotations.get(SNAPSHOT_ANNOTATION).map(String::as_str) == Some(snapshot)
        })
    };
    if !has("sbom") || !has("snapshot") {
        return Ok(false);
    }
    let key_id = key.key_id().as_str();
    let keys = std::slice::from_ref(key.verifying_key());
    let mut candidates = listed.descriptors.iter().filter(|d| {
        d.artifact_type.as_deref() == Some(bundle::MEDIA_TYPE)
            && d.annotations.get(STATEMENT_ANNOTATION) == Some(&statement.to_string())
            && d.annotations.get(KEY_ANNOTATION).map(String::as_str) == Some(key_id)
    });
    Ok(candidates.any(|d| {
        // The same check `verify` makes: the bundle's subject, its signature, its statement.
        let (check, _) = super::verify::check_bundle(scanner, image, manifest, &d.digest, keys);
        check.valid && check.statement.as_ref() == Some(statement)
    }))
}

fn to_registry(artifact: &Artifact) -> registry::Artifact {
    registry::Artifact {
        artifact_type: artifact.artifact_type.to_owned(),
        layers: artifact
            .layers
            .iter()
            .map(|b| registry::ArtifactLayer {
                media_type: b.media_type.to_owned(),
                bytes: b.bytes.clone().into(),
                annotations: BTreeMap::from([(TITLE_ANNOTATION.to_owned(), b.name.clone())]),
            })
            .collect(),
        annotations: artifact.annotations.clone(),
    }
}

fn pushed(artifact: &'static str, attached: &registry::Attached) -> Pushed {
    Pushed {
        artifact,
        digest: attached.manifest.digest.clone(),
        stored: match &attached.stored {
            Stored::Api => "referrers-api",
            Stored::TagSchema(u) if u.writes == 0 => "listed",
            Stored::TagSchema(_) => "tag-schema",
        },
    }
}
