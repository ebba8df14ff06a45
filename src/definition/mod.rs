//! Environment definitions: every input format, normalised into one [`EnvDefinition`].
//!
//! Each format has its own module with a serde *wire* type (or a hand parser where the
//! format is not YAML/JSON) and a conversion into the shared model. Nothing downstream
//! of this module knows which format a definition came from, apart from `kind` (shown to
//! users) and the file positions kept on every declared dependency.

pub mod azureml_v1;
pub mod azureml_v2;
pub mod conda;
pub mod curated;
pub mod docker_build;
pub mod dockerfile;
pub mod recognize;
pub mod requirements;
pub(crate) mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::conda::MatchSpec;
use crate::diag::{Code, Finding};
use crate::model::pin::{self, ImagePinState, Pin, PinState};
use crate::model::{Ecosystem, ImageRef, PackageName};
use crate::python::Requirement;
use crate::source::{Origin, ParseError, ReadError};

pub use dockerfile::Dockerfile;
pub use recognize::{NotDefinition, Recognized, Skipped, recognize, recognize_text};

/// Which format a definition was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefinitionKind {
    /// Azure ML SDK v1 folder (`Environment.save_to_directory`) or its JSON alone.
    AzuremlV1,
    /// Azure ML SDK v2 / CLI v2 environment YAML.
    AzuremlV2,
    /// The inline `environment:` block of an Azure ML job YAML.
    AzuremlJob,
    /// An Azure ML curated environment asset folder (`asset.yaml`, `spec.yaml`, ...).
    Curated,
    /// A conda environment file.
    Conda,
    /// A pip requirements file.
    Requirements,
    /// A Dockerfile (its folder is the build context).
    Dockerfile,
}

impl DefinitionKind {
    /// The kebab-case name (`azureml-v2`, `requirements`, ...) that the lockfile's
    /// `definition-kind`, the JSON output and messages use.
    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionKind::AzuremlV1 => "azureml-v1",
            DefinitionKind::AzuremlV2 => "azureml-v2",
            DefinitionKind::AzuremlJob => "azureml-job",
            DefinitionKind::Curated => "curated",
            DefinitionKind::Conda => "conda",
            DefinitionKind::Requirements => "requirements",
            DefinitionKind::Dockerfile => "dockerfile",
        }
    }
}

impl fmt::Display for DefinitionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong while loading a definition.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// A definition file could not be read, is over the size limit, or is not text in a
    /// supported encoding.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A file's text breaks its format's grammar or shape, at a file, line and column.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The path given as the definition does not exist.
    #[error("`{path}` does not exist", path = .path.display())]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// Neither the path nor a look at the file's keys says which format it is; the caller
    /// can name it with [`LoadOptions::kind`].
    #[error("cannot tell what kind of environment definition `{path}` is", path = .path.display())]
    UnknownKind {
        /// The file or folder whose format is unknown.
        path: PathBuf,
    },
    /// A requirements file includes itself through `-r`/`-c`, directly or not.
    #[error("include cycle: {}", .chain.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(" -> "))]
    IncludeCycle {
        /// The files from the outermost include down, ending with the one included again.
        chain: Vec<PathBuf>,
    },
    /// `-r`/`-c` includes nest deeper than
    /// [`MAX_INCLUDE_DEPTH`](requirements::MAX_INCLUDE_DEPTH) files.
    #[error("includes nested deeper than {limit} levels at `{path}`", path = .path.display())]
    IncludeTooDeep {
        /// The include that would have gone one level too deep.
        path: PathBuf,
        /// The depth limit that was reached.
        limit: usize,
    },
    /// A file that the definition names (a v2 `conda_file:`, a conda or requirements file
    /// a Dockerfile installs) cannot be read.
    #[error("{origin}: `{target}` is referenced but cannot be read", origin = .origin)]
    MissingReference {
        /// Where the definition names the file.
        origin: Origin,
        /// The file named, resolved against the naming file's folder.
        target: PathBuf,
        /// Why reading it failed.
        #[source]
        source: std::io::Error,
    },
}

