//! Dockerfiles: stages, the final base image, build args used in `FROM`, and the steps.
//!
//! The parser follows the Dockerfile reference (BuildKit syntax) closely enough to read every
//! Dockerfile docker itself accepts:
//!
//! - parser directives (`# syntax=`, `# escape=`) at the very top; `# escape=`` ` `` makes the
//!   backtick the escape character;
//! - full-line `#` comments; comment lines and empty lines inside a continuation are dropped;
//! - line continuations with the escape character (trailing spaces and tabs after it
//!   tolerated). Each continuation (the whitespace before the escape, the escape, the newline
//!   and the indentation of the next line) becomes one space in [`Instruction::arguments`];
//! - keywords are case-insensitive and normalised to upper case. The keyword ends at ASCII
//!   whitespace or a no-break space (U+00A0); elsewhere a no-break space is an ordinary
//!   character and is kept;
//! - JSON (exec) form is kept as written;
//! - heredocs (`RUN <<EOF`, `COPY <<EOF /x`, `<<-EOF`, quoted delimiters) are kept in
//!   `arguments` with their body and terminator, each line after a `\n`.
//!
//! Unknown instructions, instructions before the first `FROM` other than `ARG`, and files
//! without `FROM` are errors that point at the input, as docker rejects them too.
//!
//! [`Dockerfile::installs`] reads the `RUN` steps with a small shell tokeniser to find what
//! `pip`, `conda`, `mamba` and `micromamba` install; anything built from variables or command
//! substitutions is skipped, as it cannot be known without building.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::{DefinitionError, PipOption};
use crate::source::{Origin, ParseError, SourceFile};

/// Every instruction docker knows.
const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// How deep `bash -c "..."` scripts are followed.
const MAX_SHELL_NESTING: u8 = 4;

/// One `FROM` stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// The image as written in `FROM` (before build-arg substitution).
    pub base: String,
    /// `AS name`, lowercased.
    pub name: Option<String>,
    /// `--platform=...`
    pub platform: Option<String>,
    /// Where the image text starts.
    pub origin: Origin,
}

/// Where a piece of [`Instruction::arguments`] was written: the text from byte `offset` on
/// (up to the next span) starts at `line`/`column` of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub offset: usize,
    pub line: u32,
    pub column: u32,
}

/// One instruction, continuation lines joined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// Upper-case keyword (`RUN`, `COPY`, ...).
    pub keyword: String,
    /// The arguments with continuations joined (each `\`+newline and the indentation of
    /// the next line become one space; comment lines inside a continuation dropped).
    pub arguments: String,
    /// Index into `stages` (`None` for `ARG` before the first `FROM`).
    pub stage: Option<usize>,
    /// Where the keyword is.
    pub origin: Origin,
    /// Where each piece of `arguments` was written, in order (see [`Instruction::origin_at`]).
    #[serde(skip)]
    pub spans: Vec<Span>,
}

impl Instruction {
    /// The file position of byte `offset` of `arguments`.
    pub fn origin_at(&self, offset: usize) -> Origin {
        Positions::new(self).origin(offset)
    }

    /// The words of JSON (exec) form arguments; `None` for shell form.
    fn json_words(&self) -> Option<Vec<Word>> {
        json_array(&self.arguments)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dockerfile {
    pub path: PathBuf,
    pub stages: Vec<Stage>,
    pub instructions: Vec<Instruction>,
    /// The escape character (`\`, or a backtick after `# escape=``).
    #[serde(skip)]
    pub escape: char,
}

/// What the `RUN` steps of the final image install, as far as they can be read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Installs {
    /// `pip install PKG...` requirement arguments, unquoted, with where each was written.
    /// Editable installs are kept as `-e TARGET`.
    pub pip: Vec<(String, Origin)>,
    /// `conda install` / `conda create` / `conda update` / `mamba install` ... package
    /// arguments, unquoted.
    pub conda: Vec<(String, Origin)>,
    /// `--index-url`, `--extra-index-url`, `--find-links`, `--trusted-host` given to pip
    /// (short forms under their long names), each located at the option.
    pub pip_options: Vec<PipOption>,
    /// Files given to `pip install -r FILE`, as written.
    pub requirement_files: Vec<(String, Origin)>,
    /// Files given to `pip install -c FILE`, as written.
    pub constraint_files: Vec<(String, Origin)>,
    /// Files given to `conda env create -f FILE` / `conda env update -f` / `mamba env ...`,
    /// and to `-f`/`--file` of `mamba`/`micromamba`/`conda` `install`/`create`.
    pub conda_files: Vec<(String, Origin)>,
    /// `-c CHANNEL` / `--channel CHANNEL` given to conda, mamba or micromamba.
    pub conda_channels: Vec<(String, Origin)>,
}

/// Parse a Dockerfile.
pub fn parse(source: &SourceFile) -> Result<Dockerfile, DefinitionError> {
    Parser::new(source).run().map_err(DefinitionError::Parse)
}

struct Parser<'a> {
    source: &'a SourceFile,
    lines: Vec<&'a str>,
    escape: char,
}

/// A logical line: the continuation lines joined, with where each piece came from.
struct Logical {
    text: String,
    spans: Vec<Span>,
}

impl<'a> Parser<'a> {
    fn new(source: &'a SourceFile) -> Self {
        Self {
            source,
            lines: source.text.split('\n').collect(),
            escape: '\\',
        }
    }

    fn error(&self, line: usize, column: u32, message: String) -> ParseError {
        ParseError::at(self.source, to_u32(line), column, message)
    }

    fn origin(&self, line: u32, column: u32) -> Origin {
        self.source.origin(line, column)
    }

    fn run(mut self) -> Result<Dockerfile, ParseError> {
        let mut i = self.directives()?;
        let mut stages: Vec<Stage> = Vec::new();
        let mut instructions: Vec<Instruction> = Vec::new();
        while i < self.lines.len() {
            if is_blank_or_comment(self.lines[i]) {
                i += 1;
                continue;
            }
            let first_line = i;
            let (logical, next) = self.logical_line(i);
            i = next;
            let text = logical.text.as_str();
            let keyword_end = text
                .find(|c: char| c.is_ascii_whitespace() || c == '\u{a0}')
                .unwrap_or(text.len());
            let written = &text[..keyword_end];
            let keyword = written.to_ascii_uppercase();
            let keyword_origin = logical.spans.first().map_or_else(
                || self.origin(to_u32(first_line + 1), 1),
                |s| self.origin(s.line, s.column),
            );
            if !KEYWORDS.contains(&keyword.as_str()) {
                return Err(self.error(
                    first_line + 1,
                    keyword_origin.column,
                    format!("unknown instruction `{written}`"),
                ));
            }
            if stages.is_empty() && keyword != "ARG" && keyword != "FROM" {
                return Err(self.error(
                    first_line + 1,
                    keyword_origin.column,
                    format!("`{keyword}` comes before the first `FROM`; only `ARG` may"),
                ));
            }
            let rest = &text[keyword_end..];
            let start = keyword_end + (rest.len() - rest.trim_start_matches(is_separator).len());
            let end = text
                .trim_end_matches(|c: char| c.is_ascii_whitespace())
                .len()
                .max(start);
            let mut instruction = Instruction {
                keyword,
                arguments: text[start..end].to_owned(),
                stage: None,
                origin: keyword_origin,
                spans: rebase(&logical.spans, text, start),
            };
            if matches!(instruction.keyword.as_str(), "RUN" | "COPY" | "ADD") {
                i = self.heredocs(&mut instruction, i)?;
            }
            if instruction.keyword == "FROM" {
                stages.push(self.stage(&instruction)?);
            }
            instruction.stage = stages.len().checked_sub(1);
            instructions.push(instruction);
        }
        if stages.is_empty() {
            return Err(self.error(
                1,
                1,
                "no `FROM` instruction; a Dockerfile needs a base image".to_owned(),
            ));
        }
        Ok(Dockerfile {
            path: self.source.path.clone(),
            stages,
            instructions,
            escape: self.escape,
        })
    }

