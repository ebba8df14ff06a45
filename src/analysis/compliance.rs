//! The compliance report of a model: for every run that trained it, what exactly the
//! environment was, whether it can be rebuilt, and what moved since.
//!
//! Everything comes from the lockfile, its recorded runs and snapshots, and the lockfile's
//! git history; [`report`] takes those as values (the CLI reads them) and returns the report
//! that `render::render_audit` and the SBOM writers render.

use serde::Serialize;

use crate::analysis::graph::{Class, DepGraph};
use crate::analysis::log::LogEntry;
use crate::diag::{Code, Finding};
use crate::layer::Completeness;
use crate::lockfile::{Declared, FileRecord, LockedPackage, RunRecord, Snapshot};
use crate::model::Digest;
use crate::model::pin::PinState;

/// The JSON schema version of [`AuditReport`].
pub const SCHEMA_VERSION: u32 = 1;

/// The compliance report of one model.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// [`SCHEMA_VERSION`]: the version of this report's JSON shape.
    pub schema_version: u32,
    /// The model as asked for: `NAME` or `NAME:VERSION`.
    pub model: String,
    /// When the report was made (UTC, RFC 3339; `SOURCE_DATE_EPOCH` when set).
    pub generated: String,
    /// `envaudit VERSION`, the program that made the report.
    pub generator: String,
    /// The lockfile the report was made from.
    pub lockfile: LockfileFacts,
    /// The model's runs, in the order the caller gave them; empty when no run trained it.
    pub runs: Vec<RunAudit>,
    /// Every run reproducible.
    pub reproducible: bool,
}

impl AuditReport {
    /// What the report found that a command can fail on: a `catalog-incomplete` finding for
    /// each run whose recorded snapshot is partial ([`RunAudit::catalog_incomplete`]).
    pub fn findings(&self) -> Vec<Finding> {
        self.runs
            .iter()
            .filter_map(RunAudit::catalog_incomplete)
            .collect()
    }

    /// The run an SBOM describes: the one named, else the most recent.
    pub fn run(&self, run: Option<&str>) -> Option<&RunAudit> {
        match run {
            Some(id) => self.runs.iter().find(|r| r.run.run == id),
            None => self.runs.iter().max_by(|a, b| a.run.time.cmp(&b.run.time)),
        }
    }
}

/// Which lockfile the report was made from.
#[derive(Clone, Debug, Serialize)]
pub struct LockfileFacts {
    /// The lockfile's path, as the caller gives it.
    pub path: String,
    /// SHA-256 of the lockfile's bytes.
    pub sha256: Digest,
    /// The commit checked out (`HEAD`), when the lockfile is in a git repository.
    pub commit: Option<String>,
    /// Whether the lockfile differs from its committed version.
    pub modified: bool,
}

/// One run of the model and the environment it ran in.
#[derive(Clone, Debug, Serialize)]
pub struct RunAudit {
    /// The run record, as the lockfile stores it.
    pub run: RunRecord,
    /// The name of the environment the run used.
    pub environment: String,
    /// The environment's identities: snapshot, definition hash and Azure ML's.
    pub identity: Identity,
    /// The image the run's snapshot records.
    pub image: ImageFacts,
    /// The operating system of the image (`ubuntu 22.04`), when known.
    pub os: Option<String>,
    /// The snapshot's `completeness` as the lockfile writes it; `missing` when the run's
    /// snapshot is not recorded.
    pub completeness: String,
    /// The snapshot's installed packages, in lockfile order; empty when the snapshot is not
    /// recorded.
    pub packages: Vec<PackageRow>,
    /// How many packages fall in each pin class.
    pub counts: Counts,
    /// Declared dependencies whose declaration admits other versions.
    pub unpinned: Vec<Declared>,
    /// The environment's changes in the lockfile's history after this run's snapshot.
    pub history: Vec<LogEntry>,
    /// Whether the environment can be rebuilt as it was, check by check.
    pub verdict: Verdict,
}

