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
//!   ([`spec_channels`]).
//! - `conda env create` searches the environment file's `channels` first, then the
//!   configured channels (`.condarc`'s merged `channels`) unless the file lists `nodefaults`
//!   ([`environment_channels`]). With no channels configured, conda before 25.9 searches
//!   `defaults`; from 25.9 on, nothing more ([`implicit_defaults`]).
//!
//! Each channel is read for two subdirs: the platform's (`linux-64`, `linux-aarch64`, …,
//! from [`platform_subdir`]) and `noarch` ([`subdirs`]).
//!
//! # `.condarc`
//!
//! [`Condarc::parse`] reads the keys that decide channels and priority: `channels` (or its
//! alias `channel`), `channel_alias`, `default_channels`, `channel_priority` (`strict`,
//! `flexible`, `disabled`, or conda's old booleans: `true` is `flexible`, `false` is
//! `disabled`) and `custom_channels`, with conda's priority flags: a key marked `#!final`
//! at the end of its line, a list entry marked `#!top` or `#!bottom`, a `custom_channels`
//! entry marked `#!final`. Other keys are ignored. A file is at most [`Condarc::MAX_LEN`]
//! bytes; the YAML reader's own budget bounds aliases and nesting. [`Condarc::from_env`]
//! reads the same keys from `CONDA_*` variables.
//!
//! conda reads every file on its search path, then its `CONDA_*` variables, and merges them
//! key by key ([`Condarc::merge_all`], as conda's `common/configuration.py` does):
//!
//! - A key marked `#!final` in one source hides it in every later source.
//! - A single value (`channel_alias`, `channel_priority`): the last source's.
//! - A list (`channels`, `default_channels`): the sources' lists concatenated, the later
//!   source first, each entry kept at its first place; entries marked `#!top` go first (in
//!   source order), entries marked `#!bottom` last.
//! - A map (`custom_channels`): the entries of every source, a later source's value for a
//!   name winning unless an earlier source marked that entry `#!final`.
//!
//! Credentials in channel URLs (`user:password@`, anaconda.org's `/t/<token>/`) never
//! appear in messages: [`redact`] hides them.

use super::matchspec::KNOWN_SUBDIRS;
use std::collections::{BTreeMap, BTreeSet};
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

/// Whether conda searches `defaults` when nothing configures `channels`: conda before 25.9
/// does (from 24.9 on with a deprecation warning); 25.9 and later search only what is
/// configured or given. An unknown version counts as before 25.9, which Azure ML's images
/// ship (conda 23 and 24).
pub fn implicit_defaults(conda_version: Option<&crate::conda::Version>) -> bool {
    let Ok(removed) = "25.9".parse::<crate::conda::Version>() else {
        return true;
    };
    conda_version.is_none_or(|v| *v < removed)
}

