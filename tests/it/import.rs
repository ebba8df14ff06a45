//! Locking inside a job (`lock --rootfs DIR --record-to OUT`, no repository, no git) and
//! merging the records into the repository (`import`), with real git repositories and real
//! folders; the mount-point rule with a real tmpfs mounted in a user namespace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use envaudit::lockfile::Lockfile;
use envaudit::lockfile::store::Store;

use crate::support::{TestEnv, commit_all, init_repo, ok};

const CONDA: &str = "name: train\nchannels: [conda-forge]\ndependencies:\n  - python=3.10\n  - pip\n  - pip:\n    - numpy\n    - pandas>=2.0\n";
const SITE: &str = "azureml-envs/azureml_abc/lib/python3.10/site-packages";

/// A git repository holding the definition `env/conda.yml`.
fn repository() -> TestEnv {
    let env = TestEnv::new();
    init_repo(env.dir.path());
    env.write("env/conda.yml", CONDA);
    commit_all(env.dir.path(), "definition");
    env
}

/// A job's working folder: a copy of the code, not a repository.
fn job() -> TestEnv {
    let env = TestEnv::new();
    env.write("env/conda.yml", CONDA);
    env
}

fn dist_info(root: &Path, site: &str, name: &str, version: &str) {
    let dir = root.join(site).join(format!("{name}-{version}.dist-info"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("METADATA"),
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
    )
    .unwrap();
}

/// A root filesystem as a job's container would show it: an Azure ML conda prefix with
/// numpy at `numpy` and pandas.
fn rootfs(root: &Path, numpy: &str) {
    std::fs::create_dir_all(root.join("azureml-envs/azureml_abc/conda-meta")).unwrap();
    std::fs::write(
        root.join("azureml-envs/azureml_abc/conda-meta/history"),
        "==> 2026-01-01 <==\n",
    )
    .unwrap();
    dist_info(root, SITE, "numpy", numpy);
    dist_info(root, SITE, "pandas", "2.2.2");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "ID=ubuntu\nVERSION_ID=\"22.04\"\n",
    )
    .unwrap();
}

/// `lock env/conda.yml --rootfs ROOT --record-to out` in the job folder, as run `run` at
/// `epoch`.
fn record(job: &TestEnv, root: &Path, run: &str, epoch: u64, extra: &[&str]) -> Output {
    job.envaudit()
        .args(["lock", "env/conda.yml", "--rootfs"])
        .arg(root)
        .args(["--record-to", "out"])
        .args(extra)
        .env("AZUREML_RUN_ID", run)
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .output()
        .unwrap()
}

fn import(repo: &TestEnv, dirs: &[&Path], extra: &[&str]) -> Output {
    repo.envaudit()
        .arg("import")
        .args(dirs)
        .args(extra)
        .output()
        .unwrap()
}

fn lockfile(env: &TestEnv) -> Lockfile {
    Lockfile::load(&env.path("envaudit.lock")).unwrap()
}

