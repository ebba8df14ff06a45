//! Debian: `var/lib/dpkg/status` and `var/lib/dpkg/status.d/*` (distroless images), with
//! licenses from machine-readable `usr/share/doc/PACKAGE/copyright` files. The layer of a
//! package is the one that last wrote its `var/lib/dpkg/info/PACKAGE.list` when there is
//! one (the status file is rewritten by every install).

use super::rfc822::{self, MalformedLine};
use super::{CatalogResult, DebDetails, Details, InstalledPackage, location, text};
use crate::layer::FsView;
use crate::model::{Ecosystem, PackageName};

const DPKG: &str = "dpkg";
const STATUS: &str = "/var/lib/dpkg/status";
const STATUS_D: &str = "/var/lib/dpkg/status.d";

/// One package paragraph of a dpkg status file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DpkgEntry {
    /// `Package`, the package name.
    pub package: String,
    /// `Version`, with epoch and Debian revision as written (`1:2.3-4`); empty if missing.
    pub version: String,
    /// `Architecture` (`amd64`, `all`).
    pub architecture: Option<String>,
    /// `Source`, the source package, possibly with its version in parentheses; `None` when it
    /// has the binary package's name.
    pub source: Option<String>,
    /// `Status`, e.g. `install ok installed`; `None` when the paragraph has none, as in
    /// distroless `status.d` files.
    pub status: Option<String>,
    /// `Pre-Depends` then `Depends`, split on `,`, each with its white space collapsed
    /// (`libc6 (>= 2.34)`, `a | b`).
    pub depends: Vec<String>,
    /// The first line of `Description`, the synopsis.
    pub summary: Option<String>,
}

impl DpkgEntry {
    /// Whether the package is installed (a missing `Status`, as in `status.d`, counts).
    pub fn is_installed(&self) -> bool {
        self.status
            .as_deref()
            .is_none_or(|s| s.split_whitespace().last() == Some("installed"))
    }
}

/// Parses a dpkg status file; paragraphs without `Package` are skipped and reported as
/// malformed lines.
pub fn parse_status(input: &str) -> (Vec<DpkgEntry>, Vec<MalformedLine>) {
    let (paras, mut bad) = rfc822::paragraphs(input);
    let mut out = Vec::new();
    for p in paras {
        let Some(package) = p.get("Package").filter(|s| !s.is_empty()) else {
            bad.push(MalformedLine {
                line: p.line,
                text: "a paragraph without `Package`".into(),
            });
            continue;
        };
        let mut depends = Vec::new();
        for field in ["Pre-Depends", "Depends"] {
            for v in p.all(field) {
                depends.extend(
                    v.split(',')
                        .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
                        .filter(|d| !d.is_empty()),
                );
            }
        }
        out.push(DpkgEntry {
            package: package.to_owned(),
            version: p.get("Version").unwrap_or_default().to_owned(),
            architecture: p.get("Architecture").map(str::to_owned),
            source: p.get("Source").map(str::to_owned),
            status: p.get("Status").map(str::to_owned),
            depends,
            summary: p
                .get("Description")
                .and_then(|d| d.lines().next())
                .map(str::to_owned),
        });
    }
    (out, bad)
}

