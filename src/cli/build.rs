//! `envaudit build`: the image of a definition, built only when its content-addressed name is
//! missing from the registry, and a regeneration shown before it replaces the cached image.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use super::args::{FindingsArgs, ImageOptions};
use super::error::Hinted;
use super::evidence::{attest_environments, signing_key};
use super::prediction::PredictOptions;
use crate::attest::keys::SigningKey;
use crate::build::builder::{self, BuildSpec};
use crate::build::context::{self, Context, ContextSource};
use crate::build::{self as b, BuildError, BuildReport, Builder, ContextSummary, Outcome};
use crate::definition::{self, DefinitionKind, EnvDefinition, LoadOptions};
use crate::evidence::predicate::BuildFacts;
use crate::hash::HashReport;
use crate::layer::Limits;
use crate::lockfile::store::{self, Store};
use crate::lockfile::{Lockfile, Snapshot};
use crate::model::{Digest, ImageRef, ImageSource, Platform};
use crate::render::{self, Format};
use crate::scan::Scanner;

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// Environment definition (file or folder)
    env: PathBuf,

    /// The registry to push to and look the image up in: `HOST[:PORT]`, optionally followed
    /// by a repository namespace (default `envaudit`)
    #[arg(long, value_name = "REG[/REPO]")]
    registry: String,

    /// The program that builds and pushes
    #[arg(long, value_enum, default_value_t = Builder::Buildah)]
    builder: Builder,

    /// The repository (and tag) under the registry instead of `envaudit/env_<hash>:latest`
    #[arg(long, value_name = "REPO[:TAG]")]
    image_name: Option<String>,

    /// Base image for a conda or pip file that names none, as Azure ML would build on it
    #[arg(long, value_name = "IMAGE")]
    base_image: Option<String>,

    /// Write the build context to this folder (new or empty) and keep it for inspection
    #[arg(long, value_name = "DIR")]
    context_out: Option<PathBuf>,

    /// Regenerate the image even though it exists (like `Environment.build`): build to a
    /// temporary tag, show the drift from the cached image, then move the tag
    #[arg(long)]
    rebuild: bool,

    #[command(flatten)]
    findings: FindingsArgs,

    /// Record the image's snapshot in the lockfile (both snapshots for `--rebuild`)
    #[arg(long)]
    lock: bool,

    /// With `--lock`: sign the image's evidence with this key (a PEM file or `env://VAR`) and
    /// attach it to the image, as `envaudit attest` does; an image built now gets SLSA
    /// provenance
    #[arg(
        long,
        value_name = "KEY",
        requires = "lock",
        allow_hyphen_values = true
    )]
    attest: Option<String>,

    /// The lockfile
    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    /// The environment's name in the lockfile (default: the definition's name, else its path)
    #[arg(long)]
    name: Option<String>,

    /// Print the image name, the context and the builder command lines; contact no registry
    /// and run nothing
    #[arg(long)]
    dry_run: bool,

    /// Read the definition as this kind instead of detecting it from the path
    #[arg(long, value_enum)]
    kind: Option<DefinitionKind>,

    /// Output format (the report goes to standard output, the builder's output to standard error)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// The platform to build and catalog (default: the definition's, else linux/amd64), the
    /// layer cache, plain-HTTP registries
    #[command(flatten)]
    image: ImageOptions,

    /// With `--rebuild --dry-run`: where the indexes are for the prediction of what the
    /// rebuild would install (see `envaudit predict`)
    #[command(flatten)]
    prediction: PredictOptions,
}

