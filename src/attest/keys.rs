//! Signing and verifying keys: ECDSA P-256 and Ed25519, read from PEM as OpenSSL and cosign
//! write them, and the [`KeyId`] each signature carries.
//!
//! - A [`SigningKey`] is read from an unencrypted PKCS#8 `PRIVATE KEY` (what
//!   `openssl genpkey` writes) and signs with `ring`. ECDSA signatures are ASN.1 DER over
//!   SHA-256, as cosign writes them; Ed25519 signs the message itself.
//! - A [`VerifyingKey`] is read from an SPKI `PUBLIC KEY` (what `openssl pkey -pubout` and
//!   `cosign generate-key-pair`'s `cosign.pub` hold), or taken from a signing key.
//! - A [`KeyId`] is the standard base64 of the SHA-256 of the key's SPKI DER: the key hint
//!   cosign and sigstore-go compute (RFC 6962's key ID), so the DSSE `keyid` and the
//!   Sigstore bundle's `publicKey.hint` are the same string for the same key.
//!
//! A private key never appears in `Debug` output or in an error: [`SigningKey`]'s `Debug`
//! shows the algorithm and key id only, and [`KeyError`] names what was wrong, never the
//! bytes it was wrong in.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self as ring_sig, KeyPair as _};
use rustls_pki_types::pem::{self, PemObject as _};
use rustls_pki_types::{PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer};
use sha2::Digest as _;
use spki::der::asn1::{AnyRef, BitStringRef, OctetStringRef};
use spki::der::{Decode as _, Encode as _, Reader as _, SliceReader};
use spki::{AlgorithmIdentifierRef, ObjectIdentifier, SubjectPublicKeyInfoRef};

/// The largest key file (or environment variable) read: a PEM key is a few hundred bytes.
pub const MAX_KEY_BYTES: u64 = 64 * 1024;

