//! conda environment files (`environment.yml`, Azure ML `conda_dependencies.yml`,
//! `conda env export` output).
//!
//! The YAML is read into a small located tree (`Node`, every node with its
//! [`serde_saphyr::Spanned`] position) and then walked by hand, so that every channel,
//! dependency and `pip:` entry keeps the exact line and column it was written at and every
//! shape error names what was expected there. Keys conda accepts are `name`, `channels`,
//! `dependencies`, `prefix` and `variables`; Azure ML rejects any other key but conda
//! ignores them, and so does envaudit.
//!
//! - `dependencies` holds MatchSpec strings and `pip:` mappings (several are concatenated;
//!   a `pip:` section without a conda `pip` dependency is legal). Any other mapping is an
//!   error pointing at its key.
//! - Scalars YAML types as numbers or booleans (`- 3.10`, `name: 123`) are taken as their
//!   source text.
//! - An entry that is not a valid MatchSpec (`a:b`, `pkg[extra]>=1`, a `git+` URL), or an
//!   empty `-`, is kept as written as a [`super::DependencySpec::Invalid`] dependency with
//!   the error where the grammar stopped; so is a `pip:` entry pip would reject. Azure ML
//!   accepts such a file (conda or pip fails on the entry at build time), so it still gets
//!   its definition hash; lint reports the entry as `invalid-spec`. A list, or a mapping
//!   other than `pip:`, where a spec belongs is no spec at all and stays an error.
//! - `pip:` entries that are empty or start with `#` are dropped: Azure ML's
//!   `CondaDependencies.from_pip_requirements` writes a requirements file's blank and comment
//!   lines into the list. The rest go, with their positions, through
//!   [`super::requirements::parse_entries`], relative to the conda file's folder.
//! - Release-template placeholders (`{{latest-pypi-version}}`) in conda specs and channels are
//!   listed in [`CondaFile::templates`], one per placeholder, at the placeholder's column.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::requirements::PipFile;
use super::{Channel, DefinitionError, Dependency, Template};
use crate::conda::MatchSpec;
use crate::model::Ecosystem;
use crate::source::{Origin, ParseError, SourceFile};

/// A conda environment file, read with every entry's position.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CondaFile {
    /// The file read; for a conda specification written inline (v1 `condaDependencies`, a
    /// v2 `conda_file:` mapping), the file that holds it.
    pub path: PathBuf,
    /// `name:`, e.g. `project_environment`; Azure ML replaces it when it builds.
    pub name: Option<String>,
    /// `channels:` in declared order, e.g. `conda-forge`, `defaults`.
    pub channels: Vec<Channel>,
    /// The conda specs of `dependencies:` in declared order (`python=3.10`, `numpy`), the
    /// invalid ones kept as written; the `pip:` entries are in [`CondaFile::pip`].
    pub dependencies: Vec<Dependency>,
    /// The `pip:` subsection, includes followed.
    pub pip: PipFile,
    /// Whether `dependencies:` holds a `pip:` mapping, even an empty one.
    pub has_pip_section: bool,
    /// The `pip:` entries handed to the requirements parser, in file order (blank and
    /// `#` comment entries already dropped).
    pub pip_entries: Vec<(String, Origin)>,
    /// `variables:` as `(NAME, VALUE)` pairs in file order, which conda stores in the
    /// environment it creates.
    pub variables: Vec<(String, String)>,
    /// `prefix:`, the install path `conda env export` records; not part of the hash.
    pub prefix: Option<String>,
    /// Release-template placeholders (`{{latest-pypi-version}}`) in specs and channels,
    /// one per placeholder.
    pub templates: Vec<Template>,
    /// Every file read: this one first, then the files its `pip:` entries include.
    pub files: Vec<PathBuf>,
}

/// Read and parse the conda file at `path`.
pub fn load(path: &Path) -> Result<CondaFile, DefinitionError> {
    let source = SourceFile::read(path)?;
    parse(&source)
}

