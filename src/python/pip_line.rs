//! A requirement as pip reads it from a line of a requirements file: besides PEP 508 it
//! takes bare URLs and VCS URLs (`git+https://…@ref`, named by `#egg=` or, for wheels, by
//! the wheel file name), local paths (`.`, `./pkg`), `-e`/`--editable`, `--hash=…` options,
//! and release templates in place of a version (`pkg=={{latest-pypi-version}}`), which Azure
//! ML asset files contain. The result is the one [`Requirement`] type; the PEP 508 part is
//! read by [`super::requirement`]'s parser.
//!
//! Checked by `tests/vectors/azureml_ref_pip_pinning.json` (requirement lines as pip
//! 23.2.1 and packaging 25.0 read them: name, extras, URL, marker, specifiers, and whether
//! the line pins one version).

use std::str::FromStr;

use super::marker::MarkerTree;
use super::requirement::{InvalidRequirement, Parser, Requirement};
use super::specifier::Specifiers;
use crate::model::PackageName;

const VCS_PREFIXES: [&str; 4] = ["git+", "hg+", "svn+", "bzr+"];
const ARCHIVE_SUFFIXES: [&str; 9] = [
    ".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar",
];

/// The URL scheme (lowercased) if the text starts with one pip knows.
fn url_scheme(text: &str) -> Option<String> {
    let (scheme, _) = text.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    let known = matches!(
        scheme.as_str(),
        "http" | "https" | "file" | "ftp" | "git" | "hg" | "svn" | "bzr"
    ) || VCS_PREFIXES
        .iter()
        .any(|p| scheme.len() > p.len() && scheme.starts_with(p));
    let valid = scheme
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (known && valid).then_some(scheme)
}

fn is_url(text: &str) -> bool {
    url_scheme(text).is_some()
}

pub(super) fn is_vcs_url(url: &str) -> bool {
    url_scheme(url).is_some_and(|s| {
        matches!(s.as_str(), "git" | "hg" | "svn" | "bzr")
            || VCS_PREFIXES.iter().any(|p| s.starts_with(p))
    })
}

pub(super) fn is_local(url: &str) -> bool {
    match url_scheme(url) {
        None => true,
        Some(s) => s == "file",
    }
}

/// The revision after the last `@` of a VCS URL's path (`git+https://h/r.git@v1.0`).
pub(super) fn vcs_revision(url: &str) -> Option<&str> {
    let end = url.find(['#', '?']).unwrap_or(url.len());
    let url = &url[..end];
    let path = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            &rest[rest.find('/')?..]
        }
        None => url.split_once(':')?.1,
    };
    let (_, rev) = path.rsplit_once('@')?;
    (!rev.is_empty()).then_some(rev)
}

/// `name` and `version` from a wheel URL or path (`name-version(-build)?-py-abi-plat.whl`).
pub(super) fn wheel_name_version(url: &str) -> Option<(&str, &str)> {
    let end = url.find(['#', '?']).unwrap_or(url.len());
    let path = &url[..end];
    let file = path.rsplit(['/', '\\']).next()?;
    let stem = file.strip_suffix(".whl")?;
    let mut parts = stem.split('-');
    let name = parts.next().filter(|n| !n.is_empty())?;
    let version = parts.next().filter(|v| !v.is_empty())?;
    (parts.count() >= 3).then_some((name, version))
}

/// The `#egg=` fragment of a URL, with its byte offset in `url`.
fn egg_fragment(url: &str) -> Option<(usize, &str)> {
    let hash = url.find('#')?;
    let mut offset = hash + 1;
    for part in url[hash + 1..].split('&') {
        if let Some(egg) = part.strip_prefix("egg=") {
            return Some((offset + 4, egg));
        }
        offset += part.len() + 1;
    }
    None
}

fn looks_like_path(text: &str) -> bool {
    let bytes = text.as_bytes();
    let drive = bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes[2], b'/' | b'\\');
    if text.starts_with(['.', '/', '\\', '~']) || drive || text.contains('\\') {
        return true;
    }
    if text.contains('@') {
        return false;
    }
    text.contains('/')
        || ARCHIVE_SUFFIXES
            .iter()
            .any(|s| text.to_ascii_lowercase().ends_with(s))
}

