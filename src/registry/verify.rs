//! Readers that check content against its digest and size while it streams through.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use crate::model::{Digest, DigestHasher};

/// Content did not match what its descriptor promised.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IntegrityError {
    /// The content hashes to another digest than the one that named it (or the registry
    /// claims another digest for what it stored).
    #[error("digest mismatch for {what}: expected `{expected}`, got `{actual}`")]
    DigestMismatch {
        /// What the content is, for the message: `layer`, `config`, ``manifest `…` ``.
        what: String,
        /// The digest the content was asked for by.
        expected: Digest,
        /// The digest it actually has.
        actual: Digest,
    },
    /// The stream ended before the size its descriptor declares.
    #[error("{what} `{digest}` ended after {read} of {expected} bytes")]
    Truncated {
        /// What the content is, for the message: `layer`, `blob`, `config`.
        what: String,
        /// The digest of the content.
        digest: Digest,
        /// How many bytes arrived.
        read: u64,
        /// How many bytes the descriptor declares.
        expected: u64,
    },
    /// The stream ran past the size its descriptor declares (it is cut off there).
    #[error("{what} `{digest}` is longer than the {expected} bytes its descriptor declares")]
    TooLong {
        /// What the content is, for the message: `layer`, `blob`, `config`.
        what: String,
        /// The digest of the content.
        digest: Digest,
        /// How many bytes the descriptor declares.
        expected: u64,
    },
}

/// An [`AsyncRead`] that hashes what passes through and fails at the end (instead of
/// returning end-of-file) when the content is not `digest`, or not `size` bytes long. It
/// holds no buffer of its own: memory stays that of the caller's buffer.
///
/// The error is an `io::Error` of kind `InvalidData` wrapping an [`IntegrityError`].
pub struct VerifyingReader<R> {
    inner: R,
    what: &'static str,
    expected: Digest,
    size: Option<u64>,
    hasher: Option<DigestHasher>,
    read: u64,
}

impl<R> VerifyingReader<R> {
    /// Wrap `inner`, expecting it to hash to `expected` and, when `size` is given, to be
    /// exactly `size` bytes long. `what` names the content in errors (`layer`, `blob`).
    pub fn new(inner: R, what: &'static str, expected: Digest, size: Option<u64>) -> Self {
        let hasher = DigestHasher::new(expected.algorithm());
        Self {
            inner,
            what,
            expected,
            size,
            hasher: Some(hasher),
            read: 0,
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Counts and hashes bytes just read; fails when they run past the declared size.
    fn account(&mut self, new: &[u8]) -> io::Result<()> {
        self.read += new.len() as u64;
        if let Some(size) = self.size
            && self.read > size
        {
            self.hasher = None;
            return Err(Self::fail(IntegrityError::TooLong {
                what: self.what.to_owned(),
                digest: self.expected.clone(),
                expected: size,
            }));
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(new);
        }
        Ok(())
    }

    fn fail(e: IntegrityError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    fn finish(&mut self) -> io::Result<()> {
        let Some(hasher) = self.hasher.take() else {
            return Ok(());
        };
        if let Some(size) = self.size
            && self.read < size
        {
            return Err(Self::fail(IntegrityError::Truncated {
                what: self.what.to_owned(),
                digest: self.expected.clone(),
                read: self.read,
                expected: size,
            }));
        }
        let actual = hasher.finish();
        if actual != self.expected {
            return Err(Self::fail(IntegrityError::DigestMismatch {
                what: self.what.to_owned(),
                expected: self.expected.clone(),
                actual,
            }));
        }
        Ok(())
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for VerifyingReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.hasher.is_none() {
            // Verified (or failed) already: stay at end-of-file.
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => {
                this.hasher = None;
                Poll::Ready(Err(e))
            }
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[before..];
                if new.is_empty() {
                    return Poll::Ready(this.finish());
                }
                let accounted = this.account(&buf.filled()[before..]);
                if let Err(e) = accounted {
                    buf.set_filled(before);
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(()))
            }
        }
    }
}

/// The same checks for a blocking reader (a local file read by the thread that walks it).
impl<R: io::Read> io::Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.hasher.is_none() {
            return Ok(0);
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                self.hasher = None;
                return Err(e);
            }
        };
        if n == 0 {
            self.finish()?;
            return Ok(0);
        }
        self.account(&buf[..n])?;
        Ok(n)
    }
}

/// The [`IntegrityError`] inside an `io::Error` from a [`VerifyingReader`], if that is what it is.
pub fn integrity_error(e: &io::Error) -> Option<&IntegrityError> {
    e.get_ref()?.downcast_ref::<IntegrityError>()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_blocking_reader_checks_digest_and_size() {
        let data = b"layer bytes".to_vec();
        let d = Digest::sha256_of(&data);
        let read = |bytes: &[u8], size| {
            let mut r = VerifyingReader::new(bytes, "layer", d.clone(), size);
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut out).map(|_| out)
        };
        assert_eq!(read(&data, Some(11)).unwrap(), data);
        let e = read(b"layer bytez", Some(11)).unwrap_err();
        assert!(matches!(
            integrity_error(&e),
            Some(IntegrityError::DigestMismatch { .. })
        ));
        let e = read(&data, Some(5)).unwrap_err();
        assert!(matches!(
            integrity_error(&e),
            Some(IntegrityError::TooLong { .. })
        ));
        let e = read(&data[..4], Some(11)).unwrap_err();
        assert!(matches!(
            integrity_error(&e),
            Some(IntegrityError::Truncated { .. })
        ));
    }

    use tokio::io::AsyncReadExt as _;

    use super::*;

    fn read_all(data: &[u8], digest: Digest, size: Option<u64>) -> io::Result<Vec<u8>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut r = VerifyingReader::new(data, "blob", digest, size);
            let mut out = Vec::new();
            r.read_to_end(&mut out).await.map(|_| out)
        })
    }

    #[test]
    fn matching_content_reads_through() {
        let d = Digest::sha256_of(b"hello");
        assert_eq!(read_all(b"hello", d, Some(5)).unwrap(), b"hello");
    }

    #[test]
    fn wrong_content_names_expected_and_actual_digest() {
        let d = Digest::sha256_of(b"hello");
        let e = read_all(b"hellO", d, Some(5)).unwrap_err();
        insta::assert_snapshot!(integrity_error(&e).unwrap(), @"digest mismatch for blob: expected `sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824`, got `sha256:04a6f55face2f46be8c23f627d539827615851e10751b63ec59db6d2c706b770`");
    }

    #[test]
    fn short_and_long_content_are_errors() {
        let d = Digest::sha256_of(b"hello");
        let e = read_all(b"hel", d.clone(), Some(5)).unwrap_err();
        assert!(matches!(
            integrity_error(&e),
            Some(IntegrityError::Truncated {
                read: 3,
                expected: 5,
                ..
            })
        ));
        let e = read_all(b"hello!", d, Some(5)).unwrap_err();
        assert!(matches!(
            integrity_error(&e),
            Some(IntegrityError::TooLong { .. })
        ));
    }
}
