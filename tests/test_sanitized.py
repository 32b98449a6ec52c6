"""The compiled parts built with AddressSanitizer and run on every layout they take.

An out-of-bounds read or write in C need not change a single output byte, so the other
tests cannot see one: K.2's table builder once read below its own stack array for
greyscale's unused second table, and every test passed. Here the sources are compiled
again with ``-fsanitize=address`` and driven in a child process (the sanitizer's runtime
must be loaded first), which aborts on the first bad access.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

CODEC = Path(__file__).resolve().parents[1] / "jpegsal" / "codec"
TRANSCODE = ["_transcode.c", "_huffman.c", "_blocks.c", "_resample.c", "_fit.c"]


def _runtime(name: str) -> str | None:
    """The sanitizer's (or libstdc++'s) shared library as gcc finds it, or None."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    out = subprocess.run([gcc, f"-print-file-name={name}"], capture_output=True, text=True)
    path = out.stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


def _headers() -> bool:
    return any((Path(p) / "jpeglib.h").exists() for p in ("/usr/include", "/usr/local/include"))


pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or _runtime("libasan.so") is None or not _headers(),
    reason="needs Linux, gcc with AddressSanitizer and libjpeg's headers",
)

CHILD = r"""
import importlib.util, io, sys
import numpy as np
from PIL import Image

def load(name):
    spec = importlib.util.spec_from_file_location(name, f"{sys.argv[1]}/{name}{sys.argv[2]}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

tc, chroma = load("_transcode"), load("_chroma")
rng = np.random.default_rng(0)
for size in [(1, 1), (17, 9), (64, 48), (203, 141)]:
    rgb = Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype("uint8"))
    for mode, extra in [("L", {}), ("RGB", {}), ("RGB", {"subsampling": 0}),
                        ("RGB", {"subsampling": 1}), ("RGB", {"restart_marker_blocks": 3})]:
        buf = io.BytesIO()
        rgb.convert(mode).save(buf, "JPEG", quality=90, **extra)
        data = buf.getvalue()
        comps = 1 if mode == "L" else 3
        half = np.full((comps, 64), 0.5, np.float32).tobytes()
        for huffman in (0, 1, 2, 3):
            for threads in (1, 2):
                tc.transcode(data, half, False, True, True, huffman, threads)
        tc.transcode(data, half, True, True, True, 1)
        tc.symbol_counts(data, half, False, True, True, 2)
        if mode == "RGB" and extra.get("subsampling") in (0, 1):
            for resample in (1, 2):
                for huffman in (2, 3):
                    tc.transcode(data, half, False, True, True, huffman, 2, resample)
    pixels = np.ascontiguousarray(np.asarray(rgb))
    matrix = np.array([[-0.17, -0.33, 0.5, 128], [0.5, -0.42, -0.08, 128]], np.float32)
    weights = np.array([2 / 3 * (-1 / 3) ** k for k in range(8)], np.float32)
    for fv, fh in [(2, 2), (1, 2), (1, 1)]:
        for threads in (1, 2):
            out = np.empty_like(pixels)
            chroma.fit(pixels, out, size[0], size[1], fv, fh, matrix, weights, threads)
print("clean")
"""


def _build(tmp: Path, name: str, sources: list[str], libs: list[str]) -> None:
    include = sysconfig.get_paths()["include"]
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    cmd = [
        "gcc",
        "-O1",
        "-g",
        "-fsanitize=address",
        "-fno-omit-frame-pointer",
        "-ffp-contract=off",
        "-shared",
        "-fPIC",
        "-pthread",
        f"-I{include}",
    ]
    cmd += [str(CODEC / s) for s in sources] + libs + ["-o", str(tmp / f"{name}{suffix}")]
    subprocess.run(cmd, check=True, capture_output=True)


def test_no_bad_memory_access_on_any_layout(tmp_path: Path) -> None:
    _build(tmp_path, "_transcode", TRANSCODE, ["-ljpeg", "-lm"])
    _build(tmp_path, "_chroma", ["_chroma.c"], ["-lm"])
    preload = [_runtime("libasan.so"), _runtime("libstdc++.so.6")]  # libstdc++: see below
    env = dict(os.environ)
    # libstdc++ loaded with the sanitizer, or its exception interceptor finds no
    # __cxa_throw when a C++ library (onnxruntime, OpenCV) is imported later.
    env["LD_PRELOAD"] = " ".join(p for p in preload if p)
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), suffix],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    summary = [line for line in child.stderr.splitlines() if "Sanitizer" in line]
    assert child.returncode == 0, summary or child.stderr[-3000:]
    assert child.stdout.strip() == "clean"
