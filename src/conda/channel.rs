//! conda channels: how a channel name becomes the URLs whose `repodata.json` a solver reads,
//! and the part of `.condarc` that decides it.
//!
//! # Names and URLs, as conda maps them
//!
//! - `conda-forge`, `bioconda`, `conda-forge/label/dev`: a name under the *channel alias*,
//!   `{channel_alias}/{name}` (the alias is `https://conda.anaconda.org` unless `.condarc`
//!   sets `channel_alias`), unless `custom_channels` names it (`{custom_channels[name]}/{name}`).
//! - `defaults`: the *default channels*, in order. conda on Linux and macOS uses
//!   `https://repo.anaconda.com/pkgs/main` and `https://repo.anaconda.com/pkgs/r` (on
//!   Windows it adds `https://repo.anaconda.com/pkgs/msys2`); `.condarc`'s
//!   `default_channels` replaces the list. A default channel is also known by its own name
//!   (`pkgs/main`).
//! - A URL (`https://host/path/chan`, `file:///srv/chan`) is used as it is; an absolute
//!   path (`/srv/chan`) is `file:///srv/chan`. A URL under the alias is named like a name
//!   (`https://conda.anaconda.org/conda-forge` is `conda-forge`); any other URL is named by
//!   itself. A trailing platform subdir (`…/conda-forge/linux-64`) is dropped.
//! - A MatchSpec's `channel::name` or `[channel=…]` is resolved the same way
//!   ([`ChannelConfig::resolve`]); conda also searches such channels, after the others
//!   ([`spec_channels`]). `nodefaults` in an environment file's `channels` means "do not
//!   append `.condarc`'s channels" ([`environment_channels`]).
//!
//! Each channel is read for two subdirs: the platform's (`linux-64`, `linux-aarch64`, …,
//! from [`platform_subdir`]) and `noarch` ([`subdirs`]).
//!
//! # `.condarc`
//!
//! [`Condarc::parse`] reads the keys that decide channels and priority: `channels`,
//! `channel_alias`, `default_channels`, `channel_priority` (`strict`, `flexible`,
//! `disabled`, or conda's old booleans: `true` is `flexible`, `false` is `disabled`) and
//! `custom_channels`. Other keys are ignored. A file is at most [`Condarc::MAX_LEN`] bytes;
//! the YAML reader's own budget bounds aliases and nesting. conda merges several files
//! (`/opt/conda/.condarc`, `~/.condarc`, `CONDA_*` variables); [`Condarc::merge`] lays a
//! later file over an earlier one key by key (conda appends lists instead, except where a
//! file marks a key `#!final`; envaudit does not model that).
//!
//! Credentials in channel URLs (`user:password@`, anaconda.org's `/t/<token>/`) never
//! appear in messages: [`redact`] hides them.

use super::matchspec::KNOWN_SUBDIRS;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::conda::MatchSpec;
use crate::conda::solve::ChannelPriority;
use crate::model::Platform;
use crate::model::RedactedUrl;

/// conda's default channel alias.
pub const DEFAULT_CHANNEL_ALIAS: &str = "https://conda.anaconda.org";

/// conda's default channels on Linux and macOS (`defaults`).
pub const DEFAULT_CHANNELS: &[&str] = &[
    "https://repo.anaconda.com/pkgs/main",
    "https://repo.anaconda.com/pkgs/r",
];

/// A resolved channel: its name and the base URL its subdirs live under.
///
/// Two channels are the same channel when their base URLs are equal.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Channel {
    base_url: String,
    name: String,
}

impl Channel {
    /// A channel at `base_url` (a trailing `/` is dropped) named `name`.
    pub fn new(name: &str, base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            name: name.to_owned(),
        }
    }

    /// The name conda records for it (`conda-forge`, `pkgs/main`, or the URL itself).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The base URL, without a trailing `/` (`https://conda.anaconda.org/conda-forge`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The URL of one subdir (`…/conda-forge/linux-64`), which [`Repodata`] takes.
    ///
    /// [`Repodata`]: crate::conda::Repodata
    pub fn subdir_url(&self, subdir: &str) -> String {
        format!("{}/{subdir}", self.base_url)
    }

    /// The URL of a subdir's `repodata.json` (add `.zst` for the compressed form).
    pub fn repodata_url(&self, subdir: &str) -> String {
        format!("{}/{subdir}/repodata.json", self.base_url)
    }

    /// The base URL with credentials hidden, for messages.
    pub fn redacted(&self) -> RedactedUrl {
        redact(&self.base_url)
    }
}

