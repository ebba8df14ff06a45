//! A small in-memory OCI registry on the in-process [`FaultServer`], for what the real
//! `docker-registry` (distribution 2.8) cannot show: the referrers API of distribution spec
//! 1.1 (`OCI-Subject`, `Link` pages, `artifactType` filtering), `ETag` conditions on manifest
//! PUTs, and faults in the middle of a push. No registry with the referrers API can be
//! installed from the package registries this machine reaches (Debian ships distribution
//! 2.8 only), so this stands in for one, for that path only.
//!
//! It keeps blobs, manifests and tags per repository, checks every pushed digest, and
//! answers as the spec says; `Options` turns the 1.1 features on. A `hook` sees every request
//! first and may answer it itself, with the store in hand.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::fault::{FaultServer, Reply, Request};
use super::image::sha256;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

#[derive(Clone, Debug)]
#[allow(clippy::struct_excessive_bools)] // independent switches, one per feature
pub struct Options {
    /// Serve `GET /v2/<name>/referrers/<digest>` and answer `OCI-Subject`.
    pub referrers_api: bool,
    /// Apply `artifactType=` and say so with `OCI-Filters-Applied`.
    pub filter: bool,
    /// Referrers per page (`Link` to the next one).
    pub page_size: usize,
    /// Honour `If-Match` / `If-None-Match` on manifest PUTs (412 when they do not hold).
    pub etag_conditions: bool,
    /// Answer upload `Location`s as absolute URLs (else relative), with a query either way.
    pub absolute_location: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            referrers_api: false,
            filter: false,
            page_size: 100,
            etag_conditions: false,
            absolute_location: false,
        }
    }
}

#[derive(Default)]
pub struct Store {
    pub blobs: HashMap<String, Vec<u8>>,
    /// `repo@digest` → (content type, bytes)
    pub manifests: HashMap<String, (String, Vec<u8>)>,
    /// `repo:tag` → digest
    pub tags: HashMap<String, String>,
    uploads: usize,
}

impl Store {
    /// Store a manifest under its digest (and `tag`), as a PUT would.
    pub fn put_manifest(
        &mut self,
        repo: &str,
        tag: Option<&str>,
        content_type: &str,
        bytes: &[u8],
    ) -> String {
        let digest = sha256(bytes);
        self.manifests.insert(
            format!("{repo}@{digest}"),
            (content_type.to_owned(), bytes.to_vec()),
        );
        if let Some(t) = tag {
            self.tags.insert(format!("{repo}:{t}"), digest.clone());
        }
        digest
    }

    /// The manifest a tag or digest names.
    pub fn manifest(&self, repo: &str, reference: &str) -> Option<(String, String, Vec<u8>)> {
        let digest = if reference.starts_with("sha256:") {
            reference.to_owned()
        } else {
            self.tags.get(&format!("{repo}:{reference}"))?.clone()
        };
        let (ct, bytes) = self.manifests.get(&format!("{repo}@{digest}"))?;
        Some((digest, ct.clone(), bytes.clone()))
    }

