//! Whether an image still holds what its attested snapshot says: the catalog read again
//! from the image, compared package by package with the snapshot in the evidence.

use serde::Serialize;

use crate::analysis::diff::{self, PackageChange};
use crate::lockfile::{LockedPackage, Snapshot};

/// The attested snapshot against the image's catalog, read again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContentCheck {
    /// The attested snapshot's id.
    pub attested_snapshot: String,
    /// The id of the snapshot of the image as read now.
    pub observed_snapshot: String,
    /// How many packages the attested snapshot lists.
    pub attested_packages: usize,
    /// How many packages the image holds now.
    pub observed_packages: usize,
    /// Packages added, removed, or at another version or build.
    pub changes: Vec<PackageChange>,
    /// Packages at the same version and build whose installed content differs
    /// (`ecosystem:name@version`): the digest of their installed-file list (`RECORD`,
    /// `md5sums`), their archive's hashes or their requirements changed.
    pub altered: Vec<String>,
    /// The layers the image lists now differ from the attested ones.
    pub layers_changed: bool,
}

impl ContentCheck {
    /// Whether the image holds exactly what was attested.
    pub fn same(&self) -> bool {
        self.changes.is_empty() && self.altered.is_empty() && !self.layers_changed
    }
}

/// Compares the attested snapshot with the one read from the image now.
pub fn compare(attested: &Snapshot, observed: &Snapshot) -> ContentCheck {
    let env = diff::snapshots("image", Some(attested), Some(observed));
    let mut altered = Vec::new();
    for a in &attested.packages {
        if let Some(o) = observed
            .packages
            .iter()
            .find(|o| identity(o) == identity(a))
            && content(o) != content(a)
        {
            altered.push(format!("{}:{}@{}", a.ecosystem, a.name, a.version));
        }
    }
    ContentCheck {
        attested_snapshot: attested.id.clone(),
        observed_snapshot: observed.id.clone(),
        attested_packages: attested.packages.len(),
        observed_packages: observed.packages.len(),
        changes: env.packages,
        altered,
        layers_changed: !attested.image_layers.is_empty()
            && attested.image_layers != observed.image_layers,
    }
}

type Identity<'a> = (
    crate::model::Ecosystem,
    Option<&'a str>,
    &'a str,
    &'a str,
    Option<&'a str>,
);

fn identity(p: &LockedPackage) -> Identity<'_> {
    (
        p.ecosystem,
        p.prefix.as_deref(),
        p.name.as_str(),
        &p.version,
        p.build.as_deref(),
    )
}

/// What the image's files say of a package, leaving out what depends on how it was scanned
/// (whether the base image was known).
fn content(p: &LockedPackage) -> impl PartialEq + '_ {
    (
        &p.record,
        &p.sha256,
        &p.md5,
        &p.url,
        &p.channel,
        &p.requires,
        &p.licenses,
    )
}
