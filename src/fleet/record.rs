//! The results file of `fleet scan --out FILE`: JSON lines, one [`ScanRecord`] per line.
//!
//! - Each worker appends: one `write` of a whole line (with its `\n`) per record, to a file
//!   opened for appending, so workers that share a file on one machine interleave whole
//!   lines.
//! - A worker killed mid-write leaves a torn last line (no `\n`, or not JSON). [`read`]
//!   ignores a torn *last* line and says so; a malformed line anywhere else is an error with
//!   its file, line and column: it is damage, not an interrupted append.
//! - A rerun first calls [`repair`], which cuts a torn last line off (the record it held
//!   was never complete, so the rerun scans that image again), then appends.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lockfile::Snapshot;
use crate::model::Digest;
use crate::source::{ParseError, SourceFile};

/// The version of the record format; a reader refuses a newer one.
pub const SCHEMA_VERSION: u32 = 1;

/// The largest results file [`read`] reads (a bound on hostile input; 346 packages make a
/// record of about 60 KiB, so this is tens of thousands of images).
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// One line of a results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ScanRecord {
    /// A platform manifest that was read and cataloged.
    Image(Box<ImageRecord>),
    /// A reference that could not be read, and why.
    Unreadable(UnreadableRecord),
    /// References that now point at a manifest scanned before (in the results files or the
    /// inventory): a new or moved tag, recorded without reading the image again.
    Seen(SeenRecord),
}

impl ScanRecord {
    /// The writer's [`SCHEMA_VERSION`].
    #[must_use]
    pub fn schema_version(&self) -> u32 {
        match self {
            ScanRecord::Image(i) => i.schema_version,
            ScanRecord::Unreadable(u) => u.schema_version,
            ScanRecord::Seen(s) => s.schema_version,
        }
    }
}

/// References seen pointing at a platform manifest that was scanned before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenRecord {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The platform manifest's digest.
    pub manifest: Digest,
    /// The references that resolved to it and that the results did not already point at
    /// it, sorted.
    pub references: Vec<String>,
    /// The index the references went through, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<Digest>,
    /// When they were seen, UTC, RFC 3339.
    pub scanned_at: String,
    /// The worker, `I/N`, when sharded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
}

/// A scanned image: one distinct platform manifest, with every reference that pointed at it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The platform manifest's digest: the image's identity (with its config and layers).
    pub manifest: Digest,
    /// The registry host (`HOST[:PORT]`) it was read from.
    pub registry: String,
    /// The references that resolved to this manifest in this scan, `REG/REPO:TAG` (or
    /// `REG/REPO@sha256:...` for an untagged one), sorted.
    pub references: Vec<String>,
    /// The index the references went through, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<Digest>,
    /// When it was scanned, UTC, RFC 3339.
    pub scanned_at: String,
    /// The worker, `I/N`, when sharded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// What is installed: the lockfile's snapshot model (image digests, `diff_ids`, prefixes,
    /// packages), without a definition.
    pub snapshot: Snapshot,
}

/// A reference that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableRecord {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The reference (`REG/REPO:TAG`), or the repository (`REG/REPO`) when its tags could
    /// not be listed.
    pub reference: String,
    /// Why: `denied` (401/403), `missing` (404), `corrupt` (a digest or format check
    /// failed), `error` (anything else).
    pub reason: UnreadableReason,
    /// The error, as text.
    pub message: String,
    /// When, UTC, RFC 3339.
    pub scanned_at: String,
    /// The worker, `I/N`, when sharded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
}

/// Why a reference could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnreadableReason {
    /// The registry refused the credentials (401, 403).
    Denied,
    /// The repository or tag does not exist (404).
    Missing,
    /// A digest or format check failed: the content is not what it claims.
    Corrupt,
    /// Any other failure (transport, limits, a malformed layer).
    Error,
}

impl UnreadableReason {
    /// The name the results file and the inventory use: `denied`, `missing`, `corrupt`,
    /// `error`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            UnreadableReason::Denied => "denied",
            UnreadableReason::Missing => "missing",
            UnreadableReason::Corrupt => "corrupt",
            UnreadableReason::Error => "error",
        }
    }
}

/// Why a results file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be read or written.
    #[error("cannot access `{path}`", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("`{path}` has {size} bytes, more than the {MAX_FILE_BYTES} a results file may have", path = .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// A line that is not the last is not a record (or is a newer format).
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// What [`read`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadResults {
    /// The records, in file order.
    pub records: Vec<ScanRecord>,
    /// Whether a torn last line (a killed writer's) was ignored.
    pub torn_last_line: bool,
}

/// Reads a results file. A missing file is empty; a torn last line is ignored.
pub fn read(path: &Path) -> Result<ReadResults, RecordError> {
    let io = |source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ReadResults::default()),
        Err(e) => return Err(io(e)),
    };
    let size = file.metadata().map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(RecordError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(io)?;
    Ok(parse(path, &bytes)?)
}

