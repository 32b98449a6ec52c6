"""jpegsal.codec.chroma: chroma fitted to the decoder's upsampler (the preset's sharp_chroma)."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import jpegsal
from jpegsal.codec import chroma
from jpegsal.codec.chroma import _fit_rows, fitted, sharp_chroma
from jpegsal.codec.lossless import compacted
from jpegsal.codec.options import JpegOptions


def _upsampler(n_out: int) -> np.ndarray:
    """libjpeg's fancy upsampler along one axis as a dense matrix (the slow reference):
    output 2i is 3/4 of sample i and 1/4 of sample i-1, output 2i+1 of i and i+1, edge
    samples repeated."""
    n = (n_out + 1) // 2
    up = np.zeros((2 * n, n))
    for i in range(n):
        up[2 * i, i] += 0.75
        up[2 * i, max(i - 1, 0)] += 0.25
        up[2 * i + 1, i] += 0.75
        up[2 * i + 1, min(i + 1, n - 1)] += 0.25
    return up[:n_out]


def _libjpeg_ycc(rgb: np.ndarray) -> np.ndarray:
    """libjpeg's RGB->YCbCr (jccolor.c), integer arithmetic: the reference for luma."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    y = (19595 * r + 38470 * g + 7471 * b + 32768) >> 16
    cb = (-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16
    cr = (32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16
    return np.stack([y, cb, cr], -1).astype(np.uint8)


@pytest.mark.parametrize("rows", [1, 2, 3, 8, 15, 16, 57, 227])
def test_fit_matches_least_squares(rows: int) -> None:
    # The short filter is the least-squares fit of the edge-extended plane (libjpeg
    # repeats the last row of an odd plane before subsampling), to 0.06 of a level.
    rng = np.random.default_rng(rows)
    plane = (rng.random((rows, 9)) * 255).astype(np.float32)
    extended = plane if rows % 2 == 0 else np.vstack([plane, plane[-1:]])
    want = np.linalg.pinv(_upsampler(extended.shape[0])) @ extended
    np.testing.assert_allclose(_fit_rows(plane), want, atol=0.06)


def test_reference_conversion_is_libjpegs() -> None:
    # The integer reference gives libjpeg's own bytes when handed over as YCbCr.
    rgb = np.random.default_rng(0).integers(0, 256, (48, 40, 3), dtype=np.uint8)
    kwargs = {"quality": 95, "subsampling": 0}
    a, b = io.BytesIO(), io.BytesIO()
    Image.fromarray(rgb).save(a, "JPEG", **kwargs)
    Image.fromarray(_libjpeg_ycc(rgb), "YCbCr").save(b, "JPEG", **kwargs)
    assert a.getvalue() == b.getvalue()


def test_luma_is_libjpegs_for_every_colour() -> None:
    # Every 24-bit colour once: luma must be libjpeg's exactly (Pillow's convert is not).
    grid = np.arange(256, dtype=np.uint8)
    rgb = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(4096, 4096, 3)
    luma = np.asarray(sharp_chroma(Image.fromarray(rgb)))[..., 0]
    assert np.array_equal(luma, _libjpeg_ycc(rgb)[..., 0])
    assert np.array_equal(chroma._numpy_fit(rgb[:256], 2, 2)[..., 0], luma[:256])


@pytest.mark.parametrize("size", [(1, 1), (1, 7), (7, 1), (5, 3), (33, 17)])
def test_any_size_and_cells_repeat(size: tuple[int, int]) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    im = Image.fromarray(rgb)
    im.info["icc_profile"] = b"icc"
    out = sharp_chroma(im)
    assert (out.mode, out.size, out.info["icc_profile"]) == ("YCbCr", size, b"icc")
    chroma = np.asarray(out)[..., 1:].astype(int)
    padded = np.pad(chroma, ((0, size[1] % 2), (0, size[0] % 2), (0, 0)), mode="edge")
    cells = padded[0::2, 0::2]
    # Every 2x2 cell holds one sample, so libjpeg's box mean hands it on unchanged.
    assert np.array_equal(np.repeat(np.repeat(cells, 2, 0), 2, 1), padded)
    four22 = np.asarray(sharp_chroma(im, 1))[..., 1:]  # 4:2:2: pairs along rows only
    assert np.array_equal(
        four22[:, 0::2], np.pad(four22, ((0, 0), (0, size[0] % 2), (0, 0)), mode="edge")[:, 1::2]
    )


def test_bands_agree_with_one_band(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bands see the same rows (mirrored only at the image's own edges) and do the same
    # float32 operations in the same order, so every sample is the same.
    rgb = np.random.default_rng(2).integers(0, 256, (203, 61, 3), dtype=np.uint8)
    rgb = cv2.GaussianBlur(rgb, (5, 5), 1.5)
    for fv, fh in ((2, 2), (1, 2)):
        whole = chroma._numpy_fit(rgb, fv, fh)
        monkeypatch.setattr(chroma, "_BAND", 9)
        banded = chroma._numpy_fit(rgb, fv, fh)
        monkeypatch.undo()
        assert np.array_equal(banded, whole)


def test_built_wherever_the_other_c_is() -> None:
    # _chroma.c needs nothing _filter.c does not: where one was built and not the other,
    # setup.py's optional build failed silently.
    from jpegsal.codec.requantise import COMPILED

    assert chroma.COMPILED == COMPILED


needs_c = pytest.mark.skipif(not chroma.COMPILED, reason="_chroma.c was not built (no compiler)")


@needs_c
@pytest.mark.parametrize("size", [(1, 1), (1, 7), (7, 1), (3, 5), (33, 17), (64, 48), (77, 1030)])
def test_compiled_fit_is_the_numpy_one_bit_for_bit(size: tuple[int, int]) -> None:
    # _chroma.c repeats the numpy version's float32 operations in its order: same bytes,
    # whichever an install runs (also 4:4:0, which Pillow cannot ask for).
    h, w = size
    rng = np.random.default_rng(h * 1000 + w)
    noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    for rgb in (noise, cv2.GaussianBlur(noise, (7, 7), 2.0)):
        for fv, fh in ((2, 2), (1, 2), (2, 1), (1, 1)):
            out = np.empty_like(rgb)
            chroma._chroma_lib.fit(rgb, out, w, h, fv, fh, chroma._MATRIX, chroma._WEIGHTS)
            assert np.array_equal(out, chroma._numpy_fit(rgb, fv, fh)), (fv, fh)


@needs_c
def test_two_threads_write_what_one_does() -> None:
    # From 2 MP the sample rows are split between two threads, each with its own cache.
    h, w = 1501, 1399
    rgb = cv2.GaussianBlur(
        np.random.default_rng(5).integers(0, 256, (h, w, 3), dtype=np.uint8), (5, 5), 1.5
    )
    args = (chroma._MATRIX, chroma._WEIGHTS)
    for fv, fh in ((2, 2), (1, 2)):
        one, two = np.empty_like(rgb), np.empty_like(rgb)
        chroma._chroma_lib.fit(rgb, one, w, h, fv, fh, *args, 1)
        chroma._chroma_lib.fit(rgb, two, w, h, fv, fh, *args, 2)
        assert np.array_equal(one, two)
        assert np.array_equal(two, chroma._numpy_fit(rgb, fv, fh))


@needs_c
def test_compiled_fit_checks_its_arguments() -> None:
    rgb = np.zeros((4, 6, 3), np.uint8)
    args = (chroma._MATRIX, chroma._WEIGHTS)
    with pytest.raises(ValueError, match="width \\* height \\* 3"):
        chroma._chroma_lib.fit(rgb, np.empty((4, 5, 3), np.uint8), 6, 4, 2, 2, *args)
    with pytest.raises(ValueError, match="factors 1 or 2"):
        chroma._chroma_lib.fit(rgb, np.empty_like(rgb), 6, 4, 3, 2, *args)
    with pytest.raises(ValueError, match="float32"):
        chroma._chroma_lib.fit(rgb, np.empty_like(rgb), 6, 4, 2, 2, args[0][:1], args[1])


def test_numpy_version_gives_the_same_image(monkeypatch: pytest.MonkeyPatch) -> None:
    # Where _chroma.c was not built, sharp_chroma takes the numpy version, with its bytes.
    im = Image.fromarray(cv2.GaussianBlur(_smooth_photo(), (3, 3), 1.0))
    want = np.asarray(sharp_chroma(im))
    monkeypatch.setattr(chroma, "_chroma_lib", None)
    assert np.array_equal(np.asarray(sharp_chroma(im)), want)


def _smooth_photo() -> np.ndarray:
    y, x = np.mgrid[0:96, 0:128].astype(np.float64)
    r = 128 + 90 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = 128 + 60 * np.cos(x / 3.0 + y / 11.0)
    b = 128 + 100 * np.sin((x + y) / 4.0)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def _chroma_error(data: bytes, reference: np.ndarray) -> float:
    with Image.open(io.BytesIO(data)) as im:
        got = np.asarray(im.convert("RGB"))
    a, b = (_libjpeg_ycc(x)[..., 1:].astype(float) for x in (got, reference))
    return float(np.mean((a - b) ** 2))


def test_decoded_jpeg_keeps_its_chroma() -> None:
    # Pixels decoded from a 4:2:0 JPEG: the fitted samples recover the file's chroma,
    # where the box mean blurs it a second time.
    buf = io.BytesIO()
    Image.fromarray(_smooth_photo()).save(buf, "JPEG", quality=95)
    decoded = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    box = jpegsal.encode(decoded, preset="machine", quality=95, allocate=False, sharp_chroma=False)
    sharp = jpegsal.encode(decoded, preset="machine", quality=95, allocate=False)
    assert _chroma_error(sharp, decoded) < 0.6 * _chroma_error(box, decoded)
    # ... and the colours are right in every decoder (a mislabelled colour space is not).
    for got in (
        np.asarray(Image.open(io.BytesIO(sharp)).convert("RGB")),
        cv2.imdecode(np.frombuffer(sharp, np.uint8), cv2.IMREAD_COLOR)[..., ::-1],
    ):
        assert np.abs(got.astype(int) - decoded).mean() < 3


def test_preset_writes_the_fitted_pixels() -> None:
    rgb = Image.fromarray(_smooth_photo())
    on = jpegsal.encode(rgb, preset="machine", quality=60, allocate=False)
    off = jpegsal.encode(rgb, preset="machine", quality=60, allocate=False, sharp_chroma=False)
    assert on != off
    with Image.open(io.BytesIO(off)) as im:
        tables = [list(t) for t in im.quantization.values()]
    buf = io.BytesIO()
    sharp_chroma(rgb).save(buf, "JPEG", qtables=tables, optimize=True)
    assert on == compacted(buf.getvalue(), JpegOptions(optimize=True))  # the preset's last step
    # Nothing to fit: greyscale, 4:4:4 and keep_rgb give the same bytes either way.
    for image, options in (
        (rgb.convert("L"), {}),
        (rgb, {"subsampling": 0}),
        (rgb, {"keep_rgb": True}),
    ):
        both = [
            jpegsal.encode(image, preset="machine", quality=60, sharp_chroma=s, **options)
            for s in (True, False)
        ]
        assert both[0] == both[1]
    assert fitted(rgb.convert("L"), -1).mode == "L"


def test_bad_values_name_sharp_chroma() -> None:
    rgb = Image.fromarray(_smooth_photo())
    with pytest.raises(TypeError, match="sharp_chroma"):
        jpegsal.encode(rgb, preset="machine", sharp_chroma="yes")
    with pytest.raises(ValueError, match=r"sharp_chroma=False says how preset='machine'"):
        jpegsal.encode(rgb, sharp_chroma=False)
    with pytest.raises(ValueError, match="RGB"):
        sharp_chroma(rgb.convert("L"))


def test_cli_box_chroma(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from jpegsal.cli import main

    src, out = tmp_path / "in.png", tmp_path / "o.jpg"
    Image.fromarray(_smooth_photo()).save(src)
    args = ["encode", str(src), "-o", str(out), "--quality", "60"]
    assert main([*args, "--preset", "machine", "--box-chroma"]) == 0
    with Image.open(src) as im:
        box = jpegsal.encode(im, preset="machine", quality=60, sharp_chroma=False)
        assert out.read_bytes() == box != jpegsal.encode(im, preset="machine", quality=60)
    out.unlink()
    assert main([*args, "--box-chroma"]) == 2
    assert "--box-chroma says how --preset machine writes chroma" in capsys.readouterr().err
    assert not out.exists()
