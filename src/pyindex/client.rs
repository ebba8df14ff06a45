//! The index client: project pages from every index and find-links location, merged as pip
//! merges them, and core metadata, over HTTP with the validator cache of [`super::cache`].

use std::fmt;
use std::io::{Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use reqwest::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use reqwest::{StatusCode, Url};
use sha2::Digest as _;
use tokio::io::AsyncWriteExt as _;

use super::cache::{EntryMeta, HttpCache, now, sha256_hex};
use super::error::{IndexError, describe, redact};
use super::filename::DistFilename;
use super::metadata::{self, CoreMetadata, MAX_METADATA_BYTES, SdistMetadata};
use super::simple::{
    ACCEPT as SIMPLE_ACCEPT, DistFile, Hashes, PageError, PageFormat, PageLimits, ProjectPage,
    percent_decode,
};
use crate::model::{PackageName, RedactedUrl, Secret};
use crate::registry::TransportPolicy;
use crate::registry::transport::{parse_retry_after, retryable_status};

const USER_AGENT: &str = concat!("envaudit/", env!("CARGO_PKG_VERSION"));

/// The base URL of a simple repository (`https://pypi.org/simple/`), always ending in `/`.
/// It may carry credentials (`https://user:token@host/simple/`): `Display` and `Debug`
/// show it redacted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IndexUrl(Url);

impl IndexUrl {
    /// `PyPI`, pip's default index.
    ///
    /// # Panics
    ///
    /// Never: the URL is a constant that parses.
    pub fn pypi() -> Self {
        Self(Url::parse("https://pypi.org/simple/").expect("a valid URL"))
    }

    /// An `http`, `https` or `file` URL, or a local directory path (as a `file` URL).
    pub fn parse(s: &str) -> Result<Self, IndexError> {
        let url = location_url(s)?;
        Ok(Self(with_trailing_slash(url)))
    }

    /// The URL, credentials included: for requests only, never for messages.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The URL safe to show.
    pub fn redacted(&self) -> RedactedUrl {
        redact(&self.0)
    }

    /// The project page: the base URL plus the normalised name and `/` (PEP 503).
    pub fn project_url(&self, name: &PackageName) -> Url {
        let mut url = self.0.clone();
        url.set_path(&format!("{}{}/", self.0.path(), name.as_str()));
        url
    }
}

impl FromStr for IndexUrl {
    type Err = IndexError;

    fn from_str(s: &str) -> Result<Self, IndexError> {
        Self::parse(s)
    }
}

impl fmt::Display for IndexUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.redacted().fmt(f)
    }
}

impl fmt::Debug for IndexUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IndexUrl({})", self.redacted())
    }
}

/// A `--find-links` location: a flat HTML page of links, or a local directory of files.
#[derive(Clone, PartialEq, Eq)]
pub enum FindLinks {
    /// An HTML page (`http`, `https` or `file` URL) linking distribution files of any
    /// project.
    Page(Url),
    /// A local directory holding distribution files.
    Dir(PathBuf),
}

impl FindLinks {
    /// A URL or path, as pip reads `--find-links`: a path or `file` URL to a directory is a
    /// directory, anything else a page.
    pub fn parse(s: &str) -> Result<Self, IndexError> {
        let url = location_url(s)?;
        if url.scheme() == "file"
            && let Ok(path) = url.to_file_path()
            && path.is_dir()
        {
            return Ok(FindLinks::Dir(path));
        }
        Ok(FindLinks::Page(url))
    }
}

impl fmt::Debug for FindLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FindLinks::Page(u) => write!(f, "FindLinks::Page({})", redact(u)),
            FindLinks::Dir(p) => write!(f, "FindLinks::Dir({})", p.display()),
        }
    }
}

fn location_url(s: &str) -> Result<Url, IndexError> {
    let invalid = |message: String| IndexError::InvalidUrl {
        url: Url::parse(s).map_or_else(
            |_| s.chars().take(200).collect(),
            |u| redact(&u).to_string(),
        ),
        message,
    };
    match Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https" | "file") => Ok(u),
        Ok(u) => Err(invalid(format!("unsupported scheme `{}`", u.scheme()))),
        Err(_) => {
            let path = Path::new(s);
            let abs = std::path::absolute(path).map_err(|e| invalid(e.to_string()))?;
            Url::from_file_path(&abs).map_err(|()| invalid("not a URL or an absolute path".into()))
        }
    }
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    url
}

/// Where credentials for an index come from besides the index URL's own `user:token@`
/// (for example a `.netrc` file, which the caller reads and wires in; the client reads
/// none by itself).
pub trait CredentialProvider: Send + Sync {
    /// The user name and password for a request to `url`'s host, if any.
    fn credentials(&self, url: &Url) -> Option<(String, Secret)>;
}

