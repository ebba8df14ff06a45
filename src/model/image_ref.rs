use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Digest;

/// A container image reference `[REGISTRY/]REPOSITORY[:TAG][@DIGEST]`, normalised the way
/// docker does: `python:3.10` is `docker.io/library/python:3.10`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Why a string is not an image reference; `offset` is the byte where the bad part starts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference `{reference}`: {reason} (at column {column})", column = .offset + 1)]
pub struct ImageRefError {
    /// The text that failed to parse, as given.
    pub reference: String,
    /// Byte offset in `reference` where the bad part starts (0-based).
    pub offset: usize,
    /// What is wrong there, in lowercase words, e.g. `missing repository name`.
    pub reason: &'static str,
}

/// The registry of a reference written without one (`python:3.10`), as docker names it.
pub const DOCKER_HUB: &str = "docker.io";

impl ImageRefError {
    /// The reference with a caret under the bad part.
    pub fn snippet(&self) -> String {
        let col = self
            .reference
            .get(..self.offset)
            .map_or(self.offset, |p| p.chars().count());
        format!("  {}\n  {}^", self.reference, " ".repeat(col))
    }
}

impl ImageRef {
    /// The registry host, with its port if one was written: `docker.io`, `localhost:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }
    /// The repository path within the registry, normalised: `library/python` on Docker Hub.
    pub fn repository(&self) -> &str {
        &self.repository
    }
    /// The tag after `:`, or `None` if the reference has none (even when it has a digest).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    /// The digest after `@`, or `None` if the reference names the image by tag only.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// Prefix a registry (e.g. Azure ML v1 `baseImageRegistry.address`) when the reference
    /// was written without one.
    pub fn parse_with_default_registry(
        s: &str,
        registry: Option<&str>,
    ) -> Result<Self, ImageRefError> {
        match registry.map(str::trim).filter(|r| !r.is_empty()) {
            Some(reg) if !has_explicit_registry(s) => {
                let reg = reg
                    .trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .trim_end_matches('/');
                format!("{reg}/{s}").parse()
            }
            _ => s.parse(),
        }
    }
}

fn has_explicit_registry(s: &str) -> bool {
    match s.split_once('/') {
        Some((first, _)) => first.contains('.') || first.contains(':') || first == "localhost",
        None => false,
    }
}

