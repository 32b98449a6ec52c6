"""The method registry and the protocol every method config follows."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
from PIL import Image

from ..codec.options import JpegOptions

__all__ = [
    "Method",
    "MethodSpec",
    "available_methods",
    "get_method",
    "per_quality",
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


def per_quality(method: Method) -> bool:
    """Whether ``method``'s output depends on the quality (it reads the quantisation tables).

    Rate control then applies it again for each candidate quality; methods that only
    need the grid say ``per_quality: ClassVar[bool] = False`` and are applied once. A
    method that does not say is assumed to read the tables: slower, never wrong.
    """
    return bool(getattr(method, "per_quality", True))


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
