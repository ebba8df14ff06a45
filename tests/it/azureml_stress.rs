//! A definition Azure ML accepts always gets its identity: replays
//! `tests/vectors/azureml_anonymous_stress.json` (`scripts/gen-azureml-stress-vectors.py`,
//! which ran azure-ai-ml itself) through envaudit's loading, hashing and Azure identity, with
//! no Python. Each case is an Azure ML v2 environment whose conda file stresses the YAML
//! emitter or the spec grammar; the corpus files that are v2 environments come along.
//!
//! For every case azure-ai-ml accepts, envaudit gives the same anonymous version (and hashes
//! the same conda text) and a definition hash, with an `invalid-spec` finding for each entry
//! that is not a valid spec. What azure-ai-ml rejects gets no anonymous version. The few
//! cases envaudit refuses on purpose carry their reason in the vectors file.

use std::collections::BTreeMap;
use std::path::Path;

use envaudit::definition::{self, DefinitionKind, EnvDefinition, LoadOptions};
use envaudit::diag::Code;

use crate::support::root;

#[derive(serde::Deserialize)]
struct Vectors {
    generator: String,
    oracle: String,
    image: String,
    vectors: Vec<Case>,
    corpus: Vec<CorpusCase>,
}

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    files: BTreeMap<String, String>,
    expected: Expected,
    /// Accepted by azure-ai-ml, refused by envaudit on purpose: the reason.
    refused: Option<String>,
}

#[derive(serde::Deserialize)]
struct CorpusCase {
    id: String,
    kind: String,
    path: String,
    /// The corpus index's kind, for a file that is not an Azure ML v2 environment.
    corpus_kind: Option<String>,
    expected: Option<Expected>,
}

#[derive(serde::Deserialize, Debug)]
struct Expected {
    version: Option<String>,
    translated_conda_file: Option<String>,
    upload_hash: Option<String>,
    error: Option<String>,
}

