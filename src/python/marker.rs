//! PEP 508 environment markers (<https://peps.python.org/pep-0508/#environment-markers>):
//! `python_version < "3.11" and extra == "plot"`, read once into a [`MarkerTree`] that both
//! prints `packaging`'s normal form and evaluates against an environment.
//!
//! # Grammar
//! `packaging`'s (`_parser.py`, `_tokenizer.py`): variables (including the legacy `os.name`,
//! `sys.platform`, `platform.version`, `platform.machine`, `platform.python_implementation`
//! and `python_implementation`), strings in `'` or `"` (read as Python string literals, so
//! `\n`, `\x41`, `\u00e9` are escapes), the operators `<` `<=` `!=` `==` `>=` `>` `~=` `===`
//! `in` `not in`, `and` binding tighter than `or`, parentheses (nested at most 64 deep).
//! Only spaces and tabs are whitespace; `and`, `or`, `in` and `not` are words, so `"3"and`
//! is fine but `andos_name` is not.
//!
//! # Normal form ([`fmt::Display`])
//! `str(Marker)` of `packaging` 25, checked by `tests/vectors/pep508_requirements.json`:
//! variables with `.` spelled `_` (`os.name` → `os_name`), `python_implementation` as
//! `platform_python_implementation`, values in double quotes (printed back unescaped), one
//! space around operators and `and`/`or`, parentheses kept where they were written (except
//! around a single comparison, or directly inside another pair), and the value compared with
//! `extra` in the first comparison normalised like a name.
//!
//! # Evaluation ([`MarkerTree::evaluate`])
//! `Marker.evaluate` of `packaging` 26.3, checked by `tests/vectors/marker_eval.json` (made by
//! `scripts/gen-marker-vectors.py`):
//! - **Version comparisons.** For `python_version`, `python_full_version`,
//!   `implementation_version` and `platform_release`, the operator and the right-hand value
//!   are read as a PEP 440 [`Specifier`] (`python_version < "3.11"` is `<3.11`). If that is a
//!   valid specifier, the left-hand value must satisfy it with pre-releases allowed, and a
//!   left-hand value that is not a PEP 440 version satisfies nothing.
//! - **Everything else** compares as strings: `==`, `!=`, `in`, `not in` (substring), and
//!   (as packaging does since 26.0) `<=`/`>=` mean equality and `<`/`>` are false. `~=` and
//!   `===` on a non-version are an error ([`MarkerError::UndefinedComparison`]).
//! - **Reversed operands** (`"3.8" < python_version`) compare the literal on the left with the
//!   environment's value on the right. As in packaging, when both sides are variables the
//!   right one stands for its own name, and when both are strings the right one names the
//!   variable.
//! - **Extras** (PEP 685): a string compared with `extra` (or tested `in extras`, `in
//!   dependency_groups`) and the requested extras are normalised (`Plot_X` is `plot-x`). The
//!   marker holds if it holds for any requested extra; with none requested, `extra` is `""`.
//! - Every comparison is evaluated (no short-circuit), so an undefined comparison anywhere is
//!   an error, as in packaging. The set-valued `extras` and `dependency_groups` (lock-file
//!   context) parse but are undefined here.
//! - A `python_full_version` ending in `+` (an untagged CPython build) is read as `…+local`.
//!
//! Known differences from packaging: `\N{name}` escapes and lone surrogates (`\ud800`) in
//! strings are rejected; Unicode case-folding oddities in specifiers (`ſ` for `s`) are not
//! followed; error offsets are bytes, not characters.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::specifier::{Operator, Specifier};

/// The values markers are evaluated against (PEP 508's environment markers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerEnv {
    /// `3.10`
    pub python_version: String,
    /// `3.10.14`
    pub python_full_version: String,
    /// `posix`
    pub os_name: String,
    /// `linux`
    pub sys_platform: String,
    /// `x86_64`
    pub platform_machine: String,
    /// `Linux`
    pub platform_system: String,
    /// The kernel release (`6.1.0`).
    pub platform_release: String,
    /// The kernel build (`#1 SMP ...`).
    pub platform_version: String,
    /// `CPython`
    pub platform_python_implementation: String,
    /// `cpython`
    pub implementation_name: String,
    /// `3.10.14`
    pub implementation_version: String,
}

