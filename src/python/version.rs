//! PEP 440 versions (<https://peps.python.org/pep-0440/>), read, ordered and printed as
//! `packaging.version.Version` does.
//!
//! - **Syntax** (`packaging`'s `VERSION_PATTERN`): surrounding whitespace, a leading `v`, any
//!   ASCII case; `N!` epoch; release `1.2.3`; pre-release `a`/`b`/`rc` (spelled `alpha`,
//!   `beta`, `c`, `pre`, `preview` too) with optional separators and number; post-release
//!   `.postN` (`post`, `rev`, `r`, or the implicit `-N`); `.devN`; local label `+abc.1`.
//!   Numbers of any length are kept by value.
//! - **Ordering** ([`Ord`]): epoch, release (trailing zeros ignored, so `1.0 == 1.0.0`),
//!   pre-release (`a` < `b` < `rc`; a dev release of a final, `1.0.dev0`, below every
//!   pre-release of it), post-release (none below any), dev-release (below none), then the
//!   local label segment by segment, alphanumeric segments below numeric ones.
//! - **Normal form** ([`fmt::Display`]): `packaging`'s `str(Version)`: `1!2.0rc1.post2.dev3+abc.4`,
//!   the release as written (trailing zeros kept), numbers without leading zeros.
//!
//! [`compare_pip`] orders any two strings, strings that are not versions below those that
//! are. The ordering is checked by the `pip` part of `tests/vectors/version_order.json` (made
//! by `scripts/gen-version-vectors.py` with `packaging`). Known difference: `packaging`
//! matches labels case-insensitively with Unicode folding (`ſ` for `s`); here only ASCII
//! letters fold.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::version::valid_first;

/// PEP 440 ordering of two strings; see the module documentation. Strings that are not PEP
/// 440 versions sort below all that are, and two such strings compare by their bytes.
pub fn compare_pip(a: &str, b: &str) -> Ordering {
    valid_first(a, a.parse::<Version>().ok(), b, b.parse().ok(), Ord::cmp)
}

/// A PEP 440 version.
///
/// Equality and hashing follow the ordering (`1.0 == 1.0.0`), printing keeps the release as
/// written (`1.0.0`). Kept small, as most versions are a few release numbers: the numbers
/// inline, the other parts boxed when there are any.
#[derive(Clone, Debug)]
pub struct Version {
    /// As written: trailing zeros kept (`~=` and `.*` depend on them).
    release: Vec<Number>,
    /// Epoch, pre-, post-, dev-release and local label, when any is there.
    rest: Option<Box<Rest>>,
}

/// The parts of a version most versions do not have.
#[derive(Clone, Debug, Default)]
struct Rest {
    epoch: Number,
    pre: Option<(PreLabel, Number)>,
    post: Option<Number>,
    dev: Option<Number>,
    /// Lowercase; empty when there is no local label (a label has at least one segment).
    local: Vec<LocalSegment>,
}

/// A number of a version, compared by value whatever its length (Python's `int`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Number {
    Small(u64),
    /// Above `u64::MAX`: the digits, without leading zeros.
    Big(Box<str>),
}

impl Default for Number {
    fn default() -> Self {
        Number::ZERO
    }
}

impl Number {
    const ZERO: Number = Number::Small(0);

    /// `digits` are ASCII digits, at least one.
    fn from_digits(digits: &[u8]) -> Self {
        let start = digits
            .iter()
            .position(|&d| d != b'0')
            .unwrap_or(digits.len());
        let digits = &digits[start..];
        let small = digits.iter().try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        });
        match small {
            Some(n) => Number::Small(n),
            None => Number::Big(digits.iter().map(|&d| char::from(d)).collect()),
        }
    }

    fn is_zero(&self) -> bool {
        *self == Number::ZERO
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Number::Small(a), Number::Small(b)) => a.cmp(b),
            (Number::Small(_), Number::Big(_)) => Ordering::Less,
            (Number::Big(_), Number::Small(_)) => Ordering::Greater,
            (Number::Big(a), Number::Big(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Small(n) => write!(f, "{n}"),
            Number::Big(digits) => f.write_str(digits),
        }
    }
}

/// The pre-release phases, in ascending order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum PreLabel {
    Alpha,
    Beta,
    Rc,
}

impl PreLabel {
    fn as_str(self) -> &'static str {
        match self {
            PreLabel::Alpha => "a",
            PreLabel::Beta => "b",
            PreLabel::Rc => "rc",
        }
    }
}

