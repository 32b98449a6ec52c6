"""``mix``: per-region JPEG quality, as in semantic perceptual compression (Prakash et al. 2017).

A baseline JPEG has one quantisation table, so per-region quality is built in
the pixels. Prakash et al. encode the image at several qualities and paste
decoded regions together. Re-encoding those regions with the final table adds
rounding noise: the two tables' steps are not multiples of each other, and the
noise costs bits.

Here every 8x8 block is requantised in the DCT domain, on the encoder's exact
grid (:mod:`jpegsal.methods._dct`). The step is the final table times an
integer ``m``, chosen per block from its saliency:
``m = 1 + round(strength * (max_multiplier - 1) * level / (levels - 1))``.
The encoder's own quantisation then lands exactly on those values. A block
with ``m = 2`` is coded like the same block at "half the quality", with no
re-encoding noise and no extra encode/decode passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from PIL import Image

from .._check import check_int, check_number
from ..codec.options import JpegOptions
from ..maps.contract import Saliency
from ._dct import edit_image
from .registry import SaliencyMethod, register_method

__all__ = ["Mix", "multipliers"]


@register_method
@dataclass(frozen=True)
class Mix(SaliencyMethod):
    """Per-block quantisation multipliers (quality levels) chosen from the saliency map.

    Parameters
    ----------
    strength : float in [0, 1]
        0 keeps one quality everywhere; 1 gives the least salient blocks ``max_multiplier``.
    levels : int
        Number of quality levels, the requested quality included.
    max_multiplier : int
        The coarsest step, as a multiple of the requested table.
    """

    strength: float = 0.6
    levels: int = 4
    max_multiplier: int = 8
    name: ClassVar[str] = "mix"
    per_quality: ClassVar[bool] = True  # steps are multiples of the final table

    def __post_init__(self) -> None:
        check_number("strength", self.strength, 0, 1)
        check_int("levels", self.levels, 2)
        check_int("max_multiplier", self.max_multiplier, 2)

    def _apply(
        self, image: Image.Image, saliency: Saliency, options: JpegOptions, in_place: bool
    ) -> Image.Image:
        """:meth:`apply` with the saliency value, a strip at a time (see ``edit_image``)."""

        def requantise(coef: np.ndarray, weight: np.ndarray) -> np.ndarray:
            step = multipliers(weight, self.strength, self.levels, self.max_multiplier)
            out: np.ndarray = np.rint(coef / step) * step
            return out

        return edit_image(image, saliency, options, requantise, in_place=in_place)


def multipliers(
    weight: np.ndarray, strength: float, levels: int, max_multiplier: int
) -> np.ndarray:
    """Integer step multiplier per block from its weight (mean of 1 - saliency)."""
    level = np.minimum(np.floor(weight * levels), levels - 1)
    m: np.ndarray = 1.0 + np.rint(strength * (max_multiplier - 1) * level / (levels - 1))
    return m.astype(np.float32)
