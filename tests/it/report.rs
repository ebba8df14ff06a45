//! `envaudit report`: the compliance report of a model trained on the example environment,
//! whose image was later regenerated under the same definition (silent drift), in a real git
//! repository; its HTML in a real headless browser; its SBOMs against the official schemas.

use std::process::{Command, Output};

use crate::support::{TestEnv, commit_all, copy_tree, fixture, ok, root};

/// A git repository with the example definition, locked after training (`train-1`, model
/// `sklearn-model:1`, image v1) and again after the image was regenerated (v2).
fn audited_project() -> TestEnv {
    let t = TestEnv::new();
    let repo = git2::Repository::init(t.dir.path()).unwrap();
    let mut cfg = repo.config().unwrap();
    cfg.set_str("user.name", "Auditor").unwrap();
    cfg.set_str("user.email", "auditor@example.com").unwrap();
    for f in ["environment.yml", "conda.yml"] {
        std::fs::copy(fixture(&format!("example/{f}")), t.path(f)).unwrap();
    }
    copy_tree(&fixture("example/image"), &t.path("image"));
    t.write(".gitignore", "image/\n");
    commit_all(t.dir.path(), "the training environment");
    for (image, run, epoch, model, message) in [
        (
            "v1",
            "train-1",
            "1795000000",
            Some("sklearn-model:1"),
            "lock after training",
        ),
        (
            "v2",
            "relock-2",
            "1795100000",
            None,
            "lock the regenerated image",
        ),
    ] {
        let mut c = t.envaudit();
        c.env("SOURCE_DATE_EPOCH", epoch).args([
            "lock",
            "environment.yml",
            "--image",
            &format!("oci:image:{image}"),
            "--base-image",
            "oci:image:base",
            "--run-id",
            run,
            "--commit",
            "-m",
            message,
        ]);
        if let Some(m) = model {
            c.args(["--model", m]);
        }
        ok(&c.output().unwrap());
    }
    t
}

fn report(t: &TestEnv, args: &[&str]) -> Output {
    t.envaudit()
        .env("SOURCE_DATE_EPOCH", "1795200000")
        .args(["report", "--model", "sklearn-model"])
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("JSON")
}

