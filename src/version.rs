//! Version ordering per ecosystem, so that `envaudit diff` can tell an upgrade from a downgrade.
//!
//! [`compare`] picks the ordering of the package's ecosystem:
//!
//! | ecosystem | ordering | checked against |
//! | --- | --- | --- |
//! | pip | PEP 440 ([`compare_pip`]) | `packaging.version.Version` |
//! | conda | conda's `VersionOrder` ([`compare_conda`]) | py-rattler's `rattler.Version` |
//! | deb | dpkg's `verrevcmp` on epoch, upstream, revision ([`compare_deb`]) | `dpkg --compare-versions` |
//! | apk | apk-tools' token comparison ([`compare_apk`]) | hand-written pairs |
//!
//! The vectors are in `tests/vectors/version_order.json`, made by
//! `scripts/gen-version-vectors.py`. The apk ordering was also run once against every
//! non-fuzzy row of apk-tools' own `test/unit/version.data` (GPL, so not vendored) and agreed.
//!
//! Every function here is total and never panics, whatever the input. A string that the
//! ecosystem's own tool would reject (`packaging` raises `InvalidVersion`, conda raises
//! `InvalidVersionSpec`, dpkg reports a syntax *error*) sorts below every valid version, and
//! two such strings compare by their bytes. apk is the exception: apk-tools compares invalid
//! versions too, up to where they turn invalid, and [`compare_apk`] does the same. Numbers of
//! any length are compared by value, where the tools would overflow or use bignums.
//!
//! Known differences from the reference tools:
//! - conda accepts `*` in a version (`1.0*` sorts below `1.0dev`) and so does this module;
//!   rattler rejects such strings, so the vectors hold none.
//! - pip: `packaging` matches case-insensitively with Unicode folding (`ſ` for `s`, `K` for
//!   `k`); here only ASCII letters fold.
//! - deb: bytes above 0x7f are weighed as dpkg does with a signed `char` (x86 Debian).

use std::cmp::Ordering;

use crate::model::Ecosystem;

/// Order two version strings of `ecosystem`; see the module documentation.
pub fn compare(ecosystem: Ecosystem, a: &str, b: &str) -> Ordering {
    match ecosystem {
        Ecosystem::Pip => compare_pip(a, b),
        Ecosystem::Conda => compare_conda(a, b),
        Ecosystem::Deb => compare_deb(a, b),
        Ecosystem::Apk => compare_apk(a, b),
    }
}

/// PEP 440 ordering: epoch, release (trailing zeros ignored, so `1.0 == 1.0.0`), pre-release
/// (`a` < `b` < `rc`, with `alpha`, `beta`, `c`, `pre`, `preview` as spellings), post-release
/// (including the implicit `1.0-1`), dev-release, then the local label, segment by segment with
/// numeric segments above alphanumeric ones. Case-insensitive; a leading `v` and surrounding
/// whitespace are allowed. Strings that are not PEP 440 versions sort below all that are.
pub fn compare_pip(a: &str, b: &str) -> Ordering {
    valid_first(a, pep440::parse(a), b, pep440::parse(b), Ord::cmp)
}

/// conda's `VersionOrder`: optional epoch `N!`, optional local part after `+`; components
/// split on `.` and `_` (a `-` counts as `_` when there is no `_`), each split into runs of
/// digits and non-digits. Integers are compared by value, strings below integers, `post`
/// above every integer, and `dev` below every other string (`*` lower still). A component
/// that starts with a letter gets an implied leading `0`, and missing parts count as `0`, so
/// `1.1 == 1.1.0` and `1.1a < 1.1`. Case-insensitive. Strings conda rejects sort below all
/// others.
pub fn compare_conda(a: &str, b: &str) -> Ordering {
    valid_first(a, conda::parse(a), b, conda::parse(b), conda::cmp)
}

/// dpkg's ordering of `[epoch:]upstream[-revision]`: the epoch as a number, then upstream and
/// revision with `verrevcmp`, where runs of digits compare by value and, in between, `~`
/// sorts before everything (even the end of the string), letters before other characters.
/// Versions dpkg refuses outright (empty, embedded spaces, bad epoch, empty revision) sort
/// below all others; the ones it only warns about (not starting with a digit, odd
/// characters) are compared as dpkg compares them.
pub fn compare_deb(a: &str, b: &str) -> Ordering {
    valid_first(a, dpkg::parse(a), b, dpkg::parse(b), dpkg::cmp)
}

