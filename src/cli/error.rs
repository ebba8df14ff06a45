//! Turning errors into `error:` / `caused by:` / `hint:` text and exit codes.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::definition::DefinitionError;
use crate::scan::ScanError;
use crate::source::{ParseError, ReadError};

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Nothing to report, or nothing that fails per `--fail-on`.
    Ok,
    /// Findings that fail per `--fail-on`.
    Findings,
    /// Usage or input error.
    Input,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(match e {
            Exit::Ok => 0,
            Exit::Findings => 1,
            Exit::Input => 2,
        })
    }
}

/// An error with the hint that says what to do about it.
#[derive(Debug)]
pub(crate) struct Hinted {
    message: String,
    hint: String,
}

impl Hinted {
    pub(crate) fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Hinted {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

/// Print an error with its causes, the offending line and a hint; exit 2.
pub fn report(err: &anyhow::Error) -> ExitCode {
    eprint!("{}", render(err));
    Exit::Input.into()
}

/// The text [`report`] prints.
pub fn render(err: &anyhow::Error) -> String {
    let mut s = format!("error: {err}\n");
    let mut snippet = None;
    let mut hint = None;
    for (i, cause) in err.chain().enumerate() {
        if i > 0 {
            let _ = writeln!(s, "  caused by: {cause}");
        }
        if let Some(p) = cause.downcast_ref::<ParseError>() {
            snippet = snippet.or_else(|| p.snippet());
        }
        if let Some(h) = cause.downcast_ref::<Hinted>() {
            hint = hint.or_else(|| Some(h.hint.clone()));
        }
        match lockfile_error(cause) {
            Some(crate::lockfile::LockfileError::Parse(p)) => {
                snippet = snippet.or_else(|| p.snippet());
            }
            Some(crate::lockfile::LockfileError::NewerVersion { .. }) => {
                hint = hint.or(Some("upgrade envaudit to read it".to_owned()));
            }
            _ => {}
        }
        if let Some(d) = cause.downcast_ref::<DefinitionError>() {
            hint = hint.or_else(|| hint_for(d));
            if let DefinitionError::Parse(p) = d {
                snippet = snippet.or_else(|| p.snippet());
            }
        }
        if let Some(crate::config::ConfigError::Parse(p)) =
            cause.downcast_ref::<crate::config::ConfigError>()
        {
            snippet = snippet.or_else(|| p.snippet());
        }
        let read =
            cause
                .downcast_ref::<ReadError>()
                .or(match cause.downcast_ref::<DefinitionError>() {
                    Some(DefinitionError::Read(r)) => Some(r),
                    _ => None,
                });
        if let Some(r) = cause.downcast_ref::<crate::model::ImageRefError>() {
            snippet = snippet.or_else(|| Some(r.snippet()));
        }
        let image_error = image_error(cause);
        let registry_error = cause
            .downcast_ref::<crate::registry::RegistryError>()
            .or(match cause.downcast_ref::<ScanError>() {
                Some(ScanError::Registry(r)) => Some(r),
                _ => None,
            })
            .or(match image_error {
                Some(crate::image::ImageError::Registry(r)) => Some(r),
                _ => None,
            });
        if let Some(r) = registry_error {
            hint = hint.or_else(|| registry_hint(r));
        }
        if let Some(crate::image::ImageError::NoPlatform { .. }) = image_error {
            hint = hint.or(Some(
                "choose one of the platforms it has with `--platform OS/ARCH`".to_owned(),
            ));
        }
        if let Some(ReadError::Decode { .. }) = read {
            hint = hint.or(Some(
                "save the file as UTF-8 (or UTF-16 with a byte-order mark)".to_owned(),
            ));
        }
    }
    if let Some(sn) = snippet {
        s.push_str(&sn);
        s.push('\n');
    }
    if let Some(h) = hint {
        let _ = writeln!(s, "hint: {h}");
    }
    s
}

/// An image error, also when a scan error wraps it transparently or either is boxed.
fn image_error<'a>(
    cause: &'a (dyn std::error::Error + 'static),
) -> Option<&'a crate::image::ImageError> {
    // Errors too large to return unboxed are boxed sources (`lock::CheckError`).
    let scan = cause
        .downcast_ref::<ScanError>()
        .or(cause.downcast_ref::<Box<ScanError>>().map(|b| &**b));
    cause
        .downcast_ref::<crate::image::ImageError>()
        .or(cause
            .downcast_ref::<Box<crate::image::ImageError>>()
            .map(|b| &**b))
        .or(match scan {
            Some(ScanError::Image(e)) => Some(e),
            _ => None,
        })
}

/// A lockfile error, also when a store or git error wraps it transparently.
fn lockfile_error<'a>(
    cause: &'a (dyn std::error::Error + 'static),
) -> Option<&'a crate::lockfile::LockfileError> {
    use crate::lockfile::git::GitError;
    use crate::lockfile::record::ImportError;
    use crate::lockfile::store::StoreError;
    cause
        .downcast_ref::<crate::lockfile::LockfileError>()
        .or(match cause.downcast_ref::<StoreError>() {
            Some(StoreError::Lockfile(l)) => Some(l),
            _ => None,
        })
        .or(match cause.downcast_ref::<GitError>() {
            Some(GitError::Lockfile(l)) => Some(l),
            _ => None,
        })
        .or(match cause.downcast_ref::<ImportError>() {
            Some(ImportError::Lockfile(l) | ImportError::Store(StoreError::Lockfile(l))) => Some(l),
            _ => None,
        })
}

fn registry_hint(e: &crate::registry::RegistryError) -> Option<String> {
    use crate::registry::RegistryError as E;
    match e {
        E::Unauthorized {
            registry,
            credentials: None,
            ..
        } => Some(format!(
            "log in with `docker login {registry}` (or pass `--username USER --password-stdin`); for Azure Container Registry: `az acr login --name NAME --expose-token --output tsv --query accessToken | envaudit resolve --username 00000000-0000-0000-0000-000000000000 --password-stdin REF`"
        )),
        E::Unauthorized { registry, .. } => Some(format!(
            "check the credentials for `{registry}` (docker config, `REGISTRY_AUTH_FILE` or `--username`); a token from `az acr login --expose-token` lasts about 3 hours"
        )),
        E::Transport { url, .. } if url.as_str().starts_with("https://") => Some(
            "if the registry serves plain HTTP, name it with `--insecure-registry HOST[:PORT]`"
                .to_owned(),
        ),
        E::Timeout { .. } => Some("raise `--timeout SECONDS` for a slow registry".to_owned()),
        E::Transport { url, .. } => Some(format!(
            "check that the registry is running and reachable: `curl -sI {}`",
            url.as_str()
                .split("/v2/")
                .next()
                .map_or(String::new(), |h| format!("{h}/v2/"))
        )),
        _ => None,
    }
}

fn hint_for(e: &DefinitionError) -> Option<String> {
    match e {
        DefinitionError::UnknownKind { path } => Some(format!(
            "say which kind it is, e.g. `envaudit hash {} --kind conda` (kinds: azureml-v1, azureml-v2, azureml-job, curated, conda, requirements, dockerfile)",
            path.display()
        )),
        DefinitionError::IncludeCycle { .. } => {
            Some("remove one of the `-r` lines that close the cycle".to_owned())
        }
        DefinitionError::MissingReference { target, .. } => Some(format!(
            "create `{}` or fix the path (relative paths are resolved from the referencing file's folder)",
            target.display()
        )),
        _ => None,
    }
}
