#!/usr/bin/env python3
"""Generate tests/vectors/pep508_requirements.json with the real `packaging` library.

Run with packaging 25.0:

    scripts/regen-vectors pep508_requirements.json
    # or: $(scripts/oracles/setup packaging25) scripts/gen-pep508-vectors.py > tests/vectors/pep508_requirements.json

Every input string is given to `packaging.requirements.Requirement`. Accepted strings are
recorded with what packaging makes of them; rejected strings are recorded with packaging's
error, and envaudit's parser must reject them too.
"""

import json
import sys

import packaging
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"

INPUTS = [
    # names
    "numpy",
    "A",
    "a1",
    "1a",
    "Django",
    "zope.interface",
    "ruamel.yaml",
    "scikit_learn",
    "Foo__Bar..baz",
    "backports.zoneinfo",
    "foo_",
    "azureml-defaults",
    "  numpy  ",
    "\tnumpy",
    # operators
    "numpy==1.24.3",
    "numpy===1.24.3",
    "numpy===foobar",
    "numpy===1.0,>=2",
    "numpy===",
    "numpy===1.0,foo",
    "numpy===1.0, >=2",
    "numpy===1.0,,>=2",
    "numpy!=1.24.0",
    "numpy~=1.24.3",
    "numpy~=1.24",
    "numpy<2",
    "numpy<=2.0",
    "numpy>1",
    "numpy>=1.24",
    "numpy==1.24.*",
    "numpy!=1.24.*",
    "numpy==1.*",
    "numpy==1.24.3+cpu",
    "numpy!=1.24.3+local.7",
    "torch==2.0.1+cu118",
    "numpy==1!2.0",
    "numpy>=1!2.0",
    "numpy==1.0a1",
    "numpy==1.0.alpha.1",
    "numpy==1.0b2",
    "numpy==1.0c3",
    "numpy==1.0rc1",
    "numpy==1.0RC1",
    "numpy==1.0-rc1",
    "numpy==1.0preview2",
    "numpy==1.0pre",
    "numpy==1.0.post1",
    "numpy==1.0-1",
    "numpy==1.0.rev3",
    "numpy==1.0r",
    "numpy==1.0.dev0",
    "numpy==1.0dev",
    "numpy==1.0a1.post2.dev3",
    "numpy==v1.0",
    "numpy==V1.0",
    "numpy>=1.0.dev0",
    "numpy~=1.0.post1",
    "numpy~=1.0rc1",
    "usort==1.0.8.post1",
    "numpy==1.0a.",
    # spacing and parentheses
    "flake8 == 6.1.0",
    "torch >= 2.10",
    "torchmetrics>=0.7.0, <0.10.1",
    "numpy >= 1.24 , == 1.24.3",
    "numpy>=1.24,<2",
    "numpy>=1.24,<2,!=1.25.0",
    "numpy (>=1.24)",
    "numpy(>=1.24,<2)",
    "numpy ( >= 1.24 , < 2 )",
    "numpy==  1.0",
    "numpy== 1.0",
    "numpy>=1,",
    "numpy>=1,>=1",
    "numpy<2,>=1",
    "numpy\t>=\t1.0",
    "pip<=23.2.1",
    # extras
    "numpy[extra]==1.24.3",
    "requests[security]",
    "requests[security,socks]",
    "requests[socks,security]>=2",
    "requests [ security , socks ] >= 2",
    "requests[]",
    "requests[ ]",
    "black[jupyter]",
    "azureml-dataset-runtime[fuse]",
    "uvicorn[standard]>=0.20",
    "Foo[Bar_Baz,qux.x]",
    "foo[b,a,b]",
    # markers: every variable
    "numpy==1.24.3; python_version>='3.8'",
    'numpy; python_version < "3.8"',
    'numpy; python_full_version >= "3.8.1"',
    'numpy; os_name == "nt"',
    'numpy; os.name == "posix"',
    'numpy; sys_platform == "linux"',
    'numpy; sys.platform == "win32"',
    'numpy; platform_release >= "5.0"',
    'numpy; platform_system == "Linux"',
    'numpy; platform_version == "#1 SMP"',
    'numpy; platform.version == "1"',
    'numpy; platform_machine == "x86_64"',
    'numpy; platform.machine == "aarch64"',
    'numpy; platform_python_implementation == "CPython"',
    'numpy; platform.python_implementation == "PyPy"',
    'numpy; python_implementation == "CPython"',
    'numpy; implementation_name == "cpython"',
    'numpy; implementation_version >= "3.8"',
    'numpy; extra == "test"',
    'numpy; extra == "Foo_Bar.baz"',
    'numpy; "test" == extra',
    'numpy; extras == "x"',
    'numpy; dependency_groups == "dev"',
    # markers: operators, quotes, booleans, parentheses
    "numpy; python_version=='3.8'",
    "numpy; python_version!='3.8'",
    "numpy; python_version<='3.8'",
    "numpy; python_version>'3.8'",
    "numpy; python_version~='3.8'",
    "numpy; python_version==='3.8'",
    'numpy; "linux" in sys_platform',
    'numpy; "win" not in sys_platform',
    'numpy; sys_platform in "linux darwin"',
    'numpy; sys_platform not in "win32 cygwin"',
    'numpy; sys_platform  not   in  "win32"',
    'numpy; "3.8" < python_version',
    "numpy; 'a' == 'b'",
    'numpy; python_version == "it\'s"',
    "numpy; python_version == 'say \"hi\"'",
    'numpy; python_version == ""',
    'numpy; python_version > "3" and os_name == "nt"',
    'numpy; python_version > "3" or os_name == "nt"',
    'numpy; python_version > "3" and os_name == "nt" or sys_platform == "linux"',
    'numpy; python_version > "3" and (os_name == "nt" or sys_platform == "linux")',
    'numpy; (python_version > "3" and os_name == "nt") or sys_platform == "linux"',
    'numpy; (python_version > "3")',
    'numpy; ((python_version > "3"))',
    'numpy; ((python_version > "3" and os_name == "nt"))',
    'numpy; ((python_version > "3" and os_name == "nt")) or sys_platform == "linux"',
    'numpy; (((python_version > "3") and (os_name == "nt")))',
    'numpy; ( python_version > "3" )and( os_name == "nt" )',
    'numpy;python_version>"3"and os_name=="nt"',
    'numpy ;python_version>"3"',
    'numpy ; python_version > "3"   ',
    'numpy; python_version > "3" and extra == "Foo_Bar"',
    'numpy; extra == "Foo_Bar" and python_version > "3"',
    'numpy; (extra == "Foo_Bar")',
    'triton>=2.0.0;platform_machine=="x86_64" and sys_platform=="linux" or sys_platform=="linux2"',
    'numpy>=1;python_version>="3.8"',
    'numpy (>=1) ; python_version >= "3.8"',
    'numpy[x]>=1,<2; python_version >= "3.8" and platform_system != "Windows"',
    'numpy; python_version == "\\x41"',
    "numpy; python_version=='3.8' or python_version=='3.9' or python_version=='3.10'",
    'numpy; platform_machine == "x86_64" and (sys_platform == "linux" or (sys_platform == "darwin" and python_version >= "3.9"))',
    # direct references
    "mypkg @ https://example.com/mypkg-1.0-py3-none-any.whl",
    "mypkg@https://example.com/mypkg-1.0-py3-none-any.whl",
    "mypkg[x] @ https://example.com/mypkg-1.0.tar.gz#sha256=" + "a" * 64,
    "mypkg @ git+https://github.com/o/r.git@v1.0",
    "mypkg @ git+https://github.com/o/r.git@" + SHA,
    "mypkg @ git+ssh://git@github.com/o/r.git@main#egg=mypkg",
    "mypkg @ file:///tmp/mypkg",
    "mypkg @ https://example.com/x.whl ; python_version >= '3.8'",
    "mypkg @ https://example.com/x.whl ",
    "mypkg @ https://example.com/x;y.whl",
    "Mypkg.Name @ hg+https://hg.example.com/repo@tip",
    # rejected by packaging
    "",
    "   ",
    "-numpy",
    ".numpy",
    "_foo",
    "foo-",
    "foo.",
    "numpy=1.0",
    "numpy==",
    "numpy>=",
    "numpy>=abc",
    "numpy=>1.0",
    "numpy~=1",
    "numpy>=1.0.*",
    "numpy~=1.0.*",
    "numpy<1.0+local",
    "numpy==1.0.*+local",
    "numpy==1.0a1.*",
    "numpy>=1.0 <2.0",
    "numpy>=1.0,,<2",
    "numpy (>=1.0",
    "numpy >=1.0)",
    "numpy[extra",
    "numpy[extra]]",
    "numpy[a b]",
    "numpy[a,]",
    "numpy[,a]",
    "numpy; ",
    "numpy;",
    "numpy; python_version",
    "numpy; python_version >",
    "numpy; python_version >= 3.8",
    'numpy; python_ver >= "3.8"',
    'numpy; python_version = "3.8"',
    'numpy; python_version >= "3.8',
    'numpy; python_version >= "3.8" and',
    'numpy; python_version >= "3.8" xor os_name == "nt"',
    'numpy; (python_version >= "3.8"',
    'numpy; python_version >= "3.8")',
    'numpy; "a" not "b"',
    'numpy; "a" notin "b"',
    'numpy; python_version >= "3.8" andos_name == "nt"',
    "numpy @",
    "numpy @ ",
    "mypkg @ https://example.com/x.whl; python_version >= '3.8'",
    "mypkg @ https://example.com/x.whl extra",
    "numpy==1.0 extra",
    "numpy 1.0",
    "numpy==1.0;",
    "numpy==1.0 ; python_version >= '3.8' extra",
    "https://example.com/mypkg-1.0-py3-none-any.whl",
    "git+https://github.com/huggingface/peft.git",
    "./local_pkg",
    ".",
    "numpy=={{latest-pypi-version}}",
    "numpy ==",
    "numpÿ",
    "numpy[é]",
]


def record(s):
    try:
        r = Requirement(s)
    except (InvalidRequirement, InvalidSpecifier) as e:
        return None, str(e).splitlines()[0]
    return {
        "input": s,
        "name": r.name,
        "extras": sorted(r.extras),
        "specifiers": sorted(str(x) for x in r.specifier),
        "marker": None if r.marker is None else str(r.marker),
        "url": r.url,
        "str": str(r),
    }, None


def main():
    accepted, rejected = [], []
    seen = set()
    for s in INPUTS:
        if s in seen:
            raise SystemExit(f"duplicate input {s!r}")
        seen.add(s)
        ok, err = record(s)
        if ok is not None:
            accepted.append(ok)
        else:
            rejected.append({"input": s, "error": err})
    out = {
        "generator": "scripts/gen-pep508-vectors.py",
        "packaging_version": packaging.__version__,
        "accepted": accepted,
        "rejected": rejected,
    }
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
