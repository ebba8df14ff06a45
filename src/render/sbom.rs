//! SBOMs of an audited run: CycloneDX 1.6 JSON and SPDX 2.3 JSON.
//!
//! The model is a `machine-learning-model` component (SPDX: a package) that depends on the
//! environment's image (the BOM's subject, by digest), which holds every installed package
//! with its purl, licences and, where the image recorded them, hashes: a conda package's
//! archive SHA-256 and MD5 (`conda-meta`), for a Python distribution the SHA-256 of its
//! `RECORD` (the list of every installed file with its own SHA-256), for a Debian package
//! the SHA-256 of its `md5sums` list.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::{Value, json};

use crate::analysis::compliance::{self, AuditReport, Identity, ImageFacts, PackageRow, RunAudit};
use crate::lockfile::{LockedPackage, Snapshot};
use crate::model::{Digest, Ecosystem};

/// Percent-encodes what a purl component may not hold as is.
fn pct(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The package URL of an installed package (`pkg:pypi`, `pkg:conda`, `pkg:deb`, `pkg:apk`).
pub fn purl(p: &LockedPackage, os: Option<&str>) -> String {
    let name = p.name.as_str();
    let version = pct(&p.version);
    let distro = os
        .and_then(|o| o.split_whitespace().next())
        .map(str::to_ascii_lowercase);
    match p.ecosystem {
        Ecosystem::Pip => format!("pkg:pypi/{}@{version}", pct(&name.replace('_', "-"))),
        Ecosystem::Conda => {
            let mut q = Vec::new();
            if let Some(b) = &p.build {
                q.push(format!("build={}", pct(b)));
            }
            if let Some(c) = &p.channel {
                q.push(format!("channel={}", pct(c)));
            }
            if let Some(sub) = p.conda_subdir() {
                q.push(format!("subdir={}", pct(sub)));
            }
            let query = if q.is_empty() {
                String::new()
            } else {
                format!("?{}", q.join("&"))
            };
            format!("pkg:conda/{}@{version}{query}", pct(name))
        }
        Ecosystem::Deb => format!(
            "pkg:deb/{}/{}@{version}",
            pct(distro.as_deref().unwrap_or("debian")),
            pct(name)
        ),
        Ecosystem::Apk => format!(
            "pkg:apk/{}/{}@{version}",
            pct(distro.as_deref().unwrap_or("alpine")),
            pct(name)
        ),
    }
}

/// The image as a purl (`pkg:oci/NAME@sha256%3A...?repository_url=REG/REPO`).
fn image_purl(reference: Option<&str>, manifest: &Digest) -> String {
    let repo = reference
        .map(|r| r.split('@').next().unwrap_or(r))
        .map_or("image", |r| match r.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => repo,
            _ => r,
        });
    let name = repo.rsplit('/').next().unwrap_or(repo).to_ascii_lowercase();
    format!(
        "pkg:oci/{}@{}?repository_url={}",
        pct(&name),
        pct(&manifest.to_string()),
        pct(repo)
    )
}

fn model_parts(model: &str) -> (&str, Option<&str>) {
    match model.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (model, None),
    }
}

/// A deterministic `urn:uuid:` (version 4 layout) from the BOM's identity.
fn serial(seed: &str) -> String {
    let h = Digest::sha256_of(seed.as_bytes());
    let x = h.hex();
    let variant = match &x[16..17] {
        "0" | "4" | "8" | "c" => "8",
        "1" | "5" | "9" | "d" => "9",
        "2" | "6" | "a" | "e" => "a",
        _ => "b",
    };
    format!(
        "urn:uuid:{}-{}-4{}-{variant}{}-{}",
        &x[0..8],
        &x[8..12],
        &x[13..16],
        &x[17..20],
        &x[20..32]
    )
}

fn hashes(p: &LockedPackage) -> Vec<(&'static str, String, &'static str)> {
    let mut v = Vec::new();
    if let Some(s) = &p.sha256 {
        v.push((
            "SHA-256",
            s.clone(),
            "conda-meta sha256 of the package archive",
        ));
    }
    if let Some(m) = &p.md5 {
        v.push(("MD5", m.clone(), "conda-meta md5 of the package archive"));
    }
    if let Some(r) = p.record.as_deref().and_then(|r| r.strip_prefix("sha256:")) {
        let source = match p.ecosystem {
            Ecosystem::Deb => {
                "sha256 of the installed dpkg md5sums list (the md5 of every installed file)"
            }
            _ => "sha256 of the installed dist-info RECORD (the sha256 of every installed file)",
        };
        v.push(("SHA-256", r.to_owned(), source));
    }
    v
}

