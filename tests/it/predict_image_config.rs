//! `predict` reads the package indexes a build inside the image would use: an image (an OCI
//! layout built here) whose `/etc/pip.conf` names one index served over HTTP and whose config
//! `Env` adds another with `PIP_EXTRA_INDEX_URL`; a requirements definition locked from it,
//! with no index anywhere in the definition. The host's `PIP_*` variables are not the
//! builder's and must not be read; `--index-url` wins over the image's `index-url`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::image::{self as img, Compression, LayoutEntry, Spec as ImageSpec};
use crate::support::pyindex::{IndexServer, Spec, metadata_text, spec, wheel, write_index};
use crate::support::{TestEnv, ok};

const SP: &str = "opt/env/lib/python3.10/site-packages";

/// Serves `releases` (`project`, `version`) from `dir` as a PEP 503/691 index.
fn index(dir: &Path, releases: &[(&str, &str)]) -> IndexServer {
    let mut projects: BTreeMap<&str, Vec<Spec>> = BTreeMap::new();
    for (project, version) in releases {
        let filename = format!("{project}-{version}-py3-none-any.whl");
        let metadata = metadata_text(project, version, &[], None);
        let bytes = wheel(&filename, &metadata);
        projects.entry(project).or_default().push(Spec {
            sidecar: Some(metadata),
            ..spec(filename, bytes)
        });
    }
    write_index(dir, projects.into_iter().collect());
    IndexServer::start(dir, None)
}

/// The projects a server was asked about.
fn asked(server: &IndexServer) -> Vec<String> {
    let mut out: Vec<String> = server
        .requests()
        .into_iter()
        .filter_map(|(path, _, _)| {
            let rest = path.strip_prefix("/simple/")?;
            Some(rest.trim_end_matches('/').to_owned()).filter(|p| !p.is_empty())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn predicted(report: &serde_json::Value) -> BTreeMap<String, String> {
    report["environments"][0]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] == "pip")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["predicted"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

#[test]
fn predict_reads_the_indexes_from_the_images_pip_conf_and_env() {
    let t = TestEnv::new();
    let primary = index(&t.path("primary"), &[("demo", "1.0"), ("demo", "2.0")]);
    let extra = index(&t.path("extra"), &[("helper", "1.0"), ("helper", "1.1")]);
    let flagged = index(&t.path("flagged"), &[("demo", "1.0"), ("demo", "3.0")]);

    // pip.conf as pip reads it: a comment, `[install]` over `[global]`, `index_url` spelt
    // with an underscore; a token in the URL that must never be printed
    let pip_conf = format!(
        "# the site's index\n[global]\nindex-url = http://127.0.0.1:1/not-this/\ntimeout = 5\n[install]\nindex_url = {}\n",
        primary
            .url("/simple/")
            .replace("http://", "http://ci:s3cr3t-t0ken@")
    );
    let extra_env = format!("PIP_EXTRA_INDEX_URL={}", extra.url("/simple/"));
    let demo = metadata_text("demo", "1.0", &[], None);
    let helper = metadata_text("helper", "1.0", &[], None);
    let demo_path = format!("{SP}/demo-1.0.dist-info/METADATA");
    let helper_path = format!("{SP}/helper-1.0.dist-info/METADATA");
    let image = img::build_with_env(
        &ImageSpec {
            layers: vec![
                (
                    Compression::Gzip,
                    vec![
                        ("etc/os-release", b"ID=test\n".as_slice()),
                        // a user file that a later layer deletes: whiteouts apply
                        (
                            "root/.config/pip/pip.conf",
                            b"[install]\nindex-url = http://127.0.0.1:1/deleted/\n",
                        ),
                    ],
                ),
                (
                    Compression::Gzip,
                    vec![
                        ("etc/pip.conf", pip_conf.as_bytes()),
                        ("root/.config/pip/.wh.pip.conf", b"".as_slice()),
                        ("opt/env/pyvenv.cfg", b"version = 3.10.14\n"),
                        (demo_path.as_str(), demo.as_bytes()),
                        (helper_path.as_str(), helper.as_bytes()),
                    ],
                ),
            ],
            label: "image-config",
            ..ImageSpec::default()
        },
        &["PATH=/opt/env/bin:/usr/bin", &extra_env],
    );
    img::write_layout(&t.path("layout"), &[LayoutEntry::Image(&image, Some("v1"))]);
    t.write("requirements.txt", "demo\nhelper\n");
    ok(&t
        .envaudit()
        .args(["lock", "requirements.txt", "--image", "oci:layout:v1"])
        .output()
        .unwrap());

    let predict = |extra_args: &[&str]| {
        let out = t
            .envaudit()
            .args(["predict", "--format", "json"])
            .args(extra_args)
            // the host's pip settings are not the builder's
            .env("PIP_INDEX_URL", "http://127.0.0.1:1/host/")
            .env("PIP_FIND_LINKS", "/nonexistent-host-wheels")
            .output()
            .unwrap();
        let stdout = ok(&out);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !stdout.contains("s3cr3t") && !stderr.contains("s3cr3t"),
            "{stdout}\n{stderr}"
        );
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        report
    };

    // No index flag: the image's pip.conf and Env decide.
    let report = predict(&[]);
    let versions = predicted(&report);
    assert_eq!(versions["demo"], "2.0", "{report}");
    assert_eq!(versions["helper"], "1.1", "{report}");
    assert_eq!(asked(&primary), ["demo", "helper"]);
    assert_eq!(asked(&extra), ["demo", "helper"]);
    assert!(asked(&flagged).is_empty());
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"] != "unpredictable"),
        "{report}"
    );

    // `--index-url` wins over the image's `index-url`; the image's extra index stays.
    primary.clear_log();
    extra.clear_log();
    let report = predict(&["--index-url", &flagged.url("/simple/")]);
    let versions = predicted(&report);
    assert_eq!(versions["demo"], "3.0", "{report}");
    assert_eq!(versions["helper"], "1.1", "{report}");
    assert!(asked(&primary).is_empty(), "{:?}", primary.requests());
    assert_eq!(asked(&flagged), ["demo", "helper"]);
    assert_eq!(asked(&extra), ["demo", "helper"]);

    // The image gone: the prediction goes on (from the flags alone: `helper` is only on
    // the image's extra index, so it is given as a flag too), with a finding saying the
    // image's configuration could not be read.
    std::fs::remove_dir_all(t.path("layout")).unwrap();
    let report = predict(&[
        "--index-url",
        &flagged.url("/simple/"),
        "--extra-index-url",
        &extra.url("/simple/"),
    ]);
    assert_eq!(predicted(&report)["demo"], "3.0", "{report}");
    let notes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "unpredictable")
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|m| m.contains("`oci:layout:v1`") && m.contains("could not be read")),
        "{report}"
    );
}
