#!/usr/bin/env python3
"""Generate tests/vectors/azureml_anonymous.json (and its inputs in fixtures/azureml-anon/cases/).

Run with the oracle venv's python (`scripts/oracles/setup azureml` makes it and prints it),
or just `scripts/regen-vectors azureml_anonymous.json`:
    VENV/bin/python scripts/gen-azureml-vectors.py

It writes generated inputs (conda files, environment YAMLs, build-context specs) into
fixtures/azureml-anon/cases/ and records what azure-ai-ml 1.35 itself computes for each
(version, translated_conda_file, upload_hash, or the error it raises) into
tests/vectors/azureml_anonymous.json. The Rust tests replay every vector without Python.

Build contexts are described in cases/build/*.json ({"files": {path: text}, "dirs": [...],
"symlinks": {path: target}}) because git keeps neither empty folders nor, portably, symlinks;
both this script and the Rust tests materialise them in a temporary folder.
"""
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import yaml
from azure.ai.ml import load_environment
from azure.ai.ml.entities import BuildContext, Environment

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "fixtures" / "azureml-anon" / "cases"
OUT = ROOT / "tests" / "vectors" / "azureml_anonymous.json"
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1"


def run(make):
    try:
        e = make()
    except Exception as exc:  # azure-ai-ml's rejection is an answer too
        first = str(exc).splitlines()[0] if str(exc) else ""
        return {"error": f"{type(exc).__name__}: {first}".replace(str(ROOT) + "/", "").strip()}
    out = {"version": e.version if e.name == "CliV2AnonymousEnvironment" else None}
    if getattr(e, "_translated_conda_file", None):
        out["translated_conda_file"] = e._translated_conda_file
    if getattr(e, "_upload_hash", None):
        out["upload_hash"] = e._upload_hash
    return out


def from_env_yaml(yaml_path):
    # the same steps as scripts/oracles/azureml_oracle.py
    with open(yaml_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    override = [] if isinstance(doc, dict) and doc.get("name") else [{"name": "oracle-placeholder"}]
    env = load_environment(source=yaml_path, params_override=override)
    build = None
    if env.build is not None:
        raw = (doc.get("build") or {}).get("path") or env.build.path
        path = raw
        if "://" not in str(raw) and not os.path.isabs(str(raw)):
            path = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(yaml_path)), str(raw)))
        build = BuildContext(path=path, dockerfile_path=env.build.dockerfile_path)
    return Environment(image=env.image, conda_file=env.conda_file, build=build,
                       inference_config=env.inference_config)


def rel(p):
    return str(Path(p).resolve().relative_to(ROOT))


# ---------------------------------------------------------------------------------------------
# Conda matrix: each entry is (id, yaml text). Strings are written quoted so they load as str.

def q(s):
    """A YAML double-quoted scalar for any Python string (astral characters as \\U escapes)."""
    out = json.dumps(s, ensure_ascii=True)
    return re.sub(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})",
                  lambda m: "\\U%08X" % (0x10000 + ((int(m.group(1), 16) - 0xD800) << 10) + (int(m.group(2), 16) - 0xDC00)),
                  out)


# Inputs azure-ai-ml accepts that envaudit refuses on purpose (with the reason).
UNSUPPORTED = {
    "conda/surrogate-pair-escape": "PyYAML keeps escaped UTF-16 surrogates as lone code points; a Rust string cannot",
    "conda/syntax-50": "PyYAML reads `\"y\"#z` as a quoted scalar then a comment; the YAML 1.2 parser wants a space before `#`",
    "conda/syntax-73": "`!!omap` (also `!!pairs`, `!!set`, `!!binary`) become Python tuples/sets/bytes, dumped with Python-specific tags",
    "conda/tag-set": "`!!set` is a Python set, dumped as `!!set`",
    "conda/tag-binary": "`!!binary` is Python bytes, dumped as a `!!binary |` block",
}