/// CycloneDX 1.6 JSON of one run.
pub fn render_cyclonedx(
    report: &AuditReport,
    run: &RunAudit,
    out: &mut dyn Write,
) -> io::Result<()> {
    let model_id = run.run.model.as_deref().unwrap_or(&report.model);
    let (model_name, model_version) = model_parts(model_id);
    let model_ref = format!("model:{model_id}");
    let mut model = json!({
        "type": "machine-learning-model",
        "bom-ref": model_ref,
        "name": model_name,
        "properties": [
            {"name": "envaudit:run", "value": run.run.run},
            {"name": "envaudit:run-time", "value": run.run.time},
        ],
    });
    if let Some(v) = model_version {
        model["version"] = json!(v);
    }
    let subject = image_component(
        &run.environment,
        &run.identity,
        &run.image,
        Some(run.verdict.reproducible),
    );
    let (mut components, package_refs) = package_components(&run.packages, run.os.as_deref());
    components.insert(0, model);
    let bom = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial(&format!("{}|{}|{}", report.model, run.run.run, run.identity.snapshot)),
        "version": 1,
        "metadata": {
            "timestamp": report.generated,
            "tools": tools(),
            "component": subject,
            "properties": [
                {"name": "envaudit:lockfile", "value": report.lockfile.path},
                {"name": "envaudit:lockfile-sha256", "value": report.lockfile.sha256.to_string()},
            ],
        },
        "components": components,
        "dependencies": [
            {"ref": model_ref, "dependsOn": [IMAGE_REF]},
            {"ref": IMAGE_REF, "dependsOn": package_refs},
        ],
    });
    serde_json::to_writer_pretty(&mut *out, &bom).map_err(io::Error::other)?;
    writeln!(out)
}

/// CycloneDX 1.6 JSON of one snapshot of environment `environment`: the image as the BOM's
/// subject and every installed package, with no model and no timestamp, so the same snapshot
/// always gives the same bytes (the SBOM that `attest` attaches to the image).
pub fn render_snapshot_cyclonedx(
    environment: &str,
    snapshot: &Snapshot,
    out: &mut dyn Write,
) -> io::Result<()> {
    let identity = Identity::of(&snapshot.id, Some(snapshot));
    let image = ImageFacts::of(snapshot);
    let subject = image_component(environment, &identity, &image, None);
    let (rows, _) = compliance::package_rows(snapshot);
    let (components, package_refs) = package_components(&rows, snapshot.os.as_deref());
    let bom = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial(&format!("{environment}|{}", snapshot.id)),
        "version": 1,
        "metadata": {
            "tools": tools(),
            "component": subject,
        },
        "components": components,
        "dependencies": [
            {"ref": IMAGE_REF, "dependsOn": package_refs},
        ],
    });
    serde_json::to_writer_pretty(&mut *out, &bom).map_err(io::Error::other)?;
    writeln!(out)
}

/// The `bom-ref` of the environment's image, the BOM's subject.
const IMAGE_REF: &str = "environment-image";

fn tools() -> Value {
    json!({"components": [{
        "type": "application",
        "name": "envaudit",
        "version": env!("CARGO_PKG_VERSION"),
    }]})
}

/// The image as a `container` component: its identities as properties, its manifest digest
/// as version, purl and hash. `reproducible` is the run's verdict, when there is a run.
fn image_component(
    environment: &str,
    identity: &Identity,
    image: &ImageFacts,
    reproducible: Option<bool>,
) -> Value {
    let mut subject = json!({
        "type": "container",
        "bom-ref": IMAGE_REF,
        "name": image.reference.clone().unwrap_or_else(|| environment.to_owned()),
        "description": format!("the image of environment `{environment}`"),
        "properties": [
            {"name": "envaudit:environment", "value": environment},
            {"name": "envaudit:snapshot", "value": identity.snapshot},
            {"name": "envaudit:definition", "value": identity.definition},
            {"name": "envaudit:definition-hash", "value": identity.definition_hash.to_string()},
        ],
    });
    if let Some(r) = reproducible {
        push_property(&mut subject, "envaudit:reproducible", &r.to_string());
    }
    if let Some(v) = &identity.azureml_v2_anonymous_version {
        push_property(&mut subject, "azureml:v2-anonymous-version", v);
    }
    if let Some(c) = &image.config {
        push_property(&mut subject, "oci:config-digest", &c.to_string());
    }
    if let Some(b) = &image.base_image {
        push_property(&mut subject, "envaudit:base-image", b);
    }
    if let Some(m) = &image.manifest {
        subject["version"] = json!(m.to_string());
        subject["purl"] = json!(image_purl(image.reference.as_deref(), m));
        subject["hashes"] = json!([{"alg": "SHA-256", "content": m.hex()}]);
    }
    subject
}

