//! [`Registry`] over the OCI distribution HTTP API.
//!
//! Requests go straight to the registry with the current `Authorization` (none at first).
//! On a 401 the `WWW-Authenticate` challenge decides: `Basic` sends the credentials found
//! for the registry; `Bearer` has `oci-client` run the token handshake (anonymous, or with
//! the credentials), and the token is kept per repository. So an anonymous registry costs
//! one request per manifest or blob, and a token registry one handshake per repository.
//!
//! Retries, timeouts and plain HTTP follow [`TransportPolicy`]. oci-client's own request
//! methods are not used for manifests and blobs: they do not expose `Retry-After` or the
//! response headers, and they ping `/v2/` before every anonymous request.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use futures_util::TryStreamExt as _;
use oci_client::secrets::RegistryAuth;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};

use super::auth::{CredentialStore, Credentials};
use super::transport::{TransportPolicy, parse_retry_after, retryable_status};
use super::verify::VerifyingReader;
use super::{
    BlobReader, MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES, Manifest, ManifestRef, Registry,
    RegistryError,
};
use crate::model::{DOCKER_HUB, Digest, ImageRef, RedactedUrl, Secret};

/// The registry API over HTTP(S).
pub struct HttpRegistry {
    http: reqwest::Client,
    policy: TransportPolicy,
    credentials: CredentialStore,
    /// `Authorization` values per `registry/repository` (bearer) or `registry` (basic).
    auth: Mutex<HashMap<String, Secret>>,
    /// Credentials looked up per registry (`None`: there are none).
    found: Mutex<HashMap<String, Option<Credentials>>>,
    oci_http: OnceLock<oci_client::Client>,
    oci_https: OnceLock<oci_client::Client>,
}

/// Install rustls' `ring` provider as the process default, once (reqwest is built without one).
fn install_crypto_provider() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        // Err means another provider was installed first, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

const USER_AGENT: &str = concat!("envaudit/", env!("CARGO_PKG_VERSION"));

