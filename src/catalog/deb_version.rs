//! Debian versions as dpkg's `parseversion` splits them and `verrevcmp` orders them.

use std::cmp::Ordering;

use crate::version::{Number, valid_first};

/// dpkg's ordering of `[epoch:]upstream[-revision]`: the epoch as a number, then upstream and
/// revision with `verrevcmp`, where runs of digits compare by value and, in between, `~`
/// sorts before everything (even the end of the string), letters before other characters.
/// Versions dpkg refuses outright (empty, embedded spaces, bad epoch, empty revision) sort
/// below all others; the ones it only warns about (not starting with a digit, odd
/// characters) are compared as dpkg compares them.
pub fn compare_deb(a: &str, b: &str) -> Ordering {
    valid_first(a, parse(a), b, parse(b), cmp)
}

pub(crate) struct DebVersion<'a> {
    epoch: Number,
    upstream: &'a [u8],
    revision: &'a [u8],
}

/// dpkg's `c_isspace`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `None` where dpkg reports an error (it only warns about a version not starting with a
/// digit, or odd characters, and compares those anyway).
pub(crate) fn parse(input: &str) -> Option<DebVersion<'_>> {
    // dpkg reads a C string: it ends at the first NUL.
    let bytes = input.as_bytes();
    let bytes = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
    let start = bytes.iter().position(|&b| !is_space(b))?;
    let bytes = &bytes[start..];
    let end = bytes
        .iter()
        .position(|&b| is_space(b))
        .unwrap_or(bytes.len());
    if bytes[end..].iter().any(|&b| !is_space(b)) {
        return None; // embedded spaces
    }
    let bytes = &bytes[..end];

    let (epoch, version) = match bytes.iter().position(|&b| b == b':') {
        None => (Number::default(), bytes),
        Some(colon) => (epoch(&bytes[..colon])?, &bytes[colon + 1..]),
    };
    if version.is_empty() {
        return None;
    }
    let (upstream, revision) = match version.iter().rposition(|&b| b == b'-') {
        None => (version, &b""[..]),
        Some(hyphen) => (&version[..hyphen], &version[hyphen + 1..]),
    };
    if upstream.is_empty() || (revision.is_empty() && upstream.len() < version.len()) {
        return None;
    }
    Some(DebVersion {
        epoch,
        upstream,
        revision,
    })
}

/// What `strtol` accepts as the whole epoch, within `0..=INT_MAX`.
fn epoch(text: &[u8]) -> Option<Number> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = Number::from_digits(digits);
    let int_max = Number(i32::MAX.to_string());
    if (negative && !n.is_zero()) || n > int_max {
        return None;
    }
    Some(n)
}

/// The weight of a non-digit: `~` below the end of the string, letters next, then all
/// other bytes. dpkg passes a signed `char`, so bytes above 0x7f land between letters and
/// ASCII punctuation (as on x86 Debian).
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(i8::from_ne_bytes([c])) + 256,
    }
}

/// dpkg's `verrevcmp`.
pub(crate) fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let non_digit = |c: Option<u8>| c.is_some_and(|c| !c.is_ascii_digit());
    let digit = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while non_digit(a.get(i).copied()) || non_digit(b.get(j).copied()) {
            let (oa, ob) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if oa != ob {
                return oa.cmp(&ob);
            }
            i += 1;
            j += 1;
        }
        let (si, sj) = (i, j);
        while digit(a.get(i).copied()) {
            i += 1;
        }
        while digit(b.get(j).copied()) {
            j += 1;
        }
        let ord = Number::from_digits(&a[si..i]).cmp(&Number::from_digits(&b[sj..j]));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

pub(crate) fn cmp(a: &DebVersion<'_>, b: &DebVersion<'_>) -> Ordering {
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| verrevcmp(a.upstream, b.upstream))
        .then_with(|| verrevcmp(a.revision, b.revision))
}
