//! `envaudit build` against the real registry with real buildah: cache hits run no builder,
//! misses build and push, a rebuild shows the drift of a regenerated image before moving the
//! tag, and failures leave the registry and the lockfile alone.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use crate::support::builder::{Buildah, PackageIndex, write_wheel};
use crate::support::registry::{self, RegistryServer};
use crate::support::{TestEnv, http, ok};

const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json";

/// The digest `repo:tag` names in the registry, read without envaudit.
fn tag_digest(reg: &RegistryServer, repo: &str, tag: &str) -> Option<String> {
    let r = http::get(
        &reg.addr,
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Accept", ACCEPT)],
    )
    .expect("registry answers");
    match r.status {
        200 => Some(
            r.header("docker-content-digest")
                .expect("digest header")
                .to_owned(),
        ),
        404 => None,
        s => panic!("registry answered {s}"),
    }
}

/// The labels of the image `repo@digest`, read without envaudit.
fn labels(reg: &RegistryServer, repo: &str, digest: &str) -> serde_json::Value {
    let m = http::get(
        &reg.addr,
        &format!("/v2/{repo}/manifests/{digest}"),
        &[("Accept", ACCEPT)],
    )
    .expect("manifest");
    let m: serde_json::Value = serde_json::from_slice(&m.body).expect("manifest JSON");
    let config = m["config"]["digest"].as_str().expect("config digest");
    let c = http::get(&reg.addr, &format!("/v2/{repo}/blobs/{config}"), &[]).expect("config");
    let c: serde_json::Value = serde_json::from_slice(&c.body).expect("config JSON");
    c["config"]["Labels"].clone()
}

/// The registry, a test folder, buildah, a package index serving demo 1.0 and helper 0.3,
/// and a Docker-based definition that installs what the index serves.
pub(crate) fn docker_setup(
    tag: &str,
) -> (
    &'static RegistryServer,
    TestEnv,
    Buildah,
    PackageIndex,
    std::path::PathBuf,
) {
    let reg = registry::plain();
    let t = TestEnv::new();
    let b = Buildah::new();
    let base = b.busybox_base(reg, tag);
    let index = PackageIndex::start();
    index.publish_packages(&[("demo", "1.0"), ("helper", "0.3")]);
    let env = docker_definition(&t, &base, &index);
    (reg, t, b, index, env)
}

/// A Docker-based definition whose build installs what the package index serves.
fn docker_definition(t: &TestEnv, base: &str, index: &PackageIndex) -> std::path::PathBuf {
    t.write(
        "env/Dockerfile",
        format!(
            "FROM {base}\nRUN wget -q -O /tmp/install.sh {} && sh /tmp/install.sh && rm /tmp/install.sh\n",
            index.url("install.sh")
        ),
    );
    t.path("env")
}

pub(crate) fn build(
    t: &TestEnv,
    b: &Buildah,
    reg: &RegistryServer,
    env: &Path,
    extra: &[&str],
) -> Output {
    let mut c = t.envaudit();
    b.apply(&mut c)
        .arg("build")
        .arg(env)
        .args(["--registry", &reg.addr, "--format", "json"])
        .args(extra);
    c.output().expect("run envaudit")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn repository(report: &serde_json::Value, reg: &RegistryServer) -> String {
    let image = report["image"].as_str().expect("image");
    let rest = image
        .strip_prefix(&format!("{}/", reg.addr))
        .expect("image in the registry");
    rest.rsplit_once(':').expect("a tag").0.to_owned()
}

fn package_version(lockfile: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(lockfile).expect("lockfile");
    text.lines()
        .find(|l| l.contains(&format!("name = \"{name}\"")) && l.contains("version = "))
        .and_then(|l| l.split("version = \"").nth(1))
        .and_then(|v| v.split('"').next())
        .map(str::to_owned)
}

#[test]
fn a_miss_builds_and_pushes_then_a_hit_runs_no_builder() {
    let (reg, t, b, _index, env) = docker_setup("miss-hit");

    let out = build(&t, &b, reg, &env, &["--lock"]);
    let first = json(&out);
    ok(&out);
    assert_eq!(first["outcome"], "built");
    let repo = repository(&first, reg);
    assert!(repo.starts_with("envaudit/env_"), "{repo}");
    let hash = first["definition_hash"].as_str().unwrap();
    assert!(
        repo.ends_with(&hash["sha256:".len()..][..32]),
        "{repo} is named after {hash}"
    );
    let pushed = tag_digest(reg, &repo, "latest").expect("the tag was pushed");
    assert_eq!(first["digest"], pushed.as_str());
    // The definition hash travels with the image.
    assert_eq!(
        labels(reg, &repo, &pushed)["io.envaudit.definition-hash"],
        hash
    );
    // The builder's output went to stderr, the report to stdout.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cache miss") && stderr.contains("STEP 2/"),
        "{stderr}"
    );
    let lockfile = t.path("envaudit.lock");
    assert_eq!(package_version(&lockfile, "demo").as_deref(), Some("1.0"));
    assert_eq!(package_version(&lockfile, "helper").as_deref(), Some("0.3"));

    // Second build of the unchanged definition: no builder on PATH, and none needed.
    let empty = tempfile::tempdir().unwrap();
    let mut c = t.envaudit();
    b.apply(&mut c)
        .env("PATH", empty.path())
        .arg("build")
        .arg(&env)
        .args(["--registry", &reg.addr, "--format", "json"]);
    let out = c.output().unwrap();
    let second = json(&out);
    ok(&out);
    assert_eq!(second["outcome"], "reused");
    assert_eq!(second["digest"], pushed.as_str());
    assert_eq!(second["commands"].as_array().map(Vec::len), Some(0));
    assert_eq!(tag_digest(reg, &repo, "latest"), Some(pushed));
}