impl RunAudit {
    /// `catalog-incomplete` when the run's recorded snapshot is partial: its packages were
    /// not all read, so the report may miss some (the `catalog-complete` check fails too).
    /// A run whose snapshot is not recorded at all fails `snapshot-recorded` instead.
    pub fn catalog_incomplete(&self) -> Option<Finding> {
        let Ok(Completeness::Partial(reason)) = self.completeness.parse::<Completeness>() else {
            return None;
        };
        Some(
            Finding::new(
                Code::CatalogIncomplete,
                format!(
                    "run `{}` of `{}`: snapshot {} is partial, its installed packages were not all read: {reason}",
                    self.run.run, self.environment, self.identity.snapshot
                ),
            )
            .with_package(self.environment.clone()),
        )
    }
}

/// What the environment was, by every identity envaudit and Azure ML give it.
#[derive(Clone, Debug, Serialize)]
pub struct Identity {
    /// The snapshot id the run record names.
    pub snapshot: String,
    /// The definition's path relative to the lockfile's folder; empty when the snapshot was
    /// locked without a definition or is not recorded.
    pub definition: String,
    /// The snapshot's `definition-kind` as the lockfile writes it; empty when the run's
    /// snapshot is not recorded.
    pub definition_kind: String,
    /// The files the definition was read from, with their git blob ids at lock time.
    pub definition_files: Vec<FileRecord>,
    /// envaudit's definition hash. Without a definition (or a recorded snapshot) it is the
    /// SHA-256 of nothing, as the lockfile writes it.
    pub definition_hash: Digest,
    /// The anonymous version Azure ML (v2) gives the environment, for definitions it applies to.
    pub azureml_v2_anonymous_version: Option<String>,
    /// The Azure ML (v1) image hash (the 32 hex characters of `azureml_<hash>`), else the image
    /// name, for definitions it applies to.
    pub azureml_v1_image: Option<String>,
}

/// The image the run used.
#[derive(Clone, Debug, Serialize)]
pub struct ImageFacts {
    /// The image reference as written when locked; `None` for a folder or live filesystem.
    pub reference: Option<String>,
    /// The image index the reference resolved through, when there was one.
    pub index: Option<Digest>,
    /// The platform manifest digest: with the config and layers, the image's identity.
    pub manifest: Option<Digest>,
    /// The image config digest.
    pub config: Option<Digest>,
    /// The platform of the manifest, `OS/ARCH[/VARIANT]`.
    pub platform: Option<String>,
    /// How many layers the image has (0 without an image).
    pub layers: usize,
    /// The base image as the definition names it.
    pub base_image: Option<String>,
    /// The base image's manifest digest: as resolved at lock time, else the digest its
    /// reference names.
    pub base_image_digest: Option<Digest>,
    /// The live filesystem that was cataloged instead of an image (`lock --rootfs`).
    pub rootfs: Option<String>,
}

/// One installed package, with how firmly the definition fixes it.
#[derive(Clone, Debug, Serialize)]
pub struct PackageRow {
    /// The package as the snapshot records it (its fields are flattened into the row's JSON).
    #[serde(flatten)]
    pub package: LockedPackage,
    /// `pinned`, `declared-unpinned`, `transitive`, `base-image` or `unreached`.
    pub class: Class,
    /// The pin state of its declaration, when declared.
    pub pin: Option<PinState>,
}

/// How many of a run's packages fall in each [`Class`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    /// All installed packages; the sum of the other counts.
    pub packages: usize,
    /// Declared with an exact version.
    pub pinned: usize,
    /// Declared with a spec that admits other versions.
    pub declared_unpinned: usize,
    /// Installed because a requirement of another package reaches it.
    pub transitive: usize,
    /// Installed by the base image's layers.
    pub base_image: usize,
    /// Nothing recorded requires it.
    pub unreached: usize,
}

