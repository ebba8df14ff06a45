#!/usr/bin/env python3
"""Generate conda solver test vectors with py-rattler's solver.

    scripts/regen-vectors conda_solve.json
    # or: $(scripts/oracles/setup rattler) scripts/gen-conda-solve-vectors.py

Writes `tests/vectors/conda_solve.json`: small synthetic channels (each subdir's
`repodata.json`, inline), the specs, the channel priority, the virtual packages and the
installed packages of each scenario, and what `rattler.solve` installs (name, version,
build, channel), or that it finds no solution. The channels are written under
`/tmp/envaudit-conda-solve-vectors/SCENARIO/CHANNEL` and read as `file://` channels; the
Rust test (`src/conda/solve.rs`) builds the same channels from the inline repodata at the
same URLs and must agree on every package of every scenario.

py-rattler solves with resolvo, as envaudit does: the vectors check envaudit's glue
(matching, candidate order, channel priority, virtual packages), not an independent
solver. No conda, mamba or libmamba can be installed here.

A scenario may carry `conda`: where py-rattler is known to differ from conda, the answer
conda gives and why; the Rust test then expects conda's answer, and checks that
py-rattler's recorded answer is still the one described.
"""

import asyncio
import datetime
import json
import pathlib
import shutil
import sys
import tomllib
from importlib.metadata import version as dist_version

import rattler
from rattler.exceptions import SolverError
from rattler import (BuildString, Channel, ChannelPriority, Gateway, GenericVirtualPackage,
                     PackageName, Version)

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "vectors" / "conda_solve.json"
BASE = pathlib.Path("/tmp/envaudit-conda-solve-vectors")
EXAMPLE_LOCK = ROOT / "fixtures" / "example" / "envaudit.lock.d" / "snapshots" / "e873642e9617009f.toml"
EXAMPLE_PREFIX = "/azureml-envs/azureml_8f2c0e4b6a1d3c5e7f9a0b2c4d6e8f01"

T0 = 1_700_000_000_000  # a fixed base timestamp, in milliseconds


def rec(name, version, build="0", build_number=0, depends=(), constrains=(), subdir="linux-64",
        track_features=None, timestamp=None, noarch=None, ext=".conda"):
    """One record and its file name."""
    r = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": build_number,
        "depends": list(depends),
        "constrains": list(constrains),
        "subdir": subdir,
    }
    if track_features is not None:
        r["track_features"] = track_features
    if timestamp is not None:
        r["timestamp"] = timestamp
    if noarch is not None:
        r["noarch"] = noarch
    return f"{name}-{version}-{build}{ext}", r


def channel(name, *records):
    """A channel: records sorted into subdirs and archive kinds."""
    subdirs = {"linux-64": {"info": {"subdir": "linux-64"}, "packages": {}, "packages.conda": {}},
               "noarch": {"info": {"subdir": "noarch"}, "packages": {}, "packages.conda": {}}}
    for filename, r in records:
        key = "packages.conda" if filename.endswith(".conda") else "packages"
        subdirs[r["subdir"]][key][filename] = r
    return {"name": name, "subdirs": subdirs}


def python(v, build_number=0):
    """A python record: `3.10.14` with its `python_abi`."""
    major_minor = ".".join(v.split(".")[:2])
    return rec("python", v, f"h{build_number}_cpython", build_number,
               depends=[f"python_abi {major_minor}.* *_cp{major_minor.replace('.', '')}"],
               timestamp=T0)


def python_abi(mm):
    return rec("python_abi", mm, f"4_cp{mm.replace('.', '')}", 4, timestamp=T0)


def py_build(name, version, mm, build_number=0, depends=(), timestamp=T0, **kw):
    """A compiled Python package built for Python `mm` (`3.10`)."""
    tag = mm.replace(".", "")
    upper = f"{mm.split('.')[0]}.{int(mm.split('.')[1]) + 1}"
    return rec(name, version, f"py{tag}h0_{build_number}", build_number,
               depends=[f"python >={mm},<{upper}.0a0", f"python_abi {mm}.* *_cp{tag}", *depends],
               timestamp=timestamp, **kw)