/// How the client finds and fetches.
#[derive(Clone)]
pub struct IndexConfig {
    /// The primary index, then the extra ones (`--index-url`, `--extra-index-url`); pip
    /// considers the files of all of them together. Default: `PyPI`.
    pub index_urls: Vec<IndexUrl>,
    /// `--find-links` locations, considered with the indexes (before them, as pip lists
    /// them).
    pub find_links: Vec<FindLinks>,
    /// Where to keep the HTTP cache; `None`: no cache (every request goes out).
    pub cache_dir: Option<PathBuf>,
    /// Serve only from the cache; what it lacks is an [`IndexError::Offline`].
    pub offline: bool,
    /// Timeouts and retries (the registry client's policy; `insecure_registries` is not
    /// used: index URLs say their scheme).
    pub transport: TransportPolicy,
    /// How many requests [`IndexClient::projects`] runs at once (default 16).
    pub concurrency: usize,
    /// Bounds on project pages.
    pub page_limits: PageLimits,
    /// The largest distribution file downloaded to read its metadata when the index has no
    /// `.metadata` file (default 4 GiB; wheels of large ML packages reach 2–3 GiB).
    pub max_download_bytes: u64,
    /// Extra credentials (see [`CredentialProvider`]); `None` by default.
    pub credentials: Option<Arc<dyn CredentialProvider>>,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            index_urls: vec![IndexUrl::pypi()],
            find_links: Vec::new(),
            cache_dir: None,
            offline: false,
            transport: TransportPolicy::default(),
            concurrency: 16,
            page_limits: PageLimits::default(),
            max_download_bytes: 4 << 30,
            credentials: None,
        }
    }
}