impl fmt::Display for Channel {
    /// The name, with credentials hidden when the name is a URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.contains("://") {
            write!(f, "{}", redact(&self.name))
        } else {
            f.write_str(&self.name)
        }
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Channel({self} at {})", self.redacted())
    }
}

/// A channel URL with its credentials hidden: `user:password@` and anaconda.org's
/// `/t/<token>/` become `****`, and the query is dropped.
pub fn redact(url: &str) -> RedactedUrl {
    match url.find("/t/") {
        Some(at) => {
            let rest = &url[at + 3..];
            let end = rest.find('/').unwrap_or(rest.len());
            RedactedUrl::new(&format!("{}/t/****{}", &url[..at], &rest[end..]))
        }
        None => RedactedUrl::new(url),
    }
}

/// Why a channel name could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The name is empty.
    #[error("empty channel name")]
    Empty,
    /// The name has characters no channel name has.
    #[error("invalid channel name `{name}`: white space, `::` and `\\` are not allowed")]
    Invalid {
        /// The name as written.
        name: String,
    },
}

/// How channel names become URLs (see the module documentation): conda's defaults, or
/// what a `.condarc` says ([`Condarc::config`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelConfig {
    /// The URL a bare channel name goes under.
    pub channel_alias: String,
    /// What `defaults` means, in priority order.
    pub default_channels: Vec<String>,
    /// Channel name → the base URL it lives under (the name is appended).
    pub custom_channels: BTreeMap<String, String>,
}

impl Default for ChannelConfig {
    /// conda's own defaults on Linux.
    fn default() -> Self {
        Self {
            channel_alias: DEFAULT_CHANNEL_ALIAS.to_owned(),
            default_channels: DEFAULT_CHANNELS.iter().map(|&s| s.to_owned()).collect(),
            custom_channels: BTreeMap::new(),
        }
    }
}

impl ChannelConfig {
    /// The channels one name stands for: several for `defaults`, one otherwise.
    pub fn resolve(&self, text: &str) -> Result<Vec<Channel>, ChannelError> {
        let text = text.trim();
        if text == "defaults" {
            return self
                .default_channels
                .iter()
                .map(|c| self.resolve_one(c))
                .collect();
        }
        self.resolve_one(text).map(|c| vec![c])
    }

    /// The channels of a priority-ordered list of names, `defaults` expanded, each channel
    /// kept at its first place (conda's order).
    pub fn resolve_all<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<Channel>, ChannelError> {
        let mut out: Vec<Channel> = Vec::new();
        for name in names {
            for channel in self.resolve(name.as_ref())? {
                if !out.iter().any(|c| c.base_url == channel.base_url) {
                    out.push(channel);
                }
            }
        }
        Ok(out)
    }

    fn alias(&self) -> &str {
        self.channel_alias.trim_end_matches('/')
    }

    fn resolve_one(&self, text: &str) -> Result<Channel, ChannelError> {
        let text = text.trim().trim_end_matches('/');
        if text.is_empty() {
            return Err(ChannelError::Empty);
        }
        if text.contains(char::is_whitespace) || text.contains("::") || text.contains('\\') {
            return Err(ChannelError::Invalid {
                name: text.to_owned(),
            });
        }
        let text = strip_subdir(text);
        let url = if text.contains("://") {
            text.to_owned()
        } else if text.starts_with('/') {
            format!("file://{text}")
        } else {
            return Ok(self.named(text));
        };
        // A URL under the alias, or one of the default channels, has a name.
        let alias = self.alias();
        if let Some(name) = url
            .strip_prefix(alias)
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|n| !n.is_empty())
        {
            // anaconda.org's token (`t/<token>/channel`) is not part of the name.
            let name = name
                .strip_prefix("t/")
                .and_then(|rest| rest.split_once('/'))
                .map_or(name, |(_, channel)| channel);
            return Ok(Channel::new(name, &url));
        }
        if let Some(default) = self
            .default_channels
            .iter()
            .find(|d| d.trim_end_matches('/') == url)
        {
            return Ok(Channel::new(&default_name(default), &url));
        }
        for (name, base) in &self.custom_channels {
            if url == format!("{}/{name}", base.trim_end_matches('/')) {
                return Ok(Channel::new(name, &url));
            }
        }
        Ok(Channel::new(&url, &url))
    }

    /// A bare name: a custom channel, a default channel's own name, or under the alias.
    fn named(&self, name: &str) -> Channel {
        if let Some(base) = self.custom_channels.get(name) {
            return Channel::new(name, &format!("{}/{name}", base.trim_end_matches('/')));
        }
        if let Some(default) = self
            .default_channels
            .iter()
            .find(|d| default_name(d) == name)
        {
            return Channel::new(name, default);
        }
        Channel::new(name, &format!("{}/{name}", self.alias()))
    }
}

