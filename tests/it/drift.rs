//! `envaudit check`, `drift`, `why` and `graph` end to end: a regenerated image pushed under
//! the same tag to the real registry, found and attributed.

use crate::support::image::{self as img, Compression, LayoutEntry, Spec};
use crate::support::registry;
use crate::support::{TestEnv, ok};
use std::fmt::Write as _;

const SP: &str = "opt/env/lib/python3.10/site-packages";

fn dist(name: &str, version: &str, requires: &[&str]) -> (String, Vec<u8>) {
    let mut m = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for r in requires {
        writeln!(m, "Requires-Dist: {r}").unwrap();
    }
    (
        format!("{SP}/{name}-{version}.dist-info/METADATA"),
        m.into_bytes(),
    )
}

fn conda(name: &str, version: &str, build: &str, depends: &[&str]) -> (String, Vec<u8>) {
    let json = serde_json::json!({
        "name": name, "version": version, "build": build, "build_number": 0,
        "channel": "https://conda.anaconda.org/conda-forge/linux-64", "subdir": "linux-64",
        "depends": depends, "files": [],
    });
    (
        format!("opt/env/conda-meta/{name}-{version}-{build}.json"),
        json.to_string().into_bytes(),
    )
}

/// The environment as built (`v1`) or regenerated from the same definition (`v2`): pandas
/// moved within its range, toolz dropped, tzdata added, openssl rebuilt; `six` comes with
/// the base layer; numpy is pinned and stays.
fn image(regenerated: bool) -> img::BuiltImage {
    let base = vec![
        dist("six", "1.16.0", &[]),
        (
            "etc/os-release".to_owned(),
            b"ID=ubuntu\nVERSION_ID=\"22.04\"\n".to_vec(),
        ),
    ];
    let mut env = vec![
        conda("python", "3.10.14", "h1", &["openssl >=3.0,<4.0a0"]),
        dist("numpy", "1.26.4", &[]),
    ];
    if regenerated {
        env.push(conda("openssl", "3.3.0", "h2_1", &[]));
        env.push(dist(
            "pandas",
            "2.2.3",
            &["numpy>=1.22.4", "tzdata>=2022.7", "six>=1.5"],
        ));
        env.push(dist("tzdata", "2024.2", &[]));
    } else {
        env.push(conda("openssl", "3.3.0", "h1_0", &[]));
        env.push(dist(
            "pandas",
            "2.2.2",
            &["numpy>=1.22.4", "toolz", "six>=1.5"],
        ));
        env.push(dist("toolz", "0.12.1", &[]));
    }
    img::build(&Spec {
        layers: vec![
            (Compression::Gzip, borrow(&base)),
            (Compression::Zstd, borrow(&env)),
        ],
        label: if regenerated { "v2" } else { "v1" },
        ..Spec::default()
    })
}

fn borrow(v: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    v.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect()
}

const CONDA: &str = "name: train\nchannels: [conda-forge]\ndependencies:\n  - python=3.10\n  - pip\n  - pip:\n    - numpy==1.26.4\n    - pandas>=2.0\n";

