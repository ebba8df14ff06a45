#!/usr/bin/env python3
"""Generate tests/vectors/version_order.json: version pairs with the ordering the real tools give.

    scripts/regen-vectors version_order.json
    # or: $(scripts/oracles/setup rattler) scripts/gen-version-vectors.py > tests/vectors/version_order.json

Sources of truth:
- pip: `packaging.version.Version` (PEP 440).
- conda: `rattler.Version` from py-rattler (conda's VersionOrder semantics).
- deb: `dpkg --compare-versions` on this Debian machine (a syntax *error* counts as rejected;
  a warning does not).

Strings the tool rejects are listed under `invalid` (envaudit sorts them below every valid
version, on which the tools have no opinion).
- apk: no apk-tools here, so the pairs below are written by hand from current apk-tools'
  version semantics (digits, `.`-components compared as strings when one has a leading zero,
  one letter, `_alpha`/`_beta`/`_pre`/`_rc` < release < `_cvs`/`_svn`/`_git`/`_hg`/`_p`,
  `~hash`, `-rN`).

Pairs (apk's chain too): every adjacent pair of the versions sorted by the tool, plus a deterministic sample of
all other pairs, so that each ecosystem has several hundred. Each pair is `[a, b, op]` with
op one of `<`, `=`, `>` meaning `a op b`.
"""

import functools
import itertools
import json
import random
import subprocess
import sys

import packaging
from packaging.version import InvalidVersion, Version

import rattler

PIP = [
    "0.1", "0.9", "0.10", "0.10.0", "1", "1.0", "1.0.0", "1.0.0.0", "v1.0", "V1.0",
    "1.0a", "1.0a0", "1.0a1", "1.0alpha1", "1.0-a1", "1.0.a.1", "1.0_a_1", "1.0A1",
    "1.0b1", "1.0beta1", "1.0b2", "1.0c1", "1.0rc1", "1.0pre1", "1.0preview1", "1.0RC1",
    "1.0rc", "1.0.rc.2", "1.0rc10", "1.0rc1.post1", "1.0rc1.dev1", "1.0a1.dev0",
    "1.0.dev0", "1.0.dev", "1.0dev1", "1.0-dev2", "1.0.dev456", "1.0.post1.dev1",
    "1.0.post1", "1.0.post", "1.0-1", "1.0-2", "1.0.post2", "1.0post3", "1.0.r4",
    "1.0rev5", "1.0-r6", "1.0.post1+local", "1.0+local", "1.0+1", "1.0+abc.1",
    "1.0+abc.2", "1.0+abc.a", "1.0+1.2", "1.0+1.10", "1.0+01", "1.0+a-b_c", "1.0+a.b.c",
    "1.0.1", "1.0.10", "1.1", "1.1.dev1", "1.1a1", "1.10", "1.2", "2", "2.0.0+cu118",
    "2.0.0+cu121", "2.0.0+cpu", "2.0.0", "2.0.1+cu118", "1!0.1", "1!1.0", "2!0.0.1",
    "0!1.0", "00!1.0", "1.26.4", "1.24.3", "2.0.0rc1", "2.0.0b1", "1.11.4", "1.13.1",
    "2.1.2", "2.3.0", "4.41.2", "4.36.0.dev0", "2023.1", "2023.10.0", "2024.2.0",
    "0.13.0a0", "0.13.0", "3.10.12", "22.3.1", "0.0.0", "0", "0.0.1", "1.0.0.1",
    "  1.0  ", "1.0a.", "1.0.post.", "1.0.dev.", "1.0-post-1", "1.0_dev_3",
    "1.0.0a1+gpu", "1.0.0+gpu", "1.0.0+gpu.1", "1.0.0+gpu.a", "1.0.0+0", "1.0.0+abc",
    "12345678901234567890.1", "12345678901234567891.0", "1.0.post0", "1.0.dev0+x",
    # rejected by packaging
    "", "foo", "1.0-", "1.0+", "1.0+a..b", "1.0+a.", "1.0.", "1..0", "1.0a1a", "1.0-dev-1x",
    "vv1.0", "1.0 1", "1!", "!1.0", "1.0+ä", "1.0ä", "1.0.post1.post2", "1.0_+1", "1,0",
    "1.0.*", "latest", "1.0-rc-1-", "2.0.0+cu118+cpu",
]

