//! `envaudit fleet`: scan every image of an organisation on many workers (`scan`), merge the
//! results into an inventory and query it by package (`merge`, `query`: [`super::fleet_db`]);
//! docs/fleet.md.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::Exit;
use super::args::{FindingsArgs, ImageOptions};
use super::fleet_db;
use crate::diag::{Code, Finding};
use crate::fleet::db::Inventory;
use crate::fleet::facts::FactsCache;
use crate::fleet::record::{self, ScanRecord};
use crate::fleet::scan::{self, Done, Shard, Source};
use crate::lockfile::Lockfile;
use crate::lockfile::store::{lockfile_dir, now_rfc3339};
use crate::model::ImageRef;
use crate::registry::ListLimits;

/// The `fleet` command group.
#[derive(Debug, Args)]
pub(crate) struct FleetArgs {
    #[command(subcommand)]
    pub(crate) command: FleetCommand,
}

/// The `fleet` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum FleetCommand {
    /// Scan every image of registries, repository prefixes, files of references or the
    /// lockfiles, once per platform manifest, as one shard of N workers, appending JSON lines
    Scan(Box<ScanArgs>),
    /// Load `fleet scan` results files into the inventory database (SQLite); idempotent
    Merge(fleet_db::MergeArgs),
    /// The images, references, locked environments and models that hold a package in a
    /// version range; also moved tags, unlocked images and counts
    Query(fleet_db::QueryArgs),
}

/// Arguments of `fleet scan`.
#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// What to scan: a registry `HOST[:PORT]` (its whole catalog), a repository prefix
    /// `REG/azureml/*`, a repository `REG/REPO` (every tag), a reference `REG/REPO:TAG`, a
    /// file of such sources `@FILE` (one a line, `#` comments), or `@` (every image the
    /// lockfiles name)
    #[arg(required = true, value_name = "SOURCE")]
    sources: Vec<String>,

    /// Results file to append JSON lines to (created if missing); the images it already
    /// holds are not scanned again (unless --db is given: then the database decides)
    #[arg(long, value_name = "FILE", required_unless_present = "db")]
    out: Option<PathBuf>,

    /// Merge the results straight into this inventory database (SQLite, created when
    /// missing), one transaction per image, when one machine is enough; the images it
    /// already holds are not scanned again
    #[arg(long, value_name = "DB")]
    db: Option<PathBuf>,

    /// Other results files whose images are not scanned again (other workers' outputs)
    #[arg(long, value_name = "FILE")]
    done: Vec<PathBuf>,

    /// Scan only the images of shard I of N (I from 0), by manifest digest; `/N` takes I
    /// from `$JOB_COMPLETION_INDEX` (Kubernetes Indexed Jobs)
    #[arg(long, value_name = "[I]/N")]
    shard: Option<String>,

    /// Scan again what the results files already hold
    #[arg(long)]
    rescan: bool,

    /// Lockfile whose images `@` names (repeatable)
    #[arg(long, value_name = "PATH", default_value = "envaudit.lock")]
    lockfile: Vec<PathBuf>,

    /// Repository to leave out (`REG/REPO`, repeatable), such as a layer-facts cache
    #[arg(long, value_name = "REG/REPO")]
    exclude: Vec<String>,

    /// Share layer facts through this repository (`REG/REPO`): looked up after the local
    /// layer cache and before reading a layer, published after (docs/fleet.md: its trust)
    #[arg(long, value_name = "REG/REPO")]
    cache_registry: Option<String>,

    /// Images scanned at the same time (default: the machine's cores); images that need a
    /// layer another one is reading wait for it, so each layer is still read once
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: Option<u16>,

    /// Page size asked of the catalog and tag listings
    #[arg(long, value_name = "N", default_value_t = 1000, hide = true)]
    page_size: u32,

    #[command(flatten)]
    image: ImageOptions,

    #[command(flatten)]
    findings: FindingsArgs,
}

/// Runs a `fleet` subcommand.
pub(crate) fn run(args: &FleetArgs, out: &mut impl Write) -> anyhow::Result<Exit> {
    match &args.command {
        FleetCommand::Scan(a) => run_scan(a, out),
        FleetCommand::Merge(a) => fleet_db::merge(a, out),
        FleetCommand::Query(a) => fleet_db::query(a, out),
    }
}

/// The shard of `--shard [I]/N`, `I` from `$JOB_COMPLETION_INDEX` when left out.
fn shard(text: &str) -> anyhow::Result<Shard> {
    if let Some(n) = text.strip_prefix('/') {
        let index = std::env::var("JOB_COMPLETION_INDEX").context(
            "`--shard /N` takes I from `$JOB_COMPLETION_INDEX`, which is not set; give `--shard I/N`",
        )?;
        return format!("{}/{n}", index.trim())
            .parse::<Shard>()
            .context("invalid --shard (with I from `$JOB_COMPLETION_INDEX`)");
    }
    text.parse::<Shard>().context("invalid --shard")
}