impl MarkerEnv {
    /// CPython on Linux: `python_version` is the major.minor of `python_full_version`,
    /// `implementation_version` the full version; `platform_release` and `platform_version`
    /// (the kernel's, unknown from an image) are empty.
    pub fn linux(python_full_version: &str, machine: &str) -> Self {
        let mut parts = python_full_version.split('.');
        let major = parts.next().unwrap_or_default();
        let minor: String = parts
            .next()
            .unwrap_or_default()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let python_version = if minor.is_empty() {
            major.to_owned()
        } else {
            format!("{major}.{minor}")
        };
        MarkerEnv {
            python_version,
            python_full_version: python_full_version.to_owned(),
            os_name: "posix".to_owned(),
            sys_platform: "linux".to_owned(),
            platform_machine: machine.to_owned(),
            platform_system: "Linux".to_owned(),
            platform_release: String::new(),
            platform_version: String::new(),
            platform_python_implementation: "CPython".to_owned(),
            implementation_name: "cpython".to_owned(),
            implementation_version: python_full_version.to_owned(),
        }
    }
}

/// A marker variable, legacy dotted spellings folded into the modern name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variable {
    /// `python_version`
    PythonVersion,
    /// `python_full_version`
    PythonFullVersion,
    /// `os_name` (`os.name`)
    OsName,
    /// `sys_platform` (`sys.platform`)
    SysPlatform,
    /// `platform_machine` (`platform.machine`)
    PlatformMachine,
    /// `platform_system`
    PlatformSystem,
    /// `platform_release`
    PlatformRelease,
    /// `platform_version` (`platform.version`)
    PlatformVersion,
    /// `platform_python_implementation` (`platform.python_implementation`, `python_implementation`)
    PlatformPythonImplementation,
    /// `implementation_name`
    ImplementationName,
    /// `implementation_version`
    ImplementationVersion,
    /// `extra`
    Extra,
    /// Set-valued (lock-file context); parsed, but undefined when evaluating.
    Extras,
    /// Set-valued (lock-file context); parsed, but undefined when evaluating.
    DependencyGroups,
}

impl Variable {
    const ALL: [Variable; 14] = [
        Variable::PythonVersion,
        Variable::PythonFullVersion,
        Variable::OsName,
        Variable::SysPlatform,
        Variable::PlatformMachine,
        Variable::PlatformSystem,
        Variable::PlatformRelease,
        Variable::PlatformVersion,
        Variable::PlatformPythonImplementation,
        Variable::ImplementationName,
        Variable::ImplementationVersion,
        Variable::Extra,
        Variable::Extras,
        Variable::DependencyGroups,
    ];

    /// The modern name, as the environment keys it.
    pub fn as_str(self) -> &'static str {
        match self {
            Variable::PythonVersion => "python_version",
            Variable::PythonFullVersion => "python_full_version",
            Variable::OsName => "os_name",
            Variable::SysPlatform => "sys_platform",
            Variable::PlatformMachine => "platform_machine",
            Variable::PlatformSystem => "platform_system",
            Variable::PlatformRelease => "platform_release",
            Variable::PlatformVersion => "platform_version",
            Variable::PlatformPythonImplementation => "platform_python_implementation",
            Variable::ImplementationName => "implementation_name",
            Variable::ImplementationVersion => "implementation_version",
            Variable::Extra => "extra",
            Variable::Extras => "extras",
            Variable::DependencyGroups => "dependency_groups",
        }
    }

    /// Compared as PEP 440 versions when the specifier is valid.
    fn is_version(self) -> bool {
        matches!(
            self,
            Variable::PythonVersion
                | Variable::PythonFullVersion
                | Variable::ImplementationVersion
                | Variable::PlatformRelease
        )
    }
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Spellings accepted in marker text, in the order packaging's tokenizer tries them
/// (`extras` before `extra`).
const SPELLINGS: [(&str, Variable); 20] = [
    ("python_version", Variable::PythonVersion),
    ("python_full_version", Variable::PythonFullVersion),
    ("os_name", Variable::OsName),
    ("os.name", Variable::OsName),
    ("sys_platform", Variable::SysPlatform),
    ("sys.platform", Variable::SysPlatform),
    ("platform_release", Variable::PlatformRelease),
    ("platform_system", Variable::PlatformSystem),
    ("platform_version", Variable::PlatformVersion),
    ("platform.version", Variable::PlatformVersion),
    ("platform_machine", Variable::PlatformMachine),
    ("platform.machine", Variable::PlatformMachine),
    (
        "platform_python_implementation",
        Variable::PlatformPythonImplementation,
    ),
    (
        "platform.python_implementation",
        Variable::PlatformPythonImplementation,
    ),
    (
        "python_implementation",
        Variable::PlatformPythonImplementation,
    ),
    ("implementation_name", Variable::ImplementationName),
    ("implementation_version", Variable::ImplementationVersion),
    ("extras", Variable::Extras),
    ("extra", Variable::Extra),
    ("dependency_groups", Variable::DependencyGroups),
];

