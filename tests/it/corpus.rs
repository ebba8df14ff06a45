//! Every corpus definition loads, and its normalised model is snapshot-tested.

use std::path::{Path, PathBuf};

use envaudit::definition::{self, DefinitionKind, LoadOptions};

use crate::support::{self, CorpusEntry};

/// What to load for a corpus row: the file, or the asset folder for curated files.
fn target(e: &CorpusEntry) -> Option<PathBuf> {
    if e.kind == "curated-asset" {
        // One load per asset folder, from its asset.yaml row.
        return e
            .local_path
            .ends_with("asset.yaml")
            .then(|| e.local_path.parent().unwrap().to_path_buf());
    }
    Some(e.local_path.clone())
}

fn snapshot_name(p: &Path) -> String {
    p.strip_prefix("fixtures/corpus/files")
        .unwrap_or(p)
        .to_string_lossy()
        .replace(['/', '.'], "_")
}

#[test]
fn corpus_checksums_match_the_copied_files() {
    let root = support::root().join("fixtures/corpus");
    let sums = std::fs::read_to_string(root.join("CHECKSUMS.sha256")).unwrap();
    let mut n = 0;
    for line in sums.lines().filter(|l| !l.is_empty()) {
        let (hex, path) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(root.join(path)).unwrap();
        assert_eq!(
            envaudit::model::Digest::sha256_of(&bytes).hex(),
            hex,
            "{path}"
        );
        n += 1;
    }
    assert_eq!(n, 79);
}

#[test]
fn every_corpus_definition_loads_and_its_model_is_snapshotted() {
    let entries = support::corpus();
    assert_eq!(entries.len(), 79);
    let mut loaded = 0;
    for e in &entries {
        let Some(path) = target(e) else { continue };
        let def = definition::load(&path, &LoadOptions::default())
            .unwrap_or_else(|err| panic!("{}: {err:?}", path.display()));
        loaded += 1;
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_suffix(snapshot_name(&path));
        settings.set_info(&e.notes);
        settings.bind(|| insta::assert_yaml_snapshot!("corpus", def));
    }
    assert!(loaded >= 60, "loaded {loaded}");
}

#[test]
fn corpus_kinds_are_detected_from_the_path() {
    for e in support::corpus() {
        let Some(path) = target(&e) else { continue };
        let kind = definition::detect(&path).unwrap();
        let expected = match e.kind.as_str() {
            "azureml-v2-yaml" => DefinitionKind::AzuremlV2,
            "azureml-v1-json" => DefinitionKind::AzuremlV1,
            "conda-yaml" => DefinitionKind::Conda,
            "pip-requirements" => DefinitionKind::Requirements,
            "dockerfile" => DefinitionKind::Dockerfile,
            "curated-asset" => DefinitionKind::Curated,
            other => panic!("unknown corpus kind {other}"),
        };
        assert_eq!(kind, expected, "{}", path.display());
    }
}

#[test]
fn v2_yaml_conda_file_and_build_paths_resolve_relative_to_the_yaml() {
    let root = "fixtures/corpus/files/Azure__azureml-examples/cli/assets/environment";
    let def = definition::load(
        Path::new(&format!("{root}/docker-image-plus-conda.yaml")),
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        def.conda_file.as_deref(),
        Some(Path::new(&format!("{root}/conda-yamls/pydata.yml")))
    );
    assert!(
        def.base_image
            .as_ref()
            .unwrap()
            .image
            .as_ref()
            .unwrap()
            .tag()
            .is_none(),
        "untagged image"
    );
    let def = definition::load(
        Path::new(&format!("{root}/docker-context.yml")),
        &LoadOptions::default(),
    )
    .unwrap();
    let dockerfile = def.dockerfile.as_ref().unwrap();
    assert_eq!(
        dockerfile.path,
        Path::new(&format!("{root}/docker-contexts/python-and-pip/Dockerfile"))
    );
    assert_eq!(
        def.base_image.as_ref().unwrap().canonical(),
        "docker.io/library/python:3.8"
    );
    // requirements.txt is copied and `pip install -r`'d: its pins are declared dependencies.
    assert!(
        def.pip_dependencies
            .iter()
            .all(|d| d.origin.file.ends_with("requirements.txt"))
    );
    assert!(!def.pip_dependencies.is_empty());
}

#[test]
fn pre_ga_v2_syntax_loads_and_is_marked_legacy() {
    for f in [
        "fixtures/corpus/files/Azure__azureml-examples/cli/assets/environment/python-ml-basic-cpu.yml",
        "fixtures/corpus/files/Azure__azureml-examples/cli/jobs/train/fastai/mnist-resnet18/fastai_env.yml",
    ] {
        let def = definition::load(Path::new(f), &LoadOptions::default()).unwrap();
        assert!(def.legacy_syntax.is_some(), "{f}");
        assert!(def.base_image.is_some(), "{f}: docker.image read");
        assert!(def.conda_file.is_some(), "{f}: file: prefix resolved");
    }
}

#[test]
fn curated_assets_resolve_their_context_and_keep_release_templates() {
    let dir = Path::new(
        "fixtures/corpus/files/Azure__azureml-assets/assets/inference/environments/minimal-py311-inference",
    );
    let def = definition::load(dir, &LoadOptions::default()).unwrap();
    assert_eq!(def.kind, DefinitionKind::Curated);
    assert_eq!(
        def.metadata.name.as_deref(),
        Some("minimal-py311-inference")
    );
    let base = def.base_image.as_ref().unwrap();
    assert_eq!(base.pin, envaudit::pin::ImagePinState::Template);
    assert!(
        def.templates
            .iter()
            .any(|t| t.text.contains("latest-image-tag") || t.text.contains("latest-pypi-version"))
    );
    assert!(
        !def.conda_dependencies.is_empty(),
        "context/conda_dependencies.yaml is read"
    );
}

#[test]
fn v1_json_alone_reads_inline_conda_with_positions_in_the_json() {
    let def = definition::load(
        Path::new("fixtures/corpus/files/microsoft__MLOpsPython/diabetes_regression/azureml_environment.json"),
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(def.kind, DefinitionKind::AzuremlV1);
    assert!(def.base_image.is_some());
}
