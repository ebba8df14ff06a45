//! The configuration a build in the image sees: where its pip and conda look for packages.
//!
//! A rebuild runs pip and conda inside the image (Azure ML builds `FROM` the base image, and
//! the locked image holds the base's files and `ENV`), not on the machine that predicts.
//! What they read there, in their own order of precedence:
//!
//! - **pip** (as pip 20 to 24 load it): the files `/etc/xdg/pip/pip.conf`, then
//!   `/etc/pip.conf` (site-wide), then `/root/.pip/pip.conf` and `/root/.config/pip/pip.conf`
//!   (the user's, the build running as root); a later file's key replaces an earlier one's.
//!   Within the merged files, `[install]` overrides `[global]`, and the image config's `Env`
//!   (`PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL`, `PIP_FIND_LINKS`, `PIP_NO_INDEX`) overrides
//!   both. `PIP_CONFIG_FILE=/dev/null` turns the files off. Keys are normalised as pip does
//!   (`index_url` is `index-url`); `extra-index-url` and `find-links` are whitespace-separated
//!   lists (so one per line works); `no-index` is a boolean.
//! - **conda**: `.condarc` along conda's search path (`/etc/conda`, `/var/lib/conda`, the
//!   conda root at `/opt/conda` or `/opt/miniconda`, `/root/.config/conda`, `/root/.conda`,
//!   `/root/.condarc`; each folder's `.condarc`, then `condarc`, then `condarc.d/*.yml`),
//!   then the `CONDA_*` variables of the `Env` (`CONDA_CHANNELS`, `CONDA_DEFAULT_CHANNELS`,
//!   `CONDA_CHANNEL_ALIAS`, `CONDA_CHANNEL_PRIORITY`), merged as conda merges them
//!   ([`Condarc::merge_all`]: lists concatenated, a later source's first; single values from
//!   the last source; `#!final` keys kept).
//!
//! The files come out of the image's layers with whiteouts applied ([`Scanner::view`]; the
//! layer walk keeps [`crate::layer::BUILD_CONFIG_FILES`], so after `lock` they come from the
//! layer cache). A missing file is the normal case. A file pip would reject (pip stops on a
//! malformed `pip.conf`) or that a layer cut short is left out with a note. Index URLs may
//! carry credentials: nothing here prints a value, and the `Debug` output hides them.
//!
//! pip's INI files are read by [`PipConf::parse`], bounded, with the semantics of Python's
//! `configparser.RawConfigParser` that pip uses: `#` and `;` start a comment only at the
//! start of a line, `=` or `:` separates a key from its value, an indented line continues
//! the value above it, option names are case-insensitive and section names are not, a
//! repeated section or option is an error.

use std::collections::BTreeMap;
use std::fmt;

use crate::conda::Condarc;
use crate::diag::{Code, Finding};
use crate::layer::{FsView, NodeKind};
use crate::lockfile::Snapshot;
use crate::model::ImageSource;
use crate::scan::{ScanError, Scanner};

/// pip's configuration files, in the order pip loads them (a later one wins).
pub const PIP_FILES: &[&str] = &[
    "/etc/xdg/pip/pip.conf",
    "/etc/pip.conf",
    "/root/.pip/pip.conf",
    "/root/.config/pip/pip.conf",
];

/// conda's configuration folders, in the order conda's search path reads them; each folder's
/// `.condarc`, `condarc` and `condarc.d/*.yml` in that order (`~/.condarc` comes after the
/// folders of `~`, as conda has it).
const CONDA_DIRS: &[&str] = &[
    "/etc/conda",
    "/var/lib/conda",
    "/opt/conda",
    "/opt/miniconda",
    "/root/.config/conda",
    "/root/.conda",
];

/// pip's settings that choose where packages come from.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PipConfig {
    /// `index-url`.
    pub index_url: Option<String>,
    /// `extra-index-url`, in order.
    pub extra_index_urls: Vec<String>,
    /// `find-links`, in order.
    pub find_links: Vec<String>,
    /// `no-index`: no index at all, only the find-links locations.
    pub no_index: bool,
}

impl fmt::Debug for PipConfig {
    /// The URLs with their credentials hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hide = |u: &String| crate::conda::channel::redact(u).to_string();
        f.debug_struct("PipConfig")
            .field("index_url", &self.index_url.as_ref().map(hide))
            .field(
                "extra_index_urls",
                &self.extra_index_urls.iter().map(hide).collect::<Vec<_>>(),
            )
            .field(
                "find_links",
                &self.find_links.iter().map(hide).collect::<Vec<_>>(),
            )
            .field("no_index", &self.no_index)
            .finish()
    }
}

