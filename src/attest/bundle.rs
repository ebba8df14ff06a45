//! The Sigstore bundle v0.3 holding one DSSE envelope, as cosign reads it with
//! `--new-bundle-format --key KEY --insecure-ignore-tlog=true`.
//!
//! The JSON is protobuf JSON of `dev.sigstore.bundle.v1.Bundle` (sigstore/protobuf-specs):
//!
//! ```json
//! {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//!  "verificationMaterial": {"publicKey": {"hint": KEY_ID}, "tlogEntries": []},
//!  "dsseEnvelope": {"payload": BASE64, "payloadType": "application/vnd.in-toto+json",
//!                   "signatures": [{"sig": BASE64, "keyid": KEY_ID}]}}
//! ```
//!
//! - The verification material is a public-key *hint*, the signer's [`KeyId`]: the key
//!   itself travels out of band (`--key`). The envelope's `keyid` is the same string, as
//!   the specification asks.
//! - A bundle's envelope has exactly one signature (the specification's rule; verifiers
//!   reject others).
//! - Left out: transparency-log entries (`tlogEntries` is empty), signed timestamps
//!   (`timestampVerificationData`) and certificates. Nothing in a bundle proves *when* it
//!   was signed, and cosign must be told not to look for a log entry.
//!
//! Bundles read from registries are untrusted: [`Bundle::from_json`] reads at most
//! [`MAX_BUNDLE_BYTES`], then the envelope's own limits apply. It accepts the v0.3 media
//! type in both spellings, the snake-case field names protobuf JSON also allows, and
//! ignores log entries and timestamps (verification here is by key alone).
//!
//! [`KeyId`]: super::KeyId

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::dsse::{DsseError, Envelope, EnvelopeWire, MAX_ENVELOPE_BYTES, Verified};
use super::keys::{SignatureError, SigningKey, VerifyingKey};
use super::statement::Statement;

/// The media type of a Sigstore bundle v0.3, also the artifact type of its OCI referrer.
pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The older spelling of the same version, which readers must accept.
const MEDIA_TYPE_V03_PARAMETER: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";

/// The largest bundle read: an envelope of [`MAX_ENVELOPE_BYTES`], and room for the rest.
pub const MAX_BUNDLE_BYTES: usize = MAX_ENVELOPE_BYTES + (64 << 10);

/// Why a bundle could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The bundle is larger than [`MAX_BUNDLE_BYTES`].
    #[error("the Sigstore bundle is {size} bytes, more than the {max} read")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The JSON is malformed, or a field has the wrong type.
    #[error("malformed Sigstore bundle")]
    Malformed {
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The media type is not a v0.3 bundle's.
    #[error("unsupported Sigstore bundle media type `{found}` (expected `{MEDIA_TYPE}`)")]
    UnsupportedMediaType {
        /// The media type found.
        found: String,
    },
    /// The bundle holds a message signature, or nothing, instead of a DSSE envelope.
    #[error("the Sigstore bundle holds no DSSE envelope")]
    NoEnvelope,
    /// The bundle's verification material is a certificate (keyless signing) or missing,
    /// not a public-key hint.
    #[error(
        "the Sigstore bundle's verification material is not a public key (keyless bundles are not read)"
    )]
    NotPublicKey,
    /// The envelope does not have exactly one signature.
    #[error("a Sigstore bundle's envelope has exactly one signature, this one has {count}")]
    SignatureCount {
        /// How many it has.
        count: usize,
    },
    /// The envelope inside is malformed.
    #[error(transparent)]
    Envelope(#[from] DsseError),
}

/// A Sigstore bundle v0.3: one DSSE envelope with one signature, and the signer's key hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    hint: String,
    envelope: Envelope,
}

impl Bundle {
    /// The bundle of `envelope`, which must have exactly one signature; the hint is its
    /// `keyid`.
    pub fn new(envelope: Envelope) -> Result<Self, BundleError> {
        match envelope.signatures() {
            [one] => Ok(Bundle {
                hint: one.keyid().to_owned(),
                envelope,
            }),
            more => Err(BundleError::SignatureCount { count: more.len() }),
        }
    }

