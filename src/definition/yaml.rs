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
pub(crate) fn from_source<T: serde::de::DeserializeOwned>(
    source: &SourceFile,
) -> Result<T, ParseError> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    };
    serde_saphyr::from_str_with_options(&source.text, options).map_err(|e| yaml_error(source, &e))
}

pub(crate) fn yaml_error(source: &SourceFile, e: &serde_saphyr::Error) -> ParseError {
    let (line, column) = e.location().map_or((1, 1), location);
    let rendered = e.without_snippet().to_string();
    ParseError::at(source, line, column, bare_message(&rendered))
}

/// serde-saphyr's message without its own `error: line L column C: ` prefix (the location
/// is shown once, by [`ParseError`]) and without anything after the first line.
fn bare_message(rendered: &str) -> String {
    let first = rendered.lines().next().unwrap_or("invalid YAML");
    let mut msg = first.strip_prefix("error: ").unwrap_or(first);
    if let Some(rest) = msg.strip_prefix("line ")
        && let Some((_, tail)) = rest.split_once(": ")
    {
        msg = tail;
    }
    if let Some(at) = msg.rfind(" at line ") {
        let tail = &msg[at + " at line ".len()..];
        let is_location = tail.split_once(", column ").is_some_and(|(l, c)| {
            l.bytes().all(|b| b.is_ascii_digit()) && c.bytes().all(|b| b.is_ascii_digit())
        });
        if is_location {
            msg = &msg[..at];
        }
    }
    let msg = msg.trim();
    if msg.is_empty() {
        "invalid YAML".to_owned()
    } else {
        msg.to_owned()
    }
}

/// Any YAML scalar read as its text (`version: 1` and `version: "1"` are both `"1"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Text(pub String);

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A value that is either a string or a mapping; the mapping's content is skipped (it is
/// re-read from its place in the file with [`block_at`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StringOrMapping {
    String(String),
    Mapping,
}

impl<'de> serde::Deserialize<'de> for StringOrMapping {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = StringOrMapping;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a mapping")
            }
            fn visit_str<E>(self, v: &str) -> Result<StringOrMapping, E> {
                Ok(StringOrMapping::String(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<StringOrMapping, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(StringOrMapping::Mapping)
            }
        }
        d.deserialize_any(V)
    }
}

/// The YAML node starting at `line`/`column` (1-based) cut out of `source` in place: the
/// rest of the file is blanked (newlines kept), so parsing the result reports positions
/// of the original file. A block node ends at the first later line that is indented less
/// than `column` and is not blank or a comment.
pub(crate) fn block_at(source: &SourceFile, line: u32, column: u32) -> SourceFile {
    let start_col = column.saturating_sub(1) as usize;
    let mut out = String::with_capacity(source.text.len());
    let mut inside = true;
    for (i, text) in source.text.split('\n').enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if i > 0 {
            out.push('\n');
        }
        if n < line {
            out.extend(text.chars().map(|_| ' '));
            continue;
        }
        if n == line {
            out.extend(
                text.chars()
                    .enumerate()
                    .map(|(c, ch)| if c < start_col { ' ' } else { ch }),
            );
            continue;
        }
        let trimmed = text.trim_start();
        let indent = text.chars().count() - trimmed.chars().count();
        if inside && !trimmed.is_empty() && !trimmed.starts_with('#') && indent < start_col {
            inside = false;
        }
        if inside {
            out.push_str(text);
        } else {
            out.extend(text.chars().map(|_| ' '));
        }
    }
    SourceFile {
        path: source.path.clone(),
        text: out,
    }
}

pub(crate) fn location(loc: serde_saphyr::Location) -> (u32, u32) {
    (
        u32::try_from(loc.line()).unwrap_or(1).max(1),
        u32::try_from(loc.column()).unwrap_or(1).max(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_errors_show_the_location_once() {
        let src = SourceFile::from_text("env.yml", "a: [1, 2\n");
        let err = from_source::<serde_json::Value>(&src).unwrap_err();
        assert!(!err.message.contains("line "), "{}", err.message);
        assert!(!err.message.starts_with("error"), "{}", err.message);
        insta::assert_snapshot!(err.message, @"unclosed bracket '['");
        assert_eq!((err.line, err.column), (1, 4));
    }
}
