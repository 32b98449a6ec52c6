"""The coefficient-level writer: the image's own DCT, quantised once, written by libjpeg.

The levels of every block are chosen here (:mod:`jpegsal.codec.quantise`) from the
unquantised DCT of the pixels (:func:`~jpegsal.codec.coefficients.sample_planes`). Pillow
cannot take levels, so they are handed to it as the YCbCr samples they decode to: each
block's inverse DCT, rounded, with chroma repeated over its subsampling factors (libjpeg's
box downsampling of equal samples gives them back). libjpeg's own DCT of those samples,
divided by the same tables, lands on the chosen levels again: the error of rounding the
samples moves a coefficient by about 0.3, far inside half a step. Where a block's samples
leave 0..255 and are clipped, or a table step is 1 or 2, libjpeg's rounding may pick a
neighbouring level (measured: 99.8 % of levels exact at quality 50; the rest move by one).

So the output is whatever Pillow writes for these options (baseline or progressive,
optimised Huffman tables, metadata, restart markers): a standard JPEG every decoder reads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from .coefficients import plane_coefficients, plane_samples, sample_planes
from .quantise import dead_zone_quantise, energy_quantise

__all__ = ["choose_levels", "levels_image", "write_coefficients"]

# Pillow's subsampling codes -> (vertical, horizontal) chroma factors.
_FACTORS = {0: (1, 1), 1: (1, 2), 2: (2, 2)}


def choose_levels(
    planes: Sequence[np.ndarray],
    tables: Sequence[np.ndarray],
    offsets: Sequence[float] = (0.5, 0.5),
    energy: float = 0.0,
) -> list[np.ndarray]:
    """Each plane's (rows, cols, 8, 8) int16 levels: plane ``i`` quantised by
    ``tables[min(i, 1)]`` with rounding ``offsets[min(i, 1)]``, or, with ``energy`` > 0,
    by :func:`~jpegsal.codec.quantise.energy_quantise` restoring that share."""
    out = []
    for i, plane in enumerate(planes):
        table = np.asarray(tables[min(i, len(tables) - 1)], np.float32).reshape(8, 8)
        coefs = plane_coefficients(plane)
        if energy:
            out.append(energy_quantise(coefs, table, energy))
        else:
            out.append(dead_zone_quantise(coefs, table, offsets[min(i, len(offsets) - 1)]))
    return out


def levels_image(
    levels: Sequence[np.ndarray],
    tables: Sequence[np.ndarray],
    size: tuple[int, int],
    factors: tuple[int, int] = (2, 2),
) -> Image.Image:
    """The YCbCr (or L) image of ``size`` whose libjpeg encoding with ``tables`` and these
    chroma ``factors`` has ``levels``: each plane's inverse DCT, rounded, chroma repeated."""
    w, h = size
    bands = []
    for i, lv in enumerate(levels):
        table = np.asarray(tables[min(i, len(tables) - 1)], np.float32).reshape(8, 8)
        samples = plane_samples(lv.astype(np.float32) * table)
        plane = np.clip(np.rint(samples), 0, 255).astype(np.uint8)
        if i:
            plane = plane.repeat(factors[0], axis=0).repeat(factors[1], axis=1)
        bands.append(Image.fromarray(np.ascontiguousarray(plane[:h, :w])))
    return bands[0] if len(bands) == 1 else Image.merge("YCbCr", bands)


def write_coefficients(
    image: Image.Image,
    tables: Sequence[np.ndarray],
    offsets: Sequence[float] = (0.5, 0.5),
    *,
    energy: float = 0.0,
    subsampling: int = 2,
    **save: Any,
) -> bytes:
    """A JPEG of ``image`` (RGB-like or L) whose levels are chosen here, not by libjpeg:
    quantised by ``tables`` (luma, chroma; natural order) with per-plane rounding
    ``offsets``, or energy-preserving with ``energy`` > 0 (:func:`choose_levels`).

    ``subsampling``: Pillow's 0 (4:4:4), 1 (4:2:2) or 2 (4:2:0); ``save``: any other
    keyword of Pillow's JPEG writer (``optimize``, ``progressive``, ``exif``, ...).
    """
    factors = _FACTORS[subsampling]
    planes = sample_planes(image, factors)
    levels = choose_levels(planes, tables, offsets, energy)
    used = [np.asarray(t, np.int64).ravel().tolist() for t in tables[: min(2, len(planes))]]
    buf = io.BytesIO()
    levels_image(levels, tables, image.size, factors).save(
        buf, "JPEG", qtables=used, subsampling=subsampling, **save
    )
    return buf.getvalue()
