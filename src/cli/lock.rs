//! `envaudit lock`: hash the definition, resolve and catalog the image that ran, record the
//! snapshot (and a run) in the lockfile.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};

use super::Exit;
use super::args::FindingsArgs;
use super::error::Hinted;
use super::evidence::{attest_environments, signing_key};
use crate::analysis::diff;
use crate::attest::keys::SigningKey;
use crate::config::{Config, EnvironmentConfig};
use crate::definition::{self, DefinitionKind, EnvDefinition, LoadOptions};
use crate::diag::Finding;
use crate::layer::Limits;
use crate::lock::{ImageThatRanError, LockCheck};
use crate::lockfile::git::Repo;
use crate::lockfile::store::{self, Store};
use crate::lockfile::{RunRecord, Snapshot};
use crate::model::{ImageSource, Platform};
use crate::render;
use crate::scan::snapshot::{Observed, snapshot};

// Each bool is a flag of its own (`--check`, `--offline`, `--commit`, `--no-cache`).
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub(crate) struct LockArgs {
    /// Environment definition (file or folder); without it, every `[[environment]]` of
    /// `envaudit.toml` is locked
    env: Option<PathBuf>,

    /// Read the definition as this kind instead of detecting it from the path
    #[arg(long, value_enum)]
    kind: Option<DefinitionKind>,

    /// The image the run used: `REG/REPO:TAG[@DIGEST]`, `oci:DIR[:TAG]`, `docker-archive:FILE`
    /// (default: the definition's own image, where that is what runs)
    #[arg(long, value_name = "REF")]
    image: Option<String>,

    /// Catalog this live filesystem instead of image layers (e.g. `--rootfs /` as the last step
    /// of a training script); `--image` is then recorded as given, not read
    #[arg(long, value_name = "DIR")]
    rootfs: Option<PathBuf>,

    /// The definition's base image, to mark the packages that came with it (also the base
    /// image of a conda or pip file that names none)
    #[arg(long, value_name = "IMAGE")]
    base_image: Option<String>,

    /// The environment's name in the lockfile (default: the definition's name, else its path)
    #[arg(long)]
    name: Option<String>,

    /// The run's id (default: `$AZUREML_RUN_ID`, else a generated one)
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,

    /// The model the run trained, `NAME:VERSION`
    #[arg(long, value_name = "NAME:VERSION")]
    model: Option<String>,

    /// The lockfile
    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    /// Write the run and its snapshot into this folder instead of the lockfile (inside an
    /// Azure ML job, whose code is not the repository): the files `lock` would add under
    /// `envaudit.lock.d/`, for `envaudit import DIR` in the repository later. Needs neither
    /// the lockfile nor git
    #[arg(long, value_name = "DIR", conflicts_with_all = ["commit", "check", "attest"])]
    record_to: Option<PathBuf>,

    /// Commit the lockfile and its run and snapshot files (only them) with your git identity
    #[arg(long)]
    commit: bool,

    /// The commit message (with `--commit`)
    #[arg(short = 'm', long, value_name = "MSG", requires = "commit")]
    message: Option<String>,

    /// Write nothing; exit 1 when the lock is stale (the definition hash changed, or the image
    /// reference now resolves to another image)
    #[arg(long, conflicts_with_all = ["commit", "rootfs"])]
    check: bool,

    /// With `--check`: compare the definition hashes only, contacting no registry (for a
    /// pre-commit hook or an air-gapped CI job); whether the image tag moved is not checked
    #[arg(long, requires = "check")]
    offline: bool,

    /// Sign the evidence of each snapshot locked with this key (a PEM file or `env://VAR`) and
    /// attach it to its image, as `envaudit attest` does: the snapshot, its SBOM and this run
    #[arg(long, value_name = "KEY", conflicts_with_all = ["check", "rootfs"], allow_hyphen_values = true)]
    attest: Option<String>,

    /// Record Azure ML SDK v1's service image from a saved `Environment.get_image_details`
    /// JSON; its image is then the one locked unless `--image` is given
    #[arg(long, value_name = "FILE")]
    azureml_image_details: Option<PathBuf>,

    /// Platform to take from a multi-platform image (default linux/amd64)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<Platform>,

    /// Read every layer, neither using nor filling the layer cache
    #[arg(long)]
    no_cache: bool,

    /// Registry host (HOST[:PORT]) to reach over plain HTTP (loopback hosts always may)
    #[arg(long, value_name = "HOST")]
    insecure_registry: Vec<String>,

    /// Output format of `--check`
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    format: CheckFormat,

    #[command(flatten)]
    findings: FindingsArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Table,
    Json,
}

/// One environment to lock, from the arguments or from `envaudit.toml`.
struct Target {
    definition: PathBuf,
    name: Option<String>,
    image: Option<String>,
    base_image: Option<String>,
    platform: Option<Platform>,
    insecure_registry: Vec<String>,
}