/// The name of a default channel: its URL path (`https://repo.anaconda.com/pkgs/main` is
/// `pkgs/main`).
fn default_name(url: &str) -> String {
    let url = url.trim_end_matches('/');
    match url.split_once("://") {
        Some((_, rest)) => rest
            .split_once('/')
            .map_or(rest, |(_, path)| path)
            .to_owned(),
        None => url.to_owned(),
    }
}

/// `…/chan/linux-64` → `…/chan`.
fn strip_subdir(text: &str) -> &str {
    match text.rsplit_once('/') {
        Some((base, last)) if KNOWN_SUBDIRS.contains(&last) && !base.is_empty() => base,
        _ => text,
    }
}

/// conda's subdir for an image platform (`linux/amd64` is `linux-64`, `linux/arm64` is
/// `linux-aarch64`), or `None` for a platform conda has no subdir for.
pub fn platform_subdir(platform: &Platform) -> Option<&'static str> {
    let subdir = match (
        platform.os(),
        platform.architecture(),
        platform.variant().unwrap_or(""),
    ) {
        ("linux", "amd64", _) => "linux-64",
        ("linux", "arm64", _) => "linux-aarch64",
        ("linux", "ppc64le", _) => "linux-ppc64le",
        ("linux", "s390x", _) => "linux-s390x",
        ("linux", "riscv64", _) => "linux-riscv64",
        ("linux", "386", _) => "linux-32",
        ("linux", "arm", "v7") => "linux-armv7l",
        ("linux", "arm", "v6") => "linux-armv6l",
        ("windows", "amd64", _) => "win-64",
        ("darwin", "amd64", _) => "osx-64",
        ("darwin", "arm64", _) => "osx-arm64",
        _ => return None,
    };
    Some(subdir)
}

/// The subdirs conda reads for a platform subdir: that one, then `noarch`.
pub fn subdirs(platform_subdir: &str) -> [&str; 2] {
    [platform_subdir, "noarch"]
}

/// The channels `conda env create` searches for an environment file: the file's
/// `channels` (without `nodefaults`), then, unless the file lists `nodefaults`, the
/// configured channels (`.condarc`'s `channels`, which conda defaults to `[defaults]`).
/// Resolve the names with [`ChannelConfig::resolve_all`].
pub fn environment_channels<S: AsRef<str>>(file: &[S], condarc: &Condarc) -> Vec<String> {
    let mut out: Vec<String> = file
        .iter()
        .map(|c| c.as_ref().trim().to_owned())
        .filter(|c| c != "nodefaults")
        .collect();
    if !file.iter().any(|c| c.as_ref().trim() == "nodefaults") {
        match &condarc.channels {
            Some(channels) => out.extend(channels.iter().cloned()),
            None => out.push("defaults".to_owned()),
        }
    }
    out
}

/// The channels the specs name (`conda-forge::numpy`, `numpy[channel=bioconda]`), in order
/// of first appearance. conda searches them too, after the environment's channels: append
/// them to [`environment_channels`] before resolving.
pub fn spec_channels(specs: &[MatchSpec]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for channel in specs.iter().filter_map(|s| s.channel.as_deref()) {
        if !out.iter().any(|c| c == channel) {
            out.push(channel.to_owned());
        }
    }
    out
}

