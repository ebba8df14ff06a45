//! Streaming a layer tar (uncompressed, gzip or zstd) into [`LayerFacts`].

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use super::{Entry, EntryKind, Findings, FsFinding, Interest, LayerFacts, Limits, interest};

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
pub fn walk<R: Read>(mut raw: R, limits: &Limits) -> LayerFacts {
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
    let reader = BudgetReader {
        inner: decoded,
        budget: Rc::clone(&budget),
        max_total: limits.max_layer_bytes,
        max_header: limits.max_header_bytes,
    };
    let mut facts = LayerFacts::default();
    walk_tar(reader, &budget, limits, &mut facts, &mut findings);
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
    facts.partial = partial;
    facts
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
    reader: R,
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
