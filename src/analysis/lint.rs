//! `envaudit lint`: what in a definition lets a rebuild install something else.
//!
//! Lint returns findings as data; `report` renders them and the CLI maps them to an exit
//! code with the shared `--fail-on` option.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

use crate::definition::{
    self, BuildContext, DefinitionError, DefinitionKind, Dependency, DependencySpec, EnvDefinition,
    LoadOptions, Recognized, Skipped,
};
use crate::diag::{Code, Finding};
use crate::model::pin::{ImagePinState, PinState};
use crate::model::{Ecosystem, PackageName};
use crate::python::{Operator, Specifier, Version};

/// Options for [`lint`].
#[derive(Clone, Debug, Default)]
pub struct LintOptions {
    /// Check the inference requirements even without an `inference_config`.
    pub for_inference: bool,
}

/// The result of linting one definition.
#[derive(Clone, Debug, Serialize)]
pub struct LintReport {
    /// The definition's path, as it was loaded.
    pub path: std::path::PathBuf,
    /// The definition's format.
    pub kind: DefinitionKind,
    /// Every finding, in the order the checks ran; empty when lint found
    /// nothing.
    pub findings: Vec<Finding>,
}

/// The result of linting several paths ([`lint_paths`]): a report for each definition, in
/// the order given, the paths that are not definitions, and the definitions that could not
/// be read.
#[derive(Debug, Default)]
pub struct LintSet {
    /// One report per definition linted.
    pub reports: Vec<LintReport>,
    /// The paths that are not environment definitions, with why.
    pub skipped: Vec<Skipped>,
    /// The definitions that could not be read (malformed, missing, unreadable), with the
    /// error; nothing is linted from them.
    pub failed: Vec<(PathBuf, DefinitionError)>,
}

impl LintSet {
    /// Every finding of every report, in report order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.reports.iter().flat_map(|r| &r.findings)
    }
}

/// Lint each of `paths`: the definitions among them (see [`definition::recognize`]), each
/// read with `load`, skipping what is not a definition. When `load.kind` is given, every
/// path is read as that kind and none is skipped.
pub fn lint_paths(paths: &[PathBuf], load: &LoadOptions, options: &LintOptions) -> LintSet {
    let mut set = LintSet::default();
    for path in paths {
        let kind = match load.kind {
            Some(kind) => kind,
            None => match definition::recognize(path) {
                Ok(Recognized::Definition(kind)) => kind,
                Ok(Recognized::NotDefinition(why)) => {
                    set.skipped.push(Skipped {
                        path: path.clone(),
                        why,
                    });
                    continue;
                }
                Err(e) => {
                    set.failed.push((path.clone(), e));
                    continue;
                }
            },
        };
        let load = LoadOptions {
            kind: Some(kind),
            image: load.image.clone(),
        };
        match definition::load(path, &load) {
            Ok(def) => set.reports.push(lint(&def, options)),
            Err(e) => set.failed.push((path.clone(), e)),
        }
    }
    set
}

