"""Full-resolution work in strips: a bounded working set whatever the image size.

The methods compute what varies slowly (filter coefficients, blend weights) at
1/``sub`` resolution; the one full-resolution pass enlarges those rows a strip at a
time, so the float32 working set is a strip (about ``STRIP_PIXELS`` pixels), not
the image. A strip's enlargement reads one low-resolution row beyond each edge, which
makes it equal to the enlargement of the whole plane (bilinear, pixel centres aligned,
an exact factor), so results do not depend on the strip height.
"""

from __future__ import annotations

import numpy as np

from .._optional import require

__all__ = ["add_change", "enlarge_rows", "to_ycc"]

# Full-resolution pixels per strip: a 3-plane float32 strip is 3 MiB, large enough that
# the per-call overhead is small, small enough that the working set stays a strip.
STRIP_PIXELS = 1 << 18
# JFIF (the same as OpenCV's RGB2YCrCb), ordered Y, Cr, Cb; offsets in the last column.
_RGB_TO_YCC = np.array(
    [
        [0.299, 0.587, 0.114, 0.0],
        [0.5, -0.418688, -0.081312, 128.0],
        [-0.168736, -0.331264, 0.5, 128.0],
    ],
    np.float32,
)
# The inverse for changes (no offsets: they cancel in a difference).
_YCC_TO_RGB = np.array(
    [[1.0, 1.402, 0.0], [1.0, -0.714136, -0.344136], [1.0, 0.0, 1.772]], np.float32
)


def to_ycc(rgb: np.ndarray) -> np.ndarray:
    """float32 RGB (H, W, 3) -> float32 Y, Cr, Cb (JFIF), without rounding."""
    cv2 = require("cv2")
    return np.asarray(cv2.transform(rgb, _RGB_TO_YCC), np.float32)


def enlarge_rows(low: np.ndarray, sub: int, i0: int, i1: int, width: int) -> np.ndarray:
    """Rows ``[i0 * sub, i1 * sub)`` and the first ``width`` columns of the bilinear
    ``sub``-fold enlargement of ``low`` (pixel centres aligned, as ``cv2.resize``)."""
    cv2 = require("cv2")
    if sub == 1:
        return low[i0:i1, :width]
    a, b = max(0, i0 - 1), min(low.shape[0], i1 + 1)
    block = low[a:b]
    big = cv2.resize(block, (block.shape[1] * sub, (b - a) * sub), interpolation=cv2.INTER_LINEAR)
    top = (i0 - a) * sub
    return np.asarray(big[top : top + (i1 - i0) * sub, :width])


def add_change(pixels: np.ndarray, gain: np.ndarray, offset: np.ndarray, sub: int) -> np.ndarray:
    """``pixels + gain * x + offset``, rounded and saturated to uint8 (a new array).

    ``x`` is the pixel in the planes of ``gain`` and ``offset`` (grey, or Y, Cr, Cb for
    colour; the change goes back to RGB by the inverse matrix), which are at 1/``sub``
    resolution. Strips whose gain and offset are all zero are copied.
    """
    cv2 = require("cv2")
    h, w = pixels.shape[:2]
    out = np.empty_like(pixels)
    rows = max(1, STRIP_PIXELS // (w * sub))  # low-resolution rows per strip
    for i0 in range(0, gain.shape[0], rows):
        i1 = min(gain.shape[0], i0 + rows)
        y0, y1 = i0 * sub, min(h, i1 * sub)
        src = pixels[y0:y1]
        # The enlargement reads one row beyond each edge: those must be zero too.
        near = slice(max(0, i0 - 1), i1 + 1)
        if not gain[near].any() and not offset[near].any():
            out[y0:y1] = src
            continue
        x = cv2.cvtColor(src, cv2.COLOR_RGB2YCrCb) if src.ndim == 3 else src
        change = cv2.multiply(x, enlarge_rows(gain, sub, i0, i1, w)[: y1 - y0], dtype=cv2.CV_32F)
        cv2.add(change, enlarge_rows(offset, sub, i0, i1, w)[: y1 - y0], dst=change)
        if src.ndim == 3:
            change = cv2.transform(change, _YCC_TO_RGB)
        out[y0:y1] = np.asarray(cv2.add(src, change, dtype=cv2.CV_8U)).reshape(src.shape)
    return out
