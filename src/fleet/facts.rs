//! The shared layer-facts cache in a registry (`fleet scan --cache-registry REG/REPO`).
//!
//! A layer's facts (what the walk of its tar keeps: [`LayerFacts`]) are published as a small
//! OCI artifact in one repository, tagged [`facts_tag`]: `facts-v<FACTS_VERSION>-<hex of the
//! layer blob digest>`, never `sha256-<hex>`, which is the referrers fallback scheme. The
//! artifact's `artifactType` is [`FACTS_ARTIFACT_TYPE`], its config the empty descriptor, its
//! one layer the facts as zstd-compressed JSON ([`FACTS_MEDIA_TYPE`]), and its annotations
//! name the layer and the fingerprint of the walk's limits.
//!
//! The order of lookups for a layer: the local layer cache, then this cache (a hit is copied
//! into the local cache, from which the scan reads it), then the layer itself (and the facts
//! are published after the scan).
//!
//! The cache is advisory. An artifact that fails its digest, does not decode or parse, names
//! another layer or other limits, or holds partial facts is ignored with a warning; the layer
//! is read and the facts published again over it. Deleting the repository loses nothing.
//!
//! Trust: the manifest and blob digests prove the facts are what was pushed under the tag,
//! not who pushed them. Facts are as trustworthy as push rights to the cache repository. And
//! the cache shows the file lists of private repositories' layers to whoever can read it.

use std::collections::BTreeMap;
use std::io::Read as _;

use crate::layer::{FACTS_VERSION, LayerCache, LayerFacts, Limits};
use crate::model::{Digest, ImageRef};
use crate::registry::referrers::MAX_ARTIFACT_BLOB_BYTES;
use crate::registry::{
    Descriptor, EMPTY_JSON, HttpRegistry, ManifestRef, RegistryError, media_type,
};
use crate::scan::Scanner;

/// The `artifactType` of a layer-facts artifact.
pub const FACTS_ARTIFACT_TYPE: &str = "application/vnd.envaudit.layer-facts.v1";

/// The media type of its one layer: [`LayerFacts`] as JSON, zstd-compressed.
pub const FACTS_MEDIA_TYPE: &str = "application/vnd.envaudit.layer-facts.v1+json+zstd";

/// The annotation naming the layer blob digest the facts are of.
pub const LAYER_ANNOTATION: &str = "dev.envaudit.layer.digest";

/// The annotation naming the fingerprint of the walk's limits.
pub const LIMITS_ANNOTATION: &str = "dev.envaudit.layer.limits";

/// The largest decoded facts read back.
pub const MAX_DECODED_BYTES: u64 = 256 << 20;

/// The tag of a layer's facts: `facts-v<FACTS_VERSION>-<hex>`.
pub fn facts_tag(layer: &Digest) -> String {
    format!("facts-v{FACTS_VERSION}-{}", layer.hex())
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// The local cache already holds the layer's facts.
    Local,
    /// The registry cache held them; they are now in the local cache.
    Hit,
    /// Nothing there: read the layer and publish.
    Miss,
    /// Something unusable there (the reason): read the layer and publish over it.
    Unusable(String),
}

/// The layer-facts cache repository.
#[derive(Clone, Debug)]
pub struct FactsCache {
    repo: ImageRef,
}

impl FactsCache {
    /// The cache in `repo` (`REG/REPO`; a tag or digest is ignored).
    pub fn new(repo: ImageRef) -> Self {
        FactsCache { repo }
    }

