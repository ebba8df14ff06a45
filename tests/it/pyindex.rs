//! The package index client against a real HTTP server
//! (`support/simple_index_server.py`) serving a PEP 503 HTML tree and a PEP 691 JSON tree
//! written by the test, with wheels and sdists built here; faults through the in-process
//! server.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use envaudit::model::PackageName;
use envaudit::pyindex::{
    Arch, DistFile, FindLinks, IndexClient, IndexConfig, IndexError, IndexUrl, Libc, Netrc,
    PageError, ProjectPage, SupportedTags, TargetPlatform,
};
use envaudit::registry::TransportPolicy;

use crate::registry::run;
use crate::support::fault::{FaultServer, Reply};
use crate::support::pyindex::{
    IndexServer, Spec, metadata_text, sdist, sha256, spec, wheel, write_index,
};

const LIMIT: Duration = Duration::from_mins(1);

fn projects() -> Vec<(&'static str, Vec<Spec>)> {
    let foo1 = metadata_text("foo", "1.0", &["bar>=1.0"], Some(">=3.8"));
    let foo2 = metadata_text(
        "foo",
        "2.0",
        &["bar>=1.0", "rich; extra == \"pretty\""],
        Some(">=3.9"),
    );
    let foo3 = metadata_text("foo", "3.0", &["bar>=2"], Some(">=3.10"));
    let bar = metadata_text("bar", "1.0", &[], Some(">=3.9"));
    let static_sdist = metadata_text("foo", "1.5", &["bar"], None);
    let dynamic_sdist = metadata_text("foo", "1.6", &[], None)
        .replace("Version: 1.6\n", "Version: 1.6\nDynamic: Requires-Dist\n");
    vec![
        (
            "foo",
            vec![
                Spec {
                    sidecar: Some(foo1.clone()),
                    requires_python: Some(">=3.8"),
                    upload_time: Some("2023-01-02T03:04:05.000000Z"),
                    ..spec(
                        "foo-1.0-py3-none-any.whl",
                        wheel("foo-1.0-py3-none-any.whl", &foo1),
                    )
                },
                spec("foo-1.5.tar.gz", sdist("foo-1.5.tar.gz", &static_sdist)),
                spec("foo-1.6.tar.gz", sdist("foo-1.6.tar.gz", &dynamic_sdist)),
                Spec {
                    sidecar: Some(foo2.clone()),
                    requires_python: Some(">=3.9"),
                    ..spec(
                        "foo-2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                        wheel(
                            "foo-2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                            &foo2,
                        ),
                    )
                },
                Spec {
                    sidecar: Some(foo2.clone()),
                    requires_python: Some(">=3.9"),
                    ..spec(
                        "foo-2.0-cp312-cp312-musllinux_1_1_x86_64.whl",
                        wheel("foo-2.0-cp312-cp312-musllinux_1_1_x86_64.whl", &foo2),
                    )
                },
                Spec {
                    sidecar: Some(foo2.clone()),
                    requires_python: Some(">=3.9"),
                    ..spec(
                        "foo-2.0-py3-none-any.whl",
                        wheel("foo-2.0-py3-none-any.whl", &foo2),
                    )
                },
                Spec {
                    sidecar: Some(foo3.clone()),
                    requires_python: Some(">=3.10"),
                    yanked: Some("broken <build> & more"),
                    ..spec(
                        "foo-3.0-py3-none-any.whl",
                        wheel("foo-3.0-py3-none-any.whl", &foo3),
                    )
                },
            ],
        ),
        (
            "bar",
            vec![Spec {
                requires_python: Some(">=3.9"),
                ..spec(
                    "bar-1.0-py3-none-any.whl",
                    wheel("bar-1.0-py3-none-any.whl", &bar),
                )
            }],
        ),
    ]
}

fn policy() -> TransportPolicy {
    TransportPolicy {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(5),
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
        insecure_registries: Vec::new(),
    }
}

fn client(indexes: &[String], cache: Option<&Path>, offline: bool) -> IndexClient {
    IndexClient::new(IndexConfig {
        index_urls: indexes
            .iter()
            .map(|u| IndexUrl::parse(u).unwrap())
            .collect(),
        cache_dir: cache.map(Path::to_owned),
        offline,
        transport: policy(),
        ..IndexConfig::default()
    })
    .unwrap()
}

fn name(s: &str) -> PackageName {
    PackageName::pip(s)
}

