//! Entry points for the fuzz targets in `fuzz/`, shared with the corpus replay test that
//! runs on the stable toolchain. Each takes arbitrary bytes and must not panic.
#![doc(hidden)]

use std::collections::BTreeMap;
use std::path::Path;

use crate::definition::{self, conda, dockerfile, requirements};
use crate::source::SourceFile;

fn source(name: &str, data: &[u8]) -> Option<SourceFile> {
    SourceFile::from_bytes(Path::new("/nonexistent-envaudit-fuzz").join(name), data).ok()
}

/// A conda environment file, then its definition hash.
pub fn conda_file(data: &[u8]) {
    if let Some(src) = source("environment.yml", data)
        && let Ok(file) = conda::parse(&src)
    {
        let mut def =
            definition::EnvDefinition::empty(definition::DefinitionKind::Conda, &src.path);
        def.add_conda_file(file);
        let _ = crate::hash::definition_hash(&def);
        let _ = crate::analysis::lint::lint(&def, &crate::analysis::lint::LintOptions::default());
    }
}

/// A pip requirements file (includes cannot be followed: they point nowhere).
pub fn requirements_file(data: &[u8]) {
    if let Some(src) = source("requirements.txt", data) {
        let _ = requirements::parse(&src);
    }
}

/// Whether a file is a definition at all (`lint PATH...`), the same bytes as YAML, an
/// `asset.yaml`, JSON and plain text; what it recognises as a definition then loads (to a
/// definition or an error) without panicking.
pub fn recognize(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for name in ["env.yml", "asset.yaml", "env.json", "notes.txt"] {
        let path = Path::new("/nonexistent-envaudit-fuzz").join(name);
        if let definition::Recognized::Definition(kind) = definition::recognize_text(&path, &text)
            && let Some(src) = source(name, data)
        {
            match kind {
                definition::DefinitionKind::Conda => {
                    let _ = conda::parse(&src);
                }
                definition::DefinitionKind::AzuremlV2 | definition::DefinitionKind::AzuremlJob => {
                    let _ = definition::azureml_v2::from_source(
                        &src,
                        Path::new("/nonexistent-envaudit-fuzz"),
                        kind,
                    );
                }
                definition::DefinitionKind::AzuremlV1 => {
                    let _ = definition::azureml_v1::parse(&src, None);
                }
                _ => {}
            }
        }
    }
}

/// One PEP 508 requirement; the canonical form (strict PEP 508) re-parses to itself, and its
/// marker evaluates (to a value or an error) without panicking.
pub fn pep508(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(req) = s.parse::<crate::python::Requirement>() {
        let _ = req.pin();
        let canonical = req.canonical();
        let marker = req.marker.as_ref().map(|m| {
            let env = crate::python::MarkerEnv::linux("3.11.4", "x86_64");
            let _ = m.evaluate(&env, &["x"]);
            m.to_string()
        });
        // Only a named requirement without URL, path, hashes or template is plain PEP 508.
        // Marker strings are printed back unescaped, as `packaging` prints them, so one with
        // a backslash or a quote does not round-trip (in packaging either).
        let plain = req.name.is_some()
            && req.url.is_none()
            && !req.editable
            && !marker.as_deref().is_some_and(|m| {
                m.contains('\\') || m.matches('"').count() % 2 != 0 || m.contains('\'')
            });
        if plain
            && req.hashes.is_empty()
            && req.template().is_none()
            && let Ok(again) = crate::python::Requirement::parse_pep508(&canonical)
        {
            assert_eq!(again.canonical(), canonical, "canonical form is not stable");
        }
    }
}

/// One conda MatchSpec; its version spec's normal form (which the definition hash covers)
/// re-parses to itself.
pub fn matchspec(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = s.parse::<crate::conda::MatchSpec>() {
        let _ = spec.pin();
        let _ = spec.canonical();
        let version = "1.0".parse().expect("a version");
        let _ = spec.matches(&version, "py_0");
        if let Some(v) = &spec.version {
            let normal = v.to_string();
            let again = normal.parse::<crate::conda::VersionSpec>();
            assert_eq!(
                again.map(|a| a.to_string()).as_deref(),
                Ok(normal.as_str()),
                "normal form is not stable"
            );
        }
    }
}

