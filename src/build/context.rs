//! The build context of a definition, generated the way Azure ML generates it.
//!
//! - A Docker-based definition (a Dockerfile and its folder, an Azure ML v2 `build:`
//!   context, a remote context URL) is built as it is: envaudit adds nothing.
//! - A conda definition becomes Azure ML's "system-managed" image: a Dockerfile whose
//!   `FROM` pins the base image by digest, the conda file with its `name:` replaced by
//!   `azureml_<condahash>` (`azureml-environment-setup/mutated_conda_dependencies.yml`),
//!   and `conda env create -p /azureml-envs/azureml_<condahash>`, so the catalog finds the
//!   prefix where it finds Azure's.
//! - A pip-only definition installs its requirements file with `python3 -m pip install -r`
//!   into the base image's Python.
//! - Azure ML v1's `baseDockerfile` is kept as written, followed by the conda layer.
//!
//! `<condahash>` is the first 32 hex digits of the definition-hash encoding of the conda and
//! pip ingredients alone, so that the prefix stays put when only the base image changes
//! (Azure's conda-environment hash also differs from its image hash). Files the conda or pip
//! file includes (`-r`, `-c`, a local `--find-links` folder) are copied next to it,
//! keeping their paths relative to it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::BuildError;
use crate::definition::{BuildContext, DefinitionKind, EnvDefinition};
use crate::model::ImageRef;

/// The folder of a generated context that holds the definition's files (Azure's name).
pub const SETUP_DIR: &str = "azureml-environment-setup";

/// The conda file's name in a generated context (Azure's name).
pub const CONDA_FILE: &str = "mutated_conda_dependencies.yml";

/// Where Azure ML's conda environments live.
pub const CONDA_ENVS: &str = "/azureml-envs";

/// What a builder builds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Context {
    /// Where the context is.
    pub source: ContextSource,
    /// The Dockerfile, relative to the context folder (for a remote context: in it).
    pub dockerfile: String,
    /// The files of a generated context, by path relative to its folder, sorted.
    pub files: Vec<(String, FileContent)>,
    /// What envaudit adds on top of the base image.
    pub layer: Layer,
    /// The base image the generated Dockerfile starts `FROM`, when envaudit wrote it.
    pub base: Option<String>,
}

/// Where the context is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", content = "location", rename_all = "lowercase")]
pub enum ContextSource {
    /// Written by envaudit into a folder of its own (or `--context-out`).
    Generated,
    /// The definition's own folder, built as it is.
    Local(PathBuf),
    /// A git or archive URL the builder fetches itself.
    Remote(String),
}

/// One file of a generated context.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileContent {
    /// Text envaudit generated (the Dockerfile, the rewritten conda file).
    Text(String),
    /// A file or folder of the definition, copied as it is.
    Copy(PathBuf),
}

/// The environment layer envaudit generates.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Layer {
    /// Nothing: a Docker-based definition, a user-managed environment, or a base image alone.
    None,
    /// `conda env create -p PREFIX`.
    Conda {
        /// The environment's prefix, `/azureml-envs/azureml_<condahash>`.
        prefix: String,
    },
    /// `python3 -m pip install -r FILE`.
    Pip {
        /// The requirements file's name inside the setup folder ([`SETUP_DIR`]).
        requirements: String,
    },
}

impl Context {
    /// The generated Dockerfile's text, if envaudit wrote one.
    pub fn dockerfile_text(&self) -> Option<&str> {
        self.files.iter().find_map(|(p, c)| match c {
            FileContent::Text(t) if *p == self.dockerfile => Some(t.as_str()),
            _ => None,
        })
    }
}

