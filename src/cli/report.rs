//! `envaudit report`: the compliance report (and SBOM) of a model, from the lockfile, its runs
//! and snapshots, and its git history.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Exit;
use super::args::ImageOptions;
use super::error::Hinted;
use super::evidence::{target, verified, verifying_keys};
use crate::analysis::compliance::{self, AuditReport, LockfileFacts, RunInput};
use crate::analysis::log::LogEntry;
use crate::lockfile::git::Repo;
use crate::lockfile::store::{self, Store};
use crate::lockfile::{Lockfile, Snapshot};
use crate::model::Digest;
use crate::render;

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The model, as the runs recorded it: `NAME` (every version) or `NAME:VERSION`
    /// (with `--from-registry`, default: every run attested)
    #[arg(
        long,
        value_name = "NAME[:VERSION]",
        required_unless_present = "from_registry"
    )]
    model: Option<String>,

    /// Build the report from the signed evidence attached to this image (`envaudit attest`)
    /// instead of a lockfile: for an auditor who has the image reference, not the repository
    #[arg(long, value_name = "IMAGE", requires = "key")]
    from_registry: Option<String>,

    /// With `--from-registry`: the public key(s) the evidence must be signed with (SPKI PEM,
    /// or `env://VAR`)
    #[arg(long, value_name = "PUB", allow_hyphen_values = true)]
    key: Vec<String>,

    #[command(flatten)]
    image: ImageOptions,

    /// `markdown` (a PR or wiki page), `html` (one self-contained page), `json`, or an SBOM:
    /// `cyclonedx` (CycloneDX 1.6 JSON) or `spdx` (SPDX 2.3 JSON)
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    format: ReportFormat,

    /// Write the report to this file (atomically) instead of standard output
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// For an SBOM: the run it describes (default: the model's most recent run)
    #[arg(long, value_name = "ID")]
    run: Option<String>,

    /// Exit 1 when a run is not reproducible, or its snapshot is partial (`catalog-incomplete`)
    #[arg(long)]
    strict: bool,

    /// The lockfile
    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Markdown,
    Html,
    Json,
    Cyclonedx,
    Spdx,
}

pub(crate) fn run(args: &ReportArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let report = match &args.from_registry {
        Some(image) => match from_registry(image, args)? {
            Ok(report) => report,
            Err(findings) => {
                super::print_warnings(&findings);
                return Ok(Exit::Findings);
            }
        },
        None => build(args.model.as_deref().unwrap_or_default(), &args.lockfile)?,
    };
    // A run whose snapshot is partial (`catalog-incomplete`): said on standard error, and a
    // failure with `--strict` (its `catalog-complete` check fails, so it is not
    // reproducible either).
    let findings = report.findings();
    super::print_warnings(&findings);
    let mut buf = Vec::new();
    match args.format {
        ReportFormat::Markdown => render::render_audit_markdown(&report, &mut buf)?,
        ReportFormat::Html => render::render_audit_html(&report, &mut buf)?,
        ReportFormat::Json => render::render_audit_json(&report, &mut buf)?,
        ReportFormat::Cyclonedx | ReportFormat::Spdx => {
            let Some(run) = report.run(args.run.as_deref()) else {
                return Err(Hinted::new(
                    format!(
                        "run `{}` of model `{}` is not in `{}`",
                        args.run.as_deref().unwrap_or(""),
                        report.model,
                        args.from_registry
                            .as_ref()
                            .map_or_else(|| args.lockfile.display().to_string(), Clone::clone)
                    ),
                    "list the model's runs with `envaudit report --model NAME --format json`",
                )
                .into());
            };
            if args.format == ReportFormat::Cyclonedx {
                render::render_cyclonedx(&report, run, &mut buf)?;
            } else {
                render::render_spdx(&report, run, &mut buf)?;
            }
        }
    }
    match &args.out {
        Some(path) => {
            store::write_atomic(path, &buf)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            eprintln!(
                "wrote `{}`: model `{}`, {} run{}, {}",
                path.display(),
                report.model,
                report.runs.len(),
                if report.runs.len() == 1 { "" } else { "s" },
                if report.reproducible {
                    "reproducible"
                } else {
                    "not reproducible"
                }
            );
        }
        None => super::write_or_pipe(out.write_all(&buf))?,
    }
    Ok(
        if args.strict && (!report.reproducible || !findings.is_empty()) {
            Exit::Findings
        } else {
            Exit::Ok
        },
    )
}

