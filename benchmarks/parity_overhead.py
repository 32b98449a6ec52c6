"""How much time does jpegsal's API layer add to Pillow's JPEG save (method=None)?

Times ``jpegsal.encode(image, ...)`` against ``image.save(buf, "JPEG", ...)`` on the
same decoded images and checks the bytes are identical. Prints a table and can
write JSON.

    python benchmarks/parity_overhead.py                      # ../shared/data/kodak
    python benchmarks/parity_overhead.py DIR --repeat 20 --json out.json
"""

from __future__ import annotations

import argparse
import io
import json
import platform
from pathlib import Path
from typing import Any

from common import load_rgb, median_ms, write_json
from PIL import Image

import jpegsal

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kodak"


def pillow_save(image: Image.Image, **opts: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", **opts)
    return buf.getvalue()


def run(folder: Path, repeat: int, limit: int) -> dict[str, Any]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    if not paths:
        raise SystemExit(f"no images in {folder}")
    images = []
    for p in paths[:limit]:
        images.append(load_rgb(p))
    rows = []
    for opts in ({"quality": 75}, {"quality": 90, "optimize": True, "progressive": True}):
        pil = ours = 0.0
        for image in images:
            assert jpegsal.encode(image, **opts) == pillow_save(image, **opts), "parity broken"
            pil += median_ms(lambda image=image, opts=opts: pillow_save(image, **opts), repeat)
            ours += median_ms(lambda image=image, opts=opts: jpegsal.encode(image, **opts), repeat)
        rows.append(
            {
                "options": opts,
                "pillow_ms": pil / len(images),
                "jpegsal_ms": ours / len(images),
                "ratio": ours / pil,
            }
        )
    return {
        "images": len(images),
        "folder": str(folder),
        "repeat": repeat,
        "machine": f"{platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}",
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--limit", type=int, default=24, help="at most this many images")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    result = run(args.folder, args.repeat, args.limit)
    print(f"{result['images']} images from {result['folder']}, median of {args.repeat} runs")
    for row in result["rows"]:
        print(
            f"{json.dumps(row['options']):<55} pillow {row['pillow_ms']:7.2f} ms  "
            f"jpegsal {row['jpegsal_ms']:7.2f} ms  ratio {row['ratio']:.3f}"
        )
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