impl fmt::Debug for IndexConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexConfig")
            .field("index_urls", &self.index_urls)
            .field("find_links", &self.find_links)
            .field("cache_dir", &self.cache_dir)
            .field("offline", &self.offline)
            .field("concurrency", &self.concurrency)
            .field("credentials", &self.credentials.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// What the client has done so far, for progress and performance reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// Of those, answered `304 Not Modified` (the cached body was used).
    pub not_modified: u64,
    /// Responses served from the cache without a request (fresh, immutable or offline).
    pub cache_hits: u64,
    /// Distribution files downloaded to read their metadata.
    pub downloads: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    not_modified: AtomicU64,
    cache_hits: AtomicU64,
    downloads: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// A client of simple repositories (PEP 503 / 691) and their metadata files (PEP 658 / 714).
pub struct IndexClient {
    http: reqwest::Client,
    config: IndexConfig,
    cache: Option<HttpCache>,
    /// `scheme://host:port` → the credentials written in an index or find-links URL.
    url_credentials: Vec<(String, String, Secret)>,
    /// Flat find-links pages, read once per client.
    flat_pages: Vec<tokio::sync::OnceCell<Arc<ProjectPage>>>,
    counters: Counters,
}

impl fmt::Debug for IndexClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn origin(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

fn without_credentials(url: &Url) -> Url {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u
}

/// A body read whole, with what the server said about it.
struct Fetched {
    body: Vec<u8>,
    content_type: Option<String>,
    /// The URL it was finally served from (after redirects), without credentials.
    url: Url,
}

impl IndexClient {
    /// A client for `config`. Fails only when TLS or the HTTP client cannot be set up.
    pub fn new(config: IndexConfig) -> Result<Self, IndexError> {
        let tls =
            crate::registry::tls::client_config().map_err(|e| IndexError::Client(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(config.transport.connect_timeout)
            .read_timeout(config.transport.read_timeout)
            .user_agent(USER_AGENT)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| IndexError::Client(describe(e)))?;
        let mut url_credentials = Vec::new();
        let urls =
            config
                .index_urls
                .iter()
                .map(IndexUrl::url)
                .chain(config.find_links.iter().filter_map(|f| match f {
                    FindLinks::Page(u) => Some(u),
                    FindLinks::Dir(_) => None,
                }));
        for u in urls {
            if !u.username().is_empty() || u.password().is_some() {
                url_credentials.push((
                    origin(u),
                    percent_decode(u.username()),
                    Secret::new(percent_decode(u.password().unwrap_or(""))),
                ));
            }
        }
        let flat_pages = config
            .find_links
            .iter()
            .map(|_| tokio::sync::OnceCell::new())
            .collect();
        Ok(Self {
            http,
            cache: config.cache_dir.as_deref().map(HttpCache::new),
            config,
            url_credentials,
            flat_pages,
            counters: Counters::default(),
        })
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &IndexConfig {
        &self.config
    }

    /// What the client has done so far.
    pub fn stats(&self) -> FetchStats {
        let c = &self.counters;
        FetchStats {
            requests: c.requests.load(Ordering::Relaxed),
            not_modified: c.not_modified.load(Ordering::Relaxed),
            cache_hits: c.cache_hits.load(Ordering::Relaxed),
            downloads: c.downloads.load(Ordering::Relaxed),
        }
    }

    /// Every file of `name` on the find-links locations and the indexes, in that order,
    /// each location in configuration order (pip weighs them all together). A project an
    /// index does not have (404) adds nothing; a project no location has is an empty page.
    /// An index that cannot be reached, answers an error, or serves an unreadable page is
    /// an error naming its (redacted) URL.
    pub async fn project(&self, name: &PackageName) -> Result<ProjectPage, IndexError> {
        let flat = self
            .config
            .find_links
            .iter()
            .enumerate()
            .map(|(i, f)| self.find_links_files(i, f, name));
        let flat = futures_util::future::join_all(flat);
        let indexes = self
            .config
            .index_urls
            .iter()
            .map(|index| self.fetch_page(index.project_url(name), Some(name)));
        let indexes = futures_util::future::join_all(indexes);
        let (flat, indexes) = futures_util::future::join(flat, indexes).await;
        let mut page = ProjectPage::default();
        for part in flat {
            page.extend(part?);
        }
        for part in indexes {
            if let Some(p) = part? {
                page.extend(p);
            }
        }
        Ok(page)
    }

    /// [`IndexClient::project`] for many projects, [`IndexConfig::concurrency`] at a time;
    /// the results are in the order of `names`.
    pub async fn projects(
        &self,
        names: &[PackageName],
    ) -> Vec<(PackageName, Result<ProjectPage, IndexError>)> {
        futures_util::stream::iter(names)
            .map(|n| async move { (n.clone(), self.project(n).await) })
            .buffered(self.config.concurrency.max(1))
            .collect()
            .await
    }

    /// Any other file an index serves (a conda channel's `repodata.json`), through the same
    /// validator cache, credentials and offline rule as project pages, up to `limit` bytes.
    /// `None` when the server answers 404 or 410, or a `file://` path does not exist.
    pub async fn fetch_file(&self, url: &Url, limit: u64) -> Result<Option<Vec<u8>>, IndexError> {
        if url.scheme() == "file" {
            let Ok(path) = url.to_file_path() else {
                return Err(IndexError::InvalidUrl {
                    url: redact(url).to_string(),
                    message: "not a local path".into(),
                });
            };
            return match read_file_bounded(&path, limit).await {
                Ok(b) => Ok(Some(b)),
                Err(IndexError::File { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            };
        }
        Ok(self
            .fetch_validated(url, "application/json, */*;q=0.5", limit)
            .await?
            .map(|f| f.body))
    }

    /// The core metadata of a file: its PEP 658 `.metadata` file when the index has one
    /// (checked against the stated hash, cached forever when it has one), else the wheel's
    /// `*.dist-info/METADATA` (the wheel is downloaded, bounded by
    /// [`IndexConfig::max_download_bytes`], and checked against its hash), else an sdist's
    /// `PKG-INFO` when it is static metadata 2.2+. An sdist that needs a build to know is
    /// [`IndexError::NeedsBuild`]. The metadata must name the file's project and version.
    pub async fn metadata(&self, file: &DistFile) -> Result<CoreMetadata, IndexError> {
        let meta_error = |url: &Url, source| IndexError::Metadata {
            url: redact(url),
            source,
        };
        if let Some(url) = file.metadata_url()
            && let Some(bytes) = self
                .fetch_metadata_file(
                    &url,
                    file.core_metadata.as_ref().unwrap_or(&Hashes::default()),
                )
                .await?
        {
            let meta = CoreMetadata::parse(&bytes).map_err(|e| meta_error(&url, e))?;
            meta.check_matches(&file.filename)
                .map_err(|e| meta_error(&url, e))?;
            return Ok(meta);
        }
        let derived = file.hashes.sha256().and_then(|h| {
            let cache = self.cache.as_ref()?;
            cache.immutable_path(&sha256_hex(format!("metadata-of {h}").as_bytes()))
        });
        if let (Some(path), Some(cache)) = (&derived, &self.cache)
            && let Some(entry) = cache.read(path, MAX_METADATA_BYTES)
        {
            bump(&self.counters.cache_hits);
            let meta = CoreMetadata::parse(&entry.body).map_err(|e| meta_error(&file.url, e))?;
            return Ok(meta);
        }
        if self.config.offline && file.url.scheme() != "file" {
            return Err(IndexError::Offline {
                url: redact(&file.url),
            });
        }
        let archive = self.download(file).await?;
        let filename = file.filename.clone();
        let parsed = tokio::task::spawn_blocking(move || read_archive(archive, &filename))
            .await
            .map_err(|e| IndexError::Client(format!("metadata reader failed: {e}")))?
            .map_err(|e| meta_error(&file.url, e))?;
        let (meta, bytes) = match parsed {
            Archived::Metadata(meta, bytes) => (meta, bytes),
            Archived::NeedsBuild(reason) => {
                return Err(IndexError::NeedsBuild {
                    filename: file.filename.to_string(),
                    reason,
                });
            }
        };
        meta.check_matches(&file.filename)
            .map_err(|e| meta_error(&file.url, e))?;
        if let (Some(path), Some(cache)) = (&derived, &self.cache) {
            let entry = EntryMeta {
                url: file.url.to_string(),
                stored_at: now(),
                ..EntryMeta::default()
            };
            cache
                .write(path, entry, &bytes)
                .map_err(|source| IndexError::Cache {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(meta)
    }

    /// The files of one find-links location that belong to `name`.
    async fn find_links_files(
        &self,
        i: usize,
        location: &FindLinks,
        name: &PackageName,
    ) -> Result<ProjectPage, IndexError> {
        let all = self.flat_pages[i]
            .get_or_try_init(|| async {
                let page = match location {
                    FindLinks::Dir(dir) => self.directory_page(dir).await?,
                    FindLinks::Page(url) => self
                        .fetch_page(url.clone(), None)
                        .await?
                        .unwrap_or_default(),
                };
                Ok::<_, IndexError>(Arc::new(page))
            })
            .await?;
        Ok(ProjectPage {
            files: all
                .files
                .iter()
                .filter(|f| f.filename.name() == name)
                .cloned()
                .collect(),
            skipped: Vec::new(),
        })
    }

    /// A local directory read as a flat page: every distribution file in it.
    async fn directory_page(&self, dir: &Path) -> Result<ProjectPage, IndexError> {
        let io = |source| IndexError::File {
            path: dir.to_owned(),
            source,
        };
        let mut entries = tokio::fs::read_dir(dir).await.map_err(io)?;
        let mut names = Vec::new();
        while let Some(e) = entries.next_entry().await.map_err(io)? {
            if names.len() >= self.config.page_limits.max_files {
                return Err(IndexError::Page {
                    url: RedactedUrl::new(&dir.display().to_string()),
                    source: PageError::TooManyFiles {
                        limit: self.config.page_limits.max_files,
                    },
                });
            }
            if e.file_type().await.is_ok_and(|t| t.is_file()) {
                names.push(e.path());
            }
        }
        names.sort();
        let mut page = ProjectPage::default();
        for path in names {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let (Ok(filename), Ok(url)) = (DistFilename::parse(name), Url::from_file_path(&path))
            else {
                continue;
            };
            page.files.push(DistFile {
                filename,
                url,
                hashes: Hashes::default(),
                requires_python: None,
                yanked: None,
                core_metadata: None,
                upload_time: None,
                size: None,
            });
        }
        Ok(page)
    }

    /// A project page (or flat page); `None` when there is none (404, or no such file).
    async fn fetch_page(
        &self,
        url: Url,
        project: Option<&PackageName>,
    ) -> Result<Option<ProjectPage>, IndexError> {
        let fetched = if url.scheme() == "file" {
            self.read_local_page(&url).await?
        } else {
            self.fetch_validated(
                &url,
                SIMPLE_ACCEPT,
                self.config.page_limits.max_bytes as u64,
            )
            .await?
        };
        let Some(f) = fetched else {
            return Ok(None);
        };
        let page_error = |source| IndexError::Page {
            url: redact(&url),
            source,
        };
        let content_type = f.content_type.as_deref().unwrap_or("");
        let format = PageFormat::from_content_type(content_type).ok_or_else(|| {
            page_error(PageError::UnsupportedContentType(
                content_type.chars().take(100).collect(),
            ))
        })?;
        let body = latin1_to_utf8(&f.body, content_type);
        ProjectPage::parse(&body, format, &f.url, project, &self.config.page_limits)
            .map(Some)
            .map_err(page_error)
    }

    /// A page of a `file://` index: the file, or a directory's `index.html` (as pip reads
    /// local indexes); its form from its extension.
    async fn read_local_page(&self, url: &Url) -> Result<Option<Fetched>, IndexError> {
        let Ok(mut path) = url.to_file_path() else {
            return Err(IndexError::InvalidUrl {
                url: redact(url).to_string(),
                message: "not a local path".into(),
            });
        };
        if path.is_dir() {
            path.push("index.html");
        }
        let bytes = match read_file_bounded(&path, self.config.page_limits.max_bytes as u64).await {
            Ok(b) => b,
            Err(IndexError::File { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        Ok(Some(Fetched {
            body: bytes,
            content_type: Some(
                if json {
                    super::simple::JSON_MEDIA_TYPE
                } else {
                    "text/html"
                }
                .into(),
            ),
            url: Url::from_file_path(&path).unwrap_or_else(|()| url.clone()),
        }))
    }

    /// A `.metadata` file; `None` on 404. Cached forever under its digest when the index
    /// stated a SHA-256, else cached with validators.
    async fn fetch_metadata_file(
        &self,
        url: &Url,
        hashes: &Hashes,
    ) -> Result<Option<Vec<u8>>, IndexError> {
        if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| IndexError::InvalidUrl {
                url: redact(url).to_string(),
                message: "not a local path".into(),
            })?;
            return match read_file_bounded(&path, MAX_METADATA_BYTES).await {
                Ok(b) => {
                    verify(url, hashes, &b)?;
                    Ok(Some(b))
                }
                Err(IndexError::File { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            };
        }
        let immutable = hashes
            .sha256()
            .and_then(|h| self.cache.as_ref()?.immutable_path(h));
        if let (Some(path), Some(cache)) = (&immutable, &self.cache)
            && let Some(entry) = cache.read(path, MAX_METADATA_BYTES)
        {
            bump(&self.counters.cache_hits);
            return Ok(Some(entry.body));
        }
        if immutable.is_some() {
            if self.config.offline {
                return Err(IndexError::Offline { url: redact(url) });
            }
            let resp = self.send(url, "*/*", HeaderMap::new()).await?;
            if matches!(resp.status(), StatusCode::NOT_FOUND | StatusCode::GONE) {
                return Ok(None);
            }
            let resp = check_status(url, resp)?;
            let body = read_body(url, resp, MAX_METADATA_BYTES).await?;
            verify(url, hashes, &body)?;
            if let (Some(path), Some(cache)) = (&immutable, &self.cache) {
                let meta = EntryMeta {
                    url: without_credentials(url).to_string(),
                    stored_at: now(),
                    ..EntryMeta::default()
                };
                cache
                    .write(path, meta, &body)
                    .map_err(|source| IndexError::Cache {
                        path: path.clone(),
                        source,
                    })?;
            }
            return Ok(Some(body));
        }
        let fetched = self.fetch_validated(url, "*/*", MAX_METADATA_BYTES).await?;
        match fetched {
            Some(f) => {
                verify(url, hashes, &f.body)?;
                Ok(Some(f.body))
            }
            None => Ok(None),
        }
    }

    /// GET with the validator cache. `None` on 404 / 410 (remembered, so that offline runs
    /// know the project is absent too).
    async fn fetch_validated(
        &self,
        url: &Url,
        accept: &str,
        limit: u64,
    ) -> Result<Option<Fetched>, IndexError> {
        let clean = without_credentials(url);
        let path = self
            .cache
            .as_ref()
            .map(|c| c.validated_path(clean.as_str(), accept));
        let mut cached = match (&self.cache, &path) {
            (Some(c), Some(p)) => c.read(p, limit),
            _ => None,
        };
        let from_cache = |entry: super::cache::Entry| -> Option<Fetched> {
            if entry.meta.status == 404 {
                return None;
            }
            Some(Fetched {
                body: entry.body,
                content_type: entry.meta.content_type,
                url: Url::parse(&entry.meta.url).unwrap_or_else(|_| clean.clone()),
            })
        };
        if let Some(entry) = cached.take_if(|entry| self.config.offline || entry.meta.is_fresh()) {
            bump(&self.counters.cache_hits);
            return Ok(from_cache(entry));
        }
        if self.config.offline {
            return Err(IndexError::Offline { url: redact(url) });
        }
        let mut headers = HeaderMap::new();
        if let Some(entry) = &cached {
            if let Some(v) = entry
                .meta
                .etag
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok())
            {
                headers.insert(IF_NONE_MATCH, v);
            }
            if let Some(v) = entry
                .meta
                .last_modified
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok())
            {
                headers.insert(IF_MODIFIED_SINCE, v);
            }
        }
        let resp = self.send(url, accept, headers).await?;
        let status = resp.status();
        let max_age = cache_max_age(resp.headers());
        if status == StatusCode::NOT_MODIFIED
            && let Some(mut entry) = cached
        {
            bump(&self.counters.not_modified);
            // the time of storing matters only with a `max-age`: without one, the entry is
            // not rewritten (a warm run would otherwise write every page it revalidates)
            let dated = entry.meta.max_age.is_some() || max_age.flatten().is_some();
            entry.meta.stored_at = now();
            entry.meta.max_age = max_age.flatten();
            if dated && let (Some(c), Some(p)) = (&self.cache, &path) {
                c.write(p, entry.meta.clone(), &entry.body)
                    .map_err(|source| IndexError::Cache {
                        path: p.clone(),
                        source,
                    })?;
            }
            return Ok(from_cache(entry));
        }
        let final_url = without_credentials(resp.url());
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            if let (Some(c), Some(p)) = (&self.cache, &path) {
                let meta = EntryMeta {
                    url: final_url.to_string(),
                    status: 404,
                    stored_at: now(),
                    max_age: max_age.flatten(),
                    ..EntryMeta::default()
                };
                c.write(p, meta, b"").map_err(|source| IndexError::Cache {
                    path: p.clone(),
                    source,
                })?;
            }
            return Ok(None);
        }
        let resp = check_status(url, resp)?;
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let meta = EntryMeta {
            url: final_url.to_string(),
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
            content_type: header(CONTENT_TYPE),
            max_age: max_age.flatten(),
            status: 200,
            stored_at: now(),
            sha256: String::new(),
        };
        let body = read_body(url, resp, limit).await?;
        // `no-store` (max_age `Some(None)`) is not kept.
        if let (Some(c), Some(p)) = (&self.cache, &path)
            && max_age != Some(None)
        {
            c.write(p, meta.clone(), &body)
                .map_err(|source| IndexError::Cache {
                    path: p.clone(),
                    source,
                })?;
        }
        Ok(Some(Fetched {
            body,
            content_type: meta.content_type,
            url: final_url,
        }))
    }

    /// Downloads a distribution file to a temporary file, checking its hash.
    async fn download(&self, file: &DistFile) -> Result<std::fs::File, IndexError> {
        let url = &file.url;
        if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| IndexError::InvalidUrl {
                url: redact(url).to_string(),
                message: "not a local path".into(),
            })?;
            return std::fs::File::open(&path).map_err(|source| IndexError::File { path, source });
        }
        let tmp_dir = self
            .cache
            .as_ref()
            .map_or_else(std::env::temp_dir, HttpCache::tmp_dir);
        let cache_io = |source| IndexError::Cache {
            path: tmp_dir.clone(),
            source,
        };
        std::fs::create_dir_all(&tmp_dir).map_err(cache_io)?;
        let std_file = tempfile::tempfile_in(&tmp_dir).map_err(cache_io)?;
        let resp = self.send(url, "*/*", HeaderMap::new()).await?;
        let mut resp = check_status(url, resp)?;
        bump(&self.counters.downloads);
        let limit = self.config.max_download_bytes;
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(IndexError::TooLarge {
                url: redact(url),
                limit,
            });
        }
        let mut out = tokio::fs::File::from_std(std_file);
        let mut hasher = Hasher::for_hashes(&file.hashes);
        let mut total = 0u64;
        while let Some(chunk) = resp.chunk().await.map_err(|e| IndexError::Body {
            url: redact(url),
            message: describe(e),
        })? {
            total += chunk.len() as u64;
            if total > limit {
                return Err(IndexError::TooLarge {
                    url: redact(url),
                    limit,
                });
            }
            if let Some(h) = &mut hasher {
                h.update(&chunk);
            }
            out.write_all(&chunk).await.map_err(cache_io)?;
        }
        out.flush().await.map_err(cache_io)?;
        if let Some(h) = hasher {
            h.check(url)?;
        }
        let mut std_file = out.into_std().await;
        std_file.seek(SeekFrom::Start(0)).map_err(cache_io)?;
        Ok(std_file)
    }

    /// Credentials for a request to `url`: its own, else those of an index or find-links
    /// URL of the same origin, else the provider's.
    fn credentials_for(&self, url: &Url) -> Option<(String, Secret)> {
        if !url.username().is_empty() {
            return Some((
                percent_decode(url.username()),
                Secret::new(percent_decode(url.password().unwrap_or(""))),
            ));
        }
        let o = origin(url);
        if let Some((_, user, pass)) = self.url_credentials.iter().find(|(k, _, _)| *k == o) {
            return Some((user.clone(), pass.clone()));
        }
        self.config.credentials.as_ref()?.credentials(url)
    }

    /// One GET, retried as [`TransportPolicy`] says on connection failures, timeouts, 408,
    /// 429 and 5xx.
    async fn send(
        &self,
        url: &Url,
        accept: &str,
        headers: HeaderMap,
    ) -> Result<reqwest::Response, IndexError> {
        let clean = without_credentials(url);
        let creds = self.credentials_for(url);
        let policy = &self.config.transport;
        let mut attempt = 0;
        loop {
            attempt += 1;
            bump(&self.counters.requests);
            let mut req = self
                .http
                .get(clean.clone())
                .header(ACCEPT, accept)
                .headers(headers.clone());
            if let Some((user, pass)) = &creds {
                req = req.basic_auth(user, Some(pass.expose()));
            }
            let last = attempt >= policy.max_attempts.max(1);
            match req.send().await {
                Ok(resp) if !last && retryable_status(resp.status().as_u16()) => {
                    let wait = resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after)
                        .filter(|d| *d <= policy.max_delay)
                        .unwrap_or_else(|| policy.backoff(attempt));
                    tokio::time::sleep(wait).await;
                }
                Ok(resp) => return Ok(resp),
                Err(e) if !last && (e.is_connect() || e.is_timeout()) => {
                    tokio::time::sleep(policy.backoff(attempt)).await;
                }
                Err(e) => {
                    return Err(IndexError::Unreachable {
                        url: redact(url),
                        message: describe(e),
                    });
                }
            }
        }
    }
}

/// A page that declares a Latin-1 charset (`iso-8859-1`, `latin-1`, `windows-1252`) and is
/// not UTF-8, as UTF-8 (pip decodes a page with its declared charset); any other body as is.
fn latin1_to_utf8<'a>(body: &'a [u8], content_type: &str) -> std::borrow::Cow<'a, [u8]> {
    let charset = content_type
        .split(';')
        .skip(1)
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
    let latin1 = matches!(
        charset.as_deref(),
        Some("iso-8859-1" | "latin-1" | "latin1" | "windows-1252" | "cp1252")
    );
    if latin1 && std::str::from_utf8(body).is_err() {
        let text: String = body.iter().map(|&b| char::from(b)).collect();
        std::borrow::Cow::Owned(text.into_bytes())
    } else {
        std::borrow::Cow::Borrowed(body)
    }
}

/// `Some(Some(secs))` for `max-age`, `Some(None)` for `no-store`, `None` for neither.
/// `no-cache` counts as `max-age=0`.
#[allow(
    clippy::option_option,
    reason = "three answers a header gives: none, do not store, store for this long"
)]
fn cache_max_age(headers: &HeaderMap) -> Option<Option<u64>> {
    let value = headers
        .get(CACHE_CONTROL)?
        .to_str()
        .ok()?
        .to_ascii_lowercase();
    let mut max_age = None;
    for d in value.split(',').map(str::trim) {
        if d == "no-store" {
            return Some(None);
        }
        if d == "no-cache" {
            return Some(Some(0));
        }
        if let Some(v) = d.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse().ok();
        }
    }
    max_age.map(Some)
}

