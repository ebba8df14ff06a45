//! Installed-package catalogs from layers built here (tar, gzip, zstd) and from folders.

use std::io::{Cursor, Read, Write};

use envaudit::catalog::{self, Catalog, Completeness, Details, InstalledPackage};
use envaudit::layer::{self, FsFinding, Limits};
use envaudit::model::Ecosystem;

/// One layer, written with the `tar` crate.
struct Layer(tar::Builder<Vec<u8>>);

impl Layer {
    fn new() -> Self {
        Layer(tar::Builder::new(Vec::new()))
    }

    fn header(kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_mtime(0);
        h
    }

    fn file(mut self, path: &str, content: impl AsRef<[u8]>) -> Self {
        let content = content.as_ref();
        let mut h = Self::header(tar::EntryType::Regular, content.len() as u64);
        self.0
            .append_data(&mut h, path.trim_start_matches('/'), content)
            .unwrap();
        self
    }

    fn dir(mut self, path: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Directory, 0);
        self.0
            .append_data(&mut h, path.trim_start_matches('/'), std::io::empty())
            .unwrap();
        self
    }

    fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Symlink, 0);
        self.0
            .append_link(&mut h, path.trim_start_matches('/'), target)
            .unwrap();
        self
    }

    fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Link, 0);
        self.0
            .append_link(
                &mut h,
                path.trim_start_matches('/'),
                target.trim_start_matches('/'),
            )
            .unwrap();
        self
    }

    /// `.wh.NAME` for `path`.
    fn whiteout(self, path: &str) -> Self {
        let (dir, name) = path.rsplit_once('/').unwrap();
        self.file(&format!("{dir}/.wh.{name}"), "")
    }

    fn opaque(self, dir: &str) -> Self {
        self.file(&format!("{dir}/.wh..wh..opq"), "")
    }

    fn tar(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }

    fn gz(self) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&self.tar()).unwrap();
        e.finish().unwrap()
    }

    fn zst(self) -> Vec<u8> {
        zstd::encode_all(Cursor::new(self.tar()), 3).unwrap()
    }
}

fn metadata(name: &str, version: &str) -> String {
    format!(
        "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {name} for tests\n\
         License: MIT\nRequires-Dist: dep-of-{name}>=1\nRequires-Dist: extra-dep; extra == \"x\"\n\n\
         Long description.\n"
    )
}

const SITE: &str = "/opt/venv/lib/python3.11/site-packages";

/// A layer with one dist-info.
fn dist_info(layer: Layer, site: &str, name: &str, version: &str) -> Layer {
    let dir = format!("{site}/{name}-{version}.dist-info");
    layer
        .file(&format!("{dir}/METADATA"), metadata(name, version))
        .file(&format!("{dir}/INSTALLER"), "pip\n")
        .file(&format!("{dir}/RECORD"), "x,,\n")
        .file(&format!("{site}/{name}/__init__.py"), "# code\n")
}

fn conda_record(name: &str, version: &str, files: &[&str]) -> String {
    serde_json::json!({
        "name": name, "version": version, "build": "py311_0", "build_number": 0,
        "channel": "https://conda.anaconda.org/conda-forge/linux-64", "subdir": "linux-64",
        "license": "BSD-3-Clause", "depends": ["python >=3.11"], "constrains": [],
        "md5": "0123456789abcdef0123456789abcdef", "sha256": "ab".repeat(32),
        "requested_spec": "", "files": files,
    })
    .to_string()
}

fn scan(layers: Vec<Vec<u8>>) -> Catalog {
    catalog::catalog_layers(layers.into_iter().map(Cursor::new).collect())
}

/// `name==version` of packages of one ecosystem, sorted.
fn names(c: &Catalog, eco: Ecosystem) -> Vec<String> {
    let mut v: Vec<String> = c
        .of(eco)
        .map(|p| format!("{}=={}", p.name, p.version))
        .collect();
    v.sort();
    v
}

fn fs_findings(c: &Catalog) -> String {
    c.filesystem_findings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn find<'a>(c: &'a Catalog, name: &str) -> &'a InstalledPackage {
    c.packages
        .iter()
        .find(|p| p.name.as_str() == name)
        .unwrap_or_else(|| panic!("no package `{name}` in {:#?}", c.packages))
}

#[test]
fn a_file_whiteout_removes_the_file_from_lower_layers() {
    let l1 = Layer::new()
        .file(
            "/opt/conda/conda-meta/zlib-1.3-0.json",
            conda_record("zlib", "1.3", &[]),
        )
        .file(
            "/opt/conda/conda-meta/xz-5.4-0.json",
            conda_record("xz", "5.4", &[]),
        );
    let l2 = Layer::new().whiteout("/opt/conda/conda-meta/zlib-1.3-0.json");
    let c = scan(vec![l1.tar(), l2.tar()]);
    assert_eq!(names(&c, Ecosystem::Conda), ["xz==5.4"]);
    assert_eq!(c.completeness, Completeness::Complete);
}

