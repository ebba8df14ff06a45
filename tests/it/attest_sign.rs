//! The signed-evidence formats (`envaudit::attest`) checked by the reference
//! implementations, not by our own code: securesystemslib's DSSE and pyca/cryptography over
//! the PAE for signatures (both directions), in-toto-attestation's protobuf bindings for the
//! statement and the SLSA Provenance v1 predicate. Keys are made by the real `openssl`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use envaudit::attest::statement::{
    BuildDefinition, BuildMetadata, Builder, PAYLOAD_TYPE, Provenance, RunDetails,
    SLSA_PROVENANCE_V1,
};
use envaudit::attest::{
    Bundle, DsseError, Envelope, ResourceDescriptor, SigningKey, Statement, VerifyingKey,
};
use envaudit::model::Digest;

use crate::support::{self, TestEnv};

/// The `openssl` commands of each way of making a key, writing `NAME.pem`.
fn make_key(dir: &Path, name: &str, kind: &str) -> (SigningKey, VerifyingKey, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is installed (scripts/test installs it)");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    let key = format!("{name}.pem");
    let public = format!("{name}.pub");
    match kind {
        "ed25519" => openssl(&["genpkey", "-algorithm", "ed25519", "-out", &key]),
        "p256" => openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &key,
        ]),
        "p256-ecparam" => {
            let sec1 = format!("{name}.sec1");
            openssl(&["ecparam", "-genkey", "-name", "prime256v1", "-out", &sec1]);
            openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", &sec1, "-out", &key]);
        }
        other => panic!("no key kind {other}"),
    }
    openssl(&["pkey", "-in", &key, "-pubout", "-out", &public]);
    let (key, public) = (dir.join(key), dir.join(public));
    (
        SigningKey::from_file(&key).unwrap(),
        VerifyingKey::from_file(&public).unwrap(),
        key,
        public,
    )
}

const KINDS: [&str; 3] = ["ed25519", "p256", "p256-ecparam"];

/// Runs the oracle; returns its JSON answer and whether it accepted.
fn oracle(args: &[&dyn AsRef<std::ffi::OsStr>]) -> (serde_json::Value, bool) {
    let out = Command::new(support::evidence_python())
        .arg(support::root().join("scripts/oracles/evidence_oracle.py"))
        .args(args.iter().map(AsRef::as_ref))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "oracle {:?} failed: {}",
        code,
        String::from_utf8_lossy(&out.stderr)
    );
    let answer = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "oracle printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (answer, code == Some(0))
}

fn image_digest() -> Digest {
    Digest::sha256_of(b"the image's platform manifest")
}

