//! `.netrc` credentials, as pip finds them (through `requests` and Python's `netrc`
//! module): `machine HOST login USER password SECRET`, a `default` entry for any other host,
//! `account` as the user when there is no `login`, `macdef` blocks skipped to the next blank
//! line, `#` comments, and `"quoted tokens"` with backslash escapes.
//!
//! The client reads no `.netrc` by itself: the caller decides which file counts (the image's
//! or, with `--use-host-config`, the host's), parses it here and hands the result to
//! [`IndexConfig::credentials`](super::IndexConfig::credentials). Bounded: a file over
//! [`MAX_NETRC_BYTES`] is refused.

use std::collections::HashMap;

use reqwest::Url;

use super::client::CredentialProvider;
use crate::model::Secret;

/// The largest `.netrc` read (1 MiB).
pub const MAX_NETRC_BYTES: usize = 1 << 20;

/// One entry's credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Entry {
    login: Option<String>,
    account: Option<String>,
    password: Option<Secret>,
}

impl Entry {
    fn credentials(&self) -> Option<(String, Secret)> {
        let user = self.login.clone().or_else(|| self.account.clone())?;
        Some((
            user,
            self.password.clone().unwrap_or_else(|| Secret::new("")),
        ))
    }
}

/// Parsed `.netrc` credentials. `Debug` never shows a password.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Netrc {
    machines: HashMap<String, Entry>,
    default: Option<Entry>,
}

/// A `.netrc` that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetrcError {
    /// Over [`MAX_NETRC_BYTES`].
    #[error("the netrc file is over {MAX_NETRC_BYTES} bytes")]
    TooLarge,
    /// A `machine` or `macdef` without its name, or a key without its value.
    #[error("line {line}: `{token}` needs a value")]
    MissingValue {
        /// The 1-based line of the token.
        line: usize,
        /// The token.
        token: String,
    },
}

impl Netrc {
    /// Parses a `.netrc` file's text. The first entry for a machine wins, as in Python.
    pub fn parse(text: &str) -> Result<Self, NetrcError> {
        if text.len() > MAX_NETRC_BYTES {
            return Err(NetrcError::TooLarge);
        }
        let mut lexer = Lexer { text, pos: 0 };
        let mut out = Netrc::default();
        // The entry being filled: `Some(Some(host))` for a machine, `Some(None)` for default.
        let mut current: Option<(Option<String>, Entry)> = None;
        let finish = |out: &mut Netrc, cur: Option<(Option<String>, Entry)>| match cur {
            Some((Some(host), e)) => {
                out.machines.entry(host).or_insert(e);
            }
            Some((None, e)) => {
                out.default.get_or_insert(e);
            }
            None => {}
        };
        while let Some((token, start)) = lexer.next_token() {
            let value = |lexer: &mut Lexer<'_>| {
                lexer
                    .next_token()
                    .map(|(v, _)| v)
                    .ok_or_else(|| NetrcError::MissingValue {
                        // one more line than newlines before the token
                        line: text.as_bytes()[..start].split(|&c| c == b'\n').count(),
                        token: token.clone(),
                    })
            };
            match token.as_str() {
                "machine" => {
                    let host = value(&mut lexer)?;
                    finish(&mut out, current.take());
                    current = Some((Some(host.to_ascii_lowercase()), Entry::default()));
                }
                "default" => {
                    finish(&mut out, current.take());
                    current = Some((None, Entry::default()));
                }
                "macdef" => {
                    value(&mut lexer)?;
                    finish(&mut out, current.take());
                    lexer.skip_macro();
                }
                "login" | "user" | "account" | "password" => {
                    let v = value(&mut lexer)?;
                    if let Some((_, e)) = &mut current {
                        match token.as_str() {
                            "login" | "user" => e.login = Some(v),
                            "account" => e.account = Some(v),
                            _ => e.password = Some(Secret::new(v)),
                        }
                    }
                }
                _ => {}
            }
        }
        finish(&mut out, current);
        Ok(out)
    }

    /// The user and password for `host` (ASCII case ignored), else the `default` entry's.
    pub fn lookup(&self, host: &str) -> Option<(String, Secret)> {
        self.machines
            .get(&host.to_ascii_lowercase())
            .or(self.default.as_ref())
            .and_then(Entry::credentials)
    }
}

impl CredentialProvider for Netrc {
    fn credentials(&self, url: &Url) -> Option<(String, Secret)> {
        self.lookup(url.host_str()?)
    }
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    /// The next token and the byte offset it starts at; `#` to the end of the line is a
    /// comment where a token would start.
    fn next_token(&mut self) -> Option<(String, usize)> {
        let b = self.text.as_bytes();
        loop {
            while self.pos < b.len() && b[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if self.pos < b.len() && b[self.pos] == b'#' {
                while self.pos < b.len() && b[self.pos] != b'\n' {
                    self.pos += 1;
                }
                continue;
            }
            break;
        }
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        let mut out = Vec::new();
        if b[self.pos] == b'"' {
            self.pos += 1;
            while self.pos < b.len() && b[self.pos] != b'"' {
                if b[self.pos] == b'\\' && self.pos + 1 < b.len() {
                    self.pos += 1;
                }
                out.push(b[self.pos]);
                self.pos += 1;
            }
            self.pos = (self.pos + 1).min(b.len());
        } else {
            while self.pos < b.len() && !b[self.pos].is_ascii_whitespace() {
                if b[self.pos] == b'\\' && self.pos + 1 < b.len() {
                    self.pos += 1;
                }
                out.push(b[self.pos]);
                self.pos += 1;
            }
        }
        Some((String::from_utf8_lossy(&out).into_owned(), start))
    }

    /// Skips a `macdef` body: to the first empty line.
    fn skip_macro(&mut self) {
        match self.text[self.pos..].find("\n\n") {
            Some(p) => self.pos += p + 2,
            None => self.pos = self.text.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_default_and_macros_are_read_as_python_reads_them() {
        let text = "# private feeds\nmachine Pkgs.Example.com login alice password \"p w\\\"1\"\n\
            machine pkgs.example.com login shadowed password no\n\
            macdef init\ncd /tmp\nput x\n\nmachine tok.example.com account ci password t0k\n\
            default login anon password anon-pw\n";
        let n = Netrc::parse(text).unwrap();
        let (user, pass) = n.lookup("pkgs.example.com").unwrap();
        assert_eq!((user.as_str(), pass.expose()), ("alice", "p w\"1"));
        let (user, pass) = n.lookup("tok.example.com").unwrap();
        assert_eq!((user.as_str(), pass.expose()), ("ci", "t0k"));
        let url = Url::parse("https://elsewhere.example.org/simple/").unwrap();
        assert_eq!(n.credentials(&url).unwrap().0, "anon");
        assert!(!format!("{n:?}").contains("t0k"));
        let e = Netrc::parse("machine a login").unwrap_err();
        insta::assert_snapshot!(e.to_string(), @"line 1: `login` needs a value");
        assert_eq!(Netrc::parse("").unwrap().lookup("a"), None);
    }
}
