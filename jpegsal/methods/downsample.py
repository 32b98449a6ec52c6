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
from ._grid import block_means, expand_blocks, one_minus, shrink_cells
from .registry import register_method

__all__ = ["Downsample", "mixed_resolution"]


@register_method
@dataclass(frozen=True)
class Downsample:
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

    def apply(self, image: Image.Image, saliency: np.ndarray, options: JpegOptions) -> Image.Image:
        if self.strength == 0.0:
            return image
        block = mcu_shape(options, image.mode)
        out = mixed_resolution(np.asarray(image), saliency, self.strength, self.factor, block)
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
    mask = expand_blocks(keep, bh, bw, (h, w))
    # A ramp from 1 at a kept block's edge to 0 one MCU away, only outside kept blocks.
    spread = cv2.blur(mask, (2 * bw + 1, 2 * bh + 1), borderType=cv2.BORDER_REPLICATE)
    alpha = cv2.max(mask, cv2.min(cv2.multiply(spread, 2.0), 1.0))
    out = cv2.blendLinear(pixels, low, alpha, one_minus(alpha))
    return np.asarray(out, np.uint8).reshape(pixels.shape)