fn object(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// A provenance of an image envaudit built, with every field SLSA defines.
fn provenance() -> Provenance {
    Provenance {
        build_definition: BuildDefinition {
            build_type: "https://envaudit.example/build/v1".to_owned(),
            external_parameters: object(serde_json::json!({
                "definition": "env/environment.yml",
                "definitionHash": "sha256:0123",
            })),
            internal_parameters: object(serde_json::json!({"builder": "buildah"})),
            resolved_dependencies: vec![
                ResourceDescriptor::with_digest(
                    "env/environment.yml",
                    &Digest::sha256_of(b"name: train"),
                ),
                ResourceDescriptor {
                    uri: Some("docker.io/library/python:3.11-slim".to_owned()),
                    media_type: Some("application/vnd.oci.image.manifest.v1+json".to_owned()),
                    annotations: BTreeMap::from([("role".to_owned(), "base image".into())]),
                    ..ResourceDescriptor::with_digest("base", &Digest::sha256_of(b"base"))
                },
            ],
        },
        run_details: RunDetails {
            builder: Builder {
                id: "https://envaudit.example/builder/buildah".to_owned(),
                version: BTreeMap::from([("envaudit".to_owned(), "0.1.0".to_owned())]),
                builder_dependencies: vec![ResourceDescriptor {
                    name: Some("buildah".to_owned()),
                    content: Some(b"1.28.2".to_vec()),
                    ..ResourceDescriptor::default()
                }],
            },
            metadata: Some(BuildMetadata {
                invocation_id: Some("run-7".to_owned()),
                started_on: Some("2026-03-04T05:06:07Z".parse().unwrap()),
                finished_on: Some("2026-03-04T05:16:07.123456789Z".parse().unwrap()),
            }),
            byproducts: vec![ResourceDescriptor {
                download_location: Some("https://logs.example/run-7".to_owned()),
                ..ResourceDescriptor::with_digest("build.log", &Digest::sha256_of(b"log"))
            }],
        },
    }
}

fn provenance_statement() -> Statement {
    Statement::new(
        vec![ResourceDescriptor::with_digest(
            "registry.example/train",
            &image_digest(),
        )],
        SLSA_PROVENANCE_V1,
        &provenance(),
    )
    .unwrap()
}

#[test]
fn envelopes_we_sign_verify_with_securesystemslib_and_with_cryptography_over_the_pae() {
    let env = TestEnv::new();
    let statement = provenance_statement();
    for kind in KINDS {
        let (key, _, _, public) = make_key(env.dir.path(), kind, kind);
        let envelope = statement.sign(&key).unwrap();
        let path = env.write(&format!("{kind}.dsse.json"), envelope.to_json());
        let (answer, ok) = oracle(&[&"sslib-verify", &public, &key.key_id().as_str(), &path]);
        assert!(ok, "{kind}: {answer}");
        assert_eq!(answer["keyids"][0], key.key_id().as_str());
        assert_eq!(answer["payload_sha256"], statement.digest().hex(), "{kind}");
        let (answer, ok) = oracle(&[&"pae-verify", &public, &path]);
        assert!(ok, "{kind}: {answer}");

        // the bundle's envelope is the same DSSE envelope
        let bundle: serde_json::Value =
            serde_json::from_slice(&Bundle::sign_statement(&statement, &key).unwrap().to_json())
                .unwrap();
        let path = env.write(
            &format!("{kind}.bundle-envelope.json"),
            bundle["dsseEnvelope"].to_string(),
        );
        let (answer, ok) = oracle(&[&"sslib-verify", &public, &key.key_id().as_str(), &path]);
        assert!(ok, "{kind}: {answer}");
    }
}

#[test]
fn tampering_and_wrong_keys_are_rejected_by_the_reference_implementations_and_by_ours() {
    let env = TestEnv::new();
    let (key, public_key, _, public) = make_key(env.dir.path(), "a", "p256");
    let (other, other_key, _, other_public) = make_key(env.dir.path(), "b", "ed25519");
    let envelope = provenance_statement().sign(&key).unwrap();
    let signed: serde_json::Value = serde_json::from_slice(&envelope.to_json()).unwrap();

    // the payload changed after signing: another subject digest
    let mut changed = signed.clone();
    let payload = String::from_utf8(envelope.payload().to_vec()).unwrap();
    let payload = payload.replace(image_digest().hex(), Digest::sha256_of(b"other").hex());
    changed["payload"] = envaudit_b64(payload.as_bytes()).into();
    let changed_path = env.write("changed.json", changed.to_string());
    let (answer, ok) = oracle(&[
        &"sslib-verify",
        &public,
        &key.key_id().as_str(),
        &changed_path,
    ]);
    assert!(!ok, "securesystemslib accepted a changed payload: {answer}");
    let (answer, ok) = oracle(&[&"pae-verify", &public, &changed_path]);
    assert!(!ok, "cryptography accepted a changed payload: {answer}");
    let ours = Envelope::from_json(changed.to_string().as_bytes()).unwrap();
    let Err(DsseError::Unverified { rejected }) = ours.verify(std::slice::from_ref(&public_key))
    else {
        panic!("we accepted a changed payload")
    };
    assert!(
        rejected[0].key_given,
        "the key was right, the payload changed"
    );

    // the right envelope, the wrong key: under its own keyid, and under the signer's
    let path = env.write("signed.json", signed.to_string());
    for keyid in [other.key_id().as_str(), key.key_id().as_str()] {
        let (answer, ok) = oracle(&[&"sslib-verify", &other_public, &keyid, &path]);
        assert!(!ok, "securesystemslib accepted the wrong key: {answer}");
    }
    let (answer, ok) = oracle(&[&"pae-verify", &other_public, &path]);
    assert!(!ok, "cryptography accepted the wrong key: {answer}");
    let Err(DsseError::Unverified { rejected }) = envelope.verify(&[other_key]) else {
        panic!("we accepted the wrong key")
    };
    assert!(!rejected[0].key_given, "signed by a key not given");

    // the controls: the untouched envelope passes all three
    assert!(oracle(&[&"sslib-verify", &public, &key.key_id().as_str(), &path]).1);
    assert!(oracle(&[&"pae-verify", &public, &path]).1);
    envelope.verify(&[public_key]).unwrap();
}

fn envaudit_b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn envelopes_securesystemslib_signs_verify_with_ours() {
    let env = TestEnv::new();
    let statement = provenance_statement();
    let payload = env.write("statement.json", statement.to_json());
    for kind in KINDS {
        let (key, public, private_path, _) = make_key(env.dir.path(), kind, kind);
        let out = Command::new(support::evidence_python())
            .arg(support::root().join("scripts/oracles/evidence_oracle.py"))
            .args(["sslib-sign".as_ref(), private_path.as_os_str()])
            .arg(key.key_id().as_str())
            .arg(PAYLOAD_TYPE)
            .arg(&payload)
            .output()
            .unwrap();
        let json = support::ok(&out);
        let theirs = Envelope::from_json(json.as_bytes()).unwrap();
        assert_eq!(theirs.signatures()[0].keyid(), key.key_id().as_str());
        let verified = theirs.verify(std::slice::from_ref(&public)).unwrap();
        assert_eq!(&verified.key_id, key.key_id(), "{kind}");
        assert_eq!(Statement::from_verified(&verified).unwrap(), statement);
        // their signature over their envelope, tampered, is rejected by ours
        let mut changed: serde_json::Value = serde_json::from_str(&json).unwrap();
        changed["payloadType"] = "application/json".into();
        let changed = Envelope::from_json(changed.to_string().as_bytes()).unwrap();
        assert!(
            changed.verify(std::slice::from_ref(&public)).is_err(),
            "{kind}"
        );
        // and it goes into a bundle that verifies
        let bundle = Bundle::new(theirs).unwrap();
        let again = Bundle::from_json(&bundle.to_json()).unwrap();
        again.verify(&[public]).unwrap();
    }
}

#[test]
fn the_statement_and_the_slsa_provenance_validate_with_in_toto_attestation() {
    let env = TestEnv::new();
    let provenance = provenance_statement().to_json();
    let path = env.write("provenance.json", &provenance);
    let (answer, ok) = oracle(&[&"statement", &path]);
    assert!(ok, "{answer}");
    assert_eq!(
        answer["checked"],
        serde_json::json!(["statement", "slsa-provenance-v1"])
    );

    // a statement of another predicate type (what envaudit attests of images it observed)
    let other = Statement::new(
        vec![ResourceDescriptor::with_digest("img", &image_digest())],
        "https://envaudit.example/snapshot/v1",
        &serde_json::json!({"packages": [{"name": "numpy", "version": "2.1.0"}]}),
    )
    .unwrap();
    let path = env.write("other.json", other.to_json());
    let (answer, ok) = oracle(&[&"statement", &path]);
    assert!(ok, "{answer}");

    // the controls: what in-toto-attestation rejects, so the acceptance above means something
    let good: serde_json::Value = serde_json::from_slice(&provenance).unwrap();
    for (what, edit) in [
        ("no subject digest", "/subject/0/digest"),
        ("no builder id", "/predicate/runDetails/builder/id"),
        ("a misspelt field", "/predicate/buildDefinition/buildType"),
        (
            "a bad timestamp",
            "/predicate/runDetails/metadata/startedOn",
        ),
    ] {
        let mut bad = good.clone();
        match what {
            "a misspelt field" => {
                let bd = bad["predicate"]["buildDefinition"].as_object_mut().unwrap();
                let v = bd.remove("buildType").unwrap();
                bd.insert("build_tipe".to_owned(), v);
            }
            "a bad timestamp" => *bad.pointer_mut(edit).unwrap() = "yesterday".into(),
            "no subject digest" => *bad.pointer_mut(edit).unwrap() = serde_json::json!({}),
            _ => *bad.pointer_mut(edit).unwrap() = "".into(),
        }
        let path = env.write("bad.json", bad.to_string());
        let (answer, ok) = oracle(&[&"statement", &path]);
        assert!(!ok, "in-toto-attestation accepted {what}: {answer}");
    }
}

/// The folder of the sigstore-js oracle (`scripts/oracles/setup-sigstore-js`, pinned by its
/// `package-lock.json`, installed with the machine's npm once per test binary).
fn sigstore_js() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new(support::root().join("scripts/oracles/setup-sigstore-js"))
            .output()
            .expect("scripts/oracles/setup-sigstore-js runs");
        PathBuf::from(support::ok(&out).trim())
    })
    .clone()
}

