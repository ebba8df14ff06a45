#!/usr/bin/env python3
"""Generate tests/vectors/marker_eval.json: PEP 508 marker evaluation by `packaging`.

Each case is a marker, the name of an environment (defined once under "environments"), the
requested extras and what `packaging.markers.Marker` says: true, false, "parse-error"
(InvalidMarker) or "eval-error" (UndefinedComparison, UndefinedEnvironmentName). Several
extras mean "any of them" (as pip evaluates a requirement once per extra); none means
`extra == ""`.

Usage (the packaging version is recorded in the output):

    scripts/regen-vectors marker_eval.json
    # or: $(scripts/oracles/setup packaging26) scripts/gen-marker-vectors.py > tests/vectors/marker_eval.json
"""

import itertools
import json
import random
import sys
import warnings

import packaging
from packaging.markers import (
    InvalidMarker,
    Marker,
    UndefinedComparison,
    UndefinedEnvironmentName,
)

# Python warns about unknown escapes such as "\d" in marker strings; they are still valid.
warnings.simplefilter("ignore")


def linux(full, machine):
    """What envaudit's MarkerEnv::linux(full, machine) must produce."""
    major, minor = full.split(".")[:2]
    minor = "".join(itertools.takewhile(str.isdigit, minor))
    return {
        "python_version": f"{major}.{minor}",
        "python_full_version": full,
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_machine": machine,
        "platform_system": "Linux",
        "platform_release": "",
        "platform_version": "",
        "platform_python_implementation": "CPython",
        "implementation_name": "cpython",
        "implementation_version": full,
    }


ENVIRONMENTS = {}
for full in ["3.8.18", "3.10.14", "3.11.9", "3.12.4"]:
    for machine in ["x86_64", "aarch64"]:
        ENVIRONMENTS[f"linux-{machine}-py{full}"] = linux(full, machine)
ENVIRONMENTS["linux-x86_64-py3.13.0rc1"] = linux("3.13.0rc1", "x86_64")
# An untagged source build: packaging reads "3.12.0+" as "3.12.0+local".
ENVIRONMENTS["linux-x86_64-py3.12.0+"] = linux("3.12.0+", "x86_64")
ENVIRONMENTS["darwin-arm64-py3.11.6"] = {
    "python_version": "3.11",
    "python_full_version": "3.11.6",
    "os_name": "posix",
    "sys_platform": "darwin",
    "platform_machine": "arm64",
    "platform_system": "Darwin",
    "platform_release": "23.4.0",
    "platform_version": "Darwin Kernel Version 23.4.0: Fri Mar 15 00:10:42 PDT 2024",
    "platform_python_implementation": "CPython",
    "implementation_name": "cpython",
    "implementation_version": "3.11.6",
}
ENVIRONMENTS["win32-amd64-py3.10.11"] = {
    "python_version": "3.10",
    "python_full_version": "3.10.11",
    "os_name": "nt",
    "sys_platform": "win32",
    "platform_machine": "AMD64",
    "platform_system": "Windows",
    "platform_release": "10",
    "platform_version": "10.0.19045",
    "platform_python_implementation": "CPython",
    "implementation_name": "cpython",
    "implementation_version": "3.10.11",
}
ENVIRONMENTS["kernel-x86_64-py3.9.19"] = {
    **linux("3.9.19", "x86_64"),
    "platform_release": "5.15.0-1051-azure",
    "platform_version": "#59~20.04.1-Ubuntu SMP Thu Nov 16 14:13:02 UTC 2023",
}
ENVIRONMENTS["pypy-x86_64-py3.10.13"] = {
    **linux("3.10.13", "x86_64"),
    "platform_python_implementation": "PyPy",
    "implementation_name": "pypy",
    "implementation_version": "7.3.15",
}
# Unusual versions in the version-valued variables, to exercise specifier edge cases.
ENVIRONMENTS["odd-a"] = {
    **linux("3.8.post1", "x86_64"),
    "implementation_version": "3.8rc1",
    "platform_release": "3.8.0+ubuntu.1",
}
ENVIRONMENTS["odd-b"] = {
    **linux("3.8.dev0", "x86_64"),
    "implementation_version": "1!3.8",
    "platform_release": "V3.8.0-1",
}
ENVIRONMENTS["odd-c"] = {
    **linux("3.8.0", "x86_64"),
    "implementation_version": "3.8.1.dev2",
    "platform_release": "not a version",
}

REAL = [n for n in ENVIRONMENTS if not n.startswith("odd-")]
ODD = [n for n in ENVIRONMENTS if n.startswith("odd-")]
rng = random.Random(508)


