#!/usr/bin/env python3
"""Generate conda MatchSpec test vectors with the real py-rattler.

    scripts/regen-vectors conda_matchspec_parse.json
    # or: $(scripts/oracles/setup rattler) scripts/gen-matchspec-vectors.py

Writes `tests/vectors/conda_matchspec_parse.json`: one object per spec with what
`rattler.MatchSpec(spec)` makes of it (`name`, `version`, `build`, `channel`, `subdir`,
`url`, `str`), or `error` with rattler's message when rattler rejects the spec.
The Rust tests in `src/conda/matchspec.rs` compare envaudit's parser with every
vector. The spec list is hand-written (every form conda environment files use, plus
spacing variants and edge cases) followed by every conda dependency string found in the
corpus conda files.
"""

import json
import pathlib
import re
import sys

import rattler
import yaml
from rattler import MatchSpec

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "vectors" / "conda_matchspec_parse.json"

HAND = [
    # bare names, case, separators
    "numpy", "NumPy", "_libgcc_mutex", "ld_impl_linux-64", "python-dateutil", "ruamel.yaml",
    "  numpy  ", "numpy # a comment",
    # fuzzy `=`
    "numpy=1.18.1", "numpy=1.18", "numpy=1", "python=3.8", "python=3.8.13", "python=3.10",
    "pip=20.3", "numpy = 1.18.1", "numpy=1.2=", "openssl=1.1.1q", "jpeg=9b", "tk=8.6.12",
    # exact `==` and bare version after a space
    "numpy==1.18.1", "numpy==1.18", "numpy ==1.18.1", "numpy == 1.18.1", "numpy 1.18.1",
    "numpy  1.18.1", "xgboost==3.0.2", "numpy==1.01", "numpy==1.2A", "numpy==1.2.RC1",
    "numpy==1!2.0", "numpy==v1.2", "numpy 1.2+local", "numpy 1.2.3.post1", "numpy 1.2.3.dev0",
    "numpy 1.2.3-1", "numpy 1.2_3", "numpy 1.2.3a",
    # builds
    "numpy=1.18.1=py38h7e8d029_0", "numpy==1.18.1=py38h7e8d029_0", "numpy 1.18.1 py38h7e8d029_0",
    "numpy=1.18.1=*", "numpy 1.18.1 *", "numpy=1.18.1=py38*", "numpy==1.18.1=*_cpu",
    "numpy 1.18.1  py38h7e8d029_0", "numpy 1.18.1=py38_0", "numpy=1.18.1 py38_0",
    "numpy =1.18.1 py38_0", "numpy=1.2.*=py38*", "numpy>=1.2 py38*", "numpy>=1.2=py38*",
    "numpy >=1.2,<2 py38*", "numpy  >=1.2  ,  <2  py38*", "numpy=1.2.3=h1234_0 ",
    "pytorch=1.7.1=py3.7_cuda11.0.221_cudnn8.0.5_0", "numpy==1.2.3==b", "numpy 1.2.3=b=c",
    "numpy 1.2 b c", "numpy=1.2==b",
    # ranges and combinations
    "numpy>=1.18", "numpy>1.18", "numpy<2", "numpy<=1.23.5", "numpy!=1.19.0", "numpy>=1.18,<2",
    "numpy>=1.18, <2", "numpy >=1.18 , <2", "numpy >= 1.18 , < 2", "python>=3.10,<3.12",
    "python>=3.10,<3.11", "numpy>=1.21.6,<=1.23.5", "numpy~=1.18.1", "numpy~=1.2",
    "numpy ~=1.2", "numpy>=1.2.*", "numpy>1.2.*", "numpy<1.2.*", "numpy~=1.2.*",
    "numpy!=1.2.*", "numpy>=1.2.0dev", "numpy>=1.2|<1.0,>0.5", "numpy (>=1.2|<1.0),>0.5",
    "numpy (>=1,<2)|>3", "numpy 1.2|1.3", "numpy 1.2,1.3", "numpy=1.18.1|1.18.5",
    "numpy=1.18.1|=1.18.5", "numpy 1.18.1|1.18.5", "numpy=1.2,>=1.0", "numpy>=1.2|<1",
    "numpy >=1.2 | <1", "pip<=23.2.1", "setuptools<82",
    # wildcards
    "numpy=1.18.*", "numpy 1.18.*", "numpy==1.18.*", "numpy=1.18.1.*", "numpy==1.18.1.*",
    "numpy=1.18.1*", "numpy 1.2*", "numpy=1.2*", "numpy 1*", "numpy 2023.*.*",
    "numpy 1.0.0.*.*", "numpy==1.0.*.*", "python=3.7.*", "python 3.10.*", "numpy *",
    "numpy=*", "numpy==*", "numpy>=*", "numpy *.*",
    # channels and subdirs
    "conda-forge::numpy", "conda-forge::numpy=1.18.1", "conda-forge::numpy==1.18.1=py38h7e8d029_0",
    "pytorch::pytorch", "pytorch::pytorch=2.0.0", "pytorch::pytorch-cuda=11.7.0",
    "xformers::xformers=0.0.18", "pkgs/main::numpy", "pkgs/main::numpy>=1.2",
    "conda-forge/linux-64::numpy", "conda-forge/noarch::numpy>=1.2",
    "conda-forge/osx-arm64::numpy==1.2.3=py38_0", "bioconda::samtools 1.9 h8571acd_11",
    "nvidia/label/cuda-11.8.0::cuda-toolkit", "conda-forge::NumPy", "::numpy",
    "https://conda.anaconda.org/conda-forge::numpy",
    # brackets
    "numpy[version='1.18.1']", "numpy[version='>=1.0',build=py38*]",
    "numpy[version=\"=1.2\"]", "numpy[version='==1.2.*']", "numpy[version=1.2, build=\"py*\"]",
    "numpy[version='>=1.0,<2']", "numpy[channel=conda-forge]", "numpy[build=py38_0]",
    "numpy[version='1.2.*']", "numpy 1.2 [build=x]", "conda-forge::numpy[version='>=1.2']",
    "numpy >=1.2[build=py38*]",
    # URLs
    "https://conda.anaconda.org/conda-forge/linux-64/numpy-1.21.5-py37h6c91a56_3.tar.bz2",
    "https://repo.anaconda.com/pkgs/main/linux-64/numpy-1.21.5-py37h6c91a56_3.conda",
    "https://repo.anaconda.com/pkgs/main/linux-64/numpy-1.21.5-py37h6c91a56_3.conda#0123456789abcdef0123456789abcdef",
    "https://conda.anaconda.org/conda-forge/noarch/pip-23.2.1-pyhd8ed1ab_0.conda",
    # templates (rattler rejects them; envaudit keeps the text)
    "azureml-core={{latest-pypi-version}}", "azureml-core=={{latest-pypi-version}}",
    # errors
    "", " ", "numpy>=1.2,", "numpy>=1.2|", "numpy=>1.2", "numpy>>1", "numpy==", "numpy=",
    "numpy>", "numpy!!1", "numpy 1.2.3.", "numpy 1..2", "numpy 1.2-3_4",
    "numpy 99999999999999999999", "conda-forge::", "numpy[version=1.2", "numpy]",
    "numpy[foo=bar]", "numpy<*", "numpy*", "azureml-dataset-runtime[fuse]", "numpy[build=x] 1.2",
    "numpy 1.2[build=x] [version=3]", "=1.2", ">=1.2", "numpy (>=1.2", "numpy >=1.2)",
]


