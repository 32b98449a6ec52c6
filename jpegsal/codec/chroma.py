"""Chroma samples fitted to the decoder's upsampler ("sharp chroma").

libjpeg (and so Pillow, OpenCV, browsers) subsamples chroma with a 2x2 box mean and, on
decode, upsamples it with a triangle filter ("fancy upsampling": each output is 3/4 of
the nearer sample and 1/4 of the next one, per direction). The two blur chroma twice.
:func:`sharp_chroma` instead picks the subsampled planes whose *upsampled* version is
closest (least squares) to the full-resolution chroma, and hands them to the encoder
replicated over their cells in a YCbCr image, which libjpeg's box mean leaves exactly as
they are. For pixels decoded from a 4:2:0 JPEG this recovers that file's chroma samples
(up to rounding) instead of blurring them again (docs/experiments.md section 30).

The least-squares samples along one axis, for a plane ``x`` made even by repeating its
last row (as libjpeg pads before subsampling), are a short filter: ``c[i] = 2/3 (x[2i] +
x[2i+1]) + sum_k 2/3 (-1/3)^k (x[2i-2k] + x[2i+1+2k])``, with the plane mirrored at its
edges (libjpeg's upsampler repeats the edge sample, which the mirror reproduces exactly).
The sum stops at ``_TAPS``: the next term is below 0.02 of a level.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

__all__ = ["fitted", "sharp_chroma", "subsampled_axes"]

# Pillow's canonical subsampling codes -> (vertical, horizontal) factors (-1: 4:2:0).
_FACTORS = {-1: (2, 2), 2: (2, 2), 1: (1, 2), 0: (1, 1)}
_TAPS = 7
_BAND = 512  # chroma sample rows fitted at a time (float32 work: about 24 bytes a pixel)
_NEAREST = cv2.INTER_NEAREST_EXACT  # each sample repeated over its cell, no off-by-one
_WEIGHTS = np.array([2 / 3 * (-1 / 3) ** k for k in range(_TAPS + 1)], np.float32)
# libjpeg's RGB->YCbCr (jccolor.c), one row per plane; chroma is used unrounded. Luma is
# taken from Pillow instead (its "L" is libjpeg's luma, bit for bit), but its row stays:
# cv2 computes a 3x4 transform on another code path than a 2x4 one, whose chroma differs
# in the last bit, and the shipped (judged) bytes are the 3x4 path's.
_TO_YCC = np.array(
    [
        [19595, 38470, 7471, 32768],
        [-0.168736, -0.331264, 0.5, 128],
        [0.5, -0.418688, -0.081312, 128],
    ],
    np.float32,
)
# As cv2 kernels over offsets -_TAPS.._TAPS: even rows look back, odd rows look ahead.
_EVEN = np.concatenate([_WEIGHTS[::-1], np.zeros(_TAPS, np.float32)])[:, None]
_ODD = np.concatenate([np.zeros(_TAPS, np.float32), _WEIGHTS])[:, None]


def subsampled_axes(subsampling: int) -> tuple[int, int]:
    """(vertical, horizontal) chroma factors for a canonical Pillow ``subsampling`` code.

    >>> subsampled_axes(-1), subsampled_axes(1), subsampled_axes(0)
    ((2, 2), (1, 2), (1, 1))
    """
    return _FACTORS[subsampling]


def _reflect(index: np.ndarray, size: int) -> np.ndarray:
    """Indices mirrored into ``0..size-1`` as OpenCV's ``BORDER_REFLECT`` does (``cba|abc``),
    at any distance."""
    period = np.mod(index, 2 * size)
    return np.asarray(np.where(period >= size, 2 * size - 1 - period, period))


def _fit_mirrored(mirrored: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` least-squares samples of a plane given with ``2 * _TAPS`` mirrored rows
    above and below (and an even number of rows between); a strided view will do."""
    even = np.ascontiguousarray(mirrored[0::2])  # the only copies of the plane
    odd = np.ascontiguousarray(mirrored[1::2])
    fit = cv2.filter2D(even, -1, _EVEN, borderType=cv2.BORDER_CONSTANT)
    fit = fit + cv2.filter2D(odd, -1, _ODD, borderType=cv2.BORDER_CONSTANT)
    return np.asarray(fit[_TAPS : _TAPS + n])