impl HttpRegistry {
    /// A client with the given retry and timeout policy and credential sources. Credentials
    /// are looked up lazily, once per registry. Fails only when TLS or the HTTP client
    /// cannot be set up.
    pub fn new(
        policy: TransportPolicy,
        credentials: CredentialStore,
    ) -> Result<Self, RegistryError> {
        install_crypto_provider();
        let tls = super::tls::client_config().map_err(|e| RegistryError::Tls(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(policy.connect_timeout)
            .read_timeout(policy.read_timeout)
            .user_agent(USER_AGENT)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(RegistryError::Client)?;
        Ok(Self {
            http,
            policy,
            credentials,
            auth: Mutex::default(),
            found: Mutex::default(),
            oci_http: OnceLock::new(),
            oci_https: OnceLock::new(),
        })
    }

    /// The retry and timeout policy the client was built with.
    pub fn policy(&self) -> &TransportPolicy {
        &self.policy
    }

    /// The API host: Docker Hub's is `registry-1.docker.io`.
    fn host(registry: &str) -> &str {
        if registry == DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            registry
        }
    }

    pub(super) fn url(&self, repo: &ImageRef, tail: &str) -> String {
        let host = Self::host(repo.registry());
        format!(
            "{}://{host}/v2/{}/{tail}",
            self.policy.scheme_for(host),
            repo.repository()
        )
    }

    /// Whether `url` is on the registry of `repo` (same scheme, host and port, a default
    /// port written or not): requests elsewhere (an upload offloaded to another host, a
    /// pagination link) carry no credentials.
    fn same_origin(&self, repo: &ImageRef, url: &str) -> bool {
        let base = self.url(repo, "");
        match (reqwest::Url::parse(&base), reqwest::Url::parse(url)) {
            (Ok(a), Ok(b)) => {
                a.scheme() == b.scheme()
                    && a.host_str() == b.host_str()
                    && a.port_or_known_default() == b.port_or_known_default()
            }
            _ => false,
        }
    }

    fn oci(&self, registry: &str) -> &oci_client::Client {
        let plain = self.policy.scheme_for(Self::host(registry)) == "http";
        let (cell, protocol) = if plain {
            (&self.oci_http, oci_client::client::ClientProtocol::Http)
        } else {
            (&self.oci_https, oci_client::client::ClientProtocol::Https)
        };
        cell.get_or_init(|| {
            oci_client::Client::new(oci_client::client::ClientConfig {
                protocol,
                connect_timeout: Some(self.policy.connect_timeout),
                read_timeout: Some(self.policy.read_timeout),
                user_agent: USER_AGENT,
                ..Default::default()
            })
        })
    }

    fn auth_header(&self, repo: &ImageRef, access: Access) -> Option<Secret> {
        let map = self.auth.lock().unwrap_or_else(PoisonError::into_inner);
        let scoped = map.get(&access.key(repo));
        scoped.or_else(|| map.get(repo.registry())).cloned()
    }

    async fn credentials(&self, registry: &str) -> Result<Option<Credentials>, RegistryError> {
        if let Some(c) = self
            .found
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(registry)
        {
            return Ok(c.clone());
        }
        let store = self.credentials.clone();
        let reg = registry.to_owned();
        // Helpers are programs: keep them off the async threads.
        let found = tokio::task::spawn_blocking(move || store.lookup(&reg))
            .await
            .unwrap_or(Ok(None))
            .map_err(|source| RegistryError::Credentials {
                registry: registry.to_owned(),
                source,
            })?;
        self.found
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(registry.to_owned(), found.clone());
        Ok(found)
    }

    /// Answer a 401 challenge, for pulling, pushing or listing the catalog. Returns where
    /// the credentials used came from.
    async fn authenticate(
        &self,
        repo: &ImageRef,
        challenge: Option<&HeaderValue>,
        access: Access,
    ) -> Result<Option<String>, RegistryError> {
        let push = access == Access::Push;
        let creds = self.credentials(repo.registry()).await?;
        let origin = creds.as_ref().map(|c| c.origin.clone());
        let scheme = challenge
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.split_whitespace().next())
            .unwrap_or("")
            .to_ascii_lowercase();
        let unauthorized = |credentials| RegistryError::Unauthorized {
            registry: repo.registry().to_owned(),
            repository: repo.repository().to_owned(),
            credentials,
        };
        if scheme == "bearer" && access == Access::Catalog {
            let challenge = challenge.and_then(|h| h.to_str().ok()).unwrap_or("");
            let token = self
                .catalog_token(repo, challenge, creds.as_ref())
                .await?
                .ok_or_else(|| unauthorized(origin.clone()))?;
            self.auth
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(access.key(repo), Secret::new(format!("Bearer {token}")));
            return Ok(origin);
        }
        if scheme == "bearer" {
            let auth = match &creds {
                Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.expose().to_owned()),
                None => RegistryAuth::Anonymous,
            };
            let reference = oci_client::Reference::with_tag(
                repo.registry().to_owned(),
                repo.repository().to_owned(),
                "latest".to_owned(),
            );
            let token = self
                .oci(repo.registry())
                .auth(
                    &reference,
                    &auth,
                    if push {
                        oci_client::RegistryOperation::Push
                    } else {
                        oci_client::RegistryOperation::Pull
                    },
                )
                .await
                .map_err(|e| RegistryError::Token {
                    registry: repo.registry().to_owned(),
                    repository: repo.repository().to_owned(),
                    reason: scrub(&e.to_string(), creds.as_ref()),
                })?;
            let Some(token) = token else {
                return Err(unauthorized(origin));
            };
            let key = access.key(repo);
            self.auth
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key, Secret::new(format!("Bearer {token}")));
            return Ok(origin);
        }
        let Some(c) = creds else {
            return Err(unauthorized(None));
        };
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            c.username,
            c.password.expose()
        ));
        self.auth
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                repo.registry().to_owned(),
                Secret::new(format!("Basic {basic}")),
            );
        Ok(origin)
    }

    /// GET `url` under the transport policy: authenticate on the first 401, retry what is
    /// worth retrying, and return the first successful response. 404 comes back as `None`.
    async fn get(
        &self,
        repo: &ImageRef,
        url: &str,
        accept: Option<&str>,
    ) -> Result<Option<reqwest::Response>, RegistryError> {
        self.send(repo, Request::Get, url, accept).await
    }

    /// Send a request under the transport policy (see [`HttpRegistry::get`]); a PUT or POST
    /// authenticates for pushing, and a refusal of one comes back with the registry's reason.
    /// A URL outside the registry's origin gets no credentials.
    pub(super) async fn send(
        &self,
        repo: &ImageRef,
        request: Request<'_>,
        url: &str,
        accept: Option<&str>,
    ) -> Result<Option<reqwest::Response>, RegistryError> {
        let access = if matches!(request, Request::Put { .. } | Request::Post) {
            Access::Push
        } else {
            Access::Pull
        };
        self.send_as(repo, access, request, url, accept).await
    }

    /// [`HttpRegistry::send`] with the access to authenticate for given.
    pub(super) async fn send_as(
        &self,
        repo: &ImageRef,
        access: Access,
        request: Request<'_>,
        url: &str,
        accept: Option<&str>,
    ) -> Result<Option<reqwest::Response>, RegistryError> {
        let shown = RedactedUrl::new(url);
        let push = access == Access::Push;
        let same_origin = self.same_origin(repo, url);
        let mut attempts = 0u32;
        // Elsewhere, a 401 is final: no credentials are sent there.
        let mut authenticated = !same_origin;
        let mut used_credentials = None;
        loop {
            attempts += 1;
            let mut req = match &request {
                Request::Get => self.http.get(url),
                Request::Head => self.http.head(url),
                Request::Post => self
                    .http
                    .post(url)
                    .header(reqwest::header::CONTENT_LENGTH, "0"),
                Request::Put {
                    content_type,
                    body,
                    condition,
                } => {
                    let mut r = self
                        .http
                        .put(url)
                        .header(reqwest::header::CONTENT_TYPE, *content_type)
                        .body(body.clone());
                    match condition {
                        Some(Condition::Match(etag)) => {
                            r = r.header(reqwest::header::IF_MATCH, *etag);
                        }
                        Some(Condition::Absent) => {
                            r = r.header(reqwest::header::IF_NONE_MATCH, "*");
                        }
                        None => {}
                    }
                    r
                }
            };
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            if let Some(h) = self.auth_header(repo, access).filter(|_| same_origin) {
                let mut v =
                    HeaderValue::from_str(h.expose()).map_err(|_| RegistryError::Token {
                        registry: repo.registry().to_owned(),
                        repository: repo.repository().to_owned(),
                        reason: "the token is not a valid header value".to_owned(),
                    })?;
                v.set_sensitive(true);
                req = req.header(AUTHORIZATION, v);
            }
            let retry_wait = match req.send().await {
                Ok(res) => {
                    let status = res.status();
                    if status.is_success() {
                        return Ok(Some(res));
                    }
                    match status {
                        StatusCode::NOT_FOUND => return Ok(None),
                        StatusCode::UNAUTHORIZED if !authenticated => {
                            authenticated = true;
                            attempts -= 1;
                            used_credentials = self
                                .authenticate(repo, res.headers().get(WWW_AUTHENTICATE), access)
                                .await?;
                            continue;
                        }
                        StatusCode::UNAUTHORIZED => {
                            return Err(RegistryError::Unauthorized {
                                registry: repo.registry().to_owned(),
                                repository: repo.repository().to_owned(),
                                credentials: used_credentials,
                            });
                        }
                        StatusCode::FORBIDDEN => {
                            return Err(RegistryError::Forbidden {
                                registry: repo.registry().to_owned(),
                                repository: repo.repository().to_owned(),
                            });
                        }
                        s if retryable_status(s.as_u16()) => {
                            if attempts >= self.policy.max_attempts {
                                return Err(RegistryError::RetriesExhausted {
                                    url: shown,
                                    status: s.as_u16(),
                                    attempts,
                                });
                            }
                            let asked = res
                                .headers()
                                .get(RETRY_AFTER)
                                .and_then(|v| v.to_str().ok())
                                .and_then(parse_retry_after);
                            if let Some(after) = asked
                                && after > self.policy.max_delay
                            {
                                return Err(RegistryError::RetryAfterTooLong {
                                    url: shown,
                                    after,
                                    limit: self.policy.max_delay,
                                });
                            }
                            asked.unwrap_or_else(|| self.policy.backoff(attempts))
                        }
                        s if push => {
                            let creds = self
                                .found
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .get(repo.registry())
                                .cloned()
                                .flatten();
                            let (code, message) = error_body(res, creds.as_ref()).await;
                            return Err(RegistryError::PushRejected {
                                url: shown,
                                status: s.as_u16(),
                                code,
                                message,
                            });
                        }
                        s => {
                            return Err(RegistryError::Status {
                                url: shown,
                                status: s.as_u16(),
                            });
                        }
                    }
                }
                Err(e) => {
                    let retry = e.is_timeout() || e.is_connect() || e.is_request();
                    if !retry || attempts >= self.policy.max_attempts {
                        return Err(if e.is_timeout() {
                            RegistryError::Timeout {
                                url: shown,
                                timeout: self.policy.read_timeout,
                                attempts,
                            }
                        } else {
                            RegistryError::Transport {
                                url: shown,
                                attempts,
                                source: e.without_url(),
                            }
                        });
                    }
                    self.policy.backoff(attempts)
                }
            };
            tokio::time::sleep(retry_wait).await;
        }
    }
}

