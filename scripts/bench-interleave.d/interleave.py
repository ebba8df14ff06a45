#!/usr/bin/env python3
"""Interleaved before/after benchmarks of envaudit (see scripts/bench-interleave).

For ROUNDS rounds, each benchmark is run on BEFORE, then on AFTER, then the next benchmark
(before/after/before/after...). Each run yields one figure per metric (itself a median of
several repetitions inside the run); the table shows, per metric, the median over the rounds
of each side and after/before.

Benchmarks (what the repo's scripts/bench* and benches/*.rs measure, on already-built
binaries, without the peer tools that do not change with envaudit):

  catalog   scripts/bench.d/catalog.py: `envaudit catalog oci:DIR --no-cache --format json`
            of the 1.5 GB image (gzip and zstd layers, both cores; one core with
            BENCH_CATALOG_1CORE=1), the second image with the first's layer cache (gzip),
            and the venv as a folder. Inputs built once under ~/.cache/envaudit-bench
            (ENVAUDIT_BENCH_CACHE) by BEFORE's own scripts/bench.d code.
  drift     benches/drift.rs: its compiled bench binary (`--bench`, BENCH_REPS), each repo's
            own, which runs that repo's target/release/envaudit.
  lockfile  scripts/bench-lockfile: `diff` (5 envs x 500 packages, table and json), `log
            --format json` (1,000 commits x 350 packages), `lock` of the example with a warm
            cache and with --no-cache, `lock` of the large image (catalog's gzip `next`
            layout) with a warm cache. Data generated once with BEFORE's gen_lockfiles.
  registry  benches/registry.rs with BENCH_SKIP_BIG=1 (warm resolve against docker-registry,
            with curl and skopeo as controls; 100 references at +20 ms per request).
"""

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALL = ["catalog", "drift", "lockfile", "registry"]


def log(msg):
    print(f"bench-interleave: {msg}", file=sys.stderr, flush=True)


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