#[test]
fn a_whited_out_directory_removes_everything_under_it() {
    let l1 = dist_info(
        dist_info(Layer::new(), SITE, "foo", "1.0"),
        SITE,
        "bar",
        "2.0",
    );
    let l2 = Layer::new().whiteout(&format!("{SITE}/foo-1.0.dist-info"));
    let c = scan(vec![l1.tar(), l2.tar()]);
    assert_eq!(names(&c, Ecosystem::Pip), ["bar==2.0"]);
}

#[test]
fn an_opaque_directory_hides_lower_contents_but_keeps_its_own() {
    let l1 = dist_info(
        dist_info(Layer::new(), SITE, "foo", "1.0"),
        SITE,
        "bar",
        "2.0",
    );
    let l2 = dist_info(Layer::new().opaque(SITE), SITE, "baz", "3.0");
    let c = scan(vec![l1.tar(), l2.tar()]);
    assert_eq!(names(&c, Ecosystem::Pip), ["baz==3.0"]);
}

#[test]
fn a_package_removed_then_re_added_is_reported_from_the_later_layer() {
    let l1 = dist_info(Layer::new(), SITE, "foo", "1.0");
    let l2 = Layer::new().whiteout(&format!("{SITE}/foo-1.0.dist-info"));
    let l3 = dist_info(Layer::new(), SITE, "foo", "1.0");
    let c = scan(vec![l1.tar(), l2.tar(), l3.tar()]);
    assert_eq!(names(&c, Ecosystem::Pip), ["foo==1.0"]);
    assert_eq!(find(&c, "foo").location.layer.as_ref().unwrap().index, 2);
}

#[test]
fn pip_upgrade_in_an_upper_layer_replaces_the_old_version() {
    let l1 = dist_info(
        dist_info(Layer::new(), SITE, "foo", "1.0"),
        SITE,
        "bar",
        "2.0",
    );
    let l2 = dist_info(
        Layer::new().whiteout(&format!("{SITE}/foo-1.0.dist-info")),
        SITE,
        "foo",
        "1.1",
    );
    let c = scan(vec![l1.gz(), l2.gz()]);
    assert_eq!(names(&c, Ecosystem::Pip), ["bar==2.0", "foo==1.1"]);
    let foo = find(&c, "foo");
    assert_eq!(foo.location.layer.as_ref().unwrap().index, 1);
    assert_eq!(find(&c, "bar").location.layer.as_ref().unwrap().index, 0);
    assert_eq!(foo.environment.as_deref(), Some("/opt/venv"));
}

#[test]
fn an_upgrade_without_removing_the_old_dist_info_reports_both_with_a_finding() {
    let l1 = dist_info(Layer::new(), SITE, "foo", "1.0");
    let l2 = dist_info(Layer::new(), SITE, "foo", "1.1");
    let c = scan(vec![l1.gz(), l2.gz()]);
    assert_eq!(names(&c, Ecosystem::Pip), ["foo==1.0", "foo==1.1"]);
    let messages: Vec<&str> = c.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "2 distributions of `foo` (1.0, 1.1) in one directory; Python imports whichever it finds first"
        ]
    );
    assert_eq!(c.findings[0].path, SITE);
    // The same name in two environments is no finding.
    let l3 = dist_info(
        Layer::new(),
        "/opt/other/lib/python3.11/site-packages",
        "foo",
        "1.0",
    );
    let l1 = dist_info(Layer::new(), SITE, "foo", "1.0");
    let c = scan(vec![l1.gz(), l3.gz()]);
    assert!(c.findings.is_empty(), "{:?}", c.findings);
}

#[test]
fn a_hardlink_to_a_file_whited_out_in_the_same_layer_keeps_its_content() {
    let json = conda_record("zlib", "1.3", &[]);
    let l1 = Layer::new().file("/opt/a/conda-meta/zlib-1.3-0.json", &json);
    let l2 = Layer::new()
        .whiteout("/opt/a/conda-meta/zlib-1.3-0.json")
        .hardlink(
            "/opt/b/conda-meta/zlib-1.3-0.json",
            "/opt/a/conda-meta/zlib-1.3-0.json",
        );
    let c = scan(vec![l1.tar(), l2.tar()]);
    let zlib = find(&c, "zlib");
    assert_eq!(zlib.environment.as_deref(), Some("/opt/b"));
    assert_eq!(c.of(Ecosystem::Conda).count(), 1);
}

#[test]
fn a_hardlink_to_a_file_whited_out_earlier_is_dangling_and_noted() {
    let json = conda_record("zlib", "1.3", &[]);
    let l1 = Layer::new().file("/opt/a/conda-meta/zlib-1.3-0.json", &json);
    let l2 = Layer::new().whiteout("/opt/a/conda-meta/zlib-1.3-0.json");
    let l3 = Layer::new().hardlink(
        "/opt/b/conda-meta/zlib-1.3-0.json",
        "/opt/a/conda-meta/zlib-1.3-0.json",
    );
    let c = scan(vec![l1.tar(), l2.tar(), l3.tar()]);
    assert_eq!(c.of(Ecosystem::Conda).count(), 0);
    insta::assert_snapshot!(fs_findings(&c), @"layer 2: hardlink `/opt/b/conda-meta/zlib-1.3-0.json` points to `/opt/a/conda-meta/zlib-1.3-0.json`, which is not in the image");
}

