"""A saliency map kept at the network's resolution and enlarged only a strip at a time.

The shipped models' maps are coarse (a 7x7 to 32x32 grid) and enlarged bilinearly to
the image. At 50 MP that enlargement is 200 MB of float32, which no method needs: they
read block means of the map (per MCU, per 8x8 block, per filter cell), or one strip of
rows at a time. :class:`CoarseMap` holds the grid and gives exactly those.

The enlargement is bilinear with pixel centres aligned (OpenCV's ``INTER_LINEAR``
convention), computed in float32 from the same sample positions and weights; it is not
bit-identical to OpenCV's own (its vectorised arithmetic differs in the last bit: at
most about 1e-6), so the pipeline uses it only for images of at least
:data:`LAZY_ABOVE` pixels, and the map of a smaller image is OpenCV's, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["LAZY_ABOVE", "CoarseMap", "enlarge_rows"]

LAZY_ABOVE = 4_000_000  # pixels: larger images keep their map coarse
_STRIP_PIXELS = 1 << 20  # pixels of map enlarged at a time (4 MiB of float32)


def _taps(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per output index: the two input indices and their weights (edges held)."""
    f = ((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5).astype(np.float32)
    s = np.floor(f).astype(np.int64)
    f = (f - s).astype(np.float32)
    outside = (s < 0) | (s >= n_in - 1)
    s = np.clip(s, 0, n_in - 1)
    f[outside] = 0.0
    return s, np.minimum(s + 1, n_in - 1), np.float32(1.0) - f, f


def _block_taps(n_out: int, n_in: int, block: int) -> np.ndarray:
    """(ceil(n_out / block), n_in) float64: row i averages the enlargement's taps over
    output block i, the last, partial block padded with copies of the last output (as
    block means pad by replication).

    >>> _block_taps(4, 2, 2).tolist()  # outputs 0.0, 0.25, 0.75, 1.0 of inputs (0, 1)
    [[0.875, 0.125], [0.125, 0.875]]
    """
    r0, r1, w0, w1 = _taps(n_out, n_in)
    blocks = -(-n_out // block)
    pad = blocks * block - n_out
    index = np.concatenate([np.arange(n_out), np.full(pad, n_out - 1)])
    which = np.arange(blocks * block) // block
    out = np.zeros((blocks, n_in), np.float64)
    np.add.at(out, (which, r0[index]), w0[index].astype(np.float64))
    np.add.at(out, (which, r1[index]), w1[index].astype(np.float64))
    out /= block
    return out


def enlarge_rows(coarse: np.ndarray, size: tuple[int, int], y0: int, y1: int) -> np.ndarray:
    """Rows ``y0..y1`` of ``coarse`` enlarged bilinearly to PIL ``size`` (W, H), clipped
    to [0, 1]: float32 (y1 - y0, W).

    >>> enlarge_rows(np.array([[0.0, 1.0]], np.float32), (4, 1), 0, 1).tolist()
    [[0.0, 0.25, 0.75, 1.0]]
    """
    width, height = size
    c = np.asarray(coarse, np.float32)
    x0, x1, a0, a1 = _taps(width, c.shape[1])
    r0, r1, b0, b1 = (t[y0:y1] for t in _taps(height, c.shape[0]))
    used = np.unique(np.concatenate([r0, r1]))
    across = np.zeros((c.shape[0], width), np.float32)  # only the coarse rows used
    across[used] = c[used][:, x0] * a0 + c[used][:, x1] * a1
    out: np.ndarray = across[r0] * b0[:, None] + across[r1] * b1[:, None]
    np.clip(out, 0.0, 1.0, out=out)
    return out


@dataclass(frozen=True)
class CoarseMap:
    """A coarse map (stored pixel order) standing for its enlargement to ``size`` (W, H)."""

    coarse: np.ndarray
    size: tuple[int, int]
    _rows: int = field(init=False, repr=False, default=0)

    def __post_init__(self) -> None:
        grid = np.asarray(self.coarse, np.float32)
        if grid.ndim != 2 or 0 in grid.shape:
            raise ValueError(f"a coarse map is a non-empty (h, w) array, got {grid.shape}")
        grid.setflags(write=False)
        object.__setattr__(self, "coarse", grid)
        object.__setattr__(self, "_rows", max(1, _STRIP_PIXELS // max(1, self.size[0])))

    def rows(self, y0: int, y1: int) -> np.ndarray:
        """Rows ``y0..y1`` of the enlarged map: float32 (y1 - y0, W)."""
        return enlarge_rows(self.coarse, self.size, y0, y1)

    def full(self) -> np.ndarray:
        """The whole enlarged map (H, W): what :meth:`rows` gives, all at once."""
        return self.rows(0, self.size[1])

    def block_means(self, bh: int, bw: int) -> np.ndarray:
        """Mean of the enlarged map over each bh x bw block, partial edge blocks padded by
        replication (as :func:`jpegsal.methods._grid.block_means`): float32 (ceil(H/bh),
        ceil(W/bw)).

        The enlargement is linear in the grid, and so are block means: both fold into one
        small matrix per axis (:func:`_block_taps`), and no pixel row is made. That is the
        enlarged map's means up to float rounding (about 1e-7) wherever the enlargement
        needs no clipping, which a grid in [0, 1] never does; other grids are enlarged a
        strip at a time and clipped first (:meth:`_strip_means`).
        """
        c = self.coarse
        if c.min() < 0.0 or c.max() > 1.0:
            return self._strip_means(bh, bw)
        width, height = self.size
        rows = _block_taps(height, c.shape[0], bh)
        cols = _block_taps(width, c.shape[1], bw)
        out: np.ndarray = (rows @ c.astype(np.float64) @ cols.T).astype(np.float32)
        return out

    def _strip_means(self, bh: int, bw: int) -> np.ndarray:
        """:meth:`block_means` from the enlarged map itself, a strip of rows at a time."""
        from ..methods._grid import block_means

        height = self.size[1]
        step = max(bh, self._rows // bh * bh)  # whole blocks per strip
        parts = [
            block_means(self.rows(y, min(height, y + step)), bh, bw) for y in range(0, height, step)
        ]
        return np.concatenate(parts, axis=0)