/// The channel settings of a `.condarc` (see the module documentation). A key the file
/// does not set is `None` (or empty), so that files can be merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Condarc {
    /// `channels`: the configured channels, in priority order.
    pub channels: Option<Vec<String>>,
    /// `channel_alias`.
    pub channel_alias: Option<String>,
    /// `default_channels`: what `defaults` means.
    pub default_channels: Option<Vec<String>>,
    /// `channel_priority`.
    pub channel_priority: Option<ChannelPriority>,
    /// `custom_channels`: channel name → base URL.
    pub custom_channels: BTreeMap<String, String>,
}

/// Why a `.condarc` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CondarcError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`Condarc::MAX_LEN`].
    #[error("`.condarc` is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The YAML is malformed, or a key has the wrong type.
    #[error("`.condarc`, line {line}, column {column}: {message}")]
    Yaml {
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
        /// What is wrong there.
        message: String,
    },
}

/// The wire shape of the keys envaudit reads.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CondarcWire {
    channels: Option<Vec<String>>,
    channel_alias: Option<String>,
    default_channels: Option<Vec<String>>,
    channel_priority: Option<Spanned<PriorityWire>>,
    custom_channels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PriorityWire {
    Bool(bool),
    Text(String),
}

impl Condarc {
    /// The largest `.condarc` read: 1 MiB.
    pub const MAX_LEN: usize = 1 << 20;