fn filenames(page: &ProjectPage) -> Vec<String> {
    page.files.iter().map(|f| f.filename.to_string()).collect()
}

fn file<'a>(page: &'a ProjectPage, filename: &str) -> &'a DistFile {
    page.files
        .iter()
        .find(|f| f.filename.to_string() == filename)
        .unwrap_or_else(|| panic!("{filename} not on the page"))
}

#[test]
fn the_html_and_json_trees_give_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    write_index(dir.path(), projects());
    let server = IndexServer::start(dir.path(), None);
    let html = client(&[server.url("/html/")], None, false);
    let json = client(&[server.url("/simple/")], None, false);
    let (h, j) = run(LIMIT, async {
        (
            html.project(&name("Foo")).await.unwrap(),
            json.project(&name("FOO")).await.unwrap(),
        )
    });
    let forms: Vec<(String, String)> = server
        .requests()
        .into_iter()
        .map(|(p, _, f)| (p, f))
        .collect();
    assert!(
        forms.contains(&("/html/foo/".into(), "html".into())),
        "{forms:?}"
    );
    assert!(
        forms.contains(&("/simple/foo/".into(), "json".into())),
        "{forms:?}"
    );
    assert_eq!(filenames(&h).len(), 7);
    assert!(h.skipped.is_empty() && j.skipped.is_empty());
    let yanked = file(&j, "foo-3.0-py3-none-any.whl");
    assert_eq!(yanked.yanked.as_deref(), Some("broken <build> & more"));
    assert_eq!(
        yanked.requires_python.as_ref().unwrap().to_string(),
        ">=3.10"
    );
    assert!(yanked.core_metadata.as_ref().unwrap().sha256().is_some());
    assert!(yanked.hashes.sha256().is_some());
    let first = file(&j, "foo-1.0-py3-none-any.whl");
    assert_eq!(
        first.upload_time.unwrap().to_string(),
        "2023-01-02T03:04:05Z"
    );
    assert_eq!(
        first.url.as_str(),
        server.url("/files/foo-1.0-py3-none-any.whl")
    );
    // The two forms differ only in PEP 700's fields, which HTML does not carry.
    let mut j = j;
    for f in &mut j.files {
        assert!(f.size.is_some());
        f.size = None;
        f.upload_time = None;
    }
    assert_eq!(h.files, j.files);
}

#[test]
fn metadata_comes_from_the_sidecar_then_the_wheel_then_a_static_sdist() {
    let dir = tempfile::tempdir().unwrap();
    write_index(dir.path(), projects());
    let server = IndexServer::start(dir.path(), None);
    let c = client(&[server.url("/simple/")], None, false);
    run(LIMIT, async {
        let foo = c.project(&name("foo")).await.unwrap();
        let bar = c.project(&name("bar")).await.unwrap();
        server.clear_log();

        let m = c
            .metadata(file(&foo, "foo-2.0-py3-none-any.whl"))
            .await
            .unwrap();
        assert_eq!(m.requires_dist.len(), 2);
        assert_eq!(
            m.requires_dist[1].marker.as_ref().unwrap().to_string(),
            "extra == \"pretty\""
        );
        let paths: Vec<String> = server.requests().into_iter().map(|r| r.0).collect();
        assert_eq!(
            paths,
            ["/files/foo-2.0-py3-none-any.whl.metadata"],
            "the wheel is not downloaded"
        );

        server.clear_log();
        let m = c
            .metadata(file(&bar, "bar-1.0-py3-none-any.whl"))
            .await
            .unwrap();
        assert_eq!(
            (m.name.as_str(), m.version.to_string()),
            ("bar", "1.0".into())
        );
        assert_eq!(m.requires_python.unwrap().to_string(), ">=3.9");
        let paths: Vec<String> = server.requests().into_iter().map(|r| r.0).collect();
        assert_eq!(
            paths,
            ["/files/bar-1.0-py3-none-any.whl"],
            "no sidecar: the wheel is read"
        );

        let m = c.metadata(file(&foo, "foo-1.5.tar.gz")).await.unwrap();
        assert_eq!(m.requires_dist[0].name.as_ref().unwrap().as_str(), "bar");
        let e = c.metadata(file(&foo, "foo-1.6.tar.gz")).await.unwrap_err();
        insta::assert_snapshot!(e.to_string(), @"the metadata of `foo-1.6.tar.gz` needs a build to know: its `PKG-INFO` declares `requires-dist` dynamic");
    });
}

