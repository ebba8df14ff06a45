//! Where registry credentials come from, in this order (the first that has an entry for the
//! registry wins):
//!
//! 1. `--username` / `--password-stdin` ([`CredentialStore::with_explicit`]);
//! 2. the file named by `REGISTRY_AUTH_FILE` (podman/skopeo `auth.json`: `auths`);
//! 3. the docker config, `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`:
//!    `credHelpers[registry]`, then `credsStore`, then `auths[registry]`, as docker does.
//!    A credential helper is the program `docker-credential-NAME`, run with `get` and the
//!    server URL on standard input.
//!
//! An identity token (`identitytoken`, or a helper answering the user `<token>`) is sent as
//! the password of the user `00000000-0000-0000-0000-000000000000`, which is how Azure
//! Container Registry accepts its refresh tokens.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use crate::model::Secret;

/// The user name Azure Container Registry expects with an access or refresh token.
pub const TOKEN_USERNAME: &str = "00000000-0000-0000-0000-000000000000";

/// A user name and password (or token) for one registry, and where they were found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user name; `00000000-0000-0000-0000-000000000000` when the password is an
    /// identity token.
    pub username: String,
    /// The password or token, redacted in `Debug` and `Display`.
    pub password: Secret,
    /// Where they came from, for messages: e.g. ``docker config `/root/.docker/config.json` ``.
    pub origin: String,
}

/// Why credentials could not be read. Never contains a secret: JSON errors keep only
/// their position, helper output only its first line.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// An auth file or docker config exists but could not be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An auth file or docker config is not valid JSON of its shape.
    #[error("`{path}` is not a valid auth file (JSON error at line {line}, column {column})")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the JSON error.
        line: usize,
        /// The 1-based column of the JSON error.
        column: usize,
    },
    /// An `auths` entry's `auth` does not decode to `user:password`.
    #[error("the `auth` of `{registry}` in `{path}` is not base64 of `user:password`")]
    BadAuth {
        /// The file holding the entry.
        path: PathBuf,
        /// The registry key of the entry.
        registry: String,
    },
    /// A credential helper could not be started or waited for (usually: not on `PATH`).
    #[error("cannot run credential helper `{helper}`")]
    HelperMissing {
        /// The helper program, `docker-credential-NAME`.
        helper: String,
        /// The operating system's error (usually: not found).
        #[source]
        source: std::io::Error,
    },
    /// A credential helper failed, or answered something other than its JSON.
    #[error("credential helper `{helper}` failed: {message}")]
    Helper {
        /// The helper program, `docker-credential-NAME`.
        helper: String,
        /// The first line of its output (at most 200 characters, or its exit status when it
        /// printed nothing), or what is wrong with its answer; never the secret.
        message: String,
    },
}

/// Looks up credentials per registry; see the module documentation for the order.
#[derive(Clone, Debug, Default)]
pub struct CredentialStore {
    explicit: Option<Credentials>,
    auth_file: Option<PathBuf>,
    docker_config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthFileWire {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntryWire>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntryWire {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswerWire {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

impl CredentialStore {
    /// No credentials at all: every request is anonymous.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// The auth files named by the environment: `REGISTRY_AUTH_FILE`, then `DOCKER_CONFIG`
    /// (a folder) or `~/.docker`.
    pub fn from_env() -> Self {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let auth_file = env("REGISTRY_AUTH_FILE").map(PathBuf::from);
        let docker_config = env("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| Path::new(&h).join(".docker")))
            .map(|d| d.join("config.json"));
        Self {
            explicit: None,
            auth_file,
            docker_config,
        }
    }

    /// Use these credentials before any file.
    #[must_use]
    pub fn with_explicit(mut self, credentials: Credentials) -> Self {
        self.explicit = Some(credentials);
        self
    }

    /// The credentials for `registry` (`host[:port]`, `docker.io` for Docker Hub), if any.
    /// Runs a credential helper when the docker config names one for the registry.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credentials>, CredentialError> {
        if let Some(c) = &self.explicit {
            return Ok(Some(c.clone()));
        }
        let wanted = normalise_key(registry);
        if let Some(path) = &self.auth_file
            && let Some(file) = read_auth_file(path)?
            && let Some(c) = from_auths(&file, &wanted, path, "REGISTRY_AUTH_FILE")?
        {
            return Ok(Some(c));
        }
        let Some(path) = &self.docker_config else {
            return Ok(None);
        };
        let Some(file) = read_auth_file(path)? else {
            return Ok(None);
        };
        let helper = file
            .cred_helpers
            .iter()
            .find(|(k, _)| normalise_key(k) == wanted)
            .map(|(_, v)| v.clone())
            .or_else(|| file.creds_store.clone())
            .filter(|h| !h.is_empty());
        if let Some(helper) = helper
            && let Some(c) = run_helper(&helper, registry)?
        {
            return Ok(Some(c));
        }
        from_auths(&file, &wanted, path, "docker config")
    }
}

/// `https://index.docker.io/v1/`, `registry-1.docker.io` and `docker.io` are one registry;
/// keys may carry a scheme and a path.
fn normalise_key(key: &str) -> String {
    let k = key
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        _ => host,
    }
}

fn read_auth_file(path: &Path) -> Result<Option<AuthFileWire>, CredentialError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CredentialError::Read {
                path: path.to_owned(),
                source: e,
            });
        }
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| CredentialError::Parse {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
        })
}

