//! The jobs of `examples/fleet/` run for real: their `envaudit` command lines are taken from
//! the Kubernetes manifests and the GitHub Actions workflow, pointed at the test's
//! `docker-registry` instead of `myacr.azurecr.io` and at a temporary folder instead of the
//! shared volume, and run by `sh` with the environment each engine gives (Kubernetes'
//! `JOB_COMPLETION_INDEX`, GitHub's `strategy.job-index` and `job-total`), the workers at
//! the same time. What they merge must hold every pushed reference once.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use envaudit::fleet::db::Inventory;

use crate::fleet_db::image;
use crate::support::registry;
use crate::support::{TestEnv, ok};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fleet");

fn yaml(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(Path::new(EXAMPLES).join(name)).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// The `envaudit` commands of a shell line (`a && b && c`), with the example's binary path,
/// registry and results folder replaced.
fn commands(line: &str, reg: &str, results: &Path) -> Vec<String> {
    let bin = assert_cmd::cargo::cargo_bin("envaudit");
    line.split("&&")
        .map(str::trim)
        .filter(|c| c.contains("envaudit fleet"))
        .map(|c| {
            c.replace("/opt/envaudit/bin/envaudit", "envaudit")
                .replacen("envaudit fleet", &format!("{} fleet", bin.display()), 1)
                .replace("myacr.azurecr.io", reg)
                .replace("/results/", &format!("{}/", results.display()))
        })
        .collect()
}

fn sh(env: &TestEnv, command: &str, vars: &[(&str, String)]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(command)
        .current_dir(env.dir.path())
        .env("NO_COLOR", "1")
        .env_remove("REGISTRY_AUTH_FILE")
        .env("DOCKER_CONFIG", env.path("no-docker-config"))
        .env_remove("JOB_COMPLETION_INDEX")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        c.env(k, v);
    }
    c
}

/// Pushes the example fleet under `azureml/PREFIX/`; returns reference → manifest.
fn push_fleet(prefix: &str) -> (&'static registry::RegistryServer, BTreeMap<String, String>) {
    let reg = registry::plain();
    let images = [
        image(
            "3.0.11-1~deb12u1",
            "3.0.12",
            "1.21.6",
            &format!("{prefix}-a"),
        ),
        image(
            "3.0.11-1~deb12u2",
            "3.0.13",
            "1.26.4",
            &format!("{prefix}-b"),
        ),
        image("3.0.15-1~deb12u1", "3.1.0", "2.0.1", &format!("{prefix}-c")),
    ];
    let mut refs = BTreeMap::new();
    for (repo, tag, i) in [
        ("train", "1", 0),
        ("train", "2", 1),
        ("train", "latest", 1),
        ("serve", "1", 2),
        ("serve", "legacy", 0),
    ] {
        let repo = format!("azureml/{prefix}/{repo}");
        reg.push_image(&repo, tag, &images[i]);
        refs.insert(
            format!("{}/{repo}:{tag}", reg.addr),
            images[i].manifest_digest.clone(),
        );
    }
    (reg, refs)
}

/// Every current pointer of the inventory under `prefix`.
fn current_refs(db: &Path, prefix: &str) -> BTreeMap<String, String> {
    let inv = Inventory::open_existing(db).unwrap();
    let mut stmt = inv
        .connection()
        .prepare("SELECT reference, manifest FROM current_refs")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .filter(|(r, _)| r.contains(&format!("/azureml/{prefix}/")))
        .collect()
}

