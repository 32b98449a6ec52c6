"""Pre-encode methods: interchangeable strategies applied before the codec.

A method is a small frozen configuration object (a dataclass with a readable
``repr``) whose ``apply`` calls a pure function on the pixels: it takes the
image (mode L or RGB), the saliency map (float32 ``(H, W)`` in [0, 1]) and the
normalised JPEG options (for the block grid and quantisation tables), and
returns the image to encode. Every method has ``strength`` in [0, 1]:
strength 0 returns the image untouched, so the output is the plain JPEG.

Where to add a method: one module in this package with the function and its
config class, and one :func:`register_method` call.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
from PIL import Image

from ..options import JpegOptions

__all__ = [
    "Method",
    "MethodSpec",
    "available_methods",
    "get_method",
    "register_method",
    "with_strength",
]


@runtime_checkable
class Method(Protocol):
    """The configuration object of a pre-encode method."""

    @property
    def name(self) -> str: ...

    @property
    def strength(self) -> float: ...

    def apply(self, image: Image.Image, saliency: np.ndarray, options: JpegOptions) -> Image.Image:
        """Return the image to encode (same size; the input itself when strength is 0)."""
        ...


MethodSpec = str | Method | None
_REGISTRY: dict[str, type[Any]] = {}
T = TypeVar("T")


def register_method(cls: type[T]) -> type[T]:
    """Register a config class under its class attribute ``name`` (a class decorator)."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str):
        raise TypeError(f"{cls.__name__} needs a class attribute name: ClassVar[str]")
    if name in _REGISTRY:
        raise ValueError(f"a method named {name!r} is already registered")
    _REGISTRY[name] = cls
    return cls


def with_strength(method: Method, strength: float) -> Method:
    """A copy of ``method`` with another strength (methods are frozen dataclasses)."""
    if strength == method.strength:
        return method
    if not dataclasses.is_dataclass(method):
        raise TypeError(f"cannot change the strength of {method!r}: it is not a dataclass")
    changed: Method = dataclasses.replace(method, strength=strength)
    return changed


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
        method: Method = _REGISTRY[spec]()
        return method
    except KeyError:
        names = ", ".join(map(repr, available_methods())) or "none installed in this version"
        raise ValueError(f"unknown method {spec!r}; available: {names}") from None


# The shipped methods register themselves on import (after register_method exists).
from . import blocks, downsample, guided, mix  # noqa: E402, F401