/// A marker operator: a version comparison, or a substring test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MarkerOperator {
    /// `<`, `<=`, `!=`, `==`, `>=`, `>`, `~=`, `===`.
    Version(Operator),
    /// `in`
    In,
    /// `not in`
    NotIn,
}

impl MarkerOperator {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerOperator::Version(op) => op.as_str(),
            MarkerOperator::In => "in",
            MarkerOperator::NotIn => "not in",
        }
    }
}

impl fmt::Display for MarkerOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Operand {
    Variable(Variable),
    /// The string's value (escapes resolved), as written.
    Literal(String),
}

impl Operand {
    /// The text this side stands for when it is not the side looked up in the environment.
    fn text(&self) -> &str {
        match self {
            Operand::Variable(v) => v.as_str(),
            Operand::Literal(s) => s,
        }
    }
}

/// `lhs op rhs`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Expression {
    lhs: Operand,
    op: MarkerOperator,
    rhs: Operand,
    /// For a version variable on the left: the specifier `op rhs` when it is one (packaging
    /// builds it at every evaluation).
    specifier: Option<Specifier>,
    /// The literal compared with `extra` (or tested `in extras`, `in dependency_groups`),
    /// normalised as packaging does when it parses; evaluation uses it in place of the
    /// literal.
    extra: Option<String>,
}

/// A marker expression as written: comparisons joined by `and` (binding tighter) and `or`,
/// with the parentheses of the text, which the normal form keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Expression(Box<Expression>),
    /// Two or more atoms (comparisons or groups).
    And(Vec<Node>),
    /// Two or more atoms or `And`s.
    Or(Vec<Node>),
    /// Written in parentheses.
    Group(Box<Node>),
}

/// A parsed PEP 508 marker; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerTree(Node);

/// What is wrong at the offset of a [`MarkerError::InvalidSyntax`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyntaxProblem {
    /// Neither a known variable nor a quoted string.
    ExpectedVariableOrString,
    /// A quote without its closing quote.
    UnclosedString {
        /// `'` or `"`.
        quote: char,
    },
    /// Not a valid Python string literal (a malformed `\x`, `\u`, `\U` or `\N` escape, a
    /// newline, a NUL).
    InvalidQuotedString,
    /// No comparison operator after the left-hand side.
    ExpectedOperator,
    /// `not` without whitespace after it.
    ExpectedWhitespaceAfterNot,
    /// `not` without `in` after it.
    ExpectedInAfterNot,
    /// A group without its `)`.
    UnclosedParenthesis,
    /// Parentheses nested deeper than the parser follows.
    NestedTooDeep,
    /// Text after a complete marker.
    ExpectedEnd,
}

/// Parentheses nested deeper than this are refused (the parser recurses on them).
const MAX_DEPTH: usize = 64;

impl fmt::Display for SyntaxProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxProblem::ExpectedVariableOrString => f.write_str(
                "expected a marker variable (like `python_version`) or a quoted string",
            ),
            SyntaxProblem::UnclosedString { quote } => {
                write!(f, "expected a closing `{quote}` for this string")
            }
            SyntaxProblem::InvalidQuotedString => f.write_str(
                "invalid quoted string: a malformed `\\x`, `\\u`, `\\U` or `\\N` escape, a newline or a NUL",
            ),
            SyntaxProblem::ExpectedOperator => f.write_str(
                "expected a marker operator (`==`, `!=`, `<`, `<=`, `>`, `>=`, `~=`, `===`, `in` or `not in`)",
            ),
            SyntaxProblem::ExpectedWhitespaceAfterNot => {
                f.write_str("expected whitespace after `not`")
            }
            SyntaxProblem::ExpectedInAfterNot => f.write_str("expected `in` after `not`"),
            SyntaxProblem::UnclosedParenthesis => {
                f.write_str("expected `)` to close the marker group, or `and`/`or`")
            }
            SyntaxProblem::NestedTooDeep => {
                write!(f, "marker groups nested deeper than {MAX_DEPTH} levels")
            }
            SyntaxProblem::ExpectedEnd => f.write_str("expected `and`, `or` or the end of the marker"),
        }
    }
}