/// `id-ecPublicKey` (RFC 5480): an elliptic-curve key, the curve in the parameters.
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` (RFC 5480), the curve OpenSSL calls `prime256v1` and NIST P-256.
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `id-Ed25519` (RFC 8410).
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Names of key algorithms and curves envaudit does not sign with, for errors.
const KNOWN_OIDS: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.1", "RSA"),
    ("1.2.840.113549.1.1.10", "RSA-PSS"),
    ("1.3.132.0.34", "P-384"),
    ("1.3.132.0.35", "P-521"),
    ("1.3.132.0.10", "secp256k1"),
    ("1.3.101.113", "Ed448"),
    ("1.3.101.110", "X25519"),
    ("1.3.101.111", "X448"),
    ("1.2.840.10040.4.1", "DSA"),
];

fn oid_name(oid: &ObjectIdentifier) -> String {
    let dotted = oid.to_string();
    KNOWN_OIDS
        .iter()
        .find(|(o, _)| *o == dotted)
        .map_or_else(|| format!("OID {dotted}"), |(_, name)| (*name).to_owned())
}

/// The signature algorithms envaudit signs and verifies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 over SHA-256, signatures ASN.1 DER (cosign's default).
    EcdsaP256Sha256,
    /// Ed25519 (RFC 8032), signing the message itself.
    Ed25519,
}

impl KeyAlgorithm {
    /// A short name: `ecdsa-p256-sha256`, `ed25519`.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            KeyAlgorithm::Ed25519 => "ed25519",
        }
    }

    fn verification(self) -> &'static dyn ring_sig::VerificationAlgorithm {
        match self {
            KeyAlgorithm::EcdsaP256Sha256 => &ring_sig::ECDSA_P256_SHA256_ASN1,
            KeyAlgorithm::Ed25519 => &ring_sig::ED25519,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which key a signature claims to be made with: the standard base64 (with padding) of the
/// SHA-256 of the public key's SPKI DER.
///
/// It is the key hint cosign and sigstore-go put in a Sigstore bundle, so a bundle's
/// `publicKey.hint` and its DSSE signature's `keyid` are the same string, as the bundle
/// specification asks. A key id is a hint, not a proof: verification tries the keys it is
/// given, whatever the id says.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId {
    base64: String,
    sha256: [u8; 32],
}

impl KeyId {
    /// The key id of a public key given as SPKI DER.
    pub fn of_spki_der(spki_der: &[u8]) -> Self {
        let sha256: [u8; 32] = sha2::Sha256::digest(spki_der).into();
        KeyId {
            base64: base64::engine::general_purpose::STANDARD.encode(sha256),
            sha256,
        }
    }

    /// The key id as written in envelopes and bundles.
    pub fn as_str(&self) -> &str {
        &self.base64
    }

    /// The SHA-256 of the SPKI DER in lowercase hex, as `cosign bundle inspect` shows a
    /// hint and `openssl pkey -pubin -outform DER | sha256sum` prints it.
    pub fn sha256_hex(&self) -> String {
        crate::model::to_hex(&self.sha256)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base64)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.base64)
    }
}

/// Why a key could not be read. No variant holds key material: a message names the PEM
/// label, the algorithm or a fixed reason, never bytes of the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read key file `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The key file (or variable) is larger than [`MAX_KEY_BYTES`].
    #[error("the key is larger than {max} bytes, which no PEM key is")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// The key file or variable is not UTF-8 text, so it is not PEM.
    #[error("the key is not PEM text (not UTF-8)")]
    NotText,
    /// The key in a file was read but is not usable (the cause says why).
    #[error("key file `{}`", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why its key is not usable.
        #[source]
        source: Box<KeyError>,
    },
    /// The environment variable that should hold the PEM is not set.
    #[error("environment variable `{var}` is not set")]
    EnvNotSet {
        /// The variable.
        var: String,
    },
    /// The key in an environment variable was read but is not usable (the cause says why).
    #[error("key in environment variable `{var}`")]
    Env {
        /// The variable.
        var: String,
        /// Why its key is not usable.
        #[source]
        source: Box<KeyError>,
    },
    /// No PEM block of the expected label; `found` lists the labels there were.
    #[error("no PEM `{expected}` block found{}", found_labels(found))]
    NotFound {
        /// The label looked for: `PRIVATE KEY` or `PUBLIC KEY`.
        expected: &'static str,
        /// The labels of the PEM blocks found instead.
        found: Vec<String>,
    },
    /// The private key is an encrypted PKCS#8 `ENCRYPTED PRIVATE KEY`.
    #[error(
        "the private key is encrypted (`ENCRYPTED PRIVATE KEY`); envaudit reads unencrypted PKCS#8 keys"
    )]
    EncryptedPkcs8,
    /// The private key is in cosign's own encrypted format (scrypt and secretbox).
    #[error("`{label}` is cosign's encrypted key format, which envaudit cannot read")]
    CosignEncrypted {
        /// `ENCRYPTED SIGSTORE PRIVATE KEY` or `ENCRYPTED COSIGN PRIVATE KEY`.
        label: String,
    },
    /// The private key is a SEC1 `EC PRIVATE KEY` (`openssl ecparam -genkey` without the
    /// PKCS#8 step).
    #[error("the private key is a SEC1 `EC PRIVATE KEY`; envaudit reads PKCS#8 `PRIVATE KEY`")]
    Sec1,
    /// A public key was given where a private key is needed.
    #[error("a public key was given where the private key is needed")]
    PublicNotPrivate,
    /// A private key was given where a public key is needed.
    #[error("a private key was given where a public key is needed")]
    PrivateNotPublic,
    /// A certificate was given where a public key is needed.
    #[error("a certificate was given where a public key is needed")]
    CertificateNotPublic,
    /// More than one block of the label: which key is meant is ambiguous.
    #[error("more than one PEM `{label}` block")]
    Ambiguous {
        /// The repeated label.
        label: &'static str,
    },
    /// The PEM text is malformed.
    #[error("malformed PEM: {reason}")]
    Pem {
        /// What is wrong, in fixed words.
        reason: &'static str,
    },
    /// A key of an algorithm or curve envaudit does not sign with.
    #[error("unsupported key algorithm {algorithm}; envaudit uses ECDSA P-256 and Ed25519 keys")]
    UnsupportedAlgorithm {
        /// The algorithm or curve, by name or OID.
        algorithm: String,
    },
    /// The PKCS#8 structure is malformed or its key inconsistent (ring's reason).
    #[error("malformed private key: {reason}")]
    InvalidPrivateKey {
        /// What is wrong, in fixed words.
        reason: &'static str,
    },
    /// The SPKI structure or the key in it is malformed.
    #[error("malformed public key: {reason}")]
    InvalidPublicKey {
        /// What is wrong.
        reason: String,
    },
}

fn found_labels(found: &[String]) -> String {
    if found.is_empty() {
        " (no PEM block at all)".to_owned()
    } else {
        let labels: Vec<String> = found.iter().map(|l| format!("`{l}`")).collect();
        format!(" (found {})", labels.join(", "))
    }
}

impl KeyError {
    /// The exact command that fixes the problem, where there is one (for the CLI's `hint:`).
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            KeyError::File { source, .. } | KeyError::Env { source, .. } => return source.hint(),
            KeyError::EncryptedPkcs8 => "write a decrypted copy and use that (keep it as \
                 secret as the key): `openssl pkcs8 -in KEY -out key.pem`"
                .to_owned(),
            KeyError::CosignEncrypted { .. } => "cosign cannot export its keys unencrypted; \
                 make a key both tools read: `openssl genpkey -algorithm EC -pkeyopt \
                 ec_paramgen_curve:P-256 -out key.pem`, then `cosign import-key-pair --key \
                 key.pem` for cosign"
                .to_owned(),
            KeyError::Sec1 => {
                "convert it to PKCS#8: `openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem`"
                    .to_owned()
            }
            KeyError::PrivateNotPublic => {
                "give the public key: `openssl pkey -in KEY -pubout -out key.pub`".to_owned()
            }
            KeyError::CertificateNotPublic => {
                "give its public key: `openssl x509 -in CERT -pubkey -noout -out key.pub`"
                    .to_owned()
            }
            KeyError::UnsupportedAlgorithm { .. } => "make a key envaudit uses: `openssl \
                 genpkey -algorithm ed25519 -out key.pem` or `openssl genpkey -algorithm EC \
                 -pkeyopt ec_paramgen_curve:P-256 -out key.pem`"
                .to_owned(),
            KeyError::NotFound { expected, found }
                if *expected == "PRIVATE KEY" && found.is_empty() =>
            {
                "make a key: `openssl genpkey -algorithm ed25519 -out key.pem`".to_owned()
            }
            _ => return None,
        })
    }

    fn in_file(self, path: &Path) -> Self {
        match self {
            e @ (KeyError::Read { .. } | KeyError::File { .. }) => e,
            e => KeyError::File {
                path: path.to_owned(),
                source: Box::new(e),
            },
        }
    }

    fn in_env(self, var: &str) -> Self {
        KeyError::Env {
            var: var.to_owned(),
            source: Box::new(self),
        }
    }
}