#[test]
fn site_packages_through_a_symlinked_directory_from_another_layer_is_found_once() {
    let l1 = Layer::new()
        .dir("/opt/venv/lib")
        .symlink("/opt/venv/lib64", "lib");
    let l2 = dist_info(
        Layer::new(),
        "/opt/venv/lib64/python3.11/site-packages",
        "foo",
        "1.0",
    );
    let l3 = dist_info(Layer::new(), SITE, "bar", "2.0");
    let c = scan(vec![l1.tar(), l2.zst(), l3.tar()]);
    assert_eq!(names(&c, Ecosystem::Pip), ["bar==2.0", "foo==1.0"]);
    let foo = find(&c, "foo");
    assert_eq!(foo.location.path, format!("{SITE}/foo-1.0.dist-info"));
    assert_eq!(foo.environment.as_deref(), Some("/opt/venv"));
}

#[test]
fn a_conda_python_package_is_reported_once_with_both_records() {
    let prefix = "/opt/miniconda";
    let site = format!("{prefix}/lib/python3.11/site-packages");
    let l = Layer::new()
        .file(
            &format!("{prefix}/conda-meta/numpy-1.26.4-py311_0.json"),
            conda_record(
                "numpy",
                "1.26.4",
                &[
                    "bin/f2py",
                    "lib/python3.11/site-packages/numpy-1.26.4.dist-info/METADATA",
                ],
            ),
        )
        .file(
            &format!("{site}/numpy-1.26.4.dist-info/METADATA"),
            metadata("numpy", "1.26.4"),
        )
        .file(
            &format!("{site}/numpy-1.26.4.dist-info/INSTALLER"),
            "conda\n",
        )
        .file(
            &format!("{prefix}/conda-meta/history"),
            "==> 2024-01-01 <==\n# update specs: ['numpy=1.26']\n",
        );
    let c = scan(vec![l.gz()]);
    assert_eq!(c.packages.len(), 1, "{:#?}", c.packages);
    let p = &c.packages[0];
    assert_eq!(p.ecosystem, Ecosystem::Conda);
    let linked = p.linked.as_ref().unwrap();
    assert_eq!(linked.ecosystem, Ecosystem::Pip);
    assert_eq!(
        linked.location.path,
        format!("{site}/numpy-1.26.4.dist-info")
    );
    let Details::Conda(d) = &p.details else {
        panic!()
    };
    assert_eq!(d.requested_spec.as_deref(), Some("numpy=1.26"));
    assert_eq!(c.python_distributions().len(), 1);
}

#[test]
fn base_conda_and_the_azureml_run_environment_are_kept_apart() {
    let base = "/opt/miniconda";
    let run = "/azureml-envs/azureml_0123abcd";
    let mut l = Layer::new();
    for (prefix, v) in [(base, "23.1"), (run, "24.0")] {
        l = l.file(
            &format!("{prefix}/conda-meta/pip-{v}-0.json"),
            conda_record("pip", v, &[]),
        );
        l = dist_info(
            l,
            &format!("{prefix}/lib/python3.11/site-packages"),
            "requests",
            v,
        );
    }
    let c = scan(vec![l.tar()]);
    let envs: Vec<(String, String, String)> = c
        .packages
        .iter()
        .map(|p| {
            (
                p.environment.clone().unwrap(),
                format!("{}", p.ecosystem),
                format!("{}=={}", p.name, p.version),
            )
        })
        .collect();
    insta::assert_debug_snapshot!(envs, @r#"
    [
        (
            "/azureml-envs/azureml_0123abcd",
            "conda",
            "pip==24.0",
        ),
        (
            "/opt/miniconda",
            "conda",
            "pip==23.1",
        ),
        (
            "/azureml-envs/azureml_0123abcd",
            "pip",
            "requests==24.0",
        ),
        (
            "/opt/miniconda",
            "pip",
            "requests==23.1",
        ),
    ]
    "#);
}

const DPKG_STATUS: &str = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n\
Source: glibc\nVersion: 2.36-9+deb12u4\nDepends: libgcc-s1\nDescription: GNU C Library: Shared libraries\n Contains the standard libraries.\n\n\
Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n\
Pre-Depends: libc6 (>= 2.36)\nDescription: GNU Bourne Again SHell\n\n\
Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n";

#[test]
fn dpkg_status_with_copyright_licenses_and_os_release_through_a_symlink() {
    let l1 = Layer::new()
        .file(
            "/usr/lib/os-release",
            "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
        )
        .symlink("/etc/os-release", "../usr/lib/os-release")
        .file(
            "/var/lib/dpkg/status",
            DPKG_STATUS.replace("Package: bash", "Package: xbash"),
        )
        .file("/var/lib/dpkg/info/libc6:amd64.list", "/.\n")
        .file(
            "/var/lib/dpkg/info/libc6:amd64.md5sums",
            "0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n",
        )
        .file(
            "/usr/share/doc/libc6/copyright",
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n\
             Files: *\nCopyright: FSF\nLicense: LGPL-2.1+\n",
        );
    let l2 = Layer::new()
        .file("/var/lib/dpkg/status", DPKG_STATUS)
        .file("/var/lib/dpkg/info/bash.list", "/bin/bash\n");
    let c = scan(vec![l1.tar(), l2.tar()]);
    assert_eq!(
        names(&c, Ecosystem::Deb),
        ["bash==5.2.15-2+b2", "libc6==2.36-9+deb12u4"]
    );
    let distro = c.distro.as_ref().unwrap();
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_deref()),
        ("debian", Some("12"))
    );
    let libc = find(&c, "libc6");
    assert_eq!(libc.licenses, ["LGPL-2.1+"]);
    assert_eq!(
        libc.location.layer.as_ref().unwrap().index,
        0,
        "from its .list file"
    );
    assert_eq!(find(&c, "bash").location.layer.as_ref().unwrap().index, 1);
    assert_eq!(find(&c, "bash").requires, ["libc6 (>= 2.36)"]);
    // The md5sums list is kept as its SHA-256: a digest of what the package installed.
    let digest = |p: &envaudit::catalog::InstalledPackage| match &p.details {
        envaudit::catalog::Details::Deb(d) => d.md5sums_sha256.clone(),
        _ => None,
    };
    assert_eq!(
        digest(libc).as_deref(),
        Some(
            envaudit::model::Digest::sha256_of(
                b"0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n"
            )
            .to_string()
            .as_str()
        )
    );
    assert_eq!(digest(find(&c, "bash")), None, "bash has no md5sums here");
}

