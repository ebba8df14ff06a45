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
