//! `fleet scan` and the registry enumeration under it, against the real `docker-registry`
//! filled by the tests: images sharing a base layer, several tags on one manifest, one
//! manifest in two repositories, artifacts beside the images; several workers in parallel,
//! each with its own layer cache; a killed worker rerun.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use envaudit::fleet::record::{self, ScanRecord, UnreadableReason};
use envaudit::fleet::shard_of;
use envaudit::model::ImageRef;
use envaudit::registry::{
    CredentialStore, HttpRegistry, ListLimits, RegistryError, TransportPolicy,
};

use crate::support::TestEnv;
use crate::support::fault::{FaultServer, Reply};
use crate::support::image::{self as img, Compression, Spec};
use crate::support::registry::{self, RegistryServer};

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_mins(1), f)
                .await
                .expect("test took longer than its time bound")
        })
}

fn client() -> HttpRegistry {
    HttpRegistry::new(TransportPolicy::default(), CredentialStore::anonymous()).unwrap()
}

const SP: &str = "opt/env/lib/python3.11/site-packages";

fn metadata(name: &str, version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n").into_bytes()
}

/// Image `i`: the shared base layer (Debian with one dpkg package) and a layer with
/// `tool-i` at version `1.<i>`.
fn image(i: usize) -> img::BuiltImage {
    let dpkg =
        b"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n\n";
    let path = format!("{SP}/tool_{i}-1.{i}.dist-info/METADATA");
    let meta = metadata(&format!("tool-{i}"), &format!("1.{i}"));
    img::build(&Spec {
        layers: vec![
            (
                Compression::Gzip,
                vec![
                    ("etc/os-release", b"ID=debian\nVERSION_ID=12\n".as_slice()),
                    ("var/lib/dpkg/status", dpkg.as_slice()),
                ],
            ),
            (Compression::Gzip, vec![(path.as_str(), meta.as_slice())]),
        ],
        label: &format!("fleet-{i}"),
        ..Spec::default()
    })
}

/// An artifact manifest (an SBOM-like referrer) pushed under a tag: not an image.
fn push_artifact(reg: &RegistryServer, repo: &str, tag: &str) {
    let empty = reg.push_blob(repo, b"{}");
    let sbom = br#"{"spdxVersion":"SPDX-2.3"}"#;
    let layer = reg.push_blob(repo, sbom);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/spdx+json", "digest": layer, "size": sbom.len()}]
    });
    reg.push_manifest(
        repo,
        tag,
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
}

/// The fleet: `IMAGES` images in repositories `fleet/app-I` with `TAGS` tags each (all on
/// the same manifest), image 0 also as `fleet/mirror` (the same manifest in another
/// repository), and in `fleet/app-0` an SBOM artifact tagged `sbom` and a referrers-schema
/// tag. Returns every image reference and the manifest each names.
struct Fleet {
    reg: &'static RegistryServer,
    refs: BTreeMap<String, String>,
}

const IMAGES: usize = 6;
const TAGS: usize = 5;

fn fleet() -> &'static Fleet {
    static F: OnceLock<Fleet> = OnceLock::new();
    F.get_or_init(|| {
        let reg = registry::plain();
        let mut refs = BTreeMap::new();
        let mut repos: Vec<(String, usize)> =
            (0..IMAGES).map(|i| (format!("fleet/app-{i}"), i)).collect();
        repos.push(("fleet/mirror".to_owned(), 0));
        for (repo, i) in repos {
            let built = image(i);
            for t in 0..TAGS {
                let tag = format!("v{t}");
                reg.push_image(&repo, &tag, &built);
                refs.insert(
                    format!("{}/{repo}:{tag}", reg.addr),
                    built.manifest_digest.clone(),
                );
            }
        }
        push_artifact(reg, "fleet/app-0", "sbom");
        let subject = image(0).manifest_digest;
        push_artifact(reg, "fleet/app-0", &subject.replace("sha256:", "sha256-"));
        Fleet { reg, refs }
    })
}

fn read_all(paths: &[&Path]) -> Vec<ScanRecord> {
    paths
        .iter()
        .flat_map(|p| record::read(p).unwrap().records)
        .collect()
}

