#!/usr/bin/env python3
"""scripts/bench predict: the benchmark of `envaudit predict` (docs/performance.md,
"Predicting a rebuild").

Builds once, cached under $ENVAUDIT_BENCH_CACHE/predict (default
~/.cache/envaudit-bench/predict), outside git:

  1. a local PEP 503 / PEP 691 index of the 346 pinned releases of venv-freeze.txt and the
     venv's own pip and setuptools (tensorboard requires setuptools; pip freeze leaves both
     out), plus up to BENCH_PREDICT_OLDER (default 3) older releases of each project, so the
     resolvers have choices. Each release is its best wheel for CPython 3.11 on this machine
     (its tags as `packaging.tags.sys_tags()` lists them) with a PEP 658 `.metadata` sidecar,
     plus its sdist. PyPI's pages give the files, hashes, sizes and upload times; the
     reachable PyPI serves no `.metadata` files, so each wheel's `*.dist-info/METADATA` is read
     from the wheel on PyPI with HTTP range requests (its central directory, then that one
     member). The distributions themselves are not copied: none of the three tools downloads
     one in a dry resolution, and the server's log shows it (a request for one stops the
     benchmark). One release of the set has only an sdist on PyPI (antlr4-python3-runtime
     4.9.3): its wheel is built once with pip and put on the index, as a private index would
     hold it, so that no tool needs a build backend;
  2. a folder with a venv (`pyvenv.cfg`, one `.dist-info/METADATA` per pinned release) and
     this machine's /etc/os-release (from which envaudit takes the glibc that uv and pip see
     here), its requirements.txt naming the top-level packages unpinned, and its lock:
     `envaudit lock requirements.txt --rootfs DIR`;
  3. a tool venv (Python 3.11) with uv and pip.

Then serves the index from 127.0.0.1 three times (tests/it/support/simple_index_server.py: ETag
and Last-Modified; one server sends no Cache-Control, so a client that revalidates asks
for every page again, the other `max-age=600`, as PyPI does; and nginx serving the folder as
static files, ETag and Last-Modified, no Cache-Control: a fast server) and times, in interleaved
rounds, the release binary and its peers on the same requirements and index:

  envaudit cold     `envaudit predict --format json`, ENVAUDIT_CACHE_DIR a new empty folder
  envaudit warm     the same with a cache folder filled by an earlier run
  envaudit warm, max-age   the same against the max-age server
  envaudit warm, nginx     the same against nginx (every page revalidated, 304)
  envaudit offline  the warm run with `--offline`: from the cache alone, no request
  uv cold           `uv pip compile requirements.txt --python-version 3.11.x --no-cache`
  uv warm, uv warm, max-age   the same with `--cache-dir` filled by an earlier run
  pip cold          `pip install --dry-run --ignore-installed --report - --no-cache-dir` in
                    the Python 3.11 venv, `--isolated`, no PIP_* variables
  pip warm, pip warm, max-age the same with `--cache-dir` filled by an earlier run

counts each run's requests in the server's log, checks that the three resolve the same
versions, and times the server alone answering a conditional GET of every page (the floor
of a warm run that revalidates). Prints the results as Markdown on stdout.

Environment:
  ENVAUDIT_BENCH_CACHE  the cache root (default ~/.cache/envaudit-bench)
  BENCH_ROUNDS          interleaved rounds (default 7); the median of each is reported
  BENCH_PREDICT_OLDER   older releases per project on the index (default 3)
  CARGO_TARGET_DIR      where the release binary is, if not ./target
Needs python3.11 and access to PyPI for the first run.
"""

import concurrent.futures
import email.parser
import hashlib
import html
import io
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FREEZE = HERE / "venv-freeze.txt"
SERVER = ROOT / "tests" / "it" / "support" / "simple_index_server.py"
CACHE = Path(os.environ.get("ENVAUDIT_BENCH_CACHE", Path.home() / ".cache" / "envaudit-bench"))
WORK = CACHE / "predict"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
OLDER = int(os.environ.get("BENCH_PREDICT_OLDER", "3"))
PYTHON = "python3.11"
# The tool venv: the peers, and `packaging` for wheel tags and markers.
TOOLS = ["uv==0.13.9", "pip==26.3", "packaging==26.4"]
PYPI = "https://pypi.org/simple/"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
# What `python3.11 -m venv` put in the benchmark venv beside the freeze (pip freeze leaves
# them out): on the index and in the venv, not in requirements.txt. tensorboard requires
# setuptools.
VENV_OWN = [("pip", "23.2.1"), ("setuptools", "65.5.0")]
# The layout of the index and the lock; bump it to rebuild them from the cached downloads.
LAYOUT = "2"