/// Alphanumeric local segments sort below numeric ones (variants in ascending order).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum LocalSegment {
    Alphanumeric(String),
    Numeric(Number),
}

/// The comparison key; field order is comparison order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Key<'a> {
    epoch: &'a Number,
    /// Without trailing zeros.
    release: &'a [Number],
    pre: PreKey<'a>,
    /// `None` (no post-release) sorts below every post number.
    post: Option<&'a Number>,
    dev: DevKey<'a>,
    /// Empty (no local label) sorts below every label.
    local: &'a [LocalSegment],
}

/// Variants in ascending order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PreKey<'a> {
    /// `1.0.dev0` (a dev release without pre- or post-release) sorts before `1.0a0`.
    DevOfFinal,
    Labelled(PreLabel, &'a Number),
    None,
}

/// Variants in ascending order: a dev release is below the same version without one.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum DevKey<'a> {
    Dev(&'a Number),
    None,
}

static NO_REST: Rest = Rest {
    epoch: Number::ZERO,
    pre: None,
    post: None,
    dev: None,
    local: Vec::new(),
};

impl Version {
    fn rest(&self) -> &Rest {
        self.rest.as_deref().unwrap_or(&NO_REST)
    }

    /// Whether this is a pre-release (`a`, `b`, `rc`) or a dev release.
    pub fn is_prerelease(&self) -> bool {
        self.rest().pre.is_some() || self.rest().dev.is_some()
    }

    /// Whether this is a dev release (`1.0.dev1`, `1.0a1.dev1`).
    pub fn is_devrelease(&self) -> bool {
        self.rest().dev.is_some()
    }

    /// Whether this is a post-release.
    pub fn is_postrelease(&self) -> bool {
        self.rest().post.is_some()
    }

    /// Whether the version has a local label (`+cu121`).
    pub fn is_local(&self) -> bool {
        !self.rest().local.is_empty()
    }

    /// How many release numbers were written (`1.0.0` has 3).
    pub fn release_len(&self) -> usize {
        self.release.len()
    }

    /// The comparison key.
    pub(super) fn key(&self) -> Key<'_> {
        let end = self
            .release
            .iter()
            .rposition(|n| !n.is_zero())
            .map_or(0, |i| i + 1);
        let rest = self.rest();
        Key {
            epoch: &rest.epoch,
            release: &self.release[..end],
            pre: match (&rest.pre, &rest.post, &rest.dev) {
                (Some((label, n)), _, _) => PreKey::Labelled(*label, n),
                (None, None, Some(_)) => PreKey::DevOfFinal,
                (None, _, _) => PreKey::None,
            },
            post: rest.post.as_ref(),
            dev: rest.dev.as_ref().map_or(DevKey::None, DevKey::Dev),
            local: &rest.local,
        }
    }

    /// The key of this version without its local label.
    pub(super) fn public_key(&self) -> Key<'_> {
        Key {
            local: &[],
            ..self.key()
        }
    }

    /// The key of this version's `.dev0` (`1.0` → `1.0.dev0`), without its local label.
    pub(super) fn dev0_key(&self) -> Key<'_> {
        let mut key = self.public_key();
        if let PreKey::None = key.pre
            && self.rest().post.is_none()
        {
            key.pre = PreKey::DevOfFinal;
        }
        key.dev = DevKey::Dev(&Number::ZERO);
        key
    }

    /// Whether `self` and `other` have the same epoch, release (trailing zeros ignored) and
    /// pre-release: `1.0`, `1.0.post1` and `1.0+abc` are one family, `1.0a1` another.
    pub(super) fn same_family(&self, other: &Version) -> bool {
        let (a, b) = (self.key(), other.key());
        a.epoch == b.epoch && a.release == b.release && self.rest().pre == other.rest().pre
    }

    /// Whether the epoch is the same and the release, padded with zeros, starts with
    /// `prefix` (`==1.2.*` holds for `1.2`, `1.2.0rc1` and `1.2.7`, not for `1.3`).
    pub(super) fn release_starts_with(&self, epoch: &Number, prefix: &[Number]) -> bool {
        self.rest().epoch == *epoch
            && prefix
                .iter()
                .enumerate()
                .all(|(i, n)| self.release.get(i).unwrap_or(&Number::ZERO) == n)
    }

    pub(super) fn epoch(&self) -> &Number {
        &self.rest().epoch
    }

    pub(super) fn release(&self) -> &[Number] {
        &self.release
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let key = self.key();
        key.epoch.hash(state);
        key.release.hash(state);
        match key.pre {
            PreKey::DevOfFinal => 0u8.hash(state),
            PreKey::Labelled(label, n) => {
                1u8.hash(state);
                label.hash(state);
                n.hash(state);
            }
            PreKey::None => 2u8.hash(state),
        }
        key.post.hash(state);
        match key.dev {
            DevKey::Dev(n) => {
                0u8.hash(state);
                n.hash(state);
            }
            DevKey::None => 1u8.hash(state),
        }
        key.local.hash(state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rest = self.rest();
        if !rest.epoch.is_zero() {
            write!(f, "{}!", rest.epoch)?;
        }
        for (i, n) in self.release.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{n}")?;
        }
        if let Some((label, n)) = &rest.pre {
            write!(f, "{}{n}", label.as_str())?;
        }
        if let Some(n) = &rest.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = &rest.dev {
            write!(f, ".dev{n}")?;
        }
        for (i, segment) in rest.local.iter().enumerate() {
            f.write_str(if i == 0 { "+" } else { "." })?;
            match segment {
                LocalSegment::Alphanumeric(s) => f.write_str(s)?,
                LocalSegment::Numeric(n) => write!(f, "{n}")?,
            }
        }
        Ok(())
    }
}

