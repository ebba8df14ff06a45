//! The formats of signed evidence: keys, DSSE envelopes, in-toto statements and Sigstore
//! bundles. Pure: no network, no registry, no lockfile; values in, values (or bytes) out.
//!
//! How a signed attestation is made, and read back:
//!
//! ```text
//! Statement (subject digests, predicateType, predicate)   statement::Statement
//!   ─► canonical JSON payload (same inputs, same bytes)   Statement::to_json
//!   ─► DSSE envelope, signed over the PAE                 dsse::Envelope::sign(SigningKey)
//!   ─► Sigstore bundle v0.3 JSON (what cosign reads)      bundle::Bundle::to_json
//!
//! bundle JSON (untrusted, bounded) ─► Bundle::from_json ─► Envelope::verify(&[VerifyingKey])
//!   ─► Verified { key_id, payload } ─► Statement::from_verified ─► typed predicate
//! ```
//!
//! - [`keys`]: [`SigningKey`] (ECDSA P-256, Ed25519; PKCS#8 PEM from a file or a variable),
//!   [`VerifyingKey`] (SPKI PEM), and the [`KeyId`] each signature carries.
//! - [`dsse`]: the DSSE v1 envelope and its pre-authentication encoding.
//! - [`statement`]: the in-toto Statement v1, its `ResourceDescriptor`, and the SLSA
//!   Provenance v1 predicate.
//! - [`bundle`]: the Sigstore bundle v0.3 holding one DSSE envelope and a key hint.
//!
//! Which artifacts are attested, where they are stored and what `verify` concludes belong to
//! the orchestration, not here. `docs/attest.md` describes the formats for users.

pub mod bundle;
pub mod dsse;
pub mod keys;
pub mod statement;

pub use bundle::{Bundle, BundleError};
pub use dsse::{DsseError, Envelope, Verified};
pub use keys::{KeyAlgorithm, KeyError, KeyId, SignatureError, SigningKey, VerifyingKey};
pub use statement::{ResourceDescriptor, Statement, StatementError};

/// Decodes base64 as DSSE and protobuf JSON allow it: the standard or the URL-safe alphabet,
/// with or without padding.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::alphabet;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const CONFIG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);
    STANDARD.decode(s).or_else(|_| URL_SAFE.decode(s)).ok()
}

/// Encodes base64 as DSSE writers and protobuf JSON do: standard alphabet, padded.
fn encode_base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_read_in_either_alphabet_with_or_without_padding() {
        let bytes = [0xfb_u8, 0xff, 0xbf, 0x01];
        for s in ["+/+/AQ==", "+/+/AQ", "-_-_AQ==", "-_-_AQ"] {
            assert_eq!(decode_base64(s).as_deref(), Some(&bytes[..]), "{s}");
        }
        assert_eq!(encode_base64(&bytes), "+/+/AQ==");
        assert!(
            decode_base64("+/-_AQ==").is_none(),
            "one alphabet, not a mix"
        );
        assert!(decode_base64("not base64!").is_none());
    }
}