/// A channel subdir's `repodata.json` (or `.json.zst`), read with a 4 MiB limit; every
/// record is parsed, and one solve over it runs (a name of the document, any version).
pub fn repodata(data: &[u8]) {
    use crate::conda::solve::{ChannelRecords, SolveRequest, solve};
    let url = "https://conda.anaconda.org/fuzz/linux-64";
    let Ok(r) = crate::conda::Repodata::from_slice_with_limit(data, url, 4 << 20) else {
        return;
    };
    let _ = r.all_records().count();
    let _ = r.all_unparseable().count();
    if let Some(name) = r.names().next()
        && let Ok(spec) = name.as_str().parse::<crate::conda::MatchSpec>()
    {
        let request = SolveRequest {
            specs: vec![spec],
            channels: vec![ChannelRecords {
                channel: crate::conda::Channel::new("fuzz", "https://conda.anaconda.org/fuzz"),
                repodata: vec![&r],
            }],
            ..SolveRequest::default()
        };
        let _ = solve(&request);
    }
}

/// A `.condarc`; its channels resolve without panicking.
pub fn condarc(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rc) = crate::conda::Condarc::parse(s) {
        let config = rc.config();
        let names = crate::conda::channel::environment_channels(&["conda-forge"], &rc, true);
        let _ = config.resolve_all(&names);
    }
}

/// A dynamic loader's bytes, read for its C library's version.
pub fn libc_loader(data: &[u8]) {
    let _ = crate::predict::target::loader_libc(data);
}

/// A Dockerfile, with everything read from it.
pub fn dockerfile(data: &[u8]) {
    if let Some(src) = source("Dockerfile", data)
        && let Ok(d) = dockerfile::parse(&src)
    {
        let _ = d.final_base(&BTreeMap::new());
        let _ = d.context_sources();
        let _ = d.installs();
        let _ = d.canonical_steps();
    }
}

/// An Azure ML SDK v1 `azureml_environment.json`.
pub fn azureml_v1(data: &[u8]) {
    if let Some(src) = source("azureml_environment.json", data)
        && let Ok(def) = definition::azureml_v1::parse(&src, None)
    {
        let _ = crate::hash::definition_hash(&def);
    }
}

/// An Azure ML SDK v2 environment YAML (and a job YAML, through the same parser).
pub fn azureml_v2(data: &[u8]) {
    if let Some(src) = source("env.yml", data) {
        let dir = Path::new("/nonexistent-envaudit-fuzz");
        if let Ok(def) =
            definition::azureml_v2::from_source(&src, dir, definition::DefinitionKind::AzuremlV2)
        {
            let _ = crate::hash::definition_hash(&def);
        }
    }
}

/// `envaudit.toml`.
pub fn config(data: &[u8]) {
    if let Some(src) = source("envaudit.toml", data) {
        let _ = crate::config::Config::parse(&src);
    }
}

/// `envaudit.lock`, a stored snapshot, a run record, and a snapshot spec: a lockfile that
/// parses prints and re-parses to itself.
pub fn lockfile(data: &[u8]) {
    use crate::lockfile::{Lockfile, RunRecord, StoredSnapshot, spec::SnapshotSpec};
    if let Some(src) = source("envaudit.lock", data) {
        if let Ok(l) = Lockfile::parse(&src) {
            let text = l.to_toml();
            let again = Lockfile::parse(&crate::source::SourceFile::from_text("again", &text))
                .expect("a written lockfile parses");
            assert_eq!(again.to_toml(), text, "a lockfile round-trips");
        }
        let _ = StoredSnapshot::parse(&src);
        let _ = RunRecord::parse(&src);
    }
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(spec) = s.parse::<SnapshotSpec>()
    {
        assert_eq!(spec.to_string().parse::<SnapshotSpec>().ok(), Some(spec));
    }
}

/// An image reference of any transport, and a platform; a parsed reference prints and
/// re-parses to itself.
pub fn image_reference(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = s.parse::<crate::model::ImageSource>() {
        let printed = r.to_string();
        let again = printed
            .parse::<crate::model::ImageSource>()
            .unwrap_or_else(|e| panic!("`{printed}` does not re-parse: {e}"));
        assert_eq!(
            again, r,
            "`{s}` → `{printed}` re-parses to another reference"
        );
    }
    if let Ok(p) = s.parse::<crate::model::Platform>() {
        assert_eq!(
            p.to_string().parse::<crate::model::Platform>().ok(),
            Some(p)
        );
    }
}