/// Lint a definition.
pub fn lint(def: &EnvDefinition, options: &LintOptions) -> LintReport {
    let mut findings = Vec::new();
    base_image(def, &mut findings);
    dependencies(def, &mut findings);
    conda_pip(def, &mut findings);
    // `unpinned-conda-pip` already says why conda's `pip` is not pinned: one finding, not two.
    let pip_origins: Vec<_> = findings
        .iter()
        .filter(|f| f.code == Code::UnpinnedCondaPip)
        .filter_map(|f| f.origin.clone())
        .collect();
    findings.retain(|f| {
        f.code == Code::UnpinnedCondaPip
            || f.package.as_deref() != Some("pip")
            || f.origin.as_ref().is_none_or(|o| !pip_origins.contains(o))
    });
    duplicates(def, &mut findings);
    for inc in def.includes.iter().filter(|i| i.is_remote()) {
        findings.push(
            Finding::new(
                Code::RemoteInclude,
                format!(
                    "`{}` is included from a URL; its content can change and is not audited",
                    inc.target
                ),
            )
            .with_origin(inc.origin.clone()),
        );
    }
    if options.for_inference || def.inference_config.is_some() {
        azureml_defaults(def, &mut findings);
    }
    for t in &def.templates {
        findings.push(
            Finding::new(
                Code::UnresolvedTemplate,
                format!("`{}` is a release template; the version is decided when the asset is published", t.text),
            )
            .with_origin(t.origin.clone()),
        );
    }
    if let Some(origin) = &def.legacy_syntax {
        findings.push(
            Finding::new(
                Code::LegacySyntax,
                "pre-GA Azure ML v2 syntax: use top-level `image:` and a plain `conda_file:` path",
            )
            .with_origin(origin.clone()),
        );
    }
    if let Some(BuildContext::Remote { url, .. }) = &def.build_context {
        findings.push(Finding::new(
            Code::RemoteBuildContext,
            format!(
                "build context `{url}` is remote; envaudit records it but cannot audit its files"
            ),
        ));
    }
    // Every finding names a place: those about the definition as a whole point at its
    // main file.
    if let Some(main) = def.files.first() {
        let line = def.whole_definition_line;
        for f in findings.iter_mut().filter(|f| f.origin.is_none()) {
            f.origin = Some(crate::source::Origin::new(main.clone(), line, 1));
        }
    }
    findings.sort_by(|a, b| (a.origin.as_ref(), a.code).cmp(&(b.origin.as_ref(), b.code)));
    LintReport {
        path: def.path.clone(),
        kind: def.kind,
        findings,
    }
}

fn base_image(def: &EnvDefinition, out: &mut Vec<Finding>) {
    let Some(b) = &def.base_image else { return };
    let code = match b.pin {
        ImagePinState::Digest | ImagePinState::Template => return,
        ImagePinState::Tag => Code::FloatingBaseImage,
        ImagePinState::Latest => Code::LatestBaseImage,
    };
    out.push(
        Finding::new(code, format!("base image `{}`: {}", b.reference, b.reason))
            .with_origin(b.origin.clone()),
    );
}

fn dependencies(def: &EnvDefinition, out: &mut Vec<Finding>) {
    // Exact pins from constraint files (`-c`) pin what the requirements leave open.
    let constrained: BTreeMap<PackageName, &Dependency> = def
        .pip_constraints
        .iter()
        .filter(|c| c.pin.state.is_pinned())
        .filter_map(|c| Some((c.name.clone()?, c)))
        .collect();
    let mut user_managed_skipped = 0usize;
    for d in def.dependencies() {
        // An entry that is not a spec at all is one `invalid-spec` error, whoever installs it.
        if let Some(f) = d.invalid_spec_finding() {
            out.push(f);
            continue;
        }
        // In a user-managed environment Azure installs nothing from the conda section;
        // what a Dockerfile installs is still installed.
        if def.user_managed && !def.is_from_build(&d.origin) {
            user_managed_skipped += 1;
            continue;
        }
        let pinned_by_constraint = d.ecosystem == Ecosystem::Pip
            && d.name.as_ref().is_some_and(|n| constrained.contains_key(n));
        if pinned_by_constraint {
            continue;
        }
        let code = match d.pin.state {
            PinState::Exact | PinState::ExactWithBuild | PinState::Template => continue,
            PinState::Fuzzy => Code::FuzzyCondaPin,
            PinState::Wildcard => Code::WildcardPin,
            PinState::Range | PinState::Unpinned => Code::UnpinnedDependency,
        };
        out.push(
            Finding::new(
                code,
                format!("{} `{}`: {}", d.ecosystem, d.raw, d.pin.reason),
            )
            .with_package(d.display_name())
            .with_origin(d.origin.clone()),
        );
    }
    if user_managed_skipped > 0 {
        out.push(Finding::new(
            Code::UserManagedConda,
            format!(
                "user-managed environment: Azure ML installs nothing from the conda list, so its {user_managed_skipped} entries were not checked for pins; the image must already hold them"
            ),
        ));
    }
}

