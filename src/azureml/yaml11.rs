//! A YAML loader that reads what PyYAML's `yaml.safe_load` reads, the way it reads it.
//!
//! azure-ai-ml loads a conda file with `yaml.safe_load` and hashes the re-dumped text, so the
//! *values* matter exactly: `python: 3.10` is the float `3.1`, `yes` is `True`, `012` is the
//! octal int `10`, `1:30` is the sexagesimal int `90`, `2021-01-01` is a date. Syntax comes from
//! the YAML event parser `granit_parser` (re-exported by serde-saphyr); everything after the
//! events follows PyYAML 6:
//!
//! - plain scalars (and scalars tagged with the non-specific `!`) are resolved with PyYAML's
//!   YAML 1.1 implicit resolvers (bool, float, int, merge, null, timestamp, value), checked in
//!   PyYAML's order; quoted and block scalars are strings;
//! - explicit core tags (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!timestamp`,
//!   `!!seq`, `!!map`) are constructed as PyYAML's `SafeConstructor` does, including its
//!   leniency (`!!int 0o17` is 15) and its failures (`!!int x` is an error);
//! - `<<` merge keys are flattened first (merged pairs before the mapping's own pairs), and a
//!   duplicate key keeps its first position and first key object while the last value wins,
//!   as a Python `dict` assignment does (`1`, `1.0` and `true` are the same key);
//! - an aliased collection or timestamp is the *same* object (an `Rc`), which the emitter
//!   turns back into `&id001` / `*id001`; aliased strings and numbers are plain copies, as
//!   PyYAML never anchors them;
//! - the input is first decoded as azure-ai-ml opens files (`utf-8-sig`, universal newlines)
//!   and checked for the characters PyYAML's reader refuses.
//!
//! Not supported (reported as errors, never guessed): recursive aliases, `!!binary`,
//! `!!set`, `!!omap`, `!!pairs` and Python-specific tags.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::fmt::Write as _;
use std::rc::Rc;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError};

const CORE: &str = "tag:yaml.org,2002:";

/// A loaded YAML value, shaped like the Python object `yaml.safe_load` returns.
#[derive(Clone, Debug)]
pub enum Value {
    /// `None`: `~`, `null`, `Null`, `NULL` or nothing.
    Null,
    /// `True` or `False`; YAML 1.1 also reads `yes`/`no` and `on`/`off` this way.
    Bool(bool),
    /// An `int` of any size (YAML 1.1 reads octal `012`, sexagesimal `1:30`, `0b`, `0x`).
    Int(Int),
    /// A `float`, including `.inf` and `.nan`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// `datetime.date` or `datetime.datetime`; shared when aliased.
    Timestamp(Rc<Timestamp>),
    /// A `list`; shared when aliased.
    Seq(Rc<Vec<Value>>),
    /// A `dict` in insertion order; shared when aliased.
    Map(Rc<Mapping>),
    /// A Python object dumped by the full `yaml.Dumper` as `!!python/object:CLASS` with its
    /// `__dict__` as a mapping. The loader never produces this; it exists so the emitter can
    /// reproduce what azure-ai-ml dumps for SDK model objects.
    Object(Rc<PyObject>),
}

/// A Python object as PyYAML's full representer writes it.
#[derive(Clone, Debug)]
pub struct PyObject {
    /// Dotted class path, e.g. `azure.ai.ml._restclient.arm_ml_service.models._models.Route`.
    pub class_path: String,
    /// The instance `__dict__`, in any order (the dump sorts it).
    pub state: Vec<(String, Value)>,
}

/// A Python `dict`: insertion-ordered pairs with Python key equality.
#[derive(Clone, Debug, Default)]
pub struct Mapping {
    entries: Vec<(Value, Value)>,
    /// Position of each string key (string keys are only ever equal to strings).
    str_index: HashMap<String, usize>,
}

impl Mapping {
    /// An empty `dict`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pairs in insertion order.
    pub fn entries(&self) -> &[(Value, Value)] {
        &self.entries
    }

    /// How many pairs the mapping holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the mapping holds no pair (Python: falsy).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value under a string key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.str_index
            .get(key)
            .and_then(|&i| self.entries.get(i))
            .map(|(_, v)| v)
    }

    /// `dict[key] = value`: an equal key keeps its place and its original key object.
    pub fn insert(&mut self, key: Value, value: Value) {
        if let Value::Str(s) = &key {
            if let Some(&i) = self.str_index.get(s) {
                self.entries[i].1 = value;
            } else {
                self.str_index.insert(s.clone(), self.entries.len());
                self.entries.push((key, value));
            }
            return;
        }
        if let Some(slot) = self.entries.iter_mut().find(|(k, _)| py_eq(k, &key)) {
            slot.1 = value;
        } else {
            self.entries.push((key, value));
        }
    }
}

/// A Python `int` of any size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Int {
    negative: bool,
    /// Base 1e9 limbs, least significant first, no trailing zero limbs (zero is empty).
    limbs: Vec<u32>,
}

const LIMB: u64 = 1_000_000_000;

impl Int {
    /// `0`.
    pub fn zero() -> Self {
        Self {
            negative: false,
            limbs: Vec::new(),
        }
    }

    /// The integer `v`.
    pub fn from_i64(v: i64) -> Self {
        let mut out = Self::zero();
        let mut m = v.unsigned_abs();
        while m > 0 {
            out.limbs.push((m % LIMB) as u32);
            m /= LIMB;
        }
        out.negative = v < 0;
        out
    }

    fn mul_add_small(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.limbs {
            let x = u64::from(*limb) * u64::from(mul) + carry;
            *limb = (x % LIMB) as u32;
            carry = x / LIMB;
        }
        while carry > 0 {
            self.limbs.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn negate_if(mut self, negative: bool) -> Self {
        self.negative = negative && !self.limbs.is_empty();
        self
    }

    /// Whether the value is `0` (Python: falsy).
    pub fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    /// The value if it fits an `i64`.
    pub fn to_i64(&self) -> Option<i64> {
        let mut m: i128 = 0;
        for limb in self.limbs.iter().rev() {
            m = m
                .checked_mul(i128::from(LIMB))?
                .checked_add(i128::from(*limb))?;
            if m > i128::from(i64::MAX) + 1 {
                return None;
            }
        }
        let v = if self.negative { -m } else { m };
        i64::try_from(v).ok()
    }

    fn cmp_int(&self, other: &Int) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => return Ordering::Greater,
            (true, false) => return Ordering::Less,
            _ => {}
        }
        let magnitude = self
            .limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()));
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.limbs.is_empty() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        let mut iter = self.limbs.iter().rev();
        if let Some(first) = iter.next() {
            write!(f, "{first}")?;
        }
        for limb in iter {
            write!(f, "{limb:09}")?;
        }
        Ok(())
    }
}

