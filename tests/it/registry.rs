//! Image resolution against a real registry (`docker-registry`), through the library and
//! the `envaudit resolve` command.

use std::time::Duration;

use envaudit::image::{self, ImageError, ResolveOptions, ResolvedImage};
use envaudit::model::{ImageSource, Platform};
use envaudit::registry::{CredentialStore, HttpRegistry, RegistryError, TransportPolicy};

use crate::support::TestEnv;
use crate::support::image::{self as img, Compression, Spec};
use crate::support::registry;

/// Run a future on a fresh runtime, failing the test if it takes longer than `limit`.
pub fn run<F: std::future::Future>(limit: Duration, f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(limit, f)
            .await
            .expect("test took longer than its time bound")
    })
}

fn client() -> HttpRegistry {
    HttpRegistry::new(TransportPolicy::default(), CredentialStore::anonymous()).unwrap()
}

fn resolve(source: &str, platform: Option<&str>) -> Result<ResolvedImage, ImageError> {
    let source: ImageSource = source.parse().unwrap();
    let options = ResolveOptions {
        platform: platform.map(|p| p.parse().unwrap()),
    };
    run(Duration::from_secs(20), async {
        image::resolve(&client(), &source, &options).await
    })
}

fn amd64_arm64(label: &str) -> img::BuiltIndex {
    let amd = img::build(&Spec {
        label,
        layers: vec![
            (Compression::Gzip, vec![("etc/os-release", b"ID=test\n")]),
            (Compression::Zstd, vec![("usr/bin/tool", b"amd64 tool")]),
        ],
        ..Spec::default()
    });
    let arm = img::build(&Spec {
        arch: "arm64",
        variant: Some("v8"),
        label,
        layers: vec![(Compression::Gzip, vec![("usr/bin/tool", b"arm64 tool")])],
        ..Spec::default()
    });
    img::index(vec![amd, arm], false)
}

#[test]
fn multi_arch_index_resolves_to_the_amd64_manifest_by_default() {
    let reg = registry::plain();
    let idx = amd64_arm64("multi");
    reg.push_index("multi/arch", "v1", &idx);
    let amd = &idx.images[0].0;

    let r = resolve(&format!("{}/multi/arch:v1", reg.addr), None).unwrap();
    let index = r.index.as_ref().expect("index recorded");
    assert_eq!(index.digest.to_string(), idx.digest);
    assert_eq!(index.media_type, "application/vnd.oci.image.index.v1+json");
    assert_eq!(index.size, idx.bytes.len() as u64);
    let m = r.manifest.as_ref().unwrap();
    assert_eq!(m.digest.to_string(), amd.manifest_digest);
    assert_eq!(m.media_type, "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(r.config.digest.to_string(), amd.config_digest);
    assert_eq!(r.config.size, amd.config.len() as u64);
    assert_eq!(r.platform, Some(Platform::linux_amd64()));
    let diff_ids: Vec<String> = r.layers.iter().map(|l| l.diff_id.to_string()).collect();
    assert_eq!(diff_ids, amd.diff_ids());
    assert_eq!(
        r.layers
            .iter()
            .map(|l| l.media_type.as_str())
            .collect::<Vec<_>>(),
        [
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.v1.tar+zstd"
        ]
    );
    assert_eq!(r.layers[1].size, amd.layers[1].bytes.len() as u64);
}

#[test]
fn platform_option_picks_the_arm64_manifest() {
    let reg = registry::plain();
    let idx = amd64_arm64("arm");
    reg.push_index("multi/arm", "v1", &idx);
    let arm = &idx.images[1].0;
    for p in ["linux/arm64", "linux/arm64/v8"] {
        let r = resolve(&format!("{}/multi/arm:v1", reg.addr), Some(p)).unwrap();
        assert_eq!(r.manifest.unwrap().digest.to_string(), arm.manifest_digest);
        assert_eq!(r.platform.unwrap().to_string(), "linux/arm64/v8");
    }
    let e = resolve(&format!("{}/multi/arm:v1", reg.addr), Some("linux/s390x")).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("has no `linux/s390x` image (it has `linux/amd64`, `linux/arm64/v8`)"),
        "{e}"
    );
}

