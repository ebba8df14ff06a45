//! The ignore-file patterns azure-ai-ml applies to a build context: its vendored copy of
//! `pathspec`'s `GitWildMatchPattern`, matched as Python's `re.match` matches the regular
//! expression that class builds (not as git itself would).
//!
//! The facts that matter for the upload hash:
//! - each line is `rstrip()`ped, then `strip()`ped; empty lines, `#` comments and a lone `/`
//!   do nothing; `!` negates; the *last* matching pattern decides;
//! - a pattern without a `/` (other than a trailing one) matches at any depth; a pattern with
//!   a leading or inner `/` is anchored at the context root;
//! - a trailing `/` only matches paths *below* the directory: the paths checked carry no
//!   trailing slash, so the directory entry itself is not excluded, only its contents (its
//!   name is still hashed);
//! - `*` and `?` never match `/`; `**` segments match across directories; `[...]` is a
//!   character class with `!` negation; `\` escapes, and a trailing `\` is an error;
//! - `.` in the generated expression does not match a newline, and `$` also matches before a
//!   final newline, as in Python.

use std::collections::HashSet;
use std::fmt;

/// A pattern line that azure-ai-ml would refuse (it raises while reading the ignore file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ignore pattern `{pattern}`: {reason}")]
pub struct PatternError {
    /// The pattern line as written.
    pub pattern: String,
    /// What is wrong with it, such as `nothing left to match`.
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `[^/]`
    One,
    /// `[^/]*`
    Star,
    /// `[^/]+`
    Seg,
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
    /// `(?:.+/)?`
    LeadingDirs,
    /// `/.*`
    SlashRest,
    /// `(?:/.+)?`
    InnerDirs,
    /// `(?:/.*)?`
    OptSlashRest,
    /// `.+`
    Any,
}

/// One compiled line of an ignore file.
#[derive(Clone, PartialEq, Eq)]
pub struct Pattern {
    /// `true` excludes, `false` re-includes (`!`).
    pub exclude: bool,
    toks: Vec<Tok>,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({}, {:?})", self.exclude, self.toks)
    }
}

impl Pattern {
    /// Compile one line; `Ok(None)` for lines that do nothing.
    pub fn parse(line: &str) -> Result<Option<Pattern>, PatternError> {
        let original = line;
        let p = line.trim();
        if p.is_empty() || p.starts_with('#') || p == "/" {
            return Ok(None);
        }
        let bad = |reason| PatternError {
            pattern: original.to_owned(),
            reason,
        };
        let (exclude, p) = match p.strip_prefix('!') {
            Some(rest) => (false, rest),
            None => (true, p),
        };
        let mut segs: Vec<&str> = p.split('/').collect();
        // collapse runs of `**`
        let mut i = segs.len().saturating_sub(1);
        while i > 0 {
            if segs[i - 1] == "**" && segs[i] == "**" {
                segs.remove(i);
            }
            i -= 1;
        }
        if segs.len() == 2 && segs[0] == "**" && segs[1].is_empty() {
            return Ok(Some(Pattern {
                exclude,
                toks: vec![Tok::Any, Tok::SlashRest],
            }));
        }
        if segs.first().is_some_and(|s| s.is_empty()) {
            segs.remove(0);
        } else if (segs.len() == 1 || (segs.len() == 2 && segs[1].is_empty())) && segs[0] != "**" {
            segs.insert(0, "**");
        }
        if segs.is_empty() {
            return Err(bad("nothing left to match"));
        }
        if segs.len() > 1 && segs.last().is_some_and(|s| s.is_empty()) {
            let last = segs.len() - 1;
            segs[last] = "**";
        }
        let mut toks = Vec::new();
        let mut need_slash = false;
        let end = segs.len() - 1;
        for (i, seg) in segs.iter().enumerate() {
            if *seg == "**" {
                if i == 0 && i == end {
                    toks.push(Tok::Any);
                } else if i == 0 {
                    toks.push(Tok::LeadingDirs);
                    need_slash = false;
                } else if i == end {
                    toks.push(Tok::SlashRest);
                } else {
                    toks.push(Tok::InnerDirs);
                    need_slash = true;
                }
            } else if *seg == "*" {
                if need_slash {
                    toks.push(Tok::Lit('/'));
                }
                toks.push(Tok::Seg);
                if i == end {
                    toks.push(Tok::OptSlashRest);
                }
                need_slash = true;
            } else {
                if need_slash {
                    toks.push(Tok::Lit('/'));
                }
                segment_glob(seg, &mut toks).map_err(bad)?;
                if i == end {
                    toks.push(Tok::OptSlashRest);
                }
                need_slash = true;
            }
        }
        Ok(Some(Pattern { exclude, toks }))
    }

