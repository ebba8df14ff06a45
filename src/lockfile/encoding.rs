//! The text of the snapshot fields whose type is not written as its own serde form: serde
//! reads them through these modules (`#[serde(with = ...)]`), and the hand-ordered writer
//! prints them with the same functions, so reading and writing cannot disagree.
//!
//! An unknown value is a parse error at its line and column, as an unknown `ecosystem` or
//! `pin` already is: these are closed sets whose values change what analysis concludes
//! (whether a catalog was complete, which rewrite applies), so a file that holds a value
//! this build does not know needs a newer `version`, which is refused with its own error.

use serde::de::{Deserialize, Deserializer, Error as _};
use serde::ser::Serializer;

/// `completeness`: [`Completeness`](crate::layer::Completeness) through its text form,
/// `complete`, `partial: REASON` or `nothing-found`.
pub(super) mod completeness {
    use super::*;
    use crate::layer::Completeness;

    pub(crate) fn serialize<S: Serializer>(c: &Completeness, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(c)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Completeness, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(D::Error::custom)
    }
}

/// `definition-kind`: a [`DefinitionKind`](crate::definition::DefinitionKind) by its name,
/// or `none` for a snapshot of an image or folder compared without a definition.
pub(super) mod definition_kind {
    use super::*;
    use crate::definition::DefinitionKind;
    use serde::de::value::{Error as ValueError, StrDeserializer};

    const NONE: &str = "none";

    /// The text written for `kind`.
    pub(crate) fn text(kind: Option<DefinitionKind>) -> &'static str {
        kind.map_or(NONE, DefinitionKind::as_str)
    }

    #[allow(
        clippy::ref_option,
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's `serialize_with` passes the field by reference"
    )]
    pub(crate) fn serialize<S: Serializer>(
        kind: &Option<DefinitionKind>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(text(*kind))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DefinitionKind>, D::Error> {
        let text = String::deserialize(d)?;
        if text == NONE {
            return Ok(None);
        }
        DefinitionKind::deserialize(StrDeserializer::<ValueError>::new(&text))
            .map(Some)
            .map_err(|e| D::Error::custom(format_args!("{e}, or `{NONE}`")))
    }
}

/// A declared dependency's `name`: a [`PackageName`](crate::model::PackageName), spelt as
/// the file spells it; the empty string for a spec that names no package (a pip direct URL
/// without one) or that could not be parsed.
pub(super) mod declared_name {
    use super::{Deserialize, Deserializer, Serializer};
    use crate::model::PackageName;

    /// The text written for `name`.
    pub(crate) fn text(name: Option<&PackageName>) -> &str {
        name.map_or("", PackageName::as_str)
    }

    #[allow(
        clippy::ref_option,
        reason = "serde's `serialize_with` passes the field by reference"
    )]
    pub(crate) fn serialize<S: Serializer>(
        name: &Option<PackageName>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(text(name.as_ref()))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<PackageName>, D::Error> {
        let name = PackageName::deserialize(d)?;
        Ok((!name.as_str().is_empty()).then_some(name))
    }
}
