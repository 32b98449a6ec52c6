"""The DCT route's 4:4:4 / 4:2:2 / 4:4:0 chroma fitted to the decoder's upsampler
(jpegsal/codec/_fit.c), against its slow numpy reference (benchmarks/fitted_files.py)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from PIL import Image

import jpegsal
from jpegsal.codec.requantise import OPTIMIZED
from jpegsal.reencode import _requantise_to

pytestmark = pytest.mark.skipif(
    not OPTIMIZED, reason="the libjpeg route was not built (no C compiler or libjpeg headers)"
)


def _route(data: bytes, quality: int, fit: bool) -> bytes:
    return _requantise_to(data, quality, False, strict=True, markers=False, side=224, fit=fit)


def _levels(data: bytes) -> object:
    jpeglib = pytest.importorskip("jpeglib", reason="jpeglib reads the levels")
    fd, path = tempfile.mkstemp(suffix=".jpg")
    os.write(fd, data)
    os.close(fd)
    try:
        return jpeglib.read_dct(path)
    finally:
        os.remove(path)


def _inputs(photo: Image.Image, tmp_path: Path) -> list[bytes]:
    """4:4:4 and 4:2:2 files (Pillow) and, where cjpeg is installed, a 4:4:0 one."""
    out = [pillow_jpeg(photo, quality=93, subsampling=s) for s in (0, 1)]
    if shutil.which("cjpeg") is not None:
        photo.save(tmp_path / "in.ppm")
        cmd = ["cjpeg", "-sample", "1x2,1x1,1x1", "-quality", "93", str(tmp_path / "in.ppm")]
        out.append(subprocess.run(cmd, capture_output=True, check=True).stdout)
    return out


@pytest.mark.parametrize("size", [(301, 199), (17, 9), (8, 8), (1, 1), (333, 2), (3, 50)])
def test_levels_match_the_slow_reference(
    odd_photo: Image.Image, size: tuple[int, int], tmp_path: Path
) -> None:
    pytest.importorskip("jpeglib", reason="the reference reads and writes levels with jpeglib")
    from benchmarks.fitted_files import fitted

    for src in _inputs(odd_photo.resize(size), tmp_path):
        for quality in (30, 80):
            box, ours = _route(src, quality, False), _route(src, quality, True)
            want, got = _levels(fitted(src, box)), _levels(ours)
            assert np.array_equal(got.Y, want.Y)  # type: ignore[attr-defined]
            for plane in ("Cb", "Cr"):
                # float32 against numpy's float64 DCT: equal here, but a level at a
                # rounding tie may go either way on another CPU or compiler.
                diff = np.abs(getattr(got, plane).astype(int) - getattr(want, plane))
                assert diff.max() <= 1
                assert (diff > 0).mean() <= 1e-3
            assert_decodes(ours, size)


def test_two_threads_write_what_one_writes() -> None:
    from jpegsal.codec import _transcode

    rng = np.random.default_rng(4)
    noise = rng.integers(0, 256, (1000, 1100, 3), np.uint8)
    src = pillow_jpeg(Image.fromarray(noise), quality=80, subsampling=0)  # 26,000 blocks out
    ratio = np.full((3, 64), 0.4, np.float32).tobytes()
    one = _transcode.transcode(src, ratio, False, True, False, 2, 1, 2)
    assert one == _transcode.transcode(src, ratio, False, True, False, 2, 2, 2)
    assert one != _transcode.transcode(src, ratio, False, True, False, 2, 1, 1)  # the box
    # A kept buffer of the wrong size (KeptFit sizes it, so only a direct call) is refused.
    with pytest.raises(OSError, match="Buffer passed to JPEG library is too small"):
        _transcode.transcode(src, ratio, False, True, False, 2, 1, 2, np.zeros(64, np.float32))


def test_the_preset_fits_unless_told_not_to(odd_photo: Image.Image) -> None:
    src = pillow_jpeg(odd_photo, quality=95, subsampling=0)
    enc = jpegsal.Encoder(preset="machine", quality=60, allocate=False)
    fit, box = enc.encode_with_info(src), enc.encode_with_info(src, sharp_chroma=False)
    assert (fit.path, box.path) == ("dct", "dct")
    assert fit.data == _route(src, 60, True)
    assert box.data == _route(src, 60, False)

    # What the fit is for: the chroma decoders show (Pillow's fancy upsampling) closer to
    # the file's own than the box mean's, as on the pixel route.
    def chroma_error(data: bytes) -> float:
        ycc = [np.asarray(Image.open(io.BytesIO(d)).convert("YCbCr"), float) for d in (src, data)]
        return float(((ycc[0][..., 1:] - ycc[1][..., 1:]) ** 2).mean())

    assert chroma_error(fit.data) < 0.95 * chroma_error(box.data)
    # jpegsal.reencode is the preset's DCT route at one quality: fitted too.
    assert jpegsal.reencode(src, quality=60, keep_metadata=False) == fit.data


def test_the_fit_kept_between_qualities_gives_the_same_bytes(odd_photo: Image.Image) -> None:
    from jpegsal.codec.requantise import KeptFit

    for src in (
        pillow_jpeg(odd_photo, quality=93, subsampling=0),
        pillow_jpeg(odd_photo.resize((1100, 1000)), quality=93, subsampling=1),  # two threads
    ):
        kept = KeptFit(src)
        for quality in (20, 60, 90, 60):  # filled by the first, read by the rest
            fresh = _route(src, quality, True)
            again = _requantise_to(
                src, quality, False, strict=True, markers=False, side=224, kept=kept
            )
            assert (again, kept.ready) == (fresh, True)
    plain = pillow_jpeg(odd_photo, quality=93)  # 4:2:0: nothing to resample, nothing kept
    kept = KeptFit(plain)
    _requantise_to(plain, 50, False, strict=True, markers=False, side=224, kept=kept)
    assert (kept.ready, kept._values) == (False, None)
    with pytest.raises(ValueError, match="kept: made for a"):
        _requantise_to(src, 50, False, strict=True, markers=False, side=224, kept=KeptFit(
            pillow_jpeg(odd_photo, quality=93, subsampling=0)
        ))  # fmt: skip
    # The preset's search tries two or three qualities of a file and keeps one: its bytes
    # are that quality's on its own.
    src = pillow_jpeg(odd_photo, quality=95, subsampling=0)
    chosen = jpegsal.Encoder(preset="machine").encode_with_info(src, quality=40)
    assert chosen.encodes >= 2
    assert chosen.data == _route(src, chosen.quality, True)
