"""Bytes against image quality on Kodak: PSNR, SSIM and MS-SSIM, whole image and salient region.

Every contender (``benchmarks/contenders.py``) encodes each image at each quality.
The decoded image is scored against the original on luma (``benchmarks/metrics.py``,
the pinned implementation) over the whole image and inside the salient region:
the pixels where the ``cam`` map is at or above its 70th percentile. The region is
the same for every contender, so the scores compare.
Summary: the bytes ratio at equal score against Pillow (``benchmarks/bd.py``), over
the shared range and over the range Pillow spans between quality 20 and 90.

    python -m benchmarks.rate_quality                     # ../shared/data/kodak, 24 images
    python -m benchmarks.rate_quality --codecs pillow jpegli cam+guided@0.3
    python -m benchmarks.rate_quality --quick             # 3 images, 3 qualities
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import jpegsal

from .bd import versus_base
from .common import load_rgb, machine, write_json
from .contenders import parse_codec
from .metrics import ms_ssim, psnr, ssim

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "kodak"
QUALITIES = [20, 30, 40, 50, 60, 70, 80, 90]
CODECS = [
    "pillow",
    "jpegli",
    "mozjpeg",
    "cam+guided",
    "cam+downsample",
    "cam+mix",
    "cam+blocks",
    "nice+downsample",
]
METRICS = {"psnr": psnr, "ssim": ssim, "ms_ssim": ms_ssim}
PERCENTILE = 70


def run(folder: Path, codecs: list[str], qualities: list[int], limit: int | None) -> dict[str, Any]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".jpg", ".ppm"})
    files = files[:limit]
    if not files:
        raise SystemExit(f"{folder}: no images")
    contenders = {c: parse_codec(c) for c in codecs}
    keys = [f"{m}_{r}" for m in METRICS for r in ("whole", "salient")]
    sums = {
        c: {q: dict.fromkeys(["bytes", "pixels", *keys], 0.0) for q in qualities} for c in codecs
    }
    t0 = time.perf_counter()
    for path in tqdm(files, desc="rate/quality", unit="img"):
        image = load_rgb(path)
        original = np.asarray(image)
        # One network run per model and image: the region's cam map, and each codec's.
        shared: dict[str, Any] = {"cam": jpegsal.Encoder("cam", device="cpu").saliency(image)}
        region = shared["cam"].map >= np.percentile(shared["cam"].map, PERCENTILE)
        for name, codec in contenders.items():
            key = codec.share_key
            if key is not None and key not in shared:
                shared[key] = codec.prepare(image)
            for q in qualities:
                r = codec.run(image, q, shared.get(key) if key is not None else None)
                acc = sums[name][q]
                acc["bytes"] += r["bytes"]
                acc["pixels"] += image.width * image.height
                for metric, fn in METRICS.items():
                    acc[f"{metric}_whole"] += fn(original, r["decoded"])
                    acc[f"{metric}_salient"] += fn(original, r["decoded"], region)
    n = len(files)
    curves = {
        c: [
            {
                "quality": q,
                "bpp": round(8 * s["bytes"] / s["pixels"], 4),
                "bytes": round(s["bytes"] / n, 1),
                **{k: round(s[k] / n, 5) for k in keys},
            }
            for q, s in per_q.items()
        ]
        for c, per_q in sums.items()
    }
    summary: dict[str, Any] = {}
    if "pillow" in curves:
        for c in [c for c in codecs if c != "pillow"]:
            summary[c] = {
                k: versus_base(curves["pillow"], [(p["bytes"], p[k]) for p in curves[c]], k)
                for k in keys
            }
    return {
        "benchmark": "rate_quality",
        "dataset": folder.name,
        "images": n,
        "qualities": qualities,
        "metrics": "luma (BT.601); PSNR; SSIM (Gaussian sigma 1.5); MS-SSIM (5 scales); "
        "benchmarks/metrics.py",
        "salient_region": f"cam >= its {PERCENTILE}th percentile (same region for every codec)",
        "seconds": round(time.perf_counter() - t0, 1),
        "machine": machine(),
        "curves": curves,
        "summary": summary,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument(
        "--codecs",
        nargs="+",
        default=CODECS,
        help="pillow, jpegli, mozjpeg, or MODEL+METHOD[@STRENGTH]",
    )
    parser.add_argument("--qualities", type=int, nargs="+", default=QUALITIES)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--quick", action="store_true", help="3 images, qualities 30 60 90")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.limit, args.qualities = args.limit or 3, [30, 60, 90]
    for spec in args.codecs:
        parse_codec(spec)  # fail before the run on a bad name
    result = run(args.dataset, args.codecs, args.qualities, args.limit)
    out = args.out or ROOT / "benchmarks" / "results" / args.dataset.name / (
        f"rate_quality{'_quick' if args.quick else ''}.json"
    )
    write_json(out, result)
    print("bytes ratio vs Pillow at equal score (lower is better), overlap / Pillow q20-q90:")
    header = list(METRICS)
    print("| contender | " + " | ".join(f"{m} whole | {m} salient" for m in header) + " |")
    print("|---" * (1 + 2 * len(header)) + "|")
    for c, rows in result["summary"].items():
        cells = [
            f"{rows[f'{m}_{r}']['ratio_overlap']} / {rows[f'{m}_{r}']['ratio_pillow_q20_q90']}"
            for m in header
            for r in ("whole", "salient")
        ]
        print(f"| {c} | " + " | ".join(cells) + " |")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