#[test]
fn apk_installed_database_is_read() {
    let l = Layer::new()
        .file("/etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n")
        .file(
            "/lib/apk/db/installed",
            "C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nL:MIT\no:musl\n\n\
             P:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\nD:so:libc.musl-x86_64.so.1\n",
        );
    let c = scan(vec![l.zst()]);
    assert_eq!(
        names(&c, Ecosystem::Apk),
        ["busybox==1.36.1-r15", "musl==1.2.4_git20230717-r4"]
    );
    assert_eq!(find(&c, "busybox").licenses, ["GPL-2.0-only"]);
    assert_eq!(c.distro.as_ref().unwrap().id, "alpine");
}

#[test]
fn every_compression_gives_the_same_catalog() {
    let build = || dist_info(Layer::new(), SITE, "foo", "1.0").file("/etc/os-release", "ID=x\n");
    let a = scan(vec![build().tar()]);
    let b = scan(vec![build().gz()]);
    let c = scan(vec![build().zst()]);
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(names(&a, Ecosystem::Pip), ["foo==1.0"]);
}

#[test]
fn a_corrupt_gzip_layer_gives_a_partial_result_with_a_reason() {
    let mut gz = dist_info(Layer::new(), SITE, "foo", "1.0").gz();
    let n = gz.len();
    gz.truncate(n / 2);
    let c = scan(vec![gz]);
    let Completeness::Partial(reason) = &c.completeness else {
        panic!("{:?}", c.completeness)
    };
    assert!(reason.starts_with("malformed layer"), "{reason}");

    let garbage = vec![0x1f, 0x8b, 0x08, 0x00, 0xff, 0xff, 0xff, 0xff, 1, 2, 3];
    assert!(scan(vec![garbage]).completeness.is_partial());
    let zstd_garbage = vec![0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3];
    assert!(scan(vec![zstd_garbage]).completeness.is_partial());
}

#[test]
fn a_truncated_tar_keeps_what_was_read_and_is_partial() {
    let good = dist_info(Layer::new(), SITE, "foo", "1.0").tar();
    let mut tar = good.clone();
    tar.extend(dist_info(Layer::new(), SITE, "bar", "1.0").tar());
    // The first archive's end marker is two zero blocks: drop it and cut the second short.
    let first_len = good.len() - 1024;
    let mut joined = good[..first_len].to_vec();
    joined.extend(&tar[good.len()..good.len() + 600]);
    let c = scan(vec![joined]);
    assert_eq!(names(&c, Ecosystem::Pip), ["foo==1.0"]);
    insta::assert_snapshot!(fs_findings(&c), @"layer 0: malformed layer: the archive ends inside an entry; it is truncated");
    assert!(c.completeness.is_partial(), "{:?}", c.completeness);
    // Cut at an entry boundary, without the end-of-archive marker.
    let c = scan(vec![good[..first_len].to_vec()]);
    assert_eq!(names(&c, Ecosystem::Pip), ["foo==1.0"]);
    insta::assert_snapshot!(fs_findings(&c), @"layer 0: malformed layer: the archive ends without its end-of-archive marker; it may be truncated");
}