REPS = env_int("BENCH_REPS", 11)          # drift/registry benches, lockfile's fast commands
FEW = max(3, REPS // 3)                    # lockfile's log, --no-cache and the large image
RUNS = env_int("BENCH_RUNS", 3)            # catalog's image scans (original default 5)
ONE_CORE = os.environ.get("BENCH_CATALOG_1CORE") == "1"


# --- timing ----------------------------------------------------------------------------------


def timed(cmd, runs, warmup=1, prepare=None, cwd=None, env=None, ok=(0,)):
    """Median wall seconds of `cmd` (a list), each run a fresh process, stdout and stderr
    discarded; `prepare` (a list or a callable) runs before each run, untimed."""
    env = {**os.environ, **(env or {})}
    times = []
    for i in range(warmup + runs):
        if prepare:
            prepare() if callable(prepare) else subprocess.run(prepare, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
        t = time.perf_counter()
        r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        took = time.perf_counter() - t
        if r.returncode not in ok:
            raise SystemExit(f"{cmd}: exit {r.returncode}\n{r.stderr.decode(errors='replace')}")
        if i >= warmup:
            times.append(took)
    return statistics.median(times)


# --- the sides -------------------------------------------------------------------------------


def newest(pattern_dir, prefix):
    """The newest executable target/release/deps/PREFIX-<hash> (a bench binary)."""
    cands = [
        p for p in Path(pattern_dir).glob(f"{prefix}-*")
        if p.is_file() and os.access(p, os.X_OK) and re.fullmatch(rf"{re.escape(prefix)}-[0-9a-f]{{16}}", p.name)
    ]
    return max(cands, key=lambda p: p.stat().st_mtime) if cands else None


class Side:
    def __init__(self, label, repo):
        self.label = label
        self.repo = Path(repo).resolve()
        rel = self.repo / "target" / "release"
        self.bin = rel / "envaudit"
        self.deps = rel / "deps"
        self.gen = rel / "examples" / "gen_lockfiles"
        if not self.bin.exists():
            raise SystemExit(f"{self.bin} missing: cd {self.repo} && cargo build --release --locked")

    def bench_bin(self, name):
        b = newest(self.deps, name)
        if b is None:
            raise SystemExit(f"no bench binary {self.deps}/{name}-*: cd {self.repo} && cargo bench --no-run --locked")
        return b


# --- benchmarks -------------------------------------------------------------------------------

MS = re.compile(r"(?:([A-Za-z0-9][\w ]*?) )?([\d,]+(?:\.\d+)?) ms")


def table_rows(stdout):
    """(target, measured) of the Markdown table a cargo bench prints."""
    rows = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] not in ("target", "---"):
            rows.append((cells[0], cells[1]))
    return rows


def cargo_bench(side, name, short_names, extra_env):
    b = side.bench_bin(name)
    env = {**os.environ, "BENCH_REPS": str(REPS), **extra_env}
    r = subprocess.run([str(b), "--bench"], cwd=side.repo, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{b} --bench failed:\n{r.stdout}\n{r.stderr}")
    out = {}
    for target, measured in table_rows(r.stdout):
        key = next((v for k, v in short_names.items() if k in target), target[:40])
        for label, num in MS.findall(measured):
            metric = f"{key} ({label.strip()})" if label else key
            out[metric] = float(num.replace(",", "")) / 1000
    if not out:
        raise SystemExit(f"{b}: no figures in its output:\n{r.stdout}")
    return out


def bench_drift(side, ctx):
    return cargo_bench(side, "drift", {
        "graph + drift": "graph + drift in process (500 pkgs)",
        "`envaudit drift`": "envaudit drift, end to end",
        "`envaudit check`": "check of 20 envs, +20 ms/request",
    }, {})


def bench_registry(side, ctx):
    r = cargo_bench(side, "registry", {
        "≤ 1.2× `curl`": "warm resolve",
        "skopeo": "warm resolve vs skopeo",
        "100 references": "100 references",
    }, {"BENCH_SKIP_BIG": "1"})
    # the skopeo row repeats envaudit's warm resolve
    r.pop("warm resolve vs skopeo (envaudit)", None)
    return {k.replace("warm resolve vs skopeo (skopeo)", "warm resolve (skopeo, control)")
             .replace("warm resolve (curl)", "warm resolve (curl, control)"): v for k, v in r.items()}


def prepare_catalog(before):
    r = subprocess.run([sys.executable, str(HERE / "catalog_prepare.py"), str(before.repo)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"catalog inputs: {r.stderr}")
    return json.loads(r.stdout)


def bench_catalog(side, ctx):
    cat = ctx["catalog"]
    ea = str(side.bin)
    cache = ctx["work"] / f"cache-catalog-{side.label}"
    env = {"ENVAUDIT_CACHE_DIR": str(cache), "NO_COLOR": "1"}
    out = {}
    for fmt in ("gzip", "zstd"):
        scan = [ea, "catalog", f"oci:{cat['images'][fmt]['base']}", "--no-cache", "--format", "json"]
        out[f"image {fmt}, 2 cores"] = timed(scan, RUNS, env=env)
        if ONE_CORE:
            out[f"image {fmt}, 1 core"] = timed(["taskset", "-c", "0", *scan], RUNS, env=env)

    def fill():
        shutil.rmtree(cache, ignore_errors=True)
        subprocess.run([ea, "catalog", f"oci:{cat['images']['gzip']['base']}", "--format", "json"],
                       env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)

    out["second image gzip, warm cache"] = timed(
        [ea, "catalog", f"oci:{cat['images']['gzip']['next']}", "--format", "json"], RUNS, prepare=fill, env=env)
    out["venv folder (348 dists)"] = timed([ea, "catalog", cat["venv"], "--format", "json"], max(RUNS, 10), warmup=2, env=env)
    shutil.rmtree(cache, ignore_errors=True)
    return out


def prepare_lockfile(before, ctx):
    work = ctx["work"] / "lockfile"
    work.mkdir()
    if not before.gen.exists():
        raise SystemExit(f"{before.gen} missing: cd {before.repo} && cargo build --release --locked --example gen_lockfiles")
    subprocess.run([str(before.gen), "diff", str(work / "diff"), "5", "500"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(before.gen), "history", str(work / "repo"), "1000", "350"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if shutil.which("git"):
        subprocess.run(["git", "-C", str(work / "repo"), "gc", "--quiet"], check=True)
    big = os.environ.get("BENCH_BIG_IMAGE", "")
    if not big and ctx.get("catalog"):
        big = ctx["catalog"]["images"]["gzip"]["next"]
    ctx["lockfile"] = {"work": work, "big": big if big and big != "none" and Path(big).is_dir() else None}


def bench_lockfile(side, ctx):
    lf = ctx["lockfile"]
    work = lf["work"]
    ea = str(side.bin)
    out = {}
    a, b = f"@:{work}/diff/a.lock", f"@:{work}/diff/b.lock"
    out["diff 5x500 (table)"] = timed([ea, "diff", a, b, "--fail-on", "never"], REPS, warmup=3)
    out["diff 5x500 (json)"] = timed([ea, "diff", a, b, "--fail-on", "never", "--format", "json"], REPS, warmup=3)
    out["log 1000 commits (json)"] = timed(
        [ea, "log", "--format", "json", "--lockfile", str(work / "repo" / "envaudit.lock")], FEW, warmup=1)
    # lock of the example, warm layer cache; a fresh lockfile and cache per side and round
    side_dir = work / f"lock-{side.label}"
    shutil.rmtree(side_dir, ignore_errors=True)
    env = {"ENVAUDIT_CACHE_DIR": str(side_dir / "cache")}
    ex = ctx["before_repo"] / "fixtures" / "example"
    lock = [ea, "lock", str(ex / "environment.yml"), "--image", f"oci:{ex}/image:v1",
            "--base-image", f"oci:{ex}/image:base", "--lockfile", str(side_dir / "lock" / "envaudit.lock")]
    subprocess.run(lock, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)  # fills the cache
    out["lock example, warm cache"] = timed(lock, REPS, warmup=3, env=env)
    out["lock example, --no-cache"] = timed([*lock, "--no-cache"], FEW, warmup=3, env=env)
    if lf["big"]:
        big = [ea, "lock", str(ex / "environment.yml"), "--image", f"oci:{lf['big']}",
               "--lockfile", str(side_dir / "big" / "envaudit.lock")]
        subprocess.run(big, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
        out["lock 1.5 GB image, warm cache"] = timed(big, FEW, warmup=1, env=env)
    shutil.rmtree(side_dir, ignore_errors=True)
    return out


BENCHES = {"catalog": bench_catalog, "drift": bench_drift, "lockfile": bench_lockfile, "registry": bench_registry}


# --- main ---------------------------------------------------------------------------------------


def fmt_s(s):
    return f"{s * 1000:,.1f} ms" if s < 10 else f"{s:,.2f} s"


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    before, after = Side("before", sys.argv[1]), Side("after", sys.argv[2])
    rounds = int(sys.argv[3])
    only = [b.strip() for b in os.environ.get("BENCH_ONLY", ",".join(ALL)).split(",") if b.strip()]
    for b in only:
        if b not in BENCHES:
            raise SystemExit(f"unknown benchmark `{b}` (BENCH_ONLY: {', '.join(ALL)})")
    if "registry" in only:
        for tool in ("docker-registry", "skopeo", "curl"):
            if not shutil.which(tool):
                raise SystemExit(f"registry benchmark: `{tool}` missing (apt-get install -y docker-registry skopeo curl), or BENCH_ONLY without registry")
    for s in (before, after):
        log(f"{s.label}: {s.bin} (built {time.ctime(s.bin.stat().st_mtime)})")
        for b in ("drift", "registry"):
            if b in only:
                log(f"{s.label}: bench binary {s.bench_bin(b)}")
    keep = os.environ.get("BENCH_KEEP") == "1"
    work = Path(tempfile.mkdtemp(prefix="bench-interleave.", dir=os.environ.get("BENCH_WORK") or None))
    ctx = {"work": work, "before_repo": before.repo}
    results = {}  # (bench, metric) -> {"before": [...], "after": [...]}
    load0 = os.getloadavg()
    t0 = time.time()
    try:
        if "catalog" in only or "lockfile" in only:
            log("preparing the catalog inputs (cached after the first time)")
            ctx["catalog"] = prepare_catalog(before)
        if "lockfile" in only:
            log("generating the lockfile benchmark's data")
            prepare_lockfile(before, ctx)
        for r in range(1, rounds + 1):
            tr = time.time()
            for b in only:
                for s in (before, after):
                    ts = time.time()
                    figures = BENCHES[b](s, ctx)
                    log(f"round {r}/{rounds} {b} {s.label}: " + ", ".join(f"{k} {fmt_s(v)}" for k, v in figures.items())
                        + f"  [{time.time() - ts:.0f} s]")
                    for k, v in figures.items():
                        results.setdefault((b, k), {"before": [], "after": []})[s.label].append(v)
            log(f"round {r} took {time.time() - tr:.0f} s")
    finally:
        if keep:
            log(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    raw = Path(os.environ.get("BENCH_RESULTS", f"/tmp/bench-interleave-{time.strftime('%Y%m%dT%H%M%S')}.json"))
    raw.write_text(json.dumps({
        "before": str(before.repo), "after": str(after.repo), "rounds": rounds, "reps": REPS, "runs": RUNS,
        "results": [{"bench": b, "metric": m, **v} for (b, m), v in results.items()],
    }, indent=2))
    load1 = os.getloadavg()
    print(f"Before: `{before.repo}`; after: `{after.repo}`; {rounds} round(s), interleaved "
          f"before/after per benchmark; BENCH_REPS={REPS}, BENCH_RUNS={RUNS}. "
          f"{os.cpu_count()} cores, load average {load0[0]:.2f} at start, {load1[0]:.2f} at end; "
          f"{time.time() - t0:.0f} s in all. Per round each figure is a median of repetitions; "
          f"below, the median over rounds.")
    print()
    print("| benchmark | metric | before | after | after/before |")
    print("|---|---|---:|---:|---:|")
    for (b, m), v in results.items():
        mb, ma = statistics.median(v["before"]), statistics.median(v["after"])
        print(f"| {b} | {m} | {fmt_s(mb)} | {fmt_s(ma)} | {ma / mb:.3f} |")
    print()
    print(f"Raw figures per round: `{raw}`")


if __name__ == "__main__":
    main()
