"""The method registry and the protocol every method config follows."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
from PIL import Image

from ..codec.options import JpegOptions
from ..maps.contract import Saliency

__all__ = [
    "Method",
    "MethodSpec",
    "SaliencyMethod",
    "apply_method",
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


class SaliencyMethod:
    """The built-in methods' base: :meth:`apply` (the protocol's, with a full map) goes
    through :meth:`apply_saliency` (the saliency value, which a method reads as block
    means or strips of rows: a coarse map stays coarse), and strength 0 returns the
    image itself; a subclass writes ``_apply``."""

    strength: float

    def apply(self, image: Image.Image, saliency: np.ndarray, options: JpegOptions) -> Image.Image:
        return self.apply_saliency(image, Saliency(saliency, "given"), options)

    def apply_saliency(
        self,
        image: Image.Image,
        saliency: Saliency,
        options: JpegOptions,
        *,
        in_place: bool = False,
    ) -> Image.Image:
        """The image to encode; with ``in_place`` the result may be written into ``image``
        itself (the caller owns it and reads nothing of it afterwards)."""
        if self.strength == 0.0:
            return image
        return self._apply(image, saliency, options, in_place)

    def _apply(
        self, image: Image.Image, saliency: Saliency, options: JpegOptions, in_place: bool
    ) -> Image.Image:
        raise NotImplementedError


def apply_method(
    view: Image.Image,
    method: Method,
    saliency: Saliency,
    options: JpegOptions,
    *,
    in_place: bool = False,
) -> Image.Image:
    """The pixels to encode: ``method`` applied to ``view`` under ``options``.

    The built-in methods take the saliency value (``apply_saliency``: a coarse map stays
    coarse, large images go a strip at a time, and with ``in_place`` the result is
    written into ``view``, which the caller must own and not read again); any other
    method gets the full map (``apply``)."""
    strips = getattr(method, "apply_saliency", None)
    out: Image.Image
    if strips is not None:
        out = strips(view, saliency, options, in_place=in_place)
    else:
        out = method.apply(view, saliency.map, options)
    if out.size != view.size:
        raise ValueError(f"method {method.name!r} changed the image size")
    return out


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