/// A manifest, index or config as a registry or layout might hold it.
pub fn image_document(data: &[u8]) {
    crate::image::fuzz_document(data);
}

/// A referrers list (the referrers API's answer or a tag-schema index), the same bytes as an
/// artifact manifest, and as a `Link` header.
pub fn referrers(data: &[u8]) {
    crate::registry::referrers::fuzz_referrers(data);
}

/// What `fleet scan` reads from registries and files: catalog and tag list pages, `Link`
/// headers, auth challenges, a manifest peeked at for being an artifact, tags, sources, a
/// file of references and a results file.
pub fn fleet_scan(data: &[u8]) {
    crate::registry::fuzz_listing(data);
    let _ = crate::fleet::scan::is_not_image(data);
    let _ = crate::fleet::scan::image_layers(data);
    let text = String::from_utf8_lossy(data);
    for line in text.lines().take(1000) {
        let _ = crate::fleet::scan::is_artifact_tag(line);
        let _ = line.parse::<crate::fleet::scan::Source>();
        let _ = line.parse::<crate::fleet::scan::Shard>();
    }
    let _ = crate::fleet::record::parse(Path::new("fuzz.jsonl"), data);
}

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// A conda file through PyYAML's `safe_load` and `dump` as envaudit emulates them: a dump
/// must load back and dump to the same text.
pub fn pyyaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(value) = crate::azureml::yaml11::safe_load(text) {
        let dumped = crate::azureml::pyyaml::dump(&value);
        if let Ok(again) = crate::azureml::yaml11::safe_load(&dumped) {
            assert_eq!(
                crate::azureml::pyyaml::dump(&again),
                dumped,
                "dump is not stable"
            );
        }
    }
}

/// A saved `Environment.get_image_details` response.
pub fn image_details(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::azureml::ImageDetails::from_json(text, Path::new("details.json"));
}

/// Python core metadata (`METADATA`, `PKG-INFO`) and `requires.txt`; the metadata also
/// typed as the index client reads it.
pub fn python_metadata(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (meta, _) = crate::catalog::parse_python_metadata(&text);
    let _ = meta.licenses();
    if let Ok(typed) = crate::pyindex::CoreMetadata::parse(data) {
        let _ = typed.is_dynamic("requires-dist");
    }
    let _ = crate::catalog::parse_requires_txt(&text);
    let _ = crate::catalog::parse_direct_url(data);
}

/// A `conda-meta/*.json` record, and the same bytes as `conda-meta/history`.
pub fn conda_meta(data: &[u8]) {
    if let Ok(record) = crate::catalog::parse_conda_record(data) {
        let _ = record.python_metadata();
    }
    let _ = crate::catalog::parse_conda_history(&String::from_utf8_lossy(data));
}

/// A dpkg status file, and the same bytes as a `copyright` file.
pub fn dpkg_status(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (entries, _) = crate::catalog::parse_dpkg_status(&text);
    for e in &entries {
        let _ = e.is_installed();
    }
    let _ = crate::catalog::parse_copyright_licenses(&text);
}

/// Alpine's `lib/apk/db/installed`.
pub fn apk_installed(data: &[u8]) {
    let _ = crate::catalog::parse_apk_installed(&String::from_utf8_lossy(data));
}

/// A layer (tar, gzip or zstd) through the walker, the merge (twice, as two layers) and
/// every cataloger, with small limits; and through the hashing walker, which must keep the
/// same facts and, for a plain tar read whole, hash exactly its bytes.
pub fn layer_walk(data: &[u8]) {
    let limits = crate::layer::Limits {
        max_layer_bytes: 8 << 20,
        max_entries: 10_000,
        ..Default::default()
    };
    let facts = crate::layer::walk(data, &limits);
    let hashed = crate::layer::walk_hashed(data, &limits, crate::model::DigestAlgorithm::Sha256);
    assert_eq!(hashed.entries, facts.entries);
    assert_eq!(hashed.diff_id.is_some(), hashed.partial.is_none());
    if let Some(d) = &hashed.diff_id
        && crate::layer::Compression::detect(data) == crate::layer::Compression::None
    {
        assert_eq!(*d, crate::model::Digest::sha256_of(data));
    }
    let view = crate::layer::merge(&[facts.clone(), facts]);
    let _ = crate::catalog::catalog_view(&view);
}