impl HttpRegistry {
    /// A bearer token for listing the catalog: oci-client's handshake asks for repository
    /// scopes only, so the token endpoint of the challenge (`realm`, `service`) is asked for
    /// `registry:catalog:*` here, with the registry's credentials when there are any.
    /// `None` when the token server refuses.
    async fn catalog_token(
        &self,
        repo: &ImageRef,
        challenge: &str,
        creds: Option<&Credentials>,
    ) -> Result<Option<String>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct TokenWire {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token_error = |reason: String| RegistryError::Token {
            registry: repo.registry().to_owned(),
            repository: "registry catalog".to_owned(),
            reason: scrub(&reason, creds),
        };
        let params = challenge_params(challenge);
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| token_error("the challenge names no `realm`".to_owned()))?;
        let mut url = reqwest::Url::parse(realm)
            .map_err(|e| token_error(format!("the realm is not a URL ({e})")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(token_error("the realm is not an HTTP(S) URL".to_owned()));
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
                q.append_pair("service", service);
            }
            q.append_pair("scope", "registry:catalog:*");
        }
        let shown = url.to_string();
        let mut req = self.http.get(url);
        if let Some(c) = creds {
            req = req.basic_auth(&c.username, Some(c.password.expose()));
        }
        let res = req.send().await.map_err(|e| RegistryError::Transport {
            url: RedactedUrl::new(&shown),
            attempts: 1,
            source: e.without_url(),
        })?;
        if matches!(
            res.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return Ok(None);
        }
        if !res.status().is_success() {
            return Err(token_error(format!("HTTP {}", res.status().as_u16())));
        }
        let body = read_bounded(res, &shown, "token answer").await?;
        let wire: TokenWire = serde_json::from_slice(&body)
            .map_err(|e| token_error(format!("the answer is not a token: {e}")))?;
        Ok(wire.token.or(wire.access_token).filter(|t| !t.is_empty()))
    }
}

