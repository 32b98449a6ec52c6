"""CPU latency of jpegsal.saliency() by stage, for images of a given size.

Times the whole call (decoded image in, full-resolution map out) and its
stages: resize + normalise, ONNX inference, and upsampling back to full size.
Run on an otherwise idle machine; ``--threads`` sets onnxruntime's threads.

    python -m benchmarks.saliency_speed                 # 1 MP, 2 threads, every shipped model
    python -m benchmarks.saliency_speed --megapixels 0.3 1 3 12 --repeat 30
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jpegsal
from jpegsal.maps.onnx import OnnxSaliencyModel, upsample
from jpegsal.maps.registry import get_model

from .common import machine, median_ms, sized_images, speed_parser, write_json


def run(image_path: Path, megapixels: list[float], threads: int, repeat: int) -> dict[str, Any]:
    rows = []
    for image in sized_images(image_path, megapixels):
        for name in ("cam", "msroi", "nice"):
            model = get_model(name, "cpu", threads=threads)
            assert isinstance(model, OnnxSaliencyModel)
            x = model.preprocess(image)
            coarse = model.run(x)[0][0]
            rows.append(
                {
                    "model": name,
                    "size": f"{image.width}x{image.height}",
                    "megapixels": round(image.width * image.height / 1e6, 2),
                    "network_input": f"{x.shape[3]}x{x.shape[2]}",
                    "total_ms": median_ms(
                        lambda n=name, i=image: jpegsal.saliency(
                            i, n, device="cpu", threads=threads
                        ),
                        repeat,
                    ),
                    "preprocess_ms": median_ms(lambda m=model, i=image: m.preprocess(i), repeat),
                    "inference_ms": median_ms(lambda m=model, x=x: m.run(x), repeat),
                    "upsample_ms": median_ms(lambda c=coarse, i=image: upsample(c, i.size), repeat),
                }
            )
    return {
        "benchmark": "saliency_speed",
        "threads": threads,
        "repeat": repeat,
        "precision": "fp32 (the shipped model)",
        "machine": machine(),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = speed_parser(__doc__, repeat=50, quick_repeat=5)
    args = parser.parse_args(argv)
    result = run(args.image, args.megapixels, args.threads, 5 if args.quick else args.repeat)
    print(f"median of {result['repeat']} runs, {args.threads} threads, {result['precision']}")
    print("| model | image | network input | total ms | preprocess | inference | upsample |")
    print("|---|---|---|---|---|---|---|")
    for r in result["rows"]:
        print(
            f"| {r['model']} | {r['size']} ({r['megapixels']} MP) | {r['network_input']} | "
            f"{r['total_ms']} | {r['preprocess_ms']} | {r['inference_ms']} | "
            f"{r['upsample_ms']} |"
        )
    if args.out:
        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
