//! An emitter that writes what PyYAML 6's `yaml.dump(data, sort_keys=True)` writes, byte for
//! byte, for every value [`yaml11::safe_load`](super::yaml11::safe_load) can produce (plus the
//! `!!python/object` mappings azure-ai-ml's SDK objects turn into).
//!
//! azure-ai-ml calls `yaml.dump(conda, Dumper=OrderedDumper, sort_keys=True)` where
//! `OrderedDumper` is `yaml.Dumper` plus an `OrderedDict` representer; for the types a conda file
//! holds that is plain `yaml.dump`: block style for non-empty collections (`default_flow_style`
//! is `False`), `[]` / `{}` for empty ones, indent 2, width 80, `allow_unicode=False` (every
//! non-ASCII character is escaped inside double quotes), `\n` line breaks, no explicit document
//! markers except the `...` PyYAML writes after a plain scalar at the root.
//!
//! The pipeline mirrors PyYAML's: a *representer* turns values into nodes (mapping pairs sorted
//! by Python's `<` on keys; lists, dicts and dates that are the same object become the same
//! node), a *serializer* pass names nodes met twice `id001`, `id002`, ... in depth-first order of
//! their second encounter, and an *emitter* tracks the column, the "last written character was
//! whitespace / indentation" flags and the indent stack to choose each scalar's style (plain,
//! single- or double-quoted) and to fold long scalars at spaces once past column 80.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::rc::Rc;

use super::yaml11::{Value, py_cmp, resolve_plain};

const WIDTH: usize = 80;
const INDENT: usize = 2;
const CORE: &str = "tag:yaml.org,2002:";

/// `yaml.dump(value, sort_keys=True)` with PyYAML 6 defaults.
pub fn dump(value: &Value) -> String {
    let mut rep = Representer::default();
    let root = rep.represent(value);
    let anchors = assign_anchors(&root);
    let mut e = Emitter::new(anchors);
    e.emit_document(&root);
    e.out
}

// ---------------------------------------------------------------------------------------
// Representer.

#[derive(Debug)]
enum Node {
    Scalar {
        tag: String,
        value: String,
    },
    Seq {
        tag: String,
        items: Vec<Rc<Node>>,
    },
    Map {
        tag: String,
        pairs: Vec<(Rc<Node>, Rc<Node>)>,
    },
}

#[derive(Default)]
struct Representer {
    seen: HashMap<usize, Rc<Node>>,
}

fn key_class(v: &Value) -> u8 {
    match v {
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => 0,
        Value::Str(_) => 1,
        Value::Timestamp(_) => 2,
        _ => 3,
    }
}

fn scalar(tag: &str, value: String) -> Rc<Node> {
    Rc::new(Node::Scalar {
        tag: format!("{CORE}{tag}"),
        value,
    })
}

impl Representer {
    fn shared(&mut self, ptr: usize, make: impl FnOnce(&mut Self) -> Node) -> Rc<Node> {
        if let Some(n) = self.seen.get(&ptr) {
            return Rc::clone(n);
        }
        let node = Rc::new(make(self));
        self.seen.insert(ptr, Rc::clone(&node));
        node
    }

    fn represent(&mut self, v: &Value) -> Rc<Node> {
        match v {
            Value::Null => scalar("null", "null".into()),
            Value::Bool(b) => scalar("bool", if *b { "true" } else { "false" }.into()),
            Value::Int(i) => scalar("int", i.to_string()),
            Value::Float(f) => scalar("float", float_text(*f)),
            Value::Str(s) => scalar("str", s.clone()),
            Value::Timestamp(t) => {
                let ptr = Rc::as_ptr(t) as usize;
                self.shared(ptr, |_| Node::Scalar {
                    tag: format!("{CORE}timestamp"),
                    value: t.iso(),
                })
            }
            Value::Seq(items) => {
                let ptr = Rc::as_ptr(items) as usize;
                self.shared(ptr, |r| Node::Seq {
                    tag: format!("{CORE}seq"),
                    items: items.iter().map(|i| r.represent(i)).collect(),
                })
            }
            Value::Map(m) => {
                let ptr = Rc::as_ptr(m).cast::<u8>() as usize;
                self.shared(ptr, |r| {
                    let mut entries: Vec<&(Value, Value)> = m.entries().iter().collect();
                    sort_pairs(&mut entries);
                    let pairs = entries
                        .into_iter()
                        .map(|(k, v)| (r.represent(k), r.represent(v)))
                        .collect();
                    Node::Map {
                        tag: format!("{CORE}map"),
                        pairs,
                    }
                })
            }
            Value::Object(o) => {
                let ptr = Rc::as_ptr(o).cast::<u8>() as usize;
                self.shared(ptr, |r| {
                    let mut state: Vec<&(String, Value)> = o.state.iter().collect();
                    state.sort_by(|a, b| a.0.cmp(&b.0));
                    let pairs = state
                        .into_iter()
                        .map(|(k, v)| (scalar("str", k.clone()), r.represent(v)))
                        .collect();
                    Node::Map {
                        tag: format!("{CORE}python/object:{}", o.class_path),
                        pairs,
                    }
                })
            }
        }
    }
}

