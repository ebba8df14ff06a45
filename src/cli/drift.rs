//! `envaudit drift`, `check`, `why` and `graph`: the dependency graph and what let packages
//! move.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use super::catalog::Scanner;
use super::diff::{load_side, parse_spec};
use super::error::Hinted;
use crate::analysis::drift::{self, DriftReport};
use crate::analysis::graph::DepGraph;
use crate::config::Config;
use crate::diag::{Code, FailOn, Finding};
use crate::layer::Limits;
use crate::lockfile::store;
use crate::lockfile::{Lockfile, Snapshot};
use crate::model::{ImageSource, Platform};
use crate::render::{self, Format, GraphFormat, WhyReport};
use crate::scan::snapshot::{Observed, snapshot};

/// Options shared by the commands that may read images.
#[derive(Debug, Args)]
pub(crate) struct ImageOptions {
    /// Platform to take from a multi-platform image (default linux/amd64)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub(crate) platform: Option<Platform>,

    /// Read every layer, neither using nor filling the layer cache
    #[arg(long)]
    pub(crate) no_cache: bool,

    /// Registry host (HOST[:PORT]) to reach over plain HTTP (loopback hosts always may)
    #[arg(long, value_name = "HOST")]
    pub(crate) insecure_registry: Vec<String>,
}

impl ImageOptions {
    fn scanner(&self) -> anyhow::Result<Scanner> {
        Scanner::new(
            &self.insecure_registry,
            self.platform.clone(),
            self.no_cache,
            Limits::default(),
        )
    }
}

#[derive(Debug, Args)]
pub(crate) struct DriftArgs {
    /// The old side: a snapshot `@REV[:PATH][#ENV]`, an image (`REF`, `oci:DIR`,
    /// `docker-archive:FILE`) or a folder
    old: String,

    /// The new side, same forms
    new: String,

    /// The definition both sides were built from (for image and folder sides: its declared
    /// dependencies are the roots of the graph)
    #[arg(long, value_name = "PATH")]
    definition: Option<PathBuf>,

    /// Only this environment (and the name given to image and folder sides)
    #[arg(long, value_name = "NAME")]
    env: Option<String>,

    /// The lockfile snapshots refer to
    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Exit 1 on findings of this severity or worse, or on these codes (`drift`,
    /// `silent-drift`, `pin-violated`, ...)
    #[arg(long, value_name = "SEVERITY|CODES", default_value = "error")]
    fail_on: FailOn,

    #[command(flatten)]
    image: ImageOptions,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Only these environments (default: every environment of the lockfile)
    env: Vec<String>,

    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Exit 1 on findings of this severity or worse, or on these codes (`silent-drift`,
    /// `drift`, `stale-lock`, `pin-violated`, ...)
    #[arg(long, value_name = "SEVERITY|CODES", default_value = "error")]
    fail_on: FailOn,

    /// Project configuration (default: the nearest `envaudit.toml` above the current folder)
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(flatten)]
    image: ImageOptions,
}

#[derive(Debug, Args)]
pub(crate) struct WhyArgs {
    /// The package (pip or conda name)
    package: String,

    /// The environment (default: the only one in the lockfile)
    env: Option<String>,

    /// Which lockfile snapshot: `@REV[:PATH][#ENV]`
    #[arg(long, value_name = "SNAPSHOT", default_value = "@")]
    at: String,

    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    /// The environment (default: the only one in the lockfile)
    env: Option<String>,