def log(msg):
    print(f"bench predict: {msg}", file=sys.stderr, flush=True)


def clean_env(**extra):
    """This process's environment without the host's pip and uv settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(extra)
    return env


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def pep503(name):
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the tool venv ------------------------------------------------------------------------


def ensure_tools():
    """The Python 3.11 venv with the peers; this script re-runs itself in it."""
    venv = WORK / "tools"
    marker = venv / ".bench-tools"
    want = " ".join(TOOLS)
    if not marker.exists() or marker.read_text() != want:
        log(f"installing {want}")
        if venv.exists():
            shutil.rmtree(venv)
        run([PYTHON, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "pip"), "install", "-q", *TOOLS], env=clean_env())
        marker.write_text(want)
    return venv


# --- PyPI: pages and metadata -------------------------------------------------------------


def get(url, headers=None, tries=4):
    for attempt in range(tries):
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "envaudit-bench", **(headers or {})})
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.read()
        except OSError:
            if attempt == tries - 1:
                raise
            time.sleep(1 + attempt)


def pypi_page(name):
    """PyPI's JSON page of a project, cached."""
    path = WORK / "pypi" / f"{pep503(name)}.json"
    if not path.exists():
        body = get(PYPI + pep503(name) + "/", {"Accept": JSON_TYPE})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(body)
        tmp.replace(path)
    return json.loads(path.read_text())


class RemoteFile(io.RawIOBase):
    """A read-only file over HTTP range requests, for `zipfile`."""

    def __init__(self, url, size):
        self.url, self.size, self.pos = url, size, 0
        self.spans = []  # (start, bytes)

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=0):
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def readinto(self, buf):
        n = min(len(buf), self.size - self.pos)
        if n <= 0:
            return 0
        for start, data in self.spans:
            if start <= self.pos and self.pos + n <= start + len(data):
                buf[:n] = data[self.pos - start : self.pos - start + n]
                self.pos += n
                return n
        start = self.pos
        end = min(self.size, max(start + n, start + (64 << 10))) - 1
        data = get(self.url, {"Range": f"bytes={start}-{end}"})
        if len(data) != end - start + 1:
            raise OSError(f"{self.url}: asked for {end - start + 1} bytes, got {len(data)}")
        self.spans.append((start, data))
        buf[:n] = data[:n]
        self.pos += n
        return n


def built_wheel(name, version, sdist):
    """A release PyPI has only as an sdist (antlr4-python3-runtime 4.9.3 in the set): its
    wheel, built once with pip, is put on the index as a private index would hold it, so that
    no tool needs a build backend to read its metadata. A file entry as PyPI's pages give one,
    with `local`, the wheel's path."""
    out = WORK / "built" / f"{pep503(name)}-{version}"
    wheels = list(out.glob("*.whl")) if out.exists() else []
    if not wheels:
        log(f"building a wheel of {name} {version} (PyPI has only its sdist)")
        run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-binary", ":all:",
             "--index-url", PYPI, "-w", str(out), f"{name}=={version}"],
            env=clean_env(),
        )
        wheels = list(out.glob("*.whl"))
    (wheel,) = wheels
    body = wheel.read_bytes()
    return {
        "filename": wheel.name,
        "local": str(wheel),
        "hashes": {"sha256": hashlib.sha256(body).hexdigest()},
        "size": len(body),
        "requires-python": sdist.get("requires-python"),
        "upload-time": sdist.get("upload-time"),
    }