/// The `key="value"` (or `key=value`) parameters of a `WWW-Authenticate` challenge, after
/// its scheme; keys lowercased.
pub(super) fn challenge_params(challenge: &str) -> Vec<(String, String)> {
    let rest = challenge
        .trim()
        .split_once(char::is_whitespace)
        .map_or("", |(_, r)| r);
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        out.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    out
}

/// What a request needs the right to do; bearer tokens are kept per repository and access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// Read a repository (`repository:NAME:pull`).
    Pull,
    /// Write a repository (`repository:NAME:pull,push`).
    Push,
    /// List the registry's repositories (`registry:catalog:*`).
    Catalog,
}

impl Access {
    /// The key of the bearer token for this access to `repo`.
    fn key(self, repo: &ImageRef) -> String {
        match self {
            Access::Pull => format!("{}/{}", repo.registry(), repo.repository()),
            Access::Push => format!("{}/{}#push", repo.registry(), repo.repository()),
            Access::Catalog => format!("{}#catalog", repo.registry()),
        }
    }
}

/// The requests envaudit sends.
pub(super) enum Request<'a> {
    Get,
    Head,
    /// An empty POST (starting a blob upload).
    Post,
    Put {
        content_type: &'a str,
        body: bytes::Bytes,
        /// A precondition on what the URL holds now (RFC 9110 section 13.1).
        condition: Option<Condition<'a>>,
    },
}

