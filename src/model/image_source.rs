use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{ImageRef, ImageRefError};

/// Where an image is read from. One syntax for every command:
///
/// - `[REGISTRY/]REPOSITORY[:TAG][@DIGEST]` (or `docker://…`): a registry, see [`ImageRef`];
/// - `oci:DIR[:TAG]`: an OCI image layout directory, the manifest whose
///   `org.opencontainers.image.ref.name` annotation is `TAG` (or the only one);
/// - `docker-archive:FILE[:NAME:TAG]`: a `docker save` tar, the image tagged `NAME:TAG` in it
///   (or the only one).
///
/// As in skopeo, the path ends at the first `:` after the transport prefix.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ImageSource {
    /// An image in a registry, reached over the OCI distribution API.
    Registry(ImageRef),
    /// An OCI image layout directory on disk (`oci:DIR[:TAG]`).
    OciLayout {
        /// The layout's root, the folder that holds `index.json` and `blobs/`.
        dir: PathBuf,
        /// The `org.opencontainers.image.ref.name` to pick; `None` when the layout must hold
        /// only one image.
        tag: Option<String>,
    },
    /// A `docker save` tar file (`docker-archive:FILE[:NAME:TAG]`).
    DockerArchive {
        /// The tar file.
        file: PathBuf,
        /// The tag of the image to pick in the archive; `None` when it must hold only one image.
        image: Option<ImageRef>,
    },
}

const OCI: &str = "oci:";
const DOCKER_ARCHIVE: &str = "docker-archive:";
const DOCKER: &str = "docker://";

impl ImageSource {
    /// The registry reference, for a registry source.
    pub fn image_ref(&self) -> Option<&ImageRef> {
        match self {
            ImageSource::Registry(r) => Some(r),
            _ => None,
        }
    }

    /// The local file or folder, for a layout or archive source.
    pub fn path(&self) -> Option<&Path> {
        match self {
            ImageSource::Registry(_) => None,
            ImageSource::OciLayout { dir, .. } => Some(dir),
            ImageSource::DockerArchive { file, .. } => Some(file),
        }
    }
}

fn err(reference: &str, offset: usize, reason: &'static str) -> ImageRefError {
    ImageRefError {
        reference: reference.to_owned(),
        offset,
        reason,
    }
}

/// Re-anchor an error from a part of `s` that starts at byte `start`.
fn shifted(s: &str, start: usize, mut e: ImageRefError) -> ImageRefError {
    s.clone_into(&mut e.reference);
    e.offset += start;
    e
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl FromStr for ImageSource {
    type Err = ImageRefError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix(OCI) {
            let (dir, tag) = match rest.split_once(':') {
                Some((d, t)) => (d, Some(t)),
                None => (rest, None),
            };
            if dir.is_empty() {
                return Err(err(s, OCI.len(), "missing layout directory after `oci:`"));
            }
            if let Some(tag) = tag
                && !valid_tag(tag)
            {
                return Err(err(
                    s,
                    OCI.len() + dir.len() + 1,
                    "tag must be 1-128 of [A-Za-z0-9_.-], not starting with `.` or `-`",
                ));
            }
            return Ok(ImageSource::OciLayout {
                dir: PathBuf::from(dir),
                tag: tag.map(str::to_owned),
            });
        }
        if let Some(rest) = s.strip_prefix(DOCKER_ARCHIVE) {
            let (file, image) = match rest.split_once(':') {
                Some((f, i)) => (f, Some(i)),
                None => (rest, None),
            };
            if file.is_empty() {
                return Err(err(
                    s,
                    DOCKER_ARCHIVE.len(),
                    "missing archive file after `docker-archive:`",
                ));
            }
            let image = match image {
                Some(i) => {
                    let start = DOCKER_ARCHIVE.len() + file.len() + 1;
                    Some(i.parse::<ImageRef>().map_err(|e| shifted(s, start, e))?)
                }
                None => None,
            };
            return Ok(ImageSource::DockerArchive {
                file: PathBuf::from(file),
                image,
            });
        }
        if let Some(rest) = s.strip_prefix(DOCKER) {
            return rest
                .parse()
                .map(ImageSource::Registry)
                .map_err(|e| shifted(s, DOCKER.len(), e));
        }
        s.parse().map(ImageSource::Registry)
    }
}