pub(crate) fn run(args: &BuildArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let def = load(args)?;
    // Read before anything is built, so a bad key costs nothing.
    let key = args.attest.as_deref().map(signing_key).transpose()?;
    let hash = crate::hash::report(&def, crate::azureml::v2_identity(&def), None);
    let target = b::cache_image(&args.registry, args.image_name.as_deref(), &hash.definition_hash)
        .map_err(|e| {
            Hinted::new(
                e.to_string(),
                "name the registry as `HOST[:PORT]` or `HOST[:PORT]/NAMESPACE`, e.g. `--registry myacr.azurecr.io` or `--registry 127.0.0.1:5000/ml`",
            )
        })?;
    let name = crate::lock::environment_name(args.name.as_deref(), &def, &args.env, &args.lockfile);
    let platform = args
        .image
        .platform
        .clone()
        .unwrap_or_else(|| Platform::new(&def.platform.os, &def.platform.architecture, None));
    let mut report = BuildReport {
        schema_version: b::SCHEMA_VERSION,
        environment: name,
        definition: def.path.clone(),
        definition_hash: hash.definition_hash.clone(),
        image: target.to_string(),
        outcome: Outcome::Planned,
        digest: None,
        previous_digest: None,
        candidate: None,
        builder: None,
        context: None,
        commands: Vec::new(),
        build_seconds: None,
        snapshot: None,
        packages: None,
        drift: None,
        locked: false,
        prediction: None,
        attestation: None,
    };
    if args.dry_run {
        return dry_run(args, &def, &target, &platform, report, out);
    }

    let insecure = &args.image.insecure_registry;
    let scanner = super::progress::scanner(
        insecure,
        Some(platform.clone()),
        args.image.no_cache,
        Limits::default(),
    )?;
    let current = scanner
        .tag_digest(&target)
        .map_err(|e| unreachable_registry(&target, e))?;
    if let (Some(d), false) = (&current, args.rebuild) {
        report.outcome = Outcome::Reused;
        report.digest = Some(d.clone());
        eprintln!("cache hit: `{target}` is {d}; nothing to build");
        if args.lock {
            let snap = catalog(&scanner, &def, &hash, args, &target, d, &target)?;
            record(args, &mut report, &[&snap])?;
            attest(args, &scanner, key.as_ref(), None, &mut report)?;
        }
        render(&report, args.format, out)?;
        return Ok(Exit::Ok);
    }

    // A miss (or a forced rebuild): the builder must be there before anything is written.
    if builder::find_program(args.builder.program()).is_none() {
        return Err(Hinted::new(
            BuildError::BuilderNotFound {
                program: args.builder.program().to_owned(),
            }
            .to_string(),
            format!(
                "{}, or choose another with `--builder buildah|docker|podman|acr`",
                args.builder.install_hint()
            ),
        )
        .into());
    }
    let pinned = pinned_base(&scanner, &def)?;
    let ctx = context::plan(&def, pinned.as_ref()).map_err(plan_error)?;
    let work = tempfile::Builder::new()
        .prefix("envaudit-build-")
        .tempdir()
        .context("cannot create a temporary folder for the build")?;
    let context_dir = match (&args.context_out, &ctx.source) {
        (_, ContextSource::Remote(_)) => None,
        (Some(dir), _) => Some(dir.clone()),
        (None, ContextSource::Generated) => Some(work.path().join("context")),
        (None, ContextSource::Local(path)) => Some(path.clone()),
    };
    if let Some(dir) = &context_dir
        && (args.context_out.is_some() || ctx.source == ContextSource::Generated)
    {
        context::write(&ctx, dir)
            .with_context(|| format!("cannot write the build context to `{}`", dir.display()))?;
    }
    report.context = Some(ContextSummary::new(&ctx, args.context_out.clone()));
    report.builder = Some(args.builder);

    let build_tag = match &current {
        Some(_) => b::with_tag(&target, &rebuild_tag()),
        None => target.clone(),
    };
    let spec = BuildSpec {
        context: context_arg(&ctx, context_dir.as_deref()),
        dockerfile: &ctx.dockerfile,
        target: &build_tag,
        platform: platform.to_string(),
        definition_hash: hash.definition_hash.to_string(),
        insecure: plain_http(insecure, &build_tag, &def),
        digest_file: work.path().join("digest"),
    };
    let commands = commands(args.builder, &spec)?;
    report.commands.clone_from(&commands);
    match &current {
        Some(d) => eprintln!(
            "rebuild: `{target}` is {d}; building the regenerated image as `{build_tag}` with {}",
            args.builder.program()
        ),
        None => eprintln!(
            "cache miss: `{target}` does not exist; building with {}",
            args.builder.program()
        ),
    }
    let started = Instant::now();
    let started_on = jiff::Timestamp::now();
    for c in &commands {
        eprintln!("$ {}", c.shell_line());
        builder::run(c, &mut |line| eprintln!("{line}")).map_err(builder_error)?;
    }
    report.build_seconds = Some(started.elapsed().as_secs_f64());
    let facts = BuildFacts {
        builder: args.builder.program_name().to_owned(),
        started: started_on,
        finished: jiff::Timestamp::now(),
    };
    let pushed = scanner
        .tag_digest(&build_tag)
        .map_err(|e| unreachable_registry(&build_tag, e))?
        .ok_or_else(|| {
            Hinted::new(
                format!("the builder finished but `{build_tag}` is not in the registry"),
                "check the builder's output above: the push may have gone to another registry",
            )
        })?;
    if let Ok(text) = std::fs::read_to_string(&spec.digest_file)
        && let Ok(said) = text.trim().parse::<Digest>()
        && said != pushed
    {
        anyhow::bail!(
            "the builder pushed {said} but `{build_tag}` names {pushed}: another push raced this one; build again"
        );
    }
    let new = catalog(&scanner, &def, &hash, args, &build_tag, &pushed, &target)?;
    report.snapshot = Some(new.id.clone());
    report.packages = Some(new.packages.len());

    let Some(old_digest) = current else {
        report.outcome = Outcome::Built;
        report.digest = Some(pushed);
        if args.lock {
            record(args, &mut report, &[&new])?;
            attest(args, &scanner, key.as_ref(), Some(&facts), &mut report)?;
        }
        render(&report, args.format, out)?;
        return Ok(Exit::Ok);
    };

    // A rebuild: what the regeneration changes, before it replaces the cached image.
    report.previous_digest = Some(old_digest.clone());
    report.candidate = Some(build_tag.to_string());
    let old = catalog(&scanner, &def, &hash, args, &target, &old_digest, &target)?;
    let mut drift = crate::analysis::drift::lockfiles(
        &single(&report.environment, old.clone()),
        &single(&report.environment, new.clone()),
        &format!(
            "{target} ({})",
            render::short_digest(Some(&old_digest.to_string()))
        ),
        &format!(
            "{build_tag} ({})",
            render::short_digest(Some(&pushed.to_string()))
        ),
        None,
    );
    // A regenerated image always has another digest (timestamps); it drifted only if its
    // packages did.
    for e in &mut drift.environments {
        if e.diff.packages.is_empty() {
            e.diff.silent_drift = false;
        }
    }
    drift.findings = drift
        .environments
        .iter()
        .flat_map(crate::analysis::drift::findings)
        .collect();
    args.findings.apply(&mut drift.findings)?;
    let refuse = drift
        .findings
        .iter()
        .any(|f| args.findings.fail_on.fails(f));
    report.drift = Some(drift);
    if refuse {
        report.outcome = Outcome::Refused;
        report.digest = Some(old_digest);
        render(&report, args.format, out)?;
        return Ok(Exit::Findings);
    }
    let tag = target.tag().unwrap_or(b::CACHE_TAG);
    let moved = scanner
        .move_tag(&target, tag, &pushed)
        .with_context(|| format!("cannot move `{target}` to {pushed}"))?;
    let now = scanner
        .tag_digest(&target)
        .map_err(|e| unreachable_registry(&target, e))?;
    if now.as_ref() != Some(&moved) {
        anyhow::bail!(
            "`{target}` names {} after moving it to {moved}: another push raced this one",
            now.map_or_else(|| "nothing".to_owned(), |d| d.to_string())
        );
    }
    report.outcome = Outcome::Rebuilt;
    report.digest = Some(moved);
    if args.lock {
        record(args, &mut report, &[&old, &new])?;
        attest(args, &scanner, key.as_ref(), Some(&facts), &mut report)?;
    }
    render(&report, args.format, out)?;
    Ok(Exit::Ok)
}