    /// Python `re.match(regex, path) is not None`.
    pub fn matches(&self, path: &str) -> bool {
        let s: Vec<char> = path.chars().collect();
        let mut failed = std::collections::HashSet::new();
        match_at(&self.toks, &s, 0, &mut failed)
    }
}

fn segment_glob(seg: &str, toks: &mut Vec<Tok>) -> Result<(), &'static str> {
    let chars: Vec<char> = seg.chars().collect();
    let mut i = 0;
    let mut escape = false;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if escape {
            escape = false;
            toks.push(Tok::Lit(c));
        } else if c == '\\' {
            escape = true;
        } else if c == '*' {
            toks.push(Tok::Star);
        } else if c == '?' {
            toks.push(Tok::One);
        } else if c == '[' {
            let mut j = i;
            if j < chars.len() && chars[j] == '!' {
                j += 1;
            }
            if j < chars.len() && chars[j] == ']' {
                j += 1;
            }
            while j < chars.len() && chars[j] != ']' {
                j += 1;
            }
            if j < chars.len() {
                let mut k = i;
                let mut negated = false;
                let mut items = Vec::new();
                if chars[k] == '!' {
                    negated = true;
                    k += 1;
                } else if chars[k] == '^' {
                    items.push(('^', '^'));
                    k += 1;
                }
                // the regex class body is chars[k..j] (backslashes literal); a `]` first is literal
                let body = &chars[k..j];
                let mut b = 0;
                while b < body.len() {
                    let lo = body[b];
                    if b + 2 < body.len() && body[b + 1] == '-' {
                        let hi = body[b + 2];
                        if hi < lo {
                            return Err("bad character range");
                        }
                        items.push((lo, hi));
                        b += 3;
                    } else {
                        items.push((lo, lo));
                        b += 1;
                    }
                }
                toks.push(Tok::Class { negated, items });
                i = j + 1;
            } else {
                toks.push(Tok::Lit('['));
            }
        } else {
            toks.push(Tok::Lit(c));
        }
    }
    if escape {
        return Err("escape character with nothing to escape");
    }
    Ok(())
}

fn at_end(s: &[char], j: usize) -> bool {
    j == s.len() || (j + 1 == s.len() && s[j] == '\n')
}

/// Backtracking match of the remaining tokens from `s[j]`; `failed` remembers
/// `(tokens left, position)` states already known not to match, so patterns with many `*`
/// stay polynomial.
fn match_at(toks: &[Tok], s: &[char], j: usize, failed: &mut HashSet<(usize, usize)>) -> bool {
    if failed.contains(&(toks.len(), j)) {
        return false;
    }
    let ok = match_tok(toks, s, j, failed);
    if !ok {
        failed.insert((toks.len(), j));
    }
    ok
}