/// The precondition of a conditional PUT.
#[derive(Clone, Copy, Debug)]
pub(super) enum Condition<'a> {
    /// `If-Match: ETAG`: only if the current content still has this entity tag.
    Match(&'a str),
    /// `If-None-Match: *`: only if there is no content yet.
    Absent,
}

/// The largest error body read from a refused push.
const MAX_ERROR_BODY_BYTES: usize = 64 << 10;

/// The first error of a registry's error body (`{"errors":[{"code","message"}]}`), its
/// message cut to 300 characters and scrubbed of the credentials, should the registry echo
/// them. A body that says nothing of the kind gives `(None, None)`.
async fn error_body(
    res: reqwest::Response,
    creds: Option<&Credentials>,
) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct ErrorsWire {
        errors: Vec<ErrorWire>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorWire {
        code: Option<String>,
        message: Option<String>,
    }
    let mut body = Vec::new();
    let mut stream = res.bytes_stream();
    while let Ok(Some(chunk)) = stream.try_next().await {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ERROR_BODY_BYTES {
            return (None, None);
        }
    }
    let Ok(wire) = serde_json::from_slice::<ErrorsWire>(&body) else {
        return (None, None);
    };
    let Some(first) = wire.errors.into_iter().next() else {
        return (None, None);
    };
    let clean = |s: String| -> String {
        let s: String = s.chars().filter(|c| !c.is_control()).collect();
        let mut s = scrub(&s, creds);
        if let Some(c) = creds {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                c.username,
                c.password.expose()
            ));
            s = s.replace(&basic, "****");
        }
        s
    };
    (first.code.map(clean), first.message.map(clean))
}

