//! DSSE v1 envelopes (Dead Simple Signing Envelope, secure-systems-lab/dsse).
//!
//! An envelope is `{"payload": BASE64, "payloadType": TYPE, "signatures": [{"sig":
//! BASE64, "keyid": ID}]}`. Each signature is over the pre-authentication encoding
//! ([`pae`]), never over the payload alone, so the payload type is signed too:
//!
//! ```text
//! PAE(type, payload) = "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload
//! ```
//!
//! with `LEN` the byte length in ASCII decimal without leading zeros and `SP` one space.
//!
//! The `keyid` envaudit writes is the signing key's [`KeyId`]; it is a hint. Verification
//! ([`Envelope::verify`]) tries every given key on every signature (at most
//! [`MAX_SIGNATURES`]) and succeeds with the first that verifies; when none does, the error
//! says for each signature whether a key of its `keyid` was given (then the payload or the
//! signature was changed) or not (then it was signed by another key).
//!
//! Envelopes read from registries are untrusted: [`Envelope::from_json`] reads at most
//! [`MAX_ENVELOPE_BYTES`] and at most [`MAX_SIGNATURES`] signatures.

use std::fmt;

use serde::Deserialize;

use super::keys::{KeyId, SignatureError, SigningKey, VerifyingKey};
use super::{decode_base64, encode_base64};

/// The largest envelope JSON read: 32 MiB, far above a statement with a snapshot's
/// thousands of packages.
pub const MAX_ENVELOPE_BYTES: usize = 32 << 20;

/// The most signatures an envelope may carry. Each costs a verification per key.
pub const MAX_SIGNATURES: usize = 16;

/// The pre-authentication encoding of DSSE v1: the bytes each signature signs.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let payload_len = payload.len().to_string();
    let mut out = Vec::with_capacity(
        10 + type_len.len() + payload_type.len() + payload_len.len() + payload.len(),
    );
    for part in [
        b"DSSEv1".as_slice(),
        type_len.as_bytes(),
        payload_type.as_bytes(),
        payload_len.as_bytes(),
    ] {
        out.extend_from_slice(part);
        out.push(b' ');
    }
    out.extend_from_slice(payload);
    out
}

/// A DSSE envelope: a typed payload and the signatures over its PAE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    payload_type: String,
    payload: Vec<u8>,
    signatures: Vec<Signature>,
}

/// One signature of an envelope, with the key id its signer claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    keyid: String,
    sig: Vec<u8>,
}

impl Signature {
    /// The `keyid` hint as written (empty when there was none).
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The signature bytes.
    pub fn sig(&self) -> &[u8] {
        &self.sig
    }
}

/// An envelope whose signature verified: which key, and the payload it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified<'a> {
    /// The id of the given key that verified a signature.
    pub key_id: KeyId,
    /// The signed payload type.
    pub payload_type: &'a str,
    /// The signed payload.
    pub payload: &'a [u8],
}

/// Why an envelope could not be read or verified.
#[derive(Debug, thiserror::Error)]
pub enum DsseError {
    /// The envelope is larger than [`MAX_ENVELOPE_BYTES`].
    #[error("the DSSE envelope is {size} bytes, more than the {max} read")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The JSON is malformed or lacks a field.
    #[error("malformed DSSE envelope")]
    Malformed {
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// A field that holds base64 does not.
    #[error("the DSSE envelope's `{field}` is not base64")]
    Base64 {
        /// `payload` or `sig`.
        field: &'static str,
    },
    /// The envelope has no signature (DSSE requires at least one).
    #[error("the DSSE envelope has no signature")]
    NoSignatures,
    /// More than [`MAX_SIGNATURES`] signatures.
    #[error("the DSSE envelope has {count} signatures, more than the {max} read")]
    TooManySignatures {
        /// How many it has.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Verification was asked for with no key.
    #[error("no key to verify the DSSE envelope with")]
    NoKeys,
    /// No signature verifies with any given key.
    #[error(
        "no signature of the DSSE envelope verifies with the given keys: {}",
        list(rejected)
    )]
    Unverified {
        /// Each signature, and why it was not accepted.
        rejected: Vec<Rejection>,
    },
}