impl DefinitionError {
    /// A file named at `origin` could not be read: say where it was named.
    pub(crate) fn referenced_from(self, origin: &Origin, target: &Path) -> Self {
        match self {
            DefinitionError::Read(ReadError::Io { source, .. }) => {
                DefinitionError::MissingReference {
                    origin: origin.clone(),
                    target: target.to_path_buf(),
                    source,
                }
            }
            other => other,
        }
    }

    /// The file, line and column the error points at, when it has one.
    pub fn origin(&self) -> Option<Origin> {
        match self {
            DefinitionError::Parse(e) => Some(Origin::new(e.path.clone(), e.line, e.column)),
            DefinitionError::Read(ReadError::Decode {
                path, line, column, ..
            }) => Some(Origin::new(path.clone(), *line, *column)),
            DefinitionError::MissingReference { origin, .. } => Some(origin.clone()),
            _ => None,
        }
    }
}

/// What a declared dependency says, in its ecosystem's own terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "ecosystem", rename_all = "lowercase")]
pub enum DependencySpec {
    /// A conda MatchSpec, e.g. `numpy=1.26`, `conda-forge::python 3.10.* *_cpython`.
    Conda(MatchSpec),
    /// A PEP 508 pip requirement with its pip options, e.g. `numpy>=1.24`,
    /// `torch==2.2.0 --hash=sha256:…`, `-e git+https://…#egg=pkg`.
    Pip(Requirement),
    /// An entry of a conda file (its conda list or its `pip:` list) that its ecosystem's
    /// grammar rejects. Azure ML accepts the file all the same (only conda or pip judges
    /// the entry, at build time), so the entry is kept as written: its text is the hash
    /// ingredient, and lint reports it as `invalid-spec`.
    Invalid(InvalidSpec),
}

/// Why an entry of a conda file is not a valid spec, and where the grammar stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvalidSpec {
    /// What the grammar found wrong, e.g. ``invalid conda spec `a:b`: unexpected `:` ...``.
    pub message: String,
    /// The file, line and column the error points at.
    pub origin: Origin,
    /// The source line the error points at, for a caret under the column.
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl InvalidSpec {
    /// The error a strict reader would have stopped at.
    pub fn parse_error(&self) -> ParseError {
        ParseError {
            path: self.origin.file.clone(),
            line: self.origin.line,
            column: self.origin.column,
            message: self.message.clone(),
            source_line: self.source_line.clone(),
        }
    }
}

impl From<ParseError> for InvalidSpec {
    fn from(e: ParseError) -> Self {
        Self {
            origin: Origin::new(e.path, e.line, e.column),
            message: e.message,
            source_line: e.source_line,
        }
    }
}

/// One dependency written in a definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The list it was declared in: [`Ecosystem::Conda`] for a conda spec,
    /// [`Ecosystem::Pip`] for a requirements line or a conda file's `pip:` entry.
    pub ecosystem: Ecosystem,
    /// Normalised name; `None` only for a pip direct URL that names no package.
    pub name: Option<PackageName>,
    /// The text as written (trimmed, continuation lines joined).
    pub raw: String,
    /// The parsed spec, or the grammar's error when the entry does not parse.
    pub spec: DependencySpec,
    /// How firmly the spec fixes what gets installed, with the reason in words.
    pub pin: Pin,
    /// The file, line and column of the spec's first character.
    pub origin: Origin,
}

impl Dependency {
    /// A conda dependency from its parsed MatchSpec and the text it was parsed from; the
    /// pin state is the spec's.
    pub fn conda(spec: MatchSpec, raw: &str, origin: Origin) -> Self {
        let pin = spec.pin();
        Self {
            ecosystem: Ecosystem::Conda,
            name: spec.name.clone(),
            raw: raw.trim().to_owned(),
            spec: DependencySpec::Conda(spec),
            pin,
            origin,
        }
    }

    /// A pip dependency from its parsed requirement and the line it was parsed from; the
    /// pin state is the requirement's.
    pub fn pip(req: Requirement, raw: &str, origin: Origin) -> Self {
        let pin = req.pin();
        Self {
            ecosystem: Ecosystem::Pip,
            name: req.name.clone(),
            raw: raw.trim().to_owned(),
            spec: DependencySpec::Pip(req),
            pin,
            origin,
        }
    }

