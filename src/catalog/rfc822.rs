//! RFC 822 style header blocks, as in Python core metadata (`METADATA`, `PKG-INFO`) and
//! Debian control files (`var/lib/dpkg/status`): `Name: value` lines, continuation lines
//! starting with a space or tab, paragraphs separated by blank lines.

/// One field of a paragraph, with the line it starts on (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field name as written; look-ups ignore ASCII case.
    pub name: String,
    /// The value, trimmed; continuation lines are joined to it with `\n`, each trimmed.
    pub value: String,
    /// The line the field starts on, 1-based.
    pub line: usize,
}

/// A paragraph: its fields in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paragraph {
    /// The fields in the order they appear, repeated names included.
    pub fields: Vec<Field>,
    /// The line of the paragraph's first field, 1-based (0 for an empty paragraph).
    pub line: usize,
}

impl Paragraph {
    /// The first value of a field (names compare case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value.as_str())
    }

    /// Every value of a repeated field.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value.as_str())
    }
}

/// A line that is neither a field, a continuation nor blank.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: expected `Name: value`, found `{text}`")]
pub struct MalformedLine {
    /// The line number, 1-based.
    pub line: usize,
    /// The line as written, cut to 80 characters (then ending in `…`).
    pub text: String,
}

/// Splits `text` into paragraphs, as Debian control files are: a line of only spaces
/// and tabs separates paragraphs too. Malformed lines are skipped and returned beside them.
pub fn paragraphs(text: &str) -> (Vec<Paragraph>, Vec<MalformedLine>) {
    split(text, true)
}

fn split(text: &str, whitespace_separates: bool) -> (Vec<Paragraph>, Vec<MalformedLine>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let mut current = Paragraph::default();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || (whitespace_separates && line.trim().is_empty()) {
            if !current.fields.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match current.fields.last_mut() {
                Some(f) => {
                    f.value.push('\n');
                    f.value.push_str(line.trim());
                }
                None => bad.push(malformed(line_no, line)),
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if !name.is_empty() && !name.contains([' ', '\t']) => {
                if current.fields.is_empty() {
                    current.line = line_no;
                }
                current.fields.push(Field {
                    name: name.to_owned(),
                    value: value.trim().to_owned(),
                    line: line_no,
                });
            }
            _ => bad.push(malformed(line_no, line)),
        }
    }
    if !current.fields.is_empty() {
        out.push(current);
    }
    (out, bad)
}

/// The header paragraph of a core metadata file (the body after it is the description).
/// As in Python's email parser, only an empty line ends the headers: a line of spaces is
/// a continuation line.
pub fn headers(text: &str) -> (Paragraph, Vec<MalformedLine>) {
    let end = text
        .find("\n\n")
        .or_else(|| text.find("\r\n\r\n"))
        .map_or(text.len(), |i| i + 1);
    let (mut paras, bad) = split(&text[..end], false);
    let first = if paras.is_empty() {
        Paragraph::default()
    } else {
        paras.swap_remove(0)
    };
    (first, bad)
}

fn malformed(line: usize, text: &str) -> MalformedLine {
    let mut t: String = text.chars().take(80).collect();
    if t.len() < text.len() {
        t.push('…');
    }
    MalformedLine { line, text: t }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_join_the_field_before() {
        let (p, bad) = headers("Name: a\nLicense: line one\n  line two\nVersion: 1\n\nbody: x\n");
        assert!(bad.is_empty());
        assert_eq!(p.get("license"), Some("line one\nline two"));
        assert_eq!(p.get("version"), Some("1"));
        assert_eq!(p.get("body"), None);
    }

    #[test]
    fn a_line_of_spaces_continues_a_metadata_field_but_separates_dpkg_paragraphs() {
        let text = "Name: a\nLicense: MIT\n        \n        more\nVersion: 1\n";
        let (p, bad) = headers(text);
        assert!(bad.is_empty());
        assert_eq!(p.get("license"), Some("MIT\n\nmore"));
        assert_eq!(p.get("version"), Some("1"));
        let (paras, _) = paragraphs("Package: a\n  \nPackage: b\n");
        assert_eq!(paras.len(), 2);
    }

    #[test]
    fn repeated_fields_are_all_kept() {
        let (p, _) = headers("Requires-Dist: a\nRequires-Dist: b ; extra == 'x'\n");
        assert_eq!(
            p.all("requires-dist").collect::<Vec<_>>(),
            ["a", "b ; extra == 'x'"]
        );
    }

    #[test]
    fn a_line_without_colon_is_reported_with_its_number() {
        let (paras, bad) = paragraphs("Package: a\nnonsense\n\nPackage: b\n");
        assert_eq!(paras.len(), 2);
        insta::assert_snapshot!(bad[0].to_string(), @"line 2: expected `Name: value`, found `nonsense`");
    }
}
