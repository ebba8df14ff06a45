#!/usr/bin/env python3
"""scripts/bench evidence: what attaching and checking signed evidence costs.

Starts Debian's `docker-registry` (distribution 2.8, no referrers API, so the tag-schema
fallback) on 127.0.0.1 at a free port, with its storage in a temporary folder, makes an
openssl key pair (ECDSA P-256, or Ed25519 with --key-type ed25519), and times the release
binary, interleaved run by run, medians:

Attest. The small image is fixtures/example/image:v1 (five layers, 41 KB; 158 packages),
copied into the registry by skopeo. Every timed `envaudit attest --key KEY` must push (the
script checks that its JSON says `attested` and lists what it pushed). Each round, in a
fresh repository and a fresh project:
  - attest, new image:   untimed, skopeo copies the image there and `envaudit lock --run-id
                         run-1` records it; the timed attest pushes the SBOM, the snapshot
                         record and the bundle, and creates the tag-schema index.
  - attest, second run:  untimed, `envaudit lock --run-id run-2` (no --attest) records a
                         second run of the same snapshot, so the record and the statement
                         change; the timed attest pushes a new record and bundle (the SBOM's
                         blobs are found in place) and rewrites the index.
  - skopeo copy:         the peer: `skopeo copy --dest-tls-verify=false oci:DIR:art
                         docker://127.0.0.1:PORT/bench/artifact:rN` of a small OCI artifact
                         (artifactType, the empty config, one 4 KB layer), written afresh
                         before each run with new layer bytes, so that every run uploads its
                         layer rather than finding or mounting it.
The registry's access log counts each command's requests (those of the last round are
shown). Then, as a growth check, one snapshot gets 52 runs, every one attested, and the
attests of runs 10 to 12 and 50 to 52 are timed (median of three; the runs before are
recorded with `lock --attest`): the record lists every run, and the index every bundle and
record.

Verify. The 1.5 GB image of `scripts/bench catalog` (gzip and zstd layouts, built once and
cached by that benchmark's code) is copied into the registry by skopeo, locked and attested
(untimed), then:
  - verify:      envaudit verify REF --key PUB --format json (exit 0 checked beforehand)
  - catalog:     envaudit catalog REF --no-cache --format json
  - no-content:  envaudit verify REF --key PUB --no-content --format json

Prints the tables for docs/performance.md.

Environment: BENCH_RUNS (default 21) timed rounds of the attest commands; BENCH_VERIFY_RUNS
(default 5) of each verify command; ENVAUDIT_BENCH_CACHE as for `scripts/bench catalog`;
CARGO_TARGET_DIR locates the release binary.
"""

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import catalog as cat  # noqa: E402
import oci_image  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "21"))
VERIFY_RUNS = int(os.environ.get("BENCH_VERIFY_RUNS", "5"))
SMALL = cat.ROOT / "fixtures" / "example" / "image"
SMALL_TAG = "v1"
# The small image's definition, as Azure ML built it.
DEFINITION = ["environment.yml", "conda.yml"]
# Beside the catalog benchmark's tools: the registry, the peer and the key maker.
cat.APT += [("docker-registry", "docker-registry"), ("skopeo", "skopeo"), ("openssl", "openssl")]


