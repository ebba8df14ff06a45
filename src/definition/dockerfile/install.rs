//! What the `RUN` steps install: each step is split into simple commands by the shell
//! lexer, and the `pip`, `uv pip`, `python -m pip`, `conda`, `mamba` and `micromamba`
//! install commands among them (behind `sudo`, `env`, `conda run`, `bash -c`, ...) are read
//! for packages, requirement, constraint and conda files, channels and index options.

use std::collections::BTreeMap;

use super::parser::is_heredoc_word;
use super::shell::{Word, lex};
use super::{Dockerfile, Instruction, Positions, char_count};
use crate::definition::PipOption;
use crate::source::Origin;

/// How deep `bash -c "..."` scripts are followed.
const MAX_SHELL_NESTING: u8 = 4;

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

impl Dockerfile {
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
                    let value = if let Some(value) = inline {
                        Some(value)
                    } else {
                        k += 1;
                        args.get(k - 1).cloned()
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
    use crate::definition::dockerfile::tests::{at, final_base, load, names, text};

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
}
