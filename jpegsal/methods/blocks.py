"""``blocks``: per-block DCT thresholding under one standard table (after Li et al. 2017).

Content-weighted compression spends bits per block according to an
importance map. Under a single baseline quantisation table, this method gets
the same effect in pixel space, on the encoder's exact block grid
(:mod:`jpegsal.methods._dct`). In each 8x8 block, every AC coefficient that
the encoder would quantise to a magnitude below ``0.5 + tau`` is zeroed, where
``tau = strength * max_threshold * mean(1 - saliency)`` quantisation steps.
The encoder then finds them already at zero, the cheapest symbol in its
entropy code. The zeroed sets are nested as ``tau`` grows and the other
coefficients are unchanged, so files shrink steadily with strength.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from PIL import Image

from .._check import check_number
from ..codec.options import JpegOptions
from ..maps.contract import Saliency
from ._dct import edit_image
from .registry import SaliencyMethod, register_method

__all__ = ["Blocks"]


@register_method
@dataclass(frozen=True)
class Blocks(SaliencyMethod):
    """Zero small DCT coefficients in unimportant blocks.

    Parameters
    ----------
    strength : float in [0, 1]
        0 leaves the image untouched; 1 applies ``max_threshold`` to blocks of saliency 0.
    max_threshold : float
        Extra threshold, in quantisation steps, for the least salient blocks.
    """

    strength: float = 0.6
    max_threshold: float = 3.0
    name: ClassVar[str] = "blocks"
    per_quality: ClassVar[bool] = True  # thresholds are in quantisation steps

    def __post_init__(self) -> None:
        check_number("strength", self.strength, 0, 1)
        check_number("max_threshold", self.max_threshold, 0, lo_open=True)

    def _apply(
        self, image: Image.Image, saliency: Saliency, options: JpegOptions, in_place: bool
    ) -> Image.Image:
        """:meth:`apply` with the saliency value, a strip at a time (see ``edit_image``)."""
        tau = self.strength * self.max_threshold

        def threshold(coef: np.ndarray, weight: np.ndarray) -> np.ndarray:
            out: np.ndarray = np.where(np.abs(coef) >= 0.5 + tau * weight, coef, 0.0)
            return out

        return edit_image(image, saliency, options, threshold, in_place=in_place)
