"""The preprocessing block an ONNX saliency model declares (``OnnxConfig``), and where it is read.

A model file declares its preprocessing in JSON, either under the ONNX metadata key
``"jpegsal"`` or in a sidecar ``<model>.json``; the shipped models' blocks are in
``models/manifest.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._check import check_int

__all__ = ["OnnxConfig", "read_config"]


@dataclass(frozen=True)
class OnnxConfig:
    """How to feed a model and which outputs to read."""

    saliency_output: str
    logits_output: str | None = None
    input_size: int = 224
    size_multiple: int = 32
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    channels: str = "RGB"
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any, source: str, saliency: str | None = None) -> OnnxConfig:
        """Parse and validate a preprocessing block; ``source`` names it in errors."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: the jpegsal config must be a JSON object")
        outputs = data.get("outputs")
        if not isinstance(outputs, dict) or "saliency" not in outputs:
            raise ValueError(f'{source}: config needs "outputs": {{"saliency": NAME, ...}}')
        names = outputs["saliency"]
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ValueError(f"{source}: outputs.saliency must be an output name or a list")
        if saliency is not None and saliency not in names:
            raise ValueError(f"{source}: saliency output {saliency!r} not in {names}")
        size, multiple = data.get("input_size", 224), data.get("size_multiple", 32)
        for key, value in (("input_size", size), ("size_multiple", multiple)):
            try:
                check_int(key, value, 1)
            except (TypeError, ValueError) as e:  # a file's content: always a ValueError
                raise ValueError(f"{source}: {e}") from None
        channels = data.get("channels", "RGB")
        if channels not in ("RGB", "BGR"):
            raise ValueError(f"{source}: channels must be 'RGB' or 'BGR', got {channels!r}")
        logits = outputs.get("logits")
        if logits is not None and not isinstance(logits, str):
            raise ValueError(f"{source}: outputs.logits must be an output name or null")
        return cls(
            saliency_output=saliency or names[0],
            logits_output=logits,
            input_size=size,
            size_multiple=multiple,
            mean=_triple(data.get("mean", 0.0), "mean", source),
            std=_triple(data.get("std", 1.0), "std", source, positive=True),
            channels=channels,
            extra=data,
        )


def _triple(
    value: Any, key: str, source: str, positive: bool = False
) -> tuple[float, float, float]:
    values = [value] * 3 if isinstance(value, (int, float)) else value
    ok = isinstance(values, list) and len(values) == 3
    ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not ok or (positive and min(values) <= 0):
        raise ValueError(
            f"{source}: {key} must be a number or 3 numbers"
            f"{' > 0' if positive else ''}, got {value!r}"
        )
    return (float(values[0]), float(values[1]), float(values[2]))


def read_config(path: Path, session_meta: dict[str, str] | None = None) -> Any:
    """The JSON preprocessing block of a custom model: ONNX metadata, else a sidecar file."""
    if session_meta and "jpegsal" in session_meta:
        try:
            return json.loads(session_meta["jpegsal"])
        except json.JSONDecodeError as e:
            raise ValueError(f"{path.name}: metadata 'jpegsal' is not valid JSON: {e}") from e
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        try:
            return json.loads(sidecar.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{sidecar.name} is not valid JSON: {e}") from e
    raise ValueError(
        f"{path.name} declares no preprocessing: add a 'jpegsal' JSON entry to its ONNX "
        f"metadata or a sidecar {sidecar.name} with input_size, mean, std and "
        "outputs.saliency"
    )
