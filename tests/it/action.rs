//! The GitHub Action's shell part, `scripts/ci/envaudit-action`, run as the Action runs it:
//! bash, this build's `envaudit` on PATH, a real git repository made here (a base branch on a
//! "remote" and a pull request branch cloned without it, as actions/checkout leaves it), the
//! job summary written to a file. The one stand-in is the GitHub REST API: an in-process
//! HTTP server plays api.github.com for the pull-request comment, which is kept as ONE
//! comment found again by its hidden marker.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::fault::{FaultServer, Reply, Request};
use crate::support::{TestEnv, root};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn envaudit(env: &TestEnv, dir: &Path, args: &[&str]) {
    let out = env.envaudit().current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "envaudit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository as a pull request's checkout sees it: `remote` holds `main` (the bundled
/// example locked with its first image) and `pr` (locked again with the regenerated image:
/// silent drift, or nothing new when `drift` is false); `work` is a clone of `pr` alone.
fn repository(drift: bool) -> (TestEnv, PathBuf) {
    let env = TestEnv::new();
    let remote = env.path("remote");
    std::fs::create_dir_all(&remote).unwrap();
    let example = root().join("fixtures/example");
    for f in ["environment.yml", "conda.yml"] {
        std::fs::copy(example.join(f), remote.join(f)).unwrap();
    }
    crate::support::copy_tree(&example.join("image"), &remote.join("image"));
    git(&remote, &["init", "-q"]);
    let lock = |image: &str| {
        envaudit(
            &env,
            &remote,
            &[
                "lock",
                "environment.yml",
                "--image",
                image,
                "--base-image",
                "oci:image:base",
            ],
        );
    };
    lock("oci:image:v1");
    git(&remote, &["add", "-A"]);
    git(&remote, &["commit", "-q", "-m", "base"]);
    git(&remote, &["checkout", "-q", "-b", "pr"]);
    if drift {
        lock("oci:image:v2");
    } else {
        std::fs::write(
            remote.join("README.md"),
            "# a change that is no environment's\n",
        )
        .unwrap();
    }
    git(&remote, &["add", "-A"]);
    git(&remote, &["commit", "-q", "-m", "pull request"]);
    let work = env.path("work");
    git(
        env.path("").as_path(),
        &[
            "clone",
            "-q",
            "--single-branch",
            "--branch",
            "pr",
            remote.to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    (env, work)
}

struct Run {
    code: i32,
    stderr: String,
    summary: String,
}

/// Runs the action's script in `dir` with `vars` over a clean GitHub environment.
fn action(env: &TestEnv, dir: &Path, vars: &[(&str, &str)]) -> Run {
    let summary = env.path("summary.md");
    let _ = std::fs::remove_file(&summary);
    let bin = Path::new(env!("CARGO_BIN_EXE_envaudit")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("scripts/ci/envaudit-action"))
        .current_dir(dir)
        .env("PATH", path)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_") || k.starts_with("ENVAUDIT_") || k.starts_with("INPUT_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash");
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
    }
}

const PR: &[(&str, &str)] = &[
    ("GITHUB_EVENT_NAME", "pull_request"),
    ("GITHUB_BASE_REF", "main"),
    ("ENVAUDIT_PREDICT", "false"),
];

#[test]
fn pull_request_with_silent_drift_writes_the_diff_to_the_summary_and_fails_per_fail_on() {
    let (env, work) = repository(true);
    let run = action(&env, &work, PR);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.summary.starts_with(
            "## envaudit\n\n### Lockfile changes (`origin/main` → this pull request)\n"
        ),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("1 silent drift"), "{}", run.summary);
    assert!(
        run.summary
            .contains("| upgraded | conda | `scipy` | 1.13.0 | 1.14.1 |")
    );
    // The marker is for the comment only; predict was switched off.
    assert!(!run.summary.contains("<!--"), "{}", run.summary);
    assert!(!run.summary.contains("rebuild would install"));
    // The base branch was fetched: the clone had the pull request's branch alone.
    assert!(run.stderr.contains("origin/main"), "{}", run.stderr);

    let never = [PR, &[("ENVAUDIT_FAIL_ON", "never")]].concat();
    let run = action(&env, &work, &never);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.summary.contains("1 silent drift"));
}

#[test]
fn pull_request_that_changes_no_environment_passes() {
    let (env, work) = repository(false);
    let run = action(&env, &work, PR);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.summary.contains("0 package changes"), "{}", run.summary);
    assert!(!run.summary.contains("silent drift"), "{}", run.summary);
}

