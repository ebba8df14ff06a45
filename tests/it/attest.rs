//! Signed evidence end to end, against the real `docker-registry` (distribution 2.8, no
//! referrers API: the tag-schema fallback): `lock --attest` attaches the bundle, SBOM and
//! snapshot record; `verify` accepts them; the ORAS Python SDK pulls them independently and
//! the reference implementations check what it pulled (securesystemslib for the DSSE
//! signature, in-toto-attestation for the statement, the CycloneDX 1.6 schema for the SBOM);
//! re-attesting pushes nothing; `report --from-registry` needs nothing but the image; and
//! every tampering is refused with its own finding and exit 1.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::fault;
use crate::support::image::{self as img, Compression, Spec};
use crate::support::{self, TestEnv, ok, registry};

const SP: &str = "opt/env/lib/python3.10/site-packages";

fn meta(name: &str, version: &str, requires: &[&str]) -> Vec<u8> {
    let mut m = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for r in requires {
        writeln!(m, "Requires-Dist: {r}").unwrap();
    }
    m.into_bytes()
}

/// An image with `requests` at `version` (and `urllib3`) on a base layer.
fn image(version: &str, label: &str) -> img::BuiltImage {
    let urllib3 = meta("urllib3", "2.2.1", &[]);
    let requests = meta("requests", version, &["urllib3<3,>=1.21.1"]);
    let u = format!("{SP}/urllib3-2.2.1.dist-info/METADATA");
    let r = format!("{SP}/requests-{version}.dist-info/METADATA");
    img::build(&Spec {
        layers: vec![
            (
                Compression::Gzip,
                vec![
                    ("etc/os-release", b"ID=debian\nVERSION_ID=12\n".as_slice()),
                    ("opt/env/pyvenv.cfg", b"version = 3.10.14\n".as_slice()),
                    (u.as_str(), urllib3.as_slice()),
                ],
            ),
            (Compression::Gzip, vec![(r.as_str(), requests.as_slice())]),
        ],
        label,
        ..Spec::default()
    })
}

/// `openssl` keys: `NAME.pem` (PKCS#8) and `NAME.pub` (SPKI).
fn keypair(t: &TestEnv, name: &str, kind: &str) -> (PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(t.dir.path())
            .output()
            .expect("openssl is installed (scripts/test installs it)");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    let key = format!("{name}.pem");
    match kind {
        "ed25519" => openssl(&["genpkey", "-algorithm", "ed25519", "-out", &key]),
        _ => openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &key,
        ]),
    }
    let public = format!("{name}.pub");
    openssl(&["pkey", "-in", &key, "-pubout", "-out", &public]);
    (t.path(&key), t.path(&public))
}

struct Project {
    t: TestEnv,
    reference: String,
    repo: String,
    key: PathBuf,
    public: PathBuf,
}

/// A project whose `requirements.txt` environment is locked from `REG/attest/NAME:v1` with a
/// run of model `clf:1`, attested with a fresh key of `kind`.
fn attested(name: &str, kind: &str) -> Project {
    let reg = registry::plain();
    let repo = format!("attest/{name}");
    reg.push_image(&repo, "v1", &image("2.31.0", name));
    let t = TestEnv::new();
    t.write("requirements.txt", "requests>=2.31\n");
    let (key, public) = keypair(&t, "signer", kind);
    let reference = format!("{}/{repo}:v1", reg.addr);
    let out = t
        .envaudit()
        .args(["lock", "requirements.txt", "--name", "train", "--image"])
        .arg(&reference)
        .args(["--model", "clf:1", "--run-id", "run-1", "--attest"])
        .arg(&key)
        .output()
        .unwrap();
    let said = ok(&out);
    assert!(said.contains("attested `train`"), "{said}");
    Project {
        t,
        reference,
        repo,
        key,
        public,
    }
}