/// The channels `conda env create` searches for an environment file: the file's
/// `channels` (without `nodefaults`), then, unless the file lists `nodefaults`, the
/// configured channels (`condarc`'s merged `channels`), or `defaults` when none are
/// configured and `implicit_defaults` (see [`implicit_defaults`]). Resolve the names with
/// [`ChannelConfig::resolve_all`], which keeps each channel at its first place.
pub fn environment_channels<S: AsRef<str>>(
    file: &[S],
    condarc: &Condarc,
    implicit_defaults: bool,
) -> Vec<String> {
    let mut out: Vec<String> = file
        .iter()
        .map(|c| c.as_ref().trim().to_owned())
        .filter(|c| c != "nodefaults")
        .collect();
    if !file.iter().any(|c| c.as_ref().trim() == "nodefaults") {
        match condarc.channels.as_deref() {
            Some(configured) if !configured.is_empty() => out.extend(configured.iter().cloned()),
            _ if implicit_defaults => out.push("defaults".to_owned()),
            _ => {}
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

/// A priority flag of conda's configuration: a comment at the end of a key's or an entry's
/// line, `#!final`, `#!top` or `#!bottom`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigFlag {
    /// On a key: later sources cannot change it. On a map entry: later sources cannot
    /// change that entry.
    Final,
    /// On a list entry: it goes first in the merged list.
    Top,
    /// On a list entry: it goes last in the merged list.
    Bottom,
}

impl ConfigFlag {
    /// The flag a comment holds (`#!final`, as conda reads it: the comment without its `#`
    /// and `!` characters at either end is the flag's name), or `None`.
    fn of_comment(comment: &str) -> Option<Self> {
        match comment.trim().trim_matches(['#', '!']) {
            "final" => Some(ConfigFlag::Final),
            "top" => Some(ConfigFlag::Top),
            "bottom" => Some(ConfigFlag::Bottom),
            _ => None,
        }
    }
}

/// The priority flags of one configuration source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CondarcFlags {
    /// The keys marked `#!final`, by their canonical names (`channels`, `channel_alias`,
    /// `default_channels`, `channel_priority`, `custom_channels`).
    pub final_keys: BTreeSet<String>,
    /// The `#!top` or `#!bottom` of each `channels` entry, in order; empty when no entry is
    /// flagged, or when the list is not written one entry a line.
    pub channels: Vec<Option<ConfigFlag>>,
    /// The same for `default_channels`.
    pub default_channels: Vec<Option<ConfigFlag>>,
    /// The `custom_channels` names marked `#!final`.
    pub final_custom_channels: BTreeSet<String>,
}

/// The channel settings of one configuration source (a `.condarc`, or the `CONDA_*`
/// variables), or of several merged (see the module documentation). A key the source does
/// not set is `None` (or empty).
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
    /// The source's `#!final`, `#!top` and `#!bottom` flags ([`Condarc::merge_all`] uses
    /// them up; a merged value has none).
    pub flags: CondarcFlags,
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
    #[serde(alias = "channel")]
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

/// `strict`, `flexible`, `disabled`, or conda's booleans (`true` is `flexible`, `false`
/// `disabled`), in any case.
fn priority_of(text: &str) -> Option<ChannelPriority> {
    match text.trim().to_ascii_lowercase().as_str() {
        "strict" => Some(ChannelPriority::Strict),
        "flexible" | "true" => Some(ChannelPriority::Flexible),
        "disabled" | "false" => Some(ChannelPriority::Disabled),
        _ => None,
    }
}

/// A configuration key as conda names it (`channel` is an alias of `channels`).
fn canonical_key(key: &str) -> &str {
    match key {
        "channel" => "channels",
        other => other,
    }
}

/// `key: rest` of a mapping line: the key (unquoted) and what follows the `:`.
fn split_key(line: &str) -> Option<(&str, &str)> {
    let at = line
        .char_indices()
        .find(|&(i, c)| c == ':' && line[i + 1..].chars().next().is_none_or(char::is_whitespace))
        .map(|(i, _)| i)?;
    let key = line[..at].trim().trim_matches(['"', '\'']);
    (!key.is_empty()).then(|| (key, &line[at + 1..]))
}

/// The comment at the end of a YAML value (`rest` is the text after a key's `:` or an
/// entry's `-`): from a `#` that starts the text or follows white space, outside a quoted
/// scalar.
fn trailing_comment(rest: &str) -> Option<&str> {
    let value = rest.trim_start();
    let start = rest.len() - value.len();
    // a quoted scalar may hold ` #`: the comment starts after its closing quote
    let skip = match value.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let mut end = None;
            let mut chars = value.char_indices().skip(1).peekable();
            while let Some((i, c)) = chars.next() {
                if q == '"' && c == '\\' {
                    chars.next();
                } else if c == q {
                    if q == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                        chars.next();
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                }
            }
            end?
        }
        _ => 0,
    };
    let tail = &rest[start + skip..];
    let mut previous_blank = start > 0 || skip > 0;
    for (i, c) in tail.char_indices() {
        if c == '#' && (previous_blank || (i == 0 && skip == 0)) {
            return Some(&tail[i..]);
        }
        previous_blank = c.is_whitespace();
    }
    None
}

