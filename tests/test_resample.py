"""Chroma made 4:2:0 in the DCT domain (jpegsal/codec/_resample.c), for 4:4:4, 4:2:2 and
4:4:0 JPEG files under ``preset="machine"``."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_decodes, pillow_jpeg
from PIL import Image

import jpegsal
from jpegsal.codec import requantise as rq
from jpegsal.codec.requantise import OPTIMIZED, NotResampled, jpeg_tables, requantise
from jpegsal.reencode import reencode_with_info

needs_route = pytest.mark.skipif(
    not OPTIMIZED, reason="the libjpeg route was not built (no C compiler or libjpeg headers)"
)
TO_420 = [(2, 2), (1, 1), (1, 1)]


def _m() -> list[np.ndarray]:
    """M_a = D P_a D^T in float64: the dense map the C code applies sparsely."""
    k, x = np.arange(8)[:, None], np.arange(8)[None, :]
    d = np.where(k == 0, np.sqrt(1 / 8), 0.5) * np.cos((2 * x + 1) * k * np.pi / 16)
    out = []
    for a in range(2):
        p = np.zeros((8, 8))
        for i in range(4 * a, 4 * a + 4):
            p[i, 2 * (i - 4 * a)] = p[i, 2 * (i - 4 * a) + 1] = 0.5
        out.append(d @ p @ d.T)
    return out


def _reference(levels: np.ndarray, step: np.ndarray, new: np.ndarray, fy: int, fx: int):
    """The 4:2:0 chroma levels from one input chroma plane (blocks x blocks x 8 x 8): each
    output block from the fy x fx input blocks it covers, a missing one flat at its
    neighbour's DC, divided by the new steps ``new``."""
    m = _m()
    bh, bw = levels.shape[:2]
    oh, ow = -(-bh // fy), -(-bw // fx)
    out = np.zeros((oh, ow, 8, 8))
    for r in range(oh):
        for c in range(ow):
            z = np.zeros((8, 8))
            for a in range(fy):
                for b in range(fx):
                    y, x = r * fy + a, c * fx + b
                    if y < bh and x < bw:
                        block = levels[y, x] * step
                    else:  # its row's first block, else its column's top one, else (0, 0)
                        near = (
                            (y, c * fx) if y < bh else (r * fy, x) if x < bw else (r * fy, c * fx)
                        )
                        block = np.zeros((8, 8))
                        block[0, 0] = levels[near][0, 0] * step[0, 0]
                    left = m[a] if fy == 2 else np.eye(8)
                    right = m[b] if fx == 2 else np.eye(8)
                    z += left @ block @ right.T
            out[r, c] = z / new
    return out  # unrounded: the caller rounds, and knows where a tie makes either right


@needs_route
@pytest.mark.parametrize("size", [(1, 1), (9, 7), (17, 33), (203, 141)])
@pytest.mark.parametrize("layout", ["444", "422", "440"])
def test_levels_match_the_dense_reference(tmp_path: Path, size: tuple[int, int], layout: str):
    jpeglib = pytest.importorskip("jpeglib", reason="jpeglib reads and writes the levels")
    from jpegsal.codec import _transcode

    w, h = size
    rng = np.random.default_rng(w * h)
    ys, xs = -(-h // 8), -(-w // 8)  # luma blocks
    cy = -(-h // 16) if layout == "440" else ys
    cx = -(-w // 16) if layout == "422" else xs
    planes = []
    for bh, bw in ((ys, xs), (cy, cx), (cy, cx)):
        lv = rng.integers(-30, 31, (bh, bw, 64)) * (rng.random((bh, bw, 64)) < 0.15)
        lv[..., 0] = rng.integers(-120, 121, (bh, bw))
        planes.append(lv.reshape(bh, bw, 8, 8).astype(np.int16))
    qt = np.stack([rng.integers(1, 12, (8, 8)), rng.integers(2, 20, (8, 8))]).astype(np.uint16)
    image = jpeglib.from_dct(*planes, qt=qt)
    image.width, image.height = w, h
    image.write_dct(str(tmp_path / "in.jpg"))
    data = (tmp_path / "in.jpg").read_bytes()
    ratio = np.stack([np.full(64, 0.5), np.full(64, 0.25), np.full(64, 0.25)]).astype(np.float32)
    out = _transcode.transcode(data, ratio.tobytes(), False, True, False, 2, 2, True)
    (tmp_path / "out.jpg").write_bytes(out)
    got = jpeglib.read_dct(str(tmp_path / "out.jpg"))
    assert got.samp_factor.tolist() == [[2, 2], [1, 1], [1, 1]]
    luma = got.Y[:ys, :xs].astype(np.float32)
    assert np.array_equal(luma, np.rint(planes[0].astype(np.float32) * np.float32(0.5)))
    # Read back: at sizes where the planes' shapes agree, jpeglib infers another layout.
    luma_factors = rq.jpeg_frame(data)[3][0]
    fy, fx = 3 - luma_factors[1], 3 - luma_factors[0]  # input chroma blocks per output one
    step = qt[1].astype(np.float64)
    new = np.rint(step / np.float32(0.25))
    for ours, plane in ((got.Cb, planes[1]), (got.Cr, planes[2])):
        exact = _reference(plane, step, new, fy, fx)
        ours = ours[: exact.shape[0], : exact.shape[1]]
        # The rounded value, except at a tie (x.5, common: averages of integers), where
        # float32 and float64 may round either way.
        tie = np.abs(np.abs(exact - np.floor(exact)) - 0.5) < 1e-3
        assert np.array_equal(ours[~tie], np.rint(exact[~tie]))
        assert np.all(np.abs(np.abs(ours[tie] - exact[tie]) - 0.5) < 1e-3)


@needs_route
@pytest.mark.parametrize(
    "options",
    [
        {"subsampling": 0},
        {"subsampling": 1},
        {"subsampling": 0, "restart_marker_blocks": 3},
        {"subsampling": 1, "restart_marker_rows": 1},
        {"subsampling": 0, "progressive": True},
    ],
)
@pytest.mark.parametrize("size", [(1, 1), (17, 9), (203, 141)])
def test_own_counts_give_libjpegs_optimised_bytes(
    odd_photo: Image.Image, options: dict[str, object], size: tuple[int, int]
) -> None:
    from jpegsal.codec import _transcode

    src = pillow_jpeg(odd_photo.resize(size), quality=90, **options)
    ratio = np.full((3, 64), 0.5, np.float32).tobytes()
    own = _transcode.transcode(src, ratio, False, True, True, 2, 2, True)
    assert own == _transcode.transcode(src, ratio, False, True, True, 1, 2, True)
    assert own == _transcode.transcode(src, ratio, False, True, True, 2, 1, True)  # one thread
    got = assert_decodes(own, size)
    assert [f[1:3] for f in got.layer] == TO_420


@needs_route
def test_two_threads_write_what_one_writes() -> None:
    from jpegsal.codec import _transcode

    noise = np.random.default_rng(3).integers(0, 256, (1000, 1100, 3), np.uint8)
    src = pillow_jpeg(Image.fromarray(noise), quality=80, subsampling=0)  # 26,000 blocks out
    ratio = np.full((3, 64), 0.4, np.float32).tobytes()
    one = _transcode.transcode(src, ratio, False, True, False, 2, 1, True)
    assert one == _transcode.transcode(src, ratio, False, True, False, 2, 2, True)


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(((a - b) ** 2).mean()))


@needs_route
@pytest.mark.parametrize("subsampling", [0, 1])
def test_as_close_as_the_pixel_path_at_the_same_tables(
    odd_photo: Image.Image, subsampling: int
) -> None:
    # The same tables as the input's: the only loss is the chroma resampling, which the
    # pixel path does on decoded pixels (libjpeg's box average) and this does exactly.
    src = pillow_jpeg(odd_photo, quality=92, subsampling=subsampling)
    tables = [t.reshape(8, 8) for t in jpeg_tables(src)[0].values()]
    ours = requantise(src, tables, resample=True)
    pixel = pillow_jpeg(
        Image.open(io.BytesIO(src)), qtables=Image.open(io.BytesIO(src)).quantization,
        subsampling=2, optimize=True,
    )  # fmt: skip
    ycc = [
        np.asarray(Image.open(io.BytesIO(d)).convert("YCbCr"), float) for d in (src, ours, pixel)
    ]
    assert _rmse(ycc[0][..., 0], ycc[1][..., 0]) <= _rmse(ycc[0][..., 0], ycc[2][..., 0]) + 0.02
    assert _rmse(ycc[0][..., 1:], ycc[1][..., 1:]) <= 1.03 * _rmse(ycc[0][..., 1:], ycc[2][..., 1:])
    # 4:2:2's pixel path also smooths chroma across (libjpeg's triangle upsampling, then the
    # box average): about 1 % fewer bytes there, for what the RMSE above says is no better.
    assert len(ours) <= 1.02 * len(pixel)


@needs_route
def test_layouts_it_does_not_take(odd_photo: Image.Image) -> None:
    tables = [np.full(64, 20), np.full(64, 40)]
    for src in (
        pillow_jpeg(odd_photo, quality=90),  # already 4:2:0
        pillow_jpeg(odd_photo.convert("L"), quality=90),
        pillow_jpeg(odd_photo, quality=90, subsampling=0, keep_rgb=True),  # RGB, not YCbCr
    ):
        with pytest.raises(NotResampled, match="needs a YCbCr file with 4:4:4, 4:2:2 or 4:4:0"):
            requantise(src, tables, resample=True)
    rgb = reencode_with_info(pillow_jpeg(odd_photo, quality=90, subsampling=0, keep_rgb=True))
    assert rgb.path == "pixels"
    assert rgb.reason is not None
    assert "YCbCr" in rgb.reason


@needs_route
@pytest.mark.parametrize("subsampling", [0, 1])
@pytest.mark.parametrize("progressive", [False, True])
def test_the_preset_takes_the_dct_path(
    odd_photo: Image.Image, subsampling: int, progressive: bool, tmp_path: Path
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    src = pillow_jpeg(odd_photo, quality=92, subsampling=subsampling, exif=exif.tobytes())
    result = reencode_with_info(src, quality=40, progressive=progressive)
    assert (result.path, result.reason) == ("dct", None)
    got = assert_decodes(result.data, odd_photo.size)
    assert [f[1:3] for f in got.layer] == TO_420
    assert got.getexif()[0x0112] == 6
    assert bool(got.info.get("progressive")) == progressive
    info = jpegsal.Encoder(preset="machine").encode_with_info(src, quality=40)
    assert info.path == "dct"
    if shutil.which("djpeg"):
        (tmp_path / "x.jpg").write_bytes(result.data)
        done = subprocess.run(["djpeg", str(tmp_path / "x.jpg")], capture_output=True)
        assert (done.returncode, done.stderr) == (0, b"")


def test_without_the_route_the_pixel_path_says_why(
    odd_photo: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    monkeypatch.setattr(importlib.import_module("jpegsal.reencode"), "OPTIMIZED", False)
    result = reencode_with_info(pillow_jpeg(odd_photo, quality=92, subsampling=0), quality=40)
    assert result.path == "pixels"
    assert result.reason is not None
    assert "libjpeg's headers" in result.reason


@needs_route
def test_extremes_are_clamped_to_what_baseline_codes(tmp_path: Path) -> None:
    jpeglib = pytest.importorskip("jpeglib", reason="jpeglib reads and writes the levels")
    from jpegsal.codec import _transcode

    # Chroma at its floor (DC -1024 at step 1: Cb = Cr = 0) and AC values whose combination
    # passes 1023: the output keeps DC -1024 and clamps AC to +-1023, or libjpeg refuses it.
    luma = np.zeros((2, 2, 8, 8), np.int16)
    chroma = np.zeros((2, 2, 8, 8), np.int16)
    chroma[..., 0, 0] = -1024
    chroma[:, 0, 1, 0] = 1000  # vertical frequency 1 in the left column of blocks
    chroma[:, 1, 1, 0] = 1000
    chroma[0, :, 0, 1] = 1023
    chroma[1, :, 0, 1] = -1023
    image = jpeglib.from_dct(luma, chroma, chroma.copy(), qt=np.ones((2, 8, 8), np.uint16))
    image.write_dct(str(tmp_path / "in.jpg"))
    data = (tmp_path / "in.jpg").read_bytes()
    out = _transcode.transcode(
        data, np.ones((3, 64), np.float32).tobytes(), False, True, False, 2, 2, True
    )
    (tmp_path / "out.jpg").write_bytes(out)
    got = jpeglib.read_dct(str(tmp_path / "out.jpg")).Cb[0, 0]
    exact = _reference(chroma, np.ones((8, 8)), np.ones((8, 8)), 2, 2)[0, 0]
    assert got[0, 0] == -1024
    want = np.clip(np.rint(exact), -1023, 1023)
    want[0, 0] = -1024
    assert np.abs(exact).max() > 1023  # the case is one that needs the clamp
    assert np.array_equal(got, want)


def test_resampling_needs_the_libjpeg_route(
    odd_photo: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rq, "_transcode_lib", None)
    src = pillow_jpeg(odd_photo, quality=90, subsampling=0)
    with pytest.raises(RuntimeError, match="libjpeg's route was not built"):
        requantise(src, [np.full(64, 20), np.full(64, 40)], resample=True)


def test_other_layouts_say_why_they_take_the_pixel_path(tmp_path: Path) -> None:
    jpeglib = pytest.importorskip("jpeglib", reason="jpeglib writes a 4:1:1 file")
    luma, chroma = np.zeros((2, 4, 8, 8), np.int16), np.zeros((2, 1, 8, 8), np.int16)
    image = jpeglib.from_dct(luma, chroma, chroma.copy(), qt=np.ones((2, 8, 8), np.uint16))
    image.write_dct(str(tmp_path / "411.jpg"))
    result = reencode_with_info((tmp_path / "411.jpg").read_bytes(), quality=30)
    assert result.path == "pixels"
    assert result.reason == (
        "chroma sampling [(4, 1), (1, 1), (1, 1)]: only 4:4:4, 4:2:2 and 4:4:0 become 4:2:0 here"
    )