fn list(rejected: &[Rejection]) -> String {
    rejected
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why one signature was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Its index in the envelope.
    pub index: usize,
    /// Its `keyid` hint (empty when there was none).
    pub keyid: String,
    /// Whether a given key has that id. If so, the payload, its type or the signature was
    /// changed after signing; if not, it was signed by a key that was not given.
    pub key_given: bool,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "signature {}", self.index)?;
        if self.keyid.is_empty() {
            f.write_str(" (no keyid)")?;
        } else {
            write!(f, " (keyid `{}`)", self.keyid)?;
        }
        if self.key_given {
            f.write_str(" does not verify with the key of its keyid: the payload or the signature was changed")
        } else {
            f.write_str(" is by none of the given keys")
        }
    }
}

impl Envelope {
    /// Signs `payload` of `payload_type` with `key`: one signature, its `keyid` the key's id.
    pub fn sign(
        payload_type: impl Into<String>,
        payload: Vec<u8>,
        key: &SigningKey,
    ) -> Result<Self, SignatureError> {
        let mut envelope = Envelope {
            payload_type: payload_type.into(),
            payload,
            signatures: Vec::new(),
        };
        envelope.add_signature(key)?;
        Ok(envelope)
    }

    /// Adds a signature by `key` (a second signer of the same payload).
    pub fn add_signature(&mut self, key: &SigningKey) -> Result<(), SignatureError> {
        let sig = key.sign(&self.pae())?;
        self.signatures.push(Signature {
            keyid: key.key_id().to_string(),
            sig,
        });
        Ok(())
    }

    /// The payload type, e.g. `application/vnd.in-toto+json`.
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The payload bytes (not yet verified unless obtained from [`Verified`]).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signatures, in order.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// The pre-authentication encoding of this envelope's payload: what was signed.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Verifies the envelope with `keys`: the first signature that one of them verifies
    /// names the key; if there is none, the error says why for each signature.
    pub fn verify(&self, keys: &[VerifyingKey]) -> Result<Verified<'_>, DsseError> {
        if keys.is_empty() {
            return Err(DsseError::NoKeys);
        }
        if self.signatures.is_empty() {
            return Err(DsseError::NoSignatures);
        }
        let pae = self.pae();
        for sig in self.signatures.iter().take(MAX_SIGNATURES) {
            // The key of the signature's keyid first: with the right key given, that is
            // the only verification done.
            let mut order: Vec<&VerifyingKey> = keys.iter().collect();
            order.sort_by_key(|k| k.key_id().as_str() != sig.keyid);
            if let Some(key) = order.into_iter().find(|k| k.verify(&pae, &sig.sig).is_ok()) {
                return Ok(Verified {
                    key_id: key.key_id().clone(),
                    payload_type: &self.payload_type,
                    payload: &self.payload,
                });
            }
        }
        Err(DsseError::Unverified {
            rejected: self
                .signatures
                .iter()
                .take(MAX_SIGNATURES)
                .enumerate()
                .map(|(index, sig)| Rejection {
                    index,
                    keyid: sig.keyid.clone(),
                    key_given: keys.iter().any(|k| k.key_id().as_str() == sig.keyid),
                })
                .collect(),
        })
    }

    /// The envelope as compact JSON: `payload`, `payloadType`, `signatures` of `sig` and
    /// `keyid`, base64 standard and padded.
    pub fn to_json(&self) -> Vec<u8> {
        self.to_value().to_string().into_bytes()
    }

    /// The envelope as a JSON value (protobuf JSON's field names, which are DSSE's).
    pub(super) fn to_value(&self) -> serde_json::Value {
        let signatures: Vec<serde_json::Value> = self
            .signatures
            .iter()
            .map(|s| serde_json::json!({"sig": encode_base64(&s.sig), "keyid": s.keyid}))
            .collect();
        serde_json::json!({
            "payload": encode_base64(&self.payload),
            "payloadType": self.payload_type,
            "signatures": signatures,
        })
    }

    /// Reads an envelope from untrusted JSON: at most [`MAX_ENVELOPE_BYTES`], at least one
    /// and at most [`MAX_SIGNATURES`] signatures, base64 in either alphabet.
    pub fn from_json(json: &[u8]) -> Result<Self, DsseError> {
        if json.len() > MAX_ENVELOPE_BYTES {
            return Err(DsseError::TooLarge {
                size: json.len(),
                max: MAX_ENVELOPE_BYTES,
            });
        }
        let wire: EnvelopeWire =
            serde_json::from_slice(json).map_err(|source| DsseError::Malformed { source })?;
        Self::from_wire(wire)
    }

    pub(super) fn from_wire(wire: EnvelopeWire) -> Result<Self, DsseError> {
        if wire.signatures.is_empty() {
            return Err(DsseError::NoSignatures);
        }
        if wire.signatures.len() > MAX_SIGNATURES {
            return Err(DsseError::TooManySignatures {
                count: wire.signatures.len(),
                max: MAX_SIGNATURES,
            });
        }
        let payload = decode_base64(&wire.payload).ok_or(DsseError::Base64 { field: "payload" })?;
        let signatures = wire
            .signatures
            .into_iter()
            .map(|s| {
                Ok(Signature {
                    sig: decode_base64(&s.sig).ok_or(DsseError::Base64 { field: "sig" })?,
                    keyid: s.keyid,
                })
            })
            .collect::<Result<_, DsseError>>()?;
        Ok(Envelope {
            payload_type: wire.payload_type,
            payload,
            signatures,
        })
    }
}