def conda_matrix():
    cases = []

    def add(name, text):
        cases.append((name, text))

    def deps(*items, name="env"):
        return "name: " + name + "\nchannels:\n  - conda-forge\ndependencies:\n" + "".join(f"  - {i}\n" for i in items)

    # strings that would resolve to another type, as quoted strings and as plain values
    lookalikes = ["123", "3.10", "3.1", "1.0", "yes", "no", "on", "off", "Yes", "NO", "true", "False", "y", "n",
                  "null", "Null", "~", "", "2021-01-01", "2001-12-14 21:59:43.10 -5", "1:30", "190:20:30.15",
                  "0x1F", "012", "0o17", "0b101", "1_000", "1e3", "1.0e+3", ".inf", "-.inf", ".nan", ".NaN", "<<", "=",
                  "+1", "-1", "0", "00", "08", "1__0", "0.", ".5", "-.5", "+.5", "1.2.3", "3.10.1", "1e", "e3",
                  "2021-1-1", "12:30:45", "0:0", "1:60", "1:5", "- x", "-x", "--x", "_", "a_b"]
    for i, s in enumerate(lookalikes):
        add(f"str-lookalike-{i:02}", f"name: x\nvalue: {q(s)}\nlist:\n  - {q(s)}\n")
    plain = ["123", "3.10", "3.1", "1.0", "yes", "no", "on", "off", "Yes", "NO", "TRUE", "False", "y", "n",
             "null", "Null", "~", "2021-01-01", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
             "2001-12-15T02:59:43.1Z", "2002-12-14 10:00:00", "1:30", "-1:30", "190:20:30.15", "0x1F", "-0x1f",
             "012", "-012", "0o17", "0b101", "-0b11", "1_000", "1e3", "1.0e+3", "1.5e-5", "6.02e+23", "1.0e+16",
             "1e16", "10000000000000000.0", "1000000000000000.0", "0.0001", "0.00001", "123456789.123456789",
             "1.7976931348623157e+308", "5e-324", "4.9e-324", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "+1", "-1",
             "0", "-0", "+0", "00", "-0.0", "0.", ".5", "-.5", "1.", "1_000.5", "1__0.0_1",
             "12345678901234567890123456789012345678901234567890", "-99999999999999999999999",
             "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "0b" + "1" * 130, "1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19:20:21:22:23:24:25",
             "1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19:20:21:22:23.5",
             "0.1", "0.2", "0.30000000000000004", "2.5", "100.0", "1e-7", "1.0e-7", "9007199254740993.0"]
    for i, s in enumerate(plain):
        add(f"plain-type-{i:02}", f"name: x\nvalue: {s}\nlist:\n  - {s}\n")
    # the classic: python version as a float in a mapping
    add("python-3.10-mapping", "name: x\ndependencies:\n  - python: 3.10\n  - python=3.10\n  - numpy\n")
    add("python-3.10-quoted", "name: x\ndependencies:\n  - python: '3.10'\n")
    # quoting triggers
    triggers = [" x", "x ", "  ", " ", "#x", "a #b", "a#b", "a: b", "a:b", ":x", ": x", ":", "-", "?", "?x", "? x",
                "*x", "&x", "!x", "%x", "@x", "`x", "'x", "\"x", "it's", "a\"b", "|x", ">x", ",x", "[x", "]x",
                "{x", "}x", "a,b", "a[b]", "a{b}", "a?b", "---", "...", "--- x", "...x", "x---", "x...", "a: ",
                "a:", "https://example.com/x?y=1#frag", "pip>=20.0", "numpy==1.21.2", "-e git+https://x/y.git#egg=z",
                "--extra-index-url https://x.y/simple", "--index-url=https://a", "a\\b", "C:\\path", "~x", "x~",
                "%", "a%b", "@", "a@b", "!", "a!b", "&", "a&b", "*", "a*b", "|", ">", "'", "\"", "''", "\"\"",
                "a'b'c", "'a'", "a  b", "a   b", "\\", "\\n"]
    for i, s in enumerate(triggers):
        add(f"quote-trigger-{i:02}", f"name: x\nvalue: {q(s)}\ndependencies:\n  - {q(s)}\n  - pip:\n    - {q(s)}\n")
    # non-ASCII and control characters (double-quoted escapes in the source)
    specials = ["é", "naïve", "日本語", "😀", "\u00a0", "a\u00a0b", "\u2028", "a\u2029b", "\ufeff", "a\ufeffb", "\x85",
                "\t", "a\tb", "\x01", "\x7f", "\x00", "\x1b", "\r", "a\rb", "\x0b\x0c", "\x07\x08", "\ud7ff",
                "\ue000", "\ufffd", "\U0010fffd", "Straße", "Ελληνικά", "x\u0301"]
    for i, s in enumerate(specials):
        add(f"special-char-{i:02}", f"name: x\nvalue: {q(s)}\ndependencies:\n  - {q(s)}\n")
    # multi-line strings
    multis = ["a\nb", "a\n\nb", "a\n", "\na", "a \nb", "a\n b", "l1\nl2\nl3\n", "a\n\n", "\n", "\n\n",
              "a \n b", "x\n# y", "a\tb\nc", "é\nb", "a'b\nc", "  a\nb", "a\n  ", "x" * 90 + "\n" + "y" * 10]
    for i, s in enumerate(multis):
        add(f"multiline-{i:02}", f"name: x\nvalue: {q(s)}\ndependencies:\n  - {q(s)}\n  - pip:\n    - {q(s)}\n")
    add("block-literal", "name: x\nvalue: |\n  line one\n  line two\nkeep: |+\n  a\n\nstrip: |-\n  a\n  b\nfold: >\n  folded\n  text\n\n  para\n")
    # folding at 80 columns: plain, single-quoted (forced by a leading '#'), double-quoted (forced by é)
    words = " ".join(f"word{i}" for i in range(40))
    for i, (prefix, body) in enumerate([("", words), ("#", words), ("é", words), ("", "w" * 100), ("#", "w" * 100),
                                        ("é", "w" * 100), ("", "a  b " * 30), ("#", "a  b " * 30),
                                        ("é", "a  b " * 30), ("", ("x" * 79) + " y"), ("", ("x" * 80) + " y z"),
                                        ("", ("x" * 81) + " y"), ("é", ("x" * 77) + " y" * 10),
                                        ("é", ("x" * 70) + "\té" * 10), ("", "a " * 60),
                                        ("#", ("x" * 70) + "'" * 20 + " y"), ("é", " " + words),
                                        ("", "pandas==1.3.5 " * 10), ("", "x" * 76 + " " + "y" * 10),
                                        ("é", "x" * 75 + "  yy" * 5), ("é", "x" * 74 + "\\" * 10 + " z")]):
        s = prefix + body
        add(f"fold-{i:02}",
            f"name: x\nvalue: {q(s)}\ndependencies:\n  - {q(s)}\n  - pip:\n    - {q(s)}\n    - deeper:\n        - {q(s)}\n")
    add("fold-in-key", f"name: x\n{q(words[:100])}: 1\n")
    # keys
    add("key-long-122", f"name: x\n{'k' * 122}: v\n")
    add("key-long-123", f"name: x\n{'k' * 123}: v\n")
    add("key-long-200", f"name: x\n{'k' * 200}: [a, b]\n")
    add("key-empty", "name: x\n'': v\n")
    add("key-multiline", 'name: x\n"a\\nb": v\n')
    add("key-quoted-types", "'1': a\n'true': b\n'null': c\n'': d\n")
    add("key-int", "1: a\n2: b\n10: c\n-1: d\n")
    add("key-float-int-mix", "1: a\n1.5: b\n0.5: c\ntrue: d\n")
    add("key-bool", "true: a\nno: b\n")
    add("key-null", "~: a\n")
    add("key-date", "2021-01-01: a\n2020-12-31: b\n")
    add("key-mixed-types", "name: x\n1: a\n")
    add("key-null-and-str", "~: a\nb: c\n")
    add("key-unicode-order", "b: 1\nB: 2\na: 3\nA: 4\né: 5\nz: 6\n_: 7\n'1': 8\n' x': 9\n")
    add("key-special", "'#k': 1\n'k: v': 2\n'- k': 3\n'? k': 4\n'k ': 5\n")
    add("key-alias-scalar", "base: &k key\n*k : v\n")
    add("key-complex-seq", "? [a, b]\n: v\n")
    add("key-complex-map", "? {a: b}\n: v\n")
    # structure
    add("nested-mapping-in-deps", "name: x\ndependencies:\n  - python=3.8\n  - pip:\n      - a\n      - b\n  - other:\n      x: 1\n      y: [1, 2]\n")
    add("nested-lists", "name: x\nvalue:\n  - - a\n    - b\n  - - - c\n  - []\n  - {}\n")
    add("empty-collections", "name: x\nchannels: []\ndependencies: []\nvariables: {}\nlist:\n  - []\n  - {}\n  - [[]]\n  - {a: {}}\n")
    add("map-in-list-multi-key", "name: x\ndependencies:\n  - pip: [a, b]\n    extra: 1\n    a: {b: {c: [d]}}\n")
    add("flow-style-input", "{name: x, channels: [a, b], dependencies: [python=3.8, {pip: [x, y]}]}\n")
    add("deep-nesting", "a:\n  b:\n    c:\n      d:\n        - e:\n            - f: [g, {h: i}]\n")
    add("list-of-maps", "- a: 1\n  b: 2\n- c: 3\n")
    add("top-list", "- python=3.8\n- numpy\n")
    add("top-string", "just a string\n")
    add("top-string-quoted", "'123'\n")
    add("top-int", "42\n")
    add("top-float", "3.10\n")
    add("top-true", "true\n")
    add("top-false", "false\n")
    add("top-zero", "0\n")
    add("top-null", "null\n")
    add("top-empty-map", "{}\n")
    add("top-empty-list", "[]\n")
    add("top-empty-string", "''\n")
    add("top-date", "2021-01-01\n")
    add("empty-file", "")
    add("comment-only", "# nothing here\n")
    add("document-marker-only", "---\n")
    add("explicit-document", "---\nname: x\n...\n")
    add("yaml-directive", "%YAML 1.1\n---\nname: x\n")
    add("tag-directive", "%TAG !e! tag:example.com,2000:\n---\nname: x\n")
    # anchors and aliases
    add("alias-list", "name: x\nbase: &b [a, b]\nother: *b\n")
    add("alias-map", "name: x\nbase: &b {a: 1}\nother: *b\nthird: *b\n")
    add("alias-scalar", "name: x\nbase: &b value\nother: *b\n")
    add("alias-number", "name: x\nbase: &b 3.10\nother: *b\n")
    add("alias-date", "name: x\nbase: &d 2021-01-01\nother: *d\n")
    add("alias-numbering", "z: &z [1]\na: &a [2]\nm: {x: *a, y: *z}\nb: *a\n")
    add("alias-nested", "name: x\nlist: &l\n  - &m {k: v}\n  - *m\nagain: *l\n")
    add("alias-in-deps", "name: x\ndependencies:\n  - &p pip:\n      - a\n  - *p\n")
    add("alias-empty", "name: x\na: &e []\nb: *e\nc: &f {}\nd: *f\n")
    add("anchor-unused", "name: &n x\nlist: &l [a]\n")
    add("anchor-redefined", "a: &x [1]\nb: &x [2]\nc: *x\n")
    add("alias-key-order", "k2: &s [x]\nk1: *s\n")
    # duplicate keys and merge keys
    add("duplicate-keys", "name: x\nname: y\ndependencies: [a]\ndependencies: [b]\n")
    add("duplicate-nested", "a: {b: 1, b: 2}\n")
    add("merge-single", "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n")
    add("merge-list", "b1: &b1 {x: 1, y: 1}\nb2: &b2 {y: 2, z: 2}\nd:\n  <<: [*b1, *b2]\n  w: 0\n")
    add("merge-inline", "d:\n  <<: {a: 1}\n  b: 2\n")
    add("merge-shares-values", "base: &b {l: [1, 2]}\nd:\n  <<: *b\n")
    add("merge-quoted-key", "d:\n  '<<': {a: 1}\n")
    add("merge-bad", "d:\n  <<: 1\n")
    add("merge-nested", "a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, z: 3}\n")
    # tags
    add("tag-str", "a: !!str 123\nb: !!str yes\nc: !!str\n")
    add("tag-int", "a: !!int '12'\nb: !!int 0o17\nc: !!int 1:30\nd: !!int '  7 '\n")
    add("tag-float", "a: !!float 1\nb: !!float '1e3'\nc: !!float .inf\nd: !!float 1:30\n")
    add("tag-bool", "a: !!bool yes\nb: !!bool 'OFF'\n")
    add("tag-null", "a: !!null anything\n")
    add("tag-timestamp", "a: !!timestamp 2021-1-2\nb: !!timestamp '2001-12-14 21:59:43.10'\n")
    add("tag-seq-map", "a: !!seq [1]\nb: !!map {c: d}\n")
    add("tag-nonspecific", "a: ! 123\nb: ! '123'\nc: ! yes\n")
    add("tag-int-bad", "a: !!int x\n")
    add("tag-float-bad", "a: !!float x\n")
    add("tag-bool-bad", "a: !!bool maybe\n")
    add("tag-unknown", "a: !foo x\n")
    add("tag-python", "a: !!python/name:os.system x\n")
    add("tag-verbatim-str", "a: !<tag:yaml.org,2002:str> 5\n")
    add("tag-set", "a: !!set {x, y}\n")
    add("tag-binary", "a: !!binary aGVsbG8=\n")
    add("tag-seq-on-scalar", "a: !!seq x\n")
    # yes/no/on/off everywhere
    add("bool-words", "name: x\nflags: [yes, no, on, off, Yes, No, On, Off, YES, NO, ON, OFF, y, n, Y, N, true, false]\n")
    add("null-forms", "a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: nULL\n")
    # timestamps
    add("timestamps", "a: 2001-12-14t21:59:43.10-05:00\nb: 2001-12-14 21:59:43.10 -5\nc: 2001-12-15T02:59:43.1Z\nd: 2002-12-14\ne: 2001-12-14 21:59:43.1234567\nf: 2001-12-14 21:59:43 +05:30\ng: 2001-12-14T21:59:43\n")
    add("timestamp-invalid-date", "a: 2021-02-30\n")
    add("timestamp-leap", "a: 2020-02-29\nb: 2000-02-29\n")
    add("timestamp-nonleap", "a: 1900-02-29\n")
    add("timestamp-year-zero", "a: 0000-01-01\n")
    add("timestamp-bad-hour", "a: 2001-12-14 25:00:00\n")
    add("timestamp-tz-24", "a: 2001-12-14 21:59:43 +24\n")
    add("timestamp-mixed-keys", "2021-01-01: a\n2021-01-01 10:00:00: b\n")
    # octal and sexagesimal edge cases
    add("octal-bad", "a: 08\nb: 09.5\nc: 0_7\n")
    add("int-underscore-only", "a: 0b_\n")
    add("sexagesimal", "a: 1:30\nb: 1:30:00\nc: 1:60\nd: 1:5:9\ne: -1:30.5\nf: 1:30.\n")
    # input encodings and whitespace
    add("crlf", "name: x\r\ndependencies:\r\n  - a\r\n  - b\r\n")
    add("cr-only", "name: x\rdependencies:\r  - a\r")
    add("bom", "\ufeffname: x\ndependencies: [a]\n")
    add("tabs-in-values", "name: x\nvalue: a\tb\n")
    add("trailing-spaces", "name: x   \ndependencies:   \n  - a   \n")
    add("no-trailing-newline", "name: x\ndependencies:\n  - a")
    add("comments-everywhere", "# top\nname: x # inline\n# mid\ndependencies: # c\n  - a # c\n  # c\n  - b\n")
    add("escapes", 'a: "\\x41\\u00e9\\U0001F600\\N\\_\\L\\P\\0\\a\\b\\t\\n\\v\\f\\r\\e\\"\\\\\\/ \\ "\n')
    add("surrogate-pair-escape", 'a: "\\ud83d\\ude00"\n')
    add("astral-literal", "a: \U0001F600\nb: '\U0001F600 x'\n")
    add("single-quote-escape", "a: 'it''s'\nb: ''''\n")
    add("quoted-multiline-source", "a: \"line one\n  line two\"\nb: 'x\n\n  y'\n")
    add("plain-multiline-source", "a: word1\n  word2\n\n  word3\n")
    # errors
    add("error-multi-doc", "a: 1\n---\nb: 2\n")
    add("error-syntax", "a: [1, 2\n")
    add("error-indent", "a:\n  - b\n c: d\n")
    add("error-control-char", "a: \x01\n")
    add("error-undefined-alias", "a: *nope\n")
    add("error-value-tag", "a: =\n")
    add("error-tab-indent", "a:\n\t- b\n")
    add("error-unhashable", "? [a]\n: b\n")
    add("error-binary-free", "a: 1\nb: 2\n- c\n")
    # syntax corners where YAML 1.1 (PyYAML) and YAML 1.2 parsers may differ
    syntax = ["a: x\x85y\n", "a: x\u2028y\n", "a: x\u2029y\n", "a: 'x\u2028y'\n", "# c\u2028\na: b\n",
              "a: b: c\n", "- - a\n  - b\n- c\n", "? a\n: b\n", "&a a: b\n", "a: !!str\n", "[a, b]: c\n",
              "{a: b}: c\n", "a:\n- b\n- c\n", "a: 'multi\n  line'\n", 'a: "x\\\n  y"\n',
              "key:    value   # comment\n", '"a": 1\n', "? |\n  block key\n: v\n", "a: -\n", "a: - b\n",
              "a: ---\n", "--- a\n", "a: @x\n", "a: `x\n", "a: %x\n", "a: x%y\n", "a: {b, c}\n", "a: [b: c]\n",
              "a: [? b : c]\n", "a: b#c\n", "a: :b\n", "a: ::\n", "a: -1-\n", "a: 1:2:3\n", 'a: "\\x"\n',
              "a: '\\n'\n", "a: [a,b,]\n", "a: {a: 1,}\n", "a: [,]\n", "a: b\n  c\n", "a:\n  b\n  c: d\n",
              "a: |2\n   x\n", "a: >+\n  x\n\n", "a: |\n\n  x\n", "a:\n  - b\n  -\n  - c\n", "-\n- a\n",
              "a: &x\nb: *x\n", "a: !!str &x y\nb: *x\n", "a: &x !!int '5'\nb: *x\n", "?\n: v\n",
              "a: 'x' # c\nb: \"y\"#z\n", "a: [x]y\n", "a: 日本: x\n", "a: x\n...\n", "a: x\n...\n# c\n",
              "%YAML 1.2\n---\na: b\n", "%YAML 2.0\n---\na: b\n", "a: \"\\u00e9\\U0001F600\"\n",
              "a:   \n  - x\n", "a: [\n  b,\n  c\n]\n", "a: {\n b: c\n}\n", "a: [b\n  c]\n",
              "a: 'a\n\n\n  b'\n", "a: >\n  a\n   b\n  c\n", "a: |-\n  a\n\n", "a: |+\n  a\n\n\n",
              "a: x\r\n  y\r\n", "a:\n  - &anchor-with-dash x\n  - *anchor-with-dash\n", "a: [&x 1, *x]\n",
              "'a\n\n b': 1\n", "a: x #\n", "a: '#'\n", "a: !!python/none\n", "a: !!omap [b: 1]\n"]
    for i, text in enumerate(syntax):
        add(f"syntax-{i:02}", text)
    # seeded random strings from a palette of emitter triggers, at several nesting depths,
    # long enough to fold (a differential test of quoting and folding)
    import random
    rng = random.Random(20240521)
    palette = list("abcxyz0123456789") + [" ", " ", " ", "  ", "-", ":", "#", "'", '"', "\\", ",", "[", "]", "{",
                                          "}", "?", "*", "&", "!", "%", "@", "`", "|", ">", ".", "~", "=", "<",
                                          "\n", "\t", "é", "\u00a0", "\u2028", "\x85", "\ufeff", "日",
                                          "\U0001F600", "\x01", "\r", "==", ": ", " #", "- ", "1.0", "yes", "null"]
    for i in range(160):
        n = rng.choice([1, 2, 3, 5, 8, 13, 30, 60, 90, 140])
        s = "".join(rng.choice(palette) for _ in range(n))
        key = "".join(rng.choice(palette) for _ in range(rng.choice([1, 3, 10, 40])))
        add(f"random-{i:03}", f"name: x\n{q(key)}: {q(s)}\ndependencies:\n  - {q(s)}\n  - pip:\n    - {q(s)}\n    - {{{q(key)}: [{q(s)}]}}\n")
    return cases


