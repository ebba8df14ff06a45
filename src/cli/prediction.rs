//! What `predict`, `check --predict`, `pin --to predicted` and `build --rebuild --dry-run`
//! share: where the indexes and channels are, the target, and the prediction of a lockfile's
//! environments.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use super::error::Hinted;
use super::snapshots::pick;
use crate::diag::{Code, FailOn};
use crate::lockfile::Lockfile;
use crate::lockfile::store;
use crate::predict::{self, HostPipConfig, IndexSettings, Overrides, PredictReport};
use crate::pyindex::IndexClient;

/// Where a prediction reads packages from, and what it installs for.
#[derive(Debug, Args)]
pub(crate) struct PredictOptions {
    /// The primary package index, when the definition names none (default: `PyPI`)
    #[arg(long, value_name = "URL")]
    pub(crate) index_url: Option<String>,

    /// Another package index, after the definition's own
    #[arg(long, value_name = "URL")]
    pub(crate) extra_index_url: Vec<String>,

    /// A folder or flat HTML page of distributions, after the definition's own
    #[arg(long, value_name = "PATH|URL")]
    pub(crate) find_links: Vec<String>,

    /// Where conda channel names live (conda's `channel_alias`, default
    /// `https://conda.anaconda.org`): `conda-forge` is then `ALIAS/conda-forge`; a local folder
    /// is accepted
    #[arg(long, value_name = "URL|DIR")]
    pub(crate) channel_alias: Option<String>,

    /// What conda's `defaults` stands for (conda's `default_channels`; repeat for several;
    /// default: the image's `.condarc`, else `pkgs/main` and `pkgs/r` on repo.anaconda.com);
    /// a local folder is accepted. A conda before 25.9 with no channels configured searches
    /// `defaults` after the definition's channels, unless the definition lists `nodefaults`
    #[arg(long, value_name = "URL|DIR")]
    pub(crate) default_channel: Vec<String>,

    /// Also use this machine's `PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL` and `PIP_FIND_LINKS`, after
    /// the image's own configuration (the builder does not see them, so by default they are
    /// ignored)
    #[arg(long)]
    pub(crate) use_host_config: bool,

    /// Predict from the HTTP cache alone; a page it lacks is an error naming it
    #[arg(long)]
    pub(crate) offline: bool,

    /// Only files uploaded by then (`2024-03-12` is the start of that day, UTC, or a full
    /// RFC 3339 time): what a rebuild at that time would have resolved, as far as the index
    /// dates its files
    #[arg(long, value_name = "DATE")]
    pub(crate) as_of: Option<String>,

    /// The Python to install for (default: the locked prefix's)
    #[arg(long, value_name = "VERSION")]
    pub(crate) python_version: Option<String>,

    /// The machine to install for (default: the image's, e.g. `x86_64`, aarch64; this
    /// machine's for a `--rootfs` lock that does not tell)
    #[arg(long, value_name = "ARCH")]
    pub(crate) machine: Option<String>,

    /// The glibc to install for (default: the image's; this machine's for a `--rootfs` lock
    /// that does not tell)
    #[arg(long, value_name = "VERSION")]
    pub(crate) glibc: Option<String>,
}

/// `2024-03-12` (the start of that day, UTC) or an RFC 3339 time.
fn parse_as_of(text: &str) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| {
        Hinted::new(
            format!("`{text}` is not a date"),
            "give a date (`2024-03-12`) or an RFC 3339 time (`2024-03-12T09:30:00Z`)",
        )
    })?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .context("the date is out of range")
}

/// An index given as a local folder (`fixtures/example/index/simple`) as the `file://` URL
/// pip would need; anything else as given.
fn local_or_url(text: &str) -> String {
    let path = std::path::Path::new(text);
    if !text.contains("://")
        && path.is_dir()
        && let Ok(abs) = std::fs::canonicalize(path)
    {
        return format!("file://{}", abs.display());
    }
    text.to_owned()
}