/// apk-tools' ordering of `digits{.digits}[letter]{_suffix[digits]}[~hash][-rN]`, token by
/// token: suffixes `_alpha` < `_beta` < `_pre` < `_rc` < (none) < `_cvs` < `_svn` < `_git` <
/// `_hg` < `_p`; where one version goes on past the other it is the greater (`1 < 1.0`,
/// `1.0 < 1.0-r0`) unless it goes on with a pre-release suffix (`1.0_rc1 < 1.0`); a number
/// after `.` with a leading zero compares as a string (`1.01 < 1.1`, `1.0 < 1.00`), and so
/// does a `~hash`. A version apk's validation rejects (`1a2`, `1.0-r`, `1.0_foo`, uppercase)
/// is compared as apk does, up to the token where it turns invalid, which sorts below
/// anything valid there (`1.0_foo < 1.0`, but `23_foo > 4_beta`); two that turn invalid at
/// the same point compare by their bytes.
pub fn compare_apk(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (apk::parse(a), apk::parse(b));
    match apk::cmp(&ta, &tb) {
        // Both turn invalid at the same point, where apk stops and calls them equal.
        Ordering::Equal if !apk::is_valid(&ta) => a.cmp(b),
        ord => ord,
    }
}

/// Valid versions above invalid ones; two invalid ones by their bytes.
fn valid_first<T>(
    a: &str,
    pa: Option<T>,
    b: &str,
    pb: Option<T>,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> Ordering {
    match (pa, pb) {
        (Some(x), Some(y)) => cmp(&x, &y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

/// A non-negative integer of any length, kept as its ASCII digits without leading zeros, so
/// that ordering is by value and equality is string equality.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Number(String);

impl Number {
    /// `digits` must be ASCII digits (an empty run is zero).
    fn from_digits(digits: &[u8]) -> Self {
        let start = digits
            .iter()
            .position(|&d| d != b'0')
            .unwrap_or(digits.len());
        Number(digits[start..].iter().map(|&d| char::from(d)).collect())
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A cursor over ASCII bytes for the hand-written parsers.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a [u8]) -> Self {
        Cursor { s, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let w = word.as_bytes();
        if self.s.get(self.pos..self.pos + w.len()) == Some(w) {
            self.pos += w.len();
            true
        } else {
            false
        }
    }

    /// One or more ASCII digits.
    fn digits(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.s[start..self.pos])
    }
}

mod pep440 {
    //! PEP 440 versions, parsed as `packaging`'s `VERSION_PATTERN` accepts them, reduced to a
    //! key whose derived ordering is PEP 440's.

    use super::{Cursor, Number};

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum PreLabel {
        Alpha,
        Beta,
        Rc,
    }

    /// Where the pre-release part puts the version (variants in ascending order).
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Pre {
        /// `1.0.dev0` (dev release without pre or post) sorts before `1.0a0`.
        DevOfFinal,
        Labelled(PreLabel, Number),
        None,
    }

    /// Variants in ascending order: a dev release is below the same version without one.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Dev {
        Dev(Number),
        None,
    }

    /// Alphanumeric local segments sort below numeric ones; alphanumeric ones compare as
    /// lowercase strings, numeric ones by value.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum LocalSegment {
        Alphanumeric(String),
        Numeric(Number),
    }

    /// Field order is comparison order.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub(super) struct Key {
        epoch: Number,
        /// Without trailing zero components.
        release: Vec<Number>,
        pre: Pre,
        /// `None` (no post-release) sorts below every post number.
        post: Option<Number>,
        dev: Dev,
        /// `None` (no local label) sorts below every label.
        local: Option<Vec<LocalSegment>>,
    }

    const PRE_LABELS: [(&str, PreLabel); 8] = [
        ("alpha", PreLabel::Alpha),
        ("a", PreLabel::Alpha),
        ("beta", PreLabel::Beta),
        ("b", PreLabel::Beta),
        ("preview", PreLabel::Rc),
        ("pre", PreLabel::Rc),
        ("c", PreLabel::Rc),
        ("rc", PreLabel::Rc),
    ];

    fn eat_sep(c: &mut Cursor<'_>) -> bool {
        matches!(c.peek(), Some(b'-' | b'_' | b'.')) && {
            c.pos += 1;
            true
        }
    }

    /// `[sep] label [sep] [digits]`, the shape of the pre-, post- and dev-release parts. A
    /// separator after the label is taken even without digits, as the regex does.
    fn labelled<T: Copy>(c: &mut Cursor<'_>, labels: &[(&str, T)]) -> Option<(T, Number)> {
        let start = c.pos;
        eat_sep(c);
        let Some(&(_, label)) = labels.iter().find(|(word, _)| c.eat_word(word)) else {
            c.pos = start;
            return None;
        };
        eat_sep(c);
        let n = c.digits().map(Number::from_digits).unwrap_or_default();
        Some((label, n))
    }

    pub(super) fn parse(input: &str) -> Option<Key> {
        let lower = input.trim().to_ascii_lowercase();
        let mut c = Cursor::new(lower.as_bytes());
        c.eat(b'v');

        let first = c.digits()?;
        let (epoch, first) = if c.eat(b'!') {
            (Number::from_digits(first), c.digits()?)
        } else {
            (Number::default(), first)
        };
        let mut release = vec![Number::from_digits(first)];
        while c.peek() == Some(b'.') && c.s.get(c.pos + 1).is_some_and(u8::is_ascii_digit) {
            c.pos += 1;
            release.extend(c.digits().map(Number::from_digits));
        }
        while release.last().is_some_and(Number::is_zero) {
            release.pop();
        }

        let pre = labelled(&mut c, &PRE_LABELS);

        let post = {
            let start = c.pos;
            let implicit = if c.eat(b'-') { c.digits() } else { None };
            match implicit {
                Some(n) => Some(Number::from_digits(n)),
                None => {
                    c.pos = start;
                    labelled(&mut c, &[("post", ()), ("rev", ()), ("r", ())]).map(|(_, n)| n)
                }
            }
        };

        let dev = labelled(&mut c, &[("dev", ())]).map(|(_, n)| n);

        let local = if c.eat(b'+') {
            let mut segments = Vec::new();
            loop {
                let start = c.pos;
                while c.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
                    c.pos += 1;
                }
                let seg = &c.s[start..c.pos];
                if seg.is_empty() {
                    return None;
                }
                segments.push(if seg.iter().all(u8::is_ascii_digit) {
                    LocalSegment::Numeric(Number::from_digits(seg))
                } else {
                    LocalSegment::Alphanumeric(seg.iter().map(|&b| char::from(b)).collect())
                });
                if !eat_sep(&mut c) {
                    break;
                }
            }
            Some(segments)
        } else {
            None
        };

        if !c.at_end() {
            return None;
        }
        Some(Key {
            epoch,
            release,
            pre: match (pre, &post, &dev) {
                (Some((label, n)), _, _) => Pre::Labelled(label, n),
                (None, None, Some(_)) => Pre::DevOfFinal,
                (None, _, _) => Pre::None,
            },
            post,
            dev: dev.map_or(Dev::None, Dev::Dev),
            local,
        })
    }
}