def scenarios():
    out = []

    def add(name, description, channels, specs, priority="strict", virtual=(), installed=(),
            conda=None, exclude_newer=None):
        s = {"name": name, "description": description, "channels": channels, "specs": specs,
             "channel_priority": priority,
             "virtual_packages": [list(v) for v in virtual],
             "installed": [list(i) for i in installed],
             "exclude_newer": exclude_newer}
        if conda:
            s["conda"] = conda
        out.append(s)

    add("depends_highest_versions",
        "a depends on b; the highest versions that fit are chosen",
        [channel("main",
                 rec("a", "1.0", depends=["b >=1"]),
                 rec("a", "2.0", depends=["b >=2,<3"]),
                 rec("b", "1.5"), rec("b", "2.1"), rec("b", "2.9"), rec("b", "3.0"))],
        ["a"])

    add("constrains_apply_only_when_installed",
        "a constrains c <2: c is not installed for a alone, and is held below 2 when asked for",
        [channel("main",
                 rec("a", "1.0", constrains=["c <2"]),
                 rec("c", "1.0"), rec("c", "1.9"), rec("c", "2.0"))],
        ["a", "c"])
    add("constrains_alone",
        "a constrains c <2, nothing needs c",
        [channel("main", rec("a", "1.0", constrains=["c <2"]), rec("c", "2.0"))],
        ["a"])

    add("build_string_glob",
        "a build glob picks among builds of one version",
        [channel("main",
                 rec("numpy", "1.26.4", "py310h1_0"), rec("numpy", "1.26.4", "py311h1_0"),
                 rec("numpy", "1.26.4", "py312h1_0"), rec("numpy", "1.26.3", "py310h1_0"))],
        ["numpy 1.26.* py311*"])

    add("build_for_the_requested_python",
        "numpy's builds for several Pythons; python=3.10 selects the py310 build",
        [channel("main",
                 python("3.10.14"), python("3.11.9"), python("3.12.4"),
                 python_abi("3.10"), python_abi("3.11"), python_abi("3.12"),
                 py_build("numpy", "1.26.4", "3.10"), py_build("numpy", "1.26.4", "3.11"),
                 py_build("numpy", "1.26.4", "3.12"))],
        ["python=3.10", "numpy"])

    add("dependency_versions_break_ties",
        "builds tied on version and build number: the one allowing the newest Python wins",
        [channel("main",
                 python("3.10.14"), python("3.11.9"), python("3.12.4"),
                 python_abi("3.10"), python_abi("3.11"), python_abi("3.12"),
                 py_build("numpy", "1.26.4", "3.10"), py_build("numpy", "1.26.4", "3.11"),
                 py_build("numpy", "1.26.4", "3.12"))],
        ["numpy"])

    add("build_number_highest",
        "builds of one version: the highest build number wins",
        [channel("main",
                 rec("zlib", "1.3", "h0_0", 0, timestamp=T0 + 3),
                 rec("zlib", "1.3", "h0_2", 2, timestamp=T0 + 1),
                 rec("zlib", "1.3", "h0_1", 1, timestamp=T0 + 2))],
        ["zlib"])
    add("build_number_bracket",
        "a build_number bracket selects one build",
        [channel("main",
                 rec("zlib", "1.3", "h0_0", 0), rec("zlib", "1.3", "h0_1", 1),
                 rec("zlib", "1.3", "h0_2", 2))],
        ["zlib[build_number=1]"])

    add("track_features_rank_below",
        "a build with track_features ranks below one without, even at a higher build number",
        [channel("main",
                 rec("blas", "1.0", "mkl", 5, track_features="blas_mkl"),
                 rec("blas", "1.0", "openblas", 1),
                 rec("scipy", "1.0", depends=["blas 1.0"]))],
        ["scipy"])
    add("track_features_when_asked",
        "the tracked build is chosen when a spec asks for it",
        [channel("main",
                 rec("blas", "1.0", "mkl", 5, track_features="blas_mkl"),
                 rec("blas", "1.0", "openblas", 1),
                 rec("scipy", "1.0", depends=["blas 1.0"]))],
        ["scipy", "blas * mkl"])
    add("track_features_beat_versions",
        "a newer version that tracks a feature ranks below an older one that does not",
        [channel("main",
                 rec("pkg", "2.0", "0", track_features="debug"),
                 rec("pkg", "1.0", "0"))],
        ["pkg"])

    add("noarch_python",
        "a noarch: python package from the noarch subdir, with the linux-64 Python",
        [channel("main",
                 python("3.11.9"), python_abi("3.11"),
                 rec("requests", "2.32.3", "pyhd8ed1ab_0", subdir="noarch", noarch="python",
                     depends=["python >=3.8", "urllib3 >=1.21.1,<3", "idna >=2.5,<4"]),
                 rec("urllib3", "2.2.3", "pyhd8ed1ab_0", subdir="noarch", noarch="python",
                     depends=["python >=3.8"]),
                 rec("urllib3", "3.0.0", "pyhd8ed1ab_0", subdir="noarch", noarch="python",
                     depends=["python >=3.9"]),
                 rec("idna", "3.7", "pyhd8ed1ab_0", subdir="noarch", noarch="python",
                     depends=["python >=3.6"]),
                 rec("tzdata", "2024a", "h0c530f3_0", subdir="noarch", noarch="generic"))],
        ["python 3.11.*", "requests", "tzdata"])

    two = [channel("high", rec("x", "1.0"), rec("y", "1.0", depends=["x"])),
           channel("low", rec("x", "2.0"), rec("x", "1.5"), rec("z", "1.0", depends=["x >=1.5"]))]
    add("strict_priority_takes_the_first_channel",
        "x is in both channels: strict priority takes it from the first, at a lower version",
        two, ["y"], priority="strict")
    add("disabled_priority_takes_the_highest_version",
        "the same channels with priority disabled: the highest version wins",
        two, ["y"], priority="disabled")
    add("strict_priority_makes_a_dependency_unsolvable",
        "z (only in the second channel) needs x >=1.5, which strict priority hides",
        two, ["z"], priority="strict")
    add("channel_qualified_spec_overrides_priority",
        "low::x asks for the second channel's x under strict priority",
        two, [f"file://{BASE}/channel_qualified_spec_overrides_priority/low::x"],
        priority="strict")
    add("strict_priority_with_a_root_constraint",
        "a root spec x >=1.5 under strict priority",
        two, ["x >=1.5"], priority="strict",
        conda={
            "unsolvable": True,
            "reason": "conda's strict priority takes x only from `high`, which has no x "
                      ">=1.5, so there is no solution; py-rattler loads only the records "
                      "that match a root spec, so `high`'s x 1.0 is never seen and x 2.0 "
                      "comes from `low`",
        })

    add("unsolvable_conflict",
        "a needs c <2 and b needs c >=2",
        [channel("main",
                 rec("a", "1.0", depends=["c <2"]), rec("b", "1.0", depends=["c >=2"]),
                 rec("c", "1.0"), rec("c", "2.0"))],
        ["a", "b"])
    add("unsolvable_missing_package",
        "a spec names a package no channel has",
        [channel("main", rec("a", "1.0"))],
        ["a", "nothere >=1"])

    glibc = [channel("main",
                     rec("libfoo", "2.0", "h_glibc228", depends=["__glibc >=2.28"]),
                     rec("libfoo", "1.0", "h_glibc217", depends=["__glibc >=2.17"]))]
    add("virtual_glibc_old",
        "__glibc 2.17: the build needing 2.28 is out",
        glibc, ["libfoo"], virtual=[("__glibc", "2.17", "0")])
    add("virtual_glibc_new",
        "__glibc 2.35: the newest build fits",
        glibc, ["libfoo"], virtual=[("__glibc", "2.35", "0")])
    add("virtual_glibc_absent",
        "no __glibc at all: neither build fits",
        glibc, ["libfoo"])
    cuda = [channel("main",
                    rec("torch", "2.3.0", "cuda120_0", 0, depends=["__cuda >=12.0"]),
                    rec("torch", "2.3.0", "cpu_0", 0))]
    add("virtual_cuda_absent_falls_back_to_cpu",
        "without __cuda the CPU build is chosen",
        cuda, ["torch"], virtual=[("__glibc", "2.35", "0"), ("__unix", "0", "0"),
                                   ("__linux", "5.15", "0"), ("__archspec", "1", "x86_64")])
    add("virtual_cuda_present",
        "with __cuda 12.4, both builds fit and the tie is broken by timestamps (none here)",
        [channel("main",
                 rec("torch", "2.3.0", "cuda120_0", 0, depends=["__cuda >=12.0"],
                     timestamp=T0 + 10),
                 rec("torch", "2.3.0", "cpu_0", 0, timestamp=T0))],
        ["torch"], virtual=[("__glibc", "2.35", "0"), ("__cuda", "12.4", "0")])
    add("virtual_constrains",
        "a constrains __glibc >=2.28; the virtual package is installed, so it applies",
        [channel("main",
                 rec("new", "2.0", constrains=["__glibc >=2.28"]),
                 rec("new", "1.0"))],
        ["new"], virtual=[("__glibc", "2.17", "0")])

    add("timestamp_breaks_the_last_tie",
        "two builds tied on everything else: the newest timestamp wins",
        [channel("main",
                 rec("pkg", "1.0", "habc_0", 0, timestamp=T0 + 1000),
                 rec("pkg", "1.0", "hdef_0", 0, timestamp=T0 + 5000),
                 rec("pkg", "1.0", "h000_0", 0))],
        ["pkg"])

    add("conda_version_order",
        "conda's version order: post releases above, pre releases and dev below",
        [channel("main",
                 rec("v", "1.0rc1"), rec("v", "1.0"), rec("v", "1.0.post1"), rec("v", "1.0dev"),
                 rec("w", "1.0rc1"), rec("w", "1.0"), rec("w", "0.9"),
                 rec("u", "2024a"), rec("u", "2024b"), rec("u", "2023c"),
                 rec("t", "1.1.1w"), rec("t", "1.1.1k"), rec("t", "3.0.0"))],
        ["v", "w <1.0", "u", "t <3"])

    add("fuzzy_and_exact_specs",
        "python=3.10 (3.10.*), pip=24.0 (24.0.*), numpy==1.26.4",
        [channel("main",
                 python("3.10.13"), python("3.10.14"), python("3.10.14", 1), python("3.11.9"),
                 python_abi("3.10"), python_abi("3.11"),
                 rec("pip", "24.0", "pyhd8ed1ab_0", subdir="noarch", noarch="python",
                     depends=["python >=3.7"]),
                 rec("pip", "24.0.1", "pyhd8ed1ab_0", subdir="noarch", noarch="python",
                     depends=["python >=3.7"]),
                 rec("pip", "24.2", "pyhd8ed1ab_0", subdir="noarch", noarch="python",
                     depends=["python >=3.8"]),
                 py_build("numpy", "1.26.4", "3.10"), py_build("numpy", "1.26.4", "3.11"),
                 py_build("numpy", "2.0.0", "3.10"))],
        ["python=3.10", "pip=24.0", "numpy==1.26.4"])

    add("tar_bz2_and_conda_twins",
        "the same build as .tar.bz2 and .conda",
        [channel("main", rec("a", "1.0", "0", ext=".tar.bz2"), rec("a", "1.0", "0"),
                 rec("a", "0.9", "0", ext=".tar.bz2"))],
        ["a"])

    add("installed_package_is_kept",
        "an installed older version that still fits is kept",
        [channel("main", rec("a", "1.0"), rec("a", "2.0"), rec("b", "1.0", depends=["a"]))],
        ["b"], installed=[("a", "1.0", "0")])
    add("installed_package_that_no_longer_fits_moves",
        "an installed version that the specs rule out is replaced",
        [channel("main", rec("a", "1.0"), rec("a", "2.0"), rec("b", "1.0", depends=["a >=2"]))],
        ["b"], installed=[("a", "1.0", "0")])

    dated = [channel("main",
                     rec("a", "1.0", timestamp=T0), rec("a", "2.0", timestamp=T0 + 86_400_000),
                     rec("a", "3.0", timestamp=T0 + 2 * 86_400_000),
                     rec("b", "1.0", timestamp=T0), rec("b", "2.0"),
                     rec("c", "1.0", depends=["a >=2"], timestamp=T0 + 86_400_000))]
    add("exclude_newer_keeps_what_existed",
        "a cutoff one day after T0: a 3.0 is too new, a 2.0 is exactly at the cutoff; b 2.0 "
        "has no timestamp and stays",
        dated, ["a", "b"], exclude_newer=T0 + 86_400_000)
    add("exclude_newer_makes_a_dependency_unsolvable",
        "a cutoff at T0: c needs a >=2, which did not exist yet",
        dated, ["c"], exclude_newer=T0)

    out.append(example_scenario())
    return out


