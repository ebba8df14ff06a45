//! A real registry for the tests: Debian's `docker-registry` (the CNCF distribution
//! registry) on 127.0.0.1, started once per test binary, plus a second one with htpasswd
//! basic auth. Each runs under a small `sh` watchdog holding the read end of a pipe from
//! this process: when the test binary exits, however it exits, the pipe closes and the
//! watchdog kills the registry by PID and removes its storage. No orphans.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::http;

pub const USER: &str = "envaudit-test";
pub const PASSWORD: &str = "pw-Zq7-registry-secret";

pub struct RegistryServer {
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub pid: u32,
    /// Basic credentials the registry requires, if any.
    pub basic: Option<String>,
    /// Its standard output and error: with the access log on ([`with_access_log`]), one
    /// line per request.
    pub log: PathBuf,
    watchdog: Mutex<ChildStdin>,
}

/// The registry without authentication.
pub fn plain() -> &'static RegistryServer {
    static R: OnceLock<RegistryServer> = OnceLock::new();
    R.get_or_init(|| start(false))
}

/// The registry that requires `USER`/`PASSWORD` (htpasswd, bcrypt).
pub fn with_htpasswd() -> &'static RegistryServer {
    static R: OnceLock<RegistryServer> = OnceLock::new();
    R.get_or_init(|| start(true))
}

/// A registry without authentication that logs every request (to count downloads), for the
/// tests that read its log alone.
pub fn with_access_log() -> &'static RegistryServer {
    static R: OnceLock<RegistryServer> = OnceLock::new();
    R.get_or_init(|| start_with(false, true))
}

pub fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(cmd))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start(auth: bool) -> RegistryServer {
    start_with(auth, false)
}

