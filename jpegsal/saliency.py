"""Saliency stage: the model registry and the output contract.

A saliency model maps a PIL image to a float32 ``(H, W)`` array in [0, 1]
aligned to the whole image at full resolution (the *output contract*). Models
register a factory under a name; ``model=`` accepts that name, a ready
instance, or ``None`` (no saliency: plain JPEG).

Where to add a model: write a class satisfying :class:`SaliencyModel` and call
:func:`register_model` with its name (shipped ONNX models are described by
``models/manifest.json`` and loaded through one session layer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

__all__ = [
    "ModelSpec",
    "SaliencyModel",
    "available_models",
    "check_model_spec",
    "check_saliency",
    "get_model",
    "register_model",
]


@runtime_checkable
class SaliencyModel(Protocol):
    """Anything that turns an image into a saliency map."""

    name: str

    def __call__(self, image: Image.Image) -> np.ndarray:
        """Return a float32 ``(H, W)`` map in [0, 1] for ``image`` (``H, W`` = its size)."""
        ...


ModelSpec = str | SaliencyModel | None
_REGISTRY: dict[str, Callable[[str], SaliencyModel]] = {}


def register_model(name: str, factory: Callable[[str], SaliencyModel]) -> None:
    """Register ``factory(device) -> SaliencyModel`` under ``name``."""
    if name in _REGISTRY:
        raise ValueError(f"a saliency model named {name!r} is already registered")
    _REGISTRY[name] = factory


def available_models() -> list[str]:
    """Names accepted by ``model=``, sorted."""
    return sorted(_REGISTRY)


def check_model_spec(spec: ModelSpec) -> None:
    """Raise if ``model=`` is not a registered name, a model instance or ``None``.

    Cheap: nothing is loaded, so callers can validate a model they may never run.
    """
    if spec is None or isinstance(spec, SaliencyModel):
        return
    if not isinstance(spec, str):
        raise TypeError(f"model must be a name, a SaliencyModel or None, got {spec!r}")
    if spec not in _REGISTRY:
        names = ", ".join(map(repr, available_models())) or "none installed in this version"
        raise ValueError(f"unknown model {spec!r}; available: {names}")


def get_model(spec: ModelSpec, device: str = "auto") -> SaliencyModel | None:
    """Resolve ``model=`` (a name, an instance or ``None``) to a model instance."""
    check_model_spec(spec)
    if spec is None or isinstance(spec, SaliencyModel):
        return spec
    return _REGISTRY[spec](device)


def check_saliency(saliency: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Enforce the output contract on a model's result; ``size`` is PIL's (W, H)."""
    expected = (size[1], size[0])
    if saliency.shape != expected:
        raise ValueError(f"saliency map has shape {saliency.shape}, expected {expected}")
    sal = np.asarray(saliency, dtype=np.float32)
    if not np.isfinite(sal).all() or sal.min() < 0.0 or sal.max() > 1.0:
        raise ValueError("saliency map must hold finite values in [0, 1]")
    return sal