impl PredictOptions {
    /// The prediction of the named environments of `lockfile` (loaded from `lockfile_path`),
    /// each from its definition as it stands now.
    pub(crate) fn predict(
        &self,
        lockfile_path: &Path,
        lockfile: &Lockfile,
        names: &[String],
    ) -> anyhow::Result<PredictReport> {
        let as_of = self.as_of.as_deref().map(parse_as_of).transpose()?;
        let overrides = Overrides {
            python: self.python_version.clone(),
            machine: self.machine.clone(),
            glibc: self.glibc.clone(),
            // read only when a `--rootfs` lock may need it
            host: lockfile
                .environments
                .values()
                .any(|s| s.rootfs.is_some())
                .then(predict::target::Host::detect),
        };
        let mut settings = IndexSettings {
            index_url: self.index_url.as_deref().map(local_or_url),
            extra_index_urls: self
                .extra_index_url
                .iter()
                .map(|u| local_or_url(u))
                .collect(),
            find_links: self.find_links.clone(),
            host: if self.use_host_config {
                HostPipConfig::from_env()
            } else {
                HostPipConfig::default()
            },
            offline: self.offline,
            cache_dir: crate::layer::LayerCache::default_dir().map(|d| d.join("index-v1")),
            ..IndexSettings::default()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let dir = store::lockfile_dir(lockfile_path);
        let mut report = PredictReport {
            schema_version: predict::SCHEMA_VERSION,
            as_of: as_of.map(|t| t.to_string()),
            environments: Vec::new(),
            findings: Vec::new(),
        };
        for name in names {
            let (_, locked) = pick(lockfile, Some(name), &lockfile_path.display().to_string())?;
            let path = dir.join(&locked.definition);
            let def = crate::definition::load(&path, &crate::definition::LoadOptions::default())
                .with_context(|| {
                    format!(
                        "cannot load the definition of `{name}`, `{}`",
                        path.display()
                    )
                })?;
            let (builder, notes) = builder_config(name, locked, self.offline);
            report.findings.extend(notes);
            settings.image = builder.pip;
            let mut channel_config = builder.condarc.config();
            if let Some(alias) = &self.channel_alias {
                channel_config.channel_alias = local_or_url(alias);
            }
            if !self.default_channel.is_empty() {
                channel_config.default_channels = self
                    .default_channel
                    .iter()
                    .map(|c| local_or_url(c))
                    .collect();
            }
            let index = predict::index_config(&def, &settings)?;
            let client = Arc::new(IndexClient::new(index)?);
            let handle = runtime.handle().clone();
            let read = |names: &[String], subdir: &str| {
                runtime.block_on(predict::conda::read_channels(
                    &client,
                    &channel_config,
                    names,
                    subdir,
                ))
            };
            let channels = predict::CondaChannels {
                configured: predict::conda::Configured::of(locked, builder.condarc.clone()),
                config: channel_config.clone(),
                priority: builder.condarc.priority(),
                read: &read,
                exclude_newer: as_of.and_then(|t| u64::try_from(t.as_millisecond()).ok()),
            };
            let (prediction, findings) =
                predict::predict_environment(name, locked, &def, &overrides, &channels, |target| {
                    predict::index::IndexSource::new(client.clone(), handle, target, as_of)
                })
                .with_context(|| format!("cannot predict `{name}`"))?;
            report.environments.extend(prediction);
            report.findings.extend(findings);
            if !self.offline {
                report.findings.extend(base_image_check(name, locked)?);
            }
        }
        Ok(report)
    }
}

/// The configuration a build in `locked`'s image sees (its `ENV`, `pip.conf`, `.condarc`),
/// with `unpredictable` findings when it is not or cannot be read.
fn builder_config(
    name: &str,
    locked: &crate::lockfile::Snapshot,
    offline: bool,
) -> (
    predict::image_config::BuilderConfig,
    Vec<crate::diag::Finding>,
) {
    // no image (a `--rootfs` lock): nothing to read, and no registry client to set up
    if predict::image_config::locked_image(locked).is_none() {
        return (predict::image_config::BuilderConfig::default(), Vec::new());
    }
    let platform = locked
        .image_platform
        .as_deref()
        .and_then(|p| p.parse().ok());
    let scanner =
        super::progress::scanner(&[], platform, true, crate::layer::Limits::default()).ok();
    predict::image_config::for_snapshot(name, locked, scanner.as_ref(), offline)
}

/// Whether the base image's tag still names the locked image: `base-image-moved` when not,
/// `unpredictable` when the registry cannot tell (nothing to check without a recorded
/// digest, or for a reference pinned by digest).
fn base_image_check(
    name: &str,
    locked: &crate::lockfile::Snapshot,
) -> anyhow::Result<Option<crate::diag::Finding>> {
    let (Some(reference), Some(_)) = (&locked.base_image, &locked.base_image_digest) else {
        return Ok(None);
    };
    let Ok(source) = reference.parse::<crate::model::ImageSource>() else {
        return Ok(None);
    };
    if reference.contains("@sha256:") {
        return Ok(None);
    }
    let platform = locked
        .image_platform
        .as_deref()
        .and_then(|p| p.parse().ok());
    let scanner = super::progress::scanner(&[], platform, true, crate::layer::Limits::default())?;
    Ok(match scanner.resolve(&source) {
        Ok(now) => predict::base_image_moved(name, locked, &now),
        Err(e) => Some(
            crate::diag::Finding::new(
                Code::Unpredictable,
                format!(
                    "`{name}`: whether the base image `{reference}` moved is unknown: {e} (`--offline` skips this check)"
                ),
            )
            .with_package(name),
        ),
    })
}

/// `--fail-on drift` for a prediction: predicted drift is the drift it is about.
pub(crate) fn predicted_drift_counts_as_drift(fail_on: &FailOn) -> FailOn {
    match fail_on {
        FailOn::Codes(codes) if codes.contains(&Code::Drift) => {
            let mut codes = codes.clone();
            codes.push(Code::PredictedDrift);
            FailOn::Codes(codes)
        }
        other => other.clone(),
    }
}
