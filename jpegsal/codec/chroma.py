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

The fit runs in C (``_chroma.c``, one pass, a few rows of float work) where setup.py
built it, else in numpy (:func:`_numpy_fit`, about 4x slower). Both do the same float32
operations in the same order, so the bytes do not depend on the build or the CPU.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

try:  # the same arithmetic in C (_chroma.c), built by setup.py where a compiler was found
    from . import _chroma as _chroma_lib
except ImportError:  # pragma: no cover - exercised where no compiler is found
    _chroma_lib = None  # type: ignore[assignment]

__all__ = ["COMPILED", "fitted", "sharp_chroma", "subsampled_axes"]

COMPILED = _chroma_lib is not None
# Pillow's canonical subsampling codes -> (vertical, horizontal) factors (-1: 4:2:0).
_FACTORS = {-1: (2, 2), 2: (2, 2), 1: (1, 2), 0: (1, 1)}
_TAPS = 7
_BAND = 512  # chroma sample rows fitted at a time by the numpy version (float32 work)
_WEIGHTS = np.array([2 / 3 * (-1 / 3) ** k for k in range(_TAPS + 1)], np.float32)
# The Cb and Cr rows of libjpeg's RGB->YCbCr (jccolor.c), offset last; chroma is fitted
# unrounded. Luma is libjpeg's integer formula (Pillow's "L" is the same, bit for bit).
_MATRIX = np.array([[-0.168736, -0.331264, 0.5, 128], [0.5, -0.418688, -0.081312, 128]], np.float32)


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


def _source_rows(height: int, first: int, last: int, factor: int) -> np.ndarray:
    """The image rows that chroma sample rows ``first..last-1`` are fitted from, in order:
    with ``factor`` 2, their cells' rows and ``2 * _TAPS`` more each side, mirrored at the
    edges of the plane libjpeg pads to an even height by repeating its last row."""
    if factor == 1:
        return np.arange(first, last)
    rows = _reflect(np.arange(2 * first - 2 * _TAPS, 2 * last + 2 * _TAPS), height + height % 2)
    return np.asarray(np.minimum(rows, height - 1))


def _fit_mirrored(mirrored: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` least-squares samples along axis 0 of a float32 array given with
    ``2 * _TAPS`` mirrored rows above and below. Term by term, in _chroma.c's order: each
    operation rounds as there, so the two agree bit for bit."""
    fit = np.zeros((n, *mirrored.shape[1:]), np.float32)
    for k, weight in enumerate(_WEIGHTS):
        back = mirrored[2 * _TAPS - 2 * k :][: 2 * n : 2]  # rows 2i - 2k
        ahead = mirrored[2 * _TAPS + 1 + 2 * k :][: 2 * n : 2]  # rows 2i + 1 + 2k
        fit = fit + weight * (back + ahead)
    return fit


def _fit_rows(plane: np.ndarray) -> np.ndarray:
    """Least-squares samples, one per two rows of ``plane`` (float32), for the decoder's
    triangle upsampler."""
    n = -(-plane.shape[0] // 2)
    return _fit_mirrored(plane[_source_rows(plane.shape[0], 0, n, 2)], n)


def _numpy_fit(rgb: np.ndarray, fv: int, fh: int) -> np.ndarray:
    """_chroma.c's YCbCr, by bands of ``_BAND`` sample rows (a 24 MP photo peaks at 426 MB
    in all; the C version at 144 MB, the pixels and the output): the version used where it
    was not compiled, and its test."""
    h, w = rgb.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    samples = -(-h // fv)
    for first in range(0, samples, _BAND):
        last = min(first + _BAND, samples)
        band = rgb[_source_rows(h, first, last, fv)].astype(np.float32)
        r0, r1 = first * fv, min(last * fv, h)
        r, g, b = (rgb[r0:r1, :, i].astype(np.int32) for i in range(3))
        out[r0:r1, :, 0] = (19595 * r + 38470 * g + 7471 * b + 32768) >> 16
        for c, m in enumerate(_MATRIX, 1):
            plane = m[0] * band[..., 0] + m[1] * band[..., 1] + m[2] * band[..., 2] + m[3]
            fit = _fit_mirrored(plane, last - first) if fv == 2 else plane
            if fh == 2:
                fit = _fit_rows(np.ascontiguousarray(fit.T)).T
            cells = np.clip(np.rint(fit), 0, 255).astype(np.uint8)
            cells = np.repeat(np.repeat(cells, fv, 0), fh, 1)
            out[r0:r1, :, c] = cells[: r1 - r0, :w]
    return out


def sharp_chroma(image: Image.Image, subsampling: int = -1) -> Image.Image:
    """``image`` (RGB) as YCbCr whose chroma is fitted to the decoder's upsampler.

    Luma is libjpeg's own conversion, bit for bit (Pillow's ``convert("YCbCr")`` is off by
    one in about half the pixels). Each chroma plane, unrounded, is replaced by the samples
    (one per ``subsampling`` cell) whose triangle upsampling is closest to it, rounded,
    clipped to 0..255 and repeated over their cell, so that libjpeg's box subsampling
    returns them exactly. ``image.info`` is kept. Done by ``_chroma.c`` where it was built
    (``COMPILED``), else by numpy, with the same bytes.

    >>> im = Image.new("RGB", (5, 3), (200, 30, 60))
    >>> out = sharp_chroma(im)
    >>> out.mode, out.size, out.getpixel((4, 2))
    ('YCbCr', (5, 3), (84, 114, 210))
    """
    if image.mode != "RGB":
        raise ValueError(f"sharp_chroma needs an RGB image, got mode {image.mode!r}")
    (fv, fh), (w, h) = subsampled_axes(subsampling), image.size
    rgb = np.asarray(image)  # one copy out of Pillow
    if _chroma_lib is None:
        ycc = _numpy_fit(rgb, fv, fh)
    else:
        ycc = np.empty_like(rgb)
        _chroma_lib.fit(rgb, ycc, w, h, fv, fh, _MATRIX, _WEIGHTS)
    out = Image.fromarray(ycc, "YCbCr")
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
