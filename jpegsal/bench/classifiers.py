"""The classifiers that judge an evaluation: an ONNX file, a TFLite file or a shipped model.

Each turns decoded RGB images into class scores under one of two protocols:

* ``whole`` (the default): the whole image resized to the network's input, no crop. A
  graph with a fixed input size gets exactly that size (bilinear, aspect not kept); a
  graph whose height and width are free gets about ``input_size``² pixels, aspect
  kept, sides a multiple of 32 (area filter), as EfficientNet-Lite was evaluated here;
* ``crop``: the short side resized to ``input_size / 0.875``, then the central square
  (the usual ImageNet protocol).

What the file does not say must be given: an ONNX graph's normalisation (``mean``,
``std`` in 0..255 pixel units) and, when its spatial size is free, ``input_size``. They
may also be stored in the ONNX metadata, as jpegsal's own graphs store them: the key
``jpegsal`` holding JSON ``{"mean": 127, "std": 128, "input_size": 224, "outputs":
{"logits": "logits"}}`` (:func:`jpegsal.bench.export.export_classifier` writes a plain
classifier with it). A TFLite graph is quantised or float; a uint8 input takes pixels as
they are, a float input needs ``mean`` and ``std``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..maps.contract import softmax

__all__ = ["Classifier", "OnnxClassifier", "TfliteClassifier", "load_classifier"]


class Classifier:
    """Scores of decoded images; subclasses set ``size``, ``fixed`` and ``_scores``."""

    name = "classifier"
    size = 224  # the input side (fixed) or about that many pixels per side (free)
    fixed = True  # a fixed input: stretch to size x size; free: keep the aspect
    outputs = 0  # the length of the score vector
    offset = 0  # outputs before the first class (1: a "background" output first)
    # The whole-image resize: None is the protocol's (bilinear to a fixed input, area to a
    # free one); "area" low-passes first, "linear" does not (TensorFlow's default resize,
    # and many deployed pipelines: the finest frequencies alias into the input).
    resize: str | None = None

    @property
    def classes(self) -> int:
        """How many classes the scores cover (outputs less the offset)."""
        return self.outputs - self.offset

    def _scores(self, x: np.ndarray) -> np.ndarray:
        """(1, h, w, 3) uint8 network-sized input -> (1, classes) raw scores."""
        raise NotImplementedError

    def resized(self, image: np.ndarray, *, crop: bool = False) -> np.ndarray:
        """One (H, W, 3) uint8 image -> the (h, w, 3) input under the protocol."""
        import cv2

        h, w = image.shape[:2]
        if crop:
            s = round(self.size / 0.875) / min(h, w)
            nw, nh = max(self.size, round(w * s)), max(self.size, round(h * s))
            interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
            big = cv2.resize(image, (nw, nh), interpolation=interp)
            y0, x0 = (nh - self.size) // 2, (nw - self.size) // 2
            out: np.ndarray = big[y0 : y0 + self.size, x0 : x0 + self.size]
            return out
        default = "linear" if self.fixed else "area"
        interp = {"linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}[self.resize or default]
        if self.fixed:
            size = (self.size, self.size)
            return np.asarray(cv2.resize(image, size, interpolation=interp))
        from ..maps.onnx import network_size

        nw, nh = network_size(w, h, self.size, 32)
        return np.asarray(cv2.resize(image, (nw, nh), interpolation=interp))

    def probs(self, images: np.ndarray | Sequence[np.ndarray], *, crop: bool = False) -> np.ndarray:
        """(N, classes) probabilities of N RGB uint8 images (one run each: sizes differ).

        Scores that are already a distribution (in [0, 1], summing to 0.5..1.05: a
        quantised softmax output sums to 0.88..1 on ImageNet photos) are only rescaled to
        sum to 1; others are taken as logits and go through a softmax.
        """
        rows = [self._scores(self.resized(np.asarray(im), crop=crop)[None])[0] for im in images]
        out = np.stack(rows).astype(np.float64)[:, self.offset :]
        total = out.sum(axis=1, keepdims=True)
        if np.all((out >= 0) & (out <= 1)) and np.all((total >= 0.5) & (total <= 1.05)):
            rescaled: np.ndarray = out / total
            return rescaled
        probs: np.ndarray = softmax(out)
        return probs

    def top1(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """The best class of each image."""
        return self.topk(images, 1)[:, 0]

    def topk(self, images: Sequence[np.ndarray], k: int = 5, *, crop: bool = False) -> np.ndarray:
        """(N, k) best classes of each image, best first."""
        p = self.probs(images, crop=crop)
        return np.argsort(-p, axis=1, kind="stable")[:, :k]


def _floats(text: str | float | Sequence[float] | None, what: str) -> np.ndarray | None:
    if text is None:
        return None
    if isinstance(text, str):
        values = [float(v) for v in text.split(",")]
    else:
        values = [float(text)] if isinstance(text, int | float) else [float(v) for v in text]
    if len(values) not in (1, 3):
        raise ValueError(f"{what} takes 1 or 3 values (per channel, 0..255 units), got {values}")
    return np.asarray(values * (3 // len(values)), np.float32)


class OnnxClassifier(Classifier):
    """An ONNX image classifier (one image input, a score vector output)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mean: str | Sequence[float] | None = None,
        std: str | Sequence[float] | None = None,
        input_size: int | None = None,
        output: str | None = None,
        threads: int | None = None,
    ) -> None:
        from ..maps.session import get_session

        self.path, self.name = Path(path), Path(path).stem
        self.session = get_session(self.path, device="cpu", threads=threads)
        meta = _metadata(self.session)
        inp = self.session.get_inputs()
        if len(inp) != 1 or len(inp[0].shape) != 4:
            raise ValueError(
                f"{self.path.name}: a classifier takes one (N, C, H, W) or "
                f"(N, H, W, C) image input; this one has {[i.shape for i in inp]}"
            )
        self._in, shape = inp[0].name, list(inp[0].shape)
        self.nchw = shape[1] == 3 or shape[-1] != 3
        hw = shape[2:] if self.nchw else shape[1:3]
        self.fixed = all(isinstance(d, int) for d in hw)
        size = hw[0] if self.fixed else (input_size or meta.get("input_size"))
        if size is None:
            raise ValueError(
                f"{self.path.name}: its input size is free; pass --input-size N "
                "(about N x N pixels are fed, aspect kept)"
            )
        self.size = int(size)
        self.mean = _floats(mean if mean is not None else meta.get("mean"), "--mean")
        self.std = _floats(std if std is not None else meta.get("std"), "--std")
        if self.mean is None or self.std is None:
            raise ValueError(
                f"{self.path.name}: its input normalisation is unknown; pass "
                "--mean and --std (0..255 units, e.g. --mean 127 --std 128)"
            )
        self.output = self._output(output or meta.get("outputs", {}).get("logits"))

    def _output(self, wanted: str | None) -> str:
        outs = {o.name: list(o.shape) for o in self.session.get_outputs()}
        name = wanted or ("logits" if "logits" in outs else None)
        if name is None and len(outs) == 1:
            name = next(iter(outs))
        if name is None or name not in outs:
            raise ValueError(
                f"{self.path.name}: which output is the scores? pass --output "
                f"NAME, one of {sorted(outs)}"
            )
        shape = outs[name]
        if len(shape) != 2 or not isinstance(shape[1], int) or shape[1] < 2:
            raise ValueError(
                f"{self.path.name}: output {name!r} has shape {shape}, not a "
                "score vector (N, classes)"
            )
        self.outputs = int(shape[1])
        return name

    def _scores(self, x: np.ndarray) -> np.ndarray:
        assert self.mean is not None
        assert self.std is not None
        y = (x.astype(np.float32) - self.mean) / self.std
        y = y.transpose(0, 3, 1, 2) if self.nchw else y
        out = self.session.run([self.output], {self._in: np.ascontiguousarray(y)})[0]
        return np.asarray(out, np.float32)


