//! PEP 508 environment markers: does a `Requires-Dist` entry such as
//! `numpy>=1.22; python_version < "3.11" and extra == "plot"` apply to an environment?
//!
//! [`parse`] reads the full marker grammar; [`evaluate`] answers for a [`MarkerEnv`] (Python
//! version and platform, taken from the image) and the requested extras; [`matches`] does both.
//!
//! The semantics are those of `packaging.markers.Marker.evaluate` (packaging 26.3), checked by
//! `tests/vectors/marker_eval.json` (made by `scripts/gen-marker-vectors.py`):
//!
//! - **Grammar.** Variables (including the legacy `os.name`, `sys.platform`,
//!   `platform.version`, `platform.machine`, `platform.python_implementation` and
//!   `python_implementation`), strings in `'` or `"` (read as Python string literals, so
//!   `\n`, `\x41`, `\u00e9` are escapes), the operators `<` `<=` `!=` `==` `>=` `>` `~=` `===`
//!   `in` `not in`, `and` binding tighter than `or`, parentheses. Only spaces and tabs are
//!   whitespace; `and`, `or`, `in` and `not` are words, so `"3"and` is fine but `andos_name`
//!   is not.
//! - **Version comparisons.** For `python_version`, `python_full_version`,
//!   `implementation_version` and `platform_release`, the operator and the right-hand value
//!   are read as a PEP 440 specifier (`python_version < "3.11"` is `<3.11`). If that is a valid
//!   specifier, the left-hand value must satisfy it with pre-releases allowed, and a left-hand
//!   value that is not a PEP 440 version satisfies nothing. Specifier rules: `==1.2.*` prefix
//!   match; `==`/`!=` ignore the candidate's local label unless the specifier has one; `<V`
//!   excludes V's pre-releases unless V is one; `>V` excludes V's post-releases unless V is
//!   one; `~=` compatible release; `===` case-insensitive string equality. The ordering is
//!   PEP 440's ([`crate::python::version::compare_pip`]).
//! - **Everything else** compares as strings: `==`, `!=`, `in`, `not in` (substring), and
//!   (as packaging does since 26.0) `<=`/`>=` mean equality and `<`/`>` are false. `~=` and
//!   `===` on a non-version are an error ([`MarkerError::UndefinedComparison`]).
//! - **Reversed operands** (`"3.8" < python_version`) compare the literal on the left with the
//!   environment's value on the right. As in packaging, when both sides are variables the right
//!   one stands for its own name, and when both are strings the right one names the variable.
//! - **Extras** (PEP 685): names on both sides are normalised (`Plot_X` is `plot-x`). The
//!   marker holds if it holds for any requested extra; with none requested, `extra` is `""`.
//! - Every comparison is evaluated (no short-circuit), so an undefined comparison anywhere is an
//!   error, as in packaging. The set-valued `extras` and `dependency_groups` (lock-file
//!   context) parse but are undefined here.
//! - A `python_full_version` ending in `+` (an untagged CPython build) is read as `…+local`.
//!
//! Known differences from packaging: `\N{name}` escapes and lone surrogates (`\ud800`) in
//! strings are rejected; Unicode case-folding oddities in specifiers (`ſ` for `s`) are not
//! followed; error offsets are bytes, not characters.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::python::version::compare_pip;

/// The values markers are evaluated against (PEP 508's environment markers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerEnv {
    pub python_version: String,
    pub python_full_version: String,
    pub os_name: String,
    pub sys_platform: String,
    pub platform_machine: String,
    pub platform_system: String,
    pub platform_release: String,
    pub platform_version: String,
    pub platform_python_implementation: String,
    pub implementation_name: String,
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
    PythonVersion,
    PythonFullVersion,
    OsName,
    SysPlatform,
    PlatformMachine,
    PlatformSystem,
    PlatformRelease,
    PlatformVersion,
    PlatformPythonImplementation,
    ImplementationName,
    ImplementationVersion,
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

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    Less,
    LessEqual,
    NotEqual,
    Equal,
    GreaterEqual,
    Greater,
    /// `~=`
    Compatible,
    /// `===`
    Arbitrary,
    In,
    NotIn,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Less => "<",
            Operator::LessEqual => "<=",
            Operator::NotEqual => "!=",
            Operator::Equal => "==",
            Operator::GreaterEqual => ">=",
            Operator::Greater => ">",
            Operator::Compatible => "~=",
            Operator::Arbitrary => "===",
            Operator::In => "in",
            Operator::NotIn => "not in",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Symbolic operators in the order packaging's tokenizer tries them.