/// (package, change, cause, path) of each attribution.
fn attributions(v: &serde_json::Value) -> Vec<(String, String, String, String)> {
    v["environments"][0]["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["change"]["name"].as_str().unwrap().to_owned(),
                a["change"]["kind"].as_str().unwrap().to_owned(),
                a["cause"].as_str().unwrap().to_owned(),
                a["path"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

fn expected() -> Vec<(String, String, String, String)> {
    [
        (
            "openssl",
            "rebuilt",
            "requirements",
            "python=3.10 (fuzzy) -> openssl >=3.0,<4.0a0 (range)",
        ),
        (
            "pandas",
            "upgraded",
            "declared-unpinned",
            "pandas>=2.0 (range)",
        ),
        (
            "toolz",
            "removed",
            "requirements",
            "pandas>=2.0 (range) -> toolz (unpinned)",
        ),
        (
            "tzdata",
            "added",
            "requirements",
            "pandas>=2.0 (range) -> tzdata>=2022.7 (range)",
        ),
    ]
    .iter()
    .map(|(a, b, c, d)| ((*a).into(), (*b).into(), (*c).into(), (*d).into()))
    .collect()
}

#[test]
fn check_finds_a_regenerated_image_behind_the_same_tag_and_attributes_every_change() {
    let reg = registry::plain();
    let env = TestEnv::new();
    env.write("conda.yml", CONDA);
    let reference = format!("{}/drift/train:latest", reg.addr);
    reg.push_image("drift/train", "latest", &image(false));
    ok(&env
        .envaudit()
        .args(["lock", "conda.yml", "--image", &reference])
        .output()
        .unwrap());
    // Nothing moved yet.
    let out = env.envaudit().args(["check"]).output().unwrap();
    let text = ok(&out);
    assert!(text.contains("no package changed"), "{text}");
    // Environment.build: the same definition, regenerated, pushed under the same tag.
    reg.push_image("drift/train", "latest", &image(true));
    let out = env
        .envaudit()
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["environments"][0]["silent_drift"], true);
    assert_eq!(attributions(&v), expected());
    assert_eq!(v["findings"][0]["code"], "silent-drift");
    // An edited definition that was not locked again is stale.
    env.write("conda.yml", CONDA.replace("pandas>=2.0", "pandas==2.2.3"));
    let out = env
        .envaudit()
        .args(["check", "--fail-on", "stale-lock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("edited but not locked again"));
}

#[test]
fn drift_between_two_images_with_their_definition() {
    let env = TestEnv::new();
    env.write("conda.yml", CONDA);
    let (v1, v2) = (image(false), image(true));
    img::write_layout(
        &env.path("layout"),
        &[
            LayoutEntry::Image(&v1, Some("v1")),
            LayoutEntry::Image(&v2, Some("v2")),
        ],
    );
    let out = env
        .envaudit()
        .args([
            "drift",
            "oci:layout:v1",
            "oci:layout:v2",
            "--definition",
            "conda.yml",
        ])
        .args(["--format", "json", "--fail-on", "never"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(attributions(&v), expected());
    // The same through lock snapshots, in Markdown.
    ok(&env
        .envaudit()
        .args([
            "lock",
            "conda.yml",
            "--image",
            "oci:layout:v1",
            "--lockfile",
            "a.lock",
        ])
        .output()
        .unwrap());
    ok(&env
        .envaudit()
        .args([
            "lock",
            "conda.yml",
            "--image",
            "oci:layout:v2",
            "--lockfile",
            "b.lock",
        ])
        .output()
        .unwrap());
    let out = env
        .envaudit()
        .args(["drift", "@:a.lock", "@:b.lock", "--format", "markdown"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("| `tzdata` | added | - | 2024.2 | transitive | pandas>=2.0 (range) -> tzdata>=2022.7 (range) |"),
        "{md}"
    );
    // why and graph read the same snapshot.
    let why = ok(&env
        .envaudit()
        .args(["why", "tzdata", "--lockfile", "b.lock"])
        .output()
        .unwrap());
    assert!(why.starts_with("tzdata 2024.2 (transitive)"), "{why}");
    assert!(
        why.contains("pandas>=2.0 (range) -> tzdata>=2022.7 (range)"),
        "{why}"
    );
    let dot = ok(&env
        .envaudit()
        .args(["graph", "--lockfile", "b.lock", "--format", "dot"])
        .output()
        .unwrap());
    assert!(dot.starts_with("digraph envaudit {"), "{dot}");
    assert!(
        dot.contains("[label=\"tzdata>=2022.7\", style=dashed]"),
        "{dot}"
    );
    let tree = ok(&env
        .envaudit()
        .args(["graph", "--lockfile", "b.lock"])
        .output()
        .unwrap());
    assert!(tree.contains("pandas 2.2.3 [range] pandas>=2.0"), "{tree}");
    assert!(
        tree.contains("  tzdata 2024.2 [range] tzdata>=2022.7"),
        "{tree}"
    );
    let out = env
        .envaudit()
        .args(["why", "nosuch", "--lockfile", "b.lock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