/// The one page entry of the cache, and its inode (a rewrite renames a new file into place).
fn page_entry(cache: &Path) -> (Vec<u8>, u64) {
    use std::os::unix::fs::MetadataExt as _;
    let mut found = Vec::new();
    for sub in std::fs::read_dir(cache.join("pyindex-v1/pages")).unwrap() {
        for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            found.push(f.unwrap().path());
        }
    }
    let [path] = found.as_slice() else {
        panic!("one page entry, not {found:?}")
    };
    let ino = std::fs::metadata(path).unwrap().ino();
    (std::fs::read(path).unwrap(), ino)
}

#[test]
fn a_304_rewrites_the_entry_only_when_a_max_age_dates_it() {
    let dir = tempfile::tempdir().unwrap();
    write_index(dir.path(), projects());
    let fetch = |url: String, cache: &Path| {
        let c = client(&[url], Some(cache), false);
        run(LIMIT, async move {
            c.project(&name("foo")).await.unwrap();
            c.stats()
        })
    };

    // Without Cache-Control, every run revalidates, and a 304 leaves the entry as it was.
    let plain = IndexServer::start(dir.path(), None);
    let cache = dir.path().join("cache-plain");
    fetch(plain.url("/simple/"), &cache);
    let before = page_entry(&cache);
    let stats = fetch(plain.url("/simple/"), &cache);
    assert_eq!((stats.requests, stats.not_modified), (1, 1));
    assert_eq!(page_entry(&cache), before, "not rewritten");

    // With a max-age, the entry is fresh: the next run sends nothing.
    let pypi_like = IndexServer::start_max_age(dir.path(), 600);
    let cache = dir.path().join("cache-max-age");
    fetch(pypi_like.url("/simple/"), &cache);
    let stats = fetch(pypi_like.url("/simple/"), &cache);
    assert_eq!((stats.requests, stats.cache_hits), (0, 1));
}

#[test]
fn a_cached_page_is_revalidated_and_a_304_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    write_index(dir.path(), projects());
    let cache = dir.path().join("cache");
    let server = IndexServer::start(dir.path(), None);
    let first = run(LIMIT, async {
        let c = client(&[server.url("/simple/")], Some(&cache), false);
        let page = c.project(&name("foo")).await.unwrap();
        let meta = c
            .metadata(file(&page, "foo-1.0-py3-none-any.whl"))
            .await
            .unwrap();
        assert_eq!(meta.version.to_string(), "1.0");
        page
    });
    server.clear_log();
    let (second, stats) = run(LIMIT, async {
        let c = client(&[server.url("/simple/")], Some(&cache), false);
        let page = c.project(&name("foo")).await.unwrap();
        c.metadata(file(&page, "foo-1.0-py3-none-any.whl"))
            .await
            .unwrap();
        (page, c.stats())
    });
    assert_eq!(first, second);
    assert_eq!(
        server.requests(),
        [("/simple/foo/".to_owned(), 304, "json".to_owned())],
        "the page is revalidated, the hashed .metadata is not asked for again"
    );
    assert_eq!(
        (stats.requests, stats.not_modified, stats.cache_hits),
        (1, 1, 1)
    );

    // A changed page is fetched again.
    let page = dir.path().join("www/simple/foo/index.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&page).unwrap()).unwrap();
    json["files"].as_array_mut().unwrap().truncate(1);
    std::fs::write(&page, serde_json::to_vec(&json).unwrap()).unwrap();
    server.clear_log();
    let third = run(LIMIT, async {
        client(&[server.url("/simple/")], Some(&cache), false)
            .project(&name("foo"))
            .await
            .unwrap()
    });
    assert_eq!(filenames(&third), ["foo-1.0-py3-none-any.whl"]);
    assert_eq!(server.requests()[0].1, 200);
}

