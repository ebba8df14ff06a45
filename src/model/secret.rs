use std::fmt;

/// A password, token or other credential. It never shows itself: `Display` and `Debug`
/// print `****`, and it cannot be serialized. Read it with [`Secret::expose`] only where it
/// goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential so that it cannot be printed by accident.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for an `Authorization` header or a credential helper.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the credential is the empty string (e.g. an unset password).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// A URL that is safe to show: user info (`user:password@`) is replaced by `****` and the
/// query string, where token endpoints and signed blob URLs carry secrets, is dropped.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    /// The redacted form of `url`; a string that is not a URL is kept, minus anything after `?`
    /// or `#`.
    pub fn new(url: &str) -> Self {
        let (before_query, had_query) = match url.split_once(['?', '#']) {
            Some((b, _)) => (b, true),
            None => (url, false),
        };
        let mut out = String::with_capacity(before_query.len() + 8);
        match before_query.split_once("://") {
            Some((scheme, rest)) => {
                let authority_end = rest.find('/').unwrap_or(rest.len());
                let (authority, path) = rest.split_at(authority_end);
                out.push_str(scheme);
                out.push_str("://");
                match authority.rsplit_once('@') {
                    Some((_, host)) => {
                        out.push_str("****@");
                        out.push_str(host);
                    }
                    None => out.push_str(authority),
                }
                out.push_str(path);
            }
            None => out.push_str(before_query),
        }
        if had_query {
            out.push_str("?…");
        }
        Self(out)
    }

    /// The redacted URL, safe for messages and logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&reqwest::Url> for RedactedUrl {
    fn from(u: &reqwest::Url) -> Self {
        Self::new(u.as_str())
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_display_or_debug() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "**** Secret(****)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn urls_lose_userinfo_and_query() {
        let u = RedactedUrl::new("https://bob:hunter2@example.com/v2/x?token=abc#f");
        assert_eq!(u.to_string(), "https://****@example.com/v2/x?…");
        assert!(!format!("{u:?}").contains("hunter2"));
        let u = RedactedUrl::new("http://127.0.0.1:5000/v2/");
        assert_eq!(u.as_str(), "http://127.0.0.1:5000/v2/");
    }
}