    /// An entry its ecosystem's grammar rejects, kept as written (see
    /// [`DependencySpec::Invalid`]): no name, and nothing pins what it installs.
    pub fn invalid(ecosystem: Ecosystem, raw: &str, error: ParseError, origin: Origin) -> Self {
        let what = match ecosystem {
            Ecosystem::Pip => "pip",
            _ => "conda",
        };
        Self {
            ecosystem,
            name: None,
            raw: raw.trim().to_owned(),
            spec: DependencySpec::Invalid(error.into()),
            pin: Pin::new(
                PinState::Unpinned,
                format!("not a valid {what} spec, so nothing says which version gets installed"),
            ),
            origin,
        }
    }

    /// The canonical text of the spec, independent of spacing and name spelling; an
    /// invalid entry's text as written (trimmed), which never equals a canonical form
    /// because every canonical form parses.
    pub fn canonical(&self) -> String {
        match &self.spec {
            DependencySpec::Conda(m) => m.canonical(),
            DependencySpec::Pip(p) => p.canonical(),
            DependencySpec::Invalid(_) => self.raw.clone(),
        }
    }

    /// Why the entry is not a valid spec, when it is not.
    pub fn invalid_spec(&self) -> Option<&InvalidSpec> {
        match &self.spec {
            DependencySpec::Invalid(e) => Some(e),
            _ => None,
        }
    }

    /// The `invalid-spec` finding for an entry its grammar rejects, at the place the
    /// grammar stopped.
    pub fn invalid_spec_finding(&self) -> Option<Finding> {
        let e = self.invalid_spec()?;
        Some(
            Finding::new(Code::InvalidSpec, e.message.clone())
                .with_package(self.display_name())
                .with_origin(e.origin.clone()),
        )
    }

    /// The name as the user wrote it, or the raw text when there is no name.
    pub fn display_name(&self) -> String {
        self.name
            .as_ref()
            .map_or_else(|| self.raw.clone(), ToString::to_string)
    }
}

/// A pip option line (`--extra-index-url URL`, `--find-links DIR`, `--pre`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PipOption {
    /// The long option name including dashes, e.g. `--extra-index-url`.
    pub name: String,
    /// The option's argument as written (`https://my.index/simple`); `None` for a flag
    /// such as `--pre`.
    pub value: Option<String>,
    /// Where the option is written.
    pub origin: Origin,
}

/// A `-r`/`-c` include of another requirements file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Include {
    /// Whether the included file adds requirements (`-r`) or constraints (`-c`).
    pub kind: IncludeKind,
    /// The target as written.
    pub target: String,
    /// The resolved local path (relative to the including file's folder); `None` for URLs.
    pub resolved: Option<PathBuf>,
    /// Where the `-r`/`-c` line is.
    pub origin: Origin,
}

/// What an included file contributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IncludeKind {
    /// `-r FILE` / `--requirement FILE`: requirements installed as if written in place.
    Requirements,
    /// `-c FILE` / `--constraint FILE`: versions that bound what gets installed, without
    /// asking for any package to be installed.
    Constraints,
}

impl Include {
    /// Whether the target is a URL, recorded but never fetched.
    pub fn is_remote(&self) -> bool {
        self.resolved.is_none()
    }
}

/// A conda channel, in declared order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Channel {
    /// The channel as written, trimmed: a name (`conda-forge`, `defaults`) or a URL.
    pub name: String,
    /// Where the channel is written.
    pub origin: Origin,
}

/// The base image a definition builds on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BaseImage {
    /// As written (after build-arg substitution for a Dockerfile `FROM`).
    pub reference: String,
    /// Parsed and normalised; `None` when it is a template or does not parse.
    pub image: Option<ImageRef>,
    /// How firmly the reference fixes one image: digest, tag, `latest` or template.
    pub pin: ImagePinState,
    /// Why it has that pin state, in words, e.g. ``tag `3.10` can be moved to another
    /// image; pin by `@sha256:` digest``.
    pub reason: String,
    /// Where the reference is written (`<command line>` for `--image`).
    pub origin: Origin,
}