/// Plan the build context of `def`. `base` is the base image pinned by digest (the
/// caller resolves it); without it the definition's reference is used as written.
pub fn plan(def: &EnvDefinition, base: Option<&ImageRef>) -> Result<Context, BuildError> {
    // A Docker-based definition builds as it is.
    let as_is = match &def.build_context {
        Some(BuildContext::Local {
            path,
            dockerfile_path,
            ..
        }) => Some((ContextSource::Local(path.clone()), dockerfile_path)),
        Some(BuildContext::Remote {
            url,
            dockerfile_path,
        }) => Some((ContextSource::Remote(url.clone()), dockerfile_path)),
        None => None,
    };
    if let Some((source, dockerfile_path)) = as_is {
        return Ok(Context {
            source,
            dockerfile: dockerfile_path
                .clone()
                .unwrap_or_else(|| "Dockerfile".to_owned()),
            files: Vec::new(),
            layer: Layer::None,
            base: None,
        });
    }

    let mut files = Vec::new();
    let (mut dockerfile, from) = if let Some(d) = &def.dockerfile {
        // Azure ML v1 `baseDockerfile`: the user's text stands in for the FROM line.
        (user_dockerfile(d)?, None)
    } else {
        let base = base_reference(def, base)?;
        (format!("FROM {base}\n"), Some(base))
    };
    let layer = if def.user_managed {
        Layer::None
    } else if has_conda(def) {
        let prefix = format!("{CONDA_ENVS}/{}", conda_env_name(def));
        files.push((
            format!("{SETUP_DIR}/{CONDA_FILE}"),
            FileContent::Text(mutated_conda_file(def)?),
        ));
        if let Some(conda) = &def.conda_file {
            copy_inputs(def, conda, &mut files)?;
        }
        dockerfile.push_str(&conda_steps(&prefix));
        Layer::Conda { prefix }
    } else if !def.pip_dependencies.is_empty() || def.kind == DefinitionKind::Requirements {
        let requirements = if def.kind == DefinitionKind::Requirements {
            let name = file_name(&def.path);
            files.push((
                format!("{SETUP_DIR}/{name}"),
                FileContent::Copy(def.path.clone()),
            ));
            copy_inputs(def, &def.path, &mut files)?;
            name
        } else {
            let mut text = String::new();
            for d in &def.pip_dependencies {
                text.push_str(&d.raw);
                text.push('\n');
            }
            files.push((
                format!("{SETUP_DIR}/requirements.txt"),
                FileContent::Text(text),
            ));
            "requirements.txt".to_owned()
        };
        dockerfile.push_str(&pip_steps(&requirements));
        Layer::Pip { requirements }
    } else {
        Layer::None
    };
    files.push(("Dockerfile".to_owned(), FileContent::Text(dockerfile)));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    Ok(Context {
        source: ContextSource::Generated,
        dockerfile: "Dockerfile".to_owned(),
        files,
        layer,
        base: from,
    })
}

fn base_reference(def: &EnvDefinition, pinned: Option<&ImageRef>) -> Result<String, BuildError> {
    if let Some(p) = pinned {
        return Ok(p.to_string());
    }
    let Some(b) = &def.base_image else {
        return Err(BuildError::NoBaseImage {
            path: def.path.clone(),
        });
    };
    match &b.image {
        Some(i) => Ok(i.to_string()),
        None => Err(BuildError::TemplateBaseImage(b.reference.clone())),
    }
}

