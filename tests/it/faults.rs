//! Transport faults, through a small in-process server: retries, throttling, token
//! challenges, missing, truncated and corrupt content, stalls. Every test is time-bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use envaudit::image::{self, ImageError, ResolveOptions, ResolvedImage};
use envaudit::model::{ImageSource, Secret};
use envaudit::registry::{
    CredentialStore, Credentials, HttpRegistry, IntegrityError, RegistryError, TransportPolicy,
};

use crate::registry::run;
use crate::support::TestEnv;
use crate::support::fault::{FaultServer, Reply, Request};
use crate::support::image::{self as img, BuiltImage, Spec};

fn policy() -> TransportPolicy {
    TransportPolicy {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(400),
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(3),
        insecure_registries: Vec::new(),
    }
}

fn image() -> BuiltImage {
    img::build(&Spec {
        label: "fault",
        layers: vec![
            (img::Compression::Gzip, vec![("a", b"layer a")]),
            (img::Compression::Zstd, vec![("b", b"layer b")]),
        ],
        ..Spec::default()
    })
}

/// What a fault handler may do with a request before the image is served normally.
type Fault = dyn Fn(&Request, usize) -> Option<Reply> + Send + Sync;

/// A registry serving `image` as `repo:tag` (and by digest), with `fault` deciding first;
/// `fault` gets the request and how many times its path was asked for before.
fn serve(
    image: BuiltImage,
    fault: impl Fn(&Request, usize) -> Option<Reply> + Send + Sync + 'static,
) -> FaultServer {
    let fault: Arc<Fault> = Arc::new(fault);
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    FaultServer::start(Duration::ZERO, move |req| {
        let n = {
            let mut s = seen.lock().unwrap();
            let e = s.entry(req.path.clone()).or_insert(0);
            *e += 1;
            *e - 1
        };
        if let Some(r) = fault(req, n) {
            return r;
        }
        route(&image, req)
    })
}

fn route(image: &BuiltImage, req: &Request) -> Reply {
    let path = req.path.split('?').next().unwrap_or("");
    if path == "/v2/" {
        return Reply::ok("{}", &[]);
    }
    if let Some(reference) = path.strip_prefix("/v2/fault/img/manifests/")
        && (reference == "1" || reference == image.manifest_digest)
    {
        {
            return Reply::ok(
                image.manifest.clone(),
                &[
                    ("Content-Type", &image.manifest_media_type),
                    ("Docker-Content-Digest", &image.manifest_digest),
                ],
            );
        }
    }
    if let Some(digest) = path.strip_prefix("/v2/fault/img/blobs/") {
        if digest == image.config_digest {
            return Reply::ok(image.config.clone(), &[]);
        }
        if let Some(l) = image.layers.iter().find(|l| l.digest == digest) {
            return Reply::ok(l.bytes.clone(), &[]);
        }
    }
    Reply::status(404, &[])
}

fn resolve_with(
    server: &FaultServer,
    policy: TransportPolicy,
    creds: CredentialStore,
    verify: bool,
) -> Result<ResolvedImage, ImageError> {
    let source: ImageSource = format!("{}/fault/img:1", server.addr).parse().unwrap();
    run(Duration::from_secs(20), async move {
        let reg = HttpRegistry::new(policy, creds).unwrap();
        let i = image::open(&reg, &source, &ResolveOptions::default()).await?;
        if verify {
            image::verify_layers(&reg, &i).await?;
        }
        Ok(i.resolved)
    })
}

fn resolve(server: &FaultServer) -> Result<ResolvedImage, ImageError> {
    resolve_with(server, policy(), CredentialStore::anonymous(), true)
}

fn manifest_path(image: &BuiltImage) -> (String, String) {
    (
        "/v2/fault/img/manifests/1".to_owned(),
        format!("/v2/fault/img/blobs/{}", image.config_digest),
    )
}

#[test]
fn a_server_error_is_retried_until_success() {
    let i = image();
    let (manifest, config) = manifest_path(&i);
    let want = i.config_digest.clone();
    let (m, c) = (manifest.clone(), config.clone());
    let server = serve(i, move |req, n| {
        (n == 0 && (req.path == m || req.path == c)).then(|| Reply::status(500, &[]))
    });
    let r = resolve(&server).unwrap();
    assert_eq!(r.config.digest.to_string(), want);
    assert_eq!(server.hits(&manifest), 2);
    assert_eq!(server.hits(&config), 2);
}

#[test]
fn throttling_waits_as_long_as_retry_after_says() {
    let i = image();
    let (manifest, _) = manifest_path(&i);
    let m = manifest.clone();
    let server = serve(i, move |req, n| {
        (n == 0 && req.path == m).then(|| Reply::status(429, &[("Retry-After", "1")]))
    });
    let start = Instant::now();
    resolve(&server).unwrap();
    let took = start.elapsed();
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(server.hits(&manifest), 2);
}