def expected(marker, env, extras):
    try:
        m = Marker(marker)
    except InvalidMarker:
        return "parse-error"
    try:
        return any(m.evaluate({**env, "extra": e}) for e in (extras or [""]))
    except (UndefinedComparison, UndefinedEnvironmentName):
        return "eval-error"


cases = []


def add(marker, envs, extras_lists=([],)):
    for env in envs:
        for extras in extras_lists:
            cases.append(
                {
                    "marker": marker,
                    "env": env,
                    "extras": list(extras),
                    "expected": expected(marker, ENVIRONMENTS[env], extras),
                }
            )


def some(names, k):
    return rng.sample(names, k)


VERSION_OPS = ["<", "<=", "==", "!=", ">=", ">", "~=", "==="]
ALL_OPS = VERSION_OPS + ["in", "not in"]

# Version-valued variables against typical values, in the real environments.
for var, values in [
    ("python_version", ["3.8", "3.10", "3.11", "3.12", "3", "3.9.*", "3.1", "2.7"]),
    ("python_full_version", ["3.11.9", "3.8.18", "3.12", "3.13.0rc1", "3.12.0", "3.*"]),
    ("implementation_version", ["3.10", "7.3", "3.11.6"]),
    ("platform_release", ["5.15", "23.4.0", "10", "5.15.0-1051-azure"]),
]:
    for op in ALL_OPS:
        for value in values:
            add(f'{var} {op} "{value}"', some(REAL, 2))

# Specifier edge cases (pre, post, dev, local, epoch, wildcard, ~=, ===).
SPECS = [
    "3.8", "3.8.0", "3.8.post1", "3.8.post0", "3.8rc1", "3.8rc2", "3.8.dev0", "3.8.dev1",
    "3.8.*", "3.7.*", "3.8.0.*", "3.8.0+ubuntu.1", "3.8+other", "1!3.8", "3.7", "3.9",
    "3.8a1", "3.8.1", "1!3.*",
]
for var in ["python_full_version", "implementation_version", "platform_release"]:
    for op in VERSION_OPS:
        for spec in SPECS:
            add(f"{var} {op} '{spec}'", some(ODD, 1))

# Invalid specifiers fall back to string comparison (or are undefined for ~= and ===).
for op in ALL_OPS:
    for value in ["3.8 .1", "3.8;", "abc", "", " 3.8 ", "3.8)", "=3.8", "3.x", "3.8.*.1", "3.8+loc"]:
        add(f'python_version {op} "{value}"', some(REAL + ODD, 1))

# String-valued variables and their legacy spellings.
STRINGS = {
    "os_name": ["posix", "nt", "pos"],
    "os.name": ["posix", "nt"],
    "sys_platform": ["linux", "darwin", "win32", "lin"],
    "sys.platform": ["linux", "win32"],
    "platform_machine": ["x86_64", "aarch64", "AMD64", "arm64", "x86"],
    "platform.machine": ["x86_64", "aarch64"],
    "platform_system": ["Linux", "Darwin", "Windows", "linux"],
    "platform_version": ["", "10.0.19045", "Darwin", "10.0"],
    "platform.version": ["10.0.19045", ""],
    "platform_python_implementation": ["CPython", "PyPy", "cpython"],
    "platform.python_implementation": ["CPython", "PyPy"],
    "python_implementation": ["CPython", "PyPy"],
    "implementation_name": ["cpython", "pypy"],
}
for var, values in STRINGS.items():
    for op in ALL_OPS:
        for value in values:
            add(f'{var} {op} "{value}"', some(REAL, 2))

# Reversed operands.
for op in ALL_OPS:
    for value, var in [
        ("3.8", "python_version"),
        ("3.11", "python_version"),
        ("3.10.14", "python_full_version"),
        ("3.*", "python_full_version"),
        ("linux", "sys_platform"),
        ("x86", "platform_machine"),
        ("Darwin Kernel", "platform_version"),
    ]:
        add(f'"{value}" {op} {var}', some(REAL, 2))

# Extras, normalised on both sides (PEP 685).
EXTRAS_LISTS = [[], ["plot"], ["plot-x"], ["PLOT_x"], ["gpu", "plot"], ["Plot.X"], [""]]
for marker in [
    'extra == "plot"',
    'extra == "Plot_X"',
    'extra == "plot..x"',
    'extra != "plot"',
    '"plot" == extra',
    '"PLOT-X" == extra',
    'extra == ""',
    'extra in "plot,gpu"',
    '"plot" in extra',
    'extra not in "gpu"',
    'extra < "z"',
    'extra <= "plot"',
    'extra ~= "plot"',
    'extra === "plot"',
    'python_version < "3.11" and extra == "plot"',
    'extra == "gpu" or extra == "plot"',
    'extra == "gpu" and extra == "plot"',
]:
    add(marker, some(REAL, 2), EXTRAS_LISTS)