def wheel_metadata(file):
    """A wheel's `*.dist-info/METADATA`, read from PyPI with range requests; cached."""
    path = WORK / "metadata" / (file["filename"] + ".metadata")
    if path.exists():
        return path.read_bytes()
    if "local" in file:
        source = open(file["local"], "rb")
    else:
        remote = RemoteFile(file["url"], file["size"])
        # the end of the file first: the central directory of most wheels fits in 64 KiB
        remote.seek(max(0, file["size"] - (64 << 10)))
        remote.read(1)
        source = io.BufferedReader(remote, 1 << 16)
    with zipfile.ZipFile(source) as z:
        names = [n for n in z.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if len(names) != 1:
            raise SystemExit(f"{file['filename']}: {len(names)} METADATA files")
        body = z.read(names[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(body)
    tmp.replace(path)
    return body


# --- choosing the releases ----------------------------------------------------------------


def freeze():
    pins = []
    for line in FREEZE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins.append((name, version))
    return pins


def releases(name, pinned, page):
    """The releases of `name` the index holds, newest first: each `(version, wheel, sdist)`,
    the wheel being the one pip would install on this machine's CPython 3.11."""
    from packaging import tags, utils
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    priority = {t: i for i, t in enumerate(tags.sys_tags())}
    python = Version(platform.python_version())
    by_version = {}
    for f in page["files"]:
        if f.get("yanked"):
            continue
        rp = f.get("requires-python")
        try:
            if rp and python not in SpecifierSet(rp):
                continue
        except InvalidSpecifier:
            continue
        fn = f["filename"]
        try:
            if fn.endswith(".whl"):
                _, v, _, wheel_tags = utils.parse_wheel_filename(fn)
                best = min((priority[t] for t in wheel_tags if t in priority), default=None)
                if best is None:
                    continue
                entry = by_version.setdefault(v, {})
                if "wheel" not in entry or best < entry["wheel"][0]:
                    entry["wheel"] = (best, f)
            elif fn.endswith((".tar.gz", ".zip")):
                _, v = utils.parse_sdist_filename(fn)
                by_version.setdefault(v, {})["sdist"] = f
        except (utils.InvalidWheelFilename, utils.InvalidSdistFilename, InvalidVersion):
            continue
    pin = Version(pinned)
    if pin not in by_version:
        raise SystemExit(f"{name} {pinned}: PyPI has no file of it for this machine's CPython 3.11")
    if "wheel" not in by_version[pin]:
        if "sdist" not in by_version[pin]:
            raise SystemExit(f"{name} {pinned}: PyPI has no wheel or sdist of it")
        by_version[pin]["wheel"] = (0, built_wheel(name, pinned, by_version[pin]["sdist"]))
    older = sorted(
        (v for v, e in by_version.items() if v < pin and not v.is_prerelease and "wheel" in e),
        reverse=True,
    )[:OLDER]
    return [(str(v), by_version[v]["wheel"][1], by_version[v].get("sdist")) for v in [pin, *older]]


# --- writing the index and the lock -------------------------------------------------------


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def write_index(index, projects):
    """simple/<project>/index.html and index.json, files/<wheel>.metadata."""
    if index.exists():
        shutil.rmtree(index)
    root_links = []
    for name, rels in sorted(projects.items()):
        norm = pep503(name)
        root_links.append(f'<a href="{norm}/">{html.escape(name)}</a>')
        links, files = [], []
        for version, wheel, sdist, metadata in sorted(rels, key=lambda r: r[0]):
            for f, meta in ((sdist, None), (wheel, metadata)):
                if f is None:
                    continue
                sha = f["hashes"]["sha256"]
                href = f"../../files/{f['filename']}"
                attrs = ""
                entry = {
                    "filename": f["filename"],
                    "url": href,
                    "hashes": {"sha256": sha},
                    "size": f["size"],
                    "upload-time": f.get("upload-time"),
                }
                if f.get("requires-python"):
                    attrs += f' data-requires-python="{html.escape(f["requires-python"])}"'
                    entry["requires-python"] = f["requires-python"]
                if "local" in f:
                    write(index / "files" / f["filename"], Path(f["local"]).read_bytes())
                if meta is not None:
                    meta_sha = hashlib.sha256(meta).hexdigest()
                    attrs += f' data-core-metadata="sha256={meta_sha}" data-dist-info-metadata="sha256={meta_sha}"'
                    entry["core-metadata"] = {"sha256": meta_sha}
                    entry["dist-info-metadata"] = {"sha256": meta_sha}
                    write(index / "files" / (f["filename"] + ".metadata"), meta)
                links.append(f'<a href="{href}#sha256={sha}"{attrs}>{f["filename"]}</a><br/>')
                files.append(entry)
        page = (
            "<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" content=\"1.1\">"
            f"<title>Links for {html.escape(name)}</title></head>\n<body>\n<h1>Links for {html.escape(name)}</h1>\n"
            + "\n".join(links)
            + "\n</body>\n</html>\n"
        )
        write(index / "simple" / norm / "index.html", page)
        doc = {
            "meta": {"api-version": "1.1"},
            "name": norm,
            "versions": sorted({r[0] for r in rels}),
            "files": files,
        }
        write(index / "simple" / norm / "index.json", json.dumps(doc))
    write(
        index / "simple" / "index.html",
        "<!DOCTYPE html>\n<html><body>\n" + "\n".join(root_links) + "\n</body></html>\n",
    )


def top_level(pins, metadata):
    """The pinned projects nothing else among them requires (markers for this machine's
    Python 3.11, extras ignored): what a person would have written."""
    from packaging.requirements import Requirement

    required = set()
    for name, _ in pins:
        msg = email.parser.BytesParser().parsebytes(metadata[name])
        for line in msg.get_all("Requires-Dist") or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                required.add(pep503(req.name))
    return [name for name, _ in pins if pep503(name) not in required]


def write_rootfs(rootfs, pins, metadata):
    """A venv as a folder: pyvenv.cfg and one dist-info per pinned release, with this
    machine's /etc/os-release (which tells envaudit the glibc that uv and pip see here)."""
    if rootfs.exists():
        shutil.rmtree(rootfs)
    write(rootfs / "etc" / "os-release", Path("/etc/os-release").read_bytes())
    venv = rootfs / "opt" / "venv"
    write(
        venv / "pyvenv.cfg",
        f"home = /usr/bin\ninclude-system-site-packages = false\nversion = {platform.python_version()}\n",
    )
    site = venv / "lib" / "python3.11" / "site-packages"
    for name, version in pins:
        dist = site / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
        write(dist / "METADATA", metadata[name])
        write(dist / "INSTALLER", "pip\n")


def ensure_inputs(envaudit):
    """The index, the rootfs, requirements.txt and the lock, built once."""
    pins = freeze() + VENV_OWN
    key = hashlib.sha256((LAYOUT + str(OLDER) + FREEZE.read_text()).encode()).hexdigest()
    marker = WORK / "inputs.json"
    if marker.exists() and json.loads(marker.read_text()).get("key") == key:
        return json.loads(marker.read_text())
    log(f"reading {len(pins)} project pages from PyPI")
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        pages = dict(zip([n for n, _ in pins], pool.map(lambda p: pypi_page(p[0]), pins)))
    chosen = {name: releases(name, version, pages[name]) for name, version in pins}
    wheels = [w for rels in chosen.values() for _, w, _ in rels]
    log(f"reading the METADATA of {len(wheels)} wheels from PyPI (range requests)")
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        metas = dict(zip([w["filename"] for w in wheels], pool.map(wheel_metadata, wheels)))
    projects = {
        name: [(v, w, s, metas[w["filename"]]) for v, w, s in rels] for name, rels in chosen.items()
    }
    log("writing the index")
    write_index(WORK / "index", projects)
    pinned_meta = {name: metas[chosen[name][0][1]["filename"]] for name, _ in pins}
    write_rootfs(WORK / "rootfs", pins, pinned_meta)
    own = {n for n, _ in VENV_OWN}
    top = [n for n in top_level(pins, pinned_meta) if n not in own]
    lockdir = WORK / "lock"
    if lockdir.exists():
        shutil.rmtree(lockdir)
    write(lockdir / "requirements.txt", "".join(f"{n}\n" for n in top))
    log(f"locking the venv ({len(top)} top-level requirements)")
    run(
        [envaudit, "lock", "requirements.txt", "--rootfs", str(WORK / "rootfs"), "--fail-on", "never"],
        cwd=lockdir,
        stdout=subprocess.DEVNULL,
    )
    facts = {
        "key": key,
        "projects": len(projects),
        "releases": sum(len(r) for r in projects.values()),
        "wheels_with_metadata": len(wheels),
        "top_level": len(top),
    }
    marker.write_text(json.dumps(facts))
    return facts


# --- the server ---------------------------------------------------------------------------


class Server:
    """simple_index_server.py on the index folder; `requests()` reads its log."""

    def __init__(self, root, name, *args):
        self.log = WORK / f"server-{name}.log"
        self.log.write_text("")
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), str(root), str(self.log), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}/simple/"
        self.mark = 0

    def requests(self):
        """The log lines since the last call."""
        lines = self.log.read_text().splitlines()
        new, self.mark = lines[self.mark :], len(lines)
        return new

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


class Nginx:
    """The same index folder served by nginx as static files (the usual way to serve a
    PEP 503/691 tree): `ETag` and `Last-Modified` on every file, 304 on a match, no
    Cache-Control; a folder answers its `index.json` (PEP 691 JSON). A fast server, to tell
    a client's own cost from the Python test server's."""

    def __init__(self, root, name):
        if shutil.which("nginx") is None:
            raise SystemExit("scripts/bench predict: nginx is missing (apt-get install -y nginx-light)")
        self.dir = WORK / f"nginx-{name}"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir()
        self.log = self.dir / "access.log"
        self.log.write_text("")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        user = "user root;\n" if os.geteuid() == 0 else ""
        (self.dir / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {self.dir}/nginx.pid;\nerror_log {self.dir}/error.log;\n"
            "daemon off;\nevents { worker_connections 1024; }\n"
            "http {\n"
            "  log_format short '$request_method $uri $status';\n"
            f"  access_log {self.log} short;\n"
            "  types { application/vnd.pypi.simple.v1+json json; text/html html; }\n"
            "  default_type application/octet-stream;\n"
            f"  server {{ listen 127.0.0.1:{self.port}; root {root}; index index.json; etag on; }}\n"
            "}\n"
        )
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}/simple/"
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url + "pip/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        self.mark = 0

    def requests(self):
        """The log lines since the last call."""
        lines = self.log.read_text().splitlines()
        new, self.mark = lines[self.mark :], len(lines)
        return new

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