/// Every file under `dir`, relative, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push((
                    p.strip_prefix(base).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn a_record_made_in_a_job_imports_as_the_lock_made_in_the_repository() {
    let shared = TestEnv::new();
    let root = shared.path("rootfs");
    rootfs(&root, "1.26.4");
    // In the job: no repository, no lockfile; the record goes to the output folder.
    let job = job();
    let out = ok(&record(&job, &root, "job-1", 1_795_000_000, &[]));
    assert!(out.contains("recorded `train`"), "{out}");
    assert!(out.contains("run `job-1` written to `out`"), "{out}");
    assert!(!job.path("envaudit.lock").exists());
    assert!(!job.path("envaudit.lock.d").exists());
    let record_files = files(&job.path("out"));
    let names: Vec<String> = record_files
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0], "runs/job-1.toml");
    assert!(names[1].starts_with("snapshots/"), "{names:?}");

    // In the repository: import it, naming the model that now exists.
    let repo = repository();
    let out = ok(&import(&repo, &[&job.path("out")], &["--model", "churn:3"]));
    assert!(out.contains("run `job-1` of `train`"), "{out}");
    assert!(out.contains("new environment"), "{out}");

    // The same lock made in another clone of the repository, over the same filesystem.
    let direct = repository();
    ok(&direct
        .envaudit()
        .args(["lock", "env/conda.yml", "--rootfs"])
        .arg(&root)
        .args(["--run-id", "job-1", "--model", "churn:3"])
        .env("SOURCE_DATE_EPOCH", "1795000100")
        .output()
        .unwrap());
    assert_eq!(
        std::fs::read(repo.path("envaudit.lock")).unwrap(),
        std::fs::read(direct.path("envaudit.lock")).unwrap(),
        "the imported lockfile differs from the one lock writes"
    );
    let imported = files(&repo.path("envaudit.lock.d"));
    let locked = files(&direct.path("envaudit.lock.d"));
    assert_eq!(imported.len(), locked.len());
    for ((pi, bi), (pl, bl)) in imported.iter().zip(&locked) {
        assert_eq!(pi, pl);
        if pi.starts_with("runs") {
            // Apart from the run's time and commit.
            let strip = |b: &[u8]| -> String {
                String::from_utf8_lossy(b)
                    .lines()
                    .filter(|l| !l.starts_with("time = ") && !l.starts_with("commit = "))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(strip(bi), strip(bl), "{}", pi.display());
        } else {
            assert_eq!(bi, bl, "{}", pi.display());
        }
    }
    let runs = Store::new(repo.path("envaudit.lock")).runs().0;
    assert_eq!(runs[0].model.as_deref(), Some("churn:3"));
    assert_eq!(runs[0].commit, None, "a job's record names no commit");

    // Importing the same record twice changes nothing, not even a file's time.
    let before = files(&repo.path("envaudit.lock.d"));
    let mtime = std::fs::metadata(repo.path("envaudit.lock"))
        .unwrap()
        .modified()
        .unwrap();
    let out = ok(&import(&repo, &[&job.path("out")], &["--model", "churn:3"]));
    assert!(out.contains("already imported"), "{out}");
    assert!(out.contains("0 imported"), "{out}");
    assert_eq!(files(&repo.path("envaudit.lock.d")), before);
    assert_eq!(
        std::fs::metadata(repo.path("envaudit.lock"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
}

#[test]
fn the_current_snapshot_advances_only_to_a_newer_record_and_every_run_is_kept() {
    let shared = TestEnv::new();
    let (old_root, new_root) = (shared.path("old"), shared.path("new"));
    rootfs(&old_root, "1.26.4");
    rootfs(&new_root, "2.0.0");
    let job = job();
    std::fs::create_dir_all(shared.path("records")).unwrap();
    // The newer run (numpy 2.0.0) and an older one (numpy 1.26.4), each in its own output.
    ok(&record(&job, &new_root, "run-new", 1_795_000_200, &[]));
    std::fs::rename(job.path("out"), shared.path("records/a")).unwrap();
    ok(&record(&job, &old_root, "run-old", 1_795_000_100, &[]));
    std::fs::rename(job.path("out"), shared.path("records/b")).unwrap();

    let repo = repository();
    // The newer first: the older one lands as history.
    ok(&import(&repo, &[&shared.path("records/a")], &[]));
    let current = lockfile(&repo).environments["train"].id.clone();
    let out = ok(&import(&repo, &[&shared.path("records/b")], &[]));
    assert!(out.contains("kept as history"), "{out}");
    assert_eq!(lockfile(&repo).environments["train"].id, current);
    let runs = Store::new(repo.path("envaudit.lock")).runs().0;
    let ids: Vec<&str> = runs.iter().map(|r| r.run.as_str()).collect();
    assert_eq!(ids, ["run-old", "run-new"]);
    // The older snapshot is stored as history, so `log` and `report` can read it.
    let old_snapshot = runs[0].snapshot.clone();
    assert_ne!(old_snapshot, current);
    assert!(
        Store::new(repo.path("envaudit.lock"))
            .stored_snapshot(&old_snapshot)
            .unwrap()
            .is_some()
    );

    // In another repository, the older first: the newer one advances it, and says what moved.
    let repo2 = repository();
    ok(&import(&repo2, &[&shared.path("records/b")], &[]));
    let out = ok(&import(&repo2, &[&shared.path("records/a")], &[]));
    assert!(out.contains("now current, was"), "{out}");
    assert!(out.contains("silent-drift"), "{out}");
    // Both orders give the same lockfile; a parent folder of both outputs also works.
    assert_eq!(
        std::fs::read(repo.path("envaudit.lock")).unwrap(),
        std::fs::read(repo2.path("envaudit.lock")).unwrap()
    );
    let repo3 = repository();
    let out = ok(&import(
        &repo3,
        &[&shared.path("records")],
        &["--format", "json"],
    ));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["imported"].as_array().unwrap().len(), 2, "{json}");
    assert_eq!(
        std::fs::read(repo.path("envaudit.lock")).unwrap(),
        std::fs::read(repo3.path("envaudit.lock")).unwrap()
    );
}

/// A filesystem with numpy 1.26.4, and a job that recorded it as run `job-1` into `out`;
/// returns the folder holding the filesystem (keep it alive) and the job.
fn recorded_job() -> (TestEnv, TestEnv) {
    let shared = TestEnv::new();
    let root = shared.path("rootfs");
    rootfs(&root, "1.26.4");
    let job = job();
    ok(&record(&job, &root, "job-1", 1_795_000_000, &[]));
    (shared, job)
}

#[test]
fn a_record_of_another_definition_is_refused_unless_forced() {
    let (_fs, job) = recorded_job();
    let repo = repository();
    // The repository's definition moved on since the job ran.
    repo.write("env/conda.yml", CONDA.replace("numpy", "numpy==1.26.4"));
    let out = import(&repo, &[&job.path("out")], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("run `job-1` of `train` used definition sha256:"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert!(!repo.path("envaudit.lock").exists());
    assert!(!repo.path("envaudit.lock.d/runs").exists());
    // `--force` imports it and keeps the mismatch in the run.
    let out = import(&repo, &[&job.path("out")], &["--force"]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("definition-mismatch"));
    let runs = Store::new(repo.path("envaudit.lock")).runs().0;
    let repo_hash = ok(&repo
        .envaudit()
        .args(["hash", "env/conda.yml", "--format", "json"])
        .output()
        .unwrap());
    let repo_hash: serde_json::Value = serde_json::from_str(&repo_hash).unwrap();
    assert_eq!(
        runs[0].definition_mismatch.as_ref().unwrap().to_string(),
        repo_hash["definition_hash"].as_str().unwrap()
    );
}

#[test]
fn concurrent_imports_lose_nothing() {
    let shared = TestEnv::new();
    let job = job();
    let mut dirs = Vec::new();
    for i in 0..6u64 {
        let root = shared.path(&format!("root{i}"));
        rootfs(&root, &format!("1.{i}.0"));
        ok(&record(
            &job,
            &root,
            &format!("run-{i}"),
            1_795_000_000 + i,
            &[],
        ));
        let dir = shared.path(&format!("records/{i}"));
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        std::fs::rename(job.path("out"), &dir).unwrap();
        dirs.push(dir);
    }
    let repo = repository();
    let children: Vec<_> = dirs
        .iter()
        .map(|d| {
            let mut c: Command = repo.envaudit();
            c.arg("import").arg(d);
            c.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        ok(&c.wait_with_output().unwrap());
    }
    let runs = Store::new(repo.path("envaudit.lock")).runs().0;
    assert_eq!(runs.len(), 6);
    // Whatever order they landed in, the newest run's snapshot is current.
    assert_eq!(
        lockfile(&repo).environments["train"].id,
        runs.last().unwrap().snapshot
    );
    assert_eq!(runs.last().unwrap().run, "run-5");
    let snapshots = std::fs::read_dir(repo.path("envaudit.lock.d/snapshots"))
        .unwrap()
        .count();
    assert_eq!(snapshots, 6);
}

#[test]
fn a_damaged_record_is_refused_with_its_file() {
    let (shared, job) = recorded_job();
    let repo = repository();
    // An empty folder: says what to pass.
    std::fs::create_dir_all(shared.path("empty")).unwrap();
    let out = import(&repo, &[&shared.path("empty")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--record-to"));
    // A snapshot edited after the fact no longer gives its id.
    let snapshot = std::fs::read_dir(job.path("out/snapshots"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&snapshot).unwrap();
    std::fs::write(&snapshot, text.replace("2.2.2", "2.2.9")).unwrap();
    let out = import(&repo, &[&job.path("out")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("was it edited?"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A malformed run file: file, line and column.
    std::fs::write(&snapshot, text).unwrap();
    std::fs::write(job.path("out/runs/job-1.toml"), "version = 1\nrun = [\n").unwrap();
    let out = import(&repo, &[&job.path("out")], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("job-1.toml:2:"), "{err}");
    assert!(!repo.path("envaudit.lock").exists());
}

/// Runs envaudit from `exe` inside a user and mount namespace where a tmpfs is mounted at
/// `mount` (a job's dataset mount), after writing a package into it.
fn in_namespace_with_mount(
    exe: &Path,
    cwd: &Path,
    mount: &Path,
    args: &[&std::ffi::OsStr],
) -> Output {
    let script = format!(
        "set -e; mount -t tmpfs none '{m}'; mkdir -p '{m}/venv/lib/python3.10/site-packages/torch-2.0.0.dist-info'; printf 'Metadata-Version: 2.1\\nName: torch\\nVersion: 2.0.0\\n' > '{m}/venv/lib/python3.10/site-packages/torch-2.0.0.dist-info/METADATA'; touch '{m}/venv/pyvenv.cfg'; exec \"$0\" \"$@\"",
        m = mount.display()
    );
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
        .arg(exe)
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("ENVAUDIT_CACHE_DIR", cwd.join(".cache"))
        .env("SOURCE_DATE_EPOCH", "1795000000")
        .output()
        .expect("unshare (util-linux) runs");
    assert!(
        out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("unshare:"),
        "unshare failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A root filesystem with envaudit installed from its wheel: in a tool venv of its own
/// (`tool`), or beside the environment's packages in its prefix; returns the binary.
fn rootfs_with_envaudit(root: &Path, tool: bool) -> PathBuf {
    rootfs(root, "1.26.4");
    let prefix = if tool {
        let p = root.join("opt/envaudit-tool");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        dist_info(&p, "lib/python3.10/site-packages", "pip", "24.0");
        p
    } else {
        root.join("azureml-envs/azureml_abc")
    };
    dist_info(
        &prefix,
        "lib/python3.10/site-packages",
        "envaudit_cli",
        "0.1.0",
    );
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    let exe = prefix.join("bin/envaudit");
    let built = assert_cmd::cargo::cargo_bin("envaudit");
    if std::fs::hard_link(&built, &exe).is_err() {
        std::fs::copy(&built, &exe).unwrap();
    }
    std::fs::create_dir_all(root.join("mnt/data")).unwrap();
    exe
}

#[test]
fn rootfs_reads_neither_other_mounts_nor_envaudits_own_installation() {
    for tool in [true, false] {
        let shared = TestEnv::new();
        let root = shared.path("rootfs");
        let exe = rootfs_with_envaudit(&root, tool);
        let job = job();
        let args: Vec<std::ffi::OsString> = vec![
            "lock".into(),
            "env/conda.yml".into(),
            "--rootfs".into(),
            root.clone().into(),
            "--record-to".into(),
            "out".into(),
        ];
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsString::as_os_str).collect();
        let out = in_namespace_with_mount(&exe, job.dir.path(), &root.join("mnt/data"), &args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        ok(&out);
        assert!(
            stderr.contains(
                "note: `/mnt/data` is another filesystem (a mount point); it was not read"
            ),
            "{stderr}"
        );
        let file = std::fs::read_dir(job.path("out/snapshots"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let snapshot = std::fs::read_to_string(file).unwrap();
        assert!(
            !snapshot.contains("torch"),
            "the mounted dataset was read: {snapshot}"
        );
        assert!(
            !snapshot.contains("envaudit-cli") && !snapshot.contains("envaudit_cli"),
            "envaudit's own installation was cataloged: {snapshot}"
        );
        assert!(
            snapshot.contains("numpy") && snapshot.contains("pandas"),
            "{snapshot}"
        );
        if tool {
            assert!(
                stderr.contains("`/opt/envaudit-tool` was left out: envaudit's own tool venv"),
                "{stderr}"
            );
            assert!(
                !snapshot.contains("/opt/envaudit-tool"),
                "the tool venv was cataloged: {snapshot}"
            );
        } else {
            assert!(
                stderr.contains(
                    "`/azureml-envs/azureml_abc/lib/python3.10/site-packages/envaudit_cli-0.1.0.dist-info` was left out"
                ),
                "{stderr}"
            );
        }
    }
}

/// The Azure ML job example, `examples/azureml-job/`.
fn example(file: &str) -> PathBuf {
    crate::support::root()
        .join("examples/azureml-job")
        .join(file)
}

#[test]
fn the_azureml_job_example_loads_in_azure_ai_ml() {
    // What `az ml job create --file job.yml` and `az ml environment create` load first.
    let script = r#"
import json
from azure.ai.ml import load_job, load_environment
j = load_job("job.yml")
e = load_environment("environment.yml")
print(json.dumps({
    "type": j.type,
    "code": str(j.code),
    "environment": str(j.environment),
    "record_mode": j.outputs["envaudit"].mode,
    "command": j.command,
    "env_name": e.name,
    "image": e.image,
    "conda": e.conda_file["dependencies"][0],
}))
"#;
    let out = Command::new(crate::support::azureml_python())
        .current_dir(example(""))
        .args(["-c", script])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(json["type"], "command", "{json}");
    assert_eq!(json["record_mode"], "upload", "{json}");
    assert_eq!(json["env_name"], "churn-train", "{json}");
    assert_eq!(json["environment"], "churn-train@latest", "{json}");
    assert_eq!(json["conda"], "python=3.10", "{json}");
    let command = json["command"].as_str().unwrap();
    assert!(
        command
            .contains("envaudit lock environment.yml --rootfs / --record-to ${{outputs.envaudit}}"),
        "{command}"
    );
}

#[test]
fn the_azureml_job_examples_record_step_runs_as_written_and_imports() {
    let files = ["environment.yml", "conda.yml", "train.py", "job.yml"];
    // The job's code snapshot: a copy of the folder, no repository.
    let job = TestEnv::new();
    for f in files {
        std::fs::copy(example(f), job.path(f)).unwrap();
    }
    let shared = TestEnv::new();
    let root = shared.path("rootfs");
    rootfs(&root, "1.26.4");
    // The job's command as written, its envaudit step run over the prepared filesystem.
    let doc: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(example("job.yml")).unwrap()).unwrap();
    let command = doc["command"].as_str().unwrap();
    let step = command
        .split("&&")
        .find(|s| s.contains("envaudit lock"))
        .expect("the job records with envaudit lock");
    let outputs = shared.path("outputs/envaudit");
    let mut words = step.split_whitespace();
    assert!(words.next().unwrap().ends_with("/bin/envaudit"), "{step}");
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    let mut previous = "";
    for w in words {
        args.push(match (previous, w) {
            ("--rootfs", "/") => root.clone().into_os_string(),
            (_, "${{outputs.envaudit}}") => outputs.clone().into_os_string(),
            _ => w.into(),
        });
        previous = w;
    }
    let out = job
        .envaudit()
        .args(&args)
        .env("AZUREML_RUN_ID", "churn-train_1795000000_5f2a9c1e")
        .env("SOURCE_DATE_EPOCH", "1795000000")
        .output()
        .unwrap();
    assert!(ok(&out).contains("recorded `churn-train`"));

    // The repository: the same files, committed; import as import-records.yml does.
    let repo = TestEnv::new();
    init_repo(repo.dir.path());
    for f in files {
        std::fs::copy(example(f), repo.path(f)).unwrap();
    }
    commit_all(repo.dir.path(), "churn classifier");
    let out = ok(&import(
        &repo,
        &[&outputs],
        &[
            "--model",
            "churn-classifier:1",
            "--commit",
            "-m",
            "envaudit: record",
        ],
    ));
    assert!(out.contains("committed 4 files"), "{out}");
    // The auditor's report names the run and its packages.
    let report = ok(&repo
        .envaudit()
        .args([
            "report",
            "--model",
            "churn-classifier:1",
            "--format",
            "json",
        ])
        .output()
        .unwrap());
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let text = report.to_string();
    assert!(text.contains("churn-train_1795000000_5f2a9c1e"), "{text}");
    assert!(text.contains("numpy"), "{text}");
    // The record is in the commit: the working tree is clean.
    let status = git2::Repository::open(repo.dir.path())
        .unwrap()
        .statuses(None)
        .unwrap()
        .iter()
        .filter_map(|s| s.path().ok().map(str::to_owned))
        .filter(|p| !p.starts_with(".cache") && !p.ends_with("/.lock"))
        .collect::<Vec<_>>();
    assert!(status.is_empty(), "{status:?}");
}