    /// Signs `statement` with `key` into a bundle.
    pub fn sign_statement(statement: &Statement, key: &SigningKey) -> Result<Self, SignatureError> {
        let envelope = statement.sign(key)?;
        Ok(Bundle {
            hint: key.key_id().to_string(),
            envelope,
        })
    }

    /// The public-key hint (the signer's key id, unauthenticated).
    pub fn key_hint(&self) -> &str {
        &self.hint
    }

    /// The DSSE envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The DSSE envelope, owned.
    pub fn into_envelope(self) -> Envelope {
        self.envelope
    }

    /// Verifies the envelope with `keys` (see [`Envelope::verify`]).
    pub fn verify(&self, keys: &[VerifyingKey]) -> Result<Verified<'_>, DsseError> {
        self.envelope.verify(keys)
    }

    /// The bundle as compact protobuf JSON (see the module documentation).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::json!({
            "mediaType": MEDIA_TYPE,
            "verificationMaterial": {"publicKey": {"hint": self.hint}, "tlogEntries": []},
            "dsseEnvelope": self.envelope.to_value(),
        })
        .to_string()
        .into_bytes()
    }

    /// Reads a bundle from untrusted JSON (see the module documentation for what is
    /// accepted).
    pub fn from_json(json: &[u8]) -> Result<Self, BundleError> {
        if json.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge {
                size: json.len(),
                max: MAX_BUNDLE_BYTES,
            });
        }
        let wire: BundleIn =
            serde_json::from_slice(json).map_err(|source| BundleError::Malformed { source })?;
        if wire.media_type != MEDIA_TYPE && wire.media_type != MEDIA_TYPE_V03_PARAMETER {
            return Err(BundleError::UnsupportedMediaType {
                found: wire.media_type,
            });
        }
        let hint = match wire.verification_material {
            Some(MaterialIn {
                public_key: Some(pk),
                certificate: None,
                x509_certificate_chain: None,
                ..
            }) => pk.hint,
            _ => return Err(BundleError::NotPublicKey),
        };
        let envelope = match (wire.dsse_envelope, wire.message_signature) {
            (Some(e), None) => Envelope::from_wire(e)?,
            _ => return Err(BundleError::NoEnvelope),
        };
        if envelope.signatures().len() != 1 {
            return Err(BundleError::SignatureCount {
                count: envelope.signatures().len(),
            });
        }
        Ok(Bundle { hint, envelope })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleIn {
    #[serde(alias = "media_type")]
    media_type: String,
    #[serde(alias = "verification_material")]
    verification_material: Option<MaterialIn>,
    #[serde(alias = "dsse_envelope")]
    dsse_envelope: Option<EnvelopeWire>,
    #[serde(alias = "message_signature")]
    message_signature: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaterialIn {
    #[serde(alias = "public_key")]
    public_key: Option<PublicKeyIn>,
    certificate: Option<IgnoredAny>,
    #[serde(alias = "x509_certificate_chain")]
    x509_certificate_chain: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct PublicKeyIn {
    #[serde(default)]
    hint: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attest::keys::tests::{KEY_RECIPES, openssl_key};
    use crate::attest::statement::tests::provenance_statement;

    fn key() -> SigningKey {
        let dir = tempfile::tempdir().unwrap();
        SigningKey::from_pem(&openssl_key(dir.path(), KEY_RECIPES[0].1).0).unwrap()
    }

    #[test]
    fn the_bundle_has_protobuf_json_s_shape() {
        let key = key();
        let b = Bundle::sign_statement(&provenance_statement(), &key).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&b.to_json()).unwrap();
        let mut shape = json.clone();
        let id = key.key_id().to_string();
        assert_eq!(
            shape["verificationMaterial"]["publicKey"]["hint"],
            id.as_str()
        );
        assert_eq!(shape["dsseEnvelope"]["signatures"][0]["keyid"], id.as_str());
        for p in [
            "/verificationMaterial/publicKey/hint",
            "/dsseEnvelope/payload",
            "/dsseEnvelope/signatures/0/sig",
            "/dsseEnvelope/signatures/0/keyid",
        ] {
            *shape.pointer_mut(p).unwrap() = "…".into();
        }
        insta::assert_snapshot!(serde_json::to_string(&shape).unwrap(), @r#"{"dsseEnvelope":{"payload":"…","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"…","sig":"…"}]},"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"…"},"tlogEntries":[]}}"#);
    }

    #[test]
    fn a_bundle_reads_back_and_verifies() {
        let key = key();
        let statement = provenance_statement();
        let b = Bundle::sign_statement(&statement, &key).unwrap();
        let again = Bundle::from_json(&b.to_json()).unwrap();
        assert_eq!(again, b);
        assert_eq!(again.key_hint(), key.key_id().as_str());
        let v = again.verify(&[key.verifying_key().clone()]).unwrap();
        assert_eq!(Statement::from_verified(&v).unwrap(), statement);
        assert_eq!(Bundle::new(b.envelope().clone()).unwrap(), b);
    }

    #[test]
    fn other_bundles_are_refused_with_reasons() {
        let key = key();
        let b = Bundle::sign_statement(&provenance_statement(), &key).unwrap();
        let ok: serde_json::Value = serde_json::from_slice(&b.to_json()).unwrap();
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut j = ok.clone();
            f(&mut j);
            Bundle::from_json(&serde_json::to_vec(&j).unwrap())
        };
        let err = |f: &dyn Fn(&mut serde_json::Value)| edit(f).unwrap_err().to_string();
        insta::assert_snapshot!(err(&|j| j["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json".into()), @"unsupported Sigstore bundle media type `application/vnd.dev.sigstore.bundle.v0.4+json` (expected `application/vnd.dev.sigstore.bundle.v0.3+json`)");
        insta::assert_snapshot!(err(&|j| j["verificationMaterial"] = serde_json::json!({"certificate": {"rawBytes": "AA=="}})), @"the Sigstore bundle's verification material is not a public key (keyless bundles are not read)");
        insta::assert_snapshot!(err(&|j| { j.as_object_mut().unwrap().remove("dsseEnvelope"); }), @"the Sigstore bundle holds no DSSE envelope");
        insta::assert_snapshot!(err(&|j| j["messageSignature"] = serde_json::json!({})), @"the Sigstore bundle holds no DSSE envelope");
        insta::assert_snapshot!(err(&|j| {
            let s = j["dsseEnvelope"]["signatures"][0].clone();
            j["dsseEnvelope"]["signatures"] = serde_json::json!([s.clone(), s]);
        }), @"a Sigstore bundle's envelope has exactly one signature, this one has 2");
        insta::assert_snapshot!(err(&|j| j["dsseEnvelope"]["payload"] = "!".into()), @"the DSSE envelope's `payload` is not base64");
        // the other spelling of v0.3, snake-case names, log entries and no keyid are read
        let other = edit(&|j| {
            *j = serde_json::json!({
                "media_type": "application/vnd.dev.sigstore.bundle+json;version=0.3",
                "verification_material": {"public_key": {"hint": "h"}, "tlog_entries": [{"logIndex": "1"}]},
                "dsse_envelope": {
                    "payload": j["dsseEnvelope"]["payload"].clone(),
                    "payload_type": j["dsseEnvelope"]["payloadType"].clone(),
                    "signatures": [{"sig": j["dsseEnvelope"]["signatures"][0]["sig"].clone()}]},
            });
        })
        .unwrap();
        assert_eq!(other.key_hint(), "h");
        other.verify(&[key.verifying_key().clone()]).unwrap();
        let huge = vec![b' '; MAX_BUNDLE_BYTES + 1];
        assert!(matches!(
            Bundle::from_json(&huge),
            Err(BundleError::TooLarge { .. })
        ));
    }
}