# --- the tools ----------------------------------------------------------------------------

# How each tool is measured: `cold` (no cache), `warm` (a cache filled by an earlier run;
# the server sends no Cache-Control), `warm, max-age` (the same against a server that sends
# `max-age=600` as PyPI does), `warm, nginx` (the same without Cache-Control against nginx
# serving the folder), `offline` (envaudit from its cache alone).
KINDS = ["cold", "warm", "warm, max-age", "warm, nginx", "offline"]


def commands(envaudit, tools, servers, scratch):
    """name -> (kind, server, argv, env, setup) for each measurement; setup runs untimed
    before each run."""
    lockdir = WORK / "lock"
    reqs = str(lockdir / "requirements.txt")
    uv, pip = str(tools / "bin" / "uv"), str(tools / "bin" / "pip")
    cold = scratch / "cold"

    def fresh():
        if cold.exists():
            shutil.rmtree(cold)
        cold.mkdir()

    def predict(url):
        return [envaudit, "predict", "--lockfile", str(lockdir / "envaudit.lock"),
                "--index-url", url, "--format", "json"]

    def uv_compile(url):
        return [uv, "pip", "compile", reqs, "--index-url", url,
                "--python-version", platform.python_version(), "--no-config", "--quiet",
                "--no-header", "--no-annotate"]

    def pip_install(url):
        return [pip, "install", "--dry-run", "--ignore-installed", "--report", "-", "--quiet",
                "--isolated", "--index-url", url, "-r", reqs]

    plain, pypi = servers["plain"], servers["max-age"]
    out = {}
    for tool in ("envaudit", "uv", "pip"):
        for kind in KINDS:
            server = {"warm, max-age": pypi, "warm, nginx": servers["nginx"]}.get(kind, plain)
            cache = scratch / kind.replace(", ", "-") / tool
            url = server.url
            if tool == "envaudit":
                if kind == "cold":
                    argv, env, setup = predict(url), clean_env(ENVAUDIT_CACHE_DIR=str(cold)), fresh
                else:
                    argv = predict(url) + (["--offline"] if kind == "offline" else [])
                    cache = scratch / ("warm" if kind == "offline" else kind.replace(", ", "-")) / tool
                    argv, env, setup = argv, clean_env(ENVAUDIT_CACHE_DIR=str(cache)), None
            elif kind == "offline":
                continue
            elif tool == "uv":
                argv = uv_compile(url) + (["--no-cache"] if kind == "cold" else ["--cache-dir", str(cache)])
                env, setup = clean_env(), None
            else:
                argv = pip_install(url) + (["--no-cache-dir"] if kind == "cold" else ["--cache-dir", str(cache)])
                env, setup = clean_env(), None
            out[f"{tool} {kind}"] = (kind, server, argv, env, setup)
    return out