def example_scenario():
    """The bundled example's conda environment against its locked records plus newer ones."""
    lock = tomllib.loads(EXAMPLE_LOCK.read_text())
    records = []
    for p in lock["packages"]:
        if p.get("ecosystem") != "conda" or p.get("prefix") != EXAMPLE_PREFIX:
            continue
        subdir = p["url"].rsplit("/", 2)[-2]
        build_number = int(p["build"].rsplit("_", 1)[-1]) if p["build"].rsplit("_", 1)[-1].isdigit() else 0
        records.append(rec(p["name"], p["version"], p["build"], build_number,
                           depends=p.get("requires", []), subdir=subdir, timestamp=T0,
                           noarch="python" if p["build"].startswith("pyh") else None))
    # Newer releases, as a rebuild would find them.
    records += [
        rec("python", "3.10.15", "he725a3c_1_cpython", 1, subdir="linux-64", timestamp=T0 + 9,
            depends=["bzip2 >=1.0.8,<2.0a0", "ld_impl_linux-64 >=2.36.1", "libffi >=3.4,<4.0a0",
                     "libgcc-ng >=12", "libnsl >=2.0.1,<2.1.0a0", "libsqlite >=3.45.2,<4.0a0",
                     "libuuid >=2.38.1,<3.0a0", "libxcrypt >=4.4.36", "libzlib >=1.2.13,<1.3.0a0",
                     "ncurses >=6.4.20240210,<7.0a0", "openssl >=3.3.2,<4.0a0",
                     "readline >=8.2,<9.0a0", "tk >=8.6.13,<8.7.0a0", "tzdata",
                     "xz >=5.2.6,<6.0a0"]),
        rec("python", "3.11.10", "hc5c86c4_3_cpython", 3, subdir="linux-64", timestamp=T0 + 9,
            depends=["libgcc-ng >=12", "openssl >=3.3.2,<4.0a0", "tzdata", "python_abi 3.11.* *_cp311"]),
        rec("python_abi", "3.11", "5_cp311", 5, subdir="linux-64", timestamp=T0 + 9),
        rec("openssl", "3.3.2", "hb9d3cd8_0", 0, subdir="linux-64", timestamp=T0 + 9,
            depends=["ca-certificates", "libgcc >=13"]),
        rec("libgcc", "14.2.0", "h77fa898_1", 1, subdir="linux-64", timestamp=T0 + 9,
            depends=["_libgcc_mutex 0.1 conda_forge", "_openmp_mutex >=4.5"]),
        rec("ca-certificates", "2024.12.14", "hbcca054_0", 0, subdir="linux-64", timestamp=T0 + 9),
        rec("scipy", "1.14.1", "py310hfcf56fc_2", 2, subdir="linux-64", timestamp=T0 + 9,
            depends=["libblas >=3.9.0,<4.0a0", "libcblas >=3.9.0,<4.0a0", "libgcc-ng >=12",
                     "libgfortran-ng", "libgfortran5 >=12.3.0", "liblapack >=3.9.0,<4.0a0",
                     "libstdcxx-ng >=12", "numpy <2.3", "numpy >=1.19,<3", "numpy >=1.23.5",
                     "python >=3.10,<3.11.0a0", "python_abi 3.10.* *_cp310"]),
        rec("scipy", "1.14.1", "py311he9a78e4_2", 2, subdir="linux-64", timestamp=T0 + 9,
            depends=["numpy >=1.23.5", "python >=3.11,<3.12.0a0", "python_abi 3.11.* *_cp311"]),
        rec("scipy", "1.15.0", "py310hfcf56fc_0", 0, subdir="linux-64", timestamp=T0 + 10,
            depends=["numpy >=2.0", "python >=3.10,<3.11.0a0", "python_abi 3.10.* *_cp310"]),
        rec("numpy", "2.2.1", "py310hd6e36ab_0", 0, subdir="linux-64", timestamp=T0 + 10,
            depends=["python >=3.10,<3.11.0a0", "python_abi 3.10.* *_cp310"]),
        rec("pip", "24.3.1", "pyh8b19718_2", 2, subdir="noarch", timestamp=T0 + 9,
            noarch="python", depends=["python >=3.8,<3.13.0a0", "setuptools", "wheel"]),
        rec("setuptools", "75.6.0", "pyhff2d567_1", 1, subdir="noarch", timestamp=T0 + 9,
            noarch="python", depends=["python >=3.9"]),
        rec("wheel", "0.45.1", "pyhd8ed1ab_1", 1, subdir="noarch", timestamp=T0 + 9,
            noarch="python", depends=["python >=3.9"]),
        rec("tzdata", "2024b", "hc8b5060_0", 0, subdir="noarch", timestamp=T0 + 9,
            noarch="generic"),
    ]
    return {
        "name": "bundled_example",
        "description": "fixtures/example's conda file (python=3.10, pip=24.0, numpy==1.26.4, "
                       "scipy) against its locked conda-forge records plus newer releases",
        "channels": [channel("conda-forge", *records)],
        "specs": ["python=3.10", "pip=24.0", "numpy==1.26.4", "scipy"],
        "channel_priority": "flexible",
        "virtual_packages": [["__glibc", "2.35", "0"], ["__unix", "0", "0"],
                             ["__linux", "5.15", "0"], ["__archspec", "1", "x86_64"]],
        "installed": [],
        "exclude_newer": None,
    }


