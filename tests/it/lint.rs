//! Lint facts on real definitions.

use std::path::Path;

use envaudit::analysis::lint::{LintOptions, lint};
use envaudit::definition::{self, LoadOptions};
use envaudit::diag::Code;

fn codes(path: &str, options: &LintOptions) -> Vec<(Code, Option<String>)> {
    let def = definition::load(Path::new(path), &LoadOptions::default()).unwrap();
    lint(&def, options)
        .findings
        .into_iter()
        .map(|f| (f.code, f.package))
        .collect()
}

fn has(findings: &[(Code, Option<String>)], code: Code, package: Option<&str>) -> bool {
    findings
        .iter()
        .any(|(c, p)| *c == code && p.as_deref() == package)
}

#[test]
fn v1_default_environment_has_the_unpinned_azureml_defaults() {
    let f = codes("fixtures/azureml/v1-saved/default", &LintOptions::default());
    assert!(
        has(&f, Code::UnpinnedDependency, Some("azureml-defaults")),
        "{f:?}"
    );
    assert!(has(&f, Code::FuzzyCondaPin, Some("python")), "{f:?}");
    assert!(has(&f, Code::UnpinnedCondaPip, Some("pip")), "{f:?}");
    assert!(has(&f, Code::FloatingBaseImage, None), "{f:?}");
}

#[test]
fn user_managed_environment_reports_a_note_instead_of_unpinned_conda_entries() {
    let f = codes(
        "fixtures/azureml/v1-saved/dockerfile",
        &LintOptions::default(),
    );
    assert!(has(&f, Code::UserManagedConda, None), "{f:?}");
    assert!(
        !has(&f, Code::UnpinnedDependency, Some("azureml-defaults")),
        "{f:?}"
    );
}

#[test]
fn inference_environment_without_azureml_defaults_is_an_error() {
    let f = codes(
        "fixtures/azureml/inputs/v2/env_inference.yml",
        &LintOptions::default(),
    );
    assert!(has(&f, Code::MissingAzuremlDefaults, None), "{f:?}");
    // The example's pip list has no azureml-defaults: an error only when used for inference.
    let f = codes(
        "fixtures/example",
        &LintOptions {
            for_inference: true,
        },
    );
    assert!(has(&f, Code::MissingAzuremlDefaults, None), "{f:?}");
    let f = codes("fixtures/example", &LintOptions::default());
    assert!(
        !f.iter().any(|(c, _)| *c == Code::MissingAzuremlDefaults),
        "{f:?}"
    );
    // This one pins azureml-defaults==1.38.0: nothing to report even for inference.
    let f = codes(
        "fixtures/azureml/inputs/v2/env_image_conda.yml",
        &LintOptions {
            for_inference: true,
        },
    );
    assert!(
        !f.iter().any(|(c, _)| *c == Code::MissingAzuremlDefaults),
        "{f:?}"
    );
}

#[test]
fn pydata_example_floats_on_latest_with_fuzzy_python_and_unpinned_conda_pip() {
    let f = codes(
        "fixtures/azureml/inputs/azureml-examples/docker-image-plus-conda.yml",
        &LintOptions::default(),
    );
    assert!(has(&f, Code::LatestBaseImage, None), "{f:?}");
    assert!(has(&f, Code::FuzzyCondaPin, Some("python")), "{f:?}");
    assert!(has(&f, Code::UnpinnedCondaPip, Some("pip")), "{f:?}");
    // every pip package is == pinned
    assert!(
        !f.iter()
            .any(|(c, p)| *c == Code::UnpinnedDependency && p.as_deref() != Some("pip")),
        "{f:?}"
    );
}

#[test]
fn remote_include_is_reported() {
    let f = codes(
        "fixtures/corpus/files/Azure__MachineLearningNotebooks/how-to-use-azureml/automated-machine-learning/automl_env_linux.yml",
        &LintOptions::default(),
    );
    assert!(f.iter().any(|(c, _)| *c == Code::RemoteInclude), "{f:?}");
}

#[test]
fn curated_templates_are_notes_not_unpinned() {
    let f = codes(
        "fixtures/corpus/files/Azure__azureml-assets/assets/inference/environments/mlflow-py312-inference",
        &LintOptions::default(),
    );
    assert!(
        f.iter().any(|(c, _)| *c == Code::UnresolvedTemplate),
        "{f:?}"
    );
    assert!(
        !f.iter()
            .any(|(c, _)| *c == Code::LatestBaseImage || *c == Code::FloatingBaseImage),
        "{f:?}"
    );
}

#[test]
fn every_finding_code_is_documented() {
    let doc = std::fs::read_to_string(crate::support::root().join("docs/diagnostics.md")).unwrap();
    for code in Code::ALL {
        assert!(
            doc.contains(&format!("### `{code}` ({})", code.severity())),
            "docs/diagnostics.md lacks `{code}`"
        );
    }
}