/// The priority flags of `.condarc` text, read from its lines: a top-level key's line, a
/// block-list entry's line (`- conda-forge  #!top`), a `custom_channels` entry's line.
fn scan_flags(text: &str) -> CondarcFlags {
    let mut flags = CondarcFlags::default();
    let mut key: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let indented = trimmed.len() != line.len();
        let entry = trimmed
            .strip_prefix('-')
            .filter(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace));
        if !indented && entry.is_none() {
            key = split_key(trimmed).map(|(k, _)| canonical_key(k).to_owned());
            if let Some((k, rest)) = split_key(trimmed)
                && trailing_comment(rest).and_then(ConfigFlag::of_comment)
                    == Some(ConfigFlag::Final)
            {
                flags.final_keys.insert(canonical_key(k).to_owned());
            }
            continue;
        }
        let flag = |rest: &str| trailing_comment(rest).and_then(ConfigFlag::of_comment);
        match (key.as_deref(), entry) {
            (Some("channels"), Some(rest)) => flags
                .channels
                .push(flag(rest).filter(|f| *f != ConfigFlag::Final)),
            (Some("default_channels"), Some(rest)) => flags
                .default_channels
                .push(flag(rest).filter(|f| *f != ConfigFlag::Final)),
            (Some("custom_channels"), None) => {
                if let Some((name, rest)) = split_key(trimmed)
                    && flag(rest) == Some(ConfigFlag::Final)
                {
                    flags.final_custom_channels.insert(name.to_owned());
                }
            }
            _ => {}
        }
    }
    flags
}

/// Each source that counts for `key`: those that set it, up to and including the first
/// that marks it `#!final`.
fn counting<'a>(
    sources: &'a [Condarc],
    key: &str,
    sets: impl Fn(&Condarc) -> bool,
) -> Vec<&'a Condarc> {
    let mut out = Vec::new();
    for s in sources.iter().filter(|s| sets(s)) {
        out.push(s);
        if s.flags.final_keys.contains(key) {
            break;
        }
    }
    out
}

