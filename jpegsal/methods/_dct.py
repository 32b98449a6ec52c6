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

# edit(coefficients in quantisation steps (gh, gw, 8, 8), weight per block (gh, gw)) -> same
BlockEdit = Callable[[np.ndarray, np.ndarray], np.ndarray]


def edit_image(
    image: Image.Image, saliency: np.ndarray, options: JpegOptions, edit: BlockEdit
) -> Image.Image:
    """Apply ``edit`` to every block of every plane; block weight = mean(1 - saliency)."""
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
            plane, w = average_cells(plane, fy, fx), average_cells(w, fy, fx)
        out = edit_plane(plane, w, chroma_q, edit)
        if (fy, fx) != (1, 1):
            out = np.repeat(np.repeat(out, fy, axis=0), fx, axis=1)[: y.shape[0], : y.shape[1]]
        planes.append(out)
    return Image.fromarray(np.dstack(planes), "YCbCr")


def average_cells(plane: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """The encoder's chroma downsampling: the mean of each fy x fx cell (edges replicated)."""
    h, w = plane.shape
    ph, pw = -(-h // fy) * fy, -(-w // fx) * fx
    padded = np.pad(plane.astype(np.float32), ((0, ph - h), (0, pw - w)), mode="edge")
    means: np.ndarray = padded.reshape(ph // fy, fy, pw // fx, fx).mean(axis=(1, 3))
    return means


def edit_plane(
    plane: np.ndarray, weight: np.ndarray, table: np.ndarray, edit: BlockEdit
) -> np.ndarray:
    """DCT each 8x8 block, apply ``edit`` in quantisation steps (DC kept), invert, round."""
    h, w = plane.shape
    gh, gw = -(-h // 8), -(-w // 8)
    # libjpeg pads partial blocks by replicating the last row and column.
    padded = np.pad(plane.astype(np.float32), ((0, gh * 8 - h), (0, gw * 8 - w)), mode="edge")
    blocks = (padded - 128.0).reshape(gh, 8, gw, 8).transpose(0, 2, 1, 3)
    step = table.astype(np.float32)
    coef = (DCT @ blocks @ DCT.T) / step
    edited = edit(coef, block_means(np.asarray(weight, np.float32), 8, 8))
    edited[:, :, 0, 0] = coef[:, :, 0, 0]  # the block mean is never touched
    back = DCT.T @ (edited * step) @ DCT + 128.0
    out = back.transpose(0, 2, 1, 3).reshape(gh * 8, gw * 8)[:h, :w]
    result: np.ndarray = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return result
