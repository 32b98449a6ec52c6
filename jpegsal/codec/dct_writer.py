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

__all__ = ["dead_zone_quantise", "energy_quantise", "write_coefficients"]

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


def energy_quantise(coefs: np.ndarray, table: np.ndarray, share: float = 1.0) -> np.ndarray:
    """Round to nearest, then round *up* the AC values closest to their rounding boundary,
    block by block, until each block's AC energy is as near the original's as it gets
    (``share`` < 1: as near as ``share`` of the energy that rounding removed).

    Rounding to nearest removes texture energy (most AC values are small and go to 0):
    the opposite of a dead zone (docs/experiments.md section 10). ``coefs``: (..., 8, 8).

    >>> c = np.zeros((1, 8, 8)); c[0, 0, 1:6] = 4.0  # AC energy 80; to nearest: 0
    >>> energy_quantise(c, np.full((8, 8), 10.0))[0, 0, :6].tolist()  # one up: 100
    [0, 1, 0, 0, 0, 0]
    """
    shape = coefs.shape
    q = np.broadcast_to(np.asarray(table, np.float64).reshape(64), (int(np.prod(shape[:-2])), 64))
    x = np.abs(coefs.reshape(-1, 64)) / q
    low = np.floor(x)
    frac = x - low
    near = low + (frac >= 0.5)
    deficit = share * ((x[:, 1:] ** 2 - near[:, 1:] ** 2) * q[:, 1:] ** 2).sum(axis=1)
    candidate = frac < 0.5
    candidate[:, 0] = False  # the DC keeps its nearest level
    gain = np.where(candidate, (2 * low + 1) * q**2, 0.0)
    order = np.argsort(-np.where(candidate, frac, -1.0), axis=1, kind="stable")
    g = np.take_along_axis(gain, order, axis=1)
    total = np.cumsum(g, axis=1)
    take = (g > 0) & (2 * total - g < 2 * deficit[:, None])  # each flip brings it nearer
    up = np.zeros_like(take)
    np.put_along_axis(up, order, take, axis=1)
    levels = near + up
    out: np.ndarray = (np.sign(coefs.reshape(-1, 64)) * levels).astype(np.int16).reshape(shape)
    return out


def write_coefficients(
    image: Image.Image,
    tables: Sequence[np.ndarray],
    offsets: Sequence[float] = (0.5, 0.5),
    *,
    energy: float = 0.0,
) -> bytes:
    """Baseline 4:2:0 (or greyscale) JPEG of ``image`` quantised by ``tables`` (luma,
    chroma; natural order) with per-plane rounding ``offsets`` (luma, chroma), or with
    :func:`energy_quantise` restoring that share of the energy (``energy`` > 0; the
    offsets are then unused)."""
    jpeglib = require("jpeglib")
    w, h = image.size
    planes = image_coefficients(image)
    quantised = []
    for i, c in enumerate(planes):
        ph, pw = (h, w) if i == 0 else (-(-h // 2), -(-w // 2))
        table = np.asarray(tables[min(i, 1)], np.float32).reshape(8, 8)
        grid = c.reshape(-(-ph // 8), -(-pw // 8), 8, 8)
        if energy:
            quantised.append(energy_quantise(grid, table, energy))
        else:
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
