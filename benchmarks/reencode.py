"""JPEG in, JPEG out: the DCT-domain path (:func:`jpegsal.reencode`) against decode -> encode.

    python -m benchmarks.reencode            # 12 MP JPEGs made from Kodak, and imagenet-sample
    python -m benchmarks.reencode --quick

Both produce ``preset="machine"`` tables at the same quality. The pixel path decodes the
JPEG (Pillow) and encodes the pixels (``jpegsal.encode(..., preset="machine",
allocate=False, coefficients=False)``: baseline, optimised Huffman tables, the asked
quality; before 2026-12-04 this read ``allocate`` from the default, which since the
per-image quality (docs/experiments.md section 29) put a lower quality against
reencode's). ``jpegsal.reencode``
requantises the stored levels (baseline with optimised Huffman tables through libjpeg, or
with TurboJPEG's standard ones when ``optimize=False``, or progressive) where it can and
falls back to the pixel path otherwise; the paths taken are counted. Progressive output
is timed against the pixel path's progressive output (``against``). Two more rows time
``reencode(tables="standard")`` (libjpeg's tables, any chroma layout kept) against
Pillow's decode -> save at the same quality keeping the layout (``against``). Reported per set:
median ms per file, bytes against the pixel path's, PSNR against the decoded input (what
the pixel path starts from), the same for the files that took the DCT path alone, and the
peak resident memory growth of one 12 MP re-encode in a child process (``tracemalloc``
does not see C buffers), as a multiple of the decoded RGB size.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import jpegsal

from .common import machine, write_json
from .rate_accuracy import ROOT

KODAK = ROOT.parent / "shared" / "data" / "kodak"
SAMPLE = ROOT.parent / "shared" / "data" / "imagenet-sample"
QUALITY = 50
_PIXELS = {"preset": "machine", "quality": QUALITY, "allocate": False}  # the pixel path


def _kodak_12mp(n: int, subsampling: int = 2) -> list[bytes]:
    out = []
    for path in sorted(KODAK.glob("*.png"))[:n]:
        with Image.open(path) as im:
            big = im.convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        big.save(buf, "JPEG", quality=92, subsampling=subsampling)  # a camera-like 12 MP JPEG
        out.append(buf.getvalue())
    return out


def _psnr(data: bytes, reference: np.ndarray) -> float:
    x = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float64)
    return float(10 * np.log10(255**2 / max(((x - reference) ** 2).mean(), 1e-12)))


def _paths() -> dict[str, Callable[[bytes], tuple[bytes, str]]]:
    """name -> fn(data) -> (output, path taken)."""
    from jpegsal.reencode import reencode_with_info

    def dct(
        progressive: bool, optimize: bool = True, tables: str = "machine"
    ) -> Callable[[bytes], tuple[bytes, str]]:
        def fn(d: bytes) -> tuple[bytes, str]:
            # Markers dropped, as the pixel path drops them: the bytes compare pixels only.
            r = reencode_with_info(
                d, quality=QUALITY, progressive=progressive, keep_metadata=False,
                optimize=optimize, tables=tables,
            )  # fmt: skip
            return r.data, r.path

        return fn

    box = jpegsal.Encoder(sharp_chroma=False, **_PIXELS)
    return {
        # coefficients=False: encode would take the DCT path itself; allocate=False: the
        # asked quality, as reencode keeps it (the per-image choice would compare others).
        "pixels": lambda d: (
            jpegsal.encode(d, coefficients=False, **_PIXELS),
            "pixels",
        ),
        "reencode": dct(False),
        # The DCT route with libjpeg's box mean for 4:4:4 / 4:2:2 / 4:4:0 chroma instead of
        # the upsampler fit (the route before docs/experiments.md section 37).
        "reencode box chroma": lambda d: _route_info(box.encode_with_info(d)),
        "reencode optimize=False": dct(False, optimize=False),
        # Progressive against the pixel path's progressive output (its own base, _BASE).
        "pixels progressive": lambda d: (
            jpegsal.encode(d, progressive=True, coefficients=False, **_PIXELS),
            "pixels",
        ),
        "reencode progressive": dct(True),
        # Pillow's tables, any chroma layout kept, against Pillow's decode -> save of the
        # same layout (_BASE): the route apart from the preset's tables and 4:2:0.
        "pillow keep layout": _pillow_keep,
        "reencode tables=standard": dct(False, tables="standard"),
    }


def _route_info(result: jpegsal.EncodeResult) -> tuple[bytes, str]:
    return result.data, result.path


_BASE = {  # else against "pixels"
    "reencode progressive": "pixels progressive",
    "reencode tables=standard": "pillow keep layout",
}
BASES = {"pixels", *_BASE.values()}  # rows that are only bases


def _pillow_keep(data: bytes) -> tuple[bytes, str]:
    buf = io.BytesIO()
    with Image.open(io.BytesIO(data)) as im:
        im.save(buf, "JPEG", quality=QUALITY, subsampling="keep", optimize=True)
    return buf.getvalue(), "pixels"


def run_set(files: list[bytes], repeat: int) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, list[Any]]] = {}
    layouts = [_layout(data) for data in files]
    for data in files:
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float64)
        for name, fn in _paths().items():
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                out, path = fn(data)
                times.append(time.perf_counter() - t)
            row = rows.setdefault(name, {"ms": [], "bytes": [], "psnr": [], "paths": []})
            row["paths"].append(path)
            row["ms"].append(1000 * min(times))
            row["bytes"].append(len(out))
            row["psnr"].append(_psnr(out, decoded))
    out = {}
    for name, r in rows.items():
        base = _BASE.get(name, "pixels")  # bytes and speed are against this row
        out[name] = {
            "median_ms": round(float(np.median(r["ms"])), 1),
            f"bytes_vs_{'pixels' if base == 'pixels' else 'base'}": round(
                float(np.sum(r["bytes"]) / np.sum(rows[base]["bytes"])), 4
            ),
            "psnr_db": round(float(np.mean(r["psnr"])), 2),
            "paths": {p: r["paths"].count(p) for p in sorted(set(r["paths"]))},
            **({} if base == "pixels" else {"against": base}),
            **({} if name in BASES else {"dct_files": _dct_files(r, rows[base], base, layouts)}),
        }
    return out


def _layout(data: bytes) -> str:
    """The file's chroma layout: "4:2:0", "4:4:4", "4:2:2", "grey", ..."""
    from jpegsal.codec.requantise import jpeg_frame

    sampling = jpeg_frame(data)[3]
    names = {(2, 2): "4:2:0", (1, 1): "4:4:4", (2, 1): "4:2:2", (1, 2): "4:4:0"}
    return "grey" if len(sampling) == 1 else names.get(sampling[0], str(sampling))


