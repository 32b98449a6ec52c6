"""What jpegsal's API layer costs on top of Pillow, and what its rate control runs.

Three tables, each from one process on the same decoded images:

1. **The plain path** (``method=None``) against ``image.save(buf, "JPEG")`` for every
   mode Pillow writes (L, RGB, CMYK, RGBX, YCbCr, 1) at several sizes; the bytes are
   checked identical. The plain path must do nothing Pillow does not do.
2. **One-shot** ``jpegsal.encode(image, model=..., method=...)`` against a reused
   ``Encoder.encode`` (after the first call of each).
3. **preserve**: network runs and encodes per image for ``preserve=t`` with and without
   a method (one run for the original, one per checked candidate, no map made for the
   candidates).

    python -m benchmarks.parity_overhead                       # kodim23 at 0.3/3/12 MP
    python -m benchmarks.parity_overhead --quick               # 0.3 MP, 3 repeats
    python -m benchmarks.parity_overhead --out results.json
    python -m benchmarks.parity_overhead --only preserve \
        --preserve-on ../shared/data/imagenet-val-1300 --budgets 0.03 0.1 0.3 1 \
        --preserve-methods none                  # table 3 on every 4th report image
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path
from typing import Any

from PIL import Image

import jpegsal

from .common import DEFAULT_IMAGE, machine, median_ms, sized_images, write_json

MODES = ("L", "RGB", "CMYK", "RGBX", "YCbCr", "1")
ROOT = Path(__file__).resolve().parents[1]


def pillow_save(image: Image.Image, **opts: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", **opts)
    return buf.getvalue()


def plain_rows(images: list[Image.Image], repeat: int) -> list[dict[str, Any]]:
    """Table 1: the plain path against Pillow, per mode and size."""
    rows = []
    for base in images:
        for mode in MODES:
            image = base.convert(mode)
            assert jpegsal.encode(image, quality=75) == pillow_save(image, quality=75), mode
            pil = median_ms(lambda im=image: pillow_save(im, quality=75), repeat)
            ours = median_ms(lambda im=image: jpegsal.encode(im, quality=75), repeat)
            rows.append(
                {
                    "megapixels": round(base.width * base.height / 1e6, 2),
                    "mode": mode,
                    "pillow_ms": pil,
                    "jpegsal_ms": ours,
                    "ratio": round(ours / pil, 3),
                }
            )
    return rows


def one_shot_rows(image: Image.Image, repeat: int) -> list[dict[str, Any]]:
    """Table 2: one-shot encode against a reused Encoder, after the first call of each."""
    rows = []
    for model, method in (("cam", "guided"), ("cam", "mix"), ("nice", "downsample")):
        enc = jpegsal.Encoder(model, method, device="cpu")
        reused = median_ms(lambda e=enc: e.encode(image, quality=75), repeat)
        once = median_ms(
            lambda mo=model, me=method: jpegsal.encode(
                image, model=mo, method=me, quality=75, device="cpu"
            ),
            repeat,
        )
        rows.append(
            {
                "contender": f"{model}+{method}",
                "megapixels": round(image.width * image.height / 1e6, 2),
                "encoder_ms": reused,
                "one_shot_ms": once,
                "ratio": round(once / reused, 3),
            }
        )
    return rows


def preserve_rows(
    paths: list[Path], budgets: list[float], methods: list[str | None]
) -> list[dict[str, Any]]:
    """Table 3: network runs and encodes per image for preserve, per method and budget."""
    rows = []
    for method in methods:
        enc = jpegsal.Encoder("cam", method, device="cpu")
        for budget in budgets:
            runs, encodes, qualities, times = [], [], [], []
            for p in paths:
                with Image.open(p) as im:
                    image = im.convert("RGB")
                t = time.perf_counter()
                result = enc.encode_with_info(image, preserve=budget, if_unmet="best")
                times.append(time.perf_counter() - t)
                runs.append(result.network_runs)
                encodes.append(result.encodes)
                qualities.append(result.quality)
            rows.append(
                {
                    "contender": f"cam+{method or 'none'} preserve={budget:g}",
                    "images": len(paths),
                    "network_runs_per_image": round(statistics.mean(runs), 2),
                    "encodes_per_image": round(statistics.mean(encodes), 2),
                    "mean_quality": round(statistics.mean(qualities), 1),
                    "ms_per_image": round(1000 * statistics.median(times), 1),
                }
            )
    return rows


def preserve_images(dataset: Path | None, stride: int) -> list[Path]:
    """The bundled samples, or every ``stride``-th report image of ``dataset`` (the images
    jpegsal.ratesearch's prior was not fitted on: index % 5 != 0)."""
    if dataset is None:
        return sorted((ROOT / "jpegsal" / "data").glob("*.png"))
    from jpegsal.bench.data import read_labels, split_of

    return [p for p, _ in split_of(read_labels(dataset), "report")][::stride]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--megapixels", type=float, nargs="+", default=[0.3, 3.0, 12.0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="0.3 MP, 3 repeats")
    parser.add_argument("--out", type=Path, help="JSON output")
    parser.add_argument("--only", choices=["preserve"], help="table 3 alone")
    parser.add_argument("--preserve-on", type=Path, help="table 3 on this dataset's report split")
    parser.add_argument("--stride", type=int, default=4, help="with --preserve-on")
    parser.add_argument("--budgets", type=float, nargs="+", default=[0.1])
    parser.add_argument(
        "--preserve-methods", nargs="+", default=["none", "guided", "mix"], metavar="METHOD"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.megapixels, args.repeat = [0.3], 3
    images = [] if args.only else sized_images(args.image, args.megapixels)
    methods = [None if m == "none" else m for m in args.preserve_methods]
    result = {
        "benchmark": "parity_overhead",
        "image": args.image.name,
        "repeat": args.repeat,
        "machine": machine(),
        "plain": plain_rows(images, args.repeat),
        "one_shot": one_shot_rows(images[0], args.repeat) if images else [],
        "preserve_images": str(args.preserve_on or "jpegsal/data"),
        "preserve": preserve_rows(
            preserve_images(args.preserve_on, args.stride), args.budgets, methods
        ),
    }
    print(f"median of {args.repeat} runs; plain path (method=None) against Pillow's save")
    print("| MP | mode | Pillow ms | jpegsal ms | ratio |\n|---|---|---|---|---|")
    for r in result["plain"]:
        print(
            f"| {r['megapixels']} | {r['mode']} | {r['pillow_ms']} | {r['jpegsal_ms']} | "
            f"{r['ratio']} |"
        )
    print(
        "\n| contender | MP | Encoder.encode ms | one-shot encode ms | ratio |\n"
        "|---|---|---|---|---|"
    )
    for r in result["one_shot"]:
        print(
            f"| {r['contender']} | {r['megapixels']} | {r['encoder_ms']} | "
            f"{r['one_shot_ms']} | {r['ratio']} |"
        )
    print(
        "\n| contender | images | network runs/img | encodes/img | mean quality | ms/img |\n"
        "|---|---|---|---|---|---|"
    )
    for r in result["preserve"]:
        print(
            f"| {r['contender']} | {r['images']} | {r['network_runs_per_image']} | "
            f"{r['encodes_per_image']} | {r['mean_quality']} | {r['ms_per_image']} |"
        )
    if args.out:
        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