#[test]
fn an_entry_that_is_not_a_valid_spec_is_one_invalid_spec_error() {
    let env = crate::support::TestEnv::new();
    let conda = env.write(
        "conda.yml",
        "dependencies:\n  - pip==24.0\n  - pkg[extra]>=1\n  - pip:\n    - numpy --index-url https://x\n",
    );
    let def = definition::load(&conda, &LoadOptions::default()).unwrap();
    let report = lint(&def, &LintOptions::default());
    let found: Vec<(Code, u32, u32)> = report
        .findings
        .iter()
        .map(|f| {
            let o = f.origin.as_ref().unwrap();
            (f.code, o.line, o.column)
        })
        .collect();
    // One error each, where the grammar stopped; not also `unpinned-dependency`.
    assert_eq!(
        found,
        [(Code::InvalidSpec, 3, 8), (Code::InvalidSpec, 5, 13)],
        "{:?}",
        report.findings
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity == envaudit::diag::Severity::Error)
    );
}

#[test]
fn lint_fails_on_an_invalid_spec_as_fail_on_says() {
    let env = crate::support::TestEnv::new();
    env.write("conda.yml", "dependencies:\n  - pip==24.0\n  - a:b\n");
    let lint = |extra: &[&str]| {
        env.envaudit()
            .args(["lint", "conda.yml"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = lint(&[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("invalid-spec"), "{stdout}");
    assert!(stdout.contains("conda.yml:3:6"), "{stdout}");
    assert_eq!(lint(&["--fail-on", "never"]).status.code(), Some(0));
    assert_eq!(
        lint(&["--fail-on", "unpinned-dependency"]).status.code(),
        Some(0)
    );
}

/// Every definition file among the fixtures (the real corpus, the Azure ML inputs and the
/// generated azure-ai-ml cases, including the ones Azure ML refuses) is recognised as a
/// definition of the kind `detect` gives it, so `lint PATH...` skips none of them and
/// reports the broken ones as errors.
#[test]
fn every_fixture_definition_is_recognised_as_its_kind() {
    let root = crate::support::root();
    let mut files = Vec::new();
    for dir in [
        "fixtures/corpus/files",
        "fixtures/azureml",
        "fixtures/azureml-anon/cases/conda",
        "fixtures/azureml-anon/cases/env",
        "fixtures/example",
    ] {
        walk(&root.join(dir), &mut files);
    }
    let mut checked = 0;
    for path in &files {
        let Ok(kind) = definition::detect(path) else {
            continue;
        };
        let recognized = definition::recognize(path).unwrap();
        // A curated asset's parts are read through its folder; alone, the extra config
        // (`environment.yaml` with an `image:` mapping) is no definition.
        let curated_part = path.to_string_lossy().contains("azureml-assets")
            && path.file_name().is_some_and(|n| n == "environment.yaml");
        if curated_part {
            assert!(
                matches!(recognized, definition::Recognized::NotDefinition(_)),
                "{}",
                path.display()
            );
            continue;
        }
        assert_eq!(
            recognized,
            definition::Recognized::Definition(kind),
            "{}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked > 450, "only {checked} definitions checked");
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n != "image" && n != "index" && n != "channel")
            {
                walk(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

fn lint_cmd(env: &crate::support::TestEnv, args: &[&str]) -> (i32, String, String) {
    let out = env.envaudit().arg("lint").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A repository as pre-commit sees it: definitions among workflow, chart and other files.
fn mixed_repository() -> crate::support::TestEnv {
    let env = crate::support::TestEnv::new();
    env.write(
        ".github/workflows/ci.yml",
        "name: CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n",
    );
    env.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: x\nversion: 1.0.0\ndependencies:\n  - name: redis\n    version: 1.2.3\n",
    );
    env.write(
        "jobs/train.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ncommand: python train.py\nenvironment: azureml:AzureML-sklearn-1.5@latest\n",
    );
    env.write("LICENSE.txt", "MIT License\n");
    env.write(
        "environment.yml",
        "name: x\nchannels: [conda-forge]\ndependencies:\n  - python==3.10.14\n  - numpy\n",
    );
    env.write("requirements.txt", "pandas==2.2.2\ntorch\n");
    env
}

const MIXED: &[&str] = &[
    ".github/workflows/ci.yml",
    "chart/Chart.yaml",
    "jobs/train.yml",
    "LICENSE.txt",
    "environment.yml",
    "requirements.txt",
];

#[test]
fn lint_of_many_paths_skips_what_is_not_a_definition_and_reports_each_file() {
    let env = mixed_repository();
    let (code, out, err) = lint_cmd(&env, MIXED);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.is_empty(), "{err}");
    assert!(
        out.ends_with("2 definitions: 2 findings; 4 paths skipped (not environment definitions)\n"),
        "{out}"
    );
    assert!(out.contains("environment.yml:5:5"), "{out}");
    assert!(out.contains("requirements.txt:2:1"), "{out}");
    assert!(!out.contains("ci.yml"), "{out}");

    let (code, out, _) = lint_cmd(&env, &[MIXED, &["--format", "markdown"]].concat());
    assert_eq!(code, 1);
    insta::assert_snapshot!(out, @r"
    **envaudit lint** 2 definitions: 2 findings; 4 paths skipped (not environment definitions)

    | at | severity | code | message |
    |---|---|---|---|
    | `environment.yml:5:5` | warning | `unpinned-dependency` | conda `numpy`: no version constraint |
    | `requirements.txt:2:1` | warning | `unpinned-dependency` | pip `torch`: no version specifier |
    ");

    // --fail-on applies to the findings of all of them.
    assert_eq!(
        lint_cmd(&env, &[MIXED, &["--fail-on", "error"]].concat()).0,
        0
    );
    // Nothing but non-definitions: nothing to report, success.
    let (code, out, _) = lint_cmd(&env, &MIXED[..4]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("0 definitions: 0 findings; 4 paths skipped"),
        "{out}"
    );
}

#[test]
fn lint_json_of_many_paths_lists_reports_skipped_paths_and_why() {
    let env = mixed_repository();
    let (code, out, _) = lint_cmd(&env, &[MIXED, &["--format", "json"]].concat());
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema_version"], 1);
    let defs: Vec<(&str, &str, usize)> = v["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap(),
                d["kind"].as_str().unwrap(),
                d["findings"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        defs,
        [
            ("environment.yml", "conda", 1),
            ("requirements.txt", "requirements", 1)
        ]
    );
    let skipped: Vec<(&str, &str)> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["path"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        skipped,
        [
            (".github/workflows/ci.yml", "other-yaml"),
            ("chart/Chart.yaml", "other-yaml"),
            ("jobs/train.yml", "registered-environment"),
            ("LICENSE.txt", "not-requirements"),
        ]
    );
    assert_eq!(
        v["skipped"][2]["reference"],
        "azureml:AzureML-sklearn-1.5@latest"
    );
    assert_eq!(v["errors"], serde_json::json!([]));
}

#[test]
fn a_malformed_definition_among_many_is_an_error_at_its_place_and_the_rest_is_linted() {
    let env = mixed_repository();
    env.write(
        "envs/gpu.yml",
        "name: gpu\ndependencies:\n  - numpy\n  - [unclosed\n",
    );
    let (code, out, err) = lint_cmd(&env, &[MIXED, &["envs/gpu.yml"]].concat());
    assert_eq!(code, 2, "{out}{err}");
    insta::assert_snapshot!(err, @r"
    error: cannot load environment definition `envs/gpu.yml`
      caused by: envs/gpu.yml:4:5: unclosed bracket '['
      |
    4 |   - [unclosed
      |     ^
    ");
    assert!(
        out.ends_with(
            "2 definitions: 2 findings, 1 definition that could not be read; 4 paths skipped (not environment definitions)\n"
        ),
        "{out}"
    );
    let (code, out, _) = lint_cmd(
        &env,
        &["envs/gpu.yml", "environment.yml", "--format", "json"],
    );
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["errors"][0]["path"], "envs/gpu.yml");
    assert_eq!(v["errors"][0]["origin"]["line"], 4);
    // A path that does not exist is an error too, never a skip.
    let (code, _, err) = lint_cmd(&env, &["environment.yml", "missing.yml"]);
    assert_eq!(code, 2);
    assert!(err.contains("`missing.yml` does not exist"), "{err}");
}

#[test]
fn one_path_that_is_not_a_definition_is_skipped_with_the_reason() {
    let env = mixed_repository();
    let (code, out, err) = lint_cmd(&env, &["jobs/train.yml"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    insta::assert_snapshot!(out, @"jobs/train.yml: skipped, uses the registered environment `azureml:AzureML-sklearn-1.5@latest`; lint that environment's definition");
}

#[test]
fn kind_reads_every_path_as_that_kind_and_skips_none() {
    let env = mixed_repository();
    env.write("deps.txt", "numpy\n");
    let (code, out, err) = lint_cmd(&env, &["LICENSE.txt", "deps.txt", "--kind", "requirements"]);
    // `MIT License` is no requirement: read as one it is an error, not a skip.
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("LICENSE.txt:1:"), "{err}");
    assert!(out.contains("deps.txt:1:1"), "{out}");
}
