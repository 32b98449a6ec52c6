"""CPU time of each pre-encode method's step (the map given), and of a whole encode.

    python -m benchmarks.method_speed                       # 1 MP, 2 threads
    python -m benchmarks.method_speed --megapixels 0.3 1 3 --repeat 30

Run on an otherwise idle machine. OpenCV uses ``--threads`` threads.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

import jpegsal
from jpegsal.codec.options import normalize_options
from jpegsal.methods import get_method

from .common import machine, median_ms, sized_images, speed_parser, write_json


def run(image_path: Path, megapixels: list[float], threads: int, repeat: int) -> dict[str, Any]:
    import cv2

    cv2.setNumThreads(threads)
    opts = normalize_options({"quality": 75})
    rows = []
    for image in sized_images(image_path, megapixels):
        sal = jpegsal.saliency(image, "cam", device="cpu", threads=threads)

        def pillow(image: Image.Image = image) -> bytes:
            buf = io.BytesIO()
            image.save(buf, "JPEG", quality=75)
            return buf.getvalue()

        pillow_ms = median_ms(pillow, repeat)
        for name in jpegsal.available_methods():
            method = get_method(name)
            assert method is not None
            enc = jpegsal.Encoder("cam", name, threads=threads, quality=75)
            rows.append(
                {
                    "method": name,
                    "size": f"{image.width}x{image.height}",
                    "method_ms": median_ms(
                        lambda m=method, i=image, s=sal: m.apply(i, s, opts), repeat
                    ),
                    "encode_total_ms": median_ms(lambda e=enc, i=image: e.encode(i), repeat),
                    "pillow_save_ms": pillow_ms,
                }
            )
    return {
        "benchmark": "method_speed",
        "threads": threads,
        "repeat": repeat,
        "machine": machine(),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = speed_parser(__doc__, repeat=30, quick_repeat=3)
    args = parser.parse_args(argv)
    result = run(args.image, args.megapixels, args.threads, 3 if args.quick else args.repeat)
    print(f"median of {result['repeat']} runs, {args.threads} threads, quality 75")
    print(
        "| method | image | method step ms | whole encode ms (cam + method + JPEG) "
        "| Pillow save ms |"
    )
    print("|---|---|---|---|---|")
    for r in result["rows"]:
        print(
            f"| {r['method']} | {r['size']} | {r['method_ms']} | {r['encode_total_ms']} | "
            f"{r['pillow_save_ms']} |"
        )
    if args.out:
        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