/// One `library` component per package, and their `bom-ref`s (unique within the BOM).
fn package_components(rows: &[PackageRow], os: Option<&str>) -> (Vec<Value>, Vec<String>) {
    let mut refs = std::collections::HashSet::new();
    rows.iter()
        .map(|row| cyclonedx_component(row, os, &mut refs))
        .unzip()
}

fn push_property(component: &mut Value, name: &str, value: &str) {
    if let Some(props) = component["properties"].as_array_mut() {
        props.push(json!({"name": name, "value": value}));
    }
}

fn cyclonedx_component(
    row: &PackageRow,
    os: Option<&str>,
    refs: &mut std::collections::HashSet<String>,
) -> (Value, String) {
    let p = &row.package;
    let purl = purl(p, os);
    let mut bom_ref = purl.clone();
    let mut n = 1;
    while !refs.insert(bom_ref.clone()) {
        n += 1;
        bom_ref = format!("{purl}#{n}");
    }
    let mut c = json!({
        "type": "library",
        "bom-ref": bom_ref,
        "name": p.name.as_str(),
        "version": p.version,
        "purl": purl,
        "properties": [
            {"name": "envaudit:ecosystem", "value": p.ecosystem.to_string()},
            {"name": "envaudit:class", "value": row.class.as_str()},
        ],
    });
    if let Some(pin) = row.pin {
        push_property(&mut c, "envaudit:pin", pin.as_str());
    }
    if let Some(prefix) = &p.prefix {
        push_property(&mut c, "envaudit:prefix", prefix);
    }
    if let Some(b) = p.base {
        push_property(&mut c, "envaudit:from-base-image", &b.to_string());
    }
    let licenses: Vec<Value> = p
        .licenses
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| json!({"license": {"name": l}}))
        .collect();
    if !licenses.is_empty() {
        c["licenses"] = json!(licenses);
    }
    let hs = hashes(p);
    if !hs.is_empty() {
        c["hashes"] = json!(
            hs.iter()
                .map(|(alg, content, _)| json!({"alg": alg, "content": content}))
                .collect::<Vec<_>>()
        );
        for (_, _, source) in &hs {
            push_property(&mut c, "envaudit:hash-source", source);
        }
    }
    if let Some(url) = &p.url {
        c["externalReferences"] = json!([{"type": "distribution", "url": url}]);
    }
    (c, bom_ref)
}

/// An SPDX 2.3 license expression when every licence is one plain identifier, else
/// `NOASSERTION` (the text goes to the package's licence comments).
fn spdx_license(licenses: &[String]) -> Option<String> {
    let ids: Vec<&str> = licenses
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    let plain = |l: &str| {
        l.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.+".contains(&b))
            && !["none", "unknown", "other"].contains(&l.to_ascii_lowercase().as_str())
    };
    (!ids.is_empty() && ids.iter().all(|l| plain(l))).then(|| ids.join(" AND "))
}

