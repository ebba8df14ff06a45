"""Writes the catalog benchmark's images as OCI image layouts.

The image is an Azure ML training image in miniature: a Debian package database, a
1.5 GB Python environment at `/azureml-envs/azureml_<hash>` split over two layers, and a
small top layer that uninstalls one package (a whiteout) and adds the environment's
`conda-meta` records. A second image adds one small layer on top of the first (a
`pip install` of three more packages), so it shares every layer of the first.

Layers are plain tar files first (their sha256 is the diff_id), then compressed with the
`gzip` and `zstd` command-line tools into blobs. Each image is written twice, once with
gzip and once with zstd layers; layouts of one format share their blobs (hardlinks).
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Bumped whenever the layers written below change, so cached layouts are rebuilt.
LAYOUT_VERSION = "3"

ENV_PREFIX = "azureml-envs/azureml_5f2ac8e0d3b14e6f9a7c1d2e3f4a5b6c"
MTIME = 1_700_000_000

MEDIA_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _dirs_above(arcname):
    """Parent directories of an archive path, outermost first."""
    parts = arcname.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


class Layer:
    """An uncompressed layer tar being written, with parent directories added once."""

    def __init__(self, path):
        self.path = path
        self.tar = tarfile.open(path, "w", format=tarfile.PAX_FORMAT)
        self.dirs = set()

    def _ensure_dirs(self, arcname):
        for d in _dirs_above(arcname):
            if d not in self.dirs:
                self.dirs.add(d)
                info = tarfile.TarInfo(d)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                info.mtime = MTIME
                self.tar.addfile(info)

    def add_tree(self, src, arcname, exclude=()):
        """Add a file, symlink or whole directory from the host under `arcname`."""
        src = Path(src)
        self._ensure_dirs(arcname)
        if src.is_dir() and not src.is_symlink():
            if arcname not in self.dirs:
                self.dirs.add(arcname)
                self.tar.add(src, arcname, recursive=False)
            for child in sorted(os.listdir(src)):
                if child in exclude:
                    continue
                self.add_tree(src / child, f"{arcname}/{child}")
        else:
            self.tar.add(src, arcname, recursive=False)

    def add_bytes(self, arcname, data, mode=0o644):
        self._ensure_dirs(arcname)
        info = tarfile.TarInfo(arcname)
        info.size = len(data)
        info.mode = mode
        info.mtime = MTIME
        self.tar.addfile(info, io.BytesIO(data))

    def close(self):
        self.tar.close()


def tree_size(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def site_packages(venv):
    found = sorted(Path(venv, "lib").glob("python3.*/site-packages"))
    if len(found) != 1:
        raise SystemExit(f"expected one site-packages under {venv}/lib, found {found}")
    return found[0]


# --- the layers -------------------------------------------------------------------------


def layer_debian(path):
    """Layer 1: this machine's dpkg database, os-release and package copyright files."""
    layer = Layer(path)
    layer.add_tree("/usr/lib/os-release", "usr/lib/os-release")
    layer.add_tree("/etc/os-release", "etc/os-release")  # a symlink on Debian
    layer.add_tree("/var/lib/dpkg/status", "var/lib/dpkg/status")
    layer.add_tree("/var/lib/dpkg/info", "var/lib/dpkg/info")
    doc = Path("/usr/share/doc")
    for pkg in sorted(os.listdir(doc)):
        copyright_file = doc / pkg / "copyright"
        if copyright_file.is_file() and not copyright_file.is_symlink():
            layer.add_tree(copyright_file, f"usr/share/doc/{pkg}/copyright")
    layer.close()


def split_site_packages(venv):
    """The top-level entries of site-packages in two groups of about equal size."""
    sp = site_packages(venv)
    entries = sorted(os.listdir(sp))
    sizes = [
        tree_size(sp / e) if (sp / e).is_dir() else (sp / e).lstat().st_size
        for e in entries
    ]
    half = sum(sizes) / 2
    acc = 0
    for i, s in enumerate(sizes):
        if acc + s / 2 > half:
            return entries[:i], entries[i:]
        acc += s
    return entries, []


def layer_venv(path, venv, entries, with_root):
    """Layers 2 and 3: the environment; the first also carries bin/ and include/."""
    venv = Path(venv)
    sp = site_packages(venv)
    rel_sp = sp.relative_to(venv).as_posix()
    layer = Layer(path)
    if with_root:
        for top in sorted(os.listdir(venv)):
            # conda environments have no pyvenv.cfg; lib/ is added entry by entry below.
            if top in ("lib", "pyvenv.cfg"):
                continue
            layer.add_tree(venv / top, f"{ENV_PREFIX}/{top}")
    for e in entries:
        layer.add_tree(sp / e, f"{ENV_PREFIX}/{rel_sp}/{e}")
    layer.close()


