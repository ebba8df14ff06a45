#!/usr/bin/env python3
"""Report benchmark: `envaudit report` and `envaudit export` of a large audited image, and
the SBOM against syft's.

The image is the issue-5 benchmark's (1,093 packages; `scripts/bench catalog` builds it under
~/.cache/envaudit-bench). It is locked once with a model run; then each report format and
each export is timed (hyperfine, 3 warm-ups, median), and so is `syft oci-dir:IMAGE -o
cyclonedx-json`, the usual way to get an SBOM of an image. The two CycloneDX documents are
compared on how many components carry a hash. Prints a Markdown table for
docs/performance.md. No target is set by the issue: the figures are recorded as measured.

    scripts/bench report            BENCH_REPS=N (default 21), BENCH_SYFT_RUNS=N (default 3)
"""
import json, os, shutil, subprocess, sys, tempfile
from pathlib import Path

here = Path(__file__).resolve().parents[2]
cache = Path.home() / ".cache" / "envaudit-bench"
reps = int(os.environ.get("BENCH_REPS", "21"))
syft_runs = int(os.environ.get("BENCH_SYFT_RUNS", "3"))

images = sorted((cache / "images").glob("*/gzip/base"))
if not images:
    sys.exit("scripts/bench report: no benchmark image; run `scripts/bench catalog` first")
image = images[0]
syft = cache / "tools" / "syft" / "bin" / "syft"
if not syft.exists():
    sys.exit("scripts/bench report: no syft; run `scripts/bench catalog` first (it installs syft)")
if not shutil.which("hyperfine"):
    sys.exit("scripts/bench report: hyperfine is missing (apt-get install -y hyperfine)")

subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "envaudit"], cwd=here, check=True)
target = Path(os.environ.get("CARGO_TARGET_DIR", here / "target"))
if not target.is_absolute():
    target = here / target
bin = str(target / "release" / "envaudit")

work = Path(tempfile.mkdtemp(prefix="bench-report."))
try:
    (work / "requirements.txt").write_text("numpy\n")
    env = dict(os.environ, ENVAUDIT_CACHE_DIR=str(work / "cache"))
    subprocess.run([bin, "lock", "requirements.txt", "--image", f"oci:{image}", "--model", "bench-model:1",
                    "--run-id", "bench-run"], cwd=work, env=env, check=True, capture_output=True)

    def hf(name, cmd, runs):
        out = work / f"{name}.json"
        subprocess.run(["hyperfine", "-N", "--warmup", "3" if runs > 3 else "1", "--runs", str(runs),
                        "--export-json", str(out), cmd], cwd=work, env=env, check=True, capture_output=True)
        return json.loads(out.read_text())["results"][0]["median"]

    rows = []
    for fmt in ["markdown", "json", "html", "cyclonedx", "spdx"]:
        rows.append((f"`report --format {fmt}`", hf(fmt, f"{bin} report --model bench-model --format {fmt}", reps)))
    for fmt in ["conda-explicit", "requirements"]:
        rows.append((f"`export --format {fmt}`",
                     hf(fmt, f"{bin} export --format {fmt}", reps)))
    syft_time = hf("syft", f"{syft} -q oci-dir:{image} -o cyclonedx-json", syft_runs)

    ours = json.loads(subprocess.run([bin, "report", "--model", "bench-model", "--format", "cyclonedx"],
                                     cwd=work, env=env, check=True, capture_output=True).stdout)
    theirs = json.loads(subprocess.run([str(syft), "-q", f"oci-dir:{image}", "-o", "cyclonedx-json"],
                                       cwd=work, check=True, capture_output=True).stdout)

    def hashed(doc):
        comps = [c for c in doc.get("components", []) if c.get("type") == "library"]
        return len(comps), sum(1 for c in comps if c.get("hashes"))

    cdx = dict(rows)["`report --format cyclonedx`"]
    print("| measurement | median | ratio |")
    print("|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t * 1000:.1f} ms | |")
    print(f"| `syft oci-dir:IMAGE -o cyclonedx-json` | {syft_time * 1000:.0f} ms | "
          f"envaudit's CycloneDX (from the lock) {cdx / syft_time:.4f}× of syft's time |")
    for fmt in ["conda-explicit", "requirements"]:
        done = subprocess.run([bin, "export", "--format", fmt], cwd=work, env=env, check=True,
                              capture_output=True)
        lines = [l for l in done.stdout.decode().splitlines() if l and not l.startswith(("#", "@"))]
        print(f"<!-- export {fmt}: {len(lines)} packages -->")
    n_ours, h_ours = hashed(ours)
    n_theirs, h_theirs = hashed(theirs)
    print(f"| library components with a hash | envaudit {h_ours} of {n_ours}, syft {h_theirs} of {n_theirs} | |")
finally:
    shutil.rmtree(work, ignore_errors=True)