/// Reproducible or not, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Whether every check passed.
    pub reproducible: bool,
    /// Every check, passed or not, in a fixed order.
    pub checks: Vec<Check>,
}

/// One condition of reproducibility.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// `snapshot-recorded`, `image-digest`, `catalog-complete`, `base-image-pinned`,
    /// `declared-exact`, `transitive-pinned`, `no-drift-since`.
    pub check: &'static str,
    /// Whether the condition holds.
    pub ok: bool,
    /// One sentence saying why, for people.
    pub detail: String,
}

/// What the CLI gathered for one run.
pub struct RunInput<'a> {
    /// The run record.
    pub run: &'a RunRecord,
    /// The run's snapshot, when the lockfile's archive (or its current state) has it.
    pub snapshot: Option<&'a Snapshot>,
    /// The environment's history (oldest first), over the whole lockfile history.
    pub history: &'a [LogEntry],
    /// The environment's current snapshot in the lockfile.
    pub current: Option<&'a Snapshot>,
}

/// Whether a run record is of `model` (`NAME` matches every version).
pub fn matches_model(run: &RunRecord, model: &str) -> bool {
    let Some(m) = &run.model else { return false };
    if model.contains(':') {
        m == model
    } else {
        m.split_once(':').map_or(m.as_str(), |(n, _)| n) == model
    }
}