/// The JSON shape of an envelope (DSSE's, which is also protobuf JSON's `io.intoto.Envelope`;
/// the snake-case names protobuf JSON also accepts are read too).
#[derive(Deserialize)]
pub(super) struct EnvelopeWire {
    payload: String,
    #[serde(rename = "payloadType", alias = "payload_type")]
    payload_type: String,
    signatures: Vec<SignatureWire>,
}

#[derive(Deserialize)]
struct SignatureWire {
    sig: String,
    #[serde(default)]
    keyid: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attest::keys::tests::{KEY_RECIPES, openssl_key};

    fn keys() -> Vec<SigningKey> {
        KEY_RECIPES[..2]
            .iter()
            .map(|(_, recipe)| {
                let dir = tempfile::tempdir().unwrap();
                SigningKey::from_pem(&openssl_key(dir.path(), recipe).0).unwrap()
            })
            .collect()
    }

    #[test]
    fn pae_is_the_specification_s_example() {
        // the test vector of the DSSE protocol document
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
        // lengths are bytes, not characters
        assert_eq!(pae("é", "ü".as_bytes()), "DSSEv1 2 é 2 ü".as_bytes());
    }

    #[test]
    fn a_signed_envelope_verifies_with_its_key_and_names_it() {
        for key in keys() {
            let env = Envelope::sign("text/plain", b"payload".to_vec(), &key).unwrap();
            assert_eq!(env.signatures()[0].keyid(), key.key_id().as_str());
            let v = env.verify(&[key.verifying_key().clone()]).unwrap();
            assert_eq!(&v.key_id, key.key_id());
            assert_eq!(v.payload, b"payload");
            let again = Envelope::from_json(&env.to_json()).unwrap();
            assert_eq!(again, env);
            again.verify(&[key.verifying_key().clone()]).unwrap();
        }
    }

