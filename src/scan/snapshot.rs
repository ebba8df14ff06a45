//! Making a [`Snapshot`] from what `lock` observed: the definition and its hash, the image
//! and the catalog of what is installed.

use std::path::{Component, Path, PathBuf};

use crate::catalog::{Catalog, Details};
use crate::definition::EnvDefinition;
use crate::hash::HashReport;
use crate::image::ResolvedImage;
use crate::lockfile::{
    AzuremlV1Image, Declared, FileRecord, LockedPackage, LockedRequirement, Prefix, Snapshot,
};
use crate::model::Digest;

/// What a snapshot is made of.
pub struct Observed<'a> {
    /// The definition and its hash; `None` for an image or folder compared on its own
    /// (`envaudit drift IMAGE IMAGE`).
    pub definition: Option<(&'a EnvDefinition, &'a HashReport)>,
    /// The folder of the lockfile: paths are recorded relative to it.
    pub lockfile_dir: &'a Path,
    /// The image reference as written, with what it resolved to.
    pub image: Option<(&'a str, &'a ResolvedImage)>,
    /// The manifest digest of the resolved base image; `None` when it was not resolved, in
    /// which case a digest pinned in the definition's base image reference is recorded.
    pub base_image_digest: Option<Digest>,
    /// How many of the image's bottom layers are the base image's; `None` when unknown or
    /// when the image does not start with them.
    pub base_layers: Option<usize>,
    /// The live filesystem read instead of layers.
    pub rootfs: Option<&'a Path>,
    /// What the catalogers found installed.
    pub catalog: &'a Catalog,
}

/// The declarations of a definition as a snapshot records them: its conda list, then its pip
/// list, as written.
pub fn declared_of(def: &crate::definition::EnvDefinition) -> Vec<Declared> {
    def.conda_dependencies
        .iter()
        .chain(&def.pip_dependencies)
        .map(|d| Declared {
            ecosystem: d.ecosystem,
            name: d.name.clone(),
            spec: d.raw.clone(),
            pin: d.pin.state,
        })
        .collect()
}

/// The snapshot of what was observed, sealed (sorted, with its id).
pub fn snapshot(o: &Observed<'_>) -> Snapshot {
    let mut files = Vec::new();
    let mut declared = Vec::new();
    if let Some((def, _)) = o.definition {
        let mut add_file = |p: &Path| {
            if let Ok(bytes) = std::fs::read(p) {
                files.push(FileRecord {
                    path: relative_to(p, o.lockfile_dir),
                    blob: git_blob_id(&bytes),
                });
            }
        };
        if def.path.is_file() {
            add_file(&def.path);
        }
        if let Some(c) = &def.conda_file {
            add_file(c);
        }
        if let Some(d) = &def.dockerfile {
            add_file(&d.path);
        }
        for i in &def.includes {
            if let Some(p) = &i.resolved {
                add_file(p);
            }
        }
        files.dedup();
        declared = declared_of(def);
    }
    let def = o.definition.map(|(d, _)| d);
    let hash = o.definition.map(|(_, h)| h);
    let image_platform = o
        .image
        .and_then(|(_, r)| r.platform.as_ref().map(ToString::to_string));
    let mut snapshot = Snapshot {
        id: String::new(),
        definition: def
            .map(|d| relative_to(&d.path, o.lockfile_dir))
            .unwrap_or_default(),
        definition_kind: def.map(|d| d.kind),
        definition_hash: hash.map_or_else(|| Digest::sha256_of(b""), |h| h.definition_hash.clone()),
        definition_files: files,
        azureml_v2_anonymous_version: hash.and_then(|h| h.azureml_v2_anonymous_version.clone()),
        azureml_v1_image: hash
            .and_then(|h| h.azureml_v1_image.as_ref())
            .map(|d| AzuremlV1Image {
                name: d.image_name.clone(),
                hash: d.image_hash.clone(),
            }),
        image: o.image.map(|(r, _)| r.to_owned()),
        image_index: o
            .image
            .and_then(|(_, r)| r.index.as_ref().map(|d| d.digest.clone())),
        image_manifest: o
            .image
            .and_then(|(_, r)| r.manifest.as_ref().map(|d| d.digest.clone())),
        image_config: o.image.map(|(_, r)| r.config.digest.clone()),
        image_platform: image_platform.clone(),
        image_layers: o
            .image
            .map(|(_, r)| r.layers.iter().map(|l| l.diff_id.clone()).collect())
            .unwrap_or_default(),
        base_image: def
            .and_then(|d| d.base_image.as_ref())
            .map(|b| b.reference.clone()),
        base_image_digest: o.base_image_digest.clone().or_else(|| {
            def.and_then(|d| d.base_image.as_ref())
                .and_then(|b| b.image.as_ref())
                .and_then(|i| i.digest().cloned())
        }),
        base_layers: o.base_layers.map(|n| n as u64),
        rootfs: o.rootfs.map(|p| p.display().to_string()),
        os: o.catalog.distro.as_ref().map(|d| match &d.version_id {
            Some(v) => format!("{} {v}", d.id),
            None => d.id.clone(),
        }),
        completeness: o.catalog.completeness.clone(),
        declared,
        prefixes: prefixes(o.catalog, image_platform.as_deref()),
        packages: o.catalog.packages.iter().map(package).collect(),
    };
    snapshot.seal();
    snapshot
}

