"""The pre-encode methods: strength 0 is plain JPEG, size falls with strength, outputs decode."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DATA, assert_decodes, pillow_jpeg
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import jpegsal
from jpegsal.codec.options import normalize_options
from jpegsal.methods import get_method
from jpegsal.methods._dct import DCT, edit_plane
from jpegsal.methods._grid import block_means
from jpegsal.methods.blocks import Blocks
from jpegsal.methods.downsample import Downsample
from jpegsal.methods.guided import Guided
from jpegsal.methods.mix import Mix, multipliers

METHODS = ["guided", "downsample", "mix", "blocks"]
SAMPLES = sorted((Path(jpegsal.__file__).parent / "data").glob("*.png"))


def _sample(i: int) -> Image.Image:
    with Image.open(SAMPLES[i % len(SAMPLES)]) as im:
        return im.convert("RGB")


def _method(name: str, strength: float) -> Any:
    return type(get_method(name))(strength=strength)


def _left_salient(image: Image.Image) -> np.ndarray:
    sal = np.zeros((image.height, image.width), np.float32)
    sal[:, : image.width // 2] = 1.0
    return sal


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize(
    "opts", [{}, {"quality": 50, "subsampling": 0}, {"quality": 90, "progressive": True}]
)
def test_strength_zero_is_plain_jpeg(rgb: Image.Image, name: str, opts: dict[str, Any]) -> None:
    data = jpegsal.encode(rgb, model="cam", method=_method(name, 0.0), **opts)
    assert data == pillow_jpeg(rgb, **opts)


# Strength steps of 0.25: between nearly equal strengths (say 0 and 1e-7) a few
# barely-touched pixels gain rounding noise, which can cost a few bytes. Over steps
# of 0.25 the size never grew in 264 sweeps (see docs/methods.md).
@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2),
    st.sampled_from(METHODS),
    st.sampled_from(["cam", "msroi", "nice"]),
    st.integers(30, 95),
    st.sampled_from([0, 2]),
    st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=2, max_size=2, unique=True).map(
        sorted
    ),
)
def test_size_never_grows_with_strength(
    index: int, name: str, model: str, quality: int, sub: int, strengths: list[float]
) -> None:
    image = _sample(index)
    low, high = strengths
    enc = [
        jpegsal.encode(
            image, model=model, method=_method(name, s), quality=quality, subsampling=sub
        )
        for s in (low, high)
    ]
    assert len(enc[1]) <= len(enc[0])


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("sub", [0, 1, 2])
def test_outputs_decode_and_keep_size(
    portrait: Image.Image, name: str, mode: str, sub: int
) -> None:
    image = portrait.convert(mode)
    data = jpegsal.encode(image, model="cam", method=_method(name, 0.8), subsampling=sub)
    assert_decodes(data, image.size)
    assert len(data) < len(pillow_jpeg(image, subsampling=sub))


@pytest.mark.skipif(
    shutil.which("djpeg") is None, reason="djpeg not installed (apt package libjpeg-turbo-progs)"
)
@pytest.mark.parametrize("name", METHODS)
def test_outputs_decode_with_djpeg(tmp_path: Path, rgb: Image.Image, name: str) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(jpegsal.encode(rgb, model="cam", method=_method(name, 1.0), optimize=True))
    out = subprocess.run(
        ["djpeg", "-outfile", str(tmp_path / "x.ppm"), str(path)], capture_output=True
    )
    assert out.returncode == 0, out.stderr
    assert Image.open(tmp_path / "x.ppm").size == rgb.size


# --- method by method --------------------------------------------------------------


def test_guided_leaves_salient_pixels_alone(rgb: Image.Image) -> None:
    opts = normalize_options({})
    out = np.asarray(Guided(strength=1.0).apply(rgb, _left_salient(rgb), opts))
    src = np.asarray(rgb)
    half = rgb.width // 2
    assert np.array_equal(out[:, :half], src[:, :half])
    assert not np.array_equal(out[:, half:], src[:, half:])


@pytest.mark.parametrize(("sub", "block"), [(0, 8), (2, 16)])
def test_downsample_keeps_salient_mcus_exactly(sub: int, block: int) -> None:
    image = _sample(0)
    sal = np.zeros((image.height, image.width), np.float32)
    sal[:, :160] = 1.0  # MCU-aligned for both block sizes
    out = np.asarray(
        Downsample(strength=0.5, factor=4).apply(
            image, sal, normalize_options({"subsampling": sub})
        )
    )
    src = np.asarray(image)
    assert np.array_equal(out[:, :160], src[:, :160])
    far = slice(160 + block, None)  # past the one-MCU feather
    energy = np.abs(np.diff(out[:, far].astype(int), axis=1)).mean()
    assert energy < np.abs(np.diff(src[:, far].astype(int), axis=1)).mean() / 2


def test_mix_requantises_on_the_encoders_grid(rgb: Image.Image) -> None:
    opts = normalize_options({"quality": 80, "subsampling": 0})
    sal = np.zeros((rgb.height, rgb.width), np.float32)
    sal[:, :48] = 1.0  # six 8-px blocks wide
    out = np.asarray(Mix(strength=1.0, levels=2, max_multiplier=4).apply(rgb, sal, opts))
    decoded = np.asarray(
        Image.open(
            io.BytesIO(pillow_jpeg(Image.fromarray(out, "YCbCr"), quality=80, subsampling=0))
        )
    )
    y = decoded[:, :, 0].astype(np.float32)
    from jpegsal.codec.tables import quant_tables

    step = quant_tables(opts)[0]
    coef = DCT @ (y[:8, 56:64] - 128) @ DCT.T / step
    ac = coef.copy()
    ac[0, 0] = 0
    # The unimportant block's AC coefficients sit on multiples of 4 quantisation steps.
    assert np.abs(ac / 4 - np.rint(ac / 4)).max() < 0.2
    assert multipliers(np.array([[0.0, 0.4, 1.0]]), 1.0, 2, 4).tolist() == [[1.0, 1.0, 4.0]]
    assert multipliers(np.array([[1.0]]), 0.5, 4, 8).tolist() == [[5.0]]


def test_blocks_dct_is_the_jpeg_dct() -> None:
    scipy_fft = pytest.importorskip("scipy.fft")
    block = np.random.default_rng(0).normal(0, 50, (8, 8)).astype(np.float32)
    ours = DCT @ block @ DCT.T
    np.testing.assert_allclose(ours, scipy_fft.dctn(block, norm="ortho"), atol=1e-3)


def test_blocks_thresholds_only_unimportant_blocks() -> None:
    rng = np.random.default_rng(1)
    plane = np.clip(rng.normal(128, 40, (16, 24)), 0, 255).astype(np.uint8)
    sal = np.zeros((16, 24), np.float32)
    sal[:, :8] = 1.0  # the blocks of column 0 are salient, columns 1 and 2 are not
    flat = normalize_options({"qtables": [[16] * 64]})  # one step of 16 everywhere
    out = np.asarray(Blocks(strength=1.0).apply(Image.fromarray(plane, "L"), sal, flat))
    coef = lambda p: DCT @ (p.astype(np.float32) - 128) @ DCT.T  # noqa: E731
    before = [np.count_nonzero(np.abs(coef(plane[:8, x : x + 8])) >= 8) for x in (0, 8, 16)]
    after = [np.count_nonzero(np.abs(coef(out[:8, x : x + 8])) >= 8) for x in (0, 8, 16)]
    assert after[0] == before[0]  # the salient block keeps every coefficient that matters
    assert after[1] < before[1] / 2
    assert after[2] < before[2] / 2
    for x in (0, 8, 16):  # block means (DC) are kept
        assert abs(out[:8, x : x + 8].mean() - plane[:8, x : x + 8].mean()) < 1.0


def test_blocks_chroma_survives_the_encoders_averaging(rgb: Image.Image) -> None:
    sal = np.zeros((rgb.height, rgb.width), np.float32)
    out = Blocks(strength=1.0).apply(rgb, sal, normalize_options({"subsampling": 2}))
    assert out.mode == "YCbCr"
    cb = np.asarray(out)[:, :, 1]
    # Replicated 2x2 cells: averaging them (as libjpeg does) gives the same values back.
    assert np.array_equal(block_means(cb, 2, 2), cb[::2, ::2].astype(np.float32))


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Guided(strength=1.5), ValueError, "strength must be a number in [0, 1], got 1.5"),
        (lambda: Guided(strength="high"), TypeError, "strength must be a number in [0, 1]"),
        (lambda: Guided(radius=0), ValueError, "radius must be a positive int, got 0"),
        (lambda: Guided(eps=-1), ValueError, "eps must be a number > 0, got -1"),
        (lambda: Downsample(factor=3), ValueError, "factor must be 2, 4 or 8, got 3"),
        (lambda: Mix(levels=1), ValueError, "levels must be an int >= 2, got 1"),
        (lambda: Mix(max_multiplier=1), ValueError, "max_multiplier must be an int >= 2, got 1"),
        (lambda: Blocks(max_threshold=0), ValueError, "max_threshold must be a number > 0"),
    ],
)
def test_config_errors(build: Any, error: type, message: str) -> None:
    with pytest.raises(
        error,
        match=re.escape(message),
    ):
        build()


def test_configs_have_readable_reprs_and_names() -> None:
    assert repr(Guided()) == "Guided(strength=0.6, radius=6, eps=0.01)"
    assert [get_method(n).name for n in METHODS] == METHODS
    assert jpegsal.available_methods() == sorted(METHODS)
    assert DATA.is_dir()


@pytest.mark.parametrize("shape", [(300, 77), (129, 200), (1000, 8), (816, 1225)])
def test_strips_equal_one_whole_plane_pass(shape: tuple[int, int]) -> None:
    from jpegsal.methods import _dct

    rng = np.random.default_rng(0)
    plane = rng.integers(0, 256, shape, dtype=np.uint8)
    weight = rng.random(shape).astype(np.float32)
    table = np.full((8, 8), 7.0)
    rule = lambda c, w: np.where(np.abs(c) >= 0.5 + 2.0 * w, c, 0.0)  # noqa: E731
    weight = block_means(weight, 8, 8)
    strips = edit_plane(plane, weight, table, rule)
    original = _dct.STRIP
    try:
        _dct.STRIP = 10**6  # one strip: the whole plane at once
        whole = edit_plane(plane, weight, table, rule)
    finally:
        _dct.STRIP = original
    assert np.array_equal(strips, whole)


def test_with_strength_needs_a_dataclass() -> None:
    from jpegsal.methods import with_strength

    class Plain:
        name = "plain"
        strength = 0.5

        def apply(self, image: Image.Image, sal: np.ndarray, options: Any) -> Image.Image:
            return image

    assert with_strength(Guided(), 0.3) == Guided(strength=0.3)
    assert with_strength(Plain(), 0.5).strength == 0.5  # unchanged: returned as is
    with pytest.raises(TypeError, match=r"cannot change the strength of .* not a dataclass"):
        with_strength(Plain(), 0.9)  # type: ignore[arg-type]


def test_guided_accepts_a_float64_map(rgb: Image.Image) -> None:
    from jpegsal.methods.guided import guided_smooth

    px = np.asarray(rgb)
    sal = np.random.default_rng(3).random(px.shape[:2])  # float64
    expected = guided_smooth(px, sal.astype(np.float32), 0.6, 6, 0.01)
    assert np.array_equal(guided_smooth(px, sal, 0.6, 6, 0.01), expected)


def test_edit_plane_rejects_weights_off_the_block_grid() -> None:
    plane = np.zeros((20, 30), np.uint8)  # a 3 x 4 block grid
    keep = lambda c, w: c  # noqa: E731
    with pytest.raises(ValueError, match=r"block_weight must have shape \(3, 4\), got \(20, 30\)"):
        edit_plane(plane, np.zeros((20, 30), np.float32), np.ones((8, 8)), keep)


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("size", [(1, 1), (1, 4), (4, 1), (1, 9), (3, 3)])
def test_tiny_images_go_through_every_method(name: str, size: tuple[int, int]) -> None:
    # One-pixel-wide images once raised cv2.error in guided (cv2.subtract read the
    # one-column alpha as a scalar) and downsample (no whole cell to shrink).
    w, h = size
    data = jpegsal.encode(np.full((h, w, 3), 90, np.uint8), model="cam", method=_method(name, 1.0))
    assert Image.open(io.BytesIO(data)).size == (w, h)