/// PyYAML's `try: mapping = sorted(mapping) except TypeError: pass`: keys of different kinds
/// cannot be ordered in Python 3 (any sort would have to compare two of them), and the
/// mapping then keeps its insertion order.
fn sort_pairs(entries: &mut [&(Value, Value)]) {
    if entries.len() < 2 {
        return;
    }
    let first = &entries[0].0;
    for (k, _) in entries.iter().skip(1) {
        if key_class(k) != key_class(first) || key_class(k) == 3 || py_cmp(first, k).is_err() {
            return;
        }
    }
    // all keys are mutually comparable now; `py_cmp` is a total order on one class
    entries.sort_by(|a, b| py_cmp(&a.0, &b.0).unwrap_or(std::cmp::Ordering::Equal));
}

/// PyYAML's `represent_float`: `repr(f).lower()` with `.0` added before a bare exponent.
pub fn float_text(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let r = python_repr_float(f).to_lowercase();
    if !r.contains('.') && r.contains('e') {
        r.replacen('e', ".0e", 1)
    } else {
        r
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when the
/// decimal exponent is in `-4..16`, else `d.ddde+XX`.
pub fn python_repr_float(f: f64) -> String {
    let sci = format!("{f:e}"); // shortest round-trip digits, e.g. "-1.2345e6"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if neg { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat(point.unsigned_abs() as usize), digits)
        } else {
            let p = point.unsigned_abs() as usize;
            if digits.len() > p {
                format!("{}.{}", &digits[..p], &digits[p..])
            } else {
                format!("{}{}.0", digits, "0".repeat(p - digits.len()))
            }
        };
        format!("{sign}{body}")
    } else {
        let mant = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mant}e{esign}{:02}", exp.unsigned_abs())
    }
}

// ---------------------------------------------------------------------------------------
// Serializer: anchors for nodes reached twice.

fn assign_anchors(root: &Rc<Node>) -> HashMap<usize, String> {
    fn visit(n: &Rc<Node>, seen: &mut HashMap<usize, Option<String>>, counter: &mut u32) {
        let ptr = Rc::as_ptr(n) as usize;
        if let Some(slot) = seen.get_mut(&ptr) {
            if slot.is_none() {
                *counter += 1;
                *slot = Some(format!("id{:03}", *counter));
            }
            return;
        }
        seen.insert(ptr, None);
        match &**n {
            Node::Scalar { .. } => {}
            Node::Seq { items, .. } => items.iter().for_each(|i| visit(i, seen, counter)),
            Node::Map { pairs, .. } => pairs.iter().for_each(|(k, v)| {
                visit(k, seen, counter);
                visit(v, seen, counter);
            }),
        }
    }
    let mut seen = HashMap::new();
    let mut counter = 0;
    visit(root, &mut seen, &mut counter);
    seen.into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Emitter.

#[allow(
    clippy::struct_excessive_bools,
    reason = "the flags of PyYAML's `ScalarAnalysis` that the block emitter needs, named as there"
)]
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_break(c: char) -> bool {
    matches!(
        c,
        '\0' | ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// PyYAML's `analyze_scalar` with `allow_unicode=False`, block context only.
fn analyze(text: &[char]) -> Analysis {
    if text.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let mut block_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let starts = |p: &str| text.len() >= 3 && text[..3].iter().copied().eq(p.chars());
    if starts("---") || starts("...") {
        block_indicators = true;
    }
    let mut preceded_by_ws = true;
    let mut followed_by_ws = text.len() == 1 || is_blank_or_break(text[1]);
    let (mut prev_space, mut prev_break) = (false, false);
    let n = text.len();
    for (i, &ch) in text.iter().enumerate() {
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                block_indicators = true;
            }
            if (ch == '?' || ch == ':') && followed_by_ws {
                block_indicators = true;
            }
            if ch == '-' && followed_by_ws {
                block_indicators = true;
            }
        } else {
            if ch == ':' && followed_by_ws {
                block_indicators = true;
            }
            if ch == '#' && preceded_by_ws {
                block_indicators = true;
            }
        }
        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || ('\u{20}'..='\u{7e}').contains(&ch)) {
            special = true;
        }
        if ch == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(ch) {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = is_blank_or_break(ch);
        followed_by_ws = i + 2 >= n || is_blank_or_break(text[i + 2]);
    }
    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        allow_block_plain = false;
    }
    if break_space {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if space_break || special {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if line_breaks || block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: line_breaks,
        allow_block_plain,
        allow_single_quoted,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
}

#[derive(Clone, Copy, Default)]
struct Ctx {
    root: bool,
    mapping: bool,
    simple_key: bool,
}

struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    anchors: HashMap<usize, String>,
    emitted: HashSet<usize>,
}

