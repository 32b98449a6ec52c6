"""Two ways to implement ``blocks``: pixel-domain pre-quantisation (shipped) vs jpeglib.

A (shipped): zero small DCT coefficients in pixel space on the encoder's grid
(``jpegsal.methods.blocks``), then encode with Pillow.
B: encode with Pillow, read the quantised coefficients with ``jpeglib``, zero
those below the same threshold (exactly, in the integer domain), and write them
back with ``jpeglib``. Both give standard baseline JPEGs; this compares size and time.

    python -m benchmarks.blocks_paths                 # Kodak, quality 75, strengths 0.5 and 1
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import jpegsal
from jpegsal.methods._grid import block_means
from jpegsal.methods.blocks import Blocks

from .common import load_rgb, machine, write_json

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "kodak"


def coefficient_path(
    image: Image.Image, sal: np.ndarray, strength: float, quality: int, tmp: Path
) -> tuple[int, float]:
    import jpeglib

    t0 = time.perf_counter()
    src, dst = tmp / "a.jpg", tmp / "b.jpg"
    image.save(src, "JPEG", quality=quality, subsampling=0)  # 4:4:4: one grid for all planes
    jpeg = jpeglib.read_dct(str(src))
    tau = strength * Blocks().max_threshold
    weight = block_means(1.0 - sal, 8, 8)
    for plane in (jpeg.Y, jpeg.Cb, jpeg.Cr):
        gh, gw = plane.shape[:2]
        limit = (0.5 + tau * weight[:gh, :gw])[:, :, None, None]
        keep = np.abs(plane) >= limit
        keep[:, :, 0, 0] = True
        plane *= keep
    jpeg.write_dct(str(dst))
    return dst.stat().st_size, time.perf_counter() - t0


def run(folder: Path, quality: int, strengths: list[float], limit: int) -> dict[str, Any]:
    paths = sorted(folder.glob("*.png"))[:limit]
    rows = []
    saliencies: dict[Path, jpegsal.Saliency] = {}  # one network run per image
    with tempfile.TemporaryDirectory() as tmp:
        for s in strengths:
            a_bytes = b_bytes = plain = 0
            a_time = b_time = 0.0
            for p in paths:
                image = load_rgb(p)
                if p not in saliencies:
                    saliencies[p] = jpegsal.Encoder("cam", device="cpu").saliency(image)
                sal = saliencies[p]

                buf = io.BytesIO()
                image.save(buf, "JPEG", quality=quality, subsampling=0)
                plain += len(buf.getvalue())
                t0 = time.perf_counter()
                a = jpegsal.Encoder("cam", Blocks(strength=s), device="cpu").encode(
                    image, saliency=sal, quality=quality, subsampling=0
                )
                a_time += time.perf_counter() - t0
                a_bytes += len(a)
                size, seconds = coefficient_path(image, sal.map, s, quality, Path(tmp))
                b_bytes += size
                b_time += seconds
            n = len(paths)
            rows.append(
                {
                    "strength": s,
                    "plain_bytes": plain // n,
                    "pixel_domain_bytes": a_bytes // n,
                    "jpeglib_bytes": b_bytes // n,
                    "pixel_domain_ms": round(1000 * a_time / n, 1),
                    "jpeglib_ms": round(1000 * b_time / n, 1),
                }
            )
    return {
        "benchmark": "blocks_paths",
        "images": len(paths),
        "quality": quality,
        "subsampling": "4:4:4",
        "machine": machine(),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--quality", type=int, default=75)
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument("--limit", type=int, default=24)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = run(args.folder, args.quality, args.strengths, args.limit)
    print(f"{result['images']} images, quality {args.quality}, 4:4:4 (mean per image)")
    print(
        "| strength | plain JPEG | pixel domain (shipped) | jpeglib coefficients | "
        "pixel-domain ms | jpeglib ms |"
    )
    print("|---|---|---|---|---|---|")
    for r in result["rows"]:
        print(
            f"| {r['strength']} | {r['plain_bytes']} | {r['pixel_domain_bytes']} | "
            f"{r['jpeglib_bytes']} | {r['pixel_domain_ms']} | {r['jpeglib_ms']} |"
        )
    if args.out:
        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