pub(crate) fn run(args: &LockArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    // Read once, before any work: the environments to lock (without a definition) and the
    // accepted findings.
    let config = args.findings.config()?;
    let key = args.attest.as_deref().map(signing_key).transpose()?;
    let targets = if let Some(env) = &args.env {
        vec![Target {
            definition: env.clone(),
            name: args.name.clone(),
            image: args.image.clone(),
            base_image: args.base_image.clone(),
            platform: args.platform.clone(),
            insecure_registry: args.insecure_registry.clone(),
        }]
    } else {
        if config.environments.is_empty() {
            return Err(Hinted::new(
                "no environment to lock",
                "name a definition (`envaudit lock envs/train/environment.yml --image REF`) or list environments in envaudit.toml under `[[environment]]` (see docs/lockfile.md)",
            )
            .into());
        }
        config
            .environments
            .iter()
            .map(|e: &EnvironmentConfig| Target {
                definition: e.definition.clone(),
                name: e.name.clone(),
                image: args.image.clone().or_else(|| e.image.clone()),
                base_image: args.base_image.clone().or_else(|| e.base_image.clone()),
                platform: args.platform.clone().or_else(|| e.platform.clone()),
                insecure_registry: if e.insecure_registry {
                    let mut v = args.insecure_registry.clone();
                    v.extend(e.image.as_deref().and_then(registry_host));
                    v
                } else {
                    args.insecure_registry.clone()
                },
            })
            .collect()
    };
    let mut committed = Vec::new();
    let mut checks = Vec::new();
    let mut warnings = Vec::new();
    for t in &targets {
        committed.extend(lock_one(
            args,
            t,
            key.as_ref(),
            &mut checks,
            &mut warnings,
            out,
        )?);
    }
    if args.check {
        return render_checks(args, &config, checks, warnings, out);
    }
    if args.commit {
        commit(args, &targets, &committed, out)?;
    }
    // The scans' findings (a partial catalog, a diff_id mismatch, the layer cache, the base
    // image) fail the lock only as `--fail-on` says.
    config.apply(&mut warnings);
    Ok(args.findings.exit(&warnings))
}

/// `lock --check`: each environment up to date, or its `stale-lock` findings, which fail the
/// command per `--fail-on` unless `envaudit.toml` accepts them.
fn render_checks(
    args: &LockArgs,
    config: &Config,
    mut checks: Vec<LockCheck>,
    mut warnings: Vec<Finding>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    for c in &mut checks {
        config.apply(&mut c.findings);
    }
    match args.format {
        CheckFormat::Json => {
            #[derive(serde::Serialize)]
            struct Json<'a> {
                schema_version: u32,
                environments: &'a [LockCheck],
            }
            let json = Json {
                schema_version: 1,
                environments: &checks,
            };
            super::write_or_pipe(render::json(&json, out))?;
        }
        CheckFormat::Table => {
            for c in &checks {
                match (&c.snapshot, c.findings.is_empty()) {
                    (Some(id), true) => {
                        writeln!(out, "`{}`: up to date (snapshot {id})", c.environment)?;
                    }
                    _ => super::write_or_pipe(render::findings_lines(&c.findings, out))?,
                }
            }
        }
    }
    // The definitions' invalid specs (already on stderr) fail the check as `--fail-on` says.
    config.apply(&mut warnings);
    let findings: Vec<Finding> = checks
        .into_iter()
        .flat_map(|c| c.findings)
        .chain(warnings)
        .collect();
    Ok(args.findings.exit(&findings))
}

fn registry_host(image: &str) -> Option<String> {
    let (host, _) = image.split_once('/')?;
    (host.contains('.') || host.contains(':') || host == "localhost").then(|| host.to_owned())
}

/// Loads the definition; a conda or pip file that names no base image takes `--base-image`
/// when it is a registry reference, as Azure ML would build on it.
fn load(args: &LockArgs, t: &Target) -> anyhow::Result<EnvDefinition> {
    let load = |image: Option<String>| {
        let options = LoadOptions {
            kind: args.kind,
            image,
        };
        definition::load(&t.definition, &options).with_context(|| {
            format!(
                "cannot load environment definition `{}`",
                t.definition.display()
            )
        })
    };
    let def = load(None)?;
    match &t.base_image {
        Some(b) if def.base_image.is_none() && b.parse::<crate::model::ImageRef>().is_ok() => {
            load(Some(b.clone()))
        }
        _ => Ok(def),
    }
}

