#!/usr/bin/env python3
"""scripts/bench fleet: the benchmark of `envaudit fleet scan`, `fleet merge` and `fleet query`.

Builds (once, cached under ENVAUDIT_BENCH_CACHE/fleet) a fleet of 45 images behind 200
references, as an organisation's registry holds them: 35 repositories `ml/<team>/app-NN`
with five tags each, ten of which keep an older build under two of their tags, and five
repositories `mirror/prod-M` re-tagging five apps' images each (one manifest in two
repositories). Every image has three gzip layers: this machine's dpkg database (shared by
all, oci_image.py's Debian layer), a conda environment with the common packages (numpy,
pandas, scipy, requests, ...; shared by all), and a layer of its own with 20 to 40 other
distributions of the catalog benchmark's venv (their whole installed files, from their
RECORD), at most 150 MB uncompressed.

Starts Debian's `docker-registry` on 127.0.0.1 at a free port (evidence.py's Registry:
storage in a temporary folder, access log on, deletion enabled), pushes the fleet with the
distribution API (blobs uploaded once, then mounted across repositories), and measures the
release binary, every worker with an empty local layer cache of its own and every run with
a cache repository of its own (`envaudit/facts-<run>-<phase>`):

  1. one worker, `fleet scan REG --out FILE`, without and with `--cache-registry`;
  2. four workers at the same time, `--shard I/4 --cache-registry`;
  3. four workers one after another, the same;
  4. `fleet merge` of the four results files of (2), a one-package `fleet query` and
     `fleet query --summary` on the database;
  5. `syft registry:REF` and `envaudit catalog REF --no-cache` of a sample of the images,
     and syft's Python packages against the inventory's for each.

Wall time, CPU time (user + system, from wait4) and the layer bytes the registry served
(`GET /v2/<repo>/blobs/<digest>` answered 200, from its access log; the facts cache
repository's blobs counted apart) against the sum of the unique layers' sizes. Checks that
every scan exits 0, that the workers' results name every pushed reference exactly once, and
that the merged database's `current_refs` holds every pushed reference exactly once, at the
manifest pushed; a failed check stops the benchmark.

Prints the markdown section for docs/performance.md, also written to
ENVAUDIT_BENCH_CACHE/fleet-last-results.md (and .json).

Environment: ENVAUDIT_BENCH_CACHE (default ~/.cache/envaudit-bench) as for `scripts/bench
catalog`; CARGO_TARGET_DIR locates the release binary.
"""

import argparse
import csv
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import catalog as cat  # noqa: E402
import evidence  # noqa: E402  (its Registry; importing it adds docker-registry to cat.APT)
import oci_image  # noqa: E402

# The fleet. Bump FLEET_VERSION whenever what is built changes, so the cache is rebuilt.
FLEET_VERSION = "1"
TEAMS = ["vision", "nlp", "forecast", "recsys", "speech", "fraud", "search"]
APPS = 35  # repositories ml/<team>/app-NN, each with its current image
OLDER = 10  # apps 0..9 keep an older build under OLD_TAGS
MIRRORS = 5  # repositories mirror/prod-M
MIRRORED = 5  # apps' current images re-tagged in each mirror
TAGS = ("1.0", "1.1", "2.0", "stable", "latest")
OLD_TAGS = ("1.0", "1.1")
# The shared conda environment's distributions (those the venv has).
COMMON = [
    "pip", "setuptools", "packaging", "numpy", "pandas", "scipy", "python-dateutil",
    "pytz", "tzdata", "six", "certifi", "idna", "urllib3", "charset-normalizer", "requests",
    "typing-extensions", "pyyaml", "filelock", "tqdm", "joblib", "threadpoolctl",
]
OWN_PACKAGES = (20, 40)  # distributions in an image's own layer
OWN_CAP = 150_000_000  # uncompressed bytes of an image's own layer, at most
WORKERS = 4
QUERY = "pypi:numpy<3"  # a common package: every image matches, the largest answer


def log(msg):
    print(f"bench fleet: {msg}", file=sys.stderr, flush=True)


# catalog.py's and evidence.py's helpers log through their module's `log`: name this
# benchmark in their lines.
cat.log = log
evidence.log = log


# --- the fleet ----------------------------------------------------------------------------


