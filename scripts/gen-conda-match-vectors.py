#!/usr/bin/env python3
"""Generate conda matching test vectors with the real py-rattler.

    scripts/regen-vectors conda_matchspec_matches.json
    # or: $(scripts/oracles/setup rattler) scripts/gen-conda-match-vectors.py

Writes `tests/vectors/conda_matchspec_matches.json`, what a solver asks of conda's model:
- `versions`: every version spec of `SPECS` against every version of `VERSIONS`, with
  `rattler.VersionSpec(spec).matches(rattler.Version(version))`, and the spec's normal
  form (`str`), or `error` when rattler rejects the spec;
- `records`: every MatchSpec of `MATCHSPECS` against every `(version, build)` of
  `RECORDS`, with `MatchSpec(spec).matches(PackageRecord(...))` for a record of the same
  name.
The Rust tests in `src/conda/spec.rs` and `src/conda/matchspec.rs` replay both tables.
"""

import json
import pathlib
import sys

import rattler
from rattler import BuildString, MatchSpec, PackageRecord, Version, VersionSpec

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "vectors" / "conda_matchspec_matches.json"

VERSIONS = [
    "0.9", "1", "1.0", "1.0.0", "1.1", "1.2", "1.2.0", "1.2.0.0", "1.2.1", "1.2.3", "1.2.10",
    "1.20", "1.2a", "1.2a1", "1.2.0a1", "1.2rc1", "1.2.0rc1", "1.2.dev0", "1.2dev", "1.2.post1",
    "1.2post1", "1.2_1", "1.2-1", "1.2+local", "1.2+local.1", "1.2.0+2", "1.2.3+a.1", "1!1.2",
    "1!1.2.3", "2", "2.0", "2.0.0", "2.0a1", "2.0.dev1", "1.1.1k", "1.1.1w", "1.0.2_",
    "2023.1.1", "3.9", "3.10", "3.10.12", "3.11.0rc1", "1.2.3.4", "9b", "1.2a.3", "1.2.3a",
    "1.2.5+local", "1.0.1c", "1.2.3.0", "1.2.0.1",
]

SPECS = [
    "*", "1.2", "==1.2", "==1.2.0", "==1.2.0.0", "==1", "==1.2+local", "==1!1.2",
    "!=1.2", "!=1.2.0", ">1.2", ">=1.2", "<1.2", "<=1.2", ">1.2.0", "<2", "<2.0a0", ">=2.0a0",
    "1.2.*", "1.2*", "1.*", "1*", "1.2.0.*", "1.0.1.*", "1.2.3a.*", "1.2.0.0.*", "1.2a.*", "1.2.3.*", "3.10.*", "3.1.*", "1!1.*",
    "1.2+local.*", "!=1.2.*", "!=1.*", ">=1.2.*", ">1.2.*", "<=1.2.*", "<1.2.*",
    "~=1.2", "~=1.2.0", "~=1.2.3", "~=1", "~=1.2a", "~=1!1.2",
    ">=1.2,<2", ">=1.2,<2.0a0", "1.2|2.0", "1.2.*|2.*", ">=1,<1.2|>=2", "(>=1,<1.2)|>=2",
    ">=1.2,(<1.2.3|>2)", ">=1.1,!=1.2.*", "1.1.1*", ">=1.1.1j,<1.1.2", "2023.01.*",
    ">=3.10,<3.11.0a0", "3.10.12", "==1.0.2_", ">=9a", "1.2_1", "1.2-1.*", ">1.2dev", "<1.2post",
]

RECORDS = [
    ("1.18.1", "py38_0"), ("1.18.1", "py38h7e8d029_0"), ("1.18.1", "py39_0"),
    ("1.18.1", "py38_10"), ("1.18.1", "PY38_0"), ("1.18.1", "py3x_0"), ("1.18.5", "py38_0"),
    ("1.18.10", "py38_0"), ("1.18.1.1", "py38_1"), ("1.19.0", "py38_0"), ("2.0.0", "py38h_0"),
    ("1.18.1", "0"), ("1.18.1", "cuda112py38_0"),
]

MATCHSPECS = [
    "numpy", "numpy *", "numpy=1.18.1", "numpy==1.18.1", "numpy 1.18.1", "numpy=1.18",
    "numpy 1.18.*", "numpy>=1.18.5", "numpy>=1.18,<1.19", "numpy=1.18.1=py38_0",
    "numpy==1.18.1=py38_0", "numpy 1.18.1 py38_0", "numpy 1.18.1 py38*", "numpy=1.18.1=*_0",
    "numpy * py38*", "numpy[build=py38_0]", "numpy[build='py3*_0']", "numpy[build=*h*]",
    "numpy[version='>=1.18.1', build=py38*]", "numpy * PY38_0", "numpy * py3?_0",
    "numpy * *", "numpy * cuda*", "numpy 1.18.* *_0", "numpy[version='1.18.1|2.0.0']",
    "numpy * py38_1*",
]


def versions():
    out = []
    for spec in SPECS:
        try:
            vs = VersionSpec(spec)
        except Exception as e:  # rattler raises InvalidVersionSpecError
            out.append({"spec": spec, "error": str(e).splitlines()[0]})
            continue
        matches = {v: vs.matches(Version(v)) for v in VERSIONS}
        out.append({"spec": spec, "str": str(vs), "matches": matches})
    return out


def records():
    out = []
    for spec in MATCHSPECS:
        m = MatchSpec(spec)
        matches = {}
        for version, build in RECORDS:
            record = PackageRecord(
                name="numpy", version=version, build=BuildString(build), build_number=0, subdir="linux-64"
            )
            matches[f"{version} {build}"] = m.matches(record)
        out.append({"spec": spec, "str": str(m), "matches": matches})
    return out


def main():
    doc = {
        "generator": "scripts/gen-conda-match-vectors.py",
        "rattler": getattr(rattler, "__version__", "py-rattler 0.28.0"),
        "versions": versions(),
        "records": records(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    n = sum(len(v.get("matches", {})) for v in doc["versions"])
    r = sum(len(v["matches"]) for v in doc["records"])
    print(f"{n} version matches, {r} record matches -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