/// sigstore-js's verdict on a bundle verified with `public` found under `hint`.
fn sigstore_js_verify(bundle: &Path, public: &Path, hint: &str) -> (serde_json::Value, bool) {
    let dir = sigstore_js();
    let out = Command::new("node")
        .arg(dir.join("verify-bundle.js"))
        .args([bundle, public])
        .arg(hint)
        .current_dir(&dir)
        .output()
        .expect("node is installed");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "sigstore-js: {out:?}"
    );
    (
        serde_json::from_slice(&out.stdout).expect("sigstore-js prints JSON"),
        out.status.success(),
    )
}

#[test]
fn bundles_we_write_verify_with_sigstore_js_which_reads_back_every_field() {
    let env = TestEnv::new();
    let statement = provenance_statement();
    for kind in KINDS {
        let (key, _, _, public) = make_key(env.dir.path(), kind, kind);
        let bundle = Bundle::sign_statement(&statement, &key).unwrap().to_json();
        let path = env.write(&format!("{kind}.bundle.json"), &bundle);
        let (answer, ok) = sigstore_js_verify(&path, &public, key.key_id().as_str());
        assert!(ok, "{kind}: {answer}");
        assert_eq!(answer["mediaType"], envaudit::attest::bundle::MEDIA_TYPE);
        assert_eq!(answer["payloadType"], PAYLOAD_TYPE);
        assert_eq!(answer["payload_sha256"], statement.digest().hex());
        // What sigstore-js writes back from what it read is what we wrote: no field of ours
        // went unread (protobuf JSON leaves out the empty `tlogEntries`).
        let mut ours: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
        let mut theirs = answer["written_back"].clone();
        for v in [&mut ours, &mut theirs] {
            v["verificationMaterial"]
                .as_object_mut()
                .unwrap()
                .remove("tlogEntries");
        }
        assert_eq!(theirs, ours, "{kind}");
    }
}