#[test]
fn malformed_metadata_files_make_their_cataloger_partial() {
    let l = Layer::new()
        .file("/opt/conda/conda-meta/bad-1-0.json", "{\"name\": \"bad\", ")
        .file(
            &format!("{SITE}/ok-1.0.dist-info/METADATA"),
            "Name: ok\nVersion: 1.0\nno colon here\n",
        )
        .file("/lib/apk/db/installed", "P:x\nV:1\nbroken line\n")
        .file("/var/lib/dpkg/status", "Version: 1\n");
    let c = scan(vec![l.tar()]);
    let runs: Vec<String> = c
        .catalogers
        .iter()
        .map(|r| format!("{}: {:?}", r.name, r.completeness))
        .collect();
    insta::assert_snapshot!(runs.join("\n"), @r#"
    python-dist-info: Partial("`/opt/venv/lib/python3.11/site-packages/ok-1.0.dist-info/METADATA`: malformed metadata: line 3: expected `Name: value`, found `no colon here`")
    python-egg-info: NotApplicable
    conda-meta: Partial("`/opt/conda/conda-meta/bad-1-0.json`: malformed conda record: EOF while parsing a value at line 1 column 16")
    dpkg: Partial("`/var/lib/dpkg/status`: malformed status: line 1: expected `Name: value`, found `a paragraph without `Package``")
    apk: Partial("`/lib/apk/db/installed`: malformed database: line 3: expected `K:value`")
    "#);
    assert_eq!(names(&c, Ecosystem::Pip), ["ok==1.0"]);
    assert_eq!(names(&c, Ecosystem::Apk), ["x==1"]);
    assert!(c.completeness.is_partial());
}

#[test]
fn non_utf8_names_are_skipped_with_a_finding() {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_entry_type(tar::EntryType::Regular);
    // The name is set as raw bytes: invalid UTF-8.
    h.as_gnu_mut().unwrap().name[..6].copy_from_slice(b"a\xffb/cd");
    h.set_cksum();
    b.append(&h, &b"x"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let facts = layer::walk(Cursor::new(tar), &Limits::default());
    assert_eq!(facts.partial, None);
    assert!(matches!(facts.findings[0], FsFinding::NonUtf8Name { .. }));
}

#[test]
fn symlink_loops_are_bounded() {
    let l1 = Layer::new().symlink("/a", "b").symlink("/b", "a");
    let l2 = Layer::new().file("/a/x/conda-meta/z-1-0.json", conda_record("z", "1", &[]));
    let c = scan(vec![l1.tar(), l2.tar()]);
    assert!(c.completeness.is_partial());
    insta::assert_snapshot!(fs_findings(&c), @"layer 1: symlinks under `/a/x/conda-meta/z-1-0.json` loop or nest too deeply");
}

#[test]
fn symlinks_never_lead_outside_the_image() {
    let l1 = Layer::new()
        .symlink("/opt/venv/lib", "../../../../../usr/lib")
        .file(
            "/usr/lib/python3.11/site-packages/foo-1.0.dist-info/METADATA",
            metadata("foo", "1.0"),
        );
    let view = layer::merge(&[layer::walk(Cursor::new(l1.tar()), &Limits::default())]);
    assert_eq!(
        view.resolve("/opt/venv/lib/python3.11").as_deref(),
        Some("/usr/lib/python3.11")
    );
    let l2 = Layer::new().symlink("/etc/os-release", "/../../../etc/passwd");
    let view = layer::merge(&[layer::walk(Cursor::new(l2.tar()), &Limits::default())]);
    assert_eq!(
        view.resolve("/etc/os-release").as_deref(),
        Some("/etc/passwd")
    );
    assert_eq!(view.read("/etc/os-release"), None);
}

#[test]
fn the_entry_limit_stops_a_walk_with_a_partial_result() {
    let mut l = Layer::new();
    for i in 0..50 {
        l = l.file(&format!("/f{i}"), "x");
    }
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let facts = layer::walk(Cursor::new(l.tar()), &limits);
    assert_eq!(facts.entry_count, 11);
    insta::assert_snapshot!(facts.partial.unwrap(), @"more than 10 entries; the rest were not read");
}

#[test]
fn layer_facts_survive_a_json_round_trip() {
    let l = dist_info(Layer::new(), SITE, "foo", "1.0")
        .symlink("/opt/venv/lib64", "lib")
        .whiteout("/opt/old")
        .opaque("/opt/venv/share")
        .hardlink(
            &format!("{SITE}/foo-1.0.dist-info/REQUESTED"),
            &format!("{SITE}/foo-1.0.dist-info/RECORD"),
        );
    let facts = layer::walk(Cursor::new(l.gz()), &Limits::default());
    let json = serde_json::to_string(&facts).unwrap();
    let back: layer::LayerFacts = serde_json::from_str(&json).unwrap();
    assert_eq!(back, facts);
    // Only wanted files are kept: METADATA, INSTALLER, RECORD, the hardlink; not code.
    assert!(
        !facts
            .entries
            .iter()
            .any(|e| e.path.ends_with("__init__.py"))
    );
    assert_eq!(layer::merge(&[back]).files().count(), 4);
}

/// A tar stream holding one file of `size` zero bytes, generated as it is read.
fn zeros_tar(name: &str, size: u64) -> impl Read {
    let mut h = tar::Header::new_gnu();
    h.set_path(name).unwrap();
    h.set_size(size);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_cksum();
    Cursor::new(h.as_bytes().to_vec()).chain(std::io::repeat(0).take(size))
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run by [`a_gzip_bomb_is_stopped_by_the_size_limit_in_bounded_memory`] in a process of
/// its own, so that its peak memory is its own.
#[test]
#[ignore = "run in a child process by the bomb test"]
fn gzip_bomb_child() {
    if std::env::var_os("ENVAUDIT_BOMB_CHILD").is_none() {
        return;
    }
    // 384 MiB of zeros in one wanted file, compressed on the fly: never held in memory.
    let bomb = flate2::read::GzEncoder::new(
        zeros_tar(
            "opt/venv/lib/python3.11/site-packages/x-1.dist-info/METADATA",
            384 << 20,
        ),
        flate2::Compression::fast(),
    );
    let limits = Limits {
        max_layer_bytes: 64 << 20,
        ..Limits::default()
    };
    let facts = layer::walk(bomb, &limits);
    let kept: usize = facts
        .entries
        .iter()
        .map(|e| match &e.kind {
            layer::EntryKind::File {
                content: Some(c), ..
            } => c.len(),
            _ => 0,
        })
        .sum();
    let report = serde_json::json!({
        "partial": facts.partial,
        "bytes_read": facts.bytes_read,
        "kept": kept,
        "peak_rss_kib": peak_rss_kib(),
    });
    std::fs::write(
        std::env::var_os("ENVAUDIT_BOMB_CHILD").unwrap(),
        report.to_string(),
    )
    .unwrap();
}

#[test]
fn a_gzip_bomb_is_stopped_by_the_size_limit_in_bounded_memory() {
    let out = tempfile::NamedTempFile::new().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "catalog::gzip_bomb_child",
            "--ignored",
            "--test-threads=1",
            "-q",
        ])
        .env("ENVAUDIT_BOMB_CHILD", out.path())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path()).unwrap()).unwrap();
    insta::assert_snapshot!(report["partial"].as_str().unwrap(), @"more than 67108864 bytes after decompression; the rest was not read");
    assert!(report["bytes_read"].as_u64().unwrap() <= (64 << 20) + 1);
    // The wanted file was capped, not read whole.
    assert!(report["kept"].as_u64().unwrap() <= 512 * 1024, "{report}");
    if let Some(peak) = report["peak_rss_kib"].as_u64() {
        assert!(peak < 100 * 1024, "peak RSS {peak} KiB");
    }
}

