//! Test images, assembled here: layers written as tar, tar.gz or tar.zst, configs,
//! manifests and indexes (OCI and Docker v2 schema 2), OCI layout folders and `docker save`
//! archives.

use std::io::Write;
use std::path::Path;

use sha2::Digest as _;

pub fn sha256(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        envaudit::model::to_hex(&sha2::Sha256::digest(bytes))
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// An uncompressed tar of `files` (path, content), deterministic.
pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, *content).expect("tar entry");
    }
    b.into_inner().expect("tar")
}

pub fn compress(tar: &[u8], c: Compression) -> Vec<u8> {
    match c {
        Compression::None => tar.to_vec(),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(tar).expect("gzip");
            e.finish().expect("gzip")
        }
        Compression::Zstd => zstd::encode_all(tar, 3).expect("zstd"),
    }
}

pub struct BuiltLayer {
    pub bytes: Vec<u8>,
    pub digest: String,
    pub diff_id: String,
    pub media_type: String,
    /// The uncompressed tar.
    pub tar: Vec<u8>,
}

pub struct BuiltImage {
    pub layers: Vec<BuiltLayer>,
    pub config: Vec<u8>,
    pub config_digest: String,
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
    pub manifest_media_type: String,
}

impl BuiltImage {
    pub fn diff_ids(&self) -> Vec<String> {
        self.layers.iter().map(|l| l.diff_id.clone()).collect()
    }

    /// The same layers under a config that lists `diff_ids` instead of theirs, and a manifest
    /// pointing at that config: every digest the manifest names is right, but the config's
    /// `diff_ids` (the image's identity) misdescribe the layers' content.
    pub fn with_diff_ids(mut self, diff_ids: &[String]) -> BuiltImage {
        let mut config: serde_json::Value = serde_json::from_slice(&self.config).unwrap();
        config["rootfs"]["diff_ids"] = diff_ids.into();
        self.config = serde_json::to_vec(&config).unwrap();
        self.config_digest = sha256(&self.config);
        let mut manifest: serde_json::Value = serde_json::from_slice(&self.manifest).unwrap();
        manifest["config"]["digest"] = self.config_digest.clone().into();
        manifest["config"]["size"] = self.config.len().into();
        self.manifest = serde_json::to_vec_pretty(&manifest).unwrap();
        self.manifest_digest = sha256(&self.manifest);
        self
    }
}

/// Files of a layer: path and content.
pub type Files<'a> = Vec<(&'a str, &'a [u8])>;

/// `(os, architecture, variant)`.
pub type PlatformParts = (String, String, Option<String>);

/// How to build one image.
pub struct Spec<'a> {
    pub os: &'a str,
    pub arch: &'a str,
    pub variant: Option<&'a str>,
    /// Docker v2 schema 2 media types instead of OCI ones.
    pub docker: bool,
    pub layers: Vec<(Compression, Files<'a>)>,
    /// Something to make the config unique.
    pub label: &'a str,
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Self {
            os: "linux",
            arch: "amd64",
            variant: None,
            docker: false,
            layers: vec![(Compression::Gzip, vec![("etc/os-release", b"ID=test\n")])],
            label: "",
        }
    }
}

pub fn build(spec: &Spec<'_>) -> BuiltImage {
    build_with_env(spec, &[])
}

/// [`build`], the config's `Env` set to `env` (`KEY=value` entries).
pub fn build_with_env(spec: &Spec<'_>, env: &[&str]) -> BuiltImage {
    let tars = spec
        .layers
        .iter()
        .map(|(c, files)| (*c, tar(files)))
        .collect();
    build_from_tars(spec, env, tars)
}