def log(msg):
    print(f"bench evidence: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """`docker-registry serve` on 127.0.0.1:PORT, storage under `root`, stopped by `stop()`
    (the process this object started, by its PID)."""

    def __init__(self, root):
        self.root = Path(root)
        self.addr = f"127.0.0.1:{free_port()}"
        config = self.root / "config.yml"
        config.write_text(
            # The access log (one line a request) counts each command's requests.
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.root / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.addr}\n"
        )
        self.log_file = open(self.root / "registry.log", "wb")
        self.proc = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://{self.addr}/v2/", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SystemExit(f"docker-registry did not become ready:\n{(self.root / 'registry.log').read_text()}")

    def log_size(self):
        return (self.root / "registry.log").stat().st_size

    def requests_since(self, offset):
        """The requests logged since `offset` (a `log_size()`), by method: {"GET": n, ...}."""
        with open(self.root / "registry.log", "rb") as f:
            f.seek(offset)
            methods = re.findall(rb'"(GET|HEAD|POST|PUT|PATCH|DELETE) /v2/', f.read())
        return dict(Counter(m.decode() for m in methods))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


def skopeo_copy(src, dest):
    cat.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", src, dest], stdout=subprocess.DEVNULL)


def keypair(folder, kind):
    key, pub = folder / "signer.pem", folder / "signer.pub"
    if kind == "ed25519":
        cat.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)])
    else:
        cat.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key)])
    cat.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub)])
    return key, pub


def write_artifact(layout, payload):
    """A small OCI artifact as an image layout, tagged `art`: the empty config, one layer."""
    if layout.exists():
        shutil.rmtree(layout)
    layout.mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    empty, empty_size = oci_image.put_blob(layout, b"{}")
    digest, size = oci_image.put_blob(layout, payload)
    manifest = {
        "schemaVersion": 2,
        "mediaType": oci_image.MEDIA_MANIFEST,
        "artifactType": "application/vnd.envaudit.bench.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": f"sha256:{empty}", "size": empty_size},
        "layers": [{"mediaType": "application/vnd.envaudit.bench.v1+json", "digest": f"sha256:{digest}", "size": size}],
    }
    mdigest, msize = oci_image.put_blob(layout, json.dumps(manifest, separators=(",", ":")).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": oci_image.MEDIA_INDEX,
        "manifests": [
            {
                "mediaType": oci_image.MEDIA_MANIFEST,
                "digest": f"sha256:{mdigest}",
                "size": msize,
                "annotations": {"org.opencontainers.image.ref.name": "art"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))


def artifact_payload(i):
    """4 KB of JSON, different for every run."""
    filler = os.urandom(2000).hex()
    return json.dumps({"run": i, "pid": os.getpid(), "time": time.time(), "filler": filler}).encode()


def timed(cmd, cwd, env):
    """Wall time, CPU time (user + system of the command and its children) and standard
    output of one run; a failure stops the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"`{shlex.join(map(str, cmd))}` failed ({r.returncode}):\n{r.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, r.stdout


def pushed(out):
    """What one `attest --format json` pushed; it must have pushed."""
    [a] = json.loads(out)["attestations"]
    if a["status"] != "attested" or not a["pushed"]:
        raise SystemExit(f"attest pushed nothing, so the run measured no push: {a}")
    return [p["artifact"] if p["stored"] != "listed" else f"{p['artifact']} (already listed)" for p in a["pushed"]]


def new_project(root, name):
    project = root / name
    project.mkdir(parents=True)
    for f in DEFINITION:
        shutil.copy(cat.ROOT / "fixtures" / "example" / f, project / f)
    return project


def lock(envaudit, project, image, run_id, env, definition="environment.yml", attest_key=None):
    cat.run(
        [str(envaudit), "lock", definition, "--name", "train", "--image", image, "--run-id", run_id, "--model", "clf:1"]
        + (["--attest", str(attest_key)] if attest_key else []),
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def bench_attest(envaudit, reg, scratch, key, env):
    """Interleaved medians of the two attest cases and skopeo's copy of a small artifact."""
    src = f"oci:{SMALL}:{SMALL_TAG}"
    attest = [str(envaudit), "attest", "--key", str(key), "--format", "json"]
    artifact = scratch / "artifact"
    times = {"attest-new-image": [], "attest-new-run": [], "skopeo": []}
    what = {}
    # The requests of each command in the last round.
    requests = {}
    log(f"attest: 1 warm-up and {RUNS} timed rounds of each command")
    for i in range(RUNS + 1):
        # Attest, new image: a fresh repository and project.
        image = f"{reg.addr}/bench/attest-{i}:{SMALL_TAG}"
        skopeo_copy(src, f"docker://{image}")
        project = new_project(scratch, f"attest-{i}")
        lock(envaudit, project, image, "run-1", env)
        at = reg.log_size()
        t_new, _, out = timed(attest, project, env)
        what["attest-new-image"] = pushed(out)
        requests["attest-new-image"] = reg.requests_since(at)
        # Attest, new run: the second run of the snapshot just attested.
        lock(envaudit, project, image, "run-2", env)
        at = reg.log_size()
        t_run, _, out = timed(attest, project, env)
        what["attest-new-run"] = pushed(out)
        requests["attest-new-run"] = reg.requests_since(at)
        # The peer: a small artifact with new layer bytes.
        write_artifact(artifact, artifact_payload(i))
        at = reg.log_size()
        t_sk, _, _ = timed(
            ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{artifact}:art", f"docker://{reg.addr}/bench/artifact:r{i}"],
            scratch,
            env,
        )
        requests["skopeo"] = reg.requests_since(at)
        if i == 0:
            continue
        times["attest-new-image"].append(t_new)
        times["attest-new-run"].append(t_run)
        times["skopeo"].append(t_sk)
    medians = {k: statistics.median(v) for k, v in times.items()}
    return medians, times, what, requests


def bench_attest_growth(envaudit, reg, scratch, key, env, sizes=(10, 50)):
    """Attesting the Nth run of one snapshot, for N in `sizes`: the snapshot record holds
    every run, and the tag-schema index every earlier bundle and record. For each N, the
    median of three attests (of runs N, N+1, N+2) and the requests of the last."""
    src = f"oci:{SMALL}:{SMALL_TAG}"
    attest = [str(envaudit), "attest", "--key", str(key), "--format", "json"]
    image = f"{reg.addr}/bench/attest-growth:{SMALL_TAG}"
    skopeo_copy(src, f"docker://{image}")
    project = new_project(scratch, "attest-growth")
    results = {}
    recorded = 0
    for n in sizes:
        log(f"attest growth: recording runs up to {n + 2}, attesting runs {n} to {n + 2}")
        samples = []
        while recorded < n + 2:
            recorded += 1
            if recorded < n:
                # The runs before the timed ones are attested as a training job's `lock
                # --attest` would, so that the index holds their bundles and records.
                lock(envaudit, project, image, f"run-{recorded}", env, attest_key=key)
                continue
            lock(envaudit, project, image, f"run-{recorded}", env)
            at = reg.log_size()
            t, _, out = timed(attest, project, env)
            pushed(out)
            samples.append((t, reg.requests_since(at)))
        results[n] = {"t": statistics.median(t for t, _ in samples), "requests": samples[-1][1]}
    return results


def bench_verify(envaudit, ref, pub, scratch, env):
    """Interleaved medians (wall and CPU time) of verify, catalog --no-cache and verify
    --no-content of one attested image, after one warm-up round."""
    ea = str(envaudit)
    cmds = {
        "verify": [ea, "verify", ref, "--key", str(pub), "--format", "json"],
        "catalog": [ea, "catalog", ref, "--no-cache", "--format", "json"],
        "no-content": [ea, "verify", ref, "--key", str(pub), "--no-content", "--format", "json"],
    }
    # The warm-up round; verify must succeed (exit 0, no finding) and have read the image.
    for k, c in cmds.items():
        out = timed(c, scratch, env)[2]
        if k == "verify":
            doc = json.loads(out)
            if doc["findings"] or not doc["content"] or doc["content"]["changes"] or doc["content"]["altered"]:
                raise SystemExit(f"verify of the attested image has findings: {doc['findings']}")
    log(f"{ref}: {VERIFY_RUNS} interleaved runs of verify, catalog --no-cache, verify --no-content")
    times = {k: [] for k in cmds}
    for _ in range(VERIFY_RUNS):
        for k, c in cmds.items():
            times[k].append(timed(c, scratch, env)[:2])
    return {
        "t": {k: statistics.median(w for w, _ in v) for k, v in times.items()},
        "cpu": {k: statistics.median(c for _, c in v) for k, v in times.items()},
        "packages": doc["content"]["attested_packages"],
    }


def ensure_big_image(reg, fmt, layout, envaudit, scratch, key, env):
    """The 1.5 GB image in the registry, locked and attested; returns its reference."""
    ref = f"{reg.addr}/bench/big-{fmt}:1"
    log(f"{fmt}: skopeo copy of the 1.5 GB image into the registry")
    skopeo_copy(f"oci:{layout}:latest", f"docker://{ref}")
    project = scratch / f"big-{fmt}"
    project.mkdir()
    (project / "requirements.txt").write_text("\n".join(cat.freeze_lines()) + "\n")
    log(f"{fmt}: lock and attest it")
    lock(envaudit, project, ref, "run-1", env, definition="requirements.txt")
    pushed(timed([str(envaudit), "attest", "--key", str(key), "--format", "json"], project, env)[2])
    return ref


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench evidence", description=__doc__.split("\n\n")[0])
    ap.add_argument("--envaudit", help="the envaudit binary to measure (default: build the release binary)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release")
    ap.add_argument("--key-type", choices=("p256", "ed25519"), default="p256", help="the signing key (default p256)")
    ap.add_argument("--formats", default="gzip,zstd", help="layer formats of the 1.5 GB image to verify (default gzip,zstd)")
    ap.add_argument("--skip-verify", action="store_true", help="attest only")
    ap.add_argument("--skip-attest", action="store_true", help="verify only")
    ap.add_argument(
        "--storage",
        help="a folder to hold the registry's storage (default: a temporary folder under TMPDIR); "
        "e.g. one in /dev/shm to take the disk out of the measurement",
    )
    args = ap.parse_args()

    cat.CACHE.mkdir(parents=True, exist_ok=True)
    cat.ensure_apt()
    formats = [f for f in args.formats.split(",") if f]
    images = None
    if not args.skip_verify:
        uv = cat.tool_venv("uv", cat.UV)
        venv, dropped = cat.ensure_venv(uv / "uv")
        extra = cat.ensure_extra(uv / "uv", venv)
        images = cat.ensure_images(venv, extra, dropped)
    envaudit = cat.ensure_envaudit(args)
    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="envaudit-bench-evidence-"))
    env = {**os.environ, "ENVAUDIT_CACHE_DIR": str(scratch / "cache"), "NO_COLOR": "1"}
    storage = Path(tempfile.mkdtemp(prefix="envaudit-bench-registry-", dir=args.storage))
    reg = Registry(storage)
    try:
        key, pub = keypair(scratch, args.key_type)
        attest = verify = None
        growth = None
        if not args.skip_attest:
            attest = bench_attest(envaudit, reg, scratch, key, env)
            growth = bench_attest_growth(envaudit, reg, scratch, key, env)
        if not args.skip_verify:
            verify = {}
            for fmt in formats:
                ref = ensure_big_image(reg, fmt, images[fmt]["base"]["layout"], envaudit, scratch, key, env)
                verify[fmt] = bench_verify(envaudit, ref, pub, scratch, env)
        fstype = cat.out(["df", "--output=fstype", str(storage)]).split()[-1]
        report(attest, growth, verify, images, args, load_before, f"{storage} ({fstype})")
    finally:
        reg.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(storage, ignore_errors=True)


