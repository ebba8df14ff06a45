#!/usr/bin/env python3
"""Generate tests/vectors/specifier_contains.json: PEP 440 specifiers by `packaging`.

Each specifier is given to `packaging.specifiers.Specifier`. A rejected one is recorded
with `contains: null`; an accepted one with one character per version of `versions`:
`1` when `Specifier(spec).contains(version, prereleases=True)`, else `0`. Versions that are
not PEP 440 versions are in the list too (they match nothing but `===`).

Usage (the packaging version is recorded in the output):

    scripts/regen-vectors specifier_contains.json
    # or: $(scripts/oracles/setup packaging26) scripts/gen-specifier-vectors.py > tests/vectors/specifier_contains.json
"""

import json
import sys

import packaging
from packaging.specifiers import InvalidSpecifier, Specifier

VERSIONS = [
    "0.9", "1", "1.0", "1.0.0", "1.0.0.0", "v1.0", "1.0a1", "1.0a2", "1.0b1", "1.0rc1",
    "1.0rc2", "1.0.dev0", "1.0.dev1", "1.0a1.dev1", "1.0a1.post1", "1.0.post1",
    "1.0.post1.dev1", "1.0.post2", "1.0+local", "1.0+abc.1", "1.0.post1+local",
    "1.0.1", "1.0.9", "1.1", "1.1a1", "1.1.dev0", "1.2", "1.2.0", "1.2.3", "1.2.7+x",
    "1.3", "1.3.0rc1", "1.9", "1.10", "2", "2.0", "2.0.dev0", "2.0.0rc1", "2.1",
    "2.1.3", "2.1.9", "2.2", "2.9", "3.0", "3.0.dev0", "3.8", "3.10", "3.10.14",
    "3.11.0rc1", "3.12.0+", "1!0.1", "1!1.0", "0!1.0", "12345678901234567890",
    "12345678901234567891", "foo", "FOO", "1.0-", "",
]

OPERANDS = [
    "1", "1.0", "1.0.0", "1.0a1", "1.0rc2", "1.0.dev1", "1.0.post1", "1.0.post1.dev1",
    "1.0+local", "1.0+LOCAL", "1.2", "1.2.3", "2.1", "2.1.3", "3.10", "1!1.0",
    "12345678901234567890", "v1.0", "1.0.*", "1.*", "1.2.*", "1!1.*", "1.0a1.*", "foo",
    "FOO", "",
]
OPERATORS = ["==", "!=", "~=", "<=", ">=", "<", ">", "==="]
ODD = [" >= 1.0 ", "==  1.0", ">=1.0 x", "=1.0", "1.0", "~= 1.0", "<\t1.0"]


def contains(spec, version):
    return spec.contains(version, prereleases=True)


cases = []
for text in [op + operand for op in OPERATORS for operand in OPERANDS] + ODD:
    try:
        spec = Specifier(text)
    except InvalidSpecifier:
        cases.append({"spec": text, "contains": None})
        continue
    bits = "".join("1" if contains(spec, v) else "0" for v in VERSIONS)
    cases.append({"spec": text, "contains": bits})

header = {
    "generator": "scripts/gen-specifier-vectors.py",
    "packaging_version": packaging.__version__,
    "python_version": ".".join(map(str, sys.version_info[:3])),
    "versions": VERSIONS,
}
# One case per line, so that a regenerated file diffs case by case.
out = json.dumps(header, indent=1, ensure_ascii=False)[:-2]
out += ',\n "cases": [\n'
out += ",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in cases)
out += "\n ]\n}\n"
sys.stdout.write(out)
