#!/usr/bin/env python3
"""Generate the wheel tag vectors: what `packaging.tags` says a target supports, in order.

For each target (CPython version, architecture, glibc or musl version) this records the
list `packaging.tags.sys_tags()` would give on that machine:

    cpython_tags(python_version, abis=[cpXY (cpXYm before 3.8)], platforms)
    + compatible_tags(python_version, interpreter="cpXY", platforms)

where `platforms` is `packaging.tags._linux_platforms(is_32bit=False)` run with this
machine's facts replaced by the target's: `sysconfig.get_platform()` returns
`linux-ARCH`, `_manylinux._get_glibc_version()` the target's glibc (or (-1, -1) for none),
`_manylinux._have_compatible_abi()` True (the image's interpreter is of its own
architecture), and `_musllinux._get_musl_version()` the target's musl (or None).

packaging 26.3 moved the native `linux_ARCH` tag before the `manylinux` ones; pip 26.3
vendors packaging 26.3, pip 25.3 vendors packaging 25.0. So the vectors are made twice:

    scripts/regen-vectors wheel_tags.json wheel_tags_packaging25.json
    # or: $(scripts/oracles/setup packaging264) scripts/gen-wheel-tag-vectors.py > tests/vectors/wheel_tags.json
    #     $(scripts/oracles/setup packaging25) scripts/gen-wheel-tag-vectors.py > tests/vectors/wheel_tags_packaging25.json
The packaging version is recorded in the output.
"""

import json
import sys
import sysconfig

import packaging
from packaging import _manylinux, _musllinux, tags
from packaging.version import Version

TARGETS = [
    # (python, arch, glibc, musl)
    ((3, 7), "x86_64", (2, 17), None),
    ((3, 8), "x86_64", (2, 17), None),
    ((3, 10), "x86_64", (2, 28), None),
    ((3, 12), "x86_64", (2, 35), None),
    ((3, 8), "aarch64", (2, 17), None),
    ((3, 10), "aarch64", (2, 28), None),
    ((3, 12), "aarch64", (2, 35), None),
    ((3, 11), "i686", (2, 5), None),
    ((3, 12), "ppc64le", (2, 31), None),
    ((3, 12), "x86_64", None, (1, 2)),
    ((3, 10), "aarch64", None, (1, 2)),
    ((3, 12), "x86_64", None, None),
]


def platforms(arch, glibc, musl):
    sysconfig.get_platform = lambda: f"linux-{arch}"
    _manylinux._get_glibc_version = lambda: _manylinux._GLibCVersion(*(glibc or (-1, -1)))
    _manylinux._have_compatible_abi = lambda executable, archs: True
    _musllinux._get_musl_version = lambda executable: (
        _musllinux._MuslVersion(*musl) if musl else None
    )
    return list(tags._linux_platforms(is_32bit=False))


def target_tags(python, arch, glibc, musl):
    plats = platforms(arch, glibc, musl)
    interp = "cp" + "".join(map(str, python))
    abi = interp + ("m" if python < (3, 8) else "")
    out = list(tags.cpython_tags(python, [abi], plats))
    out += list(tags.compatible_tags(python, interp, plats))
    return [str(t) for t in out]


def main():
    version = packaging.__version__
    order = "native-first" if Version(version) >= Version("26.3") else "manylinux-first"
    doc = {
        "generator": "scripts/gen-wheel-tag-vectors.py",
        "packaging": version,
        "linux_tag_order": order,
        "targets": [
            {
                "python": list(python),
                "arch": arch,
                "glibc": list(glibc) if glibc else None,
                "musl": list(musl) if musl else None,
                "tags": target_tags(python, arch, glibc, musl),
            }
            for python, arch, glibc, musl in TARGETS
        ],
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


main()