fn dry_run(
    args: &BuildArgs,
    def: &EnvDefinition,
    target: &ImageRef,
    platform: &Platform,
    mut report: BuildReport,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let ctx = context::plan(def, None).map_err(plan_error)?;
    if let Some(dir) = &args.context_out {
        context::write(&ctx, dir)
            .with_context(|| format!("cannot write the build context to `{}`", dir.display()))?;
    }
    let context_dir = match (&args.context_out, &ctx.source) {
        (Some(dir), ContextSource::Generated | ContextSource::Local(_)) => Some(dir.clone()),
        (None, ContextSource::Local(path)) => Some(path.clone()),
        (None, ContextSource::Generated) => Some(PathBuf::from("CONTEXT")),
        (_, ContextSource::Remote(_)) => None,
    };
    let build_tag = if args.rebuild {
        b::with_tag(target, "envaudit-rebuild-TIMESTAMP")
    } else {
        target.clone()
    };
    let spec = BuildSpec {
        context: context_arg(&ctx, context_dir.as_deref()),
        dockerfile: &ctx.dockerfile,
        target: &build_tag,
        platform: platform.to_string(),
        definition_hash: report.definition_hash.to_string(),
        insecure: plain_http(&args.image.insecure_registry, &build_tag, def),
        digest_file: PathBuf::from("DIGEST_FILE"),
    };
    report.commands = commands(args.builder, &spec)?;
    report.builder = Some(args.builder);
    report.context = Some(ContextSummary::new(&ctx, args.context_out.clone()));
    if args.rebuild {
        report.candidate = Some(build_tag.to_string());
        // what the rebuild would install, when the environment is locked
        if args.lockfile.exists() {
            let lock = Lockfile::load(&args.lockfile)?;
            if lock.environments.contains_key(&report.environment) {
                report.prediction = Some(args.prediction.predict(
                    &args.lockfile,
                    &lock,
                    std::slice::from_ref(&report.environment),
                )?);
            }
        }
    }
    render(&report, args.format, out)?;
    Ok(Exit::Ok)
}

