"""Helpers shared by the benchmark scripts (``load_rgb`` is :mod:`jpegsal.bench`'s)."""

from __future__ import annotations

import json
import math
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

import jpegsal
from jpegsal.bench.classifiers import Classifier, OnnxClassifier, load_classifier
from jpegsal.bench.sweep import load_rgb


def median_ms(fn: Callable[[], object], repeat: int, *, warm_up: bool = True) -> float:
    """Median wall time of ``fn`` in milliseconds over ``repeat`` calls (after one warm-up)."""
    if warm_up:
        fn()  # session creation, first-run allocations
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(1000 * statistics.median(times), 2)


DEFAULT_IMAGE = Path(__file__).resolve().parents[1] / "jpegsal" / "data" / "kodim23.png"


def sized_images(path: Path, megapixels: list[float]) -> list[Image.Image]:
    """``path`` as RGB, resized (bicubic, aspect kept) to each of ``megapixels``."""
    base = load_rgb(path)
    out = []
    for mp in megapixels:
        s = math.sqrt(mp * 1e6 / (base.width * base.height))
        size = (round(base.width * s), round(base.height * s))
        out.append(base.resize(size, Image.Resampling.BICUBIC))
    return out


def write_json(path: Path, result: object) -> None:
    """Write a benchmark result as indented JSON, creating the folder.

    A result object gains ``versions`` (:func:`versions`) unless it has them already.
    """
    if isinstance(result, dict) and "versions" not in result:
        result = {**result, "versions": versions()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")


def machine() -> str:
    return f"{platform.machine()}, python {platform.python_version()}"


def versions() -> dict[str, str | None]:
    """Versions of everything a result depends on, recorded in every result JSON."""
    from importlib import metadata

    from PIL import features

    from jpegsal.codec.requantise import BUILD

    def dist(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "jpegsal": jpegsal.__version__,
        "python": platform.python_version(),
        "pillow": dist("pillow"),
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "onnxruntime": dist("onnxruntime") or dist("onnxruntime-gpu"),
        "jpeglib (mozjpeg)": dist("jpeglib"),
        "pyjpegli": dist("pyjpegli"),
        # The DCT path's optional C extensions (jpegsal/codec/_filter.c, _transcode.c).
        "jpegsal_build": BUILD,
    }


ROOT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "models"
MOBILENET = ROOT_SHARED / "mobilenet_v1_0.5_160_quant.tflite"
JUDGES = ("lite2", "mobilenet")  # never tune against these (docs/experiments.md)
EVALUATORS = ("lite0", "lite1", *JUDGES)


def evaluator_name(name: str) -> str:
    """``name`` if it is one of :data:`EVALUATORS` or ``lite1@N`` (the tuning classifier
    Lite1 fed about N pixels a side, N in 32..512); else ``ValueError``."""
    side = name.partition("@")[2] if name.startswith("lite1@") else ""
    if name in EVALUATORS or (side.isdigit() and 32 <= int(side) <= 512):
        return name
    raise ValueError(f"unknown evaluator {name!r}; choose from {EVALUATORS} or lite1@N")


def Evaluator(name: str) -> Classifier:
    """The evaluator ``name`` (:func:`evaluator_name`) as a :mod:`jpegsal.bench` classifier.

    ``lite0``: the logits of the shipped graph; ``lite1``/``lite2``: EfficientNet-Lite
    exported on first use (extra ``train``), fed about their native size, aspect kept
    (``lite1@N``: about N pixels a side); ``mobilenet``: the cross-family judge
    (``../shared/models/README.md``), the whole image stretched to 160x160, output 0
    ("background") dropped.
    """
    base, _, side = evaluator_name(name).partition("@")
    if base == "mobilenet":
        if not MOBILENET.is_file():
            raise FileNotFoundError(f"{MOBILENET}: the MobileNet judge needs ../shared/models")
        return load_classifier(MOBILENET, label_offset=1)
    if base == "lite0":
        return load_classifier("cam", threads=None)
    from jpegsal.train.evaluators import evaluator_path

    path, size = evaluator_path(base)
    size = int(side) if side else size
    return OnnxClassifier(path, mean=[127.0], std=[128.0], input_size=size, output="logits")
