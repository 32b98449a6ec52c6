"""ONNX saliency models: pre-processing, inference, and post-processing to the output contract.

The whole image is resized, keeping its aspect ratio, to about ``input_size``²
pixels with both sides multiples of ``size_multiple``. Nothing is cropped, so
the map covers the whole picture. The network's coarse map is then upsampled
bilinearly to the image's full resolution, which gives a float32 ``(H, W)``
map in [0, 1] for any size or aspect ratio, from 1x1 to tens of megapixels.

A model file declares its preprocessing in JSON, either under the ONNX
metadata key ``"jpegsal"`` or in a sidecar ``<model>.json``::

    {"input_size": 224, "size_multiple": 32, "mean": 127.0, "std": 128.0,
     "channels": "RGB", "outputs": {"saliency": "cam", "logits": "logits"}}
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .._optional import require
from .onnx_config import OnnxConfig, read_config
from .session import get_session, session_provider

__all__ = ["OnnxConfig", "OnnxSaliencyModel", "network_size", "read_config"]

MAX_SIDE = 1024  # longest network-input side: caps the cost for extreme aspect ratios
_HASHES: dict[tuple[str, int, int], str] = {}
_HASH_LOCK = threading.Lock()


def network_size(width: int, height: int, size: int, multiple: int) -> tuple[int, int]:
    """Network input (w, h): about ``size``² pixels, same aspect, multiples of ``multiple``."""
    scale = size / math.sqrt(width * height)
    top = max(multiple, MAX_SIDE // multiple * multiple)

    def fit(n: int) -> int:
        return min(top, max(multiple, round(n * scale / multiple) * multiple))

    return fit(width), fit(height)


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached per (path, size, mtime)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        if key not in _HASHES:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            _HASHES[key] = digest.hexdigest()
        return _HASHES[key]


class OnnxSaliencyModel:
    """A saliency model backed by one ONNX file (shipped or custom).

    Parameters
    ----------
    name : str
        Name shown in errors and listings.
    path : path
        The ONNX file.
    config : OnnxConfig
        Preprocessing and output names.
    sha256 : str, optional
        Expected digest; checked before the session is built.
    device, providers, threads
        Passed to :func:`jpegsal.session.get_session`.
    """

    def __init__(
        self,
        name: str,
        path: str | os.PathLike[str],
        config: OnnxConfig,
        *,
        sha256: str | None = None,
        device: str = "auto",
        providers: Sequence[str] | None = None,
        threads: int | None = None,
    ) -> None:
        self.name = name
        self.path = Path(path)
        self.config = config
        if not self.path.is_file():
            raise FileNotFoundError(f"model file not found: {str(self.path)!r}")
        if sha256 is not None and (actual := file_sha256(self.path)) != sha256:
            raise RuntimeError(
                f"model file {self.path.name} is corrupt or modified: sha256 {actual[:16]}..., "
                f"expected {sha256[:16]}...; reinstall jpegsal or rebuild the models with "
                "python -m jpegsal.train.export"
            )
        self.session = get_session(self.path, device=device, providers=providers, threads=threads)
        self.provider = session_provider(self.session)
        self._input = _check_signature(self.session, config, self.path.name)

    def __repr__(self) -> str:
        return f"OnnxSaliencyModel({self.name!r}, provider={self.provider!r})"

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """``image`` -> float32 (1, 3, h, w) network input."""
        c = self.config
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        w, h = network_size(rgb.width, rgb.height, c.input_size, c.size_multiple)
        shrink = w * h < rgb.width * rgb.height
        # BOX averages every source pixel when shrinking (no aliasing) and is
        # the fastest Pillow filter; reducing_gap first takes integer steps.
        small = rgb.resize(
            (w, h),
            Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR,
            reducing_gap=3.0 if shrink else None,
        )
        x = np.asarray(small, dtype=np.float32)
        if c.channels == "BGR":
            x = x[:, :, ::-1]
        mean, std = np.asarray(c.mean, np.float32), np.asarray(c.std, np.float32)
        out: np.ndarray = np.ascontiguousarray(((x - mean) / std).transpose(2, 0, 1)[None])
        return out

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw outputs for a preprocessed batch: (coarse maps (N, h, w), logits or None)."""
        names = [self.config.saliency_output]
        if self.config.logits_output:
            names.append(self.config.logits_output)
        outputs = self.session.run(names, {self._input: batch})
        maps = np.asarray(outputs[0], np.float32)
        if maps.ndim == 4:
            maps = maps[:, 0]
        return maps, (np.asarray(outputs[1]) if len(outputs) > 1 else None)

    def predict(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
        """(full-resolution saliency map, logits of the classifier or None)."""
        coarse, logits = self.predict_coarse(image)
        return upsample(coarse, image.size), logits

    def predict_coarse(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
        """(the network's coarse map, logits or None): :meth:`predict` before upsampling."""
        maps, logits = self.run(self.preprocess(image))
        return maps[0], (None if logits is None else logits[0])

    def __call__(self, image: Image.Image) -> np.ndarray:
        """Float32 ``(H, W)`` map in [0, 1] for ``image``."""
        return self.predict(image)[0]

    def classify(self, image: Image.Image) -> np.ndarray:
        """The classifier's logits on ``image``: the network runs, no map is upsampled."""
        if self.config.logits_output is None:
            raise ValueError(f"model {self.name!r} has no classifier (no logits output)")
        batch = self.preprocess(image)
        logits = self.session.run([self.config.logits_output], {self._input: batch})[0]
        out: np.ndarray = np.asarray(logits[0], np.float64)
        return out

    @property
    def has_classifier(self) -> bool:
        """True when the graph has a logits output (``classify`` and ``preserve`` work)."""
        return self.config.logits_output is not None

    def batch(self, images: Sequence[Image.Image]) -> list[np.ndarray]:
        """Maps for several images; images with the same network size share one run."""
        inputs = [self.preprocess(im) for im in images]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, x in enumerate(inputs):
            groups.setdefault(x.shape, []).append(i)
        out: list[np.ndarray] = [np.empty(0, np.float32)] * len(images)
        for idx in groups.values():
            maps, _ = self.run(np.concatenate([inputs[i] for i in idx]))
            for j, i in enumerate(idx):
                out[i] = upsample(maps[j], images[i].size)
        return out


def upsample(coarse: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of a coarse map to PIL ``size`` (W, H), clipped to [0, 1]."""
    cv2 = require("cv2")
    # cv2 maps pixel centres to pixel centres, so the coarse cells stay aligned
    # with the image regions they were computed from.
    full = cv2.resize(
        np.ascontiguousarray(coarse, np.float32), size, interpolation=cv2.INTER_LINEAR
    )
    full = np.asarray(full, np.float32).reshape(size[1], size[0])
    np.clip(full, 0.0, 1.0, out=full)
    return full


def _check_signature(session: Any, config: OnnxConfig, label: str) -> str:
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ValueError(
            f"{label}: a saliency model takes one input, this one has {[i.name for i in inputs]}"
        )
    inp = inputs[0]
    shape = list(inp.shape)
    # A symbolic channel dimension (None or a name) is accepted; a fixed one must be 3.
    channel_ok = len(shape) == 4 and (shape[1] == 3 or not isinstance(shape[1], int))
    if inp.type != "tensor(float)" or not channel_ok:
        raise ValueError(
            f"{label}: input {inp.name!r} must be float32 (N, 3, H, W), "
            f"got {inp.type} with shape {shape}"
        )
    outputs = {o.name: o for o in session.get_outputs()}
    for role, name in (("saliency", config.saliency_output), ("logits", config.logits_output)):
        if name is not None and name not in outputs:
            raise ValueError(
                f"{label}: config names {role} output {name!r}, but the model's "
                f"outputs are {sorted(outputs)}"
            )
    rank = len(outputs[config.saliency_output].shape)
    if rank not in (3, 4):
        raise ValueError(
            f"{label}: saliency output {config.saliency_output!r} must be "
            f"(N, h, w) or (N, 1, h, w), got rank {rank}"
        )
    return str(inp.name)