fn render(report: &BuildReport, format: Format, out: &mut dyn Write) -> anyhow::Result<()> {
    super::write_or_pipe(render::render_build(report, format, out))
}

/// Loads the definition; a conda or pip file that names no base image takes `--base-image`.
fn load(args: &BuildArgs) -> anyhow::Result<EnvDefinition> {
    let options = LoadOptions {
        kind: args.kind,
        image: None,
    };
    let def = definition::load(&args.env, &options).with_context(|| {
        format!(
            "cannot load environment definition `{}`",
            args.env.display()
        )
    })?;
    match &args.base_image {
        Some(base) if def.base_image.is_none() => {
            let options = LoadOptions {
                kind: args.kind,
                image: Some(base.clone()),
            };
            definition::load(&args.env, &options).with_context(|| {
                format!(
                    "cannot load environment definition `{}`",
                    args.env.display()
                )
            })
        }
        _ => Ok(def),
    }
}

/// The base image by digest for a generated Dockerfile (the platform manifest's digest);
/// `None` when envaudit writes no `FROM` (a Docker-based definition builds as it is).
fn pinned_base(scanner: &Scanner, def: &EnvDefinition) -> anyhow::Result<Option<ImageRef>> {
    if def.build_context.is_some() || def.dockerfile.is_some() {
        return Ok(None);
    }
    let Some(base) = def.base_image.as_ref().and_then(|b| b.image.as_ref()) else {
        return Ok(None);
    };
    let resolved = scanner
        .resolve(&ImageSource::Registry(base.clone()))
        .with_context(|| format!("cannot resolve the base image `{base}`"))?;
    let digest = resolved
        .manifest
        .as_ref()
        .map(|m| m.digest.clone())
        .or_else(|| base.digest().cloned());
    Ok(digest.map(|d| b::with_digest(base, &d)))
}

/// Resolve and catalog `image@digest`; a snapshot of it for the definition, recording the
/// image as `recorded_as` (the content-addressed tag, which `check` resolves again).
fn catalog(
    scanner: &Scanner,
    def: &EnvDefinition,
    hash: &HashReport,
    args: &BuildArgs,
    image: &ImageRef,
    digest: &Digest,
    recorded_as: &ImageRef,
) -> anyhow::Result<Snapshot> {
    let pinned = b::with_digest(image, digest);
    let source = ImageSource::Registry(pinned.clone());
    // The base image marks which packages came with it; an image already built and pushed
    // is still cataloged and locked when the base cannot be reached.
    let base = def
        .base_image
        .as_ref()
        .and_then(|b| b.image.clone())
        .map(ImageSource::Registry)
        .filter(|b| match scanner.resolve(b) {
            Ok(_) => true,
            Err(e) => {
                eprintln!(
                    "warning: cannot resolve the base image `{b}` ({e:#}); no package is marked as the base image's"
                );
                false
            }
        });
    eprintln!("cataloging `{pinned}`");
    let scanned = scanner
        .scan(&source, base.as_ref())
        .with_context(|| format!("cannot catalog `{pinned}`"))?;
    super::print_warnings(&scanned.warnings);
    let lock_dir = store::lockfile_dir(&args.lockfile);
    Ok(scanned.snapshot(Some((def, hash)), &lock_dir, &recorded_as.to_string()))
}