fn run_scan(args: &ScanArgs, out: &mut impl Write) -> anyhow::Result<Exit> {
    let shard = args.shard.as_deref().map(shard).transpose()?;
    let sources = args
        .sources
        .iter()
        .map(|s| s.parse::<Source>())
        .collect::<Result<Vec<_>, _>>()?;
    let mut lockfile_images = Vec::new();
    if sources.contains(&Source::Lockfiles) {
        for path in &args.lockfile {
            let lock = Lockfile::load(path)
                .with_context(|| format!("cannot read the lockfile `{}`", path.display()))?;
            for snap in lock.environments.values() {
                if let Some(image) = &snap.image
                    && let Ok(r) = image.parse::<ImageRef>()
                {
                    lockfile_images.push(r);
                }
            }
        }
    }
    let mut sink = Sink {
        out: args.out.as_deref(),
        db: args
            .db
            .as_deref()
            .map(Inventory::open)
            .transpose()
            .context("cannot open the inventory database")?,
    };
    // Incremental: what the database (or else the results file) and the other workers'
    // results hold is not scanned again.
    let mut done = Done::default();
    if !args.rescan {
        if let Some(db) = &sink.db {
            done = db.done().context("cannot read the inventory database")?;
        }
        let own = if sink.db.is_none() {
            args.out.as_ref()
        } else {
            None
        };
        for path in own.into_iter().chain(&args.done) {
            let read = record::read(path)
                .with_context(|| format!("cannot read the results file `{}`", path.display()))?;
            done.extend(&read.records);
        }
    }
    if let Some(out) = &args.out
        && record::repair(out)
            .with_context(|| format!("cannot repair the results file `{}`", out.display()))?
    {
        eprintln!(
            "note: `{}` ended with a torn line (a killed worker's); it was cut and its image is scanned again",
            out.display()
        );
    }
    let scanner = args.image.scanner()?;
    let mut exclude = args.exclude.clone();
    let facts = match &args.cache_registry {
        Some(text) => {
            let repo: ImageRef = text
                .parse()
                .with_context(|| format!("invalid --cache-registry `{text}`"))?;
            if scanner.layer_cache().is_none() {
                anyhow::bail!(
                    "--cache-registry needs the local layer cache: drop --no-cache (or set `ENVAUDIT_CACHE_DIR`)"
                );
            }
            let cache = FactsCache::new(repo);
            exclude.push(cache.repository());
            Some(cache)
        }
        None => None,
    };
    let limits = ListLimits {
        page_size: args.page_size.max(1),
        ..ListLimits::default()
    };
    let enumerated = scan::references(&scanner, &sources, &lockfile_images, &exclude, &limits)?;
    let plan = scan::plan(&scanner, &enumerated, shard.as_ref(), &done, &now_rfc3339());
    let lock_dir = lockfile_dir(
        args.lockfile
            .first()
            .map_or("envaudit.lock".as_ref(), |p| p),
    );
    let mut findings: Vec<Finding> = Vec::new();
    let mut unreadable = 0usize;
    let record_unreadable = |u: &record::UnreadableRecord, findings: &mut Vec<Finding>| {
        findings.push(Finding::new(
            Code::UnreadableImage,
            format!("`{}` ({}): {}", u.reference, u.reason.as_str(), u.message),
        ));
    };
    for u in &plan.unreadable {
        sink.write(&[ScanRecord::Unreadable(u.clone())])?;
        record_unreadable(u, &mut findings);
        unreadable += 1;
    }
    let seen: Vec<ScanRecord> = plan.seen.iter().cloned().map(ScanRecord::Seen).collect();
    sink.write(&seen)?;
    let total = plan.images.len();
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        usize::from,
    );
    // Shared by the scanning threads: the sink, the findings and the counts.
    let shared = std::sync::Mutex::new((sink, findings, 0usize, unreadable, 0usize));
    let settings = scan::ScanSettings {
        facts: facts.as_ref(),
        jobs,
        lockfile_dir: &lock_dir,
        shard: shard.as_ref(),
    };
    scan::scan_images(
        &scanner,
        &plan.images,
        &settings,
        &now_rfc3339,
        &|_, image, records, warnings| -> anyhow::Result<()> {
            let mut guard = shared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (sink, findings, scanned, unreadable, finished) = &mut *guard;
            *finished += 1;
            eprintln!(
                "scanned {finished}/{total}: {} ({} reference{})",
                image.manifest,
                image.references.len(),
                if image.references.len() == 1 { "" } else { "s" }
            );
            sink.write(&records)?;
            for r in &records {
                match r {
                    ScanRecord::Image(_) => *scanned += 1,
                    ScanRecord::Unreadable(u) => {
                        record_unreadable(u, findings);
                        *unreadable += 1;
                    }
                    ScanRecord::Seen(_) => {}
                }
            }
            findings.extend(warnings);
            Ok(())
        },
    )?;
    let (_, mut findings, scanned, unreadable, _) = shared
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    args.findings.apply(&mut findings)?;
    super::print_warnings(&findings);
    writeln!(
        out,
        "{scanned} image(s) scanned, {unreadable} unreadable, {} already in the results ({} new or moved reference(s) recorded), {} artifact(s) and {} artifact tag(s) skipped, {} item(s) left to other shards{}",
        plan.already_done,
        plan.seen.iter().map(|s| s.references.len()).sum::<usize>(),
        plan.artifacts.len(),
        enumerated.skipped_tags,
        plan.other_shards,
        shard.map(|s| format!(" (shard {s})")).unwrap_or_default(),
    )?;
    Ok(args.findings.exit(&findings))
}

/// Where `fleet scan` writes its records: the inventory database first (one transaction per
/// call), then the results file (one appended line per record).
struct Sink<'a> {
    out: Option<&'a std::path::Path>,
    db: Option<Inventory>,
}

impl Sink<'_> {
    fn write(&mut self, records: &[ScanRecord]) -> anyhow::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        if let Some(db) = &mut self.db {
            db.merge(records, "fleet scan")
                .context("cannot write to the inventory database")?;
        }
        if let Some(out) = self.out {
            for r in records {
                record::append(out, r)
                    .with_context(|| format!("cannot write to `{}`", out.display()))?;
            }
        }
        Ok(())
    }
}
