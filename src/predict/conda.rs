//! The conda part of a prediction: the definition's conda list solved now, as
//! `conda env create` would, against the channels it names.
//!
//! Channels are mapped as conda maps them ([`ChannelConfig`]: `defaults`, the channel alias,
//! full URLs); each channel's `repodata.json` for the target's subdir and `noarch` is read
//! through the index client (the same HTTP cache, credentials and `--offline` rule), and the
//! specs are solved with [`crate::conda::solve`] (resolvo) with the channel priority of the
//! image's `.condarc` (else flexible, conda's default and what Azure ML's images use), for a
//! new environment (nothing installed).
//! The machine's virtual packages come from the target: `__glibc` from its C library,
//! `__linux`, `__unix`, `__archspec`.

use crate::conda::channel::{environment_channels, spec_channels};
use crate::conda::{
    Channel, ChannelConfig, ChannelPriority, ChannelRecords, Condarc, MatchSpec, Repodata,
    SolveError, SolveRequest, SolvedPackage, VirtualPackage,
};
use crate::definition::{DependencySpec, EnvDefinition};
use crate::lockfile::Snapshot;
use crate::model::Ecosystem;
use crate::pyindex::{IndexClient, IndexError};

use super::target::{Libc, Target};

/// The conda part of a definition, ready to solve.
#[derive(Clone, Debug)]
pub struct CondaPlan {
    /// The specs, as the definition lists them.
    pub specs: Vec<MatchSpec>,
    /// The channel names or URLs, highest priority first, as `conda env create` searches
    /// them (see [`plan`]).
    pub channels: Vec<String>,
    /// Entries the solver cannot read, as written.
    pub unpredictable: Vec<String>,
}

/// What the conda in the image has configured, for [`plan`].
#[derive(Clone, Debug, Default)]
pub struct Configured {
    /// The image's `.condarc` files and `CONDA_*` variables, merged as conda merges them.
    pub condarc: Condarc,
    /// Whether that conda searches `defaults` when no channels are configured (see
    /// [`crate::conda::channel::implicit_defaults`]).
    pub implicit_defaults: bool,
}

impl Configured {
    /// The configuration of the conda in `locked`'s image: `condarc` as read from the image,
    /// and the version of the `conda` package the snapshot records (the base image's, which
    /// runs the build, first); an unknown version counts as before 25.9.
    pub fn of(locked: &Snapshot, condarc: Condarc) -> Self {
        let conda = locked
            .packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Conda && p.name.as_str() == "conda")
            .min_by_key(|p| p.base != Some(true))
            .and_then(|p| p.version.parse::<crate::conda::Version>().ok());
        Configured {
            condarc,
            implicit_defaults: crate::conda::channel::implicit_defaults(conda.as_ref()),
        }
    }
}

/// The definition's conda list; `None` when it has none. Its channels are those `conda env
/// create` searches: the definition's own (`nodefaults` left out), then, unless it lists
/// `nodefaults`, the configured ones (the merged `.condarc`'s `channels`, else `defaults`
/// for a conda before 25.9), then those the specs name (`bioconda::samtools`), each once.
pub fn plan(def: &EnvDefinition, configured: &Configured) -> Option<CondaPlan> {
    if def.conda_dependencies.is_empty() {
        return None;
    }
    let mut specs = Vec::new();
    let mut unpredictable = Vec::new();
    for d in &def.conda_dependencies {
        match &d.spec {
            DependencySpec::Conda(m) => specs.push(m.clone()),
            _ => unpredictable.push(d.raw.clone()),
        }
    }
    let written: Vec<&str> = def.channels.iter().map(|c| c.name.as_str()).collect();
    let mut channels =
        environment_channels(&written, &configured.condarc, configured.implicit_defaults);
    for c in spec_channels(&specs) {
        if !channels.contains(&c) {
            channels.push(c);
        }
    }
    Some(CondaPlan {
        specs,
        channels,
        unpredictable,
    })
}