    /// Which lockfile snapshot: `@REV[:PATH][#ENV]`
    #[arg(long, value_name = "SNAPSHOT", default_value = "@")]
    at: String,

    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    /// `tree` (indented, from the declared roots), `dot` (Graphviz) or `json`
    #[arg(long, value_enum, default_value_t = GraphFormat::Tree)]
    format: GraphFormat,
}

/// One side of `drift`: a lockfile snapshot, an image or a folder, as a lockfile.
fn drift_side(text: &str, args: &DriftArgs, name: &str) -> anyhow::Result<Lockfile> {
    if text.starts_with('@') {
        let spec = parse_spec(text, "@")?;
        return load_side(&spec, &args.lockfile).with_context(|| format!("cannot read `{spec}`"));
    }
    let def = args
        .definition
        .as_deref()
        .map(|p| {
            crate::definition::load(p, &crate::definition::LoadOptions::default())
                .with_context(|| format!("cannot load environment definition `{}`", p.display()))
        })
        .transpose()?;
    let hash = def
        .as_ref()
        .map(|d| crate::hash::report(d, crate::azureml::v2_identity(d), None));
    let definition = def.as_ref().zip(hash.as_ref());
    let dir = store::lockfile_dir(&args.lockfile);
    let folder = Path::new(text);
    let snap = if folder.is_dir() {
        let catalog = crate::catalog::catalog_folder(folder);
        snapshot(&Observed {
            definition,
            lockfile_dir: &dir,
            image: None,
            base_image_digest: None,
            base_layers: None,
            rootfs: Some(folder),
            catalog: &catalog,
        })
    } else {
        let source: ImageSource = text.parse().map_err(|e| {
            anyhow::Error::new(Hinted::new(
                format!("`{text}` is not a snapshot, a folder or an image: {e}"),
                "a lockfile snapshot starts with `@` (`@HEAD`, `@:envaudit.lock`)",
            ))
        })?;
        let scanned = args
            .image
            .scanner()?
            .scan(&source, None)
            .with_context(|| format!("cannot catalog `{source}`"))?;
        scanned.snapshot(definition, &dir, text)
    };
    let mut lock = Lockfile::default();
    lock.environments.insert(name.to_owned(), snap);
    Ok(lock)
}

pub(crate) fn run_drift(args: &DriftArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let name = args.env.clone().unwrap_or_else(|| "environment".to_owned());
    let old = drift_side(&args.old, args, &name)?;
    let new = drift_side(&args.new, args, &name)?;
    // With one environment on each side, compare them whatever their names.
    let (old, new) = same_name_if_single(old, new);
    let filter = if args.old.starts_with('@') || args.new.starts_with('@') {
        args.env.as_deref()
    } else {
        None
    };
    let report = drift::lockfiles(&old, &new, &args.old, &args.new, filter);
    finish(report, args.format, &args.fail_on, None, out)
}

fn same_name_if_single(old: Lockfile, mut new: Lockfile) -> (Lockfile, Lockfile) {
    if old.environments.len() == 1
        && new.environments.len() == 1
        && let Some(name) = old.environments.keys().next().cloned()
        && let Some((_, s)) = new.environments.pop_first()
    {
        new.environments.insert(name, s);
    }
    (old, new)
}

fn finish(
    mut report: DriftReport,
    format: Format,
    fail_on: &FailOn,
    config: Option<&Config>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let config = match config {
        Some(c) => c.clone(),
        None => Config::discover(&std::env::current_dir().unwrap_or_default())
            .context("cannot read the project configuration")?,
    };
    config.apply(&mut report.findings);
    super::write_or_pipe(render::render_drift(&report, format, out))?;
    Ok(if report.findings.iter().any(|f| fail_on.fails(f)) {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

/// For each environment of the lockfile: is the definition still what was locked, and does
/// its image reference still resolve to the locked image? A regenerated image is cataloged
/// and its drift attributed.
pub(crate) fn run_check(args: &CheckArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let config = match &args.config {
        Some(p) => Config::load(p),
        None => Config::discover(&std::env::current_dir().unwrap_or_default()),
    }
    .context("cannot read the project configuration")?;
    if !args.lockfile.exists() {
        return Err(Hinted::new(
            format!("`{}` does not exist", args.lockfile.display()),
            "create it with `envaudit lock`, or name another with `--lockfile`",
        )
        .into());
    }
    let lockfile = Lockfile::load(&args.lockfile)?;
    for e in &args.env {
        if !lockfile.environments.contains_key(e) {
            return Err(Hinted::new(
                format!("`{e}` is not in `{}`", args.lockfile.display()),
                format!(
                    "environments there: {}",
                    lockfile
                        .environments
                        .keys()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .into());
        }
    }
    let dir = store::lockfile_dir(&args.lockfile);
    let selected: Vec<(&String, &Snapshot)> = lockfile
        .environments
        .iter()
        .filter(|(n, _)| args.env.is_empty() || args.env.contains(n))
        .collect();
    let scanner = args.image.scanner()?;
    // One concurrent round of manifest requests for every image reference.
    let sources: Vec<Option<ImageSource>> = selected
        .iter()
        .map(|(_, s)| s.image.as_deref().and_then(|i| i.parse().ok()))
        .collect();
    let wanted: Vec<ImageSource> = sources.iter().flatten().cloned().collect();
    let mut resolved = scanner.resolve_all(&wanted).into_iter();
    let mut report = DriftReport {
        schema_version: drift::SCHEMA_VERSION,
        old: args.lockfile.display().to_string(),
        new: "now".to_owned(),
        environments: Vec::new(),
        findings: Vec::new(),
    };
    for ((name, locked), source) in selected.iter().zip(&sources) {
        // The definition as it is now.
        let def_path = dir.join(&locked.definition);
        let current = if locked.definition.is_empty() {
            None
        } else {
            match crate::definition::load(&def_path, &crate::definition::LoadOptions::default()) {
                Ok(d) => Some(d),
                Err(e) => {
                    report.findings.push(
                        Finding::new(
                            Code::StaleLock,
                            format!("`{name}`: cannot load `{}`: {e}", def_path.display()),
                        )
                        .with_package((*name).clone()),
                    );
                    None
                }
            }
        };
        let hash = current
            .as_ref()
            .map(|d| crate::hash::report(d, crate::azureml::v2_identity(d), None));
        if let Some(h) = &hash
            && h.definition_hash != locked.definition_hash
        {
            report.findings.push(
                Finding::new(
                    Code::StaleLock,
                    format!(
                        "`{name}`: the definition was edited but not locked again ({} → {})",
                        render::short_digest(Some(&locked.definition_hash.to_string())),
                        render::short_digest(Some(&h.definition_hash.to_string()))
                    ),
                )
                .with_package((*name).clone()),
            );
        }
        let Some(source) = source else { continue };
        let now = match resolved.next() {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                return Err(e).with_context(|| format!("cannot resolve `{source}` of `{name}`"));
            }
            None => continue,
        };
        let same = now.manifest.as_ref().map(|m| &m.digest) == locked.image_manifest.as_ref()
            && Some(&now.config.digest) == locked.image_config.as_ref();
        if same {
            report
                .environments
                .push(drift::environment(name, Some(locked), Some(locked)));
            continue;
        }
        // The tag moved: catalog what it points to now.
        let scanned = scanner
            .scan(source, None)
            .with_context(|| format!("cannot catalog `{source}`"))?;
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
            fresh.definition_hash = locked.definition_hash.clone();
            fresh.declared = locked.declared.clone();
            fresh.seal();
        }
        // Layers the locked image shares with the new one keep their base marking.
        let base = locked.base_layers.map(|n| n as usize).unwrap_or(0);
        if base > 0
            && fresh
                .image_layers
                .starts_with(&locked.image_layers[..base.min(locked.image_layers.len())])
        {
            fresh.base_layers = Some(base as u64);
        }
        let d = drift::environment(name, Some(locked), Some(&fresh));
        report.findings.extend(drift::findings(&d));
        report.environments.push(d);
    }
    finish(report, args.format, &args.fail_on, Some(&config), out)
}

/// The snapshot of one environment of a lockfile side.
pub(crate) fn pick<'l>(
    lock: &'l Lockfile,
    env: Option<&str>,
    at: &str,
) -> anyhow::Result<(&'l String, &'l Snapshot)> {
    match env {
        Some(e) => lock.environments.get_key_value(e).ok_or_else(|| {
            Hinted::new(
                format!("`{e}` is not in `{at}`"),
                format!(
                    "environments there: {}",
                    lock.environments
                        .keys()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .into()
        }),
        None if lock.environments.len() == 1 => Ok(lock.environments.iter().next().expect("one")),
        None => Err(Hinted::new(
            format!("`{at}` holds {} environments", lock.environments.len()),
            "name the environment (e.g. `envaudit graph ENV`, `envaudit export ENV`)",
        )
        .into()),
    }
}

pub(crate) fn run_why(args: &WhyArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let spec = parse_spec(&args.at, "@")?;
    let lock = load_side(&spec, &args.lockfile).with_context(|| format!("cannot read `{spec}`"))?;
    let env = args.env.clone().or(spec.environment.clone());
    let (name, snap) = pick(&lock, env.as_deref(), &spec.to_string())?;
    let g = DepGraph::build(snap);
    let Some(&i) = g.find(&args.package).first() else {
        return Err(Hinted::new(
            format!("`{}` is not installed in `{name}`", args.package),
            "check the name with `envaudit graph` (pip names are normalised: `Foo_Bar` is `foo-bar`)",
        )
        .into());
    };
    let p = g.package(i);
    let report = WhyReport {
        schema_version: 1,
        environment: name.clone(),
        package: p.name.to_string(),
        version: p.version.clone(),
        prefix: p.prefix.clone(),
        class: g.class(i),
        paths: g.all_paths(i, 50).iter().map(ToString::to_string).collect(),
        required_by: g
            .incoming(i)
            .into_iter()
            .map(|(from, r)| {
                let f = g.package(from);
                (format!("{} {}", f.name, f.version), r.text.clone())
            })
            .collect(),
    };
    super::write_or_pipe(render::render_why(&report, args.format, out))?;
    Ok(Exit::Ok)
}

pub(crate) fn run_graph(args: &GraphArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let spec = parse_spec(&args.at, "@")?;
    let lock = load_side(&spec, &args.lockfile).with_context(|| format!("cannot read `{spec}`"))?;
    let env = args.env.clone().or(spec.environment.clone());
    let (_, snap) = pick(&lock, env.as_deref(), &spec.to_string())?;
    let g = DepGraph::build(snap);
    super::write_or_pipe(render::render_graph(&g, args.format, out))?;
    Ok(Exit::Ok)
}