/// A `datetime.date` or `datetime.datetime`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timestamp {
    /// A `datetime.date`, from `YYYY-MM-DD`.
    Date {
        /// The year, 1 to 9999.
        year: u16,
        /// The month, 1 to 12.
        month: u8,
        /// The day of the month, from 1.
        day: u8,
    },
    /// A `datetime.datetime`, from a date followed by a time.
    DateTime {
        /// The year, 1 to 9999.
        year: u16,
        /// The month, 1 to 12.
        month: u8,
        /// The day of the month, from 1.
        day: u8,
        /// The hour, 0 to 23.
        hour: u8,
        /// The minute, 0 to 59.
        minute: u8,
        /// The second, 0 to 59.
        second: u8,
        /// The fraction of a second in microseconds (PyYAML keeps six digits).
        microsecond: u32,
        /// UTC offset in minutes; `None` for a naive datetime.
        offset_minutes: Option<i32>,
    },
}

impl Timestamp {
    /// Python's `isoformat()` for a date and `isoformat(' ')` for a datetime, which is what
    /// PyYAML's representer writes.
    pub fn iso(&self) -> String {
        match *self {
            Timestamp::Date { year, month, day } => format!("{year:04}-{month:02}-{day:02}"),
            Timestamp::DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                microsecond,
                offset_minutes,
            } => {
                let mut s =
                    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}");
                if microsecond != 0 {
                    let _ = write!(s, ".{microsecond:06}");
                }
                if let Some(off) = offset_minutes {
                    let sign = if off < 0 { '-' } else { '+' };
                    let a = off.unsigned_abs();
                    let _ = write!(s, "{sign}{:02}:{:02}", a / 60, a % 60);
                }
                s
            }
        }
    }

    /// Comparable key: (is datetime, aware, instant-ish tuple).
    fn sort_key(&self) -> (u8, i64, u32) {
        match *self {
            Timestamp::Date { year, month, day } => {
                (0, days_from_civil(year, month, day) * 86400, 0)
            }
            Timestamp::DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                microsecond,
                offset_minutes,
            } => {
                let secs = days_from_civil(year, month, day) * 86400
                    + i64::from(hour) * 3600
                    + i64::from(minute) * 60
                    + i64::from(second)
                    - i64::from(offset_minutes.unwrap_or(0)) * 60;
                (
                    if offset_minutes.is_some() { 2 } else { 1 },
                    secs,
                    microsecond,
                )
            }
        }
    }
}

fn days_from_civil(year: u16, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe
}

impl Value {
    /// Python truthiness (`if conda_file:`).
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => !i.is_zero(),
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Timestamp(_) | Value::Object(_) => true,
            Value::Seq(s) => !s.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }

    /// The Python type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Timestamp(t) => match **t {
                Timestamp::Date { .. } => "date",
                Timestamp::DateTime { .. } => "datetime",
            },
            Value::Seq(_) => "list",
            Value::Map(_) => "dict",
            Value::Object(_) => "object",
        }
    }

    /// The text of a `str`; `None` for any other type.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The `dict`; `None` for any other type.
    pub fn as_map(&self) -> Option<&Mapping> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
}

/// A number as Python compares numbers (`True == 1 == 1.0`).
enum Num<'a> {
    Int(&'a Int),
    Small(i64),
    Float(f64),
}

fn as_num(v: &Value) -> Option<Num<'_>> {
    match v {
        Value::Bool(b) => Some(Num::Small(i64::from(*b))),
        Value::Int(i) => Some(Num::Int(i)),
        Value::Float(f) => Some(Num::Float(*f)),
        _ => None,
    }
}

fn cmp_num(a: &Num<'_>, b: &Num<'_>) -> Option<Ordering> {
    fn int_of(n: &Num<'_>) -> Option<Int> {
        match n {
            Num::Int(i) => Some((*i).clone()),
            Num::Small(s) => Some(Int::from_i64(*s)),
            Num::Float(_) => None,
        }
    }
    match (a, b) {
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(y),
        (Num::Float(x), other) => cmp_num(other, &Num::Float(*x)).map(Ordering::reverse),
        (i, Num::Float(f)) => {
            let i = int_of(i)?;
            if f.is_nan() {
                return None;
            }
            if f.is_infinite() {
                return Some(if *f > 0.0 {
                    Ordering::Less
                } else {
                    Ordering::Greater
                });
            }
            // exact: compare with the integral part, then the fraction
            let fl = f.floor();
            let fl_int = parse_decimal_int(&format!("{fl:.0}"))?;
            match i.cmp_int(&fl_int) {
                Ordering::Equal if *f > fl => Some(Ordering::Less),
                other => Some(other),
            }
        }
        (x, y) => Some(int_of(x)?.cmp_int(&int_of(y)?)),
    }
}

fn parse_decimal_int(s: &str) -> Option<Int> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut out = Int::zero();
    for c in digits.chars() {
        out.mul_add_small(10, c.to_digit(10)?);
    }
    Some(out.negate_if(neg))
}

/// Python `a == b` for values that can be dict keys.
pub(crate) fn py_eq(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (as_num(a), as_num(b)) {
        return cmp_num(&x, &y) == Some(Ordering::Equal);
    }
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Timestamp(x), Value::Timestamp(y)) => {
            let (kx, ky) = (x.sort_key(), y.sort_key());
            kx.0 == ky.0 && kx == ky
        }
        _ => false,
    }
}

/// Python `a < b` ordering for sorting dict keys; `Err` with the two type names where Python
/// raises `TypeError`.
pub(crate) fn py_cmp(a: &Value, b: &Value) -> Result<Ordering, (&'static str, &'static str)> {
    let incomparable = || (a.type_name(), b.type_name());
    if let (Some(x), Some(y)) = (as_num(a), as_num(b)) {
        // NaN sorts last so the order stays total (Python's own result is arbitrary there)
        let nan = |n: &Num<'_>| matches!(n, Num::Float(f) if f.is_nan());
        return Ok(match (nan(&x), nan(&y)) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => cmp_num(&x, &y).unwrap_or(Ordering::Equal),
        });
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        (Value::Timestamp(x), Value::Timestamp(y)) => {
            let (kx, ky) = (x.sort_key(), y.sort_key());
            if kx.0 != ky.0 {
                return Err(incomparable());
            }
            Ok(kx.cmp(&ky))
        }
        _ => Err(incomparable()),
    }
}