/// [`build_with_env`] with the layers' uncompressed streams given as bytes (which need not
/// be valid tars); `spec.layers` is not used.
pub fn build_from_tars(
    spec: &Spec<'_>,
    env: &[&str],
    tars: Vec<(Compression, Vec<u8>)>,
) -> BuiltImage {
    let layers: Vec<BuiltLayer> = tars
        .into_iter()
        .map(|(c, t)| {
            let bytes = compress(&t, c);
            let media_type = match (spec.docker, c) {
                (false, Compression::None) => "application/vnd.oci.image.layer.v1.tar",
                (false, Compression::Gzip) => "application/vnd.oci.image.layer.v1.tar+gzip",
                (false, Compression::Zstd) => "application/vnd.oci.image.layer.v1.tar+zstd",
                (true, Compression::None) => "application/vnd.docker.image.rootfs.diff.tar",
                (true, Compression::Gzip) => "application/vnd.docker.image.rootfs.diff.tar.gzip",
                (true, Compression::Zstd) => "application/vnd.docker.image.rootfs.diff.tar.zstd",
            };
            BuiltLayer {
                digest: sha256(&bytes),
                diff_id: sha256(&t),
                media_type: media_type.to_owned(),
                bytes,
                tar: t,
            }
        })
        .collect();
    let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
    let mut config = serde_json::json!({
        "architecture": spec.arch,
        "os": spec.os,
        "config": {"Labels": {"test": spec.label}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    if let Some(v) = spec.variant {
        config["variant"] = v.into();
    }
    if !env.is_empty() {
        config["config"]["Env"] = env.into();
    }
    let config = serde_json::to_vec(&config).expect("config");
    let config_digest = sha256(&config);
    let (manifest_media_type, config_media_type) = if spec.docker {
        (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.container.image.v1+json",
        )
    } else {
        (
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.config.v1+json",
        )
    };
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": manifest_media_type,
        "config": {"mediaType": config_media_type, "digest": config_digest, "size": config.len()},
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": l.media_type, "digest": l.digest, "size": l.bytes.len()
        })).collect::<Vec<_>>(),
    });
    let manifest = serde_json::to_vec_pretty(&manifest).expect("manifest");
    BuiltImage {
        manifest_digest: sha256(&manifest),
        manifest,
        manifest_media_type: manifest_media_type.to_owned(),
        layers,
        config,
        config_digest,
    }
}

pub struct BuiltIndex {
    pub images: Vec<(BuiltImage, PlatformParts)>,
    pub bytes: Vec<u8>,
    pub digest: String,
    pub media_type: String,
}

/// An index (or Docker manifest list) over images, each with its platform; an attestation
/// entry (`unknown/unknown`) is added as buildkit does, which resolution must skip.
pub fn index(images: Vec<BuiltImage>, docker: bool) -> BuiltIndex {
    let media_type = if docker {
        "application/vnd.docker.distribution.manifest.list.v2+json"
    } else {
        "application/vnd.oci.image.index.v1+json"
    };
    let images: Vec<(BuiltImage, PlatformParts)> = images
        .into_iter()
        .map(|i| {
            let c: serde_json::Value = serde_json::from_slice(&i.config).expect("config json");
            let p = (
                c["os"].as_str().unwrap_or("").to_owned(),
                c["architecture"].as_str().unwrap_or("").to_owned(),
                c["variant"].as_str().map(str::to_owned),
            );
            (i, p)
        })
        .collect();
    let mut entries: Vec<serde_json::Value> = images
        .iter()
        .map(|(i, (os, arch, variant))| {
            let mut platform = serde_json::json!({"os": os, "architecture": arch});
            if let Some(v) = variant {
                platform["variant"] = v.clone().into();
            }
            serde_json::json!({
                "mediaType": i.manifest_media_type,
                "digest": i.manifest_digest,
                "size": i.manifest.len(),
                "platform": platform,
            })
        })
        .collect();
    if !docker {
        // Points at the first image's manifest: only its platform matters here.
        let first = &images[0].0;
        entries.push(serde_json::json!({
            "mediaType": first.manifest_media_type,
            "digest": first.manifest_digest,
            "size": first.manifest.len(),
            "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
        }));
    }
    let bytes = serde_json::to_vec_pretty(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": entries,
    }))
    .expect("index");
    BuiltIndex {
        digest: sha256(&bytes),
        bytes,
        media_type: media_type.to_owned(),
        images,
    }
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").expect("sha256 digest")
}

