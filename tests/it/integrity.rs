//! Layer content against the config's `diff_ids` (`diff-id-mismatch`) and partial catalogs
//! (`catalog-incomplete`), on images written by the tests: OCI layouts, `docker save`
//! archives and the real registry.

use std::process::Output;
use std::sync::Arc;

use envaudit::catalog::{DiffIdCheck, NoProgress};
use envaudit::diag::{Code, Severity};
use envaudit::layer::Limits;
use envaudit::model::{Digest, ImageSource};
use envaudit::scan::{Scanner, ScannerOptions};

use crate::support::image::{self as img, BuiltImage, Compression, LayoutEntry, Spec};
use crate::support::{TestEnv, registry};

const SP: &str = "opt/venv/lib/python3.11/site-packages";
const SIX: &[u8] = b"Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n";

fn metadata(name: &str, version: &str) -> (String, Vec<u8>) {
    (
        format!("{SP}/{name}-{version}.dist-info/METADATA"),
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n").into_bytes(),
    )
}

/// An image of two layers: `os-release`, then one Python distribution.
fn image_with(name: &str, version: &str, compression: Compression) -> BuiltImage {
    let (path, body) = metadata(name, version);
    img::build(&Spec {
        layers: vec![
            (Compression::Gzip, vec![("etc/os-release", b"ID=test\n")]),
            (compression, vec![(path.as_str(), body.as_slice())]),
        ],
        label: "integrity",
        ..Spec::default()
    })
}

/// The image the config describes (requests 2.32.3) and the layers it really has
/// (requests 2.0.0 in layer 1): every blob matches the digest the manifest names, only the
/// config's `diff_ids` are false.
fn tampered(compression: Compression) -> (BuiltImage, BuiltImage) {
    let good = image_with("requests", "2.32.3", compression);
    let evil = image_with("requests", "2.0.0", compression).with_diff_ids(&good.diff_ids());
    assert_eq!(good.layers[0].digest, evil.layers[0].digest);
    assert_ne!(good.layers[1].digest, evil.layers[1].digest);
    (good, evil)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn versions(out: &Output) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    });
    v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect()
}

/// The `severity[code]` tags of the findings on standard error.
fn codes(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter_map(|l| {
            let (tag, _) = l.split_once("]: ")?;
            Some(format!("{tag}]"))
        })
        .collect()
}

