"""Generation loss of re-encoding JPEG files: the DCT path against decode -> encode.

    python -m benchmarks.generation_loss    # 6 Kodak 12 MP JPEGs, 100 4:2:0 and 100 4:4:4 photos

Each input JPEG is re-encoded at qualities 20-90 six ways: Pillow (decode, then
``Image.save`` at that quality: what a user does today), the preset's pixel path
(``jpegsal.encode(..., preset="machine", coefficients=False)``), ``jpegsal.reencode``
(the same tables applied to the stored DCT levels), baseline and progressive, and
``jpegsal.reencode(tables="standard")`` (Pillow's tables applied to the stored levels),
with optimised and with standard Huffman tables: generation loss apart from table design. PSNR is
against the input's own decoded pixels. Reported per set: each way's mean bytes and PSNR
per quality, and the Bjontegaard comparison with Pillow and with the pixel path: the
bytes ratio at equal PSNR and the PSNR difference (dB) at equal bytes, over the range the
two curves share, with every quality and with those up to 60 (above it many inputs come
back unchanged or nearly so, and their PSNR is capped).
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, JpegImagePlugin

import jpegsal
from jpegsal.bench.bd import bd_ratio, monotone_curve

from .common import machine, write_json
from .reencode import SAMPLE, _kodak_12mp, _psnr

QUALITIES = (20, 30, 40, 50, 60, 75, 90)
PSNR_CAP = 60.0  # an input returned unchanged (not smaller) has no error: counted as 60 dB


def _ways() -> dict[str, Callable[[bytes, int], bytes]]:
    def pillow(data: bytes, q: int) -> bytes:
        buf = io.BytesIO()
        with Image.open(io.BytesIO(data)) as im:
            im.convert("RGB").save(buf, "JPEG", quality=q)
        return buf.getvalue()

    return {
        "pillow (decode, save)": pillow,
        "pixel path": lambda d, q: jpegsal.encode(
            d, preset="machine", quality=q, coefficients=False
        ),
        # Markers (EXIF, ICC, ...) dropped as the two decode paths drop them: bytes of pixels.
        "reencode": lambda d, q: jpegsal.reencode(d, quality=q, keep_metadata=False),
        "reencode progressive": lambda d, q: jpegsal.reencode(
            d, quality=q, progressive=True, keep_metadata=False
        ),
        # Pillow's own tables in the DCT domain: generation loss apart from table design.
        # optimize=False codes with the standard Huffman tables, as Pillow's save does.
        "reencode standard tables": lambda d, q: jpegsal.reencode(
            d, quality=q, tables="standard", keep_metadata=False
        ),
        "reencode standard tables optimize=False": lambda d, q: jpegsal.reencode(
            d, quality=q, tables="standard", optimize=False, keep_metadata=False
        ),
    }


def _subsampled_photos(limit: int, sampling: int = 2) -> list[bytes]:
    """The first ``limit`` files of imagenet-sample with Pillow's ``sampling`` (2: 4:2:0;
    0: 4:4:4, whose chroma the DCT path resamples to 4:2:0)."""
    out = []
    for path in sorted(SAMPLE.glob("*.JPEG")):
        with Image.open(path) as im:
            if JpegImagePlugin.get_sampling(im) == sampling:
                out.append(path.read_bytes())
        if len(out) == limit:
            break
    return out


def bd_psnr(base: list[tuple[float, float]], test: list[tuple[float, float]]) -> float | None:
    """Mean PSNR difference test - base (dB) at equal bytes, over the shared log-bytes range."""
    b, t = (np.array(sorted(c)) for c in (base, test))
    lo, hi = max(np.log(b[0, 0]), np.log(t[0, 0])), min(np.log(b[-1, 0]), np.log(t[-1, 0]))
    if hi <= lo:
        return None
    grid = np.linspace(lo, hi, 200)
    diff = np.interp(grid, np.log(t[:, 0]), t[:, 1]) - np.interp(grid, np.log(b[:, 0]), b[:, 1])
    return round(float(diff.mean()), 3)


def run_set(files: list[bytes], qualities: tuple[int, ...]) -> dict[str, Any]:
    ways = _ways()
    # (way, quality) -> (bytes, PSNR) of every file; each input is decoded once.
    rows: dict[tuple[str, int], list[tuple[int, float]]] = {}
    for data in files:
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float64)
        for name, way in ways.items():
            for q in qualities:
                out = way(data, q)
                rows.setdefault((name, q), []).append(
                    (len(out), min(_psnr(out, decoded), PSNR_CAP))
                )
    curves: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for name in ways:
        for q in qualities:
            size, psnr = np.mean(rows[name, q], axis=0)
            curves[name].append((float(size), float(psnr)))
    return {
        "files": len(files),
        "curves": {
            n: [
                {"quality": q, "bytes": round(b), "psnr": round(p, 3)}
                for q, (b, p) in zip(qualities, c, strict=True)
            ]
            for n, c in curves.items()
        },
        # Up to q60 as well: above it many inputs come back (nearly) unchanged, capped.
        "bd": _compare(curves, [True] * len(qualities)),
        "bd_up_to_q60": _compare(curves, [q <= 60 for q in qualities]),
    }


def _compare(curves: dict[str, list[tuple[float, float]]], keep: list[bool]) -> dict[str, Any]:
    """Each way against the first two (Pillow, the pixel path) on the kept qualities."""
    kept = {n: [p for p, k in zip(c, keep, strict=True) if k] for n, c in curves.items()}
    names, out = list(kept), {}
    for base in names[:2]:
        for name in names:
            if name != base and len(kept[name]) > 1:
                monotone_curve(kept[name])  # refuses a curve that cannot be compared
                ratio = bd_ratio(kept[base], kept[name])
                out[f"{name} vs {base}"] = {
                    "bytes_at_equal_psnr": None if ratio is None else round(ratio, 4),
                    "psnr_db_at_equal_bytes": bd_psnr(kept[base], kept[name]),
                }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kodak", type=int, default=6, help="12 MP Kodak JPEGs (default 6)")
    parser.add_argument(
        "--photos", type=int, default=100, help="4:2:0 photos, and as many 4:4:4 (default 100)"
    )
    parser.add_argument("--qualities", type=int, nargs="+", default=QUALITIES)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.kodak < 0 or args.photos < 0 or not all(1 <= q <= 100 for q in args.qualities):
        parser.error("--kodak and --photos count files (0 or more); --qualities are 1..100")
    qualities = tuple(sorted(set(args.qualities)))
    result: dict[str, Any] = {"benchmark": "generation_loss", "psnr_cap_db": PSNR_CAP}
    for name, files in (
        ("kodak_12mp", _kodak_12mp(args.kodak) if args.kodak else []),
        ("imagenet_sample_420", _subsampled_photos(args.photos) if args.photos else []),
        ("imagenet_sample_444", _subsampled_photos(args.photos, 0) if args.photos else []),
    ):
        if files:
            result[name] = run_set(files, qualities)
            for pair, row in result[name]["bd"].items():
                print(name, pair, row, "up to q60:", result[name]["bd_up_to_q60"].get(pair))
    result["machine"] = machine()
    out = args.out or Path(__file__).parent / "results" / "kodak" / "generation_loss.json"
    write_json(out, result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
