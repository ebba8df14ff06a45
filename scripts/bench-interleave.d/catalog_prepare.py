#!/usr/bin/env python3
"""Prepare (once, cached under ENVAUDIT_BENCH_CACHE, default ~/.cache/envaudit-bench) the
catalog benchmark's inputs exactly as REPO/scripts/bench.d/catalog.py does: the venv of
venv-freeze.txt, the extra packages, and the gzip/zstd OCI layouts (base and next).
Skips what only the peer comparisons need (syft, pipdeptree, libdeflate, hyperfine).
Prints a JSON object with the paths on stdout.
Usage: catalog_prepare.py REPO"""
import json, sys
from pathlib import Path

repo = Path(sys.argv[1]).resolve()
sys.path.insert(0, str(repo / "scripts" / "bench.d"))
import catalog  # noqa: E402  (the repo's own benchmark module)

catalog.CACHE.mkdir(parents=True, exist_ok=True)
uv_bin = catalog.tool_venv("uv", catalog.UV)
venv, dropped = catalog.ensure_venv(uv_bin / "uv")
extra = catalog.ensure_extra(uv_bin / "uv", venv)
images = catalog.ensure_images(venv, extra, dropped)
print(json.dumps({
    "venv": str(venv),
    "dropped": dropped,
    "images": {fmt: {w: images[fmt][w]["layout"] for w in ("base", "next")} for fmt in ("gzip", "zstd")},
}))
