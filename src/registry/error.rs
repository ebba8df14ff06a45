use std::time::Duration;

use crate::model::{Digest, RedactedUrl};

use super::IntegrityError;
use super::auth::CredentialError;

/// Why a registry request failed. URLs are [`RedactedUrl`]s and credentials never appear.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("manifest `{reference}` not found in `{registry}/{repository}`")]
    ManifestNotFound {
        registry: String,
        repository: String,
        reference: String,
    },
    #[error("blob `{digest}` not found in `{registry}/{repository}`")]
    BlobNotFound {
        registry: String,
        repository: String,
        digest: Digest,
    },
    #[error("`{registry}` refused access to `{repository}` (HTTP 401) {}", match .credentials { Some(origin) => format!("with the credentials from {origin}"), None => "without credentials".to_owned() })]
    Unauthorized {
        registry: String,
        repository: String,
        /// Where the credentials that were refused came from.
        credentials: Option<String>,
    },
    #[error("`{registry}` denied access to `{repository}` (HTTP 403)")]
    Forbidden {
        registry: String,
        repository: String,
    },
    #[error("cannot get a token for `{repository}` from `{registry}`: {reason}")]
    Token {
        registry: String,
        repository: String,
        reason: String,
    },
    #[error("`{url}` answered HTTP {status}")]
    Status { url: RedactedUrl, status: u16 },
    #[error("`{url}` still answered HTTP {status} after {attempts} attempts")]
    RetriesExhausted {
        url: RedactedUrl,
        status: u16,
        attempts: u32,
    },
    #[error("`{url}` asked to retry after {after:?}, longer than the {limit:?} envaudit waits")]
    RetryAfterTooLong {
        url: RedactedUrl,
        after: Duration,
        limit: Duration,
    },
    #[error("no answer from `{url}` within {timeout:?} ({attempts} attempts)")]
    Timeout {
        url: RedactedUrl,
        timeout: Duration,
        attempts: u32,
    },
    #[error("cannot reach `{url}` ({attempts} attempts)")]
    Transport {
        url: RedactedUrl,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot read blob `{digest}` from `{registry}/{repository}`")]
    Read {
        registry: String,
        repository: String,
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    #[error("{what} is larger than the {limit} bytes envaudit reads")]
    TooLarge { what: String, limit: u64 },
    #[error("cannot look up credentials for `{registry}`")]
    Credentials {
        registry: String,
        #[source]
        source: CredentialError,
    },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
}

impl RegistryError {
    /// Turn an error from reading a blob stream into the integrity error inside it, or a
    /// read error naming the blob.
    pub fn from_read(repo: &crate::model::ImageRef, digest: &Digest, e: std::io::Error) -> Self {
        match super::verify::integrity_error(&e) {
            Some(i) => RegistryError::Integrity(i.clone()),
            None => RegistryError::Read {
                registry: repo.registry().to_owned(),
                repository: repo.repository().to_owned(),
                digest: digest.clone(),
                source: e,
            },
        }
    }
}