/// Locks one environment and returns the files written; with `--check`, adds what it found
/// to `checks` and writes nothing.
fn lock_one(
    args: &LockArgs,
    t: &Target,
    key: Option<&SigningKey>,
    checks: &mut Vec<LockCheck>,
    warnings: &mut Vec<Finding>,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<PathBuf>> {
    let def = load(args, t)?;
    let details = args
        .azureml_image_details
        .as_deref()
        .map(crate::azureml::ImageDetails::load)
        .transpose()
        .context("cannot read the Azure ML image details")?;
    let hash = crate::hash::report(&def, crate::azureml::v2_identity(&def), details.clone());
    // An invalid spec does not stop the lock; it fails it only as `--fail-on` says.
    super::print_warnings(&hash.findings);
    warnings.extend(hash.findings.iter().cloned());
    let name =
        crate::lock::environment_name(t.name.as_deref(), &def, &t.definition, &args.lockfile);
    let image = crate::lock::image_that_ran(
        t.image.as_deref(),
        args.rootfs.is_some(),
        &def,
        details.as_ref(),
    )
    .map_err(|e| {
        let hint = match e {
            ImageThatRanError::BuiltOnBase { .. } => {
                "pass the built image with `--image REF` (for Azure ML: `WORKSPACE_ACR/azureml/azureml_<hash>`, shown on the job's environment page), or `--azureml-image-details FILE` from `Environment.get_image_details`; locking the base image would record the wrong packages"
            }
            ImageThatRanError::NoImage { .. } => {
                "pass the image that ran with `--image REF`, or catalog the live filesystem with `--rootfs /`"
            }
        };
        Hinted::new(e.to_string(), hint)
    })?;
    let store = Store::new(&args.lockfile);
    if args.check {
        checks.push(check(args, t, &store, &name, &hash, image.as_deref())?);
        return Ok(Vec::new());
    }
    let scanner = super::progress::scanner(
        &t.insecure_registry,
        t.platform.clone(),
        args.no_cache,
        Limits::default(),
    )?;
    let lock_dir = store::lockfile_dir(&args.lockfile);
    let snap = if let Some(rootfs) = &args.rootfs {
        let catalog = super::catalog_live_folder(rootfs, &Limits::default());
        super::print_skipped_folders(&catalog);
        let incomplete: Vec<Finding> =
            crate::scan::catalog_incomplete(&rootfs.display().to_string(), &catalog.completeness)
                .map(|f| f.with_package(name.clone()))
                .into_iter()
                .collect();
        super::print_warnings(&incomplete);
        warnings.extend(incomplete);
        let mut s = snapshot(&Observed {
            definition: Some((&def, &hash)),
            lockfile_dir: &lock_dir,
            image: None,
            base_image_digest: None,
            base_layers: None,
            rootfs: Some(rootfs),
            catalog: &catalog,
        });
        if let Some(i) = &image {
            s.image = Some(i.clone());
            s.image_manifest = i
                .parse::<crate::model::ImageRef>()
                .ok()
                .and_then(|r| r.digest().cloned());
            s.seal();
        }
        s
    } else {
        let reference = image.clone().unwrap_or_default();
        let source: ImageSource = reference.parse()?;
        let base: Option<ImageSource> = t
            .base_image
            .as_deref()
            .map(str::parse)
            .transpose()
            .context("invalid --base-image")?;
        let scanned = scanner
            .scan(&source, base.as_ref())
            .with_context(|| format!("cannot catalog `{source}`"))?;
        // A partial catalog is about this environment: `envaudit.toml` can accept it by name.
        let found: Vec<Finding> = scanned
            .warnings
            .iter()
            .map(|f| match f.code {
                crate::diag::Code::CatalogIncomplete => f.clone().with_package(name.clone()),
                _ => f.clone(),
            })
            .collect();
        super::print_warnings(&found);
        warnings.extend(found);
        scanned.snapshot(Some((&def, &hash)), &lock_dir, &reference)
    };
    let repo = Repo::discover(&lock_dir).ok();
    let run = RunRecord {
        run: args
            .run_id
            .clone()
            .or_else(|| {
                std::env::var("AZUREML_RUN_ID")
                    .ok()
                    .filter(|v| !v.is_empty())
            })
            .unwrap_or_else(crate::lock::generated_run_id),
        environment: name.clone(),
        snapshot: snap.id.clone(),
        time: store::now_rfc3339(),
        commit: repo.as_ref().and_then(Repo::head_commit),
        model: args.model.clone(),
        definition_mismatch: None,
    };
    if let Some(m) = &args.model
        && !m.contains(':')
    {
        bail!(Hinted::new(
            format!("`{m}` is not a model `NAME:VERSION`"),
            "write the model as registered, e.g. `--model churn-classifier:3`",
        ));
    }
    if let Some(dir) = &args.record_to {
        let written = crate::lockfile::record::RecordDir::new(dir)
            .write(&name, &snap, &run)
            .with_context(|| format!("cannot write the run record into `{}`", dir.display()))?;
        writeln!(
            out,
            "recorded `{name}`: snapshot {}, {}; run `{}` written to `{}` (merge it with `envaudit import {}` in the repository)",
            snap.id,
            contents(&snap),
            run.run,
            dir.display(),
            dir.display(),
        )?;
        incomplete_note(&snap, out)?;
        return Ok(written);
    }
    let recorded = store
        .record(&name, &snap, Some(&run))
        .with_context(|| format!("cannot write `{}`", args.lockfile.display()))?;
    let state = match &recorded.previous {
        None => "new environment",
        Some(p) if p.id == snap.id => "unchanged",
        Some(_) => "new snapshot",
    };
    writeln!(
        out,
        "locked `{name}`: snapshot {} ({state}), {}; run `{}` recorded",
        snap.id,
        contents(&snap),
        run.run
    )?;
    incomplete_note(&snap, out)?;
    if let Some(prev) = recorded.previous.as_ref().filter(|p| p.id != snap.id) {
        report_change(&name, prev, &snap, out)?;
    }
    if let Some(key) = key {
        for a in attest_environments(
            &scanner,
            &args.lockfile,
            std::slice::from_ref(&name),
            key,
            None,
        )? {
            writeln!(
                out,
                "attested `{}`: {} ({}, statement {})",
                a.environment, a.image, a.status, a.statement
            )?;
        }
    }
    Ok(recorded.written)
}

/// `N packages in M prefix(es)`, as `lock` reports a snapshot.
fn contents(snap: &Snapshot) -> String {
    format!(
        "{} packages in {} prefix{}",
        snap.packages.len(),
        snap.prefixes.len(),
        if snap.prefixes.len() == 1 { "" } else { "es" }
    )
}

/// The line that says a snapshot may miss packages, when it may.
fn incomplete_note(snap: &Snapshot, out: &mut dyn Write) -> std::io::Result<()> {
    if snap.completeness == crate::layer::Completeness::Complete {
        return Ok(());
    }
    writeln!(out, "results may be incomplete: {}", snap.completeness)
}

/// What changed since the previous snapshot, in a few lines.
pub(super) fn report_change(
    name: &str,
    prev: &Snapshot,
    snap: &Snapshot,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let d = diff::snapshots(name, Some(prev), Some(snap));
    writeln!(
        out,
        "  since {}: definition {}, image {}, {} package change{}",
        prev.id,
        if d.definition_changed {
            "changed"
        } else {
            "unchanged"
        },
        if d.image_changed {
            "changed"
        } else {
            "unchanged"
        },
        d.packages.len(),
        if d.packages.len() == 1 { "" } else { "s" }
    )?;
    if d.silent_drift {
        writeln!(
            out,
            "warning[silent-drift]: `{name}`: installed packages changed while the definition hash stayed the same; see `envaudit diff`"
        )?;
    }
    Ok(())
}

fn check(
    args: &LockArgs,
    t: &Target,
    store: &Store,
    name: &str,
    hash: &crate::hash::HashReport,
    image: Option<&str>,
) -> anyhow::Result<LockCheck> {
    let lockfile = store.load()?;
    let locked = lockfile.environments.get(name);
    let resolved = match (image, locked) {
        (Some(reference), Some(_)) if !args.offline => {
            let scanner = super::progress::scanner(
                &t.insecure_registry,
                t.platform.clone(),
                true,
                Limits::default(),
            )?;
            let source: ImageSource = reference.parse()?;
            let resolved = scanner
                .resolve(&source)
                .with_context(|| format!("cannot resolve `{source}`"))?;
            Some((reference, resolved))
        }
        _ => None,
    };
    Ok(crate::lock::check(
        name,
        &args.lockfile,
        locked,
        hash,
        resolved.as_ref().map(|(r, i)| (*r, i)),
    ))
}

fn commit(
    args: &LockArgs,
    targets: &[Target],
    written: &[PathBuf],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let message = args.message.clone().unwrap_or_else(|| {
        let names: Vec<String> = targets
            .iter()
            .map(|t| t.definition.display().to_string())
            .collect();
        format!("envaudit lock {}", names.join(" "))
    });
    commit_files(&args.lockfile, written, &message, out)
}

/// Commits `written` (only them) in the repository that holds `lockfile`.
pub(super) fn commit_files(
    lockfile: &std::path::Path,
    written: &[PathBuf],
    message: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let lock_dir = store::lockfile_dir(lockfile);
    let repo = Repo::discover(&lock_dir).context("cannot commit the lockfile")?;
    if written.is_empty() {
        writeln!(out, "nothing to commit: the lockfile is unchanged")?;
        return Ok(());
    }
    let id = repo
        .commit_files(written, message)
        .context("cannot commit the lockfile")?;
    writeln!(
        out,
        "committed {} file{} as {}",
        written.len(),
        if written.len() == 1 { "" } else { "s" },
        &id.to_string()[..12]
    )?;
    Ok(())
}
