//! Build benchmarks, run with `scripts/bench build` (or `cargo bench --bench
//! build`); not part of the test suite. Prints a Markdown table of one run for
//! `docs/performance.md`.
//!
//! The cache-hit decision of `envaudit build`: load the definition, hash it, HEAD the
//! content-addressed tag in a local `docker-registry` and report "reused". Compared with the
//! parts a shell script would need for the same decision: `envaudit hash` alone, then
//! `skopeo inspect --raw` or `curl -I` of the tag.
//!
//! And a miss: `envaudit build --lock` of a two-step Dockerfile on a busybox base with real
//! buildah (build, push, digest check, catalog, lock), against the same `buildah build` +
//! `buildah push` run by hand, to show what envaudit adds around the builder.
#![allow(dead_code, clippy::print_stdout, clippy::print_stderr)]

mod support;

#[path = "../tests/it/support/builder.rs"]
mod builder;
#[path = "../tests/it/support/fault.rs"]
mod fault;
#[path = "../tests/it/support/http.rs"]
mod http;
#[path = "../tests/it/support/image.rs"]
mod image;
#[path = "../tests/it/support/registry.rs"]
mod registry;

use std::process::Command;
use std::time::{Duration, Instant};

use image::{self as img, Spec};
use support::{Row, median, ms, print_table};

const BIN: &str = env!("CARGO_BIN_EXE_envaudit");

fn run(program: &str, args: &[&str]) -> (Duration, String) {
    support::run_timed(
        Command::new(program)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env(
                "ENVAUDIT_CACHE_DIR",
                std::env::temp_dir().join("envaudit-bench-build-cache"),
            ),
    )
}

fn main() {
    let Some(reps) = support::bench_reps("scripts/bench build", 21) else {
        return;
    };
    let reg = registry::plain();
    let definition = "fixtures/example/environment.yml";

    // The image a first build would have pushed, under the content-addressed name.
    let (_, hash) = run(BIN, &["hash", definition, "--format", "json"]);
    let hash: serde_json::Value = serde_json::from_str(&hash).expect("hash JSON");
    let hex = &hash["definition_hash"].as_str().expect("hash")["sha256:".len()..][..32];
    let repo = format!("envaudit/env_{hex}");
    let built = img::build(&Spec {
        label: "bench-build-hit",
        ..Spec::default()
    });
    reg.push_image(&repo, "latest", &built);
    let tag = format!("{}/{repo}:latest", reg.addr);

    let build_args = ["build", definition, "--registry", reg.addr.as_str()];
    let (_, out) = run(BIN, &build_args);
    assert!(out.contains("reused"), "not a cache hit: {out}");
    let skopeo_ref = format!("docker://{tag}");
    let skopeo_args = [
        "inspect",
        "--raw",
        "--tls-verify=false",
        skopeo_ref.as_str(),
    ];
    let head_url = format!("http://{}/v2/{repo}/manifests/latest", reg.addr);
    let curl_args = [
        "-sfI",
        "-o",
        "/dev/null",
        "-H",
        "Accept: application/vnd.oci.image.manifest.v1+json",
        head_url.as_str(),
    ];
    for _ in 0..3 {
        run(BIN, &build_args);
        run("skopeo", &skopeo_args);
        run("curl", &curl_args);
    }
    let hit = median(reps, || run(BIN, &build_args).0);
    let hash_only = median(reps, || run(BIN, &["hash", definition]).0);
    let skopeo = median(reps, || run("skopeo", &skopeo_args).0);
    let curl = median(reps, || run("curl", &curl_args).0);

    let (miss, by_hand) = miss(reg, reps.min(7));

    let target = Duration::from_millis(100);
    print_table(vec![
        Row {
            target: "cache-hit decision (`envaudit build`: load, hash, HEAD the tag, report) < 100 ms"
                .into(),
            measured: ms(hit),
            ratio: format!("{:.2}× of the target", hit.as_secs_f64() / target.as_secs_f64()),
            pass: hit < target,
        },
        Row {
            target: "vs. the same decision scripted: `envaudit hash` + `skopeo inspect --raw`".into(),
            measured: format!(
                "build {}, hash {} + skopeo {} = {}",
                ms(hit),
                ms(hash_only),
                ms(skopeo),
                ms(hash_only + skopeo)
            ),
            ratio: format!("{:.2}×", hit.as_secs_f64() / (hash_only + skopeo).as_secs_f64()),
            pass: hit < hash_only + skopeo,
        },
        Row {
            target: "vs. `envaudit hash` + `curl -I` of the tag (the floor)".into(),
            measured: format!(
                "build {}, hash {} + curl {} = {}",
                ms(hit),
                ms(hash_only),
                ms(curl),
                ms(hash_only + curl)
            ),
            ratio: format!("{:.2}×", hit.as_secs_f64() / (hash_only + curl).as_secs_f64()),
            pass: hit.as_secs_f64() < 1.5 * (hash_only + curl).as_secs_f64(),
        },
        Row {
            target: "a miss: `envaudit build --lock` of a 2-step Dockerfile with buildah vs. `buildah build` + `buildah push` by hand".into(),
            measured: format!("envaudit {}, buildah by hand {}", ms(miss), ms(by_hand)),
            ratio: format!("{:.2}×", miss.as_secs_f64() / by_hand.as_secs_f64()),
            pass: miss.as_secs_f64() < 1.5 * by_hand.as_secs_f64(),
        },
    ]);
}

/// Medians of `reps` misses, each a new definition (its `RUN` differs), and of the same
/// build and push by hand.
fn miss(reg: &registry::RegistryServer, reps: usize) -> (Duration, Duration) {
    let b = builder::Buildah::new();
    let base = b.busybox_base(reg, "bench");
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = std::cell::Cell::new(0);
    let next = || {
        counter.set(counter.get() + 1);
        let n = counter.get();
        let env = dir.path().join(format!("env{n}"));
        std::fs::create_dir_all(&env).expect("mkdir");
        std::fs::write(
            env.join("Dockerfile"),
            format!("FROM {base}\nRUN mkdir -p /opt/app && echo {n} > /opt/app/build\n"),
        )
        .expect("write Dockerfile");
        env
    };
    let lockfile = dir.path().join("envaudit.lock");
    let envaudit = median(reps, || {
        let env = next();
        let start = Instant::now();
        let out = b
            .apply(&mut Command::new(BIN))
            .arg("build")
            .arg(&env)
            .args(["--registry", reg.addr.as_str(), "--lock", "--lockfile"])
            .arg(&lockfile)
            .env("ENVAUDIT_CACHE_DIR", dir.path().join("cache"))
            .output()
            .expect("run envaudit");
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        took
    });
    let by_hand = median(reps, || {
        let env = next();
        let tag = format!("{}/bench/by-hand:{}", reg.addr, counter.get());
        let start = Instant::now();
        b.run(&[
            "build",
            "-q",
            "--tls-verify=false",
            "-t",
            &tag,
            &env.display().to_string(),
        ]);
        b.run(&[
            "push",
            "-q",
            "--tls-verify=false",
            &tag,
            &format!("docker://{tag}"),
        ]);
        start.elapsed()
    });
    (envaudit, by_hand)
}