def _fit_rows(plane: np.ndarray) -> np.ndarray:
    """Least-squares samples, one per two rows of ``plane`` (float32), for the decoder's
    triangle upsampler."""
    n = -(-plane.shape[0] // 2)
    return _fit_mirrored(plane[_source_rows(plane.shape[0], 0, n, 2)], n)


def _source_rows(height: int, first: int, last: int, factor: int) -> np.ndarray:
    """The image rows that chroma sample rows ``first..last-1`` are fitted from, in order:
    with ``factor`` 2, their cells' rows and ``2 * _TAPS`` more each side, mirrored at the
    edges of the plane libjpeg pads to an even height by repeating its last row."""
    if factor == 1:
        return np.arange(first, last)
    rows = _reflect(np.arange(2 * first - 2 * _TAPS, 2 * last + 2 * _TAPS), height + height % 2)
    return np.asarray(np.minimum(rows, height - 1))


def sharp_chroma(image: Image.Image, subsampling: int = -1) -> Image.Image:
    """``image`` (RGB) as YCbCr whose chroma is fitted to the decoder's upsampler.

    Luma is libjpeg's own conversion, bit for bit (Pillow's ``convert("L")``; its
    ``convert("YCbCr")`` is off by one in about half the pixels). Each chroma plane,
    unrounded, is replaced by the samples (one per ``subsampling`` cell) whose triangle
    upsampling is closest to it, rounded, clipped to 0..255 and repeated over their
    cell, so that libjpeg's box subsampling returns them exactly. ``image.info`` is kept.
    The float work goes by bands of ``_BAND`` sample rows: about 220 MB of it for a 50 MP
    photo, not 1.2 GB (a 24 MP one peaks at 387 MB in all, against 728 MB unbanded).

    >>> im = Image.new("RGB", (5, 3), (200, 30, 60))
    >>> out = sharp_chroma(im)
    >>> out.mode, out.size, out.getpixel((4, 2))
    ('YCbCr', (5, 3), (84, 114, 210))
    """
    if image.mode != "RGB":
        raise ValueError(f"sharp_chroma needs an RGB image, got mode {image.mode!r}")
    (fv, fh), (w, h) = subsampled_axes(subsampling), image.size
    rgb = np.asarray(image)  # one copy out of Pillow; bands are taken from it
    planes = [
        np.asarray(image.convert("L")),
        np.empty((h, w), np.uint8),
        np.empty((h, w), np.uint8),
    ]
    samples = -(-h // fv)
    for first in range(0, samples, _BAND):
        last = min(first + _BAND, samples)
        ycc = cv2.transform(rgb[_source_rows(h, first, last, fv)].astype(np.float32), _TO_YCC)
        r0, r1 = first * fv, min(last * fv, h)
        for c in (1, 2):
            fit = _fit_mirrored(ycc[..., c], last - first) if fv == 2 else ycc[..., c]
            if fh == 2:
                fit = _fit_rows(np.ascontiguousarray(fit.T)).T
            cells = np.clip(np.rint(fit), 0, 255).astype(np.uint8)
            size = (cells.shape[1] * fh, cells.shape[0] * fv)
            cell_rows = cv2.resize(cells, size, interpolation=_NEAREST)
            planes[c][r0:r1] = cell_rows[: r1 - r0, :w]
    out = Image.fromarray(cv2.merge(planes), "YCbCr")
    out.info = dict(image.info)
    return out


def fitted(image: Image.Image, subsampling: int, *, keep_rgb: bool = False) -> Image.Image:
    """What the preset encodes: :func:`sharp_chroma` of an RGB ``image`` that libjpeg will
    subsample (``subsampling`` not 4:4:4, no ``keep_rgb``); any other image as it is.

    >>> fitted(Image.new("L", (4, 4)), -1).mode, fitted(Image.new("RGB", (4, 4)), 0).mode
    ('L', 'RGB')
    """
    if image.mode != "RGB" or keep_rgb or subsampled_axes(subsampling) == (1, 1):
        return image
    return sharp_chroma(image, subsampling)