CONDA = [
    "0.4", "0.4.0", "0.4.1.rc", "0.4.1.RC", "0.4.1", "0.5a1", "0.5b3", "0.5C1", "0.5",
    "0.9.6", "0.960923", "1.0", "1.1dev1", "1.1_", "1.1a1", "1.1.0dev1", "1.1.dev1",
    "1.1.a1", "1.1.0rc1", "1.1.0", "1.1.0post1", "1.1post1", "1.1.0.post1", "1996.07.12",
    "1!0.4.1", "1!3.1.1.6", "2!0.4.1", "1.7.1_dev", "1.7.1", "1.7.1_1", "1.7.1-1",
    "1.7.1.post", "2023.01.01", "2023.1.1", "2023.01", "0.13.0a0", "0.13.0", "0.13",
    "1.26.4", "1.24.3", "2.0.0", "2.0.0+cu118", "2.0.0+cpu", "2.0.0+1", "2.0.0+a1",
    "1.0+a", "1.0+1", "1.0+1.1", "1.0+1_1", "1.0_a", "1.0a", "1.0.a", "1.0.1a",
    "3.1.1.6", "3.1.1.6a", "3.1.1.6.post", "1.0dev", "1.0.dev", "1.0.DEV", "1.0_",
    "1.0.0_", "1.0_1", "1.0_2", "11.8", "12.1.0", "12.1.105", "3.10.12", "3.11.0",
    "3.11.0rc1", "2.1.0.post100", "2.1.0.post200", "9e", "9d", "1.1.1w", "1.1.1k",
    "3.0.13", "0.0.1", "0", "0.0", "1.0.0.0", "1.0.0.1", "2.1.1_1", "1.2.3.4.5",
    "1.0rc", "1.0rc1", "1.0rc2", "1.0beta", "1.0alpha", "1.0zzz",
    "1.0.0-beta.1", "4.0.0-beta1", "1.0.post", "1.0post", "1.0.0post",
    "12345678901234567890", "12345678901234567891",
    # rejected by conda
    "", "1..0", "1.0.", "1!2!3", "1+2+3", "a!1", "!1", "+1", "1.0_1-2", "1.0 beta", "1.0ä",
    "1.0+", "1.0,1", "=1.0",
    # conda itself accepts `*` in a version (`1.0*` < `1.0dev`), rattler rejects it: none here.
]

DEB = [
    "0", "0:0", "0-0", "1", "1.0", "1.0-0", "1.0-1", "1.0-1ubuntu1", "1.0-1ubuntu2",
    "1.0-1build1", "1.0-1+deb12u1", "1.0-1~bpo11+1", "1.0~rc1", "1.0~rc1-1", "1.0~~",
    "1.0~", "1.0~~a", "1.0a", "1.0+", "1.0.1", "1.0+dfsg", "1.0+dfsg-1", "1.0.0",
    "1:0.9", "1:1.0", "2:0.1", "1:2.3-4ubuntu1~22.04", "1:2.3-4ubuntu1", "1:2.3-4ubuntu1~20.04",
    "1:2.3-4", "2.36-9+deb12u4", "2.36-9+deb12u7", "2.35-0ubuntu3.8", "3.0.11-1~deb12u2",
    "3.0.2-0ubuntu1.15", "12.2.0-14", "12.3.0-1ubuntu1~22.04", "7.88.1-10+deb12u5",
    "1.2.13.dfsg-1", "1.2.13.dfsg-1ubuntu4", "2022.2.1-1", "20230311", "20230311ubuntu0.22.04.1",
    "1.0-1a", "1.0-1.1", "1.0-1.10", "1.0-1.2", "1.00", "1.000", "01.0", "1.0a1", "1.0A1",
    "1.0-a", "1.0.", "1.0..", "1.0+a", "1.0-", "1.a", "1.+", "1.~", "1.0b", "1.0z",
    "10", "9", "1.9", "1.10", "1.0-10", "1.0-9", "0:1.0-1", "00:1.0-1", "5.1-6",
    "2.1~alpha", "2.1~beta", "2.1~beta2", "2.1", "2.1+really2.0", "6.1.0-10", "4.19.0-21-amd64",
    "1:1.2.13.dfsg-1", "2:8.2.3995-1ubuntu2.15", "1.0-1-1", "1.0-1-2", "1.2.3-4-5",
    "9.99", "9.100", "1.0~a-1", "1.0~a", "1.0~b", "99999999999999999999",
    "99999999999999999998",
    # refused by dpkg
    "-1", ":1.0", "1:", "a:1.0", "-1:1.0", "2147483648:1.0", "1.0 1", "1:2-",
    "1.0-1:2",
]

