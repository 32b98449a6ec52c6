"""Machine tables at equal slope, measured with the tuning classifiers themselves.

The machine tables come from a second-order model (steps ~ Fisher^-1/2, blended with
libjpeg's shape; :mod:`jpegsal.codec.machine`). Measured with the classifiers, that
allocation is not at equal slope: making the luma DC step coarser saves few bytes and
costs the classifiers 3-5 times the KL per byte that a lower quality costs, while the
highest luma frequencies cost almost nothing (docs/experiments.md, section 12). This
recipe moves each group of steps (radial frequency bands of luma and chroma) until no
move lowers ``log(bytes) + lambda * KL`` on the tuning images, at a grid of qualities and
image sizes; ``lambda`` is the trade a change of quality makes there, so a move is kept
only where it buys more than a lower quality would.

The tuning classifiers are EfficientNet-Lite0 and -Lite1, each fed the image resized with
and without a low-pass (KL between their outputs on the original and on the decoded JPEG,
averaged over the four). The shipped file is tuned on imagenet-sample's tuning split
(``index % 5 == 0``) at its own size (a median of 1.9 times a 224-pixel input), with zero
moves at ratio 1. ``--into`` fills a file's ratio-1 cells from another set of images
about the classifier's size; tried with imagenet-val-1300's 227x227 files, it helped
those and cost small photos of imagenet-sample as much, so it is not shipped
(docs/experiments.md, section 12). The judges of docs/experiments.md never enter.

    python -m jpegsal.train.tables ../shared/data/imagenet-sample \
        --out jpegsal/codec/machine_steps.json                          # 45 min, 2 cores
    python -m jpegsal.train.tables ../shared/data/imagenet-val-1300 --into steps.json

``--start FILE`` continues a search from a steps file's moves (interpolated at each
cell's quality and size) and writes a full file: the start's cells at the qualities not
tuned stay as they were; ``--bound`` widens the limit on each move; ``--coarse`` moves
four sets of groups together (:data:`COARSE`) instead of eleven groups alone.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..bench.classifiers import Classifier, OnnxClassifier, load_classifier
from ..bench.sweep import load_rgb
from ..codec.machine import (
    CLASSIFIER_SIDE,
    GROUPS,
    MachineTables,
    _adjustments,
    _steps,
    adjust,
    machine_tables,
)
from ..maps.contract import kl_divergence
from .evaluators import evaluator_path
from .sensitivity import tune_split
from .steps_file import ANCHOR_RATIO, continued, merge

QUALITIES = (25, 50, 80)
STEPS = (0.3, 0.15)  # log step sizes, coarse to fine (finer ones chase the images' noise)
BOUND = 1.2  # |log adjustment| at most (x3.3)
MIN_GAIN = 0.002  # a move must lower the objective by this much (0.2 % of bytes)
# --coarse: four sets of groups that move together (luma low / mid / high, chroma), fewer
# parameters for cells whose eleven free groups overfit their images (section 12).
COARSE = (("Y0", "Y1"), ("Y2", "Y3-4"), ("Y5-6", "Y7-9", "Y10-14"), ("C0", "C1-2", "C3-5", "C6-14"))


def tuners() -> dict[str, Classifier]:
    """Lite0 (the shipped graph's logits) and Lite1 (exported on first use), each fed the
    whole image resized two ways: low-passed first (area) and not (bilinear, as TensorFlow
    and many deployed pipelines resize, which lets the finest frequencies alias in). A
    downstream pipeline may do either; the tables must serve both."""
    path, size = evaluator_path("lite1")
    out: dict[str, Classifier] = {}
    for resize in ("area", "linear"):
        lite0 = load_classifier("cam")
        lite1 = OnnxClassifier(path, mean=[127.0], std=[128.0], input_size=size, output="logits")
        for name, net in (("lite0", lite0), ("lite1", lite1)):
            net.resize = resize
            out[f"{name}/{resize}"] = net
    return out


@dataclass
class Cell:
    """One (size, quality) point of the grid: its images and the tuners' outputs on them."""

    images: list[Image.Image]
    probs: dict[str, list[np.ndarray]]
    quality: int
    nets: dict[str, Classifier]

    @property
    def side(self) -> float:
        """The images' median side (square root of their pixel count)."""
        return float(np.median([math.sqrt(im.width * im.height) for im in self.images]))

    def measure(self, delta: np.ndarray) -> tuple[float, float]:
        """(log of the mean bytes, mean KL over images and tuners) with ``delta``."""
        nbytes, kl = 0, 0.0
        for i, im in enumerate(self.images):
            tables = adjust(
                machine_tables(self.quality, *im.size, MachineTables(adjust=False)), delta
            )
            buf = io.BytesIO()
            im.save(
                buf, "JPEG", qtables=[t.astype(int).ravel().tolist() for t in tables], optimize=True
            )
            nbytes += buf.tell()
            with Image.open(buf) as out:
                decoded = np.asarray(out.convert("RGB"))
            for name, net in self.nets.items():
                kl += kl_divergence(self.probs[name][i], net.probs([decoded])[0])
        return math.log(nbytes / len(self.images)), kl / len(self.images) / len(self.nets)


def tune_cell(
    cell: Cell,
    log: Callable[[str], None] = print,
    start: np.ndarray | None = None,
    bound: float = BOUND,
    sets: tuple[tuple[str, ...], ...] | None = None,
) -> dict[str, object]:
    """Coordinate descent of the group adjustments of one cell (see the module), from
    ``start`` (zero moves by default), each move within ``bound``. ``sets`` ties groups
    (by name) that move together; by default each group moves alone."""
    names = [name for name, _, _ in GROUPS]
    tied = [[names.index(n) for n in group] for group in sets or [(n,) for n in names]]
    zero = np.zeros(len(GROUPS))
    b0, k0 = cell.measure(zero)
    b1, k1 = cell.measure(zero + STEPS[1])  # every step coarser: what a quality change trades
    lam = (b0 - b1) / max(k1 - k0, 1e-9)
    delta = zero if start is None else np.asarray(start, np.float64)
    bs, ks = (b0, k0) if start is None else cell.measure(delta)
    best = bs + lam * ks
    for step in STEPS:
        improved = True
        while improved:
            improved = False
            for g in tied:
                for sign in (1.0, -1.0):
                    trial = delta.copy()
                    trial[g] = np.clip(trial[g] + sign * step, -bound, bound)
                    if np.array_equal(trial, delta):
                        continue
                    b, k = cell.measure(trial)
                    if b + lam * k < best - MIN_GAIN:
                        delta, best, improved = trial, b + lam * k, True
                        name = "+".join(names[i] for i in g)
                        log(f"  {name} {sign * step:+.3f}: objective {best:.4f}")
                        break
    b, k = cell.measure(delta)
    return {
        "quality": cell.quality,
        "ratio": round(cell.side / CLASSIFIER_SIDE, 3),
        "lambda": lam,
        "delta": [round(float(d), 4) for d in delta],
        "base": {"log_bytes": b0, "kl": k0},
        **({} if start is None else {"start": {"log_bytes": bs, "kl": ks}}),
        "tuned": {"log_bytes": b, "kl": k},
    }


def _shrink(im: Image.Image, side: int | None) -> Image.Image:
    if side is None or im.width * im.height <= side * side:
        return im
    s = side / math.sqrt(im.width * im.height)
    size = (round(im.width * s), round(im.height * s))
    return im.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Wrong options end before the classifiers load (minutes on a cold machine)."""
    if not (math.isfinite(args.bound) and args.bound > 0):
        parser.error(f"--bound must be a positive log move (1.2 is 3.3x), got {args.bound}")
    if bad := [q for q in args.qualities if not 1 <= q <= 100]:
        parser.error(f"--qualities must lie in 1..100, got {bad}")
    if args.start is not None:
        if not args.start.is_file():
            parser.error(f"--start {args.start} is not a file; give a steps JSON file")
        try:  # the reader the tables use (cached), so its checks run now, not after loading
            _steps(str(args.start))
        except ValueError as e:
            parser.error(f"--start: {e}")
    if not args.dataset.is_dir():
        parser.error(f"dataset {args.dataset} is not a folder of images")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--limit", type=int, help="first N tuning images")
    parser.add_argument("--qualities", type=int, nargs="+", default=list(QUALITIES))
    parser.add_argument("--side", type=int, help="tune on copies downsized to about SIDE^2")
    parser.add_argument(
        "--start", type=Path, help="start each cell from this steps file's moves there"
    )
    parser.add_argument("--bound", type=float, default=BOUND, help="largest |log move|")
    parser.add_argument(
        "--coarse", action="store_true", help="move four sets of groups together (COARSE)"
    )
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", type=Path, help="a new steps file (zero cells at ratio 1)")
    out.add_argument("--into", type=Path, help="fill this steps file's ratio-1 cells")
    args = parser.parse_args(argv)
    _check(parser, args)
    nets = tuners()
    originals = [load_rgb(p) for p in tune_split(args.dataset)[: args.limit]]
    zero = [0.0] * len(GROUPS)
    cells: list[dict[str, object]] = []
    if args.side is None and args.into is None:
        cells = [
            {"quality": q, "ratio": ANCHOR_RATIO, "delta": zero, "anchor": True}
            for q in args.qualities
        ]
    images = [_shrink(im, args.side) for im in originals]
    probs = {n: [net.probs([np.asarray(im)])[0] for im in images] for n, net in nets.items()}
    for q in args.qualities:
        t0 = time.perf_counter()
        print(f"cell: side {args.side or 'native'}, quality {q}", flush=True)
        cell = Cell(images, probs, q, nets)
        start = None
        if args.start is not None:  # the moves the file gives at this quality and size
            side = round(cell.side)
            start = np.round(_adjustments(side, side, str(args.start))[q - 1], 4)
        sets = COARSE if args.coarse else None
        cells.append(tune_cell(cell, lambda s: print(s, flush=True), start, args.bound, sets))
        print(f"  {cells[-1]} ({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.into is not None:
        merge(args.into, args.dataset.name, len(originals), cells)
        print(f"wrote {args.into}")
        return 0
    if args.start is not None:  # a full file: the start's cells at the other qualities stay
        cells = continued(json.loads(args.start.read_text())["cells"], cells)
    result = {
        "dataset": args.dataset.name,
        "split": "index % 5 == 0",
        "images": len(originals),
        "tuners": sorted(nets),
        "groups": [name for name, _, _ in GROUPS],
        "cells": cells,
        "anchor": (
            "Cells at ratio 1 (images about the classifier's input size) are zero until "
            "python -m jpegsal.train.tables DATASET --into FILE tunes them on files of that "
            "size (docs/experiments.md, section 12). Between the cells the moves are "
            "interpolated in log ratio and quality."
        ),
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
