//! pip requirements files (and the `pip:` list of a conda file, which holds the same lines).
//!
//! Lines are read as pip reads them (`pip/_internal/req/req_file.py`):
//! - a `\` at the end of a line joins the next line to it (a `\` on the last line is
//!   dropped); a comment line ends a run of joined lines;
//! - `#` starts a comment at the start of a line or after whitespace, so `#egg=` and
//!   `#sha256=` inside URLs stay;
//! - the requirement is the text before the first word starting with `-`; the words from
//!   there are options. After a requirement only `--hash` (repeatable), `--config-settings`
//!   and `--global-option` are allowed. A line of options alone sets file-level options
//!   (recorded as [`PipOption`] under their long names), `-e`/`--editable` installs a
//!   local path or VCS URL, and `-r`/`-c` include another file;
//! - words after an option that pip would leave unused (such as the `[--no-deps]` that
//!   Azure ML samples put after `-r URL`) are ignored, as pip ignores them;
//! - `${VAR}` is not expanded: the text is kept as written.
//!
//! Includes are resolved relative to the folder of the including file and read
//! recursively: `-r` lines add requirements, `-c` lines constraints. URL includes are
//! recorded with `resolved: None` and not fetched. An absolute include path that does not
//! exist is looked for in the including folder, without its leading `/`: Azure ML asset
//! build contexts copy a file to `/name` and the conda file names it there.
//!
//! A requirements file is read as strictly as pip reads it: a line pip would reject is an
//! error pointing at the place. Only the entries of a conda file's `pip:` list are kept when
//! they do not parse ([`parse_entries`]), because Azure ML accepts the conda file.
//!
//! A dependency's origin is the line and column of its first character (for joined lines,
//! the first line). Release templates (`{{latest-pypi-version}}`) anywhere on a line are
//! listed in [`PipFile::templates`].

use std::path::{Component, Path, PathBuf};

use super::{DefinitionError, Dependency, Include, IncludeKind, PipOption, Template};
use crate::model::Ecosystem;
use crate::python::Requirement;
use crate::python::pip_line::{split_option, split_tokens};
use crate::source::{Origin, ParseError, SourceFile};

/// How deep `-r`/`-c` includes may nest before loading stops.
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// Requirements with their options and includes, the includes already followed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PipFile {
    /// Requirement lines in file order, `-r` includes expanded in place, e.g.
    /// `numpy>=1.24`, `torch==2.2.0 --hash=sha256:…`.
    pub requirements: Vec<Dependency>,
    /// The lines of `-c` constraint files: they bound versions without asking for a package.
    pub constraints: Vec<Dependency>,
    /// File-level option lines (`--index-url URL`, `--pre`), under their long names.
    pub options: Vec<PipOption>,
    /// Every `-r`/`-c` line, local or URL, in the order read.
    pub includes: Vec<Include>,
    /// Release-template placeholders (`{{latest-pypi-version}}`) anywhere on a line.
    pub templates: Vec<Template>,
    /// Every file read, the root first.
    pub files: Vec<PathBuf>,
}

/// Read a requirements file and everything it includes with `-r` / `-c`.
pub fn load(path: &Path) -> Result<PipFile, DefinitionError> {
    let mut loader = Loader::default();
    loader.file(path, IncludeKind::Requirements, None)?;
    Ok(loader.out)
}

