"""An image's JPEG DCT coefficients, as the encoder will see them, and what quantising costs.

JFIF colour conversion (Pillow's, which is libjpeg's), 4:2:0 chroma averaging, edge
replication to whole blocks and the orthonormal 8x8 DCT-II: the unquantised
coefficients libjpeg computes, up to its integer rounding. The machine preset uses them
to predict, without running a network, how much quantising with given tables will move
a classifier's output (:func:`predicted_kl`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["DCT", "block_coefficients", "image_coefficients", "predicted_kl", "sample_blocks"]

_MAX_BLOCKS = 4096  # blocks per plane the prediction samples (evenly): the estimate is a mean


def _dct_matrix() -> np.ndarray:
    k = np.arange(8)[:, None]
    n = np.arange(8)[None, :]
    d = np.sqrt(2 / 8) * np.cos((2 * n + 1) * k * np.pi / 16)
    d[0] /= np.sqrt(2)
    out: np.ndarray = d.astype(np.float32)
    return out


DCT = _dct_matrix()  # JPEG's coefficients of a level-shifted block X are DCT @ X @ DCT.T


def block_coefficients(plane: np.ndarray, step: int = 8) -> np.ndarray:
    """(N, 8, 8) DCT of the 8x8 blocks of ``plane`` (level-shifted), edges replicated.

    >>> block_coefficients(np.full((8, 8), 130.0))[0, 0, 0]  # DC = 8 x the mean offset
    16.0
    """
    h, w = plane.shape
    gh, gw = -(-h // step), -(-w // step)
    padded = np.pad(np.asarray(plane, np.float32), ((0, gh * step - h), (0, gw * step - w)), "edge")
    blocks = (padded - 128).reshape(gh, 8, gw, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    out: np.ndarray = DCT @ blocks @ DCT.T
    return out


def image_coefficients(image: Image.Image) -> list[np.ndarray]:
    """[Y, Cb, Cr] (or [Y] for greyscale) coefficients of ``image`` under 4:2:0."""
    if image.mode in ("L", "1"):
        return [block_coefficients(np.asarray(image.convert("L")))]
    ycc = np.asarray(image.convert("RGB").convert("YCbCr"), np.float32)
    h, w = ycc.shape[:2]
    even = np.pad(ycc[..., 1:], ((0, h % 2), (0, w % 2), (0, 0)), "edge")
    chroma = even.reshape(even.shape[0] // 2, 2, even.shape[1] // 2, 2, 2).mean((1, 3))
    return [block_coefficients(ycc[..., 0])] + [block_coefficients(chroma[..., c]) for c in (0, 1)]


def sample_blocks(coefs: list[np.ndarray]) -> list[tuple[np.ndarray, float]]:
    """Each plane's blocks, evenly thinned to at most 4096, with the factor that restores sums."""
    out = []
    for c in coefs:
        stride = max(1, -(-len(c) // _MAX_BLOCKS))
        out.append((c[::stride], len(c) / len(c[::stride])))
    return out


def predicted_kl(
    planes: list[tuple[np.ndarray, float]], tables: list[np.ndarray], fisher: np.ndarray
) -> float:
    """Second-order prediction, in nats, of the KL that quantising costs a classifier.

    ``planes`` from :func:`sample_blocks`; ``tables[min(i, len - 1)]`` quantises plane
    ``i``; ``fisher`` is the (3, 8, 8) per-coefficient Fisher diagonal. KL ~ 1/2 sum F e^2
    over every coefficient, e being its quantisation error.
    """
    total = 0.0
    for i, (c, scale) in enumerate(planes):
        q = np.asarray(tables[min(i, len(tables) - 1)], np.float32)
        err = c - q * np.round(c / q)
        total += 0.5 * scale * float(np.sum((err * err).sum(0) * fisher[i]))
    return total
