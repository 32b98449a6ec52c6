"""The CLI's commands: each takes the parsed arguments and returns the exit code.

:mod:`jpegsal.cli` parses; this module turns arguments into an :class:`Encoder` and
the work done on each file (:mod:`jpegsal.batch` runs it and reports).
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .api import Encoder
from .batch import Output, plan_jobs, run_batch
from .call_options import CALL_OPTIONS
from .codec import turbojpeg

__all__ = [
    "encode_command",
    "encode_work",
    "encoder_from_args",
    "models_command",
    "optimize_command",
    "saliency_command",
]

# Options that make an encode something other than Pillow's (kept: background, metadata).
_NOT_PLAIN = CALL_OPTIONS - {"background", "keep_metadata", "max_pixels", "corrupt", "coefficients"}


# The encode flags that are Encoder options of the same name.
_OPTION_NAMES = (
    "quality",
    "subsampling",
    "target_bytes",
    "background",
    "strength",
    "preserve",
    "preset",
    "classifier_side",
    "max_pixels",
    "min_quality",
    "if_unmet",
    "preserve_search",
    "preserve_view",
)


def encoder_from_args(args: argparse.Namespace, threads: int | None = None) -> Encoder:
    # --strip-metadata keeps the orientation tag: a stripped photo must not turn sideways.
    options: dict[str, Any] = {"keep_metadata": "orientation" if args.strip_metadata else True}
    for name in _OPTION_NAMES:
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.progressive:
        options["progressive"] = True
    if args.optimize:
        options["optimize"] = True
    # Damaged JPEG data fails the file unless --allow-corrupt (then a warning line).
    options["corrupt"] = "warn" if args.allow_corrupt else "error"
    if args.no_coefficient_path:
        options["coefficients"] = False
    if getattr(args, "fixed_quality", False):
        options["allocate"] = False
    if getattr(args, "box_chroma", False):
        options["sharp_chroma"] = False
    options.update(getattr(args, "extra_options", None) or {})  # encode_dataset's **options
    return Encoder(args.model, args.method, device=args.device, threads=threads, **options)


def encode_command(args: argparse.Namespace) -> int:
    from .distributed import check_engine

    check_engine(args)
    encoder = encoder_from_args(args)  # bad options fail here, before any file
    if not args.allow_corrupt and not turbojpeg.available():
        print(
            "jpegsal: warning: no TurboJPEG 2.0+ library (libturbojpeg) found; damaged JPEG "
            "inputs cannot be detected and are encoded as Pillow decodes them",
            file=sys.stderr,
        )
    if args.model is not None and args.method is None and args.preserve is None:
        print(
            f"jpegsal: warning: --model {args.model} does nothing without --method or "
            "--preserve; writing plain JPEG",
            file=sys.stderr,
        )
    if args.engine == "ray":
        from .distributed import ray_encode

        return ray_encode(args)
    jobs = plan_jobs(args.inputs, args.output, args.out_dir, recursive=args.recursive)
    return run_batch(jobs, encode_work(encoder, args), args)


def encode_work(encoder: Encoder, args: argparse.Namespace) -> Callable[[Path], Output]:
    """Encode one file; unless it is plain already, also size a plain JPEG at the same
    quality (Pillow's, the same JPEG options), the saving a user would get without jpegsal.
    The local batch and the Ray workers both run this, on the file's path (a JPEG path
    can take the DCT route; a file object could not)."""
    jpeg_only = {k: v for k, v in encoder.defaults.items() if k not in _NOT_PLAIN}
    plain_same = encoder.method is None and jpeg_only == encoder.defaults
    reference = Encoder(**{**jpeg_only, "corrupt": "ignore"})  # the input is checked once

    def work(path: Path) -> Output:
        result = encoder.encode_with_info(path)
        plain = None
        if not args.no_compare:
            if plain_same:
                plain = len(result.data)
            elif result.quality >= 0:  # -1: tables given, no quality to compare at
                plain = len(reference.encode(path, quality=result.quality))
        note = "DCT path" if result.path == "dct" else None
        if result.path_reason:
            note = f"pixel path: {result.path_reason}"
        return Output(result.data, result.quality, plain, result.kl, result.met, note, result.path)

    return work


def optimize_command(args: argparse.Namespace) -> int:
    """Re-code JPEG files losslessly (:func:`jpegsal.optimize`)."""
    from .codec.lossless import optimize_with_info

    corrupt = "ignore" if args.allow_corrupt else "error"

    def work(path: Path) -> Output:
        result = optimize_with_info(path, progressive=args.progressive, corrupt=corrupt)
        note = "unchanged: re-coding saved nothing" if result.unchanged else "pixels unchanged"
        return Output(result.data, note=note)

    jpegs = {".jpg", ".jpeg", ".jpe", ".jfif"}
    jobs = plan_jobs(
        args.inputs, args.output, args.out_dir, recursive=args.recursive, extensions=jpegs
    )
    return run_batch(jobs, work, args)


def saliency_command(args: argparse.Namespace) -> int:
    from .inputs import load_image
    from .maps.compute import model_view
    from .maps.heatmap import render
    from .maps.orientation import map_upright, upright

    encoder = Encoder(args.model, device=args.device)

    def work(path: Path) -> Output:
        source = load_image(path, background=args.background)
        sal = encoder.saliency(source.image)
        # A PNG carries no orientation: the picture is turned upright, as viewers show it.
        tag = sal.orientation
        view = upright(model_view(source.image), tag)
        buf = io.BytesIO()
        render(view, map_upright(sal.map, tag), overlay=args.overlay).save(buf, "PNG")
        return Output(buf.getvalue())

    jobs = plan_jobs(
        args.inputs, args.output, args.out_dir, recursive=args.recursive, suffix=".png"
    )
    return run_batch(jobs, work, args)


def models_command() -> int:
    from .maps.registry import models

    for card in models():
        acc = card.get("accuracy", {})
        top1 = f"top-1 {acc['top1_onnxruntime']}%" if "top1_onnxruntime" in acc else ""
        print(f"{card['name']:<8} {card.get('description', '')}  {top1}")
    return 0
