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