const SYMBOLS: [(&str, Operator); 8] = [
    ("===", Operator::Arbitrary),
    ("==", Operator::Equal),
    ("~=", Operator::Compatible),
    ("!=", Operator::NotEqual),
    ("<=", Operator::LessEqual),
    (">=", Operator::GreaterEqual),
    ("<", Operator::Less),
    (">", Operator::Greater),
];

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    Variable(Variable),
    /// The string's value (escapes resolved; extra names already normalised).
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

/// A parsed marker expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Marker {
    Compare {
        lhs: Operand,
        op: Operator,
        rhs: Operand,
    },
    /// All hold (two or more).
    And(Vec<Marker>),
    /// Any holds (two or more).
    Or(Vec<Marker>),
}

impl FromStr for Marker {
    type Err = MarkerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

/// What is wrong at the offset of a [`MarkerError::InvalidSyntax`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyntaxProblem {
    ExpectedVariableOrString,
    ExpectedOperator,
    ExpectedWhitespaceAfterNot,
    ExpectedInAfterNot,
    /// The offset is that of the `(`.
    UnclosedParenthesis,
    ExpectedEnd,
    /// Not a valid Python string literal (unknown `\x`, `\u` escapes, a newline, a NUL).
    InvalidQuotedString,
    NestedTooDeep,
}

impl fmt::Display for SyntaxProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyntaxProblem::ExpectedVariableOrString => "expected a marker variable or quoted string",
            SyntaxProblem::ExpectedOperator => {
                "expected an operator (`<`, `<=`, `!=`, `==`, `>=`, `>`, `~=`, `===`, `in`, `not in`)"
            }
            SyntaxProblem::ExpectedWhitespaceAfterNot => "expected whitespace after `not`",
            SyntaxProblem::ExpectedInAfterNot => "expected `in` after `not`",
            SyntaxProblem::UnclosedParenthesis => "unclosed `(`",
            SyntaxProblem::ExpectedEnd => "expected `and`, `or` or the end of the marker",
            SyntaxProblem::InvalidQuotedString => "invalid quoted string",
            SyntaxProblem::NestedTooDeep => "parentheses nested too deeply",
        })
    }
}

/// Parentheses nested deeper than this are refused (packaging runs out of recursion near 300).
const MAX_DEPTH: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MarkerError {
    #[error(
        "invalid marker: {problem} at byte {offset}\n    {input}\n    {pad}^",
        pad = " ".repeat(.input.get(..*.offset).map_or(0, |s| s.chars().count()))
    )]
    InvalidSyntax {
        input: String,
        offset: usize,
        problem: SyntaxProblem,
    },
    #[error("undefined comparison `{lhs:?} {op} {rhs:?}` on `{variable}`")]
    UndefinedComparison {
        variable: Variable,
        op: Operator,
        lhs: String,
        rhs: String,
    },
    #[error("marker variable `{name}` is not defined in this environment")]
    UndefinedVariable { name: String },
}

/// Parse a marker expression (the part after `;` in a requirement).
pub fn parse(text: &str) -> Result<Marker, MarkerError> {
    let mut p = Parser {
        text,
        pos: 0,
        depth: 0,
    };
    let marker = p.marker()?;
    if p.pos != text.len() {
        return Err(p.error(p.pos, SyntaxProblem::ExpectedEnd));
    }
    Ok(marker)
}