/// Why a text is not what `yaml.safe_load` accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct Yaml11Error {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong there.
    pub kind: Yaml11ErrorKind,
}

/// What is wrong in a text `yaml.safe_load` refuses (or envaudit does not read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Yaml11ErrorKind {
    /// The YAML syntax is invalid; holds the parser's message.
    #[error("{0}")]
    Syntax(String),
    /// A character PyYAML's reader refuses (control characters, for instance); holds its
    /// code point.
    #[error("unacceptable character U+{0:04X}: special characters are not allowed")]
    UnacceptableCharacter(u32),
    /// The stream holds more than one document.
    #[error("expected a single document in the stream")]
    MultipleDocuments,
    /// A tag no `SafeConstructor` constructor handles (such as `!custom` or
    /// `!!python/tuple`); holds the tag.
    #[error("could not determine a constructor for the tag `{0}`")]
    UnknownTag(String),
    /// A tag PyYAML reads but envaudit does not (`!!binary`, `!!set`, `!!omap`, `!!pairs`);
    /// holds the tag.
    #[error("the tag `{0}` is not supported by envaudit")]
    UnsupportedTag(String),
    /// A scalar explicitly tagged with a core tag is not a value of that type
    /// (`!!int x`).
    #[error("invalid `{tag}` value `{value}`")]
    InvalidValue {
        /// The tag, such as `!!int`.
        tag: String,
        /// The scalar's text.
        value: String,
    },
    /// A mapping key is a list or a mapping, which Python cannot hash.
    #[error("found unhashable key")]
    UnhashableKey,
    /// A Unicode line break (U+0085, U+2028, U+2029) outside a quoted scalar, which PyYAML
    /// (YAML 1.1) reads as a line break and the event parser does not; holds its code point.
    #[error("U+{0:04X} is a line break for PyYAML (YAML 1.1) here; envaudit does not read it")]
    UnicodeLineBreak(u32),
    /// An anchor name is defined twice; holds the name.
    #[error("found duplicate anchor `{0}`")]
    DuplicateAnchor(String),
    /// A double-quoted string escapes a UTF-16 surrogate.
    #[error("escaped UTF-16 surrogates (`\\uD800`-`\\uDFFF`) are not supported")]
    SurrogateEscape,
    /// An alias refers to a node that contains it.
    #[error("recursive aliases are not supported")]
    RecursiveAlias,
    /// A `<<` merge key's value is neither a mapping nor a list of mappings.
    #[error("expected a mapping or list of mappings for merging")]
    BadMerge,
    /// A core collection or scalar tag is put on the wrong kind of node (`!!map [1]`).
    #[error("expected a {expected} node for the tag `{tag}`")]
    WrongNodeKind {
        /// The tag, such as `!!map`.
        tag: String,
        /// The node kind the tag needs: `mapping`, `sequence` or `scalar`.
        expected: &'static str,
    },
}