#[test]
fn an_arm64_rebuild_changes_the_index_but_not_the_amd64_identity() {
    let reg = registry::plain();
    let first = amd64_arm64("same");
    reg.push_index("multi/rebuild", "v1", &first);
    let before = resolve(&format!("{}/multi/rebuild:v1", reg.addr), None).unwrap();

    let amd = img::build(&Spec {
        label: "same",
        layers: vec![
            (Compression::Gzip, vec![("etc/os-release", b"ID=test\n")]),
            (Compression::Zstd, vec![("usr/bin/tool", b"amd64 tool")]),
        ],
        ..Spec::default()
    });
    let arm = img::build(&Spec {
        arch: "arm64",
        variant: Some("v8"),
        label: "rebuilt",
        layers: vec![(Compression::Gzip, vec![("usr/bin/tool", b"arm64 tool v2")])],
        ..Spec::default()
    });
    let second = img::index(vec![amd, arm], false);
    reg.push_index("multi/rebuild", "v1", &second);
    let after = resolve(&format!("{}/multi/rebuild:v1", reg.addr), None).unwrap();

    assert_ne!(before.index, after.index);
    assert_eq!(before.identity(), after.identity());
}

#[test]
fn a_recompressed_image_has_another_manifest_but_the_same_content() {
    let reg = registry::plain();
    let files: Vec<(&str, &[u8])> = vec![("opt/app/main.py", b"print('hi')\n")];
    let gz = img::build(&Spec {
        layers: vec![(Compression::Gzip, files.clone())],
        label: "recompress",
        ..Spec::default()
    });
    let zst = img::build(&Spec {
        layers: vec![(Compression::Zstd, files)],
        label: "recompress",
        ..Spec::default()
    });
    reg.push_image("recompress/app", "gzip", &gz);
    reg.push_image("recompress/app", "zstd", &zst);
    let a = resolve(&format!("{}/recompress/app:gzip", reg.addr), None)
        .unwrap()
        .identity();
    let b = resolve(&format!("{}/recompress/app:zstd", reg.addr), None)
        .unwrap()
        .identity();
    assert_ne!(a.manifest_digest, b.manifest_digest);
    assert_eq!(a.config_digest, b.config_digest);
    assert!(a.same_content(&b));
}

