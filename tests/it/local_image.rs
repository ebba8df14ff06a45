//! Images on disk: OCI layout folders and `docker save` archives, written by the tests.

use std::time::Duration;

use envaudit::image::{self, ImageError, ResolveOptions, ResolvedImage};
use envaudit::model::ImageSource;
use envaudit::registry::{CredentialStore, HttpRegistry, IntegrityError, TransportPolicy};

use crate::registry::run;
use crate::support::TestEnv;
use crate::support::image::{self as img, Compression, LayoutEntry, Spec};

fn open_and_verify(
    source: &str,
    platform: Option<&str>,
) -> Result<(ResolvedImage, u64), ImageError> {
    let source: ImageSource = source.parse().unwrap();
    let options = ResolveOptions {
        platform: platform.map(|p| p.parse().unwrap()),
    };
    run(Duration::from_secs(20), async move {
        let reg =
            HttpRegistry::new(TransportPolicy::default(), CredentialStore::anonymous()).unwrap();
        let i = image::open(&reg, &source, &options).await?;
        let n = image::verify_layers(&reg, &i).await?;
        Ok((i.resolved, n))
    })
}

fn sample(label: &str) -> img::BuiltImage {
    img::build(&Spec {
        label,
        layers: vec![
            (Compression::Gzip, vec![("etc/os-release", b"ID=layout\n")]),
            (Compression::Zstd, vec![("opt/x", b"x")]),
        ],
        ..Spec::default()
    })
}

/// Layers as `docker save` writes them: uncompressed.
fn uncompressed(label: &str) -> img::BuiltImage {
    img::build(&Spec {
        label,
        docker: true,
        layers: vec![
            (Compression::None, vec![("etc/os-release", b"ID=archive\n")]),
            (Compression::None, vec![("usr/lib/libx.so", b"\x7fELF...")]),
            // The same layer again: docker writes it once and links to it.
            (Compression::None, vec![("etc/os-release", b"ID=archive\n")]),
        ],
        ..Spec::default()
    })
}

#[test]
fn an_oci_layout_resolves_by_tag_and_streams_its_layers() {
    let env = TestEnv::new();
    let a = sample("layout-a");
    let b = sample("layout-b");
    let idx = img::index(
        vec![
            sample("layout-idx"),
            img::build(&Spec {
                arch: "arm64",
                label: "layout-idx",
                ..Spec::default()
            }),
        ],
        false,
    );
    img::write_layout(
        &env.path("layout"),
        &[
            LayoutEntry::Image(&a, Some("a")),
            LayoutEntry::Image(&b, Some("b")),
            LayoutEntry::Index(&idx, Some("multi")),
        ],
    );
    let dir = env.path("layout").display().to_string();
    let (r, read) = open_and_verify(&format!("oci:{dir}:b"), None).unwrap();
    assert_eq!(r.manifest.unwrap().digest.to_string(), b.manifest_digest);
    assert_eq!(r.config.digest.to_string(), b.config_digest);
    assert!(r.index.is_none());
    assert_eq!(
        read,
        b.layers.iter().map(|l| l.bytes.len() as u64).sum::<u64>()
    );

    let (r, _) = open_and_verify(&format!("oci:{dir}:multi"), Some("linux/arm64")).unwrap();
    assert_eq!(r.index.unwrap().digest.to_string(), idx.digest);
    assert_eq!(
        r.manifest.unwrap().digest.to_string(),
        idx.images[1].0.manifest_digest
    );

    let e = open_and_verify(&format!("oci:{dir}"), None).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("`{dir}` holds 3 images; name one (it has `a`, `b`, `multi`)")
    );
    let e = open_and_verify(&format!("oci:{dir}:c"), None).unwrap_err();
    assert!(e.to_string().starts_with("no image named `c`"), "{e}");
}

#[test]
fn a_layout_and_the_registry_agree_on_the_identity() {
    let reg = crate::support::registry::plain();
    let env = TestEnv::new();
    let i = sample("agree");
    img::write_layout(&env.path("l"), &[LayoutEntry::Image(&i, Some("v1"))]);
    reg.push_image("agree/img", "v1", &i);
    let (local, _) = open_and_verify(&format!("oci:{}", env.path("l").display()), None).unwrap();
    let (remote, _) = open_and_verify(&format!("{}/agree/img:v1", reg.addr), None).unwrap();
    assert_eq!(local.identity(), remote.identity());
}