impl BaseImage {
    /// Classify a reference as written; a registry from Azure ML v1 `baseImageRegistry`
    /// is prefixed when the reference has none.
    pub fn new(
        reference: &str,
        default_registry: Option<&str>,
        origin: Origin,
    ) -> Result<Self, ParseError> {
        let reference = reference.trim();
        if pin::has_template(reference) {
            return Ok(Self {
                reference: reference.to_owned(),
                image: None,
                pin: ImagePinState::Template,
                reason: "release template; resolved only when the asset is published".to_owned(),
                origin,
            });
        }
        match ImageRef::parse_with_default_registry(reference, default_registry) {
            Ok(image) => {
                let (pin, reason) = pin::classify_image(&image);
                Ok(Self {
                    reference: reference.to_owned(),
                    image: Some(image),
                    pin,
                    reason,
                    origin,
                })
            }
            Err(e) => Err(ParseError {
                path: origin.file.clone(),
                line: origin.line,
                column: origin.column + u32::try_from(e.offset).unwrap_or(0),
                message: e.to_string(),
                source_line: None,
            }),
        }
    }

    /// The canonical form hashed: the normalised reference, or the text of a template.
    pub fn canonical(&self) -> String {
        self.image
            .as_ref()
            .map_or_else(|| self.reference.clone(), ToString::to_string)
    }
}

/// Where a Docker build context is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum BuildContext {
    /// A local folder, with the files its Dockerfile uses.
    Local {
        /// The context folder.
        path: PathBuf,
        /// The Dockerfile's path in the context as written (`docker/Dockerfile.gpu`);
        /// `None` means `Dockerfile`.
        dockerfile_path: Option<String>,
        /// Files the Dockerfile's `COPY`/`ADD` take from the context, sorted by path.
        files: Vec<ContextFile>,
    },
    /// A URL (git or storage): recorded, not fetched.
    Remote {
        /// The context's URL as written: a git repository or a storage location.
        url: String,
        /// The Dockerfile's path in the context as written; `None` means `Dockerfile`.
        dockerfile_path: Option<String>,
    },
}

/// One build-context file, relative to the context folder (with `/` separators).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ContextFile {
    /// The path in the context, e.g. `requirements.txt`, `src/setup.py`.
    pub path: String,
    /// The SHA-256 of the file's bytes, 64 lowercase hex characters.
    pub sha256: String,
}

/// A Spark package (`group:artifact:version`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SparkPackage {
    /// The Maven group id, e.g. `com.microsoft.ml.spark`; empty when the definition omits it.
    pub group: String,
    /// The Maven artifact id, e.g. `mmlspark_2.11`; empty when the definition omits it.
    pub artifact: String,
    /// The version as written, e.g. `0.15`; `None` when absent.
    pub version: Option<String>,
}

/// The target platform of the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Platform {
    /// The operating system, lowercase, e.g. `linux` (the default) or `windows`.
    pub os: String,
    /// The CPU architecture in OCI terms, lowercase, e.g. `amd64` (the default) or `arm64`.
    pub architecture: String,
}

impl Default for Platform {
    fn default() -> Self {
        Self {
            os: "linux".to_owned(),
            architecture: "amd64".to_owned(),
        }
    }
}

/// A release template left unresolved (`{{latest-image-tag}}`, `{{asset.version}}`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Template {
    /// The placeholder with its braces, e.g. `{{latest-pypi-version}}`; for a base image,
    /// the whole reference that holds it.
    pub text: String,
    /// Where the placeholder starts.
    pub origin: Origin,
}

/// Name, version and other facts that do not change what gets built.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Metadata {
    /// The environment's name (`name:` of an Azure ML YAML, `name` of a v1 JSON, a
    /// conda file's `name:` when it stands alone).
    pub name: Option<String>,
    /// The environment's version as written (`"3"`, `"1.0.2"`); Azure ML asset versions
    /// are strings.
    pub version: Option<String>,
    /// The free-text description.
    pub description: Option<String>,
    /// Azure ML asset tags, key to value.
    pub tags: BTreeMap<String, String>,
}

