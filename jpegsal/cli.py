"""The ``jpegsal`` command line: a thin layer over :class:`jpegsal.Encoder`.

``main(argv)`` returns the exit code: 0 when every file was written, 1 when any
file failed (the others are still written), 2 for a usage error. User mistakes
are reported on stderr in one line, without a traceback.
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageColor

from ._version import __version__
from .api import Encoder
from .codec import write_atomic
from .methods import available_methods
from .zoo import available_models

__all__ = ["main"]

_GLOB_CHARS = set("*?[")


@dataclass
class Job:
    """One input file and where its output goes."""

    src: Path
    dst: Path
    error: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0


def _quality(text: str) -> int | str:
    return int(text) if text.lstrip("-").isdigit() else text


def _background(text: str) -> tuple[int, int, int]:
    try:
        if "," in text:
            r, g, b = (int(v) for v in text.split(","))
            return (r, g, b)
        rgb = ImageColor.getrgb(text)
        return (rgb[0], rgb[1], rgb[2])
    except ValueError as e:
        raise argparse.ArgumentTypeError(
            f"invalid colour {text!r}: use R,G,B, #rrggbb or a name"
        ) from e


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jpegsal",
        description="Saliency-guided JPEG encoding; every output decodes with any JPEG decoder.",
    )
    parser.add_argument("--version", action="version", version=f"jpegsal {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enc = sub.add_parser(
        "encode",
        help="encode images to JPEG",
        description=(
            "Encode files, directories or glob patterns to JPEG. Outputs are written atomically; "
            "inputs and existing outputs are never overwritten unless --overwrite (an input never)."
        ),
    )
    dest = enc.add_mutually_exclusive_group(required=True)
    dest.add_argument("-o", "--output", type=Path, help="output file (one input only)")
    dest.add_argument("--out-dir", type=Path, help="output directory (mirrors input folders)")
    _add_encoding_options(enc)
    _add_batch_options(enc)

    sal = sub.add_parser(
        "saliency",
        help="write saliency heatmaps (PNG)",
        description=(
            "Compute saliency maps and write them as greyscale PNG heatmaps (white = salient) or, "
            "with --overlay, as colour overlays on the image. Same input rules as encode."
        ),
    )
    sal.add_argument("-o", "--out-dir", type=Path, required=True, help="output directory")
    sal.add_argument(
        "--model",
        default="cam",
        metavar="M",
        help="cam (default), msroi, or a path to an .onnx file",
    )
    sal.add_argument("--overlay", action="store_true", help="colour overlay on the image")
    sal.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    _add_batch_options(sal)

    sub.add_parser("models", help="list the saliency models")

    demo = sub.add_parser("demo", help="run every model/method on the bundled sample images")
    demo.add_argument(
        "--out-dir",
        type=Path,
        default=Path("jpegsal-demo"),
        help="where to write the results (default: %(default)s)",
    )
    demo.add_argument("--quality", type=int, default=75, help="JPEG quality (default: 75)")
    return parser


def _add_batch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="file, directory or glob")
    p.add_argument("-r", "--recursive", action="store_true", help="descend into directories")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="parallel workers (default: %(default)s)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or per-file lines")


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
    p.add_argument("--quality", type=_quality, help="0..100 or a Pillow preset (default: 75)")
    p.add_argument("--subsampling", help="4:4:4, 4:2:2 or 4:2:0 (default: libjpeg's 4:2:0)")
    p.add_argument("--progressive", action="store_true", help="progressive JPEG")
    p.add_argument("--optimize", action="store_true", help="optimise Huffman tables")
    p.add_argument("--strength", type=float, help="method strength in [0, 1] (method default)")
    p.add_argument("--target-bytes", type=int, help="highest quality that fits in N bytes")
    p.add_argument(
        "--preserve",
        choices=["top1"],
        help="lowest quality at which the model's classifier keeps its top-1",
    )
    p.add_argument(
        "--background",
        type=_background,
        help="flatten alpha onto this colour (R,G,B, #rrggbb or a name)",
    )
    p.add_argument(
        "--strip-metadata", action="store_true", help="drop EXIF, ICC and XMP (kept by default)"
    )
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version and usage errors
        return int(e.code or 0)
    try:
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(args.out_dir, quality=args.quality)
        if args.command == "models":
            return _models_command()
        if args.command == "saliency":
            return _saliency_command(args)
        return _encode_command(args)
    except (ValueError, TypeError, OSError) as e:
        print(f"jpegsal: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jpegsal: interrupted", file=sys.stderr)
        return 130


def _encoder_from_args(args: argparse.Namespace) -> Encoder:
    options: dict[str, Any] = {"keep_metadata": not args.strip_metadata}
    for name in ("quality", "subsampling", "target_bytes", "background", "strength", "preserve"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.progressive:
        options["progressive"] = True
    if args.optimize:
        options["optimize"] = True
    return Encoder(args.model, args.method, device=args.device, **options)


def _encode_command(args: argparse.Namespace) -> int:
    encoder = _encoder_from_args(args)  # bad options fail here, before any file
    jobs = plan_jobs(args.inputs, args.output, args.out_dir, recursive=args.recursive)
    return _run_batch(jobs, encoder.encode, args)


def _saliency_command(args: argparse.Namespace) -> int:
    from .heatmap import render
    from .inputs import load_image
    from .maps import _model_view
    from .zoo import compute_saliency, get_model

    model = get_model(args.model, args.device)
    assert model is not None

    def work(path: Path) -> bytes:
        source = load_image(path)
        view = _model_view(source.image)
        sal = compute_saliency(model, view, source.info.get("exif"))
        buf = io.BytesIO()
        render(view, sal, overlay=args.overlay).save(buf, "PNG")
        return buf.getvalue()

    jobs = plan_jobs(args.inputs, None, args.out_dir, recursive=args.recursive, suffix=".png")
    return _run_batch(jobs, work, args)


def _models_command() -> int:
    from .zoo import models

    for card in models():
        acc = card.get("accuracy", {})
        top1 = f"top-1 {acc['top1_onnxruntime']}%" if "top1_onnxruntime" in acc else ""
        print(f"{card['name']:<8} {card.get('description', '')}  {top1}")
    return 0


def _run_batch(jobs: list[Job], work: Callable[[Path], bytes], args: argparse.Namespace) -> int:
    """Run ``work`` on every planned job with a worker pool; write outputs; report."""
    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    todo = [j for j in jobs if j.error is None]
    from tqdm import tqdm

    with (
        ThreadPoolExecutor(max_workers=args.jobs) as pool,
        tqdm(
            total=len(todo), unit="img", disable=True if args.quiet else None, file=sys.stderr
        ) as bar,
    ):
        futures = [pool.submit(_run_job, work, j, args.overwrite) for j in todo]
        for future in as_completed(futures):
            future.result()
            bar.update()
    return _report(jobs, quiet=args.quiet)


def _readable_extensions() -> set[str]:
    # registered_extensions() also lists save-only formats (e.g. .pdf); keep readable ones.
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


def plan_jobs(
    inputs: Sequence[str],
    output: Path | None,
    out_dir: Path | None,
    *,
    recursive: bool = False,
    suffix: str = ".jpg",
) -> list[Job]:
    """Expand inputs into jobs; problems found here become failed jobs, not exceptions."""
    found: list[tuple[Path, Path]] = []  # (source, path relative to the output dir)
    jobs: list[Job] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            exts = _readable_extensions()
            files = sorted(
                p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in exts
            )
            found += [(p, p.relative_to(path)) for p in files]
            if not files:
                jobs.append(Job(path, path, error="directory holds no image files"))
        elif path.exists():
            found.append((path, Path(path.name)))
        elif _GLOB_CHARS & set(text) and (matches := sorted(glob.glob(text, recursive=recursive))):
            found += [(Path(m), Path(Path(m).name)) for m in matches if Path(m).is_file()]
        else:
            jobs.append(Job(path, path, error="no such file or directory"))
    if output is not None and len(found) + len(jobs) != 1:
        raise ValueError(
            f"-o/--output takes exactly one input; got {len(found) + len(jobs)}, "
            "use --out-dir for several"
        )
    sources = {p.resolve() for p, _ in found}
    claimed: dict[Path, Path] = {}
    for src, rel in found:
        dst = output if output is not None else (out_dir or Path(".")) / rel.with_suffix(suffix)
        job = Job(src, dst)
        key = dst.resolve()
        if key in sources:
            job.error = f"output {str(dst)!r} is an input; refusing to overwrite an input"
        elif key in claimed:
            job.error = f"output {str(dst)!r} is also the output of {str(claimed[key])!r}"
        else:
            claimed[key] = src
        jobs.append(job)
    return jobs


def _run_job(work: Callable[[Path], bytes], job: Job, overwrite: bool) -> None:
    try:
        if job.dst.exists() and not overwrite:
            raise FileExistsError(f"output exists: {str(job.dst)!r} (use --overwrite)")
        data = work(job.src)
        job.dst.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(data, job.dst, overwrite=overwrite)
        job.bytes_in, job.bytes_out = job.src.stat().st_size, len(data)
    except Exception as e:  # one bad file must not stop the batch
        job.error = f"{type(e).__name__}: {e}"


def _report(jobs: list[Job], *, quiet: bool) -> int:
    ok = [j for j in jobs if j.error is None]
    failed = [j for j in jobs if j.error is not None]
    if not quiet:
        for j in ok:
            print(
                f"{j.src} -> {j.dst}  {j.bytes_in} -> {j.bytes_out} bytes "
                f"({j.bytes_out / max(j.bytes_in, 1):.3f}x)"
            )
    for j in failed:
        print(f"jpegsal: failed: {j.src}: {j.error}", file=sys.stderr)
    total_in = sum(j.bytes_in for j in ok)
    total_out = sum(j.bytes_out for j in ok)
    ratio = f" ({total_out / total_in:.3f}x)" if total_in else ""
    print(f"{len(ok)} written, {len(failed)} failed; {total_in} -> {total_out} bytes{ratio}")
    return 1 if failed else 0