impl HttpRegistry {
    /// The digest a tag names, from a HEAD request's `Docker-Content-Digest` (a GET when
    /// the registry sends no digest with HEAD); `None` when the tag does not exist. This is
    /// the registry's claim, not a verified digest: read the manifest by this digest to
    /// trust it.
    pub async fn tag_digest(
        &self,
        repo: &ImageRef,
        tag: &str,
    ) -> Result<Option<Digest>, RegistryError> {
        let url = self.url(repo, &format!("manifests/{tag}"));
        let accept = MANIFEST_MEDIA_TYPES.join(", ");
        let Some(res) = self.send(repo, Request::Head, &url, Some(&accept)).await? else {
            return Ok(None);
        };
        if let Some(d) = res
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok())
        {
            return Ok(Some(d));
        }
        match self.manifest(repo, ManifestRef::Tag(tag)).await {
            Ok(m) => Ok(Some(m.digest)),
            Err(RegistryError::ManifestNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Store `bytes` as the manifest `tag` of `repo` (moving the tag if it exists) and
    /// check that the registry computed the same digest.
    pub async fn put_manifest(
        &self,
        repo: &ImageRef,
        tag: &str,
        media_type: &str,
        bytes: bytes::Bytes,
    ) -> Result<Digest, RegistryError> {
        self.push_manifest(repo, ManifestRef::Tag(tag), media_type, bytes)
            .await
            .map(|p| p.digest)
    }

    /// Store `bytes` as a manifest of `repo`, by digest (which must be the bytes') or under a
    /// tag (moving it if it exists). The registry's `Docker-Content-Digest`, when sent, must
    /// be the digest of the bytes, and its `OCI-Subject`, when sent, a digest.
    pub async fn push_manifest(
        &self,
        repo: &ImageRef,
        reference: ManifestRef<'_>,
        media_type: &str,
        bytes: bytes::Bytes,
    ) -> Result<PushedManifest, RegistryError> {
        self.push_manifest_if(repo, reference, media_type, bytes, None)
            .await
    }

    /// [`HttpRegistry::push_manifest`] under a precondition on what the reference holds now.
    pub(super) async fn push_manifest_if(
        &self,
        repo: &ImageRef,
        reference: ManifestRef<'_>,
        media_type: &str,
        bytes: bytes::Bytes,
        condition: Option<Condition<'_>>,
    ) -> Result<PushedManifest, RegistryError> {
        let url = self.url(repo, &format!("manifests/{reference}"));
        let expected = match reference {
            ManifestRef::Digest(d) => {
                let actual = d.recompute(&bytes);
                if &actual != d {
                    return Err(super::IntegrityError::DigestMismatch {
                        what: format!("manifest pushed as `{d}` to `{}`", repo_name(repo)),
                        expected: d.clone(),
                        actual,
                    }
                    .into());
                }
                actual
            }
            ManifestRef::Tag(_) => Digest::sha256_of(&bytes),
        };
        // Distribution 2.8 checks that the blobs and manifests a manifest refers to exist by
        // reading their links in the repository; a link another client is rewriting at that
        // moment (a shared blob uploaded again, a manifest just pushed) reads as an invalid
        // digest, and the push is answered `DIGEST_INVALID`. The bytes were checked against
        // their digest above, so that answer is the registry's passing state: retried.
        let mut attempts = 0;
        let res = loop {
            attempts += 1;
            let request = Request::Put {
                content_type: media_type,
                body: bytes.clone(),
                condition,
            };
            match self.send(repo, request, &url, None).await {
                Err(RegistryError::PushRejected {
                    status: 400,
                    code: Some(code),
                    ..
                }) if code == "DIGEST_INVALID" && attempts < self.policy.max_attempts => {
                    tokio::time::sleep(self.policy.backoff(attempts)).await;
                }
                other => {
                    break other?.ok_or_else(|| RegistryError::Status {
                        url: RedactedUrl::new(&url),
                        status: 404,
                    })?;
                }
            }
        };
        if let Some(claimed) = header_digest(&res)
            && claimed != expected
        {
            return Err(super::IntegrityError::DigestMismatch {
                what: format!("manifest pushed as `{reference}` to `{}`", repo_name(repo)),
                expected,
                actual: claimed,
            }
            .into());
        }
        let oci_subject = match res.headers().get("oci-subject") {
            None => None,
            Some(v) => {
                let text = String::from_utf8_lossy(v.as_bytes()).trim().to_owned();
                Some(
                    text.parse::<Digest>()
                        .map_err(|_| RegistryError::UnexpectedOciSubject {
                            repository: repo_name(repo),
                            expected: None,
                            value: text.chars().take(200).collect(),
                        })?,
                )
            }
        };
        Ok(PushedManifest {
            digest: expected,
            oci_subject,
        })
    }
}

/// A manifest the registry stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedManifest {
    /// The digest of the bytes pushed (the registry's `Docker-Content-Digest` agreed, or it
    /// sent none).
    pub digest: Digest,
    /// The registry's `OCI-Subject` header: present when it supports the referrers API and
    /// processed the manifest's `subject` (distribution spec 1.1).
    pub oci_subject: Option<Digest>,
}

/// The `Docker-Content-Digest` of a response, when it is a digest.
pub(super) fn header_digest(res: &reqwest::Response) -> Option<Digest> {
    res.headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<Digest>().ok())
}

impl HttpRegistry {
    /// The manifest a tag or digest names, verified as [`Registry::manifest`] does, and the
    /// `ETag` the registry sent with it (for a conditional write over it).
    pub(super) async fn fetch_manifest(
        &self,
        repo: &ImageRef,
        reference: ManifestRef<'_>,
    ) -> Result<(Manifest, Option<String>), RegistryError> {
        let url = self.url(repo, &format!("manifests/{reference}"));
        let accept = MANIFEST_MEDIA_TYPES.join(", ");
        let not_found = || RegistryError::ManifestNotFound {
            registry: repo.registry().to_owned(),
            repository: repo.repository().to_owned(),
            reference: reference.to_string(),
        };
        let res = self
            .get(repo, &url, Some(&accept))
            .await?
            .ok_or_else(not_found)?;
        let header_digest = header_digest(&res);
        let content_type = content_type(&res);
        let etag = res
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = read_bounded(res, &url, &format!("manifest `{reference}`")).await?;
        // The expected digest: the one asked for, else the registry's claim. Either way
        // the bytes decide.
        let expected = match reference {
            ManifestRef::Digest(d) => Some(d.clone()),
            ManifestRef::Tag(_) => header_digest,
        };
        let digest = match &expected {
            Some(e) => {
                let actual = e.recompute(&bytes);
                if &actual != e {
                    return Err(super::IntegrityError::DigestMismatch {
                        what: format!("manifest `{reference}` of `{}`", repo_name(repo)),
                        expected: e.clone(),
                        actual,
                    }
                    .into());
                }
                actual
            }
            None => Digest::sha256_of(&bytes),
        };
        Ok((
            Manifest {
                digest,
                content_type,
                bytes: bytes.into(),
            },
            etag,
        ))
    }
}