    /// Reads `.condarc` text.
    pub fn parse(text: &str) -> Result<Self, CondarcError> {
        if text.len() > Self::MAX_LEN {
            return Err(CondarcError::TooLarge {
                limit: Self::MAX_LEN,
            });
        }
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let options = serde_saphyr::options! {
            duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        };
        let yaml_error = |e: &serde_saphyr::Error, message: String| {
            let (line, column) = e.location().map_or((1, 1), |l| {
                (
                    usize::try_from(l.line()).unwrap_or(1).max(1),
                    usize::try_from(l.column()).unwrap_or(1).max(1),
                )
            });
            CondarcError::Yaml {
                line,
                column,
                message,
            }
        };
        let wire: Option<CondarcWire> = serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| {
                let rendered = e.without_snippet().to_string();
                let first = rendered.lines().next().unwrap_or("invalid YAML");
                let message = first.trim_start_matches("error: ");
                let message = message
                    .rfind(" at line ")
                    .map_or(message, |at| &message[..at]);
                yaml_error(&e, message.to_owned())
            })?;
        let wire = wire.unwrap_or_default();
        let channel_priority = match wire.channel_priority {
            None => None,
            Some(spanned) => Some(match spanned.value {
                PriorityWire::Bool(true) => ChannelPriority::Flexible,
                PriorityWire::Bool(false) => ChannelPriority::Disabled,
                PriorityWire::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                    "strict" => ChannelPriority::Strict,
                    "flexible" | "true" => ChannelPriority::Flexible,
                    "disabled" | "false" => ChannelPriority::Disabled,
                    other => {
                        let at = spanned.referenced;
                        return Err(CondarcError::Yaml {
                            line: usize::try_from(at.line()).unwrap_or(1).max(1),
                            column: usize::try_from(at.column()).unwrap_or(1).max(1),
                            message: format!(
                                "unknown channel_priority `{other}`; expected `strict`, `flexible` or `disabled`"
                            ),
                        });
                    }
                },
            }),
        };
        Ok(Self {
            channels: wire.channels,
            channel_alias: wire.channel_alias,
            default_channels: wire.default_channels,
            channel_priority,
            custom_channels: wire.custom_channels.unwrap_or_default(),
        })
    }

    /// Reads a `.condarc` file.
    pub fn load(path: &Path) -> Result<Self, CondarcError> {
        let read_error = |source| CondarcError::Read {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_error)?;
        if meta.len() > Self::MAX_LEN as u64 {
            return Err(CondarcError::TooLarge {
                limit: Self::MAX_LEN,
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        Self::parse(&text)
    }

    /// `later` laid over `self`: each key `later` sets replaces this one's;
    /// `custom_channels` entries are merged.
    #[must_use]
    pub fn merge(mut self, later: Condarc) -> Condarc {
        self.channels = later.channels.or(self.channels);
        self.channel_alias = later.channel_alias.or(self.channel_alias);
        self.default_channels = later.default_channels.or(self.default_channels);
        self.channel_priority = later.channel_priority.or(self.channel_priority);
        self.custom_channels.extend(later.custom_channels);
        self
    }

    /// The channel mapping this file sets up, over conda's defaults.
    pub fn config(&self) -> ChannelConfig {
        let mut config = ChannelConfig::default();
        if let Some(alias) = &self.channel_alias {
            alias
                .trim_end_matches('/')
                .clone_into(&mut config.channel_alias);
        }
        if let Some(defaults) = &self.default_channels {
            config.default_channels.clone_from(defaults);
        }
        config.custom_channels = self.custom_channels.clone();
        config
    }

    /// The channel priority, conda's default (`flexible`) when the file does not set it.
    pub fn priority(&self) -> ChannelPriority {
        self.channel_priority.unwrap_or(ChannelPriority::Flexible)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(config: &ChannelConfig, name: &str) -> Vec<String> {
        config
            .resolve(name)
            .unwrap()
            .iter()
            .map(|c| format!("{} {}", c.name(), c.base_url()))
            .collect()
    }

    #[test]
    fn names_map_as_conda_maps_them() {
        let c = ChannelConfig::default();
        assert_eq!(
            urls(&c, "conda-forge"),
            ["conda-forge https://conda.anaconda.org/conda-forge"]
        );
        assert_eq!(
            urls(&c, "defaults"),
            [
                "pkgs/main https://repo.anaconda.com/pkgs/main",
                "pkgs/r https://repo.anaconda.com/pkgs/r"
            ]
        );
        assert_eq!(
            urls(&c, "pkgs/main"),
            ["pkgs/main https://repo.anaconda.com/pkgs/main"]
        );
        assert_eq!(
            urls(&c, "https://conda.anaconda.org/conda-forge/"),
            ["conda-forge https://conda.anaconda.org/conda-forge"]
        );
        assert_eq!(
            urls(&c, "conda-forge/label/dev"),
            ["conda-forge/label/dev https://conda.anaconda.org/conda-forge/label/dev"]
        );
        assert_eq!(
            urls(&c, "https://conda.anaconda.org/conda-forge/linux-64"),
            ["conda-forge https://conda.anaconda.org/conda-forge"]
        );
        assert_eq!(
            urls(&c, "https://example.com/chan"),
            ["https://example.com/chan https://example.com/chan"]
        );
        assert_eq!(urls(&c, "/srv/chan"), ["file:///srv/chan file:///srv/chan"]);
        assert_eq!(
            urls(&c, "file:///srv/chan"),
            ["file:///srv/chan file:///srv/chan"]
        );
        assert_eq!(c.resolve(" "), Err(ChannelError::Empty));
        assert!(matches!(
            c.resolve("a b"),
            Err(ChannelError::Invalid { .. })
        ));
    }

    #[test]
    fn condarc_sets_alias_defaults_and_custom_channels() {
        let rc = Condarc::parse(
            "channels:\n  - conda-forge\n  - defaults\nchannel_alias: https://mirror.example/conda/\n\
             default_channels:\n  - https://mirror.example/pkgs/main\n\
             custom_channels:\n  internal: https://artifacts.example/conda\n\
             channel_priority: strict\nssl_verify: false\n",
        )
        .unwrap();
        assert_eq!(rc.priority(), ChannelPriority::Strict);
        let config = rc.config();
        let names = environment_channels(&["internal", "conda-forge"], &rc);
        assert_eq!(
            names,
            ["internal", "conda-forge", "conda-forge", "defaults"]
        );
        let resolved: Vec<String> = config
            .resolve_all(&names)
            .unwrap()
            .iter()
            .map(|c| format!("{} {}", c.name(), c.base_url()))
            .collect();
        assert_eq!(
            resolved,
            [
                "internal https://artifacts.example/conda/internal",
                "conda-forge https://mirror.example/conda/conda-forge",
                "pkgs/main https://mirror.example/pkgs/main",
            ]
        );
        assert_eq!(
            urls(&config, "https://mirror.example/conda/bioconda"),
            ["bioconda https://mirror.example/conda/bioconda"]
        );
    }

    #[test]
    fn spec_channels_come_in_order_once() {
        let specs: Vec<MatchSpec> = [
            "bioconda::samtools",
            "numpy",
            "conda-forge::scipy",
            "bioconda::bwa",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(spec_channels(&specs), ["bioconda", "conda-forge"]);
    }

    #[test]
    fn nodefaults_drops_the_configured_channels() {
        let rc = Condarc::default();
        assert_eq!(
            environment_channels(&["conda-forge"], &rc),
            ["conda-forge", "defaults"]
        );
        assert_eq!(
            environment_channels(&["conda-forge", "nodefaults"], &rc),
            ["conda-forge"]
        );
    }

    #[test]
    fn priority_accepts_conda_booleans_and_defaults_to_flexible() {
        let p = |t: &str| Condarc::parse(t).unwrap().priority();
        assert_eq!(p(""), ChannelPriority::Flexible);
        assert_eq!(p("channel_priority: true"), ChannelPriority::Flexible);
        assert_eq!(p("channel_priority: false"), ChannelPriority::Disabled);
        assert_eq!(p("channel_priority: disabled"), ChannelPriority::Disabled);
        assert_eq!(p("channel_priority: Flexible"), ChannelPriority::Flexible);
    }

    #[test]
    fn condarc_errors_point_at_the_input() {
        let cases = [
            "channels: conda-forge",
            "channels:\n  - [a\n",
            "channel_priority: sometimes",
            "custom_channels: [1]",
        ];
        let out: Vec<String> = cases
            .iter()
            .map(|c| Condarc::parse(c).unwrap_err().to_string())
            .collect();
        insta::assert_snapshot!(out.join("\n"), @r"
        `.condarc`, line 1, column 11: expected sequence start
        `.condarc`, line 2, column 5: unclosed bracket '['
        `.condarc`, line 1, column 19: unknown channel_priority `sometimes`; expected `strict`, `flexible` or `disabled`
        `.condarc`, line 1, column 18: expected mapping start
        ");
        let big = "#".repeat(Condarc::MAX_LEN + 1);
        assert!(matches!(
            Condarc::parse(&big),
            Err(CondarcError::TooLarge { .. })
        ));
    }

    #[test]
    fn merge_lays_later_files_over_earlier_ones() {
        let system = Condarc::parse("channels: [defaults]\nchannel_priority: strict\n").unwrap();
        let user = Condarc::parse("channels: [conda-forge]\n").unwrap();
        let merged = system.merge(user);
        assert_eq!(merged.channels.unwrap(), ["conda-forge"]);
        assert_eq!(merged.channel_priority, Some(ChannelPriority::Strict));
    }

    #[test]
    fn credentials_never_show() {
        let c = ChannelConfig::default();
        let ch = &c
            .resolve("https://bob:hunter2@host.example/t/tk-123/private")
            .unwrap()[0];
        let shown = format!("{ch} {ch:?} {}", ch.redacted());
        assert!(
            !shown.contains("hunter2") && !shown.contains("tk-123"),
            "{shown}"
        );
        let private = &c
            .resolve("https://conda.anaconda.org/t/tk-123/private")
            .unwrap()[0];
        assert_eq!(private.name(), "private");
        assert_eq!(
            private.base_url(),
            "https://conda.anaconda.org/t/tk-123/private"
        );
        assert_eq!(
            redact("https://conda.anaconda.org/t/abc/chan/linux-64").as_str(),
            "https://conda.anaconda.org/t/****/chan/linux-64"
        );
    }

    #[test]
    fn platforms_map_to_subdirs() {
        let p =
            |os: &str, arch: &str, v: Option<&str>| platform_subdir(&Platform::new(os, arch, v));
        assert_eq!(p("linux", "amd64", None), Some("linux-64"));
        assert_eq!(p("linux", "arm64", Some("v8")), Some("linux-aarch64"));
        assert_eq!(p("linux", "arm", Some("v7")), Some("linux-armv7l"));
        assert_eq!(p("plan9", "amd64", None), None);
        assert_eq!(subdirs("linux-64"), ["linux-64", "noarch"]);
    }
}
