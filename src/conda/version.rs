//! conda's `VersionOrder`, parsed into components of parts.

use std::cmp::Ordering;

use crate::version::{Number, valid_first};

/// conda's `VersionOrder`: optional epoch `N!`, optional local part after `+`; components
/// split on `.` and `_` (a `-` counts as `_` when there is no `_`), each split into runs of
/// digits and non-digits. Integers are compared by value, strings below integers, `post`
/// above every integer, and `dev` below every other string (`*` lower still). A component
/// that starts with a letter gets an implied leading `0`, and missing parts count as `0`, so
/// `1.1 == 1.1.0` and `1.1a < 1.1`. Case-insensitive. Strings conda rejects sort below all
/// others.
pub fn compare_conda(a: &str, b: &str) -> Ordering {
    valid_first(a, parse(a), b, parse(b), cmp)
}

/// Variants in ascending order: strings < integers < `post`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// Lowercase, except `dev`, kept as `DEV` so that it sorts below `_` and letters as
    /// conda arranges it (`*` is lower still).
    Str(String),
    Int(Number),
    Post,
}

const FILL: Part = Part::Int(Number(String::new()));

type Component = Vec<Part>;

pub(crate) struct CondaVersion {
    /// The epoch (`0` when absent) is the first component.
    version: Vec<Component>,
    local: Vec<Component>,
}

pub(crate) fn parse(input: &str) -> Option<CondaVersion> {
    let mut s = input.trim().to_lowercase();
    if s.is_empty() {
        return None;
    }
    let allowed = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b"*.+!_".contains(&b))
    };
    if !allowed(&s) && s.contains('-') && !s.contains('_') {
        s = s.replace('-', "_");
    }
    if !allowed(&s) {
        return None;
    }

    let (epoch, rest) = match s.split_once('!') {
        None => ("0", s.as_str()),
        Some((epoch, rest)) => {
            if rest.contains('!') || epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            (epoch, rest)
        }
    };
    let (main, local) = match rest.split_once('+') {
        None => (rest, None),
        Some((main, local)) => {
            if local.contains('+') {
                return None;
            }
            (main, Some(local))
        }
    };
    if main.is_empty() {
        return None;
    }

    let mut version = vec![component(epoch)?];
    // A trailing `_` (openssl-style `1.0.2_`) stays on the last component.
    let (body, trailing) = match main.strip_suffix('_') {
        Some(body) => (body, "_"),
        None => (main, ""),
    };
    let pieces: Vec<&str> = body.split(['.', '_']).collect();
    let last = pieces.len() - 1;
    for (i, piece) in pieces.into_iter().enumerate() {
        if i == last && !trailing.is_empty() {
            version.push(component(&format!("{piece}{trailing}"))?);
        } else {
            version.push(component(piece)?);
        }
    }
    let local = match local {
        None => Vec::new(),
        Some(local) => local
            .split(['.', '_'])
            .map(component)
            .collect::<Option<Vec<_>>>()?,
    };
    Some(CondaVersion { version, local })
}

/// Split one component into runs of digits, of `*`, and of anything else.
fn component(text: &str) -> Option<Component> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    let mut parts = Vec::new();
    if first.is_ascii_alphabetic() {
        parts.push(FILL);
    }
    let class = |b: u8| match b {
        b'0'..=b'9' => 0,
        b'*' => 1,
        _ => 2,
    };
    let mut start = 0;
    while start < bytes.len() {
        let kind = class(bytes[start]);
        let end = bytes[start..]
            .iter()
            .position(|&b| class(b) != kind)
            .map_or(bytes.len(), |n| start + n);
        let run = &bytes[start..end];
        parts.push(match (kind, run) {
            (0, _) => Part::Int(Number::from_digits(run)),
            (_, b"post") => Part::Post,
            (_, b"dev") => Part::Str("DEV".to_owned()),
            _ => Part::Str(String::from_utf8_lossy(run).into_owned()),
        });
        start = end;
    }
    Some(parts)
}

/// Missing components and missing parts count as `0`.
fn cmp_components(a: &[Component], b: &[Component]) -> Ordering {
    let empty = Vec::new();
    for i in 0..a.len().max(b.len()) {
        let (ca, cb) = (a.get(i).unwrap_or(&empty), b.get(i).unwrap_or(&empty));
        for j in 0..ca.len().max(cb.len()) {
            let ord = ca.get(j).unwrap_or(&FILL).cmp(cb.get(j).unwrap_or(&FILL));
            if ord != Ordering::Equal {
                return ord;
            }
        }
    }
    Ordering::Equal
}

pub(crate) fn cmp(a: &CondaVersion, b: &CondaVersion) -> Ordering {
    cmp_components(&a.version, &b.version).then_with(|| cmp_components(&a.local, &b.local))
}