/// Why a signature could not be made or did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature does not verify with the key: the message, the signature or the key
    /// is not the one signed with.
    #[error("the signature does not verify with key `{key_id}`")]
    Invalid {
        /// The key tried.
        key_id: KeyId,
    },
    /// The system's random number generator failed while signing with ECDSA.
    #[error("signing failed: no randomness from the operating system")]
    Signing,
}

/// The labels of the PEM blocks in `text`, in order (`-----BEGIN LABEL-----` lines).
fn pem_labels(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("-----BEGIN ")?
                .strip_suffix("-----")
                .map(str::to_owned)
        })
        .collect()
}

/// The PEM's block labels, when exactly one block is `label`; with none, the error `missing`
/// makes of the labels (which say what was given instead), with several `Ambiguous`.
fn one_block(
    pem: &str,
    label: &'static str,
    missing: fn(Vec<String>) -> KeyError,
) -> Result<Vec<String>, KeyError> {
    let labels = pem_labels(pem);
    match labels.iter().filter(|l| *l == label).count() {
        1 => Ok(labels),
        0 => Err(missing(labels)),
        _ => Err(KeyError::Ambiguous { label }),
    }
}

fn pem_error(e: &pem::Error) -> KeyError {
    KeyError::Pem {
        reason: match e {
            pem::Error::MissingSectionEnd { .. } => "a block has no `-----END` line",
            pem::Error::IllegalSectionStart { .. } => "a `-----BEGIN` line is malformed",
            pem::Error::Base64Decode(_) => "a block's body is not valid base64",
            pem::Error::SectionTooLarge => "a block is too large",
            _ => "unreadable PEM",
        },
    }
}

/// Reads a PEM key from a file, at most [`MAX_KEY_BYTES`].
fn read_key_file(path: &Path) -> Result<String, KeyError> {
    let read = |source| KeyError::Read {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_BYTES + 1).read_to_end(&mut bytes))
        .map_err(read)?;
    if bytes.len() as u64 > MAX_KEY_BYTES {
        return Err(KeyError::TooLarge { max: MAX_KEY_BYTES }.in_file(path));
    }
    String::from_utf8(bytes).map_err(|_| KeyError::NotText.in_file(path))
}

fn read_key_env(var: &str) -> Result<String, KeyError> {
    match std::env::var(var) {
        Ok(v) if v.len() as u64 > MAX_KEY_BYTES => {
            Err(KeyError::TooLarge { max: MAX_KEY_BYTES }.in_env(var))
        }
        Ok(v) => Ok(v),
        Err(std::env::VarError::NotPresent) => Err(KeyError::EnvNotSet {
            var: var.to_owned(),
        }),
        // The value is dropped unseen: it may be a key.
        Err(std::env::VarError::NotUnicode(_)) => Err(KeyError::NotText.in_env(var)),
    }
}

/// A private key that signs: ECDSA P-256 or Ed25519.
pub struct SigningKey {
    pair: Pair,
    public: VerifyingKey,
}

enum Pair {
    Ecdsa(ring_sig::EcdsaKeyPair, SystemRandom),
    Ed25519(ring_sig::Ed25519KeyPair),
}

