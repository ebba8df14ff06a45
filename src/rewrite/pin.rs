//! Pinning a definition to what its locked image holds: every declared conda and pip spec
//! rewritten to the exact version (and conda build) installed, the base image to its
//! digest, in place, so that comments, order and formatting stay as written.
//!
//! [`plan`] decides the edits from a definition and a snapshot; [`apply`] makes one file's
//! edits on its text. A Docker-based definition's `RUN pip install` / `conda install` specs
//! and the requirements files it copies are pinned too: each is replaced in place, and the
//! pinned specs hold no character a shell would read differently. Each edit replaces the spec
//! exactly where the parser found it (file, line, column) and only if the text there is still
//! the spec as written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::graph::DepGraph;
use crate::definition::{Dependency, DependencySpec, EnvDefinition};
use crate::lockfile::{LockedPackage, Snapshot};
use crate::model::{Ecosystem, PackageName};

/// One replacement in one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edit {
    /// The file to edit, as the definition's loader named it.
    pub file: PathBuf,
    /// 1-based line and column (in characters) of the text replaced.
    pub line: u32,
    /// The 1-based column, in characters, where the replaced text starts.
    pub column: u32,
    /// The text replaced: the spec (or base image reference) exactly as written.
    pub old: String,
    /// The text written in its place: the pinned spec, or the reference with `@DIGEST`.
    pub new: String,
}

/// A declaration left as written, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The declaration (or base image reference) as written.
    pub spec: String,
    /// Why it was not pinned (not installed in the locked image, names no package, ...).
    pub reason: String,
}

/// What pinning a definition changes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PinPlan {
    /// Every replacement: the dependencies in declaration order, then the base image.
    pub edits: Vec<Edit>,
    /// Declarations left as written because they cannot be pinned automatically.
    pub skipped: Vec<Skipped>,
    /// Declarations already exact at the installed version.
    pub already_pinned: usize,
}

impl PinPlan {
    /// The edits grouped by file, in file order.
    pub fn by_file(&self) -> BTreeMap<&Path, Vec<&Edit>> {
        let mut m: BTreeMap<&Path, Vec<&Edit>> = BTreeMap::new();
        for e in &self.edits {
            m.entry(e.file.as_path()).or_default().push(e);
        }
        m
    }
}

/// Why an edit could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// The text at the edit's place is no longer the spec the plan was made from (the file
    /// changed since it was read); none of the file's edits is made.
    #[error("{file}:{line}:{column}: expected `{expected}` there; the file changed since it was read", file = .file.display())]
    Moved {
        /// The file being edited.
        file: PathBuf,
        /// The 1-based line where the spec was expected.
        line: u32,
        /// The 1-based column, in characters, where the spec was expected.
        column: u32,
        /// The spec that was expected there.
        expected: String,
    },
}

/// The edits that pin `def` to `snapshot`.
pub fn plan(def: &EnvDefinition, snapshot: &Snapshot) -> PinPlan {
    let graph = DepGraph::build(snapshot);
    let target = graph.target_prefix.as_deref();
    let mut out = PinPlan::default();
    for dep in def.dependencies() {
        // A Dockerfile's `RUN` installs are pinned where they are written, but not a
        // Dockerfile that came inline in a JSON string (its positions are the Dockerfile's).
        if def.is_from_build(&dep.origin)
            && dep
                .origin
                .file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            out.skipped.push(Skipped {
                spec: dep.raw.clone(),
                reason: "in a Dockerfile written inside a JSON string; pin it there by hand".into(),
            });
            continue;
        }
        if let Some(e) = dep.invalid_spec() {
            out.skipped.push(Skipped {
                spec: dep.raw.clone(),
                reason: format!("{}: {}; fix it by hand", e.origin, e.message),
            });
            continue;
        }
        let Some(name) = &dep.name else {
            out.skipped.push(Skipped {
                spec: dep.raw.clone(),
                reason: "a direct URL names no package".into(),
            });
            continue;
        };
        let Some(installed) = installed(snapshot, target, dep.ecosystem, name) else {
            out.skipped.push(Skipped {
                spec: dep.raw.clone(),
                reason: "not installed in the locked image".into(),
            });
            continue;
        };
        match pinned_spec(dep, installed) {
            Ok(new) if new == dep.raw => out.already_pinned += 1,
            Ok(new) => out.edits.push(Edit {
                file: dep.origin.file.clone(),
                line: dep.origin.line,
                column: dep.origin.column,
                old: dep.raw.clone(),
                new,
            }),
            Err(reason) => out.skipped.push(Skipped {
                spec: dep.raw.clone(),
                reason,
            }),
        }
    }
    if let (Some(base), Some(digest)) = (&def.base_image, &snapshot.base_image_digest) {
        let same = snapshot.base_image.as_deref() == Some(base.reference.as_str());
        if base.reference.contains('@') {
            out.already_pinned += 1;
        } else if !same {
            out.skipped.push(Skipped {
                spec: base.reference.clone(),
                reason: format!(
                    "the lock records another base image (`{}`)",
                    snapshot.base_image.as_deref().unwrap_or("none")
                ),
            });
        } else if base.origin.line == 0 || !base.origin.file.is_file() {
            out.skipped.push(Skipped {
                spec: base.reference.clone(),
                reason: "given on the command line, not in a file".into(),
            });
        } else {
            out.edits.push(Edit {
                file: base.origin.file.clone(),
                line: base.origin.line,
                column: base.origin.column,
                old: base.reference.clone(),
                new: format!("{}@{digest}", base.reference),
            });
        }
    }
    out.edits
        .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    out
}

