//! Streaming a layer tar (uncompressed, gzip or zstd) into [`LayerFacts`], optionally
//! hashing its uncompressed stream (its `diff_id`) on the way.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use super::{Entry, EntryKind, Findings, FsFinding, Interest, LayerFacts, Limits, interest};
use crate::model::{DigestAlgorithm, DigestHasher};

/// A layer's compression, detected from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (magic `1f 8b`).
    Gzip,
    /// zstd (magic `28 b5 2f fd`).
    Zstd,
}

impl Compression {
    /// The compression the first bytes announce; anything else is taken as a plain tar.
    pub fn detect(magic: &[u8]) -> Compression {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Why the budget reader refused to read on.
#[derive(Clone, Copy, Debug)]
enum Stop {
    Size,
    Header,
}

/// Counts decompressed bytes; refuses to read past the layer limit, or past the header
/// limit while the tar reader is between entries (PAX records and GNU long names are read
/// into memory by the tar reader).
#[derive(Debug, Default)]
struct Budget {
    total: Cell<u64>,
    header_start: Cell<Option<u64>>,
    stop: Cell<Option<Stop>>,
    /// Whether the stream ended (a read returned nothing).
    eof: Cell<bool>,
}

struct BudgetReader<R> {
    inner: R,
    budget: Rc<Budget>,
    max_total: u64,
    max_header: u64,
}

impl<R: Read> Read for BudgetReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let b = &self.budget;
        let total = b.total.get();
        let mut allowed = self.max_total.saturating_sub(total).saturating_add(1);
        if let Some(start) = b.header_start.get() {
            allowed = allowed.min(
                self.max_header
                    .saturating_sub(total - start)
                    .saturating_add(1),
            );
        }
        let want = buf
            .len()
            .min(usize::try_from(allowed).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 && want > 0 {
            b.eof.set(true);
        }
        let total = total + n as u64;
        b.total.set(total);
        if total > self.max_total {
            b.stop.set(Some(Stop::Size));
            return Err(io::Error::other("layer size limit reached"));
        }
        if let Some(start) = b.header_start.get()
            && total - start > self.max_header
        {
            b.stop.set(Some(Stop::Header));
            return Err(io::Error::other("tar header limit reached"));
        }
        Ok(n)
    }
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the stream.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Walks one layer (a tar stream, compressed or not) and keeps the facts the catalogers
/// need. Never fails: an unreadable or malformed layer, or one that hits a limit, gives
/// facts with a finding and a partial reason.
///
/// When the archive ends before the stream does, the rest of the stream is read (not
/// decompressed), so that a reader which verifies a digest at its end gets to check it.
pub fn walk<R: Read>(raw: R, limits: &Limits) -> LayerFacts {
    walk_layer(raw, limits, None)
}

/// [`walk`], also hashing the layer's uncompressed tar stream with `algorithm` as it is
/// read: the digest, to be compared with the layer's `diff_id`, is in
/// [`LayerFacts::diff_id`]. The stream is decompressed and hashed to its very end (past the
/// archive's end-of-archive marker, through any padding), and then the compressed stream is
/// read to its end too. When the walk stops early (a limit, a malformed or truncated
/// stream, a failed compressed digest), `diff_id` is `None` and the facts are partial.
///
/// The cost is one SHA-256 pass over the uncompressed bytes on the walking thread (with
/// the CPU's SHA extensions when it has them); `docs/performance.md` has the figures.
pub fn walk_hashed<R: Read>(raw: R, limits: &Limits, algorithm: DigestAlgorithm) -> LayerFacts {
    walk_layer(raw, limits, Some(algorithm))
}

fn walk_layer<R: Read>(
    mut raw: R,
    limits: &Limits,
    algorithm: Option<DigestAlgorithm>,
) -> LayerFacts {
    let mut findings = Findings::default();
    let mut magic = [0u8; 4];
    let n = match read_up_to(&mut raw, &mut magic) {
        Ok(n) => n,
        Err(e) => {
            findings.push(
                FsFinding::Malformed {
                    message: format!("cannot read the layer: {e}"),
                },
                limits.max_findings,
            );
            return finish(LayerFacts::default(), findings);
        }
    };
    let stream = io::Cursor::new(magic[..n].to_vec()).chain(&mut raw);
    let decoded: Box<dyn Read + '_> = match Compression::detect(&magic[..n]) {
        Compression::None => Box::new(stream),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(stream)),
        Compression::Zstd => match zstd::stream::read::Decoder::new(stream) {
            Ok(mut d) => {
                // Bounds the decoder's window, and so its memory.
                let _ = d.window_log_max(limits.max_zstd_window_log);
                Box::new(d)
            }
            Err(e) => {
                findings.push(
                    FsFinding::Malformed {
                        message: format!("zstd: {e}"),
                    },
                    limits.max_findings,
                );
                return finish(LayerFacts::default(), findings);
            }
        },
    };
    let budget = Rc::new(Budget::default());
    let mut reader = BudgetReader {
        inner: Hashing {
            inner: decoded,
            hasher: algorithm.map(DigestHasher::new),
        },
        budget: Rc::clone(&budget),
        max_total: limits.max_layer_bytes,
        max_header: limits.max_header_bytes,
    };
    let mut facts = LayerFacts::default();
    walk_tar(&mut reader, &budget, limits, &mut facts, &mut findings);
    if findings.partial.is_none() && reader.inner.hasher.is_some() {
        // The uncompressed stream goes on past the end-of-archive marker (padding to the
        // record size, at least): its digest covers all of it.
        match drain(&mut reader, &mut vec![0u8; 64 * 1024]) {
            Ok(()) => facts.diff_id = reader.inner.hasher.take().map(DigestHasher::finish),
            Err(e) => {
                let finding = match read_error(&e, &budget, limits) {
                    FsFinding::Malformed { message } => FsFinding::Malformed {
                        message: format!("the stream failed after the archive ended: {message}"),
                    },
                    other => other,
                };
                findings.push(finding, limits.max_findings);
            }
        }
    }
    drop(reader);
    facts.bytes_read = budget.total.get();
    if findings.partial.is_none()
        && let Err(e) = io::copy(
            &mut (&mut raw).take(limits.max_layer_bytes),
            &mut io::sink(),
        )
    {
        findings.push(
            FsFinding::Malformed {
                message: format!("the stream failed after the archive ended: {e}"),
            },
            limits.max_findings,
        );
    }
    finish(facts, findings)
}