def fleet_references():
    """[(repository, tag, image index)]: 200 references to 45 images (0..34 the apps'
    current images, 35..44 the older builds of apps 0..9)."""
    refs = []
    for r in range(APPS):
        repo = f"ml/{TEAMS[r % len(TEAMS)]}/app-{r:02d}"
        for tag in TAGS:
            refs.append((repo, tag, APPS + r if r < OLDER and tag in OLD_TAGS else r))
    for m in range(MIRRORS):
        for k in range(MIRRORED):
            a = m * (APPS // MIRRORS) + k
            refs.append((f"mirror/prod-{m}", f"app-{a:02d}", a))
    return refs


def image_name(i):
    return f"app-{i:02d}" if i < APPS else f"app-{i - APPS:02d}-old"


def distributions(venv):
    """{normalised name: {"files": [paths under site-packages], "size": bytes}} of every
    distribution in the venv, from its RECORD (entries outside site-packages, such as
    console scripts in bin/, are left out)."""
    sp = oci_image.site_packages(venv)
    found = {}
    for info in sorted(sp.glob("*.dist-info")):
        files, size = [], 0
        with open(info / "RECORD", newline="") as f:
            for row in csv.reader(f):
                if not row or row[0].startswith("/") or ".." in Path(row[0]).parts:
                    continue
                p = sp / row[0]
                if p.is_symlink() or p.is_file():
                    files.append(row[0])
                    size += 0 if p.is_symlink() else p.stat().st_size
        found[cat.pep503(info.name[: -len(".dist-info")].rsplit("-", 1)[0])] = {"files": sorted(set(files)), "size": size}
    return found


def own_packages(i, pool, dists):
    """Image i's own distributions: OWN_PACKAGES at random (seeded by i), skipping those
    that would take the layer over OWN_CAP."""
    rng = random.Random(f"envaudit-fleet-{i}")
    want = rng.randint(*OWN_PACKAGES)
    chosen, size = [], 0
    for name in rng.sample(pool, len(pool)):
        if len(chosen) == want:
            break
        if size + dists[name]["size"] <= OWN_CAP:
            chosen.append(name)
            size += dists[name]["size"]
    return sorted(chosen)


def add_distributions(layer, venv, names, dists):
    sp = oci_image.site_packages(venv)
    rel_sp = sp.relative_to(venv).as_posix()
    for name in names:
        for f in dists[name]["files"]:
            layer.add_tree(sp / f, f"{oci_image.ENV_PREFIX}/{rel_sp}/{f}")


def layer_env(path, venv, names, dists):
    """The shared conda environment: the prefix's bin/, include/, share/, ..., the common
    distributions and conda-meta records (oci_image.conda_records)."""
    layer = oci_image.Layer(path)
    for top in sorted(os.listdir(venv)):
        # conda environments have no pyvenv.cfg; the venv's own markers are dot-files.
        if top in ("lib", "pyvenv.cfg") or top.startswith("."):
            continue
        layer.add_tree(Path(venv) / top, f"{oci_image.ENV_PREFIX}/{top}")
    add_distributions(layer, venv, names, dists)
    for fname, data in oci_image.conda_records(venv).items():
        layer.add_bytes(f"{oci_image.ENV_PREFIX}/conda-meta/{fname}", data)
    layer.close()


def layer_own(path, venv, names, dists):
    layer = oci_image.Layer(path)
    add_distributions(layer, venv, names, dists)
    layer.close()


def make_layer(path, write):
    """Write a layer tar, compress it with gzip -6 (oci_image.compress), keep the blob only."""
    write(path)
    layer = {"diff_id": oci_image.sha256_file(path), "size": os.path.getsize(path)}
    layer["gzip"] = str(oci_image.compress(path, "gzip"))
    path.unlink()
    return layer


def ensure_fleet(venv, dropped):
    """The fleet's image layouts under CACHE/fleet/<key>, built once."""
    key = hashlib.sha256(
        json.dumps(
            [FLEET_VERSION, oci_image.LAYOUT_VERSION, cat.FREEZE.read_text(), dropped, COMMON, OWN_PACKAGES, OWN_CAP, APPS, OLDER, sys.version]
        ).encode()
    ).hexdigest()[:16]
    root = cat.CACHE / "fleet"
    work = root / key
    done = work / "fleet.json"
    if done.exists():
        return json.loads(done.read_text())
    for other in root.glob("*") if root.exists() else []:
        shutil.rmtree(other)
    log(f"building the fleet's layouts in {work} (once; a few minutes)")
    blobs = work / "layers"
    blobs.mkdir(parents=True)
    dists = distributions(venv)
    common = [n for n in COMMON if n in dists]
    pool = sorted(n for n in dists if n not in common)
    deb = make_layer(blobs / "debian.tar", oci_image.layer_debian)
    env = make_layer(blobs / "env.tar", lambda p: layer_env(p, venv, common, dists))
    count = APPS + OLDER
    owns = [own_packages(i, pool, dists) for i in range(count)]

    def build_own(i):
        log(f"layer of {image_name(i)}: {len(owns[i])} distributions")
        return make_layer(blobs / f"{image_name(i)}.tar", lambda p: layer_own(p, venv, owns[i], dists))

    with ThreadPoolExecutor(max_workers=2) as pool_:
        own_layers = list(pool_.map(build_own, range(count)))
    images = []
    for i in range(count):
        layout = work / "layouts" / image_name(i)
        history = [
            "ADD debian rootfs (dpkg database)",
            f"RUN conda create -p /{oci_image.ENV_PREFIX} ({', '.join(common)})",
            f"RUN pip install  # {image_name(i)}: {', '.join(owns[i])}",
        ]
        oci_image.write_layout(layout, [deb, env, own_layers[i]], "gzip", history)
        [desc] = json.loads((layout / "index.json").read_text())["manifests"]
        manifest = json.loads((layout / "blobs" / "sha256" / desc["digest"][7:]).read_bytes())
        layers = [
            {"digest": d["digest"], "size": d["size"], "uncompressed": layer["size"]}
            for d, layer in zip(manifest["layers"], [deb, env, own_layers[i]])
        ]
        images.append(
            {
                "name": image_name(i),
                "layout": str(layout),
                "manifest": desc["digest"],
                "config": manifest["config"]["digest"],
                "layers": layers,
                "own": owns[i],
            }
        )
    fleet = {"images": images, "common": common, "references": fleet_references()}
    done.write_text(json.dumps(fleet, indent=1))
    return fleet


# --- pushing ------------------------------------------------------------------------------


def request(addr, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(addr, timeout=600, blocksize=1 << 20)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def push_blob(addr, repo, digest, path, mount_from=None):
    """Put a blob into `repo`: nothing if there, a cross-repository mount if `mount_from`
    has it, else an upload (POST, then one PUT with the digest)."""
    status, _, _ = request(addr, "HEAD", f"/v2/{repo}/blobs/{digest}")
    if status == 200:
        return
    query = f"?mount={digest}&from={mount_from}" if mount_from else ""
    status, headers, body = request(addr, "POST", f"/v2/{repo}/blobs/uploads/{query}")
    if status == 201:
        return
    if status != 202:
        raise SystemExit(f"starting an upload to {repo}: {status} {body[:300]!r}")
    loc = urlsplit(headers["Location"])
    sep = "&" if loc.query else "?"
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        status, _, body = request(
            addr,
            "PUT",
            f"{loc.path}{'?' + loc.query if loc.query else ''}{sep}digest={digest}",
            body=f,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )
    if status != 201:
        raise SystemExit(f"uploading {digest} to {repo}: {status} {body[:300]!r}")


def push_image(addr, repo, image, tags, mount_from):
    layout = Path(image["layout"])
    blob = lambda d: layout / "blobs" / "sha256" / d[7:]  # noqa: E731
    for d in [image["config"]] + [layer["digest"] for layer in image["layers"]]:
        push_blob(addr, repo, d, blob(d), mount_from.get(d))
    data = blob(image["manifest"]).read_bytes()
    for tag in tags:
        status, headers, body = request(
            addr, "PUT", f"/v2/{repo}/manifests/{tag}", body=data, headers={"Content-Type": oci_image.MEDIA_MANIFEST}
        )
        if status != 201 or headers.get("Docker-Content-Digest") != image["manifest"]:
            raise SystemExit(f"pushing {repo}:{tag}: {status} {body[:300]!r}")


def push_fleet(reg, fleet):
    """Push every reference; returns {REG/REPO:TAG: manifest digest}."""
    images = fleet["images"]
    by_repo = {}
    for repo, tag, i in fleet["references"]:
        by_repo.setdefault(repo, {}).setdefault(i, []).append(tag)
    apps = [r for r in by_repo if r.startswith("ml/")]
    # The shared layers first, into the first repository; everything else mounts them.
    first = images[0]
    home = {}
    for layer in first["layers"][:2]:
        push_blob(reg.addr, apps[0], layer["digest"], Path(first["layout"]) / "blobs" / "sha256" / layer["digest"][7:])
        home[layer["digest"]] = apps[0]

    def push_repo(repo, mounts):
        for i, tags in by_repo[repo].items():
            push_image(reg.addr, repo, images[i], tags, mounts)

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda r: push_repo(r, home), apps))
    # The mirrors re-tag the apps' images: their blobs are mounted from the apps.
    for repo in apps:
        for i in by_repo[repo]:
            for d in [images[i]["config"]] + [layer["digest"] for layer in images[i]["layers"]]:
                home.setdefault(d, repo)
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda r: push_repo(r, home), [r for r in by_repo if r not in apps]))
    return {f"{reg.addr}/{repo}:{tag}": images[i]["manifest"] for repo, tag, i in fleet["references"]}


