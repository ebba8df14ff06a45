//! `verify`: the evidence attached to an image, checked.
//!
//! 1. The referrers of the image's platform manifest are listed (referrers API, else the
//!    tag-schema index).
//! 2. Each Sigstore bundle is read and its DSSE signature checked with the given keys over the
//!    pre-authentication encoding; the statement's subject must be the manifest.
//! 3. Every other referrer counts only when a verified statement lists each of its layers by
//!    SHA-256; the attested snapshot and its runs come from the verified statement or from
//!    such listed layers.
//! 4. Optionally the image is read again, every layer checked against its `diff_id`, and its
//!    catalog compared with the attested snapshot ([`super::content`]).
//!
//! Findings: `unattested`, `signature-invalid`, `subject-mismatch`, `content-changed`, and
//! from the re-read `diff-id-mismatch` and `catalog-incomplete`.

use std::collections::BTreeSet;

use serde::Serialize;

use super::EvidenceError;
use super::artifacts::{RUN_MEDIA_TYPE, SNAPSHOT_MEDIA_TYPE};
use super::content::{self, ContentCheck};
use super::predicate::{self, SNAPSHOT_PREDICATE_TYPE, SnapshotPredicate};
use crate::attest::bundle::{self, Bundle};
use crate::attest::keys::VerifyingKey;
use crate::attest::statement::Statement;
use crate::diag::{Code, Finding};
use crate::lockfile::{RunRecord, Snapshot, StoredSnapshot};
use crate::model::{Digest, ImageRef};
use crate::registry::ReferrersSource;
use crate::scan::Scanner;
use crate::source::SourceFile;

/// The JSON schema version of [`VerifyReport`].
pub const SCHEMA_VERSION: u32 = 1;

/// What to verify.
#[derive(Clone, Debug)]
pub struct Target {
    /// The image's repository.
    pub image: ImageRef,
    /// The platform manifest whose evidence is checked.
    pub manifest: Digest,
    /// The environment whose lock named the image (`verify --env`).
    pub environment: Option<String>,
    /// For an environment: the manifest its reference names now, when that differs from the
    /// locked one (the tag moved).
    pub moved_to: Option<Digest>,
}

/// One Sigstore bundle found.
#[derive(Clone, Debug, Serialize)]
pub struct AttestationCheck {
    /// The bundle artifact's manifest digest.
    pub digest: Digest,
    /// Whether its signature verified with a given key and its subject is the manifest.
    pub valid: bool,
    /// The statement's predicate type, when its signature verified.
    pub predicate_type: Option<String>,
    /// The statement's digest, when its signature verified.
    pub statement: Option<Digest>,
    /// The id of the key that verified it.
    pub key_id: Option<String>,
    /// Why it is not valid.
    pub problem: Option<String>,
}

/// One other referrer found.
#[derive(Clone, Debug, Serialize)]
pub struct ArtifactCheck {
    /// The artifact manifest's digest.
    pub digest: Digest,
    /// Its artifact type.
    pub artifact_type: Option<String>,
    /// Whether a verified statement lists every one of its layers; an unlisted artifact is
    /// not evidence and is not read further.
    pub listed: bool,
}

/// The evidence that verified: the attested snapshot and its runs.
#[derive(Clone, Debug)]
pub struct Evidence {
    /// The environment's name as attested.
    pub environment: String,
    /// The attested snapshot.
    pub snapshot: Snapshot,
    /// The attested run records of that snapshot.
    pub runs: Vec<RunRecord>,
}

/// What `verify` found.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The image's repository, `REGISTRY/REPOSITORY`.
    pub image: String,
    /// The platform manifest checked.
    pub manifest: Digest,
    /// The environment, for `verify --env`.
    pub environment: Option<String>,
    /// The manifest the environment's reference names now, when it moved.
    pub moved_to: Option<Digest>,
    /// `referrers-api` or `tag-schema`.
    pub referrers: &'static str,
    /// Every Sigstore bundle found.
    pub attestations: Vec<AttestationCheck>,
    /// Every other referrer found.
    pub artifacts: Vec<ArtifactCheck>,
    /// The attested snapshot's id, when the evidence verified.
    pub snapshot: Option<String>,
    /// The attested runs' ids.
    pub runs: Vec<String>,
    /// The image read again against the attested snapshot, when asked.
    pub content: Option<ContentCheck>,
    /// What is wrong.
    pub findings: Vec<Finding>,
    /// The verified evidence, for `report --from-registry`.
    #[serde(skip)]
    pub evidence: Option<Evidence>,
}