/// What a build inside the image would configure pip and conda with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuilderConfig {
    /// pip's settings: files, then `Env`.
    pub pip: PipConfig,
    /// The `.condarc` files merged, with the `Env`'s `CONDA_*` overrides.
    pub condarc: Condarc,
    /// The configuration files found, in the order they were applied.
    pub files: Vec<String>,
    /// What could not be used, one sentence each (never a value: they may hold secrets).
    pub notes: Vec<String>,
}

/// Why a `pip.conf` does not read (pip would stop on it too).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PipConfError {
    /// Larger than [`PipConf::MAX_LEN`].
    #[error("larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// A line that is neither a section, an option, a comment nor a continuation.
    #[error("line {line}: {message}")]
    Line {
        /// From 1.
        line: usize,
        /// What is wrong.
        message: &'static str,
    },
}

/// A parsed `pip.conf`: sections of options, names as configparser keeps them (option names
/// lowercased), values with continuation lines joined by `\n`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PipConf {
    /// Section → option → value. `[DEFAULT]`'s options are folded into every other section
    /// that does not set them, as configparser reads them.
    pub sections: BTreeMap<String, BTreeMap<String, String>>,
}

impl fmt::Debug for PipConf {
    /// Section and option names only: values may hold credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.sections
                    .iter()
                    .map(|(s, o)| (s, o.keys().collect::<Vec<_>>())),
            )
            .finish()
    }
}

/// A section's options while reading: name and value lines, in file order.
type Options = Vec<(String, Vec<String>)>;

impl PipConf {
    /// The largest file read: 1 MiB.
    pub const MAX_LEN: usize = 1 << 20;