/// SPDX 2.3 JSON of one run.
pub fn render_spdx(report: &AuditReport, run: &RunAudit, out: &mut dyn Write) -> io::Result<()> {
    let model = run.run.model.as_deref().unwrap_or(&report.model);
    let (model_name, model_version) = model_parts(model);
    let os = run.os.as_deref();
    let mut packages = vec![{
        let mut m = json!({
            "SPDXID": "SPDXRef-Model",
            "name": model_name,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "OTHER",
            "comment": format!("machine-learning model trained by run `{}` at {}", run.run.run, run.run.time),
        });
        if let Some(v) = model_version {
            m["versionInfo"] = json!(v);
        }
        m
    }];
    let mut image = json!({
        "SPDXID": "SPDXRef-Image",
        "name": run.image.reference.clone().unwrap_or_else(|| run.environment.clone()),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
        "comment": format!(
            "environment `{}`, snapshot {}, definition `{}` ({})",
            run.environment, run.identity.snapshot, run.identity.definition, run.identity.definition_hash
        ),
    });
    if let Some(m) = &run.image.manifest {
        image["versionInfo"] = json!(m.to_string());
        image["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": m.hex()}]);
        image["externalRefs"] = json!([{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": image_purl(run.image.reference.as_deref(), m),
        }]);
    }
    packages.push(image);
    let mut relationships = vec![
        json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Model"}),
        json!({"spdxElementId": "SPDXRef-Model", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-Image"}),
    ];
    for (i, row) in run.packages.iter().enumerate() {
        let p = &row.package;
        let id = format!("SPDXRef-Package-{}", i + 1);
        let license = spdx_license(&p.licenses);
        let mut pkg = json!({
            "SPDXID": id,
            "name": p.name.as_str(),
            "versionInfo": p.version,
            "downloadLocation": p.url.clone().unwrap_or_else(|| "NOASSERTION".to_owned()),
            "filesAnalyzed": false,
            "primaryPackagePurpose": "LIBRARY",
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": license.clone().unwrap_or_else(|| "NOASSERTION".to_owned()),
            "copyrightText": "NOASSERTION",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": purl(p, os),
            }],
            "comment": format!(
                "{} package, {}{}",
                p.ecosystem,
                row.class.as_str(),
                p.prefix.as_deref().map(|x| format!(", in `{x}`")).unwrap_or_default()
            ),
        });
        if license.is_none() && !p.licenses.is_empty() {
            pkg["licenseComments"] = json!(format!(
                "as the package states it: {}",
                p.licenses.join("; ")
            ));
        }
        let checksums: Vec<Value> = hashes(p)
            .iter()
            .map(|(alg, content, _)| {
                json!({"algorithm": if *alg == "MD5" { "MD5" } else { "SHA256" }, "checksumValue": content})
            })
            .collect();
        if !checksums.is_empty() {
            pkg["checksums"] = json!(checksums);
        }
        packages.push(pkg);
        relationships.push(json!({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
    }
    let namespace = format!(
        "https://spdx.envaudit.invalid/{}/{}-{}",
        pct(model),
        pct(&run.run.run),
        &Digest::sha256_of(
            format!("{}|{}", report.lockfile.sha256, run.identity.snapshot).as_bytes()
        )
        .hex()[..16]
    );
    let doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("envaudit SBOM of {model}"),
        "documentNamespace": namespace,
        "creationInfo": {
            "created": report.generated,
            "creators": [format!("Tool: envaudit-{}", env!("CARGO_PKG_VERSION"))],
            "comment": format!("from `{}` ({})", report.lockfile.path, report.lockfile.sha256),
        },
        "documentDescribes": ["SPDXRef-Model"],
        "packages": packages,
        "relationships": relationships,
    });
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PackageName;

    fn pkg(eco: Ecosystem, name: &str, version: &str) -> LockedPackage {
        LockedPackage::new(eco, PackageName::new(eco, name), version)
    }

    #[test]
    fn purls_per_ecosystem() {
        assert_eq!(
            purl(&pkg(Ecosystem::Pip, "Scikit_Learn", "1.4.2"), None),
            "pkg:pypi/scikit-learn@1.4.2"
        );
        let mut c = pkg(Ecosystem::Conda, "numpy", "1.26.4");
        c.build = Some("py310hb13e2d6_0".into());
        c.channel = Some("conda-forge".into());
        c.url = Some(
            "https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py310hb13e2d6_0.conda"
                .into(),
        );
        assert_eq!(
            purl(&c, None),
            "pkg:conda/numpy@1.26.4?build=py310hb13e2d6_0&channel=conda-forge&subdir=linux-64"
        );
        assert_eq!(
            purl(
                &pkg(Ecosystem::Deb, "libc6", "2.35-0ubuntu3.8"),
                Some("ubuntu 22.04")
            ),
            "pkg:deb/ubuntu/libc6@2.35-0ubuntu3.8"
        );
        assert_eq!(
            purl(&pkg(Ecosystem::Deb, "bash", "1:5.2+b1"), None),
            "pkg:deb/debian/bash@1%3A5.2%2Bb1"
        );
        assert_eq!(
            purl(
                &pkg(Ecosystem::Apk, "musl", "1.2.4-r2"),
                Some("alpine 3.19")
            ),
            "pkg:apk/alpine/musl@1.2.4-r2"
        );
    }

    #[test]
    fn serials_are_uuid_shaped_and_stable() {
        let s = serial("a");
        assert_eq!(s, serial("a"));
        assert_ne!(s, serial("b"));
        let u = s.strip_prefix("urn:uuid:").unwrap();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!("89ab".contains(&parts[3][..1]));
    }

    #[test]
    fn only_plain_licence_ids_become_spdx_expressions() {
        assert_eq!(spdx_license(&["MIT".into()]).as_deref(), Some("MIT"));
        assert_eq!(
            spdx_license(&["MIT".into(), "BSD-3-Clause".into()]).as_deref(),
            Some("MIT AND BSD-3-Clause")
        );
        assert_eq!(spdx_license(&["MIT License".into()]), None);
        assert_eq!(spdx_license(&["None".into()]), None);
        assert_eq!(spdx_license(&[]), None);
    }
}