/// Why a marker could not be read or evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MarkerError {
    /// The text is not a marker.
    #[error(
        "invalid marker: {problem} at byte {offset}\n    {input}\n    {pad}^",
        pad = " ".repeat(.input.get(..*.offset).map_or(0, |s| s.chars().count()))
    )]
    InvalidSyntax {
        /// The marker text.
        input: String,
        /// Where the problem is, in bytes.
        offset: usize,
        /// What is wrong there.
        problem: SyntaxProblem,
    },
    /// A comparison that packaging leaves undefined (`~=` or `===` on a non-version).
    #[error("undefined comparison `{lhs:?} {op} {rhs:?}` on `{variable}`")]
    UndefinedComparison {
        /// The variable looked up in the environment.
        variable: Variable,
        /// The operator.
        op: MarkerOperator,
        /// The left-hand value.
        lhs: String,
        /// The right-hand value.
        rhs: String,
    },
    /// A variable this environment has no value for.
    #[error("marker variable `{name}` is not defined in this environment")]
    UndefinedVariable {
        /// The name looked up.
        name: String,
    },
}

impl FromStr for MarkerTree {
    type Err = MarkerError;

    /// A marker on its own (the part after `;` in a requirement).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |(offset, problem)| MarkerError::InvalidSyntax {
            input: s.to_owned(),
            offset,
            problem,
        };
        let (tree, end) = MarkerTree::parse_at(s, 0).map_err(invalid)?;
        if end != s.len() {
            return Err(invalid((end, SyntaxProblem::ExpectedEnd)));
        }
        Ok(tree)
    }
}

impl MarkerTree {
    /// The marker that starts at byte `pos` of `text` (word boundaries look at the text
    /// before it), and where it ends, after its trailing whitespace; or the offset in `text`
    /// and the problem.
    pub(crate) fn parse_at(
        text: &str,
        pos: usize,
    ) -> Result<(Self, usize), (usize, SyntaxProblem)> {
        let mut p = Parser {
            text,
            pos,
            depth: 0,
        };
        let node = p.marker()?;
        Ok((MarkerTree(node), p.pos))
    }

