//! `envaudit lock`, `diff` and `log` end to end, in real git repositories (git2), with images
//! from OCI layouts.

use std::fmt::Write as _;
use std::process::Output;

use envaudit::lockfile::Lockfile;

use crate::support::image::{self as img, Compression, LayoutEntry, Spec};
use crate::support::{TestEnv, commit_all, init_repo, ok};

const SP: &str = "opt/env/lib/python3.10/site-packages";

fn meta(name: &str, version: &str, requires: &[&str]) -> Vec<u8> {
    let mut m = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for r in requires {
        writeln!(m, "Requires-Dist: {r}").unwrap();
    }
    m.into_bytes()
}

/// An image with `numpy` and `pandas` at the given versions on a shared base layer.
fn image(numpy: &str, pandas: &str, label: &str) -> img::BuiltImage {
    let base_meta = meta("six", "1.16.0", &[]);
    let np = meta("numpy", numpy, &[]);
    let pd = meta("pandas", pandas, &["numpy>=1.22"]);
    let six = format!("{SP}/six-1.16.0.dist-info/METADATA");
    let np_path = format!("{SP}/numpy-{numpy}.dist-info/METADATA");
    let pd_path = format!("{SP}/pandas-{pandas}.dist-info/METADATA");
    let files: Vec<(&str, &[u8])> = vec![
        (np_path.as_str(), np.as_slice()),
        (pd_path.as_str(), pd.as_slice()),
    ];
    img::build(&Spec {
        layers: vec![
            (
                Compression::Gzip,
                vec![
                    (six.as_str(), base_meta.as_slice()),
                    ("opt/env/pyvenv.cfg", b"version = 3.10.14\n".as_slice()),
                ],
            ),
            (Compression::Gzip, files),
        ],
        label,
        ..Spec::default()
    })
}

const CONDA: &str = "name: train\nchannels: [conda-forge]\ndependencies:\n  - python=3.10\n  - pip\n  - pip:\n    - numpy\n    - pandas>=2.0\n";

/// A git repository with a conda definition and an OCI layout holding `v1` and `v2` (the
/// same definition rebuilt later: pandas moved).
fn project() -> TestEnv {
    let env = TestEnv::new();
    init_repo(env.dir.path());
    env.write("env/conda.yml", CONDA);
    let v1 = image("1.26.4", "2.2.2", "v1");
    let v2 = image("1.26.4", "2.2.3", "v2");
    img::write_layout(
        &env.path("layout"),
        &[
            LayoutEntry::Image(&v1, Some("v1")),
            LayoutEntry::Image(&v2, Some("v2")),
        ],
    );
    env.write(".gitignore", "layout/\n");
    commit_all(env.dir.path(), "definition");
    env
}

fn lock(env: &TestEnv, args: &[&str]) -> Output {
    env.envaudit()
        .args(["lock", "env/conda.yml"])
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1795000000")
        .output()
        .unwrap()
}

fn lockfile(env: &TestEnv) -> Lockfile {
    Lockfile::load(&env.path("envaudit.lock")).unwrap()
}

