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
//! A dependency's origin is the line and column of its first character (for joined lines,
//! the first line). Release templates (`{{latest-pypi-version}}`) anywhere on a line are
//! listed in [`PipFile::templates`].

use std::path::{Component, Path, PathBuf};

use super::pep508::{self, split_option, split_tokens};
use super::{DefinitionError, Dependency, Include, IncludeKind, PipOption, Template};
use crate::source::{Origin, ParseError, SourceFile};

/// How deep `-r`/`-c` includes may nest before loading stops.
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// Requirements with their options and includes, the includes already followed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PipFile {
    pub requirements: Vec<Dependency>,
    pub constraints: Vec<Dependency>,
    pub options: Vec<PipOption>,
    pub includes: Vec<Include>,
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
        loader.line(&line, base_dir, IncludeKind::Requirements)?;
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
            let hashes = self.requirement_options(opts, &line.at)?;
            let req_text = &text[..req_end];
            let mut req = pep508::parse_requirement_text(req_text, false)
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

    fn push_dependency(
        &mut self,
        req: pep508::PipRequirement,
        raw: &str,
        origin: Origin,
        kind: IncludeKind,
    ) {
        let dep = Dependency::pip(req, raw, origin);
        match kind {
            IncludeKind::Requirements => self.out.requirements.push(dep),
            IncludeKind::Constraints => self.out.constraints.push(dep),
        }
    }

    /// The options after a requirement: `--hash` values (others allowed by pip are skipped).
    fn requirement_options(
        &self,
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
                        hashes = self.requirement_options(&opts[i..], at)?;
                        i = opts.len();
                    }
                    let mut req = pep508::parse_requirement_text(v, true)
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
                    self.include(kind, target, at.origin(pos), at.origin(vpos), base)?;
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
        target_origin: Origin,
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
        self.file(&resolved, kind, Some(&target_origin))
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
