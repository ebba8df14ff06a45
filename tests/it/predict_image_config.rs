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

/// A conda channel's `noarch/repodata.json` under `www/chan/NAME` holding `records`
/// (`name`, `version`).
fn channel(dir: &Path, name: &str, records: &[(&str, &str)]) {
    let packages: serde_json::Map<String, serde_json::Value> = records
        .iter()
        .map(|(n, v)| {
            (
                format!("{n}-{v}-0.tar.bz2"),
                serde_json::json!({
                    "name": n, "version": v, "build": "0", "build_number": 0,
                    "depends": [], "subdir": "noarch", "noarch": "generic",
                }),
            )
        })
        .collect();
    let doc = serde_json::json!({"info": {"subdir": "noarch"}, "packages": packages});
    let path = dir.join(format!("www/chan/{name}/noarch/repodata.json"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, doc.to_string()).unwrap();
}

/// A conda-meta record of the image.
fn conda_meta(prefix: &str, name: &str, version: &str) -> (String, Vec<u8>) {
    let json = serde_json::json!({
        "name": name, "version": version, "build": "0", "build_number": 0,
        "channel": "https://conda.anaconda.org/conda-forge/noarch", "subdir": "noarch",
        "depends": [], "files": [],
    });
    (
        format!("{prefix}/conda-meta/{name}-{version}-0.json"),
        json.to_string().into_bytes(),
    )
}

/// `conda env create` searches the environment file's channels, then the channels the
/// image's `.condarc` files configure, merged as conda merges them: the lists of
/// `/opt/conda/.condarc` and `/root/.condarc` concatenated, the later file's first; a
/// `#!final` key in an earlier file stays; `defaults` is not added when channels are
/// configured; `nodefaults` in the file leaves the configured channels out.
#[test]
fn predict_searches_the_channels_the_images_condarc_files_configure() {
    let t = TestEnv::new();
    let dir = t.path("channels");
    // `demo` is on the user's channel and the site's, not on conda-forge: flexible priority
    // takes it from the first of them that the merged list names
    channel(&dir, "conda-forge", &[("helper", "1.0")]);
    channel(&dir, "corp", &[("demo", "2.0"), ("corp-only", "1.0")]);
    channel(&dir, "user", &[("demo", "3.0")]);
    channel(&dir, "pkgs/main", &[("demo", "9.0"), ("corp-only", "9.0")]);
    let server = IndexServer::start(&dir, None);
    let base = server.url("/chan");
    let site = format!(
        "channel_alias: {base}  #!final\ndefault_channels:\n  - {base}/pkgs/main\nchannels:\n  - corp\n"
    );
    let user = "channels:\n- user\nchannel_alias: http://127.0.0.1:1/not-this\n";
    let files = [
        conda_meta("opt/conda", "conda", "24.4.0"),
        conda_meta("opt/env", "python", "3.10.14"),
        conda_meta("opt/env", "helper", "1.0"),
        conda_meta("opt/env", "demo", "1.0"),
        conda_meta("opt/env", "corp-only", "0.9"),
    ];
    let mut layer: Vec<(&str, &[u8])> = vec![
        ("etc/os-release", b"ID=ubuntu\nVERSION_ID=\"22.04\"\n"),
        ("opt/conda/.condarc", site.as_bytes()),
        ("root/.condarc", user.as_bytes()),
    ];
    layer.extend(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
    let image = img::build_with_env(
        &ImageSpec {
            layers: vec![(Compression::Gzip, layer)],
            label: "condarc",
            ..ImageSpec::default()
        },
        &["PATH=/opt/conda/bin:/usr/bin"],
    );
    img::write_layout(&t.path("layout"), &[LayoutEntry::Image(&image, Some("v1"))]);
    let definition = |channels: &str| {
        t.write(
            "environment.yml",
            format!(
                "name: t\nchannels:\n{channels}dependencies:\n  - helper\n  - demo\n  - corp-only\n"
            ),
        );
    };
    definition("  - conda-forge\n");
    ok(&t
        .envaudit()
        .args(["lock", "environment.yml", "--image", "oci:layout:v1"])
        .args(["--fail-on", "never"])
        .output()
        .unwrap());
    let predict = || {
        let out = t
            .envaudit()
            .args(["predict", "--format", "json", "--fail-on", "never"])
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        report
    };
    let channels_read = || -> Vec<String> {
        let mut read: Vec<String> = server
            .requests()
            .into_iter()
            .filter_map(|(path, _, _)| {
                // `/chan/NAME/SUBDIR/repodata.json[.zst]`
                let rest = path.strip_prefix("/chan/")?;
                Some(rest.rsplitn(3, '/').nth(2)?.to_owned())
            })
            .collect();
        read.sort();
        read.dedup();
        read
    };
    let conda_versions = |report: &serde_json::Value| -> BTreeMap<String, String> {
        report["environments"][0]["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["ecosystem"] == "conda" && p["prefix"] == "/opt/env")
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["predicted"].as_str().unwrap_or("-").to_owned(),
                )
            })
            .collect()
    };

    let report = predict();
    let versions = conda_versions(&report);
    // `demo` from `user` (the later file's list comes first), `corp-only` from `corp`
    // (the earlier file's list is kept, not replaced); nothing from `defaults`
    assert_eq!(versions["demo"], "3.0", "{report}");
    assert_eq!(versions["corp-only"], "1.0", "{report}");
    assert_eq!(versions["helper"], "1.0", "{report}");
    assert_eq!(channels_read(), ["conda-forge", "corp", "user"]);

    // `nodefaults`: only the file's channels; `demo` and `corp-only` are then nowhere
    server.clear_log();
    definition("  - conda-forge\n  - nodefaults\n");
    let report = predict();
    assert_eq!(channels_read(), ["conda-forge"]);
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["code"] == "unresolvable"),
        "{report}"
    );
}
