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
    // 79 files: 48 single-file definitions and 6 curated asset folders (31 files).
    assert_eq!(loaded, 54, "loaded {loaded}");
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
    assert_eq!(base.pin, envaudit::model::pin::ImagePinState::Template);
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

/// The facts of a model that must not depend on how the file was saved.
fn facts(def: &envaudit::definition::EnvDefinition, reencoded: &str) -> Vec<String> {
    // A file the Dockerfile copies (`COPY . .` copies the Dockerfile itself) is hashed as
    // bytes, so re-encoding it rightly changes the hash; every other definition file is not.
    let copied = matches!(&def.build_context, Some(envaudit::definition::BuildContext::Local { files, .. }) if files.iter().any(|f| f.path == reencoded));
    let mut out = if copied {
        Vec::new()
    } else {
        vec![envaudit::hash::definition_hash(def).to_string()]
    };
    for d in def.dependencies() {
        out.push(format!(
            "{} {} {} {}:{}",
            d.ecosystem, d.raw, d.pin.state, d.origin.line, d.origin.column
        ));
    }
    out
}

#[test]
fn every_corpus_file_reencoded_as_utf16_utf8_bom_and_crlf_loads_to_the_same_model() {
    let env = crate::support::TestEnv::new();
    for (i, e) in support::corpus().iter().enumerate() {
        if e.kind == "curated-asset" {
            continue;
        }
        let original = definition::load(&e.local_path, &LoadOptions::default()).unwrap();
        let dir = e.local_path.parent().unwrap();
        let name = e.local_path.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(&e.local_path).unwrap();
        let encodings: [(&str, Vec<u8>); 3] = [
            ("utf16", support::utf16le_bom(&text)),
            ("utf8bom", support::utf8_bom(&text)),
            (
                "crlf",
                text.replace("\r\n", "\n")
                    .replace('\n', "\r\n")
                    .into_bytes(),
            ),
        ];
        for (enc, bytes) in encodings {
            let copy = env.path(&format!("{i}-{enc}"));
            support::copy_tree(dir, &copy);
            std::fs::write(copy.join(name), bytes).unwrap();
            let again = definition::load(&copy.join(name), &LoadOptions::default())
                .unwrap_or_else(|err| panic!("{} as {enc}: {err}", e.local_path.display()));
            // A Dockerfile's own bytes are not an ingredient; a COPY'd file's are, and a
            // re-encoded file is only re-encoded when it is the definition itself.
            assert_eq!(
                facts(&again, name),
                facts(&original, name),
                "{} as {enc}",
                e.local_path.display()
            );
        }
    }
}

#[test]
fn registry_password_in_a_v1_definition_never_reaches_output() {
    let env = crate::support::TestEnv::new();
    let json = std::fs::read_to_string("fixtures/azureml/v1-saved/rich/azureml_environment.json")
        .unwrap()
        .replace("\"password\": null", "\"password\": \"hunter2-secret\"")
        .replace("\"username\": null", "\"username\": \"acr-user\"");
    let p = env.write("v1/azureml_environment.json", json);
    for args in [
        &["hash", "--explain"][..],
        &["hash", "--format", "json"],
        &["lint", "--format", "json"],
    ] {
        let out = env.envaudit().args(args).arg(&p).output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("hunter2"), "{args:?} leaks the password");
    }
    let def = definition::load(&p, &LoadOptions::default()).unwrap();
    assert!(!serde_json::to_string(&def).unwrap().contains("hunter2"));
}

#[test]
fn kind_option_overrides_detection() {
    let env = crate::support::TestEnv::new();
    let p = env.write("deps.cfg", "numpy==1.26.4\n");
    let def = definition::load(
        &p,
        &LoadOptions {
            kind: Some(DefinitionKind::Requirements),
            image: None,
        },
    )
    .unwrap();
    assert_eq!(def.kind, DefinitionKind::Requirements);
    assert_eq!(def.pip_dependencies.len(), 1);
}