/// The installed package a declaration names: in the prefix the declarations were found
/// in when there is one; a pip name also finds the conda package that installed that
/// Python distribution.
fn installed<'s>(
    snapshot: &'s Snapshot,
    target: Option<&str>,
    ecosystem: Ecosystem,
    name: &PackageName,
) -> Option<&'s LockedPackage> {
    let in_prefix = |p: &&LockedPackage| target.is_none() || p.prefix.as_deref() == target;
    let exact = |p: &&LockedPackage| p.ecosystem == ecosystem && &p.name == name;
    let dist = |p: &&LockedPackage| {
        ecosystem == Ecosystem::Pip
            && p.ecosystem == Ecosystem::Conda
            && p.python_dist.as_ref() == Some(name)
    };
    let all = &snapshot.packages;
    all.iter()
        .filter(in_prefix)
        .find(exact)
        .or_else(|| all.iter().filter(in_prefix).find(dist))
        .or_else(|| all.iter().find(exact))
        .or_else(|| all.iter().find(dist))
}

/// The declaration rewritten to the installed version: conda `[channel::]name=VERSION=BUILD`,
/// pip `name[extras]==VERSION[; marker]`.
fn pinned_spec(dep: &Dependency, installed: &LockedPackage) -> Result<String, String> {
    let version = &installed.version;
    match &dep.spec {
        DependencySpec::Conda(m) => {
            if m.url.is_some() {
                return Err("an explicit package URL: already names one archive".into());
            }
            let channel = m
                .channel
                .as_deref()
                .map(|c| match &m.subdir {
                    Some(s) => format!("{c}/{s}::"),
                    None => format!("{c}::"),
                })
                .unwrap_or_default();
            let name = written_name(&dep.raw, m.name.as_ref().map_or("", |n| n.as_str()));
            // The installed record's build, for a conda package; a pip-installed one has none.
            let build = (installed.ecosystem == Ecosystem::Conda)
                .then_some(installed.build.as_deref())
                .flatten();
            Ok(match build {
                Some(b) => format!("{channel}{name}={version}={b}"),
                None => format!("{channel}{name}=={version}"),
            })
        }
        DependencySpec::Pip(r) => {
            if r.url.is_some() || r.editable {
                return Err(
                    "a direct reference (URL, path or VCS): pin it by hash or commit".into(),
                );
            }
            if !r.hashes.is_empty() {
                return Err(
                    "carries `--hash` values for its current version: pin it by hand".into(),
                );
            }
            let name = written_name(&dep.raw, r.name.as_ref().map_or("", |n| n.as_str()));
            let extras = if r.extras.is_empty() {
                String::new()
            } else {
                format!("[{}]", r.extras.join(","))
            };
            // The marker as written (a direct reference, whose URL could hold a `;`, was
            // refused above): printing the parsed marker would switch its quotes to `"`,
            // which breaks a declaration inside a double-quoted shell word or YAML string.
            let marker = match (&r.marker, dep.raw.find(';')) {
                (Some(_), Some(at)) => {
                    let head = &dep.raw[..at];
                    let space = &head[head.trim_end().len()..];
                    format!("{space}{}", dep.raw[at..].trim_end())
                }
                (Some(m), None) => format!(" ; {m}"),
                (None, _) => String::new(),
            };
            let pip_version = match installed.ecosystem {
                // A conda record's version can carry conda-only spellings; pip wants PEP 440.
                Ecosystem::Conda => version.replace('_', "."),
                _ => version.clone(),
            };
            Ok(format!("{name}{extras}=={pip_version}{marker}"))
        }
        DependencySpec::Invalid(_) => Err("not a valid spec; fix it by hand".into()),
    }
}

