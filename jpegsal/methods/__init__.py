"""Pre-encode methods: interchangeable strategies applied before the codec.

A method is a small frozen configuration object whose ``apply`` calls a pure
function ``f(pixels, saliency, config) -> pixels``: it takes the image as a
uint8 array and the saliency map (float32 ``(H, W)`` in [0, 1]) and returns
new pixels of the same shape and dtype; the codec then encodes them. Every
method has ``strength`` in [0, 1], and strength 0 must give the plain JPEG.

Where to add a method: one module in this package with the function and its
config class, and one :func:`register_method` call.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Method", "MethodSpec", "available_methods", "get_method", "register_method"]


@runtime_checkable
class Method(Protocol):
    """The configuration object of a pre-encode method."""

    name: str
    strength: float

    def apply(self, pixels: np.ndarray, saliency: np.ndarray) -> np.ndarray:
        """Return pre-encoded ``pixels`` (same shape and dtype)."""
        ...


MethodSpec = str | Method | None
_REGISTRY: dict[str, type[Method]] = {}


def register_method(cls: type[Method]) -> type[Method]:
    """Register a config class under its ``name`` (usable as a class decorator)."""
    if cls.name in _REGISTRY:
        raise ValueError(f"a method named {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def available_methods() -> list[str]:
    """Names accepted by ``method=``, sorted."""
    return sorted(_REGISTRY)


def get_method(spec: MethodSpec) -> Method | None:
    """Resolve ``method=`` (a name, a config instance or ``None``) to a config instance."""
    if spec is None or isinstance(spec, Method):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"method must be a name, a method config or None, got {spec!r}")
    try:
        return _REGISTRY[spec]()
    except KeyError:
        names = ", ".join(map(repr, available_methods())) or "none installed in this version"
        raise ValueError(f"unknown method {spec!r}; available: {names}") from None