    /// The repository, `REG/REPO`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.repo.registry(), self.repo.repository())
    }

    /// Looks `layer` up: in `local`, else in the registry, a hit copied into `local`.
    pub fn lookup(
        &self,
        scanner: &Scanner,
        local: &LayerCache,
        limits: &Limits,
        layer: &Digest,
    ) -> Lookup {
        if local.get(layer, limits).is_some() {
            return Lookup::Local;
        }
        match scanner.block_on(self.fetch(scanner.http(), layer, limits)) {
            Ok(None) => Lookup::Miss,
            Ok(Some(facts)) => match local.put(layer, limits, &facts) {
                Ok(_) => Lookup::Hit,
                Err(e) => Lookup::Unusable(format!("cannot write the local layer cache: {e}")),
            },
            Err(reason) => Lookup::Unusable(reason),
        }
    }

    async fn fetch(
        &self,
        http: &HttpRegistry,
        layer: &Digest,
        limits: &Limits,
    ) -> Result<Option<LayerFacts>, String> {
        let tag = facts_tag(layer);
        let digest = match http.tag_digest(&self.repo, &tag).await {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let (manifest, blobs) = http
            .pull_artifact(&self.repo, &digest, MAX_ARTIFACT_BLOB_BYTES)
            .await
            .map_err(|e| e.to_string())?;
        if manifest.artifact_type != FACTS_ARTIFACT_TYPE {
            return Err(format!(
                "`{tag}` is a `{}`, not layer facts",
                manifest.artifact_type
            ));
        }
        if manifest.annotations.get(LAYER_ANNOTATION) != Some(&layer.to_string()) {
            return Err(format!("`{tag}` names another layer"));
        }
        if manifest.annotations.get(LIMITS_ANNOTATION)
            != Some(&LayerCache::limits_fingerprint(limits))
        {
            return Err(format!("`{tag}` was made under other limits"));
        }
        let (Some(desc), Some(blob), 1) = (manifest.layers.first(), blobs.first(), blobs.len())
        else {
            return Err(format!("`{tag}` does not hold one layer"));
        };
        if desc.media_type != FACTS_MEDIA_TYPE {
            return Err(format!("`{tag}` holds a `{}`", desc.media_type));
        }
        let mut decoded = Vec::new();
        zstd::stream::read::Decoder::new(&blob[..])
            .map_err(|e| format!("`{tag}` does not decode: {e}"))?
            .take(MAX_DECODED_BYTES)
            .read_to_end(&mut decoded)
            .map_err(|e| format!("`{tag}` does not decode: {e}"))?;
        let mut facts: LayerFacts = serde_json::from_slice(&decoded)
            .map_err(|e| format!("`{tag}` does not parse as layer facts: {e}"))?;
        if facts.partial.is_some() {
            return Err(format!("`{tag}` holds partial facts"));
        }
        facts.digest = Some(layer.clone());
        Ok(Some(facts))
    }

    /// Publishes the local cache's facts of `layer` (after a scan read it). `Ok(false)` when
    /// the local cache has none (a partial walk is never cached, nor published).
    pub fn publish(
        &self,
        scanner: &Scanner,
        local: &LayerCache,
        limits: &Limits,
        layer: &Digest,
    ) -> Result<bool, RegistryError> {
        let Some(facts) = local.get(layer, limits) else {
            return Ok(false);
        };
        let json = serde_json::to_vec(&facts).map_err(|e| {
            RegistryError::InvalidArtifact(format!("cannot encode the facts of `{layer}`: {e}"))
        })?;
        let compressed = zstd::bulk::compress(&json, 3).map_err(|e| {
            RegistryError::InvalidArtifact(format!("cannot compress the facts of `{layer}`: {e}"))
        })?;
        let annotations = BTreeMap::from([
            (LAYER_ANNOTATION.to_owned(), layer.to_string()),
            (
                LIMITS_ANNOTATION.to_owned(),
                LayerCache::limits_fingerprint(limits),
            ),
        ]);
        let http = scanner.http();
        scanner.block_on(async {
            let empty = http
                .push_blob(&self.repo, media_type::OCI_EMPTY, EMPTY_JSON.into())
                .await?;
            let blob = http
                .push_blob(&self.repo, FACTS_MEDIA_TYPE, compressed.into())
                .await?;
            let manifest = manifest_json(&empty, &blob, &annotations);
            http.push_manifest(
                &self.repo,
                ManifestRef::Tag(&facts_tag(layer)),
                media_type::OCI_MANIFEST,
                manifest.into(),
            )
            .await?;
            Ok(true)
        })
    }
}

fn manifest_json(
    config: &Descriptor,
    layer: &Descriptor,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let d = |d: &Descriptor| serde_json::json!({"mediaType": d.media_type, "digest": d.digest.to_string(), "size": d.size});
    let m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "artifactType": FACTS_ARTIFACT_TYPE,
        "config": d(config),
        "layers": [d(layer)],
        "annotations": annotations,
    });
    serde_json::to_vec(&m).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_tags_are_not_referrers_fallback_tags() {
        let d = Digest::sha256_of(b"layer");
        let tag = facts_tag(&d);
        assert_eq!(tag, format!("facts-v{FACTS_VERSION}-{}", d.hex()));
        assert!(!tag.starts_with("sha256-"));
        assert!(tag.len() <= 128, "a valid tag");
        assert!(super::super::scan::is_artifact_tag(&tag));
        let m = manifest_json(
            &Descriptor::empty(),
            &Descriptor::of(FACTS_MEDIA_TYPE, b"x"),
            &BTreeMap::new(),
        );
        assert!(super::super::scan::is_not_image(&m));
    }
}