mod conda {
    //! conda's `VersionOrder`, parsed into components of parts.

    use std::cmp::Ordering;

    use super::Number;

    /// Variants in ascending order: strings < integers < `post`.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Part {
        /// Lowercase, except `dev`, kept as `DEV` so that it sorts below `_` and letters as
        /// conda arranges it (`*` is lower still).
        Str(String),
        Int(Number),
        Post,
    }

    const FILL: Part = Part::Int(Number(String::new()));

    type Component = Vec<Part>;

    pub(super) struct CondaVersion {
        /// The epoch (`0` when absent) is the first component.
        version: Vec<Component>,
        local: Vec<Component>,
    }

    pub(super) fn parse(input: &str) -> Option<CondaVersion> {
        let mut s = input.trim().to_lowercase();
        if s.is_empty() {
            return None;
        }
        let allowed = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b"*.+!_".contains(&b))
        };
        if !allowed(&s) && s.contains('-') && !s.contains('_') {
            s = s.replace('-', "_");
        }
        if !allowed(&s) {
            return None;
        }

        let (epoch, rest) = match s.split_once('!') {
            None => ("0", s.as_str()),
            Some((epoch, rest)) => {
                if rest.contains('!')
                    || epoch.is_empty()
                    || !epoch.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                (epoch, rest)
            }
        };
        let (main, local) = match rest.split_once('+') {
            None => (rest, None),
            Some((main, local)) => {
                if local.contains('+') {
                    return None;
                }
                (main, Some(local))
            }
        };
        if main.is_empty() {
            return None;
        }

        let mut version = vec![component(epoch)?];
        // A trailing `_` (openssl-style `1.0.2_`) stays on the last component.
        let (body, trailing) = match main.strip_suffix('_') {
            Some(body) => (body, "_"),
            None => (main, ""),
        };
        let pieces: Vec<&str> = body.split(['.', '_']).collect();
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            if i == last && !trailing.is_empty() {
                version.push(component(&format!("{piece}{trailing}"))?);
            } else {
                version.push(component(piece)?);
            }
        }
        let local = match local {
            None => Vec::new(),
            Some(local) => local
                .split(['.', '_'])
                .map(component)
                .collect::<Option<Vec<_>>>()?,
        };
        Some(CondaVersion { version, local })
    }

    /// Split one component into runs of digits, of `*`, and of anything else.
    fn component(text: &str) -> Option<Component> {
        let bytes = text.as_bytes();
        let first = *bytes.first()?;
        let mut parts = Vec::new();
        if first.is_ascii_alphabetic() {
            parts.push(FILL);
        }
        let class = |b: u8| match b {
            b'0'..=b'9' => 0,
            b'*' => 1,
            _ => 2,
        };
        let mut start = 0;
        while start < bytes.len() {
            let kind = class(bytes[start]);
            let end = bytes[start..]
                .iter()
                .position(|&b| class(b) != kind)
                .map_or(bytes.len(), |n| start + n);
            let run = &bytes[start..end];
            parts.push(match (kind, run) {
                (0, _) => Part::Int(Number::from_digits(run)),
                (_, b"post") => Part::Post,
                (_, b"dev") => Part::Str("DEV".to_owned()),
                _ => Part::Str(String::from_utf8_lossy(run).into_owned()),
            });
            start = end;
        }
        Some(parts)
    }

    /// Missing components and missing parts count as `0`.
    fn cmp_components(a: &[Component], b: &[Component]) -> Ordering {
        let empty = Vec::new();
        for i in 0..a.len().max(b.len()) {
            let (ca, cb) = (a.get(i).unwrap_or(&empty), b.get(i).unwrap_or(&empty));
            for j in 0..ca.len().max(cb.len()) {
                let ord = ca.get(j).unwrap_or(&FILL).cmp(cb.get(j).unwrap_or(&FILL));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
        Ordering::Equal
    }

    pub(super) fn cmp(a: &CondaVersion, b: &CondaVersion) -> Ordering {
        cmp_components(&a.version, &b.version).then_with(|| cmp_components(&a.local, &b.local))
    }
}

mod dpkg {
    //! Debian versions as dpkg's `parseversion` splits them and `verrevcmp` orders them.

    use std::cmp::Ordering;

    use super::Number;

    pub(super) struct DebVersion<'a> {
        epoch: Number,
        upstream: &'a [u8],
        revision: &'a [u8],
    }

    /// dpkg's `c_isspace`.
    fn is_space(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
    }

    /// `None` where dpkg reports an error (it only warns about a version not starting with a
    /// digit, or odd characters, and compares those anyway).
    pub(super) fn parse(input: &str) -> Option<DebVersion<'_>> {
        // dpkg reads a C string: it ends at the first NUL.
        let bytes = input.as_bytes();
        let bytes = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
        let start = bytes.iter().position(|&b| !is_space(b))?;
        let bytes = &bytes[start..];
        let end = bytes
            .iter()
            .position(|&b| is_space(b))
            .unwrap_or(bytes.len());
        if bytes[end..].iter().any(|&b| !is_space(b)) {
            return None; // embedded spaces
        }
        let bytes = &bytes[..end];

        let (epoch, version) = match bytes.iter().position(|&b| b == b':') {
            None => (Number::default(), bytes),
            Some(colon) => (epoch(&bytes[..colon])?, &bytes[colon + 1..]),
        };
        if version.is_empty() {
            return None;
        }
        let (upstream, revision) = match version.iter().rposition(|&b| b == b'-') {
            None => (version, &b""[..]),
            Some(hyphen) => (&version[..hyphen], &version[hyphen + 1..]),
        };
        if upstream.is_empty() || (revision.is_empty() && upstream.len() < version.len()) {
            return None;
        }
        Some(DebVersion {
            epoch,
            upstream,
            revision,
        })
    }

    /// What `strtol` accepts as the whole epoch, within `0..=INT_MAX`.
    fn epoch(text: &[u8]) -> Option<Number> {
        let (negative, digits) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, text),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = Number::from_digits(digits);
        let int_max = Number(i32::MAX.to_string());
        if (negative && !n.is_zero()) || n > int_max {
            return None;
        }
        Some(n)
    }

    /// The weight of a non-digit: `~` below the end of the string, letters next, then all
    /// other bytes. dpkg passes a signed `char`, so bytes above 0x7f land between letters and
    /// ASCII punctuation (as on x86 Debian).
    fn order(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(b'~') => -1,
            Some(c) => i32::from(c as i8) + 256,
        }
    }

    /// dpkg's `verrevcmp`.
    pub(super) fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
        let (mut i, mut j) = (0, 0);
        let non_digit = |c: Option<u8>| c.is_some_and(|c| !c.is_ascii_digit());
        let digit = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_digit());
        while i < a.len() || j < b.len() {
            while non_digit(a.get(i).copied()) || non_digit(b.get(j).copied()) {
                let (oa, ob) = (order(a.get(i).copied()), order(b.get(j).copied()));
                if oa != ob {
                    return oa.cmp(&ob);
                }
                i += 1;
                j += 1;
            }
            let (si, sj) = (i, j);
            while digit(a.get(i).copied()) {
                i += 1;
            }
            while digit(b.get(j).copied()) {
                j += 1;
            }
            let ord = Number::from_digits(&a[si..i]).cmp(&Number::from_digits(&b[sj..j]));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }

    pub(super) fn cmp(a: &DebVersion<'_>, b: &DebVersion<'_>) -> Ordering {
        a.epoch
            .cmp(&b.epoch)
            .then_with(|| verrevcmp(a.upstream, b.upstream))
            .then_with(|| verrevcmp(a.revision, b.revision))
    }
}