/// Decode as Python's `open(path, encoding="utf-8-sig")` does: drop one leading BOM and turn
/// `\r\n` and lone `\r` into `\n` (universal newlines).
pub fn python_text(raw: &str) -> String {
    let s = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    if !s.contains('\r') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

/// `yaml.safe_load(text)` for text already decoded as Python reads it (see [`python_text`]).
pub fn safe_load(text: &str) -> Result<Value, Yaml11Error> {
    check_printable(text)?;
    let root = compose(text)?;
    match root {
        None => Ok(Value::Null),
        Some(node) => Constructor::default().construct(&node),
    }
}

/// Each character with its index (in characters) and 1-based line and column.
fn positioned(
    chars: impl Iterator<Item = char>,
) -> impl Iterator<Item = (usize, char, usize, usize)> {
    chars.enumerate().scan((1, 1), |pos, (i, c)| {
        let (line, column) = *pos;
        *pos = if c == '\n' {
            (line + 1, 1)
        } else {
            (line, column + 1)
        };
        Some((i, c, line, column))
    })
}

fn check_printable(text: &str) -> Result<(), Yaml11Error> {
    for (_, c, line, column) in positioned(text.chars()) {
        let ok = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}');
        if !ok {
            return Err(Yaml11Error {
                line,
                column,
                kind: Yaml11ErrorKind::UnacceptableCharacter(u32::from(c)),
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Composition: events to a node graph (aliases share the node).

#[derive(Debug)]
enum NodeBody {
    Scalar { value: String, plain: bool },
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
}

#[derive(Debug)]
struct Node {
    /// Full tag as written (`tag:yaml.org,2002:int`, `!`, `!foo`), or none.
    tag: Option<String>,
    body: NodeBody,
    line: usize,
    column: usize,
}

enum Frame {
    Seq {
        anchor: usize,
        tag: Option<String>,
        items: Vec<Rc<Node>>,
        line: usize,
        column: usize,
    },
    Map {
        anchor: usize,
        tag: Option<String>,
        items: Vec<Rc<Node>>,
        line: usize,
        column: usize,
    },
}

fn scan_error(e: &ScanError) -> Yaml11Error {
    Yaml11Error {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        kind: Yaml11ErrorKind::Syntax(e.info()),
    }
}

fn tag_string(tag: Option<&serde_saphyr::granit_parser::Tag>) -> Option<String> {
    tag.map(|t| format!("{}{}", t.handle(), t.suffix()))
}

fn compose(text: &str) -> Result<Option<Rc<Node>>, Yaml11Error> {
    let options = serde_saphyr::granit_parser::options! {
        block_scalar_eof_without_line_feed: true,
        emit_anchor_events: true,
    };
    // PyYAML only skips spaces between tokens: a tab anywhere but inside a quoted or block
    // scalar or a comment is an error there. Collect where tabs are allowed (char offsets).
    let mut tab_ok: Vec<(usize, usize)> = Vec::new();
    // PyYAML also breaks lines at NEL, LS and PS (YAML 1.1); they are only safe to read the
    // YAML 1.2 way inside quoted scalars, or at the very end of a comment line
    let mut quoted: Vec<(usize, usize)> = Vec::new();
    let mut comments: Vec<(usize, usize)> = Vec::new();
    let mut anchor_names: HashMap<String, (usize, usize)> = HashMap::new();
    let parser = Parser::new_from_str_with_options(text, options);
    let mut anchors: HashMap<usize, Rc<Node>> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Rc<Node>> = None;
    let mut documents = 0usize;
    for item in parser {
        let (event, span) = item.map_err(|e| scan_error(&e))?;
        let (line, column) = (span.start.line(), span.start.col() + 1);
        match &event {
            Event::Comment(..) => {
                tab_ok.push((span.start.index(), span.end.index()));
                comments.push((span.start.index(), span.end.index()));
            }
            Event::Scalar(_, style, ..) if *style != ScalarStyle::Plain => {
                tab_ok.push((span.start.index(), span.end.index()));
                if matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) {
                    quoted.push((span.start.index(), span.end.index()));
                }
                if *style == ScalarStyle::DoubleQuoted
                    && has_surrogate_escape(text, span.start.index(), span.end.index())
                {
                    return Err(Yaml11Error {
                        line,
                        column,
                        kind: Yaml11ErrorKind::SurrogateEscape,
                    });
                }
            }
            Event::Anchor(_, name)
                if anchor_names
                    .insert(name.to_string(), (line, column))
                    .is_some() =>
            {
                return Err(Yaml11Error {
                    line,
                    column,
                    kind: Yaml11ErrorKind::DuplicateAnchor(name.to_string()),
                });
            }
            _ => {}
        }
        let node = match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(Yaml11Error {
                        line,
                        column,
                        kind: Yaml11ErrorKind::MultipleDocuments,
                    });
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let node = Rc::new(Node {
                    tag: tag_string(tag.as_deref()),
                    body: NodeBody::Scalar {
                        value: value.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                    line,
                    column,
                });
                if anchor != 0 {
                    anchors.insert(anchor, Rc::clone(&node));
                }
                node
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => Rc::clone(n),
                None => {
                    return Err(Yaml11Error {
                        line,
                        column,
                        kind: Yaml11ErrorKind::RecursiveAlias,
                    });
                }
            },
            Event::SequenceStart(_, anchor, tag) => {
                stack.push(Frame::Seq {
                    anchor,
                    tag: tag_string(tag.as_deref()),
                    items: Vec::new(),
                    line,
                    column,
                });
                continue;
            }
            Event::MappingStart(_, anchor, tag) => {
                stack.push(Frame::Map {
                    anchor,
                    tag: tag_string(tag.as_deref()),
                    items: Vec::new(),
                    line,
                    column,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else { continue };
                let (anchor, node) = match frame {
                    Frame::Seq {
                        anchor,
                        tag,
                        items,
                        line,
                        column,
                    } => (
                        anchor,
                        Node {
                            tag,
                            body: NodeBody::Seq(items),
                            line,
                            column,
                        },
                    ),
                    Frame::Map {
                        anchor,
                        tag,
                        items,
                        line,
                        column,
                    } => {
                        let mut pairs = Vec::with_capacity(items.len() / 2);
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            pairs.push((k, v));
                        }
                        (
                            anchor,
                            Node {
                                tag,
                                body: NodeBody::Map(pairs),
                                line,
                                column,
                            },
                        )
                    }
                };
                let node = Rc::new(node);
                if anchor != 0 {
                    anchors.insert(anchor, Rc::clone(&node));
                }
                node
            }
            _ => continue,
        };
        match stack.last_mut() {
            Some(Frame::Seq { items, .. } | Frame::Map { items, .. }) => items.push(node),
            None => root = Some(node),
        }
    }
    check_tabs(text, &mut tab_ok)?;
    check_unicode_breaks(text, &quoted, &comments)?;
    Ok(root)
}

fn check_unicode_breaks(
    text: &str,
    quoted: &[(usize, usize)],
    comments: &[(usize, usize)],
) -> Result<(), Yaml11Error> {
    let is_break = |c: char| matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}');
    if !text.contains(is_break) {
        return Ok(());
    }
    let chars: Vec<char> = text.chars().collect();
    let within = |ranges: &[(usize, usize)], i: usize| ranges.iter().any(|&(a, b)| a <= i && i < b);
    for (i, c, line, column) in positioned(chars.iter().copied()) {
        if is_break(c) && !within(quoted, i) {
            let rest_blank = chars[i + 1..]
                .iter()
                .take_while(|&&c| c != '\n')
                .all(|&c| c == ' ' || is_break(c));
            let comment_end =
                (within(comments, i) || within(comments, i.saturating_sub(1))) && rest_blank;
            if !comment_end {
                return Err(Yaml11Error {
                    line,
                    column,
                    kind: Yaml11ErrorKind::UnicodeLineBreak(u32::from(c)),
                });
            }
        }
    }
    Ok(())
}

/// Whether a double-quoted scalar's source (char range) escapes a UTF-16 surrogate
/// (`"\ud83d\ude00"`): PyYAML keeps each as a lone surrogate code point, which a Rust
/// string cannot hold, so such input is refused rather than read differently.
fn has_surrogate_escape(text: &str, start: usize, end: usize) -> bool {
    if !text.contains("\\u") && !text.contains("\\U") {
        return false;
    }
    let chars: Vec<char> = text
        .chars()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' {
            i += 1;
            continue;
        }
        let width = match chars.get(i + 1) {
            Some('u') => 4,
            Some('U') => 8,
            _ => {
                i += 2; // any other escape, including `\\`
                continue;
            }
        };
        let hex: String = chars.iter().skip(i + 2).take(width).collect();
        if let Ok(code) = u32::from_str_radix(&hex, 16)
            && (0xd800..=0xdfff).contains(&code)
        {
            return true;
        }
        i += 2;
    }
    false
}

fn check_tabs(text: &str, allowed: &mut [(usize, usize)]) -> Result<(), Yaml11Error> {
    if !text.contains('\t') {
        return Ok(());
    }
    allowed.sort_unstable();
    let mut next = 0;
    for (i, c, line, column) in positioned(text.chars()) {
        if c == '\t' {
            while next < allowed.len() && allowed[next].1 <= i {
                next += 1;
            }
            let inside = allowed[next..]
                .iter()
                .take_while(|r| r.0 <= i)
                .any(|r| i < r.1);
            if !inside {
                return Err(Yaml11Error {
                    line,
                    column,
                    kind: Yaml11ErrorKind::Syntax(
                        "found character `\\t` that cannot start any token".to_owned(),
                    ),
                });
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Resolution (PyYAML's implicit resolvers, YAML 1.1).

/// The tag PyYAML's resolver gives a plain scalar.
pub(crate) fn resolve_plain(value: &str) -> &'static str {
    // Python's `$` also matches before one trailing newline.
    let v = value.strip_suffix('\n').unwrap_or(value);
    let Some(first) = v.chars().next() else {
        return "null";
    };
    let candidates: &[&'static str] = match first {
        'y' | 'Y' | 'n' | 'N' | 't' | 'T' | 'f' | 'F' | 'o' | 'O' => &["bool", "null"],
        '-' | '+' | '.' => &["float", "int"],
        '0'..='9' => &["float", "int", "timestamp"],
        '<' => &["merge"],
        '~' => &["null"],
        '=' => &["value"],
        _ => &[],
    };
    for tag in candidates {
        let hit = match *tag {
            "bool" => is_bool(v),
            "null" => matches!(v, "~" | "null" | "Null" | "NULL"),
            "float" => is_float(v),
            "int" => is_int(v),
            "timestamp" => parse_timestamp_fields(v, true).is_some(),
            "merge" => v == "<<",
            "value" => v == "=",
            _ => false,
        };
        if hit {
            return tag;
        }
    }
    "str"
}

fn is_bool(v: &str) -> bool {
    matches!(
        v,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// A tiny cursor over ASCII bytes for the hand-written resolver patterns.
struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn new(s: &'a str) -> Self {
        Self {
            s: s.as_bytes(),
            i: 0,
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn eat_if(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(b) if f(b) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    fn eat_while(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat_if(&f) {}
        self.i - start
    }
    fn sign(&mut self) {
        let _ = self.eat(b'-') || self.eat(b'+');
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
    fn rest(&self) -> &'a [u8] {
        &self.s[self.i..]
    }
}

fn digit_(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// `(?::[0-5]?[0-9])+` then the end or whatever `tail` accepts.
fn sexagesimal_tail(c: &mut Cur<'_>) -> bool {
    let mut any = false;
    loop {
        let save = c.i;
        if !c.eat(b':') {
            break;
        }
        // [0-5]?[0-9]: try two digits (first 0-5), else one digit
        let r = c.rest();
        let two = r.len() >= 2 && (b'0'..=b'5').contains(&r[0]) && r[1].is_ascii_digit();
        let one = !r.is_empty() && r[0].is_ascii_digit();
        if two && (r.len() == 2 || !r[2].is_ascii_digit()) {
            c.i += 2;
        } else if one && (r.len() == 1 || !r[1].is_ascii_digit()) {
            c.i += 1;
        } else if two {
            c.i += 2;
        } else {
            c.i = save;
            break;
        }
        any = true;
    }
    any
}

fn is_int(v: &str) -> bool {
    let alts: [fn(&mut Cur<'_>) -> bool; 5] = [
        |c| {
            c.sign();
            c.eat(b'0') && c.eat(b'b') && c.eat_while(|b| b == b'0' || b == b'1' || b == b'_') > 0
        },
        |c| {
            c.sign();
            c.eat(b'0') && c.eat_while(|b| (b'0'..=b'7').contains(&b) || b == b'_') > 0
        },
        |c| {
            c.sign();
            if c.eat(b'0') {
                return true;
            }
            c.eat_if(|b| (b'1'..=b'9').contains(&b)) && {
                c.eat_while(digit_);
                true
            }
        },
        |c| {
            c.sign();
            c.eat(b'0') && c.eat(b'x') && c.eat_while(|b| b.is_ascii_hexdigit() || b == b'_') > 0
        },
        |c| {
            c.sign();
            c.eat_if(|b| (b'1'..=b'9').contains(&b)) && {
                c.eat_while(digit_);
                sexagesimal_tail(c)
            }
        },
    ];
    alts.iter().any(|alt| {
        let mut c = Cur::new(v);
        alt(&mut c) && c.done()
    })
}

fn exponent(c: &mut Cur<'_>) {
    let save = c.i;
    if c.eat_if(|b| b == b'e' || b == b'E')
        && c.eat_if(|b| b == b'-' || b == b'+')
        && c.eat_while(|b| b.is_ascii_digit()) > 0
    {
        return;
    }
    c.i = save;
}

fn is_float(v: &str) -> bool {
    let alts: [fn(&mut Cur<'_>) -> bool; 5] = [
        |c| {
            c.sign();
            c.eat_if(|b| b.is_ascii_digit()) && {
                c.eat_while(digit_);
                c.eat(b'.') && {
                    c.eat_while(digit_);
                    exponent(c);
                    true
                }
            }
        },
        |c| {
            c.eat(b'.') && c.eat_if(|b| b.is_ascii_digit()) && {
                c.eat_while(digit_);
                exponent(c);
                true
            }
        },
        |c| {
            c.sign();
            c.eat_if(|b| b.is_ascii_digit()) && {
                c.eat_while(digit_);
                sexagesimal_tail(c) && c.eat(b'.') && {
                    c.eat_while(digit_);
                    true
                }
            }
        },
        |c| {
            c.sign();
            c.eat(b'.') && matches!(c.rest(), b"inf" | b"Inf" | b"INF") && {
                c.i = c.s.len();
                true
            }
        },
        |c| {
            c.eat(b'.') && matches!(c.rest(), b"nan" | b"NaN" | b"NAN") && {
                c.i = c.s.len();
                true
            }
        },
    ];
    alts.iter().any(|alt| {
        let mut c = Cur::new(v);
        alt(&mut c) && c.done()
    })
}

/// Fields of PyYAML's timestamp patterns. `strict` is the resolver's pattern (a bare date
/// needs two-digit month and day); otherwise the constructor's looser one.
#[derive(Debug, Default)]
struct TsFields {
    year: u32,
    month: u32,
    day: u32,
    time: Option<(u32, u32, u32, String)>,
    tz: Zone,
}

/// The time zone of a timestamp.
#[derive(Debug, Default)]
enum Zone {
    /// None written.
    #[default]
    Naive,
    /// `Z`.
    Utc,
    /// `+h[:mm]` or `-h[:mm]`: whether negative, hours, minutes.
    Offset(bool, u32, u32),
}

fn parse_timestamp_fields(v: &str, strict: bool) -> Option<TsFields> {
    let mut c = Cur::new(v);
    let num = |c: &mut Cur<'_>, min: usize, max: usize| -> Option<u32> {
        let start = c.i;
        while c.i - start < max && c.eat_if(|b| b.is_ascii_digit()) {}
        if c.i - start < min {
            return None;
        }
        std::str::from_utf8(&c.s[start..c.i]).ok()?.parse().ok()
    };
    let mut f = TsFields {
        year: num(&mut c, 4, 4)?,
        ..TsFields::default()
    };
    if !c.eat(b'-') {
        return None;
    }
    let m_start = c.i;
    f.month = num(&mut c, 1, 2)?;
    let m_len = c.i - m_start;
    if !c.eat(b'-') {
        return None;
    }
    let d_start = c.i;
    f.day = num(&mut c, 1, 2)?;
    let d_len = c.i - d_start;
    if c.done() {
        return (!strict || (m_len == 2 && d_len == 2)).then_some(f);
    }
    // time part
    if !(c.eat(b'T') || c.eat(b't')) && c.eat_while(|b| b == b' ' || b == b'\t') == 0 {
        return None;
    }
    let hour = num(&mut c, 1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = num(&mut c, 2, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let second = num(&mut c, 2, 2)?;
    let mut fraction = String::new();
    if c.eat(b'.') {
        let start = c.i;
        c.eat_while(|b| b.is_ascii_digit());
        fraction = String::from_utf8_lossy(&c.s[start..c.i]).into_owned();
    }
    f.time = Some((hour, minute, second, fraction));
    if c.done() {
        return Some(f);
    }
    c.eat_while(|b| b == b' ' || b == b'\t');
    if c.eat(b'Z') {
        f.tz = Zone::Utc;
    } else {
        let negative = if c.eat(b'-') {
            true
        } else if c.eat(b'+') {
            false
        } else {
            return None;
        };
        let h = num(&mut c, 1, 2)?;
        let mut m = 0;
        if c.eat(b':') {
            m = num(&mut c, 2, 2)?;
        }
        f.tz = Zone::Offset(negative, h, m);
    }
    c.done().then_some(f)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

fn construct_timestamp(v: &str) -> Option<Timestamp> {
    let v = v.strip_suffix('\n').unwrap_or(v);
    let f = parse_timestamp_fields(v, false)?;
    if !(1..=9999).contains(&f.year)
        || !(1..=12).contains(&f.month)
        || f.day < 1
        || f.day > days_in_month(f.year, f.month)
    {
        return None;
    }
    // In range: checked above.
    let (year, month, day) = (
        u16::try_from(f.year).ok()?,
        u8::try_from(f.month).ok()?,
        u8::try_from(f.day).ok()?,
    );
    let Some((hour, minute, second, fraction)) = f.time else {
        return Some(Timestamp::Date { year, month, day });
    };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut frac: String = fraction.chars().take(6).collect();
    while !frac.is_empty() && frac.len() < 6 {
        frac.push('0');
    }
    let microsecond = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let offset_minutes = match f.tz {
        Zone::Naive => None,
        Zone::Utc => Some(0),
        Zone::Offset(negative, h, m) => {
            let total = i32::try_from(h * 60 + m).ok()?;
            if total >= 24 * 60 {
                return None;
            }
            Some(if negative { -total } else { total })
        }
    };
    Some(Timestamp::DateTime {
        year,
        month,
        day,
        hour: u8::try_from(hour).ok()?,
        minute: u8::try_from(minute).ok()?,
        second: u8::try_from(second).ok()?,
        microsecond,
        offset_minutes,
    })
}

/// Python `int(s, base)` (whitespace, sign, optional matching prefix); `_` already removed.
fn python_int(s: &str, base: u32) -> Option<Int> {
    let s = s.trim_matches(|c: char| c.is_whitespace());
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = s.to_ascii_lowercase();
    let digits = match base {
        2 => lower.strip_prefix("0b").unwrap_or(&lower),
        8 => lower.strip_prefix("0o").unwrap_or(&lower),
        16 => lower.strip_prefix("0x").unwrap_or(&lower),
        _ => &lower,
    };
    if digits.is_empty() {
        return None;
    }
    let mut out = Int::zero();
    for c in digits.chars() {
        out.mul_add_small(base, c.to_digit(base)?);
    }
    Some(out.negate_if(negative))
}

/// PyYAML's `construct_yaml_int`.
fn construct_int(raw: &str) -> Option<Int> {
    let mut value: String = raw.chars().filter(|&c| c != '_').collect();
    let mut negative = false;
    match value.chars().next()? {
        '-' => {
            negative = true;
            value.remove(0);
        }
        '+' => {
            value.remove(0);
        }
        _ => {}
    }
    let int = if value == "0" {
        Int::zero()
    } else if let Some(rest) = value.strip_prefix("0b") {
        python_int(rest, 2)?
    } else if let Some(rest) = value.strip_prefix("0x") {
        python_int(rest, 16)?
    } else if value.starts_with('0') {
        python_int(&value, 8)?
    } else if value.contains(':') {
        let mut acc = Int::zero();
        for part in value.split(':') {
            let p = python_int(part, 10)?;
            // Horner: acc * 60 + part, all parts non-negative here
            let mut next = p.clone();
            if !acc.is_zero() {
                let mut a = acc.clone();
                a.mul_add_small(60, 0);
                next = add_nonneg(&a, &p)?;
            }
            acc = next;
        }
        acc
    } else {
        python_int(&value, 10)?
    };
    let negative = negative != int.negative;
    Some(
        Int {
            negative: false,
            limbs: int.limbs,
        }
        .negate_if(negative),
    )
}

fn add_nonneg(a: &Int, b: &Int) -> Option<Int> {
    if a.negative || b.negative {
        return None;
    }
    let mut limbs = Vec::with_capacity(a.limbs.len().max(b.limbs.len()) + 1);
    let mut carry = 0u64;
    for i in 0..a.limbs.len().max(b.limbs.len()) {
        let x = u64::from(*a.limbs.get(i).unwrap_or(&0))
            + u64::from(*b.limbs.get(i).unwrap_or(&0))
            + carry;
        limbs.push((x % LIMB) as u32);
        carry = x / LIMB;
    }
    if carry > 0 {
        limbs.push(u32::try_from(carry).ok()?);
    }
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    Some(Int {
        negative: false,
        limbs,
    })
}

/// Python `float(s)` for what PyYAML passes it (Rust's parser accepts the same spellings:
/// sign, `inf`/`infinity`/`nan` in any case, `1.`, `.5`, exponents).
fn python_float(s: &str) -> Option<f64> {
    s.trim_matches(|c: char| c.is_whitespace())
        .parse::<f64>()
        .ok()
}

/// PyYAML's `construct_yaml_float`.
#[allow(
    clippy::cast_precision_loss,
    reason = "Python's `float * int` converts the int to the nearest float, as `as f64` does"
)]
fn construct_float(raw: &str) -> Option<f64> {
    let mut value: String = raw
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .to_lowercase();
    let mut sign = 1.0;
    match value.chars().next()? {
        '-' => {
            sign = -1.0;
            value.remove(0);
        }
        '+' => {
            value.remove(0);
        }
        _ => {}
    }
    if value == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if value == ".nan" {
        return Some(f64::NAN);
    }
    if value.contains(':') {
        let digits: Vec<f64> = value
            .split(':')
            .map(python_float)
            .collect::<Option<Vec<_>>>()?;
        let mut total = 0.0;
        let mut base: u128 = 1;
        let mut base_f = 1.0f64;
        let mut exact = true;
        for d in digits.iter().rev() {
            let b = if exact { base as f64 } else { base_f };
            total += d * b;
            if exact {
                if let Some(nb) = base.checked_mul(60) {
                    base = nb;
                } else {
                    exact = false;
                    base_f = base as f64 * 60.0;
                }
            } else {
                base_f *= 60.0;
            }
        }
        return Some(sign * total);
    }
    Some(sign * python_float(&value)?)
}

// ---------------------------------------------------------------------------------------
// Construction.

#[derive(Default)]
struct Constructor {
    done: HashMap<*const Node, Value>,
}

fn err(node: &Node, kind: Yaml11ErrorKind) -> Yaml11Error {
    Yaml11Error {
        line: node.line,
        column: node.column,
        kind,
    }
}

/// The tag a node resolves to (short core suffix for core tags, else the full tag).
fn node_tag(node: &Node) -> String {
    let specific = match node.tag.as_deref() {
        None | Some("!") => None,
        Some(t) => Some(t),
    };
    match (&node.body, specific) {
        (_, Some(t)) => match t.strip_prefix(CORE) {
            Some(suffix) => suffix.to_owned(),
            None => t.to_owned(),
        },
        (NodeBody::Scalar { value, plain }, None) => {
            if *plain || node.tag.as_deref() == Some("!") {
                resolve_plain(value).to_owned()
            } else {
                "str".to_owned()
            }
        }
        (NodeBody::Seq(_), None) => "seq".to_owned(),
        (NodeBody::Map(_), None) => "map".to_owned(),
    }
}

fn display_tag(tag: &str) -> String {
    if tag.contains(':') || tag.starts_with('!') {
        tag.to_owned()
    } else {
        format!("{CORE}{tag}")
    }
}

impl Constructor {
    fn construct(&mut self, node: &Rc<Node>) -> Result<Value, Yaml11Error> {
        let key = Rc::as_ptr(node);
        if let Some(v) = self.done.get(&key) {
            return Ok(v.clone());
        }
        let value = self.construct_new(node)?;
        self.done.insert(key, value.clone());
        Ok(value)
    }

    fn construct_new(&mut self, node: &Rc<Node>) -> Result<Value, Yaml11Error> {
        let tag = node_tag(node);
        match (&node.body, tag.as_str()) {
            (NodeBody::Scalar { value, .. }, t) => Self::construct_scalar(node, value, t),
            (NodeBody::Seq(items), "seq") => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.construct(item)?);
                }
                Ok(Value::Seq(Rc::new(out)))
            }
            (NodeBody::Map(_), "map") => {
                let pairs = flatten(node)?;
                let mut map = Mapping::new();
                for (k, v) in &pairs {
                    let key = if node_tag(k) == "value" {
                        // PyYAML retags a `=` key as a string while flattening
                        match &k.body {
                            NodeBody::Scalar { value, .. } => Value::Str(value.clone()),
                            _ => return Err(err(k, Yaml11ErrorKind::UnhashableKey)),
                        }
                    } else {
                        self.construct(k)?
                    };
                    if matches!(key, Value::Seq(_) | Value::Map(_) | Value::Object(_)) {
                        return Err(err(k, Yaml11ErrorKind::UnhashableKey));
                    }
                    let value = self.construct(v)?;
                    map.insert(key, value);
                }
                Ok(Value::Map(Rc::new(map)))
            }
            (_, t @ ("binary" | "set" | "omap" | "pairs")) => {
                Err(err(node, Yaml11ErrorKind::UnsupportedTag(display_tag(t))))
            }
            (
                NodeBody::Seq(_),
                t @ ("map" | "str" | "int" | "float" | "bool" | "null" | "timestamp"),
            ) => Err(err(
                node,
                Yaml11ErrorKind::WrongNodeKind {
                    tag: display_tag(t),
                    expected: if t == "map" { "mapping" } else { "scalar" },
                },
            )),
            (
                NodeBody::Map(_),
                t @ ("seq" | "str" | "int" | "float" | "bool" | "null" | "timestamp"),
            ) => Err(err(
                node,
                Yaml11ErrorKind::WrongNodeKind {
                    tag: display_tag(t),
                    expected: if t == "seq" { "sequence" } else { "scalar" },
                },
            )),
            (_, t) => Err(err(node, Yaml11ErrorKind::UnknownTag(display_tag(t)))),
        }
    }

    fn construct_scalar(node: &Node, value: &str, tag: &str) -> Result<Value, Yaml11Error> {
        let invalid = || {
            err(
                node,
                Yaml11ErrorKind::InvalidValue {
                    tag: display_tag(tag),
                    value: value.to_owned(),
                },
            )
        };
        match tag {
            "str" => Ok(Value::Str(value.to_owned())),
            "null" => Ok(Value::Null),
            "bool" => match value.to_lowercase().as_str() {
                "yes" | "true" | "on" => Ok(Value::Bool(true)),
                "no" | "false" | "off" => Ok(Value::Bool(false)),
                _ => Err(invalid()),
            },
            "int" => construct_int(value).map(Value::Int).ok_or_else(invalid),
            "float" => construct_float(value).map(Value::Float).ok_or_else(invalid),
            "timestamp" => construct_timestamp(value)
                .map(|t| Value::Timestamp(Rc::new(t)))
                .ok_or_else(invalid),
            "binary" | "set" | "omap" | "pairs" => {
                Err(err(node, Yaml11ErrorKind::UnsupportedTag(display_tag(tag))))
            }
            "seq" | "map" => Err(err(
                node,
                Yaml11ErrorKind::WrongNodeKind {
                    tag: display_tag(tag),
                    expected: if tag == "seq" { "sequence" } else { "mapping" },
                },
            )),
            other => Err(err(node, Yaml11ErrorKind::UnknownTag(display_tag(other)))),
        }
    }
}

type Pairs = Vec<(Rc<Node>, Rc<Node>)>;

/// PyYAML's `flatten_mapping`: merged pairs first (later merge sources first), then the
/// mapping's own pairs without the `<<` keys.
fn flatten(node: &Node) -> Result<Pairs, Yaml11Error> {
    let NodeBody::Map(pairs) = &node.body else {
        return Ok(Vec::new());
    };
    let mut merge: Pairs = Vec::new();
    let mut own: Pairs = Vec::new();
    for (k, v) in pairs {
        if node_tag(k) == "merge" {
            match &v.body {
                NodeBody::Map(_) => merge.extend(flatten(v)?),
                NodeBody::Seq(items) => {
                    let mut sub = Vec::new();
                    for item in items {
                        if !matches!(item.body, NodeBody::Map(_)) {
                            return Err(err(item, Yaml11ErrorKind::BadMerge));
                        }
                        sub.push(flatten(item)?);
                    }
                    for s in sub.into_iter().rev() {
                        merge.extend(s);
                    }
                }
                NodeBody::Scalar { .. } => return Err(err(v, Yaml11ErrorKind::BadMerge)),
            }
        } else {
            own.push((Rc::clone(k), Rc::clone(v)));
        }
    }
    merge.extend(own);
    Ok(merge)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(s: &str) -> Value {
        safe_load(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn scalar(s: &str) -> Value {
        let v = load(&format!("k: {s}\n"));
        v.as_map()
            .and_then(|m| m.get("k"))
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn show(v: &Value) -> String {
        match v {
            Value::Null => "None".into(),
            Value::Bool(b) => {
                if *b {
                    "True".into()
                } else {
                    "False".into()
                }
            }
            Value::Int(i) => format!("int {i}"),
            Value::Float(f) => format!("float {f:?}"),
            Value::Str(s) => format!("str {s:?}"),
            Value::Timestamp(t) => format!("ts {}", t.iso()),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn plain_scalars_resolve_with_yaml_1_1_rules() {
        let cases = [
            ("yes", "True"),
            ("Off", "False"),
            ("y", "str \"y\""),
            ("n", "str \"n\""),
            ("3.10", "float 3.1"),
            ("012", "int 10"),
            ("0o17", "str \"0o17\""),
            ("0x1F", "int 31"),
            ("0b101", "int 5"),
            ("1:30", "int 90"),
            ("1_000", "int 1000"),
            ("1:30.5", "float 90.5"),
            ("1e3", "str \"1e3\""),
            ("1.0e+3", "float 1000.0"),
            (".inf", "float inf"),
            ("-.INF", "float -inf"),
            ("~", "None"),
            ("", "None"),
            ("2021-01-02", "ts 2021-01-02"),
            (
                "2001-12-14t21:59:43.10-05:00",
                "ts 2001-12-14 21:59:43.100000-05:00",
            ),
            ("2021-1-2", "str \"2021-1-2\""),
            (
                "123456789012345678901234567890",
                "int 123456789012345678901234567890",
            ),
            ("'123'", "str \"123\""),
            ("! 123", "int 123"),
            ("!!str 123", "str \"123\""),
            ("!!int 0o17", "int 15"),
            ("!!float 1e3", "float 1000.0"),
        ];
        for (input, expected) in cases {
            assert_eq!(show(&scalar(input)), expected, "{input}");
        }
    }

    #[test]
    fn value_indicator_as_value_is_rejected_like_pyyaml() {
        assert!(matches!(
            safe_load("a: =\n").map_err(|e| e.kind),
            Err(Yaml11ErrorKind::UnknownTag(_))
        ));
    }

    #[test]
    fn duplicate_numeric_keys_keep_the_first_key_and_the_last_value() {
        let v = load("1: a\n1.0: b\ntrue: c\n");
        let m = v.as_map().map(|m| m.entries().to_vec()).unwrap_or_default();
        assert_eq!(m.len(), 1);
        assert_eq!(show(&m[0].0), "int 1");
        assert_eq!(show(&m[0].1), "str \"c\"");
    }

    #[test]
    fn merge_keys_put_merged_pairs_first_and_own_values_win() {
        let v = load("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n");
        let d = v
            .as_map()
            .and_then(|m| m.get("d"))
            .and_then(Value::as_map)
            .cloned();
        let d = d.map(|m| {
            m.entries()
                .iter()
                .map(|(k, v)| format!("{}={}", show(k), show(v)))
                .collect::<Vec<_>>()
        });
        assert_eq!(
            d,
            Some(vec![
                "str \"x\"=int 1".to_owned(),
                "str \"y\"=int 3".to_owned()
            ])
        );
    }

    #[test]
    fn aliased_collections_are_the_same_object() {
        let v = load("a: &x [1]\nb: *x\n");
        let m = v.as_map().cloned().unwrap_or_default();
        match (m.get("a"), m.get("b")) {
            (Some(Value::Seq(a)), Some(Value::Seq(b))) => assert!(Rc::ptr_eq(a, b)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_second_document_is_rejected() {
        assert!(matches!(
            safe_load("a: 1\n---\nb: 2\n").map_err(|e| e.kind),
            Err(Yaml11ErrorKind::MultipleDocuments)
        ));
    }

    #[test]
    fn control_characters_are_rejected_as_pyyaml_reader_does() {
        assert!(matches!(
            safe_load("a: \u{1}\n").map_err(|e| e.kind),
            Err(Yaml11ErrorKind::UnacceptableCharacter(1))
        ));
    }

    #[test]
    fn tabs_outside_quoted_scalars_and_comments_are_rejected() {
        for bad in [
            "a: b\t\n",
            "a:\tb\n",
            "a: [b,\tc]\n",
            "\ta: b\n",
            "a: 'x'\t\n",
        ] {
            assert!(safe_load(bad).is_err(), "{bad:?}");
        }
        for good in [
            "a: |\n  x\ty\n",
            "a: b # c\td\n",
            "a: \"x\ty\"\n",
            "a: 'x\ty'\n",
        ] {
            assert!(safe_load(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn duplicate_anchor_names_are_rejected() {
        assert!(matches!(
            safe_load("a: &x 1\nb: &x 2\n").map_err(|e| e.kind),
            Err(Yaml11ErrorKind::DuplicateAnchor(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn loading_never_panics_and_dumps_reload_to_the_same_dump(s in "[a-z0-9 :#'\"\\-\\[\\]{},&*!|>%@`?\n\t.~é]{0,60}") {
            if let Ok(v) = safe_load(&s) {
                let once = super::super::pyyaml::dump(&v);
                let again = safe_load(&once).map(|v| super::super::pyyaml::dump(&v));
                proptest::prop_assert_eq!(again, Ok(once));
            }
        }
    }

    #[test]
    fn invalid_dates_are_errors() {
        assert!(safe_load("a: 2023-02-30\n").is_err());
    }
}
