//! Dockerfiles: stages, the final base image, build args used in `FROM`, and the steps.
//!
//! STUB: filled in by the Dockerfile parser work.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::{DefinitionError, PipOption};
use crate::source::{Origin, SourceFile};

/// One `FROM` stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// The image as written in `FROM` (before build-arg substitution).
    pub base: String,
    /// `AS name`, lowercased.
    pub name: Option<String>,
    /// `--platform=...`
    pub platform: Option<String>,
    pub origin: Origin,
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
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dockerfile {
    pub path: PathBuf,
    pub stages: Vec<Stage>,
    pub instructions: Vec<Instruction>,
}

/// What the `RUN` steps of the final image install, as far as they can be read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Installs {
    /// `pip install PKG...` requirement arguments, unquoted, with where each was written.
    pub pip: Vec<(String, Origin)>,
    /// `conda install` / `conda create` / `mamba install` package arguments, unquoted.
    pub conda: Vec<(String, Origin)>,
    /// `--index-url`, `--extra-index-url`, `--find-links`, ... given to pip.
    pub pip_options: Vec<PipOption>,
    /// Files given to `pip install -r FILE` / `-c FILE`, as written.
    pub requirement_files: Vec<(String, Origin)>,
    /// Files given to `pip install -c FILE`, as written.
    pub constraint_files: Vec<(String, Origin)>,
    /// `-c CHANNEL` given to `conda install` / `conda create`.
    pub conda_channels: Vec<(String, Origin)>,
    /// Files given to `conda env create -f FILE` / `conda env update -f` / `mamba env ...`.
    pub conda_files: Vec<(String, Origin)>,
}

pub fn parse(source: &SourceFile) -> Result<Dockerfile, DefinitionError> {
    Ok(Dockerfile {
        path: source.path.clone(),
        stages: Vec::new(),
        instructions: Vec::new(),
    })
}

impl Dockerfile {
    /// The base image of the final stage, following `FROM stage-name` chains, with `ARG`
    /// defaults and `build_args` substituted (`${VAR}`, `$VAR`, `${VAR:-default}`).
    pub fn final_base(&self, build_args: &BTreeMap<String, String>) -> Option<(String, Origin)> {
        let _ = build_args;
        None
    }

    /// `COPY`/`ADD` sources taken from the build context (not `--from=`, not URLs), as written.
    pub fn context_sources(&self) -> Vec<(String, Origin)> {
        Vec::new()
    }

    /// Packages and files the final stage's `RUN` steps install.
    pub fn installs(&self) -> Installs {
        Installs::default()
    }

    /// The canonical step list hashed: `KEYWORD arguments` per instruction.
    pub fn canonical_steps(&self) -> Vec<String> {
        self.instructions
            .iter()
            .map(|i| format!("{} {}", i.keyword, i.arguments))
            .collect()
    }
}