/// Parse a conda file; `pip:` includes resolve relative to the file's folder.
pub fn parse(source: &SourceFile) -> Result<CondaFile, DefinitionError> {
    let root = read_tree(source)?;
    let mut file = CondaFile {
        path: source.path.clone(),
        files: vec![source.path.clone()],
        ..CondaFile::default()
    };
    let ctx = Ctx { source };
    let Some(root) = root else {
        return Err(ctx
            .error_at(
                1,
                1,
                "expected a mapping with `dependencies`, found an empty document",
            )
            .into());
    };
    let entries = match &root.value {
        Node::Map(entries) => entries,
        other => {
            return Err(ctx
                .error(
                    &root,
                    format!(
                        "expected a mapping with keys such as `name`, `channels` and `dependencies`, found {}",
                        other.kind()
                    ),
                )
                .into());
        }
    };
    // Later duplicates win, as in conda's YAML loader.
    let mut name = None;
    let mut channels = None;
    let mut dependencies = None;
    let mut prefix = None;
    let mut variables = None;
    for (key, value) in entries {
        match ctx.scalar_text(key).as_deref() {
            Some("name") => name = Some(value),
            Some("channels") => channels = Some(value),
            Some("dependencies") => dependencies = Some(value),
            Some("prefix") => prefix = Some(value),
            Some("variables") => variables = Some(value),
            _ => {}
        }
    }
    if let Some(v) = name {
        file.name = ctx.optional_string(v, "`name`")?;
    }
    if let Some(v) = prefix {
        file.prefix = ctx.optional_string(v, "`prefix`")?;
    }
    if let Some(v) = channels {
        for item in ctx.list(v, "a list of channel names under `channels`")? {
            let Some(text) = ctx.string(item) else {
                return Err(ctx
                    .error(
                        item,
                        format!("expected a channel name, found {}", item.value.kind()),
                    )
                    .into());
            };
            let origin = ctx.origin(item);
            collect_templates(&text, &origin, &mut file.templates);
            file.channels.push(Channel {
                name: text.trim().to_owned(),
                origin,
            });
        }
    }
    if let Some(v) = variables {
        file.variables = ctx.variables(v)?;
    }
    if let Some(v) = dependencies {
        for item in ctx.list(
            v,
            "a list of conda specs and `pip:` mappings under `dependencies`",
        )? {
            match &item.value {
                Node::Map(pairs) => {
                    for (key, value) in pairs {
                        if ctx.scalar_text(key).as_deref() != Some("pip") {
                            let shown = ctx
                                .scalar_text(key)
                                .unwrap_or_else(|| key.value.kind().to_owned());
                            return Err(ctx
                                .error(
                                    key,
                                    format!(
                                        "unexpected `{shown}:` mapping in `dependencies`; only `pip:` may appear here"
                                    ),
                                )
                                .into());
                        }
                        file.has_pip_section = true;
                        for entry in ctx.list(value, "a list of pip requirements under `pip:`")? {
                            let Some(text) = ctx.string(entry) else {
                                if matches!(entry.value, Node::Null) {
                                    continue;
                                }
                                return Err(ctx
                                    .error(
                                        entry,
                                        format!(
                                            "expected a pip requirement, found {}",
                                            entry.value.kind()
                                        ),
                                    )
                                    .into());
                            };
                            let trimmed = text.trim();
                            if trimmed.is_empty() || trimmed.starts_with('#') {
                                continue;
                            }
                            file.pip_entries.push((text, ctx.content_origin(entry)));
                        }
                    }
                }
                Node::Seq(_) => {
                    return Err(ctx
                        .error(
                            item,
                            format!(
                                "expected a conda spec or a `pip:` mapping, found {}",
                                item.value.kind()
                            ),
                        )
                        .into());
                }
                // An empty entry is an empty spec, as `- ''` is: conda fails on both.
                Node::Null => {
                    let error = ctx.error(
                        item,
                        "expected a conda spec or a `pip:` mapping, found an empty value",
                    );
                    let origin = ctx.origin(item);
                    file.dependencies.push(Dependency::invalid(
                        Ecosystem::Conda,
                        "",
                        error,
                        origin,
                    ));
                }
                Node::Str(_) | Node::Other => {
                    let text = ctx.string(item).unwrap_or_default();
                    let origin = ctx.content_origin(item);
                    collect_templates(&text, &origin, &mut file.templates);
                    let dependency = match text.parse::<MatchSpec>() {
                        Ok(spec) => Dependency::conda(spec, &text, origin),
                        Err(e) => {
                            let column = origin.column
                                + u32::try_from(
                                    text.get(..e.offset).map_or(0, |p| p.chars().count()),
                                )
                                .unwrap_or(0);
                            let error = ParseError::at(
                                source,
                                origin.line,
                                column,
                                format!("invalid conda spec `{}`: {}", text.trim(), e.message),
                            );
                            Dependency::invalid(Ecosystem::Conda, &text, error, origin)
                        }
                    };
                    file.dependencies.push(dependency);
                }
            }
        }
    }
    let base_dir = match source.path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if file.has_pip_section {
        file.pip = super::requirements::parse_entries(&file.pip_entries, &base_dir)?;
        for f in &file.pip.files {
            if !file.files.contains(f) {
                file.files.push(f.clone());
            }
        }
    }
    Ok(file)
}