fn from_auths(
    file: &AuthFileWire,
    wanted: &str,
    path: &Path,
    what: &str,
) -> Result<Option<Credentials>, CredentialError> {
    let Some((key, entry)) = file.auths.iter().find(|(k, _)| normalise_key(k) == wanted) else {
        return Ok(None);
    };
    let origin = format!("{what} `{}`", path.display());
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials {
            username: TOKEN_USERNAME.to_owned(),
            password: Secret::new(token),
            origin,
        }));
    }
    if let (Some(u), Some(p)) = (&entry.username, &entry.password)
        && !u.is_empty()
    {
        return Ok(Some(Credentials {
            username: u.clone(),
            password: Secret::new(p.as_str()),
            origin,
        }));
    }
    let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let bad = || CredentialError::BadAuth {
        path: path.to_owned(),
        registry: key.clone(),
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (user, password) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some(Credentials {
        username: user.to_owned(),
        password: Secret::new(password),
        origin,
    }))
}

/// Ask `docker-credential-NAME get`, as docker does.
fn run_helper(name: &str, registry: &str) -> Result<Option<Credentials>, CredentialError> {
    let program = format!("docker-credential-{name}");
    let server = if registry == crate::model::DOCKER_HUB {
        "https://index.docker.io/v1/".to_owned()
    } else {
        registry.to_owned()
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CredentialError::HelperMissing {
            helper: program.clone(),
            source: e,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its exit status below.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| CredentialError::HelperMissing {
            helper: program.clone(),
            source: e,
        })?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if text.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        let first = text.lines().next().unwrap_or("").trim();
        return Err(CredentialError::Helper {
            helper: program,
            message: if first.is_empty() {
                format!("exit status {}", out.status)
            } else {
                first.chars().take(200).collect()
            },
        });
    }
    let answer: HelperAnswerWire =
        serde_json::from_slice(&out.stdout).map_err(|e| CredentialError::Helper {
            helper: program.clone(),
            message: format!(
                "its answer is not JSON with `Username` and `Secret` (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    let username = if answer.username == "<token>" {
        TOKEN_USERNAME.to_owned()
    } else {
        answer.username
    };
    Ok(Some(Credentials {
        username,
        password: Secret::new(answer.secret),
        origin: format!("credential helper `{program}`"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(config: &str) -> (tempfile::TempDir, CredentialStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, config).unwrap();
        let store = CredentialStore {
            explicit: None,
            auth_file: None,
            docker_config: Some(path),
        };
        (dir, store)
    }

    #[test]
    fn docker_hub_keys_all_name_docker_io() {
        for k in [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
        ] {
            assert_eq!(normalise_key(k), "docker.io", "{k}");
        }
        assert_eq!(
            normalise_key("https://myacr.azurecr.io"),
            "myacr.azurecr.io"
        );
    }

    #[test]
    fn auths_entries_decode_user_and_password() {
        let auth = base64::engine::general_purpose::STANDARD.encode("bob:s3cret:with:colons");
        let (_d, store) = store_with(&format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{auth}"}}}}}}"#
        ));
        let c = store.lookup("docker.io").unwrap().unwrap();
        assert_eq!(c.username, "bob");
        assert_eq!(c.password.expose(), "s3cret:with:colons");
        assert!(store.lookup("ghcr.io").unwrap().is_none());
    }

    #[test]
    fn identity_tokens_use_the_acr_token_user() {
        let (_d, store) = store_with(
            r#"{"auths": {"myacr.azurecr.io": {"auth": "", "identitytoken": "refresh-xyz"}}}"#,
        );
        let c = store.lookup("myacr.azurecr.io").unwrap().unwrap();
        assert_eq!(c.username, TOKEN_USERNAME);
        assert_eq!(c.password.expose(), "refresh-xyz");
    }

    #[test]
    fn explicit_credentials_come_first() {
        let (_d, store) = store_with(r#"{"auths": {"r.io": {"auth": "dTpw"}}}"#);
        let store = store.with_explicit(Credentials {
            username: "me".into(),
            password: Secret::new("pw"),
            origin: "--username".into(),
        });
        assert_eq!(store.lookup("r.io").unwrap().unwrap().username, "me");
    }

    #[test]
    fn malformed_files_never_echo_their_content() {
        let (_d, store) = store_with(r#"{"auths": {"r.io": "hunter2-in-the-wrong-place"}}"#);
        let e = store.lookup("r.io").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(matches!(e, CredentialError::Parse { line: 1, .. }));
        let (_d, store) = store_with(r#"{"auths": {"r.io": {"auth": "!!!"}}}"#);
        let e = store.lookup("r.io").unwrap_err();
        assert!(e.to_string().contains("is not base64"), "{e}");
    }

    #[test]
    fn a_missing_helper_is_an_error_naming_it() {
        let (_d, store) = store_with(r#"{"credsStore": "envaudit-no-such-helper"}"#);
        let e = store.lookup("r.io").unwrap_err();
        insta::assert_snapshot!(e, @"cannot run credential helper `docker-credential-envaudit-no-such-helper`");
    }
}