/// Record snapshots in the lockfile, in order (the last becomes current).
fn record(args: &BuildArgs, report: &mut BuildReport, snaps: &[&Snapshot]) -> anyhow::Result<()> {
    let store = Store::new(&args.lockfile);
    for snap in snaps {
        let recorded = store
            .record(&report.environment, snap, None)
            .with_context(|| format!("cannot write `{}`", args.lockfile.display()))?;
        if let Some(prev) = recorded.previous.as_ref().filter(|p| p.id != snap.id) {
            let d = crate::analysis::diff::snapshots(&report.environment, Some(prev), Some(snap));
            if d.silent_drift && snaps.len() == 1 {
                eprintln!(
                    "warning[silent-drift]: `{}`: the image built now installs other packages than locked snapshot {} under the same definition hash; see `envaudit diff`",
                    report.environment, prev.id
                );
            }
        }
        report.snapshot = Some(snap.id.clone());
        report.packages = Some(snap.packages.len());
    }
    report.locked = true;
    Ok(())
}

/// `--attest`: the evidence of the environment's snapshot just recorded, attached to its
/// image (with SLSA provenance when the image was built now).
fn attest(
    args: &BuildArgs,
    scanner: &Scanner,
    key: Option<&SigningKey>,
    facts: Option<&BuildFacts>,
    report: &mut BuildReport,
) -> anyhow::Result<()> {
    let Some(key) = key else {
        return Ok(());
    };
    let done = attest_environments(
        scanner,
        &args.lockfile,
        std::slice::from_ref(&report.environment),
        key,
        facts,
    )?;
    report.attestation = done.into_iter().next();
    Ok(())
}

fn single(name: &str, snap: Snapshot) -> Lockfile {
    let mut l = Lockfile::default();
    l.environments.insert(name.to_owned(), snap);
    l
}

/// The context argument of the builder: the folder, or the URL of a remote context.
fn context_arg(ctx: &Context, dir: Option<&Path>) -> String {
    match (&ctx.source, dir) {
        (ContextSource::Remote(url), _) => url.clone(),
        (_, Some(d)) => std::path::absolute(d)
            .unwrap_or_else(|_| d.to_path_buf())
            .display()
            .to_string(),
        (_, None) => ".".to_owned(),
    }
}

/// `envaudit-rebuild-YYYYMMDDTHHMMSSZ`.
fn rebuild_tag() -> String {
    format!(
        "envaudit-rebuild-{}",
        store::now_rfc3339().replace(['-', ':'], "")
    )
}

fn commands(builder: Builder, spec: &BuildSpec<'_>) -> anyhow::Result<Vec<b::Invocation>> {
    builder::commands(builder, spec).map_err(|e| {
        Hinted::new(
            e.to_string(),
            "`--builder acr` builds in an Azure Container Registry: `--registry NAME.azurecr.io`",
        )
        .into()
    })
}

/// Whether the builder must reach a registry over plain HTTP: the target's or the base
/// image's is loopback, or `--insecure-registry` names one.
fn plain_http(insecure: &[String], target: &ImageRef, def: &EnvDefinition) -> bool {
    !insecure.is_empty() || is_loopback(target) || base_is_loopback(def)
}

fn is_loopback(image: &ImageRef) -> bool {
    crate::registry::TransportPolicy::default().scheme_for(image.registry()) == "http"
}

fn base_is_loopback(def: &EnvDefinition) -> bool {
    def.base_image
        .as_ref()
        .and_then(|b| b.image.as_ref())
        .is_some_and(is_loopback)
}

fn unreachable_registry(image: &ImageRef, e: crate::registry::RegistryError) -> anyhow::Error {
    anyhow::Error::new(e).context(format!("cannot look up `{image}` in its registry"))
}

fn plan_error(e: BuildError) -> anyhow::Error {
    match e {
        BuildError::NoBaseImage { .. } => Hinted::new(
            e.to_string(),
            "give the image to build on with `--base-image REF` (Azure ML: e.g. `mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04`)",
        )
        .into(),
        other => anyhow::Error::new(other).context("cannot generate the build context"),
    }
}

fn builder_error(e: BuildError) -> anyhow::Error {
    match e {
        BuildError::BuilderFailed {
            command,
            status,
            tail,
        } => {
            let mut message = format!(
                "`{command}` failed ({status}); no image was tagged and the lockfile is unchanged"
            );
            if !tail.is_empty() {
                message.push_str("; its last lines:");
                for line in &tail {
                    message.push_str("\n    ");
                    message.push_str(line);
                }
            }
            Hinted::new(
                message,
                "fix the definition or the builder's setup and build again; `--context-out DIR --dry-run` writes the context to try by hand",
            )
            .into()
        }
        other => other.into(),
    }
}
