"""A coefficient-level JPEG writer: the image's own DCT, quantised once, entropy-coded.

libjpeg quantises by rounding to the nearest multiple of each table entry. Here every
coefficient is quantised from the unquantised DCT of the pixels
(:func:`~jpegsal.codec.coefficients.image_coefficients`) with a *rounding offset*:
``sign(c) * floor(|c| / q + offset)``. Offset 0.5 is libjpeg's rounding; a smaller
offset is a dead zone: values just above a rounding boundary go down, which costs a
little distortion and saves more bits (a cheap stand-in for rate-distortion optimised
quantisation). The quantised blocks are written as a baseline JPEG with optimised Huffman
tables by libjpeg-turbo through jpeglib (extra ``bench``; every decoder reads the
output).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import numpy as np
from PIL import Image

from .._optional import require
from .coefficients import image_coefficients

__all__ = ["dead_zone_quantise", "write_coefficients"]

_LIBJPEG = "turbo210"  # jpeglib's libjpeg-turbo 2.1 build (its default is IJG 6b)


def dead_zone_quantise(coefs: np.ndarray, table: np.ndarray, offset: float) -> np.ndarray:
    """``sign(c) * floor(|c| / table + offset)`` as int16 (offset 0.5: round to nearest).

    >>> c = np.array([[0.0, 6.0, -15.0, 16.0]])
    >>> dead_zone_quantise(c, np.array([[10.0, 10.0, 10.0, 10.0]]), 0.5).tolist()
    [[0, 1, -2, 2]]
    >>> dead_zone_quantise(c, np.array([[10.0, 10.0, 10.0, 10.0]]), 0.3).tolist()
    [[0, 0, -1, 1]]
    """
    levels = np.floor(np.abs(coefs) / table + offset)
    out: np.ndarray = (np.sign(coefs) * levels).astype(np.int16)
    return out


def write_coefficients(
    image: Image.Image, tables: Sequence[np.ndarray], offsets: Sequence[float] = (0.5, 0.5)
) -> bytes:
    """Baseline 4:2:0 (or greyscale) JPEG of ``image`` quantised by ``tables`` (luma,
    chroma; natural order) with per-plane rounding ``offsets`` (luma, chroma)."""
    jpeglib = require("jpeglib")
    w, h = image.size
    planes = image_coefficients(image)
    quantised = []
    for i, c in enumerate(planes):
        ph, pw = (h, w) if i == 0 else (-(-h // 2), -(-w // 2))
        table = np.asarray(tables[min(i, 1)], np.float32).reshape(8, 8)
        grid = c.reshape(-(-ph // 8), -(-pw // 8), 8, 8)
        quantised.append(dead_zone_quantise(grid, table, offsets[min(i, 1)]))
    qt = np.stack([np.asarray(t, np.uint16).reshape(8, 8) for t in tables[: min(2, len(planes))]])
    if len(quantised) == 3:
        jpeg = jpeglib.from_dct(*quantised, qt=qt, quant_tbl_no=[0, 1, 1])
    else:
        jpeg = jpeglib.from_dct(quantised[0], qt=qt[:1])
    jpeg.width, jpeg.height = w, h  # the image's size, not the block grid's
    fd, path = tempfile.mkstemp(suffix=".jpg")  # jpeglib writes only to files
    os.close(fd)
    try:
        with jpeglib.version(_LIBJPEG):
            jpeg.write_dct(path, flags=["+OPTIMIZE_CODING"])
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)