fn finish(mut facts: LayerFacts, findings: Findings) -> LayerFacts {
    let (kept, partial) = findings.finish();
    facts.findings = kept;
    if partial.is_some() {
        // A digest of part of the stream is no layer's diff_id.
        facts.diff_id = None;
    }
    facts.partial = partial;
    facts
}

/// Hashes what passes through, when it has a hasher.
struct Hashing<R> {
    inner: R,
    hasher: Option<DigestHasher>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

fn read_error(e: &io::Error, budget: &Budget, limits: &Limits) -> FsFinding {
    match budget.stop.get() {
        Some(Stop::Size) => FsFinding::SizeLimit {
            limit: limits.max_layer_bytes,
        },
        Some(Stop::Header) => FsFinding::HeaderTooLarge {
            limit: limits.max_header_bytes,
        },
        None => FsFinding::Malformed {
            message: e.to_string(),
        },
    }
}

fn walk_tar<R: Read>(
    reader: &mut R,
    budget: &Budget,
    limits: &Limits,
    facts: &mut LayerFacts,
    findings: &mut Findings,
) {
    let mut archive = tar::Archive::new(reader);
    let mut entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => {
            findings.push(read_error(&e, budget, limits), limits.max_findings);
            return;
        }
    };
    let mut scratch = vec![0u8; 64 * 1024];
    let mut kept = 0u64;
    loop {
        budget.header_start.set(Some(budget.total.get()));
        let next = entries.next();
        budget.header_start.set(None);
        let mut entry = match next {
            None => {
                if budget.eof.get() {
                    findings.push(
                        FsFinding::Malformed {
                            message: "the archive ends without its end-of-archive marker; it may be truncated".into(),
                        },
                        limits.max_findings,
                    );
                }
                return;
            }
            Some(Ok(entry)) => entry,
            Some(Err(e)) => {
                findings.push(read_error(&e, budget, limits), limits.max_findings);
                return;
            }
        };
        facts.entry_count += 1;
        if facts.entry_count > limits.max_entries {
            findings.push(
                FsFinding::TooManyEntries {
                    limit: limits.max_entries,
                },
                limits.max_findings,
            );
            return;
        }
        let content_start = budget.total.get();
        let declared = entry.size();
        let sparse = entry.header().entry_type() == tar::EntryType::GNUSparse;
        let fact = entry_fact(&mut entry, limits, findings);
        // Drain what was not read, so that the next header read is all header.
        let drained = drain(&mut entry, &mut scratch);
        let short = !sparse && budget.total.get() - content_start < declared;
        let fact = match (fact, drained) {
            (Err(e), _) | (_, Err(e)) => Err(e),
            (Ok(_), Ok(())) if short => {
                findings.push(
                    FsFinding::Malformed {
                        message: "the archive ends inside an entry; it is truncated".into(),
                    },
                    limits.max_findings,
                );
                return;
            }
            (Ok(f), Ok(())) => Ok(f),
        };
        match fact {
            Ok(Some(fact)) => {
                if let EntryKind::File {
                    content: Some(c), ..
                } = &fact.kind
                {
                    kept += c.len() as u64;
                    if kept > limits.max_kept_bytes {
                        findings.push(
                            FsFinding::KeptLimit {
                                limit: limits.max_kept_bytes,
                            },
                            limits.max_findings,
                        );
                        return;
                    }
                }
                facts.entries.push(fact);
            }
            Ok(None) => {}
            Err(e) => {
                findings.push(read_error(&e, budget, limits), limits.max_findings);
                return;
            }
        }
    }
}