impl fmt::Display for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `oci:5000/x` is a registry `oci` on port 5000 to the parser only with
            // `docker://` in front.
            ImageSource::Registry(r)
                if r.registry().starts_with("oci:")
                    || r.registry().starts_with("docker-archive:") =>
            {
                write!(f, "{DOCKER}{r}")
            }
            ImageSource::Registry(r) => write!(f, "{r}"),
            ImageSource::OciLayout { dir, tag } => {
                write!(f, "{OCI}{}", dir.display())?;
                if let Some(t) = tag {
                    write!(f, ":{t}")?;
                }
                Ok(())
            }
            ImageSource::DockerArchive { file, image } => {
                write!(f, "{DOCKER_ARCHIVE}{}", file.display())?;
                if let Some(i) = image {
                    write!(f, ":{i}")?;
                }
                Ok(())
            }
        }
    }
}

super::serde_via_string!(ImageSource, ImageRefError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_references_are_the_default_transport() {
        let s: ImageSource = "python:3.10".parse().unwrap();
        assert_eq!(s.to_string(), "docker.io/library/python:3.10");
        let s: ImageSource = "docker://python:3.10".parse().unwrap();
        assert_eq!(s.to_string(), "docker.io/library/python:3.10");
    }

    #[test]
    fn oci_layouts_take_an_optional_tag() {
        let s: ImageSource = "oci:/tmp/layout:v1".parse().unwrap();
        assert_eq!(
            s,
            ImageSource::OciLayout {
                dir: "/tmp/layout".into(),
                tag: Some("v1".into())
            }
        );
        let s: ImageSource = "oci:layout".parse().unwrap();
        assert_eq!(s.to_string(), "oci:layout");
        assert_eq!(s.path(), Some(Path::new("layout")));
    }

    #[test]
    fn docker_archives_take_an_optional_image_name() {
        let s: ImageSource = "docker-archive:img.tar".parse().unwrap();
        assert_eq!(s.to_string(), "docker-archive:img.tar");
        let s: ImageSource = "docker-archive:img.tar:python:3.10".parse().unwrap();
        assert_eq!(
            s.to_string(),
            "docker-archive:img.tar:docker.io/library/python:3.10"
        );
    }

    #[test]
    fn a_registry_named_like_a_transport_prints_with_docker_prefix() {
        let s: ImageSource = "docker://oci:5000/x:1".parse().unwrap();
        assert_eq!(s.to_string(), "docker://oci:5000/x:1");
        assert_eq!(s.to_string().parse::<ImageSource>().unwrap(), s);
        assert!(matches!(
            "oci:5000/x".parse(),
            Ok(ImageSource::OciLayout { .. })
        ));
    }

    #[test]
    fn errors_point_into_the_reference() {
        let e = "oci:".parse::<ImageSource>().unwrap_err();
        assert_eq!(e.offset, 4);
        let e = "oci:dir:-bad".parse::<ImageSource>().unwrap_err();
        assert_eq!(e.offset, 8);
        let e = "docker-archive:a.tar:Bad/x"
            .parse::<ImageSource>()
            .unwrap_err();
        assert_eq!(e.offset, 21);
        let e = "docker://Python".parse::<ImageSource>().unwrap_err();
        assert_eq!(e.offset, 9);
        insta::assert_snapshot!(e, @"invalid image reference `docker://Python`: repository path components are lowercase letters, digits and separators (`.`, `_`, `-`) (at column 10)");
    }
}