/// Every reference of the image records, with how often it appears.
fn reference_counts(records: &[ScanRecord]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in records {
        if let ScanRecord::Image(i) = r {
            for reference in &i.references {
                *counts.entry(reference.clone()).or_insert(0) += 1;
            }
        }
    }
    counts
}

pub(crate) fn worker(env: &TestEnv, args: &[&str]) -> Command {
    let mut c = env.envaudit();
    c.arg("fleet")
        .arg("scan")
        .args(args)
        .env_remove("REGISTRY_AUTH_FILE")
        .env("DOCKER_CONFIG", env.path("no-docker-config"))
        .env_remove("JOB_COMPLETION_INDEX");
    c
}

#[test]
fn catalog_and_tags_follow_every_link_page_within_bounds() {
    let f = fleet();
    let c = client();
    let small = ListLimits {
        page_size: 2,
        ..ListLimits::default()
    };
    let repos = run(c.catalog(&f.reg.addr, &small)).unwrap();
    for i in 0..IMAGES {
        assert!(repos.contains(&format!("fleet/app-{i}")), "{repos:?}");
    }
    assert!(repos.contains(&"fleet/mirror".to_owned()));
    let repo: ImageRef = format!("{}/fleet/app-1", f.reg.addr).parse().unwrap();
    let mut tags = run(c.tags(&repo, &small)).unwrap();
    // Distribution's order is its own; every tag comes once.
    tags.sort();
    assert_eq!(tags, ["v0", "v1", "v2", "v3", "v4"]);
    // Distribution 2.8 pages its catalog (it ignores `n` for tags, which the fault server
    // below pages): 7 repositories and more take more than 2 pages of 2.
    let two_pages = ListLimits {
        page_size: 2,
        max_pages: 2,
        ..ListLimits::default()
    };
    let e = run(c.catalog(&f.reg.addr, &two_pages)).unwrap_err();
    assert!(e.to_string().contains("runs past 2 pages"), "{e}");
    let few = ListLimits {
        page_size: 2,
        max_entries: 4,
        ..ListLimits::default()
    };
    let e = run(c.catalog(&f.reg.addr, &few)).unwrap_err();
    assert!(e.to_string().contains("more than 4 entries"), "{e}");
    let gone: ImageRef = format!("{}/fleet/never-pushed", f.reg.addr)
        .parse()
        .unwrap();
    assert!(matches!(
        run(c.tags(&gone, &small)),
        Err(RegistryError::RepositoryNotFound { .. })
    ));
}

