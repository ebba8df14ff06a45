use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A content digest `algorithm:hex`, e.g. `sha256:e3b0…`. Only sha256 and sha512 are
/// accepted, with lowercase hex of the right length.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    algorithm: DigestAlgorithm,
    hex: String,
}

/// The hash function of a [`Digest`]; the two that OCI registries use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DigestAlgorithm {
    /// SHA-256, written with 64 hex digits.
    Sha256,
    /// SHA-512, written with 128 hex digits.
    Sha512,
}

/// Why a string is not a [`Digest`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The string (held here) has no `:`, so no algorithm name before the hex.
    #[error("digest `{0}` has no `algorithm:` prefix")]
    MissingAlgorithm(String),
    /// The algorithm before the `:` (held here) is neither `sha256` nor `sha512`.
    #[error("unsupported digest algorithm `{0}` (expected `sha256` or `sha512`)")]
    UnsupportedAlgorithm(String),
    /// The hex part has the wrong length or a character outside `0-9a-f`
    /// (uppercase hex is rejected).
    #[error("digest `{digest}` must have {expected} lowercase hex characters")]
    BadHex {
        /// The whole digest string, as given.
        digest: String,
        /// How many hex digits the algorithm needs: 64 for sha256, 128 for sha512.
        expected: usize,
    },
}

impl Digest {
    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self {
            algorithm: DigestAlgorithm::Sha256,
            hex: to_hex(&sha2::Sha256::digest(bytes)),
        }
    }

    /// The sha256 digest of everything `reader` yields, read in blocks.
    pub fn sha256_of_reader(mut reader: impl std::io::Read) -> std::io::Result<Self> {
        let mut h = DigestHasher::new(DigestAlgorithm::Sha256);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(h.finish()),
                Ok(n) => h.update(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// A sha256 digest from an already computed hash value.
    pub fn from_sha256_bytes(bytes: &[u8]) -> Self {
        Self {
            algorithm: DigestAlgorithm::Sha256,
            hex: to_hex(bytes),
        }
    }

    /// The hash function this digest was computed with.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// `ALG:` and the first 12 hex digits, for messages.
    pub fn short(&self) -> String {
        let hex = self.hex();
        format!("{}:{}", self.algorithm.name(), &hex[..hex.len().min(12)])
    }

    /// The hex digits after the `:`, in lowercase.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

/// A running hash that ends in a [`Digest`] of the same algorithm as the one it checks.
#[derive(Clone)]
pub enum DigestHasher {
    /// A running SHA-256.
    Sha256(sha2::Sha256),
    /// A running SHA-512.
    Sha512(sha2::Sha512),
}

impl DigestHasher {
    /// A hasher for `algorithm`, with nothing hashed yet.
    pub fn new(algorithm: DigestAlgorithm) -> Self {
        use sha2::Digest as _;
        match algorithm {
            DigestAlgorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha512 => Self::Sha512(sha2::Sha512::new()),
        }
    }

    /// Feeds the next `bytes` of the content.
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest as _;
        match self {
            Self::Sha256(h) => h.update(bytes),
            Self::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        use sha2::Digest as _;
        match self {
            Self::Sha256(h) => Digest {
                algorithm: DigestAlgorithm::Sha256,
                hex: to_hex(&h.finalize()),
            },
            Self::Sha512(h) => Digest {
                algorithm: DigestAlgorithm::Sha512,
                hex: to_hex(&h.finalize()),
            },
        }
    }
}

impl Digest {
    /// The digest of `bytes` with the same algorithm as `self`, to check content against it.
    #[must_use]
    pub fn recompute(&self, bytes: &[u8]) -> Digest {
        let mut h = DigestHasher::new(self.algorithm);
        h.update(bytes);
        h.finish()
    }
}

/// Lowercase hex of bytes (sha2 0.11 no longer formats digests as hex itself).
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (alg, hex) = s
            .split_once(':')
            .ok_or_else(|| DigestError::MissingAlgorithm(s.to_owned()))?;
        let (algorithm, len) = match alg {
            "sha256" => (DigestAlgorithm::Sha256, 64),
            "sha512" => (DigestAlgorithm::Sha512, 128),
            other => return Err(DigestError::UnsupportedAlgorithm(other.to_owned())),
        };
        if hex.len() != len || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::BadHex {
                digest: s.to_owned(),
                expected: len,
            });
        }
        Ok(Self {
            algorithm,
            hex: hex.to_owned(),
        })
    }
}

super::serde_via_string!(Digest, DigestError);

impl DigestAlgorithm {
    /// The name digests spell it with: `sha256`, `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input_is_the_known_value() {
        assert_eq!(
            Digest::sha256_of(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn reader_digest_equals_slice_digest() {
        let data = vec![7u8; 200_000];
        assert_eq!(
            Digest::sha256_of_reader(&data[..]).unwrap(),
            Digest::sha256_of(&data)
        );
    }

    #[test]
    fn uppercase_or_short_hex_is_rejected() {
        assert!("sha256:ABC".parse::<Digest>().is_err());
        assert!("md5:abc".parse::<Digest>().is_err());
        assert!("e3b0".parse::<Digest>().is_err());
    }
}