    /// Read the parser directives at the top; returns the first line after them.
    fn directives(&mut self) -> Result<usize, ParseError> {
        let mut i = 0;
        while let Some(line) = self.lines.get(i) {
            let Some((key, value, column)) = directive(line) else {
                break;
            };
            if key.eq_ignore_ascii_case("escape") {
                self.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(self.error(
                            i + 1,
                            column,
                            format!("invalid escape character `{value}`; use `\\` or a backtick"),
                        ));
                    }
                };
            }
            i += 1;
        }
        Ok(i)
    }

    /// Join the instruction starting at line index `i` with its continuation lines.
    /// Returns the joined text and the index of the line after it.
    fn logical_line(&self, mut i: usize) -> (Logical, usize) {
        let mut logical = Logical {
            text: String::new(),
            spans: Vec::new(),
        };
        loop {
            let line = self.lines[i];
            let segment = line.trim_start();
            let column = char_count(line) - char_count(segment) + 1;
            let (content, continues) = strip_continuation(segment, self.escape);
            logical.spans.push(Span {
                offset: logical.text.len(),
                line: to_u32(i + 1),
                column: to_u32(column),
            });
            logical.text.push_str(content);
            i += 1;
            if !continues {
                return (logical, i);
            }
            while i < self.lines.len() && is_blank_or_comment(self.lines[i]) {
                i += 1;
            }
            if i >= self.lines.len() {
                return (logical, i);
            }
            logical.text.push(' ');
        }
    }

    /// Append the bodies of the heredocs the instruction opens; returns the next line index.
    fn heredocs(&self, instruction: &mut Instruction, mut i: usize) -> Result<usize, ParseError> {
        if instruction.arguments.starts_with('[') && instruction.json_words().is_some() {
            return Ok(i);
        }
        for (delimiter, strip_tabs, offset) in heredoc_markers(&instruction.arguments) {
            let mut terminated = false;
            while let Some(line) = self.lines.get(i) {
                instruction.arguments.push('\n');
                instruction.spans.push(Span {
                    offset: instruction.arguments.len(),
                    line: to_u32(i + 1),
                    column: 1,
                });
                instruction.arguments.push_str(line);
                i += 1;
                let compared = if strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if compared == delimiter {
                    terminated = true;
                    break;
                }
            }
            if !terminated {
                let at = instruction.origin_at(offset);
                return Err(ParseError::at(
                    self.source,
                    at.line,
                    at.column,
                    format!("heredoc is not terminated; expected a line `{delimiter}`"),
                ));
            }
        }
        Ok(i)
    }

    fn stage(&self, from: &Instruction) -> Result<Stage, ParseError> {
        // The image is kept as written (no unquoting: `\.` in a release template stays).
        let words = raw_words(&from.arguments);
        let mut platform = None;
        let mut k = 0;
        while let Some(&(text, _)) = words.get(k) {
            if !text.starts_with("--") {
                break;
            }
            if let Some(value) = text.strip_prefix("--platform=") {
                platform = Some(value.to_owned());
            }
            k += 1;
        }
        let Some(&(image, image_offset)) = words.get(k) else {
            return Err(ParseError::at(
                self.source,
                from.origin.line,
                from.origin.column,
                "`FROM` needs an image".to_owned(),
            ));
        };
        let name = match (words.get(k + 1), words.get(k + 2)) {
            (Some((as_word, _)), Some((name, _))) if as_word.eq_ignore_ascii_case("as") => {
                Some(name.to_lowercase())
            }
            _ => None,
        };
        Ok(Stage {
            base: image.to_owned(),
            name,
            platform,
            origin: from.origin_at(image_offset),
        })
    }
}

impl Dockerfile {
    /// The base image of the final stage, following `FROM stage-name` chains, with `ARG`
    /// defaults and `build_args` substituted (`${VAR}`, `$VAR`, `${VAR:-default}`).
    pub fn final_base(&self, build_args: &BTreeMap<String, String>) -> Option<(String, Origin)> {
        let meta = self.meta_args(build_args);
        let last = *self.stage_chain(&meta).last()?;
        let stage = &self.stages[last];
        let reference = expand(&stage.base, &meta, self.escape);
        if reference.is_empty() {
            return None;
        }
        Some((reference, stage.origin.clone()))
    }

    /// The global `ARG`s (before the first `FROM`) with their values: `build_args` override
    /// the defaults; an `ARG` with neither is left out (it expands to nothing).
    pub fn meta_args(&self, build_args: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut args = BTreeMap::new();
        for instruction in self
            .instructions
            .iter()
            .filter(|i| i.stage.is_none() && i.keyword == "ARG")
        {
            for word in split_words(&instruction.arguments, self.escape) {
                let text = word.text();
                let (name, default) = match text.split_once('=') {
                    Some((name, default)) => (name, Some(default)),
                    None => (text.as_str(), None),
                };
                let value = match (build_args.get(name), default) {
                    (Some(given), _) => Some(given.clone()),
                    (None, Some(default)) => Some(expand(default, &args, self.escape)),
                    (None, None) => None,
                };
                match value {
                    Some(value) => args.insert(name.to_owned(), value),
                    None => args.remove(name),
                };
            }
        }
        args
    }

    /// Indices of the final stage and the stages it is built `FROM`, last stage first.
    fn stage_chain(&self, meta: &BTreeMap<String, String>) -> Vec<usize> {
        let mut named: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, stage) in self.stages.iter().enumerate() {
            if let Some(name) = &stage.name {
                named.entry(name.as_str()).or_default().push(index);
            }
        }
        let mut chain = Vec::new();
        let Some(mut index) = self.stages.len().checked_sub(1) else {
            return chain;
        };
        loop {
            chain.push(index);
            let base = expand(&self.stages[index].base, meta, self.escape).to_lowercase();
            // The latest stage of that name before this one.
            let earlier = named.get(base.as_str()).and_then(|indices| {
                let before = indices.partition_point(|&i| i < index);
                before.checked_sub(1).map(|k| indices[k])
            });
            match earlier {
                Some(earlier) => index = earlier,
                None => return chain,
            }
        }
    }

    /// `COPY`/`ADD` sources taken from the build context (not `--from=`, not URLs), as written.
    pub fn context_sources(&self) -> Vec<(String, Origin)> {
        let mut sources = Vec::new();
        for instruction in self
            .instructions
            .iter()
            .filter(|i| i.keyword == "COPY" || i.keyword == "ADD")
        {
            let words = match instruction.json_words() {
                Some(words) => words,
                None => {
                    let first_line = instruction.arguments.split('\n').next().unwrap_or_default();
                    split_words(first_line, self.escape)
                }
            };
            let flags = words
                .iter()
                .take_while(|w| w.text().starts_with("--"))
                .count();
            if words[..flags]
                .iter()
                .any(|w| w.text().starts_with("--from"))
            {
                continue;
            }
            let mut positions = Positions::new(instruction);
            let paths = &words[flags..];
            let Some((_destination, paths)) = paths.split_last() else {
                continue;
            };
            for word in paths {
                let text = word.text();
                let remote = ["http://", "https://", "git@", "git://", "ssh://"]
                    .iter()
                    .any(|p| text.starts_with(p));
                if remote || is_heredoc_word(&text) || text.is_empty() {
                    continue;
                }
                sources.push((text, positions.origin(word.start)));
            }
        }
        sources
    }

    /// Packages and files the final stage's `RUN` steps (and those of the stages it is built
    /// `FROM`) install.
    pub fn installs(&self) -> Installs {
        let meta = self.meta_args(&BTreeMap::new());
        let mut in_chain = vec![false; self.stages.len()];
        for index in self.stage_chain(&meta) {
            in_chain[index] = true;
        }
        let mut installs = Installs::default();
        for instruction in self
            .instructions
            .iter()
            .filter(|i| i.keyword == "RUN" && i.stage.is_some_and(|s| in_chain[s]))
        {
            let reader = InstallReader {
                instruction,
                positions: Positions::new(instruction),
                out: &mut installs,
            };
            reader.read();
        }
        installs
    }

    /// The canonical step list hashed: `KEYWORD arguments` per instruction.
    pub fn canonical_steps(&self) -> Vec<String> {
        self.instructions
            .iter()
            .map(|i| format!("{} {}", i.keyword, i.arguments))
            .collect()
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn char_count(s: &str) -> usize {
    s.chars().count()
}

/// Whitespace between a keyword and its arguments (a no-break space counts here only).
fn is_separator(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\u{a0}'
}

fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// `# key=value` at the top of the file: the key, the value and the value's column.
fn directive(line: &str) -> Option<(&str, &str, u32)> {
    let rest = line.strip_prefix('#')?;
    let body = rest.trim_start();
    let key_len = body
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(body.len());
    let key = &body[..key_len];
    if !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let after_key = body[key_len..].trim_start().strip_prefix('=')?;
    let value_start = after_key.trim_start();
    let value = value_start.trim_end();
    if value.is_empty() {
        return None;
    }
    let column = char_count(line) - char_count(value_start) + 1;
    Some((key, value, to_u32(column)))
}

/// The line without a trailing continuation, and whether there was one.
fn strip_continuation(segment: &str, escape: char) -> (&str, bool) {
    let trimmed = segment.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(content) => (content.trim_end_matches([' ', '\t']), true),
        None => (segment, false),
    }
}

/// Spans relative to `text[start..]`.
fn rebase(spans: &[Span], text: &str, start: usize) -> Vec<Span> {
    let mut out = Vec::with_capacity(spans.len());
    for (k, span) in spans.iter().enumerate() {
        if span.offset >= start {
            out.push(Span {
                offset: span.offset - start,
                ..*span
            });
        } else if spans.get(k + 1).is_none_or(|next| next.offset > start) {
            let skipped = text.get(span.offset..start).map_or(0, char_count);
            out.push(Span {
                offset: 0,
                line: span.line,
                column: span.column.saturating_add(to_u32(skipped)),
            });
        }
    }
    out
}

/// Heredoc markers on the first line of `arguments`: delimiter, `<<-`, byte offset.
/// Only words that start outside quotes count (`echo "a <<EOF"` opens no heredoc).
fn heredoc_markers(arguments: &str) -> Vec<(String, bool, usize)> {
    let first_line = arguments.split('\n').next().unwrap_or_default();
    let mut words = Vec::new();
    let mut start = None;
    let mut quote = None;
    let mut escaped = false;
    for (offset, c) in first_line.char_indices() {
        if start.is_none() {
            if c == ' ' || c == '\t' {
                continue;
            }
            start = Some(offset);
        }
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => escaped = true,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, ' ' | '\t') => {
                if let Some(s) = start.take() {
                    words.push((s, offset));
                }
            }
            (None, _) => {}
        }
    }
    if let Some(s) = start {
        words.push((s, first_line.len()));
    }
    words
        .into_iter()
        .filter_map(|(s, e)| {
            let (delimiter, strip_tabs) = heredoc_delimiter(&first_line[s..e])?;
            Some((delimiter, strip_tabs, s))
        })
        .collect()
}

