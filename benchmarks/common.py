"""Helpers shared by the benchmark scripts."""

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
from PIL import Image, ImageOps

import jpegsal
from jpegsal.maps.contract import softmax
from jpegsal.maps.onnx import network_size
from jpegsal.maps.session import get_session


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


def load_rgb(path: Path) -> Image.Image:
    """``path`` as RGB and upright (EXIF orientation applied, then dropped).

    Every contender and evaluator then sees the same pixels, and a map computed once on them
    fits the view each jpegsal encode gives its model.
    """
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


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
    }


ROOT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "models"
MOBILENET = ROOT_SHARED / "mobilenet_v1_0.5_160_quant.tflite"
JUDGES = ("lite2", "mobilenet")  # never tune against these (docs/experiments.md)
EVALUATORS = ("lite0", "lite1", *JUDGES)


def Evaluator(name: str) -> OnnxEvaluator | MobileNetJudge:
    """The evaluator ``name``: one of :data:`EVALUATORS`."""
    if name not in EVALUATORS:
        raise ValueError(f"unknown evaluator {name!r}; choose from {EVALUATORS}")
    return MobileNetJudge() if name == "mobilenet" else OnnxEvaluator(name)


class _Ranked:
    size: int

    def probs(self, images: np.ndarray, *, crop: bool = False) -> np.ndarray:
        raise NotImplementedError

    def top1(self, images: list[np.ndarray]) -> np.ndarray:
        """Top-1 class of each image; images may differ in size, so one run each."""
        return self.topk(images, 1)[:, 0]

    def topk(self, images: list[np.ndarray], k: int = 5, *, crop: bool = False) -> np.ndarray:
        """(N, k) best classes of each image, best first (see :meth:`probs` for ``crop``)."""
        return np.stack(
            [np.argsort(-self.probs(im[None], crop=crop)[0], kind="stable")[:k] for im in images]
        )

    def crop(self, images: np.ndarray) -> np.ndarray:
        """The usual ImageNet protocol: short side to size / 0.875, central square."""
        h, w = images.shape[1:3]
        s = round(self.size / 0.875) / min(h, w)
        nw, nh = max(self.size, round(w * s)), max(self.size, round(h * s))
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        x = np.stack([cv2.resize(im, (nw, nh), interpolation=interp) for im in images])
        y0, x0 = (nh - self.size) // 2, (nw - self.size) // 2
        return x[:, y0 : y0 + self.size, x0 : x0 + self.size]


class MobileNetJudge(_Ranked):
    """The cross-family judge: MobileNet v1 0.5, 160x160 uint8 (``../shared/models/README.md``).

    Whole-image protocol: the whole image resized to 160x160 (bilinear, aspect not kept).
    """

    size = 160

    def __init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        if not MOBILENET.is_file():
            raise FileNotFoundError(f"{MOBILENET}: the MobileNet judge needs ../shared/models")
        self.interpreter = Interpreter(model_path=str(MOBILENET), num_threads=2)
        self.interpreter.allocate_tensors()
        self._in = self.interpreter.get_input_details()[0]["index"]
        self._out = self.interpreter.get_output_details()[0]["index"]

    def probs(self, images: np.ndarray, *, crop: bool = False) -> np.ndarray:
        """(N, H, W, 3) uint8 -> (N, 1000) scores (class k is output k + 1)."""
        if crop:
            x = self.crop(images)
        else:
            x = np.stack(
                [cv2.resize(im, (160, 160), interpolation=cv2.INTER_LINEAR) for im in images]
            )
        out = []
        for im in x:
            self.interpreter.set_tensor(self._in, np.ascontiguousarray(im[None]))
            self.interpreter.invoke()
            out.append(self.interpreter.get_tensor(self._out)[0, 1:].astype(np.float32) / 256)
        return np.stack(out)


class OnnxEvaluator(_Ranked):
    """An EfficientNet-Lite classifier fed the whole image at about its native size."""

    def __init__(self, name: str) -> None:
        if name == "lite0":  # the logits of the shipped graph are Lite0's
            from jpegsal.maps.registry import models_dir

            entry = json.loads((models_dir() / "manifest.json").read_text())["models"]["cam"]
            path, self.size = models_dir() / entry["file"], 224
        else:
            from jpegsal.train.evaluators import evaluator_path

            path, self.size = evaluator_path(name)
        self.session = get_session(path, device="cpu")

    def probs(self, images: np.ndarray, *, crop: bool = False) -> np.ndarray:
        """(N, H, W, 3) uint8 -> (N, 1000) softmax probabilities.

        By default the whole image is resized to about the evaluator's input size (aspect
        kept). ``crop=True`` is the usual ImageNet protocol instead: the short side resized
        to size / 0.875, then the central size x size square.
        """
        h, w = images.shape[1:3]
        if crop:
            x = self.crop(images)
        else:
            nw, nh = network_size(w, h, self.size, 32)
            x = np.stack([cv2.resize(im, (nw, nh), interpolation=cv2.INTER_AREA) for im in images])
        x = ((x.astype(np.float32) - 127.0) / 128.0).transpose(0, 3, 1, 2)
        logits = self.session.run(["logits"], {"image": np.ascontiguousarray(x)})[0]
        probs: np.ndarray = softmax(logits)
        return probs