/// One environment definition, whatever format it was written in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnvDefinition {
    /// The format it was read from.
    pub kind: DefinitionKind,
    /// The path the user gave (file or folder).
    pub path: PathBuf,
    /// Name, version, description and tags: not part of the definition hash.
    pub metadata: Metadata,
    /// The image the environment builds on (`image:`, v1 `baseImage`, a Dockerfile's final
    /// `FROM`, or `--image`); `None` when nothing names one.
    pub base_image: Option<BaseImage>,
    /// The Dockerfile that builds the image (v1 `baseDockerfile`, a v2 build context, ...).
    pub dockerfile: Option<Dockerfile>,
    /// Where the Docker build context is, for a definition built from a Dockerfile.
    pub build_context: Option<BuildContext>,
    /// `ARG` values given for the build (not the Dockerfile's defaults).
    pub build_args: BTreeMap<String, String>,
    /// Conda file `name:` (Azure replaces it when building; kept as metadata).
    pub conda_name: Option<String>,
    /// The conda file the conda section came from, if any.
    pub conda_file: Option<PathBuf>,
    /// conda channels in declared order, which is their priority order.
    pub channels: Vec<Channel>,
    /// conda specs in declared order (a conda file's list, or what a Dockerfile's
    /// `conda install` names), e.g. `python=3.10`, `numpy`.
    pub conda_dependencies: Vec<Dependency>,
    /// pip requirements in declared order (a conda file's `pip:` list, a requirements
    /// file with its `-r` includes expanded in place, what a Dockerfile's `pip install`
    /// names), e.g. `numpy>=1.24`.
    pub pip_dependencies: Vec<Dependency>,
    /// pip constraints (`-c FILE`): they pin without declaring.
    pub pip_constraints: Vec<Dependency>,
    /// File-level pip options (`--extra-index-url URL`, `--pre`), in declared order.
    pub pip_options: Vec<PipOption>,
    /// Every `-r`/`-c` include, local or remote, in the order read.
    pub includes: Vec<Include>,
    /// conda `variables:` (stored in the built environment).
    pub conda_variables: Vec<(String, String)>,
    /// Azure ML v1 `spark.repositories`: Maven repository URLs, in declared order.
    pub spark_repositories: Vec<String>,
    /// Azure ML v1 `spark.packages`, in declared order.
    pub spark_packages: Vec<SparkPackage>,
    /// Runtime environment variables (not part of the build).
    pub environment_variables: BTreeMap<String, String>,
    /// Azure ML v1 `userManagedDependencies`: Azure installs nothing from the conda list.
    pub user_managed: bool,
    /// The platform the image is built for; `linux/amd64` unless the definition says
    /// otherwise.
    pub platform: Platform,
    /// Azure ML v1 `r` section, as canonical JSON.
    pub r: Option<serde_json::Value>,
    /// Azure ML v2 `inference_config`, as JSON.
    pub inference_config: Option<serde_json::Value>,
    /// Release-template placeholders left unresolved (curated asset sources), each where
    /// it is written.
    pub templates: Vec<Template>,
    /// Azure ML v1 `python.interpreterPath` (what runs in a user-managed environment).
    pub interpreter_path: Option<String>,
    /// The line of the main file that findings about the whole definition point at
    /// (e.g. `userManagedDependencies`, `inference_config`); 1 when there is none.
    #[serde(skip)]
    pub whole_definition_line: u32,
    /// Where a definition uses syntax Azure ML no longer accepts (pre-GA v2 `docker:` / `file:`).
    pub legacy_syntax: Option<Origin>,
    /// Every file read to build this definition, in the order read.
    pub files: Vec<PathBuf>,
}

