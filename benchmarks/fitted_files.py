"""A research prototype: the DCT route's 4:4:4 -> 4:2:0 chroma fitted to the upsampler.

The DCT route (``jpegsal.encode(file, preset="machine")``) makes a 4:4:4 file's chroma
4:2:0 in the DCT domain with libjpeg's box mean (``_resample.c``); the pixel route fits
chroma to the decoder's triangle upsampler instead (``jpegsal.codec.chroma``,
docs/experiments.md section 30). :func:`fitted` replaces the chroma of the DCT route's
output by that fit of the input's decoded, unrounded 4:4:4 chroma (float IDCT of its
dequantised levels), quantised to the output's chroma table, then re-codes the Huffman
tables (``jpegsal.optimize``). Luma keeps the route's requantised levels. Slow (numpy,
jpeglib's files): for measuring whether the fit pays on this route (section 37) before
any of it is built into ``_transcode.c``. Needs jpeglib (extra ``jpeg``).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

import jpegsal
from jpegsal.codec.chroma import _fit_rows
from jpegsal.codec.markers import jpeg_frame

# JPEG's orthonormal 8-point DCT: coefficients = D @ block @ D.T
_D = np.array(
    [[(np.sqrt(1 / 8) if u == 0 else 0.5) * np.cos((2 * x + 1) * u * np.pi / 16) for x in range(8)]
     for u in range(8)]
)  # fmt: skip
_420 = [(2, 2), (1, 1), (1, 1)]
_HALVED = ([(1, 1)] * 3, [(2, 1), (1, 1), (1, 1)], [(1, 2), (1, 1), (1, 1)])  # 4:4:4/4:2:2/4:4:0


def _plane(levels: np.ndarray, qt: np.ndarray) -> np.ndarray:
    """The decoded, unrounded plane of (bh, bw, 8, 8) ``levels`` at steps ``qt``."""
    pixels = np.einsum("ux,abuv,vy->abxy", _D, levels * qt[None, None], _D) + 128
    bh, bw = levels.shape[:2]
    return np.asarray(pixels.transpose(0, 2, 1, 3).reshape(bh * 8, bw * 8))


def _levels(plane: np.ndarray, qt: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """``plane`` padded to (bh, bw) blocks by repeating its edges, as libjpeg pads, then
    the forward DCT quantised to ``qt``."""
    h, w = plane.shape
    padded = np.pad(plane, ((0, max(0, bh * 8 - h)), (0, max(0, bw * 8 - w))), mode="edge")
    blocks = padded[: bh * 8, : bw * 8].reshape(bh, 8, bw, 8).transpose(0, 2, 1, 3) - 128
    coef = np.einsum("ux,abxy,vy->abuv", _D, blocks, _D)
    return np.ascontiguousarray(np.rint(coef / qt[None, None]).astype(np.int16))


def fitted(data: bytes, out: bytes) -> bytes:
    """``out`` (the DCT route's 4:2:0 output for the JPEG ``data``) with its chroma the fit
    of ``data``'s 4:4:4, 4:2:2 or 4:4:0 chroma (along the axes it halves); ``out`` itself
    for other layouts."""
    import jpeglib

    _, w, h, sampling = jpeg_frame(data)
    if sampling not in _HALVED or jpeg_frame(out)[3] != _420:
        return out
    (lh, lv), fx, fy = sampling[0], sampling[0][0] == 1, sampling[0][1] == 1  # halved axes
    w, h = -(-w // lh), -(-h // lv)  # the chroma plane's real size
    paths = []
    try:
        for blob in (data, out):
            fd, path = tempfile.mkstemp(suffix=".jpg")
            os.write(fd, blob)
            os.close(fd)
            paths.append(path)
        src, dst = jpeglib.read_dct(paths[0]), jpeglib.read_dct(paths[1])
        for c, name in ((1, "Cb"), (2, "Cr")):
            qt_in = src.qt[src.quant_tbl_no[c]].astype(np.float64)
            plane = _plane(getattr(src, name).astype(np.float64), qt_in)[:h, :w]
            fit = _fit_rows(plane.astype(np.float32)) if fy else plane.astype(np.float32)
            fit = _fit_rows(np.ascontiguousarray(fit.T)).T if fx else fit
            bh, bw = getattr(dst, name).shape[:2]
            qt_out = dst.qt[dst.quant_tbl_no[c]].astype(np.float64)
            setattr(dst, name, _levels(np.clip(fit, 0, 255).astype(np.float64), qt_out, bh, bw))
        dst.write_dct(paths[1])
        with open(paths[1], "rb") as f:
            raw = f.read()
    finally:
        for path in paths:
            os.remove(path)
    return jpegsal.optimize(raw)
