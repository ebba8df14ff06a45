//! in-toto Statement v1 and the SLSA Provenance v1 predicate.
//!
//! A statement says something (the *predicate*, of a *predicate type*) about *subjects*, each
//! a [`ResourceDescriptor`] with digests:
//!
//! ```json
//! {"_type": "https://in-toto.io/Statement/v1",
//!  "subject": [{"name": "...", "digest": {"sha256": "..."}}],
//!  "predicateType": "https://slsa.dev/provenance/v1",
//!  "predicate": {...}}
//! ```
//!
//! [`Statement::to_json`] is canonical: compact JSON with every object's keys sorted by
//! code point and `serde_json`'s escapes, so the same statement gives the same bytes, and a
//! statement read back from those bytes writes them again. Its [`digest`](Statement::digest)
//! is the sha256 of those bytes: the identity of "the same statement" when attesting again.
//!
//! Statements read back from envelopes are untrusted: [`Statement::from_json`] reads at
//! most [`MAX_STATEMENT_BYTES`] and [`MAX_SUBJECTS`] subjects, and checks what
//! in-toto's own validators check (the `_type`, a digest on every subject, a predicate type
//! and a predicate object).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::dsse::{Envelope, Verified};
use super::keys::{SignatureError, SigningKey};
use crate::model::{Digest, DigestAlgorithm};

/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The predicate type of SLSA Provenance v1 ([`Provenance`]).
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// The largest statement read: the envelope's limit.
pub const MAX_STATEMENT_BYTES: usize = super::dsse::MAX_ENVELOPE_BYTES;

/// The most subjects a statement read may have.
pub const MAX_SUBJECTS: usize = 4096;

