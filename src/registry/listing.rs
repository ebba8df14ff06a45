//! Enumerating a registry: the repositories of its catalog (`GET /v2/_catalog?n=`) and the
//! tags of a repository (`GET /v2/<name>/tags/list?n=`), as the distribution spec has them.
//!
//! Both follow `Link: <…>; rel="next"` pages. A listing is untrusted input, so it is
//! bounded ([`ListLimits`]: a page size asked for, a cap on pages and one on entries), a
//! link back to a page already read is an error, and so is a link to another scheme, host
//! or port: a registry does not get to send the client (and its credentials) elsewhere.
//! Each page is at most [`MAX_MANIFEST_BYTES`](super::MAX_MANIFEST_BYTES).
//!
//! The catalog needs the `registry:catalog:*` scope, which the token handshake asks for
//! itself; basic credentials are the registry's, as for every other request.

use std::collections::HashSet;

use serde::Deserialize;

use super::http::{Access, Request, read_bounded, repo_name};
use super::referrers::next_link;
use super::{HttpRegistry, RegistryError};
use crate::model::ImageRef;

/// Bounds on one listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListLimits {
    /// The page size asked for (`n=`); the registry may send fewer.
    pub page_size: u32,
    /// The most pages read.
    pub max_pages: usize,
    /// The most entries returned.
    pub max_entries: usize,
}

impl Default for ListLimits {
    fn default() -> Self {
        Self {
            page_size: 1000,
            max_pages: 1000,
            max_entries: 100_000,
        }
    }
}

#[derive(Deserialize)]
struct CatalogWire {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TagsWire {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// The repository that stands for the registry as a whole in requests that are not about a
/// repository (it names the registry; the access decides the credentials).
fn registry_subject(registry: &str) -> Result<ImageRef, RegistryError> {
    format!("{registry}/catalog")
        .parse()
        .map_err(|e| RegistryError::BadListing {
            what: format!("catalog of `{registry}`"),
            reason: format!("cannot be asked for: {e}"),
        })
}

impl HttpRegistry {
    /// The repositories of `registry` (`HOST[:PORT]`), in the registry's order (lexical for
    /// distribution), every page followed within `limits`.
    pub async fn catalog(
        &self,
        registry: &str,
        limits: &ListLimits,
    ) -> Result<Vec<String>, RegistryError> {
        let subject = registry_subject(registry)?;
        let base = self.url(&subject, "");
        let start = format!(
            "{}_catalog?n={}",
            base.trim_end_matches("catalog/"),
            limits.page_size
        );
        let what = format!("catalog of `{registry}`");
        let pages = self
            .list_pages(&subject, Access::Catalog, &start, &what, limits, |bytes| {
                serde_json::from_slice::<CatalogWire>(bytes)
                    .map(|w| w.repositories.unwrap_or_default())
            })
            .await?;
        pages.ok_or_else(|| RegistryError::BadListing {
            what,
            reason: "is not offered: `/v2/_catalog` answered 404".to_owned(),
        })
    }

    /// The tags of `repo` (its tag and digest are ignored), every page followed within
    /// `limits`. A repository the registry does not know is
    /// [`RegistryError::RepositoryNotFound`].
    pub async fn tags(
        &self,
        repo: &ImageRef,
        limits: &ListLimits,
    ) -> Result<Vec<String>, RegistryError> {
        let start = self.url(repo, &format!("tags/list?n={}", limits.page_size));
        let what = format!("tags of `{}`", repo_name(repo));
        let pages = self
            .list_pages(repo, Access::Pull, &start, &what, limits, |bytes| {
                serde_json::from_slice::<TagsWire>(bytes).map(|w| w.tags.unwrap_or_default())
            })
            .await?;
        pages.ok_or_else(|| RegistryError::RepositoryNotFound {
            registry: repo.registry().to_owned(),
            repository: repo.repository().to_owned(),
        })
    }

    /// Reads the pages of a listing from `start`, `parse` taking the entries out of each;
    /// `None` when the first page is a 404.
    async fn list_pages(
        &self,
        subject: &ImageRef,
        access: Access,
        start: &str,
        what: &str,
        limits: &ListLimits,
        parse: impl Fn(&[u8]) -> Result<Vec<String>, serde_json::Error>,
    ) -> Result<Option<Vec<String>>, RegistryError> {
        let bad = |reason: String| RegistryError::BadListing {
            what: what.to_owned(),
            reason,
        };
        let origin = reqwest::Url::parse(start).map_err(|e| bad(format!("has no URL ({e})")))?;
        let mut url = origin.clone();
        let mut visited = HashSet::new();
        let mut entries = Vec::new();
        for page in 1..=limits.max_pages.max(1) {
            if !visited.insert(url.to_string()) {
                return Err(bad(format!(
                    "links back to a page already read (page {page})"
                )));
            }
            let shown = url.to_string();
            let Some(res) = self
                .send_as(subject, access, Request::Get, &shown, None)
                .await?
            else {
                return if page == 1 {
                    Ok(None)
                } else {
                    Err(RegistryError::Status {
                        url: crate::model::RedactedUrl::new(&shown),
                        status: 404,
                    })
                };
            };
            let link = res
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link)
                .map(str::to_owned);
            let bytes = read_bounded(res, &shown, &format!("page {page} of the {what}")).await?;
            let found = parse(&bytes).map_err(|e| bad(format!("page {page} is not valid: {e}")))?;
            if entries.len() + found.len() > limits.max_entries {
                return Err(bad(format!("has more than {} entries", limits.max_entries)));
            }
            entries.extend(found);
            let Some(link) = link else {
                return Ok(Some(entries));
            };
            let next = url
                .join(&link)
                .map_err(|e| bad(format!("links to a page that is not a URL ({e})")))?;
            if next.scheme() != origin.scheme()
                || next.host_str() != origin.host_str()
                || next.port_or_known_default() != origin.port_or_known_default()
            {
                return Err(bad(format!(
                    "links to another origin (`{}`), which is refused",
                    crate::model::RedactedUrl::new(next.as_str())
                )));
            }
            url = next;
        }
        Err(bad(format!("runs past {} pages", limits.max_pages)))
    }
}

/// Everything enumeration does with untrusted bytes, for the fuzz target: a catalog page, a
/// tag list page, a `Link` header and a `WWW-Authenticate` challenge.
#[doc(hidden)]
pub fn fuzz_listing(data: &[u8]) {
    let _ = serde_json::from_slice::<CatalogWire>(data);
    let _ = serde_json::from_slice::<TagsWire>(data);
    let text = String::from_utf8_lossy(data);
    let _ = next_link(&text);
    let _ = super::http::challenge_params(&text);
}
