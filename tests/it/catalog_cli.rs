//! `envaudit catalog` end to end: image layers from an OCI layout and from the real
//! registry, streamed, verified and walked with whiteouts applied.

use crate::support::TestEnv;
use crate::support::image::{self as img, Compression, LayoutEntry, Spec};
use crate::support::registry;

const NUMPY_OLD: &[u8] = b"Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.3\n";
const NUMPY_NEW: &[u8] = b"Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\n";
const PANDAS: &[u8] =
    b"Metadata-Version: 2.1\nName: pandas\nVersion: 2.2.2\nRequires-Dist: numpy>=1.26.0\n";
const SP: &str = "opt/venv/lib/python3.11/site-packages";

/// A base layer with numpy 1.26.3 and pandas, then `pip install -U numpy` on top.
fn image() -> img::BuiltImage {
    let old = format!("{SP}/numpy-1.26.3.dist-info/METADATA");
    let pandas = format!("{SP}/pandas-2.2.2.dist-info/METADATA");
    let wh = format!("{SP}/.wh.numpy-1.26.3.dist-info");
    let new = format!("{SP}/numpy-1.26.4.dist-info/METADATA");
    let cfg = "opt/venv/pyvenv.cfg";
    img::build(&Spec {
        layers: vec![
            (
                Compression::Gzip,
                vec![
                    (old.as_str(), NUMPY_OLD),
                    (pandas.as_str(), PANDAS),
                    (cfg, b"version = 3.11.9\n"),
                ],
            ),
            (
                Compression::Zstd,
                vec![(wh.as_str(), b""), (new.as_str(), NUMPY_NEW)],
            ),
        ],
        label: "catalog-cli",
        ..Spec::default()
    })
}

fn packages(out: &[u8]) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(out).unwrap();
    assert_eq!(v["schema_version"], 1);
    let mut p: Vec<(String, String)> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    p.sort();
    p
}

fn expected() -> Vec<(String, String)> {
    vec![
        ("numpy".into(), "1.26.4".into()),
        ("pandas".into(), "2.2.2".into()),
    ]
}

