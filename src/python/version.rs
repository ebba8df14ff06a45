//! PEP 440 versions, parsed as `packaging`'s `VERSION_PATTERN` accepts them, reduced to a
//! key whose derived ordering is PEP 440's.

use std::cmp::Ordering;

use crate::version::{Cursor, Number, valid_first};

/// PEP 440 ordering: epoch, release (trailing zeros ignored, so `1.0 == 1.0.0`), pre-release
/// (`a` < `b` < `rc`, with `alpha`, `beta`, `c`, `pre`, `preview` as spellings), post-release
/// (including the implicit `1.0-1`), dev-release, then the local label, segment by segment with
/// numeric segments above alphanumeric ones. Case-insensitive; a leading `v` and surrounding
/// whitespace are allowed. Strings that are not PEP 440 versions sort below all that are.
pub fn compare_pip(a: &str, b: &str) -> Ordering {
    valid_first(a, parse(a), b, parse(b), Ord::cmp)
}

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
pub(crate) struct Key {
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

pub(crate) fn parse(input: &str) -> Option<Key> {
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