/// Lists and checks the evidence of `target` with `keys`.
pub fn verify(
    scanner: &Scanner,
    target: &Target,
    keys: &[VerifyingKey],
) -> Result<VerifyReport, EvidenceError> {
    let image = &target.image;
    let listed = scanner.referrers(image, &target.manifest, None)?;
    let mut report = VerifyReport {
        schema_version: SCHEMA_VERSION,
        image: format!("{}/{}", image.registry(), image.repository()),
        manifest: target.manifest.clone(),
        environment: target.environment.clone(),
        moved_to: target.moved_to.clone(),
        referrers: match listed.source {
            ReferrersSource::Api => "referrers-api",
            ReferrersSource::TagSchema { .. } => "tag-schema",
        },
        attestations: Vec::new(),
        artifacts: Vec::new(),
        snapshot: None,
        runs: Vec::new(),
        content: None,
        findings: Vec::new(),
        evidence: None,
    };
    if let (Some(env), Some(now)) = (&target.environment, &target.moved_to) {
        report.findings.push(
            Finding::new(
                Code::SubjectMismatch,
                format!(
                    "`{env}` locked `{}@{}`, but its reference names `{now}` now: the tag moved to an image the evidence is not about",
                    report.image, target.manifest
                ),
            )
            .with_package(env),
        );
    }
    let key_ids: BTreeSet<&str> = keys.iter().map(|k| k.key_id().as_str()).collect();
    let mut statements: Vec<Statement> = Vec::new();
    let mut others = Vec::new();
    for d in &listed.descriptors {
        if d.artifact_type.as_deref() != Some(bundle::MEDIA_TYPE) {
            others.push(d);
            continue;
        }
        let (check, outcome) = check_bundle(scanner, image, &target.manifest, &d.digest, keys);
        let code = match outcome {
            Ok(statement) => {
                statements.push(statement);
                None
            }
            Err(Problem::Unavailable(e)) => return Err(EvidenceError::Registry(*e)),
            Err(Problem::Subject) => Some(Code::SubjectMismatch),
            Err(Problem::Unreadable) => Some(Code::SignatureInvalid),
            Err(Problem::Signature { claimed }) => claimed
                .iter()
                .any(|k| key_ids.contains(k.as_str()))
                .then_some(Code::SignatureInvalid),
        };
        if let Some(code) = code {
            report.findings.push(Finding::new(
                code,
                format!(
                    "the bundle `{}` on `{}@{}`: {}",
                    d.digest,
                    report.image,
                    target.manifest,
                    check.problem.as_deref().unwrap_or("invalid")
                ),
            ));
        }
        report.attestations.push(check);
    }
    if statements.is_empty() {
        let found = report.attestations.len();
        let flagged = report
            .findings
            .iter()
            .any(|f| matches!(f.code, Code::SignatureInvalid | Code::SubjectMismatch));
        if found == 0 {
            report.findings.push(Finding::new(
                Code::Unattested,
                format!(
                    "`{}@{}` carries no signed evidence (no Sigstore bundle among its referrers)",
                    report.image, target.manifest
                ),
            ));
        } else if !flagged {
            report.findings.push(Finding::new(
                Code::SignatureInvalid,
                format!(
                    "none of the {found} signed bundle{} on `{}@{}` verifies with the given key{}",
                    if found == 1 { "" } else { "s" },
                    report.image,
                    target.manifest,
                    if keys.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        return Ok(report);
    }
    let listed_digests: BTreeSet<Digest> = statements
        .iter()
        .filter_map(predicate::listed_evidence)
        .flatten()
        .filter_map(|r| r.digest_of(crate::model::DigestAlgorithm::Sha256))
        .collect();
    let mut evidence: Option<Evidence> = statements.iter().find_map(|s| {
        (s.predicate_type() == SNAPSHOT_PREDICATE_TYPE)
            .then(|| s.predicate_as::<SnapshotPredicate>().ok())
            .flatten()
            .map(|p| Evidence {
                environment: p.environment,
                snapshot: p.snapshot,
                runs: Vec::new(),
            })
    });
    let mut runs: Vec<RunRecord> = Vec::new();
    let mut found: BTreeSet<Digest> = BTreeSet::new();
    for d in others {
        let Ok((manifest, layers)) = scanner.pull_artifact(image, &d.digest) else {
            report.artifacts.push(ArtifactCheck {
                digest: d.digest.clone(),
                artifact_type: d.artifact_type.clone(),
                listed: false,
            });
            continue;
        };
        let listed = !manifest.layers.is_empty()
            && manifest
                .layers
                .iter()
                .all(|l| listed_digests.contains(&l.digest));
        report.artifacts.push(ArtifactCheck {
            digest: d.digest.clone(),
            artifact_type: Some(manifest.artifact_type.clone()),
            listed,
        });
        if !listed {
            continue;
        }
        found.extend(manifest.layers.iter().map(|l| l.digest.clone()));
        for (descriptor, bytes) in manifest.layers.iter().zip(&layers) {
            let Ok(text) = std::str::from_utf8(bytes) else {
                continue;
            };
            let source = SourceFile::from_text(format!("{}", descriptor.digest), text);
            match descriptor.media_type.as_str() {
                SNAPSHOT_MEDIA_TYPE => {
                    if evidence.is_none()
                        && let Ok(s) = StoredSnapshot::parse(&source)
                    {
                        evidence = Some(Evidence {
                            environment: s.environment,
                            snapshot: s.snapshot,
                            runs: Vec::new(),
                        });
                    }
                }
                RUN_MEDIA_TYPE => {
                    if let Ok(r) = RunRecord::parse(&source) {
                        runs.push(r);
                    }
                }
                _ => {}
            }
        }
    }
    let missing: Vec<&Digest> = listed_digests.difference(&found).collect();
    if !missing.is_empty() {
        report.findings.push(Finding::new(
            Code::EvidenceIncomplete,
            format!(
                "a verified statement on `{}@{}` lists {} artifact layer{} the registry no longer holds or that could not be read (deleted or replaced): {}",
                report.image,
                target.manifest,
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                missing
                    .iter()
                    .take(3)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if let Some(e) = &mut evidence {
        runs.retain(|r| r.snapshot == e.snapshot.id && r.environment == e.environment);
        runs.sort_by(|a, b| (&a.time, &a.run).cmp(&(&b.time, &b.run)));
        runs.dedup_by(|a, b| a.run == b.run);
        e.runs = runs;
        report.snapshot = Some(e.snapshot.id.clone());
        report.runs = e.runs.iter().map(|r| r.run.clone()).collect();
    }
    report.evidence = evidence;
    Ok(report)
}

/// Reads the image again (every layer, no cache, each checked against its `diff_id`) and
/// compares its catalog with the attested snapshot: `content-changed`, `diff-id-mismatch`,
/// `catalog-incomplete`.
pub fn check_content(
    scanner: &Scanner,
    target: &Target,
    report: &mut VerifyReport,
) -> Result<(), EvidenceError> {
    let Some(evidence) = &report.evidence else {
        // Nothing attested to compare with: unless a finding already says why, say it.
        if report.findings.is_empty() {
            report.findings.push(Finding::new(
                Code::EvidenceIncomplete,
                format!(
                    "the signed evidence on `{}@{}` holds no readable snapshot to compare the image with",
                    report.image, target.manifest
                ),
            ));
        }
        return Ok(());
    };
    let reference: ImageRef = format!("{}@{}", report.image, target.manifest)
        .parse()
        .map_err(
            |e: crate::model::ImageRefError| EvidenceError::NotARegistryImage {
                environment: evidence.environment.clone(),
                reference: report.image.clone(),
                reason: e.to_string(),
            },
        )?;
    let source = crate::model::ImageSource::Registry(reference);
    let scanned = scanner.scan_verified(&source)?;
    // A partial read proves less than the evidence claims: for `verify` it is an error.
    report
        .findings
        .extend(scanned.warnings.iter().cloned().map(|mut f| {
            if f.code == Code::CatalogIncomplete {
                f.severity = crate::diag::Severity::Error;
            }
            f
        }));
    let observed = scanned.snapshot(None, std::path::Path::new("."), &report.image);
    let check = content::compare(&evidence.snapshot, &observed);
    if !check.same() {
        let mut what: Vec<String> = check
            .changes
            .iter()
            .take(5)
            .map(|c| {
                format!(
                    "{} {} {}",
                    c.name,
                    c.old_version.as_deref().unwrap_or("-"),
                    c.new_version.as_deref().unwrap_or("-")
                )
            })
            .collect();
        what.extend(check.altered.iter().take(5).map(|a| format!("{a} (files)")));
        if check.layers_changed {
            what.push("the layers".to_owned());
        }
        report.findings.push(Finding::new(
            Code::ContentChanged,
            format!(
                "`{}@{}` no longer holds the attested snapshot `{}`: {} package change{}, {} altered ({})",
                report.image,
                target.manifest,
                check.attested_snapshot,
                check.changes.len(),
                if check.changes.len() == 1 { "" } else { "s" },
                check.altered.len(),
                what.join(", ")
            ),
        ));
    }
    report.content = Some(check);
    Ok(())
}

/// Why a bundle is not evidence.
pub(super) enum Problem {
    /// It could not be read or parsed (truncated, malformed, too large).
    Unreadable,
    /// The registry could not be asked (a transport failure, a timeout, a server error,
    /// refused credentials): nothing is known about the bundle, which is not a finding but
    /// an error.
    Unavailable(Box<crate::registry::RegistryError>),
    /// Its manifest's subject, or its statement's, is not the image.
    Subject,
    /// No given key verifies it; `claimed` are the key ids it names (its signatures' and
    /// its annotation's): one of ours means tampering, another key's means not ours.
    Signature {
        /// The key ids the bundle names.
        claimed: Vec<String>,
    },
}

/// Whether a registry error says the registry could not be asked, rather than that what it
/// served is wrong (missing, too large, not what its digest says, malformed).
fn unavailable(e: &crate::registry::RegistryError) -> bool {
    use crate::registry::RegistryError as E;
    matches!(
        e,
        E::Unauthorized { .. }
            | E::Forbidden { .. }
            | E::Token { .. }
            | E::Status { .. }
            | E::RetriesExhausted { .. }
            | E::RetryAfterTooLong { .. }
            | E::Timeout { .. }
            | E::Transport { .. }
            | E::Read { .. }
            | E::Credentials { .. }
            | E::Tls(_)
            | E::Client(_)
    )
}

/// Reads and checks one bundle referrer: its subject, its signature, its statement's subject.
pub(super) fn check_bundle(
    scanner: &Scanner,
    image: &ImageRef,
    manifest: &Digest,
    digest: &Digest,
    keys: &[VerifyingKey],
) -> (AttestationCheck, Result<Statement, Problem>) {
    let mut check = AttestationCheck {
        digest: digest.clone(),
        valid: false,
        predicate_type: None,
        statement: None,
        key_id: None,
        problem: None,
    };
    match read_bundle(scanner, image, manifest, digest, keys, &mut check) {
        Ok(statement) => {
            check.valid = true;
            (check, Ok(statement))
        }
        Err((problem, why)) => {
            check.problem = Some(why);
            (check, Err(problem))
        }
    }
}

/// The steps of [`check_bundle`], each failure with its kind and a sentence; what is learnt
/// on the way (key id, predicate type, statement digest) goes into `check`.
fn read_bundle(
    scanner: &Scanner,
    image: &ImageRef,
    manifest: &Digest,
    digest: &Digest,
    keys: &[VerifyingKey],
    check: &mut AttestationCheck,
) -> Result<Statement, (Problem, String)> {
    let unreadable = |why: String| (Problem::Unreadable, why);
    let (artifact, layers) = scanner.pull_artifact(image, digest).map_err(|e| {
        let why = format!("cannot be read: {e}");
        if unavailable(&e) {
            (Problem::Unavailable(Box::new(e)), why)
        } else {
            unreadable(why)
        }
    })?;
    if artifact
        .subject
        .as_ref()
        .is_none_or(|s| &s.digest != manifest)
    {
        return Err((
            Problem::Subject,
            "its manifest's subject is another image".to_owned(),
        ));
    }
    let bytes = artifact
        .layers
        .iter()
        .zip(&layers)
        .find(|(d, _)| d.media_type == bundle::MEDIA_TYPE)
        .map(|(_, b)| b)
        .ok_or_else(|| unreadable("it holds no Sigstore bundle layer".to_owned()))?;
    let bundle = Bundle::from_json(bytes).map_err(|e| unreadable(e.to_string()))?;
    let verified = bundle.verify(keys).map_err(|e| {
        let mut claimed: Vec<String> = bundle
            .envelope()
            .signatures()
            .iter()
            .map(|s| s.keyid().to_owned())
            .collect();
        claimed.push(bundle.key_hint().to_owned());
        claimed.extend(
            artifact
                .annotations
                .get(super::attach::KEY_ANNOTATION)
                .cloned(),
        );
        (Problem::Signature { claimed }, e.to_string())
    })?;
    check.key_id = Some(verified.key_id.as_str().to_owned());
    let statement = Statement::from_verified(&verified).map_err(|e| unreadable(e.to_string()))?;
    check.predicate_type = Some(statement.predicate_type().to_owned());
    check.statement = Some(statement.digest());
    if !statement.subject().iter().any(|s| s.matches(manifest)) {
        return Err((
            Problem::Subject,
            format!("the signed statement's subject is not `{manifest}`"),
        ));
    }
    Ok(statement)
}