#[test]
fn a_retry_after_beyond_the_limit_is_an_error_not_a_wait() {
    let server = serve(image(), |req, _| {
        req.path
            .contains("/manifests/")
            .then(|| Reply::status(503, &[("Retry-After", "3600")]))
    });
    let start = Instant::now();
    let e = resolve(&server).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(
            e,
            ImageError::Registry(RegistryError::RetryAfterTooLong { .. })
        ),
        "{e}"
    );
}

#[test]
fn retries_stop_after_the_policy_attempts() {
    let i = image();
    let (manifest, _) = manifest_path(&i);
    let server = serve(i, |req, _| {
        req.path
            .contains("/manifests/")
            .then(|| Reply::status(502, &[]))
    });
    let e = resolve(&server).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "`http://{}/v2/fault/img/manifests/1` still answered HTTP 502 after 3 attempts",
            server.addr
        )
    );
    assert_eq!(server.hits(&manifest), 3);
}

#[test]
fn a_missing_manifest_or_blob_is_not_found() {
    let server = serve(image(), |req, _| {
        req.path
            .contains("/manifests/")
            .then(|| Reply::status(404, &[]))
    });
    let e = resolve(&server).unwrap_err();
    assert!(
        matches!(
            e,
            ImageError::Registry(RegistryError::ManifestNotFound { .. })
        ),
        "{e}"
    );

    let i = image();
    let (_, config) = manifest_path(&i);
    let digest = i.config_digest.clone();
    let server = serve(i, move |req, _| {
        (req.path == config).then(|| Reply::status(404, &[]))
    });
    let e = resolve(&server).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("blob `{digest}` not found in `{}/fault/img`", server.addr)
    );
}

#[test]
fn a_blob_whose_bytes_do_not_match_names_both_digests() {
    let i = image();
    let (_, config) = manifest_path(&i);
    let expected = i.config_digest.clone();
    let mut tampered = i.config.clone();
    let last = tampered.len() - 2;
    tampered[last] = b' ';
    let actual = img::sha256(&tampered);
    let server = serve(i, move |req, _| {
        (req.path == config).then(|| Reply::ok(tampered.clone(), &[]))
    });
    let e = resolve(&server).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("digest mismatch for blob: expected `{expected}`, got `{actual}`")
    );
}

#[test]
fn a_layer_whose_bytes_do_not_match_fails_while_streaming() {
    let i = image();
    let layer = format!("/v2/fault/img/blobs/{}", i.layers[1].digest);
    let mut tampered = i.layers[1].bytes.clone();
    tampered[0] ^= 1;
    let server = serve(i, move |req, _| {
        (req.path == layer).then(|| Reply::ok(tampered.clone(), &[]))
    });
    // Resolution reads no layer; streaming them does.
    assert!(resolve_with(&server, policy(), CredentialStore::anonymous(), false).is_ok());
    let e = resolve(&server).unwrap_err();
    assert!(
        matches!(
            e,
            ImageError::Integrity(IntegrityError::DigestMismatch { .. })
        ),
        "{e}"
    );
}

