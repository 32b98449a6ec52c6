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

__all__ = [
    "DCT",
    "block_coefficients",
    "image_coefficients",
    "plane_coefficients",
    "plane_samples",
    "predicted_kl",
    "sample_blocks",
    "sample_planes",
]

_MAX_BLOCKS = 4096  # blocks per plane the prediction samples (evenly): the estimate is a mean


def _dct_matrix() -> np.ndarray:
    k = np.arange(8)[:, None]
    n = np.arange(8)[None, :]
    d = np.sqrt(2 / 8) * np.cos((2 * n + 1) * k * np.pi / 16)
    d[0] /= np.sqrt(2)
    out: np.ndarray = d.astype(np.float32)
    return out


DCT = _dct_matrix()  # JPEG's coefficients of a level-shifted block X are DCT @ X @ DCT.T


def block_coefficients(plane: np.ndarray, stride: int = 1) -> np.ndarray:
    """(N, 8, 8) DCT of every ``stride``-th 8x8 block of ``plane`` (level-shifted, in raster
    order), edges replicated as libjpeg pads them.

    >>> round(float(block_coefficients(np.full((8, 8), 130.0))[0, 0, 0]), 4)  # DC: 8 x offset
    16.0
    """
    h, w = plane.shape
    gh, gw = -(-h // 8), -(-w // 8)
    padded = np.pad(np.asarray(plane, np.float32), ((0, gh * 8 - h), (0, gw * 8 - w)), "edge")
    blocks = (padded - 128).reshape(gh, 8, gw, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    out: np.ndarray = DCT @ blocks[::stride] @ DCT.T  # only the blocks kept are transformed
    return out


def sample_planes(image: Image.Image, factors: tuple[int, int] = (2, 2)) -> list[np.ndarray]:
    """[Y, Cb, Cr] sample planes as the encoder sees them, chroma averaged over ``factors``
    (vertical, horizontal; (2, 2) is 4:2:0), or [Y] for greyscale."""
    if image.mode in ("L", "1"):
        return [np.asarray(image.convert("L"))]
    y, cb, cr = image.convert("RGB").convert("YCbCr").split()

    def shrink(plane: Image.Image) -> np.ndarray:  # box means (an odd edge: its own mean)
        if factors == (1, 1):
            return np.asarray(plane)
        return np.asarray(plane.convert("F").reduce((factors[1], factors[0])))

    return [np.asarray(y), shrink(cb), shrink(cr)]


def _planes(image: Image.Image) -> list[np.ndarray]:
    return sample_planes(image)


def image_coefficients(image: Image.Image) -> list[np.ndarray]:
    """[Y, Cb, Cr] (or [Y] for greyscale) coefficients of every block of ``image`` (4:2:0)."""
    return [block_coefficients(p) for p in _planes(image)]


def plane_coefficients(plane: np.ndarray) -> np.ndarray:
    """(rows, cols, 8, 8) DCT of every block of ``plane``, edges replicated as libjpeg pads
    them: :func:`block_coefficients` on a grid, as two matrix products over the plane.

    >>> c = plane_coefficients(np.full((9, 8), 130.0))
    >>> c.shape, round(float(c[1, 0, 0, 0]), 4)
    ((2, 1, 8, 8), 16.0)
    """
    h, w = plane.shape
    gh, gw = -(-h // 8), -(-w // 8)
    padded = np.pad(np.asarray(plane, np.float32), ((0, gh * 8 - h), (0, gw * 8 - w)), "edge")
    rows = ((padded - 128).reshape(gh * 8, gw, 8) @ DCT.T).reshape(gh, 8, gw * 8)
    out: np.ndarray = np.matmul(DCT, rows).reshape(gh, 8, gw, 8).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(out)


def plane_samples(coefs: np.ndarray) -> np.ndarray:
    """The inverse of :func:`plane_coefficients`: (rows, cols, 8, 8) dequantised
    coefficients -> (rows * 8, cols * 8) float32 samples (level shift undone, not rounded).

    >>> float(plane_samples(plane_coefficients(np.full((8, 16), 99.0))).round(3).max())
    99.0
    """
    gh, gw = coefs.shape[:2]
    blocks = np.asarray(coefs, np.float32).transpose(0, 2, 1, 3).reshape(gh, 8, gw * 8)
    rows = np.matmul(DCT.T, blocks).reshape(gh * 8, gw, 8) @ DCT
    out: np.ndarray = rows.reshape(gh * 8, gw * 8) + 128
    return out


def sample_blocks(image: Image.Image) -> list[tuple[np.ndarray, float]]:
    """Each plane's blocks, evenly thinned to at most 4096 before the DCT, with the factor
    that restores sums (the prediction is a mean, so a sample estimates it).
    """
    out = []
    for plane in _planes(image):
        n = (-(-plane.shape[0] // 8)) * (-(-plane.shape[1] // 8))
        coefs = block_coefficients(plane, max(1, -(-n // _MAX_BLOCKS)))
        out.append((coefs, n / len(coefs)))
    return out


def predicted_kl(
    planes: list[tuple[np.ndarray, float]], tables: list[np.ndarray], fisher: np.ndarray
) -> float:
    """Second-order prediction, in nats, of the KL that quantising costs a classifier.

    ``planes`` from :func:`sample_blocks` (or ``[(coefficients, 1.0), ...]``);
    ``tables[min(i, len - 1)]`` quantises plane ``i``; ``fisher`` is the (3, 8, 8)
    per-coefficient Fisher diagonal. KL ~ 1/2 sum F e^2 over every coefficient, e being
    its quantisation error.
    """
    total = 0.0
    for i, (c, scale) in enumerate(planes):
        q = np.asarray(tables[min(i, len(tables) - 1)], np.float32)
        err = c - q * np.round(c / q)
        total += 0.5 * scale * float(np.sum((err * err).sum(0) * fisher[i]))
    return total
