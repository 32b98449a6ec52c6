"""Block-DCT edits on the encoder's exact grid, shared by ``blocks`` and ``mix``.

The image is split into the planes the encoder will code: Y, and Cb/Cr after
the encoder's own chroma averaging (libjpeg averages each 2x2 or 2x1 cell).
Every 8x8 block is transformed with the JPEG DCT (the orthonormal DCT-II), its
AC coefficients are edited, and it is transformed back. Chroma is then
expanded by pixel replication, which the encoder's averaging undoes exactly.
The result is a YCbCr (or L) image, which Pillow encodes without another
colour conversion.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from .._optional import require
from ..codec.coefficients import DCT
from ..codec.options import JpegOptions
from ..codec.tables import chroma_factors, quant_tables
from ..maps.contract import Saliency
from ._grid import block_means, expand_blocks
from ._strips import STRIP_PIXELS, Target, read_rows

__all__ = ["DCT", "BlockEdit", "edit_image", "edit_plane"]


# edit(coefficients in quantisation steps, block weights) -> edited coefficients.
# Coefficients come as (GH, 8, GW, 8): coefficient (u, v) of block (i, j) at [i, u, j, v],
# a free view of the image layout. Weights come as (GH, 1, GW, 1), one per block, so
# elementwise rules broadcast over each block's 64 coefficients.
BlockEdit = Callable[[np.ndarray, np.ndarray], np.ndarray]


def edit_image(
    image: Image.Image,
    saliency: Saliency | np.ndarray,
    options: JpegOptions,
    edit: BlockEdit,
    *,
    in_place: bool = False,
) -> Image.Image:
    """Apply ``edit`` to every block of every plane; block weight = mean(1 - saliency).

    The image is read and the result written a strip of MCU rows at a time: a colour
    result is a new YCbCr image, a greyscale one may go into ``image`` itself
    (``in_place``). Every edit is local to its block, so strips give the whole-image
    result exactly."""
    sal = saliency if isinstance(saliency, Saliency) else Saliency(saliency, "given")
    tables = quant_tables(options)
    # One weight per 8x8 luma block, mean(1 - saliency) = 1 - mean(saliency): no
    # full-resolution float copy of the map (1.33x the raw image at 50 MP).
    weight = np.float32(1.0) - sal.block_means(8, 8)
    factors = (1, 1) if image.mode == "L" else chroma_factors(options)
    # A chroma block covers fy x fx luma blocks; its weight is their mean.
    cweight = block_means(weight, *factors) if factors != (1, 1) else weight
    target = Target(image, in_place, "L" if image.mode == "L" else "YCbCr")
    rows = max(16, STRIP_PIXELS // image.width // 16 * 16)  # whole MCU rows
    for y0 in range(0, image.height, rows):
        y1 = min(image.height, y0 + rows)
        pixels = read_rows(image, y0, y1)
        blocks = slice(y0 // 8, -(-y1 // 8))
        if image.mode == "L":
            target.write(edit_plane(pixels, weight[blocks], tables[0], edit), y0)
            continue
        cblocks = slice(y0 // 8 // factors[0], -(-y1 // 8 // factors[0]))
        target.write(
            _edit_colour(pixels, weight[blocks], cweight[cblocks], tables, factors, edit), y0
        )
    return target.finish()


def _edit_colour(
    pixels: np.ndarray,
    weight: np.ndarray,
    cweight: np.ndarray,
    tables: tuple[np.ndarray, np.ndarray],
    factors: tuple[int, int],
    edit: BlockEdit,
) -> np.ndarray:
    """One strip of RGB rows -> the edited YCbCr rows (H, W, 3)."""
    cv2 = require("cv2")
    # JFIF RGB -> YCbCr (OpenCV orders it Y, Cr, Cb); the result is handed to the encoder
    # as YCbCr, so it is not converted again.
    y, cr, cb = cv2.split(cv2.cvtColor(pixels, cv2.COLOR_RGB2YCrCb))
    h, w = y.shape
    y = edit_plane(y, weight, tables[0], edit)
    chroma = [cr, cb]
    if factors != (1, 1):
        # The encoder's chroma downsampling: the rounded mean of each fy x fx cell.
        chroma = [block_means(c, *factors) for c in chroma]
    cr, cb = (edit_plane(c, cweight, tables[1], edit) for c in chroma)
    if factors != (1, 1):  # replicate each cell, which the encoder's averaging undoes
        cr, cb = (expand_blocks(c, *factors, (h, w)) for c in (cr, cb))
    out: np.ndarray = cv2.merge([y, cb, cr])
    return out


STRIP = 64  # rows per strip: a multiple of 8, so no block straddles two strips


def edit_plane(
    plane: np.ndarray, block_weight: np.ndarray, table: np.ndarray, edit: BlockEdit
) -> np.ndarray:
    """DCT each 8x8 block, apply ``edit`` in quantisation steps (DC kept), invert, round.

    ``plane`` is (H, W), uint8 or float; ``block_weight`` is (ceil(H/8), ceil(W/8)).
    The plane is padded once (libjpeg replicates the last row and column) and
    processed in strips of ``STRIP`` rows. Every edit is local to its 8x8 block, so
    strips give exactly the whole-plane result, with a working set that stays in cache.
    """
    cv2 = require("cv2")
    h, w = plane.shape
    gh, gw = -(-h // 8), -(-w // 8)
    if block_weight.shape != (gh, gw):
        raise ValueError(f"block_weight must have shape {(gh, gw)}, got {block_weight.shape}")
    plane = np.ascontiguousarray(plane)
    padded = cv2.copyMakeBorder(plane, 0, gh * 8 - h, 0, gw * 8 - w, cv2.BORDER_REPLICATE)
    steps = np.asarray(table, np.float32).reshape(1, 8, 1, 8)
    weights = np.asarray(block_weight, np.float32)[:, None, :, None]
    out = np.empty((gh * 8, gw * 8), np.uint8)
    for y in range(0, gh * 8, STRIP):
        rows = slice(y, y + STRIP)
        out[rows] = _edit_strip(padded[rows], weights[y // 8 : (y + STRIP) // 8], steps, edit)
    return out[:h, :w]


def _edit_strip(
    strip: np.ndarray, weights: np.ndarray, steps: np.ndarray, edit: BlockEdit
) -> np.ndarray:
    """One strip of a padded plane: level shift, DCT, edit, inverse DCT, round to uint8."""
    cv2 = require("cv2")
    hh, ww = strip.shape
    gh, gw = hh // 8, ww // 8
    x = strip.astype(np.float32) - np.float32(128.0)
    # The block DCT is separable: rows of each block, then columns, in image layout.
    # (A stacked matmul, not one tall 2-D one: that goes to a threaded BLAS GEMM whose
    # thread hand-offs cost far more than the work when cores are busy.)
    rows = (x.reshape(hh, gw, 8) @ DCT.T).reshape(gh, 8, ww)
    coef = (DCT @ rows).reshape(gh, 8, gw, 8) / steps
    edited = edit(coef, weights)
    edited[:, 0, :, 0] = coef[:, 0, :, 0]  # the block mean (DC) is never touched
    back = (DCT.T @ (edited * steps).reshape(gh, 8, ww)).reshape(hh, gw, 8) @ DCT
    # convertScaleAbs adds the level shift, rounds and saturates in one pass.
    result: np.ndarray = cv2.convertScaleAbs(back.reshape(hh, ww), alpha=1.0, beta=128.0)
    return result
