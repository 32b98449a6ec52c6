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
from ..options import JpegOptions
from ._grid import block_means, chroma_factors, quant_tables

__all__ = ["DCT", "BlockEdit", "edit_image", "edit_plane"]


def _dct_matrix() -> np.ndarray:
    k = np.arange(8)[:, None]
    n = np.arange(8)[None, :]
    d = np.sqrt(2 / 8) * np.cos((2 * n + 1) * k * np.pi / 16)
    d[0] /= np.sqrt(2)
    out: np.ndarray = d.astype(np.float32)
    return out


DCT = _dct_matrix()

# edit(coefficients in quantisation steps, block weight) -> edited coefficients; both
# arrays are in image layout (H8, W8), the weight constant over each 8x8 block.
BlockEdit = Callable[[np.ndarray, np.ndarray], np.ndarray]


def edit_image(
    image: Image.Image, saliency: np.ndarray, options: JpegOptions, edit: BlockEdit
) -> Image.Image:
    """Apply ``edit`` to every block of every plane; block weight = mean(1 - saliency)."""
    cv2 = require("cv2")
    luma_q, chroma_q = quant_tables(options)
    weight = 1.0 - saliency
    if image.mode == "L":
        return Image.fromarray(edit_plane(np.asarray(image), weight, luma_q, edit), "L")
    ycc = np.asarray(image.convert("YCbCr"))
    y = edit_plane(ycc[:, :, 0], weight, luma_q, edit)
    fy, fx = chroma_factors(options)
    planes = [y]
    for c in (1, 2):
        plane, w = ycc[:, :, c], weight
        if (fy, fx) != (1, 1):
            # the encoder's chroma downsampling: the mean of each fy x fx cell
            plane, w = block_means(plane, fy, fx), block_means(w, fy, fx)
        out = edit_plane(plane, w, chroma_q, edit)
        if (fy, fx) != (1, 1):  # replicate each cell (nearest resize at an exact factor)
            size = (out.shape[1] * fx, out.shape[0] * fy)
            out = cv2.resize(out, size, interpolation=cv2.INTER_NEAREST)[: y.shape[0], : y.shape[1]]
        planes.append(out)
    return Image.fromarray(np.dstack(planes), "YCbCr")


STRIP = 64  # rows per strip: a multiple of 8, so no block straddles two strips


def edit_plane(
    plane: np.ndarray, weight: np.ndarray, table: np.ndarray, edit: BlockEdit
) -> np.ndarray:
    """DCT each 8x8 block, apply ``edit`` in quantisation steps (DC kept), invert, round.

    The plane is padded once (libjpeg replicates the last row and column) and
    processed in strips of ``STRIP`` rows. Every edit is local to its 8x8 block, so
    strips give exactly the whole-plane result, with a working set that stays in cache.
    The block DCT is separable, so it runs in image layout: coefficient (u, v) of
    block (i, j) sits at pixel (8i + u, 8j + v), and ``edit`` works elementwise on that grid.
    """
    cv2 = require("cv2")
    h, w = plane.shape
    gh, gw = -(-h // 8), -(-w // 8)
    padded = cv2.copyMakeBorder(
        np.asarray(plane, np.float32), 0, gh * 8 - h, 0, gw * 8 - w, cv2.BORDER_REPLICATE
    ) - np.float32(128.0)
    block_weight = block_means(weight, 8, 8)
    step_row = np.tile(table.astype(np.float32), (1, gw))  # one block row of steps
    out = np.empty((gh * 8, gw * 8), np.uint8)
    for y in range(0, gh * 8, STRIP):
        rows = slice(y, y + STRIP)
        out[rows] = _edit_strip(
            padded[rows], block_weight[y // 8 : (y + STRIP) // 8], step_row, edit
        )
    return out[:h, :w]


def _edit_strip(
    strip: np.ndarray, block_weight: np.ndarray, step_row: np.ndarray, edit: BlockEdit
) -> np.ndarray:
    """One strip of a padded, level-shifted plane: DCT, edit, inverse DCT, round to uint8."""
    cv2 = require("cv2")
    hh, ww = strip.shape
    gh, gw = hh // 8, ww // 8
    step = np.tile(step_row, (gh, 1))
    rows = (strip.reshape(hh, gw, 8) @ DCT.T).reshape(gh, 8, ww)
    coef = (DCT @ rows).reshape(hh, ww) / step
    # Each block's weight over its 8x8 coefficients (nearest resize at an exact factor).
    weights = cv2.resize(block_weight, (ww, hh), interpolation=cv2.INTER_NEAREST)
    edited = edit(coef, weights)
    edited[::8, ::8] = coef[::8, ::8]  # the block mean (DC) is never touched
    back = (DCT.T @ (edited * step).reshape(gh, 8, ww)).reshape(hh, gw, 8) @ DCT
    # convertScaleAbs adds the level shift, rounds and saturates in one pass.
    result: np.ndarray = cv2.convertScaleAbs(back.reshape(hh, ww), alpha=1.0, beta=128.0)
    return result