/// Why a statement could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    /// The statement is larger than [`MAX_STATEMENT_BYTES`].
    #[error("the statement is {size} bytes, more than the {max} read")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The JSON is malformed, or a field has the wrong type.
    #[error("malformed in-toto statement")]
    Malformed {
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The envelope's payload type is not [`PAYLOAD_TYPE`].
    #[error("the payload type is `{found}`, not `{PAYLOAD_TYPE}`")]
    WrongPayloadType {
        /// The payload type found.
        found: String,
    },
    /// `_type` is not [`STATEMENT_TYPE`].
    #[error("`_type` is `{found}`, not `{STATEMENT_TYPE}`")]
    WrongType {
        /// The `_type` found.
        found: String,
    },
    /// The statement has no subject.
    #[error("the statement has no subject")]
    NoSubject,
    /// More than [`MAX_SUBJECTS`] subjects.
    #[error("the statement has {count} subjects, more than the {max} read")]
    TooManySubjects {
        /// How many it has.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A subject has no digest (in-toto v1 requires one).
    #[error("subject {index} has no digest")]
    SubjectWithoutDigest {
        /// Its index.
        index: usize,
    },
    /// A digest of a known algorithm is not its lowercase hex.
    #[error("subject {index}: the `{algorithm}` digest is not lowercase hex of the right length")]
    BadDigest {
        /// The subject's index.
        index: usize,
        /// The algorithm (`sha256`, `sha512`).
        algorithm: String,
    },
    /// The predicate type is empty.
    #[error("the statement has no predicate type")]
    NoPredicateType,
    /// The predicate is missing, not an object, or empty.
    #[error("the predicate is not a non-empty JSON object")]
    BadPredicate,
    /// The predicate is not the structure of its type.
    #[error("the predicate is not a valid `{predicate_type}`")]
    PredicateShape {
        /// The statement's predicate type.
        predicate_type: String,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
}

/// An in-toto Statement v1: subjects, a predicate type and a predicate. Always valid: every
/// constructor checks the rules [`Statement::from_json`] documents.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    subject: Vec<ResourceDescriptor>,
    predicate_type: String,
    predicate: Map<String, Value>,
}

impl Statement {
    /// A statement about `subject` with the predicate `predicate` (serialised; it must be a
    /// non-empty JSON object) of `predicate_type`.
    pub fn new(
        subject: Vec<ResourceDescriptor>,
        predicate_type: impl Into<String>,
        predicate: &impl Serialize,
    ) -> Result<Self, StatementError> {
        let predicate_type = predicate_type.into();
        let predicate = match serde_json::to_value(predicate) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(StatementError::BadPredicate),
            Err(source) => {
                return Err(StatementError::PredicateShape {
                    predicate_type,
                    source,
                });
            }
        };
        let statement = Statement {
            subject,
            predicate_type,
            predicate,
        };
        statement.validate()?;
        Ok(statement)
    }

    /// The subjects.
    pub fn subject(&self) -> &[ResourceDescriptor] {
        &self.subject
    }

    /// The predicate type URI.
    pub fn predicate_type(&self) -> &str {
        &self.predicate_type
    }

    /// The predicate as JSON.
    pub fn predicate(&self) -> &Map<String, Value> {
        &self.predicate
    }

    /// The predicate read as `T`, e.g. [`Provenance`].
    pub fn predicate_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, StatementError> {
        serde_json::from_value(Value::Object(self.predicate.clone())).map_err(|source| {
            StatementError::PredicateShape {
                predicate_type: self.predicate_type.clone(),
                source,
            }
        })
    }

    /// The canonical JSON of the statement (see the module documentation).
    pub fn to_json(&self) -> Vec<u8> {
        let value = serde_json::json!({
            "_type": STATEMENT_TYPE,
            "subject": self.subject,
            "predicateType": self.predicate_type,
            "predicate": self.predicate,
        });
        let mut out = Vec::new();
        write_canonical(&value, &mut out);
        out
    }

    /// The sha256 of [`to_json`](Self::to_json): equal statements have equal digests.
    pub fn digest(&self) -> Digest {
        Digest::sha256_of(&self.to_json())
    }

    /// Signs the statement: a DSSE envelope of [`PAYLOAD_TYPE`] over [`to_json`](Self::to_json).
    pub fn sign(&self, key: &SigningKey) -> Result<Envelope, SignatureError> {
        Envelope::sign(PAYLOAD_TYPE, self.to_json(), key)
    }

    /// Reads the statement of a verified envelope, whose payload type must be
    /// [`PAYLOAD_TYPE`].
    pub fn from_verified(verified: &Verified<'_>) -> Result<Self, StatementError> {
        if verified.payload_type != PAYLOAD_TYPE {
            return Err(StatementError::WrongPayloadType {
                found: verified.payload_type.to_owned(),
            });
        }
        Self::from_json(verified.payload)
    }

    /// Reads a statement from untrusted JSON: at most [`MAX_STATEMENT_BYTES`] and
    /// [`MAX_SUBJECTS`] subjects; `_type` must be [`STATEMENT_TYPE`], every subject must have
    /// a digest (sha256 and sha512 ones lowercase hex of their length), and the predicate
    /// type and predicate (an object) must be there. Unknown fields are ignored, as in-toto
    /// asks of consumers.
    pub fn from_json(json: &[u8]) -> Result<Self, StatementError> {
        if json.len() > MAX_STATEMENT_BYTES {
            return Err(StatementError::TooLarge {
                size: json.len(),
                max: MAX_STATEMENT_BYTES,
            });
        }
        let wire: StatementWire =
            serde_json::from_slice(json).map_err(|source| StatementError::Malformed { source })?;
        if wire.type_ != STATEMENT_TYPE {
            return Err(StatementError::WrongType { found: wire.type_ });
        }
        let statement = Statement {
            subject: wire.subject,
            predicate_type: wire.predicate_type,
            predicate: match wire.predicate {
                Some(Value::Object(map)) => map,
                _ => return Err(StatementError::BadPredicate),
            },
        };
        statement.validate()?;
        Ok(statement)
    }

    fn validate(&self) -> Result<(), StatementError> {
        if self.subject.is_empty() {
            return Err(StatementError::NoSubject);
        }
        if self.subject.len() > MAX_SUBJECTS {
            return Err(StatementError::TooManySubjects {
                count: self.subject.len(),
                max: MAX_SUBJECTS,
            });
        }
        for (index, s) in self.subject.iter().enumerate() {
            if s.digest.is_empty() {
                return Err(StatementError::SubjectWithoutDigest { index });
            }
            if let Some(algorithm) = s.bad_digest() {
                return Err(StatementError::BadDigest {
                    index,
                    algorithm: algorithm.to_owned(),
                });
            }
        }
        if self.predicate_type.is_empty() {
            return Err(StatementError::NoPredicateType);
        }
        if self.predicate.is_empty() {
            return Err(StatementError::BadPredicate);
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct StatementWire {
    #[serde(rename = "_type")]
    type_: String,
    #[serde(default)]
    subject: Vec<ResourceDescriptor>,
    #[serde(rename = "predicateType", default)]
    predicate_type: String,
    #[serde(default)]
    predicate: Option<Value>,
}

/// Writes `value` as compact JSON with object keys sorted by code point (Rust's `str`
/// order, which for UTF-8 is code point order). Independent of whether `serde_json` keeps
/// insertion order.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k).expect("a string serialises");
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("a scalar serialises"),
    }
}

/// An in-toto `ResourceDescriptor` v1: a resource by name, URI and digests. in-toto requires at
/// least one of `name`, `uri` and `digest`; a statement's subjects require `digest`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    /// A name for the resource, e.g. a file name or an image reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A URI that identifies the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digests by algorithm name (`sha256`, `sha512`, `gitCommit`, ...): in-toto's
    /// `DigestSet`, lowercase hex for the SHA families.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// The resource's content itself (base64 in JSON), for small resources.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "base64_bytes"
    )]
    pub content: Option<Vec<u8>>,
    /// Where the resource can be downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
    /// The media type of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Other information about the resource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, Value>,
}