fn check_status(url: &Url, resp: reqwest::Response) -> Result<reqwest::Response, IndexError> {
    if resp.status().is_success() {
        Ok(resp)
    } else {
        Err(IndexError::Status {
            url: redact(url),
            status: resp.status().as_u16(),
        })
    }
}

async fn read_body(
    url: &Url,
    mut resp: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, IndexError> {
    let too_large = || IndexError::TooLarge {
        url: redact(url),
        limit,
    };
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| IndexError::Body {
        url: redact(url),
        message: describe(e),
    })? {
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn read_file_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, IndexError> {
    let io = |source| IndexError::File {
        path: path.to_owned(),
        source,
    };
    let len = tokio::fs::metadata(path).await.map_err(io)?.len();
    if len > limit {
        return Err(IndexError::TooLarge {
            url: RedactedUrl::new(&path.display().to_string()),
            limit,
        });
    }
    tokio::fs::read(path).await.map_err(io)
}

/// The strongest stated digest envaudit can compute, checked.
fn verify(url: &Url, hashes: &Hashes, body: &[u8]) -> Result<(), IndexError> {
    match Hasher::for_hashes(hashes) {
        Some(mut h) => {
            h.update(body);
            h.check(url)
        }
        None => Ok(()),
    }
}

enum HashState {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

struct Hasher {
    state: HashState,
    algorithm: &'static str,
    expected: String,
}

impl Hasher {
    fn for_hashes(hashes: &Hashes) -> Option<Self> {
        let (algorithm, state) = [
            ("sha512", HashState::Sha512(sha2::Sha512::new())),
            ("sha384", HashState::Sha384(sha2::Sha384::new())),
            ("sha256", HashState::Sha256(sha2::Sha256::new())),
        ]
        .into_iter()
        .find(|(a, _)| hashes.get(a).is_some())?;
        Some(Self {
            state,
            algorithm,
            expected: hashes.get(algorithm)?.to_owned(),
        })
    }

    fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            HashState::Sha256(h) => h.update(bytes),
            HashState::Sha384(h) => h.update(bytes),
            HashState::Sha512(h) => h.update(bytes),
        }
    }

    fn check(self, url: &Url) -> Result<(), IndexError> {
        let actual = match self.state {
            HashState::Sha256(h) => crate::model::to_hex(&h.finalize()),
            HashState::Sha384(h) => crate::model::to_hex(&h.finalize()),
            HashState::Sha512(h) => crate::model::to_hex(&h.finalize()),
        };
        if actual == self.expected {
            Ok(())
        } else {
            Err(IndexError::HashMismatch {
                url: redact(url),
                algorithm: self.algorithm.to_owned(),
                expected: self.expected,
                actual,
            })
        }
    }
}

enum Archived {
    Metadata(CoreMetadata, Vec<u8>),
    NeedsBuild(metadata::NeedsBuild),
}

fn read_archive(
    file: std::fs::File,
    filename: &DistFilename,
) -> Result<Archived, metadata::MetadataError> {
    match filename {
        DistFilename::Wheel(w) => {
            let (meta, bytes) = metadata::from_wheel_with_bytes(file, w)?;
            Ok(Archived::Metadata(meta, bytes))
        }
        DistFilename::Sdist(s) => match metadata::from_sdist_with_bytes(file, s)? {
            (SdistMetadata::Static(meta), Some(bytes)) => Ok(Archived::Metadata(meta, bytes)),
            (SdistMetadata::Static(_), None) => {
                Ok(Archived::NeedsBuild(metadata::NeedsBuild::NoPkgInfo))
            }
            (SdistMetadata::NeedsBuild(why), _) => Ok(Archived::NeedsBuild(why)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_urls_end_in_a_slash_and_show_no_credentials() {
        let i = IndexUrl::parse("https://bob:t%40ken@pkgs.example.com/simple").unwrap();
        assert_eq!(
            i.project_url(&PackageName::pip("Foo_Bar")).as_str(),
            "https://bob:t%40ken@pkgs.example.com/simple/foo-bar/"
        );
        assert_eq!(i.to_string(), "https://****@pkgs.example.com/simple/");
        assert!(!format!("{i:?}").contains("t%40ken"));
        let c = IndexClient::new(IndexConfig {
            index_urls: vec![i],
            ..IndexConfig::default()
        })
        .unwrap();
        let (user, pass) = c
            .credentials_for(&Url::parse("https://pkgs.example.com:443/files/a.whl").unwrap())
            .unwrap();
        assert_eq!((user.as_str(), pass.expose()), ("bob", "t@ken"));
        assert!(
            c.credentials_for(&Url::parse("https://other.example.com/").unwrap())
                .is_none()
        );
        assert!(!format!("{c:?}").contains("t%40ken"));
        let e = IndexUrl::parse("ftp://u:p@x/").unwrap_err();
        insta::assert_snapshot!(e.to_string(), @"invalid index URL `ftp://****@x/`: unsupported scheme `ftp`");
    }

    #[test]
    fn a_latin1_page_is_read_as_its_charset_says() {
        let body = b"<a href=\"foo-1.0.tar.gz\" data-yanked=\"caf\xe9\">";
        let utf8 = latin1_to_utf8(body, "text/html; charset=ISO-8859-1");
        assert_eq!(
            std::str::from_utf8(&utf8).unwrap(),
            "<a href=\"foo-1.0.tar.gz\" data-yanked=\"caf\u{e9}\">"
        );
        assert_eq!(&*latin1_to_utf8(body, "text/html"), body);
    }

    #[test]
    fn cache_control_decides_freshness() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(CACHE_CONTROL, HeaderValue::from_str(v).unwrap());
            cache_max_age(&m)
        };
        assert_eq!(h("max-age=600, public"), Some(Some(600)));
        assert_eq!(h("no-cache"), Some(Some(0)));
        assert_eq!(h("no-store"), Some(None));
        assert_eq!(cache_max_age(&HeaderMap::new()), None);
    }
}