/// Each entry once, at its first place.
fn first_places<'a>(entries: impl IntoIterator<Item = &'a String>) -> Vec<&'a String> {
    let mut out: Vec<&String> = Vec::new();
    for e in entries {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// A list key merged over the sources that count (see the module documentation).
fn merge_list<'a>(
    sources: &[&'a Condarc],
    list: fn(&Condarc) -> Option<&Vec<String>>,
    flags: fn(&Condarc) -> &Vec<Option<ConfigFlag>>,
) -> Option<Vec<String>> {
    if sources.is_empty() {
        return None;
    }
    let entries = |s: &'a Condarc| -> &'a [String] { list(s).map_or(&[], Vec::as_slice) };
    let flagged = |s: &'a Condarc, want: ConfigFlag| -> Vec<&'a String> {
        entries(s)
            .iter()
            .zip(flags(s))
            .filter(|(_, f)| **f == Some(want))
            .map(|(e, _)| e)
            .collect()
    };
    // the top entries in source order, then every entry, the later source first
    let top = sources.iter().flat_map(|s| flagged(s, ConfigFlag::Top));
    let firsts = first_places(top.chain(sources.iter().rev().flat_map(|s| entries(s))));
    // the bottom entries go last, an earlier source's after a later one's; each entry at
    // its last place
    let bottom: Vec<&String> = sources
        .iter()
        .rev()
        .flat_map(|s| flagged(s, ConfigFlag::Bottom))
        .collect();
    let mut lasts = first_places(bottom.into_iter().rev().chain(firsts.into_iter().rev()));
    lasts.reverse();
    Some(lasts.into_iter().cloned().collect())
}

impl Condarc {
    /// The largest `.condarc` read: 1 MiB.
    pub const MAX_LEN: usize = 1 << 20;

    /// Reads `.condarc` text, with its priority flags.
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
                PriorityWire::Text(t) => priority_of(&t).ok_or_else(|| {
                    let at = spanned.referenced;
                    CondarcError::Yaml {
                        line: usize::try_from(at.line()).unwrap_or(1).max(1),
                        column: usize::try_from(at.column()).unwrap_or(1).max(1),
                        message: format!(
                            "unknown channel_priority `{}`; expected `strict`, `flexible` or `disabled`",
                            t.trim().to_ascii_lowercase()
                        ),
                    }
                })?,
            }),
        };
        let mut flags = scan_flags(text);
        // entry flags only where the lines were the list's entries, one each
        let entries = |list: &Option<Vec<String>>| list.as_ref().map_or(0, Vec::len);
        if flags.channels.len() != entries(&wire.channels)
            || flags.channels.iter().all(Option::is_none)
        {
            flags.channels.clear();
        }
        if flags.default_channels.len() != entries(&wire.default_channels)
            || flags.default_channels.iter().all(Option::is_none)
        {
            flags.default_channels.clear();
        }
        let custom_channels = wire.custom_channels.unwrap_or_default();
        flags
            .final_custom_channels
            .retain(|name| custom_channels.contains_key(name));
        Ok(Self {
            channels: wire.channels,
            channel_alias: wire.channel_alias,
            default_channels: wire.default_channels,
            channel_priority,
            custom_channels,
            flags,
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

    /// The settings of conda's `CONDA_*` variables among `vars` (an environment as `NAME`,
    /// value pairs): `CONDA_CHANNELS` (or `CONDA_CHANNEL`) and `CONDA_DEFAULT_CHANNELS`,
    /// comma-separated; `CONDA_CHANNEL_ALIAS`; `CONDA_CHANNEL_PRIORITY`. A value with
    /// `!important` marks its key `#!final`, as conda reads it (for a list, conda also
    /// leaves the text in the last entry, where it names no channel; envaudit drops it). A
    /// priority that does not read is left out, and named in the second value.
    pub fn from_env<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> (Self, Vec<String>) {
        let mut out = Condarc::default();
        let mut problems = Vec::new();
        for (name, value) in vars {
            let Some(key) = name.strip_prefix("CONDA_") else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            let key = canonical_key(&key);
            let (value, important) = match value.split_once("!important") {
                Some((before, _)) => (before, true),
                None => (value, false),
            };
            let list = || -> Vec<String> {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            match key {
                "channels" => out.channels = Some(list()),
                "default_channels" => out.default_channels = Some(list()),
                "channel_alias" => out.channel_alias = Some(value.trim().to_owned()),
                "channel_priority" => {
                    let Some(p) = priority_of(value) else {
                        problems.push(format!(
                            "`{name}` `{}` is not `strict`, `flexible` or `disabled`",
                            value.trim()
                        ));
                        continue;
                    };
                    out.channel_priority = Some(p);
                }
                _ => continue,
            }
            if important {
                out.flags.final_keys.insert(key.to_owned());
            }
        }
        (out, problems)
    }

    /// The settings of several sources, in conda's order (its search path's files, then
    /// the `CONDA_*` variables), merged as conda merges them (see the module
    /// documentation). The result has no flags.
    #[must_use]
    pub fn merge_all(sources: &[Condarc]) -> Condarc {
        let last = |key: &str, sets: &dyn Fn(&Condarc) -> bool| -> Option<&Condarc> {
            counting(sources, key, sets).last().copied()
        };
        let channels = merge_list(
            &counting(sources, "channels", |s| s.channels.is_some()),
            |s| s.channels.as_ref(),
            |s| &s.flags.channels,
        );
        let default_channels = merge_list(
            &counting(sources, "default_channels", |s| {
                s.default_channels.is_some()
            }),
            |s| s.default_channels.as_ref(),
            |s| &s.flags.default_channels,
        );
        let mut custom_channels = BTreeMap::new();
        let mut fixed: BTreeSet<&String> = BTreeSet::new();
        let sets_custom = |s: &Condarc| {
            !s.custom_channels.is_empty() || s.flags.final_keys.contains("custom_channels")
        };
        for s in counting(sources, "custom_channels", sets_custom) {
            for (name, url) in &s.custom_channels {
                if fixed.contains(name) {
                    continue;
                }
                custom_channels.insert(name.clone(), url.clone());
                if s.flags.final_custom_channels.contains(name) {
                    fixed.insert(name);
                }
            }
        }
        Condarc {
            channels,
            channel_alias: last("channel_alias", &|s| s.channel_alias.is_some())
                .and_then(|s| s.channel_alias.clone()),
            default_channels,
            channel_priority: last("channel_priority", &|s| s.channel_priority.is_some())
                .and_then(|s| s.channel_priority),
            custom_channels,
            flags: CondarcFlags::default(),
        }
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
        let names = environment_channels(&["internal", "conda-forge"], &rc, true);
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
            environment_channels(&["conda-forge"], &rc, true),
            ["conda-forge", "defaults"]
        );
        assert_eq!(
            environment_channels(&["conda-forge", "nodefaults"], &rc, true),
            ["conda-forge"]
        );
        // conda 25.9 and later add nothing that is not configured
        assert_eq!(
            environment_channels(&["conda-forge"], &rc, false),
            ["conda-forge"]
        );
        let rc = Condarc::parse("channels: [internal, defaults]").unwrap();
        assert_eq!(
            environment_channels(&["conda-forge"], &rc, false),
            ["conda-forge", "internal", "defaults"]
        );
        assert_eq!(
            environment_channels(&["nodefaults", "conda-forge"], &rc, true),
            ["conda-forge"]
        );
        // an empty list configures nothing: the implicit `defaults` of conda before 25.9
        let rc = Condarc::parse("channels: []").unwrap();
        assert_eq!(environment_channels::<&str>(&[], &rc, true), ["defaults"]);
    }

    #[test]
    fn conda_before_25_9_searches_defaults_implicitly() {
        let v = |s: &str| s.parse::<crate::conda::Version>().unwrap();
        assert!(implicit_defaults(None));
        assert!(implicit_defaults(Some(&v("23.5.0"))));
        assert!(implicit_defaults(Some(&v("25.7.0"))));
        assert!(!implicit_defaults(Some(&v("25.9.0"))));
        assert!(!implicit_defaults(Some(&v("26.1.1"))));
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

    fn merged(texts: &[&str]) -> Condarc {
        let sources: Vec<Condarc> = texts.iter().map(|t| Condarc::parse(t).unwrap()).collect();
        Condarc::merge_all(&sources)
    }

    #[test]
    fn lists_concatenate_across_files_the_later_file_first() {
        let m = merged(&[
            "channels:\n  - defaults\n  - conda-forge\ndefault_channels:\n  - https://m.example/main\n",
            "channels:\n- internal\n- defaults\ndefault_channels: [https://m.example/r]\n",
        ]);
        assert_eq!(m.channels.unwrap(), ["internal", "defaults", "conda-forge"]);
        assert_eq!(
            m.default_channels.unwrap(),
            ["https://m.example/r", "https://m.example/main"]
        );
        // a file that does not set a key leaves it to the others
        let m = merged(&["channel_priority: strict\n", "channels: [a]\n", ""]);
        assert_eq!(m.channels.unwrap(), ["a"]);
        assert_eq!(m.channel_priority, Some(ChannelPriority::Strict));
        assert_eq!(merged(&["ssl_verify: false\n"]).channels, None);
    }

    #[test]
    fn single_values_come_from_the_last_file_that_sets_them() {
        let m = merged(&[
            "channel_alias: https://a.example\nchannel_priority: strict\n",
            "channel_alias: https://b.example\n",
            "channel_priority: disabled\n",
        ]);
        assert_eq!(m.channel_alias.as_deref(), Some("https://b.example"));
        assert_eq!(m.channel_priority, Some(ChannelPriority::Disabled));
    }

    #[test]
    fn a_final_key_hides_it_in_every_later_source() {
        let system = Condarc::parse(
            "channels:   #!final\n  - corp\nchannel_alias: https://mirror.example/  #!final\nchannel_priority: strict\n",
        )
        .unwrap();
        assert!(system.flags.final_keys.contains("channels"));
        assert!(system.flags.final_keys.contains("channel_alias"));
        let user = Condarc::parse(
            "channels: [conda-forge]\nchannel_alias: https://user.example\nchannel_priority: flexible\n",
        )
        .unwrap();
        let (env, problems) = Condarc::from_env([
            ("CONDA_CHANNEL_ALIAS", "https://env.example"),
            ("CONDA_CHANNELS", "bioconda,conda-forge"),
            ("CONDA_CHANNEL_PRIORITY", "disabled"),
        ]);
        assert!(problems.is_empty());
        let m = Condarc::merge_all(&[system, user.clone(), env.clone()]);
        assert_eq!(m.channels.unwrap(), ["corp"]);
        assert_eq!(m.channel_alias.as_deref(), Some("https://mirror.example/"));
        // not final in the first file: the variable, the last source, wins
        assert_eq!(m.channel_priority, Some(ChannelPriority::Disabled));
        // without the final file the variables come first in the list and set the alias
        let m = Condarc::merge_all(&[user, env]);
        assert_eq!(m.channels.unwrap(), ["bioconda", "conda-forge"]);
        assert_eq!(m.channel_alias.as_deref(), Some("https://env.example"));
    }

    #[test]
    fn top_and_bottom_entries_go_first_and_last() {
        let a = "channels:\n  - x\n  - y    #!bottom\n  - z\n";
        let b = "channels:\n  - p\n  - q  #!top\n  - r\n";
        assert_eq!(
            merged(&[a, b]).channels.unwrap(),
            ["q", "p", "r", "x", "z", "y"]
        );
        assert_eq!(
            merged(&[b, a]).channels.unwrap(),
            ["q", "x", "z", "p", "r", "y"]
        );
        // a flag that is not one of conda's is a comment
        let c = Condarc::parse("channels:\n  - x  # top\n  - y #!topmost\n").unwrap();
        assert!(c.flags.channels.is_empty(), "{:?}", c.flags);
    }

    #[test]
    fn custom_channels_merge_entry_by_entry() {
        let m = merged(&[
            "custom_channels:\n  a: https://s.example #!final\n  b: https://s.example\n",
            "custom_channels:\n  a: https://u.example\n  b: https://u.example\n  c: https://u.example\n",
        ]);
        let urls: Vec<(&str, &str)> = m
            .custom_channels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            urls,
            [
                ("a", "https://s.example"),
                ("b", "https://u.example"),
                ("c", "https://u.example")
            ]
        );
    }

    #[test]
    fn flags_are_read_from_the_ends_of_lines_only() {
        let c = Condarc::parse(
            "# channels: #!final\nchannel: # the alias of channels\n  - 'a #!top'\n  - \"b\"  #!bottom\n  - c#!top\n  - https://h.example/d#frag  #!top\n",
        )
        .unwrap();
        assert_eq!(
            c.channels.as_deref().unwrap(),
            ["a #!top", "b", "c#!top", "https://h.example/d#frag"]
        );
        assert!(c.flags.final_keys.is_empty());
        assert_eq!(
            c.flags.channels,
            [None, Some(ConfigFlag::Bottom), None, Some(ConfigFlag::Top)]
        );
        // a list not written one entry a line has no entry flags
        let c = Condarc::parse("channels: [a, b]  #!final\n").unwrap();
        assert!(c.flags.final_keys.contains("channels"));
        assert!(c.flags.channels.is_empty());
    }

    #[test]
    fn conda_variables_are_read_as_conda_reads_them() {
        let (rc, problems) = Condarc::from_env([
            ("CONDA_CHANNEL", " conda-forge , ,defaults"),
            ("CONDA_DEFAULT_CHANNELS", "https://m.example/main"),
            ("CONDA_CHANNEL_PRIORITY", "sometimes"),
            ("CONDA_CHANNEL_ALIAS", "https://a.example !important"),
            ("PIP_INDEX_URL", "https://pip.example"),
        ]);
        assert_eq!(rc.channels.unwrap(), ["conda-forge", "defaults"]);
        assert_eq!(rc.default_channels.unwrap(), ["https://m.example/main"]);
        assert_eq!(rc.channel_alias.as_deref(), Some("https://a.example"));
        assert!(rc.flags.final_keys.contains("channel_alias"));
        assert_eq!(rc.channel_priority, None);
        assert_eq!(
            problems,
            ["`CONDA_CHANNEL_PRIORITY` `sometimes` is not `strict`, `flexible` or `disabled`"]
        );
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