# Hand-written from apk-tools' version.c semantics; see the module doc above.
APK = [
    ["1.0", "1.0", "="],
    ["1.0", "1.0.0", "<"],
    ["1", "1.0", "<"],
    ["1.0", "1.1", "<"],
    ["1.1", "1.10", "<"],
    ["1.9", "1.10", "<"],
    ["1.2", "1.2.1", "<"],
    ["2.0", "1.99", ">"],
    ["01", "1", "="],
    ["1.01", "1.1", "<"],
    ["1.01", "1.001", ">"],
    ["1.0", "1.00", "<"],
    ["1.001", "1.01", "<"],
    ["1.05", "1.0", ">"],
    ["1.05", "1.5", "<"],
    ["1.0a", "1.0", ">"],
    ["1.0a", "1.0b", "<"],
    ["1.0a", "1.0.1", "<"],
    ["1.0z", "1.0.1", "<"],
    ["1.1a", "1.1.1", "<"],
    ["1.1.1w", "1.1.1k", ">"],
    ["1.1.1w", "1.1.2", "<"],
    ["9e", "9d", ">"],
    ["1.0_alpha", "1.0", "<"],
    ["1.0_alpha", "1.0_beta", "<"],
    ["1.0_beta", "1.0_pre", "<"],
    ["1.0_pre", "1.0_rc", "<"],
    ["1.0_rc", "1.0", "<"],
    ["1.0_rc1", "1.0_rc2", "<"],
    ["1.0_rc2", "1.0_rc10", "<"],
    ["1.0_rc1", "1.0_rc", ">"],
    ["1.0_alpha1", "1.0_alpha", ">"],
    ["1.0_alpha20230101", "1.0_beta", "<"],
    ["1.0", "1.0_cvs", "<"],
    ["1.0_cvs", "1.0_svn", "<"],
    ["1.0_svn", "1.0_git", "<"],
    ["1.0_git", "1.0_hg", "<"],
    ["1.0_hg", "1.0_p", "<"],
    ["1.0_p1", "1.0_p2", "<"],
    ["1.0_p1", "1.0_p", ">"],
    ["1.0_git20230101", "1.0_git20230201", "<"],
    ["1.0_p1", "1.0.1", "<"],
    ["1.0_p1", "1.0-r1", ">"],
    ["1.0_rc1", "0.9", ">"],
    ["1.0_rc1", "1.0-r0", "<"],
    ["1.0", "1.0-r0", "<"],
    ["1.0-r0", "1.0-r1", "<"],
    ["1.0-r1", "1.0-r2", "<"],
    ["1.0-r9", "1.0-r10", "<"],
    ["1.0-r10", "1.0.1-r0", "<"],
    ["1.0-r3", "1.0a-r0", "<"],
    ["2.9.1-r3", "2.9.1-r3", "="],
    ["2.9.1-r3", "2.9.1-r4", "<"],
    ["2.9.1-r3", "2.9.2-r0", "<"],
    ["2.9.1-r3", "2.9.1_p1-r0", "<"],
    ["2.9.1-r3", "2.9.1_rc1-r5", ">"],
    ["3.18.4-r0", "3.18.10-r0", "<"],
    ["1.36.1-r15", "1.36.1-r2", ">"],
    ["3.1.4-r5", "3.1.4-r5", "="],
    ["3.0.12-r4", "3.1.4-r0", "<"],
    ["1.2.4_git20230717-r4", "1.2.4-r4", ">"],
    ["1.2.4_git20230717-r4", "1.2.5-r0", "<"],
    ["1.2.3_alpha1_p2", "1.2.3_alpha1", ">"],
    ["1.2.3_alpha1_p2", "1.2.3_alpha2", "<"],
    ["1.2.3_rc1_git20200101", "1.2.3_rc1", ">"],
    ["1.2.3_rc1_git20200101", "1.2.3", "<"],
    ["1.2.3_p1_p2", "1.2.3_p1", ">"],
    ["1.2.3_p1_rc1", "1.2.3_p1", "<"],
    ["0.0.0", "0", ">"],
    ["20230311", "20230312", "<"],
    ["2023.01.01", "2023.1.1", "<"],
    ["6.4_p20231125-r1", "6.4_p20240113-r0", "<"],
    ["6.4_p20231125-r1", "6.4-r9", ">"],
    ["12.2.1_git20220924-r10", "12.2.1_git20220924-r4", ">"],
    ["1.0~1234", "1.0~2345", "<"],
    ["1.0~abcd-r1", "1.0~abcd-r0", ">"],
    ["1.0_git20230101~abcd", "1.0_git20230101", ">"],
    ["99999999999999999999", "99999999999999999998", ">"],
]