    /// The referrers of `subject` in `repo`, as the referrers API lists them, by digest.
    pub fn referrers(&self, repo: &str, subject: &str) -> Vec<serde_json::Value> {
        let prefix = format!("{repo}@");
        let mut out: Vec<(String, serde_json::Value)> = self
            .manifests
            .iter()
            .filter_map(|(k, (ct, bytes))| {
                let digest = k.strip_prefix(&prefix)?;
                let m: serde_json::Value = serde_json::from_slice(bytes).ok()?;
                (m["subject"]["digest"] == subject).then(|| {
                    let artifact_type = m
                        .get("artifactType")
                        .cloned()
                        .unwrap_or_else(|| m["config"]["mediaType"].clone());
                    let mut d = serde_json::json!({
                        "mediaType": ct,
                        "digest": digest,
                        "size": bytes.len(),
                        "artifactType": artifact_type,
                    });
                    if let Some(a) = m.get("annotations") {
                        d["annotations"] = a.clone();
                    }
                    (digest.to_owned(), d)
                })
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.into_iter().map(|(_, d)| d).collect()
    }
}

pub type Hook = dyn Fn(&Request, &mut Store, &str) -> Option<Reply> + Send + Sync;

pub struct OciServer {
    pub server: FaultServer,
    pub store: Arc<Mutex<Store>>,
}

impl OciServer {
    pub fn addr(&self) -> &str {
        &self.server.addr
    }

    pub fn start(options: Options) -> Self {
        Self::with_hook(options, |_, _, _| None)
    }

    /// Start with `hook`, which sees each request (and the server's address) before the
    /// registry answers it.
    pub fn with_hook(
        options: Options,
        hook: impl Fn(&Request, &mut Store, &str) -> Option<Reply> + Send + Sync + 'static,
    ) -> Self {
        let store: Arc<Mutex<Store>> = Arc::default();
        let hook: Arc<Hook> = Arc::new(hook);
        let addr_cell: Arc<Mutex<String>> = Arc::default();
        let server = {
            let store = store.clone();
            let addr_cell = addr_cell.clone();
            FaultServer::start(Duration::ZERO, move |req| {
                let addr = addr_cell.lock().unwrap().clone();
                let mut s = store.lock().unwrap();
                if let Some(r) = hook(req, &mut s, &addr) {
                    return r;
                }
                route(&options, &mut s, req, &addr)
            })
        };
        addr_cell.lock().unwrap().clone_from(&server.addr);
        Self { server, store }
    }
}

fn reply(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Reply {
    Reply::Full {
        status,
        headers,
        body,
    }
}

fn error(status: u16, code: &str) -> Reply {
    reply(
        status,
        vec![("Content-Type".into(), "application/json".into())],
        format!(r#"{{"errors":[{{"code":"{code}","message":"test"}}]}}"#).into_bytes(),
    )
}

fn query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 3 <= b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    s.replace('%', "%25")
        .replace('+', "%2B")
        .replace('&', "%26")
}

/// The repository and the rest of a `/v2/<repo>/<kind>/<rest>` path.
fn split<'a>(path: &'a str, kind: &str) -> Option<(&'a str, &'a str)> {
    let p = path.strip_prefix("/v2/")?;
    // The last one: a repository may be named `x/blobs`; a reference holds no `/`.
    let i = p.rfind(&format!("/{kind}/"))?;
    Some((&p[..i], &p[i + kind.len() + 2..]))
}

fn route(o: &Options, s: &mut Store, req: &Request, addr: &str) -> Reply {
    let (path, q) = req.path.split_once('?').unwrap_or((&req.path, ""));
    let q = query(q);
    if path == "/v2/" {
        return Reply::ok("{}", &[]);
    }
    if let Some((repo, rest)) = split(path, "blobs") {
        if rest == "uploads/" && req.method == "POST" {
            s.uploads += 1;
            let loc = format!(
                "/v2/{repo}/blobs/uploads/u{}?_state=s{}",
                s.uploads, s.uploads
            );
            let loc = if o.absolute_location {
                format!("http://{addr}{loc}")
            } else {
                loc
            };
            return reply(202, vec![("Location".into(), loc)], Vec::new());
        }
        if rest.starts_with("uploads/") && req.method == "PUT" {
            let Some(digest) = q.get("digest") else {
                return error(400, "DIGEST_INVALID");
            };
            if !q.contains_key("_state") {
                return error(400, "BLOB_UPLOAD_INVALID");
            }
            if &sha256(&req.body) != digest {
                return error(400, "DIGEST_INVALID");
            }
            s.blobs.insert(digest.clone(), req.body.clone());
            return reply(
                201,
                vec![
                    ("Location".into(), format!("/v2/{repo}/blobs/{digest}")),
                    ("Docker-Content-Digest".into(), digest.clone()),
                ],
                Vec::new(),
            );
        }
        return match s.blobs.get(rest) {
            Some(b) => reply(
                200,
                vec![("Docker-Content-Digest".into(), rest.to_owned())],
                b.clone(),
            ),
            None => error(404, "BLOB_UNKNOWN"),
        };
    }
    if let Some((repo, reference)) = split(path, "manifests") {
        if req.method == "PUT" {
            let tag = (!reference.starts_with("sha256:")).then_some(reference);
            if let Some(t) = tag
                && o.etag_conditions
            {
                let current = s
                    .tags
                    .get(&format!("{repo}:{t}"))
                    .map(|d| format!("\"{d}\""));
                if let Some(m) = req.header("if-match")
                    && current.as_deref() != Some(m)
                {
                    return error(412, "PRECONDITION_FAILED");
                }
                if req.header("if-none-match") == Some("*") && current.is_some() {
                    return error(412, "PRECONDITION_FAILED");
                }
            }
            let ct = req.header("content-type").unwrap_or("").to_owned();
            let digest = sha256(&req.body);
            if tag.is_none() && reference != digest {
                return error(400, "DIGEST_INVALID");
            }
            let m: serde_json::Value = match serde_json::from_slice(&req.body) {
                Ok(m) => m,
                Err(_) => return error(400, "MANIFEST_INVALID"),
            };
            if m["mediaType"].as_str().is_some_and(|t| t != ct) {
                return error(400, "MANIFEST_INVALID");
            }
            s.put_manifest(repo, tag, &ct, &req.body);
            let mut headers = vec![
                ("Location".into(), format!("/v2/{repo}/manifests/{digest}")),
                ("Docker-Content-Digest".into(), digest),
            ];
            if o.referrers_api
                && let Some(subject) = m["subject"]["digest"].as_str()
            {
                headers.push(("OCI-Subject".into(), subject.to_owned()));
            }
            return reply(201, headers, Vec::new());
        }
        return match s.manifest(repo, reference) {
            Some((digest, ct, bytes)) => reply(
                200,
                vec![
                    ("Content-Type".into(), ct),
                    ("Docker-Content-Digest".into(), digest.clone()),
                    ("ETag".into(), format!("\"{digest}\"")),
                ],
                bytes,
            ),
            None => error(404, "MANIFEST_UNKNOWN"),
        };
    }
    if let Some((repo, subject)) = split(path, "referrers")
        && o.referrers_api
    {
        let mut all = s.referrers(repo, subject);
        let mut headers = vec![("Content-Type".into(), OCI_INDEX.to_owned())];
        if o.filter
            && let Some(t) = q.get("artifactType")
        {
            all.retain(|d| d["artifactType"] == t.as_str());
            headers.push(("OCI-Filters-Applied".into(), "artifactType".into()));
        }
        let start: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
        let page: Vec<_> = all.iter().skip(start).take(o.page_size).cloned().collect();
        if start + o.page_size < all.len() {
            let mut next = format!(
                "/v2/{repo}/referrers/{subject}?page={}",
                start + o.page_size
            );
            if let Some(t) = q.get("artifactType") {
                write!(next, "&artifactType={}", percent_encode(t)).unwrap();
            }
            headers.push(("Link".into(), format!("<{next}>; rel=\"next\"")));
        }
        let body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": page,
        });
        return reply(200, headers, serde_json::to_vec(&body).unwrap());
    }
    error(404, "NOT_FOUND")
}