fn is_heredoc_word(word: &str) -> bool {
    heredoc_delimiter(word).is_some()
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`, optionally after a file descriptor number.
fn heredoc_delimiter(word: &str) -> Option<(String, bool)> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.strip_prefix("<<")?;
    let (rest, strip_tabs) = match rest.strip_prefix('-') {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let delimiter: String = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or_default().to_owned(),
        _ => rest
            .chars()
            .take_while(|c| !matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')' | '"' | '\''))
            .collect(),
    };
    if delimiter.is_empty() {
        return None;
    }
    Some((delimiter, strip_tabs))
}

/// Expand `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}` and
/// `${VAR+alt}`; unknown variables expand to nothing, `escape` followed by `$` is a `$`.
pub fn expand(text: &str, vars: &BTreeMap<String, String>, escape: char) -> String {
    expand_nested(text, vars, escape, 0)
}

/// Longest `${...}` expression expanded; a longer one is kept as written (this bounds the
/// work on unterminated `${`).
const MAX_EXPRESSION_CHARS: usize = 512;

/// How deeply `${A:-${B:-...}}` defaults are expanded; deeper text is kept as written.
const MAX_EXPANSION_NESTING: u8 = 16;

fn expand_nested(text: &str, vars: &BTreeMap<String, String>, escape: char, depth: u8) -> String {
    if depth > MAX_EXPANSION_NESTING {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        if c == escape && chars.get(k + 1) == Some(&'$') {
            out.push('$');
            k += 2;
        } else if c == '$' && chars.get(k + 1) == Some(&'{') {
            match expand_braced(&chars, k + 2, vars, escape, depth) {
                Some((value, next)) => {
                    out.push_str(&value);
                    k = next;
                }
                None => {
                    out.push(c);
                    k += 1;
                }
            }
        } else if c == '$'
            && chars
                .get(k + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_')
        {
            let end = (k + 1..chars.len())
                .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                .unwrap_or(chars.len());
            let name: String = chars[k + 1..end].iter().collect();
            out.push_str(vars.get(&name).map_or("", String::as_str));
            k = end;
        } else {
            out.push(c);
            k += 1;
        }
    }
    out
}

/// Expand `${...}` whose name starts at `start`; returns the value and the index after `}`.
fn expand_braced(
    chars: &[char],
    start: usize,
    vars: &BTreeMap<String, String>,
    escape: char,
    depth: u8,
) -> Option<(String, usize)> {
    let name_end = (start..chars.len())
        .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
        .unwrap_or(chars.len());
    if name_end == start {
        return None;
    }
    let name: String = chars[start..name_end].iter().collect();
    let value = vars.get(&name);
    let mut braces = 1usize;
    let mut close = None;
    for (j, &c) in chars
        .iter()
        .enumerate()
        .skip(name_end)
        .take(MAX_EXPRESSION_CHARS)
    {
        match c {
            '{' => braces += 1,
            '}' => {
                braces -= 1;
                if braces == 0 {
                    close = Some(j);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    let modifier: String = chars[name_end..close].iter().collect();
    let set = value.is_some();
    let non_empty = value.is_some_and(|v| !v.is_empty());
    let word = |w: &str| expand_nested(w, vars, escape, depth + 1);
    let result = if modifier.is_empty() {
        value.cloned().unwrap_or_default()
    } else if let Some(default) = modifier.strip_prefix(":-") {
        if non_empty {
            value.cloned().unwrap_or_default()
        } else {
            word(default)
        }
    } else if let Some(default) = modifier.strip_prefix('-') {
        if set {
            value.cloned().unwrap_or_default()
        } else {
            word(default)
        }
    } else if let Some(alt) = modifier.strip_prefix(":+") {
        if non_empty { word(alt) } else { String::new() }
    } else if let Some(alt) = modifier.strip_prefix('+') {
        if set { word(alt) } else { String::new() }
    } else {
        return None;
    };
    Some((result, close + 1))
}

/// One shell word: the text with quotes removed, each character with the byte offset (in
/// the instruction's arguments) it was written at.
#[derive(Clone, Debug, Default)]
struct Word {
    chars: Vec<(char, usize)>,
    /// Holds `$VAR`, `${...}`, `$(...)` or a backtick substitution: not known statically.
    dynamic: bool,
    /// Offset of the word's first character as written (an opening quote included).
    start: usize,
}

impl Word {
    fn new(start: usize) -> Self {
        Self {
            chars: Vec::new(),
            dynamic: false,
            start,
        }
    }

    fn text(&self) -> String {
        self.chars.iter().map(|(c, _)| c).collect()
    }

    /// The word from its `n`th character on, starting where that character was written.
    fn tail(&self, n: usize) -> Word {
        let chars = self.chars.get(n..).unwrap_or_default().to_vec();
        let start = chars.first().map_or(self.start, |(_, o)| *o);
        Word {
            chars,
            dynamic: self.dynamic,
            start,
        }
    }
}

/// Maps byte offsets of an instruction's arguments to file positions; consecutive look-ups
/// at increasing offsets count only the characters in between.
struct Positions<'a> {
    instruction: &'a Instruction,
    /// The span index, byte offset and column of the previous look-up.
    last: Option<(usize, usize, u32)>,
}

impl<'a> Positions<'a> {
    fn new(instruction: &'a Instruction) -> Self {
        Self {
            instruction,
            last: None,
        }
    }

    fn origin(&mut self, offset: usize) -> Origin {
        let instruction = self.instruction;
        let offset = offset.min(instruction.arguments.len());
        let index = instruction.spans.partition_point(|s| s.offset <= offset);
        let Some(index) = index.checked_sub(1) else {
            return instruction.origin.clone();
        };
        let span = instruction.spans[index];
        let (from, column) = match self.last {
            Some((i, o, c)) if i == index && o <= offset => (o, c),
            _ => (span.offset, span.column),
        };
        let chars = instruction
            .arguments
            .get(from..offset)
            .map_or(0, char_count);
        let column = column.saturating_add(to_u32(chars));
        self.last = Some((index, offset, column));
        Origin::new(instruction.origin.file.clone(), span.line, column)
    }
}

/// Words split at ASCII whitespace, as written, with their byte offsets.
fn raw_words(text: &str) -> Vec<(&str, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    for (offset, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_ascii_whitespace(), start) {
            (true, Some(s)) => {
                words.push((&text[s..offset], s));
                start = None;
            }
            (false, None) => start = Some(offset),
            _ => {}
        }
    }
    words
}

/// Words of Dockerfile arguments (`FROM`, `ARG`, `COPY`): quotes and the escape character
/// honoured, no shell operators.
fn split_words(text: &str, escape: char) -> Vec<Word> {
    let input: Vec<(char, usize)> = text.char_indices().map(|(o, c)| (c, o)).collect();
    lex(&input, false, escape).into_iter().flatten().collect()
}

/// Split into words and, with `shell`, into simple commands at `&&`, `||`, `;`, `|`, `&`,
/// newlines and parentheses; comments and redirections are dropped.
fn lex(input: &[(char, usize)], shell: bool, escape: char) -> Vec<Vec<Word>> {
    let mut lexer = Lexer {
        commands: Vec::new(),
        words: Vec::new(),
        word: None,
        drop_next: false,
    };
    let mut k = 0;
    while let Some(&(c, offset)) = input.get(k) {
        let next = input.get(k + 1).map(|(c, _)| *c);
        if shell && c == '#' && lexer.word.is_none() {
            while input.get(k).is_some_and(|(c, _)| *c != '\n') {
                k += 1;
            }
            continue;
        }
        match c {
            ' ' | '\t' | '\r' => {
                lexer.finish_word();
                k += 1;
            }
            '\n' => {
                lexer.finish_word();
                if shell {
                    lexer.finish_command();
                }
                k += 1;
            }
            '&' if shell && next == Some('>') => {
                lexer.finish_word();
                k = redirection(input, k + 1, &mut lexer);
            }
            ';' | '&' | '|' | '(' | ')' if shell => {
                lexer.finish_word();
                lexer.finish_command();
                k += 1;
            }
            '<' | '>' if shell => {
                let fd = lexer.word.as_ref().is_some_and(|w| {
                    !w.chars.is_empty() && w.chars.iter().all(|(c, _)| c.is_ascii_digit())
                });
                if fd {
                    lexer.word = None;
                } else {
                    lexer.finish_word();
                }
                k = redirection(input, k, &mut lexer);
            }
            '\'' => {
                let word = lexer.word.get_or_insert_with(|| Word::new(offset));
                k += 1;
                while let Some(&(c, o)) = input.get(k) {
                    k += 1;
                    if c == '\'' {
                        break;
                    }
                    word.chars.push((c, o));
                }
            }
            '"' => {
                let word = lexer.word.get_or_insert_with(|| Word::new(offset));
                k += 1;
                while let Some(&(c, o)) = input.get(k) {
                    match c {
                        '"' => {
                            k += 1;
                            break;
                        }
                        c if c == escape => match input.get(k + 1) {
                            Some(&(n, no))
                                if matches!(n, '$' | '`' | '"' | '\n') || n == escape =>
                            {
                                if n != '\n' {
                                    word.chars.push((n, no));
                                }
                                k += 2;
                            }
                            _ => {
                                word.chars.push((c, o));
                                k += 1;
                            }
                        },
                        '$' => k = dollar(input, k, word),
                        '`' if shell => k = backtick(input, k, word),
                        _ => {
                            word.chars.push((c, o));
                            k += 1;
                        }
                    }
                }
            }
            '$' => {
                let word = lexer.word.get_or_insert_with(|| Word::new(offset));
                k = dollar(input, k, word);
            }
            '`' if shell => {
                let word = lexer.word.get_or_insert_with(|| Word::new(offset));
                k = backtick(input, k, word);
            }
            c if c == escape => {
                let word = lexer.word.get_or_insert_with(|| Word::new(offset));
                if let Some(&(n, no)) = input.get(k + 1)
                    && n != '\n'
                {
                    word.chars.push((n, no));
                }
                k += 2;
            }
            _ => {
                lexer
                    .word
                    .get_or_insert_with(|| Word::new(offset))
                    .chars
                    .push((c, offset));
                k += 1;
            }
        }
    }
    lexer.finish_word();
    lexer.finish_command();
    lexer.commands
}