fn start_with(auth: bool, access_log: bool) -> RegistryServer {
    // Missing is a failure, in CI and outside it: scripts/test installs the package.
    let Some(bin) = which("docker-registry") else {
        panic!(
            "`docker-registry` is not installed: run scripts/test (it installs it) or `apt-get install -y docker-registry skopeo apache2-utils`"
        );
    };
    let mut last_log = String::new();
    for _ in 0..3 {
        let dir = tempfile::Builder::new()
            .prefix("envaudit-registry-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: {}\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            !access_log,
            dir.join("data").display()
        );
        let basic = if auth {
            use base64::Engine as _;
            let out = Command::new("htpasswd")
                .args(["-Bbn", USER, PASSWORD])
                .output()
                .expect("`htpasswd` (apache2-utils) must be installed");
            assert!(out.status.success(), "htpasswd failed");
            std::fs::write(dir.join("htpasswd"), &out.stdout).expect("write htpasswd");
            write!(
                config,
                "auth:\n  htpasswd:\n    realm: envaudit-test\n    path: {}\n",
                dir.join("htpasswd").display()
            )
            .unwrap();
            Some(base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}")))
        } else {
            None
        };
        let cfg = dir.join("config.yml");
        std::fs::write(&cfg, config).expect("write config");
        let log = dir.join("registry.log");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#""$1" serve "$2" >"$3" 2>&1 </dev/null & pid=$!; echo $pid; read _; kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$4""#)
            .args(["sh".as_ref(), bin.as_os_str(), cfg.as_os_str(), log.as_os_str(), dir.as_os_str()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sh");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("pid line");
        let pid: u32 = line.trim().parse().expect("registry pid");
        let watchdog = child.stdin.take().expect("stdin");
        // The `sh` child is reaped by nobody; it ends when this process ends.
        std::mem::forget(child);
        let server = RegistryServer {
            addr: addr.clone(),
            pid,
            basic,
            log: log.clone(),
            watchdog: Mutex::new(watchdog),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(r) = http::get(&addr, "/v2/", &[])
                && (r.status == 200 || (auth && r.status == 401))
            {
                return server;
            }
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        last_log = std::fs::read_to_string(&log).unwrap_or_default();
        server.stop();
    }
    panic!("docker-registry did not become ready; its log:\n{last_log}");
}

impl RegistryServer {
    /// Overwrites a stored blob with as many other bytes, behind the registry's back (its
    /// filesystem storage): it is then served under its digest with content that does not
    /// match it, as a damaged disk or a tampered store would. Returns the blob's bytes, for
    /// [`RegistryServer::restore_blob`].
    pub fn corrupt_blob(&self, digest: &str) -> Vec<u8> {
        let path = self.blob_path(digest);
        let original = std::fs::read(&path).expect("a stored blob");
        std::fs::write(&path, vec![b'x'; original.len()]).expect("overwrite");
        original
    }

    /// Puts a blob's bytes back in the registry's storage.
    pub fn restore_blob(&self, digest: &str, bytes: &[u8]) {
        std::fs::write(self.blob_path(digest), bytes).expect("restore");
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.log
            .parent()
            .expect("the registry's folder")
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Stop the registry now (the watchdog kills it and removes its storage).
    pub fn stop(&self) {
        if let Ok(mut w) = self.watchdog.lock() {
            let _ = w.write_all(b"\n");
            let _ = w.flush();
        }
    }

    fn headers<'a>(
        &'a self,
        auth: &'a str,
        extra: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut h: Vec<(&str, &str)> = extra.to_vec();
        if self.basic.is_some() {
            h.push(("Authorization", auth));
        }
        h
    }

    fn auth_value(&self) -> String {
        self.basic
            .as_ref()
            .map(|b| format!("Basic {b}"))
            .unwrap_or_default()
    }

    /// Upload a blob (POST, then PUT with the digest), streamed from `body`.
    pub fn push_blob_from(&self, repo: &str, digest: &str, body: &mut dyn Read, len: u64) {
        let auth = self.auth_value();
        let r = http::request(
            &self.addr,
            "POST",
            &format!("/v2/{repo}/blobs/uploads/"),
            &self.headers(&auth, &[]),
            &mut std::io::empty(),
            0,
        )
        .expect("start upload");
        assert_eq!(
            r.status,
            202,
            "start upload: {}",
            String::from_utf8_lossy(&r.body)
        );
        let loc = r.header("Location").expect("upload location").to_owned();
        let path = match loc.find("/v2/") {
            Some(i) => loc[i..].to_owned(),
            None => loc,
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = http::request(
            &self.addr,
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            &self.headers(&auth, &[("Content-Type", "application/octet-stream")]),
            body,
            len,
        )
        .expect("finish upload");
        assert_eq!(
            r.status,
            201,
            "upload {digest}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }

    pub fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = super::image::sha256(bytes);
        self.push_blob_from(repo, &digest, &mut &bytes[..], bytes.len() as u64);
        digest
    }

    pub fn push_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) {
        let auth = self.auth_value();
        let r = http::request(
            &self.addr,
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            &self.headers(&auth, &[("Content-Type", media_type)]),
            &mut &bytes[..],
            bytes.len() as u64,
        )
        .expect("put manifest");
        assert_eq!(
            r.status,
            201,
            "manifest {reference}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }

    /// Push an image's blobs and its manifest under `reference` (a tag or its digest).
    pub fn push_image(&self, repo: &str, reference: &str, image: &super::image::BuiltImage) {
        for l in &image.layers {
            self.push_blob(repo, &l.bytes);
        }
        self.push_blob(repo, &image.config);
        self.push_manifest(repo, reference, &image.manifest_media_type, &image.manifest);
    }

    /// Push images and an index over them, tagged `tag`.
    pub fn push_index(&self, repo: &str, tag: &str, index: &super::image::BuiltIndex) {
        for (img, _) in &index.images {
            self.push_image(repo, &img.manifest_digest, img);
        }
        self.push_manifest(repo, tag, &index.media_type, &index.bytes);
    }
}