def conda_records(venv):
    """A few conda-meta records as conda writes them for an Azure ML environment; `pip`
    and `setuptools` list the dist-info of the distributions in the environment."""
    sp = site_packages(venv)
    rel_sp = sp.relative_to(venv).as_posix()
    pyver = sp.parent.name.removeprefix("python")

    def dist_files(name):
        infos = sorted(sp.glob(f"{name}-*.dist-info"))
        if not infos:
            return None, []
        info = infos[0]
        version = info.name[len(name) + 1 : -len(".dist-info")]
        files = [f"{rel_sp}/{info.name}/{f}" for f in sorted(os.listdir(info))]
        return version, files + [f"{rel_sp}/{name}/__init__.py"]

    channel = "https://repo.anaconda.com/pkgs/main"
    native = [
        ("_libgcc_mutex", "0.1", "main", 1, [], ["LICENSE"], "None"),
        ("_openmp_mutex", "5.1", "1_gnu", 1, ["_libgcc_mutex 0.1 main", "libgomp >=7.5.0"], ["lib/libgomp.so.1"], "BSD-3-Clause"),
        ("ld_impl_linux-64", "2.38", "h1181459_1", 1, [], ["bin/x86_64-conda-linux-gnu-ld"], "GPL-3.0-only"),
        ("libgcc-ng", "11.2.0", "h1234567_1", 1, ["_libgcc_mutex 0.1 main", "_openmp_mutex"], ["lib/libgcc_s.so.1"], "GPL-3.0-only WITH GCC-exception-3.1"),
        ("libgomp", "11.2.0", "h1234567_1", 1, ["_libgcc_mutex 0.1 main"], ["lib/libgomp.so.1.0.0"], "GPL-3.0-only WITH GCC-exception-3.1"),
        ("libstdcxx-ng", "11.2.0", "h1234567_1", 1, [], ["lib/libstdc++.so.6.0.29"], "GPL-3.0-only WITH GCC-exception-3.1"),
        ("ca-certificates", "2024.3.11", "h06a4308_0", 0, [], ["ssl/cacert.pem"], "MPL-2.0"),
        ("openssl", "3.0.13", "h7f8727e_1", 1, ["ca-certificates", "libgcc-ng >=7.5.0"], ["lib/libssl.so.3", "lib/libcrypto.so.3"], "Apache-2.0"),
        ("libffi", "3.4.4", "h6a678d5_0", 0, ["libgcc-ng >=11.2.0", "libstdcxx-ng >=11.2.0"], ["lib/libffi.so.8"], "MIT"),
        ("ncurses", "6.4", "h6a678d5_0", 0, ["libgcc-ng >=11.2.0"], ["lib/libncursesw.so.6"], "MIT-like"),
        ("readline", "8.2", "h5eee18b_0", 0, ["libgcc-ng >=11.2.0", "ncurses >=6.3,<7.0a0"], ["lib/libreadline.so.8"], "GPL-3.0-only"),
        ("sqlite", "3.41.2", "h5eee18b_0", 0, ["libgcc-ng >=11.2.0", "readline >=8.0,<9.0a0", "zlib >=1.2.13,<1.3.0a0"], ["lib/libsqlite3.so.0"], "blessing"),
        ("tk", "8.6.12", "h1ccaba5_0", 0, ["libgcc-ng >=7.5.0", "zlib >=1.2.12,<1.3.0a0"], ["lib/libtk8.6.so"], "TCL"),
        ("xz", "5.4.6", "h5eee18b_0", 0, ["libgcc-ng >=11.2.0"], ["lib/liblzma.so.5"], "LGPL-2.1-or-later and GPL-2.0-or-later"),
        ("zlib", "1.2.13", "h5eee18b_0", 0, ["libgcc-ng >=11.2.0"], ["lib/libz.so.1"], "Zlib"),
        ("bzip2", "1.0.8", "h5eee18b_5", 5, ["libgcc-ng >=11.2.0"], ["lib/libbz2.so.1.0"], "bzip2-1.0.6"),
        ("libuuid", "1.41.5", "h5eee18b_0", 0, ["libgcc-ng >=11.2.0"], ["lib/libuuid.so.1"], "BSD-3-Clause"),
        ("tzdata", "2024a", "h04d1e81_0", 0, [], ["share/zoneinfo/UTC"], "LicenseRef-Public-Domain"),
        ("python", "3.11.7", "h955ad1f_0", 0, ["bzip2 >=1.0.8,<2.0a0", "ld_impl_linux-64 >=2.35.1", "libffi >=3.4,<3.5", "libgcc-ng >=11.2.0", "libuuid >=1.41.5,<2.0a0", "ncurses >=6.4,<7.0a0", "openssl >=3.0.12,<4.0a0", "readline >=8.0,<9.0a0", "sqlite >=3.41.2,<4.0a0", "tk >=8.6.12,<8.7.0a0", "tzdata", "xz >=5.4.5,<6.0a0", "zlib >=1.2.13,<1.3.0a0"], ["bin/python3.11", "lib/libpython3.11.so.1.0", f"lib/python{pyver}/os.py"], "PSF-2.0"),
    ]
    records = []
    for name, version, build, build_number, depends, files, license_ in native:
        records.append((name, version, build, build_number, depends, files, license_, "linux-64"))
    for name in ("pip", "setuptools"):
        version, files = dist_files(name)
        if version:
            build = "py311h06a4308_0"
            depends = ["python >=3.11,<3.12.0a0"] + (["setuptools", "wheel"] if name == "pip" else [])
            records.append((name, version, build, 0, depends, files, "MIT", "linux-64"))
    out = {}
    for name, version, build, build_number, depends, files, license_, subdir in records:
        fn = f"{name}-{version}-{build}.conda"
        digest = hashlib.sha256(fn.encode()).hexdigest()
        record = {
            "build": build,
            "build_number": build_number,
            "channel": f"{channel}/{subdir}",
            "constrains": [],
            "depends": depends,
            "extracted_package_dir": f"/opt/miniconda/pkgs/{fn[:-6]}",
            "features": "",
            "files": files,
            "fn": fn,
            "license": license_,
            "link": {"source": f"/opt/miniconda/pkgs/{fn[:-6]}", "type": 1},
            "md5": digest[:32],
            "name": name,
            "package_tarball_full_path": f"/opt/miniconda/pkgs/{fn}",
            "paths_data": {
                "paths": [
                    {"_path": f, "path_type": "hardlink", "sha256": hashlib.sha256(f.encode()).hexdigest(), "size_in_bytes": 1024}
                    for f in files
                ],
                "paths_version": 1,
            },
            "requested_spec": f"{name}={version}" if name in ("python", "pip") else "",
            "sha256": digest,
            "size": 1_000_000,
            "subdir": subdir,
            "timestamp": 1_700_000_000_000,
            "track_features": "",
            "url": f"{channel}/{subdir}/{fn}",
            "version": version,
        }
        out[f"{fn[:-6]}.json"] = json.dumps(record, indent=2, sort_keys=True).encode() + b"\n"
    history = ["==> 2024-03-01 10:00:00 <==", "# cmd: /opt/miniconda/bin/conda create -p /" + ENV_PREFIX + " -y python=3.11.7 pip=23.2.1", "+defaults/linux-64::" + "\n+defaults/linux-64::".join(f"{r[0]}-{r[1]}-{r[2]}" for r in records), "# update specs: ['python=3.11.7', 'pip=23.2.1']", ""]
    out["history"] = "\n".join(history).encode()
    return out


