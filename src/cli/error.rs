//! Turning errors into `error:` / `caused by:` / `hint:` text and exit codes.

use std::process::ExitCode;

use crate::definition::DefinitionError;
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
            s.push_str(&format!("  caused by: {cause}\n"));
        }
        if let Some(p) = cause.downcast_ref::<ParseError>() {
            snippet = snippet.or_else(|| p.snippet());
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
        let registry_error =
            cause
                .downcast_ref::<crate::registry::RegistryError>()
                .or(match cause.downcast_ref::<crate::image::ImageError>() {
                    Some(crate::image::ImageError::Registry(r)) => Some(r),
                    _ => None,
                });
        if let Some(r) = registry_error {
            hint = hint.or_else(|| registry_hint(r));
        }
        if let Some(crate::image::ImageError::NoPlatform { .. }) =
            cause.downcast_ref::<crate::image::ImageError>()
        {
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
        s.push_str(&format!("hint: {h}\n"));
    }
    s
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