#[test]
fn predict_runs_with_the_inputs_arguments_and_is_summarised() {
    let (env, work) = repository(true);
    let example = root().join("fixtures/example");
    let args = format!(
        "--index-url {} --channel-alias {} --default-channel {} --offline",
        example.join("index/simple").display(),
        example.join("channel").display(),
        example.join("channel/pkgs/main").display()
    );
    let vars = [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_BASE_REF", "main"),
        ("ENVAUDIT_PREDICT_ARGS", args.as_str()),
        ("ENVAUDIT_FAIL_ON", "never"),
    ];
    let run = action(&env, &work, &vars);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let at = run
        .summary
        .find("### What a rebuild would install now\n\n**envaudit predict**")
        .unwrap_or_else(|| panic!("{}", run.summary));
    assert!(at > run.summary.find("### Lockfile changes").unwrap());
    // A predict that cannot run (no such index) fails the action as an input error, with
    // its message in the summary.
    let vars = [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_BASE_REF", "main"),
        (
            "ENVAUDIT_PREDICT_ARGS",
            "--index-url /nonexistent/simple --offline",
        ),
        ("ENVAUDIT_FAIL_ON", "never"),
    ];
    let run = action(&env, &work, &vars);
    assert_eq!(run.code, 2, "{}", run.summary);
    assert!(
        run.summary
            .contains("`envaudit predict --lockfile envaudit.lock"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("failed (exit 2)"), "{}", run.summary);
}

#[test]
fn scheduled_check_fails_when_a_tag_moved_and_passes_when_nothing_did() {
    let (env, work) = repository(false);
    let scheduled = [("GITHUB_EVENT_NAME", "schedule")];
    let run = action(&env, &work, &scheduled);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.summary.starts_with("## envaudit check\n\n"),
        "{}",
        run.summary
    );
    // `v1` now names the regenerated image.
    let index_path = work.join("image/index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let manifests = index["manifests"].as_array_mut().unwrap();
    let digest_of = |m: &[serde_json::Value], tag: &str| {
        m.iter()
            .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap()["digest"]
            .clone()
    };
    let v2 = digest_of(manifests, "v2");
    for d in manifests.iter_mut() {
        if d["annotations"]["org.opencontainers.image.ref.name"] == "v1" {
            d["digest"] = v2.clone();
        }
    }
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    let run = action(&env, &work, &scheduled);
    assert_eq!(run.code, 1, "{}{}", run.summary, run.stderr);
    assert!(run.summary.contains("sklearn-train"), "{}", run.summary);
    // `mode: check` is the same on any event; `--fail-on never` reports without failing.
    let vars = [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("ENVAUDIT_MODE", "check"),
        ("ENVAUDIT_FAIL_ON", "never"),
    ];
    let run = action(&env, &work, &vars);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.summary.starts_with("## envaudit check"),
        "{}",
        run.summary
    );
}

#[test]
fn bad_inputs_are_errors() {
    let (env, work) = repository(false);
    let run = action(&env, &work, &[("ENVAUDIT_MODE", "sometimes")]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("mode `sometimes`"), "{}", run.stderr);
    let run = action(
        &env,
        &work,
        &[PR, &[("ENVAUDIT_BASE", "no-such-branch")]].concat(),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("`no-such-branch` is not a revision"),
        "{}",
        run.stderr
    );
    let run = action(
        &env,
        &work,
        &[PR, &[("ENVAUDIT_LOCKFILE", "missing.lock")]].concat(),
    );
    assert_eq!(run.code, 2, "{}", run.summary);
    assert!(run.summary.contains("failed (exit 2)"), "{}", run.summary);
}

/// The GitHub REST API's issue comments, in memory: `(id, body)` in creation order.
#[derive(Clone, Default)]
struct Comments(Arc<Mutex<Vec<(u64, String)>>>);

const TOKEN: &str = "ghs_test-token-never-printed";

impl Comments {
    fn serve(&self, status_for_writes: u16) -> FaultServer {
        let comments = self.clone();
        FaultServer::start(Duration::ZERO, move |r: &Request| {
            if r.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
                return Reply::status(401, &[]);
            }
            comments.answer(r, status_for_writes)
        })
    }

    fn answer(&self, r: &Request, status_for_writes: u16) -> Reply {
        let mut all = self.0.lock().unwrap();
        let json = |status: u16, v: serde_json::Value| Reply::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(&v).unwrap(),
        };
        let body_of = |r: &Request| {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            v["body"].as_str().unwrap().to_owned()
        };
        let list_prefix = "/repos/octo/trainer/issues/7/comments?per_page=100&page=";
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", p) if p.starts_with(list_prefix) => {
                let page: usize = p[list_prefix.len()..].parse().unwrap();
                let items: Vec<_> = all
                    .iter()
                    .skip((page - 1) * 100)
                    .take(100)
                    .map(|(id, body)| serde_json::json!({"id": id, "body": body}))
                    .collect();
                json(200, serde_json::Value::Array(items))
            }
            _ if status_for_writes != 200 => Reply::status(status_for_writes, &[]),
            ("POST", "/repos/octo/trainer/issues/7/comments") => {
                let id = 1000 + all.len() as u64;
                all.push((id, body_of(r)));
                json(201, serde_json::json!({"id": id}))
            }
            ("PATCH", p) if p.starts_with("/repos/octo/trainer/issues/comments/") => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                let Some(c) = all.iter_mut().find(|(i, _)| *i == id) else {
                    return Reply::status(404, &[]);
                };
                c.1 = body_of(r);
                json(200, serde_json::json!({"id": id}))
            }
            _ => Reply::status(404, &[]),
        }
    }

    fn with_marker(&self) -> Vec<(u64, String)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, b)| b.contains("<!-- envaudit-action"))
            .cloned()
            .collect()
    }
}