#[test]
fn lock_records_the_snapshot_and_diff_shows_silent_drift() {
    let env = project();
    let out = ok(&lock(
        &env,
        &["--image", "oci:layout:v1", "--run-id", "run-1", "--commit"],
    ));
    assert!(out.contains("locked `train`"), "{out}");
    assert!(out.contains("new environment"), "{out}");
    assert!(out.contains("committed 4 files"), "{out}");
    let l = lockfile(&env);
    let s = &l.environments["train"];
    let pkgs: Vec<(&str, &str)> = s
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        pkgs,
        [("numpy", "1.26.4"), ("pandas", "2.2.2"), ("six", "1.16.0")]
    );
    assert_eq!(s.prefixes[0].python.as_deref(), Some("3.10.14"));
    assert_eq!(s.definition_files[0].path, "env/conda.yml");
    assert_eq!(s.image.as_deref(), Some("oci:layout:v1"));
    assert_eq!(s.image_layers.len(), 2);
    let pandas = s
        .packages
        .iter()
        .find(|p| p.name.as_str() == "pandas")
        .unwrap();
    assert_eq!(pandas.requires, ["numpy>=1.22"]);
    // The run file and the stored snapshot sit beside the lockfile.
    assert!(env.path("envaudit.lock.d/runs/run-1.toml").is_file());
    assert!(
        env.path(&format!("envaudit.lock.d/snapshots/{}.toml", s.id))
            .is_file()
    );
    // Clean after the commit: nothing to diff.
    let out = env.envaudit().args(["diff"]).output().unwrap();
    assert!(ok(&out).contains("1 unchanged"));

    // The same definition, regenerated: silent drift.
    let out = ok(&lock(
        &env,
        &["--image", "oci:layout:v2", "--run-id", "run-2"],
    ));
    assert!(out.contains("new snapshot"), "{out}");
    assert!(out.contains("warning[silent-drift]"), "{out}");
    let out = env.envaudit().args(["diff"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SILENT DRIFT"), "{text}");
    assert!(text.contains("upgraded"), "{text}");
    assert!(text.contains("2.2.2") && text.contains("2.2.3"), "{text}");
    assert!(text.contains("error[silent-drift]"), "{text}");
    // Markdown for a PR comment; JSON for machines.
    let md = env
        .envaudit()
        .args([
            "diff",
            "@HEAD",
            "@",
            "--format",
            "markdown",
            "--fail-on",
            "never",
        ])
        .output()
        .unwrap();
    let md = ok(&md);
    assert!(
        md.starts_with("**envaudit**: ⚠️ 1 environment: 1 changed (1 silent drift)"),
        "{md}"
    );
    assert!(
        md.contains("<details>") && md.contains("| upgraded | pip | `pandas` | 2.2.2 | 2.2.3 |"),
        "{md}"
    );
    let js = env
        .envaudit()
        .args(["diff", "--format", "json", "--fail-on", "never"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(&js)).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["environments"][0]["silent_drift"], true);
    assert_eq!(v["environments"][0]["packages"][0]["kind"], "upgraded");
    // An environment filter in the spec.
    let out = env
        .envaudit()
        .args(["diff", "@HEAD#other", "@"])
        .output()
        .unwrap();
    assert!(ok(&out).contains("0 environments"));
}

#[test]
fn an_unchanged_lock_is_not_rewritten_and_runs_share_the_snapshot() {
    let env = project();
    ok(&lock(&env, &["--image", "oci:layout:v1", "--run-id", "a"]));
    let path = env.path("envaudit.lock");
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = ok(&lock(
        &env,
        &[
            "--image",
            "oci:layout:v1",
            "--run-id",
            "b",
            "--model",
            "churn:3",
        ],
    ));
    assert!(out.contains("(unchanged)"), "{out}");
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        before
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let store = envaudit::lockfile::store::Store::new(&path);
    let (runs, errors) = store.runs();
    assert!(errors.is_empty());
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].snapshot, runs[1].snapshot);
    assert_eq!(runs[1].model.as_deref(), Some("churn:3"));
    assert_eq!(runs[0].time, "2026-11-18T11:06:40Z");
    assert!(runs[0].commit.is_some());
}

#[test]
fn check_finds_a_moved_tag_and_a_changed_definition() {
    let env = project();
    ok(&lock(&env, &["--image", "oci:layout:v1"]));
    let check = |env: &TestEnv, image: &str| {
        env.envaudit()
            .args(["lock", "env/conda.yml", "--check", "--image", image])
            .output()
            .unwrap()
    };
    let out = check(&env, "oci:layout:v1");
    assert!(ok(&out).contains("up to date"));
    // The tag now points at the regenerated image.
    let v1 = image("1.26.4", "2.2.2", "v1");
    let v2 = image("1.26.4", "2.2.3", "v2");
    img::write_layout(
        &env.path("layout"),
        &[
            LayoutEntry::Image(&v2, Some("v1")),
            LayoutEntry::Image(&v1, Some("old")),
        ],
    );
    let out = check(&env, "oci:layout:v1");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("error[stale-lock]"));
    // `--offline` compares definition hashes only: the moved tag is not looked at, and an
    // image on a registry nobody listens on is not contacted.
    let offline = |env: &TestEnv, image: &str| {
        env.envaudit()
            .args([
                "lock",
                "env/conda.yml",
                "--check",
                "--offline",
                "--image",
                image,
            ])
            .output()
            .unwrap()
    };
    assert!(ok(&offline(&env, "oci:layout:v1")).contains("up to date"));
    assert!(ok(&offline(&env, "127.0.0.1:9/nothing/here:v1")).contains("up to date"));
    // A changed definition.
    env.write("env/conda.yml", CONDA.replace("numpy", "numpy==1.26.4"));
    let out = check(&env, "oci:layout:old");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("definition hash changed"));
    let out = offline(&env, "127.0.0.1:9/nothing/here:v1");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("definition hash changed"));
}

