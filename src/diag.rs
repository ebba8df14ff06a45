//! Findings with stable kebab-case codes and severities, shared by every command that can
//! fail on findings. Each code is documented in `docs/diagnostics.md`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::source::Origin;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong.
    Note,
    /// A risk to reproducibility or to the audit.
    Warning,
    /// Something is wrong: the build or the record cannot be trusted as it is.
    Error,
}

impl Severity {
    /// The lowercase name used in output and in `--fail-on`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($($variant:ident = $text:literal, $sev:ident, $summary:literal;)*) => {
        /// A finding's stable code; each is documented in `docs/diagnostics.md`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $(#[doc = $summary] $variant,)* }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The kebab-case code, as printed and as `--fail-on` and `envaudit.toml` name it.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            /// The default severity of the code.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    UnpinnedDependency = "unpinned-dependency", Warning, "a declared dependency has no exact version (or is a moving VCS ref, an unhashed URL, a local path)";
    FuzzyCondaPin = "fuzzy-conda-pin", Warning, "conda `pkg=1.2.3` matches `1.2.3.*`, not exactly 1.2.3";
    WildcardPin = "wildcard-pin", Warning, "a `==1.2.*` or `=1.2.*` wildcard matches many versions";
    FloatingBaseImage = "floating-base-image", Warning, "the base image is named by a tag, which can move; pin it by digest";
    LatestBaseImage = "latest-base-image", Error, "the base image is `:latest` or untagged, which moves with every release";
    UnresolvedTemplate = "unresolved-template", Note, "a release template such as `{{latest-pypi-version}}` is left unresolved";
    UnpinnedCondaPip = "unpinned-conda-pip", Warning, "pip packages are installed but the conda `pip` itself is not pinned";
    DuplicatePackage = "duplicate-package", Warning, "the same package is declared in both the conda and the pip list";
    RemoteInclude = "remote-include", Warning, "a `-r`/`-c` include is a URL, which cannot be audited offline";
    MissingAzuremlDefaults = "missing-azureml-defaults", Error, "an inference environment lacks `azureml-defaults>=1.0.45`";
    UserManagedConda = "user-managed-conda", Note, "a user-managed environment: Azure ML installs nothing from its conda list";
    LegacySyntax = "legacy-syntax", Warning, "pre-GA Azure ML v2 syntax (`docker: image:`, `conda_file: file:`) that Azure no longer accepts";
    RemoteBuildContext = "remote-build-context", Note, "the build context is a URL; its files are not part of the definition hash";
    InvalidSpec = "invalid-spec", Error, "an entry of a conda file (its conda list or its `pip:` list) is not a valid spec; Azure ML accepts the file, conda or pip fails on it at build time";
    SilentDrift = "silent-drift", Error, "installed packages or the image changed while the definition hash stayed the same";
    Changed = "changed", Note, "an environment's definition, image or installed packages changed";
    Downgrade = "downgrade", Warning, "an installed package went to a lower version";
    PinLoosened = "pin-loosened", Warning, "a declared dependency is pinned less firmly than before";
    CatalogIncomplete = "catalog-incomplete", Warning, "the installed packages were not all read (a limit, a corrupt or truncated layer, a malformed package database); packages may be missing";
    Drift = "drift", Warning, "installed packages changed between two snapshots of an environment";
    PinViolated = "pin-violated", Error, "a package declared with an exact version is installed at another version";
    StaleLock = "stale-lock", Error, "the lockfile no longer matches the definition or the image behind its tag";
    LayerCache = "layer-cache", Warning, "a layer-cache entry could not be read or written; the layer was read from the image";
    BaseImageMismatch = "base-image-mismatch", Warning, "the image does not start with the base image's layers, so no package is marked as the base image's";
    PredictedDrift = "predicted-drift", Warning, "a rebuild now would install other versions than the lockfile records";
    Unresolvable = "unresolvable", Error, "the definition has no solution on the package index now: a rebuild would fail";
    BaseImageMoved = "base-image-moved", Warning, "the base image's tag now names another image than the one locked";
    Unpredictable = "unpredictable", Warning, "a requirement whose outcome cannot be known without building (a URL, a local path, an sdist with dynamic dependencies)";
    Unattested = "unattested", Error, "the image carries no signed evidence: no Sigstore bundle among the referrers of its manifest";
    SignatureInvalid = "signature-invalid", Error, "a signed bundle does not verify with the given key, or cannot be read: its payload or signature was changed, or another key signed it";
    SubjectMismatch = "subject-mismatch", Error, "the evidence is about another image: the environment's tag moved, or a statement's subject is not the manifest";
    EvidenceIncomplete = "evidence-incomplete", Error, "a verified statement lists an artifact the registry no longer holds (deleted, replaced or unreadable), or the evidence holds no snapshot to check";
    ContentChanged = "content-changed", Error, "the image read again does not hold the attested snapshot's packages";
    DiffIdMismatch = "diff-id-mismatch", Error, "a layer's uncompressed content does not match the `diff_id` the image config lists for it";
    UnreadableImage = "unreadable-image", Warning, "`fleet scan` could not read a reference or list a repository (denied, missing, corrupt or another error)";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code that is not one of [`Code::ALL`] (the text as given).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown finding code `{0}`")]
pub struct UnknownCode(pub String);

impl FromStr for Code {
    type Err = UnknownCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The name `catalog-incomplete` had before it was reported by scans too.
        if s == "incomplete-catalog" {
            return Ok(Code::CatalogIncomplete);
        }
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of finding it is.
    pub code: Code,
    /// How serious it is: the code's default unless a command says otherwise.
    pub severity: Severity,
    /// What was found, in one sentence naming the package or environment.
    pub message: String,
    /// The package (or environment) it is about, which `envaudit.toml` can match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Where in a definition file it was declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// The reason from `envaudit.toml` when the finding is accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
}

impl Finding {
    /// A finding of `code` at the code's default severity.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: code.severity(),
            message: message.into(),
            package: None,
            origin: None,
            accepted: None,
        }
    }

    /// The same finding, about `package`.
    #[must_use]
    pub fn with_package(mut self, package: impl Into<String>) -> Self {
        self.package = Some(package.into());
        self
    }

    /// The same finding, at `origin`.
    #[must_use]
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// The same finding at another severity.
    #[must_use]
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