#[test]
fn a_truncated_blob_is_an_error() {
    let i = image();
    let layer = format!("/v2/fault/img/blobs/{}", i.layers[0].digest);
    let digest = i.layers[0].digest.clone();
    let bytes = i.layers[0].bytes.clone();
    let server = serve(i, move |req, _| {
        (req.path == layer).then(|| Reply::Truncated {
            body: bytes.clone(),
            send: bytes.len() / 2,
        })
    });
    let e = resolve(&server).unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&digest), "{text}");
    assert!(
        matches!(
            e,
            ImageError::LayerRead { .. } | ImageError::Integrity(IntegrityError::Truncated { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn a_manifest_that_contradicts_its_docker_content_digest_is_refused() {
    let i = image();
    let claimed = img::sha256(b"something else");
    let body = i.manifest.clone();
    let mt = i.manifest_media_type.clone();
    let c = claimed.clone();
    let server = serve(i, move |req, _| {
        req.path.contains("/manifests/").then(|| {
            Reply::ok(
                body.clone(),
                &[("Content-Type", &mt), ("Docker-Content-Digest", &c)],
            )
        })
    });
    let e = resolve(&server).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("digest mismatch for manifest `1`"),
        "{text}"
    );
    assert!(text.contains(&format!("expected `{claimed}`")), "{text}");
}

#[test]
fn a_stalled_server_times_out() {
    let server = serve(image(), |req, _| {
        req.path
            .contains("/manifests/")
            .then(|| Reply::Stall(Duration::from_secs(10)))
    });
    let start = Instant::now();
    let e = resolve(&server).unwrap_err();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(
        matches!(
            e,
            ImageError::Registry(RegistryError::Timeout { attempts: 3, .. })
        ),
        "{e:?}"
    );
}

// --- token challenges --------------------------------------------------------------------

const TOKEN: &str = "tok-SECRET-9f8e7d6c";
const PASSWORD: &str = "fault-Pw-5150";

/// A registry that wants a bearer token from its `/token` endpoint; with `basic`, the
/// endpoint wants those credentials.
fn token_server(basic: Option<(&'static str, &'static str)>) -> FaultServer {
    token_server_answering(basic, "token")
}

/// As [`token_server`], the token under `field` (`token`, or `access_token` as Azure
/// Container Registry answers).
fn token_server_answering(
    basic: Option<(&'static str, &'static str)>,
    field: &'static str,
) -> FaultServer {
    let addr_cell: Arc<Mutex<String>> = Arc::default();
    let cell = addr_cell.clone();
    let server = serve(image(), move |req, _| {
        let addr = cell.lock().unwrap().clone();
        let challenge = format!(
            r#"Bearer realm="http://{addr}/token",service="fault-registry",scope="repository:fault/img:pull""#
        );
        if req.path.starts_with("/token") {
            if let Some((u, p)) = basic {
                use base64::Engine as _;
                let want = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
                );
                if req.header("authorization") != Some(want.as_str()) {
                    return Some(Reply::Full {
                        status: 401,
                        headers: vec![],
                        body: br#"{"details":"incorrect username or password"}"#.to_vec(),
                    });
                }
            }
            if !req.path.contains("scope=repository%3Afault%2Fimg%3Apull")
                && !req.path.contains("scope=repository:fault/img:pull")
            {
                return Some(Reply::status(400, &[]));
            }
            return Some(Reply::ok(format!(r#"{{"{field}":"{TOKEN}"}}"#), &[]));
        }
        let bearer = format!("Bearer {TOKEN}");
        (req.header("authorization") != Some(bearer.as_str()))
            .then(|| Reply::status(401, &[("WWW-Authenticate", &challenge)]))
    });
    addr_cell.lock().unwrap().clone_from(&server.addr);
    server
}

#[test]
fn an_anonymous_token_challenge_is_answered() {
    let server = token_server(None);
    let r = resolve(&server).unwrap();
    assert_eq!(r.layers.len(), 2);
    let tokens: Vec<Request> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/token"))
        .collect();
    assert_eq!(tokens.len(), 1, "one handshake for the repository");
    assert!(tokens[0].header("authorization").is_none());
}

#[test]
fn a_token_challenge_with_credentials_sends_them_to_the_token_endpoint() {
    let server = token_server(Some(("robot", PASSWORD)));
    let creds = CredentialStore::anonymous().with_explicit(Credentials {
        username: "robot".into(),
        password: Secret::new(PASSWORD),
        origin: "test".into(),
    });
    let r = resolve_with(&server, policy(), creds, true).unwrap();
    assert_eq!(r.layers.len(), 2);

    let e = resolve(&server).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot get a token for `fault/img`"),
        "{e}"
    );
}

#[test]
fn an_acr_style_refresh_token_is_exchanged_with_the_null_guid_user() {
    const NULL_GUID: &str = "00000000-0000-0000-0000-000000000000";
    let server = token_server_answering(Some((NULL_GUID, PASSWORD)), "access_token");
    let env = TestEnv::new();
    let r = format!("{}/fault/img:1", server.addr);
    let (code, all) = cli(
        &env,
        &["resolve", "--username", NULL_GUID, "--password-stdin", &r],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{all}");
    assert!(!all.contains(PASSWORD) && !all.contains(TOKEN), "{all}");
}

fn cli(env: &TestEnv, args: &[&str], password: &str) -> (i32, String) {
    use std::io::Write as _;
    let mut child = env
        .envaudit()
        .args(args)
        .env_remove("REGISTRY_AUTH_FILE")
        .env("DOCKER_CONFIG", env.path("none"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(password.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn passwords_and_tokens_never_reach_any_output() {
    let server = token_server(Some(("robot", PASSWORD)));
    let env = TestEnv::new();
    let r = format!("{}/fault/img:1", server.addr);
    let secrets = [PASSWORD, TOKEN, "wrong-Pw-777"];
    let mut outputs = Vec::new();
    for format in ["table", "json"] {
        let (code, all) = cli(
            &env,
            &[
                "resolve",
                "--username",
                "robot",
                "--password-stdin",
                "--verify-layers",
                "--format",
                format,
                &r,
            ],
            PASSWORD,
        );
        assert_eq!(code, 0, "{all}");
        outputs.push(all);
        let (code, all) = cli(
            &env,
            &[
                "resolve",
                "--username",
                "robot",
                "--password-stdin",
                "--format",
                format,
                &r,
            ],
            "wrong-Pw-777",
        );
        assert_eq!(code, 2, "{all}");
        assert!(all.contains("cannot get a token"), "{all}");
        outputs.push(all);
    }
    // A failure after authentication (the token was used): still nothing secret.
    let missing = format!("{}/fault/img:2", server.addr);
    let (code, all) = cli(
        &env,
        &[
            "resolve",
            "--username",
            "robot",
            "--password-stdin",
            &missing,
        ],
        PASSWORD,
    );
    assert_eq!(code, 2, "{all}");
    outputs.push(all);
    for out in &outputs {
        for s in secrets {
            assert!(!out.contains(s), "`{s}` leaked into:\n{out}");
        }
    }
}
