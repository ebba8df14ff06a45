//! Reading definition files as text, and pointing at places inside them.
//!
//! Real definition files come as UTF-8, UTF-8 with a byte-order mark, and UTF-16 (LE or
//! BE) with a byte-order mark; line endings may be LF, CRLF or a lone CR. [`decode`] turns
//! all of them into one `String` with `\n` line endings so that no parser, and no hash,
//! depends on how the file was saved.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Largest definition file envaudit reads (definitions are small; anything bigger is a mistake).
pub const MAX_DEFINITION_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A place in a definition file: 1-based line and column (columns count characters).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Origin {
    /// The file, as the user named it (or as an include resolved it).
    pub file: PathBuf,
    /// The 1-based line.
    pub line: u32,
    /// The 1-based column, in characters.
    pub column: u32,
}

impl Origin {
    /// The place at `line` and `column` (both 1-based) of `file`.
    pub fn new(file: impl Into<PathBuf>, line: u32, column: u32) -> Self {
        Self {
            file: file.into(),
            line,
            column,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A malformed input: where it is, what was expected, and the offending line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}", path = .path.display())]
pub struct ParseError {
    /// The file the input came from.
    pub path: PathBuf,
    /// The 1-based line of the error.
    pub line: u32,
    /// The 1-based column of the error, in characters.
    pub column: u32,
    /// What was expected or what is wrong.
    pub message: String,
    /// The source line the error points at, if known (without its line ending).
    pub source_line: Option<String>,
}

impl ParseError {
    /// An error at `line`/`column` of `source`, quoting that line.
    pub fn at(source: &SourceFile, line: u32, column: u32, message: impl Into<String>) -> Self {
        Self {
            path: source.path.clone(),
            line,
            column,
            message: message.into(),
            source_line: source.line_text(line).map(str::to_owned),
        }
    }

    /// An error at a byte offset of `source`.
    pub fn at_offset(source: &SourceFile, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = source.line_col(offset);
        Self::at(source, line, column, message)
    }

    /// The line with a caret under the column, for terminal output.
    pub fn snippet(&self) -> Option<String> {
        let text = self.source_line.as_deref()?;
        let gutter = self.line.to_string();
        let pad = " ".repeat(gutter.len());
        let caret_pad: String = text
            .chars()
            .take(self.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        Some(format!("{pad} |\n{gutter} | {text}\n{pad} | {caret_pad}^"))
    }
}

/// Why bytes could not be read as text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes (without a BOM) are not UTF-8; the place is that of the first bad byte.
    #[error("invalid UTF-8")]
    InvalidUtf8 {
        /// The 1-based line.
        line: u32,
        /// The 1-based column, in characters.
        column: u32,
    },
    /// After a UTF-16 byte-order mark, an unpaired surrogate or an odd number of bytes.
    #[error("invalid UTF-16 (an unpaired surrogate or an odd length) at byte {offset}")]
    InvalidUtf16 {
        /// The byte offset of the bad code unit (or the length, for an odd length).
        offset: usize,
    },
    /// The decoded text holds a NUL character, which no definition file has.
    #[error("a NUL byte: is this a binary file?")]
    NulByte {
        /// The 1-based line.
        line: u32,
        /// The 1-based column, in characters.
        column: u32,
    },
}

impl DecodeError {
    /// The 1-based line and column of the error; `(1, 1)` for UTF-16 errors, which carry a
    /// byte offset instead.
    pub fn line_col(&self) -> (u32, u32) {
        match *self {
            DecodeError::InvalidUtf8 { line, column } | DecodeError::NulByte { line, column } => {
                (line, column)
            }
            DecodeError::InvalidUtf16 { .. } => (1, 1),
        }
    }
}

/// Decode a definition file: strips a UTF-8 or UTF-16 byte-order mark, decodes UTF-16,
/// and normalises CRLF and lone CR line endings to LF.
pub fn decode(bytes: &[u8]) -> Result<String, DecodeError> {
    let text = if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        utf8(rest)?
    } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        utf16(rest, u16::from_le_bytes)?
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        utf16(rest, u16::from_be_bytes)?
    } else {
        utf8(bytes)?
    };
    if let Some(pos) = text.find('\0') {
        let (line, column) = line_col_in(&text, pos);
        return Err(DecodeError::NulByte { line, column });
    }
    Ok(normalize_newlines(text))
}