    /// Reads `pip.conf` bytes as `configparser.RawConfigParser` does.
    pub fn parse(bytes: &[u8]) -> Result<Self, PipConfError> {
        if bytes.len() > Self::MAX_LEN {
            return Err(PipConfError::TooLarge {
                limit: Self::MAX_LEN,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|_| PipConfError::NotUtf8)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let err = |line, message| PipConfError::Line { line, message };
        // values as lists of lines, joined at the end
        let mut sections: Vec<(String, Options)> = Vec::new();
        let mut current: Option<usize> = None;
        let mut option: Option<usize> = None;
        let mut indent_level = usize::MAX;
        for (i, line) in text.lines().enumerate() {
            let number = i + 1;
            let trimmed = line.trim();
            let comment = trimmed.starts_with('#') || trimmed.starts_with(';');
            if trimmed.is_empty() || comment {
                // an empty line belongs to a value being continued; a comment line does not
                if !comment && let (Some(s), Some(o)) = (current, option) {
                    sections[s].1[o].1.push(String::new());
                }
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if let (Some(s), Some(o)) = (current, option)
                && indent > indent_level
            {
                sections[s].1[o].1.push(trimmed.to_owned());
                continue;
            }
            indent_level = indent;
            if let Some(rest) = trimmed.strip_prefix('[')
                && let Some(end) = rest.rfind(']')
                && end > 0
            {
                let name = &rest[..end];
                if sections.iter().any(|(n, _)| n == name) {
                    return Err(err(number, "a section is repeated"));
                }
                sections.push((name.to_owned(), Vec::new()));
                current = Some(sections.len() - 1);
                option = None;
                continue;
            }
            let Some(s) = current else {
                return Err(err(number, "an option before any `[section]`"));
            };
            let Some(at) = trimmed.find(['=', ':']) else {
                return Err(err(number, "neither a section, an option nor a comment"));
            };
            let name = trimmed[..at].trim_end().to_lowercase();
            if name.is_empty() {
                return Err(err(number, "an option with no name"));
            }
            let value = trimmed[at + 1..].trim().to_owned();
            let options = &mut sections[s].1;
            if options.iter().any(|(n, _)| *n == name) {
                return Err(err(number, "an option is repeated in its section"));
            }
            options.push((name, vec![value]));
            option = Some(options.len() - 1);
        }
        let mut out: BTreeMap<String, BTreeMap<String, String>> = sections
            .into_iter()
            .map(|(name, options)| {
                let options = options
                    .into_iter()
                    .map(|(n, lines)| (n, lines.join("\n").trim_end().to_owned()))
                    .collect();
                (name, options)
            })
            .collect();
        if let Some(defaults) = out.remove("DEFAULT") {
            for options in out.values_mut() {
                for (k, v) in &defaults {
                    options.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        Ok(PipConf { sections: out })
    }
}

/// pip's option name for a config key or `PIP_*` variable: lowercase, `_` as `-`, no
/// leading `--`.
fn pip_key(name: &str) -> String {
    let name = name.to_lowercase().replace('_', "-");
    name.strip_prefix("--").unwrap_or(&name).to_owned()
}

/// pip's `strtobool`.
fn pip_bool(value: &str) -> Option<bool> {
    match value.trim().to_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Some(true),
        "n" | "no" | "f" | "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// The image config's `Env` as a map (a later entry of a name wins, as Docker applies them).
fn env_map(env: &[String]) -> BTreeMap<&str, &str> {
    env.iter()
        .filter_map(|e| e.split_once('='))
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// pip's settings from the files found (`(path, parsed)`, in load order) and the `Env`.
pub fn pip_config(files: &[(&str, &PipConf)], env: &[String]) -> PipConfig {
    // pip merges `section.key` across files (a later file wins), then applies `[global]`,
    // then `[install]`, then the environment
    let mut merged: BTreeMap<(&str, String), &str> = BTreeMap::new();
    for (_, conf) in files {
        for section in ["global", "install"] {
            for (k, v) in conf.sections.get(section).into_iter().flatten() {
                merged.insert((section, pip_key(k)), v);
            }
        }
    }
    let mut values: BTreeMap<String, &str> = BTreeMap::new();
    for section in ["global", "install"] {
        for ((s, k), v) in &merged {
            if *s == section {
                values.insert(k.clone(), v);
            }
        }
    }
    for (k, v) in env_map(env) {
        if let Some(name) = k.strip_prefix("PIP_") {
            values.insert(pip_key(name), v);
        }
    }
    let list = |k: &str| -> Vec<String> {
        values
            .get(k)
            .map(|v| v.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    PipConfig {
        index_url: values
            .get("index-url")
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
        extra_index_urls: list("extra-index-url"),
        find_links: list("find-links"),
        no_index: values
            .get("no-index")
            .and_then(|v| pip_bool(v))
            .unwrap_or(false),
    }
}

/// A file's content from the view, or why it cannot be used; `Ok(None)` when absent.
fn file<'a>(view: &'a FsView, path: &str) -> Result<Option<&'a [u8]>, String> {
    let Some((_, node)) = view.file(path) else {
        return Ok(None);
    };
    match &node.kind {
        NodeKind::File {
            truncated: true, ..
        } => Err(format!(
            "`{path}` in the image is larger than envaudit reads; it is left out"
        )),
        NodeKind::File {
            content: Some(c), ..
        } => Ok(Some(c)),
        _ => Ok(None),
    }
}

/// What a build inside the image would configure pip and conda with, from the image
/// config's `Env` and the merged view of its layers.
pub fn from_view(env: &[String], view: &FsView) -> BuilderConfig {
    let mut out = BuilderConfig::default();
    let vars = env_map(env);
    // pip
    let config_file = vars.get("PIP_CONFIG_FILE").copied();
    let mut pip_files: Vec<&str> = PIP_FILES.to_vec();
    match config_file {
        Some("/dev/null") => pip_files.clear(),
        Some(p) if PIP_FILES.contains(&p) => pip_files.push(p),
        Some(p) => out.notes.push(format!(
            "the image sets `PIP_CONFIG_FILE` to `{p}`, which envaudit does not read"
        )),
        None => {}
    }
    let mut parsed = Vec::new();
    for path in pip_files {
        match file(view, path) {
            Ok(None) => {}
            Ok(Some(bytes)) => match PipConf::parse(bytes) {
                Ok(conf) => parsed.push((path, conf)),
                Err(e) => out.notes.push(format!(
                    "`{path}` in the image does not read ({e}); pip in a build would stop on it"
                )),
            },
            Err(note) => out.notes.push(note),
        }
    }
    out.files
        .extend(parsed.iter().map(|(p, _)| (*p).to_owned()));
    let refs: Vec<(&str, &PipConf)> = parsed.iter().map(|(p, c)| (*p, c)).collect();
    out.pip = pip_config(&refs, env);
    if let Some(home) = vars.get("HOME").filter(|h| **h != "/root" && !h.is_empty()) {
        out.notes.push(format!(
            "the image sets `HOME` to `{home}`; pip's and conda's files under it are not read"
        ));
    }
    if vars.contains_key("CONDARC") {
        out.notes
            .push("the image sets `CONDARC`; the file it names is not read".to_owned());
    }
    // conda: every file on its search path, then its `CONDA_*` variables, merged as conda
    // merges them
    let mut sources: Vec<Condarc> = Vec::new();
    let mut conda_files: Vec<String> = Vec::new();
    for dir in CONDA_DIRS {
        conda_files.push(format!("{dir}/.condarc"));
        conda_files.push(format!("{dir}/condarc"));
        let d = format!("{dir}/condarc.d");
        let mut ymls: Vec<String> = view
            .under(&d)
            .filter(|(p, _)| {
                p.rsplit_once('/').is_some_and(|(parent, name)| {
                    parent == d && (name.ends_with(".yml") || name.ends_with(".yaml"))
                })
            })
            .map(|(p, _)| p.to_owned())
            .collect();
        ymls.sort();
        conda_files.extend(ymls);
    }
    conda_files.push("/root/.condarc".to_owned());
    for path in &conda_files {
        match file(view, path) {
            Ok(None) => {}
            Ok(Some(bytes)) => {
                match std::str::from_utf8(bytes)
                    .map_err(|_| "not UTF-8".to_owned())
                    .and_then(|t| Condarc::parse(t).map_err(|e| e.to_string()))
                {
                    Ok(rc) => {
                        sources.push(rc);
                        out.files.push(path.clone());
                    }
                    Err(e) => out.notes.push(format!(
                        "`{path}` in the image does not read ({e}); it is left out"
                    )),
                }
            }
            Err(note) => out.notes.push(note),
        }
    }
    let (from_env, problems) = Condarc::from_env(vars.iter().map(|(k, v)| (*k, *v)));
    out.notes.extend(
        problems
            .into_iter()
            .map(|p| format!("the image's {p}; it is left out")),
    );
    sources.push(from_env);
    let condarc = Condarc::merge_all(&sources);
    out.condarc = condarc;
    out
}

/// Reads the builder-side configuration of an image: its config's `Env` and the files of
/// its layers (from the layer cache when `lock` read them before).
pub fn read(scanner: &Scanner, source: &ImageSource) -> Result<BuilderConfig, ScanError> {
    let (image, view) = scanner.view(source)?;
    Ok(from_view(image.env(), &view))
}

/// The locked image of a snapshot, as it can be read again: a registry reference pinned to
/// the locked manifest digest (its tag may have moved since), a local layout or archive as
/// written. `None` when the snapshot has no image (a `--rootfs` lock).
pub fn locked_image(snapshot: &Snapshot) -> Option<ImageSource> {
    let written = snapshot.image.as_deref()?;
    let source: ImageSource = written.parse().ok()?;
    if let (ImageSource::Registry(r), Some(digest)) = (&source, &snapshot.image_manifest)
        && r.digest().is_none()
    {
        let pinned = format!("{}/{}@{digest}", r.registry(), r.repository());
        return pinned.parse().ok().or(Some(source));
    }
    Some(source)
}

/// The builder-side configuration for environment `name`'s locked snapshot, with findings:
/// `unpredictable` when the image is not read (with `offline`, a registry image; a local
/// layout or archive still is) or cannot be read (the prediction then goes on without its
/// configuration), and one for each note. `scanner` is `None` when no registry client could
/// be set up.
pub fn for_snapshot(
    name: &str,
    snapshot: &Snapshot,
    scanner: Option<&Scanner>,
    offline: bool,
) -> (BuilderConfig, Vec<Finding>) {
    let finding = |text: String| Finding::new(Code::Unpredictable, text).with_package(name);
    let Some(source) = locked_image(snapshot) else {
        return (BuilderConfig::default(), Vec::new());
    };
    let shown = snapshot.image.as_deref().unwrap_or("-");
    let skipped = |why: &str| {
        vec![finding(format!(
            "`{name}`: the configuration the image `{shown}` gives a build (its `ENV`, `pip.conf`, `.condarc`) {why}; the prediction uses the definition's and the flags' indexes and channels"
        ))]
    };
    let scanner = match scanner {
        _ if offline && matches!(source, ImageSource::Registry(_)) => {
            return (
                BuilderConfig::default(),
                skipped("is not read with `--offline`"),
            );
        }
        None => {
            return (
                BuilderConfig::default(),
                skipped("could not be read: no registry client"),
            );
        }
        Some(s) => s,
    };
    match read(scanner, &source) {
        Ok(config) => {
            let findings = config
                .notes
                .iter()
                .map(|n| finding(format!("`{name}`: {n}")))
                .collect();
            (config, findings)
        }
        Err(e) => (
            BuilderConfig::default(),
            skipped(&format!("could not be read: {}", error_chain(&e))),
        ),
    }
}

/// An error with its causes, `: `-joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> PipConf {
        PipConf::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn continuation_lines_and_comments_read_as_configparser_reads_them() {
        let c = conf(
            "# a comment\n; another\n[global]\nindex-url = https://a.example/simple # kept\nextra-index-url =\n    https://b.example/simple\n    # not a value\n\n    https://c.example/simple\n\ntimeout: 60\n",
        );
        let g = &c.sections["global"];
        assert_eq!(g["index-url"], "https://a.example/simple # kept");
        assert_eq!(
            g["extra-index-url"],
            "\nhttps://b.example/simple\n\nhttps://c.example/simple"
        );
        assert_eq!(g["timeout"], "60");
        let p = pip_config(&[("/etc/pip.conf", &c)], &[]);
        assert_eq!(
            p.extra_index_urls,
            ["https://b.example/simple", "https://c.example/simple"]
        );
    }

    #[test]
    fn malformed_files_are_errors_pip_would_stop_on() {
        for (text, line) in [
            ("index-url = x\n", 1),
            ("[global]\nindex-url = x\nindex-url = y\n", 3),
            ("[global]\n[global]\n", 2),
            ("[global]\njust words\n", 2),
            ("[global]\n = x\n", 2),
        ] {
            match PipConf::parse(text.as_bytes()) {
                Err(PipConfError::Line { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert_eq!(PipConf::parse(b"\xff"), Err(PipConfError::NotUtf8));
    }

    #[test]
    fn install_overrides_global_across_files_and_env_overrides_both() {
        let system = conf("[install]\nindex_url = https://install.example/simple\n");
        let user = conf(
            "[global]\nindex-url = https://user.example/simple\nfind-links = /wheels /more\nno-index = yes\n",
        );
        let files = [
            ("/etc/pip.conf", &system),
            ("/root/.config/pip/pip.conf", &user),
        ];
        let p = pip_config(&files, &[]);
        // [install] wins over [global] whichever file each is in
        assert_eq!(
            p.index_url.as_deref(),
            Some("https://install.example/simple")
        );
        assert_eq!(p.find_links, ["/wheels", "/more"]);
        assert!(p.no_index);
        let env = [
            "PATH=/usr/bin".to_owned(),
            "PIP_INDEX_URL=https://env.example/simple".to_owned(),
            "PIP_EXTRA_INDEX_URL=https://x.example/simple  https://y.example/simple".to_owned(),
            "PIP_NO_INDEX=0".to_owned(),
        ];
        let p = pip_config(&files, &env);
        assert_eq!(p.index_url.as_deref(), Some("https://env.example/simple"));
        assert_eq!(
            p.extra_index_urls,
            ["https://x.example/simple", "https://y.example/simple"]
        );
        assert!(!p.no_index);
        // a later file replaces an earlier file's key of the same section
        let a = conf("[global]\nindex-url = https://a.example/simple\n");
        let b = conf("[global]\nindex-url = https://b.example/simple\n");
        let p = pip_config(&[("1", &a), ("2", &b)], &[]);
        assert_eq!(p.index_url.as_deref(), Some("https://b.example/simple"));
    }

    #[test]
    fn default_section_reaches_the_sections_present() {
        let c = conf("[DEFAULT]\nindex-url = https://d.example/simple\n[install]\n");
        let p = pip_config(&[("f", &c)], &[]);
        assert_eq!(p.index_url.as_deref(), Some("https://d.example/simple"));
    }

    #[test]
    fn debug_output_hides_credentials() {
        let c = conf("[global]\nindex-url = https://user:s3cret@a.example/simple\n");
        let p = pip_config(&[("f", &c)], &[]);
        let shown = format!("{p:?} {c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("a.example"), "{shown}");
    }
}