mod apk {
    //! apk-tools' versions: `digits{.digits}[letter]{_suffix[digits]}[~hash][-rN]`.
    //!
    //! A version is read as a list of tokens, each of a kind that may only follow certain
    //! kinds. Two versions are compared token by token while the kinds agree; where they part,
    //! the one that goes on is the greater, unless it goes on with a pre-release suffix.

    use std::cmp::Ordering;

    use super::Number;

    /// Token kinds in apk's order, which the end-of-comparison rule relies on.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Kind {
        InitialDigit,
        /// A number after `.`: with a leading zero on either side the two compare as strings
        /// (`1.01 < 1.1`, `1.001 < 1.01`, `1.0 < 1.00`).
        Digit,
        Letter,
        Suffix,
        SuffixNumber,
        CommitHash,
        Revision,
        End,
        /// What apk's validation rejects; above [`Kind::End`], so that of two versions equal
        /// up to there the invalid one is the lower.
        Invalid,
    }

    /// Suffix ranks; the release itself (no suffix) sits between `rc` and `cvs`.
    const SUFFIXES: [(&str, u8); 9] = [
        ("alpha", 1),
        ("beta", 2),
        ("pre", 3),
        ("rc", 4),
        ("cvs", 6),
        ("svn", 7),
        ("git", 8),
        ("hg", 9),
        ("p", 10),
    ];
    const RELEASE_RANK: u8 = 5;

    #[derive(Clone, Copy, Debug)]
    pub(super) struct Token<'a> {
        kind: Kind,
        text: &'a [u8],
        /// The suffix rank for [`Kind::Suffix`], else 0.
        rank: u8,
    }

    const END: Token<'static> = Token {
        kind: Kind::End,
        text: b"",
        rank: 0,
    };

    const INVALID: Token<'static> = Token {
        kind: Kind::Invalid,
        text: b"",
        rank: 0,
    };

    fn run(bytes: &[u8], accept: impl Fn(u8) -> bool) -> usize {
        bytes.iter().take_while(|&&b| accept(b)).count()
    }

    /// Split the first `n` bytes off `rest`.
    fn take<'a>(n: usize, rest: &mut &'a [u8]) -> &'a [u8] {
        let (head, tail) = rest.split_at(n.min(rest.len()));
        *rest = tail;
        head
    }

    /// The tokens of `version`; where apk's validation fails, the last one is an
    /// [`Kind::Invalid`] token and the rest is not read.
    pub(super) fn parse(version: &str) -> Vec<Token<'_>> {
        let mut rest = version.as_bytes();
        let mut out = Vec::new();
        let mut prev = None;
        loop {
            let token = match prev {
                None => digits(Kind::InitialDigit, &mut rest),
                Some(_) if rest.is_empty() => break,
                Some(prev) => next(prev, &mut rest),
            }
            .unwrap_or(INVALID);
            out.push(token);
            if token.kind == Kind::Invalid {
                break;
            }
            prev = Some(token.kind);
        }
        out
    }

    pub(super) fn is_valid(tokens: &[Token<'_>]) -> bool {
        tokens.last().is_some_and(|t| t.kind != Kind::Invalid)
    }

    /// A non-empty run of digits.
    fn digits<'a>(kind: Kind, rest: &mut &'a [u8]) -> Option<Token<'a>> {
        let n = run(rest, |b| b.is_ascii_digit());
        (n > 0).then(|| Token {
            kind,
            text: take(n, rest),
            rank: 0,
        })
    }

    /// The token at the start of `rest` (non-empty) after one of kind `prev`, or `None` if
    /// none may follow there.
    fn next<'a>(prev: Kind, rest: &mut &'a [u8]) -> Option<Token<'a>> {
        let c = *rest.first()?;
        match c {
            b'a'..=b'z' if prev <= Kind::Digit => Some(Token {
                kind: Kind::Letter,
                text: take(1, rest),
                rank: 0,
            }),
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if prev > Kind::Digit {
                        return None;
                    }
                    take(1, rest);
                }
                match prev {
                    Kind::InitialDigit | Kind::Digit => digits(Kind::Digit, rest),
                    Kind::Suffix => digits(Kind::SuffixNumber, rest),
                    _ => None,
                }
            }
            b'_' if prev <= Kind::SuffixNumber => {
                take(1, rest);
                let name = take(run(rest, |b| b.is_ascii_lowercase()), rest);
                let &(_, rank) = SUFFIXES.iter().find(|(s, _)| s.as_bytes() == name)?;
                Some(Token {
                    kind: Kind::Suffix,
                    text: name,
                    rank,
                })
            }
            b'~' if prev < Kind::CommitHash => {
                take(1, rest);
                let n = run(rest, |b| b.is_ascii_hexdigit());
                (n > 0).then(|| Token {
                    kind: Kind::CommitHash,
                    text: take(n, rest),
                    rank: 0,
                })
            }
            b'-' if prev < Kind::Revision && rest.get(1) == Some(&b'r') => {
                take(2, rest);
                digits(Kind::Revision, rest)
            }
            _ => None,
        }
    }

    /// Two tokens of one kind.
    fn cmp_token(a: &Token<'_>, b: &Token<'_>) -> Ordering {
        let number = |t: &Token<'_>| Number::from_digits(t.text);
        match a.kind {
            Kind::Digit if a.text.first() == Some(&b'0') || b.text.first() == Some(&b'0') => {
                a.text.cmp(b.text)
            }
            Kind::InitialDigit | Kind::Digit | Kind::SuffixNumber | Kind::Revision => {
                number(a).cmp(&number(b))
            }
            Kind::Suffix => a.rank.cmp(&b.rank),
            Kind::Letter | Kind::CommitHash | Kind::End | Kind::Invalid => a.text.cmp(b.text),
        }
    }

    pub(super) fn cmp(a: &[Token<'_>], b: &[Token<'_>]) -> Ordering {
        for i in 0..=a.len().max(b.len()) {
            let (ta, tb) = (a.get(i).unwrap_or(&END), b.get(i).unwrap_or(&END));
            if ta.kind != tb.kind {
                let pre_release = |t: &Token<'_>| t.kind == Kind::Suffix && t.rank < RELEASE_RANK;
                return if pre_release(ta) {
                    Ordering::Less
                } else if pre_release(tb) {
                    Ordering::Greater
                } else {
                    // The one that goes on (lower kind than the other's) is the greater.
                    tb.kind.cmp(&ta.kind)
                };
            }
            if matches!(ta.kind, Kind::End | Kind::Invalid) {
                break;
            }
            let ord = cmp_token(ta, tb);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering::{self, Equal, Greater, Less};

    use super::*;

    fn check(cmp: fn(&str, &str) -> Ordering, cases: &[(&str, &str, Ordering)]) {
        for &(a, b, expected) in cases {
            assert_eq!(cmp(a, b), expected, "{a:?} vs {b:?}");
            assert_eq!(cmp(b, a), expected.reverse(), "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn pip_orders_by_pep_440() {
        check(
            compare_pip,
            &[
                ("1.0", "1.0.0", Equal),
                ("v1.0", "1.0", Equal),
                ("1.0RC1", "1.0rc1", Equal),
                ("1.0c1", "1.0rc1", Equal),
                ("1.0pre1", "1.0preview1", Equal),
                ("1.0alpha1", "1.0.a.1", Equal),
                ("1.0-1", "1.0.post1", Equal),
                ("1.0.post", "1.0.post0", Equal),
                ("0!1.0", "1.0", Equal),
                ("1.0.dev0", "1.0a0", Less),
                ("1.0a1", "1.0b1", Less),
                ("1.0b1", "1.0rc1", Less),
                ("1.0rc1", "1.0", Less),
                ("1.0a1.dev1", "1.0a1", Less),
                ("1.0", "1.0.post1.dev1", Less),
                ("1.0.post1.dev1", "1.0.post1", Less),
                ("1.0", "1.0+local", Less),
                ("1.0+abc", "1.0+1", Less),
                ("1.0+1.2", "1.0+1.10", Less),
                ("1.0+abc", "1.0+abc.1", Less),
                ("2.0.0+cu118", "2.0.0+cu121", Less),
                ("1.9", "1.10", Less),
                ("1!0.1", "2.0", Greater),
                ("12345678901234567890", "12345678901234567891", Less),
            ],
        );
    }

    #[test]
    fn pip_legacy_versions_sort_below_valid_ones() {
        check(
            compare_pip,
            &[
                ("not a version", "0", Less),
                ("1.0-", "0.0.1", Less),
                ("1.0+", "0.0.1", Less),
                ("1.0+a..b", "1.0+a.b", Less),
                ("foo", "bar", Greater),
                ("", "0", Less),
            ],
        );
    }

    #[test]
    fn conda_orders_by_version_order() {
        // The sequence from conda's VersionOrder documentation, ascending.
        let docs = [
            "0.4",
            "0.4.0",
            "0.4.1.rc",
            "0.4.1.RC",
            "0.4.1",
            "0.5a1",
            "0.5b3",
            "0.5C1",
            "0.5",
            "0.9.6",
            "0.960923",
            "1.0",
            "1.1dev1",
            "1.1_",
            "1.1a1",
            "1.1.0dev1",
            "1.1.dev1",
            "1.1.a1",
            "1.1.0rc1",
            "1.1.0",
            "1.1.0post1",
            "1.1post1",
            "1996.07.12",
            "1!0.4.1",
            "1!3.1.1.6",
            "2!0.4.1",
        ];
        let equal = [
            ("0.4", "0.4.0"),
            ("0.4.1.rc", "0.4.1.RC"),
            ("1.1.0dev1", "1.1.dev1"),
        ];
        for pair in docs.windows(2) {
            let expected = if equal.contains(&(pair[0], pair[1])) {
                Equal
            } else {
                Less
            };
            check(compare_conda, &[(pair[0], pair[1], expected)]);
        }
        check(
            compare_conda,
            &[
                ("1.7.1_dev", "1.7.1", Less),
                ("1.7.1-1", "1.7.1_1", Equal),
                ("2023.01.01", "2023.1.1", Equal),
                ("1.0*", "1.0dev", Less),
                ("1.0+a", "1.0", Less),
                ("1.0+1", "1.0", Greater),
                ("1.1.1w", "1.1.1k", Greater),
            ],
        );
    }

    #[test]
    fn conda_invalid_versions_sort_below_valid_ones() {
        check(
            compare_conda,
            &[
                ("", "0", Less),
                ("1..0", "0", Less),
                ("1!2!3", "0", Less),
                ("1+2+3", "0", Less),
                ("a!1", "0", Less),
                ("+1", "0", Less),
                ("1.0_1-2", "0", Less),
                ("1.0 beta", "0", Less),
            ],
        );
    }

    #[test]
    fn deb_orders_like_dpkg() {
        check(
            compare_deb,
            &[
                ("1.0", "1.0-0", Equal),
                ("0:1.0", "1.0", Equal),
                ("1.00", "1.0", Equal),
                ("1.0~rc1", "1.0", Less),
                ("1.0~~", "1.0~", Less),
                ("1.0", "1.0a", Less),
                ("1.0a", "1.0+", Less),
                ("1.0+", "1.0.1", Less),
                ("1:0.9", "2.0", Greater),
                ("1:2.3-4ubuntu1~22.04", "1:2.3-4ubuntu1", Less),
                ("1:2.3-4ubuntu1~20.04", "1:2.3-4ubuntu1~22.04", Less),
                ("2.36-9+deb12u4", "2.36-9+deb12u7", Less),
                ("1.0-1-2", "1.0-1-1", Greater),
                ("+1:1.0", "1:1.0", Equal),
                ("-0:1.0", "1.0", Equal),
                (" 1.0 ", "1.0", Equal),
                ("99999999999999999999", "99999999999999999998", Greater),
            ],
        );
    }

    #[test]
    fn deb_versions_dpkg_refuses_sort_below_valid_ones() {
        check(
            compare_deb,
            &[
                ("", "0", Less),
                ("1.0-", "0", Less),
                ("-1", "0", Less),
                (":1.0", "0", Less),
                ("1:", "0", Less),
                ("a:1.0", "0", Less),
                ("-1:1.0", "0", Less),
                ("2147483648:1.0", "0", Less),
                ("1.0 1", "0", Less),
            ],
        );
        // Warnings only: compared all the same.
        check(
            compare_deb,
            &[("a", "b", Less), ("2147483647:0", "1", Greater)],
        );
    }

    #[test]
    fn apk_orders_like_apk_tools() {
        check(
            compare_apk,
            &[
                ("1.0", "1.0.0", Less),
                ("1", "1.0", Less),
                ("01", "1", Equal),
                ("1.01", "1.1", Less),
                ("1.001", "1.01", Less),
                ("1.0", "1.00", Less),
                ("1.0a", "1.0.1", Less),
                ("1.0_rc1", "1.0", Less),
                ("1.0_alpha", "1.0_beta", Less),
                ("1.0_rc1", "1.0_rc", Greater),
                ("1.0", "1.0_p1", Less),
                ("1.0_p1", "1.0.1", Less),
                ("1.0", "1.0-r0", Less),
                ("2.9.1-r3", "2.9.1-r10", Less),
                ("2.9.1_rc1-r5", "2.9.1-r3", Less),
                ("1.0~1234-r1", "1.0~2345-r0", Less),
                ("1.0~abc", "1.0", Greater),
                ("99999999999999999999", "99999999999999999998", Greater),
            ],
        );
    }

    #[test]
    fn apk_rejects_what_apk_tools_rejects() {
        for v in [
            "",
            "a",
            "1.0-x",
            "1.0-r",
            "1.0_foo",
            "1.0_",
            "1a2",
            "1.0a.1",
            "1.0bc",
            "1..2",
            "1.0-r1.2",
            "1.0A",
            "1.0~",
            "1.0~12ab_p1",
            "1.0-r1~12ab",
            "1.0 ",
        ] {
            assert!(!apk::is_valid(&apk::parse(v)), "{v:?}");
        }
        for v in ["0", "1.0a_rc1_p2~12ab-r3", "2.9.1-r3", "1.0_git20230101"] {
            assert!(apk::is_valid(&apk::parse(v)), "{v:?}");
        }
    }

    #[test]
    fn apk_compares_invalid_versions_up_to_where_they_turn_invalid() {
        check(
            compare_apk,
            &[
                ("23_foo", "4_beta", Greater),
                ("1.0", "1.0bc", Less),
                ("1.0_foo", "1.0", Less),
                ("1.0_foo", "1.0_bar", Greater),
                ("", "0", Less),
                ("a", "b", Less),
            ],
        );
    }

    #[test]
    fn dispatch_follows_the_ecosystem() {
        // `1.0-1` is a post release for pip, `1.0_1` for conda, a Debian revision for deb.
        assert_eq!(compare(Ecosystem::Pip, "1.0-1", "1.0.post1"), Equal);
        assert_eq!(compare(Ecosystem::Conda, "1.0a", "1.0"), Less);
        assert_eq!(compare(Ecosystem::Deb, "1.0~a", "1.0"), Less);
        assert_eq!(compare(Ecosystem::Apk, "1.0_p1", "1.0"), Greater);
    }

    #[derive(serde::Deserialize)]
    struct Vectors {
        pip: Vec<(String, String, String)>,
        conda: Vec<(String, String, String)>,
        deb: Vec<(String, String, String)>,
        apk: Vec<(String, String, String)>,
        invalid: Invalid,
    }

    #[derive(serde::Deserialize)]
    struct Invalid {
        pip: Vec<String>,
        conda: Vec<String>,
        deb: Vec<String>,
    }

    fn disagreements(ecosystem: Ecosystem, pairs: &[(String, String, String)]) -> Vec<String> {
        pairs
            .iter()
            .filter_map(|(a, b, op)| {
                let got = match compare(ecosystem, a, b) {
                    Less => "<",
                    Equal => "=",
                    Greater => ">",
                };
                (got != op).then(|| format!("{ecosystem}: {a:?} {op} {b:?}, got {got}"))
            })
            .collect()
    }

    #[test]
    fn agrees_with_reference_vectors() {
        let vectors: Vectors =
            serde_json::from_str(include_str!("../tests/vectors/version_order.json"))
                .expect("vector file is valid JSON");
        let mut failures = Vec::new();
        for (ecosystem, pairs) in [
            (Ecosystem::Pip, &vectors.pip),
            (Ecosystem::Conda, &vectors.conda),
            (Ecosystem::Deb, &vectors.deb),
            (Ecosystem::Apk, &vectors.apk),
        ] {
            assert!(
                pairs.len() >= 50,
                "{ecosystem}: only {} vectors",
                pairs.len()
            );
            failures.extend(disagreements(ecosystem, pairs));
        }
        for (ecosystem, rejected, lowest_valid) in [
            (Ecosystem::Pip, &vectors.invalid.pip, "0"),
            (Ecosystem::Conda, &vectors.invalid.conda, "0"),
            (Ecosystem::Deb, &vectors.invalid.deb, "0"),
        ] {
            for v in rejected {
                if compare(ecosystem, v, lowest_valid) != Less {
                    failures.push(format!(
                        "{ecosystem}: {v:?} is rejected by the tool, not here"
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    const ECOSYSTEMS: [Ecosystem; 4] = [
        Ecosystem::Pip,
        Ecosystem::Conda,
        Ecosystem::Deb,
        Ecosystem::Apk,
    ];

    proptest::proptest! {
        #[test]
        fn any_strings_compare_antisymmetrically(a in ".{0,24}", b in ".{0,24}") {
            for eco in ECOSYSTEMS {
                proptest::prop_assert_eq!(compare(eco, &a, &a), Equal);
                proptest::prop_assert_eq!(compare(eco, &a, &b), compare(eco, &b, &a).reverse());
            }
        }

        #[test]
        fn version_like_strings_compare_antisymmetrically(
            a in "[0-9a-eprvA-Z.+!_~:*-]{0,16}",
            b in "[0-9a-eprvA-Z.+!_~:*-]{0,16}",
        ) {
            for eco in ECOSYSTEMS {
                proptest::prop_assert_eq!(compare(eco, &a, &a), Equal);
                proptest::prop_assert_eq!(compare(eco, &a, &b), compare(eco, &b, &a).reverse());
            }
        }
    }
}