def write_conda_cases():
    d = CASES / "conda"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    vectors = []
    for name, text in conda_matrix():
        p = d / f"{name}.yml"
        p.write_bytes(text.encode("utf-8", "surrogatepass"))
        v = {"id": f"conda/{name}", "kind": "image-conda", "image": IMAGE, "conda": rel(p),
             "expected": run(lambda: Environment(image=IMAGE, conda_file=str(p)))}
        if v["id"] in UNSUPPORTED:
            v["unsupported"] = UNSUPPORTED[v["id"]]
        vectors.append(v)
    return vectors


# ---------------------------------------------------------------------------------------------
# Build contexts.

def build_specs():
    big = "".join(f"line {i}\n" for i in range(2000))
    specs = {
        "plain": {"files": {"Dockerfile": "FROM python:3.11\n", "requirements.txt": "numpy==1.26.4\n"}},
        "amlignore": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "*.log\n", "a.log": "x", "b.txt": "b",
                                "sub/c.log": "c", "sub/d.txt": "d"}},
        "gitignore": {"files": {"Dockerfile": "FROM x\n", ".gitignore": "*.log\n", "a.log": "x", "b.txt": "b"}},
        "amlignore-over-gitignore": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "*.txt\n",
                                               ".gitignore": "*.log\n", "a.log": "x", "b.txt": "b"}},
        "ignore-excludes-itself": {"files": {"Dockerfile": "FROM x\n", ".amlignore": ".amlignore\n*.tmp\n",
                                             "x.tmp": "t"}},
        "gitignore-excludes-itself": {"files": {"Dockerfile": "FROM x\n", ".gitignore": ".*\n", ".hidden": "h"}},
        "negation": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "*.txt\n!keep.txt\n", "keep.txt": "k",
                               "drop.txt": "d", "sub/keep.txt": "k2"}},
        "negation-order": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "!keep.txt\n*.txt\n", "keep.txt": "k"}},
        "directory-pattern": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "build/\n", "build/out.bin": "o",
                                        "build/sub/x": "x", "src/build/y": "y", "buildfile": "b"}},
        "directory-pattern-file-named-like-dir": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "data/\n",
                                                            "data": "i am a file"}},
        "anchored-pattern": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "/a.txt\nsub/b.txt\n", "a.txt": "a",
                                       "sub/a.txt": "a2", "sub/b.txt": "b", "x/sub/b.txt": "b2"}},
        "double-star": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "**/cache\na/**/z\n", "cache/x": "1",
                                  "p/q/cache": "2", "a/z": "3", "a/b/c/z": "4", "a/zz": "5"}},
        "globs-and-classes": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "?.md\n[ab]*.py\n[!c]x\n\\#lit\n",
                                        "a.md": "1", "ab.md": "2", "a1.py": "3", "c1.py": "4", "bx": "5", "cx": "6",
                                        "#lit": "7"}},
        "comments-and-blanks": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "# comment\n\n   \n/\n*.log   \n",
                                          "a.log": "x", "# comment": "c"}},
        "nested-gitignore-not-honoured": {"files": {"Dockerfile": "FROM x\n", "sub/.gitignore": "*\n",
                                                    "sub/a.txt": "a"}},
        "nested-amlignore-not-honoured": {"files": {"Dockerfile": "FROM x\n", ".gitignore": "*.log\n",
                                                    "sub/.amlignore": "*\n", "sub/a.txt": "a", "sub/b.log": "b"}},
        "empty-dirs": {"files": {"Dockerfile": "FROM x\n"}, "dirs": ["empty", "nested/empty", "z-empty"]},
        "empty-context": {"files": {}, "dirs": []},
        "only-empty-dir": {"files": {}, "dirs": ["e"]},
        "case-order": {"files": {"Dockerfile": "FROM x\n", "b.txt": "1", "A.txt": "2", "a_b": "3", "C": "4",
                                 "dockerfile.bak": "5", "_x": "6", "Z/a": "7", "y/b": "8", "1": "9", "~t": "10",
                                 "a.b": "11", "a-b": "12", "a b": "13"}},
        "non-ascii-order": {"files": {"Dockerfile": "FROM x\n", "é.txt": "1", "e.txt": "2", "É2.txt": "3",
                                      "z.txt": "4", "日本.txt": "5", "Ω": "6", "ω2": "7", "ß": "8", "SS": "9",
                                      "İx": "10", "i2": "11", "ǅ": "12", "ǆ1": "13"}},
        "prefix-order": {"files": {"Dockerfile": "FROM x\n", "a/b": "1", "a.txt": "2", "a-b/c": "3", "ab": "4",
                                   "a0": "5"}},
        "symlinks": {"files": {"Dockerfile": "FROM x\n", "real.txt": "real", "dir/inner.txt": "inner"},
                     "symlinks": {"link.txt": "real.txt", "linkdir": "dir", "broken": "missing-target"}},
        "symlink-ignored-target": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "dir/\n",
                                             "dir/inner.txt": "inner"},
                                   "symlinks": {"alias": "dir"}},
        "binary-and-large": {"files": {"Dockerfile": "FROM x\n", "big.txt": big, "crlf.txt": "a\r\nb\r\n",
                                       "empty.txt": ""}},
        "dockerfile-elsewhere": {"files": {"docker/Dockerfile.gpu": "FROM x\n", "req.txt": "a\n"}},
        "ignore-everything": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "*\n"}},
        "ignore-all-but": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "*\n!Dockerfile\n", "x": "x"}},
        "double-star-slash": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "**/\n", "sub/a": "a", "top": "t"}},
        "pattern-with-spaces": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "  a b.txt  \n", "a b.txt": "x"}},
        "trailing-backslash-invalid": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "foo\\\n"}},
        "lone-bang-invalid": {"files": {"Dockerfile": "FROM x\n", ".amlignore": "!\n"}},
    }
    return specs