/// A few targets, their supported tags built once.
fn fuzz_tag_sets() -> &'static [crate::pyindex::SupportedTags] {
    use crate::pyindex::{Arch, Libc, SupportedTags, TargetPlatform};
    static TAGS: std::sync::OnceLock<Vec<SupportedTags>> = std::sync::OnceLock::new();
    TAGS.get_or_init(|| {
        [
            TargetPlatform::linux((3, 12), Arch::X86_64, Libc::Glibc(2, 35)),
            TargetPlatform::linux((3, 8), Arch::Aarch64, Libc::Musl(1, 2)),
        ]
        .iter()
        .map(SupportedTags::new)
        .collect()
    })
}

/// A distribution file name (wheel or sdist), alone and on project `foo`'s page; a wheel's
/// tags against two targets; its printed form re-parses to the same name.
pub fn wheel_filename(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::pyindex::DistFilename::parse_for(s, &crate::model::PackageName::pip("foo"));
    if let Ok(f) = crate::pyindex::DistFilename::parse(s) {
        let again = crate::pyindex::DistFilename::parse(&f.to_string()).expect("re-parses");
        assert_eq!(again.name(), f.name());
        if let Some(w) = f.as_wheel() {
            for tags in fuzz_tag_sets() {
                let _ = tags.best_tag_priority(w);
            }
        }
    }
}

fn fuzz_page(data: &[u8], format: crate::pyindex::PageFormat) {
    let limits = crate::pyindex::PageLimits {
        max_bytes: 1 << 20,
        max_files: 10_000,
    };
    let url = reqwest::Url::parse("https://user:pw@example.com/simple/foo/").expect("a URL");
    let project_name = crate::model::PackageName::pip("foo");
    for project in [Some(&project_name), None] {
        if let Ok(page) = crate::pyindex::ProjectPage::parse(data, format, &url, project, &limits) {
            for f in &page.files {
                let _ = f.metadata_url();
                assert!(f.url.password().is_none(), "credentials are dropped");
            }
        }
    }
}

/// A PEP 691 JSON project page, with and without a project, with small limits.
pub fn simple_json(data: &[u8]) {
    fuzz_page(data, crate::pyindex::PageFormat::Json);
}

/// A PEP 503 HTML project page, with and without a project, with small limits.
pub fn simple_html(data: &[u8]) {
    fuzz_page(data, crate::pyindex::PageFormat::Html);
}

/// A distribution archive: the same bytes as a wheel (zip), an sdist (`.tar.gz`, `.tar`,
/// `.zip`), looking for core metadata.
pub fn dist_archive(data: &[u8]) {
    use crate::pyindex::{SdistFilename, WheelFilename, metadata};
    let wheel = WheelFilename::parse("foo-1.0-py3-none-any.whl").expect("a wheel name");
    let _ = metadata::from_wheel(std::io::Cursor::new(data), &wheel);
    for name in ["foo-1.0.tar.gz", "foo-1.0.tar", "foo-1.0.zip"] {
        let sdist = SdistFilename::parse(name, None).expect("an sdist name");
        let _ = metadata::from_sdist(std::io::Cursor::new(data), &sdist);
    }
}

/// A `.netrc` file, and a look-up in it.
pub fn netrc(data: &[u8]) {
    if let Ok(n) = crate::pyindex::Netrc::parse(&String::from_utf8_lossy(data)) {
        let _ = n.lookup("pkgs.example.com");
    }
}

/// A `pip.conf`, and pip's index settings read from it with an image's `Env`.
pub fn pip_conf(data: &[u8]) {
    use crate::predict::image_config::{PipConf, pip_config};
    if let Ok(conf) = PipConf::parse(data) {
        let env = ["PIP_FIND_LINKS=/wheels".to_owned()];
        let _ = pip_config(&[("/etc/pip.conf", &conf)], &env);
    }
}

