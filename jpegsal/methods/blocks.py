"""``blocks``: per-block DCT thresholding under one standard table (after Li et al. 2017).

Content-weighted compression spends bits per block according to an
importance map. Under a single baseline quantisation table, this method gets
the same effect in pixel space, on the encoder's exact block grid:
1. Each 8x8 block of Y, and of Cb/Cr after the encoder's own chroma
   averaging, is transformed with the JPEG DCT.
2. The coefficients that the encoder would quantise to a value below
   ``0.5 + tau`` are zeroed, where ``tau = strength * (1 - saliency) * max_threshold``
   quantisation steps. The DC coefficient is always kept.
3. The block is transformed back.

The encoder then finds those coefficients already at zero, which is the
cheapest symbol in the entropy code. Chroma is handled on the subsampled
grid (16x16 MCUs for 4:2:0) and expanded by pixel replication, which the
encoder's 2x2 averaging undoes exactly. Any stock decoder reads the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from PIL import Image

from ..options import JpegOptions
from . import register_method
from ._grid import block_means, chroma_factors, quant_tables, validate_strength

__all__ = ["Blocks", "threshold_blocks"]


def _dct_matrix() -> np.ndarray:
    # The JPEG DCT is the orthonormal 8-point DCT-II applied to rows and columns.
    k = np.arange(8)[:, None]
    n = np.arange(8)[None, :]
    d = np.sqrt(2 / 8) * np.cos((2 * n + 1) * k * np.pi / 16)
    d[0] /= np.sqrt(2)
    out: np.ndarray = d.astype(np.float32)
    return out


_D = _dct_matrix()


@register_method
@dataclass(frozen=True)
class Blocks:
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

    def __post_init__(self) -> None:
        validate_strength(self.strength)
        if not (isinstance(self.max_threshold, (int, float)) and self.max_threshold > 0):
            raise ValueError(f"max_threshold must be a positive number, got {self.max_threshold!r}")

    def apply(self, image: Image.Image, saliency: np.ndarray, options: JpegOptions) -> Image.Image:
        if self.strength == 0.0:
            return image
        luma_q, chroma_q = quant_tables(options)
        tau = self.strength * self.max_threshold
        if image.mode == "L":
            y = threshold_blocks(np.asarray(image), 1.0 - saliency, tau, luma_q)
            return Image.fromarray(y, "L")
        ycc = np.asarray(image.convert("YCbCr"))
        y = threshold_blocks(ycc[:, :, 0], 1.0 - saliency, tau, luma_q)
        fy, fx = chroma_factors(options)
        planes = [y]
        for c in (1, 2):
            plane, weight = ycc[:, :, c], 1.0 - saliency
            if (fy, fx) != (1, 1):
                plane, weight = _average(plane, fy, fx), _average(weight, fy, fx)
            out = threshold_blocks(plane, weight, tau, chroma_q)
            if (fy, fx) != (1, 1):
                out = np.repeat(np.repeat(out, fy, axis=0), fx, axis=1)[: y.shape[0], : y.shape[1]]
            planes.append(out)
        return Image.fromarray(np.dstack(planes), "YCbCr")


def _average(plane: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """The encoder's chroma downsampling: the mean of each fy x fx cell (edges replicated)."""
    h, w = plane.shape
    ph, pw = -(-h // fy) * fy, -(-w // fx) * fx
    padded = np.pad(plane.astype(np.float32), ((0, ph - h), (0, pw - w)), mode="edge")
    means: np.ndarray = padded.reshape(ph // fy, fy, pw // fx, fx).mean(axis=(1, 3))
    return means


def threshold_blocks(
    plane: np.ndarray, weight: np.ndarray, tau: float, table: np.ndarray
) -> np.ndarray:
    """Zero, per 8x8 block, coefficients below ``0.5 + tau * mean(weight)`` quantisation steps."""
    h, w = plane.shape
    gh, gw = -(-h // 8), -(-w // 8)
    # libjpeg pads partial blocks by replicating the last row and column.
    padded = np.pad(plane.astype(np.float32), ((0, gh * 8 - h), (0, gw * 8 - w)), mode="edge")
    blocks = (padded - 128.0).reshape(gh, 8, gw, 8).transpose(0, 2, 1, 3)
    coef = _D @ blocks @ _D.T
    limit = 0.5 + tau * block_means(np.asarray(weight, np.float32), 8, 8)
    keep = np.abs(coef) >= (limit[:, :, None, None] * table.astype(np.float32))
    keep[:, :, 0, 0] = True  # never touch the block's mean
    back = _D.T @ (coef * keep) @ _D + 128.0
    out = back.transpose(0, 2, 1, 3).reshape(gh * 8, gw * 8)[:h, :w]
    result: np.ndarray = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return result
