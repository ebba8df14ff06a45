use std::time::Duration;

use crate::model::{Digest, RedactedUrl};

use super::IntegrityError;
use super::auth::CredentialError;

/// Why a registry request failed. URLs are [`RedactedUrl`]s and credentials never appear.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry answered 404 for a manifest.
    #[error("manifest `{reference}` not found in `{registry}/{repository}`")]
    ManifestNotFound {
        /// The registry host, with its port if any (`docker.io`, `localhost:5000`).
        registry: String,
        /// The repository inside the registry (`library/python`).
        repository: String,
        /// The tag or digest asked for.
        reference: String,
    },
    /// The registry answered 404 for a blob.
    #[error("blob `{digest}` not found in `{registry}/{repository}`")]
    BlobNotFound {
        /// The registry host, with its port if any (`docker.io`, `localhost:5000`).
        registry: String,
        /// The repository inside the registry (`library/python`).
        repository: String,
        /// The digest of the missing blob.
        digest: Digest,
    },
    /// The registry answered 401 and authenticating did not help: it refused the credentials
    /// (or gave no token for them), or it asked for basic authentication and there were no
    /// credentials.
    #[error("`{registry}` refused access to `{repository}` (HTTP 401) {}", match .credentials { Some(origin) => format!("with the credentials from {origin}"), None => "without credentials".to_owned() })]
    Unauthorized {
        /// The registry host, with its port if any (`docker.io`, `localhost:5000`).
        registry: String,
        /// The repository inside the registry (`library/python`).
        repository: String,
        /// Where the credentials that were refused came from; `None` when there were none.
        credentials: Option<String>,
    },
    /// The registry answered 403: the credentials are valid but lack access.
    #[error("`{registry}` denied access to `{repository}` (HTTP 403)")]
    Forbidden {
        /// The registry host, with its port if any (`docker.io`, `localhost:5000`).
        registry: String,
        /// The repository inside the registry (`library/python`).
        repository: String,
    },
    /// The bearer-token handshake failed, or returned a token unusable as a header.
    #[error("cannot get a token for `{repository}` from `{registry}`: {reason}")]
    Token {
        /// The registry host, with its port if any (`docker.io`, `localhost:5000`).
        registry: String,
        /// The repository inside the registry (`library/python`).
        repository: String,
        /// What went wrong, with any credential scrubbed from it.
        reason: String,
    },
    /// The registry answered a status that is neither success, not-found, an auth refusal
    /// nor worth retrying (or a 404 where content must exist).
    #[error("`{url}` answered HTTP {status}")]
    Status {
        /// The URL requested, without credentials.
        url: RedactedUrl,
        /// The HTTP status code.
        status: u16,
    },
    /// A retryable status (408, 429, 500, 502, 503 or 504) persisted through every attempt the
    /// [`TransportPolicy`](super::TransportPolicy) allows.
    #[error("`{url}` still answered HTTP {status} after {attempts} attempts")]
    RetriesExhausted {
        /// The URL requested, without credentials.
        url: RedactedUrl,
        /// The last HTTP status code.
        status: u16,
        /// How many requests were made.
        attempts: u32,
    },
    /// The registry's `Retry-After` asked for a longer wait than the policy's longest delay.
    #[error("`{url}` asked to retry after {after:?}, longer than the {limit:?} envaudit waits")]
    RetryAfterTooLong {
        /// The URL requested, without credentials.
        url: RedactedUrl,
        /// The wait the registry asked for.
        after: Duration,
        /// The longest wait envaudit accepts.
        limit: Duration,
    },
    /// The request timed out on its last attempt.
    #[error("no answer from `{url}` within {timeout:?} ({attempts} attempts)")]
    Timeout {
        /// The URL requested, without credentials.
        url: RedactedUrl,
        /// The read timeout of the policy.
        timeout: Duration,
        /// How many requests were made.
        attempts: u32,
    },
    /// The request failed below HTTP (connection, TLS, DNS) on its last attempt.
    #[error("cannot reach `{url}` ({attempts} attempts)")]
    Transport {
        /// The URL requested, without credentials.
        url: RedactedUrl,
        /// How many requests were made.
        attempts: u32,
        /// The HTTP client's error, without the URL.
        #[source]
        source: reqwest::Error,
    },
    /// A blob stream broke off for a reason other than a digest or size mismatch.
    #[error("cannot read blob `{digest}` from `{registry}/{repository}`")]
    Read {
        /// The registry host, with its port if any (`docker.io`, `localhost:5000`).
        registry: String,
        /// The repository inside the registry (`library/python`).
        repository: String,
        /// The digest of the blob being read.
        digest: Digest,
        /// The error of the stream.
        #[source]
        source: std::io::Error,
    },
    /// Content did not match the digest or size that named it.
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    /// A manifest, or a blob read into memory, is larger than the limit for it.
    #[error("{what} is larger than the {limit} bytes envaudit reads")]
    TooLarge {
        /// What was being read, such as ``manifest `latest` `` or ``blob `sha256:…` ``.
        what: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The registry refused a push (a PUT or POST) with a status that is neither an auth
    /// refusal nor worth retrying; `code` and `message` are the first error of its body.
    #[error("`{url}` refused the push (HTTP {status}){}", match (.code, .message) {
        (Some(c), Some(m)) => format!(": {c}: {m}"),
        (Some(c), None) => format!(": {c}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    })]
    PushRejected {
        /// The URL requested, without credentials.
        url: RedactedUrl,
        /// The HTTP status code.
        status: u16,
        /// The registry's error code, such as `MANIFEST_INVALID`.
        code: Option<String>,
        /// The registry's message, at most 300 characters, credentials scrubbed.
        message: Option<String>,
    },
    /// A blob upload could not go on: the registry's answer to starting it had no usable
    /// `Location`.
    #[error("cannot upload to `{repository}`: {reason}")]
    Upload {
        /// The registry and repository, `registry/repository`.
        repository: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// The registry's `OCI-Subject` answer to a manifest push is not a digest, or not the
    /// digest of the manifest's `subject`.
    #[error("`{repository}` answered `OCI-Subject: {value}` to a manifest {}", match .expected { Some(d) => format!("whose subject is `{d}`"), None => "push".to_owned() })]
    UnexpectedOciSubject {
        /// The registry and repository, `registry/repository`.
        repository: String,
        /// The subject pushed, when the manifest had one.
        expected: Option<Digest>,
        /// The header's value (at most 200 characters).
        value: String,
    },
    /// A referrers list (from the referrers API or the tag schema) is not a valid OCI image
    /// index of descriptors.
    #[error("the referrers {what} is not a valid image index: {reason}")]
    BadReferrers {
        /// Which list: ``of `sha256:…` in `registry/repository` (page 2)``.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The referrers API kept sending `Link` pages past the limit, or linked back to a page.
    #[error("the referrers of `{subject}` in `{repository}` {reason}")]
    ReferrersPages {
        /// The registry and repository, `registry/repository`.
        repository: String,
        /// The manifest whose referrers were listed.
        subject: Digest,
        /// What went wrong: `run past 16 pages`, `link back to a page already read`.
        reason: String,
    },
    /// The referrers tag (`sha256-<hex>`) names something other than an OCI image index, so
    /// envaudit does not overwrite it (distribution spec 1.1: report a failure).
    #[error(
        "tag `{tag}` of `{repository}` is not a referrers index ({reason}); envaudit leaves it as it is"
    )]
    FallbackTagInUse {
        /// The registry and repository, `registry/repository`.
        repository: String,
        /// The referrers tag.
        tag: String,
        /// What it holds instead.
        reason: String,
    },
    /// Every attempt to list a referrer in the tag-schema index was undone by another writer
    /// before it could be read back.
    #[error(
        "the referrers index `{tag}` of `{repository}` kept changing: our descriptor `{digest}` was not listed after {attempts} writes"
    )]
    FallbackIndexContended {
        /// The registry and repository, `registry/repository`.
        repository: String,
        /// The referrers tag.
        tag: String,
        /// The manifest that was to be listed.
        digest: Digest,
        /// How many times the index was written.
        attempts: u32,
    },
    /// A manifest read as an artifact is not an OCI image manifest, or not a valid one.
    #[error("manifest `{digest}` of `{repository}` is not an OCI artifact manifest: {reason}")]
    NotAnArtifact {
        /// The registry and repository, `registry/repository`.
        repository: String,
        /// The manifest's digest.
        digest: Digest,
        /// What is wrong with it.
        reason: String,
    },
    /// An artifact given to attach breaks the OCI image spec's rules for artifacts.
    #[error("cannot attach the artifact: {0}")]
    InvalidArtifact(String),
    /// The registry answered 404 for a repository's tag list: it has no such repository.
    #[error("repository `{registry}/{repository}` not found")]
    RepositoryNotFound {
        /// The registry host, with its port if any.
        registry: String,
        /// The repository inside the registry.
        repository: String,
    },
    /// A catalog or tag listing is malformed, runs past its bounds, or links elsewhere.
    #[error("the {what} {reason}")]
    BadListing {
        /// What was being listed, such as ``catalog of `HOST` `` or ``tags of `HOST/REPO` ``.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The configured credential sources (Docker config, helpers) failed for the registry.
    #[error("cannot look up credentials for `{registry}`")]
    Credentials {
        /// The registry host whose credentials were looked up.
        registry: String,
        /// Which source failed, and how.
        #[source]
        source: CredentialError,
    },
    /// The TLS configuration (root certificates) could not be built; holds the reason.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// The HTTP client could not be built.
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