#[test]
fn a_rebuild_shows_the_drift_and_moves_the_tag_only_when_allowed() {
    let (reg, t, b, index, env) = docker_setup("rebuild");
    let first = json(&build(&t, &b, reg, &env, &["--lock"]));
    let repo = repository(&first, reg);
    let cached = tag_digest(reg, &repo, "latest").unwrap();
    let lockfile = t.path("envaudit.lock");
    let locked = std::fs::read(&lockfile).unwrap();

    // The index publishes a newer demo; the definition does not change.
    index.publish_packages(&[("demo", "2.0"), ("helper", "0.3")]);

    // Refused: the tag and the lockfile stay; the regenerated image waits at its own tag.
    let out = build(
        &t,
        &b,
        reg,
        &env,
        &["--rebuild", "--fail-on", "drift", "--lock"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let refused = json(&out);
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["definition_hash"], first["definition_hash"]);
    let changes = &refused["drift"]["environments"][0]["packages"];
    assert_eq!(changes.as_array().map(Vec::len), Some(1), "{changes}");
    assert_eq!(changes[0]["name"], "demo");
    assert_eq!(changes[0]["old_version"], "1.0");
    assert_eq!(changes[0]["new_version"], "2.0");
    assert_eq!(
        refused["drift"]["findings"][0]["code"], "silent-drift",
        "{}",
        refused["drift"]
    );
    assert_eq!(tag_digest(reg, &repo, "latest").as_ref(), Some(&cached));
    assert_eq!(std::fs::read(&lockfile).unwrap(), locked);
    let candidate = refused["candidate"].as_str().unwrap();
    let candidate_tag = candidate.rsplit_once(':').unwrap().1;
    assert!(tag_digest(reg, &repo, candidate_tag).is_some());

    // Allowed: the tag moves to the regenerated image; the lockfile keeps both snapshots.
    let out = build(&t, &b, reg, &env, &["--rebuild", "--lock"]);
    let rebuilt = json(&out);
    ok(&out);
    assert_eq!(rebuilt["outcome"], "rebuilt");
    assert_eq!(rebuilt["previous_digest"], cached.as_str());
    let now = tag_digest(reg, &repo, "latest").unwrap();
    assert_ne!(now, cached);
    assert_eq!(rebuilt["digest"], now.as_str());
    assert_eq!(package_version(&lockfile, "demo").as_deref(), Some("2.0"));
    let snapshots: Vec<_> = std::fs::read_dir(t.path("envaudit.lock.d/snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(snapshots.len(), 2, "{snapshots:?}");

    // `diff` of the lockfile against its committed-before state is not needed here: `check`
    // finds the tag in agreement with the lock.
    let out = t
        .envaudit()
        .args(["check", "--lockfile"])
        .arg(&lockfile)
        .output()
        .unwrap();
    ok(&out);
}

/// The generated pip context, built for real: Azure's blind spot reproduced. A newer wheel in
/// the find-links folder does not change the definition hash, so the cached image is reused;
/// a rebuild installs the newer version, and the drift is attributed to the unpinned
/// declaration.
#[test]
fn a_pip_definition_builds_for_real_and_its_rebuild_drift_is_attributed() {
    let reg = registry::plain();
    let t = TestEnv::new();
    let b = Buildah::new();
    let busybox = b.busybox_base(reg, "pip");
    let python = b.python_base(reg, &busybox, "pip");
    write_wheel(&t.path("pip/wheels"), "demo_pkg", "1.0");
    let req = t.write(
        "pip/requirements.txt",
        "--no-index\n--find-links ./wheels\ndemo-pkg\n",
    );
    let out = build(&t, &b, reg, &req, &["--base-image", &python, "--lock"]);
    let first = json(&out);
    ok(&out);
    assert_eq!(first["outcome"], "built");
    assert_eq!(first["context"]["layer"]["type"], "pip");
    assert!(
        first["context"]["base"]
            .as_str()
            .is_some_and(|b| b.contains("/base/python@sha256:")),
        "FROM is pinned by digest: {}",
        first["context"]
    );
    let lockfile = t.path("envaudit.lock");
    assert_eq!(
        package_version(&lockfile, "demo-pkg").as_deref(),
        Some("1.0")
    );
    let lock_text = std::fs::read_to_string(&lockfile).unwrap();
    assert!(
        lock_text
            .lines()
            .any(|l| l.contains("name = \"pip\"") && l.contains("base = true")),
        "pip came with the base image:\n{lock_text}"
    );

    write_wheel(&t.path("pip/wheels"), "demo_pkg", "1.1");
    let again = json(&build(&t, &b, reg, &req, &["--base-image", &python]));
    assert_eq!(again["outcome"], "reused");
    assert_eq!(again["definition_hash"], first["definition_hash"]);

    let out = build(
        &t,
        &b,
        reg,
        &req,
        &["--base-image", &python, "--rebuild", "--lock"],
    );
    let rebuilt = json(&out);
    ok(&out);
    assert_eq!(rebuilt["outcome"], "rebuilt");
    let attributions = &rebuilt["drift"]["environments"][0]["attributions"];
    assert_eq!(
        attributions.as_array().map(Vec::len),
        Some(1),
        "{attributions}"
    );
    assert_eq!(attributions[0]["change"]["name"], "demo-pkg");
    assert_eq!(attributions[0]["change"]["new_version"], "1.1");
    assert_eq!(
        attributions[0]["cause"], "declared-unpinned",
        "{attributions}"
    );
    assert_eq!(
        package_version(&lockfile, "demo-pkg").as_deref(),
        Some("1.1")
    );
}

#[test]
fn a_failing_builder_pushes_nothing_and_leaves_the_lockfile() {
    let reg = registry::plain();
    let t = TestEnv::new();
    let b = Buildah::new();
    let base = b.busybox_base(reg, "failing");
    t.write(
        "env/Dockerfile",
        format!(
            "FROM {base}\nRUN echo resolving-marker-1 && echo resolving-marker-2 && echo 'no matching distribution' >&2 && exit 7\n"
        ),
    );
    let out = build(&t, &b, reg, &t.path("env"), &["--lock"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The error repeats the builder's last lines after its streamed output.
    let error = stderr.split("error: ").nth(1).expect("an error");
    assert!(error.contains("`buildah build` failed"), "{stderr}");
    assert!(error.contains("no matching distribution"), "{stderr}");
    assert!(
        error.contains("no image was tagged and the lockfile is unchanged"),
        "{stderr}"
    );
    assert!(!t.path("envaudit.lock").exists());
    let hash = ok(&t
        .envaudit()
        .args(["hash", "env", "--format", "json"])
        .output()
        .unwrap());
    let hash: serde_json::Value = serde_json::from_str(&hash).unwrap();
    let hex = &hash["definition_hash"].as_str().unwrap()["sha256:".len()..][..32];
    assert_eq!(
        tag_digest(reg, &format!("envaudit/env_{hex}"), "latest"),
        None
    );
}

#[test]
fn an_unreachable_registry_is_a_clear_error() {
    let t = TestEnv::new();
    t.write("requirements.txt", "numpy==1.26.4\n");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = t
        .envaudit()
        .args(["build", "requirements.txt", "--base-image", "python:3.11"])
        .args(["--registry", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot look up"), "{stderr}");
    assert!(
        stderr.contains("hint: check that the registry is running"),
        "{stderr}"
    );
}

#[test]
fn a_missing_builder_names_its_install_command() {
    let reg = registry::plain();
    let t = TestEnv::new();
    t.write("env/Dockerfile", "FROM busybox:1.36\nRUN true\n");
    let empty = tempfile::tempdir().unwrap();
    let out = t
        .envaudit()
        .env("PATH", empty.path())
        .args([
            "build",
            "env",
            "--registry",
            &reg.addr,
            "--builder",
            "podman",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`podman` is not installed"), "{stderr}");
    assert!(stderr.contains("apt-get install -y podman"), "{stderr}");
}

/// The exact command lines of the builders that are not run here.
#[test]
fn dry_run_prints_each_builders_command_lines() {
    let t = TestEnv::new();
    t.write("env/Dockerfile", "FROM busybox:1.36\nRUN true\n");
    let hash = ok(&t
        .envaudit()
        .args(["hash", "env", "--format", "json"])
        .output()
        .unwrap());
    let hash: serde_json::Value = serde_json::from_str(&hash).unwrap();
    let hash = hash["definition_hash"].as_str().unwrap().to_owned();
    let hex = &hash["sha256:".len()..][..32];
    let ctx = t.path("env").display().to_string();
    let lines = |registry: &str, builder: &str, extra: &[&str]| -> Vec<String> {
        let out = t
            .envaudit()
            .args(["build", "env", "--dry-run", "--format", "json"])
            .args(["--registry", registry, "--builder", builder])
            .args(extra)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
        assert_eq!(v["outcome"], "planned");
        v["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                std::iter::once(c["program"].as_str().unwrap().to_owned())
                    .chain(
                        c["args"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|a| a.as_str().unwrap().to_owned()),
                    )
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    let image = format!("ghcr.io/acme/env_{hex}:latest");
    assert_eq!(
        lines("ghcr.io/acme", "docker", &[]),
        [format!(
            "docker buildx build --platform linux/amd64 -f {ctx}/Dockerfile --label io.envaudit.definition-hash={hash} --output type=image,name={image},push=true {ctx}"
        )]
    );
    assert_eq!(
        lines("ghcr.io/acme", "podman", &[]),
        [
            format!(
                "podman build --platform linux/amd64 -f {ctx}/Dockerfile -t {image} --label io.envaudit.definition-hash={hash} {ctx}"
            ),
            format!("podman push --digestfile DIGEST_FILE {image} docker://{image}"),
        ]
    );
    assert_eq!(
        lines(
            "myreg.azurecr.io",
            "acr",
            &["--image-name", "train/sklearn:v3"]
        ),
        [format!(
            "az acr build --registry myreg --image train/sklearn:v3 --platform linux/amd64 --file {ctx}/Dockerfile {ctx}"
        )]
    );
    // A registry reached over plain HTTP.
    let image = format!("127.0.0.1:5000/envaudit/env_{hex}:latest");
    assert_eq!(
        lines("127.0.0.1:5000", "docker", &[]),
        [format!(
            "docker buildx build --platform linux/amd64 -f {ctx}/Dockerfile --label io.envaudit.definition-hash={hash} --output type=image,name={image},push=true,registry.insecure=true {ctx}"
        )]
    );
    // ACR needs an ACR.
    let out = t
        .envaudit()
        .args([
            "build",
            "env",
            "--dry-run",
            "--registry",
            "ghcr.io/acme",
            "--builder",
            "acr",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME.azurecr.io"));
}

/// The build contexts envaudit generates for conda and pip definitions, as Azure ML would.
#[test]
fn generated_contexts_for_conda_and_pip_definitions() {
    let t = TestEnv::new();
    let root = crate::support::root();
    // Azure ML v1 `baseDockerfile` with system-managed conda: the user's Dockerfile, then
    // the conda layer.
    crate::support::copy_tree(
        &root.join("fixtures/azureml/v1-saved/dockerfile"),
        &t.path("v1-dockerfile-conda"),
    );
    let json = t.path("v1-dockerfile-conda/azureml_environment.json");
    let text = std::fs::read_to_string(&json).unwrap().replace(
        "\"userManagedDependencies\": true",
        "\"userManagedDependencies\": false",
    );
    std::fs::write(&json, text).unwrap();
    let cases: &[(&str, std::path::PathBuf, &[&str])] = &[
        (
            "v2_conda",
            root.join("fixtures/example/environment.yml"),
            &[],
        ),
        (
            "v1_folder",
            root.join("fixtures/azureml/v1-saved/rich"),
            &[],
        ),
        (
            "v1_dockerfile",
            root.join("fixtures/azureml/v1-saved/dockerfile"),
            &[],
        ),
        ("v1_dockerfile_conda", t.path("v1-dockerfile-conda"), &[]),
        (
            "pip_only",
            t.write(
                "pip/requirements.txt",
                "--find-links ./wheels\n-r base.txt\ntorch==2.3.1\n",
            ),
            &["--base-image", "python:3.11-slim"],
        ),
    ];
    t.write("pip/base.txt", "numpy==1.26.4\n");
    t.write("pip/wheels/demo-1.0-py3-none-any.whl", "not really a wheel");
    for (name, path, extra) in cases {
        let out_dir = t.path(&format!("ctx-{name}"));
        let out = t
            .envaudit()
            .args(["build", "--dry-run", "--registry", "localhost:5000"])
            .arg(path)
            .arg("--context-out")
            .arg(&out_dir)
            .args(*extra)
            .output()
            .unwrap();
        ok(&out);
        let mut files = Vec::new();
        collect(&out_dir, &out_dir, &mut files);
        files.sort();
        let mut text = String::new();
        for f in &files {
            let content = std::fs::read(out_dir.join(f)).unwrap();
            write!(text, "==> {f}\n{}\n", String::from_utf8_lossy(&content)).unwrap();
        }
        insta::assert_snapshot!(format!("build_context_{name}"), text);
    }
    // The mutated conda file declares exactly what the original declares.
    let conda_ingredients = |path: &Path| -> Vec<serde_json::Value> {
        let out = t
            .envaudit()
            .args(["hash", "--kind", "conda", "--format", "json"])
            .arg(path)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
        v["ingredients"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| {
                let k = i["kind"].as_str().unwrap();
                k.starts_with("conda-") || k.starts_with("pip-")
            })
            .map(|i| i["value"].clone())
            .collect()
    };
    let original = conda_ingredients(&root.join("fixtures/example/conda.yml"));
    assert!(original.len() > 5, "{original:?}");
    assert_eq!(
        conda_ingredients(
            &t.path("ctx-v2_conda/azureml-environment-setup/mutated_conda_dependencies.yml")
        ),
        original
    );
    // The pip context holds the include and the wheel folder next to the requirements file.
    assert!(
        t.path("ctx-pip_only/azureml-environment-setup/base.txt")
            .is_file()
    );
    assert!(
        t.path("ctx-pip_only/azureml-environment-setup/wheels/demo-1.0-py3-none-any.whl")
            .is_file()
    );
    // --context-out never overwrites.
    let out = t
        .envaudit()
        .args(["build", "--dry-run", "--registry", "localhost:5000"])
        .arg(root.join("fixtures/example/environment.yml"))
        .arg("--context-out")
        .arg(t.path("ctx-v2_conda"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an empty folder"));
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

/// An image built and pushed is locked even when its base image cannot be resolved (here
/// a base that exists only in buildah's local storage, under a name no registry answers):
/// a warning, not a failure.
#[test]
fn an_unresolvable_base_image_does_not_stop_the_lock() {
    let reg = registry::plain();
    let t = TestEnv::new();
    let b = Buildah::new();
    t.write("base/hello.txt", "hello\n");
    t.write(
        "base/Dockerfile",
        "FROM scratch\nCOPY hello.txt /hello.txt\n",
    );
    let base_ctx = t.path("base").display().to_string();
    b.run(&["build", "-q", "-t", "registry.invalid/base:1", &base_ctx]);
    t.write(
        "env/Dockerfile",
        "FROM registry.invalid/base:1\nCOPY Dockerfile /Dockerfile\n",
    );
    let out = build(&t, &b, reg, &t.path("env"), &["--lock"]);
    let report = json(&out);
    ok(&out);
    assert_eq!(report["outcome"], "built");
    assert_eq!(report["locked"], true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: cannot resolve the base image `registry.invalid/base:1`"),
        "{stderr}"
    );
    assert!(t.path("envaudit.lock").is_file());
}