/// What makes a command fail: `--fail-on error|warning|note|never` or a list of codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// Findings of this severity or worse fail.
    Severity(Severity),
    /// Nothing fails.
    Never,
    /// Findings with any of these codes fail (`drift` also covers `silent-drift`).
    Codes(Vec<Code>),
}

impl Default for FailOn {
    fn default() -> Self {
        FailOn::Severity(Severity::Warning)
    }
}

/// A `--fail-on` value that is neither a severity nor a list of codes (the text as given).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a severity (`error`, `warning`, `note`, `never`) or a list of finding codes")]
pub struct FailOnError(pub String);

impl FromStr for FailOn {
    type Err = FailOnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "error" => Ok(FailOn::Severity(Severity::Error)),
            "warning" => Ok(FailOn::Severity(Severity::Warning)),
            "note" => Ok(FailOn::Severity(Severity::Note)),
            "never" => Ok(FailOn::Never),
            list => list
                .split(',')
                .map(|c| c.trim().parse::<Code>())
                .collect::<Result<Vec<_>, _>>()
                .map(FailOn::Codes)
                .map_err(|_| FailOnError(s.to_owned())),
        }
    }
}

impl FailOn {
    /// Whether this finding makes the command fail. Accepted findings never do.
    pub fn fails(&self, finding: &Finding) -> bool {
        if finding.accepted.is_some() {
            return false;
        }
        match self {
            FailOn::Severity(min) => finding.severity >= *min,
            FailOn::Never => false,
            // Silent drift is drift too: `--fail-on drift` fails on either.
            FailOn::Codes(codes) => {
                codes.contains(&finding.code)
                    || (finding.code == Code::SilentDrift && codes.contains(&Code::Drift))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_on_drift_includes_silent_drift_but_not_the_reverse() {
        let drift: FailOn = "drift".parse().unwrap();
        let silent: FailOn = "silent-drift".parse().unwrap();
        let s = Finding::new(Code::SilentDrift, "s");
        let d = Finding::new(Code::Drift, "d");
        assert!(drift.fails(&s) && drift.fails(&d));
        assert!(silent.fails(&s) && !silent.fails(&d));
    }

    #[test]
    fn codes_round_trip_through_their_text() {
        for c in Code::ALL {
            assert_eq!(c.as_str().parse::<Code>().unwrap(), *c);
        }
    }

    #[test]
    fn fail_on_accepts_severities_and_code_lists() {
        assert_eq!(
            "error".parse::<FailOn>().unwrap(),
            FailOn::Severity(Severity::Error)
        );
        assert_eq!(
            "unpinned-dependency, remote-include"
                .parse::<FailOn>()
                .unwrap(),
            FailOn::Codes(vec![Code::UnpinnedDependency, Code::RemoteInclude])
        );
        assert!("bogus".parse::<FailOn>().is_err());
    }

    #[test]
    fn accepted_findings_never_fail() {
        let mut f = Finding::new(Code::LatestBaseImage, "x");
        assert!(FailOn::default().fails(&f));
        f.accepted = Some("reviewed".into());
        assert!(!FailOn::default().fails(&f));
        assert!(!FailOn::Codes(vec![Code::LatestBaseImage]).fails(&f));
    }
}