# --- measuring ----------------------------------------------------------------------------


def ensure_envaudit(args):
    if args.envaudit:
        return Path(args.envaudit).resolve()
    if not args.no_build:
        log("cargo build --release --locked")
        cat.run(["cargo", "build", "--release", "--locked", "--quiet", "--bin", "envaudit"], cwd=cat.ROOT)
    return (Path(os.environ.get("CARGO_TARGET_DIR", cat.ROOT / "target")) / "release" / "envaudit").resolve()


def cpu_of(rusage):
    return rusage.ru_utime + rusage.ru_stime


def cpu_counters(pid):
    """(seconds of CPU time the machine spent, of them idle, of them in process `pid`) so
    far, from /proc: what a measurement got of the machine beside what it measured."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is in user already)
    total, idle = sum(fields[:8]), fields[3] + fields[4]
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return total / tick, idle / tick, (int(stat[11]) + int(stat[12])) / tick


def run_all(cmds, concurrent):
    """Runs [(argv, cwd, env)] at the same time or one after another, each writing its
    stdout and stderr to files in its cwd. Returns (wall of the whole, [{"wall", "cpu",
    "rc"}]), the CPU time from wait4 (user + system)."""

    def start(argv, cwd, env):
        with open(cwd / "stdout", "wb") as o, open(cwd / "stderr", "wb") as e:
            return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=o, stderr=e)

    def reap(procs, t0):
        results = [None] * len(procs)
        while any(r is None for r in results):
            for k, p in enumerate(procs):
                if results[k] is None:
                    pid, status, rusage = os.wait4(p.pid, os.WNOHANG)
                    if pid:
                        p.returncode = os.waitstatus_to_exitcode(status)
                        results[k] = {"wall": time.perf_counter() - t0, "cpu": cpu_of(rusage), "rc": p.returncode}
            time.sleep(0.02)
        return results

    t0 = time.perf_counter()
    if concurrent:
        results = reap([start(*c) for c in cmds], t0)
    else:
        results = []
        for c in cmds:
            t = time.perf_counter()
            results += reap([start(*c)], t)
    wall = time.perf_counter() - t0
    for (argv, cwd, _), r in zip(cmds, results):
        if r["rc"] != 0:
            raise SystemExit(f"`{' '.join(map(str, argv))}` failed ({r['rc']}):\n{(cwd / 'stderr').read_text()[-3000:]}")
    return wall, results


BLOB_GET = re.compile(rb'"GET /v2/(\S+)/blobs/(sha256:[0-9a-f]{64}) HTTP/[0-9.]+" (\d{3}) (\d+|-)')


def blob_traffic(reg, offset, layer_sizes, cache_repos):
    """The blob GETs logged since `offset`: bytes and counts of image layers, of other
    blobs (configs) and of the facts cache repositories' blobs; the 200 answers only, with
    any other status counted."""
    with open(reg.root / "registry.log", "rb") as f:
        f.seek(offset)
        text = f.read()
    t = {"layer_bytes": 0, "layer_gets": 0, "config_bytes": 0, "config_gets": 0, "facts_bytes": 0, "facts_gets": 0, "other_status": {}, "per_layer": {}}
    for repo, digest, status, size in BLOB_GET.findall(text):
        repo, digest, status = repo.decode(), digest.decode(), status.decode()
        if status != "200":
            t["other_status"][status] = t["other_status"].get(status, 0) + 1
            continue
        n = 0 if size == b"-" else int(size)
        kind = "facts" if repo in cache_repos else "layer" if digest in layer_sizes else "config"
        t[f"{kind}_bytes"] += n
        t[f"{kind}_gets"] += 1
        if kind == "layer":
            t["per_layer"][digest] = t["per_layer"].get(digest, 0) + 1
    return t


def read_records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def check_results(files, expected, what):
    """The workers' results name every pushed reference exactly once, at its manifest, and
    nothing is unreadable."""
    seen = {}
    images = 0
    for f in files:
        for rec in read_records(f):
            if rec["kind"] == "image":
                images += 1
                for r in rec["references"]:
                    seen.setdefault(r, []).append(rec["manifest"])
            elif rec["kind"] == "unreadable":
                raise SystemExit(f"{what}: unreadable: {rec['reference']}: {rec['message']}")
    problems = [f"{r}: {seen.get(r)}" for r, m in expected.items() if seen.get(r) != [m]]
    problems += [f"{r}: not pushed" for r in seen if r not in expected]
    if images != len(set(expected.values())):
        problems.append(f"{images} image records for {len(set(expected.values()))} images")
    if problems:
        raise SystemExit(f"{what}: the results do not name each pushed reference once:\n  " + "\n  ".join(problems[:20]))
    return images


def scan_phase(name, envaudit, reg, scratch, base_env, workers, concurrent, cache_repo, exclude, ctx, shard=None, extra=()):
    """One measurement: `workers` fleet scan processes, each with an empty local cache (one
    process of shard `shard` when given: it must own no image)."""
    folder = scratch / name
    cmds = []
    for i in range(workers):
        cwd = folder / f"worker-{i}"
        cwd.mkdir(parents=True)
        argv = [str(envaudit), "fleet", "scan", reg.addr, "--out", "out.jsonl", *extra]
        if shard:
            argv += ["--shard", shard]
        elif workers > 1:
            argv += ["--shard", f"{i}/{workers}"]
        if cache_repo:
            argv += ["--cache-registry", f"{reg.addr}/{cache_repo}"]
        for e in exclude:
            argv += ["--exclude", f"{reg.addr}/{e}"]
        cmds.append((argv, cwd, {**base_env, "ENVAUDIT_CACHE_DIR": str(cwd / "cache")}))
    offset = reg.log_size()
    before = cpu_counters(reg.proc.pid)
    log(f"{name}: {workers} worker(s){' at the same time' if concurrent and workers > 1 else ''}" + (f", --cache-registry {cache_repo}" if cache_repo else ""))
    wall, per = run_all(cmds, concurrent)
    total, idle, registry = (b - a for a, b in zip(before, cpu_counters(reg.proc.pid)))
    requests = reg.requests_since(offset)
    traffic = blob_traffic(reg, offset, ctx["layer_sizes"], ctx["cache_repos"])
    files = [c[1] / "out.jsonl" for c in cmds]
    existing = [f for f in files if f.exists()]
    images = check_results(existing, ctx["expected"], name) if not shard else sum(len(read_records(f)) for f in existing)
    warnings = sum((c[1] / "stderr").read_text().count("warning[") for c in cmds)
    for c, p in zip(cmds, per):
        p["images"] = len([r for r in read_records(c[1] / "out.jsonl") if r["kind"] == "image"]) if (c[1] / "out.jsonl").exists() else 0
        p["summary"] = (c[1] / "stdout").read_text().strip()
        p["warnings"] = (c[1] / "stderr").read_text().count("warning[")
    for c in cmds:
        shutil.rmtree(c[1] / "cache", ignore_errors=True)
    return {
        "wall": wall,
        "cpu": sum(p["cpu"] for p in per),
        "registry_cpu": registry,
        # Cores the machine spent idle during the run (of os.cpu_count()).
        "idle_cores": idle / total * os.cpu_count(),
        "workers": per,
        "images": images,
        "requests": requests,
        "traffic": traffic,
        "warnings": warnings,
        "files": [str(f) for f in files],
    }


def measure(argv, cwd, env, runs):
    """Median wall and CPU of `runs` runs of one command (stdout kept from the last)."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, [r] = run_all([(argv, cwd, env)], False)
        walls.append(r["wall"])
        cpus.append(r["cpu"])
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "stdout": (cwd / "stdout").read_text()}


