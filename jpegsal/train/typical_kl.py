"""The tables of the preset's per-image quality (jpegsal.rateslope), from tuning runs.

Each run is a ``benchmarks.rate_accuracy`` result (``.json`` with its per-image ``.npz``)
of ``preset=machine:fixed`` on a *tuning* split, scored by the tuning classifiers:

    python -m benchmarks.rate_accuracy ../shared/data/imagenet-sample --split tune \\
        --methods --evaluators lite0 lite1 --crop-evaluators --codecs preset=machine:fixed \\
        --qualities 10 15 20 30 40 50 60 70 80 90 --out typical_kl_tune.json
    ... --qualities 5 25 35 45 55 65 75 85 95 100 --out typical_kl_tune_more.json

(the same for imagenet-val-1300; the stored runs, in ``benchmarks/results/*/``, were
remade when the preset's chroma became fitted to the decoder's upsampler, ``sharp_chroma``:
the curve is the preset's own output's).
The typical KL at each quality is the mean over images of Lite0's and Lite1's KL,
averaged over the two datasets; the bytes per pixel are imagenet-val-1300's (about the
classifiers' input size). The judges never enter.

    python -m jpegsal.train.typical_kl benchmarks/results
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from ..bench.data import read_labels, split_of

DATASETS = ("imagenet-sample", "imagenet-val-1300")
RUNS = ("typical_kl_tune", "typical_kl_tune_more")
CLASSIFIERS = ("lite0", "lite1")


def _codec(npz: np.lib.npyio.NpzFile) -> str:
    """The one contender of a tuning run other than Pillow."""
    (name,) = [
        k[len("bytes|") :] for k in npz.files if k.startswith("bytes|") and k != "bytes|pillow"
    ]
    return name


def tuning_means(results: Path, dataset: str, column: int) -> dict[int, float]:
    """quality -> the mean over images and over Lite0 and Lite1 of one score column
    (:data:`jpegsal.bench.stats.SCORE_INDEX`; 3 is KL) in one dataset's tuning runs."""
    out: dict[int, float] = {}
    for run in RUNS:
        meta = json.loads((results / dataset / f"{run}.json").read_text())
        with np.load(results / dataset / f"{run}.npz") as npz:
            codec = _codec(npz)
            mean = np.mean(
                [npz[f"scores|{c}|whole|{codec}"][:, :, column].mean(0) for c in CLASSIFIERS], 0
            )
        out |= {int(q): float(m) for q, m in zip(meta["qualities"], mean, strict=True)}
    return out


def dataset_curves(results: Path, dataset: str, data: Path) -> dict[int, tuple[float, float]]:
    """quality -> (mean KL of the tuning classifiers, mean bytes per pixel) on one dataset."""
    pixels = np.array(
        [float(np.prod(Image.open(p).size)) for p, _ in split_of(read_labels(data), "tune")]
    )
    bpp: dict[int, float] = {}
    for run in RUNS:
        meta = json.loads((results / dataset / f"{run}.json").read_text())
        # Before the division by each image's pixels, which a mismatch would break first.
        if len(pixels) != meta["images"]:
            raise SystemExit(f"{run}: {meta['images']} images, the tuning split has {len(pixels)}")
        with np.load(results / dataset / f"{run}.npz") as npz:
            mean = (npz[f"bytes|{_codec(npz)}"] / pixels[:, None]).mean(0)
        bpp |= {int(q): float(b) for q, b in zip(meta["qualities"], mean, strict=True)}
    kl = tuning_means(results, dataset, 3)
    return {q: (kl[q], bpp[q]) for q in bpp}


def tables(results: Path, data_root: Path) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(qualities, typical KL, bytes per pixel) as :mod:`jpegsal.rateslope` ships them."""
    curves = {d: dataset_curves(results, d, data_root / d) for d in DATASETS}
    qualities = sorted(set.intersection(*(set(c) for c in curves.values())))
    kl = np.array([np.mean([curves[d][q][0] for d in DATASETS]) for q in qualities])
    bpp = np.array([curves["imagenet-val-1300"][q][1] for q in qualities])
    return qualities, kl, bpp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="benchmarks/results")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args(argv)
    qualities, kl, bpp = tables(args.results, args.data)
    print("qualities", qualities)
    print("_KL", np.round(kl, 5).tolist())
    print("_BPP", np.round(bpp, 4).tolist())
    if np.any(np.diff(kl) > 0):
        print("warning: the typical KL rises somewhere; make it non-increasing before shipping")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