impl EnvDefinition {
    /// An empty definition of `kind` at `path`, to be filled by a format module.
    pub fn empty(kind: DefinitionKind, path: &Path) -> Self {
        Self {
            kind,
            path: path.to_path_buf(),
            metadata: Metadata::default(),
            base_image: None,
            dockerfile: None,
            build_context: None,
            build_args: BTreeMap::new(),
            conda_name: None,
            conda_file: None,
            channels: Vec::new(),
            conda_dependencies: Vec::new(),
            pip_dependencies: Vec::new(),
            pip_constraints: Vec::new(),
            pip_options: Vec::new(),
            includes: Vec::new(),
            conda_variables: Vec::new(),
            spark_repositories: Vec::new(),
            spark_packages: Vec::new(),
            environment_variables: BTreeMap::new(),
            user_managed: false,
            platform: Platform::default(),
            r: None,
            inference_config: None,
            templates: Vec::new(),
            interpreter_path: None,
            whole_definition_line: 1,
            legacy_syntax: None,
            files: Vec::new(),
        }
    }

    /// All declared dependencies: conda first, then pip, each in declared order.
    pub fn dependencies(&self) -> impl Iterator<Item = &Dependency> {
        self.conda_dependencies.iter().chain(&self.pip_dependencies)
    }

    /// Merge a parsed conda file into this definition.
    pub fn add_conda_file(&mut self, file: conda::CondaFile) {
        self.conda_name = file.name.or(self.conda_name.take());
        self.conda_file = Some(file.path.clone());
        self.channels.extend(file.channels);
        self.conda_dependencies.extend(file.dependencies);
        self.add_pip_file(file.pip);
        self.conda_variables.extend(file.variables);
        self.templates.extend(file.templates);
        push_unique(&mut self.files, file.files);
    }

    /// Merge parsed pip requirements (a file with its includes, or a conda `pip:` list).
    pub fn add_pip_file(&mut self, pip: requirements::PipFile) {
        self.pip_dependencies.extend(pip.requirements);
        self.pip_constraints.extend(pip.constraints);
        self.pip_options.extend(pip.options);
        self.includes.extend(pip.includes);
        self.templates.extend(pip.templates);
        push_unique(&mut self.files, pip.files);
    }

    /// Set the base image (from the definition, or `--image` on the command line); a
    /// release template in it is recorded as an unresolved template.
    pub fn set_base_image(&mut self, image: BaseImage) {
        self.templates.retain(|t| {
            self.base_image
                .as_ref()
                .is_none_or(|b| b.origin != t.origin)
        });
        if image.pin == ImagePinState::Template && pin::has_template(&image.reference) {
            self.templates.push(Template {
                text: image.reference.clone(),
                origin: image.origin.clone(),
            });
        }
        self.base_image = Some(image);
    }

    /// Whether `origin` is in the Dockerfile or a build-context file it copies: what the
    /// Docker build installs, as opposed to what Azure ML installs from the conda section.
    pub fn is_from_build(&self, origin: &Origin) -> bool {
        self.dockerfile
            .as_ref()
            .is_some_and(|d| d.path == origin.file)
            || match &self.build_context {
                Some(BuildContext::Local { path, files, .. }) => {
                    files.iter().any(|f| path.join(&f.path) == origin.file)
                }
                _ => false,
            }
    }

    /// The `invalid-spec` findings: every declared dependency or constraint its grammar
    /// rejects, in declared order.
    pub fn invalid_spec_findings(&self) -> Vec<Finding> {
        self.dependencies()
            .chain(&self.pip_constraints)
            .filter_map(Dependency::invalid_spec_finding)
            .collect()
    }

    /// Whether any declared dependency is pinned less than exactly.
    pub fn unpinned(&self) -> impl Iterator<Item = &Dependency> {
        self.dependencies().filter(|d| !d.pin.state.is_pinned())
    }
}

pub(crate) fn push_unique(files: &mut Vec<PathBuf>, new: impl IntoIterator<Item = PathBuf>) {
    for f in new {
        if !files.contains(&f) {
            files.push(f);
        }
    }
}

/// Options for [`load`].
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Override format detection.
    pub kind: Option<DefinitionKind>,
    /// A base image for definitions that do not name one (a conda file, a requirements file).
    pub image: Option<String>,
}