impl Emitter {
    fn new(anchors: HashMap<usize, String>) -> Self {
        Self {
            out: String::new(),
            column: 0,
            whitespace: true,
            indention: true,
            open_ended: false,
            indent: None,
            indents: Vec::new(),
            anchors,
            emitted: HashSet::new(),
        }
    }

    fn emit_document(&mut self, root: &Rc<Node>) {
        self.emit_node(
            root,
            Ctx {
                root: true,
                ..Ctx::default()
            },
        );
        // document end (implicit), then stream end
        self.write_indent();
        if self.open_ended {
            self.write_indicator("...", true, false, false);
            self.write_indent();
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        match self.indent {
            None => self.indent = Some(if flow { INDENT } else { 0 }),
            Some(i) if !indentless => self.indent = Some(i + INDENT),
            Some(_) => {}
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn write_raw(&mut self, s: &str) {
        self.column += s.chars().count();
        self.out.push_str(s);
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, whitespace: bool, indention: bool) {
        if !self.whitespace && need_ws {
            self.out.push(' ');
            self.column += 1;
        }
        self.out.push_str(ind);
        self.column += ind.chars().count();
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break(None);
        }
        if self.column < indent {
            self.whitespace = true;
            for _ in self.column..indent {
                self.out.push(' ');
            }
            self.column = indent;
        }
    }

    fn write_line_break(&mut self, br: Option<char>) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push(br.unwrap_or('\n'));
    }

    fn anchor_of(&self, n: &Rc<Node>) -> Option<String> {
        self.anchors.get(&(Rc::as_ptr(n) as usize)).cloned()
    }

    /// The simple-key test of PyYAML's `check_simple_key`.
    fn is_simple_key(&self, n: &Rc<Node>) -> bool {
        let ptr = Rc::as_ptr(n) as usize;
        let anchor = self.anchor_of(n);
        let alias = anchor.is_some() && self.emitted.contains(&ptr);
        let mut length = anchor.as_ref().map_or(0, String::len);
        match &**n {
            _ if alias => length < 128,
            // the serializer always sets a tag, so its short form always counts
            Node::Scalar { value, tag } => {
                let chars: Vec<char> = value.chars().collect();
                let a = analyze(&chars);
                length += chars.len() + prepare_tag(tag).chars().count();
                length < 128 && !a.empty && !a.multiline
            }
            Node::Seq { items, tag } => {
                length += prepare_tag(tag).chars().count();
                length < 128 && items.is_empty()
            }
            Node::Map { pairs, tag } => {
                length += prepare_tag(tag).chars().count();
                length < 128 && pairs.is_empty()
            }
        }
    }

    fn emit_node(&mut self, n: &Rc<Node>, ctx: Ctx) {
        let ptr = Rc::as_ptr(n) as usize;
        if let Some(anchor) = self.anchor_of(n) {
            if self.emitted.contains(&ptr) {
                self.write_indicator(&format!("*{anchor}"), true, false, false);
                return;
            }
            self.emitted.insert(ptr);
            self.write_indicator(&format!("&{anchor}"), true, false, false);
        }
        match &**n {
            Node::Scalar { tag, value } => self.emit_scalar(tag, value, ctx),
            Node::Seq { tag, items } => {
                if tag != &format!("{CORE}seq") {
                    self.write_indicator(&prepare_tag(tag), true, false, false);
                }
                if items.is_empty() {
                    self.emit_empty_flow("[", "]");
                    return;
                }
                let indentless = ctx.mapping && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.emit_node(item, Ctx::default());
                }
                self.pop_indent();
            }
            Node::Map { tag, pairs } => {
                if tag != &format!("{CORE}map") {
                    self.write_indicator(&prepare_tag(tag), true, false, false);
                }
                if pairs.is_empty() {
                    self.emit_empty_flow("{", "}");
                    return;
                }
                self.increase_indent(false, false);
                for (k, v) in pairs {
                    self.write_indent();
                    if self.is_simple_key(k) {
                        self.emit_node(
                            k,
                            Ctx {
                                mapping: true,
                                simple_key: true,
                                ..Ctx::default()
                            },
                        );
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.emit_node(
                            k,
                            Ctx {
                                mapping: true,
                                ..Ctx::default()
                            },
                        );
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.emit_node(
                        v,
                        Ctx {
                            mapping: true,
                            ..Ctx::default()
                        },
                    );
                }
                self.pop_indent();
            }
        }
    }

    fn emit_empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    fn emit_scalar(&mut self, tag: &str, value: &str, ctx: Ctx) {
        let text: Vec<char> = value.chars().collect();
        let a = analyze(&text);
        let implicit0 = resolved(value) == tag;
        let implicit1 = tag == format!("{CORE}str");
        let style =
            if implicit0 && !(ctx.simple_key && (a.empty || a.multiline)) && a.allow_block_plain {
                Style::Plain
            } else if a.allow_single_quoted && !(ctx.simple_key && a.multiline) {
                Style::Single
            } else {
                Style::Double
            };
        let tagged =
            !((style == Style::Plain && implicit0) || (style != Style::Plain && implicit1));
        if tagged {
            self.write_indicator(&prepare_tag(tag), true, false, false);
        }
        self.increase_indent(true, false);
        let split = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(&text, split, ctx.root),
            Style::Single => self.write_single_quoted(&text, split),
            Style::Double => self.write_double_quoted(&text, split),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, text: &[char], split: bool, root: bool) {
        if root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write_raw(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let (mut spaces, mut start) = (false, 0);
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > WIDTH && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        let s: String = text[start..end].iter().collect();
                        self.write_raw(&s);
                    }
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ') {
                let s: String = text[start..end].iter().collect();
                self.write_raw(&s);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
            }
        }
    }

    fn write_single_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("'", true, false, false);
        let (mut spaces, mut breaks, mut start) = (false, false, 0usize);
        let n = text.len();
        for end in 0..=n {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > WIDTH && split && start != 0 && end != n {
                        self.write_indent();
                    } else {
                        let s: String = text[start..end].iter().collect();
                        self.write_raw(&s);
                    }
                    start = end;
                }
            } else if breaks {
                if ch.is_none_or(|c| !is_break(c)) {
                    if text[start] == '\n' {
                        self.write_line_break(None);
                    }
                    for &br in &text[start..end] {
                        self.write_line_break(if br == '\n' { None } else { Some(br) });
                    }
                    self.write_indent();
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c) || c == '\'') && start < end {
                let s: String = text[start..end].iter().collect();
                self.write_raw(&s);
                start = end;
            }
            if ch == Some('\'') {
                self.write_raw("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("\"", true, false, false);
        let n = text.len();
        let mut start = 0usize;
        for end in 0..=n {
            let ch = text.get(end).copied();
            let needs_escape = ch.is_none_or(|c| {
                matches!(
                    c,
                    '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
                ) || !('\u{20}'..='\u{7e}').contains(&c)
            });
            if needs_escape {
                if start < end {
                    let s: String = text[start..end].iter().collect();
                    self.write_raw(&s);
                    start = end;
                }
                if let Some(c) = ch {
                    self.write_raw(&escape(c));
                    start = end + 1;
                }
            }
            if 0 < end
                && end + 1 < n
                && (ch == Some(' ') || start >= end)
                // `column + end - start > WIDTH`, where `end - start` is -1 right after an
                // escape, so compared without the subtraction
                && self.column + end > WIDTH + start
                && split
            {
                let mut s: String = if start < end {
                    text[start..end].iter().collect()
                } else {
                    String::new()
                };
                s.push('\\');
                if start < end {
                    start = end;
                }
                self.write_raw(&s);
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if text.get(start) == Some(&' ') {
                    self.write_raw("\\");
                }
            }
        }
        self.write_indicator("\"", false, false, false);
    }
}