# and/or precedence, parentheses, spacing.
COMBOS = [
    'os_name == "nt" and python_version < "3" or sys_platform == "linux"',
    'os_name == "nt" and (python_version < "3" or sys_platform == "linux")',
    '(os_name == "nt" and python_version < "3") or sys_platform == "linux"',
    'sys_platform == "linux" or os_name == "nt" and python_version < "3"',
    '(sys_platform == "linux" or os_name == "nt") and python_version < "3"',
    'python_version >= "3.10" and python_version < "3.12" and platform_machine == "x86_64"',
    'python_version < "3.9" or python_version >= "3.12" or platform_machine == "arm64"',
    '((python_version >= "3.10"))',
    '( python_version >= "3.10" and ( sys_platform == "win32" or sys_platform == "darwin" ) )',
    'python_version>="3.10"and sys_platform=="linux"',
    '(python_version>="3.10")or(sys_platform=="win32")',
    '\tpython_version >= "3.10"\t',
    '  os_name == "posix"  ',
    "platform_machine in 'x86_64 aarch64' and python_version not in '3.8 3.9'",
    'implementation_name == "pypy" or platform_python_implementation == "CPython"',
    'python_full_version ~= "3.11.0" and python_version === "3.11"',
    'python_version == "3.*" and python_full_version != "3.12.*"',
    'platform_release >= "5" and platform_system == "Linux"',
]
for marker in COMBOS:
    add(marker, REAL)

# Odd but valid forms: variable against variable, string against string, escapes. (Not
# `\N{name}` escapes, which envaudit rejects: it carries no Unicode name table.)
ODDITIES = [
    "python_version == python_version",
    "os_name == os_name",
    'os_name in "os_name"',
    "os_name == sys_platform",
    "python_version == python_full_version",
    'sys_platform == "linux" and os_name != os.name',
    '"3.11" == "python_version"',
    '"posix" == "os_name"',
    '"plot" == "extra"',
    '"x" == "y"',
    '"a" in "extras"',
    '"a" in extras',
    '"a" in dependency_groups',
    'os_name == "p\\x6fsix"',
    'os_name == "pos\\u0069x"',
    'os_name == "\\160osix"',
    'os_name == "posix\\\\"',
    'platform_version == "\\d"',
    'sys_platform == "lin\\\nux"',
    "os_name == 'po\"six'",
    'os_name == "po\'six"',
    'os_name == "\\x4"',
    'os_name == "\\U00110000"',
    'python_full_version == "3.12.0+local"',
    'python_full_version > "3.12.0"',
    'python_full_version == "3.12.0"',
    'python_full_version === "3.12.0+"',
]
for marker in ODDITIES:
    add(marker, some(REAL, 3) + ["linux-x86_64-py3.12.0+"])

# Not markers.
INVALID = [
    "",
    " ",
    "python_version",
    'python_version "3.8"',
    'python_version >> "3.8"',
    'python_version = "3.8"',
    'python_version == 3.8',
    'python_version == "3.8',
    "python_version == '3.8\"",
    'python_version == "3.8" and',
    'python_version == "3.8" or or os_name == "nt"',
    '(python_version == "3.8"',
    'python_version == "3.8")',
    '()',
    'python_version == "3.8" && os_name == "nt"',
    'python_version == "3.8" AND os_name == "nt"',
    'Python_Version == "3.8"',
    'python_versions == "3.8"',
    'platform.release == "5"',
    'platform.system == "Linux"',
    'os-name == "posix"',
    'os_name not  in "posix"',
    'os_name notin "posix"',
    'os_name not == "posix"',
    'os_name in"posix"',
    'os_name=="posix"andos_name=="posix"',
    'os_name == "posix" andos_name == "posix"',
    'os_name == "posix"\n',
    'os_name\n== "posix"',
    'os_name == "a\nb"',
    'os_name == "a\x00b"',
    'os_name == "posix";',
    'os_name == "posix" # comment',
    "'posix' == 'posix' == 'posix'",
    'os_name <> "posix"',
    'os_name =< "posix"',
    'not os_name == "posix"',
    'os_name ! = "posix"',
    'os_name\u00a0== "posix"',
]
for marker in INVALID:
    add(marker, some(REAL, 1))

header = {
    "generator": "scripts/gen-marker-vectors.py",
    "packaging_version": packaging.__version__,
    "python_version": ".".join(map(str, sys.version_info[:3])),
    "environments": ENVIRONMENTS,
}
# One case per line, so that a regenerated file diffs case by case.
out = json.dumps(header, indent=1, ensure_ascii=False)[:-2]
out += ',\n "cases": [\n'
out += ",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in cases)
out += "\n ]\n}\n"
sys.stdout.write(out)