def corpus_specs():
    """Every conda dependency string in the corpus conda files (not the pip entries)."""
    index = ROOT / "fixtures" / "corpus" / "INDEX.tsv"
    paths = []
    for line in index.read_text(encoding="utf-8").splitlines()[1:]:
        cols = line.split("\t")
        if cols[4] == "conda-yaml" or cols[0].endswith("conda_dependencies.yaml"):
            paths.append(ROOT / "fixtures" / "corpus" / cols[0])
    paths += sorted((ROOT / "fixtures" / "azureml").glob("**/conda_dependencies.yml"))
    paths += sorted((ROOT / "fixtures" / "azureml" / "inputs").glob("**/*.y*ml"))
    specs = []
    for path in paths:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except Exception:
            continue
        if not isinstance(doc, dict):
            continue
        for dep in doc.get("dependencies") or []:
            if isinstance(dep, str):
                specs.append(dep)
    return specs


def url_of(text):
    """py-rattler 0.28 has no `url` accessor; its string form shows it as `[url="..."]`."""
    match = re.search(r'\[url="([^"]*)"\]', text)
    return match.group(1) if match else None


def describe(spec):
    try:
        m = MatchSpec(spec)
    except Exception as e:  # rattler raises InvalidMatchSpecError and friends
        return {"spec": spec, "error": str(e).splitlines()[0]}
    return {
        "spec": spec,
        "name": m.name.normalized if m.name else None,
        "version": str(m.version) if m.version else None,
        "build": m.build,
        "channel": m.channel.name if m.channel else None,
        "subdir": m.subdir,
        "url": url_of(str(m)),
        "str": str(m),
    }


def main():
    seen = set()
    vectors = []
    for spec in HAND + corpus_specs():
        if spec in seen:
            continue
        seen.add(spec)
        vectors.append(describe(spec))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "generator": "scripts/gen-matchspec-vectors.py",
        "rattler": getattr(rattler, "__version__", "py-rattler 0.28.0"),
        "vectors": vectors,
    }
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    rejected = sum(1 for v in vectors if "error" in v)
    print(f"{len(vectors)} vectors ({rejected} rejected by rattler) -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
