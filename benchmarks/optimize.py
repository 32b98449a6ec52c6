"""``jpegsal.optimize`` on real JPEG photos: how many get smaller, by how much, same pixels?

    python -m benchmarks.optimize                      # ../shared/data/imagenet-sample
    python -m benchmarks.optimize DIR --limit 50

Every file is re-coded both ways (baseline with optimised Huffman tables; progressive),
decoded before and after (Pillow), and compared pixel for pixel. Reports, per way, the
share of files that got smaller, the median and mean saving, the total, and the median
time per file.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
from PIL import Image

from jpegsal.codec.lossless import optimize_with_info

from .common import machine, write_json
from .rate_accuracy import ROOT

DEFAULT = ROOT.parent / "shared" / "data" / "imagenet-sample"


def run(dataset: Path, limit: int | None) -> dict[str, object]:
    files = sorted(p for p in dataset.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    files = files[:limit] if limit else files
    ways = {way: _one_way(files, way == "progressive") for way in ("baseline", "progressive")}
    return {
        "benchmark": "optimize",
        "dataset": dataset.name,
        "files": len(files),
        **ways,
        "machine": machine(),
    }


def _one_way(files: list[Path], progressive: bool) -> dict[str, object]:
    savings, seconds, identical, sizes_in, sizes_out = [], [], 0, 0, 0
    for path in files:
        data = path.read_bytes()
        t = time.perf_counter()
        result = optimize_with_info(data, progressive=progressive)
        seconds.append(time.perf_counter() - t)
        before = np.asarray(Image.open(io.BytesIO(data)))
        after = np.asarray(Image.open(io.BytesIO(result.data)))
        identical += int(np.array_equal(before, after))
        savings.append(1 - len(result.data) / len(data))
        sizes_in, sizes_out = sizes_in + len(data), sizes_out + len(result.data)
    s = np.array(savings)
    return {
        "smaller": int((s > 0).sum()),
        "share_smaller": round(float((s > 0).mean()), 4),
        "pixels_identical": identical,
        "median_saving": round(float(np.median(s)), 4),
        "mean_saving": round(float(s.mean()), 4),
        "total_ratio": round(sizes_out / sizes_in, 4),
        "median_ms": round(1000 * float(np.median(seconds)), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = run(args.dataset, args.limit)
    for key, value in result.items():
        print(f"{key}: {value}")
    out = args.out or Path(__file__).parent / "results" / args.dataset.name / "optimize.json"
    write_json(out, result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