fn conda_pip(def: &EnvDefinition, out: &mut Vec<Finding>) {
    if def.conda_file.is_none() || def.user_managed {
        return;
    }
    // Only a conda file's own `pip:` section is installed by the conda `pip`.
    let conda_file = def.conda_file.as_ref();
    if !def
        .pip_dependencies
        .iter()
        .any(|d| Some(&d.origin.file) == conda_file)
    {
        return;
    }
    let pip = def
        .conda_dependencies
        .iter()
        .find(|d| d.name.as_ref().is_some_and(|n| n.as_str() == "pip"));
    match pip {
        Some(p) if p.pin.state.is_pinned() => {}
        Some(p) => out.push(
            Finding::new(
                Code::UnpinnedCondaPip,
                format!("conda `{}` is not pinned exactly, so the pip that installs the pip list can change: {}", p.raw, p.pin.reason),
            )
            .with_package("pip")
            .with_origin(p.origin.clone()),
        ),
        None => {
            let origin = def.pip_dependencies[0].origin.clone();
            out.push(
                Finding::new(
                    Code::UnpinnedCondaPip,
                    "pip packages are listed but conda `pip` is not, so whichever pip the base image has installs them",
                )
                .with_package("pip")
                .with_origin(origin),
            );
        }
    }
}

fn duplicates(def: &EnvDefinition, out: &mut Vec<Finding>) {
    let conda: BTreeMap<PackageName, &Dependency> = def
        .conda_dependencies
        .iter()
        .filter_map(|d| Some((d.name.as_ref()?.to_pip(), d)))
        .collect();
    for p in &def.pip_dependencies {
        let Some(name) = &p.name else { continue };
        if name.as_str() == "pip" {
            continue;
        }
        if let Some(c) = conda.get(name) {
            out.push(
                Finding::new(
                    Code::DuplicatePackage,
                    format!(
                        "`{name}` is declared in conda (`{}` at {}) and in pip (`{}`); pip will replace conda's files",
                        c.raw, c.origin, p.raw
                    ),
                )
                .with_package(name.to_string())
                .with_origin(p.origin.clone()),
            );
        }
    }
}

/// `azureml-defaults` at version 1.0.45 or later must be a pip dependency of an
/// inference environment.
fn azureml_defaults(def: &EnvDefinition, out: &mut Vec<Finding>) {
    let found = def.pip_dependencies.iter().find(|d| {
        d.name.as_ref().is_some_and(|n| {
            n.as_str() == "azureml-defaults" || n.as_str() == "azureml-inference-server-http"
        })
    });
    let Some(d) = found else {
        out.push(Finding::new(
            Code::MissingAzuremlDefaults,
            "inference environment without `azureml-defaults>=1.0.45` in its pip dependencies: the scoring server will not start",
        ));
        return;
    };
    if let DependencySpec::Pip(req) = &d.spec {
        let too_old = req.specifiers.iter().any(|s| {
            matches!(
                s.operator(),
                Operator::Equal | Operator::ArbitraryEqual | Operator::Less | Operator::LessEqual
            ) && older_than_1_0_45(s)
        });
        if too_old {
            out.push(
                Finding::new(
                    Code::MissingAzuremlDefaults,
                    format!(
                        "`{}` allows versions older than 1.0.45, which cannot host a model",
                        d.raw
                    ),
                )
                .with_package(d.display_name())
                .with_origin(d.origin.clone()),
            );
        }
    }
}

/// Whether the version a specifier names (for `===`, its text read as a version) is older
/// than 1.0.45; a release template names none.
fn older_than_1_0_45(s: &Specifier) -> bool {
    let minimum = Version::from_str("1.0.45").ok();
    let version = s
        .version()
        .cloned()
        .or_else(|| s.version_text().parse().ok());
    version.is_some_and(|v| Some(v) < minimum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_versions_compare_numerically() {
        let version_less = |a: &str, b: &str| {
            Version::from_str(a).expect("version") < Version::from_str(b).expect("version")
        };
        assert!(version_less("1.0.9", "1.0.45"));
        assert!(!version_less("1.0.45", "1.0.45"));
        assert!(!version_less("1.49.0", "1.0.45"));
        assert!(version_less("1.0", "1.0.45"));
    }
}