/// Reads `r` to its end through `buf`, keeping nothing.
fn drain(r: &mut impl Read, buf: &mut [u8]) -> io::Result<()> {
    loop {
        match r.read(buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn utf8_path(bytes: &[u8], limits: &Limits, findings: &mut Findings) -> Option<String> {
    if bytes.len() > limits.max_path_len {
        findings.push(
            FsFinding::PathTooLong {
                len: bytes.len(),
                limit: limits.max_path_len,
            },
            limits.max_findings,
        );
        return None;
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        Some(s.to_owned())
    } else {
        findings.push(
            FsFinding::NonUtf8Name {
                lossy: String::from_utf8_lossy(bytes).into_owned(),
            },
            limits.max_findings,
        );
        None
    }
}

/// The fact one tar entry contributes, if any; reads the wanted part of its content.
fn entry_fact<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    limits: &Limits,
    findings: &mut Findings,
) -> io::Result<Option<Entry>> {
    let Some(raw_path) = utf8_path(&entry.path_bytes(), limits, findings) else {
        return Ok(None);
    };
    let Some(path) = super::normalize(&raw_path) else {
        return Ok(None);
    };
    let depth = path.bytes().filter(|&b| b == b'/').count();
    if depth > limits.max_path_depth {
        findings.push(
            FsFinding::PathTooDeep {
                depth,
                limit: limits.max_path_depth,
            },
            limits.max_findings,
        );
        return Ok(None);
    }
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", &path));
    if let Some(hidden) = name.strip_prefix(".wh.") {
        if hidden == ".wh..opq" {
            let dir = if parent.is_empty() { "/" } else { parent };
            return Ok(Some(Entry {
                path: dir.to_owned(),
                kind: EntryKind::Opaque,
            }));
        }
        if hidden.starts_with(".wh.") || hidden.is_empty() {
            // Other AUFS bookkeeping (`.wh..wh.plnk`): not part of the filesystem.
            return Ok(None);
        }
        return Ok(Some(Entry {
            path: format!("{parent}/{hidden}"),
            kind: EntryKind::Whiteout,
        }));
    }
    let entry_type = entry.header().entry_type();
    let kind = match entry_type {
        tar::EntryType::Directory => EntryKind::Dir,
        tar::EntryType::Symlink => {
            let Some(target) = entry.link_name_bytes() else {
                return Ok(None);
            };
            let Some(target) = utf8_path(&target, limits, findings) else {
                return Ok(None);
            };
            EntryKind::Symlink { target }
        }
        tar::EntryType::Link => {
            if interest(&path) == Interest::None {
                return Ok(None);
            }
            let Some(target) = entry.link_name_bytes() else {
                return Ok(None);
            };
            let Some(target) = utf8_path(&target, limits, findings)
                .as_deref()
                .and_then(super::normalize)
            else {
                return Ok(None);
            };
            EntryKind::Hardlink { target }
        }
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
            let size = entry.size();
            match interest(&path) {
                Interest::None => return Ok(None),
                Interest::Presence => EntryKind::File {
                    size,
                    content: None,
                    truncated: false,
                },
                Interest::Content { cap, headers_only } => {
                    let mut buf = Vec::with_capacity(usize::try_from(size.min(cap)).unwrap_or(0));
                    entry.take(cap).read_to_end(&mut buf)?;
                    let complete_headers = headers_only && super::keep_headers(&mut buf);
                    super::reduce(&path, &mut buf);
                    let truncated = size > cap && !complete_headers;
                    super::drop_partial_digest(&path, truncated, &mut buf);
                    if truncated {
                        findings.push(
                            FsFinding::FileTruncated {
                                path: path.clone(),
                                size,
                                kept: cap,
                            },
                            limits.max_findings,
                        );
                    }
                    EntryKind::File {
                        size,
                        content: Some(buf),
                        truncated,
                    }
                }
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(Entry { path, kind }))
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write as _};

    use super::*;
    use crate::model::Digest;

    /// A tar of one metadata file, padded as `tar` pads to a 10 KiB record.
    fn layer_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let body = b"Metadata-Version: 2.1\nName: a\nVersion: 1\n";
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, "site-packages/a-1.dist-info/METADATA", &body[..])
            .unwrap();
        let mut tar = b.into_inner().unwrap();
        // Past the end-of-archive marker: record padding, which the diff_id covers.
        tar.resize(10240, 0);
        tar
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn the_uncompressed_stream_is_hashed_to_its_end_whatever_the_compression() {
        let tar = layer_tar();
        let expected = Digest::sha256_of(&tar);
        for stream in [
            tar.clone(),
            gzip(&tar),
            zstd::encode_all(&tar[..], 3).unwrap(),
        ] {
            let limits = Limits::default();
            let facts = walk_hashed(Cursor::new(&stream), &limits, DigestAlgorithm::Sha256);
            assert_eq!(facts.partial, None);
            assert_eq!(facts.diff_id.as_ref(), Some(&expected));
            assert_eq!(facts.bytes_read, tar.len() as u64);
            // The same facts as a walk that does not hash, but for the digest.
            let plain = walk(Cursor::new(&stream), &limits);
            assert_eq!(plain.diff_id, None);
            assert_eq!(plain.entries, facts.entries);
        }
        let sha512 = walk_hashed(
            Cursor::new(&tar),
            &Limits::default(),
            DigestAlgorithm::Sha512,
        );
        let mut h = DigestHasher::new(DigestAlgorithm::Sha512);
        h.update(&tar);
        assert_eq!(sha512.diff_id, Some(h.finish()));
    }

    #[test]
    fn a_walk_that_stops_early_has_no_diff_id() {
        let tar = layer_tar();
        // Truncated inside the compressed stream.
        let gz = gzip(&tar);
        let cut = walk_hashed(
            Cursor::new(&gz[..gz.len() / 2]),
            &Limits::default(),
            DigestAlgorithm::Sha256,
        );
        assert!(cut.partial.is_some());
        assert_eq!(cut.diff_id, None);
        // Garbage after the archive's end, inside the compressed stream: the entries were
        // all read, but the stream is broken, so nothing proves what the layer holds.
        let mut broken = gz.clone();
        broken.extend_from_slice(b"not gzip");
        let facts = walk_hashed(
            Cursor::new(&broken),
            &Limits::default(),
            DigestAlgorithm::Sha256,
        );
        assert_eq!(facts.entries.len(), 1);
        assert!(
            facts
                .partial
                .as_deref()
                .is_some_and(|p| p.contains("after the archive ended")),
            "{facts:?}"
        );
        assert_eq!(facts.diff_id, None);
        // Padding that runs past the layer limit stops the hash too.
        let limits = Limits {
            max_layer_bytes: 4096,
            ..Limits::default()
        };
        let big = walk_hashed(Cursor::new(&tar), &limits, DigestAlgorithm::Sha256);
        assert!(big.partial.is_some());
        assert_eq!(big.diff_id, None);
    }
}