/// Parse the entries of a conda file's `pip:` list; each entry is one requirements line.
/// Includes are resolved relative to `base_dir` (the conda file's folder).
///
/// An entry that is not a valid requirements line becomes a requirement whose spec is
/// [`super::DependencySpec::Invalid`] (its text without a comment, the error where pip's
/// grammar stops), and what the entry had added before the error is taken back: Azure ML
/// accepts the conda file, and only pip judges the entry, at build time. A file that an
/// entry includes with `-r`/`-c` is read as strictly as [`load`] reads one.
pub fn parse_entries(
    entries: &[(String, Origin)],
    base_dir: &Path,
) -> Result<PipFile, DefinitionError> {
    let mut loader = Loader::default();
    for (text, origin) in entries {
        let trimmed = text.trim_start();
        if trimmed.trim().is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let line = Line {
            text: text.clone(),
            at: Locator::Entry {
                origin: origin.clone(),
                text: text.clone(),
            },
        };
        let before = loader.mark();
        match loader.line(&line, base_dir, IncludeKind::Requirements) {
            Ok(()) => {}
            Err(DefinitionError::Parse(mut error)) if !loader.include_failed => {
                loader.rewind(&before);
                let raw = comment_start(text).map_or(text.as_str(), |i| &text[..i]);
                error.message = format!(
                    "invalid pip requirement `{}`: {}",
                    raw.trim(),
                    error.message
                );
                loader.out.requirements.push(Dependency::invalid(
                    Ecosystem::Pip,
                    raw,
                    error,
                    origin.clone(),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(loader.out)
}

/// Parse requirements-file text that is already in memory (tests, fuzzing, inline content).
/// Includes are read from disk relative to the source's folder.
pub fn parse(source: &SourceFile) -> Result<PipFile, DefinitionError> {
    let mut loader = Loader::default();
    loader.out.files.push(source.path.clone());
    loader
        .stack
        .push((source.path.clone(), identity(&source.path)));
    loader.source(source, IncludeKind::Requirements)?;
    Ok(loader.out)
}

#[derive(Default)]
struct Loader {
    out: PipFile,
    /// The files being read, outermost first: (path as joined, canonical path).
    stack: Vec<(PathBuf, PathBuf)>,
    /// Whether the last error came from reading an included file (which stays strict).
    include_failed: bool,
}

/// How much a [`Loader`] had read, to take back one conda `pip:` entry that fails.
struct Mark {
    requirements: usize,
    constraints: usize,
    options: usize,
    includes: usize,
    files: usize,
}

/// Where the characters of a logical line came from.
enum Locator<'a> {
    /// A (possibly joined) line of a file: `map[i]` is the file offset of byte `i`.
    File {
        source: &'a SourceFile,
        map: Vec<usize>,
    },
    /// A conda `pip:` entry that starts at `origin`.
    Entry { origin: Origin, text: String },
}

impl Locator<'_> {
    fn origin(&self, offset: usize) -> Origin {
        match self {
            Locator::File { source, map } => {
                let at = map.get(offset).or(map.last()).copied().unwrap_or(0);
                let (line, column) = source.line_col(at);
                source.origin(line, column)
            }
            Locator::Entry { origin, text } => {
                let chars = text.get(..offset).unwrap_or(text).chars().count();
                let column = origin
                    .column
                    .saturating_add(u32::try_from(chars).unwrap_or(u32::MAX));
                Origin::new(origin.file.clone(), origin.line, column)
            }
        }
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> DefinitionError {
        let e = match self {
            Locator::File { source, map } => {
                let at = map.get(offset).or(map.last()).copied().unwrap_or(0);
                ParseError::at_offset(source, at, message)
            }
            Locator::Entry { .. } => {
                let o = self.origin(offset);
                ParseError {
                    path: o.file,
                    line: o.line,
                    column: o.column,
                    message: message.into(),
                    source_line: None,
                }
            }
        };
        DefinitionError::Parse(e)
    }
}

struct Line<'a> {
    text: String,
    at: Locator<'a>,
}

/// A path for cycle checks: canonical when the file exists, else the lexical path.
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| lexical(path))
}

/// `a/./b` → `a/b`, so that the same file read twice is listed once.
fn lexical(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// pip's `COMMENT_RE` (`(^|\s+)#.*$`): the byte offset where a comment starts.
fn comment_start(line: &str) -> Option<usize> {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return Some(i);
        }
        prev_space = c.is_whitespace();
    }
    None
}

/// Join continuation lines the way pip's `join_lines` does.
fn logical_lines(source: &SourceFile) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    let mut pending: Option<(String, Vec<usize>)> = None;
    let mut offset = 0;
    for raw in source.text.split('\n') {
        let start = offset;
        offset += raw.len() + 1;
        let is_comment = raw.trim_start().starts_with('#');
        if !raw.ends_with('\\') || is_comment {
            match pending.take() {
                Some((mut text, mut map)) => {
                    // pip adds a space before a comment line so that it is stripped later.
                    if is_comment {
                        text.push(' ');
                        map.push(start);
                    }
                    text.push_str(raw);
                    map.extend(start..start + raw.len());
                    out.push((text, map));
                }
                None => out.push((raw.to_owned(), (start..start + raw.len()).collect())),
            }
        } else {
            let lead = raw.len() - raw.trim_start_matches('\\').len();
            let body = raw.trim_matches('\\');
            let (text, map) = pending.get_or_insert_with(Default::default);
            text.push_str(body);
            map.extend(start + lead..start + lead + body.len());
        }
    }
    if let Some(p) = pending {
        out.push(p);
    }
    for (_, map) in &mut out {
        // one past the end, for errors that point at the end of the line
        let end = map.last().map_or(0, |l| l + 1);
        map.push(end);
    }
    out
}

fn is_remote(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    ["http://", "https://", "ftp://"]
        .iter()
        .any(|p| lower.starts_with(p))
}

impl Loader {
    fn mark(&self) -> Mark {
        Mark {
            requirements: self.out.requirements.len(),
            constraints: self.out.constraints.len(),
            options: self.out.options.len(),
            includes: self.out.includes.len(),
            files: self.out.files.len(),
        }
    }