/// `HOST[:PORT]` with a DNS-like host (letters, digits, `.`, `-`) or `[IPv6]`, as docker's
/// reference grammar has it.
fn valid_registry(r: &str) -> bool {
    let (host, port) = if let Some(rest) = r.strip_prefix('[') {
        let Some((h, after)) = rest.split_once(']') else {
            return false;
        };
        if !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            match after {
                "" => return true,
                p => (None, p.strip_prefix(':').unwrap_or("x")),
            }
        } else {
            return false;
        }
    } else {
        match r.split_once(':') {
            Some((h, p)) => (Some(h), p),
            None => (Some(r), ""),
        }
    };
    let port_ok = port.is_empty() && !r.ends_with(':')
        || (!port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = host.is_none_or(|h| {
        !h.is_empty()
            && h.split('.').all(|label| {
                !label.is_empty()
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    });
    port_ok && host_ok
}

fn err(reference: &str, offset: usize, reason: &'static str) -> ImageRefError {
    ImageRefError {
        reference: reference.to_owned(),
        offset,
        reason,
    }
}

impl FromStr for ImageRef {
    type Err = ImageRefError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(err(s, 0, "empty reference"));
        }
        if let Some(pos) = s.find(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(err(s, pos, "white space is not allowed"));
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((left, d)) => {
                let digest = d.parse::<Digest>().map_err(|_| {
                    err(
                        s,
                        left.len() + 1,
                        "digest must be `sha256:` followed by 64 lowercase hex digits",
                    )
                })?;
                (left, Some(digest))
            }
            None => (s, None),
        };
        // The tag is after the last ':' that follows the last '/'.
        let last_slash = name_tag.rfind('/').map_or(0, |p| p + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(p) => {
                let at = last_slash + p;
                (&name_tag[..at], Some(&name_tag[at + 1..]))
            }
            None => (name_tag, None),
        };
        if let Some(tag) = tag {
            let tag_off = name.len() + 1;
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !valid {
                return Err(err(
                    s,
                    tag_off,
                    "tag must be 1-128 of [A-Za-z0-9_.-], not starting with `.` or `-`",
                ));
            }
        }
        let (registry, repo_start) = if has_explicit_registry(name) {
            let p = name.find('/').unwrap_or(name.len());
            (name[..p].to_owned(), p + 1)
        } else {
            (DOCKER_HUB.to_owned(), 0)
        };
        if !valid_registry(&registry) {
            return Err(err(
                s,
                0,
                "registry must be `HOST[:PORT]`: letters, digits, `.` and `-`, or `[IPv6]`",
            ));
        }
        let mut repository = name[repo_start..].to_owned();
        if repository.is_empty() {
            return Err(err(s, repo_start, "missing repository name"));
        }
        let mut off = repo_start;
        for comp in repository.split('/') {
            let ok = !comp.is_empty()
                && comp.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
                && comp
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
                && comp
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_alphanumeric());
            if !ok {
                return Err(err(
                    s,
                    off,
                    "repository path components are lowercase letters, digits and separators (`.`, `_`, `-`)",
                ));
            }
            off += comp.len() + 1;
        }
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
            _ => registry,
        };
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        Ok(Self {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

super::serde_via_string!(ImageRef, ImageRefError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_short_names_normalise() {
        let r: ImageRef = "python:3.10".parse().unwrap();
        assert_eq!(r.to_string(), "docker.io/library/python:3.10");
        let r: ImageRef = "pytorch/pytorch:latest".parse().unwrap();
        assert_eq!(r.to_string(), "docker.io/pytorch/pytorch:latest");
        let r: ImageRef = "index.docker.io/library/python".parse().unwrap();
        assert_eq!(r.to_string(), "docker.io/library/python");
    }

    #[test]
    fn registry_with_port_is_not_a_tag() {
        let r: ImageRef = "localhost:5000/x/y".parse().unwrap();
        assert_eq!(
            (r.registry(), r.repository(), r.tag()),
            ("localhost:5000", "x/y", None)
        );
    }

    #[test]
    fn digest_and_tag_are_both_kept() {
        let s = format!("mcr.microsoft.com/azureml/base:1@sha256:{}", "a".repeat(64));
        let r: ImageRef = s.parse().unwrap();
        assert_eq!(r.tag(), Some("1"));
        assert!(r.digest().is_some());
        assert_eq!(r.to_string(), s);
    }

    #[test]
    fn errors_point_at_the_bad_part() {
        let e = "mcr.microsoft.com/Azureml/x:1"
            .parse::<ImageRef>()
            .unwrap_err();
        assert_eq!(e.offset, 18);
        let e = "x:{{latest-image-tag}}".parse::<ImageRef>().unwrap_err();
        assert_eq!(e.offset, 2);
        let e = "x@sha256:12".parse::<ImageRef>().unwrap_err();
        assert_eq!(e.offset, 2);
    }

    #[test]
    fn registry_hosts_follow_the_reference_grammar() {
        for ok in [
            "localhost:5000/x",
            "[::1]:5000/x",
            "[::1]/x",
            "a-b.example.com/x",
            "r.io:443/x",
        ] {
            assert!(ok.parse::<ImageRef>().is_ok(), "{ok}");
        }
        for bad in [
            "docker-archive:a:b:3/x",
            "a..b/x",
            "-a.io/x",
            "a.io:/x",
            "a.io:99999x/x",
            "[zz]:1/x",
            "my_reg.io/x",
        ] {
            let e = bad.parse::<ImageRef>().unwrap_err();
            assert_eq!(e.offset, 0, "{bad}");
        }
    }

    #[test]
    fn default_registry_applies_only_without_one() {
        let r =
            ImageRef::parse_with_default_registry("base/img:1", Some("myacr.azurecr.io")).unwrap();
        assert_eq!(r.to_string(), "myacr.azurecr.io/base/img:1");
        let r = ImageRef::parse_with_default_registry(
            "mcr.microsoft.com/a:1",
            Some("myacr.azurecr.io"),
        )
        .unwrap();
        assert_eq!(r.registry(), "mcr.microsoft.com");
    }
}
