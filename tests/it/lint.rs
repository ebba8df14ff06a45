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
