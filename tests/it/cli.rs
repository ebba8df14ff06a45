//! The command line: help, exit codes, error messages.

use crate::support::{TestEnv, fixture, root};
use std::fmt::Write as _;

fn run(env: &TestEnv, args: &[&str]) -> (i32, String, String) {
    let out = env.envaudit().args(args).output().expect("run envaudit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_the_commands() {
    let env = TestEnv::new();
    let (code, out, _) = run(&env, &["--help"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("help", out);
    let (_, out, _) = run(&env, &["lint", "--help"]);
    insta::assert_snapshot!("lint_help", out);
    let (_, out, _) = run(&env, &["hash", "--help"]);
    insta::assert_snapshot!("hash_help", out);
    let (_, out, _) = run(&env, &["resolve", "--help"]);
    insta::assert_snapshot!("resolve_help", out);
}

/// `--version` names the commit the binary was built from, as `git` sees it (build.rs); a
/// build without `.git` (a source archive) names the version alone.
#[test]
fn version_names_the_commit() {
    let env = TestEnv::new();
    let (code, out, _) = run(&env, &["--version"]);
    assert_eq!(code, 0);
    let version = env!("CARGO_PKG_VERSION");
    if !root().join(".git").exists() {
        assert_eq!(out, format!("envaudit {version}\n"));
        return;
    }
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(root())
            .output()
            .expect("git: the package is a git checkout");
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let head = git(&["rev-parse", "HEAD"]);
    let date = git(&["log", "-1", "--format=%cs", "HEAD"]);
    assert_eq!(head.len(), 40, "{head}");
    assert_eq!(
        out,
        format!("envaudit {version} ({} {date})\n", &head[..12])
    );
    let (_, short, _) = run(&env, &["-V"]);
    assert_eq!(short, out);
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    let (code, _, err) = run(&env, &["lint", "x.yml", "--fail-on", "bogus"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a severity"), "{err}");
    let (code, _, _) = run(&env, &["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn malformed_yaml_reports_file_line_and_column_and_exits_2() {
    let env = TestEnv::new();
    env.write(
        "environment.yml",
        "name: x\ndependencies:\n  - numpy\n  - [unclosed\n",
    );
    let (code, out, err) = run(&env, &["lint", "environment.yml"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.starts_with("error: cannot load environment definition `environment.yml`"),
        "{err}"
    );
    assert!(err.contains("environment.yml:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn malformed_requirement_points_at_the_bad_character() {
    let env = TestEnv::new();
    env.write("requirements.txt", "numpy==1.26.4\npandas>=>1\n");
    let (code, _, err) = run(&env, &["hash", "requirements.txt"]);
    assert_eq!(code, 2);
    assert!(err.contains("requirements.txt:2:"), "{err}");
    assert!(err.contains("2 | pandas>=>1"), "{err}");
}

#[test]
fn invalid_utf8_is_an_input_error_with_position() {
    let env = TestEnv::new();
    env.write("requirements.txt", b"numpy==1.26.4\npan\xffdas\n");
    let (code, _, err) = run(&env, &["lint", "requirements.txt"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!(err, @r"
    error: cannot load environment definition `requirements.txt`
      caused by: requirements.txt:2:4: invalid UTF-8
    hint: save the file as UTF-8 (or UTF-16 with a byte-order mark)
    ");
}

#[test]
fn unknown_kind_gets_a_hint_with_the_command() {
    let env = TestEnv::new();
    env.write("env.cfg", "x\n");
    let (code, _, err) = run(&env, &["hash", "env.cfg"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("hint: say which kind it is, e.g. `envaudit hash env.cfg --kind conda`"),
        "{err}"
    );
}

#[test]
fn lint_exit_code_follows_fail_on() {
    let env = TestEnv::new();
    env.write("requirements.txt", "numpy\npandas==2.2.2\n");
    let cases: &[(&[&str], i32)] = &[
        (&[], 1),
        (&["--fail-on", "error"], 0),
        (&["--fail-on", "never"], 0),
        (&["--fail-on", "unpinned-dependency"], 1),
        (&["--fail-on", "remote-include,wildcard-pin"], 0),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["lint", "requirements.txt"];
        args.extend_from_slice(extra);
        assert_eq!(run(&env, &args).0, *expected, "{args:?}");
    }
    env.write("pinned.txt", "numpy==1.26.4\n");
    assert_eq!(run(&env, &["lint", "pinned.txt"]).0, 0);
}

#[test]
fn accepted_findings_from_envaudit_toml_never_fail() {
    let env = TestEnv::new();
    env.write("requirements.txt", "numpy\n");
    env.write(
        "envaudit.toml",
        "[[accept]]\ncode = \"unpinned-dependency\"\npackage = \"NumPy\"\nreason = \"tracked in ticket 12\"\n",
    );
    let (code, out, _) = run(&env, &["lint", "requirements.txt", "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"][0]["accepted"], "tracked in ticket 12");
    // Found from a sub-folder too.
    std::fs::create_dir_all(env.path("sub")).unwrap();
    let out = env
        .envaudit()
        .current_dir(env.path("sub"))
        .args(["lint", "../requirements.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn lint_markdown_is_a_table_for_pull_requests() {
    let env = TestEnv::new();
    env.write("requirements.txt", "numpy\n");
    let (_, out, _) = run(&env, &["lint", "requirements.txt", "--format", "markdown"]);
    insta::assert_snapshot!(out, @r"
    **envaudit lint** requirements.txt: 1 finding

    | at | severity | code | message |
    |---|---|---|---|
    | `requirements.txt:1:1` | warning | `unpinned-dependency` | pip `numpy`: no version specifier |
    ");
}

#[test]
fn readme_quickstart_commands_run_on_the_bundled_example() {
    let env = TestEnv::new();
    let example = root().join(fixture("example"));
    let out = env
        .envaudit()
        .arg("hash")
        .arg(&example)
        .arg("--explain")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env.envaudit().arg("lint").arg(&example).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the example has findings to show"
    );
}

/// The README's main job: lock the regenerated example image, diff it against the committed
/// lock of the first build. Run from the package root, as the README does.
#[test]
fn readme_main_job_locks_the_example_and_shows_silent_drift() {
    let env = TestEnv::new();
    let lock = env.path("envaudit.lock");
    let lock_arg = format!("@:{}", lock.display());
    let out = env
        .envaudit()
        .current_dir(root())
        .args(["lock", "fixtures/example/environment.yml"])
        .args(["--image", "oci:fixtures/example/image:v2"])
        .args(["--base-image", "oci:fixtures/example/image:base"])
        .arg("--lockfile")
        .arg(&lock)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env
        .envaudit()
        .current_dir(root())
        .args(["diff", "@:fixtures/example/envaudit.lock", &lock_arg])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 environment: 1 changed (1 silent drift)"),
        "{text}"
    );
    // Locking the first build again reproduces the committed snapshot's content.
    let out = env
        .envaudit()
        .current_dir(root())
        .args(["lock", "fixtures/example/environment.yml"])
        .args(["--image", "oci:fixtures/example/image:v1"])
        .args(["--base-image", "oci:fixtures/example/image:base"])
        .arg("--lockfile")
        .arg(&lock)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env
        .envaudit()
        .current_dir(root())
        .args(["diff", "@:fixtures/example/envaudit.lock", &lock_arg])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("0 package changes"), "{text}");
}

/// docs/cli.md is the help text of every command; `ENVAUDIT_BLESS=1` regenerates it.
#[test]
fn cli_doc_is_the_current_help() {
    let env = TestEnv::new();
    let mut doc = String::from(
        "# Command-line reference\n\nGenerated from `--help`; a test keeps it current.\n",
    );
    for args in [
        &["--help"][..],
        &["hash", "--help"],
        &["lint", "--help"],
        &["resolve", "--help"],
        &["catalog", "--help"],
        &["lock", "--help"],
        &["import", "--help"],
        &["build", "--help"],
        &["diff", "--help"],
        &["log", "--help"],
        &["drift", "--help"],
        &["check", "--help"],
        &["predict", "--help"],
        &["why", "--help"],
        &["graph", "--help"],
        &["report", "--help"],
        &["attest", "--help"],
        &["verify", "--help"],
        &["pin", "--help"],
        &["export", "--help"],
        &["fleet", "merge", "--help"],
        &["fleet", "query", "--help"],
        &["completions", "--help"],
        &["fleet", "--help"],
        &["fleet", "scan", "--help"],
    ] {
        let (_, out, _) = run(&env, args);
        let title = if args.len() == 1 {
            "envaudit".to_owned()
        } else {
            format!("envaudit {}", args[..args.len() - 1].join(" "))
        };
        write!(doc, "\n## `{title}`\n\n```text\n{out}```\n").unwrap();
    }
    let path = root().join("docs/cli.md");
    if std::env::var_os("ENVAUDIT_BLESS").is_some() {
        std::fs::write(&path, &doc).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap_or_default(),
        doc,
        "docs/cli.md is stale: rerun with ENVAUDIT_BLESS=1"
    );
}

#[test]
fn resolve_of_a_local_path_says_which_transport_to_write() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path("layout")).unwrap();
    let (code, _, err) = run(&env, &["resolve", "layout"]);
    assert_eq!(code, 2);
    assert!(err.contains("write `oci:layout`"), "{err}");
    env.write("img.tar", "x");
    let (code, _, err) = run(&env, &["resolve", "img.tar"]);
    assert_eq!(code, 2);
    assert!(err.contains("write `docker-archive:img.tar`"), "{err}");
}