/// The report of `model` over its runs.
pub fn report(
    model: &str,
    lockfile: LockfileFacts,
    generated: String,
    runs: &[RunInput<'_>],
) -> AuditReport {
    let runs: Vec<RunAudit> = runs.iter().map(run_audit).collect();
    AuditReport {
        schema_version: SCHEMA_VERSION,
        model: model.to_owned(),
        generated,
        generator: concat!("envaudit ", env!("CARGO_PKG_VERSION")).to_owned(),
        lockfile,
        reproducible: !runs.is_empty() && runs.iter().all(|r| r.verdict.reproducible),
        runs,
    }
}

fn run_audit(input: &RunInput<'_>) -> RunAudit {
    let run = input.run;
    let empty = Snapshot::placeholder(&run.snapshot);
    let snap = input.snapshot.unwrap_or(&empty);
    let (packages, counts) = package_rows(snap);
    let unpinned: Vec<Declared> = snap
        .declared
        .iter()
        .filter(|d| !d.pin.is_pinned())
        .cloned()
        .collect();
    let history = since(input.history, &run.snapshot);
    let verdict = verdict(input, snap, &counts, &unpinned, &history);
    RunAudit {
        run: run.clone(),
        environment: run.environment.clone(),
        identity: Identity::of(&run.snapshot, input.snapshot),
        image: ImageFacts::of(snap),
        os: snap.os.clone(),
        completeness: completeness_text(input, snap),
        packages,
        counts,
        unpinned,
        history,
        verdict,
    }
}

impl Identity {
    /// The identities of snapshot `id`, as `snapshot` records them (`None`: not recorded).
    pub fn of(id: &str, snapshot: Option<&Snapshot>) -> Self {
        let empty = Snapshot::placeholder(id);
        let snap = snapshot.unwrap_or(&empty);
        Identity {
            snapshot: id.to_owned(),
            definition: snap.definition.clone(),
            definition_kind: if snapshot.is_some() {
                snap.definition_kind_str().to_owned()
            } else {
                String::new()
            },
            definition_files: snap.definition_files.clone(),
            definition_hash: snap.definition_hash.clone(),
            azureml_v2_anonymous_version: snap.azureml_v2_anonymous_version.clone(),
            azureml_v1_image: snap
                .azureml_v1_image
                .as_ref()
                .and_then(|i| i.hash.clone().or_else(|| i.name.clone())),
        }
    }
}

impl ImageFacts {
    /// The image a snapshot records.
    pub fn of(snap: &Snapshot) -> Self {
        ImageFacts {
            reference: snap.image.clone(),
            index: snap.image_index.clone(),
            manifest: snap.image_manifest.clone(),
            config: snap.image_config.clone(),
            platform: snap.image_platform.clone(),
            layers: snap.image_layers.len(),
            base_image: snap.base_image.clone(),
            base_image_digest: snap.base_image_digest.clone(),
            rootfs: snap.rootfs.clone(),
        }
    }
}

/// A snapshot's installed packages, in lockfile order, each with how firmly the definition
/// fixes it, and how many fall in each class.
pub fn package_rows(snap: &Snapshot) -> (Vec<PackageRow>, Counts) {
    let graph = DepGraph::build(snap);
    let mut counts = Counts::default();
    let packages: Vec<PackageRow> = (0..snap.packages.len())
        .map(|i| {
            let class = graph.class(i);
            match class {
                Class::Pinned => counts.pinned += 1,
                Class::DeclaredUnpinned => counts.declared_unpinned += 1,
                Class::Transitive => counts.transitive += 1,
                Class::BaseImage => counts.base_image += 1,
                Class::Unreached => counts.unreached += 1,
            }
            PackageRow {
                package: snap.packages[i].clone(),
                class,
                pin: graph.roots.iter().find(|r| r.node == i).map(|r| r.pin),
            }
        })
        .collect();
    counts.packages = packages.len();
    (packages, counts)
}

/// The entries after the first one that recorded `snapshot` (all of them when none did: the
/// run's snapshot never reached the history, so nothing proves it was current).
fn since(history: &[LogEntry], snapshot: &str) -> Vec<LogEntry> {
    match history
        .iter()
        .position(|e| e.snapshot.as_deref() == Some(snapshot))
    {
        Some(i) => history[i + 1..].to_vec(),
        None => history.to_vec(),
    }
}

/// The snapshot's completeness as the lockfile writes it, or `missing` when the run's
/// snapshot is not recorded.
fn completeness_text(input: &RunInput<'_>, snap: &Snapshot) -> String {
    match input.snapshot {
        Some(_) => snap.completeness.to_string(),
        None => "missing".to_owned(),
    }
}

fn verdict(
    input: &RunInput<'_>,
    snap: &Snapshot,
    counts: &Counts,
    unpinned: &[Declared],
    history: &[LogEntry],
) -> Verdict {
    let mut checks = Vec::new();
    let recorded = input.snapshot.is_some();
    checks.push(Check {
        check: "snapshot-recorded",
        ok: recorded,
        detail: if recorded {
            format!("snapshot {} is in the lockfile's archive", snap.id)
        } else {
            format!(
                "snapshot {} is not in the lockfile or its archive: nothing proves what the run used",
                input.run.snapshot
            )
        },
    });
    checks.push(Check {
        check: "image-digest",
        ok: snap.image_manifest.is_some() || snap.image_config.is_some(),
        detail: match (&snap.image_manifest, &snap.image_config) {
            (Some(m), _) => format!("the image is recorded by digest ({m})"),
            (None, Some(c)) => format!("the image is recorded by its config digest ({c})"),
            (None, None) => {
                "no image digest was recorded (a live filesystem was cataloged)".to_owned()
            }
        },
    });
    checks.push(Check {
        check: "catalog-complete",
        ok: snap.completeness == Completeness::Complete,
        detail: if snap.completeness == Completeness::Complete {
            "every layer was read".to_owned()
        } else {
            format!(
                "the package list may be incomplete: {}",
                completeness_text(input, snap)
            )
        },
    });
    let base_pinned = snap.base_image.as_deref().map(|b| b.contains("@sha256:"));
    checks.push(Check {
        check: "base-image-pinned",
        ok: base_pinned == Some(true),
        detail: match (&snap.base_image, base_pinned) {
            (Some(b), Some(true)) => format!("`{b}` names its digest"),
            (Some(b), _) => format!(
                "`{b}` is a tag: a rebuild may start from another image (`envaudit pin` writes the digest)"
            ),
            (None, _) => "the definition names no base image".to_owned(),
        },
    });
    checks.push(Check {
        check: "declared-exact",
        ok: unpinned.is_empty() && !snap.declared.is_empty(),
        detail: if snap.declared.is_empty() {
            "the definition declares no dependency".to_owned()
        } else if unpinned.is_empty() {
            format!(
                "all {} declared dependencies are exact",
                snap.declared.len()
            )
        } else {
            format!(
                "{} of {} declared dependencies admit other versions: {}",
                unpinned.len(),
                snap.declared.len(),
                unpinned
                    .iter()
                    .take(8)
                    .map(|d| format!("`{}`", d.spec))
                    .collect::<Vec<_>>()
                    .join(", ")
                    + if unpinned.len() > 8 { ", …" } else { "" }
            )
        },
    });
    let loose = counts.transitive + counts.unreached + counts.declared_unpinned;
    checks.push(Check {
        check: "transitive-pinned",
        ok: loose == 0 && counts.packages > 0,
        detail: if loose == 0 {
            format!(
                "every installed package is pinned by the definition or came with the base image ({} packages)",
                counts.packages
            )
        } else {
            format!(
                "{loose} of {} installed packages are not pinned by the definition ({} transitive, {} not required by anything, {} declared loosely); `envaudit export` writes a full lock",
                counts.packages, counts.transitive, counts.unreached, counts.declared_unpinned
            )
        },
    });
    let silent: Vec<&LogEntry> = history.iter().filter(|e| e.silent_drift).collect();
    let current_differs = input
        .current
        .is_some_and(|c| c.id != snap.id && c.definition_hash == snap.definition_hash && recorded);
    checks.push(Check {
        check: "no-drift-since",
        ok: silent.is_empty() && !current_differs,
        detail: if let Some(first) = silent.first() {
            format!(
                "silent drift since the run: {} time(s), first at {} ({}): the same definition now installs other packages",
                silent.len(),
                &first.commit[..first.commit.len().min(12)],
                first.time
            )
        } else if current_differs {
            "the lockfile's current snapshot of the environment differs under the same definition hash".to_owned()
        } else {
            format!(
                "no silent drift in {} later change(s) of the environment",
                history.len()
            )
        },
    });
    Verdict {
        reproducible: checks.iter().all(|c| c.ok),
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Ecosystem, PackageName};

    fn package(name: &str, version: &str, base: bool) -> LockedPackage {
        LockedPackage {
            prefix: Some("/opt/venv".into()),
            licenses: vec!["MIT".into()],
            base: Some(base),
            ..LockedPackage::new(Ecosystem::Pip, PackageName::pip(name), version)
        }
    }

    fn pinned_snapshot() -> Snapshot {
        let mut s = Snapshot::placeholder("0123456789abcdef");
        s.completeness = Completeness::Complete;
        s.image_manifest = Some(Digest::sha256_of(b"manifest"));
        s.base_image = Some(format!("python:3.11@{}", Digest::sha256_of(b"base")));
        s.declared = vec![Declared {
            ecosystem: Ecosystem::Pip,
            name: Some(PackageName::pip("numpy")),
            spec: "numpy==1.26.4".into(),
            pin: PinState::Exact,
        }];
        s.packages = vec![
            package("numpy", "1.26.4", false),
            package("pip", "24.0", true),
        ];
        s
    }

    fn run() -> RunRecord {
        RunRecord {
            run: "r1".into(),
            environment: "train".into(),
            snapshot: "0123456789abcdef".into(),
            time: "2026-11-18T11:06:40Z".into(),
            commit: None,
            model: Some("m:1".into()),
            definition_mismatch: None,
        }
    }

    fn audit(snap: &Snapshot, history: &[LogEntry]) -> RunAudit {
        let r = run();
        run_audit(&RunInput {
            run: &r,
            snapshot: Some(snap),
            history,
            current: Some(snap),
        })
    }

    fn failing(a: &RunAudit) -> Vec<&'static str> {
        a.verdict
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.check)
            .collect()
    }

    #[test]
    fn a_run_whose_snapshot_is_missing_says_so() {
        let r = run();
        let a = run_audit(&RunInput {
            run: &r,
            snapshot: None,
            history: &[],
            current: None,
        });
        assert_eq!(a.completeness, "missing");
        assert_eq!(a.identity.definition_kind, "");
        let check = |name: &str| a.verdict.checks.iter().find(|c| c.check == name).unwrap();
        assert!(!check("catalog-complete").ok);
        assert_eq!(
            check("catalog-complete").detail,
            "the package list may be incomplete: missing"
        );
        assert!(!check("snapshot-recorded").ok);
        assert!(!a.verdict.reproducible);
        // A missing snapshot is not a partial one.
        assert!(a.catalog_incomplete().is_none());
    }

    #[test]
    fn a_fully_pinned_environment_is_reproducible() {
        let a = audit(&pinned_snapshot(), &[]);
        assert!(a.verdict.reproducible, "{:?}", a.verdict);
        assert_eq!(a.counts.pinned, 1);
        assert_eq!(a.counts.base_image, 1);
    }

    #[test]
    fn each_gap_fails_its_own_check() {
        let mut s = pinned_snapshot();
        s.base_image = Some("python:3.11".into());
        assert_eq!(failing(&audit(&s, &[])), ["base-image-pinned"]);

        let mut s = pinned_snapshot();
        s.declared[0].spec = "numpy>=1.26".into();
        s.declared[0].pin = PinState::Range;
        assert_eq!(
            failing(&audit(&s, &[])),
            ["declared-exact", "transitive-pinned"]
        );

        let mut s = pinned_snapshot();
        s.packages.push(package("six", "1.16.0", false));
        assert_eq!(failing(&audit(&s, &[])), ["transitive-pinned"]);

        let mut s = pinned_snapshot();
        s.completeness = Completeness::Partial("layer too large".into());
        let partial = audit(&s, &[]);
        assert_eq!(failing(&partial), ["catalog-complete"]);
        let finding = partial.catalog_incomplete().unwrap();
        assert_eq!(finding.code, Code::CatalogIncomplete);
        assert!(finding.message.contains("layer too large"), "{finding:?}");
        assert!(
            audit(&pinned_snapshot(), &[])
                .catalog_incomplete()
                .is_none()
        );

        let drift = LogEntry {
            commit: "c".repeat(40),
            time: "2026-11-20T00:00:00Z".into(),
            subject: "regenerated".into(),
            environment: "train".into(),
            status: crate::analysis::diff::EnvironmentStatus::Changed,
            snapshot: Some("fedcba9876543210".into()),
            definition_changed: false,
            image_changed: true,
            image: None,
            package_changes: 3,
            silent_drift: true,
        };
        let first = LogEntry {
            snapshot: Some("0123456789abcdef".into()),
            silent_drift: false,
            ..drift.clone()
        };
        assert_eq!(
            failing(&audit(&pinned_snapshot(), &[first.clone(), drift.clone()])),
            ["no-drift-since"]
        );
        // Drift before the run's snapshot was recorded is not drift since the run.
        assert!(
            audit(&pinned_snapshot(), &[drift, first])
                .verdict
                .reproducible
        );
    }

    #[test]
    fn a_model_name_matches_every_version_and_a_version_only_itself() {
        let r = run();
        assert!(matches_model(&r, "m"));
        assert!(matches_model(&r, "m:1"));
        assert!(!matches_model(&r, "m:2"));
        assert!(!matches_model(&r, "mm"));
    }
}
