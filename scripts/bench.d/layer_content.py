#!/usr/bin/env python3
"""scripts/bench layer-content: what checking layer content against the diff_ids costs.

On the 1.5 GB image of `scripts/bench catalog` (gzip and zstd layouts, built once and cached
by that benchmark's code), times on the release binary, interleaved run by run:

  - catalog:  envaudit catalog oci:DIR --no-cache --format json
  - verify:   the same with --verify-diff-ids (every layer's uncompressed stream hashed and
              compared with its diff_id)

on both cores and on one (taskset -c 0), and prints the ratios for docs/performance.md.
The check also runs once beforehand and must report no finding (exit 0 with
--fail-on note). A hashing floor is timed with them: `openssl dgst -sha256` (which uses the
CPU's SHA extensions) over the layers' uncompressed bytes, decompressed once beforehand into
files in /dev/shm.

Environment: BENCH_RUNS (default 11) runs of each command; ENVAUDIT_BENCH_CACHE as for
`scripts/bench catalog`; CARGO_TARGET_DIR locates the release binary.
"""

import argparse
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import catalog as cat  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "11"))


def log(msg):
    print(f"bench layer-content: {msg}", file=sys.stderr, flush=True)


def timed(cmd, env):
    """Wall time and CPU time (user + system, of the command and its children) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, shell=True, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def interleaved(cmds, runs, env):
    """Median wall and CPU time of each command, the commands alternating run by run (one
    warm-up round first), so that a change in the machine's load hits them alike."""
    for c in cmds.values():
        timed(c, env)
    times = {k: [] for k in cmds}
    for _ in range(runs):
        for k, c in cmds.items():
            times[k].append(timed(c, env))
    wall = {k: statistics.median(w for w, _ in v) for k, v in times.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}
    return wall, cpu


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench layer-content", description=__doc__.split("\n\n")[0])
    ap.add_argument("--envaudit", help="the envaudit binary to measure (default: build the release binary)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release")
    args = ap.parse_args()

    cat.CACHE.mkdir(parents=True, exist_ok=True)
    cat.ensure_apt()
    uv = cat.tool_venv("uv", cat.UV)
    venv, dropped = cat.ensure_venv(uv / "uv")
    extra = cat.ensure_extra(uv / "uv", venv)
    images = cat.ensure_images(venv, extra, dropped)
    envaudit = cat.ensure_envaudit(args)
    ea = shlex.quote(str(envaudit))
    # `--no-cache` writes nothing; the folder only keeps the user's own cache out of reach.
    scratch = Path(tempfile.mkdtemp(prefix="envaudit-bench-"))
    try:
        measure(images, ea, {**os.environ, "ENVAUDIT_CACHE_DIR": str(scratch / "cache"), "NO_COLOR": "1"})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure(images, ea, env):
    floors = {"gzip": "gzip -dc", "zstd": "zstd -q -dc"}
    results = {}
    for fmt in ("gzip", "zstd"):
        img = images[fmt]["base"]
        layout = shlex.quote(img["layout"])
        plain = f"{ea} catalog oci:{layout} --no-cache --format json"
        checked = f"{plain} --verify-diff-ids"
        r = subprocess.run(f"{checked} --fail-on note", shell=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise SystemExit(f"{fmt}: the check failed on the benchmark image ({checked}):\n{r.stderr}")
        # The hashing floor: openssl over the uncompressed bytes, from memory (/dev/shm).
        tars = []
        for i, blob in enumerate(img["layers"]):
            t = Path("/dev/shm") / f"envaudit-bench-{os.getpid()}-{fmt}-{i}.tar"
            subprocess.run(f"{floors[fmt]} {shlex.quote(blob)} > {shlex.quote(str(t))}", shell=True, check=True)
            tars.append(str(t))
        try:
            log(f"{fmt}: {RUNS} interleaved runs of each command")
            medians, cpu = interleaved(
                {
                    "catalog-2": plain,
                    "verify-2": checked,
                    "catalog-1": f"taskset -c 0 {plain}",
                    "verify-1": f"taskset -c 0 {checked}",
                    "openssl-1": f"taskset -c 0 openssl dgst -sha256 {' '.join(tars)}",
                },
                RUNS,
                env,
            )
            uncompressed = sum(Path(t).stat().st_size for t in tars)
        finally:
            for t in tars:
                Path(t).unlink(missing_ok=True)
        results[fmt] = {"t": medians, "cpu": cpu, "uncompressed": uncompressed, "compressed": img["compressed"]}

    def ms(s):
        return f"{s * 1000:,.0f} ms"

    print()
    print("| target | measured | verify ÷ catalog | result |")
    print("|---|---|---|---|")
    for fmt in ("gzip", "zstd"):
        t = results[fmt]["t"]
        for cores in ("2", "1"):
            ratio = t[f"verify-{cores}"] / t[f"catalog-{cores}"]
            print(
                f"| {fmt}, {cores} core{'s' if cores == '2' else ''}: `catalog --verify-diff-ids` within 1.3× of `catalog --no-cache` "
                f"| verify {ms(t[f'verify-{cores}'])}, catalog {ms(t[f'catalog-{cores}'])} | {ratio:.2f}× | {'pass' if ratio <= 1.3 else 'FAIL'} |"
            )
    print()
    print("| command | gzip | zstd | gzip CPU | zstd CPU |")
    print("|---|---|---|---|---|")
    for k, label in (
        ("catalog-2", "`catalog --no-cache`, 2 cores"),
        ("verify-2", "`catalog --no-cache --verify-diff-ids`, 2 cores"),
        ("catalog-1", "`catalog --no-cache`, 1 core"),
        ("verify-1", "`catalog --no-cache --verify-diff-ids`, 1 core"),
        ("openssl-1", "`openssl dgst -sha256` of the uncompressed layers, 1 core"),
    ):
        print(
            f"| {label} | {ms(results['gzip']['t'][k])} | {ms(results['zstd']['t'][k])} "
            f"| {ms(results['gzip']['cpu'][k])} | {ms(results['zstd']['cpu'][k])} |"
        )
    g = results["gzip"]
    print()
    print(
        f"Image: {len(images['gzip']['base']['layers'])} layers, {g['uncompressed'] / 1e6:,.0f} MB uncompressed, "
        f"{g['compressed'] / 1e6:,.0f} MB as gzip, {results['zstd']['compressed'] / 1e6:,.0f} MB as zstd; {RUNS} interleaved runs, medians."
    )
    for fmt in ("gzip", "zstd"):
        c = results[fmt]["cpu"]
        extra = c["verify-2"] - c["catalog-2"]
        print(
            f"{fmt}: the check adds {ms(extra)} of CPU time ({c['verify-2'] / c['catalog-2']:.2f}× the catalog's), "
            f"{results[fmt]['uncompressed'] / extra / 1e6:,.0f} MB/s of uncompressed bytes "
            f"(openssl: {results[fmt]['uncompressed'] / c['openssl-1'] / 1e6:,.0f} MB/s)"
        )
    print(f"Machine: {cat.machine()}; load average before: {os.getloadavg()}")


if __name__ == "__main__":
    main()
