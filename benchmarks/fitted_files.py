"""A research prototype: the DCT route's 4:4:4 -> 4:2:0 chroma fitted to the upsampler.

The DCT route (``jpegsal.encode(file, preset="machine")``) made a 4:4:4 file's chroma
4:2:0 in the DCT domain with libjpeg's box mean (``_resample.c``, still its
``sharp_chroma=False``); the pixel route fits chroma to the decoder's triangle upsampler
instead (``jpegsal.codec.chroma``, docs/experiments.md section 30). :func:`fitted`
replaces the chroma of the box route's output by that fit of the input's decoded,
unrounded 4:4:4 chroma (IDCT of its dequantised levels, :mod:`jpegsal.codec.coefficients`),
quantised to the output's chroma table, then re-codes the Huffman tables
(``jpegsal.optimize``). Luma keeps the route's requantised levels. Slow (numpy, jpeglib's
files): it measured whether the fit pays on this route (section 37) before it was built
into ``_transcode.c`` (``_fit.c``), and it is that code's slow reference in the tests.
Needs jpeglib (extra ``jpeg``).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

import jpegsal
from jpegsal.codec.chroma import _fit_rows
from jpegsal.codec.coefficients import plane_coefficients, plane_samples
from jpegsal.codec.markers import jpeg_frame
from jpegsal.reencode import _TO_420, _420  # the layouts the route makes 4:2:0; 4:2:0


def _levels(plane: np.ndarray, qt: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """``plane`` padded to (bh, bw) blocks by repeating its edges, as libjpeg pads, then
    the forward DCT quantised to ``qt``."""
    h, w = plane.shape
    padded = np.pad(plane, ((0, max(0, bh * 8 - h)), (0, max(0, bw * 8 - w))), mode="edge")
    coef = plane_coefficients(padded[: bh * 8, : bw * 8])
    return np.ascontiguousarray(np.rint(coef / qt[None, None]).astype(np.int16))


def fitted(data: bytes, out: bytes) -> bytes:
    """``out`` (the DCT route's 4:2:0 output for the JPEG ``data``) with its chroma the fit
    of ``data``'s 4:4:4, 4:2:2 or 4:4:0 chroma (along the axes it halves); ``out`` itself
    for other layouts."""
    import jpeglib

    _, w, h, sampling = jpeg_frame(data)
    if sampling not in _TO_420 or jpeg_frame(out)[3] != _420:
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
            plane = plane_samples(getattr(src, name) * src.qt[src.quant_tbl_no[c]])[:h, :w]
            fit = _fit_rows(plane) if fy else plane
            fit = _fit_rows(np.ascontiguousarray(fit.T)).T if fx else fit
            bh, bw = getattr(dst, name).shape[:2]
            qt_out = dst.qt[dst.quant_tbl_no[c]].astype(np.float64)
            setattr(dst, name, _levels(np.clip(fit, 0, 255), qt_out, bh, bw))
        dst.write_dct(paths[1])
        with open(paths[1], "rb") as f:
            raw = f.read()
    finally:
        for path in paths:
            os.remove(path)
    return jpegsal.optimize(raw)