impl Requirement {
    /// Parse the requirement part of a requirements-file line (no options), as pip does:
    /// a URL, a local path or a PEP 508 requirement; release templates are allowed in
    /// versions.
    pub fn parse_pip(text: &str, editable: bool) -> Result<Requirement, InvalidRequirement> {
        parse_pip(text, editable)
    }
}

fn parse_pip(text: &str, editable: bool) -> Result<Requirement, InvalidRequirement> {
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(InvalidRequirement::new(lead, "expected a requirement"));
    }
    let mut req = if editable {
        parse_editable(trimmed).map_err(|e| e.shifted(lead))?
    } else if is_url(trimmed) {
        parse_url_line(trimmed).map_err(|e| e.shifted(lead))?
    } else if looks_like_path(trimmed.split(';').next().unwrap_or(trimmed).trim()) {
        parse_path_line(trimmed).map_err(|e| e.shifted(lead))?
    } else {
        Parser::new(text, true).requirement()?
    };
    req.editable = editable;
    Ok(req)
}

fn parse_editable(text: &str) -> Result<Requirement, InvalidRequirement> {
    if is_url(text) {
        let mut req = url_requirement(text, 0)?;
        req.editable = true;
        return Ok(req);
    }
    let (path, extras) = split_path_extras(text, 0)?;
    Ok(Requirement {
        name: None,
        extras,
        specifiers: Specifiers::default(),
        marker: None,
        url: Some(path.to_owned()),
        editable: true,
        hashes: Vec::new(),
    })
}

/// A bare URL, optionally followed by `; marker` (pip splits URLs from markers at `"; "`).
fn parse_url_line(text: &str) -> Result<Requirement, InvalidRequirement> {
    let (url, marker) = match text.find("; ") {
        Some(i) => (&text[..i], Some((i + 2, &text[i + 2..]))),
        None => (text, None),
    };
    let mut req = url_requirement(url.trim_end(), 0)?;
    req.marker = optional_marker(marker)?;
    Ok(req)
}

/// The marker after a URL or path (at `offset` in the line), if there is one.
fn optional_marker(
    marker: Option<(usize, &str)>,
) -> Result<Option<MarkerTree>, InvalidRequirement> {
    let Some((offset, m)) = marker.filter(|(_, m)| !m.trim().is_empty()) else {
        return Ok(None);
    };
    let error =
        |(at, problem): (usize, _)| InvalidRequirement::new(offset + at, format!("{problem}"));
    let (tree, end) = MarkerTree::parse_at(m, 0).map_err(error)?;
    if end != m.len() {
        return Err(error((end, super::marker::SyntaxProblem::ExpectedEnd)));
    }
    Ok(Some(tree))
}

fn url_requirement(url: &str, offset: usize) -> Result<Requirement, InvalidRequirement> {
    let mut name = None;
    let mut extras = Vec::new();
    if let Some((egg_at, egg)) = egg_fragment(url) {
        let mut p = Parser::new(egg, false);
        let (n, x) = p
            .name_and_extras()
            .map_err(|e| e.shifted(offset + egg_at))?;
        if !p.at_end() {
            return Err(InvalidRequirement::new(
                offset + egg_at + p.pos,
                "expected a package name in `#egg=`",
            ));
        }
        name = Some(PackageName::pip(n));
        extras = x;
    } else if let Some((n, _)) = wheel_name_version(url) {
        name = Some(PackageName::pip(n));
    }
    Ok(Requirement {
        name,
        extras,
        specifiers: Specifiers::default(),
        marker: None,
        url: Some(url.to_owned()),
        editable: false,
        hashes: Vec::new(),
    })
}

/// A local path, optionally with `[extras]` and `;marker`.
fn parse_path_line(text: &str) -> Result<Requirement, InvalidRequirement> {
    let (path, marker) = match text.find(';') {
        Some(i) => (&text[..i], Some((i + 1, &text[i + 1..]))),
        None => (text, None),
    };
    let (path, extras) = split_path_extras(path.trim_end(), 0)?;
    let name = wheel_name_version(path).map(|(n, _)| PackageName::pip(n));
    Ok(Requirement {
        name,
        extras,
        specifiers: Specifiers::default(),
        marker: optional_marker(marker)?,
        url: Some(path.to_owned()),
        editable: false,
        hashes: Vec::new(),
    })
}