def channel_url(scenario, name):
    return f"file://{BASE}/{scenario}/{name}"


async def solve(s, gateway):
    root = BASE / s["name"]
    shutil.rmtree(root, ignore_errors=True)
    for ch in s["channels"]:
        for subdir, doc in ch["subdirs"].items():
            d = root / ch["name"] / subdir
            d.mkdir(parents=True)
            (d / "repodata.json").write_text(json.dumps(doc, sort_keys=True))
    sources = [Channel(channel_url(s["name"], ch["name"])) for ch in s["channels"]]
    virtual = [GenericVirtualPackage(PackageName(n), Version(v), BuildString(b))
               for n, v, b in s["virtual_packages"]]
    # py-rattler has strict and disabled priority only; flexible is solved as disabled
    # (flexible ranks channels first, which only matters with several channels).
    priority = {"strict": ChannelPriority.Strict, "disabled": ChannelPriority.Disabled,
                "flexible": ChannelPriority.Disabled}[s["channel_priority"]]
    if s["channel_priority"] == "flexible":
        assert len(s["channels"]) == 1, "flexible priority is checked with one channel only"
    locked = []
    if s["installed"]:
        # The installed records, as a previous solve chose them.
        specs = [f"{n} =={v} {b}" for n, v, b in s["installed"]]
        locked = await rattler.solve(sources=sources, specs=specs, gateway=gateway,
                                     platforms=["linux-64", "noarch"], virtual_packages=virtual)
    try:
        cutoff = None
        if s["exclude_newer"] is not None:
            cutoff = datetime.datetime.fromtimestamp(s["exclude_newer"] / 1000,
                                                     tz=datetime.timezone.utc)
        records = await rattler.solve(sources=sources, specs=s["specs"], gateway=gateway,
                                      platforms=["linux-64", "noarch"], virtual_packages=virtual,
                                      channel_priority=priority, locked_packages=locked,
                                      exclude_newer=cutoff, timestamp_policy="allow-missing")
    except SolverError as e:
        return {"unsolvable": True, "message": str(e)}
    by_url = {channel_url(s["name"], ch["name"]).rstrip("/"): ch["name"] for ch in s["channels"]}
    return {"unsolvable": False, "packages": sorted(
        ({"name": r.name.normalized, "version": str(r.version), "build": str(r.build),
          "channel": by_url[r.channel.rstrip("/")], "filename": r.file_name}
         for r in records),
        key=lambda p: p["name"])}


async def main():
    gateway = Gateway(cache_dir=str(BASE / ".cache"))
    out = []
    for s in scenarios():
        # A fresh gateway per scenario: its cache is keyed by URL, and URLs differ.
        s["rattler"] = await solve(s, gateway)
        out.append(s)
        print(s["name"], "unsolvable" if s["rattler"]["unsolvable"] else
              " ".join(f'{p["name"]}={p["version"]}={p["build"]}' for p in s["rattler"]["packages"]),
              file=sys.stderr)
    doc = {
        "generator": "scripts/gen-conda-solve-vectors.py",
        "py_rattler": dist_version("py-rattler"),
        "base": f"file://{BASE}",
        "scenarios": out,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


asyncio.run(main())