impl SigningKey {
    /// Reads an unencrypted PKCS#8 `PRIVATE KEY` PEM, as `openssl genpkey` writes it.
    ///
    /// Encrypted keys (`ENCRYPTED PRIVATE KEY`, cosign's `ENCRYPTED SIGSTORE PRIVATE KEY`),
    /// SEC1 `EC PRIVATE KEY`s and public keys are refused with an error whose
    /// [`hint`](KeyError::hint) says how to get a usable key.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let labels = one_block(pem, "PRIVATE KEY", missing_private_key)?;
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| match e {
            pem::Error::NoItemsFound => missing_private_key(labels),
            e => pem_error(&e),
        })?;
        Self::from_pkcs8_der(der.secret_pkcs8_der())
    }

    /// Reads the key from a PEM file (at most [`MAX_KEY_BYTES`]).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        Self::from_pem(&read_key_file(path)?).map_err(|e| e.in_file(path))
    }

    /// Reads the key from the environment variable `var`, which holds the PEM text.
    pub fn from_env(var: &str) -> Result<Self, KeyError> {
        Self::from_pem(&read_key_env(var)?).map_err(|e| e.in_env(var))
    }

    /// Reads an unencrypted PKCS#8 `PrivateKeyInfo` (RFC 5958) in DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = match pkcs8_algorithm(der)? {
            KeyAlgorithm::EcdsaP256Sha256 => {
                let rng = SystemRandom::new();
                let pair = ring_sig::EcdsaKeyPair::from_pkcs8(
                    &ring_sig::ECDSA_P256_SHA256_ASN1_SIGNING,
                    der,
                    &rng,
                )
                .map_err(|e| KeyError::InvalidPrivateKey {
                    reason: key_rejected(&e),
                })?;
                Pair::Ecdsa(pair, rng)
            }
            // OpenSSL writes PKCS#8 v1 Ed25519 keys, without the public key that ring's
            // checked constructor wants; ring derives it.
            KeyAlgorithm::Ed25519 => Pair::Ed25519(
                ring_sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| {
                    KeyError::InvalidPrivateKey {
                        reason: key_rejected(&e),
                    }
                })?,
            ),
        };
        let public = match &pair {
            Pair::Ecdsa(p, _) => {
                VerifyingKey::from_raw(KeyAlgorithm::EcdsaP256Sha256, p.public_key().as_ref())
            }
            Pair::Ed25519(p) => {
                VerifyingKey::from_raw(KeyAlgorithm::Ed25519, p.public_key().as_ref())
            }
        };
        Ok(SigningKey { pair, public })
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.public.algorithm
    }

    /// The key id of its public key.
    pub fn key_id(&self) -> &KeyId {
        &self.public.key_id
    }

    /// The public key that verifies its signatures.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// Signs `message`: ECDSA over its SHA-256 (a DER signature, different at every call),
    /// or Ed25519 over the message itself (the same signature every time).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignatureError> {
        match &self.pair {
            Pair::Ecdsa(p, rng) => p
                .sign(rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignatureError::Signing),
            Pair::Ed25519(p) => Ok(p.sign(message).as_ref().to_vec()),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.public.algorithm)
            .field("key_id", &self.public.key_id)
            .finish_non_exhaustive()
    }
}

fn key_rejected(e: &ring::error::KeyRejected) -> &'static str {
    // ring's reasons are fixed words ("InvalidEncoding", "InconsistentComponents", ...).
    match e.to_string().as_str() {
        "InvalidEncoding" => "invalid encoding",
        "InconsistentComponents" => "the public key does not match the private key",
        "WrongAlgorithm" => "not a key of the algorithm its header names",
        "VersionNotSupported" => "unsupported PKCS#8 version",
        "PublicKeyIsMissing" => "the public key is missing",
        "UnexpectedError" => "unexpected error",
        _ => "rejected",
    }
}

/// Why there is no `PRIVATE KEY` block, from the labels there are.
fn missing_private_key(labels: Vec<String>) -> KeyError {
    for l in &labels {
        match l.as_str() {
            "ENCRYPTED PRIVATE KEY" => return KeyError::EncryptedPkcs8,
            "ENCRYPTED SIGSTORE PRIVATE KEY" | "ENCRYPTED COSIGN PRIVATE KEY" => {
                return KeyError::CosignEncrypted { label: l.clone() };
            }
            "EC PRIVATE KEY" => return KeyError::Sec1,
            "PUBLIC KEY" => return KeyError::PublicNotPrivate,
            "RSA PRIVATE KEY" => {
                return KeyError::UnsupportedAlgorithm {
                    algorithm: "RSA".to_owned(),
                };
            }
            _ => {}
        }
    }
    KeyError::NotFound {
        expected: "PRIVATE KEY",
        found: labels,
    }
}

/// The algorithm a PKCS#8 `PrivateKeyInfo` names, before ring reads the key.
fn pkcs8_algorithm(der: &[u8]) -> Result<KeyAlgorithm, KeyError> {
    let malformed = |_| KeyError::InvalidPrivateKey {
        reason: "not a PKCS#8 `PrivateKeyInfo`",
    };
    let mut reader = SliceReader::new(der).map_err(malformed)?;
    let algorithm = reader
        .sequence(|r| {
            let _version: u8 = r.decode()?;
            let algorithm: AlgorithmIdentifierRef<'_> = r.decode()?;
            let _key: &OctetStringRef = r.decode()?;
            // optional attributes [0] and public key [1] (PKCS#8 v2): read and left to ring
            while !r.is_finished() {
                let _: AnyRef<'_> = r.decode()?;
            }
            Ok::<_, spki::der::Error>(algorithm)
        })
        .map_err(malformed)?;
    reader.finish().map_err(malformed)?;
    key_algorithm(&algorithm).map_err(|e| match e {
        AlgorithmError::Unsupported(algorithm) => KeyError::UnsupportedAlgorithm { algorithm },
        AlgorithmError::Malformed(_) => KeyError::InvalidPrivateKey {
            reason: "malformed algorithm parameters",
        },
    })
}