def materialise(spec, root):
    for d in spec.get("dirs", []):
        (root / d).mkdir(parents=True, exist_ok=True)
    for p, text in spec.get("files", {}).items():
        f = root / p
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(text.encode("utf-8"))
    for p, target in spec.get("symlinks", {}).items():
        os.symlink(target, root / p)


def write_build_cases():
    d = CASES / "build"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    vectors = []
    for name, spec in build_specs().items():
        p = d / f"{name}.json"
        p.write_text(json.dumps(spec, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        for dfp in (None, "Dockerfile", "docker/Dockerfile.gpu") if name in ("plain", "dockerfile-elsewhere") else (None, "Dockerfile"):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(os.path.realpath(tmp)) / "ctx"
                root.mkdir()
                materialise(spec, root)
                exp = run(lambda: Environment(build=BuildContext(path=str(root), dockerfile_path=dfp)))
            vectors.append({"id": f"build/{name}" + (f"+{dfp}" if dfp else ""), "kind": "build",
                            "build_spec": rel(p), "dockerfile_path": dfp, "expected": exp})
    # a remote build context is not content-addressed
    vectors.append({"id": "build/remote-url", "kind": "build-url", "url": "https://github.com/Azure/azureml-examples.git#main:cli",
                    "expected": run(lambda: Environment(build=BuildContext(path="https://github.com/Azure/azureml-examples.git#main:cli")))})
    return vectors


# ---------------------------------------------------------------------------------------------
# Environment YAMLs (inline or referenced conda, inference config, build), image-only cases.

def env_yaml_cases():
    d = CASES / "env"
    if d.exists():
        shutil.rmtree(d)
    (d / "ctx").mkdir(parents=True)
    (d / "ctx" / "Dockerfile").write_text("FROM python:3.11\n")
    (d / "conda.yml").write_text("name: x\nchannels: [conda-forge]\ndependencies:\n  - python=3.10\n  - pip:\n    - numpy==1.26.4\n")
    ic = "inference_config:\n  liveness_route: {port: 5001, path: /}\n  readiness_route: {port: 5001, path: /ready}\n  scoring_route: {port: 5001, path: /score}\n"
    docs = {
        "image-only": f"image: {IMAGE}\n",
        "image-untagged": "image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n",
        "image-digest": "image: python@sha256:" + "a" * 64 + "\n",
        "image-conda-file": f"image: {IMAGE}\nconda_file: conda.yml\n",
        "image-conda-inline": f"image: {IMAGE}\nconda_file:\n  name: x\n  dependencies: [python=3.10, {{pip: [a]}}]\n",
        "image-conda-inline-types": f"image: {IMAGE}\nconda_file:\n  name: x\n  version: 3.10\n  flag: yes\n  when: 2021-01-01\n",
        "image-conda-inline-empty": f"image: {IMAGE}\nconda_file: {{}}\n",
        "image-conda-missing": f"image: {IMAGE}\nconda_file: nope.yml\n",
        "image-ic": f"image: {IMAGE}\n" + ic,
        "image-ic-conda": f"image: {IMAGE}\nconda_file: conda.yml\n" + ic,
        "image-ic-port-string": f"image: {IMAGE}\ninference_config:\n  liveness_route: {{port: '5001', path: /}}\n  readiness_route: {{port: 5001, path: /}}\n  scoring_route: {{port: 5001, path: /score}}\n",
        "image-ic-missing-route": f"image: {IMAGE}\ninference_config:\n  liveness_route: {{port: 5001, path: /}}\n  scoring_route: {{port: 5001, path: /score}}\n",
        "image-ic-extra-key": f"image: {IMAGE}\ninference_config:\n  liveness_route: {{port: 5001, path: /}}\n  readiness_route: {{port: 5001, path: /}}\n  scoring_route: {{port: 5001, path: /score}}\n  extra: 1\n",
        "image-ic-path-special": f"image: {IMAGE}\ninference_config:\n  liveness_route: {{port: 1, path: '/a b'}}\n  readiness_route: {{port: 65535, path: /é}}\n  scoring_route: {{port: 8080, path: '#x'}}\n",
        "build-local": "build:\n  path: ctx\n",
        "build-local-dockerfile": "build:\n  path: ctx\n  dockerfile_path: Dockerfile\n",
        "build-local-dockerfile-empty": "build:\n  path: ctx\n  dockerfile_path: ''\n",
        "build-url": "build:\n  path: https://github.com/Azure/azureml-examples.git\n",
        "named": f"name: my-env\nversion: 3\nimage: {IMAGE}\nconda_file: conda.yml\ndescription: d\ntags: {{a: b}}\n",
        "with-schema": f"$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\nimage: {IMAGE}\nos_type: linux\n",
        "error-channels-at-top": f"image: {IMAGE}\nchannels: [a]\n",
        "error-unknown-field": f"image: {IMAGE}\ndocker: {{}}\n",
        "error-image-not-string": "image: 123\n",
    }
    vectors = []
    for name, text in docs.items():
        p = d / f"{name}.yml"
        p.write_text(text, encoding="utf-8")
        vectors.append({"id": f"env/{name}", "kind": "env-yaml", "path": rel(p), "expected": run(lambda: from_env_yaml(str(p)))})
    # inference config as a Python dict (Environment(inference_config=dict)), stored as YAML
    dicts = {
        "ic-dict": "liveness_route: {port: 5001, path: /}\nreadiness_route: {port: 5001, path: /}\nscoring_route: {port: 5001, path: /score}\n",
        "ic-dict-nested-types": "a: [1, 2.5, yes, null]\nb: {c: 'x y', d: é}\n",
        "ic-dict-empty": "{}\n",
    }
    for name, text in dicts.items():
        p = d / f"{name}.yml"
        p.write_text(text, encoding="utf-8")
        value = yaml.safe_load(text)
        for conda in (None, d / "conda.yml"):
            vectors.append({"id": f"env/{name}" + ("+conda" if conda else ""), "kind": "image-ic-dict", "image": IMAGE,
                            "inference_config": rel(p), "conda": rel(conda) if conda else None,
                            "expected": run(lambda: Environment(image=IMAGE, inference_config=value,
                                                                conda_file=str(conda) if conda else None))})
    for image in [IMAGE, "python:3.11", "mcr.microsoft.com/azureml/minimal-ubuntu20.04-py38-cpu-inference:latest", "é/x:1", "a" * 300]:
        vectors.append({"id": f"image/{image[:40]}", "kind": "image", "image": image, "expected": run(lambda: Environment(image=image))})
    return vectors


def corpus_cases():
    vectors = []
    index = (ROOT / "fixtures" / "corpus" / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]
    for line in index:
        cols = line.split("\t")
        local, kind = cols[0], cols[4]
        p = ROOT / "fixtures" / "corpus" / local
        if kind == "azureml-v2-yaml":
            vectors.append({"id": f"corpus/{local}", "kind": "env-yaml", "path": rel(p), "expected": run(lambda: from_env_yaml(str(p)))})
        elif kind == "conda-yaml":
            vectors.append({"id": f"corpus/{local}", "kind": "image-conda", "image": IMAGE, "conda": rel(p),
                            "expected": run(lambda: Environment(image=IMAGE, conda_file=str(p)))})
    # the hand-checked inputs of AZUREML.md 2.2
    for p in sorted((ROOT / "fixtures" / "azureml" / "inputs").rglob("*.y*ml")):
        vectors.append({"id": f"azureml-inputs/{p.relative_to(ROOT / 'fixtures' / 'azureml' / 'inputs')}", "kind": "env-yaml", "path": rel(p),
                        "expected": run(lambda: from_env_yaml(str(p)))})
    return vectors


def main():
    os.chdir(ROOT)
    vectors = corpus_cases() + env_yaml_cases() + write_conda_cases() + write_build_cases()
    ok = sum(1 for v in vectors if "error" not in v["expected"])
    doc = {
        "generator": "scripts/gen-azureml-vectors.py",
        "oracle": "azure-ai-ml==1.35.2 (PyYAML " + yaml.__version__ + ")",
        "count": len(vectors),
        "vectors": vectors,
    }
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n", encoding="utf-8")
    print(f"{len(vectors)} vectors ({ok} accepted, {len(vectors) - ok} rejected) -> {rel(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