/// Every `{{...}}` placeholder in `text`, at its own column.
fn collect_templates(text: &str, origin: &Origin, out: &mut Vec<Template>) {
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| from + i) {
        let Some(close) = text[open..].find("}}").map(|i| open + i + 2) else {
            return;
        };
        let column = origin.column + u32::try_from(text[..open].chars().count()).unwrap_or(0);
        out.push(Template {
            text: text[open..close].to_owned(),
            origin: Origin::new(origin.file.clone(), origin.line, column),
        });
        from = close;
    }
}

// ---------------------------------------------------------------------------------------
// A located YAML tree

/// One YAML node; children carry their positions.
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Null,
    Str(String),
    /// A number or boolean; its text is taken from the source.
    Other,
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Node::Null => "an empty value",
            Node::Str(_) => "a string",
            Node::Other => "a number or boolean",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Other)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Other)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Other)
    }
    fn visit_char<E: de::Error>(self, v: char) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut pairs = Vec::new();
        while let Some(pair) = map.next_entry::<Spanned<Node>, Spanned<Node>>()? {
            pairs.push(pair);
        }
        Ok(Node::Map(pairs))
    }
}

fn read_tree(source: &SourceFile) -> Result<Option<Spanned<Node>>, DefinitionError> {
    if source.text.trim().is_empty() {
        return Ok(None);
    }
    // `.inf` and `.nan` where a spec belongs are read as their source text, as numbers are.
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
    };
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(&source.text, options)
        .map_err(|e| super::yaml::yaml_error(source, &e))?;
    if matches!(root.value, Node::Null) {
        return Ok(None);
    }
    Ok(Some(root))
}

struct Ctx<'a> {
    source: &'a SourceFile,
}