impl ResourceDescriptor {
    /// A descriptor of `name` with `digest` (its algorithm's entry in the digest set).
    pub fn with_digest(name: impl Into<String>, digest: &Digest) -> Self {
        ResourceDescriptor {
            name: Some(name.into()),
            digest: BTreeMap::from([(
                digest.algorithm().name().to_owned(),
                digest.hex().to_owned(),
            )]),
            ..ResourceDescriptor::default()
        }
    }

    /// The digest of `algorithm` in the digest set, if there is one and it is well-formed.
    pub fn digest_of(&self, algorithm: DigestAlgorithm) -> Option<Digest> {
        let hex = self.digest.get(algorithm.name())?;
        format!("{}:{hex}", algorithm.name()).parse().ok()
    }

    /// Whether the digest set has `digest`'s algorithm with `digest`'s value.
    pub fn matches(&self, digest: &Digest) -> bool {
        self.digest_of(digest.algorithm()).as_ref() == Some(digest)
    }

    /// The first sha256 or sha512 entry that is not lowercase hex of its length.
    fn bad_digest(&self) -> Option<&str> {
        [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512]
            .into_iter()
            .find(|a| self.digest.contains_key(a.name()) && self.digest_of(*a).is_none())
            .map(DigestAlgorithm::name)
    }
}

/// `Option<Vec<u8>>` as base64 (standard, padded; read in either alphabet).
mod base64_bytes {
    use serde::{Deserialize as _, Deserializer, Serializer};

    #[allow(clippy::ref_option, reason = "the signature serde's `with` calls")]
    pub(super) fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => s.serialize_str(&super::super::encode_base64(bytes)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| {
                super::super::decode_base64(&s)
                    .ok_or_else(|| serde::de::Error::custom("`content` is not base64"))
            })
            .transpose()
    }
}

/// A SLSA Provenance v1 predicate (`https://slsa.dev/provenance/v1`): how an artifact was
/// built (the definition) and by whom (the run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// The inputs of the build.
    pub build_definition: BuildDefinition,
    /// The details of this run of the build.
    pub run_details: RunDetails,
}

impl Provenance {
    /// Its predicate type, [`SLSA_PROVENANCE_V1`].
    pub const PREDICATE_TYPE: &'static str = SLSA_PROVENANCE_V1;
}

/// SLSA's `buildDefinition`: everything that decides what the build produces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// A URI naming the template of the build (what the parameters mean).
    pub build_type: String,
    /// The parameters under the control of the build's requester: verifiers check these.
    pub external_parameters: Map<String, Value>,
    /// Parameters the build platform chose.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub internal_parameters: Map<String, Value>,
    /// The artifacts the build used: base image, definition files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// SLSA's `runDetails`: who ran the build, and how this run went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    /// The build platform.
    pub builder: Builder,
    /// This run's id and times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BuildMetadata>,
    /// Other artifacts the run produced (logs, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub byproducts: Vec<ResourceDescriptor>,
}

