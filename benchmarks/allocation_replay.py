"""Replay the preset's per-image quality choice on stored rows, with another rule.

``jpegsal.rateslope`` gives each image the rung that minimises ``curve(q) + lam *
bytes(q)``, ``curve`` being the typical KL. Whether another rule would do better can be
asked of rows already measured, without a new encode: a ``benchmarks.rate_accuracy`` run
of ``preset=machine:fixed`` (one quality for every image) holds each image's bytes and
scores at every swept quality, and the choice is made among those qualities. The asked
qualities are the curve's points, so the ratios against Pillow are comparable with the
run's own (docs/experiments.md, sections 29 and 36). Only the tuning classifiers' rows
should be replayed to choose anything.

    python -m benchmarks.allocation_replay ../shared/data/imagenet-val-1300 \\
        benchmarks/results/imagenet-val-1300/allocate_tuning_kl.json --split report \\
        --stride 2 --beta 0 0.5 1 --curve kl agree

Rules: ``--beta B`` scales each image's ``lam`` by ``(its bytes per pixel at the asked
quality / the typical image's) ** B`` (B > 0 sends images that are busier than typical
lower); ``--curve agree`` puts the tuning classifiers' typical disagreement (1 - top-1
agreement with the original, from the tuning runs of ``jpegsal.train.typical_kl``) in
place of the typical KL, and ``lam`` on its own hull.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from jpegsal import rateslope
from jpegsal.bench.bd import bd_ratio
from jpegsal.bench.data import list_items, split_of
from jpegsal.bench.stats import SCORE_INDEX
from jpegsal.train.typical_kl import DATASETS, tuning_means

CODEC = "preset=machine:fixed"


def choose(
    sizes: np.ndarray,
    qualities: list[int],
    curve: np.ndarray,
    pixels: np.ndarray,
    *,
    beta: float = 0.0,
    side: int = 224,
    floor: int = rateslope.FLOOR,
) -> np.ndarray:
    """Index of the chosen quality, per image (rows of ``sizes``) and asked quality.

    ``curve`` is the typical loss on ``rateslope.LADDER``; ``lam`` is its hull slope at the
    asked quality, as the preset takes it (``rateslope.slope`` for the shipped curve).

    A typical image of the classifier's size keeps each asked quality:

    >>> sizes = np.array([[3101.0, 6523.0, 19288.0]])  # the typical bytes at 20, 50, 90
    >>> choose(sizes, [20, 50, 90], rateslope._KL, np.array([224.0 * 224.0])).tolist()
    [[0, 1, 2]]
    """
    log_slopes = np.log(rateslope._hull_slopes(curve))
    at = np.interp(qualities, rateslope.LADDER, curve)
    typical = np.interp(qualities, rateslope.LADDER, rateslope._BPP)
    chosen = np.zeros(sizes.shape, dtype=int)
    for a, asked in enumerate(qualities):
        lam = float(np.exp(np.interp(asked, rateslope.LADDER, log_slopes))) / side**2
        lam_each = lam * (sizes[:, a] / pixels / typical[a]) ** beta
        allowed = np.array([j for j, q in enumerate(qualities) if q >= min(floor, asked)])
        cost = at[allowed][None, :] + lam_each[:, None] * sizes[:, allowed]
        chosen[:, a] = allowed[cost.argmin(1)]
    return chosen


def agree_curve(results: Path) -> np.ndarray:
    """1 - the tuning classifiers' mean top-1 agreement on ``rateslope.LADDER`` (both sets)."""
    per_set = []
    for dataset in DATASETS:
        agree = tuning_means(results, dataset, SCORE_INDEX["agree1"])
        per_set.append([1.0 - agree[q] / 100.0 for q in rateslope.LADDER])
    return np.mean(per_set, 0)


def ratios(npz: Path, qualities: list[int], chosen: np.ndarray, score: str) -> dict[str, float]:
    """Bytes at equal ``score`` against Pillow (its q20-q90 range), per classifier."""
    out: dict[str, float] = {}
    rows = np.arange(chosen.shape[0])[:, None]
    sign = -1.0 if score == "kl" else 1.0
    with np.load(npz) as data:
        size = data[f"bytes|{CODEC}"][rows, chosen].mean(0)
        base_size = data["bytes|pillow"].mean(0)
        for key in data.files:
            if key.startswith("scores|") and key.endswith(f"|whole|{CODEC}"):
                judge = key.split("|")[1]
                s = sign * data[key][rows, chosen, SCORE_INDEX[score]].mean(0)
                b = sign * data[f"scores|{judge}|whole|pillow"][:, :, SCORE_INDEX[score]].mean(0)
                span = [v for v, q in zip(b, qualities, strict=True) if 20 <= q <= 90]
                r = bd_ratio(
                    list(zip(base_size, b, strict=True)),
                    list(zip(size, s, strict=True)),
                    min(span),
                    max(span),
                )
                out[judge] = float("nan") if r is None else r
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the run's dataset folder")
    parser.add_argument("result", type=Path, help="a rate_accuracy RESULT.json with .npz")
    parser.add_argument("--split", default="all", choices=("all", "tune", "report"))
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--beta", type=float, nargs="+", default=[0.0])
    parser.add_argument("--curve", nargs="+", default=["kl"], choices=("kl", "agree"))
    parser.add_argument("--scores", nargs="+", default=["kl", "agree1", "top1"])
    args = parser.parse_args(argv)
    meta = json.loads(args.result.read_text())
    items = split_of(list_items(args.data), args.split)[:: args.stride]
    if len(items) != meta["images"]:
        raise SystemExit(
            f"{args.result}: {meta['images']} images; --split/--stride give {len(items)}"
        )
    pixels = np.array([float(np.prod(Image.open(it.path).size)) for it in items])
    with np.load(args.result.with_suffix(".npz")) as data:
        sizes = data[f"bytes|{CODEC}"]
    for name in args.curve:
        curve = rateslope._KL if name == "kl" else agree_curve(args.result.parents[1])
        for beta in args.beta:
            chosen = choose(sizes, meta["qualities"], curve, pixels, beta=beta)
            cells = []
            for score in args.scores:
                got = ratios(args.result.with_suffix(".npz"), meta["qualities"], chosen, score)
                cells += [f"{score} {j} {r:.3f}" for j, r in sorted(got.items())]
            print(f"curve {name}, beta {beta:g}: " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