def resolved(name, stdout):
    """What a tool resolved: {normalised name: version}."""
    if name.startswith("envaudit"):
        doc = json.loads(stdout)
        (env,) = doc["environments"]
        return {
            p["name"]: p["predicted"]
            for p in env["packages"]
            if p["ecosystem"] == "pip" and p["predicted"] is not None
        }
    if name.startswith("uv"):
        out = {}
        for line in stdout.splitlines():
            if line and not line.startswith((" ", "#")):
                n, v = line.split("==")
                out[pep503(n)] = v.strip()
        return out
    doc = json.loads(stdout)
    return {pep503(i["metadata"]["name"]): i["metadata"]["version"] for i in doc["install"]}


def measure(cmds, servers, rounds):
    """Interleaved rounds: every command once per round, in a rotated order. Returns
    {name: [seconds]}, {name: [request counts]}, {name: last resolution}."""
    names = list(cmds)
    times = {n: [] for n in names}
    reqs = {n: [] for n in names}
    results = {}
    log("filling the warm caches")
    for n in names:
        kind, _, argv, env, _ = cmds[n]
        if kind.startswith("warm"):
            run(argv, env=env, stdout=subprocess.DEVNULL)
    for server in servers.values():
        server.requests()
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        log(f"round {r + 1}/{rounds}")
        for n in order:
            _, server, argv, env, setup = cmds[n]
            if setup:
                setup()
            t = time.perf_counter()
            p = subprocess.run(argv, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - t
            if p.returncode != 0:
                raise SystemExit(f"{n} failed ({p.returncode}):\n{p.stderr[-3000:]}")
            times[n].append(elapsed)
            lines = server.requests()
            reqs[n].append(len(lines))
            downloads = [l for l in lines if "/files/" in l and not l.split()[1].endswith(".metadata")]
            if downloads:
                raise SystemExit(f"{n} downloaded distributions: {downloads[:3]}")
            results[n] = resolved(n, p.stdout)
    return times, reqs, results


def server_floor(server, runs=5):
    """How long the server takes to answer one conditional GET of every project page (what
    a warm run that revalidates sends), from a minimal client: 4 threads, each with its own
    kept-alive connection. The median of `runs`."""
    import http.client
    import threading

    pages = sorted(
        f"/simple/{p.name}/" for p in (WORK / "index" / "simple").iterdir() if p.is_dir()
    )
    accept = {"Accept": JSON_TYPE}
    conn = http.client.HTTPConnection("127.0.0.1", server.port)
    etags = {}
    for path in pages:
        conn.request("GET", path, headers=accept)
        r = conn.getresponse()
        r.read()
        etags[path] = r.getheader("ETag")
    conn.close()
    local = threading.local()

    def revalidate(path):
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", server.port)
        local.conn.request("GET", path, headers={**accept, "If-None-Match": etags[path]})
        r = local.conn.getresponse()
        r.read()
        return r.status

    times = []
    for _ in range(runs):
        t = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = set(pool.map(revalidate, pages))
        times.append(time.perf_counter() - t)
        if statuses != {304}:
            raise SystemExit(f"the floor's revalidations answered {statuses}")
    server.requests()
    return len(pages), statuses, statistics.median(times)


# --- the report ---------------------------------------------------------------------------


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
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB memory, "
        f"{osr.get('PRETTY_NAME', '?').strip(chr(34))}, Linux {platform.release()}"
    )


