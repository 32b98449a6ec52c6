"""Plots (PNG) from the benchmarks' JSON results; each file is plotted by its ``benchmark`` key.

    python -m benchmarks.plots                   # the results docs/benchmarks.md shows
    python -m benchmarks.plots results.json ... --out somewhere/

Each JSON file gives ``<its folder>_<its stem>.png`` in ``--out`` (default ``docs/img``).

``rate_accuracy``: bytes per image (log) vs top-1 per evaluator and protocol;
``rate_quality``: bpp vs PSNR, SSIM and MS-SSIM, whole image and salient region;
``speed``: time per stage at 1 MP and the ratio to Pillow's save across sizes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from jpegsal.bench.plots import rate_accuracy, style
from jpegsal.bench.plots import save as _save

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PUBLISHED = [
    RESULTS / "imagenet-val-1300" / "rate_accuracy_all_500.json",
    RESULTS / "imagenet-val-1300" / "rate_accuracy_all.json",
    RESULTS / "imagenet-sample" / "rate_accuracy_all.json",
    RESULTS / "kodak" / "rate_quality.json",
    RESULTS / "kodak" / "rate_quality_msroi_nice.json",
    RESULTS / "kodim23" / "speed.json",
    RESULTS / "kodim23" / "speed_cuda_h100.json",
]


def rate_quality(result: dict[str, Any], out: Path) -> Path:
    metrics = [("psnr", "PSNR dB"), ("ssim", "SSIM"), ("ms_ssim", "MS-SSIM")]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    for row, region in enumerate(("whole", "salient")):
        for col, (m, label) in enumerate(metrics):
            ax = axes[row][col]
            for c, points in result["curves"].items():
                ax.plot(
                    [p["bpp"] for p in points],
                    [p[f"{m}_{region}"] for p in points],
                    label=c,
                    **style(c),
                )
            ax.set(xlabel="bits per pixel", ylabel=label, title=f"{label}, {region}")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, ncol=2, loc="lower right")
    fig.suptitle(f"{result['dataset']}: {result['images']} images, bytes vs image quality (luma)")
    return _save(fig, out)


def speed(result: dict[str, Any], out: Path) -> Path:
    rows = [r for r in result["rows"] if not r["memory_only"]]
    sizes = sorted({r["megapixels"] for r in rows})
    at = min(sizes, key=lambda mp: abs(mp - 1))
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6))
    one = [r for r in rows if r["megapixels"] == at]
    names = [r["contender"] for r in one]
    start = [0.0] * len(one)
    for stage, colour in zip(
        ("load", "saliency", "method", "encode"),
        ("tab:gray", "tab:orange", "tab:blue", "tab:green"),
        strict=True,
    ):
        ms = [r[f"{stage}_ms"] or 0.0 for r in one]
        left.barh(names, ms, left=start, color=colour, label=stage)
        start = [a + b for a, b in zip(start, ms, strict=True)]
    left.invert_yaxis()
    left.set(xlabel="ms (median)", title=f"time per stage at {at:g} MP ({one[0]['size']})")
    left.legend()
    for c in dict.fromkeys(r["contender"] for r in rows):
        pts = [(r["megapixels"], r["x_pillow_save"]) for r in rows if r["contender"] == c]
        right.plot(*zip(*pts, strict=True), marker="o", label=c, **style(c))
    right.set(
        xscale="log",
        yscale="log",
        xlabel="megapixels",
        ylabel="time / Pillow's save (load excluded)",
        title="time relative to Pillow's save, same run",
    )
    right.grid(alpha=0.3, which="both")
    right.legend(fontsize=7, ncol=2)
    gpu = f" ({result['gpu']})" if "gpu" in result else ""
    fig.suptitle(f"{result['cores']} cores, {result['device']}{gpu}, {result['machine']}")
    return _save(fig, out)


# Each draws one result into the PNG path it is given.
PLOTTERS = {"rate_accuracy": rate_accuracy, "rate_quality": rate_quality, "speed": speed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="*", type=Path, help="JSON files (default: the published)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    files = args.results or [p for p in PUBLISHED if p.is_file()]
    if not files:
        parser.error("no result files given and none of the published ones exists")
    for path in files:
        result = json.loads(path.read_text())
        kind = result.get("benchmark")
        if kind not in PLOTTERS:
            parser.error(f"{path}: benchmark {kind!r} has no plot (known: {', '.join(PLOTTERS)})")
        # One name per result file: <dataset folder>_<file stem>.png
        png = args.out / f"{path.resolve().parent.name}_{path.stem}.png"
        print(f"{path} -> {PLOTTERS[kind](result, png)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
