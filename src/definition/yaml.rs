//! Small YAML helpers shared by the YAML-based formats.

use std::path::Path;

use super::DefinitionKind;
use crate::source::{ParseError, SourceFile};

/// Guess the kind of a YAML definition from its top-level keys.
pub(super) fn detect_kind(path: &Path) -> Option<DefinitionKind> {
    let source = SourceFile::read(path).ok()?;
    let mut keys = Vec::new();
    for line in source.text.lines() {
        if line.starts_with(|c: char| c.is_whitespace() || c == '#' || c == '-') {
            continue;
        }
        if let Some((k, _)) = line.split_once(':') {
            keys.push(k.trim().trim_matches(['"', '\'']).to_owned());
        }
    }
    let has = |k: &str| keys.iter().any(|x| x == k);
    if has("dependencies") || has("channels") {
        return Some(DefinitionKind::Conda);
    }
    if has("type") && has("spec") {
        return Some(DefinitionKind::Curated);
    }
    if has("jobs") || has("command") || (has("environment") && !has("image") && !has("build")) {
        return Some(DefinitionKind::AzuremlJob);
    }
    if has("image") || has("build") || has("conda_file") || has("docker") {
        return Some(DefinitionKind::AzuremlV2);
    }
    None
}

/// Parse YAML into a wire type, turning serde-saphyr's error into a located [`ParseError`].
pub(crate) fn from_source<T: serde::de::DeserializeOwned>(source: &SourceFile) -> Result<T, ParseError> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    };
    serde_saphyr::from_str_with_options(&source.text, options).map_err(|e| yaml_error(source, &e))
}

pub(crate) fn yaml_error(source: &SourceFile, e: &serde_saphyr::Error) -> ParseError {
    let (line, column) = e
        .location()
        .map_or((1, 1), |l| (u32::try_from(l.line()).unwrap_or(1).max(1), u32::try_from(l.column()).unwrap_or(1).max(1)));
    let message = e.to_string();
    // serde-saphyr's message may carry its own location text and a snippet; keep the first line.
    let message = message.lines().next().unwrap_or("invalid YAML").to_owned();
    ParseError::at(source, line, column, message)
}
