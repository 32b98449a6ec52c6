"""``preset="machine"`` against Pillow, its peers and its own ablations, judged by classifiers
that never tuned anything: MobileNet v1 (another family) and EfficientNet-Lite2.

Two parts, one command each:

1. **Rate/accuracy** (:func:`benchmarks.rate_accuracy.run`): bytes at equal top-1 against
   Pillow's quality sweep, over Pillow's q20-q90 accuracy range, whole image resized to
   the judge's input (MobileNet's crop protocol as a second column). Contenders: Pillow,
   Pillow ``optimize=True``, mozjpeg, jpegli, mozjpeg with per-image quality chosen by the
   Lite0 proxy (KL budgets), the preset at fixed qualities and with ``preserve``
   (predicted-KL budgets), and the ablations (``--ablations``).
2. **Cost** (``--speed``): median ms per 1 MP image on the cores given, per component;
   ``--speed-photos DIR``: the preset's median ms per MP over real photos (every
   ``--stride``-th image of DIR, decoded first, best of 3 each), with and without the fit.

    python -m benchmarks.machine_preset                                # imagenet-val-1300
    python -m benchmarks.machine_preset ../shared/data/imagenet-sample --split report
    python -m benchmarks.machine_preset --ablations --stride 4         # the ablation table
    python -m benchmarks.machine_preset --speed                        # ms per MP
    python -m benchmarks.machine_preset --speed-photos ../shared/data/imagenet-sample --stride 5
    python -m benchmarks.machine_preset --quick                        # 20 images, CI
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

from PIL import Image

import jpegsal
from jpegsal.bench.data import IMAGE_SUFFIXES
from jpegsal.bench.sweep import load_rgb
from jpegsal.codec.lossless import SOI

from .common import DEFAULT_IMAGE, machine, median_ms, sized_images, write_json
from .contenders import parse_codec
from .rate_accuracy import DEFAULT, QUALITIES, ROOT, RunSpec, finish, run_sweep_of

# Lite0-proxy KL budgets for mozjpeg + per-image quality (AdaCompress-style), and the
# preset's predicted-KL budgets: both chosen to span Pillow's q20-q90 accuracy range.
PROXY_BUDGETS = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
PRESERVE = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.03)
MAIN = (
    "machine:tables=std",  # Pillow with optimize=True: the one-flag baseline
    "mozjpeg",
    "jpegli",
    "preset=machine",
    "preset=machine+preserve@[" + ",".join(f"{b:g}" for b in PRESERVE) + "]",
)
# Each component of the preset switched off (or a candidate switched on), one at a time.
ABLATIONS = (
    "preset=machine:fixed",  # one quality for every image (allocate=False)
    "machine:adjust=0",  # the second-order tables without the measured equal-slope moves
    "machine:optimize=0",  # Huffman tables: libjpeg's standard ones
    "machine:sharp=0",  # chroma: libjpeg's box mean, not fitted to the decoder's upsampler
    "machine:progressive=1",  # progressive scans on top
    "machine:backend=mozjpeg",  # the same tables through mozjpeg's trellis quantisation
    "machine:blend=1",  # the measured shape alone, no standard-table prior
    "machine:saliency=cam+guided",  # saliency on top: the cam map steers guided smoothing
)


FIXED = "preset=machine:fixed"
# component -> (the contender with it switched: off for the preset's parts, on for the
# candidates; what it is read against). The machine:k=v contenders write one quality for
# every image, so their reference is the preset at one quality, not the per-image one.
COMPONENTS = {
    "per-image quality (off: one quality)": (FIXED, "preset=machine"),
    "machine tables, fitted chroma (off: Pillow optimize=True)": ("machine:tables=std", FIXED),
    "chroma fitted to the upsampler (off: box mean)": ("machine:sharp=0", FIXED),
    "measured equal-slope adjustment (off)": ("machine:adjust=0", FIXED),
    "optimised Huffman tables (off)": ("machine:optimize=0", FIXED),
    "blend with the standard shape (off: measured shape alone)": ("machine:blend=1", FIXED),
    "candidate: progressive scans": ("machine:progressive=1", FIXED),
    "candidate: mozjpeg trellis": ("machine:backend=mozjpeg", FIXED),
    "candidate: per-image predicted KL (preserve)": ("preset=machine+preserve", "preset=machine"),
    "candidate: cam + guided saliency": ("machine:saliency=cam+guided", FIXED),
}


def ablation_table(result: dict[str, Any], scores: tuple[str, ...] = ("top1", "agree1")) -> str:
    """Markdown: per component, the ratio with it switched (off for the preset's parts, on
    for candidates), per judge and score, and in brackets the change from its reference's
    ratio (``COMPONENTS``; positive: switching it makes the result worse, so a part of the
    preset earns its place; negative: a candidate would help). Results from before the
    per-image quality have no ``preset=machine:fixed``: their preset was one quality.
    """
    from .bd import versus_base

    curves = result["curves"]
    cols = [(e, k) for e in curves for k in scores]

    def ratio(e: str, k: str, c: str) -> float | None:
        if c not in curves[e]:
            return None  # not in this run
        points = [(p["bytes"], p[k]) for p in curves[e][c]]
        r: float | None = versus_base(curves[e]["pillow"], points, k)["ratio_pillow_q20_q90"]
        return r

    head = " | ".join(f"{e} {k}" for e, k in cols)
    lines = [f"| component | {head} |", "|---|" + "---|" * len(cols)]
    preset = {col: ratio(*col, "preset=machine") for col in cols}
    lines.append("| preset (all parts on) | " + " | ".join(f"{preset[c]}" for c in cols) + " |")
    for name, (switched, against) in COMPONENTS.items():
        cells = []
        for col in cols:
            known = against if against in curves[col[0]] else "preset=machine"
            r, base = ratio(*col, switched), ratio(*col, known)
            cells.append(f"{r}" if r is None or base is None else f"{r} ({r - base:+.3f})")
        lines.append(f"| {name}: `{switched}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def spec_for(args: argparse.Namespace) -> RunSpec:
    codecs = (*MAIN, *(ABLATIONS if args.ablations else ()), *args.also)
    return RunSpec(
        dataset=args.dataset,
        evaluators=tuple(args.evaluators),
        crop_evaluators=tuple(args.crop_evaluators),
        qualities=tuple(args.qualities),
        methods=(),
        budgets=PROXY_BUDGETS,
        preserve_with=(),
        codecs=codecs,
        perimage=("mozjpeg+perimage",) if not args.no_perimage else (),
        limit=args.limit,
        stride=args.stride,
        split=args.split,
    )


def speed(megapixels: float, repeat: int) -> dict[str, Any]:
    """Median ms per image of each contender at ``megapixels`` (kodim23, resized)."""
    image = sized_images(DEFAULT_IMAGE, [megapixels])[0]
    enc = jpegsal.Encoder(preset="machine")
    rows: dict[str, Any] = {}

    def pillow(**opts: Any) -> None:
        image.save(io.BytesIO(), "JPEG", **opts)

    cases = {
        "pillow q75": lambda: pillow(quality=75),
        "pillow q75 optimize": lambda: pillow(quality=75, optimize=True),
        "preset=machine q75": lambda: enc.encode(image, quality=75),
        "preset=machine q75 fixed": lambda: enc.encode(image, quality=75, allocate=False),
        "preset=machine q75 progressive": lambda: enc.encode(image, quality=75, progressive=True),
        "preset=machine preserve=0.004": lambda: enc.encode(image, preserve=0.004),
        "machine tables via mozjpeg": lambda: parse_codec("machine:backend=mozjpeg").encode(
            image, 75
        ),
        "mozjpeg q75": lambda: parse_codec("mozjpeg").encode(image, 75),
    }
    # What progressive costs downstream: libjpeg's reduced-size decode (Image.draft), used
    # by loaders that shrink images for a classifier, must buffer every scan first.
    baseline = enc.encode(image, quality=75)
    progressive = enc.encode(image, quality=75, progressive=True)

    def draft(data: bytes) -> None:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (im.width // 4, im.height // 4))
            im.load()

    cases["decode at 1/4 size, baseline"] = lambda: draft(baseline)
    cases["decode at 1/4 size, progressive"] = lambda: draft(progressive)
    for name, fn in cases.items():
        rows[name] = median_ms(fn, repeat)
    info = enc.encode_with_info(image, preserve=0.004)
    chosen = enc.encode_with_info(image, quality=75)  # the per-image quality's search
    return {
        "megapixels": megapixels,
        "size": image.size,
        "ms": rows,
        "ms_per_mp": {k: round(v / megapixels, 2) for k, v in rows.items()},
        "preserve_network_runs": info.network_runs,
        "preserve_encodes": info.encodes,
        "q75_encodes": chosen.encodes,
        "q75_chosen_quality": chosen.quality,
        "bytes_q75": {"baseline": len(baseline), "progressive": len(progressive)},
    }


def photo_speed(folder: Path, stride: int, repeat: int = 3) -> dict[str, Any]:
    """The preset's (q75) median ms per MP over every ``stride``-th photo in ``folder``,
    each decoded first and timed best of ``repeat``, with and without the fitted chroma;
    and the same for its JPEG files given as files (``files: ...``), which the preset
    requantises in the DCT domain (4:4:4 ones fitted, or by the box mean)."""
    names = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[::stride]
    photos = [load_rgb(p) for p in names]
    if not photos:
        raise SystemExit(f"no .jpg, .png or other images (IMAGE_SUFFIXES) under {folder}")
    files = [(p.read_bytes(), im.width * im.height) for p, im in zip(names, photos, strict=True)]
    files = [(data, pixels) for data, pixels in files if data[:3] == SOI]
    rows: dict[str, Any] = {"folder": str(folder), "images": len(photos), "files": len(files)}
    for label, sharp in (("preset=machine q75", True), ("sharp_chroma=False", False)):
        enc = jpegsal.Encoder(preset="machine", sharp_chroma=sharp)
        rows[label] = _timed(enc, [(im, im.width * im.height) for im in photos], repeat)
        if files:
            rows[f"files: {label}"] = _timed(enc, files, repeat)
    return rows


def _timed(enc: jpegsal.Encoder, inputs: list[tuple[Any, int]], repeat: int) -> dict[str, Any]:
    """Median ms per MP and per image, mean encodes, and the paths taken, over ``inputs``
    ((image or file bytes, pixels)), each timed best of ``repeat`` after a warm call."""
    import collections
    import statistics
    import time

    ms, per_mp, encodes, paths = [], [], [], collections.Counter()
    for image, pixels in inputs:
        enc.encode_with_info(image, quality=75)  # warm
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            info = enc.encode_with_info(image, quality=75)
            best = min(best, time.perf_counter() - t)
        ms.append(best * 1e3)
        per_mp.append(best * 1e3 / (pixels / 1e6))
        encodes.append(info.encodes)
        paths[info.path] += 1
    return {
        "median_ms_per_mp": round(statistics.median(per_mp), 2),
        "median_ms": round(statistics.median(ms), 3),
        "mean_encodes": round(statistics.mean(encodes), 2),
        "paths": dict(paths),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--evaluators", nargs="+", default=["mobilenet", "lite2"])
    parser.add_argument("--crop-evaluators", nargs="*", default=["mobilenet"])
    parser.add_argument("--qualities", type=int, nargs="+", default=QUALITIES)
    parser.add_argument("--split", choices=["all", "tune", "report"], default="all")
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--ablations", action="store_true", help="add the ablation contenders")
    parser.add_argument("--also", nargs="*", default=[], metavar="SPEC", help="more contenders")
    parser.add_argument("--no-perimage", action="store_true", help="skip mozjpeg+perimage")
    parser.add_argument("--speed", action="store_true", help="ms per MP instead")
    parser.add_argument("--speed-photos", type=Path, metavar="DIR", help="ms/MP over photos")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="20 images, 4 qualities")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--table", type=Path, help="print the ablation table of a result")
    args = parser.parse_args(argv)
    if args.table:
        import json

        print(ablation_table(json.loads(args.table.read_text())))
        return 0
    if args.speed_photos:
        res = {"benchmark": "machine_preset photo speed", "machine": machine()}
        res |= photo_speed(args.speed_photos, args.stride)
        out = (
            args.out
            or ROOT / "benchmarks" / "results" / args.speed_photos.name / "photo_speed.json"
        )
        write_json(out, res)
        print({k: v for k, v in res.items() if k != "machine"}, f"\nwrote {out}")
        return 0
    if args.speed:
        result: dict[str, Any] = {"benchmark": "machine_preset speed", "machine": machine()}
        result |= speed(1.0, 3 if args.quick else args.repeat)
        out = args.out or ROOT / "benchmarks" / "results" / "kodim23" / "machine_speed.json"
        write_json(out, result)
        for k, v in result["ms_per_mp"].items():
            print(f"{k}: {v} ms/MP")
        print(f"wrote {out}")
        return 0
    if args.quick:
        args.limit, args.qualities = args.limit or 20, [20, 40, 60, 90]
    result, swept = run_sweep_of(spec_for(args))
    tail = ("_" + args.split if args.split != "all" else "") + (
        "_ablations" if args.ablations else ""
    )
    tail += "_quick" if args.quick else ""
    return finish(result, args.out, args.dataset, f"machine_preset{tail}", swept)


if __name__ == "__main__":
    raise SystemExit(main())