enum AlgorithmError {
    Unsupported(String),
    Malformed(String),
}

/// Which of our algorithms an `AlgorithmIdentifier` names.
fn key_algorithm(alg: &AlgorithmIdentifierRef<'_>) -> Result<KeyAlgorithm, AlgorithmError> {
    if alg.oid == ID_ED25519 {
        // RFC 8410: the parameters are absent
        if alg.parameters.is_some() {
            return Err(AlgorithmError::Malformed(
                "Ed25519 parameters must be absent".to_owned(),
            ));
        }
        return Ok(KeyAlgorithm::Ed25519);
    }
    if alg.oid == ID_EC_PUBLIC_KEY {
        let curve = alg
            .parameters_oid()
            .map_err(|_| AlgorithmError::Unsupported("EC with explicit curve parameters".into()))?;
        if curve == SECP256R1 {
            return Ok(KeyAlgorithm::EcdsaP256Sha256);
        }
        return Err(AlgorithmError::Unsupported(format!(
            "ECDSA {}",
            oid_name(&curve)
        )));
    }
    Err(AlgorithmError::Unsupported(oid_name(&alg.oid)))
}

/// A public key that verifies signatures: ECDSA P-256 or Ed25519.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    algorithm: KeyAlgorithm,
    /// The SPKI DER, as re-encoded from its parts (DER has one encoding).
    spki_der: Vec<u8>,
    /// The key itself: the uncompressed point, or the 32 Ed25519 bytes.
    raw: Vec<u8>,
    key_id: KeyId,
}