fn comment_vars(env: &TestEnv, api: &str) -> Vec<(&'static str, String)> {
    let event = env.write("event.json", r#"{"pull_request": {"number": 7}}"#);
    vec![
        ("GITHUB_EVENT_NAME", "pull_request".into()),
        ("GITHUB_BASE_REF", "main".into()),
        ("ENVAUDIT_PREDICT", "false".into()),
        ("ENVAUDIT_TOKEN", TOKEN.into()),
        ("GITHUB_REPOSITORY", "octo/trainer".into()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GITHUB_API_URL", api.to_owned()),
    ]
}

fn run_with(env: &TestEnv, work: &Path, vars: &[(&'static str, String)]) -> Run {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    action(env, work, &vars)
}

/// Stand-in: the GitHub API is an in-process server (api.github.com cannot be reached here).
#[test]
fn the_pull_request_comment_is_created_once_then_updated_in_place() {
    let (env, work) = repository(true);
    let comments = Comments::default();
    // A busy pull request: a full first page of other people's comments.
    for i in 0..100 {
        comments.0.lock().unwrap().push((i, format!("comment {i}")));
    }
    let server = comments.serve(200);
    let api = format!("http://{}", server.addr);
    let vars = comment_vars(&env, &api);

    let run = run_with(&env, &work, &vars);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("commented on pull request 7"),
        "{}",
        run.stderr
    );
    let ours = comments.with_marker();
    assert_eq!(ours.len(), 1, "{ours:?}");
    let (id, first) = ours[0].clone();
    assert!(first.contains("## envaudit\n"), "{first}");
    assert!(first.contains("1 silent drift"), "{first}");
    assert_eq!(
        first.lines().skip(1).collect::<Vec<_>>().join("\n") + "\n",
        run.summary
    );

    // The next push: the same comment, updated; nobody else's touched.
    let run = run_with(
        &env,
        &work,
        &[vars.clone(), vec![("ENVAUDIT_FAIL_ON", "never".into())]].concat(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("updated comment {id}")),
        "{}",
        run.stderr
    );
    let ours = comments.with_marker();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(ours[0].0, id);
    assert_eq!(comments.0.lock().unwrap().len(), 101);
    assert!(
        comments.0.lock().unwrap()[..100]
            .iter()
            .enumerate()
            .all(|(i, (_, b))| *b == format!("comment {i}"))
    );
    let requests = server.requests();
    assert_eq!(requests.iter().filter(|r| r.method == "POST").count(), 1);
    assert_eq!(requests.iter().filter(|r| r.method == "PATCH").count(), 1);
    // The token went in the header only.
    assert!(!run.stderr.contains(TOKEN));
    assert!(!run.summary.contains(TOKEN));
}

/// Stand-in: the GitHub API is an in-process server. A fork's token may read but not write.
#[test]
fn a_comment_that_cannot_be_written_is_a_warning_not_a_failure() {
    let (env, work) = repository(false);
    let comments = Comments::default();
    let server = comments.serve(403);
    let vars = comment_vars(&env, &format!("http://{}", server.addr));
    let run = run_with(&env, &work, &vars);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("::warning::envaudit-action: commenting on pull request 7 failed (HTTP 403)"),
        "{}",
        run.stderr
    );
    assert!(run.summary.contains("0 package changes"));
    assert!(comments.with_marker().is_empty());
}

/// action.yml runs the script tested above, hands it every input, and installs the version
/// this build is; the pre-commit hooks pin the same version.
#[test]
fn action_yml_wires_every_input_into_the_script_and_pins_this_version() {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let action: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs: Vec<&str> = action["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let used: Vec<&str> = text
        .split("${{ inputs.")
        .skip(1)
        .map(|rest| rest.split(" }}").next().unwrap())
        .collect();
    for name in &inputs {
        assert!(used.contains(name), "input `{name}` is never used");
    }
    for name in &used {
        assert!(inputs.contains(name), "`inputs.{name}` is not declared");
    }
    assert_eq!(
        action["inputs"]["version"]["default"],
        env!("CARGO_PKG_VERSION")
    );

    let steps = action["runs"]["steps"].as_array().unwrap();
    let run = steps.last().unwrap();
    assert_eq!(
        run["run"],
        r#"bash "$GITHUB_ACTION_PATH/scripts/ci/envaudit-action""#
    );
    let script = std::fs::read_to_string(root().join("scripts/ci/envaudit-action")).unwrap();
    for var in run["env"].as_object().unwrap().keys() {
        assert!(
            script.contains(&format!("${{{var}")),
            "the script never reads `{var}`"
        );
    }

    let hooks = std::fs::read_to_string(root().join("pre-commit/pyproject.toml")).unwrap();
    assert!(
        hooks.contains(&format!(
            "dependencies = [\"envaudit-cli=={}\"]",
            env!("CARGO_PKG_VERSION")
        )),
        "{hooks}"
    );
}
