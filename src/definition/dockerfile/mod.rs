//! Dockerfiles: stages, the final base image, build args used in `FROM`, and the steps.
//!
//! The parser follows the Dockerfile reference (BuildKit syntax) closely enough to read every
//! Dockerfile docker itself accepts:
//!
//! - parser directives (`# syntax=`, `# escape=`) at the very top; `# escape=` followed by a
//!   backtick makes the backtick the escape character;
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
//!
//! One concept per file:
//!
//! - this file: the model ([`Dockerfile`], [`Stage`], [`Instruction`], [`Span`]), [`parse`],
//!   and what is asked of a parsed file: the final base image, the build-context sources of
//!   `COPY`/`ADD`, and the steps the definition hash covers;
//! - `parser.rs`: text to instructions: directives, continuations, heredocs, `FROM` stages;
//! - `args.rs`: the values of the global `ARG`s and the `$VAR` expansion applied to `FROM`;
//! - `shell.rs`: arguments to words: the shell lexer and the JSON exec form;
//! - `install.rs`: [`Installs`], what `pip`, `conda`, `mamba` and `micromamba` install in
//!   `RUN` steps.

mod args;
mod install;
mod parser;
mod shell;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::DefinitionError;
use crate::source::{Origin, SourceFile};

pub use args::expand;
pub use install::Installs;
use parser::{Parser, is_heredoc_word};
use shell::{Word, json_array, split_words};

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
    /// Byte offset into [`Instruction::arguments`] where the piece starts.
    pub offset: usize,
    /// The 1-based line of the file the piece starts on.
    pub line: u32,
    /// The 1-based column, in characters, the piece starts at on that line.
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

/// A parsed Dockerfile: its stages and every instruction, in file order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dockerfile {
    /// The file it was read from, as the [`SourceFile`] names it.
    pub path: PathBuf,
    /// One entry per `FROM`, in order; never empty.
    pub stages: Vec<Stage>,
    /// Every instruction, `FROM` and the global `ARG`s included, in file order.
    pub instructions: Vec<Instruction>,
    /// The escape character: `\`, or a backtick that a `# escape=` directive names.
    #[serde(skip)]
    pub escape: char,
}

/// Parse a Dockerfile.
pub fn parse(source: &SourceFile) -> Result<Dockerfile, DefinitionError> {
    Parser::new(source).run().map_err(DefinitionError::Parse)
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
            let words = if let Some(words) = instruction.json_words() {
                words
            } else {
                let first_line = instruction.arguments.split('\n').next().unwrap_or_default();
                split_words(first_line, self.escape)
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

    /// The canonical step list hashed: `KEYWORD arguments` per instruction.
    pub fn canonical_steps(&self) -> Vec<String> {
        self.instructions
            .iter()
            .map(|i| format!("{} {}", i.keyword, i.arguments))
            .collect()
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

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn char_count(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    pub(super) fn corpus_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")
    }

    pub(super) fn load(relative: &str) -> Dockerfile {
        let path = corpus_dir().join("files").join(relative);
        let source = SourceFile::read(&path).unwrap();
        parse(&source).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    pub(super) fn text(src: &str) -> Dockerfile {
        parse(&SourceFile::from_text("Dockerfile", src)).unwrap()
    }

    pub(super) fn error(src: &str) -> String {
        parse(&SourceFile::from_text("Dockerfile", src))
            .unwrap_err()
            .to_string()
    }

    pub(super) fn names(items: &[(String, Origin)]) -> Vec<&str> {
        items.iter().map(|(s, _)| s.as_str()).collect()
    }

    pub(super) fn at(items: &[(String, Origin)]) -> Vec<(&str, u32, u32)> {
        items
            .iter()
            .map(|(s, o)| (s.as_str(), o.line, o.column))
            .collect()
    }

    pub(super) fn final_base(df: &Dockerfile) -> Option<String> {
        df.final_base(&BTreeMap::new()).map(|(r, _)| r)
    }

    pub(super) fn corpus_dockerfiles() -> Vec<String> {
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
    fn long_lines_and_long_stage_chains_stay_linear() {
        let packages: Vec<String> = (0..50_000).map(|n| format!("p{n}==1")).collect();
        let mut src = format!(
            "FROM python AS s0\nRUN pip install {}\n",
            packages.join(" ")
        );
        for n in 1..20_000 {
            writeln!(src, "FROM s{} AS s{n}", n - 1).unwrap();
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
