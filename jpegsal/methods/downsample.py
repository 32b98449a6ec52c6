"""``downsample``: mixed resolution, as in NICE (Li and Ji 2019).

Blocks whose mean saliency is below ``strength`` are replaced by a
low-resolution version of the image (downscaled by ``factor``, then scaled
back). A low-resolution region has almost no high-frequency DCT content,
which is what JPEG spends its bits on. Decisions are made per MCU (8x8, or
16x16 with 4:2:0 chroma), so kept regions are whole encoder blocks and stay
pixel-exact. The seam is feathered over one MCU *inside* the replaced region,
which leaves no hard edge for the DCT to ring on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from PIL import Image

from .._check import check_number
from .._optional import require
from ..codec.options import JpegOptions
from ..codec.tables import mcu_shape
from ..maps.contract import Saliency
from ..maps.lazy import LAZY_ABOVE
from ._grid import block_means, expand_blocks, one_minus, shrink_cells
from ._strips import STRIP_PIXELS, Target, enlarge_rows, image_block_means, read_rows
from .registry import SaliencyMethod, register_method

__all__ = ["Downsample", "mixed_resolution", "mixed_resolution_strips"]


@register_method
@dataclass(frozen=True)
class Downsample(SaliencyMethod):
    """Keep salient MCUs at full resolution, the rest at 1/``factor``.

    Parameters
    ----------
    strength : float in [0, 1]
        MCUs with mean saliency below ``strength`` go low-resolution; 0 keeps all.
    factor : {2, 4, 8}
        Downscaling factor of the background.
    """

    strength: float = 0.5
    factor: int = 4
    name: ClassVar[str] = "downsample"
    per_quality: ClassVar[bool] = False  # reads the MCU grid, not the tables

    def __post_init__(self) -> None:
        check_number("strength", self.strength, 0, 1)
        if self.factor not in (2, 4, 8):
            raise ValueError(f"factor must be 2, 4 or 8, got {self.factor!r}")

    def _apply(
        self, image: Image.Image, saliency: Saliency, options: JpegOptions, in_place: bool
    ) -> Image.Image:
        """:meth:`apply` with the saliency value. Images of at least ``LAZY_ABOVE`` pixels
        go a strip at a time (into ``image`` itself when ``in_place``), their map never
        enlarged in full (:func:`mixed_resolution_strips`)."""
        block = mcu_shape(options, image.mode)
        if image.width * image.height >= LAZY_ABOVE:
            keep = saliency.block_means(*block) >= self.strength
            return mixed_resolution_strips(image, keep, self.factor, block, in_place)
        out = mixed_resolution(np.asarray(image), saliency.map, self.strength, self.factor, block)
        return Image.fromarray(out, image.mode)


def mixed_resolution(
    pixels: np.ndarray,
    saliency: np.ndarray,
    strength: float,
    factor: int,
    block: tuple[int, int],
) -> np.ndarray:
    """Replace the MCUs of ``pixels`` whose mean saliency is below ``strength``."""
    cv2 = require("cv2")
    h, w = saliency.shape
    bh, bw = block
    keep = (block_means(saliency, bh, bw) >= strength).astype(np.float32)
    if keep.all() or h < factor or w < factor:  # smaller than one cell: nothing to shrink
        return pixels
    # Whole cells only (see shrink_cells); enlarging to the full size covers the edge.
    small = shrink_cells(pixels, factor)
    low = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).reshape(pixels.shape)
    # Blended in place, a strip at a time: the float32 weights stay strip-sized.
    out: np.ndarray = low
    rows = max(1, STRIP_PIXELS // (w * bh))  # MCU rows per strip
    for g0 in range(0, keep.shape[0], rows):
        g1 = min(keep.shape[0], g0 + rows)
        if not keep[max(0, g0 - 1) : g1 + 1].any():
            continue  # no kept MCU within reach of the ramp: all low resolution
        y0, y1 = g0 * bh, min(h, g1 * bh)
        alpha = _weights(keep, g0, g1, (bh, bw), (h, w))
        out[y0:y1] = np.asarray(
            cv2.blendLinear(pixels[y0:y1], low[y0:y1], alpha, one_minus(alpha))
        ).reshape(pixels[y0:y1].shape)
    return out


def mixed_resolution_strips(
    image: Image.Image, keep: np.ndarray, factor: int, block: tuple[int, int], in_place: bool
) -> Image.Image:
    """:func:`mixed_resolution` for large images, a strip of MCU rows at a time.

    The low-resolution image is made of every ``factor`` x ``factor`` cell (the edge
    cells padded by replication, as libjpeg pads) and enlarged by exactly ``factor``, a
    strip at a time (:func:`~._strips.enlarge_rows`); the whole-image version keeps whole
    cells only and stretches them over the edge, so the two differ by under a cell's
    shift near the right and bottom edges. Nothing full-size is made but the result,
    which is ``image`` itself when ``in_place``."""
    cv2 = require("cv2")
    h, w = image.height, image.width
    bh = block[0]
    if keep.all() or h < factor or w < factor:
        return image
    small = image_block_means(image, factor, factor)
    target = Target(image, in_place)
    rows = max(1, STRIP_PIXELS // (w * bh))  # MCU rows per strip
    for g0 in range(0, keep.shape[0], rows):
        g1 = min(keep.shape[0], g0 + rows)
        y0, y1 = g0 * bh, min(h, g1 * bh)
        low = enlarge_rows(small, factor, y0 // factor, -(-y1 // factor), w)[: y1 - y0]
        if keep[max(0, g0 - 1) : g1 + 1].any():  # a kept MCU within reach of the ramp
            alpha = _weights(keep.astype(np.float32), g0, g1, block, (h, w))
            pixels = read_rows(image, y0, y1)
            low = cv2.blendLinear(pixels, low, alpha, one_minus(alpha)).reshape(pixels.shape)
        target.write(np.asarray(low), y0)
    return target.finish()


def _weights(
    keep: np.ndarray, g0: int, g1: int, block: tuple[int, int], shape: tuple[int, int]
) -> np.ndarray:
    """The blend weight of MCU rows ``g0..g1``: 1 in kept blocks, a ramp from 1 at a kept
    block's edge to 0 one MCU away outside them. The ramp reaches one MCU row beyond the
    strip, so those rows are included and cut off again: the result equals the
    whole-image weight's rows."""
    cv2 = require("cv2")
    (bh, bw), (h, w) = block, shape
    a, b = max(0, g0 - 1), min(keep.shape[0], g1 + 1)
    mask = expand_blocks(keep[a:b], bh, bw, (min(h, b * bh) - a * bh, w))
    spread = cv2.blur(mask, (2 * bw + 1, 2 * bh + 1), borderType=cv2.BORDER_REPLICATE)
    alpha = cv2.max(mask, cv2.min(cv2.multiply(spread, 2.0), 1.0))
    top = (g0 - a) * bh
    rows: np.ndarray = np.ascontiguousarray(alpha[top : top + min(h, g1 * bh) - g0 * bh])
    return rows