impl Ctx<'_> {
    fn line_col(node: &Spanned<Node>) -> (u32, u32) {
        let loc = node.referenced;
        (
            u32::try_from(loc.line()).unwrap_or(1).max(1),
            u32::try_from(loc.column()).unwrap_or(1).max(1),
        )
    }

    fn origin(&self, node: &Spanned<Node>) -> Origin {
        let (line, column) = Self::line_col(node);
        self.source.origin(line, column)
    }

    /// The position of a scalar's content: past an opening quote.
    fn content_origin(&self, node: &Spanned<Node>) -> Origin {
        let (line, column) = Self::line_col(node);
        let quoted = self
            .source
            .line_text(line)
            .and_then(|l| l.chars().nth(column as usize - 1))
            .is_some_and(|c| c == '\'' || c == '"');
        self.source.origin(line, column + u32::from(quoted))
    }

    fn error(&self, node: &Spanned<Node>, message: impl Into<String>) -> ParseError {
        let (line, column) = Self::line_col(node);
        ParseError::at(self.source, line, column, message)
    }

    fn error_at(&self, line: u32, column: u32, message: impl Into<String>) -> ParseError {
        ParseError::at(self.source, line, column, message)
    }

    /// A string, or a number/boolean as its source text.
    fn string(&self, node: &Spanned<Node>) -> Option<String> {
        match &node.value {
            Node::Str(s) => Some(s.clone()),
            Node::Other => Some(self.source_text(node)),
            _ => None,
        }
    }

    /// The text of a plain scalar as written in the file.
    fn source_text(&self, node: &Spanned<Node>) -> String {
        let span = node.referenced.span();
        let text = &self.source.text;
        if let (Some(off), Some(len)) = (span.byte_offset(), span.byte_len())
            && let (Ok(off), Ok(len)) = (usize::try_from(off), usize::try_from(len))
            && len > 0
            && let Some(t) = text.get(off..off.saturating_add(len))
        {
            return t.trim().to_owned();
        }
        // Fall back to the line: a plain scalar runs to a comment or the end of the line.
        let (line, column) = Self::line_col(node);
        let rest: String = self
            .source
            .line_text(line)
            .unwrap_or_default()
            .chars()
            .skip(column as usize - 1)
            .collect();
        let end = rest.find(" #").unwrap_or(rest.len());
        rest[..end]
            .trim()
            .trim_end_matches([',', ']', '}'])
            .trim()
            .to_owned()
    }

    fn scalar_text(&self, node: &Spanned<Node>) -> Option<String> {
        self.string(node)
    }

    fn optional_string(
        &self,
        node: &Spanned<Node>,
        what: &str,
    ) -> Result<Option<String>, ParseError> {
        match &node.value {
            Node::Null => Ok(None),
            Node::Str(_) | Node::Other => Ok(self.string(node)),
            other => Err(self.error(
                node,
                format!("expected a string for {what}, found {}", other.kind()),
            )),
        }
    }

    fn list<'n>(
        &self,
        node: &'n Spanned<Node>,
        what: &str,
    ) -> Result<&'n [Spanned<Node>], ParseError> {
        match &node.value {
            Node::Seq(items) => Ok(items),
            Node::Null => Ok(&[]),
            other => Err(self.error(node, format!("expected {what}, found {}", other.kind()))),
        }
    }

    fn variables(&self, node: &Spanned<Node>) -> Result<Vec<(String, String)>, ParseError> {
        let pairs = match &node.value {
            Node::Map(pairs) => pairs,
            Node::Null => return Ok(Vec::new()),
            other => {
                return Err(self.error(
                    node,
                    format!("expected a mapping of variable names to values under `variables`, found {}", other.kind()),
                ));
            }
        };
        let mut out = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let Some(k) = self.string(key) else {
                return Err(self.error(
                    key,
                    format!("expected a variable name, found {}", key.value.kind()),
                ));
            };
            let v = match &value.value {
                Node::Null => String::new(),
                Node::Str(_) | Node::Other => self.string(value).unwrap_or_default(),
                other => {
                    return Err(self.error(
                        value,
                        format!(
                            "expected a value for variable `{k}`, found {}",
                            other.kind()
                        ),
                    ));
                }
            };
            out.push((k, v));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pin::PinState;

    fn parse_text(text: &str) -> Result<CondaFile, DefinitionError> {
        parse(&SourceFile::from_text("env/environment.yml", text))
    }

    fn ok(text: &str) -> CondaFile {
        parse_text(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(text: &str) -> String {
        match parse_text(text) {
            Ok(f) => panic!("parsed: {f:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn fixture(rel: &str) -> CondaFile {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(rel);
        load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn dep<'a>(file: &'a CondaFile, name: &str) -> &'a Dependency {
        file.dependencies
            .iter()
            .find(|d| d.name.as_ref().is_some_and(|n| n.as_str() == name))
            .unwrap_or_else(|| panic!("no `{name}` in {:?}", file.path))
    }

    #[test]
    fn dependencies_keep_line_and_column() {
        let f = ok(
            "name: x\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.8\n  -   'numpy==1.2'\n  - pip:\n    - pandas==2.0\n",
        );
        assert_eq!(f.name.as_deref(), Some("x"));
        assert_eq!(f.channels[0].name, "conda-forge");
        assert_eq!(
            (f.channels[0].origin.line, f.channels[0].origin.column),
            (3, 5)
        );
        let py = dep(&f, "python");
        assert_eq!((py.origin.line, py.origin.column), (5, 5));
        let np = dep(&f, "numpy");
        assert_eq!((np.origin.line, np.origin.column), (6, 8));
        assert!(f.has_pip_section);
        assert_eq!(f.pip_entries.len(), 1);
        assert_eq!(f.pip_entries[0].0, "pandas==2.0");
        assert_eq!((f.pip_entries[0].1.line, f.pip_entries[0].1.column), (8, 7));
    }

    #[test]
    fn numbers_and_booleans_are_taken_as_written() {
        let f = ok(
            "name: 123\nchannels: [conda-forge]\ndependencies:\n  - 3.10\n  - pip:\n    - 1.0\n",
        );
        assert_eq!(f.name.as_deref(), Some("123"));
        assert_eq!(f.dependencies[0].raw, "3.10");
        assert_eq!(f.pip_entries[0].0, "1.0");
        let f = ok("variables:\n  A: 1.50\n  B: true\n  C:\n");
        assert_eq!(
            f.variables,
            vec![
                ("A".into(), "1.50".into()),
                ("B".into(), "true".into()),
                ("C".into(), String::new())
            ]
        );
    }

    #[test]
    fn blank_and_comment_pip_entries_are_dropped() {
        let f = fixture("azureml/v1-saved/pipreq/conda_dependencies.yml");
        assert!(f.has_pip_section);
        assert!(
            f.pip_entries
                .iter()
                .all(|(e, _)| !e.is_empty() && !e.starts_with('#'))
        );
        assert_eq!(f.pip_entries.len(), 17);
        assert_eq!(f.pip_entries[0].0, "numpy==1.21.2");
        assert_eq!(f.pip_entries[16].0, "papermill==2.3.3");
        // The conda `pip` after the `pip:` mapping is a dependency of its own.
        assert_eq!(f.dependencies.len(), 2);
        assert_eq!(dep(&f, "pip").pin.state, PinState::Unpinned);
    }

    #[test]
    fn pip_section_without_conda_pip_is_legal() {
        let f = ok("dependencies:\n  - pip:\n    - vllm\n");
        assert!(f.has_pip_section);
        assert!(f.dependencies.is_empty());
        assert_eq!(f.pip_entries.len(), 1);
    }

    #[test]
    fn other_top_level_keys_are_ignored() {
        let f = ok("name: x\nfoo: [1, 2]\ndependencies: [numpy]\n");
        assert_eq!(f.dependencies.len(), 1);
    }

    #[test]
    fn templates_in_specs_and_channels_are_listed() {
        let f = ok(
            "channels:\n  - '{{channel}}'\ndependencies:\n  - azureml-core={{latest-pypi-version}}\n",
        );
        let t: Vec<_> = f
            .templates
            .iter()
            .map(|t| (t.text.as_str(), t.origin.line, t.origin.column))
            .collect();
        assert_eq!(
            t,
            vec![("{{channel}}", 2, 5), ("{{latest-pypi-version}}", 4, 18)]
        );
        assert_eq!(f.dependencies[0].pin.state, PinState::Template);
    }

    #[test]
    fn shape_errors_are_located_and_say_what_was_expected() {
        let cases = [
            "",
            "- numpy\n",
            "dependencies: numpy\n",
            "dependencies:\n  - numpy\n  - conda: [x]\n",
            "dependencies:\n  - [numpy]\n",
            "channels:\n  - conda-forge\n  - [x]\n",
            "channels: conda-forge\n",
            "variables: [a]\n",
            "name: [a]\n",
            "dependencies:\n  - pip: numpy\n",
            "dependencies:\n  - pip:\n    - {a: b}\n",
            "dependencies: [\n",
        ];
        let rendered: Vec<String> = cases
            .iter()
            .map(|c| format!("{c:?} => {}", error(c)))
            .collect();
        insta::assert_snapshot!(rendered.join("\n"), @r#"
        "" => env/environment.yml:1:1: expected a mapping with `dependencies`, found an empty document
        "- numpy\n" => env/environment.yml:1:1: expected a mapping with keys such as `name`, `channels` and `dependencies`, found a list
        "dependencies: numpy\n" => env/environment.yml:1:15: expected a list of conda specs and `pip:` mappings under `dependencies`, found a string
        "dependencies:\n  - numpy\n  - conda: [x]\n" => env/environment.yml:3:5: unexpected `conda:` mapping in `dependencies`; only `pip:` may appear here
        "dependencies:\n  - [numpy]\n" => env/environment.yml:2:5: expected a conda spec or a `pip:` mapping, found a list
        "channels:\n  - conda-forge\n  - [x]\n" => env/environment.yml:3:5: expected a channel name, found a list
        "channels: conda-forge\n" => env/environment.yml:1:11: expected a list of channel names under `channels`, found a string
        "variables: [a]\n" => env/environment.yml:1:12: expected a mapping of variable names to values under `variables`, found a list
        "name: [a]\n" => env/environment.yml:1:7: expected a string for `name`, found a list
        "dependencies:\n  - pip: numpy\n" => env/environment.yml:2:10: expected a list of pip requirements under `pip:`, found a string
        "dependencies:\n  - pip:\n    - {a: b}\n" => env/environment.yml:3:7: expected a pip requirement, found a mapping
        "dependencies: [\n" => env/environment.yml:1:15: unclosed bracket '['
        "#);
    }

    #[test]
    fn invalid_specs_are_kept_as_written_with_the_error_where_the_grammar_stopped() {
        // Azure ML accepts these files; conda fails on the entries at build time.
        let cases = [
            "dependencies:\n  -\n",
            "dependencies:\n  - numpy=>1.2\n",
            "dependencies:\n  - 'numpy 1.2[x=1]'\n",
            "dependencies:\n  - a:b\n  - \"pkg[extra]>=1\"\n  - git+https://github.com/x/y.git\n",
            "dependencies:\n  - python=3.10\n  - pip:\n    - numpy>=  # why\n    - pandas --index-url x\n    - ok==1\n",
        ];
        let rendered: Vec<String> = cases
            .iter()
            .map(|c| {
                let f = ok(c);
                let deps = f.dependencies.iter().chain(&f.pip.requirements);
                let lines: Vec<String> = deps
                    .map(|d| match d.invalid_spec() {
                        Some(e) => format!("  {:?} at {}: {}", d.raw, d.origin, e.parse_error()),
                        None => format!("  {:?} ok", d.raw),
                    })
                    .collect();
                format!("{c:?}\n{}", lines.join("\n"))
            })
            .collect();
        insta::assert_snapshot!(rendered.join("\n"), @r#"
        "dependencies:\n  -\n"
          "" at env/environment.yml:2:4: env/environment.yml:2:4: expected a conda spec or a `pip:` mapping, found an empty value
        "dependencies:\n  - numpy=>1.2\n"
          "numpy=>1.2" at env/environment.yml:2:5: env/environment.yml:2:11: invalid conda spec `numpy=>1.2`: expected a version after `=`, found `>1.2`
        "dependencies:\n  - 'numpy 1.2[x=1]'\n"
          "numpy 1.2[x=1]" at env/environment.yml:2:6: env/environment.yml:2:16: invalid conda spec `numpy 1.2[x=1]`: unknown bracket key `x`; expected `version`, `build`, `channel`, `subdir`, `url`, `md5`, `sha256`, `build_number`, `fn`, `license`, `license_family`, `track_features` or `namespace`
        "dependencies:\n  - a:b\n  - \"pkg[extra]>=1\"\n  - git+https://github.com/x/y.git\n"
          "a:b" at env/environment.yml:2:5: env/environment.yml:2:6: invalid conda spec `a:b`: unexpected `:`; a channel is separated from the name by `::`
          "pkg[extra]>=1" at env/environment.yml:3:6: env/environment.yml:3:9: invalid conda spec `pkg[extra]>=1`: unterminated bracket section; expected `]` at the end of the spec
          "git+https://github.com/x/y.git" at env/environment.yml:4:5: env/environment.yml:4:30: invalid conda spec `git+https://github.com/x/y.git`: expected a conda package file `<name>-<version>-<build>.tar.bz2` or `.conda` at the end of the URL, found `y.git`
        "dependencies:\n  - python=3.10\n  - pip:\n    - numpy>=  # why\n    - pandas --index-url x\n    - ok==1\n"
          "python=3.10" ok
          "numpy>=" at env/environment.yml:4:7: env/environment.yml:4:14: invalid pip requirement `numpy>=`: expected a version after `>=`
          "pandas --index-url x" at env/environment.yml:5:7: env/environment.yml:5:14: invalid pip requirement `pandas --index-url x`: unexpected option `--index-url` after a requirement; only `--hash`, `--config-settings` and `--global-option` go there
          "ok==1" ok
        "#);
        let f = ok("dependencies:\n  - a:b\n");
        let d = &f.dependencies[0];
        assert_eq!(d.name, None);
        assert_eq!(d.canonical(), "a:b");
        assert_eq!(d.pin.state, PinState::Unpinned);
        assert_eq!(d.ecosystem, crate::model::Ecosystem::Conda);
    }

    #[test]
    fn never_panics_on_odd_yaml() {
        for text in [
            "---\n...\n",
            "--- 1\n",
            "[]",
            "{}",
            "~",
            "dependencies: ~\n",
            "dependencies: {}\n",
            "dependencies: [pip: [a]]\n",
            "dependencies:\n  - pip:\n",
            "dependencies:\n  - pip: ~\n",
            "a: &x [numpy]\ndependencies: *x\n",
            "dependencies:\n  - !!str 1.0\n",
            "dependencies:\n  - 1e400\n",
            "dependencies:\n  - .nan\n",
            "dependencies:\n  - -1\n",
            "\u{feff}dependencies: [a]\n",
            "dependencies:\n  - \"\\u00e9\"\n",
            "dependencies:\n  - |\n    numpy\n",
            "? [a]\n: b\n",
            "dependencies:\n  - {pip: [a], conda: [b]}\n",
            "dependencies:\n- é==1\n",
            "---\na: 1\n---\nb: 2\n",
        ] {
            let _ = parse_text(text);
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_yaml_like_text_never_panics(
            text in "(name|channels|dependencies|pip|variables|prefix|[-:\\[\\]{},'\"# \n]|[a-z0-9=<>.*|]){0,60}"
        ) {
            let _ = parse_text(&text);
        }
    }

    #[test]
    fn utf16_and_bom_files_parse_identically() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/corpus/files/Azure__azureml-examples/cli/endpoints/online/deploy-with-packages/custom-model/environment/conda.yaml");
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let plain = parse(&SourceFile::from_bytes("conda.yaml", &bytes).unwrap()).unwrap();
        let mut bom8 = vec![0xEF, 0xBB, 0xBF];
        bom8.extend_from_slice(&bytes);
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in text.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
            be.extend_from_slice(&u.to_be_bytes());
        }
        for variant in [bom8, le, be] {
            let other = parse(&SourceFile::from_bytes("conda.yaml", &variant).unwrap()).unwrap();
            assert_eq!(other, plain);
        }
        assert_eq!(dep(&plain, "xgboost").pin.state, PinState::Exact);
    }

    #[test]
    fn crlf_file_has_exact_xgboost_and_positions() {
        let f = fixture(
            "corpus/files/Azure__azureml-examples/cli/endpoints/online/deploy-with-packages/custom-model/environment/conda.yaml",
        );
        let x = dep(&f, "xgboost");
        assert_eq!(x.pin.state, PinState::Exact);
        assert!(!f.has_pip_section);
        let text = std::fs::read_to_string(&f.path)
            .unwrap()
            .replace("\r\n", "\n");
        let line = text.lines().nth(x.origin.line as usize - 1).unwrap();
        assert_eq!(&line[x.origin.column as usize - 1..], "xgboost==3.0.2");
    }

    #[test]
    fn conda_env_export_pins_builds_and_records_prefix() {
        let f = fixture("corpus/files/GuyTevet__motion-diffusion-model/environment.yml");
        assert_eq!(f.name.as_deref(), Some("mdm"));
        assert_eq!(f.prefix.as_deref(), Some("mdm"));
        let np = dep(&f, "numpy");
        assert_eq!(np.pin.state, PinState::ExactWithBuild);
        assert_eq!((np.origin.line, np.origin.column), (71, 5));
        assert!(
            f.dependencies
                .iter()
                .all(|d| d.pin.state == PinState::ExactWithBuild),
            "{:?}",
            f.dependencies
                .iter()
                .filter(|d| d.pin.state != PinState::ExactWithBuild)
                .map(|d| &d.raw)
                .collect::<Vec<_>>()
        );
        let channels: Vec<_> = f.channels.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(channels, ["pytorch", "anaconda", "conda-forge", "defaults"]);
    }

    #[test]
    fn dinov2_channel_specs_and_unpinned_tools() {
        let f = fixture("corpus/files/facebookresearch__dinov2/conda.yaml");
        let torch = dep(&f, "pytorch");
        let crate::definition::DependencySpec::Conda(m) = &torch.spec else {
            panic!()
        };
        assert_eq!(m.channel.as_deref(), Some("pytorch"));
        assert_eq!(torch.pin.state, PinState::Fuzzy);
        for name in ["omegaconf", "fvcore", "iopath", "pip"] {
            assert_eq!(dep(&f, name).pin.state, PinState::Unpinned, "{name}");
        }
        assert_eq!((torch.origin.line, torch.origin.column), (10, 5));
        assert_eq!(f.pip_entries.len(), 3);
        assert_eq!(
            f.pip_entries[1].0,
            "--extra-index-url https://pypi.nvidia.com"
        );
    }

    #[test]
    fn mlopspython_scoring_uses_wildcards() {
        let f = fixture(
            "corpus/files/microsoft__MLOpsPython/diabetes_regression/conda_dependencies_scoring.yml",
        );
        assert_eq!(dep(&f, "python").pin.state, PinState::Wildcard);
        assert!(f.channels.is_empty());
        assert_eq!(
            f.pip_entries
                .iter()
                .map(|e| e.0.as_str())
                .collect::<Vec<_>>(),
            ["azureml-sdk==1.27.*", "scikit-learn", "pandas"]
        );
    }

    #[test]
    fn openai_embeddings_pip_is_a_range_and_has_no_name() {
        let f = fixture(
            "corpus/files/Azure__azureml-examples/cli/endpoints/batch/deploy-models/openai-embeddings/environment/conda.yaml",
        );
        assert_eq!(f.name, None);
        assert_eq!(dep(&f, "pip").pin.state, PinState::Range);
        assert_eq!(dep(&f, "python").pin.state, PinState::Fuzzy);
        assert_eq!(f.pip_entries.len(), 8);
    }

    #[test]
    fn latent_diffusion_conda_pins_are_fuzzy() {
        let f = fixture("corpus/files/CompVis__latent-diffusion/environment.yaml");
        assert!(
            f.dependencies
                .iter()
                .all(|d| d.pin.state == PinState::Fuzzy)
        );
        assert_eq!(f.dependencies.len(), 6);
        assert_eq!(f.pip_entries.last().unwrap().0, "-e .");
    }

    #[test]
    fn automl_env_linux_ranges_and_channel_spec() {
        let f = fixture(
            "corpus/files/Azure__MachineLearningNotebooks/how-to-use-azureml/automated-machine-learning/automl_env_linux.yml",
        );
        let py = dep(&f, "python");
        assert_eq!(py.pin.state, PinState::Range);
        assert_eq!(py.canonical(), "python >=3.10,<3.11");
        assert_eq!((py.origin.line, py.origin.column), (10, 3));
        let torch = dep(&f, "pytorch");
        assert_eq!(torch.canonical(), "pytorch::pytorch 1.11.0.*");
        assert_eq!(dep(&f, "pip").pin.state, PinState::Exact);
        assert_eq!(dep(&f, "notebook").pin.state, PinState::Unpinned);
        assert!(f.pip_entries.last().unwrap().0.starts_with("-r https://"));
    }

    #[test]
    fn curated_conda_files_list_pip_templates_as_entries() {
        let f = fixture(
            "corpus/files/Azure__azureml-assets/assets/pipelines/environments/mldesigner/context/conda_dependencies.yaml",
        );
        assert_eq!(dep(&f, "setuptools").pin.state, PinState::Range);
        assert_eq!(
            f.pip_entries[2].0,
            "mldesigner=={{latest-pypi-version:pre}}"
        );
    }

    #[test]
    fn azureml_saved_and_input_conda_files_load() {
        for dir in ["default", "dockerfile", "pipreq", "pydata", "rich"] {
            let f = fixture(&format!("azureml/v1-saved/{dir}/conda_dependencies.yml"));
            assert!(!f.dependencies.is_empty(), "{dir}");
        }
        let rich = fixture("azureml/v1-saved/rich/conda_dependencies.yml");
        assert_eq!(dep(&rich, "python").pin.state, PinState::Fuzzy);
        assert_eq!(
            rich.pip_entries[0].0,
            "--find-links https://index.example.com/simple/index.html"
        );
        let nopy = fixture("azureml/inputs/nopy.yml");
        assert_eq!(nopy.dependencies.len(), 1);
        assert_eq!(nopy.pip_entries.len(), 1);
        for rel in [
            "azureml/inputs/conda.yaml",
            "azureml/inputs/v2/conda.yaml",
            "azureml/inputs/azureml-examples/conda-yamls/pydata.yml",
        ] {
            fixture(rel);
        }
    }

    #[test]
    fn every_corpus_conda_file_loads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus");
        let index = std::fs::read_to_string(root.join("INDEX.tsv")).unwrap();
        let mut loaded = 0;
        for row in index.lines().skip(1) {
            let cols: Vec<&str> = row.split('\t').collect();
            if cols.len() < 5
                || !(cols[4] == "conda-yaml" || cols[0].ends_with("conda_dependencies.yaml"))
            {
                continue;
            }
            let f = load(&root.join(cols[0])).unwrap_or_else(|e| panic!("{}: {e}", cols[0]));
            assert_eq!(f.files[0], root.join(cols[0]));
            loaded += 1;
        }
        assert_eq!(loaded, 23);
    }
}
