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
from PIL import Image

from .._optional import require

__all__ = ["Target", "add_change", "enlarge_rows", "image_block_means", "read_rows", "to_ycc"]

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


def read_rows(image: Image.Image, y0: int, y1: int) -> np.ndarray:
    """Rows ``y0..y1`` of ``image`` as a uint8 array (a copy of those rows only)."""
    return np.asarray(image.crop((0, y0, image.width, y1)))


class Target:
    """Where a method's output rows go, a strip at a time, with no full-size array made
    beyond what the result itself needs.

    * ``in_place`` and the same mode: into ``image`` itself (the caller owns it and reads
      nothing of it afterwards);
    * ``in_place`` and another mode (RGB in, YCbCr out): into a 3-byte array; then
      :meth:`finish` releases ``image`` (``Image.close``) before the result is made, so
      the two full-size images never coexist;
    * otherwise: into a new image of ``mode``.

    The result is :meth:`finish`'s.
    """

    def __init__(self, image: Image.Image, in_place: bool, mode: str | None = None) -> None:
        self.source, self.mode = image, mode or image.mode
        self.in_place = in_place and self.mode == image.mode
        self._rows: np.ndarray | None = None
        self._image: Image.Image | None = None
        if self.in_place:
            self._image = image
        elif in_place:
            bands = Image.getmodebands(self.mode)
            self._rows = np.empty((image.height, image.width, bands), np.uint8)
        else:
            self._image = Image.new(self.mode, image.size)

    def write(self, rows: np.ndarray, y0: int) -> None:
        """Put ``rows`` (uint8, the target's bands) at row ``y0``."""
        if self._rows is not None:
            self._rows[y0 : y0 + rows.shape[0]] = rows.reshape(rows.shape[0], rows.shape[1], -1)
            return
        assert self._image is not None
        self._image.paste(Image.fromarray(np.ascontiguousarray(rows), self.mode), (0, y0))

    def finish(self) -> Image.Image:
        """The output image (see the class)."""
        if self._rows is None:
            assert self._image is not None
            return self._image
        self.source.close()  # its memory goes before the result's is taken
        rows, self._rows = self._rows, None
        return Image.fromarray(rows if rows.shape[2] > 1 else rows[:, :, 0], self.mode)


def image_block_means(image: Image.Image, bh: int, bw: int) -> np.ndarray:
    """:func:`~jpegsal.methods._grid.block_means` of ``image``'s pixels, read a strip of
    whole blocks at a time (the strips' means are the whole image's, row for row)."""
    from ._grid import block_means

    step = max(bh, STRIP_PIXELS // max(1, image.width) // bh * bh)
    parts = [
        block_means(read_rows(image, y, min(image.height, y + step)), bh, bw)
        for y in range(0, image.height, step)
    ]
    return np.concatenate(parts, axis=0)


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


def add_change(
    source: np.ndarray | Image.Image,
    gain: np.ndarray,
    offset: np.ndarray,
    sub: int,
    target: Target | None = None,
) -> np.ndarray | None:
    """``pixels + gain * x + offset``, rounded and saturated to uint8.

    ``x`` is the pixel in the planes of ``gain`` and ``offset`` (grey, or Y, Cr, Cb for
    colour; the change goes back to RGB by the inverse matrix), which are at 1/``sub``
    resolution. Strips whose gain and offset are all zero are copied. ``source`` is an
    array (the result is a new array) or an image whose rows are read a strip at a time
    and written to ``target`` (the result is None).
    """
    cv2 = require("cv2")
    h, w = (source.height, source.width) if isinstance(source, Image.Image) else source.shape[:2]
    out = np.empty_like(source) if isinstance(source, np.ndarray) else None
    rows = max(1, STRIP_PIXELS // (w * sub))  # low-resolution rows per strip
    for i0 in range(0, gain.shape[0], rows):
        i1 = min(gain.shape[0], i0 + rows)
        y0, y1 = i0 * sub, min(h, i1 * sub)
        src = source[y0:y1] if isinstance(source, np.ndarray) else read_rows(source, y0, y1)
        # The enlargement reads one row beyond each edge: those must be zero too.
        near = slice(max(0, i0 - 1), i1 + 1)
        if not gain[near].any() and not offset[near].any():
            if target is not None and target.in_place:
                continue  # the rows are already there
            result = src
        else:
            x = cv2.cvtColor(src, cv2.COLOR_RGB2YCrCb) if src.ndim == 3 else src
            enlarged = enlarge_rows(gain, sub, i0, i1, w)[: y1 - y0]
            change = cv2.multiply(x, enlarged, dtype=cv2.CV_32F)
            cv2.add(change, enlarge_rows(offset, sub, i0, i1, w)[: y1 - y0], dst=change)
            if src.ndim == 3:
                change = cv2.transform(change, _YCC_TO_RGB)
            result = np.asarray(cv2.add(src, change, dtype=cv2.CV_8U)).reshape(src.shape)
        if out is not None:
            out[y0:y1] = result
        elif target is not None:
            target.write(result, y0)
    return out
