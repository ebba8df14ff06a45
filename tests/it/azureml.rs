//! Azure ML identities through the command line: the SDK v2 anonymous version agrees with
//! the reference values azure-ai-ml 1.35 produced (AZUREML.md section 2.2), and the SDK v1
//! image details are recorded without their password.

use crate::support::{TestEnv, root};

fn hash_json(env: &TestEnv, args: &[&str]) -> serde_json::Value {
    let out = env
        .envaudit()
        .args(["hash", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fixture(rel: &str) -> String {
    root()
        .join("fixtures/azureml")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn anonymous_versions_agree_with_azure_ai_ml_reference_values() {
    let env = TestEnv::new();
    let cases: Vec<(Vec<String>, &str)> = vec![
        // C: image without tag + conda file
        (
            vec![fixture("inputs/v2/env_image_conda.yml")],
            "30ad64650a1ca129bd9b7c0b3a652cbbd7b60cdd98c10e7f81d48c5e700336ba",
        ),
        // C2: the inline environment of a job YAML
        (
            vec![fixture("inputs/v2/job.yml")],
            "cae3f2915ee5d05e3ef236a0dba1a5087152144c2ea71bad04975a060d6c9c36",
        ),
        // C again, as a conda file plus --image
        (
            vec![
                fixture("inputs/conda.yaml"),
                "--image".into(),
                "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04".into(),
            ],
            "30ad64650a1ca129bd9b7c0b3a652cbbd7b60cdd98c10e7f81d48c5e700336ba",
        ),
        // D: a local build context, no dockerfile_path
        (
            vec![fixture("inputs/build_ctx")],
            "27738bc9c41ebf6557da56d7d4c92a4293ad3f71238048d28beeff0110c19b91",
        ),
        // G: azureml-examples pydata
        (
            vec![fixture(
                "inputs/azureml-examples/docker-image-plus-conda.yml",
            )],
            "2663e0731c5ba417f8847eaa04128daa1684c92abe2557c4523bf29842156c6f",
        ),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = hash_json(&env, &args);
        assert_eq!(v["azureml_v2_anonymous_version"], expected, "{args:?}");
    }
}

#[test]
fn a_named_yaml_gets_the_version_it_would_have_inline() {
    let env = TestEnv::new();
    let dir = root().join("fixtures/azureml/inputs/v2");
    let named = hash_json(&env, &[&dir.join("env_image_conda.yml").to_string_lossy()]);
    env.write("conda.yaml", std::fs::read(dir.join("conda.yaml")).unwrap());
    let p = env.write(
        "inline.yml",
        "image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04\nconda_file: conda.yaml\n",
    );
    let inline = hash_json(&env, &[&p.to_string_lossy()]);
    assert_eq!(
        named["azureml_v2_anonymous_version"],
        inline["azureml_v2_anonymous_version"]
    );
}

#[test]
fn where_azure_and_envaudit_disagree_explain_says_so() {
    let env = TestEnv::new();
    env.write("a/conda.yml", "name: one\ndependencies:\n  - python=3.10\n");
    env.write("b/conda.yml", "name: two\ndependencies:\n  - python=3.10\n");
    let a = env.write("a/env.yml", "image: python:3.10\nconda_file: conda.yml\n");
    let b = env.write(
        "b/env.yml",
        "image: docker.io/library/python:3.10\nconda_file: conda.yml\n",
    );
    let (va, vb) = (
        hash_json(&env, &[&a.to_string_lossy()]),
        hash_json(&env, &[&b.to_string_lossy()]),
    );
    assert_eq!(
        va["definition_hash"], vb["definition_hash"],
        "same recipe for envaudit"
    );
    assert_ne!(
        va["azureml_v2_anonymous_version"], vb["azureml_v2_anonymous_version"],
        "not for Azure"
    );
    let notes = va["notes"].to_string();
    assert!(notes.contains("`name:`"), "{notes}");
    assert!(notes.contains("as written (`python:3.10`)"), "{notes}");
    let out = env
        .envaudit()
        .args(["hash", "--explain"])
        .arg(&a)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("note: Azure hashes the image as written")
    );
}

#[test]
fn no_anonymous_version_comes_with_the_reason() {
    let env = TestEnv::new();
    let v = hash_json(
        &env,
        &[&root()
            .join("fixtures/azureml/v1-saved/rich")
            .to_string_lossy()],
    );
    assert!(v["azureml_v2_anonymous_version"].is_null());
    assert!(
        v["notes"][0].as_str().unwrap().contains("SDK v1"),
        "{}",
        v["notes"]
    );
    let p = env.write(
        "env.yml",
        "build:\n  path: https://github.com/x/y.git#main:ctx\n",
    );
    let v = hash_json(&env, &[&p.to_string_lossy()]);
    assert!(v["azureml_v2_anonymous_version"].is_null());
    assert!(v["notes"].to_string().contains("remote"), "{}", v["notes"]);
}

#[test]
fn v1_image_details_are_recorded_without_the_password() {
    let env = TestEnv::new();
    let details = env.write(
        "details.json",
        r#"{"imageExistsInRegistry": true,
            "dockerImage": {"name": "azureml/azureml_e9607b2514b066c851012848913ba19f",
                            "registry": {"address": "myacr.azurecr.io", "username": "myacr", "password": "s3cret-PaSsWoRd"}},
            "pythonEnvironment": {"interpreterPath": "/azureml-envs/azureml_x/bin/python", "condaEnvironmentPath": "/azureml-envs/azureml_x"},
            "ingredients": {"dockerfile": "FROM mcr.microsoft.com/azureml/base\n"}}"#,
    );
    let rich = root().join("fixtures/azureml/v1-saved/rich");
    let out = env
        .envaudit()
        .args(["hash", "--format", "json", "--azureml-image-details"])
        .arg(&details)
        .arg(&rich)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("s3cret"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["azureml_v1_image"]["image_hash"],
        "e9607b2514b066c851012848913ba19f"
    );
    assert_eq!(
        v["azureml_v1_image"]["registry_address"],
        "myacr.azurecr.io"
    );
    assert_eq!(v["azureml_v1_image"]["exists"], true);
    // A malformed file is an input error that does not echo the password line.
    env.write(
        "bad.json",
        "{\"dockerImage\": {\"registry\": {\"password\": \"s3cret-PaSsWoRd\" oops}}}",
    );
    let out = env
        .envaudit()
        .args(["hash", "--azureml-image-details", "bad.json"])
        .arg(&rich)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret"));
}