def layer_top(path, venv, removed):
    """Layer 4: `pip uninstall REMOVED` (whiteouts) and the environment's conda-meta."""
    sp = site_packages(venv)
    rel_sp = sp.relative_to(venv).as_posix()
    layer = Layer(path)
    for name in removed:
        layer.add_bytes(f"{ENV_PREFIX}/{rel_sp}/.wh.{name}", b"")
    for fname, data in conda_records(venv).items():
        layer.add_bytes(f"{ENV_PREFIX}/conda-meta/{fname}", data)
    layer.close()


def layer_extra(path, venv, extra_target):
    """Layer 5 (second image only): a `pip install` of a few more packages."""
    sp = site_packages(venv)
    rel_sp = sp.relative_to(venv).as_posix()
    layer = Layer(path)
    for e in sorted(os.listdir(extra_target)):
        if e == "bin":
            continue
        layer.add_tree(Path(extra_target) / e, f"{ENV_PREFIX}/{rel_sp}/{e}")
    layer.close()


# --- compression and layouts --------------------------------------------------------------


def compress(tar_path, fmt):
    out = Path(f"{tar_path}.{'gz' if fmt == 'gzip' else 'zst'}")
    if not out.exists():
        tmp = out.with_suffix(out.suffix + ".tmp")
        # Defaults of the tools people build images with: gzip level 6, zstd level 3.
        cmd = ["gzip", "-6", "-n", "-c", str(tar_path)] if fmt == "gzip" else ["zstd", "-3", "-q", "-c", str(tar_path)]
        with open(tmp, "wb") as f:
            subprocess.run(cmd, stdout=f, check=True)
        tmp.rename(out)
    return out