def _metadata(session: Any) -> dict[str, Any]:
    """jpegsal's preprocessing record in an ONNX file's metadata (empty if none)."""
    import json

    text = session.get_modelmeta().custom_metadata_map.get("jpegsal")
    try:
        meta = json.loads(text) if text else {}
    except json.JSONDecodeError:
        meta = {}
    return meta if isinstance(meta, dict) else {}


class TfliteClassifier(Classifier):
    """A TFLite image classifier through ``ai-edge-litert`` (extra ``bench``)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mean: str | Sequence[float] | None = None,
        std: str | Sequence[float] | None = None,
        threads: int | None = 2,
    ) -> None:
        from .._optional import require

        interpreter = require("ai_edge_litert.interpreter").Interpreter
        self.path, self.name = Path(path), Path(path).stem
        self.interpreter = interpreter(model_path=str(self.path), num_threads=threads)
        self.interpreter.allocate_tensors()
        ind, outd = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        shape = list(ind[0]["shape"])
        if len(ind) != 1 or len(shape) != 4 or shape[-1] != 3 or shape[1] != shape[2]:
            raise ValueError(f"{self.path.name}: a classifier takes one (1, S, S, 3) input")
        self._in, self._dtype, self.size = ind[0]["index"], ind[0]["dtype"], int(shape[1])
        self._out, self._quant = outd[0]["index"], outd[0].get("quantization", (0.0, 0))
        oshape = list(outd[0]["shape"])
        if len(outd) != 1 or len(oshape) != 2 or oshape[1] < 2:
            raise ValueError(f"{self.path.name}: output shape {oshape} is not a score vector")
        self.outputs = int(oshape[1])
        self.mean, self.std = _floats(mean, "--mean"), _floats(std, "--std")
        if self._dtype != np.uint8 and (self.mean is None or self.std is None):
            raise ValueError(f"{self.path.name}: a float input needs --mean and --std")

    def _scores(self, x: np.ndarray) -> np.ndarray:
        if self._dtype != np.uint8:
            assert self.mean is not None
            assert self.std is not None
            x = ((x.astype(np.float32) - self.mean) / self.std).astype(self._dtype)
        self.interpreter.set_tensor(self._in, np.ascontiguousarray(x))
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self._out)
        scale, zero = self._quant
        out = (raw.astype(np.float32) - zero) * scale if scale else raw.astype(np.float32)
        return np.asarray(out, np.float32)


def load_classifier(spec: str | os.PathLike[str], **options: Any) -> Classifier:
    """``spec``: a ``.onnx`` or ``.tflite`` file, or a shipped model name with a classifier
    (``cam``, ``msroi``, ``nice``: EfficientNet-Lite0, its preprocessing known).

    ``options``: ``mean``, ``std``, ``input_size``, ``output`` (ONNX), ``threads``;
    ``label_offset``: outputs before the first class (1 for a leading "background").
    """
    offset = int(options.pop("label_offset", 0) or 0)
    clf = _load(spec, **options)
    if not 0 <= offset < clf.outputs - 1:
        raise ValueError(f"label_offset {offset} leaves no classes of {clf.outputs} outputs")
    clf.offset = offset
    return clf


def _load(spec: str | os.PathLike[str], **options: Any) -> Classifier:
    path = Path(os.fspath(spec))
    if path.suffix.lower() == ".tflite":
        if not path.is_file():
            raise FileNotFoundError(f"classifier file not found: {str(path)!r}")
        for flag in ("input_size", "output"):
            if options.pop(flag, None) is not None:
                name = "--" + flag.replace("_", "-")
                raise ValueError(f"{name} is for ONNX classifiers; {path.name} says it itself")
        return TfliteClassifier(path, **options)
    if path.suffix.lower() == ".onnx":
        if not path.is_file():
            raise FileNotFoundError(f"classifier file not found: {str(path)!r}")
        return OnnxClassifier(path, **options)
    return _shipped(str(spec), **options)


def _shipped(name: str, **options: Any) -> Classifier:
    from ..maps.registry import models_dir, shipped_entries

    entries = shipped_entries()
    entry = entries.get(name)
    if entry is None:
        raise ValueError(
            f"--classifier {name!r}: not an .onnx or .tflite file, nor a shipped model "
            f"({', '.join(sorted(entries))})"
        )
    logits = entry.get("outputs", {}).get("logits")
    if not logits:
        raise ValueError(f"--classifier {name!r}: this model has no classifier output")
    norm = entry.get("normalisation", {})
    defaults: dict[str, Any] = {"mean": [norm.get("mean", 127.0)], "std": [norm.get("std", 128.0)]}
    defaults |= {"input_size": entry.get("input_size"), "output": logits}
    clf = OnnxClassifier(models_dir() / entry["file"], **{**defaults, **options})
    clf.name = name
    return clf
