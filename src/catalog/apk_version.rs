//! apk-tools' versions: `digits{.digits}[letter]{_suffix[digits]}[~hash][-rN]`.
//!
//! A version is read as a list of tokens, each of a kind that may only follow certain
//! kinds. Two versions are compared token by token while the kinds agree; where they part,
//! the one that goes on is the greater, unless it goes on with a pre-release suffix.

use std::cmp::Ordering;

use crate::version::Number;

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
    let (ta, tb) = (parse(a), parse(b));
    match cmp(&ta, &tb) {
        // Both turn invalid at the same point, where apk stops and calls them equal.
        Ordering::Equal if !is_valid(&ta) => a.cmp(b),
        ord => ord,
    }
}

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
pub(crate) struct Token<'a> {
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
pub(crate) fn parse(version: &str) -> Vec<Token<'_>> {
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

pub(crate) fn is_valid(tokens: &[Token<'_>]) -> bool {
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

pub(crate) fn cmp(a: &[Token<'_>], b: &[Token<'_>]) -> Ordering {
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