/// The report of the runs in an image's verified evidence (of `--model`, else all): `Err`
/// holds the findings when the evidence does not verify.
fn from_registry(
    image: &str,
    args: &ReportArgs,
) -> anyhow::Result<Result<AuditReport, Vec<crate::diag::Finding>>> {
    let keys = verifying_keys(&args.key)?;
    let scanner = args.image.scanner()?;
    let target = target(&scanner, Some(image), None, &args.lockfile)?;
    let verified = verified(&scanner, &target, &keys, true)?;
    let Some(evidence) = verified.evidence.filter(|_| verified.findings.is_empty()) else {
        if verified.findings.is_empty() {
            return Err(Hinted::new(
                format!("the signed evidence on `{image}` holds no snapshot"),
                "check it with `envaudit verify`",
            )
            .into());
        }
        return Ok(Err(verified.findings));
    };
    // Without `--model`: the model of the attested runs, when they name one only.
    let model = if let Some(m) = &args.model {
        m.clone()
    } else {
        let mut names: Vec<&str> = evidence
            .runs
            .iter()
            .filter_map(|r| r.model.as_deref())
            .map(|m| m.split_once(':').map_or(m, |(n, _)| n))
            .collect();
        names.sort_unstable();
        names.dedup();
        if names.len() > 1 {
            return Err(Hinted::new(
                format!(
                    "the evidence on `{image}` records runs of {} models",
                    names.len()
                ),
                format!("choose one with `--model`: {}", names.join(", ")),
            )
            .into());
        }
        names.first().map(|n| (*n).to_owned()).unwrap_or_default()
    };
    let mine: Vec<_> = evidence
        .runs
        .iter()
        .filter(|r| compliance::matches_model(r, &model))
        .collect();
    if mine.is_empty() {
        return Err(Hinted::new(
            format!(
                "the evidence on `{image}` records no run{}",
                args.model
                    .as_deref()
                    .map(|m| format!(" of model `{m}`"))
                    .unwrap_or_default()
            ),
            "runs are attached by `envaudit lock ... --model NAME:VERSION --attest KEY` (or `envaudit attest` after `lock`)",
        )
        .into());
    }
    let inputs: Vec<RunInput<'_>> = mine
        .iter()
        .map(|r| RunInput {
            run: r,
            snapshot: Some(&evidence.snapshot),
            history: &[],
            current: Some(&evidence.snapshot),
        })
        .collect();
    let facts = LockfileFacts {
        path: format!(
            "{}@{} (signed evidence, snapshot {})",
            verified.image, verified.manifest, evidence.snapshot.id
        ),
        sha256: verified
            .attestations
            .iter()
            .find_map(|a| a.statement.clone())
            .unwrap_or_else(|| Digest::sha256_of(b"")),
        commit: None,
        modified: false,
    };
    Ok(Ok(compliance::report(
        &model,
        facts,
        store::now_rfc3339(),
        &inputs,
    )))
}