fn verify(p: &Project, args: &[&str], public: &Path) -> Output {
    p.t.envaudit()
        .arg("verify")
        .args(args)
        .arg("--key")
        .arg(public)
        .args(["--format", "json"])
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn codes(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_attested_image_verifies_and_reattesting_pushes_nothing() {
    for kind in ["ed25519", "p256"] {
        let p = attested(&format!("verify-{kind}"), kind);
        let out = verify(&p, &[&p.reference], &p.public);
        let v = json(&out);
        assert_eq!(out.status.code(), Some(0), "{v:#}");
        assert_eq!(codes(&v), Vec::<String>::new());
        assert_eq!(
            v["referrers"], "tag-schema",
            "distribution 2.8 has no referrers API"
        );
        assert_eq!(v["attestations"].as_array().unwrap().len(), 1);
        assert_eq!(v["attestations"][0]["valid"], true);
        assert_eq!(
            v["attestations"][0]["predicate_type"],
            "https://envaudit.dev/attestation/environment-snapshot/v1"
        );
        let artifacts = v["artifacts"].as_array().unwrap();
        assert_eq!(
            artifacts.len(),
            2,
            "the SBOM and the snapshot record: {v:#}"
        );
        assert!(artifacts.iter().all(|a| a["listed"] == true));
        assert_eq!(v["runs"], serde_json::json!(["run-1"]));
        let lock = envaudit::lockfile::Lockfile::load(&p.t.path("envaudit.lock")).unwrap();
        let snap = &lock.environments["train"];
        assert_eq!(v["snapshot"], snap.id.as_str());
        assert_eq!(v["content"]["attested_packages"], snap.packages.len());
        assert_eq!(v["content"]["changes"], serde_json::json!([]));

        // Attesting again: the same statement by the same key is listed; nothing is pushed.
        let again = ok(&p
            .t
            .envaudit()
            .args(["attest", "--format", "json", "--key"])
            .arg(&p.key)
            .output()
            .unwrap());
        let again: serde_json::Value = serde_json::from_str(&again).unwrap();
        assert_eq!(again["attestations"][0]["status"], "already-attested");
        assert_eq!(again["attestations"][0]["pushed"], serde_json::json!([]));
        let v2 = json(&verify(&p, &[&p.reference], &p.public));
        assert_eq!(v2["attestations"].as_array().unwrap().len(), 1);

        // The environment form verifies the locked manifest, which its tag still names.
        let out = verify(&p, &["--env", "train"], &p.public);
        assert_eq!(out.status.code(), Some(0), "{:#}", json(&out));
        let out = verify(&p, &["@#train"], &p.public);
        assert_eq!(out.status.code(), Some(0), "{:#}", json(&out));
    }
}

/// What ORAS pulls, checked by the reference implementations.
#[test]
fn the_reference_implementations_accept_what_oras_pulls() {
    let p = attested("oras", "p256");
    let reg = registry::plain();
    let lock = envaudit::lockfile::Lockfile::load(&p.t.path("envaudit.lock")).unwrap();
    let manifest = lock.environments["train"].image_manifest.clone().unwrap();
    let out = p.t.path("pulled");
    let script = r#"
import json, os, sys
import oras.client
host, repo, subject, outdir = sys.argv[1:5]
c = oras.client.OrasClient(hostname=host, insecure=True)
tag = subject.replace(":", "-")
index = c.get_manifest(f"{host}/{repo}:{tag}", allowed_media_type=["application/vnd.oci.image.index.v1+json"])
found = {}
for d in index["manifests"]:
    m = c.get_manifest(f"{host}/{repo}@{d['digest']}")
    layers = []
    for l in m["layers"]:
        r = c.get_blob(f"{host}/{repo}", l["digest"])
        layers.append({"mediaType": l["mediaType"], "digest": l["digest"], "text": r.content.decode()})
    found.setdefault(d["artifactType"], []).append({"subject": m["subject"]["digest"], "layers": layers})
print(json.dumps(found))
"#;
    let result = Command::new(support::evidence_python())
        .args(["-c", script, &reg.addr, &p.repo])
        .arg(manifest.to_string())
        .arg(&out)
        .env("HOME", p.t.dir.path())
        .env_remove("DOCKER_CONFIG")
        .output()
        .unwrap();
    let pulled: serde_json::Value = serde_json::from_str(ok(&result).trim()).unwrap();
    for kind in [
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.cyclonedx+json",
        "application/vnd.envaudit.snapshot.v1",
    ] {
        assert_eq!(
            pulled[kind].as_array().map(Vec::len),
            Some(1),
            "{kind}: {pulled:#}"
        );
        assert_eq!(pulled[kind][0]["subject"], manifest.to_string());
    }
    // The DSSE envelope of the bundle, verified by securesystemslib with the public key.
    let bundle: serde_json::Value = serde_json::from_str(
        pulled["application/vnd.dev.sigstore.bundle.v0.3+json"][0]["layers"][0]["text"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let envelope = &bundle["dsseEnvelope"];
    let keyid = envelope["signatures"][0]["keyid"]
        .as_str()
        .unwrap()
        .to_owned();
    p.t.write("envelope.json", serde_json::to_vec(envelope).unwrap());
    let (answer, accepted) = oracle(&[
        &"sslib-verify",
        &p.public,
        &keyid,
        &p.t.path("envelope.json"),
    ]);
    assert!(accepted, "{answer}");
    // The statement, strictly parsed by in-toto-attestation.
    let payload = base64_decode(envelope["payload"].as_str().unwrap());
    p.t.write("statement.json", &payload);
    let (answer, accepted) = oracle(&[&"statement", &p.t.path("statement.json")]);
    assert!(accepted, "{answer}");
    let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(statement["subject"][0]["digest"]["sha256"], manifest.hex());
    // Every artifact ORAS pulled is listed in the statement by its SHA-256.
    let listed: Vec<&str> = statement["predicate"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["digest"]["sha256"].as_str().unwrap())
        .collect();
    for kind in [
        "application/vnd.cyclonedx+json",
        "application/vnd.envaudit.snapshot.v1",
    ] {
        for layer in pulled[kind][0]["layers"].as_array().unwrap() {
            let hex = &layer["digest"].as_str().unwrap()["sha256:".len()..];
            assert!(listed.contains(&hex), "{kind} {hex} not in {listed:?}");
        }
    }
    // The SBOM is CycloneDX 1.6.
    let sbom: serde_json::Value = serde_json::from_str(
        pulled["application/vnd.cyclonedx+json"][0]["layers"][0]["text"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    crate::report::assert_valid_cyclonedx(&sbom);
    assert_eq!(
        sbom["components"].as_array().unwrap().len(),
        lock.environments["train"].packages.len()
    );
}

/// envaudit's registry client and a runtime to drive it, for reading and planting referrers
/// the way another tool (or an attacker with push rights) would.
fn registry_client() -> (envaudit::registry::HttpRegistry, tokio::runtime::Runtime) {
    let client = envaudit::registry::HttpRegistry::new(
        envaudit::registry::TransportPolicy::default(),
        envaudit::registry::CredentialStore::anonymous(),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (client, rt)
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn oracle(args: &[&dyn AsRef<std::ffi::OsStr>]) -> (serde_json::Value, bool) {
    let out = Command::new(support::evidence_python())
        .arg(support::root().join("scripts/oracles/evidence_oracle.py"))
        .args(args.iter().map(AsRef::as_ref))
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        code == Some(0),
    )
}

#[test]
fn the_wrong_key_is_signature_invalid() {
    let p = attested("wrong-key", "ed25519");
    let (_, other) = keypair(&p.t, "other", "p256");
    let out = verify(&p, &[&p.reference], &other);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(codes(&v), ["signature-invalid"]);
}

#[test]
fn a_modified_payload_is_signature_invalid() {
    let p = attested("modified", "p256");
    let reg = registry::plain();
    let lock = envaudit::lockfile::Lockfile::load(&p.t.path("envaudit.lock")).unwrap();
    let manifest = lock.environments["train"].image_manifest.clone().unwrap();
    // Read our bundle back through the registry, change one package version in the signed
    // statement, and attach the altered bundle beside it under the same key's name.
    let (client, rt) = registry_client();
    let repo: envaudit::model::ImageRef = format!("{}/{}", reg.addr, p.repo).parse().unwrap();
    rt.block_on(async {
        let listed = client
            .referrers(
                &repo,
                &manifest,
                Some("application/vnd.dev.sigstore.bundle.v0.3+json"),
            )
            .await
            .unwrap();
        let ours = &listed.descriptors[0];
        let (artifact, layers) = client
            .pull_artifact(&repo, &ours.digest, 4 << 20)
            .await
            .unwrap();
        let mut bundle: serde_json::Value = serde_json::from_slice(&layers[0]).unwrap();
        let payload = base64_decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap());
        let text = String::from_utf8(payload)
            .unwrap()
            .replacen("2.31.0", "2.99.0", 1);
        bundle["dsseEnvelope"]["payload"] = serde_json::json!(base64_encode(text.as_bytes()));
        let subject = envaudit::registry::Descriptor::new(
            "application/vnd.oci.image.manifest.v1+json",
            manifest.clone(),
            0,
        );
        let subject = envaudit::registry::Descriptor {
            size: artifact.subject.as_ref().unwrap().size,
            media_type: artifact.subject.as_ref().unwrap().media_type.clone(),
            ..subject
        };
        client
            .attach(
                &repo,
                &subject,
                &envaudit::registry::Artifact {
                    artifact_type: "application/vnd.dev.sigstore.bundle.v0.3+json".into(),
                    layers: vec![envaudit::registry::ArtifactLayer {
                        media_type: "application/vnd.dev.sigstore.bundle.v0.3+json".into(),
                        bytes: serde_json::to_vec(&bundle).unwrap().into(),
                        annotations: std::collections::BTreeMap::default(),
                    }],
                    annotations: artifact
                        .annotations
                        .clone()
                        .into_iter()
                        .chain([(
                            "org.opencontainers.image.created".to_owned(),
                            "2026-01-01T00:00:00Z".to_owned(),
                        )])
                        .collect(),
                },
            )
            .await
            .unwrap();
    });
    let out = verify(&p, &[&p.reference, "--no-content"], &p.public);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(codes(&v), ["signature-invalid"], "{v:#}");
    assert_eq!(v["attestations"].as_array().unwrap().len(), 2);
}

#[test]
fn a_moved_tag_is_unattested_by_image_and_subject_mismatch_by_environment() {
    let p = attested("moved", "ed25519");
    let reg = registry::plain();
    // The same definition regenerated: another image under the same tag.
    reg.push_image(&p.repo, "v1", &image("2.32.3", "regenerated"));
    let out = verify(&p, &[&p.reference], &p.public);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(codes(&v), ["unattested"]);
    let out = verify(&p, &["--env", "train"], &p.public);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(codes(&v), ["subject-mismatch"], "{v:#}");
    assert!(v["moved_to"].is_string());
}

#[test]
fn a_layer_that_does_not_match_its_diff_id_is_found_by_verify() {
    let reg = registry::plain();
    let t = TestEnv::new();
    t.write("requirements.txt", "requests\n");
    let (key, public) = keypair(&t, "signer", "ed25519");
    // Every blob matches its digest; only the config's diff_ids describe other layers.
    let good = image("2.31.0", "diff-id-good");
    let evil = image("2.0.0", "diff-id-evil").with_diff_ids(&good.diff_ids());
    let repo = "attest/diff-id";
    reg.push_image(repo, "v1", &evil);
    let reference = format!("{}/{repo}:v1", reg.addr);
    ok(&t
        .envaudit()
        .args([
            "lock",
            "requirements.txt",
            "--name",
            "train",
            "--no-cache",
            "--image",
        ])
        .arg(&reference)
        .arg("--attest")
        .arg(&key)
        .output()
        .unwrap());
    let out = t
        .envaudit()
        .args(["verify", &reference, "--format", "json", "--key"])
        .arg(&public)
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert!(codes(&v).contains(&"diff-id-mismatch".to_owned()), "{v:#}");
}

#[test]
fn an_image_that_is_not_what_its_snapshot_says_is_content_changed() {
    // A lock that recorded the wrong image: the snapshot of v1, the manifest of v2.
    let p = attested("content", "p256");
    let reg = registry::plain();
    let v2 = image("2.32.3", "content-v2");
    reg.push_image(&p.repo, "v2", &v2);
    let lockfile = p.t.path("envaudit.lock");
    let text = std::fs::read_to_string(&lockfile).unwrap();
    let lock = envaudit::lockfile::Lockfile::load(&lockfile).unwrap();
    let v1_manifest = lock.environments["train"].image_manifest.clone().unwrap();
    let v2_manifest = v2.manifest_digest.clone();
    std::fs::write(
        &lockfile,
        text.replace(&v1_manifest.to_string(), &v2_manifest)
            .replace(":v1", ":v2"),
    )
    .unwrap();
    ok(&p
        .t
        .envaudit()
        .args(["attest", "--key"])
        .arg(&p.key)
        .output()
        .unwrap());
    let out = verify(&p, &[&format!("{}/{}:v2", reg.addr, p.repo)], &p.public);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(codes(&v), ["content-changed"], "{v:#}");
    assert_eq!(v["content"]["changes"][0]["name"], "requests");
}

#[test]
fn an_auditor_builds_the_report_from_the_registry_alone() {
    let p = attested("report", "ed25519");
    let local = ok(&p
        .t
        .envaudit()
        .args(["report", "--model", "clf", "--format", "json"])
        .output()
        .unwrap());
    // Elsewhere: no lockfile, no repository, only the image and the public key.
    let auditor = TestEnv::new();
    std::fs::copy(&p.public, auditor.path("signer.pub")).unwrap();
    let remote = ok(&auditor
        .envaudit()
        .args([
            "report",
            "--from-registry",
            &p.reference,
            "--key",
            "signer.pub",
        ])
        .args(["--format", "json"])
        .output()
        .unwrap());
    let local: serde_json::Value = serde_json::from_str(&local).unwrap();
    let remote: serde_json::Value = serde_json::from_str(&remote).unwrap();
    assert_eq!(remote["model"], "clf");
    assert_eq!(remote["runs"].as_array().unwrap().len(), 1);
    for field in [
        "run",
        "identity",
        "image",
        "packages",
        "counts",
        "completeness",
    ] {
        assert_eq!(
            remote["runs"][0][field], local["runs"][0][field],
            "{field} differs between the lockfile's report and the registry's"
        );
    }
    // Evidence that does not verify gives no report.
    let (_, other) = keypair(&auditor, "other", "p256");
    let out = auditor
        .envaudit()
        .args(["report", "--from-registry", &p.reference, "--key"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("signature-invalid"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_private_key_never_appears_in_output_or_files() {
    let reg = registry::plain();
    reg.push_image("attest/secret", "v1", &image("2.31.0", "secret"));
    let t = TestEnv::new();
    t.write("requirements.txt", "requests\n");
    let (key, _) = keypair(&t, "signer", "p256");
    let pem = std::fs::read_to_string(&key).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let reference = format!("{}/attest/secret:v1", reg.addr);
    let mut said = Vec::new();
    for args in [
        vec![
            "lock",
            "requirements.txt",
            "--image",
            &reference,
            "--attest",
            "env://SIGNING_KEY",
        ],
        vec!["attest", "--key", "env://SIGNING_KEY", "--format", "json"],
        vec!["attest", "--key", "env://NOT_SET"],
        vec!["attest", "--key", "requirements.txt"],
        // The key's text where its file name belongs (`--key="$SECRET"`) is refused unseen.
        vec!["attest", "--key", &pem],
        vec!["verify", &reference, "--key", &pem],
        vec![
            "lock",
            "requirements.txt",
            "--image",
            &reference,
            "--attest",
            &pem,
        ],
    ] {
        let out = t
            .envaudit()
            .args(&args)
            .env("SIGNING_KEY", &pem)
            .output()
            .unwrap();
        said.push(String::from_utf8_lossy(&out.stdout).into_owned());
        said.push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    for dir in [t.dir.path().to_path_buf()] {
        for e in walk(&dir) {
            if e.extension().is_some_and(|x| x == "pem") {
                continue;
            }
            said.push(String::from_utf8_lossy(&std::fs::read(&e).unwrap_or_default()).into_owned());
        }
    }
    // Bytes 36.. of a P-256 PKCS#8 key are its private scalar (the public point comes after).
    let secret_part = &body[48..72];
    for s in &said {
        assert!(!s.contains(secret_part), "the private key leaked: {s}");
        assert!(!s.contains("PRIVATE KEY-----\n"), "{s}");
    }
    assert!(said[0].contains("attested"), "{}", said[1]);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `build --lock --attest`: an image built now carries SLSA Provenance v1, which
/// in-toto-attestation accepts and `verify` verifies.
#[test]
fn build_attest_attaches_slsa_provenance() {
    let (reg, t, b, _index, env) = crate::build::docker_setup("attest-build");
    let (key, public) = keypair(&t, "signer", "p256");
    let key = key.to_str().unwrap().to_owned();
    let out = crate::build::build(&t, &b, reg, &env, &["--lock", "--attest", &key]);
    let report = json(&out);
    ok(&out);
    assert_eq!(report["outcome"], "built");
    let attestation = &report["attestation"];
    assert_eq!(
        attestation["predicate_type"],
        "https://slsa.dev/provenance/v1"
    );
    assert_eq!(attestation["status"], "attested");
    let image = report["image"].as_str().unwrap();
    let out = t
        .envaudit()
        .args(["verify", image, "--format", "json", "--key"])
        .arg(&public)
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(
        v["attestations"][0]["predicate_type"],
        "https://slsa.dev/provenance/v1"
    );
    assert_eq!(v["content"]["changes"], serde_json::json!([]));

    // The signed statement, read back and checked by in-toto-attestation.
    let repo: envaudit::model::ImageRef = image.parse().unwrap();
    let manifest: envaudit::model::Digest = report["digest"].as_str().unwrap().parse().unwrap();
    let (client, rt) = registry_client();
    let bundle = rt.block_on(async {
        let listed = client
            .referrers(
                &repo,
                &manifest,
                Some("application/vnd.dev.sigstore.bundle.v0.3+json"),
            )
            .await
            .unwrap();
        let (_, layers) = client
            .pull_artifact(&repo, &listed.descriptors[0].digest, 4 << 20)
            .await
            .unwrap();
        layers[0].clone()
    });
    let bundle: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    let payload = base64_decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap());
    t.write("statement.json", &payload);
    let (answer, accepted) = oracle(&[&"statement", &t.path("statement.json")]);
    assert!(accepted, "{answer}");
    let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let p = &statement["predicate"];
    assert_eq!(
        p["buildDefinition"]["externalParameters"]["definitionHash"],
        report["definition_hash"]
    );
    assert_eq!(
        p["runDetails"]["builder"]["id"],
        "https://envaudit.dev/builder/buildah"
    );
    assert!(p["runDetails"]["metadata"]["startedOn"].is_string());
    assert_eq!(p["runDetails"]["byproducts"].as_array().unwrap().len(), 2);
    // The definition's Dockerfile is a resolved dependency, by its git blob id.
    assert!(
        p["buildDefinition"]["resolvedDependencies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("Dockerfile"))
                && d["digest"]["gitBlob"].is_string()),
        "{p:#}"
    );
}

/// A layer that cannot be read to its end: `lock` records what it could read (a warning),
/// but `verify` refuses to call that evidence checked.
#[test]
fn a_partial_read_fails_verify() {
    let reg = registry::plain();
    let t = TestEnv::new();
    t.write("requirements.txt", "six\n");
    let (key, public) = keypair(&t, "signer", "ed25519");
    let repo = "attest/partial";
    reg.push_image(repo, "v1", &crate::integrity::truncated_image());
    let reference = format!("{}/{repo}:v1", reg.addr);
    let out = t
        .envaudit()
        .args(["lock", "requirements.txt", "--name", "train", "--image"])
        .arg(&reference)
        .arg("--attest")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "a warning by default: {out:?}");
    let out = t
        .envaudit()
        .args(["verify", &reference, "--format", "json", "--key"])
        .arg(&public)
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(codes(&v), ["catalog-incomplete"], "{v:#}");
    assert_eq!(v["findings"][0]["severity"], "error");
}

/// An artifact the signed statement lists, deleted from the registry: `evidence-incomplete`.
#[test]
fn a_deleted_sbom_is_evidence_incomplete() {
    let p = attested("deleted", "p256");
    let reg = registry::plain();
    let out = verify(&p, &[&p.reference, "--no-content"], &p.public);
    let v = json(&out);
    let sbom = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["artifact_type"] == "application/vnd.cyclonedx+json")
        .expect("the SBOM is listed")["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = crate::support::http::request(
        &reg.addr,
        "DELETE",
        &format!("/v2/{}/manifests/{sbom}", p.repo),
        &[],
        &mut std::io::empty(),
        0,
    )
    .unwrap();
    assert_eq!(
        deleted.status, 202,
        "the registry deletes the SBOM's manifest"
    );
    let out = verify(&p, &[&p.reference], &p.public);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(codes(&v), ["evidence-incomplete"], "{v:#}");
}

/// The annotations that name a bundle's statement and key are not trusted: a junk bundle
/// carrying them does not make `attest` skip its push.
#[test]
fn a_forged_bundle_annotation_does_not_pass_for_an_attestation() {
    let p = attested("forged", "p256");
    let reg = registry::plain();
    let first: serde_json::Value = serde_json::from_str(&ok(&p
        .t
        .envaudit()
        .args(["attest", "--format", "json", "--key"])
        .arg(&p.key)
        .output()
        .unwrap()))
    .unwrap();
    let statement = first["attestations"][0]["statement"]
        .as_str()
        .unwrap()
        .to_owned();
    let (key2, _) = keypair(&p.t, "second", "ed25519");
    let key2_id = envaudit::attest::SigningKey::from_file(&key2)
        .unwrap()
        .key_id()
        .as_str()
        .to_owned();
    let lock = envaudit::lockfile::Lockfile::load(&p.t.path("envaudit.lock")).unwrap();
    let manifest = lock.environments["train"].image_manifest.clone().unwrap();
    let (client, rt) = registry_client();
    let repo: envaudit::model::ImageRef = format!("{}/{}", reg.addr, p.repo).parse().unwrap();
    rt.block_on(async {
        let listed = client.referrers(&repo, &manifest, None).await.unwrap();
        let subject = listed.descriptors[0].clone();
        let (artifact, _) = client
            .pull_artifact(&repo, &subject.digest, 4 << 20)
            .await
            .unwrap();
        let subject = artifact.subject.unwrap();
        client
            .attach(
                &repo,
                &subject,
                &envaudit::registry::Artifact {
                    artifact_type: "application/vnd.dev.sigstore.bundle.v0.3+json".into(),
                    layers: vec![envaudit::registry::ArtifactLayer {
                        media_type: "application/vnd.dev.sigstore.bundle.v0.3+json".into(),
                        bytes: b"{\"not\": \"a bundle\"}".to_vec().into(),
                        annotations: std::collections::BTreeMap::default(),
                    }],
                    annotations: [
                        ("dev.envaudit.statement".to_owned(), statement.clone()),
                        ("dev.envaudit.key-id".to_owned(), key2_id.clone()),
                    ]
                    .into_iter()
                    .collect(),
                },
            )
            .await
            .unwrap();
    });
    let second: serde_json::Value = serde_json::from_str(&ok(&p
        .t
        .envaudit()
        .args(["attest", "--format", "json", "--key"])
        .arg(&key2)
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(
        second["attestations"][0]["status"], "attested",
        "{second:#}"
    );
    assert_eq!(second["attestations"][0]["statement"], statement.as_str());
}

/// Forwards a request to the registry at `upstream` and returns its answer (a HEAD is asked
/// as a GET so that the length the fault server writes is the real one).
fn forward(upstream: &str, r: &fault::Request) -> fault::Reply {
    use std::io::{Read as _, Write as _};
    let method = if r.method == "HEAD" {
        "GET"
    } else {
        r.method.as_str()
    };
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {upstream}\r\nConnection: close\r\n",
        r.path
    );
    for (k, v) in &r.headers {
        if !matches!(k.as_str(), "host" | "connection" | "content-length") {
            write!(head, "{k}: {v}\r\n").unwrap();
        }
    }
    write!(head, "Content-Length: {}\r\n\r\n", r.body.len()).unwrap();
    let mut conn = std::net::TcpStream::connect(upstream).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&r.body).unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let text = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = text.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| {
            !k.eq_ignore_ascii_case("content-length") && !k.eq_ignore_ascii_case("connection")
        })
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert!(
        !headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")),
        "the registry answered chunked; this forwarder does not de-chunk"
    );
    fault::Reply::Full {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

#[test]
fn a_registry_failing_while_a_bundle_is_read_is_an_error_not_a_finding() {
    let p = attested("unavailable", "p256");
    let out = verify(&p, &[&p.reference], &p.public);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    let bundle = v["attestations"][0]["digest"].as_str().unwrap().to_owned();
    let upstream = p.reference.split('/').next().unwrap().to_owned();
    // The same registry behind a server that fails the bundle's manifest (HTTP 400: not
    // retried) and forwards everything else.
    let failing = format!("/v2/{}/manifests/{bundle}", p.repo);
    let server = fault::FaultServer::start(std::time::Duration::ZERO, move |r| {
        if r.path == failing {
            fault::Reply::status(400, &[("Content-Type", "application/json")])
        } else {
            forward(&upstream, r)
        }
    });
    let through = format!("{}/{}:v1", server.addr, p.repo);
    let out =
        p.t.envaudit()
            .args(["verify", &through, "--key"])
            .arg(&p.public)
            .output()
            .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(!stdout.contains("signature-invalid"), "{stdout}");
    assert!(stderr.contains("400"), "{stderr}");
    assert!(server.hits(&format!("/v2/{}/manifests/{bundle}", p.repo)) > 0);
}