/// SLSA's `builder`: the build platform by id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Builder {
    /// A URI naming the build platform and its trust boundary.
    pub id: String,
    /// The versions of the platform's parts, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub version: BTreeMap<String, String>,
    /// The platform's own dependencies (the builder tool, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub builder_dependencies: Vec<ResourceDescriptor>,
}

/// SLSA's `metadata` of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildMetadata {
    /// The run's id, unique to the builder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// When the build started (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339")]
    pub started_on: Option<jiff::Timestamp>,
    /// When the build finished (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339")]
    pub finished_on: Option<jiff::Timestamp>,
}

/// `Option<jiff::Timestamp>` as an RFC 3339 string in UTC (`2026-01-02T03:04:05Z`, with a
/// fraction of a second only when there is one), as protobuf's JSON `Timestamp`.
mod rfc3339 {
    use serde::{Deserialize as _, Deserializer, Serializer};

    #[allow(clippy::ref_option, reason = "the signature serde's `with` calls")]
    pub(super) fn serialize<S: Serializer>(
        v: &Option<jiff::Timestamp>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => s.collect_str(t),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<jiff::Timestamp>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn image_digest() -> Digest {
        Digest::sha256_of(b"an image manifest")
    }

    /// A provenance with every field set.
    pub(crate) fn provenance() -> Provenance {
        Provenance {
            build_definition: BuildDefinition {
                build_type: "https://envaudit.dev/build/v1".to_owned(),
                external_parameters: serde_json::json!({
                    "definition": "environment.yml", "definitionHash": "sha256:00"
                })
                .as_object()
                .unwrap()
                .clone(),
                internal_parameters: serde_json::json!({"builder": "buildah"})
                    .as_object()
                    .unwrap()
                    .clone(),
                resolved_dependencies: vec![
                    ResourceDescriptor::with_digest(
                        "environment.yml",
                        &Digest::sha256_of(b"name: x"),
                    ),
                    ResourceDescriptor {
                        uri: Some("docker.io/library/python:3.11".to_owned()),
                        media_type: Some("application/vnd.oci.image.manifest.v1+json".to_owned()),
                        annotations: BTreeMap::from([(
                            "role".to_owned(),
                            Value::from("base image"),
                        )]),
                        ..ResourceDescriptor::with_digest("base", &Digest::sha256_of(b"base"))
                    },
                ],
            },
            run_details: RunDetails {
                builder: Builder {
                    id: "https://envaudit.dev/builder/buildah".to_owned(),
                    version: BTreeMap::from([("envaudit".to_owned(), "0.1.0".to_owned())]),
                    builder_dependencies: vec![ResourceDescriptor {
                        name: Some("buildah".to_owned()),
                        content: Some(b"1.28".to_vec()),
                        ..ResourceDescriptor::default()
                    }],
                },
                metadata: Some(BuildMetadata {
                    invocation_id: Some("run-1".to_owned()),
                    started_on: Some("2026-01-02T03:04:05Z".parse().unwrap()),
                    finished_on: Some("2026-01-02T03:14:05.25Z".parse().unwrap()),
                }),
                byproducts: vec![ResourceDescriptor {
                    name: Some("build.log".to_owned()),
                    download_location: Some("https://example.com/log".to_owned()),
                    ..ResourceDescriptor::with_digest("build.log", &Digest::sha256_of(b"log"))
                }],
            },
        }
    }

    pub(crate) fn provenance_statement() -> Statement {
        Statement::new(
            vec![ResourceDescriptor::with_digest(
                "registry.example/env",
                &image_digest(),
            )],
            SLSA_PROVENANCE_V1,
            &provenance(),
        )
        .unwrap()
    }

    #[test]
    fn the_canonical_json_is_sorted_and_compact() {
        let s = Statement::new(
            vec![ResourceDescriptor::with_digest("img", &image_digest())],
            "https://example.com/p/v1",
            &serde_json::json!({"z": [ {"b": 1, "a": "é\n"} ], "a": null}),
        )
        .unwrap();
        insta::assert_snapshot!(String::from_utf8(s.to_json()).unwrap(), @r#"{"_type":"https://in-toto.io/Statement/v1","predicate":{"a":null,"z":[{"a":"é\n","b":1}]},"predicateType":"https://example.com/p/v1","subject":[{"digest":{"sha256":"036f7e8d5057764d9232a53b0014d766076eb9ecb8189d62679121b43b57f2ac"},"name":"img"}]}"#);
    }

    #[test]
    fn a_statement_read_back_writes_the_same_bytes() {
        let s = provenance_statement();
        let bytes = s.to_json();
        let again = Statement::from_json(&bytes).unwrap();
        assert_eq!(again, s);
        assert_eq!(again.to_json(), bytes);
        assert_eq!(again.digest(), Digest::sha256_of(&bytes));
        assert_eq!(again.predicate_as::<Provenance>().unwrap(), provenance());
    }

    #[test]
    fn the_same_inputs_give_the_same_bytes_whatever_the_order_they_were_built_in() {
        let mut shuffled = serde_json::Map::new();
        let keys = ["q", "b", "zz", "a", "é", "B", "_"];
        for k in keys {
            shuffled.insert(k.to_owned(), Value::from(k));
        }
        let mut reversed = serde_json::Map::new();
        for k in keys.iter().rev() {
            reversed.insert((*k).to_owned(), Value::from(*k));
        }
        let subject = vec![ResourceDescriptor::with_digest("img", &image_digest())];
        let a = Statement::new(subject.clone(), "t", &shuffled).unwrap();
        let b = Statement::new(subject, "t", &reversed).unwrap();
        assert_eq!(a.to_json(), b.to_json());
        assert_eq!(a.digest(), b.digest());
        // and a different predicate gives a different digest
        let c = Statement::new(a.subject().to_vec(), "t", &serde_json::json!({"q": 1})).unwrap();
        assert_ne!(a.digest(), c.digest());
    }

    #[test]
    fn the_provenance_has_slsa_s_field_names() {
        let json: Value = serde_json::from_slice(&provenance_statement().to_json()).unwrap();
        let p = &json["predicate"];
        for path in [
            "/buildDefinition/buildType",
            "/buildDefinition/externalParameters",
            "/buildDefinition/internalParameters",
            "/buildDefinition/resolvedDependencies/1/mediaType",
            "/runDetails/builder/id",
            "/runDetails/builder/version/envaudit",
            "/runDetails/builder/builderDependencies/0/content",
            "/runDetails/metadata/invocationId",
            "/runDetails/byproducts/0/downloadLocation",
        ] {
            assert!(p.pointer(path).is_some(), "{path}");
        }
        assert_eq!(
            p["runDetails"]["metadata"]["startedOn"],
            "2026-01-02T03:04:05Z"
        );
        assert_eq!(
            p["runDetails"]["metadata"]["finishedOn"],
            "2026-01-02T03:14:05.25Z"
        );
        assert_eq!(
            p["runDetails"]["builder"]["builderDependencies"][0]["content"],
            "MS4yOA=="
        );
        assert_eq!(json["_type"], STATEMENT_TYPE);
        assert_eq!(json["subject"][0]["digest"]["sha256"], image_digest().hex());
    }

    #[test]
    fn invalid_statements_are_refused() {
        let ok = provenance_statement().to_json();
        let ok: Value = serde_json::from_slice(&ok).unwrap();
        let with = |path: &str, v: Value| {
            let mut j = ok.clone();
            *j.pointer_mut(path).unwrap() = v;
            let e = Statement::from_json(&serde_json::to_vec(&j).unwrap()).unwrap_err();
            e.to_string()
        };
        insta::assert_snapshot!(with("/_type", "https://in-toto.io/Statement/v0.1".into()), @"`_type` is `https://in-toto.io/Statement/v0.1`, not `https://in-toto.io/Statement/v1`");
        insta::assert_snapshot!(with("/subject", Value::Array(vec![])), @"the statement has no subject");
        insta::assert_snapshot!(with("/subject/0/digest", serde_json::json!({})), @"subject 0 has no digest");
        insta::assert_snapshot!(with("/subject/0/digest/sha256", "ABC".into()), @"subject 0: the `sha256` digest is not lowercase hex of the right length");
        insta::assert_snapshot!(with("/predicateType", "".into()), @"the statement has no predicate type");
        insta::assert_snapshot!(with("/predicate", serde_json::json!([])), @"the predicate is not a non-empty JSON object");
        insta::assert_snapshot!(with("/predicate", serde_json::json!({})), @"the predicate is not a non-empty JSON object");
        let mut bad_content = ok.clone();
        bad_content["subject"][0]["content"] = "!".into();
        let e = Statement::from_json(&serde_json::to_vec(&bad_content).unwrap()).unwrap_err();
        let cause = std::error::Error::source(&e).unwrap();
        insta::assert_snapshot!(format!("{e}: {cause}"), @"malformed in-toto statement: `content` is not base64 at line 1 column 1138");
        let huge = vec![b' '; MAX_STATEMENT_BYTES + 1];
        assert!(matches!(
            Statement::from_json(&huge),
            Err(StatementError::TooLarge { .. })
        ));
        let many = serde_json::json!({
            "_type": STATEMENT_TYPE, "predicateType": "t", "predicate": {"a": 1},
            "subject": vec![serde_json::json!({"digest": {"sha256": image_digest().hex()}}); MAX_SUBJECTS + 1],
        });
        assert!(matches!(
            Statement::from_json(&serde_json::to_vec(&many).unwrap()),
            Err(StatementError::TooManySubjects { .. })
        ));
        // unknown fields are ignored, and other digest algorithms are kept as they are
        let mut extra = ok.clone();
        extra["future"] = Value::from(1);
        extra["subject"][0]["digest"]["gitCommit"] = Value::from("abc");
        let s = Statement::from_json(&serde_json::to_vec(&extra).unwrap()).unwrap();
        assert_eq!(s.subject()[0].digest["gitCommit"], "abc");
        assert!(s.subject()[0].matches(&image_digest()));
        assert!(!s.subject()[0].matches(&Digest::sha256_of(b"other")));
    }

    mod props {
        use proptest::prelude::*;
        use serde_json::Value;

        use super::*;

        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
                    .prop_map(Value::from),
                ".{0,8}".prop_map(Value::from),
            ];
            leaf.prop_recursive(4, 32, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::btree_map(".{0,6}", inner, 0..6)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn any_predicate_writes_canonical_bytes_that_read_back_to_themselves(
                predicate in prop::collection::btree_map(".{0,6}", json(), 1..6),
                reversed in any::<bool>(),
            ) {
                // the same entries inserted in another order
                let mut map = serde_json::Map::new();
                let entries: Vec<_> = if reversed {
                    predicate.iter().rev().collect()
                } else {
                    predicate.iter().collect()
                };
                for (k, v) in entries {
                    map.insert(k.clone(), v.clone());
                }
                let subject = vec![ResourceDescriptor::with_digest("img", &image_digest())];
                let s = Statement::new(subject, "t", &map).unwrap();
                let bytes = s.to_json();
                let again = Statement::from_json(&bytes).unwrap();
                prop_assert_eq!(again.to_json(), bytes.clone());
                let sorted: serde_json::Map<String, Value> = predicate.into_iter().collect();
                let in_order = Statement::new(s.subject().to_vec(), "t", &sorted).unwrap();
                prop_assert_eq!(in_order.to_json(), bytes);
            }
        }
    }

    #[test]
    fn a_statement_from_an_envelope_needs_the_in_toto_payload_type() {
        let bytes = provenance_statement().to_json();
        let v = Verified {
            key_id: crate::attest::KeyId::of_spki_der(b"k"),
            payload_type: "text/plain",
            payload: &bytes,
        };
        insta::assert_snapshot!(Statement::from_verified(&v).unwrap_err(), @"the payload type is `text/plain`, not `application/vnd.in-toto+json`");
        let v = Verified {
            payload_type: PAYLOAD_TYPE,
            ..v
        };
        assert_eq!(
            Statement::from_verified(&v).unwrap(),
            provenance_statement()
        );
    }
}
