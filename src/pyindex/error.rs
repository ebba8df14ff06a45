//! What can go wrong talking to a package index. Every URL in a message is redacted
//! ([`redact`]): credentials never reach an error's `Display` or `Debug`.

use std::path::PathBuf;

use reqwest::Url;

use super::metadata::{MetadataError, NeedsBuild};
use super::simple::PageError;
use crate::model::RedactedUrl;

/// The form of `url` that is safe to show: `user:password@` becomes `****@`, the query
/// (where signed URLs carry tokens) becomes `?…`, and the fragment is dropped.
pub fn redact(url: &Url) -> RedactedUrl {
    let mut u = url.clone();
    u.set_fragment(None);
    RedactedUrl::new(u.as_str())
}

/// An error of the index client. URLs are held redacted.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// An index or find-links location that is not a URL or path envaudit can use.
    #[error("invalid index URL `{url}`: {message}")]
    InvalidUrl {
        /// The location, redacted.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// The HTTP client or TLS cannot be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// No answer: connection refused, DNS, TLS, timeout (after the retries).
    #[error("cannot reach `{url}`: {message}")]
    Unreachable {
        /// The URL asked for.
        url: RedactedUrl,
        /// The transport's description, without the URL.
        message: String,
    },
    /// An HTTP status other than success (after the retries for 429 and 5xx).
    #[error("`{url}` answered HTTP {status}")]
    Status {
        /// The URL asked for.
        url: RedactedUrl,
        /// The status code.
        status: u16,
    },
    /// The response broke off or could not be read (a truncated body, a reset).
    #[error("reading `{url}` failed: {message}")]
    Body {
        /// The URL asked for.
        url: RedactedUrl,
        /// The transport's description, without the URL.
        message: String,
    },
    /// A response over its size limit.
    #[error("`{url}` is larger than {limit} bytes")]
    TooLarge {
        /// The URL asked for.
        url: RedactedUrl,
        /// The limit.
        limit: u64,
    },
    /// A project page that cannot be read.
    #[error("cannot read the project page `{url}`: {source}")]
    Page {
        /// The page.
        url: RedactedUrl,
        /// What is wrong with it.
        source: PageError,
    },
    /// Offline, and the cache does not hold the response.
    #[error("`{url}` is not in the cache, and the index client is offline")]
    Offline {
        /// The URL that would have been asked for.
        url: RedactedUrl,
    },
    /// A download whose digest is not the one the index stated.
    #[error("`{url}` does not match its {algorithm}: expected {expected}, got {actual}")]
    HashMismatch {
        /// The file.
        url: RedactedUrl,
        /// `sha256`, `sha384` or `sha512`.
        algorithm: String,
        /// The index's hex digest.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// Core metadata that cannot be had from a file.
    #[error("cannot read the metadata of `{url}`: {source}")]
    Metadata {
        /// The file (or its `.metadata`).
        url: RedactedUrl,
        /// Why.
        source: MetadataError,
    },
    /// An sdist whose dependencies only a build can tell.
    #[error("the metadata of `{filename}` needs a build to know: {reason}")]
    NeedsBuild {
        /// The sdist's file name.
        filename: String,
        /// Why.
        reason: NeedsBuild,
    },
    /// A local file or directory (a `file://` index, a find-links folder) cannot be read.
    #[error("cannot read `{path}`: {source}")]
    File {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTTP cache cannot be written.
    #[error("cannot write the HTTP cache at `{path}`: {source}")]
    Cache {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A transport error's description without the URL reqwest puts in it: the error and
/// its causes, joined with `: `.
pub(crate) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_keep_host_and_path_but_no_secret() {
        let u = Url::parse("https://alice:s3cret@pkgs.example.com/simple/foo/?sig=abc#sha256=00")
            .unwrap();
        let r = redact(&u);
        assert_eq!(r.as_str(), "https://****@pkgs.example.com/simple/foo/?…");
        let token_only = Url::parse("https://tok3n@pkgs.example.com/simple/").unwrap();
        assert_eq!(
            redact(&token_only).as_str(),
            "https://****@pkgs.example.com/simple/"
        );
        let e = IndexError::Unreachable {
            url: redact(&u),
            message: "connection refused".into(),
        };
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(
                !shown.contains("s3cret") && !shown.contains("alice"),
                "{shown}"
            );
        }
    }
}
