//! `envaudit predict`: what a rebuild of each locked environment would install now, without
//! building it.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use super::args::FindingsArgs;
use super::error::Hinted;
use crate::diag::{Code, FailOn};
use crate::lockfile::Lockfile;
use crate::lockfile::store;
use crate::predict::{self, HostPipConfig, IndexSettings, Overrides, PredictReport};
use crate::pyindex::IndexClient;
use crate::render::{self, Format};

#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    /// Only these environments (default: every environment of the lockfile)
    env: Vec<String>,

    #[arg(long, value_name = "PATH", default_value = store::LOCKFILE)]
    lockfile: PathBuf,

    /// The primary package index, when the definition names none (default: `PyPI`)
    #[arg(long, value_name = "URL")]
    index_url: Option<String>,

    /// Another package index, after the definition's own
    #[arg(long, value_name = "URL")]
    extra_index_url: Vec<String>,

    /// A folder or flat HTML page of distributions, after the definition's own
    #[arg(long, value_name = "PATH|URL")]
    find_links: Vec<String>,

    /// Where conda channel names live (conda's `channel_alias`, default
    /// <https://conda.anaconda.org)>: `conda-forge` is then ALIAS/conda-forge; a local folder is
    /// accepted
    #[arg(long, value_name = "URL|DIR")]
    channel_alias: Option<String>,

    /// Also use this machine's `PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL` and `PIP_FIND_LINKS` (the
    /// builder does not see them, so by default they are ignored)
    #[arg(long)]
    use_host_config: bool,

    /// Predict from the HTTP cache alone; a page it lacks is an error naming it
    #[arg(long)]
    offline: bool,

    /// Only files uploaded by then (`2024-03-12` is the start of that day, UTC, or a full
    /// RFC 3339 time): what a rebuild at that time would have resolved, as far as the index
    /// dates its files
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,

    /// The Python to install for (default: the locked prefix's)
    #[arg(long, value_name = "VERSION")]
    python_version: Option<String>,

    /// The machine to install for (default: the image's, e.g. `x86_64`, aarch64)
    #[arg(long, value_name = "ARCH")]
    machine: Option<String>,

    /// The glibc to install for (default: the image's)
    #[arg(long, value_name = "VERSION")]
    glibc: Option<String>,

    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    #[command(flatten)]
    findings: FindingsArgs,
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

pub(crate) fn run(args: &PredictArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let config = args.findings.config()?;
    if !args.lockfile.exists() {
        return Err(Hinted::new(
            format!("`{}` does not exist", args.lockfile.display()),
            "predict compares with a lock: create it with `envaudit lock`, or name another with `--lockfile`",
        )
        .into());
    }
    let lockfile = Lockfile::load(&args.lockfile)?;
    let names: Vec<String> = if args.env.is_empty() {
        lockfile.environments.keys().cloned().collect()
    } else {
        args.env.clone()
    };
    let as_of = args.as_of.as_deref().map(parse_as_of).transpose()?;
    let overrides = Overrides {
        python: args.python_version.clone(),
        machine: args.machine.clone(),
        glibc: args.glibc.clone(),
    };
    let settings = IndexSettings {
        index_url: args.index_url.as_deref().map(local_or_url),
        extra_index_urls: args
            .extra_index_url
            .iter()
            .map(|u| local_or_url(u))
            .collect(),
        find_links: args.find_links.clone(),
        host: if args.use_host_config {
            HostPipConfig::from_env()
        } else {
            HostPipConfig::default()
        },
        offline: args.offline,
        cache_dir: crate::layer::LayerCache::default_dir().map(|d| d.join("index-v1")),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut channel_config = crate::conda::ChannelConfig::default();
    if let Some(alias) = &args.channel_alias {
        channel_config.channel_alias = local_or_url(alias);
    }
    let dir = store::lockfile_dir(&args.lockfile);
    let mut report = PredictReport {
        schema_version: predict::SCHEMA_VERSION,
        as_of: as_of.map(|t| t.to_string()),
        environments: Vec::new(),
        findings: Vec::new(),
    };
    for name in &names {
        let Some(locked) = lockfile.environments.get(name) else {
            return Err(Hinted::new(
                format!("`{name}` is not in `{}`", args.lockfile.display()),
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
        };
        let path = dir.join(&locked.definition);
        let def = crate::definition::load(&path, &crate::definition::LoadOptions::default())
            .with_context(|| {
                format!(
                    "cannot load the definition of `{name}`, `{}`",
                    path.display()
                )
            })?;
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
            config: channel_config.clone(),
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
    }
    config.apply(&mut report.findings);
    super::write_or_pipe(render::render_predict(&report, args.format, out))?;
    // `--fail-on drift`: predicted drift is the drift this command is about
    let fail_on = match &args.findings.fail_on {
        FailOn::Codes(codes) if codes.contains(&Code::Drift) => {
            let mut codes = codes.clone();
            codes.push(Code::PredictedDrift);
            FailOn::Codes(codes)
        }
        other => other.clone(),
    };
    Ok(if report.findings.iter().any(|f| fail_on.fails(f)) {
        Exit::Findings
    } else {
        Exit::Ok
    })
}