fn vectors() -> Vectors {
    let path = root().join("tests/vectors/azureml_anonymous_stress.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Where envaudit's identity of a loaded definition differs from what azure-ai-ml computed.
fn disagreement(def: &EnvDefinition, expected: &Expected) -> Option<String> {
    let id = envaudit::azureml::v2_identity(def);
    let report = envaudit::hash::report(def, id.clone(), None);
    if expected.error.is_some() {
        return id.version.map(|v| {
            format!(
                "azure-ai-ml rejects it ({:?}) but envaudit gives version {v}",
                expected.error
            )
        });
    }
    if id.translated_conda_file != expected.translated_conda_file {
        return Some(format!(
            "conda text differs:\n--- azure-ai-ml\n{:?}\n--- envaudit\n{:?}",
            expected.translated_conda_file, id.translated_conda_file
        ));
    }
    if id.upload_hash != expected.upload_hash {
        return Some(format!(
            "upload hash {:?} != {:?}",
            id.upload_hash, expected.upload_hash
        ));
    }
    if id.version != expected.version {
        return Some(format!(
            "version {:?} != {:?} ({:?})",
            id.version, expected.version, id.reason
        ));
    }
    if !report.definition_hash.to_string().starts_with("sha256:") {
        return Some(format!("no definition hash: {}", report.definition_hash));
    }
    // One `invalid-spec` finding per entry that is not a spec, pointing into a file read.
    let invalid = def
        .dependencies()
        .filter(|d| d.invalid_spec().is_some())
        .count();
    let findings = &report.findings;
    if findings.len() != invalid
        || findings.iter().any(|f| {
            f.code != Code::InvalidSpec
                || f.origin
                    .as_ref()
                    .is_none_or(|o| !def.files.contains(&o.file) && o.file != def.path)
        })
    {
        return Some(format!(
            "{invalid} invalid entries but findings {findings:?}"
        ));
    }
    None
}

fn write_case(dir: &Path, case: &Case) {
    std::fs::create_dir_all(dir).unwrap();
    for (rel, text) in &case.files {
        std::fs::write(dir.join(rel), text).unwrap();
    }
}

#[test]
fn every_stress_case_azure_ml_accepts_gets_its_anonymous_version_and_a_definition_hash() {
    let v = vectors();
    assert_eq!(v.generator, "scripts/gen-azureml-stress-vectors.py");
    assert!(v.oracle.starts_with("azure-ai-ml=="), "{}", v.oracle);
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let (mut accepted, mut with_findings, mut rejected, mut refused) = (0, 0, 0, 0);
    for (n, case) in v.vectors.iter().enumerate() {
        let dir = tmp.path().join(format!("{n:04}"));
        write_case(&dir, case);
        let options = LoadOptions {
            kind: Some(DefinitionKind::AzuremlV2),
            image: None,
        };
        let loaded = definition::load(&dir.join("env.yml"), &options);
        match (&case.expected.error, loaded, &case.refused) {
            (None, Err(_), Some(_)) => refused += 1,
            (None, Ok(_), Some(reason)) => failures.push(format!(
                "{}: envaudit now accepts it; drop its `refused` reason ({reason})",
                case.id
            )),
            (None, Err(e), None) => failures.push(format!(
                "{}: azure-ai-ml accepts it, envaudit refuses it: {e}",
                case.id
            )),
            (Some(_), Err(_), _) => rejected += 1,
            (_, Ok(def), _) => match disagreement(&def, &case.expected) {
                Some(d) => failures.push(format!("{}: {d}", case.id)),
                None if case.expected.error.is_some() => rejected += 1,
                None => {
                    accepted += 1;
                    if def.dependencies().any(|d| d.invalid_spec().is_some()) {
                        with_findings += 1;
                    }
                }
            },
        }
    }
    let total = v.vectors.len();
    let summary = format!(
        "{total} stress cases: {accepted} accepted by both with the same version ({with_findings} of them with invalid-spec findings), {rejected} rejected by both, {refused} refused by envaudit on purpose, {} disagreements",
        failures.len()
    );
    assert!(failures.is_empty(), "{summary}\n{}", failures.join("\n\n"));
    assert!(total >= 300, "{summary}");
    assert_eq!((accepted, rejected, refused), (473, 5, 7), "{summary}");
    assert!(
        with_findings >= 100,
        "only {with_findings} cases with invalid specs"
    );
    // Each refusal carries its reason in the vectors file; a new one needs a decision.
    assert!(refused <= 10, "{refused} cases refused on purpose");
}

#[test]
fn every_corpus_environment_gets_the_version_azure_ml_gives_it() {
    let v = vectors();
    let mut failures = Vec::new();
    let (mut agree, mut no_version) = (0, 0);
    for case in &v.corpus {
        let mut path = root().join(&case.path);
        if case.corpus_kind.as_deref() == Some("curated-asset") {
            // A curated asset's files are read through its folder.
            while !path.join("asset.yaml").is_file() {
                path = path.parent().unwrap().to_path_buf();
            }
        }
        let options = match case.kind.as_str() {
            "image-conda" => LoadOptions {
                kind: Some(DefinitionKind::Conda),
                image: Some(v.image.clone()),
            },
            _ => LoadOptions::default(),
        };
        let def = match definition::load(&path, &options) {
            Ok(def) => def,
            Err(e) => {
                failures.push(format!("{}: does not load: {e}", case.id));
                continue;
            }
        };
        match &case.expected {
            Some(expected) => match disagreement(&def, expected) {
                Some(d) => failures.push(format!("{}: {d}", case.id)),
                None => agree += 1,
            },
            // Not an Azure ML v2 environment: a hash, and no anonymous version.
            None => match envaudit::azureml::v2_identity(&def).version {
                Some(version) => failures.push(format!(
                    "{}: not a v2 environment, yet version {version}",
                    case.id
                )),
                None => no_version += 1,
            },
        }
    }
    let summary = format!(
        "{} corpus files: {agree} agree with azure-ai-ml, {no_version} are not v2 environments (a hash, no version), {} disagreements",
        v.corpus.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{summary}\n{}", failures.join("\n\n"));
    assert_eq!(
        (v.corpus.len(), agree, no_version),
        (79, 51, 28),
        "{summary}"
    );
}
