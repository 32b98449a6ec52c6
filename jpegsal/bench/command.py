"""``jpegsal evaluate``: the command line of :func:`jpegsal.bench.evaluate` (extra ``bench``).

Only the parser lives here at import time; the evaluation (onnxruntime, the codecs,
matplotlib) is imported when the command runs, so ``jpegsal --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_evaluate_parser", "evaluate_command"]

EXAMPLES = """examples:
  jpegsal evaluate photos/ --classifier model.onnx --labels labels.csv --mean 127 --std 128
  jpegsal evaluate val/ --classifier mobilenet.tflite --label-offset 1 --contenders mozjpeg
  jpegsal evaluate unlabelled/ --classifier cam --contenders preset=machine cam+guided
"""


def add_evaluate_parser(sub: Any) -> None:
    """Add ``evaluate`` to the CLI's subcommands (it sets ``handler``)."""
    p = sub.add_parser(
        "evaluate",
        help="bytes at equal accuracy for your classifier on your images",
        description=(
            "Encode every image with Pillow's quality sweep and each contender, show the "
            "decoded images to a classifier, and report each contender's bytes at equal "
            "accuracy against Pillow. Resumable: finished contenders are kept in OUT."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", type=Path, help="a folder of images (labels: see --labels)")
    p.add_argument("--classifier", required=True, metavar="MODEL", help=".onnx, .tflite or cam")
    p.add_argument(
        "--labels",
        type=Path,
        help="CSV/TSV of path,label (else dataset.txt, "
        "class subfolders, or none: agreement and KL with the original)",
    )
    p.add_argument(
        "--class-names",
        type=Path,
        metavar="FILE",
        help="the classifier's class names, one per line (for named labels)",
    )
    p.add_argument(
        "--label-offset",
        type=int,
        default=0,
        metavar="K",
        help="outputs before the first class (1: a leading background output)",
    )
    p.add_argument(
        "--contenders",
        nargs="*",
        metavar="SPEC",
        help="preset=machine[:side=N,file] (N: your classifier's input side; file: each "
        "file as 'jpegsal encode' takes it, JPEG files in the DCT domain), "
        "MODEL+METHOD[@S][+preserve], mozjpeg, jpegli "
        "(default: preset=machine:file cam+guided and the installed peers)",
    )
    p.add_argument("--qualities", type=int, nargs="+", metavar="Q")
    p.add_argument(
        "--budgets",
        type=float,
        nargs="+",
        metavar="KL",
        help="KL budgets of +preserve contenders (default 0.03 0.1 0.3 1)",
    )
    _add_classifier_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=evaluate_command)


def _add_classifier_options(p: argparse.ArgumentParser) -> None:
    """What a classifier file may not say about itself (else read from its metadata),
    and how much of the data to use."""
    p.add_argument("--limit", type=int, metavar="N", help="the first N images only")
    p.add_argument("--crop", action="store_true", help="also score the centre-crop protocol")
    p.add_argument("--side", type=int, metavar="S", help="downsize images to about S*S first")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("jpegsal-evaluate"),
        help="results folder (default: %(default)s)",
    )
    p.add_argument("--mean", help="input normalisation (0..255 units): M or R,G,B")
    p.add_argument("--std", help="input normalisation (0..255 units): S or R,G,B")
    p.add_argument("--input-size", type=int, metavar="N", help="side for a free-size input")
    p.add_argument("--output", metavar="NAME", help="the ONNX output holding the scores")


def evaluate_command(args: argparse.Namespace) -> int:
    """Run the evaluation; 0, or 1 when some images could not be read (listed, skipped)."""
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be 1 or more, got {args.limit}")
    options = {k: getattr(args, k) for k in ("mean", "std", "input_size", "output")}
    extra: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    if args.budgets:
        extra["budgets"] = tuple(args.budgets)
    try:
        result = _evaluate(args, extra)
    except KeyboardInterrupt:
        kept = args.out / "contenders"
        print(f"\njpegsal: interrupted; the same command resumes ({kept})", file=sys.stderr)
        return 130
    r = result.result
    kind = "top-1" if r["labelled"] else "agreement with the original's top-1 (no labels)"
    print(f"{r['images']} images, classifier {r['classifier']['name']}, accuracy: {kind}")
    print("bytes ratio vs Pillow at equal accuracy (overlap / Pillow q20-q90); lower is better\n")
    print(result.table())
    for line in result.unreadable:
        print(f"jpegsal: skipped unreadable image {line}", file=sys.stderr)
    plot = ", rate_accuracy.png" if result.plot else " (no plot: pip install 'jpegsal[bench]')"
    print(f"\nwrote {result.out}/result.json, table.md{plot}")
    return 1 if result.unreadable else 0


def _evaluate(args: argparse.Namespace, extra: dict[str, Any]) -> Any:
    from .evaluation import QUALITIES, evaluate

    return evaluate(
        args.data,
        args.classifier,
        labels=args.labels,
        class_names=args.class_names,
        label_offset=args.label_offset,
        contenders=args.contenders,
        qualities=tuple(args.qualities or QUALITIES),
        limit=args.limit,
        crop=args.crop,
        side=args.side,
        out=args.out,
        progress=not args.quiet,
        **extra,
    )