    #[test]
    fn tampering_and_wrong_keys_are_told_apart() {
        let keys = keys();
        let (a, b) = (&keys[0], &keys[1]);
        let env = Envelope::sign("text/plain", b"payload".to_vec(), a).unwrap();
        let by = |k: &SigningKey| vec![k.verifying_key().clone()];

        let Err(DsseError::Unverified { rejected }) = env.verify(&by(b)) else {
            panic!("verified with the wrong key")
        };
        assert!(!rejected[0].key_given);

        let mut changed = env.clone();
        changed.payload = b"pAyload".to_vec();
        let Err(DsseError::Unverified { rejected }) = changed.verify(&by(a)) else {
            panic!("a changed payload verified")
        };
        assert!(rejected[0].key_given);

        // the payload type is signed too
        let mut retyped = env.clone();
        retyped.payload_type = "text/html".to_owned();
        assert!(retyped.verify(&by(a)).is_err());

        // a wrong keyid hint does not stop the right key
        let mut rehinted = env.clone();
        rehinted.signatures[0].keyid = "somebody else".to_owned();
        assert_eq!(&rehinted.verify(&by(a)).unwrap().key_id, a.key_id());

        // with two signers, either key verifies
        let mut both = env.clone();
        both.add_signature(b).unwrap();
        assert_eq!(&both.verify(&by(b)).unwrap().key_id, b.key_id());
        assert!(matches!(env.verify(&[]), Err(DsseError::NoKeys)));
    }

    #[test]
    fn rejections_read_well() {
        let e = DsseError::Unverified {
            rejected: vec![
                Rejection {
                    index: 0,
                    keyid: "abc=".to_owned(),
                    key_given: true,
                },
                Rejection {
                    index: 1,
                    keyid: String::new(),
                    key_given: false,
                },
            ],
        };
        insta::assert_snapshot!(e, @"no signature of the DSSE envelope verifies with the given keys: signature 0 (keyid `abc=`) does not verify with the key of its keyid: the payload or the signature was changed; signature 1 (no keyid) is by none of the given keys");
    }

    #[test]
    fn untrusted_json_is_bounded() {
        let key = &keys()[1];
        let env = Envelope::sign("t", b"p".to_vec(), key).unwrap();
        let mut json: serde_json::Value = serde_json::from_slice(&env.to_json()).unwrap();
        let one = json["signatures"][0].clone();
        let with = |json: &serde_json::Value| Envelope::from_json(json.to_string().as_bytes());
        json["signatures"] = serde_json::json!([]);
        assert!(matches!(with(&json), Err(DsseError::NoSignatures)));
        json["signatures"] = serde_json::Value::Array(vec![one.clone(); MAX_SIGNATURES]);
        assert_eq!(with(&json).unwrap().signatures().len(), MAX_SIGNATURES);
        json["signatures"] = serde_json::Value::Array(vec![one; MAX_SIGNATURES + 1]);
        assert!(matches!(
            with(&json),
            Err(DsseError::TooManySignatures { count: 17, max: 16 })
        ));
        let huge = vec![b' '; MAX_ENVELOPE_BYTES + 1];
        assert!(matches!(
            Envelope::from_json(&huge),
            Err(DsseError::TooLarge { .. })
        ));
        for bad in [
            &b"{}"[..],
            b"[]",
            br#"{"payload":"!!","payloadType":"t","signatures":[{"sig":"AA=="}]}"#,
            br#"{"payload":"AA==","payloadType":"t","signatures":[{"sig":"!"}]}"#,
            br#"{"payload":"AA==","payloadType":7,"signatures":[]}"#,
        ] {
            assert!(
                Envelope::from_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // keyid is optional; URL-safe base64 without padding is read
        let e = Envelope::from_json(
            br#"{"payload":"_-8","payloadType":"t","signatures":[{"sig":"AA"}]}"#,
        )
        .unwrap();
        assert_eq!(e.payload(), [0xff, 0xef]);
        assert_eq!(e.signatures()[0].keyid(), "");
    }
}
