//! `envaudit check`: for CI and cron, regenerated images behind unchanged tags and
//! definitions edited but not locked.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use super::args::{FindingsArgs, ImageOptions};
use super::error::Hinted;
use crate::analysis::drift::{self, DriftReport};
use crate::diag::{Code, Finding};
use crate::lockfile::store;
use crate::lockfile::{Lockfile, Snapshot};
use crate::model::ImageSource;
use crate::render::{self, Format};
use crate::scan::snapshot::{Observed, snapshot};

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Only these environments (default: every environment of the lockfile)
    env: Vec<String>,

    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    #[command(flatten)]
    findings: FindingsArgs,

    #[command(flatten)]
    image: ImageOptions,
}

/// For each environment of the lockfile: is the definition still what was locked, and does
/// its image reference still resolve to the locked image? A regenerated image is cataloged
/// and its drift attributed.
pub(crate) fn run(args: &CheckArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let config = args.findings.config()?;
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
        report.findings.extend(scanned.warnings.iter().cloned());
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
    config.apply(&mut report.findings);
    super::write_or_pipe(render::render_drift(&report, args.format, out))?;
    Ok(args.findings.exit(&report.findings))
}