/// Parses a results file's bytes (see [`read`]).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ReadResults, ParseError> {
    let text = String::from_utf8_lossy(bytes);
    let source = SourceFile::from_text(path, &text);
    let mut out = ReadResults::default();
    let ends_clean = text.is_empty() || text.ends_with('\n');
    let lines: Vec<&str> = text.split('\n').collect();
    // `split` gives one empty piece after a final `\n`.
    let count = if ends_clean {
        lines.len() - 1
    } else {
        lines.len()
    };
    for (i, line) in lines.iter().take(count).enumerate() {
        let last = i + 1 == count;
        if line.trim().is_empty() {
            continue;
        }
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let record = serde_json::from_str::<ScanRecord>(line).map_err(|e| {
            ParseError::at(
                &source,
                line_no,
                u32::try_from(e.column()).unwrap_or(1).max(1),
                format!("not a fleet scan record: {e}"),
            )
        });
        match record {
            Ok(r) => {
                let version = r.schema_version();
                if version > SCHEMA_VERSION {
                    return Err(ParseError::at(
                        &source,
                        line_no,
                        1,
                        format!(
                            "record schema_version {version}; this envaudit reads up to {SCHEMA_VERSION}"
                        ),
                    ));
                }
                out.records.push(r);
            }
            // An interrupted append: the last line, with no end.
            Err(_) if last && !ends_clean => out.torn_last_line = true,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Appends one record to a results file (created if missing) as one write of a whole line,
/// and syncs it.
pub fn append(path: &Path, record: &ScanRecord) -> Result<(), RecordError> {
    let io = |source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut line = serde_json::to_vec(record).map_err(|e| io(std::io::Error::other(e)))?;
    line.push(b'\n');
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    file.write_all(&line).map_err(io)?;
    file.sync_data().map_err(io)
}

/// Cuts a torn last line (bytes after the last `\n`: a killed writer's unfinished record)
/// off a results file, creating it (empty) when missing; returns whether there was one. Call
/// it once before a worker appends to a file it owns: the file then exists even when the
/// worker's shard turns out to be empty, so a merge step's glob finds every worker's file.
pub fn repair(path: &Path) -> Result<bool, RecordError> {
    let io = |source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    // Read back from the end in blocks until a `\n` (records are tens of KiB).
    let mut end = len;
    let mut keep = 0u64;
    let mut block = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let n = usize::try_from(end - start).unwrap_or(0);
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        file.read_exact(&mut block[..n]).map_err(io)?;
        if let Some(i) = block[..n].iter().rposition(|&b| b == b'\n') {
            keep = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if keep == len {
        return Ok(false);
    }
    file.set_len(keep).map_err(io)?;
    file.sync_data().map_err(io)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreadable(reference: &str) -> ScanRecord {
        ScanRecord::Unreadable(UnreadableRecord {
            schema_version: SCHEMA_VERSION,
            reference: reference.to_owned(),
            reason: UnreadableReason::Denied,
            message: "401".to_owned(),
            scanned_at: "2026-12-05T00:00:00Z".to_owned(),
            worker: Some("0/2".to_owned()),
        })
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_cut_before_a_rerun_appends() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.jsonl");
        append(&p, &unreadable("r/a:1")).unwrap();
        // A killed writer's half line.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"kind":"unreadable","schema_v"#).unwrap();
        let r = read(&p).unwrap();
        assert_eq!(r.records.len(), 1);
        assert!(r.torn_last_line);
        assert!(repair(&p).unwrap());
        assert!(!repair(&p).unwrap());
        append(&p, &unreadable("r/b:1")).unwrap();
        let r = read(&p).unwrap();
        assert_eq!(r.records, vec![unreadable("r/a:1"), unreadable("r/b:1")]);
        assert!(!r.torn_last_line);
        // A file that is one torn line is emptied.
        std::fs::write(&p, b"{\"kind\"").unwrap();
        assert!(repair(&p).unwrap());
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 0);
        let none = dir.path().join("none");
        assert!(!repair(&none).unwrap());
        assert_eq!(std::fs::read(&none).unwrap(), b"", "created, empty");
    }

    #[test]
    fn reasons_are_named_as_serialised() {
        for r in [
            UnreadableReason::Denied,
            UnreadableReason::Missing,
            UnreadableReason::Corrupt,
            UnreadableReason::Error,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }

    #[test]
    fn records_round_trip_and_damage_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.jsonl");
        append(&p, &unreadable("r/a:1")).unwrap();
        append(&p, &unreadable("r/b:1")).unwrap();
        let r = read(&p).unwrap();
        assert_eq!(r.records, vec![unreadable("r/a:1"), unreadable("r/b:1")]);
        assert!(!r.torn_last_line);
        std::fs::write(&p, "{\"kind\":\"unreadable\"}\n\n").unwrap();
        let e = read(&p).unwrap_err();
        assert!(e.to_string().contains(":1:"), "{e}");
        assert!(read(&dir.path().join("none")).unwrap().records.is_empty());
    }
}