struct Lexer {
    commands: Vec<Vec<Word>>,
    words: Vec<Word>,
    word: Option<Word>,
    /// The next word is the target of a redirection.
    drop_next: bool,
}

impl Lexer {
    fn finish_word(&mut self) {
        if let Some(word) = self.word.take() {
            if self.drop_next {
                self.drop_next = false;
            } else {
                self.words.push(word);
            }
        }
    }

    fn finish_command(&mut self) {
        self.drop_next = false;
        if !self.words.is_empty() {
            self.commands.push(std::mem::take(&mut self.words));
        }
    }
}

/// Skip a redirection operator at `k` (`>`, `>>`, `<`, `>&2`, `2>&1`, `&>`, ...); its target
/// word is dropped. Returns the index after the operator.
fn redirection(input: &[(char, usize)], mut k: usize, lexer: &mut Lexer) -> usize {
    let mut last = None;
    while let Some(&(c, _)) = input.get(k) {
        if !matches!(c, '<' | '>' | '&' | '|') || (c == '|' && last != Some('>')) {
            break;
        }
        last = Some(c);
        k += 1;
    }
    if last == Some('&') {
        while input
            .get(k)
            .is_some_and(|(c, _)| c.is_ascii_digit() || *c == '-')
        {
            k += 1;
        }
        if !input
            .get(k)
            .is_some_and(|(c, _)| c.is_whitespace() || matches!(c, ';' | '&' | '|'))
            && k < input.len()
        {
            lexer.drop_next = true;
        }
    } else {
        lexer.drop_next = true;
    }
    k
}

/// A `$` at `k`: `$(...)`, `${...}`, `$NAME` or a special parameter, copied into `word`.
fn dollar(input: &[(char, usize)], k: usize, word: &mut Word) -> usize {
    let next = input.get(k + 1).map(|(c, _)| *c);
    match next {
        Some('(') => {
            word.dynamic = true;
            word.chars.push(input[k]);
            balanced(input, k + 1, '(', ')', word)
        }
        Some('{') => {
            word.dynamic = true;
            word.chars.push(input[k]);
            balanced(input, k + 1, '{', '}', word)
        }
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            word.dynamic = true;
            word.chars.push(input[k]);
            let mut j = k + 1;
            while let Some(&(c, o)) = input.get(j) {
                if !(c.is_ascii_alphanumeric() || c == '_') {
                    break;
                }
                word.chars.push((c, o));
                j += 1;
            }
            j
        }
        Some(c) if c.is_ascii_digit() || matches!(c, '@' | '*' | '#' | '?' | '$' | '!' | '-') => {
            word.dynamic = true;
            word.chars.push(input[k]);
            word.chars.push(input[k + 1]);
            k + 2
        }
        _ => {
            word.chars.push(input[k]);
            k + 1
        }
    }
}

/// Copy a bracketed group opening at `k` into `word`; returns the index after its end.
fn balanced(
    input: &[(char, usize)],
    mut k: usize,
    open: char,
    close: char,
    word: &mut Word,
) -> usize {
    let mut depth = 0usize;
    while let Some(&(c, o)) = input.get(k) {
        word.chars.push((c, o));
        k += 1;
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                break;
            }
        } else if c == '\'' {
            while let Some(&(q, qo)) = input.get(k) {
                word.chars.push((q, qo));
                k += 1;
                if q == '\'' {
                    break;
                }
            }
        } else if c == '\\'
            && let Some(&escaped) = input.get(k)
        {
            word.chars.push(escaped);
            k += 1;
        }
    }
    k
}

/// A backtick command substitution at `k`, copied into `word`.
fn backtick(input: &[(char, usize)], mut k: usize, word: &mut Word) -> usize {
    word.dynamic = true;
    word.chars.push(input[k]);
    k += 1;
    while let Some(&(c, o)) = input.get(k) {
        word.chars.push((c, o));
        k += 1;
        if c == '`' {
            break;
        }
        if c == '\\'
            && let Some(&escaped) = input.get(k)
        {
            word.chars.push(escaped);
            k += 1;
        }
    }
    k
}

/// A JSON array of strings (exec form), each string as a word with source offsets;
/// `None` when the text is not one (docker then reads it as shell form).
fn json_array(text: &str) -> Option<Vec<Word>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let is_ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let skip_ws = |mut k: usize| {
        while chars.get(k).is_some_and(|(_, c)| is_ws(*c)) {
            k += 1;
        }
        k
    };
    let mut k = skip_ws(0);
    if chars.get(k)?.1 != '[' {
        return None;
    }
    k = skip_ws(k + 1);
    let mut words = Vec::new();
    if chars.get(k)?.1 == ']' {
        return (skip_ws(k + 1) == chars.len()).then_some(words);
    }
    loop {
        let &(quote_offset, quote) = chars.get(k)?;
        if quote != '"' {
            return None;
        }
        let mut word = Word::new(quote_offset + 1);
        k += 1;
        loop {
            let &(offset, c) = chars.get(k)?;
            k += 1;
            match c {
                '"' => break,
                '\\' => {
                    let (_, e) = *chars.get(k)?;
                    k += 1;
                    let decoded = match e {
                        '"' | '\\' | '/' => e,
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'u' => {
                            let unit = hex4(&chars, k)?;
                            k += 4;
                            if (0xD800..0xDC00).contains(&unit) {
                                if chars.get(k)?.1 != '\\' || chars.get(k + 1)?.1 != 'u' {
                                    return None;
                                }
                                let low = hex4(&chars, k + 2)?;
                                k += 6;
                                char::decode_utf16([unit, low]).next()?.ok()?
                            } else {
                                char::from_u32(u32::from(unit))?
                            }
                        }
                        _ => return None,
                    };
                    word.chars.push((decoded, offset));
                }
                c if u32::from(c) < 0x20 => return None,
                c => word.chars.push((c, offset)),
            }
        }
        words.push(word);
        k = skip_ws(k);
        match chars.get(k)?.1 {
            ',' => k = skip_ws(k + 1),
            ']' => break,
            _ => return None,
        }
    }
    (skip_ws(k + 1) == chars.len()).then_some(words)
}

fn hex4(chars: &[(usize, char)], k: usize) -> Option<u16> {
    let digits: String = chars.get(k..k + 4)?.iter().map(|(_, c)| c).collect();
    u16::from_str_radix(&digits, 16).ok()
}

/// Where the value of an install option goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Requirement,
    Constraint,
    Editable,
    /// A pip option kept, under its long name.
    PipOption(&'static str),
    Channel,
    CondaFile,
    Ignore,
}

/// pip (and `uv pip`) long options that take a value.
fn pip_long(name: &str) -> Option<Target> {
    Some(match name {
        "--requirement" => Target::Requirement,
        "--constraint" => Target::Constraint,
        "--editable" => Target::Editable,
        "--index-url" | "--extra-index-url" | "--find-links" | "--trusted-host" | "--index"
        | "--default-index" => Target::PipOption(long_option_name(name)),
        "--upgrade-strategy"
        | "--target"
        | "--prefix"
        | "--root"
        | "--src"
        | "--progress-bar"
        | "--timeout"
        | "--retries"
        | "--cache-dir"
        | "--log"
        | "--log-file"
        | "--proxy"
        | "--cert"
        | "--client-cert"
        | "--exists-action"
        | "--no-binary"
        | "--only-binary"
        | "--platform"
        | "--python-version"
        | "--implementation"
        | "--abi"
        | "--global-option"
        | "--install-option"
        | "--build-option"
        | "--config-settings"
        | "--config-setting"
        | "--report"
        | "--python"
        | "--keyring-provider"
        | "--use-feature"
        | "--use-deprecated"
        | "--root-user-action"
        | "--index-strategy"
        | "--resolution"
        | "--prerelease"
        | "--python-platform"
        | "--extra"
        | "--group"
        | "--override"
        | "--build-constraint"
        | "--exclude-newer"
        | "--link-mode"
        | "--reinstall-package"
        | "--upgrade-package"
        | "--no-binary-package"
        | "--only-binary-package" => Target::Ignore,
        _ => return None,
    })
}

