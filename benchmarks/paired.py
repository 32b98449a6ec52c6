"""Is contender A better than contender B, or is the difference the choice of images?

Reads a rate/accuracy result (``RESULT.json`` and the per-image ``RESULT.npz`` that
``benchmarks.rate_accuracy`` and ``benchmarks.machine_preset`` write beside it) and prints,
per judge and score, each contender's bytes ratio against Pillow with its 95 % interval
over resampled images, and the *paired* interval of A's ratio over B's: one resample
serves both, so an interval below 1 says A needs fewer bytes at equal accuracy on images
of this kind, and one that holds 1 says the images cannot tell.

    python -m benchmarks.paired benchmarks/results/imagenet-val-1300/machine_preset.json \\
        preset=machine mozjpeg
    python -m benchmarks.paired ON.json cam+none+preserve cam+none+preserve --b-from OFF.json

``--b-from`` takes B from another run on the same images (its Pillow rows must be equal:
the same images, qualities and Pillow), for a change that is not a contender of its own.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from jpegsal.bench.stats import SCORE_INDEX, interval, load_images, paired, resampled_ratios
from jpegsal.bench.sweep import TAIL, Sweep


def _rows(result: Path) -> Sweep:
    npz = result.with_suffix(".npz")
    if not npz.is_file():
        raise SystemExit(f"{npz} is missing: re-run the benchmark (it writes each image's rows)")
    return load_images(npz)


def _merge(sweep: Sweep, other: Sweep, name: str, as_name: str) -> None:
    """``other``'s rows of contender ``name`` into ``sweep`` as ``as_name``."""
    same = sweep.n == other.n and all(
        np.array_equal(x, y)
        for x, y in zip(sweep.bytes_each["pillow"], other.bytes_each["pillow"], strict=True)
    )
    if not same:
        raise SystemExit("--b-from: the two runs' Pillow rows differ (not the same images)")
    sweep.bytes_each[as_name] = other.bytes_each[name]
    sweep.points[as_name] = other.points[name]
    for key in sweep.scores_each:
        sweep.scores_each[key][as_name] = other.scores_each[key][name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", type=Path, help="a result .json with its .npz beside it")
    parser.add_argument("a", help="contender A")
    parser.add_argument("b", help="contender B (pillow: A's own ratio)")
    parser.add_argument(
        "--scores",
        nargs="+",
        default=["top1", "agree1"],
        choices=sorted(SCORE_INDEX),
        help="scores to compare; each judge's crop protocol, where run, comes with them",
    )
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--b-from", type=Path, help="B from this result (the same images)")
    args = parser.parse_args(argv)
    result = json.loads(args.result.read_text())
    sweep = _rows(args.result)
    if args.b_from is not None:
        _merge(sweep, _rows(args.b_from), args.b, f"{args.b} ({args.b_from.stem})")
        args.b = f"{args.b} ({args.b_from.stem})"
    qualities = result["qualities"]
    print(f"{args.a} against {args.b}, {sweep.n} images: ratio vs Pillow [95 %], paired A/B [95 %]")
    for judge, protocol in sweep.scores_each:
        for key in args.scores:
            names = [c for c in (args.a, args.b) if c != "pillow"]
            draws = resampled_ratios(
                sweep, judge, protocol, key, names, qualities, samples=args.samples
            )
            cells = [f"{c} {interval(draws[c])}" for c in names]
            pair = paired(draws, args.a, args.b) if len(names) == 2 else None
            print(f"{judge} {key}{TAIL[protocol]}: " + ", ".join(cells) + f"; A/B {pair}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
