#!/usr/bin/env python3
"""scripts/bench install: what a user feels of the wheel, against ruff's.

The wheel is the one scripts/dist built (target/wheels/envaudit_cli-*.whl; run scripts/dist
first). The peer is ruff's published wheel for this platform, pinned (RUFF below), fetched
once with `pip download ruff==RUFF --only-binary :all: --no-deps` into
$ENVAUDIT_BENCH_CACHE/install (default target/bench-cache/install): ruff is a Rust binary
shipped the same way (maturin, `bindings = "bin"`), so the two installs do the same work on
files of different sizes.

Measured, interleaved round by round (the order alternates), medians:
  - pip install:      `python -m pip install --isolated --no-index --no-deps WHEEL` into a
                      fresh `python3 -m venv` (made untimed before each run);
  - uv tool install:  `uv tool install --offline WHEEL` (uv from scripts/dist-tools.txt) with
                      fresh, empty UV_TOOL_DIR, UV_TOOL_BIN_DIR and UV_CACHE_DIR each run: a
                      first install, its tool venv included;
  - --version:        `envaudit --version` and `ruff --version` from the pip venvs, with
                      hyperfine (-N, 20 warm-ups, 300 runs), or a loop of 300 runs without it;
  - sizes:            the wheel files and the installed binaries.

Prints the Markdown for docs/performance.md, with the machine's load before and after.

Environment: BENCH_ROUNDS (default 9) rounds of the install commands.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUFF = "0.17.6"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
VERSION_RUNS = 300
CACHE = Path(os.environ.get("ENVAUDIT_BENCH_CACHE", ROOT / "target" / "bench-cache")) / "install"
# A new user's machine: the host's pip and uv configuration is not read.
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}


def log(msg):
    print(f"bench install: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, env=kw.pop("env", ENV), **kw)


def out(cmd):
    return run(cmd, capture_output=True, text=True).stdout.strip()


def timed(cmd, env=ENV):
    t = time.perf_counter()
    run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def envaudit_wheel():
    wheels = sorted((ROOT / "target" / "wheels").glob("envaudit_cli-*.whl"))
    if len(wheels) != 1:
        sys.exit(f"bench install: expected one wheel in target/wheels, found {len(wheels)}: run scripts/dist")
    return wheels[0]


def ruff_wheel():
    dest = CACHE / f"ruff-{RUFF}"
    found = sorted(dest.glob("ruff-*.whl"))
    if not found:
        dest.mkdir(parents=True, exist_ok=True)
        log(f"downloading ruff {RUFF}'s wheel for this platform")
        run([sys.executable, "-m", "pip", "download", "--isolated", "--quiet", "--disable-pip-version-check", f"ruff=={RUFF}",
             "--only-binary", ":all:", "--no-deps", "-d", str(dest)])
        found = sorted(dest.glob("ruff-*.whl"))
    return found[0]


def pip_install(wheel, work):
    """A fresh venv (untimed), then the timed pip install of the wheel file."""
    venv = work / "venv"
    shutil.rmtree(venv, ignore_errors=True)
    run(["python3", "-m", "venv", str(venv)])
    return timed([str(venv / "bin" / "python"), "-m", "pip", "install", "--isolated", "--quiet",
                  "--disable-pip-version-check", "--no-index", "--no-deps", str(wheel)])


def uv_install(uv, wheel, work):
    """`uv tool install` of the wheel file into empty tool, bin and cache folders."""
    shutil.rmtree(work / "uv", ignore_errors=True)
    env = dict(ENV, UV_TOOL_DIR=str(work / "uv" / "tools"), UV_TOOL_BIN_DIR=str(work / "uv" / "bin"),
               UV_CACHE_DIR=str(work / "uv" / "cache"), UV_PYTHON_DOWNLOADS="never", UV_NO_CONFIG="1")
    return timed([str(uv), "tool", "install", "--offline", "--python", shutil.which("python3"), str(wheel)],
                 env=env)


def startup(commands):
    """Median and mean wall time of each command, and how they were measured."""
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            run(["hyperfine", "-N", "--warmup", "20", "--runs", str(VERSION_RUNS), "--export-json", f.name,
                 *[" ".join(c) for c in commands]], stdout=subprocess.DEVNULL)
            results = json.load(open(f.name))["results"]
        return [(r["median"], r["mean"]) for r in results], "hyperfine -N (20 warm-ups)"
    res = []
    for c in commands:
        times = [timed(c) for _ in range(VERSION_RUNS)]
        res.append((statistics.median(times), statistics.mean(times)))
    return res, "a loop (no hyperfine)"


def main():
    tools = Path(out([str(ROOT / "scripts" / "dist"), "--tools"]))
    uv = tools / "uv"
    ours, peer = envaudit_wheel(), ruff_wheel()
    load_before = os.getloadavg()
    log(f"{ours.name} against {peer.name}, {ROUNDS} rounds; load {load_before[0]:.2f}")
    times = {k: [] for k in ("pip envaudit", "pip ruff", "uv envaudit", "uv ruff")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for d in ("envaudit", "ruff"):
            (work / d).mkdir()
        for r in range(ROUNDS):
            order = [("envaudit", ours), ("ruff", peer)]
            if r % 2:
                order.reverse()
            for name, wheel in order:
                times[f"pip {name}"].append(pip_install(wheel, work / name))
            for name, wheel in reversed(order):
                times[f"uv {name}"].append(uv_install(uv, wheel, work / name))
            log(f"round {r + 1}: " + ", ".join(f"{k} {v[-1] * 1000:.0f} ms" for k, v in times.items()))
        # The pip venvs of the last round stay for the start-up and size figures.
        bins = {n: work / n / "venv" / "bin" / n for n in ("envaudit", "ruff")}
        versions = {n: out([str(b), "--version"]) for n, b in bins.items()}
        results, how = startup([[str(bins["envaudit"]), "--version"], [str(bins["ruff"]), "--version"]])
        (ea, _), (ra, _) = results
        sizes = {n: b.stat().st_size for n, b in bins.items()}
    load_after = os.getloadavg()

    med = {k: statistics.median(v) for k, v in times.items()}
    mb = lambda n: f"{n / 1e6:.1f} MB"  # noqa: E731
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    us = lambda s: f"{s * 1000:.2f} ms"  # noqa: E731
    rows = [
        ("wheel size", mb(ours.stat().st_size), mb(peer.stat().st_size), ours.stat().st_size / peer.stat().st_size),
        ("installed binary", mb(sizes["envaudit"]), mb(sizes["ruff"]), sizes["envaudit"] / sizes["ruff"]),
        ("`pip install WHEEL` into a fresh venv", ms(med["pip envaudit"]), ms(med["pip ruff"]),
         med["pip envaudit"] / med["pip ruff"]),
        ("`uv tool install WHEEL`, empty cache", ms(med["uv envaudit"]), ms(med["uv ruff"]),
         med["uv envaudit"] / med["uv ruff"]),
        ("`--version` start-up (median)", us(ea), us(ra), ea / ra),
    ]
    pip_version = out(["python3", "-m", "pip", "--version"]).split()[1]
    print(f"{ours.name} ({versions['envaudit']}) against {peer.name} ({versions['ruff']});")
    print(f"pip {pip_version} of Python {out(['python3', '-c', 'import platform; print(platform.python_version())'])}, "
          f"{out([str(uv), '--version'])}; medians of {ROUNDS} interleaved rounds; `--version`: {how}, "
          f"{VERSION_RUNS} runs; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.\n")
    print("| measure | envaudit | ruff | ratio |")
    print("|---|---|---|---|")
    for name, a, b, ratio in rows:
        print(f"| {name} | {a} | {b} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()