fn long_option_name(name: &str) -> &'static str {
    match name {
        "--index-url" => "--index-url",
        "--extra-index-url" => "--extra-index-url",
        "--find-links" => "--find-links",
        "--trusted-host" => "--trusted-host",
        "--index" => "--index",
        _ => "--default-index",
    }
}

fn pip_short(c: char) -> Option<Target> {
    Some(match c {
        'r' => Target::Requirement,
        'c' => Target::Constraint,
        'e' => Target::Editable,
        'i' => Target::PipOption("--index-url"),
        'f' => Target::PipOption("--find-links"),
        't' | 'C' | 'b' | 'd' | 'p' | 'P' => Target::Ignore,
        _ => return None,
    })
}

/// conda, mamba and micromamba `install`/`create`/`env` options that take a value.
fn conda_long(name: &str) -> Option<Target> {
    Some(match name {
        "--channel" => Target::Channel,
        "--file" => Target::CondaFile,
        "--name"
        | "--prefix"
        | "--repodata-fn"
        | "--solver"
        | "--experimental-solver"
        | "--platform"
        | "--subdir"
        | "--clone"
        | "--root-prefix"
        | "--rc-file"
        | "--channel-priority"
        | "--category"
        | "--pkgs-dirs"
        | "--channel-alias"
        | "--strict-channel-priority-level" => Target::Ignore,
        _ => return None,
    })
}

fn conda_short(c: char) -> Option<Target> {
    Some(match c {
        'c' => Target::Channel,
        'f' => Target::CondaFile,
        'n' | 'p' | 'r' => Target::Ignore,
        _ => return None,
    })
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// `name`, `name3`, `name3.10`.
fn is_versioned(command: &str, name: &str) -> bool {
    command
        .strip_prefix(name)
        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Reads one `RUN` instruction into [`Installs`].
struct InstallReader<'a> {
    instruction: &'a Instruction,
    positions: Positions<'a>,
    out: &'a mut Installs,
}

impl InstallReader<'_> {
    fn read(mut self) {
        let instruction = self.instruction;
        if let Some(words) = instruction.json_words() {
            self.command(&words, 0);
            return;
        }
        let arguments = &instruction.arguments;
        let input: Vec<(char, usize)> = arguments.char_indices().map(|(o, c)| (c, o)).collect();
        let first_line_end = arguments.find('\n').unwrap_or(arguments.len());
        let first_line = &arguments[..first_line_end];
        // `RUN <<EOF` with nothing else: the heredoc body is the script.
        let script_heredoc =
            !first_line.trim().is_empty() && first_line.split_whitespace().all(is_heredoc_word);
        let script = if script_heredoc {
            &input[..]
        } else {
            let end = input.partition_point(|(_, o)| *o < first_line_end);
            &input[..end]
        };
        self.script(script, 0);
    }

    fn script(&mut self, input: &[(char, usize)], depth: u8) {
        for command in lex(input, true, '\\') {
            self.command(&command, depth);
        }
    }

    fn origin(&mut self, word: &Word) -> Origin {
        self.positions.origin(word.start)
    }

    fn command(&mut self, words: &[Word], depth: u8) {
        let words = strip_prefixes(words);
        let Some(first) = words.first() else {
            return;
        };
        let name = first.text();
        let command = basename(&name);
        let text = |k: usize| words.get(k).map(Word::text).unwrap_or_default();
        if matches!(command, "sh" | "bash" | "dash" | "zsh" | "ash") {
            self.shell_c(&words[1..], depth);
        } else if is_versioned(command, "pip") && !command.is_empty() {
            self.pip_command(&words[1..]);
        } else if is_versioned(command, "python") {
            self.python_m_pip(&words[1..]);
        } else if command == "uv" && text(1) == "pip" && text(2) == "install" {
            self.pip_install(&words[3..]);
        } else if matches!(command, "conda" | "mamba" | "micromamba") {
            match (text(1).as_str(), text(2).as_str()) {
                ("install" | "create" | "update" | "upgrade", _) => self.conda_install(&words[2..]),
                ("env", "create" | "update") => self.conda_env(&words[3..]),
                _ => {}
            }
        }
    }

    /// `bash -c SCRIPT`, `sh -ec SCRIPT`: read the script.
    fn shell_c(&mut self, args: &[Word], depth: u8) {
        if depth >= MAX_SHELL_NESTING {
            return;
        }
        let mut k = 0;
        while let Some(word) = args.get(k) {
            let text = word.text();
            k += 1;
            if text.starts_with("--") {
                continue;
            }
            if text.starts_with('-') {
                if text.contains('c') {
                    if let Some(script) = args.get(k) {
                        self.script(&script.chars, depth + 1);
                    }
                    return;
                }
                continue;
            }
            return;
        }
    }

    /// `pip [global options] install ...`
    fn pip_command(&mut self, args: &[Word]) {
        let mut k = 0;
        while let Some(word) = args.get(k) {
            let text = word.text();
            k += 1;
            if text == "install" {
                self.pip_install(&args[k..]);
                return;
            }
            if !text.starts_with('-') {
                return;
            }
            if !text.contains('=') && pip_long(&text).is_some() {
                k += 1;
            }
        }
    }

    /// `python [-flags] -m pip install ...`
    fn python_m_pip(&mut self, args: &[Word]) {
        let mut k = 0;
        while let Some(word) = args.get(k) {
            let text = word.text();
            k += 1;
            if text == "-m" {
                if args.get(k).map(Word::text).as_deref() == Some("pip") {
                    self.pip_command(&args[k + 1..]);
                }
                return;
            }
            if !text.starts_with('-') || text == "-c" {
                return;
            }
        }
    }

    fn pip_install(&mut self, args: &[Word]) {
        self.options(args, pip_long, pip_short, |reader, word| {
            let text = word.text();
            if !text.is_empty() {
                let origin = reader.origin(word);
                reader.out.pip.push((text, origin));
            }
        });
    }

    fn conda_install(&mut self, args: &[Word]) {
        self.options(args, conda_long, conda_short, |reader, word| {
            let text = word.text();
            if !text.is_empty() {
                let origin = reader.origin(word);
                reader.out.conda.push((text, origin));
            }
        });
    }

    fn conda_env(&mut self, args: &[Word]) {
        self.options(args, conda_long, conda_short, |_, _| {});
    }

    /// Walk options and positional arguments; `positional` gets each static positional word.
    fn options(
        &mut self,
        args: &[Word],
        long: fn(&str) -> Option<Target>,
        short: fn(char) -> Option<Target>,
        positional: fn(&mut Self, &Word),
    ) {
        let mut k = 0;
        let mut only_positional = false;
        while let Some(word) = args.get(k) {
            k += 1;
            let text = word.text();
            if !only_positional && text == "--" {
                only_positional = true;
            } else if !only_positional && text.starts_with("--") {
                let (name, inline) = match text.split_once('=') {
                    Some((name, _)) => (name, Some(word.tail(char_count(name) + 1))),
                    None => (text.as_str(), None),
                };
                if let Some(target) = long(name) {
                    let value = match inline {
                        Some(value) => Some(value),
                        None => {
                            k += 1;
                            args.get(k - 1).cloned()
                        }
                    };
                    if let Some(value) = value {
                        self.record(target, word, &value);
                    }
                }
            } else if !only_positional && text.starts_with('-') && text.len() > 1 {
                for (n, c) in text.chars().enumerate().skip(1) {
                    if let Some(target) = short(c) {
                        let value = if n + 1 < char_count(&text) {
                            Some(word.tail(n + 1))
                        } else {
                            k += 1;
                            args.get(k - 1).cloned()
                        };
                        if let Some(value) = value {
                            self.record(target, word, &value);
                        }
                        break;
                    }
                }
            } else if !word.dynamic {
                positional(self, word);
            }
        }
    }

    /// Record the `value` of `option`; pip options and editables are located at the option.
    fn record(&mut self, target: Target, option: &Word, value: &Word) {
        if value.dynamic {
            return;
        }
        let text = value.text();
        if text.is_empty() {
            return;
        }
        let origin = match target {
            Target::PipOption(_) | Target::Editable => self.origin(option),
            _ => self.origin(value),
        };
        match target {
            Target::Requirement => self.out.requirement_files.push((text, origin)),
            Target::Constraint => self.out.constraint_files.push((text, origin)),
            Target::Editable => self.out.pip.push((format!("-e {text}"), origin)),
            Target::PipOption(name) => self.out.pip_options.push(PipOption {
                name: name.to_owned(),
                value: Some(text),
                origin,
            }),
            Target::Channel => self.out.conda_channels.push((text, origin)),
            Target::CondaFile => self.out.conda_files.push((text, origin)),
            Target::Ignore => {}
        }
    }
}

