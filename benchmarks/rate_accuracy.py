"""Bytes against classifier accuracy: jpegsal's methods against Pillow's quality sweep.

Every image is encoded by each contender at each quality and decoded, and an
ImageNet classifier sees the **whole** decoded image, resized to its input
size with no crop. A method cannot win by degrading borders that a centre
crop would hide. Two evaluators:
- ``lite0``: EfficientNet-Lite0, the classifier the shipped maps explain;
- ``lite2``: EfficientNet-Lite2, an independent classifier.

The summary number is the bytes ratio at equal top-1 (Bjøntegaard-style): the
mean difference of log(bytes) between two accuracy-vs-log-bytes curves. It is
taken over the accuracy range both curves cover, and again over the range that
Pillow spans between quality 20 and 90.

    python benchmarks/rate_accuracy.py                       # imagenet-val-1300, all images
    python benchmarks/rate_accuracy.py --limit 200 --evaluators lite0
    python benchmarks/rate_accuracy.py ../shared/data/imagenet-sample --stride 10  # 100 classes
    python benchmarks/rate_accuracy.py --quick               # 30 images, 4 qualities
    python benchmarks/rate_accuracy.py --models cam nice --methods downsample
    python benchmarks/rate_accuracy.py --methods --peers jpegli mozjpeg   # the other encoders
    python benchmarks/rate_accuracy.py --methods --preserve 0.03 0.1 0.3 1 \\
        --preserve-with none guided@0.3              # per-image rate control only

``--preserve`` adds per-image rate control: for each KL budget ``t`` every image gets
the lowest quality at which Lite0 (the classifier inside ``cam``) keeps its
probabilities within ``t`` nats (``jpegsal.encode(..., preserve=t)``); the budgets
trace one curve per ``--preserve-with`` entry (a method, optionally ``@strength``).
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path
from typing import Any

import numpy as np
from bd import versus_base
from common import Evaluator, PrecomputedMap, load_rgb, machine, write_json
from contenders import parse_codec
from PIL import Image
from tqdm import tqdm

import jpegsal
from jpegsal.train.data import read_labels

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "imagenet-val-1300"
QUALITIES = [10, 15, 20, 30, 40, 50, 60, 70, 80, 90]
METHODS = ["guided", "downsample", "mix", "blocks"]


def run(
    dataset: Path,
    evaluators: list[str],
    limit: int | None,
    qualities: list[int],
    methods: list[str],
    strengths: list[float] | None = None,
    budgets: list[float] | None = None,
    preserve_with: list[str] | None = None,
    models: tuple[str, ...] = ("cam",),
    peers: tuple[str, ...] = (),
    crop_evaluators: tuple[str, ...] = (),
    stride: int = 1,
) -> dict[str, Any]:
    # Every stride-th image: folders sorted by synset would make a plain --limit all animals.
    pairs = read_labels(dataset)[::stride][:limit]
    if not pairs:
        raise SystemExit(f"{dataset}: no labelled images")
    evs = {name: Evaluator(name) for name in {*evaluators, *crop_evaluators}}
    # (evaluator, protocol): "whole" for every evaluator, "crop" for crop_evaluators.
    scored = [(e, "whole") for e in evaluators] + [(e, "crop") for e in crop_evaluators]
    tail = {"whole": "", "crop": "_crop"}  # protocol -> suffix of its score keys
    # Without strengths each method runs at its default strength.
    encoders = {p: parse_codec(p) for p in ("pillow", *peers)}  # the ones without a map
    contenders = ["pillow", *peers] + [
        f"{model}+{m}" + (f"@{s:g}" if s is not None else "")
        for model in models
        for m in methods
        for s in (strengths or [None])
    ]
    # Per-image rate control: one point per KL budget instead of one per quality.
    preserving = (
        [f"{model}+{p}+preserve" for model in models for p in (preserve_with or [])]
        if budgets
        else []
    )
    contenders += preserving
    points = {c: budgets if c in preserving else qualities for c in contenders}
    nbytes = {c: np.zeros(len(points[c])) for c in contenders}
    # hits[(evaluator, protocol)][contender][point] = (top-1 hits, top-5 hits)
    hits = {k: {c: np.zeros((len(points[c]), 2)) for c in contenders} for k in scored}
    unmet = {c: np.zeros(len(points[c]), int) for c in preserving}
    pixels = 0
    t0 = time.perf_counter()
    for path, label in tqdm(pairs, desc="rate/accuracy", unit="img"):
        image = load_rgb(path)  # upright: the evaluators see what a viewer shows
        pixels += image.width * image.height
        maps = {m: PrecomputedMap(jpegsal.saliency(image, m, device="cpu")) for m in models}
        for c in contenders:
            decoded = []
            # "pillow", "MODEL+METHOD[@STRENGTH]" or "MODEL+METHOD[@STRENGTH]+preserve"
            model = c.split("+")[0]
            name, _, strength = (c.split("+")[1] if "+" in c else c).partition("@")
            extra: dict[str, Any] = {"strength": float(strength)} if strength else {}
            for qi, q in enumerate(points[c]):
                if c in encoders:
                    data = encoders[c].encode(image, q)
                elif c in preserving:
                    # The real model: preserve needs its classifier, not only the map.
                    method = None if name == "none" else name
                    try:
                        data = jpegsal.encode(
                            image, model=model, method=method, preserve=q, device="cpu", **extra
                        )
                    except ValueError:  # budget below what quality 100 reaches: take q100
                        unmet[c][qi] += 1
                        data = jpegsal.encode(
                            image, model=maps[model], method=method, quality=100, **extra
                        )
                else:
                    data = jpegsal.encode(image, model=maps[model], method=name, quality=q, **extra)
                nbytes[c][qi] += len(data)
                decoded.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
            for e, protocol in scored:
                top5 = evs[e].topk(decoded, 5, crop=protocol == "crop")
                hits[e, protocol][c] += np.stack(
                    [top5[:, 0] == label, (top5 == label).any(1)], axis=1
                )
    n = len(pairs)
    curves: dict[str, Any] = {}
    for e in dict.fromkeys([*evaluators, *crop_evaluators]):
        curves[e] = {}
        for c in contenders:
            rows = []
            for i, q in enumerate(points[c]):
                row = {
                    ("kl_budget" if c in preserving else "quality"): q,
                    "bpp": round(8 * nbytes[c][i] / pixels, 4),
                    "bytes": round(nbytes[c][i] / n, 1),
                }
                for protocol, suffix in tail.items():
                    if (e, protocol) in hits:
                        top1, top5 = 100 * hits[e, protocol][c][i] / n
                        row |= {f"top1{suffix}": round(top1, 2), f"top5{suffix}": round(top5, 2)}
                rows.append(row)
            curves[e][c] = rows
    # summary[evaluator][score][contender]: score is top1/top5 (whole image) or *_crop.
    summary: dict[str, Any] = {}
    for e, protocol in scored:
        for key in ("top1" + tail[protocol], "top5" + tail[protocol]):
            summary.setdefault(e, {})[key] = table = _ratios(curves[e], contenders, key)
            for model, m in [(x, y) for x in models for y in methods] if strengths else []:
                # Pooled over strengths, bd_ratio's running maximum of accuracy over bytes
                # is the method's Pareto frontier: the best strength for each budget.
                pooled = [
                    (p["bytes"], p[key])
                    for c in contenders
                    if c.startswith(f"{model}+{m}@")
                    for p in curves[e][c]
                ]
                table[f"{model}+{m} (best strength)"] = versus_base(
                    curves[e]["pillow"], pooled, key
                )
    return {
        "benchmark": "rate_accuracy",
        "dataset": dataset.name,
        "images": n,
        "stride": stride,
        "qualities": qualities,
        "protocol": {
            "whole": "the whole decoded image resized to the evaluator's input (about "
            "224² / 260², aspect kept), no crop",
            "crop": "short side resized to size/0.875, central size² crop (the usual "
            "ImageNet protocol), for the evaluators in crop_evaluators",
        },
        "crop_evaluators": list(crop_evaluators),
        "seconds": round(time.perf_counter() - t0, 1),
        "machine": machine(),
        "curves": curves,
        "preserve_unmet": {
            c: dict(zip(map(str, budgets or []), v.tolist(), strict=True)) for c, v in unmet.items()
        },
        "summary": summary,
    }


def _ratios(curves: dict[str, Any], contenders: list[str], key: str) -> dict[str, Any]:
    """Each contender's bytes ratio vs Pillow at equal ``key`` (see :func:`bd.versus_base`)."""
    base = curves["pillow"]
    return {
        c: versus_base(base, [(p["bytes"], p[key]) for p in curves[c]], key) for c in contenders[1:]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument(
        "--evaluators", nargs="+", default=["lite0", "lite2"], choices=["lite0", "lite2"]
    )
    parser.add_argument("--limit", type=int)
    parser.add_argument(
        "--stride", type=int, default=1, help="every STRIDE-th image (a subset across classes)"
    )
    parser.add_argument("--methods", nargs="*", default=METHODS, choices=METHODS)
    parser.add_argument(
        "--strengths",
        type=float,
        nargs="+",
        help="sweep these strengths too (default: each method's own)",
    )
    parser.add_argument(
        "--preserve",
        type=float,
        nargs="+",
        metavar="KL",
        help="add per-image rate control (preserve=KL) at these budgets in nats",
    )
    parser.add_argument(
        "--preserve-with",
        nargs="+",
        default=["none"],
        metavar="METHOD[@S]",
        help="methods for --preserve: none, or a method name with an optional @strength",
    )
    parser.add_argument(
        "--models", nargs="+", default=["cam"], help="saliency models (default: cam)"
    )
    parser.add_argument(
        "--peers",
        nargs="*",
        default=[],
        choices=["jpegli", "mozjpeg"],
        help="other encoders to compare (extra 'bench'), each over the same qualities",
    )
    parser.add_argument(
        "--crop-evaluators",
        nargs="*",
        default=["lite0"],
        choices=["lite0", "lite2"],
        help="evaluators also scored with the resize + centre-crop protocol (default: lite0)",
    )
    parser.add_argument("--quick", action="store_true", help="30 images, 4 qualities, lite0")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.stride < 1:
        parser.error(f"--stride must be 1 or more, got {args.stride}")
    qualities = QUALITIES
    if args.quick:
        args.limit, qualities, args.evaluators = args.limit or 30, [20, 40, 60, 90], ["lite0"]
        args.crop_evaluators = [e for e in args.crop_evaluators if e == "lite0"]
    result = run(
        args.dataset,
        args.evaluators,
        args.limit,
        qualities,
        args.methods,
        args.strengths,
        args.preserve,
        args.preserve_with,
        tuple(args.models),
        tuple(args.peers),
        tuple(args.crop_evaluators),
        args.stride,
    )
    suffix = "_quick" if args.quick else ("_strengths" if args.strengths else "")
    suffix += "" if args.models == ["cam"] else "_" + "_".join(args.models)
    suffix += "_preserve" if args.preserve else ""
    suffix += "_peers" if args.peers else ""
    out = args.out or ROOT / "benchmarks" / "results" / args.dataset.name / (
        f"rate_accuracy{suffix}.json"
    )
    write_json(out, result)
    for e, tables in result["summary"].items():
        print(f"\nevaluator {e}: bytes ratio vs Pillow at equal accuracy (lower is better);")
        print("each cell: overlap range / Pillow q20-q90 range")
        print("| contender | " + " | ".join(tables) + " |")
        print("|---|" + "---|" * len(tables))
        for c in next(iter(tables.values())):
            cells = [
                f"{t[c]['ratio_overlap']} / {t[c]['ratio_pillow_q20_q90']}" for t in tables.values()
            ]
            print(f"| {c} | " + " | ".join(cells) + " |")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
