//! `envaudit pin`: a definition rewritten to what its locked image holds.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use super::error::Hinted;
use super::prediction::PredictOptions;
use crate::definition::{self, DefinitionKind, EnvDefinition, LoadOptions};
use crate::lockfile::Snapshot;
use crate::lockfile::store::{self, Store};
use crate::model::Digest;
use crate::rewrite::pin::{self, PinPlan};

#[derive(Debug, Args)]
pub(crate) struct PinArgs {
    /// Environment definition (file or folder) to pin
    env: PathBuf,

    /// Apply the changes (default: show them as a unified diff)
    #[arg(long)]
    write: bool,

    /// The lockfile holding the environment's snapshot
    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    /// The environment's name in the lockfile (default: the definition's name, else its path)
    #[arg(long)]
    name: Option<String>,

    /// Read the definition as this kind instead of detecting it from the path
    #[arg(long, value_enum)]
    kind: Option<DefinitionKind>,

    /// Pin to the versions the locked image holds, or to the ones a rebuild would install now
    /// (`predicted`: see `envaudit predict`, whose options say where the indexes are)
    #[arg(long, value_enum, default_value_t = PinTo::Locked)]
    to: PinTo,

    #[command(flatten)]
    prediction: PredictOptions,
}

/// What `pin` pins to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum PinTo {
    /// The versions the environment's locked snapshot records
    Locked,
    /// The versions a rebuild would install now
    Predicted,
}

fn load(path: &Path, kind: Option<DefinitionKind>) -> anyhow::Result<EnvDefinition> {
    definition::load(path, &LoadOptions { kind, image: None })
        .with_context(|| format!("cannot load environment definition `{}`", path.display()))
}

/// The environment's current snapshot: by name, else the one locked from this definition.
fn locked_snapshot(args: &PinArgs, def: &EnvDefinition) -> anyhow::Result<(String, Snapshot)> {
    let lock = Store::new(&args.lockfile).load()?;
    let name = crate::lock::environment_name(args.name.as_deref(), def, &args.env, &args.lockfile);
    if let Some(s) = lock.environments.get(&name) {
        return Ok((name, s.clone()));
    }
    let rel = crate::scan::snapshot::relative_to(&args.env, &store::lockfile_dir(&args.lockfile));
    if let Some((n, s)) = lock.environments.iter().find(|(_, s)| s.definition == rel) {
        return Ok((n.clone(), s.clone()));
    }
    Err(Hinted::new(
        format!(
            "`{}` has no snapshot of `{name}`",
            args.lockfile.display()
        ),
        "lock the environment first (`envaudit lock ENV --image REF`), or name it with `--name` / the lockfile with `--lockfile`",
    )
    .into())
}

pub(crate) fn run(args: &PinArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let def = load(&args.env, args.kind)?;
    let (name, mut snap) = locked_snapshot(args, &def)?;
    if args.to == PinTo::Predicted {
        let lock = Store::new(&args.lockfile).load()?;
        let report = args
            .prediction
            .predict(&args.lockfile, &lock, std::slice::from_ref(&name))?;
        let Some(prediction) = report.environments.into_iter().next() else {
            let why = report
                .findings
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(Hinted::new(
                format!("`{name}` has no prediction to pin to: {why}"),
                "`envaudit predict` shows why; fix the definition or the index options",
            )
            .into());
        };
        snap = prediction.predicted;
    }
    let plan = pin::plan(&def, &snap);
    let mut rewritten: Vec<(PathBuf, String, String)> = Vec::new();
    for (file, edits) in plan.by_file() {
        let old = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        let new = pin::apply(&old, &edits)?;
        rewritten.push((file.to_path_buf(), old, new));
    }
    for (file, old, new) in &rewritten {
        let shown = file.display().to_string();
        let diff = similar::TextDiff::from_lines(old, new);
        write!(
            out,
            "{}",
            diff.unified_diff()
                .context_radius(2)
                .header(&format!("a/{shown}"), &format!("b/{shown}"))
        )?;
    }
    let before = crate::hash::definition_hash(&def);
    let after = if rewritten.is_empty() {
        before.clone()
    } else if args.write {
        for (file, _, new) in &rewritten {
            store::write_atomic(file, new.as_bytes())
                .with_context(|| format!("cannot write `{}`", file.display()))?;
        }
        crate::hash::definition_hash(&load(&args.env, args.kind)?)
    } else {
        hash_rewritten(&def, args, &rewritten)?
    };
    summary(
        &name,
        &snap,
        &plan,
        &before,
        &after,
        args.write,
        rewritten.len(),
    );
    Ok(Exit::Ok)
}

fn summary(
    name: &str,
    snap: &Snapshot,
    plan: &PinPlan,
    before: &Digest,
    after: &Digest,
    written: bool,
    files: usize,
) {
    eprintln!(
        "`{name}` (snapshot {}): {} spec{} pinned, {} already exact, {} left as written",
        snap.id,
        plan.edits.len(),
        if plan.edits.len() == 1 { "" } else { "s" },
        plan.already_pinned,
        plan.skipped.len()
    );
    for s in &plan.skipped {
        eprintln!("  left `{}`: {}", s.spec, s.reason);
    }
    if plan.edits.is_empty() {
        eprintln!("nothing to pin");
        return;
    }
    eprintln!(
        "definition hash: {before} → {after}{}",
        if written {
            format!(
                " ({files} file{} written)",
                if files == 1 { "" } else { "s" }
            )
        } else {
            " (nothing written: `--write` applies the diff)".to_owned()
        }
    );
}

/// The definition hash after the edits, computed on a copy: the definition's files (and a
/// local build context) are copied to a temporary folder, the rewritten ones replaced.
fn hash_rewritten(
    def: &EnvDefinition,
    args: &PinArgs,
    rewritten: &[(PathBuf, String, String)],
) -> anyhow::Result<Digest> {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut paths: Vec<PathBuf> = def.files.iter().map(|p| abs(p)).collect();
    paths.push(abs(&args.env));
    if let Some(crate::definition::BuildContext::Local { path, .. }) = &def.build_context {
        paths.push(abs(path));
    }
    let root = common_root(&paths);
    let tmp = tempfile::tempdir().context("cannot create a temporary folder")?;
    let mirror = |p: &Path| tmp.path().join(p.strip_prefix(&root).unwrap_or(p));
    if let Some(crate::definition::BuildContext::Local { path, .. }) = &def.build_context {
        crate::build::context::copy_tree(&abs(path), &mirror(&abs(path)))?;
    }
    for f in &def.files {
        let to = mirror(&abs(f));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(f, &to).with_context(|| format!("cannot copy `{}`", f.display()))?;
    }
    for (file, _, new) in rewritten {
        std::fs::write(mirror(&abs(file)), new)?;
    }
    let copy = load(&mirror(&abs(&args.env)), args.kind)?;
    Ok(crate::hash::definition_hash(&copy))
}

fn common_root(paths: &[PathBuf]) -> PathBuf {
    let mut root: Option<PathBuf> = None;
    for p in paths {
        let dir = if p.is_dir() {
            p.clone()
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        root = Some(match root {
            None => dir,
            Some(r) => {
                let mut common = PathBuf::new();
                for (a, b) in r.components().zip(dir.components()) {
                    if a != b {
                        break;
                    }
                    common.push(a);
                }
                common
            }
        });
    }
    root.unwrap_or_default()
}
