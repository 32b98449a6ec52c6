"""Array helpers on the encoder's block grid: per-block means, block repeats, cell shrinks."""

from __future__ import annotations

import numpy as np

from .._optional import require

__all__ = [
    "block_means",
    "expand_blocks",
    "shrink_cells",
]


def block_means(values: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """Mean of ``values`` ((H, W) or (H, W, C)) over each bh x bw block; partial edge blocks
    are padded by replicating the last row and column, as libjpeg pads them.

    uint8 input gives uint8 means, rounded (libjpeg's downsampled samples are integers
    too); anything else gives float32. Only the thin partial edge strips are padded
    (copied), never the whole image.
    """
    cv2 = require("cv2")
    h, w = values.shape[:2]
    hs, ws = h // bh, w // bw
    if values.dtype != np.uint8:
        values = np.asarray(values, np.float32)

    def cells(part: np.ndarray) -> np.ndarray:
        ph, pw = -(-part.shape[0] // bh) * bh, -(-part.shape[1] // bw) * bw
        if (ph, pw) != part.shape[:2]:
            part = cv2.copyMakeBorder(
                part, 0, ph - part.shape[0], 0, pw - part.shape[1], cv2.BORDER_REPLICATE
            )
        # INTER_AREA at an integer factor is exactly the block mean, and far faster than
        # a numpy reduction over strided axes.
        small = cv2.resize(part, (pw // bw, ph // bh), interpolation=cv2.INTER_AREA)
        return np.asarray(small).reshape(ph // bh, pw // bw, *values.shape[2:])

    out = cells(values[: hs * bh, : ws * bw]) if hs and ws else None
    if w > ws * bw and hs:
        right = cells(values[: hs * bh, ws * bw :])
        out = right if out is None else np.concatenate([out, right], axis=1)
    if h > hs * bh:
        bottom = cells(values[hs * bh :])
        out = bottom if out is None else np.concatenate([out, bottom], axis=0)
    assert out is not None  # h and w are at least 1
    return out


def shrink_cells(values: np.ndarray, factor: int) -> np.ndarray:
    """Area average of ``values`` ((H, W) or (H, W, C)) by ``factor``, over whole cells only.

    The largest top-left region that is a whole number of factor x factor cells is
    averaged: OpenCV's fast exact path. The under-``factor`` edge rows and columns left
    out matter only to callers that enlarge slowly varying results back to (H, W).
    """
    cv2 = require("cv2")
    h, w = values.shape[:2]
    hs, ws = max(1, h // factor), max(1, w // factor)
    crop = values[: min(h, hs * factor), : min(w, ws * factor)]
    return np.asarray(cv2.resize(crop, (ws, hs), interpolation=cv2.INTER_AREA))


def expand_blocks(grid: np.ndarray, bh: int, bw: int, shape: tuple[int, int]) -> np.ndarray:
    """Repeat each block value over its bh x bw pixels and crop to ``shape`` (H, W)."""
    cv2 = require("cv2")
    gh, gw = grid.shape
    # A nearest-neighbour resize by an exact integer factor is a block repeat.
    full = cv2.resize(grid, (gw * bw, gh * bh), interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(full[: shape[0], : shape[1]])


def one_minus(alpha: np.ndarray) -> np.ndarray:
    """``1 - alpha`` in float32. (``cv2.subtract(1.0, a)`` reads a one-column ``a`` as a
    scalar tuple and fails on images one pixel wide.)"""
    out: np.ndarray = np.subtract(np.float32(1.0), alpha, dtype=np.float32)
    return out