/// `./pkg[a,b]` → (`./pkg`, [a, b]).
fn split_path_extras(text: &str, offset: usize) -> Result<(&str, Vec<String>), InvalidRequirement> {
    if !text.ends_with(']') {
        return Ok((text, Vec::new()));
    }
    let Some(open) = text.rfind('[') else {
        return Ok((text, Vec::new()));
    };
    if open == 0 {
        return Ok((text, Vec::new()));
    }
    let mut p = Parser::new(text, false);
    p.pos = open;
    let extras = p.extras().map_err(|e| e.shifted(offset))?;
    Ok((&text[..open], extras))
}

impl FromStr for Requirement {
    type Err = InvalidRequirement;

    /// One requirement as a line of a requirements file holds it: `[-e] requirement
    /// [--hash=…]…`. File-level options (`-r`, `--index-url`, …) are not requirements.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let tokens = split_tokens(s);
        let first_opt = tokens.iter().position(|(_, t)| t.starts_with('-'));
        let req_end = first_opt.map_or(s.len(), |i| tokens[i].0);
        let opts = first_opt.map_or(&[][..], |i| &tokens[i..]);
        let mut editable: Option<(usize, &str)> = None;
        let mut hashes = Vec::new();
        let mut i = 0;
        while i < opts.len() {
            let (at, tok) = opts[i];
            i += 1;
            let (name, inline) = split_option(tok);
            let value = match inline {
                Some((o, v)) => Some((at + o, v)),
                None if matches!(name.as_str(), "--editable" | "--hash") && i < opts.len() => {
                    i += 1;
                    Some(opts[i - 1])
                }
                None => None,
            };
            match (name.as_str(), value) {
                ("--editable", Some(v)) if editable.is_none() && s[..req_end].trim().is_empty() => {
                    editable = Some(v);
                }
                ("--editable", Some(_)) => {
                    return Err(InvalidRequirement::new(
                        at,
                        "`-e` must come first, before the one requirement it marks editable",
                    ));
                }
                ("--hash", Some((_, v))) => hashes.push(v.to_owned()),
                ("--editable" | "--hash", None) => {
                    return Err(InvalidRequirement::new(
                        at + tok.len(),
                        format!("expected a value after `{name}`"),
                    ));
                }
                _ => {
                    return Err(InvalidRequirement::new(
                        at,
                        format!(
                            "unexpected option `{name}`; only `-e` and `--hash` go with a requirement"
                        ),
                    ));
                }
            }
        }
        let mut req = match editable {
            Some((at, v)) => parse_pip(v, true).map_err(|e| e.shifted(at))?,
            None => parse_pip(&s[..req_end], false)?,
        };
        req.hashes = hashes;
        Ok(req)
    }
}

/// Split an option token into its long name and an attached value with the value's byte
/// offset in the token: `--hash=x` → (`--hash`, (7, `x`)), `-rfile` → (`--requirement`,
/// (2, `file`)), `-e` → (`--editable`, none). Unknown options keep their spelling.
pub(crate) fn split_option(tok: &str) -> (String, Option<(usize, &str)>) {
    if tok.starts_with("--") {
        return match tok.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some((n.len() + 1, v))),
            None => (tok.to_owned(), None),
        };
    }
    if !tok.starts_with('-') {
        return (tok.to_owned(), None);
    }
    let mut chars = tok.char_indices().skip(1);
    let Some((at, letter)) = chars.next() else {
        return (tok.to_owned(), None);
    };
    let long = match letter {
        'e' => "--editable",
        'r' => "--requirement",
        'c' => "--constraint",
        'i' => "--index-url",
        'f' => "--find-links",
        _ => return (tok.to_owned(), None),
    };
    let split = at + letter.len_utf8();
    let value = &tok[split..];
    let value = value
        .strip_prefix('=')
        .map_or((split, value), |v| (split + 1, v));
    (long.to_owned(), (!value.1.is_empty()).then_some(value))
}