/// Whether `marker` holds in `env` for any of `extras` (for `extra == ""` when there are none).
pub fn evaluate(marker: &Marker, env: &MarkerEnv, extras: &[&str]) -> Result<bool, MarkerError> {
    if extras.is_empty() {
        return eval(marker, env, "");
    }
    for extra in extras {
        if eval(marker, env, &canonical_name(extra))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// [`parse`] then [`evaluate`].
pub fn matches(text: &str, env: &MarkerEnv, extras: &[&str]) -> Result<bool, MarkerError> {
    evaluate(&parse(text)?, env, extras)
}

/// PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become one `-`.
fn canonical_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.to_lowercase().chars() {
        let c = if matches!(c, '_' | '.') { '-' } else { c };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
}

/// Python's `str.isspace`, which `\s` and `strip()` use.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn py_trim(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// A character of Python's `\w` (near enough: Unicode letters and numbers, `_`).
fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, offset: usize, problem: SyntaxProblem) -> MarkerError {
        MarkerError::InvalidSyntax {
            input: self.text.to_owned(),
            offset,
            problem,
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    /// Python's `\b` at byte offset `at`.
    fn boundary(&self, at: usize) -> bool {
        let before = self.text[..at].chars().next_back().is_some_and(is_word);
        let after = self.text[at..].chars().next().is_some_and(is_word);
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
    fn marker(&mut self) -> Result<Marker, MarkerError> {
        let mut groups = vec![vec![self.atom()?]];
        loop {
            if self.at_word("and") {
                self.pos += 3;
            } else if self.at_word("or") {
                self.pos += 2;
                groups.push(Vec::new());
            } else {
                break;
            }
            let atom = self.atom()?;
            if let Some(group) = groups.last_mut() {
                group.push(atom);
            }
        }
        let mut ors: Vec<Marker> = groups
            .into_iter()
            .map(|mut g| {
                if g.len() == 1 {
                    g.remove(0)
                } else {
                    Marker::And(g)
                }
            })
            .collect();
        Ok(if ors.len() == 1 {
            ors.remove(0)
        } else {
            Marker::Or(ors)
        })
    }

    /// `atom = ws? "(" ws? marker ws? ")" ws? | ws? item ws?`
    fn atom(&mut self) -> Result<Marker, MarkerError> {
        self.ws();
        let marker = if self.rest().starts_with('(') {
            let open = self.pos;
            if self.depth >= MAX_DEPTH {
                return Err(self.error(open, SyntaxProblem::NestedTooDeep));
            }
            self.pos += 1;
            self.depth += 1;
            self.ws();
            let inner = self.marker()?;
            self.ws();
            if !self.rest().starts_with(')') {
                return Err(self.error(open, SyntaxProblem::UnclosedParenthesis));
            }
            self.pos += 1;
            self.depth -= 1;
            inner
        } else {
            self.item()?
        };
        self.ws();
        Ok(marker)
    }

    /// `item = operand ws? op ws? operand`, with extra names normalised as packaging does.
    fn item(&mut self) -> Result<Marker, MarkerError> {
        let mut lhs = self.operand()?;
        self.ws();
        let op = self.operator()?;
        self.ws();
        let mut rhs = self.operand()?;
        match (&mut lhs, &mut rhs) {
            (Operand::Variable(Variable::Extra), Operand::Literal(s))
            | (
                Operand::Literal(s),
                Operand::Variable(Variable::Extra | Variable::Extras | Variable::DependencyGroups),
            ) => *s = canonical_name(s),
            _ => {}
        }
        Ok(Marker::Compare { lhs, op, rhs })
    }

    fn operand(&mut self) -> Result<Operand, MarkerError> {
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
            return Err(self.error(start, SyntaxProblem::ExpectedVariableOrString));
        };
        let Some(len) = self.rest()[1..].find(quote) else {
            return Err(self.error(start, SyntaxProblem::ExpectedVariableOrString));
        };
        let body = &self.rest()[1..1 + len];
        let value = python_string(body)
            .ok_or_else(|| self.error(start, SyntaxProblem::InvalidQuotedString))?;
        self.pos += len + 2;
        Ok(Operand::Literal(value))
    }

    fn operator(&mut self) -> Result<Operator, MarkerError> {
        if self.at_word("in") {
            self.pos += 2;
            return Ok(Operator::In);
        }
        if self.at_word("not") {
            self.pos += 3;
            if !self.ws() {
                return Err(self.error(self.pos, SyntaxProblem::ExpectedWhitespaceAfterNot));
            }
            if !self.at_word("in") {
                return Err(self.error(self.pos, SyntaxProblem::ExpectedInAfterNot));
            }
            self.pos += 2;
            return Ok(Operator::NotIn);
        }
        for (symbol, op) in SYMBOLS {
            if self.rest().starts_with(symbol) {
                self.pos += symbol.len();
                return Ok(op);
            }
        }
        Err(self.error(self.pos, SyntaxProblem::ExpectedOperator))
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
fn eval(marker: &Marker, env: &MarkerEnv, extra: &str) -> Result<bool, MarkerError> {
    match marker {
        Marker::Compare { lhs, op, rhs } => compare(lhs, *op, rhs, env, extra),
        // No short-circuit: an undefined comparison anywhere is an error, as in packaging.
        Marker::And(all) => all
            .iter()
            .try_fold(true, |acc, m| Ok(eval(m, env, extra)? && acc)),
        Marker::Or(any) => any
            .iter()
            .try_fold(false, |acc, m| Ok(eval(m, env, extra)? || acc)),
    }
}

fn compare(
    lhs: &Operand,
    op: Operator,
    rhs: &Operand,
    env: &MarkerEnv,
    extra: &str,
) -> Result<bool, MarkerError> {
    let (var, left, right) = match (lhs, rhs) {
        (Operand::Variable(var), _) => (*var, lookup(*var, env, extra)?, Cow::Borrowed(rhs.text())),
        (Operand::Literal(left), Operand::Variable(var)) => (
            *var,
            Cow::Borrowed(left.as_str()),
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
    if var.is_version()
        && let Some(spec) = Specifier::parse(&format!("{op}{right}"))
    {
        return Ok(spec.contains(&left));
    }
    match op {
        Operator::In => Ok(right.contains(&*left)),
        Operator::NotIn => Ok(!right.contains(&*left)),
        Operator::Less | Operator::Greater => Ok(false),
        Operator::LessEqual | Operator::Equal | Operator::GreaterEqual => Ok(left == right),
        Operator::NotEqual => Ok(left != right),
        Operator::Compatible | Operator::Arbitrary => Err(MarkerError::UndefinedComparison {
            variable: var,
            op,
            lhs: left.into_owned(),
            rhs: right.into_owned(),
        }),
    }
}

/// A non-negative integer as its decimal digits without leading zeros (`"0"` for zero), so
/// that any length works and equal values are equal strings.
fn number(digits: &str) -> String {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn increment(n: &str) -> String {
    let mut digits = n.as_bytes().to_vec();
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return String::from_utf8_lossy(&digits).into_owned();
        }
    }
    format!("1{}", String::from_utf8_lossy(&digits))
}

/// The parts of a PEP 440 version that specifier matching looks at, normalised; ordered with
/// [`compare_pip`] through the normal form ([`fmt::Display`]).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pep440 {
    epoch: String,
    /// As written (trailing zeros kept: `~=` and `.*` depend on them).
    release: Vec<String>,
    /// `a`, `b` or `rc`, and the number.
    pre: Option<(&'static str, String)>,
    post: Option<String>,
    dev: Option<String>,
    local: Option<String>,
}

impl fmt::Display for Pep440 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != "0" {
            write!(f, "{}!", self.epoch)?;
        }
        f.write_str(&self.release.join("."))?;
        if let Some((label, n)) = &self.pre {
            write!(f, "{label}{n}")?;
        }
        if let Some(n) = &self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = &self.dev {
            write!(f, ".dev{n}")?;
        }
        if let Some(local) = &self.local {
            write!(f, "+{local}")?;
        }
        Ok(())
    }
}

impl Pep440 {
    /// `packaging.version.Version` syntax: surrounding whitespace, a leading `v`, any case.
    fn parse(text: &str) -> Option<Pep440> {
        let lower = py_trim(text).to_ascii_lowercase();
        let s = lower.strip_prefix('v').unwrap_or(&lower);
        let mut c = Scan { s, pos: 0 };

        let first = c.digits()?;
        let (epoch, first) = if c.eat("!") {
            (number(first), c.digits()?)
        } else {
            ("0".to_owned(), first)
        };
        let mut release = vec![number(first)];
        while c.rest().starts_with('.') && c.rest()[1..].starts_with(|d: char| d.is_ascii_digit()) {
            c.pos += 1;
            release.extend(c.digits().map(number));
        }

        let pre = c.labelled(&[
            ("alpha", "a"),
            ("a", "a"),
            ("beta", "b"),
            ("b", "b"),
            ("preview", "rc"),
            ("pre", "rc"),
            ("c", "rc"),
            ("rc", "rc"),
        ]);

        let post = {
            let start = c.pos;
            match c.eat("-").then(|| c.digits()).flatten() {
                Some(n) => Some(number(n)),
                None => {
                    c.pos = start;
                    c.labelled(&[("post", ()), ("rev", ()), ("r", ())])
                        .map(|(_, n)| n)
                }
            }
        };

        let dev = c.labelled(&[("dev", ())]).map(|(_, n)| n);

        let local = if c.eat("+") {
            let mut segments = Vec::new();
            loop {
                let len = c
                    .rest()
                    .find(|ch: char| !ch.is_ascii_alphanumeric())
                    .unwrap_or(c.rest().len());
                if len == 0 {
                    return None;
                }
                let seg = &c.rest()[..len];
                segments.push(if seg.bytes().all(|b| b.is_ascii_digit()) {
                    number(seg)
                } else {
                    seg.to_owned()
                });
                c.pos += len;
                if !c.sep() {
                    break;
                }
            }
            Some(segments.join("."))
        } else {
            None
        };

        c.rest().is_empty().then_some(Pep440 {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    fn cmp(&self, other: &Pep440) -> Ordering {
        compare_pip(&self.to_string(), &other.to_string())
    }

    fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    fn public(&self) -> Pep440 {
        Pep440 {
            local: None,
            ..self.clone()
        }
    }

    fn trimmed_release(&self) -> &[String] {
        let end = self
            .release
            .iter()
            .rposition(|n| n != "0")
            .map_or(1, |i| i + 1);
        &self.release[..end]
    }

    /// The `.dev0` of `epoch!release`.
    fn dev0(epoch: &str, release: Vec<String>) -> Pep440 {
        Pep440 {
            epoch: epoch.to_owned(),
            release,
            pre: None,
            post: None,
            dev: Some("0".to_owned()),
            local: None,
        }
    }

    /// The `.dev0` of the next release with `release` as prefix length: `1.2` → `1.3.dev0`.
    fn next_prefix_dev0(epoch: &str, release: &[String]) -> Pep440 {
        let mut next = release.to_vec();
        if let Some(last) = next.last_mut() {
            *last = increment(last);
        }
        Pep440::dev0(epoch, next)
    }
}

/// A byte cursor over an ASCII-lowercased version string.
struct Scan<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Scan<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn eat(&mut self, token: &str) -> bool {
        let found = self.rest().starts_with(token);
        if found {
            self.pos += token.len();
        }
        found
    }

    fn sep(&mut self) -> bool {
        self.eat(".") || self.eat("_") || self.eat("-")
    }

    fn digits(&mut self) -> Option<&'a str> {
        let len = self
            .rest()
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest().len());
        let start = self.pos;
        self.pos += len;
        (len > 0).then(|| &self.s[start..start + len])
    }

    /// `[sep] label [sep] [digits]`; the number defaults to 0.
    fn labelled<T: Copy>(&mut self, labels: &[(&str, T)]) -> Option<(T, String)> {
        let start = self.pos;
        self.sep();
        let Some(&(_, value)) = labels.iter().find(|(word, _)| self.eat(word)) else {
            self.pos = start;
            return None;
        };
        self.sep();
        let n = self.digits().map_or_else(|| "0".to_owned(), number);
        Some((value, n))
    }
}

/// One PEP 440 specifier, as `packaging.specifiers.Specifier` reads it.
#[derive(Debug)]
enum Specifier {
    /// `===`: the string, compared case-insensitively.
    Arbitrary(String),
    /// `==V.*` (`equal`) or `!=V.*`.
    Prefix {
        equal: bool,
        base: Pep440,
    },
    Version {
        op: Operator,
        version: Pep440,
    },
}

impl Specifier {
    fn parse(text: &str) -> Option<Specifier> {
        let text = py_trim(text);
        let (op, rest) = SYMBOLS
            .iter()
            .find_map(|(symbol, op)| text.strip_prefix(symbol).map(|rest| (*op, rest)))?;
        let rest = rest.trim_start_matches(py_space);
        match op {
            Operator::Arbitrary => (!rest.contains(|c: char| py_space(c) || c == ';' || c == ')'))
                .then(|| Specifier::Arbitrary(rest.to_owned())),
            Operator::Equal | Operator::NotEqual if rest.ends_with(".*") => {
                let base = &rest[..rest.len() - 2];
                let bare = base.strip_prefix(['v', 'V']).unwrap_or(base);
                let bare = match bare.split_once('!') {
                    Some((epoch, release)) if is_digits(epoch) => release,
                    _ => bare,
                };
                if !bare.split('.').all(is_digits) {
                    return None;
                }
                Some(Specifier::Prefix {
                    equal: op == Operator::Equal,
                    base: Pep440::parse(base)?,
                })
            }
            _ => {
                if rest.contains(py_space) {
                    return None;
                }
                let version = Pep440::parse(rest)?;
                let local_ok = matches!(op, Operator::Equal | Operator::NotEqual);
                if version.local.is_some() && !local_ok {
                    return None;
                }
                if op == Operator::Compatible && version.release.len() < 2 {
                    return None;
                }
                Some(Specifier::Version { op, version })
            }
        }
    }

    /// `Specifier.contains(item, prereleases=True)`.
    fn contains(&self, item: &str) -> bool {
        let (op, v) = match self {
            Specifier::Arbitrary(s) => return item.to_lowercase() == s.to_lowercase(),
            Specifier::Prefix { equal, base } => {
                let Some(p) = Pep440::parse(item) else {
                    return false;
                };
                let lower = Pep440::dev0(&base.epoch, base.release.clone());
                let upper = Pep440::next_prefix_dev0(&base.epoch, &base.release);
                let inside = p.cmp(&lower).is_ge() && p.cmp(&upper).is_lt();
                return inside == *equal;
            }
            Specifier::Version { op, version } => (*op, version),
        };
        let Some(p) = Pep440::parse(item) else {
            return false;
        };
        // `==`/`!=` without a local label in the specifier ignore the candidate's.
        let public_eq = || {
            if v.local.is_some() {
                p.cmp(v).is_eq()
            } else {
                p.public().cmp(v).is_eq()
            }
        };
        match op {
            Operator::Equal => public_eq(),
            Operator::NotEqual => !public_eq(),
            Operator::GreaterEqual => p.cmp(v).is_ge(),
            Operator::LessEqual => p.public().cmp(v).is_le(),
            Operator::Less => {
                // `<V` excludes V's pre-releases unless V is one.
                let bound = if v.is_prerelease() {
                    v.clone()
                } else {
                    Pep440 {
                        dev: Some("0".to_owned()),
                        ..v.clone()
                    }
                };
                p.cmp(&bound).is_lt()
            }
            Operator::Greater => {
                if let Some(dev) = &v.dev {
                    let next = Pep440 {
                        dev: Some(increment(dev)),
                        ..v.clone()
                    };
                    p.cmp(&next).is_ge()
                } else if let Some(post) = &v.post {
                    let next = Pep440 {
                        post: Some(increment(post)),
                        dev: Some("0".to_owned()),
                        ..v.clone()
                    };
                    p.cmp(&next).is_ge()
                } else {
                    // `>V` excludes V's post-releases (and V+local) unless V is one.
                    let family = p.epoch == v.epoch
                        && p.trimmed_release() == v.trimmed_release()
                        && p.pre == v.pre;
                    p.cmp(v).is_gt() && !family
                }
            }
            Operator::Compatible => {
                let prefix = &v.release[..v.release.len() - 1];
                let upper = Pep440::next_prefix_dev0(&v.epoch, prefix);
                p.cmp(v).is_ge() && p.cmp(&upper).is_lt()
            }
            Operator::Arbitrary | Operator::In | Operator::NotIn => false,
        }
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        invalid marker: expected a marker variable or quoted string at byte 16
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