#[test]
fn zeros_without_a_header_end_the_archive_quietly() {
    let facts = layer::walk(std::io::repeat(0).take(10 << 20), &Limits::default());
    assert_eq!(facts.entries.len(), 0);
    assert_eq!(facts.partial, None);
}

#[test]
fn a_folder_conda_prefix_is_cataloged_with_host_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, content: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    };
    write(
        "conda-meta/numpy-1.26.4-py311_0.json",
        &conda_record(
            "numpy",
            "1.26.4",
            &["lib/python3.11/site-packages/numpy-1.26.4.dist-info/METADATA"],
        ),
    );
    write(
        "conda-meta/python-3.11.8-0.json",
        &conda_record("python", "3.11.8", &[]),
    );
    write(
        "lib/python3.11/site-packages/numpy-1.26.4.dist-info/METADATA",
        &metadata("numpy", "1.26.4"),
    );
    write(
        "lib/python3.11/site-packages/rich-13.0.dist-info/METADATA",
        &metadata("rich", "13.0"),
    );
    write(
        "lib/python3.11/site-packages/rich-13.0.dist-info/INSTALLER",
        "pip\n",
    );
    write("lib/python3.11/site-packages/rich/__init__.py", "");
    #[cfg(unix)]
    std::os::unix::fs::symlink("lib", root.join("lib64")).unwrap();
    let c = catalog::catalog_folder(root);
    assert_eq!(
        names(&c, Ecosystem::Conda),
        ["numpy==1.26.4", "python==3.11.8"]
    );
    assert_eq!(names(&c, Ecosystem::Pip), ["rich==13.0"]);
    let rich = find(&c, "rich");
    assert_eq!(rich.environment.as_deref(), Some(root.to_str().unwrap()));
    assert!(rich.location.path.starts_with(root.to_str().unwrap()));
    assert!(rich.location.layer.is_none());
    assert!(find(&c, "numpy").linked.is_some());
    assert_eq!(c.completeness, Completeness::Complete);
}

#[test]
fn an_azureml_like_image_catalog_as_json() {
    let run = "/azureml-envs/azureml_0123abcd";
    let l1 = Layer::new()
        .file("/etc/os-release", "ID=ubuntu\nVERSION_ID=\"22.04\"\n")
        .file("/var/lib/dpkg/status", "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.35-0ubuntu3.6\n");
    let l2 = Layer::new()
        .file(
            &format!("{run}/conda-meta/python-3.11.8-0.json"),
            conda_record("python", "3.11.8", &[]),
        )
        .file(
            &format!("{run}/lib/python3.11/site-packages/mlflow-2.9.0.dist-info/METADATA"),
            metadata("mlflow", "2.9.0"),
        )
        .file(
            &format!("{run}/lib/python3.11/site-packages/mlflow-2.9.0.dist-info/direct_url.json"),
            r#"{"url": "https://github.com/mlflow/mlflow.git", "vcs_info": {"vcs": "git", "commit_id": "0123abc"}}"#,
        );
    let facts: Vec<_> = [l1.tar(), l2.gz()]
        .into_iter()
        .map(|l| layer::walk(Cursor::new(l), &Limits::default()))
        .collect();
    let mut view = layer::merge(&facts);
    view.mark_base_layers(1);
    let c = catalog::catalog_view(&view);
    insta::assert_json_snapshot!(c);
}

