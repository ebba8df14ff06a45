//! Image-source benchmarks, run with `scripts/bench-registry` (or
//! `cargo bench --bench registry`); not part of the test suite. Prints a Markdown table of
//! one run for `docs/performance.md`.
//!
//! 1. One warm resolve against a local `docker-registry`, against a `curl` GET of the same
//!    manifest and `skopeo inspect --format '{{.Digest}}'` (medians of several runs, each
//!    a fresh process).
//! 2. 100 references in 100 repositories against a server adding 20 ms per request,
//!    against one reference.
//! 3. Streaming (and verifying) a 1 GiB layer: peak RSS from `/usr/bin/time -v`.
#![allow(dead_code, clippy::print_stdout, clippy::print_stderr)]

// The integration tests' helpers, at the crate root as they expect (`super::http`).
mod support;

#[path = "../tests/it/support/fault.rs"]
mod fault;
#[path = "../tests/it/support/http.rs"]
mod http;
#[path = "../tests/it/support/image.rs"]
mod image;
#[path = "../tests/it/support/registry.rs"]
mod registry;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fault::{FaultServer, Reply};
use image::{self as img, Compression, Spec};
use sha2::Digest as _;
use support::{Row, median, ms, print_table};

const BIN: &str = env!("CARGO_BIN_EXE_envaudit");
const ACCEPT: &str = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

fn run_ok(program: &str, args: &[&str]) -> Duration {
    support::run_timed(Command::new(program).args(args).stdout(Stdio::null())).0
}

fn warm_resolve(reps: usize, rows: &mut Vec<Row>) {
    let reg = registry::plain();
    let image = img::build(&Spec {
        label: "bench-warm",
        layers: vec![
            (Compression::Gzip, vec![("etc/os-release", b"ID=bench\n")]),
            (Compression::Zstd, vec![("opt/app", b"app")]),
        ],
        ..Spec::default()
    });
    reg.push_image("bench/warm", "1", &image);
    let reference = format!("{}/bench/warm:1", reg.addr);
    let url = format!("http://{}/v2/bench/warm/manifests/1", reg.addr);
    let docker = format!("docker://{reference}");
    let envaudit = || run_ok(BIN, &["resolve", &reference]);
    let curl = || run_ok("curl", &["-sf", "-o", "/dev/null", "-H", ACCEPT, &url]);
    let skopeo = || {
        run_ok(
            "skopeo",
            &[
                "inspect",
                "--tls-verify=false",
                "--format",
                "{{.Digest}}",
                &docker,
            ],
        )
    };
    // Warm: caches, the registry's first-request work, the page cache for the binaries.
    for _ in 0..3 {
        envaudit();
        curl();
        skopeo();
    }
    let e = median(reps, envaudit);
    let c = median(reps, curl);
    let s = median(reps, skopeo);
    eprintln!("warm resolve: envaudit {e:?}, curl {c:?}, skopeo {s:?}");
    let r = e.as_secs_f64() / c.as_secs_f64();
    rows.push(Row {
        target: "warm resolve ≤ 1.2× `curl` GET of the manifest".into(),
        measured: format!("envaudit {}, curl {}", ms(e), ms(c)),
        ratio: format!("{r:.2}×"),
        pass: r <= 1.2,
    });
    let r = e.as_secs_f64() / s.as_secs_f64();
    rows.push(Row {
        target: "warm resolve faster than `skopeo inspect --format '{{.Digest}}'`".into(),
        measured: format!("envaudit {}, skopeo {}", ms(e), ms(s)),
        ratio: format!("{r:.2}×"),
        pass: r < 1.0,
    });
}

fn many_references(reps: usize, rows: &mut Vec<Row>) {
    let image = img::build(&Spec {
        label: "bench-many",
        ..Spec::default()
    });
    let (manifest, mt, config, config_digest) = (
        image.manifest.clone(),
        image.manifest_media_type.clone(),
        image.config.clone(),
        image.config_digest.clone(),
    );
    let server = FaultServer::start(Duration::from_millis(20), move |req| {
        let p = req.path.as_str();
        if p == "/v2/" {
            return Reply::ok("{}", &[]);
        }
        if p.ends_with("/manifests/1") {
            return Reply::ok(manifest.clone(), &[("Content-Type", &mt)]);
        }
        if p.ends_with(&format!("/blobs/{config_digest}")) {
            return Reply::ok(config.clone(), &[]);
        }
        Reply::status(404, &[])
    });
    let refs: Vec<String> = (0..100)
        .map(|n| format!("{}/bench/r{n}:1", server.addr))
        .collect();
    let mut one = vec!["resolve"];
    one.push(&refs[0]);
    let mut all = vec!["resolve"];
    all.extend(refs.iter().map(String::as_str));
    run_ok(BIN, &all);
    let t1 = median(reps, || run_ok(BIN, &one));
    let t100 = median(reps, || run_ok(BIN, &all));
    eprintln!("100 references: one {t1:?}, hundred {t100:?}");
    let r = t100.as_secs_f64() / t1.as_secs_f64();
    rows.push(Row {
        target: "100 references in 100 repositories, +20 ms per request: < 3× one".into(),
        measured: format!("one {}, 100 {}", ms(t1), ms(t100)),
        ratio: format!("{r:.2}×"),
        pass: r < 3.0,
    });
}

