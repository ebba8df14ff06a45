//! The distribution, from `etc/os-release` (or `usr/lib/os-release`, which it usually
//! links to).

use serde::Serialize;

use crate::layer::FsView;

/// What `os-release` says about the distribution (needed for package URLs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Distro {
    /// `ID`, the distribution id (`debian`, `ubuntu`, `alpine`); never empty.
    pub id: String,
    /// `VERSION_ID` (`12`, `22.04`, `3.19.1`); rolling releases have none.
    pub version_id: Option<String>,
    /// `VERSION_CODENAME` (`bookworm`, `jammy`).
    pub version_codename: Option<String>,
    /// `ID_LIKE`: the ids of distributions this one derives from (`debian` for Ubuntu).
    pub id_like: Vec<String>,
    /// `PRETTY_NAME`, for people (`Debian GNU/Linux 12 (bookworm)`).
    pub pretty_name: Option<String>,
}

/// Parses `os-release`; `None` without an `ID`.
pub fn parse(input: &str) -> Option<Distro> {
    let mut d = Distro::default();
    for line in input.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = unquote(v.trim());
        match k.trim() {
            "ID" => d.id = v,
            "VERSION_ID" => d.version_id = Some(v),
            "VERSION_CODENAME" => d.version_codename = Some(v),
            "ID_LIKE" => d.id_like = v.split_whitespace().map(str::to_owned).collect(),
            "PRETTY_NAME" => d.pretty_name = Some(v),
            _ => {}
        }
    }
    (!d.id.is_empty()).then_some(d)
}

fn unquote(v: &str) -> String {
    let inner = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(v);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub(super) fn distro(view: &FsView) -> Option<Distro> {
    ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| view.read(p))
        .and_then(|b| parse(&String::from_utf8_lossy(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_unquoted() {
        let d = parse("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n").unwrap();
        assert_eq!(d.id, "debian");
        assert_eq!(d.version_id.as_deref(), Some("12"));
        assert_eq!(
            d.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert!(parse("NAME=x\n").is_none());
    }
}