    /// Drop what was read since `mark`, except the release templates found in the text.
    fn rewind(&mut self, mark: &Mark) {
        let out = &mut self.out;
        out.requirements.truncate(mark.requirements);
        out.constraints.truncate(mark.constraints);
        out.options.truncate(mark.options);
        out.includes.truncate(mark.includes);
        out.files.truncate(mark.files);
    }

    fn file(
        &mut self,
        path: &Path,
        kind: IncludeKind,
        from: Option<&Origin>,
    ) -> Result<(), DefinitionError> {
        let id = identity(path);
        if self.stack.iter().any(|(_, s)| *s == id) {
            let mut chain: Vec<PathBuf> = self.stack.iter().map(|(p, _)| p.clone()).collect();
            chain.push(path.to_path_buf());
            return Err(DefinitionError::IncludeCycle { chain });
        }
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            return Err(DefinitionError::IncludeTooDeep {
                path: path.to_path_buf(),
                limit: MAX_INCLUDE_DEPTH,
            });
        }
        if let (Some(origin), Err(e)) = (from, std::fs::metadata(path)) {
            return Err(DefinitionError::MissingReference {
                origin: origin.clone(),
                target: path.to_path_buf(),
                source: e,
            });
        }
        let source = SourceFile::read(path)?;
        super::push_unique(&mut self.out.files, [path.to_path_buf()]);
        self.stack.push((path.to_path_buf(), id));
        let result = self.source(&source, kind);
        self.stack.pop();
        result
    }

    fn source(&mut self, source: &SourceFile, kind: IncludeKind) -> Result<(), DefinitionError> {
        let base = source.path.parent().unwrap_or(Path::new("")).to_path_buf();
        for (text, map) in logical_lines(source) {
            let line = Line {
                text,
                at: Locator::File { source, map },
            };
            self.line(&line, &base, kind)?;
        }
        Ok(())
    }

    /// One logical line; `kind` says where requirements go (a `-c` file gives constraints).
    fn line(
        &mut self,
        line: &Line<'_>,
        base: &Path,
        kind: IncludeKind,
    ) -> Result<(), DefinitionError> {
        let full = line.text.as_str();
        let text = match comment_start(full) {
            Some(i) => &full[..i],
            None => full,
        };
        let lead = text.len() - text.trim_start().len();
        let text = text.trim_end();
        if text.trim().is_empty() {
            return Ok(());
        }
        self.templates(text, &line.at);
        let tokens = split_tokens(text);
        let first_opt = tokens.iter().position(|(_, t)| t.starts_with('-'));
        let req_end = first_opt.map_or(text.len(), |i| tokens[i].0);
        let opts = first_opt.map_or(&[][..], |i| &tokens[i..]);
        if req_end > lead {
            let hashes = Self::requirement_options(opts, &line.at)?;
            let req_text = &text[..req_end];
            let mut req = Requirement::parse_pip(req_text, false)
                .map_err(|e| line.at.error(e.offset, e.message))?;
            req.hashes = hashes;
            self.push_dependency(req, &text[lead..], line.at.origin(lead), kind);
            return Ok(());
        }
        self.option_line(text, opts, &line.at, base)
    }

    fn templates(&mut self, text: &str, at: &Locator<'_>) {
        let mut from = 0;
        while let Some(i) = text[from..].find("{{") {
            let start = from + i;
            let Some(len) = text[start..].find("}}") else {
                break;
            };
            self.out.templates.push(Template {
                text: text[start..start + len + 2].to_owned(),
                origin: at.origin(start),
            });
            from = start + len + 2;
        }
    }

    fn push_dependency(&mut self, req: Requirement, raw: &str, origin: Origin, kind: IncludeKind) {
        let dep = Dependency::pip(req, raw, origin);
        match kind {
            IncludeKind::Requirements => self.out.requirements.push(dep),
            IncludeKind::Constraints => self.out.constraints.push(dep),
        }
    }

    /// The options after a requirement: `--hash` values (others allowed by pip are skipped).
    fn requirement_options(
        opts: &[(usize, &str)],
        at: &Locator<'_>,
    ) -> Result<Vec<String>, DefinitionError> {
        let mut hashes = Vec::new();
        let mut i = 0;
        while i < opts.len() {
            let (pos, tok) = opts[i];
            i += 1;
            let (name, inline) = split_option(tok);
            match name.as_str() {
                "--hash" | "--config-settings" | "--global-option" | "-C" => {
                    let value = match inline {
                        Some((_, v)) => v,
                        None if i < opts.len() => {
                            i += 1;
                            opts[i - 1].1
                        }
                        None => {
                            return Err(at.error(
                                pos + tok.len(),
                                format!("expected a value after `{name}`"),
                            ));
                        }
                    };
                    if name == "--hash" {
                        hashes.push(value.to_owned());
                    }
                }
                _ => {
                    return Err(at.error(
                        pos,
                        format!(
                            "unexpected option `{name}` after a requirement; only `--hash`, `--config-settings` and `--global-option` go there"
                        ),
                    ));
                }
            }
        }
        Ok(hashes)
    }

    fn option_line(
        &mut self,
        text: &str,
        opts: &[(usize, &str)],
        at: &Locator<'_>,
        base: &Path,
    ) -> Result<(), DefinitionError> {
        let mut i = 0;
        while i < opts.len() {
            let (pos, tok) = opts[i];
            i += 1;
            if !tok.starts_with('-') {
                // pip ignores words its option parser leaves over (`-r URL [--no-deps]`)
                continue;
            }
            let (name, inline) = split_option(tok);
            let takes_value = matches!(
                name.as_str(),
                "--editable"
                    | "--requirement"
                    | "--constraint"
                    | "--index-url"
                    | "--extra-index-url"
                    | "--find-links"
                    | "--no-binary"
                    | "--only-binary"
                    | "--trusted-host"
                    | "--use-feature"
            );
            let flag = matches!(
                name.as_str(),
                "--pre" | "--prefer-binary" | "--no-index" | "--require-hashes"
            );
            let value = match inline {
                Some((o, v)) => Some((pos + o, v)),
                None if takes_value => match opts.get(i) {
                    Some(&(vpos, v)) => {
                        i += 1;
                        Some((vpos, v))
                    }
                    None => {
                        return Err(
                            at.error(pos + tok.len(), format!("expected a value after `{name}`"))
                        );
                    }
                },
                // an unknown option: the next word, unless it is an option, is its value
                None if !takes_value && !flag => match opts.get(i) {
                    Some(&(vpos, v)) if !v.starts_with('-') && !v.starts_with('[') => {
                        i += 1;
                        Some((vpos, v))
                    }
                    _ => None,
                },
                None => None,
            };
            let unquoted = value.map(|(p, v)| unquote(p, v));
            match name.as_str() {
                "--editable" => {
                    let (vpos, v) = unquoted.unwrap_or((pos, ""));
                    let mut hashes = Vec::new();
                    if i < opts.len() {
                        hashes = Self::requirement_options(&opts[i..], at)?;
                        i = opts.len();
                    }
                    let mut req = Requirement::parse_pip(v, true)
                        .map_err(|e| at.error(vpos + e.offset, e.message))?;
                    req.hashes = hashes;
                    let raw = &text[pos..];
                    self.push_dependency(req, raw, at.origin(pos), IncludeKind::Requirements);
                }
                "--requirement" | "--constraint" => {
                    let kind = if name == "--requirement" {
                        IncludeKind::Requirements
                    } else {
                        IncludeKind::Constraints
                    };
                    let (vpos, target) = unquoted.unwrap_or((pos, ""));
                    self.include(kind, target, at.origin(pos), &at.origin(vpos), base)?;
                }
                _ => self.out.options.push(PipOption {
                    name,
                    value: unquoted.map(|(_, v)| v.to_owned()),
                    origin: at.origin(pos),
                }),
            }
        }
        Ok(())
    }

    fn include(
        &mut self,
        kind: IncludeKind,
        target: &str,
        origin: Origin,
        target_origin: &Origin,
        base: &Path,
    ) -> Result<(), DefinitionError> {
        if is_remote(target) {
            self.out.includes.push(Include {
                kind,
                target: target.to_owned(),
                resolved: None,
                origin,
            });
            return Ok(());
        }
        let local = target.strip_prefix("file://").unwrap_or(target);
        let mut resolved = lexical(&base.join(local));
        if Path::new(local).is_absolute() && !resolved.exists() {
            let inside = lexical(&base.join(local.trim_start_matches(['/', '\\'])));
            if inside.exists() {
                resolved = inside;
            }
        }
        self.out.includes.push(Include {
            kind,
            target: target.to_owned(),
            resolved: Some(resolved.clone()),
            origin,
        });
        let read = self.file(&resolved, kind, Some(target_origin));
        self.include_failed = read.is_err();
        read
    }
}