/// The media type of a response's `Content-Type`, without parameters.
pub(super) fn content_type(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned())
}

/// A response body of at most [`MAX_MANIFEST_BYTES`]; `what` names it in the error.
pub(super) async fn read_bounded(
    res: reqwest::Response,
    url: &str,
    what: &str,
) -> Result<Vec<u8>, RegistryError> {
    let too_large = || RegistryError::TooLarge {
        what: what.to_owned(),
        limit: MAX_MANIFEST_BYTES,
    };
    if res.content_length().is_some_and(|l| l > MAX_MANIFEST_BYTES) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    let mut stream = res.bytes_stream();
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| RegistryError::Transport {
            url: RedactedUrl::new(url),
            attempts: 1,
            source: e.without_url(),
        })?
    {
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(too_large());
        }
    }
    Ok(bytes)
}

/// Remove the password from a message a server sent back, should it echo it.
fn scrub(message: &str, creds: Option<&Credentials>) -> String {
    let mut m: String = message.chars().take(300).collect();
    if let Some(c) = creds
        && !c.password.is_empty()
    {
        m = m.replace(c.password.expose(), "****");
    }
    m
}

impl Registry for HttpRegistry {
    async fn manifest(
        &self,
        repo: &ImageRef,
        reference: ManifestRef<'_>,
    ) -> Result<Manifest, RegistryError> {
        self.fetch_manifest(repo, reference).await.map(|(m, _)| m)
    }

    async fn blob(
        &self,
        repo: &ImageRef,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<BlobReader, RegistryError> {
        let url = self.url(repo, &format!("blobs/{digest}"));
        let res = self
            .get(repo, &url, None)
            .await?
            .ok_or_else(|| RegistryError::BlobNotFound {
                registry: repo.registry().to_owned(),
                repository: repo.repository().to_owned(),
                digest: digest.clone(),
            })?;
        let stream = res
            .bytes_stream()
            .map_err(|e| std::io::Error::other(e.without_url()));
        let reader = tokio_util::io::StreamReader::new(stream);
        Ok(BlobReader::new(VerifyingReader::new(
            reader,
            "blob",
            digest.clone(),
            size,
        )))
    }
}

pub(super) fn repo_name(repo: &ImageRef) -> String {
    format!("{}/{}", repo.registry(), repo.repository())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_parameters_are_read_quoted_or_not() {
        let p = challenge_params(
            r#"Bearer realm="https://auth.example/token",service=registry.example,scope="registry:catalog:*",error="a \"q\"""#,
        );
        assert_eq!(
            p,
            vec![
                ("realm".into(), "https://auth.example/token".into()),
                ("service".into(), "registry.example".into()),
                ("scope".into(), "registry:catalog:*".into()),
                ("error".into(), r#"a "q""#.into()),
            ]
        );
        assert!(challenge_params("Bearer").is_empty());
        assert!(challenge_params("").is_empty());
    }

    #[test]
    fn credentials_go_only_to_the_registrys_own_origin() {
        let reg =
            HttpRegistry::new(TransportPolicy::default(), CredentialStore::anonymous()).unwrap();
        let repo: ImageRef = "registry.example:443/team/app:1".parse().unwrap();
        let same = |u: &str| reg.same_origin(&repo, u);
        assert!(same(
            "https://registry.example/v2/team/app/blobs/uploads/1?_state=x"
        ));
        assert!(same("https://registry.example:443/v2/team/app/referrers/x"));
        assert!(same("https://REGISTRY.example/v2/"));
        assert!(!same("http://registry.example/v2/"));
        assert!(!same("https://registry.example:8443/v2/"));
        assert!(!same("https://storage.example/upload?sig=1"));
        assert!(!same("https://registry.example.evil/v2/"));
        assert!(!same("/v2/relative"));
        let hub: ImageRef = "python:3".parse().unwrap();
        assert!(reg.same_origin(
            &hub,
            "https://registry-1.docker.io/v2/library/python/blobs/uploads/u"
        ));
    }
}