def agreement(results):
    # the venv's own pip is outside the requirements' closure: envaudit lists it unchanged
    base = {k: v for k, v in results["envaudit cold"].items() if k != "pip"}
    lines = []
    for n in results:
        if n == "envaudit cold":
            continue
        other = {k: v for k, v in results[n].items() if k != "pip"}
        diff = sorted(
            f"{k}: envaudit {base.get(k)}, {n.split()[0]} {other.get(k)}"
            for k in base.keys() | other.keys()
            if base.get(k) != other.get(k)
        )
        lines.append((n, len(other), diff))
    return lines


def main():
    WORK.mkdir(parents=True, exist_ok=True)
    tools = ensure_tools()
    if Path(sys.prefix).resolve() != tools.resolve():
        os.execv(str(tools / "bin" / "python"), [str(tools / "bin" / "python"), __file__, *sys.argv[1:]])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    log("building (release)")
    run(["cargo", "build", "--release", "--locked", "--quiet", "--bin", "envaudit"], cwd=ROOT)
    envaudit = str(target / "release" / "envaudit")
    facts = ensure_inputs(envaudit)
    servers = {
        "plain": Server(WORK / "index", "plain"),
        "max-age": Server(WORK / "index", "max-age", "--max-age", "600"),
        "nginx": Nginx(WORK / "index", "plain"),
    }
    try:
        with tempfile.TemporaryDirectory(prefix="bench-predict-") as scratch:
            cmds = commands(envaudit, tools, servers, Path(scratch))
            times, reqs, results = measure(cmds, servers, ROUNDS)
            floor_pages, _, floor = server_floor(servers["plain"])
    finally:
        for server in servers.values():
            server.stop()
    med = {n: statistics.median(t) for n, t in times.items()}
    versions = {
        "envaudit": subprocess.run([envaudit, "--version"], capture_output=True, text=True).stdout.strip(),
        "uv": subprocess.run([str(tools / "bin" / "uv"), "--version"], capture_output=True, text=True).stdout.strip(),
        "pip": subprocess.run([str(tools / "bin" / "pip"), "--version"], capture_output=True, text=True).stdout.split(" from ")[0],
    }
    print(f"machine: {machine()}")
    print(f"index: {facts['projects']} projects, {facts['releases']} releases (each a wheel with its "
          f".metadata, and its sdist); requirements: {facts['top_level']} top-level names, unpinned")
    print(f"tools: {versions['envaudit']}, {versions['uv']}, {versions['pip']}; {ROUNDS} interleaved rounds\n")
    print("| run | median | min–max | requests | vs uv | vs pip |")
    print("|---|---|---|---|---|---|")
    for kind in KINDS:
        peer = "warm" if kind == "offline" else kind
        for tool in ("envaudit", "uv", "pip"):
            n = f"{tool} {kind}"
            if n not in times:
                continue
            print(
                f"| {n} | {med[n] * 1000:.0f} ms | {min(times[n]) * 1000:.0f}–{max(times[n]) * 1000:.0f} ms "
                f"| {statistics.median(reqs[n]):.0f} "
                f"| {med[n] / med['uv ' + peer]:.2f}× | {med[n] / med['pip ' + peer]:.2f}× |"
            )
    print(f"\nthe server alone: {floor_pages} conditional GETs of the project pages (304), "
          f"Python client, 4 connections: {floor * 1000:.0f} ms (median of 5)\n")
    for n, count, diff in agreement(results):
        status = "same versions" if not diff else f"{len(diff)} differ: " + "; ".join(diff[:10])
        print(f"- envaudit cold vs {n}: {count} packages, {status}")
    cold = med["envaudit cold"] / med["uv cold"]
    print(f"\ntargets: cold ≤ 2× uv: {'pass' if cold <= 2 else 'FAIL'} ({cold:.2f}×); warm < 200 ms: "
          + ", ".join(
              f"{k} {'pass' if med['envaudit ' + k] < 0.2 else 'FAIL'} ({med['envaudit ' + k] * 1000:.0f} ms)"
              for k in ("warm", "warm, max-age", "warm, nginx")
          ))
    (WORK / "last-run.json").write_text(json.dumps({"times": times, "requests": reqs, "versions": versions}))


if __name__ == "__main__":
    main()