/// Strip one pair of matching quotes (pip splits option words with `shlex`).
fn unquote(pos: usize, v: &str) -> (usize, &str) {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return (pos + 1, &v[1..v.len() - 1]);
        }
    }
    (pos, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pin::PinState;

    fn corpus(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/corpus/files")
            .join(path)
    }

    fn names(deps: &[Dependency]) -> Vec<String> {
        deps.iter().map(Dependency::display_name).collect()
    }

    fn unpinned(deps: &[Dependency]) -> Vec<String> {
        deps.iter()
            .filter(|d| d.pin.state == PinState::Unpinned)
            .map(Dependency::display_name)
            .collect()
    }

    fn from_text(text: &str) -> Result<PipFile, DefinitionError> {
        parse(&SourceFile::from_text("requirements.txt", text))
    }

    fn error_at(text: &str) -> String {
        match from_text(text) {
            Err(DefinitionError::Parse(e)) => format!("{e}\n{}", e.snippet().unwrap_or_default()),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn whisper_marker_with_and_or_parses_and_the_rest_is_unpinned() {
        let f = load(&corpus("openai__whisper/requirements.txt")).expect("loads");
        assert_eq!(
            unpinned(&f.requirements),
            [
                "numba",
                "numpy",
                "torch",
                "tqdm",
                "more-itertools",
                "tiktoken"
            ]
        );
        let triton = &f.requirements[6];
        assert_eq!(
            triton.canonical(),
            "triton>=2.0.0; platform_machine == \"x86_64\" and sys_platform == \"linux\" or sys_platform == \"linux2\""
        );
        assert_eq!(triton.pin.state, PinState::Range);
        assert_eq!((triton.origin.line, triton.origin.column), (7, 1));
    }

    #[test]
    fn xformers_include_chain_is_followed_in_order() {
        let root = corpus("facebookresearch__xformers/requirements-benchmark.txt");
        let f = load(&root).expect("loads");
        let dir = root.parent().expect("folder");
        assert_eq!(
            f.files,
            [
                root.clone(),
                dir.join("requirements-test.txt"),
                dir.join("requirements.txt")
            ]
        );
        let from = |name: &str| {
            let d = f
                .requirements
                .iter()
                .find(|d| d.display_name() == name)
                .unwrap_or_else(|| panic!("{name} missing"));
            let file = d
                .origin
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            (file.unwrap_or_default(), d.origin.line)
        };
        assert_eq!(from("torch"), ("requirements.txt".to_owned(), 3));
        assert_eq!(from("flake8"), ("requirements-test.txt".to_owned(), 10));
        assert_eq!(
            from("torchmetrics"),
            ("requirements-benchmark.txt".to_owned(), 10)
        );
        // included requirements come where the `-r` line is
        assert_eq!(names(&f.requirements)[..3], ["torch", "numpy", "mslk"]);
        let flake8 = f
            .requirements
            .iter()
            .find(|d| d.display_name() == "flake8")
            .expect("flake8");
        assert_eq!(flake8.pin.state, PinState::Exact);
        assert_eq!(flake8.canonical(), "flake8==6.1.0");
        let tm = f.requirements.last().expect("last");
        assert_eq!(tm.canonical(), "torchmetrics<0.10.1,>=0.7.0");
        assert_eq!(f.includes.len(), 2);
        assert!(
            f.includes
                .iter()
                .all(|i| i.kind == IncludeKind::Requirements && !i.is_remote())
        );
    }

    #[test]
    fn alpaca_bare_git_url_has_no_name_and_duplicates_stay() {
        let f = load(&corpus("tloen__alpaca-lora/requirements.txt")).expect("loads");
        let peft = &f.requirements[8];
        assert_eq!(peft.name, None);
        assert_eq!(peft.raw, "git+https://github.com/huggingface/peft.git");
        assert_eq!(peft.pin.state, PinState::Unpinned);
        let blacks: Vec<String> = f
            .requirements
            .iter()
            .filter(|d| d.name.as_ref().is_some_and(|n| n.as_str() == "black"))
            .map(Dependency::canonical)
            .collect();
        assert_eq!(blacks, ["black", "black[jupyter]"]);
    }

    #[test]
    fn dinov2_extra_index_urls_are_options_even_mid_file() {
        let f = load(&corpus("facebookresearch__dinov2/requirements.txt")).expect("loads");
        let opts: Vec<(&str, Option<&str>, u32)> = f
            .options
            .iter()
            .map(|o| (o.name.as_str(), o.value.as_deref(), o.origin.line))
            .collect();
        assert_eq!(
            opts,
            [
                (
                    "--extra-index-url",
                    Some("https://download.pytorch.org/whl/cu117"),
                    1
                ),
                ("--extra-index-url", Some("https://pypi.nvidia.com"), 10),
            ]
        );
        assert_eq!(f.requirements.len(), 9);
        assert_eq!(
            unpinned(&f.requirements),
            ["omegaconf", "fvcore", "iopath", "submitit", "cuml-cu11"]
        );
    }

    #[test]
    fn acpt_crlf_file_with_release_templates() {
        let f = load(&corpus(
            "Azure__azureml-assets/assets/training/finetune_acft_hf_nlp/environments/acpt/context/requirements.txt",
        ))
        .expect("loads");
        assert_eq!(f.requirements.len(), 27);
        let templated: Vec<String> = f
            .requirements
            .iter()
            .filter(|d| d.pin.state == PinState::Template)
            .map(Dependency::display_name)
            .collect();
        assert_eq!(
            templated,
            [
                "azureml-acft-accelerator",
                "azureml-acft-common-components",
                "azureml-acft-contrib-hf-nlp",
                "azureml-evaluate-mlflow",
                "mltable"
            ]
        );
        assert_eq!(f.templates.len(), 5);
        assert_eq!(f.templates[1].text, "{{latest-pypi-version}}");
        assert_eq!(
            (f.templates[1].origin.line, f.templates[1].origin.column),
            (2, 33)
        );
        assert!(f.requirements.iter().all(|d| !d.raw.contains('\r')));
    }

    #[test]
    fn rag_constraints_file_as_a_conda_pip_entry() {
        let dir = corpus(
            "Azure__azureml-assets/assets/large_language_models/rag/environments/rag_embeddings/context",
        );
        let conda = dir.join("conda_dependencies.yaml");
        let entries = vec![
            (
                "-c /pip_constraints.txt".to_owned(),
                Origin::new(&conda, 9, 5),
            ),
            (
                "azureml-rag>=0.2.37.1".to_owned(),
                Origin::new(&conda, 11, 5),
            ),
            (
                "azureml-mlflow=={{latest-pypi-version}}".to_owned(),
                Origin::new(&conda, 20, 5),
            ),
            (String::new(), Origin::new(&conda, 21, 5)),
            ("# comment".to_owned(), Origin::new(&conda, 22, 5)),
        ];
        let f = parse_entries(&entries, &dir).expect("loads");
        assert_eq!(f.files, [dir.join("pip_constraints.txt")]);
        assert_eq!(f.includes.len(), 1);
        assert_eq!(f.includes[0].kind, IncludeKind::Constraints);
        assert_eq!(f.includes[0].target, "/pip_constraints.txt");
        assert_eq!(f.constraints.len(), 12);
        assert!(f.constraints.iter().all(|d| d.pin.state == PinState::Range));
        assert_eq!(f.constraints[5].display_name(), "pynacl");
        assert_eq!(f.constraints[5].origin.line, 14);
        assert_eq!(names(&f.requirements), ["azureml-rag", "azureml-mlflow"]);
        assert_eq!(f.requirements[1].origin, Origin::new(&conda, 20, 5));
        assert_eq!(f.templates[0].origin, Origin::new(&conda, 20, 21));
    }

    #[test]
    fn automl_remote_include_with_bracketed_annotation_loads() {
        let conda = corpus(
            "Azure__MachineLearningNotebooks/how-to-use-azureml/automated-machine-learning/automl_env_linux.yml",
        );
        let entries = vec![
            (
                "https://aka.ms/automl-resources/packages/en_core_web_sm-3.7.1.tar.gz".to_owned(),
                Origin::new(&conda, 29, 5),
            ),
            (
                "-r https://automlcesdkdataresources.blob.core.windows.net/validated-requirements/1.59.0/validated_linux_requirements.txt [--no-deps]".to_owned(),
                Origin::new(&conda, 30, 5),
            ),
        ];
        let f = parse_entries(&entries, conda.parent().expect("folder")).expect("loads");
        assert_eq!(f.includes.len(), 1);
        assert!(f.includes[0].is_remote());
        assert_eq!(f.includes[0].origin, Origin::new(&conda, 30, 5));
        assert!(f.files.is_empty());
        assert_eq!(f.requirements[0].pin.state, PinState::Unpinned);
    }

    #[test]
    fn latent_diffusion_editable_entries() {
        let conda = corpus("CompVis__latent-diffusion/environment.yaml");
        let entries: Vec<(String, Origin)> = [
            (25, "-e git+https://github.com/CompVis/taming-transformers.git@master#egg=taming-transformers"),
            (26, "-e git+https://github.com/openai/CLIP.git@main#egg=clip"),
            (27, "-e ."),
        ]
        .into_iter()
        .map(|(line, text)| (text.to_owned(), Origin::new(&conda, line, 7)))
        .collect();
        let f = parse_entries(&entries, conda.parent().expect("folder")).expect("loads");
        let deps: Vec<(String, PinState, bool)> = f
            .requirements
            .iter()
            .map(|d| {
                let editable =
                    matches!(&d.spec, crate::definition::DependencySpec::Pip(r) if r.editable);
                (d.display_name(), d.pin.state, editable)
            })
            .collect();
        assert_eq!(
            deps,
            [
                ("taming-transformers".to_owned(), PinState::Unpinned, true),
                ("clip".to_owned(), PinState::Unpinned, true),
                ("-e .".to_owned(), PinState::Unpinned, true),
            ]
        );
        assert_eq!(f.requirements[2].canonical(), "-e .");
    }

    #[test]
    fn hashes_vcs_wheel_editable_and_include() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/azureml/inputs/requirements-hashes.txt");
        let f = load(&root).expect("loads");
        let opts: Vec<&str> = f.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(opts, ["--index-url", "--extra-index-url"]);
        let numpy = &f.requirements[0];
        assert_eq!(numpy.pin.state, PinState::Exact);
        assert_eq!((numpy.origin.line, numpy.origin.column), (3, 1));
        let crate::definition::DependencySpec::Pip(req) = &numpy.spec else {
            panic!("pip spec");
        };
        assert_eq!(
            req.hashes,
            [format!("sha256:{}", "0123456789abcdef".repeat(4))]
        );
        assert_eq!(
            numpy.canonical(),
            format!(
                "numpy==1.24.3 --hash=sha256:{}",
                "0123456789abcdef".repeat(4)
            )
        );
        let states: Vec<(String, PinState, u32)> = f
            .requirements
            .iter()
            .map(|d| (d.display_name(), d.pin.state, d.origin.line))
            .collect();
        assert_eq!(
            states,
            [
                ("numpy".to_owned(), PinState::Exact, 3),
                ("pandas".to_owned(), PinState::Range, 5),
                ("repo".to_owned(), PinState::Exact, 6),
                ("mylib".to_owned(), PinState::Unpinned, 7),
                ("-e ./local_pkg".to_owned(), PinState::Unpinned, 8),
                ("scipy".to_owned(), PinState::Exact, 1),
            ]
        );
        assert_eq!(f.files, [root.clone(), root.with_file_name("other.txt")]);
        assert_eq!(
            f.includes[0].resolved.as_deref(),
            Some(root.with_file_name("other.txt").as_path())
        );
    }

    #[test]
    fn include_cycle_is_an_error_with_the_chain() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.txt"), "numpy\n-r b.txt\n").expect("write");
        std::fs::write(dir.path().join("b.txt"), "-r a.txt\n").expect("write");
        let err = load(&dir.path().join("a.txt")).expect_err("cycle");
        let DefinitionError::IncludeCycle { chain } = &err else {
            panic!("expected a cycle, got {err:?}");
        };
        let names: Vec<String> = chain
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a.txt", "b.txt", "a.txt"]);
    }

    #[test]
    fn deep_includes_stop_at_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..=MAX_INCLUDE_DEPTH + 2 {
            std::fs::write(
                dir.path().join(format!("{i}.txt")),
                format!("-r {}.txt\n", i + 1),
            )
            .expect("write");
        }
        let err = load(&dir.path().join("0.txt")).expect_err("too deep");
        assert!(
            matches!(
                err,
                DefinitionError::IncludeTooDeep {
                    limit: MAX_INCLUDE_DEPTH,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn missing_include_names_the_including_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("req.txt");
        std::fs::write(&root, "numpy\n  -r  missing.txt\n").expect("write");
        let err = load(&root).expect_err("missing");
        let DefinitionError::MissingReference { origin, target, .. } = &err else {
            panic!("expected a missing reference, got {err:?}");
        };
        assert_eq!(
            (origin.file.as_path(), origin.line, origin.column),
            (root.as_path(), 2, 7)
        );
        assert_eq!(target, &dir.path().join("missing.txt"));
    }

    #[test]
    fn utf16_and_utf8_bom_copies_read_the_same() {
        let original = corpus("openai__whisper/requirements.txt");
        let text = std::fs::read_to_string(&original).expect("read");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.replace('\n', "\r\n").encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let mut bom8 = vec![0xEF, 0xBB, 0xBF];
        bom8.extend_from_slice(text.as_bytes());
        let base = load(&original).expect("loads");
        let canon = |f: &PipFile| -> Vec<(String, u32, u32)> {
            f.requirements
                .iter()
                .map(|d| (d.canonical(), d.origin.line, d.origin.column))
                .collect()
        };
        for (name, bytes) in [("utf16.txt", utf16), ("bom8.txt", bom8)] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            assert_eq!(canon(&load(&path).expect("loads")), canon(&base), "{name}");
        }
    }

    #[test]
    fn comments_continuations_and_options() {
        let f = from_text(
            "# top\n\
             numpy==1.0 # trailing\n\
             git+https://g.com/o/r.git@v1#egg=r\n\
             pandas \\\n  >=1.5 \\\n  --hash=sha256:aa\n\
             -i https://i.example/simple\n\
             --pre\n\
             --no-binary=:all:\n\
             -f ./wheels\n\
             --trusted-host i.example\n\
             --unknown-thing value\n\
             --require-hashes\n\
             torch \\",
        )
        .expect("parses");
        let deps: Vec<(String, u32, u32)> = f
            .requirements
            .iter()
            .map(|d| (d.canonical(), d.origin.line, d.origin.column))
            .collect();
        assert_eq!(
            deps,
            [
                ("numpy==1.0".to_owned(), 2, 1),
                ("r @ git+https://g.com/o/r.git@v1#egg=r".to_owned(), 3, 1),
                ("pandas>=1.5 --hash=sha256:aa".to_owned(), 4, 1),
                ("torch".to_owned(), 14, 1),
            ]
        );
        let opts: Vec<(&str, Option<&str>)> = f
            .options
            .iter()
            .map(|o| (o.name.as_str(), o.value.as_deref()))
            .collect();
        assert_eq!(
            opts,
            [
                ("--index-url", Some("https://i.example/simple")),
                ("--pre", None),
                ("--no-binary", Some(":all:")),
                ("--find-links", Some("./wheels")),
                ("--trusted-host", Some("i.example")),
                ("--unknown-thing", Some("value")),
                ("--require-hashes", None),
            ]
        );
    }

    #[test]
    fn remote_includes_are_recorded_not_fetched() {
        let f = from_text("-r https://example.com/req.txt\n-c http://example.com/c.txt\n")
            .expect("parses");
        assert_eq!(f.includes.len(), 2);
        assert!(f.includes.iter().all(Include::is_remote));
        assert_eq!(f.includes[1].kind, IncludeKind::Constraints);
        assert!(f.files.len() == 1);
    }

    #[test]
    fn parse_errors_point_at_the_bad_character() {
        insta::assert_snapshot!(error_at("numpy\n  pandas==\n"), @r"
        requirements.txt:2:11: expected a version after `==`
          |
        2 |   pandas==
          |           ^
        ");
        insta::assert_snapshot!(error_at("torch \\\n  >=abc\n"), @r"
        requirements.txt:2:5: expected a version after `>=`
          |
        2 |   >=abc
          |     ^
        ");
        insta::assert_snapshot!(error_at("numpy --index-url x\n"), @r"
        requirements.txt:1:7: unexpected option `--index-url` after a requirement; only `--hash`, `--config-settings` and `--global-option` go there
          |
        1 | numpy --index-url x
          |       ^
        ");
        insta::assert_snapshot!(error_at("--extra-index-url\n"), @r"
        requirements.txt:1:18: expected a value after `--extra-index-url`
          |
        1 | --extra-index-url
          |                  ^
        ");
        insta::assert_snapshot!(error_at("x; python_version >= '3.8' xor os_name == 'nt'"), @r#"
        requirements.txt:1:28: expected `and`, `or` or the end of the requirement
          |
        1 | x; python_version >= '3.8' xor os_name == 'nt'
          |                            ^
        "#);
    }

    #[test]
    fn entry_errors_point_into_the_conda_file() {
        // A conda `pip:` entry pip would reject is kept, with the error where it stops.
        let entries = vec![("numpy>=1.0,<".to_owned(), Origin::new("conda.yml", 7, 5))];
        let f = parse_entries(&entries, Path::new(".")).expect("tolerant");
        let e = f.requirements[0]
            .invalid_spec()
            .expect("invalid")
            .parse_error();
        insta::assert_snapshot!(e.to_string(), @"conda.yml:7:17: invalid pip requirement `numpy>=1.0,<`: expected a version after `<`");
    }

    #[test]
    fn an_invalid_conda_pip_entry_takes_back_what_it_added_and_the_rest_reads_on() {
        let entries: Vec<(String, Origin)> = [
            "--pre --index-url",
            "torch==2.0 # pinned",
            "x @ # nothing",
            "--extra-index-url https://a.example/simple",
        ]
        .iter()
        .zip(5..)
        .map(|(t, line)| ((*t).to_owned(), Origin::new("conda.yml", line, 7)))
        .collect();
        let f = parse_entries(&entries, Path::new(".")).expect("tolerant");
        // `--pre` came before the error on its line, so it is taken back with the line.
        let options: Vec<_> = f.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(options, ["--extra-index-url"]);
        let reqs: Vec<_> = f
            .requirements
            .iter()
            .map(|d| (d.raw.as_str(), d.invalid_spec().is_some()))
            .collect();
        assert_eq!(
            reqs,
            [
                ("--pre --index-url", true),
                ("torch==2.0", false),
                ("x @", true)
            ]
        );
        assert_eq!(f.requirements[0].origin, Origin::new("conda.yml", 5, 7));
    }

    #[test]
    fn a_requirements_file_stays_strict_even_when_a_conda_entry_includes_it() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("r.txt"), "ok==1\nnumpy>=\n").expect("write");
        let entries = vec![("-r r.txt".to_owned(), Origin::new("conda.yml", 3, 7))];
        let Err(DefinitionError::Parse(e)) = parse_entries(&entries, dir.path()) else {
            panic!("expected the included file's error");
        };
        assert_eq!((e.line, e.column), (2, 8));
        assert!(e.path.ends_with("r.txt"));
        assert!(from_text("numpy>=\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_file(s in "(\\PC|\n|\\\\|#| |-r|-e|--hash=){0,80}") {
            let _ = from_text(&s);
        }
    }
}