/// Load a definition from a file or folder, detecting its kind from the path.
pub fn load(path: &Path, options: &LoadOptions) -> Result<EnvDefinition, DefinitionError> {
    if !path.exists() {
        return Err(DefinitionError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let kind = match options.kind {
        Some(k) => k,
        None => detect(path)?,
    };
    // A folder holding one environment YAML stands for that file.
    let resolved = if path.is_dir()
        && matches!(
            kind,
            DefinitionKind::AzuremlV2 | DefinitionKind::AzuremlJob | DefinitionKind::Conda
        ) {
        folder_definition(path).unwrap_or_else(|| path.to_path_buf())
    } else {
        path.to_path_buf()
    };
    let path = resolved.as_path();
    let mut def = match kind {
        DefinitionKind::AzuremlV1 => azureml_v1::load(path)?,
        DefinitionKind::AzuremlV2 => azureml_v2::load(path)?,
        DefinitionKind::AzuremlJob => azureml_v2::load_job(path)?,
        DefinitionKind::Curated => curated::load(path)?,
        DefinitionKind::Conda => {
            let file = conda::load(path)?;
            let mut def = EnvDefinition::empty(kind, path);
            def.metadata.name.clone_from(&file.name);
            def.add_conda_file(file);
            def
        }
        DefinitionKind::Requirements => {
            let pip = requirements::load(path)?;
            let mut def = EnvDefinition::empty(kind, path);
            def.add_pip_file(pip);
            def
        }
        DefinitionKind::Dockerfile => docker_build::load(path)?,
    };
    if let Some(image) = &options.image {
        let origin = Origin::new("<command line>", 1, 1);
        def.set_base_image(BaseImage::new(image, None, origin)?);
    }
    Ok(def)
}

/// The environment file a folder stands for: `environment.yml`/`.yaml` or `env.yml`/`.yaml`.
fn folder_definition(dir: &Path) -> Option<PathBuf> {
    ["environment.yml", "environment.yaml", "env.yml", "env.yaml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Tell the kind of a definition from its path (and, for YAML and JSON, a look at its keys).
pub fn detect(path: &Path) -> Result<DefinitionKind, DefinitionError> {
    let unknown = || DefinitionError::UnknownKind {
        path: path.to_path_buf(),
    };
    if path.is_dir() {
        if path.join("azureml_environment.json").is_file() {
            return Ok(DefinitionKind::AzuremlV1);
        }
        if path.join("asset.yaml").is_file() || path.join("spec.yaml").is_file() {
            return Ok(DefinitionKind::Curated);
        }
        if path.join("Dockerfile").is_file() {
            return Ok(DefinitionKind::Dockerfile);
        }
        return folder_definition(path)
            .and_then(|f| yaml::detect_kind(&f))
            .ok_or_else(unknown);
    }
    let (file_name, ext) = name_and_extension(path);
    if is_dockerfile_name(&file_name, &ext) {
        return Ok(DefinitionKind::Dockerfile);
    }
    if matches!(file_name.as_str(), "asset.yaml" | "asset.yml") {
        return Ok(DefinitionKind::Curated);
    }
    match ext.as_str() {
        "txt" | "in" | "pip" => Ok(DefinitionKind::Requirements),
        "json" => Ok(DefinitionKind::AzuremlV1),
        "yml" | "yaml" => yaml::detect_kind(path).ok_or_else(unknown),
        _ if file_name.starts_with("requirements") || file_name.starts_with("constraints") => {
            Ok(DefinitionKind::Requirements)
        }
        _ => Err(unknown()),
    }
}

/// A path's file name and extension, lower-cased (empty when it has none), as kind
/// detection compares them.
pub(crate) fn name_and_extension(path: &Path) -> (String, String) {
    let lower = |o: Option<&std::ffi::OsStr>| {
        o.map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default()
    };
    (lower(path.file_name()), lower(path.extension()))
}

/// Whether a lower-cased file name and extension ([`name_and_extension`]) name a
/// Dockerfile: `Dockerfile`, `Dockerfile.*`, `*.dockerfile`, `BaseDockerfile`.
pub(crate) fn is_dockerfile_name(file_name: &str, ext: &str) -> bool {
    file_name.starts_with("dockerfile") || ext == "dockerfile" || file_name == "basedockerfile"
}
