"""The fixed grid of models x methods x options whose output bytes are pinned.

``tests/data/golden_bytes.json`` holds the sha256 of every case's output, as the code
wrote it when the grid was recorded; ``test_golden.py`` re-encodes the grid and compares.
A change that alters any byte must say so: regenerate with

    python tests/golden.py          # rewrites tests/data/golden_bytes.json

and name the changed cases, and why, in the commit message.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden_bytes.json"
MODELS = ("cam", "msroi", "nice")
METHODS = ("guided", "downsample", "mix", "blocks")
# (label, options) applied to the main test image for every model x method.
OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("q75", {"quality": 75}),
    ("q50-444", {"quality": 50, "subsampling": "4:4:4"}),
    ("q90-prog-opt", {"quality": 90, "progressive": True, "optimize": True}),
    ("s1-q60-422", {"strength": 1.0, "quality": 60, "subsampling": "4:2:2"}),
)


def images() -> dict[str, Image.Image]:
    """The grid's inputs: small and medium RGB, portrait, greyscale, EXIF-rotated."""

    def load(path: Path) -> Image.Image:
        with Image.open(path) as im:
            return im.convert("RGB")

    small = load(DATA / "kodim23_small.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    load(DATA / "kodim04_small.png").save(buf, "PNG", exif=exif.tobytes())
    root = Path(__file__).resolve().parents[1] / "jpegsal" / "data"
    return {
        "small": small,
        "portrait": load(DATA / "kodim04_small.png"),
        "grey": small.convert("L"),
        "medium": load(root / "kodim23.png").resize((640, 427), Image.Resampling.BICUBIC),
        "rotated": Image.open(io.BytesIO(buf.getvalue())),
    }


def cases() -> Iterator[tuple[str, str | None, str | None, str, dict[str, Any]]]:
    """(key, model, method, image name, options) for every case of the grid."""
    for model in MODELS:
        for method in METHODS:
            for label, options in OPTIONS:
                yield f"{model}+{method}/small/{label}", model, method, "small", options
            for name in ("portrait", "grey", "medium", "rotated"):
                yield f"{model}+{method}/{name}/q75", model, method, name, {"quality": 75}
    for model in MODELS:
        yield f"{model}+none/small/q75", model, None, "small", {"quality": 75}
        for preserve in (0.1, "top1"):
            for method in (None, "guided"):
                key = f"{model}+{method or 'none'}/small/preserve={preserve}"
                yield key, model, method, "small", {"preserve": preserve}
    for budget in (2500, 746):  # 746: only strength 1 reaches it, at quality 1
        yield f"cam+mix/small/target={budget}", "cam", "mix", "small", {"target_bytes": budget}
    yield "cam+guided/medium/preserve=0.3", "cam", "guided", "medium", {"preserve": 0.3}
    # Methods that read the quantisation tables, under rate control (added after the fix
    # that prepares each candidate with its own quality's tables).
    yield "cam+mix/small/preserve=0.1", "cam", "mix", "small", {"preserve": 0.1}
    yield "cam+blocks/small/target=2500", "cam", "blocks", "small", {"target_bytes": 2500}
    # preset="machine": its tables (the measured adjustment too: medium is 1.5x a 224 input).
    for name in ("small", "grey", "medium"):
        yield f"preset=machine/{name}/q75", None, None, name, {"preset": "machine", "quality": 75}
    preset = {"preset": "machine", "preserve": 0.01}
    yield "preset=machine/medium/preserve=0.01", None, None, "medium", preset
    # Its per-image quality (the default since 2026-12-04), and one quality for every image.
    for allocate in (True, False):
        options = {"preset": "machine", "quality": 40, "allocate": allocate}
        yield f"preset=machine/medium/q40/allocate={allocate}", None, None, "medium", options


def run_case(
    model: str | None, method: str | None, image: Image.Image, options: dict[str, Any]
) -> dict[str, Any]:
    """Encode one case; the digest, the length and the quality chosen."""
    import jpegsal

    try:
        result = jpegsal.Encoder(model, method, device="cpu").encode_with_info(image, **options)
    except ValueError as e:
        return {"error": str(e).split(";")[0]}
    return {
        "sha256": hashlib.sha256(result.data).hexdigest(),
        "bytes": len(result.data),
        "quality": result.quality,
    }


def record() -> dict[str, Any]:
    import cv2
    import numpy
    import onnxruntime
    import PIL

    ims = images()
    results = {key: run_case(m, meth, ims[name], opts) for key, m, meth, name, opts in cases()}
    return {
        "versions": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "pillow": PIL.__version__,
            "numpy": numpy.__version__,
            "opencv": cv2.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        "cases": results,
    }


if __name__ == "__main__":
    out = record()
    GOLDEN.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(out['cases'])} cases to {GOLDEN}", file=sys.stderr)
