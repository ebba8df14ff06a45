//! Text to instructions: parser directives, continuation lines, heredoc bodies and the
//! `FROM` stages, following the rules listed in the module doc of `dockerfile`.

use super::{Dockerfile, Instruction, Span, Stage, char_count, to_u32};
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

pub(super) struct Parser<'a> {
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
    pub(super) fn new(source: &'a SourceFile) -> Self {
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

    pub(super) fn run(mut self) -> Result<Dockerfile, ParseError> {
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
            (None, '\'' | '"') => quote = Some(c),
            (None, ' ' | '\t') => {
                if let Some(s) = start.take() {
                    words.push((s, offset));
                }
            }
            _ => {}
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

pub(super) fn is_heredoc_word(word: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use crate::definition::dockerfile::tests::{
        at, corpus_dir, corpus_dockerfiles, error, final_base, load, names, text,
    };
    use crate::definition::dockerfile::{Instruction, parse};
    use crate::source::SourceFile;

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
    fn no_break_space_is_kept_in_arguments() {
        let df = text("FROM\u{a0}alpine\nENV\u{a0}A\u{a0}1\n");
        assert_eq!(df.stages[0].base, "alpine");
        assert_eq!(df.instructions[1].arguments, "A\u{a0}1");
    }
}
