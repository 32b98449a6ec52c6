"""The ``jpegsal`` command line: a thin layer over :class:`jpegsal.Encoder`.

``main(argv)`` returns the exit code: 0 when every file was written, 1 when any
file failed (the others are still written), 2 for a usage error. User mistakes
are reported on stderr in one line, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import ImageColor

from ._check import DEVICES
from ._version import __version__
from .bench.command import add_evaluate_parser
from .checks import check_preserve
from .codec.machine import PRESETS
from .codec.requantise import BUILD
from .commands import encode_command, models_command, optimize_command, saliency_command
from .distributed import add_ray_options
from .maps.registry import available_models
from .methods import available_methods
from .report import cli_words, warnings_as_lines

__all__ = ["main"]


def _quality(text: str) -> int | str:
    """0..100 or a Pillow preset name (-1, Pillow's "libjpeg default", is the API's only)."""
    if not text.lstrip("-").isdigit():
        return text
    if not 0 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"invalid quality {text!r}: use 0..100 or a preset")
    return int(text)


def _subsampling(text: str) -> int | str:
    """'4:2:0'-style names, or the API's integers 0/1/2 (-1: libjpeg's default)."""
    return int(text) if text.lstrip("-").isdigit() else text


def _preserve(text: str) -> str | float:
    try:
        return check_preserve(text if text == "top1" else float(text))
    except ValueError as e:
        hint = "use top1 or a KL budget in nats such as 0.1"
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: {hint}") from e


def _background(text: str) -> tuple[int, int, int]:
    try:
        if "," in text:
            r, g, b = (int(v) for v in text.split(","))
            return (r, g, b)
        return ImageColor.getrgb(text)[:3]
    except ValueError as e:
        hint = "use R,G,B, #rrggbb or a name"
        raise argparse.ArgumentTypeError(f"invalid colour {text!r}: {hint}") from e


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jpegsal",
        description="Saliency-guided JPEG encoding; every output decodes with any JPEG decoder.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # --version on one line
    )
    parser.add_argument("--version", action="version", version=f"jpegsal {__version__} ({BUILD})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enc = sub.add_parser(
        "encode",
        help="encode images to JPEG",
        description=(
            "Encode files, directories or glob patterns to JPEG. Outputs are written atomically; "
            "inputs and existing outputs are never overwritten unless --overwrite (an input never)."
        ),
    )
    _add_destination(enc, "JPEG")
    _add_encoding_options(enc)
    _add_batch_options(enc)
    add_ray_options(enc)

    sal = sub.add_parser(
        "saliency",
        help="write saliency heatmaps (PNG)",
        description=(
            "Compute saliency maps and write them as greyscale PNG heatmaps (white = salient) or, "
            "with --overlay, as colour overlays on the image. Same input rules as encode."
        ),
    )
    _add_destination(sal, "PNG")
    sal.add_argument(
        "--model",
        default="cam",
        metavar="M",
        help=f"{', '.join(available_models())} or a path to an .onnx file (default: cam)",
    )
    sal.add_argument("--overlay", action="store_true", help="colour overlay on the image")
    flatten_help = "flatten alpha onto this colour first (R,G,B, #rrggbb or a name)"
    sal.add_argument("--background", type=_background, help=flatten_help)
    sal.add_argument("--device", choices=DEVICES, default="auto")
    _add_batch_options(sal)

    _add_optimize_command(sub)
    add_evaluate_parser(sub)
    sub.add_parser("models", help="list the saliency models")

    demo = sub.add_parser("demo", help="run every model/method on the bundled sample images")
    out_help = "where to write the results (default: %(default)s)"
    demo.add_argument("--out-dir", type=Path, default=Path("jpegsal-demo"), help=out_help)
    demo.add_argument("--quality", type=int, default=75, help="JPEG quality (default: 75)")
    return parser


def _add_destination(p: argparse.ArgumentParser, kind: str) -> None:
    """-o FILE (one input) or --out-dir DIR, the same in every command."""
    dest = p.add_mutually_exclusive_group(required=True)
    dest.add_argument("-o", "--output", type=Path, help=f"output {kind} file (one input only)")
    dest.add_argument("--out-dir", type=Path, help="output directory (mirrors input folders)")


def _add_optimize_command(sub: Any) -> None:
    opt = sub.add_parser(
        "optimize",
        help="re-code JPEG files losslessly (optimised Huffman tables; pixels unchanged)",
        description=(
            "Re-code JPEG files with Huffman tables optimised for each one (like jpegtran "
            "-optimize): decoded pixels, tables and metadata stay the same; a file that would "
            "not get smaller is copied as it is. Needs the 'jpeg' extra (jpeglib)."
        ),
    )
    _add_destination(opt, "JPEG")
    opt.add_argument(
        "--allow-corrupt",
        action="store_true",
        help="re-code files with damaged data as libjpeg decodes them (default: fail them)",
    )
    opt.add_argument(
        "--progressive",
        action="store_true",
        help="write progressive JPEG (usually smaller; needs libturbojpeg)",
    )
    _add_batch_options(opt)


def _add_batch_options(p: argparse.ArgumentParser) -> None:
    what = "file, directory, glob, or @FILE (a file listing paths)"
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=what)
    p.add_argument("-r", "--recursive", action="store_true", help="descend into directories")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument(
        "--skip-existing",
        action="store_true",
        help="leave existing outputs alone and count them as skipped (resume a batch)",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        help=f"parallel workers (default: {min(4, os.cpu_count() or 1)})",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or per-file lines")
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per file on stdout as it finishes (the totals go to stderr)",
    )


def _add_encoding_options(p: argparse.ArgumentParser) -> None:
    models, methods = available_models(), available_methods()
    p.add_argument(
        "--model",
        metavar="M",
        help=f"saliency model: {', '.join(models)} or a path to an .onnx file",
    )
    p.add_argument(
        "--method",
        choices=methods or None,
        help=f"pre-encode method ({', '.join(methods) or 'none installed yet'})",
    )
    p.add_argument(
        "--preset",
        choices=PRESETS,
        help="machine: tables made for classifiers, optimised Huffman (no model runs)",
    )
    side_help = "with --preset machine: the input side of the classifier that reads the files"
    p.add_argument("--classifier-side", type=int, metavar="PX", help=side_help + " (default 224)")
    fixed_help = "with --preset machine: --quality for every file, not chosen per file"
    p.add_argument("--fixed-quality", action="store_true", help=fixed_help)
    box_help = "with --preset machine: libjpeg's box-mean chroma, not fitted to the upsampler"
    p.add_argument("--box-chroma", action="store_true", help=box_help)
    p.add_argument("--quality", type=_quality, help="0..100 or a Pillow preset (default: 75)")
    p.add_argument(
        "--subsampling",
        type=_subsampling,
        help="4:4:4, 4:2:2 or 4:2:0, or 0/1/2 as in Pillow (default: libjpeg's 4:2:0)",
    )
    for flag, what in (("progressive", "progressive JPEG"), ("optimize", "optimised Huffman")):
        p.add_argument(f"--{flag}", action="store_true", help=what)
    p.add_argument("--strength", type=float, help="method strength in [0, 1] (method default)")
    p.add_argument("--target-bytes", type=int, help="highest quality that fits in N bytes")
    p.add_argument(
        "--preserve",
        type=_preserve,
        metavar="top1|KL",
        help="lowest quality at which the model's classifier keeps its top-1 (top1), "
        "or its probabilities within this KL divergence in nats (e.g. 0.1); with "
        "--preset machine, a predicted-KL budget (e.g. 0.004), no model",
    )
    _add_rate_options(p)
    p.add_argument(
        "--background",
        type=_background,
        help="flatten alpha onto this colour (R,G,B, #rrggbb or a name)",
    )
    p.add_argument(
        "--strip-metadata",
        action="store_true",
        help="drop EXIF (except the orientation tag), ICC and XMP (kept by default)",
    )
    corrupt_help = "encode JPEG inputs with damaged data (a warning) instead of failing them"
    p.add_argument("--allow-corrupt", action="store_true", help=corrupt_help)
    bomb_help = "decompression-bomb limit per input in pixels (default: Pillow's, about 89 M)"
    p.add_argument("--max-pixels", type=int, help=bomb_help)
    p.add_argument("--device", choices=DEVICES, default="auto")


def _add_rate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--min-quality",
        type=int,
        metavar="Q",
        help="lowest quality --preserve or --target-bytes may choose (default 1; 20 with "
        "--preset machine --preserve)",
    )
    p.add_argument(
        "--if-unmet",
        choices=("best", "error"),
        help="a --preserve budget that quality 100 misses: write quality 100 and say so "
        "(best, the default) or fail the file (error)",
    )
    search_help = "a --preserve KL budget: about 2 checks (predict, default) or 8 (bisect)"
    p.add_argument("--preserve-search", choices=("predict", "bisect"), help=search_help)
    view_help = "check --preserve candidates of large images on a reduced decode (default)"
    p.add_argument("--preserve-view", choices=("reduced", "full"), help=view_help)
    p.add_argument(
        "--no-coefficient-path",
        action="store_true",
        help="with --preset machine, decode JPEG inputs to pixels instead of requantising "
        "their DCT levels (jpegsal.reencode)",
    )
    p.add_argument(
        "--no-compare",
        action="store_true",
        help="skip the plain JPEG at the same quality that each output is compared with",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version and usage errors
        return int(e.code or 0)
    with warnings.catch_warnings():
        warnings_as_lines()
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(args.out_dir, quality=args.quality)
        if args.command == "models":
            return models_command()
        if args.command == "saliency":
            return saliency_command(args)
        if args.command == "optimize":
            return optimize_command(args)
        return args.handler(args) if "handler" in args else encode_command(args)
    except (ValueError, TypeError, OSError, RuntimeError, ImportError) as e:
        # RuntimeError: onnxruntime's (no CUDA for --device cuda, a corrupt model file);
        # ImportError: an extra not installed (it names the extra). User errors too, so
        # one line and rc 2, not a traceback.
        print(f"jpegsal: error: {cli_words(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jpegsal: interrupted", file=sys.stderr)
        return 130