#[test]
fn offline_serves_the_cache_and_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    write_index(dir.path(), projects());
    let cache = dir.path().join("cache");
    let server = IndexServer::start(dir.path(), None);
    let index = server.url("/simple/");
    let online = run(LIMIT, async {
        let c = client(std::slice::from_ref(&index), Some(&cache), false);
        let page = c.project(&name("foo")).await.unwrap();
        assert!(c.project(&name("absent")).await.unwrap().files.is_empty());
        c.metadata(file(&page, "foo-2.0-py3-none-any.whl"))
            .await
            .unwrap();
        page
    });
    server.clear_log();
    run(LIMIT, async {
        let c = client(std::slice::from_ref(&index), Some(&cache), true);
        assert_eq!(c.project(&name("foo")).await.unwrap(), online);
        assert!(
            c.project(&name("absent")).await.unwrap().files.is_empty(),
            "a cached 404"
        );
        let m = c
            .metadata(file(&online, "foo-2.0-py3-none-any.whl"))
            .await
            .unwrap();
        assert_eq!(m.version.to_string(), "2.0");
        let e = c.project(&name("bar")).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("`{index}bar/` is not in the cache, and the index client is offline")
        );
        let e = c
            .metadata(file(&online, "foo-1.0-py3-none-any.whl"))
            .await
            .unwrap_err();
        assert!(matches!(e, IndexError::Offline { .. }), "{e}");
    });
    assert!(server.requests().is_empty(), "offline sends nothing");
}

#[test]
fn indexes_and_find_links_are_merged_in_order() {
    let dir = tempfile::tempdir().unwrap();
    write_index(dir.path(), projects());
    let server = IndexServer::start(dir.path(), None);
    let links = dir.path().join("links");
    std::fs::create_dir_all(&links).unwrap();
    let local = metadata_text("foo", "4.0", &[], None);
    std::fs::write(
        links.join("foo-4.0-py3-none-any.whl"),
        wheel("foo-4.0-py3-none-any.whl", &local),
    )
    .unwrap();
    std::fs::write(links.join("other-1.0-py3-none-any.whl"), b"x").unwrap();
    std::fs::write(links.join("README.txt"), b"x").unwrap();
    let file_index = url_of(&dir.path().join("www/html"));
    let c = IndexClient::new(IndexConfig {
        index_urls: vec![
            IndexUrl::parse(&server.url("/simple/")).unwrap(),
            IndexUrl::parse(&file_index).unwrap(),
        ],
        find_links: vec![FindLinks::parse(links.to_str().unwrap()).unwrap()],
        transport: policy(),
        ..IndexConfig::default()
    })
    .unwrap();
    run(LIMIT, async {
        let page = c.project(&name("foo")).await.unwrap();
        let names = filenames(&page);
        assert_eq!(names.len(), 1 + 7 + 7, "{names:?}");
        assert_eq!(names[0], "foo-4.0-py3-none-any.whl");
        assert_eq!(page.files[1].url.scheme(), "http");
        assert_eq!(page.files[8].url.scheme(), "file");
        // Local files: the wheel itself, and a `file://` index's sidecar.
        let m = c.metadata(&page.files[0]).await.unwrap();
        assert_eq!(m.version.to_string(), "4.0");
        let m = c.metadata(&page.files[8]).await.unwrap();
        assert_eq!(m.version.to_string(), "1.0");
        let pages = c
            .projects(&[name("bar"), name("nothing"), name("foo")])
            .await;
        let counts: Vec<(String, usize)> = pages
            .iter()
            .map(|(n, p)| (n.to_string(), p.as_ref().unwrap().files.len()))
            .collect();
        assert_eq!(
            counts,
            [("bar".into(), 2), ("nothing".into(), 0), ("foo".into(), 15)]
        );
    });
}

fn url_of(path: &Path) -> String {
    reqwest::Url::from_directory_path(path).unwrap().to_string()
}

#[test]
fn credentials_reach_the_index_and_its_files_but_never_a_message() {
    let dir = tempfile::tempdir().unwrap();
    write_index(dir.path(), projects());
    let secret = "pw-7Hq-index-secret";
    let server = IndexServer::start(dir.path(), Some(&format!("alice:{secret}")));
    let with = |password: &str| {
        server
            .url("/simple/")
            .replace("://", &format!("://alice:{password}@"))
    };
    run(LIMIT, async {
        let c = client(&[with(secret)], None, false);
        let page = c.project(&name("foo")).await.unwrap();
        assert!(!format!("{page:?}").contains(secret));
        let m = c
            .metadata(file(&page, "foo-2.0-py3-none-any.whl"))
            .await
            .unwrap();
        assert_eq!(
            m.version.to_string(),
            "2.0",
            "the sidecar on the same host is authorised too"
        );

        // The same credentials from a `.netrc` the caller hands over.
        let netrc = Netrc::parse(&format!(
            "machine 127.0.0.1 login alice password {secret}\n"
        ))
        .unwrap();
        let c = IndexClient::new(IndexConfig {
            index_urls: vec![IndexUrl::parse(&server.url("/simple/")).unwrap()],
            credentials: Some(std::sync::Arc::new(netrc)),
            transport: policy(),
            ..IndexConfig::default()
        })
        .unwrap();
        assert_eq!(c.project(&name("foo")).await.unwrap().files.len(), 7);

        let wrong = client(&[with("wrong-password")], None, false);
        let e = wrong.project(&name("foo")).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "`http://****@127.0.0.1:{}/simple/foo/` answered HTTP 401",
                server.port
            )
        );
    });
    // A closed port: unreachable, named, redacted.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = run(LIMIT, async {
        client(
            &[format!("http://alice:{secret}@127.0.0.1:{port}/simple/")],
            None,
            false,
        )
        .project(&name("foo"))
        .await
        .unwrap_err()
    });
    let shown = format!("{e} {e:?}");
    assert!(matches!(e, IndexError::Unreachable { .. }), "{shown}");
    assert!(
        shown.contains(&format!("`http://****@127.0.0.1:{port}/simple/foo/`")),
        "{shown}"
    );
    assert!(
        !shown.contains(secret) && !shown.contains("alice"),
        "{shown}"
    );
}