/// The package name as the declaration spells it (its leading name characters), else the
/// normalised one.
fn written_name<'a>(raw: &'a str, normalised: &'a str) -> &'a str {
    let raw = raw.trim_start();
    let raw = raw.split_once("::").map_or(raw, |(_, rest)| rest);
    let end = raw
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map_or(raw.len(), |(i, _)| i);
    if end == 0 { normalised } else { &raw[..end] }
}

/// Apply one file's edits to its text. Each edit's old text must stand at its position (a
/// quote before it is allowed: YAML and JSON strings).
pub fn apply(text: &str, edits: &[&Edit]) -> Result<String, PinError> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    // Right to left within a line, so earlier columns stay valid.
    let mut ordered: Vec<&&Edit> = edits.iter().collect();
    ordered.sort_by_key(|e| std::cmp::Reverse((e.line, e.column)));
    for e in ordered {
        let moved = || PinError::Moved {
            file: e.file.clone(),
            line: e.line,
            column: e.column,
            expected: e.old.clone(),
        };
        let line = lines
            .get_mut((e.line as usize).wrapping_sub(1))
            .ok_or_else(moved)?;
        let start = line
            .char_indices()
            .nth((e.column as usize).saturating_sub(1))
            .map_or(line.len(), |(i, _)| i);
        let at = [start, start + 1]
            .into_iter()
            .find(|&s| line.get(s..).is_some_and(|rest| rest.starts_with(&e.old)))
            .ok_or_else(moved)?;
        line.replace_range(at..at + e.old.len(), &e.new);
    }
    Ok(lines.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(line: u32, column: u32, old: &str, new: &str) -> Edit {
        Edit {
            file: PathBuf::from("f"),
            line,
            column,
            old: old.into(),
            new: new.into(),
        }
    }

    #[test]
    fn edits_replace_in_place_and_keep_comments() {
        let text = "deps:\n  - scipy   # unpinned\n  - pip:\n      - pandas>=2.0 ; python_version >= \"3.8\"\n";
        let a = edit(2, 5, "scipy", "scipy=1.12.0=py310h_0");
        let b = edit(4, 9, "pandas>=2.0", "pandas==2.2.1");
        let out = apply(text, &[&a, &b]).unwrap();
        assert_eq!(
            out,
            "deps:\n  - scipy=1.12.0=py310h_0   # unpinned\n  - pip:\n      - pandas==2.2.1 ; python_version >= \"3.8\"\n"
        );
    }

    #[test]
    fn a_quoted_spec_and_two_edits_on_one_line() {
        let text = "dependencies: ['numpy', \"scipy\"]\n";
        let a = edit(1, 16, "numpy", "numpy=1.26.4=b0");
        let b = edit(1, 25, "scipy", "scipy=1.12.0=b1");
        assert_eq!(
            apply(text, &[&a, &b]).unwrap(),
            "dependencies: ['numpy=1.26.4=b0', \"scipy=1.12.0=b1\"]\n"
        );
    }

    #[test]
    fn a_moved_spec_is_an_error_not_a_wrong_edit() {
        let text = "  - numpy\n";
        let a = edit(1, 5, "scipy", "scipy==1");
        assert!(matches!(apply(text, &[&a]), Err(PinError::Moved { .. })));
        let far = edit(9, 1, "x", "y");
        assert!(apply(text, &[&far]).is_err());
    }

    #[test]
    fn an_entry_that_is_not_a_valid_spec_is_left_alone_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conda.yml");
        std::fs::write(&path, "dependencies:\n  - a:b\n  - pip:\n    - numpy>=\n").unwrap();
        let def =
            crate::definition::load(&path, &crate::definition::LoadOptions::default()).unwrap();
        let plan = plan(&def, &Snapshot::placeholder("s"));
        assert!(plan.edits.is_empty());
        let skipped: Vec<_> = plan
            .skipped
            .iter()
            .map(|s| (s.spec.as_str(), s.reason.ends_with("; fix it by hand")))
            .collect();
        assert_eq!(skipped, [("a:b", true), ("numpy>=", true)]);
        assert!(
            plan.skipped[0]
                .reason
                .contains("conda.yml:2:6: invalid conda spec `a:b`")
        );
    }

    #[test]
    fn names_keep_their_spelling() {
        assert_eq!(
            written_name("Scikit_Learn>=1", "scikit-learn"),
            "Scikit_Learn"
        );
        assert_eq!(written_name("conda-forge::numpy", "numpy"), "numpy");
        assert_eq!(written_name("[x]", "n"), "n");
    }
}