/// A signed-evidence document as a registry serves it: a Sigstore bundle, a DSSE envelope
/// or an in-toto statement. Whatever parses writes back to what reads as the same value
/// (a statement to the same canonical bytes), and verifies (with a fixed key, so it fails)
/// without panicking.
pub fn attest_document(data: &[u8]) {
    use crate::attest::statement::Provenance;
    use crate::attest::{Bundle, Envelope, Statement, VerifyingKey};
    static KEY: std::sync::OnceLock<VerifyingKey> = std::sync::OnceLock::new();
    // RFC 8410's example Ed25519 public key
    let key = KEY.get_or_init(|| {
        VerifyingKey::from_pem(
            "-----BEGIN PUBLIC KEY-----\n\
             MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n\
             -----END PUBLIC KEY-----\n",
        )
        .expect("the example key reads")
    });
    let statement = |payload: &[u8]| {
        if let Ok(s) = Statement::from_json(payload) {
            let bytes = s.to_json();
            let again = Statement::from_json(&bytes).expect("a written statement reads back");
            assert_eq!(again.to_json(), bytes, "the canonical form is not stable");
            let _ = s.predicate_as::<Provenance>();
            let _ = s.digest();
        }
    };
    if let Ok(b) = Bundle::from_json(data) {
        let again = Bundle::from_json(&b.to_json()).expect("a written bundle reads back");
        assert_eq!(again, b, "a bundle changed through writing");
        if let Ok(v) = b.verify(std::slice::from_ref(key)) {
            let _ = Statement::from_verified(&v);
        }
        statement(b.envelope().payload());
    }
    if let Ok(e) = Envelope::from_json(data) {
        let again = Envelope::from_json(&e.to_json()).expect("a written envelope reads back");
        assert_eq!(again, e, "an envelope changed through writing");
        let _ = e.verify(std::slice::from_ref(key));
        let _ = Bundle::new(e.clone());
        statement(e.payload());
    }
    statement(data);
}

/// One `fleet query` package query (`[ECO:]NAME[SPEC]` or a purl): parse; every arm matches
/// a few versions of each ecosystem's syntax; the text as printed parses to the same arms.
pub fn fleet_query(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(q) = s.parse::<crate::fleet::spec::PackageQuery>() {
        for arm in q.arms() {
            for v in [
                "1.26.4",
                "2.0.0rc1",
                "1:3.0.11-1~deb12u2",
                "1.2.4_rc1-r0",
                "",
                "x",
            ] {
                let _ = arm.matches(v);
            }
        }
        let again = q
            .to_string()
            .parse::<crate::fleet::spec::PackageQuery>()
            .expect("a printed query parses");
        let names = |q: &crate::fleet::spec::PackageQuery| {
            q.arms()
                .iter()
                .map(|a| (a.ecosystem, a.name.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&again), names(&q), "printed query is not stable");
    }
}

/// Every target by name, for the replay test.
pub const TARGETS: &[(&str, Target)] = &[
    ("conda_file", conda_file),
    ("attest_document", attest_document),
    ("requirements_file", requirements_file),
    ("recognize", recognize),
    ("pep508", pep508),
    ("matchspec", matchspec),
    ("dockerfile", dockerfile),
    ("azureml_v1", azureml_v1),
    ("azureml_v2", azureml_v2),
    ("config", config),
    ("lockfile", lockfile),
    ("pyyaml", pyyaml),
    ("image_details", image_details),
    ("image_reference", image_reference),
    ("image_document", image_document),
    ("python_metadata", python_metadata),
    ("conda_meta", conda_meta),
    ("dpkg_status", dpkg_status),
    ("apk_installed", apk_installed),
    ("layer_walk", layer_walk),
    ("wheel_filename", wheel_filename),
    ("simple_json", simple_json),
    ("simple_html", simple_html),
    ("dist_archive", dist_archive),
    ("netrc", netrc),
    ("repodata", repodata),
    ("condarc", condarc),
    ("pip_conf", pip_conf),
    ("referrers", referrers),
    ("libc_loader", libc_loader),
    ("fleet_scan", fleet_scan),
    ("fleet_query", fleet_query),
];