# Hand-ordered from the same semantics, ascending; versions in one inner list are equal.
APK_CHAIN = [
    ["0"], ["0.0"], ["0.00"], ["0.01"], ["0.1_alpha"], ["0.1_alpha1"], ["0.1_alpha2"],
    ["0.1_beta"], ["0.1_pre1"], ["0.1_rc1"], ["0.1", "00.1"], ["0.1-r0"], ["0.1-r1"],
    ["0.1_cvs"], ["0.1_svn"], ["0.1_git20230101"], ["0.1_git20230101-r0"],
    ["0.1_git20230101~abc"], ["0.1_git20230101~abc-r1"], ["0.1_git20230101~abd"],
    ["0.1_git20230102"], ["0.1_hg"], ["0.1_p"], ["0.1_p1"], ["0.1_p1-r5"], ["0.1_p2"],
    ["0.1a"], ["0.1a_p1"], ["0.1b"], ["0.1z"], ["0.1.0"], ["0.1.00"], ["0.1.01"],
    ["0.1.1"], ["0.1.2"], ["0.1.10"], ["0.2"], ["0.10"], ["0.10-r1"], ["1", "01", "001"],
    ["1.0"], ["1.0.0"], ["1.1"], ["2.9.1_rc1-r5"], ["2.9.1-r3"], ["2.9.1-r10"],
    ["2.9.1_p1"], ["2.9.2"], ["2.10"], ["10"], ["20230311"],
]


def apk_chain_vectors(rng):
    rank = {v: i for i, group in enumerate(APK_CHAIN) for v in group}
    flat = [v for group in APK_CHAIN for v in group]
    return pairs(flat, lambda a, b: (rank[a] > rank[b]) - (rank[a] < rank[b]), rng, 300)


# Strings the tool rejects, recorded so that envaudit is checked to reject them too.
INVALID = {"pip": [], "conda": [], "deb": []}


def op(c):
    return "<" if c < 0 else ">" if c > 0 else "="


def pairs(sorted_versions, cmp, rng, extra):
    out = []
    for a, b in zip(sorted_versions, sorted_versions[1:]):
        out.append((a, b))
        out.append((b, a))
    rest = [p for p in itertools.combinations(sorted_versions, 2) if p not in set(out)]
    rng.shuffle(rest)
    out.extend(rest[:extra])
    out.extend((v, v) for v in sorted_versions)
    return [[a, b, op(cmp(a, b))] for a, b in out]


def pip_vectors(rng):
    valid = []
    for v in PIP:
        try:
            Version(v)
        except InvalidVersion:
            INVALID["pip"].append(v)
            continue
        valid.append(v)

    def cmp(a, b):
        x, y = Version(a), Version(b)
        return (x > y) - (x < y)

    return pairs(sorted(valid, key=functools.cmp_to_key(cmp)), cmp, rng, 300)


def conda_vectors(rng):
    valid = []
    for v in CONDA:
        try:
            rattler.Version(v)
        except Exception:  # noqa: BLE001 - rattler raises its own error types
            INVALID["conda"].append(v)
            continue
        valid.append(v)

    def cmp(a, b):
        x, y = rattler.Version(a), rattler.Version(b)
        return (x > y) - (x < y)

    return pairs(sorted(valid, key=functools.cmp_to_key(cmp)), cmp, rng, 300)


def deb_cmp(a, b):
    def test(rel):
        r = subprocess.run(
            ["dpkg", "--compare-versions", a, rel, b],
            stderr=subprocess.DEVNULL,
            check=False,
        )
        if r.returncode not in (0, 1):
            raise ValueError(f"dpkg rejects {a!r} or {b!r}")
        return r.returncode == 0

    if test("lt"):
        return -1
    if test("eq"):
        return 0
    return 1


def deb_vectors(rng):
    valid = []
    for v in DEB:
        try:
            deb_cmp(v, v)
        except ValueError:
            INVALID["deb"].append(v)
            continue
        valid.append(v)
    return pairs(sorted(valid, key=functools.cmp_to_key(deb_cmp)), deb_cmp, rng, 300)


def main():
    rng = random.Random(440)
    dpkg = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "dpkg"], capture_output=True, text=True, check=True
    ).stdout
    doc = {
        "generated_by": "scripts/gen-version-vectors.py",
        "sources": {
            "pip": f"packaging {packaging.__version__}",
            "conda": "py-rattler rattler.Version",
            "deb": f"dpkg {dpkg} --compare-versions",
            "apk": "hand-written from apk-tools version.c semantics",
        },
        "pip": pip_vectors(rng),
        "conda": conda_vectors(rng),
        "deb": deb_vectors(rng),
        "apk": APK + apk_chain_vectors(rng),
    }
    doc["invalid"] = INVALID
    # One pair per line, so that a regenerated file diffs readably.
    out = ["{"]
    out.append(f'"generated_by": {json.dumps(doc["generated_by"])},')
    out.append(f'"sources": {json.dumps(doc["sources"])},')
    for i, eco in enumerate(["pip", "conda", "deb", "apk"]):
        out.append(f'"{eco}": [')
        rows = [json.dumps(p, ensure_ascii=False) for p in doc[eco]]
        out.append(",\n".join(rows))
        out.append("]" + ("," if i < 3 else ""))
    out[-1] = out[-1] + ","
    out.append(f'"invalid": {json.dumps(doc["invalid"], ensure_ascii=False)}')
    out.append("}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
