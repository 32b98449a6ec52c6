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

    python -m benchmarks.rate_accuracy                       # imagenet-val-1300, all images
    python -m benchmarks.rate_accuracy --limit 200 --evaluators lite0
    python -m benchmarks.rate_accuracy ../shared/data/imagenet-sample --stride 10  # 100 classes
    python -m benchmarks.rate_accuracy --quick               # 30 images, 4 qualities
    python -m benchmarks.rate_accuracy --models cam nice --methods downsample
    python -m benchmarks.rate_accuracy --methods --peers jpegli mozjpeg   # the other encoders
    python -m benchmarks.rate_accuracy --methods --preserve 0.03 0.1 0.3 1 \\
        --preserve-with none guided@0.3              # per-image rate control only

``--preserve`` adds per-image rate control: for each KL budget ``t`` every image gets
the lowest quality at which Lite0 (the classifier inside ``cam``) keeps its
probabilities within ``t`` nats (``jpegsal.encode(..., preserve=t)``); the budgets
trace one curve per ``--preserve-with`` entry (a method, optionally ``@strength``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from jpegsal.bench.bd import versus_base
from jpegsal.bench.data import read_labels, split_of
from jpegsal.bench.stats import interval, resampled_ratios, save_images
from jpegsal.bench.sweep import TAIL, Sweep, ratios, run_sweep
from jpegsal.bench.sweep import curves as sweep_curves

from .common import EVALUATORS, Evaluator, evaluator_name, machine, write_json
from .contenders import Codec, parse_codec

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "imagenet-val-1300"
QUALITIES = [10, 15, 20, 30, 40, 50, 60, 70, 80, 90]
METHODS = ["guided", "downsample", "mix", "blocks"]


@dataclass(frozen=True)
class RunSpec:
    """What one rate/accuracy run measures (the command line builds one)."""

    dataset: Path = DEFAULT
    evaluators: tuple[str, ...] = ("lite0", "lite2")
    qualities: tuple[int, ...] = tuple(QUALITIES)
    methods: tuple[str, ...] = tuple(METHODS)
    models: tuple[str, ...] = ("cam",)
    strengths: tuple[float, ...] = ()  # empty: each method's own strength
    budgets: tuple[float, ...] = ()  # preserve KL budgets; empty: no preserve contenders
    preserve_with: tuple[str, ...] = ("none",)
    peers: tuple[str, ...] = ()
    crop_evaluators: tuple[str, ...] = ()
    codecs: tuple[str, ...] = ()  # more quality-swept contenders, by parse_codec spec
    perimage: tuple[str, ...] = ()  # SPEC+perimage contenders, run at the KL ``budgets``
    limit: int | None = None
    stride: int = 1
    split: str = "all"  # "tune": index % 5 == 0 (jpegsal.train.sensitivity); "report": the rest
    side: int | None = None  # downsize each image to about side^2 pixels first
    bootstrap: int = 1000  # resampled image sets for the ratios' intervals (0: none)

    def contenders(self) -> dict[str, tuple[Codec, tuple[Any, ...]]]:
        """name -> (codec, the points it is run at: qualities, or KL budgets)."""
        out: dict[str, tuple[Codec, tuple[Any, ...]]] = {}
        for spec in ("pillow", *self.peers, *self.codecs):
            # SPEC@[a,b,...]: the contender's own points (budgets of a budgeted codec).
            name, _, points = spec.partition("@[")
            codec = parse_codec(name)
            default = self.budgets if codec.budgeted else self.qualities
            own = tuple(float(x) for x in points.rstrip("]").split(",")) if points else ()
            out[name] = (codec, own or default)
        for spec in self.perimage:
            out[spec] = (parse_codec(spec), self.budgets)
        for model in self.models:
            for m in self.methods:
                for st in self.strengths or (None,):
                    name = f"{model}+{m}" + (f"@{st:g}" if st is not None else "")
                    out[name] = (parse_codec(name), self.qualities)
        for model in self.models if self.budgets and self.preserve_with else ():
            for p in self.preserve_with:
                name = f"{model}+{p}+preserve"
                out[name] = (parse_codec(name), self.budgets)
        return out


def run(spec: RunSpec) -> dict[str, Any]:
    """The run's result (curves, ratios and their intervals): what ``finish`` writes."""
    return run_sweep_of(spec)[0]


def run_sweep_of(spec: RunSpec) -> tuple[dict[str, Any], Sweep]:
    """The result and the sweep it came from (each image's rows: ``save_images``)."""
    # Every stride-th image: folders sorted by synset would make a plain --limit all animals.
    pairs = split_of(read_labels(spec.dataset), spec.split)[:: spec.stride][: spec.limit]
    if not pairs:
        raise SystemExit(f"{spec.dataset}: no labelled images")
    evs = {name: Evaluator(name) for name in {*spec.evaluators, *spec.crop_evaluators}}
    # (evaluator, protocol): "whole" for every evaluator, "crop" for crop_evaluators.
    scored = [(e, "whole") for e in spec.evaluators] + [(e, "crop") for e in spec.crop_evaluators]
    contenders = spec.contenders()
    swept = run_sweep(
        pairs,
        evs,
        scored,
        contenders,
        side=spec.side,
        progress=lambda it: tqdm(it, desc="rate/accuracy", unit="img"),
    )
    if swept.unreadable:
        raise SystemExit("unreadable images:\n" + "\n".join(swept.unreadable))
    n = swept.n
    curves = sweep_curves(swept, contenders, [*spec.evaluators, *spec.crop_evaluators])
    result = {
        "benchmark": "rate_accuracy",
        "dataset": spec.dataset.name,
        "images": n,
        "stride": spec.stride,
        "qualities": list(spec.qualities),
        "protocol": {
            "whole": "the whole decoded image resized to the evaluator's input (about "
            "224² / 260², aspect kept), no crop",
            "crop": "short side resized to size/0.875, central size² crop (the usual "
            "ImageNet protocol), for the evaluators in crop_evaluators",
        },
        "crop_evaluators": list(spec.crop_evaluators),
        "seconds": round(swept.seconds, 1),
        "machine": machine(),
        "codecs": {c: codec.version for c, (codec, _) in contenders.items()},
        "curves": curves,
        "preserve_unmet": {
            c: {f"{b:g}": getattr(codec, "unmet", {}).get(b, 0) for b in spec.budgets}
            for c, (codec, _) in contenders.items()
            if codec.budgeted
        },
        "summary": _summary(spec, list(contenders), curves, scored, swept),
    }
    return result, swept


def _summary(
    spec: RunSpec,
    contenders: list[str],
    curves: dict[str, Any],
    scored: list[tuple[str, str]],
    swept: Sweep,
) -> dict[str, Any]:
    """summary[evaluator][score][contender]: score is top1/top5 (whole image) or *_crop;
    with ``spec.bootstrap`` draws, each ratio over Pillow's q20-q90 range and its worst
    point gain their 95 % intervals over resampled images (``ci95_pillow_q20_q90``,
    ``ci95_worst_pillow_q20_q90``; :mod:`jpegsal.bench.stats`)."""
    summary: dict[str, Any] = {}
    for e, protocol in scored:
        for k in ("top1", "top5", "agree1"):
            key = f"{k}{TAIL[protocol]}"
            summary.setdefault(e, {})[key] = table = ratios(curves[e], contenders, key)
            if spec.bootstrap and swept.n > 1:
                draws = resampled_ratios(
                    swept, e, protocol, k, contenders, spec.qualities, samples=spec.bootstrap
                )
                for c, values in draws.items():
                    table[c]["ci95_pillow_q20_q90"] = interval(values)
                worst = resampled_ratios(
                    swept,
                    e,
                    protocol,
                    k,
                    contenders,
                    spec.qualities,
                    samples=spec.bootstrap,
                    worst=True,
                )
                for c, values in worst.items():
                    table[c]["ci95_worst_pillow_q20_q90"] = interval(values)
            pooled_over = [(x, y) for x in spec.models for y in spec.methods]
            for model, m in pooled_over if spec.strengths else []:
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
    return summary


def print_summary(result: dict[str, Any]) -> None:
    """The summary as markdown tables, one per evaluator."""
    for e, tables in result["summary"].items():
        print(f"\nevaluator {e}: bytes ratio vs Pillow at equal accuracy (lower is better);")
        print("each cell: overlap range / Pillow q20-q90 range [its 95 % interval]")
        print("| contender | " + " | ".join(tables) + " |")
        print("|---|" + "---|" * len(tables))
        for c in next(iter(tables.values())):
            cells = [
                f"{t[c]['ratio_overlap']} / {t[c]['ratio_pillow_q20_q90']}"
                + (f" {t[c]['ci95_pillow_q20_q90']}" if t[c].get("ci95_pillow_q20_q90") else "")
                for t in tables.values()
            ]
            print(f"| {c} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument(
        "--evaluators", nargs="+", default=["lite0", "lite2"], type=evaluator_name, metavar="NAME"
    )
    parser.add_argument(
        "--codecs",
        nargs="*",
        default=[],
        metavar="SPEC",
        help="more contenders over the qualities: machine[:k=v,...], pillow options...",
    )
    parser.add_argument(
        "--perimage",
        nargs="*",
        default=[],
        metavar="SPEC+perimage",
        help="per-image quality by the Lite0 proxy at the --preserve KL budgets",
    )
    parser.add_argument("--split", choices=["all", "tune", "report"], default="all")
    parser.add_argument("--side", type=int, help="downsize images to about SIDE^2 pixels")
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
        nargs="*",
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
        choices=EVALUATORS,
        help="evaluators also scored with the resize + centre-crop protocol (default: lite0)",
    )
    parser.add_argument("--qualities", type=int, nargs="+", default=QUALITIES)
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="resampled image sets for each ratio's 95%% interval (0: none; default 1000)",
    )
    parser.add_argument("--quick", action="store_true", help="30 images, 4 qualities, lite0")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.stride < 1:
        parser.error(f"--stride must be 1 or more, got {args.stride}")
    qualities = args.qualities
    if args.quick:
        args.limit, qualities, args.evaluators = args.limit or 30, [20, 40, 60, 90], ["lite0"]
        args.crop_evaluators = [e for e in args.crop_evaluators if e == "lite0"]
    result, swept = run_sweep_of(
        RunSpec(
            dataset=args.dataset,
            evaluators=tuple(args.evaluators),
            qualities=tuple(qualities),
            methods=tuple(args.methods),
            models=tuple(args.models),
            strengths=tuple(args.strengths or ()),
            budgets=tuple(args.preserve or ()),
            preserve_with=tuple(args.preserve_with),
            peers=tuple(args.peers),
            crop_evaluators=tuple(args.crop_evaluators),
            codecs=tuple(args.codecs),
            perimage=tuple(args.perimage),
            limit=args.limit,
            stride=args.stride,
            split=args.split,
            side=args.side,
            bootstrap=args.bootstrap,
        )
    )
    suffix = "_quick" if args.quick else ("_strengths" if args.strengths else "")
    suffix += "" if args.models == ["cam"] else "_" + "_".join(args.models)
    suffix += "_preserve" if args.preserve else ""
    suffix += "_peers" if args.peers else ""
    return finish(result, args.out, args.dataset, f"rate_accuracy{suffix}", swept)


def finish(
    result: dict[str, Any], out: Path | None, dataset: Path, stem: str, swept: Sweep | None = None
) -> int:
    """Write ``result`` (to ``out``, default ``results/<dataset>/<stem>.json``) and, with
    ``swept``, each image's rows beside it (``.npz``, for ``benchmarks.paired``); print it."""
    out = out or ROOT / "benchmarks" / "results" / dataset.name / f"{stem}.json"
    write_json(out, result)
    if swept is not None:
        save_images(swept, out.with_suffix(".npz"))
    print_summary(result)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
