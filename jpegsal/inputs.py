"""Input loading: any supported image input -> a PIL image in a JPEG-writable mode.

Accepted inputs are a ``PIL.Image.Image``, a numpy array, a path, ``bytes`` or
a binary file object. The result keeps the pixels in stored order (EXIF
orientation stays metadata; pixels are never rotated) and the source's
metadata, so the codec can carry it over when asked.

Mode rules (Pillow writes L, RGB, RGBX, CMYK, YCbCr and 1 itself; the others
are converted here by an explicit rule):

* ``P`` without transparency -> RGB (palette expansion, lossless).
* Alpha modes (RGBA, LA, PA, RGBa, La, P with transparency) -> Pillow's own
  ``OSError("cannot write mode ... as JPEG")`` unless ``background`` is given,
  in which case they are composited onto that solid colour.
* ``I;16*`` and ``I``: 16-bit values, 0..65535 mapped linearly to 0..255
  (``round(v / 257)``); an ``I`` image whose values all lie in 0..255 is taken as
  8-bit (as Pillow's ``convert("L")``); ``I`` values outside 0..65535 are an error.
* ``F``: Pillow's 0..255 scale, rounded; NaN or values outside 0..255 are an error.
* numpy float arrays use the 0..1 scale (``round(x * 255)``); NaN or values
  outside [0, 1] are an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from ._open import (
    PILLOW_DEFAULT,
    CorruptDataError,
    CorruptDataWarning,
    InputWarning,
    open_encoded,
)

__all__ = [
    "PILLOW_DEFAULT",
    "Background",
    "CorruptDataError",
    "CorruptDataWarning",
    "ImageInput",
    "InputWarning",
    "Source",
    "background_rgb",
    "load_image",
]

ImageInput = Image.Image | np.ndarray | str | os.PathLike[str] | bytes | BinaryIO
Background = int | tuple[int, int, int]

_WRITABLE = {"1", "L", "RGB", "RGBX", "CMYK", "YCbCr"}
_ALPHA = {"RGBA": "RGBA", "LA": "LA", "PA": "RGBA", "RGBa": "RGBA", "La": "LA"}
_METADATA_KEYS = ("exif", "icc_profile", "xmp", "comment")


@dataclass
class Source:
    """A loaded input, ready for the pipeline.

    Attributes
    ----------
    image : PIL.Image.Image
        Pixels in a mode Pillow's JPEG writer accepts.
    info : dict
        Metadata of the original (``exif``, ``icc_profile``, ``xmp``, ``comment``).
    original_mode : str
        The mode before any conversion.
    owned : bool
        Whether ``image`` is jpegsal's own (decoded, converted or copied here) rather than
        the caller's PIL image: only then may a method write its result into it.
    """

    image: Image.Image
    info: dict[str, Any]
    original_mode: str
    stored_size: tuple[int, int] | None = None  # the file's size, when ``draft`` reduced it
    owned: bool = False


def load_image(
    obj: ImageInput,
    *,
    background: Background | None = None,
    max_pixels: int | None = PILLOW_DEFAULT,
    corrupt: str = "warn",
    draft: int | None = None,
) -> Source:
    """Load ``obj`` and convert it to a JPEG-writable PIL image.

    Parameters
    ----------
    obj : PIL.Image.Image, (M, N[, C]) ndarray, path, bytes or binary file
        The image. Arrays may be uint8, uint16, bool or float (0..1) with
        C in {1, 3, 4}.
    background : int or (r, g, b), optional
        Colour that alpha is composited onto. Without it, an image with alpha
        raises Pillow's ``OSError``.
    max_pixels : int or None, optional
        Decompression-bomb limit for encoded inputs (paths, bytes, files).
        By default Pillow's ``Image.MAX_IMAGE_PIXELS`` behaviour applies
        (a warning above it, an error above twice it). An int raises
        ``PIL.Image.DecompressionBombError`` above that many pixels; ``None``
        disables the check.
    corrupt : {"warn", "error", "ignore"}
        A JPEG input (path, bytes or file) whose data libjpeg reports as damaged
        (:mod:`jpegsal.codec.turbojpeg`; Pillow decodes it silently): a
        :class:`CorruptDataWarning`, an ``OSError`` naming the file, or nothing.
    draft : int, optional
        For saliency only: a JPEG input is decoded at the smallest DCT scale whose
        shorter side is at least ``draft`` pixels; ``Source.stored_size`` keeps the
        file's size, which maps must cover.
    """
    stored = None
    if isinstance(obj, Image.Image):
        image = obj
    elif isinstance(obj, np.ndarray):
        image = _from_array(obj)
    elif isinstance(obj, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(obj, "read"):
        image, stored = open_encoded(obj, max_pixels, corrupt, draft)
    else:
        raise TypeError(
            f"image must be a PIL image, numpy array, path, bytes or binary file object, "
            f"got {type(obj).__name__}"
        )
    if image.width == 0 or image.height == 0:
        # Pillow's words ("cannot write empty image"), so code that matches them still works.
        raise ValueError(f"cannot write empty image ({image.width}x{image.height})")
    info = {k: image.info[k] for k in _METADATA_KEYS if image.info.get(k)}
    png_xmp = image.info.get("XML:com.adobe.xmp")  # PNG keeps XMP as text under this key
    if "xmp" not in info and isinstance(png_xmp, str) and png_xmp:
        info["xmp"] = png_xmp.encode("utf-8")
    reduced = stored if stored is not None and stored != image.size else None
    pixels = _writable(image, background)
    # An image from an array may share the array's memory; Pillow copies such an image
    # before the first write into it, so writing into it never reaches the caller's array.
    return Source(pixels, info, image.mode, reduced, owned=pixels is not obj)


def _from_array(a: np.ndarray) -> Image.Image:
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(
            f"array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {a.shape}"
        )
    if a.size == 0:
        raise ValueError(f"image array is empty, shape {a.shape}")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise ValueError("float image array contains NaN or infinity")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"float image array must be in [0, 1], got values in [{lo:g}, {hi:g}]; "
                "divide by 255 if it is on the 0..255 scale"
            )
        a = np.rint(a * 255.0).astype(np.uint8)
    elif a.dtype.kind == "u" and a.dtype.itemsize == 2:  # either byte order
        if a.ndim == 3:
            raise ValueError("uint16 arrays must be greyscale (H, W); convert colour to uint8")
        a = _sixteen_to_eight(a)
    elif a.dtype != np.uint8:
        raise TypeError(
            f"array dtype must be uint8, uint16, bool or float, got {a.dtype}; "
            "convert with arr.astype(np.uint8) if the values are 0..255"
        )
    mode = "L" if a.ndim == 2 else ("RGB" if a.shape[2] == 3 else "RGBA")
    return Image.fromarray(np.ascontiguousarray(a), mode)


def _sixteen_to_eight(a: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.rint(a.astype(np.float32) / 257.0).astype(np.uint8)
    return out


def _writable(image: Image.Image, background: Background | None) -> Image.Image:
    mode = image.mode
    if mode == "P":
        if "transparency" in image.info:
            image, mode = image.convert("RGBA"), "RGBA"
        else:
            return image.convert("RGB")
    if mode in _WRITABLE:
        return image
    if mode in _ALPHA:
        if background is None:
            # Pillow's own error, so code that catches it keeps working.
            raise OSError(
                f"cannot write mode {mode} as JPEG; pass background=(r, g, b) to flatten alpha"
            )
        return _flatten(image.convert(_ALPHA[mode]), background)
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(image)
        lo, hi = int(a.min()), int(a.max())
        if mode == "I" and (lo < 0 or hi > 65535):
            raise ValueError(f"mode I image has values in [{lo}, {hi}]; only 0..65535 is supported")
        if mode == "I" and hi <= 255:
            # 32-bit ints holding 8-bit values (Image.convert("I") of an L image): taken
            # as they are, as Pillow's convert("L") does; scaling by 1/257 would blacken them.
            return Image.fromarray(a.astype(np.uint8), "L")
        return Image.fromarray(_sixteen_to_eight(a.astype(np.uint16)), "L")
    if mode == "F":
        a = np.asarray(image)
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 255:
            raise ValueError("mode F image must hold finite values in 0..255")
        return Image.fromarray(np.rint(a).astype(np.uint8), "L")
    raise OSError(f"cannot write mode {mode} as JPEG; convert it to RGB first")


def _flatten(image: Image.Image, background: Background) -> Image.Image:
    rgb = background_rgb(background)
    base = Image.new("RGBA", image.size, (*rgb, 255))
    out = Image.alpha_composite(base, image.convert("RGBA"))
    # Grey on grey stays greyscale, so LA inputs do not grow into RGB files.
    grey = image.mode == "LA" and rgb[0] == rgb[1] == rgb[2]
    flat = out.convert("L" if grey else "RGB")
    flat.info = dict(image.info)
    return flat


def background_rgb(background: Background) -> tuple[int, int, int]:
    """Validate ``background`` (a grey level or an (r, g, b) tuple) and return it as RGB."""
    if isinstance(background, int) and not isinstance(background, bool):
        values: tuple[Any, ...] = (background,) * 3
    elif isinstance(background, (tuple, list)) and len(background) == 3:
        values = tuple(background)
    else:
        raise TypeError(f"background must be an int or an (r, g, b) tuple, got {background!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values):
        raise ValueError(f"background values must be ints in 0..255, got {background!r}")
    return (int(values[0]), int(values[1]), int(values[2]))