fn match_tok(toks: &[Tok], s: &[char], j: usize, failed: &mut HashSet<(usize, usize)>) -> bool {
    let Some((tok, rest)) = toks.split_first() else {
        return at_end(s, j);
    };
    let dot = |c: char| c != '\n';
    match tok {
        Tok::Lit(c) => s.get(j) == Some(c) && match_at(rest, s, j + 1, failed),
        Tok::One => s.get(j).is_some_and(|&c| c != '/') && match_at(rest, s, j + 1, failed),
        Tok::Class { negated, items } => {
            s.get(j)
                .is_some_and(|&c| items.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated)
                && match_at(rest, s, j + 1, failed)
        }
        Tok::Star | Tok::Seg => {
            let min = usize::from(*tok == Tok::Seg);
            let mut k = j;
            while k < s.len() && s[k] != '/' {
                k += 1;
            }
            (j + min..=k).rev().any(|e| match_at(rest, s, e, failed))
        }
        Tok::Any => {
            let mut k = j;
            while k < s.len() && dot(s[k]) {
                k += 1;
            }
            (j + 1..=k).rev().any(|e| match_at(rest, s, e, failed))
        }
        Tok::LeadingDirs => {
            if match_at(rest, s, j, failed) {
                return true;
            }
            let mut k = j;
            while k < s.len() && dot(s[k]) {
                if k > j && s[k] == '/' && match_at(rest, s, k + 1, failed) {
                    return true;
                }
                k += 1;
            }
            false
        }
        Tok::SlashRest | Tok::OptSlashRest | Tok::InnerDirs => {
            let optional = *tok != Tok::SlashRest;
            if optional && match_at(rest, s, j, failed) {
                return true;
            }
            if s.get(j) != Some(&'/') {
                return false;
            }
            let min = usize::from(*tok == Tok::InnerDirs);
            let mut k = j + 1;
            while k < s.len() && dot(s[k]) {
                k += 1;
            }
            (j + 1 + min..=k)
                .rev()
                .any(|e| match_at(rest, s, e, failed))
        }
    }
}

/// The patterns of one ignore file, in file order.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

impl IgnoreRules {
    /// Compile an ignore file's text (already decoded as Python reads it).
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let mut patterns = Vec::new();
        for line in text.split_inclusive('\n') {
            if let Some(p) = Pattern::parse(line.trim_end())? {
                patterns.push(p);
            }
        }
        Ok(Self { patterns })
    }

    /// Whether a path relative to the context root (`/`-separated, no trailing slash) is
    /// excluded: the last pattern that matches decides.
    pub fn is_excluded(&self, rel: &str) -> bool {
        let norm = rel
            .strip_prefix('/')
            .or_else(|| rel.strip_prefix("./"))
            .unwrap_or(rel);
        let mut excluded = false;
        for p in &self.patterns {
            if p.matches(norm) {
                excluded = p.exclude;
            }
        }
        excluded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excluded(rules: &str, path: &str) -> bool {
        IgnoreRules::parse(rules).is_ok_and(|r| r.is_excluded(path))
    }

    #[test]
    fn unanchored_patterns_match_at_any_depth() {
        assert!(excluded("*.log\n", "x.log"));
        assert!(excluded("*.log\n", "a/b/x.log"));
        assert!(!excluded("*.log\n", "x.logs"));
    }

    #[test]
    fn directory_patterns_exclude_contents_but_not_the_directory_entry() {
        assert!(!excluded("build/\n", "build"));
        assert!(excluded("build/\n", "build/x"));
        assert!(excluded("build/\n", "a/build/x"));
    }

    #[test]
    fn negation_reincludes_and_the_last_match_wins() {
        assert!(!excluded("*.txt\n!keep.txt\n", "keep.txt"));
        assert!(excluded("*.txt\n!keep.txt\n", "drop.txt"));
    }

    #[test]
    fn anchored_patterns_only_match_from_the_root() {
        assert!(excluded("/a.txt\n", "a.txt"));
        assert!(!excluded("/a.txt\n", "sub/a.txt"));
        assert!(excluded("sub/*.txt\n", "sub/a.txt"));
        assert!(!excluded("sub/*.txt\n", "x/sub/a.txt"));
    }

    #[test]
    fn double_star_matches_across_directories() {
        assert!(excluded("a/**/b\n", "a/b"));
        assert!(excluded("a/**/b\n", "a/x/y/b"));
        assert!(excluded("**/\n", "a/b"));
        assert!(!excluded("**/\n", "a"));
    }

    #[test]
    fn many_stars_do_not_explode() {
        let rules = format!("{}b\n", "*a".repeat(30));
        assert!(!excluded(&rules, &"a".repeat(200)));
    }

    #[test]
    fn classes_and_escapes() {
        assert!(excluded("[ab].txt\n", "a.txt"));
        assert!(!excluded("[!ab].txt\n", "a.txt"));
        assert!(excluded("\\#x\n", "#x"));
        assert!(IgnoreRules::parse("foo\\\n").is_err());
    }
}