/// Gathers the lockfile, the model's runs, their snapshots and the lockfile's history.
pub(crate) fn build(model: &str, lockfile: &Path) -> anyhow::Result<AuditReport> {
    let bytes = std::fs::read(lockfile).map_err(|e| {
        anyhow::Error::new(e).context(Hinted::new(
            format!("cannot read `{}`", lockfile.display()),
            "name the lockfile with `--lockfile PATH`; `envaudit lock ... --model NAME:VERSION` records runs",
        ))
    })?;
    let store = Store::new(lockfile);
    let current = store.load()?;
    let (runs, errors) = store.runs();
    if let Some(e) = errors.into_iter().next() {
        return Err(anyhow::Error::new(e).context("cannot read a run record"));
    }
    let mine: Vec<_> = runs
        .iter()
        .filter(|r| compliance::matches_model(r, model))
        .collect();
    if mine.is_empty() {
        let mut known: Vec<&str> = runs.iter().filter_map(|r| r.model.as_deref()).collect();
        known.sort_unstable();
        known.dedup();
        return Err(Hinted::new(
            format!(
                "no run of model `{model}` is recorded with `{}`",
                lockfile.display()
            ),
            if known.is_empty() {
                "record runs with `envaudit lock ENV --image REF --model NAME:VERSION` after training".to_owned()
            } else {
                format!("the recorded models are: {}", known.join(", "))
            },
        )
        .into());
    }
    let mut snapshots: Vec<Option<Snapshot>> = Vec::new();
    for r in &mine {
        let s = match store.stored_snapshot(&r.snapshot)? {
            Some(s) => Some(s.snapshot),
            None => current
                .environments
                .get(&r.environment)
                .filter(|s| s.id == r.snapshot)
                .cloned(),
        };
        snapshots.push(s);
    }
    let environments: std::collections::BTreeSet<&str> =
        mine.iter().map(|r| r.environment.as_str()).collect();
    let git = git_facts(lockfile, &current, &environments)?;
    let inputs: Vec<RunInput<'_>> = mine
        .iter()
        .zip(&snapshots)
        .map(|(r, s)| RunInput {
            run: r,
            snapshot: s.as_ref(),
            history: git
                .histories
                .iter()
                .find(|(env, _)| env == &r.environment)
                .map_or(&[][..], |(_, h)| h.as_slice()),
            current: current.environments.get(&r.environment),
        })
        .collect();
    let facts = LockfileFacts {
        path: lockfile.display().to_string(),
        sha256: Digest::sha256_of(&bytes),
        commit: git.head,
        modified: git.modified,
    };
    Ok(compliance::report(
        model,
        facts,
        store::now_rfc3339(),
        &inputs,
    ))
}

struct GitFacts {
    head: Option<String>,
    modified: bool,
    /// Each environment's history, oldest first, the uncommitted change last.
    histories: Vec<(String, Vec<LogEntry>)>,
}

/// The lockfile's commit, whether it was modified since, and the history of `environments`.
fn git_facts(
    lockfile: &Path,
    current: &Lockfile,
    environments: &std::collections::BTreeSet<&str>,
) -> anyhow::Result<GitFacts> {
    let Ok(repo) = Repo::discover(&store::lockfile_dir(lockfile)) else {
        return Ok(GitFacts {
            head: None,
            modified: false,
            histories: Vec::new(),
        });
    };
    let rel = repo.relative(lockfile)?;
    let states = super::snapshots::lockfile_states(&repo, &rel, None)?;
    let committed: Option<&Lockfile> = states.last().and_then(|(_, s)| s.as_deref());
    let modified = committed.is_none_or(|c| c != current);
    let mut histories = Vec::new();
    for &name in environments {
        let mut h = crate::analysis::log::history(None, &states, Some(name));
        if modified {
            let old = committed.and_then(|c| c.environments.get(name));
            let new = current.environments.get(name);
            if old.map(|s| &s.id) != new.map(|s| &s.id) {
                h.push(LogEntry::new(
                    "working tree".to_owned(),
                    store::now_rfc3339(),
                    "(not committed)".to_owned(),
                    crate::analysis::diff::snapshots(name, old, new),
                ));
            }
        }
        histories.push((name.to_owned(), h));
    }
    Ok(GitFacts {
        head: repo.head_commit(),
        modified,
        histories,
    })
}