/// Write blobs into `blobs/sha256/` under `root` (a folder).
fn write_blob(root: &Path, bytes: &[u8]) {
    let p = root.join("blobs/sha256").join(hex(&sha256(bytes)));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn write_image_blobs(root: &Path, i: &BuiltImage) {
    for l in &i.layers {
        write_blob(root, &l.bytes);
    }
    write_blob(root, &i.config);
    write_blob(root, &i.manifest);
}

/// An entry of a layout's `index.json`.
pub enum LayoutEntry<'a> {
    Image(&'a BuiltImage, Option<&'a str>),
    Index(&'a BuiltIndex, Option<&'a str>),
}

/// Write an OCI image layout folder.
pub fn write_layout(root: &Path, entries: &[LayoutEntry<'_>]) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut manifests = Vec::new();
    for e in entries {
        let (mt, digest, size, name) = match e {
            LayoutEntry::Image(i, name) => {
                write_image_blobs(root, i);
                (
                    &i.manifest_media_type,
                    &i.manifest_digest,
                    i.manifest.len(),
                    name,
                )
            }
            LayoutEntry::Index(x, name) => {
                for (i, _) in &x.images {
                    write_image_blobs(root, i);
                }
                write_blob(root, &x.bytes);
                (&x.media_type, &x.digest, x.bytes.len(), name)
            }
        };
        let mut m = serde_json::json!({"mediaType": mt, "digest": digest, "size": size});
        if let Some(n) = name {
            m["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": n});
        }
        manifests.push(m);
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

fn append(b: &mut tar::Builder<std::fs::File>, path: &str, bytes: &[u8]) {
    let mut h = tar::Header::new_ustar();
    h.set_size(bytes.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, bytes).unwrap();
}

/// A legacy `docker save` archive: `manifest.json`, `HEX.json` config, `ID/layer.tar`
/// (uncompressed); a repeated layer is written as a symlink, as docker does.
pub fn write_legacy_archive(file: &Path, image: &BuiltImage, repo_tag: &str) {
    let mut b = tar::Builder::new(std::fs::File::create(file).unwrap());
    let mut layer_paths: Vec<String> = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for (n, l) in image.layers.iter().enumerate() {
        let id = format!("{:064x}", n + 1);
        let path = format!("{id}/layer.tar");
        if let Some((_, first)) = seen.iter().find(|(d, _)| *d == l.diff_id) {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            h.set_mode(0o644);
            b.append_link(&mut h, &path, format!("../{first}")).unwrap();
        } else {
            append(&mut b, &path, &l.tar);
            seen.push((l.diff_id.clone(), path.clone()));
        }
        layer_paths.push(path);
    }
    // Legacy configs carry the uncompressed diff_ids, as the image's own config does.
    let config_name = format!("{}.json", hex(&image.config_digest));
    append(&mut b, &config_name, &image.config);
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": [repo_tag],
        "Layers": layer_paths,
    }]);
    append(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    b.finish().unwrap();
}

/// A `docker save` archive as Docker 25+ writes it: an OCI layout inside the tar (blobs,
/// `index.json`, `oci-layout`) plus the legacy `manifest.json`. The image's layers must be
/// uncompressed, as docker saves them.
pub fn write_oci_archive(file: &Path, image: &BuiltImage, name: &str) {
    let mut b = tar::Builder::new(std::fs::File::create(file).unwrap());
    append(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    for l in &image.layers {
        append(
            &mut b,
            &format!("blobs/sha256/{}", hex(&l.digest)),
            &l.bytes,
        );
    }
    append(
        &mut b,
        &format!("blobs/sha256/{}", hex(&image.config_digest)),
        &image.config,
    );
    append(
        &mut b,
        &format!("blobs/sha256/{}", hex(&image.manifest_digest)),
        &image.manifest,
    );
    let tag = name.rsplit_once(':').map_or("latest", |(_, t)| t);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": image.manifest_media_type,
            "digest": image.manifest_digest,
            "size": image.manifest.len(),
            "annotations": {
                "io.containerd.image.name": format!("docker.io/library/{name}"),
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    });
    append(&mut b, "index.json", &serde_json::to_vec(&index).unwrap());
    let manifest = serde_json::json!([{
        "Config": format!("blobs/sha256/{}", hex(&image.config_digest)),
        "RepoTags": [name],
        "Layers": image.layers.iter().map(|l| format!("blobs/sha256/{}", hex(&l.digest))).collect::<Vec<_>>(),
    }]);
    append(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    b.finish().unwrap();
}