fn escape(c: char) -> String {
    let short = match c {
        '\0' => Some('0'),
        '\u{7}' => Some('a'),
        '\u{8}' => Some('b'),
        '\t' => Some('t'),
        '\n' => Some('n'),
        '\u{b}' => Some('v'),
        '\u{c}' => Some('f'),
        '\r' => Some('r'),
        '\u{1b}' => Some('e'),
        '"' => Some('"'),
        '\\' => Some('\\'),
        '\u{85}' => Some('N'),
        '\u{a0}' => Some('_'),
        '\u{2028}' => Some('L'),
        '\u{2029}' => Some('P'),
        _ => None,
    };
    let code = u32::from(c);
    match short {
        Some(s) => format!("\\{s}"),
        None if code <= 0xff => format!("\\x{code:02X}"),
        None if code <= 0xffff => format!("\\u{code:04X}"),
        None => format!("\\U{code:08X}"),
    }
}

/// The full tag PyYAML's resolver gives this text as a plain scalar.
fn resolved(value: &str) -> String {
    format!("{CORE}{}", resolve_plain(value))
}

/// PyYAML's `prepare_tag` with the default `!` and `!!` handles.
fn prepare_tag(tag: &str) -> String {
    let (handle, suffix) = match tag.strip_prefix(CORE) {
        Some(s) if !s.is_empty() => ("!!", s),
        _ => match tag.strip_prefix('!') {
            Some(s) => ("!", s),
            None => ("", tag),
        },
    };
    let mut out = String::new();
    for ch in suffix.chars() {
        let ok = ch.is_ascii_alphanumeric()
            || "-;/?:@&=+$,_.~*'()[]".contains(ch)
            || (ch == '!' && handle != "!");
        if ok {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    if handle.is_empty() {
        format!("!<{out}>")
    } else {
        format!("{handle}{out}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml11::{python_text, safe_load};
    use super::*;

    fn roundtrip(src: &str) -> String {
        let v = safe_load(&python_text(src)).unwrap_or_else(|e| panic!("{e}"));
        dump(&v)
    }

    #[test]
    fn python_float_repr_switches_to_exponent_outside_1e_minus_4_to_1e16() {
        assert_eq!(float_text(1e17), "1.0e+17");
        assert_eq!(float_text(1e16), "1.0e+16");
        assert_eq!(float_text(1e15), "1000000000000000.0");
        assert_eq!(float_text(1.5e-5), "1.5e-05");
        assert_eq!(float_text(0.0001), "0.0001");
        assert_eq!(float_text(3.1), "3.1");
        assert_eq!(float_text(-0.0), "-0.0");
        assert_eq!(float_text(123_456_789.123_456_79), "123456789.12345679");
        assert_eq!(float_text(f64::NAN), ".nan");
    }

    #[test]
    fn conda_file_dumps_sorted_with_indentless_lists() {
        let src = "name: x\nchannels: [conda-forge]\ndependencies:\n  - python=3.8\n  - pip:\n    - pandas==1.3.5\n";
        assert_eq!(
            roundtrip(src),
            "channels:\n- conda-forge\ndependencies:\n- python=3.8\n- pip:\n  - pandas==1.3.5\nname: x\n"
        );
    }

    #[test]
    fn strings_that_would_resolve_to_other_types_are_single_quoted() {
        assert_eq!(
            roundtrip("a: '3.10'\nb: 'yes'\nc: ''\nd: '~'\n"),
            "a: '3.10'\nb: 'yes'\nc: ''\nd: '~'\n"
        );
    }

    #[test]
    fn non_ascii_is_escaped_in_double_quotes() {
        assert_eq!(roundtrip("a: é\n"), "a: \"\\xE9\"\n");
    }

    #[test]
    fn root_plain_scalar_ends_with_document_end_marker() {
        assert_eq!(roundtrip("abc"), "abc\n...\n");
    }

    #[test]
    fn unorderable_keys_keep_insertion_order() {
        assert_eq!(roundtrip("name: x\n1: a\n"), "name: x\n1: a\n");
    }

    #[test]
    fn keys_of_123_characters_are_complex_because_the_tag_counts() {
        let k = "k".repeat(123);
        assert_eq!(roundtrip(&format!("{k}: v\n")), format!("? {k}\n: v\n"));
        let k = "k".repeat(122);
        assert_eq!(roundtrip(&format!("{k}: v\n")), format!("{k}: v\n"));
    }

    #[test]
    fn shared_lists_get_anchors() {
        assert_eq!(
            roundtrip("a: &x [1]\nb: *x\n"),
            "a: &id001\n- 1\nb: *id001\n"
        );
    }
}