#[test]
fn docker_schema2_image_and_manifest_list_resolve_with_docker_media_types() {
    let reg = registry::plain();
    let one = img::build(&Spec {
        docker: true,
        label: "docker",
        layers: vec![
            (Compression::Gzip, vec![("a", b"a")]),
            (Compression::None, vec![("b", b"b")]),
        ],
        ..Spec::default()
    });
    reg.push_image("docker/v2s2", "1", &one);
    let r = resolve(&format!("{}/docker/v2s2:1", reg.addr), None).unwrap();
    assert!(r.index.is_none());
    let m = r.manifest.unwrap();
    assert_eq!(
        m.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(m.digest.to_string(), one.manifest_digest);
    assert_eq!(
        r.config.media_type,
        "application/vnd.docker.container.image.v1+json"
    );
    assert_eq!(
        r.layers[0].media_type,
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );

    let list = img::index(
        vec![img::build(&Spec {
            docker: true,
            label: "docker-list",
            ..Spec::default()
        })],
        true,
    );
    reg.push_index("docker/list", "1", &list);
    let r = resolve(&format!("{}/docker/list:1", reg.addr), None).unwrap();
    assert_eq!(
        r.index.unwrap().media_type,
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
}

#[test]
fn a_digest_reference_resolves_the_same_image_as_its_tag() {
    let reg = registry::plain();
    let idx = amd64_arm64("bydigest");
    reg.push_index("by/digest", "v1", &idx);
    let by_tag = resolve(&format!("{}/by/digest:v1", reg.addr), None).unwrap();
    let by_digest = resolve(&format!("{}/by/digest@{}", reg.addr, idx.digest), None).unwrap();
    let both = resolve(&format!("{}/by/digest:v1@{}", reg.addr, idx.digest), None).unwrap();
    assert_eq!(by_tag.identity(), by_digest.identity());
    assert_eq!(by_tag.index, both.index);
    // A platform manifest digest names the image directly.
    let amd = &idx.images[0].0;
    let direct = resolve(
        &format!("{}/by/digest@{}", reg.addr, amd.manifest_digest),
        None,
    )
    .unwrap();
    assert!(direct.index.is_none());
    assert_eq!(direct.identity(), by_tag.identity());
}

#[test]
fn a_missing_tag_is_a_not_found_error() {
    let reg = registry::plain();
    let e = resolve(&format!("{}/nothing/here:v1", reg.addr), None).unwrap_err();
    assert!(
        matches!(
            e,
            ImageError::Registry(RegistryError::ManifestNotFound { .. })
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("manifest `v1` not found in `{}/nothing/here`", reg.addr)
    );
}

#[test]
fn a_single_platform_image_of_another_platform_is_an_error_only_when_asked() {
    let reg = registry::plain();
    let arm = img::build(&Spec {
        arch: "arm64",
        label: "armonly",
        ..Spec::default()
    });
    reg.push_image("arm/only", "1", &arm);
    let r = resolve(&format!("{}/arm/only:1", reg.addr), None).unwrap();
    assert_eq!(r.platform.unwrap().to_string(), "linux/arm64");
    let e = resolve(&format!("{}/arm/only:1", reg.addr), Some("linux/amd64")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the image is `linux/arm64`, not the requested `linux/amd64`"
    );
}

#[test]
fn layers_stream_through_verification() {
    let reg = registry::plain();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let built = img::build(&Spec {
        label: "stream",
        layers: vec![
            (Compression::Zstd, vec![("big.bin", &big)]),
            (Compression::Gzip, vec![("small", b"x")]),
            (Compression::None, vec![("plain", b"y")]),
        ],
        ..Spec::default()
    });
    reg.push_image("stream/layers", "1", &built);
    let source: ImageSource = format!("{}/stream/layers:1", reg.addr).parse().unwrap();
    let read = run(Duration::from_secs(30), async {
        let c = client();
        let i = image::open(&c, &source, &ResolveOptions::default())
            .await
            .unwrap();
        image::verify_layers(&c, &i).await.unwrap()
    });
    let total: usize = built.layers.iter().map(|l| l.bytes.len()).sum();
    assert_eq!(read, total as u64);
}

#[test]
fn several_references_resolve_concurrently_in_order() {
    let reg = registry::plain();
    let mut sources = Vec::new();
    let mut expected = Vec::new();
    for n in 0..12 {
        let label = format!("many-{n}");
        let i = img::build(&Spec {
            label: &label,
            ..Spec::default()
        });
        reg.push_image(&format!("many/r{n}"), "1", &i);
        sources.push(
            format!("{}/many/r{n}:1", reg.addr)
                .parse::<ImageSource>()
                .unwrap(),
        );
        expected.push(i.config_digest.clone());
    }
    sources.push(format!("{}/many/missing:1", reg.addr).parse().unwrap());
    let results = run(Duration::from_secs(30), async {
        image::resolve_all(&client(), &sources, &ResolveOptions::default()).await
    });
    assert_eq!(results.len(), 13);
    for (r, want) in results.iter().zip(&expected) {
        assert_eq!(&r.as_ref().unwrap().config.digest.to_string(), want);
    }
    assert!(results[12].is_err());
}

// --- the command -------------------------------------------------------------------------

fn cli(env: &TestEnv, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut c = env.envaudit();
    c.args(args)
        .env_remove("REGISTRY_AUTH_FILE")
        .env("DOCKER_CONFIG", env.path("no-docker-config"))
        .env("HOME", env.path("home"));
    let out = match stdin {
        Some(s) => {
            use std::io::Write as _;
            let mut child = c
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            // envaudit may exit before it reads (a usage error): a broken pipe is fine.
            let _ = child.stdin.take().unwrap().write_all(s.as_bytes());
            child.wait_with_output().unwrap()
        }
        None => c.output().unwrap(),
    };
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Replace the registry address and digests so snapshots are stable.
fn stable(s: &str, addr: &str) -> String {
    let s = s.replace(addr, "REGISTRY");
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("sha256:") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 7..];
        let n = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        if n == 64 {
            out.push_str("sha256:[digest]");
        } else {
            out.push_str("sha256:");
        }
        rest = &after[n..];
    }
    out.push_str(rest);
    out
}

#[test]
fn resolve_command_prints_the_identity_as_table_and_json() {
    let reg = registry::plain();
    let idx = amd64_arm64("cli");
    reg.push_index("cli/image", "v1", &idx);
    let env = TestEnv::new();
    let r = format!("{}/cli/image:v1", reg.addr);
    let (code, out, err) = cli(&env, &["resolve", &r], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&idx.images[0].0.manifest_digest), "{out}");
    insta::assert_snapshot!("resolve_table", stable(&out, &reg.addr));

    let (code, out, err) = cli(&env, &["resolve", "--format", "json", &r], None);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["images"][0]["index"]["digest"], idx.digest.as_str());
    assert_eq!(
        v["images"][0]["identity"]["manifest_digest"],
        idx.images[0].0.manifest_digest.as_str()
    );
    assert_eq!(
        v["images"][0]["identity"]["diff_ids"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    insta::assert_snapshot!("resolve_json", stable(&out, &reg.addr));
}

#[test]
fn resolve_command_reports_each_failure_and_exits_2() {
    let reg = registry::plain();
    let good = img::build(&Spec {
        label: "cli-fail",
        ..Spec::default()
    });
    reg.push_image("cli/good", "1", &good);
    let env = TestEnv::new();
    let ok = format!("{}/cli/good:1", reg.addr);
    let missing = format!("{}/cli/missing:1", reg.addr);
    let (code, out, err) = cli(&env, &["resolve", &ok, &missing], None);
    assert_eq!(code, 2);
    assert!(out.contains(&good.config_digest), "{out}");
    insta::assert_snapshot!(stable(&err, &reg.addr), @r"
    error: cannot resolve `REGISTRY/cli/missing:1`
      caused by: manifest `1` not found in `REGISTRY/cli/missing`
    ");
}

#[test]
fn a_malformed_reference_points_at_the_bad_part() {
    let env = TestEnv::new();
    let (code, out, err) = cli(&env, &["resolve", "oci:layout:-v1"], None);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    insta::assert_snapshot!(err, @r"
    error: invalid image reference `oci:layout:-v1`: tag must be 1-128 of [A-Za-z0-9_.-], not starting with `.` or `-` (at column 12)
      oci:layout:-v1
                 ^
    ");
}

// --- authentication ----------------------------------------------------------------------

fn push_to_auth_registry(repo: &str) -> (&'static registry::RegistryServer, img::BuiltImage) {
    let reg = registry::with_htpasswd();
    let built = img::build(&Spec {
        label: repo,
        ..Spec::default()
    });
    reg.push_image(repo, "1", &built);
    (reg, built)
}

#[test]
fn basic_auth_registry_refuses_anonymous_and_names_the_fix() {
    let (reg, _) = push_to_auth_registry("auth/anon");
    let env = TestEnv::new();
    let r = format!("{}/auth/anon:1", reg.addr);
    let (code, _, err) = cli(&env, &["resolve", &r], None);
    assert_eq!(code, 2);
    let err = stable(&err, &reg.addr);
    assert!(
        err.contains("`REGISTRY` refused access to `auth/anon` (HTTP 401) without credentials"),
        "{err}"
    );
    assert!(
        err.contains("hint: log in with `docker login REGISTRY`"),
        "{err}"
    );
}

#[test]
fn password_stdin_authenticates_and_never_shows_the_password() {
    let (reg, built) = push_to_auth_registry("auth/stdin");
    let env = TestEnv::new();
    let r = format!("{}/auth/stdin:1", reg.addr);
    let (code, out, err) = cli(
        &env,
        &[
            "resolve",
            "--username",
            registry::USER,
            "--password-stdin",
            "--format",
            "json",
            &r,
        ],
        Some(&format!("{}\n", registry::PASSWORD)),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&built.config_digest));
    assert!(!out.contains(registry::PASSWORD) && !err.contains(registry::PASSWORD));

    // A wrong password fails, and neither password appears anywhere.
    let (code, out, err) = cli(
        &env,
        &[
            "resolve",
            "--username",
            registry::USER,
            "--password-stdin",
            &r,
        ],
        Some("wrong-Pw-4242\n"),
    );
    assert_eq!(code, 2);
    let all = format!("{out}{err}");
    assert!(
        all.contains("with the credentials from `--username`"),
        "{all}"
    );
    for secret in [registry::PASSWORD, "wrong-Pw-4242"] {
        assert!(!all.contains(secret), "{all}");
    }
}

#[test]
fn docker_config_auths_and_registry_auth_file_are_used() {
    use base64::Engine as _;
    let (reg, built) = push_to_auth_registry("auth/files");
    let env = TestEnv::new();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        registry::USER,
        registry::PASSWORD
    ));
    let config = format!(
        r#"{{"auths": {{"http://{}": {{"auth": "{auth}"}}}}}}"#,
        reg.addr
    );
    env.write("docker/config.json", &config);
    env.write("auth.json", &config);
    let r = format!("{}/auth/files:1", reg.addr);

    let out = env
        .envaudit()
        .args(["resolve", &r])
        .env("DOCKER_CONFIG", env.path("docker"))
        .env_remove("REGISTRY_AUTH_FILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&built.config_digest));

    let out = env
        .envaudit()
        .args(["resolve", &r])
        .env("DOCKER_CONFIG", env.path("nowhere"))
        .env("REGISTRY_AUTH_FILE", env.path("auth.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_credential_helper_is_run_as_docker_runs_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let (reg, built) = push_to_auth_registry("auth/helper");
    let env = TestEnv::new();
    let helper = env.write(
        "bin/docker-credential-envaudit-test",
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n[ \"$server\" = \"{}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{}\",\"Secret\":\"{}\"}}' \"$server\"\n",
            reg.addr,
            registry::USER,
            registry::PASSWORD
        ),
    );
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.write(
        "docker/config.json",
        r#"{"auths": {}, "credsStore": "envaudit-test"}"#,
    );
    let path = format!(
        "{}:{}",
        env.path("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = env
        .envaudit()
        .args(["resolve", &format!("{}/auth/helper:1", reg.addr)])
        .env("DOCKER_CONFIG", env.path("docker"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env("PATH", path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&built.config_digest));
    assert!(!stdout.contains(registry::PASSWORD) && !stderr.contains(registry::PASSWORD));
}

#[test]
fn username_for_two_registries_is_refused() {
    let env = TestEnv::new();
    let (code, _, err) = cli(
        &env,
        &[
            "resolve",
            "--username",
            "u",
            "--password-stdin",
            "a.io/x:1",
            "b.io/y:1",
        ],
        Some("pw\n"),
    );
    assert_eq!(code, 2);
    insta::assert_snapshot!(err, @"error: `--username` applies to one registry, and the references name 2: `a.io`, `b.io`");
}

#[test]
fn the_test_registries_run_as_real_processes_known_by_pid() {
    for reg in [registry::plain(), registry::with_htpasswd()] {
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", reg.pid)).unwrap();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(cmdline.contains("docker-registry serve"), "{cmdline}");
    }
}

#[test]
fn skopeo_pushes_a_layout_and_agrees_on_the_digest() {
    let reg = registry::plain();
    let env = TestEnv::new();
    let idx = amd64_arm64("skopeo");
    img::write_layout(
        &env.path("layout"),
        &[img::LayoutEntry::Index(&idx, Some("v1"))],
    );
    let skopeo = |args: &[&str]| {
        let out = std::process::Command::new("skopeo")
            .args(args)
            .output()
            .expect("`skopeo` must be installed (scripts/test installs it)");
        assert!(
            out.status.success(),
            "skopeo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let layout = format!("oci:{}:v1", env.path("layout").display());
    let dest = format!("docker://{}/skopeo/copied:v1", reg.addr);
    skopeo(&[
        "copy",
        "--quiet",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &layout,
        &dest,
    ]);
    let inspected = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--format",
        "{{.Digest}}",
        &dest,
    ]);

    let r = resolve(&format!("{}/skopeo/copied:v1", reg.addr), None).unwrap();
    let local = resolve(&layout, None).unwrap();
    assert_eq!(r.index.as_ref().unwrap().digest.to_string(), inspected);
    assert_eq!(inspected, idx.digest);
    assert_eq!(r.identity(), local.identity());
}