fn catalog(env: &TestEnv, source: &str, args: &[&str]) -> Output {
    env.envaudit()
        .args(["catalog", source, "--format", "json"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_layer_whose_content_is_not_its_diff_id_is_caught_by_the_check_alone() {
    let env = TestEnv::new();
    let (good, evil) = tampered(Compression::Gzip);
    img::write_layout(&env.path("evil"), &[LayoutEntry::Image(&evil, None)]);
    img::write_layout(&env.path("good"), &[LayoutEntry::Image(&good, None)]);

    // Every digest the manifest names is right: without the check nothing is wrong.
    let out = catalog(&env, "oci:evil", &["--no-cache", "--fail-on", "note"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(codes(&out).is_empty(), "{}", stderr(&out));

    let out = catalog(&env, "oci:evil", &["--no-cache", "--verify-diff-ids"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(codes(&out), ["error[diff-id-mismatch]"]);
    let err = stderr(&out);
    for needle in [
        "layer 1 ",
        &evil.layers[1].digest,
        &good.layers[1].diff_id,
        &img::sha256(&evil.layers[1].tar),
    ] {
        assert!(err.contains(needle), "{needle} not in {err}");
    }
    // The catalog is still the layers' real content; the JSON carries the finding too.
    assert_eq!(versions(&out), ["requests 2.0.0"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["scan_findings"][0]["code"], "diff-id-mismatch", "{json}");
    // `--fail-on` decides, as for every finding.
    let out = catalog(
        &env,
        "oci:evil",
        &["--no-cache", "--verify-diff-ids", "--fail-on", "never"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(codes(&out), ["error[diff-id-mismatch]"]);

    // The image as built: no finding at any threshold.
    let out = catalog(
        &env,
        "oci:good",
        &["--no-cache", "--verify-diff-ids", "--fail-on", "note"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(codes(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(versions(&out), ["requests 2.32.3"]);
}

#[test]
fn the_layer_cache_remembers_the_content_digest_and_a_cached_scan_still_compares_it() {
    let env = TestEnv::new();
    let (_, evil) = tampered(Compression::Zstd);
    img::write_layout(&env.path("evil"), &[LayoutEntry::Image(&evil, None)]);
    // A scan without the check fills the cache with facts that have no content digest...
    let out = catalog(&env, "oci:evil", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // ...so the check reads the layers again, and records their digest in the cache.
    let out = catalog(&env, "oci:evil", &["--verify-diff-ids"]);
    assert_eq!(codes(&out), ["error[diff-id-mismatch]"]);
    // Now the blobs are gone: the layers can only come from the cache, which recorded what
    // they decompressed to, and a scan without the check still compares that.
    std::fs::remove_dir_all(env.path("evil/blobs/sha256")).unwrap();
    std::fs::create_dir_all(env.path("evil/blobs/sha256")).unwrap();
    for bytes in [&evil.config, &evil.manifest] {
        std::fs::write(
            env.path("evil/blobs/sha256").join(&img::sha256(bytes)[7..]),
            bytes,
        )
        .unwrap();
    }
    for args in [&[][..], &["--verify-diff-ids"][..]] {
        let out = catalog(&env, "oci:evil", args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert_eq!(codes(&out), ["error[diff-id-mismatch]"]);
        assert_eq!(versions(&out), ["requests 2.0.0"]);
    }
    // Without the cache, the missing blobs are an input error, not a verified result.
    let out = catalog(&env, "oci:evil", &["--no-cache", "--verify-diff-ids"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn docker_archives_are_checked_too() {
    let env = TestEnv::new();
    // `docker save` writes uncompressed layers.
    let (good, evil) = tampered(Compression::None);
    img::write_oci_archive(&env.path("evil.tar"), &evil, "evil:1");
    let out = catalog(&env, "docker-archive:evil.tar", &["--verify-diff-ids"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(codes(&out), ["error[diff-id-mismatch]"]);
    assert!(stderr(&out).contains(&good.layers[1].diff_id));
    // A legacy archive names its layers by their diff_ids: the blob check itself fails,
    // and what was read is partial.
    img::write_legacy_archive(&env.path("legacy.tar"), &evil, "evil:1");
    let out = catalog(
        &env,
        "docker-archive:legacy.tar",
        &["--verify-diff-ids", "--fail-on", "catalog-incomplete"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(codes(&out), ["warning[catalog-incomplete]"]);
    assert!(stderr(&out).contains("digest mismatch"), "{}", stderr(&out));
}

fn scanner() -> Scanner {
    Scanner::new(ScannerOptions {
        insecure_registries: Vec::new(),
        platform: None,
        cache: false,
        limits: Limits::default(),
        progress: Arc::new(NoProgress),
        verify_diff_ids: false,
    })
    .unwrap()
}

#[test]
fn a_verified_scan_of_a_registry_image_returns_the_catalog_and_the_mismatch() {
    let reg = registry::plain();
    let (good, evil) = tampered(Compression::Gzip);
    reg.push_image("integrity/app", "good", &good);
    reg.push_image("integrity/app", "evil", &evil);
    let scanner = scanner();

    let source: ImageSource = format!("{}/integrity/app:good", reg.addr).parse().unwrap();
    let scanned = scanner.scan_verified(&source).unwrap();
    assert!(scanned.content_verified());
    assert_eq!(
        scanned.diff_ids,
        [DiffIdCheck::Verified, DiffIdCheck::Verified]
    );
    assert!(scanned.warnings.is_empty(), "{:?}", scanned.warnings);

    let source: ImageSource = format!("{}/integrity/app:evil", reg.addr).parse().unwrap();
    let scanned = scanner.scan_verified(&source).unwrap();
    assert!(!scanned.content_verified());
    assert_eq!(scanned.diff_ids[0], DiffIdCheck::Verified);
    let mismatches: Vec<_> = scanned.diff_id_mismatches().collect();
    assert_eq!(mismatches.len(), 1);
    let m = mismatches[0];
    assert_eq!(m.index, 1);
    let digest = |s: &str| s.parse::<Digest>().unwrap();
    assert_eq!(m.digest, digest(&evil.layers[1].digest));
    assert_eq!(m.expected, digest(&good.layers[1].diff_id));
    assert_eq!(m.actual, digest(&img::sha256(&evil.layers[1].tar)));
    let [finding] = scanned.warnings.as_slice() else {
        panic!("{:?}", scanned.warnings);
    };
    assert_eq!(finding.code, Code::DiffIdMismatch);
    assert_eq!(finding.severity, Severity::Error);
    // The catalog of what the layers hold comes back all the same.
    assert!(!scanned.catalog.completeness.is_partial());
    let pkgs: Vec<_> = scanned
        .catalog
        .packages
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    assert_eq!(pkgs, ["requests 2.0.0"]);

    // A plain scan does not hash: the layers are unchecked, and nothing is reported.
    let scanned = scanner.scan(&source, None).unwrap();
    assert_eq!(
        scanned.diff_ids,
        [DiffIdCheck::Unchecked, DiffIdCheck::Unchecked]
    );
    assert!(scanned.warnings.is_empty(), "{:?}", scanned.warnings);
    assert!(!scanned.content_verified());

    // The CLI says the same of the registry image.
    let env = TestEnv::new();
    let out = catalog(&env, &source.to_string(), &["--verify-diff-ids"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(codes(&out), ["error[diff-id-mismatch]"]);
}

/// A tar cut inside its second entry: the blob holding it matches its digest and the
/// config's `diff_id` matches it too, but the archive is truncated.
fn cut_tar() -> Vec<u8> {
    let readme: &[u8] = b"not a package\n";
    let padding = vec![b'x'; 4096];
    let t = img::tar(&[("opt/README", readme), ("opt/big", &padding)]);
    t[..1024 + 512 + 1000].to_vec()
}

pub(crate) fn truncated_image() -> BuiltImage {
    let six = format!("{SP}/six-1.16.0.dist-info/METADATA");
    img::build_from_tars(
        &Spec {
            label: "truncated",
            ..Spec::default()
        },
        &[],
        vec![
            (
                Compression::Gzip,
                img::tar(&[("etc/os-release", b"ID=test\n")]),
            ),
            (Compression::Gzip, img::tar(&[(six.as_str(), SIX)])),
            (Compression::Gzip, cut_tar()),
        ],
    )
}

#[test]
fn a_truncated_layer_is_a_finding_that_fail_on_can_act_on() {
    let reg = registry::plain();
    let image = truncated_image();
    reg.push_image("integrity/truncated", "v1", &image);
    let reference = format!("{}/integrity/truncated:v1", reg.addr);
    let env = TestEnv::new();
    // The default threshold (`error`) lets a partial catalog through, with the finding.
    let out = catalog(&env, &reference, &["--no-cache"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(codes(&out), ["warning[catalog-incomplete]"]);
    assert!(stderr(&out).contains("truncated"), "{}", stderr(&out));
    for fail_on in [
        "catalog-incomplete",
        "warning",
        "diff-id-mismatch,catalog-incomplete",
    ] {
        let out = catalog(&env, &reference, &["--no-cache", "--fail-on", fail_on]);
        assert_eq!(out.status.code(), Some(1), "{fail_on}: {}", stderr(&out));
    }
    // The old name of the code still selects it.
    let out = catalog(
        &env,
        &reference,
        &["--no-cache", "--fail-on", "incomplete-catalog"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The check cannot vouch for a layer it could not read to its end; it says so once,
    // as the partial catalog, not as a mismatch.
    let out = catalog(
        &env,
        &reference,
        &["--verify-diff-ids", "--fail-on", "error"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(codes(&out), ["warning[catalog-incomplete]"]);
    // And `envaudit.toml` can accept it.
    env.write(
        "envaudit.toml",
        "[[accept]]\ncode = \"catalog-incomplete\"\nreason = \"the top layer is known to be cut\"\n",
    );
    let out = catalog(&env, &reference, &["--fail-on", "warning"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let scanned = scanner()
        .scan_verified(&reference.parse().unwrap())
        .unwrap();
    assert!(!scanned.content_verified());
    assert_eq!(
        scanned.diff_ids,
        [
            DiffIdCheck::Verified,
            DiffIdCheck::Verified,
            DiffIdCheck::Unchecked
        ]
    );
    assert_eq!(
        scanned.warnings.iter().map(|f| f.code).collect::<Vec<_>>(),
        [Code::CatalogIncomplete]
    );
}

#[test]
fn a_corrupt_layout_blob_is_a_partial_catalog() {
    let env = TestEnv::new();
    let image = image_with("requests", "2.32.3", Compression::Gzip);
    img::write_layout(&env.path("l"), &[LayoutEntry::Image(&image, None)]);
    let blob = env
        .path("l/blobs/sha256")
        .join(&image.layers[1].digest[7..]);
    let bytes = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, &bytes[..bytes.len() - 9]).unwrap();
    let out = catalog(&env, "oci:l", &["--fail-on", "catalog-incomplete"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(codes(&out), ["warning[catalog-incomplete]"]);
    // A folder with a malformed package database is partial too.
    env.write("prefix/conda-meta/bad-1.0-0.json", "{\"name\": ");
    let out = env
        .envaudit()
        .args(["catalog", "prefix", "--fail-on", "catalog-incomplete"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(codes(&out), ["warning[catalog-incomplete]"]);
    assert!(
        stderr(&out).contains("malformed conda record"),
        "{}",
        stderr(&out)
    );
}

/// A project whose only environment installs exactly what it declares, on a base image
/// pinned by digest: its run is reproducible unless the catalog is partial.
fn locked_project(
    reg: &registry::RegistryServer,
    image: &BuiltImage,
    repo: &str,
) -> (TestEnv, Output) {
    let base = img::build(&Spec {
        layers: vec![(Compression::Gzip, vec![("etc/os-release", b"ID=test\n")])],
        label: "truncated",
        ..Spec::default()
    });
    assert_eq!(base.layers[0].diff_id, image.layers[0].diff_id);
    reg.push_image(repo, "base", &base);
    reg.push_image(repo, "app", image);
    let env = TestEnv::new();
    env.write("requirements.txt", "six==1.16.0\n");
    let out = env
        .envaudit()
        .args([
            "lock",
            "requirements.txt",
            "--image",
            &format!("{}/{repo}:app", reg.addr),
            "--base-image",
            &format!("{}/{repo}@{}", reg.addr, base.manifest_digest),
            "--model",
            "m:1",
            "--run-id",
            "run-1",
            "--fail-on",
            "catalog-incomplete",
        ])
        .output()
        .unwrap();
    (env, out)
}

#[test]
fn lock_and_report_strict_fail_on_a_partial_snapshot() {
    let reg = registry::plain();
    let truncated = truncated_image();
    let (env, out) = locked_project(reg, &truncated, "integrity/lock-partial");
    // The snapshot is recorded, and the lock fails as `--fail-on` says.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(codes(&out), ["warning[catalog-incomplete]"]);
    assert!(stderr(&out).contains("truncated"), "{}", stderr(&out));
    let lock = std::fs::read_to_string(env.path("envaudit.lock")).unwrap();
    assert!(lock.contains("completeness = \"partial: "), "{lock}");

    let report = |args: &[&str]| {
        env.envaudit()
            .args(["report", "--model", "m", "--format", "json"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = report(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(codes(&out), ["warning[catalog-incomplete]"]);
    let out = report(&["--strict"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failing: Vec<&str> = r["runs"][0]["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["catalog-complete"]);

    // The same project over an intact image: the lock and `report --strict` pass.
    let six = format!("{SP}/six-1.16.0.dist-info/METADATA");
    let intact = img::build(&Spec {
        layers: vec![
            (Compression::Gzip, vec![("etc/os-release", b"ID=test\n")]),
            (Compression::Gzip, vec![(six.as_str(), SIX)]),
        ],
        label: "intact",
        ..Spec::default()
    });
    let (env, out) = locked_project(reg, &intact, "integrity/lock-intact");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(codes(&out).is_empty(), "{}", stderr(&out));
    let out = env
        .envaudit()
        .args(["report", "--model", "m", "--strict"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(codes(&out).is_empty(), "{}", stderr(&out));
}