/// The user's Dockerfile text as written, or (when it came inline from a JSON file) its
/// instructions one per line.
fn user_dockerfile(d: &crate::definition::Dockerfile) -> Result<String, BuildError> {
    let from_file = d.path.is_file()
        && !d
            .path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let mut text = if from_file {
        std::fs::read_to_string(&d.path).map_err(|source| BuildError::Read {
            path: d.path.clone(),
            source,
        })?
    } else {
        d.canonical_steps().join("\n")
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

fn has_conda(def: &EnvDefinition) -> bool {
    def.conda_file.is_some()
        || def
            .conda_dependencies
            .iter()
            .any(|d| !def.is_from_build(&d.origin))
}

/// `azureml_` and the first 32 hex digits of the hash of the conda and pip ingredients.
pub fn conda_env_name(def: &EnvDefinition) -> String {
    let ingredients: Vec<_> = crate::hash::ingredients(def)
        .into_iter()
        .filter(|i| i.kind.starts_with("conda-") || i.kind.starts_with("pip-"))
        .collect();
    let h = crate::hash::hash_ingredients(&ingredients);
    format!("azureml_{}", &h.hex()[..32])
}

/// The conda file with its top-level `name:` replaced (or added), every other line as
/// written; a conda section that came from no file (Azure ML v1 JSON) is written out.
fn mutated_conda_file(def: &EnvDefinition) -> Result<String, BuildError> {
    let name = conda_env_name(def);
    let Some(path) = &def.conda_file else {
        return Ok(synthesized_conda_file(def, &name));
    };
    let text = std::fs::read_to_string(path).map_err(|source| BuildError::Read {
        path: path.clone(),
        source,
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut out = String::with_capacity(text.len() + 40);
    let mut replaced = false;
    for line in text.split_inclusive('\n') {
        let top_level_name = line.starts_with("name:")
            || line
                .strip_prefix("name")
                .is_some_and(|r| r.trim_start_matches([' ', '\t']).starts_with(':'));
        if top_level_name && !replaced {
            let _ = writeln!(out, "name: {name}");
            replaced = true;
        } else {
            out.push_str(line);
        }
    }
    if !replaced {
        out.insert_str(0, &format!("name: {name}\n"));
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

fn synthesized_conda_file(def: &EnvDefinition, name: &str) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut out = format!("name: {name}\n");
    if !def.channels.is_empty() {
        out.push_str("channels:\n");
        for c in &def.channels {
            let _ = writeln!(out, "  - {}", quote(&c.name));
        }
    }
    out.push_str("dependencies:\n");
    for d in &def.conda_dependencies {
        let _ = writeln!(out, "  - {}", quote(&d.raw));
    }
    if !def.pip_dependencies.is_empty() || !def.pip_options.is_empty() {
        out.push_str("  - pip:\n");
        for o in &def.pip_options {
            let line = match &o.value {
                Some(v) => format!("{} {v}", o.name),
                None => o.name.clone(),
            };
            let _ = writeln!(out, "    - {}", quote(&line));
        }
        for d in &def.pip_dependencies {
            let _ = writeln!(out, "    - {}", quote(&d.raw));
        }
    }
    if !def.conda_variables.is_empty() {
        out.push_str("variables:\n");
        for (k, v) in &def.conda_variables {
            let _ = writeln!(out, "  {}: {}", quote(k), quote(v));
        }
    }
    out
}

fn conda_steps(prefix: &str) -> String {
    let name = prefix.rsplit('/').next().unwrap_or(prefix);
    format!(
        "USER root
RUN mkdir -p $HOME/.cache
WORKDIR /
COPY {SETUP_DIR}/ {SETUP_DIR}/
RUN conda env create -p {prefix} -f {SETUP_DIR}/{CONDA_FILE} && rm -rf \"$HOME/.cache/pip\" && conda clean -aqy && CONDA_ROOT_DIR=$(conda info --root) && rm -rf \"$CONDA_ROOT_DIR/pkgs\" && find \"$CONDA_ROOT_DIR\" -type d -name __pycache__ -exec rm -rf {{}} +
# AzureML Conda environment name: {name}
ENV PATH {prefix}/bin:$PATH
ENV AZUREML_CONDA_ENVIRONMENT_PATH {prefix}
ENV LD_LIBRARY_PATH {prefix}/lib:$LD_LIBRARY_PATH
ENV AZUREML_ENVIRONMENT_IMAGE True
CMD [\"bash\"]
"
    )
}

fn pip_steps(requirements: &str) -> String {
    format!(
        "USER root
WORKDIR /
COPY {SETUP_DIR}/ {SETUP_DIR}/
RUN cd {SETUP_DIR} && PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --no-cache-dir -r {requirements}
ENV AZUREML_ENVIRONMENT_IMAGE True
"
    )
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || "requirements.txt".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Files `main` includes (`-r`, `-c`) and local `--find-links` folders, placed next to it in
/// the setup folder at their paths relative to its folder.
fn copy_inputs(
    def: &EnvDefinition,
    main: &Path,
    files: &mut Vec<(String, FileContent)>,
) -> Result<(), BuildError> {
    let root = main.parent().unwrap_or(Path::new("."));
    let mut place = |source: PathBuf| -> Result<(), BuildError> {
        let rel = relative_inside(root, &source).ok_or_else(|| BuildError::OutsideContext {
            path: source.clone(),
            root: main.to_path_buf(),
        })?;
        files.push((format!("{SETUP_DIR}/{rel}"), FileContent::Copy(source)));
        Ok(())
    };
    for include in &def.includes {
        if let Some(resolved) = &include.resolved {
            place(resolved.clone())?;
        }
    }
    for option in &def.pip_options {
        if !matches!(option.name.as_str(), "--find-links") {
            continue;
        }
        let Some(value) = &option.value else { continue };
        if value.contains("://") && !value.starts_with("file://") {
            continue;
        }
        let local = value.strip_prefix("file://").unwrap_or(value);
        let dir = option
            .origin
            .file
            .parent()
            .unwrap_or(Path::new("."))
            .join(local);
        if dir.exists() {
            place(dir)?;
        }
    }
    Ok(())
}

/// `path` relative to `root` with `/` separators, when it is inside it.
fn relative_inside(root: &Path, path: &Path) -> Option<String> {
    let norm = |p: &Path| -> Option<PathBuf> {
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    if !out.pop() {
                        return None;
                    }
                }
                other => out.push(other),
            }
        }
        Some(out)
    };
    let root = norm(root)?;
    let path = norm(path)?;
    let rel = path.strip_prefix(&root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Write a context into `dir` (created; it must not exist or be empty): a generated
/// context's files, or a copy of a local context folder. A remote context writes nothing.
pub fn write(context: &Context, dir: &Path) -> Result<(), BuildError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Write { path, source }
    };
    if dir.exists() {
        let empty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
        if !empty {
            return Err(BuildError::ContextOutNotEmpty {
                path: dir.to_path_buf(),
            });
        }
    }
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    match &context.source {
        ContextSource::Remote(_) => Ok(()),
        ContextSource::Local(src) => copy_tree(src, dir),
        ContextSource::Generated => {
            for (rel, content) in &context.files {
                let target = dir.join(rel);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(write_err(parent))?;
                }
                match content {
                    FileContent::Text(t) => {
                        std::fs::write(&target, t).map_err(write_err(&target))?;
                    }
                    FileContent::Copy(src) if src.is_dir() => copy_tree(src, &target)?,
                    FileContent::Copy(src) => {
                        std::fs::copy(src, &target).map_err(write_err(&target))?;
                    }
                }
            }
            Ok(())
        }
    }
}

/// Copy regular files and folders (symbolic links are recreated, not followed).
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), BuildError> {
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Read { path, source }
    };
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Write { path, source }
    };
    std::fs::create_dir_all(to).map_err(write_err(to))?;
    for entry in std::fs::read_dir(from).map_err(read_err(from))? {
        let entry = entry.map_err(read_err(from))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let kind = entry.file_type().map_err(read_err(&src))?;
        if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(read_err(&src))?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &dst).map_err(write_err(&dst))?;
            #[cfg(not(unix))]
            let _ = target;
        } else {
            std::fs::copy(&src, &dst).map_err(write_err(&dst))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_inside_the_root() {
        let r = Path::new("/a/b");
        assert_eq!(
            relative_inside(r, Path::new("/a/b/c/d.txt")).as_deref(),
            Some("c/d.txt")
        );
        assert_eq!(
            relative_inside(r, Path::new("/a/b/./x/../y")).as_deref(),
            Some("y")
        );
        assert_eq!(relative_inside(r, Path::new("/a/c")), None);
        assert_eq!(relative_inside(r, Path::new("/a/b")), None);
        assert_eq!(
            relative_inside(Path::new("envs"), Path::new("envs/wheels")).as_deref(),
            Some("wheels")
        );
    }
}