fn fault_client(server: &FaultServer) -> IndexClient {
    client(&[format!("http://{}/simple/", server.addr)], None, false)
}

#[test]
fn truncated_malformed_or_mistyped_pages_are_clear_errors() {
    let json = r#"{"meta": {"api-version": "1.1"}, "files": [{"filename": "foo-1.0.tar.gz", "url": "x", "hashes": {}}]}"#;
    let server = FaultServer::start(Duration::ZERO, move |req| match req.path.as_str() {
        "/simple/truncated/" => Reply::Truncated {
            body: json.as_bytes().to_vec(),
            send: 40,
        },
        "/simple/malformed/" => Reply::ok(
            &json[..60],
            &[("Content-Type", "application/vnd.pypi.simple.v1+json")],
        ),
        "/simple/mistyped/" => Reply::ok(json, &[("Content-Type", "application/json")]),
        "/simple/newer/" => Reply::ok(
            r#"{"meta": {"api-version": "2.0"}, "files": []}"#,
            &[("Content-Type", "application/vnd.pypi.simple.v1+json")],
        ),
        "/simple/html/" => Reply::ok(
            "<html><body><a href=\"foo-1.0.tar.gz",
            &[("Content-Type", "text/html")],
        ),
        _ => Reply::status(404, &[]),
    });
    let c = fault_client(&server);
    let addr = &server.addr;
    run(LIMIT, async {
        let e = c.project(&name("truncated")).await.unwrap_err();
        assert!(matches!(e, IndexError::Body { .. }), "{e}");
        assert!(
            e.to_string().starts_with(&format!(
                "reading `http://{addr}/simple/truncated/` failed: "
            )),
            "{e}"
        );
        let e = c.project(&name("malformed")).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot read the project page `http://{addr}/simple/malformed/`: invalid JSON at line 1, column 60: EOF while parsing a string at line 1 column 60"
            )
        );
        let e = c.project(&name("mistyped")).await.unwrap_err();
        assert!(
            matches!(
                e,
                IndexError::Page {
                    source: PageError::UnsupportedContentType(_),
                    ..
                }
            ),
            "{e}"
        );
        let e = c.project(&name("newer")).await.unwrap_err();
        assert!(
            e.to_string()
                .ends_with("unsupported repository API version `2.0` (envaudit reads 1.x)"),
            "{e}"
        );
        let e = c.project(&name("html")).await.unwrap_err();
        assert!(
            e.to_string()
                .ends_with("unterminated attribute value starting at byte 20"),
            "{e}"
        );
        assert!(c.project(&name("absent")).await.unwrap().files.is_empty());
    });
}