/// Drop what comes before the real command: shell keywords (`if`, `then`, `do`, `!`, ...),
/// variable assignments, and wrappers (`sudo`, `env`, `exec`, `conda run -n ENV`, ...).
fn strip_prefixes(mut words: &[Word]) -> &[Word] {
    loop {
        let Some(first) = words.first() else {
            return words;
        };
        let text = first.text();
        let command = basename(&text);
        let skip = if matches!(
            text.as_str(),
            "if" | "then" | "else" | "elif" | "do" | "while" | "until" | "!" | "{" | "time"
        ) || is_assignment(&text)
        {
            1
        } else if matches!(
            text.as_str(),
            "fi" | "done" | "}" | "esac" | "for" | "case" | "function"
        ) {
            return &[];
        } else if matches!(
            command,
            "sudo" | "env" | "exec" | "nohup" | "command" | "nice"
        ) {
            1 + wrapper_options(
                &words[1..],
                &["-u", "-g", "-C", "-D", "-p", "-r", "-t", "-U", "-n", "-S"],
            )
        } else if matches!(command, "conda" | "mamba" | "micromamba")
            && words.get(1).is_some_and(|w| w.text() == "run")
        {
            2 + wrapper_options(
                &words[2..],
                &[
                    "-n",
                    "-p",
                    "--name",
                    "--prefix",
                    "--cwd",
                    "-r",
                    "--root-prefix",
                ],
            )
        } else {
            return words;
        };
        words = words.get(skip..).unwrap_or_default();
    }
}