#[test]
fn the_kubernetes_indexed_job_and_its_merge_job_run_as_written() {
    let (reg, refs) = push_fleet("k8s");
    let env = TestEnv::new();
    let results = env.path("results");
    std::fs::create_dir_all(&results).unwrap();

    let job = yaml("k8s-indexed-job.yaml");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let completions = job["spec"]["completions"].as_u64().unwrap();
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    // The example scans `azureml/*`; this test's images are a part of it (other tests'
    // share the registry).
    let scan = commands(
        &container["args"][0]
            .as_str()
            .unwrap()
            .replace("azureml/*", "azureml/k8s/*"),
        &reg.addr,
        &results,
    );
    assert_eq!(scan.len(), 1, "{scan:?}");
    // Kubernetes gives each pod its index, nothing else; every pod at the same time, each
    // with its own local cache (`ENVAUDIT_CACHE_DIR`), as separate nodes would.
    let pods: Vec<_> = (0..completions)
        .map(|i| {
            sh(
                &env,
                &scan[0],
                &[
                    ("JOB_COMPLETION_INDEX", i.to_string()),
                    (
                        "ENVAUDIT_CACHE_DIR",
                        env.path(&format!("cache-{i}")).display().to_string(),
                    ),
                ],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    for pod in pods {
        ok(&pod.wait_with_output().unwrap());
    }
    for i in 0..completions {
        assert!(results.join(format!("scan-{i}.jsonl")).is_file(), "pod {i}");
    }

    let merge = yaml("k8s-merge-job.yaml");
    let steps = commands(
        merge["spec"]["template"]["spec"]["containers"][0]["args"][0]
            .as_str()
            .unwrap(),
        &reg.addr,
        &results,
    );
    assert_eq!(steps.len(), 2, "merge, then a summary: {steps:?}");
    for step in &steps {
        let out = ok(&sh(&env, step, &[]).output().unwrap());
        if step.contains("--summary") {
            let cells = |l: &str| -> Vec<String> {
                l.split(['│', '┆'])
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect()
            };
            let row = |key: &str| -> Vec<String> {
                out.lines()
                    .map(cells)
                    .find(|c| c.get(1).is_some_and(|k| k == key))
                    .unwrap_or_default()
            };
            assert_eq!(row("images"), ["total", "images", "3"], "{out}");
            assert_eq!(row("pip"), ["ecosystem", "pip", "3", "3"], "{out}");
        }
    }
    assert_eq!(current_refs(&results.join("inventory.sqlite"), "k8s"), refs);
}

#[test]
fn the_github_actions_matrix_and_its_merge_job_run_as_written() {
    let (reg, refs) = push_fleet("gha");
    let env = TestEnv::new();
    let wf = yaml("github-matrix.yml");
    let scan_job = &wf["jobs"]["scan"];
    let shards = scan_job["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap()
        .len();
    let run = scan_job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| s["run"].as_str().filter(|r| r.contains("fleet scan")))
        .unwrap()
        .to_owned();
    // The example scans `azureml/*`; this test's images are a part of it.
    let run = run.replace("azureml/*", "azureml/gha/*");
    let jobs: Vec<_> = (0..shards)
        .map(|i| {
            let line = run
                .replace("${{ strategy.job-index }}", &i.to_string())
                .replace("${{ strategy.job-total }}", &shards.to_string());
            let cmd = commands(&line, &reg.addr, &env.path("unused"));
            assert_eq!(cmd.len(), 1);
            let runner = env.path(&format!("runner-{i}"));
            std::fs::create_dir_all(&runner).unwrap();
            let mut c = sh(
                &env,
                &cmd[0],
                &[(
                    "ENVAUDIT_CACHE_DIR",
                    runner.join("cache").display().to_string(),
                )],
            );
            c.current_dir(&runner);
            c.spawn().unwrap()
        })
        .collect();
    for job in jobs {
        ok(&job.wait_with_output().unwrap());
    }
    // download-artifact with merge-multiple: every runner's results in one folder.
    let merged = env.path("merge");
    std::fs::create_dir_all(&merged).unwrap();
    for i in 0..shards {
        let name = format!("scan-{i}.jsonl");
        std::fs::copy(env.path(&format!("runner-{i}/{name}")), merged.join(&name)).unwrap();
    }
    let summary = merged.join("summary.md");
    for step in wf["jobs"]["merge"]["steps"].as_array().unwrap() {
        let Some(line) = step["run"]
            .as_str()
            .filter(|r| r.contains("envaudit fleet"))
        else {
            continue;
        };
        let cmd = commands(line, &reg.addr, &merged);
        let mut c = sh(
            &env,
            &cmd[0],
            &[("GITHUB_STEP_SUMMARY", summary.display().to_string())],
        );
        c.current_dir(&merged);
        ok(&c.output().unwrap());
    }
    let md = std::fs::read_to_string(&summary).unwrap();
    // Three images with one pip, one conda and one Debian package each.
    for row in [
        "| group | key | packages | images |",
        "| total | images |  | 3 |",
        "| total | references |  | 5 |",
        "| ecosystem | pip | 3 | 3 |",
        "| ecosystem | conda | 3 | 3 |",
        "| ecosystem | deb | 3 | 3 |",
    ] {
        assert!(md.lines().any(|l| l == row), "{row} in\n{md}");
    }
    assert_eq!(current_refs(&merged.join("inventory.sqlite"), "gha"), refs);
}