def ms(s):
    return f"{s * 1000:,.0f} ms"


def counts(r):
    return f"{sum(r.values())}: " + ", ".join(f"{n} {method}" for method, n in sorted(r.items()))


def report(attest, growth, verify, images, args, load_before, storage):
    print()
    print("| target | measured | ratio | result |")
    print("|---|---|---|---|")
    if attest:
        m = attest[0]
        for k, label in (("attest-new-image", "new image"), ("attest-new-run", "second run")):
            ratio = m[k] / m["skopeo"]
            print(
                f"| attest ({label}) under 2× `skopeo copy` of a small artifact | attest {ms(m[k])}, skopeo {ms(m['skopeo'])} "
                f"| {ratio:.2f}× | {'pass' if ratio < 2 else '**FAIL**'} |"
            )
    for fmt, v in (verify or {}).items():
        for kind, label in (("t", "wall"), ("cpu", "CPU")):
            t = v[kind]
            ratio = t["verify"] / t["catalog"]
            print(
                f"| {fmt}: `verify` of the 1.5 GB image within 1.3× of `catalog --no-cache` ({label} time) "
                f"| verify {ms(t['verify'])}, catalog {ms(t['catalog'])} | {ratio:.2f}× | {'pass' if ratio <= 1.3 else '**FAIL**'} |"
            )
    print()
    if attest:
        m, times, what, requests = attest
        print("| command | median | min | max | requests to the registry |")
        print("|---|---|---|---|---|")
        for k, label in (
            ("attest-new-image", f"`attest`, new image (pushes {', '.join(what['attest-new-image'])})"),
            ("attest-new-run", f"`attest`, second run (pushes {', '.join(what['attest-new-run'])})"),
            ("skopeo", "`skopeo copy` of a 4 KB artifact"),
        ):
            print(f"| {label} | {ms(m[k])} | {ms(min(times[k]))} | {ms(max(times[k]))} | {counts(requests[k])} |")
        print(f"\nAttest: {RUNS} interleaved rounds after one warm-up, medians; key {args.key_type}.")
    if growth:
        print()
        print("| `attest` of the Nth run of one snapshot | median of 3 | requests to the registry |")
        print("|---|---|---|")
        for n, g in growth.items():
            print(f"| N = {n} | {ms(g['t'])} | {counts(g['requests'])} |")
    if verify:
        print()
        print("| command | " + " | ".join(f"{f}, wall" for f in verify) + " | " + " | ".join(f"{f}, CPU" for f in verify) + " |")
        print("|---|" + "---|" * 2 * len(verify))
        for k, label in (
            ("verify", "`verify REF --key PUB`"),
            ("catalog", "`catalog REF --no-cache`"),
            ("no-content", "`verify REF --key PUB --no-content`"),
        ):
            cells = [ms(v["t"][k]) for v in verify.values()] + [ms(v["cpu"][k]) for v in verify.values()]
            print(f"| {label} | " + " | ".join(cells) + " |")
        g = images["gzip"]["base"]
        print(
            f"\nVerify: {VERIFY_RUNS} interleaved runs after one warm-up, medians of wall and of CPU time (user + system); image of {len(g['layers'])} layers, "
            f"{g['uncompressed'] / 1e6:,.0f} MB uncompressed, "
            + ", ".join(f"{images[f]['base']['compressed'] / 1e6:,.0f} MB as {f}" for f in verify)
            + f"; {next(iter(verify.values()))['packages']} attested packages."
        )
    print()
    print(f"Registry: {subprocess.run(['docker-registry', '--version'], capture_output=True, text=True).stdout.strip()}, storage {storage}; {cat.out(['skopeo', '--version']).strip()}.")
    print(f"Machine: {cat.machine()}; load average before: {load_before}, after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
