#!/usr/bin/env python3
"""Generate tests/vectors/azureml_anonymous_stress.json: what azure-ai-ml itself says about
a few hundred generated Azure ML v2 environments whose conda files stress both the YAML
emitter (quoting, unicode, multi-line and long scalars, anchors, comments, key order, numbers,
booleans and nulls where specs belong) and the spec grammar (odd names, `a:b`, extras, URLs,
`git+`, environment markers, `--index-url` lines, blanks), plus the corpus files that are
Azure ML v2 environments (a v2 YAML, a conda file with an image, a Docker build context).

    scripts/regen-vectors azureml_anonymous_stress.json
    # or: ORACLE_PYTHON=$(scripts/oracles/setup azureml) scripts/gen-azureml-stress-vectors.py

- ORACLE_PYTHON: a Python with azure-ai-ml installed (`scripts/oracles/setup azureml` makes
  one from the pinned `scripts/oracles/azureml.txt` and prints it);
- ORACLE: the oracle script that runs azure-ai-ml on an environment YAML, an image with a
  conda file, or a build context and prints what it computes (default below).

This script itself needs only the standard library. For every case it records azure-ai-ml's
anonymous version (and the conda text it hashes), or the error azure-ai-ml raises. The Rust
test `tests/it/azureml_stress.rs` replays every case through envaudit's own loading, hashing
and Azure identity, with no Python.
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "vectors" / "azureml_anonymous_stress.json"
ORACLE = os.environ.get("ORACLE", str(ROOT / "scripts" / "oracles" / "azureml_oracle.py"))
ORACLE_PYTHON = os.environ.get("ORACLE_PYTHON", "python3")
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1"
SEED = 20261205

# Cases azure-ai-ml accepts that envaudit refuses on purpose: id prefix -> the reason.
REFUSED = {
    "structure/deps-nested-list": "a list where a conda spec belongs is no spec at all; envaudit exits 2 at the place",
    "structure/deps-other-mapping": "only `pip:` may be a mapping in `dependencies`; conda has no installer for another key",
    "structure/pip-mapping-entry": "a mapping where a pip requirement belongs is no requirement at all",
    "structure/pip-not-a-list": "`pip:` must hold a list (conda's pip installer would iterate a string's characters)",
    "structure/empty-document": "conda refuses an empty environment file; there is no recipe to identify",
    "structure/channels-not-a-list": "`channels:` must hold a list",
    "structure/missing-include": "the `-r` file is read by pip at build time and by envaudit now; it does not exist",
}


# ---------------------------------------------------------------------------------------------
# YAML scalars in several styles

def dq(s):
    """A double-quoted scalar (astral characters as \\U escapes)."""
    out = json.dumps(s, ensure_ascii=True)
    return re.sub(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})",
                  lambda m: "\\U%08X" % (0x10000 + ((int(m.group(1), 16) - 0xD800) << 10)
                                         + (int(m.group(2), 16) - 0xDC00)), out)


def sq(s):
    return "'" + s.replace("'", "''") + "'"


def plain_ok(s):
    """Whether `s` reads back as the same string when written plain (a conservative check)."""
    if not s or s != s.strip() or "\n" in s or "\t" in s:
        return False
    if s[0] in "-?:,[]{}#&*!|>'\"%@`~" or ": " in s or " #" in s or s.endswith(":"):
        return False
    if re.fullmatch(r"[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|\.inf|\.nan|"
                    r"(?i:yes|no|on|off|true|false|null|y|n)|\d+:\d+(:\d+)*(\.\d*)?|\d{4}-\d\d?-\d\d?.*", s):
        return False
    return True


def styled(s, style):
    if style == "plain" and plain_ok(s):
        return s
    if style == "single" and "\n" not in s and all(ord(c) >= 0x20 or c == "\t" for c in s):
        return sq(s)
    return dq(s)


# ---------------------------------------------------------------------------------------------
# Spec pools

CONDA_SPECS = [
    # valid MatchSpecs
    "numpy", "numpy=1.26", "numpy==1.26.4", "numpy>=1.20,<2", "numpy 1.26.* py311*", "conda-forge::numpy",
    "pkgs/main/linux-64::numpy==1.26", "numpy[version='>=1.20']", "numpy=1.26=py311h_0", "python>=3.8,<3.12",
    "numpy *", "numpy=1.2|1.3", "numpy~=1.2", "_libgcc_mutex", "r-base", "libgcc-ng>=12", "numpy!=1.2",
    "https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py311h64a7726_0.conda", "pip", "setuptools<70",
    "azureml-core={{latest-pypi-version}}", "numpy=1.0.0a1", "numpy=1!2.0", "numpy>=1.0 <2.0", "1numpy",
    "num_py", "num.py", "UPPER==1", "numpy  ==1.0", "numpy=1.0+local",
    # what conda's grammar (or envaudit's reading of it) rejects
    "a:b", "pkg[extra]>=1", "git+https://github.com/x/y.git", "git+https://github.com/x/y.git@v1#egg=y",
    "numpy=>1.2", "numpy 1.2[x=1]", "numpy==", "=1.0", ">=1.0", "numpy>=1.0; python_version<'3.8'",
    "--index-url https://x.example/simple", "-e .", "./local/pkg", "numpy @ https://x.example/y.whl",
    "foo bar baz qux", "numpy[", "numpy]", "numpy >= 1 . 2", "é", "日本語", "numpy~", "*", "numpy ==1.0 ||",
    "numpy,scipy", "numpy;", "numpy#comment", "numpy=1.0=", "::numpy", "conda-forge::", "numpy[build=]",
    "numpy 1.0 py 3", "a..b", "-numpy", ".numpy", "numpy@1.0", "numpy=1.0=py38*=x", "pytorch::pytorch[cuda]",
    "numpy'", '"numpy"', "numpy\\", "numpy$VERSION", "${PKG}", "numpy >=1.0, <2.0", "numpy=1.0 =py38",
    "numpy\ttab", "num+py", "numpy=v1.0", "numpy==1.0.*.*", "numpy=latest", "numpy@", "http://x",
    "file:///tmp/x.tar.bz2", "s3://bucket/pkg.conda", "numpy[version=1.0", "numpy[version='1.0]",
    "numpy=1.0|", "numpy<>1", "numpy===1.0", "numpy=*=*", "numpy ~=", "numpy!", "numpy>=1.0,,<2",
]

PIP_SPECS = [
    # valid requirements lines
    "numpy", "numpy==1.26.4", "numpy>=1.20,<2", "numpy[extra]>=1", "numpy ; python_version < '3.8'",
    "requests[security,socks]==2.31.0", "git+https://github.com/x/y.git@main#egg=y",
    "git+https://github.com/x/y.git@0123456789abcdef0123456789abcdef01234567", "y @ git+https://github.com/x/y.git",
    "https://files.example.com/y-1.0-py3-none-any.whl",
    "y @ https://files.example.com/y-1.0-py3-none-any.whl#sha256=" + "a" * 64,
    "--index-url https://pypi.example.com/simple", "--extra-index-url=https://x.example/simple",
    "-f https://download.pytorch.org/whl/torch_stable.html", "--find-links ./wheels", "--pre",
    "--no-binary :all:", "--only-binary=:all:", "--trusted-host pypi.example.com",
    "-e git+https://github.com/x/y.git#egg=y", "-e .", "./local/pkg", "numpy==1.26.4 --hash=sha256:" + "b" * 64,
    "torch==2.0.0+cu118", "numpy~=1.26", "numpy===1.26.4", "numpy!=1.2.*", "Django>=3.2,!=4.0.*",
    "mldesigner=={{latest-pypi-version}}", "azureml-defaults", "numpy==1.26.4 # pinned",
    "-r https://example.com/req.txt", "--prefer-binary", "--use-feature=fast-deps", "Numpy_Extra.Pkg==1",
    "numpy>=1.0; sys_platform == 'linux' and python_version >= '3.8'", "x[a,b]>=1;extra=='c'",
    # what pip's grammar rejects
    "numpy>=", "numpy==", "a:b", "pkg[extra", "numpy --index-url x", "numpy>=1.0,<",
    "x; python_version >= '3.8' xor os_name == 'nt'", "numpy ==1.0 ==2.0", "@", "numpy @", "-e",
    "--extra-index-url", "numpy>1.0<2.0", "numpy=1.0", "numpy 1.0", ">=1.0", "numpy[extra]]", "numpy;",
    "numpy; foo == 'bar'", "numpy; python_version >", "é==1", "日本語", "numpy\\", "numpy --hash",
    "numpy --no-deps", "pandas --pre", "numpy=>1.0", "-numpy", "numpy(1.0)", "numpy>=1.0 <2.0",
    "numpy~=1", "numpy==1.0.*.*", "numpy ===", "git+", "numpy @ ", "[extra]", "numpy[é]",
]

SCALARS = ["3.10", "1", "0", "-1", "+1", "1e3", "1.0e+3", "0x1F", "0o17", "012", "1_000", ".inf", "-.inf",
           ".nan", "true", "false", "yes", "no", "on", "off", "Yes", "NO", "y", "n", "null", "~", "",
           "2021-01-01", "2001-12-14 21:59:43.10 -5", "1:30", "190:20:30.15", "3.10.1", "0.", ".5"]


def conda_doc(conda=(), pip=None, name="stress", channels=("conda-forge",), order=("name", "channels", "dependencies"),
              indent=2, seq_indent=True, extra=""):
    """A conda file; `conda` and `pip` items are already-written YAML scalars."""
    pad = " " * indent
    item = pad if seq_indent else ""
    parts = {}
    if name is not None:
        parts["name"] = f"name: {name}\n"
    if channels is not None:
        parts["channels"] = "channels:\n" + "".join(f"{item}- {c}\n" for c in channels)
    deps = "dependencies:\n" + "".join(f"{item}- {c}\n" for c in conda)
    if pip is not None:
        deps += f"{item}- pip:\n" + "".join(f"{item}{pad}- {p}\n" for p in pip)
    parts["dependencies"] = deps
    return "".join(parts[k] for k in order if k in parts) + extra


def env_doc(conda_name="conda.yml"):
    return f"image: {IMAGE}\nconda_file: {conda_name}\n"


def inline_env(conda_text):
    body = "".join(("  " + l) if l else "" for l in conda_text.splitlines(keepends=True))
    return f"image: {IMAGE}\nconda_file:\n{body}"


# ---------------------------------------------------------------------------------------------
# Cases: (id, {relative path: text})

def cases():
    out = []

    def add(cid, conda_text, inline=False):
        if inline:
            out.append((cid, {"env.yml": inline_env(conda_text)}))
        else:
            out.append((cid, {"env.yml": env_doc(), "conda.yml": conda_text}))

    styles = ["plain", "single", "double"]
    for i, s in enumerate(CONDA_SPECS):
        add(f"conda-spec/{i:03}", conda_doc(["python=3.10", styled(s, styles[i % 3]), "pip"]))
    for i, s in enumerate(PIP_SPECS):
        add(f"pip-spec/{i:03}", conda_doc(["python=3.10", "pip=24.0"], [styled(s, styles[i % 3]), "ok==1.0"]))
    for i, s in enumerate(SCALARS):
        add(f"scalar/conda-{i:02}", conda_doc(["python=3.10", s]))
        add(f"scalar/pip-{i:02}", conda_doc(["pip"], [s, "ok==1.0"]))
        add(f"scalar/quoted-{i:02}", conda_doc([sq(s), "pip"], [dq(s)]))
    add("scalar/name-number", conda_doc(["numpy"], name="3.10"))
    add("scalar/name-bool", conda_doc(["numpy"], name="yes"))
    add("scalar/name-null", conda_doc(["numpy"], name="~"))
    add("scalar/channel-number", conda_doc(["numpy"], channels=["1.0", "true", "conda-forge"]))
    add("scalar/variables", conda_doc(["numpy"], extra="variables:\n  A: 1.50\n  B: yes\n  C:\n  D: '0x1F'\n"))

    # the YAML emitter: multi-line, long, unicode and odd scalars where specs belong
    long_spec = "numpy>=1.20," + ",".join(f"!=1.{i}.0" for i in range(25))
    long_words = "numpy " + " ".join(f"w{i}" for i in range(30))
    emitter = {
        "literal-block": "dependencies:\n  - |\n    numpy\n    scipy\n  - pip:\n    - |-\n      pandas==2.0\n",
        "folded-block": "dependencies:\n  - >\n    numpy\n    >=1.0\n  - pip:\n    - >-\n      requests\n      ==2.31\n",
        "keep-block": "dependencies:\n  - |+\n    numpy\n\n  - pip\n",
        "dq-newline": "dependencies:\n  - \"numpy\\n>=1.0\"\n  - pip:\n    - \"a\\nb\"\n",
        "dq-tab": "dependencies:\n  - \"numpy\\t>=1.0\"\n",
        "dq-escapes": "dependencies:\n  - \"\\x41\\u00e9\\U0001F600\"\n  - \"\\N\\_x\"\n",
        "sq-multiline-source": "dependencies:\n  - 'numpy\n    >=1.0'\n  - pip:\n    - 'requests\n\n      ==2'\n",
        "plain-multiline-source": "dependencies:\n  - numpy\n    >=1.0\n  - pip:\n    - requests\n      ==2\n",
        "long-plain": f"dependencies:\n  - {long_spec}\n",
        "long-words": f"dependencies:\n  - {long_words}\n  - pip:\n    - {dq(long_words + ' é')}\n",
        "long-single": f"dependencies:\n  - {sq('#' + long_words)}\n",
        "long-double-unicode": f"dependencies:\n  - {dq('é' + long_words + ' 日本' * 10)}\n",
        "long-key-like": f"dependencies:\n  - {dq('k' * 130 + ': v')}\n",
        "unicode-plain": "dependencies:\n  - numpé\n  - 日本語==1\n  - pip:\n    - naïve==1.0\n    - 😀\n",
        "unicode-nbsp": f"dependencies:\n  - {dq('numpy' + chr(0xa0) + '==1')}\n",
        "unicode-line-sep": f"dependencies:\n  - {dq('numpy' + chr(0x2028) + 'x')}\n",
        "unicode-nel": f"dependencies:\n  - {dq('numpy' + chr(0x85) + 'x')}\n",
        "unicode-bom-inside": f"dependencies:\n  - {dq(chr(0xfeff) + 'numpy')}\n",
        "unicode-combining": f"dependencies:\n  - {dq('nu' + chr(0x301) + 'mpy')}\n",
        "control-char": f"dependencies:\n  - {dq('numpy' + chr(1))}\n",
        "colon-space": "dependencies:\n  - 'numpy: 1.0'\n  - pip:\n    - 'a: b'\n",
        "hash-space": "dependencies:\n  - 'numpy #1'\n  - pip:\n    - 'numpy #c'\n    - \"#only\"\n",
        "leading-trailing-space": "dependencies:\n  - ' numpy '\n  - pip:\n    - '  numpy==1  '\n    - '   '\n",
        "dash-like": "dependencies:\n  - '- numpy'\n  - '--'\n  - pip:\n    - '- x'\n",
        "quote-chars": "dependencies:\n  - \"it's\"\n  - 'say \"x\"'\n  - pip:\n    - \"a'b\"\n",
        "backslashes": "dependencies:\n  - 'C:\\path\\pkg'\n  - \"a\\\\b\"\n",
        "indicator-start": "dependencies:\n  - '*x'\n  - '&x'\n  - '!x'\n  - '%x'\n  - '@x'\n  - '`x'\n  - '|x'\n  - '>x'\n",
        "brackets": "dependencies:\n  - '[numpy]'\n  - '{numpy}'\n  - 'a,b'\n  - pip:\n    - '[x]'\n",
        "doc-markers": "dependencies:\n  - '---'\n  - '...'\n  - pip:\n    - '--- x'\n",
        "anchors": "dependencies:\n  - &np numpy>=1.0\n  - *np\n  - pip:\n    - &r requests\n    - *r\n",
        "anchor-invalid-spec": "dependencies:\n  - &bad 'a:b'\n  - *bad\n",
        "anchor-list": "base: &deps\n  - numpy\n  - a:b\ndependencies: *deps\n",
        "anchor-pip": "x: &p\n  - numpy>=\n  - ok\ndependencies:\n  - pip: *p\n",
        "merge-key": "base: &b {name: x}\n<<: *b\ndependencies: [numpy]\n",
        "comments": "# head\nname: x # n\n# mid\ndependencies: # d\n  # before\n  - numpy # c\n  - 'a:b' # c2\n  - pip: # p\n    # in\n    - numpy>= # c3\n",
        "key-order-deps-first": conda_doc(["numpy", "a:b"], ["x==1"], order=("dependencies", "channels", "name")),
        "key-order-channels-last": conda_doc(["numpy"], order=("name", "dependencies", "channels")),
        "no-name": conda_doc(["numpy", "a:b"], name=None),
        "no-channels": conda_doc(["numpy"], channels=None),
        "seq-not-indented": conda_doc(["numpy", "a:b"], ["numpy>="], seq_indent=False),
        "indent-4": conda_doc(["numpy", "'a:b'"], ["x==1"], indent=4),
        "flow-deps": "dependencies: [numpy, 'a:b', \"pkg[extra]>=1\", {pip: [numpy>=, ok]}]\n",
        "flow-mapping": "{name: x, channels: [conda-forge], dependencies: [numpy, {pip: ['a b']}]}\n",
        "several-pip-sections": "dependencies:\n  - pip:\n    - a==1\n  - numpy\n  - pip:\n    - b>=\n",
        "pip-empty-list": "dependencies:\n  - pip\n  - pip: []\n",
        "pip-null": "dependencies:\n  - pip\n  - pip:\n",
        "pip-null-entry": "dependencies:\n  - pip:\n    -\n    - ok==1\n",
        "null-entry": "dependencies:\n  -\n  - numpy\n",
        "null-entries": "dependencies:\n  - ~\n  - null\n  - numpy\n",
        "empty-string-entry": "dependencies:\n  - ''\n  - \"\"\n",
        "duplicate-keys": "dependencies: [a:b]\ndependencies: [numpy]\n",
        "duplicate-entries": "dependencies:\n  - a:b\n  - a:b\n",
        "crlf": "name: x\r\ndependencies:\r\n  - numpy\r\n  - a:b\r\n  - pip:\r\n    - numpy>=\r\n",
        "bom": "\ufeffname: x\ndependencies:\n  - a:b\n",
        "no-trailing-newline": "dependencies:\n  - numpy\n  - a:b",
        "trailing-spaces": "dependencies:   \n  - numpy   \n  - a:b   \n",
        "tab-in-plain": "dependencies:\n  - numpy\t>=1\n",
        "explicit-document": "---\ndependencies:\n  - a:b\n...\n",
        "yaml-directive": "%YAML 1.1\n---\ndependencies:\n  - a:b\n",
        "tags": "dependencies:\n  - !!str 3.10\n  - !!str yes\n  - pip:\n    - !!str 1.0\n",
        "prefix-and-extra-keys": "name: x\nprefix: /opt/env\nfoo: [1, 2]\ndependencies:\n  - a:b\n",
        "template-invalid": "dependencies:\n  - azureml-core=={{latest-pypi-version}}:x\n  - pip:\n    - 'x=={{latest-pypi-version}} ;'\n",
        "index-url-lines": "dependencies:\n  - pip\n  - pip:\n    - --index-url https://a.example/simple\n    - --extra-index-url https://b.example/simple\n    - -f ./wheels\n    - numpy\n",
        "option-after-requirement": "dependencies:\n  - pip:\n    - numpy --index-url https://a.example/simple\n    - torch -f https://x\n",
        "blank-and-comment-pip": "dependencies:\n  - pip:\n    - ''\n    - '# comment'\n    - '  # indented'\n    - numpy\n",
        "remote-include": "dependencies:\n  - pip:\n    - -r https://example.com/requirements.txt\n    - -c https://example.com/c.txt\n",
        "git-urls": "dependencies:\n  - git+https://github.com/x/y.git\n  - pip:\n    - git+https://github.com/x/y.git\n    - git+ssh://git@github.com/x/y.git@main\n",
        "markers": "dependencies:\n  - \"numpy; python_version < '3.8'\"\n  - pip:\n    - \"numpy; python_version < '3.8'\"\n    - \"numpy; python_version <\"\n",
        "extras": "dependencies:\n  - 'pkg[extra]>=1'\n  - 'pkg[extra,other]'\n  - pip:\n    - 'pkg[extra]>=1'\n    - 'pkg[extra'\n",
    }
    for k, v in emitter.items():
        add(f"emitter/{k}", v)

    # the same files given inline in the environment YAML
    inline = ["numpy", "a:b", "'pkg[extra]>=1'", "git+https://github.com/x/y.git", "'3.10'", "3.10", "yes",
              "\"numpy; python_version<'3.8'\"", "'--index-url https://x'", "é", "~"]
    for i, s in enumerate(inline):
        add(f"inline/conda-{i:02}", conda_doc(["python=3.10", s]), inline=True)
        add(f"inline/pip-{i:02}", conda_doc(["pip"], [s, "numpy>="]), inline=True)

    # seeded random mixes of specs, styles and layouts
    rng = random.Random(SEED)
    for i in range(110):
        conda = [styled(rng.choice(CONDA_SPECS + SCALARS), rng.choice(styles)) for _ in range(rng.randint(1, 6))]
        pip = None
        if rng.random() < 0.7:
            pip = [styled(rng.choice(PIP_SPECS + SCALARS), rng.choice(styles)) for _ in range(rng.randint(1, 5))]
        conda = [c if c else "''" for c in conda]
        pip = [p if p else "''" for p in pip] if pip is not None else None
        if rng.random() < 0.2 and len(conda) > 1:
            conda[0] = "&a " + conda[0]
            conda.append("*a")
        if rng.random() < 0.3:
            conda = [c + (" # c" if not c.endswith("\\") else "") for c in conda]
        order = rng.choice([("name", "channels", "dependencies"), ("dependencies", "name", "channels"),
                            ("channels", "dependencies", "name")])
        text = conda_doc(conda, pip, name=rng.choice(["x", "stress", "'1.0'", None]),
                         channels=rng.choice([("conda-forge",), ("conda-forge", "defaults"), None]),
                         order=order, indent=rng.choice([2, 4]), seq_indent=rng.random() < 0.8)
        if rng.random() < 0.1:
            text = text.replace("\n", "\r\n")
        add(f"random/{i:03}", text, inline=rng.random() < 0.15)

    # shapes that are not about specs
    add("structure/deps-nested-list", "dependencies:\n  - [numpy]\n")
    add("structure/deps-other-mapping", "dependencies:\n  - numpy\n  - conda: [x]\n")
    add("structure/pip-mapping-entry", "dependencies:\n  - pip:\n    - {a: b}\n")
    add("structure/pip-not-a-list", "dependencies:\n  - pip: numpy\n")
    add("structure/top-level-list", "- numpy\n- scipy\n")
    add("structure/top-level-scalar", "numpy\n")
    add("structure/empty-document", "")
    add("structure/channels-not-a-list", "channels: conda-forge\ndependencies: [numpy]\n")
    add("structure/missing-include", "dependencies:\n  - pip:\n    - -r missing-requirements.txt\n")
    add("structure/yaml-error", "dependencies: [numpy\n")
    add("structure/yaml-tab-indent", "dependencies:\n\t- numpy\n")
    return out


# ---------------------------------------------------------------------------------------------
# The oracle

def oracle(args):
    p = subprocess.run([ORACLE_PYTHON, ORACLE, *args], capture_output=True, text=True)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    if not lines:
        sys.exit(f"the oracle printed nothing for {args[:3]}...: {p.stderr[-2000:]}")
    return lines


def expected(answer, tmp):
    if "error" in answer:
        first = answer["error"].splitlines()[0] if answer["error"] else ""
        return {"error": first.replace(str(tmp) + "/", "").replace(str(ROOT) + "/", "")}
    out = {"version": answer.get("version") if answer.get("name") == "CliV2AnonymousEnvironment" else None}
    if answer.get("translated_conda_file"):
        out["translated_conda_file"] = answer["translated_conda_file"]
    if answer.get("upload_hash"):
        out["upload_hash"] = answer["upload_hash"]
    return out


def run_cases(all_cases):
    vectors = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(os.path.realpath(tmp))
        paths = []
        for n, (cid, files) in enumerate(all_cases):
            d = tmp / f"{n:04}"
            d.mkdir()
            for rel, text in files.items():
                (d / rel).write_bytes(text.encode("utf-8"))
            paths.append(str(d / "env.yml"))
        answers = {}
        for line in oracle(paths):
            a = json.loads(line)
            answers[a.pop("source")] = a
        for (cid, files), path in zip(all_cases, paths):
            v = {"id": cid, "files": files, "expected": expected(answers[path], tmp)}
            for prefix, reason in REFUSED.items():
                if cid.startswith(prefix):
                    v["refused"] = reason
            vectors.append(v)
    return vectors


def corpus_vectors():
    """The corpus files that are Azure ML v2 environments, as azure-ai-ml reads each kind."""
    vectors = []
    index = (ROOT / "fixtures" / "corpus" / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]
    for row in index:
        cols = row.split("\t")
        local, kind = cols[0], cols[4]
        p = ROOT / "fixtures" / "corpus" / local
        rel = str(p.relative_to(ROOT))
        name = p.name.lower()
        if kind == "azureml-v2-yaml":
            args, v = [str(p)], {"id": f"corpus/{local}", "kind": "env-yaml", "path": rel}
        elif kind == "conda-yaml" or (kind == "curated-asset" and name.startswith("conda_dependencies")):
            args = ["--image", IMAGE, "--conda", str(p)]
            v = {"id": f"corpus/{local}", "kind": "image-conda", "image": IMAGE, "path": rel}
        elif kind == "dockerfile" or (kind == "curated-asset" and name == "dockerfile"):
            args = ["--build", str(p.parent)] + ([] if p.name == "Dockerfile" else ["--dockerfile-path", p.name])
            v = {"id": f"corpus/{local}", "kind": "build", "path": rel}
        else:
            vectors.append({"id": f"corpus/{local}", "kind": "not-azureml-v2", "path": rel, "corpus_kind": kind})
            continue
        answer = json.loads("\n".join(oracle(args)))
        v["expected"] = expected(answer, ROOT)
        vectors.append(v)
    return vectors


def main():
    os.chdir(ROOT)
    versions = subprocess.run(
        [ORACLE_PYTHON, "-c", "import importlib.metadata as m; print(m.version('azure-ai-ml'), m.version('PyYAML'))"],
        capture_output=True, text=True, check=True).stdout.split()
    stress = run_cases(cases())
    corpus = corpus_vectors()
    doc = {
        "generator": "scripts/gen-azureml-stress-vectors.py",
        "oracle": f"azure-ai-ml=={versions[0]} (PyYAML {versions[1]})",
        "image": IMAGE,
        "seed": SEED,
        "count": len(stress),
        "vectors": stress,
        "corpus": corpus,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n", encoding="utf-8")
    ok = sum(1 for v in stress if "error" not in v["expected"])
    cok = sum(1 for v in corpus if "expected" in v and "error" not in v["expected"])
    print(f"{len(stress)} stress cases ({ok} accepted by azure-ai-ml, {len(stress) - ok} rejected); "
          f"{len(corpus)} corpus files ({cok} with an anonymous version) -> {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