#[cfg(test)]
#[test]
fn short_option_split_respects_multibyte_characters() {
    assert_eq!(split_option("뢎ee="), ("뢎ee=".to_owned(), None));
    assert_eq!(
        split_option("-eé"),
        ("--editable".to_owned(), Some((2, "é")))
    );
}

/// Whitespace-separated tokens with their byte offsets.
pub(crate) fn split_tokens(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                out.push((st, &s[st..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::python::requirement::tests::{sorted_specs, str_list, vector};

    #[test]
    fn agrees_with_azureml_pip_pinning_vectors() {
        let v = vector("azureml_ref_pip_pinning.json");
        for case in v.as_array().expect("array") {
            let line = case["line"].as_str().expect("line");
            let r: Requirement = line.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
            let name = case["name"].as_str().expect("name");
            assert_eq!(r.name, Some(PackageName::pip(name)), "{line}");
            assert_eq!(r.extras, str_list(&case["extras"]), "{line}");
            assert_eq!(r.url.as_deref(), case["url"].as_str(), "{line}");
            assert_eq!(
                r.marker.as_ref().map(ToString::to_string).as_deref(),
                case["marker"].as_str(),
                "{line}"
            );
            let mut want = str_list(&case["specifiers"]);
            want.sort();
            assert_eq!(sorted_specs(&r), want, "{line}");
            // A VCS URL at a full commit is pinned here, unlike the file's column.
            let at_commit =
                r.is_vcs() && line.ends_with(&"3f786850e387550fdab836ed7e6dc881de23001b");
            let exact = case["exact_version_pin"].as_bool().expect("bool") || at_commit;
            assert_eq!(r.pin().state.is_pinned(), exact, "{line}: {:?}", r.pin());
        }
    }

    #[test]
    fn urls_and_paths_as_pip_reads_them() {
        let sha = "3f786850e387550fdab836ed7e6dc881de23001b";
        let r: Requirement = format!("git+https://github.com/org/repo.git@{sha}#egg=Repo[x]")
            .parse()
            .expect("vcs");
        assert_eq!(r.name.as_ref().map(PackageName::as_str), Some("repo"));
        assert_eq!(r.extras, ["x"]);
        let r: Requirement = "git+https://github.com/huggingface/peft.git"
            .parse()
            .expect("bare");
        assert_eq!(r.name, None);
        assert_eq!(r.canonical(), "git+https://github.com/huggingface/peft.git");
        let r: Requirement =
            "https://example.com/pkgs/my_lib-2.0.0-py3-none-any.whl; python_version >= '3.8'"
                .parse()
                .expect("wheel");
        assert_eq!(r.name.as_ref().map(PackageName::as_str), Some("my-lib"));
        assert_eq!(r.wheel_version(), Some("2.0.0"));
        assert_eq!(
            r.marker.as_ref().map(ToString::to_string).as_deref(),
            Some("python_version >= \"3.8\"")
        );
        assert_eq!(
            r.canonical(),
            "my-lib @ https://example.com/pkgs/my_lib-2.0.0-py3-none-any.whl ; python_version >= \"3.8\""
        );
        let r: Requirement = "https://aka.ms/automl-resources/packages/en_core_web_sm-3.7.1.tar.gz"
            .parse()
            .expect("sdist");
        assert_eq!(r.name, None);
        let r: Requirement = "-e ./local_pkg[dev]".parse().expect("editable");
        assert!(r.editable && r.is_local_path());
        assert_eq!(r.url.as_deref(), Some("./local_pkg"));
        assert_eq!(r.extras, ["dev"]);
        assert_eq!(r.canonical(), "-e ./local_pkg");
        let r: Requirement = ".".parse().expect("dot");
        assert_eq!((r.name, r.url.as_deref()), (None, Some(".")));
        let r: Requirement = "-e git+https://g.com/o/r@master#egg=ldm"
            .parse()
            .expect("editable vcs");
        assert!(r.editable && r.is_vcs());
        assert_eq!(r.name.as_ref().map(PackageName::as_str), Some("ldm"));
    }
}