    /// Whether the marker holds in `env` for any of `extras` (for `extra == ""` when there
    /// are none).
    pub fn evaluate(&self, env: &MarkerEnv, extras: &[&str]) -> Result<bool, MarkerError> {
        if extras.is_empty() {
            return eval(&self.0, env, "");
        }
        for extra in extras {
            if eval(&self.0, env, &canonical_name(extra))? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// PEP 503 normalisation as `packaging`'s `canonicalize_name`: runs of `-`, `_`, `.` become
/// one `-`, then lowercase. Borrows when `name` is already normal.
fn canonical_name(name: &str) -> Cow<'_, str> {
    let normal = name
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase() && b != b'_' && b != b'.')
        && !name.contains("--");
    if normal {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if !matches!(c, '-' | '_' | '.') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    Cow::Owned(out.to_lowercase())
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

type Parse<T> = Result<T, (usize, SyntaxProblem)>;

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    /// Python's `\b` at byte offset `at`.
    fn boundary(&self, at: usize) -> bool {
        let before = self.text[..at]
            .chars()
            .next_back()
            .is_some_and(super::is_word);
        let after = self.text[at..].chars().next().is_some_and(super::is_word);
        before != after
    }

    /// `\bword\b` at the cursor.
    fn at_word(&self, word: &str) -> bool {
        self.rest().starts_with(word)
            && self.boundary(self.pos)
            && self.boundary(self.pos + word.len())
    }

    /// `[ \t]*`; whether anything was skipped.
    fn ws(&mut self) -> bool {
        let skipped = self.rest().len() - self.rest().trim_start_matches([' ', '\t']).len();
        self.pos += skipped;
        skipped > 0
    }

    /// `marker = atom (("and" | "or") atom)*`, `and` binding tighter.
    fn marker(&mut self) -> Parse<Node> {
        let mut ors: Vec<Vec<Node>> = vec![vec![self.atom()?]];
        loop {
            if self.at_word("and") {
                self.pos += 3;
            } else if self.at_word("or") {
                self.pos += 2;
                ors.push(Vec::new());
            } else {
                break;
            }
            let atom = self.atom()?;
            if let Some(and) = ors.last_mut() {
                and.push(atom);
            }
        }
        let mut ors: Vec<Node> = ors
            .into_iter()
            .map(|mut and| {
                if and.len() == 1 {
                    and.remove(0)
                } else {
                    Node::And(and)
                }
            })
            .collect();
        Ok(if ors.len() == 1 {
            ors.remove(0)
        } else {
            Node::Or(ors)
        })
    }

    /// `atom = ws? "(" ws? marker ws? ")" ws? | ws? item ws?`
    fn atom(&mut self) -> Parse<Node> {
        self.ws();
        let node = if self.rest().starts_with('(') {
            self.pos += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err((self.pos, SyntaxProblem::NestedTooDeep));
            }
            self.ws();
            let inner = self.marker()?;
            self.ws();
            if !self.rest().starts_with(')') {
                return Err((self.pos, SyntaxProblem::UnclosedParenthesis));
            }
            self.pos += 1;
            self.depth -= 1;
            Node::Group(Box::new(inner))
        } else {
            self.item()?
        };
        self.ws();
        Ok(node)
    }

    /// `item = operand ws? op ws? operand`
    fn item(&mut self) -> Parse<Node> {
        let lhs = self.operand()?;
        self.ws();
        let op = self.operator()?;
        self.ws();
        let rhs = self.operand()?;
        let specifier = match (&lhs, op) {
            (Operand::Variable(var), MarkerOperator::Version(op)) if var.is_version() => {
                format!("{op}{}", rhs.text()).parse().ok()
            }
            _ => None,
        };
        let extra = match (&lhs, &rhs) {
            (Operand::Variable(Variable::Extra), Operand::Literal(s))
            | (
                Operand::Literal(s),
                Operand::Variable(Variable::Extra | Variable::Extras | Variable::DependencyGroups),
            ) => Some(canonical_name(s).into_owned()),
            _ => None,
        };
        Ok(Node::Expression(Box::new(Expression {
            lhs,
            op,
            rhs,
            specifier,
            extra,
        })))
    }

    fn operand(&mut self) -> Parse<Operand> {
        if self.boundary(self.pos) {
            for (spelling, var) in SPELLINGS {
                if self.at_word(spelling) {
                    self.pos += spelling.len();
                    return Ok(Operand::Variable(var));
                }
            }
        }
        let start = self.pos;
        let Some(quote) = self
            .rest()
            .chars()
            .next()
            .filter(|&c| c == '"' || c == '\'')
        else {
            return Err((start, SyntaxProblem::ExpectedVariableOrString));
        };
        let Some(len) = self.rest()[1..].find(quote) else {
            return Err((start, SyntaxProblem::UnclosedString { quote }));
        };
        let value = python_string(&self.rest()[1..=len])
            .ok_or((start, SyntaxProblem::InvalidQuotedString))?;
        self.pos += len + 2;
        Ok(Operand::Literal(value))
    }

    fn operator(&mut self) -> Parse<MarkerOperator> {
        if self.at_word("in") {
            self.pos += 2;
            return Ok(MarkerOperator::In);
        }
        if self.at_word("not") {
            self.pos += 3;
            if !self.ws() {
                return Err((self.pos, SyntaxProblem::ExpectedWhitespaceAfterNot));
            }
            if !self.at_word("in") {
                return Err((self.pos, SyntaxProblem::ExpectedInAfterNot));
            }
            self.pos += 2;
            return Ok(MarkerOperator::NotIn);
        }
        match Operator::parse_prefix(self.rest()) {
            Some((op, len)) => {
                self.pos += len;
                Ok(MarkerOperator::Version(op))
            }
            None => Err((self.pos, SyntaxProblem::ExpectedOperator)),
        }
    }
}

/// The value of a Python string literal's body (what `ast.literal_eval` gives), or `None`
/// where Python raises (and for `\N{…}` and lone surrogates, which this does not support).
fn python_string(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    let hex = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| {
        let mut value = 0u32;
        for _ in 0..n {
            value = value * 16 + chars.next()?.to_digit(16)?;
        }
        Some(value)
    };
    while let Some(c) = chars.next() {
        match c {
            '\0' | '\n' | '\r' => return None,
            '\\' => {
                let escaped = chars.next()?;
                match escaped {
                    '\n' => {}
                    '\r' => {
                        chars.next_if_eq(&'\n');
                    }
                    '\\' | '\'' | '"' => out.push(escaped),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\x0b'),
                    '0'..='7' => {
                        let mut value = escaped.to_digit(8)?;
                        for _ in 0..2 {
                            match chars.peek().and_then(|d| d.to_digit(8)) {
                                Some(d) => {
                                    value = value * 8 + d;
                                    chars.next();
                                }
                                None => break,
                            }
                        }
                        out.push(char::from_u32(value)?);
                    }
                    'x' => out.push(char::from_u32(hex(&mut chars, 2)?)?),
                    'u' => out.push(char::from_u32(hex(&mut chars, 4)?)?),
                    'U' => out.push(char::from_u32(hex(&mut chars, 8)?)?),
                    'N' => return None,
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// The normal form: `str(Marker)` of packaging 25.
// ---------------------------------------------------------------------------------------

impl fmt::Display for MarkerTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = first_comparison(&self.0);
        write_list(f, &self.0, true, first)
    }
}

impl Serialize for MarkerTree {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The first element of packaging's top-level list, when it is a comparison: the one whose
/// `extra` value packaging normalises.
fn first_comparison(node: &Node) -> Option<&Expression> {
    match node {
        Node::Expression(e) => Some(e),
        Node::And(atoms) | Node::Or(atoms) => atoms.first().and_then(first_comparison),
        Node::Group(_) => None,
    }
}

/// packaging's `_format_marker` of a list (the content of the text or of a group): one
/// element is printed bare, more in parentheses unless `first`.
fn write_list(
    f: &mut fmt::Formatter<'_>,
    content: &Node,
    first: bool,
    normalise: Option<&Expression>,
) -> fmt::Result {
    match content {
        Node::Expression(e) => write_expression(f, e, normalise),
        Node::Group(inner) => write_list(f, inner, true, normalise),
        Node::And(_) | Node::Or(_) => {
            if !first {
                f.write_str("(")?;
            }
            write_elements(f, content, normalise)?;
            if !first {
                f.write_str(")")?;
            }
            Ok(())
        }
    }
}

/// The elements of a list with `and`/`or` between them.
fn write_elements(
    f: &mut fmt::Formatter<'_>,
    node: &Node,
    normalise: Option<&Expression>,
) -> fmt::Result {
    let (atoms, word) = match node {
        Node::And(atoms) => (atoms, " and "),
        Node::Or(atoms) => (atoms, " or "),
        Node::Expression(e) => return write_expression(f, e, normalise),
        Node::Group(inner) => return write_list(f, inner, false, normalise),
    };
    for (i, atom) in atoms.iter().enumerate() {
        if i > 0 {
            f.write_str(word)?;
        }
        write_elements(f, atom, normalise)?;
    }
    Ok(())
}

fn write_expression(
    f: &mut fmt::Formatter<'_>,
    e: &Expression,
    normalise: Option<&Expression>,
) -> fmt::Result {
    // In the first comparison, packaging normalises the right-hand side when the left is
    // `extra`, else the left when the right is.
    let first = normalise.is_some_and(|n| std::ptr::eq(n, e));
    let is_extra = |side: &Operand| *side == Operand::Variable(Variable::Extra);
    let normal_rhs = first && is_extra(&e.lhs);
    let normal_lhs = first && !normal_rhs && is_extra(&e.rhs);
    write_operand(f, &e.lhs, normal_lhs)?;
    write!(f, " {} ", e.op)?;
    write_operand(f, &e.rhs, normal_rhs)
}

/// A variable by its modern name, a value in double quotes (unescaped, as packaging prints
/// it); `normalise` prints the side as a value normalised like a name.
fn write_operand(f: &mut fmt::Formatter<'_>, side: &Operand, normalise: bool) -> fmt::Result {
    match side {
        _ if normalise => write!(f, "\"{}\"", canonical_name(side.text())),
        Operand::Variable(v) => f.write_str(v.as_str()),
        Operand::Literal(s) => write!(f, "\"{s}\""),
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation: `Marker.evaluate` of packaging 26.3.
// ---------------------------------------------------------------------------------------

fn lookup<'e>(
    var: Variable,
    env: &'e MarkerEnv,
    extra: &'e str,
) -> Result<Cow<'e, str>, MarkerError> {
    Ok(Cow::Borrowed(match var {
        Variable::PythonVersion => &env.python_version,
        Variable::PythonFullVersion => {
            let v = &env.python_full_version;
            if v.ends_with('+') {
                return Ok(Cow::Owned(format!("{v}local")));
            }
            v
        }
        Variable::OsName => &env.os_name,
        Variable::SysPlatform => &env.sys_platform,
        Variable::PlatformMachine => &env.platform_machine,
        Variable::PlatformSystem => &env.platform_system,
        Variable::PlatformRelease => &env.platform_release,
        Variable::PlatformVersion => &env.platform_version,
        Variable::PlatformPythonImplementation => &env.platform_python_implementation,
        Variable::ImplementationName => &env.implementation_name,
        Variable::ImplementationVersion => &env.implementation_version,
        Variable::Extra => extra,
        Variable::Extras | Variable::DependencyGroups => {
            return Err(MarkerError::UndefinedVariable {
                name: var.as_str().to_owned(),
            });
        }
    }))
}

/// `extra` is already normalised.
fn eval(node: &Node, env: &MarkerEnv, extra: &str) -> Result<bool, MarkerError> {
    match node {
        Node::Expression(e) => compare(e, env, extra),
        // No short-circuit: an undefined comparison anywhere is an error, as in packaging.
        Node::And(all) => all
            .iter()
            .try_fold(true, |acc, n| Ok(eval(n, env, extra)? && acc)),
        Node::Or(any) => any
            .iter()
            .try_fold(false, |acc, n| Ok(eval(n, env, extra)? || acc)),
        Node::Group(inner) => eval(inner, env, extra),
    }
}

fn compare(e: &Expression, env: &MarkerEnv, extra: &str) -> Result<bool, MarkerError> {
    // A literal compared with an extra is used in its normal form.
    fn literal<'a>(e: &'a Expression, side: &'a Operand) -> &'a str {
        match (side, &e.extra) {
            (Operand::Literal(_), Some(normal)) => normal,
            _ => side.text(),
        }
    }
    let (var, left, right) = match (&e.lhs, &e.rhs) {
        (Operand::Variable(var), rhs) => {
            let left = lookup(*var, env, extra)?;
            if let Some(spec) = &e.specifier {
                return Ok(spec.contains_str(&left));
            }
            (*var, left, Cow::Borrowed(literal(e, rhs)))
        }
        (lhs, Operand::Variable(var)) => (
            *var,
            Cow::Borrowed(literal(e, lhs)),
            lookup(*var, env, extra)?,
        ),
        // packaging looks the right-hand string up as a variable name.
        (Operand::Literal(left), Operand::Literal(name)) => {
            let var = Variable::ALL
                .into_iter()
                .find(|v| v.as_str() == name)
                .ok_or_else(|| MarkerError::UndefinedVariable { name: name.clone() })?;
            (var, Cow::Borrowed(left.as_str()), lookup(var, env, extra)?)
        }
    };
    if let MarkerOperator::Version(op) = e.op
        && var.is_version()
        && !matches!(e.lhs, Operand::Variable(_))
        && let Ok(spec) = format!("{op}{right}").parse::<Specifier>()
    {
        return Ok(spec.contains_str(&left));
    }
    match e.op {
        MarkerOperator::In => Ok(right.contains(&*left)),
        MarkerOperator::NotIn => Ok(!right.contains(&*left)),
        MarkerOperator::Version(Operator::Less | Operator::Greater) => Ok(false),
        MarkerOperator::Version(Operator::LessEqual | Operator::Equal | Operator::GreaterEqual) => {
            Ok(left == right)
        }
        MarkerOperator::Version(Operator::NotEqual) => Ok(left != right),
        MarkerOperator::Version(Operator::Compatible | Operator::ArbitraryEqual) => {
            Err(MarkerError::UndefinedComparison {
                variable: var,
                op: e.op,
                lhs: left.into_owned(),
                rhs: right.into_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MarkerTree, MarkerError> {
        text.parse()
    }

    fn evaluate(m: &MarkerTree, env: &MarkerEnv, extras: &[&str]) -> Result<bool, MarkerError> {
        m.evaluate(env, extras)
    }

    fn matches(text: &str, env: &MarkerEnv, extras: &[&str]) -> Result<bool, MarkerError> {
        evaluate(&parse(text)?, env, extras)
    }

    fn py(version: &str) -> MarkerEnv {
        MarkerEnv::linux(version, "x86_64")
    }

    #[test]
    fn linux_env_takes_major_minor() {
        let env = MarkerEnv::linux("3.13.0rc1", "aarch64");
        assert_eq!(env.python_version, "3.13");
        assert_eq!(env.implementation_version, "3.13.0rc1");
        assert_eq!(env.platform_machine, "aarch64");
    }

    #[test]
    fn requires_dist_example_needs_extra_and_old_python() {
        let m = r#"python_version < "3.11" and extra == "plot""#;
        assert_eq!(matches(m, &py("3.10.4"), &["plot"]), Ok(true));
        assert_eq!(matches(m, &py("3.10.4"), &[]), Ok(false));
        assert_eq!(matches(m, &py("3.11.0"), &["plot"]), Ok(false));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let m = r#"os_name == "nt" and python_version < "3" or sys_platform == "linux""#;
        assert_eq!(matches(m, &py("3.12.1"), &[]), Ok(true));
        let m = r#"os_name == "nt" and (python_version < "3" or sys_platform == "linux")"#;
        assert_eq!(matches(m, &py("3.12.1"), &[]), Ok(false));
    }

    #[test]
    fn extra_names_are_normalised_on_both_sides() {
        assert_eq!(
            matches(r#"extra == "Plot_X""#, &py("3.11.2"), &["plot-x"]),
            Ok(true)
        );
        assert_eq!(
            matches(r#""plot..x" == extra"#, &py("3.11.2"), &["PLOT_X"]),
            Ok(true)
        );
    }

    #[test]
    fn reversed_operands_compare_the_literal_on_the_left() {
        assert_eq!(
            matches(r#""3.8" < python_version"#, &py("3.11.2"), &[]),
            Ok(true)
        );
        assert_eq!(
            matches(r#""3.12" < python_version"#, &py("3.11.2"), &[]),
            Ok(false)
        );
    }

    #[test]
    fn greater_than_skips_post_releases_and_less_than_skips_pre_releases() {
        assert_eq!(
            matches(r#"python_full_version > "3.8""#, &py("3.8.post1"), &[]),
            Ok(false)
        );
        assert_eq!(
            matches(r#"python_full_version < "3.8""#, &py("3.8rc1"), &[]),
            Ok(false)
        );
        assert_eq!(
            matches(r#"python_full_version < "3.8rc2""#, &py("3.8rc1"), &[]),
            Ok(true)
        );
    }

    #[test]
    fn compatible_release_on_a_string_variable_is_undefined() {
        let err = matches(r#"os_name ~= "posix""#, &py("3.11.2"), &[]).unwrap_err();
        insta::assert_snapshot!(err, @r#"undefined comparison `"posix" ~= "posix"` on `os_name`"#);
    }

    #[test]
    fn syntax_error_points_at_the_offset() {
        let err = parse(r#"python_version >> "3""#).unwrap_err();
        insta::assert_snapshot!(err, @r#"
        invalid marker: expected a marker variable (like `python_version`) or a quoted string at byte 16
            python_version >> "3"
                            ^
        "#);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("{}os_name == 'x'{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(matches!(
            parse(&text),
            Err(MarkerError::InvalidSyntax {
                problem: SyntaxProblem::NestedTooDeep,
                ..
            })
        ));
    }

    #[derive(Deserialize)]
    struct Vectors {
        environments: std::collections::BTreeMap<String, MarkerEnv>,
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        marker: String,
        env: String,
        extras: Vec<String>,
        /// `true`, `false`, `"parse-error"` or `"eval-error"`.
        expected: serde_json::Value,
    }

    #[test]
    fn agrees_with_packaging_vectors() {
        let vectors: Vectors =
            serde_json::from_str(include_str!("../../tests/vectors/marker_eval.json")).unwrap();
        for (name, env) in &vectors.environments {
            if let Some(rest) = name.strip_prefix("linux-") {
                let machine = rest.split('-').next().unwrap();
                assert_eq!(
                    &MarkerEnv::linux(&env.python_full_version, machine),
                    env,
                    "{name}"
                );
            }
        }
        let mut failures = Vec::new();
        for case in &vectors.cases {
            let env = &vectors.environments[&case.env];
            let extras: Vec<&str> = case.extras.iter().map(String::as_str).collect();
            let got = match parse(&case.marker) {
                Err(_) => serde_json::json!("parse-error"),
                Ok(m) => match evaluate(&m, env, &extras) {
                    Ok(b) => serde_json::json!(b),
                    Err(_) => serde_json::json!("eval-error"),
                },
            };
            if got != case.expected {
                failures.push(format!(
                    "{:?} env={} extras={:?}: expected {}, got {}",
                    case.marker, case.env, case.extras, case.expected, got
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases disagree:\n{}",
            failures.len(),
            vectors.cases.len(),
            failures.join("\n")
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,64}") {
            if let Ok(m) = parse(&text) {
                let _ = evaluate(&m, &py("3.11.4"), &["x"]);
            }
        }

        #[test]
        fn parse_never_panics_on_marker_like_text(
            text in "[ ()'\"a-z_.<=>!~0-9*+]{0,48}",
        ) {
            if let Ok(m) = parse(&text) {
                let _ = evaluate(&m, &py("3.11.4"), &[]);
            }
        }
    }
}