/// A string that is not a PEP 440 version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a PEP 440 version")]
pub struct InvalidVersion(pub String);

impl FromStr for Version {
    type Err = InvalidVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = super::trim(s);
        match parse_prefix(trimmed, Allow::VERSION) {
            Some((v, false, len)) if len == trimmed.len() => Ok(v),
            _ => Err(InvalidVersion(s.to_owned())),
        }
    }
}

/// What a version may end with, besides pre-, post- and dev-release: `packaging`'s
/// specifier regex allows `.*` and local labels after `==` and `!=` only.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Allow {
    pub(crate) wildcard: bool,
    pub(crate) local: bool,
}

impl Allow {
    /// A version on its own (`Version(...)`).
    pub(crate) const VERSION: Allow = Allow {
        wildcard: false,
        local: true,
    };
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

/// The end of the run of ASCII digits at `at`, if there is at least one.
fn digits(b: &[u8], at: usize) -> Option<usize> {
    let len = b
        .get(at..)?
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    (len > 0).then_some(at + len)
}

fn is_sep(b: &[u8], at: usize) -> bool {
    matches!(b.get(at), Some(b'-' | b'_' | b'.'))
}

/// `[sep] label [sep] [digits]` at `*pos` (labels in the order tried, ASCII
/// case-insensitive), the shape of the pre-, post- and dev-release parts. A separator after
/// the label is taken even without digits, as the regex does.
fn labelled<T: Copy>(b: &[u8], pos: &mut usize, labels: &[(&str, T)]) -> Option<(T, Number)> {
    let mut at = *pos + usize::from(is_sep(b, *pos));
    let rest = b.get(at..)?;
    let &(word, label) = labels.iter().find(|(word, _)| {
        rest.get(..word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
    })?;
    at += word.len();
    at += usize::from(is_sep(b, at));
    let n = match digits(b, at) {
        Some(end) => {
            let n = Number::from_digits(&b[at..end]);
            at = end;
            n
        }
        None => Number::ZERO,
    };
    *pos = at;
    Some((label, n))
}

/// The version at the start of `s` (no leading whitespace), as `packaging`'s regexes match
/// it from there: the version, whether it ended in `.*` (only with `allow.wildcard`, right
/// after the release), and the bytes it took. `None` when no version starts there.
pub(crate) fn parse_prefix(s: &str, allow: Allow) -> Option<(Version, bool, usize)> {
    let b = s.as_bytes();
    let mut pos = usize::from(b.first().is_some_and(|c| c.eq_ignore_ascii_case(&b'v')));
    let end = digits(b, pos)?;
    let epoch = if b.get(end) == Some(&b'!') {
        let epoch = Number::from_digits(&b[pos..end]);
        pos = end + 1;
        epoch
    } else {
        Number::ZERO
    };
    let mut end = digits(b, pos)?;
    let mut release = vec![Number::from_digits(&b[pos..end])];
    while b.get(end) == Some(&b'.')
        && let Some(next) = digits(b, end + 1)
    {
        release.push(Number::from_digits(&b[end + 1..next]));
        end = next;
    }
    pos = end;
    let mut rest = Rest {
        epoch,
        ..Rest::default()
    };
    let version = |rest: Rest| Version {
        release,
        rest: (!rest.epoch.is_zero()
            || rest.pre.is_some()
            || rest.post.is_some()
            || rest.dev.is_some()
            || !rest.local.is_empty())
        .then(|| Box::new(rest)),
    };
    if allow.wildcard && b.get(pos..pos + 2) == Some(b".*") {
        return Some((version(rest), true, pos + 2));
    }

    rest.pre = labelled(b, &mut pos, &PRE_LABELS);
    rest.post = match b.get(pos) {
        Some(b'-') if digits(b, pos + 1).is_some() => {
            let end = digits(b, pos + 1)?;
            let n = Number::from_digits(&b[pos + 1..end]);
            pos = end;
            Some(n)
        }
        _ => labelled(b, &mut pos, &[("post", ()), ("rev", ()), ("r", ())]).map(|((), n)| n),
    };
    rest.dev = labelled(b, &mut pos, &[("dev", ())]).map(|((), n)| n);

    if allow.local && b.get(pos) == Some(&b'+') {
        let alnum = |at: usize| {
            b.get(at..).map_or(0, |r| {
                r.iter().take_while(|c| c.is_ascii_alphanumeric()).count()
            })
        };
        let mut at = pos + 1;
        let mut len = alnum(at);
        if len > 0 {
            loop {
                let segment = &b[at..at + len];
                rest.local.push(if segment.iter().all(u8::is_ascii_digit) {
                    LocalSegment::Numeric(Number::from_digits(segment))
                } else {
                    LocalSegment::Alphanumeric(
                        segment
                            .iter()
                            .map(|c| char::from(c.to_ascii_lowercase()))
                            .collect(),
                    )
                });
                at += len;
                pos = at;
                if !is_sep(b, at) || alnum(at + 1) == 0 {
                    break;
                }
                at += 1;
                len = alnum(at);
            }
        }
    }
    Some((version(rest), false, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn prints_packaging_normal_form() {
        for (input, normal) in [
            ("1.0", "1.0"),
            ("1.0.0", "1.0.0"),
            ("v1.0", "1.0"),
            (" 1.0 ", "1.0"),
            ("01.002", "1.2"),
            ("0!1.0", "1.0"),
            ("1!1.0", "1!1.0"),
            ("1.0ALPHA1", "1.0a1"),
            ("1.0-c.2", "1.0rc2"),
            ("1.0preview", "1.0rc0"),
            ("1.0-1", "1.0.post1"),
            ("1.0.r", "1.0.post0"),
            ("1.0-dev", "1.0.dev0"),
            ("1.0a1.post2.dev3+ABC-01_x", "1.0a1.post2.dev3+abc.1.x"),
        ] {
            assert_eq!(v(input).to_string(), normal, "{input:?}");
        }
    }

    #[test]
    fn equality_follows_the_ordering() {
        use std::hash::BuildHasher;
        assert_eq!(v("1.0"), v("1.0.0"));
        assert_ne!(v("1.0"), v("1.0+local"));
        let state = std::collections::hash_map::RandomState::new();
        assert_eq!(state.hash_one(v("1.0")), state.hash_one(v("1.0.0.0")));
    }

    #[test]
    fn rejects_what_packaging_rejects() {
        for s in [
            "", "1.0-", "1.0+", "1.0+a..b", "1.0.*", "1..0", "vv1", "1.0 1", "1!",
        ] {
            assert!(s.parse::<Version>().is_err(), "{s:?}");
        }
    }

    #[test]
    fn prefix_stops_where_the_specifier_regex_stops() {
        let strict = Allow {
            wildcard: false,
            local: false,
        };
        let eq = Allow {
            wildcard: true,
            local: true,
        };
        let len = |s: &str, allow| parse_prefix(s, allow).map(|(_, w, n)| (w, n));
        assert_eq!(len("1.0.*", eq), Some((true, 5)));
        assert_eq!(len("1.0.*", strict), Some((false, 3)));
        assert_eq!(len("1.0+abc.;", eq), Some((false, 7)));
        assert_eq!(len("1.0+abc", strict), Some((false, 3)));
        assert_eq!(len("1.0a1.*", eq), Some((false, 5)));
        assert_eq!(len("1.0-", eq), Some((false, 3)));
        assert_eq!(len("x1", eq), None);
    }
}