/// Builds a wheel by hand (a wheel is a zip with a `.dist-info`), with Python's zipfile.
fn build_wheel(python: &str, dir: &std::path::Path, name: &str, version: &str) {
    let script = format!(
        r#"
import zipfile, hashlib, base64, sys
name, version, out = "{name}", "{version}", sys.argv[1]
dist = name.replace("-", "_")
files = {{
    f"{{dist}}/__init__.py": b"",
    f"{{dist}}-{{version}}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {{name}}\nVersion: {{version}}\n".encode(),
    f"{{dist}}-{{version}}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}}
record = []
with zipfile.ZipFile(f"{{out}}/{{dist}}-{{version}}-py3-none-any.whl", "w") as z:
    for path, data in files.items():
        z.writestr(path, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{{path}},sha256={{digest}},{{len(data)}}")
    record.append(f"{{dist}}-{{version}}.dist-info/RECORD,,")
    z.writestr(f"{{dist}}-{{version}}.dist-info/RECORD", "\n".join(record) + "\n")
"#
    );
    let status = std::process::Command::new(python)
        .args(["-c", &script])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_real_venv_catalog_agrees_with_pip_list() {
    #[derive(serde::Deserialize)]
    struct Row {
        name: String,
        version: String,
    }
    let tmp = tempfile::tempdir().unwrap();
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    for (name, version) in [
        ("alpha-pkg", "1.0.0"),
        ("Beta.Thing", "2.1"),
        ("gamma_x", "0.3.post1"),
    ] {
        build_wheel("python3", &wheels, name, version);
    }
    let venv = tmp.path().join("venv");
    let ok = std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(ok.success());
    let py = venv.join("bin/python");
    let ok = std::process::Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--disable-pip-version-check",
            "--find-links",
        ])
        .arg(&wheels)
        .args(["alpha-pkg", "Beta.Thing", "gamma_x"])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = std::process::Command::new(&py)
        .args([
            "-m",
            "pip",
            "list",
            "--format=json",
            "--disable-pip-version-check",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<Row> = serde_json::from_slice(&out.stdout).unwrap();
    let mut expected: Vec<(String, String)> = rows
        .into_iter()
        .map(|r| {
            (
                envaudit::model::PackageName::pip(&r.name).to_string(),
                r.version,
            )
        })
        .collect();
    expected.sort();
    let c = catalog::catalog_folder(&venv);
    let got: Vec<(String, String)> = c
        .python_distributions()
        .into_iter()
        .map(|(n, v)| (n.to_string(), v.to_owned()))
        .collect();
    assert_eq!(got, expected);
    assert!(expected.iter().any(|(n, _)| n == "beta-thing"));
    assert_eq!(c.environments.len(), 1);
    assert_eq!(c.environments[0].kind, catalog::EnvironmentKind::Venv);
    assert_eq!(c.environments[0].prefix, venv.to_str().unwrap());
    assert_eq!(c.completeness, Completeness::Complete);
}

#[test]
fn egg_info_directories_and_files_are_read_with_requires_txt() {
    let site = "/usr/lib/python3/dist-packages";
    let l = Layer::new()
        .file(
            &format!("{site}/legacy_pkg-0.9.egg-info/PKG-INFO"),
            "Metadata-Version: 1.2\nName: legacy-pkg\nVersion: 0.9\nLicense: BSD\n",
        )
        .file(
            &format!("{site}/legacy_pkg-0.9.egg-info/requires.txt"),
            "six\n\n[test]\npytest\n",
        )
        .file(
            &format!("{site}/single-1.2.egg-info"),
            "Metadata-Version: 1.0\nName: single\nVersion: 1.2\n",
        );
    let c = scan(vec![l.tar()]);
    assert_eq!(
        names(&c, Ecosystem::Pip),
        ["legacy-pkg==0.9", "single==1.2"]
    );
    let legacy = find(&c, "legacy-pkg");
    assert_eq!(legacy.requires, ["six", "pytest; extra == \"test\""]);
    assert_eq!(legacy.environment.as_deref(), Some("/usr"));
    assert_eq!(legacy.licenses, ["BSD"]);
}

#[test]
fn distroless_dpkg_status_d_files_are_read() {
    let l = Layer::new()
        .file(
            "/var/lib/dpkg/status.d/base-files",
            "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
        )
        .file(
            "/var/lib/dpkg/status.d/base-files.md5sums",
            "abc  etc/issue\n",
        )
        .file(
            "/var/lib/dpkg/status.d/tzdata",
            "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
        );
    let c = scan(vec![l.tar()]);
    assert_eq!(
        names(&c, Ecosystem::Deb),
        ["base-files==12.4+deb12u5", "tzdata==2024a-0+deb12u1"]
    );
    assert_eq!(c.completeness, Completeness::Complete);
}

#[test]
fn a_bare_site_packages_folder_is_its_own_environment() {
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join("six-1.16.0.dist-info/METADATA");
    std::fs::create_dir_all(meta.parent().unwrap()).unwrap();
    std::fs::write(&meta, metadata("six", "1.16.0")).unwrap();
    let c = catalog::catalog_folder(dir.path());
    assert_eq!(names(&c, Ecosystem::Pip), ["six==1.16.0"]);
    assert_eq!(
        find(&c, "six").environment.as_deref(),
        Some(dir.path().to_str().unwrap())
    );
}

#[test]
fn an_empty_folder_has_nothing_to_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let c = catalog::catalog_folder(dir.path());
    assert!(c.packages.is_empty());
    assert_eq!(c.completeness, Completeness::Complete);
    assert!(
        c.catalogers
            .iter()
            .all(|r| r.completeness == Completeness::NotApplicable)
    );
}

#[test]
fn packages_name_the_digest_of_their_layer_and_whether_it_is_base() {
    let digest: envaudit::model::Digest = format!("sha256:{}", "1".repeat(64)).parse().unwrap();
    let l1 = dist_info(Layer::new(), SITE, "base-pkg", "1.0");
    let l2 = dist_info(Layer::new(), SITE, "app-pkg", "2.0");
    let mut facts = catalog::walk_layers(
        vec![Cursor::new(l1.tar()), Cursor::new(l2.gz())],
        &Limits::default(),
    );
    facts[1].digest = Some(digest.clone());
    let mut view = layer::merge(&facts);
    view.mark_base_layers(1);
    let c = catalog::catalog_view(&view);
    let app = find(&c, "app-pkg").location.layer.clone().unwrap();
    assert_eq!(
        (app.index, app.digest, app.from_base),
        (1, Some(digest), Some(false))
    );
    let base = find(&c, "base-pkg").location.layer.clone().unwrap();
    assert_eq!(base.from_base, Some(true));
}

#[test]
fn deep_paths_are_skipped_with_a_finding() {
    let deep = format!("/{}x.dist-info/METADATA", "d/".repeat(200));
    let facts = layer::walk(
        Cursor::new(Layer::new().file(&deep, "Name: x\n").tar()),
        &Limits::default(),
    );
    assert!(facts.entries.is_empty());
    insta::assert_snapshot!(facts.findings[0].to_string(), @"entry name with 202 components exceeds the limit of 128; it was skipped");
}

#[test]
fn an_opaque_marker_under_a_symlinked_directory_empties_the_real_directory() {
    let l1 = dist_info(
        Layer::new()
            .dir("/opt/venv/lib")
            .symlink("/opt/venv/lib64", "lib"),
        SITE,
        "foo",
        "1.0",
    );
    let l2 = Layer::new().opaque("/opt/venv/lib64");
    let c = scan(vec![l1.tar(), l2.tar()]);
    assert!(c.packages.is_empty(), "{:#?}", c.packages);
}

#[test]
fn an_oversized_pax_header_is_stopped_before_it_is_read_into_memory() {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    let size = 4 << 20;
    h.set_size(size);
    h.set_path("pax").unwrap();
    h.set_cksum();
    b.append(&h, std::io::repeat(b'a').take(size)).unwrap();
    let facts = layer::walk(Cursor::new(b.into_inner().unwrap()), &Limits::default());
    insta::assert_snapshot!(facts.partial.unwrap(), @"more than 1048576 bytes of tar header data before one entry; the rest was not read");
}

#[test]
fn many_large_metadata_files_are_stopped_by_the_kept_bytes_limit() {
    let mut l = Layer::new();
    let big = "x".repeat(100 * 1024);
    for i in 0..20 {
        l = l.file(&format!("/opt/conda/conda-meta/p{i}-1-0.json"), &big);
    }
    let limits = Limits {
        max_kept_bytes: 1 << 20,
        ..Limits::default()
    };
    let facts = layer::walk(Cursor::new(l.gz()), &limits);
    assert!(facts.entries.len() <= 11, "{}", facts.entries.len());
    insta::assert_snapshot!(facts.partial.unwrap(), @"more than 1048576 bytes of metadata files; the rest were not read");
}

#[test]
fn distributions_vendored_inside_a_package_are_not_installed_packages() {
    let l = dist_info(Layer::new(), SITE, "setuptools", "75.0.0").file(
        &format!("{SITE}/setuptools/_vendor/jaraco.text-3.12.1.dist-info/METADATA"),
        metadata("jaraco.text", "3.12.1"),
    );
    let c = scan(vec![l.tar()]);
    assert_eq!(names(&c, Ecosystem::Pip), ["setuptools==75.0.0"]);
}

#[test]
fn conda_package_cache_copies_are_not_installed_packages() {
    let prefix = "/opt/conda";
    let l = dist_info(
        Layer::new().file(
            &format!("{prefix}/conda-meta/six-1.16.0-0.json"),
            conda_record("six", "1.16.0", &[]),
        ),
        &format!("{prefix}/pkgs/six-1.16.0-0/lib/python3.11/site-packages"),
        "six",
        "1.16.0",
    );
    let c = scan(vec![l.tar()]);
    assert!(c.of(Ecosystem::Pip).next().is_none(), "{:#?}", c.packages);
    assert_eq!(names(&c, Ecosystem::Conda), ["six==1.16.0"]);
}