fn prefixes(catalog: &Catalog, image_platform: Option<&str>) -> Vec<Prefix> {
    catalog
        .environments
        .iter()
        .map(|e| {
            let in_prefix = |p: &&crate::catalog::InstalledPackage| {
                p.environment.as_deref() == Some(e.prefix.as_str())
            };
            let subdir = catalog
                .packages
                .iter()
                .filter(in_prefix)
                .find_map(|p| match &p.details {
                    Details::Conda(c) => c.subdir.clone().filter(|s| s != "noarch"),
                    _ => None,
                });
            Prefix {
                path: e.prefix.clone(),
                kind: e.kind,
                // The catalog takes it from `pyvenv.cfg` or the prefix's conda `python`.
                python: e.python_version.clone(),
                platform: subdir.or_else(|| image_platform.map(str::to_owned)),
            }
        })
        .collect()
}

fn package(p: &crate::catalog::InstalledPackage) -> LockedPackage {
    let (build, channel) = match &p.details {
        Details::Conda(c) => (c.build.clone(), c.channel.as_deref().map(short_channel)),
        _ => (None, None),
    };
    let hex = |h: &Option<String>| {
        h.as_ref()
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let (url, sha256, md5, record) = match &p.details {
        Details::Conda(c) => (c.url.clone(), hex(&c.sha256), hex(&c.md5), None),
        Details::Python(d) => (None, archive_sha256(d), None, d.record_sha256.clone()),
        Details::Deb(d) => (None, None, None, d.md5sums_sha256.clone()),
        Details::Apk(_) => (None, None, None, None),
    };
    LockedPackage {
        ecosystem: p.ecosystem,
        name: p.name.clone(),
        version: p.version.clone(),
        build,
        channel,
        python_dist: p.linked.as_ref().map(|l| l.name.clone()),
        prefix: p.environment.clone(),
        licenses: p.licenses.clone(),
        base: p.location.layer.as_ref().and_then(|l| l.from_base),
        requires: LockedRequirement::all(p.requires.iter().cloned()),
        url,
        sha256,
        md5,
        record,
    }
}

/// The archive's SHA-256 that pip recorded for a distribution installed from a URL
/// (`direct_url.json` `archive_info.hashes`).
fn archive_sha256(d: &crate::catalog::PythonDetails) -> Option<String> {
    match &d.direct_url.as_ref()?.kind {
        crate::catalog::DirectUrlKind::Archive { hash: Some(h) } => h
            .strip_prefix("sha256=")
            .or_else(|| h.strip_prefix("sha256:"))
            .filter(|x| x.len() == 64 && x.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase),
        _ => None,
    }
}

/// `https://conda.anaconda.org/conda-forge/linux-64` → `conda-forge`; other URLs keep their
/// address without the subdir.
fn short_channel(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let without_subdir = match trimmed.rsplit_once('/') {
        Some((rest, last))
            if last == "noarch"
                || last.starts_with("linux-")
                || last.starts_with("osx-")
                || last.starts_with("win-") =>
        {
            rest
        }
        _ => trimmed,
    };
    for prefix in [
        "https://conda.anaconda.org/",
        "http://conda.anaconda.org/",
        "https://repo.anaconda.com/pkgs/",
    ] {
        if let Some(name) = without_subdir.strip_prefix(prefix) {
            return name.to_owned();
        }
    }
    without_subdir.to_owned()
}

/// The git blob id of `bytes` (what `git hash-object` prints).
pub fn git_blob_id(bytes: &[u8]) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map(|o| o.to_string())
        .unwrap_or_default()
}

/// `path` relative to `base`, `/`-separated (`..` where needed); absolute when they share
/// no root.
pub fn relative_to(path: &Path, base: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let path = normalize(&abs(path));
    let base = normalize(&abs(base));
    let p: Vec<Component<'_>> = path.components().collect();
    let b: Vec<Component<'_>> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return slashes(&path);
    }
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &p[common..] {
        rel.push(c.as_os_str());
    }
    if rel.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        slashes(&rel)
    }
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn slashes(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(Path::new("/a/b/c.yml"), Path::new("/a")),
            "b/c.yml"
        );
        assert_eq!(
            relative_to(Path::new("/a/b/c.yml"), Path::new("/a/d")),
            "../b/c.yml"
        );
        assert_eq!(
            relative_to(Path::new("/a/./b/../c.yml"), Path::new("/a/")),
            "c.yml"
        );
        assert_eq!(relative_to(Path::new("/a"), Path::new("/a")), ".");
    }

    #[test]
    fn blob_ids_are_git_s() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_id(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }

    #[test]
    fn channels_are_short() {
        assert_eq!(
            short_channel("https://conda.anaconda.org/conda-forge/linux-64"),
            "conda-forge"
        );
        assert_eq!(
            short_channel("https://repo.anaconda.com/pkgs/main/noarch"),
            "main"
        );
        assert_eq!(
            short_channel("https://example.org/chan/linux-64/"),
            "https://example.org/chan"
        );
        assert_eq!(short_channel("conda-forge"), "conda-forge");
    }
}