/// How many leading option words a wrapper has (`valued` options take the next word).
fn wrapper_options(words: &[Word], valued: &[&str]) -> usize {
    let mut k = 0;
    while let Some(word) = words.get(k) {
        let text = word.text();
        if !text.starts_with('-') {
            break;
        }
        k += if valued.contains(&text.as_str()) {
            2
        } else {
            1
        };
    }
    k.min(words.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")
    }

    fn load(relative: &str) -> Dockerfile {
        let path = corpus_dir().join("files").join(relative);
        let source = SourceFile::read(&path).unwrap();
        parse(&source).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    fn text(src: &str) -> Dockerfile {
        parse(&SourceFile::from_text("Dockerfile", src)).unwrap()
    }

    fn error(src: &str) -> String {
        parse(&SourceFile::from_text("Dockerfile", src))
            .unwrap_err()
            .to_string()
    }

    fn names(items: &[(String, Origin)]) -> Vec<&str> {
        items.iter().map(|(s, _)| s.as_str()).collect()
    }

    fn at(items: &[(String, Origin)]) -> Vec<(&str, u32, u32)> {
        items
            .iter()
            .map(|(s, o)| (s.as_str(), o.line, o.column))
            .collect()
    }

    fn final_base(df: &Dockerfile) -> Option<String> {
        df.final_base(&BTreeMap::new()).map(|(r, _)| r)
    }

    fn corpus_dockerfiles() -> Vec<String> {
        let index = std::fs::read_to_string(corpus_dir().join("INDEX.tsv")).unwrap();
        let mut paths: Vec<String> = index
            .lines()
            .skip(1)
            .filter_map(|row| {
                let cols: Vec<&str> = row.split('\t').collect();
                let kind = cols.get(4)?;
                let notes = cols.get(5).copied().unwrap_or_default();
                (*kind == "dockerfile" || notes.contains("role=Dockerfile"))
                    .then(|| cols[0].trim_start_matches("files/").to_owned())
            })
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }

    #[test]
    fn every_corpus_dockerfile_loads() {
        let paths = corpus_dockerfiles();
        assert!(
            paths.len() >= 14,
            "only {} Dockerfiles in the index",
            paths.len()
        );
        for path in paths {
            let df = load(&path);
            assert!(!df.stages.is_empty(), "{path}");
            assert!(final_base(&df).is_some(), "{path}");
            let _ = (df.installs(), df.context_sources(), df.canonical_steps());
        }
    }

    #[test]
    fn commented_out_from_is_skipped_and_requirements_file_found() {
        let df = load(
            "Azure__azureml-examples/cli/assets/environment/docker-contexts/python-and-pip/Dockerfile",
        );
        assert_eq!(df.stages.len(), 1);
        let (base, origin) = df.final_base(&BTreeMap::new()).unwrap();
        assert_eq!(
            (base.as_str(), origin.line, origin.column),
            ("python:3.8", 2, 6)
        );
        let installs = df.installs();
        assert_eq!(
            at(&installs.requirement_files),
            [("requirements.txt", 6, 20)]
        );
        assert!(installs.pip.is_empty());
        assert_eq!(names(&df.context_sources()), ["requirements.txt"]);
        assert_eq!(df.instructions.last().unwrap().arguments, r#"["bash"]"#);
    }

    #[test]
    fn quoted_range_specs_are_unquoted_with_their_lines() {
        let df = load(
            "Azure__azureml-examples/cli/jobs/pipelines-with-components/nyc_taxi_data_regression/env_train/Dockerfile",
        );
        let installs = df.installs();
        assert_eq!(
            names(&installs.pip),
            [
                "matplotlib>=3.3,<3.4",
                "psutil>=5.8,<5.9",
                "tqdm>=4.59,<4.60",
                "pandas>=1.1,<1.2",
                "scipy>=1.5,<1.6",
                "numpy>=1.10,<1.20",
                "ipykernel~=6.0",
                "azureml-core",
                "azureml-defaults",
                "azureml-mlflow",
                "azureml-telemetry",
                "scikit-learn==1.2.2",
            ]
        );
        let lines: Vec<u32> = installs.pip.iter().map(|(_, o)| o.line).collect();
        assert_eq!(lines, (4..=15).collect::<Vec<_>>());
        assert_eq!(installs.pip[0].1.column, 17);
        assert_eq!(installs.pip[1].1.column, 17);
    }

    #[test]
    fn multi_stage_with_comments_in_continuation_and_no_break_space() {
        let df = load("Azure__AzureML-Containers/base/cpu/openmpi4.1.0-ubuntu22.04/Dockerfile");
        assert_eq!(df.stages.len(), 2);
        assert_eq!(df.stages[0].name.as_deref(), Some("inferencing-assets"));
        assert_eq!(df.stages[1].base, "library/ubuntu:22.04");
        assert_eq!(final_base(&df).as_deref(), Some("library/ubuntu:22.04"));
        let args: Vec<&Instruction> = df
            .instructions
            .iter()
            .filter(|i| i.keyword == "ARG")
            .collect();
        assert_eq!(args.len(), 2);
        assert_eq!(args[0].stage, Some(1));
        let apt = df
            .instructions
            .iter()
            .find(|i| i.arguments.starts_with("apt-get update"))
            .unwrap();
        assert!(!apt.arguments.contains('#'));
        assert!(apt.arguments.contains("git libuuid1 libblkid1"));
        assert!(apt.arguments.contains("libncurses6 ncurses-bin"));
        let nbsp = df
            .instructions
            .iter()
            .find(|i| i.arguments.starts_with("CONDA_PACKAGE"))
            .unwrap();
        assert_eq!(nbsp.keyword, "ENV");
        assert_eq!(nbsp.arguments, "CONDA_PACKAGE\u{a0}23.5.0");
        assert!(df.context_sources().is_empty());
        // `conda=${CONDA_PACKAGE}` cannot be known; `-c conda-forge` is a channel.
        let installs = df.installs();
        assert!(installs.conda.is_empty());
        assert_eq!(names(&installs.conda_channels), ["conda-forge"]);
    }

    #[test]
    fn copy_from_an_earlier_stage_is_not_a_context_source() {
        let df = load("Azure__AzureML-Containers/base/cpu/intelmpi2018.3-ubuntu16.04/Dockerfile");
        assert_eq!(df.stages.len(), 2);
        assert!(
            df.instructions.iter().any(
                |i| i.keyword == "COPY" && i.arguments.starts_with("--from=inferencing-assets")
            )
        );
        assert!(df.context_sources().is_empty());
        assert_eq!(final_base(&df).as_deref(), Some("ubuntu:16.04"));
    }

    #[test]
    fn nightly_index_url_and_pre_release_torch() {
        let df = load("tloen__alpaca-lora/Dockerfile");
        let installs = df.installs();
        assert_eq!(names(&installs.pip), ["numpy", "torch"]);
        assert_eq!(installs.pip[1].1.line, 16);
        assert_eq!(names(&installs.requirement_files), ["requirements.txt"]);
        assert_eq!(installs.pip_options.len(), 1);
        assert_eq!(installs.pip_options[0].name, "--index-url");
        assert_eq!(
            installs.pip_options[0].value.as_deref(),
            Some("https://download.pytorch.org/whl/nightly/cu118")
        );
        assert_eq!(names(&df.context_sources()), ["requirements.txt", "."]);
    }

    #[test]
    fn exec_form_bash_c_scripts_are_read() {
        let df = load("Azure__MachineLearningNotebooks/Dockerfiles/1.0.43/Dockerfile");
        let installs = df.installs();
        assert_eq!(
            names(&installs.conda),
            ["Python=3.6", "tqdm", "cython", "matplotlib", "scikit-learn"]
        );
        assert_eq!(
            at(&installs.pip),
            [("azureml-sdk[notebooks]==1.0.43", 13, 65)]
        );
        assert_eq!(
            final_base(&df).as_deref(),
            Some("continuumio/miniconda:4.5.11")
        );
    }

    #[test]
    fn whitespace_only_lines_and_no_trailing_newline() {
        let df = load(
            "Azure__MachineLearningNotebooks/how-to-use-azureml/machine-learning-pipelines/intro-to-pipelines/commandstep_r/Dockerfile",
        );
        assert_eq!(
            df.canonical_steps(),
            [
                "FROM rocker/tidyverse:4.0.0-ubuntu20.04",
                "RUN apt-get update -qq && apt-get install -y python3",
                "RUN ln -f /usr/bin/python3 /usr/bin/python",
                "RUN R -e \"install.packages(c('optparse'), repos = 'https://cloud.r-project.org/')\"",
            ]
        );
    }

    #[test]
    fn curated_contexts_keep_the_release_template_in_from() {
        let root = "Azure__azureml-assets/assets/";
        let df = load(&format!(
            "{root}large_language_models/rag/environments/rag_embeddings/context/Dockerfile"
        ));
        assert_eq!(
            final_base(&df).as_deref(),
            Some("mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:{{latest-image-tag}}")
        );
        let installs = df.installs();
        assert_eq!(names(&installs.conda_files), ["conda_dependencies.yaml"]);
        assert_eq!(
            names(&installs.pip),
            [
                "urllib3==2.6.3",
                "setuptools==80.10.2",
                "torch==2.9.1",
                "torchvision",
                "torchaudio",
                "transformers",
                "tqdm",
                "numpy",
                "scikit-learn",
                "scipy",
                "nltk",
                "sentencepiece",
                "pillow",
                "sentence-transformers",
            ]
        );
        assert_eq!(
            installs.pip_options[0].value.as_deref(),
            Some("https://download.pytorch.org/whl/test/cpu")
        );
        let java = df
            .instructions
            .iter()
            .find(|i| i.arguments.contains("downloadSha256"))
            .unwrap();
        assert!(!java.arguments.contains('\t'));
        assert_eq!(
            names(&df.context_sources()),
            ["conda_dependencies.yaml", "pip_constraints.txt"]
        );

        let acpt = load(&format!(
            "{root}training/finetune_acft_hf_nlp/environments/acpt/context/Dockerfile"
        ));
        assert_eq!(
            acpt.stages[0].base,
            r"mcr.microsoft.com/aifx/acpt/stable-ubuntu2204-cu126-py310-torch280:{{latest-image-tag:biweekly\.\d{6}\.\d{1}.*}}"
        );
        let installs = acpt.installs();
        assert_eq!(names(&installs.requirement_files), ["requirements.txt"]);
        assert_eq!(names(&installs.conda), ["pip>=26.1.1", "pip>=26.1.1"]);
        assert_eq!(
            names(&installs.conda_channels),
            ["conda-forge", "conda-forge"]
        );
        let pip = names(&installs.pip);
        assert_eq!(
            &pip[..3],
            ["mpi4py==4.1.1", "mlflow==3.11.1", "flash-attn==2.8.3"]
        );
        assert!(pip.contains(&"nltk==3.9.4"));
        assert!(!pip.iter().any(|p| p.contains("Fixes")));
        assert!(pip.contains(&"msgpack>=1.2.1"));
        assert!(pip.contains(&"cryptography>=48.0.1"));
        assert_eq!(
            &pip[pip.len() - 3..],
            [
                "torch==2.10.0+cu126",
                "torchvision==0.25.0+cu126",
                "torchaudio==2.10.0+cu126"
            ]
        );
        assert_eq!(installs.pip_options.len(), 1);

        let labeling = load(&format!(
            "{root}data-labeling/environments/data-labeling/context/Dockerfile"
        ));
        assert_eq!(names(&labeling.installs().pip), ["pyarrow>=23.0.1"]);
    }

    #[test]
    fn untagged_base_and_conda_env_from_a_copied_file() {
        let df = load("microsoft__MLOpsPython/environment_setup/Dockerfile");
        assert_eq!(final_base(&df).as_deref(), Some("conda/miniconda3"));
        assert_eq!(
            names(&df.context_sources()),
            ["diabetes_regression/ci_dependencies.yml"]
        );
        let installs = df.installs();
        assert_eq!(
            at(&installs.conda_files),
            [("/setup/ci_dependencies.yml", 14, 25)]
        );
        assert_eq!(names(&installs.conda), ["conda", "python=3.7.5"]);
        assert_eq!(names(&installs.conda_channels), ["defaults"]);
        let label = &df.instructions[1];
        assert_eq!(label.keyword, "LABEL");
        assert!(
            label
                .arguments
                .starts_with("org.label-schema.vendor = \"Microsoft\" org.label-schema.url")
        );
    }

    #[test]
    fn dockerfile_gpu_reads_extras_and_ignores_commented_run() {
        let df = load(
            "Azure__MachineLearningNotebooks/how-to-use-azureml/reinforcement-learning/atari-on-distributed-compute/docker/Dockerfile-gpu",
        );
        assert_eq!(
            final_base(&df).as_deref(),
            Some("mcr.microsoft.com/azureml/curated/acpt-pytorch-1.11-cuda11.3")
        );
        let installs = df.installs();
        assert!(installs.conda.is_empty());
        let pip = names(&installs.pip);
        assert_eq!(pip.len(), 25);
        assert_eq!(pip[0], "ray-on-aml==0.2.4");
        assert_eq!(pip[24], "gym[accept-rom-license]==0.26.2");
        assert!(pip.contains(&"azureml-dataset-runtime[fuse,pandas]==1.50.0"));
        assert_eq!(installs.pip[24].1.line, 51);
    }

    #[test]
    fn utf16_with_bom_parses_like_the_original() {
        for relative in corpus_dockerfiles() {
            let path = corpus_dir().join("files").join(&relative);
            let original = SourceFile::read(&path).unwrap();
            let mut bytes = vec![0xFF, 0xFE];
            for unit in original.text.encode_utf16() {
                bytes.extend_from_slice(&unit.to_le_bytes());
            }
            let utf16 = SourceFile::from_bytes(&path, &bytes).unwrap();
            assert_eq!(
                parse(&utf16).unwrap(),
                parse(&original).unwrap(),
                "{relative}"
            );
        }
    }

    #[test]
    fn escape_directive_makes_backtick_the_continuation() {
        let df = text(
            "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN pip install `\n    numpy==1.26.4 `\n    C:\\tools\\x.whl\nCOPY C:\\src\\app.py C:\\app\\\n",
        );
        assert_eq!(df.escape, '`');
        assert_eq!(
            df.instructions[1].arguments,
            "pip install numpy==1.26.4 C:\\tools\\x.whl"
        );
        assert_eq!(at(&df.installs().pip)[0], ("numpy==1.26.4", 4, 5));
        assert_eq!(names(&df.context_sources()), ["C:\\src\\app.py"]);
    }

    #[test]
    fn directives_stop_at_the_first_other_line() {
        let df = text("# syntax=docker/dockerfile:1\n\n# escape=`\nFROM x\nRUN a \\\n  b\n");
        assert_eq!(df.escape, '\\');
        assert_eq!(df.instructions[1].arguments, "a b");
    }

    #[test]
    fn invalid_escape_directive_is_located() {
        insta::assert_snapshot!(error("# escape=x\nFROM a\n"), @"Dockerfile:1:10: invalid escape character `x`; use `\\` or a backtick");
    }

    #[test]
    fn heredocs_keep_their_body() {
        let df = text(
            "FROM python:3.12\nRUN <<EOF\npip install requests==2.32.3\npip install -r /r.txt\nEOF\nCOPY <<-\"END\" /app/config.ini\n\t[x]\n\tEND\nCOPY a.txt <<EOF /dest/\nhello\nEOF\nRUN python3 <<'PY' > /out\nimport sys\nPY\n",
        );
        let steps = df.canonical_steps();
        assert_eq!(
            steps[1],
            "RUN <<EOF\npip install requests==2.32.3\npip install -r /r.txt\nEOF"
        );
        assert_eq!(steps[2], "COPY <<-\"END\" /app/config.ini\n\t[x]\n\tEND");
        assert_eq!(steps[4], "RUN python3 <<'PY' > /out\nimport sys\nPY");
        assert_eq!(df.instructions.len(), 5);
        let installs = df.installs();
        assert_eq!(at(&installs.pip), [("requests==2.32.3", 3, 13)]);
        assert_eq!(at(&installs.requirement_files), [("/r.txt", 4, 16)]);
        assert_eq!(names(&df.context_sources()), ["a.txt"]);
    }

    #[test]
    fn heredoc_markers_inside_quotes_are_text() {
        let df = text(
            "FROM x\nRUN echo \"a <<EOF\" 'b <<END' && cat <<'DONE'\nbody\nDONE\nRUN pip install y==1\n",
        );
        assert_eq!(df.instructions.len(), 3);
        assert_eq!(
            df.instructions[1].arguments,
            "echo \"a <<EOF\" 'b <<END' && cat <<'DONE'\nbody\nDONE"
        );
        assert_eq!(names(&df.installs().pip), ["y==1"]);
    }

    #[test]
    fn unterminated_heredoc_is_located() {
        insta::assert_snapshot!(error("FROM a\nRUN cat <<EOF\nline\n"), @"Dockerfile:2:9: heredoc is not terminated; expected a line `EOF`");
    }

    #[test]
    fn from_args_are_substituted_with_defaults_and_overrides() {
        let df = text(
            "ARG REGISTRY=mcr.microsoft.com\nARG BASE=${REGISTRY}/azureml/base\nARG TAG\nARG SUFFIX\nFROM --platform=linux/amd64 ${BASE}:${TAG:-latest}${SUFFIX:+-$SUFFIX} AS build\n",
        );
        assert_eq!(
            df.stages[0].base,
            "${BASE}:${TAG:-latest}${SUFFIX:+-$SUFFIX}"
        );
        assert_eq!(df.stages[0].platform.as_deref(), Some("linux/amd64"));
        assert_eq!(df.stages[0].name.as_deref(), Some("build"));
        let (base, origin) = df.final_base(&BTreeMap::new()).unwrap();
        assert_eq!(base, "mcr.microsoft.com/azureml/base:latest");
        assert_eq!((origin.line, origin.column), (5, 29));
        let args = BTreeMap::from([
            ("TAG".to_owned(), "20240101".to_owned()),
            ("SUFFIX".to_owned(), "gpu".to_owned()),
            ("REGISTRY".to_owned(), "example.io".to_owned()),
            ("UNDECLARED".to_owned(), "x".to_owned()),
        ]);
        assert_eq!(
            df.final_base(&args).unwrap().0,
            "example.io/azureml/base:20240101-gpu"
        );
        assert_eq!(df.instructions[0].stage, None);
        assert_eq!(df.instructions[4].stage, Some(0));
    }

    #[test]
    fn stage_chains_lead_back_to_a_real_image() {
        let df = text(
            "ARG PY=3.11\nFROM python:$PY-slim AS Base\nRUN pip install numpy==2.0.0\nFROM base AS deps\nRUN pip install pandas==2.2.2\nFROM golang:1.22 AS tools\nRUN pip install never\nFROM deps\nCOPY --from=tools /go/bin/x /x\nRUN conda install -c conda-forge -y scipy=1.13\n",
        );
        let (base, origin) = df.final_base(&BTreeMap::new()).unwrap();
        assert_eq!(base, "python:3.11-slim");
        assert_eq!((origin.line, origin.column), (2, 6));
        assert_eq!(df.stages[0].name.as_deref(), Some("base"));
        let installs = df.installs();
        assert_eq!(names(&installs.pip), ["numpy==2.0.0", "pandas==2.2.2"]);
        assert_eq!(names(&installs.conda), ["scipy=1.13"]);
        assert_eq!(at(&installs.conda_channels), [("conda-forge", 10, 22)]);
    }

    #[test]
    fn unknown_instruction_is_located() {
        insta::assert_snapshot!(error("FROM a\n\n  RUNN echo hi\n"), @"Dockerfile:3:3: unknown instruction `RUNN`");
    }

    #[test]
    fn instruction_before_from_is_located() {
        insta::assert_snapshot!(error("ARG X=1\n# c\nrun echo\nFROM a\n"), @"Dockerfile:3:1: `RUN` comes before the first `FROM`; only `ARG` may");
    }

    #[test]
    fn missing_from_is_reported_at_the_first_line() {
        insta::assert_snapshot!(error("# just a comment\nARG A=1\n"), @"Dockerfile:1:1: no `FROM` instruction; a Dockerfile needs a base image");
        insta::assert_snapshot!(error(""), @"Dockerfile:1:1: no `FROM` instruction; a Dockerfile needs a base image");
    }

    #[test]
    fn from_without_an_image_is_located() {
        insta::assert_snapshot!(error("FROM   \n"), @"Dockerfile:1:1: `FROM` needs an image");
    }

    #[test]
    fn keywords_are_case_insensitive_and_continuations_collapse() {
        let df = text(
            "from alpine:3.20\nrun apk add \\   \n\t  # a comment\n\n    curl  \\\n    git\ncopy [\"a b.txt\", \"/x/\"]\n",
        );
        assert_eq!(
            df.canonical_steps(),
            [
                "FROM alpine:3.20",
                "RUN apk add curl git",
                "COPY [\"a b.txt\", \"/x/\"]"
            ]
        );
        assert_eq!(names(&df.context_sources()), ["a b.txt"]);
    }

    #[test]
    fn pip_specs_point_at_their_line_and_column_across_continuations() {
        let df = text(
            "FROM python:3.12\nRUN python3 -m pip install --no-cache-dir -U \\\n      --extra-index-url=https://pkgs.example/simple \\\n\t\"requests==2.32.3\" -e ./lib \\\n    --constraint c.txt --trusted-host pkgs.example $EXTRA numpy==$NP \\\n    -rreq.txt --target /opt x==1 && echo done\n",
        );
        let installs = df.installs();
        assert_eq!(
            at(&installs.pip),
            [
                ("requests==2.32.3", 4, 2),
                ("-e ./lib", 4, 21),
                ("x==1", 6, 29)
            ]
        );
        assert_eq!(at(&installs.constraint_files), [("c.txt", 5, 18)]);
        assert_eq!(at(&installs.requirement_files), [("req.txt", 6, 7)]);
        let options: Vec<(&str, &str, u32, u32)> = installs
            .pip_options
            .iter()
            .map(|o| {
                (
                    o.name.as_str(),
                    o.value.as_deref().unwrap(),
                    o.origin.line,
                    o.origin.column,
                )
            })
            .collect();
        assert_eq!(
            options,
            [
                ("--extra-index-url", "https://pkgs.example/simple", 3, 7),
                ("--trusted-host", "pkgs.example", 5, 24),
            ]
        );
    }

    #[test]
    fn installer_spellings_are_recognised() {
        let df = text(
            "FROM x\nRUN /opt/conda/bin/pip install a==1 && uv pip install --system b==2; pip3.11 --no-cache-dir install c==3 \\\n  | tee log && MAX_JOBS=$(nproc) sudo -H pip install d==4 2>&1 >/dev/null && micromamba install -y -n base -f env.yml e=5 \\\n  && mamba env create -f env2.yml && conda create --name x --channel=bioconda --override-channels f=6 \\\n  && conda run -n x python -m pip install g==7 && pip install \"$(cat reqs)\" `echo h` i==9 # j==10\n",
        );
        let installs = df.installs();
        assert_eq!(
            names(&installs.pip),
            ["a==1", "b==2", "c==3", "d==4", "g==7", "i==9"]
        );
        assert_eq!(names(&installs.conda), ["e=5", "f=6"]);
        assert_eq!(names(&installs.conda_files), ["env.yml", "env2.yml"]);
        assert_eq!(names(&installs.conda_channels), ["bioconda"]);
    }

    #[test]
    fn context_sources_skip_urls_flags_and_destinations() {
        let df = text(
            "FROM x\nCOPY --chown=1000:1000 --chmod=755 --link a.txt b/ /dst/\nADD https://example.com/x.tgz git@github.com:o/r.git /opt/\nADD --checksum=sha256:00 --exclude=*.md --parents src/ ./\nCOPY --from=builder /a /b\nCOPY onlydest\n",
        );
        assert_eq!(
            at(&df.context_sources()),
            [("a.txt", 2, 43), ("b/", 2, 49), ("src/", 4, 51)]
        );
    }

    #[test]
    fn no_break_space_is_kept_in_arguments() {
        let df = text("FROM\u{a0}alpine\nENV\u{a0}A\u{a0}1\n");
        assert_eq!(df.stages[0].base, "alpine");
        assert_eq!(df.instructions[1].arguments, "A\u{a0}1");
    }

    #[test]
    fn deeply_nested_defaults_do_not_overflow_the_stack() {
        let base = format!("{}x{}", "${A:-".repeat(20_000), "}".repeat(20_000));
        let df = text(&format!("FROM {base}\n"));
        assert!(df.final_base(&BTreeMap::new()).is_some());
    }

    #[test]
    fn long_lines_and_long_stage_chains_stay_linear() {
        let packages: Vec<String> = (0..50_000).map(|n| format!("p{n}==1")).collect();
        let mut src = format!(
            "FROM python AS s0\nRUN pip install {}\n",
            packages.join(" ")
        );
        for n in 1..20_000 {
            src.push_str(&format!("FROM s{} AS s{n}\n", n - 1));
        }
        let df = text(&src);
        let installs = df.installs();
        assert_eq!(installs.pip.len(), 50_000);
        let before: usize = packages[..49_999].iter().map(|p| p.len() + 1).sum();
        let column = "RUN pip install ".len() + 1 + before;
        assert_eq!(installs.pip[49_999].1.column as usize, column);
        assert_eq!(df.final_base(&BTreeMap::new()).unwrap().0, "python");
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(src in proptest::prelude::any::<String>()) {
            if let Ok(df) = parse(&SourceFile::from_text("Dockerfile", &format!("FROM a\n{src}"))) {
                let _ = df.final_base(&BTreeMap::new());
                let _ = df.installs();
                let _ = df.context_sources();
            }
        }

        #[test]
        fn parsing_never_panics(
            src in "(FROM|RUN|COPY|ADD|ARG|run|# escape=`|#|\\\\|`|\\n|\\n|\\n| |\t|<<|<<-|EOF|\"|'|\\$|\\{|\\}|\\(|\\)|\\[|\\]|,|-|=|:|a|/|pip|install|conda|-r|-c|-e|-m|python|bash|&&|\\||;|>|\u{a0}|é)*"
        ) {
            let source = SourceFile::from_text("Dockerfile", &src);
            if let Ok(df) = parse(&source) {
                let _ = df.final_base(&BTreeMap::new());
                let _ = df.installs();
                let _ = df.context_sources();
                let _ = df.canonical_steps();
            }
        }
    }
}