/// The licenses of a machine-readable (DEP-5) copyright file; nothing for free-form text.
pub fn copyright_licenses(input: &str) -> Vec<String> {
    let (paras, _) = rfc822::paragraphs(input);
    let Some(first) = paras.first() else {
        return Vec::new();
    };
    if !first
        .get("Format")
        .is_some_and(|f| f.contains("copyright-format"))
    {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    // The header's and the `Files:` paragraphs' licenses apply to the package; stand-alone
    // `License:` paragraphs only hold the texts of licenses named there.
    for (i, p) in paras.iter().enumerate() {
        if i > 0 && p.get("Files").is_none() {
            continue;
        }
        for l in p.all("License") {
            let name = l.lines().next().unwrap_or("").trim();
            if !name.is_empty() && !out.iter().any(|o| o == name) {
                out.push(name.to_owned());
            }
        }
    }
    out
}

pub(super) fn dpkg(view: &FsView) -> CatalogResult {
    let mut result = CatalogResult::new();
    let mut files: Vec<String> = Vec::new();
    if view.file(STATUS).is_some() {
        files.push(STATUS.to_owned());
    }
    files.extend(
        view.under(STATUS_D)
            .filter(|(p, _)| crate::layer::interest(p) != crate::layer::Interest::None)
            .map(|(p, _)| p.to_owned()),
    );
    for path in files {
        result.applies();
        let Some(bytes) = view.read(&path) else {
            result.partial(
                DPKG,
                &path,
                "the status file has no readable content".into(),
            );
            continue;
        };
        if let Some((_, node)) = view.file(&path)
            && let crate::layer::NodeKind::File {
                truncated: true, ..
            } = node.kind
        {
            result.partial(
                DPKG,
                &path,
                "the status file was truncated at the size limit".into(),
            );
        }
        let (entries, bad) = parse_status(&text(bytes));
        if let Some(first) = bad.first() {
            result.partial(DPKG, &path, format!("malformed status: {first}"));
        }
        for e in entries.into_iter().filter(DpkgEntry::is_installed) {
            let bare = e.package.as_str();
            let mut loc = location(view, &path);
            let list = [
                e.architecture
                    .as_deref()
                    .map(|a| format!("/var/lib/dpkg/info/{bare}:{a}.list")),
                Some(format!("/var/lib/dpkg/info/{bare}.list")),
            ];
            if let Some(list) = list.into_iter().flatten().find(|l| view.file(l).is_some()) {
                loc.layer = location(view, &list).layer;
            }
            let md5sums_sha256 = [
                e.architecture
                    .as_deref()
                    .map(|a| format!("/var/lib/dpkg/info/{bare}:{a}.md5sums")),
                Some(format!("/var/lib/dpkg/info/{bare}.md5sums")),
            ]
            .into_iter()
            .flatten()
            .find_map(|p| view.read(&p))
            .map(text)
            .filter(|t| t.starts_with("sha256:") && t.len() == 71)
            .map(std::borrow::Cow::into_owned);
            let licenses = view
                .read(&format!("/usr/share/doc/{bare}/copyright"))
                .map(|b| copyright_licenses(&text(b)))
                .unwrap_or_default();
            result.packages.push(InstalledPackage {
                ecosystem: Ecosystem::Deb,
                name: PackageName::deb(&e.package),
                display_name: e.package.clone(),
                version: e.version,
                location: loc,
                environment: Some("/".to_owned()),
                licenses,
                summary: e.summary,
                requires: e.depends,
                details: Details::Deb(DebDetails {
                    architecture: e.architecture,
                    source: e.source,
                    status: e.status,
                    md5sums_sha256,
                }),
                linked: None,
            });
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_packages_are_read_and_removed_ones_skipped() {
        let (entries, bad) = parse_status(
            "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n\
             Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)\nDescription: GNU Bourne Again SHell\n Bash is ...\n\n\
             Package: old\nStatus: deinstall ok config-files\nVersion: 1\n",
        );
        assert!(bad.is_empty());
        assert_eq!(entries.len(), 2);
        assert!(entries[0].is_installed());
        assert!(!entries[1].is_installed());
        assert_eq!(entries[0].depends, ["libc6 (>= 2.36)", "libtinfo6 (>= 6)"]);
        assert_eq!(
            entries[0].summary.as_deref(),
            Some("GNU Bourne Again SHell")
        );
    }

    #[test]
    fn machine_readable_copyright_gives_licenses() {
        let text = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n\
                    Files: *\nCopyright: 1989 FSF\nLicense: GPL-3+\n\n\
                    Files: lib/*\nLicense: LGPL-2.1+\n\nLicense: GPL-3+\n The text...\n";
        assert_eq!(copyright_licenses(text), ["GPL-3+", "LGPL-2.1+"]);
        assert!(copyright_licenses("This is free software.\n").is_empty());
        // A stand-alone license text names no license of its own.
        let text = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n\
                    Files: *\nLicense: BSD-3-clause or GPL-2\n\n\
                    License: BSD-3-clause\n Redistribution...\n\nLicense: GPL-2\n text\n";
        assert_eq!(copyright_licenses(text), ["BSD-3-clause or GPL-2"]);
    }
}