fn utf8(bytes: &[u8]) -> Result<String, DecodeError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let (line, column) = line_col_in(valid, valid.len());
            Err(DecodeError::InvalidUtf8 { line, column })
        }
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DecodeError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(DecodeError::InvalidUtf16 {
            offset: bytes.len(),
        });
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut out = String::with_capacity(bytes.len() / 2);
    for (i, ch) in char::decode_utf16(units).enumerate() {
        match ch {
            Ok(c) => out.push(c),
            Err(_) => return Err(DecodeError::InvalidUtf16 { offset: 2 + i * 2 }),
        }
    }
    Ok(out)
}

fn normalize_newlines(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn line_col_in(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col_start = before.rfind('\n').map_or(0, |p| p + 1);
    let column = before[col_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// A decoded definition file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The file the text came from (it need not exist, for inline content).
    pub path: PathBuf,
    /// The text with `\n` line endings and no byte-order mark.
    pub text: String,
}

/// Reading a file failed before parsing could start.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read `{path}`", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_DEFINITION_FILE_BYTES`].
    #[error("`{path}` is {size} bytes; definition files larger than {limit} bytes are refused", path = .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file's bytes are not text in a supported encoding.
    #[error("{path}:{line}:{column}: {kind}", path = .path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the error (1 for UTF-16 errors).
        line: u32,
        /// The 1-based column of the error (1 for UTF-16 errors).
        column: u32,
        /// What is wrong with the bytes.
        kind: DecodeError,
    },
}

impl SourceFile {
    /// Read and decode a file from disk.
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let io = |source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_DEFINITION_FILE_BYTES {
            return Err(ReadError::TooLarge {
                path: path.to_path_buf(),
                size: meta.len(),
                limit: MAX_DEFINITION_FILE_BYTES,
            });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        Self::from_bytes(path, &bytes)
    }

    /// Decode bytes that came from `path` (which need not exist).
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: &[u8]) -> Result<Self, ReadError> {
        let path = path.into();
        match decode(bytes) {
            Ok(text) => Ok(Self { path, text }),
            Err(kind) => {
                let (line, column) = kind.line_col();
                Err(ReadError::Decode {
                    path,
                    line,
                    column,
                    kind,
                })
            }
        }
    }

    /// Text that is already decoded (tests, fuzzing, inline content).
    pub fn from_text(path: impl Into<PathBuf>, text: &str) -> Self {
        Self {
            path: path.into(),
            text: normalize_newlines(text.to_owned()),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        line_col_in(&self.text, offset)
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: u32) -> Option<&str> {
        self.text.split('\n').nth(line.checked_sub(1)? as usize)
    }

    /// The place at `line` and `column` (both 1-based) of this file.
    pub fn origin(&self, line: u32, column: u32) -> Origin {
        Origin::new(self.path.clone(), line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_le_and_be_with_bom_decode_to_the_same_text() {
        let text = "name: x\r\ndependencies:\r\n- numpy\r\n";
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in text.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
            be.extend_from_slice(&u.to_be_bytes());
        }
        let expected = "name: x\ndependencies:\n- numpy\n";
        assert_eq!(decode(&le).unwrap(), expected);
        assert_eq!(decode(&be).unwrap(), expected);
        let mut bom8 = vec![0xEF, 0xBB, 0xBF];
        bom8.extend_from_slice(text.as_bytes());
        assert_eq!(decode(&bom8).unwrap(), expected);
    }

    #[test]
    fn invalid_utf8_reports_line_and_column() {
        let err = decode(b"a: 1\nbb: \xff\n").unwrap_err();
        assert_eq!(err, DecodeError::InvalidUtf8 { line: 2, column: 5 });
    }

    #[test]
    fn odd_length_utf16_is_an_error_not_a_panic() {
        assert!(decode(&[0xFF, 0xFE, 0x41]).is_err());
    }

    #[test]
    fn lone_cr_line_endings_become_lf() {
        assert_eq!(decode(b"a\rb\r\nc").unwrap(), "a\nb\nc");
    }

    #[test]
    fn snippet_puts_a_caret_under_the_column() {
        let src = SourceFile::from_text("f.txt", "first\nnumpy=>1\n");
        let err = ParseError::at(&src, 2, 6, "expected a version");
        insta::assert_snapshot!(err.snippet().unwrap(), @r"
          |
        2 | numpy=>1
          |      ^
        ");
    }
}