/// A deterministic 1 GiB-plus tar: one file of pseudo-random bytes.
struct BigTar {
    header: Vec<u8>,
    data_left: u64,
    tail_left: usize,
    state: u64,
    pos_in_header: usize,
}

const DATA: u64 = 1 << 30;

impl BigTar {
    fn new() -> Self {
        let mut h = tar::Header::new_ustar();
        h.set_path("big.bin").unwrap();
        h.set_size(DATA);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        Self {
            header: h.as_bytes().to_vec(),
            data_left: DATA,
            tail_left: 1024,
            state: 0x9e37_79b9_7f4a_7c15,
            pos_in_header: 0,
        }
    }

    fn len() -> u64 {
        512 + DATA + 1024
    }
}

impl Read for BigTar {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos_in_header < self.header.len() {
            let n = (self.header.len() - self.pos_in_header).min(buf.len());
            buf[..n].copy_from_slice(&self.header[self.pos_in_header..self.pos_in_header + n]);
            self.pos_in_header += n;
            return Ok(n);
        }
        if self.data_left > 0 {
            let avail = usize::try_from(self.data_left)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            let n = avail & !7;
            let n = if n == 0 { avail } else { n };
            for chunk in buf[..n].chunks_mut(8) {
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                let b = self.state.to_le_bytes();
                chunk.copy_from_slice(&b[..chunk.len()]);
            }
            self.data_left -= n as u64;
            return Ok(n);
        }
        let n = self.tail_left.min(buf.len());
        buf[..n].fill(0);
        self.tail_left -= n;
        Ok(n)
    }
}

#[allow(
    clippy::cast_precision_loss,
    reason = "MiB and MiB/s shown to one decimal in a report"
)]
fn big_layer(rows: &mut Vec<Row>) {
    let reg = registry::plain();
    let mut h = sha2::Sha256::new();
    let mut r = BigTar::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let digest = format!("sha256:{}", envaudit::model::to_hex(&h.finalize()));
    reg.push_blob_from("bench/big", &digest, &mut BigTar::new(), BigTar::len());
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [digest]},
    }))
    .unwrap();
    let config_digest = reg.push_blob("bench/big", &config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": BigTar::len()}],
    }))
    .unwrap();
    reg.push_manifest(
        "bench/big",
        "1",
        "application/vnd.oci.image.manifest.v1+json",
        &manifest,
    );
    let reference = format!("{}/bench/big:1", reg.addr);
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-v", BIN, "resolve", "--verify-layers", &reference])
        .stdout(Stdio::null())
        .output()
        .expect("/usr/bin/time (Debian package `time`)");
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let kib: u64 = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .expect("max RSS in /usr/bin/time -v output");
    let mib = kib as f64 / 1024.0;
    let rate = BigTar::len() as f64 / took.as_secs_f64() / f64::from(1 << 20);
    eprintln!("1 GiB layer: peak RSS {mib:.1} MiB, {took:?} ({rate:.0} MiB/s)");
    rows.push(Row {
        target: "stream and verify a 1 GiB layer: peak RSS < 64 MiB".into(),
        measured: format!("{mib:.1} MiB peak RSS ({rate:.0} MiB/s)"),
        ratio: format!("{:.2}× of the limit", mib / 64.0),
        pass: mib < 64.0,
    });
}

fn main() {
    let Some(reps) = support::bench_reps("scripts/bench-registry", 21) else {
        return;
    };
    let mut rows = Vec::new();
    warm_resolve(reps, &mut rows);
    many_references(reps.min(7), &mut rows);
    if std::env::var_os("BENCH_SKIP_BIG").is_none() {
        big_layer(&mut rows);
    }
    print_table(rows);
}