def shard_of(digest, n):
    return int(digest[7:23], 16) % n


# --- the benchmark ------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench fleet", description=__doc__.split("\n\n")[0])
    ap.add_argument("--envaudit", help="the envaudit binary to measure (default: build the release binary)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release")
    ap.add_argument("--rounds", type=int, default=1, help="rounds of the one-worker and four-worker scans, medians (default 1)")
    ap.add_argument("--syft-images", type=int, default=10, help="images scanned by syft, one run each (default 10)")
    ap.add_argument("--query-runs", type=int, default=10, help="timed runs of each query, median (default 10)")
    ap.add_argument("--report", metavar="JSON", help="print the markdown of a run's saved results (fleet-last-results.json) instead of running")
    args = ap.parse_args()
    if args.report:
        report(json.loads(Path(args.report).read_text()))
        return

    started = time.time()
    cat.CACHE.mkdir(parents=True, exist_ok=True)
    cat.ensure_apt()
    uv = cat.tool_venv("uv", cat.UV)
    syft_bin = cat.tool_venv("syft", cat.SYFT)
    venv, dropped = cat.ensure_venv(uv / "uv")
    fleet = ensure_fleet(venv, dropped)
    envaudit = ensure_envaudit(args)
    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="envaudit-bench-fleet-"))
    storage = Path(tempfile.mkdtemp(prefix="envaudit-bench-registry-"))
    (scratch / "no-docker-config").mkdir()
    base_env = {k: v for k, v in os.environ.items() if k not in ("REGISTRY_AUTH_FILE", "JOB_COMPLETION_INDEX", "ENVAUDIT_CACHE_DIR")}
    base_env.update({"DOCKER_CONFIG": str(scratch / "no-docker-config"), "NO_COLOR": "1", "SYFT_CHECK_FOR_APP_UPDATE": "false"})
    reg = evidence.Registry(storage)
    try:
        R = bench(args, fleet, reg, envaudit, syft_bin, scratch, base_env)
    finally:
        reg.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(storage, ignore_errors=True)
    R["load"] = [load_before, os.getloadavg()]
    R["started"] = datetime.fromtimestamp(started, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    R["duration"] = time.time() - started
    R["machine"] = cat.machine()
    R["cores"] = os.cpu_count()
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    R["autogroup"] = autogroup.exists() and autogroup.read_text().strip() == "1"
    R["commit"] = cat.out(["git", "rev-parse", "--short=8", "HEAD"], cwd=cat.ROOT).strip()
    R["dirty"] = bool(cat.out(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cat.ROOT).strip())
    report(R)


def bench(args, fleet, reg, envaudit, syft_bin, scratch, base_env):
    images = fleet["images"]
    layer_sizes = {layer["digest"]: layer["size"] for img in images for layer in img["layers"]}
    unique = sum(layer_sizes.values())
    uncompressed = {layer["digest"]: layer["uncompressed"] for img in images for layer in img["layers"]}
    log(f"pushing {len(fleet['references'])} references to {len(images)} images ({unique / 1e6:,.0f} MB of unique layers) to {reg.addr}")
    t = time.perf_counter()
    expected = push_fleet(reg, fleet)
    push_time = time.perf_counter() - t
    run_id = secrets.token_hex(3)
    ctx = {"expected": expected, "layer_sizes": layer_sizes, "cache_repos": set()}
    R = {
        "fleet": {
            "references": len(expected),
            "images": len(images),
            "repositories": len({r for r, _, _ in fleet["references"]}),
            "unique_layers": len(layer_sizes),
            "unique_bytes": unique,
            "unique_uncompressed": sum(uncompressed.values()),
            "shared_bytes": sum(layer["size"] for layer in images[0]["layers"][:2]),
            "shared_uncompressed": sum(layer["uncompressed"] for layer in images[0]["layers"][:2]),
            "own_bytes": [img["layers"][2]["size"] for img in images],
            "own_uncompressed": [img["layers"][2]["uncompressed"] for img in images],
            "own_packages": [len(img["own"]) for img in images],
            "common": fleet["common"],
            "pull_bytes": sum(layer["size"] for img in images for layer in img["layers"]),
            "pull_uncompressed": sum(layer["uncompressed"] for img in images for layer in img["layers"]),
            "push_seconds": push_time,
        },
        "run_id": run_id,
    }
    # Which worker of four owns each image, and so how often each layer may be read when
    # the four start together (each reads a layer nobody has published yet, once at most).
    owners = {}
    for img in images:
        for layer in img["layers"]:
            owners.setdefault(layer["digest"], set()).add(shard_of(img["manifest"], WORKERS))
    R["fleet"]["shard_images"] = [sum(1 for img in images if shard_of(img["manifest"], WORKERS) == s) for s in range(WORKERS)]
    R["parallel_bound"] = sum(layer_sizes[d] * len(w) for d, w in owners.items()) / unique

    exclude = []

    def cache_repo(phase):
        name = f"envaudit/facts-{run_id}-{phase}"
        ctx["cache_repos"].add(name)
        return name

    rounds = {"one": [], "one-jobs1": [], "one-cache": [], "four": []}
    for n in range(args.rounds):
        # The scans without a cache repository come first in a round: the earlier rounds'
        # cache repositories are left out of every listing.
        rounds["one"].append(scan_phase(f"one-{n}", envaudit, reg, scratch, base_env, 1, False, None, exclude, ctx))
        # One image at a time: what `--jobs` (default: the cores) adds on one machine.
        rounds["one-jobs1"].append(scan_phase(f"one-jobs1-{n}", envaudit, reg, scratch, base_env, 1, False, None, exclude, ctx, extra=("--jobs", "1")))
        repo = cache_repo(f"one{n}")
        rounds["one-cache"].append(scan_phase(f"one-cache-{n}", envaudit, reg, scratch, base_env, 1, False, repo, exclude, ctx))
        exclude.append(repo)
        repo = cache_repo(f"par{n}")
        rounds["four"].append(scan_phase(f"four-{n}", envaudit, reg, scratch, base_env, WORKERS, True, repo, exclude, ctx))
        exclude.append(repo)
    # A worker with no image of its own still lists and resolves every reference: its cost.
    n = next(n for n in range(1000, 2000) if all(shard_of(img["manifest"], n) != 0 for img in images))
    R["idle"] = scan_phase("idle", envaudit, reg, scratch, base_env, 1, False, None, exclude, ctx, shard=f"0/{n}")
    R["idle"]["shard"] = f"0/{n}"
    if R["idle"]["images"]:
        raise SystemExit(f"the worker of shard 0/{n} scanned images: it was to own none")
    repo = cache_repo("seq")
    sequential = scan_phase("sequential", envaudit, reg, scratch, base_env, WORKERS, False, repo, exclude, ctx)
    exclude.append(repo)

    def median_phase(runs):
        """The round of median wall time, with every round's wall and CPU."""
        mid = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
        return {**mid, "walls": [r["wall"] for r in runs], "cpus": [r["cpu"] for r in runs]}

    R["one"] = median_phase(rounds["one"])
    R["one_jobs1"] = median_phase(rounds["one-jobs1"])
    R["one_cache"] = median_phase(rounds["one-cache"])
    R["four"] = median_phase(rounds["four"])
    R["sequential"] = sequential

    # -- merge and query --
    files = R["four"]["files"]
    work = scratch / "db"
    work.mkdir()
    log("fleet merge of the four workers' results, 3 runs into a new database each")
    merges = []
    for k in range(3):
        db = work / f"inventory-{k}.sqlite"
        _, [r] = run_all([([str(envaudit), "fleet", "merge", *files, "--db", str(db)], work, base_env)], False)
        merges.append(r)
    db = work / "inventory-2.sqlite"
    R["merge"] = {"wall": statistics.median(m["wall"] for m in merges), "cpu": statistics.median(m["cpu"] for m in merges), "db_bytes": db.stat().st_size}
    con = sqlite3.connect(db)
    current = con.execute("SELECT reference, manifest FROM current_refs").fetchall()
    counts = {}
    for ref, _ in current:
        counts[ref] = counts.get(ref, 0) + 1
    wrong = [f"{r}: {dict(current).get(r)} (pushed {m})" for r, m in expected.items() if counts.get(r) != 1 or dict(current)[r] != m]
    wrong += [f"{r}: not pushed" for r in counts if r not in expected]
    if wrong:
        raise SystemExit("the merged database's current_refs does not hold each pushed reference once:\n  " + "\n  ".join(wrong[:20]))
    R["db"] = {
        "current_refs": len(current),
        "images": con.execute("SELECT count(*) FROM images").fetchone()[0],
        "packages": con.execute("SELECT count(*) FROM packages").fetchone()[0],
        "by_ecosystem": dict(con.execute("SELECT ecosystem, count(*) FROM packages GROUP BY ecosystem").fetchall()),
    }
    log(f"fleet query `{QUERY}` and --summary, {args.query_runs} runs each")
    q = measure([str(envaudit), "fleet", "query", "--db", str(db), QUERY, "--format", "json"], work, base_env, args.query_runs)
    s = measure([str(envaudit), "fleet", "query", "--db", str(db), "--summary", "--format", "json"], work, base_env, args.query_runs)
    R["query"] = {"wall": q["wall"], "cpu": q["cpu"], "matched_images": len({m["manifest"] for m in json.loads(q["stdout"])["matches"]}), "bytes": len(q["stdout"])}
    R["summary"] = {"wall": s["wall"], "cpu": s["cpu"]}

    # -- syft and envaudit catalog, per image --
    home = {}
    for repo, tag, i in fleet["references"]:
        home.setdefault(i, f"{reg.addr}/{repo}:{tag}")
    step = max(1, len(images) // args.syft_images)
    sample = list(range(0, len(images), step))[: args.syft_images]
    syft_dir = scratch / "syft"
    syft_dir.mkdir()
    syft_env = {**base_env, "SYFT_REGISTRY_INSECURE_USE_HTTP": "true", "TMPDIR": str(syft_dir / "tmp")}
    per_image = []
    for i in sample:
        ref = home[i]
        log(f"syft and envaudit catalog --no-cache of {ref}")
        (syft_dir / "tmp").mkdir(exist_ok=True)
        sy = measure([str(syft_bin / "syft"), "-q", f"registry:{ref}", "-o", "json"], syft_dir, syft_env, 1)
        shutil.rmtree(syft_dir / "tmp", ignore_errors=True)
        ea = measure([str(envaudit), "catalog", ref, "--no-cache", "--format", "json"], syft_dir, base_env, 1)
        doc = json.loads(ea["stdout"])
        # The inventory holds what `catalog` finds in the image, package for package.
        inventory = sorted(con.execute("SELECT ecosystem, name, version FROM packages WHERE manifest = ?", (images[i]["manifest"],)).fetchall())
        catalogued = sorted((p["ecosystem"], p["name"], p["version"]) for p in doc["packages"])
        # syft against envaudit's Python distributions (a conda package's linked dist-info
        # counts, as in `scripts/bench catalog`).
        syft_py = cat.syft_python(json.loads(sy["stdout"]))
        ea_py = cat.envaudit_python(doc)
        per_image.append(
            {
                "reference": ref,
                "syft": {"wall": sy["wall"], "cpu": sy["cpu"]},
                "catalog": {"wall": ea["wall"], "cpu": ea["cpu"]},
                "packages": len(catalogued),
                "inventory_is_catalog": inventory == catalogued,
                "python": len(ea_py),
                "syft_python": len(syft_py),
                "vs_syft": cat.diff("envaudit", ea_py, "syft", syft_py),
            }
        )
        if inventory != catalogued:
            raise SystemExit(f"{ref}: the inventory's packages are not `envaudit catalog`'s: {len(inventory)} against {len(catalogued)}")
    con.close()
    R["per_image"] = per_image
    R["versions"] = {
        "envaudit": cat.out([str(envaudit), "--version"]).strip(),
        "syft": "syft " + re.search(r"Version:\s*(\S+)", cat.out([str(syft_bin / "syft"), "version"])).group(1),
        "docker-registry": cat.out(["docker-registry", "--version"]).strip(),
        "python": "Python " + sys.version.split()[0],
    }
    return R


# --- output -------------------------------------------------------------------------------


def secs(s):
    return f"{s * 1000:,.0f} ms" if s < 10 else f"{s:,.1f} s"


def mb(n):
    return f"{n / 1e6:,.0f} MB"


def report(R):
    F = R["fleet"]
    n_img, n_ref = F["images"], F["references"]
    one, onec, four, seq = R["one"], R["one_cache"], R["four"], R["sequential"]
    unique = F["unique_bytes"]
    speedup = onec["wall"] / four["wall"]
    seq_ratio = seq["traffic"]["layer_bytes"] / unique
    four_ratio = four["traffic"]["layer_bytes"] / unique
    pi = R["per_image"]
    med = lambda key, what: statistics.median(p[key][what] for p in pi)  # noqa: E731
    syft_wall, syft_cpu = med("syft", "wall"), med("syft", "cpu")
    cat_wall, cat_cpu = med("catalog", "wall"), med("catalog", "cpu")
    fleet_wall, fleet_cpu = one["wall"] / n_img, one["cpu"] / n_img
    same = [p for p in pi if not p["vs_syft"]]

    rows = [
        (
            f"{WORKERS} workers at the same time ≥ 3× faster than one (wall)",
            f"one {secs(onec['wall'])} ({secs(one['wall'])} without `--cache-registry`), {WORKERS} at once {secs(four['wall'])}; "
            f"ceiling here {onec['wall'] / ((four['cpu'] + four['registry_cpu']) / R['cores']):.2f}× (their CPU and the registry's ÷ {R['cores']} cores)",
            f"{speedup:.2f}×",
            "pass" if speedup >= 3 else "**FAIL** (2 cores)",
        ),
        (
            f"{WORKERS} workers one after another: each layer downloaded once (within 5%)",
            f"{mb(seq['traffic']['layer_bytes'])} downloaded, {mb(unique)} unique",
            f"{seq_ratio:.3f}×",
            "pass" if abs(seq_ratio - 1) <= 0.05 else "**FAIL**",
        ),
        (
            f"{WORKERS} workers at the same time: each layer at most once per worker",
            f"{mb(four['traffic']['layer_bytes'])} downloaded, bound {R['parallel_bound']:.3f}× unique",
            f"{four_ratio:.3f}×",
            "pass" if four_ratio <= R["parallel_bound"] + 1e-9 else "**FAIL**",
        ),
        (
            "every pushed reference once in the merged `current_refs`",
            f"{R['db']['current_refs']} of {n_ref}",
            "",
            "pass",
        ),
    ]
    lines = []
    p = lines.append
    p("## Fleet scanning")
    p("")
    p("Reproduce:")
    p("")
    p("```sh")
    p("scripts/bench fleet   # scripts/bench.d/fleet.py; --rounds N (default 1), --syft-images N (10), --report JSON")
    p("```")
    p("")
    p(f"Machine: {R['machine']}. Load average {R['load'][0][0]:.1f} at the start, {R['load'][1][0]:.1f} at the end; "
      f"run of {R['started']}, {R['duration'] / 60:.0f} minutes, at `{R['commit']}`{' (with local changes)' if R['dirty'] else ''}."
      + (" The kernel groups processes by session (`kernel.sched_autogroup_enabled = 1`), so `nice` ranks them within a session only:"
         " another session's busy processes get an equal share of the cores whatever their niceness." if R["autogroup"] else ""))
    p("")
    p("Tools: " + ", ".join(R["versions"].values()) + ".")
    p("")
    own = F["own_bytes"]
    p(f"Fleet: {n_ref} references in {F['repositories']} repositories to {n_img} images (platform manifests); "
      f"{F['unique_layers']} unique gzip layers, {mb(unique)} ({mb(F['unique_uncompressed'])} uncompressed): "
      f"two shared by every image ({mb(F['shared_bytes'])}, {mb(F['shared_uncompressed'])} uncompressed: the dpkg database, "
      f"a conda environment of {len(F['common'])} common distributions) and one of its own per image "
      f"({min(F['own_packages'])}–{max(F['own_packages'])} distributions, {mb(min(own))}–{mb(max(own))}, median {mb(statistics.median(own))}). "
      f"Pulling every image on its own would move {mb(F['pull_bytes'])}. Shards of {WORKERS}: {', '.join(map(str, F['shard_images']))} images. "
      f"Pushed in {F['push_seconds']:.0f} s.")
    p("")
    p("| target | measured | ratio | result |")
    p("|---|---|---|---|")
    for r in rows:
        p("| " + " | ".join(r) + " |")
    p("")
    p(f"| `fleet scan` of the registry ({n_img} images, {n_ref} references) | wall | CPU | registry's CPU | cores used (envaudit + registry) | cores idle | images/s | CPU per image | layer bytes downloaded (÷ unique) | facts blobs downloaded |")
    p("|---|---|---|---|---|---|---|---|---|---|")

    def scan_row(label, ph, scans=True):
        t = ph["traffic"]
        rate = f"{n_img / ph['wall']:.2f} | {ph['cpu'] / n_img * 1000:,.0f} ms" if scans else " | "
        used = (ph["cpu"] + ph["registry_cpu"]) / ph["wall"]
        p(f"| {label} | {secs(ph['wall'])} | {secs(ph['cpu'])} | {secs(ph['registry_cpu'])} | {used:.2f} | {ph['idle_cores']:.2f} | {rate} | "
          f"{mb(t['layer_bytes'])} ({t['layer_bytes'] / unique:.3f}×) | {t['facts_gets']}, {t['facts_bytes'] / 1e3:,.0f} kB |")

    if "one_jobs1" in R:
        scan_row("1 worker, local cache only, `--jobs 1` (one image at a time)", R["one_jobs1"])
    scan_row(f"1 worker, local cache only (`--jobs` default: {R['cores']} threads)", one)
    scan_row("1 worker, `--cache-registry`", onec)
    scan_row(f"{WORKERS} workers at the same time, `--shard I/{WORKERS} --cache-registry` (CPU: sum)", four)
    scan_row(f"{WORKERS} workers one after another, the same (wall: sum)", seq)
    scan_row(f"1 worker owning no image (`--shard {R['idle']['shard']}`): listing and reading manifests only", R["idle"], scans=False)
    p("")
    p("- Blob GETs of image configs (" + f"{n_img} distinct): " + "; ".join(
        f"{label} {R[k]['traffic']['config_gets']}" for k, label in (("one", "1 worker"), ("four", f"{WORKERS} workers at the same time"), ("sequential", "one after another"), ("idle", "the worker owning no image"))) + ".")
    p(f"- Workers at the same time: " + "; ".join(
        f"shard {k}: {w['images']} images, {secs(w['wall'])}, CPU {secs(w['cpu'])}" for k, w in enumerate(four["workers"])) + ".")
    p(f"- One after another: " + "; ".join(
        f"shard {k}: {secs(w['wall'])}, CPU {secs(w['cpu'])}" for k, w in enumerate(seq["workers"])) + ".")
    warned = {k: R[k]["warnings"] for k in ("one", "one_cache", "four", "sequential", "idle") if R[k]["warnings"]}
    if warned:
        p("- Warnings on the workers' standard error: " + ", ".join(f"{k} {n}" for k, n in warned.items()) + ".")
    if any(len(R[k]["walls"]) > 1 for k in ("one", "one_cache", "four")):
        p("- Walls of the rounds: " + "; ".join(f"{k} " + ", ".join(secs(w) for w in R[k]["walls"]) for k in ("one", "one_cache", "four")) + ".")
    p("")
    p(f"| per image | wall | CPU | syft ÷ envaudit (wall) | syft ÷ envaudit (CPU) |")
    p("|---|---|---|---|---|")
    p(f"| `fleet scan`, 1 worker: its run ÷ {n_img} images (shared layers read once) | {secs(fleet_wall)} | {secs(fleet_cpu)} | {syft_wall / fleet_wall:.1f}× | {syft_cpu / fleet_cpu:.1f}× |")
    p(f"| `fleet scan`, 1 worker: its run ÷ {n_ref} references | {secs(one['wall'] / n_ref)} | {secs(one['cpu'] / n_ref)} | | |")
    p(f"| `envaudit catalog REF --no-cache`, {len(pi)} images (median) | {secs(cat_wall)} | {secs(cat_cpu)} | {syft_wall / cat_wall:.1f}× | {syft_cpu / cat_cpu:.1f}× |")
    p(f"| `syft registry:REF -o json`, the same {len(pi)} images (median, 1 run each) | {secs(syft_wall)} | {secs(syft_cpu)} | 1.0× | 1.0× |")
    p("")
    p(f"The inventory's packages of each of the {len(pi)} images are `envaudit catalog`'s, package for package "
      f"({', '.join(str(x['packages']) for x in pi)}). Python distributions, syft against envaudit: "
      f"{len(same)} of {len(pi)} images identical ({', '.join(str(x['python']) for x in pi)} distributions)"
      + ("." if len(same) == len(pi) else "; the others:"))
    for x in pi:
        if x["vs_syft"]:
            p(f"- {x['reference'].split('/', 1)[1]}: " + "; ".join(line.strip() for line in x["vs_syft"][:10]))
    p("")
    p("| inventory | wall | CPU |")
    p("|---|---|---|")
    p(f"| `fleet merge` of the {WORKERS} results files into a new database (median of 3) | {secs(R['merge']['wall'])} | {secs(R['merge']['cpu'])} |")
    p(f"| `fleet query '{QUERY}'` ({R['query']['matched_images']} images; median of runs) | {secs(R['query']['wall'])} | {secs(R['query']['cpu'])} |")
    p(f"| `fleet query --summary` (median of runs) | {secs(R['summary']['wall'])} | {secs(R['summary']['cpu'])} |")
    p("")
    p(f"Database: {mb(R['merge']['db_bytes'])}, {R['db']['images']} images, {R['db']['packages']:,} package rows "
      f"({', '.join(f'{n:,} {k}' for k, n in sorted(R['db']['by_ecosystem'].items()))}), {R['db']['current_refs']} current references.")
    md = "\n".join(lines)
    print("\nmarkdown for docs/performance.md\n")
    print(md)
    (cat.CACHE / "fleet-last-results.md").write_text(md + "\n")
    (cat.CACHE / "fleet-last-results.json").write_text(json.dumps(R, indent=2, default=str))
    log(f"written to {cat.CACHE}/fleet-last-results.md and .json")


if __name__ == "__main__":
    main()
