//! Alpine: `lib/apk/db/installed`, paragraphs of `K:value` lines.

use super::{ApkDetails, CatalogResult, Details, InstalledPackage, location, text};
use crate::layer::FsView;
use crate::model::{Ecosystem, PackageName};

const APK: &str = "apk";
const INSTALLED: &str = "/lib/apk/db/installed";

/// One package of the apk database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApkEntry {
    /// `P:`, the package name.
    pub name: String,
    /// `V:`, the version with its release (`1.2.4-r2`); empty if the paragraph has none.
    pub version: String,
    /// `A:`, the architecture (`x86_64`, `aarch64`).
    pub architecture: Option<String>,
    /// `T:`, the one-line description.
    pub description: Option<String>,
    /// `L:`, the license as the package states it.
    pub license: Option<String>,
    /// `o:`, the source package (`APKBUILD`) this package was built from.
    pub origin: Option<String>,
    /// `C:`, apk's checksum of the package's control data (`Q1` and base64 SHA-1).
    pub checksum: Option<String>,
    /// `D:`, the dependencies split on white space (`so:libc.musl-x86_64.so.1`, `busybox`).
    pub depends: Vec<String>,
}

/// A line of the apk database that is not `K:value`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApkError {
    /// A non-empty line that is not a one-letter key, a `:` and a value.
    #[error("line {line}: expected `K:value`")]
    MalformedLine {
        /// The line number, 1-based.
        line: usize,
    },
    /// A paragraph without a `P:` line, or with an empty one; it is skipped.
    #[error("line {line}: a package without a `P:` name")]
    MissingName {
        /// The line the paragraph starts on, 1-based.
        line: usize,
    },
}

/// Parses `lib/apk/db/installed`; bad lines and nameless packages are skipped and
/// reported.
pub fn parse_installed(input: &str) -> (Vec<ApkEntry>, Vec<ApkError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut current: Option<(usize, ApkEntry)> = None;
    let flush = |current: &mut Option<(usize, ApkEntry)>,
                 out: &mut Vec<ApkEntry>,
                 errors: &mut Vec<ApkError>| {
        if let Some((line, e)) = current.take() {
            if e.name.is_empty() {
                errors.push(ApkError::MissingName { line });
            } else {
                out.push(e);
            }
        }
    };
    for (i, line) in input.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            flush(&mut current, &mut out, &mut errors);
            continue;
        }
        let b = line.as_bytes();
        if b.len() < 2 || b[1] != b':' {
            errors.push(ApkError::MalformedLine { line: i + 1 });
            continue;
        }
        let value = line[2..].to_owned();
        let e = &mut current
            .get_or_insert_with(|| (i + 1, ApkEntry::default()))
            .1;
        match b[0] {
            b'P' => e.name = value,
            b'V' => e.version = value,
            b'A' => e.architecture = Some(value),
            b'T' => e.description = Some(value),
            b'L' => e.license = Some(value),
            b'o' => e.origin = Some(value),
            b'C' => e.checksum = Some(value),
            b'D' => e.depends = value.split_whitespace().map(str::to_owned).collect(),
            _ => {}
        }
    }
    flush(&mut current, &mut out, &mut errors);
    (out, errors)
}

pub(super) fn apk(view: &FsView) -> CatalogResult {
    let mut result = CatalogResult::new();
    if view.file(INSTALLED).is_none() {
        return result;
    }
    result.applies();
    let Some(bytes) = view.read(INSTALLED) else {
        result.partial(
            APK,
            INSTALLED,
            "the database has no readable content".into(),
        );
        return result;
    };
    let (entries, errors) = parse_installed(&text(bytes));
    if let Some(first) = errors.first() {
        result.partial(APK, INSTALLED, format!("malformed database: {first}"));
    }
    for e in entries {
        result.packages.push(InstalledPackage {
            ecosystem: Ecosystem::Apk,
            name: PackageName::apk(&e.name),
            display_name: e.name,
            version: e.version,
            location: location(view, INSTALLED),
            environment: Some("/".to_owned()),
            licenses: e.license.into_iter().collect(),
            summary: e.description,
            requires: e.depends,
            details: Details::Apk(ApkDetails {
                architecture: e.architecture,
                origin: e.origin,
                checksum: e.checksum,
            }),
            linked: None,
        });
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_are_split_on_blank_lines() {
        let (entries, errors) = parse_installed(
            "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nT:the musl c library\n\n\
             P:busybox\nV:1.36.1-r5\nD:so:libc.musl-x86_64.so.1\n\n",
        );
        assert!(errors.is_empty());
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].license.as_deref(), Some("MIT"));
        assert_eq!(entries[1].depends, ["so:libc.musl-x86_64.so.1"]);
    }

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let (_, errors) = parse_installed("P:a\nnonsense\n");
        insta::assert_snapshot!(errors[0].to_string(), @"line 2: expected `K:value`");
    }
}