impl VerifyingKey {
    /// Reads an SPKI `PUBLIC KEY` PEM (`openssl pkey -pubout`, cosign's `cosign.pub`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let labels = one_block(pem, "PUBLIC KEY", missing_public_key)?;
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes()).map_err(|e| match e {
            pem::Error::NoItemsFound => missing_public_key(labels),
            e => pem_error(&e),
        })?;
        Self::from_spki_der(&der)
    }

    /// Reads the key from a PEM file (at most [`MAX_KEY_BYTES`]).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        Self::from_pem(&read_key_file(path)?).map_err(|e| e.in_file(path))
    }

    /// Reads an SPKI `SubjectPublicKeyInfo` (RFC 5280) in DER.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::InvalidPublicKey { reason };
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| invalid(format!("not an SPKI `SubjectPublicKeyInfo` ({})", e.kind())))?;
        let algorithm = key_algorithm(&spki.algorithm).map_err(|e| match e {
            AlgorithmError::Unsupported(algorithm) => KeyError::UnsupportedAlgorithm { algorithm },
            AlgorithmError::Malformed(reason) => invalid(reason),
        })?;
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| invalid("the key's bit string is not whole bytes".to_owned()))?;
        match algorithm {
            KeyAlgorithm::EcdsaP256Sha256 => match raw.first() {
                Some(4) if raw.len() == 65 => {}
                Some(2 | 3) if raw.len() == 33 => {
                    return Err(invalid(
                        "compressed EC points are not supported; write the key with \
                         `openssl pkey -pubout` (uncompressed, the default)"
                            .to_owned(),
                    ));
                }
                _ => return Err(invalid("not a P-256 point".to_owned())),
            },
            KeyAlgorithm::Ed25519 if raw.len() != 32 => {
                return Err(invalid("an Ed25519 key is 32 bytes".to_owned()));
            }
            KeyAlgorithm::Ed25519 => {}
        }
        Ok(Self::from_raw(algorithm, raw))
    }

    /// The key from its algorithm and raw bytes (a P-256 uncompressed point or 32 Ed25519
    /// bytes), with the SPKI DER built from them.
    fn from_raw(algorithm: KeyAlgorithm, raw: &[u8]) -> Self {
        let (oid, parameters) = match algorithm {
            KeyAlgorithm::EcdsaP256Sha256 => (ID_EC_PUBLIC_KEY, Some(AnyRef::from(&SECP256R1))),
            KeyAlgorithm::Ed25519 => (ID_ED25519, None),
        };
        let spki = SubjectPublicKeyInfoRef {
            algorithm: AlgorithmIdentifierRef { oid, parameters },
            subject_public_key: BitStringRef::from_bytes(raw)
                .expect("a key of 33 to 65 bytes fits a bit string"),
        };
        let spki_der = spki.to_der().expect("an SPKI of a key encodes");
        VerifyingKey {
            algorithm,
            key_id: KeyId::of_spki_der(&spki_der),
            spki_der,
            raw: raw.to_vec(),
        }
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The key id: base64 of the SHA-256 of [`spki_der`](Self::spki_der).
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The SPKI DER of the key (what a `PUBLIC KEY` PEM holds).
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Checks `signature` over `message`: ECDSA P-256 SHA-256 with an ASN.1 DER signature, or
    /// Ed25519.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        ring_sig::UnparsedPublicKey::new(self.algorithm.verification(), &self.raw)
            .verify(message, signature)
            .map_err(|_| SignatureError::Invalid {
                key_id: self.key_id.clone(),
            })
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

fn missing_public_key(labels: Vec<String>) -> KeyError {
    for l in &labels {
        if l.ends_with("PRIVATE KEY") {
            return KeyError::PrivateNotPublic;
        }
        if l == "CERTIFICATE" {
            return KeyError::CertificateNotPublic;
        }
    }
    KeyError::NotFound {
        expected: "PUBLIC KEY",
        found: labels,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::process::Command;

    use super::*;

    /// Runs `openssl` with `args` in `dir`, which must succeed.
    pub(crate) fn openssl(dir: &Path, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is installed (scripts/test installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The ways of making a key the brief names, as (name, openssl commands) writing
    /// `key.pem`.
    pub(crate) const KEY_RECIPES: &[(&str, &[&[&str]])] = &[
        (
            "ed25519",
            &[&["genpkey", "-algorithm", "ed25519", "-out", "key.pem"]],
        ),
        (
            "p256-genpkey",
            &[&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "key.pem",
            ]],
        ),
        (
            "p256-ecparam-pkcs8",
            &[
                &[
                    "ecparam",
                    "-genkey",
                    "-name",
                    "prime256v1",
                    "-out",
                    "sec1.pem",
                ],
                &[
                    "pkcs8", "-topk8", "-nocrypt", "-in", "sec1.pem", "-out", "key.pem",
                ],
            ],
        ),
    ];

    /// A fresh key made by `openssl` with `recipe` in `dir`; returns the private and the
    /// public PEM (`openssl pkey -pubout`).
    pub(crate) fn openssl_key(dir: &Path, recipe: &[&[&str]]) -> (String, String) {
        for args in recipe {
            openssl(dir, args);
        }
        openssl(
            dir,
            &["pkey", "-in", "key.pem", "-pubout", "-out", "key.pub"],
        );
        (
            std::fs::read_to_string(dir.join("key.pem")).unwrap(),
            std::fs::read_to_string(dir.join("key.pub")).unwrap(),
        )
    }

    fn body_lines(pem: &str) -> Vec<&str> {
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    #[test]
    fn openssl_keys_sign_and_their_public_keys_verify() {
        for (name, recipe) in KEY_RECIPES {
            let dir = tempfile::tempdir().unwrap();
            let (private, public) = openssl_key(dir.path(), recipe);
            let key = SigningKey::from_pem(&private).unwrap_or_else(|e| panic!("{name}: {e}"));
            let public = VerifyingKey::from_pem(&public).unwrap();
            assert_eq!(key.verifying_key(), &public, "{name}: derived = openssl's");
            assert_eq!(key.key_id(), public.key_id());
            let sig = key.sign(b"message").unwrap();
            public.verify(b"message", &sig).unwrap();
            assert!(public.verify(b"messagE", &sig).is_err(), "{name}");
            let from_file = SigningKey::from_file(&dir.path().join("key.pem")).unwrap();
            assert_eq!(from_file.key_id(), key.key_id());
            let pub_file = VerifyingKey::from_file(&dir.path().join("key.pub")).unwrap();
            assert_eq!(&pub_file, &public);
        }
    }

    #[test]
    fn ecdsa_signatures_are_der_and_openssl_verifies_them() {
        let dir = tempfile::tempdir().unwrap();
        let (private, _) = openssl_key(dir.path(), KEY_RECIPES[1].1);
        let key = SigningKey::from_pem(&private).unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256Sha256);
        let sig = key.sign(b"hello").unwrap();
        assert_eq!(sig[0], 0x30, "an ASN.1 SEQUENCE");
        assert_ne!(sig, key.sign(b"hello").unwrap(), "ECDSA is randomised");
        std::fs::write(dir.path().join("msg"), b"hello").unwrap();
        std::fs::write(dir.path().join("sig"), &sig).unwrap();
        // openssl dgst -verify takes exactly a DER ECDSA signature over SHA-256
        openssl(
            dir.path(),
            &[
                "dgst",
                "-sha256",
                "-verify",
                "key.pub",
                "-signature",
                "sig",
                "msg",
            ],
        );
    }

    #[test]
    fn ed25519_signatures_match_openssl_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let (private, _) = openssl_key(dir.path(), KEY_RECIPES[0].1);
        let key = SigningKey::from_pem(&private).unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::Ed25519);
        std::fs::write(dir.path().join("msg"), b"hello").unwrap();
        openssl(
            dir.path(),
            &[
                "pkeyutl", "-sign", "-rawin", "-inkey", "key.pem", "-in", "msg", "-out", "sig",
            ],
        );
        let theirs = std::fs::read(dir.path().join("sig")).unwrap();
        assert_eq!(
            key.sign(b"hello").unwrap(),
            theirs,
            "Ed25519 is deterministic"
        );
    }

    #[test]
    fn key_id_is_base64_sha256_of_the_spki_der_openssl_writes() {
        let dir = tempfile::tempdir().unwrap();
        for (_, recipe) in KEY_RECIPES {
            let (_, public) = openssl_key(dir.path(), recipe);
            openssl(
                dir.path(),
                &[
                    "pkey", "-pubin", "-in", "key.pub", "-outform", "DER", "-out", "key.der",
                ],
            );
            let der = std::fs::read(dir.path().join("key.der")).unwrap();
            let key = VerifyingKey::from_pem(&public).unwrap();
            assert_eq!(key.spki_der(), der);
            assert_eq!(
                key.key_id().sha256_hex(),
                crate::model::Digest::sha256_of(&der).hex()
            );
            assert_eq!(
                key.key_id().as_str(),
                base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&der))
            );
        }
    }

    #[test]
    fn a_known_key_has_a_known_key_id() {
        // RFC 8410's example Ed25519 public key.
        let pem = "-----BEGIN PUBLIC KEY-----\n\
                   MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n\
                   -----END PUBLIC KEY-----\n";
        let key = VerifyingKey::from_pem(pem).unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::Ed25519);
        insta::assert_snapshot!(key.key_id(), @"oekVYFTgT6yJmunydRMs3Ael28TqLCrTof/G4NJTaB8=");
        insta::assert_snapshot!(key.key_id().sha256_hex(), @"a1e9156054e04fac899ae9f275132cdc07a5dbc4ea2c2ad3a1ffc6e0d253681f");
    }

    #[test]
    fn unusable_private_keys_say_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        openssl(d, &["genpkey", "-algorithm", "ed25519", "-out", "key.pem"]);
        openssl(
            d,
            &[
                "pkcs8", "-topk8", "-in", "key.pem", "-passout", "pass:x", "-out", "enc.pem",
            ],
        );
        openssl(
            d,
            &[
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-out",
                "sec1.pem",
            ],
        );
        openssl(
            d,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
                "-out",
                "rsa.pem",
            ],
        );
        openssl(
            d,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-out",
                "p384.pem",
            ],
        );
        openssl(d, &["pkey", "-in", "key.pem", "-pubout", "-out", "key.pub"]);
        let err = |f: &str| SigningKey::from_file(&d.join(f)).unwrap_err();
        let msg = |e: &KeyError| {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(c) = src {
                s = format!("{s}: {c}");
                src = c.source();
            }
            s.replace(&d.display().to_string(), "DIR")
        };
        let e = err("enc.pem");
        insta::assert_snapshot!(msg(&e), @"key file `DIR/enc.pem`: the private key is encrypted (`ENCRYPTED PRIVATE KEY`); envaudit reads unencrypted PKCS#8 keys");
        insta::assert_snapshot!(e.hint().unwrap(), @"write a decrypted copy and use that (keep it as secret as the key): `openssl pkcs8 -in KEY -out key.pem`");
        let e = err("sec1.pem");
        insta::assert_snapshot!(msg(&e), @"key file `DIR/sec1.pem`: the private key is a SEC1 `EC PRIVATE KEY`; envaudit reads PKCS#8 `PRIVATE KEY`");
        insta::assert_snapshot!(e.hint().unwrap(), @"convert it to PKCS#8: `openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem`");
        insta::assert_snapshot!(msg(&err("rsa.pem")), @"key file `DIR/rsa.pem`: unsupported key algorithm RSA; envaudit uses ECDSA P-256 and Ed25519 keys");
        insta::assert_snapshot!(msg(&err("p384.pem")), @"key file `DIR/p384.pem`: unsupported key algorithm ECDSA P-384; envaudit uses ECDSA P-256 and Ed25519 keys");
        insta::assert_snapshot!(msg(&err("key.pub")), @"key file `DIR/key.pub`: a public key was given where the private key is needed");
        let cosign = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n\
                      eyJrZGYiOnsibmFtZSI6InNjcnlwdCJ9fQ==\n\
                      -----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
        let e = SigningKey::from_pem(cosign).unwrap_err();
        insta::assert_snapshot!(msg(&e), @"`ENCRYPTED SIGSTORE PRIVATE KEY` is cosign's encrypted key format, which envaudit cannot read");
        insta::assert_snapshot!(e.hint().unwrap(), @"cosign cannot export its keys unencrypted; make a key both tools read: `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem`, then `cosign import-key-pair --key key.pem` for cosign");
        insta::assert_snapshot!(msg(&SigningKey::from_pem("").unwrap_err()), @"no PEM `PRIVATE KEY` block found (no PEM block at all)");
        insta::assert_snapshot!(
            msg(&SigningKey::from_file(&d.join("missing.pem")).unwrap_err()),
            @"cannot read key file `DIR/missing.pem`: No such file or directory (os error 2)"
        );
        // a public-key reader given a private key
        let e = VerifyingKey::from_file(&d.join("key.pem")).unwrap_err();
        insta::assert_snapshot!(msg(&e), @"key file `DIR/key.pem`: a private key was given where a public key is needed");
        insta::assert_snapshot!(e.hint().unwrap(), @"give the public key: `openssl pkey -in KEY -pubout -out key.pub`");
    }

    /// Run by [`keys_come_from_environment_variables`] in a child process with the
    /// variables set (the crate forbids the `unsafe` that setting them in-process needs).
    #[test]
    #[ignore = "run by keys_come_from_environment_variables"]
    fn env_child() {
        let out = std::env::var_os("ENVAUDIT_KEY_ENV_CHILD").expect("run by the parent test");
        let report = [
            "ENVAUDIT_TEST_KEY_SET",
            "ENVAUDIT_TEST_KEY_PUBLIC",
            "ENVAUDIT_TEST_KEY_UNSET",
        ]
        .map(|var| match SigningKey::from_env(var) {
            Ok(k) => format!("ok {}", k.key_id()),
            Err(e) => match std::error::Error::source(&e) {
                Some(cause) => format!("{e}: {cause}"),
                None => e.to_string(),
            },
        });
        std::fs::write(out, report.join("\n")).unwrap();
    }

    #[test]
    fn keys_come_from_environment_variables() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = openssl_key(dir.path(), KEY_RECIPES[0].1);
        let out = dir.path().join("report");
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "attest::keys::tests::env_child",
                "--ignored",
                "-q",
            ])
            .env("ENVAUDIT_KEY_ENV_CHILD", &out)
            .env("ENVAUDIT_TEST_KEY_SET", &private)
            .env("ENVAUDIT_TEST_KEY_PUBLIC", &public)
            .env_remove("ENVAUDIT_TEST_KEY_UNSET")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let report = std::fs::read_to_string(out).unwrap();
        let lines: Vec<&str> = report.lines().collect();
        let id = SigningKey::from_pem(&private).unwrap().key_id().to_string();
        assert_eq!(lines[0], format!("ok {id}"));
        insta::assert_snapshot!(lines[1], @"key in environment variable `ENVAUDIT_TEST_KEY_PUBLIC`: a public key was given where the private key is needed");
        insta::assert_snapshot!(lines[2], @"environment variable `ENVAUDIT_TEST_KEY_UNSET` is not set");
    }

    #[test]
    fn no_error_or_debug_output_shows_the_private_key() {
        let dir = tempfile::tempdir().unwrap();
        for (name, recipe) in KEY_RECIPES {
            let (private, _) = openssl_key(dir.path(), recipe);
            let secret = body_lines(&private);
            let key = SigningKey::from_pem(&private).unwrap();
            let der = PrivatePkcs8KeyDer::from_pem_slice(private.as_bytes()).unwrap();
            let der = der.secret_pkcs8_der().to_vec();
            let hex = crate::model::to_hex(&der);
            let mut shown = vec![format!("{key:?}"), format!("{:?}", key.verifying_key())];
            // Broken copies of the key: a flipped base64 character, a bad character, a
            // truncated body, two keys, the DER with a byte changed.
            let mut broken = vec![
                private.replacen(&secret[0][4..8], "!!!!", 1),
                private.replacen(&secret[0][10..14], "AAAA", 1),
                private.replace("-----END PRIVATE KEY-----", ""),
                format!("{private}{private}"),
                private.replacen(&secret[0][..8], "", 1),
            ];
            broken.push(private.replace("PRIVATE KEY", "EC PRIVATE KEY"));
            for text in &broken {
                if let Err(e) = SigningKey::from_pem(text) {
                    shown.push(format!("{e} {e:?}"));
                }
            }
            for i in [0, 10, der.len() / 2, der.len() - 1] {
                let mut bad = der.clone();
                bad[i] ^= 0x55;
                if let Err(e) = SigningKey::from_pkcs8_der(&bad) {
                    shown.push(format!("{e} {e:?}"));
                }
            }
            assert!(shown.len() > 5, "{name}: the broken keys are refused");
            for s in &shown {
                for line in &secret {
                    // every 12-character window of the body
                    for w in line.as_bytes().windows(12) {
                        let w = std::str::from_utf8(w).unwrap();
                        assert!(!s.contains(w), "{name}: `{s}` shows key text `{w}`");
                    }
                }
                for w in hex.as_bytes().windows(16) {
                    let w = std::str::from_utf8(w).unwrap();
                    assert!(
                        !s.to_lowercase().contains(w),
                        "{name}: `{s}` shows key bytes"
                    );
                }
                assert!(!s.contains(&format!("{:?}", &der[der.len() - 8..])));
            }
        }
    }

    #[test]
    fn malformed_public_keys_are_refused() {
        let bad = [
            "",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n",
            // an Ed25519 key one byte short
            "-----BEGIN PUBLIC KEY-----\nMCkwBQYDK2VwAyAAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZg==\n-----END PUBLIC KEY-----\n",
        ];
        for b in bad {
            assert!(VerifyingKey::from_pem(b).is_err(), "{b}");
        }
        assert!(VerifyingKey::from_spki_der(&[0x30, 0x00]).is_err());
    }
}