#[test]
fn tag_pages_are_followed_to_the_last() {
    use std::sync::{Arc, Mutex};
    let addr = Arc::new(Mutex::new(String::new()));
    let a = addr.clone();
    let server = FaultServer::start(Duration::ZERO, move |req| {
        let page = |tags: &str, next: Option<String>| {
            let body = format!(r#"{{"name":"a/b","tags":[{tags}]}}"#).into_bytes();
            match next {
                Some(n) => Reply::ok(body, &[("Link", n.as_str())]),
                None => Reply::ok(body, &[]),
            }
        };
        match req.path.as_str() {
            // A relative link, then an absolute one on the same origin.
            "/v2/a/b/tags/list?n=2" => page(
                r#""1","2""#,
                Some(r#"</v2/a/b/tags/list?n=2&last=2>; rel="next""#.to_owned()),
            ),
            "/v2/a/b/tags/list?n=2&last=2" => page(
                r#""3","4""#,
                Some(format!(
                    r#"<http://{}/v2/a/b/tags/list?n=2&last=4>; rel="next""#,
                    a.lock().unwrap()
                )),
            ),
            "/v2/a/b/tags/list?n=2&last=4" => page(r#""5""#, None),
            _ => Reply::status(404, &[]),
        }
    });
    *addr.lock().unwrap() = server.addr.clone();
    let repo: ImageRef = format!("{}/a/b", server.addr).parse().unwrap();
    let limits = ListLimits {
        page_size: 2,
        ..ListLimits::default()
    };
    let tags = run(client().tags(&repo, &limits)).unwrap();
    assert_eq!(tags, ["1", "2", "3", "4", "5"]);
    let e = run(client().tags(
        &repo,
        &ListLimits {
            max_pages: 2,
            ..limits
        },
    ))
    .unwrap_err();
    assert!(e.to_string().contains("runs past 2 pages"), "{e}");
}

#[test]
fn a_listing_that_links_to_another_host_is_refused() {
    let server = FaultServer::start(Duration::ZERO, |req| {
        if req.path.starts_with("/v2/_catalog") {
            Reply::ok(
                br#"{"repositories":["a","b"]}"#.to_vec(),
                &[(
                    "Link",
                    r#"<http://elsewhere.example/v2/_catalog?last=b&n=2>; rel="next""#,
                )],
            )
        } else if req.path.starts_with("/v2/a/tags/list") {
            Reply::ok(
                br#"{"name":"a","tags":["1"]}"#.to_vec(),
                &[("Link", r#"</v2/a/tags/list?n=1>; rel="next""#)],
            )
        } else {
            Reply::status(404, &[])
        }
    });
    let c = client();
    let e = run(c.catalog(&server.addr, &ListLimits::default())).unwrap_err();
    assert!(e.to_string().contains("links to another origin"), "{e}");
    // A link back to the page just read ends the listing with an error, not a loop.
    let repo: ImageRef = format!("{}/a", server.addr).parse().unwrap();
    let limits = ListLimits {
        page_size: 1,
        ..ListLimits::default()
    };
    let e = run(c.tags(&repo, &limits)).unwrap_err();
    assert!(e.to_string().contains("links back to a page"), "{e}");
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.path.contains("tags/list"))
            .count(),
        1
    );
}

#[test]
fn the_catalog_token_is_asked_for_the_registry_catalog_scope() {
    use std::sync::{Arc, Mutex};
    let addr = Arc::new(Mutex::new(String::new()));
    let a = addr.clone();
    let server = FaultServer::start(Duration::ZERO, move |req| {
        if req.path.starts_with("/token") {
            if req.path.contains("scope=registry%3Acatalog%3A*")
                && req.path.contains("service=test-registry")
            {
                return Reply::ok(br#"{"token":"catalog-token"}"#.to_vec(), &[]);
            }
            return Reply::status(403, &[]);
        }
        if req.path.starts_with("/v2/_catalog") {
            if req.header("authorization") == Some("Bearer catalog-token") {
                return Reply::ok(br#"{"repositories":["x/y"]}"#.to_vec(), &[]);
            }
            let challenge = format!(
                r#"Bearer realm="http://{}/token",service="test-registry",scope="registry:catalog:*""#,
                a.lock().unwrap()
            );
            return Reply::status(401, &[("WWW-Authenticate", challenge.as_str())]);
        }
        Reply::status(404, &[])
    });
    *addr.lock().unwrap() = server.addr.clone();
    let repos = run(client().catalog(&server.addr, &ListLimits::default())).unwrap();
    assert_eq!(repos, ["x/y"]);
}

#[test]
fn parallel_shards_scan_each_image_once_and_list_every_reference_once() {
    let f = fleet();
    let source = format!("{}/fleet/*", f.reg.addr);
    let envs: Vec<TestEnv> = (0..3).map(|_| TestEnv::new()).collect();
    let children: Vec<_> = envs
        .iter()
        .enumerate()
        .map(|(i, env)| {
            // Separate layer caches (each TestEnv has its own), standing in for machines.
            worker(
                env,
                &[
                    &source,
                    "--out",
                    "out.jsonl",
                    "--shard",
                    &format!("{i}/3"),
                    "--page-size",
                    "3",
                ],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let outs: Vec<_> = envs.iter().map(|e| e.path("out.jsonl")).collect();
    let records = read_all(
        &outs
            .iter()
            .map(std::path::PathBuf::as_path)
            .collect::<Vec<_>>(),
    );
    // Every reference exactly once; no artifact among them.
    let counts = reference_counts(&records);
    let expected: BTreeSet<&String> = f.refs.keys().collect();
    assert_eq!(counts.keys().collect::<BTreeSet<_>>(), expected);
    assert!(counts.values().all(|&c| c == 1), "{counts:?}");
    assert!(
        !records
            .iter()
            .any(|r| matches!(r, ScanRecord::Unreadable(_)))
    );
    // Each image scanned by exactly one worker, the one its digest names.
    let mut manifests = BTreeSet::new();
    for (i, out) in outs.iter().enumerate() {
        for r in record::read(out).unwrap().records {
            let ScanRecord::Image(image) = r else {
                continue;
            };
            assert!(manifests.insert(image.manifest.clone()), "scanned twice");
            assert_eq!(shard_of(&image.manifest, 3), u32::try_from(i).unwrap());
            assert_eq!(image.worker.as_deref(), Some(format!("{i}/3").as_str()));
            for reference in &image.references {
                assert_eq!(f.refs[reference], image.manifest.to_string());
            }
            // The snapshot holds the base layer's dpkg package and the image's own tool.
            let names: Vec<String> = image
                .snapshot
                .packages
                .iter()
                .map(|p| format!("{}={}", p.name, p.version))
                .collect();
            assert!(names.iter().any(|n| n == "libc6=2.36-9"), "{names:?}");
            assert!(names.iter().any(|n| n.starts_with("tool-")), "{names:?}");
        }
    }
    assert_eq!(manifests.len(), IMAGES);
    // The mirror's tags went with image 0's manifest, into one record.
    let zero = records
        .iter()
        .find_map(|r| match r {
            ScanRecord::Image(i) if i.references.iter().any(|r| r.contains("/fleet/mirror:")) => {
                Some(i)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(zero.references.len(), 2 * TAGS);
}

#[test]
fn a_killed_worker_rerun_finishes_only_what_is_missing() {
    let f = fleet();
    let env = TestEnv::new();
    let source = format!("{}/fleet/*", f.reg.addr);
    let out = worker(&env, &[&source, "--out", "out.jsonl"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = env.path("out.jsonl");
    let full = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    assert_eq!(lines.len(), IMAGES);
    // The worker "died" after two images, in the middle of writing the third.
    let torn = &lines[2][..lines[2].len() / 2];
    std::fs::write(&path, format!("{}\n{}\n{torn}", lines[0], lines[1])).unwrap();
    assert!(record::read(&path).unwrap().torn_last_line);

    let out = worker(&env, &[&source, "--out", "out.jsonl"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!("{} image(s) scanned", IMAGES - 2)),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("torn line"),
        "the repair is said"
    );
    let r = record::read(&path).unwrap();
    assert!(!r.torn_last_line);
    let counts = reference_counts(&r.records);
    assert_eq!(counts.len(), f.refs.len());
    assert!(counts.values().all(|&c| c == 1), "{counts:?}");

    // A third run has nothing left; `--rescan` scans everything again.
    let out = worker(&env, &[&source, "--out", "out.jsonl"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("0 image(s) scanned"));
    let out = worker(
        &env,
        &[&source, "--out", "again.jsonl", "--done", "out.jsonl"],
    )
    .output()
    .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("0 image(s) scanned"));
    let out = worker(&env, &[&source, "--out", "out.jsonl", "--rescan"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(&format!("{IMAGES} image(s) scanned"))
    );
}

#[test]
fn a_worker_killed_while_scanning_and_rerun_duplicates_nothing() {
    let f = fleet();
    let env = TestEnv::new();
    let source = format!("{}/fleet/*", f.reg.addr);
    let mut child = worker(&env, &[&source, "--out", "out.jsonl"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let path = env.path("out.jsonl");
    // Kill it as soon as it has written something (or at once, if it is slow to start).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline
        && std::fs::metadata(&path).map_or(0, |m| m.len()) == 0
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    let out = worker(&env, &[&source, "--out", "out.jsonl"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = record::read(&path).unwrap();
    let counts = reference_counts(&r.records);
    assert_eq!(counts.len(), f.refs.len());
    assert!(counts.values().all(|&c| c == 1), "{counts:?}");
}

#[test]
fn denied_and_missing_references_are_recorded_unreadable_and_the_scan_goes_on() {
    let f = fleet();
    let locked = registry::with_htpasswd();
    let built = image(1);
    locked.push_image("fleet/private", "v1", &built);
    let env = TestEnv::new();
    let first = f.refs.keys().next().unwrap().clone();
    env.write(
        "refs.txt",
        format!(
            "# a file of references\n{first}\n{}/fleet/app-2\n{}/fleet/gone:v1\n{}/fleet/never-pushed\n{}/fleet/private:v1\n",
            f.reg.addr, f.reg.addr, f.reg.addr, locked.addr
        ),
    );
    let out = worker(&env, &["@refs.txt", "--out", "out.jsonl"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning[unreadable-image]"), "{stderr}");
    let records = record::read(&env.path("out.jsonl")).unwrap().records;
    let unreadable: BTreeMap<String, UnreadableReason> = records
        .iter()
        .filter_map(|r| match r {
            ScanRecord::Unreadable(u) => Some((u.reference.clone(), u.reason)),
            ScanRecord::Image(_) | ScanRecord::Seen(_) => None,
        })
        .collect();
    assert_eq!(
        unreadable,
        BTreeMap::from([
            (
                format!("{}/fleet/gone:v1", f.reg.addr),
                UnreadableReason::Missing
            ),
            (
                format!("{}/fleet/never-pushed", f.reg.addr),
                UnreadableReason::Missing
            ),
            (
                format!("{}/fleet/private:v1", locked.addr),
                UnreadableReason::Denied
            ),
        ])
    );
    // The readable ones were scanned: `first` and the tags of app-2.
    let counts = reference_counts(&records);
    assert!(counts.contains_key(&first));
    assert_eq!(
        counts
            .keys()
            .filter(|r| r.contains("/fleet/app-2:"))
            .count(),
        TAGS
    );
    // `--fail-on unreadable-image` turns them into exit 1.
    let out = worker(
        &env,
        &[
            "@refs.txt",
            "--out",
            "out2.jsonl",
            "--fail-on",
            "unreadable-image",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // A rerun does not record them twice.
    let out = worker(&env, &["@refs.txt", "--out", "out.jsonl"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        record::read(&env.path("out.jsonl")).unwrap().records.len(),
        records.len()
    );
}

#[test]
fn the_shard_index_comes_from_the_indexed_job_environment() {
    let f = fleet();
    let env = TestEnv::new();
    let first = f.refs.keys().next().unwrap().clone();
    let owner = shard_of(&f.refs[&first].parse().unwrap(), 2);
    for i in 0..2u32 {
        let out_file = format!("out-{i}.jsonl");
        let out = worker(&env, &[&first, "--out", &out_file, "--shard", "/2"])
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n = record::read(&env.path(&out_file)).unwrap().records.len();
        assert_eq!(n, usize::from(i == owner), "shard {i}");
    }
    let out = worker(&env, &[&first, "--out", "x.jsonl", "--shard", "/2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JOB_COMPLETION_INDEX"));
}

/// Image `i` of the cache fleet: its own base layer content (not the main fleet's), shared
/// by all of them, and a layer of its own.
fn cache_image(i: usize) -> img::BuiltImage {
    cache_image_in("cache", i)
}

/// [`cache_image`] of a fleet named `fleet` (another base layer, other images).
fn cache_image_in(fleet: &str, i: usize) -> img::BuiltImage {
    let dpkg = b"Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13\n\n";
    let os_release = format!("ID=debian\nVERSION_ID=12\nNAME={fleet}\n");
    let path = format!("{SP}/{fleet}_{i}-2.{i}.dist-info/METADATA");
    let meta = metadata(&format!("{fleet}-{i}"), &format!("2.{i}"));
    img::build(&Spec {
        layers: vec![
            (
                Compression::Gzip,
                vec![
                    ("etc/os-release", os_release.as_bytes()),
                    ("var/lib/dpkg/status", dpkg.as_slice()),
                ],
            ),
            (Compression::Gzip, vec![(path.as_str(), meta.as_slice())]),
        ],
        label: &format!("{fleet}-{i}"),
        ..Spec::default()
    })
}

/// How many times the registry served each of `digests` as a blob (`GET …/blobs/<digest>`
/// answered 200), from its access log.
pub(crate) fn blob_downloads(
    reg: &RegistryServer,
    digests: &BTreeSet<String>,
) -> BTreeMap<String, usize> {
    let log = std::fs::read_to_string(&reg.log).unwrap();
    digests
        .iter()
        .map(|d| {
            let n = log
                .lines()
                .filter(|l| {
                    l.contains("\"GET /v2/")
                        && l.contains(&format!("/blobs/{d} "))
                        && l.contains("\" 200 ")
                })
                .count();
            (d.clone(), n)
        })
        .collect()
}

#[test]
fn the_registry_cache_has_each_layer_downloaded_once_across_workers_and_heals_poison() {
    let reg = registry::with_access_log();
    let images: Vec<_> = (0..4).map(cache_image).collect();
    let mut refs = BTreeSet::new();
    for (i, built) in images.iter().enumerate() {
        for t in 0..3 {
            reg.push_image(&format!("cachefleet/app-{i}"), &format!("t{t}"), built);
            refs.insert(format!("{}/cachefleet/app-{i}:t{t}", reg.addr));
        }
    }
    let layers: BTreeSet<String> = images
        .iter()
        .flat_map(|b| b.layers.iter().map(|l| l.digest.clone()))
        .collect();
    assert_eq!(
        layers.len(),
        5,
        "one shared base layer and four of their own"
    );
    // The cache repository lives under the scanned prefix: it must be skipped.
    let source = format!("{}/cachefleet/*", reg.addr);
    let cache = format!("{}/cachefleet/facts", reg.addr);
    let mut outs = Vec::new();
    let mut workers_with_images = 0;
    for i in 0..3 {
        // One after another, each with its own local cache: separate machines.
        let env = TestEnv::new();
        let out = worker(
            &env,
            &[
                &source,
                "--out",
                "out.jsonl",
                "--shard",
                &format!("{i}/3"),
                "--cache-registry",
                &cache,
            ],
        )
        .output()
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("layer-cache"), "{stderr}");
        let records = record::read(&env.path("out.jsonl")).unwrap().records;
        if !records.is_empty() {
            workers_with_images += 1;
        }
        outs.extend(records);
        drop(env);
    }
    assert!(
        workers_with_images >= 2,
        "the base layer is needed by several workers"
    );
    let counts = reference_counts(&outs);
    assert_eq!(counts.keys().cloned().collect::<BTreeSet<_>>(), refs);
    assert!(counts.values().all(|&c| c == 1), "{counts:?}");
    assert!(outs.iter().all(|r| matches!(r, ScanRecord::Image(_))));
    let downloads = blob_downloads(reg, &layers);
    assert!(downloads.values().all(|&n| n == 1), "{downloads:?}");

    // Poison the base layer's facts: the right type and annotations, a blob that is not
    // zstd-compressed facts.
    let base = &images[0].layers[0].digest;
    let hex = base.trim_start_matches("sha256:");
    let tag = format!("facts-v{}-{hex}", envaudit::layer::FACTS_VERSION);
    let empty = reg.push_blob("cachefleet/facts", b"{}");
    let junk = b"these are not layer facts";
    let junk_digest = reg.push_blob("cachefleet/facts", junk);
    let real: serde_json::Value = serde_json::from_slice(
        &crate::support::http::get(
            &reg.addr,
            &format!("/v2/cachefleet/facts/manifests/{tag}"),
            &[("Accept", "application/vnd.oci.image.manifest.v1+json")],
        )
        .unwrap()
        .body,
    )
    .unwrap();
    let mut poisoned = real.clone();
    poisoned["config"]["digest"] = empty.into();
    poisoned["layers"][0]["digest"] = junk_digest.into();
    poisoned["layers"][0]["size"] = junk.len().into();
    reg.push_manifest(
        "cachefleet/facts",
        &tag,
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&poisoned).unwrap(),
    );
    let one = format!("{}/cachefleet/app-1:t0", reg.addr);
    let env = TestEnv::new();
    let out = worker(
        &env,
        &[&one, "--out", "out.jsonl", "--cache-registry", &cache],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning[layer-cache]") && stderr.contains("does not decode"),
        "{stderr}"
    );
    assert_eq!(
        blob_downloads(reg, &BTreeSet::from([base.clone()]))[base],
        2,
        "read again"
    );
    // Replaced: the next machine gets the facts and reads no layer.
    let env = TestEnv::new();
    let out = worker(
        &env,
        &[&one, "--out", "out.jsonl", "--cache-registry", &cache],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("layer-cache"),
        "{stderr}"
    );
    let again = blob_downloads(reg, &layers);
    assert_eq!(again[base], 2, "{again:?}");
    assert!(record::read(&env.path("out.jsonl")).unwrap().records.len() == 1);
}

#[test]
fn workers_at_the_same_time_read_each_layer_at_most_once_each() {
    let reg = registry::with_access_log();
    let images: Vec<_> = (0..4).map(|i| cache_image_in("together", i)).collect();
    for (i, built) in images.iter().enumerate() {
        reg.push_image(&format!("together/app-{i}"), "t0", built);
    }
    let source = format!("{}/together/*", reg.addr);
    let cache = format!("{}/together-facts/cache", reg.addr);
    let envs: Vec<TestEnv> = (0..3).map(|_| TestEnv::new()).collect();
    let children: Vec<_> = envs
        .iter()
        .enumerate()
        .map(|(i, env)| {
            let shard = format!("{i}/3");
            worker(
                env,
                &[
                    &source,
                    "--out",
                    "out.jsonl",
                    "--shard",
                    &shard,
                    "--cache-registry",
                    &cache,
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut workers_of: BTreeMap<String, usize> = BTreeMap::new();
    for env in &envs {
        let mut layers = BTreeSet::new();
        for r in record::read(&env.path("out.jsonl")).unwrap().records {
            if let ScanRecord::Image(i) = r {
                let built = images
                    .iter()
                    .find(|b| b.manifest_digest == i.manifest.to_string())
                    .unwrap();
                layers.extend(built.layers.iter().map(|l| l.digest.clone()));
            }
        }
        for l in layers {
            *workers_of.entry(l).or_insert(0) += 1;
        }
    }
    let all: BTreeSet<String> = workers_of.keys().cloned().collect();
    assert_eq!(all.len(), 5);
    let downloads = blob_downloads(reg, &all);
    for (layer, n) in &downloads {
        assert!(
            (1..=workers_of[layer]).contains(n),
            "{layer}: {n} downloads by {} workers",
            workers_of[layer]
        );
    }
}

#[test]
fn a_corrupt_image_does_not_stop_the_others_and_queries_name_it_as_incomplete() {
    let reg = registry::plain();
    // Two images sharing a base layer, each with a top layer of its own.
    let good = cache_image_in("corrupt", 0);
    let bad = cache_image_in("corrupt", 1);
    reg.push_image("corruptfleet/good", "v1", &good);
    reg.push_image("corruptfleet/bad", "v1", &bad);
    reg.push_image("corruptfleet/bad", "v2", &bad);
    // The bad image's own layer no longer matches its digest.
    let original = reg.corrupt_blob(&bad.layers[1].digest);
    let env = TestEnv::new();
    let source = format!("{}/corruptfleet/*", reg.addr);
    let out = worker(&env, &[&source, "--out", "out.jsonl"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning[catalog-incomplete]") && stderr.contains("digest mismatch"),
        "{stderr}"
    );
    let records = record::read(&env.path("out.jsonl")).unwrap().records;
    let completeness: BTreeMap<String, String> = records
        .iter()
        .filter_map(|r| match r {
            ScanRecord::Image(i) => {
                Some((i.manifest.to_string(), i.snapshot.completeness.to_string()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        completeness.len(),
        2,
        "both images recorded: {completeness:?}"
    );
    assert_eq!(completeness[&good.manifest_digest], "complete");
    assert!(
        completeness[&bad.manifest_digest].starts_with("partial")
            && completeness[&bad.manifest_digest].contains("digest mismatch"),
        "{completeness:?}"
    );

    crate::support::ok(
        &env.envaudit()
            .args(["fleet", "merge", "out.jsonl", "--db", "inv.sqlite"])
            .output()
            .unwrap(),
    );
    let query = |q: &str| {
        env.envaudit()
            .args([
                "fleet",
                "query",
                "--db",
                "inv.sqlite",
                q,
                "--format",
                "json",
            ])
            .output()
            .unwrap()
    };
    // The package in the damaged layer is not found, and the answer says it cannot rule
    // the damaged image out: on standard error and in the JSON.
    let out = query("pypi:corrupt-1");
    let v: serde_json::Value = serde_json::from_str(&crate::support::ok(&out)).unwrap();
    assert_eq!(v["matches"].as_array().unwrap().len(), 0, "{v}");
    let incomplete = v["incomplete"].as_array().unwrap();
    assert_eq!(incomplete.len(), 1, "{v}");
    assert_eq!(incomplete[0]["manifest"], bad.manifest_digest.as_str());
    assert_eq!(
        incomplete[0]["references"],
        serde_json::json!([
            format!("{}/corruptfleet/bad:v1", reg.addr),
            format!("{}/corruptfleet/bad:v2", reg.addr)
        ])
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning[catalog-incomplete]") && stderr.contains(&bad.manifest_digest),
        "{stderr}"
    );
    // What the intact base layer holds is found in both.
    let out = query("deb:zlib1g");
    let v: serde_json::Value = serde_json::from_str(&crate::support::ok(&out)).unwrap();
    let mut found: Vec<&str> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manifest"].as_str().unwrap())
        .collect();
    found.sort_unstable();
    let mut want = vec![good.manifest_digest.as_str(), bad.manifest_digest.as_str()];
    want.sort_unstable();
    assert_eq!(found, want);

    // The store repaired, a rerun reads the partial image again (only it), and the merge
    // replaces its content: the package is found, nothing is incomplete.
    reg.restore_blob(&bad.layers[1].digest, &original);
    let out = worker(&env, &[&source, "--out", "out.jsonl"])
        .output()
        .unwrap();
    let stdout = crate::support::ok(&out);
    assert!(stdout.starts_with("1 image(s) scanned"), "{stdout}");
    crate::support::ok(
        &env.envaudit()
            .args(["fleet", "merge", "out.jsonl", "--db", "inv.sqlite"])
            .output()
            .unwrap(),
    );
    let v: serde_json::Value =
        serde_json::from_str(&crate::support::ok(&query("pypi:corrupt-1"))).unwrap();
    assert_eq!(
        v["matches"][0]["manifest"],
        bad.manifest_digest.as_str(),
        "{v}"
    );
    assert_eq!(v["incomplete"], serde_json::json!([]), "{v}");
}

#[test]
fn one_worker_scanning_images_on_several_threads_reads_each_layer_once() {
    let reg = registry::with_access_log();
    // Six images on one base layer: four threads starting together would all read it,
    // were it not for the claims.
    let images: Vec<_> = (0..6).map(|i| cache_image_in("threads", i)).collect();
    for (i, built) in images.iter().enumerate() {
        reg.push_image(&format!("threads/app-{i}"), "t0", built);
    }
    let layers: BTreeSet<String> = images
        .iter()
        .flat_map(|b| b.layers.iter().map(|l| l.digest.clone()))
        .collect();
    assert_eq!(
        layers.len(),
        7,
        "one shared base layer and six of their own"
    );
    let env = TestEnv::new();
    let source = format!("{}/threads/*", reg.addr);
    let out = worker(&env, &[&source, "--out", "out.jsonl", "--jobs", "4"])
        .output()
        .unwrap();
    let stdout = crate::support::ok(&out);
    assert!(stdout.starts_with("6 image(s) scanned"), "{stdout}");
    let counts = reference_counts(&record::read(&env.path("out.jsonl")).unwrap().records);
    assert_eq!(counts.len(), 6);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    let downloads = blob_downloads(reg, &layers);
    assert!(downloads.values().all(|&n| n == 1), "{downloads:?}");
}

#[test]
fn a_worker_reads_no_config_of_images_in_other_shards() {
    let reg = registry::with_access_log();
    let images: Vec<_> = (0..4).map(|i| cache_image_in("configs", i)).collect();
    for (i, built) in images.iter().enumerate() {
        for t in 0..3 {
            reg.push_image(&format!("configs/app-{i}"), &format!("t{t}"), built);
        }
    }
    // A shard that owns none of the four images.
    let owners: BTreeSet<u32> = images
        .iter()
        .map(|b| shard_of(&b.manifest_digest.parse().unwrap(), 64))
        .collect();
    let idle = (0..64).find(|i| !owners.contains(i)).unwrap();
    let configs: BTreeSet<String> = images.iter().map(|b| b.config_digest.clone()).collect();
    let before = blob_downloads(reg, &configs);
    let env = TestEnv::new();
    let source = format!("{}/configs/*", reg.addr);
    let shard = format!("{idle}/64");
    let out = worker(&env, &[&source, "--out", "out.jsonl", "--shard", &shard])
        .output()
        .unwrap();
    let stdout = crate::support::ok(&out);
    assert!(stdout.starts_with("0 image(s) scanned"), "{stdout}");
    assert!(
        stdout.contains("4 item(s) left to other shards"),
        "{stdout}"
    );
    // Sharding needs the manifest digests only: no config was read.
    assert_eq!(blob_downloads(reg, &configs), before);
}