#[test]
fn the_report_says_what_the_model_was_trained_with_and_what_moved_since() {
    let t = audited_project();
    let r = json(&report(&t, &["--format", "json"]));
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["reproducible"], false);
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "only the run that trained the model");
    let run = &runs[0];
    assert_eq!(run["run"]["run"], "train-1");
    assert_eq!(run["environment"], "sklearn-train");

    // The snapshot the run used, as the lockfile archived it.
    let snap_id = run["identity"]["snapshot"].as_str().unwrap();
    let archived =
        std::fs::read_to_string(t.path(&format!("envaudit.lock.d/snapshots/{snap_id}.toml")))
            .unwrap();
    let listed = archived
        .lines()
        .filter(|l| l.contains("ecosystem = "))
        .count();
    let declared = archived.lines().filter(|l| l.contains("spec = ")).count();
    assert_eq!(run["counts"]["packages"], listed - declared);
    assert_eq!(run["packages"].as_array().unwrap().len(), listed - declared);
    assert_eq!(
        run["identity"]["definition_hash"].as_str().unwrap(),
        ok(&t
            .envaudit()
            .args(["hash", "environment.yml", "--format", "json"])
            .output()
            .unwrap())
        .split("\"definition_hash\": \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
    );
    assert!(
        run["identity"]["azureml_v2_anonymous_version"]
            .as_str()
            .is_some_and(|v| v.len() == 64)
    );
    assert_eq!(
        run["identity"]["definition_files"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(
        run["image"]["manifest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // The unpinned declarations, each with its pin state.
    let unpinned: Vec<(&str, &str)> = run["unpinned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["pin"].as_str().unwrap()))
        .collect();
    assert!(unpinned.contains(&("scipy", "unpinned")), "{unpinned:?}");
    assert!(unpinned.contains(&("pandas", "range")), "{unpinned:?}");
    assert!(!unpinned.iter().any(|(n, _)| *n == "scikit-learn"));

    // One later change: the regenerated image, silent drift.
    let history = run["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["silent_drift"], true);
    assert_eq!(history[0]["subject"], "lock the regenerated image");
    assert!(history[0]["package_changes"].as_u64().unwrap() > 0);

    // The verdict and each reason.
    let checks: std::collections::BTreeMap<&str, bool> = run["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["check"].as_str().unwrap(), c["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(run["verdict"]["reproducible"], false);
    assert!(checks["snapshot-recorded"]);
    assert!(checks["image-digest"]);
    assert!(checks["catalog-complete"]);
    assert!(!checks["base-image-pinned"]);
    assert!(!checks["declared-exact"]);
    assert!(!checks["transitive-pinned"]);
    assert!(!checks["no-drift-since"]);

    // The lockfile's identity: its bytes and the commit checked out.
    let bytes = std::fs::read(t.path("envaudit.lock")).unwrap();
    assert_eq!(
        r["lockfile"]["sha256"],
        envaudit::model::Digest::sha256_of(&bytes).to_string()
    );
    let head = git2::Repository::open(t.dir.path())
        .unwrap()
        .head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id()
        .to_string();
    assert_eq!(r["lockfile"]["commit"], head.as_str());
    assert_eq!(r["lockfile"]["modified"], false);

    // The Markdown report, with the commit ids (which hold the time of the test) replaced.
    let mut md = ok(&report(&t, &[]));
    let mut commits: Vec<String> = vec![head.clone()];
    commits.extend(run["run"]["commit"].as_str().map(str::to_owned));
    commits.extend(
        history
            .iter()
            .map(|h| h["commit"].as_str().unwrap().to_owned()),
    );
    for (i, c) in commits.iter().enumerate() {
        md = md
            .replace(c, &format!("COMMIT{i}"))
            .replace(&c[..12], &format!("COMMIT{i}"));
    }
    let time = history[0]["time"].as_str().unwrap();
    md = md.replace(time, "COMMIT-TIME");
    insta::assert_snapshot!("report_markdown", md);

    // --strict fails on an unreproducible model; --out writes the file.
    let out = report(&t, &["--strict", "--out", "report.md"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        std::fs::read_to_string(t.path("report.md"))
            .unwrap()
            .starts_with("# Compliance report")
    );
}

#[test]
fn an_unknown_model_names_the_recorded_ones() {
    let t = audited_project();
    let out = t
        .envaudit()
        .args(["report", "--model", "churn:3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no run of model `churn:3`"), "{err}");
    assert!(
        err.contains("hint: the recorded models are: sklearn-model:1"),
        "{err}"
    );
}

/// The HTML report in a real headless browser: no console error, the script ran, and the
/// filter (given in the page's URL, as a reader would share it) hides every other row.
#[test]
fn the_html_report_loads_in_a_browser_and_its_filter_works() {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| crate::support::registry::which(b).is_some())
        .expect("no headless browser: `apt-get install -y chromium` (scripts/test installs it)");
    let t = audited_project();
    ok(&report(&t, &["--format", "html", "--out", "report.html"]));
    let html = std::fs::read_to_string(t.path("report.html")).unwrap();
    assert!(
        !html.contains("<script src") && !html.contains("<link") && !html.contains("@import"),
        "self-contained: no external script or stylesheet"
    );
    let page = format!("file://{}#filter=numpy", t.path("report.html").display());
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            t.path("browser-profile").display()
        ))
        .arg("--dump-dom")
        .arg(&page)
        .output()
        .unwrap();
    let dom = ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    // The page's one log line proves the console is captured; nothing else may appear
    // (uncaught exceptions and console.error land here too).
    assert_eq!(console.len(), 1, "console: {console:#?}");
    assert!(
        console[0].contains("\"envaudit report ready\""),
        "{console:?}"
    );
    assert!(dom.contains("data-ready=\"true\""), "the script ran");
    let rows: Vec<&str> = dom
        .split("<tr data-name=\"")
        .skip(1)
        .map(|r| r.split("</tr>").next().unwrap())
        .collect();
    let visible: Vec<&str> = rows
        .iter()
        .filter(|r| !r.split('>').next().unwrap().contains("hidden"))
        .copied()
        .collect();
    assert!(rows.len() > 100, "{} rows", rows.len());
    assert!(!visible.is_empty());
    assert!(visible.len() < rows.len());
    assert!(
        visible.iter().all(|r| r.to_lowercase().contains("numpy")),
        "{visible:?}"
    );
    let shown = dom
        .split("id=\"shown-0\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap();
    assert_eq!(shown, visible.len().to_string());
}

/// A validator for the vendored schema `main`, resolving its `$ref`s to the files beside it.
fn validator(dir: &str, main: &str) -> jsonschema::Validator {
    struct Local(std::path::PathBuf);
    impl jsonschema::Retrieve for Local {
        fn retrieve(
            &self,
            uri: &jsonschema::Uri<String>,
        ) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
            let name = uri
                .path()
                .as_str()
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_owned();
            let text = std::fs::read_to_string(self.0.join(&name))
                .map_err(|e| format!("{uri}: no vendored schema `{name}`: {e}"))?;
            Ok(serde_json::from_str(&text)?)
        }
    }
    let dir = root().join("tests/schemas").join(dir);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(main)).unwrap()).unwrap();
    jsonschema::options()
        .with_retriever(Local(dir))
        .build(&schema)
        .expect("the schema compiles")
}

fn assert_valid(v: &jsonschema::Validator, doc: &serde_json::Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid: {errors:#?}");
}

/// Asserts that `doc` validates against the vendored CycloneDX 1.6 schema.
pub(crate) fn assert_valid_cyclonedx(doc: &serde_json::Value) {
    assert_valid(&validator("cyclonedx", "bom-1.6.SNAPSHOT.schema.json"), doc);
}

#[test]
fn the_cyclonedx_sbom_is_valid_cyclonedx_1_6_with_hashes() {
    let t = audited_project();
    let bom = json(&report(&t, &["--format", "cyclonedx"]));
    let v = validator("cyclonedx", "bom-1.6.SNAPSHOT.schema.json");
    assert_valid(&v, &bom);
    // The validator does reject: a BOM without its format, or with an unknown component type.
    let mut broken = bom.clone();
    broken.as_object_mut().unwrap().remove("bomFormat");
    assert!(!v.is_valid(&broken));
    let mut broken = bom.clone();
    broken["components"][0]["type"] = serde_json::json!("model");
    assert!(!v.is_valid(&broken));

    assert_eq!(bom["specVersion"], "1.6");
    let subject = &bom["metadata"]["component"];
    assert_eq!(subject["type"], "container");
    let full = json(&report(&t, &["--format", "json"]));
    let manifest = full["runs"][0]["image"]["manifest"].as_str().unwrap();
    assert_eq!(
        subject["hashes"][0]["content"],
        &manifest["sha256:".len()..]
    );
    let components = bom["components"].as_array().unwrap();
    let model = &components[0];
    assert_eq!(model["type"], "machine-learning-model");
    assert_eq!(model["name"], "sklearn-model");
    assert_eq!(model["version"], "1");
    let libs = &components[1..];
    assert_eq!(
        libs.len() as u64,
        full["runs"][0]["counts"]["packages"].as_u64().unwrap()
    );
    for c in libs {
        let purl = c["purl"].as_str().unwrap();
        assert!(
            ["pkg:pypi/", "pkg:conda/", "pkg:deb/", "pkg:apk/"]
                .iter()
                .any(|p| purl.starts_with(p)),
            "{purl}"
        );
    }
    let with = |prefix: &str, alg: &str| {
        libs.iter()
            .filter(|c| c["purl"].as_str().unwrap().starts_with(prefix))
            .filter(|c| {
                c["hashes"]
                    .as_array()
                    .is_some_and(|h| h.iter().any(|h| h["alg"] == alg))
            })
            .count()
    };
    assert!(with("pkg:conda/", "SHA-256") > 10, "conda archive hashes");
    assert!(with("pkg:conda/", "MD5") > 10, "conda archive hashes");
    assert!(with("pkg:pypi/", "SHA-256") > 5, "dist-info RECORD digests");
    assert!(
        libs.iter()
            .any(|c| c["purl"] == "pkg:pypi/scikit-learn@1.4.2")
    );
    assert!(
        libs.iter()
            .any(|c| c["purl"].as_str().unwrap().starts_with("pkg:deb/ubuntu/")),
        "deb purls name the distribution"
    );
    let deps = bom["dependencies"].as_array().unwrap();
    assert_eq!(deps[0]["ref"], model["bom-ref"]);
    assert_eq!(deps[0]["dependsOn"][0], subject["bom-ref"]);
    assert_eq!(deps[1]["dependsOn"].as_array().unwrap().len(), libs.len());
}

#[test]
fn the_spdx_sbom_is_valid_spdx_2_3() {
    let t = audited_project();
    let doc = json(&report(&t, &["--format", "spdx"]));
    let v = validator("spdx", "spdx-2.3.schema.json");
    assert_valid(&v, &doc);
    let mut broken = doc.clone();
    broken["packages"][0]
        .as_object_mut()
        .unwrap()
        .remove("SPDXID");
    assert!(!v.is_valid(&broken));

    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(packages[0]["SPDXID"], "SPDXRef-Model");
    assert_eq!(packages[1]["primaryPackagePurpose"], "CONTAINER");
    let rels = doc["relationships"].as_array().unwrap();
    assert!(rels.iter().any(|r| r["spdxElementId"] == "SPDXRef-Model"
        && r["relationshipType"] == "DEPENDS_ON"
        && r["relatedSpdxElement"] == "SPDXRef-Image"));
    let contained = rels
        .iter()
        .filter(|r| r["relationshipType"] == "CONTAINS")
        .count();
    assert_eq!(contained, packages.len() - 2);
    assert!(packages.iter().any(|p| {
        p["checksums"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["algorithm"] == "MD5"))
    }));
}

#[test]
fn a_snapshots_cyclonedx_sbom_needs_no_model_is_valid_and_byte_stable() {
    let lock = envaudit::lockfile::Lockfile::load(&root().join("fixtures/example/envaudit.lock"))
        .expect("the bundled example's lockfile");
    let v = validator("cyclonedx", "bom-1.6.SNAPSHOT.schema.json");
    assert!(!lock.environments.is_empty());
    for (name, snap) in &lock.environments {
        let mut a = Vec::new();
        envaudit::render::render_snapshot_cyclonedx(name, snap, &mut a).unwrap();
        let mut b = Vec::new();
        envaudit::render::render_snapshot_cyclonedx(name, snap, &mut b).unwrap();
        assert_eq!(a, b, "the same snapshot gives the same bytes");
        let bom: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_valid(&v, &bom);
        assert!(bom["metadata"].get("timestamp").is_none());
        let components = bom["components"].as_array().unwrap();
        assert_eq!(
            components.len(),
            snap.packages.len(),
            "{name}: one per package"
        );
        assert!(components.iter().all(|c| c["type"] == "library"));
        let subject = &bom["metadata"]["component"];
        assert_eq!(subject["type"], "container");
        let manifest = snap.image_manifest.as_ref().expect("an image was locked");
        assert_eq!(subject["hashes"][0]["content"], manifest.hex());
        assert_eq!(
            bom["dependencies"][0]["dependsOn"]
                .as_array()
                .unwrap()
                .len(),
            components.len()
        );
    }
}
