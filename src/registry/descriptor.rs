//! OCI content descriptors (image spec 1.1 `descriptor.md`), the empty descriptor, and the
//! wire shapes of the descriptors, indexes and manifests that referrers are read from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Digest;

/// The content of the empty descriptor: `{}` (image spec 1.1, "Guidance for an Empty
/// Descriptor").
pub const EMPTY_JSON: &[u8] = b"{}";

/// A content descriptor: what a manifest or index says about content it points at. These
/// are the fields referrers need; `urls`, `data` and `platform` are not modelled (envaudit
/// neither writes nor needs them, and keeps them when it rewrites someone else's index).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the content, such as `application/vnd.oci.image.manifest.v1+json`.
    pub media_type: String,
    /// The digest of the content's bytes.
    pub digest: Digest,
    /// The size of the content in bytes.
    pub size: u64,
    /// For a descriptor of an artifact manifest: the artifact's type, such as
    /// `application/vnd.dev.sigstore.bundle.v0.3+json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations; for a referrer, those of its manifest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor of content with no artifact type and no annotations.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Self {
        Self {
            media_type: media_type.into(),
            digest,
            size,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The descriptor of `bytes` with `media_type`.
    pub fn of(media_type: impl Into<String>, bytes: &[u8]) -> Self {
        Self::new(media_type, Digest::sha256_of(bytes), bytes.len() as u64)
    }

    /// The empty descriptor: [`EMPTY_JSON`] as `application/vnd.oci.empty.v1+json`, the
    /// config of an artifact that has none.
    pub fn empty() -> Self {
        Self::of(super::media_type::OCI_EMPTY, EMPTY_JSON)
    }
}

/// A descriptor as a document holds it, every field the spec defines kept (`rest`), so
/// that an index envaudit rewrites loses nothing another tool wrote.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct DescriptorWire {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

impl From<&DescriptorWire> for Descriptor {
    fn from(w: &DescriptorWire) -> Self {
        Descriptor {
            media_type: w.media_type.clone(),
            digest: w.digest.clone(),
            size: w.size,
            artifact_type: w.artifact_type.clone().filter(|t| !t.is_empty()),
            annotations: w.annotations.clone().unwrap_or_default(),
        }
    }
}

impl From<&Descriptor> for DescriptorWire {
    fn from(d: &Descriptor) -> Self {
        DescriptorWire {
            media_type: d.media_type.clone(),
            digest: d.digest.clone(),
            size: d.size,
            artifact_type: d.artifact_type.clone(),
            annotations: (!d.annotations.is_empty()).then(|| d.annotations.clone()),
            rest: serde_json::Map::new(),
        }
    }
}

/// An OCI image index: the referrers API's answer, and the tag-schema fallback index.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct IndexWire {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<DescriptorWire>,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

impl IndexWire {
    /// An empty OCI image index.
    pub fn empty() -> Self {
        IndexWire {
            schema_version: 2,
            media_type: Some(super::media_type::OCI_INDEX.to_owned()),
            manifests: Vec::new(),
            rest: serde_json::Map::new(),
        }
    }

    /// Parse an image index. `served` is the media type it was served with; the document's
    /// own `mediaType`, when present, must be the OCI index's, and otherwise `served` must.
    pub fn parse(bytes: &[u8], served: Option<&str>) -> Result<Self, String> {
        let index: IndexWire = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if index.schema_version != 2 {
            return Err(format!(
                "`schemaVersion` is {}, not 2",
                index.schema_version
            ));
        }
        match (index.media_type.as_deref(), served) {
            (Some(super::media_type::OCI_INDEX), _)
            | (None, Some(super::media_type::OCI_INDEX)) => {}
            (Some(m), _) => return Err(format!("its `mediaType` is `{m}`")),
            (None, Some(m)) => {
                return Err(format!("it has no `mediaType` and was served as `{m}`"));
            }
            (None, None) => return Err("it has no `mediaType`".to_owned()),
        }
        Ok(index)
    }

    /// The canonical bytes envaudit writes: compact JSON, fields in the struct's order.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain maps, strings and numbers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// An OCI image manifest, as an artifact manifest is read back.
#[derive(Clone, Debug, Deserialize)]
pub(super) struct ManifestWire {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    #[serde(rename = "artifactType", default)]
    pub artifact_type: Option<String>,
    pub config: DescriptorWire,
    #[serde(default)]
    pub layers: Vec<DescriptorWire>,
    #[serde(default)]
    pub subject: Option<DescriptorWire>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The artifact manifest envaudit writes: an OCI image manifest with `artifactType`, the
/// fields in the order of the image spec's examples.
#[derive(Serialize)]
pub(super) struct ArtifactManifestOut<'a> {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType")]
    pub media_type: &'a str,
    #[serde(rename = "artifactType")]
    pub artifact_type: &'a str,
    pub config: &'a Descriptor,
    pub layers: &'a [Descriptor],
    pub subject: &'a Descriptor,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_descriptor_is_the_image_specs() {
        let e = Descriptor::empty();
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}"#
        );
    }

    #[test]
    fn an_index_keeps_fields_it_does_not_model() {
        let text = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"platform":{"os":"linux","architecture":"amd64"},"data":"e30="}],"annotations":{"a":"b"}}"#;
        let index = IndexWire::parse(text.as_bytes(), None).unwrap();
        let again = String::from_utf8(index.to_bytes()).unwrap();
        let v1: serde_json::Value = serde_json::from_str(text).unwrap();
        let v2: serde_json::Value = serde_json::from_str(&again).unwrap();
        assert_eq!(v1, v2);
    }

    #[test]
    fn an_index_must_say_it_is_an_oci_index() {
        let manifests = r#""manifests":[]"#;
        let ok = format!(r#"{{"schemaVersion":2,{manifests}}}"#);
        assert!(IndexWire::parse(ok.as_bytes(), Some(super::super::media_type::OCI_INDEX)).is_ok());
        insta::assert_snapshot!(IndexWire::parse(ok.as_bytes(), None).unwrap_err(), @"it has no `mediaType`");
        let docker = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",{manifests}}}"#
        );
        insta::assert_snapshot!(IndexWire::parse(docker.as_bytes(), None).unwrap_err(), @"its `mediaType` is `application/vnd.docker.distribution.manifest.list.v2+json`");
        let v1 = format!(r#"{{"schemaVersion":1,{manifests}}}"#);
        insta::assert_snapshot!(IndexWire::parse(v1.as_bytes(), None).unwrap_err(), @"`schemaVersion` is 1, not 2");
        let negative = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"x","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":-1}]}"#;
        assert!(IndexWire::parse(negative.as_bytes(), None).is_err());
    }
}