def _dct_files(
    row: dict[str, list[Any]], base: dict[str, list[Any]], name: str, layouts: list[str]
) -> dict[str, Any]:
    """The files that took the DCT path alone: the base row's time (``name``: the pixel
    path, or the row's ``against``) over this one's, per file (median), and their bytes
    against the base's; the speed per input chroma layout as well."""
    took = [i for i, p in enumerate(row["paths"]) if p == "dct"]
    if not took:
        return {"files": 0}
    label = "pixels" if name == "pixels" else "base"
    speed = [base["ms"][i] / row["ms"][i] for i in took]
    return {
        "files": len(took),
        "median_ms": round(float(np.median([row["ms"][i] for i in took])), 2),
        f"{label}_median_ms": round(float(np.median([base["ms"][i] for i in took])), 2),
        "speedup_median": round(float(np.median(speed)), 2),
        "speedup_median_by_layout": {
            kind: {
                "files": sum(layouts[i] == kind for i in took),
                "speedup": round(
                    float(
                        np.median(
                            [s for s, i in zip(speed, took, strict=True) if layouts[i] == kind]
                        )
                    ),
                    2,
                ),
            }
            for kind in sorted({layouts[i] for i in took})
        },
        f"bytes_vs_{label}": round(
            sum(row["bytes"][i] for i in took) / sum(base["bytes"][i] for i in took), 4
        ),
    }


# VmHWM, not ru_maxrss: the latter keeps the parent's high-water mark across fork + exec.
_CHILD = """
import sys, jpegsal
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
data = open(sys.argv[1], "rb").read()
before = hwm()
if sys.argv[2] == "pixels":
    jpegsal.encode(data, preset="machine", quality=50, coefficients=False)
else:
    jpegsal.reencode(data, quality=50)  # the DCT path (4:4:4 input: chroma resampled)
print(hwm() - before)
"""


def peak_memory(data: bytes) -> dict[str, float]:
    """Peak RSS growth of one 12 MP re-encode, as a multiple of the decoded RGB size."""
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="jpegsal-bench-"))
    path = tmp / "in.jpg"
    path.write_bytes(data)
    with Image.open(io.BytesIO(data)) as im:
        raw = im.width * im.height * 3
    out = {}
    for name in ("pixels", "dct"):
        cmd = [sys.executable, "-c", _CHILD, str(path), name]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[name] = round(int(done.stdout.strip()) / raw, 3)
    path.unlink()
    tmp.rmdir()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 Kodak images, 20 photos")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    n_kodak, n_sample = (2, 20) if args.quick else (6, 200)
    kodak = _kodak_12mp(n_kodak)
    other = _kodak_12mp(min(n_kodak, 2), 1) + _kodak_12mp(min(n_kodak, 2), 0)
    sample = [p.read_bytes() for p in sorted(SAMPLE.glob("*.JPEG"))[:n_sample]]
    out = args.out or Path(__file__).parent / "results" / "kodak" / "reencode.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "reencode",
        "quality": QUALITY,
        "kodak_12mp": {"files": len(kodak), **run_set(kodak, 3)},
        "imagenet_sample": {"files": len(sample), **run_set(sample, 3)},
        # Cameras also write 4:2:2, and high-quality saves 4:4:4: chroma resampled to 4:2:0.
        "kodak_12mp_422_444": {"files": len(other), **run_set(other, 3)},
        "peak_rss_vs_raw_12mp": peak_memory(kodak[0]),
        # 4:4:4 in: the DCT path holds three full-size input planes and the 4:2:0 output's.
        **({"peak_rss_vs_raw_12mp_444": peak_memory(other[-1])} if other else {}),
        "machine": machine(),
    }
    print(json.dumps(result, indent=2))
    write_json(out, result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