/// Why the channels cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ChannelReadError {
    /// A channel name does not map to a URL.
    #[error("channel `{name}`: {source}")]
    Channel {
        /// As written.
        name: String,
        /// Why.
        source: crate::conda::channel::ChannelError,
    },
    /// The repodata cannot be fetched.
    #[error(transparent)]
    Fetch(#[from] IndexError),
    /// The repodata does not read.
    #[error(transparent)]
    Repodata(#[from] crate::conda::repodata::RepodataError),
    /// Neither the target's subdir nor `noarch` exists on a channel.
    #[error("channel `{channel}` has no `{subdir}` or `noarch` repodata")]
    Missing {
        /// The channel (credentials removed).
        channel: String,
        /// The target's subdir.
        subdir: String,
    },
}

/// Every channel's repodata for the target's subdir and `noarch`, highest priority first.
pub async fn read_channels(
    client: &IndexClient,
    config: &ChannelConfig,
    names: &[String],
    subdir: &str,
) -> Result<Vec<(Channel, Vec<Repodata>)>, ChannelReadError> {
    let mut out: Vec<(Channel, Vec<Repodata>)> = Vec::new();
    for name in names {
        let channels = config
            .resolve(name)
            .map_err(|source| ChannelReadError::Channel {
                name: name.clone(),
                source,
            })?;
        for channel in channels {
            if out.iter().any(|(c, _)| *c == channel) {
                continue;
            }
            let mut subdirs = Vec::new();
            for s in crate::conda::channel::subdirs(subdir) {
                let url_text = channel.repodata_url(s);
                let url = reqwest::Url::parse(&url_text).map_err(|e| IndexError::InvalidUrl {
                    url: crate::conda::channel::redact(&url_text).to_string(),
                    message: e.to_string(),
                })?;
                if let Some(bytes) = client.fetch_file(&url, Repodata::DEFAULT_LIMIT).await? {
                    subdirs.push(Repodata::from_slice(&bytes, &url_text)?);
                }
            }
            if subdirs.is_empty() {
                return Err(ChannelReadError::Missing {
                    channel: channel.redacted().to_string(),
                    subdir: subdir.to_owned(),
                });
            }
            out.push((channel, subdirs));
        }
    }
    Ok(out)
}

/// The virtual packages of the target machine.
pub fn virtual_packages(target: &Target) -> Vec<VirtualPackage> {
    let v = |s: &str| s.parse::<crate::conda::Version>().ok();
    let mut out = vec![VirtualPackage::unix()];
    // the kernel of the machine the image runs on is unknown: any recent one
    out.extend(v("5.15").map(VirtualPackage::linux));
    if let Some(Libc::Glibc(major, minor)) = target.libc {
        out.extend(v(&format!("{major}.{minor}")).map(VirtualPackage::glibc));
    }
    out.push(VirtualPackage::archspec(&target.machine));
    out
}

/// Solves the plan on the channels read, for a new environment, with `priority` (conda's
/// default is flexible; an image's `.condarc` may say otherwise).
pub fn solve<'a>(
    plan: &CondaPlan,
    channels: &'a [(Channel, Vec<Repodata>)],
    config: &ChannelConfig,
    priority: ChannelPriority,
    target: &Target,
    exclude_newer: Option<u64>,
) -> Result<Vec<SolvedPackage<'a>>, SolveError> {
    let request = SolveRequest {
        specs: plan.specs.clone(),
        channels: channels
            .iter()
            .map(|(channel, repodata)| ChannelRecords {
                channel: channel.clone(),
                repodata: repodata.iter().collect(),
            })
            .collect(),
        channel_priority: priority,
        virtual_packages: virtual_packages(target),
        installed: Vec::new(),
        channel_config: config.clone(),
        exclude_newer,
    };
    crate::conda::solve(&request)
}