#[test]
fn sigstore_js_rejects_changed_bundles_wrong_keys_and_unknown_hints() {
    let env = TestEnv::new();
    let (key, _, _, public) = make_key(env.dir.path(), "a", "p256");
    let (other, _, _, other_public) = make_key(env.dir.path(), "b", "ed25519");
    let bundle = Bundle::sign_statement(&provenance_statement(), &key).unwrap();
    let good = env.write("good.json", bundle.to_json());
    let id = key.key_id().as_str();
    assert!(sigstore_js_verify(&good, &public, id).1, "the control");

    let mut changed: serde_json::Value = serde_json::from_slice(&bundle.to_json()).unwrap();
    let payload = String::from_utf8(bundle.envelope().payload().to_vec()).unwrap();
    let payload = payload.replace("run-7", "run-8");
    changed["dsseEnvelope"]["payload"] = envaudit_b64(payload.as_bytes()).into();
    let changed = env.write("changed.json", changed.to_string());
    let (answer, ok) = sigstore_js_verify(&changed, &public, id);
    assert!(!ok, "sigstore-js accepted a changed payload: {answer}");
    assert!(
        Bundle::from_json(&std::fs::read(&changed).unwrap())
            .unwrap()
            .verify(&[key.verifying_key().clone()])
            .is_err()
    );

    // the wrong key, under the hint the bundle names
    let (answer, ok) = sigstore_js_verify(&good, &other_public, id);
    assert!(!ok, "sigstore-js accepted the wrong key: {answer}");
    // the right key under another hint: sigstore-js finds keys by the bundle's hint
    let (answer, ok) = sigstore_js_verify(&good, &public, other.key_id().as_str());
    assert!(!ok, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("key not found"),
        "{answer}"
    );
}