#[test]
fn server_errors_are_retried_and_a_bad_metadata_hash_is_refused() {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let meta = metadata_text("foo", "1.0", &[], None);
    let good = sha256(meta.as_bytes());
    let page = format!(
        r#"{{"files": [{{"filename": "foo-1.0-py3-none-any.whl", "url": "/f/foo-1.0-py3-none-any.whl", "hashes": {{}}, "core-metadata": {{"sha256": "{}"}}}}]}}"#,
        "0".repeat(64)
    );
    let server = FaultServer::start(Duration::ZERO, move |req| match req.path.as_str() {
        "/simple/foo/" => {
            if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
                Reply::status(503, &[])
            } else {
                Reply::ok(
                    page.clone(),
                    &[("Content-Type", "application/vnd.pypi.simple.v1+json")],
                )
            }
        }
        "/f/foo-1.0-py3-none-any.whl.metadata" => Reply::ok(meta.clone(), &[]),
        _ => Reply::status(500, &[]),
    });
    let c = fault_client(&server);
    run(LIMIT, async {
        let page = c.project(&name("foo")).await.unwrap();
        assert_eq!(
            hits.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "two 503s, then the page"
        );
        let e = c.metadata(&page.files[0]).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "`http://{}/f/foo-1.0-py3-none-any.whl.metadata` does not match its sha256: expected {}, got {good}",
                server.addr,
                "0".repeat(64)
            )
        );
        let e = c.project(&name("broken")).await.unwrap_err();
        assert!(matches!(e, IndexError::Status { status: 500, .. }), "{e}");
    });
    assert_eq!(
        server.hits("/simple/broken/"),
        3,
        "retried up to the policy's attempts"
    );
}

/// What pip would pick among `page`'s wheels for `target`: the highest version with a
/// compatible wheel, not yanked, whose `Requires-Python` admits the target, then the wheel
/// with the best tag.
fn pick(page: &ProjectPage, target: &TargetPlatform) -> Option<String> {
    let tags = SupportedTags::new(target);
    let python: envaudit::python::Version = format!("{}.{}.0", target.python.0, target.python.1)
        .parse()
        .unwrap();
    page.files
        .iter()
        .filter(|f| !f.is_yanked())
        .filter(|f| {
            f.requires_python
                .as_ref()
                .is_none_or(|r| r.contains(&python))
        })
        .filter_map(|f| {
            let priority = tags.best_tag_priority(f.filename.as_wheel()?)?;
            Some((
                f.filename.version().clone(),
                std::cmp::Reverse(priority),
                f.filename.to_string(),
            ))
        })
        .max()
        .map(|(_, _, name)| name)
}

#[test]
fn pip_download_picks_the_wheel_the_tags_rank_first() {
    let dir = tempfile::tempdir().unwrap();
    write_index(dir.path(), projects());
    let server = IndexServer::start(dir.path(), None);
    let index = server.url("/simple/");
    let page = run(LIMIT, async {
        client(std::slice::from_ref(&index), None, false)
            .project(&name("foo"))
            .await
            .unwrap()
    });
    let targets = [
        TargetPlatform::linux((3, 12), Arch::X86_64, Libc::Glibc(2, 28)),
        TargetPlatform::linux((3, 12), Arch::X86_64, Libc::Musl(1, 2)),
        TargetPlatform::linux((3, 12), Arch::Aarch64, Libc::Glibc(2, 35)),
        TargetPlatform::linux((3, 12), Arch::X86_64, Libc::Glibc(2, 12)),
        TargetPlatform::linux((3, 8), Arch::X86_64, Libc::Glibc(2, 31)),
    ];
    let mut picks = Vec::new();
    for target in &targets {
        let ours = pick(&page, target).expect("a wheel fits");
        let out = dir.path().join(format!("pip-{}", picks.len()));
        let (major, minor) = target.python;
        let mut cmd = Command::new("python3");
        cmd.args([
            "-m",
            "pip",
            "--isolated",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .args([
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--only-binary=:all:",
        ])
        .args(["--index-url", &index])
        .args(["--python-version", &format!("{major}.{minor}")])
        .args([
            "--implementation",
            "cp",
            "--abi",
            &format!("cp{major}{minor}"),
        ])
        .arg("--dest")
        .arg(&out)
        .arg("foo")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PYTHONPATH");
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PIP_") && k != "PIP_CONFIG_FILE" {
                cmd.env_remove(k);
            }
        }
        for p in target.platform_tags() {
            cmd.args(["--platform", &p]);
        }
        let result = cmd.output().expect("python3 -m pip runs");
        assert!(
            result.status.success(),
            "pip download failed:\n{}",
            String::from_utf8_lossy(&result.stderr)
        );
        let got: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, std::slice::from_ref(&ours), "{target:?}");
        picks.push(ours);
    }
    // The targets exercise different choices: manylinux, musllinux, pure, an older version.
    assert_eq!(
        picks,
        [
            "foo-2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "foo-2.0-cp312-cp312-musllinux_1_1_x86_64.whl",
            "foo-2.0-py3-none-any.whl",
            "foo-2.0-py3-none-any.whl",
            "foo-1.0-py3-none-any.whl",
        ]
    );
}