#[test]
fn catalog_of_an_oci_layout_shows_the_final_filesystem() {
    let env = TestEnv::new();
    let image = image();
    img::write_layout(
        &env.path("layout"),
        &[LayoutEntry::Image(&image, Some("v1"))],
    );
    let out = env
        .envaudit()
        .args(["catalog", "oci:layout:v1", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(packages(&out.stdout), expected());
    // The upgrade was written by the second layer.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let numpy = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "numpy")
        .unwrap();
    assert_eq!(numpy["location"]["layer"]["index"], 1);
    assert_eq!(numpy["location"]["layer"]["digest"], image.layers[1].digest);
    // The table names both packages; --ecosystem filters.
    let out = env
        .envaudit()
        .args(["catalog", "oci:layout:v1", "--ecosystem", "deb"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("oci:layout:v1: 0 packages"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn catalog_of_a_registry_image_streams_verified_layers() {
    let reg = registry::plain();
    let image = image();
    reg.push_image("catalog/cli", "v1", &image);
    let env = TestEnv::new();
    let reference = format!("{}/catalog/cli:v1", reg.addr);
    let out = env
        .envaudit()
        .args(["catalog", &reference, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(packages(&out.stdout), expected());
}

#[test]
fn verify_diff_ids_of_a_folder_is_a_usage_error_not_silently_ignored() {
    let env = TestEnv::new();
    env.write("venv/pyvenv.cfg", "version = 3.10.14\n");
    let out = env
        .envaudit()
        .args(["catalog", "venv", "--verify-diff-ids"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is a folder: it has no layers"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn catalog_of_a_missing_image_is_an_input_error() {
    let env = TestEnv::new();
    let out = env
        .envaudit()
        .args(["catalog", "oci:nowhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: cannot catalog `oci:nowhere`")
    );
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn find<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v}"))
}

/// A second image shares the first one's base layer and upgrades numpy on top.
fn two_images() -> (img::BuiltImage, img::BuiltImage) {
    let old = format!("{SP}/numpy-1.26.3.dist-info/METADATA");
    let pandas = format!("{SP}/pandas-2.2.2.dist-info/METADATA");
    let wh = format!("{SP}/.wh.numpy-1.26.3.dist-info");
    let new = format!("{SP}/numpy-1.26.4.dist-info/METADATA");
    let base = (
        Compression::Gzip,
        vec![(old.as_str(), NUMPY_OLD), (pandas.as_str(), PANDAS)],
    );
    let first = img::build(&Spec {
        layers: vec![
            base.clone(),
            (Compression::Zstd, vec![("etc/os-release", b"ID=first\n")]),
        ],
        label: "first",
        ..Spec::default()
    });
    let second = img::build(&Spec {
        layers: vec![
            base,
            (
                Compression::Zstd,
                vec![(wh.as_str(), b""), (new.as_str(), NUMPY_NEW)],
            ),
        ],
        label: "second",
        ..Spec::default()
    });
    (first, second)
}

#[test]
fn layer_cache_serves_shared_layers_and_the_view_is_merged_per_image() {
    let env = TestEnv::new();
    let (first, second) = two_images();
    img::write_layout(&env.path("a"), &[LayoutEntry::Image(&first, None)]);
    img::write_layout(&env.path("b"), &[LayoutEntry::Image(&second, None)]);
    let v = json_of(
        &env.envaudit()
            .args(["catalog", "oci:a", "--format", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(find(&v, "numpy")["version"], "1.26.3");
    // The shared base layer is gone from the second layout: only the cache has it.
    let blob = env
        .path("b/blobs/sha256")
        .join(&second.layers[0].digest[7..]);
    std::fs::remove_file(&blob).unwrap();
    let v = json_of(
        &env.envaudit()
            .args(["catalog", "oci:b", "--format", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(packages_of(&v), expected());
    assert_eq!(v["completeness"]["status"], "complete");
    let numpy = find(&v, "numpy");
    assert_eq!(numpy["location"]["layer"]["index"], 1);
    assert_eq!(
        find(&v, "pandas")["location"]["layer"]["digest"],
        second.layers[0].digest
    );
    // Without the cache the missing blob is read, and missed.
    let out = env
        .envaudit()
        .args(["catalog", "oci:b", "--no-cache"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn packages_of(v: &serde_json::Value) -> Vec<(String, String)> {
    packages(&serde_json::to_vec(v).unwrap())
}

#[test]
fn a_layer_whose_bytes_fail_their_digest_after_the_archive_is_partial_and_not_cached() {
    let env = TestEnv::new();
    let pandas = format!("{SP}/pandas-2.2.2.dist-info/METADATA");
    let image = img::build(&Spec {
        layers: vec![(Compression::None, vec![(pandas.as_str(), PANDAS)])],
        label: "tampered",
        ..Spec::default()
    });
    img::write_layout(&env.path("l"), &[LayoutEntry::Image(&image, None)]);
    // The last byte is in the second end-of-archive block, which no tar reader needs.
    let blob = env
        .path("l/blobs/sha256")
        .join(&image.layers[0].digest[7..]);
    let mut bytes = std::fs::read(&blob).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&blob, &bytes).unwrap();
    for _ in 0..2 {
        let v = json_of(
            &env.envaudit()
                .args(["catalog", "oci:l", "--format", "json"])
                .output()
                .unwrap(),
        );
        assert_eq!(v["completeness"]["status"], "partial", "{v}");
        assert!(
            v["completeness"]["reason"]
                .as_str()
                .unwrap()
                .contains("digest"),
            "{v}"
        );
    }
}

#[test]
fn packages_of_the_base_image_layers_are_marked() {
    let env = TestEnv::new();
    let (first, second) = two_images();
    let old = format!("{SP}/numpy-1.26.3.dist-info/METADATA");
    let pandas = format!("{SP}/pandas-2.2.2.dist-info/METADATA");
    let base = img::build(&Spec {
        layers: vec![(
            Compression::Gzip,
            vec![(old.as_str(), NUMPY_OLD), (pandas.as_str(), PANDAS)],
        )],
        label: "base",
        ..Spec::default()
    });
    assert_eq!(base.layers[0].diff_id, second.layers[0].diff_id);
    img::write_layout(
        &env.path("l"),
        &[
            LayoutEntry::Image(&second, Some("app")),
            LayoutEntry::Image(&base, Some("base")),
            LayoutEntry::Image(&first, Some("other")),
        ],
    );
    let v = json_of(
        &env.envaudit()
            .args([
                "catalog",
                "oci:l:app",
                "--base-image",
                "oci:l:base",
                "--format",
                "json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(find(&v, "pandas")["location"]["layer"]["from_base"], true);
    assert_eq!(find(&v, "numpy")["location"]["layer"]["from_base"], false);
    // A base image that the image does not start with marks nothing, and says so.
    let out = env
        .envaudit()
        .args([
            "catalog",
            "oci:l:base",
            "--base-image",
            "oci:l:other",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert!(find(&v, "pandas")["location"]["layer"]["from_base"].is_null());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not start with the layers"),
        "{stderr}"
    );
    // A scan's warnings are findings with a code of their own.
    assert!(
        stderr.contains("warning[base-image-mismatch]: "),
        "{stderr}"
    );
}

#[test]
fn a_layer_over_the_size_limit_gives_a_partial_result() {
    let env = TestEnv::new();
    let image = image();
    img::write_layout(&env.path("l"), &[LayoutEntry::Image(&image, None)]);
    let v = json_of(
        &env.envaudit()
            .args([
                "catalog",
                "oci:l",
                "--max-layer-size",
                "2K",
                "--format",
                "json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(v["completeness"]["status"], "partial");
    assert!(
        v["completeness"]["reason"]
            .as_str()
            .unwrap()
            .contains("2048 bytes"),
        "{v}"
    );
    let out = env
        .envaudit()
        .args(["catalog", "oci:l", "--max-layer-size", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
