//! Build arguments: the values the global `ARG`s take, and the `$VAR` / `${VAR:-default}`
//! expansion docker applies to `FROM` with them.

use std::collections::BTreeMap;

use super::Dockerfile;
use super::shell::split_words;

impl Dockerfile {
    /// The global `ARG`s (before the first `FROM`) with their values: `build_args` override
    /// the defaults; an `ARG` with neither is left out (it expands to nothing).
    pub fn meta_args(&self, build_args: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut args = BTreeMap::new();
        for instruction in self
            .instructions
            .iter()
            .filter(|i| i.stage.is_none() && i.keyword == "ARG")
        {
            for word in split_words(&instruction.arguments, self.escape) {
                let text = word.text();
                let (name, default) = match text.split_once('=') {
                    Some((name, default)) => (name, Some(default)),
                    None => (text.as_str(), None),
                };
                let value = match (build_args.get(name), default) {
                    (Some(given), _) => Some(given.clone()),
                    (None, Some(default)) => Some(expand(default, &args, self.escape)),
                    (None, None) => None,
                };
                match value {
                    Some(value) => args.insert(name.to_owned(), value),
                    None => args.remove(name),
                };
            }
        }
        args
    }
}

/// Expand `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}` and
/// `${VAR+alt}`; unknown variables expand to nothing, `escape` followed by `$` is a `$`.
pub fn expand(text: &str, vars: &BTreeMap<String, String>, escape: char) -> String {
    expand_nested(text, vars, escape, 0)
}

/// Longest `${...}` expression expanded; a longer one is kept as written (this bounds the
/// work on unterminated `${`).
const MAX_EXPRESSION_CHARS: usize = 512;

/// How deeply `${A:-${B:-...}}` defaults are expanded; deeper text is kept as written.
const MAX_EXPANSION_NESTING: u8 = 16;

fn expand_nested(text: &str, vars: &BTreeMap<String, String>, escape: char, depth: u8) -> String {
    if depth > MAX_EXPANSION_NESTING {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        if c == escape && chars.get(k + 1) == Some(&'$') {
            out.push('$');
            k += 2;
        } else if c == '$' && chars.get(k + 1) == Some(&'{') {
            if let Some((value, next)) = expand_braced(&chars, k + 2, vars, escape, depth) {
                out.push_str(&value);
                k = next;
            } else {
                out.push(c);
                k += 1;
            }
        } else if c == '$'
            && chars
                .get(k + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_')
        {
            let end = (k + 1..chars.len())
                .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                .unwrap_or(chars.len());
            let name: String = chars[k + 1..end].iter().collect();
            out.push_str(vars.get(&name).map_or("", String::as_str));
            k = end;
        } else {
            out.push(c);
            k += 1;
        }
    }
    out
}

/// Expand `${...}` whose name starts at `start`; returns the value and the index after `}`.
fn expand_braced(
    chars: &[char],
    start: usize,
    vars: &BTreeMap<String, String>,
    escape: char,
    depth: u8,
) -> Option<(String, usize)> {
    let name_end = (start..chars.len())
        .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
        .unwrap_or(chars.len());
    if name_end == start {
        return None;
    }
    let name: String = chars[start..name_end].iter().collect();
    let value = vars.get(&name);
    let mut braces = 1usize;
    let mut close = None;
    for (j, &c) in chars
        .iter()
        .enumerate()
        .skip(name_end)
        .take(MAX_EXPRESSION_CHARS)
    {
        match c {
            '{' => braces += 1,
            '}' => {
                braces -= 1;
                if braces == 0 {
                    close = Some(j);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    let modifier: String = chars[name_end..close].iter().collect();
    let set = value.is_some();
    let non_empty = value.is_some_and(|v| !v.is_empty());
    let word = |w: &str| expand_nested(w, vars, escape, depth + 1);
    let result = if modifier.is_empty() {
        value.cloned().unwrap_or_default()
    } else if let Some(default) = modifier.strip_prefix(":-") {
        if non_empty {
            value.cloned().unwrap_or_default()
        } else {
            word(default)
        }
    } else if let Some(default) = modifier.strip_prefix('-') {
        if set {
            value.cloned().unwrap_or_default()
        } else {
            word(default)
        }
    } else if let Some(alt) = modifier.strip_prefix(":+") {
        if non_empty { word(alt) } else { String::new() }
    } else if let Some(alt) = modifier.strip_prefix('+') {
        if set { word(alt) } else { String::new() }
    } else {
        return None;
    };
    Some((result, close + 1))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::definition::dockerfile::tests::text;

    #[test]
    fn from_args_are_substituted_with_defaults_and_overrides() {
        let df = text(
            "ARG REGISTRY=mcr.microsoft.com\nARG BASE=${REGISTRY}/azureml/base\nARG TAG\nARG SUFFIX\nFROM --platform=linux/amd64 ${BASE}:${TAG:-latest}${SUFFIX:+-$SUFFIX} AS build\n",
        );
        assert_eq!(
            df.stages[0].base,
            "${BASE}:${TAG:-latest}${SUFFIX:+-$SUFFIX}"
        );
        assert_eq!(df.stages[0].platform.as_deref(), Some("linux/amd64"));
        assert_eq!(df.stages[0].name.as_deref(), Some("build"));
        let (base, origin) = df.final_base(&BTreeMap::new()).unwrap();
        assert_eq!(base, "mcr.microsoft.com/azureml/base:latest");
        assert_eq!((origin.line, origin.column), (5, 29));
        let args = BTreeMap::from([
            ("TAG".to_owned(), "20240101".to_owned()),
            ("SUFFIX".to_owned(), "gpu".to_owned()),
            ("REGISTRY".to_owned(), "example.io".to_owned()),
            ("UNDECLARED".to_owned(), "x".to_owned()),
        ]);
        assert_eq!(
            df.final_base(&args).unwrap().0,
            "example.io/azureml/base:20240101-gpu"
        );
        assert_eq!(df.instructions[0].stage, None);
        assert_eq!(df.instructions[4].stage, Some(0));
    }

    #[test]
    fn deeply_nested_defaults_do_not_overflow_the_stack() {
        let base = format!("{}x{}", "${A:-".repeat(20_000), "}".repeat(20_000));
        let df = text(&format!("FROM {base}\n"));
        assert!(df.final_base(&BTreeMap::new()).is_some());
    }
}