def put_blob(layout, data_or_path):
    blobs = Path(layout, "blobs", "sha256")
    blobs.mkdir(parents=True, exist_ok=True)
    if isinstance(data_or_path, (bytes, bytearray)):
        digest = hashlib.sha256(data_or_path).hexdigest()
        target = blobs / digest
        if not target.exists():
            target.write_bytes(data_or_path)
        return digest, len(data_or_path)
    digest = sha256_file(data_or_path)
    target = blobs / digest
    if not target.exists():
        try:
            os.link(data_or_path, target)
        except OSError:
            shutil.copyfile(data_or_path, target)
    return digest, os.path.getsize(target)


def write_layout(layout, layers, fmt, created_by):
    """layers: [{"diff_id", "size", "gzip", "zstd"}] bottom first."""
    layout = Path(layout)
    if layout.exists():
        shutil.rmtree(layout)
    layout.mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    media = MEDIA_GZIP if fmt == "gzip" else MEDIA_ZSTD
    descs, diff_ids = [], []
    for layer in layers:
        digest, size = put_blob(layout, layer[fmt])
        descs.append({"mediaType": media, "digest": f"sha256:{digest}", "size": size})
        diff_ids.append(f"sha256:{layer['diff_id']}")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-03-01T10:00:00Z",
        "config": {
            "Env": [
                f"PATH=/{ENV_PREFIX}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                f"AZUREML_CONDA_ENVIRONMENT_PATH=/{ENV_PREFIX}",
            ],
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-03-01T10:00:00Z", "created_by": c} for c in created_by],
    }
    cdata = json.dumps(config, separators=(",", ":")).encode()
    cdigest, csize = put_blob(layout, cdata)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": f"sha256:{cdigest}", "size": csize},
        "layers": descs,
    }
    mdata = json.dumps(manifest, separators=(",", ":")).encode()
    mdigest, msize = put_blob(layout, mdata)
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": f"sha256:{mdigest}",
                "size": msize,
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index, indent=2))
    return {
        "layers": [str(layout / "blobs" / "sha256" / d["digest"][7:]) for d in descs],
        "compressed": sum(d["size"] for d in descs),
        "uncompressed": sum(layer["size"] for layer in layers),
    }


def build(work, venv, extra_target, removed, log):
    """Build (or reuse) the layer tars and the four layouts under `work`. Returns
    {fmt: {"base": info, "next": info}} where info has the layout path and its blobs."""
    work = Path(work)
    done = work / "complete.json"
    if done.exists():
        return json.loads(done.read_text())
    if work.exists():
        shutil.rmtree(work)
    tars = work / "tars"
    tars.mkdir(parents=True)
    first, second = split_site_packages(venv)
    steps = [
        ("1-debian.tar", lambda p: layer_debian(p)),
        ("2-env-a.tar", lambda p: layer_venv(p, venv, first, True)),
        ("3-env-b.tar", lambda p: layer_venv(p, venv, second, False)),
        ("4-top.tar", lambda p: layer_top(p, venv, removed)),
        ("5-extra.tar", lambda p: layer_extra(p, venv, extra_target)),
    ]
    layers = []
    for name, fn in steps:
        path = tars / name
        log(f"writing layer {name}, then compressing it (gzip -6, zstd -3)")
        fn(path)
        layer = {"diff_id": sha256_file(path), "size": os.path.getsize(path)}
        with ThreadPoolExecutor(max_workers=2) as pool:
            blobs = list(pool.map(lambda fmt: compress(path, fmt), ("gzip", "zstd")))
        layer["gzip"], layer["zstd"] = (str(b) for b in blobs)
        # Only the compressed copies are kept (the layouts hold hardlinks to them).
        path.unlink()
        layers.append(layer)
    history = [
        "ADD debian rootfs (dpkg database)",
        f"RUN pip install -r requirements.txt  # /{ENV_PREFIX}, first half",
        f"RUN pip install -r requirements.txt  # /{ENV_PREFIX}, second half",
        "RUN pip uninstall -y (whiteouts: " + ", ".join(removed) + ") && conda-meta records",
        "RUN pip install (three more packages)",
    ]
    result = {}
    for fmt in ("gzip", "zstd"):
        base = write_layout(work / fmt / "base", layers[:4], fmt, history[:4])
        nxt = write_layout(work / fmt / "next", layers, fmt, history)
        base["layout"] = str(work / fmt / "base")
        nxt["layout"] = str(work / fmt / "next")
        result[fmt] = {"base": base, "next": nxt}
    done.write_text(json.dumps(result, indent=2))
    return result