#[test]
fn a_tampered_layout_blob_is_caught() {
    let env = TestEnv::new();
    let i = sample("tamper");
    img::write_layout(&env.path("l"), &[LayoutEntry::Image(&i, None)]);
    let layer = env
        .path("l/blobs/sha256")
        .join(i.layers[0].digest.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&layer).unwrap();
    bytes[3] ^= 0xff;
    std::fs::write(&layer, bytes).unwrap();
    let e = open_and_verify(&format!("oci:{}", env.path("l").display()), None).unwrap_err();
    match e {
        ImageError::Integrity(IntegrityError::DigestMismatch { expected, .. }) => {
            assert_eq!(expected.to_string(), i.layers[0].digest);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_legacy_docker_archive_is_identified_by_config_and_diff_ids() {
    let env = TestEnv::new();
    let i = uncompressed("legacy");
    let file = env.path("legacy.tar");
    img::write_legacy_archive(&file, &i, "example/legacy:1.0");
    let (r, read) = open_and_verify(&format!("docker-archive:{}", file.display()), None).unwrap();
    assert!(r.manifest.is_none() && r.index.is_none());
    let id = r.identity();
    assert_eq!(id.manifest_digest, None);
    assert_eq!(id.config_digest.to_string(), i.config_digest);
    assert_eq!(
        id.diff_ids
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        i.diff_ids()
    );
    assert_eq!(
        read,
        i.layers.iter().map(|l| l.tar.len() as u64).sum::<u64>()
    );
    // Selecting by name works; another name is an error listing the names.
    let named = format!("docker-archive:{}:example/legacy:1.0", file.display());
    assert!(open_and_verify(&named, None).is_ok());
    let e =
        open_and_verify(&format!("docker-archive:{}:other:1", file.display()), None).unwrap_err();
    assert!(
        e.to_string().ends_with("(it has `example/legacy:1.0`)"),
        "{e}"
    );
}

#[test]
fn a_legacy_archive_and_the_registry_have_the_same_content() {
    let reg = crate::support::registry::plain();
    let env = TestEnv::new();
    let i = uncompressed("legacy-vs-registry");
    let file = env.path("a.tar");
    img::write_legacy_archive(&file, &i, "x:1");
    reg.push_image("legacy/vs", "1", &i);
    let (archive, _) =
        open_and_verify(&format!("docker-archive:{}", file.display()), None).unwrap();
    let (remote, _) = open_and_verify(&format!("{}/legacy/vs:1", reg.addr), None).unwrap();
    assert!(archive.identity().same_content(&remote.identity()));
    assert_ne!(
        archive.identity(),
        remote.identity(),
        "only one has a manifest"
    );
}

#[test]
fn a_newer_docker_archive_is_read_through_its_oci_layout() {
    let env = TestEnv::new();
    let i = img::build(&Spec {
        label: "oci-archive",
        layers: vec![(Compression::None, vec![("etc/hostname", b"box\n")])],
        ..Spec::default()
    });
    let file = env.path("new.tar");
    img::write_oci_archive(&file, &i, "busybox:latest");
    let (r, _) = open_and_verify(&format!("docker-archive:{}", file.display()), None).unwrap();
    assert_eq!(r.manifest.unwrap().digest.to_string(), i.manifest_digest);
    let (r, _) = open_and_verify(
        &format!("docker-archive:{}:busybox:latest", file.display()),
        None,
    )
    .unwrap();
    assert_eq!(r.config.digest.to_string(), i.config_digest);
}

#[test]
fn a_tampered_legacy_layer_is_caught_while_streaming() {
    let env = TestEnv::new();
    let mut i = uncompressed("legacy-tamper");
    // The archive carries other bytes than the config's diff_id promises.
    i.layers[1].tar[600] ^= 1;
    let file = env.path("bad.tar");
    img::write_legacy_archive(&file, &i, "bad:1");
    let e = open_and_verify(&format!("docker-archive:{}", file.display()), None).unwrap_err();
    assert!(
        matches!(
            e,
            ImageError::Integrity(IntegrityError::DigestMismatch { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn a_file_that_is_not_an_archive_or_layout_is_an_input_error() {
    let env = TestEnv::new();
    let f = env.write(
        "x.tar",
        "not a tar at all, just text that is long enough to not be a header",
    );
    let e = open_and_verify(&format!("docker-archive:{}", f.display()), None).unwrap_err();
    assert!(e.to_string().contains("is not a docker archive"), "{e}");
    std::fs::create_dir_all(env.path("empty")).unwrap();
    let e = open_and_verify(&format!("oci:{}", env.path("empty").display()), None).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("is not an OCI image layout: it has no `oci-layout` file"),
        "{e}"
    );
}