#[test]
fn a_stale_lock_is_a_finding_that_fail_on_and_envaudit_toml_govern() {
    let env = project();
    ok(&lock(&env, &["--image", "oci:layout:v1"]));
    env.write("env/conda.yml", CONDA.replace("numpy", "numpy==1.26.4"));
    let check = |env: &TestEnv, extra: &[&str]| {
        env.envaudit()
            .args([
                "lock",
                "env/conda.yml",
                "--check",
                "--image",
                "oci:layout:v1",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    // The default `--fail-on error` fails on it; JSON lists it under the environment.
    let out = check(&env, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = &json["environments"][0]["findings"];
    assert_eq!(findings[0]["code"], "stale-lock");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("definition hash changed"),
        "{json}"
    );
    // `--fail-on never` reports it and exits 0.
    let out = check(&env, &["--fail-on", "never"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("error[stale-lock]"));
    // Accepted in envaudit.toml: shown as accepted, never failing.
    env.write(
        "envaudit.toml",
        "[[accept]]\ncode = \"stale-lock\"\nreason = \"relocked by the nightly job\"\n",
    );
    let out = check(&env, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(accepted: relocked by the nightly job)")
    );
}

#[test]
fn an_image_plus_conda_definition_needs_the_built_image() {
    let env = TestEnv::new();
    env.write("conda.yml", CONDA);
    env.write(
        "env.yml",
        "name: train\nimage: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1\nconda_file: conda.yml\n",
    );
    let out = env.envaudit().args(["lock", "env.yml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("builds on the base image"), "{err}");
    assert!(
        err.contains("hint: pass the built image with `--image REF`"),
        "{err}"
    );
    assert!(!env.path("envaudit.lock").exists());
}

#[test]
fn a_newer_or_malformed_lockfile_is_refused_and_kept() {
    let env = project();
    env.write("envaudit.lock", "version = 7\n");
    let out = lock(&env, &["--image", "oci:layout:v1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lockfile version 7"), "{err}");
    assert!(err.contains("hint: upgrade envaudit"), "{err}");
    assert_eq!(
        std::fs::read_to_string(env.path("envaudit.lock")).unwrap(),
        "version = 7\n"
    );
    env.write("envaudit.lock", "version = 1\n[environments.x\n");
    let out = env
        .envaudit()
        .args(["diff", "@HEAD", "@"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("envaudit.lock:2:"), "{err}");
}

#[test]
fn a_path_where_a_snapshot_is_expected_gets_a_hint() {
    let env = project();
    ok(&lock(&env, &["--image", "oci:layout:v1"]));
    let out = env
        .envaudit()
        .args(["diff", "envaudit.lock", "@"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hint: to read the file `envaudit.lock`, write `@:envaudit.lock`"),
        "{err}"
    );
}

#[test]
fn concurrent_locks_never_lose_a_record() {
    let env = project();
    let n = 8;
    let children: Vec<_> = (0..n)
        .map(|i| {
            env.envaudit()
                .args(["lock", "env/conda.yml", "--image", "oci:layout:v1"])
                .args([
                    "--name",
                    &format!("env-{i}"),
                    "--run-id",
                    &format!("run-{i}"),
                ])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let l = lockfile(&env);
    assert_eq!(l.environments.len(), n);
    let (runs, errors) = envaudit::lockfile::store::Store::new(env.path("envaudit.lock")).runs();
    assert!(errors.is_empty());
    assert_eq!(runs.len(), n);
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn kill_9_at_any_moment_leaves_the_old_or_the_new_lockfile() {
    let env = project();
    ok(&lock(&env, &["--image", "oci:layout:v1", "--name", "seed"]));
    let mut valid = std::collections::BTreeSet::new();
    valid.insert(std::fs::read(env.path("envaudit.lock")).unwrap());
    for i in 0..24u64 {
        let mut child = env
            .envaudit()
            .args(["lock", "env/conda.yml", "--name", &format!("e{i}")])
            .args([
                "--image",
                if i % 2 == 0 {
                    "oci:layout:v1"
                } else {
                    "oci:layout:v2"
                },
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over the process's life (it lasts some tens of milliseconds).
        std::thread::sleep(std::time::Duration::from_millis((i * 7) % 60));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let bytes = std::fs::read(env.path("envaudit.lock")).unwrap();
        // Whatever happened, the file parses and is a complete lockfile.
        let text = String::from_utf8(bytes.clone()).unwrap();
        let parsed = Lockfile::parse(&envaudit::source::SourceFile::from_text(
            "envaudit.lock",
            &text,
        ))
        .unwrap_or_else(|e| panic!("torn lockfile after kill {i} ({status:?}): {e}\n{text}"));
        assert_eq!(parsed.to_toml(), text);
        assert!(parsed.environments.contains_key("seed"));
        valid.insert(bytes);
    }
}

#[test]
fn branches_that_add_runs_merge_without_conflict() {
    let env = project();
    ok(&lock(
        &env,
        &["--image", "oci:layout:v1", "--run-id", "base", "--commit"],
    ));
    let repo = git2::Repository::open(env.dir.path()).unwrap();
    let main = repo.head().unwrap().peel_to_commit().unwrap();
    repo.branch("a", &main, false).unwrap();
    repo.branch("b", &main, false).unwrap();
    let mut tips = Vec::new();
    for (branch, run, image) in [
        ("a", "run-a", "oci:layout:v2"),
        ("b", "run-b", "oci:layout:v2"),
    ] {
        repo.set_head(&format!("refs/heads/{branch}")).unwrap();
        repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
            .unwrap();
        ok(&lock(
            &env,
            &["--image", image, "--run-id", run, "--commit", "-m", run],
        ));
        tips.push(repo.head().unwrap().peel_to_commit().unwrap());
    }
    // Both branches recorded the same regenerated image and a run each.
    let index = repo.merge_commits(&tips[0], &tips[1], None).unwrap();
    assert!(!index.has_conflicts(), "the merge conflicts");
    // A branch that only adds runs of the old snapshot merges with one that recorded a new
    // snapshot: only one side changed the lockfile.
    repo.branch("c", &main, false).unwrap();
    repo.set_head("refs/heads/c").unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();
    ok(&lock(
        &env,
        &["--image", "oci:layout:v1", "--run-id", "run-c", "--commit"],
    ));
    let c = repo.head().unwrap().peel_to_commit().unwrap();
    let index = repo.merge_commits(&c, &tips[0], None).unwrap();
    assert!(!index.has_conflicts());
    // All three together: merge a and b, then c.
    let mut both = repo.merge_commits(&tips[0], &tips[1], None).unwrap();
    let tree = repo.find_tree(both.write_tree_to(&repo).unwrap()).unwrap();
    let sig = repo.signature().unwrap();
    let merged = repo
        .commit(None, &sig, &sig, "merge", &tree, &[&tips[0], &tips[1]])
        .unwrap();
    let index = repo
        .merge_commits(&repo.find_commit(merged).unwrap(), &c, None)
        .unwrap();
    assert!(!index.has_conflicts());
    let mut paths: Vec<String> = index
        .iter()
        .map(|e| String::from_utf8_lossy(&e.path).into_owned())
        .filter(|p| p.contains("/runs/"))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "envaudit.lock.d/runs/base.toml",
            "envaudit.lock.d/runs/run-a.toml",
            "envaudit.lock.d/runs/run-b.toml",
            "envaudit.lock.d/runs/run-c.toml"
        ]
    );
}

#[test]
fn commit_refuses_a_detached_head() {
    let env = project();
    let repo = git2::Repository::open(env.dir.path()).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap().id();
    repo.set_head_detached(head).unwrap();
    let out = lock(&env, &["--image", "oci:layout:v1", "--commit"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HEAD is detached"));
}

#[test]
fn log_shows_each_change_with_its_commit() {
    let env = project();
    ok(&lock(
        &env,
        &["--image", "oci:layout:v1", "--commit", "-m", "first lock"],
    ));
    ok(&lock(
        &env,
        &["--image", "oci:layout:v2", "--commit", "-m", "rebuilt"],
    ));
    ok(&lock(
        &env,
        &["--image", "oci:layout:v2", "--commit", "-m", "same again"],
    ));
    env.write(
        "env/conda.yml",
        CONDA.replace("pandas>=2.0", "pandas==2.2.3"),
    );
    ok(&lock(
        &env,
        &["--image", "oci:layout:v2", "--commit", "-m", "pin pandas"],
    ));
    let out = env
        .envaudit()
        .args(["log", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    let entries = v["entries"].as_array().unwrap();
    let subjects: Vec<&str> = entries
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["first lock", "rebuilt", "pin pandas"]);
    assert_eq!(entries[0]["status"], "added");
    assert_eq!(entries[1]["silent_drift"], true);
    assert_eq!(entries[1]["package_changes"], 1);
    assert_eq!(entries[2]["definition_changed"], true);
    assert_eq!(entries[2]["silent_drift"], false);
    let table = ok(&env.envaudit().args(["log", "train"]).output().unwrap());
    assert!(
        table.contains("SILENT DRIFT") && table.contains("pin pandas"),
        "{table}"
    );
    // --since skips what came before.
    let first = entries[0]["commit"].as_str().unwrap();
    let out = env
        .envaudit()
        .args(["log", "--since", first, "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    let subjects: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["rebuilt", "pin pandas"]);
}

#[test]
fn lock_rootfs_catalogs_a_live_filesystem_and_records_the_image_as_given() {
    let env = project();
    let site = "rootfs/azureml-envs/azureml_abc/lib/python3.10/site-packages";
    env.write(
        &format!("{site}/numpy-1.26.4.dist-info/METADATA"),
        meta("numpy", "1.26.4", &[]),
    );
    env.write(
        &format!("{site}/numpy/core/__init__.py"),
        "# code, not read\n",
    );
    env.write("rootfs/proc/1/status", "not a package\n");
    let digest = format!("sha256:{}", "a".repeat(64));
    let image = format!("myacr.azurecr.io/azureml/azureml_abc@{digest}");
    ok(&lock(&env, &["--rootfs", "rootfs", "--image", &image]));
    let s = &lockfile(&env).environments["train"];
    assert_eq!(s.rootfs.as_deref(), Some("rootfs"));
    assert_eq!(s.image.as_deref(), Some(image.as_str()));
    assert_eq!(
        s.image_manifest.as_ref().map(ToString::to_string),
        Some(digest)
    );
    let names: Vec<&str> = s.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["numpy"]);
}

#[test]
fn lock_without_a_definition_locks_the_environments_of_envaudit_toml() {
    let env = project();
    env.write(
        "envaudit.toml",
        "[[environment]]\nname = \"a\"\ndefinition = \"env/conda.yml\"\nimage = \"oci:layout:v1\"\n\n\
         [[environment]]\nname = \"b\"\ndefinition = \"env/conda.yml\"\nimage = \"oci:layout:v2\"\n",
    );
    let out = ok(&env.envaudit().arg("lock").output().unwrap());
    assert!(
        out.contains("locked `a`") && out.contains("locked `b`"),
        "{out}"
    );
    let l = lockfile(&env);
    assert_eq!(l.environments.keys().collect::<Vec<_>>(), ["a", "b"]);
    env.write("envaudit.toml", "");
    let out = env.envaudit().arg("lock").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint: name a definition"));
}

#[test]
fn an_invalid_spec_is_locked_and_fails_the_lock_only_as_fail_on_says() {
    let env = project();
    env.write(
        "env/conda.yml",
        CONDA.replace("  - pip\n", "  - pip\n  - a:b\n"),
    );
    let out = lock(&env, &["--image", "oci:layout:v1"]);
    assert_eq!(out.status.code(), Some(1), "the default `--fail-on error`");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[invalid-spec]: env/conda.yml:6:6: invalid conda spec `a:b`"),
        "{stderr}"
    );
    let s = &lockfile(&env).environments["train"];
    assert!(
        s.declared
            .iter()
            .any(|d| d.spec == "a:b" && d.name.is_none()),
        "{:?}",
        s.declared
    );
    let out = lock(&env, &["--image", "oci:layout:v1", "--fail-on", "never"]);
    assert_eq!(out.status.code(), Some(0));
    let out = lock(&env, &["--image", "oci:layout:v1", "--check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = lock(
        &env,
        &[
            "--image",
            "oci:layout:v1",
            "--check",
            "--fail-on",
            "stale-lock",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
